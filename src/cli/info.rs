//! `hutch info`.

use clap::Args;

use super::template::Template;
use crate::container::system::IdMap;
use crate::container::{Engine, OverlayKind};
use crate::error::Error;

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Output format: json or a Go template such as '{{.Store.GraphRoot}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Prints what hutch found on this host.
pub fn run(engine: &Engine, args: InfoArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let facts = engine.host_info()?;
    let overlay = match &facts.overlay {
        Ok(OverlayKind::Kernel) => "overlay (kernel)".to_string(),
        Ok(OverlayKind::Fuse) => "fuse-overlayfs".to_string(),
        Err(e) => format!("none ({})", crate::error::render_chain(e)),
    };
    let map_json = |m: &[IdMap]| {
        m.iter()
            .map(|m| serde_json::json!({"container_id": m.container, "host_id": m.host, "size": m.size}))
            .collect::<Vec<_>>()
    };
    let info = serde_json::json!({
        "host": {
            "arch": facts.arch,
            "kernel": facts.kernel,
            "cgroupVersion": facts.cgroup_version,
            "cgroupManager": facts.cgroup_manager,
            "cgroupManagerReason": facts.cgroup_manager_reason,
            "cgroupControllers": facts.cgroup_controllers,
            "idMappings": {
                "uidmap": map_json(&facts.maps.uids),
                "gidmap": map_json(&facts.maps.gids),
                "singleIdFallback": facts.maps.fallback_reason,
            },
            "networkHelpers": facts.network_helpers.iter().map(|h| serde_json::json!({"name": h.name, "path": h.path})).collect::<Vec<_>>(),
            "defaultNetwork": {"mode": facts.default_network, "reason": facts.default_network_reason},
            "eventLogger": crate::container::events::backend().name(),
        },
        "store": {
            "graphRoot": paths.root,
            "runRoot": facts.runroot,
            "runRootSource": paths.runroot_source.as_str(),
            "overlay": overlay,
        },
        "version": env!("CARGO_PKG_VERSION"),
    });
    match args.format.as_deref() {
        Some("json") => println!(
            "{}",
            serde_json::to_string_pretty(&info).unwrap_or_default()
        ),
        None => print_yaml(&info, 0),
        Some(f) => {
            let t = Template::parse_one("info", f)?;
            print!("{}", t.render(&go_names(&info))?);
        }
    }
    Ok(0)
}

/// Podman's Go field names for the JSON keys that differ from the key with
/// its first letter capitalised (`graphRoot` is `.Store.GraphRoot`).
const GO_NAMES: &[(&str, &str)] = &[
    ("cgroupVersion", "CgroupsVersion"),
    ("idMappings", "IDMappings"),
    ("uidmap", "UIDMap"),
    ("gidmap", "GIDMap"),
    ("container_id", "ContainerID"),
    ("host_id", "HostID"),
];

/// The object `--format` templates see: the JSON with Podman's Go field
/// names, `.Host.OS` and `.Version.Version` as in `podman info`.
fn go_names(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut out = serde_json::Map::new();
            for (k, val) in map {
                let name = match GO_NAMES.iter().find(|(j, _)| j == k) {
                    Some((_, g)) => (*g).to_string(),
                    None => k[..1].to_uppercase() + &k[1..],
                };
                let val = match (name.as_str(), val) {
                    ("Version", Value::String(s)) => serde_json::json!({ "Version": s }),
                    (_, other) => go_names(other),
                };
                out.insert(name, val);
            }
            if let Some(Value::Object(host)) = out.get_mut("Host") {
                host.insert("OS".into(), std::env::consts::OS.into());
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(go_names).collect()),
        other => other.clone(),
    }
}

/// A small YAML-like rendering of a JSON value, as `podman info` prints.
fn print_yaml(v: &serde_json::Value, indent: usize) {
    let pad = " ".repeat(indent);
    if let serde_json::Value::Object(map) = v {
        for (k, val) in map {
            match val {
                serde_json::Value::Object(_) => {
                    println!("{pad}{k}:");
                    print_yaml(val, indent + 2);
                }
                serde_json::Value::Array(items) => {
                    println!("{pad}{k}:");
                    for item in items {
                        match item {
                            serde_json::Value::Object(m) => {
                                let mut first = true;
                                for (ik, iv) in m {
                                    let lead = if first { "- " } else { "  " };
                                    first = false;
                                    println!("{pad}  {lead}{ik}: {}", scalar(iv));
                                }
                            }
                            other => println!("{pad}  - {}", scalar(other)),
                        }
                    }
                }
                other => println!("{pad}{k}: {}", scalar(other)),
            }
        }
    }
}

fn scalar(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "null".into(),
        other => other.to_string(),
    }
}
