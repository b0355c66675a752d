//! `hutch secret create|ls|inspect|rm|exists`: secrets in the store, which
//! `run --secret` gives to containers (see `container::secrets`).

use std::collections::BTreeMap;
use std::io::Read;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::template::Template;
use crate::container::secrets::{NewSecret, SecretRecord, FILE_DRIVER, MAX_SIZE};
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a secret from a file, standard input or a variable
    Create(CreateArgs),
    /// List secrets
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Show secrets' details as JSON
    Inspect(InspectArgs),
    /// Remove secrets
    Rm(RmArgs),
    /// Exit 0 when a secret exists, 1 when it does not
    Exists(ExistsArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The secret's name
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The file holding the data, - for standard input, or with --env the variable
    #[arg(value_name = "FILE|-")]
    pub source: String,
    /// Secret driver (only file)
    #[arg(short, long, value_name = "DRIVER", default_value = FILE_DRIVER)]
    pub driver: String,
    /// Driver options: path=DIR keeps the data in DIR instead of the store
    #[arg(long, value_name = "KEY=VALUE[,…]")]
    pub driver_opts: Vec<String>,
    /// Read the data from the environment variable named by the second argument
    #[arg(long)]
    pub env: bool,
    /// Set a label (KEY=VALUE)
    #[arg(short, long, value_name = "KEY=VALUE")]
    pub label: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Show only secrets matching: name=TEXT (in the name), id=PREFIX
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Go template for each secret, such as '{{.Name}}'; json for a JSON array
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Print no header row
    #[arg(long)]
    pub noheading: bool,
    /// Print only the ids
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Secrets to inspect, by name, id or id prefix
    #[arg(value_name = "SECRET", required = true)]
    pub names: Vec<String>,
    /// Go template for each secret, such as '{{.Spec.Name}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Print each secret as lines for people instead of JSON
    #[arg(long)]
    pub pretty: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Secrets to remove, by name, id or id prefix
    #[arg(value_name = "SECRET")]
    pub names: Vec<String>,
    /// Remove every secret
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    /// The secret, by name, id or id prefix
    #[arg(value_name = "SECRET")]
    pub name: String,
}

/// Runs a `secret` subcommand.
pub fn run(engine: &Engine, cmd: SecretCommand) -> Result<i32, Error> {
    match cmd {
        SecretCommand::Create(a) => create(engine, a),
        SecretCommand::Ls(a) => ls(engine, a),
        SecretCommand::Inspect(a) => inspect(engine, a),
        SecretCommand::Rm(a) => rm(engine, a),
        SecretCommand::Exists(a) => Ok(if engine.secret_exists(&a.name)? { 0 } else { 1 }),
    }
}

/// `--driver-opts` values: `KEY=VALUE` pairs, several to a value when
/// separated by commas, as Podman's string-to-string flag reads them.
fn driver_options(items: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for item in items {
        for pair in item.split(',') {
            match pair.split_once('=') {
                Some((k, v)) => {
                    out.insert(k.to_string(), v.to_string());
                }
                None => {
                    return Err(Error::Usage(format!(
                        "invalid argument {item:?} for \"--driver-opts\" flag: {pair} must be formatted as key=value"
                    )))
                }
            }
        }
    }
    Ok(out)
}

/// `--label` values: `KEY=VALUE`, or `KEY` for an empty value.
fn labels(items: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for item in items {
        let (k, v) = item.split_once('=').unwrap_or((item, ""));
        if k.is_empty() {
            return Err(Error::Usage(format!(
                "unable to process labels: invalid label format: {item:?}"
            )));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// The data `secret create` stores: from the variable `--env` names, from
/// standard input for `-`, else from the file; never more than one byte
/// past what a secret may hold.
fn read_data(args: &CreateArgs) -> Result<Vec<u8>, Error> {
    if args.env {
        use std::os::unix::ffi::OsStringExt;
        return match std::env::var_os(&args.source) {
            Some(v) if !v.is_empty() => Ok(v.into_vec()),
            _ => Err(Error::Usage(format!(
                "cannot create store secret data: environment variable {} is not set",
                args.source
            ))),
        };
    }
    let mut data = Vec::new();
    let limit = MAX_SIZE as u64;
    if args.source == "-" {
        std::io::stdin()
            .lock()
            .take(limit)
            .read_to_end(&mut data)
            .map_err(|source| super::ioerr::IoError::ReadStdin {
                what: "the secret",
                source,
            })?;
        return Ok(data);
    }
    let path = std::path::PathBuf::from(&args.source);
    let file = std::fs::File::open(&path).map_err(|source| super::ioerr::IoError::OpenInput {
        path: path.clone(),
        source,
    })?;
    file.take(limit)
        .read_to_end(&mut data)
        .map_err(|source| super::ioerr::IoError::ReadInput { path, source })?;
    Ok(data)
}

fn create(engine: &Engine, args: CreateArgs) -> Result<i32, Error> {
    let mut options = driver_options(&args.driver_opts)?;
    // A relative data directory is the caller's, as Podman reads it.
    if let Some(p) = options.get_mut(crate::container::secrets::PATH_OPTION) {
        if !p.is_empty() && !p.starts_with('/') {
            if let Ok(cwd) = std::env::current_dir() {
                *p = cwd.join(&*p).display().to_string();
            }
        }
    }
    let labels = labels(&args.label)?;
    let data = read_data(&args)?;
    let id = engine.create_secret(NewSecret {
        name: args.name,
        data,
        driver: args.driver,
        options,
        labels,
    })?;
    println!("{id}");
    Ok(0)
}

/// Podman's inspect object for a secret, its fields in Podman's order.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct SecretObject<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    created_at: &'a str,
    updated_at: &'a str,
    spec: SpecObject<'a>,
}

/// The `Spec` of `SecretObject`.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct SpecObject<'a> {
    name: &'a str,
    driver: DriverObject<'a>,
    labels: &'a BTreeMap<String, String>,
}

/// The `Spec.Driver` of `SecretObject`.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct DriverObject<'a> {
    name: &'a str,
    options: &'a BTreeMap<String, String>,
}

/// A row of `secret ls`, its fields in Podman's order.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row<'a> {
    #[serde(rename = "ID")]
    id: &'a str,
    name: &'a str,
    driver: &'a str,
    created_at: String,
    updated_at: String,
}

fn secret_object(s: &SecretRecord) -> SecretObject<'_> {
    SecretObject {
        id: &s.id,
        created_at: &s.created,
        updated_at: &s.created,
        spec: SpecObject {
            name: &s.name,
            driver: DriverObject {
                name: &s.driver,
                options: &s.options,
            },
            labels: &s.labels,
        },
    }
}

/// `secret_object` as a template value.
fn secret_json(s: &SecretRecord) -> Value {
    serde_json::to_value(secret_object(s)).unwrap_or_default()
}

/// Podman's row of `secret ls` for a secret, its times as ages.
fn row(s: &SecretRecord, now: i64) -> Row<'_> {
    let age = super::units::created(&s.created, true, now);
    Row {
        id: &s.id,
        name: &s.name,
        driver: &s.driver,
        created_at: age.clone(),
        updated_at: age,
    }
}

/// Whether `s` passes the `--filter`s: each key must match, any of its
/// values will do (`name` within the name, `id` a prefix of the id).
fn passes(s: &SecretRecord, filters: &BTreeMap<String, Vec<String>>) -> bool {
    filters.iter().all(|(key, values)| {
        values.iter().any(|v| match key.as_str() {
            "name" => s.name.contains(v.as_str()),
            _ => s.id.starts_with(v.as_str()),
        })
    })
}

fn parse_filters(items: &[String]) -> Result<BTreeMap<String, Vec<String>>, Error> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in items {
        let Some((k, v)) = f.split_once('=') else {
            return Err(Error::Usage(format!(
                "filter input must be in the form of filter=value: {f} is invalid"
            )));
        };
        if k != "name" && k != "id" {
            return Err(Error::Usage(format!("invalid filter {k:?}")));
        }
        out.entry(k.to_string()).or_default().push(v.to_string());
    }
    Ok(out)
}

fn ls(engine: &Engine, args: LsArgs) -> Result<i32, Error> {
    let filters = parse_filters(&args.filter)?;
    let shown: Vec<SecretRecord> = engine
        .secrets()?
        .into_iter()
        .filter(|s| passes(s, &filters))
        .collect();
    if args.quiet && args.format.is_none() {
        for s in &shown {
            println!("{}", s.id);
        }
        return Ok(0);
    }
    let now = super::units::now_nanos();
    let rows: Vec<Row> = shown.iter().map(|s| row(s, now)).collect();
    if args.format.as_deref() == Some("json") {
        println!("{}", super::json::to_string_4(&rows));
        return Ok(0);
    }
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or_default())
        .collect();
    let default = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.CreatedAt}}\t{{.UpdatedAt}}";
    let titles = [("CreatedAt", "CREATED"), ("UpdatedAt", "UPDATED")];
    super::output::print_rows(&rows, args.format, default, &titles, args.noheading)?;
    Ok(0)
}

/// `secret inspect --pretty`'s lines for `s`, as Podman lays them out.
fn pretty(s: &SecretRecord) -> String {
    let at = super::inspect::go_time(&s.created).unwrap_or_else(|| s.created.clone());
    let mut out = format!("ID:              {}\nName:              {}\n", s.id, s.name);
    if !s.labels.is_empty() {
        out.push_str("Labels:\n");
        for (k, v) in &s.labels {
            out.push_str(&format!(" - {k}={v}\n"));
        }
    }
    out.push_str(&format!(
        "Driver:            {}\nCreated at:        {at}\nUpdated at:        {at}\n",
        s.driver
    ));
    out
}

fn inspect(engine: &Engine, args: InspectArgs) -> Result<i32, Error> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in &args.names {
        match engine.secret(name) {
            Ok(s) => found.push(s),
            Err(crate::container::Error::Secret(e)) if e.is_missing() => missing.push(e),
            Err(e) => return Err(e.into()),
        }
    }
    if args.pretty {
        print!("{}", found.iter().map(pretty).collect::<String>());
    } else {
        match args.format.as_deref() {
            None | Some("json") => {
                let objects: Vec<SecretObject> = found.iter().map(secret_object).collect();
                println!("{}", super::json::to_string_4(&objects));
            }
            Some(t) => {
                let template = Template::parse_as("inspect", t)?;
                let values: Vec<Value> = found
                    .iter()
                    .map(|s| with_go_times(secret_json(s)))
                    .collect();
                print!("{}", template.render_inspect(&values)?);
            }
        }
    }
    // Podman's words: the first missing one is the error, the others
    // lines before it.
    let mut missing = missing.into_iter();
    let Some(first) = missing.next() else {
        return Ok(0);
    };
    for m in missing {
        eprintln!("error inspecting secret: {m}");
    }
    Err(Error::Usage(format!("inspecting secret: {first}")))
}

/// A secret's object with its times as Go prints a time, for templates.
fn with_go_times(mut v: Value) -> Value {
    for key in ["CreatedAt", "UpdatedAt"] {
        if let Some(t) = v[key].as_str().and_then(super::inspect::go_time) {
            v[key] = Value::from(t);
        }
    }
    v
}

fn rm(engine: &Engine, args: RmArgs) -> Result<i32, Error> {
    // Names or --all, not both and not neither.
    if args.all != args.names.is_empty() {
        return Err(Error::Usage(
            "`hutch secret rm` requires one argument, or the --all flag".into(),
        ));
    }
    let names: Vec<String> = if args.all {
        engine.secrets()?.into_iter().map(|s| s.id).collect()
    } else {
        args.names
    };
    // Each failure is reported; the last one is the command's error.
    let mut last: Option<Error> = None;
    for name in &names {
        match engine.remove_secret(name) {
            Ok(id) => println!("{id}"),
            Err(e) => {
                if let Some(previous) = last.replace(e.into()) {
                    super::report_error(&previous);
                }
            }
        }
    }
    match last {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(labels: &[(&str, &str)]) -> SecretRecord {
        SecretRecord {
            id: "aa49e0d07f296e384863dbb3f".into(),
            name: "mysec".into(),
            created: "2026-12-05T09:32:14.26056922Z".into(),
            driver: "file".into(),
            options: BTreeMap::from([("path".to_string(), "/s/secrets/filedriver".to_string())]),
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn pretty_lines_are_podmans() {
        assert_eq!(
            pretty(&record(&[("k", "v"), ("a", "")])),
            "ID:              aa49e0d07f296e384863dbb3f\n\
             Name:              mysec\n\
             Labels:\n - a=\n - k=v\n\
             Driver:            file\n\
             Created at:        2026-12-05 09:32:14.26056922 +0000 UTC\n\
             Updated at:        2026-12-05 09:32:14.26056922 +0000 UTC\n"
        );
    }

    #[test]
    fn inspect_objects_have_podmans_shape() {
        let v = secret_json(&record(&[]));
        assert_eq!(
            v["Spec"]["Driver"]["Options"]["path"],
            "/s/secrets/filedriver"
        );
        assert_eq!(v["Spec"]["Labels"], json!({}));
        assert_eq!(v["UpdatedAt"], v["CreatedAt"]);
        let t = Template::parse_as("inspect", "{{.CreatedAt}} {{.Spec.Name}}").unwrap();
        assert_eq!(
            t.render_inspect(&[with_go_times(v)]).unwrap(),
            "2026-12-05 09:32:14.26056922 +0000 UTC mysec\n"
        );
    }

    #[test]
    fn filters_and_driver_options_read_as_podmans() {
        let f = parse_filters(&["name=my".into(), "name=zz".into(), "id=aa4".into()]).unwrap();
        assert!(passes(&record(&[]), &f));
        let f = parse_filters(&["id=bb".into(), "name=mysec".into()]).unwrap();
        assert!(!passes(&record(&[]), &f));
        assert_eq!(
            parse_filters(&["label=x".into()]).unwrap_err().to_string(),
            "invalid filter \"label\""
        );
        assert_eq!(
            parse_filters(&["bogus".into()]).unwrap_err().to_string(),
            "filter input must be in the form of filter=value: bogus is invalid"
        );
        let opts = driver_options(&["a=b,c=d".into(), "path=/x".into()]).unwrap();
        assert_eq!(opts.len(), 3);
        assert!(driver_options(&["foo".into()]).is_err());
        assert_eq!(labels(&["a=b".into(), "c".into()]).unwrap()["c"], "");
        assert!(labels(&["=x".into()]).is_err());
    }
}
