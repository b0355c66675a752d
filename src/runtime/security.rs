//! What confines a container's process, planned as data: the capabilities
//! it keeps, no_new_privs, the masked and read-only kernel paths, a
//! read-only root, and which seccomp profile applies (see `seccomp`).
//!
//! Pure: it parses flags and computes sets; `init` and `join` apply them.

use thiserror::Error;

use super::seccomp::{self, Seccomp};

/// Capability names by number (capability.h), without the `CAP_` prefix.
const CAP_NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Podman's rootless default capabilities.
pub const DEFAULT_CAPS: [&str; 11] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "FOWNER",
    "FSETID",
    "KILL",
    "NET_BIND_SERVICE",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_CHROOT",
];

/// Every capability: the kernel ignores bits past its last one, and
/// `init` clips the set to what the kernel knows.
pub const ALL_CAPS: u64 = u64::MAX;

/// Paths hidden from the container (Podman's list): a file gets /dev/null
/// over it, a directory an empty read-only tmpfs.
pub const MASKED_PATHS: [&str; 11] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
];

/// Paths made read-only in the container (Podman's list).
pub const READONLY_PATHS: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Directories that get a writable tmpfs under a read-only root.
pub const READ_ONLY_TMPFS_DIRS: [&str; 3] = ["/tmp", "/run", "/var/tmp"];

/// A security flag that cannot be applied.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum Error {
    /// `--cap-add`/`--cap-drop` named no known capability.
    #[error("unknown capability {0:?}")]
    UnknownCapability(String),
    /// `--security-opt` with an unknown or malformed option.
    #[error("unsupported --security-opt {0:?}")]
    UnknownOption(String),
    /// A mask or unmask path that is not absolute.
    #[error("path {0:?} in --security-opt is not absolute")]
    RelativePath(String),
}

/// The security flags of `run`/`create` as the user gave them.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SecurityRequest {
    /// `--cap-add`, in order.
    pub cap_add: Vec<String>,
    /// `--cap-drop`, in order.
    pub cap_drop: Vec<String>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--security-opt`, in order.
    pub security_opt: Vec<String>,
    /// `--read-only`.
    pub read_only: bool,
    /// `--read-only-tmpfs`.
    pub read_only_tmpfs: bool,
}

impl Default for SecurityRequest {
    fn default() -> Self {
        SecurityRequest {
            cap_add: Vec::new(),
            cap_drop: Vec::new(),
            privileged: false,
            security_opt: Vec::new(),
            read_only: false,
            read_only_tmpfs: true,
        }
    }
}

/// How a container's process is confined; part of the stored plan.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Security {
    /// Capabilities kept (bit N = capability N): bounding, effective and
    /// permitted set; inheritable and ambient are empty.
    pub caps: u64,
    /// Set no_new_privs before exec.
    pub no_new_privileges: bool,
    /// Paths to mask, absolute inside the container.
    pub masked_paths: Vec<String>,
    /// Paths to make read-only, absolute inside the container.
    pub readonly_paths: Vec<String>,
    /// Remount the root read-only after setup.
    pub read_only: bool,
    /// With `read_only`: writable tmpfs on /tmp, /run and /var/tmp.
    pub read_only_tmpfs: bool,
    /// The seccomp profile (`seccomp=`; none with `--privileged`).
    pub seccomp: Seccomp,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            caps: default_caps(),
            no_new_privileges: false,
            masked_paths: MASKED_PATHS.iter().map(|p| p.to_string()).collect(),
            readonly_paths: READONLY_PATHS.iter().map(|p| p.to_string()).collect(),
            read_only: false,
            read_only_tmpfs: true,
            seccomp: Seccomp::default(),
        }
    }
}

/// The mask of Podman's rootless default capabilities.
pub fn default_caps() -> u64 {
    DEFAULT_CAPS
        .iter()
        .filter_map(|n| cap_number(n))
        .fold(0, |m, n| m | 1 << n)
}

/// The capabilities in `mask` as Podman lists them: `CAP_` names, sorted.
pub fn cap_list(mask: u64) -> Vec<String> {
    let mut names: Vec<String> = CAP_NAMES
        .iter()
        .enumerate()
        .filter(|(n, _)| mask & (1 << n) != 0)
        .map(|(_, name)| format!("CAP_{name}"))
        .collect();
    names.sort();
    names
}

/// The number of capability `name` (`chown`, `CAP_CHOWN`…), if known.
pub fn cap_number(name: &str) -> Option<u32> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    CAP_NAMES.iter().position(|n| *n == bare).map(|n| n as u32)
}

/// The mask one `--cap-add`/`--cap-drop` value names: one capability or `all`.
fn cap_mask(name: &str) -> Result<u64, Error> {
    if name.trim().eq_ignore_ascii_case("all") {
        return Ok(ALL_CAPS);
    }
    cap_number(name)
        .map(|n| 1 << n)
        .ok_or_else(|| Error::UnknownCapability(name.to_string()))
}

/// Applies `--cap-drop` then `--cap-add` to `base`, as Podman does: an
/// added capability wins over a dropped one, `all` in either works.
pub fn adjust_caps(base: u64, add: &[String], drop: &[String]) -> Result<u64, Error> {
    let mut caps = base;
    for name in drop {
        caps &= !cap_mask(name)?;
    }
    for name in add {
        caps |= cap_mask(name)?;
    }
    Ok(caps)
}

/// Plans the confinement `req` asks for.
pub fn plan_security(req: &SecurityRequest) -> Result<Security, Error> {
    let mut sec = Security {
        read_only: req.read_only,
        read_only_tmpfs: req.read_only_tmpfs,
        ..Security::default()
    };
    let base = if req.privileged {
        ALL_CAPS
    } else {
        default_caps()
    };
    sec.caps = adjust_caps(base, &req.cap_add, &req.cap_drop)?;
    if req.privileged {
        sec.masked_paths.clear();
        sec.readonly_paths.clear();
    }
    for opt in &req.security_opt {
        apply_option(&mut sec, opt)?;
    }
    if req.privileged {
        sec.seccomp.source = seccomp::Source::Unconfined;
    }
    Ok(sec)
}

/// Applies one `--security-opt` value to `sec`.
fn apply_option(sec: &mut Security, opt: &str) -> Result<(), Error> {
    let (key, value) = match opt.split_once(['=', ':']) {
        Some((k, v)) => (k, Some(v)),
        None => (opt, None),
    };
    match (key, value) {
        ("no-new-privileges", None | Some("true")) => sec.no_new_privileges = true,
        ("no-new-privileges", Some("false")) => sec.no_new_privileges = false,
        ("mask", Some(paths)) => {
            for p in split_paths(paths)? {
                if !sec.masked_paths.contains(&p) {
                    sec.masked_paths.push(p);
                }
            }
        }
        ("seccomp", Some("unconfined")) => sec.seccomp.source = seccomp::Source::Unconfined,
        ("seccomp", Some(path)) if !path.is_empty() => {
            sec.seccomp.source = seccomp::Source::File(path.into());
        }
        ("unmask", Some("ALL")) => {
            sec.masked_paths.clear();
            sec.readonly_paths.clear();
        }
        ("unmask", Some(paths)) => {
            let paths = split_paths(paths)?;
            sec.masked_paths.retain(|p| !paths.contains(p));
            sec.readonly_paths.retain(|p| !paths.contains(p));
        }
        _ => return Err(Error::UnknownOption(opt.to_string())),
    }
    Ok(())
}

/// Splits a `PATH:PATH…` list; every path must be absolute.
fn split_paths(paths: &str) -> Result<Vec<String>, Error> {
    paths
        .split(':')
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.starts_with('/') {
                Ok(p.trim_end_matches('/').to_string())
            } else {
                Err(Error::RelativePath(p.to_string()))
            }
        })
        .collect()
}

/// The mask of all capabilities `names` name (each one or `all`).
pub fn parse_caps(names: &[String]) -> Result<u64, Error> {
    names.iter().try_fold(0, |m, n| Ok(m | cap_mask(n)?))
}

/// The capabilities of an `exec` into a container whose process keeps
/// `container_caps`: all with `privileged`, then the `drop` and `add` masks.
pub fn exec_caps(container_caps: u64, privileged: bool, add: u64, drop: u64) -> u64 {
    let base = if privileged { ALL_CAPS } else { container_caps };
    (base & !drop) | add
}

/// The capabilities to drop from the bounding set: every one up to
/// `last_cap` that `keep` lacks.
pub fn caps_to_drop(keep: u64, last_cap: u32) -> Vec<u32> {
    (0..=last_cap.min(63))
        .filter(|n| keep & (1 << n) == 0)
        .collect()
}

/// `keep` clipped to the capabilities up to `last_cap`.
pub fn clip_caps(keep: u64, last_cap: u32) -> u64 {
    if last_cap >= 63 {
        keep
    } else {
        keep & ((1u64 << (last_cap + 1)) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn default_caps_match_podman_rootless_list() {
        assert_eq!(default_caps(), 0x8004_05fb);
    }

    #[test]
    fn cap_names_parse_with_or_without_prefix_in_any_case() {
        assert_eq!(cap_number("chown"), Some(0));
        assert_eq!(cap_number("CAP_SYS_ADMIN"), Some(21));
        assert_eq!(cap_number("cap_checkpoint_restore"), Some(40));
        assert_eq!(cap_number("nope"), None);
    }

    #[test]
    fn cap_drop_all_then_add_keeps_only_the_added() {
        let caps = adjust_caps(default_caps(), &s(&["NET_RAW"]), &s(&["all"])).unwrap();
        assert_eq!(caps, 1 << 13);
    }

    #[test]
    fn cap_add_wins_over_cap_drop() {
        let caps = adjust_caps(0, &s(&["chown"]), &s(&["chown"])).unwrap();
        assert_eq!(caps, 1);
    }

    #[test]
    fn unknown_capability_is_an_error() {
        assert_eq!(
            adjust_caps(0, &s(&["CAP_FLY"]), &[]),
            Err(Error::UnknownCapability("CAP_FLY".into()))
        );
    }

    #[test]
    fn bounding_set_drops_everything_not_kept() {
        assert_eq!(caps_to_drop(0b101, 3), vec![1, 3]);
        assert_eq!(caps_to_drop(ALL_CAPS, 40), Vec::<u32>::new());
        assert_eq!(caps_to_drop(default_caps(), 40).len(), 41 - 11);
    }

    #[test]
    fn clip_keeps_only_known_caps() {
        assert_eq!(clip_caps(ALL_CAPS, 40), (1 << 41) - 1);
        assert_eq!(clip_caps(ALL_CAPS, 63), ALL_CAPS);
    }

    #[test]
    fn default_plan_masks_podmans_paths() {
        let sec = plan_security(&SecurityRequest::default()).unwrap();
        assert!(sec.masked_paths.iter().any(|p| p == "/proc/kcore"));
        assert!(sec.readonly_paths.iter().any(|p| p == "/proc/sys"));
        assert!(!sec.no_new_privileges);
        assert!(!sec.read_only);
        assert!(sec.read_only_tmpfs);
    }

    #[test]
    fn privileged_keeps_every_cap_and_masks_nothing() {
        let req = SecurityRequest {
            privileged: true,
            ..SecurityRequest::default()
        };
        let sec = plan_security(&req).unwrap();
        assert_eq!(sec.caps, ALL_CAPS);
        assert!(sec.masked_paths.is_empty());
        assert!(sec.readonly_paths.is_empty());
    }

    #[test]
    fn security_opts_parse() {
        let req = SecurityRequest {
            security_opt: s(&[
                "no-new-privileges",
                "unmask=/proc/kcore:/proc/keys",
                "mask=/etc/shadow:/x",
            ]),
            ..SecurityRequest::default()
        };
        let sec = plan_security(&req).unwrap();
        assert!(sec.no_new_privileges);
        assert!(!sec.masked_paths.iter().any(|p| p == "/proc/kcore"));
        assert!(!sec.masked_paths.iter().any(|p| p == "/proc/keys"));
        assert!(sec.masked_paths.iter().any(|p| p == "/etc/shadow"));
        assert!(sec.masked_paths.iter().any(|p| p == "/x"));
    }

    #[test]
    fn no_new_privileges_accepts_true_and_false() {
        for (opt, want) in [
            ("no-new-privileges=true", true),
            ("no-new-privileges:true", true),
            ("no-new-privileges=false", false),
        ] {
            let req = SecurityRequest {
                security_opt: s(&[opt]),
                ..SecurityRequest::default()
            };
            assert_eq!(
                plan_security(&req).unwrap().no_new_privileges,
                want,
                "{opt}"
            );
        }
    }

    #[test]
    fn unmask_all_clears_both_lists() {
        let req = SecurityRequest {
            security_opt: s(&["unmask=ALL"]),
            ..SecurityRequest::default()
        };
        let sec = plan_security(&req).unwrap();
        assert!(sec.masked_paths.is_empty() && sec.readonly_paths.is_empty());
    }

    #[test]
    fn bad_security_opts_are_errors() {
        for opt in ["seccomp=", "mask=relative", "label=disable"] {
            let req = SecurityRequest {
                security_opt: s(&[opt]),
                ..SecurityRequest::default()
            };
            assert!(plan_security(&req).is_err(), "{opt}");
        }
    }

    #[test]
    fn seccomp_options_choose_the_profile() {
        let plan = |opts: &[&str], privileged| {
            let req = SecurityRequest {
                security_opt: s(opts),
                privileged,
                ..SecurityRequest::default()
            };
            plan_security(&req).unwrap().seccomp.source
        };
        assert_eq!(plan(&[], false), seccomp::Source::Default);
        assert_eq!(
            plan(&["seccomp=unconfined"], false),
            seccomp::Source::Unconfined
        );
        assert_eq!(
            plan(&["seccomp=/p/x.json"], false),
            seccomp::Source::File("/p/x.json".into())
        );
        assert_eq!(plan(&[], true), seccomp::Source::Unconfined);
        assert_eq!(
            plan(&["seccomp=/p/x.json"], true),
            seccomp::Source::Unconfined
        );
    }

    #[test]
    fn exec_privileged_gets_all_caps() {
        assert_eq!(exec_caps(default_caps(), true, 0, 0), ALL_CAPS);
        let drop = parse_caps(&s(&["chown"])).unwrap();
        assert_eq!(
            exec_caps(default_caps(), false, 0, drop),
            default_caps() & !1
        );
        assert_eq!(parse_caps(&s(&["all"])).unwrap(), ALL_CAPS);
    }
}
