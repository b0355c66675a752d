//! The commands that work on a container's cgroup: `pause`, `unpause`,
//! `update` and `stats`.

use std::path::Path;

use super::lifecycle::find;
use super::{load_spec, save_spec, Error};
use crate::cgroup::{self, Resources, Stats};
use crate::storage::{ContainerInfo, ContainerStatus, Store};

/// What `update` changes.
#[derive(Debug, Clone, Default)]
pub struct UpdateRequest {
    /// The container (name, id or id prefix).
    pub container: String,
    /// The limit flags given; each set one replaces the container's.
    pub limits: crate::cgroup::Request,
    /// `--memory-swappiness`: checked, then without effect (cgroup v2).
    pub memory_swappiness: Option<i64>,
}

/// Freezes (`true`) or thaws running container `name`; returns its id.
pub fn pause(store: &Store, name: &str, frozen: bool, proc: &Path) -> Result<String, Error> {
    let info = find(store, name, proc, None)?;
    let placement = running_placement(store, &info)?;
    cgroup::freeze(&placement.path, frozen).map_err(Error::Cgroup)?;
    Ok(info.record.id)
}

/// The cgroup of the container whose directory is `dir`, while it runs.
pub fn placement(dir: &Path) -> Option<cgroup::Placement> {
    crate::runtime::run::load_placement(dir)
}

/// Whether the container whose directory is `dir` is frozen.
pub fn is_paused(dir: &Path) -> bool {
    placement(dir).is_some_and(|p| cgroup::is_frozen(&p.path).unwrap_or(false))
}

/// Lays `newer` over container `name`'s limits: written into its cgroup
/// when it runs, and into its spec for later starts. Returns its id.
pub fn update(store: &Store, name: &str, newer: &Resources, proc: &Path) -> Result<String, Error> {
    let info = find(store, name, proc, None)?;
    let mut plan = load_spec(&info)?;
    let merged = plan.cgroups.resources.merged(newer);
    if info.state.status == ContainerStatus::Running {
        let placement = running_placement(store, &info)?;
        cgroup::update(&placement.path, newer).map_err(Error::Cgroup)?;
    }
    plan.cgroups.resources = merged;
    save_spec(store, &plan)?;
    Ok(info.record.id)
}

/// One reading of running container `name`'s counters, with its network
/// bytes received and sent (from its network namespace). A container
/// that is not running reads as zeros where `is_any` (`stats --all`),
/// else is an error.
pub fn stats(
    store: &Store,
    name: &str,
    proc: &Path,
    is_any: bool,
) -> Result<(ContainerInfo, Stats, (u64, u64)), Error> {
    let info = find(store, name, proc, None)?;
    if is_any && info.state.status != ContainerStatus::Running {
        return Ok((info, Stats::default(), (0, 0)));
    }
    let placement = running_placement(store, &info)?;
    let stats = cgroup::read_stats(&placement.path);
    let net = info
        .state
        .pid
        .map(|pid| net_bytes(&proc.join(pid.to_string()).join("net/dev")))
        .unwrap_or((0, 0));
    Ok((info, stats, net))
}

/// The cgroup of running container `info`.
fn running_placement(store: &Store, info: &ContainerInfo) -> Result<cgroup::Placement, Error> {
    if info.state.status != ContainerStatus::Running {
        return Err(Error::NotRunning(info.record.name.clone()));
    }
    crate::runtime::run::load_placement(&store.container_dirs(&info.record.id).dir)
        .ok_or_else(|| Error::NoCgroup(info.record.name.clone()))
}

/// Received and sent bytes over every interface but loopback, from a
/// /proc/PID/net/dev.
fn net_bytes(path: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(2)
        .filter_map(|l| {
            let (name, rest) = l.split_once(':')?;
            if name.trim() == "lo" {
                return None;
            }
            let f: Vec<u64> = rest
                .split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect();
            Some((*f.first()?, *f.get(8)?))
        })
        .fold((0, 0), |(r, t), (a, b)| (r + a, t + b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_bytes_skip_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dev");
        std::fs::write(
            &p,
            "Inter-|   Receive\n face |bytes\n    lo: 100 1 0 0 0 0 0 0 100 1 0 0 0 0 0 0\n  tap0: 2000 5 0 0 0 0 0 0 300 4 0 0 0 0 0 0\n",
        )
        .unwrap();
        assert_eq!(net_bytes(&p), (2000, 300));
    }
}
