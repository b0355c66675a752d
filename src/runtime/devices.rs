//! `--device HOST[:CONTAINER][:PERMISSIONS]`: parsing, checking that the
//! user can open the host device, and bind-mounting it into the container.
//!
//! Rootless, a user namespace cannot create device nodes, so a host device
//! the user may open is bind-mounted onto an empty file beneath the root
//! fd. Access then follows the host node's permissions; `rwm` is accepted
//! for Podman compatibility and `r` alone is checked as read-only access.

use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;

use super::mounts;
use super::report::Failure;
use crate::sys::fs::{openat2, proc_fd_path, Resolve};

/// One device to bind-mount.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Device {
    /// The node on the host.
    pub host: PathBuf,
    /// Where it appears in the container (absolute).
    pub container: String,
    /// `r`, `w` and `m` letters, as given (default `rwm`).
    pub permissions: String,
}

/// Why a `--device` was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("invalid --device {0:?}: use HOST[:CONTAINER][:PERMISSIONS] with absolute paths and permissions from r, w and m")]
    Syntax(String),
    #[error("--device {path}: not a device node")]
    NotDevice { path: PathBuf },
    #[error("--device {path}: cannot open it")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl crate::error::Diagnose for DeviceError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            DeviceError::Open { .. } => Some(
                "rootless containers get only devices the user can open: check the node's mode and your groups (ls -l), or ask the administrator".into(),
            ),
            _ => None,
        }
    }
}

/// Parses a `--device` value.
pub fn parse(value: &str) -> Result<Device, DeviceError> {
    let bad = || DeviceError::Syntax(value.to_string());
    let parts: Vec<&str> = value.split(':').collect();
    let is_perms = |s: &str| !s.is_empty() && s.chars().all(|c| matches!(c, 'r' | 'w' | 'm'));
    let (host, container, perms) = match parts[..] {
        [h] => (h, h, "rwm"),
        [h, p] if is_perms(p) => (h, h, p),
        [h, c] => (h, c, "rwm"),
        [h, c, p] if is_perms(p) => (h, c, p),
        _ => return Err(bad()),
    };
    if !host.starts_with('/')
        || !container.starts_with('/')
        || container.trim_matches('/').is_empty()
    {
        return Err(bad());
    }
    if container.split('/').any(|c| c == "..") {
        return Err(bad());
    }
    Ok(Device {
        host: PathBuf::from(host),
        container: container.to_string(),
        permissions: perms.to_string(),
    })
}

/// Checks that `dev.host` is a device the caller can open for what its
/// permissions ask; runs as the user, before anything starts.
pub fn check(dev: &Device) -> Result<(), DeviceError> {
    let meta = std::fs::metadata(&dev.host).map_err(|source| DeviceError::Open {
        path: dev.host.clone(),
        source,
    })?;
    let ft = meta.file_type();
    if !ft.is_char_device() && !ft.is_block_device() {
        return Err(DeviceError::NotDevice {
            path: dev.host.clone(),
        });
    }
    let (read, write) = (dev.permissions.contains('r'), dev.permissions.contains('w'));
    std::fs::OpenOptions::new()
        .read(read || !write)
        .write(write)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&dev.host)
        .map(drop)
        .map_err(|source| DeviceError::Open {
            path: dev.host.clone(),
            source,
        })
}

/// Bind-mounts each device onto an empty file created beneath `root`
/// (after /dev is mounted, so /dev targets land in the container's tmpfs).
pub fn mount_devices(root: BorrowedFd<'_>, devices: &[Device]) -> Result<(), Failure> {
    for dev in devices {
        let rel = dev.container.trim_start_matches('/');
        let (parent, name) = rel.rsplit_once('/').unwrap_or(("", rel));
        let dir = mounts::ensure_dir(root, parent)?;
        let target = openat2(
            dir.as_fd(),
            Path::new(name),
            libc::O_CREAT | libc::O_WRONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
            0o666,
            Resolve::BENEATH | Resolve::NO_SYMLINKS,
        )
        .or_else(|_| {
            // An existing node (a device of its own) cannot be opened for
            // writing by us; O_PATH is enough to mount over it.
            openat2(
                dir.as_fd(),
                Path::new(name),
                libc::O_PATH,
                0,
                Resolve::BENEATH | Resolve::NO_SYMLINKS,
            )
        })
        .map_err(|e| Failure::io(format!("creating {}", dev.container), &e))?;
        nix::mount::mount(
            Some(&dev.host),
            &proc_fd_path(target.as_fd()),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| Failure::step(format!("bind-mounting {}", dev.container), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(host: &str, container: &str, perms: &str) -> Device {
        Device {
            host: host.into(),
            container: container.into(),
            permissions: perms.into(),
        }
    }

    #[test]
    fn parses_docker_forms() {
        assert_eq!(
            parse("/dev/zero").unwrap(),
            dev("/dev/zero", "/dev/zero", "rwm")
        );
        assert_eq!(
            parse("/dev/zero:r").unwrap(),
            dev("/dev/zero", "/dev/zero", "r")
        );
        assert_eq!(
            parse("/dev/zero:/dev/myzero").unwrap(),
            dev("/dev/zero", "/dev/myzero", "rwm")
        );
        assert_eq!(
            parse("/dev/zero:/dev/myzero:rw").unwrap(),
            dev("/dev/zero", "/dev/myzero", "rw")
        );
        for bad in [
            "zero",
            "/dev/zero:rel",
            "/dev/zero:/dev/x:q",
            "/dev/zero:/",
            "/a:/b:/c:r",
            "/dev/zero:/dev/../x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn check_refuses_non_devices() {
        assert!(matches!(
            check(&dev("/etc/hostname", "/x", "r")),
            Err(DeviceError::NotDevice { .. }) | Err(DeviceError::Open { .. })
        ));
        check(&dev("/dev/null", "/dev/null", "rw")).unwrap();
    }
}
