//! A container root that is not an image's layers (issue #18): `--rootfs
//! DIR` (the directory itself, written in place, as Podman does),
//! `--rootfs DIR:O` (the directory as the overlay's read-only lower) and a
//! squashfs file (`--rootfs FILE.sqfs`, `run ./FILE.sqfs`), which
//! squashfuse serves inside the container's user namespace as the
//! overlay's lower, with the upper in the container's own directory.
//!
//! squashfuse is started as fuse-overlayfs is (see `overlay`): the FUSE
//! mount is made here, on a `/dev/fuse` fd it inherits and serves
//! (`/dev/fd/N` as its mount point), and it reads the file through an
//! inherited fd (`/dev/fd/M`), so it walks no path of the private store or
//! of the user's home. It runs in a mount namespace of its own, so the
//! container's `pivot_root` does not move its root, and in the container's
//! pid namespace, so it ends with the container.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::overlay::{RootDirs, Source};
use super::report::{Failure, Kind};
use crate::sys::mount::{clone_tree, move_mount_onto};

/// The name of the directory in the container directory that squashfuse's
/// mount is attached onto (in the container's mount namespace only).
pub const SQUASHFS_MOUNTPOINT: &str = "rootfs";

/// Where a `--rootfs` container's files come from; stored in its plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Rootfs {
    /// `--rootfs DIR`: the directory is the root, written in place.
    Dir {
        /// The directory, absolute and without symlinks.
        path: PathBuf,
    },
    /// `--rootfs DIR:O`: the directory is the overlay's read-only lower.
    Overlay {
        /// The directory, absolute and without symlinks.
        path: PathBuf,
    },
    /// A squashfs file, mounted by squashfuse as the overlay's lower.
    Squashfs {
        /// The file, absolute and without symlinks.
        path: PathBuf,
    },
}

impl Rootfs {
    /// The directory or file the root comes from.
    pub fn path(&self) -> &Path {
        match self {
            Rootfs::Dir { path } | Rootfs::Overlay { path } | Rootfs::Squashfs { path } => path,
        }
    }

    /// Whether the source is still there, of the kind it was (checked
    /// before each start, for a clear error rather than a failed mount).
    pub fn is_present(&self) -> bool {
        match self {
            Rootfs::Dir { path } | Rootfs::Overlay { path } => path.is_dir(),
            Rootfs::Squashfs { path } => path.is_file(),
        }
    }
}

/// Opens the squashfs file `path` and the mount point beneath the
/// container directory `scratch` (made if missing), as whoever runs this.
pub(super) fn open_squashfs(path: &Path, scratch: BorrowedFd<'_>) -> Result<Source, Failure> {
    let file = nix::fcntl::open(path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| Failure::step(format!("opening {}", path.display()), e))?;
    let made = nix::sys::stat::mkdirat(
        scratch,
        SQUASHFS_MOUNTPOINT,
        Mode::from_bits_truncate(0o700),
    );
    if let Err(e) = made.or_else(|e| match e {
        nix::errno::Errno::EEXIST => Ok(()),
        e => Err(e),
    }) {
        return Err(Failure::step(
            format!("creating the container's {SQUASHFS_MOUNTPOINT} directory"),
            e,
        ));
    }
    let mountpoint = nix::fcntl::openat(
        scratch,
        SQUASHFS_MOUNTPOINT,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| {
        Failure::step(
            format!("opening the container's {SQUASHFS_MOUNTPOINT} directory"),
            e,
        )
    })?;
    Ok(Source::Squashfs { file, mountpoint })
}

/// `--rootfs DIR`: a recursive bind of the directory, attached onto
/// `merged`; returns the mount, whose fd is the container's root.
pub(super) fn bind_root(dirs: &RootDirs) -> Result<OwnedFd, Failure> {
    let Some(dir) = dirs.lowers.first() else {
        return Err(Failure::text("a --rootfs directory was not opened"));
    };
    let tree =
        clone_tree(dir.as_fd()).map_err(|e| Failure::io("binding the --rootfs directory", &e))?;
    move_mount_onto(tree.as_fd(), dirs.merged.as_fd())
        .map_err(|e| Failure::io("attaching the --rootfs directory", &e))?;
    Ok(tree)
}

/// Mounts the squashfs `file` with squashfuse onto `mountpoint` (see the
/// module's comment); returns the mount, open.
pub(super) fn mount_squashfs(
    file: BorrowedFd<'_>,
    mountpoint: BorrowedFd<'_>,
) -> Result<OwnedFd, Failure> {
    // Neither is close-on-exec: squashfuse reads the one and serves the
    // other.
    let device = nix::fcntl::open("/dev/fuse", OFlag::O_RDWR, Mode::empty())
        .map_err(|e| Failure::step("opening /dev/fuse", e))?;
    let image = file
        .try_clone_to_owned()
        .map_err(|e| Failure::io("passing the squashfs file to squashfuse", &e))?;
    nix::fcntl::fcntl(
        &image,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .map_err(|e| Failure::step("passing the squashfs file to squashfuse", e))?;
    let mnt = super::overlay::fuse_mount(device.as_fd(), "squashfuse")
        .map_err(|e| Failure::io("mounting a FUSE filesystem for squashfuse", &e))?;
    let mut cmd = std::process::Command::new("squashfuse");
    cmd.arg(format!("/dev/fd/{}", image.as_raw_fd()))
        .arg(format!("/dev/fd/{}", device.as_raw_fd()))
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    crate::sys::spawn::in_own_mount_namespace(&mut cmd);
    let out = match cmd.output() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Failure::text(
                "mounting the squashfs root: squashfuse is not installed",
            ))
        }
        Err(e) => return Err(Failure::io("running squashfuse", &e)),
        Ok(out) => out,
    };
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stderr);
        let said = said.lines().last().unwrap_or_default().trim();
        return Err(Failure {
            kind: Kind::Setup,
            errno: 0,
            text: format!(
                "mounting the squashfs root: squashfuse failed ({}){}",
                out.status,
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            ),
        });
    }
    drop(image);
    drop(device);
    move_mount_onto(mnt.as_fd(), mountpoint)
        .map_err(|e| Failure::io("attaching the squashfuse mount", &e))?;
    Ok(mnt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootfs_is_stored_with_its_kind() {
        let r = Rootfs::Squashfs {
            path: "/lustre/app.sqfs".into(),
        };
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"kind":"squashfs","path":"/lustre/app.sqfs"}"#);
        assert_eq!(serde_json::from_str::<Rootfs>(&text).unwrap(), r);
        assert_eq!(r.path(), Path::new("/lustre/app.sqfs"));
    }

    #[test]
    fn a_missing_source_is_not_present() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Rootfs::Dir {
            path: tmp.path().into(),
        };
        assert!(dir.is_present());
        let file = Rootfs::Squashfs {
            path: tmp.path().into(),
        };
        assert!(!file.is_present(), "a directory is no squashfs file");
    }
}
