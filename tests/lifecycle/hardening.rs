//! End-to-end tests of process hardening (issue #6): `--ulimit`,
//! `--pids-limit`, `--oom-score-adj`, `--init`, and regressions of real
//! runtime CVE classes: overwriting the runtime binary through
//! /proc/self/exe (CVE-2019-5736), working directories through leaked fds
//! (CVE-2024-21626), and images whose /proc or /dev is a symlink.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::common::{hutch_bin, image, list_dir, run_command, Env, Run, TIMEOUT};
use super::{run_d, run_rm as run, setup, wait_for_log_line, Cleanup};

/// The non-empty lines of stdout.
fn lines(r: &Run) -> Vec<&str> {
    r.stdout.lines().filter(|l| !l.trim().is_empty()).collect()
}

// --- resource limits and OOM score ------------------------------------------------

#[test]
fn ulimit_pids_limit_and_oom_score_adj_apply_to_run_and_exec() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let script = "ulimit -Sn; ulimit -Hn; ulimit -Hc; ulimit -u; cat /proc/self/oom_score_adj";
    let flags = [
        "--ulimit",
        "nofile=100:200",
        "--ulimit",
        "core=0",
        "--pids-limit",
        "77",
        "--oom-score-adj",
        "321",
    ];
    let r = run(&env, &flags, &["sh", "-c", script]).success();
    if lines(&r) != ["100", "200", "0", "77", "321"] {
        r.fail(
            "expected soft nofile 100, hard nofile 200, hard core 0, nproc 77, oom_score_adj 321",
        );
    }
    // Unlimited spellings.
    let r = run(
        &env,
        &["--ulimit", "core=-1:unlimited"],
        &["sh", "-c", "ulimit -Hc"],
    )
    .success();
    if lines(&r) != ["unlimited"] {
        r.fail("expected an unlimited hard core limit");
    }

    // A detached container's exec'd processes get the same limits.
    let img = image("busybox");
    let mut args = vec!["run", "-d", "--name", "lim"];
    args.extend_from_slice(&flags);
    args.extend_from_slice(&[img.as_str(), "sleep", "1000"]);
    env.hutch_closing(&args).success();
    let r = env.hutch(&["exec", "lim", "sh", "-c", script]).success();
    if lines(&r) != ["100", "200", "0", "77", "321"] {
        r.fail("exec should inherit the container's limits and oom_score_adj");
    }
}

#[test]
fn limits_rootless_cannot_have_are_refused_before_the_container_starts() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let hard: u64 = {
        let text = std::fs::read_to_string("/proc/self/limits").expect("reading /proc/self/limits");
        let line = text
            .lines()
            .find(|l| l.starts_with("Max open files"))
            .expect("a Max open files line");
        line.split_whitespace()
            .nth(4)
            .expect("a hard limit")
            .parse()
            .expect("a number")
    };
    let above = format!("nofile=10:{}", hard + 1);
    run(&env, &["--name", "big", "--ulimit", &above], &["true"]).tool_error(&[
        "--ulimit nofile",
        "exceeds the current hard limit",
        &hard.to_string(),
    ]);
    run(&env, &["--oom-score-adj", "-1"], &["true"])
        .tool_error(&["--oom-score-adj -1", "below the current value"]);
    run(&env, &["--ulimit", "nofile=20:10"], &["true"])
        .tool_error(&["soft limit exceeds the hard limit"]);
    run(&env, &["--ulimit", "bogus=1"], &["true"]).tool_error(&["unknown resource"]);
    run(&env, &["--pids-limit", "many"], &["true"]).tool_error(&["--pids-limit"]);
    let r = env.hutch(&["ps", "-a", "--format", "{{.Names}}"]).success();
    if !r.stdout.trim().is_empty() {
        r.fail("a refused run must not leave a container behind");
    }
}

// --- --init -------------------------------------------------------------------------

#[test]
fn init_is_pid_1_reaps_zombies_and_passes_exit_codes_on() {
    let env = setup();
    let r = run(&env, &["--init"], &["sh", "-c", "ps -o pid,comm"]).success();
    let pid1 = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.first() == Some(&"1"))
        .map(|f| f[1..].join(" "));
    if pid1.as_deref() != Some("hutch-init") {
        r.fail("expected pid 1 to be hutch-init");
    }
    // An orphaned sleep is reparented to pid 1. Under --init pid 1 reaps
    // it; without, pid 1 is `sleep 1000`, which never does, so the zombie
    // stays (the control that shows the check can fail).
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let orphan = "(sleep 0.2 &); exec sleep 1000";
    for (name, flags, want_zombie) in [
        ("reaped", &["--init"][..], false),
        ("unreaped", &[][..], true),
    ] {
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[img.as_str(), "sh", "-c", orphan]);
        env.hutch_closing(&args).success();
        std::thread::sleep(Duration::from_millis(1500));
        let r = env
            .hutch(&["exec", name, "ps", "-o", "stat,comm"])
            .success();
        let has_zombie = r.stdout.lines().any(|l| l.trim_start().starts_with('Z'));
        if has_zombie != want_zombie {
            r.fail(&format!("expected a zombie: {want_zombie}"));
        }
    }
    // exec, top and cp reach an --init container through its command
    // (its pid 1 is non-dumpable).
    let r = env.hutch(&["top", "reaped"]).success();
    if !r.stdout.contains("sleep 1000") {
        r.fail("expected top to list the container's command");
    }
    let dest = env.dir.join("hostname-copy");
    env.hutch(&["cp", "reaped:/etc/hostname", &dest.to_string_lossy()])
        .success();
    assert!(dest.is_file(), "cp out of an --init container made no file");
    run(&env, &["--init"], &["sh", "-c", "exit 7"]).code(7);
    run(&env, &["--init"], &["sh", "-c", "kill -9 $$"]).code(137);
    run(&env, &["--init"], &["no-such-command"])
        .code(127)
        .stderr_has("no-such-command");
    // The init holds nothing of the host: its exe cannot even be read.
    let r = run(
        &env,
        &["--init"],
        &["sh", "-c", "readlink /proc/1/exe || echo denied"],
    )
    .success();
    if lines(&r) != ["denied"] {
        r.fail("/proc/1/exe of the init must not be readable from the container");
    }
}

#[test]
fn stop_ends_an_init_container_whose_command_ignores_sigterm() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch_closing(&[
        "run",
        "-d",
        "--init",
        "--name",
        "deaf2",
        img.as_str(),
        "sh",
        "-c",
        "trap 'echo got-term' TERM; echo ready; while true; do sleep 0.1; done",
    ])
    .success();
    wait_for_log_line(&env, "deaf2", "ready");
    env.hutch_timeout(&["stop", "-t", "2", "deaf2"], Duration::from_secs(30))
        .success();
    // The init forwarded SIGTERM (the trap ran), then SIGKILL ended it.
    wait_for_log_line(&env, "deaf2", "got-term");
    let code = env
        .hutch(&["inspect", "-f", "{{.State.ExitCode}}", "deaf2"])
        .success();
    if code.stdout.trim() != "137" {
        code.fail("expected exit code 137 after stop's SIGKILL");
    }
}

// --- CVE-2019-5736 class: the hutch binary is never writable from inside -------------

/// A copy of the hutch binary the test runs everything with (the victim),
/// in the test's directory and owned by the test user, as
/// ~/.local/bin/hutch would be; its helper hutch-enter is copied beside it
/// (`exec` finds it there, and runs a sealed copy of it).
fn victim_binary(env: &Env) -> PathBuf {
    let path = env.dir.join("victim-hutch");
    std::fs::copy(hutch_bin(), &path).expect("copying the hutch binary");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("making the copy executable");
    let helper = hutch_bin().with_file_name("hutch-enter");
    let copy = env.dir.join("hutch-enter");
    std::fs::copy(&helper, &copy)
        .unwrap_or_else(|e| panic!("copying the helper {}: {e}", helper.display()));
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755))
        .expect("making the helper's copy executable");
    path
}

/// Runs the victim binary with `args` in `env`.
fn victim(env: &Env, bin: &Path, args: &[&str]) -> Run {
    let mut c = Command::new(bin);
    c.args(args)
        .env_clear()
        .envs(env.vars())
        .current_dir(&env.home)
        .stdin(std::process::Stdio::null());
    let what = format!("command: {} {}", bin.display(), args.join(" "));
    run_command(c, what, TIMEOUT)
}

/// Runs in the container for `secs` seconds: every process whose exe is
/// not a busybox file is opened (read-only, holding the fd) and written
/// through a /proc/self/fd reopen; prints OPENED/WROTE lines and DONE.
const ATTACKER: &str = r#"end=$(( $(date +%s) + $1 ))
while [ "$(date +%s)" -lt "$end" ]; do
  for e in /proc/[0-9]*/exe; do
    l=$(readlink "$e" 2>/dev/null) || continue
    case "$l" in /bin/*|/sbin/*|/usr/*|"") continue ;; esac
    if exec 3<"$e"; then
      echo "OPENED $e $l"
      for i in 1 2 3 4 5 6 7 8 9 10; do
        if printf X 2>/dev/null >>/proc/self/fd/3; then echo "WROTE $l"; fi
        sleep 0.05
      done
      exec 3<&-
    fi
  done
done
echo DONE"#;

#[test]
fn the_hutch_binary_survives_proc_self_exe_from_run_and_exec() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let bin = victim_binary(&env);
    let before = std::fs::read(&bin).expect("reading the victim binary");
    let img = image("busybox");

    // run IMG /proc/self/exe: refused (a magic link), never hutch again.
    victim(&env, &bin, &["run", "--rm", &img, "/proc/self/exe"])
        .code(126)
        .stderr_has("/proc/self/exe");

    // A container with the attacker and a #!/proc/self/exe script.
    victim(
        &env,
        &bin,
        &["run", "-d", "--name", "box", &img, "sleep", "1000"],
    )
    .success();
    let prep = format!(
        "printf '#!/proc/self/exe\\n' > /selfexe && chmod +x /selfexe && ln -s /proc/self/exe /link && cat > /attack <<'EOF'\n{ATTACKER}\nEOF"
    );
    victim(&env, &bin, &["exec", "box", "sh", "-c", &prep]).success();
    victim(
        &env,
        &bin,
        &[
            "exec",
            "-d",
            "box",
            "sh",
            "-c",
            "sh /attack 8 > /attack.log 2>&1",
        ],
    )
    .success();
    for _ in 0..5 {
        victim(&env, &bin, &["exec", "box", "/selfexe"]).code(126);
        victim(&env, &bin, &["exec", "box", "/link"]).code(126);
        victim(&env, &bin, &["exec", "box", "/proc/self/exe"]).code(126);
        victim(&env, &bin, &["exec", "box", "sh", "-c", "sleep 0.3"]).success();
    }
    // The same script as an image's command under run.
    victim(&env, &bin, &["commit", "box", "selfexe-img"]).success();
    victim(&env, &bin, &["run", "--rm", "selfexe-img", "/selfexe"]).code(126);
    victim(
        &env,
        &bin,
        &["run", "--rm", "--init", "selfexe-img", "/selfexe"],
    )
    .code(126);

    let log = super::common::wait_for("the attacker to finish", Duration::from_secs(30), || {
        let r = victim(&env, &bin, &["exec", "box", "cat", "/attack.log"]);
        if r.code == Some(0) && r.stdout.contains("DONE") {
            Ok(r)
        } else {
            Err(r.to_string())
        }
    });
    if log.stdout.contains("WROTE") {
        log.fail("the attacker wrote through an executable it opened");
    }
    let after = std::fs::read(&bin).expect("reading the victim binary");
    assert!(
        before == after,
        "the hutch binary changed ({} bytes before, {} after); attacker log:\n{}",
        before.len(),
        after.len(),
        log.stdout
    );
}

#[test]
fn exec_enters_the_container_from_a_sealed_memfd() {
    // Issue #19: whatever program enters the container for `exec` runs
    // from a sealed in-memory copy (CVE-2019-5736), the small hutch-enter
    // helper, never from a file on disk. strace -y names the file behind
    // each fd: every process that joins a namespace must have exec'd a
    // memfd named hutch-enter (execveat AT_EMPTY_PATH) first. The copy's
    // seals are checked by sys::reexec's unit tests.
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "sealed", &["sleep", "1000"]);
    let log = env.dir.join("exec.strace");
    let mut c = Command::new("strace");
    c.args([
        "-f",
        "-y",
        "-s",
        "128",
        "-e",
        "trace=execve,execveat,setns",
        "-o",
    ])
    .arg(&log)
    .arg(hutch_bin())
    .args(["exec", "sealed", "true"])
    .env_clear()
    .envs(env.vars())
    .current_dir(&env.home)
    .stdin(std::process::Stdio::null());
    let what = format!(
        "command: strace … {} exec sealed true",
        hutch_bin().display()
    );
    let r = run_command(c, what, TIMEOUT);
    if r.code == Some(127) || r.stderr.contains("strace: exec") {
        r.fail("strace is needed for this test: install it (tests/run.sh as root does)");
    }
    let r = r.success();
    let text = std::fs::read_to_string(&log).expect("reading the strace log");
    let mut sealed = std::collections::BTreeSet::new();
    let mut joined = 0;
    for line in text.lines() {
        let Some((pid, call)) = line.split_once(' ') else {
            continue;
        };
        let call = call.trim_start();
        if call.starts_with("execveat(") && call.contains("</memfd:hutch-enter") {
            assert!(
                call.contains("AT_EMPTY_PATH"),
                "the helper ran by another way than its fd: {line}"
            );
            sealed.insert(pid.to_string());
        } else if call.starts_with("setns(") {
            joined += 1;
            if !sealed.contains(pid) {
                r.fail(&format!(
                    "process {pid} joined a namespace without running the sealed helper first: {line}\nstrace log:\n{text}"
                ));
            }
        } else if call.starts_with("execve(") && call.contains("hutch-enter") {
            r.fail(&format!("the helper ran from disk: {line}"));
        }
    }
    if joined == 0 || sealed.is_empty() {
        r.fail(&format!(
            "no namespace was joined under the sealed helper; strace log:\n{text}"
        ));
    }
}

#[test]
fn exec_without_its_helper_names_it_and_the_fix() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "nohelper", &["sleep", "1000"]);
    let dir = env.dir.join("lonely");
    std::fs::create_dir(&dir).expect("making a directory for a lone hutch");
    let bin = dir.join("hutch");
    std::fs::copy(hutch_bin(), &bin).expect("copying the hutch binary");
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
        .expect("making the copy executable");
    victim(&env, &bin, &["exec", "nohelper", "true"])
        .code(125)
        .stderr_has(&format!("{}", dir.join("hutch-enter").display()))
        .stderr_has("Hint: install hutch-enter beside the hutch binary");
}

// --- CVE-2024-21626 class: leaked fds and working directories --------------------------

#[test]
fn workdirs_through_proc_self_fd_never_leave_the_container() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "wd", &["sleep", "1000"]);
    for n in 3..=10 {
        let dir = format!("/proc/self/fd/{n}");
        for r in [
            run(&env, &["-w", &dir], &["pwd"]),
            env.hutch(&["exec", "-w", &dir, "wd", "pwd"]),
        ] {
            match r.code {
                Some(0) => {
                    let cwd = r.stdout.trim();
                    if cwd.starts_with("(unreachable)") || !cwd.starts_with('/') {
                        r.fail("the working directory is outside the container");
                    }
                }
                // `run -w` of a directory the container lacks, as Podman
                // refuses it (issue #13 item 4).
                Some(126) => {
                    r.error_exit(126, &["workdir", &dir, "does not exist"]);
                }
                _ => {
                    r.tool_error(&["working directory", &dir]);
                }
            }
        }
    }
}

#[test]
fn only_stdio_fds_reach_the_container() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    // ls opens /proc/self/fd itself: that one is fd 3.
    let want = ["0", "1", "2", "3"];
    for flags in [&[][..], &["--init"][..], &["-i"][..]] {
        let r = run(&env, flags, &["ls", "/proc/self/fd"]).success();
        if lines(&r) != want {
            r.fail(&format!(
                "expected only fds 0-2 and ls's own 3 with {flags:?}"
            ));
        }
    }
    run_d(&env, "fds", &["sleep", "1000"]);
    let r = env.hutch(&["exec", "fds", "ls", "/proc/self/fd"]).success();
    if lines(&r) != want {
        r.fail("expected only fds 0-2 and ls's own 3 in exec");
    }
}

// --- images whose /proc or /dev is a symlink out of the root --------------------------------

#[test]
fn images_whose_proc_or_dev_is_a_symlink_are_refused() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let victim = env.dir.join("victim");
    std::fs::create_dir(&victim).expect("creating the victim directory");
    std::fs::write(victim.join("keep"), "victim").expect("writing the victim file");
    let img = image("busybox");
    for dir in ["proc", "dev"] {
        let name = format!("plant-{dir}");
        let id = env
            .hutch(&["create", "--name", &name, &img, "true"])
            .success()
            .stdout
            .trim()
            .to_string();
        // The container's upper layer gets /DIR as a symlink to the victim;
        // commit turns it into an image layer.
        let upper = env.store().join("containers").join(&id).join("upper");
        // It has the mode of the image's `/`, 0555 for the fixture (issue
        // #20 item 8); the test writes into it from the host.
        std::fs::set_permissions(&upper, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("making {} writable: {e}", upper.display()));
        std::os::unix::fs::symlink(&victim, upper.join(dir))
            .unwrap_or_else(|e| panic!("planting {dir} in {}: {e}", upper.display()));
        let evil = format!("evil-{dir}");
        env.hutch(&["commit", &name, &evil]).success();
        env.hutch(&["run", "--rm", &evil, "true"])
            .tool_error(&[&format!("/{dir} is a symbolic link")]);
        env.hutch(&["run", "--rm", "--init", &evil, "true"])
            .tool_error(&[&format!("/{dir} is a symbolic link")]);
    }
    assert_eq!(list_dir(&victim), ["keep"], "the victim directory changed");
    assert_eq!(
        std::fs::read_to_string(victim.join("keep")).expect("reading the victim file"),
        "victim"
    );
}
