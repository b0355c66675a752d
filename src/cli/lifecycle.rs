//! `hutch stop`, `kill`, `rm`, `wait` and the hidden monitor entry point.
//!
//! Commands taking several containers act on each in turn; a failure is
//! reported and the rest still run, and the exit code is 125 if any failed
//! (as in Podman).

use std::io::Write;
use std::time::Duration;

use clap::Args;

use crate::container;
use crate::error::{render_chain, Error, EXIT_TOOL};
use crate::paths::Paths;
use crate::storage::Store;
use crate::userns;

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Containers, by name or id
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
    /// Seconds to wait after the stop signal before SIGKILL
    #[arg(
        short = 't',
        long = "time",
        value_name = "SECONDS",
        default_value_t = 10
    )]
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

/// Runs `act` for each of `names`, printing the name as given on success
/// and the error otherwise; one container's error is returned as is.
fn for_each(
    names: &[String],
    mut act: impl FnMut(&str) -> Result<(), Error>,
) -> Result<i32, Error> {
    let mut code = 0;
    for name in names {
        match act(name) {
            Ok(()) => println!("{name}"),
            Err(e) if names.len() == 1 => return Err(e),
            Err(e) => {
                super::report_error(&e);
                code = EXIT_TOOL;
            }
        }
    }
    Ok(code)
}

/// Stops containers.
pub fn stop(paths: &Paths, args: StopArgs) -> Result<i32, Error> {
    let store = Store::open(&paths.root)?;
    let timeout = Duration::from_secs(args.time);
    for_each(&args.containers, |name| {
        Ok(container::stop(&store, name, timeout)?)
    })
}

/// Sends a signal to containers.
pub fn kill(paths: &Paths, args: KillArgs) -> Result<i32, Error> {
    let sig = container::parse_signal(&args.signal)?;
    let store = Store::open(&paths.root)?;
    for_each(&args.containers, |name| {
        Ok(container::kill(&store, name, sig)?)
    })
}

/// Removes containers.
pub fn rm(paths: &Paths, args: RmArgs) -> Result<i32, Error> {
    let _ = args.volumes;
    let maps = userns::current_user_maps(paths.etc())?;
    let store = Store::open(&paths.root)?;
    let names = if args.all {
        store
            .list_containers()?
            .into_iter()
            .map(|c| c.record.id)
            .collect()
    } else {
        args.containers
    };
    if names.is_empty() {
        return Ok(0);
    }
    for_each(&names, |name| {
        Ok(container::remove(&store, name, args.force, &maps)?)
    })
}

/// Waits for containers and prints their exit codes.
pub fn wait(paths: &Paths, args: WaitArgs) -> Result<i32, Error> {
    match args.condition.as_str() {
        "stopped" | "exited" => {}
        other => {
            return Err(Error::Usage(format!(
                "invalid --condition {other:?}: use stopped or exited"
            )))
        }
    }
    let store = Store::open(&paths.root)?;
    let mut code = 0;
    for name in &args.containers {
        match container::wait(&store, name) {
            Ok(exit) => println!("{exit}"),
            Err(e) if args.containers.len() == 1 => return Err(e.into()),
            Err(e) => {
                super::report_error(&e.into());
                code = EXIT_TOOL;
            }
        }
    }
    Ok(code)
}

/// The detached monitor: starts the container, reports one line on stdout
/// (`ok PID` or `err CODE MESSAGE`) to the `run -d` reading it, then
/// watches the container until it exits. Its stderr is /dev/null: what
/// goes wrong after the report is recorded, not printed.
pub fn monitor(paths: &Paths, args: MonitorArgs) -> Result<i32, Error> {
    let started = Store::open(&paths.root)
        .map_err(Error::from)
        .and_then(|store| {
            let detached = container::start_monitored(&store, &args.id)?;
            Ok((store, detached))
        });
    let report = match &started {
        Ok((_, d)) => Ok(d.pid()),
        Err(e) => Err((e.exit_code(), render_chain(e))),
    };
    // `run -d` may have been killed meanwhile; the container runs anyway.
    let mut out = std::io::stdout();
    let _ = out.write_all(container::format_report(&report).as_bytes());
    let _ = out.flush();
    match started {
        Ok((store, detached)) => {
            container::watch(&store, detached)?;
            Ok(0)
        }
        Err(e) => Ok(e.exit_code()),
    }
}
