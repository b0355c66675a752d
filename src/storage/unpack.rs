//! Unpacking one layer archive into a directory: decompression, the
//! diff_id check, and turning tar entries into `entry::Kind`s.
//!
//! The tar crate only parses (headers, GNU long names, PAX records); it
//! never touches the filesystem here. `entry::LayerDir` creates everything
//! beneath the layer's directory fd.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::BorrowedFd;

use nix::sys::time::TimeSpec;
use sha2::Digest as _;
use tar::EntryType;

use super::entry::{EntryError, Kind, LayerDir, Meta};
use super::{tarpath, Compression, Digest};

/// Why a layer archive could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("starting decompression")]
    Decompress(#[source] io::Error),
    #[error("reading the archive")]
    ReadArchive(#[source] io::Error),
    #[error("entry {entry:?}")]
    Entry {
        entry: String,
        #[source]
        source: EntryError,
    },
    #[error("uncompressed digest mismatch: expected {expected}, got {actual}")]
    DiffIdMismatch { expected: Digest, actual: Digest },
}

/// How to unpack.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Give each entry the tar's uid and gid; needs root in a user
    /// namespace that maps them. Without it everything belongs to the caller.
    pub preserve_owner: bool,
}

/// What unpacking left out on purpose.
#[derive(Debug, Default)]
pub struct Report {
    /// (entry, xattr name) pairs skipped: `trusted.*` and `security.selinux`
    /// cannot be set (or mean nothing) in a user namespace.
    pub skipped_xattrs: Vec<(String, String)>,
}

/// A reader that hashes everything read through it.
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Unpacks the layer blob `blob` into the directory `dest`, checking that
/// the uncompressed stream hashes to `diff_id`.
pub fn unpack_blob(
    blob: File,
    compression: Compression,
    diff_id: &Digest,
    dest: BorrowedFd<'_>,
    opts: Options,
) -> Result<Report, Error> {
    let reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(1 << 16, blob)),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            blob,
        ))),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(blob).map_err(Error::Decompress)?)
        }
    };
    let mut hashing = Hashing {
        inner: reader,
        hasher: sha2::Sha256::new(),
    };
    let report = unpack_tar(&mut hashing, dest, opts)?;
    // The diff_id covers the whole tar, end-of-archive blocks and any
    // trailing padding included.
    io::copy(&mut hashing, &mut io::sink()).map_err(Error::ReadArchive)?;
    let actual = Digest::from_sha256(hashing.hasher.finalize().as_slice());
    if &actual != diff_id {
        return Err(Error::DiffIdMismatch {
            expected: diff_id.clone(),
            actual,
        });
    }
    Ok(report)
}

/// Unpacks the tar stream `reader` into the directory `dest`.
pub fn unpack_tar<R: Read>(
    reader: R,
    dest: BorrowedFd<'_>,
    opts: Options,
) -> Result<Report, Error> {
    let mut archive = tar::Archive::new(reader);
    let mut layer = LayerDir::new(dest, opts.preserve_owner);
    let mut report = Report::default();
    for entry in archive.entries().map_err(Error::ReadArchive)? {
        let mut entry = entry.map_err(Error::ReadArchive)?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let wrap = |source| Error::Entry {
            entry: name.clone(),
            source,
        };
        let Some(path) = tarpath::normalize(&raw).map_err(|e| wrap(e.into()))? else {
            // The layer root itself: its metadata comes from the container's
            // upper directory, not from layers.
            continue;
        };
        let meta = read_meta(&mut entry, &name, &mut report).map_err(wrap)?;
        let header_type = entry.header().entry_type();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        let kind = match header_type {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                Kind::File(&mut entry)
            }
            EntryType::Directory => Kind::Dir,
            EntryType::Symlink => {
                Kind::Symlink(link.ok_or_else(|| wrap(EntryError::MissingLinkTarget))?)
            }
            EntryType::Link => {
                let target = link.ok_or_else(|| wrap(EntryError::MissingLinkTarget))?;
                let target = tarpath::normalize_link_target(&target)
                    .map_err(|e| wrap(e.into()))?
                    .ok_or_else(|| wrap(EntryError::MissingLinkTarget))?;
                Kind::HardLink(target)
            }
            EntryType::Fifo => Kind::Fifo,
            EntryType::Char => return Err(wrap(EntryError::DeviceNode { kind: "character" })),
            EntryType::Block => return Err(wrap(EntryError::DeviceNode { kind: "block" })),
            other => {
                return Err(wrap(EntryError::UnsupportedType(char::from(
                    other.as_byte(),
                ))))
            }
        };
        layer.create(&path, kind, &meta).map_err(wrap)?;
    }
    layer.finish().map_err(|(path, source)| Error::Entry {
        entry: path.display().to_string(),
        source,
    })?;
    Ok(report)
}

/// Collects an entry's ownership, mode, mtime and xattrs.
fn read_meta<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    name: &str,
    report: &mut Report,
) -> Result<Meta, EntryError> {
    let header = entry.header();
    let read = |r: io::Result<u64>| r.unwrap_or(0);
    let mode = header.mode().unwrap_or(0o644);
    let (uid, gid) = Meta::ids(read(header.uid()), read(header.gid()))?;
    let mut secs = read(header.mtime());
    let mut nanos = 0;
    let mut xattrs = Vec::new();
    if let Ok(Some(pax)) = entry.pax_extensions() {
        for ext in pax.flatten() {
            let key = ext.key_bytes();
            if key == b"mtime" {
                if let Some((s, n)) = ext.value().ok().and_then(parse_pax_time) {
                    secs = s;
                    nanos = n;
                }
            } else if let Some(xname) = key.strip_prefix(b"SCHILY.xattr.") {
                if xname.starts_with(b"trusted.") || xname == b"security.selinux" {
                    report.skipped_xattrs.push((
                        name.to_string(),
                        String::from_utf8_lossy(xname).into_owned(),
                    ));
                } else {
                    xattrs.push((xname.to_vec(), ext.value_bytes().to_vec()));
                }
            }
        }
    }
    Ok(Meta {
        mode,
        uid,
        gid,
        mtime: TimeSpec::new(i64::try_from(secs).unwrap_or(i64::MAX), nanos),
        xattrs,
    })
}

/// Parses a PAX time (`SECONDS[.FRACTION]`, non-negative only).
fn parse_pax_time(v: &str) -> Option<(u64, i64)> {
    let (s, frac) = v.split_once('.').unwrap_or((v, ""));
    let secs = s.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let nanos = if digits.is_empty() {
        0
    } else {
        digits.parse::<i64>().ok()? * 10_i64.pow(9 - digits.len() as u32)
    };
    Some((secs, nanos))
}
