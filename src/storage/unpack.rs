//! Unpacking one layer archive into a directory: decompression, the
//! diff_id check, and turning tar entries into `entry::Kind`s.
//!
//! The tar crate only parses (headers, GNU long names, PAX records); it
//! never touches the filesystem here. `entry::LayerDir` creates everything
//! beneath the layer's directory fd.

use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::BorrowedFd;

use nix::sys::time::TimeSpec;
use sha2::Digest as _;
use tar::EntryType;

use super::entry::{EntryError, Kind, LayerDir, Meta};
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

/// What unpacking left out on purpose.
#[derive(Debug, Default)]
pub struct Report {
    /// (entry, xattr name) pairs skipped: `trusted.*` and `security.selinux`
    /// cannot be set (or mean nothing) in a user namespace.
    pub skipped_xattrs: Vec<(String, String)>,
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
    let report = match result {
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
pub fn unpack_tar<R: Read>(
    reader: R,
    dest: BorrowedFd<'_>,
    opts: Options,
) -> Result<Report, Error> {
    unpack_entries(reader, dest, opts, HARD_CAP)
}

/// Unpacks the tar stream `reader` into `dest`, refusing once its files'
/// sizes (sparse files at their full size) add up to more than `limit`.
fn unpack_entries<R: Read>(
    reader: R,
    dest: BorrowedFd<'_>,
    opts: Options,
    limit: u64,
) -> Result<Report, Error> {
    let meter = HeaderMeter::default();
    let mut archive = tar::Archive::new(Metered {
        inner: reader,
        meter: &meter,
    });
    let mut layer = LayerDir::new(dest, opts.preserve_owner);
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

/// Running counts checked against the layer limits.
#[derive(Default)]
struct Totals {
    entries: u64,
    file_bytes: u64,
    dir_name_bytes: u64,
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
        // The layer root itself: its metadata comes from the container's
        // upper directory, not from layers.
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
    layer.create(&path, kind, &meta).map_err(wrap)
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
mod tests {
    use std::fs;
    use std::io::Write;
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    use std::path::Path;

    use super::*;
    use crate::error::render_chain;
    use crate::sys::fs::{openat2, Resolve};
    use crate::sys::xattr;

    /// Builds tar archives byte by byte, so tests can write names that
    /// well-behaved builders refuse.
    #[derive(Default)]
    struct Tar {
        buf: Vec<u8>,
    }

    fn octal(field: &mut [u8], value: u64) {
        let s = format!("{:0width$o}\0", value, width = field.len() - 1);
        field.copy_from_slice(s.as_bytes());
    }

    impl Tar {
        fn raw(
            &mut self,
            name: &str,
            kind: u8,
            mode: u32,
            link: &str,
            data: &[u8],
            dev: (u64, u64),
        ) -> &mut Tar {
            let mut h = [0u8; 512];
            h[..name.len()].copy_from_slice(name.as_bytes());
            octal(&mut h[100..108], u64::from(mode));
            octal(&mut h[108..116], 0);
            octal(&mut h[116..124], 0);
            octal(&mut h[124..136], data.len() as u64);
            octal(&mut h[136..148], 1_000_000_000);
            h[156] = kind;
            h[157..157 + link.len()].copy_from_slice(link.as_bytes());
            h[257..263].copy_from_slice(b"ustar\0");
            h[263..265].copy_from_slice(b"00");
            octal(&mut h[329..337], dev.0);
            octal(&mut h[337..345], dev.1);
            h[148..156].copy_from_slice(b"        ");
            let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
            h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
            self.buf.extend_from_slice(&h);
            self.buf.extend_from_slice(data);
            let pad = (512 - data.len() % 512) % 512;
            self.buf.extend(std::iter::repeat_n(0u8, pad));
            self
        }
        fn file(&mut self, name: &str, mode: u32, data: &[u8]) -> &mut Tar {
            self.raw(name, b'0', mode, "", data, (0, 0))
        }
        fn dir(&mut self, name: &str, mode: u32) -> &mut Tar {
            self.raw(name, b'5', mode, "", b"", (0, 0))
        }
        fn symlink(&mut self, name: &str, target: &str) -> &mut Tar {
            self.raw(name, b'2', 0o777, target, b"", (0, 0))
        }
        fn hardlink(&mut self, name: &str, target: &str) -> &mut Tar {
            self.raw(name, b'1', 0o644, target, b"", (0, 0))
        }
        /// A PAX extended header for the next entry.
        fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Tar {
            let mut body = Vec::new();
            for (k, v) in records {
                let tail = format!(" {k}=").len() + v.len() + 1;
                let mut len = tail + 1;
                while len.to_string().len() + tail != len {
                    len += 1;
                }
                body.extend_from_slice(format!("{len} {k}=").as_bytes());
                body.extend_from_slice(v);
                body.push(b'\n');
            }
            self.raw("PaxHeader", b'x', 0o644, "", &body, (0, 0))
        }
        fn finish(&mut self) -> Vec<u8> {
            let mut out = std::mem::take(&mut self.buf);
            out.extend(std::iter::repeat_n(0u8, 1024));
            out
        }
    }

    /// A temp dir holding `target/` (the layer) and `victim/f` beside it.
    struct Scene {
        dir: tempfile::TempDir,
        target: OwnedFd,
    }

    impl Scene {
        fn new() -> Scene {
            let dir = tempfile::tempdir().unwrap();
            fs::create_dir(dir.path().join("target")).unwrap();
            fs::create_dir(dir.path().join("victim")).unwrap();
            fs::write(dir.path().join("victim/f"), b"precious").unwrap();
            let target = openat2(
                nix::fcntl::AT_FDCWD,
                &dir.path().join("target"),
                libc::O_PATH | libc::O_DIRECTORY,
                0,
                Resolve::NO_SYMLINKS,
            )
            .unwrap();
            Scene { dir, target }
        }
        fn path(&self, rel: &str) -> std::path::PathBuf {
            self.dir.path().join("target").join(rel)
        }
        fn unpack(&self, tar: &[u8]) -> Result<Report, Error> {
            unpack_tar(
                tar,
                self.target.as_fd(),
                Options {
                    preserve_owner: false,
                },
            )
        }
        /// Unpacking must fail with `expected` in the message, and the
        /// victim must be exactly as it was.
        fn assert_refused(&self, tar: &[u8], expected: &str) {
            let err = self.unpack(tar).expect_err("hostile archive was accepted");
            let text = render_chain(&err);
            assert!(
                text.contains(expected),
                "message {text:?} lacks {expected:?}"
            );
            self.assert_victim_untouched();
        }
        fn assert_victim_untouched(&self) {
            let victim = self.dir.path().join("victim");
            let names: Vec<_> = fs::read_dir(&victim)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, vec![std::ffi::OsString::from("f")]);
            assert_eq!(fs::read(victim.join("f")).unwrap(), b"precious");
            assert_eq!(fs::metadata(victim.join("f")).unwrap().nlink(), 1);
        }
    }

    fn is_whiteout(p: &Path) -> bool {
        let md = fs::symlink_metadata(p).unwrap();
        md.file_type().is_char_device() && md.rdev() == 0
    }

    /// Whether the temp dir's filesystem takes `user.*` xattrs.
    fn has_user_xattrs(dir: &Path) -> bool {
        let probe = dir.join("probe");
        fs::write(&probe, b"").unwrap();
        let f = fs::File::open(&probe).unwrap();
        let ok = xattr::fset(f.as_fd(), b"user.probe", b"1").is_ok();
        fs::remove_file(&probe).unwrap();
        ok
    }

    #[test]
    fn unpacks_a_normal_layer() {
        let s = Scene::new();
        let xattrs = has_user_xattrs(s.dir.path());
        let mut t = Tar::default();
        t.dir("./", 0o755)
            .dir("./bin/", 0o755)
            .file("./bin/busybox", 0o4755, b"#!busybox")
            .hardlink("./bin/sh", "bin/busybox")
            .hardlink("./bin/ls", "/bin/busybox")
            .symlink("./usr/bin/env", "../../bin/busybox")
            .raw("./run/fifo", b'6', 0o640, "", b"", (0, 0))
            .dir("./etc/", 0o555);
        if xattrs {
            t.pax(&[
                ("SCHILY.xattr.user.origin", b"test"),
                ("SCHILY.xattr.trusted.secret", b"x"),
            ]);
        }
        t.file("./etc/passwd", 0o644, b"root:x:0:0::/root:/bin/sh\n")
            .file("./opt/.wh.gone", 0o644, b"")
            .dir("./var/", 0o755)
            .file("./var/.wh..wh..opq", 0o644, b"")
            .pax(&[("mtime", b"1234567890.5")])
            .file("./var/late", 0o600, b"");
        let report = s.unpack(&t.finish()).unwrap();

        let bb = fs::symlink_metadata(s.path("bin/busybox")).unwrap();
        assert_eq!(bb.mode() & 0o7777, 0o4755);
        assert_eq!(bb.mtime(), 1_000_000_000);
        assert_eq!(bb.nlink(), 3);
        assert_eq!(fs::metadata(s.path("bin/sh")).unwrap().ino(), bb.ino());
        assert_eq!(fs::metadata(s.path("bin/ls")).unwrap().ino(), bb.ino());
        assert_eq!(
            fs::read_link(s.path("usr/bin/env")).unwrap(),
            Path::new("../../bin/busybox")
        );
        assert_eq!(
            fs::symlink_metadata(s.path("usr/bin")).unwrap().mode() & 0o777,
            0o755
        );
        let fifo = fs::symlink_metadata(s.path("run/fifo")).unwrap();
        assert!(fifo.file_type().is_fifo());
        assert_eq!(fifo.mode() & 0o777, 0o640);
        let etc = fs::symlink_metadata(s.path("etc")).unwrap();
        assert_eq!(etc.mode() & 0o7777, 0o555);
        assert_eq!(etc.mtime(), 1_000_000_000);
        assert_eq!(
            fs::read(s.path("etc/passwd")).unwrap(),
            b"root:x:0:0::/root:/bin/sh\n"
        );
        assert!(is_whiteout(&s.path("opt/gone")));
        assert!(!s.path("opt/.wh.gone").exists());
        assert!(!s.path("var/.wh..wh..opq").exists());
        let late = fs::symlink_metadata(s.path("var/late")).unwrap();
        assert_eq!(
            (late.mtime(), late.mtime_nsec()),
            (1_234_567_890, 500_000_000)
        );
        if xattrs {
            assert_eq!(
                xattr::lget(&s.path("etc/passwd"), b"user.origin").unwrap(),
                Some(b"test".to_vec())
            );
            assert_eq!(
                report.skipped_xattrs,
                vec![("./etc/passwd".to_string(), "trusted.secret".to_string())]
            );
            assert_eq!(
                xattr::lget(&s.path("var"), b"user.overlay.opaque").unwrap(),
                Some(b"y".to_vec())
            );
        }
        s.assert_victim_untouched();
    }

    #[test]
    fn later_entries_replace_earlier_ones_without_following_links() {
        let s = Scene::new();
        let tar = Tar::default()
            .symlink("evil", "../victim/f")
            .file("evil", 0o644, b"mine")
            .symlink("d", "../victim")
            .dir("d/", 0o755)
            .file("d/f", 0o644, b"inside")
            .file("same", 0o644, b"one")
            .file("same", 0o600, b"two")
            .finish();
        s.unpack(&tar).unwrap();
        assert_eq!(fs::read(s.path("evil")).unwrap(), b"mine");
        assert!(fs::symlink_metadata(s.path("d")).unwrap().is_dir());
        assert_eq!(fs::read(s.path("d/f")).unwrap(), b"inside");
        assert_eq!(fs::read(s.path("same")).unwrap(), b"two");
        s.assert_victim_untouched();
    }

    #[test]
    fn refuses_a_name_that_climbs_out() {
        let s = Scene::new();
        let tar = Tar::default()
            .file("../../victim/x", 0o644, b"evil")
            .finish();
        s.assert_refused(&tar, "entry \"../../victim/x\": path escapes the layer");
        let tar = Tar::default()
            .file("a/../../victim/f", 0o644, b"evil")
            .finish();
        s.assert_refused(&tar, "entry \"a/../../victim/f\": path escapes the layer");
    }

    #[test]
    fn refuses_an_absolute_name() {
        let s = Scene::new();
        let victim = s.dir.path().join("victim/x");
        let tar = Tar::default()
            .file(victim.to_str().unwrap(), 0o644, b"evil")
            .finish();
        s.assert_refused(&tar, "absolute path");
        let tar = Tar::default().file("/abs/x", 0o644, b"evil").finish();
        s.assert_refused(&tar, "entry \"/abs/x\": absolute path");
    }

    #[test]
    fn refuses_writing_through_a_symlink_that_points_outside() {
        let s = Scene::new();
        let tar = Tar::default()
            .symlink("link", "../victim")
            .file("link/x", 0o644, b"evil")
            .finish();
        s.assert_refused(&tar, "entry \"link/x\": path escapes the layer");

        let s = Scene::new();
        let abs = s.dir.path().join("victim");
        let tar = Tar::default()
            .symlink("abs", abs.to_str().unwrap())
            .file("abs/f", 0o644, b"evil")
            .finish();
        s.assert_refused(&tar, "entry \"abs/f\": path escapes the layer");

        let s = Scene::new();
        let tar = Tar::default()
            .symlink("link", "../victim")
            .file("link/sub/x", 0o644, b"evil")
            .finish();
        s.assert_refused(&tar, "entry \"link/sub/x\": path escapes the layer");
    }

    #[test]
    fn refuses_hard_links_out_of_the_layer() {
        let s = Scene::new();
        let tar = Tar::default().hardlink("h", "../../victim/f").finish();
        s.assert_refused(&tar, "entry \"h\": path escapes the layer");

        let s = Scene::new();
        let tar = Tar::default()
            .symlink("link", "../victim")
            .hardlink("h", "link/f")
            .finish();
        s.assert_refused(
            &tar,
            "entry \"h\": hard link target \"link/f\" passes through a symlink",
        );
    }

    #[test]
    fn refuses_device_nodes() {
        let s = Scene::new();
        let tar = Tar::default()
            .raw("dev/null", b'3', 0o666, "", b"", (1, 3))
            .finish();
        s.assert_refused(
            &tar,
            "entry \"dev/null\": character device nodes are not allowed",
        );
        let tar = Tar::default()
            .raw("dev/sda", b'4', 0o660, "", b"", (8, 0))
            .finish();
        s.assert_refused(
            &tar,
            "entry \"dev/sda\": block device nodes are not allowed",
        );
        assert!(!s.path("dev/null").exists());
    }

    #[test]
    fn unpack_blob_checks_the_diff_id_of_each_compression() {
        let tar = Tar::default().file("hello", 0o644, b"hi").finish();
        let diff_id = Digest::of(&tar);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).unwrap();
        let blobs = [
            (Compression::None, tar.clone()),
            (Compression::Gzip, gz.finish().unwrap()),
            (Compression::Zstd, zstd::encode_all(&tar[..], 3).unwrap()),
        ];
        for (compression, bytes) in blobs {
            let s = Scene::new();
            let path = s.dir.path().join("blob");
            fs::write(&path, &bytes).unwrap();
            let open = || fs::File::open(&path).unwrap();
            let opts = Options {
                preserve_owner: false,
            };
            unpack_blob(
                open(),
                compression,
                &diff_id,
                s.target.as_fd(),
                opts,
                Expansion::default(),
            )
            .unwrap();
            assert_eq!(fs::read(s.path("hello")).unwrap(), b"hi");

            let wrong = Digest::of(b"not this");
            let err = unpack_blob(
                open(),
                compression,
                &wrong,
                s.target.as_fd(),
                opts,
                Expansion::default(),
            )
            .unwrap_err();
            assert!(
                matches!(&err, Error::DiffIdMismatch { expected, actual }
                    if *expected == wrong && *actual == diff_id),
                "{compression:?}: {err}"
            );
        }
    }

    fn compress(compression: Compression, tar: &[u8]) -> Vec<u8> {
        match compression {
            Compression::None => tar.to_vec(),
            Compression::Gzip => {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(tar).unwrap();
                gz.finish().unwrap()
            }
            Compression::Zstd => zstd::encode_all(tar, 3).unwrap(),
        }
    }

    #[test]
    fn refuses_a_decompression_bomb_of_each_compression() {
        // 8 MiB of zeros: gzip and zstd shrink it far beyond 100:1.
        let tar = Tar::default()
            .file("zeros", 0o644, &vec![0u8; 8 << 20])
            .finish();
        let diff_id = Digest::of(&tar);
        let small = Expansion { threshold: 1 << 20 };
        let opts = Options {
            preserve_owner: false,
        };
        for compression in [Compression::Gzip, Compression::Zstd] {
            let bytes = compress(compression, &tar);
            let s = Scene::new();
            let path = s.dir.path().join("blob");
            fs::write(&path, &bytes).unwrap();
            let open = || fs::File::open(&path).unwrap();
            let err = unpack_blob(open(), compression, &diff_id, s.target.as_fd(), opts, small)
                .unwrap_err();
            let limit = small.limit_for(bytes.len() as u64);
            assert_eq!(
                render_chain(&err),
                format!(
                    "expands to more than {limit} bytes (ratio over {}:1)",
                    limit / bytes.len() as u64
                ),
                "{compression:?}"
            );
            assert!(limit < 8 << 20, "{compression:?}: limit {limit}");
            s.assert_victim_untouched();
            // The same blob is fine under the default threshold.
            let s = Scene::new();
            unpack_blob(
                open(),
                compression,
                &diff_id,
                s.target.as_fd(),
                opts,
                Expansion::default(),
            )
            .unwrap();
            assert_eq!(fs::metadata(s.path("zeros")).unwrap().len(), 8 << 20);
        }
    }

    #[test]
    fn an_uncompressed_layer_is_never_a_bomb() {
        let tar = Tar::default()
            .file("zeros", 0o644, &vec![0u8; 3 << 20])
            .finish();
        let s = Scene::new();
        let path = s.dir.path().join("blob");
        fs::write(&path, &tar).unwrap();
        let small = Expansion { threshold: 1 << 20 };
        let opts = Options {
            preserve_owner: false,
        };
        let blob = fs::File::open(&path).unwrap();
        unpack_blob(
            blob,
            Compression::None,
            &Digest::of(&tar),
            s.target.as_fd(),
            opts,
            small,
        )
        .unwrap();
    }

    #[test]
    fn expansion_limit_combines_threshold_ratio_and_cap() {
        let e = Expansion::default();
        assert_eq!(e.limit_for(1000), DEFAULT_EXPANSION_THRESHOLD);
        assert_eq!(e.limit_for(100 << 20), 100 * (100 << 20));
        assert_eq!(e.limit_for(u64::MAX), HARD_CAP);
        assert_eq!(Expansion::from_env_value(Some(" 4096 ")).threshold, 4096);
        assert_eq!(Expansion::from_env_value(Some("lots")), e);
        assert_eq!(Expansion::from_env_value(None), e);
    }

    #[test]
    fn refuses_oversized_headers_and_names() {
        let s = Scene::new();
        let big = vec![b'a'; 3 << 20];
        let tar = Tar::default()
            .pax(&[("comment", &big)])
            .file("x", 0o644, b"")
            .finish();
        s.assert_refused(&tar, "tar headers of one entry exceed 2097152 bytes");
        let mut long = vec![b'l'; 3 << 20];
        long.push(0);
        let tar = Tar::default()
            .raw("././@LongLink", b'L', 0o644, "", &long, (0, 0))
            .file("x", 0o644, b"")
            .finish();
        s.assert_refused(&tar, "tar headers of one entry exceed 2097152 bytes");
        let mut name = "d/".repeat(2100).into_bytes();
        name.push(0);
        let tar = Tar::default()
            .raw("././@LongLink", b'L', 0o644, "", &name, (0, 0))
            .file("x", 0o644, b"")
            .finish();
        s.assert_refused(&tar, "entry name longer than 4096 bytes");
    }

    #[test]
    fn skips_global_pax_headers() {
        let s = Scene::new();
        let mut t = Tar::default();
        let body = b"52 comment=3f2a0c6d0b1e8e4b2d3c5f7a9e1b2c4d6f8a0b1c\n";
        t.raw("pax_global_header", b'g', 0o644, "", body, (0, 0))
            .file("x", 0o644, b"x");
        s.unpack(&t.finish()).unwrap();
        assert_eq!(fs::read(s.path("x")).unwrap(), b"x");
    }
}
