//! `hutch tag` and `hutch untag` (also under `image`): add and remove
//! names of a stored image.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image, by name or id
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// New names (`localhost/NAME:latest` for a bare name)
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UntagArgs {
    /// The image, by name or id
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Names to remove (all of the image's names when none is given)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

/// Adds the names.
pub fn tag(engine: &Engine, args: TagArgs) -> Result<i32, Error> {
    engine.tag_image(&args.image, &args.names)?;
    Ok(0)
}

/// Removes the names (all of them without arguments); the image stays.
pub fn untag(engine: &Engine, args: UntagArgs) -> Result<i32, Error> {
    engine.untag_image(&args.image, &args.names)?;
    Ok(0)
}
