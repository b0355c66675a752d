//! What front ends ask about containers without changing them: the `ps`
//! listing with its filters and sizes, one container's observed record,
//! its published ports, its processes (`top`) and whether it still runs.
//!
//! The data types the answers carry are re-exported here, so a front end
//! reads them without reaching into `storage` or `net`.

use std::collections::HashMap;
use std::path::Path;

use super::{lifecycle, limits, top, Engine, Error, PROC};
use crate::userns::IdMaps;

pub use crate::cgroup::Stats;
pub use crate::net::{format_port, PublishedPort};
pub use crate::storage::{ContainerInfo, ContainerState, ContainerStatus};
// Front ends build these only in their tests.
#[cfg(test)]
pub use crate::{
    net::Protocol,
    storage::{ContainerRecord, Digest},
};

/// Parsed `ps --filter` values: values of one key are ORed, different
/// keys ANDed; an empty list does not filter.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Filters {
    /// Id prefixes (lowercase).
    pub ids: Vec<String>,
    /// Parts of names.
    pub names: Vec<String>,
    /// States.
    pub statuses: Vec<ContainerStatus>,
    /// Image ids, id prefixes or names (see `is_ancestor`).
    pub ancestors: Vec<String>,
    /// Exit codes of exited containers.
    pub exit_codes: Vec<i32>,
    /// `label=KEY` or `label=KEY=VALUE`: all must match (as in Podman).
    pub labels: Vec<String>,
    /// `health=`: starting, healthy, unhealthy, or none (no check).
    pub healths: Vec<String>,
    /// `restart-policy=`: no, none, always, on-failure or unless-stopped.
    pub restart_policies: Vec<String>,
}

impl Filters {
    /// Whether no filter is given.
    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    /// Whether `info` passes: for each key given, one of its values matches.
    pub fn matches(&self, info: &ContainerInfo) -> bool {
        let rec = &info.record;
        let st = &info.state;
        let any = |values: &[String], f: &dyn Fn(&str) -> bool| {
            values.is_empty() || values.iter().any(|v| f(v))
        };
        any(&self.ids, &|v| rec.id.starts_with(v))
            && any(&self.names, &|v| rec.name.contains(v))
            && (self.statuses.is_empty() || self.statuses.contains(&st.status))
            && any(&self.ancestors, &|v| is_ancestor(info, v))
            && (self.exit_codes.is_empty()
                || (st.status == ContainerStatus::Exited
                    && st.exit_code.is_some_and(|c| self.exit_codes.contains(&c))))
            && (self.labels.is_empty()
                || super::labels::matches_all(&self.labels, &labels_of(info)))
    }

    /// Whether a container whose recorded `--restart` is `policy`
    /// passes `restart-policy=` (`on-failure:N` counts as `on-failure`;
    /// none given is `no`, which `none` also names, as in Podman).
    pub fn matches_restart(&self, policy: Option<&str>) -> bool {
        let name = policy
            .filter(|p| !p.is_empty())
            .map_or("no", |p| p.split(':').next().unwrap_or(p));
        self.restart_policies.is_empty()
            || self
                .restart_policies
                .iter()
                .any(|want| want == name || (want == "none" && name == "no"))
    }

    /// Whether a container whose health is `health` (see `Listed`), and
    /// that has a check or not (`has_check`), passes `health=`.
    pub fn matches_health(&self, has_check: bool, health: Option<&str>) -> bool {
        self.healths.is_empty()
            || self.healths.iter().any(|h| match h.as_str() {
                "none" => !has_check,
                status => health == Some(status),
            })
    }
}

/// Container `info`'s labels, from its stored spec (none without one).
pub fn labels_of(info: &ContainerInfo) -> std::collections::BTreeMap<String, String> {
    super::load_spec(info).map(|p| p.labels).unwrap_or_default()
}

/// What `ps` asks for.
#[derive(Debug, Default, Clone)]
pub struct ListRequest {
    /// Containers in every state, not only running ones.
    pub is_all: bool,
    /// Only the N latest created.
    pub limit: Option<usize>,
    /// `--filter`.
    pub filters: Filters,
    /// Also each container's published ports (stopping a stale helper of
    /// a stopped container as a side effect).
    pub with_ports: bool,
    /// Also each container's sizes (walks every writable layer).
    pub with_sizes: bool,
}

/// A container's sizes for `ps --size`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// The writable layer.
    pub rw: u64,
    /// The writable layer plus the image.
    pub root_fs: u64,
}

/// One container of a listing.
#[derive(Debug, Clone)]
pub struct Listed {
    /// Its record, its state observed now.
    pub info: ContainerInfo,
    /// Its published ports, when asked for.
    pub ports: Vec<PublishedPort>,
    /// Its sizes, when asked for.
    pub sizes: Option<Sizes>,
    /// Its health (`starting`, `healthy`, `unhealthy`), when it has a
    /// check and has started.
    pub health: Option<String>,
}

/// One reading of one running container's counters (`stats`).
#[derive(Debug, Clone)]
pub struct Reading {
    /// Its full id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its cgroup's counters.
    pub stats: Stats,
    /// Bytes received and sent over its interfaces but loopback.
    pub net: (u64, u64),
    /// Its memory limit, else the host's memory.
    pub memory_limit: u64,
}

/// The namespaces `ps --ns` shows, in its column order.
pub const NAMESPACES: [(&str, &str); 7] = [
    ("Cgroup", "cgroup"),
    ("IPC", "ipc"),
    ("MNT", "mnt"),
    ("NET", "net"),
    ("PIDNS", "pid"),
    ("User", "user"),
    ("UTS", "uts"),
];

/// The inode numbers of process `pid`'s namespaces, by `NAMESPACES` key;
/// empty strings for one that cannot be read (the process is gone, or the
/// container is not running).
pub fn namespace_ids(pid: Option<i32>) -> Vec<(&'static str, String)> {
    namespace_ids_in(Path::new(PROC), pid)
}

fn namespace_ids_in(proc: &Path, pid: Option<i32>) -> Vec<(&'static str, String)> {
    NAMESPACES
        .iter()
        .map(|(key, file)| {
            let id = pid
                .and_then(|p| std::fs::read_link(proc.join(format!("{p}/ns/{file}"))).ok())
                .and_then(|l| {
                    let l = l.to_string_lossy().into_owned();
                    l.split_once(":[")
                        .map(|(_, n)| n.trim_end_matches(']').to_string())
                })
                .unwrap_or_default();
            (*key, id)
        })
        .collect()
}

impl Engine {
    /// Lists containers as `ps` shows them, newest first: running ones (or
    /// all with `is_all`, a limit or a status filter), filtered, at most
    /// `limit` of them.
    pub fn list_containers(&self, req: &ListRequest) -> Result<Vec<Listed>, Error> {
        let store = self.store()?;
        let mut list = store.list_containers().map_err(Error::Store)?;
        if let Some(n) = req.limit.filter(|_| req.filters.is_empty()) {
            list.truncate(n);
        }
        // As in Docker, asking for a status shows containers in that status.
        let is_all = req.is_all || req.limit.is_some() || !req.filters.statuses.is_empty();
        let mut shown = Vec::new();
        for info in list {
            // Removed meanwhile, or now (a `--rm` container whose
            // monitor died): not listed.
            let Some(info) = self.observe(info)? else {
                continue;
            };
            let check = super::load_spec(&info).ok().and_then(|p| p.manage.health);
            let check = check.filter(|c| c.is_defined());
            let dir = store.container_dirs(&info.record.id).dir;
            let health = super::health::status_of(check.as_ref(), &dir);
            if (is_all || info.state.status == ContainerStatus::Running)
                && req.filters.matches(&info)
                && req
                    .filters
                    .matches_health(check.is_some(), health.as_deref())
                && (req.filters.restart_policies.is_empty()
                    || req.filters.matches_restart(
                        store
                            .restart_settings(&info.record.id)
                            .map_err(Error::Store)?
                            .and_then(|s| s.policy)
                            .as_deref(),
                    ))
            {
                shown.push((info, health));
            }
        }
        if let Some(n) = req.limit {
            shown.truncate(n);
        }
        let (shown, healths): (Vec<_>, Vec<_>) = shown.into_iter().unzip();
        let sizes = if req.with_sizes {
            self.measure(&shown)?
        } else {
            vec![None; shown.len()]
        };
        let mut out = Vec::with_capacity(shown.len());
        for ((info, sizes), health) in shown.into_iter().zip(sizes).zip(healths) {
            let ports = match req.with_ports {
                true => self.published_ports(&info)?,
                false => Vec::new(),
            };
            out.push(Listed {
                info,
                ports,
                sizes,
                health,
            });
        }
        Ok(out)
    }

    /// Container `name`'s sizes (`inspect --size`); `None` when it does
    /// not exist.
    pub fn container_sizes(&self, name: &str) -> Result<Option<Sizes>, Error> {
        let found = self.store()?.find_container(name).map_err(Error::Store)?;
        let Some(info) = found else {
            return Ok(None);
        };
        Ok(self.measure(&[info])?.pop().flatten())
    }

    /// The full id of the container created last (Podman's `--latest`).
    pub fn latest_container(&self) -> Result<String, Error> {
        let req = ListRequest {
            is_all: true,
            limit: Some(1),
            ..ListRequest::default()
        };
        let latest = self.list_containers(&req)?.into_iter().next();
        latest.map(|l| l.info.record.id).ok_or(Error::NoLatest)
    }

    /// Container `name` (name, id or id prefix), its state observed now.
    pub fn container(&self, name: &str) -> Result<ContainerInfo, Error> {
        let exits = self.exits_dir();
        lifecycle::find(self.store()?, name, Path::new(PROC), Some(&exits))
    }

    /// The full id of container `name` (name, id or id prefix), as
    /// recorded.
    pub fn container_id(&self, name: &str) -> Result<String, Error> {
        let found = self.store()?.find_container(name).map_err(Error::Store)?;
        let info = found.ok_or_else(|| Error::NoSuchContainer(name.to_string()))?;
        Ok(info.record.id)
    }

    /// `info` with its state as it really is now (see
    /// `container::observe`); `None` when it is gone.
    pub fn observe(&self, info: ContainerInfo) -> Result<Option<ContainerInfo>, Error> {
        super::observe(self.store()?, info, &self.exits_dir()).map_err(Error::Store)
    }

    /// Whether container `id` still runs; false once its record is gone.
    pub fn is_running(&self, id: &str) -> Result<bool, Error> {
        let store = self.store()?;
        Ok(match store.find_container(id).map_err(Error::Store)? {
            Some(info) => self
                .observe(info)?
                .is_some_and(|i| i.state.status == ContainerStatus::Running),
            None => false,
        })
    }

    /// The ports a running container publishes; none for a stopped one,
    /// whose helper, should it still run, is stopped here.
    pub fn published_ports(&self, info: &ContainerInfo) -> Result<Vec<PublishedPort>, Error> {
        let dir = self.store()?.container_dirs(&info.record.id).dir;
        if info.state.status == ContainerStatus::Running {
            return Ok(crate::runtime::network::published_ports(&dir));
        }
        crate::runtime::network::stop_stale_helper(&dir, Path::new(PROC));
        Ok(Vec::new())
    }

    /// The processes of running container `name`, ordered by pid inside it.
    pub fn list_processes(&self, name: &str) -> Result<Vec<top::Process>, top::Error> {
        top::list_processes(self.store()?, name)
    }

    /// One reading of each of the running containers `names`, in order.
    pub fn read_stats(&self, names: &[String]) -> Result<Vec<Reading>, Error> {
        self.read_stats_of(names, false)
    }

    /// One reading of each of the containers `names`, in order; those
    /// not running read as zeros (`stats --all`).
    pub fn read_all_stats(&self, names: &[String]) -> Result<Vec<Reading>, Error> {
        self.read_stats_of(names, true)
    }

    fn read_stats_of(&self, names: &[String], is_any: bool) -> Result<Vec<Reading>, Error> {
        let store = self.store()?;
        let proc = Path::new(PROC);
        names
            .iter()
            .map(|n| {
                let (info, stats, net) = limits::stats(store, n, proc, is_any)?;
                let memory_limit = match info.state.status {
                    ContainerStatus::Running => {
                        stats.memory_limit.unwrap_or_else(|| host_memory(proc))
                    }
                    _ => 0,
                };
                Ok(Reading {
                    id: info.record.id,
                    name: info.record.name,
                    stats,
                    net,
                    memory_limit,
                })
            })
            .collect()
    }

    /// The sizes of `containers`, in order; the image sizes are looked up
    /// once per image. Forks when a writable layer is not readable as the
    /// user.
    fn measure(&self, containers: &[ContainerInfo]) -> Result<Vec<Option<Sizes>>, Error> {
        let store = self.store()?;
        let mut image_sizes: HashMap<String, u64> = HashMap::new();
        let mut out = Vec::with_capacity(containers.len());
        for info in containers {
            let maps = match planned_maps(info) {
                Some(m) => m,
                None => self.user_maps()?.clone(),
            };
            let rw = store
                .container_upper_size(&info.record.id, &maps)
                .map_err(Error::Store)?;
            let image_id = info.record.image_id.hex().to_string();
            let image = match image_sizes.get(&image_id) {
                Some(n) => *n,
                None => {
                    let found = store.find_image(&image_id).map_err(Error::Store)?;
                    let n = found.map_or(0, |i| i.size);
                    image_sizes.insert(image_id, n);
                    n
                }
            };
            out.push(Some(Sizes {
                rw,
                root_fs: rw.saturating_add(image),
            }));
        }
        Ok(out)
    }
}

/// The host's memory (MemTotal of `proc`/meminfo), the limit of a
/// container without one; 0 when unknown.
fn host_memory(proc: &Path) -> u64 {
    std::fs::read_to_string(proc.join("meminfo"))
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

/// The id maps recorded in `info`'s plan, if it has one that parses.
fn planned_maps(info: &ContainerInfo) -> Option<IdMaps> {
    super::load_spec(info).ok().map(|p| p.maps)
}

/// Whether `wanted` names the image of `info`: its id or an id prefix
/// (with or without `sha256:`), or its name, where a missing tag means
/// `latest` and the registry and path before a `/` may be left out.
fn is_ancestor(info: &ContainerInfo, wanted: &str) -> bool {
    let hex = wanted.strip_prefix("sha256:").unwrap_or(wanted);
    if !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit())
        && info
            .record
            .image_id
            .hex()
            .starts_with(&hex.to_ascii_lowercase())
    {
        return true;
    }
    let have = with_tag(&info.record.image_name);
    let wanted = with_tag(wanted);
    have == wanted || have.ends_with(&format!("/{wanted}"))
}

/// `name` with `:latest` added when it has neither tag nor digest.
fn with_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ContainerInfo {
        ContainerInfo {
            record: ContainerRecord {
                id: "0123456789abcdef".repeat(4),
                name: "web".into(),
                image_id: Digest::of(b"config"),
                image_name: "127.0.0.1:5000/busybox".into(),
                created: "2026-11-27T18:59:50Z".into(),
            },
            state: ContainerState::default(),
            spec: None,
        }
    }

    #[test]
    fn restart_policy_filter_names_the_policy_without_its_count() {
        let f = Filters {
            restart_policies: vec!["always".into(), "on-failure".into()],
            ..Filters::default()
        };
        assert!(f.matches_restart(Some("always")));
        assert!(f.matches_restart(Some("on-failure:3")));
        assert!(!f.matches_restart(Some("unless-stopped")));
        assert!(!f.matches_restart(None));
        let none = Filters {
            restart_policies: vec!["none".into()],
            ..Filters::default()
        };
        assert!(none.matches_restart(None) && none.matches_restart(Some("no")));
        assert!(Filters::default().matches_restart(Some("always")));
    }

    #[test]
    fn ancestor_matches_names_and_ids() {
        let i = info();
        let id = i.record.image_id.hex();
        for yes in [
            "busybox",
            "busybox:latest",
            "127.0.0.1:5000/busybox",
            "127.0.0.1:5000/busybox:latest",
            &id[..6],
            &format!("sha256:{}", &id[..8]),
        ] {
            assert!(is_ancestor(&i, yes), "{yes}");
        }
        for no in ["box", "busybox:1.36", "alpine", "other/busybox", "zzz"] {
            assert!(!is_ancestor(&i, no), "{no}");
        }
    }

    #[test]
    fn host_memory_reads_mem_total() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(host_memory(dir.path()), 0);
        std::fs::write(
            dir.path().join("meminfo"),
            "MemTotal:        2048 kB\nMemFree:  1 kB\n",
        )
        .unwrap();
        assert_eq!(host_memory(dir.path()), 2048 * 1024);
    }

    #[test]
    fn planned_maps_come_from_the_spec() {
        let mut i = info();
        assert!(planned_maps(&i).is_none());
        i.spec = Some(r#"{"args":["sh"]}"#.into());
        assert!(planned_maps(&i).is_none());
    }
}
