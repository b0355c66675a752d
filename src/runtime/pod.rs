//! Joining a pod: the process that enters the pod infra's namespaces and
//! forks a member's init there. Finding the pod and its infra is the
//! engine's job (`container::pod`); this module gets the open namespaces.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::sched::CloneFlags;
use nix::unistd::Pid;

use super::report::Failure;
use super::syscall::{Kernel, Syscall};
use crate::sys::child::{self, Child, Message, Never, Reporter};

/// What went wrong joining a pod.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// The namespaces the pod does not share (`pod create --share`), which
    /// the member makes its own.
    pub own: CloneFlags,
    /// For a container on user networks (which joins the network holder's
    /// user namespace only): what attaches it once it exists.
    pub network: Option<super::network::NetAttach>,
}

/// Like `sys::child::spawn` for a pod member: an intermediate process
/// joins the pod's namespaces (see `enter_pod`) and hands over to the
/// member's init, forked as our child (`CLONE_PARENT`), which runs `body`
/// and reports over the same pipe. Returns the handle on that pipe and the
/// init's pid; the intermediate is reaped. `parent_ends` as for `spawn`.
/// Must be called single-threaded.
pub fn clone_member<F>(
    join: PodJoin,
    parent_ends: &[BorrowedFd<'_>],
    body: F,
) -> Result<(Child, Pid), Error>
where
    F: FnOnce(&Reporter) -> Result<Never, Failure>,
{
    let PodJoin {
        pod,
        namespaces,
        own,
        network: _,
    } = join;
    let mut middle = child::spawn(CloneFlags::empty(), parent_ends, move |reporter| {
        enter_pod(&mut Kernel, &namespaces, own)?;
        drop(namespaces);
        reporter
            .hand_over(CloneFlags::CLONE_PARENT, body)
            .map_err(|e| Failure::text(format!("forking the container's init: {e}")))
    })
    .map_err(Error::Clone)?;
    let first = middle.read_message();
    let _ = middle.wait();
    let failed = |step: String| Error::Join {
        pod: pod.clone(),
        step,
    };
    match first {
        Ok(Some(Message::Forked(pid))) => Ok((middle, pid)),
        Ok(Some(Message::Failed(f))) => Err(failed(f.text)),
        Ok(None) => Err(failed(
            "the joining process exited without reporting".into(),
        )),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// In the intermediate process: joins the pod's namespaces in order (user
/// first: as its owner we may join the rest), then makes new mount and PID
/// namespaces for the member: its mounts are its own, and its init is pid
/// 1 of a namespace of its own; so are the `own` ones the pod does not
/// share (made in the pod's user namespace, whose root we now are).
fn enter_pod(
    sys: &mut impl Syscall,
    namespaces: &[(CloneFlags, OwnedFd)],
    own: CloneFlags,
) -> Result<(), Failure> {
    for (kind, fd) in namespaces {
        sys.setns(fd.as_fd(), *kind)
            .map_err(|e| Failure::text(format!("setns {kind:?}: {e}")))?;
    }
    sys.unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWPID | own)
        .map_err(|e| Failure::text(format!("unsharing the member's own namespaces: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::syscall::Recorder;

    #[test]
    fn a_member_joins_every_pod_namespace_before_unsharing_its_own() {
        let open = |kind| {
            let fd = std::fs::File::open("/proc/self/ns/user").unwrap();
            (kind, OwnedFd::from(fd))
        };
        let namespaces = vec![
            open(CloneFlags::CLONE_NEWUSER),
            open(CloneFlags::CLONE_NEWNET),
            open(CloneFlags::CLONE_NEWUTS),
        ];
        let mut sys = Recorder::default();
        enter_pod(&mut sys, &namespaces, CloneFlags::empty()).unwrap();
        assert_eq!(
            sys.calls,
            [
                "setns CLONE_NEWUSER",
                "setns CLONE_NEWNET",
                "setns CLONE_NEWUTS",
                "unshare CLONE_NEWNS | CLONE_NEWPID",
            ]
        );
        // A pod that does not share IPC: the member makes its own.
        let mut sys = Recorder::default();
        enter_pod(&mut sys, &namespaces[..1], CloneFlags::CLONE_NEWIPC).unwrap();
        assert_eq!(
            sys.calls,
            [
                "setns CLONE_NEWUSER",
                "unshare CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWPID",
            ]
        );
    }
}
