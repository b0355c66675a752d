//! `hutch stop`, `kill`, `rm`, `wait` and the hidden monitor entry point.
//! TODO(#8): implemented by the lifecycle work.

use clap::Args;

use crate::error::Error;
use crate::paths::Paths;

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Containers, by name or id
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
    /// Seconds to wait after the stop signal before SIGKILL
    #[arg(short = 't', long = "time", value_name = "SECONDS", default_value_t = 10)]
    pub time: u64,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Containers, by name or id
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
    /// Signal to send (name such as TERM or SIGTERM, or number)
    #[arg(short, long, value_name = "SIGNAL", default_value = "KILL")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present = "all")]
    pub containers: Vec<String>,
    /// Kill running containers first
    #[arg(short, long)]
    pub force: bool,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Also remove anonymous volumes (there are none yet; accepted for compatibility)
    #[arg(short, long)]
    pub volumes: bool,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Containers, by name or id
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
    /// Condition to wait for: stopped (default) or exited
    #[arg(long, value_name = "CONDITION", default_value = "stopped")]
    pub condition: String,
}

#[derive(Debug, Args)]
pub struct MonitorArgs {
    /// The container to start and watch
    pub id: String,
}

/// Stops containers.
pub fn stop(paths: &Paths, args: StopArgs) -> Result<i32, Error> {
    let _ = (paths, args);
    Err(Error::Usage("stop: not implemented yet".into()))
}

/// Sends a signal to containers.
pub fn kill(paths: &Paths, args: KillArgs) -> Result<i32, Error> {
    let _ = (paths, args);
    Err(Error::Usage("kill: not implemented yet".into()))
}

/// Removes containers.
pub fn rm(paths: &Paths, args: RmArgs) -> Result<i32, Error> {
    let _ = (paths, args);
    Err(Error::Usage("rm: not implemented yet".into()))
}

/// Waits for containers and prints their exit codes.
pub fn wait(paths: &Paths, args: WaitArgs) -> Result<i32, Error> {
    let _ = (paths, args);
    Err(Error::Usage("wait: not implemented yet".into()))
}

/// The detached monitor: starts the container and watches it.
pub fn monitor(paths: &Paths, args: MonitorArgs) -> Result<i32, Error> {
    let _ = (paths, args);
    Err(Error::Usage("monitor: not implemented yet".into()))
}
