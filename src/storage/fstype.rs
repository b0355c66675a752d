//! The filesystem the store lives on, told by its `statfs` magic
//! (statfs(2), linux/magic.h and the vendors' headers), for `doctor`.

use std::path::{Path, PathBuf};

/// A filesystem type as `doctor` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsKind {
    /// The magic number.
    pub magic: i64,
    /// Its usual name (`nfs`, `lustre`, ...), or `unknown`.
    pub name: &'static str,
    /// Whether it is shared over the network (its locking, xattrs and
    /// ownership do not suit a container store).
    pub is_network: bool,
}

/// (magic, name, is_network).
const KINDS: &[(i64, &str, bool)] = &[
    (0x6969, "nfs", true),
    (0x0bd0_0bd0, "lustre", true),
    (0x4750_4653, "gpfs", true),
    (0x1983_0326, "beegfs", true),
    (0xff53_4d42, "cifs", true),
    (0xfe53_4d42, "smb2", true),
    (0x517b, "smb", true),
    (0x00c3_6400, "ceph", true),
    (0x5346_414f, "afs", true),
    (0x6b41_4653, "afs", true),
    (0x0102_1997, "9p", true),
    (0xaad7_aaea, "panfs", true),
    (0x6573_5546, "fuse", false),
    (0x794c_7630, "overlay", false),
    (0x0102_1994, "tmpfs", false),
    (0x8584_58f6, "ramfs", false),
    (0xef53, "ext4", false),
    (0x5846_5342, "xfs", false),
    (0x9123_683e, "btrfs", false),
    (0x2fc1_2fc1, "zfs", false),
    (0xf15f, "ecryptfs", false),
    (0xf2f5_2010, "f2fs", false),
];

/// Names the filesystem with magic number `magic`.
pub fn kind_of(magic: i64) -> FsKind {
    let (name, is_network) = KINDS
        .iter()
        .find(|(m, _, _)| *m == magic)
        .map_or(("unknown", false), |(_, n, net)| (*n, *net));
    FsKind {
        magic,
        name,
        is_network,
    }
}

/// Where a path's filesystem was looked at, and what it holds.
#[derive(Debug, Clone)]
pub struct FsInfo {
    /// The path, or its nearest existing ancestor.
    pub path: PathBuf,
    /// The filesystem's type.
    pub kind: FsKind,
    /// Bytes an unprivileged user may still write.
    pub available: u64,
    /// The filesystem's size in bytes.
    pub size: u64,
}

/// The filesystem `path` (or, before it exists, its nearest existing
/// ancestor) lives on.
pub fn filesystem_of(path: &Path) -> std::io::Result<FsInfo> {
    let mut at = path.to_path_buf();
    while !at.exists() {
        match at.parent() {
            Some(p) => at = p.to_path_buf(),
            None => break,
        }
    }
    let fs = nix::sys::statfs::statfs(&at).map_err(std::io::Error::from)?;
    let vfs = nix::sys::statvfs::statvfs(&at).map_err(std::io::Error::from)?;
    #[allow(clippy::unnecessary_cast)] // the magic's width differs by libc
    let magic = fs.filesystem_type().0 as i64;
    #[allow(clippy::unnecessary_cast)]
    let block = vfs.fragment_size() as u64;
    #[allow(clippy::unnecessary_cast)]
    let (avail, blocks) = (vfs.blocks_available() as u64, vfs.blocks() as u64);
    Ok(FsInfo {
        path: at,
        kind: kind_of(magic),
        available: avail.saturating_mul(block),
        size: blocks.saturating_mul(block),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_filesystems_are_told_by_magic() {
        for (magic, name) in [
            (0x6969, "nfs"),
            (0x0bd0_0bd0, "lustre"),
            (0x4750_4653, "gpfs"),
            (0x1983_0326, "beegfs"),
        ] {
            let k = kind_of(magic);
            assert_eq!((k.name, k.is_network), (name, true));
        }
        assert!(!kind_of(0xef53).is_network);
        assert_eq!(kind_of(0x794c_7630).name, "overlay");
        assert_eq!(kind_of(1).name, "unknown");
    }

    #[test]
    fn a_missing_path_is_looked_up_at_its_ancestor() {
        let dir = tempfile::tempdir().unwrap();
        let info = filesystem_of(&dir.path().join("not/yet")).unwrap();
        assert_eq!(info.path, dir.path());
        assert!(info.size > 0);
    }
}
