//! Issue #13 (Podman's CLI contract): `pod create --network NAME` with
//! `--ip` and `--network-alias`: a pod on a user-defined network, its
//! members reached by the pod's name and alias from the network, its
//! published port serving the host, and nothing left once it stops.

use std::time::Duration;

use super::common::{image, wait_for, Env};
use super::issue14_networks::{processes_mentioning, require_netavark, GET};
use super::network::{free_port, http_get};
use super::{expect_id, setup, Cleanup, SETTLE};

#[test]
fn issue13_podnet_pod_on_a_user_network() {
    require_netavark();
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["network", "create", "--subnet", "10.91.7.0/24", "pn"])
        .success();
    let port = free_port();
    let publish = format!("{port}:80");
    let pod = [
        "pod",
        "create",
        "--name",
        "shop",
        "--network",
        "pn",
        "--ip",
        "10.91.7.20",
        "--network-alias",
        "store",
        "-p",
        &publish,
    ];
    expect_id(&env.hutch(&pod).success());
    // Started again by `pod start` below, it finds /w there already.
    let serve = "mkdir -p /w && echo pod-ok > /w/index.html && exec busybox httpd -f -p 80 -h /w";
    let web = [
        "run", "-d", "--name", "front", "--pod", "shop", &img, "sh", "-c", serve,
    ];
    expect_id(&env.hutch(&web).success());
    // The member has the pod's address, on eth0 of the network.
    env.hutch(&["exec", "front", "ip", "-4", "addr", "show", "eth0"])
        .success()
        .stdout_has("inet 10.91.7.20/24");
    // The host reaches it through the pod's published port.
    let body = wait_for("the pod's -p on a user network", SETTLE, || http_get(port));
    assert_eq!(body, "pod-ok\n");
    // Another container on the network finds it by the pod's name and
    // alias; the member's resolver is the network's DNS server.
    let fetch = format!("{GET}; get shop; get store");
    env.hutch(&["run", "--rm", "--network", "pn", &img, "sh", "-c", &fetch])
        .success()
        .stdout_is("pod-ok\npod-ok");
    env.hutch(&["exec", "front", "cat", "/etc/resolv.conf"])
        .success()
        .stdout_has("nameserver 10.91.7.1");
    // In use by the pod, the network stays.
    env.hutch(&["network", "rm", "pn"])
        .code(2)
        .stderr_has("network is being used");
    // Stopped, the pod is detached (its address is free again) and
    // starts again with the same address.
    env.hutch(&["pod", "stop", "shop"]).success();
    let attached = env.store().join("networks/run/attached");
    let left: Vec<_> = std::fs::read_dir(&attached)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "attachments left after pod stop: {left:?}");
    env.hutch(&["pod", "start", "shop"]).success();
    env.hutch(&["exec", "front", "ip", "-4", "addr", "show", "eth0"])
        .success()
        .stdout_has("inet 10.91.7.20/24");
    env.hutch(&["pod", "rm", "-f", "shop"]).success();
    env.hutch(&["network", "rm", "pn"]).success();
    let root = env.store().to_string_lossy().to_string();
    wait_for(
        "no holder, pasta or aardvark-dns left",
        Duration::from_secs(10),
        || match processes_mentioning(&root) {
            p if p.is_empty() => Ok(()),
            p => Err(format!("left behind: {p:?}")),
        },
    );
}

#[test]
fn issue13_podnet_refusals() {
    let env = Env::new();
    env.hutch(&["network", "create", "pr"]).success();
    // The holder's user namespace is the pod's: no --userns of its own.
    env.hutch(&["pod", "create", "--network", "pr", "--userns", "keep-id"])
        .tool_error(&["--userns", "network holder"]);
    env.hutch(&["pod", "create", "--network", "pr", "--infra=false"])
        .tool_error(&["without an infra"]);
    env.hutch(&["pod", "create", "--network", "nosuch"])
        .code(125)
        .stderr_has("nosuch");
    env.hutch(&["pod", "create", "--network", "pr", "--ip", "10.1.2.3.4"])
        .tool_error(&["--ip"]);
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
    // A pod that is not running still uses the network: rm refuses, as
    // for a container, and -f removes the pod with it.
    env.hutch(&["pod", "create", "--name", "px", "--network", "pr"])
        .success();
    env.hutch(&["network", "rm", "pr"])
        .code(2)
        .stderr_has("network is being used");
    env.hutch(&["network", "prune", "-f"])
        .success()
        .stdout_is("");
    env.hutch(&["network", "rm", "-f", "pr"])
        .success()
        .stdout_is("pr");
    env.hutch(&["pod", "exists", "px"]).code(1);
}
