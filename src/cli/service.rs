//! `hutch system service`: the Docker Engine REST API on a socket, until
//! idle (the service itself is `api`).

use std::time::Duration;

use clap::Args;

use crate::api;
use crate::container::Engine;
use crate::error::Error;

/// The flags of `system service`.
#[derive(Debug, Args)]
pub struct ServiceArgs {
    /// Exit after this many seconds without a connection (0: never)
    #[arg(short, long, value_name = "SECONDS", default_value_t = 5)]
    pub time: u64,
    /// Set the Access-Control-Allow-Origin header of every response to ORIGIN
    #[arg(long, value_name = "ORIGIN")]
    pub cors: Option<String>,
    /// Allow a tcp:// URI, which has no access control: whoever reaches the port controls your containers
    #[arg(long)]
    pub allow_tcp: bool,
    /// Serve the connection on standard input and exit (how the service runs each connection)
    #[arg(long, hide = true)]
    pub serve_connection: bool,
    /// Where to listen: unix:///PATH (default $XDG_RUNTIME_DIR/hutch/hutch.sock) or tcp://HOST:PORT
    #[arg(value_name = "URI")]
    pub uri: Option<String>,
}

/// Serves until idle for `--time` seconds, or serves one connection.
pub fn run(engine: &Engine, args: ServiceArgs) -> Result<i32, Error> {
    if args.serve_connection {
        api::serve_connection(engine, args.cors)?;
        return Ok(0);
    }
    // Sealed once here, so that every connection's process, started from
    // our /proc/self/exe, already is for `exec` (see serve_connection).
    crate::container::system::ensure_sealed()?;
    let endpoint = api::parse_uri(args.uri.as_deref(), &engine.paths().api_socket())?;
    // Each connection's process gets the same global options and flags.
    let mut connection_args: Vec<_> = std::env::args_os().skip(1).collect();
    connection_args.push("--serve-connection".into());
    let opts = api::Options {
        endpoint,
        idle: (args.time > 0).then(|| Duration::from_secs(args.time)),
        is_tcp_allowed: args.allow_tcp,
        connection_args,
        cors: args.cors,
    };
    let activated = crate::container::system::take_activated_socket();
    api::listen(&opts, activated, &super::warn)?;
    Ok(0)
}
