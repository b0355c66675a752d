//! `hutch logs`: prints the records of containers' log files (the rotated
//! file first, then the current one), stdout records to stdout and stderr
//! records to stderr, optionally following them across rotations until the
//! containers stop. With several containers each line starts with its
//! container's short id, or its name with `--names`, as in Podman.

use std::io::{BufWriter, ErrorKind, StderrLock, StdoutLock, Write};
use std::time::Duration;

use clap::Args;

use crate::container;
use crate::container::logread::{self, LogDriver, Record, RotatingLog, Stream, Window};
use crate::container::Engine;
use crate::error::Error;

/// How often `--follow` looks for new records and checks the containers.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub containers: Vec<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// Print each container's lines in a colour of its own
    #[arg(long)]
    pub color: bool,
    /// Keep printing new lines until the container exits
    #[arg(short, long)]
    pub follow: bool,
    /// Print only the last N lines
    #[arg(long, value_name = "N")]
    pub tail: Option<usize>,
    /// Print only lines since this time (RFC 3339, or a duration such as 10m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Print only lines until this time (RFC 3339, or a duration such as 10m)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Prefix each line with its timestamp
    #[arg(short, long)]
    pub timestamps: bool,
    /// With several containers, start each line with the container's name instead of its short id
    #[arg(short, long)]
    pub names: bool,
}

/// How many characters of the id start lines of several containers.
const SHORT_ID: usize = 12;

/// One container being printed.
struct Target {
    id: String,
    path: std::path::PathBuf,
    reader: Option<RotatingLog>,
    is_done: bool,
    /// What starts each of its lines.
    label: Label,
}

/// Podman's colours for `logs --color`, one per container in turn.
const COLORS: [&str; 7] = [
    "\x1b[37m", "\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[35m", "\x1b[36m", "\x1b[32m",
];

/// What ends a coloured line.
const COLOR_RESET: &str = "\x1b[0m";

/// What starts a container's lines, and where its lines start.
#[derive(Debug, Default)]
struct Label {
    /// The container's short id or name and a space, with several
    /// containers; empty otherwise.
    prefix: String,
    /// The colour of its lines (`pod logs --color`).
    color: Option<&'static str>,
    /// Per stream (stdout, stderr): whether the next record starts a line.
    is_line_start: [bool; 2],
}

impl Label {
    fn new(prefix: String) -> Label {
        Label {
            prefix,
            color: None,
            is_line_start: [true, true],
        }
    }
}

/// Prints container logs.
pub fn run(engine: &Engine, args: LogsArgs) -> Result<i32, Error> {
    let is_several = args.containers.len() > 1;
    show(engine, args, is_several, false)
}

/// Prints the logs of `args.containers`; with `is_several` each line
/// starts with its container's short id (or name), and with `is_colored`
/// each container's lines have a colour of their own (`pod logs`).
pub(super) fn show(
    engine: &Engine,
    args: LogsArgs,
    is_several: bool,
    is_colored: bool,
) -> Result<i32, Error> {
    let now = super::ps::now_nanos();
    let window = Window {
        since: parse_time("--since", args.since.as_deref(), now)?,
        until: parse_time("--until", args.until.as_deref(), now)?,
    };
    let containers = super::pick::Pick {
        names: args.containers,
        latest: args.latest.latest,
        ..Default::default()
    }
    .resolve(engine)?;
    let mut targets = Vec::new();
    for (i, name) in containers.iter().enumerate() {
        let source = engine.log_source(name)?;
        let prefix = match (is_several, args.names) {
            (false, _) => String::new(),
            (true, true) => format!("{} ", source.name),
            (true, false) => format!("{} ", &source.id[..SHORT_ID.min(source.id.len())]),
        };
        let driver = source.driver;
        if driver != LogDriver::K8sFile {
            return Err(logread::Error::NoLogs {
                name: name.clone(),
                driver: driver.as_str(),
            }
            .into());
        }
        targets.push(Target {
            path: source.path,
            id: source.id,
            reader: None,
            is_done: false,
            label: Label {
                color: (is_colored || args.color).then_some(COLORS[i % COLORS.len()]),
                ..Label::new(prefix)
            },
        });
    }
    let mut out = Printer::new(args.timestamps, window);
    let result = if args.follow {
        follow(engine, &mut targets, args.tail, &mut out)
    } else {
        targets
            .iter_mut()
            .try_for_each(|t| print_all(t, args.tail, &mut out))
    };
    match result.and_then(|()| out.flush().map_err(Failure::Write)) {
        Ok(()) => Ok(0),
        // The reader went away (`hutch logs x | head`): not our failure.
        Err(Failure::Write(e)) if e.kind() == ErrorKind::BrokenPipe => Ok(0),
        Err(Failure::Write(e)) => Err(logread::Error::WriteLog(e).into()),
        Err(Failure::Read(e)) => Err(e.into()),
        Err(Failure::Hutch(e)) => Err(e),
    }
}

/// Why printing stopped.
enum Failure {
    Read(logread::Error),
    Write(std::io::Error),
    Hutch(Error),
}

impl From<logread::Error> for Failure {
    fn from(e: logread::Error) -> Self {
        Failure::Read(e)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Write(e)
    }
}

impl From<container::Error> for Failure {
    fn from(e: container::Error) -> Self {
        Failure::Hutch(e.into())
    }
}

fn parse_time(flag: &str, value: Option<&str>, now: i64) -> Result<Option<i64>, Error> {
    let Some(value) = value else {
        return Ok(None);
    };
    logread::parse_time_arg(value, now).map(Some).ok_or_else(|| {
        Error::Usage(format!(
            "invalid {flag} {value:?}: expected an RFC 3339 time, a duration such as 10m, or Unix seconds"
        ))
    })
}

/// Opens the target's log if it exists by now, positioned for `--tail`.
fn open(t: &mut Target, tail: Option<usize>) -> Result<(), Failure> {
    if t.reader.is_none() {
        t.reader = RotatingLog::open(&t.path)?;
        if let (Some(r), Some(n)) = (t.reader.as_mut(), tail) {
            r.seek_tail(n)?;
        }
    }
    Ok(())
}

/// Prints what the target's log holds now, following rotations.
fn drain(t: &mut Target, out: &mut Printer) -> Result<(), Failure> {
    let Some(r) = t.reader.as_mut() else {
        return Ok(());
    };
    loop {
        let (records, is_at_end) = r.read_chunk()?;
        for rec in &records {
            out.print(rec, &mut t.label)?;
        }
        if is_at_end && !r.follow_rotation()? {
            return Ok(());
        }
    }
}

/// Prints the rest of the log, including an unfinished last line.
fn finish(t: &mut Target, out: &mut Printer) -> Result<(), Failure> {
    drain(t, out)?;
    if let Some(rec) = t.reader.as_mut().and_then(RotatingLog::finish) {
        out.print(&rec, &mut t.label)?;
    }
    t.is_done = true;
    Ok(())
}

fn print_all(t: &mut Target, tail: Option<usize>, out: &mut Printer) -> Result<(), Failure> {
    open(t, tail)?;
    finish(t, out)
}

/// Prints new records of every target until none is running; a stopped
/// container's log is drained after its state says it stopped, so its
/// last lines are not lost.
fn follow(
    engine: &Engine,
    targets: &mut [Target],
    tail: Option<usize>,
    out: &mut Printer,
) -> Result<(), Failure> {
    loop {
        let mut is_any_running = false;
        for t in targets.iter_mut().filter(|t| !t.is_done) {
            let is_running = engine.is_running(&t.id)?;
            open(t, tail)?;
            if is_running {
                drain(t, out)?;
                is_any_running = true;
            } else {
                finish(t, out)?;
            }
        }
        out.flush()?;
        if !is_any_running {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_INTERVAL);
    }
}

/// Writes records to stdout or stderr, buffered, flushing one stream
/// before writing to the other so that their order survives on a shared
/// terminal.
struct Printer<O: Write = BufWriter<StdoutLock<'static>>, E: Write = BufWriter<StderrLock<'static>>>
{
    is_timestamped: bool,
    window: Window,
    stdout: O,
    stderr: E,
    last: Option<Stream>,
}

impl Printer {
    fn new(is_timestamped: bool, window: Window) -> Printer {
        Printer::with(
            is_timestamped,
            window,
            BufWriter::new(std::io::stdout().lock()),
            BufWriter::new(std::io::stderr().lock()),
        )
    }
}

impl<O: Write, E: Write> Printer<O, E> {
    fn with(is_timestamped: bool, window: Window, stdout: O, stderr: E) -> Printer<O, E> {
        Printer {
            is_timestamped,
            window,
            stdout,
            stderr,
            last: None,
        }
    }

    /// Prints `rec`, starting a line with `label`'s prefix and (with
    /// `--timestamps`) the record's time; a line split into partial
    /// records gets them once.
    fn print(&mut self, rec: &Record, label: &mut Label) -> std::io::Result<()> {
        if !self.window.contains(rec.time) {
            return Ok(());
        }
        if self.last.is_some_and(|s| s != rec.stream) {
            self.flush()?;
        }
        self.last = Some(rec.stream);
        let (w, idx): (&mut dyn Write, usize) = match rec.stream {
            Stream::Stdout => (&mut self.stdout, 0),
            Stream::Stderr => (&mut self.stderr, 1),
        };
        if label.is_line_start[idx] {
            if let Some(c) = label.color {
                w.write_all(c.as_bytes())?;
            }
            w.write_all(label.prefix.as_bytes())?;
            if self.is_timestamped {
                w.write_all(rec.timestamp.as_bytes())?;
                w.write_all(b" ")?;
            }
        }
        w.write_all(&rec.content)?;
        if !rec.is_partial {
            if label.color.is_some() {
                w.write_all(COLOR_RESET.as_bytes())?;
            }
            w.write_all(b"\n")?;
        }
        label.is_line_start[idx] = !rec.is_partial;
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.stdout.flush()?;
        self.stderr.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(lines: &[&str], is_timestamped: bool, window: Window) -> (String, String) {
        print_labelled(lines, is_timestamped, window, "")
    }

    fn print_labelled(
        lines: &[&str],
        is_timestamped: bool,
        window: Window,
        prefix: &str,
    ) -> (String, String) {
        let mut p = Printer::with(is_timestamped, window, Vec::new(), Vec::new());
        let mut label = Label::new(prefix.to_string());
        for l in lines {
            p.print(&logread::parse_record(l.as_bytes()).unwrap(), &mut label)
                .unwrap();
        }
        (
            String::from_utf8(p.stdout).unwrap(),
            String::from_utf8(p.stderr).unwrap(),
        )
    }

    const LOG: [&str; 4] = [
        "2026-11-27T19:00:01Z stdout P hel",
        "2026-11-27T19:00:02Z stderr F oops",
        "2026-11-27T19:00:03Z stdout F lo",
        "2026-11-27T19:00:04Z stdout F",
    ];

    #[test]
    fn records_go_to_their_stream_and_partials_join() {
        let (out, err) = print(&LOG, false, Window::default());
        assert_eq!(out, "hello\n\n");
        assert_eq!(err, "oops\n");
    }

    #[test]
    fn timestamps_prefix_only_line_starts() {
        let (out, err) = print(&LOG, true, Window::default());
        assert_eq!(out, "2026-11-27T19:00:01Z hello\n2026-11-27T19:00:04Z \n");
        assert_eq!(err, "2026-11-27T19:00:02Z oops\n");
    }

    #[test]
    fn a_prefix_comes_before_the_timestamp_once_per_line() {
        let (out, err) = print_labelled(&LOG, true, Window::default(), "web ");
        assert_eq!(
            out,
            "web 2026-11-27T19:00:01Z hello\nweb 2026-11-27T19:00:04Z \n"
        );
        assert_eq!(err, "web 2026-11-27T19:00:02Z oops\n");
        let (out, _) = print_labelled(&LOG, false, Window::default(), "0123456789ab ");
        assert_eq!(out, "0123456789ab hello\n0123456789ab \n");
    }

    #[test]
    fn a_coloured_line_is_wrapped_in_its_colour_as_podmans() {
        let mut p = Printer::with(false, Window::default(), Vec::new(), Vec::new());
        let mut label = Label {
            color: Some(COLORS[2]),
            ..Label::new("0123456789ab ".into())
        };
        for l in [
            "2026-11-27T19:00:01Z stdout P he",
            "2026-11-27T19:00:02Z stdout F y",
        ] {
            p.print(&logread::parse_record(l.as_bytes()).unwrap(), &mut label)
                .unwrap();
        }
        assert_eq!(
            String::from_utf8(p.stdout).unwrap(),
            "\x1b[33m0123456789ab hey\x1b[0m\n"
        );
    }

    #[test]
    fn the_window_filters_by_record_time() {
        let at = |s: &str| logread::parse_timestamp(s);
        let window = Window {
            since: at("2026-11-27T19:00:02Z"),
            until: at("2026-11-27T19:00:03Z"),
        };
        let (out, err) = print(&LOG, false, window);
        assert_eq!(out, "lo\n");
        assert_eq!(err, "oops\n");
    }

    #[test]
    fn bad_times_name_their_flag() {
        let err = parse_time("--since", Some("yesterday"), 0).unwrap_err();
        assert!(err.to_string().starts_with("invalid --since \"yesterday\""));
        assert_eq!(parse_time("--until", None, 0).unwrap(), None);
        assert_eq!(
            parse_time("--until", Some("1s"), 5_000_000_000).unwrap(),
            Some(4_000_000_000)
        );
    }
}
