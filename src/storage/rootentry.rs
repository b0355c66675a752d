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
