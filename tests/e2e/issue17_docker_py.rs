//! Issue #17, third increment: docker-py 7 (PyPI's `docker`, in the venv
//! tests/lib/env.sh `ensure_docker_py` makes) drives the service: a pull
//! with Docker's progress lines, create, start, exec, streamed logs and
//! remove (tests/e2e/py/docker_py.py).

use std::process::Command;
use std::time::Duration;

use crate::common::{image, require_vars, run_command, Env};
use crate::issue17_api::{socket_in, Service};

const SCRIPT: &str = include_str!("py/docker_py.py");

#[test]
fn issue17_docker_py_pulls_runs_execs_and_removes() {
    require_vars(&["HUTCH_TEST_DOCKER_PY"]);
    let python = std::env::var("HUTCH_TEST_DOCKER_PY").expect("require_vars checked it");
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let script = env.dir.join("docker_py.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let img = image("busybox");
    let mut c = Command::new(&python);
    c.arg(&script)
        .arg(&img)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", "/usr/bin:/bin")
        .env("DOCKER_HOST", format!("unix://{}", svc.socket.display()))
        .stdin(std::process::Stdio::null());
    run_command(
        c,
        format!("{python} docker_py.py {img}"),
        Duration::from_secs(180),
    )
    .success()
    .stdout_has("pulled")
    .stdout_has("ok");
    // What docker-py pulled and removed is what hutch sees.
    env.hutch(&["images", "--format", "{{.Repository}}"])
        .success()
        .stdout_has("busybox");
    env.hutch(&["ps", "-a", "--format", "{{.Names}}"])
        .success()
        .stdout_is("");
}
