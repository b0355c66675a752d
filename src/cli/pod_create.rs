//! `hutch pod create` and `hutch pod inspect`.

use std::path::PathBuf;

use clap::Args;
use serde_json::{json, Map, Value};

use super::template::Template;
use crate::container::manage::is_valid_container_name;
use crate::container::pod::{self, Inherited};
use crate::container::pod_ops::{NewPod, PodState};
use crate::container::pod_options::{self, PodOptions};
use crate::container::query::format_port;
use crate::container::{Engine, LimitsRequest, NetworkRequest};
use crate::error::Error;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Pod name, as an argument instead of --name
    #[arg(value_name = "NAME")]
    pub positional_name: Option<String>,
    /// What pod clone takes too: name, host name, labels, limits, namespaces, what members inherit
    #[command(flatten)]
    pub spec: Box<PodSpecArgs>,
    /// Publish a port of the pod on the host: [hostIP:][hostPort:]containerPort[/tcp|/udp]
    #[arg(short = 'p', long, value_name = "PORT")]
    pub publish: Vec<String>,
    /// Network mode of the pod: pasta[:OPTIONS], slirp4netns[:OPTIONS], host, none, or user-defined networks (NAME[,NAME...])
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,
    /// MAC address of the pod's interface (pasta, slirp4netns, or its one user-defined network)
    #[arg(long, value_name = "MAC")]
    pub mac_address: Option<String>,
    /// The pod's IPv4 address on its user-defined network
    #[arg(long, value_name = "ADDRESS")]
    pub ip: Option<String>,
    /// The pod's IPv6 address on its user-defined network (one with an IPv6 subnet)
    #[arg(long, value_name = "ADDRESS")]
    pub ip6: Option<String>,
    /// Another name the user-defined network's DNS gives the pod's address
    #[arg(long, value_name = "NAME")]
    pub network_alias: Vec<String>,
    /// DNS server for the members' /etc/resolv.conf
    #[arg(long, value_name = "ADDRESS")]
    pub dns: Vec<String>,
    /// DNS search domain for the members' /etc/resolv.conf
    #[arg(long, value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// DNS resolver option for the members' /etc/resolv.conf
    #[arg(long, value_name = "OPTION")]
    pub dns_option: Vec<String>,
    /// Add a line to the members' /etc/hosts (NAME:ADDRESS)
    #[arg(long, value_name = "NAME:ADDRESS")]
    pub add_host: Vec<String>,
    /// Do not write the members' /etc/hosts: their images' stay
    #[arg(long)]
    pub no_hosts: bool,
    /// What happens when the pod's last container exits: continue (default) or stop the pod
    #[arg(long, value_name = "POLICY", default_value = "continue")]
    pub exit_policy: String,
    /// Namespaces the members share besides the user namespace: a comma-separated list of ipc, net and uts (always net), +LIST to add to the default ipc,net,uts, or none
    #[arg(long, value_name = "NAMESPACES")]
    pub share: Option<String>,
    /// Whether the pod has an infra process holding the shared namespaces (default true; false when --share none)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub infra: Option<bool>,
    /// Whether members without a --cgroup-parent of their own go under the pod's cgroup, which has its limits (default true)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub share_parent: Option<bool>,
    /// Write the pod's id to FILE, which must not exist
    #[arg(long, value_name = "FILE")]
    pub pod_id_file: Option<PathBuf>,
    /// Remove a pod of the same name first (with its containers)
    #[arg(long)]
    pub replace: bool,
}

/// The flags `pod create` and `pod clone` share.
#[derive(Debug, Args)]
pub struct PodSpecArgs {
    /// Pod name (default: a generated one; for pod clone, POD-clone)
    #[arg(short, long)]
    pub name: Option<String>,
    /// Host name of the pod's UTS namespace (default: the pod's name)
    #[arg(short = 'h', long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Set a label on the pod (KEY[=VALUE])
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Read labels from a file of KEY=VALUE lines
    #[arg(long, value_name = "FILE")]
    pub label_file: Vec<PathBuf>,
    /// Write the pid of the infra's monitor to FILE at every start
    #[arg(long, value_name = "FILE")]
    pub infra_conmon_pidfile: Option<PathBuf>,
    /// Memory limit of the pod's containers together (for example 512m or 2g)
    #[arg(short = 'm', long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Memory plus swap limit of the pod's containers together; -1 for unlimited swap
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs the pod's containers may use together (for example 1.5)
    #[arg(long, value_name = "NUMBER")]
    pub cpus: Option<String>,
    /// CPU shares of the pod, relative weight (cgroup v1 scale, 2 to 262144)
    #[arg(short = 'c', long, value_name = "SHARES")]
    pub cpu_shares: Option<u64>,
    /// CPUs the pod's containers run on (for example 0-2,4)
    #[arg(long, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the pod's containers use (for example 0)
    #[arg(long, value_name = "NODES")]
    pub cpuset_mems: Option<String>,
    /// Block IO weight of the pod, 10 to 1000
    #[arg(long, value_name = "WEIGHT")]
    pub blkio_weight: Option<u64>,
    /// Read rate limit of a device for the pod (DEVICE:RATE, for example /dev/sda:1mb)
    #[arg(long, value_name = "DEVICE:RATE")]
    pub device_read_bps: Vec<String>,
    /// Write rate limit of a device for the pod (DEVICE:RATE)
    #[arg(long, value_name = "DEVICE:RATE")]
    pub device_write_bps: Vec<String>,
    /// Slice (systemd) or cgroup path (cgroupfs) to put the pod's cgroup and members under
    #[arg(long, value_name = "PARENT")]
    pub cgroup_parent: Option<String>,
    /// UTS namespace of the pod's infra: private (default) or host
    #[arg(long, value_name = "MODE")]
    pub uts: Option<String>,
    /// PID namespace of the pod's infra: private (default) or host
    #[arg(long, value_name = "MODE")]
    pub pid: Option<String>,
    /// Size of /dev/shm in members sharing the pod's IPC namespace: a number with unit b, k, m or g
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Set a sysctl in the namespaces the pod shares, as run --sysctl (KEY=VALUE; repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub sysctl: Vec<String>,
    /// Bind mount or volume for every member: [SOURCE:]DEST[:OPTIONS]
    #[arg(short, long, value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Mount the volumes of a container in every member
    #[arg(long, value_name = "CONTAINER[:OPTIONS]")]
    pub volumes_from: Vec<String>,
    /// Give every member a host device: HOST[:CONTAINER[:PERMISSIONS]]
    #[arg(long, value_name = "DEVICE")]
    pub device: Vec<String>,
    /// Security option for every member (as run --security-opt)
    #[arg(long, value_name = "OPTION")]
    pub security_opt: Vec<String>,
    /// User namespace of the pod (as run --userns)
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// UID map of the pod's user namespace (as run --uidmap)
    #[arg(long, value_name = "MAP")]
    pub uidmap: Vec<String>,
    /// GID map of the pod's user namespace (as run --gidmap)
    #[arg(long, value_name = "MAP")]
    pub gidmap: Vec<String>,
    /// Map the pod with the /etc/subuid ranges of NAME (your own name or uid: newuidmap allows no other)
    #[arg(long, value_name = "NAME")]
    pub subuidname: Option<String>,
    /// Map the pod with the /etc/subgid ranges of NAME (your own name or uid: newgidmap allows no other)
    #[arg(long, value_name = "NAME")]
    pub subgidname: Option<String>,
}

impl PodSpecArgs {
    /// The engine's options for these flags.
    pub fn options(&self) -> PodOptions {
        PodOptions {
            hostname: self.hostname.clone(),
            labels: self.label.clone(),
            label_files: self.label_file.clone(),
            monitor_pidfile: self.infra_conmon_pidfile.clone(),
            limits: LimitsRequest {
                memory: self.memory.clone(),
                memory_swap: self.memory_swap.clone(),
                cpus: self.cpus.clone(),
                cpu_shares: self.cpu_shares,
                cpuset_cpus: self.cpuset_cpus.clone(),
                cpuset_mems: self.cpuset_mems.clone(),
                blkio_weight: self.blkio_weight,
                device_read_bps: self.device_read_bps.clone(),
                device_write_bps: self.device_write_bps.clone(),
                ..LimitsRequest::default()
            },
            cgroup_parent: self.cgroup_parent.clone(),
            uts: self.uts.clone(),
            pid: self.pid.clone(),
            inherited: Inherited {
                volumes: self.volume.clone(),
                volumes_from: self.volumes_from.clone(),
                devices: self.device.clone(),
                security_opt: self.security_opt.clone(),
                userns: self.userns.clone(),
                uidmap: self.uidmap.clone(),
                gidmap: self.gidmap.clone(),
                shm_size: self.shm_size.clone(),
                sysctls: self.sysctl.clone(),
                subuidname: self.subuidname.clone(),
                subgidname: self.subgidname.clone(),
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Pod names or ids
    #[arg(value_name = "POD")]
    pub pods: Vec<String>,
    /// Output format: json (default) or a Go template such as '{{.Name}} {{.State}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Inspect the pod created last
    #[arg(short, long)]
    pub latest: bool,
}

/// `pod create`: records the pod and prints its id.
pub fn create(engine: &Engine, mut args: CreateArgs) -> Result<i32, Error> {
    if let Some(name) = args.positional_name.take() {
        if args.spec.name.is_some() {
            return Err(Error::Usage(
                "cannot specify --name and NAME at the same time".into(),
            ));
        }
        args.spec.name = Some(name);
    }
    if let Some(name) = &args.spec.name {
        check_name(name)?;
    }
    let shared = args
        .share
        .as_deref()
        .map(pod::parse_share)
        .transpose()
        .map_err(crate::container::Error::from)?;
    let exit_policy =
        pod::parse_exit_policy(&args.exit_policy).map_err(crate::container::Error::from)?;
    let id = engine.create_pod(&NewPod {
        name: args.spec.name.clone(),
        network: NetworkRequest {
            network: args.network,
            publish: args.publish,
            dns: args.dns,
            dns_search: args.dns_search,
            dns_options: args.dns_option,
            add_hosts: args.add_host,
            no_hosts: args.no_hosts,
            mac_address: args.mac_address,
            ip: args.ip,
            ip6: args.ip6,
            aliases: args.network_alias,
            ..NetworkRequest::default()
        },
        exit_policy,
        shared,
        has_infra: args.infra,
        is_parent_shared: args.share_parent,
        create_command: std::env::args().collect(),
        options: args.spec.options(),
        id_file: args.pod_id_file,
        is_replacing: args.replace,
    })?;
    println!("{id}");
    Ok(0)
}

/// Refuses a pod name that is not also a valid host name, as container
/// names are refused.
pub(super) fn check_name(name: &str) -> Result<(), Error> {
    if is_valid_container_name(name) {
        Ok(())
    } else {
        Err(crate::container::Error::from(pod::Error::InvalidName(name.to_string())).into())
    }
}

/// `pod inspect`: one JSON object for one pod (as Podman 4.3 prints it),
/// an array for several, or a template per pod. A pod that does not exist
/// is reported and the rest shown, and the command fails.
pub fn inspect(engine: &Engine, args: InspectArgs) -> Result<i32, Error> {
    let names = match (args.latest, args.pods.is_empty()) {
        (true, false) => {
            return Err(Error::Usage(
                "--latest and arguments cannot be used together".into(),
            ))
        }
        (true, true) => vec![super::pod::one_pod(engine, None, true)?],
        (false, true) => return Err(Error::Usage("no names or ids specified".into())),
        (false, false) => args.pods,
    };
    let template = match args.format.as_deref() {
        None | Some("json") => None,
        Some(t) => Some(Template::parse_as("inspect", t)?),
    };
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &names {
        match engine.pod(name) {
            Ok(state) => found.push(inspect_object(&state)),
            Err(crate::container::Error::Pod(crate::container::pod::Error::NoSuchPod(_))) => {
                missing.push(format!("no such pod {name}"));
            }
            Err(e) => return Err(e.into()),
        }
    }
    match &template {
        Some(t) => print!("{}", t.render_all(&found, &|p| p.join("."))?),
        None if found.len() == 1 => println!(
            "{}",
            serde_json::to_string_pretty(&found[0]).unwrap_or_default()
        ),
        None => println!(
            "{}",
            serde_json::to_string_pretty(&found).unwrap_or_default()
        ),
    }
    super::inspect::finish(missing)
}

/// A pod as `pod inspect` shows it: Podman's fields, with empty
/// infra-container ones (hutch's infra is a process) and no cgroup path
/// (a pod's cgroup is made where its first member goes), and hutch's
/// `InfraPid`, `NetworkMode` and `Ports`.
fn inspect_object(state: &PodState) -> Value {
    let p = &state.pod;
    let members: Vec<Value> = state
        .members
        .iter()
        .map(|(m, s)| json!({"Id": m.record.id, "Name": m.record.name, "State": s.name()}))
        .collect();
    let ports: Vec<String> = p
        .infra
        .as_ref()
        .filter(|_| state.is_running)
        .map(|i| i.ports.iter().map(format_port).collect())
        .unwrap_or_default();
    let mut bindings = Map::new();
    for m in &p.network.ports {
        let key = format!("{}/{}", m.container_port, m.proto.name());
        let entry = bindings
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            list.push(json!({
                "HostIp": m.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                "HostPort": m.host_port.to_string(),
            }));
        }
    }
    let list_or_null = |v: &[String]| -> Value {
        if v.is_empty() {
            Value::Null
        } else {
            json!(v)
        }
    };
    let hosts: Vec<String> = p
        .network
        .add_hosts
        .iter()
        .map(|(name, addr)| format!("{name}:{addr}"))
        .collect();
    let n = &p.network;
    let limits = p
        .request
        .as_ref()
        .map(|r| pod_options::inspect_limits(&r.options.limits, &p.cgroup.resources))
        .unwrap_or_default();
    let ns = |is_host: bool| if is_host { "host" } else { "private" };
    let mut object = json!({
        "Id": p.id,
        "Name": p.name,
        "Created": p.created,
        "CreateCommand": p.create_command,
        "ExitPolicy": p.exit_policy.name(),
        "State": state.status.name(),
        "Hostname": p.hostname.clone().unwrap_or_default(),
        "Labels": p.labels,
        "CreateCgroup": p.member_cgroup().is_some(),
        "CgroupParent": p.cgroup.parent.clone().unwrap_or_default(),
        "CgroupPath": "",
        "CreateInfra": p.has_infra,
        "InfraContainerID": "",
        "InfraConfig": {
            "PortBindings": bindings,
            "HostNetwork": n.mode.name() == "host",
            "StaticIP": "",
            "StaticMAC": n.mac_address.clone().unwrap_or_default(),
            "NoManageResolvConf": false,
            "DNSServer": list_or_null(&n.dns),
            "DNSSearch": list_or_null(&n.dns_search),
            "DNSOption": list_or_null(&n.dns_options),
            "NoManageHosts": n.no_hosts,
            "HostAdd": list_or_null(&hosts),
            "Networks": null,
            "NetworkOptions": null,
            "pid_ns": ns(p.is_host_pid),
            "userns": p.inherited.userns.clone().unwrap_or_else(|| "host".into()),
            "uts_ns": ns(p.is_host_uts),
        },
        "SharedNamespaces": p.shared,
        "NumContainers": members.len(),
        "Containers": members,
        "InfraPid": p.infra.as_ref().filter(|_| state.is_running).map(|i| i.pid),
        "NetworkMode": n.mode.name(),
        "Ports": ports,
    });
    // Podman shows the limits at the top and the CPU ones in InfraConfig
    // too, each only when set.
    if let Some(infra) = object["InfraConfig"].as_object_mut() {
        for key in ["cpu_period", "cpu_quota", "cpuset_cpus"] {
            if let Some(v) = limits.get(key) {
                infra.insert(key.to_string(), v.clone());
            }
        }
    }
    if let Some(top) = object.as_object_mut() {
        top.extend(limits);
        if !p.inherited.security_opt.is_empty() {
            top.insert("security_opt".into(), json!(p.inherited.security_opt));
        }
    }
    object
}
