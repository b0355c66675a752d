//! `hutch run` and `hutch create`: one argument set and one code path.
//!
//! `create` records the container, its directories and its start spec;
//! `run` does the same, then starts it in the foreground or, with `-d`,
//! through a monitor (as `hutch start` does).

use clap::Args;

use super::StderrReporter;
use crate::container::{
    CreateRequest, Engine, LogRequest, ProcessRequest, PullPolicy, Ran, RegistryOptions,
    RestartPolicy, SecurityRequest,
};
use crate::error::Error;

/// The flags of `run`: `create`'s, and those only a run has (#13), as
/// Podman 4.3 splits them.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Everything `create` takes.
    #[command(flatten)]
    pub create: CreateArgs,
    /// `--rmi`, `--sig-proxy` and the other flags `create` does not take.
    #[command(flatten)]
    pub run_only: Box<super::runopts::RunOnlyArgs>,
}

impl std::ops::Deref for RunArgs {
    type Target = CreateArgs;

    fn deref(&self) -> &CreateArgs {
        &self.create
    }
}

/// The flags of `create`: those `run` takes too, and those only a
/// `create` has (#13), as Podman 4.3 splits them.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateOnlyArgs {
    /// Everything `run` takes too.
    #[command(flatten)]
    pub create: CreateArgs,
    /// Make the container an init container of its pod: always (run before the pod's other containers at every pod start) or once (at the next, then removed)
    #[arg(long, value_name = "TYPE")]
    pub init_ctr: Option<String>,
}

/// The flags of `create`, which `run` takes too.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// For a cluster's launcher (srun, mpirun): host network, IPC, PID and UTS, --userns=keep-id, --cgroups=disabled, the launcher's OMPI_*, PMIX_*, PMI_* and SLURM_* variables and the host's /tmp (explicit flags override each part)
    #[arg(long)]
    pub hpc: bool,
    /// Run in the background and print the container id
    #[arg(short, long)]
    pub detach: bool,
    /// Keep stdin open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Set an environment variable (NAME=VALUE, or NAME to copy it from the host)
    #[arg(short, long = "env", value_name = "ENV")]
    pub env: Vec<String>,
    /// Read environment variables from a file (NAME=VALUE lines)
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Run as this user[:group] (names or numeric ids)
    #[arg(short, long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// Override the image's entrypoint ("" clears it)
    #[arg(long, value_name = "CMD")]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Container name
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Use the image for this platform (os/arch[/variant])
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Restart policy: no, on-failure[:N], always or unless-stopped (applied by a detached container's monitor)
    #[arg(long, value_name = "POLICY", value_parser = clap::value_parser!(RestartPolicy))]
    pub restart: Option<RestartPolicy>,
    /// When to pull: always, missing (default), never or newer
    #[arg(long, value_name = "POLICY", value_enum, default_value = "missing")]
    pub pull: PullFlag,
    /// Suppress pull progress
    #[arg(short, long)]
    pub quiet: bool,
    /// The first argument is not an image but a root: a directory (DIR:O
    /// for an overlay on it) or a squashfs file
    #[arg(long)]
    pub rootfs: bool,
    /// Registry access for a pull: --tls-verify, --cert-dir, --authfile
    #[command(flatten)]
    pub access: super::registry::RegistryArgs,
    /// Where the container's output goes: k8s-file (default), none, or passthrough (foreground only)
    #[arg(long, value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Log driver option: max-size=SIZE (rotate past it), path=FILE
    #[arg(long, value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
    /// Give the container a secret: as a read-only file (type=mount, the default: /run/secrets/NAME or target=PATH, uid=, gid=, mode=) or a variable (type=env, target=NAME)
    #[arg(long, value_name = "SECRET[,OPTION=VALUE…]")]
    pub secret: Vec<String>,
    /// Capabilities, security options and the read-only root (boxed: they
    /// would make `RunArgs` the largest variant of the command enums)
    #[command(flatten)]
    pub security: Box<SecurityArgs>,
    #[command(flatten)]
    pub resources: Box<super::resources::ResourceArgs>,
    /// Resource limits, OOM score and --init (boxed, as `security`)
    #[command(flatten)]
    pub hardening: Box<super::hardening::HardeningArgs>,
    /// Bind mounts, volumes and tmpfs mounts
    #[command(flatten)]
    pub volumes: Box<super::volume::VolumeArgs>,
    /// User namespace, groups and devices (#7)
    #[command(flatten)]
    pub userns: Box<super::userns::UsernsArgs>,
    /// Network mode, published ports, DNS and hosts (boxed like `security`)
    #[command(flatten)]
    pub network: Box<super::network::NetworkArgs>,
    /// The pod to join (#4)
    #[command(flatten)]
    pub pod: Box<super::pod::PodArgs>,
    /// Labels and annotations (#13)
    #[command(flatten)]
    pub meta: Box<super::runopts::MetaArgs>,
    /// Id and pid files and the other management flags (#13)
    #[command(flatten)]
    pub manage: Box<super::runopts::ManageArgs>,
    /// --unsetenv, --env-host and the other environment flags (#13)
    #[command(flatten)]
    pub env_flags: Box<super::runopts::EnvArgs>,
    /// --umask, --tz, --shm-size and --sysctl (#13)
    #[command(flatten)]
    pub tuning: Box<super::runopts::TuningArgs>,
    /// --arch, --os and --variant (#13)
    #[command(flatten)]
    pub platform_parts: Box<super::runopts::PlatformArgs>,
    /// --health-* and --no-healthcheck (#14)
    #[command(flatten)]
    pub health: Box<super::health::HealthArgs>,
    /// The image, then the command and its arguments (default: the
    /// image's entrypoint and cmd); everything after IMAGE is the
    /// container's, dashes included
    #[arg(
        value_name = "IMAGE [COMMAND [ARG...]]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub target: Vec<String>,
}

/// The confinement flags of `run` and `create`.
#[derive(Debug, Args)]
pub struct SecurityArgs {
    /// Add a capability (CHOWN, CAP_NET_RAW, all…)
    #[arg(long, value_name = "CAPABILITY")]
    pub cap_add: Vec<String>,
    /// Drop a capability (CHOWN, CAP_NET_RAW, all…)
    #[arg(long, value_name = "CAPABILITY")]
    pub cap_drop: Vec<String>,
    /// Give the container every capability and mask no paths
    #[arg(long)]
    pub privileged: bool,
    /// Security option: no-new-privileges[=BOOL], mask=PATH[:PATH…], unmask=ALL|PATH[:PATH…]
    #[arg(long, value_name = "OPTION")]
    pub security_opt: Vec<String>,
    /// Mount the container's root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// With --read-only, mount writable tmpfs on /tmp, /run and /var/tmp
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_value = "true", default_missing_value = "true", require_equals = true)]
    pub read_only_tmpfs: bool,
}

/// `--pull` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PullFlag {
    /// Always pull.
    Always,
    /// Pull when no local image matches (the default).
    Missing,
    /// Never pull.
    Never,
    /// Pull when the registry has a newer image (pulls always for now).
    Newer,
}

impl CreateArgs {
    /// The image named on the command line.
    pub fn image(&self) -> &str {
        self.target.first().map_or("", String::as_str)
    }

    /// The command given after the image (empty: the image's own).
    pub fn command(&self) -> &[String] {
        self.target.get(1..).unwrap_or_default()
    }

    /// The engine's request for these flags.
    fn request(&self) -> Result<CreateRequest, Error> {
        // Flags stop at the image, so an unknown one before it lands here.
        if let Some(flag) = self.target.first().filter(|t| t.starts_with('-')) {
            return Err(Error::Usage(format!("unknown flag: {flag}")));
        }
        let sec = &self.security;
        let mut req = CreateRequest {
            image: self.image().to_string(),
            create_command: std::env::args().collect(),
            pull: match self.pull {
                PullFlag::Always | PullFlag::Newer => PullPolicy::Always,
                PullFlag::Missing => PullPolicy::Missing,
                PullFlag::Never => PullPolicy::Never,
            },
            platform: self.platform_parts.platform(self.platform.as_deref())?,
            registry: RegistryOptions {
                tls_verify: self.access.tls_verify,
                cert_dir: self.access.cert_dir.clone(),
                authfile: self.access.authfile.clone(),
                credentials: None,
            },
            quiet: self.quiet,
            rootfs: self.rootfs,
            name: self.name.clone(),
            process: ProcessRequest {
                command: self.command().to_vec(),
                entrypoint: self.entrypoint.clone(),
                env: self.env.clone(),
                env_files: self.env_file.clone(),
                workdir: self.workdir.clone(),
                user: self.user.clone(),
                hostname: self.hostname.clone(),
                interactive: self.interactive,
                tty: self.tty,
                env_options: self.env_flags.options(),
                passwd: self.env_flags.passwd(),
            },
            remove: self.rm,
            restart: self.restart.unwrap_or(RestartPolicy::No),
            log: LogRequest {
                driver: self.log_driver.clone(),
                opts: self.log_opt.clone(),
            },
            security: SecurityRequest {
                cap_add: sec.cap_add.clone(),
                cap_drop: sec.cap_drop.clone(),
                privileged: sec.privileged,
                security_opt: sec.security_opt.clone(),
                read_only: sec.read_only,
                read_only_tmpfs: sec.read_only_tmpfs,
            },
            cgroups: self.resources.request()?,
            hardening: self.hardening.request(),
            mounts: self.volumes.request(),
            userns: self.userns.request(),
            network: self.network.request(),
            pod: self.pod.pod.clone(),
            metadata: self.meta.request(),
            manage: self.manage.request(),
            tuning: self.tuning.request(),
            secrets: self.secret.clone(),
            health: self.health.request(),
        };
        if self.hpc {
            super::hpc::apply(&mut req, crate::paths::tmpdir().as_deref());
        }
        Ok(req)
    }
}

/// Creates a container without starting it and prints its id.
pub fn create(engine: &Engine, args: CreateOnlyArgs) -> Result<i32, Error> {
    let CreateOnlyArgs {
        create: args,
        init_ctr,
    } = args;
    if args.detach {
        return Err(Error::Usage(
            "create does not take --detach: start the container with hutch start".into(),
        ));
    }
    let reporter = StderrReporter { quiet: args.quiet };
    let mut req = args.request()?;
    req.manage.init_ctr = init_ctr;
    let id = engine.create(&req, &reporter)?;
    println!("{id}");
    Ok(0)
}

/// Runs the container in the foreground and returns its exit code, or
/// with `-d` starts it through a monitor and prints its id.
pub fn run(engine: &Engine, args: RunArgs) -> Result<i32, Error> {
    let reporter = StderrReporter { quiet: args.quiet };
    let mut req = args.request()?;
    args.run_only.apply(&mut req)?;
    match engine.run(&req, args.detach, &reporter)? {
        Ran::Detached(id) => {
            println!("{id}");
            Ok(0)
        }
        Ran::Exited(code) => Ok(code),
    }
}
