//! Images: references, registries.conf, the registry client and pulling.
//!
//! Owns turning a user's image name into a fully qualified reference,
//! talking the Distribution API v2 to registries (token auth, manifest
//! negotiation, platform selection, verified blob downloads) and handing
//! verified blobs to `storage`. It must not unpack layers itself or run
//! anything in a container.

mod config;
mod platform;
mod reference;

pub use config::RuntimeConfig;
pub use platform::Platform;
pub use reference::Reference;

use crate::paths::Paths;
use crate::storage::{ImageRecord, Store};
use crate::userns::IdMaps;

/// What went wrong with an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Todo(&'static str),
    #[error("invalid image config")]
    Config(#[source] serde_json::Error),
    #[error("invalid platform {0:?}: expected os/arch[/variant]")]
    Platform(String),
    #[error("invalid image reference {0:?}")]
    Reference(String),
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        None
    }
}

/// When `run` pulls, as `--pull` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Always pull.
    Always,
    /// Pull only if no local image matches (the default).
    #[default]
    Missing,
    /// Never pull; fail if no local image matches.
    Never,
}

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The platform to select from an index.
    pub platform: Platform,
    /// Suppress progress output.
    pub quiet: bool,
    /// `Some(false)` allows plain HTTP and unverified TLS for every registry.
    pub tls_verify: Option<bool>,
}

/// A progress or notice line for the user; `cli` decides where it goes.
pub trait Reporter: Sync {
    /// A line such as `Trying to pull REG/busybox:latest...`.
    fn notice(&self, line: &str);
}

/// Pulls `name` (short or qualified) and records it in `store`; returns the
/// stored image. Short names go through the search registries in order.
/// Network work finishes and the HTTP client is dropped before layers are
/// unpacked in a user namespace with `maps`.
pub fn pull(
    paths: &Paths,
    store: &Store,
    name: &str,
    opts: &PullOptions,
    maps: &IdMaps,
    reporter: &dyn Reporter,
) -> Result<ImageRecord, Error> {
    let _ = (paths, store, name, opts, maps, reporter);
    Err(Error::Todo("pull"))
}

/// Finds a local image for `name`: an id or id prefix, a qualified name, or
/// a short name qualified through each search registry in order (then
/// `localhost/`).
pub fn find_local(paths: &Paths, store: &Store, name: &str) -> Result<Option<ImageRecord>, Error> {
    let _ = (paths, store, name);
    Err(Error::Todo("find_local"))
}
