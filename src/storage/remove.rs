//! Removing directory trees that may hold files owned by subordinate ids.
//!
//! A plain `remove_dir_all` is tried first (the common case, an empty or
//! user-owned tree, stays fast); only when it is refused does a child
//! process that is root in the user namespace (and so may unlink files
//! owned by the mapped ids) finish the job.

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
