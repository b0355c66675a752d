//! Image records: names, lookup by name or id, listing and removal.
//!
//! An image row holds its config and its layer list (JSON); `names` maps
//! each fully qualified name to one image. Removing an image deletes, in
//! the same transaction, the layer records no other image uses; their
//! directories and blobs go after the commit, so the database never names
//! a missing file. A layer directory is renamed aside (`layers/.trash.*`)
//! before it is deleted, so a killed removal leaves only trash, which the
//! debris sweep takes.
//!
//! A record that does not hold together (a digest or layer list that does
//! not parse, a config that is not JSON, a config blob missing or unlike
//! the record's config) is damaged (`Damage`): lookups report it, listings
//! leave it out (`damaged_images` names it), a new record of the same id
//! replaces it, and removing it works from what is left of it.

use std::collections::{HashMap, HashSet};

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::debris::hex_runs;
use super::remove::remove_tree;
use super::{lock, Compression, Digest, Error, ImageRecord, LayerRef, Removed, Store};
use crate::userns::IdMaps;

/// A layer as stored in the `images.layers` JSON column.
#[derive(Serialize, Deserialize)]
struct StoredLayer {
    diff_id: String,
    blob: String,
    compression: String,
    size: u64,
}

const IMAGE_COLUMNS: &str =
    "id, manifest_digest, config, layers, os, architecture, variant, created, size";

fn layers_to_json(layers: &[LayerRef]) -> String {
    let stored: Vec<StoredLayer> = layers
        .iter()
        .map(|l| StoredLayer {
            diff_id: l.diff_id.to_string(),
            blob: l.blob.to_string(),
            compression: match l.compression {
                Compression::None => "none",
                Compression::Gzip => "gzip",
                Compression::Zstd => "zstd",
            }
            .to_string(),
            size: l.size,
        })
        .collect();
    serde_json::to_string(&stored).expect("serializing plain structs cannot fail")
}

/// What is wrong with a damaged image record.
#[derive(Debug, thiserror::Error)]
pub enum Damage {
    /// A digest column does not parse.
    #[error("its {what} {value:?} is not a digest")]
    Digest { what: &'static str, value: String },
    /// The layer list does not parse.
    #[error("its layer list does not parse")]
    Layers(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The config kept in the record is not a JSON object.
    #[error("its config is not JSON")]
    Config(#[source] serde_json::Error),
    /// The config blob is gone.
    #[error("its config blob {0} is missing")]
    ConfigBlobMissing(Digest),
    /// The config blob's bytes differ from the config in the record.
    #[error("its config blob {0} does not match the record")]
    ConfigBlobDiffers(Digest),
}

fn parse_digest(what: &'static str, value: &str) -> Result<Digest, Damage> {
    value.parse().map_err(|_| Damage::Digest {
        what,
        value: value.chars().take(80).collect(),
    })
}

fn layers_from_json(json: &str) -> Result<Vec<LayerRef>, Damage> {
    let stored: Vec<StoredLayer> =
        serde_json::from_str(json).map_err(|e| Damage::Layers(e.into()))?;
    stored
        .into_iter()
        .map(|s| {
            Ok(LayerRef {
                diff_id: parse_digest("layer diff_id", &s.diff_id)?,
                blob: parse_digest("layer blob", &s.blob)?,
                compression: match s.compression.as_str() {
                    "none" => Compression::None,
                    "gzip" => Compression::Gzip,
                    "zstd" => Compression::Zstd,
                    other => {
                        return Err(Damage::Layers(
                            format!("unknown compression {other:?}").into(),
                        ))
                    }
                },
                size: s.size,
            })
        })
        .collect()
}

/// The layers of an image row's `layers` column.
pub(super) fn stored_layers(json: &str) -> Result<Vec<LayerRef>, String> {
    layers_from_json(json).map_err(|e| e.to_string())
}

/// A row of `images` before its JSON and digests are checked.
struct Row {
    id: String,
    manifest_digest: String,
    config: Vec<u8>,
    layers: String,
    os: String,
    architecture: String,
    variant: Option<String>,
    created: Option<String>,
    size: i64,
}

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: r.get(0)?,
        manifest_digest: r.get(1)?,
        config: r.get(2)?,
        layers: r.get(3)?,
        os: r.get(4)?,
        architecture: r.get(5)?,
        variant: r.get(6)?,
        created: r.get(7)?,
        size: r.get(8)?,
    })
}

impl Row {
    /// The record, and whether its size predates schema 5 (stored as -1)
    /// and must be computed (`Store::refresh_image_size`).
    fn into_record(self, names: Vec<String>) -> Result<(ImageRecord, bool), Error> {
        let parsed = (|| -> Result<_, Damage> {
            let id = parse_digest("id", &self.id)?;
            let manifest = parse_digest("manifest digest", &self.manifest_digest)?;
            let layers = layers_from_json(&self.layers)?;
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&self.config)
                .map_err(Damage::Config)?;
            Ok((id, manifest, layers))
        })();
        let (id, manifest_digest, layers) = match parsed {
            Ok(p) => p,
            Err(source) => {
                return Err(Error::ImageDamaged {
                    id: self.id,
                    names,
                    source,
                })
            }
        };
        let is_size_stale = self.size < 0;
        let rec = ImageRecord {
            id,
            manifest_digest,
            layers,
            names,
            config: self.config,
            os: self.os,
            architecture: self.architecture,
            variant: self.variant,
            created: self.created,
            size: u64::try_from(self.size).unwrap_or(0),
        };
        Ok((rec, is_size_stale))
    }
}

/// Whether `s` is lowercase hex.
fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Finds the image id a name, id or id prefix refers to.
fn resolve(conn: &rusqlite::Connection, name_or_id: &str) -> Result<Option<String>, Error> {
    let err = |source| Error::FindImage {
        name: name_or_id.to_string(),
        source,
    };
    let by_name: Option<String> = conn
        .prepare_cached("SELECT image_id FROM names WHERE name = ?1")
        .and_then(|mut st| st.query_row([name_or_id], |r| r.get(0)).optional())
        .map_err(err)?;
    if by_name.is_some() {
        return Ok(by_name);
    }
    let hex = name_or_id.strip_prefix("sha256:").unwrap_or(name_or_id);
    if hex.len() < 3 || hex.len() > 64 || !is_hex(hex) {
        return Ok(None);
    }
    // Ids are stored as `sha256:HEX`; a range scan finds the prefix on the
    // primary key index ('g' sorts right after the hex digits).
    let lo = format!("sha256:{hex}");
    let hi = format!("sha256:{hex}g");
    let ids: Vec<String> = conn
        .prepare_cached("SELECT id FROM images WHERE id >= ?1 AND id < ?2 LIMIT 2")
        .and_then(|mut st| {
            st.query_map([&lo, &hi], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(err)?;
    match ids.len() {
        0 | 1 => Ok(ids.into_iter().next()),
        _ => {
            let count: i64 = conn
                .query_row(
                    "SELECT count(*) FROM images WHERE id >= ?1 AND id < ?2",
                    [&lo, &hi],
                    |r| r.get(0),
                )
                .map_err(err)?;
            Err(Error::AmbiguousId {
                prefix: name_or_id.to_string(),
                count: usize::try_from(count).unwrap_or(usize::MAX),
            })
        }
    }
}

fn names_of(conn: &rusqlite::Connection, id: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT name FROM names WHERE image_id = ?1 ORDER BY name")?
        .query_map([id], |r| r.get(0))?
        .collect()
}

fn load(conn: &rusqlite::Connection, id: &str) -> Result<Option<(ImageRecord, bool)>, Error> {
    let err = |source| Error::FindImage {
        name: id.to_string(),
        source,
    };
    let row = conn
        .prepare_cached(&format!("SELECT {IMAGE_COLUMNS} FROM images WHERE id = ?1"))
        .and_then(|mut st| st.query_row([id], read_row).optional())
        .map_err(err)?;
    match row {
        None => Ok(None),
        Some(row) => {
            let names = names_of(conn, id).map_err(err)?;
            row.into_record(names).map(Some)
        }
    }
}

/// Files to delete once the transaction that dropped their records commits.
struct Garbage {
    layers: Vec<Digest>,
    blobs: Vec<Digest>,
}

/// An image row read back: the record with whether its size is stale
/// (see `Row::into_record`), or the error saying how it is damaged.
type ReadRow = Result<(ImageRecord, bool), Error>;

/// What a removal knows of an image: all of it, or what a damaged record
/// still tells.
struct Doomed {
    id: String,
    names: Vec<String>,
    /// Layers (by diff_id) whose records may go with it.
    layers: Vec<Digest>,
    /// Blobs that may go with it.
    blobs: Vec<Digest>,
}

impl Store {
    /// Records `image` and points each of its names at it (a name moves
    /// from whatever image had it before). Its size is computed here from
    /// its layers and metadata (`image.size` is not read). A damaged
    /// record of the same id is replaced; a sound one is kept.
    ///
    /// Every layer must already be unpacked (`unpack_layers`), so the
    /// record never names a missing directory.
    pub fn put_image(&self, image: &ImageRecord) -> Result<(), Error> {
        for l in &image.layers {
            if !self.layer_path(&l.diff_id).is_dir() {
                return Err(Error::LayerNotUnpacked {
                    layer: l.diff_id.clone(),
                });
            }
        }
        let size = self.image_size(&image.layers, image.config.len(), &image.manifest_digest)?;
        let id = image.id.to_string();
        let err = |source| Error::SaveImage {
            id: image.id.clone(),
            source,
        };
        {
            let mut db = self.db();
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let is_damaged = match load(&tx, &id) {
                Ok(Some((old, _))) => self.check_blobs(&old).is_err(),
                Ok(None) => false,
                Err(Error::ImageDamaged { .. }) => true,
                Err(e) => return Err(e),
            };
            if is_damaged {
                tx.execute("DELETE FROM images WHERE id = ?1", [&id])
                    .map_err(err)?;
            }
            tx.execute(
                &format!(
                    "INSERT OR IGNORE INTO images ({IMAGE_COLUMNS}, added)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                ),
                params![
                    id,
                    image.manifest_digest.to_string(),
                    image.config,
                    layers_to_json(&image.layers),
                    image.os,
                    image.architecture,
                    image.variant,
                    image.created,
                    i64::try_from(size).unwrap_or(i64::MAX),
                    super::db::now_nanos(),
                ],
            )
            .map_err(err)?;
            for l in &image.layers {
                tx.execute(
                    "INSERT OR IGNORE INTO layers (diff_id, blob, size) VALUES (?1, ?2, ?3)",
                    params![
                        l.diff_id.to_string(),
                        l.blob.to_string(),
                        i64::try_from(l.size).unwrap_or(i64::MAX)
                    ],
                )
                .map_err(err)?;
            }
            for name in &image.names {
                tx.execute(
                    "INSERT INTO names (name, image_id) VALUES (?1, ?2)
                     ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
                    params![name, id],
                )
                .map_err(err)?;
            }
            tx.commit().map_err(err)?;
        }
        // What was written for it is named by a record now.
        self.end_kept_session();
        Ok(())
    }

    /// Finds an image by full name, by id (`sha256:HEX` or `HEX`) or by an
    /// unambiguous id prefix of at least 3 hex characters. A damaged
    /// record is an `ImageDamaged` error.
    pub fn find_image(&self, name_or_id: &str) -> Result<Option<ImageRecord>, Error> {
        let found = {
            let db = self.db();
            match resolve(&db, name_or_id)? {
                Some(id) => load(&db, &id)?,
                None => None,
            }
        };
        let Some((mut rec, is_size_stale)) = found else {
            return Ok(None);
        };
        self.checked(&rec)?;
        if is_size_stale {
            self.refresh_image_size(&mut rec)?;
        }
        Ok(Some(rec))
    }

    /// All sound images, newest first (damaged ones are left out; see
    /// `damaged_images`).
    pub fn list_images(&self) -> Result<Vec<ImageRecord>, Error> {
        let mut out = Vec::new();
        for row in self.list_image_rows()? {
            let Ok((mut rec, is_size_stale)) = row else {
                continue;
            };
            if self.checked(&rec).is_err() {
                continue;
            }
            if is_size_stale {
                self.refresh_image_size(&mut rec)?;
            }
            out.push(rec);
        }
        Ok(out)
    }

    /// The damaged image records, newest first, each as its
    /// `ImageDamaged` error (naming the image and what is wrong).
    pub fn damaged_images(&self) -> Result<Vec<Error>, Error> {
        Ok(self
            .list_image_rows()?
            .into_iter()
            .filter_map(|row| match row {
                Ok((rec, _)) => self.checked(&rec).err(),
                Err(e) => Some(e),
            })
            .collect())
    }

    /// `rec`, unless its config blob is missing or unlike its config: then
    /// the `ImageDamaged` error naming it.
    fn checked(&self, rec: &ImageRecord) -> Result<(), Error> {
        self.check_blobs(rec).map_err(|source| Error::ImageDamaged {
            id: rec.id.to_string(),
            names: rec.names.clone(),
            source,
        })
    }

    /// Whether `rec`'s config blob is there and holds the record's config.
    /// A blob that cannot be read for another reason counts as sound.
    fn check_blobs(&self, rec: &ImageRecord) -> Result<(), Damage> {
        match std::fs::read(self.blob_path(&rec.id)) {
            Ok(bytes) if bytes == rec.config => Ok(()),
            Ok(_) => Err(Damage::ConfigBlobDiffers(rec.id.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(Damage::ConfigBlobMissing(rec.id.clone()))
            }
            Err(_) => Ok(()),
        }
    }

    /// Every image row, newest first: the record with whether its size is
    /// stale, or the error that says how the row is damaged.
    fn list_image_rows(&self) -> Result<Vec<ReadRow>, Error> {
        let db = self.db();
        let mut names: HashMap<String, Vec<String>> = HashMap::new();
        let rows: Vec<(String, String)> = db
            .prepare_cached("SELECT image_id, name FROM names ORDER BY name")
            .and_then(|mut st| {
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(Error::ListImages)?;
        for (id, name) in rows {
            names.entry(id).or_default().push(name);
        }
        let rows: Vec<Row> = db
            .prepare_cached(&format!(
                "SELECT {IMAGE_COLUMNS} FROM images ORDER BY added DESC, id"
            ))
            .and_then(|mut st| st.query_map([], read_row)?.collect::<rusqlite::Result<_>>())
            .map_err(Error::ListImages)?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let n = names.remove(&row.id).unwrap_or_default();
                row.into_record(n)
            })
            .collect())
    }

    /// Removes a name; when `name_or_id` is an id, or the last name of an
    /// image goes, removes the image and the layers and blobs no other image
    /// uses. Refuses while a container uses the image, even with `force`:
    /// the engine removes those containers first. An id with several names
    /// is refused unless `force`, as in Podman. A damaged record goes the
    /// same way, with what it still names. The caller must be
    /// single-threaded (removal may enter the user namespace).
    pub fn remove_image(
        &self,
        name_or_id: &str,
        force: bool,
        maps: &IdMaps,
    ) -> Result<Removed, Error> {
        let err = |source| Error::DeleteImage {
            name: name_or_id.to_string(),
            source,
        };
        // A killed removal leaves its trash to the debris sweep.
        let _session = self.write_session()?;
        let (removed, garbage) = {
            let mut db = self.db();
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let by_name: Option<String> = tx
                .query_row(
                    "SELECT image_id FROM names WHERE name = ?1",
                    [name_or_id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(err)?;
            let id = match &by_name {
                Some(id) => id.clone(),
                None => resolve(&tx, name_or_id)?.ok_or_else(|| Error::ImageNotKnown {
                    name: name_or_id.to_string(),
                })?,
            };
            let doomed = doomed(&tx, &id)?.ok_or_else(|| Error::ImageNotKnown {
                name: name_or_id.to_string(),
            })?;
            if by_name.is_some() && doomed.names.len() > 1 {
                tx.execute("DELETE FROM names WHERE name = ?1", [name_or_id])
                    .map_err(err)?;
                tx.commit().map_err(err)?;
                return Ok(Removed::Untagged(name_or_id.to_string()));
            }
            let digest = parse_digest("id", &doomed.id).map_err(|source| Error::ImageDamaged {
                id: doomed.id.clone(),
                names: doomed.names.clone(),
                source,
            })?;
            if by_name.is_none() && doomed.names.len() > 1 && !force {
                return Err(Error::ImageHasNames {
                    id: digest,
                    names: doomed.names,
                });
            }
            let garbage = delete_image(&tx, &digest, doomed, &err)?;
            tx.commit().map_err(err)?;
            (Removed::Deleted(digest), garbage)
        };
        self.collect(garbage, maps)?;
        Ok(removed)
    }

    /// Deletes the files whose records are gone, each under its lock and
    /// only if nothing recorded it again meanwhile.
    fn collect(&self, garbage: Garbage, maps: &IdMaps) -> Result<(), Error> {
        let layers = self.root.join("layers");
        for diff_id in &garbage.layers {
            let _guard = lock::lock(&self.root, &format!("layer-{}", diff_id.hex()))?;
            let recorded = self
                .db()
                .prepare_cached("SELECT 1 FROM layers WHERE diff_id = ?1")
                .and_then(|mut st| st.exists([diff_id.to_string()]))
                .map_err(Error::FindLayers)?;
            if recorded {
                continue;
            }
            // Moved aside at once, then deleted at leisure: an interrupted
            // delete leaves only trash, which the debris sweep takes.
            if let Some(trash) = self.move_aside(&layers, diff_id.hex())? {
                remove_tree(&trash, maps)?;
            }
        }
        for blob in &garbage.blobs {
            let _guard = self.lock_blob(blob)?;
            let hex = blob.hex().to_string();
            let used = self
                .db()
                .prepare_cached(
                    "SELECT 1 FROM images WHERE id = ?1 OR manifest_digest = ?1
                     OR instr(layers, ?2) > 0",
                )
                .and_then(|mut st| st.exists(params![blob.to_string(), hex]))
                .map_err(Error::FindLayers)?;
            if used {
                continue;
            }
            let path = self.blob_path(blob);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::RemoveDir { path, source }),
            }
        }
        Ok(())
    }
}

/// What removing image `id` would take: from its record, or for a damaged
/// one every digest its columns still hold (those recorded as layers are
/// its layers).
fn doomed(tx: &Transaction<'_>, id: &str) -> Result<Option<Doomed>, Error> {
    match load(tx, id) {
        Ok(None) => Ok(None),
        Ok(Some((img, _))) => {
            let mut blobs = vec![img.id.clone(), img.manifest_digest.clone()];
            blobs.extend(img.layers.iter().map(|l| l.blob.clone()));
            Ok(Some(Doomed {
                id: id.to_string(),
                names: img.names,
                layers: img.layers.into_iter().map(|l| l.diff_id).collect(),
                blobs,
            }))
        }
        Err(Error::ImageDamaged { names, .. }) => {
            let err = |source| Error::FindImage {
                name: id.to_string(),
                source,
            };
            let (manifest, layers): (String, String) = tx
                .query_row(
                    "SELECT manifest_digest, layers FROM images WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(err)?;
            let text = format!("{id} {manifest} {layers}");
            let digests: Vec<Digest> = hex_runs(&text)
                .filter_map(|h| format!("sha256:{h}").parse().ok())
                .collect();
            let mut recorded = Vec::new();
            for d in &digests {
                let is_layer = tx
                    .prepare_cached("SELECT 1 FROM layers WHERE diff_id = ?1")
                    .and_then(|mut st| st.exists([d.to_string()]))
                    .map_err(err)?;
                if is_layer {
                    recorded.push(d.clone());
                }
            }
            Ok(Some(Doomed {
                id: id.to_string(),
                names,
                layers: recorded,
                blobs: digests,
            }))
        }
        Err(e) => Err(e),
    }
}

/// Deletes image `id`'s rows (names, the image and the layer records no
/// other image names) and returns what to delete on disk.
fn delete_image(
    tx: &Transaction<'_>,
    id: &Digest,
    doomed: Doomed,
    err: &dyn Fn(rusqlite::Error) -> Error,
) -> Result<Garbage, Error> {
    let raw_id = doomed.id.as_str();
    let user: Option<String> = tx
        .prepare_cached("SELECT id FROM containers WHERE image_id = ?1 ORDER BY id LIMIT 1")
        .and_then(|mut st| st.query_row([raw_id], |r| r.get(0)).optional())
        .map_err(err)?;
    // Even with `force`: the engine stops and removes the containers
    // first (a record dropped here would leave a running process or a
    // container being created without one), and tries again when one was
    // created meanwhile.
    if let Some(container) = user {
        return Err(Error::ImageInUse {
            id: id.clone(),
            container,
        });
    }
    tx.execute("DELETE FROM names WHERE image_id = ?1", [raw_id])
        .map_err(err)?;
    tx.execute("DELETE FROM images WHERE id = ?1", [raw_id])
        .map_err(err)?;
    // What the remaining images still name, read from their raw columns so
    // that a damaged one keeps what it still names.
    let others: Vec<(String, String, String)> = tx
        .prepare_cached("SELECT id, manifest_digest, layers FROM images")
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()
        })
        .map_err(err)?;
    let mut used = HashSet::new();
    for (oid, manifest, layers) in &others {
        for text in [oid, manifest, layers] {
            used.extend(hex_runs(text).map(str::to_string));
        }
    }
    let mut layers = Vec::new();
    for diff_id in doomed.layers {
        if !used.contains(diff_id.hex()) && !layers.contains(&diff_id) {
            tx.execute(
                "DELETE FROM layers WHERE diff_id = ?1",
                [diff_id.to_string()],
            )
            .map_err(err)?;
            layers.push(diff_id);
        }
    }
    let mut blobs = doomed.blobs;
    blobs.retain(|b| !used.contains(b.hex()));
    blobs.sort();
    blobs.dedup();
    Ok(Garbage { layers, blobs })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::error::Diagnose;
    use crate::storage::ContainerRecord;

    fn digest(prefix: &str) -> Digest {
        format!("sha256:{prefix:0<64}").parse().unwrap()
    }

    fn maps() -> IdMaps {
        IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        )
    }

    /// Stores blobs (gzipped `layer NAME` tars, in effect) and layer
    /// directories for an image and returns it, with the size the store
    /// computes for it (no manifest blob: only layers and config count).
    fn image(store: &Store, id: &str, names: &[&str], layers: &[&str]) -> ImageRecord {
        let layers: Vec<LayerRef> = layers
            .iter()
            .map(|l| {
                let bytes = gzip(format!("layer {l}").as_bytes());
                let blob = Digest::of(&bytes);
                let mut w = store.blob_writer(&blob).unwrap();
                w.write_all(&bytes).unwrap();
                w.commit().unwrap();
                let diff_id = digest(l);
                std::fs::create_dir_all(store.layer_path(&diff_id).join("etc")).unwrap();
                LayerRef {
                    diff_id,
                    blob,
                    compression: Compression::Gzip,
                    size: 10,
                }
            })
            .collect();
        let config = format!("{{\"id\":\"{id}\"}}").into_bytes();
        // The config blob, under the test's id rather than its digest.
        let blob = store.blob_path(&digest(id));
        std::fs::create_dir_all(blob.parent().unwrap()).unwrap();
        std::fs::write(&blob, &config).unwrap();
        let size = layers.len() as u64 * 8 + config.len() as u64;
        ImageRecord {
            id: digest(id),
            names: names.iter().map(|n| n.to_string()).collect(),
            manifest_digest: digest(&format!("ee{id}")),
            config,
            layers,
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            created: Some("2024-01-01T00:00:00Z".into()),
            size,
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn image_sizes_count_unpacked_layers_config_and_the_manifest_twice() {
        // issue #20 item 16: Podman's size, not the compressed one.
        let (_d, store) = open();
        let mut img = image(&store, "cc", &["r/c:1"], &["11", "12"]);
        let manifest = b"{\"schemaVersion\":2}";
        img.manifest_digest = store.put_blob_bytes(manifest).unwrap();
        store.put_image(&img).unwrap();
        let want = 2 * 8 + img.config.len() as u64 + 2 * manifest.len() as u64;
        assert_eq!(store.find_image("r/c:1").unwrap().unwrap().size, want);
        assert_eq!(store.layer_sizes(&img.layers).unwrap(), vec![8, 8]);
        // A row from before schema 5 (-1) is recomputed when read.
        store
            .db()
            .execute("UPDATE images SET size = -1", [])
            .unwrap();
        store
            .db()
            .execute("UPDATE layers SET unpacked_size = NULL", [])
            .unwrap();
        assert_eq!(store.list_images().unwrap()[0].size, want);
        let stored: i64 = store
            .db()
            .query_row("SELECT size FROM images", [], |r| r.get(0))
            .unwrap();
        assert_eq!(stored, want as i64);
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn put_then_find_by_name_id_and_prefix() {
        let (_d, store) = open();
        let img = image(
            &store,
            "abc1",
            &["localhost:5000/busybox:latest"],
            &["11", "12"],
        );
        store.put_image(&img).unwrap();
        let hex = img.id.hex().to_string();
        for key in [
            "localhost:5000/busybox:latest".to_string(),
            img.id.to_string(),
            hex.clone(),
            hex[..3].to_string(),
            format!("sha256:{}", &hex[..12]),
        ] {
            let found = store
                .find_image(&key)
                .unwrap()
                .unwrap_or_else(|| panic!("{key}"));
            assert_eq!(found, img, "{key}");
        }
        assert_eq!(store.find_image(&hex[..2]).unwrap(), None);
        assert_eq!(store.find_image("busybox").unwrap(), None);
        assert_eq!(store.find_image("abd").unwrap(), None);
    }

    #[test]
    fn put_refuses_an_image_whose_layers_are_not_unpacked() {
        let (_d, store) = open();
        let mut img = image(&store, "abc1", &["r/x:1"], &["11"]);
        img.layers[0].diff_id = digest("99");
        let err = store.put_image(&img).unwrap_err();
        assert!(matches!(err, Error::LayerNotUnpacked { .. }), "{err}");
        assert_eq!(store.find_image("r/x:1").unwrap(), None);
    }

    #[test]
    fn an_ambiguous_prefix_is_an_error() {
        let (_d, store) = open();
        store
            .put_image(&image(&store, "abc1", &["r/a:1"], &["11"]))
            .unwrap();
        store
            .put_image(&image(&store, "abc2", &["r/b:1"], &["11"]))
            .unwrap();
        let err = store.find_image("abc").unwrap_err();
        assert!(matches!(err, Error::AmbiguousId { count: 2, .. }), "{err}");
        assert!(err.hint().is_some());
        assert_eq!(
            store.find_image("abc2").unwrap().unwrap().names,
            vec!["r/b:1"]
        );
    }

    #[test]
    fn a_name_moves_to_the_newer_image_and_lists_newest_first() {
        let (_d, store) = open();
        store
            .put_image(&image(&store, "aa", &["r/x:1", "r/x:old"], &["11"]))
            .unwrap();
        store
            .put_image(&image(&store, "bb", &["r/x:1"], &["11", "12"]))
            .unwrap();
        let list = store.list_images().unwrap();
        let ids: Vec<_> = list.iter().map(|i| i.id.clone()).collect();
        assert_eq!(ids, vec![digest("bb"), digest("aa")]);
        assert_eq!(list[0].names, vec!["r/x:1"]);
        assert_eq!(list[1].names, vec!["r/x:old"]);
        assert_eq!(list[0].layers.len(), 2);
    }

    #[test]
    fn removing_a_name_untags_until_the_last_one() {
        let (_d, store) = open();
        let img = image(&store, "aa", &["r/x:1", "r/x:2"], &["11"]);
        store.put_image(&img).unwrap();
        assert_eq!(
            store.remove_image("r/x:1", false, &maps()).unwrap(),
            Removed::Untagged("r/x:1".into())
        );
        assert_eq!(
            store.find_image("r/x:2").unwrap().unwrap().names,
            vec!["r/x:2"]
        );
        assert_eq!(
            store.remove_image("r/x:2", false, &maps()).unwrap(),
            Removed::Deleted(img.id.clone())
        );
        assert!(store.list_images().unwrap().is_empty());
        assert!(!store.layer_path(&img.layers[0].diff_id).exists());
        assert!(!store.has_blob(&img.layers[0].blob));
        let err = store.remove_image("r/x:2", false, &maps()).unwrap_err();
        assert!(matches!(err, Error::ImageNotKnown { .. }), "{err}");
    }

    #[test]
    fn removing_an_image_keeps_what_others_use() {
        let (_d, store) = open();
        let a = image(&store, "aa", &["r/a:1"], &["11", "12"]);
        let b = image(&store, "bb", &["r/b:1"], &["11"]);
        store.put_image(&a).unwrap();
        store.put_image(&b).unwrap();
        store.remove_image(a.id.hex(), false, &maps()).unwrap();
        assert!(store.layer_path(&digest("11")).is_dir());
        assert!(store.has_blob(&b.layers[0].blob));
        assert!(!store.layer_path(&digest("12")).exists());
        assert!(!store.has_blob(&a.layers[1].blob));
        assert_eq!(store.find_image("r/b:1").unwrap().unwrap(), b);
    }

    #[test]
    fn removing_by_id_refuses_several_names_without_force() {
        let (_d, store) = open();
        let img = image(&store, "aa", &["r/x:1", "r/x:2"], &["11"]);
        store.put_image(&img).unwrap();
        let err = store.remove_image("aa0", false, &maps()).unwrap_err();
        assert!(matches!(err, Error::ImageHasNames { .. }), "{err}");
        assert_eq!(store.list_images().unwrap().len(), 1);
        assert_eq!(
            store.remove_image("aa0", true, &maps()).unwrap(),
            Removed::Deleted(img.id)
        );
        assert_eq!(store.find_image("r/x:1").unwrap(), None);
    }

    #[test]
    fn removing_an_image_in_use_is_refused_even_with_force() {
        let (_d, store) = open();
        let img = image(&store, "aa", &["r/x:1"], &["11"]);
        store.put_image(&img).unwrap();
        let c = ContainerRecord {
            id: "c".repeat(64),
            name: "web".into(),
            image_id: img.id.clone(),
            image_name: "r/x:1".into(),
            created: "2024-01-01T00:00:00Z".into(),
        };
        let dirs = store.create_container(&c).unwrap();
        for force in [false, true] {
            let err = store.remove_image("r/x:1", force, &maps()).unwrap_err();
            assert!(err.to_string().contains("cccccccccccc"), "{err}");
            assert!(err.hint().is_some());
            assert!(dirs.upper.is_dir());
        }
        store.remove_container("web", &maps()).unwrap();
        store.remove_image("r/x:1", false, &maps()).unwrap();
        assert_eq!(store.find_image("r/x:1").unwrap(), None);
    }

    #[test]
    fn a_damaged_record_is_listed_apart_and_can_be_removed() {
        // issue #21 item 10.
        let (_d, store) = open();
        let good = image(&store, "aa", &["r/good:1"], &["11", "12"]);
        let bad = image(&store, "bb", &["r/bad:1"], &["11", "13"]);
        store.put_image(&good).unwrap();
        store.put_image(&bad).unwrap();
        store
            .db()
            .execute(
                "UPDATE images SET layers = 'garbage' WHERE id = ?1",
                [bad.id.to_string()],
            )
            .unwrap();
        assert_eq!(store.list_images().unwrap(), vec![good.clone()]);
        let damaged = store.damaged_images().unwrap();
        assert_eq!(damaged.len(), 1);
        let text = crate::error::render_chain(&damaged[0]);
        assert!(text.contains("bb0000000000 (r/bad:1) is damaged"), "{text}");
        assert!(text.contains("layer list"), "{text}");
        assert!(damaged[0]
            .hint()
            .unwrap()
            .contains("hutch rmi bb0000000000"));
        let err = store.find_image("r/bad:1").unwrap_err();
        assert!(matches!(err, Error::ImageDamaged { .. }), "{err}");
        assert_eq!(
            store.remove_image("r/bad:1", false, &maps()).unwrap(),
            Removed::Deleted(bad.id.clone())
        );
        assert!(store.damaged_images().unwrap().is_empty());
        // Its layer list named nothing any more: its own layer is left to
        // the debris sweep, and the good image keeps what it uses.
        let swept = store.sweep_debris(&maps(), false).unwrap().unwrap();
        let paths: Vec<_> = swept.iter().map(|d| d.path.clone()).collect();
        assert!(
            paths.contains(&store.layer_path(&digest("13"))),
            "{paths:?}"
        );
        assert!(store.layer_path(&digest("11")).is_dir());
        assert!(store.layer_path(&digest("12")).is_dir());
        assert_eq!(store.find_image("r/good:1").unwrap().unwrap(), good);
    }

    #[test]
    fn an_overwritten_config_blob_damages_the_record_and_a_new_record_replaces_it() {
        let (_d, store) = open();
        let img = image(&store, "aa", &["r/x:1"], &["11"]);
        store.put_image(&img).unwrap();
        std::fs::write(store.blob_path(&img.id), b"garbage").unwrap();
        assert!(store.list_images().unwrap().is_empty());
        let err = store.find_image("r/x:1").unwrap_err();
        assert!(
            crate::error::render_chain(&err).contains("does not match the record"),
            "{err}"
        );
        // A pull stores the blob again, then records the image.
        std::fs::write(store.blob_path(&img.id), &img.config).unwrap();
        std::fs::remove_file(store.blob_path(&img.id)).unwrap();
        assert!(matches!(
            store.find_image("r/x:1"),
            Err(Error::ImageDamaged {
                source: Damage::ConfigBlobMissing(_),
                ..
            })
        ));
        std::fs::write(store.blob_path(&img.id), &img.config).unwrap();
        store
            .db()
            .execute("UPDATE images SET config = X'00'", [])
            .unwrap();
        store.put_image(&img).unwrap();
        assert_eq!(store.find_image("r/x:1").unwrap().unwrap(), img);
        assert_eq!(store.list_images().unwrap(), vec![img]);
    }
}
