//! `hutch history` / `image history` and `image tree`: an image's build
//! steps and its layers.

use clap::Args;
use serde_json::{json, Value};

use super::images::human_size;
use super::template::Template;
use crate::container::images::{HistoryStep as Step, ImageRecord};
use crate::container::layertree::TreeItem;
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
    /// Show the layers built on the image's top layer (the images that need it) instead of its own
    #[arg(long)]
    pub whatrequires: bool,
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

/// The tree text for `img`: its id, names and size, then `items`, the
/// layers (each with its size and the images whose top layer it is).
fn tree_text(img: &ImageRecord, items: &[TreeItem]) -> String {
    let mut out = format!(
        "Image ID: {}\nTags:     [{}]\nSize:     {}\nImage Layers\n",
        img.id.short(),
        img.names.join(" "),
        human_size(img.size)
    );
    draw(items, "", &mut out);
    out
}

/// Appends `items` as tree lines below `prefix`, as gotree draws them.
fn draw(items: &[TreeItem], prefix: &str, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        let is_last = i + 1 == items.len();
        let l = &item.layer;
        out.push_str(prefix);
        out.push_str(if is_last { "└── " } else { "├── " });
        out.push_str(&format!(
            "ID: {} Size: {}",
            l.diff_id.short(),
            human_size(l.size)
        ));
        if !l.top_of.is_empty() {
            out.push_str(&format!(" Top Layer of: [{}]", l.top_of.join(" ")));
        }
        out.push('\n');
        let deeper = format!("{prefix}{}", if is_last { "    " } else { "│   " });
        draw(&item.items, &deeper, out);
    }
}

/// Prints the image's layers (or what requires them) as a tree.
pub fn tree(engine: &Engine, args: TreeArgs) -> Result<i32, Error> {
    let img = engine.find_image(&args.image)?;
    let items = engine.image_tree(&img, args.whatrequires)?;
    print!("{}", tree_text(&img, &items));
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::images::tests::image;
    use crate::container::layertree::TreeLayer;

    #[test]
    fn tree_draws_branches_as_gotree_does() {
        let img = image(json!([]), 2);
        let layer = |i: usize, top_of: &[&str]| TreeLayer {
            diff_id: img.layers[i].diff_id.clone(),
            size: 100,
            top_of: top_of.iter().map(|s| s.to_string()).collect(),
        };
        let leaf = |i, top_of| TreeItem {
            layer: layer(i, top_of),
            items: Vec::new(),
        };
        let items = [
            leaf(0, &["r/x:1"]),
            TreeItem {
                layer: layer(1, &[]),
                items: vec![leaf(0, &[]), leaf(1, &["a", "b"])],
            },
        ];
        let t = tree_text(&img, &items);
        let lines: Vec<&str> = t.lines().skip(3).collect();
        let (a, b) = (img.layers[0].diff_id.short(), img.layers[1].diff_id.short());
        assert_eq!(
            lines,
            [
                "Image Layers".to_string(),
                format!("├── ID: {a} Size: 100 B Top Layer of: [r/x:1]"),
                format!("└── ID: {b} Size: 100 B"),
                format!("    ├── ID: {a} Size: 100 B"),
                format!("    └── ID: {b} Size: 100 B Top Layer of: [a b]"),
            ]
        );
    }
}
