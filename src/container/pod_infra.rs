//! A pod's infra process and its monitor: starting it (a re-executed
//! hutch, `pod-infra ID`, like a detached container's monitor), the infra
//! itself holding the pod's namespaces, watching it, and stopping it.
//! Records and joining are `pod`'s. It must not print.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{Flock, FlockArg};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::pod::{find, lock, pod_dir, pods_dir, save, Error, Infra, Pod};
use crate::net::RunningHelper;
use crate::runtime::procfs;
use crate::sys::child::{spawn, Failure, Never};

/// The hidden subcommand that runs a pod's infra monitor.
pub const INFRA_COMMAND: &str = "pod-infra";

/// How long `pod stop` waits for the infra monitor to go.
const STOP_LIMIT: Duration = Duration::from_secs(10);

/// Starts pod `id`'s infra unless it runs, under a lock so that two
/// members starting at once start one infra.
pub fn ensure_infra(root: &Path, runroot: &Path, id: &str, proc: &Path) -> Result<(), Error> {
    let path = pods_dir(root).join(".start.lock");
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
    let _held = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, source)| Error::Lock { path, source })?;
    if find(root, id)?.is_running(proc) {
        return Ok(());
    }
    spawn_infra(root, runroot, id)
}

/// Starts pod `id`'s infra through a new monitor (`hutch pod-infra ID`)
/// and waits for its one-line report.
fn spawn_infra(root: &Path, runroot: &Path, id: &str) -> Result<(), Error> {
    let mut child = Command::new("/proc/self/exe")
        .arg("--root")
        .arg(root)
        .arg("--runroot")
        .arg(runroot)
        .args(super::events::child_args())
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

/// In the infra monitor: clones the infra into new user, network, UTS, IPC
/// and PID namespaces (those of `--network`, `--uts` and `--pid` host
/// left out), writes its id maps, connects its network and records it.
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
    let private = pod.network.mode.is_private();
    // On user-defined networks: addresses picked and recorded now, owned
    // by this monitor, which detaches the pod when it exits.
    let attach = match &mut pod.network.mode {
        crate::net::Mode::Bridge(attachments) => Some(
            super::netattach::attach_networks(root, &pod.id, &pod.name, attachments, proc)
                .map_err(|e| Error::InfraFailed {
                    pod: pod.name.clone(),
                    message: crate::error::render_chain(&e),
                })?,
        ),
        _ => None,
    };
    let mut flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWIPC;
    for (is_own, flag) in [
        (private, CloneFlags::CLONE_NEWNET),
        (!pod.is_host_uts, CloneFlags::CLONE_NEWUTS),
        (!pod.is_host_pid, CloneFlags::CLONE_NEWPID),
    ] {
        if is_own {
            flags |= flag;
        }
    }
    // In the host's UTS namespace the name is the host's.
    let name = (!pod.is_host_uts).then(|| pod.host_name().to_string());
    let parent_ends = [go_w.as_fd(), signals.as_fd()];
    let pid = match &attach {
        None => {
            let infra = spawn(flags, &parent_ends, move |_| {
                infra_child(go_r, name.as_deref(), private)
            })
            .map_err(Error::Clone)?;
            // The infra never execs and reports only a failure to start,
            // which the steps below notice on their own.
            infra.pid()
        }
        Some(a) => spawn_in_holder(&a.holder, flags, &parent_ends, move || {
            infra_child(go_r, name.as_deref(), private)
        })?,
    };
    let helper = match attach {
        // The id maps before the helper: it joins the user namespace.
        None => crate::userns::write_id_maps(pid, &pod.maps)
            .map_err(Error::Maps)
            .and_then(|()| {
                crate::net::start_helper(&pod.network, pid, &dir, &ports).map_err(Error::Network)
            }),
        Some(a) => attach_infra(a, pid, &dir, &ports, proc).map(Some),
    };
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
        helper_pid: helper.as_ref().and_then(RunningHelper::pid),
        helper_start: helper
            .as_ref()
            .and_then(RunningHelper::pid)
            .and_then(|p| procfs::start_time(proc, p)),
        ports,
    });
    pod.has_started = true;
    {
        let _lock = lock(root)?;
        // Labels or a rename may have come meanwhile: keep the record's.
        let latest = find(root, &pod.id).unwrap_or_else(|_| pod.clone());
        save(
            root,
            &Pod {
                infra: pod.infra.clone(),
                has_started: true,
                is_paused: false,
                ..latest
            },
        )?;
    }
    // For units of the existing pod (`generate systemd`).
    super::gensys::write_pid_file(&super::gensys::infra_pid_file(root, id), me.unsigned_abs());
    if let Some(path) = &pod.monitor_pidfile {
        // Podman writes its conmon's pid; the infra monitor is ours.
        std::fs::write(path, me.to_string()).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(RunningInfra {
        pid,
        signals,
        helper,
    })
}

/// Clones the infra of a pod on user-defined networks in the network
/// holder's user namespace, with the other namespaces of `flags` its own
/// (made there): a first child enters the holder's user namespace, then
/// hands over to the infra, forked as our child. Returns the infra's pid.
fn spawn_in_holder(
    holder: &crate::net::netavark::Holder,
    flags: CloneFlags,
    parent_ends: &[std::os::fd::BorrowedFd<'_>],
    body: impl FnOnce() -> Result<Never, Failure>,
) -> Result<Pid, Error> {
    let user = holder.user.as_fd();
    let own = (flags - CloneFlags::CLONE_NEWUSER) | CloneFlags::CLONE_PARENT;
    let mut child = spawn(CloneFlags::empty(), parent_ends, move |reporter| {
        nix::sched::setns(user, CloneFlags::CLONE_NEWUSER)
            .map_err(|e| Failure::step("entering the network holder's user namespace", e))?;
        reporter
            .hand_over(own, move |_| body())
            .map_err(|e| Failure::io("forking the infra", &e))
    })
    .map_err(Error::Clone)?;
    let first = child.pid();
    let message = child.read_message();
    let _ = crate::sys::child::wait_for(first);
    match message {
        Ok(Some(crate::sys::child::Message::Forked(pid))) => Ok(pid),
        Ok(Some(crate::sys::child::Message::Failed(f))) => Err(Error::InfraFailed {
            pod: "infra".into(),
            message: match f.errno {
                0 => f.text,
                n => format!("{}: {}", f.text, nix::errno::Errno::from_raw(n).desc()),
            },
        }),
        Ok(None) => Err(Error::InfraFailed {
            pod: "infra".into(),
            message: "the infra's first child exited without reporting".into(),
        }),
        Err(e) => Err(Error::SpawnInfra("infra".into(), e)),
    }
}

/// Attaches the infra `pid` to its networks with netavark, records
/// netavark's report in the pod directory `dir`, and starts the forwarder
/// of `ports`: what is returned undoes it all when dropped.
fn attach_infra(
    attach: crate::runtime::network::NetAttach,
    pid: Pid,
    dir: &Path,
    ports: &[crate::net::PublishedPort],
    proc: &Path,
) -> Result<RunningHelper, Error> {
    let path = proc.join(pid.to_string()).join("ns").join("net");
    let netns = match File::open(&path) {
        Ok(f) => OwnedFd::from(f),
        Err(source) => {
            let _ = std::fs::remove_file(&attach.record);
            return Err(Error::Write { path, source });
        }
    };
    let status =
        crate::net::netavark::setup(&attach.config_dir, &attach.holder, &netns, &attach.options);
    let status = match status {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&attach.record);
            return Err(Error::Network(e));
        }
    };
    let detach = crate::net::netavark::Detach {
        config_dir: attach.config_dir,
        holder: attach.holder,
        netns,
        options: attach.options,
        record: attach.record,
    };
    let status_path = dir.join(crate::runtime::network::STATUS_FILE);
    crate::storage::atomic::write_json(&status_path, &status, 0o644).map_err(|source| {
        Error::Write {
            path: status_path,
            source,
        }
    })?;
    // Dropped on failure: that detaches the pod again.
    let forwarder = match ports.is_empty() {
        true => None,
        false => Some(crate::net::spawn_forwarder(pid, ports).map_err(Error::Network)?),
    };
    Ok(RunningHelper::attached(detach, forwarder))
}

/// The infra process: waits for its id maps and network, brings up
/// loopback, names the host after the pod (`name`, unless it stays in the
/// host's UTS namespace), then sleeps until killed or its monitor dies.
/// Returns only when the maps never came.
fn infra_child(go: OwnedFd, name: Option<&str>, private: bool) -> Result<Never, Failure> {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    let mut byte = [0u8; 1];
    if !matches!(File::from(go).read(&mut byte), Ok(1)) {
        return Err(Failure::text("id maps were not written"));
    }
    if private {
        let _ = crate::sys::netif::set_interface_up("lo");
    }
    if let Some(name) = name {
        let _ = nix::unistd::sethostname(name);
    }
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
        pod.is_paused = false;
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
        p.is_paused = false;
        save(root, &p)?;
    }
    Ok(())
}
