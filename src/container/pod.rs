//! Pods: groups of containers sharing one user, network, UTS and IPC
//! namespace, held by a minimal infra process.
//!
//! Owns the pod records (`ROOT/pods/ID/pod.json`, written atomically under
//! a lock), the infra process and its monitor (a re-executed hutch, like a
//! detached container's), and the clone that puts a member container into
//! the pod's namespaces. It must not print.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::net::{NetworkPlan, PublishedPort, RunningHelper};
use crate::runtime::pod::PodJoin;
use crate::runtime::procfs;
use crate::sys::child::{spawn, Failure, Never};
use crate::userns::IdMaps;

/// The hidden subcommand that runs a pod's infra monitor.
pub const INFRA_COMMAND: &str = "pod-infra";

/// The record file inside a pod's directory.
const RECORD_FILE: &str = "pod.json";

/// How long `pod stop` waits for the infra monitor to go.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// What went wrong with a pod.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No pod has this name, id or id prefix.
    #[error("no such pod {0}")]
    NoSuchPod(String),
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
}

impl Pod {
    /// Whether the infra process still runs (under the proc root `proc`).
    pub fn is_running(&self, proc: &Path) -> bool {
        self.infra
            .as_ref()
            .is_some_and(|i| procfs::is_alive(proc, i.pid, i.start))
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
    pods.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
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

/// Starts pod `id`'s infra through a new monitor (`hutch pod-infra ID`)
/// and waits for its one-line report.
pub fn spawn_infra(root: &Path, runroot: &Path, id: &str) -> Result<(), Error> {
    let mut child = Command::new("/proc/self/exe")
        .arg("--root")
        .arg(root)
        .arg("--runroot")
        .arg(runroot)
        .arg(INFRA_COMMAND)
        .arg(id)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Error::SpawnInfra(id.to_string(), e))?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(|e| Error::SpawnInfra(id.to_string(), e))?;
    }
    // The monitor outlives us by design.
    drop(child);
    match line.trim_end().strip_prefix("err ") {
        None if line.starts_with("ok") => Ok(()),
        Some(message) => Err(Error::InfraFailed {
            pod: id.to_string(),
            message: message.to_string(),
        }),
        None => Err(Error::InfraFailed {
            pod: id.to_string(),
            message: "the infra monitor exited without reporting".into(),
        }),
    }
}

/// The report line an infra monitor writes on stdout.
pub fn format_report(result: &Result<(), String>) -> String {
    match result {
        Ok(()) => "ok\n".into(),
        Err(m) => format!("err {}\n", m.replace('\n', " ")),
    }
}

/// A started infra process and its helper, owned by the monitor.
pub struct RunningInfra {
    pid: Pid,
    signals: SignalFd,
    helper: Option<RunningHelper>,
}

/// In the infra monitor: clones the infra into new user, network, UTS and
/// IPC namespaces, writes its id maps, connects its network and records it.
/// Must be called single-threaded.
pub fn start_infra(root: &Path, id: &str, proc: &Path) -> Result<RunningInfra, Error> {
    // A session of our own: the caller's terminal may close.
    let _ = nix::unistd::setsid();
    let mut pod = find(root, id)?;
    let dir = pod_dir(root, &pod.id);
    stop_stale(&pod, proc);
    let ports = if pod.network.ports.is_empty() {
        Vec::new()
    } else {
        crate::net::check_ports(
            &pod.network.ports,
            crate::net::unprivileged_port_start(proc),
        )
        .and_then(|()| crate::net::resolve_ports(&pod.network.ports))
        .map_err(Error::Network)?
    };
    // Signals first, so a stop request between clone and wait queues.
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(Error::Signals)?;
    let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC).map_err(Error::Signals)?;
    let (go_r, go_w) = crate::userns::pipe().map_err(Error::Maps)?;
    let flags = CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNET
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC;
    let private = pod.network.mode.is_private();
    let flags = if private {
        flags
    } else {
        flags - CloneFlags::CLONE_NEWNET
    };
    let name = pod.name.clone();
    let infra = spawn(flags, &[go_w.as_fd(), signals.as_fd()], move |_| {
        infra_child(go_r, &name, private)
    })
    .map_err(Error::Clone)?;
    // The infra never execs and reports only a failure to start, which
    // the steps below notice on their own.
    let pid = infra.pid();
    drop(infra);
    // The id maps before the helper: it joins the user namespace.
    let helper = crate::userns::write_id_maps(pid, &pod.maps)
        .map_err(Error::Maps)
        .and_then(|()| {
            crate::net::start_helper(&pod.network, pid, &dir, &ports).map_err(Error::Network)
        });
    let helper = match helper {
        Ok(h) => h,
        Err(e) => {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return Err(e);
        }
    };
    let _ = File::from(go_w).write_all(b"1");
    let me = nix::unistd::getpid().as_raw();
    pod.infra = Some(Infra {
        pid: pid.as_raw(),
        start: procfs::start_time(proc, pid.as_raw()).unwrap_or_default(),
        monitor_pid: me,
        monitor_start: procfs::start_time(proc, me).unwrap_or_default(),
        helper_pid: helper.as_ref().map(RunningHelper::pid),
        helper_start: helper
            .as_ref()
            .and_then(|h| procfs::start_time(proc, h.pid())),
        ports,
    });
    {
        let _lock = lock(root)?;
        save(root, &pod)?;
    }
    Ok(RunningInfra {
        pid,
        signals,
        helper,
    })
}

/// The infra process: waits for its id maps and network, brings up
/// loopback, names the host after the pod, then sleeps until killed or
/// its monitor dies. Returns only when the maps never came.
fn infra_child(go: OwnedFd, name: &str, private: bool) -> Result<Never, Failure> {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    let mut byte = [0u8; 1];
    if !matches!(File::from(go).read(&mut byte), Ok(1)) {
        return Err(Failure::text("id maps were not written"));
    }
    if private {
        let _ = crate::sys::netif::set_interface_up("lo");
    }
    let _ = nix::unistd::sethostname(name);
    loop {
        nix::unistd::pause();
    }
}

/// In the infra monitor, after the report: waits until the infra exits or
/// a stop signal arrives, then stops the helper and records the pod stopped.
pub fn watch_infra(root: &Path, id: &str, infra: RunningInfra) -> Result<(), Error> {
    let RunningInfra {
        pid,
        signals,
        helper,
    } = infra;
    while let Ok(WaitStatus::StillAlive) = waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        match signals.read_signal() {
            Ok(Some(info)) if info.ssi_signo != Signal::SIGCHLD as u32 => {
                let _ = kill(pid, Signal::SIGKILL);
            }
            Ok(_) => {}
            Err(nix::Error::EINTR) => {}
            Err(e) => {
                let _ = kill(pid, Signal::SIGKILL);
                let _ = waitpid(pid, None);
                return Err(Error::Signals(e));
            }
        }
    }
    // The helper stops with the infra it served.
    drop(helper);
    let _lock = lock(root)?;
    if let Ok(mut pod) = find(root, id) {
        pod.infra = None;
        save(root, &pod)?;
    }
    Ok(())
}

/// Kills what a dead monitor may have left: the infra and the helper.
fn stop_stale(pod: &Pod, proc: &Path) {
    let Some(infra) = &pod.infra else {
        return;
    };
    let mut pids = vec![(infra.pid, infra.start)];
    if let (Some(p), Some(s)) = (infra.helper_pid, infra.helper_start) {
        pids.push((p, s));
    }
    for (pid, start) in pids {
        if procfs::is_alive(proc, pid, start) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// Stops pod `pod`'s infra (its members must be stopped already): asks the
/// monitor, then kills whatever is left, and waits until all of it is gone.
pub fn stop_infra(root: &Path, pod: &Pod, proc: &Path) -> Result<(), Error> {
    let Some(infra) = &pod.infra else {
        return Ok(());
    };
    if procfs::is_alive(proc, infra.monitor_pid, infra.monitor_start) {
        let _ = kill(Pid::from_raw(infra.monitor_pid), Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_LIMIT;
    let mut watched = vec![
        (infra.monitor_pid, infra.monitor_start),
        (infra.pid, infra.start),
    ];
    if let (Some(p), Some(s)) = (infra.helper_pid, infra.helper_start) {
        watched.push((p, s));
    }
    while watched.iter().any(|(p, s)| procfs::is_alive(proc, *p, *s)) {
        if Instant::now() > deadline {
            for (p, s) in &watched {
                if procfs::is_alive(proc, *p, *s) {
                    let _ = kill(Pid::from_raw(*p), Signal::SIGKILL);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _lock = lock(root)?;
    if let Ok(mut p) = find(root, &pod.id) {
        p.infra = None;
        save(root, &p)?;
    }
    Ok(())
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
    for (flag, kind) in MEMBER_NAMESPACES {
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
    })
}

/// The namespaces a member of `plan`'s pod joins, opened now; `None` for a
/// container outside pods.
pub fn member_join(plan: &crate::runtime::Plan, proc: &Path) -> Result<Option<PodJoin>, Error> {
    let Some(id) = &plan.pod else {
        return Ok(None);
    };
    // The store root is two levels above the container's directory.
    let root = plan.dirs.dir.parent().and_then(Path::parent);
    let root = root.unwrap_or(Path::new("/"));
    open_namespaces(root, id, proc).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(id: &str, name: &str) -> Pod {
        Pod {
            id: id.into(),
            name: name.into(),
            created: "2026-01-01T00:00:00Z".into(),
            network: NetworkPlan::default(),
            maps: IdMaps::plan(1000, 1000, &[], &[]),
            infra: None,
        }
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
