//! Issue #17: `hutch system service`, the Docker Engine API, driven by
//! Debian's `docker` client (docker.io, client only) as the test user, and
//! by raw requests for what a client would not send.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{image, run_command, wait_for, Env, Pending, Run};

/// Debian's docker client (a newer one in /usr/local/bin may be first on
/// PATH; the issue names Debian's).
pub(crate) const DOCKER: &str = "/usr/bin/docker";

/// A running service, stopped when dropped.
pub(crate) struct Service {
    pending: Option<Pending>,
    pub(crate) socket: PathBuf,
}

impl Service {
    /// Starts `system service --time TIME unix://SOCKET` and waits for
    /// the socket.
    pub(crate) fn start(env: &Env, socket: &Path, time: &str) -> Service {
        let uri = format!("unix://{}", socket.display());
        let pending = env.spawn(&["system", "service", "--time", time, &uri]);
        wait_for(
            "the service's socket",
            Duration::from_secs(10),
            || match UnixStream::connect(socket) {
                Ok(_) => Ok(()),
                Err(e) => Err(e.to_string()),
            },
        );
        Service {
            pending: Some(pending),
            socket: socket.to_path_buf(),
        }
    }

    /// Runs the docker client against the service.
    pub(crate) fn docker(&self, env: &Env, args: &[&str]) -> Run {
        if !Path::new(DOCKER).exists() {
            panic!("{DOCKER} is missing: install Debian's docker.io package (tests/lib/env.sh)");
        }
        let mut c = Command::new(DOCKER);
        c.args(args)
            .env_clear()
            .env("HOME", &env.home)
            .env("PATH", "/usr/bin:/bin")
            .env("DOCKER_CONFIG", env.dir.join("docker"))
            .env("DOCKER_HOST", format!("unix://{}", self.socket.display()))
            .stdin(std::process::Stdio::null());
        let what = format!(
            "DOCKER_HOST=unix://{} docker {}",
            self.socket.display(),
            args.join(" ")
        );
        run_command(c, what, Duration::from_secs(120))
    }

    /// Sends raw bytes on a new connection and reads the whole answer
    /// (the service closes after a bad request or `Connection: close`).
    pub(crate) fn raw(&self, request: &[u8]) -> String {
        let mut s = UnixStream::connect(&self.socket).expect("connecting to the service");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(request).expect("sending the request");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = p.wait();
        }
    }
}

pub(crate) fn socket_in(env: &Env) -> PathBuf {
    env.runtime_dir.join("api/hutch.sock")
}

#[test]
fn issue17_docker_cli_runs_containers_through_the_service() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    svc.docker(&env, &["version", "--format", "{{.Server.APIVersion}}"])
        .success()
        .stdout_is("1.41");
    svc.docker(&env, &["pull", &img]).success();
    svc.docker(&env, &["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .success()
        .stdout_has(&format!("{img}:latest"));
    // Attached: the output through the hijacked stream, the exit code
    // through wait, the container removed (AutoRemove).
    svc.docker(&env, &["run", "--rm", &img, "echo", "hi"])
        .success()
        .stdout_is("hi");
    svc.docker(
        &env,
        &["run", "--rm", &img, "sh", "-c", "echo oops >&2; exit 3"],
    )
    .code(3)
    .stderr_has("oops");
    svc.docker(&env, &["ps", "-a", "-q"])
        .success()
        .stdout_is("");
    // Detached, listed, logged, inspected, stopped, removed.
    let r = svc
        .docker(
            &env,
            &[
                "run",
                "-d",
                "--name",
                "web",
                &img,
                "sh",
                "-c",
                "echo started; exec sleep 60",
            ],
        )
        .success();
    let id = r.stdout.trim().to_string();
    if id.len() != 64 {
        r.fail("expected the container's full id");
    }
    svc.docker(&env, &["ps", "--format", "{{.Names}} {{.Status}}"])
        .success()
        .stdout_has("web Up");
    wait_for(
        "the container's output in its log",
        Duration::from_secs(10),
        || {
            let r = svc.docker(&env, &["logs", "web"]);
            match r.stdout.trim() == "started" {
                true => Ok(()),
                false => Err(r.to_string()),
            }
        },
    );
    svc.docker(
        &env,
        &[
            "inspect",
            "-f",
            "{{.State.Running}} {{.Name}} {{.Id}}",
            "web",
        ],
    )
    .success()
    .stdout_is(&format!("true /web {id}"));
    svc.docker(&env, &["stop", "-t", "1", "web"]).success();
    svc.docker(&env, &["ps", "-a", "--format", "{{.Names}} {{.State}}"])
        .success()
        .stdout_is("web exited");
    svc.docker(&env, &["rm", "web"]).success();
    svc.docker(&env, &["ps", "-a", "-q"])
        .success()
        .stdout_is("");
    // The engine saw the same containers: hutch lists none either.
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
    svc.docker(&env, &["inspect", "nosuch"])
        .code(1)
        .stderr_has("No such object: nosuch");
    // Volumes.
    svc.docker(&env, &["volume", "create", "v1"])
        .success()
        .stdout_is("v1");
    svc.docker(&env, &["volume", "ls", "-q"])
        .success()
        .stdout_is("v1");
    svc.docker(&env, &["volume", "rm", "v1"]).success();
    svc.docker(&env, &["volume", "ls", "-q"])
        .success()
        .stdout_is("");
    // An image removed through the API is gone for hutch too.
    svc.docker(&env, &["rmi", &img])
        .success()
        .stdout_has("Untagged:");
    env.hutch(&["images", "-q"]).success().stdout_is("");
}

#[test]
fn issue17_docker_run_pulls_a_missing_image() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    // create answers 404 "No such image", the client pulls and creates again.
    svc.docker(&env, &["run", "--rm", &img, "true"])
        .success()
        .stderr_has("Unable to find image");
    env.hutch(&["images", "--format", "{{.Repository}}"])
        .success()
        .stdout_has(&img);
}

#[test]
fn issue17_bad_requests_get_400_json_and_the_service_keeps_serving() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let answer = svc.raw(b"THIS IS NOT HTTP\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(
        answer.contains("{\"message\":\"malformed HTTP request"),
        "{answer}"
    );
    let answer = svc.raw(b"POST /v1.41/containers/create HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{x}");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("invalid JSON body"), "{answer}");
    let answer = svc.raw(b"GET /containers/nosuch/json HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    assert!(answer.contains("No such container: nosuch"), "{answer}");
    // Many clients at once, each on its own connection.
    let threads: Vec<_> = (0..20)
        .map(|_| {
            let socket = svc.socket.clone();
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&socket).unwrap();
                s.write_all(b"GET /containers/json?all=1 HTTP/1.1\r\nConnection: close\r\n\r\n")
                    .unwrap();
                let mut out = String::new();
                let _ = s.read_to_string(&mut out);
                out
            })
        })
        .collect();
    for t in threads {
        let out = t.join().unwrap();
        assert!(
            out.starts_with("HTTP/1.1 200 ") && out.ends_with("[]\n"),
            "{out}"
        );
    }
    let answer = svc.raw(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("Api-Version: 1.41\r\n") && answer.ends_with("OK"),
        "{answer}"
    );
}

#[test]
fn issue17_socket_is_private_and_the_service_leaves_when_idle() {
    let env = Env::new();
    let socket = socket_in(&env);
    let mut svc = Service::start(&env, &socket, "1");
    let mode = |p: &Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(mode(socket.parent().unwrap()), 0o700);
    let started = Instant::now();
    let r = svc.pending.take().unwrap().wait().success();
    let took = started.elapsed();
    if took > Duration::from_secs(8) {
        r.fail(&format!(
            "the service took {took:?} to leave after --time 1"
        ));
    }
    assert!(!socket.exists(), "the socket stayed behind");
}

#[test]
fn issue17_tcp_is_refused_without_allow_tcp() {
    let env = Env::new();
    env.hutch(&["system", "service", "tcp://127.0.0.1:0"])
        .code(125)
        .stderr_has("refusing to serve on tcp://127.0.0.1:0");
    env.hutch(&["system", "service", "http://x"])
        .code(125)
        .stderr_has("invalid service URI");
}

#[test]
fn issue17_another_uid_is_refused() {
    // The other user is a subordinate id of the test user (uid 1 in
    // `hutch unshare`), which SO_PEERCRED reports as its host uid. The
    // socket is opened up (0666 in a 0755 directory) so that only the
    // peer check stands in the way.
    let env = Env::new();
    // Directly in /tmp: the other uid must be able to reach the socket,
    // and the suite's TMPDIR may be private to the test user.
    let dir = tempfile::Builder::new()
        .prefix("hutch-api-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let socket = dir.path().join("api.sock");
    let svc = Service::start(&env, &socket, "0");
    let sock = socket.display().to_string();
    // The service sets 0600 once more just after it listens (a default
    // ACL may override its umask), which can undo an early chmod: open
    // the socket up again until the other uid can connect (curl's 7).
    let mut tries = 0;
    let r = loop {
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
        let r = env.hutch(&[
            "unshare",
            "setpriv",
            "--reuid=1",
            "--regid=1",
            "--clear-groups",
            "curl",
            "-s",
            "-i",
            "--unix-socket",
            &sock,
            "http://d/_ping",
        ]);
        tries += 1;
        if r.code != Some(7) || tries == 10 {
            break r.success();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !r.stdout.starts_with("HTTP/1.1 403 ") || !r.stdout.contains("access denied") {
        r.fail("expected 403 access denied for another uid");
    }
    // The owner is still served.
    let answer = svc.raw(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}
