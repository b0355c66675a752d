//! Recognising a full disk (issue #21 item 4), so that callers can tell
//! a write that found no space from every other failure: readers then go
//! on without the write, and removals free the space first.

use std::error::Error as StdError;

use rusqlite::ffi;

/// Whether `e`, or an error it was caused by, says the filesystem (or the
/// user's quota) had no room: SQLite's `SQLITE_FULL`, its failure to grow
/// the shared-memory index, or an I/O error `ENOSPC` or `EDQUOT`.
pub fn is_disk_full(e: &(dyn StdError + 'static)) -> bool {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(rusqlite::Error::SqliteFailure(f, _)) = c.downcast_ref::<rusqlite::Error>() {
            if f.code == rusqlite::ErrorCode::DiskFull
                || f.extended_code == ffi::SQLITE_IOERR_SHMSIZE
            {
                return true;
            }
        }
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if matches!(io.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Error;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn full_disks_are_told_from_other_failures() {
        let full = Error::SaveContainerState {
            id: "c".into(),
            source: sqlite(ffi::SQLITE_FULL),
        };
        assert!(is_disk_full(&full));
        let shm = Error::ListContainers(sqlite(ffi::SQLITE_IOERR_SHMSIZE));
        assert!(is_disk_full(&shm));
        let busy = Error::SaveContainerState {
            id: "c".into(),
            source: sqlite(ffi::SQLITE_BUSY),
        };
        assert!(!is_disk_full(&busy));
        for (errno, want) in [
            (libc::ENOSPC, true),
            (libc::EDQUOT, true),
            (libc::EIO, false),
        ] {
            let e = Error::RemoveDir {
                path: "/x".into(),
                source: std::io::Error::from_raw_os_error(errno),
            };
            assert_eq!(is_disk_full(&e), want, "{errno}");
        }
    }
}
