//! `hutch push`.

use std::path::PathBuf;

use clap::Args;

use super::StderrReporter;
use crate::container::Engine;
use crate::error::Error;
use crate::image::{self, ManifestFormat, PushOptions};
use crate::storage::Store;

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
    /// Require HTTPS and verify certificates (false allows plain HTTP)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Directory with the registry's CA (*.crt) and client certificate (*.cert, *.key)
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Credentials file to read instead of ${XDG_RUNTIME_DIR}/containers/auth.json
    #[arg(long, value_name = "PATH", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
    /// Write the digest of the pushed manifest to this file
    #[arg(long, value_name = "PATH")]
    pub digestfile: Option<PathBuf>,
    /// Print no progress
    #[arg(short, long)]
    pub quiet: bool,
}

/// Pushes the image and optionally records the manifest digest.
pub fn run(engine: &Engine, args: PushArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let opts = PushOptions {
        format: match &args.format {
            Some(f) => ManifestFormat::parse(f)?,
            None => ManifestFormat::default(),
        },
        compression: args
            .compression_format
            .as_deref()
            .map(image::parse_compression)
            .transpose()?,
        tls_verify: args.tls_verify,
        cert_dir: args.cert_dir,
        authfile: args.authfile,
        quiet: args.quiet,
    };
    let store = Store::open(&paths.root)?;
    let reporter = StderrReporter { quiet: args.quiet };
    let pushed = image::push(
        paths,
        &store,
        &args.image,
        args.destination.as_deref(),
        &opts,
        &reporter,
    )?;
    if let Some(f) = &args.digestfile {
        std::fs::write(f, pushed.digest.to_string())
            .map_err(|e| Error::Usage(format!("writing the digest to {}: {e}", f.display())))?;
    }
    Ok(0)
}
