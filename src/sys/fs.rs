//! Path resolution beneath a directory fd (openat2) and fd helpers.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// How openat2 may resolve a path (see openat2(2)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolve(u64);

impl Resolve {
    /// Fail if resolution would leave the directory (`RESOLVE_BENEATH`).
    pub const BENEATH: Resolve = Resolve(libc::RESOLVE_BENEATH);
    /// Treat the directory as `/`, clamping `..` and absolute symlinks (`RESOLVE_IN_ROOT`).
    pub const IN_ROOT: Resolve = Resolve(libc::RESOLVE_IN_ROOT);
    /// Refuse every symlink on the way (`RESOLVE_NO_SYMLINKS`).
    pub const NO_SYMLINKS: Resolve = Resolve(libc::RESOLVE_NO_SYMLINKS);
    /// Refuse /proc magic links (`RESOLVE_NO_MAGICLINKS`).
    pub const NO_MAGICLINKS: Resolve = Resolve(libc::RESOLVE_NO_MAGICLINKS);
}

impl std::ops::BitOr for Resolve {
    type Output = Resolve;
    fn bitor(self, rhs: Resolve) -> Resolve {
        Resolve(self.0 | rhs.0)
    }
}

/// Opens `path` relative to `dir` with openat2(2); `flags` are `O_*` flags
/// (O_CLOEXEC is always added), `mode` is used with O_CREAT.
pub fn openat2(
    dir: BorrowedFd<'_>,
    path: &Path,
    flags: i32,
    mode: u32,
    resolve: Resolve,
) -> io::Result<OwnedFd> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: open_how is a plain C struct for which all-zero is valid.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    if flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
        how.mode = u64::from(mode);
    }
    how.resolve = resolve.0;
    loop {
        // SAFETY: `c` is a valid NUL-terminated string and `how` a valid
        // open_how that outlives the call; the size passed matches it.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                c.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if ret >= 0 {
            // SAFETY: openat2 returned a new fd that nothing else owns.
            return Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) });
        }
        let err = io::Error::last_os_error();
        // EAGAIN: a concurrent rename raced the resolution; retry as the man page says.
        if err.raw_os_error() != Some(libc::EAGAIN) && err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// The `/proc/self/fd/N` path that names `fd`, for syscalls that only take paths.
pub fn proc_fd_path(fd: BorrowedFd<'_>) -> std::path::PathBuf {
    std::path::PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}
