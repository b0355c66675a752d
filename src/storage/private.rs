//! Keeping what other users must not touch private: the database (0600;
//! it holds every value given to `run -e`) and the locks (a 0700
//! directory of 0600 files; a lock another user could take would stall
//! the owner's commands).
//!
//! The store root itself stays traversable: a container whose root is a
//! subordinate id (`--uidmap`, `--userns=nomap`) reaches its upper
//! directory and layers through it. TODO(#21): make the root 0700 once
//! container roots are mounted from the user's own namespace.
//!
//! Checked at every open with a few stats (the root, the database files,
//! the locks directory); a store made by an older hutch, or opened up by
//! hand, is repaired and the repairs are reported.

use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::Error;

/// The mode of the locks directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of a new store root (see the module's comment).
const ROOT_MODE: u32 = 0o755;
/// The mode of the database and lock files.
pub const FILE_MODE: u32 = 0o600;

/// The database files, which hold every value passed with `-e`.
const DB_FILES: [&str; 3] = ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"];

/// Creates the store root `root` if it is missing, else checks it is a
/// directory of `uid` and takes away what other users may do with its
/// database and locks. Returns the paths whose mode it changed.
pub fn secure(root: &Path, uid: u32) -> Result<Vec<PathBuf>, Error> {
    // One stat on every open; creating is for the first.
    let meta = match std::fs::metadata(root) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            create_root(root)?;
            return Ok(Vec::new());
        }
        Err(source) => {
            return Err(Error::CreateDir {
                path: root.to_path_buf(),
                source,
            })
        }
    };
    if !meta.is_dir() {
        return Err(Error::RootNotDir {
            path: root.to_path_buf(),
        });
    }
    if meta.uid() != uid {
        return Err(Error::RootForeign {
            path: root.to_path_buf(),
            owner: meta.uid(),
            uid,
        });
    }
    let mut repaired = Vec::new();
    for name in DB_FILES {
        restrict(&root.join(name), FILE_MODE, &mut repaired)?;
    }
    let locks = root.join("locks");
    restrict(&locks, DIR_MODE, &mut repaired)?;
    if !repaired.is_empty() {
        // An older store: its lock files were made with the umask too.
        if let Ok(entries) = std::fs::read_dir(&locks) {
            for e in entries.flatten() {
                restrict(&e.path(), FILE_MODE, &mut repaired)?;
            }
        }
    }
    Ok(repaired)
}

/// Creates the store root and its parents.
fn create_root(root: &Path) -> Result<(), Error> {
    if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| Error::CreateDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    match DirBuilder::new().mode(ROOT_MODE).create(root) {
        // Another hutch may have made it meanwhile.
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(Error::CreateDir {
            path: root.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Clears the bits of `path`'s mode that `mode` does not have (group and
/// other), noting it in `repaired`; a missing path is fine.
fn restrict(path: &Path, mode: u32, repaired: &mut Vec<PathBuf>) -> Result<(), Error> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Secure {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if meta.file_type().is_symlink() {
        return Ok(());
    }
    let current = meta.mode() & 0o7777;
    if current & !mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, Permissions::from_mode(current & mode)).map_err(|source| {
        Error::Secure {
            path: path.to_path_buf(),
            source,
        }
    })?;
    repaired.push(path.to_path_buf());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn me() -> u32 {
        nix::unistd::getuid().as_raw()
    }

    #[test]
    fn a_new_store_root_is_made_with_its_parents() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("share/hutch");
        assert_eq!(secure(&root, me()).unwrap(), Vec::<PathBuf>::new());
        assert!(root.is_dir());
    }

    #[test]
    fn an_open_store_is_repaired_and_the_repairs_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("hutch");
        std::fs::create_dir_all(root.join("locks")).unwrap();
        for (p, m) in [
            (root.clone(), 0o755),
            (root.join("locks"), 0o775),
            (root.join("db.sqlite"), 0o644),
            (root.join("locks/blob-a.lock"), 0o644),
        ] {
            if m == 0o644 {
                std::fs::write(&p, b"").unwrap();
            }
            std::fs::set_permissions(&p, Permissions::from_mode(m)).unwrap();
        }
        let repaired = secure(&root, me()).unwrap();
        assert_eq!(repaired.len(), 3, "{repaired:?}");
        assert_eq!(mode(&root), 0o755);
        assert_eq!(mode(&root.join("locks")), 0o700);
        assert_eq!(mode(&root.join("db.sqlite")), 0o600);
        assert_eq!(mode(&root.join("locks/blob-a.lock")), 0o600);
        // Nothing left to do the second time.
        assert!(secure(&root, me()).unwrap().is_empty());
    }

    #[test]
    fn a_root_of_another_user_or_not_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = secure(dir.path(), me() + 1).unwrap_err();
        assert!(matches!(err, Error::RootForeign { .. }), "{err:?}");
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(
            secure(&file, me()).unwrap_err(),
            Error::RootNotDir { .. }
        ));
    }
}
