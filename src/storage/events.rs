//! The event log: `ROOT/events/events.log`, one JSON line per event, and
//! `events.log.1`, the file it was before the last rotation.
//!
//! The log lives in the store (not in the run directory, as Podman's file
//! backend does) so that it survives what the store survives: a reboot
//! clears the run directory.
//!
//! Writers from any number of hutch processes append without losing or
//! mixing lines: each line is one write(2) on a file opened with
//! `O_APPEND`, which the kernel applies whole at the end of the file
//! (write(2): the offset update and the write are one atomic step). Each
//! write is made under the shared `events` lock (`ROOT/locks/events.lock`);
//! rotation, a rename of the full file over `events.log.1`, takes it
//! exclusively, so no write lands in a file once it was rotated and a
//! reader that follows the log across a rotation finds every line either
//! in the file it has open or in the new one.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::{lock, Error};

/// The directory below the store root that holds the log.
const DIR: &str = "events";
/// The current file.
const LOG: &str = "events.log";
/// The file before the last rotation.
const ROTATED: &str = "events.log.1";
/// The lock appends share and rotation takes alone.
const LOCK: &str = "events";

/// The event log of the store at a root.
#[derive(Debug, Clone)]
pub struct EventLog {
    root: PathBuf,
}

impl EventLog {
    /// The log of the store at `root`; nothing is opened.
    pub fn new(root: &Path) -> EventLog {
        EventLog {
            root: root.to_path_buf(),
        }
    }

    /// The current file.
    pub fn path(&self) -> PathBuf {
        self.root.join(DIR).join(LOG)
    }

    /// The file kept from before the last rotation.
    pub fn rotated_path(&self) -> PathBuf {
        self.root.join(DIR).join(ROTATED)
    }

    /// Appends `line` (one JSON object, without its newline) in one write.
    /// When the file would reach `max_size` bytes (0: no limit), it is
    /// rotated first and the new file starts with `note()`, the line
    /// saying so.
    pub fn append(
        &self,
        line: &str,
        max_size: u64,
        note: &dyn Fn() -> String,
    ) -> Result<(), Error> {
        let entry = with_newline(line);
        let path = self.path();
        let shared = lock::lock_shared(&self.root, LOCK)?;
        let file = self.open_append()?;
        let size = file
            .metadata()
            .map_err(|source| write_error(&path, source))?
            .len();
        if !is_due(size, entry.len(), max_size) {
            return write_once(&file, &entry, &path);
        }
        drop(file);
        drop(shared);
        // Alone now; another writer may have rotated meanwhile.
        let _alone = lock::lock(&self.root, LOCK)?;
        let size = match std::fs::metadata(&path) {
            Ok(m) => m.len(),
            Err(e) if e.kind() == ErrorKind::NotFound => 0,
            Err(source) => return Err(write_error(&path, source)),
        };
        if is_due(size, entry.len(), max_size) {
            std::fs::rename(&path, self.rotated_path()).map_err(|source| Error::RotateEvents {
                path: path.clone(),
                source,
            })?;
            write_once(&self.open_append()?, &with_newline(&note()), &path)?;
        }
        write_once(&self.open_append()?, &entry, &path)
    }

    /// Opens the current file for appending, making it (and its
    /// directory, private) if need be.
    fn open_append(&self) -> Result<File, Error> {
        let path = self.path();
        let open = || {
            OpenOptions::new()
                .append(true)
                .create(true)
                .mode(super::private::FILE_MODE)
                .open(&path)
        };
        match open() {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let dir = self.root.join(DIR);
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(super::private::DIR_MODE)
                    .create(&dir)
                    .map_err(|source| Error::CreateDir { path: dir, source })?;
                open()
            }
            other => other,
        }
        .map_err(|source| write_error(&path, source))
    }
}

/// Whether a file of `size` bytes must be rotated before `len` more are
/// added, with the limit `max_size` (0: none). An empty file never is.
fn is_due(size: u64, len: usize, max_size: u64) -> bool {
    max_size > 0 && size > 0 && size + len as u64 >= max_size
}

fn with_newline(line: &str) -> Vec<u8> {
    let mut entry = Vec::with_capacity(line.len() + 1);
    entry.extend_from_slice(line.as_bytes());
    entry.push(b'\n');
    entry
}

fn write_error(path: &Path, source: std::io::Error) -> Error {
    Error::WriteEvent {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `entry` with one write(2): a short write (a full disk) is an
/// error rather than a second write another process's line could precede.
fn write_once(mut file: &File, entry: &[u8], path: &Path) -> Result<(), Error> {
    loop {
        match file.write(entry) {
            Ok(n) if n == entry.len() => return Ok(()),
            Ok(_) => return Err(write_error(path, ErrorKind::WriteZero.into())),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(write_error(path, e)),
        }
    }
}

/// One file being read: where the next read starts, and its identity.
struct Open {
    file: File,
    dev: u64,
    ino: u64,
}

impl Open {
    fn new(file: File) -> std::io::Result<Open> {
        let meta = file.metadata()?;
        Ok(Open {
            file,
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    fn is(&self, meta: &std::fs::Metadata) -> bool {
        meta.dev() == self.dev && meta.ino() == self.ino
    }
}

/// Reads the log's lines in the order they were written, the file before
/// the last rotation first, and follows it across rotations.
pub struct EventReader {
    log: EventLog,
    /// A file to read to its end before `current`.
    backlog: Option<Open>,
    /// The current file, once it exists.
    current: Option<Open>,
    /// The start of a line whose newline has not been read yet.
    pending: Vec<u8>,
}

impl EventReader {
    /// A reader of `log`: from its oldest line when `is_from_start`, else
    /// of the lines written from now on. Both files are opened under the
    /// shared lock, so no rotation falls between them.
    pub fn open(log: &EventLog, is_from_start: bool) -> Result<EventReader, Error> {
        let _shared = lock::lock_shared(&log.root, LOCK)?;
        let read_err = |path: PathBuf| move |source| Error::ReadEvents { path, source };
        let backlog = match is_from_start {
            true => open_existing(&log.rotated_path()).map_err(read_err(log.rotated_path()))?,
            false => None,
        };
        let mut current = open_existing(&log.path()).map_err(read_err(log.path()))?;
        if let (Some(c), false) = (current.as_mut(), is_from_start) {
            c.file
                .seek(SeekFrom::End(0))
                .map_err(read_err(log.path()))?;
        }
        Ok(EventReader {
            log: log.clone(),
            backlog,
            current,
            pending: Vec::new(),
        })
    }

    /// The complete lines written since the last call (and a last line
    /// without its newline at the end of a rotated file). Empty when
    /// there are none yet.
    pub fn read_lines(&mut self) -> Result<Vec<String>, Error> {
        let mut lines = Vec::new();
        if let Some(b) = self.backlog.take() {
            self.read_to_end(&b, &mut lines, true)?;
        }
        let path = self.log.path();
        let Some(cur) = self.current.take() else {
            self.current = open_existing(&path).map_err(|source| Error::ReadEvents {
                path: path.clone(),
                source,
            })?;
            if self.current.is_some() {
                return self.read_lines().map(|more| [lines, more].concat());
            }
            return Ok(lines);
        };
        self.read_to_end(&cur, &mut lines, false)?;
        match std::fs::metadata(&path) {
            Ok(meta) if cur.is(&meta) => {
                self.current = Some(cur);
                return Ok(lines);
            }
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(source) => return Err(Error::ReadEvents { path, source }),
        }
        // Rotated: what was written before the rename is there now.
        self.read_to_end(&cur, &mut lines, true)?;
        // Rotated twice since the last look: the file between is the
        // rotated one now, and none of it was read.
        let rotated = self.log.rotated_path();
        if let Ok(f) = File::open(&rotated) {
            let between = Open::new(f).map_err(|source| Error::ReadEvents {
                path: rotated.clone(),
                source,
            })?;
            match std::fs::metadata(&rotated) {
                Ok(meta) if !cur.is(&meta) => self.backlog = Some(between),
                _ => {}
            }
        }
        self.read_lines().map(|more| [lines, more].concat())
    }

    /// Reads `open` from where it was to its end, adding its complete
    /// lines to `lines`; `is_finished`: nothing more will be written to
    /// it, so a last line without a newline counts too.
    fn read_to_end(
        &mut self,
        open: &Open,
        lines: &mut Vec<String>,
        is_finished: bool,
    ) -> Result<(), Error> {
        let mut data = Vec::new();
        (&open.file)
            .read_to_end(&mut data)
            .map_err(|source| Error::ReadEvents {
                path: self.log.path(),
                source,
            })?;
        let mut rest = &data[..];
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.pending.extend_from_slice(&rest[..i]);
            lines.push(String::from_utf8_lossy(&self.pending).into_owned());
            self.pending.clear();
            rest = &rest[i + 1..];
        }
        self.pending.extend_from_slice(rest);
        if is_finished && !self.pending.is_empty() {
            lines.push(String::from_utf8_lossy(&self.pending).into_owned());
            self.pending.clear();
        }
        Ok(())
    }
}

/// Opens `path` for reading; `None` when it does not exist.
fn open_existing(path: &Path) -> std::io::Result<Option<Open>> {
    match File::open(path) {
        Ok(f) => Open::new(f).map(Some),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note() -> String {
        "{\"rotated\":true}".to_string()
    }

    #[test]
    fn appends_one_line_per_event_and_reads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path());
        let mut r = EventReader::open(&log, true).unwrap();
        assert!(r.read_lines().unwrap().is_empty());
        log.append("{\"a\":1}", 0, &note).unwrap();
        log.append("{\"a\":2}", 0, &note).unwrap();
        assert_eq!(r.read_lines().unwrap(), vec!["{\"a\":1}", "{\"a\":2}"]);
        assert!(r.read_lines().unwrap().is_empty());
        let mode = std::fs::metadata(log.path()).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn a_reader_from_now_skips_what_was_written_before() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path());
        log.append("old", 0, &note).unwrap();
        let mut r = EventReader::open(&log, false).unwrap();
        log.append("new", 0, &note).unwrap();
        assert_eq!(r.read_lines().unwrap(), vec!["new"]);
    }

    #[test]
    fn rotation_keeps_one_previous_file_and_readers_follow_it() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path());
        let mut follower = EventReader::open(&log, true).unwrap();
        let mut seen = Vec::new();
        for i in 0..40 {
            log.append(&format!("line {i:02}"), 64, &note).unwrap();
            if i % 3 == 0 {
                seen.extend(follower.read_lines().unwrap());
            }
        }
        seen.extend(follower.read_lines().unwrap());
        let events: Vec<&String> = seen.iter().filter(|l| l.starts_with("line")).collect();
        let want: Vec<String> = (0..40).map(|i| format!("line {i:02}")).collect();
        assert_eq!(events, want.iter().collect::<Vec<_>>());
        assert!(seen.iter().any(|l| l == &note()));
        // Only the last two files remain, each below the limit.
        assert!(std::fs::metadata(log.path()).unwrap().len() < 64);
        assert!(std::fs::metadata(log.rotated_path()).unwrap().len() < 64);
        let mut fresh = EventReader::open(&log, true).unwrap();
        let kept = fresh.read_lines().unwrap();
        assert_eq!(kept.last().unwrap(), "line 39");
        assert!(kept.len() <= 12, "{kept:?}");
    }

    #[test]
    fn a_follower_reads_a_file_rotated_twice_between_looks() {
        let dir = tempfile::tempdir().unwrap();
        let log = EventLog::new(dir.path());
        log.append("first", 0, &note).unwrap();
        let mut follower = EventReader::open(&log, true).unwrap();
        assert_eq!(follower.read_lines().unwrap(), vec!["first"]);
        // Two rotations before the next look: "second" was in the file
        // between, now the rotated one.
        log.append("second", 10, &note).unwrap();
        log.append("third", 10, &note).unwrap();
        let lines = follower.read_lines().unwrap();
        let events: Vec<&String> = lines.iter().filter(|l| *l != &note()).collect();
        assert_eq!(events, vec!["second", "third"]);
    }

    #[test]
    fn rotation_is_due_only_for_a_non_empty_file_reaching_the_limit() {
        assert!(!is_due(0, 100, 10));
        assert!(!is_due(5, 4, 10));
        assert!(is_due(5, 5, 10));
        assert!(!is_due(1 << 40, 5, 0));
    }
}
