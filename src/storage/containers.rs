//! Container records and directories (`ROOT/containers/ID/{upper,work,merged}`).
//!
//! Creation and removal sit on the `hutch run --rm` hot path: a few
//! mkdirs, one insert, one delete, and a plain `remove_dir_all` unless
//! files owned by subordinate ids are in the way.

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
        tx.commit().map_err(err)?;
        Ok(dirs)
    }

    /// Removes a container's record and directories (entering the user
    /// namespace when files owned by subordinate ids are in the way).
    /// `id` may also be the container's name. The caller must be
    /// single-threaded.
    pub fn remove_container(&self, id: &str, maps: &IdMaps) -> Result<(), Error> {
        let found: Option<String> = {
            let mut db = self.db();
            let err = |source| Error::DeleteContainer {
                id: id.to_string(),
                source,
            };
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let found = tx
                .query_row(
                    "SELECT id FROM containers WHERE id = ?1 OR name = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            if let Some(found) = &found {
                tx.execute("DELETE FROM containers WHERE id = ?1", [found])
                    .map_err(err)?;
                tx.commit().map_err(err)?;
            }
            found
        };
        let Some(found) = found else {
            return Err(Error::ContainerNotKnown { id: id.to_string() });
        };
        // The record goes first: a crash now leaves an unrecorded directory,
        // never a record without one.
        remove_tree(&self.container_dirs(&found).dir, maps)
    }
}
