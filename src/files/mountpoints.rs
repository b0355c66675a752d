//! hutch's own mount points in a container's upper directory: what its
//! init creates to mount onto when the image lacks it. They are no change
//! of the container's, so `diff` leaves them out and `commit` does not
//! archive them (Podman's `diff` hides the same paths; its `commit`
//! archives them, as empty files and directories).

use std::collections::HashSet;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};

use super::archive::list_dir;
use super::diff::exists_below;

/// The files init bind-mounts onto (see `runtime::mounts::ETC_FILES`).
const FILES: [&str; 4] = [
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/run/.containerenv",
];

/// The directories init mounts onto, or creates for a file above.
const DIRS: [&str; 4] = ["/dev", "/proc", "/sys", "/run"];

/// The paths (absolute in the container) of `upper` that are only
/// hutch's mount points, given the image's `lowers` (top first): a file
/// of `FILES` that is empty and not in the image, a directory of `DIRS`
/// that holds nothing else.
pub fn own_entries(upper: BorrowedFd<'_>, lowers: &[OwnedFd]) -> std::io::Result<HashSet<PathBuf>> {
    let mut own = HashSet::new();
    for file in FILES {
        let path = Path::new(file);
        let rel = file.trim_start_matches('/');
        let Ok(st) = fstatat(upper, rel, AtFlags::AT_SYMLINK_NOFOLLOW) else {
            continue;
        };
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        if kind == SFlag::S_IFREG && st.st_size == 0 && !exists_below(lowers, path) {
            own.insert(path.to_path_buf());
        }
    }
    for dir in DIRS {
        let rel = dir.trim_start_matches('/');
        let Ok(fd) = openat(
            upper,
            rel,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        ) else {
            continue;
        };
        let is_only_own = list_dir(fd.as_fd())?
            .iter()
            .all(|name| own.contains(&Path::new(dir).join(name)));
        if is_only_own {
            own.insert(PathBuf::from(dir));
        }
    }
    Ok(own)
}

/// The mount points a build step's mounts (`RUN --mount`) left in
/// `upper`: each of `targets` (absolute) that is an empty file or
/// directory there and not in the image, and the directories above it
/// made for it that hold nothing else.
pub fn step_targets(
    upper: BorrowedFd<'_>,
    lowers: &[OwnedFd],
    targets: &[PathBuf],
) -> std::io::Result<HashSet<PathBuf>> {
    let mut own = HashSet::new();
    for t in targets {
        let rel = t.strip_prefix("/").unwrap_or(t);
        let Ok(st) = fstatat(upper, rel, AtFlags::AT_SYMLINK_NOFOLLOW) else {
            continue;
        };
        let kind = SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits());
        let is_empty = match kind {
            SFlag::S_IFREG => st.st_size == 0,
            SFlag::S_IFDIR => is_empty_dir(upper, rel)?,
            _ => false,
        };
        if !is_empty || exists_below(lowers, t) {
            continue;
        }
        own.insert(t.clone());
        for dir in t.ancestors().skip(1) {
            let rel = dir.strip_prefix("/").unwrap_or(dir);
            if rel.as_os_str().is_empty() || exists_below(lowers, dir) {
                break;
            }
            let Ok(fd) = openat(
                upper,
                rel,
                OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                Mode::empty(),
            ) else {
                break;
            };
            let only_own = list_dir(fd.as_fd())?
                .iter()
                .all(|name| own.contains(&dir.join(name)));
            if !only_own {
                break;
            }
            own.insert(dir.to_path_buf());
        }
    }
    Ok(own)
}

fn is_empty_dir(upper: BorrowedFd<'_>, rel: &Path) -> std::io::Result<bool> {
    let fd = openat(
        upper,
        rel,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    Ok(list_dir(fd.as_fd())?.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(p: &Path) -> OwnedFd {
        crate::sys::fs::openat2(
            nix::fcntl::AT_FDCWD,
            p,
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            crate::sys::fs::Resolve::NO_SYMLINKS,
        )
        .unwrap()
    }

    fn sorted(set: HashSet<PathBuf>) -> Vec<String> {
        let mut v: Vec<String> = set.iter().map(|p| p.display().to_string()).collect();
        v.sort();
        v
    }

    #[test]
    fn only_empty_mount_points_missing_from_the_image_are_own() {
        let dir = tempfile::tempdir().unwrap();
        let (lower, upper) = (dir.path().join("lower"), dir.path().join("upper"));
        std::fs::create_dir_all(lower.join("etc")).unwrap();
        std::fs::write(lower.join("etc/resolv.conf"), b"nameserver 192.0.2.1\n").unwrap();
        for d in ["etc", "run", "proc", "dev", "sys"] {
            std::fs::create_dir_all(upper.join(d)).unwrap();
        }
        std::fs::write(upper.join("etc/hosts"), b"").unwrap();
        std::fs::write(upper.join("etc/hostname"), b"changed\n").unwrap();
        // An image file the container emptied is its change.
        std::fs::write(upper.join("etc/resolv.conf"), b"").unwrap();
        std::fs::write(upper.join("run/.containerenv"), b"").unwrap();
        std::fs::write(upper.join("dev/mine"), b"").unwrap();
        let own = own_entries(open(&upper).as_fd(), &[open(&lower)]).unwrap();
        assert_eq!(
            sorted(own),
            ["/etc/hosts", "/proc", "/run", "/run/.containerenv", "/sys"]
        );
        std::fs::write(upper.join("run/app.pid"), b"1").unwrap();
        let own = own_entries(open(&upper).as_fd(), &[open(&lower)]).unwrap();
        assert!(!own.contains(Path::new("/run")));
        assert!(own.contains(Path::new("/run/.containerenv")));
    }
}
