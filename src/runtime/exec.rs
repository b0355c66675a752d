//! Starting another process in a running container by joining its
//! namespaces (`hutch exec` once the engine found the container).
//!
//! The calling (single-threaded) hutch opens the container init's
//! namespace files and checks that the pid still names that init, then
//! forks a child that joins the namespaces (see `join`) and forks the
//! command as hutch's own child inside them. hutch then relays signals and
//! the terminal exactly as a foreground `run` does, and returns the
//! command's exit code; with `-d` it returns as soon as the command runs.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::unistd::Pid;

use super::enter;
use super::join::Join;
use super::outputs::{Outputs, Sink};
use super::relay::{self, Terminal};
use super::report;
use super::run::{block_relayed_signals, reap};
use super::{procfs, pty, Error, Plan};
use crate::sys::child::{self, Child, Message};
use crate::sys::process::thread_count;

/// The namespaces an exec joins, as (name under `/proc/PID/ns`, type), in
/// the order they are joined. The user namespace comes first: its owner
/// gains every capability in it (user_namespaces(7)), and joining the
/// others needs CAP_SYS_ADMIN in the user namespace that owns them.
const NAMESPACES: [(&str, CloneFlags); 7] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
];

/// The process an exec starts, computed before the fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// argv.
    pub args: Vec<String>,
    /// Environment, `NAME=VALUE`.
    pub env: Vec<String>,
    /// Working directory inside the container.
    pub cwd: String,
    /// `user[:group]` to resolve against the container's files.
    pub user: String,
    /// Allocate a pseudo-terminal (never when detached).
    pub tty: bool,
    /// Keep stdin open (never when detached).
    pub interactive: bool,
    /// Detached: stdio on /dev/null, a session of its own.
    pub detach: bool,
    /// Capabilities kept (bit N = capability N).
    pub caps: u64,
    /// Set no_new_privs before exec (inherited from the container).
    pub no_new_privileges: bool,
    /// The container's resource limits and OOM score adjustment.
    pub hardening: super::hardening::Hardening,
    /// `--preserve-fds`: hutch's fds 3 to 3+N-1 stay open in the command.
    pub preserve_fds: u32,
    /// When to kill the command (SIGKILL) if it still runs, its exit code
    /// then `TIMEOUT_EXIT_CODE`, as `run --timeout` does: a health check's
    /// timeout (#14).
    pub deadline: Option<std::time::Instant>,
}

/// Where an exec's output goes when not to our own stdio, and who hears
/// of its start (the REST API's exec sessions).
#[derive(Default)]
pub struct ExecIo<'s, 'f> {
    /// Without `-t`, the command's stdout and stderr go through pipes to
    /// this sink instead of ours; with `-t` the pty's output also reaches
    /// it.
    pub sink: Option<&'s mut dyn Sink>,
    /// Told the command's pid once it runs.
    pub on_started: Option<&'f mut dyn FnMut(i32)>,
}

/// A step of the exec that failed with an OS error.
fn failed(step: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let step = step.into();
    move |e| Error::Setup {
        step,
        source: Some(e),
    }
}

/// Runs `process` in the running container of `plan`, whose init (or
/// `--init`'s child) is `pid` started at `start`, and returns its exit code
/// (128+N when killed by signal N), or 0 as soon as it runs with `-d`.
/// `name` is how the user named the container; `io` says where its output
/// goes. Must be called single-threaded.
pub fn exec_process(
    plan: &Plan,
    process: &Process,
    name: &str,
    (pid, start): (i32, u64),
    proc: &Path,
    io: ExecIo<'_, '_>,
) -> Result<i32, Error> {
    let not_running = || Error::NotRunning(name.to_string());
    // The container's own filter, compiled for its capabilities (as Docker
    // does, whatever `--privileged` or `--cap-add` give the exec), before
    // the fork: the child only installs it.
    let filter = super::seccomp::program(&plan.security.seccomp, plan.security.caps)?;

    // 2. Open the init's namespaces before anything else, then check that
    //    the pid still is the container's init: the open fds pin the
    //    namespaces, so a pid reused after the check cannot swap them.
    let namespaces = open_namespaces(proc, pid).map_err(|e| match e {
        Some(e) => e,
        None => not_running(),
    })?;
    if !procfs::is_alive(proc, pid, start) {
        return Err(not_running());
    }

    // 2b. Seal a copy of the helper that will enter the container
    //     (`enter`): a few hundred KB, microseconds.
    let helper = enter::seal_helper(&enter::helper_path(proc)?)?;

    // 3. Refuse to fork from a multi-threaded process: the child would
    //    inherit locks held by threads that do not exist in it.
    if let Some(n) = thread_count().filter(|n| *n > 1) {
        return Err(Error::MultiThreaded(n));
    }

    // 4. Open everything the child needs before it exists.
    let (parent_sock, child_sock) = if process.tty {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(Error::Socket)?;
        (Some(a), Some(b))
    } else {
        (None, None)
    };
    let is_null_needed = process.detach || !(process.interactive || process.tty);
    let null = is_null_needed
        .then(|| std::fs::File::open("/dev/null").map(OwnedFd::from))
        .transpose()
        .map_err(Error::OpenNull)?;
    let is_piped = io.sink.is_some() && !process.tty && !process.detach;
    let (read_ends, write_ends) = output_pipes(is_piped)?;
    // The container's cgroup, which the child joins before the command
    // exists (step 7).
    let placement = super::run::load_placement(&plan.dirs.dir);
    let (gate_r, gate_w) = gate_pipe(placement.is_some())?;
    let winsize = process
        .tty
        .then(|| pty::outer_window_size(&[std::io::stdin().as_fd(), std::io::stdout().as_fd()]))
        .flatten();

    // 5. Block the signals we forward before the command exists, so none
    //    arrives between the fork and the relay loop.
    let signals = if process.detach {
        None
    } else {
        Some(block_relayed_signals()?)
    };

    // 6. Fork the child that execs the sealed helper with the plan; the
    //    helper joins the namespaces, forks the command and exits, and
    //    never comes back here.
    let parent_ends: Vec<BorrowedFd<'_>> = parent_sock
        .iter()
        .map(AsFd::as_fd)
        .chain(signals.iter().map(|(s, _)| s.as_fd()))
        .chain(gate_w.iter().map(AsFd::as_fd))
        .chain(read_ends.iter().flat_map(|(o, e)| [o.as_fd(), e.as_fd()]))
        .collect();
    let join = Join {
        namespaces,
        process,
        maps: &plan.maps,
        pty_socket: child_sock,
        null,
        outputs: write_ends,
        winsize,
        seccomp: filter.as_ref(),
        cgroup_gate: gate_r,
    };
    let mut joiner = fork_joiner(join, helper, &parent_ends)?;
    drop(parent_ends);

    // 7. Put the child in the container's cgroup, then let it go on; if
    //    that fails, closing the gate makes it give up.
    if let (Some(placement), Some(gate_w)) = (&placement, gate_w) {
        let bus = crate::paths::session_bus();
        let attached = crate::cgroup::attach(placement, joiner.pid().as_raw(), bus.as_deref());
        let mut gate = std::fs::File::from(gate_w);
        if let Err(e) = attached {
            drop(gate);
            let _ = joiner.wait();
            return Err(Error::JoinCgroup(e));
        }
        use std::io::Write as _;
        let _ = gate.write_all(b"1");
    }

    // 8. With -t, receive the pty master; EOF means the child failed and
    //    the report pipe says why.
    let master = match &parent_sock {
        Some(sock) => pty::recv_master(sock.as_fd()).map_err(Error::ReceivePty)?,
        None => None,
    };
    drop(parent_sock);

    // 9–10. Learn the command's pid, reap the joining child, which exits
    //    right after forking it, and wait for exec.
    let command = wait_for_exec(&mut joiner)?;
    if process.tty && master.is_none() {
        reap(command);
        return Err(vanished());
    }
    log::debug!(
        "container {}: exec {:?} is pid {command}",
        plan.id,
        process.args
    );
    let ExecIo { sink, on_started } = io;
    if let Some(tell) = on_started {
        tell(command.as_raw());
    }
    let Some((signals, _restore)) = signals else {
        // Detached: the command is on its own; hutch's exit reparents it.
        return Ok(0);
    };

    // 11. Relay signals (and the terminal) until the command exits; its
    //     output goes to the sink when there is one (ours are left out).
    let terminal = master.map(|master| Terminal {
        master,
        is_interactive: process.interactive,
    });
    let outputs = sink.map(|sink| Outputs::new(read_ends, (true, true), sink));
    let policy = relay::Policy::until(process.deadline);
    relay::relay(command, &signals, terminal, policy, outputs.transpose()?)
}

/// Step 6 of `exec_process`: writes the plan of `join` and forks the child
/// that execs the sealed `helper` with it; the fds `join` holds are closed
/// here once the child has its copies.
fn fork_joiner(
    join: Join<'_>,
    helper: OwnedFd,
    parent_ends: &[BorrowedFd<'_>],
) -> Result<Child, Error> {
    let plan_fd = enter::write_plan(&join)?;
    child::spawn(CloneFlags::empty(), parent_ends, |reporter| {
        enter::exec_helper(helper.as_fd(), plan_fd.as_fd(), &join, reporter)
    })
    .map_err(failed("forking the exec child"))
}

/// Both ends of an optional pipe pair.
type Ends<T> = (Option<T>, Option<T>);

/// With `is_piped`, close-on-exec pipes for the command's stdout and
/// stderr: (their read ends, their write ends).
fn output_pipes(is_piped: bool) -> Result<Ends<(OwnedFd, OwnedFd)>, Error> {
    if !is_piped {
        return Ok((None, None));
    }
    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| failed("creating the exec's output pipe")(std::io::Error::from(e)))
    };
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    Ok((Some((out_r, err_r)), Some((out_w, err_w))))
}

/// With `is_needed`, the pipe on which the child waits to be in the
/// container's cgroup (step 7): (read end, write end).
fn gate_pipe(is_needed: bool) -> Result<Ends<OwnedFd>, Error> {
    if !is_needed {
        return Ok((None, None));
    }
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| failed("creating the exec child's cgroup pipe")(std::io::Error::from(e)))?;
    Ok((Some(r), Some(w)))
}

/// The error for an exec child that ended without exec and without saying
/// why.
fn vanished() -> Error {
    Error::Setup {
        step: "the exec child exited during setup".into(),
        source: None,
    }
}

/// Steps 8–9 of `exec_process`: the joining child reports the command's
/// pid (`Message::Forked`) and exits; it is reaped. The report pipe then
/// stays open until the command execs (close-on-exec), so end of file
/// without a message means it runs. Returns the command's pid.
fn wait_for_exec(joiner: &mut Child) -> Result<Pid, Error> {
    let first = joiner.read_message();
    let _ = joiner.wait();
    let (command, outcome) = match first {
        Ok(Some(Message::Forked(pid))) => (Some(pid), joiner.read_failure()),
        Ok(Some(Message::Failed(f))) => (None, Ok(Some(f))),
        Ok(None) => (None, Ok(None)),
        Err(e) => (None, Err(e)),
    };
    let failure = match outcome {
        Ok(None) => return command.ok_or_else(vanished),
        Ok(Some(f)) => report::into_error(f),
        Err(_) => vanished(),
    };
    if let Some(p) = command {
        reap(p);
    }
    Err(failure)
}

/// Opens `/proc/PID/ns/*` in `NAMESPACES` order; `Err(None)` when the
/// process is gone.
pub(super) fn open_namespaces(
    proc: &Path,
    pid: i32,
) -> Result<Vec<(CloneFlags, OwnedFd)>, Option<Error>> {
    let dir = proc.join(pid.to_string()).join("ns");
    // A container sharing a namespace of the host's (--cgroupns, --uts,
    // --pid, --ipc or --network host) has nothing to join there, and
    // joining it from inside the container's user namespace would be
    // refused.
    let own = |name: &str| {
        std::fs::metadata(proc.join("self/ns").join(name))
            .ok()
            .map(|m| (m.dev(), m.ino()))
    };
    let mut opened = Vec::with_capacity(NAMESPACES.len());
    for (name, kind) in NAMESPACES {
        let path = dir.join(name);
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESRCH)) => {
                return Err(None)
            }
            Err(e) => return Err(Some(failed(format!("opening {}", path.display()))(e))),
        };
        if kind != CloneFlags::CLONE_NEWUSER && kind != CloneFlags::CLONE_NEWNS {
            let theirs = file.metadata().ok().map(|m| (m.dev(), m.ino()));
            if theirs.is_some() && theirs == own(name) {
                continue;
            }
        }
        opened.push((kind, OwnedFd::from(file)));
    }
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_of_a_vanished_process_mean_not_running() {
        let proc = tempfile::tempdir().unwrap();
        assert!(matches!(open_namespaces(proc.path(), 4242), Err(None)));
    }

    #[test]
    fn namespaces_open_in_join_order_with_user_first() {
        let me = std::process::id() as i32;
        let got = open_namespaces(Path::new("/proc"), me).unwrap();
        let kinds: Vec<CloneFlags> = got.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds[0], CloneFlags::CLONE_NEWUSER);
        // Our own namespaces are left out, but for user and mount.
        assert_eq!(kinds, [CloneFlags::CLONE_NEWUSER, CloneFlags::CLONE_NEWNS]);
    }
}
