//! Health checks (#14): the `--health-*` flags of `run` and `create`,
//! `hutch healthcheck run`, and the hidden helper that keeps a foreground
//! container's check timer.

use clap::{Args, Subcommand};

use crate::container::health::HealthRequest;
use crate::container::Engine;
use crate::error::Error;

/// The health check flags of `run` and `create`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Health check command: run by /bin/sh -c, or a JSON array of argv; 'none' disables the image's
    #[arg(long, value_name = "COMMAND")]
    pub health_cmd: Option<String>,
    /// Time between health checks, as 30s or 1m (default 30s); 'disable' schedules none
    #[arg(long, value_name = "INTERVAL")]
    pub health_interval: Option<String>,
    /// Failed checks in a row that make the container unhealthy (default 3)
    #[arg(long, value_name = "N")]
    pub health_retries: Option<u32>,
    /// Time after a start in which failed checks do not count (default 0s)
    #[arg(long, value_name = "PERIOD")]
    pub health_start_period: Option<String>,
    /// The longest a check may run before it is killed and fails (default 30s)
    #[arg(long, value_name = "TIMEOUT")]
    pub health_timeout: Option<String>,
    /// What happens once the container turns unhealthy: none (default), kill, restart or stop
    #[arg(long, value_name = "ACTION")]
    pub health_on_failure: Option<String>,
    /// No health check, not even the image's
    #[arg(long)]
    pub no_healthcheck: bool,
}

impl HealthArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> HealthRequest {
        HealthRequest {
            cmd: self.health_cmd.clone(),
            interval: self.health_interval.clone(),
            retries: self.health_retries,
            start_period: self.health_start_period.clone(),
            timeout: self.health_timeout.clone(),
            on_failure: self.health_on_failure.clone(),
            no_healthcheck: self.no_healthcheck,
        }
    }
}

/// `hutch healthcheck`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum HealthcheckCommand {
    /// Run a container's health check now
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// The hidden `container-health ID` helper of a foreground `run`.
#[derive(Debug, Args)]
pub struct HelperArgs {
    /// The container whose checks to schedule
    pub id: String,
}

/// Runs `hutch healthcheck` commands.
pub fn run(engine: &Engine, command: HealthcheckCommand) -> Result<i32, Error> {
    match command {
        HealthcheckCommand::Run(args) => check(engine, &args.container),
    }
}

/// `healthcheck run`: as Podman, nothing and 0 when the check passes,
/// `unhealthy` and 1 when it fails.
fn check(engine: &Engine, name: &str) -> Result<i32, Error> {
    if engine.run_healthcheck(name)? {
        return Ok(0);
    }
    println!("unhealthy");
    Ok(1)
}

/// The hidden helper: keeps the timer until its `run` ends.
pub fn helper(engine: &Engine, args: HelperArgs) -> Result<i32, Error> {
    engine.keep_health_timer(&args.id)?;
    Ok(0)
}
