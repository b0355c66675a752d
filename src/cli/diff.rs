//! `hutch diff`: what a container changed compared with its image.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

/// Prints one `A`, `C` or `D` line per changed path, sorted by path.
pub fn run(engine: &Engine, args: DiffArgs) -> Result<i32, Error> {
    let changes = engine.diff(&args.container)?;
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
