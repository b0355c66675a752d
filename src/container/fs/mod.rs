//! A container's files: `cp` in and out, `diff` against its image, and
//! `commit` of its changes as a new image layer.
//!
//! Files inside a container belong to subordinate ids and their paths are
//! hostile, so every look at them happens in a child that is root in the
//! container's user namespace: a stopped container's overlay is mounted in
//! a private mount namespace of that child, a running container's mount
//! namespace is joined with setns (never mounting its upper twice). Every
//! path inside the container is resolved beneath its root fd with openat2
//! `RESOLVE_IN_ROOT`, so a symlink to `/etc` means the container's /etc.
//! Archives cross between processes as tar streams over pipes and are
//! unpacked beneath a directory fd with the layer rules. It must not print.

mod archive;
mod change;
mod commit;
mod copy;
mod diff;
mod enter;
mod export;

pub use change::ChangeError;
pub use commit::CommitOptions;
pub use copy::Location;
pub use diff::Change;

use std::path::PathBuf;

use crate::storage::{ChildError, ContainerDirs, ContainerInfo, Digest, Store};
use crate::userns::IdMaps;

/// What went wrong copying, diffing or committing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Finding or reading the container.
    #[error(transparent)]
    Container(Box<super::Error>),
    /// The store failed.
    #[error(transparent)]
    Store(crate::storage::Error),
    /// Neither side of `cp` is `CONTAINER:PATH`.
    #[error("one of the source and destination must be CONTAINER:PATH")]
    NoContainerSide,
    /// Both sides of `cp` are in containers.
    #[error("copying between containers is not supported")]
    BothContainers,
    /// Opening a path on the host.
    #[error("opening {path}")]
    OpenHost {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A directory cannot replace a file.
    #[error("cannot copy directory {src:?} onto file {dst:?}")]
    DirOntoFile { src: String, dst: String },
    /// The destination names a directory that does not exist.
    #[error("destination directory {0:?} does not exist")]
    NoDestDir(String),
    /// Opening a namespace of the running container.
    #[error("opening {path}")]
    OpenNamespace {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Creating a pipe to the helper process.
    #[error("creating a pipe")]
    Pipe(#[source] crate::userns::Error),
    /// Forking the helper process.
    #[error("creating the helper process")]
    Spawn(#[source] std::io::Error),
    /// Writing the id maps of the helper's user namespace.
    #[error("setting up the helper's user namespace")]
    Maps(#[source] crate::userns::Error),
    /// Waiting for the helper process.
    #[error("waiting for the helper process")]
    Wait(#[source] nix::Error),
    /// The helper process reported a failure of its step.
    #[error("{step}")]
    Child {
        step: &'static str,
        #[source]
        source: ChildError,
    },
    /// Archiving host files.
    #[error("archiving {path}")]
    Archive {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Sending or receiving the tar stream.
    #[error("streaming the archive")]
    Stream(#[source] std::io::Error),
    /// Unpacking onto the host.
    #[error("unpacking into {path}")]
    Unpack {
        path: PathBuf,
        #[source]
        source: crate::storage::commit::UnpackError,
    },
    /// Unpacking onto the host as root in a user namespace (`cp -a`).
    #[error("unpacking into {path} in the user namespace")]
    UnpackInUserns {
        path: PathBuf,
        #[source]
        source: crate::userns::Error,
    },
    /// A `--change` instruction.
    #[error("invalid change {change:?}")]
    InvalidChange {
        change: String,
        #[source]
        source: ChangeError,
    },
    /// The name to commit to.
    #[error("invalid image name {0:?}")]
    InvalidImageName(String),
    /// The container's image is gone from the store.
    #[error("image {0} of the container is not in the store")]
    ImageMissing(Digest),
    /// The image config does not parse as a JSON object.
    #[error("reading the config of image {id}")]
    ConfigCorrupt {
        id: Digest,
        #[source]
        source: serde_json::Error,
    },
    /// Writing the layer blob.
    #[error("compressing the layer")]
    Compress(#[source] std::io::Error),
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Container(e) => e.hint(),
            Error::Store(e) => e.hint(),
            Error::NoContainerSide => Some("write the container side as CONTAINER:PATH".into()),
            Error::Maps(e) | Error::UnpackInUserns { source: e, .. } => e.hint(),
            Error::InvalidChange { .. } => Some(
                "supported: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE in Dockerfile syntax"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl From<super::Error> for Error {
    fn from(e: super::Error) -> Error {
        Error::Container(Box::new(e))
    }
}

impl From<crate::storage::Error> for Error {
    fn from(e: crate::storage::Error) -> Error {
        Error::Store(e)
    }
}

/// Copies between the host and a container (`hutch cp`); `is_archive`
/// keeps the container's ownership on the host (`-a`); `maps` serve
/// containers without a start spec. Must be called single-threaded.
pub fn copy(
    store: &Store,
    src: &Location,
    dst: &Location,
    is_archive: bool,
    maps: &IdMaps,
) -> Result<(), Error> {
    copy::copy(store, src, dst, is_archive, maps)
}

/// Lists what container `name` changed compared with its image, sorted by
/// path; `maps` serve containers without a start spec. Must be called
/// single-threaded.
pub fn diff(store: &Store, name: &str, maps: &IdMaps) -> Result<Vec<Change>, Error> {
    diff::diff(store, name, maps)
}

/// Commits container `name`'s changes as a new image and returns its id;
/// `maps` serve containers without a start spec. Must be called
/// single-threaded.
pub fn commit(
    store: &Store,
    name: &str,
    opts: &CommitOptions,
    maps: &IdMaps,
) -> Result<Digest, Error> {
    commit::commit(store, name, opts, maps)
}

/// Writes container `name`'s root filesystem to `out` as a tar (`hutch
/// export`); `maps` serve containers without a start spec. Must be called
/// single-threaded.
pub fn export(
    store: &Store,
    name: &str,
    out: &mut dyn std::io::Write,
    maps: &IdMaps,
) -> Result<(), Error> {
    export::export(store, name, out, maps)
}

/// Applies `--change` instructions to the `config` object of an image
/// config (`hutch import`).
pub fn apply_changes(
    config: &mut serde_json::Map<String, serde_json::Value>,
    changes: &[String],
) -> Result<(), Error> {
    for c in changes {
        let ins = change::parse(c).map_err(|source| Error::InvalidChange {
            change: c.clone(),
            source,
        })?;
        change::apply(config, &ins);
    }
    Ok(())
}

/// Where a container's files are: its record, overlay lowers (top first),
/// directories and id maps.
struct Layout {
    info: ContainerInfo,
    lowers: Vec<PathBuf>,
    dirs: ContainerDirs,
    maps: IdMaps,
}

/// Finds container `name` and its layout: from its start spec, or, for a
/// container run in the foreground (no spec), from its image's layers and
/// `maps`.
fn layout(store: &Store, name: &str, maps: &IdMaps) -> Result<Layout, Error> {
    let proc = std::path::Path::new(super::PROC);
    let info = super::lifecycle::find(store, name, proc)?;
    if info.spec.is_some() {
        let plan = super::lifecycle::plan_of(&info)?;
        return Ok(Layout {
            info,
            lowers: plan.lowers,
            dirs: plan.dirs,
            maps: plan.maps,
        });
    }
    let image = store
        .find_image(&info.record.image_id.to_string())?
        .ok_or_else(|| Error::ImageMissing(info.record.image_id.clone()))?;
    let lowers = image
        .layers
        .iter()
        .rev()
        .map(|l| store.layer_path(&l.diff_id))
        .collect();
    Ok(Layout {
        dirs: store.container_dirs(&info.record.id),
        lowers,
        maps: maps.clone(),
        info,
    })
}
