//! `hutch ps`: lists containers as a table, JSON or a Go template.
//!
//! The engine lists the containers (`Engine::list_containers`, one query,
//! the state of running ones corrected); nothing reads per-container files,
//! so the listing stays fast with hundreds of containers; only `--size`
//! walks each container's writable layer. This file turns the flags into
//! the request and formats the answer.
//!
//! `--filter KEY=VALUE` works as in Podman: values of one key are ORed,
//! different keys ANDed.

use std::collections::BTreeMap;

use clap::Args;
use serde_json::{json, Value};

use super::images::human_size;
use super::template::Template;
use super::units::{go_time, human_duration};
use crate::container::logread;
use crate::container::query::{
    ContainerInfo, ContainerState, ContainerStatus, Filters, ListRequest, Listed, Sizes,
};
use crate::container::Engine;
use crate::error::Error;

/// How many characters of an id are shown unless `--no-trunc`.
const SHORT_ID: usize = 12;
/// Longest COMMAND shown unless `--no-trunc`.
const COMMAND_WIDTH: usize = 20;

/// The fields a `--format` template may use.
const FIELDS: &[&str] = &[
    "ID",
    "Image",
    "Command",
    "CreatedAt",
    "RunningFor",
    "Status",
    "State",
    "Names",
    "Ports",
    "ExitCode",
    "Pid",
    "Size",
    "Pod",
    "PodName",
    "Namespaces",
    "Labels",
];

/// `--sort`'s keys.
const SORT_KEYS: [&str; 8] = [
    "command",
    "created",
    "id",
    "image",
    "names",
    "runningfor",
    "size",
    "status",
];

/// The table `--ns` prints.
const NS_TABLE: &str = "table {{.ID}}\\t{{.Names}}\\t{{.Pid}}\\t{{.Namespaces.Cgroup}}\\t\
                        {{.Namespaces.IPC}}\\t{{.Namespaces.MNT}}\\t{{.Namespaces.NET}}\\t\
                        {{.Namespaces.PIDNS}}\\t{{.Namespaces.User}}\\t{{.Namespaces.UTS}}";

/// The keys `--filter` knows.
const FILTER_KEYS: &[&str] = &[
    "id",
    "name",
    "status",
    "ancestor",
    "exited",
    "label",
    "health",
    "restart-policy",
];

/// The default table, as Podman prints it.
const DEFAULT_TABLE: &str = "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t\
                             {{.Status}}\\t{{.Ports}}\\t{{.Names}}";

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers (default: only running ones)
    #[arg(short, long)]
    pub all: bool,
    /// Show only container ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Show only the latest created container (any state)
    #[arg(short, long)]
    pub latest: bool,
    /// Show the N latest created containers (any state)
    #[arg(short = 'n', long, value_name = "N")]
    pub last: Option<usize>,
    /// Show full container ids and commands
    #[arg(long)]
    pub no_trunc: bool,
    /// Output format: table (default), json, or a Go template such as '{{.Names}} {{.Status}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show only containers matching KEY=VALUE: id, name, status, ancestor, exited, label=KEY[=VALUE], health (repeatable)
    #[arg(short, long = "filter", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Add a SIZE column: the writable layer's size and, in parentheses, with the image's
    #[arg(short, long)]
    pub size: bool,
    /// Add POD ID and PODNAME columns: the pod each container is in
    #[arg(short, long)]
    pub pod: bool,
    /// Sort by command, created (default, oldest first), id, image, names, runningfor, size or status
    #[arg(long, value_name = "KEY", default_value = "created", value_parser = SORT_KEYS)]
    pub sort: String,
    /// Print no header row
    #[arg(long)]
    pub noheading: bool,
    /// Show the ids of each running container's namespaces instead
    #[arg(long)]
    pub ns: bool,
    /// Also containers other tools made in the store (hutch's store holds only its own, so the list is the same)
    #[arg(long)]
    pub external: bool,
    /// Read each container's state from the system first (hutch always does)
    #[arg(long)]
    pub sync: bool,
    /// Print the list again every SECONDS seconds, until interrupted
    #[arg(short, long, value_name = "SECONDS")]
    pub watch: Option<u64>,
}

/// How to print the list.
enum Format {
    Json,
    Template(Template),
}

/// Lists containers; with `--watch`, again and again.
pub fn run(engine: &Engine, args: PsArgs) -> Result<i32, Error> {
    let Some(secs) = args.watch.filter(|s| *s > 0) else {
        return list(engine, &args);
    };
    loop {
        // Redraw in place, as `watch` does.
        print!("\x1b[2J\x1b[H");
        list(engine, &args)?;
        std::thread::sleep(std::time::Duration::from_secs(secs));
    }
}

/// Prints the list once.
fn list(engine: &Engine, args: &PsArgs) -> Result<i32, Error> {
    let pod_table = pod_table(args.size);
    let format = match args.format.as_deref() {
        None | Some("table") if args.ns => parse_format(Some(NS_TABLE), false)?,
        None | Some("table") if args.pod => parse_format(Some(&pod_table), false)?,
        other => parse_format(other, args.size)?,
    };
    // A pod record that cannot be read only costs the pod columns.
    let pods = engine.pod_names().unwrap_or_default();
    let req = ListRequest {
        is_all: args.all,
        limit: if args.latest { Some(1) } else { args.last },
        filters: parse_filters(&args.filter)?,
        with_ports: !args.quiet,
        with_sizes: args.size && !args.quiet,
    };
    let wants_namespaces = args.ns
        || args
            .format
            .as_deref()
            .is_some_and(|f| f.contains("Namespaces"));
    let mut shown = engine.list_containers(&req)?;
    sort(&mut shown, &args.sort);
    let now = now_nanos();
    if args.quiet {
        for c in &shown {
            println!("{}", shorten(&c.info.record.id, args.no_trunc));
        }
        return Ok(0);
    }
    match format {
        Format::Json => {
            let out: Vec<Value> = shown
                .iter()
                .map(|c| {
                    let mut v = json_object(&c.info, now, c.sizes);
                    add_health(&mut v, c.health.as_deref());
                    v["Ports"] = super::port::ports_json(&c.ports);
                    let (pod, name) = super::pod::pod_of(&c.info, &pods, true);
                    v["Pod"] = pod.into();
                    v["PodName"] = name.into();
                    v
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Format::Template(t) => {
            let objects: Vec<Value> = shown
                .iter()
                .map(|c| {
                    let mut v = template_object(&c.info, now, args.no_trunc, c.sizes);
                    add_health(&mut v, c.health.as_deref());
                    if wants_namespaces {
                        v["Namespaces"] = namespaces(&c.info);
                    }
                    v["Ports"] = super::port::ports_text(&c.ports).into();
                    let (pod, name) = super::pod::pod_of(&c.info, &pods, args.no_trunc);
                    v["Pod"] = pod.into();
                    v["PodName"] = name.into();
                    v
                })
                .collect();
            let text = t.render_all(&objects, &|path| header_name(path))?;
            super::output::print_listing(&text, args.noheading && t.is_table);
        }
    }
    Ok(0)
}

/// The default table with the pod columns (and `--size`'s).
fn pod_table(is_sized: bool) -> String {
    let size = if is_sized { "\\t{{.Size}}" } else { "" };
    format!("{DEFAULT_TABLE}{size}\\t{{{{.Pod}}}}\\t{{{{.PodName}}}}")
}

fn parse_format(format: Option<&str>, is_sized: bool) -> Result<Format, Error> {
    let sized_table = format!("{DEFAULT_TABLE}\\t{{{{.Size}}}}");
    let text = match format {
        Some("json") => return Ok(Format::Json),
        None | Some("table") if is_sized => &sized_table,
        None | Some("table") => DEFAULT_TABLE,
        Some(t) => t,
    };
    let t = Template::parse_as("ps", text)?;
    t.check_fields(FIELDS)?;
    Ok(Format::Template(t))
}

/// Parses `--filter` values (`KEY=VALUE`).
pub(super) fn parse_filters(raw: &[String]) -> Result<Filters, Error> {
    let mut f = Filters::default();
    for item in raw {
        let Some((key, value)) = item.split_once('=') else {
            return Err(Error::Usage(format!(
                "invalid filter {item:?}: expected KEY=VALUE"
            )));
        };
        let invalid = |what: &str| Error::Usage(format!("invalid filter {item:?}: {what}"));
        match key {
            "id" => f.ids.push(value.to_ascii_lowercase()),
            "name" => f.names.push(value.to_string()),
            "status" => f.statuses.push(match value {
                "created" => ContainerStatus::Created,
                "initialized" => ContainerStatus::Initialized,
                "running" => ContainerStatus::Running,
                "exited" => ContainerStatus::Exited,
                _ => {
                    return Err(invalid(
                        "status must be created, initialized, running or exited",
                    ))
                }
            }),
            "ancestor" => f.ancestors.push(value.to_string()),
            "exited" => f.exit_codes.push(
                value
                    .parse()
                    .map_err(|_| invalid("the exit code must be a number"))?,
            ),
            "label" => f.labels.push(value.to_string()),
            "health" => match value {
                "starting" | "healthy" | "unhealthy" | "none" => f.healths.push(value.into()),
                _ => {
                    return Err(invalid(
                        "health must be starting, healthy, unhealthy or none",
                    ))
                }
            },
            "restart-policy" => match value {
                "no" | "none" | "always" | "on-failure" | "unless-stopped" => {
                    f.restart_policies.push(value.into())
                }
                _ => {
                    return Err(invalid(
                        "restart-policy must be no, none, always, on-failure or unless-stopped",
                    ))
                }
            },
            _ => {
                return Err(invalid(&format!(
                    "unknown key, use one of {}",
                    FILTER_KEYS.join(", ")
                )))
            }
        }
    }
    Ok(f)
}

/// The SIZE cell: `12 B (virtual 1.23 MB)`.
fn size_text(size: Option<Sizes>) -> String {
    size.map_or_else(String::new, |s| {
        format!("{} (virtual {})", human_size(s.rw), human_size(s.root_fs))
    })
}

/// Orders the list by `key` (one of `SORT_KEYS`), ascending as Podman
/// does: oldest first for `created` and for `runningfor` (Podman 4.3
/// orders both by creation).
fn sort(list: &mut [Listed], key: &str) {
    let created = |l: &Listed| parse_time(Some(&l.info.record.created)).unwrap_or(0);
    match key {
        "command" => list.sort_by_cached_key(|l| command_and_labels(&l.info).0.join(" ")),
        "id" => list.sort_by(|a, b| a.info.record.id.cmp(&b.info.record.id)),
        "image" => list.sort_by(|a, b| a.info.record.image_name.cmp(&b.info.record.image_name)),
        "names" => list.sort_by(|a, b| a.info.record.name.cmp(&b.info.record.name)),
        "size" => list.sort_by_key(|l| l.sizes.map_or(0, |s| s.rw)),
        "status" => list.sort_by_key(|l| state_name(l.info.state.status)),
        // The store lists newest first: reversed, containers created in
        // the same instant keep their order of creation too.
        _ => {
            list.reverse();
            list.sort_by_key(created);
        }
    }
}

/// The `Namespaces` object of a running container (empty strings
/// otherwise), for `--ns`.
fn namespaces(info: &ContainerInfo) -> Value {
    let pid = (info.state.status == ContainerStatus::Running)
        .then_some(info.state.pid)
        .flatten();
    let ids = crate::container::query::namespace_ids(pid);
    Value::Object(
        ids.into_iter()
            .map(|(k, v)| (k.to_string(), v.into()))
            .collect(),
    )
}

/// The column title of a template field in a `table` format.
fn header_name(path: &[String]) -> String {
    match path.join(".").as_str() {
        "Namespaces.Cgroup" => "CGROUPNS".into(),
        "Namespaces.User" => "USERNS".into(),
        ns if ns.starts_with("Namespaces.") => ns["Namespaces.".len()..].to_uppercase(),
        "ID" => "CONTAINER ID".into(),
        "RunningFor" => "CREATED".into(),
        "CreatedAt" => "CREATED AT".into(),
        "ExitCode" => "EXIT CODE".into(),
        "Pod" => "POD ID".into(),
        other => other.to_uppercase(),
    }
}

/// Nanoseconds since the Unix epoch, now.
pub(super) fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn shorten(id: &str, no_trunc: bool) -> &str {
    if no_trunc {
        id
    } else {
        &id[..id.len().min(SHORT_ID)]
    }
}

/// The container's command line and labels from its recorded plan.
fn command_and_labels(info: &ContainerInfo) -> (Vec<String>, BTreeMap<String, String>) {
    crate::container::load_spec(info)
        .map(|p| (p.args, p.labels))
        .unwrap_or_default()
}

/// Labels as Podman's JSON shows them: null when there are none.
fn labels_json(labels: BTreeMap<String, String>) -> Value {
    match labels.is_empty() {
        true => Value::Null,
        false => json!(labels),
    }
}

use crate::container::state_name;

fn parse_time(t: Option<&str>) -> Option<i64> {
    t.and_then(logread::parse_timestamp)
}

/// The STATUS text: `Up 5 seconds`, `Exited (137) 3 seconds ago`, `Created`.
fn status_text(state: &ContainerState, now: i64) -> String {
    match state.status {
        ContainerStatus::Created => "Created".into(),
        ContainerStatus::Initialized => "Initialized".into(),
        ContainerStatus::Running => match parse_time(state.started_at.as_deref()) {
            Some(t) => format!("Up {} ago", human_duration(now - t)),
            None => "Up".into(),
        },
        ContainerStatus::Exited => {
            let code = state.exit_code.unwrap_or(0);
            match parse_time(state.finished_at.as_deref()) {
                Some(t) => format!("Exited ({code}) {} ago", human_duration(now - t)),
                None => format!("Exited ({code})"),
            }
        }
    }
}

/// Adds the container's health to the STATUS text, as Podman's `ps` shows
/// it: `Up 5 seconds ago (healthy)` (`.State` of a template stays bare).
fn add_health(v: &mut Value, health: Option<&str>) {
    if let (Some(h), Some(status)) = (health, v["Status"].as_str()) {
        v["Status"] = format!("{status} ({h})").into();
    }
}

/// The object `--format` templates see.
fn template_object(info: &ContainerInfo, now: i64, no_trunc: bool, size: Option<Sizes>) -> Value {
    let rec = &info.record;
    let created = parse_time(Some(&rec.created));
    let (args, labels) = command_and_labels(info);
    let mut command = args.join(" ");
    if !no_trunc && command.chars().count() > COMMAND_WIDTH {
        command = command.chars().take(COMMAND_WIDTH - 3).collect::<String>() + "...";
    }
    json!({
        "ID": shorten(&rec.id, no_trunc),
        "Image": rec.image_name,
        "Command": command,
        "CreatedAt": go_time(created, &rec.created),
        "RunningFor": created.map_or_else(String::new, |t| format!("{} ago", human_duration(now - t))),
        // Podman 4.3's templates read the status text under both names;
        // only its JSON has the bare state.
        "Status": status_text(&info.state, now),
        "State": status_text(&info.state, now),
        "Names": rec.name,
        "Ports": "",
        "ExitCode": info.state.exit_code.unwrap_or(0),
        "Pid": running_pid(&info.state),
        "Size": size_text(size),
        "Pod": "",
        "PodName": "",
        // Filled in only when asked for (`--ns` or a template naming it).
        "Namespaces": {},
        "Labels": labels,
    })
}

fn running_pid(state: &ContainerState) -> i32 {
    match state.status {
        ContainerStatus::Running => state.pid.unwrap_or(0),
        _ => 0,
    }
}

fn unix_secs(t: Option<i64>) -> i64 {
    t.map_or(0, |t| t.div_euclid(1_000_000_000))
}

/// The object `--format json` prints (Podman's keys).
fn json_object(info: &ContainerInfo, now: i64, size: Option<Sizes>) -> Value {
    let rec = &info.record;
    let st = &info.state;
    let created = parse_time(Some(&rec.created));
    let (args, labels) = command_and_labels(info);
    let mut v = json!({
        "Id": rec.id,
        "Names": [rec.name],
        "Image": rec.image_name,
        "ImageID": rec.image_id.hex(),
        "Command": args,
        "Created": unix_secs(created),
        "CreatedAt": go_time(created, &rec.created),
        "State": state_name(st.status),
        "Status": status_text(st, now),
        "ExitCode": st.exit_code.unwrap_or(0),
        "Exited": st.status == ContainerStatus::Exited,
        "ExitedAt": unix_secs(parse_time(st.finished_at.as_deref())),
        "StartedAt": unix_secs(parse_time(st.started_at.as_deref())),
        "Pid": running_pid(st),
        "Ports": [],
        "Pod": "",
        "PodName": "",
        "Labels": labels_json(labels),
    });
    if let Some(s) = size {
        v["Size"] = json!({ "rwSize": s.rw, "rootFsSize": s.root_fs });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::query::{ContainerRecord, Digest};

    const SEC: i64 = 1_000_000_000;
    /// 2026-11-27T19:00:00Z.
    const NOW: i64 = 1_795_806_000 * SEC;

    fn info(status: ContainerStatus) -> ContainerInfo {
        ContainerInfo {
            record: ContainerRecord {
                id: "0123456789abcdef".repeat(4),
                name: "web".into(),
                image_id: Digest::of(b"config"),
                image_name: "127.0.0.1:5000/busybox".into(),
                created: "2026-11-27T18:59:50Z".into(),
            },
            state: ContainerState {
                status,
                pid: Some(4242),
                started_at: Some("2026-11-27T18:59:55.5Z".into()),
                finished_at: Some("2026-11-27T18:59:57Z".into()),
                exit_code: (status == ContainerStatus::Exited).then_some(137),
                ..ContainerState::default()
            },
            spec: Some(
                r#"{"args":["sh","-c","while true; do date; sleep 1; done"],"env":[],
                "cwd":"/","user":"0","hostname":"h","tty":false,"interactive":false,"id":"x",
                "dirs":{"dir":"/s/c","upper":"/s/c/u","work":"/s/c/w","merged":"/s/c/m"},
                "lowers":[],"maps":{"uids":[],"gids":[],"fallback_reason":null}}"#
                    .into(),
            ),
        }
    }

    #[test]
    fn status_text_reads_like_podman() {
        let cases = [
            (ContainerStatus::Created, "Created"),
            (ContainerStatus::Initialized, "Initialized"),
            (ContainerStatus::Running, "Up 4 seconds ago"),
            (ContainerStatus::Exited, "Exited (137) 3 seconds ago"),
        ];
        for (status, want) in cases {
            assert_eq!(status_text(&info(status).state, NOW), want);
        }
        let mut st = info(ContainerStatus::Running).state;
        st.started_at = None;
        assert_eq!(status_text(&st, NOW), "Up");
    }

    #[test]
    fn template_object_truncates_unless_asked() {
        let i = info(ContainerStatus::Running);
        let v = template_object(&i, NOW, false, None);
        assert_eq!(v["ID"], "0123456789ab");
        assert_eq!(v["Command"], "sh -c while true;...");
        assert_eq!(v["RunningFor"], "10 seconds ago");
        assert_eq!(v["CreatedAt"], "2026-11-27 18:59:50 +0000 UTC");
        assert_eq!(v["Pid"], 4242);
        let v = template_object(&i, NOW, true, None);
        assert_eq!(v["ID"].as_str().unwrap().len(), 64);
        assert_eq!(v["Command"], "sh -c while true; do date; sleep 1; done");
        // Every field a template may use is in the object, and no other.
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut fields = FIELDS.to_vec();
        fields.sort_unstable();
        assert_eq!(keys, fields);
    }

    #[test]
    fn json_object_has_podmans_keys() {
        let v = json_object(&info(ContainerStatus::Exited), NOW, None);
        assert_eq!(v["Names"], json!(["web"]));
        assert_eq!(v["Command"][0], "sh");
        assert_eq!(v["State"], "exited");
        assert_eq!(v["Exited"], true);
        assert_eq!(v["ExitCode"], 137);
        assert_eq!(v["Pid"], 0);
        assert_eq!(v["Created"], 1_795_805_990);
        assert_eq!(v["ExitedAt"], 1_795_805_997);
        assert_eq!(v["Ports"], json!([]));
        assert_eq!(v["ImageID"].as_str().unwrap().len(), 64);
    }

    #[test]
    fn default_table_has_podmans_columns() {
        let Format::Template(t) = parse_format(None, false).unwrap() else {
            panic!("not a template")
        };
        let object = template_object(&info(ContainerStatus::Created), NOW, false, None);
        let out = t.render_all(&[object], &|p| header_name(p)).unwrap();
        let mut lines = out.lines();
        assert_eq!(
            lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
            [
                "CONTAINER",
                "ID",
                "IMAGE",
                "COMMAND",
                "CREATED",
                "STATUS",
                "PORTS",
                "NAMES"
            ]
        );
        assert!(lines
            .next()
            .unwrap()
            .starts_with("0123456789ab  127.0.0.1:5000/busybox  "));
    }

    #[test]
    fn unknown_template_fields_are_refused() {
        let err = parse_format(Some("{{.ID}} {{.Nope}}"), false)
            .err()
            .unwrap();
        assert!(err.to_string().contains("field Nope"), "{err}");
        assert!(matches!(parse_format(Some("json"), true), Ok(Format::Json)));
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn filters_parse_by_key() {
        let f = parse_filters(&strings(&[
            "id=ABC",
            "name=web",
            "status=exited",
            "status=created",
            "ancestor=busybox",
            "exited=137",
            "label=a=b",
            "restart-policy=always",
        ]))
        .unwrap();
        assert_eq!(
            f,
            Filters {
                ids: strings(&["abc"]),
                names: strings(&["web"]),
                statuses: vec![ContainerStatus::Exited, ContainerStatus::Created],
                ancestors: strings(&["busybox"]),
                exit_codes: vec![137],
                labels: strings(&["a=b"]),
                healths: Vec::new(),
                restart_policies: strings(&["always"]),
            }
        );
        assert!(parse_filters(&[]).unwrap().is_empty());
        let cases = [
            ("labels=a=b", "invalid filter \"labels=a=b\": unknown key, use one of id, name, status, ancestor, exited, label, health, restart-policy"),
            ("restart-policy=sometimes", "invalid filter \"restart-policy=sometimes\": restart-policy must be no, none, always, on-failure or unless-stopped"),
            ("status=paused", "invalid filter \"status=paused\": status must be created, initialized, running or exited"),
            ("exited=x", "invalid filter \"exited=x\": the exit code must be a number"),
            ("name", "invalid filter \"name\": expected KEY=VALUE"),
        ];
        for (raw, want) in cases {
            let err = parse_filters(&strings(&[raw])).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn filters_or_within_a_key_and_across_keys() {
        let exited = info(ContainerStatus::Exited);
        let running = info(ContainerStatus::Running);
        let check =
            |raw: &[&str], i: &ContainerInfo| parse_filters(&strings(raw)).unwrap().matches(i);
        assert!(check(&["name=we"], &exited));
        assert!(!check(&["name=db"], &exited));
        assert!(check(&["name=db", "name=eb"], &exited));
        assert!(check(&["status=exited"], &exited));
        assert!(!check(&["status=exited"], &running));
        assert!(check(&["status=exited", "status=running"], &running));
        assert!(!check(&["status=exited", "name=db"], &exited));
        assert!(check(&["id=0123"], &exited));
        assert!(!check(&["id=123"], &exited));
        assert!(check(&["exited=137"], &exited));
        assert!(!check(&["exited=0"], &exited));
        assert!(!check(&["exited=137"], &running));
        // The spec of `info` has no labels.
        assert!(!check(&["label=a"], &exited));
    }

    #[test]
    fn size_adds_a_column_and_a_json_object() {
        let size = Some(Sizes {
            rw: 12,
            root_fs: 1_234_579,
        });
        let Format::Template(t) = parse_format(None, true).unwrap() else {
            panic!("not a template")
        };
        let object = template_object(&info(ContainerStatus::Created), NOW, false, size);
        let out = t.render_all(&[object], &|p| header_name(p)).unwrap();
        let mut lines = out.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(header[header.len() - 2..], ["NAMES", "SIZE"]);
        assert!(lines
            .next()
            .unwrap()
            .ends_with("web         12 B (virtual 1.23 MB)"));
        let v = json_object(&info(ContainerStatus::Created), NOW, size);
        assert_eq!(v["Size"], json!({"rwSize": 12, "rootFsSize": 1_234_579}));
        let v = json_object(&info(ContainerStatus::Created), NOW, None);
        assert!(v.get("Size").is_none());
    }
}
