//! `mount`/`unmount` (containers) and `image mount`/`image unmount`:
//! a root filesystem made reachable for scripts run under `hutch unshare`.

use clap::Args;
use serde_json::{json, Value};

use super::pick::{Latest, Pick, Which};
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct MountArgs {
    /// Containers, by name or id (none: list the mounted ones)
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
    /// Mount every container
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub latest: Latest,
    /// With no containers named: json lists the mounted ones as JSON
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show full container ids in the list
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, Args)]
pub struct UnmountArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["all", "latest"])]
    pub containers: Vec<String>,
    /// Unmount every mounted container
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub latest: Latest,
    /// Unmount even if mounted several times (hutch mounts each once, so this changes nothing)
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ImageMountArgs {
    /// Images, by name or id (none: list the mounted images)
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Mount every image
    #[arg(short, long)]
    pub all: bool,
    /// json: print the mounted images as JSON (id, Names, mountpoint)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImageUnmountArgs {
    /// Images, by name or id
    #[arg(value_name = "IMAGE", required_unless_present = "all")]
    pub images: Vec<String>,
    /// Unmount every image
    #[arg(short, long)]
    pub all: bool,
    /// Unmount even if mounted several times (hutch mounts each once, so this changes nothing)
    #[arg(short, long)]
    pub force: bool,
}

/// Refuses a `--format` other than json, in Podman's words.
fn check_format(format: Option<&str>) -> Result<(), Error> {
    match format {
        None | Some("json") => Ok(()),
        Some(_) => Err(Error::Usage(
            "only supported value for '--format' is 'json'".into(),
        )),
    }
}

/// `mount`: mounts the containers and prints where, or lists the mounted
/// ones.
pub fn mount(engine: &Engine, args: MountArgs) -> Result<i32, Error> {
    check_format(args.format.as_deref())?;
    if args.containers.is_empty() && !args.all && !args.latest.latest {
        return list(engine, args.format.is_some(), args.no_trunc);
    }
    let names = Pick {
        names: args.containers,
        all: args.all.then_some(Which::Every),
        latest: args.latest.latest,
        ..Pick::default()
    }
    .resolve(engine)?;
    for name in &names {
        println!("{}", engine.mount_container(name)?.display());
    }
    Ok(0)
}

/// Lists the containers mounted here: `ID  PATH` lines or JSON.
fn list(engine: &Engine, is_json: bool, no_trunc: bool) -> Result<i32, Error> {
    let mounted = engine.mounted_containers()?;
    if is_json {
        let out: Vec<Value> = mounted
            .iter()
            .map(|m| json!({"id": m.id, "Names": [m.name], "mountpoint": m.mountpoint}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(0);
    }
    for m in mounted {
        let id = if no_trunc {
            &m.id[..]
        } else {
            &m.id[..12.min(m.id.len())]
        };
        println!("{id}  {}", m.mountpoint.display());
    }
    Ok(0)
}

/// `unmount`: unmounts the containers, printing each as given.
pub fn unmount(engine: &Engine, args: UnmountArgs) -> Result<i32, Error> {
    let _ = args.force;
    let names = if args.all {
        engine
            .mounted_containers()?
            .into_iter()
            .map(|m| m.id)
            .collect()
    } else {
        Pick {
            names: args.containers,
            latest: args.latest.latest,
            ..Pick::default()
        }
        .resolve(engine)?
    };
    for name in &names {
        engine.unmount_container(name)?;
        println!("{name}");
    }
    Ok(0)
}

/// `image mount`: prints each image's mount point (or, with `--format
/// json`, one JSON list).
pub fn image_mount(engine: &Engine, args: ImageMountArgs) -> Result<i32, Error> {
    check_format(args.format.as_deref())?;
    if !args.all && args.images.is_empty() {
        return list_mounted_images(engine, args.format.is_some());
    }
    let names = match args.all {
        true => engine.image_ids()?,
        false => args.images,
    };
    let mut out = Vec::new();
    for name in &names {
        let (id, path) = engine.mount_image(name)?;
        match args.format {
            Some(_) => out.push(json!({"id": id.hex(), "mountpoint": path})),
            None => println!("{}", path.display()),
        }
    }
    if args.format.is_some() {
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    }
    Ok(0)
}

/// `image unmount`: prints each image's id.
pub fn image_unmount(engine: &Engine, args: ImageUnmountArgs) -> Result<i32, Error> {
    let _ = args.force;
    let names = match args.all {
        true => engine.image_ids()?,
        false => args.images,
    };
    for name in &names {
        let id = engine.unmount_image(name)?;
        println!("{}", id.hex());
    }
    Ok(0)
}

/// `image mount` without arguments: each mounted image (one row per name,
/// its id when it has none) and its mount point, or Podman's JSON.
fn list_mounted_images(engine: &Engine, is_json: bool) -> Result<i32, Error> {
    let images = engine.mounted_images()?;
    if is_json {
        let list: Vec<serde_json::Value> = images
            .iter()
            .map(|i| {
                json!({
                    "id": i.id,
                    "Names": [i.digest],
                    "Repositories": i.names,
                    "mountpoint": i.mountpoint,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return Ok(0);
    }
    let mut rows: Vec<(&str, String)> = Vec::new();
    for i in &images {
        let path = i.mountpoint.display().to_string();
        match i.names.is_empty() {
            true => rows.push((&i.id, path)),
            false => rows.extend(i.names.iter().map(|n| (n.as_str(), path.clone()))),
        }
    }
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    for (name, path) in rows {
        println!("{name:<width$}  {path}");
    }
    Ok(0)
}
