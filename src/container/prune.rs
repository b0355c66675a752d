//! The `--filter`s of `container prune`, `volume prune` and `system
//! prune`: Podman's keys (`label`, `label!`, `until`), parsed and checked
//! before anything is removed, and matched as Podman 4.3 matches each
//! kind of object. (`image prune` takes `images --filter`'s keys, see
//! `images::ImageFilter`.)

use std::collections::BTreeMap;

use super::labels;
use crate::storage::ContainerInfo;

/// A `--filter` a prune cannot take; Podman's words where it has them.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilterError {
    /// Not `KEY=VALUE`.
    #[error("filter input must be in the form of filter=value: {0} is invalid")]
    NotKeyValue(String),
    /// A key containers cannot be pruned by.
    #[error("{0} is an invalid filter")]
    UnknownKey(String),
    /// A key volumes cannot be pruned by (`label!`, as in Podman 4.3).
    #[error("{0:?} is an invalid volume filter")]
    UnknownVolumeKey(String),
    /// `until` given twice for containers.
    #[error("specify exactly one timestamp for until")]
    SeveralUntil,
    /// An `until` value that is neither a time nor a duration.
    #[error("failed to parse value as time or duration: {0:?}")]
    BadTime(String),
}

/// Parsed prune filters: every value of each key, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PruneFilters {
    /// `label=KEY[=VALUE]` (a `*` in KEY matches any run of characters).
    pub labels: Vec<String>,
    /// `label!=KEY[=VALUE]`.
    pub not_labels: Vec<String>,
    /// `until=TIME`: created before it, in nanoseconds since the epoch.
    pub until: Vec<i64>,
}

impl PruneFilters {
    /// Parses `raw` (`KEY=VALUE` each); an `until` duration counts back
    /// from `now` (nanoseconds since the epoch).
    pub fn parse(raw: &[String], now: i64) -> Result<PruneFilters, FilterError> {
        let mut out = PruneFilters::default();
        for f in raw {
            let (key, value) = f
                .split_once('=')
                .ok_or_else(|| FilterError::NotKeyValue(f.clone()))?;
            match key {
                "label" => out.labels.push(value.to_string()),
                "label!" => out.not_labels.push(value.to_string()),
                "until" => out.until.push(
                    super::logread::parse_time_arg(value, now)
                        .ok_or_else(|| FilterError::BadTime(value.to_string()))?,
                ),
                _ => return Err(FilterError::UnknownKey(key.to_string())),
            }
        }
        Ok(out)
    }

    /// `parse` for `volume prune`, whose unknown keys Podman names as
    /// volume filters.
    pub fn parse_volumes(raw: &[String], now: i64) -> Result<PruneFilters, FilterError> {
        let out = Self::parse(raw, now).map_err(|e| match e {
            FilterError::UnknownKey(k) => FilterError::UnknownVolumeKey(k),
            other => other,
        })?;
        out.check_volumes()?;
        Ok(out)
    }

    /// Whether no filter was given.
    pub fn is_empty(&self) -> bool {
        *self == PruneFilters::default()
    }

    /// Checks the filters can prune containers: one `until` at most.
    pub fn check_containers(&self) -> Result<(), FilterError> {
        match self.until.len() {
            0 | 1 => Ok(()),
            _ => Err(FilterError::SeveralUntil),
        }
    }

    /// Checks the filters can prune volumes: no `label!`.
    pub fn check_volumes(&self) -> Result<(), FilterError> {
        match self.not_labels.is_empty() {
            true => Ok(()),
            false => Err(FilterError::UnknownVolumeKey("label!".into())),
        }
    }

    /// Whether a container with `labels`, created at `created`, is pruned:
    /// every `label` matches, not every `label!` does, and it was created
    /// before `until` (Podman's `GeneratePruneContainerFilterFuncs`).
    pub fn matches_container(&self, labels: &BTreeMap<String, String>, created: i64) -> bool {
        (self.labels.is_empty() || labels::matches_all(&self.labels, labels))
            && (self.not_labels.is_empty() || !labels::matches_all(&self.not_labels, labels))
            && self.until.iter().all(|u| created < *u)
    }

    /// Whether a volume with `labels`, created at `created`, is pruned: one
    /// of the `label`s matches and it was created before every `until`
    /// (Podman 4.3's `volume prune`).
    pub fn matches_volume(&self, labels: &BTreeMap<String, String>, created: i64) -> bool {
        (self.labels.is_empty() || self.labels.iter().any(|l| labels::matches_one(l, labels)))
            && self.until.iter().all(|u| created < *u)
    }
}

/// Whether container `info` (not running) passes `filters`.
pub(super) fn is_container_pruned(filters: &PruneFilters, info: &ContainerInfo) -> bool {
    filters.is_empty()
        || filters.matches_container(
            &super::query::labels_of(info),
            created_nanos(&info.record.created),
        )
}

/// `created` (RFC 3339) in nanoseconds since the epoch; a time that does
/// not parse is the epoch, before any `until`, as Podman's zero time.
pub fn created_nanos(created: &str) -> i64 {
    super::logread::parse_timestamp(created).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn map(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const NOW: i64 = 1_000 * 1_000_000_000;

    #[test]
    fn filters_parse_or_say_why_in_podmans_words() {
        let f =
            PruneFilters::parse(&strings(&["label=a=1", "label!=b", "until=10s"]), NOW).unwrap();
        assert_eq!(f.labels, strings(&["a=1"]));
        assert_eq!(f.not_labels, strings(&["b"]));
        assert_eq!(f.until, vec![990 * 1_000_000_000]);
        let err = |raw: &[&str]| PruneFilters::parse(&strings(raw), NOW).unwrap_err();
        assert_eq!(err(&["label"]), FilterError::NotKeyValue("label".into()));
        assert_eq!(err(&["nope=1"]), FilterError::UnknownKey("nope".into()));
        assert_eq!(
            err(&["dangling=true"]).to_string(),
            "dangling is an invalid filter"
        );
        assert_eq!(
            err(&["until=abc"]).to_string(),
            "failed to parse value as time or duration: \"abc\""
        );
        let two = PruneFilters::parse(&strings(&["until=1h", "until=2h"]), NOW).unwrap();
        assert_eq!(two.check_containers(), Err(FilterError::SeveralUntil));
        let not = PruneFilters::parse(&strings(&["label!=a"]), NOW).unwrap();
        assert_eq!(
            not.check_volumes().unwrap_err().to_string(),
            "\"label!\" is an invalid volume filter"
        );
        assert!(PruneFilters::parse(&[], NOW).unwrap().is_empty());
        assert_eq!(
            PruneFilters::parse_volumes(&strings(&["nope=1"]), NOW)
                .unwrap_err()
                .to_string(),
            "\"nope\" is an invalid volume filter"
        );
    }

    #[test]
    fn containers_match_as_podman_prunes_them() {
        // Cases checked against Podman 4.3's `container prune --filter`.
        let a = map(&[("x", "1"), ("y", "2")]);
        let b = map(&[("x", "2")]);
        let c = map(&[]);
        let pruned = |raw: &[&str]| -> Vec<&str> {
            let f = PruneFilters::parse(&strings(raw), NOW).unwrap();
            [("a", &a), ("b", &b), ("c", &c)]
                .into_iter()
                .filter(|(_, l)| f.matches_container(l, NOW - 5))
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(pruned(&["label=x", "label=y"]), ["a"]);
        assert_eq!(pruned(&["label=x=1", "label=x=2"]), Vec::<&str>::new());
        assert_eq!(pruned(&["label=x="]), ["a", "b"]);
        assert_eq!(pruned(&["label!=x=2"]), ["a", "c"]);
        assert_eq!(pruned(&["label!=x", "label!=y"]), ["b", "c"]);
        assert_eq!(pruned(&["label=x*"]), ["a", "b"]);
        assert_eq!(pruned(&["until=1h"]), Vec::<&str>::new());
        assert_eq!(pruned(&["until=-1h"]), ["a", "b", "c"]);
        assert_eq!(pruned(&[]), ["a", "b", "c"]);
    }

    #[test]
    fn volumes_match_any_label_and_every_until() {
        // Podman 4.3's `volume prune`: label values are ORed.
        let f = PruneFilters::parse(&strings(&["label=a", "label=b"]), NOW).unwrap();
        assert!(f.matches_volume(&map(&[("a", "1")]), 0));
        assert!(f.matches_volume(&map(&[("b", "1")]), 0));
        assert!(!f.matches_volume(&map(&[("c", "1")]), 0));
        let f = PruneFilters::parse(&strings(&["until=1s", "until=1h"]), NOW).unwrap();
        assert!(f.matches_volume(&c_map(), NOW - 7200 * 1_000_000_000));
        assert!(!f.matches_volume(&c_map(), NOW - 60 * 1_000_000_000));
    }

    fn c_map() -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    #[test]
    fn created_times_that_do_not_parse_are_the_epoch() {
        assert_eq!(created_nanos("1970-01-01T00:00:01Z"), 1_000_000_000);
        assert_eq!(created_nanos(""), 0);
    }
}
