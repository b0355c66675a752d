//! `hutch container clone`: a copy of a container, made the way its
//! original was created, with another name, image, pod or limits.

use clap::Args;

use super::StderrReporter;
use crate::container::{CloneRequest, Engine, LimitsRequest};
use crate::error::Error;

#[derive(Debug, Args)]
pub struct CloneArgs {
    /// The container to copy
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The copy's name (default: CONTAINER-clone, then CONTAINER-clone1, …)
    #[arg(value_name = "NAME")]
    pub new_name: Option<String>,
    /// Another image for the copy
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,
    /// The copy's name (NAME, when given, wins)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Remove the original once the copy exists
    #[arg(long)]
    pub destroy: bool,
    /// With --destroy, remove a running original too
    #[arg(short, long)]
    pub force: bool,
    /// Start the copy
    #[arg(long)]
    pub run: bool,
    /// Put the copy in this pod
    #[arg(long, value_name = "POD")]
    pub pod: Option<String>,
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
    /// Block IO weight, 10 to 1000
    #[arg(long, value_name = "WEIGHT")]
    pub blkio_weight: Option<u64>,
    /// Read rate limit of a device (DEVICE:RATE, for example /dev/sda:1mb)
    #[arg(long, value_name = "DEVICE:RATE")]
    pub device_read_bps: Vec<String>,
    /// Write rate limit of a device (DEVICE:RATE)
    #[arg(long, value_name = "DEVICE:RATE")]
    pub device_write_bps: Vec<String>,
    /// Block IO weight of one device (DEVICE:WEIGHT, 10 to 1000, 0 for the default; repeatable)
    #[arg(long, value_name = "DEVICE:WEIGHT")]
    pub blkio_weight_device: Vec<String>,
    /// CPU realtime period in microseconds (accepted; cgroup v2 has no realtime CPU time settings)
    #[arg(long, value_name = "MICROSECONDS")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds (accepted; cgroup v2 has no realtime CPU time settings)
    #[arg(long, value_name = "MICROSECONDS", allow_negative_numbers = true)]
    pub cpu_rt_runtime: Option<i64>,
    /// Memory swappiness, 0 to 100 or -1 (accepted; cgroup v2 has no such setting)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub memory_swappiness: Option<i64>,
}

/// Clones the container and prints the copy's id.
pub fn run(engine: &Engine, args: CloneArgs) -> Result<i32, Error> {
    let req = CloneRequest {
        container: args.container,
        name: args.new_name.or(args.name),
        image: args.image,
        pod: args.pod,
        limits: LimitsRequest {
            memory: args.memory,
            memory_reservation: args.memory_reservation,
            memory_swap: args.memory_swap,
            cpus: args.cpus,
            cpu_shares: args.cpu_shares,
            cpu_quota: args.cpu_quota,
            cpu_period: args.cpu_period,
            cpuset_cpus: args.cpuset_cpus,
            cpuset_mems: args.cpuset_mems,
            blkio_weight: args.blkio_weight,
            device_read_bps: args.device_read_bps,
            device_write_bps: args.device_write_bps,
            blkio_weight_device: args.blkio_weight_device,
            cpu_rt_period: args.cpu_rt_period,
            cpu_rt_runtime: args.cpu_rt_runtime,
            ..LimitsRequest::default()
        },
        memory_swappiness: args.memory_swappiness,
        destroy: args.destroy,
        force: args.force,
        run: args.run,
    };
    let id = engine.clone_container(&req, &StderrReporter { quiet: false })?;
    println!("{id}");
    Ok(0)
}
