//! The flags of `run` and `create` that describe and manage the
//! container rather than its process (labels, annotations, id and pid
//! files, stop and timeouts) and that shape its environment (#13).
//! Flattened into `RunArgs`; the engine parses and checks them.

use std::path::PathBuf;

use clap::Args;

use crate::container::passwd::PasswdRequest;
use crate::container::NamespaceModes;
use crate::container::{CreateRequest, EnvOptions, ManageRequest, MetadataRequest, TuningRequest};
use crate::error::Error;

/// `--label`, `--label-file` and `--annotation`.
#[derive(Debug, Args)]
pub struct MetaArgs {
    /// Set a label on the container (KEY=VALUE, or KEY for an empty value; repeatable)
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Read labels from a file of KEY=VALUE lines (repeatable)
    #[arg(long, value_name = "FILE", value_delimiter = ',')]
    pub label_file: Vec<std::path::PathBuf>,
    /// Add an annotation to the container (KEY=VALUE; repeatable, or comma-separated)
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub annotation: Vec<String>,
}

impl MetaArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> MetadataRequest {
        let mut labels = self.label.clone();
        // As Podman does: the unit that runs `hutch run` (generate systemd
        // --new, Quadlet) is recorded, for `auto-update` to restart.
        if let Some(unit) = std::env::var_os(crate::paths::ENV_SYSTEMD_UNIT) {
            labels.push(format!(
                "{}={}",
                crate::paths::ENV_SYSTEMD_UNIT,
                unit.to_string_lossy()
            ));
        }
        MetadataRequest {
            labels,
            label_files: self.label_file.clone(),
            annotations: self.annotation.clone(),
        }
    }
}

/// `--cidfile`, `--pidfile`, `--conmon-pidfile` and the other flags about
/// managing the container.
#[derive(Debug, Args)]
pub struct ManageArgs {
    /// Write the container's id to FILE (which must not exist)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<PathBuf>,
    /// Write the container's pid to FILE at every start
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Write the pid of the container's monitor (what conmon is to Podman) to FILE at every start
    #[arg(long, value_name = "FILE")]
    pub conmon_pidfile: Option<PathBuf>,
    /// Remove a container of the same --name first (stopping it as stop does)
    #[arg(long)]
    pub replace: bool,
    /// Kill the container after SECONDS (0: never); its exit code is then -1 (255 in the foreground)
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Signal that stop sends first (default: the image's StopSignal, else SIGTERM)
    #[arg(long, value_name = "SIGNAL")]
    pub stop_signal: Option<String>,
    /// Seconds stop waits after the stop signal before SIGKILL, unless told (default 10)
    #[arg(long, value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
    /// Containers started before this one whenever it starts (repeatable, or comma-separated)
    #[arg(long, value_name = "CONTAINER", value_delimiter = ',')]
    pub requires: Vec<String>,
    /// Join the pod whose id FILE holds (as pod create --pod-id-file writes it)
    #[arg(long, value_name = "FILE")]
    pub pod_id_file: Option<PathBuf>,
}

/// The flags only `run` takes, not `create` (as in Podman 4.3).
#[derive(Debug, Args)]
pub struct RunOnlyArgs {
    /// After a foreground run, remove the image unless another container uses it
    #[arg(long)]
    pub rmi: bool,
    /// Pass the signals hutch receives on to the container (default true)
    #[arg(long, action = clap::ArgAction::SetTrue, default_value = "true")]
    pub sig_proxy: bool,
    /// Add an /etc/passwd entry (and /etc/group) for a numeric user the image lacks, as Podman does (default true)
    #[arg(long, action = clap::ArgAction::SetTrue, default_value = "true")]
    pub passwd: bool,
    /// Pass hutch's file descriptors 3 to 3+N-1 on to the container's process
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Keys that would detach from the container (checked; the foreground hutch is the container's monitor and stays)
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
}

impl RunOnlyArgs {
    /// Adds these flags to `create`'s request; `--detach-keys` is only
    /// checked.
    pub fn apply(&self, req: &mut CreateRequest) -> Result<(), Error> {
        if let Some(keys) = &self.detach_keys {
            crate::container::attach::parse_detach_keys(keys)
                .map_err(super::attach::from_attach)?;
        }
        req.manage.remove_image = self.rmi;
        req.manage.sig_proxy = Some(self.sig_proxy);
        req.process.passwd.is_added = Some(self.passwd);
        req.tuning.preserve_fds = self.preserve_fds;
        Ok(())
    }
}

impl ManageArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> ManageRequest {
        ManageRequest {
            cidfile: self.cidfile.clone(),
            pidfile: self.pidfile.clone(),
            monitor_pidfile: self.conmon_pidfile.clone(),
            replace: self.replace,
            remove_image: false,
            timeout: self.timeout,
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            sig_proxy: None,
            requires: self.requires.clone(),
            pod_id_file: self.pod_id_file.clone(),
            init_ctr: None,
        }
    }
}

/// The environment flags besides `-e` and `--env-file`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Do not set this variable from the image or the defaults (repeatable)
    #[arg(long, value_name = "NAME")]
    pub unsetenv: Vec<String>,
    /// Set none of the image's or the default variables (-e still applies)
    #[arg(long)]
    pub unsetenv_all: bool,
    /// Pass every variable of hutch's environment to the container (under -e)
    #[arg(long)]
    pub env_host: bool,
    /// Give a variable the image or the defaults set a new value, expanding $NAME in it (NAME=VALUE; repeatable)
    #[arg(long, value_name = "NAME=VALUE")]
    pub env_merge: Vec<String>,
    /// Pass hutch's proxy variables (http_proxy, https_proxy, ftp_proxy, no_proxy and their upper-case forms) to the container (default true)
    #[arg(long, action = clap::ArgAction::SetTrue, default_value = "true")]
    pub http_proxy: bool,
    /// Add this host user (name or uid) to the container's /etc/passwd (repeatable, or comma-separated)
    #[arg(long, value_name = "USER", value_delimiter = ',')]
    pub hostuser: Vec<String>,
    /// The /etc/passwd line added for a numeric user the image lacks ($USERNAME, $UID, $GID, $NAME and $HOME are replaced)
    #[arg(long, value_name = "ENTRY")]
    pub passwd_entry: Option<String>,
}

impl EnvArgs {
    /// The engine's options for these flags.
    pub fn options(&self) -> EnvOptions {
        EnvOptions {
            unset: self.unsetenv.clone(),
            is_unset_all: self.unsetenv_all,
            is_host: self.env_host,
            host_vars: Vec::new(),
            host_prefixes: Vec::new(),
            merge: self.env_merge.clone(),
            is_proxied: self.http_proxy,
        }
    }

    /// The engine's request for `--hostuser` and `--passwd-entry`
    /// (`run` adds `--passwd`).
    pub fn passwd(&self) -> PasswdRequest {
        PasswdRequest {
            is_added: None,
            entry: self.passwd_entry.clone(),
            hostusers: self.hostuser.clone(),
        }
    }
}

/// `--umask`, `--tz`, `--shm-size` and `--sysctl`.
#[derive(Debug, Args)]
pub struct TuningArgs {
    /// The container process's umask, in octal (default 0022)
    #[arg(long, value_name = "MASK")]
    pub umask: Option<String>,
    /// Time zone of the container: local (the host's) or a zone name such as Asia/Tokyo
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Size of /dev/shm: a number with unit b, k, m or g (default 64m; 0: no limit)
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Set a sysctl of the container's own namespaces: net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm* (KEY=VALUE; repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub sysctl: Vec<String>,
    /// Execution domain of the container's process: LINUX or LINUX32
    #[arg(long, value_name = "DOMAIN")]
    pub personality: Option<String>,
    /// What the image's VOLUMEs get: bind (a new volume each, the default), tmpfs or ignore
    #[arg(long, value_name = "MODE")]
    pub image_volume: Option<String>,
    /// Memory swappiness, 0 to 100 or -1 (accepted; cgroup v2 has no such setting)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub memory_swappiness: Option<i64>,
    /// Attach to these streams in the foreground: stdin, stdout, stderr (repeatable; default all)
    #[arg(short = 'a', long, value_name = "STREAM", value_delimiter = ',')]
    pub attach: Vec<String>,
    /// Also bind the container's /etc/hosts and /etc/resolv.conf beneath DIR/etc (a chroot inside it; repeatable)
    #[arg(long, value_name = "DIR", value_delimiter = ',')]
    pub chrootdirs: Vec<String>,
    /// UTS namespace: private (default) or host
    #[arg(long, value_name = "MODE")]
    pub uts: Option<String>,
    /// PID namespace: private (default) or host
    #[arg(long, value_name = "MODE")]
    pub pid: Option<String>,
    /// IPC namespace: private (default), shareable, none (no /dev/shm) or host
    #[arg(long, value_name = "MODE")]
    pub ipc: Option<String>,
    /// Cgroup namespace: private or host (default: private when the container has a cgroup of its own)
    #[arg(long, value_name = "MODE")]
    pub cgroupns: Option<String>,
    /// Where the seccomp profile comes from: default, or image (its io.containers.seccomp.profile label)
    #[arg(long, value_name = "POLICY")]
    pub seccomp_policy: Option<String>,
    /// Systemd mode (tmpfs on /run, /run/lock, /tmp, /var/log/journal): true (when the command is init or systemd, the default), false or always
    #[arg(long, value_name = "MODE")]
    pub systemd: Option<String>,
    /// Readiness notification: container (NOTIFY_SOCKET passed in, the default), conmon (sent once it runs), healthy (sent once a health check passes) or ignore
    #[arg(long, value_name = "MODE")]
    pub sdnotify: Option<String>,
    /// The init binary --init runs as the container's pid 1 instead of hutch's own
    #[arg(long, value_name = "PATH")]
    pub init_path: Option<PathBuf>,
    /// Map the container with the /etc/subuid ranges of NAME (your own name or uid: newuidmap allows no other)
    #[arg(long, value_name = "NAME")]
    pub subuidname: Option<String>,
    /// Map the container with the /etc/subgid ranges of NAME (your own name or uid: newgidmap allows no other)
    #[arg(long, value_name = "NAME")]
    pub subgidname: Option<String>,
}

impl TuningArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> TuningRequest {
        TuningRequest {
            umask: self.umask.clone(),
            timezone: self.tz.clone(),
            shm_size: self.shm_size.clone(),
            sysctls: self.sysctl.clone(),
            personality: self.personality.clone(),
            image_volume: self.image_volume.clone(),
            memory_swappiness: self.memory_swappiness,
            preserve_fds: 0,
            attach: self.attach.clone(),
            chroot_dirs: self.chrootdirs.clone(),
            namespaces: NamespaceModes {
                uts: self.uts.clone(),
                pid: self.pid.clone(),
                ipc: self.ipc.clone(),
                cgroup: self.cgroupns.clone(),
            },
            seccomp_policy: self.seccomp_policy.clone(),
            systemd: self.systemd.clone(),
            sdnotify: self.sdnotify.clone(),
            init_path: self.init_path.clone(),
            subid_names: (self.subuidname.clone(), self.subgidname.clone()),
        }
    }
}

/// `--arch`, `--os` and `--variant`: the platform `--platform` names, in
/// parts.
#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// Use the image for this architecture instead of the host's (amd64, arm64…)
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Use the image for this OS instead of the host's (linux)
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Use the image for this architecture variant (v7, v8…)
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Accepted and ignored, as in Podman (a Docker option)
    #[arg(long)]
    pub disable_content_trust: bool,
}

impl PlatformArgs {
    /// The platform (`os/arch[/variant]`) these flags and `--platform`
    /// name together, as Podman combines them: `--platform` excludes
    /// `--arch` and `--os`, and a missing part is the host's.
    pub fn platform(&self, platform: Option<&str>) -> Result<Option<String>, Error> {
        if let Some(p) = platform {
            if self.arch.is_some() || self.os.is_some() {
                return Err(Error::Usage(
                    "--platform option can not be specified with --arch or --os".into(),
                ));
            }
            return Ok(Some(match (&self.variant, p.matches('/').count()) {
                (Some(v), 1) => format!("{p}/{v}"),
                _ => p.to_string(),
            }));
        }
        if self.arch.is_none() && self.os.is_none() && self.variant.is_none() {
            return Ok(None);
        }
        let host = crate::image::Platform::host();
        let os = self.os.clone().unwrap_or(host.os);
        let arch = self.arch.clone().unwrap_or(host.architecture);
        Ok(Some(match &self.variant {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        }))
    }
}
