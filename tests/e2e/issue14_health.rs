//! Issue #14, health checks: `--health-*` of `run`/`create`, the image's
//! `HEALTHCHECK`, checks scheduled by the container's own monitor (no
//! systemd), `healthcheck run`, the health in `ps` and `inspect`, and
//! `--health-on-failure`; as the unprivileged user, with 1 s intervals.

use std::time::{Duration, Instant};

use crate::common::{image, wait_for, Env};

/// A command that ends at once on `stop`'s SIGTERM, as a service does.
const SERVICE: &str = "trap 'exit 0' TERM; while :; do sleep 0.1; done";

/// `inspect --format FORMAT NAME`'s output.
fn inspect(env: &Env, name: &str, format: &str) -> String {
    let r = env.hutch(&["inspect", "--format", format, name]).success();
    r.stdout.trim_end().to_string()
}

/// The `inspect` object of container `name`.
fn inspect_json(env: &Env, name: &str) -> serde_json::Value {
    env.hutch(&["inspect", name]).success().json()[0].clone()
}

/// `ps -a`'s STATUS of container `name`.
fn ps_status(env: &Env, name: &str) -> Result<String, String> {
    let r = env
        .hutch(&["ps", "-a", "--format", "{{.Names}}|{{.Status}}"])
        .success();
    r.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}|")))
        .map(String::from)
        .ok_or_else(|| r.to_string())
}

/// Waits until `ps` shows container `name` with `(health)`; returns how
/// long that took.
fn wait_health(env: &Env, name: &str, health: &str, limit: Duration) -> Duration {
    let start = Instant::now();
    let want = format!("({health})");
    wait_for(&format!("ps to show {name} {want}"), limit, || {
        let status = ps_status(env, name)?;
        match status.ends_with(&want) {
            true => Ok(start.elapsed()),
            false => Err(status),
        }
    })
}

/// Names `ps --filter FILTER` lists, in every state.
fn filtered(env: &Env, filter: &str) -> Vec<String> {
    let r = env
        .hutch(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"])
        .success();
    let mut names: Vec<String> = r.stdout.lines().map(String::from).collect();
    names.sort();
    names
}

/// Issue #14 acceptance: a check failing three times makes the container
/// `unhealthy` in `ps` within interval × retries (+ one interval), with
/// no systemd involved: its monitor schedules the checks.
#[test]
fn issue14_health_a_failing_check_shows_unhealthy_within_interval_times_retries() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "sick",
        "--health-cmd",
        "echo not ready; exit 1",
        "--health-interval",
        "1s",
        &img,
        "sleep",
        "300",
    ])
    .success();
    // Right after the start: starting, until the checks say more.
    let early = ps_status(&env, "sick").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        early.starts_with("Up ") && early.ends_with("(starting)"),
        "right after the start ps shows {early:?}, expected Up … (starting)"
    );
    // 1 s × 3 retries + one interval; half a second more for the hutch
    // processes each check and each ps start on a busy host.
    let took = wait_health(&env, "sick", "unhealthy", Duration::from_millis(4500));
    eprintln!("unhealthy after {took:?}");
    let v = inspect_json(&env, "sick");
    let health = &v["State"]["Health"];
    assert_eq!(health["Status"], "unhealthy", "{v:#}");
    assert!(health["FailingStreak"].as_u64() >= Some(3), "{health:#}");
    let log = health["Log"].as_array().expect("Log is an array");
    assert!((3..=5).contains(&log.len()), "{health:#}");
    for entry in log {
        assert_eq!(entry["ExitCode"], 1, "{entry:#}");
        assert_eq!(entry["Output"], "not ready", "{entry:#}");
        for key in ["Start", "End"] {
            let t = entry[key].as_str().unwrap_or_default();
            assert!(t.starts_with("20") && t.ends_with('Z'), "{key}: {entry:#}");
        }
    }
    assert_eq!(
        v["Config"]["Healthcheck"],
        serde_json::json!({
            "Test": ["CMD-SHELL", "echo not ready; exit 1"],
            "Interval": 1_000_000_000u64,
            "Timeout": 30_000_000_000u64,
            "Retries": 3,
        })
    );
    assert_eq!(v["Config"]["HealthcheckOnFailureAction"], "none");
    // Podman 4.3's older name, for templates.
    assert_eq!(
        inspect(
            &env,
            "sick",
            "{{.State.Healthcheck.Status}} {{.State.Health.Status}}"
        ),
        "unhealthy unhealthy"
    );
    // Only its status says so: `none` is the default action.
    assert_eq!(inspect(&env, "sick", "{{.State.Status}}"), "running");
    assert_eq!(filtered(&env, "health=unhealthy"), ["sick"]);
    assert!(filtered(&env, "health=healthy").is_empty());
    env.hutch(&["ps", "--filter", "health=sickly"])
        .tool_error(&["health=sickly", "starting, healthy, unhealthy or none"]);
    env.hutch(&["rm", "-fa", "-t0"]).success();
}

/// A passing check makes the container `healthy`; `health=none` is the
/// container without a check.
#[test]
fn issue14_health_a_passing_check_shows_healthy() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "fine",
        "--health-cmd",
        "true",
        "--health-interval",
        "1s",
        &img,
        "sleep",
        "300",
    ])
    .success();
    env.hutch(&["run", "-d", "--name", "plain", &img, "sleep", "300"])
        .success();
    wait_health(&env, "fine", "healthy", Duration::from_secs(4));
    let status = ps_status(&env, "fine").unwrap_or_else(|e| panic!("{e}"));
    assert!(status.starts_with("Up "), "{status}");
    let plain = ps_status(&env, "plain").unwrap_or_else(|e| panic!("{e}"));
    assert!(!plain.contains('('), "no check, no health: {plain:?}");
    assert_eq!(filtered(&env, "health=healthy"), ["fine"]);
    assert_eq!(filtered(&env, "health=none"), ["plain"]);
    let v = inspect_json(&env, "fine");
    assert_eq!(v["State"]["Health"]["FailingStreak"], 0, "{v:#}");
    assert_eq!(v["State"]["Health"]["Log"][0]["ExitCode"], 0, "{v:#}");
    // No check: Podman's empty health and no .Config.Healthcheck.
    let v = inspect_json(&env, "plain");
    assert_eq!(
        v["State"]["Health"],
        serde_json::json!({"Status": "", "FailingStreak": 0, "Log": null})
    );
    assert!(v["Config"].get("Healthcheck").is_none(), "{v:#}");
    // The JSON listing carries it too.
    let r = env.hutch(&["ps", "--format", "json"]).success();
    let rows = r.json();
    let fine = rows
        .as_array()
        .and_then(|a| a.iter().find(|c| c["Names"][0] == "fine"))
        .unwrap_or_else(|| r.fail("ps --format json lists no fine"));
    assert!(
        fine["Status"]
            .as_str()
            .is_some_and(|s| s.ends_with("(healthy)")),
        "{fine:#}"
    );
    env.hutch(&["rm", "-fa", "-t0"]).success();
}

/// `--health-on-failure=restart`: the monitor restarts a container that
/// turned unhealthy, whatever its restart policy, and `RestartCount`
/// grows; a `stop` by the user still stops it for good.
#[test]
fn issue14_health_on_failure_restart_restarts_the_container() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--health-cmd",
        "exit 1",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "--health-on-failure",
        "restart",
        &img,
        "sh",
        "-c",
        SERVICE,
    ])
    .success();
    let count = |env: &Env| inspect(env, "flaky", "{{.RestartCount}}");
    wait_for("a restart", Duration::from_secs(10), || {
        match count(&env).parse::<u32>() {
            Ok(n) if n >= 2 => Ok(n),
            other => Err(format!("RestartCount {other:?}")),
        }
    });
    assert_eq!(
        inspect(&env, "flaky", "{{.Config.HealthcheckOnFailureAction}}"),
        "restart"
    );
    env.hutch(&["stop", "flaky"]).success();
    let after = count(&env);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(inspect(&env, "flaky", "{{.State.Status}}"), "exited");
    assert_eq!(count(&env), after, "a stopped container was restarted");
    env.hutch(&["rm", "-fa", "-t0"]).success();
}

/// `healthcheck run`: exit codes and output as Podman 4.3's, and the
/// `kill` and `stop` actions applied when it turns the container
/// unhealthy.
#[test]
fn issue14_health_healthcheck_run_exit_codes_and_actions_match_podman() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    let run = |name: &str, flags: &[&str]| {
        let mut args = vec!["run", "-d", "--name", name, "--health-interval", "disable"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[&img, "sh", "-c", SERVICE]);
        env.hutch(&args).success();
    };
    run("pass", &["--health-cmd", "echo fine"]);
    run("fail", &["--health-cmd", "echo bad >&2; exit 7"]);
    run("none", &[]);
    run(
        "slow",
        &["--health-cmd", "sleep 5", "--health-timeout", "1s"],
    );
    run("gone", &["--health-cmd", "true"]);
    env.hutch(&["stop", "gone"]).success();
    // A pass prints nothing and exits 0, a failure `unhealthy` and 1.
    env.hutch(&["healthcheck", "run", "pass"])
        .success()
        .stdout_is("")
        .stderr_empty();
    env.hutch(&["healthcheck", "run", "fail"])
        .code(1)
        .stdout_is("unhealthy");
    let log = &inspect_json(&env, "fail")["State"]["Health"]["Log"][0];
    // Any failing code is recorded as 1, as in Podman; stderr is kept.
    assert_eq!(
        (log["ExitCode"].as_i64(), log["Output"].as_str()),
        (Some(1), Some("bad"))
    );
    let id = inspect(&env, "none", "{{.Id}}");
    env.hutch(&["healthcheck", "run", "none"])
        .tool_error(&[&format!("container {id} has no defined healthcheck")]);
    let id = inspect(&env, "gone", "{{.Id}}");
    env.hutch(&["healthcheck", "run", "gone"])
        .tool_error(&[&format!("container {id} is not running")]);
    env.hutch(&["healthcheck", "run", "nosuch"]).tool_error(&[
        "unable to look up nosuch to perform a health check",
        "no such container",
    ]);
    env.hutch(&["healthcheck", "run"])
        .tool_error(&["accepts 1 arg(s), received 0"]);
    // Past its timeout the check is killed, recorded with -1, and the
    // command fails as Podman's does.
    let start = Instant::now();
    env.hutch(&["healthcheck", "run", "slow"])
        .tool_error(&["healthcheck command exceeded timeout of 1s"]);
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the check was not killed"
    );
    let log = &inspect_json(&env, "slow")["State"]["Health"]["Log"][0];
    assert_eq!(log["ExitCode"], -1, "{log:#}");

    // Actions, once unhealthy (one failure with --health-retries 1).
    for action in ["kill", "stop"] {
        let name = format!("act-{action}");
        run(
            &name,
            &[
                "--health-cmd",
                "exit 1",
                "--health-retries",
                "1",
                "--health-on-failure",
                action,
            ],
        );
        env.hutch(&["healthcheck", "run", &name])
            .code(1)
            .stdout_is("unhealthy");
        assert_eq!(inspect(&env, &name, "{{.State.Status}}"), "exited");
        let status = ps_status(&env, &name).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            status.starts_with("Exited (") && status.ends_with("(unhealthy)"),
            "{action}: {status}"
        );
    }
    assert_eq!(inspect(&env, "act-kill", "{{.State.ExitCode}}"), "137");
    // With retries left, a failure does not act.
    run(
        "patient",
        &["--health-cmd", "exit 1", "--health-on-failure", "kill"],
    );
    env.hutch(&["healthcheck", "run", "patient"]).code(1);
    assert_eq!(
        inspect(
            &env,
            "patient",
            "{{.State.Status}} {{.State.Health.Status}}"
        ),
        "running starting"
    );
    env.hutch(&["rm", "-fa", "-t0"]).success();
}

/// The image's `HEALTHCHECK` (kept in its config by `hutch build`) is the
/// container's check; `--health-*` flags change it, `--health-cmd`
/// replaces it and `--no-healthcheck` turns it off.
#[test]
fn issue14_health_the_images_healthcheck_is_used_and_flags_override_it() {
    let env = Env::new();
    let ctx = crate::issue15_build::context(
        &env,
        "ctx",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nHEALTHCHECK --interval=1s --timeout=3s CMD echo from image; exit 3\n",
        )],
    );
    crate::issue15_build::build(&env, &ctx, &["-q", "-t", "localhost/checked"]).success();
    let want = serde_json::json!({
        "Test": ["CMD-SHELL", "echo from image; exit 3"],
        "Interval": 1_000_000_000u64,
        "Timeout": 3_000_000_000u64,
    });
    assert_eq!(
        crate::issue15_build::inspect(&env, "localhost/checked")["Config"]["Healthcheck"],
        want
    );
    let create = |name: &str, flags: &[&str]| {
        let mut args = vec!["create", "--name", name];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["localhost/checked", "sh", "-c", SERVICE]);
        env.hutch(&args).success();
        inspect_json(&env, name)["Config"]["Healthcheck"].clone()
    };
    // The image's unset retries take the default, 3.
    let mut image_check = want.clone();
    image_check["Retries"] = 3.into();
    assert_eq!(create("img", &[]), image_check);
    let mut tuned = image_check.clone();
    tuned["Retries"] = 1.into();
    tuned["StartPeriod"] = 2_000_000_000u64.into();
    assert_eq!(
        create(
            "tuned",
            &["--health-retries", "1", "--health-start-period", "2s"]
        ),
        tuned
    );
    assert_eq!(
        create("own", &["--health-cmd", "true"]),
        serde_json::json!({
            "Test": ["CMD-SHELL", "true"],
            "Interval": 30_000_000_000u64,
            "Timeout": 30_000_000_000u64,
            "Retries": 3,
        })
    );
    assert_eq!(
        create("off", &["--no-healthcheck"]),
        serde_json::json!({"Test": ["NONE"]})
    );
    assert_eq!(
        create("none", &["--health-cmd", "none"])["Test"],
        serde_json::json!(["NONE"])
    );
    // The image's check runs, on its own interval, and fails.
    env.hutch(&["start", "img", "off"]).success();
    wait_health(&env, "img", "unhealthy", Duration::from_secs(6));
    let log = &inspect_json(&env, "img")["State"]["Health"]["Log"][0];
    assert_eq!(log["Output"], "from image", "{log:#}");
    let id = inspect(&env, "off", "{{.Id}}");
    env.hutch(&["healthcheck", "run", "off"])
        .tool_error(&[&format!("container {id} has no defined healthcheck")]);
    let status = ps_status(&env, "off").unwrap_or_else(|e| panic!("{e}"));
    assert!(!status.contains('('), "{status}");
    env.hutch(&["rm", "-fa", "-t0"]).success();
}

/// A foreground `run` is its container's monitor: a helper of its own
/// keeps the check timer while it runs, and goes with it.
#[test]
fn issue14_health_a_foreground_run_is_checked_too() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    let fg = env.spawn(&[
        "run",
        "--name",
        "fg",
        "--health-cmd",
        "test -e /tmp/ready",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        &img,
        "sh",
        "-c",
        "sleep 2; touch /tmp/ready; sleep 3; echo done",
    ]);
    wait_health(&env, "fg", "unhealthy", Duration::from_secs(4));
    wait_health(&env, "fg", "healthy", Duration::from_secs(4));
    fg.wait().success().stdout_is("done");
    let status = ps_status(&env, "fg").unwrap_or_else(|e| panic!("{e}"));
    assert!(
        status.starts_with("Exited (0)") && status.ends_with("(healthy)"),
        "{status}"
    );
    let left = std::process::Command::new("pgrep")
        .args([
            "-u",
            &crate::common::current_user().1.to_string(),
            "-f",
            "container-health",
        ])
        .output()
        .expect("running pgrep");
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "the health timer outlived its run: pids {}",
        String::from_utf8_lossy(&left.stdout)
    );
    env.hutch(&["rm", "-fa", "-t0"]).success();
}

/// Bad values fail before anything is created, in Podman's words, on
/// every command that takes the flags.
#[test]
fn issue14_health_bad_flags_fail_in_podmans_words_on_run_and_create() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    let cases: &[(&[&str], &str)] = &[
        (
            &["--no-healthcheck", "--health-cmd", "true"],
            "cannot specify both --no-healthcheck and --health-cmd",
        ),
        (
            &["--health-cmd", "true", "--health-interval", "soon"],
            r#"invalid healthcheck-interval: time: invalid duration "soon""#,
        ),
        (
            &["--health-cmd", "true", "--health-retries", "0"],
            "healthcheck-retries must be greater than 0",
        ),
        (
            &["--health-cmd", "true", "--health-timeout", "0s"],
            "healthcheck-timeout must be at least 1 second",
        ),
        (
            &["--health-cmd", "true", "--health-start-period", "-1s"],
            "healthcheck-start-period must be 0 seconds or greater",
        ),
        (
            &["--health-cmd", "true", "--health-on-failure", "panic"],
            r#"invalid on-failure action "panic" for health check: supported actions are none,kill,restart,stop"#,
        ),
        (
            &["--health-on-failure", "kill"],
            "cannot set on-failure action to kill without a health check",
        ),
    ];
    for command in [
        &["run"][..],
        &["create"],
        &["container", "run"],
        &["container", "create"],
    ] {
        for (flags, message) in cases {
            let mut args: Vec<&str> = command.to_vec();
            args.extend_from_slice(flags);
            args.extend_from_slice(&[&img, "true"]);
            env.hutch(&args).tool_error(&[message]);
        }
    }
    env.hutch(&["ps", "-aq"]).success().stdout_is("");
}
