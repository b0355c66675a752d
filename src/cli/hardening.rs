//! The process hardening flags of `run` and `create`: `--ulimit`,
//! `--oom-score-adj` and `--init` (and `--pids-limit` without a cgroup).

use clap::Args;

use crate::container::HardeningRequest;

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

impl HardeningArgs {
    /// The engine's request for these flags (`--pids-limit` is a limit
    /// flag; the engine moves it here where no cgroup takes it).
    pub fn request(&self) -> HardeningRequest {
        HardeningRequest {
            ulimit: self.ulimit.clone(),
            pids_limit: None,
            oom_score_adj: self.oom_score_adj,
            init: self.init,
        }
    }
}
