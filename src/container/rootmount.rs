//! `mount` / `unmount`: a container's root filesystem (its image's layers
//! under its writable layer) mounted read-write where a script can reach
//! it, as `podman mount` does.
//!
//! As for `image mount`, only root in a user namespace that owns a mount
//! namespace (`hutch unshare`) may mount: the mount lives as long as that
//! namespace, on the container's own `merged` directory. Which containers
//! are mounted is read from this namespace's mount table, not recorded.

use std::path::{Path, PathBuf};

use nix::mount::{umount2, MntFlags};

use super::imagemount::{self, Error as MountError};
use super::{files, Engine, Error, PROC};
use crate::runtime::overlay::{self, RootDirs};

/// A mounted container, for `mount` without arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountedContainer {
    /// Its full id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where its root filesystem is mounted.
    pub mountpoint: PathBuf,
}

/// A mounted image, for `image mount` without arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountedImage {
    /// Its full id.
    pub id: String,
    /// Its names (none for an image without one).
    pub names: Vec<String>,
    /// Its manifest's digest.
    pub digest: String,
    /// Where it is mounted.
    pub mountpoint: PathBuf,
}

/// The mount points in `mountinfo` (a `/proc/PID/mountinfo` text), with
/// the kernel's octal escapes of spaces and the like undone.
fn mount_points(mountinfo: &str) -> Vec<PathBuf> {
    mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(|p| PathBuf::from(unescape(p)))
        .collect()
}

/// Undoes mountinfo's `\ooo` escapes.
fn unescape(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `path` is a mount point in this mount namespace (`proc`'s
/// `self/mountinfo`).
pub(super) fn is_mounted(path: &Path, proc: &Path) -> bool {
    let table = std::fs::read_to_string(proc.join("self/mountinfo")).unwrap_or_default();
    mount_points(&table).iter().any(|p| p == path)
}

impl Engine {
    /// `mount`: mounts container `name`'s root filesystem (once) and
    /// returns where. Only root in a user namespace (`hutch unshare`) may.
    pub fn mount_container(&self, name: &str) -> Result<PathBuf, Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(MountError::NotInUserns.into());
        }
        let maps = self.user_maps()?;
        let layout = files::layout_of(self.store()?, name, maps)?;
        let merged = layout.dirs.merged.clone();
        if is_mounted(&merged, proc) {
            return Ok(merged);
        }
        let err = |source| MountError::Mount {
            id: layout.info.record.id.chars().take(12).collect(),
            path: merged.clone(),
            source,
        };
        std::fs::create_dir_all(&merged).map_err(|source| MountError::CreateDir {
            path: merged.clone(),
            source,
        })?;
        RootDirs::open(&layout.lowers, &layout.dirs)
            .and_then(|open| overlay::mount_rootfs(&open))
            .map_err(|f| err(std::io::Error::from_raw_os_error(f.errno)))?;
        super::events::on_info(&layout.info, super::events::Status::Mount);
        Ok(merged)
    }

    /// `unmount`: unmounts container `name`'s root filesystem if it is
    /// mounted here; returns its full id.
    pub fn unmount_container(&self, name: &str) -> Result<String, Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(MountError::NotInUserns.into());
        }
        let id = self.container_id(name)?;
        let merged = self.store()?.container_dirs(&id).merged;
        if is_mounted(&merged, proc) {
            umount2(&merged, MntFlags::MNT_DETACH).map_err(|source| MountError::Unmount {
                path: merged.clone(),
                source,
            })?;
            super::events::on_container(self.store()?, &id, super::events::Status::Unmount);
        }
        Ok(id)
    }

    /// The containers mounted in this mount namespace, oldest first.
    pub fn mounted_containers(&self) -> Result<Vec<MountedContainer>, Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(MountError::NotInUserns.into());
        }
        let store = self.store()?;
        let table = std::fs::read_to_string(proc.join("self/mountinfo")).unwrap_or_default();
        let points = mount_points(&table);
        let mut out = Vec::new();
        for c in store
            .list_containers()
            .map_err(Error::Store)?
            .into_iter()
            .rev()
        {
            let merged = store.container_dirs(&c.record.id).merged;
            if points.contains(&merged) {
                out.push(MountedContainer {
                    id: c.record.id,
                    name: c.record.name,
                    mountpoint: merged,
                });
            }
        }
        Ok(out)
    }

    /// The images mounted in this mount namespace (`image mount` without
    /// arguments), read from its mount table.
    pub fn mounted_images(&self) -> Result<Vec<MountedImage>, Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(MountError::NotInUserns.into());
        }
        let store = self.store()?;
        let table = std::fs::read_to_string(proc.join("self/mountinfo")).unwrap_or_default();
        let points = mount_points(&table);
        let mut out = Vec::new();
        for img in store.list_images().map_err(Error::Store)? {
            let merged = imagemount::dirs_of(store, &img).merged;
            if points.contains(&merged) {
                out.push(MountedImage {
                    id: img.id.hex().to_string(),
                    names: img.names.clone(),
                    digest: img.manifest_digest.to_string(),
                    mountpoint: merged,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_come_from_the_fifth_field_unescaped() {
        let table = "22 1 0:21 / /proc rw,nosuid - proc proc rw\n\
                     90 22 0:50 / /home/u/a\\040b/merged rw - overlay overlay rw\n";
        assert_eq!(
            mount_points(table),
            [PathBuf::from("/proc"), PathBuf::from("/home/u/a b/merged")]
        );
    }

    #[test]
    fn unescape_leaves_a_lone_backslash() {
        assert_eq!(unescape("a\\b\\011c"), "a\\b\tc");
    }
}
