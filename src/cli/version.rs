//! `hutch version`.

use clap::Args;

use super::template::Template;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Output format: json or a Go template such as '{{.Client.Version}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Prints the version.
pub fn run(args: VersionArgs) -> Result<i32, Error> {
    let version = env!("CARGO_PKG_VERSION");
    let arch = crate::image::Platform::host();
    let object = serde_json::json!({
        "Client": {"Version": version, "OsArch": arch.to_string(), "Os": arch.os},
    });
    match args.format.as_deref() {
        Some("json") => println!("{object}"),
        None => {
            println!("Version:      {version}");
            println!("OS/Arch:      {}/{}", arch.os, arch.architecture);
        }
        Some(f) => {
            let t = Template::parse_one("version", f)?;
            print!("{}", t.render(&object)?);
        }
    }
    Ok(0)
}
