//! Adding content made locally (by `commit` and `cp`) rather than pulled:
//! anonymous temp files, blobs whose digest is learned by hashing them, and
//! unpacking a tar stream beneath an arbitrary directory fd.
//!
//! Blobs still go through `blob_writer`, so they land verified and
//! atomically like pulled ones.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::BorrowedFd;

use sha2::Digest as _;

use super::unpack;
use super::{Digest, Error, Store};
use crate::sys::fs::{openat2, Resolve};

/// Why a tar stream could not be unpacked (see `unpack_archive`).
pub use super::unpack::Error as UnpackError;

/// How a copy unpacks (see `unpack_copy`).
pub use super::entry::{CopyRules, Owner};

impl Store {
    /// An unnamed read-write file under `ROOT/tmp` (O_TMPFILE): it vanishes
    /// when closed, so an interrupted command leaves nothing behind. Where
    /// the filesystem has no unnamed files (NFS, issue #18), a named one
    /// is made and unlinked at once (see `named_temp_file`).
    pub fn temp_file(&self) -> Result<File, Error> {
        let dir = self.tmp_dir();
        let err = |source| Error::CreateTemp {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(err)?;
        match openat2(
            nix::fcntl::AT_FDCWD,
            &dir,
            libc::O_TMPFILE | libc::O_RDWR,
            0o600,
            Resolve::NO_MAGICLINKS,
        ) {
            Ok(fd) => Ok(File::from(fd)),
            Err(e) if is_tmpfile_unsupported(&e) => named_temp_file(&dir),
            Err(source) => Err(err(source)),
        }
    }

    /// Stores the whole of `file` (from its start) as a blob and returns
    /// its digest and size. The file is hashed first, then copied through
    /// `blob_writer`, which checks the digest again.
    pub fn put_blob_file(&self, file: &mut File) -> Result<(Digest, u64), Error> {
        let read_err = |source| Error::CreateTemp {
            path: self.tmp_dir(),
            source,
        };
        file.seek(SeekFrom::Start(0)).map_err(read_err)?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(read_err(e)),
            };
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        let digest = Digest::from_sha256(hasher.finalize().as_slice());
        file.seek(SeekFrom::Start(0)).map_err(read_err)?;
        // Layers are big: a present blob is taken as sound.
        self.put_blob_from(&digest, file, &|_| true)?;
        Ok((digest, size))
    }

    /// Stores `bytes` (a config or manifest) as a blob and returns its
    /// digest. A stored blob of that digest whose content differs (it was
    /// overwritten) is replaced.
    pub fn put_blob_bytes(&self, bytes: &[u8]) -> Result<Digest, Error> {
        let digest = Digest::of(bytes);
        let is_sound = |d: &Digest| self.read_blob(d).is_ok_and(|stored| stored == bytes);
        self.put_blob_from(&digest, &mut &bytes[..], &is_sound)?;
        Ok(digest)
    }

    /// Copies `reader` into blob `digest` under its lock, unless a blob
    /// `is_sound` finds in order is present.
    fn put_blob_from(
        &self,
        digest: &Digest,
        reader: &mut dyn Read,
        is_sound: &dyn Fn(&Digest) -> bool,
    ) -> Result<(), Error> {
        let _guard = self.lock_blob(digest)?;
        if self.has_blob(digest) && is_sound(digest) {
            return Ok(());
        }
        let mut w = self.blob_writer(digest)?;
        io::copy(reader, &mut w).map_err(|source| Error::WriteBlob {
            digest: digest.clone(),
            source,
        })?;
        w.flush().map_err(|source| Error::WriteBlob {
            digest: digest.clone(),
            source,
        })?;
        w.commit()
    }
}

/// Unpacks the tar stream `reader` beneath the directory `dest` as a copy
/// (`cp`, `volume import`): the layer rules for names and links, but
/// names taken literally (no whiteouts), owners and replacements as
/// `rules` say. Device nodes are skipped.
pub fn unpack_copy<R: Read>(
    reader: R,
    dest: BorrowedFd<'_>,
    rules: CopyRules,
) -> Result<(), UnpackError> {
    unpack::unpack_copy(reader, dest, rules).map(|_| ())
}

/// Whether opening with O_TMPFILE failed because the filesystem (NFS,
/// for one) or the kernel cannot make unnamed files, rather than for a
/// reason a named file would share: open(2) gives `EOPNOTSUPP` for the
/// one and `EISDIR` for a kernel that takes O_TMPFILE as O_DIRECTORY.
fn is_tmpfile_unsupported(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR))
}

/// `temp_file` without O_TMPFILE: a new file (0600) in `dir`, unlinked
/// while open. NFS keeps an open file's data after the unlink under a
/// hidden `.nfsXXXX` name that its client removes at the last close, so
/// an interrupted command leaves nothing behind here either.
fn named_temp_file(dir: &std::path::Path) -> Result<File, Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("anon-{}", super::blobs::unique()));
    let err = |source| Error::CreateTemp {
        path: path.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(err)?;
    std::fs::remove_file(&path).map_err(err)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_blob_file_stores_what_it_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut f = store.temp_file().unwrap();
        f.write_all(b"layer bytes").unwrap();
        let (d, size) = store.put_blob_file(&mut f).unwrap();
        assert_eq!(d, Digest::of(b"layer bytes"));
        assert_eq!(size, 11);
        assert_eq!(store.read_blob(&d).unwrap(), b"layer bytes");
        let again = store.put_blob_bytes(b"layer bytes").unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn a_store_on_nfs_gets_named_temp_files_unlinked_at_once() {
        // issue #18: NFS refuses O_TMPFILE with EOPNOTSUPP.
        let refused = |errno| is_tmpfile_unsupported(&io::Error::from_raw_os_error(errno));
        assert!(refused(libc::EOPNOTSUPP));
        assert!(refused(libc::EISDIR));
        assert!(!refused(libc::EACCES));
        assert!(!refused(libc::ENOSPC));
        let dir = tempfile::tempdir().unwrap();
        let mut f = named_temp_file(dir.path()).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        f.write_all(b"notes").unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut back = String::new();
        f.read_to_string(&mut back).unwrap();
        assert_eq!(back, "notes");
        let missing = named_temp_file(&dir.path().join("gone")).unwrap_err();
        assert!(
            missing.to_string().starts_with(&format!(
                "creating temporary file {}/anon-",
                dir.path().join("gone").display()
            )),
            "{missing}"
        );
    }
}
