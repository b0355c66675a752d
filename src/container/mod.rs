//! Containers: planning a container as data, then running it.
//!
//! Owns turning an image and the user's run options into a `Plan` (pure
//! data: id maps, namespaces, mounts, process), and executing a plan:
//! clone into new namespaces, write id maps, mount the root filesystem,
//! pivot_root, exec; relay the terminal and signals; return the exit code.
//! It must not pull images or print.

mod plan;

pub use plan::{Plan, RunOptions};

use crate::error::{EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND, EXIT_TOOL};

/// What went wrong running a container.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Todo(&'static str),
    /// The container's command was not found (exit 127).
    #[error("executable file {0:?} not found in $PATH")]
    NotFound(String),
    /// The container's command could not be invoked (exit 126).
    #[error("cannot invoke {path:?}: {reason}")]
    CannotInvoke { path: String, reason: String },
    #[error("no command: the image has no Entrypoint or Cmd and none was given")]
    NoCommand,
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::NotFound(_) => EXIT_NOT_FOUND,
            Error::CannotInvoke { .. } => EXIT_CANNOT_INVOKE,
            _ => EXIT_TOOL,
        }
    }

    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoCommand => Some("give a command after the image name".into()),
            _ => None,
        }
    }
}

/// Runs a planned container in the foreground and returns its exit code
/// (128+N when killed by signal N). Must be called single-threaded.
pub fn run(plan: &Plan) -> Result<i32, Error> {
    let _ = plan;
    Err(Error::Todo("run"))
}

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
    let _ = (store_root, maps);
    Err(Error::Todo("probe_overlay"))
}
