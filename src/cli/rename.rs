//! `hutch rename`: gives a container a new name, running or not.

use clap::Args;

use crate::container::manage::is_valid_container_name;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// Its new name
    #[arg(value_name = "NAME")]
    pub new_name: String,
}

/// Renames a container.
pub fn run(engine: &Engine, args: RenameArgs) -> Result<i32, Error> {
    if !is_valid_container_name(&args.new_name) {
        return Err(Error::Usage(format!(
            "invalid container name {:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*",
            args.new_name
        )));
    }
    engine.rename(&args.container, &args.new_name)?;
    Ok(0)
}
