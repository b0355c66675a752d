//! `hutch exec`: finding the running container and computing the process
//! to start in it; joining its namespaces is `runtime::exec`'s job.

use std::path::Path;

use super::{lifecycle, Error};
pub use crate::runtime::exec::ExecIo;
use crate::runtime::exec::Process;
use crate::runtime::{plan, security, Plan};
use crate::storage::{ContainerStatus, Store};

/// What the user asked for on the `exec` command line.
#[derive(Debug, Clone, Default)]
pub struct ExecOptions {
    /// The container, by name, id or id prefix.
    pub container: String,
    /// Command and arguments.
    pub command: Vec<String>,
    /// `-e`, in order (`NAME=VALUE`, or `NAME` to copy from the host).
    pub env: Vec<String>,
    /// Lines of each `--env-file`, already read, in order.
    pub env_files: Vec<String>,
    /// `-u user[:group]`.
    pub user: Option<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-i`.
    pub interactive: bool,
    /// `-t`.
    pub tty: bool,
    /// `-d`: start the command and return without waiting for it.
    pub detach: bool,
    /// `--privileged`: every capability.
    pub privileged: bool,
    /// `--cap-add`, as a mask (bit N = capability N).
    pub cap_add: u64,
    /// `--cap-drop`, as a mask.
    pub cap_drop: u64,
    /// `--preserve-fds`: hutch's fds 3 to 3+N-1 passed on to the command
    /// (checked open by `check_preserved_fds` before anything else).
    pub preserve_fds: u32,
}

/// Checks that fds 3 to 3+`count`-1 are open, as `exec --preserve-fds`
/// needs; call it before hutch opens any file of its own, which could
/// take one of those numbers.
pub fn check_preserved_fds(count: u32) -> Result<(), Error> {
    crate::runtime::tuning::check_preserved_fds(count).map_err(Error::Tuning)
}

/// Computes the process from the container's `plan` and `opts`; `host_env`
/// looks up the host's variables for `-e NAME`.
pub(super) fn plan_process(
    plan: &Plan,
    opts: &ExecOptions,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Process, Error> {
    if opts.command.is_empty() {
        return Err(Error::NoCommand);
    }
    let cwd = match &opts.workdir {
        Some(w) if !w.starts_with('/') => return Err(Error::RelativeWorkdir(w.clone())),
        Some(w) => w.clone(),
        None => plan.cwd.clone(),
    };
    let user = match &opts.user {
        Some(u) if !u.is_empty() => u.clone(),
        _ => plan.user.clone(),
    };
    // A detached command has no one to talk to: its stdio is /dev/null.
    let tty = opts.tty && !opts.detach;
    let env = plan::exec_env(&plan.env, &opts.env_files, &opts.env, tty, host_env)
        .map_err(Error::Runtime)?;
    Ok(Process {
        args: opts.command.clone(),
        env,
        cwd,
        user,
        tty,
        interactive: opts.interactive && !opts.detach,
        detach: opts.detach,
        caps: security::exec_caps(
            plan.security.caps,
            opts.privileged,
            opts.cap_add,
            opts.cap_drop,
        ),
        no_new_privileges: plan.security.no_new_privileges,
        hardening: crate::runtime::hardening::Hardening {
            init: false,
            ..plan.hardening.clone()
        },
        preserve_fds: opts.preserve_fds,
        deadline: None,
    })
}

/// Runs `opts.command` in the running container `opts.container` and
/// returns its exit code (128+N when killed by signal N), or 0 as soon as
/// it runs with `-d`; `io` says where its output goes when not to ours.
/// Must be called single-threaded.
pub fn exec(store: &Store, opts: &ExecOptions, io: ExecIo<'_, '_>) -> Result<i32, Error> {
    exec_in(store, opts, Path::new(super::PROC), io)
}

/// `exec` with the proc root `proc`.
fn exec_in(
    store: &Store,
    opts: &ExecOptions,
    proc: &Path,
    io: ExecIo<'_, '_>,
) -> Result<i32, Error> {
    // The processes that enter the container run the sealed `hutch-enter`
    // helper (`runtime::enter`), never this binary: no re-exec here.
    // 1. Find the container and compute the process (pure data).
    let info = lifecycle::find(store, &opts.container, proc, None)?;
    let not_running = || Error::NotRunning(opts.container.clone());
    if info.state.status != ContainerStatus::Running {
        return Err(not_running());
    }
    let (Some(pid), Some(start)) = (info.state.pid, info.state.pid_start) else {
        return Err(not_running());
    };
    let mut plan = super::load_spec(&info)?;
    // The container's `type=env` secrets, those still there.
    super::secret_use::add_env_found(store.root(), &mut plan)?;
    let target = entry(&plan, &opts.container, (pid, start), proc)?;
    let process = plan_process(&plan, opts, &|name| std::env::var(name).ok())?;
    Ok(crate::runtime::exec::exec_process(
        &plan,
        &process,
        &opts.container,
        target,
        proc,
        io,
    )?)
}

/// The process an exec into the running container of `plan` (called
/// `name`, its init `init`) joins: its init, or `--init`'s child.
pub(super) fn entry(
    plan: &Plan,
    name: &str,
    (pid, start): (i32, u64),
    proc: &Path,
) -> Result<(i32, u64), Error> {
    // Joining a frozen cgroup would freeze the command; Podman refuses too.
    if super::limits::is_paused(&plan.dirs.dir) {
        return Err(Error::IsPaused(name.to_string()));
    }
    crate::runtime::hardening::entry_process(proc, pid, start, plan.hardening.init)
        .ok_or_else(|| Error::NotRunning(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Diagnose;
    use crate::storage::ContainerDirs;
    use crate::userns::IdMaps;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn container_plan() -> Plan {
        let dir = std::path::PathBuf::from("/s/containers/c");
        Plan {
            version: crate::runtime::plan::SPEC_VERSION,
            id: "c".repeat(64),
            dirs: ContainerDirs {
                upper: dir.join("upper"),
                work: dir.join("work"),
                merged: dir.join("merged"),
                dir,
            },
            lowers: Vec::new(),
            rootfs: None,
            maps: IdMaps::plan(1000, 1000, &[], &[]),
            hostname: "box".into(),
            args: strings(&["sleep", "1000"]),
            env: strings(&["PATH=/bin", "HOSTNAME=box", "A=run"]),
            cwd: "/srv".into(),
            may_create_workdir: true,
            user: "app".into(),
            tty: false,
            interactive: false,
            auto_remove: false,
            stop_signal: None,
            log_driver: Default::default(),
            log_max_size: None,
            log_path: None,
            security: Default::default(),
            cgroups: Default::default(),
            hardening: Default::default(),
            volumes: Default::default(),
            identity: Default::default(),
            network: Default::default(),
            pod: None,
            origin: Default::default(),
            root_entry: None,
            labels: Default::default(),
            annotations: Default::default(),
            manage: Default::default(),
            tuning: Default::default(),
            secrets: Vec::new(),
            request: None,
        }
    }

    fn no_host_env(_: &str) -> Option<String> {
        None
    }

    fn opts(command: &[&str]) -> ExecOptions {
        ExecOptions {
            container: "web".into(),
            command: strings(command),
            ..ExecOptions::default()
        }
    }

    #[test]
    fn process_defaults_come_from_the_container() {
        let p = plan_process(&container_plan(), &opts(&["id", "-u"]), &no_host_env).unwrap();
        assert_eq!(
            p,
            Process {
                args: strings(&["id", "-u"]),
                env: strings(&["PATH=/bin", "HOSTNAME=box", "A=run"]),
                cwd: "/srv".into(),
                user: "app".into(),
                tty: false,
                interactive: false,
                detach: false,
                caps: security::default_caps(),
                no_new_privileges: false,
                hardening: Default::default(),
                preserve_fds: 0,
                deadline: None,
            }
        );
    }

    #[test]
    fn flags_override_user_workdir_and_env() {
        let o = ExecOptions {
            user: Some("1000:1000".into()),
            workdir: Some("/tmp".into()),
            env: strings(&["A=flag", "X=1"]),
            env_files: strings(&["A=file", "F=file"]),
            tty: true,
            interactive: true,
            ..opts(&["sh"])
        };
        let p = plan_process(&container_plan(), &o, &no_host_env).unwrap();
        assert_eq!(p.user, "1000:1000");
        assert_eq!(p.cwd, "/tmp");
        assert_eq!(
            p.env,
            strings(&[
                "PATH=/bin",
                "HOSTNAME=box",
                "A=flag",
                "F=file",
                "X=1",
                "TERM=xterm"
            ])
        );
        assert!(p.tty && p.interactive && !p.detach);
    }

    #[test]
    fn detached_processes_get_no_terminal_or_stdin() {
        let o = ExecOptions {
            detach: true,
            tty: true,
            interactive: true,
            ..opts(&["sleep", "5"])
        };
        let p = plan_process(&container_plan(), &o, &no_host_env).unwrap();
        assert!(p.detach && !p.tty && !p.interactive);
        assert!(!p.env.iter().any(|e| e.starts_with("TERM=")));
    }

    #[test]
    fn bad_options_are_refused_before_any_fork() {
        let relative = ExecOptions {
            workdir: Some("tmp".into()),
            ..opts(&["pwd"])
        };
        let cases = [
            (opts(&[]), "no command"),
            (relative, "invalid working directory"),
            (
                ExecOptions {
                    env: strings(&["=x"]),
                    ..opts(&["env"])
                },
                "invalid environment variable",
            ),
        ];
        for (o, want) in cases {
            let err = plan_process(&container_plan(), &o, &no_host_env).unwrap_err();
            assert!(err.to_string().starts_with(want), "{o:?}: {err}");
            assert_eq!(err.exit_code(), crate::error::EXIT_TOOL);
        }
    }
}
