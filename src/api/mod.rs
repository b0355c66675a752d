//! Front ends that are not the CLI: `system service`, the Docker Engine
//! REST API (v1.41) and Podman's libpod API (4.3, for `podman --remote`)
//! on a unix socket (issue #17), and `kube` (issue #16),
//! which reads Kubernetes YAML into the engine's typed requests and writes
//! it from the engine's objects.
//!
//! Owns the socket and its access control (`listen`), HTTP on one
//! connection (`http`), and turning Docker's requests into the engine's
//! typed requests and its results into Docker's JSON (`docker`,
//! `convert`, `stream`, `objects`, `image`, `prune`, `events`), and
//! Podman's into the same (`libpod`, `libpod_containers`,
//! `libpod_specgen`). Every container is created through
//! `Engine::create` with the same `CreateRequest` the CLI builds; the
//! service never runs the hutch CLI.
//!
//! It must not reach below the engine (the store, the runtime, `sys`),
//! print, or create or start a container from a process with more than
//! one thread: each connection is served by its own single-threaded
//! process (see `listen`).

mod archive;
mod build;
mod convert;
mod docker;
mod events;
mod exec;
mod http;
mod image;
pub mod kube;
mod libpod;
mod libpod_containers;
mod libpod_specgen;
mod listen;
mod network;
mod objects;
mod prune;
pub mod specgen;
mod stats;
mod stream;
mod transfer;

use std::path::PathBuf;

pub use docker::serve_connection;
pub use listen::{parse_uri, run as listen, Options};

/// What went wrong running the service.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A URI that is neither `unix:///PATH` nor `tcp://HOST:PORT`.
    #[error("invalid service URI {0:?}: use unix:///PATH or tcp://HOST:PORT")]
    Uri(String),
    /// `tcp://` without `--allow-tcp`.
    #[error("refusing to serve on tcp://{0}: anyone who can reach it could run containers as you")]
    TcpRefused(String),
    /// Creating or binding the socket.
    #[error("binding {path}")]
    Bind {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another service answers on the socket.
    #[error("{0} is in use by another service")]
    InUse(PathBuf),
    /// Something other than a socket is at the path.
    #[error("{0} exists and is not a socket")]
    NotSocket(PathBuf),
    /// Waiting for or accepting connections.
    #[error("listening for connections")]
    Listen(#[source] std::io::Error),
    /// Re-executing from a sealed copy of hutch.
    #[error("sealing the service's copy of hutch")]
    Seal(#[source] crate::container::Error),
    /// The connection passed on standard input is unusable.
    #[error("serving the connection on standard input")]
    Connection(#[source] std::io::Error),
}

impl crate::error::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::TcpRefused(_) => Some(
                "use a unix socket, or add --allow-tcp if the port is reachable only by you".into(),
            ),
            Error::InUse(_) => Some("stop the other service, or give another unix:///PATH".into()),
            _ => None,
        }
    }
}
