//! `hutch pull`.

use clap::Args;

use super::registry::RegistryArgs;
use super::StderrReporter;
use crate::container::Engine;
use crate::error::Error;
use crate::image::Platform;

#[derive(Debug, Args)]
#[command(
    mut_arg("authfile", |a| a.help("Read registry credentials from this file only")),
    mut_arg("cert_dir", |a| a.help("Use the CA and client certificates in this directory for every registry")),
)]
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
    #[command(flatten)]
    pub access: RegistryArgs,
}

/// Pulls each image and prints its id.
pub fn run(engine: &Engine, args: PullArgs) -> Result<i32, Error> {
    let platform = match &args.platform {
        Some(p) => Platform::parse(p)?,
        None => Platform::host(),
    };
    let opts = args.access.pull_options(platform, args.quiet);
    if let Some(reason) = engine.fallback_reason()? {
        super::warn(&format!("{reason}: using a single-id map; images with files owned by other ids cannot be unpacked faithfully"));
    }
    let reporter = StderrReporter { quiet: args.quiet };
    for name in &args.images {
        let rec = engine.pull(name, &opts, &reporter)?;
        println!("{}", rec.id.hex());
    }
    Ok(0)
}
