//! Resource limits: parsing the run flags and turning them into cgroup v2
//! interface files. Pure: no I/O except `stat` of a device for io limits.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Error;

/// The default CFS period, in microseconds, as Docker and Podman use.
pub const DEFAULT_CPU_PERIOD: u64 = 100_000;

/// What the user asked the flags for, as typed; `Resources::parse` checks it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Request {
    pub memory: Option<String>,
    pub memory_reservation: Option<String>,
    pub memory_swap: Option<String>,
    pub cpus: Option<String>,
    pub cpu_shares: Option<u64>,
    pub cpu_weight: Option<u64>,
    pub cpu_quota: Option<i64>,
    pub cpu_period: Option<u64>,
    pub cpuset_cpus: Option<String>,
    pub cpuset_mems: Option<String>,
    pub pids_limit: Option<i64>,
    pub blkio_weight: Option<u64>,
    pub device_read_bps: Vec<String>,
    pub device_write_bps: Vec<String>,
    pub device_read_iops: Vec<String>,
    pub device_write_iops: Vec<String>,
    pub oom_kill_disable: bool,
    /// `--blkio-weight-device DEVICE:WEIGHT` entries.
    pub blkio_weight_device: Vec<String>,
    /// `--cpu-rt-period`: checked, then without effect (cgroup v2 has no
    /// realtime CPU time settings).
    pub cpu_rt_period: Option<u64>,
    /// `--cpu-rt-runtime`: likewise.
    pub cpu_rt_runtime: Option<i64>,
    /// `--cgroup-conf KEY=VALUE` entries.
    pub cgroup_conf: Vec<String>,
}

/// Checked limits. Every field is a cgroup v2 value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// memory.max in bytes.
    pub memory_max: Option<u64>,
    /// memory.low in bytes.
    pub memory_low: Option<u64>,
    /// memory.swap.max: bytes, or None for "max" when set.
    pub swap_max: Option<SwapLimit>,
    /// cpu.max: quota (None = max) and period.
    pub cpu_max: Option<(Option<u64>, u64)>,
    /// cpu.weight, 1..=10000.
    pub cpu_weight: Option<u64>,
    /// cpuset.cpus.
    pub cpuset_cpus: Option<String>,
    /// cpuset.mems.
    pub cpuset_mems: Option<String>,
    /// pids.max (None inside = "max").
    pub pids_max: Option<PidsLimit>,
    /// io.weight, 1..=10000.
    pub io_weight: Option<u64>,
    /// io.max lines: "MAJ:MIN key=value".
    pub io_max: Vec<String>,
    /// --oom-kill-disable was asked for; cgroup v2 has no such switch.
    pub oom_kill_disable: bool,
    /// Per-device weights (`--blkio-weight-device`), one per device.
    pub weight_devices: Vec<WeightDevice>,
    /// `--cgroup-conf`: interface files of the container's cgroup and the
    /// values written to them as given, after every other limit.
    pub unified: BTreeMap<String, String>,
}

/// One `--blkio-weight-device` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightDevice {
    /// The device node as given (what `inspect` shows).
    pub path: String,
    pub major: u64,
    pub minor: u64,
    /// On the blkio scale, 10 to 1000; 0 drops the device's own weight.
    pub weight: u64,
}

impl WeightDevice {
    /// The line for `io.bfq.weight`, whose scale is blkio's.
    pub fn bfq_line(&self) -> String {
        match self.weight {
            0 => format!("{}:{} default", self.major, self.minor),
            w => format!("{}:{} {w}", self.major, self.minor),
        }
    }

    /// The line for `io.weight` (blk-iocost), on its 1 to 10000 scale.
    pub fn io_weight_line(&self) -> String {
        match self.weight {
            0 => format!("{}:{} default", self.major, self.minor),
            w => format!("{}:{} {}", self.major, self.minor, blkio_to_io_weight(w)),
        }
    }
}

/// The controllers whose interface files `--cgroup-conf` may write: not
/// `cgroup.*`, whose files (processes, freezing, subtree controllers) are
/// hutch's own to manage.
pub const CONF_CONTROLLERS: [&str; 8] = [
    "cpu", "cpuset", "hugetlb", "io", "memory", "misc", "pids", "rdma",
];

/// A memory.swap.max value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SwapLimit {
    Bytes(u64),
    Unlimited,
}

/// A pids.max value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PidsLimit {
    Max(u64),
    Unlimited,
}

impl Request {
    /// Whether no limit flag was given.
    pub fn is_empty(&self) -> bool {
        *self == Request::default()
    }
}

impl Resources {
    /// Checks `req`; `stat_device` gives a device node's (major, minor).
    pub fn parse(
        req: &Request,
        stat_device: &dyn Fn(&str) -> Option<(u64, u64)>,
    ) -> Result<Resources, Error> {
        let mut r = parse_memory(req)?;
        parse_cpu(req, &mut r)?;
        parse_cpu_weight(req, &mut r)?;
        r.cpuset_cpus = req
            .cpuset_cpus
            .as_deref()
            .map(|s| cpu_list("--cpuset-cpus", s))
            .transpose()?;
        r.cpuset_mems = req
            .cpuset_mems
            .as_deref()
            .map(|s| cpu_list("--cpuset-mems", s))
            .transpose()?;
        r.pids_max = match req.pids_limit {
            None => None,
            Some(n) if n <= 0 => Some(PidsLimit::Unlimited),
            Some(n) => Some(PidsLimit::Max(n as u64)),
        };
        if let Some(w) = req.blkio_weight {
            if !(10..=1000).contains(&w) {
                return Err(Error::Flag {
                    flag: "--blkio-weight",
                    value: w.to_string(),
                    why: "use 10 to 1000".into(),
                });
            }
            r.io_weight = Some(blkio_to_io_weight(w));
        }
        r.io_max = parse_io_max(req, stat_device)?;
        r.oom_kill_disable = req.oom_kill_disable;
        r.weight_devices = parse_weight_devices(&req.blkio_weight_device, stat_device)?;
        r.unified = parse_cgroup_conf(&req.cgroup_conf)?;
        Ok(r)
    }

    /// Whether any limit was asked for.
    pub fn is_empty(&self) -> bool {
        *self == Resources::default()
    }

    /// The controllers these limits need.
    pub fn controllers(&self) -> Vec<&'static str> {
        let mut c = Vec::new();
        if self.memory_max.is_some() || self.memory_low.is_some() || self.swap_max.is_some() {
            c.push("memory");
        }
        if self.cpu_max.is_some() || self.cpu_weight.is_some() {
            c.push("cpu");
        }
        if self.cpuset_cpus.is_some() || self.cpuset_mems.is_some() {
            c.push("cpuset");
        }
        if self.pids_max.is_some() {
            c.push("pids");
        }
        if self.io_weight.is_some() || !self.io_max.is_empty() || !self.weight_devices.is_empty() {
            c.push("io");
        }
        for key in self.unified.keys() {
            let wanted = key.split('.').next().unwrap_or_default();
            if let Some(name) = CONF_CONTROLLERS.iter().find(|n| **n == wanted) {
                if !c.contains(name) {
                    c.push(name);
                }
            }
        }
        c
    }

    /// The interface files and values to write, in a working order.
    pub fn files(&self) -> Vec<(&'static str, String)> {
        let mut f = Vec::new();
        if let Some(v) = self.memory_low {
            f.push(("memory.low", v.to_string()));
        }
        if let Some(v) = self.memory_max {
            f.push(("memory.max", v.to_string()));
        }
        match self.swap_max {
            Some(SwapLimit::Bytes(v)) => f.push(("memory.swap.max", v.to_string())),
            Some(SwapLimit::Unlimited) => f.push(("memory.swap.max", "max".into())),
            None => {}
        }
        if let Some((quota, period)) = self.cpu_max {
            let q = quota.map_or("max".to_string(), |q| q.to_string());
            f.push(("cpu.max", format!("{q} {period}")));
        }
        if let Some(w) = self.cpu_weight {
            f.push(("cpu.weight", w.to_string()));
        }
        if let Some(v) = &self.cpuset_cpus {
            f.push(("cpuset.cpus", v.clone()));
        }
        if let Some(v) = &self.cpuset_mems {
            f.push(("cpuset.mems", v.clone()));
        }
        match self.pids_max {
            Some(PidsLimit::Max(n)) => f.push(("pids.max", n.to_string())),
            Some(PidsLimit::Unlimited) => f.push(("pids.max", "max".into())),
            None => {}
        }
        if let Some(w) = self.io_weight {
            f.push(("io.weight", format!("default {w}")));
        }
        for line in &self.io_max {
            f.push(("io.max", line.clone()));
        }
        f
    }

    /// `self` with the limits of `newer` laid over it (for `update`).
    pub fn merged(&self, newer: &Resources) -> Resources {
        Resources {
            memory_max: newer.memory_max.or(self.memory_max),
            memory_low: newer.memory_low.or(self.memory_low),
            swap_max: newer.swap_max.or(self.swap_max),
            cpu_max: newer.cpu_max.or(self.cpu_max),
            cpu_weight: newer.cpu_weight.or(self.cpu_weight),
            cpuset_cpus: newer
                .cpuset_cpus
                .clone()
                .or_else(|| self.cpuset_cpus.clone()),
            cpuset_mems: newer
                .cpuset_mems
                .clone()
                .or_else(|| self.cpuset_mems.clone()),
            pids_max: newer.pids_max.or(self.pids_max),
            io_weight: newer.io_weight.or(self.io_weight),
            io_max: if newer.io_max.is_empty() {
                self.io_max.clone()
            } else {
                newer.io_max.clone()
            },
            oom_kill_disable: newer.oom_kill_disable || self.oom_kill_disable,
            weight_devices: {
                // The kernel keeps one weight per device: a newer one
                // replaces that device's, the others stay.
                let mut all: Vec<WeightDevice> = self
                    .weight_devices
                    .iter()
                    .filter(|d| {
                        !newer
                            .weight_devices
                            .iter()
                            .any(|n| (n.major, n.minor) == (d.major, d.minor))
                    })
                    .cloned()
                    .collect();
                all.extend(newer.weight_devices.iter().cloned());
                all
            },
            unified: {
                let mut all = self.unified.clone();
                all.extend(newer.unified.clone());
                all
            },
        }
    }
}

/// The blkio weight range 10..=1000 onto io.weight's 1..=10000.
fn blkio_to_io_weight(w: u64) -> u64 {
    1 + (w.clamp(10, 1000) - 10) * 9999 / 990
}

/// The `--blkio-weight-device` entries: `DEVICE:WEIGHT`, a block device
/// under /dev and a weight of 10 to 1000 (0: the default), as Podman
/// reads them; a later entry for a device replaces an earlier one.
fn parse_weight_devices(
    specs: &[String],
    stat_device: &dyn Fn(&str) -> Option<(u64, u64)>,
) -> Result<Vec<WeightDevice>, Error> {
    let bad = |spec: &str, why: &str| Error::Flag {
        flag: "--blkio-weight-device",
        value: spec.to_string(),
        why: why.to_string(),
    };
    let mut out: Vec<WeightDevice> = Vec::new();
    for spec in specs {
        let (path, weight) = spec
            .split_once(':')
            .ok_or_else(|| bad(spec, "use DEVICE:WEIGHT, for example /dev/sda:200"))?;
        if !path.starts_with("/dev/") {
            return Err(bad(spec, "the device is a path under /dev"));
        }
        let weight: u64 = weight
            .parse()
            .ok()
            .filter(|w| *w == 0 || (10..=1000).contains(w))
            .ok_or_else(|| bad(spec, "use a weight of 10 to 1000, or 0 for the default"))?;
        let (major, minor) =
            stat_device(path).ok_or_else(|| bad(spec, &format!("{path} is not a block device")))?;
        out.retain(|d| (d.major, d.minor) != (major, minor));
        out.push(WeightDevice {
            path: path.to_string(),
            major,
            minor,
            weight,
        });
    }
    Ok(out)
}

/// The `--cgroup-conf` entries: `KEY=VALUE`, KEY a plain interface file
/// name of a controller (`memory.high`), never a path; a later value for
/// a key replaces an earlier one.
fn parse_cgroup_conf(entries: &[String]) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for entry in entries {
        let bad = |why: String| Error::Flag {
            flag: "--cgroup-conf",
            value: entry.clone(),
            why,
        };
        let (key, value) = entry
            .split_once('=')
            .ok_or_else(|| bad("use KEY=VALUE, for example memory.high=1073741824".into()))?;
        let is_plain = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        let (controller, file) = key.split_once('.').unwrap_or((key, ""));
        if !is_plain || file.is_empty() || !CONF_CONTROLLERS.contains(&controller) {
            return Err(bad(format!(
                "KEY names an interface file of a controller: {}",
                CONF_CONTROLLERS.join(", ")
            )));
        }
        out.insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

/// Checks a `--device-cgroup-rule` as Podman reads it: `TYPE MAJOR:MINOR
/// ACCESS`, TYPE `a`, `b` or `c`, each number or `*`, ACCESS of `rwm`.
pub fn check_device_rule(rule: &str) -> Result<(), Error> {
    let bad = |why: &str| Error::Flag {
        flag: "--device-cgroup-rule",
        value: rule.to_string(),
        why: why.to_string(),
    };
    let parts: Vec<&str> = rule.split(' ').collect();
    let [kind, numbers, access] = parts[..] else {
        return Err(bad("use TYPE MAJOR:MINOR ACCESS, for example 'c 1:3 rwm'"));
    };
    if !matches!(kind, "a" | "b" | "c") {
        return Err(bad("the type is a (all), b (block) or c (character)"));
    }
    let mut ends = numbers.splitn(2, ':');
    let is_number = |s: Option<&str>| s.is_none_or(|s| s == "*" || s.parse::<u64>().is_ok());
    if !is_number(ends.next()) || !is_number(ends.next()) {
        return Err(bad("the major and minor numbers are numbers or *"));
    }
    if !access.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
        return Err(bad(
            "the access is made of r (read), w (write) and m (mknod)",
        ));
    }
    Ok(())
}

/// `--memory`, `--memory-reservation` and `--memory-swap`.
fn parse_memory(req: &Request) -> Result<Resources, Error> {
    let mut r = Resources {
        memory_max: limit_size("--memory", req.memory.as_deref())?,
        memory_low: limit_size("--memory-reservation", req.memory_reservation.as_deref())?,
        ..Resources::default()
    };
    // 0 asks for no swap limit, as in Podman.
    let swap = req.memory_swap.as_ref().filter(|s| !is_zero(s));
    if let Some(swap) = swap {
        r.swap_max = Some(if swap == "-1" {
            SwapLimit::Unlimited
        } else {
            let total = size("--memory-swap", swap)?;
            let Some(mem) = r.memory_max else {
                return Err(Error::Flag {
                    flag: "--memory-swap",
                    value: swap.clone(),
                    why: "it needs --memory: it is memory plus swap".into(),
                });
            };
            if total < mem {
                return Err(Error::Flag {
                    flag: "--memory-swap",
                    value: swap.clone(),
                    why: "it is memory plus swap, so it must be at least --memory".into(),
                });
            }
            SwapLimit::Bytes(total - mem)
        });
    }
    Ok(r)
}

/// `--cpus`, or `--cpu-quota` and `--cpu-period`, into `cpu.max`.
fn parse_cpu(req: &Request, r: &mut Resources) -> Result<(), Error> {
    let period = req.cpu_period.unwrap_or(DEFAULT_CPU_PERIOD);
    if !(1000..=1_000_000).contains(&period) {
        return Err(Error::Flag {
            flag: "--cpu-period",
            value: period.to_string(),
            why: "use 1000 to 1000000 microseconds".into(),
        });
    }
    if let Some(cpus) = &req.cpus {
        if req.cpu_quota.is_some() {
            return Err(Error::Flag {
                flag: "--cpus",
                value: cpus.clone(),
                why: "it conflicts with --cpu-quota; use one of them".into(),
            });
        }
        let n: f64 = cpus
            .parse()
            .ok()
            .filter(|n: &f64| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| Error::Flag {
                flag: "--cpus",
                value: cpus.clone(),
                why: "use a number of CPUs such as 0.5 or 2".into(),
            })?;
        if n > 0.0 {
            let quota = (n * period as f64).round() as u64;
            r.cpu_max = Some((Some(quota.max(1000)), period));
        }
    } else if let Some(q) = req.cpu_quota {
        r.cpu_max = Some(match q {
            q if q < 0 => (None, period),
            q if q < 1000 => {
                return Err(Error::Flag {
                    flag: "--cpu-quota",
                    value: q.to_string(),
                    why: "use at least 1000 microseconds, or -1 for no limit".into(),
                })
            }
            q => (Some(q as u64), period),
        });
    } else if req.cpu_period.is_some() {
        r.cpu_max = Some((None, period));
    }
    Ok(())
}

/// `--cpu-shares` or `--cpu-weight`, into `cpu.weight`.
fn parse_cpu_weight(req: &Request, r: &mut Resources) -> Result<(), Error> {
    // --cpu-shares 0 is the default weight, as in Podman.
    match (req.cpu_shares.filter(|&s| s > 0), req.cpu_weight) {
        (Some(_), Some(_)) => {
            return Err(Error::Flag {
                flag: "--cpu-weight",
                value: String::new(),
                why: "it conflicts with --cpu-shares; use one of them".into(),
            })
        }
        (Some(shares), None) => r.cpu_weight = Some(shares_to_weight(shares)),
        (None, Some(w)) if (1..=10_000).contains(&w) => r.cpu_weight = Some(w),
        (None, Some(w)) => {
            return Err(Error::Flag {
                flag: "--cpu-weight",
                value: w.to_string(),
                why: "use 1 to 10000".into(),
            })
        }
        (None, None) => {}
    }
    Ok(())
}

/// The `--device-{read,write}-{bps,iops}` entries, as `io.max` lines.
fn parse_io_max(
    req: &Request,
    stat_device: &dyn Fn(&str) -> Option<(u64, u64)>,
) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for (flag, key, list, is_bytes) in [
        ("--device-read-bps", "rbps", &req.device_read_bps, true),
        ("--device-write-bps", "wbps", &req.device_write_bps, true),
        ("--device-read-iops", "riops", &req.device_read_iops, false),
        (
            "--device-write-iops",
            "wiops",
            &req.device_write_iops,
            false,
        ),
    ] {
        for spec in list {
            let (path, rate) = spec.rsplit_once(':').ok_or_else(|| Error::Flag {
                flag,
                value: spec.clone(),
                why: "use DEVICE:RATE, for example /dev/sda:1mb".into(),
            })?;
            let rate = if is_bytes {
                size(flag, rate)?
            } else {
                rate.parse().map_err(|_| Error::Flag {
                    flag,
                    value: spec.clone(),
                    why: "the rate is a number of operations per second".into(),
                })?
            };
            let (major, minor) = stat_device(path).ok_or_else(|| Error::Flag {
                flag,
                value: spec.clone(),
                why: format!("{path} is not a block device"),
            })?;
            out.push(format!("{major}:{minor} {key}={rate}"));
        }
    }
    Ok(out)
}

/// cgroup v1 cpu.shares (2..=262144, default 1024) onto cgroup v2
/// cpu.weight (1..=10000, default 100), the conversion runtimes agree on.
pub fn shares_to_weight(shares: u64) -> u64 {
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// A memory limit flag's size: `None` when not given or 0, which Podman
/// reads as no limit.
fn limit_size(flag: &'static str, s: Option<&str>) -> Result<Option<u64>, Error> {
    match s {
        Some(s) if !is_zero(s) => size(flag, s).map(Some),
        _ => Ok(None),
    }
}

/// Whether a size is 0 (`0`, `0m`, `0.0g`).
fn is_zero(s: &str) -> bool {
    let t = s.trim().to_ascii_lowercase();
    let t = t.trim_end_matches("ib").trim_end_matches('b');
    let number = t.strip_suffix(['k', 'm', 'g', 't']).unwrap_or(t);
    number.parse::<f64>() == Ok(0.0)
}

/// Parses a size such as `32m`, `1g`, `512k`, `1048576` or `2GiB` (binary
/// units, as Docker reads them).
pub fn size(flag: &'static str, s: &str) -> Result<u64, Error> {
    let bad = || Error::Flag {
        flag,
        value: s.to_string(),
        why: "use a size such as 512k, 32m or 1g".into(),
    };
    let t = s.trim().to_ascii_lowercase();
    let digits = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(bad()),
    };
    let v = (n * mult as f64) as u64;
    if v == 0 {
        return Err(bad());
    }
    Ok(v)
}

/// Checks a cpuset list such as `0-2,4`.
fn cpu_list(flag: &'static str, s: &str) -> Result<String, Error> {
    let ok = !s.is_empty()
        && s.split(',').all(|part| {
            let mut ends = part.splitn(2, '-');
            let a = ends.next().and_then(|x| x.parse::<u32>().ok());
            match (a, ends.next()) {
                (Some(_), None) => true,
                (Some(a), Some(b)) => b.parse::<u32>().is_ok_and(|b| b >= a),
                _ => false,
            }
        });
    if ok {
        Ok(s.to_string())
    } else {
        Err(Error::Flag {
            flag,
            value: s.to_string(),
            why: "use a list such as 0-2,4".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(req: Request) -> Result<Resources, Error> {
        Resources::parse(&req, &|p| (p == "/dev/vda").then_some((254, 0)))
    }

    #[test]
    fn sizes_use_binary_units() {
        assert_eq!(size("--memory", "32m").unwrap(), 33_554_432);
        assert_eq!(size("--memory", "1g").unwrap(), 1 << 30);
        assert_eq!(size("--memory", "2GiB").unwrap(), 2 << 30);
        assert_eq!(size("--memory", "512k").unwrap(), 524_288);
        assert_eq!(size("--memory", "4096").unwrap(), 4096);
        for bad in ["", "m", "12q", "0", "-1m"] {
            assert!(size("--memory", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_cpu_and_pids_become_files() {
        let r = parse(Request {
            memory: Some("32m".into()),
            memory_swap: Some("64m".into()),
            cpus: Some("0.5".into()),
            pids_limit: Some(20),
            ..Request::default()
        })
        .unwrap();
        let files = r.files();
        assert!(files.contains(&("memory.max", "33554432".into())));
        assert!(files.contains(&("memory.swap.max", "33554432".into())));
        assert!(files.contains(&("cpu.max", "50000 100000".into())));
        assert!(files.contains(&("pids.max", "20".into())));
        assert_eq!(r.controllers(), ["memory", "cpu", "pids"]);
        assert!(!r.is_empty());
        assert!(parse(Request::default()).unwrap().is_empty());
    }

    #[test]
    fn cpu_flags_convert_and_conflict() {
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        let r = parse(Request {
            cpu_quota: Some(20_000),
            cpu_period: Some(50_000),
            ..Request::default()
        })
        .unwrap();
        assert_eq!(r.cpu_max, Some((Some(20_000), 50_000)));
        assert!(parse(Request {
            cpus: Some("1".into()),
            cpu_quota: Some(1000),
            ..Request::default()
        })
        .is_err());
        assert!(parse(Request {
            cpus: Some("lots".into()),
            ..Request::default()
        })
        .is_err());
        assert!(parse(Request {
            cpu_weight: Some(0),
            ..Request::default()
        })
        .is_err());
    }

    #[test]
    fn swap_needs_memory_and_io_needs_a_device() {
        assert!(parse(Request {
            memory_swap: Some("1g".into()),
            ..Request::default()
        })
        .is_err());
        let r = parse(Request {
            device_read_bps: vec!["/dev/vda:1mb".into()],
            device_write_iops: vec!["/dev/vda:100".into()],
            blkio_weight: Some(500),
            ..Request::default()
        })
        .unwrap();
        assert_eq!(r.io_max, ["254:0 rbps=1048576", "254:0 wiops=100"]);
        assert_eq!(r.io_weight, Some(4950));
        assert!(parse(Request {
            device_read_bps: vec!["/dev/nothing:1mb".into()],
            ..Request::default()
        })
        .is_err());
    }

    #[test]
    fn cpusets_are_checked_and_update_merges() {
        assert!(cpu_list("--cpuset-cpus", "0-2,4").is_ok());
        assert!(cpu_list("--cpuset-cpus", "2-1").is_err());
        assert!(cpu_list("--cpuset-cpus", "a").is_err());
        let old = parse(Request {
            memory: Some("32m".into()),
            pids_limit: Some(5),
            ..Request::default()
        })
        .unwrap();
        let new = parse(Request {
            memory: Some("64m".into()),
            ..Request::default()
        })
        .unwrap();
        let m = old.merged(&new);
        assert_eq!(m.memory_max, Some(64 << 20));
        assert_eq!(m.pids_max, Some(PidsLimit::Max(5)));
    }

    #[test]
    fn zero_memory_and_shares_mean_no_limit() {
        let req = Request {
            memory: Some("0".into()),
            memory_reservation: Some("0m".into()),
            memory_swap: Some("0".into()),
            cpu_shares: Some(0),
            ..Request::default()
        };
        let r = parse_memory(&req).unwrap();
        assert_eq!(
            (r.memory_max, r.memory_low, r.swap_max.is_none()),
            (None, None, true)
        );
        let mut r = Resources::default();
        parse_cpu_weight(&req, &mut r).unwrap();
        assert_eq!(r.cpu_weight, None);
        assert!(limit_size("--memory", Some("0x")).is_err());
    }

    #[test]
    fn weight_devices_are_checked_and_written_on_each_scale() {
        let r = parse(Request {
            blkio_weight_device: vec!["/dev/vda:500".into(), "/dev/vda:1000".into()],
            ..Request::default()
        })
        .unwrap();
        assert_eq!(
            r.weight_devices.len(),
            1,
            "a later entry replaces the device's"
        );
        let d = &r.weight_devices[0];
        assert_eq!(
            (d.path.as_str(), d.major, d.minor, d.weight),
            ("/dev/vda", 254, 0, 1000)
        );
        assert_eq!(d.bfq_line(), "254:0 1000");
        assert_eq!(d.io_weight_line(), "254:0 10000");
        assert_eq!(r.controllers(), ["io"]);
        let reset = parse(Request {
            blkio_weight_device: vec!["/dev/vda:0".into()],
            ..Request::default()
        })
        .unwrap();
        assert_eq!(reset.weight_devices[0].io_weight_line(), "254:0 default");
        assert_eq!(reset.weight_devices[0].bfq_line(), "254:0 default");
        for bad in [
            "vda",
            "sda:100",
            "/dev/vda:5",
            "/dev/vda:1001",
            "/dev/vda:x",
            "/dev/nothing:100",
        ] {
            let e = parse(Request {
                blkio_weight_device: vec![bad.into()],
                ..Request::default()
            });
            assert!(e.is_err(), "{bad}");
        }
    }

    #[test]
    fn cgroup_conf_takes_plain_file_names_of_controllers() {
        let r = parse(Request {
            cgroup_conf: vec![
                "memory.high=1000000".into(),
                "pids.max=9".into(),
                "memory.high=2000000".into(),
                "io.weight=default 50".into(),
            ],
            ..Request::default()
        })
        .unwrap();
        assert_eq!(r.unified["memory.high"], "2000000");
        assert_eq!(r.unified["io.weight"], "default 50");
        assert_eq!(r.controllers(), ["io", "memory", "pids"]);
        for bad in [
            "memory.high",
            "=1",
            "../memory.max=1",
            "memory.max/x=1",
            "cgroup.procs=1",
            "cgroup.subtree_control=+cpu",
            "foo.bar=1",
            "memory=1",
            "memory.=1",
            ".memory=1",
        ] {
            let e = parse(Request {
                cgroup_conf: vec![bad.into()],
                ..Request::default()
            });
            assert!(e.is_err(), "{bad}");
        }
    }

    #[test]
    fn device_rules_follow_podman_syntax() {
        for good in ["c 1:3 rwm", "a *:* m", "b 8:* r", "c 1 w", "c 1:3 "] {
            assert!(check_device_rule(good).is_ok(), "{good}");
        }
        for bad in [
            "bad",
            "c 1:3",
            "x 1:3 rwm",
            "c a:3 rwm",
            "c 1:b rwm",
            "c 1:3 rwx",
            "c  1:3 rwm",
        ] {
            assert!(check_device_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn update_merges_weight_devices_and_cgroup_conf() {
        let dev = |minor, weight| WeightDevice {
            path: format!("/dev/d{minor}"),
            major: 8,
            minor,
            weight,
        };
        let old = Resources {
            weight_devices: vec![dev(0, 100), dev(16, 200)],
            unified: [("memory.high".to_string(), "1".to_string())].into(),
            ..Resources::default()
        };
        let new = Resources {
            weight_devices: vec![dev(16, 300)],
            unified: [("pids.max".to_string(), "5".to_string())].into(),
            ..Resources::default()
        };
        let m = old.merged(&new);
        assert_eq!(m.weight_devices, [dev(0, 100), dev(16, 300)]);
        assert_eq!(m.unified.len(), 2);
        assert!(Request::default().is_empty());
        assert!(!Request {
            cpu_rt_period: Some(1000),
            ..Request::default()
        }
        .is_empty());
    }
}
