//! The store's node-local place (issue #18): where a default store that
//! would land on a network filesystem goes instead, made private to the
//! user in the shared `/var/tmp`.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use super::{Error, PRIVATE_MODE};

/// Where a node-local store goes when the default one would be on a
/// network filesystem: `/var/tmp/hutch-UID` (kept across reboots, unlike
/// `/tmp` and the runtime directory).
const LOCAL_STORE_BASE: &str = "/var/tmp";

/// The node-local store of user `uid`: `/var/tmp/hutch-UID`.
pub fn local_store_dir(uid: u32) -> PathBuf {
    Path::new(LOCAL_STORE_BASE).join(format!("hutch-{uid}"))
}

/// Creates the node-local store directory `path` (mode 0700) if needed
/// and checks, without following a symlink, that it is a directory of
/// `uid`'s that nobody else may enter: `/var/tmp` is shared by every
/// user of the node.
pub fn ensure_local_store(path: &Path, uid: u32) -> Result<(), Error> {
    match std::fs::DirBuilder::new().mode(PRIVATE_MODE).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(Error::CreateLocalStore {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    let meta = std::fs::symlink_metadata(path).map_err(|source| Error::CreateLocalStore {
        path: path.to_path_buf(),
        source,
    })?;
    let why = if meta.file_type().is_symlink() {
        Some("is a symbolic link".to_string())
    } else if !meta.is_dir() {
        Some("is not a directory".to_string())
    } else if meta.uid() != uid {
        Some(format!("belongs to uid {}, not to uid {uid}", meta.uid()))
    } else if meta.mode() & 0o077 != 0 {
        Some(format!(
            "has mode {:04o}: others may enter it",
            meta.mode() & 0o7777
        ))
    } else {
        None
    };
    match why {
        Some(why) => Err(Error::LocalStoreUnsafe {
            path: path.to_path_buf(),
            why,
        }),
        None => Ok(()),
    }
}
