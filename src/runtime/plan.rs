//! A container's start spec as plain data: what the runtime executes.
//!
//! The engine (`container`) builds a `Plan` from an image config and the
//! user's request and stores it; the runtime reads it back and runs it. The
//! type lives here, below the engine, so that the runtime never depends on
//! how a request was made.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::security::Security;
use super::volumes::Volumes;
use super::Error;
use crate::net::NetworkPlan;
use crate::storage::ContainerDirs;
use crate::userns::IdMaps;

/// `PATH` when neither the image nor the user sets one (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The user a container runs as when neither `-u` nor the image says:
/// empty, which resolves to uid and gid 0 with or without /etc/passwd,
/// and is what Podman records. Unlike `-u 0`, it does not put gid 0 among
/// the supplementary groups (Podman adds the primary gid only for a user
/// that was given).
pub const DEFAULT_USER: &str = "";

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

/// The schema version of the stored spec this hutch writes and the newest
/// it reads. Bump it, with a step in `migrate`, whenever a change to `Plan`
/// is not covered by a serde default: a renamed or retyped field, or one
/// whose absence means something else than its default.
pub const SPEC_VERSION: u32 = 2;

/// The version of specs stored before they carried one.
const UNVERSIONED: u32 = 1;

/// Why a stored spec cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A newer hutch wrote it; its meaning may have changed.
    #[error("spec version {found}, this hutch knows up to {known}")]
    TooNew { found: u64, known: u32 },
    /// It is not a spec of any version.
    #[error("parsing the stored spec")]
    Parse(#[source] serde_json::Error),
}

/// Everything needed to start one container; stored as JSON (the
/// container's spec) so that a detached monitor can start it later. Read
/// it back only with `Plan::from_stored`, which upgrades older versions.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// The schema version (`SPEC_VERSION` once built or read back).
    #[serde(default = "unversioned")]
    pub version: u32,
    /// Container id (64 hex).
    pub id: String,
    /// The container's directories in the store.
    pub dirs: ContainerDirs,
    /// Unpacked layer directories, top first (overlay lowerdir order).
    pub lowers: Vec<PathBuf>,
    /// `--rootfs` (issue #18): the root comes from a directory or a
    /// squashfs file instead of `lowers` (then empty); `None` in older plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rootfs: Option<super::rootfs::Rootfs>,
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
    /// Whether init may create `cwd`: it came from the image (or from an
    /// older hutch, which always created it). A `-w` directory must exist,
    /// as in Podman, unless a mount holds it.
    #[serde(default = "yes")]
    pub may_create_workdir: bool,
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
    /// The container's name and image, for /etc/hosts and
    /// /run/.containerenv (#20); empty in older plans.
    #[serde(default)]
    pub origin: Origin,
    /// The image's root directory entry, whose owner the container's `/`
    /// gets (#20); `None`: root's.
    #[serde(default)]
    pub root_entry: Option<crate::storage::RootEntry>,
    /// The labels (the image's, `--label`'s over them; #13).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `--annotation` (#13).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// How the engine manages the container beyond starting it (#13).
    #[serde(default)]
    pub manage: Management,
    /// `--umask`, `--tz`, `--shm-size` and `--sysctl` (#13).
    #[serde(default)]
    pub tuning: super::tuning::Tuning,
    /// `--secret` (#14): files bound read-only, variables the engine sets
    /// at every start; none in older plans.
    #[serde(default)]
    pub secrets: Vec<super::secrets::Secret>,
    /// The request the container was created from, as the engine records
    /// it for `container clone` (opaque here; the runtime never reads it).
    /// `None` in plans stored before issue #13.
    #[serde(default)]
    pub request: Option<serde_json::Value>,
}

/// What `run` and `create` ask of the engine around the container's
/// process (#13); nothing in older plans.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Management {
    /// `--pidfile`: the container's init pid is written here (absolute)
    /// at every start.
    #[serde(default)]
    pub pidfile: Option<PathBuf>,
    /// `--conmon-pidfile`: the monitor's pid is written here at every
    /// start (hutch's per-container monitor, or the foreground hutch,
    /// is what conmon is to Podman).
    #[serde(default)]
    pub monitor_pidfile: Option<PathBuf>,
    /// `--stop-timeout`: seconds `stop` waits after the stop signal before
    /// SIGKILL when not told (`None`: `DEFAULT_STOP_TIMEOUT`).
    #[serde(default)]
    pub stop_timeout: Option<u64>,
    /// `--timeout`: seconds the container may run before it is killed.
    #[serde(default)]
    pub timeout: Option<u64>,
    /// `--sig-proxy=false` stores `true`: the signals the foreground hutch
    /// gets are not passed on.
    #[serde(default)]
    pub is_unproxied: bool,
    /// `--requires`: the full ids of the containers started before this
    /// one.
    #[serde(default)]
    pub requires: Vec<String>,
    /// `--sdnotify=conmon`: once the container runs, its monitor sends
    /// `READY=1` to hutch's `NOTIFY_SOCKET`, as conmon does.
    #[serde(default)]
    pub is_ready_sent: bool,
    /// `--sdnotify=healthy`: the monitor sends `READY=1` once the first
    /// health check passes.
    #[serde(default)]
    pub is_ready_when_healthy: bool,
    /// `--sdnotify=container` under systemd: the container's monitor
    /// relays the messages of its socket (`/run/notify/notify.sock`) to
    /// the unit's.
    #[serde(default)]
    pub is_notify_relayed: bool,
    /// `--init-ctr`: the container is an init container of its pod.
    #[serde(default)]
    pub init_ctr: Option<InitContainer>,
    /// The health check (`--health-*` over the image's `HEALTHCHECK`;
    /// #14), which the engine's monitor runs; the runtime never reads it.
    #[serde(default)]
    pub health: Option<Healthcheck>,
}

/// A container's health check, as Docker's image config and Podman's
/// inspect describe it; durations in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Healthcheck {
    /// `["CMD", ARG...]`, `["CMD-SHELL", COMMAND]`, or `["NONE"]` for a
    /// check turned off (`--no-healthcheck`, `--health-cmd none`).
    pub test: Vec<String>,
    /// Time between checks; 0: none is scheduled (`disable`).
    pub interval: u64,
    /// The longest a check may take.
    pub timeout: u64,
    /// After a start, failures this long do not count.
    pub start_period: u64,
    /// Consecutive failures that make the container unhealthy.
    pub retries: u32,
    /// What happens when it turns unhealthy.
    #[serde(default)]
    pub on_failure: HealthAction,
}

impl Healthcheck {
    /// Whether there is a check to run (not `NONE`, not empty).
    pub fn is_defined(&self) -> bool {
        self.test
            .first()
            .is_some_and(|t| !t.is_empty() && t != "NONE")
    }
}

/// `--health-on-failure`: what happens to a container that turns
/// unhealthy (Podman's actions).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthAction {
    /// Only its status says so.
    #[default]
    None,
    /// SIGKILL.
    Kill,
    /// Stopped, then started again by its monitor.
    Restart,
    /// Stopped as `hutch stop` does.
    Stop,
}

impl HealthAction {
    /// The action's name, as the flag and inspect spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthAction::None => "none",
            HealthAction::Kill => "kill",
            HealthAction::Restart => "restart",
            HealthAction::Stop => "stop",
        }
    }
}

/// When an init container (`--init-ctr`) runs: before the pod's other
/// containers at every `pod start` (`always`), or at the first only, after
/// which it is removed (`once`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitContainer {
    /// At every start of the pod.
    Always,
    /// At the next start of the pod; then removed.
    Once,
}

/// Seconds `stop` waits for a container without `--stop-timeout`, as in
/// Podman.
pub const DEFAULT_STOP_TIMEOUT: u64 = 10;

/// The exit code of a container killed by `--timeout`: Podman records -1
/// (and its foreground `run` exits 255).
pub const TIMEOUT_EXIT_CODE: i32 = -1;

/// Who the container is, as its /etc/hosts and /run/.containerenv say.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    /// The container's name (refreshed from its record at every start,
    /// so a rename shows).
    #[serde(default)]
    pub name: String,
    /// The image as the user named it.
    #[serde(default)]
    pub image: String,
    /// The image's id (64 hex).
    #[serde(default)]
    pub image_id: String,
}

fn yes() -> bool {
    true
}

fn unversioned() -> u32 {
    UNVERSIONED
}

impl Plan {
    /// Reads a spec as stored by `to_stored` of this or an older hutch,
    /// upgraded to `SPEC_VERSION`; a newer one is refused.
    pub fn from_stored(text: &str) -> Result<Plan, SpecError> {
        serde_json::from_value(stored_json(text)?).map_err(SpecError::Parse)
    }

    /// The spec as stored in the container's record.
    pub fn to_stored(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

/// A stored spec as JSON, upgraded to `SPEC_VERSION` (see `migrate`), for
/// readers that tolerate specs missing fields.
pub fn stored_json(text: &str) -> Result<serde_json::Value, SpecError> {
    migrate(serde_json::from_str(text).map_err(SpecError::Parse)?)
}

/// Brings stored spec `spec` of any version this hutch knows up to
/// `SPEC_VERSION`, one step per version.
pub fn migrate(mut spec: serde_json::Value) -> Result<serde_json::Value, SpecError> {
    use serde::de::Error as _;
    let invalid = |what: &str| SpecError::Parse(serde_json::Error::custom(what));
    let fields = spec
        .as_object_mut()
        .ok_or_else(|| invalid("a stored spec is a JSON object"))?;
    let found = match fields.get("version") {
        None => u64::from(UNVERSIONED),
        Some(v) => v
            .as_u64()
            .filter(|n| *n >= u64::from(UNVERSIONED))
            .ok_or_else(|| invalid("the spec version is not a positive integer"))?,
    };
    if found > u64::from(SPEC_VERSION) {
        return Err(SpecError::TooNew {
            found,
            known: SPEC_VERSION,
        });
    }
    for from in found..u64::from(SPEC_VERSION) {
        match from {
            // 1 -> 2: only the version is new. The fields added before it
            // (log options, security, cgroups, hardening, volumes,
            // identity, network, pod) keep their serde defaults for the
            // version 1 specs that lack them.
            1 => {}
            _ => unreachable!("every version below SPEC_VERSION has a step"),
        }
    }
    fields.insert("version".into(), SPEC_VERSION.into());
    Ok(spec)
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

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn remove(&mut self, name: &str) {
        self.0.retain(|(n, _)| n != name);
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

    /// A spec as hutch stored it before specs had a version (and before
    /// the log options and everything after them).
    fn unversioned_spec() -> serde_json::Value {
        serde_json::json!({
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
        })
    }

    #[test]
    fn unversioned_specs_are_version_1_and_read_back_as_the_current_version() {
        let plan = Plan::from_stored(&unversioned_spec().to_string()).unwrap();
        assert_eq!(plan.version, SPEC_VERSION);
        assert_eq!(plan.id, ID);
        assert_eq!(plan.args, ["sh"]);
        assert_eq!(plan.log_driver, LogDriver::K8sFile);
        assert_eq!(plan.log_max_size, None);
        assert_eq!(plan.log_path, None);
        assert!(!plan.auto_remove);
        assert_eq!(plan.pod, None);
        let raw: Plan = serde_json::from_value(unversioned_spec()).unwrap();
        assert_eq!(raw.version, 1);
        let mut v1 = unversioned_spec();
        v1["version"] = 1.into();
        assert_eq!(
            Plan::from_stored(&v1.to_string()).unwrap().version,
            SPEC_VERSION
        );
    }

    #[test]
    fn specs_from_a_newer_hutch_are_refused() {
        let mut newer = unversioned_spec();
        newer["version"] = (SPEC_VERSION + 1).into();
        let e = Plan::from_stored(&newer.to_string()).unwrap_err();
        assert!(
            matches!(e, SpecError::TooNew { found, known: SPEC_VERSION } if found == u64::from(SPEC_VERSION) + 1),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            format!(
                "spec version {}, this hutch knows up to {SPEC_VERSION}",
                SPEC_VERSION + 1
            )
        );
        assert!(matches!(
            stored_json(&newer.to_string()),
            Err(SpecError::TooNew { .. })
        ));
    }

    #[test]
    fn specs_that_are_no_version_of_a_plan_do_not_parse() {
        for bad in ["[]", "not json", r#"{"version": 0}"#, r#"{"version": "2"}"#] {
            assert!(
                matches!(Plan::from_stored(bad), Err(SpecError::Parse(_))),
                "{bad}"
            );
        }
        let mut no_args = unversioned_spec();
        no_args.as_object_mut().unwrap().remove("args");
        assert!(matches!(
            Plan::from_stored(&no_args.to_string()),
            Err(SpecError::Parse(_))
        ));
    }

    #[test]
    fn stored_plans_round_trip_at_the_current_version() {
        let plan = Plan::from_stored(&unversioned_spec().to_string()).unwrap();
        let stored = plan.to_stored().unwrap();
        let raw: serde_json::Value = serde_json::from_str(&stored).unwrap();
        assert_eq!(raw["version"], SPEC_VERSION);
        let again = Plan::from_stored(&stored).unwrap();
        assert_eq!(again.to_stored().unwrap(), stored);
    }

    #[test]
    fn stored_json_keeps_what_it_does_not_know_and_sets_the_version() {
        let v = stored_json(r#"{"args":["sh"]}"#).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"args": ["sh"], "version": SPEC_VERSION})
        );
    }
}
