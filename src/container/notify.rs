//! `--sdnotify=container` (the default) under systemd: the container's own
//! readiness messages, relayed to the unit's `NOTIFY_SOCKET`.
//!
//! The container's processes live in a scope of their own, so systemd
//! would take their messages as the scope's, not the service's, even with
//! `NotifyAccess=all`. As conmon does for Podman, the container gets a
//! socket of hutch's instead (its directory, `RUNROOT/notify/SHORTID`,
//! bound at `/run/notify`), and a
//! relay, a child of the container's monitor in the unit's cgroup, passes
//! each message on with `MAINPID=` naming the monitor.

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The hidden subcommand that runs the relay.
pub const RELAY_COMMAND: &str = "container-notify";

/// The directory of the run directory that holds the containers' socket
/// directories, each bound at `/run/notify`. Under the run directory
/// rather than the store: a socket's path must fit `sun_path` (108 bytes).
const SOCKETS_DIR: &str = "notify";

/// The socket's name in its directory (`/run/notify/notify.sock` inside).
const SOCKET_NAME: &str = "notify.sock";

/// How much of the container's id names its socket's directory.
const SHORT_ID: usize = 12;

/// The largest message systemd reads.
const MAX_MESSAGE: usize = 4096;

/// The directory, in run directory `runroot`, of container `id`'s socket.
pub fn socket_dir(runroot: &Path, id: &str) -> PathBuf {
    runroot
        .join(SOCKETS_DIR)
        .join(&id[..id.len().min(SHORT_ID)])
}

/// Makes container `id`'s socket directory, which the container's users
/// (any of its ids) may pass through to reach the socket: at creation,
/// for the bind to check, and before each start, as the run directory
/// does not outlive a reboot.
pub fn prepare_dir(runroot: &Path, id: &str) -> std::io::Result<PathBuf> {
    let path = socket_dir(runroot, id);
    fs::create_dir_all(&path)?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o711))?;
    Ok(path)
}

/// In the monitor, before the container starts: makes the socket's
/// directory, binds the socket there (writable by every id of the
/// container) and spawns the relay, which passes on what arrives naming
/// `monitor` as the main pid. Without `NOTIFY_SOCKET` there is nobody to
/// tell: only the directory is made.
pub fn start_relay(runroot: &Path, id: &str, monitor: u32) -> std::io::Result<()> {
    let dir = prepare_dir(runroot, id)?;
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return Ok(());
    }
    let path = dir.join(SOCKET_NAME);
    match fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let sock = UnixDatagram::bind(&path)?;
    fs::set_permissions(&path, fs::Permissions::from_mode(0o777))?;
    // The relay outlives no monitor (its parent-death signal) and is
    // never waited for.
    Command::new("/proc/self/exe")
        .arg(RELAY_COMMAND)
        .arg(monitor.to_string())
        .stdin(OwnedFd::from(sock))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    Ok(())
}

/// The relay: reads the container's messages from the socket on stdin
/// and sends each to `NOTIFY_SOCKET` with `MAINPID=monitor`, until the
/// monitor ends.
pub fn relay(monitor: i32) -> std::io::Result<()> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM)?;
    if nix::unistd::getppid().as_raw() != monitor {
        return Ok(());
    }
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let sock = UnixDatagram::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let out = UnixDatagram::unbound()?;
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let n = sock.recv(&mut buf)?;
        let message = rewrite(&String::from_utf8_lossy(&buf[..n]), monitor);
        if message.is_empty() {
            continue;
        }
        if let Err(e) = out.send_to(message.as_bytes(), Path::new(&target)) {
            log::debug!("relaying a readiness message: {e}");
        }
    }
}

/// A container's message as the unit is to get it: its own `MAINPID=`
/// (a pid of its namespace) dropped, and `MAINPID=monitor` first when it
/// says `READY=1`, as conmon sends it.
fn rewrite(message: &str, monitor: i32) -> String {
    let lines: Vec<&str> = message
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("MAINPID="))
        .collect();
    let mut out = String::new();
    if lines.contains(&"READY=1") {
        out.push_str(&format!("MAINPID={monitor}\n"));
    }
    for l in lines {
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_names_the_monitor_and_drops_the_containers_pid() {
        assert_eq!(
            rewrite("READY=1\nMAINPID=1\nSTATUS=up", 42),
            "MAINPID=42\nREADY=1\nSTATUS=up\n"
        );
        assert_eq!(rewrite("STATUS=starting\n", 42), "STATUS=starting\n");
        assert_eq!(rewrite("MAINPID=7\n", 42), "");
    }

    #[test]
    fn the_socket_directory_lets_every_id_through() {
        let dir = tempfile::tempdir().unwrap();
        let made = prepare_dir(dir.path(), &"ab".repeat(32)).unwrap();
        assert_eq!(made, dir.path().join("notify/abababababab"));
        assert_eq!(
            fs::metadata(&made).unwrap().permissions().mode() & 0o777,
            0o711
        );
    }
}
