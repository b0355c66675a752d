//! The kernel operations the child-side setup sequences perform, behind a
//! trait so their order is unit-tested without root: `Kernel` does them,
//! the test double `Recorder` only logs them.
//!
//! Each method is one step of a numbered sequence (init's mounts and
//! pivot, the namespace joins of `exec` and pods, the privilege drop); the
//! sequences themselves live with their callers and take `&mut impl
//! Syscall`. Validation that does not change the kernel's state stays
//! outside.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::mount::{umount2, MntFlags};
use nix::sched::CloneFlags;
use nix::unistd::{Gid, Uid};

use super::binds::Sources;
use super::devices::{self, Device};
use super::hardening::{self, Ulimit};
use super::identity::{self, Identity};
use super::mounts::{self, Special};
use super::overlay::{self, RootDirs};
use super::report::Failure;
use super::security::{self, Security};
use super::user::ExecUser;
use super::volumes::Volumes;
use super::{binds, cgroupns, confine, seccomp, Plan};
use crate::sys::caps;
use crate::sys::seccomp::Program;
use crate::userns::IdMaps;

/// The kernel operations of the setup sequences, in the words of the step
/// each one is.
pub trait Syscall {
    /// Makes every mount a recursive slave (mount(2) `MS_REC|MS_SLAVE` on /).
    fn make_root_rslave(&mut self) -> Result<(), Failure>;
    /// Gives the overlay's upper and work directories to the container's root.
    fn claim_upper(&mut self, dirs: &RootDirs, root_owner: (u32, u32)) -> Result<(), Failure>;
    /// Mounts the overlay (kernel or fuse) on `dirs.merged`; returns its
    /// root, open.
    fn mount_rootfs(&mut self, dirs: &RootDirs) -> Result<OwnedFd, Failure>;
    /// Opens the directory `path` (`O_PATH`); `what` names it in errors.
    fn open_dir(&mut self, path: &Path, what: &str) -> Result<OwnedFd, Failure>;
    /// Mounts /proc, /sys, /dev and the /etc files beneath `root`, after
    /// refusing mountpoints that are symlinks.
    fn mount_kernel_filesystems(
        &mut self,
        root: BorrowedFd<'_>,
        special: &Special<'_>,
    ) -> Result<(), Failure>;
    /// Mounts the cgroup filesystem on /sys/fs/cgroup beneath `root`.
    fn mount_cgroupfs(&mut self, root: BorrowedFd<'_>, is_writable: bool) -> Result<(), Failure>;
    /// Checks that /proc beneath `root` is the procfs just mounted.
    fn check_procfs(&mut self, root: BorrowedFd<'_>) -> Result<(), Failure>;
    /// Mounts the `-v`/`--mount`/`--tmpfs` binds, volumes and tmpfs from
    /// their open `sources`.
    fn mount_volumes(
        &mut self,
        root: BorrowedFd<'_>,
        volumes: &Volumes,
        sources: &Sources,
        dir: &Path,
    ) -> Result<(), Failure>;
    /// Binds the `--device` nodes into /dev.
    fn mount_devices(&mut self, root: BorrowedFd<'_>, devices: &[Device]) -> Result<(), Failure>;
    /// Adds the keep-id user to /etc/passwd and /etc/group.
    fn add_keep_id_user(
        &mut self,
        root: BorrowedFd<'_>,
        identity: &Identity,
    ) -> Result<(), Failure>;
    /// Writes the `--sysctl` values below /proc/sys.
    fn write_sysctls(
        &mut self,
        root: BorrowedFd<'_>,
        sysctls: &[(String, String)],
    ) -> Result<(), Failure>;
    /// With `--read-only`, the scratch tmpfs on /run, /tmp and /var/tmp
    /// (and `containerenv` bound into the new /run).
    fn mount_scratch(
        &mut self,
        root: BorrowedFd<'_>,
        security: &Security,
        containerenv: Option<BorrowedFd<'_>>,
    ) -> Result<(), Failure>;
    /// Masks and freezes kernel paths; with `--read-only` freezes the root.
    fn confine_paths(&mut self, root: BorrowedFd<'_>, security: &Security) -> Result<(), Failure>;
    /// Brings up loopback in a network namespace of the container's own.
    fn bring_up_loopback(&mut self, plan: &Plan) -> Result<(), Failure>;
    /// sethostname(2).
    fn set_hostname(&mut self, name: &str) -> Result<(), Failure>;
    /// Makes `root` the root (pivot_root(2)) and detaches the old one.
    fn pivot_root(&mut self, root: BorrowedFd<'_>) -> Result<(), Failure>;
    /// setns(2).
    fn setns(&mut self, fd: BorrowedFd<'_>, kind: CloneFlags) -> nix::Result<()>;
    /// unshare(2).
    fn unshare(&mut self, flags: CloneFlags) -> nix::Result<()>;
    /// setrlimit(2) for each of `ulimits`.
    fn apply_ulimits(&mut self, ulimits: &[Ulimit]) -> Result<(), Failure>;
    /// Drops from the bounding set every capability `keep` lacks.
    fn drop_bounding_set(&mut self, keep: u64) -> Result<(), Failure>;
    /// Installs the seccomp `filter`.
    fn install_seccomp(&mut self, filter: &Program) -> Result<(), Failure>;
    /// Sets the supplementary groups of `user` (see `identity::set_groups`).
    fn set_groups(&mut self, user: &ExecUser, maps: &IdMaps) -> Result<(), Failure>;
    /// setresgid(2) then setresuid(2) to `user`'s ids.
    fn set_ids(&mut self, user: &ExecUser) -> Result<(), Failure>;
    /// Whether the effective uid is 0 (in our user namespace).
    fn is_root(&mut self) -> bool;
    /// Clears the ambient set and sets the effective and permitted sets to
    /// `keep`, the inheritable set to nothing.
    fn set_capabilities(&mut self, keep: u64) -> Result<(), Failure>;
    /// Sets no_new_privs.
    fn set_no_new_privs(&mut self) -> Result<(), Failure>;
}

/// The real kernel.
pub struct Kernel;

impl Syscall for Kernel {
    fn make_root_rslave(&mut self) -> Result<(), Failure> {
        mounts::make_root_rslave().map_err(|e| Failure::step("making / a recursive slave mount", e))
    }

    fn claim_upper(&mut self, dirs: &RootDirs, root_owner: (u32, u32)) -> Result<(), Failure> {
        identity::claim_upper(dirs, root_owner)
    }

    fn mount_rootfs(&mut self, dirs: &RootDirs) -> Result<OwnedFd, Failure> {
        overlay::mount_rootfs(dirs).map(|(_, root)| root)
    }

    fn open_dir(&mut self, path: &Path, what: &str) -> Result<OwnedFd, Failure> {
        nix::fcntl::open(
            path,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(|e| Failure::step(format!("opening {what}"), e))
    }

    fn mount_kernel_filesystems(
        &mut self,
        root: BorrowedFd<'_>,
        special: &Special<'_>,
    ) -> Result<(), Failure> {
        // An image whose /proc, /sys or /dev is a symlink is refused rather
        // than having the kernel filesystems mounted wherever it points.
        hardening::check_kernel_mountpoints(root)?;
        mounts::mount_kernel_filesystems(root, special)
    }

    fn mount_cgroupfs(&mut self, root: BorrowedFd<'_>, is_writable: bool) -> Result<(), Failure> {
        cgroupns::mount_cgroupfs(root, is_writable)
    }

    fn check_procfs(&mut self, root: BorrowedFd<'_>) -> Result<(), Failure> {
        let proc = confine::open_confined(root, "/proc")?
            .ok_or_else(|| Failure::step("reopening /proc", nix::errno::Errno::ENOENT))?;
        hardening::ensure_procfs(proc.as_fd(), "the container's /proc")
    }

    fn mount_volumes(
        &mut self,
        root: BorrowedFd<'_>,
        volumes: &Volumes,
        sources: &Sources,
        dir: &Path,
    ) -> Result<(), Failure> {
        binds::mount_volumes(root, volumes, sources, dir)
    }

    fn mount_devices(&mut self, root: BorrowedFd<'_>, devices: &[Device]) -> Result<(), Failure> {
        devices::mount_devices(root, devices)
    }

    fn add_keep_id_user(
        &mut self,
        root: BorrowedFd<'_>,
        identity: &Identity,
    ) -> Result<(), Failure> {
        identity::add_keep_id_user(root, identity)
    }

    fn write_sysctls(
        &mut self,
        root: BorrowedFd<'_>,
        sysctls: &[(String, String)],
    ) -> Result<(), Failure> {
        super::tuning::write_sysctls(root, sysctls)
    }

    fn mount_scratch(
        &mut self,
        root: BorrowedFd<'_>,
        security: &Security,
        containerenv: Option<BorrowedFd<'_>>,
    ) -> Result<(), Failure> {
        confine::mount_scratch(root, security, containerenv)
    }

    fn confine_paths(&mut self, root: BorrowedFd<'_>, security: &Security) -> Result<(), Failure> {
        confine::confine_paths(root, security)
    }

    fn bring_up_loopback(&mut self, plan: &Plan) -> Result<(), Failure> {
        super::network::bring_up_loopback(plan)
    }

    fn set_hostname(&mut self, name: &str) -> Result<(), Failure> {
        nix::unistd::sethostname(name).map_err(|e| Failure::step("setting the host name", e))
    }

    fn pivot_root(&mut self, root: BorrowedFd<'_>) -> Result<(), Failure> {
        // pivot_root(".", ".") stacks the old root on top of the new one;
        // detaching it leaves no path to the host.
        nix::unistd::fchdir(root).map_err(|e| Failure::step("entering the root filesystem", e))?;
        nix::unistd::pivot_root(".", ".")
            .map_err(|e| Failure::step("pivoting to the root filesystem", e))?;
        umount2(".", MntFlags::MNT_DETACH)
            .map_err(|e| Failure::step("detaching the old root", e))?;
        nix::unistd::chdir("/").map_err(|e| Failure::step("entering /", e))
    }

    fn setns(&mut self, fd: BorrowedFd<'_>, kind: CloneFlags) -> nix::Result<()> {
        nix::sched::setns(fd, kind)
    }

    fn unshare(&mut self, flags: CloneFlags) -> nix::Result<()> {
        nix::sched::unshare(flags)
    }

    fn apply_ulimits(&mut self, ulimits: &[Ulimit]) -> Result<(), Failure> {
        hardening::apply_ulimits(ulimits)
    }

    fn drop_bounding_set(&mut self, keep: u64) -> Result<(), Failure> {
        for cap in security::caps_to_drop(keep, caps::last_cap()) {
            caps::drop_from_bounding_set(cap).map_err(|e| {
                Failure::io(
                    format!("dropping capability {cap} from the bounding set"),
                    &e,
                )
            })?;
        }
        Ok(())
    }

    fn install_seccomp(&mut self, filter: &Program) -> Result<(), Failure> {
        seccomp::install(filter).map_err(|e| Failure::io("installing the seccomp filter", &e))
    }

    fn set_groups(&mut self, user: &ExecUser, maps: &IdMaps) -> Result<(), Failure> {
        identity::set_groups(user, maps)
    }

    fn set_ids(&mut self, user: &ExecUser) -> Result<(), Failure> {
        let gid = Gid::from_raw(user.gid);
        nix::unistd::setresgid(gid, gid, gid)
            .map_err(|e| Failure::step(format!("setting gid {}", user.gid), e))?;
        let uid = Uid::from_raw(user.uid);
        nix::unistd::setresuid(uid, uid, uid)
            .map_err(|e| Failure::step(format!("setting uid {}", user.uid), e))
    }

    fn is_root(&mut self) -> bool {
        nix::unistd::geteuid().is_root()
    }

    fn set_capabilities(&mut self, keep: u64) -> Result<(), Failure> {
        caps::clear_ambient_set()
            .map_err(|e| Failure::io("clearing the ambient capabilities", &e))?;
        let keep = security::clip_caps(keep, caps::last_cap());
        caps::set_capabilities(keep, keep, 0)
            .map_err(|e| Failure::io("setting the capabilities", &e))
    }

    fn set_no_new_privs(&mut self) -> Result<(), Failure> {
        caps::set_no_new_privs().map_err(|e| Failure::io("setting no_new_privs", &e))
    }
}

/// A test double that performs nothing and records each call by name (with
/// its main argument), so tests can assert the order of a sequence.
#[cfg(test)]
#[derive(Default)]
pub struct Recorder {
    /// The calls so far, e.g. `"mount_rootfs"`, `"setns user"`.
    pub calls: Vec<String>,
}

#[cfg(test)]
impl Recorder {
    /// The position of the first call named `name` (a prefix match).
    pub fn position(&self, name: &str) -> usize {
        self.calls
            .iter()
            .position(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("no call {name:?} in {:?}", self.calls))
    }

    /// The position of the last call named `name` (a prefix match).
    pub fn last_position(&self, name: &str) -> usize {
        self.calls
            .iter()
            .rposition(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("no call {name:?} in {:?}", self.calls))
    }

    fn log(&mut self, call: impl Into<String>) -> Result<(), Failure> {
        self.calls.push(call.into());
        Ok(())
    }
}

/// `flags` as `CLONE_NEWNS | CLONE_NEWPID`.
#[cfg(test)]
fn names(flags: CloneFlags) -> String {
    let names: Vec<&str> = flags.iter_names().map(|(name, _)| name).collect();
    names.join(" | ")
}

#[cfg(test)]
impl Syscall for Recorder {
    fn make_root_rslave(&mut self) -> Result<(), Failure> {
        self.log("make_root_rslave")
    }
    fn claim_upper(&mut self, _: &RootDirs, _: (u32, u32)) -> Result<(), Failure> {
        self.log("claim_upper")
    }
    fn mount_rootfs(&mut self, _: &RootDirs) -> Result<OwnedFd, Failure> {
        self.log("mount_rootfs")?;
        // Any directory fd will do: the recorded steps never use it.
        Kernel.open_dir(Path::new("/"), "/")
    }
    fn open_dir(&mut self, path: &Path, _: &str) -> Result<OwnedFd, Failure> {
        self.log(format!("open_dir {}", path.display()))?;
        // Any directory fd will do: the recorded steps never use it.
        Kernel.open_dir(Path::new("/"), "/")
    }
    fn mount_kernel_filesystems(
        &mut self,
        _: BorrowedFd<'_>,
        _: &Special<'_>,
    ) -> Result<(), Failure> {
        self.log("mount_kernel_filesystems")
    }
    fn mount_cgroupfs(&mut self, _: BorrowedFd<'_>, _: bool) -> Result<(), Failure> {
        self.log("mount_cgroupfs")
    }
    fn check_procfs(&mut self, _: BorrowedFd<'_>) -> Result<(), Failure> {
        self.log("check_procfs")
    }
    fn mount_volumes(
        &mut self,
        _: BorrowedFd<'_>,
        _: &Volumes,
        _: &Sources,
        _: &Path,
    ) -> Result<(), Failure> {
        self.log("mount_volumes")
    }
    fn mount_devices(&mut self, _: BorrowedFd<'_>, _: &[Device]) -> Result<(), Failure> {
        self.log("mount_devices")
    }
    fn add_keep_id_user(&mut self, _: BorrowedFd<'_>, _: &Identity) -> Result<(), Failure> {
        self.log("add_keep_id_user")
    }
    fn write_sysctls(&mut self, _: BorrowedFd<'_>, s: &[(String, String)]) -> Result<(), Failure> {
        self.log(format!("write_sysctls {}", s.len()))
    }
    fn mount_scratch(
        &mut self,
        _: BorrowedFd<'_>,
        _: &Security,
        _: Option<BorrowedFd<'_>>,
    ) -> Result<(), Failure> {
        self.log("mount_scratch")
    }
    fn confine_paths(&mut self, _: BorrowedFd<'_>, _: &Security) -> Result<(), Failure> {
        self.log("confine_paths")
    }
    fn bring_up_loopback(&mut self, _: &Plan) -> Result<(), Failure> {
        self.log("bring_up_loopback")
    }
    fn set_hostname(&mut self, name: &str) -> Result<(), Failure> {
        self.log(format!("set_hostname {name}"))
    }
    fn pivot_root(&mut self, _: BorrowedFd<'_>) -> Result<(), Failure> {
        self.log("pivot_root")
    }
    fn setns(&mut self, _: BorrowedFd<'_>, kind: CloneFlags) -> nix::Result<()> {
        self.calls.push(format!("setns {}", names(kind)));
        Ok(())
    }
    fn unshare(&mut self, flags: CloneFlags) -> nix::Result<()> {
        self.calls.push(format!("unshare {}", names(flags)));
        Ok(())
    }
    fn apply_ulimits(&mut self, _: &[Ulimit]) -> Result<(), Failure> {
        self.log("apply_ulimits")
    }
    fn drop_bounding_set(&mut self, keep: u64) -> Result<(), Failure> {
        self.log(format!("drop_bounding_set {keep:#x}"))
    }
    fn install_seccomp(&mut self, _: &Program) -> Result<(), Failure> {
        self.log("install_seccomp")
    }
    fn set_groups(&mut self, _: &ExecUser, _: &IdMaps) -> Result<(), Failure> {
        self.log("set_groups")
    }
    fn set_ids(&mut self, user: &ExecUser) -> Result<(), Failure> {
        self.log(format!("set_ids {}:{}", user.uid, user.gid))
    }
    fn is_root(&mut self) -> bool {
        true
    }
    fn set_capabilities(&mut self, keep: u64) -> Result<(), Failure> {
        self.log(format!("set_capabilities {keep:#x}"))
    }
    fn set_no_new_privs(&mut self) -> Result<(), Failure> {
        self.log("set_no_new_privs")
    }
}
