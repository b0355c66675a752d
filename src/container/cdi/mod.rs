//! Container Device Interface (CDI): reading the spec files of the spec
//! directories, resolving `--device vendor.com/class=name` through them
//! into the plan's device binds, mounts, environment and groups, and
//! `cdi generate` (`generate`: a spec for the host's NVIDIA driver).
//!
//! Rootless, a device node is bind-mounted from the host as a plain
//! `--device` is, so the spec's major, minor, mode and owner cannot be
//! set; hooks are refused, as hutch has no OCI bundle to give them.
//! Must not print or run anything in the container.

pub mod generate;
pub mod spec;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::runtime::devices::{self, DeviceError};
use crate::runtime::volumes::{Kind, Mount};
use spec::{Edits, Spec};

/// Why a CDI device could not be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A spec directory exists but cannot be listed.
    #[error("listing CDI spec directory {path}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A spec file cannot be read.
    #[error("reading CDI spec {path}")]
    ReadSpec {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A JSON spec does not parse.
    #[error("parsing CDI spec {path}")]
    ParseJson {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A YAML spec does not parse.
    #[error("parsing CDI spec {path}")]
    ParseYaml {
        path: PathBuf,
        #[source]
        source: serde_norway::Error,
    },
    /// A spec that parses but breaks a rule of the format.
    #[error("CDI spec {path}: {reason}")]
    InvalidSpec { path: PathBuf, reason: String },
    /// No spec defines the device.
    #[error("unresolvable CDI device {name}: no device {device:?} of kind {kind} in {dirs}")]
    UnknownDevice {
        name: String,
        kind: String,
        device: String,
        dirs: String,
    },
    /// A `--gpus` value that is not Docker's syntax.
    #[error("invalid --gpus {0:?}: use all, a count, or device=ID[,ID...]")]
    Gpus(String),
    /// The device asks for a hook.
    #[error("CDI device {name}: {hook} hook {path} cannot run: hutch runs no OCI hooks")]
    Hook {
        name: String,
        hook: String,
        path: String,
    },
    /// A mount other than a bind.
    #[error("CDI device {name}: mount of {path} has type {kind:?}: only bind mounts can be made rootless")]
    MountType {
        name: String,
        path: String,
        kind: String,
    },
    /// A device node of the spec cannot be bound.
    #[error("CDI device {name}")]
    Node {
        name: String,
        #[source]
        source: DeviceError,
    },
    /// Writing or discovering for `cdi generate`.
    #[error(transparent)]
    Generate(#[from] generate::Error),
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::UnknownDevice { kind, .. } if kind == generate::NVIDIA_KIND => Some(
                "generate a spec for this host's GPUs with: hutch cdi generate --output ~/.config/cdi/nvidia.yaml".into(),
            ),
            Error::UnknownDevice { .. } => Some("install the vendor's CDI spec in one of those directories".into()),
            Error::Hook { .. } => Some(
                "write a spec without hooks to ~/.config/cdi (it overrides /etc/cdi and /var/run/cdi); for NVIDIA GPUs: hutch cdi generate --output ~/.config/cdi/nvidia.yaml".into(),
            ),
            Error::Node { source, .. } => crate::error::Diagnose::hint(source),
            _ => None,
        }
    }
}

/// What the CDI devices of a container add to its plan.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Device nodes to bind.
    pub devices: Vec<devices::Device>,
    /// Bind mounts.
    pub mounts: Vec<Mount>,
    /// `NAME=VALUE`, each replacing a variable of the same name.
    pub env: Vec<String>,
    /// Extra groups (gids).
    pub gids: Vec<u32>,
}

/// Splits a qualified device name `vendor.com/class=name` into kind and
/// name; `None` for anything else (a host path `--device`).
pub fn parse_name(value: &str) -> Option<(&str, &str)> {
    let (kind, name) = value.split_once('=')?;
    let (vendor, class) = kind.split_once('/')?;
    let is_word = |s: &str, extra: &[char]| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
    };
    (is_word(vendor, &['.', '-', '_'])
        && is_word(class, &['.', '-', '_'])
        && is_word(name, &['.', '-', '_', ':']))
    .then_some((kind, name))
}

/// The CDI names a `--gpus` value stands for, as Docker reads it: `all`,
/// a count `N` (GPUs 0 to N-1), or `device=ID[,ID…]` (indexes or UUIDs),
/// optionally in quotes and with `count=`/`capabilities=` parts.
pub fn gpu_names(value: &str) -> Result<Vec<String>, Error> {
    let bad = || Error::Gpus(value.to_string());
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let name = |id: &str| format!("{}={id}", generate::NVIDIA_KIND);
    if v == "all" {
        return Ok(vec![name("all")]);
    }
    if let Ok(n) = v.parse::<u32>() {
        return Ok((0..n).map(|i| name(&i.to_string())).collect());
    }
    let mut out = Vec::new();
    for id in v.strip_prefix("device=").ok_or_else(bad)?.split(',') {
        match id.split_once('=') {
            Some(("count", "all")) => out.push(name("all")),
            Some(("count", n)) => {
                let n: u32 = n.parse().map_err(|_| bad())?;
                out.extend((0..n).map(|i| name(&i.to_string())));
            }
            Some(("capabilities" | "driver", _)) => {}
            Some(_) => return Err(bad()),
            None if parse_name(&name(id)).is_some() => out.push(name(id)),
            None => return Err(bad()),
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// Whether a `--device` value names a CDI device.
pub fn is_cdi_name(value: &str) -> bool {
    parse_name(value).is_some()
}

/// Every spec file in `dirs`, in order of precedence (lowest first):
/// directory order, then file name order within a directory.
pub fn load(dirs: &[PathBuf]) -> Result<Vec<(PathBuf, Spec)>, Error> {
    let mut out = Vec::new();
    for dir in dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(Error::ReadDir {
                    path: dir.clone(),
                    source,
                })
            }
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("json" | "yaml" | "yml")
                )
            })
            .collect();
        files.sort();
        for path in files {
            let spec = read_spec(&path)?;
            out.push((path, spec));
        }
    }
    Ok(out)
}

/// Reads and checks one spec file (JSON when it ends in `.json`).
pub fn read_spec(path: &Path) -> Result<Spec, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadSpec {
        path: path.to_path_buf(),
        source,
    })?;
    let spec: Spec = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|source| Error::ParseJson {
            path: path.to_path_buf(),
            source,
        })?
    } else {
        serde_norway::from_str(&text).map_err(|source| Error::ParseYaml {
            path: path.to_path_buf(),
            source,
        })?
    };
    check_spec(&spec).map_err(|reason| Error::InvalidSpec {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(spec)
}

/// The format's rules hutch relies on.
fn check_spec(spec: &Spec) -> Result<(), String> {
    if spec.cdi_version.is_empty() {
        return Err("no cdiVersion".into());
    }
    if parse_name(&format!("{}=x", spec.kind)).is_none() {
        return Err(format!(
            "invalid kind {:?}: use vendor.com/class",
            spec.kind
        ));
    }
    for d in &spec.devices {
        if parse_name(&format!("{}={}", spec.kind, d.name)).is_none() {
            return Err(format!("invalid device name {:?}", d.name));
        }
    }
    let all = std::iter::once(&spec.container_edits)
        .chain(spec.devices.iter().map(|d| &d.container_edits));
    for edits in all {
        let paths = edits
            .device_nodes
            .iter()
            .map(|n| &n.path)
            .chain(edits.mounts.iter().map(|m| &m.container_path));
        for p in paths {
            if !p.starts_with('/') || p.split('/').any(|c| c == "..") {
                return Err(format!("container path {p:?} is not absolute and clean"));
            }
        }
    }
    Ok(())
}

/// Resolves the CDI names among `values` through `specs` (from `load`)
/// into what they add to a container. `dirs` is only for the message
/// naming where a missing device was looked for.
pub fn resolve(
    specs: &[(PathBuf, Spec)],
    values: &[String],
    dirs: &[PathBuf],
) -> Result<Applied, Error> {
    let mut out = Applied::default();
    let mut applied_specs: Vec<&Path> = Vec::new();
    for value in values {
        let Some((kind, name)) = parse_name(value) else {
            continue;
        };
        let found = find_devices(specs, kind, name);
        if found.is_empty() {
            return Err(Error::UnknownDevice {
                name: value.clone(),
                kind: kind.to_string(),
                device: name.to_string(),
                dirs: dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        for (path, spec, edits) in found {
            if !applied_specs.contains(&path) {
                applied_specs.push(path);
                apply(&mut out, value, &spec.container_edits)?;
            }
            apply(&mut out, value, edits)?;
        }
    }
    Ok(out)
}

/// The winning definition of `kind=name` (the last spec defining it), or
/// for `all` without a device of that name, each device of the kind.
fn find_devices<'a>(
    specs: &'a [(PathBuf, Spec)],
    kind: &str,
    name: &str,
) -> Vec<(&'a Path, &'a Spec, &'a Edits)> {
    let mut winners: BTreeMap<&str, (&Path, &Spec, &Edits)> = BTreeMap::new();
    for (path, spec) in specs.iter().filter(|(_, s)| s.kind == kind) {
        for d in &spec.devices {
            winners.insert(&d.name, (path.as_path(), spec, &d.container_edits));
        }
    }
    if let Some(w) = winners.get(name) {
        return vec![*w];
    }
    if name == "all" {
        return winners.into_values().collect();
    }
    Vec::new()
}

/// Adds one set of edits of device `name`.
fn apply(out: &mut Applied, name: &str, edits: &Edits) -> Result<(), Error> {
    if let Some(h) = edits.hooks.first() {
        return Err(Error::Hook {
            name: name.to_string(),
            hook: h.hook_name.clone(),
            path: h.path.clone(),
        });
    }
    for e in &edits.env {
        let key = e.split('=').next().unwrap_or_default();
        out.env.retain(|have| have.split('=').next() != Some(key));
        out.env.push(e.clone());
    }
    for n in &edits.device_nodes {
        let dev = devices::Device {
            host: PathBuf::from(n.host_path.as_deref().unwrap_or(&n.path)),
            container: n.path.clone(),
            permissions: n
                .permissions
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "rwm".into()),
        };
        devices::check(&dev).map_err(|source| Error::Node {
            name: name.to_string(),
            source,
        })?;
        if !out.devices.iter().any(|d| d.container == dev.container) {
            out.devices.push(dev);
        }
    }
    for m in &edits.mounts {
        let kind = m.kind.as_deref().unwrap_or("bind");
        if kind != "bind" && kind != "rbind" {
            return Err(Error::MountType {
                name: name.to_string(),
                path: m.host_path.clone(),
                kind: kind.to_string(),
            });
        }
        if out
            .mounts
            .iter()
            .any(|have| have.destination == m.container_path)
        {
            continue;
        }
        let has = |o: &str| m.options.iter().any(|x| x == o);
        out.mounts.push(Mount {
            kind: Kind::Bind,
            source: m.host_path.clone(),
            destination: m.container_path.clone(),
            read_only: has("ro"),
            nosuid: has("nosuid"),
            nodev: has("nodev"),
            noexec: has("noexec"),
            ..Mount::default()
        });
    }
    for g in &edits.additional_gids {
        if !out.gids.contains(g) {
            out.gids.push(*g);
        }
    }
    Ok(())
}

impl super::Engine {
    /// Resolves the CDI names among the `--device` `values` through the
    /// spec directories and adds their nodes and groups to `ids` and
    /// their binds to `mounts`; returns the environment they set.
    pub(in crate::container) fn with_cdi(
        &self,
        req: &super::UsernsRequest,
        mut ids: super::ids::UsernsPlan,
        mounts: &mut Vec<Mount>,
    ) -> Result<(super::ids::UsernsPlan, Vec<String>), super::Error> {
        let mut values = req.device.clone();
        for g in &req.gpus {
            values.extend(gpu_names(g).map_err(super::Error::Cdi)?);
        }
        if !values.iter().any(|v| is_cdi_name(v)) {
            return Ok((ids, Vec::new()));
        }
        let dirs = self.paths().cdi_dirs();
        let specs = load(&dirs).map_err(super::Error::Cdi)?;
        let applied = resolve(&specs, &values, &dirs).map_err(super::Error::Cdi)?;
        ids.identity.devices.extend(applied.devices);
        ids.identity
            .group_add
            .extend(applied.gids.iter().map(u32::to_string));
        mounts.extend(applied.mounts);
        Ok((ids, applied.env))
    }
}

/// Sets each `NAME=VALUE` of `add` in `env`, replacing a variable of the
/// same name (CDI's edits come after the image's and the user's).
pub fn merge_env(env: &mut Vec<String>, add: &[String]) {
    for e in add {
        let key = e.split('=').next().unwrap_or_default();
        env.retain(|have| have.split('=').next() != Some(key));
        env.push(e.clone());
    }
}

#[cfg(test)]
mod tests;
