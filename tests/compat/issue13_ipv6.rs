//! Issue #13: IPv6 user networks as Podman makes them: the same subnets
//! and gateways, the same address inside the container for `--ip6`, and
//! the same resolv.conf servers.

use crate::{as_is, run_rm, same, setup, Cleanup};

#[test]
fn issue13_ipv6_networks_and_addresses_as_podman() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    same(
        &env,
        &["network", "create", "--subnet", "fd00:5::/64", "v6x"],
        as_is,
    );
    same(
        &env,
        &[
            "network",
            "create",
            "--ipv6",
            "--subnet",
            "10.77.0.0/24",
            "--subnet",
            "fd00:6::/64",
            "--gateway",
            "10.77.0.9",
            "dsx",
        ],
        as_is,
    );
    for name in ["v6x", "dsx"] {
        same(
            &env,
            &[
                "network",
                "inspect",
                name,
                "--format",
                "{{.IPv6Enabled}} {{range .Subnets}}{{.Subnet}} {{.Gateway}} {{end}}",
            ],
            as_is,
        );
    }
    same(
        &env,
        &run_rm(
            &img,
            &["--network", "v6x", "--ip6", "fd00:5::10"],
            &[
                "sh",
                "-c",
                "ip -6 -o addr show eth0 scope global | awk '{print $4}'; grep nameserver /etc/resolv.conf | head -n 1",
            ],
        ),
        as_is,
    );
    same(
        &env,
        &run_rm(
            &img,
            &["--network", "dsx", "--ip", "10.77.0.5", "--ip6", "fd00:6::5"],
            &[
                "sh",
                "-c",
                "ip -o addr show eth0 scope global | awk '{print $4}'; grep nameserver /etc/resolv.conf | head -n 2",
            ],
        ),
        as_is,
    );
    for name in ["v6x", "dsx"] {
        same(&env, &["network", "rm", name], as_is);
    }
}
