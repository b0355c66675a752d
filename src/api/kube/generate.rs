//! `kube generate`: a Pod (with a Service for its published ports, and a
//! PersistentVolumeClaim per volume named) from the requests the engine
//! recorded, written as the Kubernetes types of `types`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::types::{
    Capabilities, ClaimSource, Container, ContainerPort, EnvVar, ExecAction, HostPathSource,
    ObjectMeta, Pod, PodSpec, Probe, Resources, SecurityContext, Service, ServicePort, ServiceSpec,
    Volume, VolumeMount,
};
use super::Error;
use crate::container::{CreateRequest, Engine, RestartPolicy};

/// A published port of a pod: container port, host port, protocol.
pub type Published = (u16, u16, String);

/// Writes YAML for `names` (pods, containers or volumes), with a Service
/// for the published ports when `is_service`.
pub fn generate(engine: &Engine, names: &[String], is_service: bool) -> Result<String, Error> {
    let mut docs = Vec::new();
    for name in names {
        let step = |s| super::engine_step(s, name);
        if engine.pod_exists(name).map_err(step("finding pod"))? {
            let state = engine.pod(name).map_err(step("reading pod"))?;
            let mut members: Vec<_> = state.members.iter().map(|(info, _)| info).collect();
            // In the order they were made: the first holds the ports.
            members.sort_by(|a, b| a.record.created.cmp(&b.record.created));
            let mut reqs = Vec::new();
            for info in members {
                let (_, req) = engine
                    .recorded_request(&info.record.id)
                    .map_err(step("reading container"))?;
                reqs.push((info.record.name.clone(), req));
            }
            let ports = state
                .pod
                .network
                .ports
                .iter()
                .map(|p| (p.container_port, p.host_port, p.proto.name().to_string()))
                .collect();
            docs.extend(pod_docs(&state.pod.name, &reqs, &ports, is_service)?);
        } else if let Ok((record, req)) = engine.recorded_request(name) {
            let ports = req
                .network
                .publish
                .iter()
                .filter_map(|p| parse_publish(p))
                .collect();
            let pod = format!("{}-pod", record.name);
            docs.extend(pod_docs(&pod, &[(record.name, req)], &ports, is_service)?);
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

/// The Service (when asked) and the Pod for pod `name` of containers
/// `reqs` (each with its name) publishing `ports`.
pub fn pod_docs(
    name: &str,
    reqs: &[(String, CreateRequest)],
    ports: &Vec<Published>,
    is_service: bool,
) -> Result<Vec<String>, Error> {
    let labels = BTreeMap::from([("app".to_string(), name.to_string())]);
    let meta = ObjectMeta {
        name: name.to_string(),
        labels: labels.clone(),
        creation_timestamp: Some(crate::container::now_rfc3339()),
        ..ObjectMeta::default()
    };
    let mut out = Vec::new();
    if is_service && !ports.is_empty() {
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
                selector: labels,
                kind: Some("NodePort".into()),
            },
        };
        out.push(to_yaml(&s)?);
    }
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
        let mut c = container(short, req, &mut volumes);
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
    let pod = Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: meta,
        spec,
    };
    out.push(to_yaml(&pod)?);
    Ok(out)
}

/// A container of the Pod from its recorded request; its `-v` volumes
/// are added to `volumes` by pod volume name.
fn container(
    name: String,
    req: &CreateRequest,
    volumes: &mut BTreeMap<String, Volume>,
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
        .filter_map(|v| mount(v, volumes))
        .collect();
    Container {
        name,
        image: req.image.clone(),
        command,
        args: req.process.command.clone(),
        env,
        working_dir: req.process.workdir.clone(),
        resources: (!limits.is_empty()).then(|| Resources {
            limits,
            ..Resources::default()
        }),
        security_context: (security != SecurityContext::default()).then_some(security),
        volume_mounts,
        liveness_probe: probe(req),
        ..Container::default()
    }
}

/// One `-v SOURCE:DEST[:OPTIONS]` as a mount of a pod volume.
fn mount(spec: &str, volumes: &mut BTreeMap<String, Volume>) -> Option<VolumeMount> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, dest, opts) = match parts.as_slice() {
        [dest] => ("", *dest, ""),
        [source, dest] => (*source, *dest, ""),
        [source, dest, opts] => (*source, *dest, *opts),
        _ => return None,
    };
    let (vname, volume) = if source.is_empty() {
        let n = format!("empty{}", dest.replace('/', "-"));
        let v = Volume {
            name: n.clone(),
            empty_dir: Some(serde_json::json!({})),
            ..Volume::default()
        };
        (n, v)
    } else if source.starts_with('/') {
        let n = format!("{}-host", source.trim_matches('/').replace('/', "-"));
        let v = Volume {
            name: n.clone(),
            host_path: Some(HostPathSource {
                path: source.to_string(),
                kind: Some("Directory".into()),
            }),
            ..Volume::default()
        };
        (n, v)
    } else {
        let n = format!("{source}-pvc");
        let v = Volume {
            name: n.clone(),
            persistent_volume_claim: Some(ClaimSource {
                claim_name: source.to_string(),
                read_only: None,
            }),
            ..Volume::default()
        };
        (n, v)
    };
    volumes.insert(vname.clone(), volume);
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
        let ports = plan
            .publish
            .iter()
            .filter_map(|p| parse_publish(p))
            .collect();
        let out = pod_docs(&plan.name, &reqs, &ports, true)
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
