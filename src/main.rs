//! hutch: rootless, daemonless containers.
//!
//! `main` parses the command line, dispatches to `cli`, prints the one error
//! line (and hint) on failure and exits with the code `error` maps it to.
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod api;
mod cgroup;
mod cli;
mod container;
mod error;
mod files;
mod image;
mod net;
mod paths;
mod runtime;
mod storage;
mod sys;
mod userns;

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = cli::main();
    // A container killed by --timeout exited -1, which exit(2) reports as
    // 255, as Podman's does.
    let byte = match code {
        -1 => u8::MAX,
        c => u8::try_from(c).unwrap_or(error::EXIT_TOOL as u8),
    };
    ExitCode::from(byte)
}
