//! `hutch rmi` / `hutch image rm`.

use clap::Args;

use crate::container::images::Removed;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Images to remove, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Remove even if a container uses the image
    #[arg(short, long)]
    pub force: bool,
}

/// Removes each image; keeps going after a failure and reports the first.
pub fn run(engine: &Engine, args: RmiArgs) -> Result<i32, Error> {
    let mut first_err = None;
    for res in engine.remove_images(&args.images, args.force)? {
        match res {
            Ok(Removed::Untagged(n)) => println!("Untagged: {n}"),
            Ok(Removed::Deleted(id)) => println!("Deleted: {}", id.hex()),
            Err(e) => {
                let e = Error::from(e);
                if first_err.is_some() {
                    super::report_error(&e);
                } else {
                    first_err = Some(e);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(0),
    }
}
