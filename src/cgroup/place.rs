//! Deciding where a container goes, putting it there, and cleaning up.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::pod::{self, PodCgroup};
use super::resources::WeightDevice;
use super::{io_err, systemd, Error, Layout, Resources, MOUNT};

/// Name of the leaf cgroup inside a container's scope.
const LEAF: &str = "container";
/// Name of the leaf that holds hutch's own processes in a cgroup whose
/// children have controllers.
const SUPERVISOR: &str = "hutch";
/// How long systemd may take to move the container into its scope.
const SCOPE_WAIT: Duration = Duration::from_secs(5);

/// `--cgroup-manager`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Manager {
    Systemd,
    Cgroupfs,
}

impl Manager {
    /// Parses the flag's value.
    pub fn parse(s: &str) -> Result<Manager, Error> {
        match s {
            "systemd" => Ok(Manager::Systemd),
            "cgroupfs" => Ok(Manager::Cgroupfs),
            _ => Err(Error::Flag {
                flag: "--cgroup-manager",
                value: s.into(),
                why: "use systemd or cgroupfs".into(),
            }),
        }
    }
}

/// The cgroup part of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// `--cgroup-manager`; None picks one.
    pub manager: Option<Manager>,
    /// `--cgroups=disabled`.
    pub is_disabled: bool,
    /// `--cgroup-parent`: a slice for systemd, a cgroup path for cgroupfs.
    pub parent: Option<String>,
    /// The limits.
    pub resources: Resources,
    /// The cgroup of the container's pod, which it goes under (a member
    /// of a pod with limits).
    pub pod: Option<PodCgroup>,
    /// `--cgroups=no-conmon` or `--cgroups=split`: under systemd, only the
    /// container goes to its scope; the monitor stays in the caller's cgroup
    /// (a systemd unit's, whose main process it is: Quadlet's and `generate
    /// systemd`'s `Type=notify` services).
    pub is_monitor_apart: bool,
}

impl Options {
    /// Whether the container or its pod has limits.
    pub fn has_limits(&self) -> bool {
        !self.resources.is_empty() || self.pod.as_ref().is_some_and(|p| !p.resources.is_empty())
    }
}

/// What the host offers, looked up once per run.
#[derive(Debug, Clone)]
pub struct Host {
    pub layout: Layout,
    /// The session bus address, if one is reachable.
    pub bus: Option<String>,
    /// This process's own cgroup (absolute under /sys/fs/cgroup).
    pub own: Option<PathBuf>,
}

impl Host {
    /// Looks at the real host: the layout, then on cgroup v2 the session
    /// bus address `bus` (see `paths::session_bus`) and our own cgroup.
    pub fn probe(bus: impl FnOnce() -> Option<String>, proc: &Path) -> Host {
        let layout = super::host_layout();
        if layout != Layout::Unified {
            return Host {
                layout,
                bus: None,
                own: None,
            };
        }
        Host {
            layout,
            bus: bus(),
            own: own_cgroup(proc, "self"),
        }
    }
}

/// Where a container's processes will go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nowhere special; `warning` is why, when the user should know.
    Skip { warning: Option<String> },
    /// A transient scope from the systemd user manager at `bus`, in
    /// `slice` (the pod's slice for a member of `pod`).
    Systemd {
        bus: String,
        slice: Option<String>,
        pod: Option<PodCgroup>,
        /// `--cgroups=no-conmon` (see `Options::is_monitor_apart`).
        is_monitor_apart: bool,
    },
    /// A child of the delegated cgroup `base` (or of `pod`'s directory
    /// there).
    Cgroupfs {
        base: PathBuf,
        pod: Option<PodCgroup>,
    },
}

/// Decides, before the clone, where the container goes.
pub fn decide(host: &Host, opts: &Options) -> Result<Decision, Error> {
    let has_limits = opts.has_limits();
    if opts.is_disabled {
        return if has_limits {
            Err(Error::DisabledWithLimits)
        } else {
            Ok(Decision::Skip { warning: None })
        };
    }
    if host.layout != Layout::Unified {
        if has_limits {
            return Err(Error::NoUnified {
                layout: host.layout.version(),
            });
        }
        return Ok(Decision::Skip {
            warning: Some(format!(
                "this host has cgroup {}: containers run without resource limits (cgroup v2 is needed for them)",
                host.layout.version()
            )),
        });
    }
    let systemd = || match &host.bus {
        Some(bus) => Ok(Decision::Systemd {
            bus: bus.clone(),
            slice: match &opts.pod {
                Some(p) => Some(p.slice()?),
                None => opts.parent.clone(),
            },
            pod: opts.pod.clone(),
            is_monitor_apart: opts.is_monitor_apart,
        }),
        None => Err(Error::NoUserManager {
            why: "no DBUS_SESSION_BUS_ADDRESS and no bus socket in XDG_RUNTIME_DIR".into(),
        }),
    };
    let cgroupfs = || {
        let parent = opts.pod.as_ref().map_or(&opts.parent, |p| &p.parent);
        let base = match parent {
            Some(p) => Path::new(MOUNT).join(p.trim_start_matches('/')),
            // Once hutch moved the processes of the delegated cgroup into
            // its `hutch` leaf (see `evacuate`), later runs start there:
            // their containers belong beside it, not below it.
            None => match &host.own {
                Some(own) if own.ends_with(SUPERVISOR) => own.parent().unwrap_or(own).to_path_buf(),
                Some(own) => own.clone(),
                None => {
                    return Err(Error::NotDelegated {
                        path: PathBuf::from(MOUNT),
                    })
                }
            },
        };
        if is_writable(&base) {
            Ok(Decision::Cgroupfs {
                base,
                pod: opts.pod.clone(),
            })
        } else {
            Err(Error::NotDelegated { path: base })
        }
    };
    match opts.manager {
        Some(Manager::Systemd) => systemd(),
        Some(Manager::Cgroupfs) => cgroupfs(),
        None => systemd()
            .or_else(|e| cgroupfs().map_err(|_| e))
            .or_else(|e| {
                if has_limits {
                    Err(e)
                } else {
                    Ok(Decision::Skip {
                        warning: Some(format!("{e}: containers run without resource limits")),
                    })
                }
            }),
    }
}

/// Where a container was put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// The container's own cgroup (absolute, under /sys/fs/cgroup).
    pub path: PathBuf,
    /// The systemd unit holding it, if any.
    pub unit: Option<String>,
}

/// Moves `pid` (waiting, not yet running anything) where `decision` says
/// and writes the limits. Call before releasing the process, so that its
/// cgroup namespace is rooted at its own cgroup.
pub fn place(
    decision: &Decision,
    id: &str,
    pid: i32,
    resources: &Resources,
    proc: &Path,
) -> Result<Option<Placement>, Error> {
    let (parent, unit) = match decision {
        Decision::Skip { .. } => return Ok(None),
        Decision::Systemd {
            bus,
            slice,
            pod,
            is_monitor_apart,
        } if *is_monitor_apart || std::env::var_os(crate::paths::ENV_SYSTEMD_UNIT).is_some() => {
            let unit = format!("hutch-{id}.scope");
            let scope = scope_alone(bus, slice.as_deref(), pod.as_ref(), &unit, pid, proc)?;
            (scope, Some(unit))
        }
        Decision::Systemd {
            bus, slice, pod, ..
        } => {
            let unit = format!("hutch-{id}.scope");
            // We (the monitor, or the foreground hutch) join the scope as
            // well, in its `hutch` leaf: the scope then outlives the
            // container until we have read its OOM count, and goes away
            // when we exit. A restart finds us there already.
            let me = std::process::id();
            let mine = own_cgroup(proc, "self");
            let reuse = mine.as_deref().and_then(|p| {
                (p.ends_with(SUPERVISOR) && p.parent()?.ends_with(&unit))
                    .then(|| p.parent().map(Path::to_path_buf))?
            });
            let scope = match reuse {
                Some(scope) => scope,
                None => {
                    if let (Some(p), Some(s)) = (pod, slice) {
                        systemd::ensure_slice(bus, s, &pod::properties(&p.resources))?;
                    }
                    systemd::start_scope(bus, &unit, &[pid as u32, me], slice.as_deref())?;
                    // Both must have arrived before controllers are enabled
                    // below: afterwards the kernel would refuse to move us
                    // into the scope's root, and the scope would end (and
                    // take the container's cgroup with it) when the
                    // container does.
                    let deadline = Instant::now() + SCOPE_WAIT;
                    loop {
                        let theirs = own_cgroup(proc, &pid.to_string());
                        let ours = own_cgroup(proc, "self");
                        match (theirs, ours) {
                            (Some(t), Some(o)) if t.ends_with(&unit) && o.starts_with(&t) => {
                                break t
                            }
                            _ if Instant::now() > deadline => {
                                return Err(Error::ScopeTimeout { unit })
                            }
                            _ => std::thread::sleep(Duration::from_millis(1)),
                        }
                    }
                }
            };
            (scope, Some(unit))
        }
        Decision::Cgroupfs { base, pod: None } => (base.clone(), None),
        Decision::Cgroupfs { base, pod: Some(p) } => (pod::make_directory(base, p)?, None),
    };
    let leaf = match &unit {
        Some(_) => parent.join(LEAF),
        None => parent.join(format!("hutch-{id}")),
    };
    match std::fs::create_dir(&leaf) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("creating the cgroup", &leaf)(e)),
    }
    let placement = Placement { path: leaf, unit };
    let result = (|| {
        let procs = placement.path.join("cgroup.procs");
        std::fs::write(&procs, pid.to_string())
            .map_err(io_err("moving the container into", &procs))?;
        if placement.unit.is_some() {
            // Out of the scope's root, so that its children may have
            // controllers (the kernel's no-internal-processes rule).
            evacuate(&parent)?;
        }
        enable_controllers(&parent, &resources.controllers())?;
        // Every other delegated controller too, so that `stats` and a live
        // `update` work for a container started without limits.
        enable_delegated(&parent);
        write_limits(&placement.path, resources)
    })();
    match result {
        Ok(()) => Ok(Some(placement)),
        Err(e) => Err(e),
    }
}

/// `--cgroups=no-conmon`, or a hutch run by a unit of `generate systemd`
/// (`PODMAN_SYSTEMD_UNIT` set): puts `pid` alone into a new scope `unit` (in
/// `slice`, made for `pod`), and returns the scope's cgroup. We stay
/// where we are (a unit's cgroup, whose main process we are); the scope
/// ends with the container.
fn scope_alone(
    bus: &str,
    slice: Option<&str>,
    pod: Option<&PodCgroup>,
    unit: &str,
    pid: i32,
    proc: &Path,
) -> Result<PathBuf, Error> {
    if let (Some(p), Some(s)) = (pod, slice) {
        systemd::ensure_slice(bus, s, &pod::properties(&p.resources))?;
    }
    let deadline = Instant::now() + SCOPE_WAIT;
    // A restart's scope may meet the last one's, which systemd removes
    // once it is empty.
    while let Err(e) = systemd::start_scope(bus, unit, &[pid as u32], slice) {
        if Instant::now() > deadline {
            return Err(e);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    loop {
        match own_cgroup(proc, &pid.to_string()) {
            Some(t) if t.ends_with(unit) => return Ok(t),
            _ if Instant::now() > deadline => {
                return Err(Error::ScopeTimeout {
                    unit: unit.to_string(),
                })
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// Removes the container's cgroup after its processes are gone; the
/// systemd scope then has nothing left and stops by itself. Waits briefly
/// for exiting processes to leave.
pub fn release(placement: &Placement) -> Result<(), Error> {
    let deadline = Instant::now() + Duration::from_millis(500);
    loop {
        match std::fs::remove_dir(&placement.path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(io_err("removing the cgroup", &placement.path)(e)),
        }
    }
}

/// Removes the cgroup of pod `pod` (`pod rm`): its systemd slice, when a
/// user manager is at `host`'s bus, and its cgroupfs directory where the
/// cgroupfs manager would have made it. A pod whose members never started
/// has neither, which is no error.
pub fn release_pod(host: &Host, pod: &PodCgroup) -> Result<(), Error> {
    if host.layout != Layout::Unified {
        return Ok(());
    }
    if let Some(bus) = &host.bus {
        systemd::stop_unit(bus, &pod.slice()?)?;
    }
    let opts = Options {
        manager: Some(Manager::Cgroupfs),
        pod: Some(pod.clone()),
        ..Options::default()
    };
    if let Ok(Decision::Cgroupfs { base, .. }) = decide(host, &opts) {
        pod::remove_directory(&base, pod)?;
    }
    Ok(())
}

/// Writes every limit file of `resources` into `dir`: the limits, the
/// per-device weights, then the `--cgroup-conf` files, which may change
/// what the limits wrote.
pub(super) fn write_limits(dir: &Path, resources: &Resources) -> Result<(), Error> {
    for (file, value) in resources.files() {
        let path = dir.join(file);
        write_file(&path, &value).map_err(io_err("writing", &path))?;
    }
    for device in &resources.weight_devices {
        write_weight_device(dir, device)?;
    }
    for (file, value) in &resources.unified {
        let path = dir.join(file);
        write_file(&path, value).map_err(io_err("writing", &path))?;
    }
    Ok(())
}

/// Writes an interface file that must exist: cgroupfs refuses to create
/// files (EACCES), so a missing one (a controller not enabled, a
/// `--cgroup-conf` key the kernel does not have) is opened without
/// `O_CREAT` to say ENOENT instead.
fn write_file(path: &Path, value: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.write_all(value.as_bytes())
}

/// Writes one device's weight where its io scheduler takes it, as the
/// OCI runtimes do: `io.bfq.weight` (BFQ, the blkio scale) when there is
/// one, else `io.weight` (blk-iocost, its own scale). A scheduler that
/// has no per-device weight answers EOPNOTSUPP.
fn write_weight_device(dir: &Path, device: &WeightDevice) -> Result<(), Error> {
    let unsupported = |e: &std::io::Error| e.raw_os_error() == Some(libc::EOPNOTSUPP);
    let bfq = dir.join("io.bfq.weight");
    match write_file(&bfq, &device.bfq_line()) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound || unsupported(&e) => {
            log::debug!("{}: {e}; trying io.weight", bfq.display());
        }
        Err(e) => return Err(io_err("writing", &bfq)(e)),
    }
    let path = dir.join("io.weight");
    match write_file(&path, &device.io_weight_line()) {
        Ok(()) => Ok(()),
        Err(e) if unsupported(&e) => Err(Error::NoDeviceWeight {
            device: device.path.clone(),
        }),
        Err(e) => Err(io_err("writing", &path)(e)),
    }
}

/// Enables `controllers` for the children of `parent`. A cgroup with
/// processes of its own cannot (the kernel's no-internal-processes rule),
/// so those move to a `hutch` leaf first; that happens only in a delegated
/// cgroup of the user's own (cgroupfs manager).
pub(super) fn enable_controllers(parent: &Path, controllers: &[&str]) -> Result<(), Error> {
    if controllers.is_empty() {
        return Ok(());
    }
    let available_path = parent.join("cgroup.controllers");
    let available =
        std::fs::read_to_string(&available_path).map_err(io_err("reading", &available_path))?;
    let enabled_path = parent.join("cgroup.subtree_control");
    let enabled =
        std::fs::read_to_string(&enabled_path).map_err(io_err("reading", &enabled_path))?;
    let mut wanted = String::new();
    for c in controllers {
        if enabled.split_whitespace().any(|e| e == *c) {
            continue;
        }
        if !available.split_whitespace().any(|a| a == *c) {
            return Err(Error::ControllerMissing {
                controller: (*c).to_string(),
                path: parent.to_path_buf(),
            });
        }
        wanted.push_str(&format!("+{c} "));
    }
    if wanted.is_empty() {
        return Ok(());
    }
    match std::fs::write(&enabled_path, wanted.trim_end()) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
            evacuate(parent)?;
            std::fs::write(&enabled_path, wanted.trim_end())
                .map_err(io_err("enabling controllers in", &enabled_path))
        }
        Err(e) => Err(io_err("enabling controllers in", &enabled_path)(e)),
    }
}

/// Enables, one by one, each controller `parent` has that its children do
/// not have yet; one the kernel refuses (a threaded subtree, a controller
/// busy elsewhere) is left off, since no limit asked for it.
pub(super) fn enable_delegated(parent: &Path) {
    let read = |name: &str| std::fs::read_to_string(parent.join(name)).unwrap_or_default();
    let available = read("cgroup.controllers");
    let enabled = read("cgroup.subtree_control");
    let control = parent.join("cgroup.subtree_control");
    for c in available.split_whitespace() {
        if enabled.split_whitespace().any(|e| e == c) {
            continue;
        }
        if let Err(e) = std::fs::write(&control, format!("+{c}")) {
            log::debug!("enabling the {c} controller in {}: {e}", control.display());
        }
    }
}

/// Moves process `pid` into the running container's cgroup `placement`
/// (`exec`): directly when this user may (a delegated subtree holding
/// both), else through the systemd user manager over `bus`, which may
/// move a process from a login session into the container's scope.
pub fn attach(placement: &Placement, pid: i32, bus: Option<&str>) -> Result<(), Error> {
    let procs = placement.path.join("cgroup.procs");
    let direct = std::fs::write(&procs, pid.to_string());
    match (direct, &placement.unit, bus) {
        (Ok(()), _, _) => Ok(()),
        (Err(e), Some(unit), Some(bus))
            if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) =>
        {
            let sub = format!("/{LEAF}");
            systemd::attach_processes(bus, unit, &sub, &[pid as u32])
        }
        (Err(e), _, _) => Err(io_err("moving the process into", &procs)(e)),
    }
}

/// Moves the processes of `parent` itself into `parent/hutch`.
fn evacuate(parent: &Path) -> Result<(), Error> {
    let leaf = parent.join(SUPERVISOR);
    match std::fs::create_dir(&leaf) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("creating the cgroup", &leaf)(e)),
    }
    let procs_path = parent.join("cgroup.procs");
    let procs = std::fs::read_to_string(&procs_path).map_err(io_err("reading", &procs_path))?;
    let target = leaf.join("cgroup.procs");
    for pid in procs.lines() {
        match std::fs::write(&target, pid) {
            Ok(()) => {}
            // A process that exited meanwhile.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {}
            Err(e) => return Err(io_err("moving a process into", &target)(e)),
        }
    }
    Ok(())
}

/// The cgroup v2 path of process `pid` ("self" or a number), absolute.
fn own_cgroup(proc: &Path, pid: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string(proc.join(pid).join("cgroup")).ok()?;
    let rel = text.lines().find_map(|l| l.strip_prefix("0::"))?;
    Some(Path::new(MOUNT).join(rel.trim_start_matches('/')))
}

/// Whether we may create children in `dir` and move processes there.
fn is_writable(dir: &Path) -> bool {
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK).is_ok()
        && nix::unistd::access(&dir.join("cgroup.procs"), nix::unistd::AccessFlags::W_OK).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::resources::PidsLimit;
    use crate::error::Diagnose;

    fn host(layout: Layout, bus: bool) -> Host {
        Host {
            layout,
            bus: bus.then(|| "unix:path=/run/user/1000/bus".to_string()),
            own: None,
        }
    }

    fn limited() -> Options {
        Options {
            resources: Resources {
                pids_max: Some(PidsLimit::Max(20)),
                ..Resources::default()
            },
            ..Options::default()
        }
    }

    #[test]
    fn hybrid_hosts_warn_without_limits_and_refuse_with_them() {
        let d = decide(&host(Layout::Hybrid, false), &Options::default()).unwrap();
        assert!(matches!(d, Decision::Skip { warning: Some(w) } if w.contains("v1 (hybrid)")));
        let e = decide(&host(Layout::Hybrid, false), &limited()).unwrap_err();
        assert!(matches!(e, Error::NoUnified { .. }));
        assert!(e.hint().unwrap().contains("--cgroups=disabled"));
    }

    #[test]
    fn disabled_skips_silently_and_contradicts_limits() {
        let off = Options {
            is_disabled: true,
            ..Options::default()
        };
        assert_eq!(
            decide(&host(Layout::Unified, true), &off).unwrap(),
            Decision::Skip { warning: None }
        );
        let both = Options {
            is_disabled: true,
            ..limited()
        };
        assert!(matches!(
            decide(&host(Layout::Hybrid, false), &both),
            Err(Error::DisabledWithLimits)
        ));
    }

    #[test]
    fn split_keeps_the_monitor_out_of_the_scope() {
        // issue #16: a Quadlet service's monitor is its main process.
        let d = decide(&host(Layout::Unified, true), &limited()).unwrap();
        assert!(matches!(
            d,
            Decision::Systemd {
                is_monitor_apart: false,
                ..
            }
        ));
        let split = Options {
            is_monitor_apart: true,
            ..limited()
        };
        let d = decide(&host(Layout::Unified, true), &split).unwrap();
        assert!(matches!(
            d,
            Decision::Systemd {
                is_monitor_apart: true,
                ..
            }
        ));
    }

    #[test]
    fn unified_prefers_systemd_and_needs_a_bus_for_it() {
        let d = decide(&host(Layout::Unified, true), &limited()).unwrap();
        assert!(matches!(d, Decision::Systemd { .. }));
        let forced = Options {
            manager: Some(Manager::Systemd),
            ..Options::default()
        };
        assert!(matches!(
            decide(&host(Layout::Unified, false), &forced),
            Err(Error::NoUserManager { .. })
        ));
        // No bus, no delegated cgroup, no limits: run, with a warning.
        let d = decide(&host(Layout::Unified, false), &Options::default()).unwrap();
        assert!(matches!(d, Decision::Skip { warning: Some(_) }));
        assert!(decide(&host(Layout::Unified, false), &limited()).is_err());
    }

    #[test]
    fn cgroupfs_uses_a_writable_parent() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.procs"), "").unwrap();
        let h = Host {
            own: Some(dir.path().to_path_buf()),
            ..host(Layout::Unified, false)
        };
        let opts = Options {
            manager: Some(Manager::Cgroupfs),
            ..Options::default()
        };
        assert_eq!(
            decide(&h, &opts).unwrap(),
            Decision::Cgroupfs {
                base: dir.path().to_path_buf(),
                pod: None,
            }
        );
    }

    #[test]
    fn controllers_are_enabled_once_and_missing_ones_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cgroup.controllers"), "cpu memory pids\n").unwrap();
        std::fs::write(dir.path().join("cgroup.subtree_control"), "cpu\n").unwrap();
        enable_controllers(dir.path(), &["cpu", "memory"]).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("cgroup.subtree_control")).unwrap(),
            "+memory"
        );
        let e = enable_controllers(dir.path(), &["io"]).unwrap_err();
        assert!(matches!(e, Error::ControllerMissing { controller, .. } if controller == "io"));
    }
}
