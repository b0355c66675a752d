//! Issue #20, items 4, 10, 11 and 12: `wait` for every state as Podman
//! 4.3 does, `logs -f` of exited and of several containers, a monitor
//! whose memory stays bounded however fast its container writes, and
//! `kill` that returns only once the exit is recorded.

use std::process::ChildStdout;

use super::*;

/// The most private resident memory (anonymous and shared, the binary's
/// file pages aside) a monitor may use while its container writes without
/// pause: buffering would show there. The whole RSS of Podman's conmon
/// stays near 2.5 MB.
const MAX_MONITOR_RSS_KIB: u64 = 4 * 1024;

/// `create --name NAME busybox CMD`, which must succeed.
#[track_caller]
fn create(env: &Env, name: &str, cmd: &[&str]) {
    let img = image("busybox");
    let mut all = vec!["create", "--name", name, img.as_str()];
    all.extend_from_slice(cmd);
    env.hutch(&all).success();
}

/// The pid of container `name`'s monitor: the parent of its init.
#[track_caller]
fn monitor_pid(env: &Env, name: &str) -> i32 {
    let pid: i32 = inspect_field(env, name, "{{.State.Pid}}")
        .parse()
        .expect("inspect prints a numeric pid");
    let stat = proc_stat(pid).unwrap_or_else(|| panic!("container process {pid} should exist"));
    let monitor: i32 = stat[1].parse().expect("ppid is numeric");
    let cmdline = std::fs::read(format!("/proc/{monitor}/cmdline")).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("container-monitor"),
        "the parent {monitor} of container {name} should be its monitor"
    );
    monitor
}

/// The private resident memory of process `pid` in KiB (RssAnon and
/// RssShmem), or `None` once it is gone.
fn rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    // The monitor's own memory: what it allocated and what it maps
    // shared, not the pages of hutch's binary the kernel keeps resident,
    // which grow with the binary and not with what a container writes.
    Some(field("RssAnon:")? + field("RssShmem:")?)
}

/// Samples the RSS of `pid` every 50 ms until it exits or `limit` passes;
/// returns the largest sample and how many there were.
fn peak_rss_until_exit(pid: i32, limit: Duration) -> (u64, usize) {
    let deadline = Instant::now() + limit;
    let (mut peak, mut samples) = (0, 0);
    while let Some(kib) = rss_kib(pid) {
        peak = peak.max(kib);
        samples += 1;
        if Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (peak, samples)
}

/// The size of container `id`'s current log file.
fn log_size(env: &Env, id: &str) -> u64 {
    let path = env.store().join("containers").join(id).join("ctr.log");
    std::fs::metadata(&path)
        .unwrap_or_else(|e| panic!("reading the size of {}: {e}", path.display()))
        .len()
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
        .tool_error(&["no container with name or ID \"nope\" found: no such container"]);
    // A missing name fails before any waiting: nothing is printed.
    let r = env
        .hutch(&["wait", "three", "nope"])
        .tool_error(&["no container with name or ID \"nope\" found: no such container"]);
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

// --- item 10: logs -f -------------------------------------------------------

#[test]
fn issue20_logs_follow_of_exited_and_several_containers_prints_all_and_returns() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let a = run_d(&env, "a", &["sh", "-c", "echo a1; echo a2 >&2; echo a3"]);
    let b = run_d(&env, "b", &["sh", "-c", "echo b1; echo b2"]);
    for name in ["a", "b"] {
        env.hutch_timeout(&["wait", name], WAIT_LIMIT).success();
    }
    let limit = Duration::from_secs(10);
    env.hutch_timeout(&["logs", "-f", "a"], limit)
        .success()
        .stdout_is("a1\na3");
    // One container: --names adds nothing, as in Podman.
    env.hutch_timeout(&["logs", "-f", "-n", "b"], limit)
        .success()
        .stdout_is("b1\nb2");
    let (sa, sb) = (&a[..12], &b[..12]);
    let r = env
        .hutch_timeout(&["logs", "-f", "a", "b"], limit)
        .success();
    assert_eq!(
        r.stdout,
        format!("{sa} a1\n{sa} a3\n{sb} b1\n{sb} b2\n"),
        "{r}"
    );
    assert!(r.stderr.contains(&format!("{sa} a2\n")), "{r}");
    let r = env.hutch_timeout(&["logs", "a", "b"], limit).success();
    assert_eq!(
        r.stdout,
        format!("{sa} a1\n{sa} a3\n{sb} b1\n{sb} b2\n"),
        "{r}"
    );
    let r = env
        .hutch_timeout(&["logs", "-f", "--names", "a", "b"], limit)
        .success();
    assert_eq!(r.stdout, "a a1\na a3\nb b1\nb b2\n", "{r}");
    assert!(r.stderr.contains("a a2\n"), "{r}");
    let r = env
        .hutch_timeout(&["logs", "-n", "-t", "a", "b"], limit)
        .success();
    for l in r.stdout.lines() {
        let mut f = l.splitn(3, ' ');
        let (name, ts) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
        assert!(
            ["a", "b"].contains(&name) && ts.ends_with('Z'),
            "expected `NAME TIMESTAMP TEXT`, got {l:?}: {r}"
        );
    }

    // One still running: follow them all until the last has exited.
    run_d(&env, "r", &["sh", "-c", "echo r1; sleep 2; echo r2"]);
    wait_for_log_line(&env, "r", "r1");
    let r = env
        .hutch_timeout(&["logs", "-f", "-n", "a", "r", "b"], WAIT_LIMIT)
        .success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    for want in ["a a1", "a a3", "b b1", "b b2", "r r1", "r r2"] {
        assert!(lines.contains(&want), "missing {want:?}: {r}");
    }
    assert_eq!(lines.last(), Some(&"r r2"), "{r}");
    env.hutch(&["logs", "-f", "a", "nope"])
        .tool_error(&["no container with name or ID \"nope\" found: no such container"]);
}

// --- item 11: the monitor's memory -----------------------------------------

/// Runs `cmd` detached with `flags` and returns the peak RSS of its
/// monitor while the container runs (at most `limit`), and its id.
fn monitor_peak(
    env: &Env,
    name: &str,
    flags: &[&str],
    cmd: &str,
    limit: Duration,
) -> (u64, String) {
    let img = image("busybox");
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[img.as_str(), "sh", "-c", cmd]);
    let id = expect_id(&env.hutch_closing(&args).success());
    let monitor = monitor_pid(env, name);
    let (peak, samples) = peak_rss_until_exit(monitor, limit);
    assert!(
        samples > 3,
        "only {samples} RSS samples of the monitor of {name}"
    );
    (peak, id)
}

#[test]
fn issue20_monitor_memory_stays_bounded_while_a_container_logs_1g() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    // `y` lines are 2 bytes and 42 in the log: 1 GiB of records, written
    // faster than the monitor can write them.
    let cmd = "yes | head -c 51200000";
    let limit = Duration::from_secs(240);
    let (peak, id) = monitor_peak(&env, "big", &[], cmd, limit);
    let size = log_size(&env, &id);
    assert!(size >= 1 << 30, "the log holds {size} bytes, not 1 GiB");
    assert!(
        peak < MAX_MONITOR_RSS_KIB,
        "the monitor peaked at {peak} KiB while its container wrote 1 GiB of log"
    );
    env.hutch(&["logs", "--tail", "1", "big"])
        .success()
        .stdout_is("y");
    env.hutch(&["rm", "big"]).success();

    let (peak, id) = monitor_peak(&env, "rot", &["--log-opt", "max-size=16m"], cmd, limit);
    let dir = env.store().join("containers").join(&id);
    assert!(dir.join("ctr.log.1").exists(), "the log was not rotated");
    assert!(
        peak < MAX_MONITOR_RSS_KIB,
        "the monitor with max-size=16m peaked at {peak} KiB while its container wrote 1 GiB of log"
    );
    env.hutch(&["rm", "rot"]).success();
}

#[test]
fn issue20_monitor_memory_stays_bounded_for_a_yes_container() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    for (name, flags) in [("yes", &[][..]), ("yesrot", &["--log-opt", "max-size=1m"])] {
        let img = image("busybox");
        let mut args = vec!["run", "-d", "--name", name];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[img.as_str(), "yes"]);
        env.hutch_closing(&args).success();
        let monitor = monitor_pid(&env, name);
        let (peak, samples) = peak_rss_until_exit(monitor, Duration::from_secs(3));
        assert!(samples > 3, "only {samples} RSS samples");
        assert!(
            peak < MAX_MONITOR_RSS_KIB,
            "the monitor of `yes` ({flags:?}) peaked at {peak} KiB within 3 s"
        );
        env.hutch(&["rm", "-f", name]).success();
    }
}

/// Spawns `hutch attach --no-stdin name` with a stdout nobody reads.
fn stuck_attach(env: &Env, name: &str) -> (std::process::Child, ChildStdout) {
    let args = ["attach", "--no-stdin", name];
    let mut c = env.command(&args);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("starting hutch attach");
    let out = child.stdout.take().expect("stdout is piped");
    (child, out)
}

#[test]
fn issue20_a_stuck_attach_client_holds_the_container_back_not_the_monitor() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let id = run_d(&env, "fast", &["yes"]);
    let monitor = monitor_pid(&env, "fast");
    let (mut client, unread) = stuck_attach(&env, "fast");
    // The client's pipe, its socket and its backlog fill within moments;
    // from then on the container waits for it.
    std::thread::sleep(Duration::from_secs(1));
    let held = log_size(&env, &id);
    let (peak, _) = peak_rss_until_exit(monitor, Duration::from_secs(1));
    let after = log_size(&env, &id);
    assert!(
        client.try_wait().expect("polling attach").is_none(),
        "the slow attach client was dropped"
    );
    assert!(
        after - held < 1 << 20,
        "the log grew by {} bytes in 1 s while an attach client took nothing",
        after - held
    );
    assert!(
        peak < MAX_MONITOR_RSS_KIB,
        "the monitor peaked at {peak} KiB"
    );
    // Gone, it holds nothing back.
    let _ = client.kill();
    let _ = client.wait();
    drop(unread);
    wait_for("the log to grow again", SETTLE, || {
        let now = log_size(&env, &id);
        if now > after + (1 << 20) {
            Ok(())
        } else {
            Err(format!("{now} bytes, {after} before"))
        }
    });
    env.hutch(&["rm", "-f", "fast"]).success();
}
