//! `hutch cdi generate`: a Container Device Interface spec for the host's
//! NVIDIA GPUs, written without root for `--device nvidia.com/gpu=…`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::container::cdi::generate;
use crate::error::Error;

/// `hutch cdi` subcommands.
#[derive(Debug, Subcommand)]
pub enum CdiCommand {
    /// Write a CDI spec for this host's NVIDIA GPUs (device nodes, driver libraries, utilities)
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Write the spec to FILE (its directory is made) instead of standard output; keep it in ~/.config/cdi
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Spec format: yaml or json (default: json for an --output ending in .json, else yaml)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Look for the device nodes (DIR/dev), libraries and utilities below DIR, for a driver unpacked under a prefix
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub driver_root: PathBuf,
}

/// Runs a `cdi` subcommand.
pub fn run(cmd: CdiCommand) -> Result<i32, Error> {
    let CdiCommand::Generate(args) = cmd;
    let is_json = match args.format.as_deref() {
        Some("json") => true,
        Some("yaml") => false,
        Some(other) => {
            return Err(Error::Usage(format!(
                "invalid --format {other:?}: use yaml or json"
            )))
        }
        None => args
            .output
            .as_ref()
            .is_some_and(|p| p.extension().is_some_and(|e| e == "json")),
    };
    let cdi_err = |e: generate::Error| Error::from(crate::container::Error::Cdi(e.into()));
    let generated = generate::generate(&args.driver_root).map_err(cdi_err)?;
    for path in &generated.skipped {
        super::warn(&format!(
            "{}: not a device node this user can open, left out of the spec",
            path.display()
        ));
    }
    let text = generate::render(&generated.spec, is_json).map_err(cdi_err)?;
    match &args.output {
        Some(path) => generate::write(path, &text).map_err(cdi_err)?,
        None => print!("{text}"),
    }
    Ok(0)
}
