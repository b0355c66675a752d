//! The user-namespace, group and device flags of `run` and `create`
//! (`--userns`, `--uidmap`, `--gidmap`, `--group-add`, `--device`), turned
//! into final id maps and the plan's `Identity`.

use clap::Args;

use crate::container::UsernsRequest;

/// The user-namespace flags of `run` and `create`.
#[derive(Debug, Args)]
pub struct UsernsArgs {
    /// User namespace mode: host (default), keep-id[:uid=UID,gid=GID], nomap or auto
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// Map container uids: CONTAINER:HOST:SIZE, HOST counting from your uid (0) then your subordinate uids
    #[arg(long, value_name = "CONTAINER:HOST:SIZE")]
    pub uidmap: Vec<String>,
    /// Map container gids: CONTAINER:HOST:SIZE, HOST counting from your gid (0) then your subordinate gids
    #[arg(long, value_name = "CONTAINER:HOST:SIZE")]
    pub gidmap: Vec<String>,
    /// Add a supplementary group (name or gid), or keep-groups to keep yours
    #[arg(long, value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Add a host device the user can open: HOST[:CONTAINER][:PERMISSIONS]
    #[arg(long, value_name = "DEVICE")]
    pub device: Vec<String>,
    /// GPUs to add, Docker's shorthand for --device nvidia.com/gpu=…: all, a count N, or device=ID[,ID…] (index or UUID)
    #[arg(long, value_name = "GPUS")]
    pub gpus: Vec<String>,
}

impl UsernsArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> UsernsRequest {
        UsernsRequest {
            mode: self.userns.clone(),
            uidmap: self.uidmap.clone(),
            gidmap: self.gidmap.clone(),
            group_add: self.group_add.clone(),
            device: self.device.clone(),
            gpus: self.gpus.clone(),
        }
    }
}
