//! Pods through the engine: create, select, start, stop, remove, list and
//! inspect them, and the infra monitor's side (`hutch pod …`, `pod-infra`).
//!
//! Pod records and the infra process are `pod`'s; this adds what needs
//! the store (the member containers), the user's id maps, the network
//! plan and /proc. The other pod commands are in `pod_life`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::pod::{self, ExitPolicy, Pod, RunningInfra};
use super::pod_options::PodOptions;
use super::{Engine, Error, PROC};
use crate::net::{self, NetworkRequest};
use crate::storage::{ContainerInfo, ContainerStatus};

/// A pod to create (`pod create`), its name checked. Recorded with the
/// pod (without `id_file` and `is_replacing`, which name the original
/// alone) for `pod clone`.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NewPod {
    /// Its name; `pod-` and 12 characters of its id when none is given.
    pub name: Option<String>,
    /// `--network`, `-p`, `--dns*`, `--add-host`, `--no-hosts`.
    pub network: NetworkRequest,
    /// `--exit-policy`.
    pub exit_policy: ExitPolicy,
    /// `--share`, parsed (see `pod::parse_share`); `None` for the default.
    pub shared: Option<Vec<String>>,
    /// `--infra`: `None` when not given (then a pod that shares nothing
    /// has none, as in Podman).
    pub has_infra: Option<bool>,
    /// `--share-parent`: `None` when not given (true).
    pub is_parent_shared: Option<bool>,
    /// The command line, for `pod inspect`.
    pub create_command: Vec<String>,
    /// What `pod clone` may change too: host name, labels, limits,
    /// namespaces, what members inherit.
    pub options: PodOptions,
    /// `--pod-id-file`: created (it must not exist) and given the id.
    pub id_file: Option<PathBuf>,
    /// `--replace`: remove a pod of the same name first.
    pub is_replacing: bool,
}

/// Which pods a command acts on: Podman's `--all`, `--latest`, names and
/// `--ignore`.
#[derive(Debug, Clone, Default)]
pub struct PodSelection {
    /// Names, ids or id prefixes; each must exist unless `is_ignoring`.
    pub names: Vec<String>,
    /// Every pod.
    pub is_all: bool,
    /// The pod created last.
    pub is_latest: bool,
    /// Leave out names no pod has.
    pub is_ignoring: bool,
}

/// A pod's status, computed from its containers' (the infra counting as
/// one) as Podman computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodStatus {
    /// Nothing has run yet, or nothing is in the pod.
    Created,
    /// Everything runs.
    Running,
    /// Some of it runs.
    Degraded,
    /// Everything is paused.
    Paused,
    /// Everything has exited.
    Exited,
    /// Some of it has exited, none runs.
    Stopped,
}

impl PodStatus {
    /// Podman's word for it.
    pub fn name(self) -> &'static str {
        match self {
            PodStatus::Created => "Created",
            PodStatus::Running => "Running",
            PodStatus::Degraded => "Degraded",
            PodStatus::Paused => "Paused",
            PodStatus::Exited => "Exited",
            PodStatus::Stopped => "Stopped",
        }
    }
}

/// The state of one container of a pod, as the status counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberState {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Running but frozen.
    Paused,
    /// Exited.
    Exited,
}

impl MemberState {
    /// Podman's lowercase word for a container in it.
    pub fn name(self) -> &'static str {
        match self {
            MemberState::Created => "created",
            MemberState::Running => "running",
            MemberState::Paused => "paused",
            MemberState::Exited => "exited",
        }
    }
}

/// Podman's `createPodStatusResults`: from the states of a pod's
/// containers to the pod's status.
pub fn pod_status(states: &[MemberState]) -> PodStatus {
    let count = |s: MemberState| states.iter().filter(|m| **m == s).count();
    let (running, paused, exited) = (
        count(MemberState::Running),
        count(MemberState::Paused),
        count(MemberState::Exited),
    );
    match () {
        _ if states.is_empty() => PodStatus::Created,
        _ if running == states.len() => PodStatus::Running,
        _ if running > 0 => PodStatus::Degraded,
        _ if paused == states.len() => PodStatus::Paused,
        _ if exited == states.len() => PodStatus::Exited,
        _ if exited > 0 => PodStatus::Stopped,
        _ => PodStatus::Created,
    }
}

/// A pod as `pod ps` and `pod inspect` show it.
#[derive(Debug, Clone)]
pub struct PodState {
    /// Its record.
    pub pod: Pod,
    /// Whether its infra process runs.
    pub is_running: bool,
    /// Its status.
    pub status: PodStatus,
    /// Its member containers, their state observed now, with the state
    /// the status counted.
    pub members: Vec<(ContainerInfo, MemberState)>,
}

/// What one pod command did to one pod: the pod's id, and the member
/// containers it failed on (the rest were done).
#[derive(Debug)]
pub struct PodOutcome {
    /// The pod's full id.
    pub id: String,
    /// `"starting container ID"`-style failures, one per member.
    pub failures: Vec<Error>,
}

impl PodOutcome {
    fn new(id: &str) -> PodOutcome {
        PodOutcome {
            id: id.to_string(),
            failures: Vec::new(),
        }
    }

    /// Records the outcome of `action` on member `id`.
    pub(super) fn note(&mut self, action: &'static str, id: &str, r: Result<(), Error>) {
        if let Err(e) = r {
            self.failures.push(Error::PodMember {
                action,
                id: id.to_string(),
                source: Box::new(e),
            });
        }
    }
}

impl Engine {
    /// The network flags of pod `req` with the user-defined networks its
    /// `--network` names resolved (their gateways filled in for the
    /// members' resolv.conf); the infra joins them when it starts, in the
    /// network holder's user namespace, which the pod's id maps must then
    /// be.
    fn pod_networks(&self, req: &NewPod, has_infra: bool) -> Result<net::NetworkRequest, Error> {
        let root = &self.paths().root;
        let mut net_req = req.network.clone();
        let resolved = super::networks::resolve(root, &net_req)?;
        if let Some(mut attachments) = resolved {
            let i = &req.options.inherited;
            if i.userns.is_some() || !i.uidmap.is_empty() || !i.gidmap.is_empty() {
                return Err(super::networks::Error::Invalid {
                    field: "--userns",
                    value: i.userns.clone().unwrap_or_else(|| "--uidmap".into()),
                    reason: "pods on user-defined networks share the user namespace of the network holder; drop --userns or use pasta".into(),
                }
                .into());
            }
            if !has_infra {
                return Err(super::networks::Error::Invalid {
                    field: "--network",
                    value: net_req.network.clone().unwrap_or_default(),
                    reason: "a pod without an infra has no network of its own to attach".into(),
                }
                .into());
            }
            super::netattach::fill_networks(root, &mut attachments)?;
            net_req.networks = attachments;
        }
        Ok(net_req)
    }

    /// Records a pod (started later, by `pod start` or its first member's
    /// start, as Podman's); returns the pod's id.
    pub fn create_pod(&self, req: &NewPod) -> Result<String, Error> {
        let paths = self.paths();
        let shared = req.shared.clone().unwrap_or_else(pod::default_shared);
        let has_infra = req.has_infra.unwrap_or(!shared.is_empty());
        if !has_infra {
            pod::check_infra_less(req.shared.as_deref(), &req.network)?;
        }
        let opts = &req.options;
        let labels = read_labels(&opts.label_files, &opts.labels)?;
        let helpers = net::find_helpers_with(
            &std::env::var("PATH").unwrap_or_default(),
            self.paths().network_cmd_path.as_deref(),
        )
        .map_err(Error::Network)?;
        let proc = Path::new(PROC);
        let net_req = self.pod_networks(req, has_infra)?;
        let network =
            net::plan_network(&net_req, &helpers, net::host_route(proc)).map_err(Error::Network)?;
        net::check_ports(&network.ports, net::unprivileged_port_start(proc))
            .map_err(Error::Network)?;
        let checked = super::pod_options::check(
            opts,
            req.is_parent_shared.unwrap_or(true),
            network.mode == net::Mode::Host,
            &super::resources::host(),
        )?;
        let maps = super::ids::plan(&opts.inherited.userns_request(), self.user_maps()?)?.maps;
        let mut id_file = req
            .id_file
            .as_deref()
            .map(pod::create_id_file)
            .transpose()?;
        if req.is_replacing {
            let name = req.name.as_deref().ok_or(pod::Error::ReplaceWithoutName)?;
            match self.remove_pod(name, true, None) {
                Ok(_) | Err(Error::Pod(pod::Error::NoSuchPod(_))) => {}
                Err(e) => return Err(e),
            }
        }
        let id = super::volumes::random_name();
        let record = Pod {
            id: id.clone(),
            name: req
                .name
                .clone()
                .unwrap_or_else(|| format!("pod-{}", &id[..12])),
            // With nanoseconds, as Podman's: pods are ordered by it.
            created: crate::runtime::clock::now_rfc3339_nanos(),
            network,
            maps,
            infra: None,
            has_started: false,
            has_infra,
            labels,
            hostname: opts.hostname.clone(),
            exit_policy: req.exit_policy,
            shared: if has_infra { shared } else { Vec::new() },
            create_command: req.create_command.clone(),
            monitor_pidfile: opts.monitor_pidfile.clone(),
            inherited: opts.inherited.clone(),
            is_paused: false,
            cgroup: checked.cgroup,
            is_host_uts: checked.is_host_uts,
            is_host_pid: checked.is_host_pid,
            request: Some(Box::new(recorded(req, &labels_of(opts)?))),
        };
        {
            let _lock = pod::lock(&paths.root)?;
            pod::create(&paths.root, &record)?;
        }
        super::events::on_pod(super::events::Status::Create, &id, &record.name);
        if let (Some(file), Some(path)) = (id_file.as_mut(), &req.id_file) {
            file.write_all(id.as_bytes())
                .map_err(|source| pod::Error::IdFile {
                    path: path.clone(),
                    source,
                })?;
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

    /// The ids of the pods `sel` names, every name looked up before any
    /// pod is acted on (as Podman does): one that does not exist fails
    /// the selection unless `is_ignoring`.
    pub fn select_pods(&self, sel: &PodSelection) -> Result<Vec<String>, Error> {
        let root = &self.paths().root;
        if sel.is_all {
            return Ok(pod::list(root)?.into_iter().map(|p| p.id).collect());
        }
        if sel.is_latest {
            let pods = pod::list(root)?;
            // Oldest first: the last one is the latest.
            return match pods.last() {
                Some(p) => Ok(vec![p.id.clone()]),
                None => Err(pod::Error::NoPods.into()),
            };
        }
        let mut out = Vec::new();
        for name in &sel.names {
            match pod::find(root, name) {
                Ok(p) => out.push(p.id),
                Err(pod::Error::NoSuchPod(_)) if sel.is_ignoring => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(out)
    }

    /// Starts pod `id`'s infra (unless it runs, or the pod has none), runs
    /// its init containers, then starts its members that are not running.
    pub fn start_pod(&self, id: &str) -> Result<PodOutcome, Error> {
        let paths = self.paths();
        let p = pod::find(&paths.root, id)?;
        let members = self.members(&p.id)?;
        if !p.has_infra && members.is_empty() {
            return Err(pod::Error::NothingToStart(p.id).into());
        }
        let runroot = self.runroot()?.to_path_buf();
        if p.has_infra {
            pod::ensure_infra(&paths.root, &runroot, &p.id, Path::new(PROC))?;
        }
        let members = self.run_init_containers(members)?;
        let store = self.store()?;
        let mut out = PodOutcome::new(&p.id);
        for m in members {
            if m.state.status != ContainerStatus::Running {
                let r = super::start(store, &m.record.id, &paths.root, &runroot).map(drop);
                out.note("starting", &m.record.id, r);
            }
        }
        super::events::on_pod(super::events::Status::Start, &p.id, &p.name);
        Ok(out)
    }

    /// Stops pod `id`'s running members (their stop signal, SIGKILL after
    /// `timeout`), then its infra.
    pub fn stop_pod(&self, id: &str, timeout: Duration) -> Result<PodOutcome, Error> {
        let root = &self.paths().root;
        let p = pod::find(root, id)?;
        let mut out = PodOutcome::new(&p.id);
        for m in self.members(&p.id)? {
            if m.state.status == ContainerStatus::Running {
                let r = match self.stop(&m.record.id, Some(timeout)) {
                    Err(Error::NotRunning(_)) => Ok(()),
                    other => other,
                };
                out.note("stopping", &m.record.id, r);
            }
        }
        pod::stop_infra(root, &p, Path::new(PROC))?;
        super::events::on_pod(super::events::Status::Stop, &p.id, &p.name);
        Ok(out)
    }

    /// Removes pod `name` with its members and their anonymous volumes;
    /// running members only when `is_forced` (stopped with `timeout`, else
    /// killed). Returns the pod's id. Must be called single-threaded.
    pub fn remove_pod(
        &self,
        name: &str,
        is_forced: bool,
        timeout: Option<Duration>,
    ) -> Result<String, Error> {
        let root = &self.paths().root;
        let p = pod::find(root, name)?;
        let members = self.members(&p.id)?;
        let is_running = members
            .iter()
            .any(|m| m.state.status == ContainerStatus::Running);
        if is_running && !is_forced {
            return Err(pod::Error::HasRunningMembers(p.name).into());
        }
        for m in &members {
            if let (Some(t), ContainerStatus::Running) = (timeout, m.state.status) {
                match self.stop(&m.record.id, Some(t)) {
                    Ok(()) | Err(Error::NotRunning(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            self.remove_with_maps(&m.record.id, is_forced, true, &p.maps)?;
        }
        pod::stop_infra(root, &p, Path::new(PROC))?;
        // Its members are gone: nothing runs there any more. A slice left
        // behind holds nothing and goes with the user's manager, which is
        // no reason to keep the pod.
        if let Err(e) = p.release_cgroup() {
            log::warn!("{}", crate::error::render_chain(&e));
        }
        let _lock = pod::lock(root)?;
        pod::delete(root, &p.id)?;
        super::events::on_pod(super::events::Status::Remove, &p.id, &p.name);
        Ok(p.id)
    }

    /// Every pod with its state and members (`pod ps`), oldest first.
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

    pub(super) fn pod_state(&self, p: Pod) -> Result<PodState, Error> {
        let store = self.store()?;
        let is_running = p.is_running(Path::new(PROC));
        let members: Vec<(ContainerInfo, MemberState)> = self
            .members(&p.id)?
            .into_iter()
            .map(|m| {
                let state = match m.state.status {
                    ContainerStatus::Created | ContainerStatus::Initialized => MemberState::Created,
                    ContainerStatus::Exited => MemberState::Exited,
                    ContainerStatus::Running => {
                        let dir = store.container_dirs(&m.record.id).dir;
                        if super::limits::is_paused(&dir) {
                            MemberState::Paused
                        } else {
                            MemberState::Running
                        }
                    }
                };
                (m, state)
            })
            .collect();
        // Podman's status leaves out init containers that do not run.
        let mut states: Vec<MemberState> = members
            .iter()
            .filter(|(m, s)| *s == MemberState::Running || super::pod_init::kind(m).is_none())
            .map(|(_, s)| *s)
            .collect();
        if p.has_infra {
            states.push(match (is_running, p.has_started) {
                (true, _) if p.is_paused => MemberState::Paused,
                (true, _) => MemberState::Running,
                (false, true) => MemberState::Exited,
                (false, false) => MemberState::Created,
            });
        }
        Ok(PodState {
            status: pod_status(&states),
            is_running,
            pod: p,
            members,
        })
    }

    /// The containers recorded as members of pod `id`, with their
    /// observed state, by id (Podman's order).
    pub(super) fn members(&self, id: &str) -> Result<Vec<ContainerInfo>, Error> {
        let mut out = Vec::new();
        for info in self.store()?.list_containers().map_err(Error::Store)? {
            let Ok(plan) = super::load_spec(&info) else {
                continue;
            };
            if plan.pod.as_deref() == Some(id) {
                out.extend(self.observe(info)?);
            }
        }
        out.sort_by(|a, b| a.record.id.cmp(&b.record.id));
        Ok(out)
    }

    /// Pod `id`'s members as (id, name) in the order they were created:
    /// the store's order, which breaks ties within a second (`kube
    /// generate` writes a pod's containers in this order).
    pub fn pod_members_in_order(&self, id: &str) -> Result<Vec<(String, String)>, Error> {
        let mut list = self.store()?.list_containers().map_err(Error::Store)?;
        // The store lists newest first.
        list.reverse();
        Ok(list
            .into_iter()
            .filter(|info| super::load_spec(info).is_ok_and(|plan| plan.pod.as_deref() == Some(id)))
            .map(|info| (info.record.id, info.record.name))
            .collect())
    }
}

/// The lines of `opts`' label files, as `--label`s (a clone reads no
/// files: they may be gone).
pub(super) fn labels_of(opts: &PodOptions) -> Result<Vec<String>, Error> {
    let from_files = read_labels(&opts.label_files, &[])?;
    Ok(from_files
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect())
}

/// `req` as the pod's record keeps it for `pod clone`: its label files
/// read (`file_labels`, before its own labels), without what names the
/// original alone (its id file, `--replace`).
fn recorded(req: &NewPod, file_labels: &[String]) -> NewPod {
    let mut rec = req.clone();
    let mut labels = file_labels.to_vec();
    labels.append(&mut rec.options.labels);
    rec.options.labels = labels;
    rec.options.label_files.clear();
    rec.id_file = None;
    rec.is_replacing = false;
    rec
}

/// Podman's labels: the `files`' `KEY=VALUE` lines (blank lines and `#`
/// comments skipped), then `labels`; a label without `=` has an empty
/// value.
pub fn read_labels(
    files: &[PathBuf],
    labels: &[String],
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    let mut add = |line: &str| {
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        if key.is_empty() {
            return Err(pod::Error::BadLabel(line.to_string()));
        }
        out.insert(key.to_string(), value.to_string());
        Ok(())
    };
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|source| pod::Error::LabelFile {
            path: path.clone(),
            source,
        })?;
        for line in text.lines().map(str::trim_start) {
            if !line.is_empty() && !line.starts_with('#') {
                add(line)?;
            }
        }
    }
    for l in labels {
        add(l)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MemberState::{Created as C, Exited as E, Paused as P, Running as R};

    #[test]
    fn the_status_is_podmans() {
        for (states, want) in [
            (&[][..], PodStatus::Created),
            (&[R, R][..], PodStatus::Running),
            (&[R, E][..], PodStatus::Degraded),
            (&[R, C][..], PodStatus::Degraded),
            (&[P, P][..], PodStatus::Paused),
            (&[P, E][..], PodStatus::Stopped),
            (&[E, E][..], PodStatus::Exited),
            (&[E, C][..], PodStatus::Stopped),
            (&[C, C][..], PodStatus::Created),
            (&[P, C][..], PodStatus::Created),
        ] {
            assert_eq!(pod_status(states), want, "{states:?}");
        }
    }

    #[test]
    fn labels_come_from_files_then_flags() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("labels");
        std::fs::write(&file, "# comment\n\na=1\nb=from file\n").unwrap();
        let got = read_labels(&[file], &["b=2".into(), "c".into()]).unwrap();
        let want: BTreeMap<String, String> = [("a", "1"), ("b", "2"), ("c", "")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(got, want);
        assert!(matches!(
            read_labels(&[], &["=x".into()]),
            Err(Error::Pod(pod::Error::BadLabel(_)))
        ));
        assert!(read_labels(&[tmp.path().join("none")], &[]).is_err());
    }
}
