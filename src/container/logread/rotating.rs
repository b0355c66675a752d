//! Reading a log the monitor may rotate: `ctr.log.1` (the older part)
//! first, then `ctr.log`, and while following, noticing when `ctr.log` was
//! renamed away (its inode changed) or cut short, so that no line is lost
//! or printed twice.

use std::collections::VecDeque;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{rotated_path, Error, LogReader, Record};

/// How often `open` retries when a rotation races with it.
const OPEN_ATTEMPTS: usize = 5;

/// A log file with its one rotated predecessor, read as one stream.
pub struct RotatingLog {
    path: PathBuf,
    /// Files still to finish before `current`, oldest first.
    older: VecDeque<LogReader>,
    /// The file at `path` when last looked at; `None` before it exists.
    current: Option<LogReader>,
}

/// The device and inode at `path`, or `None` when nothing is there.
fn identity(path: &Path) -> Result<Option<(u64, u64)>, Error> {
    match std::fs::metadata(path) {
        Ok(m) => Ok(Some((m.dev(), m.ino()))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::OpenLog {
            path: path.to_path_buf(),
            source,
        }),
    }
}

impl RotatingLog {
    /// Opens the log at `path` and its rotated file, positioned at the
    /// start of the older one; `None` when neither exists.
    pub fn open(path: &Path) -> Result<Option<RotatingLog>, Error> {
        let rotated = rotated_path(path);
        for _ in 0..OPEN_ATTEMPTS {
            // Current first: a rotation between the two opens then shows as
            // both readers holding the same file, and is retried.
            let current = LogReader::open(path)?;
            let older = LogReader::open(&rotated)?;
            if let (Some(c), Some(o)) = (&current, &older) {
                if c.identity == o.identity {
                    continue;
                }
            }
            if current.is_none() && older.is_none() {
                return Ok(None);
            }
            return Ok(Some(RotatingLog {
                path: path.to_path_buf(),
                older: older.into_iter().collect(),
                current,
            }));
        }
        // Rotating faster than we can open: read what is current now.
        Ok(LogReader::open(path)?.map(|current| RotatingLog {
            path: path.to_path_buf(),
            older: VecDeque::new(),
            current: Some(current),
        }))
    }

    /// Positions the log at the start of its last `lines` lines, taking
    /// them from the rotated file when the current one has fewer.
    pub fn seek_tail(&mut self, lines: usize) -> Result<(), Error> {
        let mut wanted = lines;
        // Whether everything newer than the next older file is taken: only
        // then do that file's lines (or a line it began) belong in the tail.
        let mut is_whole = lines > 0;
        if let Some(c) = self.current.as_mut() {
            wanted -= c.seek_tail(lines, true)?;
            is_whole &= c.offset == 0;
        }
        let mut is_end_open = self.current.is_none();
        let mut keep = VecDeque::new();
        while let Some(mut o) = self.older.pop_back() {
            if !is_whole {
                break;
            }
            wanted -= o.seek_tail(wanted, is_end_open)?;
            is_whole = o.offset == 0;
            is_end_open = false;
            keep.push_front(o);
        }
        self.older = keep;
        Ok(())
    }

    /// Reads up to one chunk and returns its complete records, and whether
    /// the end of the current file was reached; older files come first.
    pub fn read_chunk(&mut self) -> Result<(Vec<Record>, bool), Error> {
        if let Some(o) = self.older.front_mut() {
            let (mut records, is_at_end) = o.read_chunk()?;
            if is_at_end {
                // The monitor rotates at record boundaries: an unfinished
                // line here would be a writer that died mid-record.
                records.extend(o.finish());
                self.older.pop_front();
            }
            return Ok((records, false));
        }
        match self.current.as_mut() {
            Some(c) => c.read_chunk(),
            None => Ok((Vec::new(), true)),
        }
    }

    /// After reading to the end: checks whether the log was rotated (the
    /// file at the path changed) or cut short since, and arranges to read
    /// what the old file still held, then the new one. Returns whether
    /// there may be more to read.
    pub fn follow_rotation(&mut self) -> Result<bool, Error> {
        let Some(now) = identity(&self.path)? else {
            // Between the rename and the new file's creation.
            return Ok(false);
        };
        let Some(current) = self.current.take() else {
            self.current = LogReader::open(&self.path)?;
            return Ok(self.current.is_some());
        };
        if now == current.identity {
            let len = current
                .file
                .metadata()
                .map_err(|e| current.read_err(e))?
                .len();
            let mut current = current;
            let is_cut = len < current.offset;
            if is_cut {
                // Truncated in place: start over.
                current.offset = 0;
                current.pending.clear();
            }
            self.current = Some(current);
            return Ok(is_cut);
        }
        // Renamed away: finish the old file from where we were. If it is
        // not the rotated file any more, that one was written entirely
        // since we last looked (two rotations): read it whole.
        let rotated = rotated_path(&self.path);
        let old_identity = current.identity;
        self.older.push_back(current);
        self.current = LogReader::open(&self.path)?;
        let new_identity = self.current.as_ref().map(|c| c.identity);
        if let Some(missed) = identity(&rotated)? {
            if missed != old_identity && Some(missed) != new_identity {
                self.older.extend(LogReader::open(&rotated)?);
            }
        }
        Ok(true)
    }

    /// The record on an unfinished last line, once nothing more will be
    /// appended.
    pub fn finish(&mut self) -> Option<Record> {
        self.current.as_mut().and_then(LogReader::finish)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: usize) -> String {
        format!("2026-11-27T19:00:00.000000001Z stdout F line {i}\n")
    }

    fn lines(r: std::ops::Range<usize>) -> String {
        r.map(line).collect()
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    }

    /// Reads to the end, following rotations, like `logs` does.
    fn drain(r: &mut RotatingLog) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            loop {
                let (recs, at_end) = r.read_chunk().unwrap();
                out.extend(
                    recs.iter()
                        .map(|r| String::from_utf8_lossy(&r.content).into_owned()),
                );
                if at_end {
                    break;
                }
            }
            if !r.follow_rotation().unwrap() {
                return out;
            }
        }
    }

    fn numbered(r: std::ops::Range<usize>) -> Vec<String> {
        r.map(|i| format!("line {i}")).collect()
    }

    fn rotate(path: &Path) {
        std::fs::rename(path, rotated_path(path)).unwrap();
    }

    #[test]
    fn the_rotated_file_is_read_before_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        assert!(RotatingLog::open(&path).unwrap().is_none());
        append(&rotated_path(&path), &lines(0..3));
        append(&path, &lines(3..5));
        let mut r = RotatingLog::open(&path).unwrap().unwrap();
        assert_eq!(drain(&mut r), numbered(0..5));
    }

    #[test]
    fn tail_takes_lines_from_the_rotated_file_when_the_current_is_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        append(&rotated_path(&path), &lines(0..10));
        append(&path, &lines(10..13));
        for (n, want) in [
            (0, 13..13),
            (2, 11..13),
            (3, 10..13),
            (5, 8..13),
            (99, 0..13),
        ] {
            let mut r = RotatingLog::open(&path).unwrap().unwrap();
            r.seek_tail(n).unwrap();
            assert_eq!(drain(&mut r), numbered(want), "tail {n}");
        }
        // Only a rotated file (the new one not created yet).
        std::fs::remove_file(&path).unwrap();
        let mut r = RotatingLog::open(&path).unwrap().unwrap();
        r.seek_tail(2).unwrap();
        assert_eq!(drain(&mut r), numbered(8..10));
    }

    #[test]
    fn a_line_split_across_the_rotation_counts_once_for_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        append(
            &rotated_path(&path),
            &format!("{}2026-11-27T19:00:00Z stdout P hel\n", line(0)),
        );
        append(
            &path,
            &format!("2026-11-27T19:00:00Z stdout F lo\n{}", line(1)),
        );
        let mut r = RotatingLog::open(&path).unwrap().unwrap();
        r.seek_tail(2).unwrap();
        assert_eq!(drain(&mut r), ["hel", "lo", "line 1"]);
    }

    #[test]
    fn following_survives_rotations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        append(&path, &lines(0..2));
        let mut r = RotatingLog::open(&path).unwrap().unwrap();
        assert_eq!(drain(&mut r), numbered(0..2));
        // More lines land in the old file, then it is rotated away.
        append(&path, &lines(2..4));
        rotate(&path);
        assert_eq!(drain(&mut r), numbered(2..4));
        append(&path, &lines(4..6));
        assert_eq!(drain(&mut r), numbered(4..6));
        // Two rotations between looks: the middle file is read whole.
        append(&path, &lines(6..7));
        rotate(&path);
        append(&path, &lines(7..9));
        rotate(&path);
        append(&path, &lines(9..10));
        assert_eq!(drain(&mut r), numbered(6..10));
        assert_eq!(drain(&mut r), Vec::<String>::new());
    }

    #[test]
    fn following_starts_over_when_the_file_is_cut_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ctr.log");
        append(&path, &lines(0..3));
        let mut r = RotatingLog::open(&path).unwrap().unwrap();
        assert_eq!(drain(&mut r), numbered(0..3));
        std::fs::write(&path, lines(3..4)).unwrap();
        assert_eq!(drain(&mut r), numbered(3..4));
    }
}
