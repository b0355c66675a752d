//! `hutch system connection add|list|default|remove|rename`: the service
//! destinations in the user's containers.conf, printed as Podman prints
//! them.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::json::{is_json_format, to_string_4};
use crate::container::connections::NewConnection;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Subcommand)]
pub enum ConnectionCommand {
    /// Record a destination of a Podman API service (hutch system service's, or Podman's)
    Add(AddArgs),
    /// List the destinations
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Make a destination the default
    Default(NameArg),
    /// Remove a destination, or all of them
    #[command(visible_alias = "rm")]
    Remove(RemoveArgs),
    /// Rename a destination
    #[command(visible_alias = "mv")]
    Rename(RenameArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Make it the default destination
    #[arg(short, long)]
    pub default: bool,
    /// The SSH identity file for an ssh destination
    #[arg(long, value_name = "PATH")]
    pub identity: Option<PathBuf>,
    /// The SSH port, for a destination that names none
    #[arg(short, long, value_name = "PORT")]
    pub port: Option<u16>,
    /// The service's socket on the remote host (needed for ssh destinations)
    #[arg(long, value_name = "PATH")]
    pub socket_path: Option<String>,
    /// The destination's name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// unix:///path, tcp://host:port, ssh://[user@]host[:port][/path] or [user@]host
    #[arg(value_name = "DESTINATION")]
    pub destination: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format: json, or a Go template such as '{{.Name}} {{.URI}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Print only the names
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// The destination's name
    #[arg(value_name = "NAME")]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// Remove every destination
    #[arg(short, long)]
    pub all: bool,
    /// The destination's name
    #[arg(value_name = "NAME", required_unless_present = "all")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The current name
    #[arg(value_name = "OLD")]
    pub old: String,
    /// The new name
    #[arg(value_name = "NEW")]
    pub new: String,
}

/// Runs `system connection …`.
pub fn run(engine: &Engine, cmd: ConnectionCommand) -> Result<i32, Error> {
    match cmd {
        ConnectionCommand::Add(a) => engine.add_connection(&NewConnection {
            name: a.name,
            destination: a.destination,
            identity: a.identity,
            port: a.port,
            socket_path: a.socket_path,
            is_default: a.default,
        })?,
        ConnectionCommand::List(a) => list(engine, a)?,
        ConnectionCommand::Default(a) => engine.set_default_connection(&a.name)?,
        ConnectionCommand::Remove(a) => engine.remove_connection(a.name.as_deref(), a.all)?,
        ConnectionCommand::Rename(a) => engine.rename_connection(&a.old, &a.new)?,
    }
    Ok(0)
}

fn list(engine: &Engine, a: ListArgs) -> Result<(), Error> {
    let conns = engine.connections()?;
    if a.format.as_deref().is_some_and(is_json_format) {
        println!("{}", to_string_4(&conns));
        return Ok(());
    }
    if a.quiet {
        for c in &conns {
            println!("{}", c.name);
        }
        return Ok(());
    }
    let values: Vec<serde_json::Value> = conns
        .iter()
        .map(|c| serde_json::to_value(c).expect("a connection serialises"))
        .collect();
    super::output::print_rows(
        &values,
        a.format,
        "table {{.Name}}\t{{.URI}}\t{{.Identity}}\t{{.Default}}",
        &[
            ("Name", "Name"),
            ("URI", "URI"),
            ("Identity", "Identity"),
            ("Default", "Default"),
        ],
        false,
    )
}
