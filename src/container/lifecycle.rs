//! Acting on recorded containers: observing their real state, starting,
//! signalling, stopping, waiting for and removing them.
//!
//! Everything works from the record plus /proc: the (pid, starttime) pairs
//! of the container's init and its monitor say whether they still run.
//! `stop`, `kill` and `rm -f` mark the container stopped by the user
//! before they signal it, so its monitor does not apply a restart policy.

use std::os::fd::AsFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{load_spec, Error};
use crate::runtime::{clock, procfs};
use crate::storage::{ContainerInfo, ContainerState, ContainerStatus, Store};
use crate::userns::IdMaps;

/// How often a waiter re-reads the record.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// The exit code recorded when the monitor vanished without recording one.
const EXIT_MONITOR_DIED: i32 = 255;

/// The reason recorded then.
const REASON_MONITOR_DIED: &str = "monitor died";

/// The directory below the run directory where a monitor leaves the exit
/// code of a `--rm` container before removing it, for `wait`.
const EXITS_DIR: &str = "exits";

/// What `wait --condition` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// The container is created and not started.
    Created,
    /// The container runs.
    Running,
    /// The container has exited and its monitor will not restart it
    /// (`stopped` and `exited` alike).
    Stopped,
}

impl FromStr for WaitCondition {
    type Err = ();

    fn from_str(s: &str) -> Result<WaitCondition, ()> {
        match s {
            "created" => Ok(WaitCondition::Created),
            "running" => Ok(WaitCondition::Running),
            "stopped" | "exited" => Ok(WaitCondition::Stopped),
            _ => Err(()),
        }
    }
}

/// Where exit codes of removed containers are left under `runroot`.
pub fn exits_dir(runroot: &Path) -> PathBuf {
    runroot.join(EXITS_DIR)
}

/// How long the exit code of a removed container stays for `wait` (as
/// long as Podman keeps its exit codes).
const EXIT_CODE_KEEP: Duration = Duration::from_secs(300);

/// Removes container `id`'s exit code from `exits`, if there is one.
pub fn remove_exit_code(exits: &Path, id: &str) {
    let _ = std::fs::remove_file(exits.join(id));
}

/// Removes the exit codes in `exits` older than `EXIT_CODE_KEEP` whose
/// containers `store` no longer knows. Best effort: a file left now is
/// swept next time.
pub fn sweep_exit_codes(store: &Store, exits: &Path) {
    let Ok(entries) = std::fs::read_dir(exits) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > EXIT_CODE_KEEP);
        if is_old && matches!(store.find_container(&name), Ok(None)) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Leaves `code` as container `id`'s exit code in `exits` (atomically, so
/// a reader never sees half a number).
pub fn write_exit_code(exits: &Path, id: &str, code: i32) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(exits)?;
    crate::storage::atomic::write_file(&exits.join(id), format!("{code}\n").as_bytes(), 0o644)
}

/// The exit code a monitor left for container `id` in `exits`, if any.
pub fn read_exit_code(exits: &Path, id: &str) -> Option<i32> {
    std::fs::read_to_string(exits.join(id))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// See `container::observe`; `proc` is the proc root.
pub fn observe(
    store: &Store,
    info: ContainerInfo,
    proc: &Path,
) -> Result<ContainerInfo, crate::storage::Error> {
    if info.state.status != ContainerStatus::Running || is_monitor_alive(&info.state, proc) {
        return Ok(info);
    }
    // The monitor may have recorded the exit just before it went: re-read
    // so that its exit code wins over ours.
    let Some(mut info) = store.find_container(&info.record.id)? else {
        return Ok(info);
    };
    if info.state.status != ContainerStatus::Running || is_monitor_alive(&info.state, proc) {
        return Ok(info);
    }
    info.state = ContainerState {
        status: ContainerStatus::Exited,
        finished_at: Some(clock::now_rfc3339()),
        exit_code: Some(info.state.exit_code.unwrap_or(EXIT_MONITOR_DIED)),
        exit_reason: Some(
            info.state
                .exit_reason
                .clone()
                .unwrap_or_else(|| REASON_MONITOR_DIED.to_string()),
        ),
        ..info.state
    };
    match store.set_container_state(&info.record.id, &info.state) {
        Ok(()) | Err(crate::storage::Error::ContainerNotKnown { .. }) => Ok(info),
        Err(e) => Err(e),
    }
}

fn is_monitor_alive(state: &ContainerState, proc: &Path) -> bool {
    match (state.monitor_pid, state.monitor_start) {
        (Some(pid), Some(start)) => procfs::is_alive(proc, pid, start),
        // Without a start time the pid alone must do.
        (Some(pid), None) => procfs::start_time(proc, pid).is_some(),
        _ => false,
    }
}

/// Finds container `name` (name, id or id prefix) and observes it.
pub fn find(store: &Store, name: &str, proc: &Path) -> Result<ContainerInfo, Error> {
    let info = store
        .find_container(name)
        .map_err(Error::Store)?
        .ok_or_else(|| Error::NoSuchContainer(name.to_string()))?;
    observe(store, info, proc).map_err(Error::Store)
}

/// Parses a signal as `kill -s` takes it: `TERM`, `SIGTERM`, `term` or `15`.
pub fn parse_signal(s: &str) -> Result<Signal, Error> {
    let invalid = || Error::InvalidSignal(s.to_string());
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| invalid());
    }
    let upper = s.to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    Signal::from_str(&name).map_err(|_| invalid())
}

/// Sends `sig` to the init of the running container `info` (named `name`
/// for errors).
///
/// The pid is checked against its recorded start time first, so a pid the
/// kernel gave to another process after the container ended is not hit.
/// The user owns the container's user namespace and so holds CAP_KILL in
/// it (user_namespaces(7)): even a process running as a subordinate uid
/// can be signalled directly.
fn send_signal(info: &ContainerInfo, name: &str, sig: Signal, proc: &Path) -> Result<(), Error> {
    let not_running = || Error::NotRunning(name.to_string());
    if info.state.status != ContainerStatus::Running {
        return Err(not_running());
    }
    let (Some(pid), Some(start)) = (info.state.pid, info.state.pid_start) else {
        return Err(not_running());
    };
    // The pidfd pins the process; checking the start time after opening it
    // proves it is the container's, so a reused pid is never signalled.
    let pidfd = match crate::sys::process::pidfd_open(Pid::from_raw(pid)) {
        Ok(fd) => fd,
        Err(_) => return Err(not_running()),
    };
    if !procfs::is_alive(proc, pid, start) {
        return Err(not_running());
    }
    match crate::sys::process::pidfd_send_signal(pidfd.as_fd(), sig) {
        Ok(()) => Ok(()),
        Err(Errno::ESRCH) => Err(not_running()),
        Err(source) => Err(Error::SendSignal {
            name: name.to_string(),
            signal: sig,
            source,
        }),
    }
}

/// Marks container `info` as ended by the user, so its monitor does not
/// restart it; before any signal, since the monitor decides on exit.
fn mark_stopped_by_user(store: &Store, info: &ContainerInfo, name: &str) -> Result<(), Error> {
    match store.set_stopped_by_user(&info.record.id, true) {
        Ok(()) => Ok(()),
        Err(crate::storage::Error::ContainerNotKnown { .. }) => {
            Err(Error::NoSuchContainer(name.to_string()))
        }
        Err(e) => Err(Error::Store(e)),
    }
}

/// Sends `sig` to container `name`, which must be running.
pub fn kill(store: &Store, name: &str, sig: Signal, proc: &Path) -> Result<(), Error> {
    let info = find(store, name, proc)?;
    if info.state.status == ContainerStatus::Running {
        mark_stopped_by_user(store, &info, name)?;
    }
    send_signal(&info, name, sig, proc)
}

/// How a wait for a container's exit ended.
pub enum Waited {
    /// It exited; the record says how.
    Exited,
    /// Its record is gone (`--rm`, or removed by someone else).
    Removed,
    /// The deadline passed first.
    TimedOut,
}

/// Waits until container `id` (a full id) has exited, re-reading the
/// record every `POLL_INTERVAL`, until `deadline` if given.
pub fn wait_exit(
    store: &Store,
    id: &str,
    deadline: Option<Instant>,
    proc: &Path,
) -> Result<Waited, Error> {
    loop {
        let Some(info) = store.find_container(id).map_err(Error::Store)? else {
            return Ok(Waited::Removed);
        };
        let info = observe(store, info, proc).map_err(Error::Store)?;
        if info.state.status == ContainerStatus::Exited {
            return Ok(Waited::Exited);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Waited::TimedOut);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Stops container `name`: its stop signal (the image's StopSignal, else
/// SIGTERM), then SIGKILL after `timeout`; returns once it has exited.
pub fn stop(store: &Store, name: &str, timeout: Duration, proc: &Path) -> Result<(), Error> {
    let info = find(store, name, proc)?;
    // Marked even when it is not running: a monitor pausing before a
    // restart must not start it again.
    mark_stopped_by_user(store, &info, name)?;
    if info.state.status != ContainerStatus::Running {
        return Ok(());
    }
    let sig = match load_spec(&info).ok().and_then(|p| p.stop_signal) {
        Some(s) => parse_signal(&s)?,
        None => Signal::SIGTERM,
    };
    let id = info.record.id.clone();
    if !timeout.is_zero() {
        match send_signal(&info, name, sig, proc) {
            Ok(()) | Err(Error::NotRunning(_)) => {}
            Err(e) => return Err(e),
        }
        match wait_exit(store, &id, Some(Instant::now() + timeout), proc)? {
            Waited::Exited | Waited::Removed => return Ok(()),
            Waited::TimedOut => {}
        }
    }
    match send_signal(&info, name, Signal::SIGKILL, proc) {
        Ok(()) | Err(Error::NotRunning(_)) => {}
        Err(e) => return Err(e),
    }
    wait_exit(store, &id, None, proc)?;
    Ok(())
}

/// Waits for container `name` to meet any of `conditions`; returns its
/// exit code when it stopped. A `--rm` container that removed itself while
/// waited for gives the exit code its monitor left in `exits`.
pub fn wait_for(
    store: &Store,
    name: &str,
    conditions: &[WaitCondition],
    exits: &Path,
    proc: &Path,
) -> Result<Option<i32>, Error> {
    let id = find(store, name, proc)?.record.id;
    wait_for_id(store, &id, name, conditions, exits, proc)
}

/// `wait_for` on container `id` (called `name`), which the caller has seen:
/// if its record is gone, the exit code its monitor left counts.
pub fn wait_for_id(
    store: &Store,
    id: &str,
    name: &str,
    conditions: &[WaitCondition],
    exits: &Path,
    proc: &Path,
) -> Result<Option<i32>, Error> {
    let wants = |c| conditions.contains(&c);
    loop {
        let Some(info) = store.find_container(id).map_err(Error::Store)? else {
            return match read_exit_code(exits, id) {
                Some(code) if wants(WaitCondition::Stopped) => Ok(Some(code)),
                _ => Err(Error::NoSuchContainer(name.to_string())),
            };
        };
        let info = observe(store, info, proc).map_err(Error::Store)?;
        let state = &info.state;
        match state.status {
            ContainerStatus::Created if wants(WaitCondition::Created) => return Ok(None),
            ContainerStatus::Running if wants(WaitCondition::Running) => return Ok(None),
            // A live monitor may still restart it or remove it.
            ContainerStatus::Exited
                if wants(WaitCondition::Stopped) && !is_monitor_alive(state, proc) =>
            {
                return Ok(Some(state.exit_code.unwrap_or(0)));
            }
            _ => {}
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Starts the created or exited container `name` through a new monitor
/// (`root` and `runroot` are passed on to it); a running one is left
/// alone. Returns the container's full id.
pub fn start(
    store: &Store,
    name: &str,
    root: &Path,
    runroot: &Path,
    proc: &Path,
) -> Result<String, Error> {
    let _lock = store.lock_container_start().map_err(Error::Store)?;
    let mut info = find(store, name, proc)?;
    // The monitor of an exited container may still be pausing before a
    // restart, or removing it: let it finish, then look again.
    while info.state.status == ContainerStatus::Exited && is_monitor_alive(&info.state, proc) {
        std::thread::sleep(POLL_INTERVAL);
        info = find(store, name, proc)?;
    }
    let id = info.record.id.clone();
    if info.state.status == ContainerStatus::Running {
        return Ok(id);
    }
    if info.spec.is_none() {
        return Err(Error::SpecMissing(id));
    }
    match store.set_stopped_by_user(&id, false) {
        Ok(()) => {}
        Err(crate::storage::Error::ContainerNotKnown { .. }) => {
            return Err(Error::NoSuchContainer(name.to_string()))
        }
        Err(e) => return Err(Error::Store(e)),
    }
    super::monitor::spawn(root, runroot, &id)?;
    Ok(id)
}

/// Removes container `name`; a running one only with `force` (it is
/// killed and waited for first). `maps` removes files of containers
/// without a spec. The caller must be single-threaded.
pub fn remove(
    store: &Store,
    name: &str,
    is_forced: bool,
    maps: &IdMaps,
    proc: &Path,
) -> Result<(), Error> {
    let info = find(store, name, proc)?;
    if info.state.status == ContainerStatus::Running {
        if !is_forced {
            return Err(Error::IsRunning(name.to_string()));
        }
        mark_stopped_by_user(store, &info, name)?;
        match send_signal(&info, name, Signal::SIGKILL, proc) {
            Ok(()) | Err(Error::NotRunning(_)) => {}
            Err(e) => return Err(e),
        }
        if let Waited::Removed = wait_exit(store, &info.record.id, None, proc)? {
            // Gone while we waited: its own `--rm` was quicker (this removal
            // did its job), or another `rm` won the race (this one did not).
            let is_auto_remove = load_spec(&info).is_ok_and(|p| p.auto_remove);
            return if is_auto_remove {
                Ok(())
            } else {
                Err(Error::NoSuchContainer(name.to_string()))
            };
        }
    }
    crate::runtime::network::stop_stale_helper(&store.container_dirs(&info.record.id).dir, proc);
    let plan_maps = load_spec(&info).ok().map(|p| p.maps);
    match store.remove_container(&info.record.id, plan_maps.as_ref().unwrap_or(maps)) {
        Ok(()) => Ok(()),
        Err(crate::storage::Error::ContainerNotKnown { .. }) => {
            Err(Error::NoSuchContainer(name.to_string()))
        }
        Err(e) => Err(Error::Store(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Diagnose;
    use crate::storage::{ContainerRecord, Digest};

    #[test]
    fn signals_parse_by_name_with_or_without_sig_or_by_number() {
        assert_eq!(parse_signal("TERM").unwrap(), Signal::SIGTERM);
        assert_eq!(parse_signal("SIGKILL").unwrap(), Signal::SIGKILL);
        assert_eq!(parse_signal("hup").unwrap(), Signal::SIGHUP);
        assert_eq!(parse_signal("sigusr1").unwrap(), Signal::SIGUSR1);
        assert_eq!(parse_signal("9").unwrap(), Signal::SIGKILL);
        assert!(matches!(parse_signal("NOPE"), Err(Error::InvalidSignal(_))));
        assert!(matches!(parse_signal("0"), Err(Error::InvalidSignal(_))));
        assert!(matches!(parse_signal("99"), Err(Error::InvalidSignal(_))));
        assert_eq!(
            parse_signal("BOGUS").unwrap_err().to_string(),
            "invalid signal \"BOGUS\""
        );
    }

    #[test]
    fn exit_codes_round_trip_through_the_exits_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let exits = exits_dir(tmp.path());
        assert_eq!(read_exit_code(&exits, "c1"), None);
        write_exit_code(&exits, "c1", 137).unwrap();
        write_exit_code(&exits, "c1", 3).unwrap();
        assert_eq!(read_exit_code(&exits, "c1"), Some(3));
        let names: Vec<_> = std::fs::read_dir(&exits).unwrap().collect();
        assert_eq!(names.len(), 1, "a temp file was left: {names:?}");
    }

    fn info_with_spec(spec: Option<String>) -> ContainerInfo {
        ContainerInfo {
            record: ContainerRecord {
                id: "cd".repeat(32),
                name: "web".into(),
                image_id: Digest::of(b"config"),
                image_name: "busybox".into(),
                created: "2026-11-27T18:59:50Z".into(),
            },
            state: ContainerState::default(),
            spec,
        }
    }

    #[test]
    fn load_spec_names_the_container_in_every_failure() {
        let id = "cd".repeat(32);
        let e = load_spec(&info_with_spec(None)).unwrap_err();
        assert_eq!(e.to_string(), format!("container {id} has no start spec"));
        let e = load_spec(&info_with_spec(Some("[]".into()))).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("reading the start spec of container {id}")
        );
        let known = crate::runtime::plan::SPEC_VERSION;
        let newer = format!(r#"{{"version":{}}}"#, known + 1);
        let e = load_spec(&info_with_spec(Some(newer))).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "container {id} was created by a newer hutch (spec version {}, this hutch knows up to {known})",
                known + 1
            )
        );
        assert!(e.hint().is_some());
    }

    fn running(store: &Store, monitor_pid: i32, monitor_start: u64) -> String {
        let id = "ab".repeat(32);
        store
            .create_container(&ContainerRecord {
                id: id.clone(),
                name: "web".into(),
                image_id: Digest::of(b"config"),
                image_name: "busybox".into(),
                created: "2024-01-01T00:00:00Z".into(),
            })
            .unwrap();
        let state = ContainerState {
            status: ContainerStatus::Running,
            pid: Some(monitor_pid + 1),
            pid_start: Some(monitor_start + 1),
            monitor_pid: Some(monitor_pid),
            monitor_start: Some(monitor_start),
            started_at: Some("2024-01-01T00:00:01Z".into()),
            ..ContainerState::default()
        };
        store.set_container_state(&id, &state).unwrap();
        id
    }

    fn fake_proc(pid: i32, start: u64) -> tempfile::TempDir {
        let proc = tempfile::tempdir().unwrap();
        let dir = proc.path().join(pid.to_string());
        std::fs::create_dir(&dir).unwrap();
        let stat = format!("{pid} (hutch) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0");
        std::fs::write(dir.join("stat"), stat).unwrap();
        proc
    }

    #[test]
    fn observe_keeps_a_container_whose_monitor_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = running(&store, 100, 5000);
        let proc = fake_proc(100, 5000);
        let info = find(&store, "web", proc.path()).unwrap();
        assert_eq!(info.record.id, id);
        assert_eq!(info.state.status, ContainerStatus::Running);
    }

    #[test]
    fn observe_records_exited_when_the_monitor_is_gone_or_reused() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        running(&store, 100, 5000);
        // Pid 100 now belongs to a process that started later.
        let proc = fake_proc(100, 7000);
        let info = find(&store, "web", proc.path()).unwrap();
        assert_eq!(info.state.status, ContainerStatus::Exited);
        assert_eq!(info.state.exit_code, Some(EXIT_MONITOR_DIED));
        assert_eq!(info.state.exit_reason.as_deref(), Some(REASON_MONITOR_DIED));
        assert!(info.state.finished_at.is_some());
        let stored = store.find_container("web").unwrap().unwrap();
        assert_eq!(stored.state, info.state);
    }

    #[test]
    fn removing_needs_force_for_a_running_container() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        running(&store, 100, 5000);
        let proc = fake_proc(100, 5000);
        let maps = IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        );
        let err = remove(&store, "web", false, &maps, proc.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot remove container web as it is running: stop it first or use -f"
        );
        let err = remove(&store, "nope", false, &maps, proc.path()).unwrap_err();
        assert_eq!(err.to_string(), "no such container nope");
    }
}
