//! A container's files: `cp` in and out, `diff` against its image, and
//! `commit` of its changes as a new image layer; a volume's files as a
//! tar (`volume export`, `volume import`); `image diff` of images' layers.
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
pub mod build;
mod change;
mod commit;
mod copy;
mod diff;
mod enter;
mod export;
mod imagediff;
mod mountpoints;
mod squash;
pub mod squashfs;
mod statpath;
mod stream;
mod volume;

pub use change::ChangeError;
pub use commit::{
    layer_from_tar, layer_from_upper, normalize_name, put_built_image, BuiltImage, CommitOptions,
};
pub use copy::{CopyOptions, Location};
pub use diff::Change;
pub use imagediff::image_diff;
pub use squash::{retime_layer, squash_layers};
pub use statpath::{stat_path, PathStat};
pub use stream::unpack_context;

use std::path::PathBuf;

use crate::storage::{ChildError, ContainerDirs, ContainerInfo, Digest, Store};
use crate::userns::IdMaps;

/// What went wrong copying, diffing or committing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store failed.
    #[error(transparent)]
    Store(crate::storage::Error),
    /// Neither side of `cp` is `CONTAINER:PATH`.
    #[error("one of the source and destination must be CONTAINER:PATH")]
    NoContainerSide,
    /// The input of `cp -` or `volume import` is not a tar.
    #[error("the input is not a (compressed) tar archive")]
    NotATar,
    /// Reading the input archive.
    #[error("reading the archive")]
    ReadInput(#[source] std::io::Error),
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
    /// `commit --format docker` of an image with zstd layers.
    #[error("the docker manifest format cannot carry the image's zstd layers")]
    DockerZstd,
    /// Gathering the sources of a build's `COPY` or `ADD`: the source
    /// and what is wrong with it.
    #[error("{0}")]
    Gather(String),
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Store(e) => e.hint(),
            Error::NoContainerSide => Some("write the container side as CONTAINER:PATH".into()),
            Error::Maps(e) => e.hint(),
            Error::NotATar => Some("give a tar archive, plain or compressed with gzip, zstd, bzip2 or xz".into()),
            Error::InvalidChange { .. } => Some(
                "supported: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE in Dockerfile syntax"
                    .into(),
            ),
            _ => None,
        }
    }
}

impl From<crate::storage::Error> for Error {
    fn from(e: crate::storage::Error) -> Error {
        Error::Store(e)
    }
}

/// Copies `src` on the host into container `layout` at `dst` (`hutch cp
/// SRC CONTAINER:DST`). Must be called single-threaded.
pub fn copy_in(
    layout: Layout,
    src: &std::path::Path,
    dst: &str,
    opts: CopyOptions,
) -> Result<(), Error> {
    copy::copy_in_container(layout, src, dst, opts)
}

/// Copies `src` in container `layout` to `dst` on the host (`hutch cp
/// CONTAINER:SRC DST`); the copies belong to the invoking user. Must be
/// called single-threaded.
pub fn copy_out(
    layout: Layout,
    src: &str,
    dst: &std::path::Path,
    opts: CopyOptions,
) -> Result<(), Error> {
    copy::copy_out_of_container(layout, src, dst, opts)
}

/// Extracts the tar stream `input` (plain, gzip or zstd) into the
/// existing directory `dst` of container `layout` (`hutch cp -
/// CONTAINER:DST`). Must be called single-threaded.
pub fn copy_from_stream(
    layout: Layout,
    input: &mut dyn std::io::Read,
    dst: &str,
    opts: CopyOptions,
) -> Result<(), Error> {
    stream::copy_from_stream(layout, input, dst, opts)
}

/// Writes `src` of container `layout` to `out` as a tar stream (`hutch cp
/// CONTAINER:SRC -`). Must be called single-threaded.
pub fn copy_to_stream(
    layout: Layout,
    src: &str,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    stream::copy_to_stream(layout, src, out)
}

/// Copies `src` of container `from` to `dst` of container `to` (`hutch cp
/// A:SRC B:DST`; the two may be one container). Must be called
/// single-threaded.
pub fn copy_between(
    from: Layout,
    src: &str,
    to: Layout,
    dst: &str,
    opts: CopyOptions,
) -> Result<(), Error> {
    stream::copy_between(from, src, to, dst, opts)
}

/// Writes the files of the volume whose data directory is `data` to `out`
/// as a tar (`hutch volume export`), read as root in a user namespace with
/// `maps`. Must be called single-threaded.
pub fn export_volume(
    data: &std::path::Path,
    maps: &IdMaps,
    out: &mut dyn std::io::Write,
) -> Result<(), Error> {
    volume::export_volume(data, maps, out)
}

/// Extracts the tar stream `input` (plain, gzip or zstd) into the volume
/// whose data directory is `data` (`hutch volume import`), as root in a
/// user namespace with `maps`, keeping the archive's owners. Must be
/// called single-threaded.
pub fn import_volume(
    data: &std::path::Path,
    maps: &IdMaps,
    input: &mut dyn std::io::Read,
) -> Result<(), Error> {
    volume::import_volume(data, maps, input)
}

/// Lists what container `layout` changed compared with its image, sorted
/// by path. Must be called single-threaded.
pub fn diff(layout: &Layout) -> Result<Vec<Change>, Error> {
    diff::diff(layout)
}

/// Commits container `layout`'s changes as a new image and returns its
/// id. Must be called single-threaded.
pub fn commit(store: &Store, layout: &Layout, opts: &CommitOptions) -> Result<Digest, Error> {
    commit::commit(store, layout, opts)
}

/// Writes container `layout`'s root filesystem to `out` as a tar (`hutch
/// export`). Must be called single-threaded.
pub fn export(layout: Layout, out: &mut dyn std::io::Write) -> Result<(), Error> {
    export::export(layout, out)
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
/// directories and id maps; the engine finds them (`container::files`).
#[derive(Debug, Clone)]
pub struct Layout {
    /// The container's record and state.
    pub info: ContainerInfo,
    /// Unpacked image layers, top first.
    pub lowers: Vec<PathBuf>,
    /// The container's directories.
    pub dirs: ContainerDirs,
    /// The container's id maps.
    pub maps: IdMaps,
    /// Whether the container runs `--init` (its pid 1 is then not the
    /// process to enter).
    pub has_init: bool,
    /// The container's extra mounts: `cp` of a stopped container sees
    /// its bind mounts and volumes as a started one would.
    pub volumes: crate::runtime::volumes::Volumes,
    /// The container's working directory, against which `cp` resolves
    /// relative container paths.
    pub workdir: String,
    /// The container's `--user` (`user[:group]`, empty for root), whose
    /// ids `cp --archive` gives what it copies in.
    pub user: String,
}
