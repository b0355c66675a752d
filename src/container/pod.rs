//! Pods: groups of containers sharing one user, network, UTS and IPC
//! namespace, held by a minimal infra process.
//!
//! Owns the pod records (`ROOT/pods/ID/pod.json`, written atomically under
//! a lock) and the namespaces a member container joins; the infra process
//! and its monitor are `pod_infra`'s. It must not print.

use std::fs::{File, OpenOptions};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use nix::sched::CloneFlags;

pub use super::pod_infra::{
    ensure_infra, format_report, start_infra, stop_infra, watch_infra, RunningInfra, INFRA_COMMAND,
};
use super::pod_ops::NewPod;
use super::pod_options::PodCgroupPlan;
use crate::net::{NetworkPlan, PublishedPort};
use crate::runtime::pod::PodJoin;
use crate::runtime::procfs;
use crate::userns::IdMaps;

/// The record file inside a pod's directory.
const RECORD_FILE: &str = "pod.json";

/// What went wrong with a pod.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No pod has this name, id or id prefix (Podman's words).
    #[error("no pod with name or ID {0} found: no such pod")]
    NoSuchPod(String),
    /// `--latest` with no pod recorded.
    #[error("no pods to act on: no such pod")]
    NoPods,
    /// `pod create --name` with a name a pod already has.
    #[error("the pod name {0} is already in use")]
    NameInUse(String),
    /// Creating, reading or writing a pod's files.
    #[error("writing pod files in {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading a pod record.
    #[error("reading pod record {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A pod record that does not parse.
    #[error("parsing pod record {path}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// Taking the pods lock.
    #[error("locking {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// `pod rm` without `-f` of a pod whose members run.
    #[error("pod {0} has running containers: stop the pod first or use -f")]
    HasRunningMembers(String),
    /// A member may only start while its pod's infra runs.
    #[error("pod {0} is not running: start it with hutch pod start {0}")]
    NotRunning(String),
    /// Starting the infra monitor or hearing from it.
    #[error("starting the infra process of pod {0}")]
    SpawnInfra(String, #[source] std::io::Error),
    /// The infra monitor's failure report.
    #[error("starting the infra process of pod {pod}: {message}")]
    InfraFailed { pod: String, message: String },
    /// Cloning the infra's namespaces.
    #[error("creating the pod's namespaces")]
    Clone(#[source] std::io::Error),
    /// Writing the infra's id maps.
    #[error("writing the pod's id maps")]
    Maps(#[source] crate::userns::Error),
    /// Starting the pod's network helper.
    #[error("connecting the pod's network")]
    Network(#[source] crate::net::Error),
    /// Blocking or reading signals in the infra monitor.
    #[error("handling signals in the infra monitor")]
    Signals(#[source] nix::Error),
    /// Opening a namespace of the infra process.
    #[error("opening the {kind} namespace of pod {pod}")]
    OpenNamespace {
        pod: String,
        kind: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// A pod name that is not also a valid host name.
    #[error("invalid pod name {0:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    InvalidName(String),
    /// `--replace` without a name to replace.
    #[error("cannot replace pod without --name being set")]
    ReplaceWithoutName,
    /// `--pod-id-file` naming a file that exists.
    #[error("pod id file exists. Ensure another pod is not using it or delete {0}")]
    IdFileExists(PathBuf),
    /// Creating or writing `--pod-id-file`.
    #[error("writing the pod id to {path}")]
    IdFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--share` with a namespace Linux does not have.
    #[error(
        "invalid kernel namespace to share: {0}. Options are: cgroup, ipc, net, pid, uts or none"
    )]
    InvalidShare(String),
    /// `--share` with a namespace hutch's pods cannot share.
    #[error("--share {0}: a hutch pod's members can share only its ipc, net and uts namespaces, and always share net")]
    UnsupportedShare(String),
    /// An option that needs the infra, on a pod without one.
    #[error("{0}")]
    NeedsInfra(&'static str),
    /// `--share` of namespaces on a pod without an infra.
    #[error("cannot set share({0}) namespaces without an infra container")]
    ShareWithoutInfra(String),
    /// `pod start` of a pod without infra or members.
    #[error("no containers in pod {0} have no dependencies, cannot start pod: no such container")]
    NothingToStart(String),
    /// A `--label` or label file line without a key.
    #[error("unable to process labels: invalid label format: {0:?}")]
    BadLabel(String),
    /// Reading a `--label-file`.
    #[error("unable to process labels: reading {path}")]
    LabelFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--exit-policy` other than continue or stop.
    #[error("running pod create option: invalid pod exit policy: {0:?}")]
    InvalidExitPolicy(String),
    /// A `pod ps --filter` Podman would refuse (its message).
    #[error("{0}")]
    BadFilter(String),
    /// `pod logs -c` of a container outside the pod.
    #[error("container {container} is not in pod {pod}: no such container")]
    NotAMember { container: String, pod: String },
    /// Limits with `--share-parent=false`: hutch's pod cgroup would hold
    /// nothing, since its infra is no container in it.
    #[error("--share-parent=false leaves the pod's cgroup without containers: its limits would apply to nothing; set limits on the containers instead")]
    LimitsWithoutSharedParent,
    /// `pod clone` of a pod whose record holds no request.
    #[error("pod {0} records no request to clone: it was created by an older hutch")]
    CloneNoRequest(String),
    /// `--userns`/`--uidmap` on a member: the pod's maps are fixed.
    #[error("a container in pod {0} must use the pod's user namespace: drop --userns, --uidmap and --gidmap")]
    OwnUserns(String),
}

/// The infra process of a running pod.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Infra {
    /// The process holding the namespaces.
    pub pid: i32,
    /// Its start time (field 22 of /proc/PID/stat).
    pub start: u64,
    /// The monitor that waits for it.
    pub monitor_pid: i32,
    /// The monitor's start time.
    pub monitor_start: u64,
    /// The network helper, if the mode has one.
    pub helper_pid: Option<i32>,
    /// The helper's start time.
    pub helper_start: Option<u64>,
    /// The published host ports.
    pub ports: Vec<PublishedPort>,
}

/// What happens to a pod when its last container exits (`--exit-policy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitPolicy {
    /// The pod keeps running (Podman's default).
    #[default]
    Continue,
    /// The infra stops with the last member.
    Stop,
}

impl ExitPolicy {
    /// Podman's name for it.
    pub fn name(self) -> &'static str {
        match self {
            ExitPolicy::Continue => "continue",
            ExitPolicy::Stop => "stop",
        }
    }
}

/// `--exit-policy` `text`: continue or stop.
pub fn parse_exit_policy(text: &str) -> Result<ExitPolicy, Error> {
    match text {
        "continue" => Ok(ExitPolicy::Continue),
        "stop" => Ok(ExitPolicy::Stop),
        other => Err(Error::InvalidExitPolicy(other.to_string())),
    }
}

/// The namespaces members share with the infra besides the user
/// namespace, which they always share (the pod's id maps are its own).
pub const SHAREABLE: [&str; 3] = ["ipc", "net", "uts"];

/// What members share when `--share` is not given.
pub fn default_shared() -> Vec<String> {
    SHAREABLE.iter().map(|s| s.to_string()).collect()
}

fn yes() -> bool {
    true
}

/// What members take from their pod unless they set it themselves, as
/// Podman's members inherit from the infra container.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Inherited {
    /// `-v` of `pod create`: mounted into every member before its own.
    #[serde(default)]
    pub volumes: Vec<String>,
    /// `--volumes-from` of `pod create`.
    #[serde(default)]
    pub volumes_from: Vec<String>,
    /// `--device` of `pod create`.
    #[serde(default)]
    pub devices: Vec<String>,
    /// `--security-opt` of `pod create`.
    #[serde(default)]
    pub security_opt: Vec<String>,
    /// `--userns` of `pod create`.
    #[serde(default)]
    pub userns: Option<String>,
    /// `--uidmap` of `pod create`.
    #[serde(default)]
    pub uidmap: Vec<String>,
    /// `--gidmap` of `pod create`.
    #[serde(default)]
    pub gidmap: Vec<String>,
    /// `--shm-size` of `pod create`: the size of /dev/shm in members that
    /// share its IPC namespace (theirs is ignored, as in Podman, where
    /// they share the infra's).
    #[serde(default)]
    pub shm_size: Option<String>,
    /// `--sysctl`s of `pod create`: set in the namespaces members share
    /// by each member, before its own.
    #[serde(default)]
    pub sysctls: Vec<String>,
    /// `--subuidname` of `pod create`.
    #[serde(default)]
    pub subuidname: Option<String>,
    /// `--subgidname` of `pod create`.
    #[serde(default)]
    pub subgidname: Option<String>,
}

impl Inherited {
    /// The pod's user namespace as a container request.
    pub fn userns_request(&self) -> super::UsernsRequest {
        super::UsernsRequest {
            mode: self.userns.clone(),
            uidmap: self.uidmap.clone(),
            gidmap: self.gidmap.clone(),
            ..Default::default()
        }
    }
}

/// `--share` as Podman reads it: a comma-separated list of namespaces, or
/// with a leading `+` added to the default list; `none` or nothing shares
/// none. Namespaces hutch cannot share are refused.
pub fn parse_share(text: &str) -> Result<Vec<String>, Error> {
    let (mut out, rest) = match text.strip_prefix('+') {
        Some(r) => (default_shared(), r),
        None => (Vec::new(), text),
    };
    let kinds: Vec<&str> = rest.split(',').filter(|k| !k.is_empty()).collect();
    if let Some(bad) = kinds
        .iter()
        .find(|k| !["cgroup", "ipc", "net", "pid", "uts", "none"].contains(k))
    {
        return Err(Error::InvalidShare(bad.to_string()));
    }
    for kind in kinds {
        match kind {
            "none" => {}
            "cgroup" | "pid" => return Err(Error::UnsupportedShare(kind.to_string())),
            k => {
                if !out.iter().any(|o| o == k) {
                    out.push(k.to_string());
                }
            }
        }
    }
    // Members join the infra's network: without it they would have none.
    if !out.is_empty() && !out.iter().any(|o| o == "net") {
        return Err(Error::UnsupportedShare(text.to_string()));
    }
    Ok(out)
}

/// The checks Podman makes of a pod without an infra: nothing to share,
/// no ports to publish, no /etc/hosts to leave alone.
pub fn check_infra_less(
    shared: Option<&[String]>,
    network: &crate::net::NetworkRequest,
) -> Result<(), Error> {
    if network.no_hosts {
        return Err(Error::NeedsInfra(
            "cannot specify --no-hosts without an infra container",
        ));
    }
    if let Some(s) = shared.filter(|s| !s.is_empty()) {
        return Err(Error::ShareWithoutInfra(s.join(",")));
    }
    if !network.publish.is_empty() {
        return Err(Error::NeedsInfra(
            "you must have an infra container to publish port bindings to the host",
        ));
    }
    Ok(())
}

/// Creates `--pod-id-file` `path`, which must not exist yet.
pub fn create_id_file(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AlreadyExists => Error::IdFileExists(path.to_path_buf()),
            _ => Error::IdFile {
                path: path.to_path_buf(),
                source,
            },
        })
}

/// A pod as recorded.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pod {
    /// 64 hex characters.
    pub id: String,
    /// Unique among pods.
    pub name: String,
    /// RFC 3339 creation time.
    pub created: String,
    /// The pod's network: mode and published ports.
    pub network: NetworkPlan,
    /// The id maps of the pod's user namespace.
    pub maps: IdMaps,
    /// The infra process while the pod runs.
    #[serde(default)]
    pub infra: Option<Infra>,
    /// Whether the infra has been started since the pod was created: until
    /// then the pod is `Created`, as Podman's is. Pods recorded before this
    /// field started at creation.
    #[serde(default = "yes")]
    pub has_started: bool,
    /// Whether the pod has an infra process (`--infra`); members of a pod
    /// without one join nothing.
    #[serde(default = "yes")]
    pub has_infra: bool,
    /// `--label`s and `--label-file`s.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// `--hostname`: the host name of the pod's UTS namespace (default:
    /// the pod's name).
    #[serde(default)]
    pub hostname: Option<String>,
    /// `--exit-policy`.
    #[serde(default)]
    pub exit_policy: ExitPolicy,
    /// The namespaces members join besides the user namespace (`--share`).
    #[serde(default = "default_shared")]
    pub shared: Vec<String>,
    /// The command line that created the pod.
    #[serde(default)]
    pub create_command: Vec<String>,
    /// `--infra-conmon-pidfile`: where each start writes the infra
    /// monitor's pid.
    #[serde(default)]
    pub monitor_pidfile: Option<PathBuf>,
    /// What members inherit.
    #[serde(default)]
    pub inherited: Inherited,
    /// Whether `pod pause` paused it (its infra counts as paused until
    /// `pod unpause` or a stop).
    #[serde(default)]
    pub is_paused: bool,
    /// `--cgroup-parent`, `--share-parent` and the limits: where members
    /// go (see `cgroup::pod`).
    #[serde(default)]
    pub cgroup: PodCgroupPlan,
    /// `--uts host`: the infra, and members sharing its UTS namespace,
    /// stay in the host's.
    #[serde(default)]
    pub is_host_uts: bool,
    /// `--pid host`: the infra stays in the host's PID namespace (members
    /// never share the infra's).
    #[serde(default)]
    pub is_host_pid: bool,
    /// The request the pod was created from, for `pod clone`; pods
    /// recorded before it have none.
    #[serde(default)]
    pub request: Option<Box<NewPod>>,
}

impl Pod {
    /// Whether the infra process still runs (under the proc root `proc`).
    pub fn is_running(&self, proc: &Path) -> bool {
        self.infra
            .as_ref()
            .is_some_and(|i| procfs::is_alive(proc, i.pid, i.start))
    }

    /// The pod's host name: `--hostname`, else its name.
    pub fn host_name(&self) -> &str {
        self.hostname.as_deref().unwrap_or(&self.name)
    }

    /// Whether members join the infra's namespace `kind` (ipc, net, uts).
    pub fn shares(&self, kind: &str) -> bool {
        self.shared.iter().any(|s| s == kind)
    }

    /// Removes the pod's cgroup, if it has one (see
    /// `cgroup::release_pod`); its members must be gone.
    pub fn release_cgroup(&self) -> Result<(), crate::cgroup::Error> {
        match self.member_cgroup() {
            Some(c) => crate::cgroup::release_pod(&super::resources::host(), &c),
            None => Ok(()),
        }
    }

    /// The cgroup members go under, unless they name a parent of their
    /// own: the pod's, when it has limits and shares it.
    pub fn member_cgroup(&self) -> Option<crate::cgroup::PodCgroup> {
        let c = &self.cgroup;
        (c.is_parent_shared && !c.resources.is_empty()).then(|| crate::cgroup::PodCgroup {
            id: self.id.clone(),
            parent: c.parent.clone(),
            resources: c.resources.clone(),
        })
    }
}

/// `ROOT/pods`.
pub fn pods_dir(root: &Path) -> PathBuf {
    root.join("pods")
}

/// `ROOT/pods/ID`: the record and the network helper's files.
pub fn pod_dir(root: &Path, id: &str) -> PathBuf {
    pods_dir(root).join(id)
}

/// The exclusive lock on all pod records; released on drop.
pub struct PodLock {
    _file: Flock<File>,
}

/// Blocks until the pods lock is ours.
pub fn lock(root: &Path) -> Result<PodLock, Error> {
    let dir = pods_dir(root);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(".lock");
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    let file = Flock::lock(file, FlockArg::LockExclusive).map_err(|(_, source)| Error::Lock {
        path: path.clone(),
        source,
    })?;
    Ok(PodLock { _file: file })
}

/// Writes `pod`'s record atomically (see `storage::atomic`).
pub fn save(root: &Path, pod: &Pod) -> Result<(), Error> {
    let dir = pod_dir(root, &pod.id);
    std::fs::create_dir_all(&dir).map_err(|source| Error::Write {
        path: dir.clone(),
        source,
    })?;
    let path = dir.join(RECORD_FILE);
    let json = serde_json::to_vec_pretty(pod).map_err(|source| Error::Corrupt {
        path: path.clone(),
        source,
    })?;
    crate::storage::atomic::write_file(&path, &json, 0o644)
        .map_err(|source| Error::Write { path, source })
}

/// Every recorded pod, oldest first.
pub fn list(root: &Path) -> Result<Vec<Pod>, Error> {
    let dir = pods_dir(root);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Read { path: dir, source }),
    };
    let mut pods = Vec::new();
    for entry in entries.flatten() {
        // The lock file and temporary files are not pods.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path().join(RECORD_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            // A directory being created or removed has no record yet.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => return Err(Error::Read { path, source }),
        };
        let pod: Pod =
            serde_json::from_slice(&bytes).map_err(|source| Error::Corrupt { path, source })?;
        pods.push(pod);
    }
    let at = |p: &Pod| super::logread::parse_timestamp(&p.created).unwrap_or(0);
    pods.sort_by(|a, b| at(a).cmp(&at(b)).then(a.id.cmp(&b.id)));
    Ok(pods)
}

/// The pod named `name_or_id` (a name, a full id or a unique id prefix).
pub fn find(root: &Path, name_or_id: &str) -> Result<Pod, Error> {
    let pods = list(root)?;
    if let Some(p) = pods
        .iter()
        .find(|p| p.name == name_or_id || p.id == name_or_id)
    {
        return Ok(p.clone());
    }
    let mut prefixed = pods
        .into_iter()
        .filter(|p| !name_or_id.is_empty() && p.id.starts_with(name_or_id));
    match (prefixed.next(), prefixed.next()) {
        (Some(p), None) => Ok(p),
        _ => Err(Error::NoSuchPod(name_or_id.to_string())),
    }
}

/// Records a new pod, refusing a name another pod has. Call under `lock`.
pub fn create(root: &Path, pod: &Pod) -> Result<(), Error> {
    if list(root)?.iter().any(|p| p.name == pod.name) {
        return Err(Error::NameInUse(pod.name.clone()));
    }
    save(root, pod)
}

/// Records pod `id` paused or not.
pub fn set_paused(root: &Path, id: &str, is_paused: bool) -> Result<(), Error> {
    let _lock = lock(root)?;
    let mut p = find(root, id)?;
    p.is_paused = is_paused;
    save(root, &p)
}

/// Deletes pod `id`'s record and directory.
pub fn delete(root: &Path, id: &str) -> Result<(), Error> {
    let dir = pod_dir(root, id);
    match std::fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Write {
            path: dir,
            source: e,
        }),
        _ => Ok(()),
    }
}

/// The namespaces a member joins, user first (see `clone_member`).
const MEMBER_NAMESPACES: [(CloneFlags, &str); 4] = [
    (CloneFlags::CLONE_NEWUSER, "user"),
    (CloneFlags::CLONE_NEWNET, "net"),
    (CloneFlags::CLONE_NEWUTS, "uts"),
    (CloneFlags::CLONE_NEWIPC, "ipc"),
];

/// The open namespaces of pod `id`'s running infra, in join order.
pub fn open_namespaces(root: &Path, id: &str, proc: &Path) -> Result<PodJoin, Error> {
    let pod = find(root, id)?;
    let infra = match &pod.infra {
        Some(i) if pod.is_running(proc) => i,
        _ => return Err(Error::NotRunning(pod.name.clone())),
    };
    let mut out = Vec::new();
    let mut own = CloneFlags::empty();
    for (flag, kind) in MEMBER_NAMESPACES {
        // A pod in the host's UTS namespace leaves members there: it is
        // not theirs to join (the pod's user namespace does not own it),
        // and they stay in it as they are.
        if kind == "uts" && pod.is_host_uts && pod.shares(kind) {
            continue;
        }
        // A namespace the pod does not share is the member's own.
        if kind != "user" && !pod.shares(kind) {
            own |= flag;
            continue;
        }
        let path = proc.join(infra.pid.to_string()).join("ns").join(kind);
        let file = File::open(&path).map_err(|source| Error::OpenNamespace {
            pod: pod.name.clone(),
            kind,
            source,
        })?;
        out.push((flag, OwnedFd::from(file)));
    }
    // The infra may have died between the check and the opens: then the
    // fds name namespaces nobody holds, which is no use to a member.
    if !pod.is_running(proc) {
        return Err(Error::NotRunning(pod.name));
    }
    Ok(PodJoin {
        pod: pod.name,
        namespaces: out,
        own,
        network: None,
    })
}

/// The namespaces a member of `plan`'s pod joins, opened now; `None` for a
/// container outside pods.
pub fn member_join(plan: &crate::runtime::Plan, proc: &Path) -> Result<Option<PodJoin>, Error> {
    let Some(id) = &plan.pod else {
        return Ok(None);
    };
    let root = super::store_root_of(plan);
    if !find(root, id)?.has_infra {
        return Ok(None);
    }
    open_namespaces(root, id, proc).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as hutch wrote it before pods had labels, policies and
    /// shared-namespace lists: the defaults fill them in.
    fn pod(id: &str, name: &str) -> Pod {
        let old = serde_json::json!({
            "id": id,
            "name": name,
            "created": "2026-01-01T00:00:00Z",
            "network": NetworkPlan::default(),
            "maps": IdMaps::plan(1000, 1000, &[], &[]),
        });
        serde_json::from_value(old).unwrap()
    }

    #[test]
    fn older_records_read_as_started_pods_sharing_the_defaults() {
        let p = pod("a1", "web");
        assert!(p.has_started && p.has_infra);
        assert_eq!(p.shared, ["ipc", "net", "uts"]);
        assert_eq!(p.exit_policy, ExitPolicy::Continue);
        assert_eq!(p.host_name(), "web");
    }

    #[test]
    fn share_lists_read_as_podmans() {
        assert_eq!(parse_share("ipc,net,uts").unwrap(), ["ipc", "net", "uts"]);
        assert_eq!(parse_share("net").unwrap(), ["net"]);
        assert_eq!(parse_share("+net").unwrap(), ["ipc", "net", "uts"]);
        assert!(parse_share("none").unwrap().is_empty());
        assert!(parse_share("").unwrap().is_empty());
        assert!(matches!(parse_share("pid,bogus"), Err(Error::InvalidShare(k)) if k == "bogus"));
        assert!(matches!(parse_share("pid,net"), Err(Error::UnsupportedShare(k)) if k == "pid"));
        assert!(matches!(parse_share("bogus"), Err(Error::InvalidShare(k)) if k == "bogus"));
        // Without net, members would have no network.
        assert!(matches!(
            parse_share("ipc,uts"),
            Err(Error::UnsupportedShare(_))
        ));
    }

    #[test]
    fn records_are_found_by_name_id_and_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let _lock = lock(tmp.path()).unwrap();
        create(tmp.path(), &pod("abc123", "web")).unwrap();
        create(tmp.path(), &pod("abd456", "db")).unwrap();
        assert_eq!(find(tmp.path(), "web").unwrap().id, "abc123");
        assert_eq!(find(tmp.path(), "abd456").unwrap().name, "db");
        assert_eq!(find(tmp.path(), "abc").unwrap().name, "web");
        assert!(matches!(find(tmp.path(), "ab"), Err(Error::NoSuchPod(_))));
        assert!(matches!(find(tmp.path(), "x"), Err(Error::NoSuchPod(_))));
        assert_eq!(list(tmp.path()).unwrap().len(), 2);
        delete(tmp.path(), "abc123").unwrap();
        assert!(find(tmp.path(), "web").is_err());
    }

    #[test]
    fn a_second_pod_with_one_name_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        create(tmp.path(), &pod("a1", "web")).unwrap();
        assert!(matches!(
            create(tmp.path(), &pod("b2", "web")),
            Err(Error::NameInUse(n)) if n == "web"
        ));
    }

    #[test]
    fn report_lines_round_trip_their_message() {
        assert_eq!(format_report(&Ok(())), "ok\n");
        assert_eq!(format_report(&Err("a\nb".into())), "err a b\n");
    }
}
