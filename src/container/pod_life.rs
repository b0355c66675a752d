//! The pod commands that act on a pod's running containers: `pod kill`,
//! `pause`, `unpause`, `restart`, `prune`, `top`, `stats` and the members
//! `pod logs` reads. Each acts on the members one by one, as the container
//! commands do, and on the infra where Podman's would act on its infra
//! container.

use std::path::Path;
use std::time::Duration;

use nix::sys::signal::Signal;

use super::pod::{self, Pod};
use super::pod_ops::{PodOutcome, PodStatus};
use super::query::Reading;
use super::{top, Engine, Error, PROC};
use crate::storage::ContainerStatus;

/// How long `pod restart` gives each member before SIGKILL, as `restart`.
const RESTART_TIMEOUT: Duration = Duration::from_secs(10);

/// The signals that end the infra, as they end Podman's catatonit infra;
/// it ignores the rest.
const INFRA_ENDING: [Signal; 3] = [Signal::SIGKILL, Signal::SIGTERM, Signal::SIGINT];

/// One row of `pod stats`: a running member's reading and its pod.
#[derive(Debug, Clone)]
pub struct PodReading {
    /// The pod's full id.
    pub pod_id: String,
    /// The member's reading.
    pub reading: Reading,
}

impl Engine {
    /// Sends `sig` to pod `id`'s running members, and ends its infra when
    /// `sig` would end Podman's.
    pub fn kill_pod(&self, id: &str, sig: Signal) -> Result<PodOutcome, Error> {
        let root = &self.paths().root;
        let p = pod::find(root, id)?;
        let mut out = PodOutcome {
            id: p.id.clone(),
            failures: Vec::new(),
        };
        for m in self.members(&p.id)? {
            if m.state.status == ContainerStatus::Running {
                let r = match self.kill(&m.record.id, sig) {
                    Err(Error::NotRunning(_)) => Ok(()),
                    other => other,
                };
                out.note("killing", &m.record.id, r);
            }
        }
        if INFRA_ENDING.contains(&sig) {
            pod::stop_infra(root, &p, Path::new(PROC))?;
        }
        super::events::on_pod(super::events::Status::Kill, &p.id, &p.name);
        Ok(out)
    }

    /// Freezes (`frozen`) or thaws pod `id`'s running members. Thawing a
    /// pod that is neither paused nor degraded does nothing and returns
    /// `None`, as Podman's `pod unpause` leaves it out.
    pub fn pause_pod(&self, id: &str, frozen: bool) -> Result<Option<PodOutcome>, Error> {
        let root = &self.paths().root;
        let state = self.pod(id)?;
        if !frozen && !matches!(state.status, PodStatus::Paused | PodStatus::Degraded) {
            return Ok(None);
        }
        let mut out = PodOutcome {
            id: state.pod.id.clone(),
            failures: Vec::new(),
        };
        let mut is_any = false;
        for (m, _) in &state.members {
            if m.state.status == ContainerStatus::Running {
                is_any = true;
                let r = self.pause(&m.record.id, frozen).map(drop);
                let action = if frozen { "pausing" } else { "unpausing" };
                out.note(action, &m.record.id, r);
            }
        }
        // The infra does nothing: it counts as paused with its members.
        if out.failures.is_empty() && (is_any || !frozen) {
            pod::set_paused(root, &state.pod.id, frozen)?;
        }
        let status = match frozen {
            true => super::events::Status::Pause,
            false => super::events::Status::Unpause,
        };
        super::events::on_pod(status, &state.pod.id, &state.pod.name);
        Ok(Some(out))
    }

    /// Stops pod `id`'s members and infra, then starts them again; members
    /// that were not running start too.
    pub fn restart_pod(&self, id: &str) -> Result<PodOutcome, Error> {
        let stopped = self.stop_pod(id, RESTART_TIMEOUT)?;
        let mut started = self.start_pod(id)?;
        // A member that would not stop is reported once, as not restarted.
        let mut failures: Vec<Error> = stopped
            .failures
            .into_iter()
            .map(|e| match e {
                Error::PodMember { id, source, .. } => Error::PodMember {
                    action: "restarting",
                    id,
                    source,
                },
                other => other,
            })
            .collect();
        failures.extend(started.failures.drain(..).map(|e| match e {
            Error::PodMember { id, source, .. } => Error::PodMember {
                action: "restarting",
                id,
                source,
            },
            other => other,
        }));
        started.failures = failures;
        Ok(started)
    }

    /// Removes every pod whose containers have all stopped (`Exited` or
    /// `Stopped`), with its members; tells `removed` each pod's id or
    /// failure. Must be called single-threaded.
    pub fn prune_pods(&self, removed: &mut dyn FnMut(Result<String, Error>)) -> Result<(), Error> {
        for state in self.pods()? {
            if matches!(state.status, PodStatus::Exited | PodStatus::Stopped) {
                removed(self.remove_pod(&state.pod.id, false, None));
            }
        }
        Ok(())
    }

    /// The processes of pod `id`'s running members, each member's ordered
    /// by pid inside it; the infra, which is no container, has none.
    pub fn pod_processes(&self, id: &str) -> Result<Vec<top::Process>, top::Error> {
        let p = pod::find(&self.paths().root, id).map_err(Error::from)?;
        let mut out = Vec::new();
        for m in self.members(&p.id)? {
            if m.state.status != ContainerStatus::Running {
                continue;
            }
            match self.list_processes(&m.record.id) {
                Ok(procs) => out.extend(procs),
                // It stopped since: it has no processes.
                Err(top::Error::Container(Error::NotRunning(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// One reading of every running member of the pods `ids`, pod by pod.
    pub fn pod_stats(&self, ids: &[String]) -> Result<Vec<PodReading>, Error> {
        let mut out = Vec::new();
        for id in ids {
            let p = pod::find(&self.paths().root, id)?;
            let running: Vec<String> = self
                .members(&p.id)?
                .into_iter()
                .filter(|m| m.state.status == ContainerStatus::Running)
                .map(|m| m.record.id)
                .collect();
            for reading in self.read_stats(&running)? {
                out.push(PodReading {
                    pod_id: p.id.clone(),
                    reading,
                });
            }
        }
        Ok(out)
    }

    /// The ids of pod `id`'s members whose logs `pod logs` prints: all of
    /// them, or with `container` only that one (by name or id), which
    /// must be in the pod.
    pub fn pod_log_members(&self, id: &str, container: Option<&str>) -> Result<Vec<String>, Error> {
        let p: Pod = pod::find(&self.paths().root, id)?;
        let members = self.members(&p.id)?;
        let Some(c) = container else {
            return Ok(members.into_iter().map(|m| m.record.id).collect());
        };
        members
            .into_iter()
            .find(|m| m.record.id == c || m.record.name == c)
            .map(|m| vec![m.record.id])
            .ok_or_else(|| {
                pod::Error::NotAMember {
                    container: c.to_string(),
                    pod: id.to_string(),
                }
                .into()
            })
    }
}

/// `pod ps --filter`: each key's values are ORed, different keys ANDed
/// (`label` values ANDed, as Podman's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodFilters {
    /// `id=`: id prefixes.
    pub ids: Vec<String>,
    /// `name=`: parts of names.
    pub names: Vec<String>,
    /// `status=`: Podman's lowercase pod statuses.
    pub statuses: Vec<String>,
    /// `label=KEY` or `label=KEY=VALUE`.
    pub labels: Vec<String>,
    /// `until=`: created before this time (Unix nanoseconds).
    pub until: Vec<i64>,
    /// `ctr-ids=`: a member's id prefix.
    pub ctr_ids: Vec<String>,
    /// `ctr-names=`: part of a member's name.
    pub ctr_names: Vec<String>,
    /// `ctr-number=`: how many members.
    pub ctr_numbers: Vec<usize>,
    /// `ctr-status=`: a member's status (created, running, paused,
    /// exited; stopped is exited).
    pub ctr_statuses: Vec<String>,
    /// `network=`: hutch's pods are on no named network, so none matches.
    pub networks: Vec<String>,
}

/// The pod statuses `status=` takes.
const POD_STATUSES: [&str; 7] = [
    "stopped", "running", "paused", "exited", "dead", "created", "degraded",
];

/// The container statuses `ctr-status=` takes.
const CTR_STATUSES: [&str; 6] = [
    "created", "running", "paused", "stopped", "exited", "unknown",
];

impl PodFilters {
    /// Adds `KEY=VALUE` (Podman's keys and messages).
    pub fn add(&mut self, item: &str, now: i64) -> Result<(), pod::Error> {
        let bad = |m: String| pod::Error::BadFilter(m);
        let Some((key, value)) = item.split_once('=') else {
            return Err(bad(format!(
                "filter input must be in the form of filter=value: {item} is invalid"
            )));
        };
        let v = value.to_string();
        match key {
            "id" => self.ids.push(v),
            "name" => self.names.push(v),
            "label" => self.labels.push(v),
            "network" => self.networks.push(v),
            "ctr-ids" => self.ctr_ids.push(v),
            "ctr-names" => self.ctr_names.push(v),
            "status" if POD_STATUSES.contains(&value) => self.statuses.push(v),
            "status" => return Err(bad(format!("{value} is not a valid pod status"))),
            "ctr-status" if CTR_STATUSES.contains(&value) => {
                self.ctr_statuses.push(if value == "stopped" {
                    "exited".into()
                } else {
                    v
                })
            }
            "ctr-status" => return Err(bad(format!("{value} is not a valid status"))),
            "ctr-number" => self.ctr_numbers.push(
                value
                    .parse()
                    .map_err(|_| bad(format!("{value} is not a number of containers")))?,
            ),
            "until" => self.until.push(
                super::logread::parse_time_arg(value, now)
                    .ok_or_else(|| bad(format!("invalid until filter {value:?}")))?,
            ),
            _ => return Err(bad(format!("{key} is an invalid filter"))),
        }
        Ok(())
    }

    /// Whether `s` passes.
    pub fn matches(&self, s: &super::pod_ops::PodState) -> bool {
        let p = &s.pod;
        let any = |values: &[String], f: &dyn Fn(&str) -> bool| {
            values.is_empty() || values.iter().any(|v| f(v))
        };
        let label = |want: &str| match want.split_once('=') {
            Some((k, v)) => p.labels.get(k).is_some_and(|have| have == v),
            None => p.labels.contains_key(want),
        };
        let created = super::logread::parse_timestamp(&p.created).unwrap_or(0);
        any(&self.ids, &|v| p.id.starts_with(v))
            && any(&self.names, &|v| p.name.contains(v))
            && any(&self.statuses, &|v| s.status.name().eq_ignore_ascii_case(v))
            && self.labels.iter().all(|l| label(l))
            && self.until.iter().all(|t| created < *t)
            && self.networks.is_empty()
            && any(&self.ctr_ids, &|v| {
                s.members.iter().any(|(m, _)| m.record.id.starts_with(v))
            })
            && any(&self.ctr_names, &|v| {
                s.members.iter().any(|(m, _)| m.record.name.contains(v))
            })
            && (self.ctr_numbers.is_empty() || self.ctr_numbers.contains(&s.members.len()))
            && any(&self.ctr_statuses, &|v| {
                s.members.iter().any(|(_, st)| st.name() == v)
            })
    }
}
