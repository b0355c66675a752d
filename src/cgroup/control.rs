//! Working on a placed container's cgroup: freezing, live limit changes,
//! counters for `stats`, OOM kills.

use std::path::Path;
use std::time::{Duration, Instant};

use super::place::write_limits;
use super::{io_err, Error, Resources};

/// Freezes (`true`) or thaws the cgroup at `dir` and waits until the
/// kernel reports it done.
pub fn freeze(dir: &Path, frozen: bool) -> Result<(), Error> {
    let path = dir.join("cgroup.freeze");
    std::fs::write(&path, if frozen { "1" } else { "0" }).map_err(io_err("writing", &path))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while is_frozen(dir)? != frozen && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// Whether the kernel reports the cgroup at `dir` frozen.
pub fn is_frozen(dir: &Path) -> Result<bool, Error> {
    let path = dir.join("cgroup.events");
    let events = std::fs::read_to_string(&path).map_err(io_err("reading", &path))?;
    Ok(key_value(&events, "frozen") == Some(1))
}

/// Whether the kernel's OOM killer ended a container whose cgroup is
/// `dir` and whose init ended with `code`. The kernel counts `oom_kill`
/// only after its SIGKILL went out, so the victim can be reaped before the
/// count shows: after a death by SIGKILL, `oom` (the cgroup hit its limit)
/// also counts, and the counters get a few milliseconds to appear.
pub fn oom_killed(dir: &Path, code: i32) -> bool {
    let is_sigkill = code == 128 + libc::SIGKILL;
    let deadline = std::time::Instant::now() + Duration::from_millis(50);
    loop {
        let events = match std::fs::read_to_string(dir.join("memory.events")) {
            Ok(e) => e,
            Err(e) => {
                log::debug!("reading {}/memory.events: {e}", dir.display());
                return false;
            }
        };
        let count = |key| key_value(&events, key).unwrap_or(0);
        if count("oom_kill") > 0 || (is_sigkill && count("oom") > 0) {
            return true;
        }
        if !is_sigkill || std::time::Instant::now() > deadline {
            log::debug!(
                "{}/memory.events after exit {code}: {events:?}",
                dir.display()
            );
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Writes changed limits into a running container's cgroup.
pub fn update(dir: &Path, resources: &Resources) -> Result<(), Error> {
    write_limits(dir, resources)
}

/// One reading of a container's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// CPU time used, in microseconds.
    pub cpu_usec: u64,
    pub memory_bytes: u64,
    /// memory.max, None for "max".
    pub memory_limit: Option<u64>,
    pub pids: u64,
    pub io_read_bytes: u64,
    pub io_write_bytes: u64,
}

/// Reads the counters of the cgroup at `dir`; missing files count as 0.
pub fn read_stats(dir: &Path) -> Stats {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let number = |f: &str| read(f).trim().parse().ok();
    let (mut rbytes, mut wbytes) = (0, 0);
    for line in read("io.stat").lines() {
        for field in line.split_whitespace().skip(1) {
            match field.split_once('=') {
                Some(("rbytes", v)) => rbytes += v.parse::<u64>().unwrap_or(0),
                Some(("wbytes", v)) => wbytes += v.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    Stats {
        cpu_usec: key_value(&read("cpu.stat"), "usage_usec").unwrap_or(0),
        memory_bytes: number("memory.current").unwrap_or(0),
        memory_limit: number("memory.max"),
        pids: number("pids.current").unwrap_or(0),
        io_read_bytes: rbytes,
        io_write_bytes: wbytes,
    }
}

/// The number after `key` in a flat-keyed cgroup file.
fn key_value(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_come_from_the_interface_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("cpu.stat"), "usage_usec 1500\nuser_usec 1000\n").unwrap();
        std::fs::write(d.join("memory.current"), "4096\n").unwrap();
        std::fs::write(d.join("memory.max"), "max\n").unwrap();
        std::fs::write(d.join("pids.current"), "3\n").unwrap();
        std::fs::write(
            d.join("io.stat"),
            "8:0 rbytes=10 wbytes=20 rios=1\n8:16 rbytes=5\n",
        )
        .unwrap();
        std::fs::write(d.join("memory.events"), "low 0\noom 1\noom_kill 2\n").unwrap();
        let s = read_stats(d);
        assert_eq!(s.cpu_usec, 1500);
        assert_eq!(s.memory_bytes, 4096);
        assert_eq!(s.memory_limit, None);
        assert_eq!(s.pids, 3);
        assert_eq!((s.io_read_bytes, s.io_write_bytes), (15, 20));
        assert!(oom_killed(d, 0));
        std::fs::write(d.join("memory.events"), "oom 1\noom_kill 0\n").unwrap();
        assert!(oom_killed(d, 137));
        assert!(!oom_killed(d, 1));
        std::fs::write(d.join("cgroup.events"), "populated 1\nfrozen 1\n").unwrap();
        assert!(is_frozen(d).unwrap());
    }
}
