//! `hutch rename`: gives a container a new name, running or not.

use clap::Args;

use crate::container;
use crate::container::Engine;
use crate::error::Error;
use crate::storage::{self, Store};

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
    let paths = engine.paths();
    if !storage::is_valid_container_name(&args.new_name) {
        return Err(Error::Usage(format!(
            "invalid container name {:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*",
            args.new_name
        )));
    }
    let store = Store::open(&paths.root)?;
    let no_such = || container::Error::NoSuchContainer(args.container.clone());
    let info = store.find_container(&args.container)?.ok_or_else(no_such)?;
    match store.rename_container(&info.record.id, &args.new_name) {
        Ok(()) => Ok(0),
        Err(storage::Error::ContainerNotKnown { .. }) => Err(no_such().into()),
        Err(e) => Err(e.into()),
    }
}
