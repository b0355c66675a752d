//! The parent's side of `run`: prepare, clone, write id maps, learn whether
//! exec worked, then relay until the container exits.

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use nix::sched::CloneFlags;
use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

use super::init::{self, Init};
use super::mounts::ETC_FILES;
use super::relay::{self, Terminal};
use super::report::Failure;
use super::{pty, Error, Plan};
use crate::sys::process::{clone_into, thread_count, Forked};

/// The host's resolver configuration, the source of the container's.
const HOST_RESOLV_CONF: &str = "/etc/resolv.conf";

/// The namespaces every container gets. The user namespace comes first in
/// the kernel's order, so it owns all the others.
fn namespaces() -> CloneFlags {
    CloneFlags::CLONE_NEWUSER
        | CloneFlags::CLONE_NEWNS
        | CloneFlags::CLONE_NEWPID
        | CloneFlags::CLONE_NEWUTS
        | CloneFlags::CLONE_NEWIPC
        | CloneFlags::CLONE_NEWNET
}

/// Runs `plan` in the foreground; see `container::run`.
pub fn run(plan: &Plan) -> Result<i32, Error> {
    // 1. Refuse to clone from a multi-threaded process: the child would
    //    inherit locks held by threads that do not exist in it.
    if let Some(n) = thread_count().filter(|n| *n > 1) {
        return Err(Error::MultiThreaded(n));
    }

    // 2. Write /etc/hosts, /etc/hostname and /etc/resolv.conf for init to
    //    bind-mount: the host's files are readable only before the clone.
    write_etc_files(&plan.dirs.dir, &plan.hostname, Path::new(HOST_RESOLV_CONF))?;

    // 3. Open everything init needs before it exists (pass fds, not paths).
    let (go_r, go_w) = crate::userns::pipe().map_err(Error::Maps)?;
    let (err_r, err_w) = crate::userns::pipe().map_err(Error::Maps)?;
    let sockets = if plan.tty {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::Stream,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(Error::Socket)?;
        Some((a, b))
    } else {
        None
    };
    let null_stdin = if plan.interactive || plan.tty {
        None
    } else {
        Some(OwnedFd::from(
            std::fs::File::open("/dev/null").map_err(Error::OpenNull)?,
        ))
    };
    let winsize = if plan.tty {
        pty::outer_window_size(&[std::io::stdin().as_fd(), std::io::stdout().as_fd()])
    } else {
        None
    };

    // 4. Block the signals we forward before the child exists, so none
    //    arrives between the clone and the relay loop; they queue for the
    //    signalfd. The mask is restored however `run` ends.
    let set = relay::signal_set();
    let mut old = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old)).map_err(Error::Signals)?;
    let _restore = RestoreMask(old);
    let signals = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(Error::Signals)?;

    // 5. Clone into the new namespaces; the child becomes the container's
    //    pid 1 and never comes back here.
    let (parent_sock, child_sock) = match sockets {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let pid = match clone_into(namespaces()).map_err(Error::Clone)? {
        Forked::Child => {
            drop((go_w, err_r, parent_sock, signals));
            init::start(Init {
                plan,
                go: go_r,
                err: err_w,
                pty_socket: child_sock,
                null_stdin,
                winsize,
            })
        }
        Forked::Parent(pid) => pid,
    };
    log::debug!("container {}: init is pid {pid}", plan.id);
    drop((go_r, err_w, child_sock, null_stdin));

    // 6. Write the child's id maps, then release it. Closing `go_w`
    //    without the byte makes init give up on its own.
    let mapped = crate::userns::write_id_maps(pid, &plan.maps);
    let mut go = std::fs::File::from(go_w);
    if mapped.is_ok() {
        let _ = go.write_all(b"1");
    }
    drop(go);
    if let Err(e) = mapped {
        reap(pid);
        return Err(Error::Maps(e));
    }

    // 7. With -t, receive the pty master init opened in its devpts. EOF
    //    instead means init failed; the error pipe says why.
    let master = match &parent_sock {
        Some(sock) => pty::recv_master(sock.as_fd()).map_err(Error::ReceivePty)?,
        None => None,
    };
    drop(parent_sock);

    // 8. Wait for exec: the error pipe is close-on-exec, so EOF without a
    //    message means the container's process is running.
    let mut msg = Vec::new();
    let read = std::fs::File::from(err_r).read_to_end(&mut msg);
    if !msg.is_empty() || read.is_err() {
        reap(pid);
        return Err(match Failure::decode(&msg) {
            Some(f) => f.into_error(),
            None => Error::InitVanished,
        });
    }
    let terminal = match (plan.tty, master) {
        (true, Some(master)) => Some(Terminal {
            master,
            is_interactive: plan.interactive,
        }),
        (true, None) => {
            reap(pid);
            return Err(Error::InitVanished);
        }
        (false, _) => None,
    };

    // 9. Relay signals (and the terminal) until the container exits.
    log::debug!("container {}: running {:?}", plan.id, plan.args);
    let code = relay::relay(pid, &signals, terminal)?;
    log::debug!("container {}: exited with {code}", plan.id);
    Ok(code)
}

/// Kills and waits for an init that failed or was abandoned.
fn reap(pid: Pid) {
    let _ = kill(pid, Signal::SIGKILL);
    while let Err(nix::Error::EINTR) = waitpid(pid, None) {}
}

/// Restores the signal mask when dropped.
struct RestoreMask(SigSet);

impl Drop for RestoreMask {
    fn drop(&mut self) {
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.0), None);
    }
}

/// Writes hosts, hostname and resolv.conf into the container directory
/// `dir`; resolv.conf is `host_resolv` without loopback name servers, which
/// mean nothing in the container's own network namespace.
pub fn write_etc_files(dir: &Path, hostname: &str, host_resolv: &Path) -> Result<(), Error> {
    let host_resolv = std::fs::read_to_string(host_resolv).unwrap_or_default();
    for (name, _) in ETC_FILES {
        let text = match name {
            "hosts" => hosts_file(hostname),
            "hostname" => format!("{hostname}\n"),
            _ => resolv_conf_without_loopback(&host_resolv),
        };
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| Error::WriteFile { path, source })?;
    }
    Ok(())
}

fn hosts_file(hostname: &str) -> String {
    format!("127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t{hostname}\n")
}

fn resolv_conf_without_loopback(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            let is_loopback = words
                .next()
                .and_then(|a| a.parse::<std::net::IpAddr>().ok())
                .is_some_and(|a| a.is_loopback());
            if is_loopback {
                continue;
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_drops_loopback_nameservers() {
        let host = "# generated\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 10.0.0.2\nsearch example.org\noptions edns0\n";
        assert_eq!(
            resolv_conf_without_loopback(host),
            "# generated\nnameserver 10.0.0.2\nsearch example.org\noptions edns0\n"
        );
    }

    #[test]
    fn etc_files_are_written_into_the_container_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let resolv = tmp.path().join("host-resolv.conf");
        std::fs::write(&resolv, "nameserver 127.0.0.1\nnameserver 192.0.2.1\n").unwrap();
        write_etc_files(tmp.path(), "box", &resolv).unwrap();
        let read = |n: &str| std::fs::read_to_string(tmp.path().join(n)).unwrap();
        assert_eq!(read("hostname"), "box\n");
        assert_eq!(
            read("hosts"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\tbox\n"
        );
        assert_eq!(read("resolv.conf"), "nameserver 192.0.2.1\n");
    }

    #[test]
    fn missing_host_resolv_conf_gives_an_empty_one() {
        let tmp = tempfile::tempdir().unwrap();
        write_etc_files(tmp.path(), "box", &tmp.path().join("absent")).unwrap();
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("resolv.conf")).unwrap(),
            ""
        );
    }
}
