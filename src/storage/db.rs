//! The metadata database `ROOT/db.sqlite`: opening and the schema.
//!
//! Opening is on the `hutch run` hot path, so an up-to-date database costs
//! one open and one `PRAGMA user_version` read; the schema is created (and
//! later migrated) only when that version is behind. The database is in
//! WAL mode, so readers never block the single writer; writers take the
//! write lock up front (`BEGIN IMMEDIATE`) and wait up to `BUSY_TIMEOUT`.
//!
//! Crash safety: rows are written only after the files they point at are
//! in place, and removed before those files go, so after a kill -9 the
//! database never names a missing blob, layer or container directory.
//!
//! A lost database is refused, not silently recreated: when `db.sqlite` is
//! missing or empty (no schema) while `layers/`, `blobs/`, `containers/` or
//! `volumes/` hold entries, opening fails with `DbMissing`/`DbEmpty`, and a
//! file SQLite finds damaged (`SQLITE_CORRUPT`, `SQLITE_NOTADB`) fails with
//! `DbDamaged`; otherwise every file would look unused, and a new volume
//! would adopt an old one's data. A brand-new store (nothing there) is
//! created silently.

use std::path::Path;
use std::time::Duration;

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::Error;

/// The schema this code reads and writes (`PRAGMA user_version`).
pub(super) const SCHEMA_VERSION: i64 = 7;

/// How long a writer waits for another hutch process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The store's subdirectories, created with the database.
pub(super) const SUBDIRS: [&str; 6] = [
    "blobs/sha256",
    "layers",
    "containers",
    "tmp",
    "locks",
    "volumes",
];

const SCHEMA: &str = "
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    manifest_digest TEXT NOT NULL,
    config BLOB NOT NULL,
    layers TEXT NOT NULL,
    os TEXT NOT NULL,
    architecture TEXT NOT NULL,
    variant TEXT,
    created TEXT,
    size INTEGER NOT NULL,
    added INTEGER NOT NULL
);
CREATE TABLE names (
    name TEXT PRIMARY KEY,
    image_id TEXT NOT NULL
);
CREATE INDEX names_by_image ON names(image_id);
CREATE TABLE layers (
    diff_id TEXT PRIMARY KEY,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL
);
CREATE TABLE containers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    image_id TEXT NOT NULL,
    image_name TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX containers_by_image ON containers(image_id);
";

/// Version 2: container state (issue #8). `created` is RFC 3339 UTC, so
/// ordering by it (then by rowid) lists the newest first.
const MIGRATE_V2: &str = "
ALTER TABLE containers ADD COLUMN state TEXT NOT NULL DEFAULT 'created';
ALTER TABLE containers ADD COLUMN spec TEXT;
ALTER TABLE containers ADD COLUMN pid INTEGER;
ALTER TABLE containers ADD COLUMN pid_start INTEGER;
ALTER TABLE containers ADD COLUMN monitor_pid INTEGER;
ALTER TABLE containers ADD COLUMN monitor_start INTEGER;
ALTER TABLE containers ADD COLUMN started_at TEXT;
ALTER TABLE containers ADD COLUMN finished_at TEXT;
ALTER TABLE containers ADD COLUMN exit_code INTEGER;
ALTER TABLE containers ADD COLUMN exit_reason TEXT;
";

/// Version 3: restart policies (issue #8). `restart_policy` is the
/// `--restart` value as given (NULL: `no`); `stopped_by_user` is set by
/// `stop`, `kill` and `rm -f` before they signal, so that the monitor does
/// not restart what the user ended, and cleared by `start`.
const MIGRATE_V3: &str = "
ALTER TABLE containers ADD COLUMN restart_policy TEXT;
ALTER TABLE containers ADD COLUMN restart_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE containers ADD COLUMN stopped_by_user INTEGER NOT NULL DEFAULT 0;
";

/// Version 4: named volumes (issue #7). `labels` and `options` are JSON
/// objects; `needs_copy_up` is cleared by the first container that mounts
/// the volume (it fills the volume from the image, once); `volume_users`
/// links volumes to the containers whose mounts name them, and goes with
/// the container row, so a volume is in use exactly while a row names it.
/// `remove_with` marks an anonymous volume of a `--rm` container, removed
/// with that container.
const MIGRATE_V4: &str = "
CREATE TABLE volumes (
    name TEXT PRIMARY KEY,
    driver TEXT NOT NULL,
    labels TEXT NOT NULL,
    options TEXT NOT NULL,
    created TEXT NOT NULL,
    is_anonymous INTEGER NOT NULL DEFAULT 0,
    needs_copy_up INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE volume_users (
    volume TEXT NOT NULL,
    container TEXT NOT NULL,
    remove_with INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (volume, container)
);
CREATE INDEX volume_users_by_container ON volume_users(container);
CREATE TRIGGER containers_release_volumes AFTER DELETE ON containers
BEGIN
    DELETE FROM volume_users WHERE container = OLD.id;
END;
";

/// Version 5: image sizes as Podman shows them (issue #20 item 16).
/// `layers.unpacked_size` is the uncompressed tar's size, recorded when the
/// layer is unpacked (NULL: unpacked by an older hutch, measured from its
/// blob when first needed); `images.size` becomes the unpacked size, and
/// -1 marks the rows of older hutch versions (which held the compressed
/// size) for recomputing when next read.
const MIGRATE_V5: &str = "
ALTER TABLE layers ADD COLUMN unpacked_size INTEGER;
UPDATE images SET size = -1;
";

/// Version 6: the names each image has had (`images --history`, issue
/// #13), newest first by `seq`, as containers/storage keeps an image's
/// `NamesHistory`: a name given to an image (by pull, tag, commit, load or
/// import) is put first, and stays when it is removed or moves to another
/// image; the image's rows go with it. Triggers keep it, so every way a
/// name is written counts (each deletes the row it replaces: a trigger's
/// `OR REPLACE` yields to the upsert that fires it). An upgraded store
/// starts from its names; the steps may run again over a store whose
/// version was set back (they create only what is missing).
const MIGRATE_V6: &str = "
CREATE TABLE IF NOT EXISTS name_history (
    image_id TEXT NOT NULL,
    name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (image_id, name)
);
INSERT OR IGNORE INTO name_history (image_id, name, seq)
    SELECT image_id, name, rowid FROM names;
CREATE TRIGGER IF NOT EXISTS names_remember_added AFTER INSERT ON names
BEGIN
    DELETE FROM name_history WHERE image_id = NEW.image_id AND name = NEW.name;
    INSERT INTO name_history (image_id, name, seq)
    VALUES (NEW.image_id, NEW.name,
            (SELECT COALESCE(MAX(seq), 0) + 1 FROM name_history));
END;
CREATE TRIGGER IF NOT EXISTS names_remember_moved AFTER UPDATE OF image_id ON names
BEGIN
    DELETE FROM name_history WHERE image_id = NEW.image_id AND name = NEW.name;
    INSERT INTO name_history (image_id, name, seq)
    VALUES (NEW.image_id, NEW.name,
            (SELECT COALESCE(MAX(seq), 0) + 1 FROM name_history));
END;
CREATE TRIGGER IF NOT EXISTS images_forget_names AFTER DELETE ON images
BEGIN
    DELETE FROM name_history WHERE image_id = OLD.id;
END;
";

/// Version 7: a partial index of the containers whose spec names others
/// they `--requires`, so that finding a container's dependents (each `rm`)
/// reads those few rows, not every spec.
pub(super) const REQUIRING: &str = "instr(spec, '\"requires\":[\"') > 0";
const MIGRATE_V7: &str = "
CREATE INDEX IF NOT EXISTS containers_requiring ON containers (id)
    WHERE instr(spec, '\"requires\":[\"') > 0;
";

/// The directories whose entries show that the store has been used.
const CONTENT_DIRS: [&str; 4] = ["layers", "blobs/sha256", "containers", "volumes"];

/// Whether `e` says the database file is damaged or not a database.
pub(super) fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
    )
}

/// Whether the store at `root` holds anything a database should record.
fn holds_content(root: &Path) -> bool {
    CONTENT_DIRS
        .iter()
        .any(|d| std::fs::read_dir(root.join(d)).is_ok_and(|mut e| e.next().is_some()))
}

/// Opens the database under `root`, creating the store on first use.
pub(super) fn open(root: &Path) -> Result<Connection, Error> {
    let path = root.join("db.sqlite");
    let open_err = |source| {
        if is_damage(&source) {
            Error::DbDamaged {
                path: path.clone(),
                source,
            }
        } else {
            Error::OpenDb {
                path: path.clone(),
                source,
            }
        }
    };
    // SQLite writes a database's first page to the file when it creates
    // it: an empty file over a used store lost its content, whatever a
    // write-ahead log beside it still holds.
    if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) && holds_content(root) {
        return Err(Error::DbEmpty { path });
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match Connection::open_with_flags(&path, flags) {
        Ok(c) => c,
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::CannotOpen) => {
            if holds_content(root) {
                return Err(Error::DbMissing { path });
            }
            create_dirs(root)?;
            let conn = Connection::open_with_flags(&path, flags | OpenFlags::SQLITE_OPEN_CREATE)
                .map_err(open_err)?;
            // SQLite creates the file with the umask, and its WAL and
            // shared-memory files later with the database's mode.
            std::fs::set_permissions(
                &path,
                std::fs::Permissions::from_mode(super::private::FILE_MODE),
            )
            .map_err(|source| Error::Secure {
                path: path.clone(),
                source,
            })?;
            conn
        }
        Err(e) => return Err(open_err(e)),
    };
    conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
    // Without this the last process to close checkpoints, fsyncs and
    // deletes the WAL, and the next one recreates it (and fsyncs again):
    // milliseconds on every `hutch run`. Checkpoints still happen
    // automatically as the WAL grows.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .map_err(open_err)?;
    // In WAL mode NORMAL still survives a killed process; only a power cut
    // may lose the last commits, never consistency (sqlite.org/wal.html).
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(open_err)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    if version == SCHEMA_VERSION {
        Ok(conn)
    } else if version == 0 && holds_content(root) {
        Err(Error::DbEmpty { path })
    } else {
        migrate(root, conn)
    }
}

/// Brings the schema up to `SCHEMA_VERSION` under the write lock, so two
/// processes creating the store at once do it once.
fn migrate(root: &Path, mut conn: Connection) -> Result<Connection, Error> {
    let path = root.join("db.sqlite");
    let init_err = |source| {
        if is_damage(&source) {
            Error::DbDamaged {
                path: path.clone(),
                source,
            }
        } else {
            Error::InitDb {
                path: path.clone(),
                source,
            }
        }
    };
    // journal_mode cannot change inside a transaction; it persists in the file.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(init_err)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(init_err)?;
    let version: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(init_err)?;
    if version > SCHEMA_VERSION {
        return Err(Error::DbTooNew {
            path,
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    // Each step brings the schema from one version to the next, so a fresh
    // store and an upgraded one end up with the same tables.
    if version < 1 {
        tx.execute_batch(SCHEMA).map_err(init_err)?;
    }
    if version < 2 {
        tx.execute_batch(MIGRATE_V2).map_err(init_err)?;
    }
    if version < 3 {
        tx.execute_batch(MIGRATE_V3).map_err(init_err)?;
    }
    if version < 4 {
        tx.execute_batch(MIGRATE_V4).map_err(init_err)?;
    }
    if version < 5 {
        tx.execute_batch(MIGRATE_V5).map_err(init_err)?;
    }
    if version < 6 {
        tx.execute_batch(MIGRATE_V6).map_err(init_err)?;
    }
    if version < 7 {
        tx.execute_batch(MIGRATE_V7).map_err(init_err)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)
        .map_err(init_err)?;
    tx.commit().map_err(init_err)?;
    create_dirs(root)?;
    Ok(conn)
}

fn create_dirs(root: &Path) -> Result<(), Error> {
    for sub in SUBDIRS {
        let path = root.join(sub);
        // Only the locks are private: containers with a subordinate root
        // reach their directories and layers through the others.
        let mode = if sub == "locks" {
            super::private::DIR_MODE
        } else {
            0o755
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&path)
            .map_err(|source| Error::CreateDir { path, source })?;
    }
    Ok(())
}

/// Nanoseconds since the epoch, for ordering images by when they were added.
pub(super) fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_the_store_once_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        drop(open(&root).unwrap());
        for sub in SUBDIRS {
            assert!(root.join(sub).is_dir(), "{sub}");
        }
        let conn = open(&root).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn open_migrates_a_version_1_store_keeping_its_containers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute(
                "INSERT INTO containers (id, name, image_id, image_name, created)
                 VALUES ('a', 'old', 'sha256:x', 'busybox', '2024-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
        }
        let conn = open(dir.path()).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let (state, spec, count, stopped): (String, Option<String>, i64, bool) = conn
            .query_row(
                "SELECT state, spec, restart_count, stopped_by_user FROM containers
                 WHERE name = 'old'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(state, "created");
        assert_eq!(spec, None);
        assert_eq!(count, 0);
        assert!(!stopped);
    }

    #[test]
    fn open_migrates_a_version_3_store_to_volumes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA).unwrap();
            conn.execute_batch(MIGRATE_V2).unwrap();
            conn.execute_batch(MIGRATE_V3).unwrap();
            conn.execute(
                "INSERT INTO containers (id, name, image_id, image_name, created)
                 VALUES ('a', 'old', 'sha256:x', 'busybox', '2024-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
            conn.pragma_update(None, "user_version", 3).unwrap();
        }
        let conn = open(dir.path()).unwrap();
        assert!(dir.path().join("volumes").is_dir());
        conn.execute(
            "INSERT INTO volumes (name, driver, labels, options, created)
             VALUES ('v', 'local', '{}', '{}', 'now')",
            [],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO volume_users (volume, container) VALUES ('v', 'a')",
            [],
        )
        .unwrap();
        // Removing the container releases its volumes.
        conn.execute("DELETE FROM containers WHERE id = 'a'", [])
            .unwrap();
        let users: i64 = conn
            .query_row("SELECT count(*) FROM volume_users", [], |r| r.get(0))
            .unwrap();
        assert_eq!(users, 0);
    }

    #[test]
    fn name_history_keeps_every_name_newest_first_until_the_image_goes() {
        // issue #13: a version 5 store starts from its names.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        let image = |conn: &Connection, id: &str| {
            conn.execute(
                "INSERT INTO images (id, manifest_digest, config, layers, os, architecture,
                 size, added) VALUES (?1, 'm', x'', '[]', 'linux', 'amd64', 0, 0)",
                [id],
            )
            .unwrap();
        };
        {
            let conn = Connection::open(&path).unwrap();
            for m in [SCHEMA, MIGRATE_V2, MIGRATE_V3, MIGRATE_V4, MIGRATE_V5] {
                conn.execute_batch(m).unwrap();
            }
            image(&conn, "a");
            conn.execute("INSERT INTO names VALUES ('r/a:1', 'a')", [])
                .unwrap();
            conn.pragma_update(None, "user_version", 5).unwrap();
        }
        let conn = open(dir.path()).unwrap();
        image(&conn, "b");
        let upsert = "INSERT INTO names (name, image_id) VALUES (?1, ?2)
                      ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id";
        for (name, id) in [
            ("r/a:2", "a"),
            ("r/x:1", "a"),
            ("r/b:1", "b"),
            ("r/x:1", "b"),
        ] {
            conn.execute(upsert, [name, id]).unwrap();
        }
        conn.execute("DELETE FROM names WHERE name = 'r/a:2'", [])
            .unwrap();
        let history = |id: &str| -> Vec<String> {
            let mut st = conn
                .prepare("SELECT name FROM name_history WHERE image_id = ?1 ORDER BY seq DESC")
                .unwrap();
            st.query_map([id], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        assert_eq!(history("a"), ["r/x:1", "r/a:2", "r/a:1"]);
        assert_eq!(history("b"), ["r/x:1", "r/b:1"]);
        // Given again, a name comes first again.
        conn.execute(upsert, ["r/a:1", "a"]).unwrap();
        assert_eq!(history("a"), ["r/a:1", "r/x:1", "r/a:2"]);
        conn.execute("DELETE FROM images WHERE id = 'a'", [])
            .unwrap();
        assert!(history("a").is_empty());
        // A store whose version was set back migrates again.
        conn.pragma_update(None, "user_version", 5).unwrap();
        drop(conn);
        let conn = open(dir.path()).unwrap();
        let n: i64 = conn
            .query_row(
                "SELECT count(*) FROM name_history WHERE image_id = 'b'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 2, "b's names, once each");
    }

    #[test]
    fn a_lost_or_emptied_database_over_a_used_store_is_refused() {
        // issue #21 item 7.
        let dir = tempfile::tempdir().unwrap();
        drop(open(dir.path()).unwrap());
        std::fs::create_dir(dir.path().join("volumes/data")).unwrap();
        let db = dir.path().join("db.sqlite");
        std::fs::write(&db, b"").unwrap();
        let err = open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::DbEmpty { .. }), "{err}");
        assert!(err.is_db_damage());
        for f in ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"] {
            let _ = std::fs::remove_file(dir.path().join(f));
        }
        let err = open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::DbMissing { .. }), "{err}");
        assert!(!db.exists(), "a refused open must not create the database");
        std::fs::write(&db, [0x5au8; 8192]).unwrap();
        let err = open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::DbDamaged { .. }), "{err}");
        assert!(err.is_db_damage());
        assert!(crate::error::Diagnose::hint(&err)
            .unwrap()
            .contains("hutch system reset"));
    }

    #[test]
    fn an_empty_database_over_an_empty_store_is_initialized() {
        let dir = tempfile::tempdir().unwrap();
        for sub in SUBDIRS {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        std::fs::write(dir.path().join("db.sqlite"), b"").unwrap();
        let conn = open(dir.path()).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
    }

    #[test]
    fn open_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = open(dir.path()).unwrap_err();
        assert!(matches!(err, Error::DbTooNew { found, .. } if found == SCHEMA_VERSION + 1));
    }
}
