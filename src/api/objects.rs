//! The engine's records as Docker Engine API v1.41 objects: the list
//! entries of containers, images and volumes, the version and info
//! objects, and Docker's changes to Podman's inspect objects.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::container::images::ImageRecord;
use crate::container::logread;
use crate::container::query::{ContainerInfo, ContainerStatus, Listed};
use crate::container::volume_ops::VolumeInfo;
use crate::container::{load_spec, state_name};

/// The API version served, and the oldest a client may ask for.
pub const API_VERSION: &str = "1.41";
const MIN_API_VERSION: &str = "1.24";

pub(super) fn unix_secs(rfc3339: Option<&str>) -> i64 {
    rfc3339
        .and_then(logread::parse_timestamp)
        .map_or(0, |t| t.div_euclid(1_000_000_000))
}

/// Docker's words for a span of seconds (`5 seconds`, `About a minute`,
/// `3 hours`), as its `ps` STATUS shows them.
pub fn duration_words(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        0 => "Less than a second".into(),
        1 => "1 second".into(),
        s if s < 60 => format!("{s} seconds"),
        s if s < 120 => "About a minute".into(),
        s if s < 3600 => format!("{} minutes", s / 60),
        s if s < 7200 => "About an hour".into(),
        s if s < 48 * 3600 => format!("{} hours", (s + 1800) / 3600),
        s => format!("{} days", s / 86400),
    }
}

/// `Up 5 seconds`, `Exited (1) 3 minutes ago`, `Created`.
fn status_text(info: &ContainerInfo, now: i64) -> String {
    let st = &info.state;
    match st.status {
        ContainerStatus::Running => format!(
            "Up {}",
            duration_words(now - unix_secs(st.started_at.as_deref()))
        ),
        ContainerStatus::Exited => format!(
            "Exited ({}) {} ago",
            st.exit_code.unwrap_or(0),
            duration_words(now - unix_secs(st.finished_at.as_deref()))
        ),
        _ => "Created".into(),
    }
}

/// One entry of `GET /containers/json`.
pub fn container_entry(listed: &Listed, now: i64) -> Value {
    let info = &listed.info;
    let rec = &info.record;
    let (args, labels, network) = load_spec(info)
        .map(|p| (p.args, p.labels, network_mode(&p.network)))
        .unwrap_or_default();
    let ports: Vec<Value> = listed
        .ports
        .iter()
        .map(|p| {
            json!({
                "IP": p.host_ip.map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string()),
                "PrivatePort": p.container_port,
                "PublicPort": p.host_port,
                "Type": p.proto.name(),
            })
        })
        .collect();
    json!({
        "Id": rec.id,
        "Names": [format!("/{}", rec.name)],
        "Image": rec.image_name,
        "ImageID": rec.image_id.to_string(),
        "Command": args.join(" "),
        "Created": unix_secs(Some(&rec.created)),
        "Ports": ports,
        "Labels": labels,
        "State": state_name(info.state.status),
        "Status": status_text(info, now),
        "HostConfig": { "NetworkMode": network },
        "NetworkSettings": { "Networks": {} },
        "Mounts": [],
    })
}

/// Docker's `NetworkMode` for a plan's network, as a name.
fn network_mode(plan: &impl serde::Serialize) -> String {
    let v = serde_json::to_value(plan).unwrap_or(Value::Null);
    let mode = v
        .get("mode")
        .and_then(|m| match m {
            Value::String(s) => Some(s.to_lowercase()),
            Value::Object(o) => o.keys().next().map(|k| k.to_lowercase()),
            _ => None,
        })
        .unwrap_or_default();
    match mode.as_str() {
        "host" => "host".into(),
        "none" => "none".into(),
        _ => "default".into(),
    }
}

/// Docker's inspect object of a container from Podman's: names begin with
/// `/`, and `State.Status` is one of Docker's.
pub fn docker_container(mut v: Value) -> Value {
    if let Some(name) = v.get("Name").and_then(Value::as_str) {
        if !name.starts_with('/') {
            v["Name"] = format!("/{name}").into();
        }
    }
    // Podman writes the number; Docker's clients read a name.
    if let Some(config) = v.get_mut("Config").and_then(Value::as_object_mut) {
        if let Some(n) = config.get("StopSignal").and_then(Value::as_i64) {
            let name = i32::try_from(n)
                .ok()
                .and_then(|n| nix::sys::signal::Signal::try_from(n).ok())
                .map_or_else(|| n.to_string(), |s| s.as_str().to_string());
            config.insert("StopSignal".into(), name.into());
        }
    }
    if let Some(state) = v.get_mut("State").and_then(Value::as_object_mut) {
        let status = state.get("Status").and_then(Value::as_str).unwrap_or("");
        let docker = match status {
            "configured" | "initialized" => "created",
            "stopped" => "exited",
            s => s,
        }
        .to_string();
        state.insert("Status".into(), docker.into());
        // Docker has no `Health` without a healthcheck; Podman's empty one
        // reads as a health state to clients (compose's `ps` shows `Up ()`).
        let is_unchecked = state
            .get("Health")
            .and_then(|h| h.get("Status"))
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if is_unchecked {
            state.remove("Health");
        }
    }
    v
}

/// Docker's inspect object of an image from Podman's: `Id` with its
/// algorithm, as Docker writes it.
pub fn docker_image(mut v: Value) -> Value {
    if let Some(id) = v.get("Id").and_then(Value::as_str) {
        if !id.contains(':') {
            v["Id"] = format!("sha256:{id}").into();
        }
    }
    v
}

/// One entry of `GET /images/json`.
pub fn image_entry(img: &ImageRecord, containers: usize) -> Value {
    let tags: Vec<&String> = img.names.iter().filter(|n| !n.contains('@')).collect();
    let repo_digests: Vec<String> = img
        .names
        .iter()
        .map(|n| {
            let repo = n.rsplit_once(':').map_or(n.as_str(), |(r, t)| {
                // A port's colon is not a tag's.
                if t.contains('/') {
                    n.as_str()
                } else {
                    r
                }
            });
            format!("{repo}@{}", img.manifest_digest)
        })
        .collect();
    let labels = crate::container::images::image_labels(img);
    json!({
        "Id": img.id.to_string(),
        "ParentId": "",
        "RepoTags": if tags.is_empty() { json!(["<none>:<none>"]) } else { json!(tags) },
        "RepoDigests": repo_digests,
        "Created": unix_secs(img.created.as_deref()),
        "Size": img.size,
        "VirtualSize": img.size,
        "SharedSize": -1,
        "Labels": labels,
        "Containers": containers,
    })
}

/// A volume as Docker shows it.
pub fn volume(v: &VolumeInfo) -> Value {
    let r = &v.record;
    json!({
        "Name": r.name,
        "Driver": r.driver,
        "Mountpoint": v.mountpoint,
        "CreatedAt": r.created,
        "Labels": r.labels,
        "Options": r.options,
        "Scope": "local",
    })
}

/// `GET /version`.
pub fn version(arch: &str, kernel: &str) -> Value {
    let version = env!("CARGO_PKG_VERSION");
    json!({
        "Platform": { "Name": "hutch" },
        "Components": [{
            "Name": "Engine",
            "Version": version,
            "Details": {
                "ApiVersion": API_VERSION,
                "MinAPIVersion": MIN_API_VERSION,
                "Os": "linux",
                "Arch": arch,
                "KernelVersion": kernel,
            },
        }],
        "Version": version,
        "ApiVersion": API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "",
        "GoVersion": "",
        "Os": "linux",
        "Arch": arch,
        "KernelVersion": kernel,
        "BuildTime": "",
    })
}

/// Docker's `GOARCH` name of a kernel machine name.
pub fn go_arch(machine: &str) -> &str {
    match machine {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" => "arm",
        m => m,
    }
}

/// Counts of containers by state, for `GET /info`.
#[derive(Debug, Default)]
pub struct Counts {
    /// Every container.
    pub total: usize,
    /// Running.
    pub running: usize,
    /// Paused (hutch records none apart).
    pub paused: usize,
    /// Not running.
    pub stopped: usize,
    /// Images.
    pub images: usize,
}

/// `GET /info`, the fields docker's CLI prints.
pub fn info(counts: &Counts, host: &BTreeMap<&str, Value>) -> Value {
    let mut v = json!({
        "ID": "",
        "Containers": counts.total,
        "ContainersRunning": counts.running,
        "ContainersPaused": counts.paused,
        "ContainersStopped": counts.stopped,
        "Images": counts.images,
        "Driver": "overlay",
        "DriverStatus": [],
        "Plugins": { "Volume": ["local"], "Network": [], "Authorization": null, "Log": ["k8s-file", "none"] },
        "MemoryLimit": true,
        "SwapLimit": false,
        "OSType": "linux",
        "ServerVersion": env!("CARGO_PKG_VERSION"),
        "Runtimes": { "hutch": { "path": "hutch" } },
        "DefaultRuntime": "hutch",
        "LoggingDriver": "k8s-file",
        "SecurityOptions": ["name=seccomp,profile=default", "name=rootless"],
        "Warnings": [],
    });
    for (k, val) in host {
        v[*k] = val.clone();
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_dockers() {
        assert_eq!(duration_words(0), "Less than a second");
        assert_eq!(duration_words(5), "5 seconds");
        assert_eq!(duration_words(90), "About a minute");
        assert_eq!(duration_words(600), "10 minutes");
        assert_eq!(duration_words(3 * 3600), "3 hours");
        assert_eq!(duration_words(5 * 86400), "5 days");
    }

    #[test]
    fn inspect_objects_get_dockers_names_and_states() {
        let v = docker_container(json!({
            "Name": "web", "State": {"Status": "configured"}, "Config": {"StopSignal": 15}
        }));
        assert_eq!(v["Name"], "/web");
        assert_eq!(v["Config"]["StopSignal"], "SIGTERM");
        assert_eq!(v["State"]["Status"], "created");
        let v = docker_image(json!({"Id": "abc"}));
        assert_eq!(v["Id"], "sha256:abc");
    }

    #[test]
    fn docker_container_drops_an_empty_health_and_keeps_a_real_one() {
        let v = docker_container(json!({
            "Name": "web",
            "State": { "Status": "running", "Health": { "Status": "", "FailingStreak": 0 } }
        }));
        assert_eq!(v["Name"], "/web");
        assert!(v["State"].get("Health").is_none(), "{v}");
        let v = docker_container(json!({
            "State": { "Status": "stopped", "Health": { "Status": "healthy" } }
        }));
        assert_eq!(v["State"]["Status"], "exited");
        assert_eq!(v["State"]["Health"]["Status"], "healthy");
    }
}
