//! `hutch doctor`'s checks of the host around the user: user namespace
//! sysctls, the session (runtime directory, lingering), cgroups and the
//! systemd user manager, devices, network helpers, clock and time zone.
//! Each takes its roots (`/proc/sys`, `/dev`, `/etc`) as parameters.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use super::doctor::Check;
use crate::cgroup::{self, Layout};
use crate::paths::{Paths, ENV_XDG_RUNTIME_DIR};

/// Where systemd-logind records lingering users.
const LINGER_DIR: &str = "/var/lib/systemd/linger";
/// 2025-01-01: a clock before this is surely wrong.
const SANE_TIME: u64 = 1_735_689_600;

/// Reads one sysctl value under `sys` (`/proc/sys`), trimmed.
fn sysctl(sys: &Path, key: &str) -> Option<String> {
    std::fs::read_to_string(sys.join(key.replace('.', "/")))
        .ok()
        .map(|s| s.trim().to_string())
}

/// The sysctls that allow unprivileged user namespaces, under `sys`.
pub(super) fn userns_checks(sys: &Path) -> Vec<Check> {
    let max = sysctl(sys, "user.max_user_namespaces");
    let clone = sysctl(sys, "kernel.unprivileged_userns_clone");
    let apparmor = sysctl(sys, "kernel.apparmor_restrict_unprivileged_userns");
    userns_from(max.as_deref(), clone.as_deref(), apparmor.as_deref())
}

/// The user namespace check from the three sysctls' values (absent where
/// the kernel has no such knob).
pub(super) fn userns_from(
    max: Option<&str>,
    clone: Option<&str>,
    apparmor: Option<&str>,
) -> Vec<Check> {
    let mut found = vec![format!(
        "user.max_user_namespaces={}",
        max.unwrap_or("(missing)")
    )];
    if let Some(c) = clone {
        found.push(format!("kernel.unprivileged_userns_clone={c}"));
    }
    if let Some(a) = apparmor {
        found.push(format!("kernel.apparmor_restrict_unprivileged_userns={a}"));
    }
    let found = found.join(", ");
    if max.is_none() {
        return vec![Check::fail(
            "userns",
            format!("{found}: this kernel has no user namespaces"),
            "boot a kernel built with CONFIG_USER_NS=y",
            true,
        )];
    }
    if max == Some("0") {
        return vec![Check::fail(
            "userns",
            found,
            "sudo sysctl -w user.max_user_namespaces=28633 (and put it in /etc/sysctl.d/)",
            true,
        )];
    }
    if clone == Some("0") {
        return vec![Check::fail(
            "userns",
            found,
            "sudo sysctl -w kernel.unprivileged_userns_clone=1 (and put it in /etc/sysctl.d/)",
            true,
        )];
    }
    if apparmor == Some("1") {
        // The namespace is made, but without capabilities unless an
        // AppArmor profile allows it: the unshare check shows what works.
        return vec![Check::warn(
            "userns",
            found,
            "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for hutch with the `userns,` rule",
        )];
    }
    vec![Check::ok("userns", found)]
}

/// The runtime directory, the run directory hutch uses, and lingering.
pub(super) fn session_checks(paths: &Paths, who: &str) -> Vec<Check> {
    let uid = nix::unistd::getuid().as_raw();
    let xdg = std::env::var_os(ENV_XDG_RUNTIME_DIR).filter(|v| !v.is_empty());
    let linger = Path::new(LINGER_DIR).join(who);
    let mut out = vec![runtime_dir_check(xdg.as_deref().map(Path::new), uid)];
    out.push(match paths.ensure_runroot() {
        Ok((dir, _)) => Check::ok("run-dir", format!("{}", dir.display())),
        Err(e) => {
            use crate::error::Diagnose;
            Check::fail(
                "run-dir",
                crate::error::render_chain(&e),
                e.hint().unwrap_or_default(),
                true,
            )
        }
    });
    out.push(if linger.exists() {
        Check::ok("linger", format!("{} exists", linger.display()))
    } else {
        Check::warn(
            "linger",
            format!(
                "{} is missing: your containers may be killed when you log out",
                linger.display()
            ),
            format!("loginctl enable-linger {who}"),
        )
    });
    out
}

/// `XDG_RUNTIME_DIR`: set, a directory of the user's, mode 0700.
pub(super) fn runtime_dir_check(dir: Option<&Path>, uid: u32) -> Check {
    const NAME: &str = "runtime-dir";
    let login_fix = format!(
        "log in through a PAM session with pam_systemd (ssh, or machinectl shell), or run `loginctl enable-linger` and export {ENV_XDG_RUNTIME_DIR}=/run/user/{uid}"
    );
    let Some(dir) = dir else {
        return Check::warn(
            NAME,
            format!("{ENV_XDG_RUNTIME_DIR} is not set: hutch uses /run/user/{uid} or a private directory in /tmp"),
            login_fix,
        );
    };
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) => {
            return Check::warn(
                NAME,
                format!("{ENV_XDG_RUNTIME_DIR}={}: {e}", dir.display()),
                login_fix,
            )
        }
    };
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.is_dir() || meta.uid() != uid {
        return Check::fail(
            NAME,
            format!(
                "{ENV_XDG_RUNTIME_DIR}={} belongs to uid {}, not to you ({uid})",
                dir.display(),
                meta.uid()
            ),
            login_fix,
            true,
        );
    }
    if mode != 0o700 {
        return Check::warn(
            NAME,
            format!(
                "{ENV_XDG_RUNTIME_DIR}={} has mode {mode:04o}",
                dir.display()
            ),
            format!("chmod 0700 {}", dir.display()),
        );
    }
    Check::ok(NAME, format!("{} (yours, 0700)", dir.display()))
}

/// The cgroup layout, the systemd user manager and the controllers
/// delegated to the user.
pub(super) fn cgroup_checks(proc: &Path) -> Vec<Check> {
    let layout = cgroup::detect_host(proc);
    let v2_fix =
        "boot with systemd.unified_cgroup_hierarchy=1 on the kernel command line (cgroup v2)";
    let mut out = vec![match layout {
        Layout::Unified => Check::ok("cgroups", "v2"),
        Layout::Hybrid | Layout::Legacy => Check::warn(
            "cgroups",
            format!(
                "{}: resource limits (--memory, --cpus, --pids-limit, ...) are refused",
                layout.version()
            ),
            v2_fix,
        ),
        Layout::None => Check::warn("cgroups", "no cgroup filesystem at /sys/fs/cgroup", v2_fix),
    }];
    out.push(systemd_user_check());
    let delegate = "a drop-in for user@.service: [Service] Delegate=cpu cpuset io memory pids, then log in again";
    out.push(match cgroup::delegated_controllers(proc, layout) {
        Some((dir, list)) => {
            let missing: Vec<&str> = ["cpu", "memory", "pids", "io"]
                .into_iter()
                .filter(|c| !list.iter().any(|l| l == c))
                .collect();
            let found = format!(
                "{}: {}",
                dir.display(),
                if list.is_empty() {
                    "none".to_string()
                } else {
                    list.join(" ")
                }
            );
            match (missing.is_empty(), layout) {
                (true, _) => Check::ok("controllers", found),
                (false, Layout::Unified) => Check::warn(
                    "controllers",
                    format!("{found} (lacks {})", missing.join(" ")),
                    delegate,
                ),
                (false, _) => Check::warn(
                    "controllers",
                    format!("{found}: the v1 controllers are not delegated to users"),
                    v2_fix,
                ),
            }
        }
        None => Check::warn(
            "controllers",
            format!("none: cgroup {} has no v2 hierarchy", layout.version()),
            v2_fix,
        ),
    });
    out
}

/// The systemd user manager's bus: found and accepting connections.
fn systemd_user_check() -> Check {
    const NAME: &str = "systemd-user";
    let fix = "loginctl enable-linger $USER and log in again, so that systemd --user and its D-Bus run (else containers get no systemd scope)";
    let Some(addr) = crate::paths::session_bus() else {
        return Check::warn(
            NAME,
            format!("no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS unset, no bus in ${ENV_XDG_RUNTIME_DIR})"),
            fix,
        );
    };
    let socket = addr
        .split(',')
        .find_map(|p| p.strip_prefix("unix:path="))
        .map(str::to_string);
    match socket {
        Some(s) => match std::os::unix::net::UnixStream::connect(&s) {
            Ok(_) => Check::ok(NAME, format!("session bus at {s} accepts connections")),
            Err(e) => Check::warn(NAME, format!("session bus {s}: {e}"), fix),
        },
        None => Check::ok(NAME, format!("session bus {addr}")),
    }
}

/// Whether the user may open the character device `path` for reading
/// and writing; `Err` says why not.
fn device_access(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !meta.file_type().is_char_device() {
        return Err(format!("{} is not a character device", path.display()));
    }
    nix::unistd::access(
        path,
        nix::unistd::AccessFlags::R_OK | nix::unistd::AccessFlags::W_OK,
    )
    .map_err(|e| {
        format!(
            "{} (mode {:04o}, uid {}): {e}",
            path.display(),
            meta.permissions().mode() & 0o7777,
            meta.uid()
        )
    })
}

/// /dev/fuse, which fuse-overlayfs needs (only where kernel overlayfs
/// does not work: `is_kernel_ok`).
pub(super) fn device_checks(dev: &Path, is_kernel_ok: bool) -> Vec<Check> {
    let fuse = dev.join("fuse");
    vec![match device_access(&fuse) {
        Ok(()) => Check::ok("fuse-device", format!("{} is open to you", fuse.display())),
        Err(why) => {
            let fix = format!("sudo modprobe fuse; sudo chmod 0666 {}", fuse.display());
            if is_kernel_ok {
                Check::warn(
                    "fuse-device",
                    format!("{why}: fuse-overlayfs cannot run (kernel overlayfs works)"),
                    fix,
                )
            } else {
                Check::fail("fuse-device", why, fix, true)
            }
        }
    }]
}

/// The network helpers and /dev/net/tun, which they need.
pub(super) fn network_checks(path_var: &str, dev: &Path) -> Vec<Check> {
    let helpers = crate::net::find_helpers(path_var);
    let names: Vec<String> = helpers
        .iter()
        .map(|h| format!("{} at {}", h.name, h.path.display()))
        .collect();
    let mut out = vec![if helpers.is_empty() {
        Check::warn(
            "network",
            "neither pasta nor slirp4netns is installed: containers get loopback only",
            "sudo apt-get install passt (or slirp4netns)",
        )
    } else {
        Check::ok("network", names.join(", "))
    }];
    let tun = dev.join("net/tun");
    out.push(match device_access(&tun) {
        Ok(()) => Check::ok("tun-device", format!("{} is open to you", tun.display())),
        Err(why) => {
            let fix = format!("sudo modprobe tun; sudo chmod 0666 {}", tun.display());
            if helpers.is_empty() {
                Check::warn("tun-device", why, fix)
            } else {
                // pasta and slirp4netns make the container's interface
                // with it: the default network cannot start without it.
                Check::fail(
                    "tun-device",
                    format!("{why}: the default network cannot start (--network=none works)"),
                    fix,
                    true,
                )
            }
        }
    });
    out
}

/// The clock, which TLS to registries and image times depend on.
pub(super) fn clock_check(now: SystemTime) -> Check {
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let shown = crate::runtime::clock::format_rfc3339(secs, None);
    if secs < SANE_TIME {
        Check::warn(
            "clock",
            format!("{shown}: too early; registries' TLS certificates will look invalid"),
            "sudo timedatectl set-ntp true (or sudo date -s 'YYYY-MM-DD HH:MM:SS')",
        )
    } else {
        Check::ok("clock", shown)
    }
}

/// /etc/localtime and the zoneinfo database (`--tz`).
pub(super) fn timezone_check(etc: &Path, zoneinfo: &Path) -> Check {
    let localtime = etc.join("localtime");
    let has_local = std::fs::metadata(&localtime).is_ok_and(|m| m.is_file());
    let has_db = zoneinfo.join("UTC").exists() || zoneinfo.join("Etc/UTC").exists();
    let target = std::fs::read_link(&localtime)
        .map(|t| format!(" -> {}", t.display()))
        .unwrap_or_default();
    match (has_local, has_db) {
        (true, true) => Check::ok(
            "timezone",
            format!("{}{target}, {}", localtime.display(), zoneinfo.display()),
        ),
        (false, _) => Check::warn(
            "timezone",
            format!(
                "{} is missing or dangling: --tz=local gives UTC",
                localtime.display()
            ),
            format!(
                "sudo ln -sf {}/Etc/UTC {} (or your zone)",
                zoneinfo.display(),
                localtime.display()
            ),
        ),
        (true, false) => Check::warn(
            "timezone",
            format!(
                "{} is missing: --tz=ZONE cannot find zones",
                zoneinfo.display()
            ),
            "sudo apt-get install tzdata",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::super::doctor::Status;
    use super::*;

    #[test]
    fn userns_sysctls_name_their_fix() {
        let c = &userns_from(Some("0"), None, None)[0];
        assert!(c.is_blocking());
        assert!(c.fix.contains("user.max_user_namespaces"));
        let c = &userns_from(Some("100"), Some("0"), None)[0];
        assert!(c.fix.contains("kernel.unprivileged_userns_clone=1"));
        let c = &userns_from(Some("100"), Some("1"), Some("1"))[0];
        assert_eq!(c.status, Status::Warn);
        assert!(c.fix.contains("apparmor_restrict_unprivileged_userns=0"));
        assert_eq!(
            userns_from(Some("100"), None, Some("0"))[0].status,
            Status::Ok
        );
    }

    #[test]
    fn runtime_dir_must_be_private_and_ours() {
        let uid = nix::unistd::getuid().as_raw();
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let c = runtime_dir_check(Some(dir.path()), uid);
        assert_eq!(c.status, Status::Warn);
        assert_eq!(c.fix, format!("chmod 0700 {}", dir.path().display()));
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(runtime_dir_check(Some(dir.path()), uid).status, Status::Ok);
        assert_eq!(
            runtime_dir_check(Some(dir.path()), uid + 1).status,
            Status::Fail
        );
        assert_eq!(runtime_dir_check(None, uid).status, Status::Warn);
    }

    #[test]
    fn devices_that_are_not_character_devices_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fuse"), "").unwrap();
        let c = &device_checks(dir.path(), true)[0];
        assert_eq!(c.status, Status::Warn);
        assert!(c.found.contains("not a character device"), "{}", c.found);
        assert!(device_checks(dir.path(), false)[0].is_blocking());
    }

    #[test]
    fn clock_and_time_zone_files() {
        assert_eq!(clock_check(UNIX_EPOCH).status, Status::Warn);
        let now = UNIX_EPOCH + std::time::Duration::from_secs(SANE_TIME + 10);
        assert_eq!(clock_check(now).status, Status::Ok);
        let dir = tempfile::tempdir().unwrap();
        let (etc, zi) = (dir.path().join("etc"), dir.path().join("zoneinfo"));
        std::fs::create_dir_all(zi.join("Etc")).unwrap();
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(zi.join("Etc/UTC"), "TZif").unwrap();
        let c = timezone_check(&etc, &zi);
        assert_eq!(c.status, Status::Warn);
        assert!(c.fix.starts_with("sudo ln -sf "), "{}", c.fix);
        std::os::unix::fs::symlink(zi.join("Etc/UTC"), etc.join("localtime")).unwrap();
        assert_eq!(timezone_check(&etc, &zi).status, Status::Ok);
    }
}
