//! `hutch version`.

use clap::Args;

use crate::error::Error;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format: json
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Prints the version.
pub fn run(args: VersionArgs) -> Result<i32, Error> {
    let version = env!("CARGO_PKG_VERSION");
    let arch = crate::image::Platform::host();
    match args.format.as_deref() {
        Some("json") => println!(
            "{}",
            serde_json::json!({"Client": {"Version": version, "OsArch": arch.to_string()}})
        ),
        None => {
            println!("Version:      {version}");
            println!("OS/Arch:      {}/{}", arch.os, arch.architecture);
        }
        Some(f) => return Err(Error::Usage(format!("unknown --format {f:?}: use json"))),
    }
    Ok(0)
}
