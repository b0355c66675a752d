//! The foreground container's stdout and stderr on pipes: the relay copies
//! them to ours and hands them to a `Sink` (the container's log), as
//! Podman's foreground `run` logs what it shows.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::Error;

/// What also receives the container's output.
pub trait Sink {
    /// `data` came from the container's stdout, or its stderr when
    /// `is_stderr`; with `-t` everything is stdout.
    fn take(&mut self, is_stderr: bool, data: &[u8]);
    /// The container is gone: what is left of its last lines.
    fn finish(&mut self);
}

/// How long the relay waits for output still in flight once the container
/// has exited; its pipes are normally at end of file by then.
const DRAIN_MS: u16 = 200;

/// The output side of the foreground relay.
pub struct Outputs<'s> {
    /// Without `-t`: the read ends of the container's stdout and stderr,
    /// each with whether it is an error stream, and whether `-a` left it
    /// out of what this process shows.
    pipes: Vec<Pipe>,
    sink: &'s mut dyn Sink,
}

struct Pipe {
    fd: OwnedFd,
    is_stderr: bool,
    is_shown: bool,
}

impl<'s> Outputs<'s> {
    /// `pipes`: the container's (stdout, stderr) read ends, `None` with
    /// `-t` (the pty's output reaches `sink` through the relay's copier);
    /// `drops`: (stdout, stderr) not shown, as `-a` says.
    pub fn new(
        pipes: Option<(OwnedFd, OwnedFd)>,
        drops: (bool, bool),
        sink: &'s mut dyn Sink,
    ) -> Result<Outputs<'s>, Error> {
        let mut out = Vec::new();
        if let Some((o, e)) = pipes {
            for (fd, is_stderr, is_dropped) in [(o, false, drops.0), (e, true, drops.1)] {
                let flags = fcntl(&fd, FcntlArg::F_GETFL).map_err(Error::Relay)?;
                fcntl(
                    &fd,
                    FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
                )
                .map_err(Error::Relay)?;
                out.push(Pipe {
                    fd,
                    is_stderr,
                    is_shown: !is_dropped,
                });
            }
        }
        Ok(Outputs { pipes: out, sink })
    }

    /// The sink, for the pty's output.
    pub fn sink(&mut self) -> &mut dyn Sink {
        self.sink
    }

    /// Adds the open pipes to `fds`, in order.
    pub fn add_poll_fds<'a>(&'a self, fds: &mut Vec<PollFd<'a>>) {
        for p in &self.pipes {
            fds.push(PollFd::new(p.fd.as_fd(), PollFlags::POLLIN));
        }
    }

    /// Copies from the pipes `ready` marks (in `add_poll_fds`' order).
    pub fn on_ready(&mut self, ready: &[PollFlags]) {
        let mut closed = Vec::new();
        for (i, p) in self.pipes.iter().enumerate() {
            if ready.get(i).is_some_and(|r| !r.is_empty()) && !copy_once(p, self.sink) {
                closed.push(i);
            }
        }
        for i in closed.into_iter().rev() {
            self.pipes.remove(i);
        }
    }

    /// After the container's exit: copies what its pipes still hold, then
    /// finishes the sink.
    pub fn drain(&mut self) {
        while !self.pipes.is_empty() {
            let mut fds = Vec::new();
            self.add_poll_fds(&mut fds);
            match poll(&mut fds, PollTimeout::from(DRAIN_MS)) {
                Ok(0) => break,
                Ok(_) | Err(Errno::EINTR) => {}
                Err(_) => break,
            }
            let ready: Vec<PollFlags> = fds
                .iter()
                .map(|f| f.revents().unwrap_or(PollFlags::empty()))
                .collect();
            drop(fds);
            self.on_ready(&ready);
        }
        self.sink.finish();
    }
}

/// Reads once from `p` and passes it on; false at its end, or when what
/// this process shows it on is gone (the pipe is then closed, so the
/// container's next write fails as it would have without the relay).
fn copy_once(p: &Pipe, sink: &mut dyn Sink) -> bool {
    let mut buf = [0u8; 16384];
    loop {
        match nix::unistd::read(&p.fd, &mut buf) {
            Ok(0) => return false,
            Ok(n) => {
                sink.take(p.is_stderr, &buf[..n]);
                if !p.is_shown {
                    return true;
                }
                let stdout = std::io::stdout();
                let stderr = std::io::stderr();
                let ours: BorrowedFd<'_> = match p.is_stderr {
                    true => stderr.as_fd(),
                    false => stdout.as_fd(),
                };
                return super::relay::write_all(ours, &buf[..n]);
            }
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return true,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Kept {
        out: Vec<u8>,
        err: Vec<u8>,
        finished: bool,
    }

    impl Sink for Kept {
        fn take(&mut self, is_stderr: bool, data: &[u8]) {
            match is_stderr {
                true => self.err.extend_from_slice(data),
                false => self.out.extend_from_slice(data),
            }
        }
        fn finish(&mut self) {
            self.finished = true;
        }
    }

    #[test]
    fn drain_hands_both_streams_to_the_sink_and_finishes() {
        let (out_r, out_w) = crate::userns::pipe().unwrap();
        let (err_r, err_w) = crate::userns::pipe().unwrap();
        nix::unistd::write(&out_w, b"one\ntwo").unwrap();
        nix::unistd::write(&err_w, b"oops\n").unwrap();
        drop((out_w, err_w));
        let mut kept = Kept::default();
        // Dropped from what is shown, so the test prints nothing.
        let mut o = Outputs::new(Some((out_r, err_r)), (true, true), &mut kept).unwrap();
        o.drain();
        assert_eq!(kept.out, b"one\ntwo");
        assert_eq!(kept.err, b"oops\n");
        assert!(kept.finished);
    }
}
