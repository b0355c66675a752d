//! Pods through the engine: create, start, stop, remove, list and inspect
//! them, and the infra monitor's side (`hutch pod …`, `pod-infra`).
//!
//! Pod records and the infra process are `pod`'s; this adds what needs
//! the store (the member containers), the user's id maps, the network
//! plan and /proc.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::pod::{self, Pod, RunningInfra};
use super::{Engine, Error, PROC};
use crate::net::{self, NetworkRequest};
use crate::storage::{ContainerInfo, ContainerStatus};

/// How long `pod stop` gives each member before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A pod to create (`pod create`), its name checked.
#[derive(Debug, Clone, Default)]
pub struct NewPod {
    /// Its name; `pod-` and 12 characters of its id when none is given.
    pub name: Option<String>,
    /// `--network`.
    pub network: Option<String>,
    /// `-p`.
    pub publish: Vec<String>,
}

/// A pod as `pod ps` and `pod inspect` show it.
#[derive(Debug, Clone)]
pub struct PodState {
    /// Its record.
    pub pod: Pod,
    /// Whether its infra process runs.
    pub is_running: bool,
    /// Its member containers, their state observed now.
    pub members: Vec<ContainerInfo>,
}

impl Engine {
    /// Creates a pod and starts its infra process; returns the pod's id.
    /// A pod whose infra cannot start is removed again.
    pub fn create_pod(&self, req: &NewPod) -> Result<String, Error> {
        let paths = self.paths();
        let net_req = NetworkRequest {
            network: req.network.clone(),
            publish: req.publish.clone(),
            ..NetworkRequest::default()
        };
        let helpers = net::find_helpers(&std::env::var("PATH").unwrap_or_default());
        let proc = Path::new(PROC);
        let network =
            net::plan_network(&net_req, &helpers, net::host_route(proc)).map_err(Error::Network)?;
        net::check_ports(&network.ports, net::unprivileged_port_start(proc))
            .map_err(Error::Network)?;
        let maps = self.user_maps()?.clone();
        let id = super::volumes::random_name();
        let name = req
            .name
            .clone()
            .unwrap_or_else(|| format!("pod-{}", &id[..12]));
        let record = Pod {
            id: id.clone(),
            name,
            created: super::now_rfc3339(),
            network,
            maps,
            infra: None,
        };
        {
            let _lock = pod::lock(&paths.root)?;
            pod::create(&paths.root, &record)?;
        }
        let runroot = self.runroot()?;
        if let Err(e) = pod::spawn_infra(&paths.root, runroot, &id) {
            // A pod whose infra cannot start is of no use; leave nothing.
            let _ = pod::delete(&paths.root, &id);
            return Err(e.into());
        }
        Ok(id)
    }

    /// Whether pod `name` (name or id) exists.
    pub fn pod_exists(&self, name: &str) -> Result<bool, Error> {
        match pod::find(&self.paths().root, name) {
            Ok(_) => Ok(true),
            Err(pod::Error::NoSuchPod(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Starts pod `name`'s infra (unless it runs) and its stopped members;
    /// returns the pod's id.
    pub fn start_pod(&self, name: &str) -> Result<String, Error> {
        let paths = self.paths();
        let p = pod::find(&paths.root, name)?;
        let runroot = self.runroot()?.to_path_buf();
        if !p.is_running(Path::new(PROC)) {
            pod::spawn_infra(&paths.root, &runroot, &p.id)?;
        }
        let store = self.store()?;
        for m in self.members(&p.id)? {
            if m.state.status != ContainerStatus::Running {
                super::start(store, &m.record.id, &paths.root, &runroot)?;
            }
        }
        Ok(p.id)
    }

    /// Stops pod `name`'s running members, then its infra; returns the
    /// pod's id.
    pub fn stop_pod(&self, name: &str) -> Result<String, Error> {
        let root = &self.paths().root;
        let p = pod::find(root, name)?;
        let store = self.store()?;
        for m in self.members(&p.id)? {
            if m.state.status == ContainerStatus::Running {
                super::stop(store, &m.record.id, STOP_TIMEOUT, &self.exits_dir())?;
            }
        }
        pod::stop_infra(root, &p, Path::new(PROC))?;
        Ok(p.id)
    }

    /// Removes pod `name` with its members; running members only when
    /// `is_forced` (they are killed). Returns the pod's id. Must be called
    /// single-threaded.
    pub fn remove_pod(&self, name: &str, is_forced: bool) -> Result<String, Error> {
        let root = &self.paths().root;
        let p = pod::find(root, name)?;
        let store = self.store()?;
        let members = self.members(&p.id)?;
        let is_running = members
            .iter()
            .any(|m| m.state.status == ContainerStatus::Running);
        if is_running && !is_forced {
            return Err(pod::Error::HasRunningMembers(p.name).into());
        }
        for m in &members {
            super::remove(store, &m.record.id, is_forced, &p.maps, &self.exits_dir())?;
        }
        pod::stop_infra(root, &p, Path::new(PROC))?;
        let _lock = pod::lock(root)?;
        pod::delete(root, &p.id)?;
        Ok(p.id)
    }

    /// Every pod with its state and members (`pod ps`).
    pub fn pods(&self) -> Result<Vec<PodState>, Error> {
        let pods = pod::list(&self.paths().root)?;
        // Opened before the members are listed, as `pod ps` always did.
        self.store()?;
        pods.into_iter().map(|p| self.pod_state(p)).collect()
    }

    /// Pod `name` (name or id) with its state and members (`pod inspect`).
    pub fn pod(&self, name: &str) -> Result<PodState, Error> {
        self.store()?;
        let p = pod::find(&self.paths().root, name)?;
        self.pod_state(p)
    }

    /// Pod ids to names, for `ps --pod`.
    pub fn pod_names(&self) -> Result<BTreeMap<String, String>, Error> {
        let pods = pod::list(&self.paths().root)?;
        Ok(pods.into_iter().map(|p| (p.id, p.name)).collect())
    }

    /// In the infra monitor: starts pod `id`'s infra process. Must be
    /// called single-threaded.
    pub fn start_pod_infra(&self, id: &str) -> Result<RunningInfra, pod::Error> {
        pod::start_infra(&self.paths().root, id, Path::new(PROC))
    }

    /// In the infra monitor, after its report: waits for the infra until
    /// the pod is stopped.
    pub fn watch_pod_infra(&self, id: &str, running: RunningInfra) -> Result<(), Error> {
        Ok(pod::watch_infra(&self.paths().root, id, running)?)
    }

    fn pod_state(&self, p: Pod) -> Result<PodState, Error> {
        let members = self.members(&p.id)?;
        Ok(PodState {
            is_running: p.is_running(Path::new(PROC)),
            pod: p,
            members,
        })
    }

    /// The containers recorded as members of pod `id`, with their
    /// observed state.
    fn members(&self, id: &str) -> Result<Vec<ContainerInfo>, Error> {
        let mut out = Vec::new();
        for info in self.store()?.list_containers().map_err(Error::Store)? {
            let Ok(plan) = super::load_spec(&info) else {
                continue;
            };
            if plan.pod.as_deref() == Some(id) {
                out.extend(self.observe(info)?);
            }
        }
        Ok(out)
    }
}
