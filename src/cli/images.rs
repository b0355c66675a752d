//! `hutch images` / `hutch image ls`.

use clap::Args;

use super::image_filter as filter;
use super::template::Template;
use crate::container::images::{image_labels, ImageRecord};
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show only image ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Show full image ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Show manifest digests
    #[arg(long)]
    pub digests: bool,
    /// Show all images, also the intermediate images of builds
    #[arg(short, long)]
    pub all: bool,
    /// Output format: table (default), json, or a Go template such as '{{.Repository}}:{{.Tag}} {{.ID}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show only images that match: reference=PATTERN, dangling=true|false, before=IMAGE, since=IMAGE, label=KEY[=VALUE]
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Show only images whose name matches (as --filter reference=IMAGE)
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,
    /// Print no header row
    #[arg(short, long)]
    pub noheading: bool,
    /// Sort by created (default, newest first), id, repository, size or tag
    #[arg(long, value_name = "KEY", default_value = "created")]
    pub sort: String,
}

/// Lists the store's images.
pub fn run(engine: &Engine, args: ImagesArgs) -> Result<i32, Error> {
    let mut given = args.filter.clone();
    if let Some(image) = &args.image {
        given.push(format!("reference={image}"));
    }
    let filters = filter::parse(&given)?;
    let mut images = engine.list_images(&filters)?;
    if !args.all {
        let hidden = engine.intermediate_images()?;
        images.retain(|i| !hidden.contains(&i.id));
    }
    sort(&mut images, &args.sort)?;
    // A damaged record is flagged, not fatal: the rest are listed.
    for e in engine.damaged_images()? {
        let e = Error::from(e);
        let hint = e.hint().map(|h| format!("; {h}")).unwrap_or_default();
        super::warn(&format!("{}{hint}", crate::error::render_chain(&e)));
    }
    if args.quiet {
        for img in &images {
            println!(
                "{}",
                if args.no_trunc {
                    img.id.to_string()
                } else {
                    img.id.short().to_string()
                }
            );
        }
        return Ok(0);
    }
    let print_table = |text: String, is_table: bool| {
        super::output::print_listing(&text, args.noheading && is_table);
    };
    match args.format.as_deref() {
        None | Some("table") => print_table(table(&images, args.no_trunc, args.digests), true),
        Some("json") => println!(
            "{}",
            serde_json::to_string_pretty(&json(&images)).unwrap_or_default()
        ),
        Some(text) => {
            let t = Template::parse_as("images", text)?;
            t.check_fields(FIELDS)?;
            let objects: Vec<serde_json::Value> = rows(&images)
                .into_iter()
                .map(|(repo, tag, img)| template_object(&repo, &tag, img, args.no_trunc))
                .collect();
            print_table(t.render_all(&objects, &|p| header_name(p))?, t.is_table);
        }
    }
    Ok(0)
}

/// Orders the images by `key` as Podman does: newest first for
/// `created`, else ascending (by first name for `repository` and `tag`).
fn sort(images: &mut [ImageRecord], key: &str) -> Result<(), Error> {
    let first = |i: &ImageRecord| i.names.first().cloned().unwrap_or_default();
    let tag = |i: &ImageRecord| {
        let name = first(i);
        match name.rsplit_once(':') {
            Some((_, t)) if !t.contains('/') => t.to_string(),
            _ => String::new(),
        }
    };
    match key {
        "created" => images.sort_by(|a, b| b.created.cmp(&a.created)),
        "id" => images.sort_by(|a, b| a.id.hex().cmp(b.id.hex())),
        "repository" => images.sort_by_cached_key(first),
        "size" => images.sort_by_key(|i| i.size),
        "tag" => images.sort_by_cached_key(tag),
        _ => {
            return Err(Error::Usage(format!(
                "{key:?} is not a valid field for sorting. Choose from: created, id, repository, size, tag"
            )))
        }
    }
    Ok(())
}

/// The fields a `--format` template may use.
const FIELDS: &[&str] = &[
    "ID",
    "Id",
    "Repository",
    "Tag",
    "Digest",
    "Created",
    "CreatedAt",
    "Size",
    "Names",
    "Labels",
    "Dangling",
];

/// The column title of a template field in a `table` format.
fn header_name(path: &[String]) -> String {
    match path.join(".").as_str() {
        "ID" | "Id" => "IMAGE ID".into(),
        "CreatedAt" => "CREATED AT".into(),
        other => other.to_uppercase(),
    }
}

/// The object a `--format` template sees for one row.
fn template_object(repo: &str, tag: &str, img: &ImageRecord, no_trunc: bool) -> serde_json::Value {
    serde_json::json!({
        "ID": if no_trunc { img.id.to_string() } else { img.id.short().to_string() },
        "Id": img.id.hex(),
        "Repository": repo,
        "Tag": tag,
        "Digest": img.manifest_digest.to_string(),
        "Created": img.created.clone().unwrap_or_default(),
        "CreatedAt": img.created.clone().unwrap_or_default(),
        "Size": human_size(img.size),
        "Names": img.names,
        "Labels": image_labels(img),
        "Dangling": img.names.is_empty(),
    })
}

/// One row per name (an image without a name gets `<none>`).
fn rows(images: &[ImageRecord]) -> Vec<(String, String, &ImageRecord)> {
    let mut out = Vec::new();
    for img in images {
        if img.names.is_empty() {
            out.push(("<none>".to_string(), "<none>".to_string(), img));
        }
        for n in &img.names {
            let (repo, tag) = split_name(n);
            out.push((repo, tag, img));
        }
    }
    out
}

fn split_name(name: &str) -> (String, String) {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (
            name[..slash + i].to_string(),
            name[slash + i + 1..].to_string(),
        ),
        None => (name.to_string(), "<none>".to_string()),
    }
}

fn table(images: &[ImageRecord], no_trunc: bool, digests: bool) -> String {
    let rows = rows(images);
    let mut cells: Vec<Vec<String>> = vec![];
    let mut header = vec!["REPOSITORY", "TAG"];
    if digests {
        header.push("DIGEST");
    }
    header.extend(["IMAGE ID", "CREATED", "SIZE"]);
    cells.push(header.into_iter().map(String::from).collect());
    for (repo, tag, img) in rows {
        let mut row = vec![repo, tag];
        if digests {
            row.push(img.manifest_digest.to_string());
        }
        row.push(if no_trunc {
            img.id.to_string()
        } else {
            img.id.short().to_string()
        });
        row.push(
            img.created
                .clone()
                .unwrap_or_default()
                .chars()
                .take(19)
                .collect::<String>()
                .replace('T', " "),
        );
        row.push(human_size(img.size));
        cells.push(row);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|c| cells.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &cells {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn json(images: &[ImageRecord]) -> serde_json::Value {
    serde_json::Value::Array(
        images
            .iter()
            .map(|i| {
                serde_json::json!({
                    "Id": i.id.hex(),
                    "Digest": i.manifest_digest.to_string(),
                    "Names": i.names,
                    "Created": i.created,
                    "Size": i.size,
                    "VirtualSize": i.size,
                    "Os": i.os,
                    "Architecture": i.architecture,
                })
            })
            .collect(),
    )
}

/// Sizes as Podman shows them: decimal units, three significant digits.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        return format!("{n} B");
    }
    // Go's `%.3g` (go-units' HumanSizeWithPrecision(size, 3)): three
    // significant digits, trailing zeros dropped.
    let int_digits = if v >= 100.0 {
        3
    } else if v >= 10.0 {
        2
    } else {
        1
    };
    let text = format!("{:.*}", 3 - int_digits, v);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text} {}", UNITS[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_name_handles_ports_and_missing_tags() {
        assert_eq!(
            split_name("127.0.0.1:5000/busybox:latest"),
            ("127.0.0.1:5000/busybox".into(), "latest".into())
        );
        assert_eq!(
            split_name("127.0.0.1:5000/busybox"),
            ("127.0.0.1:5000/busybox".into(), "<none>".into())
        );
    }

    #[test]
    fn human_size_uses_decimal_units() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_234_567), "1.23 MB");
        // issue #20 item 16: Podman's numbers for the busybox fixture.
        assert_eq!(human_size(2_018_460), "2.02 MB");
        assert_eq!(human_size(10_240), "10.2 kB");
        assert_eq!(human_size(100_000), "100 kB");
        assert_eq!(human_size(1_000_000), "1 MB");
        assert_eq!(human_size(1_500_000), "1.5 MB");
    }
}
