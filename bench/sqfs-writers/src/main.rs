//! Writes a directory tree to a squashfs file with the `backhand` crate,
//! for `bench/sqfs-writers.sh`, which times it against `mksquashfs`.
//!
//! Usage: `sqfs-writers SOURCE OUT`. Kept as `mksquashfs -comp zstd`
//! keeps them: owners, modes (with setuid/setgid/sticky), mtimes,
//! symlinks; zstd at mksquashfs's default level (15) and block size
//! (128 KiB), so the two outputs compare. Files are handed over by path
//! and read at the final write, as backhand does for files on disk.

use std::fs::{self, File};
use std::io::BufWriter;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::process::ExitCode;

use backhand::compression::{CompressionOptions, Compressor, Zstd};
use backhand::{FilesystemCompressor, FilesystemWriter, NodeHeader};

/// mksquashfs's default zstd level and block size.
const ZSTD_LEVEL: u32 = 15;
const BLOCK_SIZE: u32 = 128 * 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: sqfs-writers SOURCE OUT");
        return ExitCode::from(2);
    }
    match write_tree(Path::new(&args[1]), Path::new(&args[2])) {
        Ok(entries) => {
            eprintln!("backhand: {entries} entries written to {}", args[2]);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("sqfs-writers: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The metadata squashfs keeps for an inode.
fn header(meta: &fs::Metadata) -> NodeHeader {
    // The file type bits are squashfs's inode type; only the permission
    // bits (and setuid/setgid/sticky) go in the header.
    NodeHeader::new(
        (meta.mode() & 0o7777) as u16,
        meta.uid(),
        meta.gid(),
        meta.mtime().clamp(0, u32::MAX as i64) as u32,
    )
}

/// Builds the writer's tree from `source` and writes it to `out`;
/// returns the number of entries below the root.
fn write_tree(source: &Path, out: &Path) -> Result<usize, String> {
    let mut fs = FilesystemWriter::default();
    fs.set_block_size(BLOCK_SIZE);
    fs.set_current_time();
    let level = CompressionOptions::Zstd(Zstd {
        compression_level: ZSTD_LEVEL,
    });
    let comp = FilesystemCompressor::new(Compressor::Zstd, Some(level))
        .map_err(|e| format!("zstd compressor: {e}"))?;
    fs.set_compressor(comp);

    let root = fs::symlink_metadata(source).map_err(|e| format!("{}: {e}", source.display()))?;
    fs.set_root_mode((root.mode() & 0o7777) as u16);
    fs.set_root_uid(root.uid());
    fs.set_root_gid(root.gid());

    let mut entries = 0;
    add_dir(&mut fs, source, Path::new(""), &mut entries)?;

    let file = File::create(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    fs.write(BufWriter::with_capacity(1 << 20, file))
        .map_err(|e| format!("writing {}: {e}", out.display()))?;
    Ok(entries)
}

/// Adds the entries of directory `dir` (at `inside` in the image), parents
/// before children, in name order.
fn add_dir(
    fs: &mut FilesystemWriter,
    dir: &Path,
    inside: &Path,
    entries: &mut usize,
) -> Result<(), String> {
    let mut names: Vec<_> = fs::read_dir(dir)
        .map_err(|e| format!("reading {}: {e}", dir.display()))?
        .map(|d| d.map(|d| d.file_name()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("reading {}: {e}", dir.display()))?;
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let at = inside.join(&name);
        let meta = fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let head = header(&meta);
        let kind = meta.file_type();
        let pushed = if kind.is_dir() {
            fs.push_dir(&at, head)
        } else if kind.is_file() {
            fs.push_file_from_path(&path, &at, head)
        } else if kind.is_symlink() {
            let target =
                fs::read_link(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            fs.push_symlink(target, &at, head)
        } else if kind.is_char_device() {
            fs.push_char_device(meta.rdev() as u32, &at, head)
        } else if kind.is_block_device() {
            fs.push_block_device(meta.rdev() as u32, &at, head)
        } else if kind.is_fifo() {
            fs.push_fifo(&at, head)
        } else if kind.is_socket() {
            fs.push_socket(&at, head)
        } else {
            return Err(format!("{}: unknown file type", path.display()));
        };
        pushed.map_err(|e| format!("adding {}: {e}", at.display()))?;
        *entries += 1;
        if kind.is_dir() {
            add_dir(fs, &path, &at, entries)?;
        }
    }
    Ok(())
}
