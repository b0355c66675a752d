//! The container's /etc/hosts and /etc/resolv.conf, as text.

use std::net::IpAddr;

use super::{Mode, NetworkPlan, PASTA_DNS};

/// The name that points at the host from inside a container (Podman's).
pub const HOST_NAME_INTERNAL: &str = "host.containers.internal";

/// The container's own address as its network mode gives it, if it has one.
pub fn container_address(plan: &NetworkPlan) -> Option<IpAddr> {
    match &plan.mode {
        Mode::Slirp4netns(o) => Some(o.container_addr()),
        // pasta copies the host's address into the namespace.
        Mode::Pasta(_) | Mode::Host => plan.host_addr,
        Mode::None => None,
        Mode::Bridge(a) => container_addresses(a).into_iter().next(),
    }
}

/// A container's addresses on its user-defined networks: the IPv4 one
/// of the first network that has one, then the IPv6 one likewise.
fn container_addresses(attachments: &[super::Attachment]) -> Vec<IpAddr> {
    let v4 = attachments.iter().find_map(|a| a.ip).map(IpAddr::V4);
    let v6 = attachments.iter().find_map(|a| a.ip6).map(IpAddr::V6);
    v4.into_iter().chain(v6).collect()
}

/// The address that reaches the host from inside the container.
pub fn host_internal_address(plan: &NetworkPlan) -> Option<IpAddr> {
    match &plan.mode {
        // 10.0.2.2 is the host's loopback only with allow_host_loopback;
        // without it the host's own address goes out through slirp's NAT.
        Mode::Slirp4netns(o) if o.allow_host_loopback => Some(o.gateway()),
        Mode::Slirp4netns(_) => plan.host_addr,
        // With `--map-gw` pasta sends connections to the default gateway
        // to the host's loopback; without it nothing reaches the host, and
        // Podman names the host's address, which pasta copies inside.
        Mode::Pasta(extra) if super::is_pasta_gateway_mapped(extra) => plan.host_gateway,
        Mode::Pasta(_) => plan.host_addr,
        Mode::Host => Some(IpAddr::from([127, 0, 0, 1])),
        // The host's address is the holder's pasta's, reached through NAT.
        Mode::Bridge(_) => plan.host_addr,
        Mode::None => None,
    }
}

/// /etc/hosts: localhost, the container's host name and its name (when
/// not empty) with its address (127.0.0.1 without one, as in Podman),
/// `host.containers.internal`, then the `--add-host` entries.
pub fn hosts_file(plan: &NetworkPlan, hostname: &str, name: &str) -> String {
    let mut out = String::from("127.0.0.1\tlocalhost\n::1\tlocalhost\n");
    let mut own: Vec<String> = match &plan.mode {
        Mode::Bridge(a) => container_addresses(a)
            .iter()
            .map(|a| a.to_string())
            .collect(),
        _ => container_address(plan)
            .map(|a| a.to_string())
            .into_iter()
            .collect(),
    };
    if own.is_empty() {
        own.push("127.0.0.1".to_string());
    }
    // Podman's line: `ADDRESS HOSTNAME NAME`, so services that look
    // themselves up by the container's name find it; one per address.
    for own in own {
        if name.is_empty() || name == hostname {
            out.push_str(&format!("{own}\t{hostname}\n"));
        } else {
            out.push_str(&format!("{own}\t{hostname} {name}\n"));
        }
    }
    if let Some(host) = host_internal_address(plan) {
        out.push_str(&format!("{host}\t{HOST_NAME_INTERNAL}\n"));
    }
    for (name, addr) in &plan.add_hosts {
        out.push_str(&format!("{addr}\t{name}\n"));
    }
    out
}

/// /etc/resolv.conf: the helper's DNS forwarder (or `--dns`), the host's
/// search domains and options (or `--dns-search`, `--dns-option`).
/// `host_resolv` is the host's resolv.conf; its loopback servers mean
/// nothing in the container's namespace and are dropped.
pub fn resolv_conf(plan: &NetworkPlan, host_resolv: &str) -> String {
    let mut servers: Vec<String> = Vec::new();
    let mut search: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    for line in host_resolv.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(a) = words.next() {
                    let is_loopback = a.parse::<IpAddr>().is_ok_and(|a| a.is_loopback());
                    // In the host's namespace loopback servers are reachable.
                    if !is_loopback || plan.mode == Mode::Host {
                        servers.push(a.to_string());
                    }
                }
            }
            Some("search") | Some("domain") => search.extend(words.map(String::from)),
            Some("options") => options.extend(words.map(String::from)),
            _ => {}
        }
    }
    let forwarder = match &plan.mode {
        Mode::Slirp4netns(o) => vec![o.dns().to_string()],
        Mode::Pasta(_) => vec![PASTA_DNS.to_string()],
        // The networks' DNS servers (aardvark-dns on each gateway) answer
        // container names and forward the rest; the holder's pasta
        // forwards `PASTA_DNS` to the host's resolver.
        Mode::Bridge(a) => {
            let mut dns: Vec<String> = a
                .iter()
                .filter(|a| a.dns)
                .flat_map(|a| {
                    let v4 = a.gateway.map(|g| g.to_string());
                    v4.into_iter().chain(a.gateway6.map(|g| g.to_string()))
                })
                .collect();
            if dns.is_empty() {
                dns.push(PASTA_DNS.to_string());
            }
            if a.iter().any(|a| a.dns) {
                search.insert(0, "dns.podman".to_string());
            }
            dns
        }
        Mode::None | Mode::Host => Vec::new(),
    };
    if !plan.dns.is_empty() {
        servers = plan.dns.clone();
    } else if matches!(plan.mode, Mode::Bridge(_)) {
        // As Podman: the networks' servers first, then the host's (reached
        // through the holder's way out).
        let host = std::mem::replace(&mut servers, forwarder);
        for h in host {
            if !servers.contains(&h) {
                servers.push(h);
            }
        }
    } else if !forwarder.is_empty() {
        servers = forwarder;
    }
    if !plan.dns_search.is_empty() {
        search = plan
            .dns_search
            .iter()
            .filter(|s| *s != ".")
            .cloned()
            .collect();
    }
    if !plan.dns_options.is_empty() {
        options = plan.dns_options.clone();
    }
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for s in servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::SlirpOptions;

    const HOST: &str = "# generated\nnameserver 127.0.0.53\nnameserver 10.0.0.2\nsearch example.org\noptions edns0\n";

    fn plan(mode: Mode) -> NetworkPlan {
        NetworkPlan {
            mode,
            host_addr: Some("192.0.2.2".parse().unwrap()),
            host_gateway: Some("192.0.2.1".parse().unwrap()),
            ..NetworkPlan::default()
        }
    }

    #[test]
    fn user_networks_resolve_through_their_gateways_then_the_host() {
        // issue #14: aardvark-dns on each gateway, `search dns.podman`,
        // then the host's servers as Podman writes them.
        let on = |gw: &str, dns: bool| crate::net::Attachment {
            network: "app".into(),
            ip: Some("10.89.0.5".parse().unwrap()),
            gateway: Some(gw.parse().unwrap()),
            prefix: 24,
            dns,
            ..Default::default()
        };
        let p = plan(Mode::Bridge(vec![
            on("10.89.0.1", true),
            on("10.89.1.1", false),
        ]));
        assert_eq!(
            resolv_conf(&p, HOST),
            "search dns.podman example.org\nnameserver 10.89.0.1\nnameserver 10.0.0.2\noptions edns0\n"
        );
        assert!(hosts_file(&p, "box", "web").contains("10.89.0.5\tbox web\n"));
        let p = plan(Mode::Bridge(vec![on("10.89.1.1", false)]));
        assert_eq!(
            resolv_conf(&p, HOST),
            "search example.org\nnameserver 169.254.1.1\nnameserver 10.0.0.2\noptions edns0\n"
        );
    }

    #[test]
    fn dual_stack_networks_add_their_ipv6_server_and_address() {
        // Podman 4.3 on a network made with --ipv6: both gateways serve
        // names, and /etc/hosts names the container at both addresses.
        let a = crate::net::Attachment {
            network: "v6".into(),
            ip: Some("10.89.0.7".parse().unwrap()),
            gateway: Some("10.89.0.1".parse().unwrap()),
            ip6: Some("fd00:1::5".parse().unwrap()),
            gateway6: Some("fd00:1::1".parse().unwrap()),
            prefix: 24,
            prefix6: 64,
            dns: true,
            ..Default::default()
        };
        let p = plan(Mode::Bridge(vec![a]));
        assert_eq!(
            resolv_conf(&p, HOST),
            "search dns.podman example.org\nnameserver 10.89.0.1\nnameserver fd00:1::1\nnameserver 10.0.0.2\noptions edns0\n"
        );
        let hosts = hosts_file(&p, "box", "web");
        assert!(
            hosts.contains("10.89.0.7\tbox web\nfd00:1::5\tbox web\n"),
            "{hosts}"
        );
    }

    #[test]
    fn resolv_conf_points_at_the_helper_or_the_flags() {
        assert_eq!(
            resolv_conf(&plan(Mode::Slirp4netns(SlirpOptions::default())), HOST),
            "search example.org\nnameserver 10.0.2.3\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(&plan(Mode::Pasta(vec![])), HOST),
            "search example.org\nnameserver 169.254.1.1\noptions edns0\n"
        );
        assert_eq!(
            resolv_conf(&plan(Mode::None), HOST),
            "search example.org\nnameserver 10.0.0.2\noptions edns0\n"
        );
        let mut p = plan(Mode::Pasta(vec![]));
        p.dns = vec!["192.0.2.53".into()];
        p.dns_search = vec!["corp.example".into()];
        p.dns_options = vec!["ndots:2".into()];
        assert_eq!(
            resolv_conf(&p, HOST),
            "search corp.example\nnameserver 192.0.2.53\noptions ndots:2\n"
        );
    }

    #[test]
    fn hosts_name_the_container_the_host_and_added_hosts() {
        let mut p = plan(Mode::Slirp4netns(SlirpOptions::default()));
        p.add_hosts = vec![("db".into(), "192.0.2.9".into())];
        // Podman 4.3 with slirp4netns: `10.0.2.100 9adf56bdb7dc web`.
        assert_eq!(
            hosts_file(&p, "box", "web"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost\n10.0.2.100\tbox web\n192.0.2.2\thost.containers.internal\n192.0.2.9\tdb\n"
        );
        // Podman with --network none: `127.0.0.1 702f5f334242 web`.
        assert_eq!(
            hosts_file(&plan(Mode::None), "box", "web"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\tbox web\n"
        );
        assert!(hosts_file(&plan(Mode::Pasta(vec![])), "box", "web")
            .contains("192.0.2.2\tbox web\n192.0.2.2\thost.containers.internal\n"));
        // Only with --map-gw does the gateway reach the host (issue #21 item 2).
        assert!(
            hosts_file(&plan(Mode::Pasta(vec!["--map-gw".into()])), "box", "web")
                .contains("192.0.2.2\tbox web\n192.0.2.1\thost.containers.internal\n")
        );
        // A plan stored before names were kept, or a name equal to the host name.
        for name in ["", "box"] {
            assert!(hosts_file(&plan(Mode::None), "box", name).contains("127.0.0.1\tbox\n"));
        }
    }
}
