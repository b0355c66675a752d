//! `hutch pull`.

use clap::Args;

use super::registry::{CredsArgs, RegistryArgs};
use super::StderrReporter;
use crate::container::Engine;
use crate::error::Error;
use crate::image::{self, Platform};

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
    /// Choose the image for this architecture instead of the host's
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Choose the image for this operating system instead of linux
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Choose the image for this architecture variant (v7, v8, ...)
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Pull every tag of the repository
    #[arg(short, long)]
    pub all_tags: bool,
    /// Print nothing but the image id
    #[arg(short, long)]
    pub quiet: bool,
    /// Accepted for Docker compatibility; does nothing (as in Podman)
    #[arg(long)]
    pub disable_content_trust: bool,
    #[command(flatten)]
    pub access: RegistryArgs,
    #[command(flatten)]
    pub creds: CredsArgs,
}

/// The platform `--platform`, or `--os`/`--arch`/`--variant` over the
/// host's, ask for.
fn platform(args: &PullArgs) -> Result<Platform, Error> {
    if args.platform.is_some() && (args.arch.is_some() || args.os.is_some()) {
        return Err(Error::Usage(
            "--platform option can not be specified with --arch or --os".into(),
        ));
    }
    let base = match &args.platform {
        Some(p) => Platform::parse(p)?,
        None => Platform::host(),
    };
    Ok(base.with_parts(
        args.os.as_deref(),
        args.arch.as_deref(),
        args.variant.as_deref(),
    ))
}

/// Pulls each image (each tag of its repository with `--all-tags`) and
/// prints its id.
pub fn run(engine: &Engine, args: PullArgs) -> Result<i32, Error> {
    let mut opts = args.access.pull_options(platform(&args)?, args.quiet);
    opts.credentials = args.creds.credentials()?;
    let _ = args.disable_content_trust;
    if let Some(reason) = engine.fallback_reason()? {
        super::warn(&format!("{reason}: using a single-id map; images with files owned by other ids cannot be unpacked faithfully"));
    }
    let reporter = StderrReporter { quiet: args.quiet };
    for name in &args.images {
        let names = if args.all_tags {
            image::check_authfile(opts.authfile.as_deref())?;
            image::all_tags(engine.paths(), name, &opts)?
        } else {
            vec![name.clone()]
        };
        for n in &names {
            let rec = engine.pull(n, &opts, &reporter)?;
            println!("{}", rec.id.hex());
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: PullArgs,
    }

    fn platform_of(argv: &[&str]) -> Result<String, Error> {
        let c = Cmd::try_parse_from(std::iter::once("x").chain(argv.iter().copied())).unwrap();
        platform(&c.args).map(|p| p.to_string())
    }

    #[test]
    fn arch_os_and_variant_override_the_host() {
        assert_eq!(
            platform_of(&["--arch", "arm64", "i"]).unwrap(),
            "linux/arm64"
        );
        assert_eq!(
            platform_of(&["--arch", "arm", "--variant", "v7", "i"]).unwrap(),
            "linux/arm/v7"
        );
        assert!(platform_of(&["--os", "windows", "i"])
            .unwrap()
            .starts_with("windows/"));
        assert_eq!(
            platform_of(&["--platform", "linux/arm64", "--variant", "v8", "i"]).unwrap(),
            "linux/arm64/v8"
        );
        let e = platform_of(&["--platform", "linux/arm64", "--arch", "amd64", "i"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--platform option can not be specified with --arch or --os"
        );
    }
}
