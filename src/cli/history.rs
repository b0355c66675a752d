//! `hutch history` / `image history` and `image tree`: an image's build
//! steps and its layers.

use clap::Args;
use serde_json::{json, Value};

use super::images::human_size;
use super::template::Template;
use crate::container::Engine;
use crate::error::Error;
use crate::paths::Paths;
use crate::storage::{ImageRecord, Store};

/// How much of CREATED BY a table shows unless `--no-trunc`.
const CREATED_BY_WIDTH: usize = 45;

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Do not truncate ids and commands
    #[arg(long)]
    pub no_trunc: bool,
    /// Show only the ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format: table (default), json, or a Go template such as '{{.CreatedBy}} {{.Size}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// The image, by name or id
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The image, by name or id
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

/// One history row.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    id: String,
    created: String,
    created_by: String,
    size: u64,
    comment: String,
    tags: Vec<String>,
}

fn find(paths: &Paths, store: &Store, name: &str) -> Result<ImageRecord, Error> {
    Ok(
        crate::image::find_local(paths, store, name)?.ok_or_else(|| {
            crate::storage::Error::ImageNotKnown {
                name: name.to_string(),
            }
        })?,
    )
}

/// The steps of `img`, newest first: each history entry, those that made a
/// layer paired with the layers in order (the image id on the newest).
fn steps(img: &ImageRecord) -> Vec<Step> {
    let config: Value = serde_json::from_slice(&img.config).unwrap_or(Value::Null);
    let history = config["history"].as_array().cloned().unwrap_or_default();
    let mut layers = img.layers.iter();
    let mut out = Vec::new();
    for h in &history {
        let is_empty = h["empty_layer"].as_bool().unwrap_or(false);
        let size = if is_empty {
            0
        } else {
            layers.next().map_or(0, |l| l.size)
        };
        out.push(Step {
            id: "<missing>".into(),
            created: h["created"].as_str().unwrap_or_default().to_string(),
            created_by: h["created_by"].as_str().unwrap_or_default().to_string(),
            size,
            comment: h["comment"].as_str().unwrap_or_default().to_string(),
            tags: Vec::new(),
        });
    }
    // Layers the history does not describe.
    for l in layers {
        out.push(Step {
            id: "<missing>".into(),
            created: String::new(),
            created_by: String::new(),
            size: l.size,
            comment: String::new(),
            tags: Vec::new(),
        });
    }
    out.reverse();
    if let Some(top) = out.first_mut() {
        top.id = img.id.hex().to_string();
        top.tags = img.names.clone();
    }
    out
}

/// Prints the image's history.
pub fn history(engine: &Engine, args: HistoryArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let store = Store::open(&paths.root)?;
    let img = find(paths, &store, &args.image)?;
    let rows = steps(&img);
    let id = |s: &Step| {
        if args.no_trunc || s.id == "<missing>" {
            s.id.clone()
        } else {
            s.id[..12.min(s.id.len())].to_string()
        }
    };
    let size = human_size;
    if args.quiet {
        for s in &rows {
            println!("{}", id(s));
        }
        return Ok(0);
    }
    let objects: Vec<Value> = rows
        .iter()
        .map(|s| {
            let by = if args.no_trunc || s.created_by.chars().count() <= CREATED_BY_WIDTH {
                s.created_by.clone()
            } else {
                let cut: String = s.created_by.chars().take(CREATED_BY_WIDTH - 3).collect();
                format!("{cut}...")
            };
            json!({
                "ID": id(s),
                "Created": s.created.chars().take(19).collect::<String>().replace('T', " "),
                "CreatedAt": s.created,
                "CreatedBy": by,
                "Size": size(s.size),
                "Comment": s.comment,
                "Tags": s.tags,
            })
        })
        .collect();
    let text = match args.format.as_deref() {
        Some("json") => {
            println!(
                "{}",
                serde_json::to_string_pretty(&objects).unwrap_or_default()
            );
            return Ok(0);
        }
        None | Some("table") => {
            "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
        }
        Some(t) => t,
    };
    let t = Template::parse(text)?;
    t.check_fields(&[
        "ID",
        "Created",
        "CreatedAt",
        "CreatedBy",
        "Size",
        "Comment",
        "Tags",
    ])?;
    print!(
        "{}",
        t.render_all(&objects, &|p| match p.join(".").as_str() {
            "CreatedBy" => "CREATED BY".into(),
            "CreatedAt" => "CREATED AT".into(),
            other => other.to_uppercase(),
        })?
    );
    Ok(0)
}

/// The tree text for `img`: its id, names and size, then its layers
/// bottom first.
fn tree_text(img: &ImageRecord) -> String {
    let mut out = format!(
        "Image ID: {}\nTags:     [{}]\nSize:     {}\nImage Layers\n",
        img.id.short(),
        img.names.join(" "),
        human_size(img.size)
    );
    let n = img.layers.len();
    for (i, l) in img.layers.iter().enumerate() {
        let branch = if i + 1 == n { "└──" } else { "├──" };
        out.push_str(&format!(
            "{branch} ID: {} Size: {}",
            l.diff_id.short(),
            human_size(l.size)
        ));
        if i + 1 == n && !img.names.is_empty() {
            out.push_str(&format!(" Top Layer of: [{}]", img.names.join(" ")));
        }
        out.push('\n');
    }
    out
}

/// Prints the image's layers as a tree.
pub fn tree(engine: &Engine, args: TreeArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let store = Store::open(&paths.root)?;
    let img = find(paths, &store, &args.image)?;
    print!("{}", tree_text(&img));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Compression, Digest, LayerRef};

    fn image(history: Value, layers: usize) -> ImageRecord {
        let config = json!({"history": history}).to_string().into_bytes();
        ImageRecord {
            id: Digest::of(&config),
            names: vec!["r/x:1".into()],
            manifest_digest: Digest::of(b"m"),
            layers: (0..layers)
                .map(|i| LayerRef {
                    diff_id: Digest::of(format!("d{i}").as_bytes()),
                    blob: Digest::of(format!("b{i}").as_bytes()),
                    compression: Compression::Gzip,
                    size: 100 * (i as u64 + 1),
                })
                .collect(),
            config,
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            created: None,
            size: 0,
        }
    }

    #[test]
    fn steps_pair_history_with_layers_newest_first() {
        let img = image(
            json!([
                {"created_by": "add base"},
                {"created_by": "set cmd", "empty_layer": true},
                {"created_by": "add app", "comment": "c"}
            ]),
            2,
        );
        let s = steps(&img);
        let by: Vec<&str> = s.iter().map(|s| s.created_by.as_str()).collect();
        assert_eq!(by, vec!["add app", "set cmd", "add base"]);
        let sizes: Vec<u64> = s.iter().map(|s| s.size).collect();
        assert_eq!(sizes, vec![200, 0, 100]);
        assert_eq!(s[0].id, img.id.hex());
        assert_eq!(s[1].id, "<missing>");
    }

    #[test]
    fn tree_lists_layers_bottom_first() {
        let img = image(json!([]), 2);
        let t = tree_text(&img);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[3], "Image Layers");
        assert!(lines[4].starts_with("├── ID: "), "{t}");
        assert!(
            lines[5].starts_with("└── ID: ") && lines[5].ends_with("Top Layer of: [r/x:1]"),
            "{t}"
        );
    }
}
