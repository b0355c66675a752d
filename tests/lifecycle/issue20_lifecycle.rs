//! Issue #20, items 4 and 12: `wait` for every state as Podman 4.3 does,
//! and `kill` that returns only once the exit is recorded.

use super::*;

/// `create --name NAME busybox CMD`, which must succeed.
#[track_caller]
fn create(env: &Env, name: &str, cmd: &[&str]) {
    let img = image("busybox");
    let mut all = vec!["create", "--name", name, img.as_str()];
    all.extend_from_slice(cmd);
    env.hutch(&all).success();
}

// --- item 4: wait -----------------------------------------------------------

#[test]
fn issue20_wait_returns_for_created_container() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    create(&env, "c", &["sleep", "1"]);
    // Podman: a container that never ran has stopped, with code 0.
    env.hutch_timeout(&["wait", "c"], Duration::from_secs(10))
        .success()
        .stdout_is("0");
    env.hutch_timeout(
        &["wait", "--condition", "exited", "c"],
        Duration::from_secs(10),
    )
    .success()
    .stdout_is("0");
    // Any other condition prints -1; several may be given either way.
    for args in [
        &["wait", "--condition", "created", "c"][..],
        &["wait", "--condition=running,created", "c"],
        &[
            "wait",
            "--condition",
            "running",
            "--condition",
            "created",
            "c",
        ],
        &[
            "wait",
            "--condition",
            "created",
            "--condition",
            "stopped",
            "c",
        ],
    ] {
        env.hutch_timeout(args, Duration::from_secs(10))
            .success()
            .stdout_is("-1");
    }
    // `running` waits until it runs.
    let waiter = env.spawn(&["wait", "--condition", "running", "-i", "50ms", "c"]);
    std::thread::sleep(Duration::from_millis(300));
    env.hutch_closing(&["start", "c"]).success();
    waiter.wait().success().stdout_is("-1");
    // Once it has exited, `created` no longer matches but `stopped` does.
    env.hutch_timeout(&["wait", "c"], WAIT_LIMIT)
        .success()
        .stdout_is("0");
    let r = env.hutch_timeout(
        &["wait", "--condition", "created", "c"],
        Duration::from_secs(2),
    );
    assert!(
        r.timed_out,
        "wait --condition created of an exited container must wait: {r}"
    );
}

#[test]
fn issue20_wait_checks_every_name_first_and_ignore_prints_minus_1() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "three", &["sh", "-c", "exit 3"]);
    env.hutch_timeout(&["wait", "three"], WAIT_LIMIT)
        .success()
        .stdout_is("3");
    env.hutch(&["wait", "nope"])
        .tool_error(&["no such container nope"]);
    // A missing name fails before any waiting: nothing is printed.
    let r = env
        .hutch(&["wait", "three", "nope"])
        .tool_error(&["no such container nope"]);
    assert_eq!(r.stdout, "", "{r}");
    env.hutch(&["wait", "--ignore", "nope"])
        .success()
        .stdout_is("-1");
    env.hutch(&["wait", "--ignore", "three", "nope", "three"])
        .success()
        .stdout_is("3\n-1\n3");
    // --interval: a duration, or a bare number of milliseconds.
    for interval in ["100ms", "100", "1s"] {
        env.hutch(&["wait", "--interval", interval, "three"])
            .success()
            .stdout_is("3");
    }
    env.hutch(&["wait", "--interval", "0", "three"])
        .tool_error(&["invalid --interval"]);
    env.hutch(&["wait", "--condition", "Running", "three"])
        .tool_error(&["invalid --condition"]);
}

#[test]
fn issue20_wait_gives_the_exit_code_of_a_container_removed_while_waited_for() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "doomed", &["sleep", "1000"]);
    let waiter = env.spawn(&["wait", "doomed"]);
    std::thread::sleep(Duration::from_millis(500));
    env.hutch(&["rm", "-f", "doomed"]).success();
    waiter.wait().success().stdout_is("137");

    // Removed after it exited, before the waiter looked again.
    run_d(&env, "gone", &["sh", "-c", "sleep 1; exit 4"]);
    let waiter = env.spawn(&["wait", "--interval", "3s", "gone"]);
    std::thread::sleep(Duration::from_millis(300));
    wait_for_status(&env, "gone", "exited");
    env.hutch(&["rm", "gone"]).success();
    waiter.wait().success().stdout_is("4");
}

// --- item 12: kill, then rm -------------------------------------------------

#[test]
fn issue20_kill_then_rm_never_finds_the_container_running() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    for round in 0..5 {
        run_d(&env, "k", &["sleep", "1000"]);
        env.hutch(&["kill", "k"]).success().stdout_is("k");
        let r = env.hutch(&["rm", "k"]);
        if r.code != Some(0) {
            r.fail(&format!("round {round}: rm right after kill must succeed"));
        }
    }
    // A signal the container catches and exits on: kill waits briefly for
    // that exit to be recorded too.
    for round in 0..3 {
        run_d(
            &env,
            "t",
            &[
                "sh",
                "-c",
                "trap 'exit 5' TERM; echo armed; while :; do :; done",
            ],
        );
        wait_for_log_line(&env, "t", "armed");
        env.hutch(&["kill", "-s", "TERM", "t"]).success();
        let r = env.hutch(&["rm", "t"]);
        if r.code != Some(0) {
            r.fail(&format!(
                "round {round}: rm right after kill -s TERM must succeed"
            ));
        }
    }
    // stop and restart, then kill and rm, in a script's order.
    run_d(&env, "s", &["sleep", "1000"]);
    env.hutch(&["stop", "-t", "0", "s"]).success();
    env.hutch(&["rm", "s"]).success();
    run_d(&env, "r", &["sleep", "1000"]);
    env.hutch_closing(&["restart", "-t", "0", "r"]).success();
    env.hutch(&["kill", "r"]).success();
    env.hutch(&["rm", "r"]).success();
}

#[test]
fn issue20_kill_of_a_signal_the_container_ignores_returns_at_once() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "deaf", &["sleep", "1000"]);
    // pid 1 without a handler never sees TERM: nothing to wait for.
    let started = Instant::now();
    env.hutch(&["kill", "-s", "TERM", "deaf"]).success();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "kill -s TERM of a container that ignores it took {:?}",
        started.elapsed()
    );
    assert_eq!(inspect_field(&env, "deaf", "{{.State.Status}}"), "running");
}
