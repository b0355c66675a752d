//! `hutch pull`.

use clap::Args;

use super::StderrReporter;
use crate::container::Engine;
use crate::error::Error;
use crate::image::{self, Platform, PullOptions};
use crate::storage::Store;
use crate::userns;

#[derive(Debug, Args)]
pub struct PullArgs {
    /// Image to pull: name[:tag][@digest]
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Pull the image for this platform (os/arch[/variant]) instead of the host's
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Print nothing but the image id
    #[arg(short, long)]
    pub quiet: bool,
    /// Require HTTPS and verify certificates (false allows plain HTTP)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Read registry credentials from this file only
    #[arg(long, value_name = "PATH", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<std::path::PathBuf>,
    /// Use the CA and client certificates in this directory for every registry
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<std::path::PathBuf>,
}

/// Pulls each image and prints its id.
pub fn run(engine: &Engine, args: PullArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let platform = match &args.platform {
        Some(p) => Platform::parse(p)?,
        None => Platform::host(),
    };
    let opts = PullOptions {
        platform,
        quiet: args.quiet,
        tls_verify: args.tls_verify,
        authfile: args.authfile.clone(),
        cert_dir: args.cert_dir.clone(),
    };
    let maps = userns::current_user_maps(paths.etc())?;
    if let Some(reason) = &maps.fallback_reason {
        super::warn(&format!("{reason}: using a single-id map; images with files owned by other ids cannot be unpacked faithfully"));
    }
    let store = Store::open(&paths.root)?;
    let reporter = StderrReporter { quiet: args.quiet };
    for name in &args.images {
        let rec = image::pull(paths, &store, name, &opts, &maps, &reporter)?;
        println!("{}", rec.id.hex());
    }
    Ok(0)
}
