//! The processes of a running container, read from /proc for `hutch top`.
//!
//! A process belongs to the container when its `/proc/P/ns/pid` link names
//! the same pid namespace as the container's init. Pids are shown as the
//! container sees them (the last `NSpid:` field), users are resolved
//! against the container's own /etc/passwd, opened beneath the init's
//! `/proc/PID/root` with `RESOLVE_IN_ROOT`: that file is the container's
//! and may be hostile (a symlink out, a FIFO, a huge file).
//! A process that vanishes while the scan reads it is skipped.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::lifecycle;
use crate::runtime::procfs;
use crate::storage::{ContainerStatus, Store};
use crate::sys::fs::{openat2, Resolve};
use crate::userns::IdMap;

/// Clock ticks per second of /proc's time fields (`USER_HZ`). The kernel
/// reports them in USER_HZ, which is 100 on every architecture Linux
/// still supports (proc(5), `sysconf(_SC_CLK_TCK)`).
const TICKS_PER_SEC: u64 = 100;

/// Read at most this much of the container's /etc/passwd.
const PASSWD_LIMIT: u64 = 1 << 20;

/// What went wrong listing a container's processes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Finding the container, or it is not running.
    #[error(transparent)]
    Container(#[from] super::Error),
    /// Reading the pid namespace of the container's init.
    #[error("reading the pid namespace of process {pid}")]
    ReadNamespace {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
    /// Reading the system uptime.
    #[error("reading {path}")]
    ReadUptime {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Listing the proc root.
    #[error("listing processes in {path}")]
    ListProc {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::Diagnose for Error {
    /// The process exit code for this error.
    fn exit_code(&self) -> i32 {
        match self {
            Error::Container(e) => e.exit_code(),
            _ => crate::error::EXIT_TOOL,
        }
    }

    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Container(e) => e.hint(),
            _ => None,
        }
    }
}

/// One process of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// The user name in the container's /etc/passwd, else its uid there.
    pub user: String,
    /// Its pid inside the container.
    pub pid: i32,
    /// Its parent's pid inside the container; 0 when the parent is outside.
    pub ppid: i32,
    /// User plus system CPU time used.
    pub cpu: Duration,
    /// Time since it started.
    pub elapsed: Duration,
    /// Its controlling terminal (`pts/0`), `?` without one.
    pub tty: String,
    /// Its command line, or `[comm]` when it has none (a zombie).
    pub args: String,
    /// Its command name (at most 15 bytes, from the kernel).
    pub comm: String,
}

/// Lists the processes of the running container `name`, ordered by pid
/// inside the container.
pub fn list_processes(store: &Store, name: &str) -> Result<Vec<Process>, Error> {
    list(store, name, Path::new(super::PROC))
}

/// See `list_processes`; `proc` is the proc root.
fn list(store: &Store, name: &str, proc: &Path) -> Result<Vec<Process>, Error> {
    let not_running = || super::Error::NotRunning(name.to_string());
    let info = lifecycle::find(store, name, proc, None)?;
    if info.state.status != ContainerStatus::Running {
        return Err(not_running().into());
    }
    let (Some(pid), Some(start)) = (info.state.pid, info.state.pid_start) else {
        return Err(not_running().into());
    };
    // An --init container's pid 1 is non-dumpable: read its command's.
    let is_init = super::load_spec(&info).is_ok_and(|p| p.hardening.init);
    let (pid, start) = crate::runtime::hardening::entry_process(proc, pid, start, is_init)
        .ok_or_else(|| Error::from(not_running()))?;
    let ns = match std::fs::read_link(proc.join(pid.to_string()).join("ns/pid")) {
        Ok(ns) => ns,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_running().into()),
        Err(source) => return Err(Error::ReadNamespace { pid, source }),
    };
    // The pid could have been reused between the record and the readlink.
    if !procfs::is_alive(proc, pid, start) {
        return Err(not_running().into());
    }
    let uids = super::load_spec(&info).map(|p| p.maps.uids).ok();
    let passwd = read_container_passwd(proc, pid).unwrap_or_default();
    let uptime = read_uptime(proc)?;
    let entries = std::fs::read_dir(proc).map_err(|source| Error::ListProc {
        path: proc.to_path_buf(),
        source,
    })?;
    let mut raw = Vec::new();
    for entry in entries.flatten() {
        let Some(host_pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        if std::fs::read_link(dir.join("ns/pid")).ok().as_ref() != Some(&ns) {
            continue;
        }
        if let Some(p) = read_process(&dir, host_pid) {
            raw.push(p);
        }
    }
    let ns_pids: HashMap<i32, i32> = raw.iter().map(|p| (p.host_pid, p.ns_pid)).collect();
    let mut out: Vec<Process> = raw
        .into_iter()
        .map(|p| {
            let container_uid = uids
                .as_deref()
                .and_then(|m| container_id(m, p.uid))
                .unwrap_or(p.uid);
            Process {
                user: user_name(&passwd, container_uid),
                pid: p.ns_pid,
                ppid: ns_pids.get(&p.host_ppid).copied().unwrap_or(0),
                cpu: ticks(p.utime + p.stime),
                elapsed: uptime.saturating_sub(ticks(p.start)),
                tty: tty_name(p.tty_nr),
                args: if p.cmdline.is_empty() {
                    format!("[{}]", p.comm)
                } else {
                    p.cmdline
                },
                comm: p.comm,
            }
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// What one process's /proc files say, before mapping.
#[derive(Debug, Default, PartialEq, Eq)]
struct RawProcess {
    host_pid: i32,
    host_ppid: i32,
    ns_pid: i32,
    uid: u32,
    comm: String,
    tty_nr: u64,
    utime: u64,
    stime: u64,
    start: u64,
    cmdline: String,
}

/// Reads `/proc/P/{stat,status,cmdline}`; `None` when the process is gone
/// or its files do not parse.
fn read_process(dir: &Path, host_pid: i32) -> Option<RawProcess> {
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    let cmdline = std::fs::read(dir.join("cmdline")).ok()?;
    let mut p = parse_stat(&stat)?;
    let (ns_pid, uid) = parse_status(&status)?;
    p.host_pid = host_pid;
    p.ns_pid = ns_pid;
    p.uid = uid;
    p.cmdline = join_cmdline(&cmdline);
    Some(p)
}

/// The fields of a stat line that `top` shows. The command (field 2) is
/// in parentheses and may contain spaces and `)`, so the rest is split
/// after the last `)` (proc(5)).
fn parse_stat(stat: &str) -> Option<RawProcess> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_string();
    // After `)`: field 3 (state) is index 0, so field N is index N-3.
    let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let num = |field: usize| f.get(field - 3)?.parse::<u64>().ok();
    Some(RawProcess {
        host_ppid: f.get(1)?.parse().ok()?,
        comm,
        tty_nr: num(7)?,
        utime: num(14)?,
        stime: num(15)?,
        start: num(22)?,
        ..RawProcess::default()
    })
}

/// The pid in the innermost namespace (last `NSpid:` field) and the real
/// uid (first `Uid:` field) from a status file.
fn parse_status(status: &str) -> Option<(i32, u32)> {
    let mut ns_pid = None;
    let mut uid = None;
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("NSpid:") {
            ns_pid = rest.split_whitespace().last()?.parse().ok();
        } else if let Some(rest) = line.strip_prefix("Uid:") {
            uid = rest.split_whitespace().next()?.parse().ok();
        }
    }
    Some((ns_pid?, uid?))
}

/// A NUL-separated command line as one space-separated string.
fn join_cmdline(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    String::from_utf8_lossy(raw).replace('\0', " ")
}

fn ticks(n: u64) -> Duration {
    Duration::from_millis(n.saturating_mul(1000) / TICKS_PER_SEC)
}

/// The uid inside the container of host uid `host`, through `maps`.
fn container_id(maps: &[IdMap], host: u32) -> Option<u32> {
    maps.iter().find_map(|m| {
        let offset = host.checked_sub(m.host)?;
        (offset < m.size).then(|| m.container + offset)
    })
}

/// The name passwd(5) text gives `uid`, else the number.
fn user_name(passwd: &str, uid: u32) -> String {
    passwd
        .lines()
        .find_map(|line| {
            let mut f = line.split(':');
            let name = f.next().filter(|n| !n.is_empty())?;
            let id: u32 = f.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
        .unwrap_or_else(|| uid.to_string())
}

/// The terminal of a stat `tty_nr`: the device's major is bits 8-15 and
/// its minor bits 0-7 and 20-31 (proc(5)). Pseudo-terminals have majors
/// 136-143 (devices.txt); other terminals are shown by number.
fn tty_name(tty_nr: u64) -> String {
    if tty_nr == 0 {
        return "?".into();
    }
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        4 => format!("ttyS{}", minor - 64),
        _ => format!("{major}:{minor}"),
    }
}

/// The time since boot from `/proc/uptime`.
fn read_uptime(proc: &Path) -> Result<Duration, Error> {
    let path = proc.join("uptime");
    let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadUptime {
        path: path.clone(),
        source,
    })?;
    let secs: f64 = text
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| Error::ReadUptime {
            path,
            source: std::io::Error::from(std::io::ErrorKind::InvalidData),
        })?;
    Ok(Duration::from_secs_f64(secs))
}

/// The container's /etc/passwd, seen from its init `pid`: opened beneath
/// `/proc/PID/root` as if that were `/`, refusing magic links, without
/// blocking (a FIFO would hang `top`), only if it is a regular file, and
/// cut at `PASSWD_LIMIT`. `None` when any of that fails: users are then
/// shown by number.
fn read_container_passwd(proc: &Path, pid: i32) -> Option<String> {
    let root = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open(proc.join(pid.to_string()).join("root"))
        .ok()?;
    let fd = openat2(
        root.as_fd(),
        Path::new("etc/passwd"),
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        0,
        Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
    )
    .ok()?;
    let file = File::from(fd);
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut text = String::new();
    file.take(PASSWD_LIMIT).read_to_string(&mut text).ok()?;
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (sh -c )x) S 4200 4242 4242 34816 4242 4194560 120 0 0 0 \
                        250 50 0 0 20 0 1 0 987654 1234 56 18446744073709551615";

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let p = parse_stat(STAT).unwrap();
        assert_eq!(p.comm, "sh -c )x");
        assert_eq!(p.host_ppid, 4200);
        assert_eq!(p.tty_nr, 34816);
        assert_eq!((p.utime, p.stime, p.start), (250, 50, 987_654));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn status_gives_the_innermost_pid_and_real_uid() {
        let status = "Name:\tsleep\nPPid:\t9\nUid:\t100033\t100033\t100033\t100033\n\
                      NSpid:\t4242\t7\n";
        assert_eq!(parse_status(status), Some((7, 100_033)));
        assert_eq!(parse_status("Name:\tx\n"), None);
    }

    #[test]
    fn terminals_decode_major_and_minor() {
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name(136 << 8), "pts/0");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
        assert_eq!(tty_name((137 << 8) | 1), "pts/257");
        assert_eq!(tty_name((4 << 8) | 1), "tty1");
        assert_eq!(tty_name((4 << 8) | 65), "ttyS1");
        assert_eq!(tty_name(34816), "pts/0");
    }

    #[test]
    fn users_resolve_through_the_maps_and_passwd() {
        let maps = [
            IdMap {
                container: 0,
                host: 1001,
                size: 1,
            },
            IdMap {
                container: 1,
                host: 100_000,
                size: 65536,
            },
        ];
        assert_eq!(container_id(&maps, 1001), Some(0));
        assert_eq!(container_id(&maps, 100_032), Some(33));
        assert_eq!(container_id(&maps, 5), None);
        let passwd = "root:x:0:0:root:/root:/bin/sh\nbad line\n:x:5:5::/:/bin/sh\n\
                      www-data:x:33:33::/var/www:/bin/false\n";
        assert_eq!(user_name(passwd, 0), "root");
        assert_eq!(user_name(passwd, 33), "www-data");
        assert_eq!(user_name(passwd, 5), "5");
        assert_eq!(user_name("", 1000), "1000");
    }

    #[test]
    fn command_lines_join_with_spaces() {
        assert_eq!(join_cmdline(b"sleep\x001000\0"), "sleep 1000");
        assert_eq!(join_cmdline(b""), "");
    }

    #[test]
    fn processes_are_read_from_the_given_proc_root() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("4242");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("stat"), STAT).unwrap();
        std::fs::write(
            dir.join("status"),
            "Uid:\t1001\t1001\t1001\t1001\nNSpid:\t4242\t1\n",
        )
        .unwrap();
        std::fs::write(dir.join("cmdline"), b"sleep\x001000\0").unwrap();
        let p = read_process(&dir, 4242).unwrap();
        assert_eq!((p.host_pid, p.ns_pid, p.uid), (4242, 1, 1001));
        assert_eq!(p.cmdline, "sleep 1000");
        assert_eq!(read_process(&tmp.path().join("4243"), 4243), None);
        std::fs::write(tmp.path().join("uptime"), "12345.67 999.00\n").unwrap();
        assert_eq!(
            read_uptime(tmp.path()).unwrap(),
            Duration::from_secs_f64(12345.67)
        );
        assert_eq!(ticks(250), Duration::from_millis(2500));
    }
}
