//! Named volumes through the engine: create, list, find, remove and prune
//! them, and their files as a tar (`hutch volume …`).
//!
//! The records and directories live in the store; removing a volume's
//! files may need the user's id maps, which the engine reads.

use std::collections::BTreeMap;

use super::{Engine, Error};

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
        store.remove_volume(name, maps).map_err(Error::Store)
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
                    Ok(()) => removed(&v.record.name),
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
}
