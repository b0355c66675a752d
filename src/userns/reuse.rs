//! Reusing a container's user namespace for work on files of its ids.
//!
//! Creating a namespace with full maps costs two setuid helper processes
//! (newuidmap, newgidmap). After a foreground container ends, its
//! namespace still exists while this process holds an fd to it, and its
//! creator gets every capability in it back with setns(2)
//! (user_namespaces(7)); removing the container's files there needs no
//! helper at all. Only jobs that need capabilities over the ids, not a
//! particular uid (removal), may use it: the namespace's root may be
//! another host id than the default maps' root.

use std::os::fd::OwnedFd;
use std::sync::Mutex;

use nix::sched::CloneFlags;
use nix::unistd::Pid;

use super::{finish_job, run_as_root, Error, IdMap, IdMaps};
use crate::sys::child::{spawn, Failure};
use crate::sys::process::exit_now;

/// The last user namespace remembered, with its maps.
static REMEMBERED: Mutex<Option<(IdMaps, OwnedFd)>> = Mutex::new(None);

/// Keeps an fd to the user namespace of `pid` (whose maps are `maps`);
/// silently does nothing when it cannot be opened.
pub fn remember_namespace(pid: Pid, maps: &IdMaps) {
    let path = format!("/proc/{pid}/ns/user");
    let fd = match nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => {
            log::debug!("cannot keep {path}: {e}");
            return;
        }
    };
    let mut slot = REMEMBERED.lock().unwrap_or_else(|e| e.into_inner());
    *slot = Some((maps.clone(), fd));
}

/// Runs `job` in a child with every capability over the host ids that
/// `maps` covers: in a remembered namespace that maps the same host ids,
/// else as root in a new one (`run_as_root`). The caller must be
/// single-threaded; `job` must not print.
pub fn run_with_caps<F>(maps: &IdMaps, job: F) -> Result<(), Error>
where
    F: FnOnce() -> Result<(), String>,
{
    let fd = {
        let slot = REMEMBERED.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref()
            .filter(|(m, _)| same_host_ids(m, maps))
            .and_then(|(_, fd)| fd.try_clone().ok())
    };
    let Some(fd) = fd else {
        log::debug!("no remembered user namespace with these ids: creating one");
        return run_as_root(maps, CloneFlags::empty(), job);
    };
    log::debug!("reusing a remembered user namespace");
    let mut child = spawn(CloneFlags::empty(), &[], |_| {
        nix::sched::setns(&fd, CloneFlags::CLONE_NEWUSER)
            .map_err(|e| format!("entering the container's user namespace: {e}"))
            .map(|()| crate::sys::child::rearm_parent_death())
            .and_then(|()| job())
            .map_err(Failure::text)?;
        exit_now(0)
    })
    .map_err(Error::Clone)?;
    finish_job(&mut child)
}

/// Whether both maps cover exactly the same host uids and gids.
fn same_host_ids(a: &IdMaps, b: &IdMaps) -> bool {
    host_ranges(&a.uids) == host_ranges(&b.uids) && host_ranges(&a.gids) == host_ranges(&b.gids)
}

/// The host ids of `map` as sorted, merged `[start, end)` ranges.
fn host_ranges(map: &[IdMap]) -> Vec<(u64, u64)> {
    let mut r: Vec<(u64, u64)> = map
        .iter()
        .map(|m| (u64::from(m.host), u64::from(m.host) + u64::from(m.size)))
        .collect();
    r.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (s, e) in r {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::userns::mode::{self, Mode, Request};

    #[test]
    fn keep_id_covers_the_same_host_ids_as_the_default() {
        let default = IdMaps::plan(1001, 1001, &[(100000, 65536)], &[(100000, 65536)]);
        let req = Request {
            mode: Some(Mode::KeepId {
                uid: None,
                gid: None,
            }),
            uidmap: Vec::new(),
            gidmap: Vec::new(),
        };
        let keep = mode::plan(&req, 1001, 1001, &default)
            .unwrap()
            .unwrap()
            .host;
        assert!(same_host_ids(&default, &keep));
        let nomap = Request {
            mode: Some(Mode::NoMap),
            ..req
        };
        let nomap = mode::plan(&nomap, 1001, 1001, &default)
            .unwrap()
            .unwrap()
            .host;
        assert!(!same_host_ids(&default, &nomap));
    }
}
