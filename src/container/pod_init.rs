//! A pod's init containers (`create --init-ctr`, #13): at `pod start`
//! they run one after another, in the order they were created, each to
//! its end, before the pod's other containers start; one that fails stops
//! the start. `once` ones are removed after they ran well; `always` ones
//! run at every start. Started on their own (`start`), they are ordinary
//! containers. As in Podman, a pod's status leaves them out unless they
//! run.

use std::path::Path;

use super::create::CreateRequest;
use super::pod::Pod;
use super::{Engine, Error, PROC};
use crate::runtime::plan::InitContainer;
use crate::storage::{ContainerInfo, ContainerStatus};

/// Checks `--init-ctr` of `req`, which joins pod `pod` (`None`: no pod),
/// as Podman does: it needs a pod, and one that does not run.
pub(super) fn check(req: &CreateRequest, pod: Option<&Pod>) -> Result<(), Error> {
    if req.manage.init_ctr.is_none() {
        return Ok(());
    }
    match pod {
        None => Err(Error::InitCtrWithoutPod),
        Some(p) if p.is_running(Path::new(PROC)) => Err(Error::InitCtrRunningPod),
        Some(_) => Ok(()),
    }
}

/// Whether member `info` is an init container, and which kind.
pub(super) fn kind(info: &ContainerInfo) -> Option<InitContainer> {
    super::load_spec(info).ok()?.manage.init_ctr
}

impl Engine {
    /// At `pod start`: runs the init containers among `members` (each to
    /// its end, oldest first, a `once` one removed afterwards) and returns
    /// the other members, to be started next.
    pub(super) fn run_init_containers(
        &self,
        members: Vec<ContainerInfo>,
    ) -> Result<Vec<ContainerInfo>, Error> {
        let (mut inits, others): (Vec<_>, Vec<_>) = members
            .into_iter()
            .map(|m| (kind(&m), m))
            .partition(|(k, _)| k.is_some());
        let store = self.store()?;
        // The store lists the newest first (by time, then as recorded).
        let listed = store.list_containers().map_err(Error::Store)?;
        let age = |id: &str| listed.iter().rev().position(|c| c.record.id == id);
        inits.sort_by_key(|(_, m)| age(&m.record.id));
        let paths = self.paths();
        let runroot = self.runroot()?.to_path_buf();
        let exits = super::wait::exits_dir(&runroot);
        for (k, m) in inits {
            let id = &m.record.id;
            if m.state.status != ContainerStatus::Running {
                super::start(store, id, &paths.root, &runroot)?;
            }
            let code = super::wait_started(store, id, &exits)?;
            if code != 0 {
                return Err(Error::InitCtrFailed {
                    id: id.clone(),
                    code,
                });
            }
            if k == Some(InitContainer::Once) {
                self.remove(id, false, false)?;
            }
        }
        Ok(others.into_iter().map(|(_, m)| m).collect())
    }
}
