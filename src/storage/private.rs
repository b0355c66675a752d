//! Keeping the store private to its user, as Podman keeps its own: the
//! store root and every directory directly below it are 0700, every file
//! directly below it 0600 (the database holds every value given to
//! `run -e`), and so are the lock files (a lock another user could take
//! would stall the owner's commands).
//!
//! Nothing but the user needs to walk the store's paths: a container whose
//! root is a subordinate id (`--uidmap`, `--userns=nomap`) gets its layers,
//! upper directory, volumes and /etc files as fds its init opened while it
//! was still the user (see `runtime::overlay`).
//!
//! Checked at every open (a stat of the root and a listing of it); a store
//! made by an older hutch, or opened up by hand, is repaired and the
//! repairs are reported. The directories a store has (`STORE_DIRS`) are
//! made here, private, so that none is ever made with the user's umask: a
//! new directory directly below the root belongs in that list.

use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::Error;

/// The mode of the store root and of the directories directly below it.
pub const DIR_MODE: u32 = 0o700;
/// The mode of the files directly below the store root (the database) and
/// of the lock files.
pub const FILE_MODE: u32 = 0o600;

/// The directories directly below the store root, made with the root.
pub const STORE_DIRS: [&str; 14] = [
    "blob-sources",
    "blobs",
    "build-cache",
    "containers",
    "events",
    "image-mounts",
    "layers",
    "layers-shifted",
    "locks",
    "networks",
    "pods",
    "secrets",
    "tmp",
    "volumes",
];

/// Creates the store root `root` if it is missing, else checks it is a
/// directory of `uid`; then takes away what other users may do with it
/// and with everything directly below it (and the lock files), and makes
/// the missing `STORE_DIRS`. Returns the paths whose mode it changed.
pub fn secure(root: &Path, uid: u32) -> Result<Vec<PathBuf>, Error> {
    let mut repaired = Vec::new();
    match std::fs::metadata(root) {
        Ok(meta) => {
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
            restrict(root, uid, &mut repaired)?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_root(root)?,
        Err(source) => {
            return Err(Error::CreateDir {
                path: root.to_path_buf(),
                source,
            })
        }
    }
    let mut present = Vec::new();
    let entries = std::fs::read_dir(root).map_err(|source| Error::Secure {
        path: root.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        restrict(&entry.path(), uid, &mut repaired)?;
        present.push(entry.file_name());
    }
    for name in STORE_DIRS {
        if !present.iter().any(|p| p == name) {
            make_dir(&root.join(name))?;
        }
    }
    if !repaired.is_empty() {
        // An older store: its lock files were made with the umask too.
        if let Ok(entries) = std::fs::read_dir(root.join("locks")) {
            for e in entries.flatten() {
                restrict(&e.path(), uid, &mut repaired)?;
            }
        }
    }
    Ok(repaired)
}

/// Creates the store root (0700) and its parents.
fn create_root(root: &Path) -> Result<(), Error> {
    if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| Error::CreateDir {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    make_dir(root)
}

/// Creates the directory `path` with `DIR_MODE`; another hutch may have
/// made it meanwhile.
fn make_dir(path: &Path) -> Result<(), Error> {
    match DirBuilder::new().mode(DIR_MODE).create(path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(Error::CreateDir {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Clears the group and other bits of `path`'s mode, noting it in
/// `repaired` when there were any; a missing path, a symlink, or what
/// another id owns (which `uid` may not change, and the private root
/// hides anyway) is left.
fn restrict(path: &Path, uid: u32, repaired: &mut Vec<PathBuf>) -> Result<(), Error> {
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
    if meta.file_type().is_symlink() || meta.uid() != uid {
        return Ok(());
    }
    let current = meta.mode() & 0o7777;
    if current & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, Permissions::from_mode(current & !0o077)).map_err(|source| {
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
    fn a_new_store_root_and_its_directories_are_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("share/hutch");
        assert_eq!(secure(&root, me()).unwrap(), Vec::<PathBuf>::new());
        assert_eq!(mode(&root), 0o700);
        for name in STORE_DIRS {
            assert_eq!(mode(&root.join(name)), 0o700, "{name}");
        }
        // Nothing left to do the second time.
        assert!(secure(&root, me()).unwrap().is_empty());
    }

    #[test]
    fn an_open_store_is_repaired_and_the_repairs_are_named() {
        // issue #21 item 1: an older store, 0755 with 0644 files.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("hutch");
        std::fs::create_dir_all(root.join("locks")).unwrap();
        std::fs::create_dir_all(root.join("layers/abc")).unwrap();
        for (p, m) in [
            (root.clone(), 0o755),
            (root.join("locks"), 0o775),
            (root.join("layers"), 0o755),
            (root.join("layers/abc"), 0o755),
            (root.join("db.sqlite"), 0o644),
            (root.join("locks/blob-a.lock"), 0o644),
        ] {
            if m == 0o644 {
                std::fs::write(&p, b"").unwrap();
            }
            std::fs::set_permissions(&p, Permissions::from_mode(m)).unwrap();
        }
        std::os::unix::fs::symlink("/etc", root.join("link")).unwrap();
        let mut repaired = secure(&root, me()).unwrap();
        repaired.sort();
        let mut want = vec![
            root.clone(),
            root.join("db.sqlite"),
            root.join("layers"),
            root.join("locks"),
            root.join("locks/blob-a.lock"),
        ];
        want.sort();
        assert_eq!(repaired, want);
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("locks")), 0o700);
        assert_eq!(mode(&root.join("layers")), 0o700);
        assert_eq!(mode(&root.join("db.sqlite")), 0o600);
        assert_eq!(mode(&root.join("locks/blob-a.lock")), 0o600);
        // Below the root's own entries, image content keeps its modes.
        assert_eq!(mode(&root.join("layers/abc")), 0o755);
        assert_eq!(mode(&root.join("volumes")), 0o700);
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
