//! `hutch push`.

use std::path::PathBuf;

use clap::Args;

use super::registry::{CredsArgs, RegistryArgs};
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
    /// Accepted as Podman accepts it: layers pushed to a registry are always compressed
    #[arg(long)]
    pub compress: bool,
    /// Accepted for Docker compatibility; does nothing (as in Podman)
    #[arg(long)]
    pub disable_content_trust: bool,
    /// Push no signatures (hutch's images carry none)
    #[arg(long)]
    pub remove_signatures: bool,
    #[command(flatten)]
    pub access: RegistryArgs,
    #[command(flatten)]
    pub creds: CredsArgs,
    /// Write the digest of the pushed manifest to this file
    #[arg(long, value_name = "PATH")]
    pub digestfile: Option<PathBuf>,
    /// Print no progress
    #[arg(short, long)]
    pub quiet: bool,
}

/// Pushes the image and optionally records the manifest digest.
pub fn run(engine: &Engine, args: PushArgs) -> Result<i32, Error> {
    // A registry gets compressed layers whatever --compress says, and
    // hutch's images have no signatures to remove.
    let _ = (
        args.compress,
        args.disable_content_trust,
        args.remove_signatures,
    );
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
        credentials: args.creds.credentials()?,
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
