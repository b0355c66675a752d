//! `hutch generate systemd`: the flags become `UnitOptions`, the engine
//! makes the units, and they are printed (as text or Podman's JSON map)
//! or written as `NAME.service` files into the current directory.
//! `generate spec` prints `api::specgen`'s JSON; `generate kube` is
//! `kube generate`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Subcommand};

use crate::container::systemd_unit::UnitOptions;
use crate::container::Engine;
use crate::error::Error;

/// `hutch generate`'s subcommands.
#[derive(Debug, Subcommand)]
// One value per process, parsed once: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum GenerateCommand {
    /// Generate systemd units for a container or a pod
    Systemd(SystemdArgs),
    /// Write Kubernetes YAML for containers, pods or volumes
    Kube(super::kube::GenerateArgs),
    /// Write a container's or pod's creation spec as Podman's spec generator JSON
    Spec(SpecArgs),
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// Print the JSON on one line
    #[arg(short, long)]
    pub compact: bool,
    /// Write the JSON to this file and print its path
    #[arg(short, long, value_name = "PATH")]
    pub filename: Option<std::path::PathBuf>,
    /// Name the spec NAME-clone (the default); --name=false keeps the name
    #[arg(
        short,
        long,
        num_args = 0..=1,
        default_value_t = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set,
        value_name = "BOOL"
    )]
    pub name: bool,
    /// The container or pod
    #[arg(value_name = "CONTAINER|POD")]
    pub target: String,
}

/// Runs `generate spec`.
fn spec(engine: &Engine, a: SpecArgs) -> Result<i32, Error> {
    let value = crate::api::specgen::generate(engine, &a.target, a.name)?;
    // Podman indents by one space.
    let text = match a.compact {
        true => serde_json::to_string(&value).expect("a JSON value serialises"),
        false => {
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(&value, &mut ser).expect("a JSON value serialises");
            String::from_utf8(buf).expect("JSON is UTF-8")
        }
    };
    match &a.filename {
        Some(path) => {
            super::output::write_to(Some(path), "a spec", |out| {
                writeln!(out, "{text}").map_err(|e| super::ioerr::IoError::WriteStdout(e).into())
            })?;
            println!("{}", path.display());
        }
        None => println!("{text}"),
    }
    Ok(0)
}

#[derive(Debug, Args)]
pub struct SystemdArgs {
    /// Add an ordering dependency (After=) to the unit
    #[arg(long, value_name = "UNIT")]
    pub after: Vec<String>,
    /// Prefix of the container units' names
    #[arg(long, default_value = "container", value_name = "PREFIX")]
    pub container_prefix: String,
    /// Set an environment variable in the units (KEY=VALUE)
    #[arg(short = 'e', long, value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Write NAME.service files into the current directory and print their paths
    #[arg(short = 'f', long)]
    pub files: bool,
    /// Print the units (or with --files their paths) as a JSON object: json
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Name containers and pods by name instead of id
    #[arg(short = 'n', long)]
    pub name: bool,
    /// Create a new container (or pod) at each start instead of starting the existing one
    #[arg(long)]
    pub new: bool,
    /// Leave out the header comment with the version and date
    #[arg(long)]
    pub no_header: bool,
    /// Prefix of the pod units' names
    #[arg(long, default_value = "pod", value_name = "PREFIX")]
    pub pod_prefix: String,
    /// Add a strong requirement dependency (Requires=) to the unit
    #[arg(long, value_name = "UNIT")]
    pub requires: Vec<String>,
    /// systemd's Restart= policy (default on-failure; with --new the container's own --restart)
    #[arg(long, value_name = "POLICY")]
    pub restart_policy: Option<String>,
    /// systemd's RestartSec=: seconds before a restart
    #[arg(long, value_name = "SECONDS")]
    pub restart_sec: Option<u64>,
    /// Separator between the prefix and the name or id
    #[arg(long, default_value = "-", value_name = "SEPARATOR")]
    pub separator: String,
    /// systemd's TimeoutStartSec=: seconds the start may take
    #[arg(long, value_name = "SECONDS")]
    pub start_timeout: Option<u64>,
    /// Seconds the stop waits before SIGKILL (default: the container's --stop-timeout); TimeoutStopSec= is 60 more
    #[arg(long, value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
    /// Deprecated name of --stop-timeout
    #[arg(short = 't', long, value_name = "SECONDS", hide = true)]
    pub time: Option<u64>,
    /// Make a template unit (NAME@.service) whose container's name has the instance (%i); implies --new
    #[arg(long)]
    pub template: bool,
    /// Add a weak requirement dependency (Wants=) to the unit
    #[arg(long, value_name = "UNIT")]
    pub wants: Vec<String>,
    /// The container or pod, by name or id
    #[arg(value_name = "CTR|POD")]
    pub target: String,
}

/// Runs `generate`'s subcommand; `root` and `runroot` are the global
/// flags given, passed on by the units of existing containers.
pub fn run(
    engine: &Engine,
    cmd: GenerateCommand,
    root: Option<&Path>,
    runroot: Option<&Path>,
) -> Result<i32, Error> {
    let a = match cmd {
        GenerateCommand::Systemd(a) => a,
        // `generate kube`, the older spelling of `kube generate`.
        GenerateCommand::Kube(a) => return super::kube::generate(engine, a),
        GenerateCommand::Spec(a) => return spec(engine, a),
    };
    if let Some(f) = a.format.as_deref().filter(|f| *f != "json") {
        return Err(Error::Usage(format!(
            "{f} is not a supported format: use json"
        )));
    }
    let opts = options(engine, &a, root, runroot);
    let generated = engine.generate_systemd(&a.target, &opts)?;
    for w in &generated.warnings {
        super::warn(w);
    }
    let mut shown: Vec<(String, String)> = Vec::new();
    for unit in &generated.units {
        if a.files {
            let path = write_unit(&unit.file_name, &unit.text)?;
            shown.push((unit.name.clone(), path.display().to_string()));
        } else {
            shown.push((unit.name.clone(), unit.text.clone()));
        }
    }
    if a.format.is_some() {
        let map: BTreeMap<&str, &str> = shown
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        println!("{}", go_json(&map));
    } else if a.files {
        for (_, path) in &shown {
            println!("{path}");
        }
    } else {
        for (_, text) in &shown {
            print!("{text}");
        }
    }
    Ok(0)
}

/// The engine's options for these flags.
fn options(
    engine: &Engine,
    a: &SystemdArgs,
    root: Option<&Path>,
    runroot: Option<&Path>,
) -> UnitOptions {
    let mut root_flags = Vec::new();
    for (flag, path) in [("--root", root), ("--runroot", runroot)] {
        if let Some(p) = path {
            root_flags.push(flag.to_string());
            root_flags.push(absolute(p).display().to_string());
        }
    }
    let executable = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "/usr/bin/hutch".into());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnitOptions {
        is_named: a.name,
        is_new: a.new || a.template,
        is_headerless: a.no_header,
        is_template: a.template,
        container_prefix: a.container_prefix.clone(),
        pod_prefix: a.pod_prefix.clone(),
        separator: a.separator.clone(),
        restart_policy: a.restart_policy.clone(),
        restart_sec: a.restart_sec,
        start_timeout: a.start_timeout,
        stop_timeout: a.stop_timeout.or(a.time),
        wants: a.wants.clone(),
        after: a.after.clone(),
        requires: a.requires.clone(),
        env: a.env.clone(),
        executable,
        root_flags,
        runroot: engine.paths().runroot.display().to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        timestamp: crate::container::systemd_unit::unix_date(now),
        value_flags: run_value_flags(),
    }
}

/// `path` made absolute against the current directory.
fn absolute(path: &Path) -> PathBuf {
    match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => cwd.join(path),
        _ => path.to_path_buf(),
    }
}

/// The long and short flags of `run` that take a value.
fn run_value_flags() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let cmd = super::Cli::command();
    let Some(run) = cmd.find_subcommand("run") else {
        return out;
    };
    for arg in run.get_arguments() {
        if !arg.get_action().takes_values() || arg.is_positional() {
            continue;
        }
        if let Some(l) = arg.get_long() {
            out.insert(format!("--{l}"));
        }
        if let Some(s) = arg.get_short() {
            out.insert(format!("-{s}"));
        }
    }
    out
}

/// Writes unit `file_name` into the current directory; its path.
fn write_unit(file_name: &str, text: &str) -> Result<PathBuf, Error> {
    let path = absolute(Path::new(file_name));
    std::fs::write(&path, text)
        .map_err(|e| Error::Usage(format!("generate systemd: writing {}: {e}", path.display())))?;
    Ok(path)
}

/// A JSON object as Go's encoder writes it with a one-space indent
/// (`<`, `>` and `&` escaped), as Podman prints it.
fn go_json(map: &BTreeMap<&str, &str>) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    let _ = serde::Serialize::serialize(map, &mut ser);
    String::from_utf8_lossy(&buf)
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_gos_with_one_space_and_escapes() {
        let map = BTreeMap::from([("b", "x\n"), ("a", "2>&1")]);
        assert_eq!(
            go_json(&map),
            "{\n \"a\": \"2\\u003e\\u00261\",\n \"b\": \"x\\n\"\n}"
        );
    }

    #[test]
    fn value_flags_are_runs() {
        let flags = run_value_flags();
        for f in ["--name", "-e", "--env", "-p", "--restart", "--cidfile"] {
            assert!(flags.contains(f), "{f}");
        }
        for f in ["--rm", "-d", "--replace", "-i"] {
            assert!(!flags.contains(f), "{f}");
        }
    }
}
