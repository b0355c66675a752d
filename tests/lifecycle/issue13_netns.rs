//! Issue #13: `unshare --rootless-netns` runs a command as root in the
//! network holder's namespaces, where the user networks' bridges live;
//! the holder starts for it and leaves once nothing uses it.

use std::time::Duration;

use super::common::{image, wait_for};
use super::issue14_networks::{processes_mentioning, require_netavark};
use super::{setup, Cleanup};

#[test]
fn issue13_unshare_rootless_netns_enters_the_network_holder() {
    require_netavark();
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let root = env.store().to_string_lossy().to_string();
    // No container runs: the holder starts for the command, which is
    // root there and sees the holder's way out, not the host's interfaces.
    env.hutch(&[
        "unshare",
        "--rootless-netns",
        "sh",
        "-c",
        "id -u; ip -o link show | grep -c ': lo:'; readlink /proc/self/ns/net",
    ])
    .success()
    .stdout_has("0\n1\nnet:[");
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    let inside = env
        .hutch(&[
            "unshare",
            "--rootless-netns",
            "readlink",
            "/proc/self/ns/net",
        ])
        .success()
        .stdout
        .clone();
    assert_ne!(
        inside.trim(),
        host_net.to_string_lossy(),
        "the host's namespace"
    );
    env.hutch(&["network", "create", "--subnet", "10.124.0.0/24", "app"])
        .success();
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "a1",
        "--network",
        "app",
        "--ip",
        "10.124.0.7",
        &img,
        "sh",
        "-c",
        "mkdir /w && echo from-a1 > /w/index.html && exec busybox httpd -f -p 80 -h /w",
    ])
    .success();
    // The bridge is there, and the container answers on it.
    env.hutch(&[
        "unshare",
        "--rootless-netns",
        "sh",
        "-c",
        "ip -o -4 addr show podman1 | awk '{print $4}'; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 10.124.0.7 80 | tail -n 1",
    ])
    .success()
    .stdout_is("10.124.0.1/24\nfrom-a1");
    env.hutch(&["unshare", "--rootless-netns", "sh", "-c", "exit 3"])
        .code(3);
    env.hutch(&["unshare", "--rootless-netns", "nosuchcmd"])
        .code(127)
        .stderr_has("nosuchcmd: command not found");
    env.hutch(&["rm", "-f", "-t", "0", "a1"]).success();
    wait_for(
        "the network holder to leave",
        Duration::from_secs(10),
        || {
            let left: Vec<String> = processes_mentioning(&root)
                .into_iter()
                .filter(|p| p.contains("network-holder"))
                .collect();
            match left.is_empty() {
                true => Ok(()),
                false => Err(format!("{left:?}")),
            }
        },
    );
}
