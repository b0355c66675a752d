//! User-defined networks through the engine (`hutch network …`): their
//! definitions in the store (`ROOT/networks/NAME.json`, netavark's format,
//! written atomically under `networks/.lock`), Podman's default network
//! `podman`, and resolving `--network NAME` for `create`. Attaching a
//! running container is `netattach`'s, the namespaces `netholder`'s.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use nix::fcntl::Flock;

use super::{Engine, Error as EngineError};
use crate::net::ipv6::Cidr6;
pub use crate::net::netavark::Network;
use crate::net::netavark::{Cidr, LeaseRange, Subnet};
use crate::net::{Attachment, NetworkRequest};

/// The network `--network bridge` means, which always exists.
pub const DEFAULT_NETWORK: &str = "podman";

/// What went wrong with a network.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("unable to find network with name or ID {0}: network not found")]
    NotFound(String),
    #[error("network name {0} already used: network already exists")]
    Exists(String),
    #[error("\"{name}\" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used")]
    InUse { name: String },
    #[error("container {container} uses network mode {mode:?}: only containers made with --network NAME can be connected to user-defined networks")]
    NotBridge { container: String, mode: String },
    #[error("container {container} is already connected to network {network}")]
    AlreadyConnected { container: String, network: String },
    #[error("container {container} is not connected to network {network}")]
    NotConnected { container: String, network: String },
    #[error("default network {0} cannot be removed")]
    Default(String),
    #[error("invalid network {field} {value:?}: {reason}")]
    Invalid {
        field: &'static str,
        value: String,
        reason: String,
    },
    #[error("no free subnet in 10.89.0.0/16 for a new network: give one with --subnet")]
    NoSubnet,
    #[error("network {network}: no free address left in {subnet}")]
    NoAddress { network: String, subnet: String },
    #[error("network {network}: address {ip} is {reason}")]
    BadAddress {
        network: String,
        ip: IpAddr,
        reason: &'static str,
    },
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--network-config-dir {requested}: the store keeps its network definitions in {recorded}, where networks are defined: database configuration mismatch")]
    ConfigDirMismatch {
        recorded: PathBuf,
        requested: PathBuf,
    },
    #[error("--network-config-dir {0}: the path must be absolute")]
    ConfigDirRelative(PathBuf),
}

impl Error {
    /// Whether the network does not exist (exit 1 for `network rm`).
    pub fn is_missing(&self) -> bool {
        matches!(self, Error::NotFound(_))
    }

    /// Whether containers use it (exit 2 for `network rm`).
    pub fn is_in_use(&self) -> bool {
        matches!(self, Error::InUse { .. })
    }
}

/// A network to create (`network create`), its flags as given.
#[derive(Debug, Clone, Default)]
pub struct NewNetwork {
    pub name: Option<String>,
    pub driver: Option<String>,
    /// `--subnet`, IPv4 and IPv6, at most one of each.
    pub subnets: Vec<String>,
    /// `--gateway`: the gateway of the subnet at the same place.
    pub gateways: Vec<String>,
    /// `--ip-range`: the range of the subnet at the same place.
    pub ip_ranges: Vec<String>,
    pub internal: bool,
    pub disable_dns: bool,
    pub ipv6: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub interface_name: Option<String>,
    pub ipam_driver: Option<String>,
    /// `--ignore`: an existing network of that name is not an error.
    pub is_existing_ok: bool,
}

/// The file under the store root naming the directory of the network
/// definitions when `--network-config-dir` chose another than the
/// default.
const CONFIG_DIR_RECORD: &str = "network-config-dir";

/// The directory of network definitions of the store at `root`:
/// `ROOT/networks`, or the one `--network-config-dir` recorded.
pub fn networks_dir(root: &Path) -> PathBuf {
    match std::fs::read_to_string(root.join(CONFIG_DIR_RECORD)) {
        Ok(text) if text.trim_end().starts_with('/') => PathBuf::from(text.trim_end_matches('\n')),
        _ => root.join("networks"),
    }
}

/// `--network-config-dir`: makes `requested` the store's directory of
/// network definitions, recorded under the store root so that every
/// later command (and the monitors, which are not given the flag) reads
/// the same one. Naming the current one changes nothing; another is
/// refused while networks are defined in the current one, whose
/// definitions would be lost from sight.
pub fn use_config_dir(root: &Path, requested: &Path) -> Result<(), Error> {
    if !requested.is_absolute() {
        return Err(Error::ConfigDirRelative(requested.to_path_buf()));
    }
    let current = networks_dir(root);
    if current == requested {
        return Ok(());
    }
    let defined = list(root)?.iter().any(|n| n.name != DEFAULT_NETWORK);
    if defined {
        return Err(Error::ConfigDirMismatch {
            recorded: current,
            requested: requested.to_path_buf(),
        });
    }
    for dir in [root, requested] {
        make_private_dir(dir).map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let record = root.join(CONFIG_DIR_RECORD);
    let text = format!("{}\n", requested.display());
    crate::storage::atomic::write_file(&record, text.as_bytes(), 0o600).map_err(|source| {
        Error::Write {
            path: record,
            source,
        }
    })
}

/// Makes directory `dir` (and its parents) private to the user, as the
/// store's directories are.
pub fn make_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// The lock every change of the definitions holds.
fn lock(root: &Path) -> Result<Flock<File>, Error> {
    let dir = networks_dir(root);
    make_private_dir(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(".lock");
    crate::storage::lock_exclusive(&path).map_err(|source| Error::Write { path, source })
}

/// Podman's in-memory default network.
fn default_network() -> Network {
    Network {
        name: DEFAULT_NETWORK.into(),
        id: "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9".into(),
        driver: "bridge".into(),
        network_interface: "podman0".into(),
        created: super::now_rfc3339(),
        subnets: vec![Subnet {
            subnet: "10.88.0.0/16".into(),
            gateway: Some("10.88.0.1".into()),
            lease_range: None,
        }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
        labels: BTreeMap::new(),
        options: BTreeMap::new(),
        ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
    }
}

/// Every network defined under `root`, the default first, then by name.
pub fn list(root: &Path) -> Result<Vec<Network>, Error> {
    let dir = networks_dir(root);
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![default_network()]),
        Err(source) => return Err(Error::Read { path: dir, source }),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        // A definition that does not parse is skipped, not fatal: it may
        // be another tool's, and the rest still work.
        if let Ok(n) = serde_json::from_slice::<Network>(&text) {
            out.push(n);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    if !out.iter().any(|n| n.name == DEFAULT_NETWORK) {
        out.insert(0, default_network());
    }
    Ok(out)
}

/// The network named `name_or_id` (a full name, or a unique id prefix).
pub fn find(root: &Path, name_or_id: &str) -> Result<Network, Error> {
    let all = list(root)?;
    if let Some(n) = all.iter().find(|n| n.name == name_or_id) {
        return Ok(n.clone());
    }
    let by_id: Vec<&Network> = all
        .iter()
        .filter(|n| !name_or_id.is_empty() && n.id.starts_with(name_or_id))
        .collect();
    match by_id.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(Error::NotFound(name_or_id.to_string())),
    }
}

/// Whether `name` is a valid network name (Podman's rule).
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn invalid(field: &'static str, value: &str, reason: &str) -> Error {
    Error::Invalid {
        field,
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

/// Checks `req` against the networks that exist and makes its definition.
fn define(
    req: NewNetwork,
    existing: &[Network],
    id: String,
    created: String,
) -> Result<Network, Error> {
    let name = match req.name {
        Some(n) => n,
        None => (1..)
            .map(|i| format!("podman{i}"))
            .find(|n| !existing.iter().any(|e| &e.name == n))
            .unwrap_or_default(),
    };
    if !is_valid_name(&name) {
        return Err(invalid(
            "name",
            &name,
            "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*",
        ));
    }
    let driver = req.driver.unwrap_or_else(|| "bridge".into());
    if driver != "bridge" {
        return Err(invalid(
            "driver",
            &driver,
            "rootless networks use the bridge driver (macvlan and ipvlan need root)",
        ));
    }
    if let Some(d) = req.ipam_driver.as_deref().filter(|d| *d != "host-local") {
        return Err(invalid("--ipam-driver", d, "only host-local is supported"));
    }
    let (v4, v6) = split_subnets(&req.subnets)?;
    if req.gateways.len() > req.subnets.len() {
        let g = &req.gateways[req.subnets.len()];
        return Err(invalid(
            "--gateway",
            g,
            "each gateway needs a --subnet before it",
        ));
    }
    if req.ip_ranges.len() > req.subnets.len() {
        let r = &req.ip_ranges[req.subnets.len()];
        return Err(invalid(
            "--ip-range",
            r,
            "each range needs a --subnet before it",
        ));
    }
    // An empty gateway or range (the REST API's) means the default.
    let at = |list: &[String], i: Option<usize>| {
        i.and_then(|i| list.get(i).cloned())
            .filter(|v| !v.is_empty())
    };
    let mut subnets = Vec::new();
    // Podman's rule: no subnet given means an IPv4 one, and with --ipv6
    // both; --ipv6 with a subnet of one family adds the other.
    let wants_v4 = v4.is_some() || v6.is_none() || req.ipv6;
    if wants_v4 {
        let (index, given) = v4.map_or((None, None), |(i, c)| (Some(i), Some(c)));
        subnets.push(ipv4_subnet(
            given,
            at(&req.gateways, index),
            at(&req.ip_ranges, index),
            existing,
        )?);
    }
    let ipv6 = v6.is_some() || req.ipv6;
    if ipv6 {
        let (index, given) = v6.map_or((None, None), |(i, c)| (Some(i), Some(c)));
        if let Some(r) = at(&req.ip_ranges, index) {
            return Err(invalid(
                "--ip-range",
                &r,
                "ranges are for IPv4 subnets only",
            ));
        }
        subnets.push(ipv6_subnet(given, at(&req.gateways, index), existing)?);
    }
    let interface = match req.interface_name {
        Some(i) => i,
        None => (1..)
            .map(|i| format!("podman{i}"))
            .find(|i| !existing.iter().any(|e| &e.network_interface == i))
            .unwrap_or_default(),
    };
    Ok(Network {
        name,
        id,
        driver,
        network_interface: interface,
        created,
        subnets,
        ipv6_enabled: ipv6,
        internal: req.internal,
        dns_enabled: !req.disable_dns,
        labels: req.labels,
        options: req.options,
        ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
    })
}

/// The IPv4 and IPv6 subnets of `--subnet` values `given`, each with its
/// place among them (for its `--gateway` and `--ip-range`): at most one of
/// each family.
#[allow(clippy::type_complexity)]
fn split_subnets(
    given: &[String],
) -> Result<(Option<(usize, Cidr)>, Option<(usize, Cidr6)>), Error> {
    let (mut v4, mut v6) = (None, None);
    for (i, s) in given.iter().enumerate() {
        if let Some(c) = Cidr::parse(s) {
            if v4.replace((i, c)).is_some() {
                return Err(invalid(
                    "--subnet",
                    s,
                    "hutch takes one IPv4 subnet per network",
                ));
            }
        } else if let Some(c) = Cidr6::parse(s) {
            if v6.replace((i, c)).is_some() {
                return Err(invalid(
                    "--subnet",
                    s,
                    "hutch takes one IPv6 subnet per network",
                ));
            }
        } else {
            return Err(invalid(
                "--subnet",
                s,
                "use an IPv4 A.B.C.D/N with N at most 30 or an IPv6 ADDR/N with N at most 126",
            ));
        }
    }
    Ok((v4, v6))
}

/// A subnet of one family, as `pick_subnet` needs it.
trait Family: Copy + std::fmt::Display + Sized {
    fn parse(s: &str) -> Option<Self>;
    fn overlaps(&self, other: &Self) -> bool;
}

impl Family for Cidr {
    fn parse(s: &str) -> Option<Self> {
        Cidr::parse(s)
    }
    fn overlaps(&self, other: &Self) -> bool {
        Cidr::overlaps(self, other)
    }
}

impl Family for Cidr6 {
    fn parse(s: &str) -> Option<Self> {
        Cidr6::parse(s)
    }
    fn overlaps(&self, other: &Self) -> bool {
        Cidr6::overlaps(self, other)
    }
}

/// The subnet of family `C` a new network gets: `given`, unless it
/// overlaps one of the `existing` networks' subnets, else the one `free`
/// finds among those taken.
fn pick_subnet<C: Family>(
    given: Option<C>,
    existing: &[Network],
    free: impl FnOnce(&[C]) -> Option<C>,
) -> Result<C, Error> {
    let taken: Vec<C> = existing
        .iter()
        .flat_map(|n| n.subnets.iter().filter_map(|s| C::parse(&s.subnet)))
        .collect();
    match given {
        Some(c) if taken.iter().any(|t| t.overlaps(&c)) => Err(invalid(
            "--subnet",
            &c.to_string(),
            "it overlaps another network's subnet",
        )),
        Some(c) => Ok(c),
        None => free(&taken).ok_or(Error::NoSubnet),
    }
}

/// The network's IPv4 subnet: `given` (or the next free 10.89.N.0/24),
/// its gateway (the first address unless given) and lease range.
fn ipv4_subnet(
    given: Option<Cidr>,
    gateway: Option<String>,
    range: Option<String>,
    existing: &[Network],
) -> Result<Subnet, Error> {
    let cidr = pick_subnet(given, existing, |taken: &[Cidr]| {
        (0..=255u8)
            .map(|i| Cidr {
                addr: Ipv4Addr::new(10, 89, i, 0),
                prefix: 24,
            })
            .find(|c| !taken.iter().any(|t| t.overlaps(c)))
    })?;
    let gateway = match &gateway {
        Some(g) => {
            let ip: Ipv4Addr = g
                .parse()
                .map_err(|_| invalid("--gateway", g, "use an IPv4 address for an IPv4 subnet"))?;
            if !cidr.contains(ip) {
                return Err(invalid("--gateway", g, "it is not in the subnet"));
            }
            ip
        }
        None => cidr.first(),
    };
    let lease_range = match &range {
        Some(r) => {
            let c = Cidr::parse(r).ok_or_else(|| invalid("--ip-range", r, "use A.B.C.D/N"))?;
            if !cidr.contains(c.addr) || c.prefix < cidr.prefix {
                return Err(invalid("--ip-range", r, "it is not inside the subnet"));
            }
            Some(LeaseRange {
                start_ip: Some(c.first().to_string()),
                end_ip: Some(c.last().to_string()),
            })
        }
        None => None,
    };
    Ok(Subnet {
        subnet: cidr.to_string(),
        gateway: Some(gateway.to_string()),
        lease_range,
    })
}

/// The network's IPv6 subnet: `given` (or a random unique local /64, as
/// Podman's) and its gateway (the first address unless given).
fn ipv6_subnet(
    given: Option<Cidr6>,
    gateway: Option<String>,
    existing: &[Network],
) -> Result<Subnet, Error> {
    let cidr = pick_subnet(given, existing, crate::net::ipv6::random_ula)?;
    let gateway = match &gateway {
        Some(g) => {
            let ip: Ipv6Addr = g
                .parse()
                .map_err(|_| invalid("--gateway", g, "use an IPv6 address for an IPv6 subnet"))?;
            if !cidr.is_host(ip) {
                return Err(invalid(
                    "--gateway",
                    g,
                    "it is not a host address of the subnet",
                ));
            }
            ip
        }
        None => cidr.first(),
    };
    Ok(Subnet {
        subnet: cidr.to_string(),
        gateway: Some(gateway.to_string()),
        lease_range: None,
    })
}

/// The attachments `create` records for the `--network` value of `req`
/// (names of networks, `bridge` for the default one) with the aliases,
/// addresses and MAC address of `--network-alias`, `--ip`, `--ip6` and
/// `--mac-address`; `None` when it names no network (pasta, slirp4netns,
/// host, none: the `net` module's).
pub fn resolve(root: &Path, req: &NetworkRequest) -> Result<Option<Vec<Attachment>>, Error> {
    let Some(spec) = req.network.as_deref() else {
        return Ok(None);
    };
    let mode_name = spec.split(':').next().unwrap_or_default();
    if [
        "none",
        "host",
        "pasta",
        "slirp4netns",
        "container",
        "ns",
        "private",
    ]
    .contains(&mode_name)
    {
        return Ok(None);
    }
    let mut out = Vec::new();
    for name in spec.split(',').filter(|n| !n.is_empty()) {
        let name = if name == "bridge" {
            DEFAULT_NETWORK
        } else {
            name
        };
        let network = find(root, name)?;
        out.push(Attachment {
            network: network.name,
            aliases: req.aliases.to_vec(),
            ..Attachment::default()
        });
    }
    let count = out.len();
    let single = |flag: &'static str, value: &str| {
        if count == 1 {
            Ok(())
        } else {
            Err(invalid(
                flag,
                value,
                "a static address needs exactly one network",
            ))
        }
    };
    if let Some(ip) = req.ip.as_deref() {
        let addr: Ipv4Addr = ip
            .parse()
            .map_err(|_| invalid("--ip", ip, "use an IPv4 address"))?;
        single("--ip", ip)?;
        out[0].ip = Some(addr);
    }
    if let Some(ip) = req.ip6.as_deref() {
        let addr: Ipv6Addr = ip
            .parse()
            .map_err(|_| invalid("--ip6", ip, "use an IPv6 address"))?;
        single("--ip6", ip)?;
        out[0].ip6 = Some(addr);
    }
    if let Some(mac) = req.mac_address.as_deref() {
        single("--mac-address", mac)?;
        out[0].mac = Some(mac.to_string());
    }
    Ok(Some(out))
}

impl Engine {
    /// The same engine, its network definitions in `dir` (see
    /// `use_config_dir`) when given.
    pub fn with_network_config_dir(self, dir: Option<&Path>) -> Result<Engine, EngineError> {
        if let Some(dir) = dir {
            use_config_dir(&self.paths().root, dir)?;
        }
        Ok(self)
    }

    /// Creates a network and returns its definition.
    pub fn create_network(&self, req: NewNetwork) -> Result<Network, EngineError> {
        let root = &self.paths().root;
        let _lock = lock(root)?;
        let existing = list(root)?;
        if let Some(n) = req.name.as_deref() {
            if let Some(found) = existing.iter().find(|e| e.name == n) {
                if req.is_existing_ok {
                    return Ok(found.clone());
                }
                return Err(Error::Exists(n.to_string()).into());
            }
        }
        // The SHA-256 of the name, as Podman's CNI backend makes ids.
        let id = req
            .name
            .as_deref()
            .map(|n| crate::storage::Digest::of(n.as_bytes()).hex().to_string());
        let mut network = define(req, &existing, String::new(), super::now_rfc3339())?;
        network.id = id.unwrap_or_else(|| {
            crate::storage::Digest::of(network.name.as_bytes())
                .hex()
                .to_string()
        });
        let path = networks_dir(root).join(format!("{}.json", network.name));
        let text = serde_json::to_vec_pretty(&network).unwrap_or_default();
        crate::storage::atomic::write_file(&path, &text, 0o644)
            .map_err(|source| Error::Write { path, source })?;
        Ok(network)
    }

    /// Every network, the default one first.
    pub fn networks(&self) -> Result<Vec<Network>, EngineError> {
        Ok(list(&self.paths().root)?)
    }

    /// The network named (or with an id starting with) `name_or_id`.
    pub fn network(&self, name_or_id: &str) -> Result<Network, EngineError> {
        Ok(find(&self.paths().root, name_or_id)?)
    }

    /// The ids and names of the containers attached (by their create
    /// request) to network `name`.
    pub fn network_users(&self, name: &str) -> Result<Vec<(String, String)>, EngineError> {
        let store = self.store()?;
        let mut out = Vec::new();
        for info in store.list_containers().map_err(EngineError::Store)? {
            let Ok(plan) = super::load_spec(&info) else {
                continue;
            };
            if plan
                .network
                .mode
                .attachments()
                .iter()
                .any(|a| a.network == name)
            {
                out.push((info.record.id.clone(), info.record.name.clone()));
            }
        }
        Ok(out)
    }

    /// The ids of the pods whose infra joins network `name`.
    pub fn network_pods(&self, name: &str) -> Result<Vec<String>, EngineError> {
        let pods = super::pod::list(&self.paths().root)?;
        Ok(pods
            .into_iter()
            .filter(|p| {
                p.network
                    .mode
                    .attachments()
                    .iter()
                    .any(|a| a.network == name)
            })
            .map(|p| p.id)
            .collect())
    }

    /// Removes network `name_or_id`; with `force`, the pods and containers using it
    /// first (stopped within `grace`). Returns the name removed.
    pub fn remove_network(
        &self,
        name_or_id: &str,
        force: bool,
        grace: Option<std::time::Duration>,
    ) -> Result<String, EngineError> {
        let network = self.network(name_or_id)?;
        if network.name == DEFAULT_NETWORK {
            return Err(Error::Default(network.name).into());
        }
        let users = self.network_users(&network.name)?;
        let pods = self.network_pods(&network.name)?;
        if !users.is_empty() || !pods.is_empty() {
            if !force {
                return Err(Error::InUse { name: network.name }.into());
            }
            for pod in &pods {
                self.remove_pod(pod, true, grace)?;
            }
            for (id, _) in &users {
                // A pod's member went with its pod.
                if self.container_id(id).is_err() {
                    continue;
                }
                if grace.is_some() {
                    let _ = self.stop(id, grace);
                }
                self.remove(id, true, false)?;
            }
        }
        let root = &self.paths().root;
        let _lock = lock(root)?;
        let path = networks_dir(root).join(format!("{}.json", network.name));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::NotFound(name_or_id.to_string()).into())
            }
            Err(source) => return Err(Error::Write { path, source }.into()),
        }
        Ok(network.name)
    }

    /// Removes every network no container uses (but the default one) whose
    /// definition `keep` does not keep; returns the names removed.
    pub fn prune_networks(
        &self,
        keep: &dyn Fn(&Network) -> bool,
    ) -> Result<Vec<String>, EngineError> {
        let mut out = Vec::new();
        for n in self.networks()? {
            let is_used =
                !self.network_users(&n.name)?.is_empty() || !self.network_pods(&n.name)?.is_empty();
            if n.name == DEFAULT_NETWORK || keep(&n) || is_used {
                continue;
            }
            out.push(self.remove_network(&n.name, false, None)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str) -> NewNetwork {
        NewNetwork {
            name: Some(name.into()),
            ..NewNetwork::default()
        }
    }

    #[test]
    fn new_networks_get_the_next_free_subnet_and_interface() {
        let a = define(new("a"), &[default_network()], "1".into(), "t".into()).unwrap();
        assert_eq!(a.subnets[0].subnet, "10.89.0.0/24");
        assert_eq!(a.subnets[0].gateway.as_deref(), Some("10.89.0.1"));
        assert_eq!(a.network_interface, "podman1");
        assert!(a.dns_enabled);
        let b = define(
            new("b"),
            &[default_network(), a.clone()],
            "2".into(),
            "t".into(),
        )
        .unwrap();
        assert_eq!(b.subnets[0].subnet, "10.89.1.0/24");
        assert_eq!(b.network_interface, "podman2");
        let clash = NewNetwork {
            subnets: vec!["10.89.0.128/25".into()],
            ..new("c")
        };
        assert!(define(clash, &[a], "3".into(), "t".into()).is_err());
    }

    #[test]
    fn ipv6_makes_dual_stack_and_an_ipv6_subnet_alone_an_ipv6_network() {
        let ds = NewNetwork {
            ipv6: true,
            ..new("ds")
        };
        let n = define(ds, &[], "1".into(), "t".into()).unwrap();
        assert!(n.ipv6_enabled);
        assert_eq!(n.subnets.len(), 2);
        assert_eq!(n.subnets[0].subnet, "10.89.0.0/24");
        assert!(n.subnets[1].subnet.starts_with("fd"), "{:?}", n.subnets);
        let only6 = NewNetwork {
            subnets: vec!["fd00:1::/64".into()],
            gateways: vec!["fd00:1::fe".into()],
            ..new("o")
        };
        let n = define(only6, &[], "2".into(), "t".into()).unwrap();
        assert!(n.ipv6_enabled);
        assert_eq!(n.subnets.len(), 1);
        assert_eq!(n.subnets[0].gateway.as_deref(), Some("fd00:1::fe"));
        let clash = NewNetwork {
            subnets: vec!["fd00:1::/48".into()],
            ..new("c")
        };
        assert!(define(clash, &[n], "3".into(), "t".into()).is_err());
        for (subnets, gateways) in [
            (vec!["fd00:1::/64", "fd00:2::/64"], vec![]),
            (vec!["fd00:1::/64"], vec!["10.0.0.1"]),
            (vec!["10.5.0.0/24"], vec!["10.5.0.1", "10.5.0.2"]),
            (vec!["fd00:1::/127"], vec![]),
        ] {
            let bad = NewNetwork {
                subnets: subnets.iter().map(|s| s.to_string()).collect(),
                gateways: gateways.iter().map(|s| s.to_string()).collect(),
                ..new("b")
            };
            assert!(
                define(bad, &[], "4".into(), "t".into()).is_err(),
                "{subnets:?}"
            );
        }
    }

    #[test]
    fn bad_names_drivers_and_gateways_are_refused() {
        for bad in ["", "-x", "a/b", "../x", "a b"] {
            assert!(
                define(new(bad), &[], "1".into(), "t".into()).is_err(),
                "{bad}"
            );
        }
        let mac = NewNetwork {
            driver: Some("macvlan".into()),
            ..new("m")
        };
        assert!(define(mac, &[], "1".into(), "t".into()).is_err());
        let gw = NewNetwork {
            subnets: vec!["10.1.0.0/24".into()],
            gateways: vec!["10.2.0.1".into()],
            ..new("g")
        };
        assert!(define(gw, &[], "1".into(), "t".into()).is_err());
    }
}
