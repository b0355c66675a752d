//! `image prune`, `image mount`/`unmount`, and `system df`, `system prune`,
//! `system reset`: housekeeping of the user's store.

use std::io::{BufRead, Write};

use clap::{Args, Subcommand};

use super::images::human_size;
use crate::container::system::DiskUsage;
use crate::container::Engine;
use crate::error::{Error, EXIT_TOOL};

#[derive(Debug, Args)]
pub struct ImagePruneArgs {
    /// Remove every image no container uses, not only those without a name
    #[arg(short, long)]
    pub all: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Prune only images matching KEY=VALUE (images --filter's keys: reference, dangling, before, since, label, label!, until; repeatable)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Also remove what containers hutch has no record of left in the store, and the debris of interrupted commands
    #[arg(long)]
    pub external: bool,
}

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Check the store: database against files; --repair fixes what is safe
    Check(super::check::CheckArgs),
    /// Show disk usage of images, containers and debris
    Df(DfArgs),
    /// Remove stopped containers, unused images and debris
    Prune(SystemPruneArgs),
    /// Remove all of the user's images, containers and state
    Reset(ResetArgs),
    /// Show how hutch sees this host
    Info(super::info::InfoArgs),
    /// Bring the store up to this version of hutch now (it also happens on first use)
    Migrate(MigrateArgs),
    /// Serve the Docker Engine REST API on a unix socket until idle
    Service(super::service::ServiceArgs),
    /// Renumber locks (hutch locks each container with its own file: nothing to do)
    Renumber(MigrateArgs),
    /// Manage the destinations of Podman API services that remote clients use
    #[command(subcommand)]
    Connection(super::connection::ConnectionCommand),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {}

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Output format: table (default) or json
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// List each image, container and volume with its space (--format is then ignored, as in Podman)
    #[arg(short, long)]
    pub verbose: bool,
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
    /// Prune only what matches KEY=VALUE: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (repeatable)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
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
        .map_err(|source| super::ioerr::IoError::ReadStdin {
            what: "the answer",
            source,
        })?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// `image prune`.
pub fn image_prune(engine: &Engine, args: ImagePruneArgs) -> Result<i32, Error> {
    let mut filters = super::image_filter::parse(&args.filter)?;
    if !args.all {
        // Only dangling images, as if the filter said so (Podman adds it).
        filters.push(crate::container::images::ImageFilter::Dangling(true));
        super::image_filter::check_dangling(&filters)?;
    }
    let prompt = if args.all {
        "WARNING! This command removes all images without at least one container associated with them.\nAre you sure you want to continue? [y/N] "
    } else {
        "WARNING! This command removes all dangling images.\nAre you sure you want to continue? [y/N] "
    };
    if !args.force && !confirm(prompt)? {
        return Ok(0);
    }
    let mut code = 0;
    if args.external {
        engine.prune_external()?;
    }
    let removed = engine.prune_images(args.all, &filters, &mut |e| {
        super::report_error(&e.into());
        code = EXIT_TOOL;
    })?;
    for (id, _) in &removed {
        println!("{}", id.hex());
    }
    Ok(code)
}

/// `system prune`.
pub fn system_prune(engine: &Engine, args: SystemPruneArgs) -> Result<i32, Error> {
    // Every filter checked for every kind it applies to before anything
    // goes: containers and volumes by label, label! and until, images by
    // the same keys as `image prune --filter` reads them.
    let filters = super::prune::parse_filters(&args.filter)?;
    let usage = |e: crate::container::prune::FilterError| Error::Usage(e.to_string());
    filters.check_containers().map_err(usage)?;
    if args.volumes {
        filters.check_volumes().map_err(usage)?;
    }
    let image_filters = super::image_filter::parse(&args.filter)?;
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
        "WARNING! This command removes:\n\t- all stopped containers\n{volumes}\t- {images}\n\t- what interrupted commands left in the store\n\nAre you sure you want to continue? [y/N] "
    );
    if !args.force && !confirm(&prompt)? {
        return Ok(0);
    }
    let mut code = 0;
    // First, while this process writes nothing: what interrupted commands
    // left (a write session of its own would make it wait for the next).
    let debris = match engine.prune_debris() {
        Ok(d) => d.iter().map(|d| d.size).sum(),
        Err(e) => {
            super::report_error(&e.into());
            code = EXIT_TOOL;
            0
        }
    };
    let mut report = |e: crate::container::Error| {
        super::report_error(&e.into());
        code = EXIT_TOOL;
    };
    let containers = engine.prune_containers_sized(&filters, &mut report)?;
    // After the containers: volumes of removed containers are unused now.
    let volumes = if args.volumes {
        engine.prune_unused_volumes(&filters)?
    } else {
        Vec::new()
    };
    let images = engine.prune_images(args.all, &image_filters, &mut report)?;
    if !containers.ids.is_empty() {
        println!("Deleted Containers");
        for id in &containers.ids {
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
    let total: u64 = debris + containers.bytes + images.iter().map(|(_, s)| s).sum::<u64>();
    println!("Total reclaimed space: {}", human_size(total));
    Ok(code)
}

/// `system df`.
pub fn df(engine: &Engine, args: DfArgs) -> Result<i32, Error> {
    let usage = engine.disk_usage()?;
    if args.verbose {
        print!("{}", verbose(&usage, super::units::now_nanos()));
        return Ok(0);
    }
    let human_size = super::units::human_size;
    let rows = [
        ("Images", usage.images),
        ("Containers", usage.containers),
        ("Local Volumes", usage.volumes),
        // What interrupted commands left: temporary files, blobs and
        // layers no image uses, trash (not in Podman's table).
        ("Debris", usage.debris),
    ];
    match args.format.as_deref() {
        Some("json") => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|(kind, r)| {
                    serde_json::json!({
                        "Type": kind, "Total": r.total, "Active": r.active,
                        "Size": r.size, "Reclaimable": r.reclaimable,
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        None | Some("table") => {
            let mut lines = vec!["TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE".to_string()];
            for (kind, r) in &rows {
                let pct = (r.reclaimable * 100).checked_div(r.size).unwrap_or(0);
                lines.push(format!(
                    "{}\t{}\t{}\t{}\t{} ({pct}%)",
                    kind,
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

/// `system df --verbose`: Podman's three tables, aligned as one text
/// (its titles end each table's columns), ages as of `now`.
fn verbose(usage: &DiskUsage, now: i64) -> String {
    use super::units::{human_duration, human_size};
    let age = |t: &str| {
        crate::container::logread::parse_timestamp(t)
            .map(|t| human_duration(now - t))
            .unwrap_or_default()
    };
    let short = |id: &str| id.chars().take(12).collect::<String>();
    let mut lines = vec![
        "Images space usage:".to_string(),
        String::new(),
        "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS".into(),
    ];
    for img in &usage.image_rows {
        let none = vec![String::new()];
        let names = if img.names.is_empty() {
            &none
        } else {
            &img.names
        };
        for name in names {
            let (repo, tag) = if name.is_empty() {
                ("<none>".to_string(), "<none>".to_string())
            } else {
                super::images::split_name(name)
            };
            lines.push(format!(
                "{repo}\t{tag}\t{}\t{}\t{}\t{}\t{}\t{}",
                short(&img.id),
                img.created.as_deref().map(age).unwrap_or_default(),
                human_size(img.size),
                human_size(img.shared),
                human_size(img.unique),
                img.containers
            ));
        }
    }
    lines.extend([
        String::new(),
        "Containers space usage:".into(),
        String::new(),
        "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES".into(),
    ]);
    for c in &usage.container_rows {
        lines.push(format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            short(&c.id),
            short(&c.image_id),
            c.command.join(" "),
            c.volumes,
            human_size(c.size),
            age(&c.created),
            crate::container::state_name(c.status),
            c.name
        ));
    }
    lines.extend([
        String::new(),
        "Local Volumes space usage:".into(),
        String::new(),
        "VOLUME NAME\tLINKS\tSIZE".into(),
    ]);
    for v in &usage.volume_rows {
        lines.push(format!("{}\t{}\t{}", v.name, v.links, human_size(v.size)));
    }
    super::template::align(&lines)
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
    // Forced: running containers are killed first.
    engine.remove_all_containers(&mut |id, e| {
        super::warn(&format!(
            "removing container {id}: {}",
            crate::error::render_chain(&e)
        ));
    })?;
    super::pod::stop_all(paths);
    engine.wipe()?;
    Ok(0)
}
