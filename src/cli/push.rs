//! `hutch push`.

use std::path::PathBuf;

use clap::Args;

use super::registry::RegistryArgs;
use super::StderrReporter;
use crate::container::Engine;
use crate::error::Error;
use crate::image::{self, ManifestFormat, PushOptions};

#[derive(Debug, Args)]
pub struct PushArgs {
    /// Local image to push
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Where to push it (registry/repository[:tag]); default: the image's name
    #[arg(value_name = "DESTINATION")]
    pub destination: Option<String>,
    /// Manifest format: oci or docker
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Compress layers with gzip or zstd (default: keep each layer's compression)
    #[arg(long, value_name = "FORMAT")]
    pub compression_format: Option<String>,
    #[command(flatten)]
    pub access: RegistryArgs,
    /// Write the digest of the pushed manifest to this file
    #[arg(long, value_name = "PATH")]
    pub digestfile: Option<PathBuf>,
    /// Print no progress
    #[arg(short, long)]
    pub quiet: bool,
}

/// Pushes the image and optionally records the manifest digest.
pub fn run(engine: &Engine, args: PushArgs) -> Result<i32, Error> {
    let opts = args.access.push_options(PushOptions {
        format: match &args.format {
            Some(f) => ManifestFormat::parse(f)?,
            None => ManifestFormat::default(),
        },
        compression: args
            .compression_format
            .as_deref()
            .map(image::parse_compression)
            .transpose()?,
        quiet: args.quiet,
        ..PushOptions::default()
    });
    let reporter = StderrReporter { quiet: args.quiet };
    engine.push(
        &args.image,
        args.destination.as_deref(),
        &opts,
        &reporter,
        args.digestfile.as_deref(),
    )?;
    Ok(0)
}
