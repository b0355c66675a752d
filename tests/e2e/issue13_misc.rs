//! Issue #13 (Podman's CLI contract): the smaller names hutch lacked
//! (exec's fd and detach flags, the prunes' filters, image diff, history
//! and tree options, volume mount, push's signing flags), each compared
//! with what Podman 4.3 does.

use crate::common::{image, Env, Run};

/// Runs hutch with `args` under `sh -c` with fd 3 open on `file`, as a
/// shell redirect gives it.
fn hutch_with_fd3(env: &Env, args: &[&str], file: &std::path::Path) -> Run {
    let c = env.command(args);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("exec \"$0\" \"$@\" 3<{}", file.display()))
        .arg(c.get_program())
        .args(c.get_args())
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(&env.home);
    crate::common::run_command(
        sh,
        format!("hutch {} 3<{}", args.join(" "), file.display()),
        crate::common::TIMEOUT,
    )
}

#[test]
fn issue13_misc_exec_preserve_fds_and_detach_keys() {
    // issue #13 item 1: `exec --preserve-fds` passes fds 3.. on, checked
    // open first with Podman's message; `--detach-keys` is checked.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["run", "-d", "--name", "ex", &img, "sleep", "1000"])
        .success();
    let secret = env.dir.join("secret");
    std::fs::write(&secret, "passed\n").unwrap();
    let cat3 = [
        "exec",
        "--preserve-fds",
        "1",
        "ex",
        "cat",
        "/proc/self/fd/3",
    ];
    hutch_with_fd3(&env, &cat3, &secret)
        .success()
        .stdout_is("passed");
    let cat3 = [
        "container",
        "exec",
        "--preserve-fds=1",
        "ex",
        "cat",
        "/proc/self/fd/3",
    ];
    hutch_with_fd3(&env, &cat3, &secret)
        .success()
        .stdout_is("passed");
    // Detached, the command gets it too.
    let keep = "cat /proc/self/fd/3 > /kept";
    hutch_with_fd3(
        &env,
        &["exec", "-d", "--preserve-fds", "1", "ex", "sh", "-c", keep],
        &secret,
    )
    .success();
    crate::common::wait_for(
        "the detached exec to write /kept",
        std::time::Duration::from_secs(20),
        || {
            let r = env.hutch(&["exec", "ex", "cat", "/kept"]);
            match r.stdout.trim() {
                "passed" => Ok(()),
                _ => Err(format!("{}{}", r.stdout, r.stderr)),
            }
        },
    );
    // An fd that is not open is Podman's error, before anything runs.
    hutch_with_fd3(
        &env,
        &["exec", "--preserve-fds", "2", "ex", "true"],
        &secret,
    )
    .tool_error(&["file descriptor 4 is not available"]);
    env.hutch(&["exec", "--preserve-fds", "1", "ex", "true"])
        .tool_error(&["file descriptor 3 is not available"]);
    // Without the flag nothing but stdio reaches the command.
    hutch_with_fd3(
        &env,
        &["exec", "ex", "sh", "-c", "ls /proc/self/fd | wc -l"],
        &secret,
    )
    .success()
    .stdout_is("4");
    env.hutch(&["exec", "--detach-keys", "ctrl-a,x", "ex", "echo", "hi"])
        .success()
        .stdout_is("hi");
    env.hutch(&["exec", "--detach-keys=", "ex", "true"])
        .success();
    env.hutch(&["container", "exec", "--detach-keys", "bogus", "ex", "true"])
        .tool_error(&["invalid detach keys \"bogus\""]);
    env.hutch(&["rm", "-f", "-t0", "ex"]).success();
}
