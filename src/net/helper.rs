//! Starting pasta or slirp4netns for a container's network namespace and
//! stopping it with the container.
//!
//! The helper is our direct child with `PR_SET_PDEATHSIG`, so it dies with
//! the process that started it (the CLI in the foreground, the monitor
//! when detached) even when that one is SIGKILLed; pasta would otherwise
//! keep the namespace alive. slirp4netns also watches an exit pipe.

use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use nix::sys::signal::Signal;
use nix::unistd::Pid;

use super::{Error, Mode, NetworkPlan, Protocol, PublishedPort, SlirpOptions, PASTA_DNS};

/// How long a helper may take to configure the namespace.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The helper's stderr, kept in the container directory for errors.
const LOG_FILE: &str = "net.log";

/// Where the helper's pid and the published ports are recorded.
const RECORD_FILE: &str = "net.json";

/// A helper serving a running container; killed and reaped when dropped.
pub struct RunningHelper {
    /// pasta or slirp4netns; none on user networks.
    child: Option<Child>,
    /// hutch's own port forwarder, with slirp4netns.
    forwarder: Option<Child>,
    /// slirp4netns's exit pipe: closing it tells slirp4netns to exit.
    _exit: Option<OwnedFd>,
    /// On user networks: detaches the container when dropped.
    detach: Option<super::netavark::Detach>,
    /// Whether it forwards host ports (`stop_later` then waits for it).
    has_ports: bool,
}

impl RunningHelper {
    /// The helper's pid (on user networks, the port forwarder's).
    pub fn pid(&self) -> Option<i32> {
        self.child
            .as_ref()
            .or(self.forwarder.as_ref())
            .map(|c| c.id() as i32)
    }

    /// A container's attachment to user networks, with the forwarder of
    /// its published ports: both undone when dropped.
    pub fn attached(detach: super::netavark::Detach, forwarder: Option<Child>) -> RunningHelper {
        let has_ports = forwarder.is_some();
        RunningHelper {
            child: None,
            forwarder,
            _exit: None,
            detach: Some(detach),
            has_ports,
        }
    }
}

/// Helpers killed by `RunningHelper::stop_later`, not yet reaped, each
/// with whether it forwarded host ports.
static STOPPING: std::sync::Mutex<Vec<(Child, bool)>> = std::sync::Mutex::new(Vec::new());

impl RunningHelper {
    /// Kills the helper without waiting for it to exit: its exit takes the
    /// kernel tens of milliseconds (RCU grace periods for its tap device
    /// and its sandbox's mount namespace), which `reap_stopped` overlaps
    /// with the caller's cleanup. On user networks the container is
    /// detached at once, as when dropped.
    pub fn stop_later(mut self) {
        let has_ports = self.has_ports;
        let children = [self.forwarder.take(), self.child.take()];
        for mut c in children.into_iter().flatten() {
            let _ = c.kill();
            if !matches!(c.try_wait(), Ok(Some(_))) {
                if let Ok(mut list) = STOPPING.lock() {
                    list.push((c, has_ports));
                }
            }
        }
    }
}

/// Reaps the helpers `RunningHelper::stop_later` killed. Those that
/// forwarded host ports are waited for, so that the ports are free when
/// the command returns; so are all with `is_waiting_for_all` (a caller
/// that runs on, such as `build`, whose zombies would pile up). The others
/// are reaped if they are gone already and otherwise left to finish dying
/// on their own: killed, holding no port, they end within milliseconds
/// and the orphan's reaper (the user's service manager, or init) takes
/// them, while the command returns at once.
pub fn reap_stopped(is_waiting_for_all: bool) {
    let children = match STOPPING.lock() {
        Ok(mut list) => std::mem::take(&mut *list),
        Err(_) => return,
    };
    for (mut c, has_ports) in children {
        match has_ports || is_waiting_for_all {
            true => {
                let _ = c.wait();
            }
            false => {
                let _ = c.try_wait();
            }
        }
    }
}

impl Drop for RunningHelper {
    fn drop(&mut self) {
        if let Some(f) = &mut self.forwarder {
            let _ = f.kill();
            let _ = f.wait();
        }
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Detaching after the forwarder: no connection is in flight.
        drop(self.detach.take());
    }
}

/// What `ps`, `port`, `inspect` and cleanup need to know about a running
/// container's network, stored in its directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HelperRecord {
    /// `pasta` or `slirp4netns`; empty without a helper.
    pub helper: String,
    /// The helper's pid.
    pub pid: Option<i32>,
    /// The helper's start time (`/proc/PID/stat` field 22).
    pub start: Option<u64>,
    /// The ports published.
    pub ports: Vec<PublishedPort>,
}

impl HelperRecord {
    /// Where the record of the container directory `dir` is; the caller
    /// writes it through `storage`, which owns the files there.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(RECORD_FILE)
    }

    /// Reads the record of the container directory `dir`, if there is one.
    pub fn read(dir: &Path) -> Option<HelperRecord> {
        let text = std::fs::read(Self::path(dir)).ok()?;
        serde_json::from_slice(&text).ok()
    }
}

/// Starts the helper of `plan` for the network namespace of process `pid`
/// (whose user namespace it joins, which needs its id maps written) and
/// returns once the interface is configured and `ports` are forwarded.
/// `dir` is the container directory. `None` when the mode has no helper.
/// Must be called single-threaded (see `sys::spawn::die_with_parent`).
pub fn start_helper(
    plan: &NetworkPlan,
    pid: Pid,
    dir: &Path,
    ports: &[PublishedPort],
) -> Result<Option<RunningHelper>, Error> {
    match &plan.mode {
        Mode::Pasta(_) => {
            let target = PastaTarget::open(pid)?;
            spawn_pasta(plan, &target, dir, ports)?
                .wait_ready()
                .map(Some)
        }
        Mode::Slirp4netns(opts) => start_slirp(plan, opts, pid, dir, ports).map(Some),
        Mode::None | Mode::Host | Mode::Bridge(_) => Ok(None),
    }
}

fn log_file(dir: &Path, helper: &'static str) -> Result<std::fs::File, Error> {
    std::fs::File::create(dir.join(LOG_FILE))
        .map_err(|source| Error::SpawnHelper { helper, source })
}

/// The last non-empty line the helper wrote to its log.
fn last_log_line(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join(LOG_FILE)).unwrap_or_default();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .unwrap_or_else(|| "it exited without saying why".to_string())
}

/// pasta's `-t`/`-u` value for one published port.
fn pasta_spec(p: &PublishedPort) -> String {
    match p.host_ip {
        Some(ip) => format!("{ip}/{}:{}", p.host_port, p.container_port),
        None => format!("{}:{}", p.host_port, p.container_port),
    }
}

/// pasta's arguments: configure the namespace, forward only the published
/// ports, map `PASTA_DNS` to the host's resolver, stay in the foreground.
fn pasta_args(
    plan: &NetworkPlan,
    extra: &[String],
    target: &[String],
    pid_file: &Path,
) -> Vec<String> {
    let mut args: Vec<String> = [
        "--config-net",
        "--foreground",
        "--quiet",
        "--dns-forward",
        PASTA_DNS,
    ]
    .into_iter()
    .map(String::from)
    .collect();
    args.push("--pid".into());
    args.push(pid_file.to_string_lossy().into_owned());
    if let Some(mac) = &plan.mac_address {
        args.push("--ns-mac-addr".into());
        args.push(mac.clone());
    }
    // The gateway address reaches the host's loopback only when asked
    // (`pasta:--map-gw`, Podman's option, which pasta itself does not
    // take): otherwise every service bound to 127.0.0.1 on the host would
    // be open to the container.
    if !super::is_pasta_gateway_mapped(extra) {
        args.push("--no-map-gw".into());
    }
    args.extend(extra.iter().filter(|a| *a != super::PASTA_MAP_GW).cloned());
    args.extend(target.iter().cloned());
    args
}

/// The namespaces pasta joins: init's user and network namespaces, opened
/// by us while init is still dumpable (it stops being so once released,
/// and pasta, which may then still be starting, could no longer open its
/// `/proc` entries), handed to pasta as inherited fds.
pub struct PastaTarget {
    userns: OwnedFd,
    netns: OwnedFd,
}

impl PastaTarget {
    /// Opens the namespaces of init `pid`.
    pub fn open(pid: Pid) -> Result<PastaTarget, Error> {
        let open = |ns: &str| {
            std::fs::File::open(format!("/proc/{pid}/ns/{ns}"))
                .map(OwnedFd::from)
                .map_err(|source| Error::SpawnHelper {
                    helper: "pasta",
                    source,
                })
        };
        Ok(PastaTarget {
            userns: open("user")?,
            netns: open("net")?,
        })
    }

    /// pasta's arguments naming the namespaces by fd. Without
    /// `--no-netns-quit` pasta would watch the fd's directory with
    /// inotify, which costs it milliseconds at exit and tells nothing:
    /// hutch stops it.
    fn args(&self) -> Vec<String> {
        vec![
            "--userns".into(),
            format!("/proc/self/fd/{}", self.userns.as_raw_fd()),
            "--netns".into(),
            format!("/proc/self/fd/{}", self.netns.as_raw_fd()),
            "--no-netns-quit".into(),
        ]
    }
}

/// pasta spawned for a namespace and not yet known to be ready: the
/// container's setup goes on meanwhile (see `runtime::run::release`).
pub struct StartingPasta {
    helper: RunningHelper,
    pid_file: PathBuf,
    dir: PathBuf,
}

/// Spawns pasta for the namespaces of `target` and returns at once; the
/// caller waits for it with `StartingPasta::wait_ready` before the
/// container's process runs. `dir` is the container directory. Must be
/// called single-threaded: the namespace fds are inheritable while pasta
/// is spawned.
pub fn spawn_pasta(
    plan: &NetworkPlan,
    target: &PastaTarget,
    dir: &Path,
    ports: &[PublishedPort],
) -> Result<StartingPasta, Error> {
    const NAME: &str = "pasta";
    let Mode::Pasta(extra) = &plan.mode else {
        return Err(Error::HelperFailed {
            helper: NAME,
            message: "the network mode is not pasta".into(),
        });
    };
    let pid_file = dir.join("pasta.pid");
    let _ = std::fs::remove_file(&pid_file);
    let mut args = Vec::new();
    // Forward exactly the published ports; pasta's default would forward
    // every port the container binds, and the host's to the container.
    for (flag, proto) in [("-t", Protocol::Tcp), ("-u", Protocol::Udp)] {
        let mine: Vec<&PublishedPort> = ports.iter().filter(|p| p.proto == proto).collect();
        if mine.is_empty() {
            args.extend([flag.to_string(), "none".to_string()]);
        }
        for p in mine {
            args.extend([flag.to_string(), pasta_spec(p)]);
        }
    }
    args.extend(["-T", "none", "-U", "none"].map(String::from));
    args.extend(pasta_args(plan, extra, &target.args(), &pid_file));
    let mut cmd = Command::new(plan.helper_path.as_deref().unwrap_or(Path::new(NAME)));
    cmd.args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file(dir, NAME)?);
    crate::sys::spawn::die_with_parent(&mut cmd, Signal::SIGKILL);
    // Inheritable only for this spawn: the caller drops `target` next.
    inheritable(&target.userns, NAME)?;
    inheritable(&target.netns, NAME)?;
    let child = cmd.spawn().map_err(|source| Error::SpawnHelper {
        helper: NAME,
        source,
    })?;
    Ok(StartingPasta {
        helper: RunningHelper {
            child: Some(child),
            forwarder: None,
            _exit: None,
            detach: None,
            has_ports: !ports.is_empty(),
        },
        pid_file,
        dir: dir.to_path_buf(),
    })
}

impl StartingPasta {
    /// Waits until pasta has configured the namespace and bound the
    /// published ports.
    pub fn wait_ready(mut self) -> Result<RunningHelper, Error> {
        const NAME: &str = "pasta";
        // pasta writes its pid into the file once the namespace is
        // configured and the ports are bound; it creates the file earlier,
        // empty, so only a complete line counts. Polled every 0.5 ms at
        // most: the wait is on the critical path of every start.
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut pause = Duration::from_micros(100);
        loop {
            let written = std::fs::read_to_string(&self.pid_file).unwrap_or_default();
            if written.ends_with('\n') {
                let _ = std::fs::remove_file(&self.pid_file);
                return Ok(self.helper);
            }
            if let Some(Ok(Some(_))) = self.helper.child.as_mut().map(Child::try_wait) {
                return Err(Error::HelperFailed {
                    helper: NAME,
                    message: last_log_line(&self.dir),
                });
            }
            if Instant::now() > deadline {
                return Err(Error::HelperTimeout(NAME));
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_micros(500));
        }
    }
}

/// Clears close-on-exec on `fd` so a spawned helper inherits it.
fn inheritable(fd: &OwnedFd, helper: &'static str) -> Result<(), Error> {
    fcntl(fd, FcntlArg::F_SETFD(FdFlag::empty())).map_err(|e| Error::Pipe(helper, e))?;
    Ok(())
}

/// A path for slirp4netns's API socket: in `dir` when short enough for
/// sun_path, else in the temporary directory.
fn api_socket_path(dir: &Path, pid: Pid) -> PathBuf {
    let p = dir.join("slirp.sock");
    if p.as_os_str().len() < 100 {
        p
    } else {
        std::env::temp_dir().join(format!("hutch-slirp-{}-{}.sock", std::process::id(), pid))
    }
}

fn start_slirp(
    plan: &NetworkPlan,
    opts: &SlirpOptions,
    pid: Pid,
    dir: &Path,
    ports: &[PublishedPort],
) -> Result<RunningHelper, Error> {
    const NAME: &str = "slirp4netns";
    let pipe =
        || nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| Error::Pipe(NAME, e));
    let (ready_r, ready_w) = pipe()?;
    let (exit_r, exit_w) = pipe()?;
    inheritable(&ready_w, NAME)?;
    inheritable(&exit_r, NAME)?;
    // TCP goes through hutch's forwarder unless port_handler=slirp4netns;
    // UDP always through slirp4netns.
    let (own, slirp): (Vec<PublishedPort>, Vec<PublishedPort>) = ports
        .iter()
        .cloned()
        .partition(|p| p.proto == Protocol::Tcp && !opts.is_slirp_port_handler);
    let socket = (!slirp.is_empty()).then(|| api_socket_path(dir, pid));
    if let Some(s) = &socket {
        let _ = std::fs::remove_file(s);
    }
    let mut cmd = Command::new(plan.helper_path.as_deref().unwrap_or(Path::new(NAME)));
    cmd.arg("--configure")
        .arg(format!("--mtu={}", opts.mtu))
        .arg(format!("--ready-fd={}", ready_w.as_raw_fd()))
        .arg(format!("--exit-fd={}", exit_r.as_raw_fd()));
    if !opts.allow_host_loopback {
        cmd.arg("--disable-host-loopback");
    }
    if let Some(c) = &opts.cidr {
        cmd.arg(format!("--cidr={c}"));
    }
    if opts.enable_ipv6 {
        cmd.arg("--enable-ipv6");
    }
    if let Some(m) = &plan.mac_address {
        cmd.arg(format!("--macaddress={m}"));
    }
    if let Some(s) = &socket {
        cmd.arg(format!("--api-socket={}", s.display()));
    }
    cmd.arg(pid.as_raw().to_string())
        .arg("tap0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file(dir, NAME)?);
    crate::sys::spawn::die_with_parent(&mut cmd, Signal::SIGKILL);
    let spawned = cmd.spawn();
    drop((ready_w, exit_r));
    let child = spawned.map_err(|source| Error::SpawnHelper {
        helper: NAME,
        source,
    })?;
    let mut helper = RunningHelper {
        child: Some(child),
        forwarder: None,
        _exit: Some(exit_w),
        detach: None,
        has_ports: !ports.is_empty(),
    };
    // slirp4netns writes "1" to the ready fd once tap0 is configured and
    // the API socket listens, then closes it.
    let mut fds = [nix::poll::PollFd::new(
        ready_r.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let timeout = nix::poll::PollTimeout::try_from(READY_TIMEOUT.as_millis() as i32)
        .unwrap_or(nix::poll::PollTimeout::MAX);
    let polled = nix::poll::poll(&mut fds, timeout);
    let mut byte = [0u8; 1];
    let is_ready = matches!(polled, Ok(n) if n > 0)
        && matches!(std::fs::File::from(ready_r).read(&mut byte), Ok(1))
        && byte[0] == b'1';
    if !is_ready {
        if matches!(polled, Ok(0)) {
            return Err(Error::HelperTimeout(NAME));
        }
        drop(helper);
        return Err(Error::HelperFailed {
            helper: NAME,
            message: last_log_line(dir),
        });
    }
    if let Some(s) = &socket {
        let forwarded = slirp.iter().try_for_each(|p| add_hostfwd(s, p));
        let _ = std::fs::remove_file(s);
        forwarded?;
    }
    if !own.is_empty() {
        helper.forwarder = Some(super::forward::spawn_forwarder(pid, &own)?);
    }
    Ok(helper)
}

/// Asks slirp4netns on its API socket `socket` to forward `p`.
fn add_hostfwd(socket: &Path, p: &PublishedPort) -> Result<(), Error> {
    let port = super::format_port(p);
    let host_addr = p
        .host_ip
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "0.0.0.0".into());
    let request = serde_json::json!({
        "execute": "add_hostfwd",
        "arguments": {
            "proto": p.proto.name(),
            "host_addr": host_addr,
            "host_port": p.host_port,
            "guest_port": p.container_port,
        }
    });
    let api = |e| Error::SlirpApi {
        port: port.clone(),
        source: e,
    };
    let mut conn = UnixStream::connect(socket).map_err(api)?;
    conn.write_all(request.to_string().as_bytes())
        .map_err(api)?;
    conn.shutdown(std::net::Shutdown::Write).map_err(api)?;
    let mut reply = String::new();
    conn.read_to_string(&mut reply).map_err(api)?;
    if reply.contains("\"error\"") || !reply.contains("\"return\"") {
        return Err(Error::SlirpRefused {
            port,
            reply: reply.trim().to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pasta_specs_bind_the_host_address() {
        let p = PublishedPort {
            host_ip: Some("127.0.0.1".parse().unwrap()),
            host_port: 8080,
            container_port: 80,
            proto: Protocol::Tcp,
        };
        assert_eq!(pasta_spec(&p), "127.0.0.1/8080:80");
        assert_eq!(pasta_spec(&PublishedPort { host_ip: None, ..p }), "8080:80");
    }

    #[test]
    fn pasta_joins_the_namespaces_by_inherited_fds_without_a_watch() {
        let open = || OwnedFd::from(std::fs::File::open("/dev/null").unwrap());
        let target = PastaTarget {
            userns: open(),
            netns: open(),
        };
        let (u, n) = (target.userns.as_raw_fd(), target.netns.as_raw_fd());
        let plan = NetworkPlan::default();
        let args = pasta_args(&plan, &[], &target.args(), Path::new("/run/p"));
        let tail: Vec<&str> = args
            .iter()
            .rev()
            .take(5)
            .rev()
            .map(String::as_str)
            .collect();
        assert_eq!(
            tail,
            [
                "--userns",
                &format!("/proc/self/fd/{u}"),
                "--netns",
                &format!("/proc/self/fd/{n}"),
                "--no-netns-quit"
            ]
        );
    }

    #[test]
    fn pasta_maps_the_gateway_to_the_host_only_when_asked() {
        let plan = NetworkPlan::default();
        let target = ["42".to_string()];
        let file = Path::new("/run/p");
        let args = pasta_args(&plan, &[], &target, file);
        assert!(args.iter().any(|a| a == "--no-map-gw"), "{args:?}");
        // `--map-gw` is Podman's option; pasta gets neither flag then.
        let args = pasta_args(&plan, &["--map-gw".into(), "-4".into()], &target, file);
        assert!(!args.iter().any(|a| a.contains("map-gw")), "{args:?}");
        assert!(args.iter().any(|a| a == "-4"));
        assert_eq!(args.last().map(String::as_str), Some("42"));
    }
}
