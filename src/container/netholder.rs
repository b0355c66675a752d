//! The network holder: one process per user (per run root) that owns the
//! user and network namespaces where user-defined networks live: their
//! bridges, firewall rules and aardvark-dns, and the pasta (or slirp4netns)
//! that takes their traffic out. Containers on user networks are made in
//! the holder's user namespace (as pod members are in their infra's), so
//! netavark, run in the holder's namespaces, may give each a veth.
//!
//! It is a re-executed hutch (`network-holder`), started on demand by the
//! first container that attaches and gone once none is attached: it looks
//! every `TICK` and leaves when the attachment directory is empty and it
//! gets the holder lock, which starters hold from `ensure` until their
//! attachment is recorded. Its state is in `RUNROOT/networks`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::runtime::procfs;
use crate::sys::child::{spawn, Failure, Never};

/// The hidden subcommand the holder runs as.
pub const HOLDER_COMMAND: &str = "network-holder";

/// How often the holder looks whether it is still needed.
const TICK: Duration = Duration::from_millis(250);

/// What went wrong starting or finding the holder.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{action} {path}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the network holder")]
    Spawn(#[source] std::io::Error),
    #[error("the network holder failed: {0}")]
    Failed(String),
    #[error("opening the network holder's {kind} namespace")]
    OpenNamespace {
        kind: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// The holder's record (`RUNROOT/networks/holder.json`).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct HolderRecord {
    /// The process that owns the namespaces.
    pub pid: i32,
    pub start: u64,
    /// The holder monitor (the `network-holder` process).
    pub monitor_pid: i32,
    pub monitor_start: u64,
    /// `pasta`, `slirp4netns`, or empty when the networks have no way out.
    pub helper: String,
}

/// The holder's state directory for the store at `root`.
pub fn state_dir(root: &Path) -> PathBuf {
    root.join("networks").join("run")
}

/// netavark's `--config` directory (aardvark-dns's state below it).
pub fn netavark_dir(root: &Path) -> PathBuf {
    state_dir(root).join("netavark")
}

/// Where each attached container's addresses are recorded.
pub fn attached_dir(root: &Path) -> PathBuf {
    state_dir(root).join("attached")
}

fn record_path(root: &Path) -> PathBuf {
    state_dir(root).join("holder.json")
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// The holder lock's path under `root` (its directories made).
fn lock_path(root: &Path) -> Result<PathBuf, Error> {
    let dir = state_dir(root);
    for d in [attached_dir(root), netavark_dir(root)] {
        super::networks::make_private_dir(&d).map_err(io("creating", &dir))?;
    }
    Ok(dir.join(".lock"))
}

/// Takes the holder lock: attaching containers hold it from `ensure`
/// until their attachment is recorded; the holder to leave.
pub fn lock(root: &Path) -> Result<Flock<File>, Error> {
    let path = lock_path(root)?;
    crate::storage::lock_exclusive(&path).map_err(|source| Error::Io {
        action: "locking",
        path,
        source,
    })
}

/// The running holder's record, if it runs.
pub fn running(root: &Path, proc: &Path) -> Option<HolderRecord> {
    let text = std::fs::read(record_path(root)).ok()?;
    let rec: HolderRecord = serde_json::from_slice(&text).ok()?;
    procfs::is_alive(proc, rec.pid, rec.start).then_some(rec)
}

/// With the holder lock held: the running holder, started now if none
/// runs (a re-executed hutch; waits for its one-line report).
pub fn ensure(root: &Path, proc: &Path) -> Result<HolderRecord, Error> {
    if let Some(rec) = running(root, proc) {
        return Ok(rec);
    }
    let mut child = Command::new("/proc/self/exe")
        .arg("--root")
        .arg(root)
        .arg(HOLDER_COMMAND)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(Error::Spawn)?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(Error::Spawn)?;
    }
    // The holder outlives us by design.
    drop(child);
    match line.trim_end().strip_prefix("err ") {
        Some(message) => Err(Error::Failed(message.to_string())),
        None if line.starts_with("ok") => running(root, proc)
            .ok_or_else(|| Error::Failed("it exited right after starting".into())),
        None => Err(Error::Failed("it exited without reporting".into())),
    }
}

/// The holder's user and network namespaces, opened (user first).
pub fn open_namespaces(rec: &HolderRecord, proc: &Path) -> Result<(OwnedFd, OwnedFd), Error> {
    let open = |kind: &'static str| {
        File::open(proc.join(rec.pid.to_string()).join("ns").join(kind))
            .map(OwnedFd::from)
            .map_err(|source| Error::OpenNamespace { kind, source })
    };
    Ok((open("user")?, open("net")?))
}

/// The holder's body, in the `network-holder` process: clones the
/// namespace owner, writes its id maps `maps`, connects it to the outside,
/// records it, says `ok` (or `err REASON`) through `report`, then stays
/// until nothing is attached. Must be called single-threaded.
pub fn run_holder(root: &Path, maps: &crate::userns::IdMaps, report: &mut dyn FnMut(&str)) -> i32 {
    let _ = nix::unistd::setsid();
    match start(root, maps) {
        Ok((pid, signals, helper)) => {
            report("ok");
            let start =
                procfs::start_time(Path::new(super::PROC), pid.as_raw()).unwrap_or_default();
            watch(root, pid, start, &signals);
            drop(helper);
            stop_aardvark(root);
            let _ = std::fs::remove_file(record_path(root));
            0
        }
        Err(e) => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(&format!(": {s}"));
                source = s.source();
            }
            report(&format!("err {}", text.replace('\n', " ")));
            1
        }
    }
}

type Started = (Pid, SignalFd, Option<crate::net::RunningHelper>);

fn start(root: &Path, maps: &crate::userns::IdMaps) -> Result<Started, Error> {
    let dir = state_dir(root);
    super::networks::make_private_dir(&dir).map_err(io("creating", &dir))?;
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGTERM,
        Signal::SIGINT,
        Signal::SIGHUP,
        Signal::SIGCHLD,
    ] {
        set.add(s);
    }
    let sys = |e: nix::Error| Error::Spawn(e.into());
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None).map_err(sys)?;
    let signals =
        SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK).map_err(sys)?;
    let (go_r, go_w) = crate::userns::pipe().map_err(|e| Error::Failed(e.to_string()))?;
    let flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNET;
    let child = spawn(flags, &[go_w.as_fd(), signals.as_fd()], move |_| {
        owner(go_r)
    })
    .map_err(Error::Spawn)?;
    let pid = child.pid();
    drop(child);
    let fail = |message: String| {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        Error::Failed(message)
    };
    crate::userns::write_id_maps(pid, maps).map_err(|e| fail(format!("writing id maps: {e}")))?;
    // The way out: pasta (or slirp4netns) as for a container of its own;
    // without one (none installed, or an offline host pasta refuses) the
    // networks still connect their containers to each other.
    let helper = outside(pid, &dir);
    let _ = File::from(go_w).write_all(b"1");
    let proc = Path::new(super::PROC);
    let me = nix::unistd::getpid().as_raw();
    let rec = HolderRecord {
        pid: pid.as_raw(),
        start: procfs::start_time(proc, pid.as_raw()).unwrap_or_default(),
        monitor_pid: me,
        monitor_start: procfs::start_time(proc, me).unwrap_or_default(),
        helper: helper
            .as_ref()
            .map(|(name, _)| name.to_string())
            .unwrap_or_default(),
    };
    let path = record_path(root);
    let text = serde_json::to_vec(&rec).unwrap_or_default();
    crate::storage::atomic::write_file(&path, &text, 0o644)
        .map_err(|e| fail(format!("writing {}: {e}", path.display())))?;
    Ok((pid, signals, helper.map(|(_, h)| h)))
}

/// Starts the default helper for the owner `pid`'s network namespace.
fn outside(pid: Pid, dir: &Path) -> Option<(&'static str, crate::net::RunningHelper)> {
    let helpers = crate::net::find_helpers(&std::env::var("PATH").unwrap_or_default());
    let proc = Path::new(super::PROC);
    let req = crate::net::NetworkRequest::default();
    let plan = crate::net::plan_network(&req, &helpers, crate::net::host_route(proc)).ok()?;
    let name = plan.mode.helper()?;
    match crate::net::start_helper(&plan, pid, dir, &[]) {
        Ok(Some(h)) => Some((name, h)),
        Ok(None) => None,
        Err(e) => {
            log::warn!("user networks have no way out: {e}");
            None
        }
    }
}

/// The namespace owner: waits for its id maps, brings up loopback, then
/// sleeps until killed or its holder dies.
fn owner(go: OwnedFd) -> Result<Never, Failure> {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    let mut byte = [0u8; 1];
    if !matches!(File::from(go).read(&mut byte), Ok(1)) {
        return Err(Failure::text("id maps were not written"));
    }
    let _ = crate::sys::netif::set_interface_up("lo");
    loop {
        nix::unistd::pause();
    }
}

/// Waits until a stop signal, the owner's death, or nothing attached
/// (looked at with the holder lock); then kills the owner.
fn watch(root: &Path, pid: Pid, start: u64, signals: &SignalFd) {
    let attached = attached_dir(root);
    loop {
        std::thread::sleep(TICK);
        let mut stop = false;
        while let Ok(Some(info)) = signals.read_signal() {
            if info.ssi_signo != Signal::SIGCHLD as u32 {
                stop = true;
            }
        }
        if stop || !procfs::is_alive(Path::new(super::PROC), pid.as_raw(), start) {
            break;
        }
        let file = lock_path(root).and_then(|p| {
            let open = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&p);
            open.map_err(io("opening", &p))
        });
        let Ok(file) = file else {
            continue;
        };
        let Ok(held) = Flock::lock(file, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        super::netattach::sweep(root);
        let is_empty = std::fs::read_dir(&attached)
            .map(|mut d| d.next().is_none())
            .unwrap_or(true);
        if is_empty {
            let _ = std::fs::remove_file(record_path(root));
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            drop(held);
            return;
        }
        drop(held);
    }
    let _ = kill(pid, Signal::SIGKILL);
    let _ = waitpid(pid, None);
}

/// Stops the aardvark-dns netavark started, which would outlive the
/// namespace it served.
fn stop_aardvark(root: &Path) {
    let dir = netavark_dir(root).join("aardvark-dns");
    let pid = std::fs::read_to_string(dir.join("aardvark.pid"))
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    // Only if that pid still is an aardvark-dns: pids are reused.
    if let Some(pid) = pid {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "aardvark-dns" {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
