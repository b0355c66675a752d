//! Process hardening planned as data and applied by `init` and `join`:
//! resource limits (`--ulimit`, `--pids-limit`), `--oom-score-adj`,
//! `--init`, and the checks that keep setup inside the container: /proc
//! must be procfs before anything is written there, the kernel mount
//! points of an image must not be symlinks, the working directory and
//! the command are resolved beneath the new root.
//!
//! Planning is pure (the current limits are parameters); the child-side
//! functions report a `Failure` and never print.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::resource::Resource;
use thiserror::Error;

use super::report::Failure;
use crate::sys::fs::{openat2, Resolve};

/// The value of an unlimited resource limit (RLIM_INFINITY).
pub const UNLIMITED: u64 = libc::RLIM_INFINITY;

/// The resource names `--ulimit` takes (Docker's and Podman's).
const ULIMIT_NAMES: [(&str, Resource); 15] = [
    ("core", Resource::RLIMIT_CORE),
    ("cpu", Resource::RLIMIT_CPU),
    ("data", Resource::RLIMIT_DATA),
    ("fsize", Resource::RLIMIT_FSIZE),
    ("locks", Resource::RLIMIT_LOCKS),
    ("memlock", Resource::RLIMIT_MEMLOCK),
    ("msgqueue", Resource::RLIMIT_MSGQUEUE),
    ("nice", Resource::RLIMIT_NICE),
    ("nofile", Resource::RLIMIT_NOFILE),
    ("nproc", Resource::RLIMIT_NPROC),
    ("rss", Resource::RLIMIT_RSS),
    ("rtprio", Resource::RLIMIT_RTPRIO),
    ("rttime", Resource::RLIMIT_RTTIME),
    ("sigpending", Resource::RLIMIT_SIGPENDING),
    ("stack", Resource::RLIMIT_STACK),
];

/// A hardening flag that cannot be applied.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Error {
    /// `--ulimit` is not `TYPE=SOFT[:HARD]`.
    #[error("invalid --ulimit {0:?}: use TYPE=SOFT[:HARD], for example nofile=1024:2048")]
    UlimitSyntax(String),
    /// `--ulimit` names no known resource.
    #[error("invalid --ulimit {0:?}: unknown resource (core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack)")]
    UlimitResource(String),
    /// A soft or hard value that is not a number, -1 or unlimited.
    #[error("invalid --ulimit {0:?}: limits are numbers, -1 or unlimited")]
    UlimitValue(String),
    /// The soft limit exceeds the hard one.
    #[error("invalid --ulimit {0:?}: the soft limit exceeds the hard limit")]
    UlimitSoftAboveHard(String),
    /// Rootless processes may only lower a hard limit.
    #[error("--ulimit {name}: hard limit {asked} exceeds the current hard limit {current}, which only root on the host can raise")]
    UlimitAboveHard {
        name: String,
        asked: String,
        current: String,
    },
    /// `--pids-limit` is not a positive number (or -1/0 for none).
    #[error("invalid --pids-limit {0:?}: use a positive number, or 0 or -1 for no limit")]
    PidsLimit(String),
    /// `--oom-score-adj` outside -1000..=1000.
    #[error("invalid --oom-score-adj {0}: must be between -1000 and 1000")]
    OomRange(i32),
    /// Rootless processes may only raise their OOM score adjustment.
    #[error("--oom-score-adj {asked} is below the current value {current}, and only root on the host can lower it")]
    OomBelowCurrent { asked: i32, current: i32 },
}

/// The hardening flags of `run`/`create` as the user gave them.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct HardeningRequest {
    /// `--ulimit`, in order (a later one for the same resource wins).
    pub ulimit: Vec<String>,
    /// `--pids-limit`.
    pub pids_limit: Option<String>,
    /// `--oom-score-adj`.
    pub oom_score_adj: Option<i32>,
    /// `--init`.
    pub init: bool,
}

/// One resource limit to set before exec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ulimit {
    /// The `--ulimit` name (`nofile`…).
    pub name: String,
    /// Soft limit; `UNLIMITED` for none.
    pub soft: u64,
    /// Hard limit; `UNLIMITED` for none.
    pub hard: u64,
}

/// Hardening of a container's processes; part of the stored plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Hardening {
    /// Resource limits, one per resource, set in init and in exec'd processes.
    pub ulimits: Vec<Ulimit>,
    /// Written to /proc/self/oom_score_adj of init and exec'd processes.
    pub oom_score_adj: Option<i32>,
    /// Run a minimal init (hutch itself) as pid 1 that reaps and forwards.
    pub init: bool,
}

/// The resource `name` stands for.
pub fn resource_of(name: &str) -> Option<Resource> {
    ULIMIT_NAMES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, r)| *r)
}

/// Parses one limit value: a number, `-1` or `unlimited`.
fn parse_limit(v: &str) -> Option<u64> {
    match v {
        "-1" | "unlimited" => Some(UNLIMITED),
        _ => v.parse::<u64>().ok(),
    }
}

/// Parses `TYPE=SOFT[:HARD]` (HARD defaults to SOFT).
pub fn parse_ulimit(spec: &str) -> Result<Ulimit, Error> {
    let (name, values) = spec
        .split_once('=')
        .ok_or_else(|| Error::UlimitSyntax(spec.to_string()))?;
    if resource_of(name).is_none() {
        return Err(Error::UlimitResource(spec.to_string()));
    }
    let (soft, hard) = match values.split_once(':') {
        Some((s, h)) => (s, h),
        None => (values, values),
    };
    let value = |v: &str| parse_limit(v).ok_or_else(|| Error::UlimitValue(spec.to_string()));
    let (soft, hard) = (value(soft)?, value(hard)?);
    if soft > hard {
        return Err(Error::UlimitSoftAboveHard(spec.to_string()));
    }
    Ok(Ulimit {
        name: name.to_string(),
        soft,
        hard,
    })
}

fn show_limit(v: u64) -> String {
    if v == UNLIMITED {
        "unlimited".into()
    } else {
        v.to_string()
    }
}

/// Plans the hardening of `req`. `current_hard` gives this process's hard
/// limit of a resource and `current_oom` its oom_score_adj: a rootless
/// container can only lower the first and raise the second, so asking
/// otherwise fails here, before anything starts.
pub fn plan_hardening(
    req: &HardeningRequest,
    current_hard: &dyn Fn(Resource) -> u64,
    current_oom: i32,
) -> Result<Hardening, Error> {
    let mut ulimits: Vec<Ulimit> = Vec::new();
    let mut add = |u: Ulimit| {
        ulimits.retain(|old| old.name != u.name);
        ulimits.push(u);
    };
    for spec in &req.ulimit {
        add(parse_ulimit(spec)?);
    }
    if let Some(pids) = &req.pids_limit {
        match pids.parse::<i64>() {
            Ok(-1 | 0) => {}
            Ok(n) if n > 0 => add(Ulimit {
                name: "nproc".into(),
                soft: n as u64,
                hard: n as u64,
            }),
            _ => return Err(Error::PidsLimit(pids.clone())),
        }
    }
    for u in &ulimits {
        let current = resource_of(&u.name).map_or(UNLIMITED, current_hard);
        if u.hard > current {
            return Err(Error::UlimitAboveHard {
                name: u.name.clone(),
                asked: show_limit(u.hard),
                current: show_limit(current),
            });
        }
    }
    if let Some(adj) = req.oom_score_adj {
        if !(-1000..=1000).contains(&adj) {
            return Err(Error::OomRange(adj));
        }
        if adj < current_oom {
            return Err(Error::OomBelowCurrent {
                asked: adj,
                current: current_oom,
            });
        }
    }
    Ok(Hardening {
        ulimits,
        oom_score_adj: req.oom_score_adj,
        init: req.init,
    })
}

/// This process's hard limit of `resource` (unlimited when unknown).
pub fn current_hard_limit(resource: Resource) -> u64 {
    nix::sys::resource::getrlimit(resource).map_or(UNLIMITED, |(_, hard)| hard)
}

/// This process's oom_score_adj read from `proc` (0 when unreadable).
pub fn current_oom_score_adj(proc: &Path) -> i32 {
    std::fs::read_to_string(proc.join("self/oom_score_adj"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

// --- applied in the child ------------------------------------------------------

/// Sets every limit of `ulimits` on this process (inherited across exec).
pub fn apply_ulimits(ulimits: &[Ulimit]) -> Result<(), Failure> {
    for u in ulimits {
        let Some(resource) = resource_of(&u.name) else {
            return Err(Failure::step(
                format!("setting the {} limit", u.name),
                Errno::EINVAL,
            ));
        };
        nix::sys::resource::setrlimit(resource, u.soft, u.hard).map_err(|e| {
            Failure::step(
                format!(
                    "setting the {} limit to {}:{}",
                    u.name,
                    show_limit(u.soft),
                    show_limit(u.hard)
                ),
                e,
            )
        })?;
    }
    Ok(())
}

/// Fails unless `fd` is on a procfs: a fake /proc (a tmpfs or bind mount
/// over it, a directory of the image) must never receive our writes.
pub fn ensure_procfs(fd: BorrowedFd<'_>, what: &str) -> Result<(), Failure> {
    let fs = nix::sys::statfs::fstatfs(fd)
        .map_err(|e| Failure::step(format!("inspecting {what}"), e))?;
    if fs.filesystem_type() != nix::sys::statfs::PROC_SUPER_MAGIC {
        return Err(Failure::step(
            format!("{what} is not on procfs"),
            Errno::EXDEV,
        ));
    }
    Ok(())
}

/// Opens the directory `proc` (the host's /proc, before any namespace
/// switch of the mount namespace) and checks it is procfs.
pub fn open_proc(proc: &Path) -> Result<OwnedFd, Failure> {
    let fd = nix::fcntl::open(
        proc,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| Failure::step(format!("opening {}", proc.display()), e))?;
    ensure_procfs(fd.as_fd(), &proc.display().to_string())?;
    Ok(fd)
}

/// Writes `adj` to `self/oom_score_adj` beneath `proc` (a procfs dir fd),
/// resolved beneath it without magic links and checked to be procfs
/// before the write. (`self` names us in whatever pid namespace the proc
/// mount belongs to, which getpid(2) in a new pid namespace would not.)
pub fn set_oom_score_adj(proc: BorrowedFd<'_>, adj: i32) -> Result<(), Failure> {
    let fd = openat2(
        proc,
        Path::new("self/oom_score_adj"),
        libc::O_WRONLY,
        0,
        Resolve::BENEATH | Resolve::NO_MAGICLINKS,
    )
    .map_err(|e| Failure::io("opening /proc/self/oom_score_adj", &e))?;
    ensure_procfs(fd.as_fd(), "/proc/self/oom_score_adj")?;
    nix::unistd::write(&fd, adj.to_string().as_bytes())
        .map_err(|e| Failure::step(format!("setting oom_score_adj to {adj}"), e))?;
    Ok(())
}

/// Refuses an image whose /proc, /sys or /dev is a symlink: the kernel
/// filesystems must be mounted on the image's own directories, never on
/// whatever a link names.
pub fn check_kernel_mountpoints(root: BorrowedFd<'_>) -> Result<(), Failure> {
    for dir in ["proc", "sys", "dev"] {
        match openat2(
            root,
            Path::new(dir),
            libc::O_PATH | libc::O_NOFOLLOW,
            0,
            Resolve::BENEATH | Resolve::NO_SYMLINKS,
        ) {
            Ok(fd) => {
                let st = nix::sys::stat::fstat(fd.as_fd())
                    .map_err(|e| Failure::step(format!("inspecting /{dir} in the image"), e))?;
                if st.st_mode & libc::S_IFMT == libc::S_IFLNK {
                    return Err(symlinked_mountpoint(dir));
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(symlinked_mountpoint(dir))
            }
            Err(e) => return Err(Failure::io(format!("opening /{dir} in the image"), &e)),
        }
    }
    Ok(())
}

fn symlinked_mountpoint(dir: &str) -> Failure {
    Failure {
        kind: super::report::Kind::Setup,
        errno: 0,
        text: format!(
            "the image's /{dir} is a symbolic link: refusing to mount over it; rebuild the image with a real /{dir} directory"
        ),
    }
}

/// Changes to `cwd`, resolved beneath `root` (the container's `/`) with
/// /proc magic links refused, so no leaked fd (`/proc/self/fd/N`) can put
/// the process outside the root; then checks the kernel agrees the
/// directory is reachable from the root.
pub fn enter_workdir(root: BorrowedFd<'_>, cwd: &str) -> Result<(), Failure> {
    let rel = cwd.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let dir = openat2(
        root,
        Path::new(rel),
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
    )
    .map_err(|e| Failure::io(format!("entering the working directory {cwd}"), &e))?;
    nix::unistd::fchdir(dir.as_fd())
        .map_err(|e| Failure::step(format!("entering the working directory {cwd}"), e))?;
    check_cwd_reachable(cwd)
}

/// Fails when the working directory lies outside this process's root:
/// getcwd(2) then says "(unreachable)".
pub fn check_cwd_reachable(cwd: &str) -> Result<(), Failure> {
    let here = nix::unistd::getcwd()
        .map_err(|e| Failure::step(format!("checking the working directory {cwd}"), e))?;
    if here
        .as_os_str()
        .to_string_lossy()
        .starts_with("(unreachable)")
    {
        return Err(Failure::step(
            format!("the working directory {cwd} is outside the container"),
            Errno::EXDEV,
        ));
    }
    Ok(())
}

/// The process whose namespaces `exec`, `cp` and `top` enter: the
/// container's init `pid` (started at `start`), or with `--init`
/// (`is_init`) its first child, the container's command. The init stays
/// non-dumpable for life, so even its owner may not open its /proc
/// files; it has no namespaces of its own. `None` when there is no child.
pub fn entry_process(proc: &Path, pid: i32, start: u64, is_init: bool) -> Option<(i32, u64)> {
    if !is_init {
        return Some((pid, start));
    }
    let mut best: Option<(i32, u64)> = None;
    for entry in std::fs::read_dir(proc).ok()?.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // After `)`: state, ppid, … starttime (field 22, the 20th here).
        let (Some(state), Some(ppid), Some(started)) = (
            fields.first(),
            fields.get(1).and_then(|p| p.parse::<i32>().ok()),
            fields.get(19).and_then(|s| s.parse::<u64>().ok()),
        ) else {
            continue;
        };
        if ppid != pid || *state == "Z" {
            continue;
        }
        // The command is the oldest child: orphans reparented to the init
        // descend from it, so they started later.
        if best.is_none_or(|(_, t)| started < t) {
            best = Some((child, started));
        }
    }
    best
}

/// Set in the environment of hutch re-executed from its sealed copy, to
/// the binary's path on disk (where `exec` finds its helper), so a copy
/// that somehow is not sealed fails instead of looping.
const ENV_SEALED: &str = "_HUTCH_SEALED_REEXEC";

/// Makes sure this process runs from a sealed in-memory copy of hutch:
/// if `/proc/self/exe` (beneath `proc`) is not one, copies it into a
/// sealed memfd and re-executes it with the same arguments and
/// environment, which never returns. The REST service calls this before
/// it serves (a long-lived process, sealed once); `exec` itself no longer
/// does: its processes that enter the container run the sealed helper
/// (`enter`), whose copy costs microseconds where this one's costs
/// milliseconds (issue #19).
pub fn ensure_sealed_exe(proc: &Path) -> Result<(), super::Error> {
    let failed = |step: &str| {
        let step = step.to_string();
        move |e: std::io::Error| super::Error::Setup {
            step,
            source: Some(e),
        }
    };
    let exe = std::fs::File::open(proc.join("self/exe"))
        .map_err(failed("opening the hutch binary to seal it"))?;
    if crate::sys::reexec::is_sealed(exe.as_fd()) {
        // The copy's /proc/self/exe names the memfd: `exec` finds its
        // helper beside the binary the variable names.
        if let Some(original) = std::env::var_os(ENV_SEALED) {
            super::enter::remember_original_exe(&original);
        }
        std::env::remove_var(ENV_SEALED);
        return Ok(());
    }
    if std::env::var_os(ENV_SEALED).is_some() {
        return Err(super::Error::Setup {
            step: "re-executing hutch from a sealed copy left it unsealed".into(),
            source: None,
        });
    }
    let copy = crate::sys::reexec::sealed_copy(exe.as_fd(), "hutch")
        .map_err(failed("copying hutch into a sealed memfd"))?;
    drop(exe);
    let to_c = |s: std::ffi::OsString| {
        std::ffi::CString::new(std::os::unix::ffi::OsStringExt::into_vec(s))
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let args = std::env::args_os()
        .map(to_c)
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed("re-executing hutch"))?;
    let mut env = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            to_c(kv)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(failed("re-executing hutch"))?;
    let original = std::fs::read_link(proc.join("self/exe"))
        .map_err(failed("finding the hutch binary to seal it"))?;
    let mut var = std::ffi::OsString::from(format!("{ENV_SEALED}="));
    var.push(original.as_os_str());
    env.push(to_c(var).map_err(failed("re-executing hutch"))?);
    let e = crate::sys::reexec::exec_fd(copy.as_fd(), &args, &env);
    Err(failed("re-executing hutch from a sealed copy")(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    fn unlimited(_: Resource) -> u64 {
        UNLIMITED
    }

    #[test]
    fn ulimits_parse_soft_hard_and_unlimited() {
        let cases = [
            ("nofile=1024:2048", ("nofile", 1024, 2048)),
            ("nofile=512", ("nofile", 512, 512)),
            ("core=-1", ("core", UNLIMITED, UNLIMITED)),
            ("stack=8192:unlimited", ("stack", 8192, UNLIMITED)),
            ("rttime=0:-1", ("rttime", 0, UNLIMITED)),
        ];
        for (spec, (name, soft, hard)) in cases {
            assert_eq!(
                parse_ulimit(spec),
                Ok(Ulimit {
                    name: name.into(),
                    soft,
                    hard
                }),
                "{spec}"
            );
        }
    }

    #[test]
    fn bad_ulimits_are_refused_with_the_reason() {
        let cases = [
            ("nofile", "TYPE=SOFT[:HARD]"),
            ("files=10", "unknown resource"),
            ("nofile=ten", "numbers"),
            ("nofile=10:x", "numbers"),
            ("nofile=-2", "numbers"),
            ("nofile=20:10", "soft limit exceeds"),
            ("nofile=unlimited:10", "soft limit exceeds"),
        ];
        for (spec, want) in cases {
            let e = parse_ulimit(spec).unwrap_err();
            assert!(e.to_string().contains(want), "{spec}: {e}");
        }
    }

    #[test]
    fn every_docker_ulimit_name_is_known() {
        for n in [
            "core",
            "cpu",
            "data",
            "fsize",
            "locks",
            "memlock",
            "msgqueue",
            "nice",
            "nofile",
            "nproc",
            "rss",
            "rtprio",
            "rttime",
            "sigpending",
            "stack",
        ] {
            assert!(resource_of(n).is_some(), "{n}");
        }
    }

    #[test]
    fn rootless_cannot_raise_a_hard_limit() {
        let req = HardeningRequest {
            ulimit: s(&["nofile=100:5000"]),
            ..Default::default()
        };
        let hard = |r: Resource| {
            if r == Resource::RLIMIT_NOFILE {
                4096
            } else {
                UNLIMITED
            }
        };
        let e = plan_hardening(&req, &hard, 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--ulimit nofile: hard limit 5000 exceeds the current hard limit 4096, which only root on the host can raise"
        );
        let req = HardeningRequest {
            ulimit: s(&["nofile=100:4096", "nofile=10:20"]),
            ..Default::default()
        };
        let h = plan_hardening(&req, &hard, 0).unwrap();
        assert_eq!(
            h.ulimits,
            vec![Ulimit {
                name: "nofile".into(),
                soft: 10,
                hard: 20
            }]
        );
    }

    #[test]
    fn pids_limit_becomes_nproc_only_when_asked() {
        let none = plan_hardening(&HardeningRequest::default(), &unlimited, 0).unwrap();
        assert!(none.ulimits.is_empty());
        for off in ["0", "-1"] {
            let req = HardeningRequest {
                pids_limit: Some(off.into()),
                ..Default::default()
            };
            assert!(plan_hardening(&req, &unlimited, 0)
                .unwrap()
                .ulimits
                .is_empty());
        }
        let req = HardeningRequest {
            pids_limit: Some("50".into()),
            ..Default::default()
        };
        assert_eq!(
            plan_hardening(&req, &unlimited, 0).unwrap().ulimits,
            vec![Ulimit {
                name: "nproc".into(),
                soft: 50,
                hard: 50
            }]
        );
        let req = HardeningRequest {
            pids_limit: Some("many".into()),
            ..Default::default()
        };
        assert!(matches!(
            plan_hardening(&req, &unlimited, 0),
            Err(Error::PidsLimit(_))
        ));
    }

    #[test]
    fn oom_score_adj_may_only_rise() {
        let req = |adj| HardeningRequest {
            oom_score_adj: Some(adj),
            ..Default::default()
        };
        assert_eq!(
            plan_hardening(&req(500), &unlimited, 100)
                .unwrap()
                .oom_score_adj,
            Some(500)
        );
        assert_eq!(
            plan_hardening(&req(-5), &unlimited, 0),
            Err(Error::OomBelowCurrent {
                asked: -5,
                current: 0
            })
        );
        assert_eq!(
            plan_hardening(&req(1001), &unlimited, 0),
            Err(Error::OomRange(1001))
        );
    }

    #[test]
    fn exec_enters_the_oldest_child_of_an_init() {
        let tmp = tempfile::tempdir().unwrap();
        let stat = |pid: i32, ppid: i32, state: &str, start: u64| {
            let dir = tmp.path().join(pid.to_string());
            std::fs::create_dir(&dir).unwrap();
            let line = format!(
                "{pid} (a b) {state} {ppid} 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 1 1"
            );
            std::fs::write(dir.join("stat"), line).unwrap();
        };
        stat(10, 1, "S", 100);
        stat(12, 10, "S", 105);
        stat(11, 10, "S", 101);
        stat(13, 10, "Z", 99);
        stat(14, 12, "S", 98);
        assert_eq!(entry_process(tmp.path(), 10, 100, false), Some((10, 100)));
        assert_eq!(entry_process(tmp.path(), 10, 100, true), Some((11, 101)));
        assert_eq!(entry_process(tmp.path(), 11, 101, true), None);
    }

    #[test]
    fn procfs_is_told_apart_from_other_filesystems() {
        let proc = open_proc(Path::new("/proc")).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let e = open_proc(tmp.path()).unwrap_err();
        assert!(e.text.ends_with("is not on procfs"), "{e:?}");
        drop(proc);
    }

    #[test]
    fn symlinked_kernel_mountpoints_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let open = || {
            nix::fcntl::open(
                tmp.path(),
                nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
                nix::sys::stat::Mode::empty(),
            )
            .unwrap()
        };
        std::fs::create_dir(tmp.path().join("proc")).unwrap();
        check_kernel_mountpoints(open().as_fd()).unwrap();
        std::os::unix::fs::symlink("/etc", tmp.path().join("dev")).unwrap();
        let e = check_kernel_mountpoints(open().as_fd()).unwrap_err();
        assert!(e.text.contains("/dev is a symbolic link"), "{e:?}");
    }

    #[test]
    fn workdirs_through_magic_links_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(tmp.path().join("proc/self/fd")).unwrap();
        let root = nix::fcntl::open(
            Path::new("/"),
            nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        // A directory fd of this process: /proc/self/fd/N is a magic link to it.
        let leaked = nix::fcntl::open(
            tmp.path(),
            nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY,
            nix::sys::stat::Mode::empty(),
        )
        .unwrap();
        let path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&leaked));
        let e = openat2(
            root.as_fd(),
            Path::new(path.trim_start_matches('/')),
            libc::O_PATH | libc::O_DIRECTORY,
            0,
            Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
        )
        .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
    }
}
