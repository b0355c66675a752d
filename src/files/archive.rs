//! Writing a directory tree as a tar stream, walking it by directory fds.
//!
//! Each name is looked at with `fstatat(AT_SYMLINK_NOFOLLOW)` and opened
//! with `O_NOFOLLOW` relative to its parent's fd, so a symlink inside the
//! tree is archived as a symlink and never followed. Headers are built
//! here byte for byte (names and link targets kept exactly, long ones in
//! PAX records) so the stream is the same whoever runs it.

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::dir::Dir;
use nix::fcntl::{openat, readlinkat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use tar::{EntryType, Header};

use crate::sys::xattr;

/// The xattrs that mark a directory opaque, by overlay flavour: kernel
/// overlayfs with `userxattr`, kernel overlayfs as real root,
/// fuse-overlayfs.
const OPAQUE_XATTRS: [&[u8]; 3] = [
    b"user.overlay.opaque",
    b"trusted.overlay.opaque",
    b"user.fuseoverlayfs.opaque",
];

/// The archive name of an opaque marker, OCI image spec layer.md.
pub const OPAQUE_MARKER: &str = ".wh..wh..opq";

/// The prefix of whiteout names in archives.
pub const WHITEOUT_PREFIX: &[u8] = b".wh.";

/// The xattrs archived when asked to: file capabilities. Others cannot be
/// listed without `listxattr`, which `sys::xattr` does not offer yet.
const KEPT_XATTRS: [&[u8]; 1] = [b"security.capability"];

/// Longest name or link target that fits the ustar header field.
const NAME_FIELD: usize = 100;

/// How to archive.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// An overlay upper directory: whiteout devices become `.wh.NAME`
    /// entries and opaque directories get a `.wh..wh..opq` entry.
    pub is_upper: bool,
    /// Archive `security.capability`.
    pub keep_xattrs: bool,
    /// Write every entry with this owner instead of the file's.
    pub owner: Option<(u32, u32)>,
    /// Do not descend into directories on another filesystem (`/proc` of
    /// a running container).
    pub one_file_system: bool,
    /// Names are files like any other (`cp`, `volume export`): `.wh.` is
    /// reserved for whiteouts only in what becomes an image layer.
    pub is_literal: bool,
    /// Write every entry with these permission bits (`COPY --chmod`).
    pub mode: Option<u32>,
    /// Write every entry of an archive added with this modification time
    /// (`build --timestamp`).
    pub mtime: Option<u64>,
}

/// Which paths of a source a `TreeWriter` leaves out (`.containerignore`).
pub struct Filter<'f> {
    /// Whether the path, relative to the source's top, is left out.
    pub is_excluded: &'f dyn Fn(&Path) -> bool,
    /// Whether a left-out directory must still be walked, as an exception
    /// may bring back something below it.
    pub has_exceptions: bool,
}

/// Where a failure happened: the archive name and the cause.
#[derive(Debug)]
pub struct WalkError {
    /// The entry's archive name.
    pub path: PathBuf,
    /// What failed.
    pub source: io::Error,
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "archiving {:?}: {}", self.path, self.source)
    }
}

/// Whether `name` is reserved for whiteouts in archives.
pub fn is_whiteout_name(name: &[u8]) -> bool {
    name.starts_with(WHITEOUT_PREFIX)
}

/// Writes the tree rooted at `leaf` in directory `parent` (or `parent`
/// itself when `leaf` is `None`) to `out` as a tar stream, ending it.
///
/// The tree's top entry is named `top`; with `top` `None` only what is
/// inside a top directory is written, named relative to it.
pub fn write_tree<W: Write>(
    out: W,
    parent: BorrowedFd<'_>,
    leaf: Option<&OsStr>,
    top: Option<&Path>,
    opts: Options,
) -> Result<W, WalkError> {
    write_tree_skipping(out, parent, leaf, top, opts, HashSet::new())
}

/// `write_tree`, leaving out the entries (and what is below them) whose
/// archive names are in `skip`.
pub fn write_tree_skipping<W: Write>(
    out: W,
    parent: BorrowedFd<'_>,
    leaf: Option<&OsStr>,
    top: Option<&Path>,
    opts: Options,
    skip: HashSet<PathBuf>,
) -> Result<W, WalkError> {
    let mut w = TreeWriter::new(out, opts);
    w.walker.skip = skip;
    w.add(parent, leaf, top, None)?;
    w.finish()
}

/// A tar stream made of several trees (and archives), ended by `finish`.
pub struct TreeWriter<W: Write> {
    walker: Walker<W>,
}

impl<W: Write> TreeWriter<W> {
    /// Starts a stream on `out`.
    pub fn new(out: W, opts: Options) -> TreeWriter<W> {
        TreeWriter {
            walker: Walker {
                builder: tar::Builder::new(out),
                opts,
                links: HashMap::new(),
                top_dev: None,
                skip: HashSet::new(),
            },
        }
    }

    /// Adds the tree rooted at `leaf` in directory `parent` (or `parent`
    /// itself when `leaf` is `None`), named as for `write_tree`, leaving
    /// out what `filter` excludes below its top.
    pub fn add(
        &mut self,
        parent: BorrowedFd<'_>,
        leaf: Option<&OsStr>,
        top: Option<&Path>,
        filter: Option<&Filter<'_>>,
    ) -> Result<(), WalkError> {
        let leaf = leaf.unwrap_or(OsStr::new("."));
        self.walker.top_dev = None;
        let at = Place {
            arc: top.unwrap_or(Path::new("")),
            rel: Path::new(""),
        };
        self.walker.entry(parent, leaf, at, top.is_some(), filter)
    }

    /// Adds the entries of the tar stream `archive` below `prefix` (`ADD`
    /// of a local archive): names made relative and checked to stay
    /// below, owners, modes and times kept, device nodes skipped.
    pub fn add_archive(&mut self, archive: impl Read, prefix: &Path) -> Result<(), WalkError> {
        self.add_entries(archive, prefix, None, &|_| true, true)
    }

    /// Adds the entries of the tar stream `archive` whose index `keep`
    /// accepts, named as they are (`build --squash`).
    pub fn add_archive_entries(
        &mut self,
        archive: impl Read,
        keep: &dyn Fn(usize) -> bool,
    ) -> Result<(), WalkError> {
        self.add_entries(archive, Path::new(""), None, keep, true)
    }

    /// Adds the entries of `archive` below `prefix`, the first name of
    /// each replaced by `rename` when given (`COPY a /b` names `a` `b`),
    /// owned as `Options::owner` says.
    pub fn add_renamed(
        &mut self,
        archive: impl Read,
        prefix: &Path,
        rename: Option<&OsStr>,
    ) -> Result<(), WalkError> {
        self.add_entries(archive, prefix, rename, &|_| true, false)
    }

    /// Adds the entries of `archive` whose index `keep` accepts, below
    /// `prefix` and renamed by `rename`; `keeps_owners`: the archive's
    /// owners whatever `Options::owner` says.
    fn add_entries(
        &mut self,
        archive: impl Read,
        prefix: &Path,
        rename: Option<&OsStr>,
        keep: &dyn Fn(usize) -> bool,
        keeps_owners: bool,
    ) -> Result<(), WalkError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WalkError { path, source }
        };
        let place = |name: &Path| -> Option<PathBuf> {
            let rel = relative_name(name)?;
            let rel = match (rename, rel.iter().next()) {
                (Some(r), Some(first)) => match rel.strip_prefix(first) {
                    // `join` of nothing would add a slash.
                    Ok(rest) if !rest.as_os_str().is_empty() => Path::new(r).join(rest),
                    _ => PathBuf::from(r),
                },
                _ => rel,
            };
            if rel.as_os_str().is_empty() {
                return Some(PathBuf::new());
            }
            Some(prefix.join(rel))
        };
        let mut a = tar::Archive::new(archive);
        for (index, entry) in a.entries().map_err(err(prefix))?.enumerate() {
            let mut entry = entry.map_err(err(prefix))?;
            if !keep(index) {
                continue;
            }
            let name = entry.path().map_err(err(prefix))?.into_owned();
            let Some(arc) = place(&name) else {
                return Err(err(&name)(escapes()));
            };
            let ty = entry.header().entry_type();
            if arc.as_os_str().is_empty() {
                if ty == EntryType::Directory {
                    continue;
                }
                return Err(err(&name)(escapes()));
            }
            let hdr = entry.header();
            let mut h = Header::new_ustar();
            h.set_entry_type(ty);
            h.set_mode(
                self.walker
                    .opts
                    .mode
                    .unwrap_or(hdr.mode().map_err(err(&name))? & 0o7777),
            );
            let (uid, gid) = match self.walker.opts.owner.filter(|_| !keeps_owners) {
                Some((u, g)) => (u64::from(u), u64::from(g)),
                None => (
                    hdr.uid().map_err(err(&name))?,
                    hdr.gid().map_err(err(&name))?,
                ),
            };
            h.set_uid(uid);
            h.set_gid(gid);
            h.set_mtime(match self.walker.opts.mtime {
                Some(t) => t,
                None => hdr.mtime().map_err(err(&name))?,
            });
            h.set_size(0);
            let link = match ty {
                EntryType::Symlink => entry
                    .link_name()
                    .map_err(err(&name))?
                    .map(|l| l.into_owned()),
                EntryType::Link => {
                    let target = entry.link_name().map_err(err(&name))?.unwrap_or_default();
                    match place(&target) {
                        Some(t) => Some(t),
                        None => return Err(err(&name)(escapes())),
                    }
                }
                _ => None,
            };
            match ty {
                EntryType::Regular | EntryType::Continuous => {
                    h.set_entry_type(EntryType::Regular);
                    h.set_size(entry.size());
                    self.walker.append(&mut h, &arc, None, &[], &mut entry)?;
                }
                EntryType::Directory | EntryType::Fifo => {
                    self.walker.append(&mut h, &arc, None, &[], io::empty())?;
                }
                EntryType::Symlink | EntryType::Link => {
                    let link = link.unwrap_or_default();
                    self.walker
                        .append(&mut h, &arc, Some(link.as_os_str()), &[], io::empty())?;
                }
                // Device nodes are skipped, as when a layer is unpacked.
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds a regular file `name` holding `data` (`COPY <<EOF`).
    pub fn add_data(
        &mut self,
        name: &Path,
        data: &[u8],
        owner: (u32, u32),
        mtime: u64,
    ) -> Result<(), WalkError> {
        let mut h = Header::new_ustar();
        h.set_entry_type(EntryType::Regular);
        h.set_mode(self.walker.opts.mode.unwrap_or(0o644));
        h.set_uid(u64::from(owner.0));
        h.set_gid(u64::from(owner.1));
        h.set_mtime(mtime);
        h.set_size(data.len() as u64);
        self.walker.append(&mut h, name, None, &[], data)
    }

    /// Ends the stream and returns its writer.
    pub fn finish(mut self) -> Result<W, WalkError> {
        let err = |source| WalkError {
            path: PathBuf::new(),
            source,
        };
        self.walker.builder.finish().map_err(err)?;
        self.walker.builder.into_inner().map_err(err)
    }
}

/// `name` of an archive entry made relative (`./`, `/` dropped); `None`
/// when a `..` would take it above the top.
fn relative_name(name: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in name.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir if !out.pop() => return None,
            _ => {}
        }
    }
    Some(out)
}

fn escapes() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "the archive names a path outside its top",
    )
}

/// Where an entry goes: its archive name and its path below the top of
/// its source (what a `Filter` is asked about).
#[derive(Clone, Copy)]
struct Place<'p> {
    arc: &'p Path,
    rel: &'p Path,
}

struct Walker<W: Write> {
    builder: tar::Builder<W>,
    opts: Options,
    /// (dev, ino) of files with several links → their first archive name.
    links: HashMap<(u64, u64), PathBuf>,
    top_dev: Option<u64>,
    /// Archive names left out.
    skip: HashSet<PathBuf>,
}

/// File type bits of a stat.
fn kind(st: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits())
}

impl<W: Write> Walker<W> {
    /// Archives `name` in `dir` as `arc`; `emit` is false for the top of a
    /// contents-only copy.
    fn entry(
        &mut self,
        dir: BorrowedFd<'_>,
        name: &OsStr,
        at: Place<'_>,
        emit: bool,
        filter: Option<&Filter<'_>>,
    ) -> Result<(), WalkError> {
        let arc = at.arc;
        let err = |source: io::Error| WalkError {
            path: arc.to_path_buf(),
            source,
        };
        if self.skip.contains(arc) {
            return Ok(());
        }
        let is_below_top = !at.rel.as_os_str().is_empty();
        let is_excluded = is_below_top && filter.is_some_and(|f| (f.is_excluded)(at.rel));
        let emit = emit && !is_excluded;
        let st = fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map_err(|e| err(e.into()))?;
        let top_dev = *self.top_dev.get_or_insert(st.st_dev as u64);
        let k = kind(&st);
        if k == SFlag::S_IFCHR && st.st_rdev == 0 && self.opts.is_upper {
            // An overlay whiteout: `.wh.NAME` beside where NAME was.
            let mut wh = OsString::from(".wh.");
            wh.push(name);
            let path = arc.parent().unwrap_or(Path::new("")).join(wh);
            let mut h = self.header(&st, EntryType::Regular);
            h.set_mode(0o600);
            return self.append(&mut h, &path, None, &[], io::empty());
        }
        if emit && is_whiteout_name(name.as_bytes()) && !self.opts.is_upper && !self.opts.is_literal
        {
            return Err(err(io::Error::new(
                io::ErrorKind::InvalidData,
                "names starting with .wh. are reserved for whiteouts",
            )));
        }
        match k {
            SFlag::S_IFDIR => {
                let fd = open_checked(dir, name, OFlag::O_DIRECTORY, &st).map_err(err)?;
                let xattrs = self.xattrs(fd.as_fd(), None);
                if emit {
                    let mut h = self.header(&st, EntryType::Directory);
                    self.append(&mut h, arc, None, &xattrs, io::empty())?;
                }
                if self.opts.is_upper && is_opaque(fd.as_fd()) {
                    let mut h = self.header(&st, EntryType::Regular);
                    h.set_mode(0o600);
                    self.append(&mut h, &arc.join(OPAQUE_MARKER), None, &[], io::empty())?;
                }
                if self.opts.one_file_system && st.st_dev as u64 != top_dev {
                    return Ok(());
                }
                if is_excluded && !filter.is_some_and(|f| f.has_exceptions) {
                    return Ok(());
                }
                for child in list_dir(fd.as_fd()).map_err(err)? {
                    let (arc, rel) = (arc.join(&child), at.rel.join(&child));
                    let at = Place {
                        arc: &arc,
                        rel: &rel,
                    };
                    self.entry(fd.as_fd(), &child, at, true, filter)?;
                }
                Ok(())
            }
            _ if is_excluded => Ok(()),
            SFlag::S_IFREG => {
                if st.st_nlink > 1 {
                    let key = (st.st_dev as u64, st.st_ino as u64);
                    if let Some(first) = self.links.get(&key).cloned() {
                        let mut h = self.header(&st, EntryType::Link);
                        return self.append(&mut h, arc, Some(first.as_os_str()), &[], io::empty());
                    }
                    self.links.insert(key, arc.to_path_buf());
                }
                let fd = open_checked(dir, name, OFlag::O_NONBLOCK, &st).map_err(err)?;
                let xattrs = self.xattrs(dir, Some(name));
                let size = st.st_size as u64;
                let mut h = self.header(&st, EntryType::Regular);
                h.set_size(size);
                // A file that shrinks while read is padded, one that grows
                // cut, so the header's size stays true.
                let data = File::from(fd).chain(io::repeat(0)).take(size);
                self.append(&mut h, arc, None, &xattrs, data)
            }
            SFlag::S_IFLNK => {
                let target = readlinkat(dir, name).map_err(|e| err(e.into()))?;
                let mut h = self.header(&st, EntryType::Symlink);
                self.append(&mut h, arc, Some(&target), &[], io::empty())
            }
            SFlag::S_IFIFO => {
                let mut h = self.header(&st, EntryType::Fifo);
                self.append(&mut h, arc, None, &[], io::empty())
            }
            // Sockets belong to the processes that made them.
            SFlag::S_IFSOCK => Ok(()),
            _ => Err(err(io::Error::new(
                io::ErrorKind::InvalidData,
                "device nodes cannot be archived",
            ))),
        }
    }

    /// A ustar header with the entry's type, mode, owner and mtime.
    fn header(&self, st: &FileStat, ty: EntryType) -> Header {
        let mut h = Header::new_ustar();
        h.set_entry_type(ty);
        h.set_mode(self.opts.mode.unwrap_or(st.st_mode & 0o7777));
        let (uid, gid) = self.opts.owner.unwrap_or((st.st_uid, st.st_gid));
        h.set_uid(u64::from(uid));
        h.set_gid(u64::from(gid));
        h.set_mtime(u64::try_from(st.st_mtime).unwrap_or(0));
        h.set_size(0);
        h
    }

    /// The kept xattrs of `name` in `dir` (or of `dir` itself).
    fn xattrs(&self, dir: BorrowedFd<'_>, name: Option<&OsStr>) -> Vec<(Vec<u8>, Vec<u8>)> {
        if !self.opts.keep_xattrs {
            return Vec::new();
        }
        KEPT_XATTRS
            .iter()
            .filter_map(|x| get_xattr(dir, name, x).map(|v| (x.to_vec(), v)))
            .collect()
    }

    /// Appends one entry, with a PAX header first when the name or link
    /// target is too long for ustar or xattrs go with it.
    fn append(
        &mut self,
        h: &mut Header,
        path: &Path,
        link: Option<&OsStr>,
        xattrs: &[(Vec<u8>, Vec<u8>)],
        data: impl Read,
    ) -> Result<(), WalkError> {
        let err = |source| WalkError {
            path: path.to_path_buf(),
            source,
        };
        let mut name = path.as_os_str().as_bytes().to_vec();
        if h.entry_type() == EntryType::Directory {
            name.push(b'/');
        }
        let mut records: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        if name.len() > NAME_FIELD {
            records.push((b"path".to_vec(), name.clone()));
        }
        if let Some(l) = link {
            if l.len() > NAME_FIELD {
                records.push((b"linkpath".to_vec(), l.as_bytes().to_vec()));
            }
        }
        for (k, v) in xattrs {
            let mut key = b"SCHILY.xattr.".to_vec();
            key.extend_from_slice(k);
            records.push((key, v.clone()));
        }
        if !records.is_empty() {
            let body = pax_body(&records);
            let mut ph = Header::new_ustar();
            ph.set_entry_type(EntryType::XHeader);
            ph.set_mode(0o644);
            ph.set_size(body.len() as u64);
            copy_field(&mut ph.as_old_mut().name, b"PaxHeader");
            ph.set_cksum();
            self.builder.append(&ph, &body[..]).map_err(err)?;
        }
        copy_field(&mut h.as_old_mut().name, &name);
        if let Some(l) = link {
            copy_field(&mut h.as_old_mut().linkname, l.as_bytes());
        }
        h.set_cksum();
        self.builder.append(h, data).map_err(err)
    }
}

/// Copies `value` into a header field, cut to fit (a PAX record then
/// carries the whole).
fn copy_field(field: &mut [u8], value: &[u8]) {
    let n = value.len().min(field.len());
    field.fill(0);
    field[..n].copy_from_slice(&value[..n]);
}

/// Encodes PAX records: `LEN KEY=VALUE\n`, LEN counting itself.
pub fn pax_body(records: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (k, v) in records {
        let tail = 1 + k.len() + 1 + v.len() + 1;
        let mut len = tail + 1;
        while len.to_string().len() + tail != len {
            len += 1;
        }
        body.extend_from_slice(len.to_string().as_bytes());
        body.push(b' ');
        body.extend_from_slice(k);
        body.push(b'=');
        body.extend_from_slice(v);
        body.push(b'\n');
    }
    body
}

/// Opens `name` in `dir` without following a symlink and checks that it
/// is still the inode `st` described.
fn open_checked(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    extra: OFlag,
    st: &FileStat,
) -> io::Result<OwnedFd> {
    let fd = openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | extra,
        Mode::empty(),
    )?;
    let now = fstat(fd.as_fd())?;
    if now.st_ino != st.st_ino || now.st_dev != st.st_dev {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "replaced while being archived",
        ));
    }
    Ok(fd)
}

/// The names in directory `dir`, sorted, without `.` and `..`.
pub fn list_dir(dir: BorrowedFd<'_>) -> io::Result<Vec<OsString>> {
    let fd = openat(
        dir,
        ".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut d = Dir::from_fd(fd)?;
    let mut names = Vec::new();
    for e in d.iter() {
        let e = e?;
        let name = OsStr::from_bytes(e.file_name().to_bytes());
        if name != "." && name != ".." {
            names.push(name.to_os_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Whether the directory `dir` is marked opaque by any overlay flavour.
pub fn is_opaque(dir: BorrowedFd<'_>) -> bool {
    OPAQUE_XATTRS
        .iter()
        .any(|x| get_xattr(dir, None, x).as_deref() == Some(b"y"))
}

/// Reads xattr `attr` of `name` in `dir` (or of `dir`), without following
/// a symlink at `name`. lgetxattr takes only paths, so the directory is
/// named through `/proc/self/fd/N` (followed, as it is not the last
/// component); where /proc does not show this process (a running
/// container's /proc belongs to its pid namespace) nothing is read.
fn get_xattr(dir: BorrowedFd<'_>, name: Option<&OsStr>, attr: &[u8]) -> Option<Vec<u8>> {
    let path = crate::sys::fs::proc_fd_path(dir).join(name.unwrap_or(OsStr::new(".")));
    xattr::lget(&path, attr).ok().flatten()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;
    use crate::sys::fs::{openat2, Resolve};

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

    /// (name, type, link target) of every entry, PAX records applied.
    fn entries(tar: &[u8]) -> Vec<(String, EntryType, Option<String>)> {
        let mut a = tar::Archive::new(tar);
        a.entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
                let link = e
                    .link_name_bytes()
                    .map(|l| String::from_utf8_lossy(&l).into_owned());
                (name, e.header().entry_type(), link)
            })
            .collect()
    }

    #[test]
    fn archives_a_tree_under_the_top_name_without_following_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f"), b"data").unwrap();
        std::fs::hard_link(src.join("sub/f"), src.join("h")).unwrap();
        symlink("/etc", src.join("evil")).unwrap();
        let long = "n".repeat(150);
        symlink(&long, src.join("long")).unwrap();
        let parent = open(dir.path());
        let opts = Options::default();
        let tar = write_tree(
            Vec::new(),
            parent.as_fd(),
            Some(OsStr::new("src")),
            Some(Path::new("top")),
            opts,
        )
        .unwrap();
        let got = entries(&tar);
        assert_eq!(
            got,
            vec![
                ("top/".into(), EntryType::Directory, None),
                ("top/evil".into(), EntryType::Symlink, Some("/etc".into())),
                ("top/h".into(), EntryType::Regular, None),
                ("top/long".into(), EntryType::Symlink, Some(long)),
                ("top/sub/".into(), EntryType::Directory, None),
                ("top/sub/f".into(), EntryType::Link, Some("top/h".into())),
            ]
        );
        // Contents only: no top entry, names relative.
        let src_fd = open(&src);
        let tar = write_tree(Vec::new(), src_fd.as_fd(), None, None, opts).unwrap();
        let names: Vec<String> = entries(&tar).into_iter().map(|e| e.0).collect();
        assert_eq!(names, vec!["evil", "h", "long", "sub/", "sub/f"]);
    }

    #[test]
    fn refuses_whiteout_names_outside_an_upper_dir() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".wh.x"), b"").unwrap();
        let fd = open(dir.path());
        let err = write_tree(Vec::new(), fd.as_fd(), None, None, Options::default()).unwrap_err();
        assert_eq!(err.path, Path::new(".wh.x"));
    }

    #[test]
    fn upper_dir_whiteouts_and_opaque_dirs_become_oci_markers() {
        let dir = tempfile::tempdir().unwrap();
        let upper = dir.path();
        std::fs::create_dir(upper.join("opq")).unwrap();
        std::fs::write(upper.join("opq/new"), b"n").unwrap();
        let opq = File::open(upper.join("opq")).unwrap();
        let has_xattrs = xattr::fset(opq.as_fd(), b"user.overlay.opaque", b"y").is_ok();
        // A whiteout is a 0/0 character device; making one needs root
        // (or a user namespace), so without it only the opaque part runs.
        let has_whiteout = nix::sys::stat::mknod(
            &upper.join("gone"),
            SFlag::S_IFCHR,
            Mode::empty(),
            nix::sys::stat::makedev(0, 0),
        )
        .is_ok();
        let fd = open(upper);
        let opts = Options {
            is_upper: true,
            ..Options::default()
        };
        let tar = write_tree(Vec::new(), fd.as_fd(), None, None, opts).unwrap();
        let names: Vec<String> = entries(&tar).into_iter().map(|e| e.0).collect();
        let mut want = Vec::new();
        if has_whiteout {
            want.push(".wh.gone");
        }
        want.push("opq/");
        if has_xattrs {
            want.push("opq/.wh..wh..opq");
        }
        want.push("opq/new");
        assert_eq!(names, want);
    }

    #[test]
    fn pax_records_count_their_own_length() {
        let body = pax_body(&[(b"path".to_vec(), b"x".repeat(95))]);
        let text = String::from_utf8(body.clone()).unwrap();
        let (len, _) = text.split_once(' ').unwrap();
        assert_eq!(len.parse::<usize>().unwrap(), body.len());
    }
}
