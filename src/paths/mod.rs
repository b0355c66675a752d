//! Environment variable names and default locations, defined once.
//!
//! Every path hutch uses by default is computed here; nothing else reads
//! `HOME` or `XDG_*` directly. This module also owns the run directory's
//! safety checks: a shared `/tmp` fallback is created private and verified,
//! never followed through a planted symlink. It must not print or know
//! about the store's layout.

mod jobdir;
mod localstore;
pub mod storageconf;

pub use localstore::{ensure_local_store, local_store_dir};

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Overrides the registries.conf path, as in Podman.
pub const ENV_REGISTRIES_CONF: &str = "CONTAINERS_REGISTRIES_CONF";
/// Overrides the store directory (same as `--root`).
pub const ENV_ROOT: &str = "HUTCH_ROOT";
/// The containers.conf that `system connection` edits, as in Podman.
pub const ENV_CONTAINERS_CONF: &str = "CONTAINERS_CONF";
/// Set by the units `generate systemd` writes (Podman's name): a hutch
/// started by one keeps its monitor in the unit's cgroup.
pub const ENV_SYSTEMD_UNIT: &str = "PODMAN_SYSTEMD_UNIT";
/// Overrides the run directory (same as `--runroot`).
pub const ENV_RUNROOT: &str = "HUTCH_RUNROOT";
/// How many seconds to wait for a store lock before giving up.
pub const ENV_LOCK_TIMEOUT: &str = "HUTCH_LOCK_TIMEOUT";
/// `fuse`: mount container roots with fuse-overlayfs without trying
/// kernel overlayfs first.
pub const ENV_OVERLAY: &str = "HUTCH_OVERLAY";
/// The session bus address D-Bus clients use.
pub const ENV_DBUS_SESSION_BUS_ADDRESS: &str = "DBUS_SESSION_BUS_ADDRESS";
/// The Slurm job a process belongs to (set by `srun`, `sbatch` and
/// `salloc` for every step): hutch then keeps its run directory per job
/// and never talks to a systemd user manager (issue #18).
pub const ENV_SLURM_JOB_ID: &str = "SLURM_JOB_ID";
/// The per-user runtime directory of the XDG base directory specification.
pub const ENV_XDG_RUNTIME_DIR: &str = "XDG_RUNTIME_DIR";
/// A file `system service` appends each request's method, path and query
/// to, one line each, to see what a client calls (issue #17).
pub const ENV_API_TRACE: &str = "HUTCH_API_TRACE";
/// The file name of `system service`'s default socket.
pub const API_SOCKET_NAME: &str = "hutch.sock";
/// The pid systemd's socket activation passed its sockets to (sd_listen_fds(3)).
pub const ENV_LISTEN_PID: &str = "LISTEN_PID";
/// How many sockets systemd's socket activation passed, from fd 3.
pub const ENV_LISTEN_FDS: &str = "LISTEN_FDS";
/// Overrides the registry credentials file, as in Podman.
pub const ENV_REGISTRY_AUTH_FILE: &str = "REGISTRY_AUTH_FILE";
/// The directory of Docker's `config.json`, as in Docker and Podman.
pub const ENV_DOCKER_CONFIG: &str = "DOCKER_CONFIG";
/// The temporary directory (Go's `os.TempDir`): Podman's runtime directory
/// goes there when there is no other.
pub const ENV_TMPDIR: &str = "TMPDIR";
/// The size in bytes at which the event log is rotated (Podman's
/// `events_logfile_max_size`); 0: never.
pub const ENV_EVENTS_LOGFILE_MAX_SIZE: &str = "HUTCH_EVENTS_LOGFILE_MAX_SIZE";
/// CDI spec directories, `:`-separated, replacing the default list
/// (as Podman's `--cdi-spec-dir` does); the last wins for a device.
pub const ENV_CDI_SPEC_DIRS: &str = "HUTCH_CDI_SPEC_DIRS";
/// The system's CDI spec directories, lowest precedence first.
const CDI_SYSTEM_DIRS: [&str; 2] = ["/etc/cdi", "/var/run/cdi"];
/// The socket of the systemd journal's native protocol (systemd-journald.service(8)).
pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// The syslog daemon's socket (`--syslog`).
pub const SYSLOG_SOCKET: &str = "/dev/log";

/// Where logind-style hosts keep per-user runtime directories.
const RUN_USER_BASE: &str = "/run/user";
/// The shared directory the last-resort run directory goes in. Fixed rather
/// than `TMPDIR` so that every hutch process of a user agrees on it.
const TMP_BASE: &str = "/tmp";
/// The name of hutch's directory inside a per-user runtime directory.
const RUNROOT_NAME: &str = "hutch";
/// Owner-only access, required of the run directory in the shared `/tmp`.
const PRIVATE_MODE: u32 = 0o700;
/// Podman's runtime directory below the temporary one: `podman-run-UID`.
const PODMAN_RUN_PREFIX: &str = "podman-run-";
/// Podman's last-resort runtime directory, below `HOME`.
const PODMAN_HOME_RUNDIR: &str = "rundir";
/// The credentials file below a runtime or config directory.
const AUTH_JSON: &str = "containers/auth.json";
/// Docker's credentials, below `HOME` (or `config.json` in `DOCKER_CONFIG`).
const DOCKER_CONFIG_JSON: &str = ".docker/config.json";
/// The file name in `DOCKER_CONFIG`.
const DOCKER_CONFIG_NAME: &str = "config.json";
/// Quadlet's directory below a configuration or runtime directory.
const QUADLET_SUBDIR: &str = "containers/systemd";
/// Docker's legacy credentials file, below `HOME`.
const DOCKER_LEGACY_CFG: &str = ".dockercfg";

/// What went wrong while preparing a default path.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("creating run directory {path}")]
    CreateRunRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("checking run directory {path}")]
    StatRunRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("run directory {path} is a symbolic link; refusing to follow it")]
    RunRootIsSymlink { path: PathBuf },
    #[error("run directory {path} is not a directory")]
    RunRootNotDir { path: PathBuf },
    #[error("run directory {path} belongs to uid {owner}, not to uid {uid}")]
    RunRootForeign { path: PathBuf, owner: u32, uid: u32 },
    #[error("run directory {path} has mode {mode:04o}, not 0700")]
    RunRootNotPrivate { path: PathBuf, mode: u32 },
    #[error("creating the node-local store {path}")]
    CreateLocalStore {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("node-local store {path} {why}")]
    LocalStoreUnsafe { path: PathBuf, why: String },
    #[error("locking the job's run directory {path}")]
    LockJobRunRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("making {path} private")]
    SecureRunRoot {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl crate::error::Diagnose for Error {
    /// An optional line telling the user what to do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::RunRootIsSymlink { path }
            | Error::RunRootNotDir { path }
            | Error::RunRootForeign { path, .. }
            | Error::RunRootNotPrivate { path, .. } => Some(format!(
                "something else holds {}: remove it if it is yours, or set {ENV_XDG_RUNTIME_DIR} or --runroot to a private directory",
                path.display()
            )),
            Error::LocalStoreUnsafe { path, .. } => Some(format!(
                "remove {} if it is yours, or choose the store with --root or {ENV_ROOT}",
                path.display()
            )),
            _ => None,
        }
    }
}

/// Where the store's location came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootSource {
    /// The `--root` option.
    Option,
    /// The `HUTCH_ROOT` environment variable.
    Env,
    /// containers-storage.conf's `graphroot` or `rootless_storage_path`
    /// (`hutch` below it).
    StorageConf,
    /// `$XDG_DATA_HOME/hutch`, the default.
    Default,
}

/// Where the run directory's location came from, as `info` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunRootSource {
    /// The `--runroot` option.
    Option,
    /// The `HUTCH_RUNROOT` environment variable.
    Env,
    /// containers-storage.conf's `runroot` (`hutch` below it).
    StorageConf,
    /// `$XDG_RUNTIME_DIR/hutch`.
    Xdg,
    /// `/run/user/UID/hutch`.
    RunUser,
    /// `/tmp/hutch-UID`, a private directory hutch creates itself.
    Tmp,
    /// `/tmp/hutch-UID/slurm-JOBID`: inside a Slurm job.
    SlurmJob,
}

impl RunRootSource {
    /// The short name `info` shows.
    pub fn as_str(self) -> &'static str {
        match self {
            RunRootSource::Option => "--runroot",
            RunRootSource::Env => ENV_RUNROOT,
            RunRootSource::StorageConf => "storage.conf",
            RunRootSource::Xdg => "xdg",
            RunRootSource::RunUser => "/run/user",
            RunRootSource::Tmp => "tmp",
            RunRootSource::SlurmJob => "slurm",
        }
    }
}

/// A credentials file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSource {
    /// Where it is.
    pub path: PathBuf,
    /// Docker's legacy `~/.dockercfg` layout: registries at the top level,
    /// without the `auths` object.
    pub is_legacy: bool,
}

impl AuthSource {
    fn new(path: PathBuf) -> AuthSource {
        AuthSource {
            path,
            is_legacy: false,
        }
    }
}

/// Where hutch keeps and reads its state.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The store: blobs, layers, containers and the metadata database.
    pub root: PathBuf,
    /// Where `root` came from.
    pub root_source: RootSource,
    /// Volatile per-boot state. Chosen but not yet created or verified:
    /// call [`Paths::ensure_runroot`] before putting anything in it.
    pub runroot: PathBuf,
    /// Where `runroot` came from.
    pub runroot_source: RunRootSource,
    /// The user's config directory (`~/.config`).
    pub config_home: PathBuf,
    /// The system configuration directory, `/etc`.
    pub etc: PathBuf,
    /// `--volumepath`: where the store's volumes are to be (recorded
    /// with the store; see `storage::Store::use_volume_path`).
    pub volume_path: Option<PathBuf>,
    /// `--network-cmd-path`: the slirp4netns binary containers created
    /// now run (recorded in their network plan).
    pub network_cmd_path: Option<PathBuf>,
    /// The user the run directory must belong to.
    uid: u32,
    /// The user's home directory.
    home: PathBuf,
}

impl Paths {
    /// Computes the default paths for the current user, with overrides.
    ///
    /// Choosing the run directory costs at most two `lstat`s; creating and
    /// verifying it waits for [`Paths::ensure_runroot`].
    pub fn new(root: Option<PathBuf>, runroot: Option<PathBuf>) -> Paths {
        let base = directories::BaseDirs::new();
        let home = base
            .as_ref()
            .map(|b| b.home_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from("/"));
        let data_home = base
            .as_ref()
            .map(|b| b.data_dir().to_path_buf())
            .unwrap_or_else(|| home.join(".local/share"));
        let config_home = base
            .as_ref()
            .map(|b| b.config_dir().to_path_buf())
            .unwrap_or_else(|| home.join(".config"));
        let uid = nix::unistd::getuid().as_raw();
        let conf = storageconf::for_user(&config_home, &home, uid);
        let (root, root_source) = match (root, std::env::var_os(ENV_ROOT), conf.root) {
            (Some(p), _, _) => (p, RootSource::Option),
            (None, Some(p), _) => (PathBuf::from(p), RootSource::Env),
            (None, None, Some(p)) => (p, RootSource::StorageConf),
            (None, None, None) => (data_home.join("hutch"), RootSource::Default),
        };
        let (runroot, runroot_source) = match (runroot, std::env::var_os(ENV_RUNROOT)) {
            (Some(p), _) => (p, RunRootSource::Option),
            (None, Some(p)) if !p.is_empty() => (PathBuf::from(p), RunRootSource::Env),
            _ if conf.runroot.is_some() => {
                (conf.runroot.unwrap_or_default(), RunRootSource::StorageConf)
            }
            _ => match slurm_job() {
                Some(job) => (
                    slurm_runroot(Path::new(TMP_BASE), uid, &job),
                    RunRootSource::SlurmJob,
                ),
                None => choose_runroot(
                    std::env::var_os(ENV_XDG_RUNTIME_DIR).as_deref(),
                    Path::new(RUN_USER_BASE),
                    Path::new(TMP_BASE),
                    uid,
                ),
            },
        };
        Paths {
            root,
            root_source,
            runroot,
            runroot_source,
            config_home,
            etc: PathBuf::from("/etc"),
            volume_path: None,
            network_cmd_path: None,
            uid,
            home,
        }
    }

    /// Creates the run directory if needed, checks it is safe to use and
    /// returns it, with the paths it had to make private (see
    /// `ensure_runroot`).
    ///
    /// Inside a Slurm job, when the run directory is the job's (by default,
    /// or given to a monitor with `--runroot`), the process holds it for
    /// its lifetime and removes those of ended jobs beside it (`jobdir`).
    pub fn ensure_runroot(&self) -> Result<(&Path, Vec<PathBuf>), Error> {
        let is_job_dir = slurm_job()
            .is_some_and(|j| self.runroot == slurm_runroot(Path::new(TMP_BASE), self.uid, &j));
        if is_job_dir {
            jobdir::hold(&self.runroot, || {
                check_runroot(&self.runroot, RunRootSource::SlurmJob, self.uid)
            })?;
        }
        let repaired = ensure_runroot(&self.runroot, self.runroot_source, self.uid)?;
        Ok((&self.runroot, repaired))
    }

    /// The default socket of `system service`: `hutch.sock` in the
    /// default run directory (`$XDG_RUNTIME_DIR/hutch`, else
    /// `/run/user/UID/hutch` or `/tmp/hutch-UID`), whatever `--runroot`
    /// says, as Podman's socket does not follow its `--runroot`.
    pub fn api_socket(&self) -> PathBuf {
        let (dir, _) = choose_runroot(
            std::env::var_os(ENV_XDG_RUNTIME_DIR).as_deref(),
            Path::new(RUN_USER_BASE),
            Path::new(TMP_BASE),
            self.uid,
        );
        dir.join(API_SOCKET_NAME)
    }

    /// The directories Quadlet files are read from, as Podman's rootless
    /// generator searches them, the first holding a name winning:
    /// `$XDG_RUNTIME_DIR/containers/systemd`, the user's
    /// `~/.config/containers/systemd`, then the administrator's
    /// `/etc/containers/systemd/users/UID` and `/etc/containers/systemd/users`.
    pub fn quadlet_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(run) = std::env::var_os(ENV_XDG_RUNTIME_DIR).filter(|p| !p.is_empty()) {
            dirs.push(PathBuf::from(run).join(QUADLET_SUBDIR));
        }
        dirs.push(self.quadlet_user_dir());
        let users = self.etc.join(QUADLET_SUBDIR).join("users");
        dirs.push(users.join(self.uid.to_string()));
        dirs.push(users);
        dirs
    }

    /// The user's own Quadlet directory, `~/.config/containers/systemd`,
    /// where `quadlet install` copies files.
    pub fn quadlet_user_dir(&self) -> PathBuf {
        self.config_home.join(QUADLET_SUBDIR)
    }

    /// The user's systemd unit directory, `~/.config/systemd/user`, where
    /// `quadlet install` writes the generated units.
    pub fn systemd_user_dir(&self) -> PathBuf {
        self.config_home.join("systemd/user")
    }

    /// The user's containers.conf, where `system connection` keeps the
    /// service destinations (Podman's `[engine.service_destinations]`):
    /// `$CONTAINERS_CONF`, else `~/.config/containers/containers.conf`.
    pub fn containers_conf(&self) -> PathBuf {
        match std::env::var_os(ENV_CONTAINERS_CONF).filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => self.config_home.join("containers/containers.conf"),
        }
    }

    /// The signature policy files to consult, in order (containers/image's
    /// rule): the user's `~/.config/containers/policy.json`, else the
    /// system's `/etc/containers/policy.json`.
    pub fn policy_candidates(&self) -> Vec<PathBuf> {
        vec![self.user_policy(), self.etc.join("containers/policy.json")]
    }

    /// The user's own policy file, which `image trust set` writes.
    pub fn user_policy(&self) -> PathBuf {
        self.config_home.join("containers/policy.json")
    }

    /// The registries.conf files to consult, in order: the env override,
    /// else the user's file, else the system one (the first that exists wins).
    pub fn registries_conf_candidates(&self) -> Vec<PathBuf> {
        if let Some(p) = std::env::var_os(ENV_REGISTRIES_CONF) {
            return vec![PathBuf::from(p)];
        }
        vec![
            self.config_home.join("containers/registries.conf"),
            self.etc.join("containers/registries.conf"),
        ]
    }

    /// Where `login` writes credentials and lookups read first, as in
    /// Podman: `$REGISTRY_AUTH_FILE`, else `containers/auth.json` in
    /// Podman's runtime directory (`podman_runtime_dir`: usually
    /// `$XDG_RUNTIME_DIR`, without it `/run/user/UID` or
    /// `$TMPDIR/podman-run-UID`).
    pub fn auth_file(&self) -> PathBuf {
        if let Some(p) = std::env::var_os(ENV_REGISTRY_AUTH_FILE).filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        self.podman_runtime_dir().join(AUTH_JSON)
    }

    /// The credentials files to read, in Podman's order (containers/image
    /// `getAuthFilePaths`): `authfile` (`--authfile`) or `auth_file`, then
    /// `~/.config/containers/auth.json`, Docker's
    /// `$DOCKER_CONFIG/config.json` (else `~/.docker/config.json`) and
    /// Docker's legacy `~/.dockercfg`.
    pub fn auth_sources(&self, authfile: Option<&Path>) -> Vec<AuthSource> {
        let first = authfile.map_or_else(|| self.auth_file(), Path::to_path_buf);
        let docker = match std::env::var_os(ENV_DOCKER_CONFIG).filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir).join(DOCKER_CONFIG_NAME),
            None => self.home.join(DOCKER_CONFIG_JSON),
        };
        let mut out: Vec<AuthSource> = Vec::new();
        for path in [first, self.config_home.join(AUTH_JSON), docker] {
            if !out.iter().any(|s| s.path == path) {
                out.push(AuthSource::new(path));
            }
        }
        out.push(AuthSource {
            path: self.home.join(DOCKER_LEGACY_CFG),
            is_legacy: true,
        });
        out
    }

    /// The file `login` writes: `authfile`, else `auth_file`. When that
    /// lies in Podman's runtime directory below `$TMPDIR`, the directory is
    /// made (mode 0700, as Podman makes it) and checked to be the user's.
    pub fn login_auth_file(&self, authfile: Option<&Path>) -> Result<PathBuf, Error> {
        if let Some(f) = authfile {
            return Ok(f.to_path_buf());
        }
        let file = self.auth_file();
        let tmp_run = podman_tmp_run_dir(&tmp_dir(), self.uid);
        if file.parent().and_then(Path::parent) == Some(tmp_run.as_path()) {
            ensure_private_dir(&tmp_run, self.uid, false)?;
        }
        Ok(file)
    }

    /// Podman's runtime directory for this user (see `podman_runtime_dir`).
    fn podman_runtime_dir(&self) -> PathBuf {
        podman_runtime_dir(
            std::env::var_os(ENV_XDG_RUNTIME_DIR).as_deref(),
            Path::new(RUN_USER_BASE),
            &tmp_dir(),
            &self.home,
            self.uid,
        )
    }

    /// The `certs.d` directories holding per-registry CAs and client
    /// certificates (containers-certs.d(5)), the user's first.
    pub fn certs_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.config_home.join("containers/certs.d"),
            self.etc.join("containers/certs.d"),
        ]
    }

    /// The CDI spec directories, lowest precedence first: `/etc/cdi`,
    /// `/var/run/cdi` and the user's `~/.config/cdi`, or the list in
    /// `HUTCH_CDI_SPEC_DIRS`.
    pub fn cdi_dirs(&self) -> Vec<PathBuf> {
        match std::env::var_os(ENV_CDI_SPEC_DIRS) {
            Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
            _ => CDI_SYSTEM_DIRS
                .iter()
                .map(PathBuf::from)
                .chain(std::iter::once(self.config_home.join("cdi")))
                .collect(),
        }
    }

    /// The system configuration directory.
    pub fn etc(&self) -> &Path {
        &self.etc
    }
}

/// The address of the user's D-Bus session bus, where the systemd user
/// manager listens: `DBUS_SESSION_BUS_ADDRESS`, else the `bus` socket in
/// the runtime directory (`XDG_RUNTIME_DIR`, else /run/user/UID) when it
/// exists.
///
/// Inside a Slurm job there is none to use, whatever the environment
/// copied from the login node says: the job's processes are not in the
/// user manager's tree, and a scope there would take the container out of
/// the step's cgroup, away from Slurm's limits and its cleanup.
pub fn session_bus() -> Option<String> {
    if slurm_job().is_some() {
        return None;
    }
    if let Some(a) = std::env::var_os(ENV_DBUS_SESSION_BUS_ADDRESS).filter(|a| !a.is_empty()) {
        return Some(a.to_string_lossy().into_owned());
    }
    let runtime = std::env::var_os(ENV_XDG_RUNTIME_DIR)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(RUN_USER_BASE).join(nix::unistd::getuid().to_string()));
    let socket = runtime.join("bus");
    socket
        .exists()
        .then(|| format!("unix:path={}", socket.display()))
}

/// The Slurm job id of this process (`SLURM_JOB_ID`), when it is a
/// plain number, as Slurm writes it.
pub fn slurm_job() -> Option<String> {
    std::env::var(ENV_SLURM_JOB_ID)
        .ok()
        .filter(|j| !j.is_empty() && j.bytes().all(|b| b.is_ascii_digit()))
}

/// The run directory of Slurm job `job`: `TMP/hutch-UID/slurm-JOB`,
/// inside the user's private directory in the shared `/tmp`. Per job
/// because nothing of the login session (`XDG_RUNTIME_DIR`, which logind
/// removes at the user's last logout, mid-job) is sure to last as long as
/// the job, and so that what a killed step leaves there cannot meet
/// another job's containers.
fn slurm_runroot(tmp: &Path, uid: u32, job: &str) -> PathBuf {
    tmp.join(format!("hutch-{uid}"))
        .join(format!("{}{job}", jobdir::JOB_PREFIX))
}

/// `$TMPDIR` when set (`--hpc` binds it into the container too).
pub fn tmpdir() -> Option<PathBuf> {
    std::env::var_os(ENV_TMPDIR)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

/// `$TMPDIR`, else `/tmp`, as Go's `os.TempDir` reads it.
fn tmp_dir() -> PathBuf {
    std::env::var_os(ENV_TMPDIR)
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(TMP_BASE), PathBuf::from)
}

/// `TMP/podman-run-UID`.
fn podman_tmp_run_dir(tmp: &Path, uid: u32) -> PathBuf {
    tmp.join(format!("{PODMAN_RUN_PREFIX}{uid}"))
}

/// The runtime directory Podman uses (its `util.GetRuntimeDir`, which it
/// also exports as `XDG_RUNTIME_DIR`): `xdg` when set; else `RUN_USER/UID`
/// when it is the user's and they may enter it; else `TMP/podman-run-UID`
/// unless someone else holds it (Podman creates it when missing); else
/// `HOME/rundir`.
pub fn podman_runtime_dir(
    xdg: Option<&OsStr>,
    run_user: &Path,
    tmp: &Path,
    home: &Path,
    uid: u32,
) -> PathBuf {
    if let Some(dir) = xdg.filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let is_usable = |dir: &Path| {
        std::fs::symlink_metadata(dir)
            .is_ok_and(|m| m.file_type().is_dir() && m.uid() == uid && m.mode() & 0o700 == 0o700)
    };
    let dir = run_user.join(uid.to_string());
    if is_usable(&dir) {
        return dir;
    }
    let dir = podman_tmp_run_dir(tmp, uid);
    if std::fs::symlink_metadata(&dir).is_err() || is_usable(&dir) {
        return dir;
    }
    home.join(PODMAN_HOME_RUNDIR)
}

/// Picks the default run directory: `$XDG_RUNTIME_DIR/hutch` when `xdg`
/// names a usable runtime directory, else `RUN_USER/UID/hutch` when that is
/// usable, else `TMP/hutch-UID`.
///
/// A runtime directory is usable when it is an absolute path to a real
/// directory (not a symlink) owned by `uid`; anything else is passed over,
/// since another user could have pointed it somewhere they control.
pub fn choose_runroot(
    xdg: Option<&OsStr>,
    run_user: &Path,
    tmp: &Path,
    uid: u32,
) -> (PathBuf, RunRootSource) {
    if let Some(dir) = xdg.filter(|d| !d.is_empty()).map(Path::new) {
        if dir.is_absolute() && is_users_dir(dir, uid) {
            return (dir.join(RUNROOT_NAME), RunRootSource::Xdg);
        }
        log::debug!(
            "{ENV_XDG_RUNTIME_DIR}={} is not a directory of uid {uid}; not using it",
            dir.display()
        );
    }
    let dir = run_user.join(uid.to_string());
    if is_users_dir(&dir, uid) {
        return (dir.join(RUNROOT_NAME), RunRootSource::RunUser);
    }
    (tmp.join(format!("hutch-{uid}")), RunRootSource::Tmp)
}

/// Whether `dir` is a real directory (not a symlink to one) owned by `uid`.
fn is_users_dir(dir: &Path, uid: u32) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_dir() && m.uid() == uid)
}

/// Creates `path` as chosen from `source` if it is missing and verifies
/// it; then, when it is `uid`'s, takes away what other users may do with
/// it and with everything directly below it (attach sockets, exit codes
/// and the seccomp cache live there), as with the store. Returns the
/// paths whose mode it changed.
///
/// An explicit `--runroot`, `HUTCH_RUNROOT` or storage.conf `runroot` is the user's choice and only
/// needs to be a directory. Below a verified per-user runtime directory the
/// `hutch` directory must be a real directory owned by `uid`. In the shared
/// `/tmp` it must also have mode 0700, because anyone could have made it.
pub fn ensure_runroot(path: &Path, source: RunRootSource, uid: u32) -> Result<Vec<PathBuf>, Error> {
    check_runroot(path, source, uid)?;
    let mut repaired = Vec::new();
    close_up(path, uid, &mut repaired)?;
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            close_up(&e.path(), uid, &mut repaired)?;
        }
    }
    Ok(repaired)
}

/// Clears the group and other bits of `path`'s mode when `uid` owns it
/// (not following a symlink), noting it in `repaired`.
fn close_up(path: &Path, uid: u32, repaired: &mut Vec<PathBuf>) -> Result<(), Error> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    let mode = meta.mode() & 0o7777;
    if meta.file_type().is_symlink() || meta.uid() != uid || mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o077)).map_err(
        |source| Error::SecureRunRoot {
            path: path.to_path_buf(),
            source,
        },
    )?;
    repaired.push(path.to_path_buf());
    Ok(())
}

/// `ensure_runroot`'s creation and checks.
fn check_runroot(path: &Path, source: RunRootSource, uid: u32) -> Result<(), Error> {
    match source {
        RunRootSource::Option | RunRootSource::Env | RunRootSource::StorageConf => {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(PRIVATE_MODE)
                .create(path)
                .map_err(|source| Error::CreateRunRoot {
                    path: path.to_path_buf(),
                    source,
                })?;
            let meta = std::fs::metadata(path).map_err(|source| Error::StatRunRoot {
                path: path.to_path_buf(),
                source,
            })?;
            if !meta.is_dir() {
                return Err(Error::RunRootNotDir {
                    path: path.to_path_buf(),
                });
            }
            Ok(())
        }
        RunRootSource::Xdg | RunRootSource::RunUser => ensure_private_dir(path, uid, false),
        RunRootSource::Tmp => ensure_private_dir(path, uid, true),
        // Both the user's directory in /tmp and the job's below it.
        RunRootSource::SlurmJob => {
            if let Some(parent) = path.parent() {
                ensure_private_dir(parent, uid, true)?;
            }
            ensure_private_dir(path, uid, true)
        }
    }
}

/// Makes `path` with mode 0700 unless something is there, then checks,
/// without following a symlink, that it is a directory owned by `uid` (and
/// with `is_mode_checked`, that nobody else may enter it).
///
/// `mkdir` never follows a symlink in the last component, so a planted link
/// makes it fail with `EEXIST` and the check below refuses the link.
fn ensure_private_dir(path: &Path, uid: u32, is_mode_checked: bool) -> Result<(), Error> {
    match std::fs::DirBuilder::new().mode(PRIVATE_MODE).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(source) => {
            return Err(Error::CreateRunRoot {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    let meta = std::fs::symlink_metadata(path).map_err(|source| Error::StatRunRoot {
        path: path.to_path_buf(),
        source,
    })?;
    let path = path.to_path_buf();
    if meta.file_type().is_symlink() {
        return Err(Error::RunRootIsSymlink { path });
    }
    if !meta.file_type().is_dir() {
        return Err(Error::RunRootNotDir { path });
    }
    if meta.uid() != uid {
        return Err(Error::RunRootForeign {
            path,
            owner: meta.uid(),
            uid,
        });
    }
    // Below the user's own runtime directory an opened-up one is ours
    // (an older hutch's umask, or by hand): `ensure_runroot` closes it.
    let mode = meta.mode() & 0o7777;
    if is_mode_checked && mode != PRIVATE_MODE {
        return Err(Error::RunRootNotPrivate { path, mode });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Diagnose;
    use std::os::unix::fs::PermissionsExt;

    /// A temp dir and the uid that owns it (whoever runs the tests).
    fn temp() -> (tempfile::TempDir, u32) {
        let t = tempfile::tempdir().unwrap();
        let uid = std::fs::metadata(t.path()).unwrap().uid();
        (t, uid)
    }

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn local_store_must_be_a_private_directory_of_the_user() {
        // issue #18: the node-local store under the shared /var/tmp.
        let (t, uid) = temp();
        let store = t.path().join("hutch-1");
        ensure_local_store(&store, uid).unwrap();
        assert_eq!(std::fs::metadata(&store).unwrap().mode() & 0o777, 0o700);
        chmod(&store, 0o755);
        let e = ensure_local_store(&store, uid).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("has mode 0755: others may enter it"),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("--root"));
        let foreign = ensure_local_store(t.path(), uid + 1).unwrap_err();
        assert!(foreign.to_string().contains("belongs to uid"), "{foreign}");
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&store, &link).unwrap();
        chmod(&store, 0o700);
        let e = ensure_local_store(&link, uid).unwrap_err();
        assert!(e.to_string().ends_with("is a symbolic link"), "{e}");
        assert_eq!(local_store_dir(7), PathBuf::from("/var/tmp/hutch-7"));
    }

    #[test]
    fn podman_runtime_dir_follows_podmans_fallbacks() {
        // issue #20 item 14: where Podman keeps auth.json without
        // XDG_RUNTIME_DIR.
        let (t, uid) = temp();
        let run_user = t.path().join("run-user");
        let tmp = t.path().join("tmp");
        let home = t.path().join("home");
        std::fs::create_dir_all(&tmp).unwrap();
        let dir = |xdg: Option<&str>| {
            podman_runtime_dir(xdg.map(OsStr::new), &run_user, &tmp, &home, uid)
        };
        assert_eq!(dir(Some("/xdg/here")), PathBuf::from("/xdg/here"));
        let podman_run = tmp.join(format!("podman-run-{uid}"));
        // Missing: Podman would create it, so it is the one.
        assert_eq!(dir(None), podman_run);
        assert_eq!(dir(Some("")), podman_run);
        std::fs::create_dir(&podman_run).unwrap();
        chmod(&podman_run, 0o700);
        assert_eq!(dir(None), podman_run);
        // Not enterable by its owner: Podman passes over it.
        chmod(&podman_run, 0o600);
        assert_eq!(dir(None), home.join("rundir"));
        chmod(&podman_run, 0o700);
        std::fs::create_dir_all(run_user.join(uid.to_string())).unwrap();
        assert_eq!(dir(None), run_user.join(uid.to_string()));
    }

    #[test]
    fn choose_runroot_prefers_a_valid_xdg_runtime_dir() {
        let (t, uid) = temp();
        let xdg = t.path().join("xdg");
        std::fs::create_dir(&xdg).unwrap();
        let got = choose_runroot(
            Some(xdg.as_os_str()),
            &t.path().join("run-user"),
            t.path(),
            uid,
        );
        assert_eq!(got, (xdg.join("hutch"), RunRootSource::Xdg));
    }

    #[test]
    fn choose_runroot_passes_over_unusable_xdg_values() {
        let (t, uid) = temp();
        let real = t.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = t.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let file = t.path().join("file");
        std::fs::write(&file, "").unwrap();
        let tmp = t.path().join("tmp");
        let want = (tmp.join(format!("hutch-{uid}")), RunRootSource::Tmp);
        for (what, xdg) in [
            ("empty", PathBuf::new()),
            ("relative", PathBuf::from("real")),
            ("missing", t.path().join("missing")),
            ("symlink", link),
            ("file", file),
        ] {
            let got = choose_runroot(Some(xdg.as_os_str()), &t.path().join("run-user"), &tmp, uid);
            assert_eq!(got, want, "XDG_RUNTIME_DIR {what}");
        }
        // A directory of another user.
        let got = choose_runroot(
            Some(real.as_os_str()),
            &t.path().join("run-user"),
            &tmp,
            uid + 1,
        );
        assert_eq!(got.1, RunRootSource::Tmp);
    }

    #[test]
    fn choose_runroot_uses_run_user_when_it_belongs_to_the_user() {
        let (t, uid) = temp();
        let run_user = t.path().join("run-user");
        std::fs::create_dir_all(run_user.join(uid.to_string())).unwrap();
        let got = choose_runroot(None, &run_user, t.path(), uid);
        assert_eq!(
            got,
            (
                run_user.join(uid.to_string()).join("hutch"),
                RunRootSource::RunUser
            )
        );
    }

    #[test]
    fn choose_runroot_falls_back_to_tmp_for_foreign_or_linked_run_user() {
        let (t, uid) = temp();
        let run_user = t.path().join("run-user");
        // Owned by the test user, so it is foreign to uid + 1.
        std::fs::create_dir_all(run_user.join((uid + 1).to_string())).unwrap();
        let got = choose_runroot(None, &run_user, t.path(), uid + 1);
        assert_eq!(got.1, RunRootSource::Tmp);
        // A symlink to a directory of the user is not used either.
        let real = t.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, run_user.join(uid.to_string())).unwrap();
        let got = choose_runroot(None, &run_user, t.path(), uid);
        assert_eq!(
            got,
            (t.path().join(format!("hutch-{uid}")), RunRootSource::Tmp)
        );
    }

    #[test]
    fn ensure_runroot_creates_a_private_tmp_dir() {
        let (t, uid) = temp();
        let p = t.path().join(format!("hutch-{uid}"));
        ensure_runroot(&p, RunRootSource::Tmp, uid).unwrap();
        let m = std::fs::symlink_metadata(&p).unwrap();
        assert!(m.is_dir());
        assert_eq!(m.mode() & 0o7777, 0o700);
        // A second call accepts what the first made.
        ensure_runroot(&p, RunRootSource::Tmp, uid).unwrap();
    }

    #[test]
    fn ensure_runroot_refuses_a_planted_symlink_without_following_it() {
        let (t, uid) = temp();
        let victim = t.path().join("victim");
        std::fs::create_dir(&victim).unwrap();
        chmod(&victim, 0o755);
        let p = t.path().join("hutch-x");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        let err = ensure_runroot(&p, RunRootSource::Tmp, uid).unwrap_err();
        assert!(matches!(err, Error::RunRootIsSymlink { .. }), "got {err:?}");
        assert!(err.hint().is_some());
        // The victim kept its mode and stayed empty.
        let m = std::fs::metadata(&victim).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o755);
        assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0);
        // A dangling link is refused too, and not created through.
        let dangling = t.path().join("hutch-y");
        std::os::unix::fs::symlink(t.path().join("nowhere"), &dangling).unwrap();
        let err = ensure_runroot(&dangling, RunRootSource::Tmp, uid).unwrap_err();
        assert!(matches!(err, Error::RunRootIsSymlink { .. }), "got {err:?}");
        assert!(!t.path().join("nowhere").exists());
    }

    #[test]
    fn ensure_runroot_refuses_foreign_open_or_non_directories() {
        let (t, uid) = temp();
        let p = t.path().join("dir");
        std::fs::create_dir(&p).unwrap();
        chmod(&p, 0o700);
        let err = ensure_runroot(&p, RunRootSource::Tmp, uid + 1).unwrap_err();
        assert!(
            matches!(err, Error::RunRootForeign { owner, .. } if owner == uid),
            "got {err:?}"
        );
        chmod(&p, 0o755);
        let err = ensure_runroot(&p, RunRootSource::Tmp, uid).unwrap_err();
        assert!(
            matches!(err, Error::RunRootNotPrivate { mode: 0o755, .. }),
            "got {err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("run directory {} has mode 0755, not 0700", p.display())
        );
        let f = t.path().join("file");
        std::fs::write(&f, "").unwrap();
        let err = ensure_runroot(&f, RunRootSource::Tmp, uid).unwrap_err();
        assert!(matches!(err, Error::RunRootNotDir { .. }), "got {err:?}");
    }

    #[test]
    fn ensure_runroot_below_a_runtime_dir_checks_the_owner_and_closes_the_mode() {
        let (t, uid) = temp();
        let p = t.path().join("hutch");
        assert!(ensure_runroot(&p, RunRootSource::Xdg, uid)
            .unwrap()
            .is_empty());
        chmod(&p, 0o755);
        std::fs::write(p.join("marker"), "").unwrap();
        chmod(&p.join("marker"), 0o644);
        std::fs::create_dir(p.join("exits")).unwrap();
        chmod(&p.join("exits"), 0o700);
        // #21 item 1: opened up, it and what is directly below it are made
        // private again, and named.
        let repaired = ensure_runroot(&p, RunRootSource::RunUser, uid).unwrap();
        assert_eq!(repaired, vec![p.clone(), p.join("marker")]);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o700);
        assert_eq!(mode(&p.join("marker")), 0o600);
        assert!(ensure_runroot(&p, RunRootSource::Xdg, uid)
            .unwrap()
            .is_empty());
        let err = ensure_runroot(&p, RunRootSource::Xdg, uid + 1).unwrap_err();
        assert!(matches!(err, Error::RunRootForeign { .. }), "got {err:?}");
    }

    #[test]
    fn ensure_runroot_creates_an_explicit_path_with_parents() {
        let (t, uid) = temp();
        let p = t.path().join("a/b/run");
        ensure_runroot(&p, RunRootSource::Option, uid).unwrap();
        assert!(p.is_dir());
        let f = t.path().join("file");
        std::fs::write(&f, "").unwrap();
        let err = ensure_runroot(&f, RunRootSource::Env, uid).unwrap_err();
        assert!(matches!(err, Error::CreateRunRoot { .. }), "got {err:?}");
    }

    #[test]
    fn ensure_runroot_makes_a_private_job_dir_inside_a_private_user_dir() {
        let (t, uid) = temp();
        let path = slurm_runroot(t.path(), uid, "42");
        assert_eq!(path, t.path().join(format!("hutch-{uid}/slurm-42")));
        ensure_runroot(&path, RunRootSource::SlurmJob, uid).unwrap();
        for p in [path.parent().unwrap(), &path] {
            let m = std::fs::symlink_metadata(p).unwrap();
            assert!(m.is_dir());
            assert_eq!(m.mode() & 0o7777, 0o700, "{}", p.display());
        }
        // An opened-up user directory in the shared /tmp is refused.
        chmod(path.parent().unwrap(), 0o755);
        let err = ensure_runroot(&path, RunRootSource::SlurmJob, uid).unwrap_err();
        assert!(matches!(err, Error::RunRootNotPrivate { .. }), "{err:?}");
    }

    #[test]
    fn runroot_sources_have_distinct_names() {
        let all = [
            RunRootSource::Option,
            RunRootSource::Env,
            RunRootSource::Xdg,
            RunRootSource::RunUser,
            RunRootSource::Tmp,
            RunRootSource::SlurmJob,
        ];
        let names: std::collections::BTreeSet<_> = all.iter().map(|s| s.as_str()).collect();
        assert_eq!(names.len(), all.len());
        assert_eq!(RunRootSource::Tmp.as_str(), "tmp");
    }
}
