//! Published ports: parsing `-p`, the image's exposed ports, and checking
//! and picking host ports before the helper binds them.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;

use super::Error;

/// The transport protocol of a published port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Protocol {
    /// `tcp` or `udp`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// One port to publish, as planned: host port 0 means any free port.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMapping {
    /// The host address to bind, all addresses when `None`.
    pub host_ip: Option<IpAddr>,
    /// The host port, 0 for a free one picked at start.
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub proto: Protocol,
}

/// One port as published by a running container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PublishedPort {
    /// The host address bound, `None` for all.
    pub host_ip: Option<IpAddr>,
    /// The host port.
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub proto: Protocol,
}

/// Parses one `-p [hostIP:][hostPort:]containerPort[-end][/tcp|/udp]`
/// (also an image's `80/tcp`) into one mapping per port.
pub fn parse_publish(spec: &str) -> Result<Vec<PortMapping>, Error> {
    let bad = |reason: &str| Error::InvalidPublish {
        spec: spec.to_string(),
        reason: reason.to_string(),
    };
    let (rest, proto) = match spec.rsplit_once('/') {
        Some((r, "tcp")) => (r, Protocol::Tcp),
        Some((r, "udp")) => (r, Protocol::Udp),
        Some(_) => return Err(bad("the protocol must be tcp or udp")),
        None => (spec, Protocol::Tcp),
    };
    // An IPv6 host address comes in brackets: [::1]:8080:80.
    let (host_ip, rest) = if let Some(r) = rest.strip_prefix('[') {
        let (ip, after) = r
            .split_once("]:")
            .ok_or_else(|| bad("unclosed [ in the host address"))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| bad("the host address is not an IP address"))?;
        (Some(ip), after.to_string())
    } else {
        let parts: Vec<&str> = rest.split(':').collect();
        match parts.len() {
            1 | 2 => (None, rest.to_string()),
            3 => {
                let ip: IpAddr = parts[0]
                    .parse()
                    .map_err(|_| bad("the host address is not an IP address"))?;
                (Some(ip), format!("{}:{}", parts[1], parts[2]))
            }
            _ => return Err(bad("use [hostIP:][hostPort:]containerPort[/tcp|/udp]")),
        }
    };
    let (host, container) = match rest.split_once(':') {
        Some((h, c)) => (Some(h).filter(|h| !h.is_empty()), c),
        None => (None, rest.as_str()),
    };
    let container = parse_range(container)
        .ok_or_else(|| bad("the container port must be 1-65535 or a range of them"))?;
    let host = match host {
        Some(h) => Some(
            parse_range(h)
                .ok_or_else(|| bad("the host port must be 1-65535 or a range of them"))?,
        ),
        None => None,
    };
    if let Some(h) = host {
        if h.1 - h.0 != container.1 - container.0 {
            return Err(bad("the host and container port ranges differ in length"));
        }
    }
    Ok((container.0..=container.1)
        .enumerate()
        .map(|(i, c)| PortMapping {
            host_ip,
            host_port: host.map_or(0, |h| h.0 + i as u16),
            container_port: c,
            proto,
        })
        .collect())
}

fn parse_range(s: &str) -> Option<(u16, u16)> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let a: u16 = a.parse().ok().filter(|p| *p > 0)?;
    let b: u16 = b.parse().ok().filter(|p| *p >= a)?;
    Some((a, b))
}

/// The `ExposedPorts` keys (`80/tcp`) of an image config document.
pub fn exposed_ports(config: &[u8]) -> Vec<String> {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(config) else {
        return Vec::new();
    };
    let mut ports: Vec<String> = doc
        .get("config")
        .and_then(|c| c.get("ExposedPorts"))
        .and_then(|e| e.as_object())
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    ports.sort();
    ports
}

/// `net.ipv4.ip_unprivileged_port_start` under the proc root `proc`;
/// 1024, the kernel's default, when it cannot be read.
pub fn unprivileged_port_start(proc: &Path) -> u16 {
    std::fs::read_to_string(proc.join("sys/net/ipv4/ip_unprivileged_port_start"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1024)
}

/// Refuses host ports below `start`, which an unprivileged helper cannot bind.
pub fn check_ports(ports: &[PortMapping], start: u16) -> Result<(), Error> {
    match ports
        .iter()
        .find(|p| p.host_port != 0 && p.host_port < start)
    {
        Some(p) => Err(Error::PrivilegedPort {
            port: p.host_port,
            start,
        }),
        None => Ok(()),
    }
}

/// Binds each host port once to prove it is free, picking a free port
/// where none was given; returns the ports to publish. The sockets close
/// again before the helper binds them.
pub fn resolve_ports(ports: &[PortMapping]) -> Result<Vec<PublishedPort>, Error> {
    let mut out = Vec::with_capacity(ports.len());
    for p in ports {
        let ip = p.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        let addr = SocketAddr::new(ip, p.host_port);
        let bound = match p.proto {
            Protocol::Tcp => TcpListener::bind(addr).and_then(|l| l.local_addr()),
            Protocol::Udp => UdpSocket::bind(addr).and_then(|s| s.local_addr()),
        };
        let local = bound.map_err(|source| {
            let what = format!("{addr}/{}", p.proto.name());
            if p.host_port == 0 {
                Error::PickPort(what, source)
            } else {
                Error::PortInUse { addr: what, source }
            }
        })?;
        out.push(PublishedPort {
            host_ip: p.host_ip,
            host_port: local.port(),
            container_port: p.container_port,
            proto: p.proto,
        });
    }
    Ok(out)
}

/// `80/tcp -> 127.0.0.1:8080`, as `port` prints it.
pub fn format_port(p: &PublishedPort) -> String {
    let ip = match p.host_ip {
        Some(IpAddr::V6(ip)) => format!("[{ip}]"),
        Some(ip) => ip.to_string(),
        None => "0.0.0.0".to_string(),
    };
    format!(
        "{}/{} -> {ip}:{}",
        p.container_port,
        p.proto.name(),
        p.host_port
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(spec: &str) -> PortMapping {
        let v = parse_publish(spec).unwrap();
        assert_eq!(v.len(), 1, "{spec}");
        v.into_iter().next().unwrap()
    }

    #[test]
    fn publish_specs_parse_like_docker() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let cases = [
            ("80", None, 0, 80, Protocol::Tcp),
            ("8080:80", None, 8080, 80, Protocol::Tcp),
            ("127.0.0.1:8080:80", Some(lo), 8080, 80, Protocol::Tcp),
            ("127.0.0.1::80/udp", Some(lo), 0, 80, Protocol::Udp),
            (
                "[::1]:8080:80",
                Some("::1".parse().unwrap()),
                8080,
                80,
                Protocol::Tcp,
            ),
            ("53/udp", None, 0, 53, Protocol::Udp),
        ];
        for (spec, ip, host, ctr, proto) in cases {
            assert_eq!(
                one(spec),
                PortMapping {
                    host_ip: ip,
                    host_port: host,
                    container_port: ctr,
                    proto
                },
                "{spec}"
            );
        }
        let range = parse_publish("9000-9002:80-82").unwrap();
        assert_eq!(
            range
                .iter()
                .map(|p| (p.host_port, p.container_port))
                .collect::<Vec<_>>(),
            vec![(9000, 80), (9001, 81), (9002, 82)]
        );
        assert_eq!(parse_publish("80-81").unwrap().len(), 2);
        for bad in [
            "",
            "0",
            "70000",
            "80/sctp",
            "1:2:3:4",
            "x:80:80",
            "9000-9001:80",
            "90-80",
            "[::1:80:80",
        ] {
            assert!(parse_publish(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn privileged_host_ports_are_refused_with_the_sysctl() {
        let ports = parse_publish("80:80").unwrap();
        let e = check_ports(&ports, 1024).unwrap_err().to_string();
        assert!(e.contains("net.ipv4.ip_unprivileged_port_start=80"), "{e}");
        assert!(check_ports(&ports, 80).is_ok());
        assert!(check_ports(&parse_publish("80").unwrap(), 1024).is_ok());
    }

    #[test]
    fn busy_ports_fail_and_free_ones_are_picked() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let busy = parse_publish(&format!("127.0.0.1:{port}:80")).unwrap();
        assert!(matches!(resolve_ports(&busy), Err(Error::PortInUse { .. })));
        let picked = resolve_ports(&parse_publish("127.0.0.1::80").unwrap()).unwrap();
        assert_ne!(picked[0].host_port, 0);
        assert_eq!(
            format_port(&picked[0]),
            format!("80/tcp -> 127.0.0.1:{}", picked[0].host_port)
        );
    }

    #[test]
    fn exposed_ports_come_from_the_config() {
        let config = br#"{"config":{"ExposedPorts":{"80/tcp":{},"53/udp":{}}}}"#;
        assert_eq!(exposed_ports(config), vec!["53/udp", "80/tcp"]);
        assert!(exposed_ports(b"{}").is_empty());
    }
}
