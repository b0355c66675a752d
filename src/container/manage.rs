//! Changing recorded containers through the engine: start, stop, kill,
//! restart, wait, rename, remove and prune them, freeze and update their
//! cgroups, and the detached monitor's side of a start.
//!
//! Each operation opens the store (and reads the user's id maps) through
//! the `Engine` and calls the lifecycle, so no front end holds either.

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{limits, Detached, Engine, Error, Progress, UpdateRequest, WaitCondition, PROC};
use crate::error::render_chain;
use crate::storage::ContainerStatus;

pub use crate::storage::is_valid_container_name;

impl Engine {
    /// Where removed containers leave their exit codes for `wait`.
    pub(super) fn exits_dir(&self) -> PathBuf {
        super::wait::exits_dir(&self.paths().runroot)
    }

    /// Starts the created or exited container `name` through a new
    /// monitor; a running one is left alone. Returns its full id.
    pub fn start(&self, name: &str) -> Result<String, Error> {
        // --requires: what it needs runs first.
        if let Ok(plan) = self.container(name).and_then(|i| super::load_spec(&i)) {
            self.start_requirements(&plan)?;
        }
        self.start_alone(name)
    }

    /// Starts container `name` as `start` does, without its requirements.
    pub(super) fn start_alone(&self, name: &str) -> Result<String, Error> {
        self.start_infra_of(name)?;
        let paths = self.paths();
        super::start(self.store()?, name, &paths.root, &paths.runroot)
    }

    /// Stops container `name` (its stop signal, SIGKILL after `timeout`, or
    /// after its own stop timeout when `None`) and returns once it has
    /// exited.
    pub fn stop(&self, name: &str, timeout: Option<Duration>) -> Result<(), Error> {
        super::stop_within(self.store()?, name, timeout, &self.exits_dir())
    }

    /// Stops container `name`, then starts it again.
    pub fn restart(&self, name: &str, timeout: Option<Duration>) -> Result<(), Error> {
        super::events::on_container(self.store()?, name, super::events::Status::Restart);
        self.stop(name, timeout)?;
        self.start(name)?;
        Ok(())
    }

    /// Sends `sig` to the running container `name`.
    pub fn kill(&self, name: &str, sig: Signal) -> Result<(), Error> {
        super::kill(self.store()?, name, sig, &self.exits_dir())
    }

    /// Waits for container `id` (called `name` in errors) to meet any of
    /// `conditions`, looking every `interval`; returns its exit code once
    /// it has stopped (also when it was removed meanwhile), `None` when
    /// another condition was met.
    pub fn wait_for(
        &self,
        id: &str,
        name: &str,
        conditions: &[WaitCondition],
        interval: Duration,
    ) -> Result<Option<i32>, Error> {
        let exits = self.exits_dir();
        super::wait_for(self.store()?, id, name, conditions, interval, &exits)
    }

    /// Serves as a systemd service's main process for containers `ids`
    /// (`kube play --service-container`, Quadlet's `.kube` units): tells
    /// `NOTIFY_SOCKET` this process is the main one and ready, waits until
    /// every container has stopped (or is gone), and returns the exit code
    /// `propagation` makes of theirs.
    pub fn serve_as_unit(
        &self,
        ids: &[String],
        propagation: ExitPropagation,
    ) -> Result<i32, Error> {
        crate::runtime::send_ready(nix::unistd::getpid());
        let mut codes = Vec::new();
        for id in ids {
            let code = self.wait_for(
                id,
                id,
                &[WaitCondition::Stopped],
                Duration::from_millis(250),
            )?;
            codes.push(code.unwrap_or(0));
        }
        Ok(propagation.exit_code(&codes))
    }

    /// Waits until container `id`, which the caller started, has stopped
    /// and returns its exit code, also when it has removed itself (`--rm`).
    pub fn wait_started(&self, id: &str) -> Result<i32, Error> {
        let exits = self.exits_dir();
        super::wait_started(self.store()?, id, &exits)
    }

    /// The containers `rm` works on: every container with `is_all`, else
    /// `names`. Reads the id maps first, so a broken subordinate id range
    /// stops `rm` before anything is removed.
    pub fn removal_targets(&self, is_all: bool, names: Vec<String>) -> Result<Vec<String>, Error> {
        self.user_maps()?;
        let store = self.store()?;
        if !is_all {
            return Ok(names);
        }
        let list = store.list_containers().map_err(Error::Store)?;
        Ok(list.into_iter().map(|c| c.record.id).collect())
    }

    /// Removes container `name`, killing it first when `is_forced`; with
    /// `with_volumes` also its anonymous volumes, except those another
    /// container still mounts. Must be called single-threaded.
    pub fn remove(&self, name: &str, is_forced: bool, with_volumes: bool) -> Result<(), Error> {
        self.remove_with_maps(name, is_forced, with_volumes, self.user_maps()?)
    }

    /// `remove` of a container whose files are owned through `maps` (a
    /// pod member's are its pod's).
    pub(super) fn remove_with_maps(
        &self,
        name: &str,
        is_forced: bool,
        with_volumes: bool,
        maps: &crate::userns::IdMaps,
    ) -> Result<(), Error> {
        let store = self.store()?;
        // Looked up first: the links go with the container's record.
        let id = store
            .find_container(name)
            .map_err(Error::Store)?
            .map(|info| info.record.id);
        // As Podman: what others --requires goes only after them.
        if let Some(id) = &id {
            let dependents = self.dependents(id)?;
            if !dependents.is_empty() {
                return Err(Error::HasDependents {
                    id: id.clone(),
                    dependents: dependents.join(", "),
                });
            }
        }
        let anonymous = match (&id, with_volumes) {
            (Some(id), true) => store.anonymous_volumes_of(id).map_err(Error::Store)?,
            _ => Vec::new(),
        };
        // The container's exit code stays a while for `wait` (see
        // `wait::write_exit_code`); older ones go now.
        let exits = self.exits_dir();
        super::remove(store, name, is_forced, maps, &exits)?;
        super::wait::prune_exit_codes(&exits, std::time::SystemTime::now());
        for v in &anonymous {
            match store.remove_volume(v, maps) {
                // Still mounted by another container (--volumes-from): kept.
                Ok(())
                | Err(crate::storage::Error::Volume(crate::storage::VolumeError::InUse {
                    ..
                })) => {}
                Err(e) => return Err(Error::Store(e)),
            }
        }
        Ok(())
    }

    /// Removes every container that is not running and passes `filters`,
    /// telling `removed` each id removed and each failure; one that
    /// starts, or is removed by someone else, meanwhile is left alone.
    /// Must be called single-threaded.
    pub fn prune_containers(
        &self,
        filters: &super::prune::PruneFilters,
        removed: &mut dyn FnMut(Result<String, Error>),
    ) -> Result<(), Error> {
        filters.check_containers()?;
        let maps = self.user_maps()?;
        let store = self.store()?;
        let exits = self.exits_dir();
        self.sweep_container_leftovers()?;
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
            match super::remove(store, &id, false, maps, &exits) {
                Ok(()) => removed(Ok(id)),
                // Started or removed since the listing: not ours to prune.
                Err(Error::IsRunning(_) | Error::NoSuchContainer(_)) => {}
                Err(e) => removed(Err(e)),
            }
        }
        Ok(())
    }

    /// Removes what killed creates and removals left: directories of
    /// containers without a record, and exit codes of removed containers
    /// older than `wait` needs them. Must be called single-threaded.
    pub(super) fn sweep_container_leftovers(&self) -> Result<(), Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        store
            .remove_orphan_container_dirs(maps)
            .map_err(Error::Store)?;
        super::wait::prune_exit_codes(&self.exits_dir(), std::time::SystemTime::now());
        Ok(())
    }

    /// Gives container `name` the (valid) name `new_name`.
    pub fn rename(&self, name: &str, new_name: &str) -> Result<(), Error> {
        let store = self.store()?;
        let no_such = || Error::NoSuchContainer(name.to_string());
        let info = store
            .find_container(name)
            .map_err(Error::Store)?
            .ok_or_else(no_such)?;
        match store.rename_container(&info.record.id, new_name) {
            Ok(()) => {
                super::events::on_container(store, &info.record.id, super::events::Status::Rename);
                Ok(())
            }
            Err(crate::storage::Error::ContainerNotKnown { .. }) => Err(no_such()),
            Err(e) => Err(Error::Store(e)),
        }
    }

    /// Freezes (`frozen`) or thaws running container `name`; returns its id.
    pub fn pause(&self, name: &str, frozen: bool) -> Result<String, Error> {
        let id = limits::pause(self.store()?, name, frozen, Path::new(PROC))?;
        let status = match frozen {
            true => super::events::Status::Pause,
            false => super::events::Status::Unpause,
        };
        super::events::on_container(self.store()?, &id, status);
        Ok(id)
    }

    /// Lays `newer` over container `name`'s limits: written into its
    /// cgroup when it runs, and into its spec for later starts. Returns its
    /// id.
    pub fn update(&self, req: &UpdateRequest, progress: &dyn Progress) -> Result<String, Error> {
        let newer = super::parse_limits(&req.limits)?;
        super::resources::warn_ignored_limits(&req.limits, progress);
        super::options::check_swappiness(req.memory_swappiness, progress)?;
        limits::update(self.store()?, &req.container, &newer, Path::new(PROC))
    }

    /// In the detached monitor: starts container `id` from its spec,
    /// records it running and opens its attach socket (without which it
    /// still runs and logs). Must be called single-threaded.
    pub fn start_monitored(&self, id: &str) -> Result<Detached, Error> {
        self.start_notify_relay(id);
        let mut detached = super::start_monitored(self.store()?, id)?;
        // Before the report, so `attach` works once `run -d` returns.
        let dir = super::attach::attach_dir(&self.paths().runroot);
        if let Err(e) = detached.listen(&dir) {
            log::debug!("no attach socket: {}", render_chain(&e));
        }
        detached.schedule_checks(&self.paths().root, &self.paths().runroot);
        // For units of the existing container (`generate systemd`), as
        // conmon writes conmon.pid: this process is the monitor.
        let pid_file = super::gensys::monitor_pid_file(&self.paths().runroot, id);
        super::gensys::write_pid_file(&pid_file, std::process::id());
        Ok(detached)
    }

    /// In the monitor, before the start: the relay of the container's
    /// readiness messages, if it has one (`notify`). Without it the
    /// container runs, its messages unheard, as with a missing socket.
    fn start_notify_relay(&self, id: &str) {
        let plan = self
            .store()
            .ok()
            .and_then(|s| s.find_container(id).ok().flatten())
            .and_then(|info| super::load_spec(&info).ok());
        if !plan.is_some_and(|p| p.manage.is_notify_relayed) {
            return;
        }
        let runroot = &self.paths().runroot;
        if let Err(e) = super::notify::start_relay(runroot, id, std::process::id()) {
            log::warn!("container {id}: no relay of its readiness messages: {e}");
        }
    }

    /// In the monitor, after its report: logs the container's output,
    /// records its exits, restarts it as its policy says and applies
    /// `--rm`, leaving the exit code for `wait`. Returns the monitor's
    /// exit code (see `monitor::supervise`).
    pub fn watch(&self, detached: Detached) -> Result<i32, Error> {
        let exits = self.exits_dir();
        let pod = detached.pod().map(str::to_string);
        let joined = pod.as_deref().and_then(|p| self.infra_of(p));
        let watched = super::watch(self.store()?, detached, &exits);
        match pod {
            Some(pod) => {
                let code = watched?;
                self.apply_exit_policy(&pod, joined).map(|()| code)
            }
            None => watched,
        }
    }
}

/// How `kube play --service-container` turns its containers' exit codes
/// into its own (Podman's `--service-exit-code-propagation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitPropagation {
    /// Always 0.
    None,
    /// Failed (the last failing code) when every container failed.
    All,
    /// Failed (the first failing code) when any container failed.
    Any,
}

impl ExitPropagation {
    /// The exit code for containers that exited with `codes`.
    pub fn exit_code(self, codes: &[i32]) -> i32 {
        let failed: Vec<i32> = codes.iter().copied().filter(|c| *c != 0).collect();
        match self {
            ExitPropagation::None => 0,
            ExitPropagation::Any => failed.first().copied().unwrap_or(0),
            ExitPropagation::All if !codes.is_empty() && failed.len() == codes.len() => {
                failed.last().copied().unwrap_or(0)
            }
            ExitPropagation::All => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ExitPropagation;

    #[test]
    fn exit_propagation_follows_podmans_modes() {
        let cases = [
            (ExitPropagation::None, vec![3, 0], 0),
            (ExitPropagation::Any, vec![0, 3, 4], 3),
            (ExitPropagation::Any, vec![0, 0], 0),
            (ExitPropagation::All, vec![0, 3], 0),
            (ExitPropagation::All, vec![3, 4], 4),
            (ExitPropagation::All, vec![], 0),
        ];
        for (mode, codes, want) in cases {
            assert_eq!(mode.exit_code(&codes), want, "{mode:?} {codes:?}");
        }
    }
}
