//! Docker's `POST /containers/create` body into the engine's
//! `CreateRequest`: the same request `hutch create` builds from its flags,
//! with Docker's fields written as the flags they stand for.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::container::{CreateRequest, PullPolicy, RestartPolicy};

/// A field Docker accepts as a string or a list of strings (its
/// `strslice`): a string is a list of one.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Strings {
    /// `"sh"`.
    One(String),
    /// `["sh", "-c", "…"]`.
    Many(Vec<String>),
}

impl Strings {
    fn into_vec(self) -> Vec<String> {
        match self {
            Strings::One(s) => vec![s],
            Strings::Many(v) => v,
        }
    }
}

/// The fields of Docker's create body that hutch reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Body {
    pub image: String,
    pub cmd: Option<Strings>,
    pub entrypoint: Option<Strings>,
    pub env: Option<Vec<String>>,
    pub tty: bool,
    pub open_stdin: bool,
    pub working_dir: String,
    pub user: String,
    pub hostname: String,
    pub labels: Option<BTreeMap<String, String>>,
    pub exposed_ports: Option<BTreeMap<String, Value>>,
    pub stop_signal: Option<String>,
    pub stop_timeout: Option<u64>,
    pub host_config: Option<HostConfig>,
    pub networking_config: Option<NetworkingConfig>,
}

/// `NetworkingConfig`: the network the container joins at create, by
/// name, with its aliases and address there.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkingConfig {
    pub endpoints_config: Option<BTreeMap<String, Option<EndpointSpec>>>,
}

/// One entry of `EndpointsConfig`, the part hutch reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSpec {
    pub aliases: Option<Vec<String>>,
    #[serde(rename = "IPAMConfig")]
    pub ipam_config: Option<EndpointAddress>,
}

/// `EndpointIPAMConfig`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct EndpointAddress {
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

/// The fields of `HostConfig` hutch reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    pub binds: Option<Vec<String>>,
    pub port_bindings: Option<BTreeMap<String, Option<Vec<PortBinding>>>>,
    pub publish_all_ports: bool,
    pub auto_remove: bool,
    pub network_mode: String,
    pub mounts: Option<Vec<MountSpec>>,
    pub privileged: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub security_opt: Option<Vec<String>>,
    pub readonly_rootfs: bool,
    pub init: Option<bool>,
    pub dns: Option<Vec<String>>,
    pub extra_hosts: Option<Vec<String>>,
    pub tmpfs: Option<BTreeMap<String, String>>,
    pub restart_policy: Option<RestartSpec>,
}

/// One host side of a published port.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

/// One entry of `HostConfig.Mounts`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountSpec {
    #[serde(rename = "Type")]
    pub kind: String,
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

/// `HostConfig.RestartPolicy`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartSpec {
    pub name: String,
    pub maximum_retry_count: u32,
}

/// What in a create body cannot be served (answered with 400).
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Not JSON of the expected shape.
    #[error("invalid JSON body: {0}")]
    Json(String),
    /// No image named.
    #[error("config cannot be empty in order to create a container: no Image")]
    NoImage,
    /// A mount type hutch does not serve.
    #[error("mount type {0:?} is not supported: use bind, volume or tmpfs")]
    MountType(String),
    /// More than one network at create, as dockerd refuses too.
    #[error("container cannot be connected to more than one network at create: connect the others after")]
    Networks,
    /// A restart policy that does not parse.
    #[error("invalid restart policy {0:?}")]
    Restart(String),
}

/// The engine's request for a create body and `?name=`. The image is
/// never pulled here: a missing one is a 404, on which Docker's clients
/// pull it (`POST /images/create`) and create again.
pub fn create_request(body: &[u8], name: Option<&str>) -> Result<CreateRequest, BodyError> {
    let body: Body = match body.iter().all(u8::is_ascii_whitespace) {
        true => Body::default(),
        false => serde_json::from_slice(body).map_err(|e| BodyError::Json(e.to_string()))?,
    };
    if body.image.is_empty() {
        return Err(BodyError::NoImage);
    }
    let host = body.host_config.unwrap_or_default();
    let mut req = CreateRequest {
        image: body.image,
        pull: PullPolicy::Never,
        name: name.filter(|n| !n.is_empty()).map(str::to_string),
        remove: host.auto_remove,
        ..CreateRequest::default()
    };
    let p = &mut req.process;
    p.command = body.cmd.map(Strings::into_vec).unwrap_or_default();
    p.entrypoint = body.entrypoint.map(|e| match e.into_vec() {
        // `[]` and `[""]` clear the image's entrypoint, as `--entrypoint ""`.
        v if v.iter().all(String::is_empty) => String::new(),
        v => serde_json::to_string(&v).unwrap_or_default(),
    });
    // A bare NAME would copy the service's own variable: Docker's clients
    // resolve those before sending.
    p.env = body
        .env
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.contains('='))
        .collect();
    p.tty = body.tty;
    p.interactive = body.open_stdin;
    p.workdir = Some(body.working_dir).filter(|s| !s.is_empty());
    p.user = Some(body.user).filter(|s| !s.is_empty());
    p.hostname = Some(body.hostname).filter(|s| !s.is_empty());
    req.metadata.labels = body
        .labels
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    req.manage.stop_signal = body.stop_signal.filter(|s| !s.is_empty());
    req.manage.stop_timeout = body.stop_timeout;
    let net = &mut req.network;
    net.exposed = body.exposed_ports.unwrap_or_default().into_keys().collect();
    net.network = match host.network_mode.as_str() {
        "" | "default" | "bridge" => None,
        mode => Some(mode.to_string()),
    };
    let endpoints = body
        .networking_config
        .and_then(|n| n.endpoints_config)
        .unwrap_or_default();
    if endpoints.len() > 1 {
        return Err(BodyError::Networks);
    }
    for (name, ep) in endpoints {
        let is_default = matches!(name.as_str(), "default" | "bridge");
        if is_default || net.network.as_deref().is_some_and(|n| n != name) {
            continue;
        }
        net.network = Some(name);
        let ep = ep.unwrap_or_default();
        net.aliases = ep.aliases.unwrap_or_default();
        let ipam = ep.ipam_config.unwrap_or_default();
        net.ip = Some(ipam.ipv4_address).filter(|a| !a.is_empty());
        net.ip6 = Some(ipam.ipv6_address).filter(|a| !a.is_empty());
    }
    for (port, bindings) in host.port_bindings.unwrap_or_default() {
        let bindings = bindings.unwrap_or_default();
        if bindings.is_empty() {
            net.publish.push(port.clone());
        }
        for b in bindings {
            net.publish
                .push(match (b.host_ip.as_str(), b.host_port.as_str()) {
                    ("", "") => port.clone(),
                    ("", hp) => format!("{hp}:{port}"),
                    (ip, hp) => format!("{ip}:{hp}:{port}"),
                });
        }
    }
    net.publish_all = host.publish_all_ports;
    net.dns = host.dns.unwrap_or_default();
    net.add_hosts = host.extra_hosts.unwrap_or_default();
    req.mounts.volume = host.binds.unwrap_or_default();
    for m in host.mounts.unwrap_or_default() {
        let kind = match m.kind.as_str() {
            k @ ("bind" | "volume" | "tmpfs") => k,
            other => return Err(BodyError::MountType(other.to_string())),
        };
        let mut spec = format!("type={kind}");
        if !m.source.is_empty() {
            spec.push_str(&format!(",source={}", m.source));
        }
        spec.push_str(&format!(",target={}", m.target));
        if m.read_only {
            spec.push_str(",readonly");
        }
        req.mounts.mount.push(spec);
    }
    req.mounts.tmpfs = host
        .tmpfs
        .unwrap_or_default()
        .into_iter()
        .map(|(path, opts)| match opts.is_empty() {
            true => path,
            false => format!("{path}:{opts}"),
        })
        .collect();
    let sec = &mut req.security;
    sec.privileged = host.privileged;
    sec.cap_add = host.cap_add.unwrap_or_default();
    sec.cap_drop = host.cap_drop.unwrap_or_default();
    sec.security_opt = host.security_opt.unwrap_or_default();
    sec.read_only = host.readonly_rootfs;
    sec.read_only_tmpfs = true;
    req.hardening.init = host.init.unwrap_or(false);
    if let Some(r) = host.restart_policy {
        let text = match (r.name.as_str(), r.maximum_retry_count) {
            ("", _) => "no".to_string(),
            ("on-failure", n) if n > 0 => format!("on-failure:{n}"),
            (name, _) => name.to_string(),
        };
        req.restart = text
            .parse::<RestartPolicy>()
            .map_err(|_| BodyError::Restart(text))?;
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_run_bodies_become_the_clis_request() {
        let body = br#"{
            "Image": "busybox", "Cmd": ["echo", "hi"], "Entrypoint": null,
            "Env": ["A=1", "BARE"], "Tty": false, "OpenStdin": true,
            "WorkingDir": "/tmp", "User": "", "Labels": {"k": "v"},
            "ExposedPorts": {"80/tcp": {}},
            "HostConfig": {
                "Binds": ["/src:/dst:ro"], "AutoRemove": true, "NetworkMode": "default",
                "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                                 "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}]},
                "Mounts": [{"Type": "volume", "Source": "data", "Target": "/data", "ReadOnly": true}],
                "RestartPolicy": {"Name": "", "MaximumRetryCount": 0}
            }
        }"#;
        let req = create_request(body, Some("web")).unwrap();
        assert_eq!(req.image, "busybox");
        assert_eq!(req.name.as_deref(), Some("web"));
        assert!(matches!(req.pull, PullPolicy::Never));
        assert_eq!(req.process.command, ["echo", "hi"]);
        assert_eq!(req.process.entrypoint, None);
        assert_eq!(req.process.env, ["A=1"]);
        assert!(req.process.interactive && !req.process.tty);
        assert_eq!(req.process.workdir.as_deref(), Some("/tmp"));
        assert_eq!(req.process.user, None);
        assert_eq!(req.metadata.labels, ["k=v"]);
        assert!(req.remove);
        assert_eq!(req.network.network, None);
        assert_eq!(req.network.exposed, ["80/tcp"]);
        assert_eq!(
            req.network.publish,
            ["127.0.0.1:5353:53/udp", "8080:80/tcp"]
        );
        assert_eq!(req.mounts.volume, ["/src:/dst:ro"]);
        assert_eq!(
            req.mounts.mount,
            ["type=volume,source=data,target=/data,readonly"]
        );
    }

    #[test]
    fn entrypoints_are_argv_or_cleared() {
        let req = create_request(br#"{"Image":"a","Entrypoint":["sh","-c"]}"#, None).unwrap();
        assert_eq!(req.process.entrypoint.as_deref(), Some(r#"["sh","-c"]"#));
        let req = create_request(br#"{"Image":"a","Entrypoint":[""]}"#, None).unwrap();
        assert_eq!(req.process.entrypoint.as_deref(), Some(""));
        let req = create_request(br#"{"Image":"a","Cmd":"true"}"#, None).unwrap();
        assert_eq!(req.process.command, ["true"]);
    }

    #[test]
    fn bad_bodies_are_refused() {
        assert!(matches!(
            create_request(b"{", None),
            Err(BodyError::Json(_))
        ));
        assert!(matches!(
            create_request(b"{}", None),
            Err(BodyError::NoImage)
        ));
        let npipe = br#"{"Image":"a","HostConfig":{"Mounts":[{"Type":"npipe","Target":"/x"}]}}"#;
        assert!(matches!(
            create_request(npipe, None),
            Err(BodyError::MountType(_))
        ));
    }

    #[test]
    fn endpoints_config_names_the_network_and_its_aliases() {
        let body = br#"{"Image":"i","HostConfig":{"NetworkMode":"p_default"},
            "NetworkingConfig":{"EndpointsConfig":{"p_default":{"Aliases":["web","abc"],
            "IPAMConfig":{"IPv4Address":"10.89.3.9"}}}}}"#;
        let req = create_request(body, None).unwrap();
        assert_eq!(req.network.network.as_deref(), Some("p_default"));
        assert_eq!(req.network.aliases, ["web", "abc"]);
        assert_eq!(req.network.ip.as_deref(), Some("10.89.3.9"));
        let alone = br#"{"Image":"i","NetworkingConfig":{"EndpointsConfig":{"n1":{}}}}"#;
        let req = create_request(alone, None).unwrap();
        assert_eq!(req.network.network.as_deref(), Some("n1"));
        let two = br#"{"Image":"i","NetworkingConfig":{"EndpointsConfig":{"a":{},"b":{}}}}"#;
        assert!(matches!(
            create_request(two, None),
            Err(BodyError::Networks)
        ));
    }
}
