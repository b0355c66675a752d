//! A container's log settings (`--log-driver`, `--log-opt`): parsed here,
//! kept in the plan, read back by the monitor that writes the log and by
//! `logs` that reads it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::Error;
use crate::storage::{ContainerInfo, Store};

pub use crate::runtime::plan::LogDriver;

/// The log settings of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogConfig {
    /// `--log-driver`.
    pub driver: LogDriver,
    /// `--log-opt max-size`: rotate the log once it would grow past this.
    pub max_size: Option<u64>,
    /// `--log-opt path`: the log file instead of the container's `ctr.log`.
    pub path: Option<PathBuf>,
}

/// Parses `--log-driver` (default k8s-file) and the `--log-opt KEY=VALUE`
/// entries; `is_detached` refuses the passthrough driver, which needs a
/// terminal of hutch's own.
pub fn parse_log_config(
    driver: Option<&str>,
    opts: &[String],
    is_detached: bool,
) -> Result<LogConfig, Error> {
    let driver = match driver.unwrap_or("k8s-file") {
        "k8s-file" => LogDriver::K8sFile,
        "none" => LogDriver::None,
        "passthrough" => LogDriver::Passthrough,
        "journald" => return Err(Error::UnsupportedDriver("journald".into())),
        other => return Err(Error::UnknownDriver(other.to_string())),
    };
    if is_detached && driver == LogDriver::Passthrough {
        return Err(Error::PassthroughDetached);
    }
    let mut config = LogConfig {
        driver,
        ..LogConfig::default()
    };
    for opt in opts {
        let (key, value) = opt
            .split_once('=')
            .ok_or_else(|| Error::InvalidLogOpt(opt.clone()))?;
        match key {
            "max-size" => {
                config.max_size =
                    Some(parse_size(value).ok_or_else(|| Error::InvalidSize(value.to_string()))?);
            }
            "path" if value.starts_with('/') => config.path = Some(PathBuf::from(value)),
            "path" => return Err(Error::RelativeLogPath(value.to_string())),
            _ => return Err(Error::UnknownLogOpt(key.to_string())),
        }
    }
    Ok(config)
}

/// Parses a size such as `2048`, `10k`, `1.5m`, `1mb` or `1GiB` into bytes
/// (binary units, case-insensitive, as Podman reads `max-size`); zero and
/// negative sizes are refused.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    if number.is_empty() {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let unit = unit.to_ascii_lowercase();
    let scale: u64 = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" if unit.is_empty() || unit == "b" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return None,
    };
    let bytes = value * scale as f64;
    if !(1.0..=u64::MAX as f64).contains(&bytes) {
        return None;
    }
    Some(bytes as u64)
}

/// Where a log rotated away goes: the same name with `.1` appended.
pub fn rotated_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(".1");
    PathBuf::from(name)
}

/// The log file of a container with the default settings overridden by
/// `path`: `ctr.log` in its directory unless `--log-opt path=` moved it.
pub fn log_path(store: &Store, id: &str, path: Option<&Path>) -> PathBuf {
    match path {
        Some(p) => p.to_path_buf(),
        None => store.container_log_path(id),
    }
}

/// The driver and log file of container `info`, from its recorded plan; a
/// container without a readable plan has the defaults.
pub fn log_of(store: &Store, info: &ContainerInfo) -> (LogDriver, PathBuf) {
    match super::super::load_spec(info) {
        Ok(plan) => (
            plan.log_driver,
            log_path(store, &info.record.id, plan.log_path.as_deref()),
        ),
        Err(_) => (
            LogDriver::K8sFile,
            store.container_log_path(&info.record.id),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_use_binary_units_with_optional_b() {
        let cases: [(&str, Option<u64>); 14] = [
            ("2048", Some(2048)),
            ("2k", Some(2048)),
            ("2K", Some(2048)),
            ("10kb", Some(10 * 1024)),
            ("1m", Some(1 << 20)),
            ("1mb", Some(1 << 20)),
            ("1MiB", Some(1 << 20)),
            ("1.5m", Some(3 << 19)),
            ("1g", Some(1 << 30)),
            ("100b", Some(100)),
            ("0", None),
            ("-1", None),
            ("1x", None),
            ("k", None),
        ];
        for (input, want) in cases {
            assert_eq!(parse_size(input), want, "{input:?}");
        }
    }

    #[test]
    fn log_config_reads_driver_and_options() {
        let opts = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_log_config(None, &[], true).unwrap(),
            LogConfig::default()
        );
        let c = parse_log_config(
            Some("k8s-file"),
            &opts(&["max-size=2k", "path=/var/log/x.log"]),
            true,
        )
        .unwrap();
        assert_eq!(c.max_size, Some(2048));
        assert_eq!(c.path.as_deref(), Some(Path::new("/var/log/x.log")));
        assert_eq!(
            parse_log_config(Some("none"), &[], true).unwrap().driver,
            LogDriver::None
        );
        assert_eq!(
            parse_log_config(Some("passthrough"), &[], false)
                .unwrap()
                .driver,
            LogDriver::Passthrough
        );
    }

    #[test]
    fn log_config_refuses_what_it_cannot_do() {
        let bad = |driver: &str, opt: &str, is_detached: bool| {
            let opts: Vec<String> = [opt]
                .iter()
                .filter(|o| !o.is_empty())
                .map(|o| o.to_string())
                .collect();
            parse_log_config(Some(driver), &opts, is_detached).unwrap_err()
        };
        assert!(matches!(
            bad("journald", "", false),
            Error::UnsupportedDriver(_)
        ));
        assert!(matches!(bad("syslog", "", false), Error::UnknownDriver(_)));
        assert!(matches!(
            bad("passthrough", "", true),
            Error::PassthroughDetached
        ));
        assert!(matches!(
            bad("k8s-file", "max-size", false),
            Error::InvalidLogOpt(_)
        ));
        assert!(matches!(
            bad("k8s-file", "max-size=big", false),
            Error::InvalidSize(_)
        ));
        assert!(matches!(
            bad("k8s-file", "tag=x", false),
            Error::UnknownLogOpt(_)
        ));
        assert!(matches!(
            bad("k8s-file", "path=rel.log", false),
            Error::RelativeLogPath(_)
        ));
    }

    #[test]
    fn the_rotated_log_gets_a_dot_one() {
        assert_eq!(
            rotated_path(Path::new("/s/ctr.log")),
            Path::new("/s/ctr.log.1")
        );
    }
}
