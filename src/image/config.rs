//! The parts of an image config (OCI image spec, config.md) that decide how
//! a container's process runs.

use serde::Deserialize;

/// How the image says its process runs; empty when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    /// `User`, as `user[:group]` (names or numbers).
    pub user: String,
    /// `Env`, `NAME=VALUE` entries.
    pub env: Vec<String>,
    /// `Entrypoint`.
    pub entrypoint: Vec<String>,
    /// `Cmd`.
    pub cmd: Vec<String>,
    /// `WorkingDir`.
    pub working_dir: String,
    /// `StopSignal`.
    pub stop_signal: String,
    /// `Volumes`: the paths that get an anonymous volume, sorted.
    pub volumes: Vec<String>,
    /// `Labels`, which a container's own labels override.
    pub labels: std::collections::BTreeMap<String, String>,
    /// `Healthcheck` (Docker's field, which `hutch build` and Podman
    /// write for `HEALTHCHECK`), if the image has one.
    pub healthcheck: Option<ImageHealthcheck>,
}

/// An image's `Healthcheck`: durations in nanoseconds, 0 when unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageHealthcheck {
    /// `["CMD", ARG...]`, `["CMD-SHELL", COMMAND]` or `["NONE"]`.
    pub test: Vec<String>,
    /// `Interval`.
    pub interval: u64,
    /// `Timeout`.
    pub timeout: u64,
    /// `StartPeriod`.
    pub start_period: u64,
    /// `Retries`.
    pub retries: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawHealthcheck {
    test: Option<Vec<String>>,
    interval: Option<i64>,
    timeout: Option<i64>,
    start_period: Option<i64>,
    retries: Option<i64>,
}

#[derive(Deserialize)]
struct Raw {
    config: Option<RawConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawConfig {
    user: Option<String>,
    env: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    cmd: Option<Vec<String>>,
    working_dir: Option<String>,
    stop_signal: Option<String>,
    volumes: Option<std::collections::BTreeMap<String, serde::de::IgnoredAny>>,
    labels: Option<std::collections::BTreeMap<String, Option<String>>>,
    healthcheck: Option<RawHealthcheck>,
}

impl RuntimeConfig {
    /// Reads the runtime part of a raw image config.
    pub fn parse(raw: &[u8]) -> Result<RuntimeConfig, super::Error> {
        let raw: Raw = serde_json::from_slice(raw).map_err(super::Error::Config)?;
        let Some(c) = raw.config else {
            return Ok(RuntimeConfig::default());
        };
        Ok(RuntimeConfig {
            user: c.user.unwrap_or_default(),
            env: c.env.unwrap_or_default(),
            entrypoint: c.entrypoint.unwrap_or_default(),
            cmd: c.cmd.unwrap_or_default(),
            working_dir: c.working_dir.unwrap_or_default(),
            stop_signal: c.stop_signal.unwrap_or_default(),
            volumes: c.volumes.unwrap_or_default().into_keys().collect(),
            labels: c
                .labels
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect(),
            healthcheck: c.healthcheck.map(|h| {
                // Negative values are as good as unset.
                let positive = |v: Option<i64>| v.map_or(0, |n| n.max(0) as u64);
                ImageHealthcheck {
                    test: h.test.unwrap_or_default(),
                    interval: positive(h.interval),
                    timeout: positive(h.timeout),
                    start_period: positive(h.start_period),
                    retries: positive(h.retries),
                }
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_process_fields_and_tolerates_nulls() {
        let c = RuntimeConfig::parse(
            br#"{"architecture":"amd64","os":"linux","config":{"User":"1000:1000","Env":["A=1"],"Entrypoint":null,"Cmd":["sh"],"WorkingDir":"/w"}}"#,
        )
        .unwrap();
        assert_eq!(c.user, "1000:1000");
        assert_eq!(c.entrypoint, Vec::<String>::new());
        assert_eq!(c.cmd, vec!["sh"]);
        assert_eq!(c.working_dir, "/w");
        assert!(c.volumes.is_empty());
        assert!(c.labels.is_empty());
        let c = RuntimeConfig::parse(br#"{"config":{"Labels":{"a":"1","b":null}}}"#).unwrap();
        assert_eq!(c.labels.get("a").map(String::as_str), Some("1"));
        assert_eq!(c.labels.get("b").map(String::as_str), Some(""));
        let c = RuntimeConfig::parse(
            br#"{"config":{"Healthcheck":{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Retries":null}}}"#,
        )
        .unwrap();
        assert_eq!(
            c.healthcheck,
            Some(ImageHealthcheck {
                test: vec!["CMD-SHELL".into(), "true".into()],
                interval: 5_000_000_000,
                ..ImageHealthcheck::default()
            })
        );
        let c =
            RuntimeConfig::parse(br#"{"config":{"Volumes":{"/data":{},"/cache":{}}}}"#).unwrap();
        assert_eq!(c.volumes, vec!["/cache", "/data"]);
        assert_eq!(
            RuntimeConfig::parse(br#"{"os":"linux"}"#).unwrap(),
            RuntimeConfig::default()
        );
    }
}
