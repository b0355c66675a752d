//! Renaming a container: one transaction that checks the new name is free
//! and moves the record to it, so two renames racing for one name cannot
//! both win. A running container is renamed like any other: its monitor
//! and everything else address it by id.

use rusqlite::{params, ErrorCode, OptionalExtension, TransactionBehavior};

use super::{Error, Store};

/// Whether `name` is a valid container name, as Podman requires:
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn is_valid_container_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

impl Store {
    /// Gives container `id` (its full id) the name `new_name`; fails if
    /// another container has that name or `id` is not recorded.
    pub fn rename_container(&self, id: &str, new_name: &str) -> Result<(), Error> {
        let err = |source| Error::SaveContainer {
            name: new_name.to_string(),
            source,
        };
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let owner: Option<String> = tx
            .query_row(
                "SELECT id FROM containers WHERE name = ?1",
                [new_name],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)?;
        if let Some(owner) = owner.filter(|o| o != id) {
            return Err(Error::ContainerNameInUse {
                name: new_name.to_string(),
                id: owner,
            });
        }
        let changed = match tx.execute(
            "UPDATE containers SET name = ?2 WHERE id = ?1",
            params![id, new_name],
        ) {
            Ok(n) => n,
            // The check above holds the write lock, so this cannot happen;
            // still, the constraint is the final word.
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                return Err(Error::ContainerNameInUse {
                    name: new_name.to_string(),
                    id: String::new(),
                })
            }
            Err(e) => return Err(err(e)),
        };
        if changed == 0 {
            return Err(Error::ContainerNotKnown { id: id.to_string() });
        }
        tx.commit().map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ContainerRecord, Digest};

    fn create(store: &Store, id: char, name: &str) -> String {
        let id = id.to_string().repeat(64);
        store
            .create_test_container(&ContainerRecord {
                id: id.clone(),
                name: name.into(),
                image_id: Digest::of(b"config"),
                image_name: "localhost/busybox".into(),
                created: "2024-01-01T00:00:00Z".into(),
            })
            .unwrap();
        id
    }

    #[test]
    fn names_follow_podmans_pattern() {
        for ok in ["web", "web2", "a", "0", "my_web.1-x", "A.b"] {
            assert!(is_valid_container_name(ok), "{ok}");
        }
        for bad in ["", "-web", "_web", ".web", "we b", "web/1", "wéb", "web:1"] {
            assert!(!is_valid_container_name(bad), "{bad}");
        }
    }

    #[test]
    fn rename_moves_the_name_and_frees_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = create(&store, 'a', "web");
        store.rename_container(&id, "web2").unwrap();
        assert!(store.find_container("web").unwrap().is_none());
        assert_eq!(store.find_container("web2").unwrap().unwrap().record.id, id);
        // Its own name again is fine; the old name is free for others.
        store.rename_container(&id, "web2").unwrap();
        create(&store, 'b', "web");
    }

    #[test]
    fn rename_refuses_a_taken_name_and_an_unknown_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = create(&store, 'a', "web");
        create(&store, 'b', "db");
        let err = store.rename_container(&a, "db").unwrap_err();
        assert_eq!(
            err.to_string(),
            "container name \"db\" is already used by container bbbbbbbbbbbb"
        );
        assert_eq!(store.find_container("web").unwrap().unwrap().record.id, a);
        let err = store.rename_container(&"c".repeat(64), "x").unwrap_err();
        assert!(matches!(err, Error::ContainerNotKnown { .. }));
    }
}
