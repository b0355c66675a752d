//! `hutch pod …`: the pod commands, the hidden infra monitor, and `--pod`
//! for `run` and `create`. `pod create` and `pod inspect` are in
//! `pod_create`, `pod clone` in `pod_clone`, `pod ps`, `top`, `stats` and
//! `logs` in `pod_ps`.
//!
//! Commands taking several pods look every pod up first (one that does
//! not exist fails the command before any pod is touched, as in Podman),
//! then act on each: the ids done are printed, then the failures, the last
//! one as the command's error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};

use super::pod_create::{CreateArgs, InspectArgs};
use super::pod_ps::{LogsArgs, PsArgs, StatsArgs, TopArgs};
use crate::container::pod;
use crate::container::pod_ops::{PodOutcome, PodSelection};
use crate::container::query::ContainerInfo;
use crate::container::Engine;
use crate::container::{self};
use crate::error::{render_chain, Error};
use crate::paths::Paths;

/// The proc root.
const PROC: &str = "/proc";

/// The question `pod prune` asks without `--force`, as Podman asks it.
const PRUNE_PROMPT: &str = "WARNING! This will remove all stopped/exited pods..\n\
                            Are you sure you want to continue? [y/N] ";

/// `--pod` of `run` and `create`.
#[derive(Debug, Args)]
pub struct PodArgs {
    /// Run the container in this pod (new:NAME creates it first), sharing its user, network, UTS and IPC namespaces
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,
}

// One value per process, parsed once: boxing `create`'s arguments buys
// nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum PodCommand {
    /// Create a pod (started by pod start or its first container)
    Create(CreateArgs),
    /// Copy a pod and its containers
    Clone(super::pod_clone::CloneArgs),
    /// List pods
    #[command(visible_alias = "ls", visible_alias = "list")]
    Ps(PsArgs),
    /// Start pods and their containers
    Start(StartArgs),
    /// Stop pods' containers, then their infra processes
    Stop(StopArgs),
    /// Stop pods and start them again
    Restart(SelectArgs),
    /// Send a signal to the containers of pods
    Kill(KillArgs),
    /// Pause the containers of pods
    Pause(SelectArgs),
    /// Unpause the containers of pods
    Unpause(SelectArgs),
    /// Remove pods
    Rm(RmArgs),
    /// Remove every stopped pod with its containers
    Prune(PruneArgs),
    /// Show pods' details as JSON or a Go template
    Inspect(InspectArgs),
    /// Exit 0 when a pod exists, 1 when it does not
    Exists(ExistsArgs),
    /// Show the processes of a pod's containers
    Top(TopArgs),
    /// Show resource usage of pods' containers
    Stats(StatsArgs),
    /// Show the output of a pod's containers
    Logs(LogsArgs),
}

/// Which pods: names, `--all` or `--latest`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Pod names or ids
    #[arg(value_name = "POD")]
    pub pods: Vec<String>,
    /// Act on every pod
    #[arg(short, long)]
    pub all: bool,
    /// Act on the pod created last
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Read a pod's id from FILE (repeatable)
    #[arg(long, value_name = "FILE")]
    pub pod_id_file: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Read a pod's id from FILE (repeatable)
    #[arg(long, value_name = "FILE")]
    pub pod_id_file: Vec<PathBuf>,
    /// Leave out pods that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Seconds to wait after each container's stop signal before SIGKILL
    #[arg(short, long, value_name = "SECONDS", default_value_t = 10)]
    pub time: u64,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Read a pod's id from FILE (repeatable)
    #[arg(long, value_name = "FILE")]
    pub pod_id_file: Vec<PathBuf>,
    /// Stop and remove running pods and their containers; pods that do not exist are left out
    #[arg(short, long)]
    pub force: bool,
    /// Leave out pods that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// With --force: seconds to wait after each container's stop signal before SIGKILL
    #[arg(short, long, value_name = "SECONDS")]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    #[command(flatten)]
    pub select: SelectArgs,
    /// Signal to send (name such as TERM or SIGTERM, or number)
    #[arg(short, long, value_name = "SIGNAL", default_value = "KILL")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
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
        PodCommand::Create(a) => super::pod_create::create(engine, a),
        PodCommand::Clone(a) => super::pod_clone::run(engine, a),
        PodCommand::Ps(a) => super::pod_ps::ps(engine, a),
        PodCommand::Start(a) => {
            let ids = select(engine, &a.select, &a.pod_id_file, false)?;
            report(ids.iter().map(|id| engine.start_pod(id).map(Some)))
        }
        PodCommand::Stop(a) => {
            let ids = select(engine, &a.select, &a.pod_id_file, a.ignore)?;
            let time = Duration::from_secs(a.time);
            report(ids.iter().map(|id| engine.stop_pod(id, time).map(Some)))
        }
        PodCommand::Restart(a) => {
            let ids = select(engine, &a, &[], false)?;
            report(ids.iter().map(|id| engine.restart_pod(id).map(Some)))
        }
        PodCommand::Kill(a) => {
            let sig = container::parse_signal(&a.signal)?;
            let ids = select(engine, &a.select, &[], false)?;
            report(ids.iter().map(|id| engine.kill_pod(id, sig).map(Some)))
        }
        PodCommand::Pause(a) => {
            let ids = select(engine, &a, &[], false)?;
            report(ids.iter().map(|id| engine.pause_pod(id, true)))
        }
        PodCommand::Unpause(a) => {
            let ids = select(engine, &a, &[], false)?;
            report(ids.iter().map(|id| engine.pause_pod(id, false)))
        }
        PodCommand::Rm(a) => rm(engine, a),
        PodCommand::Prune(a) => prune(engine, a),
        PodCommand::Inspect(a) => super::pod_create::inspect(engine, a),
        PodCommand::Exists(a) => Ok(if engine.pod_exists(&a.pod)? { 0 } else { 1 }),
        PodCommand::Top(a) => super::pod_ps::top(engine, a),
        PodCommand::Stats(a) => super::pod_ps::stats(engine, a),
        PodCommand::Logs(a) => super::pod_ps::logs(engine, a),
    }
}

/// Checks names, `--all`, `--latest` and `--pod-id-file` against each
/// other as Podman does, with its messages.
fn check_selection(sel: &SelectArgs, id_files: &[PathBuf]) -> Result<(), Error> {
    let usage = |m: &str| Err(Error::Usage(m.to_string()));
    let is_id_file = !id_files.is_empty();
    if is_id_file && (sel.all || sel.latest) {
        return usage("--all, --latest, and --pod-id-file cannot be used together");
    }
    if sel.all && sel.latest {
        return usage("--all and --latest cannot be used together");
    }
    if !sel.pods.is_empty() && sel.all {
        return usage("no arguments are needed with --all");
    }
    if !sel.pods.is_empty() && sel.latest {
        return usage("--latest and containers cannot be used together");
    }
    if !sel.pods.is_empty() && is_id_file {
        return usage("no arguments are needed with --latest or --pod-id-file");
    }
    if sel.pods.is_empty() && !sel.all && !sel.latest && !is_id_file {
        return usage("you must provide at least one name or id");
    }
    Ok(())
}

/// The ids of the pods a command acts on (see `Engine::select_pods`),
/// after Podman's checks of the arguments; `id_files` are read for more
/// names.
fn select(
    engine: &Engine,
    sel: &SelectArgs,
    id_files: &[PathBuf],
    is_ignoring: bool,
) -> Result<Vec<String>, Error> {
    select_coded(engine, sel, id_files, is_ignoring, crate::error::EXIT_TOOL)
}

/// `select`, exiting with `missing_code` when a pod does not exist.
fn select_coded(
    engine: &Engine,
    sel: &SelectArgs,
    id_files: &[PathBuf],
    is_ignoring: bool,
    missing_code: i32,
) -> Result<Vec<String>, Error> {
    check_selection(sel, id_files)?;
    let mut names = sel.pods.clone();
    for file in id_files {
        let id = std::fs::read_to_string(file)
            .map_err(|e| Error::Usage(format!("reading pod ID file {}: {e}", file.display())))?;
        names.push(id.trim().to_string());
    }
    let selection = PodSelection {
        names,
        is_all: sel.all,
        is_latest: sel.latest,
        is_ignoring,
    };
    engine.select_pods(&selection).map_err(|e| match e {
        container::Error::Pod(pod::Error::NoSuchPod(_) | pod::Error::NoPods) => {
            Error::from(e).with_code(missing_code)
        }
        e => e.into(),
    })
}

/// Prints the id of each pod done; of the failures, every one but the
/// last is printed and the last returned. `None`: a pod left out.
fn report(
    outcomes: impl Iterator<Item = Result<Option<PodOutcome>, container::Error>>,
) -> Result<i32, Error> {
    let mut failures: Vec<Error> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(Some(o)) if o.failures.is_empty() => println!("{}", o.id),
            Ok(Some(o)) => failures.extend(o.failures.into_iter().map(Error::from)),
            Ok(None) => {}
            Err(e) => failures.push(e.into()),
        }
    }
    let _ = std::io::stdout().flush();
    match failures.pop() {
        None => Ok(0),
        Some(last) => {
            for e in &failures {
                super::report_error(e);
            }
            Err(last)
        }
    }
}

/// `pod rm`: a pod that does not exist fails with exit status 1, unless
/// `--ignore` or `--force` leave it out.
fn rm(engine: &Engine, args: RmArgs) -> Result<i32, Error> {
    if args.time.is_some() && !args.force {
        return Err(Error::Usage(
            "--force option must be specified to use the --time option".into(),
        ));
    }
    let is_ignoring = args.ignore || args.force;
    let ids = select_coded(engine, &args.select, &args.pod_id_file, is_ignoring, 1)?;
    let time = args.time.map(Duration::from_secs);
    let mut failures = Vec::new();
    for id in &ids {
        match engine.remove_pod(id, args.force, time) {
            Ok(id) => println!("{id}"),
            // Removed meanwhile.
            Err(container::Error::Pod(pod::Error::NoSuchPod(_))) if is_ignoring => {}
            Err(e) => failures.push(e.into()),
        }
    }
    match failures.pop() {
        None => Ok(0),
        Some(last) => {
            for e in &failures {
                super::report_error(e);
            }
            Err(last)
        }
    }
}

/// `pod prune`: removes every stopped pod and prints its id.
fn prune(engine: &Engine, args: PruneArgs) -> Result<i32, Error> {
    if !args.force && !super::prune::confirm(PRUNE_PROMPT)? {
        return Ok(0);
    }
    let mut code = 0;
    engine.prune_pods(&mut |removed| match removed {
        Ok(id) => println!("{id}"),
        Err(e) => {
            super::report_error(&e.into());
            code = crate::error::EXIT_TOOL;
        }
    })?;
    Ok(code)
}

/// The pod a single-pod command (`top`, `logs`, `inspect -l`) names: the
/// one given, or with `latest` the pod created last.
pub(super) fn one_pod(engine: &Engine, name: Option<&str>, latest: bool) -> Result<String, Error> {
    let sel = PodSelection {
        names: name.map(str::to_string).into_iter().collect(),
        is_latest: latest,
        ..PodSelection::default()
    };
    let ids = engine.select_pods(&sel)?;
    Ok(ids.into_iter().next().unwrap_or_default())
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
        Err(e) => Ok(Error::from(container::Error::from(e)).exit_code()),
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

/// For `system reset`: stops the infra of every pod and removes its
/// cgroup (their members are gone already), warning about any that will
/// not go.
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
        if let Err(e) = p.release_cgroup() {
            super::warn(&format!(
                "removing the cgroup of pod {}: {}",
                p.name,
                render_chain(&e)
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(pods: &[&str], all: bool, latest: bool) -> SelectArgs {
        SelectArgs {
            pods: pods.iter().map(|s| s.to_string()).collect(),
            all,
            latest,
        }
    }

    #[test]
    fn selections_are_checked_with_podmans_messages() {
        let msg = |s: &SelectArgs, files: &[PathBuf]| match check_selection(s, files) {
            Err(Error::Usage(m)) => m,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            msg(&sel(&[], false, false), &[]),
            "you must provide at least one name or id"
        );
        assert_eq!(
            msg(&sel(&["p"], true, false), &[]),
            "no arguments are needed with --all"
        );
        assert_eq!(
            msg(&sel(&[], true, true), &[]),
            "--all and --latest cannot be used together"
        );
        assert_eq!(
            msg(&sel(&["p"], false, true), &[]),
            "--latest and containers cannot be used together"
        );
        let file = [PathBuf::from("/x")];
        assert_eq!(
            msg(&sel(&["p"], false, false), &file),
            "no arguments are needed with --latest or --pod-id-file"
        );
        assert_eq!(
            msg(&sel(&[], true, false), &file),
            "--all, --latest, and --pod-id-file cannot be used together"
        );
        assert!(check_selection(&sel(&[], false, false), &file).is_ok());
        assert!(check_selection(&sel(&["a", "b"], false, false), &[]).is_ok());
        assert!(check_selection(&sel(&[], true, false), &[]).is_ok());
    }
}
