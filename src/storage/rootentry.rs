//! The image's root directory: the mode, owner and times a layer's `./`
//! entry gives `/`.
//!
//! Overlayfs takes the merged root's attributes from the upper directory,
//! so a container's upper directory must carry those of the topmost layer
//! that has a `./` entry; without one anywhere, `/` is `0555` and root's,
//! the default of Podman's storage (containers/storage's overlay driver,
//! `defaultPerms`). Unpacking records a layer's entry as the extended
//! attribute `user.hutch.root` of the layer's directory (the directory's
//! own attributes stay the store's, so it can be renamed and removed); a
//! layer unpacked before hutch recorded it counts as having none.

use std::os::fd::AsFd;
use std::path::Path;

use nix::sys::stat::futimens;
use nix::sys::time::TimeSpec;

use super::entry::Meta;
use super::{ContainerDirs, Error, LayerRef, Store};
use crate::sys::xattr;

/// The attribute of a layer directory that holds its `./` entry.
const XATTR: &[u8] = b"user.hutch.root";

/// The mode of `/` when no layer has a `./` entry.
pub const DEFAULT_MODE: u32 = 0o555;

/// A layer's `./` entry: what the container's `/` looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RootEntry {
    /// Permission bits (with setuid, setgid and sticky).
    pub mode: u32,
    /// Owner inside the container.
    pub uid: u32,
    /// Group inside the container.
    pub gid: u32,
    /// Modification time: seconds and nanoseconds since the epoch.
    pub mtime: (i64, i64),
}

impl RootEntry {
    /// The entry an unpacked `./` header describes.
    pub(super) fn from_meta(meta: &Meta) -> RootEntry {
        RootEntry {
            mode: meta.mode & 0o7777,
            uid: meta.uid,
            gid: meta.gid,
            mtime: (meta.mtime.tv_sec(), meta.mtime.tv_nsec()),
        }
    }

    /// `MODE UID GID SECONDS NANOSECONDS`, mode in octal.
    fn encode(&self) -> String {
        format!(
            "{:o} {} {} {} {}",
            self.mode, self.uid, self.gid, self.mtime.0, self.mtime.1
        )
    }

    fn decode(text: &[u8]) -> Option<RootEntry> {
        let text = std::str::from_utf8(text).ok()?;
        let mut words = text.split(' ');
        let mut next = || words.next();
        let entry = RootEntry {
            mode: u32::from_str_radix(next()?, 8)
                .ok()
                .filter(|m| *m <= 0o7777)?,
            uid: next()?.parse().ok()?,
            gid: next()?.parse().ok()?,
            mtime: (next()?.parse().ok()?, next()?.parse().ok()?),
        };
        next().is_none().then_some(entry)
    }
}

/// Records `root` on the unpacked layer directory `dir`. Best effort: a
/// filesystem without user xattrs gives the layer the default root.
pub(super) fn record(dir: &Path, root: &RootEntry) {
    let _ = xattr::lset(dir, XATTR, root.encode().as_bytes());
}

impl Store {
    /// The `./` entry of the topmost of `layers` (bottom first, as an
    /// image lists them) that has one.
    pub fn image_root(&self, layers: &[LayerRef]) -> Option<RootEntry> {
        layers.iter().rev().find_map(|l| {
            xattr::lget(&self.layer_path(&l.diff_id), XATTR)
                .ok()
                .flatten()
                .and_then(|v| RootEntry::decode(&v))
        })
    }

    /// Gives a new container's upper directory the mode and times of the
    /// image's root (`DEFAULT_MODE` without one); its owner is set by the
    /// container's init, which may chown to any mapped id.
    pub fn set_upper_root(
        &self,
        dirs: &ContainerDirs,
        root: Option<&RootEntry>,
    ) -> Result<(), Error> {
        let upper = &dirs.upper;
        let err = |source: std::io::Error| Error::SetRoot {
            path: upper.clone(),
            source,
        };
        let mode = root.map_or(DEFAULT_MODE, |r| r.mode);
        let dir = std::fs::File::open(upper).map_err(err)?;
        nix::sys::stat::fchmod(dir.as_fd(), nix::sys::stat::Mode::from_bits_truncate(mode))
            .map_err(|e| err(e.into()))?;
        if let Some(r) = root {
            let t = TimeSpec::new(r.mtime.0, r.mtime.1);
            futimens(dir.as_fd(), &t, &t).map_err(|e| err(e.into()))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// A tar of a `./` entry (`mode`, owned by the caller's ids so no
    /// user namespace is needed) and one file.
    fn layer(mode: u32) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(mode);
        h.set_mtime(1_700_000_000);
        h.set_size(0);
        h.set_path("./").unwrap();
        h.set_cksum();
        b.append(&h, std::io::empty()).unwrap();
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(2);
        h.set_path("f").unwrap();
        h.set_cksum();
        b.append(&h, &b"x\n"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn unpacking_reports_the_root_entry_and_leaves_the_directory_alone() {
        let dir = tempfile::tempdir().unwrap();
        let dest = std::fs::File::open(dir.path()).unwrap();
        let before = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        let opts = super::super::unpack::Options {
            preserve_owner: false,
        };
        let report =
            super::super::unpack::unpack_tar(&layer(0o751)[..], dest.as_fd(), opts).unwrap();
        let root = report.root.unwrap();
        assert_eq!((root.mode, root.mtime), (0o751, (1_700_000_000, 0)));
        assert_eq!(
            std::fs::metadata(dir.path()).unwrap().permissions().mode(),
            before
        );
        assert!(dir.path().join("f").is_file());
    }

    #[test]
    fn the_upper_directory_gets_the_entry_or_the_default_mode() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let dirs = store.container_dirs(&"c".repeat(64));
        std::fs::create_dir_all(&dirs.upper).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        store.set_upper_root(&dirs, None).unwrap();
        assert_eq!(mode(&dirs.upper), DEFAULT_MODE);
        let r = RootEntry {
            mode: 0o751,
            uid: 0,
            gid: 0,
            mtime: (1_700_000_000, 7),
        };
        store.set_upper_root(&dirs, Some(&r)).unwrap();
        assert_eq!(mode(&dirs.upper), 0o751);
        let m = std::fs::metadata(&dirs.upper).unwrap();
        assert_eq!((m.mtime(), m.mtime_nsec()), (1_700_000_000, 7));
    }

    #[test]
    fn entries_round_trip_through_their_text() {
        let r = RootEntry {
            mode: 0o1755,
            uid: 1000,
            gid: 50,
            mtime: (1_700_000_000, 5),
        };
        assert_eq!(r.encode(), "1755 1000 50 1700000000 5");
        assert_eq!(RootEntry::decode(r.encode().as_bytes()), Some(r));
        for bad in [
            "",
            "755",
            "755 0 0 1",
            "755 0 0 1 2 3",
            "99999 0 0 1 2",
            "x 0 0 1 2",
        ] {
            assert_eq!(RootEntry::decode(bad.as_bytes()), None, "{bad:?}");
        }
    }
}
