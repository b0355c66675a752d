//! Joining a pod: the process that enters the pod infra's namespaces and
//! forks a member's init there. Finding the pod and its infra is the
//! engine's job (`container::pod`); this module gets the open namespaces.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};

use nix::sched::CloneFlags;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use crate::sys::process::{clone_into, exit_now, Forked};

/// What went wrong joining a pod.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Creating the report pipe.
    #[error("creating the pod join pipe")]
    Pipe(#[source] crate::userns::Error),
    /// Forking the joining process.
    #[error("forking the process that joins the pod")]
    Clone(#[source] std::io::Error),
    /// The process that joins the pod's namespaces failed.
    #[error("joining the namespaces of pod {pod}: {step}")]
    Join { pod: String, step: String },
}

/// The open namespaces of a running pod's infra, in join order (user first).
#[derive(Debug)]
pub struct PodJoin {
    /// The pod's name, for messages.
    pub pod: String,
    /// Each namespace's kind and an fd of it.
    pub namespaces: Vec<(CloneFlags, OwnedFd)>,
}

/// Like `clone_into` for a pod member: an intermediate process joins the
/// pod's namespaces (user first: as its owner we may join the rest), makes
/// new mount and PID namespaces, and forks the member's init as our child
/// (CLONE_PARENT), which returns `Forked::Child`; the intermediate reports
/// the init's pid and exits. Must be called single-threaded.
pub fn clone_member(join: PodJoin) -> Result<Forked, Error> {
    let PodJoin { pod, namespaces } = join;
    let (pid_r, pid_w) = crate::userns::pipe().map_err(Error::Pipe)?;
    let failed = |step: String| Error::Join {
        pod: pod.clone(),
        step,
    };
    match clone_into(CloneFlags::empty()).map_err(Error::Clone)? {
        Forked::Child => {
            drop(pid_r);
            for (kind, fd) in &namespaces {
                if let Err(e) = nix::sched::setns(fd, *kind) {
                    report_join(&pid_w, &format!("setns {kind:?}: {e}"));
                }
            }
            drop(namespaces);
            if let Err(e) = nix::sched::unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID)
            {
                report_join(
                    &pid_w,
                    &format!("unsharing the mount and pid namespaces: {e}"),
                );
            }
            match clone_into(CloneFlags::CLONE_PARENT) {
                Ok(Forked::Child) => {
                    drop(pid_w);
                    Ok(Forked::Child)
                }
                Ok(Forked::Parent(pid)) => {
                    let _ = nix::unistd::write(&pid_w, format!("ok {pid}").as_bytes());
                    exit_now(0)
                }
                Err(e) => report_join(&pid_w, &format!("forking the container's init: {e}")),
            }
        }
        Forked::Parent(middle) => {
            drop((pid_w, namespaces));
            let mut text = String::new();
            let read = File::from(pid_r).read_to_string(&mut text);
            while let Err(nix::Error::EINTR) = waitpid(middle, None) {}
            if let Err(e) = read {
                return Err(failed(e.to_string()));
            }
            match text.strip_prefix("ok ").and_then(|p| p.parse::<i32>().ok()) {
                Some(pid) => Ok(Forked::Parent(Pid::from_raw(pid))),
                None => Err(failed(
                    text.strip_prefix("err ")
                        .unwrap_or("the joining process exited without reporting")
                        .to_string(),
                )),
            }
        }
    }
}

/// In the intermediate process: reports a failed step and exits.
fn report_join(pipe: &OwnedFd, message: &str) -> ! {
    let _ = nix::unistd::write(pipe.as_fd(), format!("err {message}").as_bytes());
    exit_now(1)
}
