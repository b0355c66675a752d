//! `hutch info`.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;
use crate::{cgroup, container, net, userns};

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Output format: json
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Prints what hutch found on this host.
pub fn run(engine: &Engine, args: InfoArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let runroot = paths.ensure_runroot()?;
    let maps = userns::current_user_maps(paths.etc())?;
    let layout = cgroup::detect_host(std::path::Path::new("/proc"));
    let host = super::resources::host();
    let (manager, why) = match cgroup::decide(&host, &cgroup::Options::default()) {
        Ok(cgroup::Decision::Systemd { .. }) => ("systemd", String::new()),
        Ok(cgroup::Decision::Cgroupfs { .. }) => ("cgroupfs", String::new()),
        Ok(cgroup::Decision::Skip { warning }) => ("none", warning.unwrap_or_default()),
        Err(e) => ("none", e.to_string()),
    };
    let controllers = host
        .own
        .as_ref()
        .and_then(|own| {
            // What a scope of the user manager gets: the controllers of
            // user@UID.service, else those of our own cgroup.
            let service = own
                .ancestors()
                .find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("user@"))
                })
                .unwrap_or(own);
            std::fs::read_to_string(service.join("cgroup.controllers")).ok()
        })
        .unwrap_or_default();
    let helpers = net::find_helpers(&std::env::var("PATH").unwrap_or_default());
    let default_net = net::default_mode(&helpers);
    std::fs::create_dir_all(&paths.root)
        .map_err(|e| Error::Usage(format!("creating {}: {e}", paths.root.display())))?;
    let overlay = match container::probe_overlay(&paths.root, &maps) {
        Ok(container::OverlayKind::Kernel) => "overlay (kernel)".to_string(),
        Ok(container::OverlayKind::Fuse) => "fuse-overlayfs".to_string(),
        Err(e) => format!("none ({})", crate::error::render_chain(&e)),
    };
    let map_json = |m: &[userns::IdMap]| {
        m.iter()
            .map(|m| serde_json::json!({"container_id": m.container, "host_id": m.host, "size": m.size}))
            .collect::<Vec<_>>()
    };
    let info = serde_json::json!({
        "host": {
            "arch": crate::image::Platform::host().architecture,
            "kernel": nix::sys::utsname::uname().map(|u| u.release().to_string_lossy().into_owned()).unwrap_or_default(),
            "cgroupVersion": layout.version(),
            "cgroupManager": manager,
            "cgroupManagerReason": why,
            "cgroupControllers": controllers.split_whitespace().collect::<Vec<_>>(),
            "idMappings": {
                "uidmap": map_json(&maps.uids),
                "gidmap": map_json(&maps.gids),
                "singleIdFallback": maps.fallback_reason,
            },
            "networkHelpers": helpers.iter().map(|h| serde_json::json!({"name": h.name, "path": h.path})).collect::<Vec<_>>(),
            "defaultNetwork": {"mode": default_net.0.name(), "reason": default_net.1},
        },
        "store": {
            "graphRoot": paths.root,
            "runRoot": runroot,
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
        Some(f) => return Err(Error::Usage(format!("unknown --format {f:?}: use json"))),
    }
    Ok(0)
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
