//! The engine handle every front end holds: the CLI today, the REST API,
//! `kube play`, systemd units and `build` later.
//!
//! An `Engine` knows the paths and opens the store and reads the user's id
//! maps only when an operation first needs them. Its operations live in the
//! engine's modules as `impl Engine` blocks; the store itself is visible
//! only inside `container`, so a front end cannot bypass them.

use std::cell::OnceCell;
use std::path::{Path, PathBuf};

use super::Error;
use crate::paths::Paths;
use crate::storage::Store;
use crate::userns::{self, IdMaps};

/// The engine: paths, and the store and id maps once opened.
pub struct Engine {
    paths: Paths,
    store: OnceCell<Store>,
    maps: OnceCell<IdMaps>,
    /// Where warnings about the host or the store go (the CLI prints
    /// them as `Warning:` lines).
    warn: Box<dyn Fn(&str)>,
    /// The global `--cgroup-manager`: what a container created without a
    /// manager of its own request gets (none: hutch picks one).
    pub(super) cgroup_manager: Option<crate::cgroup::Manager>,
    /// Where the default store would have been, and its filesystem, when
    /// it was on a network filesystem and the store is kept on node-local
    /// disk instead (`keep_store_local`).
    pub(super) moved_from: Option<(PathBuf, &'static str)>,
}

impl Engine {
    /// An engine over `paths`; nothing is opened yet.
    pub fn new(paths: Paths) -> Engine {
        Engine {
            paths,
            store: OnceCell::new(),
            maps: OnceCell::new(),
            warn: Box::new(|line| log::warn!("{line}")),
            cgroup_manager: None,
            moved_from: None,
        }
    }

    /// The same engine, with its store on node-local disk
    /// (`paths::local_store_dir`) when the default store would be on a
    /// network filesystem (NFS, Lustre, GPFS, BeeGFS, ...: statfs's
    /// magic), where overlay mounts, xattrs and locks misbehave. A store
    /// chosen with `--root` or `HUTCH_ROOT` stays where it is. Warns once
    /// per boot, naming both places and how to choose another.
    pub fn keep_store_local(mut self) -> Result<Engine, Error> {
        if self.paths.root_source != crate::paths::RootSource::Default {
            return Ok(self);
        }
        let Ok(fs) = crate::storage::fstype::filesystem_of(&self.paths.root) else {
            return Ok(self);
        };
        let uid = nix::unistd::getuid().as_raw();
        let Some(local) = local_store_for(self.paths.root_source, fs.kind, uid) else {
            return Ok(self);
        };
        crate::paths::ensure_local_store(&local, uid)?;
        let from = std::mem::replace(&mut self.paths.root, local.clone());
        let warning = moved_warning(&from, fs.kind.name, &local);
        self.moved_from = Some((from, fs.kind.name));
        self.warn_once_per_boot("local-store-warning", &warning);
        Ok(self)
    }

    /// Reports `warning` unless a warning marked `marker` was reported
    /// since the run directory was made (since boot).
    fn warn_once_per_boot(&self, marker: &str, warning: &str) {
        use std::os::unix::fs::OpenOptionsExt;
        let Ok(runroot) = self.runroot() else {
            (self.warn)(warning);
            return;
        };
        // create_new is the test and the mark in one step: of concurrent
        // invocations exactly one warns.
        if std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(runroot.join(marker))
            .is_ok()
        {
            (self.warn)(warning);
        }
    }

    /// Where the default store would have been and its filesystem's name,
    /// when `keep_store_local` moved it to node-local disk.
    pub fn store_moved_from(&self) -> Option<(&Path, &'static str)> {
        self.moved_from.as_ref().map(|(p, fs)| (p.as_path(), *fs))
    }

    /// The same engine, placing new containers with cgroup manager
    /// `manager` (`systemd` or `cgroupfs`, the global `--cgroup-manager`)
    /// unless their request names one; refuses any other name.
    pub fn with_cgroup_manager(mut self, manager: Option<&str>) -> Result<Engine, Error> {
        self.cgroup_manager = manager
            .map(|m| crate::cgroup::Manager::parse(m).map_err(|_| Error::CgroupManager(m.into())))
            .transpose()?;
        Ok(self)
    }

    /// The same engine, reporting warnings to `warn` instead of the log.
    pub fn on_warning(mut self, warn: impl Fn(&str) + 'static) -> Engine {
        self.warn = Box::new(warn);
        self
    }

    /// The paths the engine works in.
    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// The store, opened on first use. Opening sweeps the debris an
    /// interrupted command left (see `storage::Store::sweep_debris`), when
    /// the store shows any and no other command is writing to it.
    pub(in crate::container) fn store(&self) -> Result<&Store, Error> {
        self.open_store(true)
    }

    /// The store as it is, debris included: opened on first use without
    /// sweeping, for commands that report on the store (`system df`).
    pub(in crate::container) fn store_as_found(&self) -> Result<&Store, Error> {
        self.open_store(false)
    }

    fn open_store(&self, is_swept: bool) -> Result<&Store, Error> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let mut store = Store::open(&self.paths.root).map_err(Error::Store)?;
        store
            .use_volume_path(self.paths.volume_path.as_deref())
            .map_err(Error::Store)?;
        if is_swept && store.may_hold_debris() {
            // Best effort: what cannot go now goes next time, or with
            // `system prune`, which reports its errors.
            let swept = self
                .user_maps()
                .map_err(|e| e.to_string())
                .and_then(|maps| store.sweep_debris(maps, false).map_err(|e| e.to_string()));
            if let Err(e) = swept {
                log::debug!("sweeping the store's debris: {e}");
            }
        }
        if !store.repaired().is_empty() {
            (self.warn)(&repair_warning(
                "the store",
                &self.paths.root,
                store.repaired(),
            ));
        }
        Ok(self.store.get_or_init(|| store))
    }

    /// The run directory, created and checked (see
    /// `Paths::ensure_runroot`); what had to be made private is reported
    /// as a warning.
    pub(in crate::container) fn runroot(&self) -> Result<&Path, crate::paths::Error> {
        let (runroot, repaired) = self.paths.ensure_runroot()?;
        if !repaired.is_empty() {
            (self.warn)(&repair_warning("the run directory", runroot, &repaired));
        }
        Ok(runroot)
    }

    /// The current user's id maps (from /etc/subuid and /etc/subgid, or
    /// the single-id fallback), read on first use.
    pub fn user_maps(&self) -> Result<&IdMaps, Error> {
        if let Some(m) = self.maps.get() {
            return Ok(m);
        }
        let maps = userns::current_user_maps(self.paths.etc()).map_err(Error::Userns)?;
        Ok(self.maps.get_or_init(|| maps))
    }

    /// Why the user's maps are a single-id fallback, if they are: a front
    /// end shows it as a warning.
    pub fn fallback_reason(&self) -> Result<Option<&str>, Error> {
        Ok(self.user_maps()?.fallback_reason.as_deref())
    }
}

/// Where the store goes instead of a default one (`source`) on a
/// filesystem of `kind`: node-local disk when that is a network
/// filesystem; `None` to leave it.
fn local_store_for(
    source: crate::paths::RootSource,
    kind: crate::storage::fstype::FsKind,
    uid: u32,
) -> Option<PathBuf> {
    (source == crate::paths::RootSource::Default && kind.is_network)
        .then(|| crate::paths::local_store_dir(uid))
}

/// The one warning of a store moved from `from` (on `fs`) to `local`.
fn moved_warning(from: &Path, fs: &str, local: &Path) -> String {
    format!(
        "{} is on {fs} (a network filesystem): images and containers are kept on this node in {}; choose another place with --root or {}",
        from.display(),
        local.display(),
        crate::paths::ENV_ROOT
    )
}

/// The warning for `repaired`, the paths in or at `dir` (`what`) whose
/// modes were opened up: each named relative to `dir`, lock files counted.
fn repair_warning(what: &str, dir: &Path, repaired: &[PathBuf]) -> String {
    let mut names: Vec<String> = Vec::new();
    let mut locks = 0;
    for p in repaired {
        match p.strip_prefix(dir) {
            Ok(rel) if rel.as_os_str().is_empty() => names.push(dir.display().to_string()),
            Ok(rel) if rel.parent() == Some(Path::new("locks")) => locks += 1,
            Ok(rel) => names.push(rel.display().to_string()),
            Err(_) => names.push(p.display().to_string()),
        }
    }
    match locks {
        0 => {}
        1 => names.push("1 lock file".into()),
        n => names.push(format!("{n} lock files")),
    }
    format!(
        "{what} {} was open to other users: made private (0700 directories, 0600 files): {}",
        dir.display(),
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_default_store_on_a_network_filesystem_moves_to_local_disk() {
        // issue #18: home directories on NFS, Lustre, GPFS or BeeGFS.
        use crate::paths::RootSource;
        use crate::storage::fstype::kind_of;
        for magic in [0x6969, 0x0bd0_0bd0, 0x4750_4653, 0x1983_0326] {
            assert_eq!(
                local_store_for(RootSource::Default, kind_of(magic), 1001),
                Some(PathBuf::from("/var/tmp/hutch-1001"))
            );
            for forced in [RootSource::Option, RootSource::Env] {
                assert_eq!(local_store_for(forced, kind_of(magic), 1001), None);
            }
        }
        assert_eq!(
            local_store_for(RootSource::Default, kind_of(0xef53), 1001),
            None
        );
        assert_eq!(
            moved_warning(
                Path::new("/home/a/.local/share/hutch"),
                "nfs",
                Path::new("/var/tmp/hutch-1001")
            ),
            "/home/a/.local/share/hutch is on nfs (a network filesystem): images and containers are kept on this node in /var/tmp/hutch-1001; choose another place with --root or HUTCH_ROOT"
        );
    }

    #[test]
    fn a_repair_warning_names_what_was_made_private() {
        let dir = Path::new("/h/.local/share/hutch");
        let repaired: Vec<PathBuf> = ["", "db.sqlite", "locks", "locks/a.lock", "locks/b.lock"]
            .iter()
            .map(|p| dir.join(p))
            .collect();
        assert_eq!(
            repair_warning("the store", dir, &repaired),
            "the store /h/.local/share/hutch was open to other users: made private \
             (0700 directories, 0600 files): /h/.local/share/hutch, db.sqlite, locks, 2 lock files"
        );
    }
}
