//! `hutch ps`. TODO(#8): implemented by the observation work.

use clap::Args;

use crate::error::Error;
use crate::paths::Paths;

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default: only running ones)
    #[arg(short, long)]
    pub all: bool,
    /// Show only container ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Show only the latest created container (any state)
    #[arg(short, long)]
    pub latest: bool,
    /// Show the N latest created containers (any state)
    #[arg(short = 'n', long, value_name = "N")]
    pub last: Option<usize>,
    /// Show full container ids and commands
    #[arg(long)]
    pub no_trunc: bool,
    /// Output format: table (default), json, or a Go template such as '{{.Names}} {{.Status}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Lists containers.
pub fn run(paths: &Paths, args: PsArgs) -> Result<i32, Error> {
    let _ = (paths, args);
    Err(Error::Usage("ps: not implemented yet".into()))
}
