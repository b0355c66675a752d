//! `hutch container …`: the container commands grouped as in Podman.
//!
//! Each subcommand reuses the top-level command's arguments and handler;
//! only `prune` exists here alone.
// TODO(#8): add create, start, restart, exec, cp, diff and commit once
// they exist as top-level commands.

use clap::Subcommand;

use super::{inspect, lifecycle, logs, prune, ps, rename, top};
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
    /// Remove all containers that are not running
    Prune(prune::PruneArgs),
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
        ContainerCommand::Prune(a) => prune::run(paths, a),
    }
}
