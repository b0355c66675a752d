//! `hutch container …`: the container commands grouped as in Podman.
//!
//! Each subcommand reuses the top-level command's arguments and handler;
//! only `prune` exists here alone.

use clap::Subcommand;

use super::{
    attach, cgroups, commit, cp, diff, exec, import, inspect, lifecycle, logs, prune, ps, rename,
    run, top,
};
use crate::container::Engine;
use crate::error::Error;

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
    Create(run::CreateOnlyArgs),
    /// Run a command in a new container
    Run(run::RunArgs),
    /// Start created or exited containers
    Start(lifecycle::StartArgs),
    /// Check and prepare created containers for their start
    Init(super::cleanup::InitArgs),
    /// Clean up what stopped containers left behind
    Cleanup(super::cleanup::CleanupArgs),
    /// Stop and start containers again
    Restart(lifecycle::RestartArgs),
    /// Run a command in a running container
    Exec(exec::ExecArgs),
    /// Attach to a running container's input and output
    Attach(attach::AttachArgs),
    /// Copy files between the host, containers and tar streams
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
    /// Exit 0 when a container exists, 1 when it does not
    Exists(ExistsArgs),
    /// Mount containers' root filesystems (under hutch unshare) and print where
    Mount(super::mount::MountArgs),
    /// Unmount containers' root filesystems
    #[command(visible_alias = "umount")]
    Unmount(super::mount::UnmountArgs),
    /// Create a copy of a container, with another name, image, pod or limits
    Clone(super::clone::CloneArgs),
    /// Run the command an image's label describes
    Runlabel(super::runlabel::RunlabelArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExistsArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Also count containers other tools made in the store (hutch's store
    /// holds only its own, so the answer is the same)
    #[arg(long)]
    pub external: bool,
}

/// Runs one `container` subcommand.
pub fn run(engine: &Engine, command: ContainerCommand) -> Result<i32, Error> {
    match command {
        ContainerCommand::Ls(a) => ps::run(engine, a),
        ContainerCommand::Rm(a) => lifecycle::rm(engine, a),
        ContainerCommand::Stop(a) => lifecycle::stop(engine, a),
        ContainerCommand::Kill(a) => lifecycle::kill(engine, a),
        ContainerCommand::Wait(a) => lifecycle::wait(engine, a),
        ContainerCommand::Logs(a) => logs::run(engine, a),
        ContainerCommand::Inspect(mut a) => {
            // `container inspect` looks at containers only, whatever --type says.
            a.object_type = inspect::ObjectType::Container;
            inspect::run_object(engine, a)
        }
        ContainerCommand::Top(a) => top::run(engine, a),
        ContainerCommand::Rename(a) => rename::run(engine, a),
        ContainerCommand::Port(a) => super::port::run(engine, a),
        ContainerCommand::Prune(a) => prune::run(engine, a),
        ContainerCommand::Create(a) => run::create(engine, a),
        ContainerCommand::Run(a) => run::run(engine, a),
        ContainerCommand::Start(a) => lifecycle::start(engine, a),
        ContainerCommand::Init(a) => super::cleanup::init(engine, a),
        ContainerCommand::Cleanup(a) => super::cleanup::cleanup(engine, a),
        ContainerCommand::Restart(a) => lifecycle::restart(engine, a),
        ContainerCommand::Exec(a) => exec::run(engine, a),
        ContainerCommand::Attach(a) => attach::run(engine, a),
        ContainerCommand::Cp(a) => cp::run(engine, a),
        ContainerCommand::Diff(a) => diff::run(engine, a),
        ContainerCommand::Commit(a) => commit::run(engine, a),
        ContainerCommand::Pause(a) => cgroups::pause(engine, a, true),
        ContainerCommand::Unpause(a) => cgroups::pause(engine, a, false),
        ContainerCommand::Update(a) => cgroups::update(engine, a),
        ContainerCommand::Stats(a) => cgroups::stats(engine, a),
        ContainerCommand::Export(a) => import::export(engine, a),
        ContainerCommand::Mount(a) => super::mount::mount(engine, a),
        ContainerCommand::Unmount(a) => super::mount::unmount(engine, a),
        ContainerCommand::Clone(a) => super::clone::run(engine, a),
        ContainerCommand::Runlabel(a) => super::runlabel::run(engine, a),
        ContainerCommand::Exists(a) => match engine.container_id(&a.container) {
            Ok(_) => Ok(0),
            Err(e) if e.is_missing() => Ok(1),
            Err(e) => Err(e.into()),
        },
    }
}
