//! `hutch commit`: make a new image from a container's changes.

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
    let opts = CommitOptions {
        image: args.image,
        changes: args.change,
        message: args.message,
        author: args.author,
    };
    let id = engine.commit(&args.container, &opts)?;
    println!("{}", id.hex());
    Ok(0)
}
