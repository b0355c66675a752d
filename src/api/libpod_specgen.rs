//! The libpod API's create bodies into the engine's requests: Podman's
//! `SpecGenerator` (`POST /libpod/containers/create`) into a
//! `CreateRequest` and its `PodSpecGenerator` (`POST /libpod/pods/create`)
//! into a `NewPod`, each field written as the flag `podman run` or
//! `podman pod create` turned into it. Pure: no I/O.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::container::pod_ops::NewPod;
use crate::container::{CreateRequest, NetworkRequest, PullPolicy, RestartPolicy};

/// `netns`: a namespace's mode and, for `ns:PATH` or a network list, its
/// value.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Namespace {
    pub nsmode: String,
    pub value: String,
}

/// One of `portmappings`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PortMap {
    pub host_ip: String,
    pub container_port: u16,
    pub host_port: u16,
    pub range: u16,
    pub protocol: String,
}

/// One of `mounts` (an OCI mount).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Mount {
    pub destination: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub source: String,
    pub options: Vec<String>,
}

/// One of `volumes` (a named volume).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NamedVolume {
    pub name: String,
    pub dest: String,
    pub options: Vec<String>,
}

/// The fields of Podman's `SpecGenerator` that hutch reads; the others
/// (`systemd`, `umask`, `sdnotifyMode`, `idmappings`…) are what Podman's
/// client sends for its defaults, which are hutch's too.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub command: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub env: BTreeMap<String, String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub work_dir: String,
    pub user: String,
    pub hostname: String,
    pub terminal: bool,
    pub stdin: bool,
    pub remove: bool,
    pub restart_policy: String,
    pub restart_tries: Option<u32>,
    pub stop_signal: Option<i32>,
    pub stop_timeout: Option<u64>,
    pub netns: Namespace,
    pub portmappings: Vec<PortMap>,
    pub publish_image_ports: bool,
    pub expose: BTreeMap<u16, String>,
    pub dns_server: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub hostadd: Vec<String>,
    pub mounts: Vec<Mount>,
    pub volumes: Vec<NamedVolume>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub read_only_filesystem: bool,
    pub init: bool,
    pub pod: String,
    #[serde(rename = "containerCreateCommand")]
    pub create_command: Vec<String>,
}

/// The fields of Podman's `PodSpecGenerator` that hutch reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PodSpec {
    pub name: String,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub exit_policy: String,
    pub shared_namespaces: Option<Vec<String>>,
    pub no_infra: bool,
    pub share_parent: Option<bool>,
    pub netns: Namespace,
    pub portmappings: Vec<PortMap>,
    pub dns_server: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub hostadd: Vec<String>,
    pub pod_create_command: Vec<String>,
}

/// What in a create body cannot be served (answered with 400).
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// Not JSON of the expected shape.
    #[error("decode(): {0}")]
    Json(String),
    /// No image named.
    #[error("no image given")]
    NoImage,
    /// A mount type hutch does not serve.
    #[error("mount type {0:?} is not supported: use bind or tmpfs")]
    MountType(String),
    /// A restart policy that does not parse.
    #[error("invalid restart policy {0:?}")]
    Restart(String),
    /// A pod option the engine refuses.
    #[error("{0}")]
    Pod(String),
}

fn decode<'a, T: Deserialize<'a> + Default>(body: &'a [u8]) -> Result<T, SpecError> {
    match body.iter().all(u8::is_ascii_whitespace) {
        true => Ok(T::default()),
        false => serde_json::from_slice(body).map_err(|e| SpecError::Json(e.to_string())),
    }
}

/// `-p` words for `portmappings` (a `range` of N maps N ports in a row).
fn publish(maps: &[PortMap]) -> Vec<String> {
    maps.iter()
        .map(|m| {
            let proto = match m.protocol.as_str() {
                "" | "tcp" => String::new(),
                p => format!("/{p}"),
            };
            let span = |port: u16| match m.range {
                0 | 1 => port.to_string(),
                n => format!("{port}-{}", port.saturating_add(n - 1)),
            };
            let host = match (m.host_ip.as_str(), m.host_port) {
                ("", 0) => String::new(),
                ("", p) => format!("{}:", span(p)),
                (ip, 0) => format!("{ip}::"),
                (ip, p) => format!("{ip}:{}:", span(p)),
            };
            format!("{host}{}{proto}", span(m.container_port))
        })
        .collect()
}

/// `--network` for `netns`: Podman's mode names are hutch's, a `bridge`
/// with a value names networks, `private` and `""` are the default.
fn network_mode(ns: &Namespace) -> Option<String> {
    match (ns.nsmode.as_str(), ns.value.as_str()) {
        ("" | "default" | "private", _) => None,
        ("bridge", "") => None,
        ("bridge", nets) => Some(nets.to_string()),
        ("path", path) => Some(format!("ns:{path}")),
        (mode, "") => Some(mode.to_string()),
        (mode, value) => Some(format!("{mode}:{value}")),
    }
}

fn pairs(map: BTreeMap<String, String>) -> Vec<String> {
    map.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// The engine's request for a `SpecGenerator` body. The image is not
/// pulled: Podman's client pulls it first (`POST /libpod/images/pull`).
pub fn container_request(body: &[u8]) -> Result<CreateRequest, SpecError> {
    let spec: ContainerSpec = decode(body)?;
    if spec.image.is_empty() {
        return Err(SpecError::NoImage);
    }
    let mut req = CreateRequest {
        image: spec.image,
        pull: PullPolicy::Never,
        name: Some(spec.name).filter(|n| !n.is_empty()),
        remove: spec.remove,
        pod: Some(spec.pod).filter(|p| !p.is_empty()),
        create_command: spec.create_command,
        ..CreateRequest::default()
    };
    let p = &mut req.process;
    p.command = spec.command;
    p.entrypoint = spec
        .entrypoint
        .map(|v| match v.iter().all(String::is_empty) {
            true => String::new(),
            false => serde_json::to_string(&v).unwrap_or_default(),
        });
    p.env = pairs(spec.env);
    p.tty = spec.terminal;
    p.interactive = spec.stdin;
    p.workdir = Some(spec.work_dir).filter(|s| !s.is_empty());
    p.user = Some(spec.user).filter(|s| !s.is_empty());
    p.hostname = Some(spec.hostname).filter(|s| !s.is_empty());
    req.metadata.labels = pairs(spec.labels);
    req.metadata.annotations = pairs(spec.annotations);
    req.manage.stop_signal = spec.stop_signal.map(|s| s.to_string());
    req.manage.stop_timeout = spec.stop_timeout;
    let net = &mut req.network;
    net.network = network_mode(&spec.netns);
    net.publish = publish(&spec.portmappings);
    net.publish_all = spec.publish_image_ports;
    net.exposed = spec
        .expose
        .into_iter()
        .map(|(port, proto)| match proto.as_str() {
            "" => port.to_string(),
            p => format!("{port}/{p}"),
        })
        .collect();
    net.dns = spec.dns_server;
    net.dns_search = spec.dns_search;
    net.dns_options = spec.dns_option;
    net.add_hosts = spec.hostadd;
    for m in spec.mounts {
        let kind = match m.kind.as_str() {
            k @ ("bind" | "tmpfs") => k,
            other => return Err(SpecError::MountType(other.to_string())),
        };
        let mut text = format!("type={kind}");
        if kind == "bind" {
            text.push_str(&format!(",source={}", m.source));
        }
        text.push_str(&format!(",target={}", m.destination));
        for o in m.options.iter().filter(|o| *o != "rbind" && *o != "bind") {
            text.push_str(&format!(",{o}"));
        }
        req.mounts.mount.push(text);
    }
    for v in spec.volumes {
        let mut text = format!("{}:{}", v.name, v.dest);
        if !v.options.is_empty() {
            text.push_str(&format!(":{}", v.options.join(",")));
        }
        req.mounts.volume.push(text);
    }
    let sec = &mut req.security;
    sec.privileged = spec.privileged;
    sec.cap_add = spec.cap_add;
    sec.cap_drop = spec.cap_drop;
    sec.read_only = spec.read_only_filesystem;
    sec.read_only_tmpfs = true;
    req.hardening.init = spec.init;
    let restart = match (spec.restart_policy.as_str(), spec.restart_tries) {
        ("", _) => "no".to_string(),
        ("on-failure", Some(n)) if n > 0 => format!("on-failure:{n}"),
        (name, _) => name.to_string(),
    };
    req.restart = restart
        .parse::<RestartPolicy>()
        .map_err(|_| SpecError::Restart(restart))?;
    Ok(req)
}

/// The engine's request for a `PodSpecGenerator` body.
pub fn pod_request(body: &[u8]) -> Result<NewPod, SpecError> {
    let spec: PodSpec = decode(body)?;
    let shared = spec
        .shared_namespaces
        .map(|s| crate::container::pod::parse_share(&s.join(",")))
        .transpose()
        .map_err(|e| SpecError::Pod(crate::error::render_chain(&e)))?;
    let exit_policy = match spec.exit_policy.as_str() {
        "" => Default::default(),
        p => crate::container::pod::parse_exit_policy(p)
            .map_err(|e| SpecError::Pod(crate::error::render_chain(&e)))?,
    };
    let mut pod = NewPod {
        name: Some(spec.name).filter(|n| !n.is_empty()),
        network: NetworkRequest {
            network: network_mode(&spec.netns),
            publish: publish(&spec.portmappings),
            dns: spec.dns_server,
            dns_search: spec.dns_search,
            dns_options: spec.dns_option,
            add_hosts: spec.hostadd,
            ..NetworkRequest::default()
        },
        exit_policy,
        shared,
        has_infra: spec.no_infra.then_some(false),
        is_parent_shared: spec.share_parent,
        create_command: spec.pod_create_command,
        options: Default::default(),
        id_file: None,
        is_replacing: false,
    };
    pod.options.hostname = Some(spec.hostname).filter(|h| !h.is_empty());
    pod.options.labels = pairs(spec.labels);
    Ok(pod)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Podman 4.3's `podman --remote run -d --name web -p 8080:80
    /// IMAGE sh -c …` sends, trimmed of the defaults hutch does not read.
    const RUN_BODY: &[u8] = br#"{"name":"web","command":["sh","-c","echo hi"],
        "httpproxy":true,"annotations":{"io.kubernetes.cri-o.TTY":"false"},
        "stop_timeout":10,"raw_image_name":"127.0.0.1:5000/busybox","systemd":"true",
        "remove":true,"containerCreateCommand":["podman","--remote","run"],
        "image":"127.0.0.1:5000/busybox","env":{"A":"1"},"labels":{"k":"v"},
        "portmappings":[{"container_port":80,"host_port":8080,"protocol":"tcp"},
                        {"host_ip":"127.0.0.1","container_port":53,"host_port":5353,"protocol":"udp","range":2}],
        "mounts":[{"destination":"/data","type":"bind","source":"/srv","options":["rbind","ro"]},
                  {"destination":"/scratch","type":"tmpfs","source":"tmpfs","options":["size=1m"]}],
        "volumes":[{"Name":"vol","Dest":"/v","Options":["ro"]}],
        "netns":{},"idmappings":{"HostUIDMapping":true},"umask":"0022","use_image_hosts":false}"#;

    #[test]
    fn podman_run_bodies_become_the_clis_request() {
        let req = container_request(RUN_BODY).unwrap();
        assert_eq!(req.image, "127.0.0.1:5000/busybox");
        assert!(matches!(req.pull, PullPolicy::Never));
        assert_eq!(req.name.as_deref(), Some("web"));
        assert!(req.remove);
        assert_eq!(req.process.command, ["sh", "-c", "echo hi"]);
        assert_eq!(req.process.entrypoint, None);
        assert_eq!(req.process.env, ["A=1"]);
        assert_eq!(req.metadata.labels, ["k=v"]);
        assert_eq!(req.metadata.annotations, ["io.kubernetes.cri-o.TTY=false"]);
        assert_eq!(req.manage.stop_timeout, Some(10));
        assert_eq!(req.network.network, None);
        assert_eq!(
            req.network.publish,
            ["8080:80", "127.0.0.1:5353-5354:53-54/udp"]
        );
        assert_eq!(
            req.mounts.mount,
            [
                "type=bind,source=/srv,target=/data,ro",
                "type=tmpfs,target=/scratch,size=1m"
            ]
        );
        assert_eq!(req.mounts.volume, ["vol:/v:ro"]);
        assert_eq!(req.create_command, ["podman", "--remote", "run"]);
        assert!(matches!(req.restart, RestartPolicy::No));
    }

    #[test]
    fn network_modes_and_restart_policies_are_podmans_words() {
        let req = container_request(
            br#"{"image":"i","netns":{"nsmode":"host"},"restart_policy":"on-failure","restart_tries":3,"entrypoint":[""]}"#,
        )
        .unwrap();
        assert_eq!(req.network.network.as_deref(), Some("host"));
        assert!(matches!(
            req.restart,
            RestartPolicy::OnFailure {
                max_retries: Some(3)
            }
        ));
        assert_eq!(req.process.entrypoint.as_deref(), Some(""));
        let req = container_request(br#"{"image":"i","netns":{"nsmode":"bridge","value":"n1"}}"#)
            .unwrap();
        assert_eq!(req.network.network.as_deref(), Some("n1"));
    }

    #[test]
    fn bad_container_bodies_are_refused() {
        assert!(matches!(container_request(b"{"), Err(SpecError::Json(_))));
        assert!(matches!(container_request(b"{}"), Err(SpecError::NoImage)));
        let devpts = br#"{"image":"i","mounts":[{"destination":"/x","type":"devpts"}]}"#;
        assert!(matches!(
            container_request(devpts),
            Err(SpecError::MountType(_))
        ));
    }

    #[test]
    fn podman_pod_create_bodies_become_a_new_pod() {
        let body =
            br#"{"name":"P","exit_policy":"continue","shared_namespaces":["ipc","net","uts"],
            "share_parent":true,"pod_create_command":["podman","pod","create"],
            "pidns":{"nsmode":"private"},"netns":{},"labels":{"a":"b"},
            "portmappings":[{"container_port":80,"host_port":8080}],"resource_limits":{"cpu":{}}}"#;
        let pod = pod_request(body).unwrap();
        assert_eq!(pod.name.as_deref(), Some("P"));
        assert_eq!(pod.shared.as_deref().unwrap(), ["ipc", "net", "uts"]);
        assert_eq!(pod.is_parent_shared, Some(true));
        assert_eq!(pod.has_infra, None);
        assert_eq!(pod.network.publish, ["8080:80"]);
        assert_eq!(pod.options.labels, ["a=b"]);
        assert_eq!(pod.create_command, ["podman", "pod", "create"]);
        assert!(matches!(
            pod_request(br#"{"exit_policy":"never"}"#),
            Err(SpecError::Pod(_))
        ));
        assert!(pod_request(br#"{"no_infra":true}"#).unwrap().has_infra == Some(false));
    }
}
