//! Confining the container's view of the kernel: masking and freezing
//! paths of /proc and /sys, and with `--read-only` the scratch tmpfs and a
//! read-only root. Every path is opened beneath the root without following
//! symlinks before anything is mounted on it.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::MsFlags;

use super::mounts;
use super::report::Failure;
use super::security::{self, Security};
use crate::sys::fs::{openat2, proc_fd_path, Resolve};

/// With `--read-only` (and its scratch tmpfs), mounts a tmpfs on /run,
/// /tmp and /var/tmp beneath `root` and binds `containerenv` (the
/// container's .containerenv, when the parent wrote one) into the new
/// /run. Done before the user's mounts, so that a volume below one of them
/// (`-v x:/run/creds`) lands on the tmpfs instead of being hidden by it.
pub fn mount_scratch(
    root: BorrowedFd<'_>,
    sec: &Security,
    containerenv: Option<BorrowedFd<'_>>,
) -> Result<(), Failure> {
    if !(sec.read_only && sec.read_only_tmpfs) {
        return Ok(());
    }
    for dir in security::READ_ONLY_TMPFS_DIRS {
        let target = mounts::ensure_dir(root, dir.trim_start_matches('/'))?;
        let mode = if dir == "/run" {
            "mode=755"
        } else {
            "mode=1777"
        };
        nix::mount::mount(
            Some("tmpfs"),
            &proc_fd_path(target.as_fd()),
            Some("tmpfs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(mode),
        )
        .map_err(|e| Failure::step(format!("mounting a tmpfs on {dir}"), e))?;
    }
    // The tmpfs on /run covers /run/.containerenv: bind it again.
    if let Some(file) = containerenv {
        mounts::bind_etc_file(root, file, mounts::CONTAINER_ENV.1)?;
    }
    Ok(())
}

/// Masks and freezes `sec`'s paths beneath `root`, and with
/// `sec.read_only` remounts the root read-only.
pub fn confine_paths(root: BorrowedFd<'_>, sec: &Security) -> Result<(), Failure> {
    for path in &sec.masked_paths {
        if let Some(target) = open_confined(root, path)? {
            mask_path(target.as_fd(), path)?;
        }
    }
    for path in &sec.readonly_paths {
        if let Some(target) = open_confined(root, path)? {
            freeze_path(root, target.as_fd(), path)?;
        }
    }
    if sec.read_only {
        remount_read_only(root, "/")?;
    }
    Ok(())
}

/// Opens `path` (absolute in the container) beneath `root` without
/// following any symlink, so a path the image swapped for a link is never
/// mounted over; `None` when it does not exist.
pub fn open_confined(root: BorrowedFd<'_>, path: &str) -> Result<Option<OwnedFd>, Failure> {
    match openat2(
        root,
        Path::new(path.trim_start_matches('/')),
        libc::O_PATH,
        0,
        Resolve::IN_ROOT | Resolve::NO_SYMLINKS,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(Failure::io(format!("opening {path} in the container"), &e)),
    }
}

/// Hides `target`: an empty read-only tmpfs over a directory, /dev/null
/// over anything else.
fn mask_path(target: BorrowedFd<'_>, path: &str) -> Result<(), Failure> {
    let stat = nix::sys::stat::fstat(target)
        .map_err(|e| Failure::step(format!("inspecting {path}"), e))?;
    let at = proc_fd_path(target);
    let is_dir = stat.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let result = if is_dir {
        nix::mount::mount(
            Some("tmpfs"),
            &at,
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=0"),
        )
    } else {
        nix::mount::mount(
            Some("/dev/null"),
            &at,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    result.map_err(|e| Failure::step(format!("masking {path}"), e))
}

/// Makes `target` read-only: a bind mount onto itself, then a remount.
fn freeze_path(root: BorrowedFd<'_>, target: BorrowedFd<'_>, path: &str) -> Result<(), Failure> {
    let at = proc_fd_path(target);
    nix::mount::mount(
        Some(&at),
        &at,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Failure::step(format!("bind-mounting {path} onto itself"), e))?;
    remount_read_only(root, path)
}

/// Remounts the mount at `path` beneath `root` read-only. Reopened, since
/// an fd from before a bind mount names the mount underneath; the flags it
/// already has are kept, as a user namespace may not clear locked ones.
fn remount_read_only(root: BorrowedFd<'_>, path: &str) -> Result<(), Failure> {
    let rel = path.trim_start_matches('/');
    let target = if rel.is_empty() {
        openat2(root, Path::new("."), libc::O_PATH, 0, Resolve::BENEATH)
            .map_err(|e| Failure::io("reopening /", &e))?
    } else {
        open_confined(root, path)?
            .ok_or_else(|| Failure::step(format!("reopening {path}"), Errno::ENOENT))?
    };
    mounts::remount_adding(target.as_fd(), MsFlags::MS_RDONLY, path, || {
        format!("making {path} read-only")
    })
}
