//! `pause`, `unpause`, `update` and `stats`: the commands that work on a
//! running container's cgroup.

use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};

use super::resources::LimitArgs;
use super::template::Template;
use crate::container::query::Reading;
use crate::container::{Engine, UpdateRequest};
use crate::error::Error;

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// The containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["all", "cidfile", "latest", "filter"])]
    pub containers: Vec<String>,
    /// Every running container (pause) or every paused one (unpause)
    #[arg(short, long)]
    pub all: bool,
    /// Read a container's id from FILE (repeatable)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Vec<std::path::PathBuf>,
    /// Act on the containers that pass these filters (ps's keys)
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Memory swappiness, 0 to 100 or -1 (accepted; cgroup v2 has no such setting)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub memory_swappiness: Option<i64>,
    /// The container, by name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Every container, those not running as zeros (default: every running one)
    #[arg(short, long)]
    pub all: bool,
    /// Print one reading and exit
    #[arg(long)]
    pub no_stream: bool,
    /// Output format: table (default), json, or a Go template such as '{{.Name}} {{.CPUPerc}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Do not truncate ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Seconds between readings
    #[arg(short, long, value_name = "SECONDS", default_value = "1")]
    pub interval: u64,
    /// Do not clear the screen between readings
    #[arg(long)]
    pub no_reset: bool,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// The containers, by name or id (default: every running one)
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

const DEFAULT_TABLE: &str = "table {{.ID}}\\t{{.Name}}\\t{{.CPUPerc}}\\t{{.MemUsage}}\\t{{.MemPerc}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDs}}";
const FIELDS: &[&str] = &[
    "ID", "Name", "CPUPerc", "MemUsage", "MemPerc", "NetIO", "BlockIO", "PIDs",
];

/// `pause` (`frozen`) and `unpause`: prints each container's name as given.
pub fn pause(engine: &Engine, args: PauseArgs, frozen: bool) -> Result<i32, Error> {
    let names = super::pick::Pick {
        names: args.containers,
        cidfiles: &args.cidfile,
        // A paused container is `running` to ps's filters: `--all` takes
        // every running one, and pausing or unpausing one that already is
        // so is not an error.
        all: args.all.then_some(super::pick::Which::Running),
        latest: args.latest.latest,
        filters: &args.filter,
        ignore: false,
    }
    .resolve(engine)?;
    let mut code = 0;
    for name in &names {
        match engine.pause(name, frozen) {
            Ok(_) => println!("{name}"),
            Err(e) => {
                super::report_error(&e.into());
                code = crate::error::EXIT_TOOL;
            }
        }
    }
    Ok(code)
}

/// `update`: changes the limits of a container.
pub fn update(engine: &Engine, args: UpdateArgs) -> Result<i32, Error> {
    let req = UpdateRequest {
        container: args.container,
        limits: args.limits.request()?,
        memory_swappiness: args.memory_swappiness,
    };
    if req.limits.is_empty() && req.memory_swappiness.is_none() {
        return Err(Error::Usage(
            "update needs at least one limit, for example --memory 64m".into(),
        ));
    }
    let id = engine.update(&req, &super::StderrReporter { quiet: false })?;
    println!("{id}");
    Ok(0)
}

/// `stats`: CPU, memory, network, block io and pids of running containers.
pub fn stats(engine: &Engine, args: StatsArgs) -> Result<i32, Error> {
    let format = match args.format.as_deref() {
        Some("json") => None,
        None | Some("table") => Some(Template::parse_as("stats", DEFAULT_TABLE)?),
        Some(t) => Some(Template::parse_as("stats", t)?),
    };
    if let Some(t) = &format {
        t.check_fields(FIELDS)?;
    }
    let interval = Duration::from_secs(args.interval.max(1));
    let given = [args.all, args.latest.latest, !args.containers.is_empty()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(Error::Usage(
            "--all, --latest and containers cannot be used together".into(),
        ));
    }
    let read = |names: &[String]| {
        if args.all {
            engine.read_all_stats(names)
        } else {
            engine.read_stats(names)
        }
    };
    let containers = match (args.containers.is_empty(), args.latest.latest) {
        (true, false) => super::pick::Pick {
            all: Some(if args.all {
                super::pick::Which::Every
            } else {
                super::pick::Which::Running
            }),
            ..Default::default()
        },
        _ => super::pick::Pick {
            names: args.containers,
            latest: args.latest.latest,
            ..Default::default()
        },
    }
    .resolve(engine)?;
    let mut before = read(&containers)?;
    loop {
        // CPU % needs two readings: the first waits one interval.
        let started = Instant::now();
        std::thread::sleep(interval);
        let after = read(&containers)?;
        let elapsed = started.elapsed().as_micros().max(1) as f64;
        let rows: Vec<Value> = before
            .iter()
            .zip(&after)
            .map(|(b, a)| row(b, a, elapsed, args.no_trunc))
            .collect();
        match &format {
            None => println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            ),
            Some(t) => {
                if !args.no_stream && !args.no_reset && t.is_table {
                    // Redraw in place, as a terminal dashboard.
                    print!("\x1b[2J\x1b[H");
                }
                print!("{}", t.render_all(&rows, &|path| header(path))?);
            }
        }
        if args.no_stream {
            return Ok(0);
        }
        before = after;
    }
}

pub(super) fn row(before: &Reading, after: &Reading, elapsed_usec: f64, no_trunc: bool) -> Value {
    let s = &after.stats;
    let cpu =
        after.stats.cpu_usec.saturating_sub(before.stats.cpu_usec) as f64 * 100.0 / elapsed_usec;
    let limit = after.memory_limit;
    let mem_perc = if limit > 0 {
        s.memory_bytes as f64 * 100.0 / limit as f64
    } else {
        0.0
    };
    let id = if no_trunc {
        after.id.clone()
    } else {
        after.id.chars().take(12).collect()
    };
    json!({
        "ID": id,
        "Name": after.name,
        "CPUPerc": format!("{cpu:.2}%"),
        "CPU": cpu,
        "MemUsage": format!("{} / {}", bytes(s.memory_bytes), bytes(limit)),
        "MemUsageBytes": s.memory_bytes,
        "MemLimit": limit,
        "MemPerc": format!("{mem_perc:.2}%"),
        "NetIO": format!("{} / {}", bytes(after.net.0), bytes(after.net.1)),
        "BlockIO": format!("{} / {}", bytes(s.io_read_bytes), bytes(s.io_write_bytes)),
        "PIDs": s.pids,
        "CPUTimeUsec": s.cpu_usec,
    })
}

fn header(path: &[String]) -> String {
    match path.join(".").as_str() {
        "ID" => "ID".into(),
        "Name" => "NAME".into(),
        "CPUPerc" => "CPU %".into(),
        "MemUsage" => "MEM USAGE / LIMIT".into(),
        "MemPerc" => "MEM %".into(),
        "NetIO" => "NET IO".into(),
        "BlockIO" => "BLOCK IO".into(),
        "PIDs" => "PIDS".into(),
        other => other.to_uppercase(),
    }
}

/// Sizes as Docker's stats prints them: 1.5MiB, 512kB-style binary units.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n}B")
    } else {
        format!("{v:.2}{}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::query::Stats;

    #[test]
    fn sizes_and_rows() {
        assert_eq!(bytes(512), "512B");
        assert_eq!(bytes(33_554_432), "32.00MiB");
        let r = |cpu| Reading {
            id: "a".repeat(64),
            name: "n".into(),
            stats: Stats {
                cpu_usec: cpu,
                memory_bytes: 1 << 20,
                memory_limit: Some(4 << 20),
                pids: 2,
                ..Default::default()
            },
            net: (0, 0),
            memory_limit: 4 << 20,
        };
        let v = row(&r(0), &r(500_000), 1_000_000.0, false);
        assert_eq!(v["CPUPerc"], "50.00%");
        assert_eq!(v["MemPerc"], "25.00%");
        assert_eq!(v["ID"], "a".repeat(12));
        assert_eq!(v["PIDs"], 2);
    }
}
