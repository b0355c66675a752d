//! A container's side of its pod: `--pod new:NAME`, what a member inherits
//! from its pod (volumes, devices, security options, user namespace, DNS
//! and hosts, sysctls, /dev/shm's size, the pod's cgroup), starting the
//! pod's infra before a member starts, and the pod's exit policy when a
//! member exits.

use std::borrow::Cow;
use std::path::Path;

use super::pod::{self, ExitPolicy, Pod};
use super::pod_ops::NewPod;
use super::{CreateRequest, Engine, Error, PROC};
use crate::net::NetworkPlan;
use crate::storage::ContainerStatus;

/// The prefix of `--pod` that creates the pod first.
const NEW_POD: &str = "new:";

impl Engine {
    /// `req` as its pod makes it: with `--pod new:NAME` the pod is created
    /// first (and `req` names it); a member inherits its pod's volumes,
    /// devices and security options before its own, and the pod's user
    /// namespace when it sets none.
    pub(super) fn with_pod<'r>(
        &self,
        req: &'r CreateRequest,
    ) -> Result<Cow<'r, CreateRequest>, Error> {
        let Some(name) = &req.pod else {
            super::pod_init::check(req, None)?;
            return Ok(Cow::Borrowed(req));
        };
        let mut out = req.clone();
        if let Some(new) = name.strip_prefix(NEW_POD) {
            if !crate::storage::is_valid_container_name(new) {
                return Err(pod::Error::InvalidName(new.to_string()).into());
            }
            self.create_pod(&NewPod {
                name: Some(new.to_string()),
                ..NewPod::default()
            })?;
            out.pod = Some(new.to_string());
        }
        let p = pod::find(&self.paths().root, out.pod.as_deref().unwrap_or_default())?;
        super::pod_init::check(req, Some(&p))?;
        // A member goes under the pod's cgroup, or its parent, unless it
        // names a parent of its own (as in Podman).
        if out.cgroups.parent.is_none() && p.cgroup.is_parent_shared {
            out.cgroups.pod = p.member_cgroup();
            if out.cgroups.pod.is_none() {
                out.cgroups.parent.clone_from(&p.cgroup.parent);
            }
        }
        if !p.has_infra {
            return Ok(Cow::Owned(out));
        }
        let inherited = &p.inherited;
        let prepend = |own: &mut Vec<String>, pod: &[String]| {
            let mut all = pod.to_vec();
            all.append(own);
            *own = all;
        };
        prepend(&mut out.mounts.volume, &inherited.volumes);
        prepend(&mut out.mounts.volumes_from, &inherited.volumes_from);
        prepend(&mut out.userns.device, &inherited.devices);
        prepend(&mut out.security.security_opt, &inherited.security_opt);
        prepend(&mut out.tuning.sysctls, &inherited.sysctls);
        // Members sharing the pod's IPC namespace share its /dev/shm in
        // Podman, whose size is the pod's.
        if inherited.shm_size.is_some() && p.shares("ipc") {
            out.tuning.shm_size.clone_from(&inherited.shm_size);
        }
        let names = &mut out.tuning.subid_names;
        if names.0.is_none() && names.1.is_none() {
            *names = (inherited.subuidname.clone(), inherited.subgidname.clone());
        }
        let u = &out.userns;
        if u.mode.is_none() && u.uidmap.is_empty() && u.gidmap.is_empty() {
            let pod_userns = inherited.userns_request();
            out.userns.mode = pod_userns.mode;
            out.userns.uidmap = pod_userns.uidmap;
            out.userns.gidmap = pod_userns.gidmap;
        }
        Ok(Cow::Owned(out))
    }

    /// Starts the infra of the pod `pod_id` of a member about to start,
    /// unless it runs or the pod has none.
    pub(super) fn start_infra_for(&self, pod_id: &str) -> Result<(), Error> {
        let root = &self.paths().root;
        let p = pod::find(root, pod_id)?;
        if !p.has_infra {
            return Ok(());
        }
        let runroot = self.runroot()?.to_path_buf();
        Ok(pod::ensure_infra(root, &runroot, &p.id, Path::new(PROC))?)
    }

    /// Starts the infra of container `name`'s pod, if it is in one.
    pub(super) fn start_infra_of(&self, name: &str) -> Result<(), Error> {
        let found = self.store()?.find_container(name).map_err(Error::Store)?;
        let pod = found.and_then(|info| super::load_spec(&info).ok()?.pod);
        match pod {
            Some(id) => self.start_infra_for(&id),
            None => Ok(()),
        }
    }

    /// The pid and start time of pod `pod_id`'s infra as recorded now, for
    /// `apply_exit_policy`.
    pub(super) fn infra_of(&self, pod_id: &str) -> Option<(i32, u64)> {
        let p = pod::find(&self.paths().root, pod_id).ok()?;
        p.infra.map(|i| (i.pid, i.start))
    }

    /// After a member of pod `pod_id` exited: with `--exit-policy stop`,
    /// stops the pod's infra when none of its containers runs any more.
    /// Only the infra the member ran with (`joined`, see `infra_of`): one
    /// started since (`pod restart`) has members of its own to wait for. A
    /// pod removed meanwhile is left alone.
    pub(super) fn apply_exit_policy(
        &self,
        pod_id: &str,
        joined: Option<(i32, u64)>,
    ) -> Result<(), Error> {
        let root = &self.paths().root;
        let p = match pod::find(root, pod_id) {
            Ok(p) => p,
            Err(pod::Error::NoSuchPod(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let now = p.infra.as_ref().map(|i| (i.pid, i.start));
        if p.exit_policy != ExitPolicy::Stop || !p.has_infra || now.is_none() || now != joined {
            return Ok(());
        }
        let is_any_running = self
            .members(&p.id)?
            .iter()
            .any(|m| m.state.status == ContainerStatus::Running);
        if !is_any_running {
            pod::stop_infra(root, &p, Path::new(PROC))?;
        }
        Ok(())
    }
}

/// A member of `p` in the namespaces of its tuning: one that shares the
/// pod's UTS namespace stays in the host's with a pod of `--uts host`.
pub(super) fn member_namespaces(p: &Pod, tuning: &mut crate::runtime::tuning::Tuning) {
    if p.has_infra && p.is_host_uts && p.shares("uts") {
        tuning.namespaces.is_host_uts = true;
    }
}

/// The network of a member of `p`: the pod's, without the ports it
/// publishes, with the member's own DNS and hosts settings where it has
/// them and the pod's where it does not.
pub(super) fn member_network(p: &Pod, own: &NetworkPlan) -> NetworkPlan {
    let pick = |mine: &Vec<String>, pods: &Vec<String>| {
        if mine.is_empty() {
            pods.clone()
        } else {
            mine.clone()
        }
    };
    let pod = &p.network;
    let mut add_hosts = pod.add_hosts.clone();
    add_hosts.extend(own.add_hosts.iter().cloned());
    NetworkPlan {
        ports: Vec::new(),
        dns: pick(&own.dns, &pod.dns),
        dns_search: pick(&own.dns_search, &pod.dns_search),
        dns_options: pick(&own.dns_options, &pod.dns_options),
        add_hosts,
        no_hosts: own.no_hosts || pod.no_hosts,
        ..pod.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_takes_the_pods_dns_unless_it_has_its_own() {
        let mut p: Pod = serde_json::from_value(serde_json::json!({
            "id": "a1", "name": "web", "created": "2026-01-01T00:00:00Z",
            "network": NetworkPlan::default(),
            "maps": crate::userns::IdMaps::plan(1000, 1000, &[], &[]),
        }))
        .unwrap();
        p.network.dns = vec!["1.1.1.1".into()];
        p.network.dns_search = vec!["pod.example".into()];
        p.network.add_hosts = vec![("db".into(), "10.0.0.2".into())];
        let own = NetworkPlan {
            dns: vec!["9.9.9.9".into()],
            add_hosts: vec![("cache".into(), "10.0.0.3".into())],
            ..NetworkPlan::default()
        };
        let n = member_network(&p, &own);
        assert_eq!(n.dns, ["9.9.9.9"]);
        assert_eq!(n.dns_search, ["pod.example"]);
        assert_eq!(n.add_hosts.len(), 2);
        assert!(n.ports.is_empty());
    }
}
