//! Resource limits and cgroup placement of a new or updated container:
//! the limit flags parsed against this host's block devices, the manager
//! and mode checked, and the decision where the container's cgroup goes.

use std::os::unix::fs::OpenOptionsExt;

use super::create::{CgroupRequest, LimitsRequest, Progress, Resources};
use super::engine::Engine;
use super::Error;
use crate::cgroup::{self, Manager};

/// Parses and checks the limit flags (`--memory`, `--cpus`, …).
pub fn parse_limits(req: &LimitsRequest) -> Result<Resources, Error> {
    let r = Resources::parse(req, &block_device).map_err(Error::Cgroup)?;
    if r.oom_kill_disable {
        return Err(Error::OomKillDisable);
    }
    Ok(r)
}

/// What the limit flags ask for that cgroup v2 cannot give: accepted, as
/// Podman accepts them there, and reported to `progress` (Podman warns
/// the same).
pub fn warn_ignored_limits(req: &LimitsRequest, progress: &dyn Progress) {
    if req.cpu_rt_period.is_some_and(|p| p > 0) {
        progress.warn("--cpu-rt-period has no effect: cgroup v2 has no realtime CPU time settings");
    }
    if req.cpu_rt_runtime.is_some_and(|r| r > 0) {
        progress
            .warn("--cpu-rt-runtime has no effect: cgroup v2 has no realtime CPU time settings");
    }
}

/// Checks `--device-cgroup-rule`s and says they change nothing: a
/// rootless container has no device cgroup (Podman skips them in a user
/// namespace too); it reaches the devices `--device` gives it as far as
/// the host's permissions on their nodes allow.
fn check_device_rules(rules: &[String], progress: &dyn Progress) -> Result<(), Error> {
    for rule in rules {
        cgroup::resources::check_device_rule(rule).map_err(Error::Cgroup)?;
    }
    if !rules.is_empty() {
        progress.warn(
            "--device-cgroup-rule has no effect: a rootless container has no device cgroup, and reaches the devices --device gives it as their host permissions allow",
        );
    }
    Ok(())
}

/// The (major, minor) of block device `path`.
fn block_device(path: &str) -> Option<(u64, u64)> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let meta = std::fs::metadata(path).ok()?;
    if !meta.file_type().is_block_device() {
        return None;
    }
    let rdev = meta.rdev();
    Some((libc::major(rdev) as u64, libc::minor(rdev) as u64))
}

/// What this host offers for placing containers.
pub fn host() -> cgroup::Host {
    cgroup::Host::probe(crate::paths::session_bus, std::path::Path::new(super::PROC))
}

impl Engine {
    /// Checks the cgroup flags against each other and against this host:
    /// refuses limits the host cannot apply, and warns (once per boot) when
    /// it places containers nowhere. Where no cgroup can take
    /// `--pids-limit` it is returned for the RLIMIT_NPROC fallback instead.
    pub(super) fn plan_cgroups(
        &self,
        req: &CgroupRequest,
        progress: &dyn Progress,
    ) -> Result<(cgroup::Options, Option<i64>), Error> {
        let is_monitor_apart = matches!(req.mode.as_deref(), Some("no-conmon" | "split"));
        let is_disabled = match req.mode.as_deref().unwrap_or("enabled") {
            "enabled" | "no-conmon" | "split" => false,
            "disabled" => true,
            other => return Err(Error::CgroupsMode(other.to_string())),
        };
        check_device_rules(&req.device_rules, progress)?;
        let resources = parse_limits(&req.limits)?;
        warn_ignored_limits(&req.limits, progress);
        let mut opts = cgroup::Options {
            manager: req
                .manager
                .as_deref()
                .map(Manager::parse)
                .transpose()
                .map_err(Error::Cgroup)?
                .or(self.cgroup_manager),
            is_disabled,
            parent: req.parent.clone(),
            resources,
            pod: req.pod.clone(),
            is_monitor_apart,
        };
        let host = host();
        let mut rlimit_pids = None;
        if opts.resources.pids_max.is_some() {
            let mut without = opts.clone();
            without.resources.pids_max = None;
            let is_placed = matches!(
                cgroup::decide(&host, &without),
                Ok(cgroup::Decision::Systemd { .. } | cgroup::Decision::Cgroupfs { .. })
            );
            if !is_placed {
                rlimit_pids = req.limits.pids_limit;
                opts = without;
            }
        }
        if let cgroup::Decision::Skip { warning: Some(w) } =
            cgroup::decide(&host, &opts).map_err(Error::Cgroup)?
        {
            self.warn_once(&w, progress);
        }
        Ok((opts, rlimit_pids))
    }

    /// Reports `warning` unless it was reported since the run directory
    /// was made (that is, since boot): a host without cgroup v2 stays
    /// that way.
    fn warn_once(&self, warning: &str, progress: &dyn Progress) {
        let Ok(runroot) = self.runroot() else {
            progress.warn(warning);
            return;
        };
        let marker = runroot.join("cgroup-warning");
        // create_new is the test and the mark in one step: of concurrent
        // invocations exactly one warns.
        if std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&marker)
            .is_ok()
        {
            progress.warn(warning);
        }
    }
}
