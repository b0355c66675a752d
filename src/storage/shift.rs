//! Layer copies whose file owners are shifted for a non-default id mapping
//! (`--userns=keep-id`, `nomap`, `--uidmap`), cached per mapping at
//! `ROOT/layers-shifted/KEY/HEX`.
//!
//! Layers are unpacked once, under the default mapping. A container with
//! another mapping would see their owners moved (root's files owned by the
//! user's uid under keep-id), so each layer is copied once per mapping
//! with every owner rewritten, and later containers with the same mapping
//! reuse the copy: their start costs the same as a default start. Rootless
//! idmapped mounts are not possible on ext4 or xfs (mount_setattr(2) needs
//! CAP_SYS_ADMIN in the filesystem's user namespace, the initial one), and
//! fuse-overlayfs' own mapping would put every file access through FUSE.
//!
//! The copy runs in one child that is root in a user namespace with the
//! default maps, where container ids are the intermediate ids that the
//! mapping's `inter_*` maps name. Every name comes from readdir and is
//! opened beneath its parent's fd without following symlinks.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::io::ErrorKind;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, futimens, mkdirat, mknodat, utimensat, FchmodatFlags, FileStat,
    Mode, SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{fchownat, linkat, symlinkat, Gid, Uid};

use super::blobs::temp_path;
use super::remove::remove_tree;
use super::{lock, ContainerDirs, Digest, Error, LockGuard, Store};
use crate::sys::{fxattr, xattr};
use crate::userns::mode::map_id;
use crate::userns::{self, IdMap, IdMaps};

impl Store {
    /// The lower directories (top first) for `diff_ids` (top first) as a
    /// container mapped by `inter_uids`/`inter_gids` must see them: shifted
    /// copies, made now for the layers that have none yet. `default` is
    /// the mapping the layers were unpacked with. The caller must be
    /// single-threaded (the copy forks).
    pub fn shifted_layers(
        &self,
        diff_ids: &[Digest],
        default: &IdMaps,
        inter_uids: &[IdMap],
        inter_gids: &[IdMap],
    ) -> Result<Vec<PathBuf>, Error> {
        let key = mapping_key(inter_uids, inter_gids);
        let base = self.root.join("layers-shifted").join(&key);
        let out: Vec<PathBuf> = diff_ids.iter().map(|d| base.join(d.hex())).collect();
        let missing: Vec<usize> = (0..diff_ids.len()).filter(|&i| !out[i].exists()).collect();
        if missing.is_empty() {
            return Ok(out);
        }
        // A killed copy leaves its temp directory to the debris sweep.
        let _session = self.write_session()?;
        let mut guards: Vec<LockGuard> = Vec::new();
        let mut jobs: Vec<(PathBuf, PathBuf, PathBuf)> = Vec::new();
        let tmp_dir = self.tmp_dir();
        for &i in &missing {
            let hex = diff_ids[i].hex();
            guards.push(lock::lock(&self.root, &format!("shift-{key}-{hex}"))?);
            // Another process may have made it while we waited.
            if out[i].exists() || jobs.iter().any(|(_, _, d)| *d == out[i]) {
                continue;
            }
            jobs.push((
                self.layer_path(&diff_ids[i]),
                temp_path(&tmp_dir, "shift", hex),
                out[i].clone(),
            ));
        }
        if jobs.is_empty() {
            return Ok(out);
        }
        for dir in [&tmp_dir, &base] {
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let todo = jobs.clone();
        let (uids, gids) = (inter_uids.to_vec(), inter_gids.to_vec());
        // The rename happens in the child too: moving a directory to
        // another parent updates its `..`, which needs write access to it,
        // and the copy's top now belongs to a subordinate id.
        let copied = userns::run_as_root(default, nix::sched::CloneFlags::empty(), move || {
            for (src, tmp, dest) in &todo {
                copy_layer(src, tmp, &uids, &gids)
                    .map_err(|e| format!("{}: {e}", src.display()))?;
                std::fs::rename(tmp, dest)
                    .map_err(|e| format!("renaming {} into place: {e}", tmp.display()))?;
            }
            Ok(())
        });
        if let Err(source) = copied {
            for (_, tmp, _) in &jobs {
                let _ = remove_tree(tmp, default);
            }
            return Err(Error::ShiftLayer { source });
        }
        drop(guards);
        Ok(out)
    }
}

impl Store {
    /// Gives a new container's upper and work directories to the
    /// intermediate ids `uid`/`gid` (its root under a mapping that leaves
    /// the user unmapped, so its init could not take them itself), as root
    /// in a user namespace with the `default` maps. The caller must be
    /// single-threaded.
    pub fn give_container_dirs(
        &self,
        dirs: &ContainerDirs,
        default: &IdMaps,
        uid: u32,
        gid: u32,
    ) -> Result<(), Error> {
        give_dirs(
            vec![dirs.upper.clone(), dirs.work.clone()],
            default,
            uid,
            gid,
        )
    }

    /// Gives the data directories of new volumes (`paths`) to a new
    /// container's root, as `give_container_dirs` gives it its upper
    /// directory: the container fills them first, and its root must be
    /// able to write them (Podman gives a new volume to the container
    /// that first uses it). The caller must be single-threaded.
    pub fn give_volume_dirs(
        &self,
        paths: Vec<PathBuf>,
        default: &IdMaps,
        uid: u32,
        gid: u32,
    ) -> Result<(), Error> {
        give_dirs(paths, default, uid, gid)
    }
}

/// Gives `paths` (not what is below them) to the intermediate ids
/// `uid`/`gid`, as root in a user namespace with the `default` maps.
fn give_dirs(paths: Vec<PathBuf>, default: &IdMaps, uid: u32, gid: u32) -> Result<(), Error> {
    userns::run_as_root(default, nix::sched::CloneFlags::empty(), move || {
        for p in &paths {
            nix::unistd::chown(
                p.as_path(),
                Some(Uid::from_raw(uid)),
                Some(Gid::from_raw(gid)),
            )
            .map_err(|e| format!("changing the owner of {}: {e}", p.display()))?;
        }
        Ok(())
    })
    .map_err(|source| Error::ShiftLayer { source })
}

/// A short name for a mapping: the digest of its intermediate map lines.
fn mapping_key(uids: &[IdMap], gids: &[IdMap]) -> String {
    let text = format!("u{}g{}", userns::map_lines(uids), userns::map_lines(gids));
    Digest::of(text.as_bytes()).hex()[..16].to_string()
}

/// How owners change: container id in the default mapping → the
/// intermediate id the new mapping gives that container id.
struct Shift<'a> {
    uids: &'a [IdMap],
    gids: &'a [IdMap],
    /// First copy of each multiply linked file, by (dev, ino): its path
    /// below the copy's root.
    links: HashMap<(u64, u64), PathBuf>,
}

impl Shift<'_> {
    fn owner(&self, st: &FileStat) -> (Option<Uid>, Option<Gid>) {
        (
            Some(Uid::from_raw(
                map_id(self.uids, st.st_uid).unwrap_or(st.st_uid),
            )),
            Some(Gid::from_raw(
                map_id(self.gids, st.st_gid).unwrap_or(st.st_gid),
            )),
        )
    }
}

/// Copies the layer directory `src` to the new directory `dest` with
/// owners shifted by `uids`/`gids`.
fn copy_layer(src: &Path, dest: &Path, uids: &[IdMap], gids: &[IdMap]) -> Result<(), String> {
    let dir_flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let src_fd = nix::fcntl::open(src, dir_flags, Mode::empty())
        .map_err(|e| format!("opening the layer: {e}"))?;
    let st =
        nix::sys::stat::fstat(src_fd.as_fd()).map_err(|e| format!("reading the layer: {e}"))?;
    nix::unistd::mkdir(dest, Mode::from_bits_truncate(0o700))
        .map_err(|e| format!("creating {}: {e}", dest.display()))?;
    let dest_fd = nix::fcntl::open(dest, dir_flags, Mode::empty())
        .map_err(|e| format!("opening {}: {e}", dest.display()))?;
    let mut shift = Shift {
        uids,
        gids,
        links: HashMap::new(),
    };
    copy_dir_contents(
        &mut shift,
        src_fd.as_fd(),
        dest_fd.as_fd(),
        dest_fd.as_fd(),
        Path::new(""),
    )?;
    finish_dir(&shift, src_fd.as_fd(), dest_fd.as_fd(), &st).map_err(|e| format!("/: {e}"))
}

fn copy_dir_contents(
    shift: &mut Shift<'_>,
    src: BorrowedFd<'_>,
    dest: BorrowedFd<'_>,
    dest_root: BorrowedFd<'_>,
    rel: &Path,
) -> Result<(), String> {
    for name in list_dir(src).map_err(|e| format!("/{}: listing: {e}", rel.display()))? {
        let path = rel.join(&name);
        copy_entry(shift, src, dest, dest_root, &name, &path)
            .map_err(|e| format!("/{}: {e}", path.display()))?;
    }
    Ok(())
}

fn copy_entry(
    shift: &mut Shift<'_>,
    src: BorrowedFd<'_>,
    dest: BorrowedFd<'_>,
    dest_root: BorrowedFd<'_>,
    name: &OsStr,
    path: &Path,
) -> Result<(), String> {
    let st = fstatat(src, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| e.to_string())?;
    let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
    let perm = Mode::from_bits_truncate(st.st_mode & 0o7777);
    let (uid, gid) = shift.owner(&st);
    match kind {
        SFlag::S_IFDIR => {
            mkdirat(dest, name, Mode::from_bits_truncate(0o700)).map_err(|e| e.to_string())?;
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let s = openat(src, name, flags, Mode::empty()).map_err(|e| e.to_string())?;
            let d = openat(dest, name, flags, Mode::empty()).map_err(|e| e.to_string())?;
            copy_dir_contents(shift, s.as_fd(), d.as_fd(), dest_root, path)?;
            finish_dir(shift, s.as_fd(), d.as_fd(), &st)
        }
        SFlag::S_IFREG => {
            let id = (st.st_dev, st.st_ino);
            if st.st_nlink > 1 {
                if let Some(first) = shift.links.get(&id) {
                    return linkat(dest_root, first.as_path(), dest, name, AtFlags::empty())
                        .map_err(|e| format!("linking to /{}: {e}", first.display()));
                }
                shift.links.insert(id, path.to_path_buf());
            }
            let s = openat(
                src,
                name,
                OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| e.to_string())?;
            let d = openat(
                dest,
                name,
                OFlag::O_WRONLY
                    | OFlag::O_CREAT
                    | OFlag::O_EXCL
                    | OFlag::O_NOFOLLOW
                    | OFlag::O_CLOEXEC,
                Mode::from_bits_truncate(0o600),
            )
            .map_err(|e| e.to_string())?;
            let (mut sf, mut df) = (std::fs::File::from(s), std::fs::File::from(d));
            std::io::copy(&mut sf, &mut df).map_err(|e| e.to_string())?;
            copy_xattrs(sf.as_fd(), df.as_fd())?;
            finish_fd(df.as_fd(), &st, uid, gid, perm)
        }
        SFlag::S_IFLNK => {
            let target = readlinkat(src, name).map_err(|e| e.to_string())?;
            symlinkat(target.as_os_str(), dest, name).map_err(|e| e.to_string())?;
            fchownat(dest, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| format!("changing the owner: {e}"))?;
            utimensat(
                dest,
                name,
                &atime(&st),
                &mtime(&st),
                UtimensatFlags::NoFollowSymlink,
            )
            .map_err(|e| e.to_string())
        }
        SFlag::S_IFCHR | SFlag::S_IFBLK | SFlag::S_IFIFO => {
            // Character device 0/0 is an overlay whiteout, which a user
            // namespace may create; the unpacker allows nothing else.
            mknodat(dest, name, kind, perm, st.st_rdev).map_err(|e| e.to_string())?;
            fchownat(dest, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW)
                .map_err(|e| format!("changing the owner: {e}"))?;
            fchmodat(dest, name, perm, FchmodatFlags::FollowSymlink).map_err(|e| e.to_string())
        }
        _ => Ok(()),
    }
}

/// Owner, xattrs (overlay's opaque marker among them), mode and times of
/// a copied directory, set after its contents so the times stay.
fn finish_dir(
    shift: &Shift<'_>,
    src: BorrowedFd<'_>,
    dest: BorrowedFd<'_>,
    st: &FileStat,
) -> Result<(), String> {
    copy_xattrs(src, dest)?;
    let (uid, gid) = shift.owner(st);
    finish_fd(
        dest,
        st,
        uid,
        gid,
        Mode::from_bits_truncate(st.st_mode & 0o7777),
    )
}

/// Owner first (chown clears set-id bits), then mode, then times.
fn finish_fd(
    fd: BorrowedFd<'_>,
    st: &FileStat,
    uid: Option<Uid>,
    gid: Option<Gid>,
    perm: Mode,
) -> Result<(), String> {
    nix::unistd::fchown(fd, uid, gid).map_err(|e| format!("changing the owner: {e}"))?;
    fchmod(fd, perm).map_err(|e| format!("changing the mode: {e}"))?;
    futimens(fd, &atime(st), &mtime(st)).map_err(|e| format!("setting the times: {e}"))
}

/// Copies every attribute a user namespace may set; others (trusted.*)
/// are skipped.
fn copy_xattrs(src: BorrowedFd<'_>, dest: BorrowedFd<'_>) -> Result<(), String> {
    for name in fxattr::flist(src).map_err(|e| format!("listing xattrs: {e}"))? {
        let Some(value) = fxattr::fget(src, &name).map_err(|e| format!("reading xattrs: {e}"))?
        else {
            continue;
        };
        match xattr::fset(dest, &name, &value) {
            Ok(()) => {}
            Err(e)
                if matches!(e.kind(), ErrorKind::PermissionDenied)
                    || e.raw_os_error() == Some(libc::ENOTSUP) => {}
            Err(e) => {
                return Err(format!(
                    "setting xattr {}: {e}",
                    OsString::from(OsStr::from_bytes(&name)).to_string_lossy()
                ))
            }
        }
    }
    Ok(())
}

fn atime(st: &FileStat) -> TimeSpec {
    TimeSpec::new(st.st_atime, st.st_atime_nsec)
}

fn mtime(st: &FileStat) -> TimeSpec {
    TimeSpec::new(st.st_mtime, st.st_mtime_nsec)
}

/// The names in directory `dir`, without `.` and `..`.
fn list_dir(dir: BorrowedFd<'_>) -> std::io::Result<Vec<OsString>> {
    let fd: OwnedFd = openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut d = nix::dir::Dir::from_fd(fd)?;
    let mut names = Vec::new();
    for e in d.iter() {
        let e = e?;
        let name = OsStr::from_bytes(e.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(name.to_os_string());
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_key_depends_on_both_maps() {
        let a = [IdMap {
            container: 0,
            host: 1,
            size: 10,
        }];
        let b = [IdMap {
            container: 0,
            host: 2,
            size: 10,
        }];
        assert_eq!(mapping_key(&a, &a), mapping_key(&a, &a));
        assert_ne!(mapping_key(&a, &a), mapping_key(&a, &b));
        assert_ne!(mapping_key(&a, &b), mapping_key(&b, &a));
        assert_eq!(mapping_key(&a, &a).len(), 16);
    }

    #[test]
    fn copy_keeps_content_links_and_modes_as_the_same_user() {
        let tmp_guard = tempfile::tempdir().unwrap();
        let tmp = tmp_guard.path();
        let src = tmp.join("src");
        std::fs::create_dir_all(src.join("d/e")).unwrap();
        std::fs::write(src.join("d/f"), b"hello").unwrap();
        std::fs::hard_link(src.join("d/f"), src.join("g")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", src.join("d/link")).unwrap();
        std::fs::set_permissions(
            src.join("d/f"),
            std::os::unix::fs::PermissionsExt::from_mode(0o751),
        )
        .unwrap();
        let me = nix::unistd::getuid().as_raw();
        let gid = nix::unistd::getgid().as_raw();
        // A map that keeps the caller's ids: chown to oneself always works.
        let uids = [IdMap {
            container: me,
            host: me,
            size: 1,
        }];
        let gids = [IdMap {
            container: gid,
            host: gid,
            size: 1,
        }];
        let dest = tmp.join("dest");
        copy_layer(&src, &dest, &uids, &gids).unwrap();
        assert_eq!(std::fs::read(dest.join("d/f")).unwrap(), b"hello");
        assert_eq!(
            std::fs::read_link(dest.join("d/link")).unwrap(),
            Path::new("/etc/passwd")
        );
        use std::os::unix::fs::MetadataExt;
        let f = std::fs::metadata(dest.join("d/f")).unwrap();
        assert_eq!(f.mode() & 0o7777, 0o751);
        assert_eq!(f.ino(), std::fs::metadata(dest.join("g")).unwrap().ino());
        assert!(dest.join("d/e").is_dir());
    }
}
