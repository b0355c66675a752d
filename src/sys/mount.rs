//! The new mount API (fsopen(2), fsconfig(2), fsmount(2), move_mount(2)),
//! which libc and nix do not wrap yet.
//!
//! It lets a filesystem take each option separately (so overlay's
//! `lowerdir+` has no page-size limit) and attaches mounts onto a directory
//! fd rather than a path.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

// Values from include/uapi/linux/mount.h.
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_SET_FLAG: libc::c_uint = 0;
const FSCONFIG_SET_STRING: libc::c_uint = 1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
/// `MOUNT_ATTR_NODEV`, for `fsmount`.
pub const MOUNT_ATTR_NODEV: u32 = 0x4;
/// `MOUNT_ATTR_NOATIME`, for `fsmount`.
pub const MOUNT_ATTR_NOATIME: u32 = 0x10;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;
// Values from include/uapi/linux/mount.h and fcntl.h.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const AT_EMPTY_PATH: libc::c_uint = 0x1000;

fn cstring(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn to_fd(ret: libc::c_long) -> io::Result<OwnedFd> {
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as libc::c_int) })
}

fn to_unit(ret: libc::c_long) -> io::Result<()> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// Opens a filesystem context for `fstype` (fsopen(2)).
pub fn fsopen(fstype: &str) -> io::Result<OwnedFd> {
    let name = cstring(fstype)?;
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call.
    to_fd(unsafe { libc::syscall(libc::SYS_fsopen, name.as_ptr(), FSOPEN_CLOEXEC) })
}

/// Sets the string option `key` to `value` on a filesystem context.
pub fn fsconfig_string(ctx: BorrowedFd<'_>, key: &str, value: &str) -> io::Result<()> {
    let key = cstring(key)?;
    let value = cstring(value)?;
    // SAFETY: both strings are valid and NUL-terminated for the call; aux is 0
    // as FSCONFIG_SET_STRING requires.
    to_unit(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            ctx.as_raw_fd(),
            FSCONFIG_SET_STRING,
            key.as_ptr(),
            value.as_ptr(),
            0 as libc::c_int,
        )
    })
}

/// Sets the flag option `key` on a filesystem context.
pub fn fsconfig_flag(ctx: BorrowedFd<'_>, key: &str) -> io::Result<()> {
    let key = cstring(key)?;
    // SAFETY: `key` is valid and NUL-terminated; FSCONFIG_SET_FLAG takes a
    // NULL value and aux 0.
    to_unit(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            ctx.as_raw_fd(),
            FSCONFIG_SET_FLAG,
            key.as_ptr(),
            std::ptr::null::<libc::c_char>(),
            0 as libc::c_int,
        )
    })
}

/// Creates the superblock of a configured filesystem context.
pub fn fsconfig_create(ctx: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: FSCONFIG_CMD_CREATE takes NULL key and value and aux 0.
    to_unit(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            ctx.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0 as libc::c_int,
        )
    })
}

/// Turns a created filesystem context into a detached mount (fsmount(2));
/// `attrs` are `MOUNT_ATTR_*` flags.
pub fn fsmount(ctx: BorrowedFd<'_>, attrs: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain integer arguments; the kernel validates the fd.
    to_fd(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            ctx.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            attrs as libc::c_uint,
        )
    })
}

/// Attaches the detached mount `mnt` onto the directory `target` is open on
/// (move_mount(2) with both paths empty).
pub fn move_mount_onto(mnt: BorrowedFd<'_>, target: BorrowedFd<'_>) -> io::Result<()> {
    let empty = c"";
    // SAFETY: `empty` is a valid NUL-terminated string; with the EMPTY_PATH
    // flags the kernel uses the fds themselves.
    to_unit(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            mnt.as_raw_fd(),
            empty.as_ptr(),
            target.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })
}

/// A detached recursive bind mount of the directory `dir` is open on
/// (open_tree(2) with `OPEN_TREE_CLONE | AT_RECURSIVE`), to be attached
/// with `move_mount_onto`.
pub fn clone_tree(dir: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    let empty = c"";
    // SAFETY: `empty` is a valid NUL-terminated string; with AT_EMPTY_PATH
    // the kernel uses the fd itself.
    to_fd(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            dir.as_raw_fd(),
            empty.as_ptr(),
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH,
        )
    })
}
