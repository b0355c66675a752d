//! `hutch import` and `hutch export`: a root filesystem tarball to an
//! image, and a container's filesystem to a tarball.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::container::images::{ImportRequest, Input};
use crate::container::Engine;
use crate::error::Error;
use crate::image::Platform;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Comment recorded in the image history
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// Print nothing but the image id (the default output already is only the id)
    #[arg(short, long)]
    pub quiet: bool,
    /// Record this architecture instead of the host's
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Record this operating system instead of linux
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Record this architecture variant (v7, v8, ...)
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// The tarball, or - for standard input
    #[arg(value_name = "FILE")]
    pub file: String,
    /// Name for the new image (`localhost/NAME:latest` for a bare name)
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The container, by name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Imports the tarball and prints the new image's id.
pub fn import(engine: &Engine, args: ImportArgs) -> Result<i32, Error> {
    let _ = args.quiet;
    let is_platform_given = args.arch.is_some() || args.os.is_some() || args.variant.is_some();
    let req = ImportRequest {
        changes: args.change,
        message: args.message,
        name: args.name,
        platform: is_platform_given.then(|| {
            Platform::host().with_parts(
                args.os.as_deref(),
                args.arch.as_deref(),
                args.variant.as_deref(),
            )
        }),
    };
    let id = if args.file == "-" {
        engine.import_image(Input::Reader(&mut std::io::stdin().lock()), req)?
    } else {
        engine.import_image(Input::File(Path::new(&args.file)), req)?
    };
    println!("{}", id.hex());
    Ok(0)
}

/// Writes the container's filesystem as a tar.
pub fn export(engine: &Engine, args: ExportArgs) -> Result<i32, Error> {
    super::output::write_to(args.output.as_deref(), "a tar", |out| {
        engine.export_container(&args.container, out)?;
        Ok(())
    })?;
    Ok(0)
}
