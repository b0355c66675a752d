//! `hutch volume create|ls|inspect|rm|prune|exists|export|import|mount|unmount`, the mount flags of
//! `run` and `create` (`-v`, `--mount`, `--tmpfs`, `--volumes-from`) and
//! the `Mounts` of `inspect`.

use std::collections::BTreeMap;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::template::Template;
use crate::container::prune::PruneFilters;
use crate::container::volume_ops::{NewVolume, VolumeInfo, LOCAL_DRIVER};
use crate::container::volumes::VolumeRequest;
use crate::container::Engine;
use crate::error::Error;

/// The mount flags of `run` and `create`.
#[derive(Debug, Args)]
pub struct VolumeArgs {
    /// Bind-mount a host path or mount a volume: SOURCE:DESTINATION[:OPTIONS] (ro, rw, z, Z, U, O, idmap, nosuid, nodev, noexec, rprivate, rslave, rshared…), or DESTINATION for an anonymous volume
    #[arg(short, long, value_name = "[SOURCE:]DESTINATION[:OPTIONS]")]
    pub volume: Vec<String>,
    /// Attach a mount: type=bind|volume|tmpfs|image|devpts,source=…,target=…[,readonly][,bind-propagation=…][,tmpfs-size=…][,tmpfs-mode=…][,volume-opt=…]
    #[arg(long, value_name = "KEY=VALUE[,…]")]
    pub mount: Vec<String>,
    /// Mount a fresh tmpfs: DESTINATION[:size=…,mode=…,uid=…,gid=…,ro,exec…]
    #[arg(long, value_name = "DESTINATION[:OPTIONS]")]
    pub tmpfs: Vec<String>,
    /// Mount the volumes and bind mounts of another container: CONTAINER[:ro|rw]
    #[arg(long, value_name = "CONTAINER[:ro|rw]")]
    pub volumes_from: Vec<String>,
}

impl VolumeArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> VolumeRequest {
        VolumeRequest {
            volume: self.volume.clone(),
            mount: self.mount.clone(),
            tmpfs: self.tmpfs.clone(),
            volumes_from: self.volumes_from.clone(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Show volumes' details as JSON
    Inspect(InspectArgs),
    /// Remove volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove every volume no container uses
    Prune(PruneArgs),
    /// Exit 0 when a volume exists, 1 when it does not
    Exists(ExistsArgs),
    /// Write a volume's files as a tar
    Export(ExportArgs),
    /// Extract a tar into a volume
    Import(ImportArgs),
    /// Mount a volume (under hutch unshare) and print where its files are
    Mount(VolumeMountArgs),
    /// Unmount a volume mounted with volume mount
    Unmount(VolumeMountArgs),
    /// Reload volumes from volume plugins (hutch has none: nothing changes)
    Reload(ReloadArgs),
}

#[derive(Debug, Args)]
pub struct ReloadArgs {}

#[derive(Debug, Args)]
pub struct VolumeMountArgs {
    /// Volume name
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Volume name
    #[arg(value_name = "VOLUME")]
    pub name: String,
    /// Write to this file instead of standard output (which must not be a terminal)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Volume name
    #[arg(value_name = "VOLUME")]
    pub name: String,
    /// The tar (plain, gzip or zstd), or - for standard input
    #[arg(value_name = "FILE")]
    pub file: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Volume name (default: a random id)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Volume driver (only local)
    #[arg(short, long, value_name = "DRIVER", default_value = LOCAL_DRIVER)]
    pub driver: String,
    /// Set a label (KEY=VALUE)
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Driver option: type=tmpfs, o=size=…,mode=… (a tmpfs mounted on each use)
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub opt: Vec<String>,
    /// Do nothing when the volume exists already
    #[arg(long)]
    pub ignore: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print only the names
    #[arg(short, long)]
    pub quiet: bool,
    /// Go template for each volume, such as '{{.Name}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show only volumes matching: name=…, driver=…, label=KEY[=VALUE], dangling=true|false
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Print no header row
    #[arg(long)]
    pub noheading: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Volumes to inspect
    #[arg(value_name = "NAME", required_unless_present = "all")]
    pub names: Vec<String>,
    /// Inspect every volume
    #[arg(short, long)]
    pub all: bool,
    /// Go template for each volume, such as '{{.Mountpoint}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Volumes to remove
    #[arg(value_name = "NAME", required_unless_present = "all")]
    pub names: Vec<String>,
    /// Remove every volume
    #[arg(short, long)]
    pub all: bool,
    /// Also remove the containers using the volume (running ones are killed)
    #[arg(short, long)]
    pub force: bool,
    /// With --force: seconds to let running containers stop after SIGTERM before SIGKILL (default: kill at once)
    #[arg(short, long, value_name = "SECONDS")]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation (hutch never asks; accepted for compatibility)
    #[arg(short, long)]
    pub force: bool,
    /// Prune only volumes matching: label=KEY[=VALUE] (any of them), until=TIME
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    /// Volume name
    #[arg(value_name = "NAME")]
    pub name: String,
}

/// Runs a `volume` subcommand.
pub fn run(engine: &Engine, cmd: VolumeCommand) -> Result<i32, Error> {
    match cmd {
        VolumeCommand::Create(a) => create(engine, a),
        VolumeCommand::Ls(a) => ls(engine, a),
        VolumeCommand::Inspect(a) => inspect(engine, a),
        VolumeCommand::Rm(a) => rm(engine, a),
        VolumeCommand::Prune(a) => prune(engine, a),
        // Volumes come from the local driver only: no plugin adds or
        // removes any, and Podman prints nothing when none changed.
        VolumeCommand::Reload(_) => Ok(0),
        VolumeCommand::Exists(a) => Ok(if engine.volume_exists(&a.name)? { 0 } else { 1 }),
        VolumeCommand::Mount(a) => {
            println!("{}", engine.mount_volume(&a.name)?.display());
            Ok(0)
        }
        VolumeCommand::Unmount(a) => {
            println!("{}", engine.unmount_volume(&a.name)?);
            Ok(0)
        }
        VolumeCommand::Export(a) => {
            super::output::write_to(a.output.as_deref(), "a tar", |out| {
                Ok(engine.export_volume(&a.name, out)?)
            })?;
            Ok(0)
        }
        VolumeCommand::Import(a) => {
            // A missing volume is named before the input is read.
            engine.volume(&a.name)?;
            if a.file == "-" {
                engine.import_volume(&a.name, &mut std::io::stdin().lock())?;
            } else {
                let mut f = std::fs::File::open(&a.file).map_err(|source| {
                    super::ioerr::IoError::OpenInput {
                        path: a.file.clone().into(),
                        source,
                    }
                })?;
                engine.import_volume(&a.name, &mut f)?;
            }
            Ok(0)
        }
    }
}

/// `KEY=VALUE` items of `flag` (a bare `KEY` has an empty value).
pub(super) fn pairs(flag: &str, items: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for item in items {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        if k.is_empty() {
            return Err(Error::Usage(format!(
                "invalid {flag} {item:?}: expected KEY=VALUE"
            )));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

fn create(engine: &Engine, args: CreateArgs) -> Result<i32, Error> {
    if args.driver != LOCAL_DRIVER {
        return Err(Error::Usage(format!(
            "volume driver {:?} is not supported: use local",
            args.driver
        )));
    }
    let options = pairs("--opt", &args.opt)?;
    for (k, v) in &options {
        match (k.as_str(), v.as_str()) {
            ("type", "tmpfs") | ("o", _) => {}
            ("type", other) => {
                return Err(Error::Usage(format!(
                    "volume type {other:?} is not supported: use type=tmpfs or no type"
                )))
            }
            _ => {
                return Err(Error::Usage(format!(
                    "unknown volume option {k:?}: use type=tmpfs and o=…"
                )))
            }
        }
    }
    if options.contains_key("o") && !options.contains_key("type") {
        return Err(Error::Usage(
            "volume option o=… needs type=tmpfs".to_string(),
        ));
    }
    let name = engine.create_volume(NewVolume {
        name: args.name,
        labels: pairs("--label", &args.label)?,
        options,
        is_existing_ok: args.ignore,
    })?;
    println!("{name}");
    Ok(0)
}

/// Podman's inspect object for a volume.
fn volume_json(v: &VolumeInfo) -> Value {
    json!({
        "Name": v.record.name,
        "Driver": v.record.driver,
        "Mountpoint": v.mountpoint,
        "CreatedAt": v.record.created,
        "Labels": v.record.labels,
        "Scope": "local",
        "Options": v.record.options,
        "Anonymous": v.record.is_anonymous,
        "Containers": v.users,
    })
}

/// Whether `labels` match a `label=` filter's `value`: `KEY` (present) or
/// `KEY=VALUE`.
pub(super) fn has_label(labels: &BTreeMap<String, String>, value: &str) -> bool {
    match value.split_once('=') {
        Some((k, want)) => labels.get(k).is_some_and(|have| have == want),
        None => labels.contains_key(value),
    }
}

/// Whether `v` passes every `--filter` (Podman's keys).
fn matches(v: &VolumeInfo, filters: &[(String, String)]) -> Result<bool, Error> {
    for (key, value) in filters {
        let ok = match key.as_str() {
            "name" => v.record.name.contains(value.as_str()),
            "driver" => v.record.driver == *value,
            "label" => has_label(&v.record.labels, value),
            "dangling" => match value.as_str() {
                "true" | "1" => v.users.is_empty(),
                "false" | "0" => !v.users.is_empty(),
                _ => {
                    return Err(Error::Usage(format!(
                        "invalid --filter dangling={value}: use true or false"
                    )))
                }
            },
            _ => {
                return Err(Error::Usage(format!(
                    "unknown --filter {key:?}: use name, driver, label or dangling"
                )))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `--filter KEY=VALUE` items as pairs.
pub(super) fn parse_filters(items: &[String]) -> Result<Vec<(String, String)>, Error> {
    items
        .iter()
        .map(|f| {
            f.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("invalid --filter {f:?}: expected KEY=VALUE")))
        })
        .collect()
}

fn ls(engine: &Engine, args: LsArgs) -> Result<i32, Error> {
    let filters = parse_filters(&args.filter)?;
    let mut shown = Vec::new();
    for v in engine.volumes()? {
        if matches(&v, &filters)? {
            shown.push(v);
        }
    }
    if args.quiet {
        for v in &shown {
            println!("{}", v.record.name);
        }
        return Ok(0);
    }
    let values: Vec<Value> = shown.iter().map(volume_json).collect();
    if args.format.as_deref() == Some("json") {
        // One JSON array, as Podman prints (and `volume inspect` does).
        println!(
            "{}",
            serde_json::to_string_pretty(&values).unwrap_or_default()
        );
        return Ok(0);
    }
    let default = "table {{.Driver}}\t{{.Name}}";
    let titles = [("Name", "VOLUME NAME")];
    super::output::print_rows(&values, args.format, default, &titles, args.noheading)?;
    Ok(0)
}

fn inspect(engine: &Engine, args: InspectArgs) -> Result<i32, Error> {
    let mut missing = Vec::new();
    let found: Vec<VolumeInfo> = if args.all {
        engine.volumes()?
    } else {
        let mut out = Vec::new();
        for n in &args.names {
            match engine.volume_exists(n)? {
                true => out.push(engine.volume(n)?),
                false => missing.push(format!("no such volume {n}")),
            }
        }
        out
    };
    let values: Vec<Value> = found.iter().map(volume_json).collect();
    match args.format.as_deref() {
        None | Some("json") => {
            println!(
                "{}",
                serde_json::to_string_pretty(&values).unwrap_or_default()
            );
        }
        Some(t) => {
            let template = Template::parse_as("inspect", t)?;
            print!("{}", template.render_inspect(&values)?);
        }
    }
    super::inspect::finish(missing)
}

fn rm(engine: &Engine, args: RmArgs) -> Result<i32, Error> {
    let names = engine.volume_removal_targets(args.all, args.names)?;
    let mut code = 0;
    for name in &names {
        let grace = args.time.map(std::time::Duration::from_secs);
        match engine.remove_volume(name, args.force, grace) {
            Ok(()) => println!("{name}"),
            Err(e) => super::report_removal(e, &mut code),
        }
    }
    Ok(code)
}

fn prune(engine: &Engine, args: PruneArgs) -> Result<i32, Error> {
    let _ = args.force;
    let filters = PruneFilters::parse_volumes(&args.filter, super::ps::now_nanos())
        .map_err(|e| Error::Usage(e.to_string()))?;
    engine.prune_volumes(&filters, &mut |name| println!("{name}"))?;
    Ok(0)
}
