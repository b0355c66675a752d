//! `create`, `start`, `restart`, restart policies and `wait --condition`
//! (issue #8, second increment).

use super::*;

/// `create --name NAME FLAGS busybox CMD`, which must succeed; the id.
#[track_caller]
fn create(env: &Env, name: &str, flags: &[&str], cmd: &[&str]) -> String {
    let img = image("busybox");
    let mut all = vec!["create", "--name", name];
    all.extend_from_slice(flags);
    all.push(&img);
    all.extend_from_slice(cmd);
    let r = env.hutch(&all).success();
    expect_id(&r)
}

/// The restart count as the store records it. `inspect` shows
/// `RestartCount` from the same column once its renderer reads it.
fn restart_count(env: &Env, id: &str) -> i64 {
    let db = rusqlite::Connection::open_with_flags(
        env.store().join("db.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("opening the store's database read-only");
    db.query_row(
        "SELECT restart_count FROM containers WHERE id = ?1",
        [id],
        |r| r.get(0),
    )
    .expect("reading restart_count")
}

/// Waits until container `name` has exited and its monitor is done (what
/// `wait` waits for); returns the printed exit code.
#[track_caller]
fn wait_exit_code(env: &Env, name: &str) -> String {
    env.hutch_timeout(&["wait", name], WAIT_LIMIT)
        .success()
        .stdout
        .trim()
        .to_string()
}

#[test]
fn create_records_a_created_container_that_start_runs() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let id = create(
        &env,
        "later",
        &[],
        &["sh", "-c", "echo started; sleep 1000"],
    );
    let ps = ps_names_status(&env);
    if !ps.stdout.lines().any(|l| l == "later Created") {
        ps.fail("expected `later Created` in ps -a");
    }
    assert_eq!(inspect_field(&env, "later", "{{.State.Status}}"), "created");
    assert!(env.store().join("containers").join(&id).is_dir());
    let r = env.hutch_closing(&["start", "later"]).success();
    assert_eq!(r.stdout, "later\n", "{r}");
    wait_for_status(&env, "later", "running");
    wait_for_log_line(&env, "later", "started");
    // Starting a running container does nothing and succeeds.
    let pid = inspect_field(&env, "later", "{{.State.Pid}}");
    env.hutch_closing(&["start", "later"]).success();
    assert_eq!(inspect_field(&env, "later", "{{.State.Pid}}"), pid);
}

#[test]
fn create_refuses_detach() {
    let env = setup();
    let img = image("busybox");
    let r = env.hutch(&["create", "-d", &img, "true"]).code(125);
    assert!(r.stderr.contains("--detach"), "{r}");
}

#[test]
fn stop_and_start_keep_files_written_in_the_container() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(
        &env,
        "keep",
        &[
            "sh",
            "-c",
            "cat /kept 2>/dev/null || echo none; echo here > /kept; sleep 1000",
        ],
    );
    wait_for_log_line(&env, "keep", "none");
    env.hutch_timeout(&["stop", "-t", "0", "keep"], WAIT_LIMIT)
        .success();
    env.hutch_closing(&["start", "keep"]).success();
    wait_for_log_line(&env, "keep", "here");
}

#[test]
fn on_failure_3_restarts_a_failing_container_exactly_three_times() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let r = env
        .hutch_closing(&[
            "run",
            "-d",
            "--name",
            "flaky",
            "--restart=on-failure:3",
            &img,
            "sh",
            "-c",
            "echo run; exit 1",
        ])
        .success();
    let id = expect_id(&r);
    assert_eq!(wait_exit_code(&env, "flaky"), "1");
    let logs = env.hutch(&["logs", "flaky"]).success();
    let runs = logs.stdout.lines().filter(|l| *l == "run").count();
    if runs != 4 {
        logs.fail(&format!("expected 4 `run` lines, got {runs}"));
    }
    assert_eq!(restart_count(&env, &id), 3);
    assert_eq!(inspect_field(&env, "flaky", "{{.State.Status}}"), "exited");
    assert_eq!(inspect_field(&env, "flaky", "{{.State.ExitCode}}"), "1");
    // It stays exited: no fifth run turns up.
    std::thread::sleep(Duration::from_secs(1));
    let logs = env.hutch(&["logs", "flaky"]).success();
    assert_eq!(logs.stdout.lines().filter(|l| *l == "run").count(), 4);
}

#[test]
fn always_restarts_until_stopped_and_stop_ends_it_for_good() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let r = env
        .hutch_closing(&[
            "run",
            "-d",
            "--name",
            "loop",
            "--restart=always",
            &img,
            "sh",
            "-c",
            "echo up; sleep 0.2",
        ])
        .success();
    let id = expect_id(&r);
    wait_for("the always container to restart", SETTLE, || {
        let n = restart_count(&env, &id);
        if n >= 2 {
            Ok(())
        } else {
            Err(format!("restart count {n}"))
        }
    });
    env.hutch_timeout(&["stop", "-t", "2", "loop"], WAIT_LIMIT)
        .success();
    wait_exit_code(&env, "loop");
    let count = restart_count(&env, &id);
    let ups = env
        .hutch(&["logs", "loop"])
        .success()
        .stdout
        .lines()
        .count();
    // Longer than the longest back-off the loop had reached.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(inspect_field(&env, "loop", "{{.State.Status}}"), "exited");
    assert_eq!(restart_count(&env, &id), count);
    let r = env.hutch(&["logs", "loop"]).success();
    assert_eq!(r.stdout.lines().count(), ups, "{r}");
}

#[test]
fn restart_gives_a_running_container_a_new_process() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "again", &["sleep", "1000"]);
    wait_for_status(&env, "again", "running");
    let before = inspect_field(&env, "again", "{{.State.Pid}}");
    let r = env
        .hutch_timeout(&["restart", "-t", "1", "again"], WAIT_LIMIT)
        .success();
    assert_eq!(r.stdout, "again\n", "{r}");
    assert_eq!(inspect_field(&env, "again", "{{.State.Status}}"), "running");
    let after = inspect_field(&env, "again", "{{.State.Pid}}");
    assert_ne!(before, after);
    assert_ne!(after, "0");
}

#[test]
fn start_attach_prints_the_output_and_exits_with_the_code() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    create(&env, "hi", &[], &["echo", "hi"]);
    let r = env
        .hutch_timeout(&["start", "-a", "hi"], WAIT_LIMIT)
        .success();
    assert_eq!(r.stdout, "hi\n", "{r}");
    create(
        &env,
        "fails",
        &[],
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
    );
    let r = env
        .hutch_timeout(&["start", "-a", "fails"], WAIT_LIMIT)
        .code(3);
    assert_eq!(r.stdout, "out\n", "{r}");
    assert_eq!(r.stderr, "err\n", "{r}");
    // A --rm container removes itself; its exit code still arrives.
    create(&env, "gone", &["--rm"], &["sh", "-c", "echo bye; exit 4"]);
    let r = env
        .hutch_timeout(&["start", "-a", "gone"], WAIT_LIMIT)
        .code(4);
    assert_eq!(r.stdout, "bye\n", "{r}");
    // With -t the terminal's output is printed.
    create(&env, "tty", &["-t"], &["echo", "on-a-tty"]);
    let r = env
        .hutch_timeout(&["start", "-a", "tty"], WAIT_LIMIT)
        .success();
    assert!(r.stdout.contains("on-a-tty"), "{r}");
}

#[test]
fn rm_with_a_restart_policy_is_refused() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    for cmd in ["run", "create"] {
        let r = env
            .hutch(&[cmd, "--rm", "--restart=always", &img, "true"])
            .code(125);
        assert!(r.stderr.starts_with("Error: --rm"), "{r}");
    }
    let r = env
        .hutch(&["run", "--restart=sometimes", &img, "true"])
        .code(125);
    assert!(r.stderr.contains("invalid restart policy"), "{r}");
    let r = ps_names_status(&env);
    assert_eq!(r.stdout.trim(), "", "no container is left: {r}");
}

#[test]
fn wait_condition_running_returns_once_started() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    create(&env, "slow", &[], &["sleep", "1000"]);
    // Conditions other than stopped print -1, as in Podman (issue #20).
    let r = env
        .hutch(&["wait", "--condition", "created", "slow"])
        .success();
    assert_eq!(r.stdout, "-1\n", "{r}");
    let waiter = env.spawn(&["wait", "--condition", "running", "slow"]);
    std::thread::sleep(Duration::from_millis(500));
    env.hutch_closing(&["start", "slow"]).success();
    let r = waiter.wait().success();
    assert_eq!(r.stdout, "-1\n", "{r}");
    assert_eq!(inspect_field(&env, "slow", "{{.State.Status}}"), "running");
    let r = env
        .hutch(&["wait", "--condition", "bogus", "slow"])
        .code(125);
    assert!(r.stderr.contains("invalid --condition"), "{r}");
}

#[test]
fn wait_prints_the_exit_code_of_a_rm_container_that_removed_itself() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch_closing(&[
        "run",
        "-d",
        "--rm",
        "--name",
        "brief",
        &img,
        "sh",
        "-c",
        "sleep 1; exit 7",
    ])
    .success();
    let r = env.hutch_timeout(&["wait", "brief"], WAIT_LIMIT).success();
    assert_eq!(r.stdout, "7\n", "{r}");
    let r = ps_names_status(&env);
    assert!(!lists(&r, "brief"), "{r}");
}
