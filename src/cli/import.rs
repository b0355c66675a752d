//! `hutch import` and `hutch export`: a root filesystem tarball to an
//! image, and a container's filesystem to a tarball.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use clap::Args;

use crate::container::Engine;
use crate::error::Error;
use crate::files;
use crate::image::import::{self, ImportOptions};
use crate::storage::Store;
use crate::userns;

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
    let paths = engine.paths();
    let _ = args.quiet;
    let mut config = serde_json::Map::new();
    files::apply_changes(&mut config, &args.change)?;
    let opts = ImportOptions {
        name: args.name.as_deref().map(import::qualify_name).transpose()?,
        config,
        message: args.message,
        created: crate::container::now_rfc3339(),
    };
    let maps = userns::current_user_maps(paths.etc())?;
    let store = Store::open(&paths.root)?;
    let mut input: Box<dyn Read> = if args.file == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            File::open(&args.file)
                .map_err(|e| Error::Usage(format!("opening {}: {e}", args.file)))?,
        )
    };
    let id = import::import(&store, &mut input, opts, &maps)?;
    println!("{}", id.hex());
    Ok(0)
}

/// Writes the container's filesystem as a tar.
pub fn export(engine: &Engine, args: ExportArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let maps = userns::current_user_maps(paths.etc())?;
    let store = Store::open(&paths.root)?;
    super::output::write_to(args.output.as_deref(), "a tar", |out| {
        crate::container::files::export(&store, &args.container, out, &maps)?;
        Ok(())
    })?;
    Ok(0)
}
