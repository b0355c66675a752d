//! The smaller flags of `run` and `create` (#13) that the engine checks
//! before anything is created: `--umask`, `--tz`, `--shm-size`,
//! `--personality`, `--memory-swappiness`, `--image-volume`,
//! `--pod-id-file` and the users of `--passwd` and `--hostuser`.

use std::borrow::Cow;
use std::path::Path;

use super::create::{CreateRequest, Progress, TuningRequest};
use super::passwd::{self, PasswdRequest};
use super::volumes::{self, Mount};
use super::Error;
use crate::runtime::identity::ExtraUser;
use crate::runtime::tuning::{self, Tuning};

/// What `--image-volume` does with the image's VOLUMEs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImageVolumeMode {
    /// A new anonymous volume each (the default).
    Bind,
    /// A tmpfs each.
    Tmpfs,
    /// Nothing: the image's directories as they are.
    Ignore,
}

fn image_volume_mode(mode: Option<&str>) -> Result<ImageVolumeMode, Error> {
    match mode {
        None | Some("bind") => Ok(ImageVolumeMode::Bind),
        Some("tmpfs") => Ok(ImageVolumeMode::Tmpfs),
        Some("ignore") => Ok(ImageVolumeMode::Ignore),
        Some(other) => Err(Error::ImageVolumeMode(other.to_string())),
    }
}

/// Checks `--umask`, `--tz`, `--shm-size`, `--personality`,
/// `--memory-swappiness` and `--image-volume`; `--sysctl` waits for the
/// network plan. A swappiness has no effect (cgroup v2 has no such knob),
/// which `progress` is told.
pub fn check_tuning(create: &CreateRequest, progress: &dyn Progress) -> Result<Tuning, Error> {
    let req = &create.tuning;
    image_volume_mode(req.image_volume.as_deref())?;
    let tune = |e| Error::Tuning(e);
    let namespaces = tuning::plan_namespaces(&req.namespaces).map_err(tune)?;
    if namespaces.is_host_uts && create.process.hostname.is_some() {
        return Err(Error::HostnameWithHostUts);
    }
    let is_host_any = namespaces.is_host_uts || namespaces.is_host_pid || namespaces.is_host_ipc;
    if let Some(pod) = create.pod.as_ref().filter(|_| is_host_any) {
        return Err(Error::PodHostNamespace(pod.clone()));
    }
    if let Some(zone) = &req.timezone {
        tuning::zone_file(
            zone,
            Path::new(tuning::ZONEINFO),
            Path::new(tuning::HOST_LOCALTIME),
        )
        .map_err(tune)?;
    }
    if let Some(p) = &req.personality {
        tuning::personality_domain(p).map_err(tune)?;
    }
    if let Some(s) = req.memory_swappiness.filter(|&s| s != -1) {
        tuning::check_swappiness(s).map_err(tune)?;
        progress.warn("--memory-swappiness has no effect: cgroup v2 has no per-cgroup swappiness");
    }
    Ok(Tuning {
        umask: req
            .umask
            .as_deref()
            .map(tuning::parse_umask)
            .transpose()
            .map_err(tune)?,
        timezone: req.timezone.clone(),
        shm_size: req
            .shm_size
            .as_deref()
            .map(tuning::parse_shm_size)
            .transpose()
            .map_err(tune)?,
        sysctls: Vec::new(),
        personality: req.personality.clone(),
        preserve_fds: req.preserve_fds,
        drops: tuning::parse_attach(&req.attach).map_err(tune)?,
        chroot_dirs: req.chroot_dirs.clone(),
        namespaces,
    })
}

/// With `--uts=host`, the host's name: the container's host name, as in
/// Podman (for /etc/hostname and HOSTNAME).
pub fn host_name(tuning: &Tuning) -> Option<String> {
    if !tuning.namespaces.is_host_uts {
        return None;
    }
    nix::unistd::gethostname()
        .ok()
        .map(|n| n.to_string_lossy().into_owned())
}

/// The image's VOLUMEs as `--image-volume` wants them: anonymous volumes
/// (returned to be planned as ever), tmpfs mounts (added to `own`, unless
/// the user mounts something there), or nothing.
pub fn image_volumes(
    req: &TuningRequest,
    image: &[String],
    mut own: Vec<Mount>,
) -> Result<(Vec<String>, Vec<Mount>), Error> {
    match image_volume_mode(req.image_volume.as_deref())? {
        ImageVolumeMode::Bind => Ok((image.to_vec(), own)),
        ImageVolumeMode::Ignore => Ok((Vec::new(), own)),
        ImageVolumeMode::Tmpfs => {
            for dest in image {
                let m = volumes::parse_tmpfs(dest).map_err(|e| Error::Volumes(Box::new(e)))?;
                if !own.iter().any(|o| o.destination == m.destination) {
                    own.push(m);
                }
            }
            Ok((Vec::new(), own))
        }
    }
}

impl super::Engine {
    /// The users `--passwd`, `--passwd-entry` and `--hostuser` add to the
    /// container of `plan` (see `passwd::plan_users`), from the host's
    /// /etc/passwd.
    pub(super) fn extra_users(
        &self,
        req: &PasswdRequest,
        plan: &super::Plan,
    ) -> Result<Vec<ExtraUser>, Error> {
        let host = match req.hostusers.is_empty() {
            true => String::new(),
            false => std::fs::read_to_string(self.paths().etc().join("passwd"))
                .map_err(|source| Error::ReadHostPasswd { source })?,
        };
        passwd::plan_users(req, &plan.user, &plan.cwd, &host).map_err(Error::Passwd)
    }
}

/// `req` with the pod `--pod-id-file` names as its `--pod`; both at once
/// are refused, as in Podman.
pub fn with_pod_id(req: &CreateRequest) -> Result<Cow<'_, CreateRequest>, Error> {
    let Some(path) = &req.manage.pod_id_file else {
        return Ok(Cow::Borrowed(req));
    };
    if req.pod.is_some() {
        return Err(Error::PodAndPodIdFile);
    }
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadPodIdFile {
        path: path.clone(),
        source,
    })?;
    let mut owned = req.clone();
    owned.pod = Some(text.trim().to_string());
    Ok(Cow::Owned(owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_volumes_become_volumes_tmpfs_or_nothing() {
        let image = vec!["/data".to_string(), "/cache".to_string()];
        let own = vec![volumes::parse_tmpfs("/cache:size=1m").unwrap()];
        let req = |mode: &str| TuningRequest {
            image_volume: Some(mode.into()),
            ..TuningRequest::default()
        };
        let (vols, mounts) = image_volumes(&req("bind"), &image, own.clone()).unwrap();
        assert_eq!((vols, mounts.len()), (image.clone(), 1));
        let (vols, mounts) = image_volumes(&req("ignore"), &image, own.clone()).unwrap();
        assert_eq!((vols.len(), mounts.len()), (0, 1));
        let (vols, mounts) = image_volumes(&req("tmpfs"), &image, own).unwrap();
        assert!(vols.is_empty());
        let dests: Vec<&str> = mounts.iter().map(|m| m.destination.as_str()).collect();
        assert_eq!(dests, ["/cache", "/data"]);
        assert!(matches!(
            image_volumes(&req("nope"), &image, Vec::new()),
            Err(Error::ImageVolumeMode(_))
        ));
    }

    #[test]
    fn the_pod_id_file_names_the_pod_unless_pod_is_given_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pod.id");
        std::fs::write(&file, "abc123\n").unwrap();
        let mut req = CreateRequest::default();
        req.manage.pod_id_file = Some(file);
        assert_eq!(with_pod_id(&req).unwrap().pod.as_deref(), Some("abc123"));
        req.pod = Some("p".into());
        assert!(matches!(with_pod_id(&req), Err(Error::PodAndPodIdFile)));
        req.pod = None;
        req.manage.pod_id_file = Some(dir.path().join("missing"));
        assert!(matches!(
            with_pod_id(&req),
            Err(Error::ReadPodIdFile { .. })
        ));
    }
}
