//! A container's start spec as plain data: what the runtime executes.
//!
//! The engine (`container`) builds a `Plan` from an image config and the
//! user's request and stores it; the runtime reads it back and runs it. The
//! type lives here, below the engine, so that the runtime never depends on
//! how a request was made.

use std::path::PathBuf;

use super::security::Security;
use super::volumes::Volumes;
use super::Error;
use crate::net::NetworkPlan;
use crate::storage::ContainerDirs;
use crate::userns::IdMaps;

/// `PATH` when neither the image nor the user sets one (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The user a container runs as when neither `-u` nor the image says: uid 0,
/// numeric so that images without /etc/passwd still work.
pub const DEFAULT_USER: &str = "0";

/// What the monitor does with the container's output (`--log-driver`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogDriver {
    /// Records in Podman's k8s-file format, in `ctr.log` (the default).
    #[default]
    K8sFile,
    /// Output is read and dropped; no log file.
    None,
    /// The container's stdio is hutch's own: foreground runs only.
    Passthrough,
}

impl LogDriver {
    /// The driver's name as `--log-driver` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            LogDriver::K8sFile => "k8s-file",
            LogDriver::None => "none",
            LogDriver::Passthrough => "passthrough",
        }
    }
}

/// Everything needed to start one container; stored as JSON (the
/// container's spec) so that a detached monitor can start it later.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// Container id (64 hex).
    pub id: String,
    /// The container's directories in the store.
    pub dirs: ContainerDirs,
    /// Unpacked layer directories, top first (overlay lowerdir order).
    pub lowers: Vec<PathBuf>,
    /// uid/gid maps.
    pub maps: IdMaps,
    /// Host name inside the container.
    pub hostname: String,
    /// argv of the process.
    pub args: Vec<String>,
    /// Environment of the process, `NAME=VALUE`.
    pub env: Vec<String>,
    /// Working directory inside the container.
    pub cwd: String,
    /// `user[:group]` to resolve against the container's /etc/passwd and /etc/group.
    pub user: String,
    /// Allocate a pseudo-terminal.
    pub tty: bool,
    /// Keep stdin open (else the process gets /dev/null).
    pub interactive: bool,
    /// Remove the container when it exits (`--rm`).
    #[serde(default)]
    pub auto_remove: bool,
    /// The image's StopSignal (`SIGTERM`, `15`…), if it sets one.
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// Where the container's output goes (`--log-driver`).
    #[serde(default)]
    pub log_driver: LogDriver,
    /// Rotate the log once it would grow past this many bytes (`--log-opt max-size`).
    #[serde(default)]
    pub log_max_size: Option<u64>,
    /// The log file, when `--log-opt path` moved it out of the container directory.
    #[serde(default)]
    pub log_path: Option<PathBuf>,
    /// How the process is confined; plans stored before #6 get the defaults.
    #[serde(default)]
    pub security: Security,
    /// Where the container's cgroup goes and its resource limits.
    #[serde(default)]
    pub cgroups: crate::cgroup::Options,
    /// Resource limits, OOM score adjustment and `--init` (#6); plans
    /// stored before them get none.
    #[serde(default)]
    pub hardening: super::hardening::Hardening,
    /// Bind mounts, volumes and tmpfs mounts (#7); none in older plans.
    #[serde(default)]
    pub volumes: Volumes,
    /// keep-id user, --group-add and --device (#7).
    #[serde(default)]
    pub identity: super::identity::Identity,
    /// How the container is connected; plans stored before #4 get
    /// loopback only, as they had.
    #[serde(default)]
    pub network: NetworkPlan,
    /// The pod whose namespaces the container joins (its id), if any.
    #[serde(default)]
    pub pod: Option<String>,
}

/// The environment of a process started in a running container whose
/// process has `base`: then `env_files` lines and `-e` entries (later
/// wins), and `TERM` with a tty when still unset.
pub fn exec_env(
    base: &[String],
    env_files: &[String],
    entries: &[String],
    tty: bool,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, Error> {
    let mut env = EnvList::default();
    for entry in base {
        if let Some((name, value)) = entry.split_once('=') {
            env.set(name, value);
        }
    }
    set_entries(&mut env, env_files.iter().chain(entries), host_env)?;
    if tty {
        env.set_default("TERM", "xterm");
    }
    Ok(env.into_entries())
}

/// Sets `-e` style `entries` (`NAME=VALUE`, or `NAME` to copy it from
/// `host_env` when set there) in `env`.
pub(crate) fn set_entries<'a>(
    env: &mut EnvList,
    entries: impl IntoIterator<Item = &'a String>,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    for entry in entries {
        match entry.split_once('=') {
            Some(("", _)) => return Err(Error::InvalidEnv(entry.clone())),
            Some((name, value)) => env.set(name, value),
            None if entry.is_empty() => return Err(Error::InvalidEnv(entry.clone())),
            None => {
                if let Some(value) = host_env(entry) {
                    env.set(entry, &value);
                }
            }
        }
    }
    Ok(())
}

/// An ordered environment where setting a name again replaces its value in place.
#[derive(Default)]
pub(crate) struct EnvList(Vec<(String, String)>);

impl EnvList {
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.0.push((name.to_string(), value.to_string())),
        }
    }

    pub(crate) fn set_default(&mut self, name: &str, value: &str) {
        if !self.0.iter().any(|(n, _)| n == name) {
            self.0.push((name.to_string(), value.to_string()));
        }
    }

    pub(crate) fn into_entries(self) -> Vec<String> {
        self.0
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn no_host_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn exec_env_layers_files_and_flags_over_the_container_env() {
        let base = strings(&["PATH=/bin", "A=run", "B=run", "HOSTNAME=box"]);
        let host = |name: &str| (name == "FROM_HOST").then(|| "h".to_string());
        let got = exec_env(
            &base,
            &strings(&["B=file", "C=file"]),
            &strings(&["C=flag", "A=flag", "FROM_HOST", "MISSING"]),
            true,
            &host,
        )
        .unwrap();
        assert_eq!(
            got,
            strings(&[
                "PATH=/bin",
                "A=flag",
                "B=file",
                "HOSTNAME=box",
                "C=flag",
                "FROM_HOST=h",
                "TERM=xterm",
            ])
        );
        let with_term = strings(&["TERM=vt100"]);
        assert_eq!(
            exec_env(&with_term, &[], &[], true, &no_host_env).unwrap(),
            with_term
        );
        assert_eq!(
            exec_env(&base, &[], &[], false, &no_host_env).unwrap(),
            base
        );
        assert!(matches!(
            exec_env(&base, &[], &strings(&["=x"]), false, &no_host_env),
            Err(Error::InvalidEnv(_))
        ));
    }

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn specs_from_before_log_options_parse_with_the_default_driver() {
        let old = serde_json::json!({
            "id": ID,
            "dirs": {"dir": "/s/c", "upper": "/s/c/upper", "work": "/s/c/work", "merged": "/s/c/merged"},
            "lowers": [],
            "maps": {"uids": [], "gids": [], "fallback_reason": null},
            "hostname": "h",
            "args": ["sh"],
            "env": [],
            "cwd": "/",
            "user": "0",
            "tty": false,
            "interactive": false
        });
        let plan: Plan = serde_json::from_value(old).unwrap();
        assert_eq!(plan.log_driver, LogDriver::K8sFile);
        assert_eq!(plan.log_max_size, None);
        assert_eq!(plan.log_path, None);
    }
}
