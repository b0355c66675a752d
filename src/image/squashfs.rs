//! The single-file squashfs image of issue #18 (`image save --format
//! squashfs`, `run ./app.sqfs`): a squashfs filesystem holding the
//! image's flattened root, followed by the image's config.
//!
//! The config rides in a trailer after the filesystem rather than in a
//! file inside it, so the container's root holds only the image's files
//! and the config is read with two small reads, with no squashfs reader:
//!
//! ```text
//! [squashfs: superblock .. bytes_used, padded][config JSON][u64 LE length]["HUTCHCF1"]
//! ```
//!
//! squashfs readers (squashfuse, the kernel, unsquashfs) stop at the
//! superblock's `bytes_used` and ignore what follows. A squashfs file made
//! by other tools has no trailer: it is a root without a config. The
//! superblock is checked against the file's length first, so a truncated
//! file is refused here with its sizes, not by a mount that fails later.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The squashfs superblock's magic, `hsqs` (squashfs 4.0 format, section
/// "superblock"; little endian).
const SQUASHFS_MAGIC: &[u8; 4] = b"hsqs";
/// The superblock's size.
const SUPERBLOCK_LEN: u64 = 96;
/// Where `bytes_used` (u64 LE) sits in the superblock.
const BYTES_USED_AT: usize = 40;
/// The trailer's magic, last in the file.
const TRAILER_MAGIC: &[u8; 8] = b"HUTCHCF1";
/// Length and magic.
const TRAILER_LEN: u64 = 16;
/// The largest config accepted: image configs are a few KiB.
const MAX_CONFIG: u64 = 4 << 20;

/// What is wrong with a squashfs image file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a squashfs file")]
    NotSquashfs { path: PathBuf },
    #[error("{path} is truncated: its superblock counts {used} bytes, the file has {len}")]
    Truncated { path: PathBuf, used: u64, len: u64 },
    #[error("{path}: the image config after the filesystem is damaged")]
    BadTrailer { path: PathBuf },
    #[error("writing the image config to {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Truncated { .. } | Error::BadTrailer { .. } => Some(
                "the file was cut short or changed: copy it again, or make it again with `hutch image save --format squashfs`".into(),
            ),
            Error::NotSquashfs { .. } => Some(
                "make one with `hutch image save --format squashfs IMAGE -o FILE.sqfs`".into(),
            ),
            _ => None,
        }
    }
}

/// Whether `path` starts with the squashfs magic (false if unreadable).
pub fn is_squashfs(path: &Path) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok_and(|()| &magic == SQUASHFS_MAGIC)
}

/// Checks the squashfs file `path` and returns the image config after it,
/// if it has one.
pub fn read_config(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    let read = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(read)?;
    let len = f.metadata().map_err(read)?.len();
    let mut sb = [0u8; SUPERBLOCK_LEN as usize];
    if len < SUPERBLOCK_LEN {
        return Err(Error::NotSquashfs {
            path: path.to_path_buf(),
        });
    }
    f.read_exact(&mut sb).map_err(read)?;
    if &sb[..4] != SQUASHFS_MAGIC {
        return Err(Error::NotSquashfs {
            path: path.to_path_buf(),
        });
    }
    let used = u64::from_le_bytes(
        sb[BYTES_USED_AT..BYTES_USED_AT + 8]
            .try_into()
            .unwrap_or_default(),
    );
    if used > len || used < SUPERBLOCK_LEN {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            used,
            len,
        });
    }
    if len - used < TRAILER_LEN {
        return Ok(None);
    }
    let mut tail = [0u8; TRAILER_LEN as usize];
    f.seek(SeekFrom::Start(len - TRAILER_LEN)).map_err(read)?;
    f.read_exact(&mut tail).map_err(read)?;
    if &tail[8..] != TRAILER_MAGIC {
        return Ok(None);
    }
    let bad = || Error::BadTrailer {
        path: path.to_path_buf(),
    };
    let n = u64::from_le_bytes(tail[..8].try_into().unwrap_or_default());
    if n > MAX_CONFIG || n > len - used - TRAILER_LEN {
        return Err(bad());
    }
    let mut config = vec![0u8; n as usize];
    f.seek(SeekFrom::Start(len - TRAILER_LEN - n))
        .map_err(read)?;
    f.read_exact(&mut config).map_err(read)?;
    if serde_json::from_slice::<serde_json::Value>(&config).is_err() {
        return Err(bad());
    }
    Ok(Some(config))
}

/// Appends `config` as the trailer to the squashfs file `file` (at
/// `path`, for errors), after checking the filesystem is whole.
pub fn append_config(file: &mut File, path: &Path, config: &[u8]) -> Result<(), Error> {
    let write = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    file.seek(SeekFrom::End(0)).map_err(write)?;
    file.write_all(config).map_err(write)?;
    file.write_all(&(config.len() as u64).to_le_bytes())
        .map_err(write)?;
    file.write_all(TRAILER_MAGIC).map_err(write)?;
    file.sync_all().map_err(write)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in squashfs: a superblock whose `bytes_used` is `used`,
    /// padded to `len`.
    fn fake(dir: &Path, used: u64, len: usize) -> PathBuf {
        let mut data = vec![0u8; len];
        data[..4].copy_from_slice(SQUASHFS_MAGIC);
        data[BYTES_USED_AT..BYTES_USED_AT + 8].copy_from_slice(&used.to_le_bytes());
        let path = dir.join("app.sqfs");
        std::fs::write(&path, data).unwrap();
        path
    }

    #[test]
    fn the_config_trailer_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let path = fake(tmp.path(), 200, 4096);
        assert!(is_squashfs(&path));
        assert_eq!(read_config(&path).unwrap(), None);
        let config = br#"{"config":{"Cmd":["/bin/sh"]}}"#;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        append_config(&mut f, &path, config).unwrap();
        assert_eq!(read_config(&path).unwrap().as_deref(), Some(&config[..]));
    }

    #[test]
    fn a_truncated_file_is_refused_with_its_sizes() {
        let tmp = tempfile::tempdir().unwrap();
        let path = fake(tmp.path(), 8192, 4096);
        let err = read_config(&path).unwrap_err().to_string();
        assert!(
            err.contains("truncated") && err.contains("8192") && err.contains("4096"),
            "{err}"
        );
    }

    #[test]
    fn other_files_are_not_squashfs() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.sqfs");
        std::fs::write(&path, b"#!/bin/sh\necho hi\n").unwrap();
        assert!(!is_squashfs(&path));
        assert!(matches!(read_config(&path), Err(Error::NotSquashfs { .. })));
    }

    #[test]
    fn a_damaged_trailer_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = fake(tmp.path(), 200, 4096);
        let mut data = std::fs::read(&path).unwrap();
        data.extend_from_slice(b"{not json");
        data.extend_from_slice(&9u64.to_le_bytes());
        data.extend_from_slice(TRAILER_MAGIC);
        std::fs::write(&path, data).unwrap();
        assert!(matches!(read_config(&path), Err(Error::BadTrailer { .. })));
    }
}
