//! Property test of the layer unpacker over generated hostile tar streams.
//!
//! Each case builds an archive from random entries (names with `..`,
//! absolute names, symlinks and hard links pointing out of the tree and at
//! each other, GNU long names, PAX records with odd keys, sparse files,
//! duplicates, whiteouts, device nodes, fifos), optionally flips some of
//! its bytes, and unpacks it beneath `target/` in a temp dir. The property:
//! unpacking never panics, and the sentinel tree beside `target/` (plus the
//! temp dir's own listing) is identical before and after.
//!
//! `PROPTEST_CASES` sets the number of cases (256 by default); see
//! `tests/fuzz.sh` for a longer run.

use std::collections::BTreeMap;
use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use proptest::prelude::*;

use super::{unpack_entries, Options};
use crate::sys::fs::{openat2, Resolve};

/// Stands for the sentinel directory's absolute path in generated names.
const SENTINEL: &str = "@SENTINEL@";

/// One generated archive member.
#[derive(Debug, Clone)]
enum Member {
    File(String, Vec<u8>),
    Dir(String),
    Symlink(String, String),
    HardLink(String, String),
    Fifo(String),
    Device(String, u8),
    /// A GNU long name (`L`) record, then a file under that name.
    LongName(String, Vec<u8>),
    /// A GNU long link (`K`) record, then a symlink with that target.
    LongLink(String, String),
    /// A PAX record set (`x`), then a file.
    Pax(Vec<(String, Vec<u8>)>, String),
    /// A global PAX record set (`g`).
    GlobalPax(Vec<(String, Vec<u8>)>),
    /// A GNU sparse file: real size, then (offset, length) chunks.
    Sparse(String, u64, Vec<(u64, u64)>),
}

fn component() -> impl Strategy<Value = String> {
    // Mostly ordinary names, so that archives get deep before a refusal.
    prop_oneof![
        8 => "[a-c]{1,2}",
        2 => Just("..".to_string()),
        1 => Just(".".to_string()),
        1 => Just(String::new()),
        1 => Just("sentinel".to_string()),
        1 => Just(".wh.a".to_string()),
        1 => Just(".wh..wh..opq".to_string()),
        1 => Just(".wh.".to_string()),
        1 => Just("x".repeat(150)),
    ]
}

fn name() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            24 => Just(""),
            4 => Just("./"),
            1 => Just("/"),
            1 => Just("../"),
            1 => Just("@SENTINEL@/"),
        ],
        prop::collection::vec(component(), 1..4),
        any::<bool>(),
    )
        .prop_map(|(prefix, parts, slash)| {
            let mut n = format!("{prefix}{}", parts.join("/"));
            if slash {
                n.push('/');
            }
            n
        })
}

fn link_target() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("../sentinel".to_string()),
        Just("../sentinel/f".to_string()),
        Just("/".to_string()),
        Just("..".to_string()),
        Just(SENTINEL.to_string()),
        Just(format!("{SENTINEL}/f")),
        Just("/proc/self/root".to_string()),
        name(),
    ]
}

fn pax_records() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let key = prop_oneof![
        Just("path".to_string()),
        Just("linkpath".to_string()),
        Just("mtime".to_string()),
        Just("uid".to_string()),
        Just("size".to_string()),
        Just("SCHILY.xattr.user.x".to_string()),
        Just("SCHILY.xattr.trusted.x".to_string()),
        Just("SCHILY.xattr.security.capability".to_string()),
        Just("GNU.sparse.map".to_string()),
        Just(String::new()),
        Just("=".to_string()),
        "[a-zA-Z.=]{1,12}",
    ];
    let value = prop_oneof![
        name().prop_map(String::into_bytes),
        link_target().prop_map(String::into_bytes),
        Just(b"-1".to_vec()),
        Just(b"1234567890.123456789123".to_vec()),
        Just(b"99999999999999999999999".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    prop::collection::vec((key, value), 0..4)
}

fn member() -> impl Strategy<Value = Member> {
    let data = prop::collection::vec(any::<u8>(), 0..700);
    prop_oneof![
        3 => (name(), data.clone()).prop_map(|(n, d)| Member::File(n, d)),
        2 => name().prop_map(Member::Dir),
        3 => (name(), link_target()).prop_map(|(n, t)| Member::Symlink(n, t)),
        2 => (name(), link_target()).prop_map(|(n, t)| Member::HardLink(n, t)),
        1 => name().prop_map(Member::Fifo),
        1 => (name(), prop_oneof![Just(b'3'), Just(b'4')]).prop_map(|(n, k)| Member::Device(n, k)),
        1 => (name(), data.clone()).prop_map(|(n, d)| Member::LongName(format!("{}/{n}", "l".repeat(120)), d)),
        1 => (name(), link_target()).prop_map(|(n, t)| Member::LongLink(n, format!("{t}/{}", "k".repeat(120)))),
        2 => (pax_records(), name()).prop_map(|(r, n)| Member::Pax(r, n)),
        1 => pax_records().prop_map(Member::GlobalPax),
        1 => (
            name(),
            prop_oneof![Just(0u64), Just(4096), Just(1 << 20), Just(u64::MAX / 2)],
            prop::collection::vec((0u64..8192, prop_oneof![Just(0u64), Just(512), Just(100)]), 0..4),
        )
            .prop_map(|(n, real, chunks)| Member::Sparse(n, real, chunks)),
    ]
}

/// Writes raw tar headers, so any name, type and size can be expressed.
struct Builder {
    buf: Vec<u8>,
    sentinel: String,
}

fn octal(field: &mut [u8], value: u64) {
    let width = field.len() - 1;
    let s = format!("{value:0width$o}");
    let s = &s.as_bytes()[s.len().saturating_sub(width)..];
    field[..s.len()].copy_from_slice(s);
    field[s.len()] = 0;
}

fn put(h: &mut [u8], at: usize, len: usize, v: &[u8]) {
    let n = v.len().min(len);
    h[at..at + n].copy_from_slice(&v[..n]);
}

impl Builder {
    fn subst(&self, s: &str) -> Vec<u8> {
        s.replace(SENTINEL, &self.sentinel).into_bytes()
    }

    /// One header (ustar, or old GNU when `is_gnu`) plus padded data.
    fn header(name: &[u8], kind: u8, link: &[u8], size: u64, is_gnu: bool) -> [u8; 512] {
        let mut h = [0u8; 512];
        put(&mut h, 0, 100, name);
        octal(&mut h[100..108], 0o755);
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], 1_000_000_000);
        h[156] = kind;
        put(&mut h, 157, 100, link);
        if is_gnu {
            put(&mut h, 257, 8, b"ustar  \0");
        } else {
            put(&mut h, 257, 6, b"ustar\0");
            put(&mut h, 263, 2, b"00");
        }
        h
    }

    fn emit(&mut self, mut h: [u8; 512], data: &[u8]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        self.buf.extend_from_slice(&h);
        self.buf.extend_from_slice(data);
        let pad = (512 - data.len() % 512) % 512;
        self.buf.extend(std::iter::repeat_n(0u8, pad));
    }

    fn simple(&mut self, name: &str, kind: u8, link: &str, data: &[u8]) {
        let (name, link) = (self.subst(name), self.subst(link));
        let h = Builder::header(&name, kind, &link, data.len() as u64, false);
        self.emit(h, data);
    }

    fn pax(&mut self, kind: u8, records: &[(String, Vec<u8>)]) {
        let mut body = Vec::new();
        for (k, v) in records {
            let v = String::from_utf8_lossy(v).replace(SENTINEL, &self.sentinel);
            let tail = format!(" {k}=").len() + v.len() + 1;
            let mut len = tail + 1;
            while len.to_string().len() + tail != len {
                len += 1;
            }
            body.extend_from_slice(format!("{len} {k}={v}\n").as_bytes());
        }
        self.simple("PaxHeader", kind, "", &body);
    }

    fn add(&mut self, m: &Member) {
        match m {
            Member::File(n, d) => self.simple(n, b'0', "", d),
            Member::Dir(n) => self.simple(n, b'5', "", b""),
            Member::Symlink(n, t) => self.simple(n, b'2', t, b""),
            Member::HardLink(n, t) => self.simple(n, b'1', t, b""),
            Member::Fifo(n) => self.simple(n, b'6', "", b""),
            Member::Device(n, k) => self.simple(n, *k, "", b""),
            Member::LongName(n, d) => {
                let mut long = self.subst(n);
                long.push(0);
                let h = Builder::header(b"././@LongLink", b'L', b"", long.len() as u64, true);
                self.emit(h, &long);
                self.simple("truncated-name", b'0', "", d);
            }
            Member::LongLink(n, t) => {
                let mut long = self.subst(t);
                long.push(0);
                let h = Builder::header(b"././@LongLink", b'K', b"", long.len() as u64, true);
                self.emit(h, &long);
                self.simple(n, b'2', "truncated-link", b"");
            }
            Member::Pax(records, n) => {
                self.pax(b'x', records);
                self.simple(n, b'0', "", b"after pax");
            }
            Member::GlobalPax(records) => self.pax(b'g', records),
            Member::Sparse(n, real, chunks) => {
                let name = self.subst(n);
                let stored: u64 = chunks.iter().map(|c| c.1).sum();
                let mut h = Builder::header(&name, b'S', b"", stored, true);
                for (i, (off, len)) in chunks.iter().enumerate() {
                    let at = 386 + i * 24;
                    octal(&mut h[at..at + 12], *off);
                    octal(&mut h[at + 12..at + 24], *len);
                }
                octal(&mut h[483..495], *real);
                let data = vec![b's'; usize::try_from(stored).unwrap_or(0)];
                self.emit(h, &data);
            }
        }
    }
}

/// Every path under `dir` with its type, mode, size, link count, times,
/// and contents or link target.
fn fingerprint(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let md = fs::symlink_metadata(&d).expect("sentinel entry");
        let key = d.display().to_string();
        let mut v = format!(
            "{:o} {} {} {} {}",
            md.mode(),
            md.size(),
            md.nlink(),
            md.mtime(),
            md.mtime_nsec()
        );
        if md.is_dir() {
            let mut names: Vec<_> = fs::read_dir(&d)
                .expect("listing a sentinel dir")
                .map(|e| e.expect("sentinel dir entry").path())
                .collect();
            names.sort();
            v.push_str(&format!(" {names:?}"));
            stack.extend(names);
        } else if md.file_type().is_symlink() {
            v.push_str(&format!(
                " -> {:?}",
                fs::read_link(&d).expect("sentinel link")
            ));
        } else {
            v.push_str(&format!(" {:?}", fs::read(&d).expect("sentinel file")));
        }
        out.insert(key, v);
    }
    out
}

/// A temp dir with `target/` and the sentinel tree `sentinel/` beside it.
fn scene() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = dir.path().join("sentinel");
    fs::create_dir_all(s.join("sub")).expect("sentinel dirs");
    fs::write(s.join("f"), b"precious").expect("sentinel file");
    fs::write(s.join("sub/g"), b"also precious").expect("sentinel file");
    std::os::unix::fs::symlink("f", s.join("link")).expect("sentinel link");
    fs::create_dir(dir.path().join("target")).expect("target dir");
    dir
}

fn check(members: &[Member], flips: &[(usize, u8)]) -> Result<(), TestCaseError> {
    let dir = scene();
    let sentinel = dir.path().join("sentinel");
    let mut b = Builder {
        buf: Vec::new(),
        sentinel: sentinel.display().to_string(),
    };
    for m in members {
        b.add(m);
    }
    let mut tar = b.buf;
    tar.extend(std::iter::repeat_n(0u8, 1024));
    for &(at, byte) in flips {
        let i = at % tar.len();
        tar[i] = byte;
    }
    let before = (
        fingerprint(dir.path().join("sentinel").as_path()),
        top(dir.path()),
    );
    let target = openat2(
        nix::fcntl::AT_FDCWD,
        &dir.path().join("target"),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        Resolve::NO_SYMLINKS,
    )
    .expect("opening target");
    // A 1 MiB cap keeps sparse files with huge real sizes cheap.
    let result = unpack_entries(
        &tar[..],
        target.as_fd(),
        Options {
            preserve_owner: false,
        },
        1 << 20,
    );
    if let Err(e) = &result {
        let text = crate::error::render_chain(e);
        prop_assert!(
            !text.is_empty() && !text.contains('\n'),
            "unclear error {text:?}"
        );
    }
    let after = (fingerprint(&sentinel), top(dir.path()));
    prop_assert_eq!(before, after, "outcome {:?}", result.map(|_| ()));
    Ok(())
}

/// The temp dir's own listing: nothing may appear beside `target/`.
fn top(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("listing the temp dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hostile_archives_never_touch_anything_outside_the_target(
        members in prop::collection::vec(member(), 1..16),
        flip in prop::option::weighted(0.15, (any::<usize>(), any::<u8>())),
    ) {
        check(&members, flip.as_slice())?;
    }
}

#[test]
fn a_sparse_file_counts_at_its_full_size() {
    // 512 stored bytes describing a 4 GiB file: refused before any write,
    // rather than filling the disk with zeros.
    let dir = scene();
    let mut b = Builder {
        buf: Vec::new(),
        sentinel: String::new(),
    };
    b.add(&Member::Sparse(
        "big".into(),
        1 << 32,
        vec![(0, 512), (1 << 32, 0)],
    ));
    let mut tar = b.buf;
    tar.extend(std::iter::repeat_n(0u8, 1024));
    let target = openat2(
        nix::fcntl::AT_FDCWD,
        &dir.path().join("target"),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        Resolve::NO_SYMLINKS,
    )
    .expect("opening target");
    let opts = Options {
        preserve_owner: false,
    };
    let err = unpack_entries(&tar[..], target.as_fd(), opts, 1 << 20).unwrap_err();
    assert_eq!(
        crate::error::render_chain(&err),
        "expands to more than 1048576 bytes (ratio over 1:1)"
    );
    assert!(!dir.path().join("target/big").exists());
}
