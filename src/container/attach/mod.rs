//! Attaching to a detached container: the monitor's side (a Unix socket
//! in the run directory that any number of clients connect to, getting the
//! container's output as it is written and feeding its stdin when it was
//! started with `-i`) and the client's side (`hutch attach`, `start -a`).
//!
//! Both sides are single-threaded poll(2) loops; the monitor never blocks
//! on a client: writes to clients are non-blocking. A client slower than
//! the container holds the container back instead (as conmon's blocking
//! writes to its attach clients do): while any client has `HIGH_WATER`
//! bytes unsent, the monitor stops reading the container's output, whose
//! writes then block on the full pipe. So the monitor's memory stays
//! bounded and neither the log nor a client loses output. Only after the
//! container has exited, when what is left in its pipes is read regardless,
//! is a client whose unsent output passes `MAX_BACKLOG` dropped.
//!
//! Wire format: frames of a 1-byte kind, a 4-byte big-endian length and
//! the payload. With `-t` all output is one stream (stdout).

mod wire;

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use super::logfile::Stream;
use super::{lifecycle, WaitCondition};
use crate::runtime::pty;
use crate::runtime::relay::write_all;
use crate::storage::{ContainerStatus, Store};

/// The directory under the run directory holding the attach sockets.
const ATTACH_DIR: &str = "attach";

/// Unsent output of a client at which the monitor stops reading the
/// container's output until the client has taken it.
const HIGH_WATER: usize = 64 * 1024;

/// Unsent output a client may have before the monitor drops it (reached
/// only while draining the pipes of an exited container).
const MAX_BACKLOG: usize = 1 << 20;

/// Input for the container the monitor buffers before it stops reading
/// clients.
const MAX_INPUT: usize = 64 * 1024;

/// The largest frame payload accepted; anything larger is a broken peer.
const MAX_FRAME: usize = 1 << 20;

/// Output of a run kept for a client that connects later and asks for it
/// (`start -a`, which can only connect once the container runs).
const REPLAY_LIMIT: usize = 8 * 1024;

/// ^D: what a pty's line discipline reads as end of input.
const VEOF: u8 = 0x04;

/// The proc root for lifecycle look-ups.
const PROC: &str = "/proc";

/// What went wrong attaching.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Creating the attach directory or socket in the monitor.
    #[error("creating the attach socket in {path}")]
    Bind {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Connecting to a container's attach socket.
    #[error("connecting to container {name}")]
    Connect {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// Copying between the terminal and the container.
    #[error("relaying to container {name}")]
    Relay {
        name: String,
        #[source]
        source: std::io::Error,
    },
    /// A `--detach-keys` value that does not parse.
    #[error(
        "invalid detach keys {0:?}: use ctrl-<letter> or single characters separated by commas"
    )]
    InvalidDetachKeys(String),
    /// Looking up, signalling or waiting for the container.
    #[error(transparent)]
    Container(Box<super::Error>),
}

impl crate::error::Diagnose for Error {}

impl From<super::Error> for Error {
    fn from(e: super::Error) -> Error {
        Error::Container(Box::new(e))
    }
}

use wire::{decode_winsize, encode_winsize};
pub use wire::{
    encode, parse_detach_keys, BadFrame, Decoder, DetachMatcher, Kind, DEFAULT_DETACH_KEYS,
};

// --- the monitor's side -------------------------------------------------------------

/// The directory holding attach sockets under the run directory `runroot`.
pub fn attach_dir(runroot: &Path) -> PathBuf {
    runroot.join(ATTACH_DIR)
}

/// The container's stdin as the monitor holds it (`-i`): the write end of
/// its stdin pipe, or a copy of the pty master.
pub struct Input {
    fd: Option<OwnedFd>,
    is_tty: bool,
    pending: Vec<u8>,
    is_closing: bool,
}

impl Input {
    /// Input through `fd` (made non-blocking); `is_tty` when it is the
    /// pty master, where end of input is a ^D rather than a close.
    pub fn new(fd: OwnedFd, is_tty: bool) -> Input {
        let _ = set_nonblocking(fd.as_fd());
        Input {
            fd: Some(fd),
            is_tty,
            pending: Vec::new(),
            is_closing: false,
        }
    }

    /// No stdin: what clients send is dropped.
    pub fn none() -> Input {
        Input {
            fd: None,
            is_tty: false,
            pending: Vec::new(),
            is_closing: false,
        }
    }

    fn is_full(&self) -> bool {
        self.pending.len() >= MAX_INPUT
    }

    fn push(&mut self, data: &[u8]) {
        if self.fd.is_some() && !self.is_closing {
            self.pending.extend_from_slice(data);
        }
    }

    fn close(&mut self) {
        if self.is_tty {
            self.push(&[VEOF]);
        } else {
            self.is_closing = true;
        }
        self.flush();
    }

    /// Writes what is pending without blocking.
    fn flush(&mut self) {
        let Some(fd) = &self.fd else {
            self.pending.clear();
            return;
        };
        while !self.pending.is_empty() {
            match nix::unistd::write(fd, &self.pending) {
                Ok(n) => {
                    self.pending.drain(..n);
                }
                Err(Errno::EINTR) => continue,
                Err(Errno::EAGAIN) => return,
                // EPIPE: the container closed its stdin; nothing more goes.
                Err(_) => {
                    self.pending.clear();
                    self.fd = None;
                    return;
                }
            }
        }
        if self.is_closing {
            self.fd = None;
        }
    }
}

struct Client {
    stream: UnixStream,
    out: Vec<u8>,
    decoder: Decoder,
    /// This run's early output, until the client asks for it or sends
    /// anything else.
    held: Option<Vec<u8>>,
    /// Whether its first frame was answered with `Hello`; until then
    /// nothing is sent, so a client the run ends before greeting gets
    /// nothing and reads the log instead (none of it twice).
    is_greeted: bool,
}

/// The monitor's attach socket and its clients.
pub struct Server {
    listener: UnixListener,
    dir: OwnedFd,
    name: String,
    clients: Vec<Client>,
    replay: Option<Vec<u8>>,
}

/// A path naming `name` inside the open directory `dir`, short enough for
/// sun_path (108 bytes) however deep the run directory is.
fn path_in(dir: BorrowedFd<'_>, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}/{name}", dir.as_raw_fd()))
}

fn socket_name(id: &str) -> String {
    format!("{id}.sock")
}

impl Server {
    /// Binds container `id`'s attach socket in `dir` (created 0700),
    /// replacing a stale one; it is removed again when dropped.
    pub fn bind(dir: &Path, id: &str) -> Result<Server, Error> {
        let err = |source| Error::Bind {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
        let dir_fd: OwnedFd = std::fs::File::open(dir).map_err(err)?.into();
        let name = socket_name(id);
        let path = path_in(dir_fd.as_fd(), &name);
        let _ = std::fs::remove_file(&path);
        // The directory is private; 0600 keeps the socket so if it moves.
        let listener = UnixListener::bind(&path).map_err(err)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
        listener.set_nonblocking(true).map_err(err)?;
        Ok(Server {
            listener,
            dir: dir_fd,
            name,
            clients: Vec::new(),
            replay: Some(Vec::new()),
        })
    }

    /// Adds the listener and the clients to `fds`; clients are read only
    /// while `input` has room.
    pub fn add_poll_fds<'a>(&'a self, fds: &mut Vec<PollFd<'a>>, input: &Input) {
        fds.push(PollFd::new(self.listener.as_fd(), PollFlags::POLLIN));
        for c in &self.clients {
            let mut want = PollFlags::empty();
            if !input.is_full() {
                want |= PollFlags::POLLIN;
            }
            if !c.out.is_empty() {
                want |= PollFlags::POLLOUT;
            }
            fds.push(PollFd::new(c.stream.as_fd(), want));
        }
    }

    /// Acts on poll's results for the fds `add_poll_fds` added: accepts
    /// clients, passes their input on, resizes `master`, sends output.
    pub fn on_ready(
        &mut self,
        ready: &[PollFlags],
        input: &mut Input,
        master: Option<BorrowedFd<'_>>,
    ) {
        let mut is_dead = vec![false; self.clients.len()];
        for (i, c) in self.clients.iter_mut().enumerate() {
            let r = ready.get(i + 1).copied().unwrap_or(PollFlags::empty());
            if r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR) {
                is_dead[i] = !read_client(c, input, master);
            }
            if !is_dead[i] && !c.out.is_empty() {
                is_dead[i] = !write_client(c);
            }
        }
        let mut i = 0;
        self.clients.retain(|_| {
            i += 1;
            !is_dead[i - 1]
        });
        input.flush();
        if ready.first().is_some_and(|r| !r.is_empty()) {
            while let Ok((stream, _)) = self.listener.accept() {
                if stream.set_nonblocking(true).is_err() {
                    continue;
                }
                // The first client after the start may ask for its output.
                let held = self.replay.take();
                self.clients.push(Client {
                    stream,
                    is_greeted: false,
                    out: Vec::new(),
                    decoder: Decoder::default(),
                    held,
                });
            }
        }
    }

    /// Whether a client has so much output unsent that the container's
    /// output must wait (see the module comment).
    pub fn is_backlogged(&self) -> bool {
        self.clients.iter().any(|c| c.out.len() >= HIGH_WATER)
    }

    /// Sends output of `stream` to every client.
    pub fn broadcast(&mut self, stream: Stream, data: &[u8]) {
        let kind = match stream {
            Stream::Stdout => Kind::Stdout,
            Stream::Stderr => Kind::Stderr,
        };
        if let Some(replay) = &mut self.replay {
            if replay.len() + data.len() + 5 <= REPLAY_LIMIT {
                encode(kind, data, replay);
            }
        }
        self.clients.retain_mut(|c| {
            encode(kind, data, &mut c.out);
            write_client(c) && c.out.len() <= MAX_BACKLOG
        });
    }

    /// The container's run ended: send what is left (as far as clients
    /// take it now) and disconnect everyone, who then read the exit code
    /// from the record.
    pub fn end_run(&mut self) {
        for mut c in self.clients.drain(..) {
            let _ = write_client(&mut c);
        }
        self.replay = Some(Vec::new());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(path_in(self.dir.as_fd(), &self.name));
    }
}

/// Reads a client's frames; false when it is gone or broke the protocol.
fn read_client(c: &mut Client, input: &mut Input, master: Option<BorrowedFd<'_>>) -> bool {
    let mut buf = [0u8; 8192];
    loop {
        match c.stream.read(&mut buf) {
            Ok(0) => return false,
            Ok(n) => c.decoder.feed(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(_) => return false,
        }
        if input.is_full() {
            break;
        }
    }
    loop {
        match c.decoder.next_frame() {
            Ok(None) => return true,
            Err(BadFrame) => return false,
            Ok(Some((kind, payload))) => {
                let held = c.held.take();
                match kind {
                    Kind::Replay => {
                        let mut first = Vec::new();
                        encode(Kind::Hello, &[], &mut first);
                        if let Some(mut early) = held.filter(|_| payload.as_slice() != [0]) {
                            first.append(&mut early);
                        }
                        first.append(&mut c.out);
                        c.out = first;
                        c.is_greeted = true;
                    }
                    Kind::Stdin => input.push(&payload),
                    Kind::CloseStdin => input.close(),
                    Kind::Resize => {
                        if let (Some(m), Some(ws)) = (master, decode_winsize(&payload)) {
                            let _ = crate::sys::pty::set_window_size(m, &ws);
                        }
                    }
                    Kind::Stdout | Kind::Stderr | Kind::Hello => return false,
                }
            }
        }
    }
}

/// Writes what a client can take now; false when it is gone.
fn write_client(c: &mut Client) -> bool {
    while c.is_greeted && !c.out.is_empty() {
        match c.stream.write(&c.out) {
            Ok(0) => return false,
            Ok(n) => {
                c.out.drain(..n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return true,
            Err(_) => return false,
        }
    }
    true
}

fn set_nonblocking(fd: BorrowedFd<'_>) -> nix::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let flags = fcntl(fd, FcntlArg::F_GETFL)?;
    fcntl(
        fd,
        FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
    )?;
    Ok(())
}

// --- the client's side --------------------------------------------------------------

/// How a client attaches.
#[derive(Debug, Clone)]
pub struct Options {
    /// The detach sequence (empty: none).
    pub detach_keys: Vec<u8>,
    /// Whether to send our stdin (when the container has one).
    pub is_stdin_sent: bool,
    /// Whether the end of our stdin closes the container's (`start -a -i`).
    pub is_stdin_closed_at_eof: bool,
    /// Whether to pass signals we get on to the container.
    pub is_sig_proxied: bool,
    /// Whether to ask for the output the container wrote before we
    /// connected (`start -a`, connecting right after the start).
    pub is_replayed: bool,
}

/// How an attach ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The container exited with this code.
    Exited(i32),
    /// The user typed the detach sequence; the container runs on.
    Detached,
}

/// Attaches to the running container `name` until it exits or the user
/// detaches; `runroot` is the run directory. Must be called single-threaded
/// (it blocks signals for a signalfd).
pub fn attach(store: &Store, name: &str, runroot: &Path, opts: &Options) -> Result<Outcome, Error> {
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut output = |kind: Kind, data: &[u8]| {
        let out = match kind {
            Kind::Stderr => stderr.as_fd(),
            _ => stdout.as_fd(),
        };
        write_all(out, data);
    };
    let mut ends = Ends {
        input: stdin.as_fd(),
        output: &mut output,
        is_terminal: true,
    };
    attach_with(store, name, runroot, opts, &mut ends)
}

/// The two ends of an attach other than the monitor: where the
/// container's input comes from and its output goes.
pub struct Ends<'a> {
    /// Read for the container's stdin (when it is sent).
    pub input: BorrowedFd<'a>,
    /// Takes each piece of output, `Kind::Stdout` or `Kind::Stderr`.
    pub output: &'a mut dyn FnMut(Kind, &[u8]),
    /// Whether the ends are the user's terminal: raw mode and the window
    /// size apply (not for a REST client's stream).
    pub is_terminal: bool,
}

/// `attach` with other ends than our stdio (the REST API's hijacked
/// stream). Must be called single-threaded.
pub fn attach_with(
    store: &Store,
    name: &str,
    runroot: &Path,
    opts: &Options,
    ends: &mut Ends<'_>,
) -> Result<Outcome, Error> {
    let info = lifecycle::find(store, name, Path::new(PROC), None)?;
    if info.state.status != ContainerStatus::Running {
        return Err(super::Error::NotRunning(name.to_string()).into());
    }
    let id = info.record.id.clone();
    let plan = super::load_spec(&info)?;
    let dir = attach_dir(runroot);
    let connect_err = |source| Error::Connect {
        name: name.to_string(),
        source,
    };
    let dir_fd: OwnedFd = std::fs::File::open(&dir).map_err(connect_err)?.into();
    let stream = match UnixStream::connect(path_in(dir_fd.as_fd(), &socket_name(&id))) {
        Ok(s) => s,
        // No socket: the monitor is gone or the container stopped meanwhile.
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Err(super::Error::NotRunning(name.to_string()).into());
        }
        Err(e) => return Err(connect_err(e)),
    };
    drop(dir_fd);
    let relay_err = |source| Error::Relay {
        name: name.to_string(),
        source,
    };
    let is_stdin_sent = opts.is_stdin_sent && plan.interactive;
    let Some(outcome) = relay(
        &stream,
        store,
        runroot,
        &id,
        plan.tty,
        is_stdin_sent,
        opts,
        ends,
    )
    .map_err(relay_err)?
    else {
        // The monitor was leaving as we connected: the container ended.
        return Err(super::Error::NotRunning(name.to_string()).into());
    };
    if outcome == Outcome::Detached {
        return Ok(outcome);
    }
    let exits = super::wait::exits_dir(runroot);
    let stopped = [WaitCondition::Stopped];
    let interval = super::wait::DEFAULT_INTERVAL;
    let code = super::wait_for(store, &id, name, &stopped, interval, &exits)?;
    Ok(Outcome::Exited(code.unwrap_or(0)))
}

/// Signals `attach` handles: the proxied ones and SIGWINCH.
fn client_signals() -> SigSet {
    let mut set = SigSet::empty();
    for s in crate::runtime::relay::FORWARDED {
        set.add(s);
    }
    set
}

/// Copies frames to our stdout/stderr and stdin to the socket until the
/// socket closes or the user detaches; `None` when the monitor closed the
/// connection without serving it (no `Hello`). `runroot` is the run
/// directory.
#[allow(clippy::too_many_arguments)]
fn relay(
    stream: &UnixStream,
    store: &Store,
    runroot: &Path,
    id: &str,
    is_tty: bool,
    is_stdin_sent: bool,
    opts: &Options,
    ends: &mut Ends<'_>,
) -> std::io::Result<Option<Outcome>> {
    let stdin = ends.input;
    let set = client_signals();
    let mut old = SigSet::empty();
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))?;
    let _restore = RestoreMask(old);
    let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
    let _raw = if is_tty && is_stdin_sent && ends.is_terminal {
        pty::RawMode::enter(stdin)
    } else {
        None
    };
    let mut to_send = Vec::new();
    // Always first: the monitor answers it with Hello.
    encode(Kind::Replay, &[u8::from(opts.is_replayed)], &mut to_send);
    let stdout = std::io::stdout();
    let outer = [stdin, stdout.as_fd()];
    let is_tty_outer = is_tty && ends.is_terminal;
    if is_tty_outer {
        if let Some(ws) = pty::outer_window_size(&outer) {
            encode(Kind::Resize, &encode_winsize(&ws), &mut to_send);
        }
    }
    let mut writer = stream;
    writer.write_all(&to_send)?;
    to_send.clear();
    let mut matcher = DetachMatcher::new(opts.detach_keys.clone());
    let mut decoder = Decoder::default();
    let mut is_served = false;
    let mut is_stdin_open = is_stdin_sent;
    let mut reader = stream;
    loop {
        let mut fds = vec![
            PollFd::new(stream.as_fd(), PollFlags::POLLIN),
            PollFd::new(signals.as_fd(), PollFlags::POLLIN),
        ];
        if is_stdin_open {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<PollFlags> = fds
            .iter()
            .map(|f| f.revents().unwrap_or(PollFlags::empty()))
            .collect();
        drop(fds);
        if !ready[1].is_empty() {
            while let Ok(Some(info)) = signals.read_signal() {
                let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                    continue;
                };
                if sig == Signal::SIGWINCH {
                    if is_tty_outer {
                        if let Some(ws) = pty::outer_window_size(&outer) {
                            encode(Kind::Resize, &encode_winsize(&ws), &mut to_send);
                        }
                    }
                } else if opts.is_sig_proxied {
                    // It may be exiting already; the socket says when.
                    let exits = super::wait::exits_dir(runroot);
                    let _ = lifecycle::kill(store, id, sig, Path::new(PROC), &exits);
                }
            }
        }
        if ready.get(2).is_some_and(|r| !r.is_empty()) {
            let mut buf = [0u8; 8192];
            match nix::unistd::read(stdin, &mut buf) {
                Ok(n) if n > 0 => {
                    let mut typed = Vec::new();
                    let is_detached = matcher.feed(&buf[..n], &mut typed);
                    if !typed.is_empty() {
                        encode(Kind::Stdin, &typed, &mut to_send);
                    }
                    if is_detached {
                        writer.write_all(&to_send)?;
                        return Ok(Some(Outcome::Detached));
                    }
                }
                Err(Errno::EINTR | Errno::EAGAIN) => {}
                Ok(_) | Err(_) => {
                    is_stdin_open = false;
                    if opts.is_stdin_closed_at_eof {
                        encode(Kind::CloseStdin, &[], &mut to_send);
                    }
                }
            }
        }
        if !to_send.is_empty() {
            // The monitor reads without blocking on us, so this is short;
            // a monitor gone away shows as end of file below.
            let _ = writer.write_all(&to_send);
            to_send.clear();
        }
        if !ready[0].is_empty() {
            let mut buf = [0u8; 16384];
            let n = match reader.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            if n == 0 {
                return Ok(is_served.then_some(Outcome::Exited(0)));
            }
            decoder.feed(&buf[..n]);
            while let Ok(Some((kind, payload))) = decoder.next_frame() {
                match kind {
                    Kind::Hello => is_served = true,
                    Kind::Stderr => (ends.output)(Kind::Stderr, &payload),
                    _ => (ends.output)(Kind::Stdout, &payload),
                }
            }
        }
    }
}

/// Restores the signal mask when dropped.
struct RestoreMask(SigSet);

impl Drop for RestoreMask {
    fn drop(&mut self) {
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut wire = Vec::new();
        encode(Kind::Stdout, b"hello", &mut wire);
        encode(Kind::Stderr, b"", &mut wire);
        encode(Kind::Resize, &[0, 24, 0, 80], &mut wire);
        let mut d = Decoder::default();
        let mut got = Vec::new();
        for b in &wire {
            d.feed(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        assert_eq!(
            got,
            vec![
                (Kind::Stdout, b"hello".to_vec()),
                (Kind::Stderr, Vec::new()),
                (Kind::Resize, vec![0, 24, 0, 80]),
            ]
        );
        let ws = decode_winsize(&got[2].1).unwrap();
        assert_eq!((ws.ws_row, ws.ws_col), (24, 80));
    }

    #[test]
    fn decoder_refuses_unknown_kinds_and_huge_frames() {
        let mut d = Decoder::default();
        d.feed(&[9, 0, 0, 0, 0]);
        assert_eq!(d.next_frame(), Err(BadFrame));
        let mut d = Decoder::default();
        d.feed(&[0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(d.next_frame(), Err(BadFrame));
    }

    #[test]
    fn detach_keys_parse_as_podman_writes_them() {
        assert_eq!(
            parse_detach_keys("ctrl-p,ctrl-q").unwrap(),
            vec![0x10, 0x11]
        );
        assert_eq!(parse_detach_keys("").unwrap(), Vec::<u8>::new());
        assert_eq!(
            parse_detach_keys("a,ctrl-A,ctrl-@,ctrl-[").unwrap(),
            vec![b'a', 1, 0, 0x1b]
        );
        for bad in ["ctrl-", "ctrl-pq", "ab", "ctrl-1", ",", "é"] {
            assert!(parse_detach_keys(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn detach_matcher_holds_back_only_a_partial_sequence() {
        let mut m = DetachMatcher::new(vec![0x10, 0x11]);
        let mut out = Vec::new();
        assert!(!m.feed(b"ab\x10", &mut out));
        assert_eq!(out, b"ab");
        assert!(!m.feed(b"c\x10\x10", &mut out));
        assert_eq!(out, b"ab\x10c\x10");
        assert!(m.feed(b"\x11", &mut out));
        assert_eq!(out, b"ab\x10c\x10");
        let mut none = DetachMatcher::new(Vec::new());
        let mut out = Vec::new();
        assert!(!none.feed(b"\x10\x11", &mut out));
        assert_eq!(out, b"\x10\x11");
    }
}
