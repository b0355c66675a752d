//! Named volumes: `ROOT/volumes/NAME/_data` and their rows in the
//! `volumes` and `volume_users` tables.
//!
//! A volume's directory exists before its row commits and goes after its
//! row is deleted, so the database never names a missing directory. All
//! writes take the write lock up front (`BEGIN IMMEDIATE`), so two
//! containers asking for the same new volume at once create it once.
//!
//! Removal deletes the row, then moves the directory aside in one rename
//! (to `.trash.UNIQUE.NAME`, a name no volume can have) and deletes it
//! there. A removal killed halfway leaves either a directory no row owns
//! or trash: `create` moves the first aside instead of adopting it, and
//! `sweep_volume_dirs` (run by the volume commands) clears both.

use std::collections::{BTreeMap, BTreeSet};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::remove::remove_tree;
use super::{Error, Store};
use crate::userns::IdMaps;

/// What went wrong with a named or anonymous volume.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    #[error("invalid volume name {name:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    InvalidName { name: String },
    #[error("volume {name:?} already exists")]
    Exists { name: String },
    #[error("no volume with name {name:?} found: no such volume")]
    NotKnown { name: String },
    #[error("volume {name:?} is used by container {}", containers.join(", "))]
    InUse {
        name: String,
        containers: Vec<String>,
    },
    #[error("recording volume {name:?}")]
    Save {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("looking up volume {name:?}")]
    Find {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("listing volumes")]
    List(#[source] rusqlite::Error),
    #[error("recording the volumes of container {id}")]
    Link {
        id: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("removing the record of volume {name:?}")]
    Delete {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("pruning volumes")]
    Prune(#[source] rusqlite::Error),
    #[error("moving {path} aside for removal")]
    MoveAside {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("listing {path}")]
    ListDirs {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::Diagnose for VolumeError {
    fn hint(&self) -> Option<String> {
        match self {
            VolumeError::Exists { .. } => {
                Some("choose another name, or use the existing volume".into())
            }
            VolumeError::NotKnown { .. } => Some("`hutch volume ls` lists the volumes".into()),
            VolumeError::InUse { .. } => Some(
                "remove those containers first, or use --force to remove them with the volume"
                    .into(),
            ),
            _ => None,
        }
    }
}

/// The only volume driver: directories in the store.
pub const LOCAL_DRIVER: &str = "local";

/// A volume as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeRecord {
    /// Unique name (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`; anonymous ones are 64 hex).
    pub name: String,
    /// Always `local`.
    pub driver: String,
    /// `--label` pairs.
    pub labels: BTreeMap<String, String>,
    /// `--opt` pairs (`type`, `o`, `device`).
    pub options: BTreeMap<String, String>,
    /// Creation time, RFC 3339.
    pub created: String,
    /// Made for an image's `VOLUME` or a `-v /path` without a name.
    pub is_anonymous: bool,
}

/// A volume with the containers whose mounts name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeInfo {
    /// What it is.
    pub record: VolumeRecord,
    /// Its data directory, `ROOT/volumes/NAME/_data`.
    pub mountpoint: PathBuf,
    /// Names of the containers using it.
    pub users: Vec<String>,
}

/// Whether `name` may name a volume: Podman's rule, and no path tricks.
pub fn is_valid_volume_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
}

const COLUMNS: &str = "name, driver, labels, options, created, is_anonymous";

fn record_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<VolumeRecord> {
    let labels: String = r.get(2)?;
    let options: String = r.get(3)?;
    Ok(VolumeRecord {
        name: r.get(0)?,
        driver: r.get(1)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        options: serde_json::from_str(&options).unwrap_or_default(),
        created: r.get(4)?,
        is_anonymous: r.get(5)?,
    })
}

/// Names of the containers using volume `name`, inside a transaction.
fn users_of(tx: &rusqlite::Connection, name: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = tx.prepare(
        "SELECT c.name FROM volume_users u JOIN containers c ON c.id = u.container
         WHERE u.volume = ?1 ORDER BY c.name",
    )?;
    let names = stmt
        .query_map([name], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

impl Store {
    /// The data directory of volume `name`.
    pub fn volume_path(&self, name: &str) -> PathBuf {
        self.volumes_dir().join(name).join("_data")
    }

    /// Records volume `v` and creates its directory. With `is_existing_ok`
    /// an existing volume of that name is fine (`-v NAME:/path`); else it is
    /// an error (`volume create`). Returns whether this call created it.
    pub fn create_volume(&self, v: &VolumeRecord, is_existing_ok: bool) -> Result<bool, Error> {
        if !is_valid_volume_name(&v.name) {
            return Err(VolumeError::InvalidName {
                name: v.name.clone(),
            }
            .into());
        }
        let err = |source| VolumeError::Save {
            name: v.name.clone(),
            source,
        };
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let exists: Option<String> = tx
            .query_row("SELECT name FROM volumes WHERE name = ?1", [&v.name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(err)?;
        if exists.is_some() {
            return if is_existing_ok {
                Ok(false)
            } else {
                Err(VolumeError::Exists {
                    name: v.name.clone(),
                }
                .into())
            };
        }
        // A directory no row owns is what a killed removal left: its data
        // must never show up in the new volume.
        self.move_volume_aside(&v.name)?;
        let data = self.volume_path(&v.name);
        std::fs::create_dir_all(&data).map_err(|source| Error::CreateDir {
            path: data.clone(),
            source,
        })?;
        // The data directory is the volume's `/`: reachable by every user
        // inside, whatever the umask.
        std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .map_err(|source| Error::CreateDir {
                path: data.clone(),
                source,
            })?;
        let labels = serde_json::to_string(&v.labels).unwrap_or_else(|_| "{}".into());
        let options = serde_json::to_string(&v.options).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "INSERT INTO volumes (name, driver, labels, options, created, is_anonymous)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![v.name, v.driver, labels, options, v.created, v.is_anonymous],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(true)
    }

    /// Finds volume `name`.
    pub fn find_volume(&self, name: &str) -> Result<Option<VolumeInfo>, Error> {
        let err = |source| VolumeError::Find {
            name: name.to_string(),
            source,
        };
        let db = self.db();
        let record = db
            .query_row(
                &format!("SELECT {COLUMNS} FROM volumes WHERE name = ?1"),
                [name],
                record_from_row,
            )
            .optional()
            .map_err(err)?;
        let Some(record) = record else {
            return Ok(None);
        };
        let users = users_of(&db, name).map_err(err)?;
        Ok(Some(VolumeInfo {
            mountpoint: self.volume_path(&record.name),
            record,
            users,
        }))
    }

    /// All volumes, by name.
    pub fn list_volumes(&self) -> Result<Vec<VolumeInfo>, Error> {
        let db = self.db();
        let mut stmt = db
            .prepare(&format!("SELECT {COLUMNS} FROM volumes ORDER BY name"))
            .map_err(VolumeError::List)?;
        let records = stmt
            .query_map([], record_from_row)
            .map_err(VolumeError::List)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(VolumeError::List)?;
        records
            .into_iter()
            .map(|record| {
                let users = users_of(&db, &record.name).map_err(VolumeError::List)?;
                Ok(VolumeInfo {
                    mountpoint: self.volume_path(&record.name),
                    record,
                    users,
                })
            })
            .collect()
    }

    /// Links container `id` to the volumes `names` its mounts use;
    /// `remove_with` marks anonymous ones to go with the container
    /// (`--rm`). Returns the volumes this container must fill from the
    /// image (copy-up): those no container has mounted before.
    pub fn use_volumes(
        &self,
        id: &str,
        names: &[String],
        remove_with: bool,
    ) -> Result<Vec<String>, Error> {
        let err = |source| VolumeError::Link {
            id: id.to_string(),
            source,
        };
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut copy_up = Vec::new();
        for name in names {
            tx.execute(
                "INSERT OR IGNORE INTO volume_users (volume, container, remove_with)
                 SELECT name, ?2, ?3 AND is_anonymous FROM volumes WHERE name = ?1",
                params![name, id, remove_with],
            )
            .map_err(err)?;
            let claimed = tx
                .execute(
                    "UPDATE volumes SET needs_copy_up = 0 WHERE name = ?1 AND needs_copy_up = 1",
                    [name],
                )
                .map_err(err)?;
            if claimed == 1 {
                copy_up.push(name.clone());
            }
        }
        tx.commit().map_err(err)?;
        Ok(copy_up)
    }

    /// Anonymous volumes container `id` uses (for `rm -v`).
    pub fn anonymous_volumes_of(&self, id: &str) -> Result<Vec<String>, Error> {
        let err = |source| Error::FindContainer {
            name: id.to_string(),
            source,
        };
        let db = self.db();
        let mut stmt = db
            .prepare(
                "SELECT v.name FROM volume_users u JOIN volumes v ON v.name = u.volume
                 WHERE u.container = ?1 AND v.is_anonymous ORDER BY v.name",
            )
            .map_err(err)?;
        let names = stmt
            .query_map([id], |r| r.get(0))
            .map_err(err)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(err)?;
        Ok(names)
    }

    /// Removes volume `name`, refused while a container uses it. The caller
    /// must be single-threaded (removal may enter the user namespace).
    pub fn remove_volume(&self, name: &str, maps: &IdMaps) -> Result<(), Error> {
        {
            let err = |source| VolumeError::Delete {
                name: name.to_string(),
                source,
            };
            let mut db = self.db();
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let users = users_of(&tx, name).map_err(err)?;
            if !users.is_empty() {
                return Err(VolumeError::InUse {
                    name: name.to_string(),
                    containers: users,
                }
                .into());
            }
            let deleted = tx
                .execute("DELETE FROM volumes WHERE name = ?1", [name])
                .map_err(err)?;
            if deleted == 0 {
                return Err(VolumeError::NotKnown {
                    name: name.to_string(),
                }
                .into());
            }
            tx.commit().map_err(err)?;
        }
        self.remove_volume_dirs(&[name.to_string()], maps)
    }

    /// Removes every volume no container uses; returns their names.
    pub fn prune_volumes(&self, maps: &IdMaps) -> Result<Vec<String>, Error> {
        let names: Vec<String> = {
            let mut db = self.db();
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(VolumeError::Prune)?;
            let names = unused_volumes(&tx).map_err(VolumeError::Prune)?;
            for n in &names {
                tx.execute("DELETE FROM volumes WHERE name = ?1", [n])
                    .map_err(VolumeError::Prune)?;
            }
            tx.commit().map_err(VolumeError::Prune)?;
            names
        };
        self.remove_volume_dirs(&names, maps)?;
        Ok(names)
    }
}

fn unused_volumes(tx: &Transaction<'_>) -> rusqlite::Result<Vec<String>> {
    let mut stmt = tx.prepare(
        "SELECT name FROM volumes WHERE name NOT IN (SELECT volume FROM volume_users)
         ORDER BY name",
    )?;
    let names = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(names)
}

/// Inside the transaction that deletes container `id`: deletes the
/// anonymous volumes marked to go with it that nothing else uses, and
/// returns their names so their directories can follow after the commit.
pub(super) fn take_removed_with(tx: &Transaction<'_>, id: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = tx.prepare(
        "SELECT volume FROM volume_users u WHERE container = ?1 AND remove_with
         AND NOT EXISTS (SELECT 1 FROM volume_users o WHERE o.volume = u.volume
                         AND o.container != ?1)",
    )?;
    let names = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    for n in &names {
        tx.execute("DELETE FROM volumes WHERE name = ?1", [n])?;
    }
    Ok(names)
}

/// The prefix of a volume directory moved aside for removal; volume names
/// start with a letter or digit, so none is ever taken for a volume.
pub(super) const TRASH_PREFIX: &str = ".trash.";

/// Whether to wait for another process removing the same trash.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Block,
    Skip,
}

impl Store {
    /// Removes the directories of volumes whose rows are already gone.
    /// The caller must be single-threaded.
    pub(super) fn remove_volume_dirs(&self, names: &[String], maps: &IdMaps) -> Result<(), Error> {
        for n in names {
            if let Some(trash) = self.move_volume_aside(n)? {
                remove_trash(&trash, maps, Wait::Block)?;
            }
        }
        Ok(())
    }

    /// Renames `volumes/NAME` to a trash name in one step; `None` when
    /// there is no such directory.
    fn move_volume_aside(&self, name: &str) -> Result<Option<PathBuf>, Error> {
        let from = self.volumes_dir().join(name);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let unique = format!("{}-{nanos}", std::process::id());
        let to = self
            .volumes_dir()
            .join(format!("{TRASH_PREFIX}{unique}.{name}"));
        match std::fs::rename(&from, &to) {
            Ok(()) => Ok(Some(to)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(VolumeError::MoveAside { path: from, source }.into()),
        }
    }

    /// Clears what killed removals left under `volumes/`: directories no
    /// row owns are moved aside, and trash no other process is removing
    /// is removed. The caller must be single-threaded.
    pub fn sweep_volume_dirs(&self, maps: &IdMaps) -> Result<(), Error> {
        let dir = self.volumes_dir();
        let list = || -> Result<Vec<String>, Error> {
            let entries = match std::fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
                Err(source) => {
                    return Err(VolumeError::ListDirs {
                        path: dir.clone(),
                        source,
                    }
                    .into())
                }
            };
            Ok(entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect())
        };
        {
            // Under the write lock: a `create` holds it from making its
            // directory until its row commits, so no directory seen here
            // without a row is one being created.
            let mut db = self.db();
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(VolumeError::List)?;
            let names: BTreeSet<String> = {
                let mut stmt = tx
                    .prepare("SELECT name FROM volumes")
                    .map_err(VolumeError::List)?;
                let rows = stmt
                    .query_map([], |r| r.get(0))
                    .map_err(VolumeError::List)?
                    .collect::<Result<BTreeSet<String>, _>>()
                    .map_err(VolumeError::List)?;
                rows
            };
            for n in list()? {
                if !n.starts_with(TRASH_PREFIX) && !names.contains(&n) {
                    self.move_volume_aside(&n)?;
                }
            }
        }
        for n in list()? {
            if n.starts_with(TRASH_PREFIX) {
                remove_trash(&dir.join(n), maps, Wait::Skip)?;
            }
        }
        Ok(())
    }
}

/// Removes the trash directory `path`, holding a lock on it so that two
/// processes never remove one tree at once; with `Wait::Skip` trash
/// another process is removing is left to it.
fn remove_trash(path: &Path, maps: &IdMaps, wait: Wait) -> Result<(), Error> {
    let dir = match std::fs::File::open(path) {
        Ok(d) => d,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::RemoveDir {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let arg = match wait {
        Wait::Block => FlockArg::LockExclusive,
        Wait::Skip => FlockArg::LockExclusiveNonblock,
    };
    let _held = match Flock::lock(dir, arg) {
        Ok(l) => l,
        Err((_, nix::errno::Errno::EWOULDBLOCK)) if wait == Wait::Skip => return Ok(()),
        Err((_, e)) => {
            return Err(Error::RemoveDir {
                path: path.to_path_buf(),
                source: e.into(),
            })
        }
    };
    remove_tree(path, maps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ContainerRecord, Digest};

    fn volume(name: &str, is_anonymous: bool) -> VolumeRecord {
        VolumeRecord {
            name: name.into(),
            driver: LOCAL_DRIVER.into(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            created: "2024-01-01T00:00:00Z".into(),
            is_anonymous,
        }
    }

    fn container(store: &Store, c: char, name: &str) -> String {
        let id = c.to_string().repeat(64);
        store
            .create_test_container(&ContainerRecord {
                id: id.clone(),
                name: name.into(),
                image_id: Digest::of(b"config"),
                image_name: "busybox".into(),
                created: "2024-01-01T00:00:00Z".into(),
            })
            .unwrap();
        id
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
    fn names_follow_podman_rules() {
        for good in ["data", "a.b-c_d", "0"] {
            assert!(is_valid_volume_name(good), "{good}");
        }
        for bad in ["", ".", "..", "-x", "a/b", "_x", "a b"] {
            assert!(!is_valid_volume_name(bad), "{bad}");
        }
    }

    #[test]
    fn create_once_then_exists_or_conflicts() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(store.create_volume(&volume("data", false), false).unwrap());
        assert!(store.volume_path("data").is_dir());
        assert!(!store.create_volume(&volume("data", false), true).unwrap());
        assert!(matches!(
            store.create_volume(&volume("data", false), false),
            Err(Error::Volume(VolumeError::Exists { .. }))
        ));
        assert!(matches!(
            store.create_volume(&volume("../x", false), true),
            Err(Error::Volume(VolumeError::InvalidName { .. }))
        ));
    }

    #[test]
    fn in_use_volumes_are_kept_and_prune_takes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_volume(&volume("used", false), false).unwrap();
        store.create_volume(&volume("free", false), false).unwrap();
        let id = container(&store, 'a', "web");
        let copy_up = store.use_volumes(&id, &["used".into()], false).unwrap();
        assert_eq!(copy_up, vec!["used".to_string()]);
        // Only the first user fills it.
        let other = container(&store, 'b', "db");
        assert!(store
            .use_volumes(&other, &["used".into()], false)
            .unwrap()
            .is_empty());
        let err = store.remove_volume("used", &maps()).unwrap_err();
        assert!(
            matches!(err, Error::Volume(VolumeError::InUse { ref containers, .. }) if containers == &["db", "web"])
        );
        assert_eq!(store.prune_volumes(&maps()).unwrap(), vec!["free"]);
        assert!(!dir.path().join("volumes/free").exists());
        store.remove_container(&id, &maps()).unwrap();
        store.remove_container(&other, &maps()).unwrap();
        store.remove_volume("used", &maps()).unwrap();
        assert!(!dir.path().join("volumes/used").exists());
        assert!(matches!(
            store.remove_volume("used", &maps()),
            Err(Error::Volume(VolumeError::NotKnown { .. }))
        ));
    }

    #[test]
    fn anonymous_volumes_of_rm_containers_go_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let anon = "f".repeat(64);
        store.create_volume(&volume(&anon, true), false).unwrap();
        store.create_volume(&volume("named", false), false).unwrap();
        let id = container(&store, 'a', "tmp");
        store
            .use_volumes(&id, &[anon.clone(), "named".into()], true)
            .unwrap();
        assert_eq!(store.anonymous_volumes_of(&id).unwrap(), vec![anon.clone()]);
        store.remove_container(&id, &maps()).unwrap();
        assert!(store.find_volume(&anon).unwrap().is_none());
        assert!(!dir.path().join("volumes").join(&anon).exists());
        let named = store.find_volume("named").unwrap().unwrap();
        assert!(named.users.is_empty());
    }
}
