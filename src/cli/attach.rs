//! `hutch attach`: connects the terminal to a running detached container
//! through its monitor, until the container exits or the user detaches.

use clap::{ArgAction, Args};

use crate::container::attach::{self, Options, Outcome};
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The container, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub container: Option<String>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// Key sequence that detaches, leaving the container running (ctrl-<key> or characters, comma-separated; empty disables)
    #[arg(long, value_name = "KEYS", default_value = attach::DEFAULT_DETACH_KEYS)]
    pub detach_keys: String,
    /// Do not send stdin to the container
    #[arg(long)]
    pub no_stdin: bool,
    /// Pass signals hutch receives on to the container
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub sig_proxy: bool,
}

/// Attaches to a container; returns its exit code, or 0 after detaching.
pub fn run(engine: &Engine, args: AttachArgs) -> Result<i32, Error> {
    let opts = Options {
        detach_keys: attach::parse_detach_keys(&args.detach_keys).map_err(from_attach)?,
        is_stdin_sent: !args.no_stdin,
        // As Podman: the end of our input does not close the container's,
        // which other clients may still feed.
        is_stdin_closed_at_eof: false,
        is_sig_proxied: args.sig_proxy,
        is_replayed: false,
    };
    let name = super::pick::one(engine, args.container, args.latest.latest, None)?;
    outcome_code(engine.attach(&name, &opts))
}

/// The exit code of an attach: the container's, or 0 after detaching.
pub fn outcome_code(outcome: Result<Outcome, attach::Error>) -> Result<i32, Error> {
    match outcome.map_err(from_attach)? {
        Outcome::Exited(code) => Ok(code),
        Outcome::Detached => Ok(0),
    }
}

/// Carries an attach error in the top-level error; container errors keep
/// their own variant (and exit code).
pub fn from_attach(e: attach::Error) -> Error {
    match e {
        attach::Error::Container(c) => Error::from(*c),
        other => Error::from(other),
    }
}
