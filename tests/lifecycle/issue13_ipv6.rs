//! Issue #13: IPv6 on user-defined networks. `network create --ipv6`
//! makes a dual-stack network, `--subnet ADDR/N` an IPv6 one; containers
//! get an address of each family (`--ip6` picks the IPv6 one), their DNS
//! answers AAAA records, `network connect --ip6 --mac-address` attaches a
//! running container, and bad addresses are refused before anything runs.

use super::common::{image, Env};
use super::issue14_networks::require_netavark;
use super::{setup, Cleanup};

/// A busybox command printing `GET /` of `addr` port 80 (an IPv6
/// literal), or `unreachable`.
fn get6(addr: &str) -> String {
    format!(
        "b=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 {addr} 80 2>/dev/null | tail -n 1); \
         if [ -n \"$b\" ]; then echo \"$b\"; else echo unreachable; fi"
    )
}

#[test]
fn issue13_ipv6_dual_stack_containers_reach_each_other_over_ipv6() {
    require_netavark();
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&[
        "network",
        "create",
        "--ipv6",
        "--subnet",
        "fd00:77::/64",
        "ds",
    ])
    .success()
    .stdout_is("ds");
    env.hutch(&[
        "network",
        "inspect",
        "ds",
        "--format",
        "{{.IPv6Enabled}} {{range .Subnets}}{{.Subnet}} {{.Gateway}} {{end}}",
    ])
    .success()
    .stdout_is("true 10.89.0.0/24 10.89.0.1 fd00:77::/64 fd00:77::1");
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "web6",
        "--network",
        "ds",
        "--ip6",
        "fd00:77::10",
        "--mac-address",
        "02:aa:bb:cc:dd:ee",
        &img,
        "sh",
        "-c",
        "mkdir /w && echo hello-v6 > /w/index.html && exec busybox httpd -f -p [::]:80 -h /w",
    ])
    .success();
    env.hutch(&[
        "inspect",
        "web6",
        "--format",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}/{{.IPPrefixLen}} {{.GlobalIPv6Address}}/{{.GlobalIPv6PrefixLen}} {{.IPv6Gateway}} {{.MacAddress}}{{end}}",
    ])
    .success()
    .stdout_is("10.89.0.2/24 fd00:77::10/64 fd00:77::1 02:aa:bb:cc:dd:ee");
    // A second container: its own IPv6 address picked, the server's name
    // resolved to its IPv6 address, the page fetched over IPv6, and both
    // gateways named as DNS servers.
    let script = format!(
        "ip -6 -o addr show eth0 scope global | awk '{{print $4}}'; \
         busybox nslookup -type=AAAA web6 | awk '/^Address: / && $2 ~ /:/ {{print $2; exit}}'; \
         {}; grep nameserver /etc/resolv.conf | head -n 2",
        get6("fd00:77::10")
    );
    env.hutch(&["run", "--rm", "--network", "ds", &img, "sh", "-c", &script])
        .success()
        .stdout_is(
            "fd00:77::2/64\nfd00:77::10\nhello-v6\nnameserver 10.89.0.1\nnameserver fd00:77::1",
        );
    // The address taken is refused to the next container.
    env.hutch(&[
        "run",
        "--rm",
        "--network",
        "ds",
        "--ip6",
        "fd00:77::10",
        &img,
        "true",
    ])
    .code(125)
    .stderr_has("network ds: address fd00:77::10 is already in use by another container");
    env.hutch(&["rm", "-f", "-t", "0", "web6"]).success();
    env.hutch(&["network", "rm", "ds"])
        .success()
        .stdout_is("ds");
}

#[test]
fn issue13_ipv6_only_networks_connect_and_refuse_bad_addresses() {
    require_netavark();
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["network", "create", "--subnet", "fd00:88::/64", "only6"])
        .success();
    env.hutch(&[
        "network",
        "inspect",
        "only6",
        "--format",
        "{{.IPv6Enabled}} {{range .Subnets}}{{.Subnet}} {{.Gateway}}{{end}}",
    ])
    .success()
    .stdout_is("true fd00:88::/64 fd00:88::1");
    // With --ipv6 alone the network gets a random unique local /64 too.
    env.hutch(&["network", "create", "--ipv6", "auto6"])
        .success();
    let subnets = env
        .hutch(&[
            "network",
            "inspect",
            "auto6",
            "--format",
            "{{range .Subnets}}{{.Subnet}} {{end}}",
        ])
        .success()
        .stdout
        .clone();
    let words: Vec<&str> = subnets.split_whitespace().collect();
    assert_eq!(words.len(), 2, "{subnets}");
    assert!(words[0].starts_with("10.89."), "{subnets}");
    assert!(
        words[1].starts_with("fd") && words[1].ends_with("::/64"),
        "{subnets}"
    );
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "c1",
        "--network",
        "auto6",
        &img,
        "sleep",
        "300",
    ])
    .success();
    env.hutch(&[
        "network",
        "connect",
        "--ip6",
        "fd00:88::42",
        "--mac-address",
        "02:00:00:00:00:42",
        "only6",
        "c1",
    ])
    .success();
    env.hutch(&["exec", "c1", "sh", "-c", "ip -o link show eth1 | grep -o 'link/ether [0-9a-f:]*'; ip -6 -o addr show eth1 scope global | awk '{print $4}'"])
        .success()
        .stdout_is("link/ether 02:00:00:00:00:42\nfd00:88::42/64");
    // A container on the IPv6-only network reaches c1 there, and its
    // /etc/hosts names it at its IPv6 address only.
    env.hutch(&[
        "run",
        "--rm",
        "--network",
        "only6",
        &img,
        "sh",
        "-c",
        "ip -6 -o addr show eth0 scope global | awk '{print $4}'; grep -c '^fd00:88::2\t' /etc/hosts; grep -c '^10\\.' /etc/hosts || true",
    ])
    .success()
    .stdout_is("fd00:88::2/64\n1\n0");
    env.hutch(&["network", "disconnect", "only6", "c1"])
        .success();
    env.hutch(&["exec", "c1", "ls", "/sys/class/net"])
        .success()
        .stdout_is("eth0\nlo");
    // Refused before anything runs, each with what is wrong.
    let refused: [(&[&str], &str); 5] = [
        (
            &["--network", "only6", "--ip", "10.1.1.1"],
            "address 10.1.1.1 is for a network without an IPv4 subnet",
        ),
        (
            &["--network", "only6", "--ip6", "fd00:99::5"],
            "address fd00:99::5 is not a host address of the network's subnet",
        ),
        (
            &["--network", "only6", "--ip6", "fd00:88::1"],
            "address fd00:88::1 is the network's gateway",
        ),
        (
            &["--network", "only6", "--ip6", "nonsense"],
            "invalid network --ip6 \"nonsense\": use an IPv6 address",
        ),
        (&["--network", "none", "--ip6", "fd00:88::5"], "--ip6"),
    ];
    for (flags, message) in refused {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend([img.as_str(), "true"]);
        env.hutch(&args).code(125).stderr_has(message);
    }
    env.hutch(&[
        "network",
        "create",
        "--subnet",
        "fd00:88:0:0:1::/80",
        "clash",
    ])
    .code(125)
    .stderr_has("overlaps another network's subnet");
    env.hutch(&[
        "network",
        "create",
        "--subnet",
        "fd00:1::/64",
        "--subnet",
        "fd00:2::/64",
        "two",
    ])
    .code(125)
    .stderr_has("one IPv6 subnet per network");
}

#[test]
fn issue13_ipv6_pods_take_their_address_with_ip6() {
    require_netavark();
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    env.hutch(&["network", "create", "--subnet", "fd00:66::/64", "p6"])
        .success();
    env.hutch(&[
        "pod",
        "create",
        "--name",
        "pp",
        "--network",
        "p6",
        "--ip6",
        "fd00:66::20",
    ])
    .success();
    env.hutch(&[
        "run",
        "--rm",
        "--pod",
        "pp",
        &img,
        "sh",
        "-c",
        "ip -6 -o addr show eth0 scope global | awk '{print $4}'",
    ])
    .success()
    .stdout_is("fd00:66::20/64");
    env.hutch(&["pod", "rm", "-f", "-t", "0", "pp"]).success();
}
