//! `hutch diff`: what a container changed compared with its image.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub container: Option<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
}

/// Prints one `A`, `C` or `D` line per changed path, sorted by path.
pub fn run(engine: &Engine, args: DiffArgs) -> Result<i32, Error> {
    let name = super::pick::one(engine, args.container, args.latest.latest, None)?;
    let changes = engine.diff(&name)?;
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
