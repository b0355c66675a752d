//! Container records and directories (`ROOT/containers/ID/{upper,work,merged}`).
//!
//! Creation and removal sit on the `hutch run --rm` hot path: a few
//! mkdirs, one insert, one delete, and a plain `remove_dir_all` unless
//! files owned by subordinate ids are in the way.

use std::os::unix::fs::PermissionsExt;

use rusqlite::{params, ErrorCode, OptionalExtension, TransactionBehavior};

use super::remove::remove_tree;
use super::{lock, ContainerDirs, ContainerRecord, Error, LockGuard, Store};
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
    /// is taken or its image is no longer recorded.
    #[cfg(test)]
    pub(crate) fn create_container(&self, c: &ContainerRecord) -> Result<ContainerDirs, Error> {
        self.create_container_held(c).map(|(dirs, _)| dirs)
    }

    /// `create_container`, returning with the container's directory held
    /// (see `hold_container`), taken before the record commits.
    pub fn create_container_held(
        &self,
        c: &ContainerRecord,
    ) -> Result<(ContainerDirs, LockGuard), Error> {
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
        // Checked in the same transaction as the insert, which `rmi` also
        // takes: either the removal sees this container and refuses, or
        // this sees the image gone.
        let has_image = tx
            .prepare_cached("SELECT 1 FROM images WHERE id = ?1")
            .and_then(|mut st| st.exists([c.image_id.to_string()]))
            .map_err(err)?;
        if !has_image && !c.image_id.is_no_image() {
            return Err(Error::ImageGone {
                id: c.image_id.clone(),
            });
        }
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
        // leaves only an unrecorded directory, and a failure (a full disk
        // refusing the commit) none.
        let made = make_dirs(&dirs).and_then(|()| {
            let guard = lock::lock_dir(&dirs.dir)?.ok_or_else(|| Error::CreateDir {
                path: dirs.dir.clone(),
                source: std::io::ErrorKind::NotFound.into(),
            })?;
            tx.commit().map_err(err)?;
            Ok(guard)
        });
        match made {
            Ok(guard) => Ok((dirs, guard)),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dirs.dir);
                Err(e)
            }
        }
    }

    /// `create_container` for unit tests whose containers have no real
    /// image: records a bare image row for the record's image first.
    #[cfg(test)]
    pub(crate) fn create_test_container(
        &self,
        c: &ContainerRecord,
    ) -> Result<ContainerDirs, Error> {
        self.db()
            .execute(
                "INSERT OR IGNORE INTO images
                 (id, manifest_digest, config, layers, os, architecture, size, added)
                 VALUES (?1, ?1, x'7b7d', '[]', 'linux', 'amd64', 0, 0)",
                [c.image_id.to_string()],
            )
            .expect("recording a bare image");
        self.create_container(c)
    }

    /// Locks container `id`'s directory, waiting at most the lock limit;
    /// `None` when it is gone. Held by whatever writes there while the
    /// record says `created` (the rest of a creation, a start until it is
    /// recorded running), and taken by removal before it reads the state,
    /// so that a removal never deletes files a creation or start is still
    /// writing.
    pub fn hold_container(&self, id: &str) -> Result<Option<LockGuard>, Error> {
        lock::lock_dir(&self.container_dirs(id).dir)
    }

    /// Removes a container's record and directories (entering the user
    /// namespace when files owned by subordinate ids are in the way).
    /// `id` may also be the container's name. The caller holds the
    /// container (`hold_container`) unless it knows nothing else can be
    /// writing there, and must be single-threaded.
    ///
    /// The record goes first, so that of concurrent removals exactly one
    /// wins and a crash leaves an unrecorded directory, never a record
    /// without one. On a full disk (issue #21 item 4) the record cannot
    /// go before space is freed: then the directory goes first, and the
    /// record after it.
    pub fn remove_container(&self, id: &str, maps: &IdMaps) -> Result<(), Error> {
        let (found, volumes) = match self.delete_container_record(id) {
            Err(e) if super::full::is_disk_full(&e) => {
                let Some(found) = self.container_id(id)? else {
                    return Err(Error::ContainerNotKnown { id: id.to_string() });
                };
                log::debug!("no space to remove the record of {found}: its files go first");
                self.remove_container_dirs(&found, maps)?;
                self.delete_container_record(id)?
            }
            r => r?,
        };
        self.remove_container_dirs(&found, maps)?;
        // Anonymous volumes of a `--rm` container follow it.
        self.remove_volume_dirs(&volumes, maps)
    }

    /// The full id of container `id` (an id or a name), if recorded.
    fn container_id(&self, id: &str) -> Result<Option<String>, Error> {
        self.db()
            .query_row(
                "SELECT id FROM containers WHERE id = ?1 OR name = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|source| Error::FindContainer {
                name: id.to_string(),
                source,
            })
    }

    /// Deletes container `id`'s record (and takes the anonymous volumes
    /// that go with it) in one transaction; returns its full id and those
    /// volumes.
    fn delete_container_record(&self, id: &str) -> Result<(String, Vec<String>), Error> {
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
        let Some(found) = found else {
            return Err(Error::ContainerNotKnown { id: id.to_string() });
        };
        let volumes = super::volumes::take_removed_with(&tx, &found).map_err(err)?;
        tx.execute("DELETE FROM containers WHERE id = ?1", [&found])
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok((found, volumes))
    }

    /// Removes the directory of container `found` (a full id).
    fn remove_container_dirs(&self, found: &str, maps: &IdMaps) -> Result<(), Error> {
        let dirs = self.container_dirs(found);
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
        remove_tree(&dirs.dir, maps)
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

/// Makes the overlay directories of a new container.
fn make_dirs(dirs: &ContainerDirs) -> Result<(), Error> {
    for d in [&dirs.upper, &dirs.work, &dirs.merged] {
        std::fs::create_dir_all(d).map_err(|source| Error::CreateDir {
            path: d.clone(),
            source,
        })?;
    }
    // The upper directory is the container's `/`: 0755 whatever the
    // user's umask, or non-root users inside could not reach anything.
    // The container directory is 0711: a container root that is not the
    // user (nomap, --uidmap) reaches its upper and work directories
    // through it under fuse-overlayfs; `containers/` keeps others out.
    for (dir, mode) in [(&dirs.upper, 0o755), (&dirs.dir, 0o711)] {
        std::fs::set_permissions(dir, PermissionsExt::from_mode(mode)).map_err(|source| {
            Error::CreateDir {
                path: dir.clone(),
                source,
            }
        })?;
    }
    Ok(())
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
        let dirs = store.create_test_container(&record('a', "one")).unwrap();
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
        store.create_test_container(&record('b', "one")).unwrap();
        store.remove_container("one", &maps()).unwrap();
    }

    #[test]
    fn a_container_of_an_image_no_longer_recorded_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let c = record('a', "one");
        let err = store.create_container(&c).unwrap_err();
        assert!(matches!(err, Error::ImageGone { .. }), "{err}");
        assert!(!store.container_dirs(&c.id).dir.exists());
        assert!(store.list_containers().unwrap().is_empty());
    }

    #[test]
    fn a_taken_name_names_its_container() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_test_container(&record('a', "web")).unwrap();
        let err = store
            .create_test_container(&record('b', "web"))
            .unwrap_err();
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
            store.create_test_container(&c),
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
