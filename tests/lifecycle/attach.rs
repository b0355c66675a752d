//! `attach`, `start -a -i` and `run -d -i` (issue #8, third increment).

use std::io::Write;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use super::*;
use common::require_tool;

/// A hutch process with its stdout collected by a thread as it comes.
struct Live {
    child: std::process::Child,
    output: Arc<Mutex<Vec<u8>>>,
    what: String,
}

impl Live {
    fn spawn(env: &Env, args: &[&str], stdin: Stdio) -> Live {
        let mut c = env.command(args);
        c.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = c.spawn().expect("starting hutch");
        let out = child.stdout.take().expect("stdout is piped");
        Live::collect(child, out, env.describe(args))
    }

    fn collect(
        child: std::process::Child,
        mut out: impl Read + Send + 'static,
        what: String,
    ) -> Live {
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("output").extend_from_slice(&buf[..n]);
            }
        });
        Live {
            child,
            output,
            what,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output")).into_owned()
    }

    /// Waits until the output contains `want`.
    fn wait_for_text(&mut self, want: &str) {
        let deadline = Instant::now() + SETTLE;
        while !self.text().contains(want) {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{}\nno {want:?} within {SETTLE:?}; output:\n{:?}",
                    self.what,
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the exit code.
    fn exit_code(mut self) -> i32 {
        let deadline = Instant::now() + WAIT_LIMIT;
        loop {
            if let Some(s) = self.child.try_wait().expect("waiting for hutch") {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("{}\ndid not exit; output:\n{:?}", self.what, self.text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn run_d_flags(env: &Env, name: &str, flags: &[&str], cmd: &[&str]) {
    let img = image("busybox");
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.push(&img);
    args.extend_from_slice(cmd);
    env.hutch_closing(&args).success();
}

#[test]
fn attach_sends_stdin_to_a_run_d_i_container_and_exits_with_its_code() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d_flags(&env, "cat", &["-i"], &["cat"]);
    let mut live = Live::spawn(&env, &["attach", "cat"], Stdio::piped());
    let mut stdin = live.child.stdin.take().expect("stdin is piped");
    stdin.write_all(b"hello\n").expect("writing to attach");
    live.wait_for_text("hello\n");
    // As in Podman, the end of attach's input leaves the container's open.
    drop(stdin);
    std::thread::sleep(Duration::from_millis(500));
    wait_for_status(&env, "cat", "running");
    env.hutch(&["kill", "cat"]).success();
    assert_eq!(live.exit_code(), 137);
}

#[test]
fn two_clients_attached_at_once_both_get_output() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d_flags(
        &env,
        "tick",
        &[],
        &["sh", "-c", "while true; do echo tick; sleep 0.2; done"],
    );
    let mut a = Live::spawn(&env, &["attach", "tick"], Stdio::null());
    let mut b = Live::spawn(&env, &["attach", "--no-stdin", "tick"], Stdio::null());
    a.wait_for_text("tick\ntick\n");
    b.wait_for_text("tick\ntick\n");
    env.hutch(&["kill", "tick"]).success();
    assert_eq!(a.exit_code(), 137);
    assert_eq!(b.exit_code(), 137);
}

#[test]
fn attach_to_an_exited_container_exits_125() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d_flags(&env, "done", &[], &["true"]);
    env.hutch_timeout(&["wait", "done"], WAIT_LIMIT).success();
    env.hutch(&["attach", "done"])
        .code(125)
        .stderr_has("not running");
    env.hutch(&["attach", "nosuch"]).code(125);
}

#[test]
fn start_a_i_echoes_input_and_exits_with_the_container_code() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&[
        "create",
        "-i",
        "--name",
        "echo",
        &img,
        "sh",
        "-c",
        "cat; exit 3",
    ])
    .success();
    let mut live = Live::spawn(&env, &["start", "-a", "-i", "echo"], Stdio::piped());
    let mut stdin = live.child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(b"one\ntwo\n")
        .expect("writing to start -a -i");
    live.wait_for_text("one\ntwo\n");
    drop(stdin);
    assert_eq!(live.exit_code(), 3);
    // Output written before start -a connects still reaches it.
    env.hutch(&["create", "--name", "quick", &img, "echo", "quick"])
        .success();
    env.hutch(&["start", "-a", "quick"])
        .success()
        .stdout_is("quick\n");
}

#[test]
fn attach_on_a_terminal_types_into_the_shell_and_detaches_with_ctrl_p_ctrl_q() {
    let setsid = require_tool("setsid");
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d_flags(&env, "sh", &["-it"], &["sh"]);
    let ws = nix::pty::Winsize {
        ws_row: 29,
        ws_col: 101,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let p = nix::pty::openpty(Some(&ws), None).expect("openpty");
    let mut master = std::fs::File::from(p.master);
    let reader = master.try_clone().expect("dup pty master");
    let args = ["attach", "sh"];
    let mut c = std::process::Command::new(setsid);
    c.arg("-w").arg("-c").arg(common::hutch_bin()).args(args);
    c.env_clear().envs(env.vars()).current_dir(&env.home);
    let fd = |f: &OwnedFd| Stdio::from(f.try_clone().expect("dup pty slave"));
    c.stdin(fd(&p.slave))
        .stdout(fd(&p.slave))
        .stderr(fd(&p.slave));
    let child = c.spawn().expect("starting setsid hutch attach");
    drop(c);
    drop(p.slave);
    let mut live = Live::collect(child, reader, env.describe(&args));
    master.write_all(b"echo h''i; stty size\n").expect("typing");
    live.wait_for_text("\nhi\r\n");
    live.wait_for_text("29 101");
    master
        .write_all(b"\x10\x11")
        .expect("typing the detach keys");
    assert_eq!(live.exit_code(), 0);
    wait_for_status(&env, "sh", "running");
}
