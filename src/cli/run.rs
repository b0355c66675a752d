//! `hutch run` and `hutch create`: one argument set and one code path.
//!
//! `create` records the container, its directories and its start spec;
//! `run` does the same, then starts it in the foreground or, with `-d`,
//! through a monitor (as `hutch start` does).

use clap::Args;

use super::StderrReporter;
use crate::container::Engine;
use crate::container::{self, Plan, RestartPolicy, RunOptions};
use crate::error::Error;
use crate::image::{self, Platform, PullOptions, PullPolicy, RuntimeConfig};
use crate::paths::Paths;
use crate::runtime::security::{self, Security, SecurityRequest};
use crate::storage::{ContainerRecord, Store};
use crate::userns;

#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print help
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Remove the container when it exits
    #[arg(long)]
    pub rm: bool,
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
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<String>,
    /// When to pull: always, missing (default) or never
    #[arg(long, value_name = "POLICY", default_value = "missing")]
    pub pull: String,
    /// Suppress pull progress
    #[arg(short, long)]
    pub quiet: bool,
    /// Require HTTPS and verify certificates when pulling
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Where the container's output goes: k8s-file (default), none, or passthrough (foreground only)
    #[arg(long, value_name = "DRIVER")]
    pub log_driver: Option<String>,
    /// Log driver option: max-size=SIZE (rotate past it), path=FILE
    #[arg(long, value_name = "KEY=VALUE")]
    pub log_opt: Vec<String>,
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
    /// Image to run
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Command and arguments (default: the image's entrypoint and cmd)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
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

/// A recorded container and what starting it needs.
struct Created {
    store: Store,
    id: String,
    maps: userns::IdMaps,
    /// The plan, recorded as the container's spec; an error leaves the
    /// record without one.
    plan: Result<Plan, container::Error>,
}

/// Checks `--restart` (and that `--rm` does not contradict it).
fn parse_restart(args: &RunArgs) -> Result<RestartPolicy, Error> {
    let policy = match &args.restart {
        Some(p) => p
            .parse::<RestartPolicy>()
            .map_err(|e| Error::Usage(e.to_string()))?,
        None => RestartPolicy::No,
    };
    if args.rm && policy != RestartPolicy::No {
        return Err(Error::Usage(format!(
            "--rm cannot be combined with --restart={policy}: a restarted container must outlive its exit"
        )));
    }
    Ok(policy)
}

/// Checks the capability and security flags and plans the confinement.
fn plan_security(args: &RunArgs) -> Result<Security, Error> {
    let sec = &args.security;
    let req = SecurityRequest {
        cap_add: sec.cap_add.clone(),
        cap_drop: sec.cap_drop.clone(),
        privileged: sec.privileged,
        security_opt: sec.security_opt.clone(),
        read_only: sec.read_only,
        read_only_tmpfs: sec.read_only_tmpfs,
    };
    security::plan_security(&req).map_err(|e| Error::Usage(e.to_string()))
}

/// Finds or pulls the image, records the container and its start spec.
/// `is_monitored`: a monitor will start it (`run -d`, `create`), so the
/// passthrough log driver, which needs hutch's own stdio, is refused.
fn create_container(paths: &Paths, args: &RunArgs, is_monitored: bool) -> Result<Created, Error> {
    let restart = parse_restart(args)?;
    if let Some(name) = &args.name {
        if !crate::storage::is_valid_container_name(name) {
            return Err(Error::Usage(format!(
                "invalid container name {name:?}: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
            )));
        }
    }
    let policy = match args.pull.as_str() {
        "always" | "newer" => PullPolicy::Always,
        "missing" => PullPolicy::Missing,
        "never" => PullPolicy::Never,
        other => {
            return Err(Error::Usage(format!(
                "invalid --pull {other:?}: use always, missing or never"
            )))
        }
    };
    let mut security = plan_security(args)?;
    // Read and compile the seccomp profile now, so a bad one fails before
    // anything is pulled or created.
    crate::runtime::seccomp::resolve(
        &mut security.seccomp,
        security.caps,
        paths.ensure_runroot()?,
    )
    .map_err(container::Error::from)?;
    let (cgroups, rlimit_pids) = args.resources.plan(paths)?;
    let hardening = super::hardening::plan_hardening(&args.hardening, rlimit_pids)?;
    let mut own_mounts = super::volume::parse_mounts(&args.volumes)?;
    let log = container::logread::parse_log_config(
        args.log_driver.as_deref(),
        &args.log_opt,
        is_monitored,
    )?;
    let env_files = read_env_files(&args.env_file)?;
    let maps = userns::current_user_maps(paths.etc())?;
    if let Some(reason) = &maps.fallback_reason {
        super::warn(&format!(
            "{reason}: running with a single-id map (only root inside the container is mapped)"
        ));
    }
    let ids = super::userns::plan(&args.userns, &maps)?;
    let store = Store::open(&paths.root)?;
    super::volume::find_mounted_images(paths, &store, &mut own_mounts)?;
    let local = match policy {
        PullPolicy::Always => None,
        _ => image::find_local(paths, &store, &args.image)?,
    };
    let rec = match local {
        Some(rec) => rec,
        None if policy == PullPolicy::Never => {
            return Err(Error::Usage(format!(
                "{}: image not known locally and --pull=never",
                args.image
            )))
        }
        None => {
            let platform = match &args.platform {
                Some(p) => Platform::parse(p)?,
                None => Platform::host(),
            };
            let opts = PullOptions {
                platform,
                quiet: args.quiet,
                tls_verify: args.tls_verify,
                authfile: None,
                cert_dir: None,
            };
            let reporter = StderrReporter { quiet: args.quiet };
            image::pull(paths, &store, &args.image, &opts, &maps, &reporter)?
        }
    };
    let config = RuntimeConfig::parse(&rec.config)?;
    let id = new_id();
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("hutch-{}", &id[..12]));
    let record = ContainerRecord {
        id: id.clone(),
        name,
        image_id: rec.id.clone(),
        image_name: args.image.clone(),
        created: container::now_rfc3339(),
    };
    let mut network = super::network::plan_network(&args.network, &rec.config)?;
    let pod = super::pod::join_pod(paths, &args.pod, &args.network, &mut network)?;
    let dirs = store.create_container(&record)?;
    let lowers = super::userns::prepare_lowers(&store, &rec.layers, &dirs, &maps, &ids)?;
    let opts = RunOptions {
        command: args.command.clone(),
        entrypoint: args.entrypoint.clone(),
        env: args.env.clone(),
        env_files,
        workdir: args.workdir.clone(),
        user: args.user.clone().or(ids.default_user),
        hostname: args
            .hostname
            .clone()
            .or_else(|| pod.as_ref().map(|p| p.name.clone())),
        interactive: args.interactive,
        tty: args.tty,
        remove: args.rm,
        log,
        security,
        cgroups,
        hardening,
        network,
    };
    let restart = (restart != RestartPolicy::No).then(|| restart.to_string());
    let plan =
        Plan::new(id.clone(), dirs, lowers, ids.maps, &config, &opts).and_then(|mut plan| {
            plan.identity = ids.identity;
            if let Some(p) = &pod {
                super::pod::bind_plan(&mut plan, p)?;
            }
            plan.volumes = super::volume::plan_mounts(
                &store,
                &id,
                &args.volumes,
                own_mounts,
                &config.volumes,
                &opts,
                &record.created,
            )?;
            if let Some(policy) = &restart {
                store
                    .set_restart_policy(&id, Some(policy))
                    .map_err(container::Error::Store)?;
            }
            container::save_spec(&store, &plan)?;
            Ok(plan)
        });
    Ok(Created {
        store,
        id,
        maps,
        plan,
    })
}

/// Creates a container without starting it and prints its id.
pub fn create(engine: &Engine, args: RunArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    if args.detach {
        return Err(Error::Usage(
            "create does not take --detach: start the container with hutch start".into(),
        ));
    }
    let Created {
        store,
        id,
        maps,
        plan,
    } = create_container(paths, &args, true)?;
    match plan {
        Ok(_) => {
            println!("{id}");
            Ok(0)
        }
        Err(e) => {
            // A container that cannot be planned can never start.
            if let Err(e) = store.remove_container(&id, &maps) {
                super::report_error(&e.into());
            }
            Err(e.into())
        }
    }
}

/// Runs the container in the foreground and returns its exit code, or
/// with `-d` starts it through a monitor and prints its id.
pub fn run(engine: &Engine, args: RunArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let Created {
        store,
        id,
        maps,
        plan,
    } = create_container(paths, &args, args.detach)?;
    if args.detach {
        // From here on the monitor owns the container, `--rm` included.
        let started = plan.and_then(|_| container::run_detached(&paths.root, &paths.runroot, &id));
        return match started {
            Ok(_) => {
                println!("{id}");
                Ok(0)
            }
            Err(e) => {
                // A monitor that reported has applied `--rm` itself.
                let is_reported = matches!(e, container::Error::MonitorFailed { .. });
                if args.rm && !is_reported {
                    if let Err(e) = store.remove_container(&id, &maps) {
                        super::report_error(&e.into());
                    }
                }
                Err(e.into())
            }
        };
    }
    let result = plan.and_then(|plan| container::run(&plan, &store));
    if args.rm {
        if let Err(e) = store.remove_container(&id, &maps) {
            super::report_error(&e.into());
        }
    }
    Ok(result?)
}

/// Reads the `--env-file`s: their non-empty lines that are not comments.
pub(super) fn read_env_files(files: &[std::path::PathBuf]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f)
            .map_err(|e| Error::Usage(format!("reading --env-file {}: {e}", f.display())))?;
        out.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    Ok(out)
}

/// A new random container id: 64 hex characters.
pub(super) fn new_id() -> String {
    let mut buf = [0u8; 32];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf));
    if filled.is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let seed = format!("{t}-{}", std::process::id());
        return crate::storage::Digest::of(seed.as_bytes())
            .hex()
            .to_string();
    }
    hex::encode(buf)
}
