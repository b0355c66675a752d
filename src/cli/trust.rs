//! `hutch image trust show|set`: the signature policy every pull obeys,
//! printed and edited as Podman does.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::json;

use super::json::to_string_4;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Display the trust policy
    Show(ShowArgs),
    /// Set the trust policy of a registry or repository, or the default
    Set(SetArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Output as JSON
    #[arg(short, long)]
    pub json: bool,
    /// Do not print column headings
    #[arg(short, long)]
    pub noheading: bool,
    /// Output the raw policy file
    #[arg(long)]
    pub raw: bool,
    /// Accepted and ignored, as Podman does
    #[arg(value_name = "REGISTRY")]
    pub registry: Option<String>,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Trust type: accept, reject, signedBy or sigstoreSigned
    #[arg(
        short = 't',
        long = "type",
        value_name = "TYPE",
        default_value = "signedBy"
    )]
    pub kind: String,
    /// A public key to trust for the scope (may be repeated; the file must exist)
    #[arg(short = 'f', long = "pubkeysfile", value_name = "FILE")]
    pub pubkeysfile: Vec<PathBuf>,
    /// The scope: a registry, a repository, `*.domain`, or `default`
    #[arg(value_name = "REGISTRY")]
    pub registry: String,
}

/// Runs `image trust …`.
pub fn run(engine: &Engine, cmd: TrustCommand) -> Result<i32, Error> {
    match cmd {
        TrustCommand::Show(a) => show(engine, a),
        TrustCommand::Set(a) => {
            engine.set_trust(&a.registry, &a.kind, &a.pubkeysfile)?;
            Ok(0)
        }
    }
}

fn show(engine: &Engine, a: ShowArgs) -> Result<i32, Error> {
    let trust = engine.trust()?;
    if a.raw {
        // --raw wins over --json, as in Podman.
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&trust.raw);
        return Ok(0);
    }
    let rows = trust.policy.map(|p| p.rows()).unwrap_or_default();
    if a.json {
        println!("{}", to_string_4(&rows));
        return Ok(0);
    }
    let values: Vec<_> = rows
        .iter()
        .map(|r| {
            json!({
                "Transport": r.transport,
                "RepoName": r.repo_name,
                "Type": r.kind,
                "ID": "",
                "Store": "",
            })
        })
        .collect();
    super::output::print_rows(
        &values,
        None,
        "table {{.Transport}}\t{{.RepoName}}\t{{.Type}}\t{{.ID}}\t{{.Store}}",
        &[("RepoName", "NAME")],
        a.noheading,
    )?;
    Ok(0)
}
