//! Named volumes through the engine: create, list, find, remove and prune
//! them, their files as a tar, and `volume mount`/`unmount` under `hutch
//! unshare` (`hutch volume …`).
//!
//! The records and directories live in the store; removing a volume's
//! files may need the user's id maps, which the engine reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::imagemount::{self, Error as MountError};
use super::{Engine, Error, PROC};

pub use crate::storage::{VolumeInfo, VolumeRecord, LOCAL_DRIVER};

/// A volume to create (`volume create`), its flags checked.
#[derive(Debug, Clone, Default)]
pub struct NewVolume {
    /// Its name; a random one when none is given (then it is anonymous).
    pub name: Option<String>,
    /// `--label` pairs.
    pub labels: BTreeMap<String, String>,
    /// `--opt` pairs (`type=tmpfs`, `o=…`).
    pub options: BTreeMap<String, String>,
    /// `--ignore`: an existing volume of that name is not an error.
    pub is_existing_ok: bool,
}

impl Engine {
    /// Creates a volume and returns its name, after clearing what killed
    /// removals left behind. Must be called single-threaded.
    pub fn create_volume(&self, req: NewVolume) -> Result<String, Error> {
        let is_anonymous = req.name.is_none();
        let name = req.name.unwrap_or_else(super::volumes::random_name);
        let record = VolumeRecord {
            name: name.clone(),
            driver: LOCAL_DRIVER.into(),
            labels: req.labels,
            options: req.options,
            created: super::now_rfc3339(),
            is_anonymous,
        };
        let maps = self.user_maps()?;
        let store = self.store()?;
        store.sweep_volume_dirs(maps).map_err(Error::Store)?;
        store
            .create_volume(&record, req.is_existing_ok)
            .map_err(Error::Store)?;
        super::events::on_volume(super::events::Status::Create, &name);
        Ok(name)
    }

    /// Every volume, with the containers using it.
    pub fn volumes(&self) -> Result<Vec<VolumeInfo>, Error> {
        self.store()?.list_volumes().map_err(Error::Store)
    }

    /// Volume `name`, which must exist.
    pub fn volume(&self, name: &str) -> Result<VolumeInfo, Error> {
        match self.store()?.find_volume(name).map_err(Error::Store)? {
            Some(v) => Ok(v),
            None => Err(Error::Store(
                crate::storage::VolumeError::NotKnown {
                    name: name.to_string(),
                }
                .into(),
            )),
        }
    }

    /// Whether volume `name` exists.
    pub fn volume_exists(&self, name: &str) -> Result<bool, Error> {
        let found = self.store()?.find_volume(name).map_err(Error::Store)?;
        Ok(found.is_some())
    }

    /// The volumes `volume rm` works on: every volume with `is_all`, else
    /// `names`. Reads the id maps first, so a broken subordinate id range
    /// stops before anything is removed.
    pub fn volume_removal_targets(
        &self,
        is_all: bool,
        names: Vec<String>,
    ) -> Result<Vec<String>, Error> {
        self.user_maps()?;
        let store = self.store()?;
        if !is_all {
            return Ok(names);
        }
        let list = store.list_volumes().map_err(Error::Store)?;
        Ok(list.into_iter().map(|v| v.record.name).collect())
    }

    /// Removes volume `name`; with `is_forced` first the containers using
    /// it (running ones are killed), as Podman does. Must be called
    /// single-threaded.
    pub fn remove_volume(
        &self,
        name: &str,
        is_forced: bool,
        grace: Option<std::time::Duration>,
    ) -> Result<(), Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        store.sweep_volume_dirs(maps).map_err(Error::Store)?;
        if is_forced {
            if let Some(v) = store.find_volume(name).map_err(Error::Store)? {
                for user in &v.users {
                    // With a grace period, stopped first (SIGTERM, then
                    // SIGKILL after it) rather than killed at once.
                    if let Some(grace) = grace {
                        match self.stop(user, Some(grace)) {
                            Ok(()) | Err(Error::NotRunning(_) | Error::NoSuchContainer(_)) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    super::remove(store, user, true, maps, &self.exits_dir())?;
                }
            }
        }
        store.remove_volume(name, maps).map_err(Error::Store)?;
        super::events::on_volume(super::events::Status::Remove, name);
        Ok(())
    }

    /// Removes every volume no container uses that passes `filters`,
    /// telling `removed` each name. One taken into use meanwhile is kept.
    pub fn prune_volumes(
        &self,
        filters: &super::prune::PruneFilters,
        removed: &mut dyn FnMut(&str),
    ) -> Result<(), Error> {
        filters.check_volumes()?;
        let maps = self.user_maps()?;
        let store = self.store()?;
        store.sweep_volume_dirs(maps).map_err(Error::Store)?;
        if filters.is_empty() {
            for name in store.prune_volumes(maps).map_err(Error::Store)? {
                removed(&name);
            }
            return Ok(());
        }
        for v in store.list_volumes().map_err(Error::Store)? {
            let created = super::prune::created_nanos(&v.record.created);
            if v.users.is_empty() && filters.matches_volume(&v.record.labels, created) {
                match store.remove_volume(&v.record.name, maps) {
                    Ok(()) => {
                        super::events::on_volume_pruned(&v.record.name);
                        removed(&v.record.name)
                    }
                    Err(crate::storage::Error::Volume(crate::storage::VolumeError::InUse {
                        ..
                    })) => {}
                    Err(e) => return Err(Error::Store(e)),
                }
            }
        }
        Ok(())
    }

    /// Writes volume `name`'s files to `out` as a tar (`volume export`).
    /// Must be called single-threaded.
    pub fn export_volume(&self, name: &str, out: &mut dyn std::io::Write) -> Result<(), Error> {
        let v = self.volume(name)?;
        let maps = self.user_maps()?;
        Ok(crate::files::export_volume(&v.mountpoint, maps, out)?)
    }

    /// Extracts the tar `input` into volume `name` (`volume import`); a
    /// tmpfs volume, which keeps no files, is refused. Must be called
    /// single-threaded.
    pub fn import_volume(&self, name: &str, input: &mut dyn std::io::Read) -> Result<(), Error> {
        let v = self.volume(name)?;
        if v.record.options.get("type").map(String::as_str) == Some("tmpfs") {
            return Err(Error::TmpfsVolumeImport(v.record.name));
        }
        let maps = self.user_maps()?;
        Ok(crate::files::import_volume(&v.mountpoint, maps, input)?)
    }

    /// `volume mount`: volume `name`'s files made reachable, and where: its
    /// `_data` directory, on which a tmpfs volume gets its tmpfs (once).
    /// Only root in a user namespace (`hutch unshare`) may, as Podman
    /// needs `podman unshare`; the mount lasts as long as that namespace.
    pub fn mount_volume(&self, name: &str) -> Result<PathBuf, Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(MountError::NotInUserns.into());
        }
        let v = self.volume(name)?;
        if !is_tmpfs(&v) || super::rootmount::is_mounted(&v.mountpoint, proc) {
            return Ok(v.mountpoint);
        }
        let err = |source: std::io::Error| MountError::Mount {
            id: v.record.name.clone(),
            path: v.mountpoint.clone(),
            source,
        };
        // Through an fd opened without following symlinks: the path is
        // the store's, but nothing on the way is followed.
        let dir = crate::sys::fs::openat2(
            nix::fcntl::AT_FDCWD,
            &v.mountpoint,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            crate::sys::fs::Resolve::NO_SYMLINKS,
        )
        .map_err(err)?;
        let data = v.record.options.get("o").filter(|o| !o.is_empty());
        nix::mount::mount(
            Some("tmpfs"),
            &crate::sys::fs::proc_fd_path(std::os::fd::AsFd::as_fd(&dir)),
            Some("tmpfs"),
            nix::mount::MsFlags::MS_NOSUID | nix::mount::MsFlags::MS_NODEV,
            data.map(String::as_str),
        )
        .map_err(|e| err(e.into()))?;
        Ok(v.mountpoint)
    }

    /// `volume unmount`: unmounts the tmpfs `volume mount` put on volume
    /// `name` here, if any (a local volume has nothing mounted); returns
    /// its name. Only root in a user namespace may, as for `mount_volume`.
    pub fn unmount_volume(&self, name: &str) -> Result<String, Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(MountError::NotInUserns.into());
        }
        let v = self.volume(name)?;
        if is_tmpfs(&v) && super::rootmount::is_mounted(&v.mountpoint, proc) {
            nix::mount::umount2(&v.mountpoint, nix::mount::MntFlags::MNT_DETACH).map_err(
                |source| MountError::Unmount {
                    path: v.mountpoint.clone(),
                    source,
                },
            )?;
        }
        Ok(v.record.name)
    }
}

/// Whether volume `v` is a tmpfs volume (`--opt type=tmpfs`).
fn is_tmpfs(v: &VolumeInfo) -> bool {
    v.record.options.get("type").map(String::as_str) == Some("tmpfs")
}
