//! `wait`: until a container meets one of Podman's conditions, and the
//! exit codes of removed containers that waiters still ask for.
//!
//! Conditions are those of Podman 4.3: `stopped` and `exited` wait for
//! the container's exit and give its code (a container that never ran
//! gives 0 at once); the others wait for its state (`created`,
//! `initialized`, `running`, `paused`; `removing` and `unknown` are states
//! hutch never records, so they never match) and give no code. The record is
//! re-read every interval.
//!
//! A container removed while waited for (`--rm`, `rm`, `rm -f`) leaves its
//! exit code in the run directory first, for the waiters.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use super::{lifecycle, limits, Error};
use crate::storage::{ContainerStatus, Store};

/// How often a waiter re-reads the record unless told otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(25);

/// The directory below the run directory where exit codes of removed
/// containers are left for `wait`.
const EXITS_DIR: &str = "exits";

/// How long a waiter looks for the exit code of a container that is gone
/// before it says there is none.
const LEFT_CODE_GRACE: Duration = Duration::from_millis(500);

/// How long an exit code is kept after its container was removed: a
/// waiter polls far more often, and the directory stays small (Podman
/// keeps exit codes of removed containers as long).
const EXIT_CODE_KEEP: Duration = Duration::from_secs(5 * 60);

/// What `wait --condition` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    /// The container is created and not started.
    Created,
    /// Podman's state between create and start; hutch never records it.
    Initialized,
    /// The container runs and is not paused.
    Running,
    /// The container runs and its cgroup is frozen.
    Paused,
    /// Podman's state while removing; hutch never records it.
    Removing,
    /// Podman's state for a container it cannot read; never matches.
    Unknown,
    /// The container has exited and its monitor will not restart it
    /// (`stopped` and `exited` alike), or never ran.
    Stopped,
}

impl FromStr for WaitCondition {
    type Err = ();

    /// Podman's names, which are case-sensitive.
    fn from_str(s: &str) -> Result<WaitCondition, ()> {
        match s {
            "created" => Ok(WaitCondition::Created),
            "initialized" => Ok(WaitCondition::Initialized),
            "running" => Ok(WaitCondition::Running),
            "paused" => Ok(WaitCondition::Paused),
            "removing" => Ok(WaitCondition::Removing),
            "unknown" => Ok(WaitCondition::Unknown),
            "stopped" | "exited" => Ok(WaitCondition::Stopped),
            _ => Err(()),
        }
    }
}

/// Where exit codes of removed containers are left under `runroot`.
pub fn exits_dir(runroot: &Path) -> PathBuf {
    runroot.join(EXITS_DIR)
}

/// Leaves `code` as container `id`'s exit code in `exits` (atomically, so
/// a reader never sees half a number), dropping codes older than
/// `EXIT_CODE_KEEP`.
pub fn write_exit_code(exits: &Path, id: &str, code: i32) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(exits)?;
    prune_exit_codes(exits, SystemTime::now());
    crate::storage::atomic::write_file(&exits.join(id), format!("{code}\n").as_bytes(), 0o644)
}

/// Removes container `id` (with `maps`), leaving its exit `code` in
/// `exits` for waiters: before the record goes, so that a waiter never
/// finds neither, or, when a full disk has no room for it then, after the
/// removal freed some. Best effort: without it, `wait` says the container
/// is gone. The caller must be single-threaded.
pub(super) fn remove_leaving_code(
    store: &Store,
    id: &str,
    maps: &crate::userns::IdMaps,
    exits: &Path,
    code: Option<i32>,
) -> Result<(), crate::storage::Error> {
    let event = super::events::removal(store, id);
    let Some(code) = code else {
        return store.remove_container(id, maps).map(|()| event.done());
    };
    let is_left = write_exit_code(exits, id, code).is_ok();
    store.remove_container(id, maps)?;
    event.done();
    if !is_left {
        let _ = write_exit_code(exits, id, code);
    }
    Ok(())
}

/// Removes exit codes in `exits` written more than `EXIT_CODE_KEEP`
/// before `now`, and the temporary files of writers killed mid-write.
/// Best effort: a leftover file is only a few bytes.
pub(super) fn prune_exit_codes(exits: &Path, now: SystemTime) {
    let Ok(entries) = std::fs::read_dir(exits) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let proc = Path::new(super::PROC);
        if crate::storage::atomic::is_stale_temp(&name.to_string_lossy(), proc) {
            let _ = std::fs::remove_file(entry.path());
            continue;
        }
        let is_old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > EXIT_CODE_KEEP);
        if is_old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The exit code left for container `id` in `exits`, if any.
pub fn read_exit_code(exits: &Path, id: &str) -> Option<i32> {
    std::fs::read_to_string(exits.join(id))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// The exit code a removed container `id` left in `exits`. A removal on
/// a full disk leaves it only once the removal freed space (see
/// `remove_leaving_code`), so a missing one is looked for again a few
/// times over `LEFT_CODE_GRACE`.
fn left_code(exits: &Path, id: &str) -> Option<i32> {
    let deadline = std::time::Instant::now() + LEFT_CODE_GRACE;
    loop {
        if let Some(code) = read_exit_code(exits, id) {
            return Some(code);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(DEFAULT_INTERVAL);
    }
}

/// Waits for container `id` (called `name` in errors), which the caller
/// has seen, to meet any of `conditions`, re-reading its record every
/// `interval`. Returns its exit code when it stopped, `None` when another
/// condition was met. If its record is gone, the exit code left in
/// `exits` counts; without one it is `NoSuchContainer`.
pub fn wait_for_id(
    store: &Store,
    id: &str,
    name: &str,
    conditions: &[WaitCondition],
    interval: Duration,
    exits: &Path,
    proc: &Path,
) -> Result<Option<i32>, Error> {
    let wants = |c| conditions.contains(&c);
    let removed = || match wants(WaitCondition::Stopped) {
        true => left_code(exits, id).map(Some),
        false => None,
    };
    loop {
        let found = store.find_container(id).map_err(Error::Store)?;
        // Gone already, or now (a `--rm` container whose monitor died).
        let observed = match found {
            Some(info) => {
                lifecycle::observe(store, info, proc, Some(exits)).map_err(Error::Store)?
            }
            None => None,
        };
        let Some(info) = observed else {
            return removed().ok_or_else(|| Error::NoSuchContainer(name.to_string()));
        };
        let state = &info.state;
        match state.status {
            ContainerStatus::Created if wants(WaitCondition::Created) => return Ok(None),
            ContainerStatus::Initialized if wants(WaitCondition::Initialized) => return Ok(None),
            // Never ran: its exit code is 0, as in Podman.
            s if s.is_unstarted() && wants(WaitCondition::Stopped) => return Ok(Some(0)),
            ContainerStatus::Running
                if wants(WaitCondition::Running) || wants(WaitCondition::Paused) =>
            {
                let is_paused = limits::is_paused(&store.container_dirs(id).dir);
                let wanted = match is_paused {
                    true => WaitCondition::Paused,
                    false => WaitCondition::Running,
                };
                if wants(wanted) {
                    return Ok(None);
                }
            }
            // A live monitor may still restart it or remove it.
            ContainerStatus::Exited
                if wants(WaitCondition::Stopped) && !lifecycle::is_monitor_alive(state, proc) =>
            {
                return Ok(Some(state.exit_code.unwrap_or(0)));
            }
            _ => {}
        }
        std::thread::sleep(interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{ContainerRecord, ContainerState, Digest};

    #[test]
    fn conditions_parse_as_podman_names_them() {
        let parse = |s: &str| s.parse::<WaitCondition>();
        assert_eq!(parse("stopped"), Ok(WaitCondition::Stopped));
        assert_eq!(parse("exited"), Ok(WaitCondition::Stopped));
        assert_eq!(parse("created"), Ok(WaitCondition::Created));
        assert_eq!(parse("running"), Ok(WaitCondition::Running));
        assert_eq!(parse("paused"), Ok(WaitCondition::Paused));
        assert_eq!(parse("initialized"), Ok(WaitCondition::Initialized));
        assert_eq!(parse("removing"), Ok(WaitCondition::Removing));
        assert_eq!(parse("unknown"), Ok(WaitCondition::Unknown));
        for bad in ["Running", "EXITED", "configured", "stopping", "", "bogus"] {
            assert_eq!(parse(bad), Err(()), "{bad}");
        }
    }

    #[test]
    fn exit_codes_round_trip_through_the_exits_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let exits = exits_dir(tmp.path());
        assert_eq!(read_exit_code(&exits, "c1"), None);
        write_exit_code(&exits, "c1", 137).unwrap();
        write_exit_code(&exits, "c1", 3).unwrap();
        assert_eq!(read_exit_code(&exits, "c1"), Some(3));
        let names: Vec<_> = std::fs::read_dir(&exits).unwrap().collect();
        assert_eq!(names.len(), 1, "a temp file was left: {names:?}");
    }

    #[test]
    fn old_exit_codes_are_pruned() {
        let tmp = tempfile::tempdir().unwrap();
        let exits = exits_dir(tmp.path());
        write_exit_code(&exits, "old", 1).unwrap();
        write_exit_code(&exits, "new", 2).unwrap();
        let later = SystemTime::now() + EXIT_CODE_KEEP + Duration::from_secs(1);
        prune_exit_codes(&exits, later);
        assert_eq!(read_exit_code(&exits, "old"), None);
        prune_exit_codes(&exits, SystemTime::now());
        write_exit_code(&exits, "c", 4).unwrap();
        assert_eq!(read_exit_code(&exits, "c"), Some(4));
    }

    fn record(store: &Store, state: ContainerState) -> String {
        let id = "ef".repeat(32);
        store
            .create_test_container(&ContainerRecord {
                id: id.clone(),
                name: "w".into(),
                image_id: Digest::of(b"config"),
                image_name: "busybox".into(),
                created: "2024-01-01T00:00:00Z".into(),
            })
            .unwrap();
        store.set_container_state(&id, &state).unwrap();
        id
    }

    fn wait(
        store: &Store,
        id: &str,
        conditions: &[WaitCondition],
        exits: &Path,
    ) -> Result<Option<i32>, Error> {
        let proc = tempfile::tempdir().unwrap();
        wait_for_id(
            store,
            id,
            "w",
            conditions,
            Duration::from_millis(1),
            exits,
            proc.path(),
        )
    }

    #[test]
    fn a_created_container_has_stopped_with_0_and_is_created() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let id = record(&store, ContainerState::default());
        let exits = exits_dir(dir.path());
        assert_eq!(
            wait(&store, &id, &[WaitCondition::Stopped], &exits).unwrap(),
            Some(0)
        );
        assert_eq!(
            wait(&store, &id, &[WaitCondition::Created], &exits).unwrap(),
            None
        );
        let both = [WaitCondition::Created, WaitCondition::Stopped];
        assert_eq!(wait(&store, &id, &both, &exits).unwrap(), None);
    }

    #[test]
    fn an_exited_container_gives_its_code_and_a_removed_one_the_code_it_left() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let exited = ContainerState {
            status: ContainerStatus::Exited,
            exit_code: Some(5),
            ..ContainerState::default()
        };
        let id = record(&store, exited);
        let exits = exits_dir(dir.path());
        assert_eq!(
            wait(&store, &id, &[WaitCondition::Stopped], &exits).unwrap(),
            Some(5)
        );
        let maps = crate::userns::IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        );
        store.remove_container(&id, &maps).unwrap();
        let err = wait(&store, &id, &[WaitCondition::Stopped], &exits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no container with name or ID \"w\" found: no such container"
        );
        write_exit_code(&exits, &id, 137).unwrap();
        assert_eq!(
            wait(&store, &id, &[WaitCondition::Stopped], &exits).unwrap(),
            Some(137)
        );
        let err = wait(&store, &id, &[WaitCondition::Running], &exits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no container with name or ID \"w\" found: no such container"
        );
    }
}
