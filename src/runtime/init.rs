//! The child side of `run`: the container's init, from clone to exec.
//!
//! Runs in the new namespaces as the future pid 1. It never returns,
//! unwinds or prints: a failed step is sent to the parent over the error
//! pipe (see `report`) and the process `_exit`s.

use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::mount::{umount2, MntFlags, MsFlags};
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
use nix::sys::statvfs::FsFlags;
use nix::unistd::{Gid, Uid};

use super::binds;
use super::devices;
use super::identity;
use super::mounts::{self, Special};
use super::report::{Failure, Kind};
use super::seccomp;
use super::security::{self, Security};
use super::user::{self, ExecUser, Unresolved};
use super::{hardening, initproc, Plan};
use crate::sys::caps;
use crate::sys::fs::{openat2, proc_fd_path, Resolve};
use crate::sys::process::{close_range, exit_now, reset_signal_dispositions};
use crate::sys::pty::{self, Winsize};
use crate::sys::seccomp::Program;
use crate::userns::IdMaps;

/// Exit code of an init that failed before exec (the parent reads the
/// reason from the error pipe, not from this code).
const EXIT_SETUP_FAILED: i32 = 125;

/// What init gets from the parent, prepared before the clone.
pub struct Init<'a> {
    /// The container to start.
    pub plan: &'a Plan,
    /// Read end of the sync pipe: one byte once the id maps are written.
    pub go: OwnedFd,
    /// Write end of the error pipe (close-on-exec).
    pub err: OwnedFd,
    /// With `-t`: our end of the socketpair the pty master goes over.
    pub pty_socket: Option<OwnedFd>,
    /// Without `-i` and `-t`, or detached: /dev/null for stdin.
    pub null_stdin: Option<OwnedFd>,
    /// Detached without `-t`: write ends of the stdout and stderr pipes.
    pub outputs: Option<(OwnedFd, OwnedFd)>,
    /// With `-t`: the outer terminal's size, for the new pty.
    pub winsize: Option<Winsize>,
    /// The parent put us in our own cgroup: make it our cgroup namespace's
    /// root and mount it at /sys/fs/cgroup.
    pub has_cgroup_ns: bool,
    /// The compiled seccomp filter, unless unconfined.
    pub seccomp: Option<&'a Program>,
}

/// Sets up the container and execs its process; on failure reports over
/// the error pipe and exits. Never returns.
pub fn start(init: Init<'_>) -> ! {
    let Init {
        plan,
        go,
        err,
        pty_socket,
        null_stdin,
        outputs,
        winsize,
        has_cgroup_ns,
        seccomp,
    } = init;
    let stdio = Stdio {
        pty_socket,
        null_stdin,
        outputs,
        winsize,
    };
    run_child(err.as_fd(), || {
        setup(plan, go, stdio, has_cgroup_ns, seccomp, err.as_fd())
    })
}

/// Runs a forked child's `body`, which returns only on failure; sends that
/// failure (or a panic) over the error pipe `err` and exits. Never returns.
pub fn run_child(err: BorrowedFd<'_>, body: impl FnOnce() -> Result<Never, Failure>) -> ! {
    // A panic must neither print nor unwind into the parent's code.
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    let failure = match result {
        Ok(Err(f)) => f,
        Ok(Ok(never)) => match never {},
        Err(_) => Failure {
            kind: Kind::Setup,
            errno: 0,
            text: "container init panicked".into(),
        },
    };
    let _ = nix::unistd::write(err, &failure.encode());
    exit_now(EXIT_SETUP_FAILED)
}

/// The stdio part of `Init`.
struct Stdio {
    pty_socket: Option<OwnedFd>,
    null_stdin: Option<OwnedFd>,
    outputs: Option<(OwnedFd, OwnedFd)>,
    winsize: Option<Winsize>,
}

/// What a child's setup returns on success: nothing, since it ends in exec.
pub enum Never {}

/// The numbered setup sequence; returns only on failure.
fn setup(
    plan: &Plan,
    go: OwnedFd,
    stdio: Stdio,
    has_cgroup_ns: bool,
    filter: Option<&Program>,
    err: BorrowedFd<'_>,
) -> Result<Never, Failure> {
    // 1. Wait for the parent to write our uid/gid maps: until then no id is
    //    mapped, so files we create would belong to the overflow id and
    //    setresuid(0) below would fail.
    crate::userns::wait_for_maps(go).map_err(|text| Failure {
        kind: Kind::Setup,
        errno: 0,
        text,
    })?;

    // 1b. --oom-score-adj, through the host's /proc (checked to be procfs)
    //     while our mount namespace still shows it, and while we may still
    //     open our own /proc files for writing (step 1c takes that away).
    if let Some(adj) = plan.hardening.oom_score_adj {
        let proc = hardening::open_proc(Path::new(super::PROC))?;
        hardening::set_oom_score_adj(proc.as_fd(), adj)?;
    }

    // 1c. Become non-dumpable until exec: from here on nothing but root on
    //     the host may ptrace us or open our /proc files, /proc/PID/exe (the
    //     hutch binary) included. Not earlier: newuidmap checks that it may
    //     access our /proc entry, and a direct map write needs it too;
    //     until the maps exist no other process shares our namespaces.
    nix::sys::prctl::set_dumpable(false)
        .map_err(|e| Failure::step("making the container's init non-dumpable", e))?;

    // 2. Become uid/gid 0 in the namespace, so that the mounts and files
    //    below belong to the container's root (the invoking user outside).
    crate::userns::become_root().map_err(|text| Failure {
        kind: Kind::Setup,
        errno: 0,
        text,
    })?;

    // 2b. The parent has put us in our own cgroup: root a cgroup namespace
    //     there (see `cgroupns`).
    if has_cgroup_ns {
        super::cgroupns::enter()?;
    }

    // 3. Make every mount a slave before mounting anything: our mount
    //    namespace is a copy of the host's, and through shared propagation
    //    the mounts below would otherwise appear on the host.
    mounts::make_root_rslave().map_err(|e| Failure::step("making / a recursive slave mount", e))?;

    // 4. Mount the overlay root, inside the namespaces so that it is owned
    //    by the user namespace and disappears with the mount namespace.
    //    With --userns modes the upper and work directories first go to
    //    the container's root (see `identity::claim_upper`).
    identity::claim_upper(&plan.dirs)?;
    mounts::mount_rootfs(&plan.lowers, &plan.dirs)?;

    // 5. Open the root once and mount /proc, /sys, /dev and the /etc files
    //    beneath that fd. /proc needs step 4's root and our new pid
    //    namespace; /sys our network namespace; /dev/mqueue our ipc one.
    let root = nix::fcntl::open(
        &plan.dirs.merged,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Failure::step("opening the root filesystem", e))?;
    let special = Special {
        dir: &plan.dirs.dir,
        is_tty_gid_mapped: plan.maps.host_gid(5).is_some(),
    };
    // An image whose /proc, /sys or /dev is a symlink is refused rather
    // than having the kernel filesystems mounted wherever the link points.
    hardening::check_kernel_mountpoints(root.as_fd())?;
    mounts::mount_kernel_filesystems(root.as_fd(), &special)?;
    if has_cgroup_ns {
        let has_sys_admin = plan.security.caps & (1 << super::cgroupns::CAP_SYS_ADMIN) != 0;
        super::cgroupns::mount_cgroupfs(root.as_fd(), has_sys_admin)?;
    }
    // Everything below that touches /proc (masks, read-only binds) must
    // land on the procfs just mounted.
    let proc = open_confined(root.as_fd(), "/proc")?
        .ok_or_else(|| Failure::step("reopening /proc", Errno::ENOENT))?;
    hardening::ensure_procfs(proc.as_fd(), "the container's /proc")?;
    drop(proc);

    // 5a. Bind mounts, volumes and tmpfs from -v/--mount/--tmpfs: after
    //     /dev and friends so a user mount may cover them, before 5b so a
    //     --read-only root still lets their targets be created.
    binds::mount_volumes(root.as_fd(), &plan.volumes, &plan.dirs.dir)?;

    // 5a. Bind the --device nodes into the /dev just mounted, and add the
    //     keep-id user to /etc/passwd and /etc/group, before 5b may make
    //     the root read-only.
    devices::mount_devices(root.as_fd(), &plan.identity.devices)?;
    identity::add_keep_id_user(root.as_fd(), &plan.identity)?;

    // 5b. Hide and freeze kernel paths in the /proc and /sys just mounted,
    //     then, with --read-only, give the scratch directories a tmpfs and
    //     make the root read-only: last, since every mount above needs
    //     its target created in a writable root.
    confine_paths(root.as_fd(), &plan.security)?;

    // 5c. Bring up loopback in our own network namespace: a helper, if
    //     any, was started and configured its interface before we were
    //     released; loopback is ours, with or without one.
    super::network::bring_up_loopback(plan)?;

    // 6. Set the host name in our UTS namespace.
    nix::unistd::sethostname(&plan.hostname)
        .map_err(|e| Failure::step("setting the host name", e))?;

    // 7. Set up stdio. With -t the pty comes from the container's own devpts
    //    (mounted in step 5), so its slave is valid inside the container;
    //    setsid makes us a session leader, which TIOCSCTTY requires.
    if let Some(sock) = stdio.pty_socket {
        let slave = open_pty(root.as_fd(), &sock, stdio.winsize.as_ref())?;
        nix::unistd::setsid().map_err(|e| Failure::step("starting a session", e))?;
        pty::set_controlling_terminal(slave.as_fd())
            .map_err(|e| Failure::io("setting the controlling terminal", &e))?;
        for target in 0..=2 {
            dup_onto(slave.as_fd(), target)?;
        }
    } else if let Some(null) = stdio.null_stdin {
        dup_onto(null.as_fd(), 0)?;
    }
    if let Some((out, err_out)) = stdio.outputs {
        dup_onto(out.as_fd(), 1)?;
        dup_onto(err_out.as_fd(), 2)?;
    }

    // 8. Switch to the new root. pivot_root(".", ".") stacks the old root
    //    on top of the new one; detaching it leaves no path to the host.
    nix::unistd::fchdir(root.as_fd())
        .map_err(|e| Failure::step("entering the root filesystem", e))?;
    drop(root);
    nix::unistd::pivot_root(".", ".")
        .map_err(|e| Failure::step("pivoting to the root filesystem", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| Failure::step("detaching the old root", e))?;
    nix::unistd::chdir("/").map_err(|e| Failure::step("entering /", e))?;

    // 9. Resolve the user now that / is the container's, so its own
    //    /etc/passwd and /etc/group decide.
    let root = nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Failure::step("opening /", e))?;
    let mut user = resolve_user(root.as_fd(), &plan.user, &plan.maps)?;
    identity::add_groups(root.as_fd(), &mut user, &plan.identity)?;

    // 9b. `:U` mounts now belong to that user, as Podman does it: root in
    //     the namespace may chown to any mapped id.
    binds::chown_volumes(root.as_fd(), &plan.volumes, user.uid, user.gid)?;

    // 10. Create the working directory while still root, as Docker does, so
    //     it exists whoever the user is.
    let workdir =
        mounts::ensure_dir(root.as_fd(), plan.cwd.trim_start_matches('/')).map_err(|f| {
            Failure {
                text: format!("creating the working directory {}", plan.cwd),
                ..f
            }
        })?;
    drop(workdir);

    // 10b. Resource limits (--ulimit, --pids-limit), inherited by the
    //      command; before the user switch, as lowering needs no privilege
    //      but an NPROC limit is checked at that switch.
    hardening::apply_ulimits(&plan.hardening.ulimits)?;

    // 11. Shrink the bounding set while we still hold CAP_SETPCAP, which
    //     the user switch below may take away (capabilities(7)). Then
    //     install the seccomp filter while we still hold CAP_SYS_ADMIN in
    //     our namespace, which lets us do so without no_new_privs; what
    //     follows (setgroups, setresuid, capset, prctl, chdir, execve) must
    //     be allowed by the filter.
    drop_bounding_set(plan.security.caps)?;
    install_seccomp(filter)?;

    // 12. Drop to the user (see `switch_user`), then keep only the planned
    //     capabilities (a non-root user has none left) and set
    //     no_new_privs, the last steps before exec that need privilege.
    switch_user(&user, &plan.maps)?;
    restrict_capabilities(plan.security.caps, plan.security.no_new_privileges)?;

    // 13. Enter the working directory as the user, so its permissions
    //     apply, resolved beneath the root (no magic links) and checked.
    hardening::enter_workdir(root.as_fd(), &plan.cwd)?;
    drop(root);

    // 14. Build argv and the environment (HOME from passwd when unset).
    let command = prepare_command(&plan.args, &plan.env, &user.home)?;

    // 15. Restore default signal handling and close inherited fds.
    reset_for_exec(err)?;

    // 16. Die with whatever waits for us (the foreground hutch or the
    //     monitor), so the container never outlives it. This comes after
    //     the last credential change in step 12, which clears the setting.
    die_with_parent(err)?;

    // 17. With --init, stay as the container's pid 1 and fork the command
    //     (see `initproc`); only the child goes on.
    if plan.hardening.init {
        initproc::fork_init(err)?;
    }

    // 18. Exec; the error pipe closes on success, which tells the parent.
    Err(exec(&command))
}

/// Reads /etc/passwd and /etc/group beneath `root` (the container's `/`)
/// and resolves `spec` against them; the ids must be mapped by `maps`.
pub fn resolve_user(root: BorrowedFd<'_>, spec: &str, maps: &IdMaps) -> Result<ExecUser, Failure> {
    let passwd = read_in_root(root, "etc/passwd")?;
    let group = read_in_root(root, "etc/group")?;
    let user = user::resolve(spec, &passwd, &group).map_err(|u| match u {
        Unresolved::User(name) => Failure {
            kind: Kind::UnknownUser,
            errno: 0,
            text: name,
        },
        Unresolved::Group(name) => Failure {
            kind: Kind::UnknownGroup,
            errno: 0,
            text: name,
        },
    })?;
    if maps.host_uid(user.uid).is_none() || maps.host_gid(user.gid).is_none() {
        return Err(Failure {
            kind: Kind::UnmappedUser,
            errno: 0,
            text: spec.to_string(),
        });
    }
    Ok(user)
}

/// Drops from root in the user namespace to `user`: groups first, since
/// changing them needs the privilege that setresuid gives up (see
/// `identity::set_groups`).
pub fn switch_user(user: &ExecUser, maps: &IdMaps) -> Result<(), Failure> {
    identity::set_groups(user, maps)?;
    let gid = Gid::from_raw(user.gid);
    nix::unistd::setresgid(gid, gid, gid)
        .map_err(|e| Failure::step(format!("setting gid {}", user.gid), e))?;
    let uid = Uid::from_raw(user.uid);
    nix::unistd::setresuid(uid, uid, uid)
        .map_err(|e| Failure::step(format!("setting uid {}", user.uid), e))
}

/// Masks and freezes `sec`'s paths beneath `root`, and with
/// `sec.read_only` mounts the scratch tmpfs and remounts the root read-only.
fn confine_paths(root: BorrowedFd<'_>, sec: &Security) -> Result<(), Failure> {
    for path in &sec.masked_paths {
        if let Some(target) = open_confined(root, path)? {
            mask_path(target.as_fd(), path)?;
        }
    }
    for path in &sec.readonly_paths {
        if let Some(target) = open_confined(root, path)? {
            freeze_path(root, target.as_fd(), path)?;
        }
    }
    if sec.read_only {
        if sec.read_only_tmpfs {
            for dir in security::READ_ONLY_TMPFS_DIRS {
                let target = mounts::ensure_dir(root, dir.trim_start_matches('/'))?;
                let mode = if dir == "/run" {
                    "mode=755"
                } else {
                    "mode=1777"
                };
                nix::mount::mount(
                    Some("tmpfs"),
                    &proc_fd_path(target.as_fd()),
                    Some("tmpfs"),
                    MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
                    Some(mode),
                )
                .map_err(|e| Failure::step(format!("mounting a tmpfs on {dir}"), e))?;
            }
        }
        remount_read_only(root, "/")?;
    }
    Ok(())
}

/// Opens `path` (absolute in the container) beneath `root` without
/// following any symlink, so a path the image swapped for a link is never
/// mounted over; `None` when it does not exist.
fn open_confined(root: BorrowedFd<'_>, path: &str) -> Result<Option<OwnedFd>, Failure> {
    match openat2(
        root,
        Path::new(path.trim_start_matches('/')),
        libc::O_PATH,
        0,
        Resolve::IN_ROOT | Resolve::NO_SYMLINKS,
    ) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(Failure::io(format!("opening {path} in the container"), &e)),
    }
}

/// Hides `target`: an empty read-only tmpfs over a directory, /dev/null
/// over anything else.
fn mask_path(target: BorrowedFd<'_>, path: &str) -> Result<(), Failure> {
    let stat = nix::sys::stat::fstat(target)
        .map_err(|e| Failure::step(format!("inspecting {path}"), e))?;
    let at = proc_fd_path(target);
    let is_dir = stat.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let result = if is_dir {
        nix::mount::mount(
            Some("tmpfs"),
            &at,
            Some("tmpfs"),
            MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
            Some("size=0"),
        )
    } else {
        nix::mount::mount(
            Some("/dev/null"),
            &at,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
    };
    result.map_err(|e| Failure::step(format!("masking {path}"), e))
}

/// Makes `target` read-only: a bind mount onto itself, then a remount.
fn freeze_path(root: BorrowedFd<'_>, target: BorrowedFd<'_>, path: &str) -> Result<(), Failure> {
    let at = proc_fd_path(target);
    nix::mount::mount(
        Some(&at),
        &at,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Failure::step(format!("bind-mounting {path} onto itself"), e))?;
    remount_read_only(root, path)
}

/// Remounts the mount at `path` beneath `root` read-only. Reopened, since
/// an fd from before a bind mount names the mount underneath; the flags it
/// already has are kept, as a user namespace may not clear locked ones.
fn remount_read_only(root: BorrowedFd<'_>, path: &str) -> Result<(), Failure> {
    let rel = path.trim_start_matches('/');
    let target = if rel.is_empty() {
        openat2(root, Path::new("."), libc::O_PATH, 0, Resolve::BENEATH)
            .map_err(|e| Failure::io("reopening /", &e))?
    } else {
        open_confined(root, path)?
            .ok_or_else(|| Failure::step(format!("reopening {path}"), Errno::ENOENT))?
    };
    let flags = nix::sys::statvfs::fstatvfs(target.as_fd())
        .map_err(|e| Failure::step(format!("reading the mount flags of {path}"), e))?
        .flags();
    let mut ms = MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY;
    for (st, m) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if flags.contains(st) {
            ms |= m;
        }
    }
    nix::mount::mount(
        None::<&str>,
        &proc_fd_path(target.as_fd()),
        None::<&str>,
        ms,
        None::<&str>,
    )
    .map_err(|e| Failure::step(format!("making {path} read-only"), e))
}

/// Drops from the bounding set every capability `keep` lacks; needs
/// CAP_SETPCAP, so it must precede the switch to a non-root user.
pub fn drop_bounding_set(keep: u64) -> Result<(), Failure> {
    let last = caps::last_cap();
    for cap in security::caps_to_drop(keep, last) {
        caps::drop_from_bounding_set(cap).map_err(|e| {
            Failure::io(
                format!("dropping capability {cap} from the bounding set"),
                &e,
            )
        })?;
    }
    Ok(())
}

/// Installs the seccomp `filter`, if any; see step 11 of `setup` for why
/// it comes after the bounding set and before the user switch.
pub fn install_seccomp(filter: Option<&Program>) -> Result<(), Failure> {
    match filter {
        Some(p) => {
            seccomp::install(p).map_err(|e| Failure::io("installing the seccomp filter", &e))
        }
        None => Ok(()),
    }
}

/// Sets the effective and permitted sets to `keep` (clipped to what the
/// kernel knows), empties the inheritable and ambient sets, and sets
/// no_new_privs when `is_no_new_privs`. Run after the user switch: a
/// non-root user already lost every capability, and asking for them back
/// would fail, so only uid 0 sets them.
pub fn restrict_capabilities(keep: u64, is_no_new_privs: bool) -> Result<(), Failure> {
    caps::clear_ambient_set().map_err(|e| Failure::io("clearing the ambient capabilities", &e))?;
    let keep = if nix::unistd::geteuid().is_root() {
        security::clip_caps(keep, caps::last_cap())
    } else {
        0
    };
    caps::set_capabilities(keep, keep, 0)
        .map_err(|e| Failure::io("setting the capabilities", &e))?;
    if is_no_new_privs {
        caps::set_no_new_privs().map_err(|e| Failure::io("setting no_new_privs", &e))?;
    }
    Ok(())
}

/// A process to exec: argv, environment and the PATH to search.
pub struct Command {
    args: Vec<CString>,
    env: Vec<CString>,
    path_var: String,
}

/// Builds the `Command` for `args` with `env`, adding `HOME=home` when the
/// environment has no HOME.
pub fn prepare_command(args: &[String], env: &[String], home: &str) -> Result<Command, Failure> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(super::plan::DEFAULT_PATH)
        .to_string();
    Ok(Command {
        args: cstrings(args, "the command line")?,
        env: cstrings(&env, "the environment")?,
        path_var,
    })
}

/// Restores default signal handling (the parent blocked the signals it
/// forwards, and the mask survives exec), then closes every fd but stdio
/// and the close-on-exec error pipe `err`: no fd of hutch or the host
/// leaks into the container (CVE-2024-21626 class).
pub fn reset_for_exec(err: BorrowedFd<'_>) -> Result<(), Failure> {
    reset_signal_dispositions();
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .map_err(|e| Failure::step("resetting the signal mask", e))?;
    let err_raw = err.as_raw_fd() as u32;
    close_range(3, err_raw.saturating_sub(1))
        .map_err(|e| Failure::io("closing inherited fds", &e))?;
    close_range(err_raw + 1, u32::MAX).map_err(|e| Failure::io("closing inherited fds", &e))
}

/// Sets the parent death signal to SIGKILL; must come after the last
/// credential change, which clears it. If the parent is already gone the
/// signal never comes, but then no one reads the error pipe `err` either:
/// poll reports POLLERR on a pipe without readers, and we exit.
pub fn die_with_parent(err: BorrowedFd<'_>) -> Result<(), Failure> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| Failure::step("setting the parent death signal", e))?;
    if is_parent_gone(err) {
        exit_now(EXIT_SETUP_FAILED);
    }
    Ok(())
}

/// Whether the read end of the error pipe `err` is closed: the parent,
/// the only reader, has exited.
fn is_parent_gone(err: BorrowedFd<'_>) -> bool {
    let mut fds = [nix::poll::PollFd::new(err, nix::poll::PollFlags::POLLOUT)];
    matches!(nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(nix::poll::PollFlags::POLLERR))
}

/// Opens a pty in the container's devpts beneath `root`, sends its master
/// to the parent and returns the slave.
pub fn open_pty(
    root: BorrowedFd<'_>,
    sock: &OwnedFd,
    winsize: Option<&Winsize>,
) -> Result<OwnedFd, Failure> {
    let master = mounts::open_ptmx(root)?;
    pty::unlock(master.as_fd()).map_err(|e| Failure::io("unlocking the pty", &e))?;
    let slave = pty::open_peer(master.as_fd(), libc::O_RDWR | libc::O_NOCTTY)
        .map_err(|e| Failure::io("opening the pty slave", &e))?;
    if let Some(ws) = winsize {
        // Before exec, so the first `stty size` already sees it.
        pty::set_window_size(slave.as_fd(), ws)
            .map_err(|e| Failure::io("setting the pty size", &e))?;
    }
    super::pty::send_master(sock.as_fd(), master.as_fd())
        .map_err(|e| Failure::io("sending the pty to hutch", &e))?;
    Ok(slave)
}

/// Duplicates `fd` onto stdio fd `target` (0, 1 or 2).
pub fn dup_onto(fd: BorrowedFd<'_>, target: i32) -> Result<(), Failure> {
    let ret = match target {
        0 => nix::unistd::dup2_stdin(fd),
        1 => nix::unistd::dup2_stdout(fd),
        _ => nix::unistd::dup2_stderr(fd),
    };
    ret.map_err(|e| Failure::step(format!("setting up fd {target}"), e))
}

/// Reads a small file beneath the (new) root; a missing file reads empty.
fn read_in_root(root: BorrowedFd<'_>, path: &str) -> Result<String, Failure> {
    let fd = match openat2(
        root,
        Path::new(path),
        libc::O_RDONLY,
        0,
        Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(String::new()),
        Err(e) => return Err(Failure::io(format!("opening /{path}"), &e)),
    };
    let mut text = String::new();
    std::fs::File::from(fd)
        .read_to_string(&mut text)
        .map_err(|e| Failure::io(format!("reading /{path}"), &e))?;
    Ok(text)
}

fn cstrings(v: &[String], what: &str) -> Result<Vec<CString>, Failure> {
    v.iter()
        .map(|s| CString::new(s.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| Failure::step(format!("{what} contains a NUL byte"), Errno::EINVAL))
}

/// execve like execvp(3): a name without `/` is searched in the command's
/// PATH. Every candidate is resolved beneath `/` (the container's root)
/// with /proc magic links refused, so neither `/proc/self/exe` nor a
/// link to it can make the kernel run the process's own executable (the
/// hutch binary before this exec, CVE-2019-5736 class); an ELF file is
/// then executed through the very fd that was checked. Returns only on
/// failure: not found (127) or cannot invoke (126).
pub fn exec(command: &Command) -> Failure {
    let Command {
        args,
        env,
        path_var,
    } = command;
    let root = match nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return Failure::step("opening / to resolve the command", e),
    };
    let prog = args[0].to_string_lossy().into_owned();
    if prog.contains('/') {
        let e = exec_in_root(root.as_fd(), &absolute(&prog), args, env);
        return exec_failure(&prog, e);
    }
    let mut denied = None;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = format!("{dir}/{prog}");
        let e = exec_in_root(root.as_fd(), &absolute(&candidate), args, env);
        match e {
            Errno::ENOENT | Errno::ENOTDIR => continue,
            // Like execvp: remember, keep looking, and report it if nothing runs.
            Errno::EACCES => {
                denied.get_or_insert((candidate, e));
            }
            _ => return exec_failure(&candidate, e),
        }
    }
    match denied {
        Some((path, e)) => exec_failure(&path, e),
        None => Failure {
            kind: Kind::NotFound,
            errno: 0,
            text: prog,
        },
    }
}

/// `path` made absolute against the working directory (already checked
/// to lie inside the root).
fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    match nix::unistd::getcwd() {
        Ok(cwd) => format!("{}/{path}", cwd.display()),
        Err(_) => format!("/{path}"),
    }
}

/// How many `#!` interpreters deep the kernel follows (binfmt_script).
const MAX_INTERPRETER_DEPTH: usize = 5;

/// Resolves the absolute `path` beneath `root` without magic links and
/// executes it: an ELF file through its fd, a script by path once every
/// interpreter of its `#!` chain resolved the same way (the kernel
/// resolves those itself, so each is checked first). Returns the errno of
/// the failure.
fn exec_in_root(root: BorrowedFd<'_>, path: &str, args: &[CString], env: &[CString]) -> Errno {
    let fd = match open_program(root, path) {
        Ok(fd) => fd,
        Err(e) => return e,
    };
    match check_interpreters(root, path, 0) {
        Ok(false) => crate::sys::reexec::exec_fd(fd.as_fd(), args, env),
        Ok(true) => {
            let Ok(c) = CString::new(path) else {
                return Errno::EINVAL;
            };
            let Err(e) = nix::unistd::execve(&c, args, env);
            e
        }
        Err(e) => e,
    }
}

/// Opens `path` (absolute in the container) beneath `root` for exec.
fn open_program(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    let rel = path.trim_start_matches('/');
    openat2(
        root,
        Path::new(if rel.is_empty() { "." } else { rel }),
        libc::O_PATH,
        0,
        Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
    )
    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// Whether `path` is a `#!` script; each interpreter on its chain must
/// resolve beneath `root` without magic links (ELOOP otherwise). A file
/// we may not read is left to the kernel, which then decides as usual.
fn check_interpreters(root: BorrowedFd<'_>, path: &str, depth: usize) -> Result<bool, Errno> {
    let rel = path.trim_start_matches('/');
    let Ok(fd) = openat2(
        root,
        Path::new(rel),
        libc::O_RDONLY,
        0,
        Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
    ) else {
        return Ok(false);
    };
    let mut head = [0u8; 256];
    let n = nix::unistd::read(&fd, &mut head).unwrap_or(0);
    let Some(interpreter) = shebang_interpreter(&head[..n]) else {
        return Ok(false);
    };
    if depth >= MAX_INTERPRETER_DEPTH {
        return Err(Errno::ELOOP);
    }
    let interpreter = absolute(&interpreter);
    match open_program(root, &interpreter) {
        Ok(_) => {
            check_interpreters(root, &interpreter, depth + 1)?;
            Ok(true)
        }
        Err(Errno::ELOOP) => Err(Errno::ELOOP),
        // Missing and the like: the kernel reports it when it tries.
        Err(_) => Ok(true),
    }
}

/// The interpreter path of a `#!` line at the start of `head`.
fn shebang_interpreter(head: &[u8]) -> Option<String> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|b| *b == b'\n').next()?;
    let text = String::from_utf8_lossy(line);
    let name = text.split([' ', '\t']).find(|w| !w.is_empty())?;
    Some(name.to_string())
}

fn exec_failure(path: &str, e: Errno) -> Failure {
    if e == Errno::ENOENT || e == Errno::ENOTDIR {
        return Failure {
            kind: Kind::NotFound,
            errno: 0,
            text: path.to_string(),
        };
    }
    // execve says EACCES for a directory; name the real reason.
    let errno = if e == Errno::EACCES && Path::new(path).is_dir() {
        Errno::EISDIR
    } else {
        e
    };
    Failure {
        kind: Kind::CannotInvoke,
        errno: errno as i32,
        text: path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_interpreters_are_read_like_the_kernel_does() {
        let cases: [(&[u8], Option<&str>); 5] = [
            (b"#!/bin/sh\necho", Some("/bin/sh")),
            (b"#! /proc/self/exe -x\n", Some("/proc/self/exe")),
            (b"#!\t/usr/bin/env python3", Some("/usr/bin/env")),
            (b"\x7fELF...", None),
            (b"#!\n", None),
        ];
        for (head, want) in cases {
            assert_eq!(shebang_interpreter(head).as_deref(), want, "{head:?}");
        }
    }
}
