//! `hutch unshare`: a shell or command as root in the user's user
//! namespace (the container's default id maps), as Podman's `unshare`, so
//! that files owned by subordinate ids can be inspected and removed.

use clap::Args;

use crate::container::system::UnshareOutcome as Outcome;
use crate::container::Engine;
use crate::error::{Error, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND};

#[derive(Debug, Args)]
pub struct UnshareArgs {
    /// Run in the network holder's user and network namespaces, where the user-defined networks' bridges live
    #[arg(long)]
    pub rootless_netns: bool,
    /// Command and arguments (default: $SHELL, else /bin/sh)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub command: Vec<String>,
}

/// Runs the command and returns its exit code.
pub fn run(engine: &Engine, args: UnshareArgs) -> Result<i32, Error> {
    if let Some(reason) = engine.fallback_reason()?.filter(|_| !args.rootless_netns) {
        super::warn(&format!(
            "{reason}: only your own uid is mapped (as root); files of other ids stay out of reach"
        ));
    }
    let command = if args.command.is_empty() {
        vec![std::env::var("SHELL")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/bin/sh".to_string())]
    } else {
        args.command
    };
    let outcome = match args.rootless_netns {
        true => engine.unshare_rootless_netns(&command)?,
        false => engine.unshare(&command)?,
    };
    match outcome {
        Outcome::Exited(code) => Ok(code),
        Outcome::NotFound(name) => {
            super::report_error(&Error::Usage(format!("{name}: command not found")));
            Ok(EXIT_NOT_FOUND)
        }
        Outcome::CannotInvoke(name, errno) => {
            super::report_error(&Error::Usage(format!(
                "{name}: cannot run it: {}",
                errno.desc()
            )));
            Ok(EXIT_CANNOT_INVOKE)
        }
    }
}
