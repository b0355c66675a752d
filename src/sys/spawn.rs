//! Spawning helper processes that must not outlive their parent.

use std::os::unix::process::CommandExt;
use std::process::Command;

use nix::sys::signal::Signal;

/// Makes the process `cmd` spawns receive `sig` when the thread that
/// spawned it exits (`PR_SET_PDEATHSIG`, kept across exec for a binary
/// that is not set-id). Spawn from a single-threaded process, so the
/// spawning thread lives as long as the process.
pub fn die_with_parent(cmd: &mut Command, sig: Signal) {
    // SAFETY: the closure runs in the forked child before exec and calls
    // only prctl(2) and getppid(2), both async-signal-safe; it allocates
    // nothing and touches no lock.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl: then the signal never
            // comes, and init (pid 1 or a subreaper) is our parent.
            if libc::getppid() == 1 {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Makes the process `cmd` spawns leave for a mount namespace of its own
/// (unshare(2) `CLONE_NEWNS`) before it execs: a copy of ours, so that
/// what we mount or pivot afterwards does not move its root or cwd.
pub fn in_own_mount_namespace(cmd: &mut Command) {
    // SAFETY: the closure runs in the forked child before exec and calls
    // only unshare(2), which is async-signal-safe; it allocates nothing
    // and touches no lock.
    unsafe {
        cmd.pre_exec(|| {
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// setns(2) into each namespace of `join` in order, in a forked child
/// before exec (async-signal-safe: no allocation, no lock).
fn setns_all(join: [std::os::fd::RawFd; 2]) -> std::io::Result<()> {
    for fd in join {
        // SAFETY: setns(2) on an fd the caller keeps open; it touches no
        // memory of ours.
        if unsafe { libc::setns(fd, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes the process `cmd` spawns join the namespaces `join` in order
/// (a user namespace first) and unblock the signals `unblock` before it
/// execs. The fds must stay open until the spawn returns.
pub fn join_namespaces(
    cmd: &mut Command,
    join: [std::os::fd::RawFd; 2],
    unblock: nix::sys::signal::SigSet,
) {
    // SAFETY: the closure runs in the forked child before exec and calls
    // only setns(2) and sigprocmask(2), both async-signal-safe; it
    // allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(move || {
            setns_all(join)?;
            nix::sys::signal::sigprocmask(
                nix::sys::signal::SigmaskHow::SIG_UNBLOCK,
                Some(&unblock),
                None,
            )?;
            Ok(())
        });
    }
}

/// Makes the process `cmd` spawns join the namespaces `join` in order
/// (setns(2) with the kind the fd names: a user namespace first, whose
/// owner may then join the rest) and find `pass` as its fd 3, before it
/// execs. The fds must stay open until the spawn returns.
pub fn enter_namespaces(
    cmd: &mut Command,
    join: [std::os::fd::RawFd; 2],
    pass: std::os::fd::RawFd,
) {
    // SAFETY: the closure runs in the forked child before exec and calls
    // only setns(2), dup2(2) and fcntl(2), all async-signal-safe; it
    // allocates nothing and touches no lock.
    unsafe {
        cmd.pre_exec(move || {
            setns_all(join)?;
            if pass != 3 && libc::dup2(pass, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // dup2 leaves the copy open across exec; fd 3 itself may have
            // been close-on-exec.
            if libc::fcntl(3, libc::F_SETFD, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
