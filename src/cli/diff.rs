//! `hutch diff`: what a container changed compared with its image; `hutch
//! image diff`: what an image changes against its parent layer or another.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;
use crate::files::Change;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub container: Option<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// Output format: json (the changed, added and deleted paths as lists)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImageDiffArgs {
    /// The image, and the image to compare it with (its parent layer when left out)
    #[arg(value_name = "IMAGE", required = true, num_args = 1..=2)]
    pub images: Vec<String>,
    /// Output format: json (the changed, added and deleted paths as lists)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Refuses a `--format` other than json, in Podman's words.
fn check_format(format: Option<&str>) -> Result<(), Error> {
    match format {
        Some(f) if f != "json" => Err(Error::Usage(
            "only supported value for '--format' is 'json'".into(),
        )),
        _ => Ok(()),
    }
}

/// Prints one `A`, `C` or `D` line per changed path, sorted by path.
pub fn run(engine: &Engine, args: DiffArgs) -> Result<i32, Error> {
    check_format(args.format.as_deref())?;
    let name = super::pick::one(engine, args.container, args.latest.latest, None)?;
    let changes = engine.diff(&name)?;
    print_changes(&changes, args.format.is_some());
    Ok(0)
}

/// `image diff`: what the first image changes against the second, or
/// against its parent layer.
pub fn image_diff(engine: &Engine, args: ImageDiffArgs) -> Result<i32, Error> {
    check_format(args.format.as_deref())?;
    let changes = engine.image_diff(&args.images[0], args.images.get(1).map(String::as_str))?;
    print_changes(&changes, args.format.is_some());
    Ok(0)
}

/// Prints `changes` as lines, or as Podman's JSON.
fn print_changes(changes: &[Change], is_json: bool) {
    if is_json {
        println!("{}", as_json(changes));
        return;
    }
    let mut out = String::new();
    for c in changes {
        out.push(c.kind.letter());
        out.push(' ');
        out.push_str(&c.path.to_string_lossy());
        out.push('\n');
    }
    print!("{out}");
}

/// Podman's `diff --format json`: the paths by kind, a kind without
/// paths left out, indented by five spaces as Go's encoder is told to.
fn as_json(changes: &[Change]) -> String {
    let paths = |letter: char| -> Vec<String> {
        changes
            .iter()
            .filter(|c| c.kind.letter() == letter)
            .map(|c| c.path.to_string_lossy().into_owned())
            .collect()
    };
    // Written by hand: Podman's key order is not alphabetical.
    let mut members = Vec::new();
    for (key, letter) in [("changed", 'C'), ("added", 'A'), ("deleted", 'D')] {
        let list = paths(letter);
        if list.is_empty() {
            continue;
        }
        let items: Vec<String> = list
            .iter()
            .map(|p| format!("          {}", serde_json::Value::from(p.as_str())))
            .collect();
        members.push(format!("     \"{key}\": [\n{}\n     ]", items.join(",\n")));
    }
    match members.is_empty() {
        true => "{}".to_string(),
        false => format!("{{\n{}\n}}", members.join(",\n")),
    }
}
