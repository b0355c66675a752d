//! `hutch search` / `image search`: repositories at registries, printed
//! as Podman prints them.

use clap::Args;
use serde::Serialize;
use serde_json::Value;

use super::json::{is_json_format, to_string_4};
use super::registry::{CredsArgs, RegistryArgs};
use super::template::Template;
use crate::container::Engine;
use crate::error::Error;
use crate::image::{self, SearchFilter, SearchOptions, SearchResult};

/// The fields a `--format` template may use.
const FIELDS: &[&str] = &[
    "Index",
    "Name",
    "Description",
    "Stars",
    "Official",
    "Automated",
    "Tag",
];

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// What to look for: TERM at the search registries, or REGISTRY/TERM
    #[arg(value_name = "TERM")]
    pub term: String,
    /// Keep only results that match: stars=N, is-automated=BOOL, is-official=BOOL
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Output format: json, or a Go template such as 'table {{.Name}}\t{{.Stars}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show at most this many results per registry (default 25)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub limit: i64,
    /// List the tags of the repository REGISTRY/NAME instead
    #[arg(long)]
    pub list_tags: bool,
    /// Do not truncate descriptions
    #[arg(long)]
    pub no_trunc: bool,
    /// Also show the STARS, OFFICIAL and AUTOMATED columns, as Docker does
    #[arg(long)]
    pub compatible: bool,
    #[command(flatten)]
    pub access: RegistryArgs,
    #[command(flatten)]
    pub creds: CredsArgs,
}

/// Searches and prints the results; nothing at all when none were found.
pub fn run(engine: &Engine, args: SearchArgs) -> Result<i32, Error> {
    let filter = SearchFilter::parse(&args.filter)?;
    if args.list_tags && !args.filter.is_empty() {
        return Err(Error::Usage(
            "filters are not applicable to list tags result".into(),
        ));
    }
    image::check_authfile(args.access.authfile.as_deref())?;
    let opts = SearchOptions {
        limit: args.limit,
        is_list_tags: args.list_tags,
        filter,
        is_no_trunc: args.no_trunc,
        tls_verify: args.access.tls_verify,
        authfile: args.access.authfile.clone(),
        cert_dir: args.access.cert_dir.clone(),
        credentials: args.creds.credentials()?,
    };
    let results = image::search(engine.paths(), &args.term, &opts)?;
    if results.is_empty() {
        return Ok(0);
    }
    print!("{}", render(&args, &results)?);
    Ok(0)
}

/// The output for `results` as the flags ask for it.
fn render(args: &SearchArgs, results: &[SearchResult]) -> Result<String, Error> {
    let is_json = args.format.as_deref().is_some_and(is_json_format);
    if args.list_tags {
        if is_json {
            return Ok(format!("{}\n", to_string_4(&tags_by_name(results))));
        }
        return table("table {{.Name}}\t{{.Tag}}", results);
    }
    if is_json {
        let all: Vec<Row> = results.iter().map(Row::from).collect();
        return Ok(format!("{}\n", to_string_4(&all)));
    }
    match &args.format {
        Some(f) => table(f, results),
        None if args.compatible => table(
            "table {{.Name}}\t{{.Description}}\t{{.Stars}}\t{{.Official}}\t{{.Automated}}",
            results,
        ),
        None => table("table {{.Name}}\t{{.Description}}", results),
    }
}

/// `results` through template `text`, with the header row of a `table`.
fn table(text: &str, results: &[SearchResult]) -> Result<String, Error> {
    let t = Template::parse_as("search", text)?;
    t.check_fields(FIELDS)?;
    let objects: Vec<Value> = results
        .iter()
        .map(|r| serde_json::to_value(Row::from(r)).unwrap_or_default())
        .collect();
    Ok(t.render_all(&objects, &|p| p.join(".").to_uppercase())?)
}

/// One result with Podman's field names, order and values (`[OK]` for
/// true).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Row<'a> {
    index: &'a str,
    name: &'a str,
    description: &'a str,
    stars: u64,
    official: &'static str,
    automated: &'static str,
    tag: &'a str,
}

impl<'a> From<&'a SearchResult> for Row<'a> {
    fn from(r: &'a SearchResult) -> Row<'a> {
        let ok = |b: bool| if b { "[OK]" } else { "" };
        Row {
            index: &r.index,
            name: &r.name,
            description: &r.description,
            stars: r.stars,
            official: ok(r.is_official),
            automated: ok(r.is_automated),
            tag: &r.tag,
        }
    }
}

/// A repository and its tags, for `--list-tags --format json`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Tags<'a> {
    name: &'a str,
    tags: Vec<&'a str>,
}

/// `--list-tags --format json`: each repository once with its tags.
fn tags_by_name(results: &[SearchResult]) -> Vec<Tags<'_>> {
    let mut out: Vec<Tags<'_>> = Vec::new();
    for r in results {
        match out.iter_mut().find(|t| t.name == r.name) {
            Some(t) => t.tags.push(&r.tag),
            None => out.push(Tags {
                name: &r.name,
                tags: vec![&r.tag],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        args: SearchArgs,
    }

    fn result(name: &str, tag: &str) -> SearchResult {
        SearchResult {
            index: "127.0.0.1:5000".into(),
            name: name.into(),
            description: String::new(),
            stars: 0,
            is_official: false,
            is_automated: false,
            tag: tag.into(),
        }
    }

    fn out(argv: &[&str], results: &[SearchResult]) -> String {
        let c = Cmd::try_parse_from(std::iter::once("x").chain(argv.iter().copied())).unwrap();
        render(&c.args, results).unwrap()
    }

    #[test]
    fn default_and_compatible_tables_are_podmans() {
        let r = [result("127.0.0.1:5000/busybox", "")];
        assert_eq!(
            out(&["t"], &r),
            "NAME                    DESCRIPTION\n127.0.0.1:5000/busybox  \n"
        );
        assert_eq!(
            out(&["--compatible", "t"], &r),
            "NAME                    DESCRIPTION  STARS       OFFICIAL    AUTOMATED\n\
             127.0.0.1:5000/busybox               0                       \n"
        );
        assert_eq!(
            out(&["--format", "{{.Name}} {{.Index}}", "t"], &r),
            "127.0.0.1:5000/busybox 127.0.0.1:5000\n"
        );
    }

    #[test]
    fn list_tags_ignores_templates_and_groups_json() {
        let r = [result("h/x", "a"), result("h/x", "b")];
        assert_eq!(
            out(&["--list-tags", "--format", "{{.Tag}}", "t"], &r),
            "NAME        TAG\nh/x         a\nh/x         b\n"
        );
        assert_eq!(
            out(&["--list-tags", "--format", "json", "t"], &r),
            "[\n    {\n        \"Name\": \"h/x\",\n        \"Tags\": [\n            \"a\",\n            \"b\"\n        ]\n    }\n]\n"
        );
    }

    #[test]
    fn limit_takes_negative_numbers() {
        let c = Cmd::try_parse_from(["x", "--limit", "-1", "t"]).unwrap();
        assert_eq!(c.args.limit, -1);
    }
}
