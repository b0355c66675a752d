//! User namespaces: subordinate id ranges, id maps and entering a namespace.
//!
//! Owns reading /etc/subuid and /etc/subgid, planning the container's id
//! maps (container root = the user, 1..N = the subordinate range), writing
//! them with the setuid helpers `newuidmap`/`newgidmap` (or directly, for the
//! single-id fallback), and running a closure as root in a fresh user
//! namespace. It must not mount anything or know about images.

mod maps;
pub mod mode;
mod reuse;
mod subid;
pub mod unshare;

pub use maps::{map_lines, IdMap, IdMaps};
pub use reuse::{remember_namespace, run_with_caps};

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sched::CloneFlags;
use nix::sys::wait::WaitStatus;
use nix::unistd::{Gid, Pid, Uid};

use crate::sys::child::{spawn, Child, Failure, Kind};
use crate::sys::process::exit_now;

/// What went wrong while setting up a user namespace.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}")]
    ReadSubid {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("looking up the current user")]
    LookupUser(#[source] nix::Error),
    #[error("running {helper} for pid {pid}")]
    SpawnHelper {
        helper: &'static str,
        pid: Pid,
        #[source]
        source: std::io::Error,
    },
    #[error("{helper} failed for pid {pid}: {stderr}")]
    HelperFailed {
        helper: &'static str,
        pid: Pid,
        stderr: String,
    },
    #[error("writing {file} for pid {pid}")]
    WriteMap {
        file: &'static str,
        pid: Pid,
        #[source]
        source: std::io::Error,
    },
    #[error("creating a user namespace")]
    Clone(#[source] std::io::Error),
    #[error("creating a sync pipe")]
    Pipe(#[source] nix::Error),
    #[error("waiting for the namespace process")]
    Wait(#[source] nix::Error),
    #[error("{0}")]
    Child(String),
    #[error(transparent)]
    Mode(#[from] mode::ModeError),
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::SpawnHelper { .. } => Some(
                "install the uidmap package (newuidmap/newgidmap), or remove the user's /etc/subuid entry to use a single-id map".into(),
            ),
            Error::HelperFailed { .. } => Some(
                "check that /etc/subuid and /etc/subgid give this user a range and that newuidmap/newgidmap are setuid root".into(),
            ),
            Error::Clone(_) => Some(
                "unprivileged user namespaces may be disabled: check sysctl user.max_user_namespaces (and kernel.unprivileged_userns_clone where it exists)".into(),
            ),
            Error::Mode(e) => e.hint(),
            _ => None,
        }
    }
}

/// Plans the id maps for the current user from `etc`/subuid and `etc`/subgid.
///
/// A user with no range gets a single-id map; `IdMaps::fallback_reason`
/// then says why, for the caller's one warning line.
pub fn current_user_maps(etc: &Path) -> Result<IdMaps, Error> {
    let uid = Uid::current();
    let gid = Gid::current();
    let name = nix::unistd::User::from_uid(uid)
        .map_err(Error::LookupUser)?
        .map(|u| u.name);
    let read = |file: &str| -> Result<String, Error> {
        let path = etc.join(file);
        match std::fs::read_to_string(&path) {
            Ok(s) => Ok(s),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(Error::ReadSubid { path, source }),
        }
    };
    let subuid = subid::parse(&read("subuid")?);
    let subgid = subid::parse(&read("subgid")?);
    let uid_ranges = subid::ranges_for(&subuid, name.as_deref(), uid.as_raw());
    let gid_ranges = subid::ranges_for(&subgid, name.as_deref(), uid.as_raw());
    Ok(IdMaps::plan(
        uid.as_raw(),
        gid.as_raw(),
        &uid_ranges,
        &gid_ranges,
    ))
}

/// The user's ranges in one of /etc/subuid or /etc/subgid, as `doctor`
/// reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubidReport {
    /// The file read.
    pub path: PathBuf,
    /// The user's `(start, count)` ranges.
    pub ranges: Vec<(u32, u32)>,
    /// Other owners' ranges overlapping the user's: `(owner, start, count)`.
    pub overlaps: Vec<(String, u32, u32)>,
    /// A free range of 65536 ids to suggest when the user has none.
    pub free_start: u32,
}

/// Reads `etc`/`file` (`subuid` or `subgid`) for the user `name`/`uid`.
pub fn subid_report(
    etc: &Path,
    file: &str,
    name: Option<&str>,
    uid: u32,
) -> Result<SubidReport, Error> {
    let path = etc.join(file);
    let text = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => return Err(Error::ReadSubid { path, source }),
    };
    let entries = subid::parse(&text);
    let ranges = subid::ranges_for(&entries, name, uid);
    let overlaps = subid::overlaps(&entries, name, uid, &ranges)
        .into_iter()
        .map(|e| (e.owner, e.start, e.count))
        .collect();
    Ok(SubidReport {
        path,
        ranges,
        overlaps,
        free_start: subid::free_start(&entries, 65536),
    })
}

/// Writes `maps` for the process `pid`, which must have just entered a new
/// user namespace and must not have changed its ids yet.
///
/// Full maps go through `newuidmap`/`newgidmap` (setuid root helpers that
/// check /etc/subuid); a single-id map is written directly, after denying
/// setgroups, as user_namespaces(7) requires for unprivileged writers.
pub fn write_id_maps(pid: Pid, maps: &IdMaps) -> Result<(), Error> {
    if maps.is_single() {
        let proc = PathBuf::from(format!("/proc/{pid}"));
        let write = |file: &'static str, text: &str| {
            std::fs::write(proc.join(file), text).map_err(|source| Error::WriteMap {
                file,
                pid,
                source,
            })
        };
        write("uid_map", &maps::map_lines(&maps.uids))?;
        write("setgroups", "deny")?;
        write("gid_map", &maps::map_lines(&maps.gids))?;
        return Ok(());
    }
    // Both helpers are independent; run them concurrently to save a few ms.
    let uid_child = spawn_helper("newuidmap", pid, &maps.uids)?;
    let gid_child = spawn_helper("newgidmap", pid, &maps.gids)?;
    finish_helper("newuidmap", pid, uid_child)?;
    finish_helper("newgidmap", pid, gid_child)?;
    Ok(())
}

fn spawn_helper(
    helper: &'static str,
    pid: Pid,
    map: &[IdMap],
) -> Result<std::process::Child, Error> {
    let mut cmd = Command::new(helper);
    cmd.arg(pid.to_string());
    for m in map {
        cmd.args([
            m.container.to_string(),
            m.host.to_string(),
            m.size.to_string(),
        ]);
    }
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|source| Error::SpawnHelper {
            helper,
            pid,
            source,
        })
}

fn finish_helper(helper: &'static str, pid: Pid, child: std::process::Child) -> Result<(), Error> {
    let out = child
        .wait_with_output()
        .map_err(|source| Error::SpawnHelper {
            helper,
            pid,
            source,
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(Error::HelperFailed {
            helper,
            pid,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

/// Runs `job` in a child process that is root in a new user namespace with
/// `maps` (plus the namespaces in `extra`), and waits for it.
///
/// The caller must be single-threaded. `job` runs after fork: it must not
/// print; its `Err` text is sent back and returned as `Error::Child`.
pub fn run_as_root<F>(maps: &IdMaps, extra: CloneFlags, job: F) -> Result<(), Error>
where
    F: FnOnce() -> Result<(), String>,
{
    let (go_r, go_w) = pipe()?;
    let mut child = spawn(CloneFlags::CLONE_NEWUSER | extra, &[go_w.as_fd()], |_| {
        wait_for_maps(go_r)
            .and_then(|()| become_root())
            .and_then(|()| job())
            .map_err(Failure::text)?;
        exit_now(0)
    })
    .map_err(Error::Clone)?;
    let mapped = write_id_maps(child.pid(), maps);
    // Closing `go_w` releases the child either way; without maps it
    // fails on its own (setresuid to 0 is impossible) and exits.
    let mut go = std::fs::File::from(go_w);
    if mapped.is_ok() {
        let _ = go.write_all(b"1");
    }
    drop(go);
    let result = finish_job(&mut child);
    mapped?;
    result
}

/// Reads a job child's report and waits for it: success when it exited 0,
/// else its failure (or how it ended) as `Error::Child`.
fn finish_job(child: &mut Child) -> Result<(), Error> {
    let failure = child.read_failure();
    let status = child.wait().map_err(Error::Wait)?;
    match (status, failure) {
        (WaitStatus::Exited(_, 0), _) => Ok(()),
        (_, Ok(Some(f))) if f.kind == Kind::Panicked => Err(Error::Child(format!(
            "namespace process panicked at {}",
            f.text
        ))),
        (_, Ok(Some(f))) => Err(Error::Child(f.text)),
        (other, _) => Err(Error::Child(format!(
            "namespace process ended with {other:?}"
        ))),
    }
}

/// Blocks until the parent has written the id maps (one byte), or fails
/// when the parent gave up (EOF).
pub fn wait_for_maps(go: OwnedFd) -> Result<(), String> {
    let mut b = [0u8; 1];
    match std::fs::File::from(go).read(&mut b) {
        Ok(1) => Ok(()),
        _ => Err("id maps were not written".into()),
    }
}

/// Makes the calling process root (uid and gid 0) inside its user namespace.
/// In a child of `sys::child::spawn` it still dies with its parent: the
/// credential change may clear the parent death signal, so it is set again.
pub fn become_root() -> Result<(), String> {
    nix::unistd::setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0))
        .map_err(|e| format!("setting gid 0 in the user namespace: {e}"))?;
    nix::unistd::setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0))
        .map_err(|e| format!("setting uid 0 in the user namespace: {e}"))?;
    crate::sys::child::rearm_parent_death();
    Ok(())
}

/// A close-on-exec pipe.
pub fn pipe() -> Result<(OwnedFd, OwnedFd), Error> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(Error::Pipe)
}
