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
            unpack_blob(open(), compression, &diff_id, s.target.as_fd(), opts).unwrap();
            assert_eq!(fs::read(s.path("hello")).unwrap(), b"hi");

            let wrong = Digest::of(b"not this");
            let err = unpack_blob(open(), compression, &wrong, s.target.as_fd(), opts).unwrap_err();
            assert!(
                matches!(&err, Error::DiffIdMismatch { expected, actual }
                    if *expected == wrong && *actual == diff_id),
                "{compression:?}: {err}"
            );
        }
    }
}
