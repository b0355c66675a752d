//! Probing which overlay implementation works, for `hutch info` and
//! `hutch doctor`.

use std::path::{Path, PathBuf};

use nix::mount::{umount2, MntFlags};
use nix::sched::CloneFlags;

use super::mounts;
use super::overlay::{self, Mounted, RootDirs};
use super::{Error, OverlayKind};
use crate::storage::ContainerDirs;
use crate::userns::IdMaps;

/// What each overlay implementation did with a tiny overlay on the store,
/// in a user namespace: `Ok`, or the failing step's text.
#[derive(Debug)]
pub struct OverlayProbe {
    /// Kernel overlayfs with `userxattr`.
    pub kernel: Result<(), String>,
    /// fuse-overlayfs.
    pub fuse: Result<(), String>,
}

/// Finds out which overlay works for a store at `store_root`, by mounting a
/// throwaway one in a user namespace. Must be called single-threaded.
pub fn probe_overlay(store_root: &Path, maps: &IdMaps) -> Result<OverlayKind, Error> {
    in_probe_dirs(store_root, "any", |lower, dirs| {
        mount_probe(lower, dirs, maps)
    })
}

/// Tries kernel overlayfs and fuse-overlayfs each on its own, each in a
/// throwaway user and mount namespace with `maps`. Must be called
/// single-threaded.
pub fn probe_each_overlay(store_root: &Path, maps: &IdMaps) -> OverlayProbe {
    let kernel = in_probe_dirs(store_root, "kernel", |lower, dirs| {
        let lowers = vec![lower.to_path_buf()];
        crate::userns::run_as_root(maps, CloneFlags::CLONE_NEWNS, || {
            mounts::make_root_rslave()
                .map_err(|e| format!("making / a recursive slave mount: {e}"))?;
            let dirs = RootDirs::open(&lowers, dirs).map_err(|f| f.text)?;
            overlay::mount_kernel_overlay(&dirs)
                .map(drop)
                .map_err(|e| format!("mounting overlayfs with userxattr: {e}"))
        })
        .map_err(Error::NoOverlay)
    });
    let fuse = in_probe_dirs(store_root, "fuse", |lower, dirs| {
        let lowers = vec![lower.to_path_buf()];
        crate::userns::run_as_root(maps, CloneFlags::CLONE_NEWNS, || {
            mounts::make_root_rslave()
                .map_err(|e| format!("making / a recursive slave mount: {e}"))?;
            let dirs_open = RootDirs::open(&lowers, dirs).map_err(|f| f.text)?;
            overlay::mount_fuse_only(&dirs_open).map_err(|f| f.text)?;
            // Unmounting ends the fuse-overlayfs daemon.
            let _ = umount2(&dirs.merged, MntFlags::MNT_DETACH);
            Ok(())
        })
        .map_err(Error::NoOverlay)
    });
    // Each probe tries one kind: `NoOverlay`'s "neither mounted" is not
    // what it found, only its cause is.
    let text = |r: Result<(), Error>| {
        r.map_err(|e| match e {
            Error::NoOverlay(cause) => crate::error::render_chain(&cause),
            other => crate::error::render_chain(&other),
        })
    };
    OverlayProbe {
        kernel: text(kernel),
        fuse: text(fuse),
    }
}

/// Runs `probe` on fresh probe directories under the store's `tmp/`
/// (named for `what`), then removes them.
fn in_probe_dirs<T>(
    store_root: &Path,
    what: &str,
    probe: impl FnOnce(&Path, &ContainerDirs) -> Result<T, Error>,
) -> Result<T, Error> {
    // A write session keeps the debris sweep of another hutch away from
    // the probe's directories under `tmp/`.
    let _session = crate::storage::WriteSession::begin(store_root)
        .map_err(|e| log::debug!("starting a write session for the overlay probe: {e}"))
        .ok();
    let base = store_root
        .join("tmp")
        .join(format!("overlay-probe-{}-{what}", std::process::id()));
    let dirs = ContainerDirs {
        dir: base.clone(),
        upper: base.join("upper"),
        work: base.join("work"),
        merged: base.join("merged"),
    };
    let lower = base.join("lower");
    let result = create_dirs(&[&lower, &dirs.upper, &dirs.work, &dirs.merged])
        .and_then(|()| probe(&lower, &dirs));
    // The kernel leaves an empty work/work with mode 000 behind; it is ours,
    // but must be readable for remove_dir_all to list it.
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(
        dirs.work.join("work"),
        std::fs::Permissions::from_mode(0o700),
    );
    let _ = std::fs::remove_dir_all(&base);
    result
}

fn create_dirs(dirs: &[&PathBuf]) -> Result<(), Error> {
    for d in dirs {
        std::fs::create_dir_all(d).map_err(|source| Error::ProbeDirs {
            path: d.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

fn mount_probe(lower: &Path, dirs: &ContainerDirs, maps: &IdMaps) -> Result<OverlayKind, Error> {
    // The mount lives in a throwaway mount namespace, gone when the child
    // exits; the exit code carries which overlay worked.
    let lowers = vec![lower.to_path_buf()];
    let mut kind = OverlayKind::Kernel;
    let open = || RootDirs::open(&lowers, dirs).map_err(|f| f.text);
    if !overlay::is_fuse_forced() {
        let kernel = crate::userns::run_as_root(maps, CloneFlags::CLONE_NEWNS, || {
            mounts::make_root_rslave()
                .map_err(|e| format!("making / a recursive slave mount: {e}"))?;
            overlay::mount_kernel_overlay(&open()?)
                .map(drop)
                .map_err(|e| format!("mounting overlayfs: {e}"))
        });
        if kernel.is_ok() {
            return Ok(kind);
        }
    }
    kind = OverlayKind::Fuse;
    crate::userns::run_as_root(maps, CloneFlags::CLONE_NEWNS, || {
        mounts::make_root_rslave().map_err(|e| format!("making / a recursive slave mount: {e}"))?;
        match overlay::mount_rootfs(&open()?).map(|(kind, _)| kind) {
            Ok(Mounted::Fuse) => {
                // Unmounting ends the fuse-overlayfs daemon.
                let _ = umount2(&dirs.merged, MntFlags::MNT_DETACH);
                Ok(())
            }
            Ok(Mounted::Kernel) => Ok(()),
            Err(f) => Err(f.text),
        }
    })
    .map_err(Error::NoOverlay)?;
    Ok(kind)
}
