//! The process hardening flags of `run` and `create`: `--ulimit`,
//! `--oom-score-adj` and `--init` (and `--pids-limit` without a cgroup).

use clap::Args;

use crate::error::Error;
use crate::runtime::hardening::{self, Hardening, HardeningRequest};

/// The hardening flags of `run` and `create`.
#[derive(Debug, Args)]
pub struct HardeningArgs {
    /// Set a resource limit: TYPE=SOFT[:HARD] (nofile, nproc, core, stack…; -1 or unlimited for none)
    #[arg(long, value_name = "TYPE=SOFT[:HARD]")]
    pub ulimit: Vec<String>,
    /// Adjust the container's OOM score (-1000 to 1000; rootless may only raise it)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub oom_score_adj: Option<i32>,
    /// Run a minimal init as pid 1 that forwards signals and reaps zombies
    #[arg(long)]
    pub init: bool,
}

/// Checks the hardening flags against this process's limits and plans
/// them; `pids_limit` is `--pids-limit` when no cgroup can take it (see
/// `ResourceArgs::plan`), applied as RLIMIT_NPROC.
pub fn plan_hardening(args: &HardeningArgs, pids_limit: Option<i64>) -> Result<Hardening, Error> {
    let req = HardeningRequest {
        ulimit: args.ulimit.clone(),
        pids_limit: pids_limit.map(|n| n.to_string()),
        oom_score_adj: args.oom_score_adj,
        init: args.init,
    };
    let current_oom = hardening::current_oom_score_adj(std::path::Path::new("/proc"));
    hardening::plan_hardening(&req, &hardening::current_hard_limit, current_oom)
        .map_err(|e| Error::Usage(e.to_string()))
}
