//! `kube play`, `kube down` and `kube generate`: Kubernetes YAML read into
//! typed documents (`types`), turned into the engine's pod and container
//! requests (`translate`), and back from the engine's records (`generate`).
//! Containers are made by `Engine::create` with the pod made by
//! `Engine::create_pod`, the path `run --pod` takes.

pub mod generate;
pub mod translate;
pub mod types;

use crate::container::pod_ops::NewPod;
use crate::container::pod_options::PodOptions;
use crate::container::volume_ops::NewVolume;
use crate::container::{self, Engine, NetworkRequest, Progress};
use crate::error::Diagnose;
use translate::VolumeNeed;

/// A failure of `kube play`, `kube down` or `kube generate`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The YAML does not parse.
    #[error("reading the YAML")]
    Yaml { source: serde_norway::Error },
    /// A document does not fit its kind's type.
    #[error("reading a {kind} document")]
    Document {
        kind: String,
        source: serde_json::Error,
    },
    /// A `--configmap` file holds something else.
    #[error("--configmap file holds a {0:?}, not a ConfigMap")]
    NotConfigMap(String),
    /// More than one replica.
    #[error("Deployment {name}: {replicas} replicas: hutch runs one pod per Deployment")]
    Replicas { name: String, replicas: u32 },
    /// A pod without containers.
    #[error("pod {0}: no containers")]
    NoContainers(String),
    /// A ConfigMap or Secret (or its key) not in the YAML.
    #[error("{kind} {name} not found")]
    Missing { kind: &'static str, name: String },
    /// A Secret's data that is not base64.
    #[error("Secret {name}: key {key} is not base64")]
    SecretData { name: String, key: String },
    /// A pod volume of an unsupported kind.
    #[error("pod {pod}: volume {volume} has no supported source (hostPath, emptyDir, persistentVolumeClaim, configMap, secret)")]
    VolumeSource { pod: String, volume: String },
    /// A volume mount naming no pod volume.
    #[error("container {container}: no pod volume named {volume}")]
    NoVolume { container: String, volume: String },
    /// A probe hutch cannot turn into a health check.
    #[error("container {container}: probe: {problem}")]
    Probe { container: String, problem: String },
    /// A pod of that name exists and `--replace` was not given.
    #[error("pod {0} already exists")]
    PodExists(String),
    /// Making a hostPath of type DirectoryOrCreate or FileOrCreate.
    #[error("creating hostPath {path}")]
    HostPath {
        path: String,
        source: std::io::Error,
    },
    /// A quantity that does not parse.
    #[error("resources.limits.{field}: {value:?} is not a quantity")]
    Quantity { field: &'static str, value: String },
    /// Creating a volume.
    #[error("creating volume {name}")]
    CreateVolume {
        name: String,
        source: Box<container::Error>,
    },
    /// Writing a ConfigMap's or Secret's files.
    #[error("writing the files of volume {name}")]
    WriteFiles {
        name: String,
        source: std::io::Error,
    },
    /// Creating, starting or removing a pod or container.
    #[error("{step} {name}")]
    Engine {
        step: &'static str,
        name: String,
        source: Box<container::Error>,
    },
    /// Reading the files of a volume made from a ConfigMap or Secret.
    #[error("reading the files of volume {name}")]
    ReadFiles {
        name: String,
        source: std::io::Error,
    },
    /// Writing the YAML.
    #[error("writing the YAML")]
    Write { source: serde_norway::Error },
    /// Generated YAML that the Kubernetes types do not read back.
    #[error("generated YAML has fields outside the Kubernetes types: {0}")]
    NotStrict(String),
    /// A volume named as a pod's own that `kube play` did not make.
    #[error("volume {0} exists and was not made by kube play")]
    NotOwned(String),
    /// A name that is no container, pod or volume.
    #[error("name or ID {0:?} not found")]
    NotFound(String),
}

impl Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Replicas { .. } => Some("set replicas: 1 (or leave it out)".into()),
            Error::PodExists(_) => Some("use --replace to remove it first".into()),
            Error::NotOwned(_) => Some("rename the pod volume, or remove the volume".into()),
            Error::Engine { source, .. } => source.hint(),
            _ => None,
        }
    }
}

/// The flags of `kube play`.
#[derive(Debug, Clone, Default)]
pub struct PlayOptions {
    /// `--start`.
    pub is_starting: bool,
    /// `--replace`.
    pub is_replacing: bool,
    /// `--quiet`.
    pub quiet: bool,
    /// `--network`.
    pub network: Option<String>,
    /// `--ip`, one per pod in order.
    pub ips: Vec<String>,
    /// `--mac-address`, one per pod in order.
    pub macs: Vec<String>,
    /// `--no-hosts`.
    pub no_hosts: bool,
    /// `--annotation KEY=VALUE`.
    pub annotations: Vec<String>,
    /// `--log-driver`, `--log-opt`.
    pub log: container::LogRequest,
    /// `--userns`.
    pub userns: Option<String>,
    /// `--authfile`, `--cert-dir`, `--creds`, `--tls-verify`.
    pub registry: container::RegistryOptions,
    /// The text of the `--configmap` files.
    pub config_maps: Vec<String>,
}

/// What `kube play` made, for Podman's report.
#[derive(Debug, Default)]
pub struct PlayReport {
    /// Volumes created from claims.
    pub volumes: Vec<String>,
    /// Each pod's id with its containers' ids.
    pub pods: Vec<(String, Vec<String>)>,
}

/// Plays the YAML `text`: volumes, then each pod with its containers,
/// started unless `opts.is_starting` is false. Warnings (fields ignored)
/// go to `progress`.
pub fn play(
    engine: &Engine,
    text: &str,
    opts: &PlayOptions,
    progress: &dyn Progress,
) -> Result<PlayReport, Error> {
    let docs = translate::parse(text, &opts.config_maps)?;
    for w in &docs.warnings {
        progress.warn(w);
    }
    let plans = docs
        .pods
        .iter()
        .map(|p| translate::plan_pod(p, &docs))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = PlayReport::default();
    for name in &docs.claims {
        ensure_volume(engine, name)?;
        report.volumes.push(name.clone());
    }
    for (i, plan) in plans.into_iter().enumerate() {
        report.pods.push(play_pod(engine, plan, i, opts, progress)?);
    }
    Ok(report)
}

fn ensure_volume(engine: &Engine, name: &str) -> Result<(), Error> {
    engine
        .create_volume(NewVolume {
            name: Some(name.to_string()),
            is_existing_ok: true,
            ..NewVolume::default()
        })
        .map(drop)
        .map_err(|source| Error::CreateVolume {
            name: name.to_string(),
            source: Box::new(source),
        })
}

fn engine_step<'a>(
    step: &'static str,
    name: &'a str,
) -> impl FnOnce(container::Error) -> Error + 'a {
    move |source| Error::Engine {
        step,
        name: name.to_string(),
        source: Box::new(source),
    }
}

fn play_pod(
    engine: &Engine,
    plan: translate::PodPlan,
    index: usize,
    opts: &PlayOptions,
    progress: &dyn Progress,
) -> Result<(String, Vec<String>), Error> {
    for w in &plan.warnings {
        progress.warn(w);
    }
    // The old pod goes before its volumes are made anew; without
    // --replace nothing is touched.
    if engine
        .pod_exists(&plan.name)
        .map_err(engine_step("finding pod", &plan.name))?
    {
        if !opts.is_replacing {
            return Err(Error::PodExists(plan.name.clone()));
        }
        engine
            .remove_pod(&plan.name, true, None)
            .map_err(engine_step("removing pod", &plan.name))?;
    }
    for need in &plan.volumes {
        make_volume(engine, need)?;
    }
    let mut options = PodOptions {
        hostname: plan.hostname.clone(),
        labels: plan.labels.clone(),
        ..Default::default()
    };
    options.inherited.userns = opts.userns.clone();
    let pod_id = engine
        .create_pod(&NewPod {
            name: Some(plan.name.clone()),
            network: NetworkRequest {
                network: match plan.is_host_network {
                    true => opts.network.clone().or(Some("host".into())),
                    false => opts.network.clone(),
                },
                publish: plan.publish.clone(),
                no_hosts: opts.no_hosts,
                ip: opts.ips.get(index).cloned(),
                mac_address: opts.macs.get(index).cloned(),
                ..NetworkRequest::default()
            },
            create_command: std::env::args().collect(),
            options,
            ..NewPod::default()
        })
        .map_err(engine_step("creating pod", &plan.name))?;
    let mut ids = Vec::new();
    for mut req in plan.containers {
        req.quiet = opts.quiet;
        req.registry = opts.registry.clone();
        req.log = opts.log.clone();
        req.metadata
            .annotations
            .extend(opts.annotations.iter().cloned());
        let name = req.name.clone().unwrap_or_default();
        match engine.create(&req, progress) {
            Ok(id) => ids.push(id),
            Err(source) => {
                // Leave no half-made pod behind, as Podman does.
                if let Err(e) = engine.remove_pod(&pod_id, true, None) {
                    progress.cleanup_failed(&e);
                }
                return Err(engine_step("creating container", &name)(source));
            }
        }
    }
    if opts.is_starting {
        let out = engine
            .start_pod(&pod_id)
            .map_err(engine_step("starting pod", &plan.name))?;
        if let Some(source) = out.failures.into_iter().next() {
            return Err(engine_step("starting pod", &plan.name)(source));
        }
    }
    Ok((pod_id, ids))
}

/// Makes what one pod volume needs: a claim's volume when missing, the
/// pod's own volume anew (with a ConfigMap's or Secret's files), or a
/// hostPath's directory or file.
fn make_volume(engine: &Engine, need: &VolumeNeed) -> Result<(), Error> {
    fn host_path(path: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
        move |source| Error::HostPath {
            path: path.to_string(),
            source,
        }
    }
    match need {
        VolumeNeed::Claim(name) => ensure_volume(engine, name),
        VolumeNeed::HostDirectory(path) => std::fs::create_dir_all(path).map_err(host_path(path)),
        VolumeNeed::HostFile(path) => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(drop)
            .map_err(host_path(path)),
        VolumeNeed::Owned(v) => {
            remove_owned_volume(engine, &v.name)?;
            engine
                .create_volume(NewVolume {
                    name: Some(v.name.clone()),
                    labels: v.labels.clone(),
                    ..NewVolume::default()
                })
                .map_err(|source| Error::CreateVolume {
                    name: v.name.clone(),
                    source: Box::new(source),
                })?;
            let dir = engine
                .volume(&v.name)
                .map_err(engine_step("finding volume", &v.name))?
                .mountpoint;
            for (key, data) in &v.files {
                write_file(&dir, key, data).map_err(|source| Error::WriteFiles {
                    name: v.name.clone(),
                    source,
                })?;
            }
            Ok(())
        }
    }
}

/// Removes volume `name` if it exists and `kube play` made it for a pod
/// (it has the label); a volume of the user's own is left alone.
fn remove_owned_volume(engine: &Engine, name: &str) -> Result<bool, Error> {
    if !engine
        .volume_exists(name)
        .map_err(engine_step("finding volume", name))?
    {
        return Ok(false);
    }
    let info = engine
        .volume(name)
        .map_err(engine_step("finding volume", name))?;
    if !info.record.labels.contains_key(translate::LABEL_VOLUME) {
        return Err(Error::NotOwned(name.to_string()));
    }
    engine
        .remove_volume(name, true, None)
        .map_err(engine_step("removing volume", name))?;
    Ok(true)
}

/// Writes one key of a ConfigMap or Secret as a file readable inside the
/// container; a key with a `/` or a leading dot-dot is no file name.
fn write_file(dir: &std::path::Path, key: &str, data: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if key.contains('/') || key == "." || key == ".." || key.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("key {key:?} is not a file name"),
        ));
    }
    let path = dir.join(key);
    std::fs::write(&path, data)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
}

/// What `kube down` removed: pod ids and the pods' own volumes.
#[derive(Debug, Default)]
pub struct DownReport {
    /// Pods stopped.
    pub stopped: Vec<String>,
    /// Pods removed.
    pub removed: Vec<String>,
    /// The volumes `kube play` made for them (emptyDir, ConfigMap and
    /// Secret volumes); claims are kept.
    pub volumes: Vec<String>,
}

/// Stops and removes the pods the YAML `text` describes and the volumes
/// `kube play` made for them; pods that do not exist are passed over, as
/// Podman does.
pub fn down(engine: &Engine, text: &str) -> Result<DownReport, Error> {
    let docs = translate::parse(text, &[])?;
    let mut report = DownReport::default();
    for p in &docs.pods {
        if engine
            .pod_exists(&p.name)
            .map_err(engine_step("finding pod", &p.name))?
        {
            let out = engine
                .stop_pod(&p.name, std::time::Duration::from_secs(10))
                .map_err(engine_step("stopping pod", &p.name))?;
            report.stopped.push(out.id);
            let id = engine
                .remove_pod(&p.name, true, None)
                .map_err(engine_step("removing pod", &p.name))?;
            report.removed.push(id);
        }
        for name in translate::owned_volumes(p) {
            match remove_owned_volume(engine, &name) {
                Ok(true) => report.volumes.push(name),
                Ok(false) | Err(Error::NotOwned(_)) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(report)
}

/// The strict schema check: `doc` is one of the kinds hutch reads and
/// every field it has is a field of that kind's type. Returns the
/// fields not in the types.
pub fn strict_check(doc: &serde_json::Value) -> Result<(), Vec<String>> {
    fn check<T: serde::de::DeserializeOwned + serde::Serialize>(
        doc: &serde_json::Value,
    ) -> Result<(), Vec<String>> {
        let t: T = serde_json::from_value(doc.clone()).map_err(|e| vec![e.to_string()])?;
        let back = serde_json::to_value(&t).map_err(|e| vec![e.to_string()])?;
        match types::unknown_fields(doc, &back) {
            v if v.is_empty() => Ok(()),
            v => Err(v),
        }
    }
    match doc.get("kind").and_then(serde_json::Value::as_str) {
        Some("Pod") => check::<types::Pod>(doc),
        Some("Deployment") => check::<types::Deployment>(doc),
        Some("ConfigMap" | "Secret") => check::<types::KeyValues>(doc),
        Some("PersistentVolumeClaim") => check::<types::Claim>(doc),
        Some("Service") => check::<types::Service>(doc),
        other => Err(vec![format!("kind {other:?}")]),
    }
}
