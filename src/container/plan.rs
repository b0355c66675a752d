//! A container as plain data, computed without I/O before the first fork.

use std::path::PathBuf;

use crate::image::RuntimeConfig;
use crate::storage::ContainerDirs;
use crate::userns::IdMaps;

/// What the user asked for on the `run` command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Command and arguments after the image name.
    pub command: Vec<String>,
    /// `--entrypoint`: `Some("")` clears the image's entrypoint.
    pub entrypoint: Option<String>,
    /// `-e`, in order (`NAME=VALUE`, or `NAME` to copy from the host).
    pub env: Vec<String>,
    /// Lines of each `--env-file`, already read, in order.
    pub env_files: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u user[:group]`.
    pub user: Option<String>,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `-i`.
    pub interactive: bool,
    /// `-t`.
    pub tty: bool,
}

/// Everything needed to start one container.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Container id (64 hex).
    pub id: String,
    /// The container's directories in the store.
    pub dirs: ContainerDirs,
    /// Unpacked layer directories, top first (overlay lowerdir order).
    pub lowers: Vec<PathBuf>,
    /// uid/gid maps.
    pub maps: IdMaps,
    /// Host name inside the container.
    pub hostname: String,
    /// argv of the process.
    pub args: Vec<String>,
    /// Environment of the process, `NAME=VALUE`.
    pub env: Vec<String>,
    /// Working directory inside the container.
    pub cwd: String,
    /// `user[:group]` to resolve against the container's /etc/passwd and /etc/group.
    pub user: String,
    /// Allocate a pseudo-terminal.
    pub tty: bool,
    /// Keep stdin open (else the process gets /dev/null).
    pub interactive: bool,
}

impl Plan {
    /// Builds the plan for running `config`'s image with `opts`.
    pub fn new(
        id: String,
        dirs: ContainerDirs,
        lowers: Vec<PathBuf>,
        maps: IdMaps,
        config: &RuntimeConfig,
        opts: &RunOptions,
    ) -> Result<Plan, super::Error> {
        let _ = (id, dirs, lowers, maps, config, opts);
        Err(super::Error::Todo("plan"))
    }
}
