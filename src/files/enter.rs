//! Helper processes that act on a container's files as its root.
//!
//! A helper is forked through `sys::child::spawn` (the caller is
//! single-threaded), does one job, sends any failure over its report pipe
//! and ends with `_exit`. Unlike
//! `userns::run_as_root` the parent gets the helper back at once, so it can
//! stream a tar to or from it over a pipe while it runs, then `wait`s.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use nix::sys::wait::WaitStatus;

use super::Error;
use crate::runtime::overlay::{self, RootDirs};
use crate::runtime::volumes::{self, Volumes};
use crate::runtime::{mounts, Sources};
use crate::storage::{ChildError, ContainerDirs, ContainerStatus};
use crate::sys::child::{self, Child, Failure, Kind};
use crate::sys::fs::{openat2, Resolve};
use crate::sys::process::exit_now;
use crate::userns::{self, IdMaps};

/// Where a container's root filesystem is reached.
pub enum Root {
    /// Not running: mount its overlay in a private mount namespace, with
    /// `volumes` (for `cp`: its bind mounts and volumes) over it.
    Stopped {
        lowers: Vec<PathBuf>,
        dirs: Box<ContainerDirs>,
        maps: IdMaps,
        volumes: Option<Volumes>,
    },
    /// Running: join its user and mount namespaces (opened beforehand, so
    /// a reused pid cannot swap them afterwards).
    Running { user: OwnedFd, mnt: OwnedFd },
}

impl Root {
    /// How to reach the root of container `layout`; `proc` is the proc
    /// root. With `is_mounted`, a stopped container's root gets its bind
    /// mounts and volumes (a running one has them anyway).
    pub fn of(layout: super::Layout, proc: &Path, is_mounted: bool) -> Result<Root, Error> {
        let super::Layout {
            info,
            lowers,
            dirs,
            maps,
            has_init,
            volumes,
            workdir: _,
            user: _,
        } = layout;
        let volumes = is_mounted.then(|| copy_mounts(volumes));
        let stopped = move || Root::Stopped {
            lowers,
            dirs: Box::new(dirs),
            maps,
            volumes,
        };
        let pid = match (info.state.status, info.state.pid) {
            (ContainerStatus::Running, Some(pid)) => pid,
            _ => return Ok(stopped()),
        };
        // An --init container's pid 1 is non-dumpable: enter its command.
        let start = info.state.pid_start.unwrap_or(0);
        let Some((pid, start)) =
            crate::runtime::hardening::entry_process(proc, pid, start, has_init)
        else {
            return Ok(stopped());
        };
        let open = |ns: &str| {
            let path = proc.join(pid.to_string()).join("ns").join(ns);
            File::open(&path)
                .map(OwnedFd::from)
                .map_err(|source| Error::OpenNamespace { path, source })
        };
        let user = open("user")?;
        let mnt = open("mnt")?;
        // The pid may have been reused between the record and the opens.
        if info.state.pid_start.is_some() && !crate::runtime::procfs::is_alive(proc, pid, start) {
            return Ok(stopped());
        }
        Ok(Root::Running { user, mnt })
    }
}

/// A forked helper, to be waited for.
pub struct Helper {
    child: Child,
    step: &'static str,
}

impl Helper {
    /// Waits for the helper; its failure text becomes the source of an
    /// error naming `step`.
    pub fn wait(mut self) -> Result<(), Error> {
        let failure = self.child.read_failure();
        let status = self.child.wait().map_err(Error::Wait)?;
        let fail = |text: String| Error::Child {
            step: self.step,
            source: ChildError(text),
        };
        match (status, failure) {
            (WaitStatus::Exited(_, 0), _) => Ok(()),
            (_, Ok(Some(f))) if f.kind == Kind::Panicked => {
                Err(fail(format!("helper process panicked at {}", f.text)))
            }
            (_, Ok(Some(f))) => Err(fail(f.text)),
            (other, _) => Err(fail(format!("helper process ended with {other:?}"))),
        }
    }
}

/// Forks a helper that runs `job` with the container's root directory fd,
/// as root in the container's user namespace. `step` names the job in
/// errors; `parent_ends` are this process's ends of pipes to the helper,
/// closed in the helper so that each side sees EOF when the other is done.
pub fn spawn_in_root<F>(
    root: &Root,
    step: &'static str,
    parent_ends: &[BorrowedFd<'_>],
    job: F,
) -> Result<Helper, Error>
where
    F: FnOnce(BorrowedFd<'_>) -> Result<(), String>,
{
    match root {
        Root::Stopped {
            lowers,
            dirs,
            maps,
            volumes,
        } => spawn(
            CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS,
            Some(maps),
            step,
            parent_ends,
            || open_root(lowers, dirs, volumes.as_ref()),
            move |held| {
                let root = mount_root(&held, dirs, volumes.as_ref())?;
                job(root.as_fd())
            },
        ),
        Root::Running { user, mnt } => spawn(
            CloneFlags::empty(),
            None,
            step,
            parent_ends,
            || Ok(()),
            move |()| {
                let root = join_root(user.as_fd(), mnt.as_fd())?;
                job(root.as_fd())
            },
        ),
    }
}

/// Forks a helper that runs `job` as root in a fresh user namespace with
/// `maps` (it sees files owned by subordinate ids as the container does);
/// `parent_ends` as for `spawn_in_root`.
pub fn spawn_in_userns<F>(
    maps: &IdMaps,
    step: &'static str,
    parent_ends: &[BorrowedFd<'_>],
    job: F,
) -> Result<Helper, Error>
where
    F: FnOnce() -> Result<(), String>,
{
    spawn(
        CloneFlags::CLONE_NEWUSER,
        Some(maps),
        step,
        parent_ends,
        || Ok(()),
        |()| job(),
    )
}

/// The mounts `cp` sees in a stopped container: the bind mounts and
/// volumes whose files outlive it. Tmpfs mounts hold nothing while it is
/// stopped and a `:O` overlay's changes are thrown away, so files copied
/// there go into the container's own tree, as with Podman.
fn copy_mounts(volumes: Volumes) -> Volumes {
    let mounts = volumes
        .mounts
        .into_iter()
        .filter(|m| {
            matches!(
                m.kind,
                volumes::Kind::Bind | volumes::Kind::Volume | volumes::Kind::Image
            )
        })
        .filter(|m| !m.is_tmpfs_volume && !m.overlay)
        .collect();
    Volumes { mounts }
}

/// A failure of a runtime step as the helper reports it.
fn failed(f: Failure) -> String {
    let cause = nix::errno::Errno::from_raw(f.errno);
    format!("{}: {cause}", f.text)
}

/// What a stopped container's helper opens before it becomes the
/// container's root, as the container's init does (the store root is
/// private to the user, and the container's root may be a subordinate id).
struct Held {
    rootfs: RootDirs,
    sources: Option<Sources>,
}

/// In a stopped container's helper, still the invoking user: opens the
/// overlay's directories and the sources of `volumes`.
fn open_root(
    lowers: &[PathBuf],
    dirs: &ContainerDirs,
    volumes: Option<&Volumes>,
) -> Result<Held, String> {
    Ok(Held {
        rootfs: RootDirs::open(lowers, dirs).map_err(failed)?,
        sources: volumes.map(Sources::open).transpose().map_err(failed)?,
    })
}

/// In a stopped container's helper: mounts its overlay in the helper's own
/// mount namespace, then `volumes` over it, and returns the root.
fn mount_root(
    held: &Held,
    dirs: &ContainerDirs,
    volumes: Option<&Volumes>,
) -> Result<OwnedFd, String> {
    // 1. Slave first: the overlay must not propagate to the host's namespace.
    mounts::make_root_rslave().map_err(|e| format!("making / a slave mount: {e}"))?;
    // 2. Mount the overlay on `merged`, visible only in this namespace; its
    //    root is where everything after resolves beneath.
    let (_, root) = overlay::mount_rootfs(&held.rootfs).map_err(failed)?;
    // 3. The container's mounts, as its init makes them at start.
    if let (Some(volumes), Some(sources)) = (volumes, &held.sources) {
        crate::runtime::mount_volumes(root.as_fd(), volumes, sources, &dirs.dir).map_err(failed)?;
    }
    Ok(root)
}

/// In a running container's helper: joins its user namespace, then its
/// mount namespace, and opens its root.
fn join_root(user: BorrowedFd<'_>, mnt: BorrowedFd<'_>) -> Result<OwnedFd, String> {
    // 1. User first: joining the mount namespace needs CAP_SYS_ADMIN in
    //    the user namespace that owns it, which only membership gives.
    nix::sched::setns(user, CloneFlags::CLONE_NEWUSER)
        .map_err(|e| format!("joining the container's user namespace: {e}"))?;
    userns::become_root()?;
    // 2. Then the mount namespace; setns(2) moves root and cwd to its root,
    //    the container's pivoted root.
    nix::sched::setns(mnt, CloneFlags::CLONE_NEWNS)
        .map_err(|e| format!("joining the container's mount namespace: {e}"))?;
    openat2(
        nix::fcntl::AT_FDCWD,
        Path::new("/"),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        Resolve::NO_SYMLINKS,
    )
    .map_err(|e| format!("opening the container's root: {e}"))
}

/// Forks the helper (see `sys::child::spawn`): with `maps`, it waits for
/// them, runs `prepare` while it still has the invoking user's identity,
/// and becomes root in its new user namespace before `job`, which gets
/// what `prepare` returned.
fn spawn<T, P, F>(
    flags: CloneFlags,
    maps: Option<&IdMaps>,
    step: &'static str,
    parent_ends: &[BorrowedFd<'_>],
    prepare: P,
    job: F,
) -> Result<Helper, Error>
where
    P: FnOnce() -> Result<T, String>,
    F: FnOnce(T) -> Result<(), String>,
{
    let (go_r, go_w) = userns::pipe().map_err(Error::Pipe)?;
    let ends: Vec<BorrowedFd<'_>> = parent_ends.iter().copied().chain([go_w.as_fd()]).collect();
    let is_mapped = maps.is_some();
    let child = child::spawn(flags, &ends, move |_| {
        let ready = if is_mapped {
            userns::wait_for_maps(go_r).and_then(|()| {
                let prepared = prepare()?;
                userns::become_root().map(|()| prepared)
            })
        } else {
            drop(go_r);
            prepare()
        };
        ready.and_then(job).map_err(Failure::text)?;
        exit_now(0)
    })
    .map_err(Error::Spawn)?;
    drop(ends);
    let helper = Helper { child, step };
    if let Some(maps) = maps {
        let mapped = userns::write_id_maps(helper.child.pid(), maps);
        let mut go = File::from(go_w);
        if mapped.is_ok() {
            let _ = go.write_all(b"1");
        }
        drop(go);
        if let Err(e) = mapped {
            // Without maps the helper fails on its own; reap it.
            let _ = helper.wait();
            return Err(Error::Maps(e));
        }
    }
    Ok(helper)
}
