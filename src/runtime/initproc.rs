//! `--init`: the minimal pid 1 a container gets when asked. The
//! container's init, at the end of its setup, forks the command instead
//! of becoming it, then forwards every signal it receives to the command,
//! reaps every orphan the kernel hands to pid 1, and exits with the
//! command's exit code (128+N when signal N killed it).
//!
//! It stays the process hutch cloned and never execs: hutch is linked
//! against the host's C library, which an image need not have, so a copy
//! of hutch could not run inside most containers. Instead it stays
//! non-dumpable for life (set in `init` right after the id maps), so no
//! process in the container, whatever its capabilities there, may ptrace
//! it, read its memory or open its `/proc/1/exe` (the hutch binary):
//! access to a non-dumpable process needs CAP_SYS_PTRACE in the initial
//! user namespace, where the container has nothing. It holds no fd but
//! stdio.

use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::report::Failure;
use crate::sys::child::{Never, Reporter};
use crate::sys::process::close_fds_then_exit;

/// The process name `ps` shows for the init (comm, at most 15 bytes).
pub const PROCESS_NAME: &str = "hutch-init";

/// The init's argv[0] as the container sees it (Podman's init shows as
/// `/run/podman-init -- CMD…`). No such file exists: the init is the
/// process hutch cloned, and its own command line would be hutch's on the
/// host, so it is replaced.
pub const INIT_PATH: &str = "/run/hutch-init";

/// Forks the container's command `args`, which runs `command` (it execs,
/// sharing `reporter`, whose copy tells hutch whether exec worked). This
/// process becomes the init, shown as `/run/hutch-init -- ARGS…`: it
/// closes every fd but stdio (the report pipe too), relays signals and
/// reaps until the command exits, then exits with its code. Returns only
/// when renaming or the fork fails. Must be the last step before exec,
/// after the user switch, the capability drop and the parent death
/// signal, which the init keeps, and after pivot_root: `proc` is the
/// container's /proc.
pub fn fork_init<F>(
    reporter: &Reporter,
    args: &[String],
    proc: &std::path::Path,
    command: F,
) -> Result<Never, Failure>
where
    F: FnOnce() -> Result<Never, Failure>,
{
    // Before the fork, so that a failure is reported: the command line
    // hutch was started with on the host is not the container's business.
    let argv: Vec<&str> = [INIT_PATH, "--"]
        .into_iter()
        .chain(args.iter().map(String::as_str))
        .collect();
    crate::sys::cmdline::set_cmdline(&argv, proc)
        .map_err(|e| Failure::io("setting the init's command line", &e))?;
    // The name too, before the fork: the command may look (`ps`) before
    // this process would otherwise get to it; its own exec renames it.
    if let Ok(name) = std::ffi::CString::new(PROCESS_NAME) {
        let _ = nix::sys::prctl::set_name(&name);
    }
    // Block everything before the fork: signals queue for sigwait below
    // and none is lost between the fork and the loop.
    let all = SigSet::all();
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), None)
        .map_err(|e| Failure::step("blocking signals in the init", e))?;
    let child = reporter
        .fork(CloneFlags::empty(), |_| {
            // A process group of its own that owns the terminal (with -t),
            // so the terminal's signals (^C) reach the command once, not
            // again through the init's forwarding. SIGTTOU is still
            // blocked, so taking the terminal cannot stop us.
            let _ = nix::unistd::setpgid(Pid::from_raw(0), Pid::from_raw(0));
            let stdin = std::io::stdin();
            if nix::unistd::isatty(&stdin).unwrap_or(false) {
                let _ = nix::unistd::tcsetpgrp(&stdin, nix::unistd::getpgrp());
            }
            sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
                .map_err(|e| Failure::step("resetting the signal mask", e))?;
            command()
        })
        .map_err(|e| Failure::io("forking the container's command", &e))?;
    // From here on this process holds no fd but stdio.
    close_fds_then_exit(3, relay_until_exit, (child, all))
}

/// `relay` in the shape `close_fds_then_exit` runs.
fn relay_until_exit((child, set): (Pid, SigSet)) -> i32 {
    relay(child, &set)
}

/// Forwards every signal but SIGCHLD to `child`, reaps whatever exits,
/// and returns `child`'s exit code once it is gone.
fn relay(child: Pid, set: &SigSet) -> i32 {
    loop {
        let Ok(sig) = set.wait() else {
            continue;
        };
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        if let Some(code) = reap_all(child) {
            return code;
        }
    }
}

/// Reaps every exited process; `Some(code)` once `child` is among them.
fn reap_all(child: Pid) -> Option<i32> {
    let mut code = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, c)) if pid == child => code = Some(c),
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == child => code = Some(exit_code_of(sig)),
            Ok(WaitStatus::StillAlive) | Err(_) => return code,
            Ok(_) => {}
        }
    }
}

/// The exit code of a command killed by `sig`, as a shell reports it.
fn exit_code_of(sig: Signal) -> i32 {
    128 + sig as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signalled_command_exits_128_plus_the_signal() {
        assert_eq!(exit_code_of(Signal::SIGKILL), 137);
        assert_eq!(exit_code_of(Signal::SIGTERM), 143);
    }

    #[test]
    fn the_process_name_fits_comm() {
        assert!(PROCESS_NAME.len() <= 15);
    }
}
