//! The child side of `exec`: join a running container's namespaces, fork
//! the command inside them, and exec it.
//!
//! It runs in the `hutch-enter` helper (see `enter`), exec'd from a sealed
//! memfd by a child of `sys::child::spawn`, as the body of
//! `sys::child::run_inherited`, and returns only on failure, which
//! `sys::child` reports to hutch before the process `_exit`s; it never
//! unwinds or prints.

use std::os::fd::{AsFd, OwnedFd};

use nix::sched::CloneFlags;

use super::exec::Process;
use super::hardening;
use super::launch::{self, dup_onto, open_pty};
use super::privileges::{self, Privileges};
use super::report::Failure;
use super::syscall::{Kernel, Syscall};
use crate::sys::child::{Never, Reporter};
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
    /// With `-t`: our end of the socketpair the pty master goes over.
    pub pty_socket: Option<OwnedFd>,
    /// /dev/null for stdin (and all of stdio when detached), if needed.
    pub null: Option<OwnedFd>,
    /// The write ends of the pipes that become the command's stdout and
    /// stderr, when its output goes to a sink rather than to ours.
    pub outputs: Option<(OwnedFd, OwnedFd)>,
    /// With `-t`: the outer terminal's size, for the new pty.
    pub winsize: Option<Winsize>,
    /// The container's compiled seccomp filter, unless unconfined.
    pub seccomp: Option<&'a Program>,
    /// When the container has a cgroup: the read end of a pipe on which
    /// hutch sends one byte once it moved us into that cgroup.
    pub cgroup_gate: Option<OwnedFd>,
}

/// Joins the namespaces and hands over to the command, forked inside them
/// as hutch's child, which execs; returns only on failure.
pub fn start(join: Join<'_>, reporter: &Reporter) -> Result<Never, Failure> {
    let Join {
        namespaces,
        process,
        maps,
        pty_socket,
        null,
        outputs,
        winsize,
        seccomp,
        cgroup_gate,
    } = join;
    // 0. Wait until hutch has put us in the container's cgroup, so that
    //    the command, forked in step 2, counts against the container's
    //    limits and not the caller's session. EOF without the byte: hutch
    //    could not, and says why itself.
    if let Some(gate) = cgroup_gate {
        let mut byte = [0u8; 1];
        match nix::unistd::read(gate.as_fd(), &mut byte) {
            Ok(1) => {}
            Ok(_) => {
                return Err(Failure::step(
                    "waiting to join the container's cgroup",
                    nix::errno::Errno::ECANCELED,
                ))
            }
            Err(e) => return Err(Failure::step("waiting to join the container's cgroup", e)),
        }
    }
    // Then become non-dumpable before entering anything, and stay so until
    //    exec: we run hutch's code (from the sealed helper) and are about to enter the
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

    // 1. Join the namespaces, user first (see `join_namespaces`).
    join_namespaces(&mut Kernel, &namespaces)?;
    drop(namespaces);

    // 1b. Become root in the container's user namespace, as its init was
    //     for the same steps: setns(2) leaves us the invoking user's ids,
    //     which a container root that is a subordinate id (nomap,
    //     --uidmap) does not map, and fuse-overlayfs refuses requests
    //     from unmapped ids (EOVERFLOW).
    crate::userns::become_root().map_err(Failure::text)?;

    // 2. Fork, so the command really is in the container's pid namespace.
    //    CLONE_PARENT makes it hutch's child rather than ours: hutch waits
    //    for it, and its parent death signal (step 8) follows hutch. We
    //    only report its pid and leave; it starts once the pid is sent.
    let stdio = Stdio {
        pty_socket,
        null,
        outputs,
        winsize,
    };
    let privileges = Privileges {
        ulimits: &process.hardening.ulimits,
        caps: process.caps,
        is_no_new_privs: process.no_new_privileges,
        seccomp,
    };
    reporter
        .hand_over(CloneFlags::CLONE_PARENT, move |reporter| {
            run_command(process, maps, stdio, &privileges, reporter)
        })
        .map_err(|e| Failure::io("forking into the pid namespace", &e))
}

/// Step 1: join the user namespace first, then the others in `namespaces`
/// order: as the owner of the user namespace we get every capability in
/// it, which joining the namespaces it owns requires. Joining the mount
/// namespace makes our root and working directory the container's root;
/// joining the pid namespace only places our future children in it.
pub fn join_namespaces(
    sys: &mut impl Syscall,
    namespaces: &[(CloneFlags, OwnedFd)],
) -> Result<(), Failure> {
    let user = namespaces
        .iter()
        .filter(|(kind, _)| *kind == CloneFlags::CLONE_NEWUSER);
    let others = namespaces
        .iter()
        .filter(|(kind, _)| *kind != CloneFlags::CLONE_NEWUSER);
    for (kind, fd) in user.chain(others) {
        sys.setns(fd.as_fd(), *kind)
            .map_err(|e| Failure::step(format!("joining the {} namespace", name_of(*kind)), e))?;
    }
    Ok(())
}

/// The stdio part of `Join`.
struct Stdio {
    pty_socket: Option<OwnedFd>,
    null: Option<OwnedFd>,
    outputs: Option<(OwnedFd, OwnedFd)>,
    winsize: Option<Winsize>,
}

/// Steps 3–9, in the command's process: resolve the user, set up stdio,
/// drop privileges and exec; returns only on failure.
fn run_command(
    process: &Process,
    maps: &IdMaps,
    stdio: Stdio,
    privileges: &Privileges<'_>,
    reporter: &Reporter,
) -> Result<Never, Failure> {
    // 3. Resolve the user against the container's own /etc/passwd and
    //    /etc/group, while still root in its user namespace.
    let root = Kernel.open_dir(std::path::Path::new("/"), "/")?;
    let user = privileges::resolve_user(root.as_fd(), &process.user, maps)?;

    // 4. Set up stdio. With -t the pty comes from the container's devpts,
    //    opened while still root; setsid makes us a session leader, which
    //    taking a controlling terminal requires. Detached, a session of our
    //    own keeps the caller's terminal and its hangup away.
    if let Some(sock) = stdio.pty_socket {
        let slave = open_pty(root.as_fd(), &sock, stdio.winsize.as_ref())?;
        drop(sock);
        nix::unistd::setsid().map_err(|e| Failure::step("starting a session", e))?;
        pty::set_controlling_terminal(slave.as_fd())
            .map_err(|e| Failure::io("setting the controlling terminal", &e))?;
        for target in 0..=2 {
            dup_onto(slave.as_fd(), target)?;
        }
    } else if let Some(null) = stdio.null {
        let targets = if process.detach { 0..=2 } else { 0..=0 };
        for target in targets {
            dup_onto(null.as_fd(), target)?;
        }
    }
    if let Some((out, err)) = stdio.outputs {
        dup_onto(out.as_fd(), 1)?;
        dup_onto(err.as_fd(), 2)?;
    }
    if process.detach {
        nix::unistd::setsid().map_err(|e| Failure::step("starting a session", e))?;
    }

    // 4b–5. The container's resource limits, then shrink the bounding set,
    //     install the container's seccomp filter, drop to the user and keep
    //     only the planned capabilities, as the container's init does (see
    //     `privileges::drop_privileges`).
    privileges::drop_privileges(&mut Kernel, &user, maps, privileges)?;

    // 6. Enter the working directory as the user, so its permissions
    //    apply, resolved beneath the container's root without magic links
    //    (`-w /proc/self/fd/N` cannot reach a leaked fd) and checked.
    hardening::enter_workdir(root.as_fd(), &process.cwd)?;
    drop(root);

    // 7. Build argv and the environment (HOME from passwd when unset),
    //    restore default signal handling and mark inherited fds
    //    close-on-exec, but for the `--preserve-fds` ones.
    let command = launch::prepare_command(&process.args, &process.env, &user.home)?;
    launch::reset_for_exec(process.preserve_fds)?;

    // 8. In the foreground, die with hutch, so the command never outlives
    //    it (after step 5, whose credential change clears the setting).
    if !process.detach {
        launch::die_with_parent(reporter.as_fd())?;
    }

    // 9. Exec; the report pipe closes on success, which tells hutch.
    Err(launch::exec(&command))
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
        k if k == CloneFlags::CLONE_NEWCGROUP => "cgroup",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::syscall::Recorder;

    fn open(kind: CloneFlags) -> (CloneFlags, OwnedFd) {
        let fd = std::fs::File::open("/proc/self/ns/user").unwrap();
        (kind, OwnedFd::from(fd))
    }

    #[test]
    fn the_user_namespace_is_joined_first_then_the_rest_in_order() {
        let namespaces = vec![
            open(CloneFlags::CLONE_NEWNS),
            open(CloneFlags::CLONE_NEWPID),
            open(CloneFlags::CLONE_NEWUSER),
            open(CloneFlags::CLONE_NEWNET),
        ];
        let mut sys = Recorder::default();
        join_namespaces(&mut sys, &namespaces).unwrap();
        assert_eq!(
            sys.calls,
            [
                "setns CLONE_NEWUSER",
                "setns CLONE_NEWNS",
                "setns CLONE_NEWPID",
                "setns CLONE_NEWNET",
            ]
        );
    }

    #[test]
    fn exec_opens_and_joins_the_user_namespace_first() {
        let me = std::process::id() as i32;
        let namespaces = super::super::exec::open_namespaces(std::path::Path::new("/proc"), me)
            .unwrap_or_else(|_| panic!("cannot open our own namespaces"));
        let mut sys = Recorder::default();
        join_namespaces(&mut sys, &namespaces).unwrap();
        assert_eq!(sys.calls[0], "setns CLONE_NEWUSER");
        assert_eq!(sys.calls.len(), namespaces.len());
    }
}
