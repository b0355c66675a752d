//! Cgroups: where a container's processes go and what limits they get.
//!
//! On a pure cgroup v2 host with a systemd user manager each container gets
//! a transient scope (`hutch-ID.scope`, `Delegate=yes`) started over D-Bus;
//! hutch creates a `container` leaf inside it, enables the controllers the
//! limits need and writes the limits there. `--cgroup-manager=cgroupfs`
//! uses a delegated cgroup the process is already in instead. On v1 or
//! hybrid hosts nothing is placed: runs without limits go ahead (the caller
//! warns once), runs that ask for limits are refused. A member of a pod
//! with limits goes under the pod's cgroup (`pod`): a slice, or a
//! directory under cgroupfs.
//!
//! The cgroup filesystem is the kernel's, not an image's: its paths are
//! joined as strings.

mod control;
mod place;
pub mod pod;
pub mod resources;
mod systemd;

use std::path::{Path, PathBuf};

pub use control::{freeze, is_frozen, oom_killed, read_stats, update, Stats};
pub use place::{
    attach, decide, place, release, release_pod, Decision, Host, Manager, Options, Placement,
};
pub use pod::PodCgroup;
pub use resources::{Request, Resources};
pub use systemd::{restart_unit, Restarted};

/// Where the cgroup2 filesystem is mounted on a unified host.
pub const MOUNT: &str = "/sys/fs/cgroup";

/// Errors of this module; each names the step and what it was acting on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {flag} {value:?}: {why}")]
    Flag {
        flag: &'static str,
        value: String,
        why: String,
    },
    #[error("resource limits need cgroup v2, and this host has cgroup {layout}")]
    NoUnified { layout: &'static str },
    #[error("--cgroups=disabled and resource limits contradict each other")]
    DisabledWithLimits,
    #[error("no systemd user manager to ask for a scope ({why})")]
    NoUserManager { why: String },
    #[error("the current cgroup {} is not delegated to this user", path.display())]
    NotDelegated { path: PathBuf },
    #[error("asking systemd for scope {unit}")]
    StartScope {
        unit: String,
        #[source]
        source: Box<zbus::Error>,
    },
    #[error("asking systemd for the pod's slice {unit}")]
    StartSlice {
        unit: String,
        #[source]
        source: Box<zbus::Error>,
    },
    #[error("asking systemd to stop {unit}")]
    StopUnit {
        unit: String,
        #[source]
        source: Box<zbus::Error>,
    },
    #[error("restarting {unit}")]
    RestartUnit {
        unit: String,
        #[source]
        source: Box<zbus::Error>,
    },
    #[error("restarting {unit}: its job did not end within {seconds}s")]
    RestartTimeout { unit: String, seconds: u64 },
    #[error("asking systemd to move the process into {unit}")]
    AttachToScope {
        unit: String,
        #[source]
        source: Box<zbus::Error>,
    },
    #[error("systemd did not move the container into {unit}")]
    ScopeTimeout { unit: String },
    #[error("the {controller} controller is not delegated to {}", path.display())]
    ControllerMissing { controller: String, path: PathBuf },
    #[error("{step} {}", path.display())]
    Io {
        step: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the io scheduler of {device} takes no per-device weight")]
    NoDeviceWeight { device: String },
    #[error("setting up the D-Bus client")]
    Runtime(#[source] std::io::Error),
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it, if anything.
    fn hint(&self) -> Option<String> {
        match self {
            Error::NoUnified { .. } => Some(
                "boot with systemd.unified_cgroup_hierarchy=1 for limits, or run without them (drop the limit flags or add --cgroups=disabled)".into(),
            ),
            Error::DisabledWithLimits => Some("drop --cgroups=disabled or the limit flags".into()),
            Error::RestartTimeout { unit, .. } | Error::RestartUnit { unit, .. } => Some(format!(
                "`systemctl --user status {unit}` and `journalctl --user -u {unit}` show what it is doing"
            )),
            Error::NoUserManager { .. } => Some(
                "log in through a session (or `loginctl enable-linger $USER`) so a systemd user manager runs, or use --cgroup-manager=cgroupfs inside a delegated cgroup".into(),
            ),
            Error::NotDelegated { .. } => Some(
                "run hutch inside a Delegate=yes unit (systemd-run --user --scope -p Delegate=yes ...) or use the systemd manager".into(),
            ),
            Error::ControllerMissing { controller, .. } => Some(format!(
                "delegate it to users with a drop-in for user@.service: [Service] Delegate=cpu cpuset io memory pids (it lacks {controller}), then log in again"
            )),
            Error::NoDeviceWeight { device } => Some(format!(
                "give {device} the bfq scheduler (its /sys/block/DEV/queue/scheduler) or enable io.cost for it (the root cgroup's io.cost.qos), or drop --blkio-weight-device"
            )),
            _ => None,
        }
    }
}

fn io_err<'a>(step: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        step,
        path: path.to_path_buf(),
        source,
    }
}

/// The host's cgroup layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Only cgroup2 is mounted at /sys/fs/cgroup.
    Unified,
    /// v1 controllers, plus a v2 hierarchy (usually with no controllers).
    Hybrid,
    /// Only v1 controllers.
    Legacy,
    /// Nothing recognisable.
    None,
}

impl Layout {
    /// The version number `info` shows.
    pub fn version(self) -> &'static str {
        match self {
            Layout::Unified => "v2",
            Layout::Hybrid => "v1 (hybrid)",
            Layout::Legacy => "v1",
            Layout::None => "none",
        }
    }
}

/// Reads the layout from a mountinfo text (`/proc/self/mountinfo`).
pub fn detect(mountinfo: &str) -> Layout {
    let mut v1 = false;
    let mut v2_root = false;
    let mut v2_any = false;
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fstype = right.split_whitespace().next().unwrap_or("");
        let mount_point = left.split_whitespace().nth(4).unwrap_or("");
        match fstype {
            "cgroup2" => {
                v2_any = true;
                if mount_point == "/sys/fs/cgroup" {
                    v2_root = true;
                }
            }
            "cgroup" => v1 = true,
            _ => {}
        }
    }
    match (v1, v2_root, v2_any) {
        (false, true, _) => Layout::Unified,
        (true, _, true) => Layout::Hybrid,
        (true, _, false) => Layout::Legacy,
        _ => Layout::None,
    }
}

/// The host's layout from one `statfs` of /sys/fs/cgroup, cheap enough for
/// every `run`.
pub fn host_layout() -> Layout {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC};
    match statfs(MOUNT) {
        Ok(s) if s.filesystem_type() == CGROUP2_SUPER_MAGIC => Layout::Unified,
        Ok(s) if s.filesystem_type() == TMPFS_MAGIC => {
            if Path::new(MOUNT).join("unified").is_dir() {
                Layout::Hybrid
            } else {
                Layout::Legacy
            }
        }
        _ => Layout::None,
    }
}

/// The cgroup v2 directory that hands controllers to this user's
/// containers (the `user@UID.service` above this process's cgroup, else
/// that cgroup itself) and the controllers it has (`cgroup.controllers`),
/// on a unified or hybrid host (`layout`); `None` where there is no v2
/// hierarchy to read.
pub fn delegated_controllers(proc: &Path, layout: Layout) -> Option<(PathBuf, Vec<String>)> {
    let mount = match layout {
        Layout::Unified => PathBuf::from(MOUNT),
        Layout::Hybrid => Path::new(MOUNT).join("unified"),
        Layout::Legacy | Layout::None => return None,
    };
    let text = std::fs::read_to_string(proc.join("self/cgroup")).ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    let rel = rel.trim_matches('/');
    let own = if rel.is_empty() {
        mount.clone()
    } else {
        mount.join(rel)
    };
    let service = own
        .ancestors()
        .take_while(|p| p.starts_with(&mount))
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("user@"))
        })
        .unwrap_or(&own)
        .to_path_buf();
    let list = std::fs::read_to_string(service.join("cgroup.controllers")).ok()?;
    Some((service, list.split_whitespace().map(String::from).collect()))
}

/// Reads the host's layout from `proc` (normally `/proc`).
pub fn detect_host(proc: &Path) -> Layout {
    std::fs::read_to_string(proc.join("self/mountinfo"))
        .map(|s| detect(&s))
        .unwrap_or(Layout::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_unified_hybrid_and_legacy() {
        let v2 = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n";
        let v1 = "31 23 0:27 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
        let v2u = "32 23 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
        assert_eq!(detect(v2), Layout::Unified);
        assert_eq!(detect(&format!("{v1}{v2u}")), Layout::Hybrid);
        assert_eq!(detect(v1), Layout::Legacy);
        assert_eq!(detect(""), Layout::None);
    }
}
