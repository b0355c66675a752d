//! Events: what happened to containers, images, volumes, pods and
//! networks, written as Podman writes them (`podman events`) and read back
//! for `hutch events`.
//!
//! An operation records its event with one call (`record`: `on_plan`,
//! `on_info`, `on_container`, `on_exit`, `on_image`, `on_volume`,
//! `on_pod`, `on_network`), which `emit` hands to the backend the process was
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
mod record;

pub use query::EventQuery;
pub(super) use record::*;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use super::Engine;
use crate::storage::events::EventLog;

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
    Connect,
    Create,
    Died,
    Disconnect,
    Exec,
    ExecDied,
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
