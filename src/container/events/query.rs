//! Reading events back for `hutch events`: Podman's filters (keys are
//! ANDed, values of one key ORed), `--since`/`--until` as Podman reads
//! times, and following the log (or the journal) until interrupted or
//! until `--until`.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Backend, Error, Event, Kind, NANOS_PER_SEC};
use crate::container::logread;
use crate::storage::events::{EventLog, EventReader};

/// How often a followed log is looked at for new lines.
const POLL: Duration = Duration::from_millis(100);

/// Which events to read, as `hutch events` asks.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// `--filter KEY=VALUE`, as given.
    pub filters: Vec<String>,
    /// `--since`, as given.
    pub since: Option<String>,
    /// `--until`, as given.
    pub until: Option<String>,
    /// `--stream`: wait for new events after the logged ones.
    pub is_streaming: bool,
}

/// One `--filter`.
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    /// A container by name or id prefix.
    Container(String),
    /// The status.
    Event(String),
    /// An image by name or id prefix.
    Image(String),
    /// A pod by name or id prefix.
    Pod(String),
    /// A volume by name prefix.
    Volume(String),
    /// The type.
    Type(String),
    /// A label, with or without its value.
    Label(String, Option<String>),
}

impl Filter {
    /// Parses `KEY=VALUE`; the key in any case, as Podman takes it.
    fn parse(text: &str) -> Result<(String, Filter), Error> {
        let invalid = || Error::InvalidFilter(text.to_string());
        let (key, value) = text.split_once('=').ok_or_else(invalid)?;
        let key = key.to_ascii_lowercase();
        let v = value.to_string();
        let filter = match key.as_str() {
            "container" => Filter::Container(v),
            // `die` is Docker's name for it.
            "event" | "status" if v == "die" => Filter::Event("died".into()),
            "event" | "status" => Filter::Event(v),
            "image" => Filter::Image(v),
            "pod" => Filter::Pod(v),
            "volume" => Filter::Volume(v),
            "type" => Filter::Type(v),
            "label" => match value.split_once('=') {
                Some((k, val)) => Filter::Label(k.into(), Some(val.into())),
                None => Filter::Label(v, None),
            },
            _ => return Err(Error::InvalidFilter(key)),
        };
        // `status` is `event` under another name: one group.
        let group = match key.as_str() {
            "status" => "event".to_string(),
            _ => key,
        };
        Ok((group, filter))
    }

    fn matches(&self, e: &Event) -> bool {
        let named = |kind: Kind, v: &str| e.kind == kind && (e.name == v || e.id.starts_with(v));
        match self {
            Filter::Container(v) => named(Kind::Container, v),
            Filter::Event(v) => e.status == *v,
            Filter::Image(v) => named(Kind::Image, v),
            Filter::Pod(v) => named(Kind::Pod, v),
            Filter::Volume(v) => e.kind == Kind::Volume && e.name.starts_with(v.as_str()),
            Filter::Type(v) => e.kind.name() == v,
            Filter::Label(k, v) => e
                .attributes
                .as_ref()
                .and_then(|a| a.get(k))
                .is_some_and(|have| v.as_ref().is_none_or(|want| have == want)),
        }
    }
}

/// A query's filters and times, parsed.
#[derive(Debug, Clone, Default)]
pub(super) struct Matcher {
    groups: BTreeMap<String, Vec<Filter>>,
    /// Only events after this time (nanoseconds since the epoch).
    since: Option<i64>,
    /// Only events before this time.
    pub until: Option<i64>,
}

impl Matcher {
    /// Parses `query` at time `now`.
    pub fn parse(query: &EventQuery, now: i64) -> Result<Matcher, Error> {
        let mut groups: BTreeMap<String, Vec<Filter>> = BTreeMap::new();
        for text in &query.filters {
            let (group, filter) = Filter::parse(text)?;
            groups.entry(group).or_default().push(filter);
        }
        let time = |flag: &'static str, value: &Option<String>, is_since: bool| {
            value
                .as_deref()
                .map(|v| {
                    parse_time(v, now, is_since).ok_or_else(|| Error::InvalidTime {
                        flag,
                        value: v.to_string(),
                    })
                })
                .transpose()
        };
        Ok(Matcher {
            groups,
            since: time("since", &query.since, true)?,
            until: time("until", &query.until, false)?,
        })
    }

    /// Whether `e` passes every filter key (one of its values) and falls
    /// strictly between the times.
    pub fn matches(&self, e: &Event) -> bool {
        self.since.is_none_or(|s| e.time > s)
            && self.until.is_none_or(|u| e.time < u)
            && self
                .groups
                .values()
                .all(|filters| filters.iter().any(|f| f.matches(e)))
    }
}

/// Parses a `--since` or `--until` time as Podman does: RFC 3339 (with or
/// without a zone, which is then UTC), a date (`2026-12-05`), Unix seconds
/// (`1700000000.5`), or a Go duration before `now` for `--since` and after
/// it for `--until` (`10m`).
pub(super) fn parse_time(text: &str, now: i64, is_since: bool) -> Option<i64> {
    if let Some(t) = logread::parse_timestamp(text) {
        return Some(t);
    }
    let is_date = |s: &str| s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    let zoneless = match text.len() {
        10 if is_date(text) => Some(format!("{text}T00:00:00Z")),
        // `2026-12-05Z` or `2026-12-05+01:00`.
        11.. if is_date(&text[..10]) && !text[10..].starts_with('T') => {
            Some(format!("{}T00:00:00{}", &text[..10], &text[10..]))
        }
        19.. if is_date(&text[..10]) => Some(format!("{text}Z")),
        _ => None,
    };
    if let Some(t) = zoneless.as_deref().and_then(logread::parse_timestamp) {
        return Some(t);
    }
    if let Some(t) = unix_seconds(text) {
        return Some(t);
    }
    let d = logread::parse_duration(text)?;
    match is_since {
        true => now.checked_sub(d),
        false => now.checked_add(d),
    }
}

/// `1700000000` or `1700000000.5` as nanoseconds since the epoch.
fn unix_seconds(text: &str) -> Option<i64> {
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if secs.is_empty()
        || !secs.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut nanos = secs.parse::<i64>().ok()?.checked_mul(NANOS_PER_SEC)?;
    for (i, c) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
    }
    Some(nanos)
}

/// Reads the events `query` asks for from `backend` (the log `log` for
/// `file`), handing each to `each` until it returns false.
pub(super) fn read(
    backend: Backend,
    log: &EventLog,
    query: &EventQuery,
    each: &mut dyn FnMut(&Event) -> bool,
) -> Result<(), Error> {
    let matcher = Matcher::parse(query, super::now_nanos())?;
    // As Podman: a stream without times shows only what comes next.
    let is_from_start = !query.is_streaming || query.since.is_some() || query.until.is_some();
    match backend {
        Backend::None => Err(Error::NoneBackend),
        Backend::Journald => {
            super::journal::read(&matcher, query.is_streaming, is_from_start, each)
        }
        Backend::File => read_log(log, &matcher, query.is_streaming, is_from_start, each),
    }
}

/// Reads the event log, following it when `is_streaming` until `--until`.
fn read_log(
    log: &EventLog,
    matcher: &Matcher,
    is_streaming: bool,
    is_from_start: bool,
    each: &mut dyn FnMut(&Event) -> bool,
) -> Result<(), Error> {
    let mut reader = EventReader::open(log, is_from_start)?;
    loop {
        for line in reader.read_lines()? {
            let event: Event = match serde_json::from_str(&line) {
                Ok(e) => e,
                Err(e) => {
                    log::debug!("skipping event log line {line:?}: {e}");
                    continue;
                }
            };
            if matcher.matches(&event) && !each(&event) {
                return Ok(());
            }
        }
        if !is_streaming {
            return Ok(());
        }
        let pause = match matcher.until {
            Some(until) => {
                let left = until - super::now_nanos();
                if left <= 0 {
                    return Ok(());
                }
                POLL.min(Duration::from_nanos(left as u64))
            }
            None => POLL,
        };
        std::thread::sleep(pause);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::events::Status;

    const NOW: i64 = 1_796_463_151 * NANOS_PER_SEC;

    fn container(name: &str, status: Status, labels: &[(&str, &str)]) -> Event {
        let mut e = Event::new(Kind::Container, status);
        e.id = format!("{name}0123456789");
        e.name = name.into();
        e.time = NOW;
        e.attributes = Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        e
    }

    fn matcher(filters: &[&str]) -> Matcher {
        let q = EventQuery {
            filters: filters.iter().map(|f| f.to_string()).collect(),
            ..EventQuery::default()
        };
        Matcher::parse(&q, NOW).unwrap()
    }

    #[test]
    fn keys_are_anded_and_values_of_one_key_ored() {
        let died = container("web", Status::Died, &[("tier", "front")]);
        let start = container("web", Status::Start, &[]);
        let mut vol = Event::new(Kind::Volume, Status::Create);
        vol.name = "data1".into();
        assert!(matcher(&["event=died"]).matches(&died));
        assert!(!matcher(&["event=died"]).matches(&start));
        assert!(matcher(&["event=died", "event=start"]).matches(&start));
        assert!(!matcher(&["event=died", "container=db"]).matches(&died));
        assert!(matcher(&["event=die", "container=web"]).matches(&died));
        assert!(matcher(&["container=web0123"]).matches(&died));
        assert!(matcher(&["label=tier=front"]).matches(&died));
        assert!(matcher(&["label=tier"]).matches(&died));
        assert!(!matcher(&["label=tier=back"]).matches(&died));
        assert!(!matcher(&["label=tier"]).matches(&start));
        assert!(matcher(&["type=volume", "type=pod"]).matches(&vol));
        assert!(matcher(&["volume=data"]).matches(&vol));
        assert!(!matcher(&["container=data1"]).matches(&vol));
        assert!(matcher(&["TYPE=container", "Status=died"]).matches(&died));
    }

    #[test]
    fn unknown_keys_and_missing_values_are_refused() {
        let parse = |f: &str| {
            Matcher::parse(
                &EventQuery {
                    filters: vec![f.into()],
                    ..EventQuery::default()
                },
                NOW,
            )
            .unwrap_err()
            .to_string()
        };
        assert_eq!(parse("bogus=1"), "bogus is an invalid filter");
        assert_eq!(parse("event"), "event is an invalid filter");
    }

    #[test]
    fn times_are_read_as_podman_reads_them() {
        let sec = NANOS_PER_SEC;
        let at = |s: &str, since| parse_time(s, NOW, since);
        assert_eq!(at("2026-12-05T09:32:31Z", true), Some(NOW));
        assert_eq!(at("2026-12-05T09:32:31.5Z", true), Some(NOW + sec / 2));
        assert_eq!(at("2026-12-05T10:32:31+01:00", true), Some(NOW));
        assert_eq!(at("2026-12-05T09:32:31", true), Some(NOW));
        assert_eq!(
            at("2026-12-05", true),
            Some(NOW - (9 * 3600 + 32 * 60 + 31) * sec)
        );
        assert_eq!(at("1796463151", true), Some(NOW));
        assert_eq!(at("1796463151.25", true), Some(NOW + sec / 4));
        assert_eq!(at("10m", true), Some(NOW - 600 * sec));
        assert_eq!(at("10m", false), Some(NOW + 600 * sec));
        assert_eq!(at("-1s", false), Some(NOW - sec));
        assert_eq!(at("yesterday", true), None);
    }

    #[test]
    fn since_and_until_are_strict() {
        let e = container("web", Status::Start, &[]);
        let q = |since: &str, until: &str| EventQuery {
            since: Some(since.into()),
            until: Some(until.into()),
            ..EventQuery::default()
        };
        let m = Matcher::parse(&q("1796463150", "1796463152"), NOW).unwrap();
        assert!(m.matches(&e));
        let m = Matcher::parse(&q("1796463151", "1796463152"), NOW).unwrap();
        assert!(!m.matches(&e));
        let m = Matcher::parse(&q("1796463150", "1796463151"), NOW).unwrap();
        assert!(!m.matches(&e));
        let bad = Matcher::parse(&q("soon", "1796463151"), NOW).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "unable to convert since time of soon: unable to interpret time value"
        );
    }

    #[test]
    fn the_log_is_read_and_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path());
        for (name, status) in [
            ("a", Status::Create),
            ("a", Status::Died),
            ("b", Status::Died),
        ] {
            let e = container(name, status, &[]);
            log.append(&e.to_json(), 0, &String::new).unwrap();
        }
        log.append("not json", 0, &String::new).unwrap();
        let q = EventQuery {
            filters: vec!["event=died".into()],
            ..EventQuery::default()
        };
        let mut seen = Vec::new();
        read(Backend::File, &log, &q, &mut |e| {
            seen.push(e.name.clone());
            true
        })
        .unwrap();
        assert_eq!(seen, vec!["a", "b"]);
        let none = read(Backend::None, &log, &q, &mut |_| true).unwrap_err();
        assert_eq!(
            none.to_string(),
            "cannot read events with the \"none\" backend"
        );
    }
}
