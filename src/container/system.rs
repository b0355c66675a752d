//! The engine's housekeeping and host facts: `system df`, `system prune`,
//! `system reset`, `info`, `unshare`, and `image mount`/`unmount`.
//!
//! Each is an `impl Engine` method; front ends confirm with the user and
//! format the result. Nothing here prints.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::{disk, imagemount, Engine, Error, OverlayKind, PROC};
use crate::paths::{ENV_ROOT, ENV_RUNROOT};
use crate::storage::{ContainerStatus, Digest};
use crate::{cgroup, net, userns};

pub use super::disk::{ContainerSpace, ImageSpace, VolumeSpace};
pub use crate::storage::Debris;

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
    /// The volumes (active: the containers using them, as Podman counts).
    pub volumes: Usage,
    /// What interrupted commands left (see `storage::Debris`), all of it
    /// reclaimable; nothing while another command writes to the store.
    pub debris: Usage,
    /// Each image (`--verbose`).
    pub image_rows: Vec<ImageSpace>,
    /// Each container (`--verbose`).
    pub container_rows: Vec<ContainerSpace>,
    /// Each volume (`--verbose`).
    pub volume_rows: Vec<VolumeSpace>,
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

/// Points hutch's standard output at /dev/null for the rest of the
/// command, its children included (`--noout`).
pub fn discard_stdout() -> std::io::Result<()> {
    crate::sys::process::discard_stdout()
}

/// Makes this process run from a sealed copy of hutch, re-executing it
/// with the same arguments and standard input if it does not yet, as
/// `exec` needs (the REST service does this before it serves).
pub fn ensure_sealed() -> Result<(), Error> {
    Ok(crate::runtime::hardening::ensure_sealed_exe(Path::new(
        PROC,
    ))?)
}

/// This process's standard input (a connection `system service` passed
/// on), taken: standard input becomes /dev/null.
pub fn take_stdin() -> std::io::Result<std::os::fd::OwnedFd> {
    crate::sys::process::take_stdin()
}

/// The listening socket systemd passed to this process by socket
/// activation (`LISTEN_FDS`), taken once; `None` without one.
pub fn take_activated_socket() -> Option<std::os::fd::OwnedFd> {
    crate::sys::socket::take_activated_fd(
        crate::paths::ENV_LISTEN_PID,
        crate::paths::ENV_LISTEN_FDS,
    )
}

/// Sends this process's standard output and error to the file `path`,
/// made (mode 0600) or emptied first (`build --logfile`).
pub fn send_output_to(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    crate::sys::process::redirect_output(&file)
}

impl Engine {
    /// Brings the store's database up to this version's schema now
    /// (`system migrate`); opening the store does it, so this only opens.
    pub fn migrate_store(&self) -> Result<(), Error> {
        self.store().map(|_| ())
    }

    /// Disk usage of the images, containers and volumes, in total and
    /// each; measuring forks where subordinate ids made files unreadable.
    pub fn disk_usage(&self) -> Result<DiskUsage, Error> {
        let maps = self.user_maps()?;
        // Not swept on the way: the debris is what this reports.
        let store = self.store_as_found()?;
        let containers: Vec<_> = store
            .list_containers()
            .map_err(Error::Store)?
            .into_iter()
            .map(|c| self.observe(c))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
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
        let volumes = store.list_volumes().map_err(Error::Store)?;
        let image_rows = disk::images(&images, &containers);
        let container_rows = disk::containers(store, &containers, &volumes, maps)?;
        let volume_rows = disk::volumes(store, &volumes, maps);
        let mut ctr_size = 0;
        let mut ctr_reclaim = 0;
        let mut running = 0;
        for c in &container_rows {
            ctr_size += c.size;
            if c.status == ContainerStatus::Running {
                running += 1;
            } else {
                ctr_reclaim += c.size;
            }
        }
        let debris = store
            .list_debris(maps)
            .map_err(Error::Store)?
            .unwrap_or_default();
        for d in &debris {
            log::debug!("{}: {} ({} bytes)", d.kind.name(), d.path.display(), d.size);
        }
        let debris_size = debris.iter().map(|d| d.size).sum();
        Ok(DiskUsage {
            debris: Usage {
                total: debris.len(),
                active: 0,
                size: debris_size,
                reclaimable: debris_size,
            },
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
            volumes: Usage {
                total: volume_rows.len(),
                active: volume_rows.iter().map(|v| v.links).sum(),
                size: volume_rows.iter().map(|v| v.size).sum(),
                reclaimable: volume_rows
                    .iter()
                    .filter(|v| v.links == 0)
                    .map(|v| v.size)
                    .sum(),
            },
            image_rows,
            container_rows,
            volume_rows,
        })
    }

    /// For `system prune`: removes the containers that are not running and
    /// counts the bytes freed. A failure goes to `on_error` and the others
    /// go on.
    pub fn prune_containers_sized(
        &self,
        filters: &super::prune::PruneFilters,
        on_error: &mut dyn FnMut(Error),
    ) -> Result<PrunedContainers, Error> {
        filters.check_containers()?;
        let maps = self.user_maps()?;
        let store = self.store()?;
        self.sweep_container_leftovers()?;
        let mut out = PrunedContainers::default();
        for info in store.list_containers().map_err(Error::Store)? {
            let Some(info) = self.observe(info)? else {
                continue;
            };
            if info.state.status == ContainerStatus::Running
                || !super::prune::is_container_pruned(filters, &info)
            {
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

    /// For `system prune`: removes the debris interrupted commands left
    /// (nothing while another command writes to the store); returns what
    /// it removed, measured.
    pub fn prune_debris(&self) -> Result<Vec<Debris>, Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        Ok(store
            .sweep_debris(maps, true)
            .map_err(Error::Store)?
            .unwrap_or_default())
    }

    /// For `image prune --external`: removes what hutch has no record of,
    /// container directories without a container and the debris of
    /// interrupted commands (`system check --repair`'s sweeps); returns
    /// the debris removed. Must be called single-threaded.
    pub fn prune_external(&self) -> Result<Vec<Debris>, Error> {
        self.sweep_container_leftovers()?;
        self.prune_debris()
    }

    /// Removes the volumes no container uses that pass `filters`; returns
    /// their names.
    pub fn prune_unused_volumes(
        &self,
        filters: &super::prune::PruneFilters,
    ) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        self.prune_volumes(filters, &mut |name| names.push(name.to_string()))?;
        Ok(names)
    }

    /// For `system reset`: removes every container, killing running ones.
    /// A failure goes to `on_warning` with the container's short id, and
    /// the others go on. Works without a readable database: then, and
    /// after the recorded containers, every process still running for the
    /// store (monitors, and containers found by their overlay mount) is
    /// killed, from what /proc shows.
    pub fn remove_all_containers(
        &self,
        on_warning: &mut dyn FnMut(&str, Error),
    ) -> Result<(), Error> {
        let maps = self.user_maps()?;
        let root = self.paths().root.clone();
        if !root.exists() {
            return Ok(());
        }
        let listed = self
            .store()
            .and_then(|store| Ok((store, store.list_containers().map_err(Error::Store)?)));
        match listed {
            Ok((store, containers)) => {
                for info in containers {
                    if let Err(e) =
                        super::remove(store, &info.record.id, true, maps, &self.exits_dir())
                    {
                        on_warning(&info.record.id[..12], e);
                    }
                }
            }
            Err(e) => log::debug!(
                "the store's records cannot be read ({}): stopping its containers from what /proc shows",
                crate::error::render_chain(&e)
            ),
        }
        kill_store_processes(&root, Path::new(PROC));
        Ok(())
    }

    /// For `system reset`: deletes the store and run directories.
    pub fn wipe(&self) -> Result<(), Error> {
        let maps = self.user_maps()?;
        let paths = self.paths();
        // Volumes kept outside the root (--volumepath) go too.
        let volumes = self.store().ok().and_then(|s| s.volumes_outside_root());
        crate::storage::wipe(&paths.root, &paths.runroot, maps).map_err(Error::Store)?;
        match volumes {
            Some(dir) => crate::storage::wipe(&dir, &dir, maps).map_err(Error::Store),
            None => Ok(()),
        }
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
        let opts = cgroup::Options {
            manager: self.cgroup_manager,
            ..cgroup::Options::default()
        };
        let (manager, why) = match cgroup::decide(&host, &opts) {
            Ok(cgroup::Decision::Systemd { .. }) => ("systemd", String::new()),
            Ok(cgroup::Decision::Cgroupfs { .. }) => ("cgroupfs", String::new()),
            Ok(cgroup::Decision::Skip { warning }) => ("none", warning.unwrap_or_default()),
            Err(e) => ("none", e.to_string()),
        };
        // What a scope of the user manager gets: the controllers of
        // user@UID.service, else those of our own cgroup (v2 only).
        let controllers = match host.layout {
            cgroup::Layout::Unified => cgroup::delegated_controllers(proc, host.layout)
                .map(|(_, list)| list)
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let helpers = net::find_helpers(&std::env::var("PATH").unwrap_or_default());
        let is_online = net::host_route(std::path::Path::new(super::PROC))
            .gateway
            .is_some();
        let (mode, mode_reason) = net::default_mode_for(&helpers, is_online);
        crate::storage::Store::make_dirs(&paths.root).map_err(Error::Store)?;
        // Mounts a throwaway overlay in a user namespace: single-threaded.
        let overlay = crate::runtime::probe_overlay(&paths.root, &maps).map_err(Error::from);
        Ok(HostInfo {
            arch: crate::image::Platform::host().architecture,
            kernel: nix::sys::utsname::uname()
                .map(|u| u.release().to_string_lossy().into_owned())
                .unwrap_or_default(),
            cgroup_version: layout.version(),
            cgroup_manager: manager,
            cgroup_manager_reason: why,
            cgroup_controllers: controllers,
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

    /// `image mount`: mounts image `name` read-only and returns its id
    /// and where. Only root in a user namespace (`hutch unshare`) may.
    pub fn mount_image(&self, name: &str) -> Result<(Digest, PathBuf), Error> {
        let proc = Path::new(PROC);
        if !imagemount::is_root_in_userns(proc) {
            return Err(imagemount::Error::NotInUserns.into());
        }
        let img = self.find_image(name)?;
        let path = imagemount::mount_image(self.store()?, &img, proc)?;
        Ok((img.id, path))
    }

    /// The full ids of every image in the store (`image mount --all`).
    pub fn image_ids(&self) -> Result<Vec<String>, Error> {
        let images = self.store()?.list_images().map_err(Error::Store)?;
        Ok(images.into_iter().map(|i| i.id.hex().to_string()).collect())
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

/// SIGKILLs every process (other than this one) working for the store at
/// `root`, as `proc` shows them: a monitor or pod infra started with
/// `--root ROOT`, and every process whose mounts (a container's overlay)
/// or command line (fuse-overlayfs) name a directory under
/// `ROOT/containers/`. A container's processes die with its init (it is
/// its pid namespace's init) and its monitor's init with the monitor.
fn kill_store_processes(root: &Path, proc: &Path) {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir(proc) else {
        return;
    };
    for e in entries.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let dir = e.path();
        let cmdline = std::fs::read(dir.join("cmdline")).unwrap_or_default();
        let mountinfo = std::fs::read_to_string(dir.join("mountinfo")).unwrap_or_default();
        if is_store_process(&cmdline, &mountinfo, root) {
            if let Ok(pid) = i32::try_from(pid) {
                log::debug!("killing process {pid}, which works for the store");
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
    }
}

/// Whether a process with NUL-separated `cmdline` and `mountinfo` works
/// for the store at `root` (see `kill_store_processes`).
fn is_store_process(cmdline: &[u8], mountinfo: &str, root: &Path) -> bool {
    let root = root.to_string_lossy();
    let containers = format!("{}/containers/", root.trim_end_matches('/'));
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let is_helper = args.iter().any(|a| {
        *a == super::monitor::MONITOR_COMMAND.as_bytes()
            || *a == super::pod::INFRA_COMMAND.as_bytes()
            || *a == super::netholder::HOLDER_COMMAND.as_bytes()
    });
    let has_root = args
        .windows(2)
        .any(|w| w[0] == b"--root" && w[1] == root.as_bytes());
    (is_helper && has_root)
        || String::from_utf8_lossy(cmdline).contains(&containers)
        || mountinfo.contains(&containers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_processes_are_told_by_command_line_or_mounts() {
        // issue #21 item 7: `system reset` finds them without the database.
        let root = Path::new("/home/u/.local/share/hutch");
        let monitor = b"/usr/bin/hutch\0--root\0/home/u/.local/share/hutch\0--runroot\0/run/user/1/hutch\0container-monitor\0abc\0";
        assert!(is_store_process(monitor, "", root));
        let other_store = b"/usr/bin/hutch\0--root\0/elsewhere\0container-monitor\0abc\0";
        assert!(!is_store_process(other_store, "", root));
        let init = "22 1 0:50 / / rw - overlay overlay rw,lowerdir=/home/u/.local/share/hutch/layers/aa,upperdir=/home/u/.local/share/hutch/containers/abc/upper,workdir=/home/u/.local/share/hutch/containers/abc/work\n";
        assert!(is_store_process(b"sleep\x001000\0", init, root));
        let fuse = b"fuse-overlayfs\0-o\0lowerdir=/x,upperdir=/home/u/.local/share/hutch/containers/abc/upper\0";
        assert!(is_store_process(fuse, "", root));
        assert!(!is_store_process(
            b"bash\0",
            "1 0 0:1 / / rw - ext4 /dev/sda rw\n",
            root
        ));
        // A `hutch run` in the foreground is the user's, not the store's.
        assert!(!is_store_process(b"hutch\0run\0busybox\0", "", root));
    }
}
