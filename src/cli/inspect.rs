//! `hutch inspect` (containers, then images) and `hutch image inspect`.
//!
//! Builds Podman's inspect objects as JSON and prints them as an array or
//! through a `--format` template.

use clap::{Args, ValueEnum};
use serde_json::Value;

use super::template::Template;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Images to inspect, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Output format: json (default) or a Go template such as '{{.Id}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// What `hutch inspect --type` looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ObjectType {
    /// Containers only.
    Container,
    /// Images only.
    Image,
    /// A container, else an image.
    All,
}

#[derive(Debug, Args)]
pub struct InspectObjectArgs {
    /// Containers or images, by name or id
    #[arg(value_name = "NAME", required_unless_present = "latest")]
    pub names: Vec<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// Also a container's sizes: SizeRw (its writable layer) and SizeRootFs (with the image)
    #[arg(short, long)]
    pub size: bool,
    /// What to look for
    #[arg(short, long = "type", value_name = "TYPE", default_value = "all")]
    pub object_type: ObjectType,
    /// Output format: json (default) or a Go template such as '{{.State.Status}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Prints a JSON array with one object per image.
pub fn run(engine: &Engine, args: InspectArgs) -> Result<i32, Error> {
    let template = parse_format(args.format.as_deref())?;
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for name in &args.images {
        match engine.inspect_image(name)? {
            Some(v) => out.push(v),
            None => missing.push(format!("{name}: image not known")),
        }
    }
    print_objects(&out, template.as_ref())?;
    finish(missing)
}

/// Ends an inspect command as Podman does, once the objects found are
/// printed: each name not found after the first gets an `error inspecting
/// object: …` line, and the first is the command's error (exit 125).
pub(super) fn finish(missing: Vec<String>) -> Result<i32, Error> {
    let mut missing = missing.into_iter();
    let Some(first) = missing.next() else {
        return Ok(0);
    };
    for m in missing {
        eprintln!("error inspecting object: {m}");
    }
    Err(Error::Usage(format!("inspecting object: {first}")))
}

/// Prints containers or images: for each name a container if one matches
/// (unless `--type image`), else an image (unless `--type container`).
pub fn run_object(engine: &Engine, args: InspectObjectArgs) -> Result<i32, Error> {
    let template = parse_format(args.format.as_deref())?;
    let names = super::pick::Pick {
        names: args.names,
        latest: args.latest.latest,
        ..Default::default()
    }
    .resolve(engine)?;
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for name in &names {
        if args.object_type != ObjectType::Image {
            if let Some(mut v) = engine.inspect_container(name)? {
                if args.size {
                    add_sizes(engine, name, &mut v)?;
                }
                out.push(v);
                continue;
            }
        }
        if args.object_type != ObjectType::Container {
            if let Some(v) = engine.inspect_image(name)? {
                out.push(v);
                continue;
            }
        }
        // Podman's words for each kind.
        missing.push(match args.object_type {
            ObjectType::Container => format!("no such container {name}"),
            ObjectType::Image => format!("{name}: image not known"),
            ObjectType::All => format!("no such object: {name:?}"),
        });
    }
    print_objects(&out, template.as_ref())?;
    finish(missing)
}

/// Adds Podman's `SizeRw` and `SizeRootFs` to container `name`'s object.
fn add_sizes(engine: &Engine, name: &str, object: &mut Value) -> Result<(), Error> {
    let sizes = engine.container_sizes(name)?;
    if let (Some(sizes), Some(map)) = (sizes, object.as_object_mut()) {
        map.insert("SizeRw".into(), sizes.rw.into());
        map.insert("SizeRootFs".into(), sizes.root_fs.into());
    }
    Ok(())
}

/// `None` for JSON, else the parsed template.
fn parse_format(format: Option<&str>) -> Result<Option<Template>, Error> {
    match format {
        None | Some("json") => Ok(None),
        Some(t) => Ok(Some(Template::parse_as("inspect", t)?)),
    }
}

fn print_objects(objects: &[Value], template: Option<&Template>) -> Result<i32, Error> {
    let Some(t) = template else {
        println!(
            "{}",
            serde_json::to_string_pretty(&objects).unwrap_or_default()
        );
        return Ok(0);
    };
    let objects: Vec<Value> = objects
        .iter()
        .map(|o| with_go_times(with_health_alias(with_image_fields(o))))
        .collect();
    print!("{}", t.render_inspect(&objects)?);
    Ok(0)
}

/// A container's object as a template sees Podman's: `.State.Healthcheck`
/// is `.State.Health` under Podman 4.3's older name (a method there, so
/// not in the JSON).
fn with_health_alias(mut object: Value) -> Value {
    if let Some(health) = object.get("State").and_then(|s| s.get("Health")).cloned() {
        object["State"]["Healthcheck"] = health;
    }
    object
}

/// The times a template prints as Go prints a time, as Podman's do.
const TIME_FIELDS: [&[&str]; 5] = [
    &["Created"],
    &["State", "StartedAt"],
    &["State", "FinishedAt"],
    &["State", "CheckpointedAt"],
    &["State", "RestoredAt"],
];

/// `object` with its `TIME_FIELDS` in Go's format.
fn with_go_times(mut object: Value) -> Value {
    for path in TIME_FIELDS {
        let at = path
            .iter()
            .try_fold(&mut object, |at, key| at.get_mut(*key));
        if let Some(at) = at {
            if let Some(text) = at.as_str().and_then(go_time) {
                *at = Value::from(text);
            }
        }
    }
    object
}

/// An RFC 3339 UTC time (`2026-12-05T07:00:15.017438Z`) as Go prints it
/// (`2026-12-05 07:00:15.017438 +0000 UTC`); `None` for anything else.
pub(super) fn go_time(rfc: &str) -> Option<String> {
    let body = rfc.strip_suffix('Z')?;
    let (date, time) = body.split_once('T')?;
    let (whole, frac) = time.split_once('.').unwrap_or((time, ""));
    let is_shaped = date.len() == 10
        && whole.len() == 8
        && frac.bytes().all(|b| b.is_ascii_digit())
        && date
            .bytes()
            .chain(whole.bytes())
            .all(|b| b.is_ascii_digit() || b == b'-' || b == b':');
    if !is_shaped {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let dot = if frac.is_empty() { "" } else { "." };
    Some(format!("{date} {whole}{dot}{frac} +0000 UTC"))
}

/// The fields of an OCI image config, which Podman's Go struct always
/// has, though the JSON leaves out the empty ones.
const IMAGE_CONFIG_FIELDS: &[&str] = &[
    "User",
    "ExposedPorts",
    "Env",
    "Entrypoint",
    "Cmd",
    "Volumes",
    "WorkingDir",
    "Labels",
    "StopSignal",
];

/// An image's inspect object as a template sees Podman's: every config
/// field present (null when unset) and the labels at the top too, so
/// `{{.Config.Labels}}` and `{{.Labels}}` are not unknown fields.
fn with_image_fields(object: &Value) -> Value {
    let mut object = object.clone();
    if object.get("RepoTags").is_none() {
        return object;
    }
    if !object["Config"].is_object() {
        object["Config"] = serde_json::json!({});
    }
    for field in IMAGE_CONFIG_FIELDS {
        if object["Config"].get(field).is_none() {
            object["Config"][field] = Value::Null;
        }
    }
    if object.get("Labels").is_none_or(Value::is_null) {
        object["Labels"] = object["Config"]["Labels"].clone();
    }
    // Go prints a nil map as `map[]`.
    if object["Labels"].is_null() {
        object["Labels"] = serde_json::json!({});
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_see_every_image_config_field() {
        let image = json!({"RepoTags": ["a:1"], "Config": {"Env": ["A=1"]}});
        let t = Template::parse_as("inspect", "{{.Config.Env}} {{.Config.Labels}} {{.Labels}}")
            .unwrap();
        assert_eq!(
            t.render_inspect(&[with_image_fields(&image)]).unwrap(),
            // Podman's top-level Labels is a Go map: `map[]` when empty.
            "[A=1] <no value> map[]\n"
        );
        let t = Template::parse_as("inspect", "{{.Config.Nope}}").unwrap();
        assert!(t.render_inspect(&[with_image_fields(&image)]).is_err());
        let container = json!({"Id": "x"});
        assert_eq!(with_image_fields(&container), container);
    }

    #[test]
    fn times_read_as_go_prints_them() {
        assert_eq!(
            go_time("2026-12-05T07:00:15.017438070Z").as_deref(),
            Some("2026-12-05 07:00:15.01743807 +0000 UTC")
        );
        assert_eq!(
            go_time("0001-01-01T00:00:00Z").as_deref(),
            Some("0001-01-01 00:00:00 +0000 UTC")
        );
        assert_eq!(go_time("2026-12-05T07:00:15+02:00"), None);
        assert_eq!(go_time("yesterday"), None);
        let v = with_go_times(serde_json::json!({"State": {"StartedAt": "2026-12-05T07:00:15Z"}}));
        assert_eq!(v["State"]["StartedAt"], "2026-12-05 07:00:15 +0000 UTC");
        assert!(v.get("Created").is_none());
    }
}
