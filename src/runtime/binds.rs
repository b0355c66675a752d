//! Mounting a container's bind mounts, volumes and tmpfs (planned by
//! `volumes`) inside its root, and the two jobs that go with them: filling
//! a new volume from the image (copy-up) and `:U`'s chown.
//!
//! Runs in the container's init, root in its user namespace, before
//! `pivot_root`. A bind source is opened from the host's `/` refusing every
//! symlink (`RESOLVE_NO_SYMLINKS`): the CLI already resolved the path the
//! user named, so a source swapped for a symlink since then fails instead
//! of mounting what the link points at. Sources are opened (`Sources::open`)
//! before the init becomes the container's root, with the invoking user's
//! identity, as Podman's runtime opens them: a volume lies in the private
//! store and a bind may lie in a private home, which a subordinate id may
//! not walk. The mount is made from that fd. Targets are resolved beneath
//! the root fd like every other mount.

use std::ffi::OsStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use nix::unistd::{Gid, Uid};

use super::mounts::{ensure_dir, ensure_file};
use super::report::Failure;
use super::volumes::{Kind, Mount, Propagation, Volumes};
use crate::sys::fs::{openat2, proc_fd_path, Resolve};

/// How a destination inside the container is resolved (as in `mounts`).
fn in_root() -> Resolve {
    Resolve::IN_ROOT | Resolve::NO_MAGICLINKS
}

/// What one planned mount is made from, open.
#[derive(Debug)]
enum Source {
    /// A tmpfs or devpts, or a source the plan never resolved.
    Nothing,
    /// A bind's or volume's directory or file, or an image's only layer.
    Host(OwnedFd),
    /// An image's layers, top first.
    Layers(Vec<OwnedFd>),
}

/// The sources of a plan's mounts, in plan order.
#[derive(Debug, Default)]
pub struct Sources(Vec<Source>);

impl Sources {
    /// Opens the source of every mount of `volumes`, as whoever runs this
    /// (see the module's comment).
    pub fn open(volumes: &Volumes) -> Result<Sources, Failure> {
        let mut sources = Vec::with_capacity(volumes.mounts.len());
        for m in &volumes.mounts {
            let source = match (m.kind, m.host_path.as_deref(), m.layers.as_slice()) {
                (Kind::Devpts | Kind::Tmpfs, _, _) => Source::Nothing,
                (_, _, _) if m.is_tmpfs_volume => Source::Nothing,
                (Kind::Image, _, [only]) => Source::Host(open_source(only)?),
                (Kind::Image, _, layers) => Source::Layers(
                    layers
                        .iter()
                        .map(|l| open_source(l))
                        .collect::<Result<_, _>>()?,
                ),
                (Kind::Bind | Kind::Volume, Some(host), _) => Source::Host(open_source(host)?),
                (Kind::Bind | Kind::Volume, None, _) => Source::Nothing,
            };
            sources.push(source);
        }
        Ok(Sources(sources))
    }

    fn get(&self, index: usize) -> &Source {
        self.0.get(index).unwrap_or(&Source::Nothing)
    }
}

/// Mounts every planned mount beneath `root`, in plan order (parents
/// first), from `sources` (opened from the same `volumes`); `dir` is the
/// container directory, where `:O` keeps its throwaway upper layers.
pub fn mount_volumes(
    root: BorrowedFd<'_>,
    volumes: &Volumes,
    sources: &Sources,
    dir: &Path,
) -> Result<(), Failure> {
    for (index, m) in volumes.mounts.iter().enumerate() {
        let rel = m.destination.trim_start_matches('/');
        if m.kind == Kind::Devpts {
            let target = ensure_dir(root, rel)?;
            // A new instance: the container's own ptys, none of the host's.
            mount(
                Some("devpts"),
                &proc_fd_path(target.as_fd()),
                Some("devpts"),
                flags_of(m),
                Some("newinstance,ptmxmode=0666,mode=0620"),
            )
            .map_err(|e| Failure::step(format!("mounting a devpts on {}", m.destination), e))?;
            continue;
        }
        if m.kind == Kind::Image {
            mount_image(root, rel, m, sources.get(index))?;
            continue;
        }
        if m.kind == Kind::Tmpfs || m.is_tmpfs_volume {
            let target = ensure_dir(root, rel)?;
            let data = (!m.tmpfs_data.is_empty()).then_some(m.tmpfs_data.as_str());
            mount(
                Some("tmpfs"),
                &proc_fd_path(target.as_fd()),
                Some("tmpfs"),
                flags_of(m),
                data,
            )
            .map_err(|e| Failure::step(format!("mounting a tmpfs on {}", m.destination), e))?;
            continue;
        }
        let (Some(host), Source::Host(source)) = (m.host_path.as_deref(), sources.get(index))
        else {
            return Err(Failure::step(
                format!("mounting {}: the source was never resolved", m.destination),
                Errno::EINVAL,
            ));
        };
        let stat = fstat(source.as_fd())
            .map_err(|e| Failure::step(format!("inspecting {}", host.display()), e))?;
        let is_dir = is_dir(&stat);
        if let Some(owner) = m.owner {
            give(source.as_fd(), &stat, owner, &m.destination)?;
        }
        if m.copy_up && is_dir {
            copy_up(root, rel, source.as_fd(), &m.destination)?;
        }
        let target = if is_dir {
            ensure_dir(root, rel)?
        } else {
            ensure_file(root, rel)?
        };
        if m.overlay {
            mount_overlay(source.as_fd(), target.as_fd(), dir, index, m)?;
        } else if m.idmap {
            mount_idmapped(source.as_fd(), target.as_fd(), m)?;
        } else {
            mount(
                Some(&proc_fd_path(source.as_fd())),
                &proc_fd_path(target.as_fd()),
                None::<&str>,
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| Failure::step(format!("bind-mounting {}", m.destination), e))?;
        }
        // The fd from before names the directory under the new mount.
        let mounted = reopen(root, rel, &m.destination)?;
        apply_flags(mounted.as_fd(), m)?;
        set_propagation(mounted.as_fd(), m)?;
    }
    Ok(())
}

/// Gives the source `fd` (`stat`) to `uid`:`gid` of the container, unless
/// it has them: root in the user namespace may give what a mapped id owns
/// to any mapped id.
fn give(fd: BorrowedFd<'_>, stat: &FileStat, owner: (u32, u32), dest: &str) -> Result<(), Failure> {
    if (stat.st_uid, stat.st_gid) == owner {
        return Ok(());
    }
    // fchown refuses an O_PATH fd; an empty path with AT_EMPTY_PATH does not.
    nix::unistd::fchownat(
        fd,
        "",
        Some(Uid::from_raw(owner.0)),
        Some(Gid::from_raw(owner.1)),
        AtFlags::AT_EMPTY_PATH,
    )
    .map_err(|e| Failure::step(format!("changing the owner of {dest}"), e))
}

fn is_dir(stat: &FileStat) -> bool {
    stat.st_mode & libc::S_IFMT == libc::S_IFDIR
}

fn flags_of(m: &Mount) -> MsFlags {
    let mut flags = MsFlags::empty();
    for (is_set, flag) in [
        (m.read_only, MsFlags::MS_RDONLY),
        (m.nosuid, MsFlags::MS_NOSUID),
        (m.nodev, MsFlags::MS_NODEV),
        (m.noexec, MsFlags::MS_NOEXEC),
    ] {
        if is_set {
            flags |= flag;
        }
    }
    flags
}

/// Opens the host path `path` (absolute, already resolved by the CLI)
/// from `/`, refusing any symlink on the way.
fn open_source(path: &Path) -> Result<OwnedFd, Failure> {
    let slash = nix::fcntl::open(
        "/",
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Failure::step("opening the host's /", e))?;
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    openat2(
        slash.as_fd(),
        rel,
        libc::O_PATH,
        0,
        Resolve::BENEATH | Resolve::NO_SYMLINKS,
    )
    .map_err(|e| Failure::io(format!("opening bind source {}", path.display()), &e))
}

fn reopen(root: BorrowedFd<'_>, rel: &str, dest: &str) -> Result<OwnedFd, Failure> {
    openat2(root, Path::new(rel), libc::O_PATH, 0, in_root())
        .map_err(|e| Failure::io(format!("reopening {dest}"), &e))
}

/// Remounts a bind with the planned `ro`/`nosuid`/`nodev`/`noexec`,
/// keeping the flags it already has: a user namespace may not clear the
/// host mount's locked ones.
fn apply_flags(target: BorrowedFd<'_>, m: &Mount) -> Result<(), Failure> {
    let wanted = flags_of(m);
    if wanted.is_empty() {
        return Ok(());
    }
    super::mounts::remount_adding(target, wanted, &m.destination, || {
        format!("remounting {} with its options", m.destination)
    })
}

fn set_propagation(target: BorrowedFd<'_>, m: &Mount) -> Result<(), Failure> {
    let flags = match m.propagation {
        Propagation::RPrivate => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        Propagation::Private => MsFlags::MS_PRIVATE,
        Propagation::RSlave => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Propagation::Slave => MsFlags::MS_SLAVE,
        Propagation::RShared => MsFlags::MS_SHARED | MsFlags::MS_REC,
        Propagation::Shared => MsFlags::MS_SHARED,
    };
    mount(
        None::<&str>,
        &proc_fd_path(target),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .map_err(|e| {
        Failure::step(
            format!("making {} {}", m.destination, m.propagation.as_str()),
            e,
        )
    })
}

/// `--mount type=image`: the image's layers (`source`) as a read-only
/// overlay (one layer alone is bound), mounted on the directory `rel`
/// beneath `root`.
fn mount_image(root: BorrowedFd<'_>, rel: &str, m: &Mount, source: &Source) -> Result<(), Failure> {
    let target = ensure_dir(root, rel)?;
    let failed = |e| {
        Failure::step(
            format!("mounting image {} on {}", m.source, m.destination),
            e,
        )
    };
    match source {
        Source::Nothing => return Err(failed(Errno::ENOENT)),
        Source::Layers(layers) if layers.is_empty() => return Err(failed(Errno::ENOENT)),
        Source::Host(only) => {
            mount(
                Some(&proc_fd_path(only.as_fd())),
                &proc_fd_path(target.as_fd()),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(failed)?;
        }
        Source::Layers(layers) => {
            let lower: Vec<String> = layers
                .iter()
                .map(|l| proc_fd_path(l.as_fd()).display().to_string())
                .collect();
            let data = format!("lowerdir={},userxattr", lower.join(":"));
            mount(
                Some("overlay"),
                &proc_fd_path(target.as_fd()),
                Some("overlay"),
                MsFlags::MS_RDONLY,
                Some(data.as_str()),
            )
            .map_err(failed)?;
        }
    }
    let mounted = reopen(root, rel, &m.destination)?;
    apply_flags(mounted.as_fd(), m)
}

/// `:O`: an overlay whose lower layer is the source and whose upper and
/// work directories are fresh under `dir/overlay/N`, so changes vanish.
fn mount_overlay(
    source: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    dir: &Path,
    index: usize,
    m: &Mount,
) -> Result<(), Failure> {
    let base: PathBuf = dir.join("overlay").join(index.to_string());
    if base.exists() {
        std::fs::remove_dir_all(&base)
            .map_err(|e| Failure::io(format!("clearing {}", base.display()), &e))?;
    }
    let upper = base.join("upper");
    let work = base.join("work");
    for d in [&upper, &work] {
        std::fs::create_dir_all(d)
            .map_err(|e| Failure::io(format!("creating {}", d.display()), &e))?;
    }
    let lower = proc_fd_path(source);
    let data = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        lower.display(),
        upper.display(),
        work.display()
    );
    mount(
        Some("overlay"),
        &proc_fd_path(target),
        Some("overlay"),
        MsFlags::empty(),
        Some(data.as_str()),
    )
    .map_err(|e| Failure::step(format!("mounting an overlay on {}", m.destination), e))
}

/// `idmap`: a clone of the source tree, idmapped through this user
/// namespace, attached onto the target. Kernels allow it only where the
/// source's filesystem supports idmapped mounts and was mounted in a user
/// namespace we are privileged over.
fn mount_idmapped(
    source: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    m: &Mount,
) -> Result<(), Failure> {
    let userns = nix::fcntl::open(
        "/proc/self/ns/user",
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Failure::step("opening the user namespace", e))?;
    let tree = crate::sys::idmap::clone_tree(source)
        .map_err(|e| Failure::io(format!("cloning the source of {}", m.destination), &e))?;
    crate::sys::idmap::set_idmap(tree.as_fd(), userns.as_fd()).map_err(|e| {
        Failure::io(
            format!(
                "idmapping {} (the kernel allows idmapped mounts only on filesystems mounted in this user namespace; drop idmap or use U)",
                m.destination
            ),
            &e,
        )
    })?;
    crate::sys::mount::move_mount_onto(tree.as_fd(), target)
        .map_err(|e| Failure::io(format!("attaching the idmapped {}", m.destination), &e))
}

/// Fills the empty volume `volume` with the content of the image's
/// directory at `rel` (if there is one), owners and modes included, as
/// Docker does the first time a volume is mounted over image content.
fn copy_up(
    root: BorrowedFd<'_>,
    rel: &str,
    volume: BorrowedFd<'_>,
    dest: &str,
) -> Result<(), Failure> {
    let image_dir = match openat2(
        root,
        Path::new(rel),
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
        in_root(),
    ) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ENOTDIR)) => {
            return Ok(())
        }
        Err(e) => return Err(Failure::io(format!("opening {dest} in the image"), &e)),
    };
    let data = openat2(
        volume,
        Path::new("."),
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
        Resolve::BENEATH,
    )
    .map_err(|e| Failure::io(format!("opening the volume for {dest}"), &e))?;
    let is_empty = list(data.as_fd())
        .map_err(|e| Failure::step(format!("listing the volume for {dest}"), e))?
        .is_empty();
    if !is_empty {
        return Ok(());
    }
    let top =
        fstat(image_dir.as_fd()).map_err(|e| Failure::step(format!("inspecting {dest}"), e))?;
    copy_tree(image_dir.as_fd(), data.as_fd())
        .map_err(|(path, e)| Failure::step(format!("copying {dest}/{path} into its volume"), e))?;
    nix::unistd::fchown(
        data.as_fd(),
        Some(Uid::from_raw(top.st_uid)),
        Some(Gid::from_raw(top.st_gid)),
    )
    .and_then(|()| nix::sys::stat::fchmod(data.as_fd(), Mode::from_bits_truncate(top.st_mode)))
    .map_err(|e| Failure::step(format!("giving the volume for {dest} the image's owner"), e))
}

/// The names in the directory `dir` is open on (read-only fd), without
/// `.` and `..`.
fn list(dir: BorrowedFd<'_>) -> Result<Vec<Vec<u8>>, Errno> {
    let fd = nix::fcntl::openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut d = nix::dir::Dir::from_fd(fd)?;
    let mut names = Vec::new();
    for entry in d.iter() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    Ok(names)
}

fn open_child(dir: BorrowedFd<'_>, name: &OsStr, flags: OFlag) -> Result<OwnedFd, Errno> {
    nix::fcntl::openat(
        dir,
        name,
        flags | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Copies the content of `src` into `dst` (both open directories),
/// keeping owners, modes and symlinks; sockets and devices are skipped.
/// On failure returns the relative path and the error.
fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<(), (String, Errno)> {
    let names = list(src).map_err(|e| (String::new(), e))?;
    for raw in names {
        let name = OsStr::from_bytes(&raw);
        let shown = name.to_string_lossy().into_owned();
        let at = |e: Errno| (shown.clone(), e);
        let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(at)?;
        let kind = SFlag::from_bits_truncate(st.st_mode & libc::S_IFMT);
        let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
        if kind == SFlag::S_IFDIR {
            nix::sys::stat::mkdirat(dst, name, Mode::from_bits_truncate(0o700)).map_err(at)?;
            let s = open_child(src, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(at)?;
            let d = open_child(dst, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(at)?;
            copy_tree(s.as_fd(), d.as_fd()).map_err(|(p, e)| (format!("{shown}/{p}"), e))?;
            set_owner(d.as_fd(), &st).map_err(at)?;
            nix::sys::stat::fchmod(d.as_fd(), mode).map_err(at)?;
        } else if kind == SFlag::S_IFREG {
            let s = open_child(src, name, OFlag::O_RDONLY).map_err(at)?;
            let d = nix::fcntl::openat(
                dst,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )
            .map_err(at)?;
            let mut from = std::fs::File::from(s);
            let mut to = std::fs::File::from(d);
            std::io::copy(&mut from, &mut to)
                .map_err(|e| at(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))?;
            set_owner(to.as_fd(), &st).map_err(at)?;
            nix::sys::stat::fchmod(to.as_fd(), mode).map_err(at)?;
        } else if kind == SFlag::S_IFLNK {
            let target = nix::fcntl::readlinkat(src, name).map_err(at)?;
            nix::unistd::symlinkat(target.as_os_str(), dst, name).map_err(at)?;
            nix::unistd::fchownat(
                dst,
                name,
                Some(Uid::from_raw(st.st_uid)),
                Some(Gid::from_raw(st.st_gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(at)?;
        } else if kind == SFlag::S_IFIFO {
            nix::unistd::mkfifoat(dst, name, mode).map_err(at)?;
            nix::unistd::fchownat(
                dst,
                name,
                Some(Uid::from_raw(st.st_uid)),
                Some(Gid::from_raw(st.st_gid)),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            )
            .map_err(at)?;
        }
    }
    Ok(())
}

fn set_owner(fd: BorrowedFd<'_>, st: &FileStat) -> Result<(), Errno> {
    nix::unistd::fchown(
        fd,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )
}

/// `:U`: gives every file below the mounts that ask for it to `uid:gid`
/// (the container's user), beneath `root` and without following symlinks.
pub fn chown_volumes(
    root: BorrowedFd<'_>,
    volumes: &Volumes,
    uid: u32,
    gid: u32,
) -> Result<(), Failure> {
    for m in volumes.mounts.iter().filter(|m| m.chown) {
        let rel = m.destination.trim_start_matches('/');
        let top = openat2(root, Path::new(rel), libc::O_PATH, 0, in_root())
            .map_err(|e| Failure::io(format!("opening {}", m.destination), &e))?;
        let (uid, gid) = (Uid::from_raw(uid), Gid::from_raw(gid));
        let fail = |path: String, e: Errno| {
            Failure::step(format!("changing the owner of {}{path}", m.destination), e)
        };
        // fchown refuses an O_PATH fd; an empty path with AT_EMPTY_PATH does not.
        nix::unistd::fchownat(
            top.as_fd(),
            "",
            Some(uid),
            Some(gid),
            AtFlags::AT_EMPTY_PATH,
        )
        .map_err(|e| fail(String::new(), e))?;
        let st = fstat(top.as_fd()).map_err(|e| fail(String::new(), e))?;
        if is_dir(&st) {
            let dir = openat2(
                top.as_fd(),
                Path::new("."),
                libc::O_RDONLY | libc::O_DIRECTORY,
                0,
                Resolve::BENEATH,
            )
            .map_err(|e| Failure::io(format!("opening {}", m.destination), &e))?;
            chown_tree(dir.as_fd(), uid, gid).map_err(|(p, e)| fail(format!("/{p}"), e))?;
        }
    }
    Ok(())
}

fn chown_tree(dir: BorrowedFd<'_>, uid: Uid, gid: Gid) -> Result<(), (String, Errno)> {
    for raw in list(dir).map_err(|e| (String::new(), e))? {
        let name = OsStr::from_bytes(&raw);
        let shown = name.to_string_lossy().into_owned();
        let at = |e: Errno| (shown.clone(), e);
        nix::unistd::fchownat(
            dir,
            name,
            Some(uid),
            Some(gid),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(at)?;
        let st = fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(at)?;
        if is_dir(&st) {
            let sub = open_child(dir, name, OFlag::O_RDONLY | OFlag::O_DIRECTORY).map_err(at)?;
            chown_tree(sub.as_fd(), uid, gid).map_err(|(p, e)| (format!("{shown}/{p}"), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(kind: Kind, host: Option<PathBuf>) -> Mount {
        Mount {
            kind,
            destination: "/x".into(),
            host_path: host,
            ..Mount::default()
        }
    }

    #[test]
    fn sources_are_opened_in_plan_order_and_a_symlink_is_refused() {
        // issue #21 item 1: sources are opened before init becomes the
        // container's root, still refusing a source swapped for a link.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("dir");
        std::fs::create_dir(&dir).unwrap();
        let volumes = Volumes {
            mounts: vec![
                mount(Kind::Bind, Some(dir.clone())),
                mount(Kind::Tmpfs, None),
                mount(Kind::Volume, None),
            ],
        };
        let sources = Sources::open(&volumes).unwrap();
        assert!(matches!(sources.get(0), Source::Host(_)));
        assert!(matches!(sources.get(1), Source::Nothing));
        assert!(matches!(sources.get(2), Source::Nothing));
        assert!(matches!(sources.get(3), Source::Nothing));

        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let volumes = Volumes {
            mounts: vec![mount(Kind::Bind, Some(link))],
        };
        let err = Sources::open(&volumes).unwrap_err();
        assert_eq!(err.errno, libc::ELOOP, "{}", err.text);
    }
}
