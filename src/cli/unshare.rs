//! `hutch unshare`: a shell or command as root in the user's user
//! namespace (the container's default id maps), as Podman's `unshare`, so
//! that files owned by subordinate ids can be inspected and removed.

use clap::Args;

use crate::container::Engine;
use crate::error::{Error, EXIT_CANNOT_INVOKE, EXIT_NOT_FOUND};
use crate::paths::{ENV_ROOT, ENV_RUNROOT};
use crate::userns::{self, unshare::Outcome};

#[derive(Debug, Args)]
pub struct UnshareArgs {
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
    let paths = engine.paths();
    let maps = userns::current_user_maps(paths.etc())?;
    if let Some(reason) = &maps.fallback_reason {
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
    // Hints for scripts: where the store is, as `podman unshare` does.
    let env = [
        (
            ENV_ROOT.to_string(),
            paths.root.to_string_lossy().into_owned(),
        ),
        (
            ENV_RUNROOT.to_string(),
            paths.runroot.to_string_lossy().into_owned(),
        ),
    ];
    match userns::unshare::run_command(&maps, &command, &env)? {
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
