//! `hutch history` / `image history` and `image tree`: an image's build
//! steps and its layers.

use clap::Args;
use serde_json::{json, Value};

use super::images::human_size;
use super::template::Template;
use crate::container::images::{HistoryStep as Step, ImageRecord};
use crate::container::Engine;
use crate::error::Error;

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
    /// Show creation times as ages (3 years ago); --human=false shows the time
    #[arg(short = 'H', long, default_value = "true")]
    pub human: bool,
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

/// Prints the image's history.
pub fn history(engine: &Engine, args: HistoryArgs) -> Result<i32, Error> {
    let rows = engine.image_history(&args.image)?;
    let id = |s: &Step| {
        if args.no_trunc || s.id == "<missing>" {
            s.id.clone()
        } else {
            s.id[..12.min(s.id.len())].to_string()
        }
    };
    let size = human_size;
    let now = super::units::now_nanos();
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
                "Created": super::units::created(&s.created, args.human, now),
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
    let t = Template::parse_as("history", text)?;
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
/// bottom first with their uncompressed `sizes`.
fn tree_text(img: &ImageRecord, sizes: &[u64]) -> String {
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
            human_size(sizes.get(i).copied().unwrap_or(l.size))
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
    let img = engine.find_image(&args.image)?;
    let sizes = engine.layer_sizes(&img)?;
    print!("{}", tree_text(&img, &sizes));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::images::tests::image;

    #[test]
    fn tree_lists_layers_bottom_first() {
        let img = image(json!([]), 2);
        let t = tree_text(&img, &[100, 200]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[3], "Image Layers");
        assert!(lines[4].starts_with("├── ID: "), "{t}");
        assert!(
            lines[5].starts_with("└── ID: ") && lines[5].ends_with("Top Layer of: [r/x:1]"),
            "{t}"
        );
    }
}
