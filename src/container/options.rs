//! The smaller flags of `run` and `create` (#13) that the engine checks
//! before anything is created: `--umask`, `--tz`, `--shm-size`,
//! `--personality`, `--memory-swappiness`, `--image-volume`,
//! `--pod-id-file`, the users of `--passwd` and `--hostuser`, and what
//! `--systemd`, `--init-path`, `--sdnotify` and `--seccomp-policy` change
//! in the plan.

use std::borrow::Cow;
use std::path::Path;

use super::create::{CreateRequest, Progress, TuningRequest};
use super::passwd::{self, PasswdRequest};
use super::volumes::{self, Mount};
use super::Error;
use crate::runtime::identity::ExtraUser;
use crate::runtime::seccomp::Source;
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
    check_modes(req)?;
    check_subid_names(&req.subid_names)?;
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
    check_swappiness(req.memory_swappiness, progress)?;
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

/// Checks `--memory-swappiness` (`run`, `create`, `update`, `container
/// clone`) and tells `progress` that it has no effect: cgroup v2 has no
/// per-cgroup swappiness. -1, the system's, asks for nothing.
pub fn check_swappiness(value: Option<i64>, progress: &dyn Progress) -> Result<(), Error> {
    if let Some(s) = value.filter(|&s| s != -1) {
        tuning::check_swappiness(s).map_err(Error::Tuning)?;
        progress.warn("--memory-swappiness has no effect: cgroup v2 has no per-cgroup swappiness");
    }
    Ok(())
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

/// The commands whose containers `--systemd=true` runs in systemd mode,
/// as Podman lists them (and any whose name is `systemd`).
const SYSTEMD_COMMANDS: [&str; 3] = ["/sbin/init", "/usr/sbin/init", "/usr/local/sbin/init"];

/// The tmpfs mounts of systemd mode, as Podman makes them.
const SYSTEMD_TMPFS: [&str; 4] = ["/run", "/run/lock", "/tmp", "/var/log/journal"];

/// Where `--init-path`'s binary and `--sdnotify=container`'s socket
/// appear in the container, as in Podman.
const INIT_TARGET: &str = "/run/podman-init";
const NOTIFY_TARGET: &str = "/run/notify/notify.sock";
const NOTIFY_TARGET_DIR: &str = "/run/notify";

/// The label an image's own seccomp profile is in (`--seccomp-policy=image`).
const SECCOMP_LABEL: &str = "io.containers.seccomp.profile";

/// Checks the values of `--seccomp-policy`, `--systemd` and `--sdnotify`.
fn check_modes(req: &TuningRequest) -> Result<(), Error> {
    let bad = |flag: &'static str, value: &str, allowed: &'static str| Error::FlagValue {
        flag,
        value: value.to_string(),
        allowed,
    };
    match req.seccomp_policy.as_deref() {
        None | Some("default" | "image") => {}
        Some(v) => return Err(bad("--seccomp-policy", v, "default, image")),
    }
    match req.systemd.as_deref() {
        None | Some("true" | "false" | "always") => {}
        Some(v) => return Err(bad("--systemd", v, "true, false, always")),
    }
    match req.sdnotify.as_deref() {
        None | Some("container" | "conmon" | "healthy" | "ignore") => Ok(()),
        Some(v) => Err(bad("--sdnotify", v, "container, conmon, healthy, ignore")),
    }
}

/// Checks `--subuidname` and `--subgidname`: newuidmap and newgidmap map
/// only the ranges /etc/subuid and /etc/subgid list for the caller's own
/// name or uid, which are the maps every container gets; another name's
/// ranges are refused with that reason (Podman fails on them in
/// newuidmap).
pub(super) fn check_subid_names(names: &(Option<String>, Option<String>)) -> Result<(), Error> {
    let uid = nix::unistd::Uid::current();
    let own_name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name);
    for (flag, name) in [("--subuidname", &names.0), ("--subgidname", &names.1)] {
        let Some(name) = name else { continue };
        if Some(name) != own_name.as_ref() && *name != uid.to_string() {
            return Err(Error::SubidName {
                flag,
                name: name.clone(),
            });
        }
    }
    Ok(())
}

/// Whether `args` run in systemd mode under `--systemd` `mode`.
fn is_systemd_mode(mode: Option<&str>, args: &[String]) -> bool {
    match mode {
        Some("always") => true,
        Some("false") => false,
        _ => {
            // A shell started as `/bin/sh -c CMD` (build's form) counts CMD.
            let cmd = match args {
                [sh, c, rest @ ..] if sh == "/bin/sh" && c == "-c" && !rest.is_empty() => rest,
                _ => args,
            };
            cmd.first().is_some_and(|c| {
                SYSTEMD_COMMANDS.contains(&c.as_str())
                    || Path::new(c).file_name().is_some_and(|n| n == "systemd")
            })
        }
    }
}

impl super::Engine {
    /// The steps of creation that need the plan's process: the image's
    /// VOLUMEs as `--image-volume` says (returned, with the user's mounts
    /// and those added here), systemd mode's tmpfs mounts, `--init-path`,
    /// `--sdnotify=container`'s socket and `--seccomp-policy=image`.
    pub(super) fn finish_plan(
        &self,
        req: &CreateRequest,
        config: &crate::image::RuntimeConfig,
        plan: &mut super::Plan,
        own: Vec<Mount>,
    ) -> Result<(Vec<String>, Vec<Mount>), Error> {
        let t = &req.tuning;
        let (image_volumes, mut own) = image_volumes(t, &config.volumes, own)?;
        let vol_err = |e| Error::Volumes(Box::new(e));
        let add = |m: Mount, own: &mut Vec<Mount>| {
            if !own.iter().any(|o| o.destination == m.destination) {
                own.push(m);
            }
        };
        if is_systemd_mode(t.systemd.as_deref(), &plan.args) {
            for dest in SYSTEMD_TMPFS {
                add(volumes::parse_tmpfs(dest).map_err(vol_err)?, &mut own);
            }
        }
        if let Some(path) = t.init_path.as_ref().filter(|_| plan.hardening.init) {
            let spec = format!("{}:{INIT_TARGET}:ro", path.display());
            add(volumes::parse_volume(&spec).map_err(vol_err)?, &mut own);
            plan.hardening.init = false;
            let args = std::mem::take(&mut plan.args);
            plan.args = [INIT_TARGET.to_string(), "--".to_string()]
                .into_iter()
                .chain(args)
                .collect();
        }
        match t.sdnotify.as_deref() {
            Some("conmon") => plan.manage.is_ready_sent = true,
            Some("healthy") => plan.manage.is_ready_when_healthy = true,
            Some("ignore") => {}
            _ => {
                // Under systemd: the container gets the monitor's relay
                // socket (see `notify`), its directory bound in.
                if std::env::var_os("NOTIFY_SOCKET").is_some() {
                    let runroot = self.runroot()?;
                    let dir = super::notify::prepare_dir(runroot, &plan.id).map_err(|source| {
                        Error::NotifyDir {
                            path: super::notify::socket_dir(runroot, &plan.id),
                            source,
                        }
                    })?;
                    let spec = format!("{}:{NOTIFY_TARGET_DIR}", dir.display());
                    add(volumes::parse_volume(&spec).map_err(vol_err)?, &mut own);
                    plan.env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
                    plan.env.push(format!("NOTIFY_SOCKET={NOTIFY_TARGET}"));
                    plan.manage.is_notify_relayed = true;
                }
            }
        }
        if t.seccomp_policy.as_deref() == Some("image")
            && plan.security.seccomp.source == Source::Default
        {
            let json = config
                .labels
                .get(SECCOMP_LABEL)
                .ok_or(Error::NoImageSeccomp)?;
            plan.security.seccomp.source = Source::Inline {
                path: format!("the image's {SECCOMP_LABEL} label").into(),
                json: json.clone(),
            };
            let caps = plan.security.caps;
            crate::runtime::seccomp::resolve(&mut plan.security.seccomp, caps, self.runroot()?)?;
        }
        Ok((image_volumes, own))
    }

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

/// Reads the `--env-file`s: their non-empty lines that are not comments.
pub fn read_env_files(files: &[std::path::PathBuf]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).map_err(|source| Error::ReadEnvFile {
            path: f.clone(),
            source,
        })?;
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    Ok(out)
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
    fn systemd_mode_is_podmans() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(is_systemd_mode(None, &s(&["/sbin/init"])));
        assert!(is_systemd_mode(
            Some("true"),
            &s(&["/usr/lib/systemd/systemd", "--x"])
        ));
        assert!(is_systemd_mode(
            None,
            &s(&["/bin/sh", "-c", "/usr/sbin/init"])
        ));
        assert!(!is_systemd_mode(None, &s(&["sh"])));
        assert!(!is_systemd_mode(Some("false"), &s(&["/sbin/init"])));
        assert!(is_systemd_mode(Some("always"), &s(&["sh"])));
        let bad = TuningRequest {
            systemd: Some("maybe".into()),
            ..TuningRequest::default()
        };
        assert!(matches!(check_modes(&bad), Err(Error::FlagValue { .. })));
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
