//! The per-job run directories of Slurm jobs (`/tmp/hutch-UID/slurm-JOBID`):
//! each hutch process of a job holds a shared flock(2) on its job's
//! directory for as long as it lives, and a process that finds a sibling
//! directory nobody holds removes it, since every process of that job has
//! ended (Slurm kills them all when a job ends).
//!
//! A sweeper takes the lock alone and without waiting, so a directory in
//! use is never touched; a process that got its shared lock on a directory
//! the sweeper moved away meanwhile (the inode at the path differs) makes
//! it again.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;

use nix::fcntl::{Flock, FlockArg};

/// The lock this process holds on its job's directory, for its lifetime.
static HELD: OnceLock<Flock<File>> = OnceLock::new();

/// The prefix of a job directory's name.
pub(super) const JOB_PREFIX: &str = "slurm-";
/// The prefix a swept directory is renamed to before it is removed.
const TRASH_PREFIX: &str = ".trash-slurm-";
/// How often to make the directory again when a sweeper moved it away.
const ATTEMPTS: usize = 5;

/// Makes `path` with `make` and holds a shared lock on it for the rest of
/// the process; then removes the directories of ended jobs beside it.
pub(super) fn hold(
    path: &Path,
    make: impl Fn() -> Result<(), super::Error>,
) -> Result<(), super::Error> {
    if HELD.get().is_some() {
        return Ok(());
    }
    for _ in 0..ATTEMPTS {
        // Between making the directory and locking it, a process of another
        // job may find it unheld and sweep it away: make it again then.
        match make() {
            Err(e) if is_vanished(&e) => continue,
            r => r?,
        }
        let lock_error = |source| super::Error::LockJobRunRoot {
            path: path.to_path_buf(),
            source,
        };
        let dir = match File::open(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            r => r.map_err(lock_error)?,
        };
        let held = Flock::lock(dir, FlockArg::LockShared)
            .map_err(|(_, e)| lock_error(std::io::Error::from(e)))?;
        if is_same_dir(&held, path) {
            let _ = HELD.set(held);
            if let Some(parent) = path.parent() {
                sweep(parent, path);
            }
            return Ok(());
        }
    }
    Err(super::Error::LockJobRunRoot {
        path: path.to_path_buf(),
        source: std::io::Error::other("it was removed again and again while it was being opened"),
    })
}

/// Whether `e` says the directory disappeared while it was being made or
/// checked, as it does when a sweeper moved it away.
fn is_vanished(e: &super::Error) -> bool {
    match e {
        super::Error::CreateRunRoot { source, .. } | super::Error::StatRunRoot { source, .. } => {
            source.kind() == std::io::ErrorKind::NotFound
        }
        _ => false,
    }
}

/// Whether `file` is still the directory at `path`.
fn is_same_dir(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Removes the job directories in `parent`, other than `own`, that no
/// process holds, and what an interrupted sweep left. Best effort: a
/// directory that cannot be locked or removed stays for the next one.
pub(super) fn sweep(parent: &Path, own: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(TRASH_PREFIX) {
            let _ = std::fs::remove_dir_all(&path);
            continue;
        }
        let is_job = name
            .strip_prefix(JOB_PREFIX)
            .is_some_and(|j| !j.is_empty() && j.bytes().all(|b| b.is_ascii_digit()));
        if !is_job || path == own || !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Ok(dir) = File::open(&path) else { continue };
        let Ok(alone) = Flock::lock(dir, FlockArg::LockExclusiveNonblock) else {
            continue;
        };
        if !is_same_dir(&alone, &path) {
            continue;
        }
        let trash = parent.join(format!(
            "{TRASH_PREFIX}{}.{}",
            &name[JOB_PREFIX.len()..],
            std::process::id()
        ));
        if std::fs::rename(&path, &trash).is_ok() {
            log::debug!("removing the run directory of ended job {}", path.display());
            let _ = std::fs::remove_dir_all(&trash);
        }
        drop(alone);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_makes_the_directory_again_when_it_vanished_before_the_lock() {
        let t = tempfile::tempdir().unwrap();
        let own = t.path().join("slurm-7");
        let calls = std::cell::Cell::new(0);
        let make = || {
            calls.set(calls.get() + 1);
            std::fs::create_dir_all(&own).unwrap();
            if calls.get() == 1 {
                // A sweeper of another job moves it away at once.
                std::fs::remove_dir(&own).unwrap();
                return Err(super::super::Error::StatRunRoot {
                    path: own.clone(),
                    source: std::io::ErrorKind::NotFound.into(),
                });
            }
            Ok(())
        };
        hold(&own, make).unwrap();
        assert_eq!(calls.get(), 2);
        assert!(own.is_dir());
        let held = HELD.get().expect("the lock is held");
        assert!(is_same_dir(held, &own));
    }

    #[test]
    fn sweep_removes_unheld_job_dirs_and_keeps_held_ones() {
        let t = tempfile::tempdir().unwrap();
        let own = t.path().join("slurm-1");
        let held = t.path().join("slurm-2");
        let ended = t.path().join("slurm-3");
        let other = t.path().join("keep-me");
        for d in [&own, &held, &ended, &other] {
            std::fs::create_dir(d).unwrap();
        }
        std::fs::write(ended.join("exit"), "0").unwrap();
        std::fs::create_dir(t.path().join(".trash-slurm-9.1")).unwrap();
        // Another process of job 2 (an open file description of its own).
        let _job2 = Flock::lock(File::open(&held).unwrap(), FlockArg::LockShared).unwrap();
        sweep(t.path(), &own);
        let mut left: Vec<String> = std::fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["keep-me", "slurm-1", "slurm-2"]);
    }
}
