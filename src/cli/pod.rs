//! `hutch pod …`: create, list, start, stop, remove and inspect pods, the
//! hidden infra monitor, and `--pod` for `run` and `create`.

use std::io::Write;
use std::path::Path;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::container::manage::is_valid_container_name;
use crate::container::pod::{self};
use crate::container::pod_ops::{NewPod, PodState};
use crate::container::query::{format_port, ContainerInfo};
use crate::container::Engine;
use crate::container::{self};
use crate::error::{render_chain, Error};
use crate::paths::Paths;

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
    /// Pod name, as an argument instead of --name
    #[arg(value_name = "NAME")]
    pub positional_name: Option<String>,
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
    match cmd {
        PodCommand::Create(a) => create(engine, a),
        PodCommand::Ps(a) => ps(engine, a),
        PodCommand::Start(a) => for_each(&a.pods, |n| Ok(engine.start_pod(n)?)),
        PodCommand::Stop(a) => for_each(&a.pods, |n| Ok(engine.stop_pod(n)?)),
        PodCommand::Rm(a) => for_each(&a.pods, |n| Ok(engine.remove_pod(n, a.force)?)),
        PodCommand::Inspect(a) => inspect(engine, a),
        PodCommand::Exists(a) => Ok(if engine.pod_exists(&a.pod)? { 0 } else { 1 }),
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

fn create(engine: &Engine, mut args: CreateArgs) -> Result<i32, Error> {
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
            return Err(Error::Usage(format!(
                "invalid pod name {name:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
            )));
        }
    }
    let id = engine.create_pod(&NewPod {
        name: args.name,
        network: args.network,
        publish: args.publish,
    })?;
    println!("{id}");
    Ok(0)
}

fn status(p: &PodState) -> &'static str {
    if p.is_running {
        "Running"
    } else {
        "Exited"
    }
}

fn ps(engine: &Engine, args: PsArgs) -> Result<i32, Error> {
    let rows = engine.pods()?;
    if args.quiet {
        for s in rows {
            println!("{}", s.pod.id);
        }
        return Ok(0);
    }
    match args.format.as_str() {
        "json" => {
            let v: Vec<Value> = rows
                .iter()
                .map(|s| {
                    json!({
                        "Id": s.pod.id,
                        "Name": s.pod.name,
                        "Status": status(s),
                        "Created": s.pod.created,
                        "NumberOfContainers": s.members.len(),
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
            for s in &rows {
                let p = &s.pod;
                let _ = writeln!(
                    out,
                    "{:<14}{:<24}{:<10}{:<22}{}",
                    &p.id[..12.min(p.id.len())],
                    p.name,
                    status(s),
                    p.created,
                    s.members.len()
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

fn inspect(engine: &Engine, args: NamesArgs) -> Result<i32, Error> {
    let mut out = Vec::new();
    for name in &args.pods {
        let state = engine.pod(name)?;
        let p = &state.pod;
        let members: Vec<Value> = state
            .members
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
            .map(|i| i.ports.iter().map(format_port).collect())
            .unwrap_or_default();
        out.push(json!({
            "Id": p.id,
            "Name": p.name,
            "Created": p.created,
            "State": status(&state),
            "Hostname": p.name,
            "InfraPid": p.infra.as_ref().filter(|_| state.is_running).map(|i| i.pid),
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
    let started = engine.start_pod_infra(&args.id);
    let report = match &started {
        Ok(_) => Ok(()),
        Err(e) => Err(render_chain(e)),
    };
    let mut out = std::io::stdout();
    let _ = out.write_all(pod::format_report(&report).as_bytes());
    let _ = out.flush();
    match started {
        Ok(running) => {
            engine.watch_pod_infra(&args.id, running)?;
            Ok(0)
        }
        Err(e) => Ok(pod_err(e).exit_code()),
    }
}

/// The pod id (12 characters unless `is_full`) and name of container
/// `info`, empty when it is in no pod.
pub fn pod_of(
    info: &ContainerInfo,
    names: &std::collections::BTreeMap<String, String>,
    is_full: bool,
) -> (String, String) {
    let id = crate::container::load_spec(info)
        .ok()
        .and_then(|p| p.pod)
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
