//! The identity of a new container: its final id maps under `--userns`,
//! `--uidmap` and `--gidmap`, the layer copies those maps need, and the
//! plan's `Identity` (keep-id user, `--group-add`, `--device`).

use std::path::PathBuf;

use super::create::UsernsRequest;
use super::Error;
use crate::runtime::devices;
use crate::runtime::identity::{Identity, KeepIdUser, KEEP_GROUPS};
use crate::storage::{ContainerDirs, LayerRef, Store};
use crate::userns::mode::{self, Mode, Planned, Request};
use crate::userns::{self, IdMaps};

/// What the flags plan: the container's maps, how layers must be
/// shifted for them, and the identity part of the plan.
pub struct UsernsPlan {
    /// The maps to write for the container.
    pub maps: IdMaps,
    /// Set when the maps differ from the default ones.
    pub shift: Option<Planned>,
    /// keep-id user, groups, devices.
    pub identity: Identity,
    /// `uid:gid` to run as when `-u` is not given (keep-id).
    pub default_user: Option<String>,
}

/// The overlay lower directories (top first) for `layers` as the planned
/// maps need them: the unpacked layers for the default maps, else their
/// shifted copies (made now when missing). Without the user in the new
/// maps, the container's upper and work directories are first given to
/// its root, which its init could not do itself (`identity::claim_upper`).
pub fn prepare_lowers(
    store: &Store,
    layers: &[LayerRef],
    dirs: &ContainerDirs,
    default: &IdMaps,
    ids: &UsernsPlan,
) -> Result<Vec<PathBuf>, Error> {
    let Some(shift) = &ids.shift else {
        return Ok(layers
            .iter()
            .rev()
            .map(|l| store.layer_path(&l.diff_id))
            .collect());
    };
    if let Some((uid, gid)) = unmapped_users_root(ids) {
        store
            .give_container_dirs(dirs, default, uid, gid)
            .map_err(Error::Store)?;
    }
    let diff_ids: Vec<_> = layers.iter().rev().map(|l| l.diff_id.clone()).collect();
    store
        .shifted_layers(&diff_ids, default, &shift.inter_uids, &shift.inter_gids)
        .map_err(Error::Store)
}

/// The container's root as intermediate ids (in the user's `default`
/// namespace), when the planned maps leave the user out (nomap,
/// `--uidmap`): what the user's own directories are given to.
pub fn unmapped_users_root(ids: &UsernsPlan) -> Option<(u32, u32)> {
    let shift = ids.shift.as_ref()?;
    let is_user_mapped = shift.inter_uids.iter().any(|m| m.host == 0)
        && shift.inter_gids.iter().any(|m| m.host == 0);
    if is_user_mapped {
        return None;
    }
    Some((
        mode::map_id(&shift.inter_uids, 0)?,
        mode::map_id(&shift.inter_gids, 0)?,
    ))
}

/// Gives the new volumes of `volumes` (those the container fills first:
/// `copy_up`) to `root` (see `unmapped_users_root`), as Podman gives a new
/// volume to the container that first uses it: its root could not write
/// them, nor give them the image directory's owner, otherwise.
pub fn give_new_volumes(
    store: &Store,
    volumes: &crate::runtime::volumes::Volumes,
    default: &IdMaps,
    root: (u32, u32),
) -> Result<(), Error> {
    let paths: Vec<PathBuf> = volumes
        .mounts
        .iter()
        .filter(|m| m.copy_up)
        .filter_map(|m| m.host_path.clone())
        .collect();
    if paths.is_empty() {
        return Ok(());
    }
    store
        .give_volume_dirs(paths, default, root.0, root.1)
        .map_err(Error::Store)
}

/// Checks the flags against the user's `default` maps; everything is
/// refused here, before any container exists (exit 125).
pub fn plan(args: &UsernsRequest, default: &IdMaps) -> Result<UsernsPlan, Error> {
    let req = Request {
        mode: args
            .mode
            .as_deref()
            .map(mode::parse_mode)
            .transpose()
            .map_err(userns::Error::from)?,
        uidmap: mode::parse_maps("--uidmap", &args.uidmap).map_err(userns::Error::from)?,
        gidmap: mode::parse_maps("--gidmap", &args.gidmap).map_err(userns::Error::from)?,
    };
    let uid = nix::unistd::getuid();
    let gid = nix::unistd::getgid();
    let shift =
        mode::plan(&req, uid.as_raw(), gid.as_raw(), default).map_err(userns::Error::from)?;
    let mut identity = Identity::default();
    let mut default_user = None;
    if let Some(Mode::KeepId { uid: u, gid: g }) = &req.mode {
        let (cuid, cgid) = (u.unwrap_or(uid.as_raw()), g.unwrap_or(gid.as_raw()));
        let user = nix::unistd::User::from_uid(uid).ok().flatten();
        let name = user
            .as_ref()
            .map_or_else(|| format!("user{}", uid.as_raw()), |u| u.name.clone());
        let home = user
            .as_ref()
            .map_or_else(|| "/".to_string(), |u| u.dir.to_string_lossy().into_owned());
        let group = nix::unistd::Group::from_gid(gid)
            .ok()
            .flatten()
            .map_or_else(|| name.clone(), |g| g.name);
        identity.keep_id = Some(KeepIdUser {
            name,
            uid: cuid,
            gid: cgid,
            group,
            home,
        });
        default_user = Some(format!("{cuid}:{cgid}"));
    }
    for g in &args.group_add {
        if g == KEEP_GROUPS {
            identity.keep_groups = true;
        } else if g.is_empty() || g.contains(':') {
            return Err(Error::InvalidGroupAdd(g.clone()));
        } else {
            identity.group_add.push(g.clone());
        }
    }
    if identity.keep_groups && !identity.group_add.is_empty() {
        return Err(Error::KeepGroupsWithOthers);
    }
    // CDI names (`vendor.com/class=name`) are resolved by `cdi`.
    for d in args.device.iter().filter(|d| !super::cdi::is_cdi_name(d)) {
        let dev = devices::parse(d).map_err(Error::Device)?;
        devices::check(&dev).map_err(Error::Device)?;
        identity.devices.push(dev);
    }
    let maps = shift
        .as_ref()
        .map_or_else(|| default.clone(), |p| p.host.clone());
    Ok(UsernsPlan {
        maps,
        shift,
        identity,
        default_user,
    })
}
