//! What `run` and `create` tune in the container beyond the defaults
//! (#13): `--umask`, `--tz`, `--shm-size` and `--sysctl`, as plan data,
//! the checks Podman makes of them, and the init steps that apply them.

use std::io::Write;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

use super::report::Failure;
use crate::sys::fs::{openat2, Resolve};

/// The umask a container's process gets without `--umask`, as in Podman.
pub const DEFAULT_UMASK: u32 = 0o022;

/// `/dev/shm`'s size without `--shm-size`, as in Podman (64 MiB).
pub const DEFAULT_SHM_SIZE: u64 = 64 << 20;

/// Where the host keeps its time zone files.
pub const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The host's own time zone, for `--tz local`.
pub const HOST_LOCALTIME: &str = "/etc/localtime";

/// The sysctls outside `net.` and `fs.mqueue.` that belong to the
/// container's own namespaces, which Podman allows.
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Why a tuning flag cannot apply.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--umask` that is not 1 to 4 octal digits.
    #[error("invalid umask string {0}")]
    Umask(String),
    /// `--tz` naming a zone the host has no file for.
    #[error("--tz {zone}: no time zone file {path}")]
    Zone {
        zone: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--sysctl` without `=`.
    #[error("{0} is invalid, sysctl values must be in the form of KEY=VALUE")]
    SysctlForm(String),
    /// `--sysctl` of a key outside the container's namespaces.
    #[error("sysctl '{0}' is not allowed")]
    SysctlNotAllowed(String),
    /// A `net.` sysctl with the host's network.
    #[error("sysctl {0} can't be set since Network Namespace set to host")]
    SysctlHostNetwork(String),
    /// `--personality` other than the OCI domains.
    #[error("invalid --personality {0:?}: use LINUX or LINUX32")]
    Personality(String),
    /// `--memory-swappiness` out of range.
    #[error("invalid value: {0}, valid memory swappiness range is 0-100")]
    Swappiness(i64),
    /// A namespace mode hutch cannot give.
    #[error("{flag} {mode}: hutch can give the host's namespace (host) or one of the container's own (private); containers share namespaces only in a pod (--pod)")]
    NamespaceMode { flag: &'static str, mode: String },
    /// `-a` naming no stream.
    #[error("invalid stream {0:?} for --attach - must be one of stdin, stdout, or stderr")]
    AttachStream(String),
    /// `--preserve-fds` naming an fd that is not open.
    #[error("file descriptor {0} is not available - the preserve-fds option requires that file descriptors must be passed")]
    FdNotPassed(u32),
    /// `--shm-size` that does not parse.
    #[error("invalid --shm-size {0:?}: use a number with an optional unit b, k, m or g")]
    ShmSize(String),
}

/// The tuning part of a plan; nothing in older plans.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tuning {
    /// `--umask` (`DEFAULT_UMASK` when `None`).
    #[serde(default)]
    pub umask: Option<u32>,
    /// `--tz`: `local` or a zone name; its file is bound on
    /// /etc/localtime.
    #[serde(default)]
    pub timezone: Option<String>,
    /// `--shm-size` in bytes (0: no limit; `DEFAULT_SHM_SIZE` when
    /// `None`).
    #[serde(default)]
    pub shm_size: Option<u64>,
    /// `--sysctl`, as (key, value), written below /proc/sys in order.
    #[serde(default)]
    pub sysctls: Vec<(String, String)>,
    /// `--personality`: the execution domain (`LINUX`, `LINUX32`).
    #[serde(default)]
    pub personality: Option<String>,
    /// `--preserve-fds N`: fds 3 to 3+N-1 of the process that starts the
    /// container reach its process.
    #[serde(default)]
    pub preserve_fds: u32,
    /// `-a` without `stdout` (`true`) and without `stderr`: in the
    /// foreground that stream of the container goes to /dev/null.
    #[serde(default)]
    pub drops: (bool, bool),
    /// `--chrootdirs`: directories that also get the container's
    /// /etc/hosts and /etc/resolv.conf beneath their `etc`, as Podman
    /// binds them (relative to the root).
    #[serde(default)]
    pub chroot_dirs: Vec<String>,
    /// `--uts`, `--pid`, `--ipc` and `--cgroupns`.
    #[serde(default)]
    pub namespaces: Namespaces,
}

/// Which namespaces a container shares with the host (#13); none in
/// older plans.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Namespaces {
    /// `--uts=host`: the host's name; no UTS namespace of its own.
    #[serde(default)]
    pub is_host_uts: bool,
    /// `--pid=host`: the host's processes; /proc is the host's, bound.
    #[serde(default)]
    pub is_host_pid: bool,
    /// `--ipc=host`: the host's IPC objects, /dev/shm and /dev/mqueue.
    #[serde(default)]
    pub is_host_ipc: bool,
    /// `--ipc=none`: an IPC namespace of its own without /dev/shm.
    #[serde(default)]
    pub is_shm_none: bool,
    /// `--cgroupns`: `Some(true)` host, `Some(false)` private; `None`: a
    /// namespace of its own when the container has a cgroup of its own.
    #[serde(default)]
    pub is_host_cgroup: Option<bool>,
}

/// The namespace modes as given (`None`: the default, private).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NamespaceModes {
    /// `--uts`.
    pub uts: Option<String>,
    /// `--pid`.
    pub pid: Option<String>,
    /// `--ipc`.
    pub ipc: Option<String>,
    /// `--cgroupns`.
    pub cgroup: Option<String>,
}

/// Parses the namespace modes: `host` and `private` for each, and
/// `shareable` and `none` for `--ipc`, as Podman names them. Joining
/// another container's namespace (`container:ID`) or a path (`ns:PATH`)
/// is refused: hutch shares namespaces only within a pod.
pub fn plan_namespaces(m: &NamespaceModes) -> Result<Namespaces, Error> {
    let host = |flag: &'static str, mode: &Option<String>, extra: &[&str]| match mode.as_deref() {
        None | Some("" | "private") => Ok(false),
        Some("host") => Ok(true),
        Some(x) if extra.contains(&x) => Ok(false),
        Some(x) => Err(Error::NamespaceMode {
            flag,
            mode: x.to_string(),
        }),
    };
    Ok(Namespaces {
        is_host_uts: host("--uts", &m.uts, &[])?,
        is_host_pid: host("--pid", &m.pid, &[])?,
        is_host_ipc: host("--ipc", &m.ipc, &["shareable", "none"])?,
        is_shm_none: m.ipc.as_deref() == Some("none"),
        is_host_cgroup: match &m.cgroup {
            None => None,
            mode => Some(host("--cgroupns", mode, &[])?),
        },
    })
}

/// Parses `--umask` as Podman does: 1 to 4 octal digits.
pub fn parse_umask(s: &str) -> Result<u32, Error> {
    let is_octal = (1..=4).contains(&s.len()) && s.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match is_octal {
        true => u32::from_str_radix(s, 8).map_err(|_| Error::Umask(s.to_string())),
        false => Err(Error::Umask(s.to_string())),
    }
}

/// The host file `--tz zone` binds on /etc/localtime: `local` is the
/// host's own, else the zone's file under `zoneinfo`, which must exist.
pub fn zone_file(zone: &str, zoneinfo: &Path, localtime: &Path) -> Result<PathBuf, Error> {
    let path = match zone {
        "local" => localtime.to_path_buf(),
        // A zone name is a relative path; `..` would leave the directory.
        z if z.starts_with('/') || z.split('/').any(|c| c == "..") => {
            return Err(Error::Zone {
                zone: z.to_string(),
                path: zoneinfo.join(z.trim_start_matches('/')),
                source: std::io::ErrorKind::InvalidInput.into(),
            })
        }
        z => zoneinfo.join(z),
    };
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => Ok(path),
        Ok(_) => Err(Error::Zone {
            zone: zone.to_string(),
            path,
            source: std::io::ErrorKind::InvalidInput.into(),
        }),
        Err(source) => Err(Error::Zone {
            zone: zone.to_string(),
            path,
            source,
        }),
    }
}

/// Which streams `-a` (`--attach`) leaves out, as (stdout, stderr);
/// none without `-a`.
pub fn parse_attach(streams: &[String]) -> Result<(bool, bool), Error> {
    if streams.is_empty() {
        return Ok((false, false));
    }
    let (mut out, mut err) = (true, true);
    for s in streams {
        match s.to_ascii_lowercase().as_str() {
            "stdin" => {}
            "stdout" => out = false,
            "stderr" => err = false,
            _ => return Err(Error::AttachStream(s.clone())),
        }
    }
    Ok((out, err))
}

/// Checks that fds 3 to 3+`count`-1 are open in this process, as Podman
/// checks `--preserve-fds` before anything else opens files.
pub fn check_preserved_fds(count: u32) -> Result<(), Error> {
    for fd in 3..3 + count {
        if !crate::sys::process::is_fd_open(fd) {
            return Err(Error::FdNotPassed(fd));
        }
    }
    Ok(())
}

/// Parses `--shm-size`: a number with an optional unit (b, k, m, g, as
/// Podman reads it); 0 means no limit.
pub fn parse_shm_size(s: &str) -> Result<u64, Error> {
    let bad = || Error::ShmSize(s.to_string());
    let lower = s.to_ascii_lowercase();
    let split = lower
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(lower.len());
    let (number, unit) = lower.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let scale: u64 = match unit.trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(bad()),
    };
    n.checked_mul(scale).ok_or_else(bad)
}

/// Checks `--sysctl KEY=VALUE` entries as Podman does: only the
/// container's own namespaces (`net.` unless it uses the host's network,
/// `fs.mqueue.` and the IPC ones); returns them as (key, value).
pub fn plan_sysctls(
    entries: &[String],
    is_host_network: bool,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for e in entries {
        let Some((key, value)) = e.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(Error::SysctlForm(e.clone()));
        };
        let is_net = key.starts_with("net.");
        if !(is_net || key.starts_with("fs.mqueue.") || IPC_SYSCTLS.contains(&key)) {
            return Err(Error::SysctlNotAllowed(key.to_string()));
        }
        if is_net && is_host_network {
            return Err(Error::SysctlHostNetwork(e.clone()));
        }
        out.push((key.to_string(), value.to_string()));
    }
    Ok(out)
}

/// Writes each sysctl below `proc/sys` beneath `root` (the container's
/// /proc, before it is made read-only); the key's dots are directories.
pub fn write_sysctls(root: BorrowedFd<'_>, sysctls: &[(String, String)]) -> Result<(), Failure> {
    for (key, value) in sysctls {
        if key.split('.').any(|c| c.is_empty() || c == "..") {
            return Err(Failure::text(format!("invalid sysctl {key}")));
        }
        let path = format!("proc/sys/{}", key.replace('.', "/"));
        let fd = openat2(
            root,
            Path::new(&path),
            libc::O_WRONLY | libc::O_TRUNC,
            0,
            Resolve::IN_ROOT | Resolve::NO_MAGICLINKS | Resolve::NO_SYMLINKS,
        )
        .map_err(|e| Failure::io(format!("opening sysctl {key}"), &e))?;
        std::fs::File::from(fd)
            .write_all(value.as_bytes())
            .map_err(|e| Failure::io(format!("setting sysctl {key}={value}"), &e))?;
    }
    Ok(())
}

/// The personality(2) execution domain of an OCI personality name:
/// `PER_LINUX` (0) or `PER_LINUX32` (8), in which `uname -m` reports a
/// 32-bit machine.
pub fn personality_domain(name: &str) -> Result<u64, Error> {
    match name {
        "LINUX" => Ok(0x0000),
        "LINUX32" => Ok(0x0008),
        other => Err(Error::Personality(other.to_string())),
    }
}

/// Checks `--memory-swappiness`: 0 to 100 (or -1, the system's).
pub fn check_swappiness(value: i64) -> Result<(), Error> {
    match value {
        -1..=100 => Ok(()),
        v => Err(Error::Swappiness(v)),
    }
}

/// Sets the process's umask and `--personality` (step 15 of init, just
/// before exec).
pub fn apply_to_process(tuning: &Tuning) -> Result<(), Failure> {
    let mask = tuning.umask.unwrap_or(DEFAULT_UMASK);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(mask));
    if let Some(name) = &tuning.personality {
        let domain = personality_domain(name).map_err(|e| Failure::text(e.to_string()))?;
        crate::sys::process::set_personality(domain)
            .map_err(|e| Failure::io(format!("setting the personality {name}"), &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn umasks_are_octal_as_podman_reads_them() {
        assert_eq!(parse_umask("0077").unwrap(), 0o077);
        assert_eq!(parse_umask("22").unwrap(), 0o022);
        for bad in ["99999", "8", "", "0x22", "07777"] {
            assert!(parse_umask(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn zones_resolve_under_zoneinfo_and_local_is_the_hosts() {
        let dir = tempfile::tempdir().unwrap();
        let zi = dir.path().join("zoneinfo");
        std::fs::create_dir_all(zi.join("Asia")).unwrap();
        std::fs::write(zi.join("Asia/Tokyo"), "TZif").unwrap();
        let lt = dir.path().join("localtime");
        std::fs::write(&lt, "TZif").unwrap();
        assert_eq!(
            zone_file("Asia/Tokyo", &zi, &lt).unwrap(),
            zi.join("Asia/Tokyo")
        );
        assert_eq!(zone_file("local", &zi, &lt).unwrap(), lt);
        for bad in ["Bogus/Zone", "Asia", "../localtime", "/etc/passwd"] {
            assert!(
                matches!(zone_file(bad, &zi, &lt), Err(Error::Zone { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn personalities_and_swappiness_are_checked() {
        assert_eq!(personality_domain("LINUX32").unwrap(), 8);
        assert_eq!(personality_domain("LINUX").unwrap(), 0);
        assert!(personality_domain("FOO").is_err());
        assert!(check_swappiness(0).is_ok() && check_swappiness(100).is_ok());
        assert!(check_swappiness(101).is_err() && check_swappiness(-2).is_err());
    }

    #[test]
    fn namespace_modes_are_host_or_private() {
        let m = NamespaceModes {
            uts: Some("host".into()),
            pid: Some("private".into()),
            ipc: Some("none".into()),
            cgroup: Some("host".into()),
        };
        let n = plan_namespaces(&m).unwrap();
        assert!(n.is_host_uts && !n.is_host_pid && !n.is_host_ipc && n.is_shm_none);
        assert_eq!(n.is_host_cgroup, Some(true));
        assert_eq!(
            plan_namespaces(&NamespaceModes::default()).unwrap(),
            Namespaces::default()
        );
        for bad in ["container:web", "ns:/proc/1/ns/uts", "bogus"] {
            let m = NamespaceModes {
                uts: Some(bad.into()),
                ..NamespaceModes::default()
            };
            assert!(matches!(
                plan_namespaces(&m),
                Err(Error::NamespaceMode { flag: "--uts", .. })
            ));
        }
    }

    #[test]
    fn attach_leaves_out_the_streams_not_named() {
        assert_eq!(parse_attach(&[]).unwrap(), (false, false));
        assert_eq!(parse_attach(&strings(&["stdout"])).unwrap(), (false, true));
        assert_eq!(
            parse_attach(&strings(&["STDERR", "stdin"])).unwrap(),
            (true, false)
        );
        assert!(matches!(
            parse_attach(&strings(&["foo"])),
            Err(Error::AttachStream(_))
        ));
        assert!(check_preserved_fds(0).is_ok());
        assert!(matches!(
            check_preserved_fds(100_000),
            Err(Error::FdNotPassed(_))
        ));
    }

    #[test]
    fn shm_sizes_take_podmans_units() {
        assert_eq!(parse_shm_size("1m").unwrap(), 1 << 20);
        assert_eq!(parse_shm_size("65536k").unwrap(), 64 << 20);
        assert_eq!(parse_shm_size("2G").unwrap(), 2 << 30);
        assert_eq!(parse_shm_size("100").unwrap(), 100);
        assert_eq!(parse_shm_size("0").unwrap(), 0);
        for bad in ["1x", "", "m", "-1"] {
            assert!(parse_shm_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_namespaced_sysctls_are_allowed() {
        let ok = strings(&[
            "net.ipv4.ip_forward=1",
            "kernel.msgmax=1",
            "fs.mqueue.msg_max=20",
        ]);
        assert_eq!(plan_sysctls(&ok, false).unwrap().len(), 3);
        let cases = [
            ("kernel.pid_max=1", "sysctl 'kernel.pid_max' is not allowed"),
            ("vm.swappiness=1", "sysctl 'vm.swappiness' is not allowed"),
            (
                "net.ipv4.ip_forward",
                "net.ipv4.ip_forward is invalid, sysctl values must be in the form of KEY=VALUE",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(
                plan_sysctls(&strings(&[e]), false).unwrap_err().to_string(),
                want
            );
        }
        assert!(matches!(
            plan_sysctls(&strings(&["net.core.somaxconn=1"]), true),
            Err(Error::SysctlHostNetwork(_))
        ));
        assert!(plan_sysctls(&strings(&["kernel.sem=1 2 3 4"]), true).is_ok());
    }
}
