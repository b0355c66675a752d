//! The container's side of networking: checking ports before the clone,
//! starting the helper for the new network namespace, recording it, and
//! cleaning up after containers whose helper outlived them.

use std::path::Path;

use nix::unistd::Pid;

use super::{procfs, Error, Plan};
use crate::net::{self, HelperRecord, PublishedPort, RunningHelper};

/// Checks the planned host ports against the unprivileged port start
/// (under the proc root `proc`) and that each is free, picking free ones
/// where none was given. Fails in well under a second, before any clone.
pub fn prepare_ports(plan: &Plan, proc: &Path) -> Result<Vec<PublishedPort>, Error> {
    let ports = &plan.network.ports;
    if ports.is_empty() {
        return Ok(Vec::new());
    }
    net::check_ports(ports, net::unprivileged_port_start(proc)).map_err(Error::Network)?;
    net::resolve_ports(ports).map_err(Error::Network)
}

/// Starts the network helper for init `pid` (its id maps written) and
/// records it with `ports` in the container directory; `None` when the
/// mode has no helper.
pub fn connect(
    plan: &Plan,
    pid: Pid,
    ports: &[PublishedPort],
    proc: &Path,
) -> Result<Option<RunningHelper>, Error> {
    let dir = &plan.dirs.dir;
    // A previous run's helper, if its monitor died uncleanly, goes first.
    stop_stale_helper(dir, proc);
    let helper = net::start_helper(&plan.network, pid, dir, ports).map_err(Error::Network)?;
    record(plan, helper, ports, proc)
}

/// Whether `plan`'s helper is pasta, which starts before init is released
/// and is waited for only before the container's process runs
/// (`spawn_early`, `finish_early`).
pub fn is_started_early(plan: &Plan) -> bool {
    matches!(plan.network.mode, net::Mode::Pasta(_))
}

/// Spawns pasta for init `pid` right after the clone, before the id maps
/// are written: its start (two execs, the host's routes and addresses,
/// its socket pools) then overlaps with the maps, the cgroup and init's
/// mounts. Joining a user namespace needs no maps, only its owner's uid.
pub fn spawn_early(
    plan: &Plan,
    pid: Pid,
    ports: &[PublishedPort],
    proc: &Path,
) -> Result<net::StartingPasta, Error> {
    let dir = &plan.dirs.dir;
    stop_stale_helper(dir, proc);
    let target = net::PastaTarget::open(pid).map_err(Error::Network)?;
    net::spawn_pasta(&plan.network, &target, dir, ports).map_err(Error::Network)
}

/// Waits for the pasta of `spawn_early` to be ready and records it.
pub fn finish_early(
    plan: &Plan,
    starting: net::StartingPasta,
    ports: &[PublishedPort],
    proc: &Path,
) -> Result<Option<RunningHelper>, Error> {
    let helper = starting.wait_ready().map_err(Error::Network)?;
    record(plan, Some(helper), ports, proc)
}

/// Records `helper` (none: the mode has no helper) with `ports` in the
/// container directory.
fn record(
    plan: &Plan,
    helper: Option<RunningHelper>,
    ports: &[PublishedPort],
    proc: &Path,
) -> Result<Option<RunningHelper>, Error> {
    let dir = &plan.dirs.dir;
    let record = HelperRecord {
        helper: plan.network.mode.helper().unwrap_or_default().to_string(),
        pid: helper.as_ref().and_then(RunningHelper::pid),
        start: helper
            .as_ref()
            .and_then(RunningHelper::pid)
            .and_then(|p| procfs::start_time(proc, p)),
        ports: ports.to_vec(),
    };
    write_helper_record(dir, &record)?;
    Ok(helper)
}

/// A container joining user-defined networks: the holder's namespaces,
/// what netavark is told, and the container's attachment record (written
/// by the engine, removed when the container is detached).
#[derive(Debug)]
pub struct NetAttach {
    pub holder: net::netavark::Holder,
    pub config_dir: std::path::PathBuf,
    pub options: net::netavark::Options,
    pub record: std::path::PathBuf,
}

/// The file in the container directory with netavark's report: the
/// container's addresses on each network, for `inspect`.
pub const STATUS_FILE: &str = "netavark.json";

/// Attaches init `pid` (in the holder's user namespace) to its networks
/// with netavark and starts the forwarder of `ports`; records both. The
/// returned helper detaches the container when dropped.
pub fn attach(
    plan: &Plan,
    pid: Pid,
    ports: &[PublishedPort],
    join: NetAttach,
    proc: &Path,
) -> Result<Option<RunningHelper>, Error> {
    let dir = &plan.dirs.dir;
    stop_stale_helper(dir, proc);
    let path = proc.join(pid.to_string()).join("ns").join("net");
    let netns = std::fs::File::open(&path)
        .map(std::os::fd::OwnedFd::from)
        .map_err(|source| Error::WriteFile {
            path: path.clone(),
            source,
        });
    let status = netns.and_then(|netns| {
        net::netavark::setup(&join.config_dir, &join.holder, &netns, &join.options)
            .map(|s| (netns, s))
            .map_err(Error::Network)
    });
    let (netns, status) = match status {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&join.record);
            return Err(e);
        }
    };
    let status_path = dir.join(STATUS_FILE);
    crate::storage::atomic::write_json(&status_path, &status, 0o644).map_err(|source| {
        Error::WriteFile {
            path: status_path,
            source,
        }
    })?;
    let detach = net::netavark::Detach {
        config_dir: join.config_dir,
        holder: join.holder,
        netns,
        options: join.options,
        record: join.record,
    };
    // Dropped on failure: that detaches the container again.
    let forwarder = match ports.is_empty() {
        true => None,
        false => Some(net::spawn_forwarder(pid, ports).map_err(Error::Network)?),
    };
    let helper = RunningHelper::attached(detach, forwarder);
    let record = HelperRecord {
        helper: "netavark".into(),
        pid: helper.pid(),
        start: helper.pid().and_then(|p| procfs::start_time(proc, p)),
        ports: ports.to_vec(),
    };
    write_helper_record(dir, &record)?;
    Ok(Some(helper))
}

/// Records the helper of the container directory `dir` (net.json).
fn write_helper_record(dir: &Path, record: &HelperRecord) -> Result<(), Error> {
    let path = HelperRecord::path(dir);
    crate::storage::atomic::write_json(&path, record, 0o644)
        .map_err(|source| Error::WriteFile { path, source })
}

/// Kills the recorded helper of the container directory `dir` if that
/// process still runs (same pid and start time), and forgets it.
pub fn stop_stale_helper(dir: &Path, proc: &Path) {
    let Some(record) = HelperRecord::read(dir) else {
        return;
    };
    if let (Some(pid), Some(start)) = (record.pid, record.start) {
        if procfs::is_alive(proc, pid, start) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
    let _ = std::fs::remove_file(HelperRecord::path(dir));
}

/// The ports container directory `dir` publishes while it runs.
pub fn published_ports(dir: &Path) -> Vec<PublishedPort> {
    HelperRecord::read(dir).map(|r| r.ports).unwrap_or_default()
}

/// In init: brings up `lo` when the container has a network namespace of
/// its own (`--network none` included, as Podman does).
pub fn bring_up_loopback(plan: &Plan) -> Result<(), super::report::Failure> {
    if !plan.network.mode.is_private() {
        return Ok(());
    }
    crate::sys::netif::set_interface_up("lo")
        .map_err(|e| super::report::Failure::io("bringing up the loopback interface", &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helper_records_round_trip_through_the_container_dir() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(HelperRecord::read(tmp.path()), None);
        let rec = HelperRecord {
            helper: "pasta".into(),
            pid: Some(42),
            start: Some(7),
            ports: vec![],
        };
        write_helper_record(tmp.path(), &rec).unwrap();
        assert_eq!(HelperRecord::read(tmp.path()), Some(rec));
        assert_eq!(published_ports(tmp.path()), []);
    }
}
