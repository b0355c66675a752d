//! `hutch start`, `restart`, `stop`, `kill`, `rm`, `wait` and the hidden
//! monitor entry point.
//!
//! Commands taking several containers act on each in turn; a failure is
//! reported and the rest still run, and the exit code is 125 if any failed
//! (as in Podman).

use std::io::Write;
use std::time::Duration;

use clap::Args;

use crate::container::attach;
use crate::container::logread::{self, LogReader, Record, Stream};
use crate::container::Engine;
use crate::container::{self, WaitCondition};
use crate::error::Diagnose;
use crate::error::{render_chain, Error, EXIT_TOOL};

use super::pick::{Latest, Pick, Which};

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["all", "cidfile", "latest", "filter"])]
    pub containers: Vec<String>,
    /// Act on every container
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub latest: Latest,
    /// Act on the containers that pass these filters (ps's keys)
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Ignore containers that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Read a container's id from FILE (repeatable)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Vec<std::path::PathBuf>,
    /// Seconds to wait after the stop signal before SIGKILL (default: the container's --stop-timeout, else 10)
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<u64>,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["all", "cidfile", "latest"])]
    pub containers: Vec<String>,
    /// Signal every running container
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub latest: Latest,
    /// Read a container's id from FILE (repeatable)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Vec<std::path::PathBuf>,
    /// Signal to send (name such as TERM or SIGTERM, or number)
    #[arg(short, long, value_name = "SIGNAL", default_value = "KILL")]
    pub signal: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["all", "cidfile", "latest", "filter"])]
    pub containers: Vec<String>,
    #[command(flatten)]
    pub latest: Latest,
    /// Remove the containers that pass these filters (ps's keys)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Stop running containers first (killed at once unless --time)
    #[arg(short, long)]
    pub force: bool,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Also remove the containers' anonymous volumes
    #[arg(short, long)]
    pub volumes: bool,
    /// With --force: seconds to wait after SIGTERM before SIGKILL (0: kill at once, -1: wait for ever)
    #[arg(short, long, value_name = "SECONDS", allow_negative_numbers = true)]
    pub time: Option<i64>,
    /// Ignore containers that do not exist (--force does too)
    #[arg(short, long)]
    pub ignore: bool,
    /// Also remove the containers that depend on these (--requires), first; printed by full id
    #[arg(long)]
    pub depend: bool,
    /// Read the container's id from FILE (repeatable)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Vec<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub containers: Vec<String>,
    #[command(flatten)]
    pub latest: Latest,
    /// Condition to wait for: stopped (default), exited, created, running, paused, initialized, removing or unknown; repeat or separate by commas for any of several
    #[arg(
        long,
        value_name = "CONDITION",
        default_value = "stopped",
        value_delimiter = ','
    )]
    pub condition: Vec<String>,
    /// Time between looks at the containers (a duration such as 250ms or 1s; a bare number is milliseconds)
    #[arg(short, long, value_name = "DURATION", default_value = "25ms")]
    pub interval: String,
    /// Print -1 for a container that does not exist instead of failing
    #[arg(long)]
    pub ignore: bool,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["all", "latest", "filter"])]
    pub containers: Vec<String>,
    /// Start every container that is not running
    #[arg(long, conflicts_with = "attach")]
    pub all: bool,
    #[command(flatten)]
    pub latest: Latest,
    /// Start the containers that pass these filters (ps's keys)
    #[arg(short, long, value_name = "FILTER", conflicts_with = "attach")]
    pub filter: Vec<String>,
    /// Attach to the container's output until it exits, and exit with its code
    #[arg(short, long)]
    pub attach: bool,
    /// Send stdin to the container (with --attach, if it was created with -i)
    #[arg(short, long)]
    pub interactive: bool,
    /// With --attach: the key sequence that detaches, leaving the container running (ctrl-<key> or characters, comma-separated; empty disables)
    #[arg(long, value_name = "KEYS", default_value = attach::DEFAULT_DETACH_KEYS)]
    pub detach_keys: String,
    /// With --attach: pass signals hutch receives on to the container
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,
}

/// `restart` takes `stop`'s arguments and `--running`.
#[derive(Debug, Args)]
pub struct RestartArgs {
    #[command(flatten)]
    pub stop: StopArgs,
    /// Restart every running container (by id) instead of those named, as Podman does
    #[arg(long)]
    pub running: bool,
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
pub fn stop(engine: &Engine, args: StopArgs) -> Result<i32, Error> {
    let (names, timeout) = args.resolve(engine)?;
    for_each(&names, |name| Ok(engine.stop(name, timeout)?))
}

impl StopArgs {
    /// The containers `stop` or `restart` acts on, and the grace period.
    fn resolve(self, engine: &Engine) -> Result<(Vec<String>, Option<Duration>), Error> {
        let mut names = Pick {
            names: self.containers,
            cidfiles: &self.cidfile,
            all: self.all.then_some(Which::Every),
            latest: self.latest.latest,
            filters: &self.filter,
            ignore: self.ignore,
        }
        .resolve(engine)?;
        if self.ignore {
            names.retain(|n| {
                !matches!(
                    engine.container_id(n),
                    Err(container::Error::NoSuchContainer(_))
                )
            });
        }
        Ok((names, self.time.map(Duration::from_secs)))
    }
}

/// Sends a signal to containers.
pub fn kill(engine: &Engine, args: KillArgs) -> Result<i32, Error> {
    let sig = container::parse_signal(&args.signal)?;
    let names = Pick {
        names: args.containers,
        cidfiles: &args.cidfile,
        all: args.all.then_some(Which::Running),
        latest: args.latest.latest,
        ..Pick::default()
    }
    .resolve(engine)?;
    for_each(&names, |name| Ok(engine.kill(name, sig)?))
}

/// Removes containers.
/// Every name is looked up first, as Podman does: one that does not exist
/// fails the command (exit 1) before anything is removed, unless
/// `--ignore` or `--force`. A running container without `--force` exits 2.
pub fn rm(engine: &Engine, args: RmArgs) -> Result<i32, Error> {
    let ignore = args.ignore || args.force;
    if args.all && args.latest.latest {
        return Err(Error::Usage(
            "--all and --latest cannot be used together".into(),
        ));
    }
    let given = if args.latest.latest && args.containers.is_empty() {
        // No container at all is "missing" to rm: exit 1, as Podman.
        match engine.latest_container() {
            Ok(id) => vec![id],
            Err(e) => {
                let code = e.removal_exit_code();
                return Err(Error::from(e).with_code(code));
            }
        }
    } else {
        Pick {
            names: args.containers,
            cidfiles: &args.cidfile,
            latest: args.latest.latest,
            filters: &args.filter,
            ignore,
            ..Pick::default()
        }
        .resolve(engine)?
    };
    let mut names = Vec::new();
    for name in engine.removal_targets(args.all, given)? {
        // With --depend Podman prints full ids, else the names given; the
        // containers that require one go before it (also with --all,
        // whose order would otherwise refuse them).
        let found = match args.depend || args.all {
            true => engine.with_dependents(&name),
            false => engine.container_id(&name).map(|_| vec![name.clone()]),
        };
        match found {
            Ok(ids) => {
                for id in ids {
                    if !names.contains(&id) {
                        names.push(id);
                    }
                }
            }
            Err(container::Error::NoSuchContainer(_)) if ignore => {}
            Err(e) => {
                let code = e.removal_exit_code();
                return Err(Error::from(e).with_code(code));
            }
        }
    }
    let mut code = 0;
    for name in &names {
        let removed = stop_for_rm(engine, name, args.force, args.time)
            .and_then(|()| engine.remove(name, args.force, args.volumes));
        match removed {
            Ok(()) => println!("{name}"),
            // Gone meanwhile (its own --rm, another rm).
            Err(e) if ignore && e.is_missing() => {}
            Err(e) => super::report_removal(e, &mut code),
        }
    }
    Ok(code)
}

/// With `--force --time N`, stops a running container with that grace
/// period first (`rm -f` alone kills at once).
fn stop_for_rm(
    engine: &Engine,
    name: &str,
    force: bool,
    time: Option<i64>,
) -> Result<(), container::Error> {
    let Some(t) = time.filter(|&t| force && t != 0) else {
        return Ok(());
    };
    let grace = u64::try_from(t).map_or(
        Duration::from_secs(u64::from(u32::MAX)),
        Duration::from_secs,
    );
    match engine.stop(name, Some(grace)) {
        Ok(()) | Err(container::Error::NotRunning(_)) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Waits for containers to meet a condition; prints each one's exit code
/// when it stopped, -1 for another condition (as Podman does). Every name
/// is looked up first: one that does not exist fails the command before
/// any waiting, or with `--ignore` prints -1.
pub fn wait(engine: &Engine, args: WaitArgs) -> Result<i32, Error> {
    let conditions = args
        .condition
        .iter()
        .map(|c| {
            c.parse::<WaitCondition>().map_err(|()| {
                Error::Usage(format!(
                    "invalid --condition {c:?}: use stopped, exited, created, running, paused, initialized, removing or unknown"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let interval = parse_interval(&args.interval).ok_or_else(|| {
        Error::Usage(format!(
            "invalid --interval {:?}: use a positive duration such as 250ms or 1s",
            args.interval
        ))
    })?;
    let containers = Pick {
        names: args.containers,
        latest: args.latest.latest,
        ..Pick::default()
    }
    .resolve(engine)?;
    let mut ids = Vec::new();
    for name in &containers {
        match engine.container_id(name) {
            Ok(id) => ids.push(Some(id)),
            Err(container::Error::NoSuchContainer(_)) if args.ignore => ids.push(None),
            Err(e) => return Err(e.into()),
        }
    }
    let mut code = 0;
    for (name, id) in containers.iter().zip(ids) {
        let waited = match id {
            Some(id) => engine.wait_for(&id, name, &conditions, interval),
            None => Ok(None),
        };
        match waited {
            Ok(exit) => println!("{}", exit.unwrap_or(-1)),
            Err(container::Error::NoSuchContainer(_)) if args.ignore => println!("-1"),
            Err(e) if containers.len() == 1 => return Err(e.into()),
            Err(e) => {
                super::report_error(&e.into());
                code = EXIT_TOOL;
            }
        }
    }
    Ok(code)
}

/// `--interval` as Podman reads it: a Go duration, or a bare number of
/// milliseconds; it must be positive.
fn parse_interval(s: &str) -> Option<Duration> {
    let nanos =
        logread::parse_duration(s).or_else(|| logread::parse_duration(&format!("{s}ms")))?;
    u64::try_from(nanos)
        .ok()
        .filter(|n| *n > 0)
        .map(Duration::from_nanos)
}

/// Starts containers; with `--attach`, attaches to the one container
/// (sending it our stdin with `--interactive`) until it exits and returns
/// its exit code.
pub fn start(engine: &Engine, args: StartArgs) -> Result<i32, Error> {
    let names = Pick {
        names: args.containers,
        all: args.all.then_some(Which::NotRunning),
        latest: args.latest.latest,
        filters: &args.filter,
        ..Pick::default()
    }
    .resolve(engine)?;
    if args.attach {
        let [name] = names.as_slice() else {
            return Err(Error::Usage(
                "start --attach takes exactly one container".into(),
            ));
        };
        let opts = attach::Options {
            detach_keys: attach::parse_detach_keys(&args.detach_keys)
                .map_err(super::attach::from_attach)?,
            is_stdin_sent: args.interactive,
            is_stdin_closed_at_eof: true,
            is_sig_proxied: args.sig_proxy,
            is_replayed: true,
        };
        return start_attached(engine, name, &opts);
    }
    for_each(&names, |name| {
        engine.start(name)?;
        Ok(())
    })
}

/// Stops containers, then starts them again.
pub fn restart(engine: &Engine, args: RestartArgs) -> Result<i32, Error> {
    let (names, timeout) = match args.running {
        // As Podman's: every running container (by id), whatever is named.
        true => {
            let names = Pick {
                all: Some(Which::Running),
                ..Pick::default()
            }
            .resolve(engine)?;
            (names, args.stop.time.map(Duration::from_secs))
        }
        false => args.stop.resolve(engine)?,
    };
    for_each(&names, |name| Ok(engine.restart(name, timeout)?))
}

/// `start --attach`: starts `name` and attaches to it, asking its monitor
/// for the output written before we connected; with `interactive` the end
/// of our stdin closes the container's (as `docker start -ai` does). A
/// container that is gone before we connect has its output in the log.
fn start_attached(engine: &Engine, name: &str, opts: &attach::Options) -> Result<i32, Error> {
    let id = engine.container_id(name)?;
    let log_path = engine.default_log_path(&id)?;
    // Output of earlier runs is not this run's: start from the end. Open
    // (or create) the log before the start, so that a `--rm` container
    // removed before we connect still leaves us its output.
    let mut reader = Some(LogReader::open_or_create(&log_path)?);
    if let Some(r) = reader.as_mut() {
        r.seek_tail(0, true)?;
    }
    engine.start(name)?;
    match engine.attach(&id, opts) {
        Err(attach::Error::Container(e)) if matches!(*e, container::Error::NotRunning(_)) => {}
        other => return super::attach::outcome_code(other),
    }
    // It ended before we connected: wait for its exit, then print the log.
    let code = engine.wait_started(&id)?;
    if reader.is_none() {
        reader = LogReader::open(&log_path)?;
    }
    if let Some(r) = reader.as_mut() {
        let mut out = std::io::stdout().lock();
        let mut err = std::io::stderr().lock();
        loop {
            let (records, is_at_end) = r.read_chunk()?;
            for rec in &records {
                print_record(rec, &mut out, &mut err);
            }
            if is_at_end {
                break;
            }
        }
        if let Some(rec) = r.finish() {
            print_record(&rec, &mut out, &mut err);
        }
        let _ = out.flush();
    }
    Ok(code)
}

/// Writes one log record to the stream it came from; a closed stream is
/// ignored, since the container's exit code still matters.
fn print_record(rec: &Record, out: &mut impl Write, err: &mut impl Write) {
    let w: &mut dyn Write = match rec.stream {
        Stream::Stdout => out,
        Stream::Stderr => {
            let _ = out.flush();
            err
        }
    };
    let _ = w.write_all(&rec.content);
    if !rec.is_partial {
        let _ = w.write_all(b"\n");
    }
    let _ = w.flush();
}

/// The detached monitor: starts the container, reports one line on stdout
/// (`ok PID` or `err CODE MESSAGE`) to the `run -d` reading it, then
/// watches the container until it exits. Its stderr is /dev/null: what
/// goes wrong after the report is recorded, not printed.
pub fn monitor(engine: &Engine, args: MonitorArgs) -> Result<i32, Error> {
    let started = engine.start_monitored(&args.id);
    let report = match &started {
        Ok(d) => Ok(d.pid()),
        Err(e) => Err((e.exit_code(), render_chain(e))),
    };
    // `run -d` may have been killed meanwhile; the container runs anyway.
    let mut out = std::io::stdout();
    let _ = out.write_all(container::format_report(&report).as_bytes());
    let _ = out.flush();
    match started {
        // The container's exit code, as conmon's: a service whose main
        // process is the monitor (Quadlet's, --sdnotify=conmon) fails
        // when the container does, so Restart=on-failure applies; 0 when
        // the user stopped or removed it (systemctl stop's ExecStop).
        Ok(detached) => Ok(engine.watch(detached)?.unwrap_or(0)),
        Err(e) => Ok(e.exit_code()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_durations_or_milliseconds() {
        assert_eq!(parse_interval("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_interval("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_interval("100"), Some(Duration::from_millis(100)));
        assert_eq!(parse_interval("1.5"), Some(Duration::from_micros(1500)));
        for bad in ["0", "-1s", "", "fast", "-5"] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
    }
}
