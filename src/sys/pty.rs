//! Pseudo-terminal ioctls that nix does not wrap: unlocking a master,
//! opening its peer, taking it as controlling terminal, window sizes.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// A terminal window size (rows, columns and pixels).
pub type Winsize = libc::winsize;

fn check(ret: libc::c_int) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Unlocks the slave side of a pty master (what unlockpt(3) does).
pub fn unlock(master: BorrowedFd<'_>) -> io::Result<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK reads one int from the valid pointer given.
    check(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })
}

/// Opens the slave of `master` without a path lookup (TIOCGPTPEER, so it is
/// the peer from the same devpts instance); `flags` are `O_*` flags.
pub fn open_peer(master: BorrowedFd<'_>, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: TIOCGPTPEER takes the open flags by value and returns a new fd.
    let fd = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            (flags | libc::O_CLOEXEC) as libc::c_ulong,
        )
    };
    check(fd)?;
    // SAFETY: the ioctl returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes `tty` the controlling terminal of the calling session leader.
pub fn set_controlling_terminal(tty: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: TIOCSCTTY takes an int by value (0: do not steal).
    check(unsafe { libc::ioctl(tty.as_raw_fd(), libc::TIOCSCTTY, 0 as libc::c_int) })
}

/// The window size of the terminal `fd`, if it is one.
pub fn window_size(fd: BorrowedFd<'_>) -> io::Result<Winsize> {
    // SAFETY: winsize is plain integers, all-zero is valid.
    let mut ws: Winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one winsize into the valid pointer given.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) })?;
    Ok(ws)
}

/// Sets the window size of the terminal `fd`.
pub fn set_window_size(fd: BorrowedFd<'_>, ws: &Winsize) -> io::Result<()> {
    // SAFETY: TIOCSWINSZ reads one winsize from the valid pointer given.
    check(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws) })
}
