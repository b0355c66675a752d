//! Wall-clock times as the records and logs write them: RFC 3339 in UTC.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time as RFC 3339 (UTC, whole seconds), like `created`.
pub fn now_rfc3339() -> String {
    let (secs, _) = now();
    format_rfc3339(secs, None)
}

/// The current time as RFC 3339 with nanoseconds (UTC), for log records.
pub fn now_rfc3339_nanos() -> String {
    let (secs, nanos) = now();
    format_rfc3339(secs, Some(nanos))
}

fn now() -> (u64, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.subsec_nanos())
}

/// Formats `secs` since the epoch, with nine fraction digits when `nanos`
/// is given.
pub fn format_rfc3339(secs: u64, nanos: Option<u32>) -> String {
    let (y, m, d) = civil_from_days((secs / 86400) as i64);
    let rem = secs % 86400;
    let fraction = match nanos {
        Some(n) => format!(".{n:09}"),
        None => String::new(),
    };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{fraction}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// The date (year, month, day) of a day count since 1970-01-01, after
/// Howard Hinnant's public-domain `civil_from_days`.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_rfc3339(0, None), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(1_798_416_000, Some(123_456_789)),
            "2026-12-28T00:00:00.123456789Z"
        );
        assert_eq!(
            format_rfc3339(1_798_416_001, Some(5)),
            "2026-12-28T00:00:01.000000005Z"
        );
    }
}
