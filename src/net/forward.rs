//! hutch's own TCP port forwarder (`port_handler=rootlesskit`, the default
//! with slirp4netns): a process that binds the host ports in the host's
//! network namespace, then enters the container's user and network
//! namespaces, so every connection it makes to the container's port is a
//! plain loopback connection there. Much faster than slirp4netns's own
//! forwarding, which pushes every byte through its user-space TCP stack;
//! the container sees connections from 127.0.0.1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::process::{Child, Command, Stdio};

use nix::sched::{setns, CloneFlags};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{Error, PublishedPort};

/// The hidden subcommand the forwarder runs as.
const FORWARD_COMMAND: &str = "container-portfwd";

/// Bytes copied per read.
const BUFFER: usize = 256 * 1024;

/// Starts the forwarder for `ports` (TCP) into the network namespace of
/// process `pid`; returns once it listens and has entered the namespace.
pub fn spawn_forwarder(pid: Pid, ports: &[PublishedPort]) -> Result<Child, Error> {
    const NAME: &str = "the port forwarder";
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg(FORWARD_COMMAND).arg(pid.as_raw().to_string());
    for p in ports {
        let ip = p
            .host_ip
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        cmd.arg(format!(
            "{}={}",
            SocketAddr::new(ip, p.host_port),
            p.container_port
        ));
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    crate::sys::spawn::die_with_parent(&mut cmd, Signal::SIGKILL);
    let mut child = cmd.spawn().map_err(|source| Error::SpawnHelper {
        helper: NAME,
        source,
    })?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    match line.trim_end().strip_prefix("err ") {
        None if line.trim_end() == "ok" => Ok(child),
        reason => {
            let _ = child.kill();
            let _ = child.wait();
            Err(Error::HelperFailed {
                helper: NAME,
                message: reason.unwrap_or("it exited without saying why").to_string(),
            })
        }
    }
}

/// One forward as the forwarder's arguments give it: `HOSTADDR=PORT`.
fn parse_forward(arg: &str) -> Option<(SocketAddr, u16)> {
    let (host, port) = arg.rsplit_once('=')?;
    Some((host.parse().ok()?, port.parse().ok()?))
}

/// The forwarder's body: listen, enter the namespaces of `pid`, hand
/// `report` the line for the spawner (`ok` or `err REASON`; the caller
/// prints it), then forward until killed. Must run single-threaded until
/// it reports (setns into a user namespace refuses threaded callers).
pub fn run_forwarder(pid: i32, forwards: &[String], report: &mut dyn FnMut(&str)) -> i32 {
    match prepare(pid, forwards) {
        Ok(listeners) => {
            report("ok");
            let handles: Vec<_> = listeners
                .into_iter()
                .map(|(l, port)| std::thread::spawn(move || serve(l, port)))
                .collect();
            for h in handles {
                let _ = h.join();
            }
            0
        }
        Err(reason) => {
            report(&format!("err {reason}"));
            1
        }
    }
}

fn prepare(pid: i32, forwards: &[String]) -> Result<Vec<(TcpListener, u16)>, String> {
    let mut listeners = Vec::new();
    for f in forwards {
        let (addr, port) = parse_forward(f).ok_or_else(|| format!("invalid forward {f:?}"))?;
        let l = TcpListener::bind(addr).map_err(|e| format!("binding {addr}: {e}"))?;
        listeners.push((l, port));
    }
    // User namespace first: it grants the capabilities over the network
    // namespace, which it owns.
    for (ns, flag) in [
        ("user", CloneFlags::CLONE_NEWUSER),
        ("net", CloneFlags::CLONE_NEWNET),
    ] {
        let path = format!("/proc/{pid}/ns/{ns}");
        let f = std::fs::File::open(&path).map_err(|e| format!("opening {path}: {e}"))?;
        setns(f.as_fd(), flag).map_err(|e| format!("entering {path}: {e}"))?;
    }
    Ok(listeners)
}

/// Accepts on `listener` and joins each connection to the container's `port`.
fn serve(listener: TcpListener, port: u16) {
    for client in listener.incoming().flatten() {
        std::thread::spawn(move || {
            // Made now, this socket belongs to the container's namespace.
            let Ok(upstream) = TcpStream::connect(("127.0.0.1", port)) else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            let (Ok(c2), Ok(u2)) = (client.try_clone(), upstream.try_clone()) else {
                return;
            };
            let up = std::thread::spawn(move || pump(client, upstream));
            pump(u2, c2);
            let _ = up.join();
        });
    }
}

/// Copies `from` to `to` until EOF, then half-closes `to`.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; BUFFER];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    let _ = from.shutdown(Shutdown::Read);
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_parse_from_their_arguments() {
        assert_eq!(
            parse_forward("127.0.0.1:8080=80"),
            Some(("127.0.0.1:8080".parse().unwrap(), 80))
        );
        assert_eq!(
            parse_forward("[::1]:8080=80"),
            Some(("[::1]:8080".parse().unwrap(), 80))
        );
        assert_eq!(parse_forward("8080"), None);
    }
}
