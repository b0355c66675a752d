//! Times and sizes as Podman prints them for people: go-units'
//! `HumanDuration` (`3 years`, `About an hour`), RFC 3339, and go-units'
//! `HumanSize` (`12.85MB`).

use crate::container::logread;

/// Nanoseconds per second.
const SEC: i64 = 1_000_000_000;

/// go-units' `HumanDuration` of `nanos`, as Podman's tables print ages.
pub fn human_duration(nanos: i64) -> String {
    let secs = nanos.max(0) / SEC;
    let minutes = secs / 60;
    // Hours round to the nearest.
    let hours = (secs + 1800) / 3600;
    match () {
        _ if secs < 1 => "Less than a second".into(),
        _ if secs == 1 => "1 second".into(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", secs / 3600 / 24 / 365),
    }
}

/// go-units' `HumanSize`, as `system df` prints sizes: decimal units,
/// four significant digits (Go's `%.4g`), no space (`1.998MB`, `0B`).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    let int_digits = match v {
        v if v >= 100.0 => 3,
        v if v >= 10.0 => 2,
        _ => 1,
    };
    let text = format!("{:.*}", 4 - int_digits, v);
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.')
    } else {
        &text
    };
    format!("{text}{}", UNITS[u])
}

/// `2026-11-27 19:00:00 +0000 UTC`, as Go prints a time (`t` in Unix
/// nanoseconds); `raw` as it is when `t` is unknown.
pub fn go_time(t: Option<i64>, raw: &str) -> String {
    match t {
        Some(t) => format!("{} +0000 UTC", logread::format_utc(t, ' ')),
        None => raw.to_string(),
    }
}

/// The current time in nanoseconds since the epoch.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// RFC 3339 time `created` as Podman shows it: `3 years ago` when
/// `is_human`, else in whole seconds (`2023-11-14T22:13:20Z`). An
/// unreadable time is shown as it is.
pub fn created(created: &str, is_human: bool, now: i64) -> String {
    match logread::parse_timestamp(created) {
        Some(t) if is_human => format!("{} ago", human_duration(now - t)),
        Some(t) => format!("{}Z", logread::format_utc(t, 'T')),
        None => created.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_like_go_units() {
        let cases = [
            (0, "Less than a second"),
            (1, "1 second"),
            (59, "59 seconds"),
            (60, "About a minute"),
            (119, "About a minute"),
            (120, "2 minutes"),
            (3599, "59 minutes"),
            (3600, "About an hour"),
            (5399, "About an hour"),
            (5400, "2 hours"),
            (47 * 3600, "47 hours"),
            (48 * 3600, "2 days"),
            (14 * 86400, "2 weeks"),
            (60 * 86400, "2 months"),
            (800 * 86400, "2 years"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs * SEC), want, "{secs}s");
        }
        assert_eq!(human_duration(-5 * SEC), "Less than a second");
    }

    #[test]
    fn sizes_have_four_significant_digits() {
        for (n, want) in [
            (0, "0B"),
            (12, "12B"),
            (999, "999B"),
            (11_490, "11.49kB"),
            (702_600, "702.6kB"),
            (1_998_000, "1.998MB"),
            (2_000_000, "2MB"),
            (12_854_321, "12.85MB"),
            (1_234_567_890_123, "1.235TB"),
        ] {
            assert_eq!(human_size(n), want, "{n}");
        }
    }

    #[test]
    fn created_is_an_age_or_whole_seconds() {
        let t = logread::parse_timestamp("2023-11-14T22:13:20.5Z").unwrap();
        let later = t + 3 * 365 * 86400 * SEC;
        assert_eq!(
            created("2023-11-14T22:13:20.5Z", true, later),
            "3 years ago"
        );
        assert_eq!(
            created("2023-11-14T22:13:20.5Z", false, later),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(created("", true, later), "");
    }
}
