//! `init` and `container cleanup`: preparing a created container for its
//! start, and clearing up after one that stopped.
//!
//! hutch sets a container's namespaces and mounts up as it starts it (a
//! rootless mount lives only as long as its user namespace), so `init`
//! checks what the start needs and records the container as
//! initialized; `cleanup` removes what a monitor that died left behind
//! (its cgroup) and returns an initialized container to created.

use std::path::Path;

use super::{lifecycle, load_spec, Engine, Error, PROC};
use crate::storage::{ContainerInfo, ContainerStatus};

impl Engine {
    /// `init`: checks that container `name` can start (its spec reads
    /// back, its root filesystem's directories exist) and records it as
    /// initialized. A running or initialized one is an error, as in
    /// Podman. Returns its full id.
    pub fn init_container(&self, name: &str) -> Result<String, Error> {
        let store = self.store()?;
        let _lock = store.lock_container_start().map_err(Error::Store)?;
        let info = self.container(name)?;
        let id = info.record.id.clone();
        if matches!(
            info.state.status,
            ContainerStatus::Running | ContainerStatus::Initialized
        ) {
            return Err(Error::AlreadyInitialized(id));
        }
        let plan = load_spec(&info)?;
        for dir in [&plan.dirs.upper, &plan.dirs.work] {
            if !dir.is_dir() {
                return Err(Error::InitMissingDir {
                    id,
                    path: dir.clone(),
                });
            }
        }
        set_status(store, &info, ContainerStatus::Initialized)?;
        Ok(id)
    }

    /// `container cleanup`: for the stopped container `name`, releases
    /// the cgroup its monitor left when it died and returns an
    /// initialized container to created. A running one is an error, as
    /// in Podman. Returns its full id.
    pub fn cleanup_container(&self, name: &str) -> Result<String, Error> {
        let store = self.store()?;
        let _lock = store.lock_container_start().map_err(Error::Store)?;
        let info = self.container(name)?;
        let id = info.record.id.clone();
        if info.state.status == ContainerStatus::Running
            || lifecycle::is_monitor_alive(&info.state, Path::new(PROC))
        {
            return Err(Error::CleanupRunning(id));
        }
        let dir = store.container_dirs(&id).dir;
        if let Some(placement) = crate::runtime::run::load_placement(&dir) {
            crate::runtime::run::finish_cgroup(&dir, Some(&placement), 0);
        }
        if info.state.status == ContainerStatus::Initialized {
            set_status(store, &info, ContainerStatus::Created)?;
        }
        Ok(id)
    }
}

/// Records `status` for container `info`, keeping the rest of its state.
fn set_status(
    store: &crate::storage::Store,
    info: &ContainerInfo,
    status: ContainerStatus,
) -> Result<(), Error> {
    let mut state = info.state.clone();
    state.status = status;
    store
        .set_container_state(&info.record.id, &state)
        .map_err(Error::Store)
}
