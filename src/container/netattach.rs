//! Attaching a starting container to its user-defined networks: with the
//! holder lock held, the network holder started if need be, an address
//! picked on each network, and the attachment recorded under
//! `ROOT/networks/run/attached/ID.json`, owned by this process (the monitor,
//! or the CLI in the foreground), which detaches the container when it
//! exits. The runtime then makes the container in the holder's user
//! namespace and runs netavark (see `runtime::network::attach`).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;

use super::netaddr;
use super::netholder::{self, attached_dir};
use super::networks;
use super::Error;
use crate::net::netavark::{Holder, Options, PerNetwork};
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
    /// Its IPv4 address on each network that has an IPv4 subnet.
    addresses: BTreeMap<String, Ipv4Addr>,
    /// Its IPv6 address on each network that has an IPv6 subnet.
    #[serde(default)]
    addresses6: BTreeMap<String, Ipv6Addr>,
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
    let others: Vec<AttachedRecord> = live_records(root)
        .into_iter()
        .filter(|(other, _)| other != id)
        .map(|(_, r)| r)
        .collect();
    let mut options = Options {
        container_id: id.to_string(),
        container_name: name.to_string(),
        ..Options::default()
    };
    let (mut addresses, mut addresses6) = (BTreeMap::new(), BTreeMap::new());
    let short: String = id.chars().take(12).collect();
    for (i, a) in attachments.iter_mut().enumerate() {
        let network = networks::find(root, &a.network)?;
        let (used4, used6) = used_on(&others, &network.name);
        let (v4, v6) = netaddr::assign(&network, a, &used4, &used6)?;
        if let Some(ip) = v4 {
            addresses.insert(network.name.clone(), ip);
        }
        if let Some(ip) = v6 {
            addresses6.insert(network.name.clone(), ip);
        }
        let mut aliases = vec![name.to_string(), short.clone()];
        aliases.extend(a.aliases.iter().cloned());
        aliases.retain(|n| !n.is_empty());
        aliases.dedup();
        options.networks.insert(
            network.name.clone(),
            PerNetwork {
                interface_name: format!("eth{i}"),
                static_ips: netaddr::static_ips(v4, v6),
                aliases,
                static_mac: a.mac.clone(),
            },
        );
        options.network_info.insert(network.name.clone(), network);
    }
    let me = nix::unistd::getpid().as_raw();
    let rec = AttachedRecord {
        owner: me,
        owner_start: procfs::start_time(proc, me).unwrap_or_default(),
        addresses,
        addresses6,
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

/// Records that this process uses the holder (`unshare --rootless-netns`)
/// under key `key`, with no network: the holder stays while the record's
/// owner lives. The caller holds the holder lock; returns the record,
/// to remove when done.
pub fn hold(root: &Path, key: &str, proc: &Path) -> Result<PathBuf, Error> {
    let me = nix::unistd::getpid().as_raw();
    let rec = AttachedRecord {
        owner: me,
        owner_start: procfs::start_time(proc, me).unwrap_or_default(),
        ..AttachedRecord::default()
    };
    write_record(root, key, &rec)?;
    Ok(record_path(root, key))
}

/// The addresses that the containers of records `others` hold on network
/// `name`: IPv4, IPv6.
fn used_on(others: &[AttachedRecord], name: &str) -> (Vec<Ipv4Addr>, Vec<Ipv6Addr>) {
    let v4 = others
        .iter()
        .filter_map(|r| r.addresses.get(name).copied())
        .collect();
    let v6 = others
        .iter()
        .filter_map(|r| r.addresses6.get(name).copied())
        .collect();
    (v4, v6)
}

/// Fills in what `attachments` need before an address is picked: each
/// network's gateways, prefixes and whether its DNS answers names (a pod's
/// members, made before its infra starts, write their resolv.conf from
/// it).
pub fn fill_networks(root: &Path, attachments: &mut [Attachment]) -> Result<(), Error> {
    for a in attachments {
        let network = networks::find(root, &a.network)?;
        netaddr::fill(&network, a)?;
    }
    Ok(())
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

/// How `network connect` attaches a container.
#[derive(Debug, Clone, Default)]
pub struct Connect {
    /// `--alias`.
    pub aliases: Vec<String>,
    /// `--ip`.
    pub ip: Option<String>,
    /// `--ip6`.
    pub ip6: Option<String>,
    /// `--mac-address`.
    pub mac_address: Option<String>,
}

impl Connect {
    /// The attachment to network `network` these options ask for.
    fn attachment(&self, network: &str) -> Result<Attachment, Error> {
        let invalid = |field: &'static str, value: &str, reason: &str| networks::Error::Invalid {
            field,
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let ip = match &self.ip {
            Some(ip) => Some(
                ip.parse::<Ipv4Addr>()
                    .map_err(|_| invalid("--ip", ip, "use an IPv4 address"))?,
            ),
            None => None,
        };
        let ip6 = match &self.ip6 {
            Some(ip) => Some(
                ip.parse::<Ipv6Addr>()
                    .map_err(|_| invalid("--ip6", ip, "use an IPv6 address"))?,
            ),
            None => None,
        };
        if let Some(mac) = self
            .mac_address
            .as_deref()
            .filter(|m| !crate::net::is_mac(m))
        {
            return Err(invalid(
                "--mac-address",
                mac,
                "use six hexadecimal pairs, xx:xx:xx:xx:xx:xx",
            )
            .into());
        }
        Ok(Attachment {
            network: network.to_string(),
            aliases: self.aliases.clone(),
            ip,
            ip6,
            mac: self.mac_address.clone(),
            ..Attachment::default()
        })
    }
}

/// Attaches the running container `pid` (`id`, made by `plan`) with
/// attachment record `rec` to `net` now: addresses picked, netavark run,
/// the record and the status file updated. The caller holds the holder
/// lock.
fn connect_running(
    root: &Path,
    pid: i32,
    (id, plan): (&str, &Plan),
    mut rec: AttachedRecord,
    net: crate::net::netavark::Network,
    mut wanted: Attachment,
    short: String,
) -> Result<(), Error> {
    let proc = Path::new(super::PROC);
    let others: Vec<AttachedRecord> = live_records(root)
        .into_iter()
        .filter(|(other, _)| other != id)
        .map(|(_, r)| r)
        .collect();
    let (used4, used6) = used_on(&others, &net.name);
    let (v4, v6) = netaddr::assign(&net, &mut wanted, &used4, &used6)?;
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
    let mut names = vec![plan.origin.name.clone(), short];
    names.extend(wanted.aliases.iter().cloned());
    let per = PerNetwork {
        interface_name: iface,
        static_ips: netaddr::static_ips(v4, v6),
        aliases: names,
        static_mac: wanted.mac.clone(),
    };
    let one = single(id, &plan.origin.name, per.clone(), net.clone());
    let (holder, netns) = namespaces(root, pid, proc)?;
    let status = crate::net::netavark::setup(&netholder::netavark_dir(root), &holder, &netns, &one)
        .map_err(|e| Error::Runtime(crate::runtime::Error::Network(e)))?;
    update_status(&plan.dirs.dir, |s| s.extend(status));
    if let Some(ip) = v4 {
        rec.addresses.insert(net.name.clone(), ip);
    }
    if let Some(ip) = v6 {
        rec.addresses6.insert(net.name.clone(), ip);
    }
    rec.options.networks.insert(net.name.clone(), per);
    rec.options.network_info.insert(net.name.clone(), net);
    write_record(root, id, &rec)
}

impl super::Engine {
    /// `network connect`: attaches container `name` (made with `--network
    /// NAME`) to `network` too, at once if it runs, and at its next starts,
    /// as `how` asks (`--alias`, `--ip`, `--ip6`, `--mac-address`).
    pub fn connect_network_with(
        &self,
        network: &str,
        name: &str,
        how: &Connect,
    ) -> Result<(), Error> {
        let root = self.paths().root.clone();
        let net = networks::find(&root, network)?;
        let info = self.container(name)?;
        let id = info.record.id.clone();
        let mut plan = super::load_spec(&info)?;
        let wanted = how.attachment(&net.name)?;
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
        attachments.push(wanted.clone());
        let event_network = net.name.clone();
        let pid = info
            .state
            .pid
            .filter(|_| info.state.status == crate::storage::ContainerStatus::Running);
        if let Some(pid) = pid {
            let _lock = netholder::lock(&root)?;
            if let Some(rec) = live_record(&root, &id) {
                let short: String = id.chars().take(12).collect();
                connect_running(&root, pid, (&id, &plan), rec, net, wanted, short)?;
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
                rec.addresses6.remove(&net.name);
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
