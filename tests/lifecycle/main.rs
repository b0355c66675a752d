//! End-to-end tests of detached containers (issue #8): `run -d` and its
//! monitor, `ps`, `logs`, `inspect`, `stop`, `kill`, `rm`, `wait`, and the
//! run directory `info` reports. They run the real binary as an unprivileged
//! user with an /etc/subuid range against the local fixture registry.
//!
//! Every test removes the containers it started (see `Cleanup`), so no
//! monitor or container process outlives the suite, even when a test fails.

mod archive;
mod attach;
mod cgroups;
#[path = "../common/mod.rs"]
mod common;
mod cpdiff;
mod cpmounts;
mod exec;
mod hardening;
mod issue13_cg;
mod issue13_clone;
mod issue13_cp;
mod issue13_flags;
mod issue13_ipv6;
mod issue13_netns;
mod issue13_pod;
mod issue13_podflags;
mod issue13_podnet;
mod issue14_networks;
mod issue16_kube;
mod issue20_lifecycle;
mod issue20_runtime;
mod issue21_check;
mod issue21_debris;
mod issue21_disk;
mod issue21_race;
mod issue21_small;
mod logs2;
mod misc;
mod network;
mod pods;
mod private;
mod seccomp;
mod security;
mod start;
mod userns;
mod volumes;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{current_user, image, list_dir, set_mode, wait_for, Env, Run};

/// How long a container may take to show an expected state or log line.
const SETTLE: Duration = Duration::from_secs(20);

/// How long `wait` and `stop` may take before the test gives up on them.
const WAIT_LIMIT: Duration = Duration::from_secs(60);

// --- helpers ---------------------------------------------------------------

/// A fresh environment with the busybox fixture pulled, so that timings
/// measure starting containers, not pulling.
fn setup() -> Env {
    let env = Env::new();
    env.pull(&image("busybox"));
    env
}

/// Removes every container of an environment when dropped (declare it
/// after the `Env`, so it runs first), then kills any monitor of that store
/// that is still alive: its container dies with it (PR_SET_PDEATHSIG).
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let env = self.0;
        let limit = Duration::from_secs(60);
        let _ = env.hutch_timeout(&["rm", "-a", "-f"], limit);
        let left = env.hutch_timeout(&["ps", "-a", "-q", "--no-trunc"], limit);
        for id in left.stdout.lines().filter(|l| !l.trim().is_empty()) {
            let _ = env.hutch_timeout(&["rm", "-f", id.trim()], limit);
        }
        kill_leftover_monitors(&env.store());
        // Issue #21: whatever a test did, `system check` finds its store
        // clean once its containers are gone (tests that damage the store
        // on purpose repair it first).
        if !std::thread::panicking() && env.store().join("db.sqlite").exists() {
            let r = env.hutch_timeout(&["system", "check", "--quick"], limit);
            if r.code != Some(0) {
                r.fail("system check should find the test's store clean after it");
            }
        }
    }
}

/// SIGKILLs every `container-monitor` process started with `--root store`.
fn kill_leftover_monitors(store: &Path) {
    kill_leftover(store, "container-monitor");
}

/// SIGKILLs every hutch process running the hidden subcommand `which`
/// with `--root store`.
fn kill_leftover(store: &Path, which: &str) {
    let store = store.to_string_lossy().into_owned();
    for entry in list_dir(Path::new("/proc")) {
        let Ok(pid) = entry.parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        if args.iter().any(|a| a == which) && args.contains(&store) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// Asserts `r` printed one full container id and returns it.
#[track_caller]
fn expect_id(r: &Run) -> String {
    let id = r.stdout.trim();
    if id.len() != 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        r.fail("expected stdout to be one 64-character lowercase hex container id");
    }
    id.to_string()
}

/// Starts `cmd` in a detached busybox container named `name` and returns
/// its id. The CLI must exit and leave no process holding its output.
#[track_caller]
fn run_d(env: &Env, name: &str, cmd: &[&str]) -> String {
    let img = image("busybox");
    let mut args = vec!["run", "-d", "--name", name, img.as_str()];
    args.extend_from_slice(cmd);
    let r = env.hutch_closing(&args).success();
    expect_id(&r)
}

/// `run --rm FLAGS busybox CMD…`.
#[track_caller]
fn run_rm(env: &Env, flags: &[&str], cmd: &[&str]) -> Run {
    let img = image("busybox");
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.push(img.as_str());
    args.extend_from_slice(cmd);
    env.hutch(&args)
}

/// `inspect -f TEMPLATE name`, which must succeed; its trimmed stdout.
#[track_caller]
fn inspect_field(env: &Env, name: &str, template: &str) -> String {
    env.hutch(&["inspect", "-f", template, name])
        .success()
        .stdout
        .trim()
        .to_string()
}

/// `ps -a --format '{{.Names}} {{.Status}}'`, which must succeed.
#[track_caller]
fn ps_names_status(env: &Env) -> Run {
    env.hutch(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .success()
}

/// Whether a `ps --format '{{.Names}} …'` output has a line for `name`.
fn lists(r: &Run, name: &str) -> bool {
    r.stdout
        .lines()
        .any(|l| l == name || l.starts_with(&format!("{name} ")))
}

/// Waits until `logs name` prints `line` on stdout; returns that run.
#[track_caller]
fn wait_for_log_line(env: &Env, name: &str, line: &str) -> Run {
    wait_for(&format!("`logs {name}` to print {line:?}"), SETTLE, || {
        let r = env.hutch(&["logs", name]);
        if r.code == Some(0) && r.stdout.lines().any(|l| l == line) {
            Ok(r)
        } else {
            Err(r.to_string())
        }
    })
}

/// Waits until `inspect -f '{{.State.Status}}' name` prints `status`.
#[track_caller]
fn wait_for_status(env: &Env, name: &str, status: &str) {
    wait_for(&format!("container {name} to be {status}"), SETTLE, || {
        let r = env.hutch(&["inspect", "-f", "{{.State.Status}}", name]);
        if r.code == Some(0) && r.stdout.trim() == status {
            Ok(())
        } else {
            Err(r.to_string())
        }
    });
}

/// The fields of /proc/PID/stat after the command name: index 0 is field
/// 3 (state), 1 is field 4 (ppid), 19 is field 22 (starttime).
fn proc_stat(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// Whether the process `pid` that started at `start` still runs (a zombie
/// or a new process reusing the pid does not count).
fn is_alive(pid: i32, start: &str) -> bool {
    proc_stat(pid).is_some_and(|f| f.len() > 19 && f[19] == start && f[0] != "Z" && f[0] != "X")
}

/// The table `ps` prints, as one map per row from column name to cell,
/// cut at the header's column offsets.
#[track_caller]
fn ps_table(r: &Run) -> Vec<BTreeMap<&'static str, String>> {
    const COLUMNS: [&str; 7] = [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    let mut lines = r.stdout.lines();
    let header: Vec<char> = lines.next().unwrap_or_default().chars().collect();
    let header_text: String = header.iter().collect();
    let starts: Vec<usize> = COLUMNS
        .iter()
        .map(|c| {
            header_text
                .find(c)
                .map(|byte| header_text[..byte].chars().count())
                .unwrap_or_else(|| r.fail(&format!("expected a {c:?} column in the ps header")))
        })
        .collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let row: Vec<char> = l.chars().collect();
            COLUMNS
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let from = starts[i].min(row.len());
                    let to = starts
                        .get(i + 1)
                        .copied()
                        .unwrap_or(row.len())
                        .min(row.len());
                    (
                        *c,
                        row[from..to].iter().collect::<String>().trim().to_string(),
                    )
                })
                .collect()
        })
        .collect()
}

/// Whether `s` is an RFC 3339 timestamp such as
/// `2026-11-27T19:00:00.123456789Z` or `2026-11-27T20:00:00+01:00`.
fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |from: usize, to: usize| b.len() >= to && b[from..to].iter().all(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(digits(0, 4)
        && at(4, b'-')
        && digits(5, 7)
        && at(7, b'-')
        && digits(8, 10)
        && (at(10, b'T') || at(10, b't'))
        && digits(11, 13)
        && at(13, b':')
        && digits(14, 16)
        && at(16, b':')
        && digits(17, 19))
    {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    let z = rest.as_bytes();
    rest == "Z"
        || (z.len() == 6
            && (z[0] == b'+' || z[0] == b'-')
            && z[1..3].iter().all(u8::is_ascii_digit)
            && z[3] == b':'
            && z[4..6].iter().all(u8::is_ascii_digit))
}

// --- run -d, ps, logs, inspect -----------------------------------------------

#[test]
fn run_detached_prints_the_id_and_ps_lists_it_running() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let started = Instant::now();
    let id = run_d(&env, "web", &["sh", "-c", "echo ready; sleep 1000"]);
    let took = started.elapsed();
    if took > Duration::from_secs(5) {
        panic!("run -d took {took:?}; it should return as soon as the container started");
    }

    let r = env.hutch(&["ps"]).success();
    let rows = ps_table(&r);
    let Some(row) = rows.iter().find(|row| row["NAMES"] == "web") else {
        r.fail("expected a ps row with NAMES \"web\"");
    };
    if !row["STATUS"].starts_with("Up") {
        r.fail(&format!(
            "expected web's STATUS to start with \"Up\", got {:?}",
            row["STATUS"]
        ));
    }
    if row["CONTAINER ID"] != id[..12] {
        r.fail(&format!("expected web's CONTAINER ID to be {}", &id[..12]));
    }

    env.hutch(&["ps", "-q"]).success().stdout_is(&id[..12]);
    env.hutch(&["ps", "-q", "--no-trunc"])
        .success()
        .stdout_is(&id);

    let r = env.hutch(&["ps", "--format", "json"]).success();
    let v = r.json();
    let Some(list) = v.as_array() else {
        r.fail("expected ps --format json to print an array");
    };
    if list.len() != 1 || list[0]["Id"] != id.as_str() || list[0]["State"] != "running" {
        r.fail(&format!(
            "expected one entry with Id {id} and State \"running\""
        ));
    }
    if !list[0]["Names"]
        .as_array()
        .is_some_and(|n| n.iter().any(|n| n == "web"))
    {
        r.fail("expected Names to contain \"web\"");
    }

    wait_for_log_line(&env, "web", "ready");
    // The id and a unique prefix name the container as well as its name.
    env.hutch(&["logs", &id[..12]]).success().stdout_is("ready");
    assert_eq!(inspect_field(&env, "web", "{{.State.Status}}"), "running");
    assert_eq!(inspect_field(&env, &id, "{{.Name}}"), "web");
    let pid = inspect_field(&env, "web", "{{.State.Pid}}");
    assert!(
        pid.parse::<i32>().is_ok_and(|p| p > 0),
        "inspect should give the running container's pid, got {pid:?}"
    );
}

#[test]
fn logs_follow_prints_later_lines_and_ends_when_the_container_stops() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(
        &env,
        "f",
        &["sh", "-c", "echo one; sleep 1; echo two; sleep 1000"],
    );
    let what = env.describe(&["logs", "-f", "f"]);
    let mut follower = env
        .command(&["logs", "-f", "f"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting logs -f: {e}\n{what}"));
    let (tx, rx) = mpsc::channel();
    let out = follower.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut err_pipe = follower.stderr.take().expect("stderr is piped");
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });

    let mut seen = Vec::new();
    let deadline = Instant::now() + SETTLE;
    while !seen.iter().any(|l| l == "two") {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => seen.push(line),
            Err(_) => {
                let _ = follower.kill();
                let _ = follower.wait();
                panic!(
                    "logs -f did not print \"two\" within {SETTLE:?}; it printed {seen:?}\n{what}\nstderr: {}",
                    err_reader.join().unwrap_or_default()
                );
            }
        }
    }
    if let Ok(Some(s)) = follower.try_wait() {
        panic!("logs -f ended ({s}) while the container still runs\n{what}");
    }

    env.hutch(&["kill", "f"]).success();
    let deadline = Instant::now() + SETTLE;
    let status = loop {
        match follower.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = follower.kill();
                let _ = follower.wait();
                panic!(
                    "logs -f was still running {SETTLE:?} after the container was killed\n{what}"
                );
            }
        }
    };
    seen.extend(rx.try_iter());
    let stderr = err_reader.join().unwrap_or_default();
    assert!(
        status.success() && seen == ["one", "two"],
        "logs -f should print one, two and exit 0 once the container stopped; got {status} with {seen:?}\n{what}\nstderr: {stderr}"
    );
}

#[test]
fn logs_split_stdout_and_stderr_and_prefix_timestamps() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(
        &env,
        "ts",
        &["sh", "-c", "echo out; echo err >&2; echo done; sleep 1000"],
    );
    wait_for_log_line(&env, "ts", "done");
    let r = env.hutch(&["logs", "ts"]).success();
    if r.stdout.lines().collect::<Vec<_>>() != ["out", "done"] || r.stderr.trim() != "err" {
        r.fail("expected stdout \"out\\ndone\" and stderr \"err\"");
    }
    let r = env.hutch(&["logs", "-t", "ts"]).success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    let ok = lines.len() == 2
        && lines.iter().zip(["out", "done"]).all(|(l, want)| {
            l.split_once(' ')
                .is_some_and(|(ts, text)| is_rfc3339(ts) && text == want)
        });
    if !ok {
        r.fail("expected each stdout line as \"RFC3339-TIMESTAMP text\"");
    }
    let errs: Vec<&str> = r.stderr.lines().collect();
    if errs.len() != 1
        || !errs[0]
            .split_once(' ')
            .is_some_and(|(ts, t)| is_rfc3339(ts) && t == "err")
    {
        r.fail("expected stderr to be one \"RFC3339-TIMESTAMP err\" line");
    }
}

// --- stop, kill, wait, rm ------------------------------------------------------

#[test]
fn stop_kills_after_the_timeout_and_records_137_then_rm_removes_it() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let id = run_d(&env, "web", &["sh", "-c", "echo ready; sleep 1000"]);
    wait_for_log_line(&env, "web", "ready");

    // pid 1 of the container has no SIGTERM handler, so the kernel drops
    // the signal and stop must fall back to SIGKILL after -t seconds.
    let started = Instant::now();
    let r = env
        .hutch_timeout(&["stop", "-t", "2", "web"], WAIT_LIMIT)
        .success()
        .stdout_is("web");
    let took = started.elapsed();
    if took < Duration::from_millis(1500) || took > Duration::from_secs(8) {
        r.fail(&format!(
            "stop -t 2 took {took:?}; expected about 2 s (1.5 to 8 s)"
        ));
    }

    let r = ps_names_status(&env);
    if !r.stdout.lines().any(|l| l.starts_with("web Exited (137)")) {
        r.fail("expected a line \"web Exited (137) …\"");
    }
    assert_eq!(inspect_field(&env, "web", "{{.State.ExitCode}}"), "137");
    assert_eq!(inspect_field(&env, "web", "{{.State.Status}}"), "exited");
    env.hutch_timeout(&["wait", "web"], WAIT_LIMIT)
        .success()
        .stdout_is("137");

    let dir = env.store().join("containers").join(&id);
    if !dir.is_dir() {
        panic!("{} should exist before rm", dir.display());
    }
    env.hutch(&["rm", "web"]).success();
    let r = ps_names_status(&env);
    if lists(&r, "web") {
        r.fail("rm web should remove it from ps -a");
    }
    assert!(!dir.exists(), "rm web should remove {}", dir.display());
    // As Podman: a missing container exits 1, and -f or -i ignore it.
    let r = env.hutch(&["rm", "web"]).code(1);
    assert_eq!(
        r.stderr_lines("Error:"),
        vec!["Error: no container with name or ID \"web\" found: no such container"],
        "{r}"
    );
    for flag in ["-f", "-i", "--ignore", "--force"] {
        env.hutch(&["rm", flag, "web"]).success().stdout_is("");
    }
}

#[test]
fn rm_refuses_a_running_container_unless_forced() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let id = run_d(&env, "busy", &["sleep", "1000"]);
    let pid: i32 = inspect_field(&env, "busy", "{{.State.Pid}}")
        .parse()
        .expect("inspect prints a numeric pid");
    let start = proc_stat(pid)
        .and_then(|f| f.get(19).cloned())
        .unwrap_or_else(|| panic!("the container's process {pid} should be running"));

    // Exit 2, as Podman's "container state improper".
    let r = env.hutch(&["rm", "busy"]).code(2);
    let errs = r.stderr_lines("Error:");
    if errs.len() != 1 || !errs[0].contains("busy") || !errs[0].contains("running") {
        r.fail("expected one Error: line naming busy as running");
    }
    let r = env
        .hutch(&["ps", "--format", "{{.Names}} {{.State}}"])
        .success();
    if !r.stdout.lines().any(|l| l.starts_with("busy Up ")) {
        r.fail("a refused rm should leave the container running");
    }

    env.hutch_timeout(&["rm", "-f", "busy"], WAIT_LIMIT)
        .success()
        .stdout_has("busy");
    let r = ps_names_status(&env);
    if lists(&r, "busy") {
        r.fail("rm -f should remove the running container from ps -a");
    }
    let dir = env.store().join("containers").join(&id);
    assert!(!dir.exists(), "rm -f should remove {}", dir.display());
    wait_for("the removed container's process to end", SETTLE, || {
        if is_alive(pid, &start) {
            Err(format!("pid {pid}: {:?}", proc_stat(pid)))
        } else {
            Ok(())
        }
    });
}

#[test]
fn kill_sends_sigkill_by_default_and_the_named_signal_otherwise() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "k", &["sh", "-c", "echo ready; sleep 1000"]);
    run_d(
        &env,
        "t",
        &[
            "sh",
            "-c",
            "trap 'exit 5' TERM; echo armed; while true; do sleep 0.1; done",
        ],
    );
    wait_for_log_line(&env, "k", "ready");
    env.hutch(&["kill", "k"]).success();
    env.hutch_timeout(&["wait", "k"], WAIT_LIMIT)
        .success()
        .stdout_is("137");
    assert_eq!(inspect_field(&env, "k", "{{.State.ExitCode}}"), "137");

    // Only signal once the trap is set: pid 1 ignores an unhandled TERM.
    wait_for_log_line(&env, "t", "armed");
    env.hutch(&["kill", "-s", "TERM", "t"]).success();
    env.hutch_timeout(&["wait", "t"], WAIT_LIMIT)
        .success()
        .stdout_is("5");
    let r = ps_names_status(&env);
    if !r.stdout.lines().any(|l| l.starts_with("t Exited (5)")) {
        r.fail("expected a line \"t Exited (5) …\"");
    }
}

// --- the monitor -------------------------------------------------------------------

#[test]
fn detached_container_outlives_the_cli_and_keeps_logging() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    // run_d has already checked that the CLI exited and that nothing it
    // left behind holds its stdout or stderr.
    run_d(
        &env,
        "tick",
        &["sh", "-c", "while true; do echo tick; sleep 0.2; done"],
    );
    let count = |r: &Run| r.stdout.lines().filter(|l| *l == "tick").count();
    let first = count(&wait_for_log_line(&env, "tick", "tick"));
    std::thread::sleep(Duration::from_millis(1500));
    let r = env.hutch(&["logs", "tick"]).success();
    if count(&r) < first + 3 {
        r.fail(&format!(
            "expected the tick lines to keep growing after run -d returned: {first} then {} 1.5 s later",
            count(&r)
        ));
    }
    assert_eq!(inspect_field(&env, "tick", "{{.State.Status}}"), "running");
}

#[test]
fn killing_the_monitor_marks_the_container_exited_and_ends_it() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(
        &env,
        "m",
        &["sh", "-c", "while true; do echo tick; sleep 0.2; done"],
    );
    wait_for_log_line(&env, "m", "tick");
    let pid: i32 = inspect_field(&env, "m", "{{.State.Pid}}")
        .parse()
        .expect("inspect prints a numeric pid");
    let stat = proc_stat(pid).unwrap_or_else(|| panic!("container process {pid} should exist"));
    let start = stat[19].clone();
    let monitor: i32 = stat[1].parse().expect("ppid is numeric");
    let cmdline = std::fs::read(format!("/proc/{monitor}/cmdline")).unwrap_or_default();
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(
        cmdline.contains("container-monitor"),
        "the container's parent (pid {monitor}) should be its monitor, but runs {cmdline:?}"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap_or_else(|e| panic!("kill -9 of the monitor {monitor}: {e}"));

    wait_for_status(&env, "m", "exited");
    // Once exited it stays exited.
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(200));
        let r = env
            .hutch(&["ps", "-a", "--format", "{{.Names}} {{.State}}"])
            .success();
        if !r.stdout.lines().any(|l| l.starts_with("m Exited (")) {
            r.fail("after its monitor died the container must be reported exited, never running");
        }
        assert_eq!(inspect_field(&env, "m", "{{.State.Status}}"), "exited");
    }
    wait_for(
        "the container's process to die with its monitor",
        SETTLE,
        || {
            if is_alive(pid, &start) {
                Err(format!("pid {pid} still runs: {:?}", proc_stat(pid)))
            } else {
                Ok(())
            }
        },
    );
}

#[test]
fn run_detached_with_rm_removes_the_container_after_it_exits() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let r = env
        .hutch_closing(&[
            "run", "-d", "--rm", "--name", "once", &img, "sh", "-c", "echo bye",
        ])
        .success();
    let id = expect_id(&r);
    let dir = env.store().join("containers").join(&id);
    wait_for("the --rm container to disappear", SETTLE, || {
        let r = env.hutch(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
        if r.code == Some(0) && !lists(&r, "once") && !dir.exists() {
            Ok(())
        } else {
            Err(format!("{r}\n{} exists: {}", dir.display(), dir.exists()))
        }
    });
}

// --- concurrency -------------------------------------------------------------------

#[test]
fn twenty_concurrent_detached_runs_all_start() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|i| {
                let (env, img) = (&env, &img);
                s.spawn(move || {
                    let name = format!("c{i}");
                    env.hutch_closing(&["run", "-d", "--name", &name, img, "sleep", "1000"])
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("runner thread"))
            .collect()
    });
    let failed: Vec<String> = runs
        .iter()
        .filter(|r| r.code != Some(0))
        .map(|r| r.to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of 20 concurrent run -d failed:\n\n{}",
        failed.len(),
        failed.join("\n\n")
    );
    let ids: BTreeSet<String> = runs
        .iter()
        .map(|r| expect_id(r)[..12].to_string())
        .collect();
    assert_eq!(ids.len(), 20, "the 20 containers should have distinct ids");
    let r = env.hutch(&["ps", "-q"]).success();
    let listed: BTreeSet<String> = r.stdout.lines().map(str::to_string).collect();
    if listed != ids {
        r.fail(&format!(
            "expected ps -q to list exactly the 20 started ids {ids:?}"
        ));
    }
}

#[test]
fn concurrent_forced_rm_of_one_container_has_exactly_one_winner() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "victim", &["sleep", "1000"]);
    let runs: Vec<Run> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let env = &env;
                s.spawn(move || env.hutch_timeout(&["rm", "-f", "victim"], WAIT_LIMIT))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("rm thread"))
            .collect()
    });
    // As Podman: rm -f of a container already gone succeeds silently, so
    // all exit 0 and exactly one prints the name.
    let is_winner = |r: &Run| r.code == Some(0) && r.stdout.trim() == "victim";
    let is_silent = |r: &Run| r.code == Some(0) && r.stdout.is_empty() && r.stderr.is_empty();
    let winners = runs.iter().filter(|r| is_winner(r)).count();
    let wrong: Vec<String> = runs
        .iter()
        .filter(|r| !is_winner(r) && !is_silent(r))
        .take(3)
        .map(|r| r.to_string())
        .collect();
    if winners != 1 || !wrong.is_empty() {
        let summary: Vec<String> = runs
            .iter()
            .map(|r| {
                format!(
                    "{:?} {:?} {}",
                    r.code,
                    r.stdout.trim(),
                    r.stderr.lines().next().unwrap_or("")
                )
            })
            .collect();
        panic!(
            "expected all 20 rm -f to exit 0 and exactly one to print the name; {winners} did.\nexit codes, stdout, first stderr lines:\n{}\n\nthe first wrong ones:\n\n{}",
            summary.join("\n"),
            wrong.join("\n\n")
        );
    }
    let r = ps_names_status(&env);
    if lists(&r, "victim") {
        r.fail("the removed container should not be listed");
    }
    env.hutch(&["images"]).success().stdout_has("busybox");
}

// --- foreground runs are recorded too ------------------------------------------------

#[test]
fn foreground_runs_still_work_and_are_recorded() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["run", "--rm", "--name", "fgrm", &img, "echo", "hello"])
        .success()
        .stdout_is("hello");
    env.hutch(&["run", "--name", "fg", &img, "true"])
        .success()
        .stdout_is("");
    let r = ps_names_status(&env);
    if !r.stdout.lines().any(|l| l.starts_with("fg Exited (0)")) {
        r.fail("expected a line \"fg Exited (0) …\"");
    }
    if lists(&r, "fgrm") {
        r.fail("run --rm should leave no container behind");
    }
    let r = env.hutch(&["ps", "--format", "{{.Names}}"]).success();
    if lists(&r, "fg") {
        r.fail("plain ps should not list an exited container");
    }
    assert_eq!(inspect_field(&env, "fg", "{{.State.ExitCode}}"), "0");
}

// --- the run directory ---------------------------------------------------------------

/// `info --format json`'s run directory and its source.
#[track_caller]
fn info_runroot(env: &Env) -> (String, String) {
    let r = env.hutch(&["info", "--format", "json"]).success();
    let v = r.json();
    match (
        v["store"]["runRoot"].as_str(),
        v["store"]["runRootSource"].as_str(),
    ) {
        (Some(p), Some(s)) => (p.to_string(), s.to_string()),
        _ => r.fail("expected store.runRoot and store.runRootSource strings"),
    }
}

#[test]
fn info_shows_the_run_directory_from_xdg_or_an_override() {
    let env = Env::new();
    let want = env.runtime_dir.join("hutch");
    assert_eq!(
        info_runroot(&env),
        (want.to_string_lossy().into_owned(), "xdg".to_string())
    );
    assert!(want.is_dir(), "info should create {}", want.display());

    let explicit = env.dir.join("explicit-run");
    let flag = env
        .hutch(&[
            "--runroot",
            &explicit.to_string_lossy(),
            "info",
            "--format",
            "json",
        ])
        .success()
        .json();
    assert_eq!(flag["store"]["runRootSource"], "--runroot", "{flag:#}");
    assert_eq!(
        flag["store"]["runRoot"],
        explicit.to_string_lossy().as_ref()
    );

    let mut env = env;
    let from_env = env.dir.join("env-run");
    env.set_env("HUTCH_RUNROOT", &from_env.to_string_lossy());
    assert_eq!(
        info_runroot(&env),
        (
            from_env.to_string_lossy().into_owned(),
            "HUTCH_RUNROOT".to_string()
        )
    );
}

/// Moves an existing `/tmp/hutch-UID` aside for the test and puts it back
/// afterwards (removing whatever the test left there), so the test neither
/// depends on nor destroys the user's real run directory.
struct TmpRunRoot {
    path: PathBuf,
    saved: Option<PathBuf>,
}

impl TmpRunRoot {
    fn take(path: PathBuf) -> TmpRunRoot {
        let saved = std::fs::symlink_metadata(&path).ok().map(|_| {
            let aside = PathBuf::from(format!(
                "{}.lifecycle-test-{}",
                path.display(),
                std::process::id()
            ));
            std::fs::rename(&path, &aside).unwrap_or_else(|e| {
                panic!(
                    "moving {} aside (it must belong to the test user): {e}",
                    path.display()
                )
            });
            aside
        });
        TmpRunRoot { path, saved }
    }

    fn clear(&self) {
        match std::fs::symlink_metadata(&self.path) {
            Ok(m) if m.is_dir() => {
                let _ =
                    std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o700));
                let _ = std::fs::remove_dir_all(&self.path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&self.path);
            }
            Err(_) => {}
        }
    }
}

impl Drop for TmpRunRoot {
    fn drop(&mut self) {
        self.clear();
        if let Some(saved) = &self.saved {
            let _ = std::fs::rename(saved, &self.path);
        }
    }
}

// The only test that uses /tmp/hutch-UID, which every test of this user
// shares: the others all set XDG_RUNTIME_DIR to a directory of their own.
#[test]
fn info_without_xdg_runtime_dir_uses_a_private_tmp_dir_and_refuses_a_planted_one() {
    let (_, uid, _) = current_user();
    let run_user = PathBuf::from(format!("/run/user/{uid}"));
    assert!(
        !run_user.exists(),
        "{} exists, so hutch rightly prefers it over /tmp/hutch-{uid}: run this suite on a host without a per-user runtime directory for the test user (tests/run.sh's hosts have none)",
        run_user.display()
    );
    let tmp_root = PathBuf::from(format!("/tmp/hutch-{uid}"));
    let tmp_text = tmp_root.to_string_lossy().into_owned();
    let guard = TmpRunRoot::take(tmp_root.clone());
    let mut env = Env::new();
    env.unset_env("XDG_RUNTIME_DIR");

    // Missing: info creates it private.
    assert_eq!(info_runroot(&env), (tmp_text.clone(), "tmp".to_string()));
    let m = std::fs::symlink_metadata(&tmp_root)
        .unwrap_or_else(|e| panic!("info should have created {tmp_text}: {e}"));
    assert!(m.is_dir(), "{tmp_text} should be a directory");
    assert_eq!(m.uid(), uid, "{tmp_text} should belong to the user");
    assert_eq!(m.mode() & 0o7777, 0o700, "{tmp_text} should have mode 0700");
    // Present and fine: used again.
    assert_eq!(info_runroot(&env), (tmp_text.clone(), "tmp".to_string()));

    // An XDG_RUNTIME_DIR that is a symlink, relative, or (for an
    // unprivileged user) someone else's is passed over.
    let real = env.dir.join("real-runtime");
    std::fs::create_dir(&real).expect("creating a runtime dir");
    set_mode(&real, 0o700);
    let link = env.dir.join("linked-runtime");
    std::os::unix::fs::symlink(&real, &link).expect("creating a symlink");
    let mut bad = vec![
        link.to_string_lossy().into_owned(),
        "relative/run".to_string(),
    ];
    if uid != 0 {
        bad.push("/".to_string());
    }
    for xdg in &bad {
        // The harness sets XDG_RUNTIME_DIR first; a later value wins.
        let mut e = Env::new();
        e.set_env("XDG_RUNTIME_DIR", xdg);
        let r = e.hutch(&["info", "--format", "json"]).success();
        let v = r.json();
        if v["store"]["runRoot"] != tmp_text.as_str() || v["store"]["runRootSource"] != "tmp" {
            r.fail(&format!(
                "XDG_RUNTIME_DIR={xdg} should be passed over for {tmp_text}"
            ));
        }
    }
    assert_eq!(
        list_dir(&real),
        Vec::<String>::new(),
        "nothing may be created through the symlink"
    );

    // A planted symlink is refused, not followed.
    guard.clear();
    let victim = env.dir.join("victim");
    std::fs::create_dir(&victim).expect("creating the victim directory");
    set_mode(&victim, 0o755);
    std::os::unix::fs::symlink(&victim, &tmp_root).expect("planting the symlink");
    env.hutch(&["info"])
        .tool_error(&[&tmp_text, "symbolic link"]);
    let vm = std::fs::metadata(&victim).expect("the victim directory");
    assert_eq!(
        vm.mode() & 0o7777,
        0o755,
        "the victim's mode must be untouched"
    );
    assert_eq!(
        list_dir(&victim),
        Vec::<String>::new(),
        "the victim must stay empty"
    );

    // A directory others may enter is refused too.
    guard.clear();
    std::fs::create_dir(&tmp_root).expect("creating an open run directory");
    set_mode(&tmp_root, 0o755);
    env.hutch(&["info"]).tool_error(&[&tmp_text, "0755"]);

    drop(guard);
}
