//! The listening side of `system service`: the socket (bound, or passed by
//! systemd's socket activation), the peer check, one process per
//! connection, and the exit after `--time` idle seconds.
//!
//! The listener is a single-threaded poll(2) loop that never touches the
//! store: it accepts a connection, checks the peer's uid (SO_PEERCRED),
//! and re-executes hutch with the connection as its standard input
//! (`system service --serve-connection`), which serves every request of
//! that connection and exits. A connection's process is therefore
//! single-threaded when it creates or starts a container, as clone(2)'s
//! rules and `sys::child::spawn` demand, and a panic or a stuck request
//! costs one connection, not the service.

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::http;
use super::Error;

/// How often the loop looks at its children while any runs.
const REAP_INTERVAL: Duration = Duration::from_millis(100);

/// Where the service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A unix socket at this path.
    Unix(PathBuf),
    /// A TCP address (`HOST:PORT`), only with `--allow-tcp`.
    Tcp(String),
}

/// Parses the service's URI: `unix:///PATH` (or `unix:PATH`) or
/// `tcp://HOST:PORT`; `None` gives `default`.
pub fn parse_uri(uri: Option<&str>, default: &Path) -> Result<Endpoint, Error> {
    let Some(uri) = uri else {
        return Ok(Endpoint::Unix(default.to_path_buf()));
    };
    if let Some(rest) = uri.strip_prefix("unix://") {
        if rest.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(rest)));
        }
    } else if let Some(rest) = uri.strip_prefix("unix:") {
        if rest.starts_with('/') {
            return Ok(Endpoint::Unix(PathBuf::from(rest)));
        }
    } else if let Some(rest) = uri.strip_prefix("tcp://") {
        let rest = rest.trim_end_matches('/');
        if rest
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
        {
            return Ok(Endpoint::Tcp(rest.to_string()));
        }
    }
    Err(Error::Uri(uri.to_string()))
}

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to listen (ignored when systemd passed a socket).
    pub endpoint: Endpoint,
    /// Exit after this long without a connection; `None`: never.
    pub idle: Option<Duration>,
    /// Whether a `tcp://` endpoint may be used.
    pub is_tcp_allowed: bool,
    /// The arguments (after the program) that make hutch serve the
    /// connection on its standard input.
    pub connection_args: Vec<OsString>,
    /// `--cors`.
    pub cors: Option<String>,
}

/// The bound socket, removed again when the service ends (unless systemd
/// owns it).
enum Listener {
    Unix {
        listener: UnixListener,
        path: Option<PathBuf>,
    },
    Tcp(std::net::TcpListener),
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix {
            path: Some(path), ..
        } = self
        {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Serves until idle for `opts.idle`. `activated`: the socket systemd
/// passed, if any. `warn` gets the one-line warnings (TCP, a directory
/// others can enter).
pub fn run(opts: &Options, activated: Option<OwnedFd>, warn: &dyn Fn(&str)) -> Result<(), Error> {
    let listener = match activated {
        Some(fd) => Listener::Unix {
            listener: UnixListener::from(fd),
            path: None,
        },
        None => bind(opts, warn)?,
    };
    let set_nonblocking = match &listener {
        Listener::Unix { listener, .. } => listener.set_nonblocking(true),
        Listener::Tcp(l) => l.set_nonblocking(true),
    };
    set_nonblocking.map_err(Error::Listen)?;
    let uid = nix::unistd::getuid();
    let mut children: Vec<Child> = Vec::new();
    let mut last_active = Instant::now();
    loop {
        children.retain_mut(|c| !matches!(c.try_wait(), Ok(Some(_))));
        if !children.is_empty() {
            last_active = Instant::now();
        }
        let timeout = match (children.is_empty(), opts.idle) {
            (false, _) => Some(REAP_INTERVAL),
            (true, None) => None,
            (true, Some(idle)) => {
                let left = idle.saturating_sub(last_active.elapsed());
                if left.is_zero() {
                    log::debug!("idle for {}s: leaving", idle.as_secs());
                    return Ok(());
                }
                Some(left)
            }
        };
        let timeout = match timeout {
            Some(t) => PollTimeout::try_from(t).unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        let fd = match &listener {
            Listener::Unix { listener, .. } => listener.as_fd(),
            Listener::Tcp(l) => l.as_fd(),
        };
        let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
        match poll(&mut fds, timeout) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(Error::Listen(e.into())),
        }
        loop {
            let accepted: std::io::Result<OwnedFd> = match &listener {
                Listener::Unix { listener, .. } => {
                    listener
                        .accept()
                        .and_then(|(conn, _)| match is_peer_allowed(&conn, uid) {
                            true => Ok(OwnedFd::from(conn)),
                            false => {
                                refuse(conn, opts.cors.clone());
                                Err(std::io::ErrorKind::PermissionDenied.into())
                            }
                        })
                }
                Listener::Tcp(l) => l.accept().map(|(conn, _)| OwnedFd::from(conn)),
            };
            match accepted {
                Ok(conn) => {
                    last_active = Instant::now();
                    match spawn_connection(opts, conn) {
                        Ok(child) => children.push(child),
                        Err(e) => log::warn!("serving a connection: {e}"),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // ECONNABORTED and the like: that client is gone.
                Err(e) => {
                    log::debug!("accept: {e}");
                    break;
                }
            }
        }
    }
}

/// Whether the peer of `conn` runs as `uid` (SO_PEERCRED, unix(7)).
fn is_peer_allowed(conn: &UnixStream, uid: nix::unistd::Uid) -> bool {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    match getsockopt(conn, PeerCredentials) {
        Ok(cred) => cred.uid() == uid.as_raw(),
        Err(_) => false,
    }
}

/// Answers a connection from another user with 403 and closes it.
fn refuse(mut conn: UnixStream, cors: Option<String>) {
    log::debug!("refused a connection from another user");
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_write_timeout(Some(Duration::from_secs(1)));
    let common = http::Common {
        cors,
        is_closing: true,
    };
    let _ = http::respond_error(
        &mut conn,
        &common,
        403,
        "access denied: this service serves only the user who runs it",
    );
    let _ = conn.flush();
}

/// Starts the process that serves connection `conn` (its stdin).
fn spawn_connection(opts: &Options, conn: OwnedFd) -> std::io::Result<Child> {
    Command::new("/proc/self/exe")
        .args(&opts.connection_args)
        .stdin(Stdio::from(conn))
        .stdout(Stdio::null())
        .spawn()
}

/// Binds the endpoint: a unix socket 0600 in a 0700 directory, or TCP
/// with a warning.
fn bind(opts: &Options, warn: &dyn Fn(&str)) -> Result<Listener, Error> {
    match &opts.endpoint {
        Endpoint::Tcp(addr) => {
            if !opts.is_tcp_allowed {
                return Err(Error::TcpRefused(addr.clone()));
            }
            warn(&format!(
                "serving on tcp://{addr} without authentication: whoever can reach it controls your containers"
            ));
            let l = std::net::TcpListener::bind(addr).map_err(|source| Error::Bind {
                path: PathBuf::from(format!("tcp://{addr}")),
                source,
            })?;
            Ok(Listener::Tcp(l))
        }
        Endpoint::Unix(path) => bind_unix(path, warn),
    }
}

fn bind_unix(path: &Path, warn: &dyn Fn(&str)) -> Result<Listener, Error> {
    let err = |source| Error::Bind {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(err)?;
        }
        let meta = std::fs::metadata(dir).map_err(err)?;
        if meta.mode() & 0o077 != 0 {
            warn(&format!(
                "{} can be entered by other users; the socket is 0600 and other users are refused, but a 0700 directory is safer",
                dir.display()
            ));
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => match UnixStream::connect(path) {
            Ok(_) => return Err(Error::InUse(path.to_path_buf())),
            // Left by a service that ended without removing it.
            Err(_) => std::fs::remove_file(path).map_err(err)?,
        },
        Ok(_) => return Err(Error::NotSocket(path.to_path_buf())),
        Err(_) => {}
    }
    // Made 0600 from the start: a client cannot connect in between.
    let old_mask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    nix::sys::stat::umask(old_mask);
    let listener = bound.map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    Ok(Listener::Unix {
        listener,
        path: Some(path.to_path_buf()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_unix_paths_or_tcp_addresses() {
        let d = Path::new("/run/user/1/hutch/hutch.sock");
        assert_eq!(parse_uri(None, d).unwrap(), Endpoint::Unix(d.into()));
        assert_eq!(
            parse_uri(Some("unix:///tmp/a.sock"), d).unwrap(),
            Endpoint::Unix("/tmp/a.sock".into())
        );
        assert_eq!(
            parse_uri(Some("unix:/tmp/a.sock"), d).unwrap(),
            Endpoint::Unix("/tmp/a.sock".into())
        );
        assert_eq!(
            parse_uri(Some("tcp://127.0.0.1:8080"), d).unwrap(),
            Endpoint::Tcp("127.0.0.1:8080".into())
        );
        for bad in [
            "unix://relative",
            "tcp://:80",
            "tcp://host",
            "http://x",
            "/tmp/a",
        ] {
            assert!(parse_uri(Some(bad), d).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_socket_is_private_and_a_stale_one_is_replaced() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("sub/api.sock");
        let warned = std::cell::RefCell::new(Vec::new());
        let warn = |l: &str| warned.borrow_mut().push(l.to_string());
        let l = bind_unix(&path, &warn).unwrap();
        let dir_mode = std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777;
        let sock_mode = std::fs::symlink_metadata(&path).unwrap().mode() & 0o777;
        assert_eq!((dir_mode, sock_mode), (0o700, 0o600));
        assert!(warned.borrow().is_empty());
        // A live one is not taken over.
        assert!(matches!(bind_unix(&path, &warn), Err(Error::InUse(_))));
        // Dropping the listener removes the socket; a stale one is replaced.
        let mut l = l;
        if let Listener::Unix { path, .. } = &mut l {
            *path = None;
        }
        drop(l);
        assert!(path.exists());
        assert!(bind_unix(&path, &warn).is_ok());
    }
}
