//! The container's root filesystem: an overlay of its layers, mounted from
//! directory fds rather than paths.
//!
//! The store root is private to its user (0700), and so may be their home
//! directory. A container whose root is a subordinate id (`--userns=nomap`,
//! `--uidmap`) cannot walk those paths once its init has become that id, so
//! the init opens the overlay's directories (`RootDirs::open`) while it
//! still has the invoking user's identity, in its own new mount namespace:
//! overlayfs and bind mounts take only mounts of the caller's namespace,
//! which rules out fds opened by the parent before the clone.
//!
//! Kernel overlayfs gets `/proc/self/fd/N` for each directory: a magic link
//! is followed without checking the directories above its target. The
//! superblock is made with the new mount API and attached onto `merged`'s
//! fd, and the mount's fd is the container's root.
//!
//! fuse-overlayfs resolves its paths with realpath(3), which walks the
//! directories above a magic link's target again, so it gets plain paths
//! instead: the layers, and the directory holding the upper and work
//! directories (it moves files between those two, which rename(2) allows
//! only within one mount), are bind-mounted onto a private tmpfs laid over
//! `/tmp` in this mount namespace only (`STAGE`) while fuse-overlayfs
//! starts in a copy of the namespace, then the tmpfs goes, which gives
//! `/tmp` back (see `mount_fuse_overlay`). The container's root must be
//! able to search that directory (the store makes container directories
//! 0711; what holds them is private).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;

use super::report::{Failure, Kind};
use crate::storage::ContainerDirs;
use crate::sys::fs::proc_fd_path;
use crate::sys::mount::{
    fsconfig_create, fsconfig_flag, fsconfig_string, fsmount, fsopen, move_mount_onto,
    MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV,
};

/// The page size bounds a legacy filesystem's whole option string, which
/// the kernels before overlayfs took the new mount API (6.5) build from
/// every `fsconfig` string.
const MAX_MOUNT_DATA: usize = 4095;

/// Room in the option string for everything but `lowerdir`.
const OTHER_OPTIONS: usize = 128;

/// Where fuse-overlayfs's directories are bind-mounted for it: a fresh
/// tmpfs over this directory, in the setup's own mount namespace, for as
/// long as fuse-overlayfs takes to start. Every host has it, and nothing
/// the setup does meanwhile reaches through it.
const STAGE: &str = "/tmp";

/// The overlay's directories, open (`O_PATH`).
#[derive(Debug)]
pub struct RootDirs {
    /// The layers, top first.
    pub lowers: Vec<OwnedFd>,
    /// The container's upper directory.
    pub upper: OwnedFd,
    /// The overlay's work directory.
    pub work: OwnedFd,
    /// Where the root filesystem is mounted.
    pub merged: OwnedFd,
    /// The directory holding upper and work, with their names in it.
    pub scratch: Scratch,
    /// What the lower directories are (`--rootfs`, `run FILE.sqfs`).
    pub source: Source,
}

/// Where the container's files come from.
#[derive(Debug)]
pub enum Source {
    /// `lowers` are an image's layers (or a `--rootfs DIR:O` directory)
    /// under the overlay.
    Layers,
    /// `--rootfs DIR`: the one lower is bound as the root itself, and
    /// writes go into it, as Podman does.
    Dir,
    /// A squashfs file, mounted by squashfuse on `mountpoint` (in the
    /// container directory), becomes the one lower under the overlay.
    Squashfs {
        /// The file, open for reading.
        file: OwnedFd,
        /// The directory squashfuse's mount is attached onto.
        mountpoint: OwnedFd,
    },
}

/// The directory holding the upper and work directories, for
/// fuse-overlayfs.
#[derive(Debug)]
pub struct Scratch {
    /// The directory, open.
    pub dir: OwnedFd,
    /// The upper directory's name in it.
    pub upper: String,
    /// The work directory's name in it.
    pub work: String,
}

impl RootDirs {
    /// Opens `lowers` (top first) and `dirs`' upper, work and merged
    /// directories, as whoever runs this: call it before becoming an id
    /// that may not walk the store's paths.
    pub fn open(lowers: &[PathBuf], dirs: &ContainerDirs) -> Result<RootDirs, Failure> {
        let lowers = lowers
            .iter()
            .map(|l| open_dir(l))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RootDirs {
            lowers,
            upper: open_dir(&dirs.upper)?,
            work: open_dir(&dirs.work)?,
            merged: open_dir(&dirs.merged)?,
            scratch: Scratch::open(&dirs.upper, &dirs.work)?,
            source: Source::Layers,
        })
    }

    /// Opens the root's directories as `open` does, for a container whose
    /// root is `rootfs` rather than `lowers` when it has one.
    pub fn open_for(
        rootfs: Option<&super::rootfs::Rootfs>,
        lowers: &[PathBuf],
        dirs: &ContainerDirs,
    ) -> Result<RootDirs, Failure> {
        use super::rootfs::Rootfs;
        match rootfs {
            None => RootDirs::open(lowers, dirs),
            Some(Rootfs::Overlay { path }) => RootDirs::open(std::slice::from_ref(path), dirs),
            Some(Rootfs::Dir { path }) => {
                let mut open = RootDirs::open(std::slice::from_ref(path), dirs)?;
                open.source = Source::Dir;
                Ok(open)
            }
            Some(Rootfs::Squashfs { path }) => {
                let mut open = RootDirs::open(&[], dirs)?;
                open.source = super::rootfs::open_squashfs(path, open.scratch.dir.as_fd())?;
                Ok(open)
            }
        }
    }
}

impl Scratch {
    /// Opens the directory holding `upper` and `work`, which must be
    /// siblings, and lets others search it: the store makes container
    /// directories 0711, but one an older hutch made under a restrictive
    /// umask is 0700, which a container root that is not the user could
    /// not enter under fuse-overlayfs.
    fn open(upper: &Path, work: &Path) -> Result<Scratch, Failure> {
        let name = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned());
        match (upper.parent(), name(upper), name(work)) {
            (Some(parent), Some(u), Some(w)) if work.parent() == Some(parent) => {
                let dir = open_dir(parent)?;
                let st = nix::sys::stat::fstat(dir.as_fd())
                    .map_err(|e| Failure::step(format!("inspecting {}", parent.display()), e))?;
                if st.st_mode & 0o011 != 0o011 {
                    let mode = (st.st_mode & 0o7777) | 0o011;
                    std::fs::set_permissions(
                        proc_fd_path(dir.as_fd()),
                        std::fs::Permissions::from_mode(mode),
                    )
                    .map_err(|e| {
                        Failure::io(format!("letting others search {}", parent.display()), &e)
                    })?;
                }
                Ok(Scratch {
                    dir,
                    upper: u,
                    work: w,
                })
            }
            _ => Err(Failure::text(format!(
                "the overlay's upper and work directories {} and {} are not side by side",
                upper.display(),
                work.display()
            ))),
        }
    }
}

/// Opens the directory `path` (`O_PATH`, not following a final symlink).
pub fn open_dir(path: &Path) -> Result<OwnedFd, Failure> {
    nix::fcntl::open(
        path,
        nix::fcntl::OFlag::O_PATH
            | nix::fcntl::OFlag::O_DIRECTORY
            | nix::fcntl::OFlag::O_NOFOLLOW
            | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Failure::step(format!("opening {}", path.display()), e))
}

/// Which overlay implementation mounted the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mounted {
    /// Kernel overlayfs.
    Kernel,
    /// fuse-overlayfs.
    Fuse,
}

/// Whether `HUTCH_OVERLAY=fuse` asks for fuse-overlayfs without trying
/// kernel overlayfs first.
pub(super) fn is_fuse_forced() -> bool {
    std::env::var_os(crate::paths::ENV_OVERLAY).is_some_and(|v| v == "fuse")
}

/// Mounts the overlay of `dirs` on `dirs.merged`: kernel overlayfs, else
/// fuse-overlayfs. Returns which one and the mounted root, open.
pub fn mount_rootfs(dirs: &RootDirs) -> Result<(Mounted, OwnedFd), Failure> {
    match &dirs.source {
        Source::Layers => {
            let lowers: Vec<BorrowedFd<'_>> = dirs.lowers.iter().map(|l| l.as_fd()).collect();
            mount_overlay(dirs, &lowers)
        }
        Source::Dir => super::rootfs::bind_root(dirs).map(|root| (Mounted::Kernel, root)),
        Source::Squashfs { file, mountpoint } => {
            let lower = super::rootfs::mount_squashfs(file.as_fd(), mountpoint.as_fd())?;
            mount_overlay(dirs, &[lower.as_fd()])
        }
    }
}

/// Mounts the overlay of `lowers` and `dirs`' upper and work directories
/// on `dirs.merged`: kernel overlayfs, else fuse-overlayfs.
fn mount_overlay(
    dirs: &RootDirs,
    lowers: &[BorrowedFd<'_>],
) -> Result<(Mounted, OwnedFd), Failure> {
    let kernel = if is_fuse_forced() {
        None
    } else {
        match kernel_overlay(dirs, lowers) {
            Ok(root) => return Ok((Mounted::Kernel, root)),
            Err(e) => Some(e),
        }
    };
    match mount_fuse_overlay(dirs, lowers, kernel.is_some()) {
        Ok(root) => Ok((Mounted::Fuse, root)),
        // Without the helper, the kernel's refusal is the interesting error.
        Err(FuseError::Missing) => Err(match kernel {
            Some(e) => Failure::io("mounting the root filesystem with overlayfs", &e),
            None => Failure::text("mounting the root filesystem: fuse-overlayfs is not installed"),
        }),
        Err(FuseError::Failed(f)) => Err(f),
    }
}

/// Mounts the overlay of `dirs` with fuse-overlayfs alone, without trying
/// the kernel's first (`doctor` probes each).
pub fn mount_fuse_only(dirs: &RootDirs) -> Result<(), Failure> {
    let lowers: Vec<BorrowedFd<'_>> = dirs.lowers.iter().map(|l| l.as_fd()).collect();
    match mount_fuse_overlay(dirs, &lowers, false) {
        Ok(_) => Ok(()),
        Err(FuseError::Missing) => Err(Failure::text(
            "mounting the root filesystem: fuse-overlayfs is not installed",
        )),
        Err(FuseError::Failed(f)) => Err(f),
    }
}

/// The `/proc/self/fd/N` text of `fd`, for an option string.
fn fd_text(fd: BorrowedFd<'_>) -> String {
    proc_fd_path(fd).display().to_string()
}

/// Mounts a kernel overlay of `dirs` (with `userxattr`, as a user
/// namespace needs) and attaches it onto `dirs.merged`; returns the mount.
pub fn mount_kernel_overlay(dirs: &RootDirs) -> std::io::Result<OwnedFd> {
    let lowers: Vec<BorrowedFd<'_>> = dirs.lowers.iter().map(|l| l.as_fd()).collect();
    kernel_overlay(dirs, &lowers)
}

/// `mount_kernel_overlay` with `lowers` in place of `dirs.lowers`.
fn kernel_overlay(dirs: &RootDirs, lowers: &[BorrowedFd<'_>]) -> std::io::Result<OwnedFd> {
    let ctx = fsopen("overlay")?;
    fsconfig_string(ctx.as_fd(), "source", "overlay")?;
    let lowers: Vec<String> = lowers.iter().map(|l| fd_text(*l)).collect();
    let joined = lowers.join(":");
    if joined.len() + OTHER_OPTIONS <= MAX_MOUNT_DATA {
        fsconfig_string(ctx.as_fd(), "lowerdir", &joined)?;
    } else {
        // Past a page only a kernel whose overlayfs speaks the new mount
        // API (6.5) can take them, one by one.
        for lower in &lowers {
            fsconfig_string(ctx.as_fd(), "lowerdir+", lower)?;
        }
    }
    fsconfig_string(ctx.as_fd(), "upperdir", &fd_text(dirs.upper.as_fd()))?;
    fsconfig_string(ctx.as_fd(), "workdir", &fd_text(dirs.work.as_fd()))?;
    fsconfig_flag(ctx.as_fd(), "userxattr")?;
    fsconfig_create(ctx.as_fd())?;
    let mnt = fsmount(ctx.as_fd(), 0)?;
    move_mount_onto(mnt.as_fd(), dirs.merged.as_fd())?;
    Ok(mnt)
}

enum FuseError {
    Missing,
    Failed(Failure),
}

/// Detaches the staging tmpfs when dropped, whatever happened.
struct Stage(OwnedFd);

impl Drop for Stage {
    fn drop(&mut self) {
        let _ = umount2(&proc_fd_path(self.0.as_fd()), MntFlags::MNT_DETACH);
    }
}

/// fuse-overlayfs's options for `lowers` staged lower layers and the
/// staged `scratch`.
fn staged_options(lowers: usize, scratch: &Scratch) -> String {
    let lower: Vec<String> = (0..lowers).map(|i| format!("{STAGE}/l{i}")).collect();
    format!(
        "lowerdir={},upperdir={STAGE}/c/{},workdir={STAGE}/c/{}",
        lower.join(":"),
        scratch.upper,
        scratch.work
    )
}

/// Mounts with fuse-overlayfs (see the module's comment).
///
/// We mount the FUSE filesystem ourselves, on a `/dev/fuse` fd that
/// fuse-overlayfs inherits and serves (libfuse takes `/dev/fd/N` as the
/// mount point for that), with the options it would use as root; and it
/// runs in a mount namespace of its own, a copy of ours with the staged
/// directories. Otherwise `pivot_root` would move its root and cwd onto
/// its own mount, and every path it resolved would wait on itself. It
/// daemonizes once it serves; the daemon lives in the container's pid
/// namespace and ends with it.
fn mount_fuse_overlay(
    dirs: &RootDirs,
    lowers: &[BorrowedFd<'_>],
    is_fallback: bool,
) -> Result<OwnedFd, FuseError> {
    let failed = FuseError::Failed;
    let stage = stage_dirs(dirs, lowers).map_err(failed)?;
    // Not close-on-exec: fuse-overlayfs serves it.
    let device = nix::fcntl::open("/dev/fuse", nix::fcntl::OFlag::O_RDWR, Mode::empty())
        .map_err(|e| failed(Failure::step("opening /dev/fuse", e)))?;
    let mnt = fuse_mount(device.as_fd(), "fuse-overlayfs")
        .map_err(|e| failed(Failure::io("mounting a FUSE filesystem", &e)))?;
    let mut cmd = std::process::Command::new("fuse-overlayfs");
    cmd.arg("-o")
        .arg(staged_options(lowers.len(), &dirs.scratch))
        .arg(format!("/dev/fd/{}", device.as_raw_fd()))
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    crate::sys::spawn::in_own_mount_namespace(&mut cmd);
    match cmd.status() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(FuseError::Missing),
        Err(e) => return Err(failed(Failure::io("running fuse-overlayfs", &e))),
        Ok(s) if !s.success() => {
            let what = if is_fallback {
                "kernel overlayfs refused and fuse-overlayfs failed"
            } else {
                "fuse-overlayfs failed"
            };
            return Err(failed(Failure {
                kind: Kind::Setup,
                errno: 0,
                text: format!("mounting the root filesystem: {what} ({s})"),
            }));
        }
        Ok(_) => {}
    }
    drop(device);
    drop(stage);
    move_mount_onto(mnt.as_fd(), dirs.merged.as_fd())
        .map_err(|e| failed(Failure::io("attaching the fuse-overlayfs mount", &e)))?;
    Ok(mnt)
}

/// A detached FUSE mount served through `device` by the program `name`,
/// with the options fuse-overlayfs mounts with as root
/// (`default_permissions`, `allow_other`, `nodev`, `noatime`).
pub(super) fn fuse_mount(device: BorrowedFd<'_>, name: &str) -> std::io::Result<OwnedFd> {
    let ctx = fsopen("fuse")?;
    for (key, value) in [
        ("source", name.to_string()),
        ("subtype", name.to_string()),
        ("fd", device.as_raw_fd().to_string()),
        ("rootmode", "40000".to_string()),
        ("user_id", "0".to_string()),
        ("group_id", "0".to_string()),
    ] {
        fsconfig_string(ctx.as_fd(), key, &value)?;
    }
    fsconfig_flag(ctx.as_fd(), "default_permissions")?;
    fsconfig_flag(ctx.as_fd(), "allow_other")?;
    fsconfig_create(ctx.as_fd())?;
    fsmount(ctx.as_fd(), MOUNT_ATTR_NODEV | MOUNT_ATTR_NOATIME)
}

/// Lays a private tmpfs over `STAGE` and binds `dirs`' layers and the
/// directory holding upper and work (`c`) there.
fn stage_dirs(dirs: &RootDirs, lowers: &[BorrowedFd<'_>]) -> Result<Stage, Failure> {
    // Followed if it is a symlink: the staged paths resolve the same way.
    let over = nix::fcntl::open(
        STAGE,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Failure::step(format!("opening {STAGE}"), e))?;
    let ctx = fsopen("tmpfs").map_err(|e| Failure::io("creating a staging tmpfs", &e))?;
    fsconfig_string(ctx.as_fd(), "mode", "0700")
        .and_then(|()| fsconfig_create(ctx.as_fd()))
        .map_err(|e| Failure::io("creating a staging tmpfs", &e))?;
    let mnt = fsmount(ctx.as_fd(), 0).map_err(|e| Failure::io("creating a staging tmpfs", &e))?;
    move_mount_onto(mnt.as_fd(), over.as_fd())
        .map_err(|e| Failure::io(format!("mounting a staging tmpfs on {STAGE}"), &e))?;
    let stage = Stage(mnt);
    let sources = lowers
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("l{i}"), *l))
        .chain([("c".to_string(), dirs.scratch.dir.as_fd())]);
    for (name, source) in sources {
        let made = |e| Failure::step(format!("creating {STAGE}/{name}"), e);
        nix::sys::stat::mkdirat(
            stage.0.as_fd(),
            name.as_str(),
            Mode::from_bits_truncate(0o700),
        )
        .map_err(made)?;
        let target = nix::fcntl::openat(
            stage.0.as_fd(),
            name.as_str(),
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_NOFOLLOW
                | nix::fcntl::OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(made)?;
        bind_fd(source, target.as_fd())
            .map_err(|e| Failure::step(format!("binding a directory onto {STAGE}/{name}"), e))?;
    }
    Ok(stage)
}

/// Bind-mounts what `source` is open on onto what `target` is open on.
pub(super) fn bind_fd(source: BorrowedFd<'_>, target: BorrowedFd<'_>) -> nix::Result<()> {
    mount(
        Some(&proc_fd_path(source)),
        &proc_fd_path(target),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuse_overlayfs_gets_plain_staged_paths() {
        let scratch = Scratch {
            dir: open_dir(Path::new("/")).unwrap(),
            upper: "upper".into(),
            work: "work".into(),
        };
        assert_eq!(
            staged_options(2, &scratch),
            "lowerdir=/tmp/l0:/tmp/l1,upperdir=/tmp/c/upper,workdir=/tmp/c/work"
        );
    }

    #[test]
    fn root_dirs_are_opened_from_their_paths_and_refuse_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let dirs = ContainerDirs {
            dir: tmp.path().to_path_buf(),
            upper: tmp.path().join("upper"),
            work: tmp.path().join("work"),
            merged: tmp.path().join("merged"),
        };
        let lowers = vec![tmp.path().join("l1"), tmp.path().join("l0")];
        for d in lowers.iter().chain([&dirs.upper, &dirs.work, &dirs.merged]) {
            std::fs::create_dir(d).unwrap();
        }
        let open = RootDirs::open(&lowers, &dirs).unwrap();
        assert_eq!(open.lowers.len(), 2);
        let top = std::fs::read_link(proc_fd_path(open.lowers[0].as_fd())).unwrap();
        assert_eq!(top, lowers[0]);
        // The directory holding upper and work may be searched by others.
        let m = std::fs::metadata(tmp.path()).unwrap().permissions().mode();
        assert_eq!(m & 0o011, 0o011);

        std::fs::remove_dir(&dirs.upper).unwrap();
        std::os::unix::fs::symlink(&dirs.work, &dirs.upper).unwrap();
        let err = RootDirs::open(&lowers, &dirs).unwrap_err();
        assert!(err.text.contains("upper"), "{}", err.text);
    }
}
