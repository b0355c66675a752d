//! Issue #17, third increment: Debian's docker-compose 1.29 (docker-py 5)
//! drives a two-service project through the service as the test user.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{image, run_command, wait_for, Env, Run};
use crate::issue17_api::{socket_in, Service};

/// Debian's docker-compose.
const COMPOSE: &str = "/usr/bin/docker-compose";

/// Runs docker-compose in `dir` against the service; a failure's stderr
/// ends with the service's trace of the requests (`HUTCH_API_TRACE`).
fn compose(env: &Env, svc: &Service, dir: &Path, args: &[&str]) -> Run {
    if !Path::new(COMPOSE).exists() {
        panic!("{COMPOSE} is missing: install Debian's docker-compose package (tests/lib/env.sh)");
    }
    let mut c = Command::new(COMPOSE);
    c.args(args)
        .current_dir(dir)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", "/usr/bin:/bin")
        .env("DOCKER_CONFIG", env.dir.join("docker"))
        .env("DOCKER_HOST", format!("unix://{}", svc.socket.display()))
        .stdin(std::process::Stdio::null());
    let what = format!("docker-compose {} (in {})", args.join(" "), dir.display());
    let mut run = run_command(c, what, Duration::from_secs(180));
    if run.code != Some(0) {
        let trace = std::fs::read_to_string(env.dir.join("api-trace")).unwrap_or_default();
        run.stderr
            .push_str("\n--- requests (HUTCH_API_TRACE) ---\n");
        run.stderr.push_str(&trace);
    }
    run
}

/// A free TCP port on the loopback interface.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("picking a free port")
}

/// The body of `GET /` on the loopback port, by busybox wget.
fn fetch(port: u16) -> Result<String, String> {
    let out = Command::new("busybox")
        .args([
            "wget",
            "-q",
            "-O",
            "-",
            &format!("http://127.0.0.1:{port}/"),
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn issue17_compose_runs_a_two_service_project() {
    let mut env = Env::new();
    let trace = env.dir.join("api-trace");
    env.set_env("HUTCH_API_TRACE", &trace.to_string_lossy());
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    env.pull(&img);
    // Not the project's: compose's label filters must leave it alone.
    env.hutch(&["create", "--name", "bystander", &img, "true"])
        .success();
    let port = free_port();
    let dir = env.dir.join("proj");
    std::fs::create_dir_all(&dir).unwrap();
    let yaml = format!(
        r#"version: "3.7"
services:
  web:
    image: {img}
    command: ["sh", "-c", "echo served-from-volume > /www/index.html && exec httpd -f -p 8080 -h /www"]
    volumes: ["www:/www"]
    ports: ["127.0.0.1:{port}:8080"]
  client:
    image: {img}
    command: ["sh", "-c", "until wget -q -O - http://web:8080/; do sleep 1; done; echo; echo client-done; exec sleep 600"]
    depends_on: [web]
volumes:
  www: {{}}
"#
    );
    std::fs::write(dir.join("docker-compose.yml"), yaml).unwrap();
    compose(&env, &svc, &dir, &["-p", "demo", "up", "-d"])
        .success()
        .stderr_has("demo_web_1");
    // compose's names, labels and network, as hutch sees them.
    env.hutch(&["ps", "--format", "{{.Names}}"])
        .success()
        .stdout_has("demo_web_1")
        .stdout_has("demo_client_1");
    env.hutch(&["network", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout_has("demo_default");
    env.hutch(&["volume", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout_has("demo_www");
    let ps = compose(&env, &svc, &dir, &["-p", "demo", "ps"]).success();
    let ps = ps
        .stdout_has("demo_web_1")
        .stdout_has("demo_client_1")
        .stdout_has("Up");
    // No healthcheck, no health state (Docker's inspect has no `Health`).
    assert!(!ps.stdout.contains("Up ("), "{ps}");
    assert!(!ps.stdout.contains("bystander"), "{ps}");
    env.hutch(&[
        "ps",
        "--filter",
        "label=com.docker.compose.service=web",
        "--format",
        "{{.Names}}",
    ])
    .success()
    .stdout_is("demo_web_1");
    let body = wait_for("the published port", Duration::from_secs(30), || {
        fetch(port)
    });
    assert_eq!(body.trim(), "served-from-volume");
    // The client reached the web service by its name on the project network.
    wait_for("the client's log", Duration::from_secs(60), || {
        let logs = compose(
            &env,
            &svc,
            &dir,
            &["-p", "demo", "logs", "--no-color", "client"],
        );
        let out = logs.stdout;
        if out.contains("served-from-volume") && out.contains("client-done") {
            Ok(())
        } else {
            Err(out)
        }
    });
    compose(&env, &svc, &dir, &["-p", "demo", "down", "-v", "-t", "1"]).success();
    env.hutch(&["ps", "-a", "--format", "{{.Names}}"])
        .success()
        .stdout_is("bystander");
    let nets = env
        .hutch(&["network", "ls", "--format", "{{.Name}}"])
        .success();
    assert!(!nets.stdout.contains("demo_default"), "{nets}");
    let vols = env
        .hutch(&["volume", "ls", "--format", "{{.Name}}"])
        .success();
    assert!(!vols.stdout.contains("demo_www"), "{vols}");
}
