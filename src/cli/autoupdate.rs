//! `hutch auto-update`: the flags become an `AutoUpdateRequest`, the
//! engine checks, updates and restarts, and the rows are printed as
//! Podman prints them (a table, JSON or a Go template); each container's
//! error is reported, and any makes the exit status 125.

use std::path::PathBuf;

use clap::{ArgAction, Args};
use serde::Serialize;
use serde_json::Value;

use crate::container::autoupdate::{AutoUpdateRequest, UpdateReport};
use crate::container::Engine;
use crate::error::Error;

/// `auto-update`'s flags (Podman 4.3's).
#[derive(Debug, Args)]
pub struct AutoUpdateArgs {
    /// Read registry credentials from this file (a container's io.containers.autoupdate.authfile label wins)
    #[arg(long, value_name = "PATH", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    /// Check for newer images only: UPDATED says "pending" where one is there
    #[arg(long)]
    pub dry_run: bool,
    /// Print the rows as JSON (json) or through a Go template
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Give the old image back and restart the unit again when the restart on the new one fails
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub rollback: bool,
}

/// One row, with Podman's field names (its `autoUpdateOutput`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row {
    unit: String,
    container: String,
    #[serde(rename = "ContainerName")]
    container_name: String,
    #[serde(rename = "ContainerID")]
    container_id: String,
    image: String,
    policy: String,
    updated: String,
}

fn row(r: &UpdateReport) -> Row {
    let short = r.container_id.get(..12).unwrap_or(&r.container_id);
    Row {
        unit: r.unit.clone(),
        container: format!("{short} ({})", r.container_name),
        container_name: r.container_name.clone(),
        container_id: r.container_id.clone(),
        image: r.image.clone(),
        policy: r.policy.as_str().to_string(),
        updated: r.updated.as_str().to_string(),
    }
}

/// Runs `auto-update`.
pub fn run(engine: &Engine, args: AutoUpdateArgs) -> Result<i32, Error> {
    let req = AutoUpdateRequest {
        authfile: args.authfile.clone(),
        is_dry_run: args.dry_run,
        is_rollback: args.rollback,
    };
    let done = engine.auto_update(&req)?;
    if !done.reports.is_empty() {
        print_rows(&done.reports, args.format)?;
    }
    let mut errors: Vec<Error> = done.errors.into_iter().map(Error::from).collect();
    match errors.pop() {
        None => Ok(0),
        Some(last) => {
            for e in &errors {
                super::report_error(e);
            }
            Err(last)
        }
    }
}

/// Prints the rows as `--format` asks: Podman's table by default.
fn print_rows(reports: &[UpdateReport], format: Option<String>) -> Result<(), Error> {
    let rows: Vec<Row> = reports.iter().map(row).collect();
    if format.as_deref().is_some_and(super::json::is_json_format) {
        println!("{}", super::json::to_string_4(&rows));
        return Ok(());
    }
    let values: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    let default = "table {{.Unit}}\t{{.Container}}\t{{.Image}}\t{{.Policy}}\t{{.Updated}}";
    super::output::print_rows(&values, format, default, &[], false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::autoupdate::{Policy, Updated};

    #[test]
    fn a_row_names_the_container_by_short_id_and_name() {
        let r = UpdateReport {
            unit: "container-web.service".into(),
            container_id: "0123456789abcdef".repeat(4),
            container_name: "web".into(),
            image: "localhost:5000/app:latest".into(),
            policy: Policy::Registry,
            updated: Updated::RolledBack,
        };
        let v = serde_json::to_value(row(&r)).expect("json");
        assert_eq!(v["Container"], "0123456789ab (web)");
        assert_eq!(v["ContainerID"], r.container_id.as_str());
        assert_eq!(v["Policy"], "registry");
        assert_eq!(v["Updated"], "rolled back");
    }
}
