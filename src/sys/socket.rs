//! Passing one fd over a unix socket (SCM_RIGHTS, unix(7)).

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr};

/// Sends a duplicate of `fd` over the connected unix socket `sock`.
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>) -> io::Result<()> {
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(b"f")];
    loop {
        match sendmsg::<UnixAddr>(
            sock.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        ) {
            Err(nix::Error::EINTR) => continue,
            other => return other.map(|_| ()).map_err(io::Error::from),
        }
    }
}

/// Receives one fd sent with `send_fd` (close-on-exec); `None` at EOF.
pub fn recv_fd(sock: BorrowedFd<'_>) -> io::Result<Option<OwnedFd>> {
    let mut byte = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut byte)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = loop {
        match recvmsg::<UnixAddr>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::Error::EINTR) => continue,
            other => break other.map_err(io::Error::from)?,
        }
    };
    let mut received = None;
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: the kernel installed these fds in this process for
                // this message; nothing else knows them, so we own them.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                received.get_or_insert(owned);
            }
        }
    }
    Ok(received)
}

/// The first fd systemd passed by socket activation (sd_listen_fds(3):
/// fd 3 when `LISTEN_PID` is this process and `LISTEN_FDS` is at least 1),
/// taken once: the variables are removed so that no child takes it too.
/// `None` when this process was not socket-activated.
pub fn take_activated_fd(listen_pid: &str, listen_fds: &str) -> Option<OwnedFd> {
    const SD_LISTEN_FDS_START: RawFd = 3;
    let pid = std::env::var(listen_pid).ok()?;
    let count = std::env::var(listen_fds).ok()?;
    std::env::remove_var(listen_pid);
    std::env::remove_var(listen_fds);
    if pid.parse::<u32>().ok()? != std::process::id() || count.parse::<u32>().ok()? < 1 {
        return None;
    }
    // An fd that is not open is not ours to take.
    std::fs::symlink_metadata(format!("/proc/self/fd/{SD_LISTEN_FDS_START}")).ok()?;
    // SAFETY: fd 3 is open (checked above), systemd passed it to this
    // process for it alone (LISTEN_PID), and the variables are removed
    // before it is wrapped, so it is owned exactly once.
    Some(unsafe { OwnedFd::from_raw_fd(SD_LISTEN_FDS_START) })
}
