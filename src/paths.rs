//! Environment variable names and default locations, defined once.
//!
//! Every path hutch uses by default is computed here; nothing else reads
//! `HOME` or `XDG_*` directly.

use std::path::{Path, PathBuf};

/// Overrides the registries.conf path, as in Podman.
pub const ENV_REGISTRIES_CONF: &str = "CONTAINERS_REGISTRIES_CONF";
/// Overrides the store directory (same as `--root`).
pub const ENV_ROOT: &str = "HUTCH_ROOT";
/// Overrides the run directory (same as `--runroot`).
pub const ENV_RUNROOT: &str = "HUTCH_RUNROOT";

/// Where hutch keeps and reads its state.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The store: blobs, layers, containers and the metadata database.
    pub root: PathBuf,
    /// Volatile per-boot state.
    pub runroot: PathBuf,
    /// The user's config directory (`~/.config`).
    pub config_home: PathBuf,
    /// The system configuration directory, `/etc`.
    pub etc: PathBuf,
}

impl Paths {
    /// Computes the default paths for the current user, with overrides.
    pub fn new(root: Option<PathBuf>, runroot: Option<PathBuf>) -> Paths {
        let base = directories::BaseDirs::new();
        let home = base
            .as_ref()
            .map(|b| b.home_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from("/"));
        let data_home = base
            .as_ref()
            .map(|b| b.data_dir().to_path_buf())
            .unwrap_or_else(|| home.join(".local/share"));
        let config_home = base
            .as_ref()
            .map(|b| b.config_dir().to_path_buf())
            .unwrap_or_else(|| home.join(".config"));
        let root = root
            .or_else(|| std::env::var_os(ENV_ROOT).map(PathBuf::from))
            .unwrap_or_else(|| data_home.join("hutch"));
        let runroot = runroot
            .or_else(|| std::env::var_os(ENV_RUNROOT).map(PathBuf::from))
            .unwrap_or_else(default_runroot);
        Paths {
            root,
            runroot,
            config_home,
            etc: PathBuf::from("/etc"),
        }
    }

    /// The registries.conf files to consult, in order: the env override,
    /// else the user's file, else the system one (the first that exists wins).
    pub fn registries_conf_candidates(&self) -> Vec<PathBuf> {
        if let Some(p) = std::env::var_os(ENV_REGISTRIES_CONF) {
            return vec![PathBuf::from(p)];
        }
        vec![
            self.config_home.join("containers/registries.conf"),
            self.etc.join("containers/registries.conf"),
        ]
    }

    /// The system configuration directory.
    pub fn etc(&self) -> &Path {
        &self.etc
    }
}

fn default_runroot() -> PathBuf {
    let uid = nix::unistd::getuid();
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d).join("hutch"),
        _ => PathBuf::from(format!("/tmp/hutch-run-{uid}")),
    }
}
