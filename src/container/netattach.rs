//! Attaching a starting container to its user-defined networks: with the
//! holder lock held, the network holder started if need be, an address
//! picked on each network, and the attachment recorded under
//! `ROOT/networks/run/attached/ID.json`, owned by this process (the monitor,
//! or the CLI in the foreground), which detaches the container when it
//! exits. The runtime then makes the container in the holder's user
//! namespace and runs netavark (see `runtime::network::attach`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;

use super::netholder::{self, attached_dir};
use super::networks;
use super::Error;
use crate::net::netavark::{Cidr, Holder, Options, PerNetwork};
use crate::net::Attachment;
use crate::runtime::network::NetAttach;
use crate::runtime::pod::PodJoin;
use crate::runtime::{procfs, Plan};

/// A container's attachment record.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct AttachedRecord {
    /// The process that detaches it, and its start time.
    owner: i32,
    owner_start: u64,
    /// Its address on each network.
    addresses: BTreeMap<String, Ipv4Addr>,
    /// What netavark was told, kept current by `network connect` and
    /// `disconnect`: the detach reads it.
    #[serde(default)]
    options: Options,
}

fn record_path(root: &Path, id: &str) -> PathBuf {
    attached_dir(root).join(format!("{id}.json"))
}

/// Every attachment record whose owner lives; removes the others (their
/// owner died without detaching: the namespace it held is gone).
fn live_records(root: &Path) -> Vec<(String, AttachedRecord)> {
    let proc = Path::new(super::PROC);
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(attached_dir(root)) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(id) = name.strip_suffix(".json") else {
            continue;
        };
        let rec = std::fs::read(&path)
            .ok()
            .and_then(|t| serde_json::from_slice::<AttachedRecord>(&t).ok());
        match rec {
            Some(r) if procfs::is_alive(proc, r.owner, r.owner_start) => {
                out.push((id.to_string(), r))
            }
            _ => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    out
}

/// Removes the records of owners that died (the holder's look, under the
/// holder lock).
pub fn sweep(root: &Path) {
    live_records(root);
}

/// For a container on user networks: the join the runtime makes it with
/// (the holder's user namespace, netavark's options), its attachments in
/// `plan` completed with the addresses picked; `None` for other containers.
pub fn join(root: &Path, plan: &mut Plan, proc: &Path) -> Result<Option<PodJoin>, Error> {
    if plan.network.mode.attachments().is_empty() {
        return Ok(None);
    }
    let crate::net::Mode::Bridge(attachments) = &mut plan.network.mode else {
        return Ok(None);
    };
    let attach = attach_networks(root, &plan.id, &plan.origin.name, attachments, proc)?;
    let ns = &plan.tuning.namespaces;
    let mut own = CloneFlags::CLONE_NEWNET;
    if !ns.is_host_uts {
        own |= CloneFlags::CLONE_NEWUTS;
    }
    if !ns.is_host_ipc {
        own |= CloneFlags::CLONE_NEWIPC;
    }
    // The holder's user namespace only: the container's network, UTS and
    // IPC namespaces are its own, made there.
    let user_fd = attach
        .holder
        .user
        .try_clone()
        .map_err(|e| netholder::Error::OpenNamespace {
            kind: "user",
            source: e,
        })?;
    Ok(Some(PodJoin {
        pod: "the network holder".into(),
        namespaces: vec![(CloneFlags::CLONE_NEWUSER, user_fd)],
        own,
        network: Some(attach),
    }))
}

/// Attaches the container (or pod infra) `id` named `name` to the
/// networks of `attachments`, under the holder lock: the holder started
/// if need be, an address picked on each network (filled into
/// `attachments` with the gateway, prefix and DNS), and the attachment
/// recorded, owned by this process. The caller makes the namespace in the
/// holder's user namespace and runs netavark with what is returned.
pub fn attach_networks(
    root: &Path,
    id: &str,
    name: &str,
    attachments: &mut [Attachment],
    proc: &Path,
) -> Result<NetAttach, Error> {
    let _lock = netholder::lock(root)?;
    let holder = netholder::ensure(root, proc)?;
    let (user, net) = netholder::open_namespaces(&holder, proc)?;
    let taken: Vec<(String, Ipv4Addr)> = live_records(root)
        .into_iter()
        .filter(|(other, _)| other != id)
        .flat_map(|(_, r)| r.addresses)
        .collect();
    let mut options = Options {
        container_id: id.to_string(),
        container_name: name.to_string(),
        ..Options::default()
    };
    let mut addresses = BTreeMap::new();
    let short: String = id.chars().take(12).collect();
    for (i, a) in attachments.iter_mut().enumerate() {
        let network = networks::find(root, &a.network)?;
        let (cidr, gateway) = subnet_of(&network)?;
        let used: Vec<Ipv4Addr> = taken
            .iter()
            .filter(|(n, _)| *n == network.name)
            .map(|(_, ip)| *ip)
            .collect();
        let ip = pick(&network, &cidr, gateway, a.ip, &used)?;
        a.ip = Some(ip);
        a.gateway = gateway;
        a.prefix = cidr.prefix;
        a.dns = network.dns_enabled;
        addresses.insert(network.name.clone(), ip);
        let mut aliases = vec![name.to_string(), short.clone()];
        aliases.extend(a.aliases.iter().cloned());
        aliases.retain(|n| !n.is_empty());
        aliases.dedup();
        options.networks.insert(
            network.name.clone(),
            PerNetwork {
                interface_name: format!("eth{i}"),
                static_ips: vec![ip.to_string()],
                aliases,
                static_mac: None,
            },
        );
        options.network_info.insert(network.name.clone(), network);
    }
    let me = nix::unistd::getpid().as_raw();
    let rec = AttachedRecord {
        owner: me,
        owner_start: procfs::start_time(proc, me).unwrap_or_default(),
        addresses,
        options: options.clone(),
    };
    let path = record_path(root, id);
    let text = serde_json::to_vec(&rec).unwrap_or_default();
    crate::storage::atomic::write_file(&path, &text, 0o644).map_err(|source| {
        netholder::Error::Io {
            action: "writing",
            path: path.clone(),
            source,
        }
    })?;
    Ok(NetAttach {
        holder: Holder { user, net },
        config_dir: netholder::netavark_dir(root),
        options,
        record: path,
    })
}

/// `network`'s IPv4 subnet and gateway.
fn subnet_of(network: &crate::net::netavark::Network) -> Result<(Cidr, Option<Ipv4Addr>), Error> {
    let subnet = network.subnets.first();
    let cidr = subnet.and_then(|s| Cidr::parse(&s.subnet));
    let gateway = subnet
        .and_then(|s| s.gateway.as_deref())
        .and_then(|g| g.parse::<Ipv4Addr>().ok());
    match cidr {
        Some(cidr) => Ok((cidr, gateway)),
        None => Err(networks::Error::Invalid {
            field: "subnet",
            value: network.name.clone(),
            reason: "the network has no IPv4 subnet".into(),
        }
        .into()),
    }
}

/// Fills in what `attachments` need before an address is picked: each
/// network's gateway, prefix and whether its DNS answers names (a pod's
/// members, made before its infra starts, write their resolv.conf from
/// it).
pub fn fill_networks(root: &Path, attachments: &mut [Attachment]) -> Result<(), Error> {
    for a in attachments {
        let network = networks::find(root, &a.network)?;
        let (cidr, gateway) = subnet_of(&network)?;
        a.gateway = gateway;
        a.prefix = cidr.prefix;
        a.dns = network.dns_enabled;
    }
    Ok(())
}

/// The address for a container on `network`: `wanted` if it is free and
/// inside, else the lowest free one.
fn pick(
    network: &crate::net::netavark::Network,
    cidr: &Cidr,
    gateway: Option<Ipv4Addr>,
    wanted: Option<Ipv4Addr>,
    used: &[Ipv4Addr],
) -> Result<Ipv4Addr, Error> {
    let bad = |ip, reason| networks::Error::BadAddress {
        network: network.name.clone(),
        ip,
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
        .first()
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

/// netavark's options for container `id` named `name` on `network` alone.
fn single(
    id: &str,
    name: &str,
    per: PerNetwork,
    network: crate::net::netavark::Network,
) -> Options {
    Options {
        container_id: id.to_string(),
        container_name: name.to_string(),
        networks: BTreeMap::from([(network.name.clone(), per)]),
        network_info: BTreeMap::from([(network.name.clone(), network)]),
        ..Options::default()
    }
}

/// Writes attachment record `rec` of container `id`.
fn write_record(root: &Path, id: &str, rec: &AttachedRecord) -> Result<(), Error> {
    let path = record_path(root, id);
    let text = serde_json::to_vec(rec).unwrap_or_default();
    crate::storage::atomic::write_file(&path, &text, 0o644).map_err(|source| {
        netholder::Error::Io {
            action: "writing",
            path,
            source,
        }
        .into()
    })
}

/// The live attachment record of container `id`, if it is attached now.
fn live_record(root: &Path, id: &str) -> Option<AttachedRecord> {
    live_records(root)
        .into_iter()
        .find(|(i, _)| i == id)
        .map(|(_, r)| r)
}

/// The running container `pid`'s network namespace and the holder's.
fn namespaces(root: &Path, pid: i32, proc: &Path) -> Result<(Holder, std::os::fd::OwnedFd), Error> {
    let holder = netholder::running(root, proc)
        .ok_or_else(|| netholder::Error::Failed("the network holder does not run".into()))?;
    let (user, net) = netholder::open_namespaces(&holder, proc)?;
    let netns = std::fs::File::open(proc.join(pid.to_string()).join("ns/net"))
        .map(std::os::fd::OwnedFd::from)
        .map_err(|source| netholder::Error::OpenNamespace {
            kind: "container's net",
            source,
        })?;
    Ok((Holder { user, net }, netns))
}

/// The container's status file (netavark's report), updated by `change`.
fn update_status(
    dir: &Path,
    change: impl FnOnce(&mut BTreeMap<String, crate::net::netavark::Status>),
) {
    let path = dir.join(crate::runtime::network::STATUS_FILE);
    let mut now: BTreeMap<String, crate::net::netavark::Status> = std::fs::read(&path)
        .ok()
        .and_then(|t| serde_json::from_slice(&t).ok())
        .unwrap_or_default();
    change(&mut now);
    let _ = crate::storage::atomic::write_json(&path, &now, 0o644);
}

impl super::Engine {
    /// `network connect`: attaches container `name` (made with `--network
    /// NAME`) to `network` too, at once if it runs, and at its next starts.
    pub fn connect_network(
        &self,
        network: &str,
        name: &str,
        aliases: &[String],
        ip: Option<&str>,
    ) -> Result<(), Error> {
        let root = self.paths().root.clone();
        let proc = Path::new(super::PROC);
        let net = networks::find(&root, network)?;
        let info = self.container(name)?;
        let id = info.record.id.clone();
        let mut plan = super::load_spec(&info)?;
        let wanted = match ip {
            Some(ip) => Some(
                ip.parse::<Ipv4Addr>()
                    .map_err(|_| networks::Error::Invalid {
                        field: "--ip",
                        value: ip.to_string(),
                        reason: "use an IPv4 address".into(),
                    })?,
            ),
            None => None,
        };
        let mode_name = plan.network.mode.name();
        let crate::net::Mode::Bridge(attachments) = &mut plan.network.mode else {
            return Err(networks::Error::NotBridge {
                container: name.to_string(),
                mode: mode_name.to_string(),
            }
            .into());
        };
        if attachments.iter().any(|a| a.network == net.name) {
            return Err(networks::Error::AlreadyConnected {
                container: name.to_string(),
                network: net.name,
            }
            .into());
        }
        attachments.push(crate::net::Attachment {
            network: net.name.clone(),
            aliases: aliases.to_vec(),
            ip: wanted,
            ..Default::default()
        });
        let event_network = net.name.clone();
        let pid = info
            .state
            .pid
            .filter(|_| info.state.status == crate::storage::ContainerStatus::Running);
        if let Some(pid) = pid {
            let _lock = netholder::lock(&root)?;
            if let Some(mut rec) = live_record(&root, &id) {
                let cidr = net.subnets.first().and_then(|s| Cidr::parse(&s.subnet));
                let gateway = net
                    .subnets
                    .first()
                    .and_then(|s| s.gateway.as_deref())
                    .and_then(|g| g.parse().ok());
                let cidr = cidr.ok_or_else(|| networks::Error::Invalid {
                    field: "subnet",
                    value: net.name.clone(),
                    reason: "the network has no IPv4 subnet".into(),
                })?;
                let used: Vec<Ipv4Addr> = live_records(&root)
                    .into_iter()
                    .filter_map(|(_, r)| r.addresses.get(&net.name).copied())
                    .collect();
                let addr = pick(&net, &cidr, gateway, wanted, &used)?;
                let taken: Vec<&String> = rec
                    .options
                    .networks
                    .values()
                    .map(|p| &p.interface_name)
                    .collect();
                let iface = (0..)
                    .map(|i| format!("eth{i}"))
                    .find(|n| !taken.contains(&n))
                    .unwrap_or_default();
                let mut names = vec![plan.origin.name.clone(), id.chars().take(12).collect()];
                names.extend(aliases.iter().cloned());
                let per = PerNetwork {
                    interface_name: iface,
                    static_ips: vec![addr.to_string()],
                    aliases: names,
                    static_mac: None,
                };
                let one = single(&id, &plan.origin.name, per.clone(), net.clone());
                let (holder, netns) = namespaces(&root, pid, proc)?;
                let status = crate::net::netavark::setup(
                    &netholder::netavark_dir(&root),
                    &holder,
                    &netns,
                    &one,
                )
                .map_err(|e| Error::Runtime(crate::runtime::Error::Network(e)))?;
                update_status(&plan.dirs.dir, |s| s.extend(status));
                rec.addresses.insert(net.name.clone(), addr);
                rec.options.networks.insert(net.name.clone(), per);
                rec.options.network_info.insert(net.name.clone(), net);
                write_record(&root, &id, &rec)?;
            }
        }
        super::save_spec(self.store()?, &plan)?;
        super::events::on_network(
            super::events::Status::Connect,
            &id,
            &plan.origin.name,
            &event_network,
        );
        Ok(())
    }

    /// `network disconnect`: detaches container `name` from `network`, at
    /// once if it runs, and for its next starts.
    pub fn disconnect_network(&self, network: &str, name: &str) -> Result<(), Error> {
        let root = self.paths().root.clone();
        let proc = Path::new(super::PROC);
        let net = networks::find(&root, network)?;
        let info = self.container(name)?;
        let id = info.record.id.clone();
        let mut plan = super::load_spec(&info)?;
        let crate::net::Mode::Bridge(attachments) = &mut plan.network.mode else {
            return Err(networks::Error::NotConnected {
                container: name.to_string(),
                network: net.name,
            }
            .into());
        };
        let before = attachments.len();
        attachments.retain(|a| a.network != net.name);
        if attachments.len() == before {
            return Err(networks::Error::NotConnected {
                container: name.to_string(),
                network: net.name,
            }
            .into());
        }
        let pid = info
            .state
            .pid
            .filter(|_| info.state.status == crate::storage::ContainerStatus::Running);
        if let Some(pid) = pid {
            let _lock = netholder::lock(&root)?;
            if let Some(mut rec) = live_record(&root, &id) {
                if let Some(per) = rec.options.networks.remove(&net.name) {
                    let info_net = rec
                        .options
                        .network_info
                        .remove(&net.name)
                        .unwrap_or(net.clone());
                    let one = single(&id, &plan.origin.name, per, info_net);
                    let (holder, netns) = namespaces(&root, pid, proc)?;
                    crate::net::netavark::teardown(
                        &netholder::netavark_dir(&root),
                        &holder,
                        &netns,
                        &one,
                    )
                    .map_err(|e| Error::Runtime(crate::runtime::Error::Network(e)))?;
                    update_status(&plan.dirs.dir, |s| {
                        s.remove(&net.name);
                    });
                }
                rec.addresses.remove(&net.name);
                write_record(&root, &id, &rec)?;
            }
        }
        super::save_spec(self.store()?, &plan)?;
        super::events::on_network(
            super::events::Status::Disconnect,
            &id,
            &plan.origin.name,
            &net.name,
        );
        Ok(())
    }
}
