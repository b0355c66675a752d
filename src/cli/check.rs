//! `system check`: prints one line per problem the engine found (and what
//! its repair did) and exits 1 while any remains.

use std::time::Duration;

use clap::Args;

use crate::container::check::{CheckReport, CheckRequest};
use crate::container::logread;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// With --repair: also remove the containers of damaged or missing images
    #[arg(short, long)]
    pub force: bool,
    /// Leave out debris younger than this (default 0: all of it)
    #[arg(short, long, value_name = "DURATION", default_value = "0", value_parser = parse_max)]
    pub max: Duration,
    /// Skip the slow checks (blob digests, the database's full check)
    #[arg(short, long)]
    pub quick: bool,
    /// Repair what is safe: remove damaged images no container uses,
    /// debris and unrecorded directories
    #[arg(short, long)]
    pub repair: bool,
}

/// A Go duration (`24h`, `90m`, `0`), as Podman's `--max` takes.
fn parse_max(s: &str) -> Result<Duration, String> {
    match logread::parse_duration(s) {
        Some(n) if n >= 0 => Ok(Duration::from_nanos(n as u64)),
        _ => Err(format!("{s:?} is not a duration: use e.g. 24h, 30m or 0")),
    }
}

/// `system check`.
pub fn check(engine: &Engine, args: CheckArgs) -> Result<i32, Error> {
    let req = CheckRequest {
        quick: args.quick,
        repair: args.repair,
        force: args.force,
        max_age: args.max,
    };
    let report = engine.check_system(&req)?;
    print_report(&report);
    Ok(if report.remaining() == 0 { 0 } else { 1 })
}

fn print_report(report: &CheckReport) {
    for f in &report.findings {
        let outcome = match &f.repair {
            None => String::new(),
            Some(Ok(())) => " (repaired)".to_string(),
            Some(Err(why)) => format!(" (not repaired: {why})"),
        };
        println!("{} {}: {}{outcome}", f.area, f.object, f.detail);
    }
    let found = report.findings.len();
    let left = report.remaining();
    match (found, left) {
        (0, _) => println!("No problems found"),
        (n, 0) => println!("{n} problem{} found, all repaired", plural(n)),
        (n, l) if l == n => println!("{n} problem{} found", plural(n)),
        (n, l) => println!("{n} problem{} found, {} repaired", plural(n), n - l),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_takes_go_durations() {
        assert_eq!(parse_max("24h"), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_max("0"), Ok(Duration::ZERO));
        assert_eq!(parse_max("90m"), Ok(Duration::from_secs(5400)));
        assert!(parse_max("soon").is_err());
        assert!(parse_max("-1h").is_err());
    }
}
