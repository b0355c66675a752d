//! Who the container's process runs as: resolving the user against the
//! container's own /etc/passwd and /etc/group, and the ordered drop from
//! root in the user namespace to that user with the planned capabilities,
//! shared by the container's init and `exec`.

use std::io::Read;
use std::os::fd::BorrowedFd;
use std::path::Path;

use super::hardening::Ulimit;
use super::report::{Failure, Kind};
use super::syscall::Syscall;
use super::user::{self, ExecUser, Unresolved};
use crate::sys::fs::{openat2, Resolve};
use crate::sys::seccomp::Program;
use crate::userns::IdMaps;

/// What the process keeps once it is no longer root.
pub struct Privileges<'a> {
    /// Resource limits, set while still privileged.
    pub ulimits: &'a [Ulimit],
    /// Capabilities kept (bit N = capability N).
    pub caps: u64,
    /// Set no_new_privs last.
    pub is_no_new_privs: bool,
    /// The compiled seccomp filter, unless unconfined.
    pub seccomp: Option<&'a Program>,
}

/// Drops from root in the user namespace to `user` with `privileges`, in
/// this order:
///
/// 1. resource limits (`--ulimit`, `--pids-limit`): lowering needs no
///    privilege, but an NPROC limit is checked at the user switch;
/// 2. shrink the bounding set while we still hold CAP_SETPCAP, which the
///    user switch may take away (capabilities(7));
/// 3. install the seccomp filter while we still hold CAP_SYS_ADMIN in our
///    namespace, which lets us do so without no_new_privs; what follows
///    (setgroups, setresuid, capset, prctl, chdir, execve) must be allowed
///    by the filter;
/// 4. groups first, since changing them needs the privilege that setresuid
///    gives up (see `identity::set_groups`), then gid and uid;
/// 5. keep only the planned capabilities (a non-root user has none left:
///    asking for them back would fail) and set no_new_privs.
pub fn drop_privileges(
    sys: &mut impl Syscall,
    user: &ExecUser,
    maps: &IdMaps,
    privileges: &Privileges<'_>,
) -> Result<(), Failure> {
    sys.apply_ulimits(privileges.ulimits)?;
    sys.drop_bounding_set(privileges.caps)?;
    if let Some(filter) = privileges.seccomp {
        sys.install_seccomp(filter)?;
    }
    sys.set_groups(user, maps)?;
    sys.set_ids(user)?;
    let keep = if sys.is_root() { privileges.caps } else { 0 };
    sys.set_capabilities(keep)?;
    if privileges.is_no_new_privs {
        sys.set_no_new_privs()?;
    }
    Ok(())
}

/// Reads /etc/passwd and /etc/group beneath `root` (the container's `/`)
/// and resolves `spec` against them; the ids must be mapped by `maps`.
pub fn resolve_user(root: BorrowedFd<'_>, spec: &str, maps: &IdMaps) -> Result<ExecUser, Failure> {
    let passwd = read_in_root(root, "etc/passwd")?;
    let group = read_in_root(root, "etc/group")?;
    let user = user::resolve(spec, &passwd, &group).map_err(|u| match u {
        Unresolved::User(name) => Failure {
            kind: Kind::UnknownUser,
            errno: 0,
            text: name,
        },
        Unresolved::Group(name) => Failure {
            kind: Kind::UnknownGroup,
            errno: 0,
            text: name,
        },
    })?;
    if maps.host_uid(user.uid).is_none() || maps.host_gid(user.gid).is_none() {
        return Err(Failure {
            kind: Kind::UnmappedUser,
            errno: 0,
            text: spec.to_string(),
        });
    }
    Ok(user)
}

/// The uid and gid of `spec` (the container's `--user`) in the container
/// whose root is `root`, as `cp --archive` gives its copies; a failure is
/// one line of text.
pub fn primary_ids(root: BorrowedFd<'_>, spec: &str, maps: &IdMaps) -> Result<(u32, u32), String> {
    let user = resolve_user(root, spec, maps).map_err(|f| match f.kind {
        Kind::UnknownUser => format!("user {:?} is not in the container's /etc/passwd", f.text),
        Kind::UnknownGroup => format!("group {:?} is not in the container's /etc/group", f.text),
        Kind::UnmappedUser => format!(
            "user {:?} is not mapped in the container's user namespace",
            f.text
        ),
        _ => format!("{}: {}", f.text, nix::errno::Errno::from_raw(f.errno)),
    })?;
    Ok((user.uid, user.gid))
}

/// Reads a small file beneath the (new) root; a missing file reads empty.
fn read_in_root(root: BorrowedFd<'_>, path: &str) -> Result<String, Failure> {
    let fd = match openat2(
        root,
        Path::new(path),
        libc::O_RDONLY,
        0,
        Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
    ) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(String::new()),
        Err(e) => return Err(Failure::io(format!("opening /{path}"), &e)),
    };
    let mut text = String::new();
    std::fs::File::from(fd)
        .read_to_string(&mut text)
        .map_err(|e| Failure::io(format!("reading /{path}"), &e))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::syscall::Recorder;

    fn user(uid: u32) -> ExecUser {
        ExecUser {
            uid,
            gid: uid,
            groups: Vec::new(),
            home: "/".into(),
            keep_groups: false,
        }
    }

    fn maps() -> IdMaps {
        IdMaps::plan(1000, 1000, &[(100000, 65536)], &[(100000, 65536)])
    }

    #[test]
    fn bounding_set_then_seccomp_then_user_then_capabilities_then_no_new_privs() {
        let program = Program::from_bytes(&[0; 8]).unwrap();
        let mut sys = Recorder::default();
        let privileges = Privileges {
            ulimits: &[],
            caps: 0x5,
            is_no_new_privs: true,
            seccomp: Some(&program),
        };
        drop_privileges(&mut sys, &user(1000), &maps(), &privileges).unwrap();
        assert_eq!(
            sys.calls,
            [
                "apply_ulimits",
                "drop_bounding_set 0x5",
                "install_seccomp",
                "set_groups",
                "set_ids 1000:1000",
                "set_capabilities 0x5",
                "set_no_new_privs",
            ]
        );
    }

    #[test]
    fn resource_limits_are_set_before_the_user_switch() {
        let mut sys = Recorder::default();
        let privileges = Privileges {
            ulimits: &[],
            caps: 0,
            is_no_new_privs: false,
            seccomp: None,
        };
        drop_privileges(&mut sys, &user(0), &maps(), &privileges).unwrap();
        assert!(sys.position("apply_ulimits") < sys.position("set_ids"));
        assert!(sys.position("set_groups") < sys.position("set_ids"));
        assert!(!sys.calls.iter().any(|c| c == "install_seccomp"));
        assert!(!sys.calls.iter().any(|c| c == "set_no_new_privs"));
    }
}
