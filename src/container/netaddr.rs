//! The addresses a container gets on a user-defined network: an IPv4
//! address on its IPv4 subnet and an IPv6 address on its IPv6 subnet
//! (a network has one or both), the one asked for (`--ip`, `--ip6`) if it
//! is free, else the lowest free one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::networks;
use super::Error;
use crate::net::ipv6::Cidr6;
use crate::net::netavark::{Cidr, Network};
use crate::net::Attachment;

/// A network's subnets, each with its gateway.
pub struct Subnets {
    pub v4: Option<(Cidr, Option<Ipv4Addr>)>,
    pub v6: Option<(Cidr6, Option<Ipv6Addr>)>,
}

/// The subnets of `network`; an error when it has none hutch can use.
pub fn subnets_of(network: &Network) -> Result<Subnets, Error> {
    let mut out = Subnets { v4: None, v6: None };
    for s in &network.subnets {
        let gateway: Option<IpAddr> = s.gateway.as_deref().and_then(|g| g.parse().ok());
        if let Some(c) = Cidr::parse(&s.subnet) {
            let gw = match gateway {
                Some(IpAddr::V4(g)) => Some(g),
                _ => None,
            };
            out.v4.get_or_insert((c, gw));
        } else if let Some(c) = Cidr6::parse(&s.subnet) {
            let gw = match gateway {
                Some(IpAddr::V6(g)) => Some(g),
                _ => None,
            };
            out.v6.get_or_insert((c, gw));
        }
    }
    if out.v4.is_none() && out.v6.is_none() {
        return Err(networks::Error::Invalid {
            field: "subnet",
            value: network.name.clone(),
            reason: "the network has no subnet hutch can use".into(),
        }
        .into());
    }
    Ok(out)
}

/// Fills in what attachment `a` to `network` needs before addresses are
/// picked: the gateways, prefix lengths and whether its DNS answers names.
pub fn fill(network: &Network, a: &mut Attachment) -> Result<Subnets, Error> {
    let subnets = subnets_of(network)?;
    if let Some((cidr, gateway)) = subnets.v4 {
        a.gateway = gateway;
        a.prefix = cidr.prefix;
    }
    if let Some((cidr, gateway)) = subnets.v6 {
        a.gateway6 = gateway;
        a.prefix6 = cidr.prefix;
    }
    a.dns = network.dns_enabled;
    Ok(subnets)
}

/// The addresses of attachment `a` to `network`, where `used4` and
/// `used6` are taken by other containers: filled into `a` (with the
/// gateways and prefixes) and returned. An address asked for on a network
/// without a subnet of its family is an error.
pub fn assign(
    network: &Network,
    a: &mut Attachment,
    used4: &[Ipv4Addr],
    used6: &[Ipv6Addr],
) -> Result<(Option<Ipv4Addr>, Option<Ipv6Addr>), Error> {
    let subnets = fill(network, a)?;
    let bad = |ip: IpAddr, reason| -> Error {
        networks::Error::BadAddress {
            network: network.name.clone(),
            ip,
            reason,
        }
        .into()
    };
    let v4 = match (subnets.v4, a.ip) {
        (Some((cidr, gateway)), wanted) => Some(pick4(network, &cidr, gateway, wanted, used4)?),
        (None, Some(ip)) => {
            return Err(bad(IpAddr::V4(ip), "for a network without an IPv4 subnet"))
        }
        (None, None) => None,
    };
    let v6 = match (subnets.v6, a.ip6) {
        (Some((cidr, gateway)), Some(ip)) => {
            if !cidr.is_host(ip) {
                return Err(bad(
                    IpAddr::V6(ip),
                    "not a host address of the network's subnet",
                ));
            }
            if Some(ip) == gateway {
                return Err(bad(IpAddr::V6(ip), "the network's gateway"));
            }
            if used6.contains(&ip) {
                return Err(bad(IpAddr::V6(ip), "already in use by another container"));
            }
            Some(ip)
        }
        (Some((cidr, gateway)), None) => Some(
            crate::net::ipv6::free_address(&cidr, gateway, used6).ok_or_else(|| {
                networks::Error::NoAddress {
                    network: network.name.clone(),
                    subnet: cidr.to_string(),
                }
            })?,
        ),
        (None, Some(ip)) => {
            return Err(bad(IpAddr::V6(ip), "for a network without an IPv6 subnet"))
        }
        (None, None) => None,
    };
    a.ip = v4;
    a.ip6 = v6;
    Ok((v4, v6))
}

/// The IPv4 address for a container on `network`: `wanted` if it is free
/// and inside, else the lowest free one.
fn pick4(
    network: &Network,
    cidr: &Cidr,
    gateway: Option<Ipv4Addr>,
    wanted: Option<Ipv4Addr>,
    used: &[Ipv4Addr],
) -> Result<Ipv4Addr, Error> {
    let bad = |ip, reason| networks::Error::BadAddress {
        network: network.name.clone(),
        ip: IpAddr::V4(ip),
        reason,
    };
    if let Some(ip) = wanted {
        if !cidr.contains(ip) || ip == cidr.addr || ip > cidr.last() {
            return Err(bad(ip, "not a host address of the network's subnet").into());
        }
        if Some(ip) == gateway {
            return Err(bad(ip, "the network's gateway").into());
        }
        if used.contains(&ip) {
            return Err(bad(ip, "already in use by another container").into());
        }
        return Ok(ip);
    }
    let range = network
        .subnets
        .iter()
        .find(|s| Cidr::parse(&s.subnet).is_some())
        .and_then(|s| s.lease_range.as_ref())
        .and_then(|r| {
            let lo = r.start_ip.as_deref()?.parse().ok()?;
            let hi = r.end_ip.as_deref()?.parse().ok()?;
            Some((lo, hi))
        });
    crate::net::netavark::free_address(cidr, gateway, range, used).ok_or_else(|| {
        networks::Error::NoAddress {
            network: network.name.clone(),
            subnet: cidr.to_string(),
        }
        .into()
    })
}

/// netavark's static addresses for `v4` and `v6`.
pub fn static_ips(v4: Option<Ipv4Addr>, v6: Option<Ipv6Addr>) -> Vec<String> {
    v4.map(|a| a.to_string())
        .into_iter()
        .chain(v6.map(|a| a.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::netavark::Subnet;

    fn network(subnets: &[(&str, &str)]) -> Network {
        Network {
            name: "n".into(),
            id: "1".into(),
            driver: "bridge".into(),
            network_interface: "podman1".into(),
            created: "t".into(),
            subnets: subnets
                .iter()
                .map(|(s, g)| Subnet {
                    subnet: s.to_string(),
                    gateway: Some(g.to_string()),
                    lease_range: None,
                })
                .collect(),
            ipv6_enabled: true,
            internal: false,
            dns_enabled: true,
            labels: Default::default(),
            options: Default::default(),
            ipam_options: Default::default(),
        }
    }

    #[test]
    fn dual_stack_networks_give_one_address_of_each_family() {
        let n = network(&[("10.89.0.0/24", "10.89.0.1"), ("fd00:1::/64", "fd00:1::1")]);
        let mut a = Attachment::default();
        let used6 = ["fd00:1::2".parse().unwrap()];
        let (v4, v6) = assign(&n, &mut a, &[], &used6).unwrap();
        assert_eq!(v4, Some("10.89.0.2".parse().unwrap()));
        assert_eq!(v6, Some("fd00:1::3".parse().unwrap()));
        assert_eq!(a.gateway6, Some("fd00:1::1".parse().unwrap()));
        assert_eq!((a.prefix, a.prefix6), (24, 64));
        assert_eq!(static_ips(v4, v6), ["10.89.0.2", "fd00:1::3"]);
    }

    #[test]
    fn asked_for_addresses_are_checked_against_their_family() {
        let only6 = network(&[("fd00:1::/64", "fd00:1::1")]);
        let mut a = Attachment {
            ip: Some("10.0.0.2".parse().unwrap()),
            ..Attachment::default()
        };
        assert!(assign(&only6, &mut a, &[], &[]).is_err());
        let mut a = Attachment {
            ip6: Some("fd00:1::10".parse().unwrap()),
            ..Attachment::default()
        };
        let got = assign(&only6, &mut a, &[], &[]).unwrap();
        assert_eq!(got, (None, Some("fd00:1::10".parse().unwrap())));
        for bad in ["fd00:1::1", "fd00:2::5", "fd00:1::"] {
            let mut a = Attachment {
                ip6: Some(bad.parse().unwrap()),
                ..Attachment::default()
            };
            assert!(assign(&only6, &mut a, &[], &[]).is_err(), "{bad}");
        }
        let only4 = network(&[("10.89.0.0/24", "10.89.0.1")]);
        let mut a = Attachment {
            ip6: Some("fd00:1::10".parse().unwrap()),
            ..Attachment::default()
        };
        assert!(assign(&only4, &mut a, &[], &[]).is_err());
    }
}
