//! A pod's cgroup: the parent of its members' cgroups, holding the limits
//! of `pod create` (as Podman's pod cgroup does). Under the systemd
//! manager it is a transient slice whose limits are the slice's systemd
//! properties (systemd rewrites a slice's interface files from its
//! properties whenever a new unit enters it, so files written directly
//! would not stay); under cgroupfs it is a directory beside the
//! containers' own, with the limits written into it. The first member to
//! start makes it, every member makes sure it is there, and `pod rm`
//! removes it.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::resources::{PidsLimit, SwapLimit};
use super::{io_err, Error, Resources};

/// The cgroup of a container's pod, which the container goes under.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodCgroup {
    /// The pod's id: its slice is `hutch_pod_ID.slice`, its directory
    /// `hutch-pod-ID`.
    pub id: String,
    /// `pod create --cgroup-parent`: a slice for systemd, a cgroup path for
    /// cgroupfs.
    pub parent: Option<String>,
    /// The pod's limits.
    pub resources: Resources,
}

impl PodCgroup {
    /// The systemd slice of the pod: a slice's place in the tree is in its
    /// name, so under `--cgroup-parent` `a-b.slice` it is
    /// `a-b-hutch_pod_ID.slice`.
    pub fn slice(&self) -> Result<String, Error> {
        let own = format!("hutch_pod_{}.slice", self.id);
        match self.parent.as_deref() {
            None | Some("-.slice") => Ok(own),
            Some(p) => match p.strip_suffix(".slice") {
                Some(stem) if !stem.is_empty() && !stem.contains('/') => Ok(format!("{stem}-{own}")),
                _ => Err(Error::Flag {
                    flag: "--cgroup-parent",
                    value: p.to_string(),
                    why: "the systemd cgroup manager puts a pod under a slice: use a name such as user.slice, or --cgroup-manager=cgroupfs".into(),
                }),
            },
        }
    }

    /// The pod's cgroupfs directory below `base`.
    pub fn directory(&self, base: &Path) -> PathBuf {
        base.join(format!("hutch-pod-{}", self.id))
    }
}

/// One systemd property of a pod's slice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Property {
    /// A number (`t`); `u64::MAX` is systemd's infinity.
    Number(u64),
    /// A CPU or memory node mask (`ay`), bit N for CPU N.
    Mask(Vec<u8>),
    /// Per-device values (`a(st)`): a device path and a number.
    Devices(Vec<(String, u64)>),
}

/// The systemd properties that give a slice `r`'s limits: what systemd
/// writes into the interface files `Resources::files` names.
pub fn properties(r: &Resources) -> Vec<(&'static str, Property)> {
    use Property::Number;
    let mut out = Vec::new();
    if let Some(v) = r.memory_low {
        out.push(("MemoryLow", Number(v)));
    }
    if let Some(v) = r.memory_max {
        out.push(("MemoryMax", Number(v)));
    }
    match r.swap_max {
        Some(SwapLimit::Bytes(v)) => out.push(("MemorySwapMax", Number(v))),
        Some(SwapLimit::Unlimited) => out.push(("MemorySwapMax", Number(u64::MAX))),
        None => {}
    }
    if let Some((quota, period)) = r.cpu_max {
        // systemd takes the quota as CPU time per second of wall time.
        let per_sec = quota.map_or(u64::MAX, |q| q * 1_000_000 / period);
        out.push(("CPUQuotaPerSecUSec", Number(per_sec)));
        out.push(("CPUQuotaPeriodUSec", Number(period)));
    }
    if let Some(w) = r.cpu_weight {
        out.push(("CPUWeight", Number(w)));
    }
    if let Some(list) = &r.cpuset_cpus {
        out.push(("AllowedCPUs", Property::Mask(mask(list))));
    }
    if let Some(list) = &r.cpuset_mems {
        out.push(("AllowedMemoryNodes", Property::Mask(mask(list))));
    }
    match r.pids_max {
        Some(PidsLimit::Max(n)) => out.push(("TasksMax", Number(n))),
        Some(PidsLimit::Unlimited) => out.push(("TasksMax", Number(u64::MAX))),
        None => {}
    }
    if let Some(w) = r.io_weight {
        out.push(("IOWeight", Number(w)));
    }
    for (key, name) in [
        ("rbps", "IOReadBandwidthMax"),
        ("wbps", "IOWriteBandwidthMax"),
        ("riops", "IOReadIOPSMax"),
        ("wiops", "IOWriteIOPSMax"),
    ] {
        let devices: Vec<(String, u64)> = r
            .io_max
            .iter()
            .filter_map(|line| {
                let (device, setting) = line.split_once(' ')?;
                let (k, v) = setting.split_once('=')?;
                // systemd resolves the device from a path; the kernel's
                // /dev/block links name every block device by number.
                (k == key).then(|| Some((format!("/dev/block/{device}"), v.parse().ok()?)))?
            })
            .collect();
        if !devices.is_empty() {
            out.push((name, Property::Devices(devices)));
        }
    }
    out
}

/// A cpuset list (`0-2,4`, checked by `Resources::parse`) as systemd's
/// bit mask: byte N holds CPUs 8N to 8N+7, lowest bit first.
fn mask(list: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = Vec::new();
    for part in list.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) else {
            continue;
        };
        for cpu in a..=b {
            if bytes.len() <= cpu / 8 {
                bytes.resize(cpu / 8 + 1, 0);
            }
            bytes[cpu / 8] |= 1 << (cpu % 8);
        }
    }
    bytes
}

/// Makes the pod's cgroupfs directory below `base` (if missing) with the
/// pod's limits, the controllers they and the members need enabled above
/// it. Returns the directory, the members' parent.
pub(super) fn make_directory(base: &Path, pod: &PodCgroup) -> Result<PathBuf, Error> {
    let dir = pod.directory(base);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("creating the pod's cgroup", &dir)(e)),
    }
    super::place::enable_controllers(base, &pod.resources.controllers())?;
    super::place::enable_delegated(base);
    super::place::write_limits(&dir, &pod.resources)?;
    Ok(dir)
}

/// Removes the pod's cgroupfs directory below `base`, if it is there and
/// empty (a member still running keeps it).
pub(super) fn remove_directory(base: &Path, pod: &PodCgroup) -> Result<(), Error> {
    let dir = pod.directory(base);
    match std::fs::remove_dir(&dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("removing the pod's cgroup", &dir)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(parent: Option<&str>) -> PodCgroup {
        PodCgroup {
            id: "abc".into(),
            parent: parent.map(str::to_string),
            resources: Resources::default(),
        }
    }

    #[test]
    fn the_slice_of_a_pod_is_named_below_its_parent() {
        assert_eq!(pod(None).slice().unwrap(), "hutch_pod_abc.slice");
        assert_eq!(pod(Some("-.slice")).slice().unwrap(), "hutch_pod_abc.slice");
        assert_eq!(
            pod(Some("user.slice")).slice().unwrap(),
            "user-hutch_pod_abc.slice"
        );
        assert_eq!(
            pod(Some("a-b.slice")).slice().unwrap(),
            "a-b-hutch_pod_abc.slice"
        );
        for bad in ["/foo", "foo", ".slice", "a/b.slice"] {
            assert!(
                matches!(pod(Some(bad)).slice(), Err(Error::Flag { .. })),
                "{bad}"
            );
        }
        assert_eq!(
            pod(None).directory(Path::new("/sys/fs/cgroup/x")),
            Path::new("/sys/fs/cgroup/x/hutch-pod-abc")
        );
    }

    #[test]
    fn limits_become_the_slice_properties_systemd_writes_as_the_files() {
        let r = Resources {
            memory_max: Some(64 << 20),
            swap_max: Some(SwapLimit::Bytes(32 << 20)),
            cpu_max: Some((Some(150_000), 100_000)),
            cpu_weight: Some(20),
            cpuset_cpus: Some("0-2,9".into()),
            pids_max: Some(PidsLimit::Unlimited),
            io_weight: Some(500),
            io_max: vec!["254:0 rbps=1048576".into(), "254:0 wiops=100".into()],
            ..Resources::default()
        };
        use Property::*;
        assert_eq!(
            properties(&r),
            [
                ("MemoryMax", Number(64 << 20)),
                ("MemorySwapMax", Number(32 << 20)),
                ("CPUQuotaPerSecUSec", Number(1_500_000)),
                ("CPUQuotaPeriodUSec", Number(100_000)),
                ("CPUWeight", Number(20)),
                ("AllowedCPUs", Mask(vec![0b0000_0111, 0b0000_0010])),
                ("TasksMax", Number(u64::MAX)),
                ("IOWeight", Number(500)),
                (
                    "IOReadBandwidthMax",
                    Devices(vec![("/dev/block/254:0".into(), 1_048_576)])
                ),
                (
                    "IOWriteIOPSMax",
                    Devices(vec![("/dev/block/254:0".into(), 100)])
                ),
            ]
        );
        let no_quota = Resources {
            cpu_max: Some((None, 50_000)),
            ..Resources::default()
        };
        assert_eq!(
            properties(&no_quota)[0],
            ("CPUQuotaPerSecUSec", Number(u64::MAX))
        );
        assert!(properties(&Resources::default()).is_empty());
    }

    #[test]
    fn pod_directories_carry_the_limits() {
        let base = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join("cgroup.controllers"), "memory pids\n").unwrap();
        std::fs::write(base.path().join("cgroup.subtree_control"), "").unwrap();
        let p = PodCgroup {
            resources: Resources {
                memory_max: Some(1 << 20),
                ..Resources::default()
            },
            ..pod(None)
        };
        // The kernel makes a cgroup's interface files with it; here the
        // test does, as limits are written to existing files only.
        let made = base.path().join("hutch-pod-abc");
        std::fs::create_dir(&made).unwrap();
        std::fs::write(made.join("memory.max"), "max").unwrap();
        let dir = make_directory(base.path(), &p).unwrap();
        assert_eq!(dir, made);
        assert_eq!(
            std::fs::read_to_string(dir.join("memory.max")).unwrap(),
            "1048576"
        );
        // Made again by the next member: the directory is there already.
        make_directory(base.path(), &p).unwrap();
        std::fs::remove_file(dir.join("memory.max")).unwrap();
        remove_directory(base.path(), &p).unwrap();
        assert!(!dir.exists());
        remove_directory(base.path(), &p).unwrap();
    }
}
