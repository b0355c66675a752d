//! Exclusive locks between concurrent hutch processes: flock(2) on files
//! under `ROOT/locks`.
//!
//! A lock file is never deleted (deleting it would let two processes lock
//! different inodes under one name); the files are empty and few, and
//! private to the user (0600 in a 0700 store).
//!
//! No wait is unbounded: after `HUTCH_LOCK_TIMEOUT` seconds (default
//! `DEFAULT_WAIT`) the error names the lock and the process holding it, as
//! /proc/locks tells.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::Error;

/// How long a lock is waited for unless `HUTCH_LOCK_TIMEOUT` says: long
/// enough for another hutch to finish downloading and unpacking a large
/// layer it holds the lock for.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// The longest sleep between two tries.
const MAX_POLL: Duration = Duration::from_millis(200);

/// The wait for a lock: `HUTCH_LOCK_TIMEOUT` seconds, else `DEFAULT_WAIT`.
pub fn wait_limit() -> Duration {
    std::env::var(crate::paths::ENV_LOCK_TIMEOUT)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(DEFAULT_WAIT, Duration::from_secs_f64)
}

/// The process holding a lock, as far as /proc/locks and /proc/PID say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its pid (in hutch's pid namespace).
    pub pid: i32,
    /// Its command line, space-separated; empty when unreadable.
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.command.is_empty() {
            write!(f, "process {}", self.pid)
        } else {
            write!(f, "process {} ({})", self.pid, self.command)
        }
    }
}

/// An exclusive lock; released on drop.
pub struct LockGuard {
    _file: Flock<File>,
}

/// Waits until the lock `ROOT/locks/NAME.lock` is ours, at most
/// `wait_limit()`.
pub(super) fn lock(root: &Path, name: &str) -> Result<LockGuard, Error> {
    lock_within(root, name, wait_limit())
}

/// Waits until the lock `ROOT/locks/NAME.lock` is ours, at most `limit`.
pub(super) fn lock_within(root: &Path, name: &str, limit: Duration) -> Result<LockGuard, Error> {
    lock_as(root, name, limit, FlockArg::LockExclusiveNonblock)
        .map(|file| LockGuard { _file: file })
}

/// Waits until the lock `ROOT/locks/NAME.lock` is shared with us (no
/// process holds it exclusively), at most `wait_limit()`.
pub(super) fn lock_shared(root: &Path, name: &str) -> Result<Flock<File>, Error> {
    lock_as(root, name, wait_limit(), FlockArg::LockSharedNonblock)
}

/// Takes the lock `ROOT/locks/NAME.lock` exclusively if no process holds
/// it (shared or not) right now; `None` when one does.
pub(super) fn try_lock(root: &Path, name: &str) -> Result<Option<LockGuard>, Error> {
    match lock_as(root, name, Duration::ZERO, FlockArg::LockExclusiveNonblock) {
        Ok(file) => Ok(Some(LockGuard { _file: file })),
        Err(Error::LockTimeout { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Takes the lock `ROOT/locks/NAME.lock` as `how` (a non-blocking
/// flock(2) operation), trying again until `limit` has passed.
fn lock_as(root: &Path, name: &str, limit: Duration, how: FlockArg) -> Result<Flock<File>, Error> {
    let dir = root.join("locks");
    let path = dir.join(format!("{name}.lock"));
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
    };
    let file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|source| Error::CreateDir {
                    path: dir.clone(),
                    source,
                })?;
            open()
        }
        other => other,
    }
    .map_err(|source| Error::Lock {
        path: path.clone(),
        source,
    })?;
    wait_for(file, path, limit, how)
}

/// Locks directory `dir` itself (no lock file to leave behind), waiting at
/// most `wait_limit()`; `None` when the directory is gone.
pub(super) fn lock_dir(dir: &Path) -> Result<Option<LockGuard>, Error> {
    match File::open(dir) {
        Ok(file) => wait_for(
            file,
            dir.to_path_buf(),
            wait_limit(),
            FlockArg::LockExclusiveNonblock,
        )
        .map(|file| Some(LockGuard { _file: file })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Lock {
            path: dir.to_path_buf(),
            source,
        }),
    }
}

/// Locks `file` (at `path`) as `how` (a non-blocking flock(2) operation),
/// polling with a growing pause for at most `limit`; the error names the
/// holder.
fn wait_for(
    mut file: File,
    path: PathBuf,
    limit: Duration,
    how: FlockArg,
) -> Result<Flock<File>, Error> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match Flock::lock(file, how) {
            Ok(locked) => return Ok(locked),
            Err((f, Errno::EINTR)) => file = f,
            Err((f, Errno::EWOULDBLOCK)) => {
                let waited = started.elapsed();
                if waited >= limit {
                    if limit.is_zero() {
                        // A try: who holds it does not matter.
                        return Err(Error::LockTimeout {
                            path,
                            waited,
                            holder: None,
                        });
                    }
                    let holder = f
                        .metadata()
                        .ok()
                        .and_then(|m| holder_of(Path::new("/proc"), m.dev(), m.ino()));
                    return Err(Error::LockTimeout {
                        path,
                        waited,
                        holder,
                    });
                }
                file = f;
                std::thread::sleep(pause.min(limit - waited));
                pause = (pause * 2).min(MAX_POLL);
            }
            Err((_, errno)) => {
                return Err(Error::Lock {
                    path,
                    source: errno.into(),
                })
            }
        }
    }
}

/// The process holding a lock on the file with device `dev` and inode
/// `ino`, from `PROC/locks` (proc(5): "ID: TYPE ADVISORY MODE PID
/// MAJ:MIN:INODE START END"; a waiter's line has `->` after its id).
pub fn holder_of(proc: &Path, dev: u64, ino: u64) -> Option<Holder> {
    let text = std::fs::read_to_string(proc.join("locks")).ok()?;
    let want = format!(
        "{:02x}:{:02x}:{ino}",
        libc::major(dev as libc::dev_t),
        libc::minor(dev as libc::dev_t)
    );
    let pid = text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) == Some(&"->") {
            return None;
        }
        let file = fields.get(5)?;
        (*file == want).then(|| fields.get(4)?.parse::<i32>().ok())?
    })?;
    let command = std::fs::read(proc.join(pid.to_string()).join("cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(Holder { pid, command })
}

/// Opens (creating it) the lock file `path` and blocks until an exclusive
/// `flock` on it is ours; released when the returned value is dropped.
pub fn exclusive(path: &Path) -> std::io::Result<nix::fcntl::Flock<std::fs::File>> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| std::io::Error::from(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_is_exclusive_between_open_files() {
        let dir = tempfile::tempdir().unwrap();
        let guard = lock(dir.path(), "blob-x").unwrap();
        let other = File::open(dir.path().join("locks/blob-x.lock")).unwrap();
        let again = Flock::lock(other, FlockArg::LockExclusiveNonblock);
        assert!(matches!(again, Err((_, Errno::EWOULDBLOCK))));
        drop(guard);
        let other = File::open(dir.path().join("locks/blob-x.lock")).unwrap();
        assert!(Flock::lock(other, FlockArg::LockExclusiveNonblock).is_ok());
    }

    #[test]
    fn a_held_lock_times_out_naming_the_lock_and_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _guard = lock(dir.path(), "blob-y").unwrap();
        let started = Instant::now();
        let err = lock_within(dir.path(), "blob-y", Duration::from_millis(150))
            .err()
            .expect("the lock is held");
        assert!(started.elapsed() >= Duration::from_millis(150));
        assert!(started.elapsed() < Duration::from_secs(5));
        let Error::LockTimeout { path, holder, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(path.ends_with("locks/blob-y.lock"), "{}", path.display());
        let holder = holder.as_ref().expect("/proc/locks names the holder");
        assert_eq!(holder.pid, std::process::id() as i32);
        let text = crate::error::render_chain(&err);
        assert!(text.contains("blob-y.lock"), "{text}");
        assert!(
            text.contains(&format!("process {}", std::process::id())),
            "{text}"
        );
    }

    #[test]
    fn lock_files_and_their_directory_are_private() {
        let dir = tempfile::tempdir().unwrap();
        drop(lock(dir.path(), "layer-z").unwrap());
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode(&dir.path().join("locks")), 0o700);
        assert_eq!(mode(&dir.path().join("locks/layer-z.lock")), 0o600);
    }

    #[test]
    fn proc_locks_lines_give_the_holder_not_a_waiter() {
        let proc = tempfile::tempdir().unwrap();
        std::fs::write(
            proc.path().join("locks"),
            "1: FLOCK  ADVISORY  WRITE 4242 fe:01:77 0 EOF\n\
             1: -> FLOCK  ADVISORY  WRITE 5151 fe:01:77 0 EOF\n\
             2: POSIX  ADVISORY  READ 99 08:02:77 0 EOF\n",
        )
        .unwrap();
        std::fs::create_dir(proc.path().join("4242")).unwrap();
        std::fs::write(proc.path().join("4242/cmdline"), b"hutch\0pull\0busybox\0").unwrap();
        let dev = libc::makedev(0xfe, 0x01) as u64;
        let h = holder_of(proc.path(), dev, 77).unwrap();
        assert_eq!(h.pid, 4242);
        assert_eq!(h.to_string(), "process 4242 (hutch pull busybox)");
        assert_eq!(holder_of(proc.path(), dev, 78), None);
    }
}
