//! Creating archive entries beneath a layer's directory fd.
//!
//! Every operation is relative to a directory fd: parents are resolved
//! with openat2 `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` from the layer
//! root (so a symlink planted by an earlier entry cannot redirect a later
//! one outside), missing parents are made one component at a time, and
//! leaves are created with the `*at` calls on the parent fd with
//! `O_NOFOLLOW`/`AT_SYMLINK_NOFOLLOW`. Nothing here joins path strings.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat, AtFlags, OFlag, AT_FDCWD};
use nix::sys::stat::{
    fchmod, fchmodat, fstatat, futimens, makedev, mkdirat, mknodat, utimensat, FchmodatFlags, Mode,
    SFlag, UtimensatFlags,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{
    fchown, fchownat, linkat, mkfifoat, symlinkat, unlinkat, Gid, Uid, UnlinkatFlags,
};

use super::tarpath::{self, PathError, Whiteout};
use crate::sys::fs::{openat2, proc_fd_path, Resolve};
use crate::sys::xattr;

/// The xattr overlayfs reads (with the `userxattr` mount option) to treat a
/// directory as opaque.
const OPAQUE_XATTR: &[u8] = b"user.overlay.opaque";

/// Why one entry could not be created.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error("unsupported entry type {0:?}")]
    UnsupportedType(char),
    #[error("invalid whiteout name")]
    InvalidWhiteout,
    #[error("link without a target")]
    MissingLinkTarget,
    #[error("hard link target {target:?} passes through a symlink")]
    LinkThroughSymlink { target: PathBuf },
    #[error("hard link target {target:?} not found in the layer")]
    LinkTargetMissing { target: PathBuf },
    #[error("uid or gid {0} is out of range")]
    IdOutOfRange(u64),
    #[error("opening the parent directory")]
    OpenParent(#[source] io::Error),
    #[error("creating parent directory {path:?}")]
    CreateParent {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("replacing the existing entry")]
    RemoveExisting(#[source] io::Error),
    #[error("creating the {kind}")]
    Create {
        kind: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("writing the contents")]
    WriteContents(#[source] io::Error),
    #[error("setting the owner to {uid}:{gid}")]
    SetOwner {
        uid: u32,
        gid: u32,
        #[source]
        source: io::Error,
    },
    #[error("setting mode {mode:o}")]
    SetMode {
        mode: u32,
        #[source]
        source: io::Error,
    },
    #[error("setting xattr {name}")]
    SetXattr {
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("setting the modification time")]
    SetTimes(#[source] io::Error),
    #[error("linking to {target:?}")]
    Link {
        target: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("marking the directory opaque")]
    Opaque(#[source] io::Error),
    #[error("would replace a {existing} with a {new} (--overwrite allows it)")]
    WouldReplace {
        existing: &'static str,
        new: &'static str,
    },
    #[error("removing the existing directory")]
    RemoveTree(#[source] io::Error),
}

/// Who owns what a copy creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The process unpacking (root of its user namespace, or the user).
    Caller,
    /// The uid and gid each tar header names.
    Archive,
    /// These ids, whatever the archive says (`cp --archive`).
    Fixed(u32, u32),
}

/// How a copy (`cp`, `volume import`) differs from a layer: names are
/// taken literally (`.wh.` means no whiteout), owners as `owner` says,
/// and an entry never silently changes a directory into a non-directory
/// or back: that needs `overwrite`, which removes what was there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyRules {
    /// Who owns the new entries.
    pub owner: Owner,
    /// Let a directory replace a non-directory and the reverse.
    pub overwrite: bool,
}

/// Ownership, mode, times and xattrs of one entry, from its tar header and
/// PAX records.
#[derive(Debug, Clone)]
pub struct Meta {
    /// Permission bits including setuid, setgid and sticky.
    pub mode: u32,
    /// Owner inside the container.
    pub uid: u32,
    /// Group inside the container.
    pub gid: u32,
    /// Modification time (also used as access time).
    pub mtime: TimeSpec,
    /// Extended attributes to set, already filtered.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Meta {
    /// Checks that tar's 64-bit ids fit the kernel's 32-bit ones.
    pub fn ids(uid: u64, gid: u64) -> Result<(u32, u32), EntryError> {
        let uid = u32::try_from(uid).map_err(|_| EntryError::IdOutOfRange(uid))?;
        let gid = u32::try_from(gid).map_err(|_| EntryError::IdOutOfRange(gid))?;
        Ok((uid, gid))
    }
}

/// What to create.
pub enum Kind<'r> {
    /// A directory.
    Dir,
    /// A regular file with these contents.
    File(&'r mut dyn Read),
    /// A symlink to this (uninterpreted) target.
    Symlink(Vec<u8>),
    /// A hard link to this normalised archive path.
    HardLink(PathBuf),
    /// A named pipe.
    Fifo,
}

/// A layer directory being filled, entry by entry.
pub struct LayerDir<'a> {
    root: BorrowedFd<'a>,
    preserve_owner: bool,
    /// A copy's rules; `None` for a layer.
    copy: Option<CopyRules>,
    /// Directories whose owner, mode and times are set at the end, so that
    /// a read-only directory can still be filled and later entries do not
    /// bump its mtime.
    deferred: Vec<(PathBuf, Meta)>,
}

fn io_err(e: Errno) -> io::Error {
    io::Error::from(e)
}

/// Resolves `path` beneath `root`; an escape (`EXDEV`) is reported as such.
fn open_beneath(
    root: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
    resolve: Resolve,
) -> Result<OwnedFd, Result<EntryError, io::Error>> {
    openat2(root, path, flags | libc::O_CLOEXEC, 0, resolve).map_err(|e| {
        if e.raw_os_error() == Some(libc::EXDEV) {
            Ok(EntryError::Path(PathError::Escapes))
        } else {
            Err(e)
        }
    })
}

const BENEATH: Resolve = Resolve::BENEATH;

fn beneath() -> Resolve {
    BENEATH | Resolve::NO_MAGICLINKS
}

impl<'a> LayerDir<'a> {
    /// Starts filling the directory `root`; with `preserve_owner` each
    /// entry gets the tar's uid and gid (which needs root in a user
    /// namespace that maps them).
    pub fn new(root: BorrowedFd<'a>, preserve_owner: bool) -> LayerDir<'a> {
        LayerDir {
            root,
            preserve_owner,
            copy: None,
            deferred: Vec::new(),
        }
    }

    /// Starts a copy into the directory `root` with `rules`; owners other
    /// than the caller need root in a user namespace that maps them.
    pub fn for_copy(root: BorrowedFd<'a>, rules: CopyRules) -> LayerDir<'a> {
        LayerDir {
            root,
            preserve_owner: rules.owner != Owner::Caller,
            copy: Some(rules),
            deferred: Vec::new(),
        }
    }

    /// Creates the entry at the normalised `path` (never empty).
    pub fn create(&mut self, path: &Path, kind: Kind<'_>, meta: &Meta) -> Result<(), EntryError> {
        let leaf = path.file_name().ok_or(PathError::Escapes)?;
        let parent = self.open_parent(path.parent())?;
        let parent = parent.as_fd();
        if self.copy.is_none() {
            match tarpath::whiteout(leaf.as_bytes()) {
                Whiteout::None => {}
                Whiteout::Opaque => return mark_opaque(parent),
                Whiteout::Remove(name) => return make_whiteout(parent, OsStr::from_bytes(name)),
                Whiteout::Invalid => return Err(EntryError::InvalidWhiteout),
            }
        }
        let owned;
        let meta = match self.copy.map(|c| c.owner) {
            Some(Owner::Fixed(uid, gid)) => {
                owned = Meta {
                    uid,
                    gid,
                    ..meta.clone()
                };
                &owned
            }
            _ => meta,
        };
        let is_dir = matches!(kind, Kind::Dir);
        if let Some(rules) = self.copy {
            if !matches!(kind, Kind::HardLink(_)) {
                replace_for_copy(parent, leaf, is_dir, rules.overwrite)?;
            }
        }
        match kind {
            Kind::Dir => self.create_dir(parent, leaf, path, meta),
            Kind::File(contents) => self.create_file(parent, leaf, contents, meta),
            Kind::Symlink(target) => self.create_symlink(parent, leaf, &target, meta),
            Kind::HardLink(target) => self.create_hard_link(parent, leaf, path, &target),
            Kind::Fifo => self.create_fifo(parent, leaf, meta),
        }
    }

    /// Applies the deferred directory metadata, deepest (latest) first so
    /// that a directory without search permission is closed last.
    pub fn finish(self) -> Result<(), (PathBuf, EntryError)> {
        let mut done = HashSet::new();
        for (path, meta) in self.deferred.iter().rev() {
            if !done.insert(path.clone()) {
                continue;
            }
            let fd = match open_beneath(
                self.root,
                path,
                libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                beneath(),
            ) {
                Ok(fd) => fd,
                // Replaced or whited out by a later entry: nothing to set.
                Err(Err(e))
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::ENOENT | libc::ENOTDIR | libc::ELOOP)
                    ) =>
                {
                    continue
                }
                Err(Ok(e)) => return Err((path.clone(), e)),
                Err(Err(e)) => return Err((path.clone(), EntryError::OpenParent(e))),
            };
            self.set_fd_meta(fd.as_fd(), meta)
                .map_err(|e| (path.clone(), e))?;
        }
        Ok(())
    }

    /// Opens (creating as needed) the directory `rel` beneath the root.
    fn open_parent(&self, rel: Option<&Path>) -> Result<OwnedFd, EntryError> {
        let flags = libc::O_PATH | libc::O_DIRECTORY;
        let rel = match rel {
            Some(r) if !r.as_os_str().is_empty() => r,
            _ => {
                return self
                    .root
                    .try_clone_to_owned()
                    .map_err(EntryError::OpenParent)
            }
        };
        match open_beneath(self.root, rel, flags, beneath()) {
            Ok(fd) => return Ok(fd),
            Err(Ok(e)) => return Err(e),
            Err(Err(e)) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(Err(e)) => return Err(EntryError::OpenParent(e)),
        }
        // Walk from the root, resolving each prefix beneath the root again,
        // so a symlink among the parents is followed only while it stays in.
        let mut cur = self
            .root
            .try_clone_to_owned()
            .map_err(EntryError::OpenParent)?;
        let mut prefix = PathBuf::new();
        for comp in rel.components() {
            let Component::Normal(name) = comp else {
                return Err(PathError::Escapes.into());
            };
            prefix.push(name);
            let next = match open_beneath(self.root, &prefix, flags, beneath()) {
                Ok(fd) => fd,
                Err(Err(e)) if e.raw_os_error() == Some(libc::ENOENT) => {
                    // Implied parents are 0755 whatever the umask, as the
                    // image would have them if it listed them.
                    let created = match mkdirat(cur.as_fd(), name, Mode::from_bits_truncate(0o755))
                    {
                        Ok(()) => fchmodat(
                            cur.as_fd(),
                            name,
                            Mode::from_bits_truncate(0o755),
                            FchmodatFlags::NoFollowSymlink,
                        )
                        .or_else(|e| match e {
                            // glibc cannot chmod without following on old
                            // kernels; the name is a directory just made.
                            Errno::EOPNOTSUPP => fchmodat(
                                cur.as_fd(),
                                name,
                                Mode::from_bits_truncate(0o755),
                                FchmodatFlags::FollowSymlink,
                            ),
                            other => Err(other),
                        }),
                        Err(Errno::EEXIST) => Ok(()),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = created {
                        return Err(EntryError::CreateParent {
                            path: prefix,
                            source: io_err(e),
                        });
                    }
                    match open_beneath(self.root, &prefix, flags, beneath()) {
                        Ok(fd) => fd,
                        Err(Ok(e)) => return Err(e),
                        Err(Err(e)) => return Err(EntryError::OpenParent(e)),
                    }
                }
                Err(Ok(e)) => return Err(e),
                Err(Err(e)) => return Err(EntryError::OpenParent(e)),
            };
            cur = next;
        }
        Ok(cur)
    }

    fn create_dir(
        &mut self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        path: &Path,
        meta: &Meta,
    ) -> Result<(), EntryError> {
        match fstatat(parent, leaf, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st)
                if SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
                    == SFlag::S_IFDIR => {}
            Ok(_) => {
                remove_existing(parent, leaf)?;
                mkdir(parent, leaf)?;
            }
            Err(Errno::ENOENT) => mkdir(parent, leaf)?,
            Err(e) => return Err(EntryError::RemoveExisting(io_err(e))),
        }
        if !meta.xattrs.is_empty() {
            let fd = openat(
                parent,
                leaf,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| EntryError::Create {
                kind: "directory",
                source: io_err(e),
            })?;
            for (name, value) in &meta.xattrs {
                xattr::fset(fd.as_fd(), name, value).map_err(|source| xattr_err(name, source))?;
            }
        }
        // The xattrs are set above; keeping them out of the deferred list
        // bounds its memory to a path and a few numbers per directory.
        let deferred = Meta {
            xattrs: Vec::new(),
            ..meta.clone()
        };
        self.deferred.push((path.to_path_buf(), deferred));
        Ok(())
    }

    fn create_file(
        &self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        contents: &mut dyn Read,
        meta: &Meta,
    ) -> Result<(), EntryError> {
        remove_existing(parent, leaf)?;
        let fd = openat(
            parent,
            leaf,
            OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o600),
        )
        .map_err(|e| EntryError::Create {
            kind: "file",
            source: io_err(e),
        })?;
        let mut file = File::from(fd);
        io::copy(contents, &mut file).map_err(EntryError::WriteContents)?;
        self.set_fd_meta(file.as_fd(), meta)?;
        for (name, value) in &meta.xattrs {
            xattr::fset(file.as_fd(), name, value).map_err(|source| xattr_err(name, source))?;
        }
        Ok(())
    }

    fn create_symlink(
        &self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        target: &[u8],
        meta: &Meta,
    ) -> Result<(), EntryError> {
        if target.is_empty() {
            return Err(EntryError::MissingLinkTarget);
        }
        remove_existing(parent, leaf)?;
        symlinkat(OsStr::from_bytes(target), parent, leaf).map_err(|e| EntryError::Create {
            kind: "symlink",
            source: io_err(e),
        })?;
        self.set_owner_at(parent, leaf, meta)?;
        self.set_xattrs_at(parent, leaf, meta)?;
        set_times_at(parent, leaf, meta)
    }

    fn create_hard_link(
        &self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        path: &Path,
        target: &Path,
    ) -> Result<(), EntryError> {
        if target == path {
            return Ok(());
        }
        // No symlinks at all on the way to the target, and O_NOFOLLOW so a
        // target that is itself a symlink is linked, not followed.
        let fd = match open_beneath(
            self.root,
            target,
            libc::O_PATH | libc::O_NOFOLLOW,
            BENEATH | Resolve::NO_SYMLINKS,
        ) {
            Ok(fd) => fd,
            Err(Ok(e)) => return Err(e),
            Err(Err(e)) => {
                return Err(match e.raw_os_error() {
                    Some(libc::ELOOP) => EntryError::LinkThroughSymlink {
                        target: target.to_path_buf(),
                    },
                    Some(libc::ENOENT | libc::ENOTDIR) => EntryError::LinkTargetMissing {
                        target: target.to_path_buf(),
                    },
                    _ => EntryError::Link {
                        target: target.to_path_buf(),
                        source: e,
                    },
                })
            }
        };
        match self.copy {
            Some(rules) => replace_for_copy(parent, leaf, false, rules.overwrite)?,
            None => remove_existing(parent, leaf)?,
        }
        // linkat(2) with AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH in the
        // initial namespace; following the fd's /proc link does not (open(2),
        // O_TMPFILE example).
        linkat(
            AT_FDCWD,
            &proc_fd_path(fd.as_fd()),
            parent,
            leaf,
            AtFlags::AT_SYMLINK_FOLLOW,
        )
        .map_err(|e| EntryError::Link {
            target: target.to_path_buf(),
            source: io_err(e),
        })
    }

    fn create_fifo(
        &self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        meta: &Meta,
    ) -> Result<(), EntryError> {
        remove_existing(parent, leaf)?;
        mkfifoat(parent, leaf, Mode::from_bits_truncate(0o600)).map_err(|e| {
            EntryError::Create {
                kind: "fifo",
                source: io_err(e),
            }
        })?;
        self.set_owner_at(parent, leaf, meta)?;
        // The fifo was just created by this process in a directory no one
        // else writes, so following the name cannot reach a symlink.
        fchmodat(parent, leaf, mode_of(meta), FchmodatFlags::FollowSymlink).map_err(|e| {
            EntryError::SetMode {
                mode: meta.mode,
                source: io_err(e),
            }
        })?;
        self.set_xattrs_at(parent, leaf, meta)?;
        set_times_at(parent, leaf, meta)
    }

    /// Owner, then mode (chown clears setuid/setgid), then times.
    fn set_fd_meta(&self, fd: BorrowedFd<'_>, meta: &Meta) -> Result<(), EntryError> {
        if self.preserve_owner {
            fchown(
                fd,
                Some(Uid::from_raw(meta.uid)),
                Some(Gid::from_raw(meta.gid)),
            )
            .map_err(|e| EntryError::SetOwner {
                uid: meta.uid,
                gid: meta.gid,
                source: io_err(e),
            })?;
        }
        fchmod(fd, mode_of(meta)).map_err(|e| EntryError::SetMode {
            mode: meta.mode,
            source: io_err(e),
        })?;
        futimens(fd, &meta.mtime, &meta.mtime).map_err(|e| EntryError::SetTimes(io_err(e)))
    }

    fn set_owner_at(
        &self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        meta: &Meta,
    ) -> Result<(), EntryError> {
        if !self.preserve_owner {
            return Ok(());
        }
        fchownat(
            parent,
            leaf,
            Some(Uid::from_raw(meta.uid)),
            Some(Gid::from_raw(meta.gid)),
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| EntryError::SetOwner {
            uid: meta.uid,
            gid: meta.gid,
            source: io_err(e),
        })
    }

    fn set_xattrs_at(
        &self,
        parent: BorrowedFd<'_>,
        leaf: &OsStr,
        meta: &Meta,
    ) -> Result<(), EntryError> {
        if meta.xattrs.is_empty() {
            return Ok(());
        }
        // /proc/self/fd/N names the already-resolved parent; the leaf is a
        // single component and lsetxattr does not follow it.
        let path = proc_fd_path(parent).join(leaf);
        for (name, value) in &meta.xattrs {
            xattr::lset(&path, name, value).map_err(|source| xattr_err(name, source))?;
        }
        Ok(())
    }
}

fn mode_of(meta: &Meta) -> Mode {
    Mode::from_bits_truncate(meta.mode & 0o7777)
}

fn xattr_err(name: &[u8], source: io::Error) -> EntryError {
    EntryError::SetXattr {
        name: String::from_utf8_lossy(name).into_owned(),
        source,
    }
}

fn set_times_at(parent: BorrowedFd<'_>, leaf: &OsStr, meta: &Meta) -> Result<(), EntryError> {
    utimensat(
        parent,
        leaf,
        &meta.mtime,
        &meta.mtime,
        UtimensatFlags::NoFollowSymlink,
    )
    .map_err(|e| EntryError::SetTimes(io_err(e)))
}

fn mkdir(parent: BorrowedFd<'_>, leaf: &OsStr) -> Result<(), EntryError> {
    // Owner-only until `finish` sets the real mode.
    mkdirat(parent, leaf, Mode::from_bits_truncate(0o700)).map_err(|e| EntryError::Create {
        kind: "directory",
        source: io_err(e),
    })
}

/// Removes whatever is at `leaf` (an empty directory included), so the new
/// entry replaces it as a later layer entry should.
fn remove_existing(parent: BorrowedFd<'_>, leaf: &OsStr) -> Result<(), EntryError> {
    let st = match fstatat(parent, leaf, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(EntryError::RemoveExisting(io_err(e))),
    };
    let is_dir = st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits();
    let how = if is_dir {
        UnlinkatFlags::RemoveDir
    } else {
        UnlinkatFlags::NoRemoveDir
    };
    unlinkat(parent, leaf, how).map_err(|e| EntryError::RemoveExisting(io_err(e)))
}

/// Before a copy creates `leaf` (a directory when `is_dir`): a directory
/// replaced by a non-directory, or the reverse, is removed only with
/// `overwrite` (a directory with all it holds), else refused. What is left
/// is for the entry's own creation to handle as for a layer.
fn replace_for_copy(
    parent: BorrowedFd<'_>,
    leaf: &OsStr,
    is_dir: bool,
    overwrite: bool,
) -> Result<(), EntryError> {
    let st = match fstatat(parent, leaf, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(EntryError::RemoveExisting(io_err(e))),
    };
    let was_dir = st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits();
    if was_dir == is_dir {
        return Ok(());
    }
    if !overwrite {
        let (existing, new) = match was_dir {
            true => ("directory", "non-directory"),
            false => ("non-directory", "directory"),
        };
        return Err(EntryError::WouldReplace { existing, new });
    }
    match was_dir {
        true => remove_tree_at(parent, leaf).map_err(EntryError::RemoveTree),
        false => remove_existing(parent, leaf),
    }
}

/// Removes the directory `leaf` in `parent` and everything below it,
/// never following a symlink: each level is opened `O_NOFOLLOW` relative
/// to its parent's fd and its entries unlinked relative to it.
fn remove_tree_at(parent: BorrowedFd<'_>, leaf: &OsStr) -> io::Result<()> {
    let dir = openat(
        parent,
        leaf,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(io_err)?;
    let mut names = Vec::new();
    {
        let dup = dir.try_clone()?;
        let mut d = nix::dir::Dir::from_fd(dup).map_err(io_err)?;
        for e in d.iter() {
            let name = e.map_err(io_err)?.file_name().to_bytes().to_vec();
            if name != b"." && name != b".." {
                names.push(name);
            }
        }
    }
    for name in names {
        let name = OsStr::from_bytes(&name);
        let st = fstatat(dir.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(io_err)?;
        if st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits() {
            remove_tree_at(dir.as_fd(), name)?;
        } else {
            unlinkat(dir.as_fd(), name, UnlinkatFlags::NoRemoveDir).map_err(io_err)?;
        }
    }
    drop(dir);
    unlinkat(parent, leaf, UnlinkatFlags::RemoveDir).map_err(io_err)
}

/// `.wh.NAME`: a 0/0 character device named NAME, overlayfs's whiteout.
fn make_whiteout(parent: BorrowedFd<'_>, name: &OsStr) -> Result<(), EntryError> {
    remove_existing(parent, name)?;
    mknodat(parent, name, SFlag::S_IFCHR, Mode::empty(), makedev(0, 0)).map_err(|e| {
        EntryError::Create {
            kind: "whiteout",
            source: io_err(e),
        }
    })
}

/// `.wh..wh..opq`: marks the parent directory opaque for overlayfs.
fn mark_opaque(parent: BorrowedFd<'_>) -> Result<(), EntryError> {
    // fsetxattr needs a real fd, not the O_PATH one.
    let dir = openat(
        parent,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| EntryError::Opaque(io_err(e)))?;
    xattr::fset(dir.as_fd(), OPAQUE_XATTR, b"y").map_err(EntryError::Opaque)
}
