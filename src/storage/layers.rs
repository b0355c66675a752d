//! Unpacked layers at `ROOT/layers/HEX` (HEX = the diff_id's hex), each
//! used directly as an overlay lowerdir.
//!
//! For each missing layer the parent takes the layer's lock, re-checks,
//! and creates a temp directory under `ROOT/tmp`; one child that is root
//! in the user namespace unpacks all of them (so ownership lands on the
//! mapped ids) and verifies each diff_id; the parent then renames the
//! finished directories into place and records them, in that order. A
//! layer whose content is refused (hostile paths, wrong diff_id) leaves
//! nothing behind: neither its temp directory nor its blob.
//!
//! The child tells the parent, through an unnamed temp file, each layer's
//! uncompressed size (recorded with the layer: it is what `images` shows)
//! and the entries it skipped (noted at debug level).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;
use rusqlite::params;
use serde::{Deserialize, Serialize};

use super::blobs::temp_path;
use super::remove::remove_tree;
use super::unpack::{self, Expansion, Options};
use super::{lock, ChildError, Compression, Digest, Error, LayerRef, LockGuard, Store};
use crate::sys::fs::{openat2, Resolve};
use crate::userns::{self, IdMaps};

/// Separates the fields of a child's failure report.
const FIELD_SEP: char = '\u{1f}';

/// What the child learned about one layer it unpacked.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Unpacked {
    /// The uncompressed tar's size in bytes.
    tar_size: u64,
    /// Entries left out (device nodes and the like), as named in the tar.
    skipped: Vec<String>,
    /// How many entries were left out (`skipped` may name fewer).
    skipped_count: u64,
    /// (entry, xattr) pairs that could not be set.
    skipped_xattrs: Vec<(String, String)>,
}

/// One layer the child unpacks: everything opened before the fork.
struct Job {
    blob: File,
    compression: Compression,
    diff_id: Digest,
    dir: OwnedFd,
    tmp: PathBuf,
}

impl Store {
    /// Unpacks every layer in `layers` that is not present yet, in a child
    /// process that is root in a user namespace with `maps` (so image
    /// ownership lands on the mapped ids). Verifies each diff_id, writes
    /// atomically and locks per layer. The caller must be single-threaded.
    pub fn unpack_layers(&self, layers: &[LayerRef], maps: &IdMaps) -> Result<(), Error> {
        // Sorted and deduplicated, so two processes take locks in one order.
        let wanted: BTreeMap<&Digest, &LayerRef> = layers.iter().map(|l| (&l.diff_id, l)).collect();
        let mut missing = Vec::new();
        for (diff_id, layer) in &wanted {
            if !self.is_layer_present(diff_id)? {
                missing.push(*layer);
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        // Layers recorded before their image is are not debris meanwhile.
        let _session = self.kept_session()?;
        let mut guards: Vec<LockGuard> = Vec::new();
        let mut jobs = Vec::new();
        let mut todo: Vec<&LayerRef> = Vec::new();
        for layer in missing {
            guards.push(lock::lock(
                &self.root,
                &format!("layer-{}", layer.diff_id.hex()),
            )?);
            // Another process may have finished it while we waited.
            if self.is_layer_present(&layer.diff_id)? {
                continue;
            }
            match self.prepare_job(layer) {
                Ok(job) => {
                    jobs.push(job);
                    todo.push(layer);
                }
                Err(e) => {
                    discard_empty(&jobs);
                    return Err(e);
                }
            }
        }
        if jobs.is_empty() {
            return Ok(());
        }
        let temps: Vec<PathBuf> = jobs.iter().map(|j| j.tmp.clone()).collect();
        let preserve_owner = !maps.is_single();
        let expansion = Expansion::from_env_value(
            std::env::var(unpack::ENV_LAYER_MAX_EXPANSION)
                .ok()
                .as_deref(),
        );
        let (mut notes, child_notes) = match self.notes_file() {
            Ok(pair) => pair,
            Err(e) => {
                discard_empty(&jobs);
                return Err(e);
            }
        };
        let result = userns::run_as_root(maps, CloneFlags::empty(), move || {
            unpack_all(jobs, Options { preserve_owner }, expansion, child_notes)
        });
        let learned = read_notes(&mut notes);
        // Layers before the failed one are complete: keep them.
        let (done, failure) = match result {
            Ok(()) => (todo.len(), None),
            Err(userns::Error::Child(msg)) => match parse_failure(&msg) {
                Some((index, is_corrupt, text)) if index < todo.len() => (
                    index,
                    Some(Error::Unpack {
                        layer: todo[index].diff_id.clone(),
                        is_corrupt,
                        source: ChildError(text),
                    }),
                ),
                _ => (0, Some(enter_err(userns::Error::Child(msg)))),
            },
            Err(e) => (0, Some(enter_err(e))),
        };
        let mut installed = Vec::new();
        let mut install_err = None;
        for (i, tmp) in temps.iter().enumerate() {
            if i < done && install_err.is_none() {
                let note = learned.get(i);
                match self.install(tmp, &todo[i].diff_id, maps) {
                    Ok(()) => installed.push((todo[i], note.map(|n| n.tar_size))),
                    Err(e) => install_err = Some(e),
                }
                if let Some(n) = note {
                    log_skipped(&todo[i].diff_id, n);
                }
            }
            if tmp.exists() {
                // Not unpacked, or a failed install; the child already
                // removed the temp dir of the layer that failed.
                let _ = remove_tree(tmp, maps);
            }
        }
        self.record_layers(&installed)?;
        let failure = failure.map(|e| self.on_network_fs(e));
        if let Some(Error::Unpack { layer, .. }) = &failure {
            // The blob matched its digest but its content was refused: keep
            // no hostile bytes around (a retry would refuse them again).
            // No blob lock: a concurrent user of this blob would fail the
            // same way.
            if let Some(l) = todo.iter().find(|l| &l.diff_id == layer) {
                let _ = std::fs::remove_file(self.blob_path(&l.blob));
            }
        }
        drop(guards);
        match failure.or(install_err) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Whether `diff_id` is recorded and its directory is there (a record
    /// without a directory, from an interrupted removal, counts as missing).
    pub fn is_layer_present(&self, diff_id: &Digest) -> Result<bool, Error> {
        let recorded = self
            .db()
            .prepare_cached("SELECT 1 FROM layers WHERE diff_id = ?1")
            .and_then(|mut st| st.exists([diff_id.to_string()]))
            .map_err(Error::FindLayers)?;
        Ok(recorded && self.layer_path(diff_id).is_dir())
    }

    /// Opens the blob and makes the temp directory for one layer.
    fn prepare_job(&self, layer: &LayerRef) -> Result<Job, Error> {
        let blob_path = self.blob_path(&layer.blob);
        let blob = match File::open(&blob_path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::BlobMissing {
                    digest: layer.blob.clone(),
                })
            }
            Err(source) => {
                return Err(Error::ReadBlob {
                    digest: layer.blob.clone(),
                    source,
                })
            }
        };
        let prep_err = |source| Error::PrepareUnpack {
            layer: layer.diff_id.clone(),
            source,
        };
        let tmp_dir = self.tmp_dir();
        std::fs::create_dir_all(&tmp_dir).map_err(prep_err)?;
        let tmp = temp_path(&tmp_dir, "layer", layer.diff_id.hex());
        std::fs::create_dir(&tmp).map_err(prep_err)?;
        let dir = openat2(
            nix::fcntl::AT_FDCWD,
            &tmp,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
            0,
            Resolve::NO_SYMLINKS,
        )
        .map_err(prep_err)?;
        Ok(Job {
            blob,
            compression: layer.compression,
            diff_id: layer.diff_id.clone(),
            dir,
            tmp,
        })
    }

    /// Renames a finished temp directory to `ROOT/layers/HEX`. A stale
    /// unrecorded directory there (from an interrupted run) is moved aside
    /// (to trash beside it) and removed.
    fn install(&self, tmp: &Path, diff_id: &Digest, maps: &IdMaps) -> Result<(), Error> {
        let dest = self.layer_path(diff_id);
        let err = |source| Error::InstallLayer {
            layer: diff_id.clone(),
            source,
        };
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        match std::fs::rename(tmp, &dest) {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTEMPTY | libc::EEXIST)) => {
                let layers = self.root.join("layers");
                let stale = self.move_aside(&layers, diff_id.hex())?;
                std::fs::rename(tmp, &dest).map_err(err)?;
                match stale {
                    Some(stale) => remove_tree(&stale, maps),
                    None => Ok(()),
                }
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Records installed layers, each with its uncompressed size when the
    /// child reported one, in one transaction.
    fn record_layers(&self, layers: &[(&LayerRef, Option<u64>)]) -> Result<(), Error> {
        if layers.is_empty() {
            return Ok(());
        }
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(Error::RecordLayers)?;
        for (l, tar_size) in layers {
            tx.execute(
                "INSERT OR REPLACE INTO layers (diff_id, blob, size, unpacked_size)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    l.diff_id.to_string(),
                    l.blob.to_string(),
                    l.size as i64,
                    tar_size.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
                ],
            )
            .map_err(Error::RecordLayers)?;
        }
        tx.commit().map_err(Error::RecordLayers)
    }

    /// `failure`, wrapped to say so when the store is on a network
    /// filesystem: there a refused operation (chown, mknod, an xattr)
    /// comes from the server, not from the layer, whose blob is kept.
    fn on_network_fs(&self, failure: Error) -> Error {
        let is_refusal = matches!(
            failure,
            Error::Unpack {
                is_corrupt: false,
                ..
            }
        );
        match super::fstype::filesystem_of(&self.root) {
            Ok(fs) if is_refusal && fs.kind.is_network => Error::UnpackOnNetworkFs {
                root: self.root.clone(),
                fs: fs.kind.name,
                source: Box::new(failure),
            },
            _ => failure,
        }
    }

    /// An unnamed temp file the child writes its notes to, and the
    /// child's own handle on it (the parent's is dropped in the parent).
    fn notes_file(&self) -> Result<(File, File), Error> {
        let file = self.temp_file()?;
        let child = file.try_clone().map_err(|source| Error::CreateTemp {
            path: self.tmp_dir(),
            source,
        })?;
        Ok((file, child))
    }
}

/// The child's notes, one per layer it finished, in order; unreadable
/// notes count as none (they only inform).
fn read_notes(file: &mut File) -> Vec<Unpacked> {
    if file.seek(SeekFrom::Start(0)).is_err() {
        return Vec::new();
    }
    BufReader::new(file)
        .lines()
        .map_while(|l| l.ok().and_then(|l| serde_json::from_str(&l).ok()))
        .collect()
}

/// Notes at debug level what unpacking `diff_id` left out.
fn log_skipped(diff_id: &Digest, n: &Unpacked) {
    if n.skipped_count > 0 {
        log::debug!(
            "layer {diff_id}: skipped {} entries an unprivileged user cannot create (device nodes): {}{}",
            n.skipped_count,
            n.skipped.join(", "),
            if (n.skipped.len() as u64) < n.skipped_count { ", ..." } else { "" }
        );
    }
    for (entry, name) in &n.skipped_xattrs {
        log::debug!("layer {diff_id}: entry {entry:?}: skipped xattr {name}");
    }
}

fn enter_err(source: userns::Error) -> Error {
    Error::EnterUserns {
        step: "unpacking layers in the user namespace",
        source,
    }
}

/// Removes the (still empty) temp directories of jobs that never ran.
fn discard_empty(jobs: &[Job]) {
    for j in jobs {
        let _ = std::fs::remove_dir(&j.tmp);
    }
}

/// The child's work: unpack each job in order, writing one JSON line of
/// notes per finished layer to `notes`; on the first failure remove that
/// layer's temp directory (as root here, files owned by any mapped id can
/// go) and report `INDEX, CORRUPT, MESSAGE`.
fn unpack_all(
    jobs: Vec<Job>,
    opts: Options,
    expansion: Expansion,
    mut notes: File,
) -> Result<(), String> {
    // syncfs needs a real fd, not an O_PATH one; any unpacked dir will do.
    let sync_dir = jobs.first().map(|j| j.tmp.clone());
    for (i, job) in jobs.into_iter().enumerate() {
        let res = unpack::unpack_blob(
            job.blob,
            job.compression,
            &job.diff_id,
            job.dir.as_fd(),
            opts,
            expansion,
        );
        match res {
            // A forked child must not print: the parent logs the notes.
            Ok(report) => {
                // The `./` entry is kept on the directory.
                if let Some(root) = &report.root {
                    super::rootentry::record(&job.tmp, root);
                }
                let note = Unpacked {
                    tar_size: report.tar_size,
                    skipped: report.skipped_names,
                    skipped_count: report.skipped_nodes,
                    skipped_xattrs: report.skipped_xattrs,
                };
                let mut line =
                    serde_json::to_vec(&note).expect("serializing plain structs cannot fail");
                line.push(b'\n');
                // Notes only inform: a size not recorded is computed later.
                let _ = notes.write_all(&line);
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&job.tmp);
                let is_corrupt = matches!(e, unpack::Error::DiffIdMismatch { .. });
                return Err(format!(
                    "{i}{FIELD_SEP}{}{FIELD_SEP}{}",
                    u8::from(is_corrupt),
                    crate::error::render_chain(&e)
                ));
            }
        }
    }
    // Layers must be on disk before their records: one syncfs covers all.
    if let Some(dir) = sync_dir {
        File::open(&dir)
            .and_then(|d| nix::unistd::syncfs(d.as_fd()).map_err(std::io::Error::from))
            .map_err(|e| format!("syncing unpacked layers: {e}"))?;
    }
    Ok(())
}

/// Parses the child's `INDEX, CORRUPT, MESSAGE` report.
fn parse_failure(msg: &str) -> Option<(usize, bool, String)> {
    let mut parts = msg.splitn(3, FIELD_SEP);
    let index = parts.next()?.parse().ok()?;
    let is_corrupt = parts.next()? == "1";
    Some((index, is_corrupt, parts.next()?.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reports_round_trip() {
        let msg = format!("2{FIELD_SEP}1{FIELD_SEP}entry \"a\": path escapes the layer");
        assert_eq!(
            parse_failure(&msg),
            Some((2, true, "entry \"a\": path escapes the layer".to_string()))
        );
        assert_eq!(parse_failure("id maps were not written"), None);
    }
}
