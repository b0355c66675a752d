//! The parent's side of `-t`: receiving the pty master from init, putting
//! the outer terminal in raw mode (and always restoring it), and copying
//! window sizes.

use std::os::fd::{BorrowedFd, OwnedFd};

use nix::sys::termios::{self, SetArg, Termios};

use crate::sys::pty::{self, Winsize};

/// Sends the pty master over the socketpair (init's side).
pub fn send_master(sock: BorrowedFd<'_>, master: BorrowedFd<'_>) -> std::io::Result<()> {
    crate::sys::socket::send_fd(sock, master)
}

/// Receives the pty master; `None` when init closed the socket first (it
/// failed, and says why on the error pipe).
pub fn recv_master(sock: BorrowedFd<'_>) -> std::io::Result<Option<OwnedFd>> {
    crate::sys::socket::recv_fd(sock)
}

/// The outer terminal in raw mode; restores the saved mode when dropped,
/// so every way out of `run` (errors included) gives the terminal back.
pub struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    /// Puts the terminal `fd` in raw mode, or returns `None` when it is not
    /// a terminal.
    pub fn enter(fd: BorrowedFd<'a>) -> Option<RawMode<'a>> {
        let saved = termios::tcgetattr(fd).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(fd, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        // TCSADRAIN: let our last output reach the terminal first.
        let _ = termios::tcsetattr(self.fd, SetArg::TCSADRAIN, &self.saved);
    }
}

/// The window size of the first of `fds` that is a terminal.
pub fn outer_window_size(fds: &[BorrowedFd<'_>]) -> Option<Winsize> {
    fds.iter().find_map(|fd| pty::window_size(*fd).ok())
}

/// Copies the outer terminal's size to the pty (on SIGWINCH).
pub fn copy_window_size(outer: &[BorrowedFd<'_>], master: BorrowedFd<'_>) {
    if let Some(ws) = outer_window_size(outer) {
        let _ = pty::set_window_size(master, &ws);
    }
}
