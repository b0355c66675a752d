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
use crate::storage::commit::unpack_copy;
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
enum Compression {
    None,
    Gzip,
    Zstd,
    /// Recognised but not readable: its name.
    Other(&'static str),
}

/// The compression `head` (the first bytes of a stream) starts with.
fn compression_of(head: &[u8]) -> Compression {
    match head {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        [b'B', b'Z', b'h', ..] => Compression::Other("bzip2"),
        [0xfd, b'7', b'z', b'X', b'Z', 0x00, ..] => Compression::Other("xz"),
        _ => Compression::None,
    }
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

/// The tar stream in `input`, decompressed (gzip or zstd), once its first
/// block is a tar header: `cp -` and `volume import` take nothing else.
pub(super) fn open_tar<'a>(input: &'a mut dyn Read) -> Result<Box<dyn Read + 'a>, Error> {
    let magic = read_head(input, 6).map_err(Error::ReadInput)?;
    let kind = compression_of(&magic);
    let raw = Cursor::new(magic).chain(input);
    let mut tar: Box<dyn Read + 'a> = match kind {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(raw))),
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::new(raw).map_err(Error::ReadInput)?;
            // zstd's own default window limit, as for layers.
            d.window_log_max(27).map_err(Error::ReadInput)?;
            Box::new(d)
        }
        Compression::Other(name) => return Err(Error::UnsupportedCompression(name)),
    };
    let block = read_head(&mut tar, 512).map_err(|e| match kind {
        // A stream that does not decompress is no archive at all.
        Compression::Gzip | Compression::Zstd => Error::NotATar,
        _ => Error::ReadInput(e),
    })?;
    if !is_tar_header(&block) {
        return Err(Error::NotATar);
    }
    Ok(Box::new(Cursor::new(block).chain(tar)))
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
        assert!(matches!(
            open_tar(&mut &xz[..]).err(),
            Some(Error::UnsupportedCompression("xz"))
        ));
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
