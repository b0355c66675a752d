//! Raw system calls: the only module allowed `unsafe`.
//!
//! Exposes safe, typed wrappers (`OwnedFd`, `Pid`, flags) over syscalls
//! that nix does not cover. It must not contain policy: no paths, no
//! container logic, no printing.
#![allow(unsafe_code)]

pub mod caps;
pub mod child;
pub mod cmdline;
pub mod fs;
pub mod fxattr;
pub mod idmap;
pub mod mem;
pub mod mount;
pub mod netif;
pub mod process;
pub mod pty;
pub mod reexec;
pub mod seccomp;
pub mod socket;
pub mod spawn;
pub mod xattr;
