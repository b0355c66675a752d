//! What runs inside the container's namespaces: clone, init, mounts,
//! identity, devices, security, seccomp, the relay of terminal and signals,
//! joining a running container (`exec`) or a pod.
//!
//! The runtime executes a `Plan` (plain, typed data the engine computed and
//! stored) and reports how the process started and ended. It must not find
//! containers by name, pull images, decide policy, or print.

mod binds;
mod cgroupns;
pub mod clock;
mod confine;
pub mod devices;
pub mod enter;
pub mod exec;
pub mod exitfile;
pub mod hardening;
pub mod identity;
mod init;
pub mod initproc;
mod join;
mod launch;
pub mod mounts;
pub mod network;
pub mod outputs;
pub mod overlay;
mod pidfile;
pub use pidfile::send_ready;
pub mod plan;
pub mod pod;
mod privileges;
mod probe;
pub mod procfs;
pub mod pty;
pub mod relay;
mod report;
pub mod rootfs;
pub mod run;
pub mod seccomp;
pub mod secrets;
pub mod security;
mod syscall;
pub mod tuning;
mod user;
pub mod volumes;

pub use binds::{mount_volumes, Sources};
pub use plan::Plan;
pub use privileges::primary_ids;
pub use run::OOM_REASON;

use std::path::PathBuf;

use crate::error::{EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND, EXIT_TOOL};

/// What went wrong starting or running a container's processes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Placing the container in its cgroup.
    #[error("placing the container in a cgroup")]
    Cgroup(#[source] crate::cgroup::Error),
    /// An unpacked layer of the container's image is gone from the store.
    #[error("layer {} of the container's image is missing from the store", layer_name(.0))]
    LayerMissing(PathBuf),
    /// The directory or squashfs file of a `--rootfs` container is gone.
    #[error("the container's root {0} is gone")]
    RootfsMissing(PathBuf),
    /// Moving an exec'd process into the container's cgroup.
    #[error("joining the container's cgroup")]
    JoinCgroup(#[source] crate::cgroup::Error),
    /// The container's command was not found (exit 127).
    #[error("executable file {0:?} not found in $PATH")]
    NotFound(String),
    /// The container's command could not be invoked (exit 126).
    #[error("cannot invoke {path:?}: {reason}")]
    CannotInvoke { path: String, reason: String },
    /// A `-e` or `--env-file` entry has no name.
    #[error("invalid environment variable {0:?}: empty name")]
    InvalidEnv(String),
    /// The user name is not in the container's /etc/passwd (exit 126).
    #[error("unable to find user {0}: no matching entries in passwd file")]
    UnknownUser(String),
    /// The group name is not in the container's /etc/group (exit 126).
    #[error("unable to find group {0}: no matching entries in group file")]
    UnknownGroup(String),
    /// `-w` names a directory the container lacks, or something else
    /// (exit 126, as in Podman); the text is Podman's.
    #[error("{0}")]
    BadWorkdir(String),
    /// The user resolves to ids the container's maps do not cover.
    #[error("user {0:?} is not mapped into the container")]
    UnmappedUser(String),
    /// The `hutch-enter` helper that `exec` seals and runs is missing or
    /// unreadable.
    #[error("opening the exec helper {}", path.display())]
    MissingHelper {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `run` was called from a multi-threaded process.
    #[error("cannot start a container from a process with {0} threads")]
    MultiThreaded(usize),
    /// Writing a file into the container directory: hosts, hostname,
    /// resolv.conf, the network helper record or the cgroup placement.
    #[error("writing {path}")]
    WriteFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--tz` names a zone the host no longer has a file for.
    #[error(transparent)]
    Tuning(tuning::Error),
    /// Opening /dev/null for the container's stdin.
    #[error("opening /dev/null")]
    OpenNull(#[source] std::io::Error),
    /// Creating the socketpair the pty goes over.
    #[error("creating the pty socket")]
    Socket(#[source] nix::Error),
    /// Blocking signals or creating the signalfd.
    #[error("setting up signal forwarding")]
    Signals(#[source] nix::Error),
    /// clone(2) into the new namespaces.
    #[error("creating the container's namespaces")]
    Clone(#[source] std::io::Error),
    /// Writing the id maps (or creating the sync pipes).
    #[error("setting up the container's user namespace")]
    Maps(#[source] crate::userns::Error),
    /// Receiving the pty master from init.
    #[error("receiving the container's pty")]
    ReceivePty(#[source] std::io::Error),
    /// A step of the container's init failed.
    #[error("{step}")]
    Setup {
        step: String,
        #[source]
        source: Option<std::io::Error>,
    },
    /// Init ended without exec and without saying why.
    #[error("container init exited during setup")]
    InitVanished,
    /// Relaying signals or the terminal.
    #[error("relaying to the container")]
    Relay(#[source] nix::Error),
    /// Waiting for the container's init.
    #[error("waiting for the container")]
    Wait(#[source] nix::Error),
    /// Preparing the overlay probe's directories.
    #[error("preparing the overlay probe in {path}")]
    ProbeDirs {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Neither kernel overlayfs nor fuse-overlayfs could mount.
    #[error("no usable overlay: kernel overlayfs refused and fuse-overlayfs failed")]
    NoOverlay(#[source] crate::userns::Error),
    /// Reading or writing the container's record.
    #[error(transparent)]
    Store(crate::storage::Error),
    /// Signalling a container that is not running.
    #[error("container {0} is not running")]
    NotRunning(String),
    /// Checking ports or starting the network helper.
    #[error("connecting the container's network")]
    Network(#[source] crate::net::Error),
    /// The seccomp profile cannot be read, compiled or cached.
    #[error(transparent)]
    Seccomp(#[from] seccomp::Error),
    /// Joining a pod's namespaces.
    #[error(transparent)]
    PodJoin(#[from] pod::Error),
}

impl crate::error::Diagnose for Error {
    /// The process exit code for this error.
    fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound(_) => EXIT_NOT_FOUND,
            Error::CannotInvoke { .. }
            | Error::UnknownUser(_)
            | Error::UnknownGroup(_)
            | Error::BadWorkdir(_) => EXIT_CANNOT_INVOKE,
            _ => EXIT_TOOL,
        }
    }

    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::UnmappedUser(_) => Some(
                "give this user a range in /etc/subuid and /etc/subgid, or run as root in the container".into(),
            ),
            Error::Maps(e) => e.hint(),
            Error::Cgroup(e) | Error::JoinCgroup(e) => e.hint(),
            Error::LayerMissing(_) => Some(
                "pull the container's image again (hutch pull IMAGE) to restore its layers".into(),
            ),
            Error::Clone(_) => Some(
                "unprivileged user namespaces may be disabled: check sysctl user.max_user_namespaces".into(),
            ),
            Error::MissingHelper { .. } => Some(format!(
                "install {} beside the hutch binary, from the same build (install.sh does)",
                enter::HELPER
            )),
            Error::NoOverlay(_) => Some("install fuse-overlayfs and make /dev/fuse usable".into()),
            Error::Store(e) => e.hint(),
            Error::Seccomp(e) => e.hint(),
            _ => None,
        }
    }
}

/// The proc root processes are read from.
pub(crate) const PROC: &str = "/proc";

/// Which overlay implementation mounts container roots on this host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayKind {
    /// Kernel overlayfs, mounted inside the user namespace.
    Kernel,
    /// `fuse-overlayfs`, where the kernel refuses.
    Fuse,
}

/// Finds out which overlay works for a store at `store_root`, by mounting a
/// throwaway one in a user namespace. Must be called single-threaded.
pub fn probe_overlay(
    store_root: &std::path::Path,
    maps: &crate::userns::IdMaps,
) -> Result<OverlayKind, Error> {
    probe::probe_overlay(store_root, maps)
}

pub use probe::OverlayProbe;

/// Tries kernel overlayfs and fuse-overlayfs each on their own on a store
/// at `store_root` (`doctor`). Must be called single-threaded.
pub fn probe_each_overlay(
    store_root: &std::path::Path,
    maps: &crate::userns::IdMaps,
) -> OverlayProbe {
    probe::probe_each_overlay(store_root, maps)
}

/// A layer directory's name, the hex of its diff id, for messages.
fn layer_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| format!("sha256:{}", n.to_string_lossy()))
        .unwrap_or_else(|| path.display().to_string())
}
