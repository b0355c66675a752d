//! `generate systemd`: the text of the units, from the facts the engine
//! gathered (`gensys`) and the command's options. Pure: no I/O, so the
//! text is unit-tested line by line against Podman 4.3's.
//!
//! The shape is Podman's: a container unit either starts the existing
//! container (`Type=forking`, the monitor's pid file) or, with `--new`,
//! runs a fresh one from the command line that created it
//! (`Type=notify`, `--sdnotify=conmon`, `--cidfile`, `--replace`); a pod
//! unit comes with one unit per member, bound to it.

use std::collections::BTreeSet;

/// The restart policies systemd knows (`Restart=`), which
/// `--restart-policy` may name.
pub const RESTART_POLICIES: [&str; 7] = [
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

/// Seconds systemd waits beyond the stop timeout before it kills the
/// unit (Podman's `minTimeoutStopSec`).
const MIN_TIMEOUT_STOP_SEC: u64 = 60;

/// Where a `--new` unit keeps the container's id, relative to systemd's
/// `%t` (the user's runtime directory).
const CIDFILE: &str = "%t/%n.ctr-id";

/// The options of `generate systemd`.
#[derive(Debug, Clone, Default)]
pub struct UnitOptions {
    /// `--name`: units and commands name containers and pods by name, not id.
    pub is_named: bool,
    /// `--new`: the unit creates the container (or pod) at each start.
    pub is_new: bool,
    /// `--no-header`: only the unit's name in the leading comment.
    pub is_headerless: bool,
    /// `--template`: a template unit (`NAME@.service`, `%i` in the name).
    pub is_template: bool,
    /// `--container-prefix`.
    pub container_prefix: String,
    /// `--pod-prefix`.
    pub pod_prefix: String,
    /// `--separator`.
    pub separator: String,
    /// `--restart-policy` (checked against `RESTART_POLICIES`).
    pub restart_policy: Option<String>,
    /// `--restart-sec`.
    pub restart_sec: Option<u64>,
    /// `--start-timeout`.
    pub start_timeout: Option<u64>,
    /// `--stop-timeout` (or the deprecated `--time`).
    pub stop_timeout: Option<u64>,
    /// `--wants`, `--after` and `--requires`.
    pub wants: Vec<String>,
    pub after: Vec<String>,
    pub requires: Vec<String>,
    /// `--env`: `KEY=VALUE` lines for the unit's environment.
    pub env: Vec<String>,
    /// The path of the hutch binary the units run.
    pub executable: String,
    /// The global flags (`--root`, `--runroot`) the units of existing
    /// containers pass to hutch, so they find the store this command used.
    pub root_flags: Vec<String>,
    /// The run directory a unit of an existing container requires.
    pub runroot: String,
    /// hutch's version, for the header.
    pub version: String,
    /// The time of generation, for the header (`date`'s format).
    pub timestamp: String,
    /// The long and short flags of `run` that take a value, to find where
    /// a create command's options end.
    pub value_flags: BTreeSet<String>,
}

/// What a unit is made from about one container.
#[derive(Debug, Clone, Default)]
pub struct ContainerFacts {
    /// Its full id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The command line that created it.
    pub create_command: Vec<String>,
    /// Its `--stop-timeout`.
    pub stop_timeout: u64,
    /// Its environment (for `-e KEY` without a value).
    pub env: Vec<String>,
    /// The file its monitor's pid is written to at each start.
    pub pid_file: String,
}

/// What a unit is made from about one pod.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    /// Its full id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The command line that created it.
    pub create_command: Vec<String>,
    /// The file its infra monitor's pid is written to at each start.
    pub pid_file: String,
}

/// One unit: its service name (without `.service`) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The service name, e.g. `container-web`.
    pub name: String,
    /// The file name it is written to: `NAME.service`, `NAME@.service`.
    pub file_name: String,
    /// The unit file.
    pub text: String,
}

/// What cannot be made into a unit.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--restart-policy` that systemd does not know (Podman's words).
    #[error("{0} is not a valid restart policy")]
    RestartPolicy(String),
    /// `--template` for a pod (Podman's words).
    #[error("--template is not supported for pods")]
    TemplatePod,
    /// `--new` for a container or pod without a recorded command line.
    #[error("cannot use --new on {0}: no create command found")]
    NoCreateCommand(String),
    /// An init container of a pod (Podman's words).
    #[error("unsupported container {0}: cannot generate systemd units for init containers")]
    InitContainer(String),
    /// A create command without `run`/`create` (Podman's words).
    #[error("container's create command is too short or invalid: {0:?}")]
    BadCreateCommand(Vec<String>),
}

/// The service name of `prefix`, `separator` and the name or id.
fn service_name(prefix: &str, separator: &str, name: &str) -> String {
    format!("{prefix}{separator}{name}")
}

/// One argument as a systemd command line reads it back: `$` and `%`
/// doubled, quoted when it has blanks (Podman's `escapeSystemdArg`).
pub fn escape_arg(arg: &str) -> String {
    let arg = arg.replace('$', "$$").replace('%', "%%");
    if arg.contains([' ', '\t']) {
        let mut quoted = String::from("\"");
        for c in arg.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                '\n' => quoted.push_str("\\n"),
                '\t' => quoted.push_str("\\t"),
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    } else {
        arg.replace('\\', "\\\\")
    }
}

/// A command line with each option on a continuation line, as Podman
/// lays out `ExecStart=`.
fn format_options(args: &[String]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i == 0 {
            out.push_str(a);
        } else if a.starts_with('-') {
            out.push_str(" \\\n\t");
            out.push_str(a);
        } else {
            out.push(' ');
            out.push_str(a);
        }
    }
    out
}

/// Where a create command's subcommand (`run`, `create`, `pod create`'s
/// `create`) is, and the global flags before it (without `container` or
/// `pod`).
fn split_command(cmd: &[String], words: &[&str]) -> Result<(Vec<String>, usize), Error> {
    let index = cmd
        .iter()
        .position(|a| words.contains(&a.as_str()))
        .filter(|&i| i > 0)
        .ok_or_else(|| Error::BadCreateCommand(cmd.to_vec()))?;
    let root = cmd[1..index]
        .iter()
        .filter(|a| *a != "container" && *a != "pod")
        .cloned()
        .collect();
    Ok((root, index + 1))
}

/// The options of `args` (a create command after its subcommand) up to
/// the first positional argument, split into (flag, value) pairs; the
/// rest (image and command) is returned apart.
fn split_options(
    args: &[String],
    value_flags: &BTreeSet<String>,
) -> (Vec<Vec<String>>, Vec<String>) {
    let mut opts = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        let takes_value = !a.contains('=') && value_flags.contains(a.as_str());
        if takes_value && i + 1 < args.len() {
            opts.push(vec![a.clone(), args[i + 1].clone()]);
            i += 2;
        } else {
            opts.push(vec![a.clone()]);
            i += 1;
        }
    }
    (opts, args[i..].to_vec())
}

/// The flag name of an option (`--name=x` → `--name`).
fn flag_of(opt: &[String]) -> &str {
    opt[0].split_once('=').map_or(opt[0].as_str(), |(f, _)| f)
}

/// The value of an option, if it has one.
fn value_of(opt: &[String]) -> Option<&str> {
    opt.get(1)
        .map(String::as_str)
        .or_else(|| opt[0].split_once('=').map(|(_, v)| v))
}

/// Whether a boolean option is on (`--x`, `--x=true`).
fn is_on(opt: &[String]) -> bool {
    value_of(opt).is_none_or(|v| v == "true")
}

/// Whether a short-option cluster (`-dit`) holds `-d`.
fn is_detach_cluster(a: &str, value_flags: &BTreeSet<String>) -> bool {
    let Some(letters) = a.strip_prefix('-').filter(|l| !l.starts_with('-')) else {
        return false;
    };
    letters.len() > 1
        && letters.chars().all(|c| c.is_ascii_alphabetic())
        && letters.contains('d')
        && letters[..letters.len() - 1]
            .chars()
            .all(|c| !value_flags.contains(&format!("-{c}")))
}

/// The `[Unit]` header: the name comment, Podman's generated lines and
/// `Description=`.
fn header(service: &str, opts: &UnitOptions, requires_mounts: &str) -> String {
    let file = match opts.is_template {
        true => format!("{service}@"),
        false => service.to_string(),
    };
    let mut out = format!("# {file}.service\n");
    if !opts.is_headerless {
        out.push_str(&format!("# autogenerated by hutch {}\n", opts.version));
        out.push_str(&format!("# {}\n", opts.timestamp));
    }
    let for_instance = if opts.is_template { " for %I" } else { "" };
    out.push_str(&format!(
        "\n[Unit]\nDescription=hutch {service}.service{for_instance}\n\
         Documentation=man:hutch-generate-systemd(1)\n\
         Wants=network-online.target\nAfter=network-online.target\n\
         RequiresMountsFor={requires_mounts}\n"
    ));
    out
}

/// The `--wants`, `--after` and `--requires` block.
fn user_dependencies(opts: &UnitOptions) -> String {
    let mut out = String::new();
    if opts.wants.is_empty() && opts.after.is_empty() && opts.requires.is_empty() {
        return out;
    }
    out.push_str("\n# User-defined dependencies");
    for (key, list) in [
        ("Wants", &opts.wants),
        ("After", &opts.after),
        ("Requires", &opts.requires),
    ] {
        if !list.is_empty() {
            out.push_str(&format!("\n{key}={}", list.join(" ")));
        }
    }
    out.push('\n');
    out
}

/// The `[Service]` lines every unit starts with: the unit's name in the
/// environment, `--env`, the restart policy and the timeouts.
struct ServiceHead<'a> {
    extra_env: &'a [String],
    restart: &'a str,
    start_limit_burst: Option<&'a str>,
    stop_timeout: u64,
}

fn service_head(opts: &UnitOptions, head: &ServiceHead<'_>) -> String {
    let instance = if opts.is_template { "-%i" } else { "" };
    let mut out = format!("\n[Service]\nEnvironment=PODMAN_SYSTEMD_UNIT=%n{instance}\n");
    if !head.extra_env.is_empty() {
        out.push_str(&format!("Environment={}\n", head.extra_env.join(" ")));
    }
    for e in &opts.env {
        out.push_str(&format!("Environment={}\n", escape_arg(e)));
    }
    out.push_str(&format!("Restart={}\n", head.restart));
    if let Some(sec) = opts.restart_sec.filter(|s| *s > 0) {
        out.push_str(&format!("RestartSec={sec}\n"));
    }
    if let Some(burst) = head.start_limit_burst {
        out.push_str(&format!("StartLimitBurst={burst}\n"));
    }
    if let Some(sec) = opts.start_timeout.filter(|s| *s > 0) {
        out.push_str(&format!("TimeoutStartSec={sec}\n"));
    }
    out.push_str(&format!(
        "TimeoutStopSec={}\n",
        MIN_TIMEOUT_STOP_SEC + head.stop_timeout
    ));
    out
}

const INSTALL: &str = "\n[Install]\nWantedBy=default.target\n";

/// The global flags, inline, for commands that follow the executable.
fn inline_root(root: &[String]) -> String {
    root.iter().map(|a| format!(" {}", escape_arg(a))).collect()
}

/// The checked `--restart-policy`, if given.
fn restart_override(opts: &UnitOptions) -> Result<Option<&str>, Error> {
    match opts.restart_policy.as_deref() {
        Some(p) if !RESTART_POLICIES.contains(&p) => Err(Error::RestartPolicy(p.to_string())),
        other => Ok(other),
    }
}

/// The `ExecStart=` of a `--new` container unit and what the create
/// command says about the unit: (command, restart policy, start limit
/// burst, extra environment).
struct NewStart {
    exec: String,
    restart: Option<String>,
    burst: Option<String>,
    extra_env: Vec<String>,
}

fn new_container_start(
    ctr: &ContainerFacts,
    service: &str,
    pod_service: Option<&str>,
    opts: &UnitOptions,
) -> Result<NewStart, Error> {
    if ctr.create_command.is_empty() {
        return Err(Error::NoCreateCommand(format!("container {:?}", ctr.id)));
    }
    let (root, index) = split_command(&ctr.create_command, &["run", "create"])?;
    let (options, rest) = split_options(&ctr.create_command[index..], &opts.value_flags);
    let mut start = vec![opts.executable.clone()];
    start.extend(root.iter().map(|a| escape_arg(a)));
    start.extend(
        [
            "run",
            "--cidfile=%t/%n.ctr-id",
            "--cgroups=no-conmon",
            "--rm",
        ]
        .map(String::from),
    );
    if let Some(pod) = pod_service {
        start.push("--pod-id-file".into());
        start.push(format!("%t/{pod}.pod-id"));
    }
    let find = |flag: &str| options.iter().rev().find(|o| flag_of(o) == flag);
    let sdnotify = find("--sdnotify").and_then(|o| value_of(o));
    if sdnotify.is_none_or(|v| v == "ignore") {
        start.push("--sdnotify=conmon".into());
    }
    let is_detached = options
        .iter()
        .any(|o| matches!(flag_of(o), "-d" | "--detach") && is_on(o))
        || options
            .iter()
            .any(|o| is_detach_cluster(&o[0], &opts.value_flags));
    if !is_detached {
        start.push("-d".into());
    }
    let has_name = find("--name").is_some();
    let is_replacing = find("--replace").is_some_and(|o| is_on(o));
    if has_name && !is_replacing {
        start.push("--replace".into());
    }
    let mut restart = None;
    let mut burst = None;
    if let Some(policy) = find("--restart").and_then(|o| value_of(o)) {
        match policy.split_once(':') {
            Some((p, n)) if p == "on-failure" => {
                restart = Some(p.to_string());
                burst = Some(n.to_string());
            }
            _ if policy == "unless-stopped" => restart = Some("always".into()),
            _ if !policy.is_empty() => restart = Some(policy.to_string()),
            _ => {}
        }
    }
    let mut extra_env = Vec::new();
    for o in options
        .iter()
        .filter(|o| matches!(flag_of(o), "-e" | "--env"))
    {
        let Some(key) = value_of(o).filter(|v| !v.contains('=')) else {
            continue;
        };
        let prefix = format!("{key}=");
        extra_env.extend(
            ctr.env
                .iter()
                .filter(|e| e.starts_with(&prefix))
                .map(|e| escape_arg(e)),
        );
    }
    for o in &options {
        let dropped = match flag_of(o) {
            "--rm" | "--cgroups" | "--cidfile" | "--restart" => true,
            "--pod" | "--pod-id-file" => pod_service.is_some(),
            "--sdnotify" => sdnotify == Some("ignore"),
            "-d" | "--detach" => !is_detached,
            "--replace" => has_name && !is_replacing,
            _ => false,
        };
        if !dropped {
            start.extend(o.iter().map(|a| escape_arg(a)));
        }
    }
    start.extend(rest.iter().map(|a| escape_arg(a)));
    if opts.is_template {
        name_for_template(&mut start, service);
    }
    Ok(NewStart {
        exec: format_options(&start),
        restart,
        burst,
        extra_env,
    })
}

/// Gives the container of a template unit a name with the instance
/// (`%i`) in it: `--name NAME-%i`, or `--name=SERVICE-%i` after `run`.
fn name_for_template(start: &mut Vec<String>, service: &str) {
    if let Some(i) = start.iter().position(|a| a == "--name") {
        if let Some(v) = start.get_mut(i + 1) {
            v.push_str("-%i");
        }
    } else if let Some(a) = start.iter_mut().find(|a| a.starts_with("--name=")) {
        a.push_str("-%i");
    } else if let Some(i) = start.iter().position(|a| a == "run") {
        start.insert(i + 1, format!("--name={service}-%i"));
    }
}

/// The unit of container `ctr`; `pod_service` when it is generated as a
/// member of that pod's unit.
pub fn container_unit(
    ctr: &ContainerFacts,
    pod_service: Option<&str>,
    opts: &UnitOptions,
) -> Result<Unit, Error> {
    let override_policy = restart_override(opts)?;
    let name_or_id = if opts.is_named { &ctr.name } else { &ctr.id };
    let service = service_name(&opts.container_prefix, &opts.separator, name_or_id);
    let stop = opts.stop_timeout.unwrap_or(ctr.stop_timeout);
    let exe = &opts.executable;
    let (requires_mounts, body, restart, burst, extra_env);
    if opts.is_new || opts.is_template {
        let new = new_container_start(ctr, &service, pod_service, opts)?;
        let (root, _) = split_command(&ctr.create_command, &["run", "create"])?;
        let root = inline_root(&root);
        requires_mounts = "%t/hutch".to_string();
        body = format!(
            "ExecStartPre=/bin/rm \\\n\t-f {CIDFILE}\n\
             ExecStart={}\n\
             ExecStop={exe}{root} stop \\\n\t--ignore -t {stop} \\\n\t--cidfile={CIDFILE}\n\
             ExecStopPost={exe}{root} rm \\\n\t-f \\\n\t--ignore -t {stop} \\\n\t--cidfile={CIDFILE}\n\
             Type=notify\nNotifyAccess=all\n",
            new.exec
        );
        restart = new.restart;
        burst = new.burst;
        extra_env = new.extra_env;
    } else {
        let root = inline_root(&opts.root_flags);
        requires_mounts = opts.runroot.clone();
        body = format!(
            "ExecStart={exe}{root} start {name_or_id}\n\
             ExecStop={exe}{root} stop  \\\n\t-t {stop} {name_or_id}\n\
             ExecStopPost={exe}{root} stop  \\\n\t-t {stop} {name_or_id}\n\
             PIDFile={}\nType=forking\n",
            ctr.pid_file
        );
        restart = None;
        burst = None;
        extra_env = Vec::new();
    }
    let restart = override_policy.map(str::to_string).or(restart);
    let burst = burst.filter(|_| override_policy.is_none());
    let mut text = header(&service, opts, &requires_mounts);
    if let Some(pod) = pod_service {
        text.push_str(&format!("BindsTo={pod}.service\nAfter={pod}.service\n"));
    }
    text.push_str(&user_dependencies(opts));
    text.push_str(&service_head(
        opts,
        &ServiceHead {
            extra_env: &extra_env,
            restart: restart.as_deref().unwrap_or("on-failure"),
            start_limit_burst: burst.as_deref(),
            stop_timeout: stop,
        },
    ));
    text.push_str(&body);
    text.push_str(INSTALL);
    let file_name = match opts.is_template {
        true => format!("{service}@.service"),
        false => format!("{service}.service"),
    };
    Ok(Unit {
        name: service,
        file_name,
        text,
    })
}

/// The pod's own service name.
pub fn pod_service(pod: &PodFacts, opts: &UnitOptions) -> String {
    let name_or_id = if opts.is_named { &pod.name } else { &pod.id };
    service_name(&opts.pod_prefix, &opts.separator, name_or_id)
}

/// The `ExecStartPre=` that creates a `--new` pod: its create command
/// with the pid and id files of the unit and `--exit-policy=stop`.
fn new_pod_create(pod: &PodFacts, service: &str, opts: &UnitOptions) -> Result<String, Error> {
    if pod.create_command.is_empty() {
        return Err(Error::NoCreateCommand(format!("pod {:?}", pod.id)));
    }
    let (root, index) = split_command(&pod.create_command, &["create"])?;
    let pod_value_flags: BTreeSet<String> = opts
        .value_flags
        .iter()
        .cloned()
        .chain(["--infra-conmon-pidfile", "--exit-policy"].map(String::from))
        .collect();
    let (options, rest) = split_options(&pod.create_command[index..], &pod_value_flags);
    let mut start = vec![opts.executable.clone()];
    start.extend(root.iter().map(|a| escape_arg(a)));
    start.extend([
        "pod".to_string(),
        "create".to_string(),
        "--infra-conmon-pidfile".to_string(),
        format!("%t/{service}.pid"),
        "--pod-id-file".to_string(),
        format!("%t/{service}.pod-id"),
        "--exit-policy=stop".to_string(),
    ]);
    let find = |flag: &str| options.iter().rev().find(|o| flag_of(o) == flag);
    let has_name = find("--name").is_some() || find("-n").is_some();
    let is_replacing = find("--replace").is_some_and(|o| is_on(o));
    for o in &options {
        let dropped = match flag_of(o) {
            "--infra-conmon-pidfile" | "--pod-id-file" | "--exit-policy" => true,
            "--replace" => has_name && !is_replacing,
            _ => false,
        };
        if !dropped {
            start.extend(o.iter().map(|a| escape_arg(a)));
        }
    }
    start.extend(rest.iter().map(|a| escape_arg(a)));
    if has_name && !is_replacing {
        start.push("--replace".into());
    }
    Ok(format_options(&start))
}

/// The units of pod `pod` and its `members`: the pod's first, then one
/// per member, sorted by name.
pub fn pod_units(
    pod: &PodFacts,
    members: &[ContainerFacts],
    opts: &UnitOptions,
) -> Result<Vec<Unit>, Error> {
    if opts.is_template {
        return Err(Error::TemplatePod);
    }
    let override_policy = restart_override(opts)?;
    let service = pod_service(pod, opts);
    let mut member_units = members
        .iter()
        .map(|m| container_unit(m, Some(&service), opts))
        .collect::<Result<Vec<_>, _>>()?;
    member_units.sort_by(|a, b| a.name.cmp(&b.name));
    let stop = opts
        .stop_timeout
        .unwrap_or(crate::runtime::plan::DEFAULT_STOP_TIMEOUT);
    let exe = &opts.executable;
    let (requires_mounts, body);
    if opts.is_new {
        let create = new_pod_create(pod, &service, opts)?;
        let (root, _) = split_command(&pod.create_command, &["create"])?;
        let root = inline_root(&root);
        let id_file = format!("%t/{service}.pod-id");
        requires_mounts = opts.runroot.clone();
        body = format!(
            "ExecStartPre=/bin/rm \\\n\t-f %t/{service}.pid {id_file}\n\
             ExecStartPre={create}\n\
             ExecStart={exe}{root} pod start \\\n\t--pod-id-file {id_file}\n\
             ExecStop={exe}{root} pod stop \\\n\t--ignore \\\n\t--pod-id-file {id_file}  \\\n\t-t {stop}\n\
             ExecStopPost={exe}{root} pod rm \\\n\t--ignore \\\n\t-f \\\n\t--pod-id-file {id_file}\n\
             PIDFile=%t/{service}.pid\nType=forking\n"
        );
    } else {
        let name_or_id = if opts.is_named { &pod.name } else { &pod.id };
        let root = inline_root(&opts.root_flags);
        requires_mounts = opts.runroot.clone();
        body = format!(
            "ExecStart={exe}{root} pod start {name_or_id}\n\
             ExecStop={exe}{root} pod stop  \\\n\t-t {stop} {name_or_id}\n\
             ExecStopPost={exe}{root} pod stop  \\\n\t-t {stop} {name_or_id}\n\
             PIDFile={}\nType=forking\n",
            pod.pid_file
        );
    }
    let mut text = header(&service, opts, &requires_mounts);
    if !member_units.is_empty() {
        let names: Vec<String> = member_units
            .iter()
            .map(|u| format!("{}.service", u.name))
            .collect();
        text.push_str(&format!(
            "Wants={}\nBefore={}\n",
            names.join(" "),
            names.join(" ")
        ));
    }
    text.push_str(&user_dependencies(opts));
    text.push_str(&service_head(
        opts,
        &ServiceHead {
            extra_env: &[],
            restart: override_policy.unwrap_or("on-failure"),
            start_limit_burst: None,
            stop_timeout: stop,
        },
    ));
    text.push_str(&body);
    text.push_str(INSTALL);
    let mut units = vec![Unit {
        file_name: format!("{service}.service"),
        name: service,
        text,
    }];
    units.extend(member_units);
    Ok(units)
}

/// `secs` since the epoch in `date`'s format, in UTC (Go's
/// `time.UnixDate`: `Sat Dec  5 12:51:20 UTC 2026`), for the header.
pub fn unix_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let (y, m, d) = crate::runtime::clock::civil_from_days(days);
    format!(
        "{} {} {d:>2} {:02}:{:02}:{:02} UTC {y}",
        DAYS[usize::try_from(days % 7).unwrap_or(0)],
        MONTHS[usize::try_from(m - 1).unwrap_or(0)],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn opts() -> UnitOptions {
        UnitOptions {
            is_named: true,
            is_headerless: true,
            container_prefix: "container".into(),
            pod_prefix: "pod".into(),
            separator: "-".into(),
            executable: "/bin/hutch".into(),
            runroot: "/run/user/1/hutch".into(),
            value_flags: strings(&[
                "--name",
                "-e",
                "--env",
                "-p",
                "--restart",
                "--cidfile",
                "--pod",
                "--sdnotify",
            ])
            .into_iter()
            .collect(),
            ..UnitOptions::default()
        }
    }

    fn ctr(cmd: &[&str]) -> ContainerFacts {
        ContainerFacts {
            id: "abc".into(),
            name: "web".into(),
            create_command: strings(cmd),
            stop_timeout: 10,
            env: strings(&["FOO=hello", "PATH=/bin"]),
            pid_file: "/run/user/1/hutch/monitors/abc.pid".into(),
        }
    }

    /// The `ExecStart=` of `unit`, continuation lines joined.
    fn exec_start(unit: &Unit) -> String {
        let start = unit.text.find("\nExecStart=").unwrap() + 11;
        let end = unit.text[start..].find("\nExecStop=").unwrap() + start;
        unit.text[start..end].replace(" \\\n\t", " ")
    }

    #[test]
    fn systemd_arguments_are_escaped_as_podman_escapes_them() {
        assert_eq!(escape_arg("plain"), "plain");
        assert_eq!(escape_arg("$HOME 50%"), "\"$$HOME 50%%\"");
        assert_eq!(escape_arg("a\\b"), "a\\\\b");
        assert_eq!(escape_arg("say \"hi\""), "\"say \\\"hi\\\"\"");
    }

    #[test]
    fn new_units_lay_podmans_flags_over_the_create_command() {
        let c = ctr(&[
            "hutch",
            "--root",
            "/r",
            "create",
            "--rm",
            "--cgroups=enabled",
            "--cidfile",
            "/x",
            "--restart",
            "unless-stopped",
            "-e",
            "FOO",
            "--name=web",
            "img",
            "sh",
            "-c",
            "--rm",
        ]);
        let o = UnitOptions {
            is_new: true,
            ..opts()
        };
        let u = container_unit(&c, None, &o).unwrap();
        assert_eq!(
            exec_start(&u),
            "/bin/hutch --root /r run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon -d --replace -e FOO --name=web img sh -c --rm"
        );
        assert!(
            u.text.contains("\nEnvironment=FOO=hello\nRestart=always\n"),
            "{}",
            u.text
        );
        assert!(u
            .text
            .contains("ExecStop=/bin/hutch --root /r stop \\\n\t--ignore -t 10"));
    }

    #[test]
    fn new_units_keep_detach_replace_and_sdnotify_already_given() {
        let c = ctr(&[
            "hutch",
            "container",
            "run",
            "-dit",
            "--replace",
            "--name",
            "web",
            "--sdnotify=healthy",
            "img",
        ]);
        let o = UnitOptions {
            is_new: true,
            ..opts()
        };
        let u = container_unit(&c, None, &o).unwrap();
        assert_eq!(
            exec_start(&u),
            "/bin/hutch run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm -dit --replace --name web --sdnotify=healthy img"
        );
        let c = ctr(&[
            "hutch",
            "run",
            "--detach=false",
            "--sdnotify",
            "ignore",
            "img",
        ]);
        let u = container_unit(&c, None, &o).unwrap();
        assert_eq!(
            exec_start(&u),
            "/bin/hutch run --cidfile=%t/%n.ctr-id --cgroups=no-conmon --rm --sdnotify=conmon -d img"
        );
    }

    #[test]
    fn on_failure_counts_become_start_limit_bursts_unless_overridden() {
        let c = ctr(&["hutch", "run", "--restart=on-failure:5", "img"]);
        let o = UnitOptions {
            is_new: true,
            ..opts()
        };
        let u = container_unit(&c, None, &o).unwrap();
        assert!(
            u.text.contains("Restart=on-failure\nStartLimitBurst=5\n"),
            "{}",
            u.text
        );
        let o = UnitOptions {
            restart_policy: Some("no".into()),
            ..o
        };
        let u = container_unit(&c, None, &o).unwrap();
        assert!(
            u.text.contains("Restart=no\nTimeoutStopSec=70\n"),
            "{}",
            u.text
        );
        let o = UnitOptions {
            restart_policy: Some("never".into()),
            ..o
        };
        assert!(matches!(
            container_unit(&c, None, &o),
            Err(Error::RestartPolicy(_))
        ));
    }

    #[test]
    fn templates_name_each_instance() {
        let o = UnitOptions {
            is_new: true,
            is_template: true,
            ..opts()
        };
        let u = container_unit(&ctr(&["hutch", "run", "img"]), None, &o).unwrap();
        assert_eq!(u.file_name, "container-web@.service");
        assert!(
            exec_start(&u).contains(" run --name=container-web-%i --cidfile"),
            "{}",
            u.text
        );
        let u = container_unit(&ctr(&["hutch", "run", "--name", "web", "img"]), None, &o).unwrap();
        assert!(exec_start(&u).contains(" --name web-%i img"), "{}", u.text);
    }

    #[test]
    fn new_units_need_a_create_command() {
        let o = UnitOptions {
            is_new: true,
            ..opts()
        };
        assert!(matches!(
            container_unit(&ctr(&[]), None, &o),
            Err(Error::NoCreateCommand(_))
        ));
        assert!(matches!(
            container_unit(&ctr(&["hutch", "img"]), None, &o),
            Err(Error::BadCreateCommand(_))
        ));
        // The unit of the existing container needs none.
        assert!(container_unit(&ctr(&[]), None, &opts()).is_ok());
    }

    #[test]
    fn pods_come_first_with_their_members_bound_to_them() {
        let pod = PodFacts {
            id: "p0".into(),
            name: "p1".into(),
            create_command: strings(&[
                "hutch",
                "pod",
                "create",
                "--name",
                "p1",
                "--exit-policy",
                "continue",
                "-p",
                "80:80",
            ]),
            pid_file: "/s/pods/p0/infra-monitor.pid".into(),
        };
        let members = [ctr(&[
            "hutch", "run", "--pod", "p1", "--name", "web", "img",
        ])];
        let o = UnitOptions {
            is_new: true,
            ..opts()
        };
        let units = pod_units(&pod, &members, &o).unwrap();
        let names: Vec<&str> = units.iter().map(|u| u.name.as_str()).collect();
        assert_eq!(names, ["pod-p1", "container-web"]);
        assert!(units[0].text.contains(
            "ExecStartPre=/bin/hutch pod create \\\n\t--infra-conmon-pidfile %t/pod-p1.pid \\\n\t--pod-id-file %t/pod-p1.pod-id \\\n\t--exit-policy=stop \\\n\t--name p1 \\\n\t-p 80:80 \\\n\t--replace\n"
        ), "{}", units[0].text);
        assert!(units[0]
            .text
            .contains("Wants=container-web.service\nBefore=container-web.service\n"));
        assert!(exec_start(&units[1]).contains(
            "--rm --pod-id-file %t/pod-p1.pod-id --sdnotify=conmon -d --replace --name web img"
        ));
        assert!(units[1]
            .text
            .contains("BindsTo=pod-p1.service\nAfter=pod-p1.service\n"));
        let o = UnitOptions {
            is_template: true,
            ..o
        };
        assert!(matches!(
            pod_units(&pod, &members, &o),
            Err(Error::TemplatePod)
        ));
        let units = pod_units(&pod, &members, &opts()).unwrap();
        assert!(units[0]
            .text
            .contains("ExecStart=/bin/hutch pod start p1\n"));
        assert!(units[0]
            .text
            .contains("PIDFile=/s/pods/p0/infra-monitor.pid\nType=forking\n"));
    }

    #[test]
    fn dates_are_gos_unix_dates_in_utc() {
        assert_eq!(unix_date(0), "Thu Jan  1 00:00:00 UTC 1970");
        assert_eq!(unix_date(1_796_475_080), "Sat Dec  5 12:51:20 UTC 2026");
    }
}
