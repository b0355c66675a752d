//! `hutch diff`: what a container changed compared with its image.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;
use crate::storage::Store;
use crate::userns;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Prints one `A`, `C` or `D` line per changed path, sorted by path.
pub fn run(engine: &Engine, args: DiffArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let maps = userns::current_user_maps(paths.etc())?;
    let store = Store::open(&paths.root)?;
    let changes = crate::container::files::diff(&store, &args.container, &maps)?;
    let mut out = String::new();
    for c in changes {
        out.push(c.kind.letter());
        out.push(' ');
        out.push_str(&c.path.to_string_lossy());
        out.push('\n');
    }
    print!("{out}");
    Ok(0)
}
