//! Mounts made by the container's init inside its root filesystem (the
//! overlay itself is `overlay`'s): the kernel filesystems and the /etc
//! files.
//!
//! Every target inside the root filesystem is resolved beneath the root's
//! directory fd with openat2 (image paths are hostile: a symlink must not
//! send a mount outside), created beneath it when missing, and mounted onto
//! through `/proc/self/fd/N`. Sources in the store (the /etc files the
//! parent wrote) were opened before the init became the container's root
//! (`EtcFiles::open`), since the store's paths may be closed to that id.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use nix::sys::stat::Mode;

use super::report::Failure;
use crate::sys::fs::{openat2, proc_fd_path, Resolve};

/// How a path inside the container's root is resolved: `..` and absolute
/// symlinks are clamped to the root, /proc magic links refused.
fn in_root() -> Resolve {
    Resolve::IN_ROOT | Resolve::NO_MAGICLINKS
}

/// Host device nodes bind-mounted into the container's /dev.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// Symlinks in the container's /dev, as (name, target).
const DEV_LINKS: [(&str, &str); 5] = [
    ("fd", "/proc/self/fd"),
    ("stdin", "/proc/self/fd/0"),
    ("stdout", "/proc/self/fd/1"),
    ("stderr", "/proc/self/fd/2"),
    ("ptmx", "pts/ptmx"),
];

/// Files the parent writes into the container directory and init
/// bind-mounts over /etc and /run, as (name in the container directory,
/// target).
pub const ETC_FILES: [(&str, &str); 5] = [
    ("hosts", "etc/hosts"),
    ("hostname", "etc/hostname"),
    ("resolv.conf", "etc/resolv.conf"),
    (CONTAINER_ENV.0, CONTAINER_ENV.1),
    (LOCALTIME, "etc/localtime"),
];

/// The copy of the `--tz` zone's file in the container directory, bound
/// on /etc/localtime (written only with `--tz`).
pub const LOCALTIME: &str = "localtime";

/// /run/.containerenv, which tells programs they run in a container and
/// which one (Podman's file), as (name in the container directory, target).
pub const CONTAINER_ENV: (&str, &str) = ("containerenv", "run/.containerenv");

/// The `ETC_FILES` the parent wrote, open (`O_PATH`), as (target, file).
#[derive(Debug, Default)]
pub struct EtcFiles(Vec<(&'static str, OwnedFd)>);

impl EtcFiles {
    /// Opens the `ETC_FILES` present in the container directory `dir`; a
    /// file the parent did not write (hosts with --no-hosts) is left out,
    /// and the image's stays.
    pub fn open(dir: &Path) -> Result<EtcFiles, Failure> {
        let mut files = Vec::new();
        for (name, target) in ETC_FILES {
            let path = dir.join(name);
            match nix::fcntl::open(
                &path,
                nix::fcntl::OFlag::O_PATH
                    | nix::fcntl::OFlag::O_NOFOLLOW
                    | nix::fcntl::OFlag::O_CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => files.push((target, fd)),
                Err(Errno::ENOENT) => {}
                Err(e) => return Err(Failure::step(format!("opening {}", path.display()), e)),
            }
        }
        Ok(EtcFiles(files))
    }

    /// The file for `target`, if the parent wrote one.
    pub fn get(&self, target: &str) -> Option<BorrowedFd<'_>> {
        self.0
            .iter()
            .find(|(t, _)| *t == target)
            .map(|(_, fd)| fd.as_fd())
    }
}

/// Makes every mount of this (new) mount namespace a recursive slave, so
/// that nothing mounted afterwards propagates back to the host's namespace,
/// which the new one copied with shared propagation.
pub fn make_root_rslave() -> Result<(), Errno> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
}

/// Opens the directory `path` beneath `root` (O_PATH), creating missing
/// components one at a time. Each prefix is resolved from `root` itself, so
/// absolute symlinks in the image (`/var/run -> /run`) mean the container's
/// root, and a new directory is made beneath its resolved parent.
pub fn ensure_dir(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Failure> {
    let open = |p: &str| {
        openat2(
            root,
            Path::new(p),
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            in_root(),
        )
    };
    match open(path) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
            return Err(Failure::io(format!("opening /{path} in the container"), &e))
        }
        Err(_) => {}
    }
    let mut dir = open_path(root, ".")?;
    let mut prefix = String::new();
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(comp);
        dir = match open(&prefix) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && comp != ".." => {
                match nix::sys::stat::mkdirat(dir.as_fd(), comp, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(Errno::EEXIST) => {}
                    Err(e) => {
                        return Err(Failure::step(
                            format!("creating /{prefix} in the container"),
                            e,
                        ))
                    }
                }
                open(&prefix)
                    .map_err(|e| Failure::io(format!("opening /{prefix} in the container"), &e))?
            }
            Err(e) => {
                return Err(Failure::io(
                    format!("opening /{prefix} in the container"),
                    &e,
                ))
            }
        };
    }
    Ok(dir)
}

fn open_path(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Failure> {
    openat2(
        root,
        Path::new(path),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        in_root(),
    )
    .map_err(|e| Failure::io(format!("opening /{path} in the container"), &e))
}

/// Remounts the bind mount `target` (named `what` in errors) with `wanted`
/// added to the flags it already has: a user namespace may not clear the
/// flags a more privileged mount locked. `step` names the remount itself.
pub fn remount_adding(
    target: BorrowedFd<'_>,
    wanted: MsFlags,
    what: &str,
    step: impl FnOnce() -> String,
) -> Result<(), Failure> {
    use nix::sys::statvfs::FsFlags;
    let current = nix::sys::statvfs::fstatvfs(target)
        .map_err(|e| Failure::step(format!("reading the mount flags of {what}"), e))?
        .flags();
    let mut flags = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | wanted;
    for (st, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if current.contains(st) {
            flags |= ms;
        }
    }
    mount(
        None::<&str>,
        &proc_fd_path(target),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .map_err(|e| Failure::step(step(), e))
}

/// Opens the file `path` beneath `root` (O_PATH), creating it empty when
/// missing (as its parent directories).
pub fn ensure_file(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Failure> {
    match openat2(root, Path::new(path), libc::O_PATH, 0, in_root()) {
        Ok(fd) => return Ok(fd),
        Err(e) if e.raw_os_error() != Some(libc::ENOENT) => {
            return Err(Failure::io(format!("opening /{path} in the container"), &e))
        }
        Err(_) => {}
    }
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let dir = ensure_dir(root, parent)?;
    openat2(
        dir.as_fd(),
        Path::new(name),
        libc::O_CREAT | libc::O_WRONLY,
        0o644,
        in_root(),
    )
    .map_err(|e| Failure::io(format!("creating /{path} in the container"), &e))
}

/// mount(2) onto the directory or file `target` is open on.
pub(super) fn mount_on(
    source: Option<&Path>,
    target: BorrowedFd<'_>,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> nix::Result<()> {
    mount(source, &proc_fd_path(target), fstype, flags, data)
}

/// What `mount_kernel_filesystems` needs to know.
pub struct Special<'a> {
    /// The /etc files (and .containerenv) the parent wrote.
    pub etc: &'a EtcFiles,
    /// Whether gid 5 (tty) is mapped, so devpts may use it.
    pub is_tty_gid_mapped: bool,
    /// The size of /dev/shm in bytes (0: no limit).
    pub shm_size: u64,
    /// `--chrootdirs`: each also gets /etc/hosts and /etc/resolv.conf
    /// beneath its `etc`.
    pub chroot_dirs: &'a [String],
    /// Which namespaces are the host's: their filesystems are the host's,
    /// bound, since only the owner of a namespace may mount a new one.
    pub namespaces: &'a super::tuning::Namespaces,
}

/// Mounts /proc, /sys, /dev (with devices, links, pts, shm, mqueue) and the
/// /etc files inside the root filesystem open as `root`.
pub fn mount_kernel_filesystems(
    root: BorrowedFd<'_>,
    special: &Special<'_>,
) -> Result<(), Failure> {
    let nosuid_noexec = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;

    mount_proc(root, special.namespaces.is_host_pid)?;

    // sysfs needs the new network namespace; some hosts refuse it in a user
    // namespace, then a read-only bind of the host's /sys stands in.
    let sys = ensure_dir(root, "sys")?;
    if mount_on(
        Some(Path::new("sysfs")),
        sys.as_fd(),
        Some("sysfs"),
        nosuid_noexec | MsFlags::MS_RDONLY,
        None,
    )
    .is_err()
    {
        mount_on(
            Some(Path::new("/sys")),
            sys.as_fd(),
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )
        .map_err(|e| Failure::step("bind-mounting /sys", e))?;
        // Reopened: the fd from before the bind names the directory
        // underneath, and a remount needs the mount itself.
        let sys = ensure_dir(root, "sys")?;
        mount_on(
            None,
            sys.as_fd(),
            None,
            MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | nosuid_noexec,
            None,
        )
        .map_err(|e| Failure::step("making /sys read-only", e))?;
    }

    let dev = ensure_dir(root, "dev")?;
    mount_on(
        Some(Path::new("tmpfs")),
        dev.as_fd(),
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some("mode=755,size=65536k"),
    )
    .map_err(|e| Failure::step("mounting /dev", e))?;
    // The old fd names the directory under the tmpfs; reopen to get the tmpfs.
    let dev = ensure_dir(root, "dev")?;
    for name in DEVICES {
        let node = openat2(
            dev.as_fd(),
            Path::new(name),
            libc::O_CREAT | libc::O_WRONLY | libc::O_EXCL,
            0o666,
            Resolve::BENEATH,
        )
        .map_err(|e| Failure::io(format!("creating /dev/{name}"), &e))?;
        let host = Path::new("/dev").join(name);
        mount_on(Some(&host), node.as_fd(), None, MsFlags::MS_BIND, None)
            .map_err(|e| Failure::step(format!("bind-mounting /dev/{name}"), e))?;
    }
    for (name, target) in DEV_LINKS {
        nix::unistd::symlinkat(target, dev.as_fd(), name)
            .map_err(|e| Failure::step(format!("creating the /dev/{name} link"), e))?;
    }
    let pts = ensure_dir(dev.as_fd(), "pts")?;
    // A new devpts instance: the container's ptys are its own. gid=5 names
    // the tty group, which exists only when the maps cover it.
    let pts_data = if special.is_tty_gid_mapped {
        "newinstance,ptmxmode=0666,mode=0620,gid=5"
    } else {
        "newinstance,ptmxmode=0666,mode=0620"
    };
    mount_on(
        Some(Path::new("devpts")),
        pts.as_fd(),
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some(pts_data),
    )
    .map_err(|e| Failure::step("mounting /dev/pts", e))?;
    mount_ipc(dev.as_fd(), special)?;

    for (target, file) in &special.etc.0 {
        bind_etc_file(root, file.as_fd(), target)?;
    }
    // As Podman binds them for --chrootdirs: hosts and resolv.conf only.
    for dir in special.chroot_dirs {
        let dir = dir.trim_matches('/');
        for (target, file) in &special.etc.0 {
            if matches!(*target, "etc/hosts" | "etc/resolv.conf") {
                let inside = match dir.is_empty() {
                    true => target.to_string(),
                    false => format!("{dir}/{target}"),
                };
                bind_etc_file(root, file.as_fd(), &inside)?;
            }
        }
    }
    Ok(())
}

/// Opens `path` (relative) beneath `root` as the container would resolve
/// it, without creating anything (`O_PATH`).
pub fn open_beneath(root: BorrowedFd<'_>, path: &str) -> std::io::Result<OwnedFd> {
    openat2(root, Path::new(path), libc::O_PATH, 0, in_root())
}

/// Mounts /proc beneath `root`: a procfs of the container's own pid
/// namespace, which shows only its own tree, or with `--pid=host` the
/// host's /proc, bound (a new procfs of a pid namespace our user
/// namespace does not own is refused).
fn mount_proc(root: BorrowedFd<'_>, is_host_pid: bool) -> Result<(), Failure> {
    let proc = ensure_dir(root, "proc")?;
    let nosuid_noexec = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if is_host_pid {
        return mount_on(
            Some(Path::new("/proc")),
            proc.as_fd(),
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )
        .map_err(|e| Failure::step("bind-mounting the host's /proc", e));
    }
    mount_on(
        Some(Path::new("proc")),
        proc.as_fd(),
        Some("proc"),
        nosuid_noexec,
        None,
    )
    .map_err(|e| Failure::step("mounting /proc", e))
}

/// Mounts /dev/shm (a tmpfs of `--shm-size`, none with `--ipc=none`) and
/// /dev/mqueue (of the new IPC namespace) in `dev`; with `--ipc=host` the
/// host's, bound, where it has them.
fn mount_ipc(dev: BorrowedFd<'_>, special: &Special<'_>) -> Result<(), Failure> {
    let nosuid_noexec = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if special.namespaces.is_host_ipc {
        for name in ["shm", "mqueue"] {
            let host = Path::new("/dev").join(name);
            if !host.is_dir() {
                continue;
            }
            let target = ensure_dir(dev, name)?;
            mount_on(
                Some(&host),
                target.as_fd(),
                None,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None,
            )
            .map_err(|e| Failure::step(format!("bind-mounting the host's /dev/{name}"), e))?;
        }
        return Ok(());
    }
    if !special.namespaces.is_shm_none {
        let shm = ensure_dir(dev, "shm")?;
        mount_on(
            Some(Path::new("shm")),
            shm.as_fd(),
            Some("tmpfs"),
            nosuid_noexec,
            Some(&format!("mode=1777,size={}", special.shm_size)),
        )
        .map_err(|e| Failure::step("mounting /dev/shm", e))?;
    }
    // mqueue needs the new ipc namespace.
    let mqueue = ensure_dir(dev, "mqueue")?;
    mount_on(
        Some(Path::new("mqueue")),
        mqueue.as_fd(),
        Some("mqueue"),
        nosuid_noexec,
        None,
    )
    .map_err(|e| Failure::step("mounting /dev/mqueue", e))
}

/// Bind-mounts the open file `source` on `target` beneath `root`,
/// creating the target when missing.
pub fn bind_etc_file(
    root: BorrowedFd<'_>,
    source: BorrowedFd<'_>,
    target: &str,
) -> Result<(), Failure> {
    let file = ensure_file(root, target)?;
    mount_on(
        Some(&proc_fd_path(source)),
        file.as_fd(),
        None,
        MsFlags::MS_BIND,
        None,
    )
    .map_err(|e| Failure::step(format!("bind-mounting /{target}"), e))
}

/// Opens the pty multiplexer of the container's devpts beneath `root`.
pub fn open_ptmx(root: BorrowedFd<'_>) -> Result<OwnedFd, Failure> {
    openat2(
        root,
        Path::new("dev/pts/ptmx"),
        libc::O_RDWR | libc::O_NOCTTY,
        0,
        in_root(),
    )
    .map_err(|e| Failure::io("opening /dev/pts/ptmx", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etc_files_the_parent_did_not_write_are_left_out() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("hosts"), "127.0.0.1 localhost\n").unwrap();
        std::fs::write(tmp.path().join(CONTAINER_ENV.0), "").unwrap();
        let etc = EtcFiles::open(tmp.path()).unwrap();
        assert!(etc.get("etc/hosts").is_some());
        assert!(etc.get(CONTAINER_ENV.1).is_some());
        assert!(etc.get("etc/hostname").is_none());
        assert!(etc.get("etc/resolv.conf").is_none());
    }

    #[test]
    fn ensure_dir_creates_beneath_and_clamps_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = nix::fcntl::open(
            tmp.path(),
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
            Mode::empty(),
        )
        .unwrap();
        std::fs::create_dir(tmp.path().join("etc")).unwrap();
        std::os::unix::fs::symlink("/../../etc", tmp.path().join("escape")).unwrap();
        std::fs::create_dir(tmp.path().join("var")).unwrap();
        std::fs::create_dir(tmp.path().join("run")).unwrap();
        std::os::unix::fs::symlink("/run", tmp.path().join("var/run")).unwrap();
        ensure_dir(root.as_fd(), "a/b/c").unwrap();
        ensure_dir(root.as_fd(), "var/run/x").unwrap();
        assert!(tmp.path().join("run/x").is_dir());
        assert!(tmp.path().join("a/b/c").is_dir());
        ensure_dir(root.as_fd(), "escape/inside").unwrap();
        assert!(tmp.path().join("etc/inside").is_dir());
        let f = ensure_file(root.as_fd(), "escape/hosts").unwrap();
        drop(f);
        assert!(tmp.path().join("etc/hosts").is_file());
    }
}
