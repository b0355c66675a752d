//! `hutch pod clone`: a copy of a pod and its containers, made the way
//! the original was created, with another name or options.

use clap::Args;

use super::pod_create::{check_name, PodSpecArgs};
use super::StderrReporter;
use crate::container::{Engine, PodCloneRequest};
use crate::error::Error;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CloneArgs {
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// The pod to copy
    #[arg(value_name = "POD")]
    pub pod: String,
    /// The copy's name (default: POD-clone, then POD-clone1, …; wins over --name)
    #[arg(value_name = "NAME")]
    pub new_name: Option<String>,
    /// The options pod create takes, laid over the original's
    #[command(flatten)]
    pub spec: Box<PodSpecArgs>,
    /// Remove the original pod and its containers once the copy exists
    #[arg(long)]
    pub destroy: bool,
    /// Start the copy
    #[arg(long)]
    pub start: bool,
}

/// Clones the pod and prints the copy's id.
pub fn run(engine: &Engine, args: CloneArgs) -> Result<i32, Error> {
    let name = args.new_name.clone().or_else(|| args.spec.name.clone());
    if let Some(n) = &name {
        check_name(n)?;
    }
    let req = PodCloneRequest {
        pod: args.pod,
        name,
        options: args.spec.options(),
        create_command: std::env::args().collect(),
        destroy: args.destroy,
        start: args.start,
    };
    let id = engine.clone_pod(&req, &StderrReporter { quiet: false })?;
    println!("{id}");
    Ok(0)
}
