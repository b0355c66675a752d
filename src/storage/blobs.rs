//! Verified blobs at `ROOT/blobs/sha256/HEX`.
//!
//! A blob is written to a temp file under `ROOT/tmp` while it is hashed;
//! only a blob whose digest matches is fsynced and renamed into place, so
//! everything under `ROOT/blobs` is complete and verified.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use sha2::Digest as _;

use super::debris::Session;
use super::{lock, Digest, Error, LockGuard, Store};

impl Store {
    /// Where the blob with digest `d` lives once stored.
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs").join(d.algorithm()).join(d.hex())
    }

    /// Whether the verified blob `d` is present.
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Starts writing blob `expected`: bytes go to a temp file and are
    /// hashed as they arrive; `BlobWriter::commit` verifies and renames into
    /// place. Dropping the writer without commit removes the temp file.
    /// The writer is part of a write session kept until the image the blob
    /// belongs to is recorded (see `debris`).
    pub fn blob_writer(&self, expected: &Digest) -> Result<BlobWriter, Error> {
        let session = self.kept_session()?;
        let tmp = temp_path(&self.tmp_dir(), "blob", expected.hex());
        let file = create_new(&tmp).map_err(|source| Error::CreateTemp {
            path: tmp.clone(),
            source,
        })?;
        Ok(BlobWriter {
            file: Some(BufWriter::with_capacity(1 << 16, file)),
            hasher: sha2::Sha256::new(),
            tmp,
            dest: self.blob_path(expected),
            expected: expected.clone(),
            _session: session,
        })
    }

    /// Takes an exclusive lock named after `d` (held until the guard drops),
    /// so that concurrent pulls download each blob once.
    pub fn lock_blob(&self, d: &Digest) -> Result<LockGuard, Error> {
        lock::lock(&self.root, &format!("blob-{}", d.hex()))
    }

    /// Reads a whole (small) blob: manifests and configs.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>, Error> {
        std::fs::read(self.blob_path(d)).map_err(|source| Error::ReadBlob {
            digest: d.clone(),
            source,
        })
    }
}

/// A blob being written; see `Store::blob_writer`.
pub struct BlobWriter {
    /// `None` once committed (or after commit failed and cleaned up).
    file: Option<BufWriter<File>>,
    hasher: sha2::Sha256,
    tmp: PathBuf,
    dest: PathBuf,
    expected: Digest,
    /// Keeps the write session alive while the temp file exists.
    _session: Arc<Session>,
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| std::io::Error::other("blob writer already finished"))?;
        let n = file.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

impl BlobWriter {
    /// Verifies the digest of everything written and moves the blob into
    /// place; on mismatch removes it and fails.
    pub fn commit(mut self) -> Result<(), Error> {
        let digest = self.expected.clone();
        let write_err = |source| Error::WriteBlob {
            digest: digest.clone(),
            source,
        };
        // Taking the file first means Drop removes the temp file on every
        // early return below.
        let file = self
            .file
            .take()
            .ok_or_else(|| write_err(std::io::Error::other("blob writer already finished")))?;
        let file = file.into_inner().map_err(|e| write_err(e.into_error()))?;
        let actual = Digest::from_sha256(std::mem::take(&mut self.hasher).finalize().as_slice());
        if actual != self.expected {
            return Err(Error::DigestMismatch {
                expected: self.expected.clone(),
                actual,
            });
        }
        file.sync_all().map_err(write_err)?;
        drop(file);
        let commit_err = |source| Error::CommitBlob {
            digest: digest.clone(),
            source,
        };
        let dir = self
            .dest
            .parent()
            .expect("a blob path has a parent directory");
        if let Err(e) = std::fs::rename(&self.tmp, &self.dest) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(commit_err(e));
            }
            std::fs::create_dir_all(dir).map_err(commit_err)?;
            std::fs::rename(&self.tmp, &self.dest).map_err(commit_err)?;
        }
        // The rename is durable only once the directory is synced.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(commit_err)?;
        Ok(())
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // After a successful commit the temp name is gone; otherwise the
        // partial or rejected blob goes.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

/// Creates a fresh file, creating the temp directory on first use.
fn create_new(path: &Path) -> std::io::Result<File> {
    let open = || OpenOptions::new().write(true).create_new(true).open(path);
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            open()
        }
        other => other,
    }
}

/// A name under `dir` that no other process or thread uses: kind, a
/// digest prefix (for debugging), the pid and a per-process counter.
pub(super) fn temp_path(dir: &Path, kind: &str, hex: &str) -> PathBuf {
    dir.join(format!("{kind}-{}-{}", &hex[..hex.len().min(16)], unique()))
}

/// A name part no other process or thread uses: the pid, a per-process
/// counter and the time's nanoseconds.
pub(super) fn unique() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{n}-{nanos}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Diagnose;

    fn entries(dir: &Path) -> Vec<String> {
        match std::fs::read_dir(dir) {
            Ok(rd) => rd
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    #[test]
    fn commit_stores_a_verified_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(b"hello blob");
        let mut w = store.blob_writer(&d).unwrap();
        w.write_all(b"hello ").unwrap();
        w.write_all(b"blob").unwrap();
        w.commit().unwrap();
        assert!(store.has_blob(&d));
        assert_eq!(store.read_blob(&d).unwrap(), b"hello blob");
        // The write session's marker goes with the store.
        drop(store);
        assert!(entries(&dir.path().join("tmp")).is_empty());
    }

    #[test]
    fn commit_rejects_a_mismatch_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(b"expected");
        let mut w = store.blob_writer(&d).unwrap();
        w.write_all(b"something else").unwrap();
        let err = w.commit().unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&d.to_string()), "{text}");
        assert!(
            text.contains(&Digest::of(b"something else").to_string()),
            "{text}"
        );
        assert!(err.hint().unwrap().contains("corrupt"));
        assert!(!store.has_blob(&d));
        drop(store);
        assert!(entries(&dir.path().join("tmp")).is_empty());
        assert!(entries(&dir.path().join("blobs/sha256")).is_empty());
    }

    #[test]
    fn dropping_an_uncommitted_writer_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(b"x");
        let mut w = store.blob_writer(&d).unwrap();
        w.write_all(b"x").unwrap();
        let temps = |dir: &Path| {
            entries(&dir.join("tmp"))
                .into_iter()
                .filter(|n| !n.starts_with("session-"))
                .count()
        };
        assert_eq!(temps(dir.path()), 1);
        drop(w);
        assert_eq!(temps(dir.path()), 0);
        assert!(!store.has_blob(&d));
    }

    #[test]
    fn read_blob_names_a_missing_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(b"absent");
        let err = store.read_blob(&d).unwrap_err();
        assert!(err.to_string().contains(&d.to_string()));
    }
}
