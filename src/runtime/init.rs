//! The child side of `run`: the container's init, from clone to exec.
//!
//! Runs in the new namespaces as the future pid 1, as the body of a
//! `sys::child::spawn`: it returns only on failure, which `sys::child`
//! sends to the parent over the report pipe before the process `_exit`s.
//! It never unwinds into the parent's code or prints.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use super::binds::Sources;
use super::launch::{self, dup_onto, open_pty};
use super::mounts::{EtcFiles, Special};
use super::overlay::RootDirs;
use super::privileges::{self, Privileges};
use super::report::Failure;
use super::syscall::{Kernel, Syscall};
use super::user::ExecUser;
use super::{binds, hardening, identity, initproc, mounts, Plan};
use crate::sys::child::{Never, Reporter};
use crate::sys::pty::{self, Winsize};
use crate::sys::seccomp::Program;

/// What init gets from the parent, prepared before the clone.
pub struct Init<'a> {
    /// The container to start.
    pub plan: &'a Plan,
    /// Read end of the sync pipe: one byte once the id maps are written.
    pub go: OwnedFd,
    /// With pasta: one byte once the network is configured, awaited
    /// before the user's process may run.
    pub network_ready: Option<OwnedFd>,
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

/// What init opens while it still has the invoking user's identity (step
/// 1a): the overlay's directories, the /etc files and the mount sources.
pub(super) struct Held {
    /// The layers, upper, work and merged directories.
    pub rootfs: RootDirs,
    /// The /etc files and .containerenv the parent wrote.
    pub etc: EtcFiles,
    /// The sources of the bind mounts, volumes and image mounts.
    pub sources: Sources,
    /// The `--secret` files' binds and their sources (the copies).
    pub secrets: (super::volumes::Volumes, Sources),
}

impl Held {
    /// Opens what `plan`'s setup reads from the store and the host.
    fn open(plan: &Plan) -> Result<Held, Failure> {
        let secrets = super::secrets::mounts(&plan.secrets, &plan.dirs.dir);
        let secret_sources = Sources::open(&secrets)?;
        Ok(Held {
            rootfs: RootDirs::open_for(plan.rootfs.as_ref(), &plan.lowers, &plan.dirs)?,
            etc: EtcFiles::open(&plan.dirs.dir)?,
            sources: Sources::open(&plan.volumes)?,
            secrets: (secrets, secret_sources),
        })
    }
}

/// The stdio part of `Init`.
struct Stdio {
    pty_socket: Option<OwnedFd>,
    null_stdin: Option<OwnedFd>,
    outputs: Option<(OwnedFd, OwnedFd)>,
    winsize: Option<Winsize>,
}

/// Sets up the container and execs its process: the numbered sequence,
/// in four stages. Returns only on failure; `reporter` is the report pipe
/// (close-on-exec, so exec closes it: that tells the parent).
pub fn start(init: Init<'_>, reporter: &Reporter) -> Result<Never, Failure> {
    let Init {
        plan,
        go,
        network_ready,
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
    // Steps 1–2b: open what the setup needs from the store, then become
    // root in our namespaces once the maps exist.
    let held = become_root(plan, go, has_cgroup_ns)?;
    // Steps 3–8: mount the container's root and pivot into it.
    set_up_root(&mut Kernel, plan, &held, has_cgroup_ns, stdio)?;
    drop(held);
    // Steps 9–10: resolve the user while still root.
    let (root, user) = prepare_user(plan)?;
    // Step 10a: the network helper, started while we mounted, has
    // configured our interface (or, if it failed, the parent closes the
    // pipe and reports why).
    if let Some(fd) = network_ready {
        wait_for_network(fd)?;
    }
    // Steps 10b–12: drop to the user.
    let privileges = Privileges {
        ulimits: &plan.hardening.ulimits,
        caps: plan.security.caps,
        is_no_new_privs: plan.security.no_new_privileges,
        seccomp,
    };
    privileges::drop_privileges(&mut Kernel, &user, &plan.maps, &privileges)?;
    // Steps 13–18: the working directory, and exec.
    launch_process(plan, root, &user, reporter)
}

/// Step 10a: waits for the parent's byte saying the network is ready.
fn wait_for_network(fd: OwnedFd) -> Result<(), Failure> {
    use std::io::Read;
    let mut b = [0u8; 1];
    match std::fs::File::from(fd).read(&mut b) {
        Ok(1) => Ok(()),
        _ => Err(Failure::text("the network was not set up".to_string())),
    }
}

/// Steps 1–2b: wait for the id maps, open what the setup reads from the
/// store and the host, harden, become root in the user namespace and,
/// when the parent placed us, in a cgroup namespace.
fn become_root(plan: &Plan, go: OwnedFd, has_cgroup_ns: bool) -> Result<Held, Failure> {
    // 1. Wait for the parent to write our uid/gid maps: until then no id is
    //    mapped, so files we create would belong to the overflow id and
    //    setresuid(0) below would fail.
    crate::userns::wait_for_maps(go).map_err(Failure::text)?;

    // 1a. Open the overlay's directories, the /etc files and the mount
    //     sources while we still have the invoking user's identity: as the
    //     container's root, a subordinate id under --userns=nomap or
    //     --uidmap, we could not walk the private (0700) store root or a
    //     private home. Mounts reach them through /proc/self/fd, which
    //     skips the directories above. Opened here rather than by the
    //     parent: overlayfs and bind mounts take only mounts of the
    //     caller's mount namespace, and ours is new since the clone.
    let held = Held::open(plan)?;

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
    crate::userns::become_root().map_err(Failure::text)?;

    // 2b. The parent has put us in our own cgroup: root a cgroup namespace
    //     there (see `cgroupns`).
    //     --cgroupns=private asks for one even where hutch placed us
    //     nowhere (it is then rooted where we are).
    if has_cgroup_ns || plan.tuning.namespaces.is_host_cgroup == Some(false) {
        super::cgroupns::enter()?;
    }
    Ok(held)
}

/// Steps 3–8: mount the root filesystem and everything in it, set up stdio
/// and pivot into it.
fn set_up_root(
    sys: &mut impl Syscall,
    plan: &Plan,
    held: &Held,
    has_cgroup_ns: bool,
    stdio: Stdio,
) -> Result<(), Failure> {
    let root = mount_root(sys, plan, held, has_cgroup_ns)?;

    // 5c. Bring up loopback in our own network namespace: a helper, if
    //     any, was started and configured its interface before we were
    //     released; loopback is ours, with or without one.
    sys.bring_up_loopback(plan)?;

    // 6. Set the host name in our UTS namespace (with --uts=host there is
    //    none of our own, and the name is the host's).
    if !plan.tuning.namespaces.is_host_uts {
        sys.set_hostname(&plan.hostname)?;
    }

    // 7. Set up stdio. With -t the pty comes from the container's own devpts
    //    (mounted in step 5), so its slave is valid inside the container;
    //    setsid makes us a session leader, which TIOCSCTTY requires.
    attach_stdio(root.as_fd(), stdio)?;

    // 8. Switch to the new root, last: every mount above is reached through
    //    the old one. pivot_root(".", ".") stacks the old root on top of
    //    the new one; detaching it leaves no path to the host.
    sys.pivot_root(root.as_fd())
}

/// Steps 3–5b: the overlay root and every mount inside it; returns the
/// root, open.
fn mount_root(
    sys: &mut impl Syscall,
    plan: &Plan,
    held: &Held,
    has_cgroup_ns: bool,
) -> Result<OwnedFd, Failure> {
    // 3. Make every mount a slave before mounting anything: our mount
    //    namespace is a copy of the host's, and through shared propagation
    //    the mounts below would otherwise appear on the host.
    sys.make_root_rslave()?;

    // 4. Mount the overlay root, inside the namespaces so that it is owned
    //    by the user namespace and disappears with the mount namespace.
    //    With --userns modes the upper and work directories first go to
    //    the container's root, and the upper to the owner of the image's
    //    `/` (see `identity::claim_upper`).
    let root_owner = identity::root_owner(plan.root_entry.as_ref(), &plan.maps);
    sys.claim_upper(&held.rootfs, root_owner)?;
    let root = sys.mount_rootfs(&held.rootfs)?;

    // 5. Mount /proc, /sys, /dev and the /etc files beneath the root's fd.
    //    /proc needs step 4's root and our new pid namespace; /sys our
    //    network namespace; /dev/mqueue our ipc one.
    let special = Special {
        etc: &held.etc,
        is_tty_gid_mapped: plan.maps.host_gid(5).is_some(),
        shm_size: plan
            .tuning
            .shm_size
            .unwrap_or(super::tuning::DEFAULT_SHM_SIZE),
        chroot_dirs: &plan.tuning.chroot_dirs,
        namespaces: &plan.tuning.namespaces,
    };
    sys.mount_kernel_filesystems(root.as_fd(), &special)?;
    if has_cgroup_ns {
        let has_sys_admin = plan.security.caps & (1 << super::cgroupns::CAP_SYS_ADMIN) != 0;
        sys.mount_cgroupfs(root.as_fd(), has_sys_admin)?;
    }
    // Everything below that touches /proc (masks, read-only binds) must
    // land on the procfs just mounted.
    sys.check_procfs(root.as_fd())?;

    // 5. --sysctl, into the /proc/sys of our own namespaces, while it is
    //    still writable (5b freezes it).
    sys.write_sysctls(root.as_fd(), &plan.tuning.sysctls)?;

    // 5a. With --read-only, the scratch tmpfs on /run, /tmp and /var/tmp,
    //     before the user's mounts so that one below them lands on the
    //     tmpfs rather than under it.
    let containerenv = held.etc.get(super::mounts::CONTAINER_ENV.1);
    sys.mount_scratch(root.as_fd(), &plan.security, containerenv)?;

    // 5a. Bind mounts, volumes and tmpfs from -v/--mount/--tmpfs: after
    //     /dev and friends so a user mount may cover them, before 5b so a
    //     --read-only root still lets their targets be created.
    sys.mount_volumes(root.as_fd(), &plan.volumes, &held.sources, &plan.dirs.dir)?;

    // 5a. --secret files, read-only, after the mounts above so that one
    //     whose target lies in a volume lands on the volume; each copy is
    //     given its owner first (root here may give it to any mapped id).
    let (secrets, secret_sources) = &held.secrets;
    if !secrets.mounts.is_empty() {
        sys.mount_volumes(root.as_fd(), secrets, secret_sources, &plan.dirs.dir)?;
    }

    // 5a. Bind the --device nodes into the /dev just mounted, and add the
    //     keep-id user to /etc/passwd and /etc/group, before 5b may make
    //     the root read-only.
    sys.mount_devices(root.as_fd(), &plan.identity.devices)?;
    sys.add_keep_id_user(root.as_fd(), &plan.identity)?;

    // 5b. Hide and freeze kernel paths in the /proc and /sys just mounted,
    //     then, with --read-only, make the root read-only: last, since
    //     every mount above needs its target created in a writable root.
    sys.confine_paths(root.as_fd(), &plan.security)?;
    Ok(root)
}

/// Step 7: the pty (with `-t`), /dev/null for stdin, or the detached
/// output pipes onto stdio.
fn attach_stdio(root: BorrowedFd<'_>, stdio: Stdio) -> Result<(), Failure> {
    if let Some(sock) = stdio.pty_socket {
        let slave = open_pty(root, &sock, stdio.winsize.as_ref())?;
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
    Ok(())
}

/// Steps 9–10: resolve the user in the container's root, chown `:U`
/// volumes and create the working directory; returns `/`, open, and the
/// user.
fn prepare_user(plan: &Plan) -> Result<(OwnedFd, ExecUser), Failure> {
    // 9. Resolve the user now that / is the container's, so its own
    //    /etc/passwd and /etc/group decide.
    let root = Kernel.open_dir(Path::new("/"), "/")?;
    let mut user = privileges::resolve_user(root.as_fd(), &plan.user, &plan.maps)?;
    // 9a. Podman lists the primary gid among the groups when the user was
    //     given (`-u` or the image's USER), then adds --group-add's.
    if plan.user != super::plan::DEFAULT_USER {
        super::user::add_primary_group(&mut user);
    }
    identity::add_groups(root.as_fd(), &mut user, &plan.identity)?;

    // 9b. `:U` mounts now belong to that user, as Podman does it: root in
    //     the namespace may chown to any mapped id.
    binds::chown_volumes(root.as_fd(), &plan.volumes, user.uid, user.gid)?;

    // 10. Create the working directory while still root, as Docker does, so
    //     it exists whoever the user is; one that `-w` named must exist
    //     already (Podman's rule), unless a mount holds it.
    if !plan.may_create_workdir && !plan.volumes.holds(&plan.cwd) {
        check_workdir(root.as_fd(), plan)?;
    }
    let workdir =
        mounts::ensure_dir(root.as_fd(), plan.cwd.trim_start_matches('/')).map_err(|f| {
            Failure {
                text: format!("creating the working directory {}", plan.cwd),
                ..f
            }
        })?;
    drop(workdir);
    Ok((root, user))
}

/// Fails unless `plan`'s working directory is a directory beneath `root`,
/// with Podman's words and exit code 126.
fn check_workdir(root: BorrowedFd<'_>, plan: &Plan) -> Result<(), Failure> {
    let bad = |what: &str| Failure {
        kind: crate::sys::child::Kind::BadWorkdir,
        errno: 0,
        text: format!("workdir {:?} {what}", plan.cwd),
    };
    let missing = format!("does not exist on container {}", plan.id);
    let path = plan.cwd.trim_start_matches('/');
    let path = if path.is_empty() { "." } else { path };
    match mounts::open_beneath(root, path) {
        Ok(fd) => match nix::sys::stat::fstat(&fd) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Ok(()),
            Ok(_) => Err(bad(&format!(
                "exists on container {}, but is not a directory",
                plan.id
            ))),
            Err(e) => Err(Failure::step(
                format!("checking the working directory {}", plan.cwd),
                e,
            )),
        },
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
            Err(bad(&missing))
        }
        Err(e) => Err(Failure::io(
            format!("checking the working directory {}", plan.cwd),
            &e,
        )),
    }
}

/// Steps 13–18: enter the working directory as the user and exec the
/// command (with `--init`, from a forked child).
fn launch_process(
    plan: &Plan,
    root: OwnedFd,
    user: &ExecUser,
    reporter: &Reporter,
) -> Result<Never, Failure> {
    // 13. Enter the working directory as the user, so its permissions
    //     apply, resolved beneath the root (no magic links) and checked.
    hardening::enter_workdir(root.as_fd(), &plan.cwd)?;
    drop(root);

    // 14. Build argv and the environment (HOME from passwd when unset).
    let command = launch::prepare_command(&plan.args, &plan.env, &user.home)?;

    // 15. Restore default signal handling and mark inherited fds
    //     close-on-exec; the process's umask (--umask, else 0022) and
    //     --personality.
    launch::reset_for_exec(plan.tuning.preserve_fds)?;
    super::tuning::apply_to_process(&plan.tuning)?;

    // 16. Die with whatever waits for us (the foreground hutch or the
    //     monitor), so the container never outlives it. This comes after
    //     the last credential change in step 12, which clears the setting.
    launch::die_with_parent(reporter.as_fd())?;

    // 17. With --init, stay as the container's pid 1 and fork the command
    //     (see `initproc`); only the child goes on to exec.
    if plan.hardening.init {
        return initproc::fork_init(reporter, &plan.args, Path::new(super::PROC), move || {
            Err(launch::exec(&command))
        });
    }

    // 18. Exec; the report pipe closes on success, which tells the parent.
    Err(launch::exec(&command))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::syscall::Recorder;

    fn plan() -> Plan {
        let json = serde_json::json!({
            "id": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "dirs": {"dir": "/s/c", "upper": "/s/c/upper", "work": "/s/c/work", "merged": "/s/c/merged"},
            "lowers": ["/s/l/1"],
            "maps": {"uids": [], "gids": [], "fallback_reason": null},
            "hostname": "box",
            "args": ["sh"],
            "env": [],
            "cwd": "/",
            "user": "0",
            "tty": false,
            "interactive": false
        });
        serde_json::from_value(json).unwrap()
    }

    fn no_stdio() -> Stdio {
        Stdio {
            pty_socket: None,
            null_stdin: None,
            outputs: None,
            winsize: None,
        }
    }

    /// Fds of `/` stand in for the store's directories: the recorded
    /// steps never use them.
    fn held() -> Held {
        let slash = || crate::runtime::overlay::open_dir(Path::new("/")).unwrap();
        Held {
            rootfs: RootDirs {
                lowers: vec![slash()],
                upper: slash(),
                work: slash(),
                merged: slash(),
                scratch: crate::runtime::overlay::Scratch {
                    dir: slash(),
                    upper: "upper".into(),
                    work: "work".into(),
                },
                source: crate::runtime::overlay::Source::Layers,
            },
            etc: EtcFiles::default(),
            sources: Sources::default(),
            secrets: Default::default(),
        }
    }

    fn set_up(has_cgroup_ns: bool) -> Recorder {
        let mut sys = Recorder::default();
        set_up_root(&mut sys, &plan(), &held(), has_cgroup_ns, no_stdio()).unwrap();
        sys
    }

    #[test]
    fn root_is_made_rslave_before_any_mount() {
        let sys = set_up(true);
        assert_eq!(sys.calls[0], "make_root_rslave");
        let first_mount = sys
            .calls
            .iter()
            .position(|c| c.starts_with("mount_"))
            .unwrap();
        assert!(first_mount > 0);
    }

    #[test]
    fn overlay_is_mounted_before_proc_and_proc_checked_before_masking() {
        let sys = set_up(true);
        assert!(sys.position("claim_upper") < sys.position("mount_rootfs"));
        assert!(sys.position("mount_rootfs") < sys.position("mount_kernel_filesystems"));
        assert!(sys.position("mount_kernel_filesystems") < sys.position("mount_cgroupfs"));
        assert!(sys.position("mount_cgroupfs") < sys.position("check_procfs"));
        assert!(sys.position("check_procfs") < sys.position("write_sysctls 0"));
        assert!(sys.position("write_sysctls 0") < sys.position("confine_paths"));
    }

    #[test]
    fn pivot_root_comes_after_every_mount_and_last() {
        let sys = set_up(false);
        let pivot = sys.position("pivot_root");
        assert_eq!(pivot, sys.calls.len() - 1);
        for step in [
            "mount_volumes",
            "mount_devices",
            "add_keep_id_user",
            "confine_paths",
            "set_hostname box",
        ] {
            assert!(sys.last_position(step) < pivot, "{step}");
        }
        assert!(!sys.calls.iter().any(|c| c == "mount_cgroupfs"));
    }

    #[test]
    fn user_mounts_may_cover_dev_and_precede_the_read_only_root() {
        let sys = set_up(false);
        assert!(sys.position("mount_kernel_filesystems") < sys.position("mount_volumes"));
        assert!(sys.position("mount_volumes") < sys.position("mount_devices"));
        assert!(sys.position("mount_devices") < sys.position("confine_paths"));
        assert!(sys.position("add_keep_id_user") < sys.position("confine_paths"));
    }

    #[test]
    fn the_scratch_tmpfs_precedes_the_user_mounts() {
        // A volume below /run must land on the --read-only tmpfs, not
        // under it (issue #16's kube Secret at /run/creds).
        let sys = set_up(false);
        assert!(sys.position("check_procfs") < sys.position("mount_scratch"));
        assert!(sys.position("mount_scratch") < sys.position("mount_volumes"));
    }
}
