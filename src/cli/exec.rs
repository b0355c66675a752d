//! `hutch exec`: run a command in a running container.

use clap::Args;

use crate::container::access;
use crate::container::exec::ExecOptions;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Keep stdin open
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-terminal
    #[arg(short, long)]
    pub tty: bool,
    /// Start the command in the background and return at once
    #[arg(short, long)]
    pub detach: bool,
    /// Set an environment variable (NAME=VALUE, or NAME to copy it from the host)
    #[arg(short, long = "env", value_name = "ENV")]
    pub env: Vec<String>,
    /// Read environment variables from a file (NAME=VALUE lines)
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Run as this user[:group] (names or numeric ids)
    #[arg(short, long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Give the command every capability
    #[arg(long)]
    pub privileged: bool,
    /// Add a capability (CHOWN, CAP_NET_RAW, all…)
    #[arg(long, value_name = "CAPABILITY")]
    pub cap_add: Vec<String>,
    /// Drop a capability (CHOWN, CAP_NET_RAW, all…)
    #[arg(long, value_name = "CAPABILITY")]
    pub cap_drop: Vec<String>,
    /// Pass hutch's file descriptors 3 to 3+N-1 on to the command
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub preserve_fds: u32,
    /// Keys that would detach from the command (checked; the foreground hutch waits for it and stays)
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// The container (by name or id; left out with --latest), then the
    /// command and its arguments; everything after CONTAINER is the
    /// command's, dashes included
    #[arg(
        value_name = "CONTAINER COMMAND [ARG...]",
        required = true,
        num_args = 1..,
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub target: Vec<String>,
}

/// The mask of the capabilities `names` name, or a usage error.
fn parse_caps(names: &[String]) -> Result<u64, Error> {
    access::parse_caps(names).map_err(|e| Error::Usage(e.to_string()))
}

/// Runs the command and returns its exit code (0 at once with `-d`).
pub fn run(engine: &Engine, args: ExecArgs) -> Result<i32, Error> {
    // Before anything opens a file that could take one of their numbers.
    crate::container::exec::check_preserved_fds(args.preserve_fds)?;
    if let Some(keys) = &args.detach_keys {
        crate::container::attach::parse_detach_keys(keys).map_err(super::attach::from_attach)?;
    }
    // Flags stop at the container, so an unknown one before it lands here.
    if let Some(flag) = args.target.first().filter(|t| t.starts_with('-')) {
        return Err(Error::Usage(format!("unknown flag: {flag}")));
    }
    let mut command = args.target;
    let given = Some(command.remove(0));
    let container = super::pick::one(engine, given, args.latest.latest, Some(&mut command))?;
    if command.is_empty() {
        // Podman looks the container up first, then wants a command.
        engine.container_id(&container)?;
        return Err(Error::Usage(
            "must provide a non-empty command to start an exec session".into(),
        ));
    }
    let env_files = crate::container::read_env_files(&args.env_file)?;
    let opts = ExecOptions {
        container,
        command,
        env: args.env,
        env_files,
        user: args.user,
        workdir: args.workdir,
        interactive: args.interactive,
        tty: args.tty,
        detach: args.detach,
        privileged: args.privileged,
        cap_add: parse_caps(&args.cap_add)?,
        cap_drop: parse_caps(&args.cap_drop)?,
        preserve_fds: args.preserve_fds,
    };
    Ok(engine.exec(&opts)?)
}
