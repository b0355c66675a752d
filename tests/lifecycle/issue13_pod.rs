//! Issue #13: `hutch pod` against Podman 4.3's: a pod is `Created` until
//! it or its first container starts, `pod create`'s options reach the
//! members, pods without an infra, `--share`, `--exit-policy stop`,
//! `--pod-id-file`, `--replace`, `run --pod new:NAME`, `pod top`, `pod
//! stats`, `pod pause` on a host without cgroup v2, and `--latest`.
//! Comparisons of output and exit codes with Podman itself are in
//! tests/compat/issue13_pod.rs.

use super::common::{image, wait_for, Env};
use super::pods::{pod_create, run_in_pod, PodCleanup};
use super::{is_alive, proc_stat, setup, Cleanup, SETTLE};

/// The pod's status as `pod ps` shows it.
fn status(env: &Env, pod: &str) -> String {
    let r = env
        .hutch(&[
            "pod",
            "ps",
            "--filter",
            &format!("name={pod}"),
            "--format",
            "{{.Status}}",
        ])
        .success();
    r.stdout.trim().to_string()
}

/// Waits until pod `pod` shows `want`.
#[track_caller]
fn wait_status(env: &Env, pod: &str, want: &str) {
    wait_for(
        &format!("pod {pod} to be {want}"),
        SETTLE,
        || match status(env, pod) {
            s if s == want => Ok(()),
            s => Err(format!("it is {s:?}")),
        },
    );
}

/// The pod's record as JSON.
fn record(env: &Env, id: &str) -> serde_json::Value {
    let path = env.store().join("pods").join(id).join("pod.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("pod record is JSON")
}

/// `run --rm --pod POD busybox sh -c SCRIPT`, which must succeed; its
/// stdout.
#[track_caller]
fn run_rm(env: &Env, pod: &str, script: &str) -> String {
    let img = image("busybox");
    env.hutch(&["run", "--rm", "--pod", pod, &img, "sh", "-c", script])
        .success()
        .stdout
}

#[test]
fn issue13_pod_is_created_until_it_or_its_first_member_starts() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let pidfile = env.home.join("monitor.pid");
    let id = pod_create(
        &env,
        &[
            "--name",
            "lazy",
            "--infra-conmon-pidfile",
            pidfile.to_str().unwrap(),
        ],
    );
    // Podman's pod create starts nothing.
    assert_eq!(status(&env, "lazy"), "Created");
    assert!(record(&env, &id)["infra"].is_null(), "no infra yet");
    assert!(!pidfile.exists(), "no monitor yet");
    run_in_pod(&env, "lazy", "first", "exec sleep 600");
    assert_eq!(status(&env, "lazy"), "Running");
    let infra = &record(&env, &id)["infra"];
    let monitor = infra["monitor_pid"].as_i64().expect("monitor pid") as i32;
    let written = std::fs::read_to_string(&pidfile).expect("the pid file");
    assert_eq!(
        written.trim(),
        monitor.to_string(),
        "--infra-conmon-pidfile"
    );
    assert!(proc_stat(monitor).is_some(), "the infra monitor runs");
    // pod start of a created pod without members starts its infra.
    let other = pod_create(&env, &["--name", "empty"]);
    env.hutch(&["pod", "start", "empty"])
        .success()
        .stdout_is(&other);
    assert_eq!(status(&env, "empty"), "Running");
    env.hutch(&["pod", "stop", "empty"])
        .success()
        .stdout_is(&other);
    assert_eq!(status(&env, "empty"), "Exited");
}

#[test]
fn issue13_pod_create_options_reach_every_member() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let shared = env.home.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("note"), "from the host\n").unwrap();
    let labels = env.home.join("labels");
    std::fs::write(&labels, "# labels\ntier=web\n").unwrap();
    let volume = format!("{}:/shared:ro", shared.display());
    pod_create(
        &env,
        &[
            "--name",
            "opts",
            "--hostname",
            "podhost",
            "--dns",
            "192.0.2.53",
            "--dns-search",
            "example.test",
            "--add-host",
            "db:192.0.2.9",
            "-v",
            &volume,
            "--label",
            "owner=me",
            "--label-file",
            labels.to_str().unwrap(),
        ],
    );
    let out = run_rm(
        &env,
        "opts",
        "hostname; cat /etc/resolv.conf; grep db /etc/hosts; cat /shared/note",
    );
    for want in [
        "podhost\n",
        "nameserver 192.0.2.53",
        "search example.test",
        "192.0.2.9",
        "from the host",
    ] {
        assert!(out.contains(want), "a member should see {want:?}:\n{out}");
    }
    // A member's own --dns wins over the pod's.
    let img = image("busybox");
    let r = env
        .hutch(&[
            "run",
            "--rm",
            "--pod",
            "opts",
            "--dns",
            "192.0.2.54",
            &img,
            "cat",
            "/etc/resolv.conf",
        ])
        .success();
    if !r.stdout.contains("192.0.2.54") || r.stdout.contains("192.0.2.53") {
        r.fail("the member's --dns should replace the pod's");
    }
    let v = env.hutch(&["pod", "inspect", "opts"]).success().json();
    assert_eq!(v["Hostname"], "podhost", "{v}");
    assert_eq!(v["Labels"]["tier"], "web", "{v}");
    assert_eq!(v["Labels"]["owner"], "me", "{v}");
    assert_eq!(v["InfraConfig"]["DNSServer"][0], "192.0.2.53", "{v}");
    assert_eq!(v["InfraConfig"]["HostAdd"][0], "db:192.0.2.9", "{v}");
    assert_eq!(
        v["SharedNamespaces"],
        serde_json::json!(["ipc", "net", "uts"])
    );
    env.hutch(&[
        "pod",
        "ps",
        "--filter",
        "label=tier=web",
        "--format",
        "{{.Name}}",
    ])
    .success()
    .stdout_is("opts");
}

#[test]
fn issue13_pod_share_leaves_unshared_namespaces_to_each_member() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let show = "for n in net uts ipc; do readlink /proc/self/ns/$n; done; exec sleep 600";
    let logs = |pod: &str| -> Vec<Vec<String>> {
        let r = env.hutch(&["pod", "logs", pod]).success();
        let mut by_member: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for line in r.stdout.lines() {
            let (who, ns) = line
                .split_once(' ')
                .unwrap_or_else(|| r.fail("a prefixed line"));
            by_member.entry(who.into()).or_default().push(ns.into());
        }
        by_member.into_values().collect()
    };
    for (pod, share, is_uts_shared) in [("all", None, true), ("some", Some("ipc,net"), false)] {
        let mut args = vec!["--name", pod];
        if let Some(s) = share {
            args.extend(["--share", s]);
        }
        pod_create(&env, &args);
        run_in_pod(&env, pod, &format!("{pod}1"), show);
        run_in_pod(&env, pod, &format!("{pod}2"), show);
        let got = wait_for("both members' namespaces", SETTLE, || match logs(pod) {
            l if l.len() == 2 && l.iter().all(|m| m.len() == 3) => Ok(l),
            l => Err(format!("{l:?}")),
        });
        assert_eq!(got[0][0], got[1][0], "{pod}: the network is shared");
        assert_eq!(got[0][2], got[1][2], "{pod}: IPC is shared");
        assert_eq!(got[0][1] == got[1][1], is_uts_shared, "{pod}: UTS {got:?}");
    }
    // hutch cannot share the PID namespace, nor leave out the network.
    for bad in ["pid", "ipc,uts"] {
        env.hutch(&["pod", "create", "--share", bad])
            .tool_error(&["--share", "always share net"]);
    }
}

#[test]
fn issue13_pod_exit_policy_stop_ends_the_pod_with_its_last_member() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    pod_create(&env, &["--name", "brief", "--exit-policy", "stop"]);
    run_rm(&env, "brief", "true");
    wait_status(&env, "brief", "Exited");
    // The same through a detached member's monitor.
    run_in_pod(&env, "brief", "short", "sleep 1");
    wait_status(&env, "brief", "Exited");
    pod_create(&env, &["--name", "stays"]);
    run_rm(&env, "stays", "true");
    assert_eq!(status(&env, "stays"), "Running", "continue is the default");
    env.hutch(&["pod", "inspect", "brief", "--format", "{{.ExitPolicy}}"])
        .success()
        .stdout_is("stop");
}

#[test]
fn issue13_pod_id_file_and_replace() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let file = env.home.join("pod.id");
    let f = file.to_str().unwrap();
    let id = pod_create(&env, &["--name", "kept", "--pod-id-file", f]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), id);
    env.hutch(&["pod", "create", "--name", "other", "--pod-id-file", f])
        .tool_error(&["pod id file exists", f]);
    env.hutch(&["pod", "exists", "other"]).code(1);
    // The id file names the pod for start, stop and rm.
    env.hutch(&["pod", "start", "--pod-id-file", f])
        .success()
        .stdout_is(&id);
    let member = run_in_pod(&env, "kept", "inside", "exec sleep 600");
    let (pid, start) = {
        let r = env
            .hutch(&["inspect", "-f", "{{.State.Pid}}", &member])
            .success();
        let pid: i32 = r.stdout.trim().parse().expect("a pid");
        (pid, proc_stat(pid).expect("the member runs")[19].clone())
    };
    let new = pod_create(&env, &["--name", "kept", "--replace"]);
    assert_ne!(new, id);
    wait_for("the replaced pod's member to end", SETTLE, || {
        if is_alive(pid, &start) {
            Err("it still runs".to_string())
        } else {
            Ok(())
        }
    });
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
    assert_eq!(status(&env, "kept"), "Created");
    env.hutch(&["pod", "rm", "--pod-id-file", f])
        .error_exit(1, &["no pod with name or ID"]);
}

#[test]
fn issue13_pod_without_infra_groups_containers_with_their_own_namespaces() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let id = pod_create(&env, &["--name", "loose", "--infra=false"]);
    env.hutch(&["pod", "start", "loose"])
        .tool_error(&["no containers in pod", "cannot start pod"]);
    let member = run_in_pod(&env, "loose", "alone", "hostname; exec sleep 600");
    // Its own UTS namespace, named after itself, and no infra anywhere.
    wait_for("the member's host name", SETTLE, || {
        let r = env.hutch(&["logs", "alone"]).success();
        match r.stdout.trim() {
            h if member.starts_with(h) && !h.is_empty() => Ok(()),
            h => Err(format!("logs say {h:?}")),
        }
    });
    assert!(record(&env, &id)["infra"].is_null());
    assert_eq!(status(&env, "loose"), "Running");
    env.hutch(&[
        "pod",
        "inspect",
        "loose",
        "--format",
        "{{.CreateInfra}} {{.SharedNamespaces}}",
    ])
    .success()
    .stdout_is("false []");
    env.hutch(&["pod", "stop", "-t", "0", "loose"])
        .success()
        .stdout_is(&id);
    assert_eq!(status(&env, "loose"), "Exited");
    // --share none has no infra either.
    pod_create(&env, &["--name", "bare", "--share", "none"]);
    env.hutch(&["pod", "inspect", "bare", "--format", "{{.CreateInfra}}"])
        .success()
        .stdout_is("false");
}

#[test]
fn issue13_pod_run_pod_new_creates_the_pod_first() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    assert_eq!(run_rm(&env, "new:fresh", "hostname").trim(), "fresh");
    env.hutch(&["pod", "exists", "fresh"]).success();
    let img = image("busybox");
    env.hutch(&["run", "--rm", "--pod", "new:fresh", &img, "true"])
        .tool_error(&["pod name fresh is already in use"]);
    env.hutch(&["run", "--rm", "--pod", "new:../x", &img, "true"])
        .tool_error(&["../x"]);
}

#[test]
fn issue13_pod_top_lists_the_members_processes() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    pod_create(&env, &["--name", "busy"]);
    run_in_pod(&env, "busy", "b1", "exec sleep 601");
    run_in_pod(&env, "busy", "b2", "exec sleep 602");
    let r = env.hutch(&["pod", "top", "busy", "pid", "args"]).success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    if lines.len() != 3 || !lines[0].starts_with("PID") {
        r.fail("a header and one line per member");
    }
    for want in ["sleep 601", "sleep 602"] {
        if !r.stdout.contains(want) {
            r.fail(&format!("pod top should show {want:?}"));
        }
    }
    // --latest: every argument is a descriptor.
    env.hutch(&["pod", "top", "-l", "args"])
        .success()
        .stdout_has("sleep 602");
    env.hutch(&["pod", "top", "busy", "bogus"])
        .tool_error(&["bogus"]);
}

/// Fails unless /sys/fs/cgroup is cgroup v1 or hybrid (as on the host
/// tier; cgroup v2 is tested in the guest tier).
fn assert_not_unified() {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    let unified = mounts
        .lines()
        .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 "));
    assert!(!unified, "this test expects a cgroup v1 or hybrid host");
}

#[test]
fn issue13_pod_pause_and_stats_explain_a_host_without_cgroups() {
    assert_not_unified();
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let id = pod_create(&env, &["--name", "frozen"]);
    // Nothing runs: stats has a row of dashes, as Podman's.
    let r = env
        .hutch(&["pod", "stats", "--no-stream", "frozen"])
        .success();
    if !r
        .stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .starts_with("--")
    {
        r.fail("an empty pod's stats should be one row of --");
    }
    let member = run_in_pod(&env, "frozen", "m", "exec sleep 600");
    env.hutch(&["pod", "pause", "frozen"])
        .tool_error(&["pausing container", &member, "no cgroup of its own"])
        .stderr_has("Hint:");
    assert_eq!(status(&env, "frozen"), "Running");
    // A pod that is not paused is left out of unpause, as in Podman.
    env.hutch(&["pod", "unpause", "frozen"])
        .success()
        .stdout_is("");
    env.hutch(&["pod", "stats", "--no-stream", "frozen"])
        .tool_error(&["no cgroup of its own"]);
    env.hutch(&["pod", "kill", "frozen"])
        .success()
        .stdout_is(&id);
    assert_eq!(status(&env, "frozen"), "Exited");
}

#[test]
fn issue13_pod_all_and_latest_select_pods() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let first = pod_create(&env, &["--name", "first"]);
    let last = pod_create(&env, &["--name", "last"]);
    env.hutch(&["pod", "start", "-l"])
        .success()
        .stdout_is(&last);
    assert_eq!(status(&env, "first"), "Created");
    env.hutch(&["pod", "inspect", "-l", "--format", "{{.Name}}"])
        .success()
        .stdout_is("last");
    env.hutch(&["pod", "ps", "-l", "--format", "{{.Name}}"])
        .success()
        .stdout_is("last");
    let r = env.hutch(&["pod", "start", "-a"]).success();
    let mut started: Vec<&str> = r.stdout.lines().collect();
    started.sort_unstable();
    let mut want = vec![first.as_str(), last.as_str()];
    want.sort_unstable();
    assert_eq!(started, want, "pod start -a");
    env.hutch(&["pod", "restart", "-a"]).success();
    env.hutch(&["pod", "kill", "-a"]).success();
    assert_eq!(status(&env, "first"), "Exited");
    // Several inspected pods are an array; a missing one fails the command.
    let r = env.hutch(&["pod", "inspect", "first", "last"]).success();
    assert_eq!(r.json().as_array().map(Vec::len), Some(2), "{}", r.stdout);
    env.hutch(&["pod", "inspect", "first", "nope"])
        .tool_error(&["inspecting object: no such pod nope"])
        .stdout_has("\"Name\": \"first\"");
    // The default table with the container columns, as Podman's.
    let r = env
        .hutch(&["pod", "ps", "--ctr-names", "--ctr-status", "--ns"])
        .success();
    let header: Vec<&str> = r
        .stdout
        .lines()
        .next()
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "POD ID",
            "NAME",
            "STATUS",
            "CREATED",
            "INFRA ID",
            "NAMES",
            "STATUS",
            "CGROUP",
            "NAMESPACES"
        ],
        "{}",
        r.stdout
    );
    let r = env.hutch(&["pod", "ps", "--noheading"]).success();
    if r.stdout.lines().count() != 2 || r.stdout.contains("POD ID") {
        r.fail("--noheading: two rows, no header");
    }
    env.hutch(&["pod", "prune", "-f"]).success();
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
}
