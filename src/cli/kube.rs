//! `kube play`, `kube down` and `kube generate` (and the older `play
//! kube` and `generate kube`): flags to `api::kube`'s options, its reports
//! printed as Podman prints them.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::registry::{CredsArgs, RegistryArgs};
use super::StderrReporter;
use crate::api::kube::generate::{GenerateOptions, Kind};
use crate::api::kube::{self, PlayOptions};
use crate::container::ExitPropagation;
use crate::container::{Engine, LogRequest, RegistryOptions};
use crate::error::Error;

/// `hutch kube`. Parsed once per process: the size of `play`'s flags
/// does not matter.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum KubeCommand {
    /// Create pods and volumes from Kubernetes YAML
    Play(PlayArgs),
    /// Remove the pods Kubernetes YAML describes
    Down(DownArgs),
    /// Write Kubernetes YAML for containers, pods or volumes
    Generate(GenerateArgs),
}

/// `hutch play` (the older spelling of `kube play`).
#[derive(Debug, Subcommand)]
pub enum PlayCommand {
    /// Create pods and volumes from Kubernetes YAML
    Kube(PlayArgs),
}

/// `kube play`.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The YAML file, or - for standard input
    #[arg(value_name = "KUBEFILE|-")]
    pub file: String,
    /// Add annotations to the pods' containers (KEY=VALUE)
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    #[command(flatten)]
    pub access: RegistryArgs,
    #[command(flatten)]
    pub creds: CredsArgs,
    /// A YAML file holding ConfigMaps for env and volumes (repeatable)
    #[arg(long, value_name = "PATH", value_delimiter = ',')]
    pub configmap: Vec<PathBuf>,
    /// A static address for each pod on the --network, in order
    #[arg(long, value_name = "IP", value_delimiter = ',')]
    pub ip: Vec<String>,
    /// A static MAC address for each pod on the --network, in order
    #[arg(long, value_name = "MAC", value_delimiter = ',')]
    pub mac_address: Vec<String>,
    /// The containers' log driver (k8s-file, json-file, journald, none, passthrough)
    #[arg(long, value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// A log driver option (KEY=VALUE)
    #[arg(long, value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    /// The pods' network (a network mode or a user network)
    #[arg(long, value_name = "NETWORK")]
    pub network: Vec<String>,
    /// Do not write /etc/hosts in the pods' containers
    #[arg(long)]
    pub no_hosts: bool,
    /// Print no pull progress
    #[arg(short, long)]
    pub quiet: bool,
    /// Remove pods of the same names first
    #[arg(long)]
    pub replace: bool,
    /// Remove the pods the YAML describes instead (as kube down does)
    #[arg(long)]
    pub down: bool,
    /// Where seccomp profiles named by the YAML live (accepted; hutch reads no profiles from YAML)
    #[arg(long, value_name = "DIR")]
    pub seccomp_profile_root: Option<PathBuf>,
    /// Start the pods once created
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub start: bool,
    /// The user namespace of the pods
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// Stay as the systemd service's main process until the pods' containers exit (Quadlet's .kube units)
    #[arg(long, value_name = "BOOL", hide = true, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub service_container: bool,
    /// With --service-container, the exit code: none (0), all (failed when all failed) or any (failed when any failed)
    #[arg(long, value_name = "MODE", hide = true, default_value = "none", value_parser = ["none", "all", "any"])]
    pub service_exit_code_propagation: String,
}

/// `kube down`.
#[derive(Debug, Args)]
pub struct DownArgs {
    /// The YAML file, or - for standard input
    #[arg(value_name = "KUBEFILE|-")]
    pub file: String,
}

/// `kube generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Containers, pods or volumes
    #[arg(value_name = "CONTAINER|POD|VOLUME", required = true)]
    pub names: Vec<String>,
    /// Write the YAML to this file instead of standard output
    #[arg(short, long, value_name = "PATH")]
    pub filename: Option<PathBuf>,
    /// Add a Service for the published ports
    #[arg(short, long)]
    pub service: bool,
    /// What to write for a pod: pod or deployment
    #[arg(short, long = "type", value_name = "TYPE", default_value = "pod", value_parser = ["pod", "deployment"])]
    pub kind: String,
}

/// Runs `hutch kube …`.
pub fn run(engine: &Engine, cmd: KubeCommand) -> Result<i32, Error> {
    match cmd {
        KubeCommand::Play(a) => play(engine, a),
        KubeCommand::Down(a) => down(engine, a),
        KubeCommand::Generate(a) => generate(engine, a),
    }
}

fn read_input(file: &str) -> Result<String, Error> {
    let mut text = String::new();
    let r = match file {
        "-" => std::io::stdin().read_to_string(&mut text).map(drop),
        path => std::fs::read_to_string(path).map(|t| text = t),
    };
    r.map_err(|e| Error::Usage(format!("reading {file}: {e}")))?;
    Ok(text)
}

/// `kube play`: prints the volumes, pods and containers made.
pub fn play(engine: &Engine, args: PlayArgs) -> Result<i32, Error> {
    if args.down {
        return down(engine, DownArgs { file: args.file });
    }
    if args.network.len() > 1 {
        return Err(Error::Usage(
            "a pod joins one --network in hutch: give one".into(),
        ));
    }
    let config_maps = args
        .configmap
        .iter()
        .map(|p| read_input(&p.to_string_lossy()))
        .collect::<Result<_, _>>()?;
    let mut registry = RegistryOptions {
        tls_verify: args.access.tls_verify,
        cert_dir: args.access.cert_dir.clone(),
        authfile: args.access.authfile.clone(),
        credentials: None,
    };
    registry.credentials = args.creds.credentials()?;
    let opts = PlayOptions {
        is_starting: args.start,
        is_replacing: args.replace,
        quiet: args.quiet,
        network: args.network.first().cloned(),
        ips: args.ip,
        macs: args.mac_address,
        no_hosts: args.no_hosts,
        annotations: args.annotation,
        log: LogRequest {
            driver: args.log_driver,
            opts: args.log_opt,
        },
        userns: args.userns,
        registry,
        config_maps,
    };
    let text = read_input(&args.file)?;
    let reporter = StderrReporter { quiet: args.quiet };
    let report = kube::play(engine, &text, &opts, &reporter)?;
    if !report.volumes.is_empty() {
        println!("Volumes:");
        for v in &report.volumes {
            println!("{v}");
        }
    }
    for (pod, ctrs) in &report.pods {
        println!("Pod:\n{pod}");
        match ctrs.len() {
            0 => continue,
            1 => println!("Container:"),
            _ => println!("Containers:"),
        }
        for c in ctrs {
            println!("{c}");
        }
        println!();
    }
    if !args.service_container {
        return Ok(0);
    }
    // Quadlet's .kube service: this process is the unit's main one, ready
    // now, and ends when the pods' containers have.
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let ids: Vec<String> = report.pods.into_iter().flat_map(|(_, c)| c).collect();
    let propagation = match args.service_exit_code_propagation.as_str() {
        "all" => ExitPropagation::All,
        "any" => ExitPropagation::Any,
        _ => ExitPropagation::None,
    };
    Ok(engine.serve_as_unit(&ids, propagation)?)
}

/// `kube down`: prints the pods stopped and removed.
pub fn down(engine: &Engine, args: DownArgs) -> Result<i32, Error> {
    let text = read_input(&args.file)?;
    let report = kube::down(engine, &text)?;
    if !report.stopped.is_empty() {
        println!("Pods stopped:");
        for id in &report.stopped {
            println!("{id}");
        }
    }
    if !report.removed.is_empty() {
        println!("Pods removed:");
        for id in &report.removed {
            println!("{id}");
        }
    }
    Ok(0)
}

/// `kube generate`: the YAML on standard output or in `--filename`.
pub fn generate(engine: &Engine, args: GenerateArgs) -> Result<i32, Error> {
    let opts = GenerateOptions {
        is_service: args.service,
        kind: match args.kind.as_str() {
            "deployment" => Kind::Deployment,
            _ => Kind::Pod,
        },
    };
    let yaml = kube::generate::generate(engine, &args.names, &opts)?;
    match &args.filename {
        None => print!("{yaml}"),
        Some(path) => {
            if path.exists() {
                return Err(Error::Usage(format!(
                    "cannot write to {:?}; file exists",
                    path.display().to_string()
                )));
            }
            std::fs::write(path, yaml)
                .map_err(|e| Error::Usage(format!("writing {}: {e}", path.display())))?;
        }
    }
    Ok(0)
}
