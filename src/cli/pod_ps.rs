//! `hutch pod ps`, `pod top`, `pod stats` and `pod logs`: what a pod and
//! its containers show, formatted as Podman formats it.

use std::time::{Duration, Instant};

use clap::Args;
use serde_json::{json, Value};

use super::template::Template;
use crate::container::pod_life::{PodFilters, PodReading};
use crate::container::pod_ops::{PodSelection, PodState};
use crate::container::{self, Engine};
use crate::error::Error;

/// How many characters of an id are shown unless `--no-trunc`.
const SHORT_ID: usize = 12;

/// The fields a `pod ps --format` template may use.
const PS_FIELDS: &[&str] = &[
    "Id",
    "ID",
    "Name",
    "Status",
    "Created",
    "InfraID",
    "InfraId",
    "NumberOfContainers",
    "Labels",
    "Networks",
    "Cgroup",
    "Namespace",
    "ContainerIds",
    "ContainerNames",
    "ContainerStatuses",
];

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Print only pod ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Output format: table, json, or a Go template such as '{{.Name}} {{.Status}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Show only pods matching KEY=VALUE: id, name, status, label, until, ctr-ids, ctr-names, ctr-number, ctr-status, network (repeatable)
    #[arg(short, long = "filter", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Do not print the header row
    #[arg(long)]
    pub noheading: bool,
    /// Show full pod and container ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Add the CGROUP and NAMESPACES columns (empty: hutch's pods have no cgroup of their own)
    #[arg(long)]
    pub ns: bool,
    /// Sort by created (newest first, the default), id, name, number or status
    #[arg(long, value_name = "KEY", default_value = "created")]
    pub sort: String,
    /// Add an IDS column: the pods' container ids
    #[arg(long)]
    pub ctr_ids: bool,
    /// Add a NAMES column: the pods' container names
    #[arg(long)]
    pub ctr_names: bool,
    /// Add a STATUS column: the pods' container statuses
    #[arg(long)]
    pub ctr_status: bool,
    /// Show only the pod created last
    #[arg(short, long)]
    pub latest: bool,
}

#[derive(Debug, Args)]
pub struct TopArgs {
    /// Show the pod created last (every argument is then a descriptor)
    #[arg(short, long)]
    pub latest: bool,
    /// The pod, then the columns: user, pid, ppid, pcpu, etime, tty, time, args, comm
    #[arg(value_name = "POD [FORMAT-DESCRIPTORS]")]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Pod names or ids (default: every pod)
    #[arg(value_name = "POD")]
    pub pods: Vec<String>,
    /// Show every pod
    #[arg(short, long)]
    pub all: bool,
    /// Show the pod created last
    #[arg(short, long)]
    pub latest: bool,
    /// Output format: table (default), json, or a Go template such as '{{.Name}} {{.CPU}}'
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Print one reading and exit
    #[arg(long)]
    pub no_stream: bool,
    /// Do not clear the screen between readings
    #[arg(long)]
    pub no_reset: bool,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The pod, by name or id
    #[arg(value_name = "POD")]
    pub pod: Vec<String>,
    /// Only this container of the pod, by name or id
    #[arg(short, long, value_name = "CONTAINER")]
    pub container: Option<String>,
    /// Keep printing new lines until the containers exit
    #[arg(short, long)]
    pub follow: bool,
    /// Show the pod created last
    #[arg(short, long)]
    pub latest: bool,
    /// Start each line with the container's name instead of its short id
    #[arg(short, long)]
    pub names: bool,
    /// Print only lines since this time (RFC 3339, or a duration such as 10m)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Print only lines until this time (RFC 3339, or a duration such as 10m)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// Print only the last N lines of each container (-1: all)
    #[arg(long, value_name = "N", default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Prefix each line with its timestamp
    #[arg(short, long)]
    pub timestamps: bool,
    /// Give each container's lines a colour of their own
    #[arg(long)]
    pub color: bool,
}

/// `pod ps`.
pub fn ps(engine: &Engine, args: PsArgs) -> Result<i32, Error> {
    if args.quiet && args.format.is_some() {
        return Err(Error::Usage(
            "quiet and format cannot be used together".into(),
        ));
    }
    let now = super::ps::now_nanos();
    let mut filters = PodFilters::default();
    for f in &args.filter {
        filters.add(f, now).map_err(container::Error::from)?;
    }
    let mut pods: Vec<PodState> = engine
        .pods()?
        .into_iter()
        .filter(|s| filters.matches(s))
        .collect();
    if args.latest {
        // Oldest first: keep the last.
        pods = pods.split_off(pods.len().saturating_sub(1));
    }
    sort(&mut pods, &args.sort)?;
    if args.quiet {
        for s in &pods {
            println!("{}", s.pod.id);
        }
        return Ok(0);
    }
    if args.format.as_deref() == Some("json") {
        let v: Vec<Value> = pods.iter().map(json_object).collect();
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(0);
    }
    let text = match args.format.as_deref() {
        None | Some("table") => default_table(&args),
        Some(t) => t.to_string(),
    };
    let t = Template::parse_as("ps", &text)?;
    t.check_fields(PS_FIELDS)?;
    let rows: Vec<Value> = pods
        .iter()
        .map(|s| template_object(s, now, args.no_trunc))
        .collect();
    // Without its header a table keeps its columns aligned.
    let text = t.render_all(&rows, &|p| ps_header(p))?;
    super::output::print_listing(&text, args.noheading && t.is_table);
    Ok(0)
}

/// Podman's default `pod ps` table for these flags.
fn default_table(args: &PsArgs) -> String {
    let mut row = vec![
        "{{.ID}}",
        "{{.Name}}",
        "{{.Status}}",
        "{{.Created}}",
        "{{.InfraID}}",
    ];
    if args.ctr_ids {
        row.push("{{.ContainerIds}}");
    }
    if args.ctr_names {
        row.push("{{.ContainerNames}}");
    }
    if args.ctr_status {
        row.push("{{.ContainerStatuses}}");
    }
    if args.ns {
        row.extend(["{{.Cgroup}}", "{{.Namespace}}"]);
    }
    if !args.ctr_ids && !args.ctr_names && !args.ctr_status {
        row.push("{{.NumberOfContainers}}");
    }
    format!("table {}", row.join("\\t"))
}

/// Sorts as `--sort` asks (created: newest first).
fn sort(pods: &mut [PodState], key: &str) -> Result<(), Error> {
    match key {
        // The engine lists them oldest first.
        "created" => pods.reverse(),
        "id" => pods.sort_by(|a, b| a.pod.id.cmp(&b.pod.id)),
        "name" => pods.sort_by(|a, b| a.pod.name.cmp(&b.pod.name)),
        "number" => pods.sort_by_key(|s| s.members.len()),
        "status" => pods.sort_by(|a, b| a.status.name().cmp(b.status.name())),
        _ => {
            return Err(Error::Usage(
                "invalid option for --sort, options are: id, names, or number".into(),
            ))
        }
    }
    Ok(())
}

fn ps_header(path: &[String]) -> String {
    match path.join(".").as_str() {
        "Id" | "ID" => "POD ID".into(),
        "Name" => "NAME".into(),
        "Status" | "ContainerStatuses" => "STATUS".into(),
        "Labels" => "LABELS".into(),
        "NumberOfContainers" => "# OF CONTAINERS".into(),
        "Created" => "CREATED".into(),
        "InfraID" | "InfraId" => "INFRA ID".into(),
        "ContainerIds" => "IDS".into(),
        "ContainerNames" => "NAMES".into(),
        "Cgroup" => "CGROUP".into(),
        "Namespace" => "NAMESPACES".into(),
        other => other.to_uppercase(),
    }
}

fn shorten(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        id.to_string()
    } else {
        id.chars().take(SHORT_ID).collect()
    }
}

/// The object `pod ps --format` templates see (Podman's `ListPodReporter`).
fn template_object(s: &PodState, now: i64, no_trunc: bool) -> Value {
    let p = &s.pod;
    let created = container::logread::parse_timestamp(&p.created)
        .map(|t| format!("{} ago", super::units::human_duration(now - t)))
        .unwrap_or_else(|| p.created.clone());
    let join = |f: &dyn Fn(&(container::query::ContainerInfo, _)) -> String| {
        s.members.iter().map(f).collect::<Vec<_>>().join(",")
    };
    let id = shorten(&p.id, no_trunc);
    json!({
        "Id": id,
        "ID": id,
        "Name": p.name,
        "Status": s.status.name(),
        "Created": created,
        "InfraID": "",
        "InfraId": "",
        "NumberOfContainers": s.members.len(),
        "Labels": p.labels,
        "Networks": "",
        "Cgroup": "",
        "Namespace": "",
        "ContainerIds": join(&|(m, _)| shorten(&m.record.id, no_trunc)),
        "ContainerNames": join(&|(m, _)| m.record.name.clone()),
        "ContainerStatuses": join(&|(_, st)| st.name().to_string()),
    })
}

/// `pod ps --format json`: Podman's `ListPodsReport`, and hutch's
/// `NumberOfContainers`.
fn json_object(s: &PodState) -> Value {
    let p = &s.pod;
    let members: Vec<Value> = s
        .members
        .iter()
        .map(|(m, st)| json!({"Id": m.record.id, "Names": m.record.name, "Status": st.name()}))
        .collect();
    json!({
        "Cgroup": "",
        "Containers": members,
        "Created": p.created,
        "Id": p.id,
        "InfraId": "",
        "Name": p.name,
        "Namespace": "",
        "Networks": [],
        "Status": s.status.name(),
        "Labels": p.labels,
        "NumberOfContainers": s.members.len(),
    })
}

/// `pod top`: the processes of a pod's running containers.
pub fn top(engine: &Engine, args: TopArgs) -> Result<i32, Error> {
    let (pod, descriptors) = match (args.latest, args.args.split_first()) {
        (true, _) => (None, args.args.as_slice()),
        (false, Some((pod, rest))) => (Some(pod.as_str()), rest),
        (false, None) => {
            return Err(Error::Usage(
                "you must provide the name or id of a running pod".into(),
            ))
        }
    };
    let columns = super::top::parse_descriptors(descriptors)?;
    let id = super::pod::one_pod(engine, pod, args.latest)?;
    let processes = engine.pod_processes(&id)?;
    print!("{}", super::top::table(&columns, &processes));
    Ok(0)
}

/// The default `pod stats` table, as Podman prints it.
const STATS_TABLE: &str = "table {{.Pod}}\\t{{.CID}}\\t{{.Name}}\\t{{.CPU}}\\t{{.MemUsage}}\\t\
                           {{.Mem}}\\t{{.NetIO}}\\t{{.BlockIO}}\\t{{.PIDS}}";

/// The fields a `pod stats --format` template may use.
const STATS_FIELDS: &[&str] = &[
    "Pod",
    "CID",
    "Name",
    "CPU",
    "MemUsage",
    "MemUsageBytes",
    "Mem",
    "NetIO",
    "BlockIO",
    "PIDS",
];

/// `pod stats`: CPU, memory, network, block io and pids of the running
/// containers of pods (every pod when none is named).
pub fn stats(engine: &Engine, args: StatsArgs) -> Result<i32, Error> {
    let given = [!args.pods.is_empty(), args.all, args.latest];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(Error::Usage(
            "--all, --latest and arguments cannot be used together".into(),
        ));
    }
    let ids = engine.select_pods(&PodSelection {
        names: args.pods.clone(),
        is_all: args.all || args.pods.is_empty() && !args.latest,
        is_latest: args.latest,
        is_ignoring: false,
    })?;
    let format = match args.format.as_deref() {
        Some("json") => None,
        None | Some("table") => Some(Template::parse_as("stats", STATS_TABLE)?),
        Some(t) => Some(Template::parse_as("stats", t)?),
    };
    if let Some(t) = &format {
        t.check_fields(STATS_FIELDS)?;
    }
    let mut before = engine.pod_stats(&ids)?;
    loop {
        // CPU % needs two readings: the first waits a second.
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs(1));
        let after = engine.pod_stats(&ids)?;
        let elapsed = started.elapsed().as_micros().max(1) as f64;
        let rows: Vec<Value> = after
            .iter()
            .map(|a| {
                let b = before
                    .iter()
                    .find(|b| b.reading.id == a.reading.id)
                    .unwrap_or(a);
                stats_row(b, a, elapsed)
            })
            .collect();
        match &format {
            None => println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            ),
            Some(t) => {
                if !args.no_stream && !args.no_reset {
                    print!("\x1b[2J\x1b[H");
                }
                print!("{}", render_stats(t, &rows)?);
            }
        }
        if args.no_stream {
            return Ok(0);
        }
        before = after;
    }
}

/// One `pod stats` row, from the container `stats` row.
fn stats_row(before: &PodReading, after: &PodReading, elapsed_usec: f64) -> Value {
    let c = super::cgroups::row(&before.reading, &after.reading, elapsed_usec, false);
    let s = &after.reading.stats;
    json!({
        "Pod": shorten(&after.pod_id, false),
        "CID": c["ID"],
        "Name": c["Name"],
        "CPU": c["CPUPerc"],
        "MemUsage": c["MemUsage"],
        "MemUsageBytes": format!("{} / {}", s.memory_bytes, after.reading.memory_limit),
        "Mem": c["MemPerc"],
        "NetIO": c["NetIO"],
        "BlockIO": c["BlockIO"],
        "PIDS": c["PIDs"].to_string(),
    })
}

/// The rows in template `t`; the default table with no rows shows `--`
/// in every column, as Podman's does.
fn render_stats(t: &Template, rows: &[Value]) -> Result<String, Error> {
    let header = |path: &[String]| -> String {
        match path.join(".").as_str() {
            "CPU" => "CPU %".into(),
            "MemUsage" | "MemUsageBytes" => "MEM USAGE/ LIMIT".into(),
            "Mem" => "MEM %".into(),
            "NetIO" => "NET IO".into(),
            "BlockIO" => "BLOCK IO".into(),
            other => other.to_uppercase(),
        }
    };
    if rows.is_empty() && t.is_table {
        let dashes: serde_json::Map<String, Value> = STATS_FIELDS
            .iter()
            .map(|f| (f.to_string(), json!("--")))
            .collect();
        return Ok(t.render_all(&[Value::Object(dashes)], &header)?);
    }
    Ok(t.render_all(rows, &header)?)
}

/// `pod logs`: the output of a pod's containers, each line starting with
/// its container's short id (or name), as Podman's do (its infra makes
/// every pod's list several containers long), unless `-c` picks one.
pub fn logs(engine: &Engine, args: LogsArgs) -> Result<i32, Error> {
    if args.pod.len() > 1 {
        return Err(Error::Usage("requires exactly 1 arg".into()));
    }
    if args.latest && !args.pod.is_empty() {
        return Err(Error::Usage(
            "--latest and containers cannot be used together".into(),
        ));
    }
    if !args.latest && args.pod.is_empty() {
        return Err(Error::Usage(
            "specify at least one pod name or ID to log".into(),
        ));
    }
    let id = super::pod::one_pod(engine, args.pod.first().map(String::as_str), args.latest)?;
    let containers = engine.pod_log_members(&id, args.container.as_deref())?;
    let is_several = args.container.is_none();
    let logs = super::logs::LogsArgs {
        containers,
        follow: args.follow,
        tail: usize::try_from(args.tail).ok(),
        since: args.since,
        until: args.until,
        timestamps: args.timestamps,
        names: args.names,
        color: args.color,
        latest: super::pick::Latest::default(),
    };
    super::logs::show(engine, logs, is_several, args.color)
}
