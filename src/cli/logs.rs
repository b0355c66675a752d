//! `hutch logs`. TODO(#8): implemented by the observation work.

use clap::Args;

use crate::error::Error;
use crate::paths::Paths;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Containers, by name or id
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
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
}

/// Prints container logs.
pub fn run(paths: &Paths, args: LogsArgs) -> Result<i32, Error> {
    let _ = (paths, args);
    Err(Error::Usage("logs: not implemented yet".into()))
}
