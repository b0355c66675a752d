//! Process creation: clone(2) with namespace flags, and the single-thread check.

use std::io;

use nix::sched::CloneFlags;
use nix::unistd::Pid;

/// Which side of a fork this process is on.
pub enum Forked {
    /// In the parent, with the child's pid.
    Parent(Pid),
    /// In the child.
    Child,
}

/// Like fork(2), but the child starts in the new namespaces `flags` asks for
/// (with a new pid namespace the child is its pid 1). Use `child::spawn`,
/// which checks the precondition and reports back.
///
/// # Safety
///
/// The calling process must be single-threaded: the child gets a copy of
/// only the calling thread, so a lock another thread held (the allocator's,
/// stdio's) would stay locked, or its data half-written, in the child.
pub(super) unsafe fn clone_into(flags: CloneFlags) -> io::Result<Forked> {
    debug_assert_single_threaded();
    // SAFETY: clone with a NULL stack behaves like fork: the child continues
    // on a copy of the caller's stack. The caller guarantees the process is
    // single-threaded (debug builds check), so no lock is copied held.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags.bits() as libc::c_long) | libc::SIGCHLD as libc::c_long,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_int>(),
            std::ptr::null_mut::<libc::c_int>(),
            0 as libc::c_long,
        )
    };
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(Forked::Child),
        pid => Ok(Forked::Parent(Pid::from_raw(pid as i32))),
    }
}

/// Ends the process at once, without running destructors or atexit
/// handlers: the only way a forked child may leave besides exec.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is async-signal-safe and never returns.
    unsafe { libc::_exit(code) }
}

/// Counts the threads of this process from /proc/self/status.
pub fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Panics in debug builds when the process has more than one thread.
pub fn debug_assert_single_threaded() {
    if cfg!(debug_assertions) {
        if let Some(n) = thread_count() {
            assert!(n == 1, "clone/fork from a process with {n} threads");
        }
    }
}

/// Closes every open fd from `first` to `last` inclusive (close_range(2)).
///
/// # Safety
///
/// No fd in the range may be used or closed again by this process: an
/// owner (`OwnedFd`, `File`) of one must never be dropped, or its number
/// could name an fd opened later by then, which the drop would close.
pub unsafe fn close_range(first: u32, last: u32) -> io::Result<()> {
    if first > last {
        return Ok(());
    }
    // SAFETY: close_range only closes descriptors; the caller guarantees no
    // owner of one in the range acts on it again.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0 as libc::c_uint) };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Marks every fd from `first` up close-on-exec (close_range(2) with
/// CLOSE_RANGE_CLOEXEC, Linux 5.11): none of them survives the next exec,
/// yet every owner stays valid until then.
pub fn close_on_exec_from(first: u32) -> io::Result<()> {
    // SAFETY: with CLOSE_RANGE_CLOEXEC the call closes nothing now; it only
    // sets a flag on the descriptors, so no owner is invalidated.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC as libc::c_uint,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() != Some(libc::EINVAL) {
        return Err(e);
    }
    // Before Linux 5.11: flag each open fd, as /proc/self/fd lists them.
    let listed: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    for fd in listed
        .into_iter()
        .filter(|fd| *fd >= 0 && *fd as u32 >= first)
    {
        // SAFETY: fcntl(F_SETFD) only sets a flag; on an fd that closed
        // since the listing (read_dir's own) it fails with EBADF, ignored.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    Ok(())
}

/// Closes every fd from `first` up, then runs `run(arg)` and exits with
/// the code it returns. Never returns, so no frame that owns one of those
/// fds resumes or drops it; `run` gets only `Copy` data, which owns no fd.
pub fn close_fds_then_exit<A: Copy + 'static>(first: u32, run: fn(A) -> i32, arg: A) -> ! {
    // SAFETY: this function never returns and ends in _exit, which runs no
    // destructor: the owners of the closed fds, all in the caller's frames,
    // never act on them again; `run` receives only Copy data, no owner.
    let _ = unsafe { close_range(first, u32::MAX) };
    exit_now(run(arg))
}

/// Whether `fd` is an open file descriptor of this process.
pub fn is_fd_open(fd: u32) -> bool {
    let Ok(fd) = i32::try_from(fd) else {
        return false;
    };
    // SAFETY: fcntl(F_GETFD) only reads the descriptor's flags; on a
    // number that is not open it fails with EBADF and touches nothing.
    unsafe { libc::fcntl(fd, libc::F_GETFD) != -1 }
}

/// personality(2): sets the calling process's execution domain (`domain`,
/// such as `PER_LINUX32`), which exec keeps.
pub fn set_personality(domain: u64) -> io::Result<()> {
    let domain =
        libc::c_ulong::try_from(domain).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: personality(2) takes a plain integer and touches no memory
    // of ours; 0xffffffff would only query, and is not passed.
    let previous = unsafe { libc::personality(domain) };
    match previous {
        -1 => Err(io::Error::last_os_error()),
        _ => Ok(()),
    }
}

/// Resets every catchable signal to its default action, so that what the
/// Rust runtime or our caller ignored (SIGPIPE, SIGHUP under nohup…) is not
/// inherited ignored across exec.
pub fn reset_signal_dispositions() {
    for sig in 1..libc::SIGRTMIN() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: installing SIG_DFL runs no handler code; invalid signal
        // numbers only make signal() fail, which is harmless here.
        unsafe {
            libc::signal(sig, libc::SIG_DFL);
        }
    }
}

/// Opens a pidfd for `pid` (pidfd_open(2)): a handle that keeps naming this
/// very process even after its pid is reused.
pub fn pidfd_open(pid: Pid) -> io::Result<std::os::fd::OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel returned a fresh fd that nothing else owns.
    Ok(unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(ret as i32) })
}

/// Sends `sig` to the process behind `pidfd` (pidfd_send_signal(2)).
pub fn pidfd_send_signal(
    pidfd: std::os::fd::BorrowedFd<'_>,
    sig: nix::sys::signal::Signal,
) -> Result<(), nix::Error> {
    use std::os::fd::AsRawFd;
    // SAFETY: the fd is a valid pidfd borrowed for the call; a NULL siginfo
    // makes the kernel fill it in as kill(2) would; flags are 0.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig as libc::c_int,
            std::ptr::null_mut::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        Err(nix::Error::last())
    } else {
        Ok(())
    }
}
/// Points this process's standard output and error at `file` (`build
/// --logfile`), for everything it and its children print from now on.
pub fn redirect_output(file: &std::fs::File) -> io::Result<()> {
    nix::unistd::dup2_stdout(file).map_err(io::Error::from)?;
    nix::unistd::dup2_stderr(file).map_err(io::Error::from)
}

/// Points this process's standard output at /dev/null (`--noout`), for
/// everything it and its children print from now on.
pub fn discard_stdout() -> io::Result<()> {
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    nix::unistd::dup2_stdout(&null).map_err(io::Error::from)
}

/// A close-on-exec copy of standard input, with standard input itself
/// pointed at /dev/null, so that no child inherits what it was.
pub fn take_stdin() -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::AsFd;
    let fd = io::stdin().as_fd().try_clone_to_owned()?;
    let null = std::fs::File::open("/dev/null")?;
    nix::unistd::dup2_stdin(&null).map_err(io::Error::from)?;
    Ok(fd)
}

/// The fd numbers `take_inherited_fd` gave out, so that none is owned
/// twice.
static TAKEN_FDS: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());

/// Takes ownership of fd number `fd`, inherited across exec from the
/// process that started this program (which names it on the command line
/// or in a plan), and makes it close-on-exec. Refuses stdio, an fd that is
/// not open, and one already taken.
pub fn take_inherited_fd(fd: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut taken = TAKEN_FDS.lock().unwrap_or_else(|e| e.into_inner());
    if fd < 3 || taken.contains(&fd) {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: F_GETFD only asks whether the number is open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(io::Error::last_os_error());
    }
    taken.push(fd);
    // SAFETY: `fd` is open (checked above) and nothing in this process owns
    // it: the program was exec'd with it, std owns only stdio (refused
    // above), and `TAKEN_FDS` gives each number out once.
    let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
    nix::fcntl::fcntl(
        std::os::fd::AsFd::as_fd(&owned),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )?;
    Ok(owned)
}
