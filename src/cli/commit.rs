//! `hutch commit`: make a new image from a container's changes.

use std::path::PathBuf;

use clap::Args;

use crate::container::Engine;
use crate::error::Error;
use crate::files::CommitOptions;

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Apply a Dockerfile instruction to the image config (CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Comment recorded in the image history
    #[arg(short, long, value_name = "MESSAGE")]
    pub message: Option<String>,
    /// Author recorded in the image
    #[arg(short, long, value_name = "AUTHOR")]
    pub author: Option<String>,
    /// Pause the container while committing (accepted; hutch does not pause)
    #[arg(short, long)]
    pub pause: bool,
    /// Print nothing but the image id (the default output already is only the id)
    #[arg(short, long)]
    pub quiet: bool,
    /// Format of the image's manifest and config: oci (default) or docker
    #[arg(short, long, value_name = "FORMAT", default_value = "oci")]
    pub format: String,
    /// Write the new image's id to this file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Record the container's volumes as the image's volumes
    #[arg(long)]
    pub include_volumes: bool,
    /// Make the image's whole file system one layer
    #[arg(short, long)]
    pub squash: bool,
    /// The container, by name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Name for the new image (`localhost/NAME:latest` for a bare name)
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,
}

/// Commits the container and prints the new image id.
pub fn run(engine: &Engine, args: CommitArgs) -> Result<i32, Error> {
    let _ = (args.pause, args.quiet);
    let is_docker = match args.format.as_str() {
        "oci" => false,
        "docker" => true,
        other => return Err(Error::Usage(format!("unrecognized image format {other:?}"))),
    };
    let opts = CommitOptions {
        image: args.image,
        changes: args.change,
        message: args.message,
        author: args.author,
        is_docker,
        include_volumes: args.include_volumes,
        squash: args.squash,
    };
    let id = engine.commit(&args.container, &opts)?;
    if let Some(path) = &args.iidfile {
        std::fs::write(path, id.hex()).map_err(|source| super::ioerr::IoError::WriteOutput {
            path: path.clone(),
            source,
        })?;
    }
    println!("{}", id.hex());
    Ok(0)
}
