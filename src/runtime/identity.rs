//! Who the container's process is beyond `-u`: the keep-id user's passwd
//! and group entries and home, `--group-add` (with `keep-groups`) and the
//! `--device` nodes, as plan data and the init steps that apply them.
//!
//! Init writes only beneath the root fd with openat2 `RESOLVE_IN_ROOT`
//! (an image's `/etc/passwd` that is a symlink out of the root resolves
//! back inside it) and only into regular files.

use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::fcntl::AtFlags;
use nix::unistd::{Gid, Uid};

use super::mounts;
use super::report::{Failure, Kind};
use super::user::ExecUser;
use crate::sys::fs::{openat2, Resolve};
use crate::userns::IdMaps;

/// The group-add value that keeps the caller's supplementary groups.
pub const KEEP_GROUPS: &str = "keep-groups";

/// The identity part of a plan; plans stored before #7 get the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    /// With `--userns=keep-id`: the user to add to /etc/passwd and
    /// /etc/group when missing.
    #[serde(default)]
    pub keep_id: Option<KeepIdUser>,
    /// `--group-add` groups (names or gids) besides `keep-groups`.
    #[serde(default)]
    pub group_add: Vec<String>,
    /// `--group-add keep-groups`: keep the caller's supplementary groups.
    #[serde(default)]
    pub keep_groups: bool,
    /// `--device` nodes to bind-mount into /dev.
    #[serde(default)]
    pub devices: Vec<super::devices::Device>,
    /// `--passwd`, `--passwd-entry` and `--hostuser` users to add where
    /// the image lacks their ids (#13).
    #[serde(default)]
    pub extra_users: Vec<ExtraUser>,
}

/// A user `run` adds to the container's /etc/passwd (and its group to
/// /etc/group) when the image has none with its id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtraUser {
    /// The uid the passwd line gives.
    pub uid: u32,
    /// The whole /etc/passwd line, without its newline.
    pub passwd_line: String,
    /// The gid and /etc/group line to add when the gid is missing.
    #[serde(default)]
    pub group: Option<(u32, String)>,
}

/// The keep-id user as the container sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeepIdUser {
    /// User name (the caller's).
    pub name: String,
    /// uid inside the container.
    pub uid: u32,
    /// gid inside the container.
    pub gid: u32,
    /// Group name for the gid's entry.
    pub group: String,
    /// Home directory (the caller's host path, as Podman uses).
    pub home: String,
}

/// Gives the overlay's upper directory to `root_owner` (the owner of the
/// image's `/`, root's for most images) and the work directory to the
/// container's root when other ids own them (a mode other than the
/// default maps the user elsewhere): the upper's owner is the owner of
/// `/`, and overlayfs mounts read-only when root cannot write the work
/// directory. A no-op (two stats) under the default maps.
pub fn claim_upper(dirs: &super::overlay::RootDirs, root_owner: (u32, u32)) -> Result<(), Failure> {
    for (dir, what, (uid, gid)) in [
        (&dirs.upper, "upper", root_owner),
        (&dirs.work, "work", (0, 0)),
    ] {
        let st = nix::sys::stat::fstat(dir.as_fd()).map_err(|e| {
            Failure::step(format!("inspecting the container's {what} directory"), e)
        })?;
        if st.st_uid != uid || st.st_gid != gid {
            // fchown refuses an O_PATH fd; an empty path with AT_EMPTY_PATH does not.
            nix::unistd::fchownat(
                dir.as_fd(),
                "",
                Some(Uid::from_raw(uid)),
                Some(Gid::from_raw(gid)),
                AtFlags::AT_EMPTY_PATH,
            )
            .map_err(|e| {
                Failure::step(
                    format!("giving the container's {what} directory to the owner of its /"),
                    e,
                )
            })?;
        }
    }
    Ok(())
}

/// The owner the container's `/` gets: the image root entry's when its
/// ids are mapped, else root.
pub fn root_owner(root_entry: Option<&crate::storage::RootEntry>, maps: &IdMaps) -> (u32, u32) {
    root_entry
        .map(|r| (r.uid, r.gid))
        .filter(|(u, g)| maps.host_uid(*u).is_some() && maps.host_gid(*g).is_some())
        .unwrap_or((0, 0))
}

/// Adds the keep-id user's passwd and group lines when the image lacks
/// its ids, and creates its home directory; runs as root in the
/// container's namespaces, before the root may become read-only.
pub fn add_keep_id_user(root: BorrowedFd<'_>, identity: &Identity) -> Result<(), Failure> {
    add_keep_id(root, identity)?;
    add_extra_users(root, &identity.extra_users)
}

/// Adds each of `users` whose uid /etc/passwd lacks, and its group line
/// where /etc/group lacks the gid, as Podman does for `--passwd` and
/// `--hostuser`.
fn add_extra_users(root: BorrowedFd<'_>, users: &[ExtraUser]) -> Result<(), Failure> {
    for u in users {
        if !has_id(&read_in_root(root, "etc/passwd")?, 7, u.uid) {
            append_in_root(root, "passwd", &format!("{}\n", u.passwd_line))?;
        }
        if let Some((gid, line)) = &u.group {
            if !has_id(&read_in_root(root, "etc/group")?, 4, *gid) {
                append_in_root(root, "group", &format!("{line}\n"))?;
            }
        }
    }
    Ok(())
}

/// The keep-id part of `add_keep_id_user`.
fn add_keep_id(root: BorrowedFd<'_>, identity: &Identity) -> Result<(), Failure> {
    let Some(k) = &identity.keep_id else {
        return Ok(());
    };
    let passwd = read_in_root(root, "etc/passwd")?;
    if !has_id(&passwd, 7, k.uid) {
        let line = format!(
            "{}:*:{}:{}:{}:{}:/bin/sh\n",
            k.name, k.uid, k.gid, k.name, k.home
        );
        append_in_root(root, "passwd", &line)?;
    }
    let group = read_in_root(root, "etc/group")?;
    if !has_id(&group, 4, k.gid) {
        append_in_root(root, "group", &format!("{}:x:{}:\n", k.group, k.gid))?;
    }
    let home = k.home.trim_start_matches('/');
    if home.is_empty() {
        return Ok(());
    }
    match openat2(root, Path::new(home), libc::O_PATH, 0, in_root()) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
            let dir = mounts::ensure_dir(root, home)?;
            nix::unistd::fchownat(
                dir.as_fd(),
                "",
                Some(Uid::from_raw(k.uid)),
                Some(Gid::from_raw(k.gid)),
                AtFlags::AT_EMPTY_PATH,
            )
            .map_err(|e| Failure::step(format!("giving {} to the user", k.home), e))
        }
        Err(e) => Err(Failure::io(
            format!("opening {} in the container", k.home),
            &e,
        )),
    }
}

/// Whether a passwd (`fields` = 7) or group (4) text has an entry with `id`.
fn has_id(text: &str, fields: usize, id: u32) -> bool {
    text.lines().any(|line| {
        let f: Vec<&str> = line.split(':').collect();
        f.len() >= fields && f[2].parse::<u32>() == Ok(id)
    })
}

/// Adds `--group-add` gids to `user` (names resolved against the
/// container's /etc/group beneath `root`) and marks keep-groups.
pub fn add_groups(
    root: BorrowedFd<'_>,
    user: &mut ExecUser,
    identity: &Identity,
) -> Result<(), Failure> {
    user.keep_groups = identity.keep_groups;
    if identity.group_add.is_empty() {
        return Ok(());
    }
    let group = read_in_root(root, "etc/group")?;
    for name in &identity.group_add {
        let gid = match name.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => group
                .lines()
                .find_map(|line| {
                    let f: Vec<&str> = line.split(':').collect();
                    (f.len() >= 4 && f[0] == name).then(|| f[2].parse::<u32>().ok())?
                })
                .ok_or_else(|| Failure {
                    kind: Kind::UnknownGroup,
                    errno: 0,
                    text: name.clone(),
                })?,
        };
        if !user.groups.contains(&gid) {
            user.groups.push(gid);
        }
    }
    Ok(())
}

/// Sets the supplementary groups for `user` before its gid and uid:
/// none are touched with keep-groups (the caller's stay, shown as the
/// overflow gid), a single-id map has setgroups denied, else the mapped ones.
pub fn set_groups(user: &ExecUser, maps: &IdMaps) -> Result<(), Failure> {
    if user.keep_groups || maps.is_single() {
        return Ok(());
    }
    let groups: Vec<Gid> = user
        .groups
        .iter()
        .filter(|g| maps.host_gid(**g).is_some())
        .map(|g| Gid::from_raw(*g))
        .collect();
    nix::unistd::setgroups(&groups).map_err(|e| Failure::step("setting supplementary groups", e))
}

fn in_root() -> Resolve {
    Resolve::IN_ROOT | Resolve::NO_MAGICLINKS
}

/// Reads a small regular file beneath `root`; missing reads empty.
fn read_in_root(root: BorrowedFd<'_>, path: &str) -> Result<String, Failure> {
    let fd = match openat2(
        root,
        Path::new(path),
        libc::O_RDONLY | libc::O_NONBLOCK,
        0,
        in_root(),
    ) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(String::new()),
        Err(e) => return Err(Failure::io(format!("opening /{path}"), &e)),
    };
    check_regular(&fd, path)?;
    let mut text = String::new();
    std::fs::File::from(fd)
        .read_to_string(&mut text)
        .map_err(|e| Failure::io(format!("reading /{path}"), &e))?;
    Ok(text)
}

/// Appends `line` to /etc/`name` beneath `root`, creating it when missing.
fn append_in_root(root: BorrowedFd<'_>, name: &str, line: &str) -> Result<(), Failure> {
    let etc = mounts::ensure_dir(root, "etc")?;
    let fd = match openat2(
        root,
        Path::new(&format!("etc/{name}")),
        libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_NONBLOCK,
        0o644,
        in_root(),
    ) {
        Ok(fd) => fd,
        // A dangling symlink (resolved inside the root): there is no file
        // to add to, and numeric ids work without one.
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(()),
        Err(e) => {
            return Err(Failure::io(
                format!("opening /etc/{name} to add a user"),
                &e,
            ))
        }
    };
    drop(etc);
    check_regular(&fd, &format!("etc/{name}"))?;
    std::fs::File::from(fd)
        .write_all(line.as_bytes())
        .map_err(|e| Failure::io(format!("adding a user to /etc/{name}"), &e))
}

/// Refuses anything but a regular file (a FIFO would block, a device
/// would take the write).
fn check_regular(fd: &OwnedFd, path: &str) -> Result<(), Failure> {
    let st = nix::sys::stat::fstat(fd.as_fd())
        .map_err(|e| Failure::step(format!("inspecting /{path}"), e))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Failure::step(
            format!("/{path} is not a regular file"),
            nix::errno::Errno::EINVAL,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_id_matches_the_id_column_only() {
        let passwd = "root:x:0:0:root:/root:/bin/sh\nbob:x:1000:1001:b:/h:/bin/sh\n";
        assert!(has_id(passwd, 7, 1000));
        assert!(!has_id(passwd, 7, 1001));
        assert!(has_id("g:x:1001:\n", 4, 1001));
        assert!(!has_id("broken:1001\n", 4, 1001));
    }

    #[test]
    fn stored_plans_without_identity_read_as_default() {
        let id: Identity = serde_json::from_str("{}").unwrap();
        assert_eq!(id, Identity::default());
    }
}
