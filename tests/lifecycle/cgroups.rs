//! The host tier of resource limits (issue #5): this build machine has a
//! hybrid cgroup layout, where containers run without limits after one
//! warning and limit flags are refused. The cgroup v2 tier runs in a guest
//! (tests/vm/guest-cgroups.sh).

use super::common::{image, CGROUP_WARNING};
use super::{run_d, setup, Cleanup};

/// Fails unless this host is the hybrid (or v1) kind the tier is about.
fn assert_not_unified() {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    let unified = mounts
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    assert!(
        !unified,
        "this test expects a cgroup v1 or hybrid host; pure cgroup v2 is tested in the guest tier"
    );
}

#[test]
fn a_plain_run_warns_once_per_boot_naming_the_layout() {
    assert_not_unified();
    let env = setup();
    let img = image("busybox");
    let r = env.hutch(&["run", "--rm", &img, "true"]).success();
    let warnings: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("Warning:"))
        .collect();
    if warnings.len() != 1
        || !warnings[0].starts_with(CGROUP_WARNING)
        || !warnings[0].contains("v1")
    {
        r.fail("expected exactly one Warning: line about the cgroup layout");
    }
    // The run directory remembers: the next run is quiet.
    let r = env.hutch(&["run", "--rm", &img, "true"]).success();
    if !r.stderr.trim().is_empty() {
        r.fail("expected no second warning");
    }
}

#[test]
fn limits_are_refused_before_anything_is_created() {
    assert_not_unified();
    let env = setup();
    let img = image("busybox");
    for flags in [
        &["--memory", "32m"][..],
        &["--cpus", "0.5"],
        &["--cpu-shares", "512"],
        &["--cpuset-cpus", "0"],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[img.as_str(), "true"]);
        env.hutch(&args)
            .tool_error(&["resource limits need cgroup v2", "v1"])
            .stderr_has("Hint:")
            .stderr_has("--cgroups=disabled");
    }
    let r = env.hutch(&["ps", "-a", "-q"]).success();
    if !r.stdout.trim().is_empty() {
        r.fail("a refused run must not leave a container");
    }
}

#[test]
fn cgroups_disabled_is_quiet_and_contradicts_limits() {
    let env = setup();
    let img = image("busybox");
    env.hutch(&["run", "--rm", "--cgroups=disabled", &img, "true"])
        .success()
        .stderr_empty();
    env.hutch(&[
        "run",
        "--rm",
        "--cgroups=disabled",
        "--memory",
        "32m",
        &img,
        "true",
    ])
    .tool_error(&["--cgroups=disabled", "contradict"]);
    env.hutch(&["run", "--rm", "--cgroups=sometimes", &img, "true"])
        .tool_error(&["invalid --cgroups"]);
}

#[test]
fn bad_limit_values_name_the_flag() {
    let env = setup();
    let img = image("busybox");
    for (flag, value) in [
        ("--memory", "lots"),
        ("--cpus", "many"),
        ("--cpuset-cpus", "3-1"),
        ("--blkio-weight", "5"),
        ("--device-read-bps", "/nonexistent:1mb"),
    ] {
        env.hutch(&[
            "run",
            "--rm",
            "--cgroups=disabled",
            flag,
            value,
            &img,
            "true",
        ])
        .tool_error(&[flag]);
    }
    env.hutch(&["run", "--rm", "--memory-swap", "1g", &img, "true"])
        .tool_error(&["--memory-swap", "--memory"]);
    env.hutch(&["run", "--rm", "--oom-kill-disable", &img, "true"])
        .tool_error(&["--oom-kill-disable", "cgroup v2"])
        .stderr_has("--memory");
}

#[test]
fn pause_stats_and_update_explain_a_container_without_a_cgroup() {
    assert_not_unified();
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "plain", &["sleep", "1000"]);
    for args in [
        &["pause", "plain"][..],
        &["unpause", "plain"],
        &["stats", "--no-stream", "plain"],
        &["update", "--memory", "64m", "plain"],
    ] {
        env.hutch(args)
            .tool_error(&["plain", "no cgroup of its own"])
            .stderr_has("cgroup v2");
    }
    env.hutch(&["update", "plain"])
        .tool_error(&["at least one limit"]);
    env.hutch(&["pause", "nosuch"])
        .tool_error(&["no such container"]);
}
