//! End-to-end tests of pods (issue #4): members share the infra's network
//! namespace and reach each other on localhost, ports are published on the
//! pod, `pod rm -f` leaves no process behind, and names and unknown pods
//! fail clearly.

use std::net::TcpStream;
use std::time::Duration;

use super::common::{image, require_tool, wait_for, Env};
use super::network::{free_port, http_get};
use super::{expect_id, is_alive, proc_stat, setup, Cleanup, SETTLE};

/// Podman's words for pod `nope` not existing (issue #13).
const NO_POD: &str = "no pod with name or ID nope found: no such pod";

/// Removes every pod of an environment when dropped (declare it after the
/// `Cleanup`, so it runs first), then kills any infra monitor of that store
/// that is still alive.
pub(super) struct PodCleanup<'a>(pub(super) &'a Env);

impl Drop for PodCleanup<'_> {
    fn drop(&mut self) {
        let env = self.0;
        let limit = Duration::from_secs(60);
        let left = env.hutch_timeout(&["pod", "ps", "-q"], limit);
        for id in left.stdout.lines().filter(|l| !l.trim().is_empty()) {
            let _ = env.hutch_timeout(&["pod", "rm", "-f", id.trim()], limit);
        }
        super::kill_leftover(&env.store(), "pod-infra");
    }
}

/// `pod create ARGS…`, which must succeed; the pod's id.
#[track_caller]
pub(super) fn pod_create(env: &Env, args: &[&str]) -> String {
    let mut all = vec!["pod", "create"];
    all.extend_from_slice(args);
    expect_id(&env.hutch_closing(&all).success())
}

/// `run -d --pod POD --name NAME busybox sh -c SCRIPT`; the container id.
#[track_caller]
pub(super) fn run_in_pod(env: &Env, pod: &str, name: &str, script: &str) -> String {
    let img = image("busybox");
    let r = env
        .hutch_closing(&[
            "run", "-d", "--pod", pod, "--name", name, &img, "sh", "-c", script,
        ])
        .success();
    expect_id(&r)
}

/// The pid and start time of a live process, failing if it is not running.
#[track_caller]
fn live(pid: i64, what: &str) -> (i32, String) {
    let pid = pid as i32;
    let stat = proc_stat(pid).unwrap_or_else(|| panic!("{what} (pid {pid}) is not running"));
    (pid, stat[19].clone())
}

#[test]
fn pod_members_reach_each_other_on_localhost() {
    require_tool("pasta");
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    pod_create(&env, &["--name", "duo"]);
    run_in_pod(
        &env,
        "duo",
        "server",
        "nc -l -p 9000 -e echo hello from the server",
    );
    // The server may not listen yet: the client retries for a while.
    let img = image("busybox");
    let client = "for i in $(seq 100); do \
                  nc 127.0.0.1 9000 </dev/null && exit 0; sleep 0.1; done; exit 1";
    let r = env
        .hutch(&["run", "--rm", "--pod", "duo", &img, "sh", "-c", client])
        .success();
    if !r.stdout.contains("hello from the server") {
        r.fail("the client should read the server's line over 127.0.0.1:9000");
    }
    // Members share the pod's UTS namespace, named after the pod.
    env.hutch(&["run", "--rm", "--pod", "duo", &img, "hostname"])
        .success()
        .stdout_is("duo");
    // A container outside the pod has its own loopback: nothing listens.
    run_in_pod(&env, "duo", "server2", "nc -l -p 9001 -e echo again");
    let r = env.hutch(&[
        "run",
        "--rm",
        &img,
        "sh",
        "-c",
        "sleep 1; nc 127.0.0.1 9001 </dev/null",
    ]);
    if r.stdout.contains("again") {
        r.fail("a container outside the pod should not reach the pod's localhost");
    }
    let pod_id = env
        .hutch(&["pod", "ps", "-q"])
        .success()
        .stdout
        .trim()
        .to_string();
    env.hutch(&["inspect", "-f", "{{.Pod}}", "server"])
        .success()
        .stdout_is(&pod_id);
    // One pod: one object, as Podman 4.3 prints it; the server has
    // exited after serving, so the pod is Degraded, as Podman's would be
    // (issue #13).
    let v = env.hutch(&["pod", "inspect", "duo"]).success().json();
    if v["NumContainers"] != 2 || v["State"] != "Degraded" {
        panic!("pod inspect should list 2 containers and Degraded: {v}");
    }
}

#[test]
fn pod_publishes_ports_and_rm_force_leaves_no_process() {
    require_tool("pasta");
    require_tool("slirp4netns");
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    for network in ["pasta", "slirp4netns"] {
        publish_and_remove(&env, network);
    }
}

/// A pod on `network` publishes a member's httpd; `pod rm -f` ends every
/// process of it and closes the port.
#[track_caller]
fn publish_and_remove(env: &Env, network: &str) {
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:80");
    let pod_id = pod_create(
        env,
        &["--name", "web", "--network", network, "-p", &publish],
    );
    let id = run_in_pod(
        env,
        "web",
        "httpd",
        "mkdir /www && echo hi from the pod > /www/index.html && exec httpd -f -p 80 -h /www",
    );
    let body = wait_for(
        &format!("{network}: the pod's published port to serve"),
        SETTLE,
        || http_get(port),
    );
    assert_eq!(body.trim(), "hi from the pod");

    // Every process of the pod, from its record and the container's.
    let record = env.store().join("pods").join(&pod_id).join("pod.json");
    let text = std::fs::read_to_string(&record)
        .unwrap_or_else(|e| panic!("reading {}: {e}", record.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("pod record is JSON");
    let infra = &v["infra"];
    let mut procs = vec![
        live(infra["pid"].as_i64().expect("infra pid"), "infra"),
        live(
            infra["monitor_pid"].as_i64().expect("monitor pid"),
            "infra monitor",
        ),
        live(
            infra["helper_pid"].as_i64().expect("helper pid"),
            "network helper",
        ),
    ];
    let pid = env
        .hutch(&["inspect", "-f", "{{.State.Pid}}", &id])
        .success()
        .stdout
        .trim()
        .parse::<i64>()
        .expect("container pid");
    procs.push(live(pid, "member container"));

    // Without -f a pod with running members stays.
    env.hutch(&["pod", "rm", "web"])
        .tool_error(&["pod web has running containers", "-f"]);
    env.hutch(&["pod", "rm", "-f", "web"])
        .success()
        .stdout_is(&pod_id);
    for (pid, start) in &procs {
        wait_for(&format!("pid {pid} to exit"), SETTLE, || {
            if is_alive(*pid, start) {
                Err(format!("pid {pid} still runs"))
            } else {
                Ok(())
            }
        });
    }
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
    if TcpStream::connect(("127.0.0.1", port)).is_ok() {
        panic!("{network}: port {port} should be closed after pod rm -f");
    }
}

/// A detached container in no pod, named `solo`.
#[track_caller]
fn run_d_solo(env: &Env) {
    let img = image("busybox");
    let r = env.hutch_closing(&["run", "-d", "--name", "solo", &img, "sleep", "600"]);
    expect_id(&r.success());
}

#[test]
fn pod_stop_and_start_cycle_members_and_infra() {
    require_tool("pasta");
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    pod_create(&env, &["--name", "cycle"]);
    run_in_pod(&env, "cycle", "sleeper", "exec sleep 600");
    let r = env.hutch(&["pod", "ps"]).success();
    let row = r.stdout.lines().nth(1).unwrap_or_default().to_string();
    if !row.contains("cycle") || !row.contains("Running") || !row.trim_end().ends_with('1') {
        r.fail("pod ps should show the pod Running with 1 container");
    }
    // `ps` names the pod of each container.
    run_d_solo(&env);
    let r = env
        .hutch(&["ps", "--format", "{{.Names}}={{.PodName}}"])
        .success();
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    if lines != ["sleeper=cycle", "solo="] {
        r.fail("ps should show the pod name of the member and none for the other");
    }
    let r = env.hutch(&["ps", "--pod"]).success();
    let header = r.stdout.lines().next().unwrap_or_default();
    if !header.contains("  POD ID  ") || !header.ends_with("PODNAME") {
        r.fail("ps --pod should add the POD ID and PODNAME columns");
    }
    env.hutch(&["pod", "stop", "cycle"]).success();
    let v = env.hutch(&["pod", "inspect", "cycle"]).success().json();
    assert_eq!(v["State"], "Exited", "after pod stop: {v}");
    assert_eq!(v["Containers"][0]["State"], "exited", "after pod stop: {v}");
    env.hutch(&["pod", "start", "cycle"]).success();
    let v = env.hutch(&["pod", "inspect", "cycle"]).success().json();
    assert_eq!(v["State"], "Running", "after pod start: {v}");
    assert_eq!(
        v["Containers"][0]["State"], "running",
        "after pod start: {v}"
    );
    let j = env
        .hutch(&["pod", "ps", "--format", "json"])
        .success()
        .json();
    assert_eq!(j[0]["Name"], "cycle", "{j}");
    assert_eq!(j[0]["NumberOfContainers"], 1, "{j}");
}

#[test]
fn pod_names_conflict_and_unknown_pods_fail_with_125() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    pod_create(&env, &["--name", "one", "--network", "none"]);
    env.hutch(&["pod", "create", "--name", "one"])
        .tool_error(&["pod name one is already in use"]);
    env.hutch(&["pod", "create", "--name", "../bad"])
        .tool_error(&["invalid pod name"]);
    env.hutch(&["pod", "exists", "one"]).code(0);
    env.hutch(&["pod", "exists", "nope"]).code(1);
    // The name may come as an argument, as with Podman, but not twice.
    env.hutch(&["pod", "create", "--name", "a", "b"])
        .tool_error(&["cannot specify --name and NAME"]);
    env.hutch(&["pod", "create", "one"])
        .tool_error(&["pod name one is already in use"]);
    for args in [
        vec!["pod", "rm", "nope"],
        vec!["pod", "stop", "nope"],
        vec!["pod", "start", "nope"],
    ] {
        env.hutch(&args)
            .error_exit(if args[1] == "rm" { 1 } else { 125 }, &[NO_POD]);
    }
    // inspect words it as Podman's inspect does, after an empty list.
    env.hutch(&["pod", "inspect", "nope"])
        .tool_error(&["inspecting object: no such pod nope"])
        .stdout_is("[]");
    let img = image("busybox");
    env.hutch(&["run", "--rm", "--pod", "nope", &img, "true"])
        .tool_error(&[NO_POD]);
    env.hutch(&["run", "--rm", "--pod", "one", "-p", "8080:80", &img, "true"])
        .tool_error(&["cannot publish ports", "pod create -p"]);
    // Only one pod was recorded.
    let r = env.hutch(&["pod", "ps", "-q"]).success();
    if r.stdout.lines().count() != 1 {
        r.fail("expected exactly one pod");
    }
}
