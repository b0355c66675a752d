//! Acting on recorded containers: observing their real state, starting,
//! signalling, stopping, waiting for and removing them.
//!
//! Everything works from the record plus /proc: the (pid, starttime) pairs
//! of the container's init and its monitor say whether they still run.
//! `stop`, `kill` and `rm -f` mark the container stopped by the user
//! before they signal it, so its monitor does not apply a restart policy.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{load_spec, wait, Error};
use crate::runtime::procfs::{self, SignalDisposition};
use crate::runtime::{clock, exitfile};
use crate::storage::{ContainerInfo, ContainerState, ContainerStatus, Store};
use crate::userns::IdMaps;

/// How often a waiter re-reads the record.
const POLL_INTERVAL: Duration = super::wait::DEFAULT_INTERVAL;

/// How long `kill`, and `rm` of a container whose process has ended, wait
/// for its monitor to record the exit.
const RECORD_LIMIT: Duration = Duration::from_secs(10);

/// How long `kill` with a signal that may end the container (one it
/// catches) waits for it to exit before returning.
const SIGNAL_GRACE: Duration = Duration::from_millis(250);

/// The exit code recorded when the monitor vanished without recording one.
const EXIT_MONITOR_DIED: i32 = 255;

/// The reason recorded then.
const REASON_MONITOR_DIED: &str = "monitor died";

/// See `container::observe`; `proc` is the proc root, and `exits` where
/// a `--rm` container removed here leaves its exit code for waiters
/// (`None`: nowhere). `None` when the container is gone: removed
/// meanwhile, or now.
pub fn observe(
    store: &Store,
    info: ContainerInfo,
    proc: &Path,
    exits: Option<&Path>,
) -> Result<Option<ContainerInfo>, crate::storage::Error> {
    let is_settled = match info.state.status {
        ContainerStatus::Created | ContainerStatus::Initialized => true,
        ContainerStatus::Running => is_monitor_alive(&info.state, proc),
        // A `--rm` container whose monitor is gone missed its removal.
        ContainerStatus::Exited => !is_auto_remove(&info) || is_monitor_alive(&info.state, proc),
    };
    if is_settled {
        return Ok(Some(info));
    }
    // The monitor may have recorded the exit (or removed the container)
    // just before it went: re-read so that what it recorded wins.
    let Some(mut info) = store.find_container(&info.record.id)? else {
        return Ok(None);
    };
    if is_monitor_alive(&info.state, proc) || info.state.status.is_unstarted() {
        return Ok(Some(info));
    }
    if info.state.status == ContainerStatus::Running {
        let dir = store.container_dirs(&info.record.id).dir;
        info.state = ended_state(info.state, exitfile::read(&dir));
    }
    if is_auto_remove(&info) {
        return remove_dead(store, info, proc, exits);
    }
    // Best effort: a reader must work on a full disk (issue #21 item 4),
    // and the next one records it.
    match store.set_container_state(&info.record.id, &info.state) {
        Ok(()) => {}
        Err(crate::storage::Error::ContainerNotKnown { .. }) => return Ok(None),
        Err(e) => log::debug!("leaving the exit of {} unrecorded: {e}", info.record.id),
    }
    Ok(Some(info))
}

/// The state of a container recorded as running whose monitor is gone:
/// exited with the code its exit code file holds, or, when the monitor
/// went before the container's end, with `EXIT_MONITOR_DIED`.
fn ended_state(state: ContainerState, exit: Option<exitfile::Exit>) -> ContainerState {
    if let Some(exit) = exit {
        return ContainerState {
            status: ContainerStatus::Exited,
            finished_at: exit.finished_at.or_else(|| Some(clock::now_rfc3339())),
            exit_code: Some(exit.code),
            exit_reason: exit.reason,
            ..state
        };
    }
    ContainerState {
        status: ContainerStatus::Exited,
        finished_at: Some(clock::now_rfc3339()),
        exit_code: Some(state.exit_code.unwrap_or(EXIT_MONITOR_DIED)),
        exit_reason: Some(
            state
                .exit_reason
                .clone()
                .unwrap_or_else(|| REASON_MONITOR_DIED.to_string()),
        ),
        ..state
    }
}

/// Whether container `info` was created with `--rm`.
fn is_auto_remove(info: &ContainerInfo) -> bool {
    // Most specs are not: a look for the field spares parsing them.
    info.spec
        .as_deref()
        .is_some_and(|s| s.contains("\"auto_remove\":true"))
        && load_spec(info).is_ok_and(|p| p.auto_remove)
}

/// Applies `--rm` to the exited container `info`, whose monitor died
/// before it could (issue #21 item 6), as Podman's cleanup does; its exit
/// code goes to `exits` for waiters. Concurrent observers do not collide:
/// the record goes in one transaction, and whoever finds it gone has
/// nothing left to do. A removal that fails leaves the container listed
/// (reported at debug level: a reader must not fail for it).
fn remove_dead(
    store: &Store,
    info: ContainerInfo,
    proc: &Path,
    exits: Option<&Path>,
) -> Result<Option<ContainerInfo>, crate::storage::Error> {
    let Ok(plan) = load_spec(&info) else {
        return Ok(Some(info));
    };
    // Its init dies with the monitor (PR_SET_PDEATHSIG); until it has,
    // its files stay.
    if let (Some(pid), Some(start)) = (info.state.pid, info.state.pid_start) {
        if procfs::is_alive(proc, pid, start) {
            return Ok(Some(info));
        }
    }
    // Not held (`hold_container`): nothing writes there any more, since
    // a start never proceeds on an exited `--rm` container (it observes
    // it first), and `remove`, which calls this holding it, would wait
    // for itself.
    let id = &info.record.id;
    crate::runtime::network::stop_stale_helper(&store.container_dirs(id).dir, proc);
    let removed = match exits {
        Some(exits) => {
            wait::remove_leaving_code(store, id, &plan.maps, exits, info.state.exit_code)
        }
        None => store.remove_container(id, &plan.maps),
    };
    match removed {
        Ok(()) | Err(crate::storage::Error::ContainerNotKnown { .. }) => Ok(None),
        Err(e) => {
            log::debug!("leaving --rm container {id} for later: {e}");
            Ok(Some(info))
        }
    }
}

pub(super) fn is_monitor_alive(state: &ContainerState, proc: &Path) -> bool {
    match (state.monitor_pid, state.monitor_start) {
        (Some(pid), Some(start)) => procfs::is_alive(proc, pid, start),
        // Without a start time the pid alone must do.
        (Some(pid), None) => procfs::start_time(proc, pid).is_some(),
        _ => false,
    }
}

/// Finds container `name` (name, id or id prefix) and observes it (see
/// `observe` for `exits`).
pub fn find(
    store: &Store,
    name: &str,
    proc: &Path,
    exits: Option<&Path>,
) -> Result<ContainerInfo, Error> {
    let no_such = || Error::NoSuchContainer(name.to_string());
    let info = store
        .find_container(name)
        .map_err(Error::Store)?
        .ok_or_else(no_such)?;
    observe(store, info, proc, exits)
        .map_err(Error::Store)?
        .ok_or_else(no_such)
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
/// for errors); returns a pidfd of that process.
///
/// The pid is checked against its recorded start time first, so a pid the
/// kernel gave to another process after the container ended is not hit.
/// The user owns the container's user namespace and so holds CAP_KILL in
/// it (user_namespaces(7)): even a process running as a subordinate uid
/// can be signalled directly.
fn send_signal(
    info: &ContainerInfo,
    name: &str,
    sig: Signal,
    proc: &Path,
) -> Result<OwnedFd, Error> {
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
        Ok(()) => Ok(pidfd),
        Err(Errno::ESRCH) => Err(not_running()),
        Err(source) => Err(Error::SendSignal {
            name: name.to_string(),
            signal: sig,
            source,
        }),
    }
}

/// Marks container `info` as ended by the user, so its monitor does not
/// restart it; before any signal, since the monitor decides on exit. On
/// a full disk the mark is left out (issue #21 item 4): ending the
/// container comes first, and a restart could not start it there anyway.
fn mark_stopped_by_user(store: &Store, info: &ContainerInfo, name: &str) -> Result<(), Error> {
    match store.set_stopped_by_user(&info.record.id, true) {
        Ok(()) => Ok(()),
        Err(crate::storage::Error::ContainerNotKnown { .. }) => {
            Err(Error::NoSuchContainer(name.to_string()))
        }
        Err(e) if crate::storage::is_disk_full(&e) => {
            log::debug!("not marking {name} stopped by the user: {e}");
            Ok(())
        }
        Err(e) => Err(Error::Store(e)),
    }
}

/// Sends `sig` to container `name`, which must be running. After SIGKILL
/// it returns once the monitor has recorded the exit (within
/// `RECORD_LIMIT`), so `kill; rm` never finds it running; after a signal
/// the container catches it waits `SIGNAL_GRACE` for it to exit, and if
/// it does, for the record too.
pub fn kill(
    store: &Store,
    name: &str,
    sig: Signal,
    proc: &Path,
    exits: &Path,
) -> Result<(), Error> {
    let info = find(store, name, proc, Some(exits))?;
    if info.state.status == ContainerStatus::Running {
        mark_stopped_by_user(store, &info, name)?;
    }
    // Read before the signal: a process it ends may be gone right after.
    let disposition = info
        .state
        .pid
        .and_then(|pid| procfs::signal_disposition(proc, pid));
    if info.state.status == ContainerStatus::Running {
        super::events::on_info(&info, super::events::Status::Kill);
    }
    let pidfd = send_signal(&info, name, sig, proc)?;
    let is_ending = match sig {
        Signal::SIGKILL => true,
        _ => may_end(sig, disposition) && has_exited_within(pidfd.as_fd(), SIGNAL_GRACE),
    };
    if is_ending {
        let deadline = Some(Instant::now() + RECORD_LIMIT);
        wait_exit(store, &info.record.id, deadline, proc, exits)?;
    }
    Ok(())
}

/// Whether `sig` may end a process with `disposition` (`None`: it is gone
/// already). A namespace's init only gets the signals it catches.
fn may_end(sig: Signal, disposition: Option<SignalDisposition>) -> bool {
    let Some(d) = disposition else {
        return true;
    };
    let bit = 1u64 << (sig as i32 - 1);
    if d.caught & bit != 0 {
        return true;
    }
    if d.ignored & bit != 0 || d.is_namespace_init {
        return false;
    }
    // Those whose default action does not terminate (signal(7)).
    !matches!(
        sig,
        Signal::SIGCHLD
            | Signal::SIGCONT
            | Signal::SIGURG
            | Signal::SIGWINCH
            | Signal::SIGSTOP
            | Signal::SIGTSTP
            | Signal::SIGTTIN
            | Signal::SIGTTOU
    )
}

/// Whether the process behind `pidfd` exits within `limit` (a pidfd
/// becomes readable when its process has ended, pidfd_open(2)).
fn has_exited_within(pidfd: BorrowedFd<'_>, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(pidfd, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return false,
            Ok(_) => return true,
            Err(Errno::EINTR) if !left.is_zero() => continue,
            Err(_) => return false,
        }
    }
}

/// Whether the init of the container recorded as running in `state` has
/// ended (a zombie, gone, or its pid reused), so its monitor is about to
/// record the exit.
fn has_init_ended(state: &ContainerState, proc: &Path) -> bool {
    match (state.pid, state.pid_start) {
        (Some(pid), Some(start)) => !procfs::is_alive(proc, pid, start),
        _ => false,
    }
}

/// How a wait for a container's exit ended.
pub enum Waited {
    /// It exited; its observed record says how.
    Exited(Box<ContainerInfo>),
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
    exits: &Path,
) -> Result<Waited, Error> {
    loop {
        let found = store.find_container(id).map_err(Error::Store)?;
        let observed = match found {
            Some(info) => observe(store, info, proc, Some(exits)).map_err(Error::Store)?,
            None => None,
        };
        let Some(info) = observed else {
            return Ok(Waited::Removed);
        };
        if info.state.status == ContainerStatus::Exited {
            return Ok(Waited::Exited(Box::new(info)));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Waited::TimedOut);
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// Stops container `name`: its stop signal (`--stop-signal`, else the
/// image's StopSignal, else SIGTERM), then SIGKILL after `timeout` (its
/// `--stop-timeout`, else 10 s, when `None`); returns once it has exited.
pub fn stop(
    store: &Store,
    name: &str,
    timeout: Option<Duration>,
    proc: &Path,
    exits: &Path,
) -> Result<(), Error> {
    stop_as(store, name, timeout, proc, exits, true)
}

/// `stop`; unless `is_by_user` (a health check's `restart` action, #14)
/// without the stopped-by-user mark, so its monitor starts it again.
pub fn stop_as(
    store: &Store,
    name: &str,
    timeout: Option<Duration>,
    proc: &Path,
    exits: &Path,
    is_by_user: bool,
) -> Result<(), Error> {
    let info = find(store, name, proc, Some(exits))?;
    // Marked even when it is not running: a monitor pausing before a
    // restart must not start it again.
    if is_by_user {
        mark_stopped_by_user(store, &info, name)?;
    }
    if info.state.status != ContainerStatus::Running {
        return Ok(());
    }
    super::events::on_info(&info, super::events::Status::Stop);
    let plan = load_spec(&info).ok();
    let sig = match plan.as_ref().and_then(|p| p.stop_signal.as_deref()) {
        Some(s) => parse_signal(s)?,
        None => Signal::SIGTERM,
    };
    let timeout = timeout.unwrap_or_else(|| {
        let own = plan.as_ref().and_then(|p| p.manage.stop_timeout);
        Duration::from_secs(own.unwrap_or(crate::runtime::plan::DEFAULT_STOP_TIMEOUT))
    });
    let id = info.record.id.clone();
    if !timeout.is_zero() {
        match send_signal(&info, name, sig, proc) {
            Ok(_) | Err(Error::NotRunning(_)) => {}
            Err(e) => return Err(e),
        }
        match wait_exit(store, &id, Some(Instant::now() + timeout), proc, exits)? {
            Waited::Exited(_) | Waited::Removed => return Ok(()),
            Waited::TimedOut => {}
        }
    }
    match send_signal(&info, name, Signal::SIGKILL, proc) {
        Ok(_) | Err(Error::NotRunning(_)) => {}
        Err(e) => return Err(e),
    }
    wait_exit(store, &id, None, proc, exits)?;
    Ok(())
}

/// Starts the created or exited container `name` through a new monitor
/// (`root` and `runroot` are passed on to it; `exits` is as for
/// `observe`); a running one is left alone. Returns the container's full
/// id.
pub fn start(
    store: &Store,
    name: &str,
    root: &Path,
    runroot: &Path,
    proc: &Path,
    exits: &Path,
) -> Result<String, Error> {
    let _lock = store.lock_container_start().map_err(Error::Store)?;
    let mut info = find(store, name, proc, Some(exits))?;
    // The monitor of an exited container may still be pausing before a
    // restart, or removing it: let it finish, then look again.
    while info.state.status == ContainerStatus::Exited && is_monitor_alive(&info.state, proc) {
        std::thread::sleep(POLL_INTERVAL);
        info = find(store, name, proc, Some(exits))?;
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
/// killed and waited for first). One whose process has ended but whose
/// exit is not recorded yet is waited for (within `RECORD_LIMIT`). The
/// exit code is left in `exits` for those waiting for it. `maps` removes
/// files of containers without a spec. The caller must be single-threaded.
///
/// Nothing is written before the files go unless there is room for it
/// (issue #21 item 4): the stopped mark and the exit code are best
/// effort, and the store removes the files first when the record cannot
/// go without the space they free.
pub fn remove(
    store: &Store,
    name: &str,
    is_forced: bool,
    maps: &IdMaps,
    exits: &Path,
    proc: &Path,
) -> Result<(), Error> {
    let no_such = || Error::NoSuchContainer(name.to_string());
    let recorded = store
        .find_container(name)
        .map_err(Error::Store)?
        .ok_or_else(no_such)?;
    // Gone while we looked or waited: its own `--rm` was quicker (this
    // removal did its job), or another `rm` won the race (this one did
    // not).
    let gone = |info: &ContainerInfo| match is_auto_remove(info) {
        true => Ok(()),
        false => Err(no_such()),
    };
    // Held while the state is read and the files go, so that a creation
    // or start in progress finishes first; let go while a running one is
    // stopped (its monitor may need to record the exit).
    let mut hold = store
        .hold_container(&recorded.record.id)
        .map_err(Error::Store)?;
    let Some(mut info) = observe_again(store, &recorded, proc, exits)? else {
        return gone(&recorded);
    };
    if info.state.status == ContainerStatus::Running {
        drop(hold.take());
        let deadline = if is_forced {
            mark_stopped_by_user(store, &info, name)?;
            match send_signal(&info, name, Signal::SIGKILL, proc) {
                Ok(_) | Err(Error::NotRunning(_)) => {}
                Err(e) => return Err(e),
            }
            None
        } else if has_init_ended(&info.state, proc) {
            Some(Instant::now() + RECORD_LIMIT)
        } else {
            return Err(Error::IsRunning(name.to_string()));
        };
        // The observed record, not the stored one: on a full disk the
        // exit may be known only from the exit code file.
        info = match wait_exit(store, &info.record.id, deadline, proc, exits)? {
            Waited::Exited(observed) => *observed,
            Waited::TimedOut => return Err(Error::IsRunning(name.to_string())),
            Waited::Removed => return gone(&info),
        };
        hold = store
            .hold_container(&info.record.id)
            .map_err(Error::Store)?;
        let Some(again) = observe_again(store, &info, proc, exits)? else {
            return gone(&info);
        };
        info = again;
    }
    let _hold = hold;
    let id = &info.record.id;
    crate::runtime::network::stop_stale_helper(&store.container_dirs(id).dir, proc);
    let plan_maps = load_spec(&info).ok().map(|p| p.maps);
    let code = match info.state.status {
        ContainerStatus::Exited => info.state.exit_code,
        _ => None,
    };
    let maps = plan_maps.as_ref().unwrap_or(maps);
    match wait::remove_leaving_code(store, id, maps, exits, code) {
        Ok(()) => Ok(()),
        Err(crate::storage::Error::ContainerNotKnown { .. }) => Err(no_such()),
        Err(e) => Err(Error::Store(e)),
    }
}

/// Container `info` as its record says now, observed (see `observe`);
/// `None` when it is gone.
fn observe_again(
    store: &Store,
    info: &ContainerInfo,
    proc: &Path,
    exits: &Path,
) -> Result<Option<ContainerInfo>, Error> {
    match store
        .find_container(&info.record.id)
        .map_err(Error::Store)?
    {
        Some(now) => observe(store, now, proc, Some(exits)).map_err(Error::Store),
        None => Ok(None),
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
            .create_test_container(&ContainerRecord {
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
        add_process(proc.path(), pid, start, 'S');
        proc
    }

    fn add_process(proc: &Path, pid: i32, start: u64, state: char) {
        let dir = proc.join(pid.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let stat =
            format!("{pid} (hutch) {state} 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 0 0");
        std::fs::write(dir.join("stat"), stat).unwrap();
    }

    #[test]
    fn observe_keeps_a_container_whose_monitor_runs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = running(&store, 100, 5000);
        let proc = fake_proc(100, 5000);
        let info = find(&store, "web", proc.path(), None).unwrap();
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
        let info = find(&store, "web", proc.path(), None).unwrap();
        assert_eq!(info.state.status, ContainerStatus::Exited);
        assert_eq!(info.state.exit_code, Some(EXIT_MONITOR_DIED));
        assert_eq!(info.state.exit_reason.as_deref(), Some(REASON_MONITOR_DIED));
        assert!(info.state.finished_at.is_some());
        let stored = store.find_container("web").unwrap().unwrap();
        assert_eq!(stored.state, info.state);
    }

    #[test]
    fn observe_takes_the_exit_code_the_file_kept_when_the_record_could_not() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = running(&store, 100, 5000);
        let ctr = store.container_dirs(&id).dir;
        exitfile::clear(&ctr).unwrap();
        // A monitor gone before its init ended left the blanks.
        let proc = fake_proc(100, 5000);
        let info = find(&store, "web", proc.path(), None).unwrap();
        assert_eq!(info.state.status, ContainerStatus::Running);
        exitfile::write(&ctr, 3, None).unwrap();
        let gone = tempfile::tempdir().unwrap();
        let info = find(&store, "web", gone.path(), None).unwrap();
        assert_eq!(info.state.status, ContainerStatus::Exited);
        assert_eq!(info.state.exit_code, Some(3));
        assert_eq!(info.state.exit_reason, None);
        assert!(info.state.finished_at.is_some());
        assert_eq!(
            store.find_container("web").unwrap().unwrap().state,
            info.state
        );
    }

    /// A stored spec of container `id` with `--rm` as `auto_remove`.
    fn spec(store: &Store, id: &str, auto_remove: bool) -> String {
        let dirs = store.container_dirs(id);
        serde_json::json!({
            "id": id,
            "dirs": dirs,
            "lowers": [],
            "maps": {"uids": [], "gids": [], "fallback_reason": null},
            "hostname": "box",
            "args": ["sh"],
            "env": [],
            "cwd": "/",
            "user": "0",
            "tty": false,
            "interactive": false,
            "auto_remove": auto_remove,
        })
        .to_string()
    }

    #[test]
    fn observe_applies_the_rm_a_dead_monitor_missed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let exits = dir.path().join("exits");
        let id = running(&store, 100, 5000);
        store
            .set_container_spec(&id, &spec(&store, &id, true))
            .unwrap();
        let ctr = store.container_dirs(&id).dir;
        exitfile::clear(&ctr).unwrap();
        exitfile::write(&ctr, 7, None).unwrap();
        // Its monitor runs: nothing happens.
        let proc = fake_proc(100, 5000);
        let info = store.find_container(&id).unwrap().unwrap();
        let seen = observe(&store, info.clone(), proc.path(), Some(&exits)).unwrap();
        assert_eq!(seen.unwrap().state.status, ContainerStatus::Running);
        // Its monitor is gone: removed, the exit code left for waiters.
        let gone = tempfile::tempdir().unwrap();
        let seen = observe(&store, info.clone(), gone.path(), Some(&exits)).unwrap();
        assert!(seen.is_none());
        assert!(store.find_container(&id).unwrap().is_none());
        assert!(!ctr.exists());
        assert_eq!(wait::read_exit_code(&exits, &id), Some(7));
        // A second observer of the same listing finds nothing to do.
        assert!(observe(&store, info, gone.path(), Some(&exits))
            .unwrap()
            .is_none());
    }

    #[test]
    fn observe_removes_an_exited_rm_container_only_once_its_monitor_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let exits = dir.path().join("exits");
        let id = running(&store, 100, 5000);
        store
            .set_container_spec(&id, &spec(&store, &id, true))
            .unwrap();
        let mut state = store.find_container(&id).unwrap().unwrap().state;
        state.status = ContainerStatus::Exited;
        state.exit_code = Some(0);
        store.set_container_state(&id, &state).unwrap();
        // The monitor recorded the exit and is about to remove it.
        let proc = fake_proc(100, 5000);
        let rm = rm_or_find(&store, &id, proc.path(), &exits);
        assert_eq!(rm.unwrap().state.status, ContainerStatus::Exited);
        let gone = tempfile::tempdir().unwrap();
        assert!(rm_or_find(&store, &id, gone.path(), &exits).is_none());
        assert_eq!(wait::read_exit_code(&exits, &id), Some(0));
    }

    fn rm_or_find(store: &Store, id: &str, proc: &Path, exits: &Path) -> Option<ContainerInfo> {
        let info = store.find_container(id).unwrap()?;
        observe(store, info, proc, Some(exits)).unwrap()
    }

    #[test]
    fn a_dead_container_without_rm_stays_and_an_rm_of_a_dead_rm_one_succeeds() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let exits = dir.path().join("exits");
        let id = running(&store, 100, 5000);
        store
            .set_container_spec(&id, &spec(&store, &id, false))
            .unwrap();
        let gone = tempfile::tempdir().unwrap();
        let info = find(&store, "web", gone.path(), Some(&exits)).unwrap();
        assert_eq!(info.state.exit_code, Some(EXIT_MONITOR_DIED));
        assert!(store.container_dirs(&id).dir.exists());
        store
            .set_container_spec(&id, &spec(&store, &id, true))
            .unwrap();
        let maps = IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        );
        remove(&store, "web", false, &maps, &exits, gone.path()).unwrap();
        assert!(store.find_container(&id).unwrap().is_none());
    }

    #[test]
    fn removing_needs_force_for_a_running_container() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        running(&store, 100, 5000);
        // The monitor and the container's init both run.
        let proc = fake_proc(100, 5000);
        add_process(proc.path(), 101, 5001, 'S');
        let maps = IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        );
        let exits = dir.path().join("exits");
        let err = remove(&store, "web", false, &maps, &exits, proc.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot remove container web as it is running: stop it first or use -f"
        );
        let err = remove(&store, "nope", false, &maps, &exits, proc.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no container with name or ID \"nope\" found: no such container"
        );
    }

    #[test]
    fn removing_waits_for_the_record_of_a_container_whose_init_ended() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = running(&store, 100, 5000);
        // The init is a zombie its monitor has not reaped yet.
        let proc = fake_proc(100, 5000);
        add_process(proc.path(), 101, 5001, 'Z');
        let maps = IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        );
        let exits = dir.path().join("exits");
        let recorder = {
            let root = dir.path().to_path_buf();
            let id = id.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                let store = Store::open(&root).unwrap();
                let mut info = store.find_container(&id).unwrap().unwrap();
                info.state.status = ContainerStatus::Exited;
                info.state.exit_code = Some(137);
                store.set_container_state(&id, &info.state).unwrap();
            })
        };
        remove(&store, "web", false, &maps, &exits, proc.path()).unwrap();
        recorder.join().unwrap();
        assert!(store.find_container(&id).unwrap().is_none());
        assert_eq!(wait::read_exit_code(&exits, &id), Some(137));
    }

    #[test]
    fn only_signals_that_can_end_the_init_are_waited_for() {
        let term = Signal::SIGTERM;
        let init = |caught: u64, ignored: u64| {
            Some(SignalDisposition {
                caught,
                ignored,
                is_namespace_init: true,
            })
        };
        let bit = |s: Signal| 1u64 << (s as i32 - 1);
        assert!(may_end(term, None));
        assert!(!may_end(term, init(0, 0)));
        assert!(may_end(term, init(bit(term), 0)));
        assert!(!may_end(term, init(0, bit(term))));
        let plain = Some(SignalDisposition {
            caught: 0,
            ignored: 0,
            is_namespace_init: false,
        });
        assert!(may_end(Signal::SIGHUP, plain));
        assert!(!may_end(Signal::SIGWINCH, plain));
        assert!(!may_end(Signal::SIGCONT, plain));
    }
}
