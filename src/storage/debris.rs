//! Debris: what interrupted commands leave in the store, found and swept.
//!
//! Commands that add blobs or layers, or remove images, work in a write
//! session (`Store::write_session`): the process holds `locks/writers.lock`
//! shared and keeps a marker file `tmp/session-PID-…` until the session
//! ends. A session that is killed leaves its marker behind, with what it
//! had under way: downloads and unpacks under `tmp/`, blobs and layers no
//! image record names yet (a pull killed before it recorded the image),
//! layers a removal had moved aside (`layers/.trash.*`) or not yet.
//!
//! Whoever takes `writers.lock` exclusively, without waiting, knows that
//! no session is alive in any process (a session's helper children hold
//! the lock too, through the inherited descriptor). Then everything under
//! `tmp/`, every blob, layer and shifted layer copy that no image record
//! names, and every trash entry, is debris. The store's open sweeps it when
//! `tmp/` is not empty (a marker or a temporary entry outlived its
//! session), `system prune` sweeps it and `system df` counts it. While a
//! session is alive nothing is taken or counted: what it writes cannot be
//! told from what a killed one left.
//!
//! Which blobs and layers an image record names is read from the raw
//! columns (every 64-hex-digit run in its id, manifest digest and layer
//! list), so one damaged record does not make every layer an orphan.

use std::collections::HashSet;
use std::fs::File;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use nix::fcntl::Flock;

use super::remove::remove_all;
use super::size::sizes_of;
use super::{lock, Error, Store};
use crate::userns::IdMaps;

/// The lock every write session holds shared.
const WRITERS_LOCK: &str = "writers";

/// The prefix of a session's marker under `tmp/`.
const MARKER_PREFIX: &str = "session-";

/// The prefix of an entry moved aside for removal. Layer, blob and volume
/// names start with a letter or digit, so none is ever taken for one.
pub(super) const TRASH_PREFIX: &str = ".trash.";

/// What kind of debris an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DebrisKind {
    /// An entry under `tmp/`: a download, an unpack, a removal under way,
    /// or a session's marker.
    Temporary,
    /// An unpacked layer (or a shifted copy of one) no image uses.
    Layer,
    /// A layer's database row, without a directory, no image uses.
    LayerRecord,
    /// A blob no image uses.
    Blob,
    /// A layer or volume moved aside for removal and not yet removed.
    Trash,
}

impl DebrisKind {
    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            DebrisKind::Temporary => "temporary file",
            DebrisKind::Layer => "unused layer",
            DebrisKind::LayerRecord => "unused layer record",
            DebrisKind::Blob => "unused blob",
            DebrisKind::Trash => "trash",
        }
    }
}

/// One piece of debris.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debris {
    /// What it is.
    pub kind: DebrisKind,
    /// Where it is (for a layer record, where its directory would be).
    pub path: PathBuf,
    /// The bytes it holds (0 until measured).
    pub size: u64,
}

/// A write session; see the module's documentation. It ends when dropped.
pub struct Session {
    /// Shared; released when the session ends, after the marker went.
    _lock: Flock<File>,
    marker: PathBuf,
}

impl Session {
    /// Starts a write session on the store at `root` for work outside a
    /// `Store` that puts entries under `tmp/` (the overlay probe), waiting
    /// (boundedly) while a sweep holds the lock.
    pub fn begin(root: &Path) -> Result<Session, Error> {
        let lock = lock::lock_shared(root, WRITERS_LOCK)?;
        let dir = root.join("tmp");
        let marker = dir.join(format!("{MARKER_PREFIX}{}", super::blobs::unique()));
        let created = std::fs::create_dir_all(&dir).and_then(|()| {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&marker)
        });
        created.map_err(|source| Error::CreateTemp {
            path: marker.clone(),
            source,
        })?;
        Ok(Session {
            _lock: lock,
            marker,
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // The marker goes before the lock: a sweeper that finds the lock
        // free never finds a live session's marker.
        let _ = std::fs::remove_file(&self.marker);
    }
}

/// This process's write session, if one is alive.
#[derive(Default)]
pub(super) struct Writes {
    /// The session, while anyone holds a share of it.
    current: Mutex<Weak<Session>>,
    /// The share kept from a blob or layer written until the image that
    /// needs it is recorded (`Store::end_kept_session`).
    kept: Mutex<Option<Arc<Session>>>,
}

impl Store {
    /// A share of this process's write session, starting one if none is
    /// alive: the session lasts while a share does.
    pub(super) fn write_session(&self) -> Result<Arc<Session>, Error> {
        let mut current = self
            .writes
            .current
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(s) = current.upgrade() {
            return Ok(s);
        }
        let session = Arc::new(Session::begin(&self.root)?);
        *current = Arc::downgrade(&session);
        Ok(session)
    }

    /// Like `write_session`, and keeps the session alive until an image is
    /// recorded (`end_kept_session`) or the store is closed: blobs and
    /// layers written for an image are not debris while it is on its way.
    pub(super) fn kept_session(&self) -> Result<Arc<Session>, Error> {
        let session = self.write_session()?;
        *self.writes.kept.lock().unwrap_or_else(|e| e.into_inner()) = Some(session.clone());
        Ok(session)
    }

    /// Ends what `kept_session` kept (the session itself ends with its
    /// last share).
    pub(super) fn end_kept_session(&self) {
        self.writes
            .kept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
    }

    /// Whether an interrupted command may have left debris: `tmp/` is not
    /// empty. One directory read, for the store's open.
    pub fn may_hold_debris(&self) -> bool {
        std::fs::read_dir(self.tmp_dir()).is_ok_and(|mut d| d.next().is_some())
    }

    /// The debris in the store, each measured; `None` while a write
    /// session is alive in some process. The caller must be
    /// single-threaded (measuring may enter the user namespace).
    pub fn list_debris(&self, maps: &IdMaps) -> Result<Option<Vec<Debris>>, Error> {
        let Some(_guard) = lock::try_lock(&self.root, WRITERS_LOCK)? else {
            return Ok(None);
        };
        let mut found = self.find_debris()?;
        measure(&mut found, maps);
        Ok(Some(found))
    }

    /// Removes the debris and returns what it removed (measured first when
    /// `is_measured`); `None`, removing nothing, while a write session is
    /// alive in some process. The caller must be single-threaded.
    pub fn sweep_debris(
        &self,
        maps: &IdMaps,
        is_measured: bool,
    ) -> Result<Option<Vec<Debris>>, Error> {
        let Some(_guard) = lock::try_lock(&self.root, WRITERS_LOCK)? else {
            return Ok(None);
        };
        let mut found = self.find_debris()?;
        if is_measured {
            measure(&mut found, maps);
        }
        // Rows first: a row never names a directory that is going.
        let rows: Vec<String> = found
            .iter()
            .filter(|d| matches!(d.kind, DebrisKind::Layer | DebrisKind::LayerRecord))
            .filter(|d| d.path.parent() == Some(self.root.join("layers").as_path()))
            .filter_map(|d| d.path.file_name()?.to_str().map(|h| format!("sha256:{h}")))
            .collect();
        if !rows.is_empty() {
            let mut db = self.db();
            let tx = db
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(Error::RecordLayers)?;
            for r in &rows {
                tx.execute("DELETE FROM layers WHERE diff_id = ?1", [r])
                    .map_err(Error::RecordLayers)?;
            }
            tx.commit().map_err(Error::RecordLayers)?;
        }
        let paths: Vec<PathBuf> = found
            .iter()
            .filter(|d| d.kind != DebrisKind::LayerRecord)
            .filter(|d| d.path.parent() != Some(self.volumes_dir().as_path()))
            .map(|d| d.path.clone())
            .collect();
        remove_all(&paths, maps)?;
        remove_empty_dirs(&self.root.join("layers-shifted"));
        // Volumes' trash may belong to a `volume rm` under way (it is not a
        // session): their own sweep leaves what another process removes.
        self.sweep_volume_dirs(maps)?;
        Ok(Some(found))
    }

    /// Every piece of debris, unmeasured. The caller holds `writers.lock`
    /// exclusively.
    fn find_debris(&self) -> Result<Vec<Debris>, Error> {
        let used = self.named_digests()?;
        let mut out = Vec::new();
        let mut add = |kind, path: PathBuf| {
            out.push(Debris {
                kind,
                path,
                size: 0,
            })
        };
        for (_, path) in entries(&self.tmp_dir())? {
            add(DebrisKind::Temporary, path);
        }
        let layers = self.root.join("layers");
        let mut dirs = HashSet::new();
        for (name, path) in entries(&layers)? {
            if name.starts_with(TRASH_PREFIX) {
                add(DebrisKind::Trash, path);
            } else if is_hex64(&name) {
                if !used.contains(&name) {
                    add(DebrisKind::Layer, path);
                }
                dirs.insert(name);
            }
        }
        for hex in self.layer_rows()? {
            if !used.contains(&hex) && !dirs.contains(&hex) {
                add(DebrisKind::LayerRecord, layers.join(hex));
            }
        }
        for (_, key) in entries(&self.root.join("layers-shifted"))? {
            for (name, path) in entries(&key)? {
                if name.starts_with(TRASH_PREFIX) {
                    add(DebrisKind::Trash, path);
                } else if is_hex64(&name) && !used.contains(&name) {
                    add(DebrisKind::Layer, path);
                }
            }
        }
        for (name, path) in entries(&self.root.join("blobs/sha256"))? {
            if is_hex64(&name) && !used.contains(&name) {
                add(DebrisKind::Blob, path);
            }
        }
        for (name, path) in entries(&self.volumes_dir())? {
            if name.starts_with(TRASH_PREFIX) {
                add(DebrisKind::Trash, path);
            }
        }
        Ok(out)
    }

    /// The hex of every digest an image record names: its id (the config
    /// blob), its manifest and its layers' blobs and diff_ids.
    pub(super) fn named_digests(&self) -> Result<HashSet<String>, Error> {
        let db = self.db();
        let mut st = db
            .prepare("SELECT id, manifest_digest, layers FROM images")
            .map_err(Error::ListImages)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(Error::ListImages)?;
        let mut out = HashSet::new();
        for row in rows {
            let (id, manifest, layers) = row.map_err(Error::ListImages)?;
            for text in [&id, &manifest, &layers] {
                out.extend(hex_runs(text).map(str::to_string));
            }
        }
        Ok(out)
    }

    /// The hex of every recorded layer's diff_id.
    fn layer_rows(&self) -> Result<Vec<String>, Error> {
        let db = self.db();
        let mut st = db
            .prepare("SELECT diff_id FROM layers")
            .map_err(Error::FindLayers)?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(Error::FindLayers)?;
        let mut out = Vec::new();
        for row in rows {
            let d = row.map_err(Error::FindLayers)?;
            if let Some(hex) = d.strip_prefix("sha256:").filter(|h| is_hex64(h)) {
                out.push(hex.to_string());
            }
        }
        Ok(out)
    }

    /// Moves `dir/NAME` aside to a trash name in the same directory (a
    /// rename within one directory needs no write access to the entry
    /// itself, whoever owns it); `None` when there is no such entry.
    pub(super) fn move_aside(&self, dir: &Path, name: &str) -> Result<Option<PathBuf>, Error> {
        let from = dir.join(name);
        let to = dir.join(format!("{TRASH_PREFIX}{}.{name}", super::blobs::unique()));
        match std::fs::rename(&from, &to) {
            Ok(()) => Ok(Some(to)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::RemoveDir { path: from, source }),
        }
    }
}

/// Measures each piece of debris.
fn measure(found: &mut [Debris], maps: &IdMaps) {
    let paths: Vec<PathBuf> = found.iter().map(|d| d.path.clone()).collect();
    for (d, size) in found.iter_mut().zip(sizes_of(&paths, maps)) {
        d.size = size;
    }
}

/// The entries of `dir` with their names; none when it does not exist.
pub(super) fn entries(dir: &Path) -> Result<Vec<(String, PathBuf)>, Error> {
    let rd = match std::fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(Error::ListDebris {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut out: Vec<(String, PathBuf)> = rd
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    out.sort();
    Ok(out)
}

/// Removes the directories directly under `dir` that are empty.
fn remove_empty_dirs(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            // Fails, as it should, on one that is not empty.
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

/// Whether `s` is 64 lowercase hex digits (a sha256 digest's hex).
pub(super) fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Every run of exactly 64 lowercase hex digits in `text`.
pub(super) fn hex_runs(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_digit() || ('a'..='f').contains(&c)))
        .filter(|run| run.len() == 64)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::storage::Digest;

    fn maps() -> IdMaps {
        IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        )
    }

    fn kinds(found: &[Debris]) -> Vec<(DebrisKind, String)> {
        let mut v: Vec<(DebrisKind, String)> = found
            .iter()
            .map(|d| {
                let name = d.path.file_name().unwrap().to_string_lossy();
                (d.kind, name.chars().take(8).collect())
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_killed_session_leaves_debris_that_the_sweep_takes() {
        // issue #21 item 5.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let store = Store::open(root).unwrap();
        assert!(!store.may_hold_debris());
        // What a pull killed before recording its image leaves: a marker,
        // a partial download, an unpack, a whole blob, a recorded layer.
        std::fs::write(root.join("tmp/session-1-0-0"), b"").unwrap();
        std::fs::write(root.join("tmp/blob-aaaa-1-0-0"), [0u8; 100]).unwrap();
        std::fs::create_dir_all(root.join("tmp/layer-bbbb-1-0-0/etc")).unwrap();
        std::fs::write(root.join("tmp/layer-bbbb-1-0-0/etc/f"), [0u8; 10]).unwrap();
        let blob = Digest::of(b"orphan blob");
        std::fs::write(store.blob_path(&blob), b"orphan blob").unwrap();
        let layer = Digest::of(b"orphan layer");
        std::fs::create_dir_all(store.layer_path(&layer).join("usr")).unwrap();
        store
            .db()
            .execute(
                "INSERT INTO layers (diff_id, blob, size) VALUES (?1, ?2, 1)",
                [layer.to_string(), blob.to_string()],
            )
            .unwrap();
        // A killed removal's trash, and a record whose directory is gone.
        std::fs::create_dir_all(root.join("layers/.trash.1-0-0.cccc/x")).unwrap();
        let gone = Digest::of(b"gone");
        store
            .db()
            .execute(
                "INSERT INTO layers (diff_id, blob, size) VALUES (?1, ?1, 1)",
                [gone.to_string()],
            )
            .unwrap();
        assert!(store.may_hold_debris());
        let found = store.list_debris(&maps()).unwrap().unwrap();
        assert_eq!(
            kinds(&found),
            vec![
                (DebrisKind::Temporary, "blob-aaa".to_string()),
                (DebrisKind::Temporary, "layer-bb".to_string()),
                (DebrisKind::Temporary, "session-".to_string()),
                (DebrisKind::Layer, layer.hex()[..8].to_string()),
                (DebrisKind::LayerRecord, gone.hex()[..8].to_string()),
                (DebrisKind::Blob, blob.hex()[..8].to_string()),
                (DebrisKind::Trash, ".trash.1".to_string()),
            ]
        );
        let sizes: u64 = found.iter().map(|d| d.size).sum();
        assert_eq!(sizes, 100 + 10 + 11);
        let swept = store.sweep_debris(&maps(), false).unwrap().unwrap();
        assert_eq!(swept.len(), found.len());
        assert!(!store.may_hold_debris());
        assert_eq!(store.list_debris(&maps()).unwrap().unwrap(), vec![]);
        assert!(!store.layer_path(&layer).exists());
        assert!(!store.is_layer_present(&layer).unwrap());
        let rows: i64 = store
            .db()
            .query_row("SELECT count(*) FROM layers", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0);
    }

    #[test]
    fn nothing_is_taken_while_a_session_is_alive() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Store::open(dir.path()).unwrap();
        let d = Digest::of(b"on its way");
        let mut w = writer.blob_writer(&d).unwrap();
        w.write_all(b"on its way").unwrap();
        w.commit().unwrap();
        // Another process (another open of the lock file) finds it busy.
        let other = Store::open(dir.path()).unwrap();
        assert!(other.may_hold_debris());
        assert_eq!(other.sweep_debris(&maps(), false).unwrap(), None);
        assert_eq!(other.list_debris(&maps()).unwrap(), None);
        assert!(writer.has_blob(&d));
        // The session ends with the store: its marker goes, and the blob
        // no image names is debris now.
        drop(writer);
        assert!(!other.may_hold_debris());
        let found = other.list_debris(&maps()).unwrap().unwrap();
        assert_eq!(
            kinds(&found),
            vec![(DebrisKind::Blob, d.hex()[..8].to_string())]
        );
    }

    #[test]
    fn hex_runs_finds_digests_in_damaged_text() {
        let a = "a".repeat(64);
        let b = "0123456789abcdef".repeat(4);
        let text = format!(
            "[{{\"diff_id\":\"sha256:{a}\",\"blob\":\"sha256:{b}\"  garbage {}",
            "f".repeat(63)
        );
        let runs: Vec<&str> = hex_runs(&text).collect();
        assert_eq!(runs, vec![a.as_str(), b.as_str()]);
        assert!(is_hex64(&a));
        assert!(!is_hex64(&"A".repeat(64)));
        assert!(!is_hex64("abc"));
    }
}
