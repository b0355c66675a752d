//! Issue #13 (Podman's CLI contract): `generate spec`, a container's or
//! pod's creation spec as Podman's spec generator JSON.

use crate::common::{image, Env};

#[test]
fn issue13_spec_writes_what_the_container_was_created_with() {
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&[
        "create",
        "--name",
        "s1",
        "-e",
        "A=1",
        "--label",
        "l=v",
        "-p",
        "8080:80",
        "-v",
        "/tmp:/mnt:ro",
        "-v",
        "vol1:/data",
        "-w",
        "/w",
        "-u",
        "1000",
        "--restart",
        "always",
        "--cap-add",
        "NET_ADMIN",
        "--read-only",
        "--entrypoint",
        "/bin/sh",
        "--stop-signal",
        "SIGUSR1",
        &img,
        "-c",
        "true",
    ])
    .success();
    let spec = env.hutch(&["generate", "spec", "s1"]).success();
    // Podman's indentation: one space.
    assert!(spec.stdout.starts_with("{\n \""), "{}", spec.stdout);
    let v = spec.json();
    assert_eq!(v["name"], "s1-clone");
    assert_eq!(v["entrypoint"], serde_json::json!(["/bin/sh"]));
    assert_eq!(v["command"], serde_json::json!(["-c", "true"]));
    assert_eq!(v["env"]["A"], "1");
    assert_eq!(v["labels"]["l"], "v");
    assert_eq!(v["work_dir"], "/w");
    assert_eq!(v["user"], "1000");
    assert_eq!(v["restart_policy"], "always");
    assert_eq!(v["stop_signal"], 10);
    assert_eq!(v["cap_add"], serde_json::json!(["NET_ADMIN"]));
    assert_eq!(v["read_only_filesystem"], true);
    assert_eq!(v["portmappings"][0]["host_port"], 8080);
    assert_eq!(v["portmappings"][0]["container_port"], 80);
    assert_eq!(v["portmappings"][0]["protocol"], "tcp");
    assert_eq!(v["mounts"][0]["source"], "/tmp");
    assert_eq!(v["mounts"][0]["destination"], "/mnt");
    assert_eq!(v["volumes"][0]["Name"], "vol1");
    assert_eq!(v["volumes"][0]["Dest"], "/data");
    let id = env
        .hutch(&["inspect", "--format", "{{.Image}}", "s1"])
        .success();
    assert_eq!(v["image"], id.stdout.trim());
    // --compact: one line; --name=false keeps the name; -f writes a file.
    let c = env
        .hutch(&["generate", "spec", "-c", "--name=false", "s1"])
        .success();
    assert_eq!(c.stdout.trim_end().lines().count(), 1);
    assert_eq!(c.json()["name"], "s1");
    let out = env.dir.join("s.json");
    env.hutch(&["generate", "spec", "-f", out.to_str().unwrap(), "s1"])
        .success()
        .stdout_is(out.to_str().unwrap());
    let written: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(written, v);
}

#[test]
fn issue13_spec_of_a_pod_and_of_nothing() {
    let env = Env::new();
    env.hutch(&[
        "pod", "create", "--name", "sp", "-p", "8081:80", "--label", "a=b",
    ])
    .success();
    let v = env.hutch(&["generate", "spec", "sp"]).success().json();
    assert_eq!(v["name"], "sp-clone");
    assert_eq!(v["labels"]["a"], "b");
    assert_eq!(v["portmappings"][0]["host_port"], 8081);
    env.hutch(&["generate", "spec", "nosuch"]).error_exit(
        125,
        &["could not find a pod or container with the id nosuch"],
    );
}
