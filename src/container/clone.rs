//! `container clone`: a new container made through `create_planned` from
//! the request its original was created with (kept in the original's
//! spec), with the clone's own name, image, pod and limits laid over it.
//!
//! The request is recorded as the front end made it, after `--pod new:`
//! has named its pod but before the pod's inherited volumes, devices and
//! user namespace are added (the clone joins its own pod's), with its
//! `--env-file`s read into its `-e`s (the files may be gone), and without
//! `--cidfile`, `--replace` and `--pod-id-file`. Limits the
//! original got later from `update` are carried: the clone's are the
//! original's current ones with the clone's flags over them.

use std::path::Path;

use super::create::{CreateRequest, LimitsRequest, Progress, PullPolicy};
use super::{lifecycle, load_spec, save_spec, Engine, Error, PROC};
use crate::storage::{ContainerStatus, Store};

/// What `container clone` changes in the copy.
#[derive(Debug, Clone, Default)]
pub struct CloneRequest {
    /// The container to copy (name, id or id prefix).
    pub container: String,
    /// The clone's name; `NAME-clone` (then `NAME-clone1`, …) when `None`.
    pub name: Option<String>,
    /// Another image for the clone.
    pub image: Option<String>,
    /// `--pod`: the pod the clone joins instead of the original's.
    pub pod: Option<String>,
    /// The limit flags given; each set one replaces the original's.
    pub limits: LimitsRequest,
    /// `--memory-swappiness`, replacing the original's.
    pub memory_swappiness: Option<i64>,
    /// `--destroy`: remove the original once the clone exists.
    pub destroy: bool,
    /// `--force`: with `destroy`, remove a running original too.
    pub force: bool,
    /// `--run`: start the clone.
    pub run: bool,
}

/// The request `req` as its container's spec records it: its pod named
/// (`pod`, what `--pod new:` made of it) and its env files read into its
/// environment (`env_files`, their lines).
pub(super) fn recorded(
    req: &CreateRequest,
    pod: Option<&str>,
    env_files: &[String],
) -> Option<serde_json::Value> {
    let mut rec = req.clone();
    rec.pod = pod.map(str::to_string);
    let mut env = env_files.to_vec();
    env.append(&mut rec.process.env);
    rec.process.env = env;
    rec.process.env_files.clear();
    // What names the original alone: a clone writes no id file of its
    // own, replaces nothing, and its pod is the one named above.
    rec.manage.cidfile = None;
    rec.manage.replace = false;
    rec.manage.pod_id_file = None;
    serde_json::to_value(rec).ok()
}

/// `limits` with each limit `over` sets replacing it.
pub(super) fn lay_over(limits: &mut LimitsRequest, over: &LimitsRequest) {
    let strings = [
        (&mut limits.memory, &over.memory),
        (&mut limits.memory_reservation, &over.memory_reservation),
        (&mut limits.memory_swap, &over.memory_swap),
        (&mut limits.cpus, &over.cpus),
        (&mut limits.cpuset_cpus, &over.cpuset_cpus),
        (&mut limits.cpuset_mems, &over.cpuset_mems),
    ];
    for (mine, theirs) in strings {
        if theirs.is_some() {
            mine.clone_from(theirs);
        }
    }
    let numbers = [
        (&mut limits.cpu_shares, over.cpu_shares),
        (&mut limits.cpu_weight, over.cpu_weight),
        (&mut limits.cpu_period, over.cpu_period),
        (&mut limits.blkio_weight, over.blkio_weight),
        (&mut limits.cpu_rt_period, over.cpu_rt_period),
    ];
    for (mine, theirs) in numbers {
        if theirs.is_some() {
            *mine = theirs;
        }
    }
    let signed = [
        (&mut limits.cpu_quota, over.cpu_quota),
        (&mut limits.pids_limit, over.pids_limit),
        (&mut limits.cpu_rt_runtime, over.cpu_rt_runtime),
    ];
    for (mine, theirs) in signed {
        if theirs.is_some() {
            *mine = theirs;
        }
    }
    let lists = [
        (&mut limits.blkio_weight_device, &over.blkio_weight_device),
        (&mut limits.device_read_bps, &over.device_read_bps),
        (&mut limits.device_write_bps, &over.device_write_bps),
        (&mut limits.device_read_iops, &over.device_read_iops),
        (&mut limits.device_write_iops, &over.device_write_iops),
    ];
    for (mine, theirs) in lists {
        if !theirs.is_empty() {
            mine.clone_from(theirs);
        }
    }
}

/// The first free name of `NAME-clone`, `NAME-clone1`, `NAME-clone2`, …
/// (Podman's names for clones).
fn clone_name(store: &Store, name: &str) -> Result<String, Error> {
    let base = format!("{name}-clone");
    let mut candidate = base.clone();
    for n in 1.. {
        if store
            .find_container(&candidate)
            .map_err(Error::Store)?
            .is_none_or(|c| c.record.name != candidate)
        {
            break;
        }
        candidate = format!("{base}{n}");
    }
    Ok(candidate)
}

impl Engine {
    /// The request container `name` was created with, as its spec records
    /// it (`kube generate`), with the container's record.
    pub fn recorded_request(
        &self,
        name: &str,
    ) -> Result<(crate::storage::ContainerRecord, CreateRequest), Error> {
        let info = lifecycle::find(self.store()?, name, Path::new(PROC), None)?;
        let stored = load_spec(&info)?
            .request
            .ok_or_else(|| Error::CloneNoRequest(info.record.name.clone()))?;
        let req = serde_json::from_value(stored).map_err(|source| Error::CloneRequestCorrupt {
            id: info.record.id.clone(),
            source,
        })?;
        Ok((info.record, req))
    }
}

impl Engine {
    /// Creates a copy of container `req.container` with `req`'s changes
    /// and returns its id; with `destroy` removes the original, with `run`
    /// starts the copy. Must be called single-threaded.
    pub fn clone_container(
        &self,
        req: &CloneRequest,
        progress: &dyn Progress,
    ) -> Result<String, Error> {
        if req.force && !req.destroy {
            return Err(Error::CloneForceWithoutDestroy);
        }
        let store = self.store()?;
        let info = lifecycle::find(store, &req.container, Path::new(PROC), None)?;
        let original = load_spec(&info)?;
        let stored = original
            .request
            .clone()
            .ok_or_else(|| Error::CloneNoRequest(info.record.name.clone()))?;
        let mut new: CreateRequest =
            serde_json::from_value(stored).map_err(|source| Error::CloneRequestCorrupt {
                id: info.record.id.clone(),
                source,
            })?;
        if req.destroy && !req.force && info.state.status == ContainerStatus::Running {
            return Err(Error::IsRunning(info.record.name.clone()));
        }
        new.name = match &req.name {
            Some(n) => Some(n.clone()),
            None => Some(clone_name(store, &info.record.name)?),
        };
        if let Some(image) = &req.image {
            new.image.clone_from(image);
        }
        // The image is local (the original uses it); another is pulled
        // only when missing.
        new.pull = PullPolicy::Missing;
        if req.pod.is_some() {
            new.pod.clone_from(&req.pod);
        }
        lay_over(&mut new.cgroups.limits, &req.limits);
        if req.memory_swappiness.is_some() {
            new.tuning.memory_swappiness = req.memory_swappiness;
        }
        // Checked before anything is created, as the create path checks it.
        let newer = super::parse_limits(&req.limits)?;
        let created = self.create(&new, progress)?;
        // Limits the original got from `update` after its creation.
        let mut plan = load_spec(&lifecycle::find(store, &created, Path::new(PROC), None)?)?;
        plan.cgroups.resources = original.cgroups.resources.merged(&newer);
        save_spec(store, &plan)?;
        if req.destroy {
            self.remove(&info.record.id, req.force, false)?;
        }
        if req.run {
            self.start(&created)?;
        }
        Ok(created)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clones_limits_replace_only_those_given() {
        let mut limits = LimitsRequest {
            memory: Some("64m".into()),
            cpus: Some("1".into()),
            cpu_shares: Some(512),
            device_read_bps: vec!["/dev/sda:1mb".into()],
            ..LimitsRequest::default()
        };
        let over = LimitsRequest {
            memory: Some("128m".into()),
            blkio_weight: Some(300),
            device_write_bps: vec!["/dev/sda:2mb".into()],
            ..LimitsRequest::default()
        };
        lay_over(&mut limits, &over);
        assert_eq!(limits.memory.as_deref(), Some("128m"));
        assert_eq!(limits.cpus.as_deref(), Some("1"));
        assert_eq!(limits.cpu_shares, Some(512));
        assert_eq!(limits.blkio_weight, Some(300));
        assert_eq!(limits.device_read_bps, ["/dev/sda:1mb"]);
        assert_eq!(limits.device_write_bps, ["/dev/sda:2mb"]);
    }

    #[test]
    fn the_recorded_request_names_its_pod_and_holds_its_env_files() {
        let mut req = CreateRequest {
            pod: Some("new:p".into()),
            ..CreateRequest::default()
        };
        req.process.env = vec!["A=2".into()];
        req.process.env_files = vec!["/gone".into()];
        let rec = recorded(&req, Some("p"), &["A=1".into(), "B=1".into()]).unwrap();
        let back: CreateRequest = serde_json::from_value(rec).unwrap();
        assert_eq!(back.pod.as_deref(), Some("p"));
        assert_eq!(back.process.env, ["A=1", "B=1", "A=2"]);
        assert!(back.process.env_files.is_empty());
    }
}
