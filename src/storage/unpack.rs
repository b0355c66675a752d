//! Unpacking one layer archive into a directory: decompression, the
//! diff_id check, and turning tar entries into `entry::Kind`s.
//!
//! The tar crate only parses (headers, GNU long names, PAX records); it
//! never touches the filesystem here. `entry::LayerDir` creates everything
//! beneath the layer's directory fd.

use std::cell::Cell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::BorrowedFd;
use std::path::PathBuf;

use nix::sys::time::TimeSpec;
use sha2::Digest as _;
use tar::EntryType;

use super::entry::{CopyRules, EntryError, Kind, LayerDir, Meta};
use super::{tarpath, Compression, Digest};

/// Sets the expansion threshold in bytes: a layer that expands beyond it at
/// a compression ratio above `MAX_RATIO` is refused.
pub const ENV_LAYER_MAX_EXPANSION: &str = "HUTCH_LAYER_MAX_EXPANSION";
/// The default expansion threshold: 1 GiB.
pub const DEFAULT_EXPANSION_THRESHOLD: u64 = 1 << 30;
/// The compression ratio above which a big layer is a bomb. Real layers
/// compress text and binaries at well under 20:1.
pub const MAX_RATIO: u64 = 100;
/// The most any one layer may expand to, whatever its ratio: 256 GiB.
pub const HARD_CAP: u64 = 256 << 30;
/// The most header bytes (GNU long names, PAX records, sparse maps) one
/// entry may carry. The tar crate buffers them whole; GNU tar and Go's
/// archive/tar cap PAX records near 1 MiB.
pub const MAX_HEADER_BYTES: u64 = 2 << 20;
/// The most entries one layer may hold.
pub const MAX_ENTRIES: u64 = 4 << 20;
/// The longest entry or link name accepted (Linux's `PATH_MAX`).
pub const MAX_NAME_LEN: usize = 4096;
/// The most bytes of directory names one layer may hold: directory
/// metadata is applied at the end, so their names are kept in memory.
pub const MAX_DIR_NAME_BYTES: u64 = 64 << 20;
/// The most bytes of skipped entries' names one layer remembers (for the
/// report, and to skip hard links to them); past it they are still
/// skipped, only no longer named.
pub const MAX_SKIPPED_NAME_BYTES: u64 = 1 << 20;

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
    #[error("expands to more than {limit} bytes (ratio over {ratio}:1)")]
    Expands { limit: u64, ratio: u64 },
    #[error("tar headers of one entry exceed {limit} bytes")]
    HeaderTooLarge { limit: u64 },
    #[error("more than {limit} entries")]
    TooManyEntries { limit: u64 },
    #[error("entry name longer than {limit} bytes")]
    NameTooLong { limit: usize },
    #[error("directory names exceed {limit} bytes")]
    TooManyDirNames { limit: u64 },
}

/// How to unpack.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Give each entry the tar's uid and gid; needs root in a user
    /// namespace that maps them. Without it everything belongs to the caller.
    pub preserve_owner: bool,
}

/// How far a compressed layer may expand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expansion {
    /// Beyond this many bytes a layer must not exceed `MAX_RATIO`.
    pub threshold: u64,
}

impl Default for Expansion {
    fn default() -> Expansion {
        Expansion {
            threshold: DEFAULT_EXPANSION_THRESHOLD,
        }
    }
}

impl Expansion {
    /// Reads `ENV_LAYER_MAX_EXPANSION` from `value` (the variable's value, if
    /// set); an unparsable value keeps the default.
    pub fn from_env_value(value: Option<&str>) -> Expansion {
        value
            .and_then(|v| v.trim().parse().ok())
            .map_or_else(Expansion::default, |threshold| Expansion { threshold })
    }

    /// The most bytes a blob of `compressed` bytes may expand to: refused
    /// when over the threshold and over `MAX_RATIO`, or over `HARD_CAP`.
    pub fn limit_for(self, compressed: u64) -> u64 {
        self.threshold
            .max(compressed.saturating_mul(MAX_RATIO))
            .min(HARD_CAP)
    }
}

/// What unpacking left out on purpose, and how big the layer was.
#[derive(Debug, Default)]
pub struct Report {
    /// (entry, xattr name) pairs skipped: `trusted.*` and `security.selinux`
    /// cannot be set (or mean nothing) in a user namespace.
    pub skipped_xattrs: Vec<(String, String)>,
    /// Entries skipped because an unprivileged user cannot make them:
    /// device nodes (mknod(2) needs `CAP_MKNOD` in the initial user
    /// namespace), FIFOs the filesystem refuses, and hard links to either.
    /// Named until `MAX_SKIPPED_NAME_BYTES`; `skipped_nodes` counts all.
    pub skipped_names: Vec<String>,
    /// How many entries were skipped for that reason.
    pub skipped_nodes: u64,
    /// The bytes of the uncompressed tar stream, trailing padding included
    /// (what Podman records as a layer's uncompressed size); set by
    /// `unpack_blob` only.
    pub tar_size: u64,
    /// The layer's `./` entry, if it has one (see `rootentry`).
    pub root: Option<super::RootEntry>,
}

/// A reader that hashes and counts everything read through it and fails
/// once more than `limit` bytes came out.
struct Hashing<R> {
    inner: R,
    hasher: sha2::Sha256,
    count: u64,
    limit: u64,
    is_over: bool,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        if self.count > self.limit {
            self.is_over = true;
            return Err(io::Error::other("expansion limit reached"));
        }
        Ok(n)
    }
}

/// Counts the bytes the tar crate reads while it parses headers, so that a
/// huge long name or PAX record fails before it is buffered whole.
#[derive(Default)]
struct HeaderMeter {
    is_parsing: Cell<bool>,
    used: Cell<u64>,
    is_over: Cell<bool>,
}

struct Metered<'m, R> {
    inner: R,
    meter: &'m HeaderMeter,
}

impl<R: Read> Read for Metered<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.meter.is_parsing.get() {
            return self.inner.read(buf);
        }
        let left = MAX_HEADER_BYTES.saturating_sub(self.meter.used.get());
        if left == 0 {
            self.meter.is_over.set(true);
            return Err(io::Error::other("header limit reached"));
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.meter.used.set(self.meter.used.get() + n as u64);
        Ok(n)
    }
}

/// Unpacks the layer blob `blob` into the directory `dest`, checking that
/// the uncompressed stream hashes to `diff_id` and expands no further than
/// `expansion` allows.
pub fn unpack_blob(
    blob: File,
    compression: Compression,
    diff_id: &Digest,
    dest: BorrowedFd<'_>,
    opts: Options,
    expansion: Expansion,
) -> Result<Report, Error> {
    let compressed = blob.metadata().map(|m| m.len()).unwrap_or(0);
    let limit = expansion.limit_for(compressed);
    let bomb = Error::Expands {
        limit,
        ratio: limit / compressed.max(1),
    };
    let reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(BufReader::with_capacity(1 << 16, blob)),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            blob,
        ))),
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(blob).map_err(Error::Decompress)?;
            // zstd's own default, stated: a frame asking for a window
            // beyond 128 MiB is refused rather than allocated.
            d.window_log_max(27).map_err(Error::Decompress)?;
            Box::new(d)
        }
    };
    let mut hashing = Hashing {
        inner: reader,
        hasher: sha2::Sha256::new(),
        count: 0,
        limit,
        is_over: false,
    };
    let result = unpack_entries(&mut hashing, dest, opts, limit);
    if hashing.is_over {
        return Err(bomb);
    }
    let mut report = match result {
        Err(Error::Expands { .. }) => return Err(bomb),
        other => other?,
    };
    // The diff_id covers the whole tar, end-of-archive blocks and any
    // trailing padding included.
    let drained = io::copy(&mut hashing, &mut io::sink());
    if hashing.is_over {
        return Err(bomb);
    }
    drained.map_err(Error::ReadArchive)?;
    report.tar_size = hashing.count;
    let actual = Digest::from_sha256(hashing.hasher.finalize().as_slice());
    if &actual != diff_id {
        return Err(Error::DiffIdMismatch {
            expected: diff_id.clone(),
            actual,
        });
    }
    Ok(report)
}

/// Unpacks the tar stream `reader` into the directory `dest`; its files may
/// hold at most `HARD_CAP` bytes in all.
#[cfg(test)]
pub fn unpack_tar<R: Read>(
    reader: R,
    dest: BorrowedFd<'_>,
    opts: Options,
) -> Result<Report, Error> {
    unpack_entries(reader, dest, opts, HARD_CAP)
}

/// Unpacks the tar stream `reader` into the directory `dest` as a copy
/// (`cp`, `volume import`) with `rules`; its files may hold at most
/// `HARD_CAP` bytes in all.
pub fn unpack_copy<R: Read>(
    reader: R,
    dest: BorrowedFd<'_>,
    rules: CopyRules,
) -> Result<Report, Error> {
    unpack_into(reader, LayerDir::for_copy(dest, rules), HARD_CAP)
}

/// Unpacks the tar stream `reader` into `dest`, refusing once its files'
/// sizes (sparse files at their full size) add up to more than `limit`.
fn unpack_entries<R: Read>(
    reader: R,
    dest: BorrowedFd<'_>,
    opts: Options,
    limit: u64,
) -> Result<Report, Error> {
    unpack_into(reader, LayerDir::new(dest, opts.preserve_owner), limit)
}

/// Unpacks the tar stream `reader` into `layer` (see `unpack_entries`).
fn unpack_into<R: Read>(reader: R, mut layer: LayerDir<'_>, limit: u64) -> Result<Report, Error> {
    let meter = HeaderMeter::default();
    let mut archive = tar::Archive::new(Metered {
        inner: reader,
        meter: &meter,
    });
    let mut report = Report::default();
    let mut totals = Totals::default();
    let mut entries = archive.entries().map_err(Error::ReadArchive)?;
    loop {
        meter.used.set(0);
        meter.is_parsing.set(true);
        let next = entries.next();
        meter.is_parsing.set(false);
        let Some(entry) = next else { break };
        let mut entry = entry.map_err(|e| {
            if meter.is_over.get() {
                Error::HeaderTooLarge {
                    limit: MAX_HEADER_BYTES,
                }
            } else {
                Error::ReadArchive(e)
            }
        })?;
        unpack_entry(&mut entry, &mut layer, &mut report, &mut totals, limit)?;
        // Whatever the entry did not use (data on a directory, say) is read
        // here rather than inside the next header's metered parse.
        io::copy(&mut entry, &mut io::sink()).map_err(Error::ReadArchive)?;
    }
    layer.finish().map_err(|(path, source)| Error::Entry {
        entry: path.display().to_string(),
        source,
    })?;
    Ok(report)
}

/// Running counts checked against the layer limits, and the entries
/// skipped so far.
#[derive(Default)]
struct Totals {
    entries: u64,
    file_bytes: u64,
    dir_name_bytes: u64,
    /// Normalised paths of skipped entries, so that hard links to them are
    /// skipped too (at most `MAX_SKIPPED_NAME_BYTES` of names).
    skipped: HashSet<PathBuf>,
    skipped_name_bytes: u64,
}

impl Totals {
    /// Notes that the entry `name` (normalised: `path`) was skipped.
    fn skip(&mut self, report: &mut Report, name: &str, path: PathBuf) {
        report.skipped_nodes += 1;
        let cost = name.len() as u64 + path.as_os_str().len() as u64;
        if self.skipped_name_bytes + cost <= MAX_SKIPPED_NAME_BYTES {
            self.skipped_name_bytes += cost;
            report.skipped_names.push(name.to_string());
            self.skipped.insert(path);
        }
    }
}

/// Whether creating a FIFO failed because this filesystem or namespace
/// does not allow one, rather than because of the layer.
fn is_fifo_refused(e: &EntryError) -> bool {
    matches!(e, EntryError::Create { source, .. }
        if matches!(source.raw_os_error(), Some(libc::EPERM | libc::EOPNOTSUPP)))
}

/// Checks and creates one entry.
fn unpack_entry<R: Read>(
    entry: &mut tar::Entry<'_, R>,
    layer: &mut LayerDir<'_>,
    report: &mut Report,
    totals: &mut Totals,
    limit: u64,
) -> Result<(), Error> {
    totals.entries += 1;
    if totals.entries > MAX_ENTRIES {
        return Err(Error::TooManyEntries { limit: MAX_ENTRIES });
    }
    let raw = entry.path_bytes().into_owned();
    let link = entry.link_name_bytes().map(|l| l.into_owned());
    if raw.len() > MAX_NAME_LEN || link.as_ref().is_some_and(|l| l.len() > MAX_NAME_LEN) {
        return Err(Error::NameTooLong {
            limit: MAX_NAME_LEN,
        });
    }
    let header_type = entry.header().entry_type();
    if header_type == EntryType::XGlobalHeader {
        // Global PAX records (git archive writes a commit id there) carry
        // nothing a layer needs.
        return Ok(());
    }
    let name = String::from_utf8_lossy(&raw).into_owned();
    let wrap = |source| Error::Entry {
        entry: name.clone(),
        source,
    };
    let Some(path) = tarpath::normalize(&raw).map_err(|e| wrap(e.into()))? else {
        // The layer root itself: the layer's directory keeps the store's
        // attributes; the entry's are reported, for the upper directory of
        // containers, which gives the merged root its own. One whose
        // header makes no sense is ignored, as every root entry was before.
        if header_type == EntryType::Directory {
            if let Ok(meta) = read_meta(entry, &name, report) {
                report.root = Some(super::RootEntry::from_meta(&meta));
            }
        }
        return Ok(());
    };
    let meta = read_meta(entry, &name, report).map_err(wrap)?;
    let kind = match header_type {
        EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
            totals.file_bytes = totals.file_bytes.saturating_add(entry.size());
            if totals.file_bytes > limit {
                return Err(Error::Expands { limit, ratio: 1 });
            }
            Kind::File(entry)
        }
        EntryType::Directory => {
            totals.dir_name_bytes += raw.len() as u64;
            if totals.dir_name_bytes > MAX_DIR_NAME_BYTES {
                return Err(Error::TooManyDirNames {
                    limit: MAX_DIR_NAME_BYTES,
                });
            }
            Kind::Dir
        }
        EntryType::Symlink => {
            Kind::Symlink(link.ok_or_else(|| wrap(EntryError::MissingLinkTarget))?)
        }
        EntryType::Link => {
            let target = link.ok_or_else(|| wrap(EntryError::MissingLinkTarget))?;
            let target = tarpath::normalize_link_target(&target)
                .map_err(|e| wrap(e.into()))?
                .ok_or_else(|| wrap(EntryError::MissingLinkTarget))?;
            if totals.skipped.contains(&target) {
                totals.skip(report, &name, path);
                return Ok(());
            }
            Kind::HardLink(target)
        }
        EntryType::Fifo => Kind::Fifo,
        // A user namespace cannot make device nodes, and a container gets
        // a fresh /dev anyway: skipped, as Podman does rootless (its
        // pkg/archive skips them when running in a user namespace).
        EntryType::Char | EntryType::Block => {
            totals.skip(report, &name, path);
            return Ok(());
        }
        other => {
            return Err(wrap(EntryError::UnsupportedType(char::from(
                other.as_byte(),
            ))))
        }
    };
    let is_fifo = matches!(kind, Kind::Fifo);
    match layer.create(&path, kind, &meta) {
        Err(e) if is_fifo && is_fifo_refused(&e) => {
            totals.skip(report, &name, path);
            Ok(())
        }
        Err(e) => Err(wrap(e)),
        Ok(()) => {
            // Something real replaced a skipped entry of the same name.
            if !totals.skipped.is_empty() {
                totals.skipped.remove(&path);
            }
            Ok(())
        }
    }
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

#[cfg(test)]
#[path = "unpack_fuzz.rs"]
mod fuzz;

#[cfg(test)]
#[path = "unpack_tests.rs"]
mod tests;
