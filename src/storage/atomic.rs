//! Replacing a small file atomically: records, state, caches and the
//! container's /etc files under the store root and the run directory are
//! all written here, so that a reader sees the old content or the new,
//! never part of either, and a crash leaves no half-written file.
//!
//! The new content goes to a fresh file beside the target (same directory,
//! so same filesystem), which is fsynced and renamed over the target;
//! rename(2) replaces the name atomically. The directory is fsynced last,
//! because the rename is durable only once the directory entry is.

use std::fs::{File, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Whether a replaced file must survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Records and state: fsync the file before the rename and the
    /// directory after it.
    Durable,
    /// Files every start writes anew from the plan (the container's
    /// /etc files): still replaced atomically, so a reader sees old or new
    /// content, but not fsynced; a crash can only cost content the next
    /// start rewrites, and the fsyncs would cost every `run` milliseconds.
    Rewritten,
}

/// Replaces `path` with `bytes`, its mode exactly `mode` (whatever the
/// umask), durably. On failure `path` is unchanged and no temporary file
/// is left.
pub fn write_file(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    replace(path, bytes, mode, Durability::Durable)
}

/// Replaces `path` with `bytes` as `write_file` does, as durably as
/// `durability` says.
pub fn replace(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> std::io::Result<()> {
    let dir = parent(path);
    let (tmp, file) = create_temp(dir, path, mode)?;
    if let Err(e) = fill_and_rename(file, &tmp, path, bytes, mode, durability) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    match durability {
        Durability::Durable => sync_dir(dir),
        Durability::Rewritten => Ok(()),
    }
}

/// Replaces `path` with `value` as compact JSON; see `write_file`.
pub fn write_json<T: serde::Serialize + ?Sized>(
    path: &Path,
    value: &T,
    mode: u32,
) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(value)?;
    write_file(path, &bytes, mode)
}

/// fsyncs directory `dir`, making the renames and creations in it durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

fn fill_and_rename(
    mut file: File,
    tmp: &Path,
    path: &Path,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> std::io::Result<()> {
    // open(2) applied the umask; the caller's mode is meant exactly.
    file.set_permissions(Permissions::from_mode(mode))?;
    file.write_all(bytes)?;
    if durability == Durability::Durable {
        file.sync_all()?;
    }
    drop(file);
    std::fs::rename(tmp, path)
}

/// The directory `path` is in (`.` for a bare file name).
fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Whether `name` is the temporary file of an atomic write whose writer
/// (the pid in its name, looked up under `proc`) is gone: what a writer
/// killed between creating and renaming it leaves.
pub fn is_stale_temp(name: &str, proc: &Path) -> bool {
    let Some(inner) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
        return false;
    };
    let Some((_, tail)) = inner.rsplit_once('.') else {
        return false;
    };
    let Some((pid, n)) = tail.split_once('-') else {
        return false;
    };
    let is_number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    is_number(pid) && is_number(n) && !proc.join(pid).exists()
}

/// Creates a new file in `dir` for replacing `target`, named after it:
/// hidden, with the pid and a per-process counter so that concurrent
/// writers (threads or processes) never share one.
fn create_temp(dir: &Path, target: &Path, mode: u32) -> std::io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(64).collect::<String>())
        .unwrap_or_default();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)
        {
            // A temp name left by a dead process that had our pid.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
            Ok(f) => return Ok((tmp, f)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temps_are_those_of_dead_writers() {
        let proc = tempfile::tempdir().unwrap();
        std::fs::create_dir(proc.path().join("41")).unwrap();
        assert!(is_stale_temp(".abc.40-0.tmp", proc.path()));
        assert!(is_stale_temp(".x.y.40-12.tmp", proc.path()));
        assert!(!is_stale_temp(".abc.41-0.tmp", proc.path()));
        for other in [
            "abc",
            ".abc.tmp",
            ".abc.x-1.tmp",
            "abc.40-0.tmp",
            ".abc.40-.tmp",
        ] {
            assert!(!is_stale_temp(other, proc.path()), "{other}");
        }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn write_file_replaces_the_target_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        write_file(&path, b"one", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        write_file(&path, b"two, longer", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two, longer");
        write_file(&path, b"", 0o644).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        assert_eq!(names(dir.path()), ["state.json"]);
    }

    #[test]
    fn a_rewritten_file_is_replaced_the_same_way_without_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        replace(&path, b"127.0.0.1 one\n", 0o644, Durability::Rewritten).unwrap();
        replace(&path, b"127.0.0.1 two\n", 0o640, Durability::Rewritten).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"127.0.0.1 two\n");
        assert_eq!(mode_of(&path), 0o640);
        assert_eq!(names(dir.path()), ["hosts"]);
        let target = dir.path().join("taken");
        std::fs::create_dir_all(target.join("inside")).unwrap();
        assert!(replace(&target, b"x", 0o644, Durability::Rewritten).is_err());
        assert_eq!(names(dir.path()), ["hosts", "taken"]);
    }

    #[test]
    fn write_file_failure_is_returned_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // rename(2) cannot put a file over a non-empty directory.
        let target = dir.path().join("taken");
        std::fs::create_dir_all(target.join("inside")).unwrap();
        assert!(write_file(&target, b"x", 0o644).is_err());
        assert!(target.join("inside").is_dir());
        assert_eq!(names(dir.path()), ["taken"]);
        // No directory to write into: nothing is created.
        let missing = dir.path().join("absent/file");
        let e = write_file(&missing, b"x", 0o644).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
        assert_eq!(names(dir.path()), ["taken"]);
    }

    #[test]
    fn write_file_sets_exactly_the_mode_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_file(&path, b"x", 0o600).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        write_file(&path, b"x", 0o644).unwrap();
        assert_eq!(mode_of(&path), 0o644);
        // Bits a typical umask (022) would clear are kept too.
        write_file(&path, b"x", 0o666).unwrap();
        assert_eq!(mode_of(&path), 0o666);
    }

    #[test]
    fn write_json_writes_compact_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.json");
        write_json(&path, &serde_json::json!({"a": [1, 2]}), 0o644).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), r#"{"a":[1,2]}"#);
    }

    #[test]
    fn a_reader_sees_the_old_or_the_new_content_never_a_mix() {
        const SIZE: usize = 256 * 1024;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big");
        write_file(&path, &vec![b'a'; SIZE], 0o644).unwrap();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = {
            let (path, done) = (path.clone(), done.clone());
            std::thread::spawn(move || {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    let got = std::fs::read(&path).unwrap();
                    assert_eq!(got.len(), SIZE, "a partial file was visible");
                    let first = got[0];
                    assert!(
                        got.iter().all(|b| *b == first),
                        "a mix of two writes was visible"
                    );
                    reads += 1;
                }
            })
        };
        for i in 0..40 {
            let byte = if i % 2 == 0 { b'b' } else { b'a' };
            write_file(&path, &vec![byte; SIZE], 0o644).unwrap();
        }
        done.store(true, Ordering::Relaxed);
        reader.join().unwrap();
        assert_eq!(names(dir.path()), ["big"]);
    }

    #[test]
    fn concurrent_writers_of_one_file_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shared");
        let writers: Vec<_> = (0..4u8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        write_file(&path, &[t; 100], 0o644).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let got = std::fs::read(&path).unwrap();
        assert_eq!(got.len(), 100);
        assert!(got.iter().all(|b| *b == got[0]));
        assert_eq!(names(dir.path()), ["shared"]);
    }
}
