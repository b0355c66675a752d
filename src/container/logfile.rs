//! The container log in Podman's k8s-file format: one record per line,
//! `TIMESTAMP STREAM TAG CONTENT`, where TAG is `F` for a full line (its
//! newline dropped) and `P` for a partial one (a chunk without newline).
//!
//! The splitting is pure (bytes in, records out) so it is tested without
//! a container; the monitor feeds it what it reads from the pipes and
//! hands the records to a `LogFile`, which appends them and rotates the
//! file at a record boundary once it would grow past `--log-opt max-size`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::logread::rotated_path;

/// The longest partial record: a line longer than this is cut into `P`
/// records of this size, so a container printing without newlines cannot
/// make the monitor buffer without bound.
pub const MAX_PARTIAL: usize = 16 * 1024;

/// Which of the container's outputs a record comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The container's stdout (and, with `-t`, the terminal).
    Stdout,
    /// The container's stderr.
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// The bytes of one stream not yet written as a record: the start of a
/// line whose newline has not come yet.
#[derive(Debug)]
pub struct Pending {
    stream: Stream,
    buf: Vec<u8>,
}

impl Pending {
    /// An empty buffer for `stream`.
    pub fn new(stream: Stream) -> Pending {
        Pending {
            stream,
            buf: Vec::new(),
        }
    }

    /// Appends `data` and writes into `out` a record for every complete
    /// line, and a partial record whenever `MAX_PARTIAL` bytes are pending.
    pub fn feed(&mut self, data: &[u8], timestamp: &str, out: &mut Vec<u8>) {
        self.buf.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = self.buf[start..].iter().position(|b| *b == b'\n') {
            let end = start + nl;
            // A line longer than the limit goes out as partial chunks first.
            while end - start > MAX_PARTIAL {
                let chunk = &self.buf[start..start + MAX_PARTIAL];
                write_record(out, timestamp, self.stream, 'P', chunk);
                start += MAX_PARTIAL;
            }
            write_record(out, timestamp, self.stream, 'F', &self.buf[start..end]);
            start = end + 1;
        }
        while self.buf.len() - start >= MAX_PARTIAL {
            let chunk = &self.buf[start..start + MAX_PARTIAL];
            write_record(out, timestamp, self.stream, 'P', chunk);
            start += MAX_PARTIAL;
        }
        self.buf.drain(..start);
    }

    /// At end of stream: writes what is left as a partial record.
    pub fn flush(&mut self, timestamp: &str, out: &mut Vec<u8>) {
        if !self.buf.is_empty() {
            write_record(out, timestamp, self.stream, 'P', &self.buf);
            self.buf.clear();
        }
    }
}

fn write_record(out: &mut Vec<u8>, timestamp: &str, stream: Stream, tag: char, content: &[u8]) {
    out.extend_from_slice(timestamp.as_bytes());
    out.push(b' ');
    out.extend_from_slice(stream.as_str().as_bytes());
    out.push(b' ');
    out.push(tag as u8);
    out.push(b' ');
    out.extend_from_slice(content);
    out.push(b'\n');
}

/// Where the monitor writes records: an open log file, or nowhere
/// (`--log-driver none`).
#[derive(Debug)]
pub struct LogFile {
    /// The log and its size, unless records are dropped.
    target: Option<Target>,
}

#[derive(Debug)]
struct Target {
    path: PathBuf,
    /// `None` after a rotation whose new file could not be created yet.
    file: Option<File>,
    size: u64,
    max_size: Option<u64>,
}

impl LogFile {
    /// Opens (creating) the log at `path` for appending; with `max_size`,
    /// it is rotated to `PATH.1` before it would grow past that.
    pub fn open(path: &Path, max_size: Option<u64>) -> std::io::Result<LogFile> {
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(LogFile {
            target: Some(Target {
                path: path.to_path_buf(),
                file: Some(file),
                size,
                max_size,
            }),
        })
    }

    /// A log that drops every record.
    pub fn discard() -> LogFile {
        LogFile { target: None }
    }

    /// Appends whole records (each ending in a newline), rotating between
    /// two records when the next would take the file past its maximum. A
    /// single record larger than the maximum gets a file of its own.
    pub fn write(&mut self, records: &[u8]) -> std::io::Result<()> {
        let Some(t) = self.target.as_mut() else {
            return Ok(());
        };
        let mut rest = records;
        while !rest.is_empty() {
            let take = match t.max_size {
                Some(max) => fitting_prefix(rest, max.saturating_sub(t.size)),
                None => rest.len(),
            };
            if take == 0 {
                if t.size > 0 {
                    t.rotate()?;
                    continue;
                }
                // Empty file, record too big: it goes in anyway.
                let one = rest
                    .iter()
                    .position(|b| *b == b'\n')
                    .map_or(rest.len(), |i| i + 1);
                t.append(&rest[..one])?;
                rest = &rest[one..];
                continue;
            }
            t.append(&rest[..take])?;
            rest = &rest[take..];
        }
        Ok(())
    }
}

impl Target {
    fn append(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.file.is_none() {
            self.file = Some(open_append(&self.path)?);
            self.size = 0;
        }
        if let Some(f) = self.file.as_mut() {
            f.write_all(data)?;
            self.size += data.len() as u64;
        }
        Ok(())
    }

    /// Renames the log to `PATH.1`, replacing an older one, and starts a
    /// new file. Readers notice by the inode at the path changing.
    fn rotate(&mut self) -> std::io::Result<()> {
        std::fs::rename(&self.path, rotated_path(&self.path))?;
        self.file = None;
        self.size = 0;
        self.file = Some(open_append(&self.path)?);
        Ok(())
    }
}

/// The foreground `run`'s log: what the relay copies from the container
/// is split into records and appended, as the monitor does for a
/// detached container.
pub struct ForegroundLog {
    log: LogFile,
    out: Pending,
    err: Pending,
    records: Vec<u8>,
}

impl ForegroundLog {
    /// Logs into `log`.
    pub fn new(log: LogFile) -> ForegroundLog {
        ForegroundLog {
            log,
            out: Pending::new(Stream::Stdout),
            err: Pending::new(Stream::Stderr),
            records: Vec::new(),
        }
    }

    fn write(&mut self) {
        // A full disk loses log lines, never the container's output.
        if !self.records.is_empty() {
            let _ = self.log.write(&self.records);
            self.records.clear();
        }
    }
}

impl crate::runtime::outputs::Sink for ForegroundLog {
    fn take(&mut self, is_stderr: bool, data: &[u8]) {
        let now = crate::runtime::clock::now_rfc3339_nanos();
        let pending = match is_stderr {
            true => &mut self.err,
            false => &mut self.out,
        };
        for part in data.chunks(MAX_PARTIAL) {
            pending.feed(part, &now, &mut self.records);
        }
        self.write();
    }

    fn finish(&mut self) {
        let now = crate::runtime::clock::now_rfc3339_nanos();
        self.out.flush(&now, &mut self.records);
        self.err.flush(&now, &mut self.records);
        self.write();
    }
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

/// How many bytes of whole records (each ending in a newline) at the
/// start of `records` fit in `room` bytes.
fn fitting_prefix(records: &[u8], room: u64) -> usize {
    let room = usize::try_from(room)
        .unwrap_or(usize::MAX)
        .min(records.len());
    records[..room]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: &str = "2026-11-27T19:00:00.123456789Z";

    fn feed_all(chunks: &[&[u8]], stream: Stream) -> String {
        let mut p = Pending::new(stream);
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, TS, &mut out);
        }
        p.flush(TS, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn full_lines_are_tagged_f_without_their_newline() {
        assert_eq!(
            feed_all(&[b"ready\nsecond line\n"], Stream::Stdout),
            format!("{TS} stdout F ready\n{TS} stdout F second line\n")
        );
    }

    #[test]
    fn lines_split_across_reads_are_joined() {
        assert_eq!(
            feed_all(&[b"rea", b"dy\n", b"\n"], Stream::Stderr),
            format!("{TS} stderr F ready\n{TS} stderr F \n")
        );
    }

    #[test]
    fn a_trailing_chunk_without_newline_is_partial_at_eof() {
        assert_eq!(
            feed_all(&[b"a\nno newline"], Stream::Stdout),
            format!("{TS} stdout F a\n{TS} stdout P no newline\n")
        );
    }

    #[test]
    fn long_output_is_cut_into_partial_records() {
        let long = vec![b'x'; MAX_PARTIAL * 2 + 5];
        let mut data = long.clone();
        data.push(b'\n');
        let text = feed_all(&[&data], Stream::Stdout);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with(&format!("{TS} stdout P xxx")));
        assert_eq!(lines[0].len(), TS.len() + 10 + MAX_PARTIAL);
        assert_eq!(lines[2], format!("{TS} stdout F xxxxx"));

        // Without a newline, a full chunk goes out as soon as it is complete.
        let mut p = Pending::new(Stream::Stdout);
        let mut out = Vec::new();
        p.feed(&long[..MAX_PARTIAL + 1], TS, &mut out);
        assert_eq!(out.len(), TS.len() + 11 + MAX_PARTIAL);
    }

    fn records(range: std::ops::Range<usize>) -> String {
        range
            .map(|i| format!("{TS} stdout F line {i:03}\n"))
            .collect()
    }

    #[test]
    fn fitting_prefix_stops_at_a_record_boundary() {
        assert_eq!(fitting_prefix(b"ab\ncd\nef\n", 7), 6);
        assert_eq!(fitting_prefix(b"ab\ncd\n", 100), 6);
        assert_eq!(fitting_prefix(b"abcdef\n", 3), 0);
    }

    #[test]
    fn the_log_rotates_at_record_boundaries_and_keeps_one_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        let one = records(0..1).len() as u64;
        let mut log = LogFile::open(&path, Some(one * 3)).unwrap();
        // Batches of uneven size, as reads from the pipes come.
        log.write(records(0..2).as_bytes()).unwrap();
        log.write(records(2..7).as_bytes()).unwrap();
        log.write(records(7..11).as_bytes()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["ctr.log", "ctr.log.1"]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), records(9..11));
        assert_eq!(
            std::fs::read_to_string(rotated_path(&path)).unwrap(),
            records(6..9)
        );
    }

    #[test]
    fn a_record_bigger_than_the_maximum_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        let mut log = LogFile::open(&path, Some(10)).unwrap();
        log.write(b"a long record\nshort\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "short\n");
        assert_eq!(
            std::fs::read_to_string(rotated_path(&path)).unwrap(),
            "a long record\n"
        );
    }

    #[test]
    fn without_a_maximum_or_with_discard_nothing_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        let mut log = LogFile::open(&path, None).unwrap();
        log.write(records(0..50).as_bytes()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), records(0..50));
        assert!(!rotated_path(&path).exists());
        LogFile::discard().write(b"x\n").unwrap();
    }
}
