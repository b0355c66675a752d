//! The parent's side of `run`: prepare, clone, write id maps, learn whether
//! exec worked, then relay until the container exits.

use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::clock;
use super::init::{self, Init};
use super::mounts::ETC_FILES;
use super::pod::PodJoin;
use super::relay::{self, Terminal};
use super::{network, outputs, procfs, pty, report, Error, Plan};
use crate::cgroup;
use crate::error::Diagnose;
use crate::net::PublishedPort;
use crate::storage::atomic::Durability;
use crate::storage::{ContainerState, ContainerStatus, Store};
use crate::sys::child::{spawn, Reporter};
use crate::sys::process::thread_count;
use crate::sys::pty::Winsize;
use crate::sys::seccomp::Program;

/// The host's resolver configuration, the source of the container's.
const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";

/// The namespaces every container gets. The user namespace comes first in
/// the kernel's order, so it owns all the others.
/// With `--network host` the container stays in the host's network namespace.
/// `--uts`, `--pid` and `--ipc` `host` leave it in the host's.
fn namespaces(plan: &Plan) -> CloneFlags {
    let ns = &plan.tuning.namespaces;
    let mut flags = CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS;
    for (is_host, flag) in [
        (ns.is_host_pid, CloneFlags::CLONE_NEWPID),
        (ns.is_host_uts, CloneFlags::CLONE_NEWUTS),
        (ns.is_host_ipc, CloneFlags::CLONE_NEWIPC),
        (!plan.network.mode.is_private(), CloneFlags::CLONE_NEWNET),
    ] {
        if !is_host {
            flags |= flag;
        }
    }
    flags
}

/// Where the container's stdio goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stdio {
    /// The foreground: the container shares our stdio (or, with `-t`, a pty
    /// relayed to it).
    Inherit,
    /// Detached: stdin is /dev/null, stdout and stderr are pipes (with `-t`
    /// a pty) that the caller reads.
    Pipes,
    /// The foreground with a log: stdin as `Inherit`, stdout and stderr
    /// pipes (with `-t` the pty) that the relay copies to ours and logs.
    Logged,
}

/// A container whose process has exec'd.
pub struct Started {
    /// The container's init as the host sees it.
    pub pid: Pid,
    /// The signals blocked for the relay (forwarded ones and SIGCHLD).
    pub signals: SignalFd,
    /// With `-t`: the pty master.
    pub master: Option<OwnedFd>,
    /// With `Stdio::Pipes` and no `-t`: the read ends of stdout and stderr.
    pub outputs: Option<(OwnedFd, OwnedFd)>,
    /// The container's own cgroup, when it has one.
    pub placement: Option<cgroup::Placement>,
    /// The network helper; stopped when this is dropped.
    pub network: Option<crate::net::RunningHelper>,
    /// Restores the signal mask when the caller is done.
    _restore: RestoreMask,
}

/// Starts `plan` and returns once its process has exec'd; see
/// `container::start`.
pub fn start(plan: &Plan, stdio: Stdio, pod: Option<PodJoin>) -> Result<Started, Error> {
    // 1–2b. Check, decide and write everything the host must provide
    //    before any namespace exists.
    let prepared = prepare(plan)?;

    // 3. Open everything init needs before it exists (pass fds, not paths).
    let fds = open_child_fds(plan, stdio)?;

    // 4. Block the signals we forward before the child exists, so none
    //    arrives between the clone and the relay loop; they queue for the
    //    signalfd. The mask is restored when `Started` is dropped.
    let (signals, restore) = block_relayed_signals()?;

    // 5. Clone into the new namespaces; the child becomes the container's
    //    pid 1 and never comes back here.
    //    pasta starts before init is released (see `release`); init then
    //    waits, before it drops its privileges, for a second byte saying
    //    that the network is ready.
    let is_member = pod.is_some();
    let is_net_early = !is_member && network::is_started_early(plan);
    let (net_r, net_w) = match is_net_early {
        true => {
            let (r, w) = crate::userns::pipe().map_err(Error::Maps)?;
            (Some(r), Some(w))
        }
        false => (None, None),
    };
    let ChildFds {
        go_r,
        go_w,
        sockets,
        null_stdin,
        outputs,
        child_outputs,
        winsize,
    } = fds;
    let (parent_sock, child_sock) = match sockets {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let parent_ends: Vec<BorrowedFd<'_>> = [Some(go_w.as_fd()), Some(signals.as_fd())]
        .into_iter()
        .chain([net_w.as_ref().map(AsFd::as_fd)])
        .chain([parent_sock.as_ref().map(AsFd::as_fd)])
        .flatten()
        .chain(outputs.iter().flat_map(|(o, e)| [o.as_fd(), e.as_fd()]))
        .collect();
    let body = |reporter: &Reporter| {
        init::start(
            Init {
                plan,
                go: go_r,
                network_ready: net_r,
                pty_socket: child_sock,
                null_stdin,
                outputs: child_outputs,
                winsize,
                has_cgroup_ns: prepared.has_cgroup_ns,
                seccomp: prepared.filter.as_ref(),
            },
            reporter,
        )
    };
    //    A pod member instead joins the pod's namespaces through an
    //    intermediate process (see `pod::clone_member`).
    let mut pod = pod;
    let attach = pod.as_mut().and_then(|j| j.network.take());
    let (mut child, pid) = match pod {
        None => {
            let child = spawn(namespaces(plan), &parent_ends, body).map_err(Error::Clone)?;
            let pid = child.pid();
            (child, pid)
        }
        Some(join) => super::pod::clone_member(join, &parent_ends, body)?,
    };
    drop(parent_ends);
    log::debug!("container {}: init is pid {pid}", plan.id);

    // 6. Maps, cgroup and network, then release init (see `release`).
    let gates = Gates {
        go: go_w,
        network: net_w,
    };
    let (placement, helper) = release(plan, pid, &prepared, gates, is_member, attach)?;

    // 7. With -t, receive the pty master init opened in its devpts. EOF
    //    instead means init failed; the report pipe says why.
    let master = match &parent_sock {
        Some(sock) => pty::recv_master(sock.as_fd()).map_err(Error::ReceivePty)?,
        None => None,
    };
    drop(parent_sock);

    // 8. Wait for exec: the report pipe is close-on-exec, so EOF without a
    //    message means the container's process is running.
    match child.read_failure() {
        Ok(None) => {}
        Ok(Some(f)) => {
            reap(pid);
            return Err(report::into_error(f));
        }
        Err(_) => {
            reap(pid);
            return Err(Error::InitVanished);
        }
    }
    if plan.tty && master.is_none() {
        reap(pid);
        return Err(Error::InitVanished);
    }

    // 9. --pidfile and --conmon-pidfile: this process waits for the
    //    container, so it is the monitor.
    if let Err(e) = super::pidfile::write(plan, pid, nix::unistd::getpid()) {
        reap(pid);
        return Err(e);
    }
    super::pidfile::notify_ready(plan, nix::unistd::getpid());
    log::debug!("container {}: running {:?}", plan.id, plan.args);
    Ok(Started {
        pid,
        signals,
        master,
        outputs,
        placement,
        network: helper,
        _restore: restore,
    })
}

/// What `prepare` decided before the clone.
struct Prepared {
    decision: cgroup::Decision,
    has_cgroup_ns: bool,
    filter: Option<Program>,
    ports: Vec<PublishedPort>,
}

/// Steps 1–2b of `start`.
fn prepare(plan: &Plan) -> Result<Prepared, Error> {
    // 0. Every image layer must be on disk: without this check a layer
    //    removed from the store shows only as an overlay that will not
    //    mount.
    if let Some(missing) = plan.lowers.iter().find(|l| !l.is_dir()) {
        return Err(Error::LayerMissing(missing.clone()));
    }
    if let Some(rootfs) = plan.rootfs.as_ref().filter(|r| !r.is_present()) {
        return Err(Error::RootfsMissing(rootfs.path().to_path_buf()));
    }

    // 1. Refuse to clone from a multi-threaded process: the child would
    //    inherit locks held by threads that do not exist in it.
    if let Some(n) = thread_count().filter(|n| *n > 1) {
        return Err(Error::MultiThreaded(n));
    }

    // 1b. Decide where the container's cgroup goes: one statfs on hosts
    //     without cgroup v2, where the answer is "nowhere".
    let host = cgroup::Host::probe(crate::paths::session_bus, Path::new("/proc"));
    let decision = cgroup::decide(&host, &plan.cgroups).map_err(Error::Cgroup)?;
    //     The container's cgroup namespace is rooted there, unless
    //     --cgroupns=host.
    let has_cgroup_ns = !matches!(decision, cgroup::Decision::Skip { .. })
        && plan.tuning.namespaces.is_host_cgroup != Some(true);
    // 1b. Compile the seccomp filter (or take it from the cache) here: the
    //     child only installs it, and never runs libseccomp.
    let filter = super::seccomp::program(&plan.security.seccomp, plan.security.caps)?;
    if let Some(f) = &filter {
        log::debug!("seccomp filter: {} instructions", f.instruction_count());
    }

    // 2. Write /etc/hosts, /etc/hostname and /etc/resolv.conf for init to
    //    bind-mount: the host's files are readable only before the clone.
    write_etc_files(plan, Path::new(HOST_RESOLV_CONF))?;
    // 2a. Blank the exit code file, at its full size, while there is
    //     room: the exit code is written over it in place, so that it
    //     survives a container that fills the disk. Without it the code
    //     only goes to the record.
    if let Err(e) = super::exitfile::clear(&plan.dirs.dir) {
        log::debug!("container {}: no exit code file: {e}", plan.id);
    }
    // 2b. Check and pick the published host ports: a privileged or busy
    //     port fails here, before any namespace exists.
    let ports = network::prepare_ports(plan, Path::new(super::PROC))?;
    Ok(Prepared {
        decision,
        has_cgroup_ns,
        filter,
        ports,
    })
}

/// The fds of step 3 of `start`.
struct ChildFds {
    /// The sync pipe: init waits for one byte once its maps are written.
    go_r: OwnedFd,
    go_w: OwnedFd,
    /// With `-t`: the socketpair the pty master goes over (ours, init's).
    sockets: Option<(OwnedFd, OwnedFd)>,
    /// /dev/null for init's stdin, when it gets no terminal input.
    null_stdin: Option<OwnedFd>,
    /// Detached without `-t`: the read ends of stdout and stderr...
    outputs: Option<(OwnedFd, OwnedFd)>,
    /// ...and their write ends, for init.
    child_outputs: Option<(OwnedFd, OwnedFd)>,
    /// With `-t` in the foreground: the outer terminal's size.
    winsize: Option<Winsize>,
}

/// Step 3 of `start`.
fn open_child_fds(plan: &Plan, stdio: Stdio) -> Result<ChildFds, Error> {
    let (go_r, go_w) = crate::userns::pipe().map_err(Error::Maps)?;
    let is_detached = stdio == Stdio::Pipes;
    let is_piped = stdio != Stdio::Inherit;
    let sockets = if plan.tty {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(Error::Socket)?;
        Some((a, b))
    } else {
        None
    };
    let null_stdin = if is_detached || !(plan.interactive || plan.tty) {
        Some(OwnedFd::from(
            std::fs::File::open("/dev/null").map_err(Error::OpenNull)?,
        ))
    } else {
        None
    };
    let (outputs, child_outputs) = if is_piped && !plan.tty {
        let (out_r, out_w) = crate::userns::pipe().map_err(Error::Maps)?;
        let (err_out_r, err_out_w) = crate::userns::pipe().map_err(Error::Maps)?;
        (Some((out_r, err_out_r)), Some((out_w, err_out_w)))
    } else if !plan.tty && plan.tuning.drops != (false, false) {
        // -a without stdout or stderr: that stream goes to /dev/null.
        (None, Some(attached_outputs(plan.tuning.drops)?))
    } else {
        (None, None)
    };
    let winsize = if plan.tty && !is_detached {
        pty::outer_window_size(&[std::io::stdin().as_fd(), std::io::stdout().as_fd()])
    } else {
        None
    };
    Ok(ChildFds {
        go_r,
        go_w,
        sockets,
        null_stdin,
        outputs,
        child_outputs,
        winsize,
    })
}

/// Our stdout and stderr for the container, each replaced by /dev/null
/// when `drops` says (stdout, stderr).
fn attached_outputs(drops: (bool, bool)) -> Result<(OwnedFd, OwnedFd), Error> {
    let open = |is_dropped: bool, ours: BorrowedFd<'_>| -> Result<OwnedFd, Error> {
        match is_dropped {
            true => Ok(OwnedFd::from(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/null")
                    .map_err(Error::OpenNull)?,
            )),
            false => ours.try_clone_to_owned().map_err(Error::OpenNull),
        }
    };
    Ok((
        open(drops.0, std::io::stdout().as_fd())?,
        open(drops.1, std::io::stderr().as_fd())?,
    ))
}

/// The write ends of the pipes init waits on.
struct Gates {
    /// One byte: the id maps are written, the cgroup placed.
    go: OwnedFd,
    /// With pasta: one byte once its interface is configured.
    network: Option<OwnedFd>,
}

/// Step 6 of `start`: write the child's id maps, put it in its cgroup
/// (before it makes its cgroup namespace), then connect its network
/// namespace: the interface must be up before the user's command runs.
/// Then init is released; closing a gate without the byte makes it give
/// up on its own. pasta (`gates.network`) is spawned first, right after
/// the clone, and waited for only after init's release: its start
/// overlaps with the maps, the cgroup and init's mounts, and init waits
/// for the second byte before it drops its privileges. slirp4netns,
/// which opens init's `/proc` entries itself, and the user networks'
/// netavark are done before the release, as the container's maps and
/// network of a container that joined its pod's namespaces
/// (`is_member`) are the pod's, already set up; a member of a pod without
/// an infra has its own.
fn release(
    plan: &Plan,
    pid: Pid,
    prepared: &Prepared,
    gates: Gates,
    is_member: bool,
    attach: Option<network::NetAttach>,
) -> Result<(Option<cgroup::Placement>, Option<crate::net::RunningHelper>), Error> {
    let proc = Path::new(super::PROC);
    let Gates { go, network: gate } = gates;
    let starting = match gate.is_some() {
        true => network::spawn_early(plan, pid, &prepared.ports, proc).map(Some),
        false => Ok(None),
    };
    let maps = starting.and_then(|s| match is_member {
        true => Ok(s),
        false => crate::userns::write_id_maps(pid, &plan.maps)
            .map(|()| s)
            .map_err(Error::Maps),
    });
    let ready = maps.and_then(|starting| {
        let placement = cgroup::place(
            &prepared.decision,
            &plan.id,
            pid.as_raw(),
            &plan.cgroups.resources,
            Path::new("/proc"),
        )
        .map_err(Error::Cgroup)?;
        if starting.is_some() {
            return Ok((placement, None, starting));
        }
        if let Some(join) = attach {
            return network::attach(plan, pid, &prepared.ports, join, proc)
                .map(|h| (placement, h, None));
        }
        if is_member {
            return Ok((placement, None, None));
        }
        network::connect(plan, pid, &prepared.ports, proc).map(|h| (placement, h, None))
    });
    let mut go = std::fs::File::from(go);
    if ready.is_ok() {
        // While init surely lives (it waits for the byte): keep its user
        // namespace, so cleaning up files of its ids needs no new one.
        if !is_member {
            crate::userns::remember_namespace(pid, &plan.maps);
        }
        let _ = go.write_all(b"1");
    }
    drop(go);
    // Init mounts its root meanwhile; pasta must be ready before it goes
    // on to the user's process.
    let ready = ready.and_then(|(placement, helper, starting)| match starting {
        None => Ok((placement, helper)),
        Some(s) => network::finish_early(plan, s, &prepared.ports, proc).map(|h| (placement, h)),
    });
    if let (Ok(_), Some(gate)) = (&ready, gate) {
        let _ = std::fs::File::from(gate).write_all(b"1");
    }
    let (placement, helper) = match ready {
        Ok(p) => p,
        Err(e) => {
            reap(pid);
            return Err(e);
        }
    };
    if let Some(p) = &placement {
        if let Err(e) = save_placement(&plan.dirs.dir, p) {
            reap(pid);
            return Err(e);
        }
    }
    Ok((placement, helper))
}

/// The file in the container directory naming its cgroup while it runs.
const PLACEMENT_FILE: &str = "cgroup.json";

/// Records where the container's cgroup is, for `stats`, `pause` and
/// `update`, in the container directory `dir`.
fn save_placement(dir: &Path, placement: &cgroup::Placement) -> Result<(), Error> {
    let path = dir.join(PLACEMENT_FILE);
    crate::storage::atomic::write_json(&path, placement, 0o644)
        .map_err(|source| Error::WriteFile { path, source })
}

/// Where a running container's cgroup is, if it has one.
pub fn load_placement(dir: &Path) -> Option<cgroup::Placement> {
    let bytes = std::fs::read(dir.join(PLACEMENT_FILE)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// After the container's init was reaped: whether the OOM killer struck,
/// then the cgroup goes away (and with it a systemd scope).
pub fn finish_cgroup(dir: &Path, placement: Option<&cgroup::Placement>, code: i32) -> bool {
    let Some(p) = placement else {
        return false;
    };
    let is_oom = cgroup::oom_killed(&p.path, code);
    if let Err(e) = cgroup::release(p) {
        log::warn!("{e}");
    }
    let _ = std::fs::remove_file(dir.join(PLACEMENT_FILE));
    is_oom
}

/// The exit reason recorded when the OOM killer ended a container.
pub const OOM_REASON: &str = "OOMKilled";

/// Runs `plan` in the foreground; see `container::run`. With `log`, the
/// container's output also goes there.
pub fn run(
    plan: &Plan,
    pod: Option<PodJoin>,
    store: &Store,
    proc: &Path,
    log: Option<&mut dyn outputs::Sink>,
) -> Result<i32, Error> {
    // Until it is recorded running: a removal waits, then stops it.
    let hold = store.hold_container(&plan.id).map_err(Error::Store)?;
    let stdio = match log.is_some() {
        true => Stdio::Logged,
        false => Stdio::Inherit,
    };
    let started = match start(plan, stdio, pod) {
        Ok(s) => s,
        Err(e) => {
            record_failure(store, plan, e.exit_code(), &e);
            return Err(e);
        }
    };
    // This process waits for the container, so it is the monitor.
    let running = running_state(started.pid, proc);
    if let Err(e) = store.set_container_state(&plan.id, &running) {
        reap(started.pid);
        return Err(Error::Store(e));
    }
    drop(hold);
    let Started {
        pid,
        signals,
        master,
        outputs,
        placement,
        network,
        _restore,
    } = started;
    let outputs = log
        .map(|sink| outputs::Outputs::new(outputs, plan.tuning.drops, sink))
        .transpose()?;
    let terminal = master.map(|master| Terminal {
        master,
        is_interactive: plan.interactive,
    });

    // Relay signals (and the terminal) until the container exits.
    let policy = relay::Policy {
        deadline: plan
            .manage
            .timeout
            .map(|t| std::time::Instant::now() + std::time::Duration::from_secs(t)),
        is_proxied: !plan.manage.is_unproxied,
    };
    let code = relay::relay(pid, &signals, terminal, policy, outputs)?;
    // Killed now, reaped once the caller has cleaned up (`net::reap_stopped`):
    // the helper's exit takes longer than all of that.
    if let Some(helper) = network {
        helper.stop_later();
    }
    log::debug!("container {}: exited with {code}", plan.id);
    let reason =
        finish_cgroup(&plan.dirs.dir, placement.as_ref(), code).then(|| OOM_REASON.to_string());
    record_exit(store, plan, running, code, reason).map_err(Error::Store)?;
    Ok(code)
}

/// Records that `plan`'s container, last recorded as `state`, exited with
/// `code`: first in its exit code file, in place, then in its record. A
/// record that finds no space on the disk is left for whoever next
/// observes the container, which reads the code from the file (issue #21
/// item 4); that is no error here when the file holds it.
pub fn record_exit(
    store: &Store,
    plan: &Plan,
    state: ContainerState,
    code: i32,
    reason: Option<String>,
) -> Result<(), crate::storage::Error> {
    let is_kept = super::exitfile::write(&plan.dirs.dir, code, reason.as_deref()).is_ok();
    match store.set_container_state(&plan.id, &exited_state(state, code, reason)) {
        Err(e) if is_kept && crate::storage::is_disk_full(&e) => {
            log::debug!(
                "container {}: exit {code} kept in its exit code file: {e}",
                plan.id
            );
            Ok(())
        }
        r => r,
    }
}

/// The state of a container whose init is `pid` and whose monitor is this
/// process, as of now.
pub fn running_state(pid: Pid, proc: &Path) -> ContainerState {
    let me = nix::unistd::getpid().as_raw();
    ContainerState {
        status: ContainerStatus::Running,
        pid: Some(pid.as_raw()),
        pid_start: procfs::start_time(proc, pid.as_raw()),
        monitor_pid: Some(me),
        monitor_start: procfs::start_time(proc, me),
        started_at: Some(clock::now_rfc3339()),
        ..ContainerState::default()
    }
}

/// `state` after the container ended with `code`.
pub fn exited_state(state: ContainerState, code: i32, reason: Option<String>) -> ContainerState {
    ContainerState {
        status: ContainerStatus::Exited,
        finished_at: Some(clock::now_rfc3339()),
        exit_code: Some(code),
        exit_reason: reason,
        ..state
    }
}

/// Records that the container could not start; a failure to record is
/// dropped, since the start failure is what the user needs to see.
pub fn record_failure(
    store: &Store,
    plan: &Plan,
    code: i32,
    e: &(dyn std::error::Error + 'static),
) {
    let reason = crate::error::render_chain(e);
    let state = exited_state(ContainerState::default(), code, Some(reason));
    let _ = store.set_container_state(&plan.id, &state);
}

/// Blocks the signals the relay handles and returns the signalfd that
/// reads them, with the guard that restores the old mask when dropped.
pub fn block_relayed_signals() -> Result<(SignalFd, RestoreMask), Error> {
    let set = relay::signal_set();
    let mut old = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).map_err(Error::Signals)?;
    let restore = RestoreMask(old);
    let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(Error::Signals)?;
    Ok((signals, restore))
}

/// Kills and waits for a child that failed or was abandoned.
pub fn reap(pid: Pid) {
    let _ = kill(pid, Signal::SIGKILL);
    while let Err(nix::Error::EINTR) = waitpid(pid, None) {}
}

/// Restores the signal mask when dropped.
pub struct RestoreMask(SigSet);

impl Drop for RestoreMask {
    fn drop(&mut self) {
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
    }
}

/// Writes hosts, hostname, resolv.conf and .containerenv into `plan`'s
/// container directory, as its network plan says (see `net::hosts_file`
/// and `net::resolv_conf`); with `--no-hosts` no hosts file is written, so
/// the image's stays.
pub fn write_etc_files(plan: &Plan, host_resolv: &Path) -> Result<(), Error> {
    let (dir, hostname, net) = (&plan.dirs.dir, &plan.hostname, &plan.network);
    let host_resolv = std::fs::read_to_string(host_resolv).unwrap_or_default();
    write_localtime(plan)?;
    for (name, _) in ETC_FILES {
        let text = match name {
            super::mounts::LOCALTIME => continue,
            "hosts" if net.no_hosts => {
                let path = dir.join(name);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::WriteFile { path, source: e })
                    }
                    _ => continue,
                }
            }
            "hosts" => crate::net::hosts_file(net, hostname, &plan.origin.name),
            "hostname" => format!("{hostname}\n"),
            "resolv.conf" => crate::net::resolv_conf(net, &host_resolv),
            _ => container_env(plan, nix::unistd::geteuid().is_root()),
        };
        let path = dir.join(name);
        // Rewritten at every start: atomic, but not worth an fsync.
        crate::storage::atomic::replace(&path, text.as_bytes(), 0o644, Durability::Rewritten)
            .map_err(|source| Error::WriteFile { path, source })?;
    }
    Ok(())
}

/// With `--tz`, copies the zone's file into the container directory as
/// `localtime` (bound on /etc/localtime, as Podman does); without, removes
/// a copy an earlier spec left, so the image's stays.
fn write_localtime(plan: &Plan) -> Result<(), Error> {
    let path = plan.dirs.dir.join(super::mounts::LOCALTIME);
    let write_err = |source| Error::WriteFile {
        path: path.clone(),
        source,
    };
    let Some(zone) = &plan.tuning.timezone else {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(write_err(e)),
            _ => Ok(()),
        };
    };
    let source = super::tuning::zone_file(
        zone,
        Path::new(super::tuning::ZONEINFO),
        Path::new(super::tuning::HOST_LOCALTIME),
    )
    .map_err(Error::Tuning)?;
    let data = std::fs::read(&source).map_err(|e| Error::WriteFile {
        path: source.clone(),
        source: e,
    })?;
    crate::storage::atomic::replace(&path, &data, 0o644, Durability::Rewritten).map_err(write_err)
}

/// /run/.containerenv in Podman's format (`engine`, `name`, `id`,
/// `image`, `imageid`, `rootless`, values quoted), which Podman fills only
/// for `--privileged` containers and hutch always (docs/compat.md).
fn container_env(plan: &Plan, is_host_root: bool) -> String {
    let o = &plan.origin;
    format!(
        "engine={:?}\nname={:?}\nid={:?}\nimage={:?}\nimageid={:?}\nrootless={}\n",
        concat!("hutch-", env!("CARGO_PKG_VERSION")),
        o.name,
        plan.id,
        o.image,
        o.image_id,
        u8::from(!is_host_root),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::NetworkPlan;
    use crate::runtime::plan::Origin;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    /// A plan whose container directory is `dir`.
    fn plan(dir: &Path, network: NetworkPlan) -> Plan {
        let json = serde_json::json!({
            "id": ID,
            "dirs": {"dir": dir, "upper": dir.join("upper"), "work": dir.join("work"), "merged": dir.join("merged")},
            "lowers": [],
            "maps": {"uids": [], "gids": [], "fallback_reason": null},
            "hostname": "box",
            "args": ["sh"],
            "env": [],
            "cwd": "/",
            "user": "0",
            "tty": false,
            "interactive": false
        });
        let mut plan: Plan = serde_json::from_value(json).unwrap();
        plan.network = network;
        plan.origin = Origin {
            name: "web".into(),
            image: "localhost/app:1".into(),
            image_id: "ab".repeat(32),
        };
        plan
    }

    #[test]
    fn etc_files_are_written_into_the_container_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let resolv = tmp.path().join("host-resolv.conf");
        std::fs::write(&resolv, "nameserver 127.0.0.1\nnameserver 192.0.2.1\n").unwrap();
        write_etc_files(&plan(tmp.path(), NetworkPlan::default()), &resolv).unwrap();
        let read = |n: &str| std::fs::read_to_string(tmp.path().join(n)).unwrap();
        assert_eq!(read("hostname"), "box\n");
        assert_eq!(
            read("hosts"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\tbox web\n"
        );
        assert_eq!(read("resolv.conf"), "nameserver 192.0.2.1\n");
        assert!(read("containerenv").starts_with("engine=\"hutch-"));
        let no_hosts = NetworkPlan {
            no_hosts: true,
            ..NetworkPlan::default()
        };
        write_etc_files(&plan(tmp.path(), no_hosts), &resolv).unwrap();
        assert!(!tmp.path().join("hosts").exists());
    }

    #[test]
    fn containerenv_has_podmans_keys() {
        let p = plan(Path::new("/s/c"), NetworkPlan::default());
        let want = format!(
            "engine=\"hutch-{}\"\nname=\"web\"\nid=\"{ID}\"\nimage=\"localhost/app:1\"\nimageid=\"{}\"\nrootless=1\n",
            env!("CARGO_PKG_VERSION"),
            "ab".repeat(32)
        );
        assert_eq!(container_env(&p, false), want);
        assert!(container_env(&p, true).ends_with("rootless=0\n"));
    }

    #[test]
    fn missing_host_resolv_conf_gives_an_empty_one() {
        let tmp = tempfile::tempdir().unwrap();
        write_etc_files(
            &plan(tmp.path(), NetworkPlan::default()),
            &tmp.path().join("absent"),
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("resolv.conf")).unwrap(),
            ""
        );
    }
}
