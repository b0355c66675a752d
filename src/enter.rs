//! hutch-enter: the small helper that joins a running container for
//! `hutch exec` (issue #19). hutch seals a copy of it into a memfd and
//! executes that with the plan of the process to start; see
//! `runtime::enter`. It is not meant to be run by hand.
//!
//! It declares the modules hutch's runtime is built from, so that joining
//! runs the very code the container's init uses; only what
//! `runtime::enter::run_helper` reaches is linked, which keeps the
//! program small (no command line parser, store or HTTP client).
#![deny(unsafe_code)]
#![warn(clippy::undocumented_unsafe_blocks)]
#![deny(clippy::print_stdout, clippy::print_stderr)]
// Most of these modules serve hutch; this program uses a small part.
#![allow(dead_code, unused_imports)]

mod cgroup;
mod error;
mod net;
mod paths;
mod runtime;
mod storage;
mod sys;
mod userns;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    crate::runtime::enter::run_helper(&args)
}
