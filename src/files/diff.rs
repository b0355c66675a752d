//! `diff`: what a container changed, read from its overlay upper directory
//! and compared with the image's layers.
//!
//! Rules: a whiteout (char device 0/0, or fuse-overlayfs's `.wh.NAME`) is
//! `D`; an entry that also exists in the layers below is `C`, else `A`;
//! everything inside an opaque directory is `A`. A directory present in
//! the upper directory only because a child changed is therefore `C`.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, FileStat, Mode, SFlag};

use super::archive::{is_opaque, list_dir, OPAQUE_MARKER, WHITEOUT_PREFIX};
use super::{Error, Layout};
use crate::sys::fs::{openat2, Resolve};
use crate::userns::{self};

/// What happened to a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// Added.
    Added,
    /// Changed.
    Changed,
    /// Deleted.
    Deleted,
}

impl ChangeKind {
    /// `A`, `C` or `D`, as `diff` prints it.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Changed => 'C',
            ChangeKind::Deleted => 'D',
        }
    }

    fn from_letter(c: u8) -> Option<ChangeKind> {
        match c {
            b'A' => Some(ChangeKind::Added),
            b'C' => Some(ChangeKind::Changed),
            b'D' => Some(ChangeKind::Deleted),
            _ => None,
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    /// Absolute path inside the container.
    pub path: PathBuf,
    /// What happened to it.
    pub kind: ChangeKind,
}

/// See `files::diff`.
pub fn diff(plan: &Layout) -> Result<Vec<Change>, Error> {
    let open = |p: &Path| {
        openat2(
            nix::fcntl::AT_FDCWD,
            p,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            Resolve::NO_SYMLINKS,
        )
        .map_err(|source| Error::OpenHost {
            path: p.to_path_buf(),
            source,
        })
    };
    let upper = open(&plan.dirs.upper)?;
    let lowers = plan
        .lowers
        .iter()
        .map(|l| open(l))
        .collect::<Result<Vec<_>, _>>()?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let ends = [rx.as_fd()];
    let helper = super::enter::spawn_in_userns(
        &plan.maps,
        "reading the container's changes",
        &ends,
        move || {
            let mut changes = walk_upper(upper.as_fd(), &lowers)
                .map_err(|e| format!("reading the upper directory: {e}"))?;
            // hutch's own mount points are no change of the container's.
            let own = super::mountpoints::own_entries(upper.as_fd(), &lowers)
                .map_err(|e| format!("reading the upper directory: {e}"))?;
            changes.retain(|c| !own.contains(&c.path));
            send(&changes, tx)
        },
    )?;
    let mut raw = Vec::new();
    let read = std::fs::File::from(rx).read_to_end(&mut raw);
    helper.wait()?;
    read.map_err(Error::Stream)?;
    Ok(decode(&raw))
}

/// In a helper: writes `changes` to `tx` as `LETTER PATH NUL` records.
pub(super) fn send(changes: &[Change], tx: OwnedFd) -> Result<(), String> {
    let mut out = std::io::BufWriter::new(std::fs::File::from(tx));
    for c in changes {
        out.write_all(&[c.kind.letter() as u8])
            .and_then(|()| out.write_all(c.path.as_os_str().as_bytes()))
            .and_then(|()| out.write_all(b"\0"))
            .map_err(|e| format!("sending the changes: {e}"))?;
    }
    out.flush().map_err(|e| format!("sending the changes: {e}"))
}

/// Parses the helper's `LETTER PATH NUL` records.
pub(super) fn decode(raw: &[u8]) -> Vec<Change> {
    raw.split(|&b| b == 0)
        .filter_map(|rec| {
            let (&k, path) = rec.split_first()?;
            Some(Change {
                kind: ChangeKind::from_letter(k)?,
                path: PathBuf::from(OsStr::from_bytes(path)),
            })
        })
        .collect()
}

/// Lists the changes in `upper` against `lowers` (top first), sorted.
pub fn walk_upper(upper: BorrowedFd<'_>, lowers: &[OwnedFd]) -> std::io::Result<Vec<Change>> {
    let mut out = Vec::new();
    walk_dir(upper, Path::new("/"), lowers, false, &mut out)?;
    out.sort();
    Ok(out)
}

fn kind_of(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

fn is_whiteout(st: &FileStat) -> bool {
    kind_of(st) == SFlag::S_IFCHR && st.st_rdev == 0
}

fn walk_dir(
    dir: BorrowedFd<'_>,
    path: &Path,
    lowers: &[OwnedFd],
    is_inside_opaque: bool,
    out: &mut Vec<Change>,
) -> std::io::Result<()> {
    for name in list_dir(dir)? {
        let bytes = name.as_bytes();
        let child = path.join(&name);
        let st = fstatat(dir, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
        if is_whiteout(&st) {
            out.push(Change {
                path: child,
                kind: ChangeKind::Deleted,
            });
            continue;
        }
        if bytes == OPAQUE_MARKER.as_bytes() {
            continue;
        }
        if let Some(gone) = bytes.strip_prefix(WHITEOUT_PREFIX) {
            out.push(Change {
                path: path.join(OsStr::from_bytes(gone)),
                kind: ChangeKind::Deleted,
            });
            continue;
        }
        let is_below = !is_inside_opaque && exists_below(lowers, &child);
        out.push(Change {
            path: child.clone(),
            kind: if is_below {
                ChangeKind::Changed
            } else {
                ChangeKind::Added
            },
        });
        if kind_of(&st) == SFlag::S_IFDIR {
            let fd = openat(
                dir,
                name.as_os_str(),
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )?;
            let is_opaque_here = is_opaque(fd.as_fd())
                || fstatat(fd.as_fd(), OPAQUE_MARKER, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok();
            walk_dir(
                fd.as_fd(),
                &child,
                lowers,
                is_inside_opaque || is_opaque_here,
                out,
            )?;
        }
    }
    Ok(())
}

/// Whether the absolute `path` exists in the union of `lowers` (top
/// first), honouring whiteouts and opaque directories among them.
pub fn exists_below(lowers: &[OwnedFd], path: &Path) -> bool {
    let parts: Vec<&OsStr> = path
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let Some((leaf, parents)) = parts.split_last() else {
        return true;
    };
    for layer in lowers {
        match lookup(layer.as_fd(), parents, leaf) {
            Lookup::Found => return true,
            Lookup::Hidden => return false,
            Lookup::Missing { is_opaque: true } => return false,
            Lookup::Missing { is_opaque: false } => {}
        }
    }
    false
}

enum Lookup {
    Found,
    /// A whiteout (or a non-directory parent) hides it and all below.
    Hidden,
    /// Not in this layer; `is_opaque` when a parent hides the layers below.
    Missing {
        is_opaque: bool,
    },
}

fn lookup(layer: BorrowedFd<'_>, parents: &[&OsStr], leaf: &OsStr) -> Lookup {
    let mut cur: Option<OwnedFd> = None;
    let mut is_opaque_seen = false;
    for p in parents {
        let dir = cur.as_ref().map_or(layer, |f| f.as_fd());
        let st = match fstatat(dir, *p, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(_) => {
                return Lookup::Missing {
                    is_opaque: is_opaque_seen,
                }
            }
        };
        if kind_of(&st) != SFlag::S_IFDIR {
            return Lookup::Hidden;
        }
        let Ok(next) = openat(
            dir,
            *p,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            return Lookup::Missing {
                is_opaque: is_opaque_seen,
            };
        };
        is_opaque_seen |= is_opaque(next.as_fd());
        cur = Some(next);
    }
    let dir = cur.as_ref().map_or(layer, |f| f.as_fd());
    match fstatat(dir, leaf, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) if is_whiteout(&st) => Lookup::Hidden,
        Ok(_) => Lookup::Found,
        Err(_) => Lookup::Missing {
            is_opaque: is_opaque_seen,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sys::xattr;

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

    #[test]
    fn classifies_upper_entries_against_the_layers() {
        let dir = tempfile::tempdir().unwrap();
        let (lower, upper) = (dir.path().join("lower"), dir.path().join("upper"));
        for d in ["bin", "etc/app", "var"] {
            std::fs::create_dir_all(lower.join(d)).unwrap();
        }
        std::fs::write(lower.join("bin/sh"), b"").unwrap();
        std::fs::write(lower.join("etc/app/conf"), b"").unwrap();
        for d in ["bin", "etc/app", "new/deep"] {
            std::fs::create_dir_all(upper.join(d)).unwrap();
        }
        std::fs::write(upper.join("bin/sh"), b"changed").unwrap();
        std::fs::write(upper.join("new/deep/f"), b"").unwrap();
        // fuse-overlayfs's file form of a whiteout.
        std::fs::write(upper.join("etc/app/.wh.conf"), b"").unwrap();
        let changes = walk_upper(open(&upper).as_fd(), &[open(&lower)]).unwrap();
        assert_eq!(
            lines(&changes),
            vec![
                "C /bin",
                "C /bin/sh",
                "C /etc",
                "C /etc/app",
                "D /etc/app/conf",
                "A /new",
                "A /new/deep",
                "A /new/deep/f",
            ]
        );
    }

    #[test]
    fn everything_in_an_opaque_dir_is_added() {
        let dir = tempfile::tempdir().unwrap();
        let (lower, upper) = (dir.path().join("lower"), dir.path().join("upper"));
        std::fs::create_dir_all(lower.join("var/cache")).unwrap();
        std::fs::write(lower.join("var/cache/old"), b"").unwrap();
        std::fs::create_dir_all(upper.join("var/cache")).unwrap();
        std::fs::write(upper.join("var/cache/old"), b"").unwrap();
        let f = std::fs::File::open(upper.join("var/cache")).unwrap();
        if xattr::fset(f.as_fd(), b"user.overlay.opaque", b"y").is_err() {
            // No user xattrs here: mark it the way layers do.
            std::fs::write(upper.join("var/cache/.wh..wh..opq"), b"").unwrap();
        }
        let changes = walk_upper(open(&upper).as_fd(), &[open(&lower)]).unwrap();
        assert_eq!(
            lines(&changes),
            vec!["C /var", "C /var/cache", "A /var/cache/old"]
        );
    }

    #[test]
    fn lookups_honour_whiteouts_and_opaque_dirs_among_layers() {
        let dir = tempfile::tempdir().unwrap();
        let (top, bottom) = (dir.path().join("top"), dir.path().join("bottom"));
        std::fs::create_dir_all(bottom.join("a")).unwrap();
        std::fs::write(bottom.join("a/f"), b"").unwrap();
        std::fs::write(bottom.join("g"), b"").unwrap();
        std::fs::create_dir_all(top.join("a")).unwrap();
        // A non-directory above hides everything below its path.
        std::fs::write(top.join("g2"), b"").unwrap();
        let lowers = [open(&top), open(&bottom)];
        assert!(exists_below(&lowers, Path::new("/a/f")));
        assert!(exists_below(&lowers, Path::new("/g")));
        assert!(!exists_below(&lowers, Path::new("/nope")));
        assert!(!exists_below(&lowers, Path::new("/g2/x")));
        let f = std::fs::File::open(top.join("a")).unwrap();
        if xattr::fset(f.as_fd(), b"user.overlay.opaque", b"y").is_ok() {
            assert!(!exists_below(&lowers, Path::new("/a/f")));
        }
    }
}
