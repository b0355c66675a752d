//! Networking: which user-space network helpers exist.
//!
//! Containers get a network namespace with loopback only for now; the
//! slirp4netns/pasta helpers are found here and reported by `info`. It must
//! not configure anything inside a container yet.

use std::path::{Path, PathBuf};

/// A network helper found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Helper {
    /// `pasta` or `slirp4netns`.
    pub name: &'static str,
    /// Where it was found.
    pub path: PathBuf,
}

/// The helpers found in `path_var` (a `PATH` value), pasta first.
pub fn find_helpers(path_var: &str) -> Vec<Helper> {
    ["pasta", "slirp4netns"]
        .into_iter()
        .filter_map(|name| find_in_path(path_var, name).map(|path| Helper { name, path }))
        .collect()
}

fn find_in_path(path_var: &str, name: &str) -> Option<PathBuf> {
    path_var
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}
