//! Issue #17, fourth increment: images in and out of the service (build,
//! push with the client's credentials, save and load, search, auth) and
//! stats, driven by Debian's docker client.

use std::process::Command;
use std::time::Duration;

use crate::common::{image, run_command, Env, Run};
use crate::issue17_api::{socket_in, Service, DOCKER};
use crate::push::{auth_registry, password, repo, trusting_env, user};

/// The docker client with the classic builder (`POST /build`), as
/// `Service::docker` runs it otherwise.
fn docker_build(svc: &Service, env: &Env, args: &[&str]) -> Run {
    let mut c = Command::new(DOCKER);
    c.args(args)
        .env_clear()
        .env("HOME", &env.home)
        .env("PATH", "/usr/bin:/bin")
        .env("DOCKER_BUILDKIT", "0")
        .env("DOCKER_CONFIG", env.dir.join("docker"))
        .env("DOCKER_HOST", format!("unix://{}", svc.socket.display()))
        .stdin(std::process::Stdio::null());
    run_command(
        c,
        format!("DOCKER_BUILDKIT=0 docker {}", args.join(" ")),
        Duration::from_secs(180),
    )
}

#[test]
fn issue17_docker_build_makes_an_image_hutch_runs() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let base = image("busybox");
    env.pull(&base).success();
    let ctx = env.dir.join("ctx");
    std::fs::create_dir_all(ctx.join("sub")).unwrap();
    std::fs::write(ctx.join("data.txt"), "from the context\n").unwrap();
    std::fs::write(
        ctx.join("sub/Other"),
        format!(
            "FROM {base}\nARG WHO=nobody\nCOPY data.txt /data.txt\nRUN echo \"built by $WHO\" > /built\nLABEL made=api\n"
        ),
    )
    .unwrap();
    // The client sends the file's path within the context ("sub/Other").
    let file = ctx.join("sub/Other");
    let r = docker_build(
        &svc,
        &env,
        &[
            "build",
            "-t",
            "localhost/apibuilt:1",
            "-f",
            file.to_str().unwrap(),
            "--build-arg",
            "WHO=docker",
            ctx.to_str().unwrap(),
        ],
    )
    .success();
    for want in [
        "Step 1/5 : FROM",
        "Step 4/5 : RUN",
        "Successfully built",
        "Successfully tagged localhost/apibuilt:1",
    ] {
        if !r.stdout.contains(want) {
            r.fail(&format!("the build's output lacks {want:?}"));
        }
    }
    env.hutch(&[
        "run",
        "--rm",
        "localhost/apibuilt:1",
        "cat",
        "/built",
        "/data.txt",
    ])
    .success()
    .stdout_is("built by docker\nfrom the context");
    env.hutch(&["inspect", "-f", "{{.Labels.made}}", "localhost/apibuilt:1"])
        .success()
        .stdout_is("api");
    // A failing step is the build's error, and no image gets the name.
    std::fs::write(ctx.join("Dockerfile"), format!("FROM {base}\nRUN exit 7\n")).unwrap();
    let r = docker_build(
        &svc,
        &env,
        &["build", "-t", "localhost/apifailed", ctx.to_str().unwrap()],
    );
    if r.code == Some(0) || !r.stderr.contains('7') {
        r.fail("a failing RUN should fail the build, naming its exit code");
    }
    env.hutch(&["image", "exists", "localhost/apifailed"])
        .code(1);
}

#[test]
fn issue17_docker_save_and_load_round_trip() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    env.pull(&img).success();
    let id = env
        .hutch(&["inspect", "-f", "{{.Id}}", &img])
        .success()
        .stdout
        .trim()
        .to_string();
    let file = env.dir.join("saved.tar");
    svc.docker(&env, &["save", "-o", file.to_str().unwrap(), &img])
        .success();
    let listing = Command::new("tar").arg("-tf").arg(&file).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.lines().any(|l| l == "manifest.json"),
        "not a docker save archive:\n{listing}"
    );
    svc.docker(&env, &["rmi", &img]).success();
    env.hutch(&["image", "exists", &img]).code(1);
    svc.docker(&env, &["load", "-i", file.to_str().unwrap()])
        .success()
        .stdout_has(&format!("Loaded image: {img}"));
    env.hutch(&["inspect", "-f", "{{.Id}}", &img])
        .success()
        .stdout_is(&id);
    // A body that is no archive is refused and nothing is loaded.
    let junk = env.dir.join("junk.tar");
    std::fs::write(&junk, b"not a tar at all").unwrap();
    let before = env.hutch(&["images", "-q"]).success().stdout;
    let r = svc.docker(&env, &["load", "-i", junk.to_str().unwrap()]);
    if r.code == Some(0) {
        r.fail("loading junk should fail");
    }
    env.hutch(&["images", "-q"])
        .success()
        .stdout_is(before.trim());
}

#[test]
fn issue17_docker_login_and_push_use_the_clients_credentials() {
    let env = trusting_env();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    env.pull(&img).success();
    let reg = auth_registry();
    // A wrong password is refused by the registry, through the service.
    let r = svc.docker(&env, &["login", "-u", &user(), "-p", "wrong", &reg]);
    if r.code == Some(0) {
        r.fail("a wrong password should be refused");
    }
    svc.docker(&env, &["login", "-u", &user(), "-p", &password(), &reg])
        .success()
        .stdout_has("Login Succeeded");
    // The service stored nothing: the client keeps the credentials.
    env.hutch(&["login", "--get-login", &reg]).code(125);
    let dest = format!("{reg}/{}/busybox:1", repo("api4"));
    svc.docker(&env, &["tag", &img, &dest]).success();
    let r = svc.docker(&env, &["push", &dest]).success();
    if !r.stdout.contains("digest: sha256:") {
        r.fail("the push should end with the digest");
    }
    env.hutch(&["rmi", &dest]).success();
    env.hutch(&[
        "pull",
        "-q",
        "--creds",
        &format!("{}:{}", user(), password()),
        &dest,
    ])
    .success();
    // Without the client's credentials the registry refuses the push.
    svc.docker(&env, &["logout", &reg]).success();
    let r = svc.docker(&env, &["push", &dest]);
    if r.code == Some(0) {
        r.fail("a push without credentials should fail");
    }
}

#[test]
fn issue17_docker_search_and_stats() {
    let env = Env::new();
    let svc = Service::start(&env, &socket_in(&env), "0");
    let img = image("busybox");
    let reg = img.rsplit_once('/').unwrap().0.to_string();
    svc.docker(&env, &["search", &format!("{reg}/busy")])
        .success()
        .stdout_has(&format!("{reg}/busybox"));
    env.pull(&img).success();
    svc.docker(&env, &["run", "-d", "--name", "st", &img, "sleep", "600"])
        .success();
    let r = svc.docker(
        &env,
        &[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.PIDs}}",
            "st",
        ],
    );
    if std::path::Path::new("/sys/fs/cgroup/unified").is_dir() {
        // Hybrid cgroups: a rootless container has no cgroup to read, and
        // the service says so as `hutch stats` does.
        if r.code == Some(0) || !r.stderr.contains("cgroup") {
            r.fail("stats without a cgroup should fail naming it");
        }
    } else {
        r.success().stdout_is("st 1");
    }
    // A stopped container reads as zeros, once.
    svc.docker(&env, &["stop", "-t", "0", "st"]).success();
    svc.docker(
        &env,
        &[
            "stats",
            "--no-stream",
            "--format",
            "{{.Name}} {{.PIDs}}",
            "st",
        ],
    )
    .success()
    .stdout_is("st 0");
}
