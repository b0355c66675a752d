//! `image prune`, `image mount`/`unmount`, and `system df`, `system prune`,
//! `system reset`: housekeeping of the user's store.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;

use clap::{Args, Subcommand};

use super::images::human_size;
use crate::container;
use crate::container::imagemount;
use crate::container::Engine;
use crate::error::{Error, EXIT_TOOL};
use crate::paths::Paths;
use crate::storage::{ContainerStatus, Digest, Removed, Store};
use crate::userns::{self, IdMaps};

const PROC: &str = "/proc";

#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Remove every image no container uses, not only those without a name
    #[arg(short, long)]
    pub all: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct MountArgs {
    /// The image, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show disk usage of images and containers
    Df(DfArgs),
    /// Remove stopped containers and unused images
    Prune(SystemPruneArgs),
    /// Remove all of the user's images, containers and state
    Reset(ResetArgs),
}

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Output format: table (default) or json
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct SystemPruneArgs {
    /// Remove every image no container uses, not only those without a name
    #[arg(short, long)]
    pub all: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Remove every volume no container uses too
    #[arg(long)]
    pub volumes: bool,
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// Asks `prompt` on stdout and reads one line from stdin; only `y` or
/// `yes` confirm, end of input does not.
fn confirm(prompt: &str) -> Result<bool, Error> {
    let mut out = std::io::stdout();
    let _ = out.write_all(prompt.as_bytes());
    let _ = out.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::Usage(format!("reading the answer from standard input: {e}")))?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Removes the images no container uses: those without names, or with
/// `all` every one. Returns the removed ids and their sizes; failures are
/// reported and make the result `EXIT_TOOL`.
fn prune_images(
    store: &Store,
    all: bool,
    maps: &IdMaps,
) -> Result<(Vec<(Digest, u64)>, i32), Error> {
    let used: HashSet<Digest> = store
        .list_containers()?
        .into_iter()
        .map(|c| c.record.image_id)
        .collect();
    let mut removed = Vec::new();
    let mut code = 0;
    for img in store.list_images()? {
        if used.contains(&img.id) || (!all && !img.names.is_empty()) {
            continue;
        }
        // Name by name: the last one removes the image, and a container
        // created meanwhile still makes it refuse.
        let targets = if img.names.is_empty() {
            vec![img.id.to_string()]
        } else {
            img.names.clone()
        };
        for t in targets {
            match store.remove_image(&t, false, maps) {
                Ok(Removed::Deleted(id)) => removed.push((id, img.size)),
                Ok(Removed::Untagged(_)) => {}
                Err(crate::storage::Error::ImageInUse { .. })
                | Err(crate::storage::Error::ImageNotKnown { .. }) => break,
                Err(e) => {
                    super::report_error(&e.into());
                    code = EXIT_TOOL;
                    break;
                }
            }
        }
    }
    Ok((removed, code))
}

/// `image prune`.
pub fn image_prune(engine: &Engine, args: ImagePruneArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let prompt = if args.all {
        "WARNING! This command removes all images without at least one container associated with them.\nAre you sure you want to continue? [y/N] "
    } else {
        "WARNING! This command removes all dangling images.\nAre you sure you want to continue? [y/N] "
    };
    if !args.force && !confirm(prompt)? {
        return Ok(0);
    }
    let maps = userns::current_user_maps(paths.etc())?;
    let store = Store::open(&paths.root)?;
    let (removed, code) = prune_images(&store, args.all, &maps)?;
    for (id, _) in &removed {
        println!("{}", id.hex());
    }
    Ok(code)
}

/// Removes the containers that are not running; returns their ids and
/// the bytes their writable layers held.
fn prune_containers(store: &Store, maps: &IdMaps) -> Result<(Vec<String>, u64, i32), Error> {
    let mut ids = Vec::new();
    let mut bytes = 0;
    let mut code = 0;
    for info in store.list_containers()? {
        let info = container::observe(store, info)?;
        if info.state.status == ContainerStatus::Running {
            continue;
        }
        let id = info.record.id;
        let size = store.container_upper_size(&id, maps).unwrap_or(0);
        match container::remove(store, &id, false, maps) {
            Ok(()) => {
                ids.push(id);
                bytes += size;
            }
            Err(container::Error::IsRunning(_) | container::Error::NoSuchContainer(_)) => {}
            Err(e) => {
                super::report_error(&e.into());
                code = EXIT_TOOL;
            }
        }
    }
    Ok((ids, bytes, code))
}

/// `system prune`.
pub fn system_prune(engine: &Engine, args: SystemPruneArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let images = if args.all {
        "all images without at least one container associated with them"
    } else {
        "all dangling images"
    };
    let volumes = if args.volumes {
        "\t- all volumes not used by at least one container\n"
    } else {
        ""
    };
    let prompt = format!(
        "WARNING! This command removes:\n\t- all stopped containers\n{volumes}\t- {images}\n\nAre you sure you want to continue? [y/N] "
    );
    if !args.force && !confirm(&prompt)? {
        return Ok(0);
    }
    let maps = userns::current_user_maps(paths.etc())?;
    let store = Store::open(&paths.root)?;
    let (containers, ctr_bytes, c1) = prune_containers(&store, &maps)?;
    // After the containers: volumes of removed containers are unused now.
    let volumes = if args.volumes {
        store.prune_volumes(&maps)?
    } else {
        Vec::new()
    };
    let (images, c2) = prune_images(&store, args.all, &maps)?;
    if !containers.is_empty() {
        println!("Deleted Containers");
        for id in &containers {
            println!("{id}");
        }
    }
    if !volumes.is_empty() {
        println!("Deleted Volumes");
        for name in &volumes {
            println!("{name}");
        }
    }
    if !images.is_empty() {
        println!("Deleted Images");
        for (id, _) in &images {
            println!("{}", id.hex());
        }
    }
    let total: u64 = ctr_bytes + images.iter().map(|(_, s)| s).sum::<u64>();
    println!("Total reclaimed space: {}", human_size(total));
    Ok(c1.max(c2))
}

/// One row of `system df`.
struct Usage {
    kind: &'static str,
    total: usize,
    active: usize,
    size: u64,
    reclaimable: u64,
}

/// `system df`.
pub fn df(engine: &Engine, args: DfArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let maps = userns::current_user_maps(paths.etc())?;
    let store = Store::open(&paths.root)?;
    let containers: Vec<_> = store
        .list_containers()?
        .into_iter()
        .map(|c| container::observe(&store, c))
        .collect::<Result<_, _>>()?;
    let used: HashSet<&Digest> = containers.iter().map(|c| &c.record.image_id).collect();
    let images = store.list_images()?;
    // Shared layers count once.
    let mut seen = HashSet::new();
    let mut img_size = 0;
    let mut img_reclaim = 0;
    for img in &images {
        for l in &img.layers {
            if seen.insert(l.diff_id.clone()) {
                img_size += l.size;
                if !used.contains(&img.id) {
                    img_reclaim += l.size;
                }
            }
        }
    }
    let mut ctr_size = 0;
    let mut ctr_reclaim = 0;
    let mut running = 0;
    for c in &containers {
        let n = store.container_upper_size(&c.record.id, &maps).unwrap_or(0);
        ctr_size += n;
        if c.state.status == ContainerStatus::Running {
            running += 1;
        } else {
            ctr_reclaim += n;
        }
    }
    let rows = [
        Usage {
            kind: "Images",
            total: images.len(),
            active: images.iter().filter(|i| used.contains(&i.id)).count(),
            size: img_size,
            reclaimable: img_reclaim,
        },
        Usage {
            kind: "Containers",
            total: containers.len(),
            active: running,
            size: ctr_size,
            reclaimable: ctr_reclaim,
        },
        Usage {
            kind: "Local Volumes",
            total: 0,
            active: 0,
            size: 0,
            reclaimable: 0,
        },
    ];
    match args.format.as_deref() {
        Some("json") => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "Type": r.kind, "Total": r.total, "Active": r.active,
                        "Size": r.size, "Reclaimable": r.reclaimable,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        None | Some("table") => {
            let mut lines = vec!["TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE".to_string()];
            for r in &rows {
                let pct = (r.reclaimable * 100).checked_div(r.size).unwrap_or(0);
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{} ({pct}%)",
                    r.kind,
                    r.total,
                    r.active,
                    human_size(r.size),
                    human_size(r.reclaimable)
                ));
            }
            print!("{}", super::template::align(&lines));
        }
        Some(other) => {
            return Err(Error::Usage(format!(
                "unknown --format {other:?}: use table or json"
            )))
        }
    }
    Ok(0)
}

/// `system reset`.
pub fn reset(engine: &Engine, args: ResetArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let prompt = format!(
        "WARNING! This will remove:\n\t- all containers\n\t- all images\n\t- the store directory: {:?}\n\t- the run directory: {:?}\nAre you sure you want to continue? [y/N] ",
        paths.root, paths.runroot
    );
    if !args.force && !confirm(&prompt)? {
        return Ok(0);
    }
    let maps = userns::current_user_maps(paths.etc())?;
    if paths.root.exists() {
        let store = Store::open(&paths.root)?;
        for info in store.list_containers()? {
            // Forced: running containers are killed first.
            if let Err(e) = container::remove(&store, &info.record.id, true, &maps) {
                super::warn(&format!(
                    "removing container {}: {}",
                    &info.record.id[..12],
                    crate::error::render_chain(&e)
                ));
            }
        }
    }
    super::pod::stop_all(paths);
    crate::storage::wipe(&paths.root, &paths.runroot, &maps)?;
    Ok(0)
}

/// `image mount`: prints each image's mount point.
pub fn mount(engine: &Engine, args: MountArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    if !imagemount::is_root_in_userns(Path::new(PROC)) {
        return Err(imagemount::Error::NotInUserns.into());
    }
    let store = Store::open(&paths.root)?;
    for name in &args.images {
        let img = find(paths, &store, name)?;
        let path = imagemount::mount_image(&store, &img, Path::new(PROC))?;
        println!("{}", path.display());
    }
    Ok(0)
}

/// `image unmount`: prints each image's id.
pub fn unmount(engine: &Engine, args: MountArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    if !imagemount::is_root_in_userns(Path::new(PROC)) {
        return Err(imagemount::Error::NotInUserns.into());
    }
    let store = Store::open(&paths.root)?;
    for name in &args.images {
        let img = find(paths, &store, name)?;
        imagemount::unmount_image(&store, &img, Path::new(PROC))?;
        println!("{}", img.id.hex());
    }
    Ok(0)
}

fn find(paths: &Paths, store: &Store, name: &str) -> Result<crate::storage::ImageRecord, Error> {
    Ok(
        crate::image::find_local(paths, store, name)?.ok_or_else(|| {
            crate::storage::Error::ImageNotKnown {
                name: name.to_string(),
            }
        })?,
    )
}
