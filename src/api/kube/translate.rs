//! Kubernetes documents to the engine's requests, without I/O: the YAML
//! split and typed, ConfigMaps and Secrets gathered, each Pod or
//! Deployment turned into a pod (its name, published ports) and one
//! `CreateRequest` per container, the volumes it needs, and a warning for
//! every field hutch does not honour.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use super::types::{self, Container, KeyValues, PodSpec};
use super::Error;
use crate::container::{CreateRequest, RestartPolicy};

/// A pod the YAML describes.
#[derive(Debug, Clone, PartialEq)]
pub struct PodDoc {
    /// The pod's name, as Podman names it (a Deployment's is `NAME-pod-0`).
    pub name: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
    /// Its annotations, which each container gets (as Podman gives them).
    pub annotations: BTreeMap<String, String>,
    /// Its spec.
    pub spec: PodSpec,
}

/// Everything in one YAML stream.
#[derive(Debug, Clone, Default)]
pub struct Documents {
    /// Pods and Deployments, in order.
    pub pods: Vec<PodDoc>,
    /// PersistentVolumeClaims: the named volumes to create.
    pub claims: Vec<String>,
    /// ConfigMaps by name.
    pub config_maps: BTreeMap<String, BTreeMap<String, String>>,
    /// Secrets by name, decoded.
    pub secrets: BTreeMap<String, BTreeMap<String, String>>,
    /// Fields and kinds not honoured, one line each.
    pub warnings: Vec<String>,
}

/// A named volume or a host path a pod needs before its containers are
/// created.
#[derive(Debug, Clone, PartialEq)]
pub enum VolumeNeed {
    /// A claim: the named volume, created when missing and kept.
    Claim(String),
    /// A volume of the pod's own (an emptyDir, or a ConfigMap's or
    /// Secret's keys as files): made anew at every play, removed at down.
    Owned(OwnedVolume),
    /// A hostPath of type DirectoryOrCreate: the directory, made if missing.
    HostDirectory(String),
    /// A hostPath of type FileOrCreate: the file, made empty if missing.
    HostFile(String),
}

/// A volume `kube play` makes for one pod.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OwnedVolume {
    /// The volume's name: `POD-VOLUME`.
    pub name: String,
    /// Labels saying where it came from, which `kube generate` reads.
    pub labels: BTreeMap<String, String>,
    /// The files it holds (key to content); none for an emptyDir.
    pub files: BTreeMap<String, String>,
}

/// The label naming the pod volume an owned volume stands for.
pub const LABEL_VOLUME: &str = "io.hutch.kube.volume";
/// The label of an owned volume made from a ConfigMap (its name).
pub const LABEL_CONFIG_MAP: &str = "io.hutch.kube.configmap";
/// The label of an owned volume made from a Secret (its name).
pub const LABEL_SECRET: &str = "io.hutch.kube.secret";
/// The label of an owned volume made for an emptyDir.
pub const LABEL_EMPTY_DIR: &str = "io.hutch.kube.emptydir";

/// The name of the volume pod `pod` owns for its pod volume `volume`.
pub fn owned_volume_name(pod: &str, volume: &str) -> String {
    format!("{pod}-{volume}")
}

/// One pod, ready for the engine.
#[derive(Debug, Clone)]
pub struct PodPlan {
    /// The pod's name.
    pub name: String,
    /// `-p` of the pod.
    pub publish: Vec<String>,
    /// The pod's host name.
    pub hostname: Option<String>,
    /// The pod's labels (`KEY=VALUE`).
    pub labels: Vec<String>,
    /// `hostNetwork: true`: the host's network.
    pub is_host_network: bool,
    /// The volumes it needs.
    pub volumes: Vec<VolumeNeed>,
    /// Its containers, in order.
    pub containers: Vec<CreateRequest>,
    /// Fields read but not honoured, one line each.
    pub warnings: Vec<String>,
}

/// Splits and types a YAML stream; `--configmap` files' text comes as
/// `extra`.
pub fn parse(text: &str, extra: &[String]) -> Result<Documents, Error> {
    let mut docs = Documents::default();
    for source in extra {
        for value in split(source)? {
            let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
            if kind != "ConfigMap" {
                return Err(Error::NotConfigMap(kind.to_string()));
            }
            add(&mut docs, value)?;
        }
    }
    for value in split(text)? {
        add(&mut docs, value)?;
    }
    Ok(docs)
}

/// The documents of a YAML stream, as JSON values (empty ones left out).
fn split(text: &str) -> Result<Vec<Value>, Error> {
    let mut out = Vec::new();
    for doc in serde_norway::Deserializer::from_str(text) {
        let value: Value =
            serde::Deserialize::deserialize(doc).map_err(|source| Error::Yaml { source })?;
        if !value.is_null() {
            out.push(value);
        }
    }
    Ok(out)
}

/// Reads `value` as `T` and warns about every field the types lost.
fn typed<T>(docs: &mut Documents, value: &Value) -> Result<T, Error>
where
    T: serde::de::DeserializeOwned + serde::Serialize,
{
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    let t: T = serde_json::from_value(value.clone()).map_err(|source| Error::Document {
        kind: kind.to_string(),
        source,
    })?;
    let back = serde_json::to_value(&t).unwrap_or(Value::Null);
    for field in types::unknown_fields(value, &back) {
        docs.warnings.push(format!(
            "{kind}: field {field} is not supported and is ignored"
        ));
    }
    Ok(t)
}

fn add(docs: &mut Documents, value: Value) -> Result<(), Error> {
    let kind = value.get("kind").and_then(Value::as_str).unwrap_or("");
    match kind {
        "Pod" => {
            let p: types::Pod = typed(docs, &value)?;
            docs.pods.push(PodDoc {
                name: p.metadata.name,
                labels: p.metadata.labels,
                annotations: p.metadata.annotations,
                spec: p.spec,
            });
        }
        "Deployment" => {
            let d: types::Deployment = typed(docs, &value)?;
            let replicas = d.spec.replicas.unwrap_or(1);
            if replicas > 1 {
                return Err(Error::Replicas {
                    name: d.metadata.name,
                    replicas,
                });
            }
            let mut labels = d.spec.template.metadata.labels;
            labels.extend(d.metadata.labels);
            let mut annotations = d.metadata.annotations;
            annotations.extend(d.spec.template.metadata.annotations);
            docs.pods.push(PodDoc {
                name: format!("{}-pod-0", d.metadata.name),
                labels,
                annotations,
                spec: d.spec.template.spec,
            });
        }
        "ConfigMap" => {
            let c: KeyValues = typed(docs, &value)?;
            docs.config_maps.insert(c.metadata.name, c.data);
        }
        "Secret" => {
            let s: KeyValues = typed(docs, &value)?;
            let mut data = s.string_data;
            for (k, v) in s.data {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(v.trim())
                    .map_err(|_| Error::SecretData {
                        name: s.metadata.name.clone(),
                        key: k.clone(),
                    })?;
                data.insert(k, String::from_utf8_lossy(&bytes).into_owned());
            }
            docs.secrets.insert(s.metadata.name, data);
        }
        "PersistentVolumeClaim" => {
            let c: types::Claim = typed(docs, &value)?;
            docs.claims.push(c.metadata.name);
        }
        "Service" => {
            let s: types::Service = typed(docs, &value)?;
            docs.warnings.push(format!(
                "Service {}: not created; hutch publishes a pod's ports from its containers' hostPort",
                s.metadata.name
            ));
        }
        other => docs
            .warnings
            .push(format!("kind {other:?} is not supported and is ignored")),
    }
    Ok(())
}

/// Turns pod `pod` into the engine's requests.
pub fn plan_pod(pod: &PodDoc, docs: &Documents) -> Result<PodPlan, Error> {
    let spec = &pod.spec;
    if spec.containers.is_empty() {
        return Err(Error::NoContainers(pod.name.clone()));
    }
    let mut publish = Vec::new();
    for c in &spec.containers {
        for p in &c.ports {
            if let Some(host) = p.host_port {
                let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
                let ip = p
                    .host_ip
                    .as_deref()
                    .map(|i| format!("{i}:"))
                    .unwrap_or_default();
                publish.push(format!("{ip}{host}:{}/{proto}", p.container_port));
            }
        }
    }
    let mut volumes = Vec::new();
    let mut mounts: BTreeMap<&str, String> = BTreeMap::new();
    for v in &spec.volumes {
        let (source, need) = volume_source(pod, v, docs)?;
        mounts.insert(&v.name, source);
        volumes.extend(need);
    }
    let mut warnings = Vec::new();
    let containers = spec
        .containers
        .iter()
        .map(|c| plan_container(pod, c, &mounts, docs, &mut warnings))
        .collect::<Result<_, _>>()?;
    Ok(PodPlan {
        name: pod.name.clone(),
        publish,
        hostname: spec.hostname.clone(),
        labels: pod.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        is_host_network: spec.host_network == Some(true),
        volumes,
        containers,
        warnings,
    })
}

/// What `-v` names for pod volume `v` (a host path or a volume name)
/// and what must exist first.
fn volume_source(
    pod: &PodDoc,
    v: &types::Volume,
    docs: &Documents,
) -> Result<(String, Option<VolumeNeed>), Error> {
    if let Some(h) = &v.host_path {
        let need = match h.kind.as_deref() {
            Some("DirectoryOrCreate") => Some(VolumeNeed::HostDirectory(h.path.clone())),
            Some("FileOrCreate") => Some(VolumeNeed::HostFile(h.path.clone())),
            _ => None,
        };
        return Ok((h.path.clone(), need));
    }
    if let Some(c) = &v.persistent_volume_claim {
        return Ok((
            c.claim_name.clone(),
            Some(VolumeNeed::Claim(c.claim_name.clone())),
        ));
    }
    let mut owned = OwnedVolume {
        name: owned_volume_name(&pod.name, &v.name),
        labels: BTreeMap::from([(LABEL_VOLUME.to_string(), v.name.clone())]),
        files: BTreeMap::new(),
    };
    let files = |kind: &'static str, name: &str, map: &BTreeMap<String, _>, optional| {
        let data: Option<&BTreeMap<String, String>> = map.get(name);
        match (data, optional) {
            (Some(d), _) => Ok(d.clone()),
            (None, Some(true)) => Ok(BTreeMap::new()),
            (None, _) => Err(Error::Missing {
                kind,
                name: name.to_string(),
            }),
        }
    };
    if v.empty_dir.is_some() {
        owned.labels.insert(LABEL_EMPTY_DIR.into(), "true".into());
    } else if let Some(c) = &v.config_map {
        owned.files = files("ConfigMap", &c.name, &docs.config_maps, c.optional)?;
        owned.labels.insert(LABEL_CONFIG_MAP.into(), c.name.clone());
    } else if let Some(s) = &v.secret {
        owned.files = files("Secret", &s.secret_name, &docs.secrets, s.optional)?;
        owned
            .labels
            .insert(LABEL_SECRET.into(), s.secret_name.clone());
    } else {
        return Err(Error::VolumeSource {
            pod: pod.name.clone(),
            volume: v.name.clone(),
        });
    }
    Ok((owned.name.clone(), Some(VolumeNeed::Owned(owned))))
}

/// The names of the volumes pod `pod` owns (emptyDir, ConfigMap and
/// Secret volumes), which `kube down` removes.
pub fn owned_volumes(pod: &PodDoc) -> Vec<String> {
    pod.spec
        .volumes
        .iter()
        .filter(|v| v.empty_dir.is_some() || v.config_map.is_some() || v.secret.is_some())
        .map(|v| owned_volume_name(&pod.name, &v.name))
        .collect()
}

fn plan_container(
    pod: &PodDoc,
    c: &Container,
    mounts: &BTreeMap<&str, String>,
    docs: &Documents,
    warnings: &mut Vec<String>,
) -> Result<CreateRequest, Error> {
    let mut req = CreateRequest {
        image: c.image.clone(),
        name: Some(format!("{}-{}", pod.name, c.name)),
        pod: Some(pod.name.clone()),
        ..CreateRequest::default()
    };
    req.metadata.annotations = pod
        .annotations
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if !c.command.is_empty() {
        req.process.entrypoint = Some(serde_json::to_string(&c.command).unwrap_or_default());
    }
    req.process.command = c.args.clone();
    req.process.workdir = c.working_dir.clone();
    // The pod publishes; the container says which ports are its own.
    req.network.exposed = c
        .ports
        .iter()
        .map(|p| {
            let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
            format!("{}/{proto}", p.container_port)
        })
        .collect();
    req.process.env = env(c, docs)?;
    req.process.tty = c.tty.unwrap_or(false);
    req.process.interactive = c.stdin.unwrap_or(false);
    req.pull = match c.image_pull_policy.as_deref() {
        Some("Always") => crate::container::PullPolicy::Always,
        Some("Never") => crate::container::PullPolicy::Never,
        _ => crate::container::PullPolicy::Missing,
    };
    req.restart = match pod.spec.restart_policy.as_deref() {
        None | Some("Always") => RestartPolicy::Always,
        Some("OnFailure") => RestartPolicy::OnFailure { max_retries: None },
        _ => RestartPolicy::No,
    };
    let pod_sc = pod.spec.security_context.clone().unwrap_or_default();
    let sc = c.security_context.clone().unwrap_or_default();
    let uid = sc.run_as_user.or(pod_sc.run_as_user);
    let gid = sc.run_as_group.or(pod_sc.run_as_group);
    req.process.user = match (uid, gid) {
        (Some(u), Some(g)) => Some(format!("{u}:{g}")),
        (Some(u), None) => Some(u.to_string()),
        (None, Some(g)) => Some(format!("0:{g}")),
        (None, None) => None,
    };
    if let Some(caps) = &sc.capabilities {
        req.security.cap_add = caps.add.clone();
        req.security.cap_drop = caps.drop.clone();
    }
    req.security.read_only = sc.read_only_root_filesystem.unwrap_or(false);
    req.security.privileged = sc.privileged.unwrap_or(false);
    if let Some(r) = &c.resources {
        resources(&pod.name, c, r, &mut req, warnings)?;
    }
    for m in &c.volume_mounts {
        let source = mounts.get(m.name.as_str()).ok_or_else(|| Error::NoVolume {
            container: c.name.clone(),
            volume: m.name.clone(),
        })?;
        let ro = if m.read_only.unwrap_or(false) {
            ":ro"
        } else {
            ""
        };
        req.mounts.volume.push(match source.is_empty() {
            true => m.mount_path.clone(),
            false => format!("{source}:{}{ro}", m.mount_path),
        });
    }
    if c.liveness_probe.is_some() && c.readiness_probe.is_some() {
        warnings.push(format!(
            "pod {} container {}: readinessProbe is ignored: hutch runs one health check, the livenessProbe",
            pod.name, c.name
        ));
    }
    if let Some(p) = c.liveness_probe.as_ref().or(c.readiness_probe.as_ref()) {
        req.health.cmd = Some(probe_command(c, p)?);
        let secs = |s: Option<u32>| s.map(|s| format!("{s}s"));
        req.health.interval = secs(p.period_seconds);
        req.health.timeout = secs(p.timeout_seconds);
        req.health.start_period = secs(p.initial_delay_seconds);
        req.health.retries = p.failure_threshold;
    }
    Ok(req)
}

/// `resources`: limits as `--memory` and `--cpus`, requests as
/// `--memory-reservation` and `--cpu-shares` (as Podman maps them); any
/// other resource is named in a warning.
fn resources(
    pod: &str,
    c: &Container,
    r: &types::Resources,
    req: &mut CreateRequest,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    let limits = &mut req.cgroups.limits;
    for (which, map) in [("limits", &r.limits), ("requests", &r.requests)] {
        for (key, q) in map {
            match (which, key.as_str()) {
                ("limits", "memory") => limits.memory = Some(memory(q)?),
                ("limits", "cpu") => limits.cpus = Some(cpus(q)?),
                ("requests", "memory") => limits.memory_reservation = Some(memory(q)?),
                ("requests", "cpu") => {
                    // Kubernetes' own conversion: 1024 shares per CPU, at
                    // least 2.
                    let cpu: f64 = cpus(q)?.parse().unwrap_or(0.0);
                    limits.cpu_shares = Some(((cpu * 1024.0) as u64).max(2));
                }
                _ => warnings.push(format!(
                    "pod {pod} container {}: resources.{which}.{key} is not supported and is ignored",
                    c.name
                )),
            }
        }
    }
    Ok(())
}

/// A probe as `--health-cmd`: an exec probe's argv as JSON; an HTTP or TCP
/// probe as the shell command Podman runs for it (`curl -f`, `nc -z`).
fn probe_command(c: &Container, p: &types::Probe) -> Result<String, Error> {
    let port = |v: &Value| -> Result<String, Error> {
        match v {
            Value::Number(n) => Ok(n.to_string()),
            Value::String(s) if s.parse::<u16>().is_ok() => Ok(s.clone()),
            Value::String(s) => c
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(s))
                .map(|p| p.container_port.to_string())
                .ok_or_else(|| Error::Probe {
                    container: c.name.clone(),
                    problem: format!("no port named {s:?}"),
                }),
            other => Err(Error::Probe {
                container: c.name.clone(),
                problem: format!("port {other} is neither a number nor a name"),
            }),
        }
    };
    if let Some(exec) = &p.exec {
        return Ok(serde_json::to_string(&exec.command).unwrap_or_default());
    }
    if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let host = h.host.as_deref().unwrap_or("localhost");
        let path = h.path.as_deref().unwrap_or("/");
        return Ok(format!(
            "curl -f {scheme}://{host}:{}{path} || exit 1",
            port(&h.port)?
        ));
    }
    if let Some(t) = &p.tcp_socket {
        let host = t.host.as_deref().unwrap_or("localhost");
        return Ok(format!("nc -z -v {host} {} || exit 1", port(&t.port)?));
    }
    Err(Error::Probe {
        container: c.name.clone(),
        problem: "it has none of exec, httpGet and tcpSocket".into(),
    })
}

/// The container's variables: `envFrom` first, then `env`, as Kubernetes
/// lets `env` win.
fn env(c: &Container, docs: &Documents) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for from in &c.env_from {
        let prefix = from.prefix.as_deref().unwrap_or("");
        let (kind, r, map) = match (&from.config_map_ref, &from.secret_ref) {
            (Some(r), _) => ("ConfigMap", r, &docs.config_maps),
            (None, Some(r)) => ("Secret", r, &docs.secrets),
            (None, None) => continue,
        };
        match map.get(&r.name) {
            Some(data) => out.extend(data.iter().map(|(k, v)| format!("{prefix}{k}={v}"))),
            None if r.optional == Some(true) => {}
            None => {
                return Err(Error::Missing {
                    kind,
                    name: r.name.clone(),
                })
            }
        }
    }
    for e in &c.env {
        if let Some(v) = &e.value {
            out.push(format!("{}={v}", e.name));
            continue;
        }
        let Some(from) = &e.value_from else {
            out.push(format!("{}=", e.name));
            continue;
        };
        let (kind, r, map) = match (&from.config_map_key_ref, &from.secret_key_ref) {
            (Some(r), _) => ("ConfigMap", r, &docs.config_maps),
            (None, Some(r)) => ("Secret", r, &docs.secrets),
            (None, None) => continue,
        };
        match map.get(&r.name).and_then(|d| d.get(&r.key)) {
            Some(v) => out.push(format!("{}={v}", e.name)),
            None if r.optional == Some(true) => {}
            None => {
                return Err(Error::Missing {
                    kind,
                    name: format!("{} key {}", r.name, r.key),
                })
            }
        }
    }
    Ok(out)
}

/// A memory quantity (`128Mi`, `1G`, `1000`) in bytes, as `--memory` takes.
pub fn memory(q: &Value) -> Result<String, Error> {
    let text = quantity_text(q);
    let bad = || Error::Quantity {
        field: "memory",
        value: text.clone(),
    };
    let split = text
        .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .unwrap_or(text.len());
    let (num, suffix) = text.split_at(split);
    let num: f64 = num.parse().map_err(|_| bad())?;
    let mult: f64 = match suffix {
        "" => 1.0,
        "k" | "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return Err(bad()),
    };
    Ok(format!("{}", (num * mult) as u64))
}

/// A CPU quantity (`500m`, `2`, `0.5`) as `--cpus` takes it.
pub fn cpus(q: &Value) -> Result<String, Error> {
    let text = quantity_text(q);
    let bad = || Error::Quantity {
        field: "cpu",
        value: text.clone(),
    };
    let value = match text.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().map_err(|_| bad())? / 1000.0,
        None => text.parse::<f64>().map_err(|_| bad())?,
    };
    Ok(format!("{value}"))
}

fn quantity_text(q: &Value) -> String {
    match q {
        Value::String(s) => s.trim().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STACK: &str = "\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {GREETING: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
data: {TOKEN: c2VjcmV0}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  strategy: {type: Recreate}
  template:
    metadata: {labels: {app: web}, annotations: {team: web}}
    spec:
      restartPolicy: OnFailure
      containers:
      - name: srv
        image: localhost/busybox
        command: [httpd, -f]
        args: [-p, '80']
        stdinOnce: true
        env:
        - {name: A, value: '1'}
        - name: G
          valueFrom: {configMapKeyRef: {name: cfg, key: GREETING}}
        - name: T
          valueFrom: {secretKeyRef: {name: sec, key: TOKEN}}
        envFrom: [{configMapRef: {name: cfg}, prefix: CM_}]
        ports: [{containerPort: 80, hostPort: 8080}]
        resources: {limits: {memory: 64Mi, cpu: 500m}}
        securityContext:
          runAsUser: 1000
          capabilities: {drop: [NET_RAW]}
          readOnlyRootFilesystem: true
        volumeMounts:
        - {name: data, mountPath: /data}
        - {name: scratch, mountPath: /scratch}
        - {name: conf, mountPath: /etc/conf, readOnly: true}
        livenessProbe: {exec: {command: ['true']}, periodSeconds: 5}
      volumes:
      - {name: data, persistentVolumeClaim: {claimName: webdata}}
      - {name: scratch, emptyDir: {}}
      - {name: conf, configMap: {name: cfg}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: webdata}
spec: {accessModes: [ReadWriteOnce]}
";

    #[test]
    fn a_deployment_becomes_a_pod_named_as_podman_names_it() {
        let docs = parse(STACK, &[]).unwrap();
        assert_eq!(docs.claims, ["webdata"]);
        assert_eq!(docs.pods.len(), 1);
        let plan = plan_pod(&docs.pods[0], &docs).unwrap();
        assert_eq!(plan.name, "web-pod-0");
        assert_eq!(plan.publish, ["8080:80/tcp"]);
        let c = &plan.containers[0];
        assert_eq!(c.name.as_deref(), Some("web-pod-0-srv"));
        assert_eq!(c.pod.as_deref(), Some("web-pod-0"));
        assert_eq!(c.process.entrypoint.as_deref(), Some(r#"["httpd","-f"]"#));
        assert_eq!(c.process.command, ["-p", "80"]);
        assert_eq!(
            c.process.env,
            ["CM_GREETING=hello", "A=1", "G=hello", "T=secret"]
        );
        assert_eq!(c.cgroups.limits.memory.as_deref(), Some("67108864"));
        assert_eq!(c.cgroups.limits.cpus.as_deref(), Some("0.5"));
        assert_eq!(c.process.user.as_deref(), Some("1000"));
        assert_eq!(c.security.cap_drop, ["NET_RAW"]);
        assert!(c.security.read_only);
        assert_eq!(
            c.mounts.volume,
            [
                "webdata:/data",
                "web-pod-0-scratch:/scratch",
                "web-pod-0-conf:/etc/conf:ro"
            ]
        );
        assert_eq!(c.health.cmd.as_deref(), Some(r#"["true"]"#));
        assert_eq!(c.health.interval.as_deref(), Some("5s"));
        assert_eq!(c.restart, RestartPolicy::OnFailure { max_retries: None });
        assert_eq!(c.metadata.annotations, ["team=web"]);
        assert!(plan.volumes.contains(&VolumeNeed::Claim("webdata".into())));
        // The emptyDir and the ConfigMap's files are volumes of the pod's
        // own, labelled for `kube generate`.
        let owned: Vec<_> = plan
            .volumes
            .iter()
            .filter_map(|v| match v {
                VolumeNeed::Owned(o) => Some((o.name.as_str(), o.labels.clone(), o.files.len())),
                _ => None,
            })
            .collect();
        assert_eq!(owned.len(), 2);
        assert_eq!(owned[0].0, "web-pod-0-scratch");
        assert_eq!(owned[0].1[LABEL_EMPTY_DIR], "true");
        assert_eq!(owned[1].0, "web-pod-0-conf");
        assert_eq!(owned[1].1[LABEL_CONFIG_MAP], "cfg");
        assert_eq!(owned[1].2, 1);
        assert_eq!(
            owned_volumes(&docs.pods[0]),
            ["web-pod-0-scratch", "web-pod-0-conf"]
        );
    }

    #[test]
    fn unknown_fields_are_named_in_warnings() {
        let docs = parse(STACK, &[]).unwrap();
        assert!(docs
            .warnings
            .contains(&"Deployment: field spec.strategy is not supported and is ignored".into()));
        assert!(docs
            .warnings
            .iter()
            .any(|w| w.contains("spec.template.spec.containers[0].stdinOnce")));
    }

    #[test]
    fn more_than_one_replica_is_refused() {
        let y = "kind: Deployment\nmetadata: {name: w}\nspec: {replicas: 2, template: {spec: {containers: [{name: a, image: b}]}}}\n";
        assert!(matches!(
            parse(y, &[]),
            Err(Error::Replicas { replicas: 2, .. })
        ));
    }

    #[test]
    fn a_missing_config_map_key_is_an_error() {
        let y = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: b\n    env: [{name: X, valueFrom: {configMapKeyRef: {name: nope, key: k}}}]\n";
        let docs = parse(y, &[]).unwrap();
        assert!(matches!(
            plan_pod(&docs.pods[0], &docs),
            Err(Error::Missing { .. })
        ));
    }

    #[test]
    fn requests_probes_and_unsupported_resources() {
        let y = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: a\n    image: b\n    ports: [{containerPort: 8080, name: web}]\n    resources:\n      requests: {memory: 32Mi, cpu: 250m}\n      limits: {nvidia.com/gpu: 1}\n    livenessProbe: {httpGet: {path: /health, port: web}, periodSeconds: 3}\n    readinessProbe: {tcpSocket: {port: 8080}}\n  - name: c\n    image: b\n    livenessProbe: {tcpSocket: {port: 53, host: 127.0.0.1}}\n  - name: d\n    image: b\n    livenessProbe: {httpGet: {port: nope}}\n";
        let docs = parse(y, &[]).unwrap();
        let mut pod = docs.pods[0].clone();
        let d = pod.spec.containers.pop().unwrap();
        assert!(matches!(
            plan_pod(
                &PodDoc {
                    spec: PodSpec {
                        containers: vec![d],
                        ..PodSpec::default()
                    },
                    ..pod.clone()
                },
                &docs
            ),
            Err(Error::Probe { .. })
        ));
        let plan = plan_pod(&pod, &docs).unwrap();
        let a = &plan.containers[0];
        assert_eq!(
            a.cgroups.limits.memory_reservation.as_deref(),
            Some("33554432")
        );
        assert_eq!(a.cgroups.limits.cpu_shares, Some(256));
        assert_eq!(
            a.health.cmd.as_deref(),
            Some("curl -f http://localhost:8080/health || exit 1")
        );
        assert_eq!(a.health.interval.as_deref(), Some("3s"));
        assert_eq!(
            plan.containers[1].health.cmd.as_deref(),
            Some("nc -z -v 127.0.0.1 53 || exit 1")
        );
        assert_eq!(
            plan.warnings,
            [
                "pod p container a: resources.limits.nvidia.com/gpu is not supported and is ignored",
                "pod p container a: readinessProbe is ignored: hutch runs one health check, the livenessProbe",
            ]
        );
    }

    #[test]
    fn quantities_convert() {
        assert_eq!(memory(&Value::from("1Gi")).unwrap(), "1073741824");
        assert_eq!(memory(&Value::from(1000)).unwrap(), "1000");
        assert!(memory(&Value::from("1Xi")).is_err());
        assert_eq!(cpus(&Value::from("250m")).unwrap(), "0.25");
        assert_eq!(cpus(&Value::from(2)).unwrap(), "2");
    }
}
