//! Networking: the container's network mode, its published ports, its
//! /etc/hosts and /etc/resolv.conf, and the user-space helper (pasta or
//! slirp4netns) that connects its network namespace to the host.
//!
//! Planning is pure data (`NetworkPlan`); `helper` spawns and stops the
//! helper process for a namespace the caller created. It must not create
//! namespaces, know about images or print.

mod etc;
mod forward;
mod helper;
pub mod ipv6;
pub mod netavark;
mod ports;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use etc::{container_address, hosts_file, resolv_conf};
pub use forward::{run_forwarder, spawn_forwarder};
pub use helper::{
    reap_stopped, spawn_pasta, start_helper, HelperRecord, PastaTarget, RunningHelper,
    StartingPasta,
};
pub use ports::{
    check_ports, exposed_ports, format_port, parse_publish, resolve_ports, unprivileged_port_start,
    PortMapping, Protocol, PublishedPort,
};

/// What went wrong planning or connecting a container's network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--network` names no known mode.
    #[error("invalid --network {0:?}: use pasta[:OPTIONS], slirp4netns[:OPTIONS], host or none")]
    InvalidMode(String),
    /// The mode exists but hutch cannot provide it rootless.
    #[error("--network {mode} is not supported: {reason}")]
    UnsupportedMode { mode: String, reason: String },
    /// A slirp4netns option is unknown or has a bad value.
    #[error("invalid slirp4netns option {0:?}: use allow_host_loopback=BOOL, mtu=N, cidr=A.B.C.D/N, enable_ipv6=BOOL, port_handler=rootlesskit|slirp4netns")]
    InvalidSlirpOption(String),
    /// `-p` does not parse.
    #[error("invalid -p {spec:?}: {reason}")]
    InvalidPublish { spec: String, reason: String },
    /// `-p` with `--network none` or `host`.
    #[error("-p needs a network helper: --network {0} publishes nothing")]
    PublishWithoutHelper(String),
    /// `--add-host` is not `NAME:ADDRESS`.
    #[error("invalid --add-host {0:?}: use NAME:ADDRESS")]
    InvalidAddHost(String),
    /// `--dns` is not an address.
    #[error("invalid --dns {0:?}: use an IPv4 or IPv6 address")]
    InvalidDns(String),
    /// The selected helper is not installed.
    #[error("{0} is not installed")]
    HelperMissing(&'static str),
    /// `--network-cmd-path` names no file.
    #[error("--network-cmd-path {0}: no such file")]
    CmdPath(PathBuf),
    /// A host port is below the unprivileged port start.
    #[error("host port {port} is privileged (net.ipv4.ip_unprivileged_port_start is {start}): use a port from {start} up, or run `sysctl net.ipv4.ip_unprivileged_port_start={port}` as root")]
    PrivilegedPort { port: u16, start: u16 },
    /// A host port is taken.
    #[error("host port {addr} is already in use")]
    PortInUse {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// No free port could be picked for `-p` without a host port.
    #[error("picking a free host port for {0}")]
    PickPort(String, #[source] std::io::Error),
    /// The helper could not be started.
    #[error("starting {helper}")]
    SpawnHelper {
        helper: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// The helper exited before it was ready.
    #[error("{helper} failed: {message}")]
    HelperFailed {
        helper: &'static str,
        message: String,
    },
    /// The helper did not report readiness in time.
    #[error("{0} did not become ready in time")]
    HelperTimeout(&'static str),
    /// A pipe for the helper's readiness could not be made.
    #[error("creating a pipe for {0}")]
    Pipe(&'static str, #[source] nix::Error),
    /// Talking to slirp4netns's API socket failed.
    #[error("asking slirp4netns to forward {port}")]
    SlirpApi {
        port: String,
        #[source]
        source: std::io::Error,
    },
    /// slirp4netns refused a forward.
    #[error("slirp4netns refused to forward {port}: {reply}")]
    SlirpRefused { port: String, reply: String },
}

/// A network helper found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    /// `pasta` or `slirp4netns`.
    pub name: &'static str,
    /// Where it was found.
    pub path: PathBuf,
}

/// The helpers found in `path_var` (a `PATH` value), with `slirp4netns`
/// (`--network-cmd-path`) instead of the slirp4netns there when given;
/// fails when that is no file.
pub fn find_helpers_with(path_var: &str, slirp4netns: Option<&Path>) -> Result<Vec<Helper>, Error> {
    let mut helpers = find_helpers(path_var);
    if let Some(path) = slirp4netns {
        if !path.is_file() {
            return Err(Error::CmdPath(path.to_path_buf()));
        }
        helpers.retain(|h| h.name != "slirp4netns");
        helpers.push(Helper {
            name: "slirp4netns",
            path: path.to_path_buf(),
        });
    }
    Ok(helpers)
}

/// The helpers found in `path_var` (a `PATH` value), pasta first.
pub fn find_helpers(path_var: &str) -> Vec<Helper> {
    ["pasta", "slirp4netns"]
        .into_iter()
        .filter_map(|name| find_in_path(path_var, name).map(|path| Helper { name, path }))
        .collect()
}

fn find_in_path(path_var: &str, name: &str) -> Option<PathBuf> {
    path_var
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// The default network mode given the `helpers` found on a host with a
/// default route, with the reason.
#[cfg(test)]
fn default_mode(helpers: &[Helper]) -> (Mode, &'static str) {
    default_mode_for(helpers, true)
}

/// The default network mode given the `helpers` found and whether the
/// host has a default route (`is_online`), with the reason.
///
/// slirp4netns first, as Podman 4.3 (the oracle) does: on the 2-core
/// reference host it makes `run --rm` about 20 ms faster than pasta and
/// keeps a detached container's helper at about 3.4 MB of private memory
/// against pasta's 29 MB (docs/performance.md). pasta copies the host's
/// default route interface and refuses to start without one ("External
/// interface not usable"), so without slirp4netns an offline host gets
/// loopback only.
pub fn default_mode_for(helpers: &[Helper], is_online: bool) -> (Mode, &'static str) {
    let has = |name: &str| helpers.iter().any(|h| h.name == name);
    if has("slirp4netns") {
        (
            Mode::Slirp4netns(SlirpOptions::default()),
            "slirp4netns is installed (Podman 4.3's default; starts faster and uses less memory than pasta)",
        )
    } else if has("pasta") && is_online {
        (
            Mode::Pasta(Vec::new()),
            "slirp4netns is not installed, pasta is",
        )
    } else if has("pasta") {
        (
            Mode::None,
            "the host has no default route, which pasta needs, and slirp4netns is not installed: loopback only",
        )
    } else {
        (
            Mode::None,
            "neither pasta nor slirp4netns is installed: loopback only",
        )
    }
}

/// How a container is connected.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// A network namespace with loopback only (`--network none`; also
    /// what plans stored before networking existed get).
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// pasta, with extra pasta arguments.
    Pasta(Vec<String>),
    /// slirp4netns, with Podman's options.
    Slirp4netns(SlirpOptions),
    /// User-defined networks (`network create`), through netavark in the
    /// network holder's namespaces.
    Bridge(Vec<Attachment>),
}

/// A user-defined network a container is attached to.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Attachment {
    /// The network's name.
    pub network: String,
    /// `--network-alias`: more names the network's DNS answers for.
    pub aliases: Vec<String>,
    /// `--ip`: the address asked for; else one is picked at start.
    pub ip: Option<std::net::Ipv4Addr>,
    /// Filled in at start: the network's gateway and prefix length, and
    /// whether its DNS server (on the gateway) answers container names.
    pub gateway: Option<std::net::Ipv4Addr>,
    pub prefix: u8,
    pub dns: bool,
    /// `--ip6`: the IPv6 address asked for; else one is picked at start
    /// on a network with an IPv6 subnet.
    pub ip6: Option<std::net::Ipv6Addr>,
    /// Filled in at start: the IPv6 subnet's gateway and prefix length.
    pub gateway6: Option<std::net::Ipv6Addr>,
    pub prefix6: u8,
    /// `--mac-address`: the interface's MAC address on this network.
    pub mac: Option<String>,
}

impl Mode {
    /// Whether the container gets a network namespace of its own.
    pub fn is_private(&self) -> bool {
        !matches!(self, Mode::Host)
    }

    /// The helper this mode runs, if any.
    pub fn helper(&self) -> Option<&'static str> {
        match self {
            Mode::Pasta(_) => Some("pasta"),
            Mode::Slirp4netns(_) => Some("slirp4netns"),
            Mode::None | Mode::Host | Mode::Bridge(_) => None,
        }
    }

    /// The mode's name as `--network` spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Host => "host",
            Mode::Pasta(_) => "pasta",
            Mode::Slirp4netns(_) => "slirp4netns",
            Mode::Bridge(_) => "bridge",
        }
    }

    /// The user-defined networks of the mode (none but for `Bridge`).
    pub fn attachments(&self) -> &[Attachment] {
        match self {
            Mode::Bridge(a) => a,
            _ => &[],
        }
    }
}

/// Podman's slirp4netns options that hutch implements.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SlirpOptions {
    /// `port_handler=slirp4netns`: forward TCP through slirp4netns's
    /// `add_hostfwd` instead of hutch's own forwarder.
    pub is_slirp_port_handler: bool,
    /// Let the container reach the host's 127.0.0.1 through 10.0.2.2.
    pub allow_host_loopback: bool,
    /// MTU of tap0.
    pub mtu: u32,
    /// The virtual network, `10.0.2.0/24` by default.
    pub cidr: Option<String>,
    /// Enable IPv6 (experimental in slirp4netns).
    pub enable_ipv6: bool,
}

impl Default for SlirpOptions {
    fn default() -> Self {
        SlirpOptions {
            is_slirp_port_handler: false,
            allow_host_loopback: false,
            mtu: 65520,
            cidr: None,
            enable_ipv6: false,
        }
    }
}

impl SlirpOptions {
    /// The first three octets of the virtual network and its prefix
    /// length: slirp4netns puts the gateway at .2, DNS at .3 and the
    /// container at .100.
    fn network(&self) -> ([u8; 3], u8) {
        let parsed = self.cidr.as_deref().and_then(|c| {
            let (addr, len) = c.split_once('/')?;
            let addr: std::net::Ipv4Addr = addr.parse().ok()?;
            let o = addr.octets();
            Some(([o[0], o[1], o[2]], len.parse().ok()?))
        });
        parsed.unwrap_or(([10, 0, 2], 24))
    }

    /// The address slirp4netns gives the container.
    pub fn container_addr(&self) -> IpAddr {
        let ([a, b, c], _) = self.network();
        IpAddr::from([a, b, c, 100])
    }

    /// The gateway, which is the host's loopback with `allow_host_loopback`.
    pub fn gateway(&self) -> IpAddr {
        let ([a, b, c], _) = self.network();
        IpAddr::from([a, b, c, 2])
    }

    /// slirp4netns's DNS forwarder.
    pub fn dns(&self) -> IpAddr {
        let ([a, b, c], _) = self.network();
        IpAddr::from([a, b, c, 3])
    }
}

/// The address pasta's DNS forwarder answers on inside the container
/// (link-local, so it never clashes with a real network; Podman's choice).
pub const PASTA_DNS: &str = "169.254.1.1";

/// The `pasta:` option that makes the gateway address reach the host's
/// loopback (Podman's; hutch passes `--no-map-gw` to pasta without it).
pub const PASTA_MAP_GW: &str = "--map-gw";

/// Whether pasta's options `extra` ask for the gateway to reach the host's
/// loopback.
pub fn is_pasta_gateway_mapped(extra: &[String]) -> bool {
    extra.iter().any(|a| a == PASTA_MAP_GW) && !extra.iter().any(|a| a == "--no-map-gw")
}

/// The network part of a container's plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NetworkPlan {
    /// How the container is connected.
    pub mode: Mode,
    /// `-p` and `-P`, one entry per port (ranges expanded).
    pub ports: Vec<PortMapping>,
    /// `--dns` servers.
    pub dns: Vec<String>,
    /// `--dns-search` domains.
    pub dns_search: Vec<String>,
    /// `--dns-option` options.
    pub dns_options: Vec<String>,
    /// `--add-host` entries: name and address.
    pub add_hosts: Vec<(String, String)>,
    /// `--no-hosts`: leave the image's /etc/hosts alone.
    pub no_hosts: bool,
    /// `--mac-address` for the container's interface.
    pub mac_address: Option<String>,
    /// What the host looked like when planned: its address on the default
    /// route's interface, for pasta's copy of it and for
    /// `host.containers.internal`.
    pub host_addr: Option<IpAddr>,
    /// The host's default gateway, which pasta maps to the host itself.
    pub host_gateway: Option<IpAddr>,
    /// The exposed ports (`--expose` and the image's), one `PORT/PROTO`
    /// per port (#13); none in older plans.
    pub exposed: Vec<String>,
    /// The helper binary found when planned (`--network-cmd-path` for
    /// slirp4netns); none in older plans, which look it up on `PATH`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helper_path: Option<PathBuf>,
}

/// The network flags as given.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NetworkRequest {
    /// `--network`, if given.
    pub network: Option<String>,
    /// `-p`.
    pub publish: Vec<String>,
    /// `-P`: publish the image's exposed ports.
    pub publish_all: bool,
    /// Exposed ports (`80/tcp`): the front end's own; `create` adds the
    /// image's ExposedPorts keys.
    pub exposed: Vec<String>,
    /// `--dns`.
    pub dns: Vec<String>,
    /// `--dns-search`.
    pub dns_search: Vec<String>,
    /// `--dns-option`.
    pub dns_options: Vec<String>,
    /// `--add-host`.
    pub add_hosts: Vec<String>,
    /// `--no-hosts`.
    pub no_hosts: bool,
    /// `--mac-address`.
    pub mac_address: Option<String>,
    /// `--network-alias`.
    pub aliases: Vec<String>,
    /// `--ip`.
    pub ip: Option<String>,
    /// `--ip6`.
    pub ip6: Option<String>,
    /// The user-defined networks `--network` names, resolved by the engine
    /// (not given by front ends).
    pub networks: Vec<Attachment>,
}

/// Checks the network flags and plans the network; `helpers` are the
/// helpers installed, `host` the host's default route.
pub fn plan_network(
    req: &NetworkRequest,
    helpers: &[Helper],
    host: HostRoute,
) -> Result<NetworkPlan, Error> {
    let mode = match &req.network {
        _ if !req.networks.is_empty() => Mode::Bridge(req.networks.clone()),
        None => default_mode_for(helpers, host.gateway.is_some()).0,
        Some(spec) => parse_mode(spec)?,
    };
    if !matches!(mode, Mode::Bridge(_)) {
        if let Some(flag) = [
            (!req.aliases.is_empty(), "--network-alias"),
            (req.ip.is_some(), "--ip"),
            (req.ip6.is_some(), "--ip6"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
        {
            return Err(Error::UnsupportedMode {
                mode: format!("{} with {flag}", mode.name()),
                reason:
                    "aliases and static addresses need a network made with `hutch network create`"
                        .into(),
            });
        }
    }
    let mut helper_path = None;
    if let Some(name) = mode.helper() {
        match helpers.iter().find(|h| h.name == name) {
            Some(h) => helper_path = Some(h.path.clone()),
            None => return Err(Error::HelperMissing(name)),
        }
    }
    let mut ports = Vec::new();
    for spec in &req.publish {
        ports.extend(parse_publish(spec)?);
    }
    if req.publish_all {
        for spec in &req.exposed {
            for p in parse_publish(spec)? {
                if !ports.iter().any(|q: &PortMapping| {
                    q.container_port == p.container_port && q.proto == p.proto
                }) {
                    ports.push(p);
                }
            }
        }
    }
    if !ports.is_empty() && mode.helper().is_none() && !matches!(mode, Mode::Bridge(_)) {
        return Err(Error::PublishWithoutHelper(mode.name().to_string()));
    }
    for d in &req.dns {
        d.parse::<IpAddr>()
            .map_err(|_| Error::InvalidDns(d.clone()))?;
    }
    let mut add_hosts = Vec::new();
    for entry in &req.add_hosts {
        // NAME:ADDRESS; the address may be IPv6 and contain colons.
        let (name, addr) = entry
            .split_once(':')
            .filter(|(n, a)| !n.is_empty() && a.trim_matches(['[', ']']).parse::<IpAddr>().is_ok())
            .ok_or_else(|| Error::InvalidAddHost(entry.clone()))?;
        add_hosts.push((name.to_string(), a_strip(addr)));
    }
    if let Some(mac) = &req.mac_address {
        let is_helper_or_bridge = matches!(
            mode,
            Mode::Pasta(_) | Mode::Slirp4netns(_) | Mode::Bridge(_)
        );
        if !is_helper_or_bridge || !is_mac(mac) {
            return Err(Error::UnsupportedMode {
                mode: format!("{} with --mac-address {mac}", mode.name()),
                reason: "a MAC address (xx:xx:xx:xx:xx:xx) applies only to pasta, slirp4netns and user-defined networks"
                    .into(),
            });
        }
    }
    Ok(NetworkPlan {
        mode,
        ports,
        dns: req.dns.clone(),
        dns_search: req.dns_search.clone(),
        dns_options: req.dns_options.clone(),
        add_hosts,
        no_hosts: req.no_hosts,
        mac_address: req.mac_address.clone(),
        host_addr: host.addr,
        host_gateway: host.gateway,
        exposed: expand_exposed(&req.exposed),
        helper_path,
    })
}

/// `PORT/PROTO` for every port of `specs` (ranges expanded, duplicates
/// and what does not parse left out).
fn expand_exposed(specs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in specs.iter().filter_map(|s| parse_publish(s).ok()).flatten() {
        let key = format!("{}/{}", p.container_port, p.proto.name());
        if !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

fn a_strip(addr: &str) -> String {
    addr.trim_matches(['[', ']']).to_string()
}

pub fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Parses `--network`.
pub fn parse_mode(spec: &str) -> Result<Mode, Error> {
    let (name, opts) = match spec.split_once(':') {
        Some((n, o)) => (n, Some(o)),
        None => (spec, None),
    };
    match (name, opts) {
        ("none", None) => Ok(Mode::None),
        ("host", None) => Ok(Mode::Host),
        ("pasta", o) => Ok(Mode::Pasta(
            o.map(|o| o.split(',').filter(|a| !a.is_empty()).map(String::from).collect())
                .unwrap_or_default(),
        )),
        ("slirp4netns", o) => parse_slirp_options(o.unwrap_or("")).map(Mode::Slirp4netns),
        ("container" | "ns", Some(_)) => Err(Error::UnsupportedMode {
            mode: spec.to_string(),
            reason: "each hutch container owns its user namespace, and joining another's network namespace needs privileges in it; use pasta, slirp4netns, host or none".into(),
        }),
        ("bridge" | "private", None) => Err(Error::UnsupportedMode {
            mode: spec.to_string(),
            reason: "rootless containers have no bridge; use pasta or slirp4netns".into(),
        }),
        _ => Err(Error::InvalidMode(spec.to_string())),
    }
}

fn parse_slirp_options(opts: &str) -> Result<SlirpOptions, Error> {
    let mut out = SlirpOptions::default();
    let bad = |o: &str| Error::InvalidSlirpOption(o.to_string());
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        let (key, value) = opt.split_once('=').unwrap_or((opt, "true"));
        let flag = || match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(bad(opt)),
        };
        match key {
            "allow_host_loopback" => out.allow_host_loopback = flag()?,
            "enable_ipv6" => out.enable_ipv6 = flag()?,
            "mtu" => {
                out.mtu = value
                    .parse()
                    .ok()
                    .filter(|m| (68..=65521).contains(m))
                    .ok_or_else(|| bad(opt))?
            }
            "cidr" => {
                let ok = value.split_once('/').is_some_and(|(a, l)| {
                    a.parse::<std::net::Ipv4Addr>().is_ok()
                        && l.parse::<u8>().is_ok_and(|l| (8..=25).contains(&l))
                });
                if !ok {
                    return Err(bad(opt));
                }
                out.cidr = Some(value.to_string());
            }
            "port_handler" if value == "slirp4netns" => out.is_slirp_port_handler = true,
            // hutch's own forwarder stands in for rootlesskit's.
            "port_handler" if value == "rootlesskit" => out.is_slirp_port_handler = false,
            _ => return Err(bad(opt)),
        }
    }
    Ok(out)
}

/// The host's default IPv4 route: its gateway and the host's address on
/// its interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostRoute {
    /// The host's address on the default route's interface.
    pub addr: Option<IpAddr>,
    /// The default gateway.
    pub gateway: Option<IpAddr>,
}

/// Reads the host's default route from `proc` (`/proc`): `net/route`
/// names its interface and gateway (hex, in host byte order); the
/// interface's address comes from getifaddrs(3).
pub fn host_route(proc: &Path) -> HostRoute {
    let route = std::fs::read_to_string(proc.join("net/route")).unwrap_or_default();
    let Some((iface, gateway)) = parse_default_route(&route) else {
        return HostRoute::default();
    };
    let addr = nix::ifaddrs::getifaddrs().ok().and_then(|mut addrs| {
        addrs.find_map(|a| {
            if a.interface_name != iface {
                return None;
            }
            let sin = a.address?.as_sockaddr_in().copied()?;
            Some(IpAddr::V4(sin.ip()))
        })
    });
    HostRoute {
        addr,
        gateway: Some(gateway),
    }
}

fn parse_default_route(route: &str) -> Option<(String, IpAddr)> {
    route.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 || f[1] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(f[2], 16).ok()?;
        Some((f[0].to_string(), IpAddr::from(gw.to_le_bytes())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helpers(names: &[&'static str]) -> Vec<Helper> {
        names
            .iter()
            .map(|n| Helper {
                name: n,
                path: PathBuf::from(format!("/usr/bin/{n}")),
            })
            .collect()
    }

    #[test]
    fn default_route_names_interface_and_gateway() {
        let route = "Iface\tDestination\tGateway\tFlags\neth0\t0002A8C0\t00000000\t0001\neth0\t00000000\t010200C0\t0003\n";
        assert_eq!(
            parse_default_route(route),
            Some(("eth0".to_string(), "192.0.2.1".parse().unwrap()))
        );
    }

    #[test]
    fn default_mode_prefers_slirp4netns_then_pasta_then_none() {
        assert_eq!(
            default_mode(&helpers(&["pasta", "slirp4netns"])).0,
            Mode::Slirp4netns(SlirpOptions::default())
        );
        assert_eq!(
            default_mode(&helpers(&["slirp4netns"])).0,
            Mode::Slirp4netns(SlirpOptions::default())
        );
        assert_eq!(default_mode(&helpers(&["pasta"])).0, Mode::Pasta(vec![]));
        // issue #14: an offline host (no default route) keeps slirp4netns,
        // and pasta alone cannot start there.
        assert_eq!(
            default_mode_for(&helpers(&["pasta", "slirp4netns"]), false).0,
            Mode::Slirp4netns(SlirpOptions::default())
        );
        assert_eq!(default_mode_for(&helpers(&["pasta"]), false).0, Mode::None);
        assert_eq!(default_mode(&[]).0, Mode::None);
    }

    #[test]
    fn modes_parse_like_podman() {
        assert_eq!(parse_mode("none").unwrap(), Mode::None);
        assert_eq!(parse_mode("host").unwrap(), Mode::Host);
        assert_eq!(
            parse_mode("pasta:-4,--mtu,1500").unwrap(),
            Mode::Pasta(vec!["-4".into(), "--mtu".into(), "1500".into()])
        );
        let Mode::Slirp4netns(o) =
            parse_mode("slirp4netns:allow_host_loopback=true,mtu=1500,cidr=10.5.0.0/24,port_handler=slirp4netns").unwrap()
        else {
            panic!("not slirp4netns");
        };
        assert!(o.allow_host_loopback);
        assert!(o.is_slirp_port_handler);
        assert_eq!(o.mtu, 1500);
        assert_eq!(o.container_addr(), "10.5.0.100".parse::<IpAddr>().unwrap());
        assert_eq!(o.dns(), "10.5.0.3".parse::<IpAddr>().unwrap());
        for bad in [
            "bridge",
            "slirp4netns:mtu=9",
            "slirp4netns:port_handler=x",
            "container:x",
            "ns:/x",
            "wat",
            "none:x",
        ] {
            assert!(parse_mode(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn plan_checks_helpers_hosts_dns_and_ports() {
        let h = helpers(&["slirp4netns"]);
        let req = |f: &dyn Fn(&mut NetworkRequest)| {
            let mut r = NetworkRequest::default();
            f(&mut r);
            plan_network(&r, &h, HostRoute::default())
        };
        assert!(matches!(
            req(&|r| r.network = Some("pasta".into())),
            Err(Error::HelperMissing("pasta"))
        ));
        assert!(matches!(
            req(&|r| {
                r.network = Some("none".into());
                r.publish = vec!["80".into()];
            }),
            Err(Error::PublishWithoutHelper(_))
        ));
        let plan = req(&|r| {
            r.add_hosts = vec!["db:192.0.2.9".into(), "v6:[2001:db8::1]".into()];
            r.publish_all = true;
            r.exposed = vec!["80/tcp".into(), "53/udp".into()];
            r.publish = vec!["8080:80".into()];
        })
        .unwrap();
        assert_eq!(
            plan.add_hosts,
            vec![
                ("db".into(), "192.0.2.9".into()),
                ("v6".into(), "2001:db8::1".into())
            ]
        );
        assert_eq!(plan.ports.len(), 2, "{:?}", plan.ports);
        assert!(req(&|r| r.add_hosts = vec!["nohost".into()]).is_err());
        assert!(req(&|r| r.dns = vec!["dns.example".into()]).is_err());
        assert!(req(&|r| r.mac_address = Some("zz".into())).is_err());
        assert!(req(&|r| r.mac_address = Some("02:42:ac:11:00:02".into())).is_ok());
    }
}
