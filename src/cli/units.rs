//! Times as Podman prints them for people: go-units' `HumanDuration`
//! (`3 years`, `About an hour`) and RFC 3339.

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
