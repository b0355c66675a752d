//! Health checks (issue #14), the data side: the `--health-*` flags
//! checked and laid over the image's `HEALTHCHECK` into the spec's
//! `Healthcheck`, and the container's health record (`health.json` in its
//! directory, Podman's `.State.Health`), read by `inspect` and `ps` and
//! changed under a lock by whoever runs a check (see `healthcheck`).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde_json::{json, Value};

use crate::image::ImageHealthcheck;
use crate::runtime::plan::{HealthAction, Healthcheck, Management};

/// The record's file in the container directory.
const RECORD: &str = "health.json";

/// The lock taken while the record is read and replaced.
const LOCK: &str = "health.lock";

/// The log entries the record keeps, as Podman keeps them.
const MAX_LOG_ENTRIES: usize = 5;

/// The bytes of a check's output the record keeps, as Podman keeps them.
pub(super) const MAX_OUTPUT: usize = 500;

/// Status before the first check has passed or failed enough.
pub const STARTING: &str = "starting";
/// Status after a passing check.
pub const HEALTHY: &str = "healthy";
/// Status after `retries` failures in a row.
pub const UNHEALTHY: &str = "unhealthy";

/// Docker's and Podman's defaults, in nanoseconds.
const DEFAULT_INTERVAL: u64 = 30_000_000_000;
const DEFAULT_TIMEOUT: u64 = 30_000_000_000;
const DEFAULT_RETRIES: u32 = 3;

/// What went wrong with a health check or its flags.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--no-healthcheck` with `--health-cmd`.
    #[error("cannot specify both --no-healthcheck and --health-cmd")]
    NoneWithCommand,
    /// `--health-cmd` with no command in it.
    #[error("must define a healthcheck command for all healthchecks")]
    EmptyCommand,
    /// A duration flag that does not parse.
    #[error("invalid {flag}: {reason}")]
    Duration { flag: &'static str, reason: String },
    /// `--health-retries 0`.
    #[error("healthcheck-retries must be greater than 0")]
    Retries,
    /// `--health-timeout 0s`.
    #[error("healthcheck-timeout must be at least 1 second")]
    Timeout,
    /// A negative `--health-start-period`.
    #[error("healthcheck-start-period must be 0 seconds or greater")]
    StartPeriod,
    /// `--health-on-failure` with an unknown action.
    #[error("invalid on-failure action {0:?} for health check: supported actions are none,kill,restart,stop")]
    OnFailure(String),
    /// An action for a container without a check.
    #[error("cannot set on-failure action to {0} without a health check")]
    ActionWithoutCheck(&'static str),
    /// `healthcheck run` of a container that cannot be found.
    #[error("unable to look up {name} to perform a health check")]
    Lookup {
        name: String,
        #[source]
        source: Box<super::Error>,
    },
    /// `healthcheck run` of a container that is not running.
    #[error("container {0} is not running")]
    NotRunning(String),
    /// `healthcheck run` of a container without a check.
    #[error("container {0} has no defined healthcheck")]
    NotDefined(String),
    /// The check ran past its timeout (and was killed).
    #[error("healthcheck command exceeded timeout of {0}")]
    TimedOut(String),
    /// Capturing the check's output.
    #[error("capturing the health check's output")]
    Capture(#[source] std::io::Error),
    /// Reading, locking or replacing the health record.
    #[error("recording the health check in {path}")]
    Record {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The health flags of `run` and `create`, as given.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HealthRequest {
    /// `--health-cmd`: a command for `/bin/sh -c`, a JSON array, or `none`.
    pub cmd: Option<String>,
    /// `--health-interval` (a Go duration, or `disable`).
    pub interval: Option<String>,
    /// `--health-retries`.
    pub retries: Option<u32>,
    /// `--health-start-period`.
    pub start_period: Option<String>,
    /// `--health-timeout`.
    pub timeout: Option<String>,
    /// `--health-on-failure`: none, kill, restart or stop.
    pub on_failure: Option<String>,
    /// `--no-healthcheck`.
    pub no_healthcheck: bool,
}

/// The health flags checked, before the image is known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Checked {
    test: Option<Vec<String>>,
    is_off: bool,
    interval: Option<u64>,
    timeout: Option<u64>,
    start_period: Option<u64>,
    retries: Option<u32>,
    on_failure: HealthAction,
}

/// Checks the flags of `req` in Podman's words, before anything is pulled.
pub fn check(req: &HealthRequest) -> Result<Checked, Error> {
    let cmd = req.cmd.as_deref().filter(|c| !c.is_empty());
    if req.no_healthcheck && cmd.is_some() {
        return Err(Error::NoneWithCommand);
    }
    let duration = |flag: &'static str, text: &Option<String>| -> Result<Option<i128>, Error> {
        text.as_deref()
            .map(|t| parse_duration(t).map_err(|reason| Error::Duration { flag, reason }))
            .transpose()
    };
    let interval = match req.interval.as_deref() {
        Some("disable") => Some(0),
        _ => duration("healthcheck-interval", &req.interval)?,
    };
    let timeout = duration("healthcheck-timeout", &req.timeout)?;
    let start_period = duration("healthcheck-start-period", &req.start_period)?;
    if req.retries == Some(0) {
        return Err(Error::Retries);
    }
    if timeout.is_some_and(|t| t < 1) {
        return Err(Error::Timeout);
    }
    if start_period.is_some_and(|t| t < 0) {
        return Err(Error::StartPeriod);
    }
    let on_failure = match req.on_failure.as_deref() {
        None | Some("none") => HealthAction::None,
        Some("kill") => HealthAction::Kill,
        Some("restart") => HealthAction::Restart,
        Some("stop") => HealthAction::Stop,
        Some(other) => return Err(Error::OnFailure(other.to_string())),
    };
    let clamp = |d: Option<i128>| d.map(|n| n.clamp(0, i128::from(u64::MAX)) as u64);
    Ok(Checked {
        test: cmd.map(parse_command).transpose()?,
        is_off: req.no_healthcheck,
        interval: clamp(interval),
        timeout: clamp(timeout),
        start_period: clamp(start_period),
        retries: req.retries,
        on_failure,
    })
}

/// The container's health check: `--no-healthcheck` turns it off,
/// `--health-cmd` replaces the image's `HEALTHCHECK`, and the other flags
/// change either's values; `None` when there is none at all.
pub fn plan(
    flags: &Checked,
    image: Option<&ImageHealthcheck>,
) -> Result<Option<Healthcheck>, Error> {
    let image = image.filter(|i| !i.test.is_empty());
    let base = if flags.is_off {
        Some(Healthcheck {
            test: vec!["NONE".into()],
            ..Healthcheck::default()
        })
    } else if let Some(test) = &flags.test {
        Some(Healthcheck {
            test: test.clone(),
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            start_period: 0,
            retries: DEFAULT_RETRIES,
            on_failure: HealthAction::None,
        })
    } else {
        // The image's zeros are Docker's "unset": its defaults apply.
        image.map(|i| Healthcheck {
            test: i.test.clone(),
            interval: if i.interval == 0 {
                DEFAULT_INTERVAL
            } else {
                i.interval
            },
            timeout: if i.timeout == 0 {
                DEFAULT_TIMEOUT
            } else {
                i.timeout
            },
            start_period: i.start_period,
            retries: match i.retries {
                0 => DEFAULT_RETRIES,
                n => u32::try_from(n).unwrap_or(u32::MAX),
            },
            on_failure: HealthAction::None,
        })
    };
    let Some(mut check) = base else {
        return match flags.on_failure {
            HealthAction::None => Ok(None),
            action => Err(Error::ActionWithoutCheck(action.as_str())),
        };
    };
    if !flags.is_off {
        check.interval = flags.interval.unwrap_or(check.interval);
        check.timeout = flags.timeout.unwrap_or(check.timeout);
        check.start_period = flags.start_period.unwrap_or(check.start_period);
        check.retries = flags.retries.unwrap_or(check.retries);
    }
    if !check.is_defined() && flags.on_failure != HealthAction::None {
        return Err(Error::ActionWithoutCheck(flags.on_failure.as_str()));
    }
    check.on_failure = flags.on_failure;
    Ok(Some(check))
}

/// `manage` with the health check `plan` makes of `flags` and `image`.
pub fn with_check(
    manage: Management,
    flags: &Checked,
    image: Option<&ImageHealthcheck>,
) -> Result<Management, Error> {
    Ok(Management {
        health: plan(flags, image)?,
        ..manage
    })
}

/// `--health-cmd` as Docker's `Test`, read as Podman reads it: a JSON
/// array is an argv (one element: a shell command), unless it is a `Test`
/// already; a string is a shell command, unless it starts with `CMD`,
/// `CMD-SHELL` or `none`.
fn parse_command(text: &str) -> Result<Vec<String>, Error> {
    if let Ok(argv) = serde_json::from_str::<Vec<String>>(text) {
        return match argv.first().map(String::as_str) {
            None => Err(Error::EmptyCommand),
            Some("NONE" | "none") => Ok(vec!["NONE".into()]),
            Some("CMD" | "CMD-SHELL") if argv.len() > 1 => Ok(argv),
            Some(_) if argv.len() > 1 => Ok(["CMD".to_string()].into_iter().chain(argv).collect()),
            Some(one) => Ok(vec!["CMD-SHELL".into(), one.to_string()]),
        };
    }
    let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
    match first {
        "none" => Ok(vec!["NONE".into()]),
        "CMD" if !rest.trim().is_empty() => Ok(text.split_whitespace().map(String::from).collect()),
        "CMD-SHELL" if !rest.trim().is_empty() => Ok(vec![first.into(), rest.into()]),
        _ if text.trim().is_empty() => Err(Error::EmptyCommand),
        _ => Ok(vec!["CMD-SHELL".into(), text.into()]),
    }
}

/// The argv a check runs: `CMD`'s words, or `CMD-SHELL`'s command under
/// `/bin/sh -c` (Docker's default shell; the image's `SHELL` is not kept).
pub fn argv(test: &[String]) -> Vec<String> {
    match test.split_first() {
        Some((kind, rest)) if kind == "CMD" => rest.to_vec(),
        Some((kind, rest)) if kind == "CMD-SHELL" => {
            vec!["/bin/sh".into(), "-c".into(), rest.join(" ")]
        }
        _ => test.to_vec(),
    }
}

/// A Go duration (`1m30s`, `-5s`, `0`, `1.5h`) in nanoseconds, or Go's
/// words for why it is not one.
pub fn parse_duration(text: &str) -> Result<i128, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let (sign, body) = match text.strip_prefix('-') {
        Some(b) => (-1, b),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    if body == "0" {
        return Ok(0);
    }
    if body.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut rest = body;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..n];
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "" => return Err(format!("time: missing unit in duration {text:?}")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            other => return Err(format!("time: unknown unit {other:?} in duration {text:?}")),
        };
        rest = &rest[u..];
        total += value * unit;
    }
    Ok(sign * total.round() as i128)
}

/// `nanos` as Go prints a duration: `30s`, `1m30s`, `1.5s`, `500ms`.
pub fn format_duration(nanos: u64) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < 1_000_000_000 {
        let (unit, scale) = match nanos {
            n if n < 1_000 => ("ns", 1),
            n if n < 1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", decimal(nanos, scale));
    }
    let secs = nanos / 1_000_000_000;
    let (h, m) = (secs / 3600, (secs % 3600) / 60);
    let s = decimal(nanos % 60_000_000_000, 1_000_000_000);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m{s}s"),
        (h, m) => format!("{h}h{m}m{s}s"),
    }
}

/// `value / scale` with the fraction's trailing zeros dropped.
fn decimal(value: u64, scale: u64) -> String {
    let whole = value / scale;
    let digits = scale.to_string().len() - 1;
    let frac = format!("{:0digits$}", value % scale);
    let frac = frac.trim_end_matches('0');
    match frac.is_empty() {
        true => whole.to_string(),
        false => format!("{whole}.{frac}"),
    }
}

/// `.Config.Healthcheck` of Podman's inspect: Docker's field names, the
/// zero durations left out.
pub fn config_json(check: &Healthcheck) -> Value {
    let mut v = json!({ "Test": check.test });
    for (key, value) in [
        ("StartPeriod", check.start_period),
        ("Interval", check.interval),
        ("Timeout", check.timeout),
        ("Retries", u64::from(check.retries)),
    ] {
        if value != 0 {
            v[key] = json!(value);
        }
    }
    v
}

/// The container's health as `.State.Health` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Results {
    /// `starting`, `healthy` or `unhealthy`; empty before the first start.
    #[serde(default)]
    pub status: String,
    /// Failures in a row (outside the start period).
    #[serde(default)]
    pub failing_streak: u32,
    /// The last checks, oldest first; `null` before the first.
    #[serde(default)]
    pub log: Option<Vec<LogEntry>>,
}

/// One check in the record.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogEntry {
    /// When it started, RFC 3339 with nanoseconds.
    pub start: String,
    /// When it ended.
    pub end: String,
    /// 0 passed, 1 failed, -1 timed out (Podman's codes).
    pub exit_code: i32,
    /// The first `MAX_OUTPUT` bytes of its stdout and stderr.
    pub output: String,
}

impl Results {
    /// Adds check `entry` as Podman counts it: a pass makes the container
    /// healthy, `retries` failures in a row outside the start period
    /// unhealthy.
    pub fn add(&mut self, entry: LogEntry, retries: u32, is_in_start_period: bool) {
        if entry.exit_code == 0 {
            self.status = HEALTHY.into();
            self.failing_streak = 0;
        } else {
            if self.status.is_empty() {
                self.status = STARTING.into();
            }
            if !is_in_start_period {
                self.failing_streak += 1;
                if self.failing_streak >= retries {
                    self.status = UNHEALTHY.into();
                }
            }
        }
        let log = self.log.get_or_insert_with(Vec::new);
        log.push(entry);
        let extra = log.len().saturating_sub(MAX_LOG_ENTRIES);
        log.drain(..extra);
    }
}

/// The health record of the container in `dir`; the empty one when it
/// has none (never started, or unreadable).
pub fn read(dir: &Path) -> Results {
    std::fs::read(dir.join(RECORD))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Changes the health record of the container in `dir` with `change`,
/// under its lock, and replaces it atomically, so readers in other
/// processes see the old record or the new one; returns the new one.
pub fn update(dir: &Path, change: impl FnOnce(&mut Results)) -> Result<Results, Error> {
    let record_err = |path: PathBuf| move |source| Error::Record { path, source };
    let lock_path = dir.join(LOCK);
    let file: File = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(record_err(lock_path.clone()))?;
    let _lock = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, e)| record_err(lock_path)(std::io::Error::from(e)))?;
    let mut results = read(dir);
    change(&mut results);
    let path = dir.join(RECORD);
    crate::storage::atomic::write_json(&path, &results, 0o600).map_err(record_err(path))?;
    Ok(results)
}

/// At a start of the container in `dir`: its status is `starting` again,
/// its log and failing streak kept (as Podman does).
pub fn mark_starting(dir: &Path) -> Result<(), Error> {
    update(dir, |r| r.status = STARTING.into()).map(|_| ())
}

/// The status of the health of the container in `dir`, whose check is
/// `check`, for `ps` (`healthy`…); `None` without a check or before its
/// first start.
pub fn status_of(check: Option<&Healthcheck>, dir: &Path) -> Option<String> {
    check?;
    Some(read(dir).status).filter(|s| !s.is_empty())
}

/// Sets the health fields of container object `v` (Podman's inspect) for
/// `check`, the container in `dir`: `.State.Health`, `.Config.Healthcheck`
/// and `.Config.HealthcheckOnFailureAction`.
pub(super) fn add_inspect(v: &mut Value, check: Option<&Healthcheck>, dir: &Path) {
    let Some(check) = check else {
        return;
    };
    v["State"]["Health"] = serde_json::to_value(read(dir)).unwrap_or_default();
    v["Config"]["Healthcheck"] = config_json(check);
    v["Config"]["HealthcheckOnFailureAction"] = json!(check.on_failure.as_str());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn flags(cmd: Option<&str>) -> HealthRequest {
        HealthRequest {
            cmd: cmd.map(String::from),
            ..HealthRequest::default()
        }
    }

    #[test]
    fn commands_read_as_podman_reads_them() {
        for (text, want) in [
            ("curl -f http://x/", &["CMD-SHELL", "curl -f http://x/"][..]),
            ("exit 1", &["CMD-SHELL", "exit 1"]),
            (r#"["/bin/true"]"#, &["CMD-SHELL", "/bin/true"]),
            (
                r#"["/bin/test","-f","/x"]"#,
                &["CMD", "/bin/test", "-f", "/x"],
            ),
            (r#"["CMD","/bin/true"]"#, &["CMD", "/bin/true"]),
            (r#"["CMD-SHELL","true"]"#, &["CMD-SHELL", "true"]),
            ("CMD /bin/test -f  /x", &["CMD", "/bin/test", "-f", "/x"]),
            ("CMD-SHELL exit 0", &["CMD-SHELL", "exit 0"]),
            ("none", &["NONE"]),
        ] {
            assert_eq!(parse_command(text).unwrap(), strings(want), "{text}");
        }
        for bad in ["[]", "  "] {
            assert!(
                matches!(parse_command(bad), Err(Error::EmptyCommand)),
                "{bad}"
            );
        }
        assert_eq!(
            argv(&strings(&["CMD-SHELL", "exit 1"])),
            strings(&["/bin/sh", "-c", "exit 1"])
        );
        assert_eq!(
            argv(&strings(&["CMD", "true", "x"])),
            strings(&["true", "x"])
        );
    }

    #[test]
    fn durations_parse_and_print_as_go_does() {
        for (text, want) in [
            ("30s", 30_000_000_000),
            ("1m30s", 90_000_000_000),
            ("1.5s", 1_500_000_000),
            ("500ms", 500_000_000),
            ("0", 0),
            ("-1s", -1_000_000_000),
            ("2h", 7_200_000_000_000),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        assert_eq!(
            parse_duration("bogus").unwrap_err(),
            r#"time: invalid duration "bogus""#
        );
        assert_eq!(
            parse_duration("5").unwrap_err(),
            r#"time: missing unit in duration "5""#
        );
        assert_eq!(
            parse_duration("5d").unwrap_err(),
            r#"time: unknown unit "d" in duration "5d""#
        );
        for (nanos, want) in [
            (0, "0s"),
            (1_000_000_000, "1s"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (3_600_000_000_000, "1h0m0s"),
            (500_000_000, "500ms"),
        ] {
            assert_eq!(format_duration(nanos), want, "{nanos}");
        }
    }

    #[test]
    fn bad_flags_fail_in_podmans_words() {
        let cases = [
            (
                HealthRequest {
                    no_healthcheck: true,
                    ..flags(Some("true"))
                },
                "cannot specify both --no-healthcheck and --health-cmd",
            ),
            (
                HealthRequest {
                    interval: Some("bogus".into()),
                    ..flags(Some("true"))
                },
                r#"invalid healthcheck-interval: time: invalid duration "bogus""#,
            ),
            (
                HealthRequest {
                    retries: Some(0),
                    ..flags(Some("true"))
                },
                "healthcheck-retries must be greater than 0",
            ),
            (
                HealthRequest {
                    timeout: Some("0s".into()),
                    ..flags(Some("true"))
                },
                "healthcheck-timeout must be at least 1 second",
            ),
            (
                HealthRequest {
                    start_period: Some("-1s".into()),
                    ..flags(Some("true"))
                },
                "healthcheck-start-period must be 0 seconds or greater",
            ),
            (
                HealthRequest {
                    on_failure: Some("bogus".into()),
                    ..flags(Some("true"))
                },
                r#"invalid on-failure action "bogus" for health check: supported actions are none,kill,restart,stop"#,
            ),
        ];
        for (req, want) in cases {
            assert_eq!(check(&req).unwrap_err().to_string(), want);
        }
        let kill = HealthRequest {
            on_failure: Some("kill".into()),
            ..flags(None)
        };
        let err = plan(&check(&kill).unwrap(), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot set on-failure action to kill without a health check"
        );
    }

    #[test]
    fn flags_override_the_image_and_defaults_fill_in() {
        let image = ImageHealthcheck {
            test: strings(&["CMD-SHELL", "exit 3"]),
            interval: 5_000_000_000,
            ..ImageHealthcheck::default()
        };
        let none = check(&HealthRequest::default()).unwrap();
        assert_eq!(plan(&none, None).unwrap(), None);
        assert_eq!(
            plan(&none, Some(&image)).unwrap(),
            Some(Healthcheck {
                test: strings(&["CMD-SHELL", "exit 3"]),
                interval: 5_000_000_000,
                timeout: DEFAULT_TIMEOUT,
                start_period: 0,
                retries: 3,
                on_failure: HealthAction::None,
            })
        );
        let tuned = HealthRequest {
            interval: Some("1s".into()),
            retries: Some(5),
            on_failure: Some("restart".into()),
            ..HealthRequest::default()
        };
        let got = plan(&check(&tuned).unwrap(), Some(&image))
            .unwrap()
            .unwrap();
        assert_eq!(got.test, image.test);
        assert_eq!((got.interval, got.retries), (1_000_000_000, 5));
        assert_eq!(got.on_failure, HealthAction::Restart);
        let own = HealthRequest {
            interval: Some("disable".into()),
            ..flags(Some("true"))
        };
        let got = plan(&check(&own).unwrap(), Some(&image)).unwrap().unwrap();
        assert_eq!(got.test, strings(&["CMD-SHELL", "true"]));
        assert_eq!(
            (got.interval, got.timeout, got.retries),
            (0, DEFAULT_TIMEOUT, 3)
        );
        let off = HealthRequest {
            no_healthcheck: true,
            ..HealthRequest::default()
        };
        let got = plan(&check(&off).unwrap(), Some(&image)).unwrap().unwrap();
        assert!(!got.is_defined());
        assert_eq!(config_json(&got), json!({"Test": ["NONE"]}));
        assert_eq!(
            config_json(
                &plan(&check(&flags(Some("true"))).unwrap(), None)
                    .unwrap()
                    .unwrap()
            ),
            json!({"Test": ["CMD-SHELL", "true"], "Interval": 30_000_000_000u64,
                   "Timeout": 30_000_000_000u64, "Retries": 3})
        );
    }

    fn entry(code: i32) -> LogEntry {
        LogEntry {
            exit_code: code,
            ..LogEntry::default()
        }
    }

    #[test]
    fn results_count_failures_as_podman_does() {
        let mut r = Results {
            status: STARTING.into(),
            ..Results::default()
        };
        r.add(entry(1), 2, true);
        assert_eq!((r.status.as_str(), r.failing_streak), (STARTING, 0));
        r.add(entry(1), 2, false);
        assert_eq!((r.status.as_str(), r.failing_streak), (STARTING, 1));
        r.add(entry(1), 2, false);
        assert_eq!((r.status.as_str(), r.failing_streak), (UNHEALTHY, 2));
        r.add(entry(0), 2, false);
        assert_eq!((r.status.as_str(), r.failing_streak), (HEALTHY, 0));
        for _ in 0..4 {
            r.add(entry(1), 2, false);
        }
        assert_eq!(r.log.as_ref().map(Vec::len), Some(MAX_LOG_ENTRIES));
        // The oldest kept is the pass: the three failures before it went.
        assert_eq!(r.log.as_ref().unwrap()[0].exit_code, 0);
        assert_eq!(
            serde_json::to_value(Results::default()).unwrap(),
            json!({"Status": "", "FailingStreak": 0, "Log": null})
        );
    }

    #[test]
    fn the_record_is_replaced_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(dir.path()), Results::default());
        assert_eq!(status_of(Some(&Healthcheck::default()), dir.path()), None);
        mark_starting(dir.path()).unwrap();
        let r = update(dir.path(), |r| r.add(entry(0), 3, false)).unwrap();
        assert_eq!(read(dir.path()), r);
        assert_eq!(
            status_of(Some(&Healthcheck::default()), dir.path()).as_deref(),
            Some(HEALTHY)
        );
        assert_eq!(status_of(None, dir.path()), None);
        mark_starting(dir.path()).unwrap();
        let r = read(dir.path());
        assert_eq!(
            (r.status.as_str(), r.log.map(|l| l.len())),
            (STARTING, Some(1))
        );
    }
}
