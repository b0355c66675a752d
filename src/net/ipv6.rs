//! IPv6 subnets of user-defined networks: parsing, overlap, the address
//! a container gets, and the random unique local /64 a network gets when
//! none is given.

use std::io::Read;
use std::net::Ipv6Addr;

/// An IPv6 subnet: network address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr6 {
    pub addr: Ipv6Addr,
    pub prefix: u8,
}

impl Cidr6 {
    /// Parses `ADDR/N` with N at most 126; the address is masked to the
    /// network's.
    pub fn parse(s: &str) -> Option<Cidr6> {
        let (a, n) = s.split_once('/')?;
        let addr: Ipv6Addr = a.parse().ok()?;
        let prefix: u8 = n.parse().ok().filter(|p| *p <= 126)?;
        Some(Cidr6 {
            addr: Ipv6Addr::from(u128::from(addr) & Self::mask(prefix)),
            prefix,
        })
    }

    fn mask(prefix: u8) -> u128 {
        if prefix == 0 {
            0
        } else {
            u128::MAX << (128 - prefix)
        }
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: Ipv6Addr) -> bool {
        u128::from(ip) & Self::mask(self.prefix) == u128::from(self.addr)
    }

    /// Whether the two subnets share an address.
    pub fn overlaps(&self, other: &Cidr6) -> bool {
        let m = Self::mask(self.prefix.min(other.prefix));
        u128::from(self.addr) & m == u128::from(other.addr) & m
    }

    /// The first address after the subnet's own (the gateway by
    /// convention).
    pub fn first(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) + 1)
    }

    /// The last address of the subnet.
    pub fn last(&self) -> Ipv6Addr {
        Ipv6Addr::from(u128::from(self.addr) | !Self::mask(self.prefix))
    }

    /// Whether `ip` may be given to a container: inside, and neither the
    /// subnet's own address nor its last.
    pub fn is_host(&self, ip: Ipv6Addr) -> bool {
        self.contains(ip) && ip != self.addr && ip != self.last()
    }
}

impl std::fmt::Display for Cidr6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The lowest host address of `cidr` that is neither the gateway nor in
/// `taken`.
pub fn free_address(
    cidr: &Cidr6,
    gateway: Option<Ipv6Addr>,
    taken: &[Ipv6Addr],
) -> Option<Ipv6Addr> {
    let start = u128::from(cidr.first());
    // At most taken.len() + 1 candidates are in use, so this many tries
    // find a free one when the subnet has room.
    let tries = taken.len() as u128 + 2;
    (start..start.saturating_add(tries))
        .map(Ipv6Addr::from)
        .find(|ip| cidr.is_host(*ip) && Some(*ip) != gateway && !taken.contains(ip))
}

/// A random unique local /64 (`fdXX:XXXX:XXXX:XXXX::/64`, RFC 4193: a
/// random 40-bit global id and a random subnet id) that overlaps none of
/// `taken`.
pub fn random_ula(taken: &[Cidr6]) -> Option<Cidr6> {
    let mut file = std::fs::File::open("/dev/urandom").ok()?;
    for _ in 0..64 {
        let mut bytes = [0u8; 7];
        file.read_exact(&mut bytes).ok()?;
        let mut raw = [0u8; 16];
        raw[0] = 0xfd;
        raw[1..8].copy_from_slice(&bytes);
        let c = Cidr6 {
            addr: Ipv6Addr::from(raw),
            prefix: 64,
        };
        if !taken.iter().any(|t| t.overlaps(&c)) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_parse_mask_and_contain() {
        let c = Cidr6::parse("fd00:1::7/64").unwrap();
        assert_eq!(c.to_string(), "fd00:1::/64");
        assert!(c.contains(ip("fd00:1::ffff")));
        assert!(!c.contains(ip("fd00:2::1")));
        assert_eq!(c.first(), ip("fd00:1::1"));
        assert_eq!(c.last(), ip("fd00:1::ffff:ffff:ffff:ffff"));
        assert!(c.overlaps(&Cidr6::parse("fd00::/16").unwrap()));
        assert!(!c.overlaps(&Cidr6::parse("fd00:2::/64").unwrap()));
        assert_eq!(Cidr6::parse("fd00::/127"), None);
        assert_eq!(Cidr6::parse("10.0.0.0/8"), None);
        assert!(!c.is_host(c.addr));
        assert!(!c.is_host(c.last()));
    }

    #[test]
    fn free_addresses_skip_the_gateway_and_those_taken() {
        let c = Cidr6::parse("fd00:1::/64").unwrap();
        let gw = Some(c.first());
        assert_eq!(free_address(&c, gw, &[]), Some(ip("fd00:1::2")));
        let taken = [ip("fd00:1::2"), ip("fd00:1::3")];
        assert_eq!(free_address(&c, gw, &taken), Some(ip("fd00:1::4")));
        let tiny = Cidr6::parse("fd00:1::/126").unwrap();
        let all = [ip("fd00:1::2")];
        assert_eq!(free_address(&tiny, gw, &all), None);
    }

    #[test]
    fn random_subnets_are_unique_local_and_avoid_those_taken() {
        let a = random_ula(&[]).unwrap();
        assert_eq!(a.prefix, 64);
        assert_eq!(a.addr.segments()[0] & 0xff00, 0xfd00);
        assert!(a.addr.segments()[4..].iter().all(|s| *s == 0));
        let b = random_ula(&[a]).unwrap();
        assert!(!a.overlaps(&b));
        let everything = Cidr6::parse("fd00::/8").unwrap();
        assert_eq!(random_ula(&[everything]), None);
    }
}
