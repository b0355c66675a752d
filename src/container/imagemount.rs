//! `image mount` / `image unmount`: an image's layers as a read-only
//! overlay, for scripts that look inside an image as the user.
//!
//! As with Podman, this only works inside a user namespace where the user
//! is root and owns a mount namespace (a shell started with
//! `unshare --map-auto --map-root-user --mount`): the mount lives as long
//! as that namespace. Outside one the caller gets a clear refusal. The
//! overlay's scratch upper and work directories and its mount point are
//! under `ROOT/image-mounts/HEX/`.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::runtime::overlay::{self, RootDirs};
use crate::storage::{ContainerDirs, ImageRecord, Store};

/// What went wrong mounting or unmounting an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("mounting needs to run as root in a user namespace")]
    NotInUserns,
    #[error("creating {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("mounting {id} on {path}")]
    Mount {
        id: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unmounting {path}")]
    Unmount {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::NotInUserns => Some(
                "run it under `hutch unshare` (for example `hutch unshare sh -c 'cd $(hutch mount NAME) && ...'`), as Podman needs `podman unshare`; the mount lasts as long as that command"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// Whether this process is root in a user namespace other than the
/// initial one, by `uid_map` (under `proc`).
pub fn is_root_in_userns(proc: &Path) -> bool {
    let map = std::fs::read_to_string(proc.join("self/uid_map")).unwrap_or_default();
    let is_initial =
        map.split_whitespace().collect::<Vec<_>>().as_slice() == ["0", "0", "4294967295"];
    nix::unistd::geteuid().is_root() && !is_initial
}

pub(super) fn dirs_of(store: &Store, img: &ImageRecord) -> ContainerDirs {
    let dir = store.root().join("image-mounts").join(img.id.hex());
    ContainerDirs {
        upper: dir.join("upper"),
        work: dir.join("work"),
        merged: dir.join("merged"),
        dir,
    }
}

/// Mounts `img` read-only and returns the mount point.
pub fn mount_image(store: &Store, img: &ImageRecord, proc: &Path) -> Result<PathBuf, Error> {
    if !is_root_in_userns(proc) {
        return Err(Error::NotInUserns);
    }
    let dirs = dirs_of(store, img);
    for d in [&dirs.upper, &dirs.work, &dirs.merged] {
        std::fs::create_dir_all(d).map_err(|source| Error::CreateDir {
            path: d.clone(),
            source,
        })?;
    }
    let lowers: Vec<PathBuf> = img
        .layers
        .iter()
        .rev()
        .map(|l| store.layer_path(&l.diff_id))
        .collect();
    let err = |source| Error::Mount {
        id: img.id.short().to_string(),
        path: dirs.merged.clone(),
        source,
    };
    RootDirs::open(&lowers, &dirs)
        .and_then(|open| overlay::mount_rootfs(&open))
        .map_err(|f| err(std::io::Error::from_raw_os_error(f.errno)))?;
    // Read-only, as `podman image mount` gives it.
    mount(
        None::<&str>,
        &dirs.merged,
        None::<&str>,
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY,
        None::<&str>,
    )
    .map_err(|e| err(e.into()))?;
    Ok(dirs.merged)
}

/// Unmounts `img` and removes its scratch directories.
pub fn unmount_image(store: &Store, img: &ImageRecord, proc: &Path) -> Result<(), Error> {
    if !is_root_in_userns(proc) {
        return Err(Error::NotInUserns);
    }
    let dirs = dirs_of(store, img);
    match umount2(&dirs.merged, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
        Err(source) => {
            return Err(Error::Unmount {
                path: dirs.merged,
                source,
            })
        }
    }
    // As root of the namespace, the scratch files are ours to delete.
    let _ = std::fs::remove_dir_all(&dirs.dir);
    Ok(())
}
