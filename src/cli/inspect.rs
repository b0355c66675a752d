//! `hutch image inspect`.

use clap::Args;

use crate::error::Error;
use crate::image;
use crate::paths::Paths;
use crate::storage::{ImageRecord, Store};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Images to inspect, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Output format: json (default)
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Prints a JSON array with one object per image.
pub fn run(paths: &Paths, args: InspectArgs) -> Result<i32, Error> {
    if let Some(f) = args.format.as_deref() {
        if f != "json" {
            return Err(Error::Usage(format!(
                "unknown --format {f:?}: only json is supported"
            )));
        }
    }
    let store = Store::open(&paths.root)?;
    let mut out = Vec::new();
    for name in &args.images {
        match image::find_local(paths, &store, name)? {
            Some(rec) => out.push(to_json(&rec)),
            None => {
                return Err(Error::Usage(format!("{name}: image not known")));
            }
        }
    }
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(0)
}

/// The inspect object for one image (Podman's field names).
pub fn to_json(rec: &ImageRecord) -> serde_json::Value {
    let config: serde_json::Value = serde_json::from_slice(&rec.config).unwrap_or_default();
    let repo_digests: Vec<String> = rec
        .names
        .iter()
        .map(|n| {
            let slash = n.rfind('/').map_or(0, |i| i + 1);
            let repo = match n[slash..].find(':') {
                Some(i) => &n[..slash + i],
                None => n.as_str(),
            };
            format!("{repo}@{}", rec.manifest_digest)
        })
        .collect();
    serde_json::json!({
        "Id": rec.id.hex(),
        "Digest": rec.manifest_digest.to_string(),
        "RepoTags": rec.names,
        "RepoDigests": repo_digests,
        "Created": rec.created,
        "Architecture": rec.architecture,
        "Os": rec.os,
        "Variant": rec.variant,
        "Size": rec.size,
        "Config": config.get("config").cloned().unwrap_or(serde_json::Value::Null),
        "RootFS": {
            "Type": "layers",
            "Layers": rec.layers.iter().map(|l| l.diff_id.to_string()).collect::<Vec<_>>(),
        },
    })
}
