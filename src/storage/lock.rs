//! Exclusive locks between concurrent hutch processes: flock(2) on files
//! under `ROOT/locks`.
//!
//! A lock file is never deleted (deleting it would let two processes lock
//! different inodes under one name); the files are empty and few.

use std::fs::{File, OpenOptions};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use super::Error;

/// An exclusive lock; released on drop.
pub struct LockGuard {
    _file: Flock<File>,
}

/// Blocks until the lock `ROOT/locks/NAME.lock` is ours.
pub(super) fn lock(root: &Path, name: &str) -> Result<LockGuard, Error> {
    let dir = root.join("locks");
    let path = dir.join(format!("{name}.lock"));
    let open = || {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
    };
    let mut file = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&dir).map_err(|source| Error::CreateDir {
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
    loop {
        match Flock::lock(file, FlockArg::LockExclusive) {
            Ok(locked) => return Ok(LockGuard { _file: locked }),
            Err((f, Errno::EINTR)) => file = f,
            Err((_, errno)) => {
                return Err(Error::Lock {
                    path,
                    source: errno.into(),
                })
            }
        }
    }
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
}
