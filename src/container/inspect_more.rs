//! The rest of Podman's container inspect object (issue #13): the fields
//! a script reads from `.HostConfig`, `.Config`, `.State` and the top
//! level besides those `inspect` builds from the record and the plan,
//! taken from the request the container was created from (recorded in its
//! spec) and from the plan. A field Podman has and hutch has no value for
//! shows Podman's empty value, so templates naming it do not fail.

use serde_json::{json, Map, Value};

use super::create::CreateRequest;
use super::restart::RestartPolicy;
use super::Plan;
use crate::runtime::security::{cap_list, cap_number};
use crate::storage::ContainerDirs;

/// How Podman shows a time that has not happened.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The capabilities Docker gives by default; Podman's `CapAdd` and
/// `CapDrop` are the differences from this set.
const DOCKER_CAPS: [&str; 14] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
    "AUDIT_WRITE",
    "MKNOD",
    "NET_RAW",
];

/// What the container's object needs besides its plan.
pub(super) struct Extras<'a> {
    /// The container's directories.
    pub dirs: &'a ContainerDirs,
    /// The image it was made from, when still in the store: its manifest
    /// digest and its config's `config`.
    pub image: Option<(String, Value)>,
    /// The log file's path.
    pub log_path: &'a str,
}

/// Adds Podman's remaining fields to container object `v`; a field
/// already there is kept.
pub(super) fn add(v: &mut Value, plan: Option<&Plan>, extras: &Extras) {
    let req: CreateRequest = plan
        .and_then(|p| p.request.clone())
        .and_then(|r| serde_json::from_value(r).ok())
        .unwrap_or_default();
    let fill = |v: &mut Value, key: &str, more: Value| {
        let (Some(obj), Value::Object(more)) =
            (v.get_mut(key).and_then(Value::as_object_mut), more)
        else {
            return;
        };
        for (k, x) in more {
            obj.entry(k).or_insert(x);
        }
    };
    let caps = plan.map_or(0, |p| p.security.caps);
    let mut host = host_config(plan, &req, caps, extras);
    // The log's type is there already; the rest of it joins it.
    if let (Some(log), Some(Value::Object(more))) = (
        v["HostConfig"]["LogConfig"].as_object_mut(),
        host.as_object_mut().and_then(|h| h.remove("LogConfig")),
    ) {
        for (k, x) in more {
            log.entry(k).or_insert(x);
        }
    }
    fill(v, "HostConfig", host);
    let mut config = config(plan, &req, extras);
    // The command without the entrypoint replaces the whole argv there.
    if let Some(cmd) = config.as_object_mut().and_then(|c| c.remove("Cmd")) {
        v["Config"]["Cmd"] = cmd;
    }
    fill(v, "Config", config);
    fill(
        v,
        "State",
        json!({
            "OciVersion": "1.0.2",
            "Restarting": false,
            "Health": {"Status": "", "FailingStreak": 0, "Log": null},
            "CheckpointedAt": ZERO_TIME,
            "RestoredAt": ZERO_TIME,
        }),
    );
    fill(v, "NetworkSettings", network_settings());
    let is_root_user = plan.is_none_or(|p| {
        let user = p.user.split(':').next().unwrap_or_default();
        user.is_empty() || user == "0" || user == "root"
    });
    let etc = |name: &str| {
        let path = extras.dirs.dir.join(name);
        match path.exists() {
            true => path.display().to_string(),
            false => String::new(),
        }
    };
    let Some(top) = v.as_object_mut() else {
        return;
    };
    let more = json!({
        "Driver": "overlay",
        "Rootfs": "",
        "ResolvConfPath": etc("resolv.conf"),
        "HostnamePath": etc("hostname"),
        "HostsPath": etc("hosts"),
        "StaticDir": extras.dirs.dir.display().to_string(),
        "OCIConfigPath": null,
        "OCIRuntime": "hutch",
        "ExecIDs": [],
        "Dependencies": plan.map_or(&[][..], |p| &p.manage.requires),
        "IsInfra": false,
        "IsService": false,
        "Namespace": "",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ImageDigest": extras.image.as_ref().map_or("", |(d, _)| d.as_str()),
        "BoundingCaps": cap_list(caps),
        // A user other than root loses its capabilities at exec.
        "EffectiveCaps": if is_root_user { cap_list(caps) } else { vec![] },
    });
    if let Value::Object(more) = more {
        for (k, x) in more {
            top.entry(k).or_insert(x);
        }
    }
}

/// The mask of `DOCKER_CAPS`.
fn docker_caps() -> u64 {
    DOCKER_CAPS
        .iter()
        .filter_map(|n| cap_number(n))
        .fold(0, |m, n| m | 1 << n)
}

fn host_config(plan: Option<&Plan>, req: &CreateRequest, caps: u64, extras: &Extras) -> Value {
    let docker = docker_caps();
    let (cap_add, cap_drop) = match plan {
        Some(_) => (cap_list(caps & !docker), cap_list(docker & !caps)),
        None => (vec![], vec![]),
    };
    let restart = match req.restart {
        RestartPolicy::No => ("", 0),
        RestartPolicy::OnFailure { max_retries } => ("on-failure", max_retries.unwrap_or(0)),
        RestartPolicy::Always => ("always", 0),
        RestartPolicy::UnlessStopped => ("unless-stopped", 0),
    };
    let ns = &req.tuning.namespaces;
    let ns_mode = |given: &Option<String>, default: &str| -> String {
        given.clone().unwrap_or_else(|| default.to_string())
    };
    let tmpfs: Map<String, Value> = req
        .mounts
        .tmpfs
        .iter()
        .map(|t| {
            let (path, opts) = t.split_once(':').unwrap_or((t, ""));
            let opts = match opts {
                "" => "rw,rprivate,nosuid,nodev,tmpcopyup".to_string(),
                o => o.to_string(),
            };
            (path.to_string(), Value::from(opts))
        })
        .collect();
    let ulimits: Vec<Value> = plan
        .map(|p| &p.hardening.ulimits[..])
        .unwrap_or_default()
        .iter()
        .map(|u| {
            json!({
                "Name": format!("RLIMIT_{}", u.name.to_ascii_uppercase()),
                "Soft": u.soft,
                "Hard": u.hard,
            })
        })
        .collect();
    let devices: Vec<Value> = req
        .userns
        .device
        .iter()
        .map(|d| {
            let mut parts = d.split(':');
            let host = parts.next().unwrap_or_default();
            let inside = parts.next().filter(|s| !s.is_empty()).unwrap_or(host);
            let perms = parts.next().unwrap_or("rwm");
            json!({"PathOnHost": host, "PathInContainer": inside, "CgroupPermissions": perms})
        })
        .collect();
    let rates = |list: &[String]| -> Value {
        match list.is_empty() {
            true => Value::Null,
            false => list
                .iter()
                .map(|r| {
                    let (path, rate) = r.rsplit_once(':').unwrap_or((r, ""));
                    json!({"Path": path, "Rate": rate})
                })
                .collect(),
        }
    };
    let limits = &req.cgroups.limits;
    let log_opts: Map<String, Value> = req
        .log
        .opts
        .iter()
        .filter_map(|o| o.split_once('='))
        .map(|(k, x)| (k.to_string(), Value::from(x)))
        .collect();
    let mut out = json!({
        "Binds": binds(req),
        "CapAdd": cap_add,
        "CapDrop": cap_drop,
        "Dns": plan.map_or(&[][..], |p| &p.network.dns),
        "DnsOptions": plan.map_or(&[][..], |p| &p.network.dns_options),
        "DnsSearch": plan.map_or(&[][..], |p| &p.network.dns_search),
        "ExtraHosts": req.network.add_hosts,
        "GroupAdd": req.userns.group_add,
        "NetworkMode": plan.map_or("", |p| p.network.mode.name()),
        "PortBindings": port_bindings(plan),
        "PublishAllPorts": req.network.publish_all,
        "RestartPolicy": {"Name": restart.0, "MaximumRetryCount": restart.1},
        "AutoRemove": plan.is_some_and(|p| p.auto_remove),
        "Privileged": req.security.privileged,
        "ReadonlyRootfs": req.security.read_only,
        "SecurityOpt": req.security.security_opt,
        "Tmpfs": tmpfs,
        "Ulimits": ulimits,
        "Devices": devices,
        "OomScoreAdj": plan.and_then(|p| p.hardening.oom_score_adj).unwrap_or(0),
        "ContainerIDFile": req.manage.cidfile.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        "VolumesFrom": match req.mounts.volumes_from.is_empty() {
            true => Value::Null,
            false => json!(req.mounts.volumes_from),
        },
        "VolumeDriver": "",
        "Links": null,
        "IpcMode": ns_mode(&ns.ipc, "shareable"),
        "PidMode": ns_mode(&ns.pid, "private"),
        "UTSMode": ns_mode(&ns.uts, "private"),
        "CgroupMode": ns_mode(&ns.cgroup, "private"),
        "UsernsMode": req.userns.mode.clone().unwrap_or_default(),
        "Cgroup": "",
    });
    let more = json!({
        "Runtime": "oci",
        "ConsoleSize": [0, 0],
        "Isolation": "",
        "CpuShares": limits.cpu_shares.unwrap_or(0),
        "OomKillDisable": limits.oom_kill_disable,
        "MemorySwappiness": req.tuning.memory_swappiness.unwrap_or(0),
        "BlkioWeightDevice": null,
        "BlkioDeviceReadBps": rates(&limits.device_read_bps),
        "BlkioDeviceWriteBps": rates(&limits.device_write_bps),
        "BlkioDeviceReadIOps": rates(&limits.device_read_iops),
        "BlkioDeviceWriteIOps": rates(&limits.device_write_iops),
        "CpuRealtimePeriod": 0,
        "CpuRealtimeRuntime": 0,
        "CpuCount": 0,
        "CpuPercent": 0,
        "DiskQuota": 0,
        "KernelMemory": 0,
        "IOMaximumIOps": 0,
        "IOMaximumBandwidth": 0,
        "CgroupConf": null,
        "LogConfig": {
            "Config": match log_opts.is_empty() {
                true => Value::Null,
                false => Value::Object(log_opts),
            },
            "Path": extras.log_path,
            "Tag": "",
            "Size": plan
                .and_then(|p| p.log_max_size)
                .map_or_else(|| "0B".to_string(), |n| format!("{n}B")),
        },
    });
    if let (Some(out), Value::Object(more)) = (out.as_object_mut(), more) {
        out.extend(more);
    }
    out
}

/// `-v` and `--mount` binds and volumes as Podman's `Binds` lists them:
/// `SOURCE:DESTINATION:OPTIONS`, with its propagation and `rbind`.
fn binds(req: &CreateRequest) -> Vec<String> {
    req.mounts
        .volume
        .iter()
        .filter_map(|v| {
            let mut parts = v.splitn(3, ':');
            let (src, dst) = (parts.next()?, parts.next()?);
            let opts = parts.next().filter(|o| !o.is_empty()).unwrap_or("rw");
            // A named volume is mounted nosuid and nodev.
            let named = match src.starts_with(['/', '.']) {
                true => "",
                false => "nosuid,nodev,",
            };
            Some(format!("{src}:{dst}:{opts},rprivate,{named}rbind"))
        })
        .collect()
}

/// The planned `-p`/`-P` ports, grouped by container port.
fn port_bindings(plan: Option<&Plan>) -> Value {
    let mut map = Map::new();
    for p in plan.map(|p| &p.network.ports[..]).unwrap_or_default() {
        let key = format!("{}/{}", p.container_port, p.proto.name());
        let entry = json!({
            "HostIp": p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
            "HostPort": match p.host_port { 0 => String::new(), n => n.to_string() },
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

fn config(plan: Option<&Plan>, req: &CreateRequest, extras: &Extras) -> Value {
    let image_config = extras.image.as_ref().map(|(_, c)| c);
    // The entrypoint as Podman 4.3 shows it: its words joined.
    let entrypoint: Vec<String> = match &req.process.entrypoint {
        Some(e) => super::plan::entrypoint_words(e),
        None => image_config
            .and_then(|c| c.get("Entrypoint"))
            .and_then(|e| serde_json::from_value(e.clone()).ok())
            .unwrap_or_default(),
    };
    let argv = plan.map(|p| &p.args[..]).unwrap_or_default();
    let cmd = match argv.starts_with(&entrypoint) {
        true => &argv[entrypoint.len()..],
        false => argv,
    };
    json!({
        "Cmd": cmd,
        "Entrypoint": entrypoint.join(" "),
        "Domainname": "",
        "AttachStdin": false,
        "AttachStdout": false,
        "AttachStderr": false,
        "StdinOnce": false,
        "Image": plan.map_or_else(String::new, |p| tagged(&p.origin.image)),
        "Volumes": image_config.and_then(|c| c.get("Volumes")).cloned().unwrap_or_default(),
        "OnBuild": null,
        "CreateCommand": req.create_command,
        "Passwd": req.process.passwd.is_added.unwrap_or(true),
        "sdNotifyMode": req.tuning.sdnotify.clone().unwrap_or_else(|| "container".into()),
        "HealthcheckOnFailureAction": "none",
    })
}

/// Podman's network fields hutch has no value for.
fn network_settings() -> Value {
    json!({
        "EndpointID": "",
        "Gateway": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": "",
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "SandboxKey": "",
    })
}

/// An image name as Podman records it: `:latest` added when it names no
/// tag or digest.
pub(super) fn tagged(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    match name.is_empty() || last.contains(':') || last.contains('@') {
        true => name.to_string(),
        false => format!("{name}:latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::tagged;

    #[test]
    fn an_image_without_a_tag_is_latest() {
        assert_eq!(
            tagged("127.0.0.1:5000/busybox"),
            "127.0.0.1:5000/busybox:latest"
        );
        assert_eq!(tagged("localhost/rf:1"), "localhost/rf:1");
        assert_eq!(tagged("a/b@sha256:00"), "a/b@sha256:00");
        assert_eq!(tagged("busybox"), "busybox:latest");
    }
}
