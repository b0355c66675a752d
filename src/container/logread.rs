//! Reading container logs in the k8s-file format the monitor writes.
//!
//! One record per line: `TIMESTAMP STREAM TAG CONTENT`, the timestamp in
//! RFC 3339 with nanoseconds (UTC), the stream `stdout` or `stderr`, the tag
//! `F` (a full line) or `P` (a partial line the next record continues).
//! This module parses records, times and durations, finds where the last N
//! lines start without reading the whole file, and reads what the monitor
//! appended since the last call, across rotations (`rotating`). It also
//! owns the log settings both the monitor and `logs` read (`config`). It
//! never prints and never writes the log.

mod config;
mod rotating;

use std::fs::File;
use std::io::ErrorKind;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub use config::{log_of, log_path, parse_log_config, rotated_path, LogConfig, LogDriver};
pub use rotating::RotatingLog;

use crate::runtime::clock::civil_from_days;

/// How many bytes one read takes, backwards for `--tail` and forwards.
const CHUNK: usize = 64 * 1024;

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// What went wrong reading a log.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening the log file.
    #[error("opening log {path}")]
    OpenLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading the log file.
    #[error("reading log {path}")]
    ReadLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Writing the records out (`logs` to its standard output or error).
    #[error("writing the log")]
    WriteLog(#[source] std::io::Error),
    /// `logs` of a container whose driver keeps no log file.
    #[error("container {name} has no logs: it uses the {driver} log driver")]
    NoLogs { name: String, driver: &'static str },
    /// A `--log-driver` hutch does not know.
    #[error("unknown log driver {0:?}: use k8s-file, none or passthrough")]
    UnknownDriver(String),
    /// A `--log-driver` hutch knows but does not implement.
    #[error("log driver {0} is not supported yet: use k8s-file, none or passthrough")]
    UnsupportedDriver(String),
    /// `--log-driver passthrough` for a container a monitor starts.
    #[error(
        "log driver passthrough needs a foreground run: it cannot be used with run -d or create"
    )]
    PassthroughDetached,
    /// A `--log-opt` without `=`.
    #[error("invalid --log-opt {0:?}: expected KEY=VALUE")]
    InvalidLogOpt(String),
    /// A `--log-opt` key hutch does not know.
    #[error("unknown --log-opt {0:?}: use max-size or path")]
    UnknownLogOpt(String),
    /// `--log-opt max-size` that is not a positive size.
    #[error("invalid --log-opt max-size {0:?}: expected a size such as 10k or 1mb")]
    InvalidSize(String),
    /// `--log-opt path` that is not absolute.
    #[error("invalid --log-opt path {0:?}: must be an absolute path")]
    RelativeLogPath(String),
}

impl crate::error::Diagnose for Error {}

/// Which output of the container a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One parsed log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Nanoseconds since the Unix epoch.
    pub time: i64,
    /// The timestamp as written in the file.
    pub timestamp: String,
    /// Where the content was written.
    pub stream: Stream,
    /// Whether the next record of the stream continues this line (tag `P`).
    pub is_partial: bool,
    /// The content, without the line's newline.
    pub content: Vec<u8>,
}

/// Parses one line of a log file (without its newline); `None` when it is
/// not a well-formed record.
pub fn parse_record(line: &[u8]) -> Option<Record> {
    let mut parts = line.splitn(4, |&b| b == b' ');
    let timestamp = std::str::from_utf8(parts.next()?).ok()?;
    let stream = match parts.next()? {
        b"stdout" => Stream::Stdout,
        b"stderr" => Stream::Stderr,
        _ => return None,
    };
    let is_partial = match parts.next()? {
        b"F" => false,
        b"P" => true,
        _ => return None,
    };
    // An empty full line is written as `TIME STREAM F` with or without the
    // trailing space.
    let content = parts.next().unwrap_or_default().to_vec();
    let time = parse_timestamp(timestamp)?;
    Some(Record {
        time,
        timestamp: timestamp.to_string(),
        stream,
        is_partial,
        content,
    })
}

/// Parses an RFC 3339 time (`2026-11-27T19:00:00.123456789Z`, or with a
/// `+01:00` offset) into nanoseconds since the Unix epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = &s[r];
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0i64;
    if let Some(r) = rest.strip_prefix('.') {
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        // Nanosecond precision; further digits are dropped.
        for (i, c) in r[..digits].bytes().enumerate().take(9) {
            frac += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
        }
        rest = &r[digits..];
    }
    let offset = match rest.as_bytes() {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [h1, h2, m1, m2];
            if !digits.iter().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let d = |c: &u8| i64::from(c - b'0');
            let secs = (d(h1) * 10 + d(h2)) * 3600 + (d(m1) * 10 + d(m2)) * 60;
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset;
    secs.checked_mul(NANOS_PER_SEC)?.checked_add(frac)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (after Howard
/// Hinnant's public-domain `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Formats nanoseconds since the epoch as UTC date and time with `sep`
/// between them and whole seconds: `2026-11-27T19:00:00`.
pub fn format_utc(nanos: i64, sep: char) -> String {
    let secs = nanos.div_euclid(NANOS_PER_SEC);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}{sep}{:02}:{:02}:{:02}",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Parses a Go-style duration (`10m`, `1h30m`, `1.5s`, `300ms`) into
/// nanoseconds. A bare `0` is zero; other numbers need a unit.
pub fn parse_duration(s: &str) -> Option<i64> {
    let (negative, mut rest) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int: i128 = if int_len == 0 {
            0
        } else {
            rest[..int_len].parse().ok()?
        };
        rest = &rest[int_len..];
        let (mut frac, mut scale) = (0i128, 1i128);
        if let Some(r) = rest.strip_prefix('.') {
            let frac_len = r.bytes().take_while(u8::is_ascii_digit).count();
            for c in r[..frac_len].bytes().take(18) {
                frac = frac * 10 + i128::from(c - b'0');
                scale *= 10;
            }
            if int_len == 0 && frac_len == 0 {
                return None;
            }
            rest = &r[frac_len..];
        } else if int_len == 0 {
            return None;
        }
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit: i128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total = total.checked_add(int.checked_mul(unit)? + frac * unit / scale)?;
    }
    let total = i64::try_from(total).ok()?;
    Some(if negative { -total } else { total })
}

/// Parses a `--since`/`--until` value: an RFC 3339 time, a duration before
/// `now` (`10m`), or Unix seconds (`1700000000`, `1700000000.5`).
pub fn parse_time_arg(s: &str, now: i64) -> Option<i64> {
    if let Some(t) = parse_timestamp(s) {
        return Some(t);
    }
    if let Some(d) = parse_duration(s) {
        return now.checked_sub(d);
    }
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    if secs.is_empty()
        || !secs.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let mut nanos: i64 = secs.parse::<i64>().ok()?.checked_mul(NANOS_PER_SEC)?;
    for (i, c) in frac.bytes().take(9).enumerate() {
        nanos += i64::from(c - b'0') * 10i64.pow(8 - i as u32);
    }
    Some(nanos)
}

/// Which records to show by time; both ends are inclusive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Skip records before this time (nanoseconds since the epoch).
    pub since: Option<i64>,
    /// Skip records after this time.
    pub until: Option<i64>,
}

impl Window {
    /// Whether a record written at `time` is shown.
    pub fn contains(&self, time: i64) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time <= u)
    }
}

/// Reads a log file front to back, picking up what was appended since the
/// last read.
pub struct LogReader {
    path: PathBuf,
    file: File,
    /// Device and inode of the open file, to notice a rotation.
    identity: (u64, u64),
    /// Where the next read starts.
    offset: u64,
    /// The start of a line whose newline has not been read yet.
    pending: Vec<u8>,
}

impl LogReader {
    /// Opens the log at `path` for reading, creating it empty when it does
    /// not exist yet (the monitor appends to it, never truncates): a reader
    /// opened before the container starts keeps reading it even when a
    /// `--rm` removal unlinks it before the reader gets to it.
    pub fn open_or_create(path: &Path) -> Result<LogReader, Error> {
        let created = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(path);
        if let Err(source) = created {
            return Err(Error::OpenLog {
                path: path.to_path_buf(),
                source,
            });
        }
        LogReader::open(path)?.ok_or_else(|| Error::OpenLog {
            path: path.to_path_buf(),
            source: ErrorKind::NotFound.into(),
        })
    }

    /// Opens the log at `path`; `None` when there is none (yet).
    pub fn open(path: &Path) -> Result<Option<LogReader>, Error> {
        match File::open(path) {
            Ok(file) => {
                let meta = file.metadata().map_err(|source| Error::OpenLog {
                    path: path.to_path_buf(),
                    source,
                })?;
                Ok(Some(LogReader {
                    path: path.to_path_buf(),
                    file,
                    identity: (meta.dev(), meta.ino()),
                    offset: 0,
                    pending: Vec::new(),
                }))
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::OpenLog {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    fn read_err(&self, source: std::io::Error) -> Error {
        Error::ReadLog {
            path: self.path.clone(),
            source,
        }
    }

    /// Moves the reader to the start of the last `lines` lines, reading
    /// backwards from the end in chunks, and returns how many it found
    /// (fewer when the file is shorter). A line is a run of partial records
    /// ended by a full one, or by the end of the file when `is_end_open`
    /// (a newer file may finish it otherwise); malformed lines do not count.
    pub fn seek_tail(&mut self, lines: usize, is_end_open: bool) -> Result<usize, Error> {
        let end = self.file.metadata().map_err(|e| self.read_err(e))?.len();
        self.pending.clear();
        let (offset, found) = self.find_tail_start(end, lines, is_end_open)?;
        self.offset = offset;
        Ok(found)
    }

    fn find_tail_start(
        &self,
        end: u64,
        lines: usize,
        is_end_open: bool,
    ) -> Result<(u64, usize), Error> {
        let mut pos = end;
        // The beginning of the earliest line read so far, whose start lies
        // in a chunk not read yet.
        let mut carry: Vec<u8> = Vec::new();
        let mut line_ends = 0usize;
        let mut is_last = is_end_open;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let start = pos.saturating_sub(CHUNK as u64);
            let len = (pos - start) as usize;
            self.file
                .read_exact_at(&mut buf[..len], start)
                .map_err(|e| self.read_err(e))?;
            let mut joined = buf[..len].to_vec();
            joined.extend_from_slice(&carry);
            // Complete lines are those after a newline in `joined`, or all
            // of it once the start of the file is reached.
            let mut seg_end = joined.len();
            loop {
                let nl = joined[..seg_end].iter().rposition(|&b| b == b'\n');
                let seg_start = match nl {
                    Some(i) => i + 1,
                    None if start == 0 => 0,
                    None => break,
                };
                if let Some(rec) = parse_record(&joined[seg_start..seg_end]) {
                    if is_last || !rec.is_partial {
                        line_ends += 1;
                        if line_ends > lines {
                            // Everything after this record's newline.
                            let after = start + seg_end as u64 + 1;
                            return Ok((after.min(end), lines));
                        }
                    }
                    is_last = false;
                }
                match nl {
                    Some(i) => seg_end = i,
                    None => return Ok((0, line_ends)),
                }
            }
            carry = joined[..seg_end].to_vec();
            pos = start;
        }
    }

    /// Reads up to one chunk of what is new and returns the complete records
    /// in it, and whether the end of the file was reached. Malformed lines
    /// are skipped; an unfinished last line waits for its newline.
    pub fn read_chunk(&mut self) -> Result<(Vec<Record>, bool), Error> {
        let mut buf = vec![0u8; CHUNK];
        let n = loop {
            match self.file.read_at(&mut buf, self.offset) {
                Ok(n) => break n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_err(e)),
            }
        };
        self.offset += n as u64;
        let mut records = Vec::new();
        let mut data = &buf[..n];
        while let Some(i) = data.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&data[..i]);
            records.extend(parse_record(&self.pending));
            self.pending.clear();
            data = &data[i + 1..];
        }
        self.pending.extend_from_slice(data);
        Ok((records, n < CHUNK))
    }

    /// The record on an unfinished last line, once nothing more will be
    /// appended.
    pub fn finish(&mut self) -> Option<Record> {
        let rec = parse_record(&self.pending);
        self.pending.clear();
        rec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2026-11-27T19:00:00.123456789Z";
    const T0_NANOS: i64 = 1_795_806_000_123_456_789;

    #[test]
    fn parse_record_reads_full_and_partial_records() {
        let r = parse_record(format!("{T0} stdout F ready now").as_bytes()).unwrap();
        assert_eq!(r.time, T0_NANOS);
        assert_eq!(r.timestamp, T0);
        assert_eq!(r.stream, Stream::Stdout);
        assert!(!r.is_partial);
        assert_eq!(r.content, b"ready now");
        let r = parse_record(format!("{T0} stderr P  two spaces").as_bytes()).unwrap();
        assert_eq!(r.stream, Stream::Stderr);
        assert!(r.is_partial);
        assert_eq!(r.content, b" two spaces");
        let r = parse_record(format!("{T0} stdout F").as_bytes()).unwrap();
        assert_eq!(r.content, b"");
    }

    #[test]
    fn parse_record_rejects_malformed_lines() {
        for line in [
            "".to_string(),
            "garbage".to_string(),
            format!("{T0} stdin F x"),
            format!("{T0} stdout X x"),
            "2026-13-27T19:00:00Z stdout F x".to_string(),
            "yesterday stdout F x".to_string(),
        ] {
            assert_eq!(parse_record(line.as_bytes()), None, "{line:?}");
        }
    }

    #[test]
    fn parse_timestamp_handles_fractions_and_offsets() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_timestamp(T0), Some(T0_NANOS));
        assert_eq!(
            parse_timestamp("2026-11-27T20:00:00.5+01:00"),
            Some(1_795_806_000_500_000_000)
        );
        assert_eq!(
            parse_timestamp("2026-11-27 18:30:00-00:30"),
            Some(1_795_806_000 * NANOS_PER_SEC)
        );
        for bad in ["2026-11-27", "2026-11-27T19:00:00", "2026-11-27T19:00:00.Z"] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn format_utc_inverts_parse_timestamp() {
        assert_eq!(format_utc(T0_NANOS, 'T'), "2026-11-27T19:00:00");
        assert_eq!(format_utc(0, ' '), "1970-01-01 00:00:00");
        assert_eq!(
            parse_timestamp(&format!(
                "{}Z",
                format_utc(951_782_400 * NANOS_PER_SEC, 'T')
            )),
            Some(951_782_400 * NANOS_PER_SEC)
        );
    }

    #[test]
    fn parse_duration_reads_go_durations() {
        let s = NANOS_PER_SEC;
        assert_eq!(parse_duration("5s"), Some(5 * s));
        assert_eq!(parse_duration("10m"), Some(600 * s));
        assert_eq!(parse_duration("1h30m"), Some(5400 * s));
        assert_eq!(parse_duration("1.5h"), Some(5400 * s));
        assert_eq!(parse_duration("300ms"), Some(300_000_000));
        assert_eq!(parse_duration("2us3ns"), Some(2003));
        assert_eq!(parse_duration("-1m"), Some(-60 * s));
        assert_eq!(parse_duration("0"), Some(0));
        for bad in ["", "5", "m", "5x", "1h 30m", ".h", "-"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_time_arg_takes_times_durations_and_unix_seconds() {
        let now = T0_NANOS;
        assert_eq!(parse_time_arg(T0, 0), Some(T0_NANOS));
        assert_eq!(parse_time_arg("10m", now), Some(now - 600 * NANOS_PER_SEC));
        assert_eq!(
            parse_time_arg("1700000000", now),
            Some(1_700_000_000 * NANOS_PER_SEC)
        );
        assert_eq!(
            parse_time_arg("1700000000.25", now),
            Some(1_700_000_000 * NANOS_PER_SEC + 250_000_000)
        );
        assert_eq!(parse_time_arg("soon", now), None);
    }

    #[test]
    fn window_is_inclusive() {
        let w = Window {
            since: Some(10),
            until: Some(20),
        };
        assert!(!w.contains(9));
        assert!(w.contains(10) && w.contains(20));
        assert!(!w.contains(21));
        assert!(Window::default().contains(i64::MIN));
    }

    fn line(sec: u32, stream: &str, tag: &str, text: &str) -> String {
        format!("2026-11-27T19:00:{sec:02}.000000001Z {stream} {tag} {text}\n")
    }

    fn read_all(r: &mut LogReader) -> Vec<Record> {
        let mut out = Vec::new();
        loop {
            let (recs, at_end) = r.read_chunk().unwrap();
            out.extend(recs);
            if at_end {
                break;
            }
        }
        out
    }

    fn contents(recs: &[Record]) -> Vec<String> {
        recs.iter()
            .map(|r| String::from_utf8_lossy(&r.content).into_owned())
            .collect()
    }

    #[test]
    fn a_missing_log_opens_as_none() {
        let dir = tempfile::tempdir().unwrap();
        assert!(LogReader::open(&dir.path().join("ctr.log"))
            .unwrap()
            .is_none());
    }

    #[test]
    fn read_chunk_skips_malformed_lines_and_waits_for_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        let text = format!(
            "{}not a record\n{}{}",
            line(1, "stdout", "P", "hel"),
            line(2, "stdout", "F", "lo"),
            line(3, "stderr", "F", "oops"),
        );
        std::fs::write(&path, format!("{text}2026-11-27T19:00:04Z stdout F unfin")).unwrap();
        let mut r = LogReader::open(&path).unwrap().unwrap();
        let recs = read_all(&mut r);
        assert_eq!(contents(&recs), ["hel", "lo", "oops"]);
        assert!(recs[0].is_partial && !recs[1].is_partial);
        assert_eq!(recs[2].stream, Stream::Stderr);
        // The monitor finishes the line: it is read on the next call.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        std::io::Write::write_all(&mut f, b"ished\n").unwrap();
        assert_eq!(contents(&read_all(&mut r)), ["unfinished"]);
        assert_eq!(r.finish(), None);
    }

    #[test]
    fn finish_returns_an_unterminated_last_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        std::fs::write(&path, "2026-11-27T19:00:04Z stdout P last").unwrap();
        let mut r = LogReader::open(&path).unwrap().unwrap();
        assert!(read_all(&mut r).is_empty());
        assert_eq!(contents(&[r.finish().unwrap()]), ["last"]);
    }

    #[test]
    fn seek_tail_counts_lines_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        let text = [
            line(1, "stdout", "F", "one"),
            line(2, "stdout", "P", "tw"),
            line(2, "stdout", "F", "o"),
            "junk\n".to_string(),
            line(3, "stderr", "F", "three"),
            line(4, "stdout", "P", "four-in-progress"),
        ]
        .concat();
        std::fs::write(&path, &text).unwrap();
        let mut r = LogReader::open(&path).unwrap().unwrap();
        let cases: [(usize, &[&str]); 5] = [
            (0, &[]),
            (1, &["four-in-progress"]),
            (2, &["three", "four-in-progress"]),
            (3, &["tw", "o", "three", "four-in-progress"]),
            (10, &["one", "tw", "o", "three", "four-in-progress"]),
        ];
        for (n, want) in cases {
            assert_eq!(r.seek_tail(n, true).unwrap(), n.min(4), "tail {n}");
            assert_eq!(contents(&read_all(&mut r)), want, "tail {n}");
        }
    }

    #[test]
    fn seek_tail_reads_across_chunks_of_a_big_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        let long = "x".repeat(CHUNK + 100);
        let mut text = String::new();
        for i in 0..5000 {
            text.push_str(&line(i % 60, "stdout", "F", &format!("line {i}")));
        }
        text.push_str(&line(0, "stdout", "F", &long));
        text.push_str(&line(0, "stdout", "F", "end"));
        std::fs::write(&path, &text).unwrap();
        let mut r = LogReader::open(&path).unwrap().unwrap();
        r.seek_tail(3, true).unwrap();
        let got = contents(&read_all(&mut r));
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], "line 4999");
        assert_eq!(got[1], long);
        assert_eq!(got[2], "end");
        r.seek_tail(4000, true).unwrap();
        let got = contents(&read_all(&mut r));
        assert_eq!(got.len(), 4000);
        assert_eq!(got[0], "line 1002");
        assert_eq!(r.seek_tail(usize::MAX, true).unwrap(), 5002);
        assert_eq!(read_all(&mut r).len(), 5002);
    }
}
