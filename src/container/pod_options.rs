//! The options `pod create` and `pod clone` share (#13): the pod's host
//! name, labels and infra pid file, its limits and cgroup parent (the
//! members go under the pod's cgroup, see `cgroup::pod`), the namespaces
//! of its infra (`--uts`, `--pid`) and what members inherit. Checked as a
//! whole against this host when a pod is made, laid over a recorded
//! request by `pod clone`, and given to members by `pod_member`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::create::{LimitsRequest, Resources};
use super::pod::{self, Inherited};
use super::Error;
use crate::cgroup::{self, PodCgroup};
use crate::runtime::tuning::{self, NamespaceModes};

/// What `pod create` and `pod clone` set alike; each `None` or empty when
/// not given.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PodOptions {
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `--label KEY[=VALUE]`, over the `label_files`.
    pub labels: Vec<String>,
    /// `--label-file`s: `KEY=VALUE` lines.
    pub label_files: Vec<PathBuf>,
    /// `--infra-conmon-pidfile`.
    pub monitor_pidfile: Option<PathBuf>,
    /// `--memory`, `--cpus` and the other limit flags.
    pub limits: LimitsRequest,
    /// `--cgroup-parent`.
    pub cgroup_parent: Option<String>,
    /// `--uts`: the infra's UTS namespace, private (default) or host.
    pub uts: Option<String>,
    /// `--pid`: the infra's PID namespace, private (default) or host.
    pub pid: Option<String>,
    /// `-v`, `--volumes-from`, `--device`, `--security-opt`, `--userns`,
    /// `--uidmap`, `--gidmap`, `--shm-size`, `--sysctl`, `--subuidname`,
    /// `--subgidname`: what members inherit.
    pub inherited: Inherited,
}

/// Where a pod's members go and what limits their common cgroup has, as
/// recorded with the pod.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodCgroupPlan {
    /// `--cgroup-parent`.
    pub parent: Option<String>,
    /// `--share-parent`: whether members without a `--cgroup-parent` of
    /// their own go under the pod's cgroup (default true).
    pub is_parent_shared: bool,
    /// The pod's limits.
    pub resources: Resources,
}

impl Default for PodCgroupPlan {
    fn default() -> PodCgroupPlan {
        PodCgroupPlan {
            parent: None,
            is_parent_shared: true,
            resources: Resources::default(),
        }
    }
}

/// The parts of a pod's options checked and planned before it is
/// recorded.
#[derive(Debug, Clone, Default)]
pub struct Checked {
    /// The pod's cgroup.
    pub cgroup: PodCgroupPlan,
    /// `--uts host`.
    pub is_host_uts: bool,
    /// `--pid host`.
    pub is_host_pid: bool,
}

/// Checks `opts` against each other and against this host (`host`): the
/// limits as a container's (refused where the host cannot apply them),
/// `--uts` and `--pid` as a container's, `--shm-size`, `--sysctl` (on a
/// network of the host's own when `is_host_network`) and the subordinate
/// id names.
pub fn check(
    opts: &PodOptions,
    is_parent_shared: bool,
    is_host_network: bool,
    host: &cgroup::Host,
) -> Result<Checked, Error> {
    let resources = super::resources::parse_limits(&opts.limits).map_err(|e| match e {
        Error::Cgroup(c) => Error::PodCgroup(c),
        e => e,
    })?;
    if !resources.is_empty() {
        if !is_parent_shared {
            return Err(pod::Error::LimitsWithoutSharedParent.into());
        }
        let placing = cgroup::Options {
            pod: Some(PodCgroup {
                id: String::new(),
                parent: opts.cgroup_parent.clone(),
                resources: resources.clone(),
            }),
            ..cgroup::Options::default()
        };
        cgroup::decide(host, &placing).map_err(Error::PodCgroup)?;
    }
    let modes = NamespaceModes {
        uts: opts.uts.clone(),
        pid: opts.pid.clone(),
        ..NamespaceModes::default()
    };
    let namespaces = tuning::plan_namespaces(&modes).map_err(Error::Tuning)?;
    if namespaces.is_host_uts && opts.hostname.is_some() {
        return Err(Error::HostnameWithHostUts);
    }
    let i = &opts.inherited;
    if let Some(size) = &i.shm_size {
        tuning::parse_shm_size(size).map_err(Error::Tuning)?;
    }
    tuning::plan_sysctls(&i.sysctls, is_host_network).map_err(Error::Tuning)?;
    super::options::check_subid_names(&(i.subuidname.clone(), i.subgidname.clone()))?;
    Ok(Checked {
        cgroup: PodCgroupPlan {
            parent: opts.cgroup_parent.clone(),
            is_parent_shared,
            resources,
        },
        is_host_uts: namespaces.is_host_uts,
        is_host_pid: namespaces.is_host_pid,
    })
}

/// `base` with what `over` sets laid over it (`pod clone`): each value
/// given replaces the original's, each list given (volumes, devices,
/// security options, the id maps) replaces the original's list, labels
/// and sysctls are added after the original's (so theirs win), and each
/// limit given replaces that limit.
pub fn lay_over(base: &mut PodOptions, over: &PodOptions) {
    let values = [
        (&mut base.hostname, &over.hostname),
        (&mut base.cgroup_parent, &over.cgroup_parent),
        (&mut base.uts, &over.uts),
        (&mut base.pid, &over.pid),
        (&mut base.inherited.shm_size, &over.inherited.shm_size),
        (&mut base.inherited.subuidname, &over.inherited.subuidname),
        (&mut base.inherited.subgidname, &over.inherited.subgidname),
    ];
    for (mine, theirs) in values {
        if theirs.is_some() {
            mine.clone_from(theirs);
        }
    }
    if over.monitor_pidfile.is_some() {
        base.monitor_pidfile.clone_from(&over.monitor_pidfile);
    }
    let (b, o) = (&mut base.inherited, &over.inherited);
    let lists = [
        (&mut b.volumes, &o.volumes),
        (&mut b.volumes_from, &o.volumes_from),
        (&mut b.devices, &o.devices),
        (&mut b.security_opt, &o.security_opt),
    ];
    for (mine, theirs) in lists {
        if !theirs.is_empty() {
            mine.clone_from(theirs);
        }
    }
    if o.userns.is_some() || !o.uidmap.is_empty() || !o.gidmap.is_empty() {
        b.userns.clone_from(&o.userns);
        b.uidmap.clone_from(&o.uidmap);
        b.gidmap.clone_from(&o.gidmap);
    }
    b.sysctls.extend(o.sysctls.iter().cloned());
    base.labels.extend(over.labels.iter().cloned());
    base.label_files.extend(over.label_files.iter().cloned());
    super::clone::lay_over(&mut base.limits, &over.limits);
}

/// The limits of a pod as `pod inspect` shows them, under Podman's names
/// (only those set, as Podman leaves the others out): from the flags as
/// given and as checked.
pub fn inspect_limits(
    limits: &LimitsRequest,
    r: &Resources,
) -> serde_json::Map<String, serde_json::Value> {
    use crate::cgroup::resources::SwapLimit;
    use serde_json::{json, Value};
    let mut out = serde_json::Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_string(), v);
    };
    if let Some((quota, period)) = r.cpu_max {
        put("cpu_period", json!(period));
        if let Some(q) = quota {
            put("cpu_quota", json!(q));
        }
    }
    if let Some(s) = limits.cpu_shares {
        put("cpu_shares", json!(s));
    }
    if let Some(c) = &r.cpuset_cpus {
        put("cpuset_cpus", json!(c));
    }
    if let Some(m) = &r.cpuset_mems {
        put("cpuset_mems", json!(m));
    }
    for (key, list) in [
        ("device_read_bps", &limits.device_read_bps),
        ("device_write_bps", &limits.device_write_bps),
    ] {
        let rates: Vec<Value> = list
            .iter()
            .filter_map(|spec| {
                let (path, rate) = spec.rsplit_once(':')?;
                let rate = cgroup::resources::size("--device-read-bps", rate).ok()?;
                Some(json!({"Path": path, "Rate": rate}))
            })
            .collect();
        if !rates.is_empty() {
            put(key, Value::Array(rates));
        }
    }
    if let Some(m) = r.memory_max {
        put("memory_limit", json!(m));
        // Podman's memory_swap is memory plus swap, as the flag.
        match r.swap_max {
            Some(SwapLimit::Bytes(s)) => put("memory_swap", json!(m + s)),
            Some(SwapLimit::Unlimited) => put("memory_swap", json!(-1)),
            None => {}
        }
    }
    if let Some(w) = limits.blkio_weight {
        put("blkio_weight", json!(w));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_takes_the_originals_options_with_those_given_over_them() {
        let mut base = PodOptions {
            hostname: Some("web".into()),
            labels: vec!["a=1".into()],
            limits: LimitsRequest {
                memory: Some("64m".into()),
                cpus: Some("1".into()),
                ..LimitsRequest::default()
            },
            inherited: Inherited {
                volumes: vec!["/a:/a".into()],
                devices: vec!["/dev/null".into()],
                userns: Some("keep-id".into()),
                sysctls: vec!["net.ipv4.ip_forward=1".into()],
                ..Inherited::default()
            },
            ..PodOptions::default()
        };
        let over = PodOptions {
            labels: vec!["a=2".into(), "b".into()],
            limits: LimitsRequest {
                memory: Some("128m".into()),
                ..LimitsRequest::default()
            },
            inherited: Inherited {
                volumes: vec!["/b:/b".into()],
                uidmap: vec!["0:1:1".into()],
                sysctls: vec!["net.ipv4.ip_forward=0".into()],
                shm_size: Some("32m".into()),
                ..Inherited::default()
            },
            uts: Some("host".into()),
            ..PodOptions::default()
        };
        lay_over(&mut base, &over);
        assert_eq!(base.hostname.as_deref(), Some("web"));
        assert_eq!(base.labels, ["a=1", "a=2", "b"]);
        assert_eq!(base.limits.memory.as_deref(), Some("128m"));
        assert_eq!(base.limits.cpus.as_deref(), Some("1"));
        let i = &base.inherited;
        assert_eq!(i.volumes, ["/b:/b"]);
        assert_eq!(i.devices, ["/dev/null"]);
        // The user namespace is replaced as a whole.
        assert_eq!(
            (i.userns.as_deref(), &i.uidmap[..]),
            (None, &["0:1:1".to_string()][..])
        );
        assert_eq!(
            i.sysctls,
            ["net.ipv4.ip_forward=1", "net.ipv4.ip_forward=0"]
        );
        assert_eq!(i.shm_size.as_deref(), Some("32m"));
        assert_eq!(base.uts.as_deref(), Some("host"));
    }

    #[test]
    fn inspect_shows_podmans_limit_fields_only_when_set() {
        let limits = LimitsRequest {
            memory: Some("64m".into()),
            memory_swap: Some("128m".into()),
            cpus: Some("1.5".into()),
            cpu_shares: Some(512),
            blkio_weight: Some(300),
            device_write_bps: vec!["/dev/vda:2mb".into()],
            ..LimitsRequest::default()
        };
        let r = Resources::parse(&limits, &|_| Some((254, 0))).unwrap();
        let got = serde_json::Value::Object(inspect_limits(&limits, &r));
        assert_eq!(
            got,
            serde_json::json!({
                "cpu_period": 100000,
                "cpu_quota": 150000,
                "cpu_shares": 512,
                "device_write_bps": [{"Path": "/dev/vda", "Rate": 2097152}],
                "memory_limit": 67108864,
                "memory_swap": 134217728,
                "blkio_weight": 300,
            })
        );
        assert!(inspect_limits(&LimitsRequest::default(), &Resources::default()).is_empty());
    }

    #[test]
    fn options_are_checked_as_a_containers() {
        let host = cgroup::Host {
            layout: cgroup::Layout::Hybrid,
            bus: None,
            own: None,
        };
        let with = |f: &dyn Fn(&mut PodOptions)| {
            let mut o = PodOptions::default();
            f(&mut o);
            check(&o, true, false, &host)
        };
        assert!(with(&|_| {}).is_ok());
        // Limits need cgroup v2, as a container's.
        let limited = |o: &mut PodOptions| o.limits.memory = Some("64m".into());
        assert!(matches!(
            with(&limited),
            Err(Error::PodCgroup(cgroup::Error::NoUnified { .. }))
        ));
        let mut o = PodOptions::default();
        limited(&mut o);
        assert!(matches!(
            check(&o, false, false, &host),
            Err(Error::Pod(pod::Error::LimitsWithoutSharedParent))
        ));
        assert!(matches!(
            with(&|o| o.limits.memory_swap = Some("1m".into())),
            Err(Error::PodCgroup(cgroup::Error::Flag { .. }))
        ));
        assert!(matches!(
            with(&|o| o.uts = Some("bogus".into())),
            Err(Error::Tuning(_))
        ));
        assert!(matches!(
            with(&|o| {
                o.uts = Some("host".into());
                o.hostname = Some("h".into());
            }),
            Err(Error::HostnameWithHostUts)
        ));
        let c = with(&|o| {
            o.uts = Some("host".into());
            o.pid = Some("host".into());
            o.cgroup_parent = Some("p.slice".into());
        })
        .unwrap();
        assert!(c.is_host_uts && c.is_host_pid);
        assert_eq!(c.cgroup.parent.as_deref(), Some("p.slice"));
        assert!(matches!(
            with(&|o| o.inherited.shm_size = Some("abc".into())),
            Err(Error::Tuning(_))
        ));
        assert!(matches!(
            with(&|o| o.inherited.sysctls = vec!["foo".into()]),
            Err(Error::Tuning(_))
        ));
    }
}
