//! `kube generate`: a Pod or a Deployment (with a Service for its
//! published ports, a ConfigMap or Secret for each volume `kube play` made
//! from one, and a PersistentVolumeClaim per volume named) from the
//! requests the engine recorded, written as the Kubernetes types of
//! `types`.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::Value;

use super::translate::{LABEL_CONFIG_MAP, LABEL_EMPTY_DIR, LABEL_SECRET, LABEL_VOLUME};
use super::types::{
    Capabilities, ClaimSource, Container, ContainerPort, Deployment, DeploymentSpec, EnvVar,
    ExecAction, HostPathSource, KeyValues, NameRef, ObjectMeta, Pod, PodSpec, PodTemplate, Probe,
    Resources, SecretSource, SecurityContext, Service, ServicePort, ServiceSpec, Volume,
    VolumeMount,
};
use super::Error;
use crate::container::{CreateRequest, Engine, RestartPolicy};

/// A published port of a pod: container port, host port, protocol.
pub type Published = (u16, u16, String);

/// What `kube generate` writes for a pod.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    /// A Pod (`--type pod`, the default).
    #[default]
    Pod,
    /// A Deployment of one replica (`--type deployment`).
    Deployment,
}

/// The flags of `kube generate`.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// `--service`: a Service for the published ports.
    pub is_service: bool,
    /// `--type`.
    pub kind: Kind,
}

/// Where a named volume that a container mounts came from.
#[derive(Debug, Clone, PartialEq)]
pub enum Origin {
    /// A volume of its own: written as a PersistentVolumeClaim.
    Claim,
    /// A pod's emptyDir, with the pod volume's name.
    EmptyDir(String),
    /// A ConfigMap's keys: pod volume, ConfigMap name, files.
    ConfigMap(String, String, BTreeMap<String, String>),
    /// A Secret's keys: pod volume, Secret name, files.
    Secret(String, String, BTreeMap<String, String>),
}

/// Writes YAML for `names` (pods, containers or volumes).
pub fn generate(
    engine: &Engine,
    names: &[String],
    opts: &GenerateOptions,
) -> Result<String, Error> {
    let mut docs = Vec::new();
    for name in names {
        let step = |s| super::engine_step(s, name);
        if engine.pod_exists(name).map_err(step("finding pod"))? {
            let state = engine.pod(name).map_err(step("reading pod"))?;
            // In the order they were made: the first holds the ports.
            let members = engine
                .pod_members_in_order(&state.pod.id)
                .map_err(step("reading pod"))?;
            let mut reqs = Vec::new();
            for (id, cname) in members {
                let (_, req) = engine
                    .recorded_request(&id)
                    .map_err(step("reading container"))?;
                reqs.push((cname, req));
            }
            let ports: Vec<Published> = state
                .pod
                .network
                .ports
                .iter()
                .map(|p| (p.container_port, p.host_port, p.proto.name().to_string()))
                .collect();
            let origins = origins(engine, &reqs)?;
            docs.extend(pod_docs(&state.pod.name, &reqs, &ports, opts, &origins)?);
        } else if let Ok((record, req)) = engine.recorded_request(name) {
            let ports: Vec<Published> = req
                .network
                .publish
                .iter()
                .filter_map(|p| parse_publish(p))
                .collect();
            let pod = format!("{}-pod", record.name);
            let reqs = [(record.name, req)];
            let origins = origins(engine, &reqs)?;
            docs.extend(pod_docs(&pod, &reqs, &ports, opts, &origins)?);
        } else if engine.volume_exists(name).map_err(step("finding volume"))? {
            docs.push(claim(name)?);
        } else {
            return Err(Error::NotFound(name.clone()));
        }
    }
    let mut out = format!(
        "# Save the output of this file and use kubectl create -f to import\n\
         # it into Kubernetes.\n#\n# Created with hutch-{}\n",
        env!("CARGO_PKG_VERSION")
    );
    out.push_str(&docs.join("---\n"));
    Ok(out)
}

/// Where each named volume the containers mount came from, by volume
/// name: the labels `kube play` gave the volumes it made, and the files of
/// those made from a ConfigMap or Secret.
fn origins(
    engine: &Engine,
    reqs: &[(String, CreateRequest)],
) -> Result<BTreeMap<String, Origin>, Error> {
    let mut out = BTreeMap::new();
    for (_, req) in reqs {
        for spec in &req.mounts.volume {
            let source = spec.split(':').next().unwrap_or_default();
            if source.is_empty() || source.starts_with('/') || !spec.contains(':') {
                continue;
            }
            if out.contains_key(source) {
                continue;
            }
            let info = engine
                .volume(source)
                .map_err(super::engine_step("reading volume", source))?;
            let labels = &info.record.labels;
            let Some(volume) = labels.get(LABEL_VOLUME).cloned() else {
                out.insert(source.to_string(), Origin::Claim);
                continue;
            };
            let files = || {
                read_files(&info.mountpoint).map_err(|source_err| Error::ReadFiles {
                    name: source.to_string(),
                    source: source_err,
                })
            };
            let origin = if let Some(cm) = labels.get(LABEL_CONFIG_MAP) {
                Origin::ConfigMap(volume, cm.clone(), files()?)
            } else if let Some(s) = labels.get(LABEL_SECRET) {
                Origin::Secret(volume, s.clone(), files()?)
            } else if labels.contains_key(LABEL_EMPTY_DIR) {
                Origin::EmptyDir(volume)
            } else {
                Origin::Claim
            };
            out.insert(source.to_string(), origin);
        }
    }
    Ok(out)
}

/// The regular files directly in `dir`, by name.
fn read_files(dir: &std::path::Path) -> std::io::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            let name = entry.file_name().to_string_lossy().into_owned();
            out.insert(name, std::fs::read_to_string(entry.path())?);
        }
    }
    Ok(out)
}

/// One document as YAML, checked strictly first: what hutch writes is
/// read back by the Kubernetes types without a field to spare.
fn to_yaml<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    let v = serde_json::to_value(value).unwrap_or(Value::Null);
    super::strict_check(&v).map_err(|fields| Error::NotStrict(fields.join(", ")))?;
    serde_norway::to_string(value).map_err(|source| Error::Write { source })
}

fn claim(name: &str) -> Result<String, Error> {
    let c = super::types::Claim {
        api_version: "v1".into(),
        kind: "PersistentVolumeClaim".into(),
        metadata: ObjectMeta {
            name: name.to_string(),
            ..ObjectMeta::default()
        },
        spec: serde_json::json!({
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        }),
    };
    to_yaml(&c)
}

/// `HOST:CONTAINER[/PROTO]` (with an optional leading address) as a
/// published port; ranges and ports without a host side are left out.
fn parse_publish(spec: &str) -> Option<Published> {
    let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    let mut parts: Vec<&str> = ports.rsplitn(3, ':').collect();
    parts.reverse();
    let (host, ctr) = match parts.as_slice() {
        [host, ctr] | [_, host, ctr] => (host.parse().ok()?, ctr.parse().ok()?),
        _ => return None,
    };
    Some((ctr, host, proto.to_string()))
}

/// A ConfigMap or Secret document holding `files`.
fn key_values(kind: &str, name: &str, files: &BTreeMap<String, String>) -> Result<String, Error> {
    let data = match kind {
        "Secret" => files
            .iter()
            .map(|(k, v)| {
                let encoded = base64::engine::general_purpose::STANDARD.encode(v);
                (k.clone(), encoded)
            })
            .collect(),
        _ => files.clone(),
    };
    to_yaml(&KeyValues {
        api_version: "v1".into(),
        kind: kind.into(),
        metadata: ObjectMeta {
            name: name.to_string(),
            ..ObjectMeta::default()
        },
        data,
        kind_of_secret: (kind == "Secret").then(|| "Opaque".into()),
        ..KeyValues::default()
    })
}

/// The documents for pod `name` of containers `reqs` (each with its
/// name) publishing `ports`: its ConfigMaps and Secrets, the Service when
/// asked, and the Pod or Deployment (Podman 4.3's order); `origins` says where each
/// named volume came from (a volume not in it is a claim).
pub fn pod_docs(
    name: &str,
    reqs: &[(String, CreateRequest)],
    ports: &[Published],
    opts: &GenerateOptions,
    origins: &BTreeMap<String, Origin>,
) -> Result<Vec<String>, Error> {
    let labels = BTreeMap::from([("app".to_string(), name.to_string())]);
    let meta = ObjectMeta {
        name: name.to_string(),
        labels: labels.clone(),
        creation_timestamp: Some(crate::container::now_rfc3339()),
        ..ObjectMeta::default()
    };
    let mut out = Vec::new();
    let mut spec = PodSpec {
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        hostname: Some(name.to_string()),
        ..PodSpec::default()
    };
    let mut volumes: BTreeMap<String, Volume> = BTreeMap::new();
    for (i, (cname, req)) in reqs.iter().enumerate() {
        let short = cname
            .strip_prefix(&format!("{name}-"))
            .unwrap_or(cname)
            .to_string();
        let mut c = container(short, req, &mut volumes, origins);
        // Each port goes to the container that exposes it; the rest to
        // the first.
        c.ports = ports
            .iter()
            .filter(|(ctr, _, proto)| {
                let own = |r: &CreateRequest| r.network.exposed.contains(&format!("{ctr}/{proto}"));
                own(req) || i == 0 && !reqs.iter().any(|(_, r)| own(r))
            })
            .map(|(ctr, host, proto)| ContainerPort {
                container_port: *ctr,
                host_port: Some(*host),
                protocol: (proto != "tcp").then(|| proto.to_ascii_uppercase()),
                ..ContainerPort::default()
            })
            .collect();
        if i == 0 {
            spec.restart_policy = Some(
                match req.restart {
                    RestartPolicy::Always | RestartPolicy::UnlessStopped => "Always",
                    RestartPolicy::OnFailure { .. } => "OnFailure",
                    RestartPolicy::No => "Never",
                }
                .into(),
            );
        }
        spec.containers.push(c);
    }
    spec.volumes = volumes.into_values().collect();
    let mut written = std::collections::BTreeSet::new();
    for origin in origins.values() {
        let (kind, object, files) = match origin {
            Origin::ConfigMap(_, n, f) => ("ConfigMap", n, f),
            Origin::Secret(_, n, f) => ("Secret", n, f),
            _ => continue,
        };
        if written.insert((kind, object)) {
            out.push(key_values(kind, object, files)?);
        }
    }
    if opts.is_service && !ports.is_empty() {
        let s = Service {
            api_version: "v1".into(),
            kind: "Service".into(),
            metadata: meta.clone(),
            spec: ServiceSpec {
                ports: ports
                    .iter()
                    .map(|(ctr, _, proto)| ServicePort {
                        name: Some(ctr.to_string()),
                        port: *ctr,
                        target_port: Some(Value::from(*ctr)),
                        node_port: None,
                        protocol: (proto != "tcp").then(|| proto.to_ascii_uppercase()),
                    })
                    .collect(),
                selector: labels.clone(),
                kind: Some("NodePort".into()),
            },
        };
        out.push(to_yaml(&s)?);
    }
    out.push(match opts.kind {
        Kind::Pod => to_yaml(&Pod {
            api_version: "v1".into(),
            kind: "Pod".into(),
            metadata: meta,
            spec,
        })?,
        Kind::Deployment => {
            // A Deployment's pods always restart (the API allows nothing
            // else in its template).
            spec.restart_policy = None;
            to_yaml(&Deployment {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                metadata: ObjectMeta {
                    name: format!("{name}-deployment"),
                    ..meta
                },
                spec: DeploymentSpec {
                    replicas: Some(1),
                    selector: Some(serde_json::json!({ "matchLabels": labels })),
                    template: PodTemplate {
                        metadata: ObjectMeta {
                            labels: labels.clone(),
                            ..ObjectMeta::default()
                        },
                        spec,
                    },
                },
            })?
        }
    });
    Ok(out)
}

/// A container of the Pod from its recorded request; its `-v` volumes
/// are added to `volumes` by pod volume name.
fn container(
    name: String,
    req: &CreateRequest,
    volumes: &mut BTreeMap<String, Volume>,
    origins: &BTreeMap<String, Origin>,
) -> Container {
    let command = match req.process.entrypoint.as_deref() {
        None | Some("") => Vec::new(),
        Some(e) => serde_json::from_str::<Vec<String>>(e).unwrap_or_else(|_| vec![e.to_string()]),
    };
    let env = req
        .process
        .env
        .iter()
        .filter_map(|e| e.split_once('='))
        .map(|(k, v)| EnvVar {
            name: k.to_string(),
            value: Some(v.to_string()),
            value_from: None,
        })
        .collect();
    let mut limits = BTreeMap::new();
    if let Some(m) = &req.cgroups.limits.memory {
        limits.insert("memory".to_string(), Value::from(m.clone()));
    }
    if let Some(c) = &req.cgroups.limits.cpus {
        limits.insert("cpu".to_string(), Value::from(c.clone()));
    }
    let mut requests = BTreeMap::new();
    if let Some(m) = &req.cgroups.limits.memory_reservation {
        requests.insert("memory".to_string(), Value::from(m.clone()));
    }
    if let Some(shares) = req.cgroups.limits.cpu_shares {
        let cpu = format!("{}m", shares * 1000 / 1024);
        requests.insert("cpu".to_string(), Value::from(cpu));
    }
    let (uid, gid) = match req
        .process
        .user
        .as_deref()
        .map(|u| u.split_once(':').unwrap_or((u, "")))
    {
        Some((u, g)) => (u.parse().ok(), g.parse().ok()),
        None => (None, None),
    };
    let sec = &req.security;
    let has_caps = !sec.cap_add.is_empty() || !sec.cap_drop.is_empty();
    let security = SecurityContext {
        run_as_user: uid,
        run_as_group: gid,
        capabilities: has_caps.then(|| Capabilities {
            add: sec.cap_add.clone(),
            drop: sec.cap_drop.clone(),
        }),
        read_only_root_filesystem: sec.read_only.then_some(true),
        privileged: sec.privileged.then_some(true),
    };
    let volume_mounts = req
        .mounts
        .volume
        .iter()
        .filter_map(|v| mount(v, volumes, origins))
        .collect();
    Container {
        name,
        image: req.image.clone(),
        command,
        args: req.process.command.clone(),
        env,
        working_dir: req.process.workdir.clone(),
        resources: (!limits.is_empty() || !requests.is_empty())
            .then_some(Resources { limits, requests }),
        security_context: (security != SecurityContext::default()).then_some(security),
        volume_mounts,
        liveness_probe: probe(req),
        ..Container::default()
    }
}

/// One `-v SOURCE:DEST[:OPTIONS]` as a mount of a pod volume.
fn mount(
    spec: &str,
    volumes: &mut BTreeMap<String, Volume>,
    origins: &BTreeMap<String, Origin>,
) -> Option<VolumeMount> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, dest, opts) = match parts.as_slice() {
        [dest] => ("", *dest, ""),
        [source, dest] => (*source, *dest, ""),
        [source, dest, opts] => (*source, *dest, *opts),
        _ => return None,
    };
    let volume = |name: String| Volume {
        name,
        ..Volume::default()
    };
    let v = if source.is_empty() {
        Volume {
            empty_dir: Some(serde_json::json!({})),
            ..volume(format!("empty{}", dest.replace('/', "-")))
        }
    } else if source.starts_with('/') {
        Volume {
            host_path: Some(HostPathSource {
                path: source.to_string(),
                kind: Some("Directory".into()),
            }),
            ..volume(format!(
                "{}-host",
                source.trim_matches('/').replace('/', "-")
            ))
        }
    } else {
        match origins.get(source).unwrap_or(&Origin::Claim) {
            Origin::Claim => Volume {
                persistent_volume_claim: Some(ClaimSource {
                    claim_name: source.to_string(),
                    read_only: None,
                }),
                ..volume(format!("{source}-pvc"))
            },
            Origin::EmptyDir(n) => Volume {
                empty_dir: Some(serde_json::json!({})),
                ..volume(n.clone())
            },
            Origin::ConfigMap(n, object, _) => Volume {
                config_map: Some(NameRef {
                    name: object.clone(),
                    optional: None,
                }),
                ..volume(n.clone())
            },
            Origin::Secret(n, object, _) => Volume {
                secret: Some(SecretSource {
                    secret_name: object.clone(),
                    optional: None,
                }),
                ..volume(n.clone())
            },
        }
    };
    let vname = v.name.clone();
    volumes.insert(vname.clone(), v);
    Some(VolumeMount {
        name: vname,
        mount_path: dest.to_string(),
        read_only: opts.split(',').any(|o| o == "ro").then_some(true),
        sub_path: None,
    })
}

/// `--health-cmd` as an exec probe.
fn probe(req: &CreateRequest) -> Option<Probe> {
    let cmd = req
        .health
        .cmd
        .as_deref()
        .filter(|c| !c.is_empty() && *c != "none")?;
    let command = serde_json::from_str::<Vec<String>>(cmd)
        .map(|argv| match argv.first().map(String::as_str) {
            Some("CMD") => argv[1..].to_vec(),
            Some("CMD-SHELL") => ["/bin/sh".into(), "-c".into(), argv[1..].join(" ")].to_vec(),
            _ => argv,
        })
        .unwrap_or_else(|_| vec!["/bin/sh".into(), "-c".into(), cmd.to_string()]);
    let secs = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| s.strip_suffix('s'))
            .and_then(|s| s.parse().ok())
    };
    Some(Probe {
        exec: Some(ExecAction { command }),
        http_get: None,
        tcp_socket: None,
        period_seconds: secs(&req.health.interval),
        timeout_seconds: secs(&req.health.timeout),
        initial_delay_seconds: secs(&req.health.start_period),
        failure_threshold: req.health.retries,
    })
}

#[cfg(test)]
mod tests {
    use super::super::translate;
    use super::*;

    /// The strict schema check: each document read into k8s-openapi's
    /// type for its kind (the Kubernetes API's own), with every key the
    /// type does not know collected by serde_ignored. Returns those keys
    /// and any error; empty means the YAML is valid for the API.
    fn k8s_unknown_fields(yaml: &str) -> Vec<String> {
        use k8s_openapi::api::apps::v1::Deployment;
        use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
        fn strict<T: serde::de::DeserializeOwned>(v: &Value, out: &mut Vec<String>) {
            let mut ignored = Vec::new();
            let r: Result<T, _> =
                serde_ignored::deserialize(v.clone(), |path| ignored.push(path.to_string()));
            if let Err(e) = r {
                out.push(format!("not a valid document: {e}"));
            }
            out.extend(ignored);
        }
        let mut out = Vec::new();
        for doc in serde_norway::Deserializer::from_str(yaml) {
            let v: Value = serde::Deserialize::deserialize(doc).unwrap();
            match v["kind"].as_str() {
                Some("Pod") => strict::<Pod>(&v, &mut out),
                Some("Deployment") => strict::<Deployment>(&v, &mut out),
                Some("Service") => strict::<Service>(&v, &mut out),
                Some("ConfigMap") => strict::<ConfigMap>(&v, &mut out),
                Some("Secret") => strict::<Secret>(&v, &mut out),
                Some("PersistentVolumeClaim") => strict::<PersistentVolumeClaim>(&v, &mut out),
                other => out.push(format!("unexpected kind {other:?}")),
            }
        }
        out
    }

    /// The stack's pod planned, then written back as `kind`, with its
    /// ConfigMap volume, an emptyDir and a claim.
    fn generated(kind: Kind) -> (translate::PodPlan, String) {
        let stack =
            include_str!("../../../tests/fixtures/kube/stack.yaml").replace("HOSTPORT", "8080");
        let docs = translate::parse(&stack, &[]).unwrap();
        let plan = translate::plan_pod(&docs.pods[0], &docs).unwrap();
        let mut reqs: Vec<_> = plan
            .containers
            .iter()
            .map(|r| (r.name.clone().unwrap(), r.clone()))
            .collect();
        reqs[0].1.cgroups.limits.memory = Some("67108864".into());
        reqs[0].1.cgroups.limits.cpu_shares = Some(512);
        reqs[0].1.health.cmd = Some("wget -q -O /dev/null localhost || exit 1".into());
        let ports: Vec<Published> = plan
            .publish
            .iter()
            .filter_map(|p| parse_publish(p))
            .collect();
        let origins = BTreeMap::from([
            ("web-data".to_string(), Origin::Claim),
            (
                "web-pod-0-config".to_string(),
                Origin::ConfigMap(
                    "config".into(),
                    "web-config".into(),
                    BTreeMap::from([("page.html".into(), "served".into())]),
                ),
            ),
            (
                "web-pod-0-shared".to_string(),
                Origin::EmptyDir("shared".into()),
            ),
        ]);
        let opts = GenerateOptions {
            is_service: true,
            kind,
        };
        let out = pod_docs(&plan.name, &reqs, &ports, &opts, &origins)
            .unwrap()
            .join("---\n");
        (plan, out)
    }

    #[test]
    fn generated_pods_and_deployments_pass_the_kubernetes_schema() {
        for kind in [Kind::Pod, Kind::Deployment] {
            let (_, out) = generated(kind);
            assert_eq!(k8s_unknown_fields(&out), Vec::<String>::new(), "{out}");
            let want = match kind {
                Kind::Pod => "kind: Pod",
                Kind::Deployment => "kind: Deployment",
            };
            for k in [want, "kind: Service", "kind: ConfigMap", "emptyDir: {}"] {
                assert!(out.contains(k), "{k} missing:\n{out}");
            }
        }
    }

    #[test]
    fn the_schema_check_names_a_field_the_api_lacks() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: a, image: b, stdinOnly: true}\n";
        let unknown = k8s_unknown_fields(yaml);
        // serde_ignored writes `?` for each optional value on the path.
        assert_eq!(unknown, ["spec.?.containers.?.0.stdinOnly"]);
        let wrong =
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: one}\n";
        assert!(k8s_unknown_fields(wrong)[0].starts_with("not a valid document"));
    }

    #[test]
    fn a_generated_deployment_plays_as_one_pod_with_the_same_containers() {
        let (plan, out) = generated(Kind::Deployment);
        let again = translate::parse(&out, &[]).unwrap();
        let plan2 = translate::plan_pod(&again.pods[0], &again).unwrap();
        assert_eq!(plan2.name, "web-pod-0-deployment-pod-0");
        assert_eq!(plan2.publish, plan.publish);
        let c = &plan2.containers[0];
        assert_eq!(c.cgroups.limits.memory.as_deref(), Some("67108864"));
        assert_eq!(c.cgroups.limits.cpu_shares, Some(512));
        assert_eq!(
            c.health.cmd.as_deref(),
            Some(r#"["/bin/sh","-c","wget -q -O /dev/null localhost || exit 1"]"#)
        );
        assert!(plan2.volumes.iter().any(|v| matches!(v,
            translate::VolumeNeed::Owned(o) if o.name == "web-pod-0-deployment-pod-0-config"
                && o.files.get("page.html").map(String::as_str) == Some("served"))));
        assert_eq!(
            plan2.containers[1].mounts.volume,
            ["web-pod-0-deployment-pod-0-shared:/shared"]
        );
    }

    #[test]
    fn publish_specs_parse() {
        assert_eq!(parse_publish("8080:80"), Some((80, 8080, "tcp".into())));
        assert_eq!(
            parse_publish("127.0.0.1:53:53/udp"),
            Some((53, 53, "udp".into()))
        );
        assert_eq!(parse_publish("80"), None);
    }

    /// Generated YAML reads back strictly, and plays as the same requests.
    #[test]
    fn generated_yaml_is_strict_and_plays_back_the_same() {
        let stack =
            include_str!("../../../tests/fixtures/kube/stack.yaml").replace("HOSTPORT", "8080");
        let docs = translate::parse(&stack, &[]).unwrap();
        let plan = translate::plan_pod(&docs.pods[0], &docs).unwrap();
        let reqs: Vec<_> = plan
            .containers
            .iter()
            .map(|r| (r.name.clone().unwrap(), r.clone()))
            .collect();
        let ports: Vec<Published> = plan
            .publish
            .iter()
            .filter_map(|p| parse_publish(p))
            .collect();
        let opts = GenerateOptions {
            is_service: true,
            kind: Kind::Pod,
        };
        let out = pod_docs(&plan.name, &reqs, &ports, &opts, &BTreeMap::new())
            .unwrap()
            .join("---\n");
        for doc in serde_norway::Deserializer::from_str(&out) {
            let v: Value = serde::Deserialize::deserialize(doc).unwrap();
            assert_eq!(super::super::strict_check(&v), Ok(()), "{out}");
        }
        let again = translate::parse(&out, &[]).unwrap();
        assert!(
            again.warnings.iter().all(|w| w.starts_with("Service")),
            "{:?}",
            again.warnings
        );
        let plan2 = translate::plan_pod(&again.pods[0], &again).unwrap();
        assert_eq!(plan2.name, plan.name);
        assert_eq!(plan2.publish, plan.publish);
        for (a, b) in plan.containers.iter().zip(&plan2.containers) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.image, b.image);
            assert_eq!(a.process.entrypoint, b.process.entrypoint);
            assert_eq!(a.process.command, b.process.command);
            assert_eq!(a.process.env, b.process.env);
            assert_eq!(a.cgroups.limits.memory, b.cgroups.limits.memory);
        }
    }
}
