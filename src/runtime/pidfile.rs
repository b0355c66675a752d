//! `--pidfile` and `--conmon-pidfile`: the container's init pid and its
//! monitor's pid, written as Podman (conmon) writes them, digits without a
//! newline, at every start and left in place afterwards.

use std::path::Path;

use nix::unistd::Pid;

use super::{Error, Plan};

/// Writes `plan`'s pid files, if it has any: `pid` (the container's init)
/// and `monitor` (the process that waits for it).
pub fn write(plan: &Plan, pid: Pid, monitor: Pid) -> Result<(), Error> {
    let m = &plan.manage;
    for (path, pid) in [(&m.pidfile, pid), (&m.monitor_pidfile, monitor)] {
        if let Some(path) = path {
            write_one(path, pid)?;
        }
    }
    Ok(())
}

/// With `--sdnotify=conmon`: tells the `NOTIFY_SOCKET` of our
/// environment, if any, that the container `pid` is ready and that this
/// process, its monitor, is the service's main process, as Podman does for
/// conmon; a failure is logged, as Podman logs it, and does not stop the
/// start.
pub fn notify_ready(plan: &Plan, pid: Pid) {
    if !plan.manage.is_ready_sent {
        return;
    }
    let Some(socket) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    log::debug!("container {pid} ready: notifying systemd");
    let message = format!("READY=1\nMAINPID={}\n", nix::unistd::getpid());
    let sent = std::os::unix::net::UnixDatagram::unbound()
        .and_then(|s| s.send_to(message.as_bytes(), Path::new(&socket)));
    if let Err(e) = sent {
        log::warn!(
            "notifying {} that the container is ready: {e}",
            socket.to_string_lossy()
        );
    }
}

fn write_one(path: &Path, pid: Pid) -> Result<(), Error> {
    std::fs::write(path, pid.as_raw().to_string()).map_err(|source| Error::WriteFile {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_files_hold_the_pids_without_a_newline() {
        let dir = tempfile::tempdir().unwrap();
        let mut plan: Plan = serde_json::from_value(serde_json::json!({
            "id": "c",
            "dirs": {"dir": "/s/c", "upper": "/s/c/u", "work": "/s/c/w", "merged": "/s/c/m"},
            "lowers": [],
            "maps": {"uids": [], "gids": [], "fallback_reason": null},
            "hostname": "h", "args": ["sh"], "env": [], "cwd": "/", "user": "",
            "tty": false, "interactive": false
        }))
        .unwrap();
        write(&plan, Pid::from_raw(7), Pid::from_raw(8)).unwrap();
        plan.manage.pidfile = Some(dir.path().join("pid"));
        plan.manage.monitor_pidfile = Some(dir.path().join("mon"));
        write(&plan, Pid::from_raw(42), Pid::from_raw(41)).unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
        assert_eq!((read("pid"), read("mon")), ("42".into(), "41".into()));
        plan.manage.pidfile = Some(dir.path().join("missing/pid"));
        assert!(matches!(
            write(&plan, Pid::from_raw(1), Pid::from_raw(1)),
            Err(Error::WriteFile { .. })
        ));
    }
}
