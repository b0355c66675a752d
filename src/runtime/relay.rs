//! The parent's loop while the container runs: forward signals, with `-t`
//! copy bytes between the outer terminal and the pty master, and reap the
//! container's init.
//!
//! Single-threaded: one poll(2) over a signalfd (the signals are blocked
//! before the clone, so none is lost), stdin and the master.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::SignalFd;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::outputs::{Outputs, Sink};
use super::pty;
use super::Error;

/// Signals hutch passes on to the container rather than acting on.
pub const FORWARDED: [Signal; 8] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGALRM,
];

/// ^D: what the pty's line discipline reads as end of input.
const VEOF: u8 = 0x04;

/// The signals the relay reads from its signalfd: the forwarded ones plus
/// SIGCHLD, which says the container may have exited.
pub fn signal_set() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    set
}

/// What the relay does besides copying and reaping.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// `--timeout`: at this instant the container is killed (SIGKILL) and
    /// its exit code is `TIMEOUT_EXIT_CODE`.
    pub deadline: Option<Instant>,
    /// `--sig-proxy`: pass the forwarded signals on (else they are read
    /// and dropped, SIGWINCH still resizing the pty).
    pub is_proxied: bool,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            deadline: None,
            is_proxied: true,
        }
    }
}

impl Policy {
    /// The default policy with `deadline`.
    pub fn until(deadline: Option<Instant>) -> Policy {
        Policy {
            deadline,
            ..Policy::default()
        }
    }
}

/// The time left until `deadline` as a poll(2) timeout (none without
/// one), rounded up so that the poll does not wake early.
pub fn poll_timeout(deadline: Option<Instant>) -> PollTimeout {
    let Some(d) = deadline else {
        return PollTimeout::NONE;
    };
    let left = d.saturating_duration_since(Instant::now());
    let ms = left.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(ms.min(i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
}

/// The `-t` part of the relay.
pub struct Terminal {
    /// The pty master received from init.
    pub master: OwnedFd,
    /// Whether to copy our stdin to the container (`-i`).
    pub is_interactive: bool,
}

/// Runs until the container's init `pid` exits; returns its exit code
/// (128+N when killed by signal N, `TIMEOUT_EXIT_CODE` when `policy`'s
/// deadline killed it).
pub fn relay(
    pid: Pid,
    signals: &SignalFd,
    terminal: Option<Terminal>,
    policy: Policy,
    mut outputs: Option<Outputs<'_>>,
) -> Result<i32, Error> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let outer = [stdin.as_fd(), stdout.as_fd()];
    // Raw mode only when our stdin is a terminal: keys then reach the
    // container unprocessed (^C as a byte, which its pty turns into SIGINT).
    let _raw = match &terminal {
        Some(t) if t.is_interactive => pty::RawMode::enter(stdin.as_fd()),
        _ => None,
    };
    let mut copier = terminal.map(Copier::new).transpose()?;
    let mut deadline = policy.deadline;
    let mut is_timed_out = false;
    loop {
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        if let Some(c) = &copier {
            c.add_poll_fds(&mut fds, stdin.as_fd());
        }
        let pipes_at = fds.len();
        if let Some(o) = &outputs {
            o.add_poll_fds(&mut fds);
        }
        match poll(&mut fds, poll_timeout(deadline)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(Error::Relay(e)),
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            // SIGCHLD follows, and the loop reaps it as any exit.
            let _ = kill(pid, Signal::SIGKILL);
            deadline = None;
            is_timed_out = true;
        }
        let ready: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        let sink = outputs.as_mut().map(Outputs::sink);
        if let Some(c) = &mut copier {
            c.on_ready(&ready[1..pipes_at], stdin.as_fd(), stdout.as_fd(), sink);
        }
        if let Some(o) = &mut outputs {
            o.on_ready(&ready[pipes_at..]);
        }
        if !ready[0].is_empty() {
            let forward = policy.is_proxied;
            if let Some(code) = handle_signals(pid, signals, copier.as_ref(), &outer, forward)? {
                if let Some(c) = &mut copier {
                    c.drain(stdout.as_fd(), outputs.as_mut().map(Outputs::sink));
                }
                if let Some(o) = &mut outputs {
                    o.drain();
                }
                return Ok(match is_timed_out {
                    true => crate::runtime::plan::TIMEOUT_EXIT_CODE,
                    false => code,
                });
            }
        }
    }
}

/// Reads pending signals: forwards them (unless not `is_forwarded`), or
/// on SIGCHLD reaps `pid`.
fn handle_signals(
    pid: Pid,
    signals: &SignalFd,
    copier: Option<&Copier>,
    outer: &[BorrowedFd<'_>],
    is_forwarded: bool,
) -> Result<Option<i32>, Error> {
    while let Some(info) = signals.read_signal().map_err(Error::Relay)? {
        let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
            continue;
        };
        match (sig, copier) {
            (Signal::SIGCHLD, _) => {}
            // With a pty the kernel tells the container about size changes.
            (Signal::SIGWINCH, Some(c)) => pty::copy_window_size(outer, c.master.as_fd()),
            // --sig-proxy=false: read, and dropped.
            _ if !is_forwarded => {}
            // ESRCH: it is exiting already; SIGCHLD follows.
            _ => {
                let _ = kill(pid, sig);
            }
        }
    }
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(Some(code)),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(Some(128 + sig as i32)),
            Ok(WaitStatus::StillAlive) => return Ok(None),
            Ok(_) => continue,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(Error::Wait(e)),
        }
    }
}

/// Copies stdin → master and master → stdout without blocking on the master.
struct Copier {
    master: OwnedFd,
    is_stdin_open: bool,
    is_master_open: bool,
    to_master: Vec<u8>,
}

/// How much stdin we buffer for the master before we stop reading it.
const BUF: usize = 64 * 1024;

impl Copier {
    fn new(t: Terminal) -> Result<Copier, Error> {
        let flags = fcntl(&t.master, FcntlArg::F_GETFL).map_err(Error::Relay)?;
        fcntl(
            &t.master,
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        )
        .map_err(Error::Relay)?;
        Ok(Copier {
            master: t.master,
            is_stdin_open: t.is_interactive,
            is_master_open: true,
            to_master: Vec::new(),
        })
    }

    /// Adds the master (always at index 1) and stdin (index 2, if read).
    fn add_poll_fds<'a>(&'a self, fds: &mut Vec<PollFd<'a>>, stdin: BorrowedFd<'a>) {
        let mut want = PollFlags::empty();
        if self.is_master_open {
            want |= PollFlags::POLLIN;
            if !self.to_master.is_empty() {
                want |= PollFlags::POLLOUT;
            }
        }
        fds.push(PollFd::new(self.master.as_fd(), want));
        if self.is_stdin_open && self.to_master.len() < BUF {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
    }

    fn on_ready(
        &mut self,
        ready: &[PollFlags],
        stdin: BorrowedFd<'_>,
        stdout: BorrowedFd<'_>,
        sink: Option<&mut dyn Sink>,
    ) {
        let master_ready = ready.first().copied().unwrap_or(PollFlags::empty());
        if master_ready.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
            self.copy_out(stdout, sink);
        }
        if master_ready.contains(PollFlags::POLLOUT) {
            self.flush_in();
        }
        let stdin_ready = ready.get(1).copied().unwrap_or(PollFlags::empty());
        if !stdin_ready.is_empty() {
            let mut buf = [0u8; 8192];
            match nix::unistd::read(stdin, &mut buf) {
                Ok(n) if n > 0 => self.to_master.extend_from_slice(&buf[..n]),
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Ok(_) | Err(_) => {
                    // End of our input: the container reads end of input too.
                    self.is_stdin_open = false;
                    self.to_master.push(VEOF);
                }
            }
            self.flush_in();
        }
    }

    /// Master → stdout (and `sink`) until the master would block or is
    /// closed.
    fn copy_out(&mut self, stdout: BorrowedFd<'_>, mut sink: Option<&mut dyn Sink>) {
        let mut buf = [0u8; 16384];
        while self.is_master_open {
            match nix::unistd::read(&self.master, &mut buf) {
                Ok(0) | Err(Errno::EIO) => self.is_master_open = false,
                Ok(n) => {
                    if let Some(s) = sink.as_deref_mut() {
                        s.take(false, &buf[..n]);
                    }
                    write_all(stdout, &buf[..n]);
                }
                Err(Errno::EINTR) => continue,
                Err(_) => break,
            }
        }
    }

    fn flush_in(&mut self) {
        while !self.to_master.is_empty() && self.is_master_open {
            match nix::unistd::write(&self.master, &self.to_master) {
                Ok(n) => {
                    self.to_master.drain(..n);
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => break,
                Err(_) => {
                    self.to_master.clear();
                    break;
                }
            }
        }
    }

    /// After init exits: copy what the pty still holds.
    fn drain(&mut self, stdout: BorrowedFd<'_>, sink: Option<&mut dyn Sink>) {
        self.copy_out(stdout, sink);
    }
}

/// Writes all of `data` to `fd` (waiting in poll(2) when it is
/// non-blocking and full), giving up on errors: the reader went away and
/// the container's exit code still matters. False when it gave up.
pub fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(0) => return false,
            Ok(n) => data = &data[n..],
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => {
                let mut fds = [PollFd::new(fd, PollFlags::POLLOUT)];
                let _ = poll(&mut fds, PollTimeout::NONE);
            }
            Err(_) => return false,
        }
    }
    true
}
