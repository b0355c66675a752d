//! What `build` does with files (issue #15): the sources of a `COPY` or
//! `ADD` gathered into one tar stream, from the build context on the host
//! (as the invoking user) or from another image's root (in a helper that
//! is root in its container), and that stream put below a directory of
//! the container a step builds in.
//!
//! Source paths are hostile both ways. In the context every path is
//! resolved here, one name at a time beneath the context's fd: `..` or a
//! symlink that would leave the context is an error, and nothing outside
//! it is opened. A symlink met inside a copied directory is archived as a
//! symlink and never followed. In an image, absolute symlinks mean the
//! image's own root (`RESOLVE_IN_ROOT` rules), as in a container.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{readlinkat, AtFlags};
use nix::sys::stat::{fstatat, mkdirat, Mode, SFlag};

use super::archive::{Filter, Options, TreeWriter};
use super::copy::in_root;
use super::enter::{self, Root};
use super::{stream, Error, Layout};
use crate::error::render_chain;
use crate::runtime::PROC;
use crate::storage::commit::{unpack_copy, CopyRules, Owner};
use crate::sys::fs::{openat2, Resolve};
use crate::userns;

/// Matches one path element against one glob element.
pub type Glob = fn(&[u8], &[u8]) -> bool;

/// What a `COPY` or `ADD` gathers, and how its tar names it.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Paths below the root, `/`-separated; an element may hold `*`,
    /// `?` or `[...]`. A directory gives what is inside it.
    pub paths: Vec<String>,
    /// `ADD`: local tar archives are unpacked rather than copied.
    pub expand_archives: bool,
    /// The owner every entry gets (the context's files belong to the
    /// image's root); `None` keeps the owners (`COPY --from`).
    pub owner: Option<(u32, u32)>,
    /// `--chmod`: the permission bits of every entry.
    pub mode: Option<u32>,
}

/// Which paths of the context are left out, by their path relative to
/// the context.
pub struct Exclude<'f> {
    /// Whether the path is left out.
    pub is_excluded: &'f dyn Fn(&Path) -> bool,
    /// Whether an exception may bring back a path below a left-out one.
    pub has_exceptions: bool,
}

/// Writes the `sources` of the directory `dir` on the host (the build
/// context) to `out` as a tar stream; `exclude` leaves paths out.
pub fn gather_host(
    dir: &Path,
    sources: &Sources,
    glob: Glob,
    exclude: &Exclude<'_>,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let root = open_dir_at(nix::fcntl::AT_FDCWD, dir, Resolve::NO_SYMLINKS).map_err(|source| {
        Error::OpenHost {
            path: dir.to_path_buf(),
            source,
        }
    })?;
    write_sources(root.as_fd(), false, sources, glob, Some(exclude), out)
        .map_err(|e| Error::Gather(e.to_string()))
}

/// Writes the `sources` of container `layout`'s root to `out` as a tar
/// stream (`COPY --from`), read by a helper that is root in it. Must be
/// called single-threaded.
pub fn gather_container(
    layout: Layout,
    sources: &Sources,
    glob: Glob,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let root = Root::of(layout, Path::new(PROC), false)?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let helper = enter::spawn_in_root(&root, "reading the sources", &[rx.as_fd()], |croot| {
        let mut w = BufWriter::with_capacity(1 << 16, File::from(tx));
        write_sources(croot, true, sources, glob, None, &mut w).map_err(|e| e.to_string())?;
        w.flush().map_err(|e| format!("sending the archive: {e}"))
    })?;
    let copied = io::copy(&mut File::from(rx), out).and_then(|_| out.flush());
    helper.wait()?;
    copied.map(|_| ()).map_err(Error::Stream)
}

/// Unpacks the tar stream `input` below `dir` (absolute) of container
/// `layout`, creating `dir` and its missing parents (0755, the container's
/// root), replacing what is in the way. Entries keep the archive's owners,
/// or get those of `chown` (`user[:group]`, looked up in the container).
/// Must be called single-threaded.
pub fn put_tree(
    layout: Layout,
    dir: &str,
    input: &mut dyn Read,
    chown: Option<&str>,
) -> Result<(), Error> {
    let maps = layout.maps.clone();
    let root = Root::of(layout, Path::new(PROC), false)?;
    let (data_r, data_w) = userns::pipe().map_err(Error::Pipe)?;
    let dir = dir.to_string();
    let chown = chown.map(str::to_string);
    let helper = enter::spawn_in_root(
        &root,
        "copying into the container",
        &[data_w.as_fd()],
        move |croot| {
            let owner = match &chown {
                Some(spec) => {
                    let (uid, gid) = crate::runtime::primary_ids(croot, spec, &maps)?;
                    Owner::Fixed(uid, gid)
                }
                None => Owner::Archive,
            };
            let fd = make_dirs(croot, &dir).map_err(|e| format!("creating {dir:?}: {e}"))?;
            let rules = CopyRules {
                owner,
                overwrite: true,
            };
            let mut r = BufReader::with_capacity(1 << 16, File::from(data_r));
            unpack_copy(&mut r, fd.as_fd(), rules)
                .map_err(|e| format!("unpacking into {dir:?}: {}", render_chain(&e)))?;
            let _ = io::copy(&mut r, &mut io::sink());
            Ok(())
        },
    )?;
    let mut pipe = File::from(data_w);
    let sent = io::copy(input, &mut pipe);
    drop(pipe);
    let waited = helper.wait();
    match (sent, waited) {
        (Ok(_), r) => r,
        (Err(e), Err(h)) if e.kind() == io::ErrorKind::BrokenPipe => Err(h),
        (Err(e), _) => Err(Error::Stream(e)),
    }
}

/// What `path` (absolute) is in container `layout`: `Some(true)` a
/// directory, `Some(false)` something else, `None` nothing. Must be
/// called single-threaded.
pub fn kind_in(layout: Layout, path: &str) -> Result<Option<bool>, Error> {
    let root = Root::of(layout, Path::new(PROC), false)?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let path = path.to_string();
    let helper = enter::spawn_in_root(
        &root,
        "looking at the destination",
        &[rx.as_fd()],
        |croot| {
            let answer: &[u8] = match openat2(croot, Path::new(&path), libc::O_PATH, 0, in_root()) {
                Ok(fd) => match is_dir_fd(fd.as_fd()) {
                    true => b"d",
                    false => b"f",
                },
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => b"n",
                Err(e) => return Err(format!("opening {path:?}: {e}")),
            };
            File::from(tx)
                .write_all(answer)
                .map_err(|e| format!("answering: {e}"))
        },
    )?;
    let mut answer = Vec::new();
    let read = File::from(rx).read_to_end(&mut answer);
    helper.wait()?;
    read.map_err(Error::Stream)?;
    Ok(match answer.as_slice() {
        b"d" => Some(true),
        b"f" => Some(false),
        _ => None,
    })
}

/// What `path` (relative) is in the build context `dir`, resolved as
/// `gather_host` resolves it: `Some(true)` a directory.
pub fn kind_in_host(dir: &Path, path: &str) -> Result<Option<bool>, Error> {
    let root = open_dir_at(nix::fcntl::AT_FDCWD, dir, Resolve::NO_SYMLINKS).map_err(|source| {
        Error::OpenHost {
            path: dir.to_path_buf(),
            source,
        }
    })?;
    match resolve(root.as_fd(), path, false) {
        Ok(r) => Ok(Some(r.is_dir)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Gather(format!("{path}: {e}"))),
    }
}

/// Whether `path` in the build context `dir` is a tar archive that `ADD`
/// unpacks.
pub fn is_archive_in_host(dir: &Path, path: &str) -> Result<bool, Error> {
    let root = open_dir_at(nix::fcntl::AT_FDCWD, dir, Resolve::NO_SYMLINKS).map_err(|source| {
        Error::OpenHost {
            path: dir.to_path_buf(),
            source,
        }
    })?;
    let r = match resolve(root.as_fd(), path, false) {
        Ok(r) if !r.is_dir => r,
        _ => return Ok(false),
    };
    let leaf = r.leaf.as_deref().unwrap_or(OsStr::new("."));
    Ok(matches!(open_archive(r.parent.as_fd(), leaf), Ok(Some(_))))
}

fn open_dir_at(dir: BorrowedFd<'_>, path: &Path, resolve: Resolve) -> io::Result<OwnedFd> {
    openat2(dir, path, libc::O_PATH | libc::O_DIRECTORY, 0, resolve)
}

fn is_dir_fd(fd: BorrowedFd<'_>) -> bool {
    nix::sys::stat::fstat(fd)
        .map(|st| SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR)
        .unwrap_or(false)
}

/// Opens directory `dir` (absolute) beneath `croot`, making what is
/// missing on the way (0755).
fn make_dirs(croot: BorrowedFd<'_>, dir: &str) -> io::Result<OwnedFd> {
    let mut cur = PathBuf::from("/");
    let mut fd = open_dir_at(croot, &cur, in_root())?;
    for name in dir.split('/').filter(|n| !n.is_empty() && *n != ".") {
        cur.push(name);
        fd = match open_dir_at(croot, &cur, in_root()) {
            Ok(fd) => fd,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                // Made in the directory the walk resolved to, so a
                // dangling symlink is not followed out.
                match mkdirat(fd.as_fd(), name, Mode::from_bits_truncate(0o755)) {
                    Ok(()) | Err(nix::errno::Errno::EEXIST) => {}
                    Err(e) => return Err(e.into()),
                }
                let _ = nix::sys::stat::fchmodat(
                    fd.as_fd(),
                    name,
                    Mode::from_bits_truncate(0o755),
                    nix::sys::stat::FchmodatFlags::FollowSymlink,
                );
                open_dir_at(croot, &cur, in_root())?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(fd)
}

/// A source resolved beneath the root: the directory holding it and its
/// name there (`None`: the root itself), every symlink on the way
/// followed.
struct Resolved {
    parent: OwnedFd,
    leaf: Option<OsString>,
    is_dir: bool,
    /// Its path below the root, symlinks resolved.
    path: PathBuf,
}

fn leads_out() -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        "it leads out of the build context",
    )
}

/// Resolves `path` below `root` one name at a time. With `in_root`, `..`
/// at the top and absolute symlinks stay in the root (an image); without
/// it they are an error (the build context).
fn resolve(root: BorrowedFd<'_>, path: &str, in_root: bool) -> io::Result<Resolved> {
    let mut todo: VecDeque<OsString> = split(path.as_bytes());
    // `a/../../x` leaves the context whether `a` exists or not.
    let mut depth = 0usize;
    for name in &todo {
        match name.as_bytes() {
            b".." if depth == 0 && !in_root => return Err(leads_out()),
            b".." => depth = depth.saturating_sub(1),
            _ => depth += 1,
        }
    }
    let mut done: Vec<OsString> = Vec::new();
    let mut links = 0;
    let strict = Resolve::NO_SYMLINKS | Resolve::BENEATH;
    while let Some(name) = todo.pop_front() {
        if name == ".." {
            if done.pop().is_none() && !in_root {
                return Err(leads_out());
            }
            continue;
        }
        let dir: PathBuf = done.iter().collect();
        let parent = open_dir_at(root, &join_dot(&dir), strict)?;
        match readlinkat(parent.as_fd(), name.as_os_str()) {
            Ok(target) => {
                links += 1;
                if links > 40 {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                let bytes = target.as_bytes();
                if bytes.starts_with(b"/") {
                    if !in_root {
                        return Err(leads_out());
                    }
                    done.clear();
                }
                for (i, n) in split(bytes).into_iter().enumerate() {
                    todo.insert(i, n);
                }
            }
            Err(nix::errno::Errno::EINVAL) => done.push(name),
            Err(e) => return Err(e.into()),
        }
    }
    let path: PathBuf = done.iter().collect();
    let (parent_path, leaf) = match done.pop() {
        Some(leaf) => (done.iter().collect::<PathBuf>(), Some(leaf)),
        None => (PathBuf::new(), None),
    };
    let parent = open_dir_at(root, &join_dot(&parent_path), strict)?;
    let is_dir = match &leaf {
        None => true,
        Some(l) => {
            let st = fstatat(parent.as_fd(), l.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)?;
            SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFDIR
        }
    };
    Ok(Resolved {
        parent,
        leaf,
        is_dir,
        path,
    })
}

fn join_dot(p: &Path) -> PathBuf {
    match p.as_os_str().is_empty() {
        true => PathBuf::from("."),
        false => p.to_path_buf(),
    }
}

/// The names of a `/`-separated path, without empty ones and `.`.
fn split(path: &[u8]) -> VecDeque<OsString> {
    path.split(|b| *b == b'/')
        .filter(|n| !n.is_empty() && *n != b".")
        .map(|n| OsStr::from_bytes(n).to_os_string())
        .collect()
}

fn has_glob(name: &[u8]) -> bool {
    name.iter().any(|b| matches!(b, b'*' | b'?' | b'['))
}

/// The paths `pattern` matches below `root`, sorted: its globbed names
/// matched against directory listings, the rest taken as they are.
fn expand(
    root: BorrowedFd<'_>,
    pattern: &str,
    in_root: bool,
    glob: Glob,
) -> io::Result<Vec<String>> {
    let names = split(pattern.as_bytes());
    if !names.iter().any(|n| has_glob(n.as_bytes())) {
        return Ok(vec![pattern.to_string()]);
    }
    let mut found = vec![String::new()];
    for name in names {
        let mut next = Vec::new();
        for prefix in found {
            let join = |n: &OsStr| match prefix.is_empty() {
                true => n.to_string_lossy().into_owned(),
                false => format!("{prefix}/{}", n.to_string_lossy()),
            };
            if !has_glob(name.as_bytes()) {
                next.push(join(&name));
                continue;
            }
            let dir = match resolve(root, &prefix, in_root) {
                Ok(r) if r.is_dir => r,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let fd = match &dir.leaf {
                Some(l) => open_dir_at(dir.parent.as_fd(), Path::new(l), Resolve::NO_SYMLINKS)?,
                None => dir.parent,
            };
            for entry in super::archive::list_dir(fd.as_fd())? {
                if glob(name.as_bytes(), entry.as_bytes()) {
                    next.push(join(&entry));
                }
            }
        }
        found = next;
    }
    found.sort();
    Ok(found)
}

/// An error about source `path`.
fn source_err(path: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("{path}: {e}"))
}

/// The error of a source that is not there.
fn missing(in_root: bool) -> &'static str {
    match in_root {
        true => "no such file or directory in the image",
        false => "no such file or directory in the build context",
    }
}

/// Writes the sources below `root` to `out` (see `Sources`).
fn write_sources(
    root: BorrowedFd<'_>,
    in_root: bool,
    src: &Sources,
    glob: Glob,
    exclude: Option<&Exclude<'_>>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let opts = Options {
        owner: src.owner,
        mode: src.mode,
        is_literal: true,
        ..Options::default()
    };
    let mut w = TreeWriter::new(out, opts);
    let is_kept = |p: &Path| exclude.is_none_or(|x| !(x.is_excluded)(p));
    for pattern in &src.paths {
        let matches = expand(root, pattern, in_root, glob).map_err(|e| source_err(pattern, e))?;
        let mut any = false;
        for path in matches {
            let r = match resolve(root, &path, in_root) {
                Ok(r) => r,
                // A glob matched it: a name that vanished is no error.
                Err(e) if e.kind() == io::ErrorKind::NotFound && path != *pattern => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(source_err(&path, missing(in_root)))
                }
                Err(e) => return Err(source_err(&path, e)),
            };
            if !r.path.as_os_str().is_empty() && !is_kept(&r.path) {
                continue;
            }
            any = true;
            // Named as the source was written, not as its symlink leads.
            let name = split(path.as_bytes()).pop_back();
            write_one(&mut w, &r, name.as_deref(), src, exclude)
                .map_err(|e| source_err(&path, e))?;
        }
        if !any {
            return Err(source_err(pattern, missing(in_root)));
        }
    }
    w.finish().map_err(|e| io::Error::other(e.to_string()))?;
    Ok(())
}

/// Writes one resolved source.
fn write_one(
    w: &mut TreeWriter<&mut dyn Write>,
    r: &Resolved,
    name: Option<&OsStr>,
    src: &Sources,
    exclude: Option<&Exclude<'_>>,
) -> io::Result<()> {
    let walk_err = |e: super::archive::WalkError| io::Error::other(e.to_string());
    if r.is_dir {
        let dir = match &r.leaf {
            Some(l) => open_dir_at(r.parent.as_fd(), Path::new(l), Resolve::NO_SYMLINKS)?,
            None => r.parent.try_clone()?,
        };
        let base = r.path.clone();
        let is_excluded = |rel: &Path| exclude.is_some_and(|x| (x.is_excluded)(&base.join(rel)));
        let filter = Filter {
            is_excluded: &is_excluded,
            has_exceptions: exclude.is_some_and(|x| x.has_exceptions),
        };
        return w
            .add(dir.as_fd(), None, None, Some(&filter))
            .map_err(walk_err);
    }
    let leaf = r.leaf.as_deref().unwrap_or(OsStr::new("."));
    if src.expand_archives {
        if let Some(archive) = open_archive(r.parent.as_fd(), leaf)? {
            return w.add_archive(archive, Path::new("")).map_err(walk_err);
        }
    }
    let name = Path::new(name.unwrap_or(leaf));
    w.add(r.parent.as_fd(), Some(leaf), Some(name), None)
        .map_err(walk_err)
}

/// Copies the tar stream `input` to `out` with every name below `prefix`
/// and the first name replaced by `rename` (where a single source lands
/// under another name), owners replaced by `owner` when given.
pub fn retarget(
    input: &mut dyn Read,
    out: &mut dyn Write,
    prefix: &Path,
    rename: Option<&OsStr>,
    owner: Option<(u32, u32)>,
) -> Result<(), Error> {
    let opts = Options {
        owner,
        is_literal: true,
        ..Options::default()
    };
    let mut w = TreeWriter::new(out, opts);
    let fail = |e: super::archive::WalkError| Error::Gather(e.to_string());
    w.add_renamed(input, prefix, rename).map_err(fail)?;
    w.finish().map_err(fail)?;
    Ok(())
}

/// Writes `files` (name, contents) as a tar stream (`COPY <<EOF`), owned
/// by the image's root, with `mode` or 0644.
pub fn write_files(
    files: &[(String, Vec<u8>)],
    mode: Option<u32>,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let opts = Options {
        mode,
        ..Options::default()
    };
    let mut w = TreeWriter::new(out, opts);
    let fail = |e: super::archive::WalkError| Error::Gather(e.to_string());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    for (name, data) in files {
        w.add_data(Path::new(name), data, (0, 0), now)
            .map_err(fail)?;
    }
    w.finish().map_err(fail)?;
    Ok(())
}

/// The tar stream in file `leaf` of `dir` (plain, gzip, zstd, bzip2 or
/// xz), or
/// `None` when it is no tar archive (`ADD` then copies it as a file).
fn open_archive(dir: BorrowedFd<'_>, leaf: &OsStr) -> io::Result<Option<Box<dyn Read>>> {
    let fd = openat2(
        dir,
        Path::new(leaf),
        libc::O_RDONLY | libc::O_NOFOLLOW,
        0,
        Resolve::NO_SYMLINKS | Resolve::BENEATH,
    )?;
    let mut file = File::from(fd);
    if stream::open_tar(&mut file).is_err() {
        return Ok(None);
    }
    // Checked on a first read; the archive is read again from its start.
    std::io::Seek::seek(&mut file, io::SeekFrom::Start(0))?;
    let raw: Box<dyn Read> = Box::new(BufReader::with_capacity(1 << 16, file));
    Ok(Some(Box::new(Decompressed::new(raw))))
}

/// A reader that decompresses what it reads when it is gzip, zstd,
/// bzip2 or xz.
struct Decompressed {
    inner: Box<dyn Read>,
}

impl Decompressed {
    fn new(mut raw: Box<dyn Read>) -> Decompressed {
        let mut head = [0u8; 6];
        let mut n = 0;
        while n < head.len() {
            match raw.read(&mut head[n..]) {
                Ok(0) | Err(_) => break,
                Ok(k) => n += k,
            }
        }
        let kind = stream::compression_of(&head[..n]);
        let chained = io::Cursor::new(head[..n].to_vec()).chain(raw);
        let inner = stream::decoder(kind, chained).unwrap_or_else(|_| Box::new(io::empty()));
        Decompressed { inner }
    }
}

impl Read for Decompressed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn glob(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|n| glob(rest, &s[n..])),
            Some((&c, rest)) => s.first() == Some(&c) && glob(rest, &s[1..]),
        }
    }

    fn names(tar: &[u8]) -> Vec<(String, u64)> {
        tar::Archive::new(tar)
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                    e.header().uid().unwrap(),
                )
            })
            .collect()
    }

    fn gather(
        dir: &Path,
        src: &Sources,
        ignore: &dyn Fn(&Path) -> bool,
    ) -> Result<Vec<(String, u64)>, Error> {
        let x = Exclude {
            is_excluded: ignore,
            has_exceptions: false,
        };
        let mut out = Vec::new();
        gather_host(dir, src, glob, &x, &mut out)?;
        Ok(names(&out))
    }

    #[test]
    fn sources_are_gathered_with_docker_naming() {
        let d = tempfile::tempdir().unwrap();
        let ctx = d.path().join("ctx");
        std::fs::create_dir_all(ctx.join("dir/sub")).unwrap();
        std::fs::write(ctx.join("dir/sub/f"), b"f").unwrap();
        std::fs::write(ctx.join("a.txt"), b"a").unwrap();
        std::fs::write(ctx.join("b.txt"), b"b").unwrap();
        std::fs::write(ctx.join("skip.txt"), b"s").unwrap();
        symlink("a.txt", ctx.join("in-link")).unwrap();
        symlink("/etc/passwd", ctx.join("dir/out-link")).unwrap();
        let none = |_: &Path| false;
        let src = |paths: &[&str]| Sources {
            paths: paths.iter().map(|p| p.to_string()).collect(),
            owner: Some((0, 0)),
            ..Sources::default()
        };
        // A directory gives its contents; a symlink inside stays one.
        let got = gather(&ctx, &src(&["dir"]), &none).unwrap();
        let got: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(got, ["out-link", "sub/", "sub/f"]);
        // Globs and the ignore file; a top symlink is followed in the context.
        let ignore = |p: &Path| p == Path::new("skip.txt");
        let got = gather(&ctx, &src(&["*.txt"]), &ignore).unwrap();
        assert_eq!(got, [("a.txt".into(), 0), ("b.txt".into(), 0)]);
        let x = Exclude {
            is_excluded: &none,
            has_exceptions: false,
        };
        let mut tar = Vec::new();
        gather_host(&ctx, &src(&["in-link"]), glob, &x, &mut tar).unwrap();
        assert_eq!(names(&tar), [("in-link".into(), 0)]);
        let mut moved = Vec::new();
        let name = OsStr::new("renamed");
        retarget(
            &mut &tar[..],
            &mut moved,
            Path::new("app"),
            Some(name),
            Some((7, 7)),
        )
        .unwrap();
        assert_eq!(names(&moved), [("app/renamed".into(), 7)]);
        // Leaving the context is an error; so is a missing source.
        for bad in ["../x", "dir/../../x", "dir/out-link", "nope"] {
            let e = gather(&ctx, &src(&[bad]), &none).unwrap_err().to_string();
            assert!(e.contains(bad), "{bad}: {e}");
        }
        assert!(gather(&ctx, &src(&["skip.txt"]), &ignore).is_err());
    }
}
