//! Events: what happened to containers, images, volumes, pods and
//! networks, written as Podman writes them (`podman events`) and read back
//! for `hutch events`.
//!
//! An operation records its event with one call (`on_plan`, `on_info`,
//! `on_container`, `on_exit`, `on_image`, `on_volume`, `on_pod`,
//! `on_network`), which `emit` hands to the backend the process was
//! configured with (`--events-backend`, see `Engine::with_events_backend`):
//! `file`, the JSON-lines log in the store (`storage::events`), rotated at
//! `HUTCH_EVENTS_LOGFILE_MAX_SIZE` bytes (default 1 MB, Podman's); `journald`,
//! the systemd journal's native protocol (`journal`); or `none`. A failed
//! write never fails the operation: it is reported once per process as a
//! warning. Reading, filtering and following are in `query`.
//!
//! It must not print, or decide what an operation does.

mod journal;
mod query;

pub use query::EventQuery;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::{Engine, Plan};
use crate::storage::events::EventLog;
use crate::storage::{ContainerInfo, Store};

/// The event log's size limit unless `HUTCH_EVENTS_LOGFILE_MAX_SIZE` says:
/// Podman's default `events_logfile_max_size`.
pub const DEFAULT_MAX_SIZE: u64 = 1_000_000;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// What went wrong configuring or reading events.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--events-backend` names no backend.
    #[error("{0:?} is not a valid events backend: choose file, journald or none")]
    InvalidBackend(String),
    /// `events` with the `none` backend, in Podman's words.
    #[error("cannot read events with the \"none\" backend")]
    NoneBackend,
    /// A `--filter` that is not KEY=VALUE with a known key.
    #[error("{0} is an invalid filter")]
    InvalidFilter(String),
    /// A `--since` or `--until` value that is no time.
    #[error("unable to convert {flag} time of {value}: unable to interpret time value")]
    InvalidTime { flag: &'static str, value: String },
    /// The journald backend on a host without a journal.
    #[error("the journald events backend needs the systemd journal, and {socket} does not exist")]
    NoJournal { socket: String },
    /// Starting `journalctl` to read the journal.
    #[error("running journalctl to read the journal")]
    Journalctl(#[source] std::io::Error),
    /// `journalctl` failed.
    #[error("journalctl failed ({status}): {stderr}")]
    JournalctlFailed { status: String, stderr: String },
    /// Reading the event log.
    #[error(transparent)]
    Log(#[from] crate::storage::Error),
}

impl crate::error::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::NoneBackend => {
                Some("events are recorded only with --events-backend file or journald".into())
            }
            Error::NoJournal { .. } | Error::Journalctl(_) => {
                Some("use --events-backend file (the default), which needs no journal".into())
            }
            Error::Log(e) => e.hint(),
            _ => None,
        }
    }
}

/// Where events go, and where `events` reads them (`--events-backend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// The JSON-lines log in the store.
    #[default]
    File,
    /// The systemd journal.
    Journald,
    /// Nowhere.
    None,
}

impl Backend {
    /// The backend called `name` (`file`, `journald`, `none`).
    pub fn parse(name: &str) -> Result<Backend, Error> {
        match name {
            "file" => Ok(Backend::File),
            "journald" => Ok(Backend::Journald),
            "none" => Ok(Backend::None),
            _ => Err(Error::InvalidBackend(name.to_string())),
        }
    }

    /// Its name, as `--events-backend` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Backend::File => "file",
            Backend::Journald => "journald",
            Backend::None => "none",
        }
    }
}

/// What an event is about (Podman's event types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Container,
    Image,
    Network,
    Pod,
    System,
    Volume,
    Machine,
}

impl Kind {
    /// Its name in events (`container`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Image => "image",
            Kind::Network => "network",
            Kind::Pod => "pod",
            Kind::System => "system",
            Kind::Volume => "volume",
            Kind::Machine => "machine",
        }
    }
}

/// What happened (Podman's event statuses that hutch records).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Attach,
    Build,
    Cleanup,
    Commit,
    // Recorded by the network and health-check operations (issue #14).
    #[allow(dead_code)]
    Connect,
    Create,
    Died,
    #[allow(dead_code)]
    Disconnect,
    Exec,
    ExecDied,
    #[allow(dead_code)]
    Health,
    Import,
    Init,
    Kill,
    Load,
    Mount,
    Pause,
    Prune,
    Pull,
    Push,
    Remove,
    Rename,
    Restart,
    Rotate,
    Save,
    Start,
    Stop,
    Tag,
    Unmount,
    Unpause,
    Untag,
}

impl Status {
    /// Its name in events (`died`, `exec_died`, `loadfromarchive`).
    pub fn name(self) -> &'static str {
        match self {
            Status::Attach => "attach",
            Status::Build => "build",
            Status::Cleanup => "cleanup",
            Status::Commit => "commit",
            Status::Connect => "connect",
            Status::Create => "create",
            Status::Died => "died",
            Status::Disconnect => "disconnect",
            Status::Exec => "exec",
            Status::ExecDied => "exec_died",
            Status::Health => "health_status",
            Status::Import => "import",
            Status::Init => "init",
            Status::Kill => "kill",
            Status::Load => "loadfromarchive",
            Status::Mount => "mount",
            Status::Pause => "pause",
            Status::Prune => "prune",
            Status::Pull => "pull",
            Status::Push => "push",
            Status::Remove => "remove",
            Status::Rename => "rename",
            Status::Restart => "restart",
            Status::Rotate => "log-rotation",
            Status::Save => "save",
            Status::Start => "start",
            Status::Stop => "stop",
            Status::Tag => "tag",
            Status::Unmount => "unmount",
            Status::Unpause => "unpause",
            Status::Untag => "untag",
        }
    }
}

/// One event, with Podman's fields; serialized as a line of Podman's
/// event log (same keys, same order, the same ones left out when empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The exit code of a `died` container or `exec_died` session.
    #[serde(
        rename = "ContainerExitCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exit_code: Option<i32>,
    /// The container, image or pod id.
    #[serde(rename = "ID", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// A container's image, as it was named.
    #[serde(rename = "Image", default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The container's, image's, pod's or volume's name.
    #[serde(rename = "Name", default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The network of a network event.
    #[serde(rename = "network", default, skip_serializing_if = "String::is_empty")]
    pub network: String,
    /// What happened.
    #[serde(rename = "Status")]
    pub status: String,
    /// When, in nanoseconds since the Unix epoch.
    #[serde(rename = "Time", with = "go_time")]
    pub time: i64,
    /// What it is about.
    #[serde(rename = "Type")]
    pub kind: Kind,
    /// A container's health after a health check.
    #[serde(
        rename = "health_status",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub health_status: String,
    /// The pod of a container.
    #[serde(rename = "PodID", default, skip_serializing_if = "String::is_empty")]
    pub pod_id: String,
    /// A container's labels (null for other events).
    #[serde(rename = "Attributes", default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

impl Event {
    /// An event of `kind` and `status` happening now.
    pub fn new(kind: Kind, status: Status) -> Event {
        Event {
            exit_code: None,
            id: String::new(),
            image: String::new(),
            name: String::new(),
            network: String::new(),
            status: status.name().to_string(),
            time: now_nanos(),
            kind,
            health_status: String::new(),
            pod_id: String::new(),
            attributes: None,
        }
    }

    /// The event as a line of the event log (and `--format json`).
    pub fn to_json(&self) -> String {
        // Strings, integers and string maps only: this cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The event as `podman events` prints it by default; with
    /// `is_truncated` (`--no-trunc=false`) ids are cut to 12 characters.
    /// Labels come in key order (Podman's come in Go's map order, which
    /// varies).
    pub fn to_text(&self, is_truncated: bool) -> String {
        let time = go_string(self.time);
        let id = match is_truncated {
            true => &self.id[..self.id.len().min(12)],
            false => &self.id[..],
        };
        let (kind, status) = (self.kind.name(), &self.status);
        match self.kind {
            Kind::Container | Kind::Pod => {
                let mut s = format!(
                    "{time} {kind} {status} {id} (image={}, name={}",
                    self.image, self.name
                );
                if !self.pod_id.is_empty() {
                    s.push_str(&format!(", pod_id={}", self.pod_id));
                }
                if !self.health_status.is_empty() {
                    s.push_str(&format!(", health_status={}", self.health_status));
                }
                for (k, v) in self.attributes.iter().flatten() {
                    s.push_str(&format!(", {k}={v}"));
                }
                s.push(')');
                s
            }
            Kind::Network => format!(
                "{time} {kind} {status} {id} (container={id}, name={})",
                self.network
            ),
            Kind::Image => format!("{time} {kind} {status} {id} {}", self.name),
            Kind::System if self.name.is_empty() => format!("{time} {kind} {status}"),
            Kind::System | Kind::Volume | Kind::Machine => {
                format!("{time} {kind} {status} {}", self.name)
            }
        }
    }

    /// The event as `--format` templates see it: Podman's `Event` struct,
    /// its time as Go prints a `time.Time`, labels as a map.
    pub fn to_template_value(&self) -> serde_json::Value {
        let attributes = serde_json::to_value(self.attributes.clone().unwrap_or_default())
            .unwrap_or(serde_json::Value::Null);
        serde_json::json!({
            "ContainerExitCode": self.exit_code.unwrap_or(0),
            "ID": self.id,
            "Image": self.image,
            "Name": self.name,
            "Network": self.network,
            "Status": self.status,
            "Time": go_string(self.time),
            "Type": self.kind.name(),
            "HealthStatus": self.health_status,
            "PodID": self.pod_id,
            "Attributes": attributes,
            "Details": {
                "ID": self.id,
                "PodID": self.pod_id,
                "Attributes": attributes,
            },
        })
    }
}

/// The current time in nanoseconds since the Unix epoch.
fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// `t` (nanoseconds since the epoch) as Go's `time.Time.String` prints a
/// UTC time: `2026-12-05 09:32:31.47713947 +0000 UTC`, the fraction
/// without trailing zeros.
pub fn go_string(t: i64) -> String {
    format!(
        "{}{} +0000 UTC",
        super::logread::format_utc(t, ' '),
        fraction(t)
    )
}

/// `t` as Go's RFC 3339 with nanoseconds: `2026-12-05T09:32:31.47713947Z`.
pub fn go_rfc3339(t: i64) -> String {
    format!("{}{}Z", super::logread::format_utc(t, 'T'), fraction(t))
}

/// The fraction of a second of `t`, as Go's `.999999999` prints it.
fn fraction(t: i64) -> String {
    let nanos = t.rem_euclid(NANOS_PER_SEC);
    if nanos == 0 {
        return String::new();
    }
    let digits = format!("{nanos:09}");
    format!(".{}", digits.trim_end_matches('0'))
}

/// The `Time` field: RFC 3339 with nanoseconds, as Go marshals a time.
mod go_time {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::go_rfc3339(*t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        let text = String::deserialize(d)?;
        crate::container::logread::parse_timestamp(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("invalid time {text:?}")))
    }
}

/// Where this process sends its events.
struct Sink {
    backend: Backend,
    log: EventLog,
    max_size: u64,
    warn: fn(&str),
    has_warned: AtomicBool,
}

static SINK: OnceLock<Sink> = OnceLock::new();

/// The backend this process was configured with (`file` when it was not).
pub fn backend() -> Backend {
    SINK.get().map_or(Backend::File, |s| s.backend)
}

/// The global flags a hutch process this one starts (a monitor) needs to
/// record its events where this one does.
pub fn child_args() -> [&'static str; 2] {
    ["--events-backend", backend().name()]
}

/// The event log's size limit: `HUTCH_EVENTS_LOGFILE_MAX_SIZE` bytes, else
/// `DEFAULT_MAX_SIZE`.
fn max_size() -> u64 {
    std::env::var(crate::paths::ENV_EVENTS_LOGFILE_MAX_SIZE)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_SIZE)
}

impl Engine {
    /// The same engine, with this process's events going to the backend
    /// called `name` (`file` when `None`), in this engine's store; a
    /// failed write is reported to `warn` (once). Refuses any other name.
    pub fn with_events_backend(
        self,
        name: Option<&str>,
        warn: fn(&str),
    ) -> Result<Engine, super::Error> {
        let backend = name.map(Backend::parse).transpose()?.unwrap_or_default();
        let _ = SINK.set(Sink {
            backend,
            log: EventLog::new(&self.paths().root),
            max_size: max_size(),
            warn,
            has_warned: AtomicBool::new(false),
        });
        Ok(self)
    }

    /// Reads the events `query` asks for, oldest first, handing each to
    /// `each` until it returns false; with `query.is_streaming`, waits for
    /// new ones (until `--until`, or for ever).
    pub fn events(
        &self,
        query: &EventQuery,
        each: &mut dyn FnMut(&Event) -> bool,
    ) -> Result<(), super::Error> {
        let log = EventLog::new(&self.paths().root);
        Ok(query::read(backend(), &log, query, each)?)
    }
}

/// Records `event` with the configured backend; nothing when none was
/// configured (a unit test) or it is `none`.
pub fn emit(event: &Event) {
    let Some(sink) = SINK.get() else {
        return;
    };
    let written = match sink.backend {
        Backend::None => return,
        Backend::File => sink
            .log
            .append(&event.to_json(), sink.max_size, &|| {
                rotation_note(&sink.log)
            })
            .map_err(|e| crate::error::render_chain(&e)),
        Backend::Journald => {
            journal::send(event, Path::new(crate::paths::JOURNAL_SOCKET)).map_err(|e| {
                format!(
                    "sending to the journal {}: {e}",
                    crate::paths::JOURNAL_SOCKET
                )
            })
        }
    };
    if let Err(e) = written {
        log::debug!("recording {} event: {e}", event.status);
        if !sink.has_warned.swap(true, Ordering::Relaxed) {
            (sink.warn)(&format!("recording events: {e}"));
        }
    }
}

/// The line a rotated event log starts with, as Podman writes it.
fn rotation_note(log: &EventLog) -> String {
    let mut e = Event::new(Kind::System, Status::Rotate);
    e.name = log.path().display().to_string();
    e.to_json()
}

/// The event `status` of container `plan`, named `name`.
fn container_event(plan: Option<&Plan>, id: &str, name: &str, status: Status) -> Event {
    let mut e = Event::new(Kind::Container, status);
    e.id = id.to_string();
    e.name = name.to_string();
    if let Some(p) = plan {
        e.image = super::inspect_more::tagged(&p.origin.image);
        e.pod_id = p.pod.clone().unwrap_or_default();
        e.attributes = Some(p.labels.clone());
    } else {
        e.attributes = Some(BTreeMap::new());
    }
    e
}

/// Records `status` of the container planned as `plan`.
pub(super) fn on_plan(plan: &Plan, status: Status) {
    emit(&container_event(
        Some(plan),
        &plan.id,
        &plan.origin.name,
        status,
    ));
}

/// Records `status` of the recorded container `info`.
pub(super) fn on_info(info: &ContainerInfo, status: Status) {
    let plan = super::load_spec(info).ok();
    let (id, name) = (&info.record.id, &info.record.name);
    let mut e = container_event(plan.as_ref(), id, name, status);
    if plan.is_none() {
        e.image = super::inspect_more::tagged(&info.record.image_name);
    }
    emit(&e);
}

/// Records `status` of container `name` (name, id or id prefix), when it
/// is recorded.
pub(super) fn on_container(store: &Store, name: &str, status: Status) {
    if let Ok(Some(info)) = store.find_container(name) {
        on_info(&info, status);
    }
}

/// Records that the process of container `plan` (`died`) or an exec
/// session in it (`exec_died`) ended with `code`.
pub(super) fn on_exit(plan: &Plan, status: Status, code: i32) {
    let mut e = container_event(Some(plan), &plan.id, &plan.origin.name, status);
    e.exit_code = Some(code);
    emit(&e);
}

/// Records that container `plan` was started by this process (or its
/// monitor): `init`, then `start`.
pub(super) fn on_started(plan: &Plan) {
    on_plan(plan, Status::Init);
    on_plan(plan, Status::Start);
}

/// Records that the process of container `plan` ended with `code` and
/// what it left was cleaned up: `died`, then `cleanup`; under the name
/// `store` records now (it may have been renamed while it ran).
pub(super) fn on_ended(store: &Store, plan: &Plan, code: i32) {
    let mut plan = std::borrow::Cow::Borrowed(plan);
    if let Ok(Some(info)) = store.find_container(&plan.id) {
        if info.record.name != plan.origin.name {
            plan.to_mut().origin.name = info.record.name;
        }
    }
    on_exit(&plan, Status::Died, code);
    on_plan(&plan, Status::Cleanup);
}

/// Runs container `plan` in the foreground with `run`, recording its
/// start (`init`, `start`, `attach`) before and its end after.
pub(super) fn on_foreground(
    plan: &Plan,
    run: impl FnOnce() -> Result<i32, super::Error>,
) -> Result<i32, super::Error> {
    on_started(plan);
    on_plan(plan, Status::Attach);
    let ran = run();
    if let Ok(code) = ran {
        on_exit(plan, Status::Died, code);
        on_plan(plan, Status::Cleanup);
    }
    ran
}

/// Records `status` of container `name` when it is recorded, with the
/// exit `code` of what ended (`exec_died`).
pub(super) fn on_container_exit(store: &Store, name: &str, status: Status, code: i32) {
    if let Ok(Some(info)) = store.find_container(name) {
        if let Ok(plan) = super::load_spec(&info) {
            let mut e = container_event(Some(&plan), &info.record.id, &info.record.name, status);
            e.exit_code = Some(code);
            emit(&e);
        }
    }
}

/// Records an exec session starting in container `name`, when it runs.
pub(super) fn on_exec(store: &Store, name: &str) {
    if let Ok(Some(info)) = store.find_container(name) {
        if info.state.status == crate::storage::ContainerStatus::Running {
            on_info(&info, Status::Exec);
        }
    }
}

/// The `remove` event of container `id`, made while it is still recorded
/// and recorded by `Removal::done` once it is gone.
pub(super) fn removal(store: &Store, id: &str) -> Removal {
    let event = match store.find_container(id) {
        Ok(Some(info)) => {
            let plan = super::load_spec(&info).ok();
            let mut e = container_event(
                plan.as_ref(),
                &info.record.id,
                &info.record.name,
                Status::Remove,
            );
            if plan.is_none() {
                e.image = super::inspect_more::tagged(&info.record.image_name);
            }
            Some(e)
        }
        _ => None,
    };
    Removal(event)
}

/// A container's `remove` event, waiting for the removal to succeed.
pub(super) struct Removal(Option<Event>);

impl Removal {
    /// Records the event: the container is gone.
    pub fn done(self) {
        if let Some(e) = &self.0 {
            emit(e);
        }
    }
}

/// Records `status` of image `id` (full hex id; empty when there is none,
/// as for `loadfromarchive`), named `name`.
pub(super) fn on_image(status: Status, id: &str, name: &str) {
    let mut e = Event::new(Kind::Image, status);
    e.id = id.trim_start_matches("sha256:").to_string();
    e.name = name.to_string();
    emit(&e);
}

/// The id (hex) of every stored image by each of its names, taken before
/// a removal so that its `untag` events can name the image.
pub(super) fn image_ids(store: &Store) -> HashMap<String, String> {
    let images = store.list_images().unwrap_or_default();
    images
        .into_iter()
        .flat_map(|img| {
            let id = img.id.hex().to_string();
            img.names.into_iter().map(move |n| (n, id.clone()))
        })
        .collect()
}

/// Records what a removal did to an image: `untag` for a name (its image
/// found in `ids`, taken before), `remove` for the image.
pub(super) fn on_image_removed(ids: &HashMap<String, String>, removed: &crate::storage::Removed) {
    match removed {
        crate::storage::Removed::Untagged(name) => on_image(
            Status::Untag,
            ids.get(name).map_or("", String::as_str),
            name,
        ),
        crate::storage::Removed::Deleted(id) => {
            let hex = id.hex();
            let name = ids
                .iter()
                .find(|(_, v)| v.as_str() == hex)
                .map(|(n, _)| n.as_str());
            on_image(Status::Remove, hex, name.unwrap_or(hex));
        }
    }
}

/// Records the `save` of each of `items`, to the OCI directory `dir` if
/// there is one, else under the name it was asked for.
pub(super) fn on_saved(items: &[crate::image::archive::SaveItem], dir: Option<&Path>) {
    for item in items {
        let id = item.image.id.hex();
        let name = match dir {
            Some(d) => d.display().to_string(),
            None => item
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| id.to_string()),
        };
        on_image(Status::Save, id, &name);
    }
}

/// What an image was loaded or imported from: the file, or `-` for a
/// stream.
pub(super) fn input_name(input: &super::images::Input<'_>) -> String {
    match input {
        super::images::Input::File(path) => path.display().to_string(),
        super::images::Input::Reader(_) => "-".to_string(),
    }
}

/// Records `status` of volume `name`.
pub(super) fn on_volume(status: Status, name: &str) {
    let mut e = Event::new(Kind::Volume, status);
    e.name = name.to_string();
    emit(&e);
}

/// Records that volume `name` was removed by a prune: `remove`, then
/// `prune`, as Podman records it.
pub(super) fn on_volume_pruned(name: &str) {
    on_volume(Status::Remove, name);
    on_volume(Status::Prune, name);
}

/// Records `status` of pod `id` named `name`.
pub(super) fn on_pod(status: Status, id: &str, name: &str) {
    let mut e = Event::new(Kind::Pod, status);
    e.id = id.to_string();
    e.name = name.to_string();
    emit(&e);
}

/// Records `status` (`connect`, `disconnect`) of container `id` named
/// `name` on network `network`.
// Recorded by the network operations (issue #14).
#[allow(dead_code)]
pub(super) fn on_network(status: Status, id: &str, name: &str, network: &str) {
    let mut e = Event::new(Kind::Network, status);
    e.id = id.to_string();
    e.name = name.to_string();
    e.network = network.to_string();
    emit(&e);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn died() -> Event {
        Event {
            exit_code: Some(3),
            id: "26d3131d5eb1adb64132a2e29d3128eb4003e2884b0e04657076ee793cf82d2e".into(),
            image: "localhost/bb:1".into(),
            name: "c1".into(),
            status: "died".into(),
            time: 1_796_463_151_045_640_407,
            attributes: Some(BTreeMap::from([
                ("a".into(), "b".into()),
                ("zz".into(), "1".into()),
            ])),
            ..Event::new(Kind::Container, Status::Died)
        }
    }

    #[test]
    fn a_died_event_is_podmans_line_in_the_log() {
        let line = died().to_json();
        assert_eq!(
            line,
            "{\"ContainerExitCode\":3,\"ID\":\"26d3131d5eb1adb64132a2e29d3128eb4003e2884b0e04657076ee793cf82d2e\",\
             \"Image\":\"localhost/bb:1\",\"Name\":\"c1\",\"Status\":\"died\",\
             \"Time\":\"2026-12-05T09:32:31.045640407Z\",\"Type\":\"container\",\
             \"Attributes\":{\"a\":\"b\",\"zz\":\"1\"}}"
        );
        let back: Event = serde_json::from_str(&line).unwrap();
        assert_eq!(back, died());
    }

    #[test]
    fn podmans_own_lines_read_back() {
        let line = "{\"Name\":\"localhost/bb:1\",\"Status\":\"pull\",\"Time\":\"2026-12-05T09:32:30.966184585Z\",\"Type\":\"image\",\"Attributes\":null}";
        let e: Event = serde_json::from_str(line).unwrap();
        assert_eq!(e.kind, Kind::Image);
        assert_eq!(e.attributes, None);
        assert_eq!(e.to_json(), line);
        assert_eq!(
            e.to_text(false),
            "2026-12-05 09:32:30.966184585 +0000 UTC image pull  localhost/bb:1"
        );
    }

    #[test]
    fn text_lines_are_podmans() {
        let e = died();
        assert_eq!(
            e.to_text(false),
            "2026-12-05 09:32:31.045640407 +0000 UTC container died \
             26d3131d5eb1adb64132a2e29d3128eb4003e2884b0e04657076ee793cf82d2e \
             (image=localhost/bb:1, name=c1, a=b, zz=1)"
        );
        assert_eq!(
            e.to_text(true),
            "2026-12-05 09:32:31.045640407 +0000 UTC container died 26d3131d5eb1 \
             (image=localhost/bb:1, name=c1, a=b, zz=1)"
        );
        let mut v = Event::new(Kind::Volume, Status::Create);
        v.name = "v1".into();
        v.time = 1_796_463_153_014_172_234;
        assert_eq!(
            v.to_text(false),
            "2026-12-05 09:32:33.014172234 +0000 UTC volume create v1"
        );
        let mut p = Event::new(Kind::Pod, Status::Create);
        p.id = "a05b".into();
        p.name = "p1".into();
        p.time = 1_796_463_153_000_000_000;
        assert_eq!(
            p.to_text(false),
            "2026-12-05 09:32:33 +0000 UTC pod create a05b (image=, name=p1)"
        );
    }

    #[test]
    fn times_drop_trailing_zeros_as_go_does() {
        assert_eq!(
            go_rfc3339(1_796_463_151_477_139_470),
            "2026-12-05T09:32:31.47713947Z"
        );
        assert_eq!(
            go_rfc3339(1_796_463_151_000_000_000),
            "2026-12-05T09:32:31Z"
        );
        assert_eq!(
            go_string(1_796_463_151_500_000_000),
            "2026-12-05 09:32:31.5 +0000 UTC"
        );
    }

    #[test]
    fn backends_parse_by_podmans_names() {
        assert_eq!(Backend::parse("file").unwrap(), Backend::File);
        assert_eq!(Backend::parse("journald").unwrap(), Backend::Journald);
        assert_eq!(Backend::parse("none").unwrap(), Backend::None);
        let e = Backend::parse("bogus").unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"bogus\" is not a valid events backend: choose file, journald or none"
        );
    }
}
