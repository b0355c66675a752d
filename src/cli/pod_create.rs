//! `hutch pod create` and `hutch pod inspect`.

use std::path::PathBuf;

use clap::Args;
use serde_json::{json, Map, Value};

use super::template::Template;
use crate::container::manage::is_valid_container_name;
use crate::container::pod::{self, Inherited};
use crate::container::pod_ops::{NewPod, PodState};
use crate::container::query::format_port;
use crate::container::{Engine, NetworkRequest};
use crate::error::Error;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Pod name (default: a generated one)
    #[arg(short, long)]
    pub name: Option<String>,
    /// Pod name, as an argument instead of --name
    #[arg(value_name = "NAME")]
    pub positional_name: Option<String>,
    /// Publish a port of the pod on the host: [hostIP:][hostPort:]containerPort[/tcp|/udp]
    #[arg(short = 'p', long, value_name = "PORT")]
    pub publish: Vec<String>,
    /// Network mode of the pod: pasta[:OPTIONS], slirp4netns[:OPTIONS], host or none
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,
    /// MAC address of the pod's interface (pasta and slirp4netns)
    #[arg(long, value_name = "MAC")]
    pub mac_address: Option<String>,
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
    /// Host name of the pod's UTS namespace (default: the pod's name)
    #[arg(short = 'h', long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Set a label on the pod (KEY[=VALUE])
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Read labels from a file of KEY=VALUE lines
    #[arg(long, value_name = "FILE")]
    pub label_file: Vec<PathBuf>,
    /// What happens when the pod's last container exits: continue (default) or stop the pod
    #[arg(long, value_name = "POLICY", default_value = "continue")]
    pub exit_policy: String,
    /// Namespaces the members share besides the user namespace: a comma-separated list of ipc, net and uts (always net), +LIST to add to the default ipc,net,uts, or none
    #[arg(long, value_name = "NAMESPACES")]
    pub share: Option<String>,
    /// Whether the pod has an infra process holding the shared namespaces (default true; false when --share none)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub infra: Option<bool>,
    /// Write the pid of the infra's monitor to FILE at every start
    #[arg(long, value_name = "FILE")]
    pub infra_conmon_pidfile: Option<PathBuf>,
    /// Write the pod's id to FILE, which must not exist
    #[arg(long, value_name = "FILE")]
    pub pod_id_file: Option<PathBuf>,
    /// Remove a pod of the same name first (with its containers)
    #[arg(long)]
    pub replace: bool,
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
        if args.name.is_some() {
            return Err(Error::Usage(
                "cannot specify --name and NAME at the same time".into(),
            ));
        }
        args.name = Some(name);
    }
    if let Some(name) = &args.name {
        // The same rule as container names: the name is also the host name.
        if !is_valid_container_name(name) {
            return Err(
                crate::container::Error::from(pod::Error::InvalidName(name.clone())).into(),
            );
        }
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
        name: args.name,
        network: NetworkRequest {
            network: args.network,
            publish: args.publish,
            dns: args.dns,
            dns_search: args.dns_search,
            dns_options: args.dns_option,
            add_hosts: args.add_host,
            no_hosts: args.no_hosts,
            mac_address: args.mac_address,
            ..NetworkRequest::default()
        },
        labels: args.label,
        label_files: args.label_file,
        hostname: args.hostname,
        exit_policy,
        shared,
        has_infra: args.infra,
        create_command: std::env::args().collect(),
        monitor_pidfile: args.infra_conmon_pidfile,
        inherited: Inherited {
            volumes: args.volume,
            volumes_from: args.volumes_from,
            devices: args.device,
            security_opt: args.security_opt,
            userns: args.userns,
            uidmap: args.uidmap,
            gidmap: args.gidmap,
        },
        id_file: args.pod_id_file,
        is_replacing: args.replace,
    })?;
    println!("{id}");
    Ok(0)
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

/// A pod as `pod inspect` shows it: Podman's fields, with empty cgroup and
/// infra-container ones (hutch's pods have neither), and hutch's
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
    json!({
        "Id": p.id,
        "Name": p.name,
        "Created": p.created,
        "CreateCommand": p.create_command,
        "ExitPolicy": p.exit_policy.name(),
        "State": state.status.name(),
        "Hostname": p.hostname.clone().unwrap_or_default(),
        "Labels": p.labels,
        "CreateCgroup": false,
        "CgroupParent": "",
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
            "pid_ns": "private",
            "userns": p.inherited.userns.clone().unwrap_or_else(|| "host".into()),
            "uts_ns": "private",
        },
        "SharedNamespaces": p.shared,
        "NumContainers": members.len(),
        "Containers": members,
        "InfraPid": p.infra.as_ref().filter(|_| state.is_running).map(|i| i.pid),
        "NetworkMode": n.mode.name(),
        "Ports": ports,
    })
}
