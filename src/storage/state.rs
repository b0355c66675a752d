//! Container state: status, pids, exit codes and the start spec.
//!
//! The state lives in the `containers` table beside the record (schema
//! version 2, restart columns since 3), so listing every container with its
//! state is one query and a state change is one transaction.
//!
//! The restart policy and the stopped-by-user mark are kept apart from the
//! state: the monitor rewrites the state from its own copy, and must not
//! undo a mark another process set meanwhile.

use std::path::PathBuf;

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};

use super::{
    ContainerInfo, ContainerRecord, ContainerState, ContainerStatus, Digest, Error, Store,
};

/// The shortest id prefix `find_container` accepts, as in Podman.
const MIN_PREFIX: usize = 3;

/// The columns `info_from_row` reads, in its order.
const COLUMNS: &str = "id, name, image_id, image_name, created, state, spec, pid, pid_start,
     monitor_pid, monitor_start, started_at, finished_at, exit_code, exit_reason,
     restart_count";

/// How a container restarts, as recorded beside its state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RestartSettings {
    /// The `--restart` value as given; `None` means `no`.
    pub policy: Option<String>,
    /// Whether `stop`, `kill` or `rm -f` ended it since it was last started.
    pub is_stopped_by_user: bool,
}

impl ContainerStatus {
    /// The status as stored and shown: `created`, `initialized`,
    /// `running` or `exited`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ContainerStatus::Created => "created",
            ContainerStatus::Initialized => "initialized",
            ContainerStatus::Running => "running",
            ContainerStatus::Exited => "exited",
        }
    }

    /// Whether it was never started: created, or initialized by `init`.
    pub fn is_unstarted(&self) -> bool {
        matches!(
            self,
            ContainerStatus::Created | ContainerStatus::Initialized
        )
    }

    /// Parses a stored status; anything unknown reads as created.
    fn parse(s: &str) -> ContainerStatus {
        match s {
            "running" => ContainerStatus::Running,
            "exited" => ContainerStatus::Exited,
            "initialized" => ContainerStatus::Initialized,
            _ => ContainerStatus::Created,
        }
    }
}

fn info_from_row(r: &Row<'_>) -> rusqlite::Result<(ContainerInfo, String)> {
    let image_id: String = r.get(2)?;
    let record = ContainerRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        // A malformed id cannot come from this code; keep the row listable.
        image_id: image_id.parse().unwrap_or_else(|_| Digest::of(b"")),
        image_name: r.get(3)?,
        created: r.get(4)?,
    };
    let status: String = r.get(5)?;
    let state = ContainerState {
        status: ContainerStatus::parse(&status),
        pid: r.get(7)?,
        pid_start: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        monitor_pid: r.get(9)?,
        monitor_start: r.get::<_, Option<i64>>(10)?.map(|v| v as u64),
        started_at: r.get(11)?,
        finished_at: r.get(12)?,
        exit_code: r.get(13)?,
        exit_reason: r.get(14)?,
        restart_count: r.get::<_, i64>(15)?.try_into().unwrap_or(0),
    };
    let info = ContainerInfo {
        record,
        state,
        spec: r.get(6)?,
    };
    Ok((info, image_id))
}

impl Store {
    /// Finds a container by exact name, full id or unambiguous id prefix
    /// (at least 3 characters); a prefix matching several is an error.
    pub fn find_container(&self, name_or_id: &str) -> Result<Option<ContainerInfo>, Error> {
        let err = |source| Error::FindContainer {
            name: name_or_id.to_string(),
            source,
        };
        let db = self.db();
        let exact = db
            .query_row(
                &format!("SELECT {COLUMNS} FROM containers WHERE name = ?1 OR id = ?1"),
                [name_or_id],
                info_from_row,
            )
            .optional()
            .map_err(err)?;
        if let Some((info, _)) = exact {
            return Ok(Some(info));
        }
        let is_prefix = name_or_id.len() >= MIN_PREFIX
            && name_or_id.len() < 64
            && name_or_id.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_prefix {
            return Ok(None);
        }
        let pattern = format!("{}%", name_or_id.to_ascii_lowercase());
        let mut stmt = db
            .prepare(&format!(
                "SELECT {COLUMNS} FROM containers WHERE id LIKE ?1 LIMIT 2"
            ))
            .map_err(err)?;
        let found = stmt
            .query_map([pattern], info_from_row)
            .map_err(err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.into_iter().next().map(|(info, _)| info)),
            _ => {
                let count: i64 = db
                    .query_row(
                        "SELECT count(*) FROM containers WHERE id LIKE ?1",
                        [format!("{}%", name_or_id.to_ascii_lowercase())],
                        |r| r.get(0),
                    )
                    .map_err(err)?;
                Err(Error::AmbiguousContainerId {
                    prefix: name_or_id.to_string(),
                    count: count as usize,
                })
            }
        }
    }

    /// All containers with their state, newest first, in one query.
    pub fn list_containers(&self) -> Result<Vec<ContainerInfo>, Error> {
        self.query_containers("FROM containers ORDER BY created DESC, rowid DESC")
    }

    /// The containers of `SELECT {COLUMNS} {rest}`.
    fn query_containers(&self, rest: &str) -> Result<Vec<ContainerInfo>, Error> {
        let db = self.db();
        let mut stmt = db
            .prepare(&format!("SELECT {COLUMNS} {rest}"))
            .map_err(Error::ListContainers)?;
        let rows = stmt
            .query_map([], info_from_row)
            .map_err(Error::ListContainers)?;
        rows.map(|r| r.map(|(info, _)| info))
            .collect::<Result<Vec<_>, _>>()
            .map_err(Error::ListContainers)
    }

    /// The containers whose spec requires others (`--requires`), through
    /// the partial index `containers_requiring`.
    pub fn list_requiring_containers(&self) -> Result<Vec<ContainerInfo>, Error> {
        self.query_containers(&format!(
            "FROM containers INDEXED BY containers_requiring WHERE {}",
            super::db::REQUIRING
        ))
    }

    /// Records how to start container `id` (the serialised plan).
    pub fn set_container_spec(&self, id: &str, spec: &str) -> Result<(), Error> {
        let err = |source| Error::SaveContainerState {
            id: id.to_string(),
            source,
        };
        let changed = self
            .db()
            .execute(
                "UPDATE containers SET spec = ?2 WHERE id = ?1",
                params![id, spec],
            )
            .map_err(err)?;
        if changed == 0 {
            return Err(Error::ContainerNotKnown { id: id.to_string() });
        }
        Ok(())
    }

    /// Replaces container `id`'s recorded state in one transaction.
    pub fn set_container_state(&self, id: &str, state: &ContainerState) -> Result<(), Error> {
        let err = |source| Error::SaveContainerState {
            id: id.to_string(),
            source,
        };
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let changed = tx
            .execute(
                "UPDATE containers SET state = ?2, pid = ?3, pid_start = ?4,
                    monitor_pid = ?5, monitor_start = ?6, started_at = ?7,
                    finished_at = ?8, exit_code = ?9, exit_reason = ?10,
                    restart_count = ?11
                 WHERE id = ?1",
                params![
                    id,
                    state.status.as_str(),
                    state.pid,
                    state.pid_start.map(|v| v as i64),
                    state.monitor_pid,
                    state.monitor_start.map(|v| v as i64),
                    state.started_at,
                    state.finished_at,
                    state.exit_code,
                    state.exit_reason,
                    i64::from(state.restart_count),
                ],
            )
            .map_err(err)?;
        if changed == 0 {
            return Err(Error::ContainerNotKnown { id: id.to_string() });
        }
        tx.commit().map_err(err)
    }

    /// Records container `id`'s restart policy (`None`: `no`).
    pub fn set_restart_policy(&self, id: &str, policy: Option<&str>) -> Result<(), Error> {
        self.update_container(
            id,
            "UPDATE containers SET restart_policy = ?2 WHERE id = ?1",
            policy,
        )
    }

    /// Sets or clears the mark that the user ended container `id`, which
    /// keeps its monitor from restarting it.
    pub fn set_stopped_by_user(&self, id: &str, is_stopped: bool) -> Result<(), Error> {
        self.update_container(
            id,
            "UPDATE containers SET stopped_by_user = ?2 WHERE id = ?1",
            is_stopped,
        )
    }

    /// Container `id`'s restart policy and stopped-by-user mark, as they
    /// are now; `None` when the container is gone.
    pub fn restart_settings(&self, id: &str) -> Result<Option<RestartSettings>, Error> {
        self.db()
            .query_row(
                "SELECT restart_policy, stopped_by_user FROM containers WHERE id = ?1",
                [id],
                |r| {
                    Ok(RestartSettings {
                        policy: r.get(0)?,
                        is_stopped_by_user: r.get(1)?,
                    })
                },
            )
            .optional()
            .map_err(|source| Error::FindContainer {
                name: id.to_string(),
                source,
            })
    }

    /// Serialises `hutch start`s, so that two of them never spawn two
    /// monitors for one container: the second finds it running.
    pub fn lock_container_start(&self) -> Result<super::LockGuard, Error> {
        super::lock::lock(&self.root, "container-start")
    }

    /// Runs one `UPDATE` of container `id` taking `?1` = id, `?2` = value.
    fn update_container(
        &self,
        id: &str,
        sql: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<(), Error> {
        let changed = self
            .db()
            .execute(sql, params![id, value])
            .map_err(|source| Error::SaveContainerState {
                id: id.to_string(),
                source,
            })?;
        if changed == 0 {
            return Err(Error::ContainerNotKnown { id: id.to_string() });
        }
        Ok(())
    }

    /// The container's log file (k8s-file format).
    pub fn container_log_path(&self, id: &str) -> PathBuf {
        self.container_dirs(id).dir.join("ctr.log")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, name: &str, created: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.to_string(),
            name: name.into(),
            image_id: Digest::of(b"config"),
            image_name: "localhost/busybox".into(),
            created: created.into(),
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    #[test]
    fn a_new_container_is_created_without_spec() {
        let (_dir, store) = store();
        let id = "ab".repeat(32);
        store
            .create_test_container(&record(&id, "web", "2024-01-01T00:00:00Z"))
            .unwrap();
        let info = store.find_container("web").unwrap().unwrap();
        assert_eq!(info.record.id, id);
        assert_eq!(info.record.image_id, Digest::of(b"config"));
        assert_eq!(info.state, ContainerState::default());
        assert_eq!(info.spec, None);
    }

    #[test]
    fn only_specs_that_require_others_are_listed_as_requiring() {
        let (_dir, store) = store();
        let (a, b, c) = ("aa".repeat(32), "bb".repeat(32), "cc".repeat(32));
        for (id, name) in [(&a, "a"), (&b, "b"), (&c, "c")] {
            store
                .create_test_container(&record(id, name, "2024-01-01T00:00:00Z"))
                .unwrap();
        }
        store
            .set_container_spec(&a, r#"{"manage":{"requires":[]}}"#)
            .unwrap();
        store
            .set_container_spec(&b, &format!(r#"{{"manage":{{"requires":["{a}"]}}}}"#))
            .unwrap();
        let ids = |s: &Store| -> Vec<String> {
            s.list_requiring_containers()
                .unwrap()
                .into_iter()
                .map(|i| i.record.id)
                .collect()
        };
        assert_eq!(ids(&store), std::slice::from_ref(&b));
        // A spec changed later leaves or joins the index.
        store
            .set_container_spec(&b, r#"{"manage":{"requires":[]}}"#)
            .unwrap();
        store
            .set_container_spec(&c, &format!(r#"{{"manage":{{"requires":["{a}"]}}}}"#))
            .unwrap();
        assert_eq!(ids(&store), [c]);
    }

    #[test]
    fn state_and_spec_round_trip() {
        let (_dir, store) = store();
        let id = "ab".repeat(32);
        store
            .create_test_container(&record(&id, "web", "2024-01-01T00:00:00Z"))
            .unwrap();
        store.set_container_spec(&id, "{\"x\":1}").unwrap();
        let state = ContainerState {
            status: ContainerStatus::Exited,
            pid: Some(42),
            pid_start: Some(u64::from(u32::MAX) + 7),
            monitor_pid: Some(41),
            monitor_start: Some(9),
            started_at: Some("2024-01-01T00:00:01Z".into()),
            finished_at: Some("2024-01-01T00:00:02Z".into()),
            exit_code: Some(137),
            exit_reason: Some("monitor died".into()),
            restart_count: 3,
        };
        store.set_container_state(&id, &state).unwrap();
        let info = store.find_container(&id).unwrap().unwrap();
        assert_eq!(info.state, state);
        assert_eq!(info.spec.as_deref(), Some("{\"x\":1}"));
    }

    #[test]
    fn restart_settings_survive_state_changes() {
        let (_dir, store) = store();
        let id = "ab".repeat(32);
        store
            .create_test_container(&record(&id, "web", "2024-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(
            store.restart_settings(&id).unwrap(),
            Some(RestartSettings::default())
        );
        store.set_restart_policy(&id, Some("always")).unwrap();
        store.set_stopped_by_user(&id, true).unwrap();
        // A monitor writing its copy of the state keeps the mark.
        store
            .set_container_state(&id, &ContainerState::default())
            .unwrap();
        let want = RestartSettings {
            policy: Some("always".into()),
            is_stopped_by_user: true,
        };
        assert_eq!(store.restart_settings(&id).unwrap(), Some(want));
        store.set_stopped_by_user(&id, false).unwrap();
        assert!(
            !store
                .restart_settings(&id)
                .unwrap()
                .unwrap()
                .is_stopped_by_user
        );
        assert_eq!(store.restart_settings(&"c".repeat(64)).unwrap(), None);
        let err = store
            .set_stopped_by_user(&"c".repeat(64), true)
            .unwrap_err();
        assert!(matches!(err, Error::ContainerNotKnown { .. }));
    }

    #[test]
    fn setting_the_state_of_a_missing_container_fails() {
        let (_dir, store) = store();
        let err = store
            .set_container_state(&"c".repeat(64), &ContainerState::default())
            .unwrap_err();
        assert!(matches!(err, Error::ContainerNotKnown { .. }));
        let err = store.set_container_spec(&"c".repeat(64), "{}").unwrap_err();
        assert!(matches!(err, Error::ContainerNotKnown { .. }));
    }

    #[test]
    fn find_accepts_unique_prefixes_and_names_ambiguous_ones() {
        let (_dir, store) = store();
        let a = format!("abc1{}", "0".repeat(60));
        let b = format!("abc2{}", "0".repeat(60));
        store
            .create_test_container(&record(&a, "one", "2024-01-01T00:00:00Z"))
            .unwrap();
        store
            .create_test_container(&record(&b, "two", "2024-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(store.find_container("abc1").unwrap().unwrap().record.id, a);
        assert_eq!(store.find_container("ABC2").unwrap().unwrap().record.id, b);
        assert!(store.find_container("ab").unwrap().is_none());
        assert!(store.find_container("fff").unwrap().is_none());
        assert!(store.find_container("nope").unwrap().is_none());
        let err = store.find_container("abc").unwrap_err();
        assert_eq!(
            err.to_string(),
            "container id prefix \"abc\" matches 2 containers"
        );
    }

    #[test]
    fn list_is_newest_first() {
        let (_dir, store) = store();
        for (i, created) in [
            "2024-01-02T00:00:00Z",
            "2024-01-03T00:00:00Z",
            "2024-01-01T00:00:00Z",
        ]
        .iter()
        .enumerate()
        {
            let id = format!("{i}").repeat(64);
            store
                .create_test_container(&record(&id, &format!("c{i}"), created))
                .unwrap();
        }
        let names: Vec<String> = store
            .list_containers()
            .unwrap()
            .into_iter()
            .map(|c| c.record.name)
            .collect();
        assert_eq!(names, ["c1", "c0", "c2"]);
    }
}
