//! The child side of `exec`: join a running container's namespaces, fork
//! the command inside them, and exec it.
//!
//! Like the container's init it never returns, unwinds or prints: a failed
//! step is sent to hutch over the error pipe (see `report`) and the
//! process `_exit`s.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::sched::CloneFlags;

use super::exec::Process;
use super::hardening;
use super::init::{self, Never};
use super::report::Failure;
use crate::sys::process::{clone_into, exit_now, Forked};
use crate::sys::pty::{self, Winsize};
use crate::sys::seccomp::Program;
use crate::userns::IdMaps;

/// What the joining child gets from hutch, prepared before the fork.
pub struct Join<'a> {
    /// The container init's namespaces, user first, in join order.
    pub namespaces: Vec<(CloneFlags, OwnedFd)>,
    /// The process to start.
    pub process: &'a Process,
    /// The container's id maps, for checking the user is mapped.
    pub maps: &'a IdMaps,
    /// Write end of the pipe that tells hutch the command's pid.
    pub pid_pipe: OwnedFd,
    /// Write end of the error pipe (close-on-exec).
    pub err: OwnedFd,
    /// With `-t`: our end of the socketpair the pty master goes over.
    pub pty_socket: Option<OwnedFd>,
    /// /dev/null for stdin (and all of stdio when detached), if needed.
    pub null: Option<OwnedFd>,
    /// With `-t`: the outer terminal's size, for the new pty.
    pub winsize: Option<Winsize>,
    /// The container's compiled seccomp filter, unless unconfined.
    pub seccomp: Option<&'a Program>,
}

/// Joins the namespaces, forks the command and execs it; on failure
/// reports over the error pipe and exits. Never returns.
pub fn start(join: Join<'_>) -> ! {
    let Join {
        namespaces,
        process,
        maps,
        pid_pipe,
        err,
        pty_socket,
        null,
        winsize,
        seccomp,
    } = join;
    let stdio = Stdio {
        pty_socket,
        null,
        winsize,
        seccomp,
    };
    init::run_child(err.as_fd(), || {
        enter(namespaces, pid_pipe, process, maps, stdio, err.as_fd())
    })
}

/// The stdio part of `Join`, and the seccomp filter.
struct Stdio<'a> {
    pty_socket: Option<OwnedFd>,
    null: Option<OwnedFd>,
    winsize: Option<Winsize>,
    seccomp: Option<&'a Program>,
}

/// The numbered join sequence; returns only on failure.
fn enter(
    namespaces: Vec<(CloneFlags, OwnedFd)>,
    pid_pipe: OwnedFd,
    process: &Process,
    maps: &IdMaps,
    stdio: Stdio<'_>,
    err: BorrowedFd<'_>,
) -> Result<Never, Failure> {
    // 0. Become non-dumpable before entering anything, and stay so until
    //    exec: we run the hutch binary and are about to enter the
    //    container, whose processes must not ptrace us or open our /proc
    //    files (/proc/PID/exe above all, CVE-2019-5736 class). The fork in
    //    step 2 inherits it. Just before: --oom-score-adj, through the
    //    host's /proc (checked to be procfs), which a non-dumpable process
    //    may no longer open for writing; no container process can see us
    //    yet.
    if let Some(adj) = process.hardening.oom_score_adj {
        let proc = hardening::open_proc(std::path::Path::new(super::PROC))?;
        hardening::set_oom_score_adj(proc.as_fd(), adj)?;
    }
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| Failure::step("making the exec process non-dumpable", e))?;

    // 1. Join the user namespace first, then the others: as the owner of
    //    the user namespace we get every capability in it, which joining
    //    the namespaces it owns requires. Joining the mount namespace makes
    //    our root and working directory the container's root; joining the
    //    pid namespace only places our future children in it.
    for (kind, fd) in namespaces {
        nix::sched::setns(&fd, kind)
            .map_err(|e| Failure::step(format!("joining the {} namespace", name_of(kind)), e))?;
    }

    // 2. Fork, so the command really is in the container's pid namespace.
    //    CLONE_PARENT makes it hutch's child rather than ours: hutch waits
    //    for it, and its parent death signal (step 8) follows hutch. We
    //    only report its pid and leave.
    match clone_into(CloneFlags::CLONE_PARENT)
        .map_err(|e| Failure::io("forking into the pid namespace", &e))?
    {
        Forked::Parent(pid) => {
            let _ = nix::unistd::write(&pid_pipe, &pid.as_raw().to_ne_bytes());
            exit_now(0)
        }
        Forked::Child => drop(pid_pipe),
    }

    // 3. Resolve the user against the container's own /etc/passwd and
    //    /etc/group, while still root in its user namespace.
    let root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Failure::step("opening /", e))?;
    let user = init::resolve_user(root.as_fd(), &process.user, maps)?;

    // 4. Set up stdio. With -t the pty comes from the container's devpts,
    //    opened while still root; setsid makes us a session leader, which
    //    taking a controlling terminal requires. Detached, a session of our
    //    own keeps the caller's terminal and its hangup away.
    if let Some(sock) = stdio.pty_socket {
        let slave = init::open_pty(root.as_fd(), &sock, stdio.winsize.as_ref())?;
        drop(sock);
        nix::unistd::setsid().map_err(|e| Failure::step("starting a session", e))?;
        pty::set_controlling_terminal(slave.as_fd())
            .map_err(|e| Failure::io("setting the controlling terminal", &e))?;
        for target in 0..=2 {
            init::dup_onto(slave.as_fd(), target)?;
        }
    } else if let Some(null) = stdio.null {
        let targets = if process.detach { 0..=2 } else { 0..=0 };
        for target in targets {
            init::dup_onto(null.as_fd(), target)?;
        }
    }
    if process.detach {
        nix::unistd::setsid().map_err(|e| Failure::step("starting a session", e))?;
    }

    // 4b. The container's resource limits, before the user switch (an
    //     NPROC limit is checked there).
    hardening::apply_ulimits(&process.hardening.ulimits)?;

    // 5. Shrink the bounding set while we still hold CAP_SETPCAP, install
    //    the container's seccomp filter while we still hold CAP_SYS_ADMIN,
    //    drop to the user, then keep only the planned capabilities, as the
    //    container's init does.
    init::drop_bounding_set(process.caps)?;
    init::install_seccomp(stdio.seccomp)?;
    init::switch_user(&user, maps)?;
    init::restrict_capabilities(process.caps, process.no_new_privileges)?;

    // 6. Enter the working directory as the user, so its permissions
    //    apply, resolved beneath the container's root without magic links
    //    (`-w /proc/self/fd/N` cannot reach a leaked fd) and checked.
    hardening::enter_workdir(root.as_fd(), &process.cwd)?;
    drop(root);

    // 7. Build argv and the environment (HOME from passwd when unset),
    //    restore default signal handling and close inherited fds.
    let command = init::prepare_command(&process.args, &process.env, &user.home)?;
    init::reset_for_exec(err)?;

    // 8. In the foreground, die with hutch, so the command never outlives
    //    it (after step 5, whose credential change clears the setting).
    if !process.detach {
        init::die_with_parent(err)?;
    }

    // 9. Exec; the error pipe closes on success, which tells hutch.
    Err(init::exec(&command))
}

/// The name of a namespace type, for messages.
fn name_of(kind: CloneFlags) -> &'static str {
    match kind {
        k if k == CloneFlags::CLONE_NEWUSER => "user",
        k if k == CloneFlags::CLONE_NEWNS => "mount",
        k if k == CloneFlags::CLONE_NEWPID => "pid",
        k if k == CloneFlags::CLONE_NEWUTS => "uts",
        k if k == CloneFlags::CLONE_NEWIPC => "ipc",
        k if k == CloneFlags::CLONE_NEWNET => "network",
        _ => "unknown",
    }
}
