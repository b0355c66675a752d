//! `hutch pod …`: create, list, start, stop, remove and inspect pods, the
//! hidden infra monitor, and `--pod` for `run` and `create`.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::container::pod::{self, Pod};
use crate::container::Engine;
use crate::container::{self, Plan};
use crate::error::{render_chain, Error};
use crate::net::{self, NetworkRequest};
use crate::paths::Paths;
use crate::storage::{ContainerInfo, ContainerStatus, Store};

/// How long `pod stop` gives each member before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// The proc root.
const PROC: &str = "/proc";

/// `--pod` of `run` and `create`.
#[derive(Debug, Args)]
pub struct PodArgs {
    /// Run the container in this pod, sharing its user, network, UTS and IPC namespaces
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PodCommand {
    /// Create a pod and start its infra process
    Create(CreateArgs),
    /// List pods
    #[command(visible_alias = "ls", visible_alias = "list")]
    Ps(PsArgs),
    /// Start pods and their containers
    Start(NamesArgs),
    /// Stop pods' containers, then their infra processes
    Stop(NamesArgs),
    /// Remove pods
    Rm(RmArgs),
    /// Show pods' details as JSON
    Inspect(NamesArgs),
    /// Exit 0 when a pod exists, 1 when it does not
    Exists(ExistsArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Pod name (default: a generated one)
    #[arg(long)]
    pub name: Option<String>,
    /// Publish a port of the pod on the host: [hostIP:][hostPort:]containerPort[/tcp|/udp]
    #[arg(short = 'p', long, value_name = "PORT")]
    pub publish: Vec<String>,
    /// Network mode of the pod: pasta[:OPTIONS], slirp4netns[:OPTIONS], host or none
    #[arg(long, value_name = "MODE")]
    pub network: Option<String>,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Print only pod ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format: table or json
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct NamesArgs {
    /// Pod names or ids
    #[arg(value_name = "POD", required = true)]
    pub pods: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Stop and remove running pods and their containers
    #[arg(short, long)]
    pub force: bool,
    /// Pod names or ids
    #[arg(value_name = "POD", required = true)]
    pub pods: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    /// Pod name or id
    #[arg(value_name = "POD")]
    pub pod: String,
}

#[derive(Debug, Args)]
pub struct InfraArgs {
    /// Pod id
    pub id: String,
}

/// Dispatches `hutch pod …`.
pub fn run(engine: &Engine, cmd: PodCommand) -> Result<i32, Error> {
    let paths = engine.paths();
    match cmd {
        PodCommand::Create(a) => create(paths, a),
        PodCommand::Ps(a) => ps(paths, a),
        PodCommand::Start(a) => for_each(&a.pods, |n| start(paths, n)),
        PodCommand::Stop(a) => for_each(&a.pods, |n| stop(paths, n)),
        PodCommand::Rm(a) => for_each(&a.pods, |n| rm(paths, n, a.force)),
        PodCommand::Inspect(a) => inspect(paths, a),
        PodCommand::Exists(a) => match pod::find(&paths.root, &a.pod) {
            Ok(_) => Ok(0),
            Err(pod::Error::NoSuchPod(_)) => Ok(1),
            Err(e) => Err(container::Error::from(e).into()),
        },
    }
}

/// Runs `f` on every name, printing each pod's id on success; reports the
/// failures and returns the last one's code.
fn for_each(names: &[String], f: impl Fn(&str) -> Result<String, Error>) -> Result<i32, Error> {
    let mut code = 0;
    for (i, name) in names.iter().enumerate() {
        match f(name) {
            Ok(id) => println!("{id}"),
            Err(e) if i + 1 == names.len() && code == 0 => return Err(e),
            Err(e) => {
                super::report_error(&e);
                code = e.exit_code();
            }
        }
    }
    Ok(code)
}

fn pod_err(e: pod::Error) -> Error {
    container::Error::from(e).into()
}

fn create(paths: &Paths, args: CreateArgs) -> Result<i32, Error> {
    if let Some(name) = &args.name {
        // The same rule as container names: the name is also the host name.
        if !crate::storage::is_valid_container_name(name) {
            return Err(Error::Usage(format!(
                "invalid pod name {name:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
            )));
        }
    }
    let req = NetworkRequest {
        network: args.network.clone(),
        publish: args.publish.clone(),
        ..NetworkRequest::default()
    };
    let helpers = net::find_helpers(&std::env::var("PATH").unwrap_or_default());
    let proc = Path::new(PROC);
    let network = net::plan_network(&req, &helpers, net::host_route(proc))
        .map_err(|e| Error::Usage(e.to_string()))?;
    net::check_ports(&network.ports, net::unprivileged_port_start(proc))
        .map_err(|e| Error::Usage(e.to_string()))?;
    let maps = crate::userns::current_user_maps(paths.etc())?;
    let id = super::run::new_id();
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("pod-{}", &id[..12]));
    let record = Pod {
        id: id.clone(),
        name,
        created: container::now_rfc3339(),
        network,
        maps,
        infra: None,
    };
    {
        let _lock = pod::lock(&paths.root).map_err(pod_err)?;
        pod::create(&paths.root, &record).map_err(pod_err)?;
    }
    let runroot = paths.ensure_runroot()?;
    if let Err(e) = pod::spawn_infra(&paths.root, runroot, &id) {
        // A pod whose infra cannot start is of no use; leave nothing.
        let _ = pod::delete(&paths.root, &id);
        return Err(pod_err(e));
    }
    println!("{id}");
    Ok(0)
}

/// The containers recorded as members of pod `id`, with their observed state.
fn members(store: &Store, id: &str) -> Result<Vec<ContainerInfo>, Error> {
    let mut out = Vec::new();
    for info in store.list_containers()? {
        let Some(Ok(plan)) = info.spec.as_deref().map(serde_json::from_str::<Plan>) else {
            continue;
        };
        if plan.pod.as_deref() == Some(id) {
            out.push(container::observe(store, info)?);
        }
    }
    Ok(out)
}

fn start(paths: &Paths, name: &str) -> Result<String, Error> {
    let p = pod::find(&paths.root, name).map_err(pod_err)?;
    let runroot = paths.ensure_runroot()?.to_path_buf();
    if !p.is_running(Path::new(PROC)) {
        pod::spawn_infra(&paths.root, &runroot, &p.id).map_err(pod_err)?;
    }
    let store = Store::open(&paths.root)?;
    for m in members(&store, &p.id)? {
        if m.state.status != ContainerStatus::Running {
            container::start(&store, &m.record.id, &paths.root, &runroot)?;
        }
    }
    Ok(p.id)
}

fn stop(paths: &Paths, name: &str) -> Result<String, Error> {
    let p = pod::find(&paths.root, name).map_err(pod_err)?;
    let store = Store::open(&paths.root)?;
    for m in members(&store, &p.id)? {
        if m.state.status == ContainerStatus::Running {
            container::stop(&store, &m.record.id, STOP_TIMEOUT)?;
        }
    }
    pod::stop_infra(&paths.root, &p, Path::new(PROC)).map_err(pod_err)?;
    Ok(p.id)
}

fn rm(paths: &Paths, name: &str, is_forced: bool) -> Result<String, Error> {
    let p = pod::find(&paths.root, name).map_err(pod_err)?;
    let store = Store::open(&paths.root)?;
    let members = members(&store, &p.id)?;
    let is_running = members
        .iter()
        .any(|m| m.state.status == ContainerStatus::Running);
    if is_running && !is_forced {
        return Err(pod_err(pod::Error::HasRunningMembers(p.name)));
    }
    for m in &members {
        container::remove(&store, &m.record.id, is_forced, &p.maps)?;
    }
    pod::stop_infra(&paths.root, &p, Path::new(PROC)).map_err(pod_err)?;
    let _lock = pod::lock(&paths.root).map_err(pod_err)?;
    pod::delete(&paths.root, &p.id).map_err(pod_err)?;
    Ok(p.id)
}

fn status(p: &Pod) -> &'static str {
    if p.is_running(Path::new(PROC)) {
        "Running"
    } else {
        "Exited"
    }
}

fn ps(paths: &Paths, args: PsArgs) -> Result<i32, Error> {
    let pods = pod::list(&paths.root).map_err(pod_err)?;
    let store = Store::open(&paths.root)?;
    let mut rows = Vec::new();
    for p in &pods {
        let n = members(&store, &p.id)?.len();
        rows.push((p, n));
    }
    if args.quiet {
        for (p, _) in rows {
            println!("{}", p.id);
        }
        return Ok(0);
    }
    match args.format.as_str() {
        "json" => {
            let v: Vec<Value> = rows
                .iter()
                .map(|(p, n)| {
                    json!({
                        "Id": p.id,
                        "Name": p.name,
                        "Status": status(p),
                        "Created": p.created,
                        "NumberOfContainers": n,
                    })
                })
                .collect();
            let text = serde_json::to_string_pretty(&v).unwrap_or_default();
            println!("{text}");
        }
        "table" => {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "{:<14}{:<24}{:<10}{:<22}# OF CONTAINERS",
                "POD ID", "NAME", "STATUS", "CREATED"
            );
            for (p, n) in rows {
                let _ = writeln!(
                    out,
                    "{:<14}{:<24}{:<10}{:<22}{}",
                    &p.id[..12.min(p.id.len())],
                    p.name,
                    status(p),
                    p.created,
                    n
                );
            }
        }
        other => {
            return Err(Error::Usage(format!(
                "invalid --format {other:?}: use table or json"
            )))
        }
    }
    Ok(0)
}

fn inspect(paths: &Paths, args: NamesArgs) -> Result<i32, Error> {
    let store = Store::open(&paths.root)?;
    let mut out = Vec::new();
    for name in &args.pods {
        let p = pod::find(&paths.root, name).map_err(pod_err)?;
        let members: Vec<Value> = members(&store, &p.id)?
            .iter()
            .map(|m| {
                json!({
                    "Id": m.record.id,
                    "Name": m.record.name,
                    "State": format!("{:?}", m.state.status).to_lowercase(),
                })
            })
            .collect();
        let ports: Vec<String> = p
            .infra
            .as_ref()
            .map(|i| i.ports.iter().map(net::format_port).collect())
            .unwrap_or_default();
        out.push(json!({
            "Id": p.id,
            "Name": p.name,
            "Created": p.created,
            "State": status(&p),
            "Hostname": p.name,
            "InfraPid": p.infra.as_ref().filter(|_| p.is_running(Path::new(PROC))).map(|i| i.pid),
            "NetworkMode": p.network.mode.name(),
            "Ports": ports,
            "NumContainers": members.len(),
            "Containers": members,
        }));
    }
    let text = serde_json::to_string_pretty(&out).unwrap_or_default();
    println!("{text}");
    Ok(0)
}

/// The hidden `pod-infra ID`: starts the infra, reports on stdout, then
/// waits for it until the pod is stopped.
pub fn infra(engine: &Engine, args: InfraArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let started = pod::start_infra(&paths.root, &args.id, Path::new(PROC));
    let report = match &started {
        Ok(_) => Ok(()),
        Err(e) => Err(render_chain(e)),
    };
    let mut out = std::io::stdout();
    let _ = out.write_all(pod::format_report(&report).as_bytes());
    let _ = out.flush();
    match started {
        Ok(running) => {
            pod::watch_infra(&paths.root, &args.id, running).map_err(pod_err)?;
            Ok(0)
        }
        Err(e) => Ok(pod_err(e).exit_code()),
    }
}

/// Pod ids to names, for `ps --pod`.
pub fn names(paths: &Paths) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let pods = pod::list(&paths.root).map_err(pod_err)?;
    Ok(pods.into_iter().map(|p| (p.id, p.name)).collect())
}

/// The pod id (12 characters unless `is_full`) and name of container
/// `info`, empty when it is in no pod.
pub fn pod_of(
    info: &ContainerInfo,
    names: &std::collections::BTreeMap<String, String>,
    is_full: bool,
) -> (String, String) {
    /// Only the pod field of a stored plan.
    #[derive(serde::Deserialize)]
    struct PodField {
        #[serde(default)]
        pod: Option<String>,
    }
    let id = info
        .spec
        .as_deref()
        .and_then(|s| serde_json::from_str::<PodField>(s).ok())
        .and_then(|f| f.pod)
        .unwrap_or_default();
    let name = names.get(&id).cloned().unwrap_or_default();
    let short = if is_full {
        id
    } else {
        id.chars().take(12).collect()
    };
    (short, name)
}

/// For `system reset`: stops the infra of every pod (their members are
/// gone already), warning about any that will not stop.
pub fn stop_all(paths: &Paths) {
    let pods = match pod::list(&paths.root) {
        Ok(p) => p,
        Err(e) => {
            super::warn(&format!("listing pods: {}", render_chain(&e)));
            return;
        }
    };
    for p in pods {
        if let Err(e) = pod::stop_infra(&paths.root, &p, Path::new(PROC)) {
            super::warn(&format!("stopping pod {}: {}", p.name, render_chain(&e)));
        }
    }
}
