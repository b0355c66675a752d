//! Issue #13: the rest of `pod create`'s flags (limits, `--cgroup-parent`,
//! `--share-parent`, `--uts`, `--pid`, `--shm-size`, `--sysctl`,
//! `--subuidname`), `pod clone`, and `create --init-ctr`, as the
//! unprivileged user. This host has cgroup v1 (hybrid), where pod limits
//! are refused as a container's are; their effect on cgroup v2 (the pod's
//! slice and its limits, a member killed over the pod's memory limit, a
//! clone's limits) is checked in the guest tier, tests/vm/guest-cgroups.sh
//! (`pod_limits`, `pod_clone_limits`).

use super::common::{current_user, image, Env};
use super::pods::{pod_create, run_in_pod, PodCleanup};
use super::{expect_id, setup, Cleanup};

/// The pod's record as JSON.
fn record(env: &Env, id: &str) -> serde_json::Value {
    let path = env.store().join("pods").join(id).join("pod.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("pod record is JSON")
}

/// `run --rm [ARGS…] busybox sh -c SCRIPT`, which must succeed; its stdout.
#[track_caller]
fn run_rm(env: &Env, args: &[&str], script: &str) -> String {
    let img = image("busybox");
    let mut all = vec!["run", "--rm"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[&img, "sh", "-c", script]);
    env.hutch(&all).success().stdout
}

/// The namespace `kind` of process `pid` ("self" or a number).
fn namespace(pid: &str, kind: &str) -> String {
    let link = format!("/proc/{pid}/ns/{kind}");
    std::fs::read_link(&link)
        .unwrap_or_else(|e| panic!("reading {link}: {e}"))
        .to_string_lossy()
        .into_owned()
}

/// The pod's status as `pod ps` shows it.
fn status(env: &Env, pod: &str) -> String {
    let filter = format!("name={pod}");
    let r = env
        .hutch(&["pod", "ps", "--filter", &filter, "--format", "{{.Status}}"])
        .success();
    r.stdout.trim().to_string()
}

/// The state of every container (`running`, `exited`, ...), by name, as
/// `ps -a --format json` shows them.
fn states(env: &Env) -> String {
    let r = env.hutch(&["ps", "-a", "--format", "json"]).success();
    let list = r.json();
    let mut lines: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| r.fail("ps --format json prints a list"))
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["Names"][0].as_str().unwrap_or_default(),
                c["State"].as_str().unwrap_or_default()
            )
        })
        .collect();
    lines.sort_unstable();
    lines.join("\n")
}

#[test]
fn issue13_pod_limits_are_refused_without_cgroup_v2() {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    assert!(
        !mounts
            .lines()
            .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 ")),
        "this test expects a cgroup v1 or hybrid host; cgroup v2 is the guest tier's"
    );
    let env = Env::new();
    let _pods = PodCleanup(&env);
    // As a container's limits on this host: refused, with the reason and
    // what to do, and nothing recorded.
    for flags in [
        &["--memory", "64m"][..],
        &["--cpus", "1.5"],
        &["--cpu-shares", "512", "--cpuset-cpus", "0"],
        &["--blkio-weight", "300"],
    ] {
        let mut args = vec!["pod", "create"];
        args.extend_from_slice(flags);
        env.hutch(&args)
            .tool_error(&[
                "planning the pod's cgroup",
                "resource limits need cgroup v2",
            ])
            .stderr_has("Hint:");
    }
    // Checked first, as a container's.
    env.hutch(&["pod", "create", "--memory-swap", "64m"])
        .tool_error(&["invalid --memory-swap", "it needs --memory"]);
    env.hutch(&["pod", "create", "--blkio-weight", "5"])
        .tool_error(&["invalid --blkio-weight", "10 to 1000"]);
    env.hutch(&["pod", "create", "--share-parent=false", "--memory", "64m"])
        .tool_error(&["--share-parent=false", "its limits would apply to nothing"]);
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
}

#[test]
fn issue13_pod_uts_and_pid_host_keep_the_hosts_namespaces() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let id = pod_create(&env, &["--name", "hosty", "--uts", "host", "--pid", "host"]);
    let out = run_rm(
        &env,
        &["--pod", "hosty"],
        "hostname; readlink /proc/self/ns/uts; cat /etc/hostname",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], host_name.trim(), "the member's host name");
    assert_eq!(
        lines[1],
        namespace("self", "uts"),
        "the member's UTS namespace"
    );
    assert_eq!(lines[2], host_name.trim(), "the member's /etc/hostname");
    // The infra stays in our PID and UTS namespaces too.
    let infra = record(&env, &id)["infra"]["pid"].to_string();
    assert_eq!(namespace(&infra, "uts"), namespace("self", "uts"));
    assert_eq!(namespace(&infra, "pid"), namespace("self", "pid"));
    let v = env.hutch(&["pod", "inspect", "hosty"]).success().json();
    assert_eq!(v["InfraConfig"]["uts_ns"], "host", "{v}");
    assert_eq!(v["InfraConfig"]["pid_ns"], "host", "{v}");
    // By default the infra has PID and UTS namespaces of its own, and the
    // members share its UTS namespace, named after the pod.
    let id = pod_create(&env, &["--name", "own"]);
    let out = run_rm(&env, &["--pod", "own"], "hostname");
    assert_eq!(out.trim(), "own");
    let infra = record(&env, &id)["infra"]["pid"].to_string();
    assert_ne!(namespace(&infra, "uts"), namespace("self", "uts"));
    assert_ne!(namespace(&infra, "pid"), namespace("self", "pid"));
    let v = env.hutch(&["pod", "inspect", "own"]).success().json();
    assert_eq!(v["InfraConfig"]["pid_ns"], "private", "{v}");
    // Podman's checks and words.
    env.hutch(&["pod", "create", "--uts", "host", "--hostname", "h"])
        .tool_error(&["cannot set hostname when running in the host UTS namespace"]);
    env.hutch(&["pod", "create", "--pid", "bogus"])
        .tool_error(&["--pid"]);
}

#[test]
fn issue13_pod_shm_size_and_sysctls_reach_members() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    pod_create(
        &env,
        &[
            "--name",
            "tuned",
            "--shm-size",
            "32m",
            "--sysctl",
            "net.ipv4.ip_unprivileged_port_start=99",
            "--sysctl",
            "kernel.msgmax=4000",
        ],
    );
    let script = "grep ' /dev/shm ' /proc/mounts; \
                  cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/msgmax";
    let out = run_rm(&env, &["--pod", "tuned"], script);
    for want in ["size=32768k", "\n99\n4000"] {
        assert!(out.contains(want), "a member should see {want:?}:\n{out}");
    }
    // As in Podman: the pod's /dev/shm size wins over a member's, and a
    // member's sysctl over the pod's.
    let out = run_rm(
        &env,
        &[
            "--pod",
            "tuned",
            "--shm-size",
            "16m",
            "--sysctl",
            "kernel.msgmax=5000",
        ],
        script,
    );
    for want in ["size=32768k", "\n99\n5000"] {
        assert!(out.contains(want), "a member should see {want:?}:\n{out}");
    }
    env.hutch(&["pod", "create", "--shm-size", "abc"])
        .tool_error(&["--shm-size"]);
    env.hutch(&["pod", "create", "--sysctl", "foo"])
        .tool_error(&["foo is invalid, sysctl values must be in the form of KEY=VALUE"]);
    env.hutch(&["pod", "create", "--sysctl", "kernel.hostname=x"])
        .tool_error(&["sysctl 'kernel.hostname' is not allowed"]);
}

#[test]
fn issue13_pod_cgroup_parent_reaches_members_unless_they_name_their_own() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let img = image("busybox");
    pod_create(
        &env,
        &["--name", "parented", "--cgroup-parent", "batch.slice"],
    );
    pod_create(
        &env,
        &[
            "--name",
            "apart",
            "--cgroup-parent",
            "batch.slice",
            "--share-parent=false",
        ],
    );
    for (name, pod, own) in [
        ("inherits", "parented", None),
        ("keeps", "parented", Some("mine.slice")),
        ("apart1", "apart", None),
    ] {
        let mut args = vec!["create", "--pod", pod, "--name", name];
        if let Some(p) = own {
            args.extend_from_slice(&["--cgroup-parent", p]);
        }
        args.extend_from_slice(&[&img, "true"]);
        env.hutch(&args).success();
    }
    let r = env
        .hutch(&[
            "inspect",
            "--format",
            "{{.Name}}={{.HostConfig.CgroupParent}}",
            "inherits",
            "keeps",
            "apart1",
        ])
        .success();
    r.stdout_is("inherits=batch.slice\nkeeps=mine.slice\napart1=");
    let v = env.hutch(&["pod", "inspect", "parented"]).success().json();
    assert_eq!(v["CgroupParent"], "batch.slice", "{v}");
    // No limits: no cgroup of the pod's own.
    assert_eq!(v["CreateCgroup"], false, "{v}");
    assert!(v.get("memory_limit").is_none(), "{v}");
}

#[test]
fn issue13_pod_subid_names_are_the_users_own() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let (user, uid, _) = current_user();
    pod_create(
        &env,
        &[
            "--name",
            "mine",
            "--subuidname",
            &user,
            "--subgidname",
            &uid.to_string(),
        ],
    );
    let out = run_rm(&env, &["--pod", "mine"], "cat /proc/self/uid_map");
    assert!(!out.trim().is_empty(), "the member has id maps: {out}");
    env.hutch(&["pod", "create", "--subuidname", "root"])
        .tool_error(&["--subuidname root", "your own name or uid"]);
}

#[test]
fn issue13_pod_init_ctr_runs_before_the_other_members() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let img = image("busybox");
    let shared = env.home.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    let volume = format!("{}:/shared", shared.display());
    pod_create(&env, &["--name", "ordered"]);
    let create = |name: &str, init: Option<&str>, script: &str| {
        let mut args = vec!["create", "--pod", "ordered", "--name", name, "-v", &volume];
        if let Some(kind) = init {
            args.extend_from_slice(&["--init-ctr", kind]);
        }
        args.extend_from_slice(&[&img, "sh", "-c", script]);
        expect_id(&env.hutch(&args).success())
    };
    // The main container first, so that creation order is not the order
    // of starting.
    create("main", None, "echo main >> /shared/log; exec sleep 600");
    create(
        "always",
        Some("always"),
        "sleep 1; echo always >> /shared/log",
    );
    create("once", Some("once"), "echo once >> /shared/log");
    let log = || std::fs::read_to_string(shared.join("log")).unwrap_or_default();
    let id = env.hutch(&["pod", "start", "ordered"]).success();
    assert_eq!(
        log(),
        "always\nonce\nmain\n",
        "the first start ran the init containers first"
    );
    // A `once` container is gone, an `always` one has exited, and the
    // pod's status leaves it out, as Podman's.
    assert_eq!(states(&env), "always exited\nmain running");
    assert_eq!(status(&env, "ordered"), "Running");
    env.hutch(&[
        "pod",
        "inspect",
        "--format",
        "{{.NumContainers}}",
        "ordered",
    ])
    .success()
    .stdout_is("2");
    env.hutch(&["pod", "stop", "-t", "0", "ordered"]).success();
    env.hutch(&["pod", "start", "ordered"])
        .success()
        .stdout_is(id.stdout.trim());
    assert_eq!(
        log(),
        "always\nonce\nmain\nalways\nmain\n",
        "an always init container runs at every start"
    );
    // One that fails stops the start: the others stay as they were.
    env.hutch(&["pod", "stop", "-t", "0", "ordered"]).success();
    let bad = create("bad", Some("always"), "exit 3");
    env.hutch(&["pod", "start", "ordered"]).tool_error(&[
        "init container",
        &bad,
        "exited with code 3",
    ]);
    assert_eq!(states(&env), "always exited\nbad exited\nmain exited");
    // Started on its own, it is an ordinary container.
    env.hutch(&["start", "-a", "always"]).success();
}

#[test]
fn issue13_pod_init_ctr_needs_a_pod_that_is_not_running() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let img = image("busybox");
    // Podman's checks and words.
    env.hutch(&["create", "--init-ctr", "always", &img, "true"])
        .tool_error(&["must specify pod value with init-ctr"]);
    pod_create(&env, &["--name", "busy"]);
    env.hutch(&[
        "create",
        "--init-ctr",
        "bogus",
        "--pod",
        "busy",
        &img,
        "true",
    ])
    .tool_error(&["init-ctr value must be 'always' or 'once'"]);
    run_in_pod(&env, "busy", "runs", "exec sleep 600");
    env.hutch(&[
        "create",
        "--init-ctr",
        "once",
        "--pod",
        "busy",
        &img,
        "true",
    ])
    .tool_error(&["cannot add init-ctr to a running pod"]);
    // Podman 4.3's run has no --init-ctr.
    env.hutch(&["run", "--init-ctr", "always", "--pod", "busy", &img, "true"])
        .code(125)
        .stderr_has("--init-ctr");
    env.hutch(&["container", "create", "--help"])
        .success()
        .stdout_has("--init-ctr");
}

#[test]
fn issue13_podclone_copies_the_pod_and_its_containers() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let img = image("busybox");
    let labels = env.home.join("labels");
    std::fs::write(&labels, "tier=web\n").unwrap();
    let orig = pod_create(
        &env,
        &[
            "--name",
            "orig",
            "--hostname",
            "podhost",
            "--label",
            "a=1",
            "--label-file",
            labels.to_str().unwrap(),
            "--sysctl",
            "kernel.msgmax=4000",
            "--add-host",
            "db:192.0.2.9",
        ],
    );
    env.hutch(&[
        "create",
        "--pod",
        "orig",
        "--name",
        "web",
        &img,
        "sh",
        "-c",
        "hostname; cat /proc/sys/kernel/msgmax; grep db /etc/hosts",
    ])
    .success();
    // The label file may be gone: the original's labels were recorded.
    std::fs::remove_file(&labels).unwrap();
    let copy = expect_id(&env.hutch(&["pod", "clone", "orig"]).success());
    assert_ne!(copy, orig);
    let again = expect_id(&env.hutch(&["pod", "clone", "orig"]).success());
    let names = env
        .hutch(&["pod", "ps", "--format", "{{.Name}} {{.NumberOfContainers}}"])
        .success();
    let mut got: Vec<&str> = names.stdout.lines().collect();
    got.sort_unstable();
    assert_eq!(got, ["orig 1", "orig-clone 1", "orig-clone1 1"], "{names}");
    let v = env.hutch(&["pod", "inspect", &copy]).success().json();
    assert_eq!(v["Name"], "orig-clone", "{v}");
    assert_eq!(v["Hostname"], "podhost", "{v}");
    assert_eq!(v["Labels"]["a"], "1", "{v}");
    assert_eq!(v["Labels"]["tier"], "web", "{v}");
    assert_eq!(v["State"], "Created", "{v}");
    // Its container is a copy of the original's, in the copy.
    let r = env
        .hutch(&["ps", "-a", "--pod", "--format", "{{.Names}} {{.PodName}}"])
        .success();
    let mut got: Vec<&str> = r.stdout.lines().collect();
    got.sort_unstable();
    assert_eq!(
        got,
        ["web orig", "web-clone orig-clone", "web-clone1 orig-clone1"],
        "{r}"
    );
    let out = env.hutch(&["start", "-a", "web-clone"]).success().stdout;
    for want in ["podhost\n4000\n", "192.0.2.9"] {
        assert!(
            out.contains(want),
            "the copy's member should see {want:?}:\n{out}"
        );
    }
    // The options given are laid over the original's.
    let named = expect_id(
        &env.hutch(&[
            "pod",
            "clone",
            "--name",
            "ignored",
            "--label",
            "b=2",
            "--hostname",
            "other",
            "--sysctl",
            "kernel.msgmax=5000",
            "orig",
            "renamed",
        ])
        .success(),
    );
    let v = env.hutch(&["pod", "inspect", &named]).success().json();
    assert_eq!(v["Name"], "renamed", "{v}");
    assert_eq!(v["Hostname"], "other", "{v}");
    assert_eq!(v["Labels"]["a"], "1", "{v}");
    assert_eq!(v["Labels"]["b"], "2", "{v}");
    let out = env.hutch(&["start", "-a", "web-clone2"]).success().stdout;
    assert!(out.starts_with("other\n5000\n"), "{out}");
    // Checked as pod create checks them.
    env.hutch(&["pod", "clone", "--uts", "host", "orig"])
        .tool_error(&["cannot set hostname when running in the host UTS namespace"]);
    env.hutch(&["pod", "clone", "orig", "orig"])
        .tool_error(&["the pod name orig is already in use"]);
    env.hutch(&["pod", "clone", "orig", "bad name"])
        .tool_error(&["invalid pod name"]);
    env.hutch(&["pod", "clone", "nope"])
        .tool_error(&["no pod with name or ID nope found: no such pod"]);
    env.hutch(&["pod", "clone"]).code(125);
    assert_eq!(again.len(), 64);
}

#[test]
fn issue13_podclone_destroy_removes_the_original_and_start_starts_the_copy() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let orig = pod_create(&env, &["--name", "old"]);
    run_in_pod(&env, "old", "srv", "exec sleep 600");
    assert_eq!(status(&env, "old"), "Running");
    let copy = expect_id(
        &env.hutch(&["pod", "clone", "--destroy", "--start", "old", "new"])
            .success(),
    );
    env.hutch(&["pod", "exists", "old"]).code(1);
    assert!(
        !env.store().join("pods").join(&orig).exists(),
        "the original's record is gone"
    );
    assert_eq!(status(&env, "new"), "Running");
    assert_eq!(states(&env), "srv-clone running");
    env.hutch(&["pod", "inspect", "--format", "{{.Id}}", "new"])
        .success()
        .stdout_is(&copy);
}

#[test]
fn issue13_podclone_of_a_pod_without_a_recorded_request_is_refused() {
    let env = setup();
    let _pods = PodCleanup(&env);
    let id = pod_create(&env, &["--name", "older"]);
    // A record as hutch wrote it before pod clone: no request.
    let path = env.store().join("pods").join(&id).join("pod.json");
    let mut v = record(&env, &id);
    v.as_object_mut().unwrap().remove("request");
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    env.hutch(&["pod", "clone", "older"])
        .tool_error(&["pod older records no request to clone"]);
    // Nothing was made, and the original is as it was.
    let r = env.hutch(&["pod", "ps", "--format", "{{.Name}}"]).success();
    r.stdout_is("older");
}
