//! The parts of `CreateRequest` for the smaller flags of `run` and
//! `create` (issue #13): labels and annotations, what the engine does
//! around the container's process, and the process's tuning.

use std::path::PathBuf;

/// The container's labels and annotations, as given.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct MetadataRequest {
    /// `--label KEY[=VALUE]`, in order.
    pub labels: Vec<String>,
    /// `--label-file`s, read in order before `labels`.
    pub label_files: Vec<PathBuf>,
    /// `--annotation KEY=VALUE`, in order.
    pub annotations: Vec<String>,
}

/// What the engine does around the container's process (#13).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ManageRequest {
    /// `--cidfile`: write the new container's id here; it must not exist.
    pub cidfile: Option<PathBuf>,
    /// `--pidfile`: write the container's pid here at every start.
    pub pidfile: Option<PathBuf>,
    /// `--conmon-pidfile`: write the monitor's pid here at every start.
    pub monitor_pidfile: Option<PathBuf>,
    /// `--replace`: remove a container of the same name first.
    pub replace: bool,
    /// `--rmi`: after a foreground run, remove the image (unless another
    /// container uses it).
    pub remove_image: bool,
    /// `--timeout`: seconds the container may run.
    pub timeout: Option<u64>,
    /// `--stop-signal`: instead of the image's StopSignal.
    pub stop_signal: Option<String>,
    /// `--stop-timeout`: seconds `stop` waits by default.
    pub stop_timeout: Option<u64>,
    /// `--sig-proxy`: pass the signals the foreground hutch gets on
    /// (`None`: true).
    pub sig_proxy: Option<bool>,
    /// `--requires`: containers started before this one, by name or id.
    pub requires: Vec<String>,
    /// `--pod-id-file`: the pod to join, by the id in this file.
    pub pod_id_file: Option<PathBuf>,
    /// `--init-ctr`: always or once, for an init container of its pod.
    pub init_ctr: Option<String>,
}

/// `--umask`, `--tz`, `--shm-size` and `--sysctl`, as given (#13).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct TuningRequest {
    /// `--umask` (octal).
    pub umask: Option<String>,
    /// `--tz`: `local` or a zone name.
    pub timezone: Option<String>,
    /// `--shm-size`.
    pub shm_size: Option<String>,
    /// `--sysctl KEY=VALUE`, in order.
    pub sysctls: Vec<String>,
    /// `--personality`: LINUX or LINUX32.
    pub personality: Option<String>,
    /// `--image-volume`: bind (the default), tmpfs or ignore.
    pub image_volume: Option<String>,
    /// `--memory-swappiness` (-1: the system's).
    pub memory_swappiness: Option<i64>,
    /// `--preserve-fds N` (`run` only).
    pub preserve_fds: u32,
    /// `-a`: the streams attached in the foreground (all when empty).
    pub attach: Vec<String>,
    /// `--chrootdirs`.
    pub chroot_dirs: Vec<String>,
    /// `--uts`, `--pid`, `--ipc`, `--cgroupns`.
    pub namespaces: crate::runtime::tuning::NamespaceModes,
    /// `--seccomp-policy`: default, or image (the image's label).
    pub seccomp_policy: Option<String>,
    /// `--systemd`: true (the default: when the command is init or
    /// systemd), false or always.
    pub systemd: Option<String>,
    /// `--sdnotify`: container (the default), conmon or ignore.
    pub sdnotify: Option<String>,
    /// `--init-path`: the init binary `--init` runs instead of hutch's own.
    pub init_path: Option<PathBuf>,
    /// `--subuidname` and `--subgidname`: whose /etc/subuid and
    /// /etc/subgid ranges map the container.
    pub subid_names: (Option<String>, Option<String>),
}
