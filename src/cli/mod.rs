//! The command line: clap types per subcommand, dispatch and output.
//!
//! Each command file builds a request, calls one function below `cli`, and
//! formats the result. This is the only module that prints.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod archive;
mod arity;
mod attach;
mod autoupdate;
mod build;
mod cdi;
mod cgroups;
mod check;
mod cleanup;
mod clone;
mod commit;
mod connection;
mod container;
mod cp;
mod diff;
mod doctor;
mod events;
mod exec;
mod generate;
mod hardening;
mod health;
mod history;
mod hpc;
mod image_filter;
mod images;
mod import;
mod info;
mod inspect;
mod ioerr;
mod json;
mod kube;
mod lifecycle;
mod login;
mod logs;
mod manifest;
mod mount;
mod netcmd;
mod network;
mod output;
mod parse;
mod pick;
mod pod;
mod pod_clone;
mod pod_create;
mod pod_ps;
mod port;
mod prune;
mod ps;
mod pull;
mod push;
mod quadlet;
mod refused;
mod registry;
mod rename;
mod resources;
mod rmi;
mod run;
mod runlabel;
mod runopts;
mod search;
mod secret;
mod service;
mod system;
mod tag;
mod template;
mod top;
mod trust;
mod units;
mod unshare;
mod userns;
mod version;
mod volume;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::Diagnose;
use crate::error::{render_chain, Error, EXIT_TOOL};
use crate::paths::Paths;

/// Rootless, daemonless containers.
#[derive(Debug, Parser)]
#[command(name = "hutch", version, about, propagate_version = true)]
pub struct Cli {
    /// Store directory for images, layers and containers
    #[arg(long, global = true, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Directory for volatile run state
    #[arg(long, global = true, value_name = "PATH")]
    pub runroot: Option<PathBuf>,
    /// Log messages at and above this level: error, warn, info, debug, trace
    #[arg(long, global = true, default_value = "warn", value_name = "LEVEL")]
    pub log_level: String,
    /// Print nothing on standard output (the command's and the container's)
    #[arg(long, global = true)]
    pub noout: bool,
    /// Storage driver: overlay, the only one hutch has
    #[arg(long, global = true, value_name = "DRIVER")]
    pub storage_driver: Option<String>,
    /// Cgroup manager of new containers: systemd (a transient scope each) or cgroupfs (below the current delegated cgroup); default: systemd where a user manager runs, else cgroupfs
    #[arg(long, global = true, value_name = "MANAGER")]
    pub cgroup_manager: Option<String>,
    /// Where events are recorded and read: file (the store's event log), journald or none
    #[arg(long, global = true, value_name = "BACKEND")]
    pub events_backend: Option<String>,
    /// Podman's directory for libpod's temporary state; hutch keeps its run state under --runroot and its temporary files under --root, so it only checks the path
    #[arg(long, global = true, value_name = "PATH")]
    pub tmpdir: Option<PathBuf>,
    /// Directory of the volumes' data, recorded with the store on first use (default: ROOT/volumes)
    #[arg(long, global = true, value_name = "PATH")]
    pub volumepath: Option<PathBuf>,
    /// Send log messages to syslog (/dev/log) as well as to standard error
    #[arg(long, global = true)]
    pub syslog: bool,
    /// The slirp4netns binary to run for --network slirp4netns (default: the one on PATH)
    #[arg(long, global = true, value_name = "PATH")]
    pub network_cmd_path: Option<PathBuf>,
    /// Directory of the network definitions, recorded with the store on first use (default: ROOT/networks)
    #[arg(long, global = true, value_name = "PATH")]
    pub network_config_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Refuses a `--storage-driver` other than overlay, with the reason.
fn check_storage_driver(driver: Option<&str>) -> Result<(), Error> {
    match driver {
        Some(d) if d != "overlay" => Err(Error::Usage(format!(
            "--storage-driver {d:?}: hutch stores containers with overlay only"
        ))),
        _ => Ok(()),
    }
}

/// The filter for `--log-level` `name`, with Podman's names: trace,
/// debug, info, warn or warning, error, and fatal and panic (as error).
fn log_level_filter(name: &str) -> Option<log::LevelFilter> {
    Some(match name {
        "trace" => log::LevelFilter::Trace,
        "debug" => log::LevelFilter::Debug,
        "info" => log::LevelFilter::Info,
        "warn" | "warning" => log::LevelFilter::Warn,
        "error" | "fatal" | "panic" => log::LevelFilter::Error,
        _ => return None,
    })
}

// One value per process, parsed once: boxing `run`'s arguments buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Pull an image from a registry
    Pull(pull::PullArgs),
    /// Push an image to a registry
    Push(push::PushArgs),
    /// Log in to a registry
    Login(login::LoginArgs),
    /// Log out of a registry
    Logout(login::LogoutArgs),
    /// Search registries for images
    Search(search::SearchArgs),
    /// Manage manifest lists (image indexes)
    #[command(subcommand)]
    Manifest(manifest::ManifestCommand),
    /// List images in local storage
    Images(images::ImagesArgs),
    /// Remove one or more images
    Rmi(rmi::RmiArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Run a command in a new container
    Run(run::RunArgs),
    /// Show hutch's version
    Version(version::VersionArgs),
    /// Show how hutch sees this host
    Info(info::InfoArgs),
    /// Check what rootless containers need on this host, with fixes
    Doctor(doctor::DoctorArgs),
    /// List containers
    Ps(ps::PsArgs),
    /// Show a container's output
    Logs(logs::LogsArgs),
    /// Show details of containers or images
    Inspect(inspect::InspectObjectArgs),
    /// Stop running containers
    Stop(lifecycle::StopArgs),
    /// Send a signal to running containers
    Kill(lifecycle::KillArgs),
    /// Remove containers
    Rm(lifecycle::RmArgs),
    /// Wait for containers to exit and print their exit codes
    Wait(lifecycle::WaitArgs),
    /// Show the processes of a running container
    Top(top::TopArgs),
    /// Give a container a new name
    Rename(rename::RenameArgs),
    /// Run a command as root in the user namespace with your subordinate ids
    Unshare(unshare::UnshareArgs),
    /// List a container's published ports
    Port(port::PortArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(container::ContainerCommand),
    /// Create a container without starting it
    #[command(mut_arg("detach", |a| a.hide(true)))]
    Create(run::CreateOnlyArgs),
    /// Start created or exited containers
    Start(lifecycle::StartArgs),
    /// Check and prepare created containers for their start
    Init(cleanup::InitArgs),
    /// Stop and start containers again
    Restart(lifecycle::RestartArgs),
    /// Run a command in a running container
    Exec(exec::ExecArgs),
    /// Attach to a running container's input and output
    Attach(attach::AttachArgs),
    /// Copy files between the host, containers and tar streams
    Cp(cp::CpArgs),
    /// Show what a container changed compared with its image
    Diff(diff::DiffArgs),
    /// Create a new image from a container's changes
    Commit(commit::CommitArgs),
    /// Build an image from a Containerfile
    Build(build::BuildArgs),
    /// Show the events of containers, images, volumes and pods
    Events(events::EventsArgs),
    /// Save images to an archive
    Save(archive::SaveArgs),
    /// Load images from an archive
    Load(archive::LoadArgs),
    /// Add names to an image
    Tag(tag::TagArgs),
    /// Remove names from an image
    Untag(tag::UntagArgs),
    /// Create an image from a root filesystem tarball
    Import(import::ImportArgs),
    /// Export a container's filesystem as a tarball
    Export(import::ExportArgs),
    /// Show the history of an image
    History(history::HistoryArgs),
    /// Manage the user's hutch storage
    #[command(subcommand)]
    System(system::SystemCommand),
    /// Pause the processes of running containers
    Pause(cgroups::PauseArgs),
    /// Resume paused containers
    Unpause(cgroups::PauseArgs),
    /// Mount containers' root filesystems (under hutch unshare) and print where
    Mount(mount::MountArgs),
    /// Unmount containers' root filesystems
    #[command(visible_alias = "umount")]
    Unmount(mount::UnmountArgs),
    /// Change the resource limits of a container
    Update(cgroups::UpdateArgs),
    /// Show resource usage of running containers
    Stats(cgroups::StatsArgs),
    /// Manage volumes
    #[command(subcommand)]
    Volume(volume::VolumeCommand),
    /// Manage user-defined networks
    #[command(subcommand)]
    Network(netcmd::NetworkCommand),
    #[command(name = "network-holder", hide = true)]
    NetworkHolder,
    /// Manage pods
    #[command(subcommand)]
    Pod(pod::PodCommand),
    /// Manage secrets
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Quadlet files as systemd user services: install, list, rm, sync, print
    #[command(subcommand)]
    Quadlet(quadlet::QuadletCommand),
    /// Container Device Interface specs (GPUs)
    #[command(subcommand)]
    Cdi(cdi::CdiCommand),
    /// Manage health checks on containers
    #[command(subcommand)]
    Healthcheck(health::HealthcheckCommand),
    /// Generate structured data (systemd units) for containers and pods
    #[command(subcommand)]
    Generate(generate::GenerateCommand),
    /// Update containers labelled io.containers.autoupdate and restart their systemd units
    #[command(name = "auto-update")]
    AutoUpdate(autoupdate::AutoUpdateArgs),
    /// Play, remove or generate Kubernetes YAML
    #[command(subcommand)]
    Kube(kube::KubeCommand),
    /// Play Kubernetes YAML (the older spelling of kube play)
    #[command(subcommand)]
    Play(kube::PlayCommand),
    /// Internal: the monitor of a pod's infra process
    #[command(name = "pod-infra", hide = true)]
    PodInfra(pod::InfraArgs),
    /// Internal: the monitor of a detached container
    #[command(name = "container-monitor", hide = true)]
    Monitor(lifecycle::MonitorArgs),
    /// Internal: the health check timer of a foreground container
    #[command(name = "container-health", hide = true)]
    HealthTimer(health::HelperArgs),
    /// Internal: the relay of a container's readiness messages to systemd
    #[command(name = "container-notify", hide = true)]
    NotifyRelay(NotifyRelayArgs),
    /// Internal: the TCP port forwarder of a slirp4netns container
    #[command(name = "container-portfwd", hide = true)]
    PortForward(port::ForwardArgs),
}

// One value per process, parsed once: boxing `build`'s arguments buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// List images in local storage
    #[command(visible_alias = "list")]
    Ls(images::ImagesArgs),
    /// Remove one or more images
    Rm(rmi::RmiArgs),
    /// Show an image's details as JSON
    Inspect(inspect::InspectArgs),
    /// Build an image from a Containerfile
    Build(build::BuildArgs),
    /// Pull an image from a registry
    Pull(pull::PullArgs),
    /// Save images to an archive
    Save(archive::SaveArgs),
    /// Load images from an archive
    Load(archive::LoadArgs),
    /// Add names to an image
    Tag(tag::TagArgs),
    /// Remove names from an image
    Untag(tag::UntagArgs),
    /// Create an image from a root filesystem tarball
    Import(import::ImportArgs),
    /// Show what an image changes against its parent layer or another image
    Diff(diff::ImageDiffArgs),
    /// Remove unused images
    Prune(system::ImagePruneArgs),
    /// Show the history of an image
    History(history::HistoryArgs),
    /// Show the layers of an image as a tree
    Tree(history::TreeArgs),
    /// Mount an image read-only (inside a user namespace) and print where
    Mount(mount::ImageMountArgs),
    /// Unmount images mounted with image mount
    #[command(visible_alias = "umount")]
    Unmount(mount::ImageUnmountArgs),
    /// Push an image to a registry
    Push(push::PushArgs),
    /// Exit 0 when an image exists, 1 when it does not
    Exists(ImageExistsArgs),
    /// Search registries for images
    Search(search::SearchArgs),
    /// Show or set the signature policy that pulls obey
    #[command(subcommand)]
    Trust(trust::TrustCommand),
}

#[derive(Debug, clap::Args)]
pub struct NotifyRelayArgs {
    /// The pid of the container's monitor, the unit's main process
    pub monitor: i32,
}

#[derive(Debug, clap::Args)]
pub struct ImageExistsArgs {
    /// The image, by name or id
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

/// Output to a pipe whose reader went (`hutch ps | head -1`) ends the
/// command quietly with 141, the status of a process killed by SIGPIPE,
/// as Podman's does, instead of a panic: `println!` panics on EPIPE
/// because Rust ignores the signal (which the helpers and the forwarder
/// rely on for their sockets).
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let text = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if text.starts_with("failed printing to std") && text.contains("os error 32") {
            std::process::exit(141);
        }
        default(info)
    }));
}

/// Parses the command line, runs the command and returns the exit code.
pub fn main() -> i32 {
    quiet_on_closed_stdout();
    if let Some(code) = quadlet::generator_main() {
        return code;
    }
    let cli = match parse::parse_from(std::env::args_os()) {
        Ok(c) => c,
        Err(parse::ParseError::Clap(e)) => {
            let code = if e.use_stderr() { EXIT_TOOL } else { 0 };
            let _ = e.print();
            return code;
        }
        Err(parse::ParseError::Refused(r)) => {
            report_error(&Error::Usage(r.to_string()));
            return EXIT_TOOL;
        }
        Err(parse::ParseError::Missing(m)) => {
            report_error(&Error::Usage(m));
            return EXIT_TOOL;
        }
    };
    let Some(level) = log_level_filter(&cli.log_level) else {
        // Podman's words and exit status, which scripts may match.
        eprintln!(
            "Log Level {:?} is not supported, choose from: trace, debug, info, warn, warning, error, fatal, panic",
            cli.log_level
        );
        return 1;
    };
    if let Err(code) = start_logging(&cli, level) {
        return code;
    }
    let engine = match open_engine(&cli) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let result = match cli.command {
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => pull::run(&engine, a),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => push::run(&engine, a),
        Command::Login(a) => login::login(&engine, a),
        Command::Logout(a) => login::logout(&engine, a),
        Command::Search(a) | Command::Image(ImageCommand::Search(a)) => search::run(&engine, a),
        Command::Manifest(c) => manifest::run(&engine, c),
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::run(&engine, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => rmi::run(&engine, a),
        Command::Image(ImageCommand::Inspect(a)) => inspect::run(&engine, a),
        Command::Image(ImageCommand::Trust(c)) => trust::run(&engine, c),
        Command::Image(ImageCommand::Exists(a)) => engine
            .inspect_image(&a.image)
            .map(|found| i32::from(found.is_none()))
            .map_err(Error::from),
        Command::Run(a) => run::run(&engine, a),
        Command::Version(a) => version::run(a),
        Command::Info(a) => info::run(&engine, a),
        Command::Doctor(a) => doctor::run(&engine, a),
        Command::Ps(a) => ps::run(&engine, a),
        Command::Logs(a) => logs::run(&engine, a),
        Command::Inspect(a) => inspect::run_object(&engine, a),
        Command::Stop(a) => lifecycle::stop(&engine, a),
        Command::Kill(a) => lifecycle::kill(&engine, a),
        Command::Rm(a) => lifecycle::rm(&engine, a),
        Command::Wait(a) => lifecycle::wait(&engine, a),
        Command::Top(a) => top::run(&engine, a),
        Command::Rename(a) => rename::run(&engine, a),
        Command::Unshare(a) => unshare::run(&engine, a),
        Command::Port(a) => port::run(&engine, a),
        Command::Container(c) => container::run(&engine, c),
        Command::Create(a) => run::create(&engine, a),
        Command::Start(a) => lifecycle::start(&engine, a),
        Command::Init(a) => cleanup::init(&engine, a),
        Command::Restart(a) => lifecycle::restart(&engine, a),
        Command::Exec(a) => exec::run(&engine, a),
        Command::Attach(a) => attach::run(&engine, a),
        Command::Cp(a) => cp::run(&engine, a),
        Command::Diff(a) => diff::run(&engine, a),
        Command::Commit(a) => commit::run(&engine, a),
        Command::Build(a) | Command::Image(ImageCommand::Build(a)) => build::run(&engine, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => archive::save(&engine, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => archive::load(&engine, a),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => tag::tag(&engine, a),
        Command::Untag(a) | Command::Image(ImageCommand::Untag(a)) => tag::untag(&engine, a),
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => import::import(&engine, a),
        Command::Export(a) => import::export(&engine, a),
        Command::Events(a) => events::run(&engine, a),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => {
            history::history(&engine, a)
        }
        Command::Image(ImageCommand::Tree(a)) => history::tree(&engine, a),
        Command::Image(ImageCommand::Diff(a)) => diff::image_diff(&engine, a),
        Command::Image(ImageCommand::Prune(a)) => system::image_prune(&engine, a),
        Command::Image(ImageCommand::Mount(a)) => mount::image_mount(&engine, a),
        Command::Mount(a) => mount::mount(&engine, a),
        Command::Unmount(a) => mount::unmount(&engine, a),
        Command::Image(ImageCommand::Unmount(a)) => mount::image_unmount(&engine, a),
        Command::System(system::SystemCommand::Check(a)) => check::check(&engine, a),
        Command::System(system::SystemCommand::Connection(c)) => connection::run(&engine, c),
        Command::System(system::SystemCommand::Df(a)) => system::df(&engine, a),
        Command::System(system::SystemCommand::Prune(a)) => system::system_prune(&engine, a),
        Command::System(system::SystemCommand::Reset(a)) => system::reset(&engine, a),
        Command::System(system::SystemCommand::Info(a)) => info::run(&engine, a),
        Command::System(system::SystemCommand::Service(a)) => service::run(&engine, a),
        // Each container has its own lock file: no numbers to hand out again.
        Command::System(system::SystemCommand::Renumber(_)) => Ok(0),
        Command::System(system::SystemCommand::Migrate(_)) => {
            engine.migrate_store().map(|()| 0).map_err(Error::from)
        }
        Command::Pause(a) => cgroups::pause(&engine, a, true),
        Command::Unpause(a) => cgroups::pause(&engine, a, false),
        Command::Update(a) => cgroups::update(&engine, a),
        Command::Stats(a) => cgroups::stats(&engine, a),
        Command::Volume(c) => volume::run(&engine, c),
        Command::Network(c) => netcmd::run(&engine, c),
        Command::NetworkHolder => netcmd::holder(&engine),
        Command::Pod(c) => pod::run(&engine, c),
        Command::Secret(c) => secret::run(&engine, c),
        Command::Quadlet(c) => quadlet::run(engine.paths(), c),
        Command::Cdi(c) => cdi::run(c),
        Command::PodInfra(a) => pod::infra(&engine, a),
        Command::Monitor(a) => lifecycle::monitor(&engine, a),
        Command::Healthcheck(c) => health::run(&engine, c),
        Command::Generate(generate::GenerateCommand::Kube(a)) => kube::generate(&engine, a),
        Command::Generate(c) => {
            generate::run(&engine, c, cli.root.as_deref(), cli.runroot.as_deref())
        }
        Command::AutoUpdate(a) => autoupdate::run(&engine, a),
        Command::Kube(c) => kube::run(&engine, c),
        Command::Play(kube::PlayCommand::Kube(a)) => kube::play(&engine, a),
        Command::HealthTimer(a) => health::helper(&engine, a),
        Command::PortForward(a) => port::forward(a),
        Command::NotifyRelay(a) => crate::container::notify::relay(a.monitor)
            .map(|()| 0)
            .map_err(|e| Error::Usage(format!("relaying readiness messages: {e}"))),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            e.exit_code()
        }
    }
}

/// Applies the global flags: `--noout`, the storage driver, the paths and
/// the engine's settings. Errors are reported here; the exit code is
/// returned.
fn open_engine(cli: &Cli) -> Result<crate::container::Engine, i32> {
    if cli.noout {
        if let Err(e) = crate::container::system::discard_stdout() {
            report_error(&Error::Usage(format!("--noout: opening /dev/null: {e}")));
            return Err(EXIT_TOOL);
        }
    }
    if let Err(e) = check_storage_driver(cli.storage_driver.as_deref()) {
        report_error(&e);
        return Err(e.exit_code());
    }
    let mut paths = Paths::new(cli.root.clone(), cli.runroot.clone());
    paths.volume_path = cli.volumepath.clone();
    paths.network_cmd_path = cli.network_cmd_path.clone();
    // The store is moved to node-local disk before anything (the event
    // log) is placed in it.
    let engine = crate::container::Engine::new(paths)
        .on_warning(warn)
        .keep_store_local()
        .and_then(|e| e.with_cgroup_manager(cli.cgroup_manager.as_deref()))
        .and_then(|e| e.with_events_backend(cli.events_backend.as_deref(), warn))
        .and_then(|e| e.with_network_config_dir(cli.network_config_dir.as_deref()));
    engine.map_err(|e| {
        let e = Error::from(e);
        report_error(&e);
        e.exit_code()
    })
}

/// Starts logging at `level` (to syslog too with `--syslog`); on
/// failure, the exit code.
fn start_logging(cli: &Cli, level: log::LevelFilter) -> Result<(), i32> {
    let syslog = match cli.syslog {
        true => match open_syslog() {
            Ok(s) => Some(s),
            Err(e) => {
                // Podman's words and exit status.
                eprintln!("Failed to initialize syslog hook: {e}");
                return Err(1);
            }
        },
        false => None,
    };
    init_logging(level, syslog);
    // --tmpdir names libpod's state directory; hutch has no such state
    // (its own is under --runroot and --root), so the path is only
    // accepted (clap refuses an empty one).
    let _ = &cli.tmpdir;
    Ok(())
}

/// Prints the one `Error:` line and the optional `Hint:` line.
pub fn report_error(e: &Error) {
    eprintln!("Error: {}", render_chain(e));
    if let Some(h) = e.hint() {
        eprintln!("Hint: {h}");
    }
}

/// Reports a failed removal (`rm`, `rmi`, `volume rm`) and folds its exit
/// code into `code` as Podman does: 1 for something missing, 2 for
/// something in use, 125 for anything else, the worst one winning.
pub fn report_removal(e: crate::container::Error, code: &mut i32) {
    let this = e.removal_exit_code();
    report_error(&Error::from(e));
    let rank = |c: i32| match c {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 3,
    };
    if rank(this) > rank(*code) {
        *code = this;
    }
}

/// Prints a degraded-host warning line.
pub fn warn(line: &str) {
    eprintln!("Warning: {line}");
}

struct StderrLogger {
    level: log::LevelFilter,
    /// `--syslog`: the socket connected to the syslog daemon.
    syslog: Option<std::os::unix::net::UnixDatagram>,
}

/// Connects to the syslog daemon's socket.
fn open_syslog() -> std::io::Result<std::os::unix::net::UnixDatagram> {
    let sock = std::os::unix::net::UnixDatagram::unbound()?;
    sock.connect(crate::paths::SYSLOG_SOCKET)?;
    Ok(sock)
}

/// One syslog message (RFC 3164 without the time and host, which the
/// daemon adds): facility user, the record's severity, tag `hutch[PID]`.
fn syslog_line(level: log::Level, pid: u32, message: &str) -> String {
    let severity = match level {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    };
    format!("<{}>hutch[{pid}]: {message}", 8 + severity)
}

impl log::Log for StderrLogger {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= self.level
    }
    fn log(&self, r: &log::Record<'_>) {
        if self.enabled(r.metadata()) {
            eprintln!(
                "{}[{}] {}",
                r.level().as_str().to_lowercase(),
                r.target(),
                r.args()
            );
            if let Some(sock) = &self.syslog {
                let line = syslog_line(r.level(), std::process::id(), &r.args().to_string());
                // A message syslog does not take is still on stderr.
                let _ = sock.send(line.as_bytes());
            }
        }
    }
    fn flush(&self) {}
}

fn init_logging(level: log::LevelFilter, syslog: Option<std::os::unix::net::UnixDatagram>) {
    if log::set_boxed_logger(Box::new(StderrLogger { level, syslog })).is_ok() {
        log::set_max_level(level);
    }
}

/// Prints pull notices to stderr unless quiet.
pub struct StderrReporter {
    /// Suppress everything.
    pub quiet: bool,
}

impl crate::image::Reporter for StderrReporter {
    fn notice(&self, line: &str) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

impl crate::container::Progress for StderrReporter {
    fn warn(&self, line: &str) {
        warn(line);
    }

    fn cleanup_failed(&self, error: &crate::container::Error) {
        eprintln!("Error: {}", render_chain(error));
        if let Some(h) = error.hint() {
            eprintln!("Hint: {h}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn log_levels_are_podmans() {
        assert_eq!(log_level_filter("warning"), Some(log::LevelFilter::Warn));
        assert_eq!(log_level_filter("panic"), Some(log::LevelFilter::Error));
        assert_eq!(log_level_filter("trace"), Some(log::LevelFilter::Trace));
        assert_eq!(log_level_filter("Debug"), None);
        assert_eq!(log_level_filter("bogus"), None);
    }

    #[test]
    fn syslog_lines_carry_facility_user_and_the_severity() {
        assert_eq!(
            syslog_line(log::Level::Error, 7, "boom"),
            "<11>hutch[7]: boom"
        );
        assert_eq!(syslog_line(log::Level::Warn, 1, "w"), "<12>hutch[1]: w");
        assert_eq!(syslog_line(log::Level::Info, 1, "i"), "<14>hutch[1]: i");
        assert_eq!(syslog_line(log::Level::Trace, 1, "t"), "<15>hutch[1]: t");
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_passes_everything_after_the_image_to_the_command() {
        for (args, cmd) in [
            (
                &["img", "ls", "-la", "--rm"][..],
                &["ls", "-la", "--rm"][..],
            ),
            (&["img", "-c", "echo hi"][..], &["-c", "echo hi"][..]),
            (&["img", "--name", "x"][..], &["--name", "x"][..]),
            (&["img"][..], &[][..]),
        ] {
            let mut argv = vec!["hutch", "run", "--rm", "-e", "A=1"];
            argv.extend_from_slice(args);
            let cli = parse::parse_from(argv).unwrap();
            let Command::Run(r) = cli.command else {
                panic!("not run")
            };
            assert!(r.rm);
            assert_eq!(r.image(), "img");
            assert_eq!(r.command(), cmd);
        }
    }

    #[test]
    fn exec_passes_everything_after_the_container_to_the_command() {
        let cli = parse::parse_from([
            "hutch", "exec", "-it", "-e", "A=1", "-u", "1000", "web", "ls", "-la", "-u",
        ])
        .unwrap();
        let Command::Exec(e) = cli.command else {
            panic!("not exec")
        };
        assert!(e.interactive && e.tty && !e.detach);
        assert_eq!(e.env, vec!["A=1"]);
        assert_eq!(e.user.as_deref(), Some("1000"));
        assert_eq!(e.target, vec!["web", "ls", "-la", "-u"]);
        let cli = parse::parse_from(["hutch", "exec", "web", "-e", "X"]).unwrap();
        let Command::Exec(e) = cli.command else {
            panic!("not exec")
        };
        assert!(e.env.is_empty());
        assert_eq!(e.target, vec!["web", "-e", "X"]);
        // `exec -l CMD` has no container: the missing command is found
        // after the container is looked up, as Podman does.
        assert!(parse::parse_from(["hutch", "exec"]).is_err());
        let cli = parse::parse_from(["hutch", "exec", "-l", "ls", "-a"]).unwrap();
        let Command::Exec(e) = cli.command else {
            panic!("not exec")
        };
        assert!(e.latest.latest);
        assert_eq!(e.target, vec!["ls", "-a"]);
    }

    #[test]
    fn repeated_flags_take_the_last_value_and_booleans_take_values() {
        let cli = parse::parse_from([
            "hutch",
            "run",
            "--name",
            "a",
            "--name",
            "b",
            "--rm=true",
            "-i=false",
            "-t",
            "img",
        ])
        .unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.name.as_deref(), Some("b"));
        assert!(r.rm && !r.interactive && r.tty);
        let cli = parse::parse_from(["hutch", "run", "--rm", "--rm=false", "-it", "img"]).unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert!(!r.rm && r.interactive && r.tty);
    }

    #[test]
    fn run_accepts_short_hostname_flag() {
        let cli = parse::parse_from(["hutch", "run", "-h", "box", "-it", "img"]).unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.hostname.as_deref(), Some("box"));
        assert!(r.interactive && r.tty);
    }
}
