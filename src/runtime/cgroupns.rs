//! The container's cgroup namespace and its view of /sys/fs/cgroup.
//!
//! The parent has already moved init into the container's own cgroup; a
//! cgroup namespace made now is rooted there, so inside, `/proc/self/cgroup`
//! reads `0::/` and /sys/fs/cgroup shows the container's limits and nothing
//! of the host's tree.

use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use nix::mount::MsFlags;
use nix::sched::CloneFlags;

use super::mounts::{ensure_dir, mount_on};
use super::report::Failure;

/// The capability bit that lets a container write its cgroup tree.
pub const CAP_SYS_ADMIN: u32 = 21;

/// Makes a cgroup namespace rooted at the current cgroup.
pub fn enter() -> Result<(), Failure> {
    nix::sched::unshare(CloneFlags::CLONE_NEWCGROUP)
        .map_err(|e| Failure::step("making the cgroup namespace", e))
}

/// Mounts the namespace's cgroup2 at /sys/fs/cgroup of the root open as
/// `root`: read-only, or writable with `is_writable` (CAP_SYS_ADMIN kept)
/// so that the container can manage its own subtree.
pub fn mount_cgroupfs(root: BorrowedFd<'_>, is_writable: bool) -> Result<(), Failure> {
    let target = ensure_dir(root, "sys/fs/cgroup")?;
    let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if !is_writable {
        flags |= MsFlags::MS_RDONLY;
    }
    mount_on(
        Some(Path::new("cgroup2")),
        target.as_fd(),
        Some("cgroup2"),
        flags,
        None,
    )
    .map_err(|e| Failure::step("mounting /sys/fs/cgroup", e))
}
