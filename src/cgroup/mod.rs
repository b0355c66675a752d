//! Cgroups: detecting which hierarchy the host has.
//!
//! Resource limits are a later issue; for now this module only tells `info`
//! and `run` whether the host has cgroup v2, v1 or a hybrid layout. It must
//! not write to any cgroup file yet.

use std::path::Path;

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
