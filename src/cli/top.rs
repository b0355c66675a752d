//! `hutch top`: the processes of a running container as a table.
//!
//! Columns are chosen with Podman's AIX-style format descriptors (`user`,
//! `pid`, `ppid`, `pcpu`, `etime`, `tty`, `time`, `args`, `comm`) and
//! formatted as Podman formats them: durations in Go's notation, %CPU with
//! three decimals.

use std::time::Duration;

use clap::Args;

use super::template::align;
use crate::container::top::Process;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct TopArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub container: Option<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// Columns to show: user, pid, ppid, pcpu, etime, tty, time, args, comm
    #[arg(value_name = "FORMAT-DESCRIPTORS")]
    pub descriptors: Vec<String>,
}

/// One column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Column {
    User,
    Pid,
    Ppid,
    Pcpu,
    Etime,
    Tty,
    Time,
    Args,
    Comm,
}

/// The columns without descriptors, as Podman shows them.
const DEFAULT_COLUMNS: [Column; 8] = [
    Column::User,
    Column::Pid,
    Column::Ppid,
    Column::Pcpu,
    Column::Etime,
    Column::Tty,
    Column::Time,
    Column::Args,
];

/// Every descriptor with its column.
const DESCRIPTORS: [(&str, Column); 9] = [
    ("user", Column::User),
    ("pid", Column::Pid),
    ("ppid", Column::Ppid),
    ("pcpu", Column::Pcpu),
    ("etime", Column::Etime),
    ("tty", Column::Tty),
    ("time", Column::Time),
    ("args", Column::Args),
    ("comm", Column::Comm),
];

impl Column {
    fn header(self) -> &'static str {
        match self {
            Column::User => "USER",
            Column::Pid => "PID",
            Column::Ppid => "PPID",
            Column::Pcpu => "%CPU",
            Column::Etime => "ELAPSED",
            Column::Tty => "TTY",
            Column::Time => "TIME",
            Column::Args | Column::Comm => "COMMAND",
        }
    }

    /// The cell of `p` in this column.
    fn cell(self, p: &Process) -> String {
        match self {
            Column::User => printable(&p.user),
            Column::Pid => p.pid.to_string(),
            Column::Ppid => p.ppid.to_string(),
            Column::Pcpu => format!("{:.3}", cpu_percent(p.cpu, p.elapsed)),
            Column::Etime => go_duration(round_to(p.elapsed, Duration::from_millis(10))),
            Column::Tty => p.tty.clone(),
            Column::Time => go_duration(Duration::from_secs(p.cpu.as_secs())),
            Column::Args => printable(&p.args),
            Column::Comm => printable(&p.comm),
        }
    }
}

/// Lists a container's processes.
pub fn run(engine: &Engine, args: TopArgs) -> Result<i32, Error> {
    let mut descriptors = args.descriptors;
    let name = super::pick::one(
        engine,
        args.container,
        args.latest.latest,
        Some(&mut descriptors),
    )?;
    let columns = parse_descriptors(&descriptors)?;
    let processes = engine.list_processes(&name)?;
    print!("{}", table(&columns, &processes));
    Ok(0)
}

/// The columns named by `descriptors` (each may hold several separated by
/// commas or spaces); the default columns when there are none.
pub(super) fn parse_descriptors(descriptors: &[String]) -> Result<Vec<Column>, Error> {
    let mut out = Vec::new();
    for word in descriptors
        .iter()
        .flat_map(|d| d.split([',', ' ']))
        .filter(|w| !w.is_empty())
    {
        let Some((_, col)) = DESCRIPTORS.iter().find(|(name, _)| *name == word) else {
            let known: Vec<&str> = DESCRIPTORS.iter().map(|(n, _)| *n).collect();
            return Err(Error::Usage(format!(
                "unknown format descriptor {word:?}: use {}",
                known.join(", ")
            )));
        };
        out.push(*col);
    }
    if out.is_empty() {
        out = DEFAULT_COLUMNS.to_vec();
    }
    Ok(out)
}

/// The aligned table with a header row.
pub(super) fn table(columns: &[Column], processes: &[Process]) -> String {
    let mut lines = vec![columns
        .iter()
        .map(|c| c.header())
        .collect::<Vec<_>>()
        .join("\t")];
    for p in processes {
        let cells: Vec<String> = columns.iter().map(|c| c.cell(p)).collect();
        lines.push(cells.join("\t"));
    }
    align(&lines)
}

/// Text from the container with control characters (escape sequences,
/// tabs that would break the columns) replaced by `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// CPU time as a percentage of the time the process has existed.
fn cpu_percent(cpu: Duration, elapsed: Duration) -> f64 {
    if elapsed.is_zero() {
        0.0
    } else {
        cpu.as_secs_f64() / elapsed.as_secs_f64() * 100.0
    }
}

fn round_to(d: Duration, unit: Duration) -> Duration {
    let unit = unit.as_nanos().max(1);
    let n = (d.as_nanos() + unit / 2) / unit * unit;
    Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX))
}

/// A duration as Go's `time.Duration.String` writes it: `0s`, `250ms`,
/// `17.83s`, `2m0s`, `1h0m5s`.
fn go_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return format!("{}µs", decimal(nanos, 1_000));
    }
    if nanos < 1_000_000_000 {
        return format!("{}ms", decimal(nanos, 1_000_000));
    }
    let secs = d.as_secs();
    let (h, m) = (secs / 3600, secs / 60 % 60);
    let s = decimal(
        u128::from(secs % 60) * 1_000_000_000 + u128::from(d.subsec_nanos()),
        1_000_000_000,
    );
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// `n / unit` in decimal, without trailing zeros in the fraction.
fn decimal(n: u128, unit: u128) -> String {
    let whole = n / unit;
    let frac = n % unit;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = unit.ilog10() as usize;
    let frac = format!("{frac:0digits$}");
    format!("{whole}.{}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process() -> Process {
        Process {
            user: "root".into(),
            pid: 1,
            ppid: 0,
            cpu: Duration::from_millis(2500),
            elapsed: Duration::from_millis(10_004),
            tty: "?".into(),
            args: "sleep 1000".into(),
            comm: "sleep".into(),
        }
    }

    #[test]
    fn descriptors_select_columns_in_order() {
        let words = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse_descriptors(&[]).unwrap(), DEFAULT_COLUMNS);
        assert_eq!(
            parse_descriptors(&words(&["pid", "args"])).unwrap(),
            [Column::Pid, Column::Args]
        );
        assert_eq!(
            parse_descriptors(&words(&["user,comm", "etime"])).unwrap(),
            [Column::User, Column::Comm, Column::Etime]
        );
        let err = parse_descriptors(&words(&["pid", "rss"])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown format descriptor \"rss\": use user, pid, ppid, pcpu, etime, tty, time, args, comm"
        );
    }

    #[test]
    fn durations_read_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(500), "500ns"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(17_830), "17.83s"),
            (Duration::from_secs(120), "2m0s"),
            (Duration::from_secs(3605), "1h0m5s"),
            (Duration::from_millis(90_500), "1m30.5s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration(d), want, "{d:?}");
        }
    }

    #[test]
    fn cells_format_like_podman() {
        let p = process();
        let cells: Vec<String> = DEFAULT_COLUMNS.iter().map(|c| c.cell(&p)).collect();
        assert_eq!(
            cells,
            ["root", "1", "0", "24.990", "10s", "?", "2s", "sleep 1000"]
        );
        assert_eq!(Column::Comm.cell(&p), "sleep");
        let mut q = p.clone();
        q.elapsed = Duration::ZERO;
        assert_eq!(Column::Pcpu.cell(&q), "0.000");
        q.args = "evil\x1b[2J\tcmd".into();
        assert_eq!(Column::Args.cell(&q), "evil?[2J?cmd");
    }

    #[test]
    fn table_has_a_header_and_aligned_rows() {
        let out = table(&[Column::Pid, Column::Args], &[process()]);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines, ["PID         COMMAND", "1           sleep 1000"]);
    }
}
