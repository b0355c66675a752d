//! `system check`: the database against the files.
//!
//! Everything is listed in one write transaction, which every creation
//! holds from making its directory until its row commits, so a directory
//! seen here without a row is not one being created. Layers, blobs and
//! temporary entries no record names are debris, found by
//! `Store::list_debris` (which knows about write sessions in progress);
//! the engine adds those.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use rusqlite::{Transaction, TransactionBehavior};
use sha2::Digest as _;

use super::{Digest, Error, Store};

/// What to check.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Skip hashing blobs and the database's full integrity check.
    pub quick: bool,
}

/// How a problem can be repaired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// Nothing hutch can do safely (a damaged database).
    None,
    /// Remove the image (its containers first, with `--force` only).
    RemoveImage { id: Digest, users: Vec<String> },
    /// Remove a container whose image is gone (with `--force` only).
    RemoveContainer { id: String },
    /// Drop the record of a container whose directory is gone.
    ForgetContainer { id: String },
    /// Remove container directories no record owns.
    SweepContainerDirs,
    /// Sweep the debris of interrupted commands (`Store::sweep_debris`).
    SweepDebris,
    /// Make a volume's missing data directory again (empty).
    RemakeVolumeDir { name: String },
    /// Remove volume directories no record owns, and volume trash.
    SweepVolumeDirs,
}

/// One thing wrong in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `database`, `image`, `container`, `volume` or `debris`.
    pub area: &'static str,
    /// The image, layer, container or volume (or path) it is about.
    pub object: String,
    /// What is wrong, in a few words.
    pub detail: String,
    pub fix: Fix,
}

/// An image row as stored, before anything is trusted.
struct ImageRow {
    id: String,
    manifest: String,
    config: Vec<u8>,
    layers: String,
}

/// What the database says, read in one transaction.
struct Records {
    images: Vec<ImageRow>,
    names: BTreeMap<String, Vec<String>>,
    layers: BTreeMap<String, String>,
    /// Container id → (name, image id).
    containers: BTreeMap<String, (String, String)>,
    volumes: BTreeSet<String>,
}

impl Store {
    /// Checks the database against the files and returns every problem
    /// found (nothing is changed).
    pub fn check(&self, opts: &CheckOptions) -> Result<Vec<Problem>, Error> {
        let mut problems = Vec::new();
        let (records, container_dirs, volume_dirs) = {
            let mut db = self.db();
            if let Some(p) = integrity(&db, opts.quick) {
                problems.push(p);
                return Ok(problems);
            }
            let tx = db
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(Error::ListImages)?;
            let records = read_records(&tx)?;
            let container_dirs = list(&self.root.join("containers"))?;
            let volume_dirs = list(&self.root.join("volumes"))?;
            (records, container_dirs, volume_dirs)
        };
        self.check_images(&records, opts, &mut problems);
        self.check_containers(&records, &container_dirs, &mut problems);
        self.check_volumes(&records, &volume_dirs, &mut problems);
        Ok(problems)
    }

    /// Each image: its row parses, its blobs are there (and hash to their
    /// names unless quick), its layers are recorded and unpacked.
    fn check_images(&self, records: &Records, opts: &CheckOptions, problems: &mut Vec<Problem>) {
        for row in &records.images {
            let users: Vec<String> = records
                .containers
                .iter()
                .filter(|(_, (_, image))| image == &row.id)
                .map(|(id, _)| id.clone())
                .collect();
            let names = records.names.get(&row.id).cloned().unwrap_or_default();
            let object = match names.first() {
                Some(n) => format!("{} ({n})", short(&row.id)),
                None => short(&row.id).to_string(),
            };
            let damage = self.image_damage(row, records, opts);
            if let Some(detail) = damage {
                let fix = match row.id.parse() {
                    Ok(id) => Fix::RemoveImage { id, users },
                    Err(_) => Fix::None,
                };
                problems.push(Problem {
                    area: "image",
                    object,
                    detail,
                    fix,
                });
            }
        }
    }

    /// What is wrong with image `row`, if anything.
    fn image_damage(
        &self,
        row: &ImageRow,
        records: &Records,
        opts: &CheckOptions,
    ) -> Option<String> {
        let layers = super::images::stored_layers(&row.layers);
        let id: Digest = match row.id.parse() {
            Ok(d) => d,
            Err(_) => return Some(format!("its id {:?} is not a digest", row.id)),
        };
        if serde_json::from_slice::<serde_json::Value>(&row.config).is_err() {
            return Some("its recorded configuration is not JSON".into());
        }
        let manifest: Digest = match row.manifest.parse() {
            Ok(d) => d,
            Err(_) => return Some(format!("its manifest digest {:?} is damaged", row.manifest)),
        };
        let layers = match layers {
            Ok(l) => l,
            Err(e) => return Some(format!("its layer list is damaged ({e})")),
        };
        for (what, d) in [("configuration", &id), ("manifest", &manifest)] {
            if let Some(why) = self.blob_damage(d, opts.quick) {
                return Some(format!("its {what} blob {} {why}", short(d.hex())));
            }
        }
        for l in &layers {
            let key = l.diff_id.to_string();
            if !records.layers.contains_key(&key) {
                return Some(format!("layer {} is not recorded", short(&key)));
            }
            if !self.layer_path(&l.diff_id).is_dir() {
                return Some(format!("layer {} is missing", short(&key)));
            }
            if let Some(why) = self.blob_damage(&l.blob, opts.quick) {
                return Some(format!("the blob of layer {} {why}", short(&key)));
            }
        }
        None
    }

    /// Why blob `d` is unusable: missing, or (unless `quick`) not hashing
    /// to its name.
    fn blob_damage(&self, d: &Digest, quick: bool) -> Option<&'static str> {
        let path = self.blob_path(d);
        if quick {
            return (!path.is_file()).then_some("is missing");
        }
        match hash_file(&path) {
            Ok(hex) if hex == d.hex() => None,
            Ok(_) => Some("does not match its digest"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("is missing"),
            Err(_) => Some("cannot be read"),
        }
    }

    /// Container records against `containers/`.
    fn check_containers(
        &self,
        records: &Records,
        dirs: &BTreeSet<String>,
        problems: &mut Vec<Problem>,
    ) {
        let image_ids: BTreeSet<&str> = records.images.iter().map(|r| r.id.as_str()).collect();
        for (id, (name, image)) in &records.containers {
            let object = format!("{} ({name})", short(id));
            if !dirs.contains(id) {
                problems.push(Problem {
                    area: "container",
                    object,
                    detail: "its directory is missing".into(),
                    fix: Fix::ForgetContainer { id: id.clone() },
                });
            } else if !image_ids.contains(image.as_str())
                && !image.parse::<Digest>().is_ok_and(|d| d.is_no_image())
            {
                problems.push(Problem {
                    area: "container",
                    object,
                    detail: format!("its image {} is gone", short(image)),
                    fix: Fix::RemoveContainer { id: id.clone() },
                });
            }
        }
        for d in dirs.iter().filter(|d| !records.containers.contains_key(*d)) {
            problems.push(Problem {
                area: "container",
                object: short(d).to_string(),
                detail: "its directory has no record".into(),
                fix: Fix::SweepContainerDirs,
            });
        }
    }

    /// Volume records against `volumes/`.
    fn check_volumes(
        &self,
        records: &Records,
        dirs: &BTreeSet<String>,
        problems: &mut Vec<Problem>,
    ) {
        for name in &records.volumes {
            if !self.volume_path(name).is_dir() {
                problems.push(Problem {
                    area: "volume",
                    object: name.clone(),
                    detail: "its data directory is missing".into(),
                    fix: Fix::RemakeVolumeDir { name: name.clone() },
                });
            }
        }
        // Trash is debris (`list_debris`).
        let unrecorded = dirs.iter().filter(|d| {
            !records.volumes.contains(*d) && !d.starts_with(super::volumes::TRASH_PREFIX)
        });
        for d in unrecorded {
            problems.push(Problem {
                area: "volume",
                object: d.clone(),
                detail: "its directory has no record".into(),
                fix: Fix::SweepVolumeDirs,
            });
        }
    }

    /// Drops the record of container `id`, whose directory is gone.
    pub fn forget_container(&self, id: &str) -> Result<(), Error> {
        let dirs = self.container_dirs(id);
        if dirs.dir.exists() {
            return Ok(());
        }
        self.db()
            .execute("DELETE FROM containers WHERE id = ?1", [id])
            .map_err(|source| Error::DeleteContainer {
                id: id.to_string(),
                source,
            })
            .map(|_| ())
    }

    /// Makes volume `name`'s data directory again, empty.
    pub fn remake_volume_dir(&self, name: &str) -> Result<(), Error> {
        let path = self.volume_path(name);
        std::fs::create_dir_all(&path).map_err(|source| Error::CreateDir { path, source })
    }
}

/// `PRAGMA quick_check` (or the full `integrity_check`): a problem unless
/// the database answers "ok".
fn integrity(db: &rusqlite::Connection, quick: bool) -> Option<Problem> {
    let pragma = if quick {
        "PRAGMA quick_check"
    } else {
        "PRAGMA integrity_check"
    };
    let lines: Result<Vec<String>, _> = db
        .prepare(pragma)
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect());
    let detail = match lines {
        Ok(l) if l.len() == 1 && l[0] == "ok" => return None,
        Ok(l) => l.join("; "),
        Err(e) => e.to_string(),
    };
    Some(Problem {
        area: "database",
        object: "db.sqlite".into(),
        detail: format!("damaged: {detail}"),
        fix: Fix::None,
    })
}

fn read_records(tx: &Transaction<'_>) -> Result<Records, Error> {
    let images = tx
        .prepare("SELECT id, manifest_digest, config, layers FROM images")
        .and_then(|mut st| {
            st.query_map([], |r| {
                Ok(ImageRow {
                    id: r.get(0)?,
                    manifest: r.get(1)?,
                    config: r.get(2)?,
                    layers: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(Error::ListImages)?;
    let mut names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let pairs = tx
        .prepare("SELECT image_id, name FROM names ORDER BY name")
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(Error::ListImages)?;
    for (id, name) in pairs {
        names.entry(id).or_default().push(name);
    }
    let layers = tx
        .prepare("SELECT diff_id, blob FROM layers")
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<BTreeMap<_, _>>>()
        })
        .map_err(Error::FindLayers)?;
    let containers = tx
        .prepare("SELECT id, name, image_id FROM containers")
        .and_then(|mut st| {
            st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
                .collect::<rusqlite::Result<BTreeMap<_, _>>>()
        })
        .map_err(Error::ListContainers)?;
    let volumes = tx
        .prepare("SELECT name FROM volumes")
        .and_then(|mut st| {
            st.query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<BTreeSet<_>>>()
        })
        .map_err(Error::ListContainers)?;
    Ok(Records {
        images,
        names,
        layers,
        containers,
        volumes,
    })
}

/// The names in directory `dir` (none when it is missing).
fn list(dir: &Path) -> Result<BTreeSet<String>, Error> {
    Ok(super::debris::entries(dir)?
        .into_iter()
        .map(|(name, _)| name)
        .collect())
}

/// The hex sha256 of the file at `path`.
fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// The first 12 hex digits of an id or digest.
fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}
