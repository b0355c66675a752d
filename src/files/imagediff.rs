//! `image diff`: what an image changes against its parent layer (its top
//! layer read as a container's upper directory is read, see `diff`), or
//! against a second image: both merged file trees compared as Podman's
//! naive diff (containers/storage `ChangesDirs`) compares them.
//!
//! Layers are hostile and owned by subordinate ids, so they are read in a
//! helper that is root in a user namespace with the user's maps, opened
//! before it starts and walked without following symlinks.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode, SFlag};

use super::archive::{is_opaque, list_dir, OPAQUE_MARKER, WHITEOUT_PREFIX};
use super::diff::{self, Change, ChangeKind};
use super::Error;
use crate::sys::fs::{openat2, Resolve};
use crate::userns::{self, IdMaps};

/// Lists what the image of `layers` (unpacked, top first) changes against
/// the image of `other` (the same), or without `other` against its own
/// layers below the top one; sorted by path. Must be called
/// single-threaded.
pub fn image_diff(
    layers: &[PathBuf],
    other: Option<&[PathBuf]>,
    maps: &IdMaps,
) -> Result<Vec<Change>, Error> {
    let open_all = |paths: &[PathBuf]| -> Result<Vec<OwnedFd>, Error> {
        paths
            .iter()
            .map(|p| {
                openat2(
                    nix::fcntl::AT_FDCWD,
                    p,
                    libc::O_PATH | libc::O_DIRECTORY,
                    0,
                    Resolve::NO_SYMLINKS,
                )
                .map_err(|source| Error::OpenHost {
                    path: p.clone(),
                    source,
                })
            })
            .collect()
    };
    let new = open_all(layers)?;
    let old = other.map(open_all).transpose()?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let ends = [rx.as_fd()];
    let helper =
        super::enter::spawn_in_userns(maps, "reading the images' layers", &ends, move || {
            let changes = match old {
                None => match new.split_first() {
                    Some((top, below)) => diff::walk_upper(top.as_fd(), below),
                    None => Ok(Vec::new()),
                },
                Some(old) => compare_images(&new, &old),
            }
            .map_err(|e| format!("reading the layers: {e}"))?;
            diff::send(&changes, tx)
        })?;
    let mut raw = Vec::new();
    let read = std::fs::File::from(rx).read_to_end(&mut raw);
    helper.wait()?;
    read.map_err(Error::Stream)?;
    Ok(diff::decode(&raw))
}

/// What `stat` tells of an entry that Podman's naive diff compares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Meta {
    mode: u32,
    uid: u32,
    gid: u32,
    rdev: u64,
    size: i64,
    mtime: (i64, i64),
}

impl Meta {
    fn of(st: &FileStat) -> Meta {
        Meta {
            mode: st.st_mode,
            uid: st.st_uid,
            gid: st.st_gid,
            rdev: st.st_rdev,
            size: st.st_size,
            mtime: (st.st_mtime, st.st_mtime_nsec),
        }
    }

    fn is_dir(&self) -> bool {
        self.mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits()
    }

    /// containers/storage's `statDifferent`: type and permissions, owner,
    /// device; for anything but a directory also the size and the
    /// modification time (the same second with a zero nanosecond part on
    /// either side counts as the same, as a tar keeps whole seconds).
    fn differs(&self, old: &Meta) -> bool {
        let same_time = self.mtime == old.mtime
            || (self.mtime.0 == old.mtime.0 && (self.mtime.1 == 0 || old.mtime.1 == 0));
        self.mode != old.mode
            || (self.uid, self.gid) != (old.uid, old.gid)
            || self.rdev != old.rdev
            || (!old.is_dir() && (!same_time || self.size != old.size))
    }
}

/// One entry of a merged tree.
#[derive(Debug, Default)]
struct Node {
    meta: Meta,
    children: BTreeMap<OsString, Node>,
}

/// Compares the merged trees of two images' layers (top first).
fn compare_images(new: &[OwnedFd], old: &[OwnedFd]) -> std::io::Result<Vec<Change>> {
    let (new, old) = (merge(new)?, merge(old)?);
    let mut out = Vec::new();
    add_changes(&new, Some(&old), Path::new("/"), false, &mut out);
    out.sort();
    Ok(out)
}

/// The tree the layers (top first) make, as overlayfs shows it.
fn merge(layers: &[OwnedFd]) -> std::io::Result<Node> {
    let mut root = Node::default();
    root.meta.mode = SFlag::S_IFDIR.bits() | 0o755;
    for layer in layers.iter().rev() {
        let dir = openat(
            layer.as_fd(),
            ".",
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        root.meta = Meta::of(&nix::sys::stat::fstat(dir.as_fd())?);
        merge_dir(&mut root, dir.as_fd())?;
    }
    Ok(root)
}

/// Lays directory `dir` of a layer over `node`: whiteouts remove, an
/// opaque directory hides what the layers below hold in it.
fn merge_dir(node: &mut Node, dir: BorrowedFd<'_>) -> std::io::Result<()> {
    let names = list_dir(dir)?;
    let has_marker = names
        .iter()
        .any(|n| n.as_bytes() == OPAQUE_MARKER.as_bytes());
    if has_marker || is_opaque(dir) {
        node.children.clear();
    }
    for name in names {
        let bytes = name.as_bytes();
        if bytes == OPAQUE_MARKER.as_bytes() {
            continue;
        }
        if let Some(gone) = bytes.strip_prefix(WHITEOUT_PREFIX) {
            node.children.remove(OsStr::from_bytes(gone));
            continue;
        }
        let st = fstatat(dir, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        let meta = Meta::of(&st);
        if meta.mode & SFlag::S_IFMT.bits() == SFlag::S_IFCHR.bits() && st.st_rdev == 0 {
            node.children.remove(&name);
            continue;
        }
        if !meta.is_dir() {
            node.children.insert(
                name,
                Node {
                    meta,
                    children: BTreeMap::new(),
                },
            );
            continue;
        }
        let child = node.children.entry(name.clone()).or_default();
        if !child.meta.is_dir() {
            child.children.clear();
        }
        child.meta = meta;
        let fd = openat(
            dir,
            name.as_os_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        merge_dir(child, fd.as_fd())?;
    }
    Ok(())
}

/// containers/storage's `addChanges`: `new` at `path` against `old`. An
/// entry only in `new` is added with everything below it, one only in
/// `old` deleted (its own line only), one in both changed when its stat
/// differs; a directory with changes below it that is neither is changed
/// too (but `/`).
fn add_changes(
    new: &Node,
    old: Option<&Node>,
    path: &Path,
    is_changed: bool,
    out: &mut Vec<Change>,
) {
    let at_entry = out.len();
    if old.is_none() {
        out.push(Change {
            path: path.to_path_buf(),
            kind: ChangeKind::Added,
        });
    }
    // Only a directory is compared child by child with what was there.
    let mut old_children: BTreeMap<&OsString, &Node> = match old {
        Some(old) if new.meta.is_dir() => old.children.iter().collect(),
        _ => BTreeMap::new(),
    };
    for (name, child) in &new.children {
        let child_path = path.join(name);
        let old_child = old_children.remove(name);
        let is_child_changed = old_child.is_some_and(|o| child.meta.differs(&o.meta));
        if is_child_changed {
            out.push(Change {
                path: child_path.clone(),
                kind: ChangeKind::Changed,
            });
        }
        add_changes(child, old_child, &child_path, is_child_changed, out);
    }
    for name in old_children.keys() {
        out.push(Change {
            path: path.join(name),
            kind: ChangeKind::Deleted,
        });
    }
    let is_reported = old.is_none() || is_changed;
    if out.len() > at_entry && new.meta.is_dir() && !is_reported && path != Path::new("/") {
        out.insert(
            at_entry,
            Change {
                path: path.to_path_buf(),
                kind: ChangeKind::Changed,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(p: &Path) -> OwnedFd {
        openat2(
            nix::fcntl::AT_FDCWD,
            p,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            Resolve::NO_SYMLINKS,
        )
        .unwrap()
    }

    fn lines(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path.display()))
            .collect()
    }

    /// Sets `p`'s modification time to `secs` (so equal content compares
    /// equal, as layers unpacked from tars do).
    fn at(p: &Path, secs: i64) {
        let t = nix::sys::time::TimeSpec::new(secs, 0);
        nix::sys::stat::utimensat(
            nix::fcntl::AT_FDCWD,
            p,
            &t,
            &t,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .unwrap();
    }

    /// A layer at `dir` with `files` (path, content), all at time 1.
    fn layer(dir: &Path, files: &[(&str, &str)]) {
        for (path, content) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
            at(&p, 1);
        }
    }

    #[test]
    fn two_images_compare_as_podmans_naive_diff() {
        let dir = tempfile::tempdir().unwrap();
        let (base, top) = (dir.path().join("base"), dir.path().join("top"));
        let files = [
            ("bin/ls", "ls"),
            ("bin/sh", "sh"),
            ("etc/passwd", "root"),
            ("tmp/keep", ""),
        ];
        layer(&base, &files);
        // The second image: base with a layer that deletes /bin/ls (as
        // `.wh.ls`), changes /etc/passwd and adds /tmp/d/f and /new.
        layer(
            &top,
            &[
                ("etc/passwd", "root\nz"),
                ("tmp/d/f", "y"),
                ("new", "x"),
                ("bin/.wh.ls", ""),
            ],
        );
        let one = [open(&base)];
        let two = [open(&top), open(&base)];
        assert_eq!(
            lines(&compare_images(&two, &one).unwrap()),
            [
                "C /bin",
                "D /bin/ls",
                "C /etc",
                "C /etc/passwd",
                "A /new",
                "C /tmp",
                "A /tmp/d",
                "A /tmp/d/f"
            ]
        );
        // The other way round: what was added is deleted, alone.
        assert_eq!(
            lines(&compare_images(&one, &two).unwrap()),
            [
                "C /bin",
                "A /bin/ls",
                "C /etc",
                "C /etc/passwd",
                "D /new",
                "C /tmp",
                "D /tmp/d"
            ]
        );
        assert!(compare_images(&one, &one).unwrap().is_empty());
    }

    #[test]
    fn a_file_replaced_by_a_directory_is_changed_and_its_children_added() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        layer(&a, &[("x", "file")]);
        layer(&b, &[("x/inner", "")]);
        let changes = compare_images(&[open(&b)], &[open(&a)]).unwrap();
        assert_eq!(lines(&changes), ["C /x", "A /x/inner"]);
        let changes = compare_images(&[open(&a)], &[open(&b)]).unwrap();
        assert_eq!(lines(&changes), ["C /x"]);
    }
}
