//! `cp` between the host and a container, either direction, and the two
//! sides of the protocol that `stream` also runs between two containers.
//!
//! The container side runs in a helper that is root in the container
//! (see `enter`); the host side is this process, as the invoking user. The
//! two talk over two pipes:
//!
//! 1. the source side announces what it copies (directory or not, its
//!    name, whether only its contents go: `SRC/.`);
//! 2. the destination side decides where it lands, with Docker's rules,
//!    and replies with the directory to unpack into (kept as an fd) and the
//!    name the top entry gets (none: contents only);
//! 3. the source streams a tar named that way, which the destination
//!    unpacks beneath the directory fd with the copy rules (the layer
//!    rules for names and links; owners and replacements as `CopyOptions`
//!    say).
//!
//! In the container every path is resolved with `RESOLVE_IN_ROOT`, so its
//! symlinks stay inside it.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use nix::fcntl::AtFlags;
use nix::sys::stat::{fstat, fstatat, SFlag};

use super::archive::{self, Options};
use super::enter::{self, Root};
use super::Error;
use super::Layout;
use crate::error::render_chain;
use crate::runtime::PROC;
use crate::storage::commit::{unpack_copy, CopyRules, Owner};
use crate::sys::fs::{openat2, Resolve};
use crate::userns;

/// One side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A path on the host.
    Host(PathBuf),
    /// `-`: a tar stream on standard input (source) or output (destination).
    Stdio,
    /// `CONTAINER:PATH`.
    Container {
        /// Name or id.
        name: String,
        /// Path inside the container.
        path: String,
    },
}

impl Location {
    /// Parses a `cp` argument: `-` for a tar stream, `CONTAINER:PATH` when
    /// a colon comes before any slash (write `./a:b` for a host file with a
    /// colon), else a host path.
    pub fn parse(arg: &str) -> Location {
        if arg == "-" {
            return Location::Stdio;
        }
        match arg.split_once(':') {
            Some((name, path)) if !name.is_empty() && !name.contains('/') => Location::Container {
                name: name.to_string(),
                path: path.to_string(),
            },
            _ => Location::Host(PathBuf::from(arg)),
        }
    }
}

/// How `cp` treats what it copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyOptions {
    /// `--archive` (Podman's default): what lands in a container belongs
    /// to the container's user (its `--user`); without it the owners the
    /// copy carries are kept (the host's files: the container's root).
    pub is_archive: bool,
    /// `--overwrite`: a directory may replace a non-directory and the
    /// reverse.
    pub overwrite: bool,
}

impl Default for CopyOptions {
    fn default() -> CopyOptions {
        CopyOptions {
            is_archive: true,
            overwrite: false,
        }
    }
}

/// What the source side copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Announce {
    pub is_dir: bool,
    /// Only what is inside the directory (`SRC/.`).
    pub is_contents: bool,
    /// The source's own name.
    pub leaf: OsString,
}

/// A path split for copying: the directory holding it, its last name
/// (`None`: the directory itself), and what its spelling says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Split {
    pub parent: PathBuf,
    pub leaf: Option<OsString>,
    /// Ends in `/.`, or is a root.
    pub is_contents: bool,
    /// Ends in `/`: must be a directory.
    pub is_dir_only: bool,
}

pub(super) fn split(path: &[u8]) -> Split {
    let mut p = path;
    let mut is_contents = false;
    if p.ends_with(b"/.") || p == b"." {
        is_contents = true;
        p = &p[..p.len() - 1];
    }
    let is_dir_only = p.ends_with(b"/");
    while p.len() > 1 && p.ends_with(b"/") {
        p = &p[..p.len() - 1];
    }
    let path = Path::new(OsStr::from_bytes(p));
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(leaf)) => Split {
            parent: if parent.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                parent.to_path_buf()
            },
            leaf: Some(leaf.to_os_string()),
            is_contents,
            is_dir_only,
        },
        // `/`, `.`, or empty: the directory itself.
        _ => Split {
            parent: if p.is_empty() {
                PathBuf::from(".")
            } else {
                path.to_path_buf()
            },
            leaf: None,
            is_contents: true,
            is_dir_only: true,
        },
    }
}

/// `path` in the container as an absolute path: a relative one is taken
/// from the container's working directory `workdir`, as in Podman.
pub(super) fn in_workdir(workdir: &str, path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    let dir = workdir.trim_end_matches('/');
    match path {
        "" => format!("{dir}/"),
        _ => format!("{dir}/{path}"),
    }
}

/// What the helper of the receiving side reports when the source sent
/// no request: the source's own failure says why.
pub(super) const NO_REQUEST: &str = "no request from the source";

/// What the source side reports when the destination refused.
pub(super) const REFUSED: &str = "the destination was refused";

/// The container side of a copy into it: where the copy lands and who
/// owns it there.
pub(super) struct Receiver {
    /// The destination, absolute in the container.
    pub dst: String,
    /// `--archive` and `--overwrite`.
    pub opts: CopyOptions,
    /// The container's `--user`, whose ids `--archive` gives.
    pub user: String,
    /// The container's id maps.
    pub maps: userns::IdMaps,
}

impl Receiver {
    /// The receiving side of container `layout` for `dst` (relative to its
    /// working directory, or absolute).
    pub(super) fn of(layout: &Layout, dst: &str, opts: CopyOptions) -> Receiver {
        Receiver {
            dst: in_workdir(&layout.workdir, dst),
            opts,
            user: layout.user.clone(),
            maps: layout.maps.clone(),
        }
    }

    /// In the helper: how the copy unpacks in the container whose root is
    /// `croot`.
    pub(super) fn rules(&self, croot: BorrowedFd<'_>) -> Result<CopyRules, String> {
        let owner = match self.opts.is_archive {
            true => {
                let (uid, gid) = crate::runtime::primary_ids(croot, &self.user, &self.maps)?;
                Owner::Fixed(uid, gid)
            }
            false => Owner::Archive,
        };
        Ok(CopyRules {
            owner,
            overwrite: self.opts.overwrite,
        })
    }
}

/// See `files::copy_in`.
pub fn copy_in_container(
    layout: Layout,
    src: &Path,
    dst: &str,
    opts: CopyOptions,
) -> Result<(), Error> {
    let rx = Receiver::of(&layout, dst, opts);
    let root = Root::of(layout, Path::new(PROC), true)?;
    copy_in(&root, src, rx)
}

/// See `files::copy_out`.
pub fn copy_out_of_container(
    layout: Layout,
    src: &str,
    dst: &Path,
    opts: CopyOptions,
) -> Result<(), Error> {
    let src = in_workdir(&layout.workdir, src);
    let root = Root::of(layout, Path::new(PROC), true)?;
    copy_out(&root, &src, dst, opts.overwrite)
}

/// How paths inside the container resolve: clamped to its root.
pub(super) fn in_root() -> Resolve {
    Resolve::IN_ROOT | Resolve::NO_MAGICLINKS
}

/// How host paths resolve: as the user typed them.
fn on_host() -> Resolve {
    Resolve::NO_MAGICLINKS
}

/// In a helper in the container whose root is `croot`: reads what the
/// source announces on `data`, replies on `back` where it lands, and
/// unpacks the tree that follows there.
pub(super) fn receive_tree(
    croot: BorrowedFd<'_>,
    rx: &Receiver,
    data: OwnedFd,
    back: OwnedFd,
) -> Result<(), String> {
    let mut data = BufReader::with_capacity(1 << 16, File::from(data));
    let mut back = File::from(back);
    let ann = read_announce(&mut data).map_err(|e| format!("{NO_REQUEST}: {e}"))?;
    let rules = rx.rules(croot)?;
    let (dir, top) =
        place(croot, in_root(), rx.dst.as_bytes(), &ann).map_err(|e| render_chain(&e))?;
    write_reply(&mut back, top.as_deref()).map_err(|e| format!("replying: {e}"))?;
    drop(back);
    unpack_copy(&mut data, dir.as_fd(), rules)
        .map_err(|e| format!("unpacking into {:?}: {}", rx.dst, render_chain(&e)))?;
    let _ = io::copy(&mut data, &mut io::sink());
    Ok(())
}

/// In a helper in the container whose root is `croot`: announces `src`
/// on `data`, waits for the destination's reply on `back`, and sends the
/// tree named as the reply says.
pub(super) fn send_tree(
    croot: BorrowedFd<'_>,
    src: &str,
    data: OwnedFd,
    back: OwnedFd,
) -> Result<(), String> {
    let sp = split(src.as_bytes());
    let parent = open_dir(croot, &sp.parent, in_root())
        .map_err(|e| format!("opening {:?}: {e}", sp.parent))?;
    let ann = announce_of(parent.as_fd(), &sp).map_err(|e| format!("opening {src:?}: {e}"))?;
    let mut data = BufWriter::with_capacity(1 << 16, File::from(data));
    write_announce(&mut data, &ann)
        .and_then(|()| data.flush())
        .map_err(|e| format!("sending the request: {e}"))?;
    let top = read_reply(&mut File::from(back))
        .ok()
        .flatten()
        .ok_or(REFUSED)?;
    let mut w = archive::write_tree(
        data,
        parent.as_fd(),
        sp.leaf.as_deref(),
        top.as_deref().map(Path::new),
        container_side(),
    )
    .map_err(|e| e.to_string())?;
    w.flush().map_err(|e| format!("sending the archive: {e}"))
}

/// How a container's files are archived for a copy: as the container
/// owns them, names literal, without descending into other mounts below
/// the source (`/proc` of a running container).
pub(super) fn container_side() -> Options {
    Options {
        one_file_system: true,
        is_literal: true,
        ..Options::default()
    }
}

/// Host → container.
fn copy_in(root: &Root, src: &Path, rx: Receiver) -> Result<(), Error> {
    let sp = split(src.as_os_str().as_bytes());
    let parent = open_dir(nix::fcntl::AT_FDCWD, &sp.parent, on_host()).map_err(|source| {
        Error::OpenHost {
            path: sp.parent.clone(),
            source,
        }
    })?;
    let ann = announce_of(parent.as_fd(), &sp).map_err(|source| Error::OpenHost {
        path: src.to_path_buf(),
        source,
    })?;
    let (data_r, data_w) = userns::pipe().map_err(Error::Pipe)?;
    let (back_r, back_w) = userns::pipe().map_err(Error::Pipe)?;
    let ends = [data_w.as_fd(), back_r.as_fd()];
    let helper = enter::spawn_in_root(root, "copying into the container", &ends, move |croot| {
        receive_tree(croot, &rx, data_r, back_w)
    })?;
    let mut data = BufWriter::with_capacity(1 << 16, File::from(data_w));
    let sent = write_announce(&mut data, &ann)
        .and_then(|()| data.flush())
        .map_err(Error::Stream);
    let reply = sent.and_then(|()| read_reply(&mut File::from(back_r)).map_err(Error::Stream));
    let top = match reply {
        Ok(Some(top)) => top,
        // The helper refused (or failed): its error says why.
        Ok(None) | Err(_) => {
            drop(data);
            helper.wait()?;
            return Err(Error::Stream(io::ErrorKind::UnexpectedEof.into()));
        }
    };
    let opts = Options {
        // The user's files belong to the container's root.
        owner: Some((0, 0)),
        is_literal: true,
        ..Options::default()
    };
    let written = archive::write_tree(
        data,
        parent.as_fd(),
        sp.leaf.as_deref(),
        top.as_deref().map(Path::new),
        opts,
    )
    .and_then(|mut w| {
        w.flush().map_err(|source| archive::WalkError {
            path: PathBuf::new(),
            source,
        })
    });
    let waited = helper.wait();
    match (written, waited) {
        (Ok(()), r) => r,
        // A broken pipe only echoes the helper's own failure.
        (Err(e), Err(h)) if e.source.kind() == io::ErrorKind::BrokenPipe => Err(h),
        (Err(e), _) => Err(Error::Archive {
            path: src.join(&e.path),
            source: e.source,
        }),
    }
}

/// Container → host: the files belong to the invoking user, as Podman's
/// do rootless; `overwrite` as for `CopyOptions`.
fn copy_out(root: &Root, src: &str, dst: &Path, overwrite: bool) -> Result<(), Error> {
    let (data_r, data_w) = userns::pipe().map_err(Error::Pipe)?;
    let (back_r, back_w) = userns::pipe().map_err(Error::Pipe)?;
    let src = src.to_string();
    let ends = [data_r.as_fd(), back_w.as_fd()];
    let helper = enter::spawn_in_root(root, "copying from the container", &ends, move |croot| {
        send_tree(croot, &src, data_w, back_r)
    })?;
    let mut data = BufReader::with_capacity(1 << 16, File::from(data_r));
    let ann = match read_announce(&mut data) {
        Ok(a) => a,
        Err(_) => {
            helper.wait()?;
            return Err(Error::Stream(io::ErrorKind::UnexpectedEof.into()));
        }
    };
    let placed = place(
        nix::fcntl::AT_FDCWD,
        on_host(),
        dst.as_os_str().as_bytes(),
        &ann,
    );
    let (dir, top) = match placed {
        Ok(p) => p,
        Err(e) => {
            // Closing the reply pipe tells the helper to give up.
            drop(back_w);
            drop(data);
            let _ = helper.wait();
            return Err(e);
        }
    };
    write_reply(&mut File::from(back_w), top.as_deref()).map_err(Error::Stream)?;
    let rules = CopyRules {
        owner: Owner::Caller,
        overwrite,
    };
    let unpacked = unpack_copy(&mut data, dir.as_fd(), rules).map_err(|source| Error::Unpack {
        path: dst.to_path_buf(),
        source,
    });
    let waited = helper.wait();
    match (unpacked, waited) {
        (Ok(()), r) => r,
        // A truncated stream only echoes the helper's own failure, unless
        // the helper merely saw the pipe close.
        (Err(_), Err(h)) if !render_chain(&h).contains("Broken pipe") => Err(h),
        (Err(u), _) => Err(u),
    }
}

/// Opens the directory `path` beneath (or, on the host, relative to) `root`.
pub(super) fn open_dir(root: BorrowedFd<'_>, path: &Path, resolve: Resolve) -> io::Result<OwnedFd> {
    openat2(root, path, libc::O_PATH | libc::O_DIRECTORY, 0, resolve)
}

/// What the source at `sp` (its parent opened as `parent`) is.
pub(super) fn announce_of(parent: BorrowedFd<'_>, sp: &Split) -> io::Result<Announce> {
    let is_dir = match &sp.leaf {
        None => true,
        Some(leaf) => {
            let st = fstatat(parent, leaf.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
            SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR
        }
    };
    if sp.is_dir_only && !is_dir {
        return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
    }
    Ok(Announce {
        is_dir,
        is_contents: sp.is_contents && is_dir,
        leaf: sp.leaf.clone().unwrap_or_else(|| OsString::from("root")),
    })
}

/// Where a copy of `ann` to `dst` lands (Docker's rules): into an
/// existing directory under the source's name (or only its contents), or
/// as `dst` itself in its parent directory.
fn place(
    root: BorrowedFd<'_>,
    resolve: Resolve,
    dst: &[u8],
    ann: &Announce,
) -> Result<(OwnedFd, Option<OsString>), Error> {
    let sp = split(dst);
    let shown = String::from_utf8_lossy(dst).into_owned();
    let whole = match &sp.leaf {
        Some(leaf) => sp.parent.join(leaf),
        None => sp.parent.clone(),
    };
    let open_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::OpenHost { path, source }
    };
    match openat2(root, &whole, libc::O_PATH, 0, resolve) {
        Ok(fd) => {
            let st = fstat(fd.as_fd()).map_err(|e| open_err(&whole)(e.into()))?;
            let is_dir =
                SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR;
            if is_dir {
                let top = (!ann.is_contents).then(|| ann.leaf.clone());
                return Ok((fd, top));
            }
            if ann.is_dir {
                return Err(Error::DirOntoFile {
                    src: ann.leaf.to_string_lossy().into_owned(),
                    dst: shown,
                });
            }
            if sp.is_dir_only {
                return Err(Error::NoDestDir(shown));
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            if sp.is_dir_only {
                return Err(Error::NoDestDir(shown));
            }
        }
        Err(e) => return Err(open_err(&whole)(e)),
    }
    let leaf = sp.leaf.ok_or_else(|| Error::NoDestDir(shown.clone()))?;
    let parent = open_dir(root, &sp.parent, resolve).map_err(open_err(&sp.parent))?;
    Ok((parent, Some(leaf)))
}

fn write_announce(w: &mut impl Write, a: &Announce) -> io::Result<()> {
    w.write_all(&[u8::from(a.is_dir), u8::from(a.is_contents)])?;
    write_bytes(w, a.leaf.as_bytes())
}

fn read_announce(r: &mut impl Read) -> io::Result<Announce> {
    let mut flags = [0u8; 2];
    r.read_exact(&mut flags)?;
    let leaf = OsString::from_vec(read_bytes(r)?);
    if leaf.is_empty() || leaf.as_bytes().contains(&b'/') || leaf == ".." {
        return Err(io::ErrorKind::InvalidData.into());
    }
    Ok(Announce {
        is_dir: flags[0] != 0,
        is_contents: flags[1] != 0,
        leaf,
    })
}

fn write_reply(w: &mut impl Write, top: Option<&OsStr>) -> io::Result<()> {
    match top {
        None => w.write_all(b"-"),
        Some(t) => {
            w.write_all(b"+")?;
            write_bytes(w, t.as_bytes())
        }
    }
}

/// The destination's reply: `None` when it gave none (it failed).
fn read_reply(r: &mut impl Read) -> io::Result<Option<Option<OsString>>> {
    let mut tag = [0u8; 1];
    match r.read(&mut tag)? {
        0 => Ok(None),
        _ if tag[0] == b'-' => Ok(Some(None)),
        _ => Ok(Some(Some(OsString::from_vec(read_bytes(r)?)))),
    }
}

fn write_bytes(w: &mut impl Write, b: &[u8]) -> io::Result<()> {
    let len = u32::try_from(b.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    w.write_all(&len.to_le_bytes())?;
    w.write_all(b)
}

/// Names are at most a path's length (PATH_MAX).
const MAX_NAME: u32 = 4096;

fn read_bytes(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > MAX_NAME {
        return Err(io::ErrorKind::InvalidData.into());
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_container_paths_start_at_the_working_directory() {
        assert_eq!(in_workdir("/data", "x"), "/data/x");
        assert_eq!(in_workdir("/data/", "a/b"), "/data/a/b");
        assert_eq!(in_workdir("/", "x"), "/x");
        assert_eq!(in_workdir("/data", "."), "/data/.");
        assert_eq!(in_workdir("/data", ""), "/data/");
        assert_eq!(in_workdir("/data", "/etc/passwd"), "/etc/passwd");
    }
}
