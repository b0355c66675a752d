//! Removing directory trees that may hold files owned by subordinate ids.
//!
//! A plain `remove_dir_all` is tried first (the common case, an empty or
//! user-owned tree, stays fast); only when it is refused does a child
//! process that is root in the user namespace (and so may unlink files
//! owned by the mapped ids) finish the job. `remove_all` removes many
//! trees and files with at most one such child.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::Error;
use crate::userns::{self, IdMaps};

/// Removes `path` and everything below it; a missing `path` is fine.
/// The caller must be single-threaded (the fallback forks).
pub(super) fn remove_tree(path: &Path, maps: &IdMaps) -> Result<(), Error> {
    match std::fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == ErrorKind::PermissionDenied => remove_in_userns(path, maps),
        Err(source) => Err(Error::RemoveDir {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn remove_in_userns(path: &Path, maps: &IdMaps) -> Result<(), Error> {
    let target: PathBuf = path.to_path_buf();
    // Root there must be the user too: the tree lies in the user's own
    // directories, which a container root that is a subordinate id
    // (nomap, --uidmap) may not change.
    let maps = maps.with_user_as_root(
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    );
    userns::run_with_caps(&maps, move || match std::fs::remove_dir_all(&target) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.to_string()),
    })
    .map_err(|source| Error::RemoveDirInUserns {
        path: path.to_path_buf(),
        source,
    })
}

/// Removes each of `paths`, directory tree or file (missing ones are
/// fine): as the user first, then those refused all in one child that is
/// root in the user namespace. The caller must be single-threaded.
pub(super) fn remove_all(paths: &[PathBuf], maps: &IdMaps) -> Result<(), Error> {
    let mut refused = Vec::new();
    for p in paths {
        match remove_one(p) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::PermissionDenied => refused.push(p.clone()),
            Err(source) => {
                return Err(Error::RemoveDir {
                    path: p.clone(),
                    source,
                })
            }
        }
    }
    let Some(first) = refused.first().cloned() else {
        return Ok(());
    };
    userns::run_with_caps(maps, move || {
        for p in &refused {
            remove_one(p).map_err(|e| format!("{}: {e}", p.display()))?;
        }
        Ok(())
    })
    .map_err(|source| Error::RemoveDirInUserns {
        path: first,
        source,
    })
}

/// Removes the file or directory tree `path`; a missing one is fine.
fn remove_one(path: &Path) -> std::io::Result<()> {
    let removed = match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    };
    match removed {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_all_takes_trees_and_files_and_ignores_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/f"), b"x").unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"y").unwrap();
        let maps = IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        );
        remove_all(
            &[tree.clone(), file.clone(), dir.path().join("gone")],
            &maps,
        )
        .unwrap();
        assert!(!tree.exists());
        assert!(!file.exists());
    }
}
