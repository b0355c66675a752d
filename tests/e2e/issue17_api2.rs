//! Issue #17, second increment: exec sessions through the service, driven
//! by Debian's docker client and by raw requests (each on its own
//! connection, so each served by its own process).

use std::process::Command;
use std::time::Duration;

use crate::common::{self, image, require_tool, run_command, Env, Pty};
use crate::issue17_api::{socket_in, Service, DOCKER};

/// Starts the service and a detached busybox container `ctr`.
fn service_with_container(env: &Env) -> Service {
    let svc = Service::start(env, &socket_in(env), "0");
    let img = image("busybox");
    env.pull(&img);
    svc.docker(env, &["run", "-d", "--name", "ctr", &img, "sleep", "600"])
        .success();
    svc
}

/// The JSON body of a raw answer.
fn body_of(answer: &str) -> serde_json::Value {
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    serde_json::from_str(body.trim()).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// A raw POST with a JSON body on a connection of its own.
fn post(svc: &Service, path: &str, body: &str) -> String {
    svc.raw(
        format!(
            "POST {path} HTTP/1.1\r\nHost: d\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
}

#[test]
fn issue17_docker_exec_runs_commands_and_passes_exit_codes() {
    let env = Env::new();
    let svc = service_with_container(&env);
    svc.docker(&env, &["exec", "ctr", "echo", "hi"])
        .success()
        .stdout_is("hi");
    // stdout and stderr stay apart (multiplexed frames), the code comes back.
    svc.docker(
        &env,
        &["exec", "ctr", "sh", "-c", "echo out; echo oops >&2; exit 3"],
    )
    .code(3)
    .stdout_is("out")
    .stderr_has("oops");
    svc.docker(
        &env,
        &[
            "exec",
            "-e",
            "A=1",
            "-w",
            "/tmp",
            "-u",
            "1000:1000",
            "ctr",
            "sh",
            "-c",
            "echo $A $(pwd) $(id -u):$(id -g)",
        ],
    )
    .success()
    .stdout_is("1 /tmp 1000:1000");
    // The same as `hutch exec` gives.
    env.hutch(&["exec", "-u", "1000:1000", "ctr", "id", "-u"])
        .success()
        .stdout_is("1000");
    // stdin with -i, closed at its end.
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("printf 'piped\\n' | {DOCKER} exec -i ctr cat"))
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", "/usr/bin:/bin")
        .env("DOCKER_CONFIG", env.dir.join("docker"))
        .env("DOCKER_HOST", format!("unix://{}", svc.socket.display()));
    run_command(
        c,
        "printf piped | docker exec -i ctr cat".into(),
        Duration::from_secs(60),
    )
    .success()
    .stdout_is("piped");
    svc.docker(&env, &["exec", "ctr", "nosuchcommand"])
        .code(127);
    // Renamed through the API, as hutch sees it.
    svc.docker(&env, &["rename", "ctr", "box"]).success();
    env.hutch(&["ps", "--format", "{{.Names}}"])
        .success()
        .stdout_is("box");
    svc.docker(&env, &["rename", "box", "ctr"]).success();
    // A stopped container: Docker's words, nothing run.
    svc.docker(&env, &["stop", "-t", "1", "ctr"]).success();
    svc.docker(&env, &["exec", "ctr", "true"])
        .code(1)
        .stderr_has("is not running");
}

#[test]
fn issue17_exec_sessions_outlive_their_connection() {
    let env = Env::new();
    let svc = service_with_container(&env);
    let created = post(
        &svc,
        "/v1.41/containers/ctr/exec",
        r#"{"Cmd":["sh","-c","echo framed; exit 3"],"AttachStdout":true}"#,
    );
    assert!(created.starts_with("HTTP/1.1 201 "), "{created}");
    let id = body_of(&created)["Id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 64, "{created}");
    let inspect = |id: &str| {
        body_of(&svc.raw(
            format!("GET /v1.41/exec/{id}/json HTTP/1.1\r\nConnection: close\r\n\r\n").as_bytes(),
        ))
    };
    let before = inspect(&id);
    assert_eq!(before["Running"], false, "{before}");
    assert_eq!(before["ExitCode"], serde_json::Value::Null, "{before}");
    assert_eq!(before["ProcessConfig"]["entrypoint"], "sh", "{before}");
    // Started on another connection: Docker's frame (stdout, length 7).
    let started = post(&svc, &format!("/v1.41/exec/{id}/start"), "{}");
    assert!(started.starts_with("HTTP/1.1 200 "), "{started}");
    assert!(
        started.contains("application/vnd.docker.multiplexed-stream"),
        "{started}"
    );
    assert!(
        started.ends_with("\u{1}\0\0\0\0\0\0\u{7}framed\n"),
        "{started:?}"
    );
    let after = inspect(&id);
    assert_eq!(after["ExitCode"], 3, "{after}");
    assert_eq!(after["Running"], false, "{after}");
    assert!(after["Pid"].as_i64().unwrap() > 0, "{after}");
    // A session runs once.
    let again = post(&svc, &format!("/v1.41/exec/{id}/start"), "{}");
    assert!(again.starts_with("HTTP/1.1 409 "), "{again}");
    // Detached: 200 at once, running, then gone.
    let created = post(
        &svc,
        "/v1.41/containers/ctr/exec",
        r#"{"Cmd":["sleep","2"]}"#,
    );
    let id = body_of(&created)["Id"].as_str().unwrap().to_string();
    let started = post(
        &svc,
        &format!("/v1.41/exec/{id}/start"),
        r#"{"Detach":true}"#,
    );
    assert!(started.starts_with("HTTP/1.1 200 "), "{started}");
    assert_eq!(inspect(&id)["Running"], true);
    common::wait_for(
        "the detached exec to end",
        Duration::from_secs(10),
        || match inspect(&id)["Running"] == false {
            true => Ok(()),
            false => Err("still running".into()),
        },
    );
    for bad in ["0000", "../x"] {
        let answer = svc.raw(
            format!("GET /v1.41/exec/{bad}/json HTTP/1.1\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    }
    let answer = post(&svc, "/v1.41/containers/nosuch/exec", r#"{"Cmd":["true"]}"#);
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    svc.docker(&env, &["rm", "-f", "ctr"]).success();
}

#[test]
fn issue17_docker_exec_it_gives_a_terminal_like_hutch_exec() {
    let setsid = require_tool("setsid");
    let env = Env::new();
    let svc = service_with_container(&env);
    let script = "tty; echo term=$TERM; exit 4";
    let socket = svc.socket.display().to_string();
    let hutch = common::hutch_bin().display().to_string();
    let runs: [(&str, Vec<&str>); 2] = [
        (DOCKER, vec!["exec", "-it", "ctr", "sh", "-c", script]),
        (&hutch, vec!["exec", "-it", "ctr", "sh", "-c", script]),
    ];
    for (program, args) in runs {
        let pty = Pty::open(24, 80);
        let mut c = Command::new(&setsid);
        c.arg("-w").arg("-c").arg(program).args(&args);
        c.env_clear()
            .envs(env.vars())
            .env("TERM", "xterm")
            .env("DOCKER_CONFIG", env.dir.join("docker"))
            .env("DOCKER_HOST", format!("unix://{socket}"))
            .current_dir(&env.home);
        let fd = |f: &std::os::fd::OwnedFd| {
            std::process::Stdio::from(f.try_clone().expect("dup pty slave"))
        };
        c.stdin(fd(&pty.slave))
            .stdout(fd(&pty.slave))
            .stderr(fd(&pty.slave));
        let mut child = c.spawn().expect("starting setsid exec -it");
        drop(c);
        let what = format!("{program} {}", args.join(" "));
        pty.converse(&mut child, &what, &[("", "term=xterm")]);
        assert!(pty.text().contains("/dev/pts/"), "{what}: {:?}", pty.text());
        let status = pty.wait_exit(&mut child, &what);
        assert_eq!(status.code(), Some(4), "{what}: {:?}", pty.text());
    }
    svc.docker(&env, &["rm", "-f", "ctr"]).success();
}

/// A one-entry tar whose name is written as is (`tar::Builder` would
/// refuse `..`), then the two zero blocks.
fn raw_tar(name: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    h[136..148].copy_from_slice(b"00000000000\0");
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut out = h.to_vec();
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
    out
}

#[test]
fn issue17_docker_cp_copies_both_ways_and_stays_in_the_container() {
    let env = Env::new();
    let svc = service_with_container(&env);
    let host = env.dir.join("cp");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("in.txt"), "hello\n").unwrap();
    let at = |p: &str| host.join(p).display().to_string();
    // Into and out of the running container.
    svc.docker(&env, &["cp", &at("in.txt"), "ctr:/tmp/"])
        .success();
    svc.docker(&env, &["exec", "ctr", "cat", "/tmp/in.txt"])
        .success()
        .stdout_is("hello");
    svc.docker(
        &env,
        &[
            "exec",
            "ctr",
            "sh",
            "-c",
            "mkdir -p /data/sub && echo deep >/data/sub/f",
        ],
    )
    .success();
    svc.docker(&env, &["cp", "ctr:/data", &at("out")]).success();
    assert_eq!(
        std::fs::read_to_string(host.join("out/sub/f")).unwrap(),
        "deep\n"
    );
    svc.docker(&env, &["cp", "ctr:/nosuch", &at("x")])
        .code(1)
        .stderr_has("No such container:path: ctr:/nosuch");
    // And of the stopped one, the destination named anew.
    svc.docker(&env, &["stop", "-t", "1", "ctr"]).success();
    svc.docker(&env, &["cp", &at("in.txt"), "ctr:/in2.txt"])
        .success();
    svc.docker(&env, &["cp", "ctr:/in2.txt", &at("back.txt")])
        .success();
    assert_eq!(
        std::fs::read_to_string(host.join("back.txt")).unwrap(),
        "hello\n"
    );
    env.hutch(&["cp", "ctr:/in2.txt", "-"])
        .success()
        .stdout_has("hello");
    // A hostile tar: an entry climbing out of the destination is refused
    // whole, and nothing lands beside the store.
    let victim = env.dir.join("victim");
    let climb = format!(
        "{}{}/pwned",
        "../".repeat(30),
        victim.display().to_string().trim_start_matches('/')
    );
    for name in [climb.as_str(), "../escaped"] {
        let tar = raw_tar(name, b"owned\n");
        let mut req = format!(
            "PUT /v1.41/containers/ctr/archive?path=/tmp HTTP/1.1\r\nHost: d\r\nContent-Type: application/x-tar\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            tar.len()
        )
        .into_bytes();
        req.extend_from_slice(&tar);
        let answer = svc.raw(&req);
        assert!(answer.starts_with("HTTP/1.1 400 "), "{name}: {answer}");
    }
    assert!(!victim.exists(), "a hostile tar wrote {}", victim.display());
    for gone in ["ctr:/escaped", "ctr:/tmp/escaped"] {
        let r = env.hutch(&["cp", gone, "-"]);
        if r.code == Some(0) {
            r.fail("a hostile tar's entry landed in the container");
        }
    }
    // A HEAD's error has no body: the next answer on the connection is
    // read whole (docker cp keeps it alive between HEAD and PUT).
    let answer = svc.raw(
        b"HEAD /v1.41/containers/ctr/archive?path=/nosuch HTTP/1.1\r\n\r\nGET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    assert!(!answer.contains("message"), "{answer}");
    assert!(answer.contains("\r\n\r\nHTTP/1.1 200 OK\r\n"), "{answer}");
    // HEAD: the facts only, in Docker's header.
    let answer = svc.raw(
        b"HEAD /v1.41/containers/ctr/archive?path=/in2.txt HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let value = answer
        .lines()
        .find_map(|l| l.strip_prefix("X-Docker-Container-Path-Stat: "))
        .unwrap_or_else(|| panic!("no stat header: {answer}"));
    let raw =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, value.trim()).unwrap();
    let stat: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(stat["name"], "in2.txt", "{stat}");
    assert_eq!(stat["size"], 6, "{stat}");
}

#[test]
fn issue17_docker_networks_are_hutch_networks() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    env.pull(&img);
    svc.docker(
        &env,
        &[
            "network",
            "create",
            "--subnet",
            "10.99.7.0/24",
            "--gateway",
            "10.99.7.1",
            "--label",
            "team=a",
            "n1",
        ],
    )
    .success();
    svc.docker(&env, &["network", "create", "n1"])
        .code(1)
        .stderr_has("already exists");
    svc.docker(
        &env,
        &["network", "ls", "--format", "{{.Name}} {{.Driver}}"],
    )
    .success()
    .stdout_has("n1 bridge");
    svc.docker(&env, &["network", "ls", "-q", "--filter", "label=team=b"])
        .success()
        .stdout_is("");
    env.hutch(&[
        "network",
        "inspect",
        "-f",
        "{{range .Subnets}}{{.Subnet}}{{end}}",
        "n1",
    ])
    .success()
    .stdout_is("10.99.7.0/24");
    svc.docker(
        &env,
        &[
            "network",
            "inspect",
            "-f",
            "{{range .IPAM.Config}}{{.Gateway}}{{end}} {{.Labels.team}}",
            "n1",
        ],
    )
    .success()
    .stdout_is("10.99.7.1 a");
    // A container on it with an alias, which another finds by name.
    svc.docker(
        &env,
        &[
            "run",
            "-d",
            "--name",
            "srv",
            "--network",
            "n1",
            "--network-alias",
            "web",
            &img,
            "sleep",
            "600",
        ],
    )
    .success();
    svc.docker(
        &env,
        &[
            "run",
            "--rm",
            "--network",
            "n1",
            &img,
            "sh",
            "-c",
            // aardvark-dns re-binds when netavark tells it of a new
            // container: a query in that instant is refused, so retry.
            "for i in 1 2 3 4 5 6 7 8 9 10; do busybox nslookup web | grep '^Address: 10.99.7.' && exit 0; sleep 0.3; done; exit 1",
        ],
    )
    .success()
    .stdout_has("10.99.7.");
    svc.docker(
        &env,
        &[
            "network",
            "inspect",
            "-f",
            "{{range .Containers}}{{.Name}}{{end}}",
            "n1",
        ],
    )
    .success()
    .stdout_is("srv");
    // Connected to a second network and cut off again.
    svc.docker(&env, &["network", "create", "n2"]).success();
    svc.docker(
        &env,
        &["network", "connect", "--alias", "other", "n2", "srv"],
    )
    .success();
    env.hutch(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        "srv",
    ])
    .success()
    .stdout_is("n1 n2");
    svc.docker(&env, &["network", "disconnect", "n2", "srv"])
        .success();
    svc.docker(&env, &["network", "rm", "n1"])
        .code(1)
        .stderr_has("n1");
    svc.docker(&env, &["rm", "-f", "srv"]).success();
    svc.docker(
        &env,
        &["network", "prune", "-f", "--filter", "label=team=a"],
    )
    .success()
    .stdout_has("n1");
    svc.docker(&env, &["network", "rm", "n2"]).success();
    env.hutch(&["network", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout_is("podman");
}
