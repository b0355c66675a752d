//! `hutch quadlet install|list|rm|sync|print|generate`, and the user
//! generator that a link named `hutch-user-generator` runs (see
//! `crate::quadlet`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;
use crate::paths::Paths;
use crate::quadlet::install::{self, Layout, Report};

/// The name a link to hutch has in a user-generators directory.
pub const GENERATOR_NAME: &str = "hutch-user-generator";

#[derive(Debug, Subcommand)]
pub enum QuadletCommand {
    /// Copy Quadlet files into ~/.config/containers/systemd and install their services
    Install(InstallArgs),
    /// List the Quadlet files and their services
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Remove Quadlet files from ~/.config/containers/systemd and their services
    Rm(RmArgs),
    /// Regenerate every service, removing those whose file is gone
    Sync(SyncArgs),
    /// Print the service generated for a Quadlet file
    Print(PrintArgs),
    /// Generate every service into a directory, as the user generator does
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// Run systemctl --user daemon-reload afterwards
    #[arg(long, value_name = "BOOL", default_value = "true", num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub reload_systemd: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Replace installed files of the same name
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub reload: ReloadArgs,
    /// Quadlet files (.container, .volume, .network, .pod, .kube, .image)
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Go template for each row, such as '{{.Name}} {{.UnitName}}'; json for a JSON array
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Print no header row
    #[arg(long)]
    pub noheading: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub reload: ReloadArgs,
    /// Quadlet files by name (web.container) or service (web.service, web)
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub reload: ReloadArgs,
}

#[derive(Debug, Args)]
pub struct PrintArgs {
    /// A Quadlet file by name (web.container) or service (web.service, web)
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Print the services instead of writing them
    #[arg(long)]
    pub dryrun: bool,
    /// Directory to write the services into (a generator's normal-dir); further ones are ignored
    #[arg(value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

/// The hutch binary the services run.
fn hutch_path() -> String {
    std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "hutch".into())
}

fn layout(paths: &Paths, unit_dir: Option<PathBuf>) -> Layout {
    Layout {
        dirs: paths.quadlet_dirs(),
        user_dir: paths.quadlet_user_dir(),
        unit_dir: unit_dir.unwrap_or_else(|| paths.systemd_user_dir()),
    }
}

/// Runs a `quadlet` subcommand.
pub fn run(paths: &Paths, cmd: QuadletCommand) -> Result<i32, Error> {
    let hutch = hutch_path();
    let lay = layout(paths, None);
    match cmd {
        QuadletCommand::Install(a) => {
            let report = install::install(&lay, &a.files, a.replace, &hutch)?;
            finish(report, a.reload.reload_systemd, false)
        }
        QuadletCommand::Rm(a) => {
            let report = install::remove(&lay, &a.names, &hutch)?;
            finish(report, a.reload.reload_systemd, true)
        }
        QuadletCommand::Sync(a) => {
            finish(install::sync(&lay, &hutch)?, a.reload.reload_systemd, false)
        }
        QuadletCommand::List(a) => list(&lay, &hutch, a),
        QuadletCommand::Print(a) => {
            print!("{}", install::print(&lay, &a.name, &hutch)?.text);
            Ok(0)
        }
        QuadletCommand::Generate(a) => Ok(generate(paths, a.dirs.first().cloned(), a.dryrun)),
    }
}

/// Reports a sync: the services written (or, for `rm`, removed), each
/// failed file as an error line, then reloads the user manager; 125 when
/// anything failed.
fn finish(report: Report, reload: bool, show_removed: bool) -> Result<i32, Error> {
    let shown = if show_removed {
        &report.removed
    } else {
        &report.written
    };
    for s in shown {
        println!("{s}");
    }
    let failed = !report.errors.is_empty();
    for e in report.errors {
        super::report_error(&Error::from(e));
    }
    if reload {
        install::reload()?;
    }
    Ok(if failed { crate::error::EXIT_TOOL } else { 0 })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row {
    name: String,
    unit_name: String,
    path: String,
    status: String,
}

fn list(lay: &Layout, hutch: &str, a: ListArgs) -> Result<i32, Error> {
    let rows: Vec<Row> = install::list(lay, hutch)
        .into_iter()
        .map(|e| Row {
            name: e.name,
            unit_name: e.service,
            path: e.path.to_string_lossy().into_owned(),
            status: e.status,
        })
        .collect();
    if a.format.as_deref() == Some("json") {
        println!("{}", super::json::to_string_4(&rows));
        return Ok(0);
    }
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    let default = "table {{.Name}}\t{{.UnitName}}\t{{.Path}}\t{{.Status}}";
    let titles = [("UnitName", "UNIT NAME"), ("Path", "PATH ON DISK")];
    super::output::print_rows(&rows, a.format, default, &titles, a.noheading)?;
    Ok(0)
}

/// Writes every service into `dir` (or prints them with `dryrun`), each
/// failed file reported on standard error; 1 when any failed.
fn generate(paths: &Paths, dir: Option<PathBuf>, dryrun: bool) -> i32 {
    let hutch = hutch_path();
    let lay = layout(paths, dir.clone());
    let outcome = install::generate_all(&lay, &hutch);
    for e in &outcome.errors {
        eprintln!("hutch-user-generator: {}", crate::error::render_chain(e));
    }
    if dryrun || dir.is_none() {
        for u in &outcome.units {
            println!("---{}---", u.service);
            print!("{}", u.text);
        }
    } else if let Err(e) = install::write_units(&lay.unit_dir, &outcome.units) {
        eprintln!("hutch-user-generator: {}", crate::error::render_chain(&e));
        return 1;
    }
    i32::from(!outcome.errors.is_empty())
}

/// When hutch runs as `hutch-user-generator` (a link in a systemd
/// user-generators directory), the generator's exit code: systemd passes
/// `normal-dir early-dir late-dir` and the services go to the first.
pub fn generator_main() -> Option<i32> {
    let mut args = std::env::args_os();
    let argv0 = PathBuf::from(args.next()?);
    if argv0.file_name()? != GENERATOR_NAME {
        return None;
    }
    let mut dryrun = false;
    let mut dirs = Vec::new();
    for a in args {
        match a.to_str() {
            Some("--dryrun") => dryrun = true,
            _ => dirs.push(PathBuf::from(a)),
        }
    }
    let paths = Paths::new(None, None);
    if dirs.is_empty() && !dryrun {
        eprintln!("{GENERATOR_NAME}: missing the output directory (normal-dir early-dir late-dir)");
        return Some(1);
    }
    Some(generate(&paths, dirs.into_iter().next(), dryrun))
}
