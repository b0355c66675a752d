//! The detached monitor: a re-executed hutch (`container-monitor ID`) that
//! starts the container from its spec, reports to the `run -d` that
//! spawned it, then relays the container's output into its log and
//! records how it ended. While it lives it applies the container's restart
//! policy: each restart is a fresh clone from the same plan, on the same
//! upper directory and log.
//!
//! It stays lean and single-threaded: one poll(2) over a signalfd and the
//! output pipes (or the pty master), no threads, no network.

use std::io::{BufRead, BufReader};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Stdio as ProcessStdio};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};

use super::attach::{Input, Server};
use super::healthcheck::Checks;
use super::logfile::{LogFile, Pending, Stream};
use super::logread::{self, LogDriver};
use super::restart::{Backoff, RestartPolicy};
use super::{Error, Plan};
use crate::error::Diagnose;
use crate::runtime::clock;
use crate::runtime::pod::PodJoin;
use crate::runtime::run::{self, Started, Stdio};
use crate::runtime::Error as RtError;
use crate::storage::{ContainerState, RestartSettings, Store};

/// The hidden subcommand the monitor runs as.
pub(super) const MONITOR_COMMAND: &str = "container-monitor";

/// How long the monitor keeps reading output after the container's init
/// exited: the kernel kills the rest of its pid namespace, and their pipe
/// ends close as they go.
const DRAIN_TIMEOUT_MS: u16 = 500;

/// The most the monitor reads from one output at a time: one read per
/// ready output and poll round, so a container writing without pause can
/// neither starve the rest of the loop nor make the monitor buffer; what
/// the monitor has not read waits in the pipe, and the container's writes
/// block once it is full.
const READ_SIZE: usize = 64 * 1024;

/// How much of a read is turned into log records before they are written:
/// records of short lines are several times the size of their text, and
/// this bounds the record buffer.
const FEED_SIZE: usize = 16 * 1024;

/// A container the monitor has started and now watches.
pub struct Detached {
    plan: Plan,
    started: Started,
    state: ContainerState,
    log: LogFile,
    /// When this run of the container began, for the restart back-off.
    since: Instant,
    /// The container's stdin with `-i`.
    input: Input,
    /// The attach socket, once `listen` bound it; kept across restarts.
    server: Option<Server>,
    /// The health check timer, once `schedule_checks` made it; kept
    /// across restarts.
    checks: Option<Checks>,
}

impl Detached {
    /// The container's init as the host sees it.
    pub fn pid(&self) -> i32 {
        self.started.pid.as_raw()
    }

    /// The id of the container's pod, if it is in one.
    pub fn pod(&self) -> Option<&str> {
        self.plan.pod.as_deref()
    }

    /// Opens the container's attach socket in `dir` (see
    /// `attach::attach_dir`), so clients can attach from now on.
    pub fn listen(&mut self, dir: &Path) -> Result<(), super::attach::Error> {
        self.server = Some(Server::bind(dir, &self.plan.id)?);
        Ok(())
    }

    /// Schedules the container's health checks (#14), if it has them, as
    /// `healthcheck run` children of this monitor with the store at
    /// `root` and `runroot`.
    pub fn schedule_checks(&mut self, root: &Path, runroot: &Path) {
        self.checks = Checks::for_plan(&self.plan, root, runroot);
    }
}

/// Spawns the monitor for container `id` (whose spec is recorded) and
/// waits for its one-line report; returns the container's pid.
pub fn spawn(root: &Path, runroot: &Path, id: &str) -> Result<i32, Error> {
    let mut child = Command::new("/proc/self/exe")
        .arg("--root")
        .arg(root)
        .arg("--runroot")
        .arg(runroot)
        .args(super::events::child_args())
        .arg(MONITOR_COMMAND)
        .arg(id)
        .stdin(ProcessStdio::null())
        .stderr(ProcessStdio::null())
        .stdout(ProcessStdio::piped())
        .spawn()
        .map_err(Error::SpawnMonitor)?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out)
            .read_line(&mut line)
            .map_err(Error::SpawnMonitor)?;
    }
    // The monitor outlives us by design; it is not waited for.
    drop(child);
    parse_report(&line)
}

/// The monitor's report line: `ok PID` or `err CODE MESSAGE`.
pub fn format_report(result: &Result<i32, (i32, String)>) -> String {
    match result {
        Ok(pid) => format!("ok {pid}\n"),
        Err((code, message)) => format!("err {code} {}\n", message.replace('\n', " ")),
    }
}

fn parse_report(line: &str) -> Result<i32, Error> {
    let line = line.trim_end_matches('\n');
    if let Some(pid) = line.strip_prefix("ok ").and_then(|p| p.parse().ok()) {
        return Ok(pid);
    }
    if let Some(rest) = line.strip_prefix("err ") {
        let (code, message) = rest.split_once(' ').unwrap_or((rest, ""));
        if let Ok(code) = code.parse() {
            return Err(Error::MonitorFailed {
                code,
                message: message.to_string(),
            });
        }
    }
    Err(Error::MonitorVanished)
}

/// In the monitor: starts container `id` from its recorded spec with its
/// output on pipes, and records it running after `restart_count` restarts.
/// Must be called single-threaded.
pub fn start(store: &Store, id: &str, restart_count: u32, proc: &Path) -> Result<Detached, Error> {
    // A session of our own: the terminal `run -d` was typed in may close,
    // and its hangup must not reach us.
    let _ = nix::unistd::setsid();
    // Until it is recorded running: a removal waits, then stops it.
    let hold = store.hold_container(id).map_err(Error::Store)?;
    let info = store
        .find_container(id)
        .map_err(Error::Store)?
        .ok_or_else(|| Error::NoSuchContainer(id.to_string()))?;
    let mut plan = super::load_spec(&info)?;
    // The name may have changed since the spec was stored (`rename`).
    plan.origin.name = info.record.name.clone();
    let log = match plan.log_driver {
        LogDriver::K8sFile => {
            let path = logread::log_path(store, &info.record.id, plan.log_path.as_deref());
            LogFile::open(&path, plan.log_max_size)
                .map_err(|source| Error::OpenLog { path, source })?
        }
        LogDriver::None | LogDriver::Passthrough => LogFile::discard(),
    };
    // The `type=env` secrets are read now, at every start, as in Podman.
    // Then what it joins, its user networks' addresses filled into `plan`.
    let started = super::secret_use::add_env(store.root(), &mut plan)
        .and_then(|()| super::start_join(&mut plan, proc))
        .and_then(|join| start_process(&plan, join));
    let (started, input) = match started {
        Ok(s) => s,
        Err(e) => {
            run::record_failure(store, &plan, e.exit_code(), &e);
            drop(hold);
            if plan.auto_remove {
                let _ = store.remove_container(&plan.id, &plan.maps);
            }
            return Err(e);
        }
    };
    let state = ContainerState {
        restart_count,
        ..run::running_state(started.pid, proc)
    };
    if let Err(e) = store.set_container_state(&plan.id, &state) {
        let _ = nix::sys::signal::kill(started.pid, nix::sys::signal::Signal::SIGKILL);
        return Err(Error::Store(e));
    }
    drop(hold);
    if plan.manage.health.as_ref().is_some_and(|h| h.is_defined()) {
        if let Err(e) = super::health::mark_starting(&plan.dirs.dir) {
            log::debug!("container {}: {}", plan.id, crate::error::render_chain(&e));
        }
    }
    super::events::on_started(&plan);
    Ok(Detached {
        plan,
        started,
        state,
        log,
        since: Instant::now(),
        input,
        server: None,
        checks: None,
    })
}

/// Starts the container's process, joining what `join` names (its pod's
/// namespaces, the network holder's), with its output on pipes (or a
/// pty), and with `-i` keeps its stdin for attach clients.
fn start_process(plan: &Plan, join: Option<PodJoin>) -> Result<(Started, Input), Error> {
    if !plan.interactive {
        return Ok((run::start(plan, Stdio::Pipes, join)?, Input::none()));
    }
    if plan.tty {
        let started = run::start(plan, Stdio::Pipes, join)?;
        let input = match &started.master {
            Some(m) => Input::new(
                m.try_clone()
                    .map_err(|e| Error::from(RtError::ReceivePty(e)))?,
                true,
            ),
            None => Input::none(),
        };
        return Ok((started, input));
    }
    // `Stdio::Pipes` gives the container /dev/null as stdin; `Inherit`
    // gives it ours. So ours become the container's pipes for the start,
    // and are put back afterwards (stdout still carries our report).
    let pipe = || crate::userns::pipe().map_err(|e| Error::from(RtError::Maps(e)));
    let (in_r, in_w) = pipe()?;
    let (out_r, out_w) = pipe()?;
    let (err_r, err_w) = pipe()?;
    // Close-on-exec copies (std dups with F_DUPFD_CLOEXEC), so they do
    // not leak into the container.
    let save =
        |fd: std::os::fd::BorrowedFd<'_>| fd.try_clone_to_owned().map_err(Error::SpawnMonitor);
    let saved = [
        save(std::io::stdin().as_fd())?,
        save(std::io::stdout().as_fd())?,
        save(std::io::stderr().as_fd())?,
    ];
    let restore = |started: Result<Started, Error>| {
        let _ = nix::unistd::dup2_stdin(&saved[0]);
        let _ = nix::unistd::dup2_stdout(&saved[1]);
        let _ = nix::unistd::dup2_stderr(&saved[2]);
        started
    };
    let swapped = nix::unistd::dup2_stdin(&in_r)
        .and_then(|_| nix::unistd::dup2_stdout(&out_w))
        .and_then(|_| nix::unistd::dup2_stderr(&err_w));
    if let Err(e) = swapped {
        restore(Err(RtError::Relay(e).into()))?;
    }
    let mut started = restore(run::start(plan, Stdio::Inherit, join).map_err(Error::from))?;
    drop((in_r, out_w, err_w));
    started.outputs = Some((out_r, err_r));
    Ok((started, Input::new(in_w, false)))
}

/// In the monitor, after reporting: watches the container until it exits,
/// starts it again while its restart policy says so, then applies `--rm`
/// (leaving the exit code in `exits` first, for `wait`). Returns what the
/// monitor exits with, as conmon does: the container's last exit code, or
/// 0 when the user ended it (`stop`, `kill`, `rm -f`), so that a systemd
/// unit whose main process is the monitor fails, and restarts with
/// `Restart=on-failure`, only when the container failed on its own.
pub fn supervise(
    store: &Store,
    detached: Detached,
    exits: &Path,
    proc: &Path,
) -> Result<i32, Error> {
    let mut detached = detached;
    // Dropped (and its socket removed) when the monitor is done.
    let mut server = detached.server.take();
    let mut checks = detached.checks.take();
    let mut backoff = Backoff::default();
    loop {
        let plan = detached.plan.clone();
        let restarts = detached.state.restart_count;
        let ran_for = detached.since.elapsed();
        let watched = watch(store, detached, server.as_mut(), checks.as_mut());
        if let Some(s) = server.as_mut() {
            s.end_run();
        }
        let Some(code) = watched? else {
            // Removed while it ran (`rm -f`): nothing left to record.
            return Ok(0);
        };
        if is_restart_due(store, &plan, code, restarts)? {
            std::thread::sleep(backoff.pause(ran_for));
            // The user may have stopped or removed it during the pause.
            if is_restart_due(store, &plan, code, restarts)? {
                super::events::on_plan(&plan, super::events::Status::Restart);
                match start(store, &plan.id, restarts + 1, proc) {
                    Ok(d) => {
                        detached = d;
                        continue;
                    }
                    // Recorded as exited with the reason by `start`.
                    Err(_) => return Ok(code),
                }
            }
        }
        let settings = store.restart_settings(&plan.id).map_err(Error::Store)?;
        // A record gone (removed while it ran) counts as the user's doing.
        let exit = match settings.is_none_or(|s| s.is_stopped_by_user) {
            true => 0,
            false => code,
        };
        if plan.auto_remove {
            match super::wait::remove_leaving_code(store, &plan.id, &plan.maps, exits, Some(code)) {
                Ok(()) | Err(crate::storage::Error::ContainerNotKnown { .. }) => {}
                Err(e) => return Err(Error::Store(e)),
            }
        }
        return Ok(exit);
    }
}

/// Whether container `plan`, having exited with `code` after `restarts`
/// restarts, is to be started again, as its policy (or its health check's
/// `restart` action) and the stopped-by-user mark say now.
fn is_restart_due(store: &Store, plan: &Plan, code: i32, restarts: u32) -> Result<bool, Error> {
    if super::healthcheck::is_restart_due(store, plan)? {
        return Ok(true);
    }
    let settings: Option<RestartSettings> =
        store.restart_settings(&plan.id).map_err(Error::Store)?;
    let Some(settings) = settings else {
        return Ok(false);
    };
    let policy = RestartPolicy::from_record(settings.policy.as_deref());
    Ok(policy.should_restart(code, restarts, settings.is_stopped_by_user))
}

/// Relays the container's output into its log until it exits and records
/// the exit; returns its code, or `None` when its record is gone.
fn watch(
    store: &Store,
    detached: Detached,
    mut server: Option<&mut Server>,
    mut checks: Option<&mut Checks>,
) -> Result<Option<i32>, Error> {
    let Detached {
        plan,
        started,
        state,
        log,
        mut input,
        since,
        ..
    } = detached;
    // --timeout: each run of the container gets its time.
    let mut deadline = plan
        .manage
        .timeout
        .map(|t| since + std::time::Duration::from_secs(t));
    let mut is_timed_out = false;
    // Clients' window sizes go to the pty.
    let master_for_resize = match &started.master {
        Some(m) => Some(
            m.try_clone()
                .map_err(|e| Error::from(RtError::ReceivePty(e)))?,
        ),
        None => None,
    };
    // `run -d` has read its line and may be gone; nothing more goes there.
    if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(null.as_fd());
    }
    let mut sources: Vec<Source> = Vec::new();
    if let Some(master) = started.master {
        sources.push((master, Pending::new(Stream::Stdout), Stream::Stdout));
    }
    if let Some((out, err)) = started.outputs {
        sources.push((out, Pending::new(Stream::Stdout), Stream::Stdout));
        sources.push((err, Pending::new(Stream::Stderr), Stream::Stderr));
    }
    for (fd, _, _) in &sources {
        set_nonblocking(fd)?;
    }
    let pid = started.pid;
    let mut code = None;
    let mut copier = Copier::new(log);
    if let Some(c) = checks.as_deref_mut() {
        c.start();
    }
    let mut is_trimmed = false;
    loop {
        if code.is_some() && sources.is_empty() {
            break;
        }
        // A slow attach client holds the container's output back, until
        // the container has exited: then its pipes are drained regardless.
        let is_held = code.is_none() && server.as_deref().is_some_and(Server::is_backlogged);
        let wanted = match is_held {
            true => PollFlags::empty(),
            false => PollFlags::POLLIN,
        };
        let mut fds = vec![PollFd::new(started.signals.as_fd(), PollFlags::POLLIN)];
        fds.extend(
            sources
                .iter()
                .map(|(fd, _, _)| PollFd::new(fd.as_fd(), wanted)),
        );
        let server_at = fds.len();
        if let Some(s) = server.as_deref() {
            s.add_poll_fds(&mut fds, &input);
        }
        let timeout = match code {
            Some(_) => PollTimeout::from(DRAIN_TIMEOUT_MS),
            None => {
                let next = match (deadline, checks.as_deref().and_then(Checks::due)) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                crate::runtime::relay::poll_timeout(next)
            }
        };
        if !is_trimmed {
            // Start-up is over: what it faulted in need not stay resident.
            // Done right before blocking, so that little code runs (and
            // faults back in) between the release and the idle wait.
            super::trim::release_idle_memory(Path::new("/proc/self/exe"));
            is_trimmed = true;
        }
        let ready = match poll(&mut fds, timeout) {
            Ok(n) => n,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(RtError::Relay(e).into()),
        };
        if code.is_none() && deadline.is_some_and(|d| Instant::now() >= d) {
            // SIGCHLD follows, and the loop reaps it as any exit.
            let _ = nix::sys::signal::kill(started.pid, nix::sys::signal::Signal::SIGKILL);
            deadline = None;
            is_timed_out = true;
        }
        if ready == 0 && code.is_some() {
            // Drained long enough after the exit: whatever still holds a
            // pipe end is not the container's.
            break;
        }
        let flags: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        let revents: Vec<bool> = flags.iter().map(|r| !r.is_empty()).collect();
        if let Some(s) = server.as_deref_mut() {
            let master = master_for_resize.as_ref().map(|m| m.as_fd());
            s.on_ready(&flags[server_at..], &mut input, master);
        }
        copier.copy_ready(&mut sources, &revents[1..], server.as_deref_mut());
        if revents[0] {
            while let Ok(Some(_)) = started.signals.read_signal() {}
            if code.is_none() {
                code = reap(pid)?;
            }
        }
        tend_checks(checks.as_deref_mut(), code.is_some());
    }
    copier.flush(&mut sources);
    drop(copier);
    // Reaped already unless the drain broke off first.
    let code = match code {
        Some(c) => c,
        None => wait_code(pid)?,
    };
    let code = match is_timed_out {
        true => crate::runtime::plan::TIMEOUT_EXIT_CODE,
        false => code,
    };
    // Stop the network helper before recording the exit, so whoever waits
    // for it (`rm -f`, `stop`) finds the published ports free.
    drop(started.network);
    let reason = run::finish_cgroup(&plan.dirs.dir, started.placement.as_ref(), code)
        .then(|| run::OOM_REASON.to_string());
    super::events::on_ended(store, &plan, code);
    match run::record_exit(store, &plan, state, code, reason) {
        Err(crate::storage::Error::ContainerNotKnown { .. }) => Ok(None),
        Err(e) => Err(Error::Store(e)),
        Ok(()) => Ok(Some(code)),
    }
}

/// After a round of the watch loop: starts a due health check and reaps
/// an ended one, or ends one still running once the container has exited
/// (there is nothing left to check).
fn tend_checks(checks: Option<&mut Checks>, has_exited: bool) {
    let Some(c) = checks else {
        return;
    };
    if has_exited {
        c.halt();
    } else {
        c.reap();
        c.tick();
    }
}

/// Waits for the container's init `pid` to exit: its code, 128+N for
/// signal N.
fn wait_code(pid: nix::unistd::Pid) -> Result<i32, Error> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, c)) => return Ok(c),
            Ok(WaitStatus::Signaled(_, s, _)) => return Ok(128 + s as i32),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(RtError::Wait(e).into()),
        }
    }
}

/// One of the container's outputs: its pipe (or the pty master), the
/// start of a line not yet logged, and which stream it is.
type Source = (OwnedFd, Pending, Stream);

/// The container's output on its way to the log and the attach clients:
/// a fixed read buffer and the records of at most `FEED_SIZE` of it.
struct Copier {
    log: LogFile,
    buf: Vec<u8>,
    out: Vec<u8>,
}

impl Copier {
    fn new(log: LogFile) -> Copier {
        Copier {
            log,
            buf: vec![0u8; READ_SIZE],
            out: Vec::new(),
        }
    }

    /// Reads once from each of `sources` that `ready` marks, logs it and
    /// passes it to the attach clients; removes sources at their end.
    fn copy_ready(
        &mut self,
        sources: &mut Vec<Source>,
        ready: &[bool],
        mut server: Option<&mut Server>,
    ) {
        let now = clock::now_rfc3339_nanos();
        let Copier { log, buf, out } = self;
        let mut closed = Vec::new();
        for (i, (fd, pending, stream)) in sources.iter_mut().enumerate() {
            if !ready.get(i).copied().unwrap_or(false) {
                continue;
            }
            let is_open = read_once(fd, buf, |data| {
                if let Some(s) = server.as_deref_mut() {
                    s.broadcast(*stream, data);
                }
                for part in data.chunks(FEED_SIZE) {
                    pending.feed(part, &now, out);
                    write_records(log, out);
                }
            });
            if !is_open {
                pending.flush(&now, out);
                write_records(log, out);
                closed.push(i);
            }
        }
        for i in closed.into_iter().rev() {
            sources.remove(i);
        }
    }

    /// Logs what is left of each source's last line as a partial record.
    fn flush(&mut self, sources: &mut [Source]) {
        let now = clock::now_rfc3339_nanos();
        for (_, pending, _) in sources {
            pending.flush(&now, &mut self.out);
        }
        write_records(&mut self.log, &mut self.out);
    }
}

/// Reads once from `fd` into `buf` and hands what came to `take`; false
/// at end of file (or when the output is gone), true otherwise.
fn read_once(fd: &OwnedFd, buf: &mut [u8], mut take: impl FnMut(&[u8])) -> bool {
    loop {
        match nix::unistd::read(fd, buf) {
            // EIO: the pty's last slave is closed.
            Ok(0) | Err(Errno::EIO) => return false,
            Ok(n) => {
                take(&buf[..n]);
                return true;
            }
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return true,
            Err(_) => return false,
        }
    }
}

/// Appends the records in `out` to the log and empties `out`, keeping its
/// capacity (bounded by `FEED_SIZE`) for the next ones. A full disk loses
/// log lines, never the exit code.
fn write_records(log: &mut LogFile, out: &mut Vec<u8>) {
    if !out.is_empty() {
        let _ = log.write(out);
        out.clear();
    }
}

/// Reaps the container's init if it exited: its code, 128+N for signal N.
fn reap(pid: nix::unistd::Pid) -> Result<Option<i32>, Error> {
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(Some(128 + sig as i32)),
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(RtError::Wait(e).into()),
        }
    }
}

fn set_nonblocking(fd: &OwnedFd) -> Result<(), Error> {
    let flags = fcntl(fd, FcntlArg::F_GETFL).map_err(|e| Error::from(RtError::Relay(e)))?;
    fcntl(
        fd,
        FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
    )
    .map_err(|e| Error::from(RtError::Relay(e)))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_round_trip() {
        assert_eq!(parse_report(&format_report(&Ok(4242))).unwrap(), 4242);
        let err = parse_report(&format_report(&Err((127, "not\nfound".into())))).unwrap_err();
        assert!(
            matches!(err, Error::MonitorFailed { code: 127, ref message } if message == "not found")
        );
        assert!(matches!(parse_report(""), Err(Error::MonitorVanished)));
        assert!(matches!(parse_report("ok x"), Err(Error::MonitorVanished)));
    }
}
