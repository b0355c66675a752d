//! The resource-limit and cgroup flags of `run`, `create` and `update`.

use clap::Args;

use crate::container::{CgroupRequest, LimitsRequest};
use crate::error::Error;

/// Resource limits and cgroup placement.
#[derive(Debug, Args, Default)]
pub struct ResourceArgs {
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Write an interface file of the container's cgroup: KEY=VALUE, KEY a file of the cpu, cpuset, hugetlb, io, memory, misc, pids or rdma controller (repeatable; cgroup v2)
    #[arg(long, value_name = "KEY=VALUE")]
    pub cgroup_conf: Vec<String>,
    /// Device cgroup rule (TYPE MAJOR:MINOR ACCESS): checked, then without effect, as rootless containers have no device cgroup
    #[arg(long, value_name = "RULE")]
    pub device_cgroup_rule: Vec<String>,
    /// enabled (the default), or disabled to leave the container in hutch's cgroup without limits
    #[arg(long, value_name = "MODE")]
    pub cgroups: Option<String>,
    /// Slice (systemd) or cgroup path (cgroupfs) to put the container under
    #[arg(long, value_name = "PARENT")]
    pub cgroup_parent: Option<String>,
}

/// The limits themselves, shared with `update`.
#[derive(Debug, Args, Default)]
pub struct LimitArgs {
    /// Memory limit (for example 512m or 2g)
    #[arg(short = 'm', long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Memory soft limit (memory.low)
    #[arg(long, value_name = "SIZE")]
    pub memory_reservation: Option<String>,
    /// Memory plus swap limit; -1 for unlimited swap
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs (for example 0.5)
    #[arg(long, value_name = "NUMBER")]
    pub cpus: Option<String>,
    /// CPU shares, relative weight (cgroup v1 scale, 2 to 262144)
    #[arg(short = 'c', long, value_name = "SHARES")]
    pub cpu_shares: Option<u64>,
    /// CPU weight (cgroup v2 scale, 1 to 10000)
    #[arg(long, value_name = "WEIGHT")]
    pub cpu_weight: Option<u64>,
    /// CPU CFS quota in microseconds per period; -1 for none
    #[arg(long, value_name = "MICROSECONDS", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS period in microseconds
    #[arg(long, value_name = "MICROSECONDS")]
    pub cpu_period: Option<u64>,
    /// CPUs to run on (for example 0-2,4)
    #[arg(long, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes to use (for example 0)
    #[arg(long, value_name = "NODES")]
    pub cpuset_mems: Option<String>,
    /// Maximum number of processes; 0 or -1 for unlimited
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<String>,
    /// Block IO weight, 10 to 1000
    #[arg(long, value_name = "WEIGHT")]
    pub blkio_weight: Option<u64>,
    /// Read rate limit of a device (DEVICE:RATE, for example /dev/sda:1mb)
    #[arg(long, value_name = "DEVICE:RATE")]
    pub device_read_bps: Vec<String>,
    /// Write rate limit of a device (DEVICE:RATE)
    #[arg(long, value_name = "DEVICE:RATE")]
    pub device_write_bps: Vec<String>,
    /// Read operations per second limit of a device (DEVICE:RATE)
    #[arg(long, value_name = "DEVICE:RATE")]
    pub device_read_iops: Vec<String>,
    /// Write operations per second limit of a device (DEVICE:RATE)
    #[arg(long, value_name = "DEVICE:RATE")]
    pub device_write_iops: Vec<String>,
    /// Ask not to OOM-kill the container (cgroup v2 cannot; refused there)
    #[arg(long)]
    pub oom_kill_disable: bool,
    /// Block IO weight of one device (DEVICE:WEIGHT, 10 to 1000, 0 for the default; repeatable)
    #[arg(long, value_name = "DEVICE:WEIGHT")]
    pub blkio_weight_device: Vec<String>,
    /// CPU realtime period in microseconds (accepted; cgroup v2 has no realtime CPU time settings)
    #[arg(long, value_name = "MICROSECONDS")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds (accepted; cgroup v2 has no realtime CPU time settings)
    #[arg(long, value_name = "MICROSECONDS", allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
}

impl LimitArgs {
    /// `--pids-limit` as a number.
    pub fn pids_limit(&self) -> Result<Option<i64>, Error> {
        self.pids_limit
            .as_deref()
            .map(|s| {
                s.parse().map_err(|_| {
                    Error::Usage(format!(
                        "invalid --pids-limit {s:?}: use a positive number, or 0 or -1 for no limit"
                    ))
                })
            })
            .transpose()
    }

    /// The engine's request for the limit flags.
    pub fn request(&self) -> Result<LimitsRequest, Error> {
        Ok(LimitsRequest {
            memory: self.memory.clone(),
            memory_reservation: self.memory_reservation.clone(),
            memory_swap: self.memory_swap.clone(),
            cpus: self.cpus.clone(),
            cpu_shares: self.cpu_shares,
            cpu_weight: self.cpu_weight,
            cpu_quota: self.cpu_quota,
            cpu_period: self.cpu_period,
            cpuset_cpus: self.cpuset_cpus.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            pids_limit: self.pids_limit()?,
            blkio_weight: self.blkio_weight,
            device_read_bps: self.device_read_bps.clone(),
            device_write_bps: self.device_write_bps.clone(),
            device_read_iops: self.device_read_iops.clone(),
            device_write_iops: self.device_write_iops.clone(),
            oom_kill_disable: self.oom_kill_disable,
            blkio_weight_device: self.blkio_weight_device.clone(),
            cpu_rt_period: self.cpu_rt_period,
            cpu_rt_runtime: self.cpu_rt_runtime,
            cgroup_conf: Vec::new(),
        })
    }
}

impl ResourceArgs {
    /// The engine's request for the cgroup and limit flags.
    pub fn request(&self) -> Result<CgroupRequest, Error> {
        let mut limits = self.limits.request()?;
        limits.cgroup_conf.clone_from(&self.cgroup_conf);
        Ok(CgroupRequest {
            // The global --cgroup-manager, which the engine holds.
            manager: None,
            mode: self.cgroups.clone(),
            parent: self.cgroup_parent.clone(),
            limits,
            device_rules: self.device_cgroup_rule.clone(),
            ..CgroupRequest::default()
        })
    }
}
