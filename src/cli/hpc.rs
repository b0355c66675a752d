//! `--hpc` of `run` and `create` (issue #18): the settings a container
//! started by a cluster's launcher (`srun`, `mpirun`) needs, laid under
//! the explicit flags, which override each part.
//!
//! It only fills fields of the request the user left unset; the engine
//! does the rest as for the same flags given one by one.

use crate::container::CreateRequest;

/// The host's environment variables `--hpc` passes into the container,
/// by name prefix: Open MPI's launcher (`OMPI_*`), PMIx's rendezvous
/// (`PMIX_*`), PMI-1/2 (`PMI_*`) and the Slurm job and step (`SLURM_*`).
pub const HOST_ENV_PREFIXES: [&str; 4] = ["OMPI_", "PMIX_", "PMI_", "SLURM_"];

/// The shared temporary directory, bound into the container under `--hpc`:
/// MPI launchers keep their session directory, rendezvous files and
/// shared-memory backing files there.
const HOST_TMP: &str = "/tmp";

/// Lays `--hpc`'s settings under `req`: host network, IPC, PID and UTS
/// namespaces, the keep-id user namespace, no cgroup placement, the
/// launcher's variables and the host's `/tmp` (and `tmpdir` when it lies
/// outside `/tmp`), each only where no flag chose otherwise.
pub fn apply(req: &mut CreateRequest, tmpdir: Option<&std::path::Path>) {
    req.network.network.get_or_insert_with(|| "host".into());
    let ns = &mut req.tuning.namespaces;
    for mode in [&mut ns.ipc, &mut ns.pid, &mut ns.uts] {
        mode.get_or_insert_with(|| "host".into());
    }
    req.userns.mode.get_or_insert_with(|| "keep-id".into());
    req.cgroups.mode.get_or_insert_with(|| "disabled".into());
    req.process.env_options.host_prefixes = HOST_ENV_PREFIXES.map(String::from).to_vec();
    let mut dirs = vec![HOST_TMP.to_string()];
    if let Some(t) = tmpdir.filter(|t| t.is_absolute() && !t.starts_with(HOST_TMP)) {
        dirs.push(t.display().to_string());
    }
    for dir in dirs {
        if !is_mount_target(req, &dir) {
            req.mounts.volume.push(format!("{dir}:{dir}"));
        }
    }
}

/// Whether a `-v`, `--mount` or `--tmpfs` of the request already puts
/// something at `target`.
fn is_mount_target(req: &CreateRequest, target: &str) -> bool {
    let same = |p: &str| p.trim_end_matches('/') == target;
    let m = &req.mounts;
    m.volume
        .iter()
        .any(|v| v.split(':').nth(1).is_some_and(same))
        || m.tmpfs
            .iter()
            .any(|t| same(t.split(':').next().unwrap_or("")))
        || m.mount.iter().any(|o| {
            o.split(',').any(|kv| {
                kv.split_once('=')
                    .is_some_and(|(k, v)| matches!(k, "dst" | "target" | "destination") && same(v))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn hpc_fills_what_no_flag_chose() {
        let mut req = CreateRequest::default();
        apply(&mut req, Some(Path::new("/tmp/job")));
        assert_eq!(req.network.network.as_deref(), Some("host"));
        let ns = &req.tuning.namespaces;
        assert_eq!(
            (ns.ipc.as_deref(), ns.pid.as_deref(), ns.uts.as_deref()),
            (Some("host"), Some("host"), Some("host"))
        );
        assert_eq!(req.userns.mode.as_deref(), Some("keep-id"));
        assert_eq!(req.cgroups.mode.as_deref(), Some("disabled"));
        assert_eq!(req.mounts.volume, ["/tmp:/tmp"]);
        assert!(req
            .process
            .env_options
            .host_prefixes
            .contains(&"OMPI_".to_string()));
    }

    #[test]
    fn explicit_flags_override_hpc_parts() {
        let mut req = CreateRequest::default();
        req.network.network = Some("none".into());
        req.tuning.namespaces.pid = Some("private".into());
        req.userns.mode = Some("auto".into());
        req.cgroups.mode = Some("enabled".into());
        req.mounts.tmpfs = vec!["/tmp:size=1m".into()];
        apply(&mut req, Some(Path::new("/scratch/job1")));
        assert_eq!(req.network.network.as_deref(), Some("none"));
        assert_eq!(req.tuning.namespaces.pid.as_deref(), Some("private"));
        assert_eq!(req.tuning.namespaces.ipc.as_deref(), Some("host"));
        assert_eq!(req.userns.mode.as_deref(), Some("auto"));
        assert_eq!(req.cgroups.mode.as_deref(), Some("enabled"));
        // /tmp is the user's tmpfs; a TMPDIR outside /tmp is still bound.
        assert_eq!(req.mounts.volume, ["/scratch/job1:/scratch/job1"]);
        let mut req = CreateRequest::default();
        req.mounts.mount = vec!["type=bind,src=/x,dst=/tmp/".into()];
        apply(&mut req, None);
        assert!(req.mounts.volume.is_empty());
    }
}
