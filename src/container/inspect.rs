//! `inspect`: the objects Podman shows for a container or an image, built
//! from the record, the typed stored spec and the container's state, as
//! JSON with Podman's field names. Front ends print them (the CLI as an
//! array or through a template) or send them (the REST API).

use serde_json::{json, Value};

use super::engine::Engine;
use super::volumes::{Kind, Volumes};
use super::{Error, Plan};
use crate::image;
use crate::net::{self, NetworkPlan, PublishedPort};
use crate::storage::{ContainerDirs, ContainerInfo, ContainerStatus, ImageRecord, LOCAL_DRIVER};

/// How Podman shows a time that has not happened.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Engine {
    /// The inspect object of container `name`, if one has that name, id or
    /// id prefix.
    pub fn inspect_container(&self, name: &str) -> Result<Option<Value>, Error> {
        let store = self.store()?;
        let Some(info) = store.find_container(name).map_err(Error::Store)? else {
            return Ok(None);
        };
        let Some(info) = self.observe(info)? else {
            return Ok(None);
        };
        let dirs = store.container_dirs(&info.record.id);
        let (driver, log) = super::logread::log_of(store, &info);
        // A container without a readable plan still shows its record.
        let plan = super::load_spec(&info).ok();
        let mut v = container_json(&info, plan.as_ref(), &dirs, &log.display().to_string());
        if let Some(secrets) = plan.as_ref().and_then(super::secret_use::inspect_json) {
            v["Config"]["Secrets"] = secrets;
        }
        v["HostConfig"]["LogConfig"] = json!({"Type": driver.as_str()});
        v["HostConfig"]["ShmSize"] = json!(plan
            .as_ref()
            .and_then(|p| p.tuning.shm_size)
            .unwrap_or(crate::runtime::tuning::DEFAULT_SHM_SIZE));
        let network = plan.as_ref().map(|p| p.network.clone()).unwrap_or_default();
        let ports = self.published_ports(&info)?;
        v["NetworkSettings"] = network_settings(&network, &ports);
        if network.mode.is_private() && !network.mode.attachments().is_empty() {
            let is_running = info.state.status == crate::storage::ContainerStatus::Running;
            user_networks(&mut v["NetworkSettings"], &network, &dirs.dir, is_running);
        }
        // Exposed ports nothing publishes show as null, as in Podman.
        if let Some(map) = v["NetworkSettings"]["Ports"].as_object_mut() {
            for key in &network.exposed {
                map.entry(key.clone()).or_insert(Value::Null);
            }
        }
        // The image, if still there, for its digest and config.
        let image = image::find_local(self.paths(), store, info.record.image_id.hex())
            .ok()
            .flatten()
            .map(|rec| {
                let config: Value = serde_json::from_slice(&rec.config).unwrap_or_default();
                (rec.manifest_digest.to_string(), config["config"].clone())
            });
        let extras = super::inspect_more::Extras {
            dirs: &dirs,
            image,
            log_path: &log.display().to_string(),
        };
        super::inspect_more::add(&mut v, plan.as_ref(), &extras);
        let check = plan.as_ref().and_then(|p| p.manage.health.as_ref());
        super::health::add_inspect(&mut v, check, &dirs.dir);
        Ok(Some(v))
    }

    /// The inspect object of image `name`, if a local image has that name
    /// or id.
    pub fn inspect_image(&self, name: &str) -> Result<Option<Value>, Error> {
        let store = self.store()?;
        Ok(image::find_local(self.paths(), store, name)?.map(|rec| {
            let mut v = image_json(&rec);
            // The manifest's annotations (`build --annotation`), as Podman
            // shows them.
            let manifest: Value = store
                .read_blob(&rec.manifest_digest)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            if let Some(a) = manifest.get("annotations").filter(|a| a.is_object()) {
                v["Annotations"] = a.clone();
            }
            if let Some(t) = manifest.get("mediaType").filter(|t| t.is_string()) {
                v["ManifestType"] = t.clone();
            }
            v
        }))
    }
}

/// `running`, `exited`, `created` or `initialized`.
pub fn state_name(status: ContainerStatus) -> &'static str {
    status.as_str()
}

/// `inspect`'s NetworkSettings: the mode, the container's address as its
/// mode gives it, and the published ports.
fn network_settings(plan: &NetworkPlan, ports: &[PublishedPort]) -> Value {
    let address = net::container_address(plan)
        .map(|a| a.to_string())
        .unwrap_or_default();
    json!({
        "Mode": plan.mode.name(),
        "IPAddress": address,
        "Ports": ports_map(ports),
    })
}

/// `NetworkSettings.Networks` of a container on user networks: its
/// address on each (from netavark's report while it runs), as Podman.
fn user_networks(
    settings: &mut Value,
    plan: &NetworkPlan,
    dir: &std::path::Path,
    is_running: bool,
) {
    let status: std::collections::BTreeMap<String, net::netavark::Status> = match is_running {
        true => std::fs::read(dir.join(crate::runtime::network::STATUS_FILE))
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok())
            .unwrap_or_default(),
        false => Default::default(),
    };
    let mut networks = serde_json::Map::new();
    let mut first = None;
    for a in plan.mode.attachments() {
        let iface = status
            .get(&a.network)
            .and_then(|s| s.interfaces.values().next());
        let family = |v6: bool| {
            iface
                .into_iter()
                .flat_map(|i| i.subnets.iter())
                .find(|s| s.ipnet.contains(':') == v6)
        };
        let split = |addr: Option<&net::netavark::AddressStatus>| {
            let (ip, prefix) = addr
                .and_then(|a| a.ipnet.split_once('/'))
                .map(|(ip, p)| (ip.to_string(), p.parse::<u8>().unwrap_or(0)))
                .unwrap_or_default();
            let gateway = addr.and_then(|a| a.gateway.clone()).unwrap_or_default();
            (ip, prefix, gateway)
        };
        let (ip, prefix, gateway) = split(family(false));
        let (ip6, prefix6, gateway6) = split(family(true));
        if first.is_none() && !ip.is_empty() {
            first = Some(ip.clone());
        }
        networks.insert(
            a.network.clone(),
            json!({
                "EndpointID": "",
                "Gateway": gateway,
                "IPAddress": ip,
                "IPPrefixLen": prefix,
                "IPv6Gateway": gateway6,
                "GlobalIPv6Address": ip6,
                "GlobalIPv6PrefixLen": prefix6,
                "MacAddress": iface.map(|i| i.mac_address.clone()).unwrap_or_default(),
                "NetworkID": a.network,
                "Aliases": a.aliases,
            }),
        );
    }
    settings["Networks"] = Value::Object(networks);
    settings["IPAddress"] = json!(first.unwrap_or_default());
}

/// Docker's `Ports` map: `"80/tcp": [{"HostIp", "HostPort"}]`.
fn ports_map(ports: &[PublishedPort]) -> Value {
    let mut map = serde_json::Map::new();
    for p in ports {
        let key = format!("{}/{}", p.container_port, p.proto.name());
        let entry = json!({
            "HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
            "HostPort": p.host_port.to_string(),
        });
        match map.get_mut(&key) {
            Some(Value::Array(a)) => a.push(entry),
            _ => {
                map.insert(key, json!([entry]));
            }
        }
    }
    Value::Object(map)
}

/// Docker's `Mounts` of `inspect`, from a container's planned mounts.
fn mounts_json(volumes: &Volumes) -> Value {
    // tmpfs mounts are `HostConfig.Tmpfs`'s, not here, as in Podman.
    let list: Vec<Value> = volumes
        .mounts
        .iter()
        .filter(|m| !matches!(m.kind, Kind::Tmpfs | Kind::Devpts))
        .map(|m| {
            let source = match m.kind {
                Kind::Tmpfs | Kind::Devpts => String::new(),
                Kind::Image => m.source.clone(),
                _ => m
                    .host_path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| m.source.clone()),
            };
            let mut o = json!({
                "Type": m.kind.as_str(),
                "Source": source,
                "Destination": m.destination,
                "Mode": m.mode(),
                "RW": !m.read_only,
                "Propagation": if m.kind == Kind::Tmpfs { "" } else { m.propagation.as_str() },
            });
            if m.kind == Kind::Volume {
                o["Name"] = json!(m.source);
                o["Driver"] = json!(LOCAL_DRIVER);
            }
            o
        })
        .collect();
    Value::Array(list)
}

/// The inspect object for one container (Podman's field names).
fn container_json(
    info: &ContainerInfo,
    plan: Option<&Plan>,
    dirs: &ContainerDirs,
    log_path: &str,
) -> Value {
    let rec = &info.record;
    let st = &info.state;
    let argv = plan.map(|p| p.args.clone()).unwrap_or_default();
    let is_running = st.status == ContainerStatus::Running;
    let placement = is_running
        .then(|| super::limits::placement(&dirs.dir))
        .flatten();
    let is_paused = is_running && super::limits::is_paused(&dirs.dir);
    let is_oom = st.exit_reason.as_deref() == Some(super::OOM_REASON);
    json!({
        "Id": rec.id,
        "Created": rec.created,
        "Path": argv.first().cloned().unwrap_or_default(),
        // Podman shows a lone command word as its own argument.
        "Args": match argv.len() {
            0 | 1 => &argv[..],
            _ => &argv[1..],
        },
        "State": {
            "Status": state_name(st.status),
            "Running": is_running,
            "Paused": is_paused,
            "OOMKilled": is_oom,
            "Dead": false,
            "Pid": if is_running { st.pid.unwrap_or(0) } else { 0 },
            "ConmonPid": if is_running { st.monitor_pid.unwrap_or(0) } else { 0 },
            "ExitCode": st.exit_code.unwrap_or(0),
            "Error": st.exit_reason.clone().unwrap_or_default(),
            "StartedAt": st.started_at.as_deref().unwrap_or(ZERO_TIME),
            "FinishedAt": st.finished_at.as_deref().unwrap_or(ZERO_TIME),
        },
        "Image": rec.image_id.hex(),
        "ImageName": rec.image_name,
        "Name": rec.name,
        "Pod": plan.and_then(|p| p.pod.as_deref()).unwrap_or_default(),
        "RestartCount": st.restart_count,
        "Config": {
            "Hostname": plan.map_or("", |p| &p.hostname),
            "User": plan.map_or("", |p| &p.user),
            "Env": plan.map_or(&[][..], |p| &p.env),
            "Cmd": argv,
            "WorkingDir": plan.map_or("", |p| &p.cwd),
            "Tty": plan.is_some_and(|p| p.tty),
            "OpenStdin": plan.is_some_and(|p| p.interactive),
            "StopSignal": plan.map_or(15, stop_signal_number),
            "StopTimeout": plan
                .and_then(|p| p.manage.stop_timeout)
                .unwrap_or(crate::runtime::plan::DEFAULT_STOP_TIMEOUT),
            "Timeout": plan.and_then(|p| p.manage.timeout).unwrap_or(0),
            "Timezone": plan.and_then(|p| p.tuning.timezone.as_deref()).unwrap_or_default(),
            "Umask": format!(
                "{:04o}",
                plan.and_then(|p| p.tuning.umask)
                    .unwrap_or(crate::runtime::tuning::DEFAULT_UMASK)
            ),
            // Podman shows no labels as null.
            "Labels": plan.map(|p| &p.labels).filter(|l| !l.is_empty()),
            "Annotations": plan.map(|p| &p.annotations),
        },
        "HostConfig": host_config(plan.map(|p| &p.cgroups)),
        "CgroupPath": placement.as_ref().map(|p| p.path.display().to_string()).unwrap_or_default(),
        "CgroupUnit": placement.and_then(|p| p.unit).unwrap_or_default(),
        "Mounts": plan.map_or_else(|| json!([]), |p| mounts_json(&p.volumes)),
        "NetworkSettings": {},
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "UpperDir": dirs.upper,
                "WorkDir": dirs.work,
                "MergedDir": dirs.merged,
            },
        },
        "LogPath": log_path,
        "PidFile": plan.and_then(|p| p.manage.pidfile.as_ref()).map(|p| p.display().to_string()).unwrap_or_default(),
        "ConmonPidFile": plan.and_then(|p| p.manage.monitor_pidfile.as_ref()).map(|p| p.display().to_string()).unwrap_or_default(),
    })
}

/// The number of the signal `stop` sends first, as Podman shows it.
fn stop_signal_number(plan: &Plan) -> i32 {
    let sig = plan.stop_signal.as_deref().map(super::parse_signal);
    match sig {
        Some(Ok(s)) => s as i32,
        _ => nix::sys::signal::Signal::SIGTERM as i32,
    }
}

/// The resource part of `HostConfig` (Docker's names) from a plan's
/// cgroup options (all zero without a plan).
fn host_config(cgroups: Option<&crate::cgroup::Options>) -> Value {
    use crate::cgroup::resources::{PidsLimit, SwapLimit};
    use crate::cgroup::Manager;
    let default = crate::cgroup::Options::default();
    let cg = cgroups.unwrap_or(&default);
    let r = &cg.resources;
    let (quota, period) = match r.cpu_max {
        Some((quota, period)) => (quota.map_or(-1, |q| q as i64), period),
        None => (0, 0),
    };
    let pids = match r.pids_max {
        Some(PidsLimit::Max(n)) => n as i64,
        Some(PidsLimit::Unlimited) => -1,
        None => 0,
    };
    let memory = r.memory_max.unwrap_or(0);
    let swap = match r.swap_max {
        Some(SwapLimit::Bytes(n)) => n as i64 + memory as i64,
        Some(SwapLimit::Unlimited) => -1,
        None => 0,
    };
    json!({
        "Memory": memory,
        "MemoryReservation": r.memory_low.unwrap_or(0),
        "MemorySwap": swap,
        "NanoCpus": if quota > 0 && period > 0 { quota as u64 * 1_000_000_000 / period } else { 0 },
        "CpuQuota": quota,
        "CpuPeriod": period,
        "CpuWeight": r.cpu_weight.unwrap_or(0),
        "CpusetCpus": r.cpuset_cpus.as_deref().unwrap_or_default(),
        "CpusetMems": r.cpuset_mems.as_deref().unwrap_or_default(),
        "PidsLimit": pids,
        "BlkioWeight": r.io_weight.unwrap_or(0),
        "BlkioWeightDevice": if r.weight_devices.is_empty() {
            Value::Null
        } else {
            r.weight_devices
                .iter()
                .map(|d| json!({"Path": d.path, "Weight": d.weight}))
                .collect()
        },
        // Without effect on cgroup v2, so never set (as in Podman there).
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CgroupConf": if r.unified.is_empty() { Value::Null } else { json!(r.unified) },
        "CgroupParent": cg.parent.as_deref().unwrap_or_default(),
        "CgroupManager": match cg.manager {
            Some(Manager::Systemd) => "systemd",
            Some(Manager::Cgroupfs) => "cgroupfs",
            None => "",
        },
        "Cgroups": if cg.is_disabled { "disabled" } else { "enabled" },
    })
}

/// The inspect object for one image (Podman's field names).
fn image_json(rec: &ImageRecord) -> serde_json::Value {
    let config: serde_json::Value = serde_json::from_slice(&rec.config).unwrap_or_default();
    let repo_digests: Vec<String> = rec
        .names
        .iter()
        .map(|n| {
            let slash = n.rfind('/').map_or(0, |i| i + 1);
            let repo = match n[slash..].find(':') {
                Some(i) => &n[..slash + i],
                None => n.as_str(),
            };
            format!("{repo}@{}", rec.manifest_digest)
        })
        .collect();
    serde_json::json!({
        "Id": rec.id.hex(),
        "Digest": rec.manifest_digest.to_string(),
        "RepoTags": rec.names,
        "RepoDigests": repo_digests,
        "Created": rec.created,
        "Architecture": rec.architecture,
        "Os": rec.os,
        "Variant": rec.variant,
        "Size": rec.size,
        "VirtualSize": rec.size,
        "Config": config.get("config").cloned().unwrap_or(serde_json::Value::Null),
        // Podman's empty values where the config has none.
        "Author": config.get("author").cloned().unwrap_or_else(|| "".into()),
        "Comment": config.get("comment").cloned().unwrap_or_else(|| "".into()),
        "Version": config.get("docker_version").cloned().unwrap_or_else(|| "".into()),
        "User": config["config"].get("User").cloned().unwrap_or_else(|| "".into()),
        "Labels": config["config"].get("Labels").cloned().unwrap_or_default(),
        "History": config.get("history").cloned().unwrap_or_else(|| serde_json::json!([])),
        "Annotations": {},
        "Parent": "",
        "GraphDriver": {"Name": "overlay", "Data": null},
        "RootFS": {
            "Type": "layers",
            "Layers": rec.layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `container_json` with the plan read from `info`'s spec, as
    /// `inspect_container` reads it.
    fn json_of(info: &ContainerInfo, dirs: &ContainerDirs, log_path: &str) -> Value {
        let plan = super::super::load_spec(info).ok();
        container_json(info, plan.as_ref(), dirs, log_path)
    }
    use crate::storage::{ContainerRecord, ContainerState, Digest};
    use std::path::PathBuf;

    fn info(status: ContainerStatus, spec: Option<&str>) -> ContainerInfo {
        ContainerInfo {
            record: ContainerRecord {
                id: "ab".repeat(32),
                name: "web".into(),
                image_id: Digest::of(b"config"),
                image_name: "busybox".into(),
                created: "2026-11-27T18:59:50Z".into(),
            },
            state: ContainerState {
                status,
                pid: Some(77),
                started_at: Some("2026-11-27T18:59:55Z".into()),
                exit_reason: Some("monitor died".into()),
                ..ContainerState::default()
            },
            spec: spec.map(String::from),
        }
    }

    fn dirs() -> ContainerDirs {
        let dir = PathBuf::from("/s/containers/x");
        ContainerDirs {
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("merged"),
            dir,
        }
    }

    /// A spec as stored before specs had a version.
    const SPEC: &str = r#"{"args":["sleep","100"],"env":["PATH=/bin","HOSTNAME=box"],
        "cwd":"/tmp","user":"0","hostname":"box","tty":true,"interactive":false,
        "id":"x","dirs":{"dir":"/s/c","upper":"/s/c/u","work":"/s/c/w","merged":"/s/c/m"},
        "lowers":[],"maps":{"uids":[],"gids":[],"fallback_reason":null}}"#;

    #[test]
    fn container_json_has_podmans_keys() {
        let v = json_of(
            &info(ContainerStatus::Running, Some(SPEC)),
            &dirs(),
            "/s/ctr.log",
        );
        assert_eq!(v["Path"], "sleep");
        assert_eq!(v["Args"], json!(["100"]));
        assert_eq!(v["State"]["Status"], "running");
        assert_eq!(v["State"]["Running"], true);
        assert_eq!(v["State"]["Pid"], 77);
        assert_eq!(v["State"]["Error"], "monitor died");
        assert_eq!(v["State"]["FinishedAt"], ZERO_TIME);
        assert_eq!(v["Config"]["Cmd"], json!(["sleep", "100"]));
        assert_eq!(v["Config"]["Hostname"], "box");
        assert_eq!(v["Config"]["WorkingDir"], "/tmp");
        assert_eq!(v["Config"]["Tty"], true);
        assert_eq!(v["Config"]["OpenStdin"], false);
        assert_eq!(
            v["GraphDriver"]["Data"]["UpperDir"],
            "/s/containers/x/upper"
        );
        assert_eq!(v["NetworkSettings"], json!({}));
        assert_eq!(v["LogPath"], "/s/ctr.log");
        assert_eq!(v["Config"]["Env"], json!(["PATH=/bin", "HOSTNAME=box"]));
    }

    #[test]
    fn container_json_shows_the_planned_resources() {
        use crate::cgroup::resources::{PidsLimit, SwapLimit};
        let mut plan = crate::runtime::Plan::from_stored(SPEC).unwrap();
        plan.pod = Some("p0d".into());
        let cg = &mut plan.cgroups;
        cg.parent = Some("user.slice".into());
        cg.manager = Some(crate::cgroup::Manager::Cgroupfs);
        cg.resources.memory_max = Some(1000);
        cg.resources.swap_max = Some(SwapLimit::Bytes(24));
        cg.resources.cpu_max = Some((Some(50_000), 100_000));
        cg.resources.pids_max = Some(PidsLimit::Unlimited);
        cg.resources.cpuset_cpus = Some("0-1".into());
        let spec = plan.to_stored().unwrap();
        let v = json_of(&info(ContainerStatus::Created, Some(&spec)), &dirs(), "");
        assert_eq!(v["Pod"], "p0d");
        let h = &v["HostConfig"];
        assert_eq!(h["Memory"], 1000);
        assert_eq!(h["MemorySwap"], 1024);
        assert_eq!(h["CpuQuota"], 50_000);
        assert_eq!(h["CpuPeriod"], 100_000);
        assert_eq!(h["NanoCpus"], 500_000_000);
        assert_eq!(h["PidsLimit"], -1);
        assert_eq!(h["CpusetCpus"], "0-1");
        assert_eq!(h["CgroupParent"], "user.slice");
        assert_eq!(h["CgroupManager"], "cgroupfs");
        assert_eq!(h["Cgroups"], "enabled");
    }

    #[test]
    fn container_json_of_a_newer_hutchs_container_shows_the_record() {
        let newer = SPEC.replacen('{', r#"{"version":999,"#, 1);
        let v = json_of(&info(ContainerStatus::Exited, Some(&newer)), &dirs(), "");
        assert_eq!(v["Name"], "web");
        assert_eq!(v["Path"], "");
        assert_eq!(v["Config"]["Hostname"], "");
    }

    #[test]
    fn container_json_without_a_plan_is_still_complete() {
        let v = json_of(&info(ContainerStatus::Exited, None), &dirs(), "");
        assert_eq!(v["Path"], "");
        assert_eq!(v["Args"], json!([]));
        assert_eq!(v["State"]["Pid"], 0);
        assert_eq!(v["State"]["Status"], "exited");
        assert_eq!(v["Config"]["Env"], json!([]));
    }

    #[test]
    fn ports_map_groups_host_bindings_by_container_port() {
        use crate::net::Protocol;
        let ports = [
            PublishedPort {
                host_ip: Some("127.0.0.1".parse().unwrap()),
                host_port: 8080,
                container_port: 80,
                proto: Protocol::Tcp,
            },
            PublishedPort {
                host_ip: None,
                host_port: 8081,
                container_port: 80,
                proto: Protocol::Tcp,
            },
        ];
        assert_eq!(
            ports_map(&ports)["80/tcp"],
            json!([
                {"HostIp": "127.0.0.1", "HostPort": "8080"},
                {"HostIp": "", "HostPort": "8081"}
            ])
        );
    }
}
