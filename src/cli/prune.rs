//! `hutch container prune`: removes every container that is not running
//! (and passes `--filter`).
//!
//! Each container goes through the same removal as `hutch rm`; one that
//! starts, or is removed by someone else, meanwhile is left alone.

use std::io::{BufRead, Write};

use clap::Args;

use crate::container::prune::PruneFilters;
use crate::container::Engine;
use crate::error::{Error, EXIT_TOOL};

/// The question asked before pruning without `--force`, as Podman asks it.
const PROMPT: &str = "WARNING! This will remove all non-running containers.\n\
                      Are you sure you want to continue? [y/N] ";

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Prune only containers matching KEY=VALUE: label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME (repeatable)
    #[arg(long, value_name = "FILTER")]
    pub filter: Vec<String>,
}

/// Parses a prune's `--filter`s (label, label!, until), a usage error
/// otherwise.
pub(super) fn parse_filters(raw: &[String]) -> Result<PruneFilters, Error> {
    PruneFilters::parse(raw, super::ps::now_nanos()).map_err(|e| Error::Usage(e.to_string()))
}

/// Removes all non-running containers (that pass the filters) and prints
/// their ids.
pub fn run(engine: &Engine, args: PruneArgs) -> Result<i32, Error> {
    let filters = parse_filters(&args.filter)?;
    filters
        .check_containers()
        .map_err(|e| Error::Usage(e.to_string()))?;
    if !args.force && !confirm(PROMPT)? {
        return Ok(0);
    }
    let mut code = 0;
    engine.prune_containers(&filters, &mut |removed: Result<String, _>| match removed {
        Ok(id) => println!("{id}"),
        Err(e) => {
            super::report_error(&e.into());
            code = EXIT_TOOL;
        }
    })?;
    Ok(code)
}

/// Asks `prompt` on stdout and reads one line from stdin (a terminal or
/// not); only `y` or `yes` confirm, end of input does not.
pub(super) fn confirm(prompt: &str) -> Result<bool, Error> {
    let mut out = std::io::stdout();
    let _ = out.write_all(prompt.as_bytes());
    let _ = out.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|source| super::ioerr::IoError::ReadStdin {
            what: "the answer",
            source,
        })?;
    Ok(is_yes(&line))
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_y_or_yes_confirm() {
        for yes in ["y\n", "Y", " yes \n", "YES"] {
            assert!(is_yes(yes), "{yes:?}");
        }
        for no in ["", "\n", "n", "no", "yep", "y y"] {
            assert!(!is_yes(no), "{no:?}");
        }
    }
}
