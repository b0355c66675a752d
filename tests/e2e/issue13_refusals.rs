//! Issue #13 (Podman's CLI contract): names hutch refused and now does,
//! each compared with what Podman 4.3 does: `init`, `container cleanup`,
//! `volume reload`, `system renumber`.

use crate::common::{image, Env};

fn status(env: &Env, name: &str) -> String {
    env.hutch(&["inspect", "-f", "{{.State.Status}}", name])
        .success()
        .stdout
        .trim()
        .to_string()
}

#[test]
fn issue13_refusals_init_records_initialized_until_start_or_cleanup() {
    // issue #13: `init` was refused; as in Podman it prints the name, the
    // container shows "Initialized", a second init fails, and start and
    // `container cleanup` leave the state.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["create", "--name", "a", &img, "true"])
        .success();
    env.hutch(&["init", "a"]).success().stdout_is("a");
    assert_eq!(status(&env, "a"), "initialized");
    env.hutch(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .success()
        .stdout_is("a Initialized");
    env.hutch(&["ps", "-a", "--filter", "status=initialized", "-q"])
        .success()
        .stdout_has(&env.hutch(&["inspect", "-f", "{{.Id}}", "a"]).stdout[..12]);
    env.hutch(&["wait", "--condition", "initialized", "a"])
        .success();
    env.hutch(&["container", "init", "a"]).error_exit(
        125,
        &["has already been created in runtime: container state improper"],
    );
    // Cleanup returns it to created; init again, then it starts as usual.
    env.hutch(&["container", "cleanup", "a"])
        .success()
        .stdout_is("a");
    assert_eq!(status(&env, "a"), "created");
    env.hutch(&["container", "init", "a"]).success();
    env.hutch(&["start", "-a", "a"]).success();
    assert_eq!(status(&env, "a"), "exited");
    // An exited container can be initialized again (Podman allows it).
    env.hutch(&["init", "a"]).success().stdout_is("a");
    assert_eq!(status(&env, "a"), "initialized");
    env.hutch(&["init", "nosuch"])
        .error_exit(125, &["no container with name or ID \"nosuch\" found"]);
    // --all passes over running and initialized ones, printing every id.
    env.hutch(&["run", "-d", "--name", "r", &img, "sleep", "1000"])
        .success();
    env.hutch(&["create", "--name", "b", &img, "true"])
        .success();
    let all = env.hutch(&["init", "--all"]).success();
    assert_eq!(all.stdout.lines().count(), 3, "{}", all.stdout);
    assert_eq!(status(&env, "b"), "initialized");
    assert_eq!(status(&env, "r"), "running");
    env.hutch(&["rm", "-f", "-t", "0", "r"]).success();
}

#[test]
fn issue13_refusals_container_cleanup_flags() {
    // issue #13: `container cleanup` was refused; Podman refuses a running
    // container, --rm removes, --rmi removes the image by its name, and
    // --exec finds no session (hutch records none).
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["run", "-d", "--name", "r", &img, "sleep", "1000"])
        .success();
    env.hutch(&["container", "cleanup", "r"]).error_exit(
        125,
        &["is running or paused, refusing to clean up: container state improper"],
    );
    env.hutch(&["container", "cleanup"])
        .error_exit(125, &["you must provide at least one name or id"]);
    env.hutch(&["container", "cleanup", "--all", "r"])
        .error_exit(125, &["no arguments are needed with --all"]);
    env.hutch(&["container", "cleanup", "--exec", "x", "--all"])
        .error_exit(125, &["exec and all options conflict"]);
    env.hutch(&["container", "cleanup", "--exec", "abc", "r"])
        .error_exit(
            125,
            &["has no exec session with ID abc: no such exec session"],
        );
    env.hutch(&["tag", &img, "localhost/cleanup:1"]).success();
    env.hutch(&["create", "--name", "c", "localhost/cleanup:1", "true"])
        .success();
    env.hutch(&["create", "--name", "d", &img, "true"])
        .success();
    // --all: every container not running, by id.
    let all = env.hutch(&["container", "cleanup", "--all"]).success();
    assert_eq!(all.stdout.lines().count(), 2, "{}", all.stdout);
    env.hutch(&["container", "cleanup", "--rm", "d"])
        .success()
        .stdout_is("d");
    env.hutch(&["container", "exists", "d"]).code(1);
    env.hutch(&["container", "cleanup", "--rm", "--rmi", "c"])
        .success()
        .stdout_is("c");
    env.hutch(&["container", "exists", "c"]).code(1);
    env.hutch(&["image", "exists", "localhost/cleanup:1"])
        .code(1);
    env.hutch(&["image", "exists", &img]).success();
    env.hutch(&["rm", "-f", "-t", "0", "r"]).success();
}

#[test]
fn issue13_refusals_volume_reload_and_system_renumber_do_nothing() {
    // issue #13: both were refused; with no volume plugins and no lock
    // numbers, Podman's output for "nothing changed" is silence and 0.
    let env = Env::new();
    env.hutch(&["volume", "create", "v"]).success();
    env.hutch(&["volume", "reload"]).success().stdout_is("");
    env.hutch(&["volume", "ls", "-q"]).success().stdout_is("v");
    env.hutch(&["system", "renumber"]).success().stdout_is("");
}

#[test]
fn issue13_refusals_global_tmpdir_and_syslog() {
    // issue #13: both were refused. --tmpdir is accepted (hutch keeps no
    // libpod state); --syslog sends log messages to /dev/log, and without
    // that socket fails as Podman does (exit 1, its words).
    let env = Env::new();
    let tmp = env.dir.join("tmpdir");
    env.hutch(&["--tmpdir", tmp.to_str().unwrap(), "ps", "-q"])
        .success()
        .stdout_is("");
    env.hutch(&["ps", "--tmpdir", tmp.to_str().unwrap()])
        .success();
    let r = env.hutch(&["--tmpdir", "", "ps"]).code(125);
    assert!(r.stderr.contains("--tmpdir"), "{}", r.stderr);
    let r = env.hutch(&["--syslog", "--log-level", "info", "ps", "-q"]);
    match std::path::Path::new("/dev/log").exists() {
        true => {
            r.success();
        }
        false => {
            let r = r.code(1);
            assert!(
                r.stderr.contains("Failed to initialize syslog hook"),
                "{}",
                r.stderr
            );
        }
    }
}

#[test]
fn issue13_refusals_global_volumepath_is_recorded_with_the_store() {
    // issue #13: --volumepath was refused. As in Podman the store keeps
    // the first path and refuses another; volumes and their containers'
    // files live there, and system reset removes it.
    let env = Env::new();
    let img = image("busybox");
    let vols = env.dir.join("vols");
    let vp = vols.to_str().unwrap();
    env.hutch(&["--volumepath", vp, "volume", "create", "v"])
        .success();
    env.hutch(&["volume", "inspect", "--format", "{{.Mountpoint}}", "v"])
        .success()
        .stdout_is(&format!("{vp}/v/_data"));
    env.hutch(&[
        "run",
        "--rm",
        "-v",
        "v:/d",
        &img,
        "sh",
        "-c",
        "echo x > /d/f",
    ])
    .success();
    assert_eq!(
        std::fs::read_to_string(vols.join("v/_data/f")).unwrap(),
        "x\n"
    );
    let other = env.dir.join("other");
    env.hutch(&["--volumepath", other.to_str().unwrap(), "volume", "ls"])
        .error_exit(125, &["database configuration mismatch"]);
    env.hutch(&["--volumepath", vp, "volume", "ls", "-q"])
        .success()
        .stdout_is("v");
    env.hutch(&["volume", "rm", "v"]).success();
    assert!(!vols.join("v").exists());
    env.hutch(&["volume", "create", "w"]).success();
    env.hutch(&["system", "reset", "-f"]).success();
    assert!(!vols.exists(), "system reset left {vp}");
}
