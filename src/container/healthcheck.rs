//! Health checks (issue #14), the running side: one check of a running
//! container (`healthcheck run`, and what its monitor schedules), run as
//! an exec into it with the check's timeout, recorded in its health
//! record, and the `--health-on-failure` action once it turns unhealthy;
//! the timer a detached container's monitor keeps (`Checks`), and the
//! helper that keeps it for a foreground `run`.
//!
//! Each scheduled check is a `hutch healthcheck run ID` child of the
//! monitor, as Podman's systemd timer runs `podman healthcheck run`: the
//! monitor stays single-threaded and lean, and needs no systemd.

use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::exec::{self, ExecOptions};
use super::health::{self, LogEntry, MAX_OUTPUT, UNHEALTHY};
use super::{lifecycle, Engine, Error, Plan};
use crate::error::Diagnose;
use crate::runtime::plan::{HealthAction, Healthcheck, TIMEOUT_EXIT_CODE};
use crate::storage::{ContainerStatus, Store};

/// The hidden subcommand that keeps a foreground container's timer.
pub const HELPER_COMMAND: &str = "container-health";

/// How often the foreground helper looks whether the container runs yet.
const START_POLL: Duration = Duration::from_millis(50);

impl Engine {
    /// Runs container `name`'s health check now (`healthcheck run`),
    /// records it and applies the container's `--health-on-failure`
    /// action if it turned unhealthy; true when the check passed. Must be
    /// called single-threaded: it execs into the container.
    pub fn run_healthcheck(&self, name: &str) -> Result<bool, Error> {
        let proc = Path::new(super::PROC);
        run_check(self.store()?, name, proc, &self.exits_dir())
    }

    /// In the `container-health` helper of a foreground run: runs
    /// container `id`'s checks on its interval until the `run` that
    /// spawned it closes its stdin.
    pub fn keep_health_timer(&self, id: &str) -> Result<(), Error> {
        let store = self.store()?;
        let info = lifecycle::find(store, id, Path::new(super::PROC), None)?;
        let plan = super::load_spec(&info)?;
        let paths = self.paths();
        let Some(mut checks) = Checks::for_plan(&plan, &paths.root, &paths.runroot) else {
            return Ok(());
        };
        // The run starts the container after spawning this helper.
        while !self.is_running(id)? {
            if is_parent_gone(START_POLL) {
                return Ok(());
            }
        }
        health::mark_starting(&plan.dirs.dir)?;
        checks.start();
        loop {
            let left = checks.due().map_or(Duration::ZERO, |d| {
                d.saturating_duration_since(Instant::now())
            });
            if is_parent_gone(left) {
                checks.halt();
                return Ok(());
            }
            checks.tick();
            checks.wait();
        }
    }

    /// Runs `plan` in the foreground (see `container::run`), with a
    /// `container-health` helper keeping its health checks' timer while
    /// it runs, and the relay of its readiness messages (`notify`).
    pub(super) fn run_foreground(&self, plan: &Plan) -> Result<i32, Error> {
        let store = self.store()?;
        if plan.manage.is_notify_relayed {
            // This process waits for the container: it is the monitor.
            let runroot = &self.paths().runroot;
            if let Err(e) = super::notify::start_relay(runroot, &plan.id, std::process::id()) {
                log::warn!(
                    "container {}: no relay of its readiness messages: {e}",
                    plan.id
                );
            }
        }
        let helper = Checks::for_plan(plan, &self.paths().root, &self.paths().runroot)
            .and_then(|c| c.spawn_helper());
        let ran = super::run(plan, store);
        if let Some(mut helper) = helper {
            drop(helper.stdin.take());
            let _ = helper.kill();
            let _ = helper.wait();
        }
        ran
    }
}

/// Whether the process that spawned the foreground helper is gone (its
/// end of our stdin closed), waiting at most `limit` to see.
fn is_parent_gone(limit: Duration) -> bool {
    let stdin = std::io::stdin();
    let ms = u16::try_from(limit.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) => false,
        Ok(_) => {
            // Nothing is ever written: readable means end of file.
            let mut byte = [0u8; 1];
            !matches!(stdin.lock().read(&mut byte), Ok(n) if n > 0)
        }
        Err(nix::errno::Errno::EINTR) => false,
        Err(_) => true,
    }
}

/// One check of container `name` (see `Engine::run_healthcheck`), in
/// Podman's order: the container must exist, run, and have a check.
fn run_check(store: &Store, name: &str, proc: &Path, exits: &Path) -> Result<bool, Error> {
    let info = lifecycle::find(store, name, proc, Some(exits)).map_err(|e| match e {
        e if e.is_missing() => health::Error::Lookup {
            name: name.to_string(),
            source: Box::new(e),
        }
        .into(),
        e => e,
    })?;
    let id = info.record.id.clone();
    let not_running = || Error::from(health::Error::NotRunning(id.clone()));
    if info.state.status != ContainerStatus::Running {
        return Err(not_running());
    }
    let (Some(pid), Some(pid_start)) = (info.state.pid, info.state.pid_start) else {
        return Err(not_running());
    };
    let plan = super::load_spec(&info)?;
    let check = plan
        .manage
        .health
        .clone()
        .filter(Healthcheck::is_defined)
        .ok_or_else(|| health::Error::NotDefined(id.clone()))?;
    let target = exec::entry(&plan, name, (pid, pid_start), proc)?;
    let opts = ExecOptions {
        container: name.to_string(),
        command: health::argv(&check.test),
        ..ExecOptions::default()
    };
    let mut process = exec::plan_process(&plan, &opts, &|_| None)?;

    let start = SystemTime::now();
    let timeout = Duration::from_nanos(check.timeout);
    process.deadline = Some(Instant::now() + timeout);
    let (ran, output) = capture(|| {
        crate::runtime::exec::exec_process(&plan, &process, name, target, proc, Default::default())
    })?;
    let end = SystemTime::now();
    let (code, output) = match ran {
        Ok(TIMEOUT_EXIT_CODE) => (-1, output),
        Ok(0) => (0, output),
        Ok(_) => (1, output),
        // The command could not be run: a failed check, as in Podman.
        Err(e) if matches!(e.exit_code(), 126 | 127) => (1, crate::error::render_chain(&e)),
        Err(e) => return Err(e.into()),
    };
    let is_in_start_period = info
        .state
        .started_at
        .as_deref()
        .and_then(super::logread::parse_timestamp)
        .is_some_and(|started| {
            let since = nanos_since_epoch(start) - i128::from(started);
            since < i128::from(check.start_period)
        });
    let entry = LogEntry {
        start: go_time(start),
        end: go_time(end),
        exit_code: code,
        output,
    };
    let results = health::update(&plan.dirs.dir, |r| {
        r.add(entry, check.retries, is_in_start_period)
    })?;
    super::events::on_health(&plan, &results.status);
    if results.status == UNHEALTHY {
        act(store, &id, check.on_failure, proc, exits)?;
    }
    if code == -1 {
        let timeout = health::format_duration(check.timeout);
        return Err(health::Error::TimedOut(timeout).into());
    }
    Ok(code == 0)
}

/// Applies `action` to the unhealthy container `id`, as Podman does:
/// kill it, stop it, or stop it for its monitor to start it again.
fn act(
    store: &Store,
    id: &str,
    action: HealthAction,
    proc: &Path,
    exits: &Path,
) -> Result<(), Error> {
    let ended = match action {
        HealthAction::None => return Ok(()),
        HealthAction::Kill => {
            lifecycle::kill(store, id, nix::sys::signal::Signal::SIGKILL, proc, exits)
        }
        HealthAction::Stop => lifecycle::stop_as(store, id, None, proc, exits, true),
        HealthAction::Restart => lifecycle::stop_as(store, id, None, proc, exits, false),
    };
    match ended {
        // It ended meanwhile: nothing left to do.
        Err(Error::NotRunning(_) | Error::NoSuchContainer(_)) => Ok(()),
        other => other,
    }
}

/// Whether the monitor starts container `plan` again after an exit
/// because its check turned it unhealthy (`--health-on-failure=restart`),
/// whatever its restart policy; not when the user stopped it.
pub(super) fn is_restart_due(store: &Store, plan: &Plan) -> Result<bool, Error> {
    let is_restarting = plan
        .manage
        .health
        .as_ref()
        .is_some_and(|h| h.is_defined() && h.on_failure == HealthAction::Restart);
    if !is_restarting || health::read(&plan.dirs.dir).status != UNHEALTHY {
        return Ok(false);
    }
    let settings = store.restart_settings(&plan.id).map_err(Error::Store)?;
    Ok(settings.is_some_and(|s| !s.is_stopped_by_user))
}

/// Runs `run` with our stdout and stderr, which the exec'd command
/// inherits, on a memory file; returns its result and the first
/// `MAX_OUTPUT` bytes written there (one final newline dropped, as
/// Podman records them).
fn capture<T>(run: impl FnOnce() -> T) -> Result<(T, String), Error> {
    use nix::sys::memfd::{memfd_create, MFdFlags};
    let fail = |e: std::io::Error| Error::from(health::Error::Capture(e));
    let file = memfd_create(c"hutch-health", MFdFlags::MFD_CLOEXEC).map_err(|e| fail(e.into()))?;
    let saved = [
        std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .map_err(fail)?,
        std::io::stderr()
            .as_fd()
            .try_clone_to_owned()
            .map_err(fail)?,
    ];
    let swapped = nix::unistd::dup2_stdout(&file).and_then(|_| nix::unistd::dup2_stderr(&file));
    let result = swapped.map(|_| run());
    let _ = nix::unistd::dup2_stdout(&saved[0]);
    let _ = nix::unistd::dup2_stderr(&saved[1]);
    let result = result.map_err(|e| fail(e.into()))?;
    let file = std::fs::File::from(file);
    let mut buf = vec![0u8; MAX_OUTPUT];
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail(e)),
        }
    }
    buf.truncate(got);
    let text = String::from_utf8_lossy(&buf);
    let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
    Ok((result, text))
}

fn nanos_since_epoch(t: SystemTime) -> i128 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// `t` as Go's RFC 3339 with nanoseconds, trailing zeros dropped, as
/// Podman's health log writes it.
fn go_time(t: SystemTime) -> String {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let text = crate::runtime::clock::format_rfc3339(d.as_secs(), Some(d.subsec_nanos()));
    let body = text.trim_end_matches('Z').trim_end_matches('0');
    format!("{}Z", body.trim_end_matches('.'))
}

/// A container's check timer: when the next check is due, and the
/// `healthcheck run` child running the current one. The next check is
/// due an interval after the last ended, as with Docker and Podman's
/// timers.
pub struct Checks {
    root: PathBuf,
    runroot: PathBuf,
    id: String,
    interval: Duration,
    next: Option<Instant>,
    running: Option<Child>,
    /// `--sdnotify=healthy` until the first check passed.
    is_ready_due: bool,
}

impl Checks {
    /// The timer of container `plan`, whose store is at `root` and
    /// `runroot`; `None` when it has no check or `--health-interval
    /// disable`.
    pub fn for_plan(plan: &Plan, root: &Path, runroot: &Path) -> Option<Checks> {
        let check = plan.manage.health.as_ref().filter(|h| h.is_defined())?;
        (check.interval > 0).then(|| Checks {
            root: root.to_path_buf(),
            runroot: runroot.to_path_buf(),
            id: plan.id.clone(),
            interval: Duration::from_nanos(check.interval),
            next: None,
            running: None,
            is_ready_due: plan.manage.is_ready_when_healthy,
        })
    }

    /// At a start of the container: the first check is due an interval
    /// from now.
    pub fn start(&mut self) {
        self.halt();
        self.next = Some(Instant::now() + self.interval);
    }

    /// When the next check is due; `None` while one runs, or before the
    /// container started.
    pub fn due(&self) -> Option<Instant> {
        self.next.filter(|_| self.running.is_none())
    }

    /// Starts the due check, if one is.
    pub fn tick(&mut self) {
        if self.running.is_some() || self.next.is_none_or(|n| Instant::now() < n) {
            return;
        }
        self.next = None;
        match self.command().spawn() {
            Ok(child) => self.running = Some(child),
            Err(e) => {
                log::debug!("container {}: no health check: {e}", self.id);
                self.next = Some(Instant::now() + self.interval);
            }
        }
    }

    /// Reaps the check's child if it ended, and sets the next due time.
    pub fn reap(&mut self) {
        if let Some(child) = &mut self.running {
            let status = child.try_wait();
            if !matches!(status, Ok(None)) {
                if self.is_ready_due && matches!(status, Ok(Some(s)) if s.success()) {
                    // This process is the monitor systemd is to watch.
                    crate::runtime::send_ready(nix::unistd::getpid());
                    self.is_ready_due = false;
                }
                self.running = None;
                self.next = Some(Instant::now() + self.interval);
            }
        }
    }

    /// Waits for the running check's child, if any.
    fn wait(&mut self) {
        if let Some(mut child) = self.running.take() {
            let _ = child.wait();
            self.next = Some(Instant::now() + self.interval);
        }
    }

    /// At the container's exit: ends a check still running; none is due.
    pub fn halt(&mut self) {
        if let Some(mut child) = self.running.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.next = None;
    }

    /// `hutch healthcheck run ID`, its stdio on /dev/null.
    fn command(&self) -> Command {
        let mut c = self.hutch();
        c.args(["healthcheck", "run"]).arg(&self.id);
        c.stdin(Stdio::null());
        c
    }

    /// The `container-health ID` helper of a foreground run, its stdin a
    /// pipe whose closing tells it the run is over.
    fn spawn_helper(&self) -> Option<Child> {
        let mut c = self.hutch();
        c.arg(HELPER_COMMAND).arg(&self.id).stdin(Stdio::piped());
        c.spawn()
            .inspect_err(|e| log::debug!("container {}: no health timer: {e}", self.id))
            .ok()
    }

    /// This hutch with the store's paths, its output on /dev/null.
    fn hutch(&self) -> Command {
        let mut c = Command::new("/proc/self/exe");
        c.arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(&self.runroot)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }
}

impl Drop for Checks {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_read_as_go_writes_them() {
        let at =
            |secs: u64, nanos: u32| go_time(std::time::UNIX_EPOCH + Duration::new(secs, nanos));
        assert_eq!(
            at(1_798_416_000, 123_456_780),
            "2026-12-28T00:00:00.12345678Z"
        );
        assert_eq!(at(1_798_416_000, 0), "2026-12-28T00:00:00Z");
        assert_eq!(at(1_798_416_010, 500_000_000), "2026-12-28T00:00:10.5Z");
    }

    #[test]
    fn the_timer_waits_an_interval_after_each_start() {
        let plan_check = Healthcheck {
            test: vec!["CMD".into(), "true".into()],
            interval: 60_000_000_000,
            ..Healthcheck::default()
        };
        let mut c = Checks {
            root: PathBuf::from("/r"),
            runroot: PathBuf::from("/rr"),
            id: "c".into(),
            interval: Duration::from_nanos(plan_check.interval),
            next: None,
            running: None,
            is_ready_due: false,
        };
        assert_eq!(c.due(), None);
        c.start();
        let due = c.due().unwrap();
        assert!(due > Instant::now() + Duration::from_secs(59));
        // Not due yet: nothing is spawned.
        c.tick();
        assert!(c.running.is_none());
        c.halt();
        assert_eq!(c.due(), None);
    }
}
