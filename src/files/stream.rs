//! `cp` with a tar stream on one end (`-`), and between two containers.
//!
//! A stream from standard input is decompressed and checked to begin with
//! a tar header here, before any helper starts, then piped to a helper in
//! the container that unpacks it beneath the destination directory with
//! the copy rules. A stream to standard output is written by a helper in
//! the container. Between containers, a helper in each runs the two sides
//! of `copy`'s protocol over pipes between them; one container is entered
//! once, its two sides on two threads of one helper (a stopped
//! container's overlay must not be mounted twice at once).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Cursor, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use super::archive;
use super::copy::{
    announce_of, container_side, in_root, in_workdir, open_dir, receive_tree, send_tree, split,
    CopyOptions, Receiver, NO_REQUEST, REFUSED,
};
use super::enter::{self, Root};
use super::{Error, Layout};
use crate::error::render_chain;
use crate::runtime::PROC;
use crate::storage::commit::{unpack_copy, CopyRules, Owner};
use crate::storage::ChildError;
use crate::userns;

/// Podman's words when the destination of a stream is not a directory.
const NOT_A_DIR: &str = "destination must be a directory when copying from stdin";

/// See `files::copy_from_stream`.
pub fn copy_from_stream(
    layout: Layout,
    input: &mut dyn Read,
    dst: &str,
    opts: CopyOptions,
) -> Result<(), Error> {
    let mut tar = open_tar(input)?;
    let rx = Receiver::of(&layout, dst, opts);
    let root = Root::of(layout, Path::new(PROC), true)?;
    let (data_r, data_w) = userns::pipe().map_err(Error::Pipe)?;
    let helper = enter::spawn_in_root(
        &root,
        "copying into the container",
        &[data_w.as_fd()],
        move |croot| {
            let rules = rx.rules(croot)?;
            let dir = open_dir(croot, Path::new(&rx.dst), in_root()).map_err(|e| {
                match e.raw_os_error() {
                    Some(libc::ENOENT | libc::ENOTDIR) => NOT_A_DIR.to_string(),
                    _ => format!("opening {:?}: {e}", rx.dst),
                }
            })?;
            let mut data = BufReader::with_capacity(1 << 16, File::from(data_r));
            unpack_copy(&mut data, dir.as_fd(), rules)
                .map_err(|e| format!("unpacking into {:?}: {}", rx.dst, render_chain(&e)))?;
            let _ = io::copy(&mut data, &mut io::sink());
            Ok(())
        },
    )?;
    let mut pipe = File::from(data_w);
    let sent = io::copy(&mut tar, &mut pipe);
    drop(pipe);
    let waited = helper.wait();
    match (sent, waited) {
        (Ok(_), r) => r,
        // A broken pipe only echoes the helper's own failure.
        (Err(e), Err(h)) if e.kind() == io::ErrorKind::BrokenPipe => Err(h),
        (Err(e), _) => Err(Error::ReadInput(e)),
    }
}

/// See `files::copy_to_stream`.
pub fn copy_to_stream(layout: Layout, src: &str, out: &mut dyn Write) -> Result<(), Error> {
    let src = in_workdir(&layout.workdir, src);
    let root = Root::of(layout, Path::new(PROC), true)?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let helper = enter::spawn_in_root(
        &root,
        "copying from the container",
        &[rx.as_fd()],
        move |croot| {
            let sp = split(src.as_bytes());
            let parent = open_dir(croot, &sp.parent, in_root())
                .map_err(|e| format!("opening {:?}: {e}", sp.parent))?;
            let ann =
                announce_of(parent.as_fd(), &sp).map_err(|e| format!("opening {src:?}: {e}"))?;
            // Named as the source is, as Podman's stream is; `SRC/.` and
            // `/` give only what is inside.
            let top = (!ann.is_contents).then_some(ann.leaf);
            let w = BufWriter::with_capacity(1 << 16, File::from(tx));
            let mut w = archive::write_tree(
                w,
                parent.as_fd(),
                sp.leaf.as_deref(),
                top.as_deref().map(Path::new),
                container_side(),
            )
            .map_err(|e| e.to_string())?;
            w.flush().map_err(|e| format!("sending the archive: {e}"))
        },
    )?;
    let copied = io::copy(&mut File::from(rx), out).and_then(|_| out.flush());
    helper.wait()?;
    copied.map_err(Error::Stream)
}

/// See `files::copy_between`.
pub fn copy_between(
    from: Layout,
    src: &str,
    to: Layout,
    dst: &str,
    opts: CopyOptions,
) -> Result<(), Error> {
    let src = in_workdir(&from.workdir, src);
    let rx = Receiver::of(&to, dst, opts);
    let (data_r, data_w) = userns::pipe().map_err(Error::Pipe)?;
    let (back_r, back_w) = userns::pipe().map_err(Error::Pipe)?;
    if from.info.record.id == to.info.record.id {
        let root = Root::of(to, Path::new(PROC), true)?;
        let helper = enter::spawn_in_root(
            &root,
            "copying within the container",
            &[],
            move |croot: BorrowedFd<'_>| {
                std::thread::scope(|s| {
                    let sender = s.spawn(|| send_tree(croot, &src, data_w, back_r));
                    let received = receive_tree(croot, &rx, data_r, back_w);
                    let sent = sender
                        .join()
                        .unwrap_or_else(|_| Err("the sending thread panicked".to_string()));
                    pick(sent, received, |e| e.as_str())
                })
            },
        )?;
        return helper.wait();
    }
    let from_root = Root::of(from, Path::new(PROC), true)?;
    let to_root = Root::of(to, Path::new(PROC), true)?;
    let sender = enter::spawn_in_root(
        &from_root,
        "copying from the source container",
        &[data_r.as_fd(), back_w.as_fd()],
        move |croot| send_tree(croot, &src, data_w, back_r),
    )?;
    let receiver = enter::spawn_in_root(
        &to_root,
        "copying into the destination container",
        &[],
        move |croot| receive_tree(croot, &rx, data_r, back_w),
    );
    let receiver = match receiver {
        Ok(r) => r,
        Err(e) => {
            // Its pipe ends are closed: the sender gives up.
            let _ = sender.wait();
            return Err(e);
        }
    };
    let sent = sender.wait();
    let received = receiver.wait();
    pick(sent, received, |e| match e {
        Error::Child {
            source: ChildError(text),
            ..
        } => text.as_str(),
        _ => "",
    })
}

/// The outcome of a copy whose two sides ended with `sent` and
/// `received`: the first side's own failure, not the other's echo of it
/// (a refusal or broken pipe on the sending side, a missing request on the
/// receiving side). `text` gives a failure's text.
fn pick<E>(
    sent: Result<(), E>,
    received: Result<(), E>,
    text: impl Fn(&E) -> &str,
) -> Result<(), E> {
    match (sent, received) {
        (Ok(()), r) => r,
        (Err(s), Ok(())) => Err(s),
        (Err(s), Err(r)) => {
            let is_echo = text(&s) == REFUSED || text(&s).contains("Broken pipe");
            if is_echo && !text(&r).starts_with(NO_REQUEST) {
                Err(r)
            } else {
                Err(s)
            }
        }
    }
}

/// How an archive is compressed, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
}

/// The compression `head` (the first bytes of a stream) starts with.
pub(super) fn compression_of(head: &[u8]) -> Compression {
    match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [b'B', b'Z', b'h', ..] => Compression::Bzip2,
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Compression::Xz,
        _ => Compression::None,
    }
}

/// A reader that decompresses `raw` (which starts with the magic bytes
/// `kind` was read from). Decoders keep their formats' usual memory
/// limits: a zstd window or an xz dictionary past 128 MiB is refused
/// rather than allocated.
pub(super) fn decoder<'a>(
    kind: Compression,
    raw: impl Read + 'a,
) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match kind {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(raw))),
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(raw)?;
            // zstd's own default window limit, as for layers.
            d.window_log_max(27)?;
            Box::new(d)
        }
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(BufReader::new(raw))),
        // xz's own default limit for a dictionary is far above 128 MiB;
        // archives made with `xz -9` need 64 MiB.
        Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            BufReader::new(raw),
            true,
            128 * 1024,
        )),
    })
}

/// Reads up to `n` bytes of `r`, fewer only at its end.
fn read_head(r: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut head)?;
    Ok(head)
}

/// Whether `block` (the first 512 bytes of a stream) is a tar header
/// whose checksum holds, or the zero block of an empty archive.
fn is_tar_header(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    if block.iter().all(|b| *b == 0) {
        return true;
    }
    let field = &block[148..156];
    let digits: String = field
        .iter()
        .map(|b| *b as char)
        .filter(|c| !matches!(c, ' ' | '\0'))
        .collect();
    let Ok(want) = u64::from_str_radix(&digits, 8) else {
        return false;
    };
    // The sum with the checksum field read as spaces; old tars summed
    // signed bytes.
    let (unsigned, signed) = block[..512]
        .iter()
        .enumerate()
        .map(|(i, b)| if (148..156).contains(&i) { b' ' } else { *b })
        .fold((0u64, 0i64), |(u, s), b| {
            (u + u64::from(b), s + i64::from(b as i8))
        });
    want == unsigned || i64::try_from(want) == Ok(signed)
}

/// The tar stream in `input`, decompressed (gzip, zstd, bzip2 or xz), once its first
/// block is a tar header: `cp -` and `volume import` take nothing else.
pub(super) fn open_tar<'a>(input: &'a mut dyn Read) -> Result<Box<dyn Read + 'a>, Error> {
    let magic = read_head(input, 6).map_err(Error::ReadInput)?;
    let kind = compression_of(&magic);
    let raw = Cursor::new(magic).chain(input);
    let mut tar = decoder(kind, raw).map_err(Error::ReadInput)?;
    let block = read_head(&mut tar, 512).map_err(|e| match kind {
        // A stream that does not decompress is no archive at all.
        Compression::None => Error::ReadInput(e),
        _ => Error::NotATar,
    })?;
    if !is_tar_header(&block) {
        return Err(Error::NotATar);
    }
    Ok(Box::new(Cursor::new(block).chain(tar)))
}

/// Unpacks the tar `input` (plain or compressed) beneath the directory
/// `dir` as the calling user: a build context from `build -` or a URL.
/// Names and links are resolved beneath `dir` (nothing is written
/// outside it), every entry belongs to the caller and device nodes are
/// skipped, as for `cp`.
pub fn unpack_context(input: &mut dyn Read, dir: &Path) -> Result<(), Error> {
    let mut tar = open_tar(input)?;
    let fd = crate::sys::fs::openat2(
        nix::fcntl::AT_FDCWD,
        dir,
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        crate::sys::fs::Resolve::NO_SYMLINKS,
    )
    .map_err(|source| Error::OpenHost {
        path: dir.to_path_buf(),
        source,
    })?;
    let rules = CopyRules {
        owner: Owner::Caller,
        overwrite: true,
    };
    unpack_copy(&mut tar, fd.as_fd(), rules).map_err(|source| Error::Unpack {
        path: dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_of(name: &str, data: &[u8]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, data).unwrap();
        b.into_inner().unwrap()
    }

    fn names(mut r: Box<dyn Read + '_>) -> Vec<String> {
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).unwrap();
        tar::Archive::new(&bytes[..])
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    }

    /// `xz` of a ustar archive holding the file `f` with `data` (made
    /// with xz 5.4; the crate's encoder is left out of the binary).
    const XZ_TAR: &[u8] = &[
        0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x04, 0xe6, 0xd6, 0xb4, 0x46, 0x02, 0x00, 0x21,
        0x01, 0x16, 0x00, 0x00, 0x00, 0x74, 0x2f, 0xe5, 0xa3, 0xe0, 0x27, 0xff, 0x00, 0x62, 0x5d,
        0x00, 0x33, 0x00, 0x33, 0x50, 0x18, 0x68, 0x89, 0x83, 0x01, 0xdc, 0xe2, 0x6e, 0x21, 0x08,
        0xbb, 0xa5, 0x3e, 0x28, 0xbd, 0xa5, 0x9a, 0x5c, 0x24, 0x56, 0x47, 0x32, 0x7c, 0xa3, 0x60,
        0xb4, 0x2e, 0xc7, 0xf7, 0xc1, 0xf2, 0x4c, 0xed, 0x1f, 0x60, 0x2f, 0x14, 0x53, 0xef, 0x7d,
        0x68, 0x68, 0x98, 0x00, 0x1a, 0xa1, 0xc0, 0x30, 0x49, 0xd4, 0x89, 0x3a, 0x25, 0xda, 0x7d,
        0x44, 0x70, 0x7e, 0x5e, 0x7a, 0x1a, 0x5a, 0x95, 0xf5, 0x6e, 0x45, 0xf9, 0x18, 0x1c, 0x29,
        0xf5, 0x7d, 0xc9, 0xc9, 0xa1, 0x11, 0x74, 0x73, 0xb6, 0x79, 0x25, 0xaf, 0x2b, 0x1d, 0xa0,
        0x97, 0x9d, 0x55, 0x06, 0x04, 0x39, 0xb3, 0x97, 0x00, 0x00, 0x00, 0x00, 0x14, 0xf0, 0x99,
        0x80, 0x9c, 0xe4, 0xd3, 0x09, 0x00, 0x01, 0x7e, 0x80, 0x50, 0x00, 0x00, 0x00, 0x5c, 0x07,
        0x96, 0x88, 0xb1, 0xc4, 0x67, 0xfb, 0x02, 0x00, 0x00, 0x00, 0x00, 0x04, 0x59, 0x5a,
    ];

    #[test]
    fn bzip2_and_xz_tars_are_opened() {
        // issue #15 item 3: ADD, cp - and volume import read them.
        assert_eq!(names(open_tar(&mut &XZ_TAR[..]).unwrap()), ["f"]);
        let tar = tar_of("f", b"data");
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        bz.write_all(&tar).unwrap();
        let bz = bz.finish().unwrap();
        assert_eq!(names(open_tar(&mut &bz[..]).unwrap()), ["f"]);
        let mut truncated = XZ_TAR.to_vec();
        truncated.truncate(40);
        assert!(matches!(
            open_tar(&mut &truncated[..]).err(),
            Some(Error::NotATar)
        ));
    }

    #[test]
    fn plain_gzip_and_zstd_tars_are_opened() {
        let tar = tar_of("f", b"data");
        assert_eq!(names(open_tar(&mut &tar[..]).unwrap()), ["f"]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(names(open_tar(&mut &gz[..]).unwrap()), ["f"]);
        let zst = zstd::encode_all(&tar[..], 1).unwrap();
        assert_eq!(names(open_tar(&mut &zst[..]).unwrap()), ["f"]);
        // An empty archive is two zero blocks.
        let empty = vec![0u8; 1024];
        assert!(names(open_tar(&mut &empty[..]).unwrap()).is_empty());
    }

    #[test]
    fn what_is_not_a_tar_is_refused_before_anything_is_unpacked() {
        for input in [&b""[..], b"notatar\n", &[0x1f, 0x8b, 0, 0][..]] {
            let err = open_tar(&mut &input[..]).err().unwrap();
            assert!(matches!(err, Error::NotATar), "{input:?}: {err:?}");
        }
        let mut bad = tar_of("f", b"data");
        bad[0] ^= 1;
        assert!(matches!(
            open_tar(&mut &bad[..]).err(),
            Some(Error::NotATar)
        ));
        let xz = [0xfd, b'7', b'z', b'X', b'Z', 0, 1, 2];
        assert!(matches!(open_tar(&mut &xz[..]).err(), Some(Error::NotATar)));
    }

    #[test]
    fn the_first_side_to_fail_is_reported() {
        fn text(e: &String) -> &str {
            e
        }
        let own = || Err::<(), _>("opening \"/x\": No such file".to_string());
        let refused = || Err::<(), _>(REFUSED.to_string());
        let no_request = || Err::<(), _>(format!("{NO_REQUEST}: unexpected end"));
        let placing = || Err::<(), _>("destination directory \"/y/\" does not exist".to_string());
        assert_eq!(pick(own(), no_request(), text), own());
        assert_eq!(pick(refused(), placing(), text), placing());
        assert_eq!(pick(Ok(()), placing(), text), placing());
        assert_eq!(pick(own(), Ok(()), text), own());
        assert_eq!(pick(Ok(()), Ok(()), text), Ok(()));
    }
}
