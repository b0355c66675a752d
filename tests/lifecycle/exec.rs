//! `hutch exec` (issue #8): commands started in a running container join
//! its namespaces, see its processes and files, and report their own exit
//! codes.

use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::common::{self, check_table, require_tool, termios_key, wait_for, Case, Env, Out, Pty};
use super::{run_d, setup, wait_for_status, Cleanup, SETTLE};

/// Starts the long-running container every test execs into.
fn start_web(env: &Env) {
    run_d(env, "web", &["sleep", "1000"]);
}

#[test]
fn exec_runs_commands_in_the_container_and_returns_their_codes() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_web(&env);
    check_table(
        &env,
        &[
            Case {
                args: &["exec", "web", "true"],
                code: 0,
                out: Out::Is(""),
            },
            Case {
                args: &["exec", "web", "false"],
                code: 1,
                out: Out::Is(""),
            },
            Case {
                args: &["exec", "web", "sh", "-c", "exit 7"],
                code: 7,
                out: Out::Is(""),
            },
            Case {
                args: &["exec", "web", "nope"],
                code: 127,
                out: Out::Is(""),
            },
            Case {
                args: &["exec", "web", "/etc/passwd"],
                code: 126,
                out: Out::Is(""),
            },
            Case {
                args: &["exec", "web", "sh", "-c", "kill -TERM $$"],
                code: 128 + 15,
                out: Out::Is(""),
            },
            // The container's first process is pid 1 of the namespace joined.
            Case {
                args: &["exec", "web", "cat", "/proc/1/cmdline"],
                code: 0,
                out: Out::Is("sleep\u{0}1000\u{0}"),
            },
            Case {
                args: &["exec", "-e", "X=1", "web", "sh", "-c", "echo $X"],
                code: 0,
                out: Out::Is("1"),
            },
            Case {
                args: &["exec", "-u", "1000", "web", "id", "-u"],
                code: 0,
                out: Out::Is("1000"),
            },
            Case {
                args: &["exec", "-u", "ghost", "web", "id", "-u"],
                code: 126,
                out: Out::Is(""),
            },
            Case {
                args: &["exec", "-w", "/tmp", "web", "pwd"],
                code: 0,
                out: Out::Is("/tmp"),
            },
            Case {
                args: &["exec", "--privileged", "web", "id", "-u"],
                code: 0,
                out: Out::Is("0"),
            },
            Case {
                args: &["exec", "nosuch", "true"],
                code: 125,
                out: Out::Is(""),
            },
        ],
    );
}

#[test]
fn exec_env_is_the_containers_then_env_files_then_flags() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_web(&env);
    let vars = env.dir.join("vars");
    std::fs::write(&vars, "# comment\nF=file\nX=file\n").expect("writing the env file");
    let vars = vars.to_string_lossy().into_owned();
    let script = "echo $F $X $container $HOME";
    env.hutch(&[
        "exec",
        "--env-file",
        &vars,
        "-e",
        "X=flag",
        "web",
        "sh",
        "-c",
        script,
    ])
    .success()
    // container=podman, as Podman sets it (issue #20 item 7).
    .stdout_is("file flag podman /root");
}

#[test]
fn exec_is_inside_the_pid_namespace_but_not_its_pid_1() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_web(&env);
    let r = env.hutch(&["exec", "web", "sh", "-c", "echo $$"]).success();
    let pid: i32 = r
        .stdout
        .trim()
        .parse()
        .unwrap_or_else(|_| r.fail("expected the shell's pid on stdout"));
    if pid <= 1 {
        r.fail("expected the exec'd shell to have a pid above 1 in the container");
    }
    // `ps` in the container sees the container's init as pid 1.
    let r = env
        .hutch(&["exec", "web", "ps", "-o", "pid,args"])
        .success();
    if !r
        .stdout
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep", "1000"])
    {
        r.fail("expected ps in the container to list `1 sleep 1000`");
    }
}

#[test]
fn exec_sees_the_same_root_filesystem_as_other_execs() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_web(&env);
    env.hutch(&["exec", "web", "sh", "-c", "echo shared > /tmp/f"])
        .success()
        .stderr_empty();
    env.hutch(&["exec", "web", "cat", "/tmp/f"])
        .success()
        .stdout_is("shared");
}

#[test]
fn exec_on_a_container_that_is_not_running_fails_with_125() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "done", &["true"]);
    wait_for_status(&env, "done", "exited");
    env.hutch(&["exec", "done", "true"])
        .code(125)
        .stderr_has("Error: container done is not running");
}

#[test]
fn exec_detached_returns_at_once_and_the_command_runs_on() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_web(&env);
    let started = Instant::now();
    env.hutch_closing(&[
        "exec",
        "-d",
        "web",
        "sh",
        "-c",
        "sleep 2; echo done > /tmp/d",
    ])
    .success()
    .stdout_is("");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "exec -d took {took:?}; it should not wait for the command"
    );
    wait_for("the detached command to write /tmp/d", SETTLE, || {
        let r = env.hutch(&["exec", "web", "cat", "/tmp/d"]);
        if r.code == Some(0) && r.stdout.trim() == "done" {
            Ok(())
        } else {
            Err(r.to_string())
        }
    });
    env.hutch(&["exec", "-d", "web", "nope"]).code(127);
}

/// The pids of the live children of `parent`.
fn children(parent: u32) -> Vec<u32> {
    common::list_dir(std::path::Path::new("/proc"))
        .iter()
        .filter_map(|e| e.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                let rest = &s[s.rfind(')').map_or(0, |i| i + 1)..];
                let f: Vec<&str> = rest.split_whitespace().collect();
                f.len() > 1 && f[0] != "Z" && f[1] == parent.to_string()
            })
        })
        .collect()
}

#[test]
fn exec_command_dies_with_a_killed_hutch() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_web(&env);
    let args = ["exec", "web", "sleep", "1234"];
    let mut c = env.command(&args);
    c.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", env.describe(&args)));
    let cli = child.id();
    let command = wait_for("exec to start its command", SETTLE, || {
        match children(cli).first() {
            Some(p) => Ok(*p),
            None => Err(format!("no child of hutch pid {cli} yet")),
        }
    });
    let _ = child.kill();
    let _ = child.wait();
    wait_for(
        "the exec'd command to die with hutch",
        SETTLE,
        || match std::fs::read_to_string(format!("/proc/{command}/cmdline")) {
            Ok(c) if c.starts_with("sleep\u{0}1234") => Err(format!("pid {command} still runs")),
            _ => Ok(()),
        },
    );
}

#[test]
fn exec_it_gives_a_shell_on_a_terminal_in_the_container() {
    let setsid = require_tool("setsid");
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_web(&env);
    let pty = Pty::open(29, 101);
    let before = termios_key(&pty.slave);

    let args = ["exec", "-it", "web", "sh"];
    let mut c = std::process::Command::new(setsid);
    c.arg("-w").arg("-c").arg(common::hutch_bin()).args(args);
    c.env_clear()
        .envs(env.vars())
        .env("TERM", "xterm")
        .current_dir(&env.home);
    let fd = |f: &OwnedFd| std::process::Stdio::from(f.try_clone().expect("dup pty slave"));
    c.stdin(fd(&pty.slave))
        .stdout(fd(&pty.slave))
        .stderr(fd(&pty.slave));
    let mut child = c.spawn().expect("starting setsid hutch exec -it");
    drop(c);

    let what = format!(
        "{}\n(under a 29x101 pseudo-terminal via setsid -w -c)",
        env.describe(&args)
    );
    pty.converse(
        &mut child,
        &what,
        &[
            ("", "# "),
            ("stty size\n", "29 101"),
            ("cat /proc/1/cmdline | tr '\\0' ' '; echo\n", "sleep 1000"),
            ("tty\n", "/dev/pts/"),
            ("exit 3\n", "exit 3"),
        ],
    );
    let status = pty.wait_exit(&mut child, &what);
    assert_eq!(
        status.code(),
        Some(3),
        "{what}\n`exit 3` should end hutch with 3; terminal output:\n{:?}",
        pty.text()
    );
    assert_eq!(
        before,
        termios_key(&pty.slave),
        "{what}\nterminal settings differ after hutch exited"
    );
}
