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
    /// Show only images that match: reference=PATTERN, dangling=true|false, before=IMAGE, since=IMAGE, label=KEY[=VALUE], label!=KEY[=VALUE], until=TIME
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
    /// Show the names each image has had, newest first (a HISTORY column)
    #[arg(long)]
    pub history: bool,
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
    let history = engine.image_name_history()?;
    let history_of = |img: &ImageRecord| -> Vec<String> {
        history
            .get(&img.id.to_string())
            .cloned()
            .unwrap_or_default()
    };
    let with_history = |table: &str| match args.history {
        true => format!("{table}\\t{{{{.History}}}}"),
        false => table.to_string(),
    };
    let text = match args.format.as_deref() {
        Some("json") => {
            println!(
                "{}",
                serde_json::to_string_pretty(&json(&images, &history_of)).unwrap_or_default()
            );
            return Ok(0);
        }
        None | Some("table") if args.digests => with_history(DIGESTS_TABLE),
        None | Some("table") => with_history(DEFAULT_TABLE),
        Some(text) => text.to_string(),
    };
    let text = text.as_str();
    let t = Template::parse_as("images", text)?;
    t.check_fields(FIELDS)?;
    // Counted only when a template asks: it reads every container.
    let users = match text.contains(".Containers") {
        true => engine.image_users().unwrap_or_default(),
        false => Default::default(),
    };
    let now = super::units::now_nanos();
    let objects: Vec<serde_json::Value> = rows(&images)
        .into_iter()
        .map(|(repo, tag, img)| {
            let row = Row {
                repo: &repo,
                tag: &tag,
                containers: users.get(img.id.hex()).copied().unwrap_or(0),
            };
            let mut o = template_object(&row, img, args.no_trunc, now);
            // Podman's template joins them as its column does.
            o["History"] = history_of(img).join(", ").into();
            o
        })
        .collect();
    print_table(t.render_all(&objects, &|p| header_name(p))?, t.is_table);
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
    "CreatedSince",
    "Size",
    "VirtualSize",
    "SharedSize",
    "Containers",
    "ReadOnly",
    "IsReadOnly",
    "Names",
    "Labels",
    "Dangling",
    "History",
];

/// Podman's default table, and the one `--digests` prints.
const DEFAULT_TABLE: &str = "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Created}}\\t{{.Size}}";
const DIGESTS_TABLE: &str =
    "table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.ID}}\\t{{.Created}}\\t{{.Size}}";

/// What a row adds to its image: the name it shows and the number of
/// containers made from the image.
struct Row<'a> {
    repo: &'a str,
    tag: &'a str,
    containers: usize,
}

/// The column title of a template field in a `table` format.
fn header_name(path: &[String]) -> String {
    match path.join(".").as_str() {
        "ID" | "Id" => "IMAGE ID".into(),
        "CreatedAt" => "CREATED AT".into(),
        "CreatedSince" => "CREATED".into(),
        "VirtualSize" => "VIRTUAL SIZE".into(),
        "SharedSize" => "SHARED SIZE".into(),
        "ReadOnly" | "IsReadOnly" => "R/O".into(),
        other => other.to_uppercase(),
    }
}

/// The object a `--format` template sees for one row (`now` in Unix
/// nanoseconds, for the ages).
fn template_object(row: &Row, img: &ImageRecord, no_trunc: bool, now: i64) -> serde_json::Value {
    let raw = img.created.clone().unwrap_or_default();
    let created = crate::container::logread::parse_timestamp(&raw);
    let since = created.map_or_else(String::new, |t| {
        format!("{} ago", super::units::human_duration(now - t))
    });
    let at = super::units::go_time(created, &raw);
    serde_json::json!({
        "ID": if no_trunc { img.id.to_string() } else { img.id.short().to_string() },
        "Id": img.id.hex(),
        "Repository": row.repo,
        "Tag": row.tag,
        "Digest": img.manifest_digest.to_string(),
        "Created": since,
        "CreatedAt": at,
        "CreatedSince": since,
        "Size": human_size(img.size),
        "VirtualSize": img.size,
        "SharedSize": 0,
        "Containers": row.containers,
        "ReadOnly": false,
        "IsReadOnly": false,
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

/// A name split into repository and tag (`<none>` without one).
pub(super) fn split_name(name: &str) -> (String, String) {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (
            name[..slash + i].to_string(),
            name[slash + i + 1..].to_string(),
        ),
        None => (name.to_string(), "<none>".to_string()),
    }
}

fn json(
    images: &[ImageRecord],
    history: &dyn Fn(&ImageRecord) -> Vec<String>,
) -> serde_json::Value {
    serde_json::Value::Array(
        images
            .iter()
            .map(|i| {
                serde_json::json!({
                    "Id": i.id.hex(),
                    "Digest": i.manifest_digest.to_string(),
                    "Names": i.names,
                    "History": history(i),
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
