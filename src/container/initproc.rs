//! `--init`: the minimal pid 1 a container gets when asked. hutch
//! re-executes itself as `container-init` from a sealed in-memory copy
//! (see `init`), forks the container's command, forwards every signal it
//! receives to it, reaps every orphan the kernel hands to pid 1, and
//! exits with the command's exit code (128+N when signal N killed it).
//!
//! It runs inside the container as the container's user with the
//! container's capabilities, so it trusts nothing there and holds nothing
//! of the host: its executable is a sealed memfd, its only extra fd the
//! error pipe to hutch, closed once the command is forked.

use std::os::fd::{AsFd, BorrowedFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::init;
use super::report::{Failure, Kind};
use crate::sys::process::{clone_into, exit_now, reset_signal_dispositions, Forked};

/// The name of the hidden subcommand and the process name `ps` shows.
pub const SUBCOMMAND: &str = "container-init";

/// The process name of the init (comm, at most 15 bytes).
pub const PROCESS_NAME: &str = "hutch-init";

/// Exit code when the init itself cannot start the command.
const EXIT_INIT_FAILED: i32 = 125;

/// The argv that makes the sealed copy of hutch run as the init with
/// error pipe `error_fd` and the container's command `args`.
pub fn init_argv(error_fd: i32, args: &[String]) -> Vec<String> {
    let mut argv = vec![
        PROCESS_NAME.to_string(),
        SUBCOMMAND.to_string(),
        "--error-fd".to_string(),
        error_fd.to_string(),
        "--".to_string(),
    ];
    argv.extend_from_slice(args);
    argv
}

/// Runs as the container's pid 1: starts `args` with this process's
/// environment, relays signals, reaps, and returns the command's exit
/// code. `error_fd` is the pipe to hutch, where a failure to start the
/// command is reported as `init` would.
pub fn run_init(error_fd: Option<i32>, args: &[String]) -> i32 {
    // Non-dumpable: nothing in the container may read our memory or fds.
    let _ = nix::sys::prctl::set_dumpable(false);
    if let Ok(name) = std::ffi::CString::new(PROCESS_NAME) {
        let _ = nix::sys::prctl::set_name(&name);
    }
    let err = error_fd.and_then(crate::sys::reexec::adopt_inherited_fd);
    if args.is_empty() {
        report(
            err.as_ref().map(|f| f.as_fd()),
            Failure::step("--init needs a command", nix::Error::EINVAL),
        );
        return EXIT_INIT_FAILED;
    }
    // Block everything before the fork: signals queue for sigwait below
    // and none is lost between the fork and the loop.
    let all = SigSet::all();
    if sigprocmask(SigmaskHow::SIG_SETMASK, Some(&all), None).is_err() {
        return EXIT_INIT_FAILED;
    }
    let child = match clone_into(CloneFlags::empty()) {
        Ok(Forked::Child) => start_command(err.as_ref().map(|f| f.as_fd()), args),
        Ok(Forked::Parent(pid)) => pid,
        Err(e) => {
            report(
                err.as_ref().map(|f| f.as_fd()),
                Failure::io("forking the container's command", &e),
            );
            return EXIT_INIT_FAILED;
        }
    };
    // hutch learns the command runs when every copy of the pipe is closed:
    // ours now, the child's at its exec.
    drop(err);
    relay(child, &all)
}

/// Sends `failure` over the error pipe, if there is one.
fn report(err: Option<BorrowedFd<'_>>, failure: Failure) {
    if let Some(fd) = err {
        let _ = nix::unistd::write(fd, &failure.encode());
    }
}

/// The forked child: restores signals and execs the command; reports a
/// failure over the error pipe and exits with 127, 126 or 125.
fn start_command(err: Option<BorrowedFd<'_>>, args: &[String]) -> ! {
    if let Some(fd) = err {
        // Closed by exec, which is how hutch learns the command started.
        let _ = fcntl(fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC));
    }
    reset_signal_dispositions();
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    let env: Vec<String> = std::env::vars_os()
        .filter_map(|(k, v)| {
            Some(format!(
                "{}={}",
                k.into_string().ok()?,
                v.into_string().ok()?
            ))
        })
        .collect();
    let failure = match init::prepare_command(args, &env, "/") {
        Ok(command) => init::exec(&command),
        Err(f) => f,
    };
    let code = match failure.kind {
        Kind::NotFound => crate::error::EXIT_NOT_FOUND,
        Kind::CannotInvoke => crate::error::EXIT_CANNOT_INVOKE,
        _ => EXIT_INIT_FAILED,
    };
    report(err, failure);
    exit_now(code)
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
            Ok(WaitStatus::Signaled(pid, sig, _)) if pid == child => code = Some(128 + sig as i32),
            Ok(WaitStatus::StillAlive) | Err(_) => return code,
            Ok(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_argv_passes_the_command_after_a_separator() {
        let args = vec!["sh".to_string(), "-c".to_string(), "--x".to_string()];
        assert_eq!(
            init_argv(7, &args),
            [
                "hutch-init",
                "container-init",
                "--error-fd",
                "7",
                "--",
                "sh",
                "-c",
                "--x"
            ]
        );
    }
}
