//! Containers whose root is not an image of the store (issue #18):
//! `--rootfs DIR`, `--rootfs DIR:O`, `--rootfs FILE.sqfs` and `run
//! ./FILE.sqfs`. Found here before the image lookup, each becomes an image
//! record that exists only in memory (no layers, the squashfs file's
//! config or none, `Digest::no_image` as its id), so the rest of `create`
//! is the same; the plan's `rootfs` tells the runtime where the files are.
//! Nothing is unpacked and nothing is written to the store but the
//! container's own directory.

use std::path::{Path, PathBuf};

mod save;

use super::CreateRequest;
use crate::image::squashfs;
use crate::runtime::rootfs::Rootfs;
use crate::storage::{Digest, ImageRecord};

/// What is wrong with a `--rootfs` source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("--rootfs {path}")]
    Resolve {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--rootfs {path} is neither a directory nor a squashfs file")]
    NotRoot { path: PathBuf },
    #[error(transparent)]
    Squashfs(#[from] squashfs::Error),
    #[error("saving the squashfs file: {path}")]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("container {name} has no image (its root is {path}): {what} needs one")]
    NoImage {
        name: String,
        path: PathBuf,
        what: &'static str,
    },
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Squashfs(e) => e.hint(),
            Error::NoImage { .. } => Some(
                "start the container and use `hutch cp` or `hutch export` while it runs, or work on the --rootfs source itself".into(),
            ),
            _ => None,
        }
    }
}

/// A root found for a request: where it is and its in-memory image.
#[derive(Debug)]
pub(super) struct Source {
    /// For the plan.
    pub rootfs: Rootfs,
    /// Stands in for the image record.
    pub record: ImageRecord,
}

/// The root `req` names instead of an image, if any: with `--rootfs`, its
/// image argument (`DIR`, `DIR:O` or a squashfs file); without, an image
/// argument that is a path (`./app.sqfs`, `/lustre/app.sqfs`, `x.sqfs`) to
/// an existing squashfs file.
pub(super) fn source_of(req: &CreateRequest) -> Result<Option<Source>, Error> {
    if req.rootfs {
        let (path, is_overlay) = match req.image.strip_suffix(":O") {
            Some(p) => (p, true),
            None => (req.image.as_str(), false),
        };
        return resolve(Path::new(path), is_overlay).map(Some);
    }
    if !looks_like_path(&req.image) {
        return Ok(None);
    }
    let path = Path::new(&req.image);
    if req.image.ends_with(".sqfs") && !path.exists() && !req.image.contains('/') {
        // `x.sqfs` may yet be an image name; the lookup says what is wrong.
        return Ok(None);
    }
    resolve(path, false).map(Some)
}

/// Whether an image argument names a file rather than an image: Podman's
/// references never start with `/` or `.`.
fn looks_like_path(image: &str) -> bool {
    image.starts_with('/')
        || image.starts_with("./")
        || image.starts_with("../")
        || image.ends_with(".sqfs")
}

/// Resolves `path` (absolute, without symlinks) into a root.
fn resolve(path: &Path, is_overlay: bool) -> Result<Source, Error> {
    let real = std::fs::canonicalize(path).map_err(|source| Error::Resolve {
        path: path.to_path_buf(),
        source,
    })?;
    let (rootfs, config) = if real.is_dir() {
        let rootfs = if is_overlay {
            Rootfs::Overlay { path: real }
        } else {
            Rootfs::Dir { path: real }
        };
        (rootfs, None)
    } else if real.is_file() && squashfs::is_squashfs(&real) {
        let config = squashfs::read_config(&real)?;
        (Rootfs::Squashfs { path: real }, config)
    } else if real.is_file() {
        // A truncated or foreign file: the reader names what is wrong.
        squashfs::read_config(&real)?;
        return Err(Error::NotRoot { path: real });
    } else {
        return Err(Error::NotRoot { path: real });
    };
    Ok(Source {
        rootfs,
        record: in_memory_record(config),
    })
}

/// An image record for a root with `config` (the OCI image config JSON),
/// or an empty one.
fn in_memory_record(config: Option<Vec<u8>>) -> ImageRecord {
    let config = config.unwrap_or_else(|| {
        serde_json::json!({
            "os": "linux",
            "architecture": crate::image::Platform::host().architecture,
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": []},
        })
        .to_string()
        .into_bytes()
    });
    let value: serde_json::Value = serde_json::from_slice(&config).unwrap_or_default();
    let text = |k: &str| value[k].as_str().map(str::to_string);
    ImageRecord {
        id: Digest::no_image(),
        names: Vec::new(),
        manifest_digest: Digest::no_image(),
        os: text("os").unwrap_or_else(|| "linux".into()),
        architecture: text("architecture").unwrap_or_default(),
        variant: text("variant"),
        created: text("created"),
        config,
        layers: Vec::new(),
        size: 0,
    }
}

/// Refuses `what` (commit, or a stopped container's files) for a
/// container whose root is `rootfs`.
pub(super) fn refuse(name: &str, rootfs: &Rootfs, what: &'static str) -> Error {
    Error::NoImage {
        name: name.to_string(),
        path: rootfs.path().to_path_buf(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(image: &str, rootfs: bool) -> CreateRequest {
        CreateRequest {
            image: image.into(),
            rootfs,
            ..CreateRequest::default()
        }
    }

    #[test]
    fn image_names_are_not_roots() {
        for name in [
            "busybox",
            "localhost:5000/app:1",
            "docker.io/library/alpine",
        ] {
            assert!(source_of(&req(name, false)).unwrap().is_none(), "{name}");
        }
        // An unknown `x.sqfs` is left to the image lookup.
        assert!(source_of(&req("nothere.sqfs", false)).unwrap().is_none());
    }

    #[test]
    fn a_directory_is_a_root_in_place_or_under_an_overlay() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_str().unwrap();
        let real = std::fs::canonicalize(tmp.path()).unwrap();
        let s = source_of(&req(dir, true)).unwrap().unwrap();
        assert_eq!(s.rootfs, Rootfs::Dir { path: real.clone() });
        assert!(s.record.id.is_no_image());
        assert!(s.record.layers.is_empty());
        let s = source_of(&req(&format!("{dir}:O"), true)).unwrap().unwrap();
        assert_eq!(s.rootfs, Rootfs::Overlay { path: real });
    }

    #[test]
    fn a_missing_or_foreign_path_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let missing = tmp.path().join("gone.sqfs");
        let err = source_of(&req(missing.to_str().unwrap(), false)).unwrap_err();
        assert!(matches!(err, Error::Resolve { .. }), "{err}");
        let script = tmp.path().join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let err = source_of(&req(script.to_str().unwrap(), true)).unwrap_err();
        assert!(matches!(err, Error::Squashfs(_)), "{err}");
    }
}
