//! `image trust`: reading and editing the signature policy that every pull
//! obeys (`image::policy`). Nothing here prints.

use std::path::PathBuf;

use super::{Engine, Error};
use crate::image::policy::{self, Policy};

/// What `image trust show` reports.
#[derive(Debug, Clone)]
pub struct Trust {
    /// The policy in force; `None` when neither the user's nor the
    /// system's file exists (every pull is then allowed).
    pub policy: Option<Policy>,
    /// The file's bytes as read, for `--raw`.
    pub raw: Vec<u8>,
}

impl Engine {
    /// The policy in force: the user's file, else the system's.
    pub fn trust(&self) -> Result<Trust, Error> {
        let candidates = self.paths().policy_candidates();
        let policy = Policy::load(&candidates).map_err(policy_error)?;
        let raw = match &policy {
            Some(p) => std::fs::read(&p.path).map_err(|source| {
                policy_error(policy::Error::Read {
                    path: p.path.clone(),
                    source,
                })
            })?,
            None => Vec::new(),
        };
        Ok(Trust { policy, raw })
    }

    /// Sets `scope`'s requirement (`default` for the default) to `kind`
    /// with `keys`, in the user's policy file, which starts as a copy of
    /// the policy in force (or one accepting anything) when it does not
    /// exist yet. Concurrent edits are serialised by a lock beside the
    /// file. Returns the file written.
    pub fn set_trust(&self, scope: &str, kind: &str, keys: &[PathBuf]) -> Result<PathBuf, Error> {
        let target = self.paths().user_policy();
        let dir = target.parent().unwrap_or(std::path::Path::new("/"));
        let io = |source| {
            policy_error(policy::Error::Write {
                path: target.clone(),
                source,
            })
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let _guard = crate::storage::lock_exclusive(&dir.join(".policy.json.lock")).map_err(io)?;
        let candidates = self.paths().policy_candidates();
        let mut p = match Policy::load(&candidates).map_err(policy_error)? {
            Some(p) => p,
            None => Policy::parse(
                &target,
                br#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
            )
            .map_err(policy_error)?,
        };
        p.set(scope, kind, keys).map_err(policy_error)?;
        p.write_to(&target).map_err(policy_error)?;
        Ok(target)
    }
}

fn policy_error(e: policy::Error) -> Error {
    Error::from(crate::image::Error::Policy(e))
}
