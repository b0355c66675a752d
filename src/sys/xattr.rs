//! Extended attributes (setxattr(2) family), which nix does not cover.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

fn c_string(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

/// Sets the attribute `name` to `value` on the open file `fd` (fsetxattr(2)).
///
/// `fd` must be opened for reading or writing; `O_PATH` descriptors fail
/// with `EBADF`.
pub fn fset(fd: BorrowedFd<'_>, name: &[u8], value: &[u8]) -> io::Result<()> {
    let name = c_string(name)?;
    // SAFETY: `name` is NUL-terminated and `value` is a valid slice whose
    // length is passed alongside; both outlive the call.
    let ret = unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the attribute `name` on `path` without following a trailing
/// symlink (lsetxattr(2)).
pub fn lset(path: &Path, name: &[u8], value: &[u8]) -> io::Result<()> {
    let path = c_string(path.as_os_str().as_bytes())?;
    let name = c_string(name)?;
    // SAFETY: both strings are NUL-terminated and `value` is a valid slice
    // whose length is passed alongside; all outlive the call.
    let ret = unsafe {
        libc::lsetxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    if ret == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Reads the attribute `name` of `path` without following a trailing
/// symlink (lgetxattr(2)); `None` when it is not set.
pub fn lget(path: &Path, name: &[u8]) -> io::Result<Option<Vec<u8>>> {
    let path = c_string(path.as_os_str().as_bytes())?;
    let name = c_string(name)?;
    read_value(|buf| {
        // SAFETY: both strings are NUL-terminated; `buf` is writable for
        // the length passed.
        unsafe {
            libc::lgetxattr(
                path.as_ptr(),
                name.as_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
            )
        }
    })
}

/// Runs a getxattr-like `call` with a buffer that grows while the kernel
/// says ERANGE; `None` when the attribute is not set.
pub(super) fn read_value(mut call: impl FnMut(&mut [u8]) -> isize) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; 256];
    loop {
        let ret = call(&mut buf);
        if ret >= 0 {
            buf.truncate(ret as usize);
            return Ok(Some(buf));
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::ENODATA) => return Ok(None),
            Some(libc::ERANGE) if buf.len() < 1 << 16 => buf.resize(buf.len() * 4, 0),
            _ => return Err(err),
        }
    }
}
