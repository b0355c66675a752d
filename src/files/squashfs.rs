//! `image save --format squashfs` (issue #18): an image's layers,
//! flattened by a read-only view of their overlay, written by Debian's
//! `mksquashfs` into one file.
//!
//! The work happens in a helper that is root in a user namespace with the
//! user's maps and a mount namespace of its own (`enter::spawn_in_root`),
//! so the overlay resolves whiteouts as a container's root would and
//! `mksquashfs` records the owners the container sees (0 for root, not the
//! user's id), which the same maps give back when the file is mounted by
//! squashfuse in a container. Why `mksquashfs` rather than a squashfs
//! writer in Rust: docs/performance.md, "Single-file squashfs images".

use std::path::{Path, PathBuf};

use super::enter::{self, Root};
use super::Error;
use crate::storage::ContainerDirs;
use crate::userns::IdMaps;

/// The compressor: zstd reads back about as fast as lz4 at a ratio close
/// to xz's, and Debian's squashfuse reads it.
const COMPRESSION: &str = "zstd";

/// The program, found on `PATH`.
const MKSQUASHFS: &str = "mksquashfs";

/// Writes the overlay of `lowers` (top first) as a squashfs filesystem to
/// `out` (absolute; created or truncated). `dirs` are scratch upper, work
/// and merged directories for the overlay. Must be called single-threaded.
pub fn write_squashfs(
    lowers: Vec<PathBuf>,
    dirs: ContainerDirs,
    maps: IdMaps,
    out: &Path,
) -> Result<(), Error> {
    let root = Root::Stopped {
        lowers,
        dirs: Box::new(dirs),
        maps,
        volumes: None,
    };
    let helper = enter::spawn_in_root(&root, "writing the squashfs file", &[], |croot| {
        nix::unistd::fchdir(croot).map_err(|e| format!("entering the image's root: {e}"))?;
        run_mksquashfs(Path::new("."), out)
    })?;
    helper.wait()
}

/// Runs `mksquashfs SOURCE OUT` with hutch's options; its last line of
/// complaint is the error.
fn run_mksquashfs(source: &Path, out: &Path) -> Result<(), String> {
    let output = std::process::Command::new(MKSQUASHFS)
        .arg(source)
        .arg(out)
        .args(mksquashfs_options())
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                "mksquashfs is not installed (Debian's squashfs-tools)".to_string()
            }
            _ => format!("running mksquashfs: {e}"),
        })?;
    if output.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&output.stderr);
    let said = said.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
    Err(format!(
        "mksquashfs failed ({}): {}",
        output.status,
        said.trim()
    ))
}

/// The options: a new file, quiet, owners and modes kept as they are.
fn mksquashfs_options() -> Vec<&'static str> {
    vec![
        "-noappend",
        "-no-progress",
        "-quiet",
        "-comp",
        COMPRESSION,
        // Directories of other filesystems (none in an overlay) stay out.
        "-one-file-system",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mksquashfs_writes_a_new_file_with_zstd() {
        let opts = mksquashfs_options();
        assert!(opts.contains(&"-noappend"), "never append to an old file");
        let comp = opts.iter().position(|o| *o == "-comp").unwrap();
        assert_eq!(opts[comp + 1], "zstd");
    }
}
