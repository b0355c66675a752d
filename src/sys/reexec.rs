//! Re-executing hutch safely: sealed in-memory copies of executables
//! (memfd_create(2) with file seals, fcntl(2)) and executing a file by fd
//! (execveat(2)).

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};

/// The seals that make a copy immutable: no write, no resize, no new seals.
fn immutable_seals() -> SealFlag {
    SealFlag::F_SEAL_WRITE | SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW | SealFlag::F_SEAL_SEAL
}

/// Copies everything `src` reads into a new close-on-exec memfd named
/// `name`, makes it read-and-execute only and seals it against any change.
pub fn sealed_copy(src: BorrowedFd<'_>, name: &str) -> io::Result<OwnedFd> {
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let flags = MFdFlags::MFD_CLOEXEC | MFdFlags::MFD_ALLOW_SEALING;
    // MFD_EXEC keeps the copy executable where vm.memfd_noexec would make
    // memfds non-executable; kernels before 6.3 do not know it (EINVAL).
    let memfd = match memfd_create(
        cname.as_c_str(),
        flags | MFdFlags::from_bits_retain(libc::MFD_EXEC),
    ) {
        Err(nix::Error::EINVAL) => memfd_create(cname.as_c_str(), flags)?,
        other => other?,
    };
    let mut reader = std::fs::File::from(src.try_clone_to_owned()?);
    let mut writer = std::fs::File::from(memfd);
    std::io::Seek::seek(&mut reader, std::io::SeekFrom::Start(0))?;
    std::io::copy(&mut reader, &mut writer)?;
    std::io::Seek::seek(&mut writer, std::io::SeekFrom::Start(0))?;
    writer.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o555))?;
    let memfd = OwnedFd::from(writer);
    fcntl(memfd.as_fd(), FcntlArg::F_ADD_SEALS(immutable_seals()))?;
    Ok(memfd)
}

/// Whether the file open as `fd` is a memfd carrying every seal of
/// `sealed_copy`; any other file (F_GET_SEALS fails) is not.
pub fn is_sealed(fd: BorrowedFd<'_>) -> bool {
    match fcntl(fd, FcntlArg::F_GET_SEALS) {
        Ok(bits) => SealFlag::from_bits_truncate(bits).contains(immutable_seals()),
        Err(_) => false,
    }
}

/// Executes the file open as `fd` with `args` and `env` (execveat(2) with
/// AT_EMPTY_PATH, which works on a close-on-exec fd for ELF files).
/// Returns only on failure.
pub fn exec_fd(fd: BorrowedFd<'_>, args: &[CString], env: &[CString]) -> nix::Error {
    let empty = c"";
    let Err(e) = nix::unistd::execveat(fd, empty, args, env, nix::fcntl::AtFlags::AT_EMPTY_PATH);
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn sealed_copies_hold_the_source_and_refuse_writes() {
        let mut src = tempfile::tempfile().unwrap();
        src.write_all(b"#!/bin/true\nbody").unwrap();
        let copy = sealed_copy(src.as_fd(), "test").unwrap();
        assert!(is_sealed(copy.as_fd()));
        assert!(!is_sealed(src.as_fd()));
        let mut text = String::new();
        let mut f = std::fs::File::from(copy);
        f.read_to_string(&mut text).unwrap();
        assert_eq!(text, "#!/bin/true\nbody");
        let err = f.write_all(b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
        let err = f.set_len(1).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EPERM), "{err}");
    }

    #[test]
    fn reopening_a_sealed_copy_through_proc_cannot_write_it() {
        let mut src = tempfile::tempfile().unwrap();
        src.write_all(b"data").unwrap();
        let copy = sealed_copy(src.as_fd(), "test").unwrap();
        let path = crate::sys::fs::proc_fd_path(copy.as_fd());
        let reopened = std::fs::OpenOptions::new().write(true).open(&path);
        if let Ok(mut f) = reopened {
            assert!(f.write_all(b"x").is_err(), "a sealed copy took a write");
        }
        let mut text = String::new();
        std::fs::File::open(&path)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "data");
    }
}
