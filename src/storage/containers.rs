//! Container records and directories (`ROOT/containers/ID/{upper,work,merged}`).
//!
//! Creation and removal sit on the `hutch run --rm` hot path: a few
//! mkdirs, one insert, one delete, and a plain `remove_dir_all` unless
//! files owned by subordinate ids are in the way.

use std::os::unix::fs::PermissionsExt;

use rusqlite::{params, ErrorCode, OptionalExtension, TransactionBehavior};

use super::remove::remove_tree;
use super::{ContainerDirs, ContainerRecord, Error, Store};
use crate::userns::IdMaps;

impl Store {
    /// The directories of container `id` (64 hex characters).
    pub fn container_dirs(&self, id: &str) -> ContainerDirs {
        let dir = self.root.join("containers").join(id);
        ContainerDirs {
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
            dir,
        }
    }

    /// Records a container and creates its directories; fails if the name
    /// is taken.
    pub fn create_container(&self, c: &ContainerRecord) -> Result<ContainerDirs, Error> {
        if c.id.len() != 64 || !c.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::InvalidContainerId { id: c.id.clone() });
        }
        let err = |source| Error::SaveContainer {
            name: c.name.clone(),
            source,
        };
        let dirs = self.container_dirs(&c.id);
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let inserted = tx.execute(
            "INSERT INTO containers (id, name, image_id, image_name, created)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                c.id,
                c.name,
                c.image_id.to_string(),
                c.image_name,
                c.created
            ],
        );
        if let Err(e) = inserted {
            if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) {
                let owner: Option<String> = tx
                    .query_row(
                        "SELECT id FROM containers WHERE name = ?1",
                        [&c.name],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(err)?;
                if let Some(id) = owner {
                    return Err(Error::ContainerNameInUse {
                        name: c.name.clone(),
                        id,
                    });
                }
            }
            return Err(err(e));
        }
        // The directories exist before the row commits; a crash in between
        // leaves only an unrecorded directory.
        for d in [&dirs.upper, &dirs.work, &dirs.merged] {
            std::fs::create_dir_all(d).map_err(|source| Error::CreateDir {
                path: d.clone(),
                source,
            })?;
        }
        // The upper directory is the container's `/`: 0755 whatever the
        // user's umask, or non-root users inside could not reach anything.
        // The container directory is 0711: a container root that is not
        // the user (nomap, --uidmap) reaches its upper and work directories
        // through it under fuse-overlayfs; `containers/` keeps others out.
        for (dir, mode) in [(&dirs.upper, 0o755), (&dirs.dir, 0o711)] {
            std::fs::set_permissions(dir, PermissionsExt::from_mode(mode)).map_err(|source| {
                Error::CreateDir {
                    path: dir.clone(),
                    source,
                }
            })?;
        }
        tx.commit().map_err(err)?;
        Ok(dirs)
    }

    /// Removes a container's record and directories (entering the user
    /// namespace when files owned by subordinate ids are in the way).
    /// `id` may also be the container's name. The caller must be
    /// single-threaded.
    pub fn remove_container(&self, id: &str, maps: &IdMaps) -> Result<(), Error> {
        let found: Option<(String, Vec<String>)> = {
            let mut db = self.db();
            let err = |source| Error::DeleteContainer {
                id: id.to_string(),
                source,
            };
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let found: Option<String> = tx
                .query_row(
                    "SELECT id FROM containers WHERE id = ?1 OR name = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            let mut volumes = Vec::new();
            if let Some(found) = &found {
                volumes = super::volumes::take_removed_with(&tx, found).map_err(err)?;
                tx.execute("DELETE FROM containers WHERE id = ?1", [found])
                    .map_err(err)?;
                tx.commit().map_err(err)?;
            }
            found.map(|f| (f, volumes))
        };
        let Some((found, volumes)) = found else {
            return Err(Error::ContainerNotKnown { id: id.to_string() });
        };
        // The record goes first: a crash now leaves an unrecorded directory,
        // never a record without one.
        let dirs = self.container_dirs(&found);
        // overlayfs leaves `work/work` with mode 000; it belongs to the user,
        // so opening it up keeps the common `--rm` case a plain, fast
        // removal instead of a trip through the user namespace.
        let workwork = dirs.work.join("work");
        if std::fs::symlink_metadata(&workwork).is_ok_and(|m| m.is_dir()) {
            let _ = std::fs::set_permissions(&workwork, PermissionsExt::from_mode(0o700));
        }
        // Likewise the upper directory, which has the mode of the image's
        // `/` (0555 for most images).
        if std::fs::symlink_metadata(&dirs.upper).is_ok_and(|m| m.is_dir()) {
            let _ = std::fs::set_permissions(&dirs.upper, PermissionsExt::from_mode(0o700));
        }
        remove_tree(&dirs.dir, maps)?;
        // Anonymous volumes of a `--rm` container follow it.
        self.remove_volume_dirs(&volumes, maps)
    }

    /// Removes the directories under `containers/` that no record owns
    /// (what a create or removal killed halfway leaves) and returns their
    /// ids. The listing is taken under the write lock, which
    /// `create_container` holds from its mkdirs to its commit, so a
    /// container being created is never taken for one. A directory that
    /// cannot go now (another process is removing it) is left for the
    /// next sweep. The caller must be single-threaded.
    pub fn remove_orphan_container_dirs(&self, maps: &IdMaps) -> Result<Vec<String>, Error> {
        let dir = self.root.join("containers");
        let orphans: Vec<String> = {
            let mut db = self.db();
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(Error::ListContainers)?;
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(source) => return Err(Error::RemoveDir { path: dir, source }),
            };
            let mut stmt = tx
                .prepare("SELECT id FROM containers")
                .map_err(Error::ListContainers)?;
            let ids = stmt
                .query_map([], |r| r.get(0))
                .map_err(Error::ListContainers)?
                .collect::<Result<std::collections::HashSet<String>, _>>()
                .map_err(Error::ListContainers)?;
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()))
                .filter(|n| !ids.contains(n))
                .collect()
        };
        let mut removed = Vec::new();
        for id in orphans {
            match remove_tree(&dir.join(&id), maps) {
                Ok(()) => removed.push(id),
                Err(e) => log::debug!("leaving the unrecorded directory of {id} for later: {e}"),
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Diagnose;
    use crate::storage::Digest;

    fn record(id: char, name: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.to_string().repeat(64),
            name: name.into(),
            image_id: Digest::of(b"config"),
            image_name: "localhost/busybox".into(),
            created: "2024-01-01T00:00:00Z".into(),
        }
    }

    fn maps() -> IdMaps {
        IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        )
    }

    #[test]
    fn create_makes_the_overlay_dirs_and_remove_takes_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let dirs = store.create_container(&record('a', "one")).unwrap();
        assert_eq!(dirs.dir, dir.path().join("containers").join("a".repeat(64)));
        for d in [&dirs.upper, &dirs.work, &dirs.merged] {
            assert!(d.is_dir(), "{}", d.display());
        }
        let upper = std::fs::metadata(&dirs.upper).unwrap();
        assert_eq!(std::os::unix::fs::MetadataExt::mode(&upper) & 0o777, 0o755);
        std::fs::write(dirs.upper.join("file"), b"x").unwrap();
        store.remove_container(&"a".repeat(64), &maps()).unwrap();
        assert!(!dirs.dir.exists());
        // The name is free again.
        store.create_container(&record('b', "one")).unwrap();
        store.remove_container("one", &maps()).unwrap();
    }

    #[test]
    fn a_taken_name_names_its_container() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_container(&record('a', "web")).unwrap();
        let err = store.create_container(&record('b', "web")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "container name \"web\" is already used by container aaaaaaaaaaaa"
        );
        assert!(err.hint().unwrap().contains("another name"));
        assert!(!dir.path().join("containers").join("b".repeat(64)).exists());
    }

    #[test]
    fn ids_must_be_hex() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut c = record('a', "x");
        c.id = "../../etc".into();
        assert!(matches!(
            store.create_container(&c),
            Err(Error::InvalidContainerId { .. })
        ));
    }

    #[test]
    fn removing_an_unknown_container_fails() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let err = store.remove_container("nope", &maps()).unwrap_err();
        assert!(matches!(err, Error::ContainerNotKnown { .. }));
    }
}
