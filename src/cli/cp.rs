//! `hutch cp`: copy files between the host and a container.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;
use crate::files::Location;

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Keep the container's ownership on the host (files then belong to subordinate ids)
    #[arg(short, long)]
    pub archive: bool,
    /// What to copy: a host path or CONTAINER:PATH
    #[arg(value_name = "SRC")]
    pub src: String,
    /// Where to copy it: a host path or CONTAINER:PATH
    #[arg(value_name = "DST")]
    pub dst: String,
}

/// Copies between the host and a container.
pub fn run(engine: &Engine, args: CpArgs) -> Result<i32, Error> {
    let src = Location::parse(&args.src);
    let dst = Location::parse(&args.dst);
    engine.copy(&src, &dst, args.archive)?;
    Ok(0)
}
