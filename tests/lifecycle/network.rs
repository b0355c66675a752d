//! End-to-end tests of container networking (issue #4): the helpers
//! (pasta, slirp4netns) give the container an interface before its command
//! runs, published ports serve the host, helpers never outlive their
//! container, and bad ports fail before anything starts.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::common::{image, require_tool, wait_for, Env, Run};
use super::{expect_id, is_alive, proc_stat, run_rm as run, setup, Cleanup, SETTLE};

/// The helpers every test covers, as `--network` names them.
const HELPERS: [&str; 2] = ["pasta", "slirp4netns"];

/// Fails unless both helpers are installed: the tests need them.
fn require_helpers() {
    for h in HELPERS {
        require_tool(h);
    }
}

/// A host port that is free right now.
pub(super) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding a free port")
}

/// The body of `GET /` from 127.0.0.1:`port`, or why not.
pub(super) fn http_get(port: u16) -> Result<String, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut reply = String::new();
    s.read_to_string(&mut reply)
        .map_err(|e| format!("read: {e}"))?;
    match reply.split_once("\r\n\r\n") {
        Some((head, body)) if head.starts_with("HTTP/1.") && head.contains(" 200 ") => {
            Ok(body.to_string())
        }
        _ => Err(format!("unexpected reply {reply:?}")),
    }
}

/// The helper pid and start time a running container recorded.
#[track_caller]
fn helper_of(env: &Env, id: &str) -> (i32, String, String) {
    let path: PathBuf = env.store().join("containers").join(id).join("net.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("parsing {}: {e}\n{text}", path.display()));
    let pid = v["pid"]
        .as_i64()
        .unwrap_or_else(|| panic!("no helper pid in {}: {text}", path.display()))
        as i32;
    let helper = v["helper"].as_str().unwrap_or_default().to_string();
    let stat = proc_stat(pid).unwrap_or_else(|| panic!("helper {pid} is not running"));
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    // pasta re-executes itself as an optimised passt binary.
    let is_helper = comm.trim() == helper || (helper == "pasta" && comm.starts_with("passt"));
    assert!(
        is_helper,
        "the recorded helper pid {pid} should be a {helper} process, not {comm:?}"
    );
    (pid, stat[19].clone(), helper)
}

/// Waits until process `pid` (started at `start`) is gone.
#[track_caller]
fn wait_gone(pid: i32, start: &str, what: &str) {
    wait_for(&format!("{what} (pid {pid}) to exit"), SETTLE, || {
        if is_alive(pid, start) {
            Err(format!("pid {pid} still runs"))
        } else {
            Ok(())
        }
    });
}

/// Asserts nothing accepts connections on 127.0.0.1:`port`.
#[track_caller]
fn assert_closed(port: u16) {
    wait_for(
        &format!("127.0.0.1:{port} to close"),
        SETTLE,
        || match TcpStream::connect(("127.0.0.1", port)) {
            Ok(_) => Err("something still accepts connections".into()),
            Err(_) => Ok(()),
        },
    );
}

/// `-p 127.0.0.1:PORT:80` with busybox httpd serving "hi from NAME".
#[track_caller]
fn run_web(env: &Env, network: &str, name: &str, port: u16) -> String {
    let img = image("busybox");
    let publish = format!("127.0.0.1:{port}:80");
    let script = format!(
        "mkdir /www && echo hi from {name} > /www/index.html && exec httpd -f -p 80 -h /www"
    );
    let r = env
        .hutch_closing(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            network,
            "-p",
            &publish,
            &img,
            "sh",
            "-c",
            &script,
        ])
        .success();
    expect_id(&r)
}

// --- interfaces ----------------------------------------------------------------

#[test]
fn run_configures_an_interface_before_the_command_with_each_helper() {
    require_helpers();
    let env = setup();
    for (network, want_addr, want_dns) in [
        ("pasta", None, "nameserver 169.254.1.1"),
        (
            "slirp4netns",
            Some("inet 10.0.2.100/24"),
            "nameserver 10.0.2.3",
        ),
    ] {
        // The very first command sees the interface: no retry inside.
        let r = run(
            &env,
            &["--network", network],
            &["sh", "-c", "ip -o -4 addr; ip route; cat /etc/resolv.conf"],
        )
        .success();
        let non_lo: Vec<&str> = r
            .stdout
            .lines()
            .filter(|l| l.contains(" inet ") && !l.contains(" lo "))
            .collect();
        if non_lo.is_empty() {
            r.fail(&format!(
                "--network {network}: expected a non-loopback interface with an IPv4 address"
            ));
        }
        if let Some(addr) = want_addr {
            if !non_lo.iter().any(|l| l.contains(addr)) {
                r.fail(&format!("--network {network}: expected {addr:?}"));
            }
        }
        if !r.stdout.lines().any(|l| l.starts_with("default via ")) {
            r.fail(&format!("--network {network}: expected a default route"));
        }
        if !r.stdout.lines().any(|l| l == want_dns) {
            r.fail(&format!(
                "--network {network}: resolv.conf should point at the helper: {want_dns:?}"
            ));
        }
    }
    // Without --network the default is slirp4netns (issue #19), installed here.
    let r = run(&env, &[], &["ip", "-o", "-4", "addr"]).success();
    if !r.stdout.lines().any(|l| l.contains("inet 10.0.2.100/24")) {
        r.fail("the default network should be slirp4netns's 10.0.2.100/24 on tap0");
    }
}

/// The network helpers among the children of process `parent` now, with
/// their start times (`/proc/PID/stat` field 22).
fn helpers_of(parent: u32) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("reading /proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        let is_helper =
            comm.starts_with("passt") || ["pasta", "slirp4netns"].contains(&comm.trim());
        let stat = proc_stat(pid).unwrap_or_default();
        if is_helper && stat.len() > 19 && stat[1] == parent.to_string() {
            found.push((pid, stat[19].clone()));
        }
    }
    found
}

/// Whether process `pid` started at `start` still exists in any state,
/// a zombie (exited, not reaped) included.
fn exists(pid: i32, start: &str) -> bool {
    proc_stat(pid).is_some_and(|f| f.len() > 19 && f[19] == start)
}

/// Runs `run --rm FLAGS busybox sh -c SCRIPT` in the background and
/// returns the helpers seen under its hutch while it ran, with the run.
fn run_watching_helpers(env: &Env, flags: &[&str], script: &str) -> (Vec<(i32, String)>, Run) {
    let img = image("busybox");
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[img.as_str(), "sh", "-c", script]);
    let pending = env.spawn(&args);
    let hutch = pending.id();
    // The helper is hutch's child while the container sleeps.
    let deadline = Instant::now() + SETTLE;
    let mut seen = helpers_of(hutch);
    while seen.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        seen = helpers_of(hutch);
    }
    let r = pending.wait().success();
    if seen.is_empty() {
        r.fail("no network helper was seen under hutch");
    }
    (seen, r)
}

#[test]
fn run_rm_with_the_default_network_leaves_no_helper_behind() {
    // issue #19: the default helper (slirp4netns) is killed when the
    // container exits, but `run` does not wait for its exit
    // (tens of milliseconds of the kernel's) unless it forwarded ports.
    // So the very first command sees its interface; the killed helper is
    // gone within a bounded wait (its reaper is the system's); and with a
    // published port it is gone, and the port free, when `run` returns.
    require_helpers();
    let env = setup();
    for i in 0..3 {
        let (seen, r) = run_watching_helpers(&env, &[], "ip -o -4 addr; ip route; sleep 0.5");
        for (pid, start) in &seen {
            wait_for(
                &format!("run {i}: helper {pid} to be gone"),
                SETTLE,
                || match exists(*pid, start) {
                    true => Err(format!("{:?}", proc_stat(*pid))),
                    false => Ok(()),
                },
            );
        }
        if !r
            .stdout
            .lines()
            .any(|l| l.contains(" inet ") && !l.contains(" lo "))
        {
            r.fail("expected a non-loopback interface with an IPv4 address");
        }
        if !r.stdout.lines().any(|l| l.starts_with("default via ")) {
            r.fail("expected a default route");
        }
    }
    // A published port: nothing left at return, checked at once, and the
    // port can be bound again right away.
    for i in 0..3 {
        let port = free_port();
        let publish = format!("127.0.0.1:{port}:80");
        let (seen, r) = run_watching_helpers(&env, &["-p", &publish], "sleep 0.5");
        let left: Vec<_> = seen.iter().filter(|(p, s)| exists(*p, s)).collect();
        if !left.is_empty() {
            r.fail(&format!(
                "run {i}: the helper of -p {publish} is still there after run returned: {left:?}"
            ));
        }
        if let Err(e) = TcpListener::bind(("127.0.0.1", port)) {
            r.fail(&format!(
                "run {i}: port {port} is not free after run returned: {e}"
            ));
        }
    }
    // A helper that fails after init was released: the error is pasta's,
    // the command never runs, and no container is left.
    let r = run(
        &env,
        &["--network", "pasta:--no-such-pasta-option"],
        &["echo", "the command ran"],
    );
    let r = r.code(125);
    if r.stdout.contains("the command ran") {
        r.fail("the command ran although its network helper failed");
    }
    if !r.stderr.contains("pasta") {
        r.fail("the error should name pasta");
    }
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
}

#[test]
fn network_none_has_only_loopback_and_host_shares_the_hosts_interfaces() {
    let env = setup();
    let r = run(&env, &["--network", "none"], &["ip", "-o", "link"]).success();
    let links: Vec<&str> = r.stdout.lines().collect();
    if links.len() != 1 || !links[0].contains(": lo:") || !links[0].contains("UP") {
        r.fail("--network none: expected exactly one interface, lo, up");
    }

    let mut host: Vec<String> = std::fs::read_dir("/sys/class/net")
        .expect("listing /sys/class/net")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    host.sort();
    let r = run(&env, &["--network", "host"], &["ls", "/sys/class/net"]).success();
    let mut inside: Vec<String> = r.stdout.split_whitespace().map(String::from).collect();
    inside.sort();
    if inside != host {
        r.fail(&format!(
            "--network host: expected the host's interfaces {host:?}"
        ));
    }
}

// --- published ports ----------------------------------------------------------------

#[test]
fn published_port_serves_the_host_and_rm_leaves_no_helper() {
    require_helpers();
    let env = setup();
    let _cleanup = Cleanup(&env);
    // slirp4netns forwards TCP through hutch's own forwarder unless
    // port_handler=slirp4netns asks for its add_hostfwd.
    let modes = [
        ("pasta", "pasta", "web-pasta"),
        ("slirp4netns", "slirp4netns", "web-slirp"),
        (
            "slirp4netns:port_handler=slirp4netns",
            "slirp4netns",
            "web-slirp-hostfwd",
        ),
    ];
    for (network, helper_name, name) in modes {
        let name = name.to_string();
        let port = free_port();
        let id = run_web(&env, network, &name, port);
        let body = wait_for(
            &format!("the page on port {port} ({network})"),
            SETTLE,
            || http_get(port),
        );
        assert_eq!(
            body.trim(),
            format!("hi from {name}"),
            "--network {network}"
        );

        env.hutch(&["port", &name])
            .success()
            .stdout_is(&format!("80/tcp -> 127.0.0.1:{port}"));
        env.hutch(&["port", &name, "80/tcp"])
            .success()
            .stdout_is(&format!("127.0.0.1:{port}"));
        let r = env
            .hutch(&["ps", "--format", "{{.Names}} {{.Ports}}"])
            .success();
        let want = format!("{name} 127.0.0.1:{port}->80/tcp");
        if !r.stdout.lines().any(|l| l == want) {
            r.fail(&format!("expected ps to show {want:?}"));
        }
        let r = env.hutch(&["inspect", &name]).success();
        let ports = &r.json()[0]["NetworkSettings"]["Ports"]["80/tcp"][0];
        if ports["HostIp"] != "127.0.0.1" || ports["HostPort"] != port.to_string().as_str() {
            r.fail("expected NetworkSettings.Ports 80/tcp with HostIp 127.0.0.1 and the port");
        }

        let (pid, start, helper) = helper_of(&env, &id);
        assert_eq!(helper, helper_name);
        env.hutch(&["rm", "-f", &name]).success();
        wait_gone(pid, &start, &format!("{network} of removed {name}"));
        assert_closed(port);
    }
}

#[test]
fn killing_the_monitor_leaves_no_helper_behind() {
    require_helpers();
    let env = setup();
    let _cleanup = Cleanup(&env);
    for network in HELPERS {
        let name = format!("orphan-{network}");
        let port = free_port();
        let id = run_web(&env, network, &name, port);
        wait_for(&format!("the page on port {port}"), SETTLE, || {
            http_get(port)
        });
        let (pid, start, _) = helper_of(&env, &id);
        let monitor: i32 = proc_stat(pid).expect("helper stat")[1]
            .parse()
            .expect("helper ppid");
        let cmdline = std::fs::read(format!("/proc/{monitor}/cmdline")).unwrap_or_default();
        assert!(
            String::from_utf8_lossy(&cmdline).contains("container-monitor"),
            "the helper's parent {monitor} should be the container's monitor"
        );
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(monitor),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("killing the monitor");
        wait_gone(
            pid,
            &start,
            &format!("{network} of {name} after its monitor died"),
        );
        assert_closed(port);
    }
}

// --- reaching the host, names -------------------------------------------------------

#[test]
fn container_reaches_a_host_service_by_name() {
    require_helpers();
    let env = setup();
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a host service");
    let port = listener.local_addr().expect("local addr").port();
    let served = std::thread::spawn(move || {
        let mut n = 0;
        for mut c in listener.incoming().take(2).flatten() {
            let _ = c.write_all(b"hello from the host\n");
            n += 1;
        }
        n
    });
    let cases = [
        // slirp4netns maps 10.0.2.2 to the host's loopback when allowed.
        (
            "slirp4netns:allow_host_loopback=true",
            vec!["--add-host", "svc:10.0.2.2"],
            "svc",
            "10.0.2.2\tsvc",
        ),
        // pasta:--map-gw maps the default gateway to the host's loopback
        // (issue #21 item 2: only when asked); host.containers.internal names it.
        (
            "pasta:--map-gw",
            vec![],
            "host.containers.internal",
            "\thost.containers.internal",
        ),
    ];
    for (network, extra, host, want_line) in cases {
        let mut flags = vec!["--network", network];
        flags.extend(extra.iter().copied());
        // nc's stdin stays open until the host has closed: pasta (2023-03)
        // may lose the host's FIN on the gateway mapping when the
        // container half-closed first, and nc would wait forever.
        let cmd = format!("sleep 2 | nc {host} {port}; cat /etc/hosts");
        let r = run(&env, &flags, &["sh", "-c", &cmd]).success();
        if !r.stdout.lines().any(|l| l == "hello from the host") {
            r.fail(&format!(
                "--network {network}: the container should reach the host service on 127.0.0.1:{port}"
            ));
        }
        if !r.stdout.lines().any(|l| l.ends_with(want_line)) {
            r.fail(&format!(
                "--network {network}: /etc/hosts should have {want_line:?}"
            ));
        }
    }
    assert_eq!(served.join().expect("server thread"), 2);

    // --dns, --dns-search, --dns-option and --no-hosts.
    let r = run(
        &env,
        &[
            "--dns",
            "192.0.2.53",
            "--dns-search",
            "corp.example",
            "--dns-option",
            "ndots:2",
        ],
        &["cat", "/etc/resolv.conf"],
    )
    .success();
    if r.stdout != "search corp.example\nnameserver 192.0.2.53\noptions ndots:2\n" {
        r.fail("resolv.conf should hold exactly the --dns flags");
    }
    let r = run(&env, &["--no-hosts"], &["cat", "/etc/hosts"]);
    if r.stdout.contains("host.containers.internal") {
        r.fail("--no-hosts should leave the image's /etc/hosts");
    }
}

// --- failures before start ------------------------------------------------------------

#[test]
fn privileged_host_port_fails_fast_naming_the_sysctl() {
    let env = setup();
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .expect("reading net.ipv4.ip_unprivileged_port_start")
        .trim()
        .parse()
        .expect("parsing net.ipv4.ip_unprivileged_port_start");
    assert!(
        start > 1,
        "net.ipv4.ip_unprivileged_port_start is {start}: every port is unprivileged on this host, so the test cannot run; set it to 1024"
    );
    let port = start - 1;
    let began = Instant::now();
    let r = run(&env, &["-p", &format!("{port}:80")], &["true"]);
    let took = began.elapsed();
    let r = r.tool_error(&[&format!("net.ipv4.ip_unprivileged_port_start={port}")]);
    if took > Duration::from_secs(1) {
        r.fail(&format!(
            "the failure took {took:?}; it must come in under a second"
        ));
    }
}

#[test]
fn busy_host_port_fails_before_the_container_starts() {
    require_helpers();
    let env = setup();
    let _cleanup = Cleanup(&env);
    let taken = TcpListener::bind("127.0.0.1:0").expect("binding a port");
    let port = taken.local_addr().expect("local addr").port();
    let img = image("busybox");
    let publish = format!("127.0.0.1:{port}:80");
    for network in HELPERS {
        let name = format!("busy-{network}");
        let r = env.hutch(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            network,
            "-p",
            &publish,
            &img,
            "sh",
            "-c",
            "echo started; sleep 1000",
        ]);
        r.tool_error(&[&format!("127.0.0.1:{port}/tcp"), "already in use"]);
        let status = env
            .hutch(&["inspect", "-f", "{{.State.Status}}", &name])
            .success();
        if status.stdout.trim() == "running" {
            status.fail("the container must not run when its port is busy");
        }
        env.hutch(&["logs", &name]).success().stdout_is("");
    }
    drop(taken);
}
