//! `hutch container …`: the container commands grouped as in Podman.
//!
//! Each subcommand reuses the top-level command's arguments and handler;
//! only `prune` exists here alone.

use clap::Subcommand;

use super::{
    attach, cgroups, commit, cp, diff, exec, import, inspect, lifecycle, logs, prune, ps, rename,
    run, top,
};
use crate::error::Error;
use crate::paths::Paths;

#[derive(Debug, Subcommand)]
pub enum ContainerCommand {
    /// List containers
    #[command(visible_aliases = ["list", "ps"])]
    Ls(ps::PsArgs),
    /// Remove containers
    Rm(lifecycle::RmArgs),
    /// Stop running containers
    Stop(lifecycle::StopArgs),
    /// Send a signal to running containers
    Kill(lifecycle::KillArgs),
    /// Wait for containers to exit and print their exit codes
    Wait(lifecycle::WaitArgs),
    /// Show a container's output
    Logs(logs::LogsArgs),
    /// Show details of containers
    Inspect(inspect::InspectObjectArgs),
    /// Show the processes of a running container
    Top(top::TopArgs),
    /// Give a container a new name
    Rename(rename::RenameArgs),
    /// List a container's published ports
    Port(super::port::PortArgs),
    /// Remove all containers that are not running
    Prune(prune::PruneArgs),
    /// Create a container without starting it
    #[command(mut_arg("detach", |a| a.hide(true)))]
    Create(run::RunArgs),
    /// Start created or exited containers
    Start(lifecycle::StartArgs),
    /// Stop and start containers again
    Restart(lifecycle::RestartArgs),
    /// Run a command in a running container
    Exec(exec::ExecArgs),
    /// Attach to a running container's input and output
    Attach(attach::AttachArgs),
    /// Copy files between the host and a container
    Cp(cp::CpArgs),
    /// Show what a container changed compared with its image
    Diff(diff::DiffArgs),
    /// Create a new image from a container's changes
    Commit(commit::CommitArgs),
    /// Pause the processes of running containers
    Pause(cgroups::PauseArgs),
    /// Resume paused containers
    Unpause(cgroups::PauseArgs),
    /// Change the resource limits of a container
    Update(cgroups::UpdateArgs),
    /// Show resource usage of running containers
    Stats(cgroups::StatsArgs),
    /// Export a container's filesystem as a tarball
    Export(import::ExportArgs),
}

/// Runs one `container` subcommand.
pub fn run(paths: &Paths, command: ContainerCommand) -> Result<i32, Error> {
    match command {
        ContainerCommand::Ls(a) => ps::run(paths, a),
        ContainerCommand::Rm(a) => lifecycle::rm(paths, a),
        ContainerCommand::Stop(a) => lifecycle::stop(paths, a),
        ContainerCommand::Kill(a) => lifecycle::kill(paths, a),
        ContainerCommand::Wait(a) => lifecycle::wait(paths, a),
        ContainerCommand::Logs(a) => logs::run(paths, a),
        ContainerCommand::Inspect(mut a) => {
            // `container inspect` looks at containers only, whatever --type says.
            a.object_type = inspect::ObjectType::Container;
            inspect::run_object(paths, a)
        }
        ContainerCommand::Top(a) => top::run(paths, a),
        ContainerCommand::Rename(a) => rename::run(paths, a),
        ContainerCommand::Port(a) => super::port::run(paths, a),
        ContainerCommand::Prune(a) => prune::run(paths, a),
        ContainerCommand::Create(a) => run::create(paths, a),
        ContainerCommand::Start(a) => lifecycle::start(paths, a),
        ContainerCommand::Restart(a) => lifecycle::restart(paths, a),
        ContainerCommand::Exec(a) => exec::run(paths, a),
        ContainerCommand::Attach(a) => attach::run(paths, a),
        ContainerCommand::Cp(a) => cp::run(paths, a),
        ContainerCommand::Diff(a) => diff::run(paths, a),
        ContainerCommand::Commit(a) => commit::run(paths, a),
        ContainerCommand::Pause(a) => cgroups::pause(paths, a, true),
        ContainerCommand::Unpause(a) => cgroups::pause(paths, a, false),
        ContainerCommand::Update(a) => cgroups::update(paths, a),
        ContainerCommand::Stats(a) => cgroups::stats(paths, a),
        ContainerCommand::Export(a) => import::export(paths, a),
    }
}
