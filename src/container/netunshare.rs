//! `hutch unshare --rootless-netns`: a command as root in the network
//! holder's user and network namespaces, where the bridges of the user's
//! networks, their firewall rules and aardvark-dns live (Podman's
//! "rootless network namespace"). The holder is started if need be and
//! stays while the command runs.

use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};

use super::system::UnshareOutcome;
use super::{netattach, netholder, Error};

impl super::Engine {
    /// Runs `command` (searched in PATH) as root in the network holder's
    /// user and network namespaces and waits for it.
    pub fn unshare_rootless_netns(&self, command: &[String]) -> Result<UnshareOutcome, Error> {
        let root = self.paths().root.clone();
        let proc = Path::new(super::PROC);
        let key = format!("unshare-{}", std::process::id());
        let (record, (user, net)) = {
            let _lock = netholder::lock(&root)?;
            let holder = netholder::ensure(&root, proc)?;
            let record = netattach::hold(&root, &key, proc)?;
            (record, netholder::open_namespaces(&holder, proc)?)
        };
        let outcome = run_in(command, [user.as_raw_fd(), net.as_raw_fd()]);
        let _ = std::fs::remove_file(&record);
        Ok(outcome)
    }
}

/// Runs `command` after joining the namespaces `join` (user first), the
/// terminal's signals left to it, and says how it ended.
fn run_in(command: &[String], join: [std::os::fd::RawFd; 2]) -> UnshareOutcome {
    let Some((prog, args)) = command.split_first() else {
        return UnshareOutcome::Exited(0);
    };
    // Searched here: inside, the user namespace's root may lack the
    // rights on PATH's directories that tell a missing command apart.
    let Some(path) = search_path(prog) else {
        return UnshareOutcome::NotFound(prog.clone());
    };
    let mut cmd = Command::new(path);
    cmd.arg0(prog);
    cmd.args(args);
    let mut forwarded = SigSet::empty();
    for s in [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTSTP] {
        forwarded.add(s);
    }
    crate::sys::spawn::join_namespaces(&mut cmd, join, forwarded);
    // The terminal's signals reach the whole group: they are the
    // command's, and hutch waits for it to end.
    let mut old = SigSet::empty();
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&forwarded), Some(&mut old));
    let status = cmd.status();
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    match status {
        Ok(s) => UnshareOutcome::Exited(
            s.code()
                .unwrap_or_else(|| 128 + s.signal().unwrap_or_default()),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            UnshareOutcome::NotFound(prog.clone())
        }
        Err(e) => UnshareOutcome::CannotInvoke(
            prog.clone(),
            Errno::from_raw(e.raw_os_error().unwrap_or(libc::EACCES)),
        ),
    }
}

/// `prog` if it names a path, else the first file of that name in PATH's
/// directories.
fn search_path(prog: &str) -> Option<PathBuf> {
    if prog.contains('/') {
        return Some(PathBuf::from(prog));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    path.split(':')
        .map(|d| Path::new(if d.is_empty() { "." } else { d }).join(prog))
        .find(|p| p.is_file())
}
