//! One path's facts inside a container, as Docker's archive endpoints
//! report them (`X-Docker-Container-Path-Stat`, issue #17): looked at by a
//! helper in the container, the parent resolved beneath its root and the
//! path itself not followed.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::fcntl::AtFlags;
use nix::sys::stat::fstatat;

use super::copy::{in_root, in_workdir, open_dir, split};
use super::enter::{self, Root};
use super::{Error, Layout};
use crate::runtime::PROC;
use crate::userns;

/// What `lstat` says of a path in a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PathStat {
    /// Its last component (`/` for the root).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// `st_mode`: type and permission bits.
    pub mode: u32,
    /// Its modification time, RFC 3339 in UTC with nanoseconds.
    pub mtime: String,
    /// A symlink's target as written, else empty.
    pub link_target: String,
}

/// What the helper reports: the facts, or that the path is missing.
#[derive(serde::Serialize, serde::Deserialize)]
enum Found {
    Stat(PathStat),
    Missing(String),
}

/// The facts of `path` in container `layout` (relative to its working
/// directory); `None` when it does not exist. Must be called
/// single-threaded.
pub fn stat_path(layout: Layout, path: &str) -> Result<Option<PathStat>, Error> {
    let path = in_workdir(&layout.workdir, path);
    let root = Root::of(layout, Path::new(PROC), true)?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let helper = enter::spawn_in_root(
        &root,
        "looking at a path in the container",
        &[rx.as_fd()],
        move |croot| {
            let found = look(croot, &path);
            let text = serde_json::to_vec(&found).map_err(|e| e.to_string())?;
            File::from(tx)
                .write_all(&text)
                .map_err(|e| format!("sending the answer: {e}"))
        },
    )?;
    let mut text = Vec::new();
    let read = File::from(rx).read_to_end(&mut text);
    helper.wait()?;
    read.map_err(Error::Stream)?;
    match serde_json::from_slice(&text) {
        Ok(Found::Stat(st)) => Ok(Some(st)),
        Ok(Found::Missing(_)) => Ok(None),
        Err(e) => Err(Error::Stream(e.into())),
    }
}

/// In the helper: `lstat` of `path` beneath `croot`.
fn look(croot: std::os::fd::BorrowedFd<'_>, path: &str) -> Found {
    let sp = split(path.as_bytes());
    let missing = |e: std::io::Error| Found::Missing(e.to_string());
    let parent = match open_dir(croot, &sp.parent, in_root()) {
        Ok(p) => p,
        Err(e) => return missing(e),
    };
    let leaf = sp.leaf.clone().unwrap_or_else(|| ".".into());
    let st = match fstatat(
        parent.as_fd(),
        leaf.as_os_str(),
        AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(st) => st,
        Err(e) => return missing(e.into()),
    };
    let is_link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
    let link_target = match is_link {
        true => nix::fcntl::readlinkat(parent.as_fd(), leaf.as_os_str())
            .map(|t| t.to_string_lossy().into_owned())
            .unwrap_or_default(),
        false => String::new(),
    };
    let name = match &sp.leaf {
        Some(l) => OsStr::from_bytes(l.as_bytes())
            .to_string_lossy()
            .into_owned(),
        None => "/".into(),
    };
    if sp.is_dir_only && st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Found::Missing(format!("{path:?} is not a directory"));
    }
    Found::Stat(PathStat {
        name,
        size: st.st_size as u64,
        mode: st.st_mode,
        mtime: crate::runtime::clock::format_rfc3339(
            st.st_mtime.max(0) as u64,
            Some(st.st_mtime_nsec as u32),
        ),
        link_target,
    })
}
