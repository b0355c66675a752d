//! `hutch cp`: copy files between the host, a tar stream and containers.

use std::io::Write;

use clap::Args;

use super::ioerr::IoError;
use crate::container::Engine;
use crate::error::Error;
use crate::files::{CopyOptions, Location};

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Give what lands in a container to its user (its --user); --archive=false keeps the owners the copy carries
    #[arg(short, long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub archive: bool,
    /// Allow a directory to replace a non-directory and the reverse
    #[arg(long)]
    pub overwrite: bool,
    /// What to copy: a host path, CONTAINER:PATH, or - for a tar stream on standard input
    #[arg(value_name = "SRC")]
    pub src: String,
    /// Where to copy it: a host path, CONTAINER:PATH, or - for a tar stream on standard output
    #[arg(value_name = "DST")]
    pub dst: String,
}

/// Copies between the host, a tar stream and containers.
pub fn run(engine: &Engine, args: CpArgs) -> Result<i32, Error> {
    let src = Location::parse(&args.src);
    let dst = Location::parse(&args.dst);
    let opts = CopyOptions {
        is_archive: args.archive,
        overwrite: args.overwrite,
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    engine.copy(&src, &dst, opts, &mut std::io::stdin().lock(), &mut out)?;
    out.flush().map_err(IoError::WriteStdout)?;
    Ok(0)
}
