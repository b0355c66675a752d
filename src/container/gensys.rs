//! `generate systemd`'s engine side: the facts about a container or a
//! pod (and its members) that `systemd_unit` makes units from, and the
//! pid files the units of existing containers and pods name.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use super::systemd_unit::{self, ContainerFacts, PodFacts, Unit, UnitOptions};
use super::{Engine, Error, RestartPolicy};
use crate::storage::ContainerInfo;

/// The directory of the run directory where each detached monitor writes
/// its pid (what conmon's `conmon.pid` is to Podman).
const MONITORS_DIR: &str = "monitors";

/// The file in a pod's directory where its infra monitor writes its pid.
const INFRA_PID_FILE: &str = "infra-monitor.pid";

/// Where the monitor of container `id` writes its pid at every start.
pub fn monitor_pid_file(runroot: &Path, id: &str) -> PathBuf {
    runroot.join(MONITORS_DIR).join(format!("{id}.pid"))
}

/// Where the infra monitor of pod `id` writes its pid at every start.
pub fn infra_pid_file(root: &Path, id: &str) -> PathBuf {
    super::pod::pod_dir(root, id).join(INFRA_PID_FILE)
}

/// Writes `pid` to `path`, making its directory; a failure is logged
/// and does not stop the start (only a unit of the existing container
/// reads the file).
pub fn write_pid_file(path: &Path, pid: u32) {
    // Private, as everything directly under the store and the run
    // directory is (issue #21).
    let written = path
        .parent()
        .map_or(Ok(()), |dir| {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
        })
        .and_then(|()| std::fs::write(path, pid.to_string()));
    if let Err(e) = written {
        log::warn!("writing the monitor's pid to {}: {e}", path.display());
    }
}

/// What `generate systemd` made: the units, and warnings for the user.
#[derive(Debug, Default)]
pub struct Generated {
    /// The units, a pod's first.
    pub units: Vec<Unit>,
    /// Podman's warnings (a unit of an existing container with a restart
    /// policy of its own).
    pub warnings: Vec<String>,
}

impl Engine {
    /// The systemd units of container or pod `name` (a container first,
    /// as Podman looks).
    pub fn generate_systemd(&self, name: &str, opts: &UnitOptions) -> Result<Generated, Error> {
        let store = self.store()?;
        let mut out = Generated::default();
        if let Some(info) = store.find_container(name).map_err(Error::Store)? {
            let facts = self.container_facts(&info, opts, &mut out.warnings)?;
            out.units
                .push(systemd_unit::container_unit(&facts, None, opts)?);
            return Ok(out);
        }
        let pod = match self.pod(name) {
            Ok(p) => p,
            Err(Error::Pod(super::pod::Error::NoSuchPod(_))) => {
                return Err(Error::NoContainerOrPod(name.to_string()))
            }
            Err(e) => return Err(e),
        };
        let mut members = Vec::new();
        for (info, _) in &pod.members {
            members.push(self.container_facts(info, opts, &mut out.warnings)?);
        }
        let p = &pod.pod;
        let facts = PodFacts {
            id: p.id.clone(),
            name: p.name.clone(),
            create_command: p.create_command.clone(),
            pid_file: p
                .monitor_pidfile
                .clone()
                .unwrap_or_else(|| infra_pid_file(&self.paths().root, &p.id))
                .display()
                .to_string(),
        };
        out.units = systemd_unit::pod_units(&facts, &members, opts)?;
        Ok(out)
    }

    /// What a unit needs of container `info`; adds Podman's warning about
    /// a restart policy of its own when the unit starts it as it is.
    fn container_facts(
        &self,
        info: &ContainerInfo,
        opts: &UnitOptions,
        warnings: &mut Vec<String>,
    ) -> Result<ContainerFacts, Error> {
        let id = &info.record.id;
        let plan = super::load_spec(info)?;
        if plan.manage.init_ctr.is_some() {
            return Err(Error::Unit(systemd_unit::Error::InitContainer(id.clone())));
        }
        let req: super::CreateRequest = plan
            .request
            .clone()
            .and_then(|r| serde_json::from_value(r).ok())
            .unwrap_or_default();
        if !opts.is_new && !opts.is_template {
            let settings = self.store()?.restart_settings(id).map_err(Error::Store)?;
            let policy = RestartPolicy::from_record(settings.and_then(|s| s.policy).as_deref());
            if policy != RestartPolicy::No {
                warnings.push(format!(
                    "Container {id} has restart policy {:?} which can lead to issues on shutdown: consider recreating the container without a restart policy and use systemd's restart mechanism instead",
                    policy.to_string()
                ));
            }
        }
        let pid_file = plan
            .manage
            .monitor_pidfile
            .clone()
            .unwrap_or_else(|| monitor_pid_file(&self.paths().runroot, id));
        Ok(ContainerFacts {
            id: id.clone(),
            name: info.record.name.clone(),
            create_command: req.create_command,
            stop_timeout: plan
                .manage
                .stop_timeout
                .unwrap_or(crate::runtime::plan::DEFAULT_STOP_TIMEOUT),
            env: plan.env.clone(),
            pid_file: pid_file.display().to_string(),
        })
    }
}
