//! The one way hutch forks: a child that reports to its parent.
//!
//! `spawn` creates a close-on-exec report pipe, clones (into the requested
//! namespaces) and runs a closure in the child. The closure never returns
//! normally: it ends in exec (which closes the pipe) or fails, and the
//! failure is sent to the parent as one typed `Message` before the child
//! `_exit`s. The parent reads the pipe: end of file without a message means
//! the child exec'd or finished its job; a message is a typed failure (or,
//! for a child that forked the process that carries on, that process's pid).
//!
//! Every child dies with its parent: it gets SIGKILL when the process
//! that spawned it exits (`PR_SET_PDEATHSIG`, set right after the fork and
//! again by `rearm_parent_death` after a credential change, which clears
//! it), so a killed hutch leaves no helper working on the store.
//!
//! A panic in the child never unwinds into the parent's code and never
//! prints: the panic hook sends it as a `Kind::Panicked` failure, and
//! `catch_unwind` (in builds that unwind; release builds abort) turns it
//! into an `_exit`.
//!
//! Wire format, one `write` per message, each under PIPE_BUF so it arrives
//! whole: length (2 bytes, little endian) of what follows, then a tag (0 a
//! failure, 1 a forked pid). A failure is kind (1 byte), errno (4 bytes,
//! little endian), UTF-8 text; a pid is 4 bytes little endian.

use std::convert::Infallible;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

use super::process::{clone_into, exit_now, thread_count, Forked};

/// What a child's body returns on success: nothing, since it ends in exec
/// or `_exit`.
pub type Never = Infallible;

/// Exit code of a child whose body failed (the parent reads why from the
/// report pipe, not from this code).
pub const EXIT_FAILED: i32 = 125;

/// Longest text sent, keeping the whole message under PIPE_BUF (4096).
const MAX_TEXT: usize = 3072;

/// In a child of `spawn`: the pid of the process that spawned it, for
/// `rearm_parent_death`; 0 elsewhere (in what `Reporter::fork` forks
/// too), or when the child cannot see its parent (a new pid namespace,
/// `CLONE_PARENT`).
static PARENT: AtomicI32 = AtomicI32::new(0);

/// What kind of failure a child reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A setup step failed; the text names the step.
    Setup = 0,
    /// The command was not found; the text is the command.
    NotFound = 1,
    /// The command cannot be invoked; the text is the path.
    CannotInvoke = 2,
    /// The user name is unknown; the text is the name.
    UnknownUser = 3,
    /// The group name is unknown; the text is the name.
    UnknownGroup = 4,
    /// The user resolved to an id the maps lack; the text is the user spec.
    UnmappedUser = 5,
    /// The child panicked; the text is where.
    Panicked = 6,
    /// The working directory the user named is missing or no directory;
    /// the text says which.
    BadWorkdir = 7,
}

impl Kind {
    /// The kind with wire value `v`.
    fn from_u8(v: u8) -> Option<Kind> {
        Some(match v {
            0 => Kind::Setup,
            1 => Kind::NotFound,
            2 => Kind::CannotInvoke,
            3 => Kind::UnknownUser,
            4 => Kind::UnknownGroup,
            5 => Kind::UnmappedUser,
            6 => Kind::Panicked,
            7 => Kind::BadWorkdir,
            _ => return None,
        })
    }
}

/// A failure in the child, as sent over the report pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed.
    pub kind: Kind,
    /// The errno behind it, 0 when none.
    pub errno: i32,
    /// The step, command, path or name.
    pub text: String,
}

impl Failure {
    /// A failed setup step with its errno.
    pub fn step(text: impl Into<String>, errno: Errno) -> Failure {
        Failure {
            kind: Kind::Setup,
            errno: errno as i32,
            text: text.into(),
        }
    }

    /// A failed setup step from an io error.
    pub fn io(text: impl Into<String>, e: &io::Error) -> Failure {
        Failure {
            kind: Kind::Setup,
            errno: e.raw_os_error().unwrap_or(0),
            text: text.into(),
        }
    }

    /// A failed setup step whose text already says everything.
    pub fn text(text: impl Into<String>) -> Failure {
        Failure {
            kind: Kind::Setup,
            errno: 0,
            text: text.into(),
        }
    }
}

/// One message from a child to its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A step failed; the child exits.
    Failed(Failure),
    /// The child forked the process that carries on (as the parent's child,
    /// `CLONE_PARENT`); its pid. The child exits; that process reports on.
    Forked(Pid),
}

impl Message {
    /// Encodes the message as one frame for the pipe.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        match self {
            Message::Failed(f) => {
                let mut text = f.text.as_str();
                if text.len() > MAX_TEXT {
                    let mut end = MAX_TEXT;
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text = &text[..end];
                }
                body.push(0);
                body.push(f.kind as u8);
                body.extend_from_slice(&f.errno.to_le_bytes());
                body.extend_from_slice(text.as_bytes());
            }
            Message::Forked(pid) => {
                body.push(1);
                body.extend_from_slice(&pid.as_raw().to_le_bytes());
            }
        }
        // MAX_TEXT keeps the body far below u16::MAX.
        let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
        let mut out = Vec::with_capacity(2 + body.len());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes a frame's body (what follows the length); `None` when it is
    /// malformed.
    pub fn decode(body: &[u8]) -> Option<Message> {
        let (&tag, rest) = body.split_first()?;
        match tag {
            0 => {
                let (&kind, rest) = rest.split_first()?;
                let kind = Kind::from_u8(kind)?;
                let errno = i32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
                let text = String::from_utf8_lossy(&rest[4..]).into_owned();
                Some(Message::Failed(Failure { kind, errno, text }))
            }
            1 if rest.len() == 4 => {
                let pid = i32::from_le_bytes(rest.try_into().ok()?);
                Some(Message::Forked(Pid::from_raw(pid)))
            }
            _ => None,
        }
    }
}

/// The child's end of the report pipe, lent to its body.
pub struct Reporter {
    pipe: OwnedFd,
}

impl Reporter {
    /// Sends `message` to the parent; a parent that is gone cannot be told.
    pub fn send(&self, message: &Message) {
        send_raw(self.pipe.as_raw_fd(), message);
    }

    /// Forks a process that shares this reporter and runs `body` like a
    /// child of `spawn`; `flags` may ask for new namespaces or
    /// `CLONE_PARENT`. Returns its pid here. Refuses, like `spawn`, when this
    /// process has more than one thread.
    pub fn fork<F>(&self, flags: CloneFlags, body: F) -> io::Result<Pid>
    where
        F: FnOnce(&Reporter) -> Result<Never, Failure>,
    {
        check_single_threaded()?;
        // SAFETY: the process is single-threaded (checked above), so the
        // child's copy of memory holds no lock another thread had taken.
        match unsafe { clone_into(flags) }? {
            Forked::Child => {
                // Not a child of `spawn`: whoever forks it decides whether
                // it dies with its parent (`runtime::launch`).
                PARENT.store(0, Ordering::Relaxed);
                run_body(self, body)
            }
            Forked::Parent(pid) => Ok(pid),
        }
    }

    /// Forks the process that carries on with `body` (`flags` is usually
    /// `CLONE_PARENT`, making it our parent's child), sends the parent its
    /// pid as `Message::Forked` and exits. The new process shares this
    /// reporter and starts `body` only once the pid is sent, so the parent
    /// reads the pid before anything `body` reports. Returns only when the
    /// fork fails.
    pub fn hand_over<F>(&self, flags: CloneFlags, body: F) -> io::Result<Never>
    where
        F: FnOnce(&Reporter) -> Result<Never, Failure>,
    {
        let (wait_r, wait_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        let wait_w_raw = wait_w.as_raw_fd();
        let pid = self.fork(flags, move |reporter| {
            // SAFETY: `wait_w` is owned by the frame below, which this
            // process never returns to (it ends in exec or `_exit`); its copy
            // here must go, or end of file never comes.
            unsafe { close_copy(wait_w_raw) };
            let mut byte = [0u8; 1];
            // End of file: the pid was sent (or our creator died trying).
            while let Err(Errno::EINTR) = nix::unistd::read(&wait_r, &mut byte) {}
            drop(wait_r);
            body(reporter)
        })?;
        self.send(&Message::Forked(pid));
        // Closing our end of the wait pipe releases `pid`.
        drop(wait_w);
        exit_now(0)
    }
}

impl AsFd for Reporter {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.pipe.as_fd()
    }
}

/// The parent's handle on a child from `spawn`.
pub struct Child {
    pid: Pid,
    reports: File,
}

impl Child {
    /// The child's pid.
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Reads the next message; `None` at end of file, when every process
    /// that held the pipe exec'd or exited. A truncated or malformed
    /// message is an `InvalidData` error.
    pub fn read_message(&mut self) -> io::Result<Option<Message>> {
        let mut len = [0u8; 2];
        let mut got = 0;
        while got < len.len() {
            match self.reports.read(&mut len[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(garbled()),
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let mut body = vec![0u8; usize::from(u16::from_le_bytes(len))];
        self.reports
            .read_exact(&mut body)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => garbled(),
                _ => e,
            })?;
        Message::decode(&body).map(Some).ok_or_else(garbled)
    }

    /// Reads until end of file: `Ok(None)` when the child (and whatever it
    /// forked) exec'd or finished without a failure, else the failure.
    /// A `Forked` message here is unexpected and reads as garbled.
    pub fn read_failure(&mut self) -> io::Result<Option<Failure>> {
        match self.read_message()? {
            None => Ok(None),
            Some(Message::Failed(f)) => Ok(Some(f)),
            Some(Message::Forked(_)) => Err(garbled()),
        }
    }

    /// Waits for the child to end.
    pub fn wait(&self) -> nix::Result<WaitStatus> {
        wait_for(self.pid)
    }
}

/// Waits for the child `pid` to end, retrying when a signal interrupts.
pub fn wait_for(pid: Pid) -> nix::Result<WaitStatus> {
    loop {
        match waitpid(pid, None) {
            Err(Errno::EINTR) => continue,
            other => return other,
        }
    }
}

fn garbled() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "garbled child report")
}

/// Forks a child that runs `body` in new namespaces `flags`, with the
/// write end of a close-on-exec report pipe; returns the parent's handle.
///
/// `parent_ends` are fds of this process that the child must not keep
/// (the parent's ends of other pipes to it): the child closes its copies
/// before `body` runs, so each side sees end of file when the other is
/// done. `body` is dropped in the parent, closing the fds it captured
/// there.
///
/// Refuses when this process has more than one thread: the child would
/// get a copy of only this one, with any lock another held still locked.
pub fn spawn<F>(flags: CloneFlags, parent_ends: &[BorrowedFd<'_>], body: F) -> io::Result<Child>
where
    F: FnOnce(&Reporter) -> Result<Never, Failure>,
{
    check_single_threaded()?;
    let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
    let parent = nix::unistd::getpid();
    // SAFETY: the process is single-threaded (checked above), so the
    // child's copy of memory holds no lock another thread had taken.
    match unsafe { clone_into(flags) }? {
        Forked::Child => {
            // A pid namespace of its own hides the parent (getppid(2)
            // gives 0), and CLONE_PARENT gives it our parent instead.
            let is_parent_visible =
                !flags.intersects(CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_PARENT);
            if is_parent_visible {
                PARENT.store(parent.as_raw(), Ordering::Relaxed);
            }
            arm_parent_death();
            drop(read);
            for fd in parent_ends {
                // SAFETY: the owners of these fds live in the parent's frames,
                // which this child never returns to (`run_body` ends in exec
                // or `_exit`, running no destructor), so nothing closes or
                // uses them again here; `body` is told not to.
                unsafe { close_copy(fd.as_raw_fd()) };
            }
            run_body(&Reporter { pipe: write }, body)
        }
        Forked::Parent(pid) => {
            drop(write);
            drop(body);
            Ok(Child {
                pid,
                reports: File::from(read),
            })
        }
    }
}

/// In a program that a child of `spawn` exec'd with its report pipe
/// inherited as `pipe` (the `hutch-enter` helper): makes the pipe
/// close-on-exec again, so that exec still closes it and tells the parent,
/// keeps dying with the parent (the parent death signal survives exec;
/// `rearm_parent_death` renews it after a credential change), and runs
/// `body` like a child of `spawn`. Never returns.
pub fn run_inherited<F>(pipe: OwnedFd, body: F) -> !
where
    F: FnOnce(&Reporter) -> Result<Never, Failure>,
{
    let cloexec = nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC);
    let reporter = Reporter { pipe };
    if let Err(e) = nix::fcntl::fcntl(reporter.pipe.as_fd(), cloexec) {
        reporter.send(&Message::Failed(Failure::step(
            "making the report pipe close-on-exec",
            e,
        )));
        exit_now(EXIT_FAILED);
    }
    PARENT.store(nix::unistd::getppid().as_raw(), Ordering::Relaxed);
    arm_parent_death();
    run_body(&reporter, body)
}

/// In a child of `spawn`: asks for SIGKILL when the parent exits again
/// (a change of the process's credentials, as `setresuid` to root in a
/// user namespace may be, clears the request), and exits at once when the
/// parent is already gone. Does nothing in a process `spawn` did not fork.
pub fn rearm_parent_death() {
    if PARENT.load(Ordering::Relaxed) != 0 {
        arm_parent_death();
    }
}

/// Sets the parent death signal to SIGKILL, then exits when the parent
/// `spawn` recorded has already exited (the signal would never come: the
/// child was reparented before it asked).
fn arm_parent_death() {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    let parent = PARENT.load(Ordering::Relaxed);
    // getppid(2) is 0 once the parent is outside our pid namespace.
    let ppid = nix::unistd::getppid().as_raw();
    if parent != 0 && ppid != 0 && ppid != parent {
        exit_now(EXIT_FAILED);
    }
}

/// In a child: runs `body`, reports its failure (a panic is reported by
/// the hook), and exits. Never returns.
fn run_body<F>(reporter: &Reporter, body: F) -> !
where
    F: FnOnce(&Reporter) -> Result<Never, Failure>,
{
    let raw = reporter.pipe.as_raw_fd();
    // The hook runs before unwinding and before a release build aborts,
    // so a panic is reported either way; it prints nothing.
    std::panic::set_hook(Box::new(move |info| {
        let where_ = info
            .location()
            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()));
        send_raw(
            raw,
            &Message::Failed(Failure {
                kind: Kind::Panicked,
                errno: 0,
                text: where_,
            }),
        );
    }));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(reporter)));
    if let Ok(Err(failure)) = result {
        reporter.send(&Message::Failed(failure));
    }
    exit_now(EXIT_FAILED)
}

/// Writes `message` to the raw pipe fd `fd` in one write.
fn send_raw(fd: RawFd, message: &Message) {
    let frame = message.encode();
    // SAFETY: write(2) only reads `frame`, which outlives the call; `fd` is
    // the report pipe, open for this process's life (a process that closed
    // it gets EBADF, which is ignored: no one could be told anyway).
    unsafe {
        libc::write(fd, frame.as_ptr().cast(), frame.len());
    }
}

/// Closes the fd number `fd` of this process.
///
/// # Safety
///
/// Nothing may use or close `fd` afterwards: its owner, if any, must never
/// be dropped or used again in this process.
unsafe fn close_copy(fd: RawFd) {
    // SAFETY: the caller guarantees no owner of `fd` acts on it again.
    unsafe {
        libc::close(fd);
    }
}

/// Errors when this process has more than one thread (in all builds).
fn check_single_threaded() -> io::Result<()> {
    match thread_count() {
        Some(n) if n > 1 => Err(io::Error::other(format!(
            "cannot fork from a process with {n} threads"
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let f = Message::Failed(Failure::step("mounting /proc", Errno::EPERM));
        let frame = f.encode();
        assert_eq!(
            usize::from(u16::from_le_bytes([frame[0], frame[1]])),
            frame.len() - 2
        );
        assert_eq!(Message::decode(&frame[2..]), Some(f));
        let p = Message::Forked(Pid::from_raw(4242));
        assert_eq!(Message::decode(&p.encode()[2..]), Some(p));
    }

    #[test]
    fn long_texts_are_cut_to_fit_one_pipe_write() {
        let long = Message::Failed(Failure {
            kind: Kind::NotFound,
            errno: 0,
            text: "é".repeat(4000),
        });
        let frame = long.encode();
        assert!(frame.len() < 4096);
        let Some(Message::Failed(back)) = Message::decode(&frame[2..]) else {
            panic!("not a failure");
        };
        assert_eq!(back.kind, Kind::NotFound);
    }

    #[test]
    fn malformed_messages_are_refused() {
        assert_eq!(Message::decode(&[0, 9, 0, 0, 0, 0]), None);
        assert_eq!(Message::decode(&[0, 0, 1]), None);
        assert_eq!(Message::decode(&[1, 0, 0]), None);
        assert_eq!(Message::decode(&[7]), None);
        assert_eq!(Message::decode(&[]), None);
    }
}
