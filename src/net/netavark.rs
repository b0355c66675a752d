//! User-defined networks as netavark describes them, and running netavark
//! to attach a container's network namespace to them (and to detach it).
//!
//! A network's definition is netavark's (and Podman's) JSON, so the same
//! text is stored, shown by `network inspect` and handed to netavark.
//! netavark runs inside the user and network namespaces of the network
//! holder (see `container::netholder`): the bridge, its firewall rules and
//! aardvark-dns live there, and the container's namespace, owned by the
//! same user namespace, gets the other end of a veth pair.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::Error;

/// One subnet of a network.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Subnet {
    /// `A.B.C.D/N`.
    pub subnet: String,
    /// The bridge's address, if the network has a gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    /// `--ip-range`: where addresses are picked from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
}

/// The part of a subnet addresses are given from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeaseRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ip: Option<String>,
}

/// A user-defined network, as netavark and Podman write it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Network {
    pub name: String,
    /// 64 hex digits.
    pub id: String,
    /// `bridge`.
    pub driver: String,
    /// The bridge's interface name in the holder's namespace.
    pub network_interface: String,
    /// RFC 3339.
    pub created: String,
    #[serde(default)]
    pub subnets: Vec<Subnet>,
    #[serde(default)]
    pub ipv6_enabled: bool,
    #[serde(default)]
    pub internal: bool,
    #[serde(default)]
    pub dns_enabled: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
}

/// An IPv4 subnet: network address and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `A.B.C.D/N`; the address is masked to the network's.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (a, n) = s.split_once('/')?;
        let addr: Ipv4Addr = a.parse().ok()?;
        let prefix: u8 = n.parse().ok().filter(|p| *p <= 30)?;
        let mask = Self::mask(prefix);
        Some(Cidr {
            addr: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    fn mask(prefix: u8) -> u32 {
        if prefix == 0 {
            0
        } else {
            u32::MAX << (32 - prefix)
        }
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Self::mask(self.prefix) == u32::from(self.addr)
    }

    /// Whether the two subnets share an address.
    pub fn overlaps(&self, other: &Cidr) -> bool {
        let p = self.prefix.min(other.prefix);
        let m = Self::mask(p);
        u32::from(self.addr) & m == u32::from(other.addr) & m
    }

    /// The first usable address (the gateway by convention).
    pub fn first(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) + 1)
    }

    /// The last usable address (before broadcast).
    pub fn last(&self) -> Ipv4Addr {
        Ipv4Addr::from((u32::from(self.addr) | !Self::mask(self.prefix)) - 1)
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The lowest address of `cidr` (between `range` if given) that is neither
/// the gateway nor in `taken`.
pub fn free_address(
    cidr: &Cidr,
    gateway: Option<Ipv4Addr>,
    range: Option<(Ipv4Addr, Ipv4Addr)>,
    taken: &[Ipv4Addr],
) -> Option<Ipv4Addr> {
    let (lo, hi) = range.unwrap_or((cidr.first(), cidr.last()));
    (u32::from(lo)..=u32::from(hi))
        .map(Ipv4Addr::from)
        .find(|ip| Some(*ip) != gateway && !taken.contains(ip) && cidr.contains(*ip))
}

/// A container's options on one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PerNetwork {
    pub interface_name: String,
    #[serde(default)]
    pub static_ips: Vec<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_mac: Option<String>,
}

/// A published port as netavark takes it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PortMapping {
    pub host_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub range: u16,
    pub protocol: String,
}

/// What netavark's `setup` and `teardown` read: the container, its
/// networks and their definitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Options {
    pub container_id: String,
    pub container_name: String,
    pub networks: BTreeMap<String, PerNetwork>,
    pub network_info: BTreeMap<String, Network>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns_servers: Vec<String>,
}

/// One interface's addresses as netavark reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InterfaceStatus {
    #[serde(default)]
    pub mac_address: String,
    #[serde(default)]
    pub subnets: Vec<AddressStatus>,
}

/// An address of an interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddressStatus {
    /// `A.B.C.D/N`.
    pub ipnet: String,
    #[serde(default)]
    pub gateway: Option<String>,
}

/// What `setup` reports for one network.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    #[serde(default)]
    pub dns_search_domains: Vec<String>,
    #[serde(default)]
    pub dns_server_ips: Vec<String>,
    #[serde(default)]
    pub interfaces: BTreeMap<String, InterfaceStatus>,
}

/// Where netavark and aardvark-dns are looked for, after `PATH`: the
/// directories distributions install Podman's helpers in.
const HELPER_DIRS: [&str; 4] = [
    "/usr/local/libexec/podman",
    "/usr/local/lib/podman",
    "/usr/libexec/podman",
    "/usr/lib/podman",
];

/// The path of helper `name` (netavark, aardvark-dns), if installed.
pub fn find_helper(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    HELPER_DIRS
        .iter()
        .map(|d| Path::new(d).join(name))
        .chain(
            path.split(':')
                .filter(|d| !d.is_empty())
                .map(|d| Path::new(d).join(name)),
        )
        .find(|p| p.is_file())
}

/// The namespaces netavark runs in: the holder's user and network
/// namespaces, user first.
#[derive(Debug)]
pub struct Holder {
    pub user: OwnedFd,
    pub net: OwnedFd,
}

/// netavark's command for `verb` (`setup`, `teardown`) on the network
/// namespace `netns` (an fd this process keeps open: it is passed as fd 3),
/// its aardvark-dns state in `config_dir`.
fn command(
    config_dir: &Path,
    verb: &str,
    holder: &Holder,
    netns: &OwnedFd,
) -> Result<Command, Error> {
    let netavark = find_helper("netavark").ok_or(Error::HelperMissing("netavark"))?;
    let mut cmd = Command::new(netavark);
    cmd.arg("--config")
        .arg(config_dir)
        .arg("--rootless")
        .arg("true");
    if let Some(aardvark) = find_helper("aardvark-dns") {
        cmd.arg("--aardvark-binary").arg(aardvark);
    }
    cmd.arg(verb).arg("/proc/self/fd/3");
    // netavark runs iptables from PATH, which for users on Debian and
    // others lacks the sbin directories it is in.
    cmd.env(
        "PATH",
        with_sbin(&std::env::var("PATH").unwrap_or_default()),
    );
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::sys::spawn::enter_namespaces(
        &mut cmd,
        [holder.user.as_raw_fd(), holder.net.as_raw_fd()],
        netns.as_raw_fd(),
    );
    Ok(cmd)
}

/// `path` (a `PATH` value) with the sbin directories it lacks appended.
fn with_sbin(path: &str) -> String {
    let mut out = path.to_string();
    for dir in ["/usr/local/sbin", "/usr/sbin", "/sbin"] {
        if !path.split(':').any(|d| d == dir) {
            if !out.is_empty() {
                out.push(':');
            }
            out.push_str(dir);
        }
    }
    out
}

/// Runs netavark `verb` with `opts` on stdin; returns its stdout.
fn run(
    config_dir: &Path,
    verb: &str,
    holder: &Holder,
    netns: &OwnedFd,
    opts: &Options,
) -> Result<Vec<u8>, Error> {
    const NAME: &str = "netavark";
    let mut child = command(config_dir, verb, holder, netns)?
        .spawn()
        .map_err(|source| Error::SpawnHelper {
            helper: NAME,
            source,
        })?;
    let input = serde_json::to_vec(opts).unwrap_or_default();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(&input);
    }
    let out = child
        .wait_with_output()
        .map_err(|source| Error::SpawnHelper {
            helper: NAME,
            source,
        })?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.contains("syslog") && !l.is_empty())
            .collect();
        // netavark reports its error as `{"error": "…"}` on stdout.
        let reported = serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from));
        let message = match reported.as_deref().or(lines.last().copied()) {
            Some(l) => l.to_string(),
            None => format!("it exited with {} without saying why", out.status),
        };
        return Err(Error::HelperFailed {
            helper: NAME,
            message: format!("{verb}: {message}"),
        });
    }
    Ok(out.stdout)
}

/// Attaches the network namespace `netns` to the networks of `opts`;
/// returns netavark's status per network.
pub fn setup(
    config_dir: &Path,
    holder: &Holder,
    netns: &OwnedFd,
    opts: &Options,
) -> Result<BTreeMap<String, Status>, Error> {
    let out = run(config_dir, "setup", holder, netns, opts)?;
    serde_json::from_slice(&out).map_err(|e| Error::HelperFailed {
        helper: "netavark",
        message: format!("setup reported something unreadable: {e}"),
    })
}

/// Undoes `setup`: the firewall rules and name records go; the veth goes
/// with the namespace.
pub fn teardown(
    config_dir: &Path,
    holder: &Holder,
    netns: &OwnedFd,
    opts: &Options,
) -> Result<(), Error> {
    run(config_dir, "teardown", holder, netns, opts).map(drop)
}

/// A container's attachment: undone when dropped (netavark `teardown`,
/// then its record under the holder's state removed, which frees its
/// addresses and may let the holder go).
pub struct Detach {
    /// netavark's `--config` directory.
    pub config_dir: PathBuf,
    /// The holder's namespaces.
    pub holder: Holder,
    /// The container's network namespace, kept open for the teardown.
    pub netns: OwnedFd,
    /// What `setup` was given.
    pub options: Options,
    /// The container's attachment record.
    pub record: PathBuf,
}

/// The part of an attachment record `Detach` reads: the options as they
/// are now (`network connect` and `disconnect` change them).
#[derive(serde::Deserialize)]
struct Recorded {
    options: Options,
}

impl Drop for Detach {
    fn drop(&mut self) {
        let now = std::fs::read(&self.record)
            .ok()
            .and_then(|t| serde_json::from_slice::<Recorded>(&t).ok())
            .map(|r| r.options);
        let options = now.as_ref().unwrap_or(&self.options);
        if options.networks.is_empty() {
            let _ = std::fs::remove_file(&self.record);
            return;
        }
        if let Err(e) = teardown(&self.config_dir, &self.holder, &self.netns, options) {
            log::warn!("detaching container {}: {e}", self.options.container_name);
        }
        let _ = std::fs::remove_file(&self.record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netavark_finds_iptables_in_sbin() {
        assert_eq!(
            with_sbin("/usr/bin:/bin"),
            "/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"
        );
        assert_eq!(
            with_sbin("/usr/sbin:/bin"),
            "/usr/sbin:/bin:/usr/local/sbin:/sbin"
        );
        assert_eq!(with_sbin(""), "/usr/local/sbin:/usr/sbin:/sbin");
    }

    #[test]
    fn subnets_parse_mask_and_contain() {
        let c = Cidr::parse("10.89.0.7/24").unwrap();
        assert_eq!(c.to_string(), "10.89.0.0/24");
        assert!(c.contains("10.89.0.200".parse().unwrap()));
        assert!(!c.contains("10.89.1.1".parse().unwrap()));
        assert_eq!(c.first().to_string(), "10.89.0.1");
        assert_eq!(c.last().to_string(), "10.89.0.254");
        assert!(c.overlaps(&Cidr::parse("10.89.0.0/16").unwrap()));
        assert!(!c.overlaps(&Cidr::parse("10.89.1.0/24").unwrap()));
        assert_eq!(Cidr::parse("10.0.0.0/31"), None);
        assert_eq!(Cidr::parse("nonsense"), None);
    }

    #[test]
    fn free_addresses_skip_the_gateway_and_those_taken() {
        let c = Cidr::parse("10.89.0.0/29").unwrap();
        let gw = Some(c.first());
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(free_address(&c, gw, None, &[]), Some(ip("10.89.0.2")));
        assert_eq!(
            free_address(&c, gw, None, &[ip("10.89.0.2"), ip("10.89.0.3")]),
            Some(ip("10.89.0.4"))
        );
        let all: Vec<_> = (2..=6).map(|n| ip(&format!("10.89.0.{n}"))).collect();
        assert_eq!(free_address(&c, gw, None, &all), None);
        let range = Some((ip("10.89.0.5"), ip("10.89.0.6")));
        assert_eq!(free_address(&c, gw, range, &[]), Some(ip("10.89.0.5")));
    }

    #[test]
    fn definitions_read_as_netavark_writes_them() {
        let text = r#"{"name":"app","id":"a1","driver":"bridge","network_interface":"podman1",
            "created":"2026-01-01T00:00:00Z","subnets":[{"subnet":"10.89.0.0/24","gateway":"10.89.0.1"}],
            "ipv6_enabled":false,"internal":false,"dns_enabled":true,"ipam_options":{"driver":"host-local"}}"#;
        let n: Network = serde_json::from_str(text).unwrap();
        assert_eq!(n.subnets[0].gateway.as_deref(), Some("10.89.0.1"));
        let back = serde_json::to_value(&n).unwrap();
        assert!(back.get("labels").is_none());
        assert_eq!(back["ipam_options"]["driver"], "host-local");
    }
}
