//! Container state: status, pids, exit codes and the start spec.
//!
//! TODO(#8): implemented by the lifecycle work; these are the signatures
//! the rest of the crate codes against.

use std::path::PathBuf;

use super::{ContainerInfo, ContainerState, Error, Store};

impl Store {
    /// Finds a container by exact name, full id or unambiguous id prefix.
    pub fn find_container(&self, name_or_id: &str) -> Result<Option<ContainerInfo>, Error> {
        let _ = name_or_id;
        Ok(None)
    }

    /// All containers, newest first.
    pub fn list_containers(&self) -> Result<Vec<ContainerInfo>, Error> {
        Ok(Vec::new())
    }

    /// Records how to start container `id` (the serialised plan).
    pub fn set_container_spec(&self, id: &str, spec: &str) -> Result<(), Error> {
        let _ = (id, spec);
        Ok(())
    }

    /// Replaces container `id`'s recorded state in one transaction.
    pub fn set_container_state(&self, id: &str, state: &ContainerState) -> Result<(), Error> {
        let _ = (id, state);
        Ok(())
    }

    /// The container's log file (k8s-file format).
    pub fn container_log_path(&self, id: &str) -> PathBuf {
        self.container_dirs(id).dir.join("ctr.log")
    }
}
