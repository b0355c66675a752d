//! The engine's housekeeping and host facts: `system df`, `system prune`,
//! `system reset`, `info`, `unshare`, and `image mount`/`unmount`.
//!
//! Each is an `impl Engine` method; front ends confirm with the user and
//! format the result. Nothing here prints.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{imagemount, Engine, Error, OverlayKind, PROC};
use crate::paths::{ENV_ROOT, ENV_RUNROOT};
use crate::storage::{ContainerStatus, Digest};
use crate::{cgroup, net, userns};

pub use crate::userns::unshare::Outcome as UnshareOutcome;
pub use crate::userns::{IdMap, IdMaps};

/// Disk usage of one kind of object, for `system df`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// How many there are.
    pub total: usize,
    /// How many are in use (images with a container, running containers).
    pub active: usize,
    /// Bytes they hold (shared layers once).
    pub size: u64,
    /// Bytes a prune would free.
    pub reclaimable: u64,
}

/// What `system df` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskUsage {
    /// The images.
    pub images: Usage,
    /// The containers' writable layers.
    pub containers: Usage,
}

/// The containers `system prune` removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrunedContainers {
    /// Their ids.
    pub ids: Vec<String>,
    /// The bytes their writable layers held.
    pub bytes: u64,
}

/// A network helper found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkHelper {
    /// `pasta` or `slirp4netns`.
    pub name: &'static str,
    /// Where it was found.
    pub path: PathBuf,
}

/// How hutch sees this host, for `info`.
#[derive(Debug)]
pub struct HostInfo {
    /// The machine architecture images are pulled for.
    pub arch: String,
    /// The kernel release.
    pub kernel: String,
    /// The cgroup layout (`v2`, `v1 (hybrid)`, `v1`, `none`).
    pub cgroup_version: &'static str,
    /// Where containers go: `systemd`, `cgroupfs` or `none`.
    pub cgroup_manager: &'static str,
    /// Why `none`, else empty.
    pub cgroup_manager_reason: String,
    /// The controllers a container's cgroup gets.
    pub cgroup_controllers: Vec<String>,
    /// The user's id maps.
    pub maps: IdMaps,
    /// The network helpers found.
    pub network_helpers: Vec<NetworkHelper>,
    /// The default `--network` mode's name.
    pub default_network: &'static str,
    /// Why that mode.
    pub default_network_reason: &'static str,
    /// The run directory, made if missing.
    pub runroot: PathBuf,
    /// Which overlay works for the store, or why none does.
    pub overlay: Result<OverlayKind, Error>,
}

impl Engine {
    /// Disk usage of the images and the containers.
    pub fn disk_usage(&self) -> Result<DiskUsage, Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        let containers: Vec<_> = store
            .list_containers()
            .map_err(Error::Store)?
            .into_iter()
            .map(|c| super::observe(store, c))
            .collect::<Result<_, _>>()
            .map_err(Error::Store)?;
        let used: HashSet<&Digest> = containers.iter().map(|c| &c.record.image_id).collect();
        let images = store.list_images().map_err(Error::Store)?;
        // Shared layers count once, at their unpacked size (as `images`
        // shows them).
        let mut seen = HashSet::new();
        let mut img_size = 0;
        let mut img_reclaim = 0;
        for img in &images {
            let sizes = store.layer_sizes(&img.layers).map_err(Error::Store)?;
            for (l, size) in img.layers.iter().zip(sizes) {
                if seen.insert(l.diff_id.clone()) {
                    img_size += size;
                    if !used.contains(&img.id) {
                        img_reclaim += size;
                    }
                }
            }
        }
        let mut ctr_size = 0;
        let mut ctr_reclaim = 0;
        let mut running = 0;
        for c in &containers {
            let n = store.container_upper_size(&c.record.id, maps).unwrap_or(0);
            ctr_size += n;
            if c.state.status == ContainerStatus::Running {
                running += 1;
            } else {
                ctr_reclaim += n;
            }
        }
        Ok(DiskUsage {
            images: Usage {
                total: images.len(),
                active: images.iter().filter(|i| used.contains(&i.id)).count(),
                size: img_size,
                reclaimable: img_reclaim,
            },
            containers: Usage {
                total: containers.len(),
                active: running,
                size: ctr_size,
                reclaimable: ctr_reclaim,
            },
        })
    }

    /// For `system prune`: removes the containers that are not running and
    /// counts the bytes freed. A failure goes to `on_error` and the others
    /// go on.
    pub fn prune_containers_sized(
        &self,
        on_error: &mut dyn FnMut(Error),
    ) -> Result<PrunedContainers, Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        self.sweep_container_leftovers()?;
        let mut out = PrunedContainers::default();
        for info in store.list_containers().map_err(Error::Store)? {
            let info = super::observe(store, info).map_err(Error::Store)?;
            if info.state.status == ContainerStatus::Running {
                continue;
            }
            let id = info.record.id;
            let size = store.container_upper_size(&id, maps).unwrap_or(0);
            match super::remove(store, &id, false, maps, &self.exits_dir()) {
                Ok(()) => {
                    out.ids.push(id);
                    out.bytes += size;
                }
                Err(Error::IsRunning(_) | Error::NoSuchContainer(_)) => {}
                Err(e) => on_error(e),
            }
        }
        Ok(out)
    }

    /// Removes the volumes no container uses; returns their names.
    pub fn prune_unused_volumes(&self) -> Result<Vec<String>, Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        store.sweep_volume_dirs(maps).map_err(Error::Store)?;
        store.prune_volumes(maps).map_err(Error::Store)
    }

    /// For `system reset`: removes every container, killing running ones.
    /// A failure goes to `on_warning` with the container's short id, and
    /// the others go on.
    pub fn remove_all_containers(
        &self,
        on_warning: &mut dyn FnMut(&str, Error),
    ) -> Result<(), Error> {
        let maps = self.user_maps()?;
        if !self.paths().root.exists() {
            return Ok(());
        }
        let store = self.store()?;
        for info in store.list_containers().map_err(Error::Store)? {
            if let Err(e) = super::remove(store, &info.record.id, true, maps, &self.exits_dir()) {
                on_warning(&info.record.id[..12], e);
            }
        }
        Ok(())
    }

    /// For `system reset`: deletes the store and run directories.
    pub fn wipe(&self) -> Result<(), Error> {
        let maps = self.user_maps()?;
        let paths = self.paths();
        crate::storage::wipe(&paths.root, &paths.runroot, maps).map_err(Error::Store)
    }

    /// What `info` shows: the cgroup layout and manager, id maps, network
    /// helpers, the store directories and the overlay that works. Must be
    /// called single-threaded (the overlay probe forks).
    pub fn host_info(&self) -> Result<HostInfo, Error> {
        let paths = self.paths();
        let runroot = self.runroot()?;
        let maps = self.user_maps()?.clone();
        let proc = Path::new(PROC);
        let layout = cgroup::detect_host(proc);
        let host = cgroup::Host::probe(crate::paths::session_bus, proc);
        let (manager, why) = match cgroup::decide(&host, &cgroup::Options::default()) {
            Ok(cgroup::Decision::Systemd { .. }) => ("systemd", String::new()),
            Ok(cgroup::Decision::Cgroupfs { .. }) => ("cgroupfs", String::new()),
            Ok(cgroup::Decision::Skip { warning }) => ("none", warning.unwrap_or_default()),
            Err(e) => ("none", e.to_string()),
        };
        let controllers = host
            .own
            .as_ref()
            .and_then(|own| {
                // What a scope of the user manager gets: the controllers of
                // user@UID.service, else those of our own cgroup.
                let service = own
                    .ancestors()
                    .find(|p| {
                        p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("user@"))
                    })
                    .unwrap_or(own);
                std::fs::read_to_string(service.join("cgroup.controllers")).ok()
            })
            .unwrap_or_default();
        let helpers = net::find_helpers(&std::env::var("PATH").unwrap_or_default());
        let (mode, mode_reason) = net::default_mode(&helpers);
        std::fs::create_dir_all(&paths.root).map_err(|source| Error::CreateStoreRoot {
            path: paths.root.clone(),
            source,
        })?;
        let overlay = super::probe_overlay(&paths.root, &maps);
        Ok(HostInfo {
            arch: crate::image::Platform::host().architecture,
            kernel: nix::sys::utsname::uname()
                .map(|u| u.release().to_string_lossy().into_owned())
                .unwrap_or_default(),
            cgroup_version: layout.version(),
            cgroup_manager: manager,
            cgroup_manager_reason: why,
            cgroup_controllers: controllers.split_whitespace().map(String::from).collect(),
            maps,
            network_helpers: helpers
                .into_iter()
                .map(|h| NetworkHelper {
                    name: h.name,
                    path: h.path,
                })
                .collect(),
            default_network: mode.name(),
            default_network_reason: mode_reason,
            runroot: runroot.to_path_buf(),
            overlay,
        })
    }

    /// Runs `command` as root in the user's user namespace (the default
    /// id maps), with the store's directories in the environment as
    /// `podman unshare` sets them.
    pub fn unshare(&self, command: &[String]) -> Result<UnshareOutcome, Error> {
        let paths = self.paths();
        let maps = self.user_maps()?;
        let env = [
            (
                ENV_ROOT.to_string(),
                paths.root.to_string_lossy().into_owned(),
            ),
            (
                ENV_RUNROOT.to_string(),
                paths.runroot.to_string_lossy().into_owned(),
            ),
        ];
        Ok(userns::unshare::run_command(maps, command, &env)?)
    }

    /// `image mount`: mounts image `name` read-only and returns where. Only
    /// root in a user namespace (`hutch unshare`) may.
    pub fn mount_image(&self, name: &str) -> Result<PathBuf, Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(imagemount::Error::NotInUserns.into());
        }
        let img = self.find_image(name)?;
        Ok(imagemount::mount_image(self.store()?, &img, proc)?)
    }

    /// `image unmount`: unmounts image `name`; returns its id.
    pub fn unmount_image(&self, name: &str) -> Result<Digest, Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(imagemount::Error::NotInUserns.into());
        }
        let img = self.find_image(name)?;
        imagemount::unmount_image(self.store()?, &img, proc)?;
        Ok(img.id)
    }
}
