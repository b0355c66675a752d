//! The engine: every front end (the CLI, later the REST API, `kube play`, systemd units and
//! `build`) holds an `Engine` and calls its operations.
//!
//! Owns creating a container from one typed `CreateRequest` (checking it, finding or pulling the
//! image, recording the container, planning its identity, mounts, network, cgroups and process as a
//! `runtime::Plan` stored as its spec), and the container's life after that: start through the
//! runtime in the foreground or through the detached monitor and its log and attach socket, the
//! recorded state, stop, kill, wait, restart policies and removal; pods, volumes, images and system
//! operations as the front ends see them; `inspect` objects. It must not run code inside a
//! container's namespaces itself (that is `runtime`'s), talk HTTP or clap, or print.

pub mod access;
pub mod attach;
pub mod autoupdate;
pub mod build;
pub mod cdi;
pub mod check;
mod clone;
mod create;
mod disk;
pub mod doctor;
mod doctor_host;

pub mod connections;
mod engine;
pub mod events;
pub mod exec;
pub mod exec_session;
pub mod files;
mod gensys;
pub mod health;
mod healthcheck;
mod ids;
pub mod imagemount;
pub mod images;
mod inspect;
mod inspect_more;
pub mod labels;
pub mod layertree;
mod lifecycle;
pub mod limits;
mod logfile;
pub mod logread;
pub mod manage;
mod management;
mod manifests;
mod monitor;
mod netaddr;
pub mod netattach;
pub mod netholder;
mod netunshare;
pub mod networks;
pub mod notify;
mod options;
pub mod passwd;
mod plan;
pub mod pod;
mod pod_clone;
mod pod_infra;
mod pod_init;
pub mod pod_life;
mod pod_member;
pub mod pod_ops;
pub mod pod_options;
mod prepare;
pub mod prune;
pub mod query;
mod request_parts;
mod resources;
mod restart;
mod rootfs;
pub mod rootmount;
mod secret_use;
pub mod secrets;
pub mod system;
pub mod systemd_unit;
pub mod top;
mod trim;
pub mod trust;
pub mod volume_ops;
pub mod volumes;
mod wait;

pub use crate::runtime::clock::now_rfc3339;
pub use crate::runtime::hardening::HardeningRequest;
pub use crate::runtime::security::SecurityRequest;
pub use crate::runtime::tuning::NamespaceModes;
pub use crate::runtime::{Plan, OOM_REASON};
pub use clone::CloneRequest;
pub use create::{
    CgroupRequest, CreateRequest, EnvOptions, LimitsRequest, LogRequest, ManageRequest,
    MetadataRequest, NetworkRequest, ProcessRequest, Progress, PullPolicy, Ran, RegistryOptions,
    TuningRequest, UsernsRequest,
};
pub use engine::Engine;
pub use inspect::state_name;
pub use lifecycle::parse_signal;
pub use limits::UpdateRequest;
pub use manage::ExitPropagation;
pub use monitor::{format_report, Detached};
pub use options::read_env_files;
pub use pod_clone::PodCloneRequest;
pub use resources::parse_limits;
pub use restart::RestartPolicy;
pub use wait::WaitCondition;

use std::path::PathBuf;

use crate::error::EXIT_TOOL;
use crate::runtime::plan::SpecError;

/// What went wrong managing a container.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Starting, running or joining the container's processes.
    #[error(transparent)]
    Runtime(#[from] crate::runtime::Error),
    /// Copying, diffing, committing or exporting the container's files.
    #[error(transparent)]
    Files(#[from] crate::files::Error),
    /// Finding, pulling or reading an image.
    #[error(transparent)]
    Image(Box<crate::image::Error>),
    /// `--rm` with a restart policy.
    #[error(
        "--rm cannot be combined with --restart={0}: a restarted container must outlive its exit"
    )]
    RemoveRestarted(String),
    /// `--name` that is not a valid container name.
    #[error("invalid container name {0:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    InvalidName(String),
    /// `--pull=never` and no local image.
    #[error("{0}: image not known locally and --pull=never")]
    ImageNotLocal(String),
    /// `--platform` names another platform than the local image's, and
    /// `--pull=never` forbids pulling the right one.
    #[error("{image}: the local image is for {have}, not {want}, and --pull=never")]
    PlatformMismatch {
        image: String,
        have: String,
        want: String,
    },
    /// Capabilities or security options that do not parse.
    #[error("{0}")]
    Security(crate::runtime::security::Error),
    /// `--ulimit`, `--oom-score-adj` or `--pids-limit` that cannot apply.
    #[error("{0}")]
    Hardening(crate::runtime::hardening::Error),
    /// Network flags that do not parse or ports that cannot be published.
    #[error("{0}")]
    NetworkRequest(crate::net::Error),
    /// A user-defined network: not found, in use, invalid.
    #[error(transparent)]
    Networks(#[from] networks::Error),
    /// The network holder of user-defined networks.
    #[error(transparent)]
    NetHolder(#[from] netholder::Error),
    /// `--no-hosts` with `--add-host`.
    #[error("--no-hosts and --add-host conflict: --add-host writes /etc/hosts")]
    NoHostsWithAddHost,
    /// `--pod` with published ports.
    #[error("a container in pod {0} cannot publish ports: publish them on the pod (hutch pod create -p …)")]
    PodPublishes(String),
    /// `--pod` with `--network`.
    #[error("a container in pod {0} uses the pod's network: drop --network")]
    PodNetwork(String),
    /// A `--group-add` entry that is not a group.
    #[error("invalid --group-add {0:?}: use a group name, a gid or keep-groups")]
    InvalidGroupAdd(String),
    /// `--group-add keep-groups` with other groups.
    #[error("--group-add keep-groups cannot be combined with other groups")]
    KeepGroupsWithOthers,
    /// A `--device` that does not parse or cannot be used.
    #[error(transparent)]
    Device(crate::runtime::devices::DeviceError),
    /// A CDI `--device` that cannot be resolved or applied.
    #[error(transparent)]
    Cdi(cdi::Error),
    /// The global `--cgroup-manager` other than systemd or cgroupfs.
    #[error("invalid --cgroup-manager {0:?}: use systemd or cgroupfs")]
    CgroupManager(String),
    /// `--cgroups` other than enabled or disabled.
    #[error("invalid --cgroups {0:?}: use enabled or disabled")]
    CgroupsMode(String),
    /// `--oom-kill-disable`, which cgroup v2 cannot do.
    #[error("--oom-kill-disable: cgroup v2 has no switch to disable the OOM killer; use a larger --memory instead")]
    OomKillDisable,
    /// `--label`, `--label-file` or `--annotation` that cannot be used.
    #[error("processing the labels")]
    Labels(#[source] labels::Error),
    /// `--umask`, `--tz`, `--shm-size` or `--sysctl` that cannot apply.
    #[error(transparent)]
    Tuning(crate::runtime::tuning::Error),
    /// A prune's `--filter` that cannot apply.
    #[error(transparent)]
    PruneFilter(#[from] prune::FilterError),
    /// `--expose` that is not PORT[-END][/PROTO].
    #[error("invalid range format for --expose: {0}")]
    InvalidExpose(String),
    /// `--hostuser` names no host user (exit 126, as in Podman).
    #[error("creating the container's passwd entries")]
    Passwd(#[source] passwd::Error),
    /// Reading the host's /etc/passwd for `--hostuser`.
    #[error("reading the host's /etc/passwd")]
    ReadHostPasswd {
        #[source]
        source: std::io::Error,
    },
    /// A flag value outside the ones Podman takes.
    #[error("invalid {flag} {value:?}: use one of {allowed}")]
    FlagValue {
        flag: &'static str,
        value: String,
        allowed: &'static str,
    },
    /// `rm` of a container others require (`--requires`).
    #[error(
        "container {id} has dependent containers which must be removed before it: {dependents}"
    )]
    HasDependents { id: String, dependents: String },
    /// `--subuidname` or `--subgidname` of another user.
    #[error("{flag} {name}: newuidmap and newgidmap map only the ranges listed for your own name or uid, which hutch uses already")]
    SubidName { flag: &'static str, name: String },
    /// `--seccomp-policy=image` for an image without a profile label.
    #[error("no seccomp policy defined by image")]
    NoImageSeccomp,
    /// `--hostname` with `--uts=host`.
    #[error("cannot set hostname when running in the host UTS namespace")]
    HostnameWithHostUts,
    /// `--pod` with a host namespace: the pod's are shared instead.
    #[error(
        "a container in pod {0} shares the pod's namespaces: drop --uts, --pid and --ipc host"
    )]
    PodHostNamespace(String),
    /// `--requires` names no container.
    #[error("{0:?} is not a valid container, cannot be used as a dependency: no such container")]
    RequirementMissing(String),
    /// `--pod` with `--pod-id-file`.
    #[error("cannot specify both --pod and --pod-id-file")]
    PodAndPodIdFile,
    /// Reading `--pod-id-file`.
    #[error("reading pod ID file {path}")]
    ReadPodIdFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--image-volume` other than bind, tmpfs or ignore.
    #[error("invalid image volume mode {0:?}: use bind, tmpfs or ignore")]
    ImageVolumeMode(String),
    /// `--replace` without `--name`.
    #[error("cannot replace container without --name being set")]
    ReplaceWithoutName,
    /// `--cidfile` names a file that exists.
    #[error("container id file {0} exists")]
    CidfileExists(PathBuf),
    /// Writing the `--cidfile`, or making a pid file's path absolute.
    #[error("writing {path}")]
    WriteIdFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading an `--env-file`.
    #[error("reading --env-file {path}")]
    ReadEnvFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--log-driver` or `--log-opt` that does not parse, or reading a log.
    #[error(transparent)]
    Logs(#[from] logread::Error),
    /// A health check's flags, or running one (#14).
    #[error(transparent)]
    Health(#[from] health::Error),
    /// `generate systemd`: what cannot be made into a unit.
    #[error(transparent)]
    Unit(#[from] systemd_unit::Error),
    /// `--sdnotify=container` under systemd: making the directory of the
    /// container's notify socket.
    #[error("making the notify socket's directory {path}")]
    NotifyDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `generate systemd` of a name that is neither (Podman's words).
    #[error("{0} does not refer to a container or pod: no pod with name or ID {0} found: no such pod: no container with name or ID \"{0}\" found: no such container")]
    NoContainerOrPod(String),
    /// Reading the user's subordinate id ranges.
    #[error(transparent)]
    Userns(#[from] crate::userns::Error),
    /// Choosing or creating the store and run directories.
    #[error(transparent)]
    Paths(#[from] crate::paths::Error),
    /// `-v`, `--mount`, `--tmpfs` or `--volumes-from` could not be planned.
    #[error("planning the mounts")]
    Volumes(#[source] Box<volumes::Error>),
    /// Neither the image nor the command line gives a command.
    #[error("no command: the image has no Entrypoint or Cmd and none was given")]
    NoCommand,
    /// `-w` is not an absolute path.
    #[error("invalid working directory {0:?}: must be an absolute path")]
    RelativeWorkdir(String),
    /// Reading or writing the container's record.
    #[error(transparent)]
    Store(crate::storage::Error),
    /// No container has this name, id or id prefix.
    #[error("no container with name or ID {0:?} found: no such container")]
    NoSuchContainer(String),
    /// `--latest` in a store without containers (Podman's words).
    #[error("no such container")]
    NoLatest,
    /// `rm` without `-f` of a running container.
    #[error("cannot remove container {0} as it is running: stop it first or use -f")]
    IsRunning(String),
    /// Signalling a container that is not running.
    /// `init` of a running or initialized container (Podman's words).
    #[error("container {0} has already been created in runtime: container state improper")]
    AlreadyInitialized(String),
    /// `init` of a container whose root filesystem's directories are gone.
    #[error("container {id}: {path} is missing")]
    InitMissingDir { id: String, path: PathBuf },
    /// `container cleanup` of a running container (Podman's words).
    #[error("container {0} is running or paused, refusing to clean up: container state improper")]
    CleanupRunning(String),
    #[error("container {0} is not running")]
    NotRunning(String),
    /// `exec` in a paused container: its command would freeze with it.
    #[error("cannot exec in container {0}: it is paused")]
    IsPaused(String),
    /// `pause`, `update` or `stats` of a container without its own cgroup.
    #[error("container {0} has no cgroup of its own")]
    NoCgroup(String),
    /// A signal name or number that does not exist.
    #[error("invalid signal {0:?}")]
    InvalidSignal(String),
    /// kill(2) on the container's init.
    #[error("sending {signal} to container {name}")]
    SendSignal {
        name: String,
        signal: nix::sys::signal::Signal,
        #[source]
        source: nix::Error,
    },
    /// The record has no spec to start the container from.
    #[error("container {0} has no start spec")]
    SpecMissing(String),
    /// The recorded spec does not parse.
    #[error("reading the start spec of container {id}")]
    SpecCorrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// The recorded spec has a schema version newer than this hutch's.
    #[error("container {id} was created by a newer hutch (spec version {found}, this hutch knows up to {known})")]
    SpecTooNew { id: String, found: u64, known: u32 },
    /// Writing the spec to the record.
    #[error("serialising the start spec of container {id}")]
    SerializeSpec {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// Opening the container's log file.
    #[error("opening the container log {path}")]
    OpenLog {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Starting or hearing from the monitor process.
    #[error("starting the container monitor")]
    SpawnMonitor(#[source] std::io::Error),
    /// The monitor ended without its report line.
    #[error("the container monitor exited without reporting")]
    MonitorVanished,
    /// The monitor could not start the container (its report).
    #[error("{message}")]
    MonitorFailed { code: i32, message: String },
    /// Pod records, the infra process, joining a pod.
    #[error(transparent)]
    Pod(#[from] pod::Error),
    /// A pod command's action on one of the pod's containers.
    #[error("{action} container {id}")]
    PodMember {
        action: &'static str,
        id: String,
        #[source]
        source: Box<Error>,
    },
    /// A pod's `--network` or `-p` does not plan, or a host port is not free.
    #[error(transparent)]
    Network(crate::net::Error),
    /// Placing the container in its cgroup.
    #[error("placing the container in a cgroup")]
    Cgroup(#[source] crate::cgroup::Error),
    /// `--init-ctr` other than always or once (Podman's words).
    #[error("init-ctr value must be 'always' or 'once'")]
    InitCtrValue(String),
    /// `--init-ctr` outside a pod (Podman's words).
    #[error("must specify pod value with init-ctr")]
    InitCtrWithoutPod,
    /// `--init-ctr` in a pod that runs (Podman's words).
    #[error("cannot add init-ctr to a running pod")]
    InitCtrRunningPod,
    /// An init container that failed stops its pod's start (Podman's words).
    #[error("init container {id} exited with code {code}")]
    InitCtrFailed { id: String, code: i32 },
    /// The cgroup of a pod with limits cannot be made on this host.
    #[error("planning the pod's cgroup")]
    PodCgroup(#[source] crate::cgroup::Error),
    /// The seccomp profile cannot be read, compiled or cached.
    #[error(transparent)]
    Seccomp(#[from] crate::runtime::seccomp::Error),
    /// Configuring or reading events.
    #[error(transparent)]
    Events(#[from] events::Error),
    /// Saving or loading an image archive.
    #[error(transparent)]
    Archive(Box<crate::image::archive::Error>),
    /// Importing a root filesystem tarball.
    #[error(transparent)]
    Import(#[from] crate::image::import::Error),
    /// `image mount` or `image unmount`.
    #[error(transparent)]
    ImageMount(#[from] imagemount::Error),
    #[error(transparent)]
    Rootfs(#[from] rootfs::Error),
    /// Opening the archive or tarball to read.
    #[error("opening {path}")]
    OpenInput {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `push --digestfile`.
    #[error("writing the digest to {path}")]
    WriteDigestFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `untag` of a name the image does not have.
    #[error("{name:?} is not a name of image {image}")]
    NotAName { name: String, image: String },
    /// `images --filter before=`/`since=` of an unknown image.
    #[error("--filter: image {0:?} not known")]
    FilterImageUnknown(String),
    /// `container clone --force` without `--destroy` (Podman's words).
    #[error("cannot set --force without --destroy")]
    CloneForceWithoutDestroy,
    /// `container clone` of a container whose spec records no request.
    #[error("container {0} records no request to clone: it was created by an older hutch")]
    CloneNoRequest(String),
    /// The request a container's spec records does not parse.
    #[error("reading the request recorded for container {id}")]
    CloneRequestCorrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// `build` failed.
    #[error(transparent)]
    Build(Box<build::Error>),
    /// A secret, or a `--secret` of `run` or `create`.
    #[error(transparent)]
    Secret(#[from] secrets::Error),
    /// `volume import` into a volume of `type=tmpfs`.
    #[error("volume {0} is a tmpfs volume: it keeps no files to import into")]
    TmpfsVolumeImport(String),
}

impl From<crate::image::archive::Error> for Error {
    fn from(e: crate::image::archive::Error) -> Error {
        Error::Archive(Box::new(e))
    }
}

impl From<crate::image::Error> for Error {
    fn from(e: crate::image::Error) -> Error {
        Error::Image(Box::new(e))
    }
}

impl Error {
    /// Whether what was asked for (container, image, volume) does not
    /// exist: the removal commands exit 1 for it, as Podman does.
    pub fn is_missing(&self) -> bool {
        match self {
            Error::NoSuchContainer(_) | Error::NoLatest => true,
            Error::Store(e) => e.is_missing(),
            Error::Networks(e) => e.is_missing(),
            _ => false,
        }
    }

    /// Whether it is running or used by a container: the removal commands
    /// exit 2 for it, as Podman does.
    pub fn is_in_use(&self) -> bool {
        match self {
            Error::IsRunning(_) => true,
            Error::Store(e) => e.is_in_use(),
            Error::Networks(e) => e.is_in_use(),
            _ => false,
        }
    }

    /// The exit code of a removal command (`rm`, `rmi`, `volume rm`) for
    /// this error: 1 missing, 2 in use, else the usual.
    pub fn removal_exit_code(&self) -> i32 {
        use crate::error::Diagnose;
        if self.is_missing() {
            1
        } else if self.is_in_use() {
            2
        } else {
            self.exit_code()
        }
    }
}

impl crate::error::Diagnose for Error {
    /// The process exit code for this error.
    fn exit_code(&self) -> i32 {
        match self {
            Error::Runtime(e) => e.exit_code(),
            Error::MonitorFailed { code, .. } => *code,
            Error::Passwd(_) => crate::error::EXIT_CANNOT_INVOKE,
            _ => EXIT_TOOL,
        }
    }

    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Runtime(e) => e.hint(),
            Error::Files(e) => e.hint(),
            Error::Image(e) => e.hint(),
            Error::Userns(e) => e.hint(),
            Error::Paths(e) => e.hint(),
            Error::Device(e) => e.hint(),
            Error::Cdi(e) => e.hint(),
            Error::Rootfs(e) => e.hint(),
            Error::NoCommand => Some("give a command after the image name".into()),
            Error::HasDependents { .. } => {
                Some("remove those first, or use rm --depend".into())
            }
            Error::CidfileExists(_) => Some(
                "ensure another container is not using it, or delete it".into(),
            ),
            Error::PlatformMismatch { want, .. } => Some(format!(
                "drop --pull=never to pull the {want} image, or drop --platform"
            )),
            Error::IsPaused(name) => Some(format!("unpause it first: hutch unpause {name}")),
            Error::SpecTooNew { .. } => {
                Some("manage this container with the hutch that created it".into())
            }
            Error::Cgroup(e) | Error::PodCgroup(e) => e.hint(),
            Error::PodMember { source, .. } => source.hint(),
            Error::NoCgroup(_) => Some(
                "pause, update and stats need cgroup v2 with a systemd user manager or a delegated cgroup; see `hutch info`".into(),
            ),
            Error::Store(e) => e.hint(),
            Error::Seccomp(e) => e.hint(),
            Error::Volumes(e) => e.hint(),
            Error::Archive(e) => e.hint(),
            Error::Events(e) => e.hint(),
            Error::Import(e) => e.hint(),
            Error::ImageMount(e) => e.hint(),
            Error::Build(e) => e.hint(),
            Error::CloneNoRequest(_) => {
                Some("create the container again with run or create, then clone it".into())
            }
            _ => None,
        }
    }
}

/// The proc root the lifecycle reads processes from.
pub(crate) const PROC: &str = "/proc";

/// Runs a planned container in the foreground and returns its exit code
/// (128+N when killed by signal N), recording it running (with this
/// process as its monitor) and then exited. Must be called single-threaded.
pub fn run(plan: &Plan, store: &crate::storage::Store) -> Result<i32, Error> {
    // One copy: the `type=env` secrets and the user networks' addresses
    // are filled in for this start only.
    let mut plan = plan.clone();
    secret_use::add_env(store.root(), &mut plan)?;
    let proc = std::path::Path::new(PROC);
    let join = start_join(&mut plan, proc)?;
    let plan = &plan;
    // Logged as a detached container's output is, unless `--rm` removes
    // the log with the container or the driver keeps none.
    let mut log = match (plan.auto_remove, plan.log_driver) {
        (false, crate::runtime::plan::LogDriver::K8sFile) => {
            let path = logread::log_path(store, &plan.id, plan.log_path.as_deref());
            let file = logfile::LogFile::open(&path, plan.log_max_size)
                .map_err(|source| Error::OpenLog { path, source })?;
            Some(logfile::ForegroundLog::new(file))
        }
        _ => None,
    };
    let sink = log
        .as_mut()
        .map(|l| l as &mut dyn crate::runtime::outputs::Sink);
    Ok(crate::runtime::run::run(plan, join, store, proc, sink)?)
}

/// What a starting container joins: its pod's namespaces, or the network
/// holder's for a container on user networks (its addresses then filled
/// into `plan`); `None` for a container on its own.
pub(crate) fn start_join(
    plan: &mut Plan,
    proc: &std::path::Path,
) -> Result<Option<crate::runtime::pod::PodJoin>, Error> {
    if plan.pod.is_some() {
        return Ok(pod::member_join(plan, proc)?);
    }
    let root = store_root_of(plan).to_path_buf();
    netattach::join(&root, plan, proc)
}

/// The root of the store `plan`'s container is in: two levels above the
/// container's directory.
pub(crate) fn store_root_of(plan: &Plan) -> &std::path::Path {
    let root = plan.dirs.dir.parent().and_then(std::path::Path::parent);
    root.unwrap_or(std::path::Path::new("/"))
}

/// Records `plan` as container `plan.id`'s start spec.
pub fn save_spec(store: &crate::storage::Store, plan: &Plan) -> Result<(), Error> {
    let spec = plan.to_stored().map_err(|source| Error::SerializeSpec {
        id: plan.id.clone(),
        source,
    })?;
    store
        .set_container_spec(&plan.id, &spec)
        .map_err(Error::Store)
}

/// The start spec recorded for container `info`, upgraded from an older
/// hutch's; the one way the engine reads it back.
pub fn load_spec(info: &crate::storage::ContainerInfo) -> Result<Plan, Error> {
    let id = &info.record.id;
    let spec = info
        .spec
        .as_deref()
        .ok_or_else(|| Error::SpecMissing(id.clone()))?;
    Plan::from_stored(spec).map_err(|e| match e {
        SpecError::TooNew { found, known } => Error::SpecTooNew {
            id: id.clone(),
            found,
            known,
        },
        SpecError::Parse(source) => Error::SpecCorrupt {
            id: id.clone(),
            source,
        },
    })
}

/// Starts the detached container `id` (its spec recorded) through a new
/// monitor process and returns the container's pid once it runs.
pub fn run_detached(
    root: &std::path::Path,
    runroot: &std::path::Path,
    id: &str,
) -> Result<i32, Error> {
    monitor::spawn(root, runroot, id)
}

/// In the monitor process: starts container `id` from its spec and records
/// it running. Must be called single-threaded.
pub fn start_monitored(store: &crate::storage::Store, id: &str) -> Result<Detached, Error> {
    monitor::start(store, id, 0, std::path::Path::new(PROC))
}

/// In the monitor process, after reporting the start: logs the container's
/// output, records its exits, restarts it as its policy says and applies
/// `--rm`, leaving the exit code in `exits` (see `exits_dir`) for `wait`.
/// Returns the monitor's exit code (see `monitor::supervise`).
pub fn watch(
    store: &crate::storage::Store,
    detached: Detached,
    exits: &std::path::Path,
) -> Result<i32, Error> {
    monitor::supervise(store, detached, exits, std::path::Path::new(PROC))
}

/// Starts the created or exited container `name` through a new monitor;
/// a running one is left alone. Returns its full id.
pub fn start(
    store: &crate::storage::Store,
    name: &str,
    root: &std::path::Path,
    runroot: &std::path::Path,
) -> Result<String, Error> {
    let exits = wait::exits_dir(runroot);
    lifecycle::start(
        store,
        name,
        root,
        runroot,
        std::path::Path::new(PROC),
        &exits,
    )
}

/// Waits for container `id` (called `name` in errors) to meet any of
/// `conditions`, looking every `interval`; returns its exit code once it
/// has stopped, `None` for another condition (see `wait::wait_for_id`).
pub fn wait_for(
    store: &crate::storage::Store,
    id: &str,
    name: &str,
    conditions: &[WaitCondition],
    interval: std::time::Duration,
    exits: &std::path::Path,
) -> Result<Option<i32>, Error> {
    let proc = std::path::Path::new(PROC);
    wait::wait_for_id(store, id, name, conditions, interval, exits, proc)
}

/// Waits until container `id`, which the caller started, has stopped and
/// returns its exit code, also when it has removed itself (`--rm`).
pub fn wait_started(
    store: &crate::storage::Store,
    id: &str,
    exits: &std::path::Path,
) -> Result<i32, Error> {
    let stopped = [WaitCondition::Stopped];
    let code = wait_for(store, id, id, &stopped, wait::DEFAULT_INTERVAL, exits)?;
    Ok(code.unwrap_or(0))
}

/// Sends `sig` to the running container `name`; `exits` is as for
/// `remove`.
pub fn kill(
    store: &crate::storage::Store,
    name: &str,
    sig: nix::sys::signal::Signal,
    exits: &std::path::Path,
) -> Result<(), Error> {
    lifecycle::kill(store, name, sig, std::path::Path::new(PROC), exits)
}

/// Stops container `name` as `stop` does, with its own stop timeout
/// (`--stop-timeout`, else Podman's 10 s) when `timeout` is `None`.
pub fn stop_within(
    store: &crate::storage::Store,
    name: &str,
    timeout: Option<std::time::Duration>,
    exits: &std::path::Path,
) -> Result<(), Error> {
    lifecycle::stop(store, name, timeout, std::path::Path::new(PROC), exits)
}

/// Removes container `name`, killing it first when `is_forced`, and
/// leaves its exit code in `exits` for waiters; `maps` serve containers
/// without a spec. Must be called single-threaded.
pub fn remove(
    store: &crate::storage::Store,
    name: &str,
    is_forced: bool,
    maps: &crate::userns::IdMaps,
    exits: &std::path::Path,
) -> Result<(), Error> {
    let proc = std::path::Path::new(PROC);
    lifecycle::remove(store, name, is_forced, maps, exits, proc)
}

pub use crate::net::Mode as NetworkMode;
pub use crate::net::{parse_publish, PortMapping, Protocol};
pub use crate::runtime::OverlayKind;

/// The state of container `info` as it really is now: a record that says
/// running whose monitor is gone is reported as exited (and recorded so,
/// when there is room on the disk), with the code from the container's
/// exit code file, else 255 and reason `monitor died`. A `--rm`
/// container whose monitor died before removing it is removed now, its
/// exit code left in `exits` for waiters: `None` then, as when it was
/// removed meanwhile (issue #21 items 4 and 6).
pub fn observe(
    store: &crate::storage::Store,
    info: crate::storage::ContainerInfo,
    exits: &std::path::Path,
) -> Result<Option<crate::storage::ContainerInfo>, crate::storage::Error> {
    lifecycle::observe(store, info, std::path::Path::new(PROC), Some(exits))
}
