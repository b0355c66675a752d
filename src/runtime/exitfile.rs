//! The container's exit code file, `containers/ID/exitcode`: where the
//! process that waits for a container (the monitor, or the foreground
//! `run`) leaves its exit code before it records it in the database.
//!
//! A container that fills the disk leaves no room for that record
//! (issue #21 item 4). The file is made at its full, fixed size before
//! the container starts, and the exit code is written over its blanks in
//! place, which needs no new blocks on a full filesystem; whoever finds
//! the container's monitor gone reads the code from here (see
//! `container::observe`) and records it once there is space.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use super::clock;

/// The file's name in the container directory.
const FILE: &str = "exitcode";

/// The file's fixed size: a code, a space and a short reason, padded
/// with spaces, then a newline.
const SIZE: usize = 64;

/// An exit the file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The exit code (128+N for signal N).
    pub code: i32,
    /// Why it ended when not on its own (`OOMKilled`).
    pub reason: Option<String>,
    /// When the code was written, RFC 3339.
    pub finished_at: Option<String>,
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Blanks the exit code file of the container directory `dir`, making it
/// at its full size if need be, before the container starts: no code of
/// an earlier run may be read for this one. If it cannot be blanked it is
/// removed, so that it holds no stale code either.
pub fn clear(dir: &Path) -> io::Result<()> {
    let p = path(dir);
    // Not truncated: the blanks go over the blocks the file has.
    let blanked = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&p)
        .and_then(|f| {
            f.write_all_at(&encode(None), 0)?;
            f.set_len(SIZE as u64)
        });
    if blanked.is_err() {
        let _ = std::fs::remove_file(&p);
    }
    blanked
}

/// Writes `code` (and `reason`) over the blanks `clear` left, in place:
/// the file is neither created nor truncated, so this works on a full
/// disk.
pub fn write(dir: &Path, code: i32, reason: Option<&str>) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(path(dir))?;
    f.write_all_at(&encode(Some((code, reason))), 0)
}

/// The exit the file in the container directory `dir` holds, if any.
pub fn read(dir: &Path) -> Option<Exit> {
    let p = path(dir);
    let text = std::fs::read_to_string(&p).ok()?;
    let (code, reason) = decode(&text)?;
    let finished_at = std::fs::metadata(&p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| clock::format_rfc3339(d.as_secs(), None));
    Some(Exit {
        code,
        reason,
        finished_at,
    })
}

/// The file's bytes for `exit` (`None`: blank).
fn encode(exit: Option<(i32, Option<&str>)>) -> [u8; SIZE] {
    let mut buf = [b' '; SIZE];
    buf[SIZE - 1] = b'\n';
    if let Some((code, reason)) = exit {
        let mut text = code.to_string();
        if let Some(r) = reason.filter(|r| !r.is_empty()) {
            text.push(' ');
            text.push_str(r);
        }
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut n = text.len().min(SIZE - 1);
        while !text.is_char_boundary(n) {
            n -= 1;
        }
        buf[..n].copy_from_slice(&text.as_bytes()[..n]);
    }
    buf
}

/// The code and reason in the file's `text`; `None` when blank or not a
/// code.
fn decode(text: &str) -> Option<(i32, Option<String>)> {
    let text = text.trim();
    let (code, reason) = match text.split_once(' ') {
        Some((c, r)) => (c, Some(r.trim().to_string())),
        None => (text, None),
    };
    Some((code.parse().ok()?, reason.filter(|r| !r.is_empty())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_written_in_place_over_the_blanks() {
        let dir = tempfile::tempdir().unwrap();
        // Nothing to write over yet: no file is made.
        assert!(write(dir.path(), 3, None).is_err());
        assert_eq!(read(dir.path()), None);
        clear(dir.path()).unwrap();
        assert_eq!(read(dir.path()), None);
        assert_eq!(std::fs::metadata(path(dir.path())).unwrap().len(), 64);
        write(dir.path(), 137, Some("OOMKilled")).unwrap();
        let exit = read(dir.path()).unwrap();
        assert_eq!(exit.code, 137);
        assert_eq!(exit.reason.as_deref(), Some("OOMKilled"));
        assert!(exit.finished_at.is_some());
        // A shorter code leaves nothing of the longer one.
        write(dir.path(), 0, None).unwrap();
        assert_eq!(read(dir.path()).unwrap().code, 0);
        assert_eq!(read(dir.path()).unwrap().reason, None);
        assert_eq!(std::fs::metadata(path(dir.path())).unwrap().len(), 64);
        // The next start forgets it.
        clear(dir.path()).unwrap();
        assert_eq!(read(dir.path()), None);
    }

    #[test]
    fn long_or_odd_reasons_stay_within_the_file() {
        let long = "é".repeat(100);
        let buf = encode(Some((-1, Some(&long))));
        assert_eq!(buf.len(), SIZE);
        assert_eq!(buf[SIZE - 1], b'\n');
        let (code, reason) = decode(std::str::from_utf8(&buf).unwrap()).unwrap();
        assert_eq!(code, -1);
        assert!(reason.unwrap().starts_with('é'));
        let buf = encode(Some((1, Some("a\nb"))));
        assert_eq!(
            decode(std::str::from_utf8(&buf).unwrap()),
            Some((1, Some("a b".into())))
        );
        assert_eq!(decode("   \n"), None);
        assert_eq!(decode("x y"), None);
    }
}
