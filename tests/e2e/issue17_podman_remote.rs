//! Issue #17: Podman's libpod API, driven by Debian's Podman 4.3 as a
//! remote client (`podman --remote --url unix://…`) against `hutch system
//! service`, as the test user. Podman keeps no store of its own here:
//! its configuration is an empty file, and the test checks that it made
//! no storage directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::issue17_api::{socket_in, Service};
use crate::common::{image, run_command, wait_for, Env, Run};

/// Debian's Podman.
const PODMAN: &str = "/usr/bin/podman";

/// Runs `podman --remote` against the service, with a private HOME and
/// runtime directory and an empty containers.conf, so that nothing of
/// the host's Podman setup is read.
fn podman(env: &Env, svc: &Service, args: &[&str]) -> Run {
    if !Path::new(PODMAN).exists() {
        panic!("{PODMAN} is missing: install Debian's podman package (tests/lib/env.sh)");
    }
    let conf = env.dir.join("podman-remote.conf");
    if !conf.exists() {
        std::fs::write(&conf, "").expect("writing the empty containers.conf");
    }
    let runtime = env.dir.join("podman-run");
    std::fs::create_dir_all(&runtime).expect("creating podman's runtime dir");
    let url = format!("unix://{}", svc.socket.display());
    let mut c = Command::new(PODMAN);
    c.args(["--remote", "--url", &url])
        .args(args)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", "/usr/bin:/bin")
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_CONFIG_HOME", env.dir.join("podman-config"))
        .env("CONTAINERS_CONF", &conf)
        .stdin(std::process::Stdio::null());
    let what = format!("podman --remote --url {url} {}", args.join(" "));
    run_command(c, what, Duration::from_secs(120))
}

/// Podman's local store, which a remote client must never make.
fn podman_store(env: &Env) -> PathBuf {
    env.home.join(".local/share/containers")
}

fn is_full_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn issue17_podman_remote_pulls_runs_execs_lists_logs_and_removes() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    // A pull with Podman's progress lines on stderr and the id on stdout.
    let r = podman(&env, &svc, &["pull", &img])
        .success()
        .stderr_has("Trying to pull")
        .stderr_has("Copying blob");
    let id = r.stdout.trim().to_string();
    if !is_full_id(&id) {
        r.fail("expected the image's id on stdout");
    }
    env.hutch(&["images", "-q", "--no-trunc"])
        .success()
        .stdout_is(&format!("sha256:{id}"));
    podman(
        &env,
        &svc,
        &["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"],
    )
    .success()
    .stdout_is(&format!("{img}:latest {}", &id[..12]));
    // Attached runs: the output through attach, the exit code through
    // wait, also a failing one, and --rm removes the container.
    podman(&env, &svc, &["run", "--rm", &img, "echo", "hi"])
        .success()
        .stdout_is("hi");
    podman(
        &env,
        &svc,
        &["run", "--rm", &img, "sh", "-c", "echo oops >&2; exit 3"],
    )
    .code(3)
    .stderr_has("oops");
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
    // Detached: listed by both, logged, removed with -f.
    let r = podman(
        &env,
        &svc,
        &[
            "run",
            "-d",
            "--name",
            "web",
            &img,
            "sh",
            "-c",
            "echo started; echo warned >&2; exec sleep 60",
        ],
    )
    .success();
    if !is_full_id(r.stdout.trim()) {
        r.fail("expected the container's full id");
    }
    podman(&env, &svc, &["run", "--name", "done", &img, "true"]).success();
    let r = podman(
        &env,
        &svc,
        &["ps", "-a", "--format", "{{.Names}} {{.Status}}"],
    )
    .success();
    if !r.stdout.contains("web Up") || !r.stdout.contains("done Exited (0)") {
        r.fail("expected web up and done exited");
    }
    env.hutch(&["ps", "--format", "{{.Names}}"])
        .success()
        .stdout_is("web");
    wait_for(
        "the detached container's output in its log",
        Duration::from_secs(10),
        || {
            let r = podman(&env, &svc, &["logs", "web"]);
            match (r.code, r.stdout.trim(), r.stderr.trim()) {
                (Some(0), "started", "warned") => Ok(()),
                _ => Err(r.to_string()),
            }
        },
    );
    // exec: the output through the hijacked start, the exit code
    // through the session's inspect.
    podman(&env, &svc, &["exec", "web", "echo", "inside"])
        .success()
        .stdout_is("inside");
    podman(
        &env,
        &svc,
        &["exec", "web", "sh", "-c", "echo bad >&2; exit 4"],
    )
    .code(4)
    .stderr_has("bad");
    podman(&env, &svc, &["rm", "-f", "web"])
        .success()
        .stdout_is("web");
    podman(&env, &svc, &["rm", "done"])
        .success()
        .stdout_is("done");
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
    podman(&env, &svc, &["rm", "nosuch"])
        .code(1)
        .stderr_has("no container with name or ID \"nosuch\" found: no such container");
    assert!(
        !podman_store(&env).exists(),
        "podman --remote made a local store at {}",
        podman_store(&env).display()
    );
}

#[test]
fn issue17_podman_remote_creates_lists_and_removes_pods() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let r = podman(&env, &svc, &["pod", "create", "--name", "p1"]).success();
    let id = r.stdout.trim().to_string();
    if !is_full_id(&id) {
        r.fail("expected the pod's full id");
    }
    env.hutch(&["pod", "ps", "--no-trunc", "--format", "{{.Id}} {{.Name}}"])
        .success()
        .stdout_is(&format!("{id} p1"));
    podman(
        &env,
        &svc,
        &["pod", "ps", "--format", "{{.Name}} {{.Status}}"],
    )
    .success()
    .stdout_is("p1 Created");
    podman(&env, &svc, &["pod", "rm", "p1"])
        .success()
        .stdout_is(&id);
    env.hutch(&["pod", "ps", "-q"]).success().stdout_is("");
    podman(&env, &svc, &["pod", "rm", "p1"])
        .code(1)
        .stderr_has("no such pod");
}

#[test]
fn issue17_libpod_errors_and_ping_have_podmans_shape() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let answer = svc.raw(b"GET /v4.3.1/libpod/_ping HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(
        answer.contains("Libpod-Api-Version: 4.3.1\r\n") && answer.ends_with("OK"),
        "{answer}"
    );
    let answer =
        svc.raw(b"GET /libpod/containers/nosuch/json HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    assert!(
        answer.contains(r#""cause":"no such container""#) && answer.contains(r#""response":404"#),
        "{answer}"
    );
    let answer = svc.raw(
        b"POST /v4.3.1/libpod/containers/create HTTP/1.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{x}",
    );
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains(r#""response":400"#), "{answer}");
    let body = r#"{"image":"localhost/nosuch:1"}"#;
    let request = format!(
        "POST /v4.3.1/libpod/containers/create HTTP/1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let answer = svc.raw(request.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
    assert!(answer.contains("image not known"), "{answer}");
}
