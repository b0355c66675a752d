//! Unit tests of the layer unpacker: hand-built archives, hostile and
//! normal, unpacked beneath a temp dir with a victim beside it.

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
fn skips_device_nodes_and_links_to_them() {
    // issue #20 item 1: a debootstrap root has /dev/null and friends; an
    // unprivileged user cannot make them, so they are left out and the
    // rest of the layer (the FIFO included) is unpacked.
    let s = Scene::new();
    let tar = Tar::default()
        .dir("dev", 0o755)
        .raw("dev/null", b'3', 0o666, "", b"", (1, 3))
        .raw("./dev/full", b'3', 0o666, "", b"", (1, 7))
        .raw("dev/loop0", b'4', 0o660, "", b"", (7, 0))
        .hardlink("dev/null-again", "dev/null")
        .raw("dev/somefifo", b'6', 0o600, "", b"", (0, 0))
        .file("after", 0o644, b"still here")
        .finish();
    let report = s.unpack(&tar).unwrap();
    for gone in ["dev/null", "dev/full", "dev/loop0", "dev/null-again"] {
        assert!(
            fs::symlink_metadata(s.path(gone)).is_err(),
            "{gone} was created"
        );
    }
    assert!(fs::symlink_metadata(s.path("dev/somefifo"))
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(fs::read(s.path("after")).unwrap(), b"still here");
    assert_eq!(report.skipped_nodes, 4);
    assert_eq!(
        report.skipped_names,
        ["dev/null", "./dev/full", "dev/loop0", "dev/null-again"]
    );
    s.assert_victim_untouched();
}

#[test]
fn a_skipped_device_name_may_be_reused() {
    // A later entry at a skipped node's path is real: links to it work.
    let s = Scene::new();
    let tar = Tar::default()
        .raw("null", b'3', 0o666, "", b"", (1, 3))
        .file("null", 0o644, b"a file now")
        .hardlink("link", "null")
        .finish();
    let report = s.unpack(&tar).unwrap();
    assert_eq!(fs::read(s.path("link")).unwrap(), b"a file now");
    assert_eq!(report.skipped_nodes, 1);
}

#[test]
fn device_nodes_that_climb_out_are_still_refused() {
    let s = Scene::new();
    let tar = Tar::default()
        .raw("../victim/null", b'3', 0o666, "", b"", (1, 3))
        .finish();
    s.assert_refused(&tar, "entry \"../victim/null\": path escapes the layer");
    let s = Scene::new();
    let tar = Tar::default()
        .raw("/abs/sda", b'4', 0o660, "", b"", (8, 0))
        .finish();
    s.assert_refused(&tar, "entry \"/abs/sda\": absolute path");
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
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
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
        let err =
            unpack_blob(open(), compression, &diff_id, s.target.as_fd(), opts, small).unwrap_err();
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

#[test]
fn a_copy_changes_directories_into_files_and_back_only_when_overwriting() {
    let s = Scene::new();
    let rules = |overwrite| CopyRules {
        owner: super::super::entry::Owner::Caller,
        overwrite,
    };
    let copy = |tar: &[u8], overwrite| unpack_copy(tar, s.target.as_fd(), rules(overwrite));
    let dir = Tar::default()
        .dir("x", 0o755)
        .dir("x/sub", 0o755)
        .file("x/sub/f", 0o644, b"in")
        .finish();
    let file = Tar::default().file("x", 0o644, b"file").finish();
    copy(&dir, false).unwrap();
    let err = copy(&file, false).expect_err("a file replaced a directory");
    assert!(
        render_chain(&err).contains("would replace a directory with a non-directory"),
        "{}",
        render_chain(&err)
    );
    assert_eq!(fs::read(s.path("x/sub/f")).unwrap(), b"in");
    // Overwriting removes the directory and all it holds.
    copy(&file, true).unwrap();
    assert_eq!(fs::read(s.path("x")).unwrap(), b"file");
    let err = copy(&dir, false).expect_err("a directory replaced a file");
    assert!(render_chain(&err).contains("would replace a non-directory with a directory"));
    copy(&dir, true).unwrap();
    assert_eq!(fs::read(s.path("x/sub/f")).unwrap(), b"in");
    // A file replaces a file, and a directory stays a directory.
    copy(
        &Tar::default().file("x/sub/f", 0o644, b"new").finish(),
        false,
    )
    .unwrap();
    assert_eq!(fs::read(s.path("x/sub/f")).unwrap(), b"new");
    copy(&dir, false).unwrap();
}

#[test]
fn a_copy_takes_whiteout_names_literally_and_keeps_the_layer_rules() {
    let s = Scene::new();
    let rules = CopyRules {
        owner: super::super::entry::Owner::Caller,
        overwrite: true,
    };
    let tar = Tar::default()
        .dir("d", 0o755)
        .file("d/.wh.gone", 0o644, b"a file")
        .file("d/.wh..wh..opq", 0o644, b"another")
        .finish();
    unpack_copy(&tar[..], s.target.as_fd(), rules).unwrap();
    assert_eq!(fs::read(s.path("d/.wh.gone")).unwrap(), b"a file");
    assert_eq!(fs::read(s.path("d/.wh..wh..opq")).unwrap(), b"another");
    // Escapes are refused as in a layer, overwrite or not.
    for tar in [
        Tar::default().file("../victim/x", 0o644, b"evil").finish(),
        Tar::default()
            .symlink("l", "../victim")
            .file("l/x", 0o644, b"evil")
            .finish(),
        Tar::default().hardlink("h", "../victim/f").finish(),
    ] {
        unpack_copy(&tar[..], s.target.as_fd(), rules).expect_err("an escape was accepted");
    }
    assert_eq!(
        fs::read(s.dir.path().join("victim/f")).unwrap(),
        b"precious"
    );
    assert_eq!(
        fs::read_dir(s.dir.path().join("victim")).unwrap().count(),
        1
    );
}
