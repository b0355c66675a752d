//! `container clone` (issue #13 item 3): a new container made the way its
//! original was created, with Podman's names (`NAME-clone`, `-clone1`),
//! another name, image or pod, its limits replaced, `--destroy` (with
//! `--force` for a running original) and `--run`.

use super::common::{image, Env};
use super::{expect_id, setup, wait_for_status, Cleanup};

fn inspect(env: &Env, name: &str, format: &str) -> String {
    env.hutch(&["inspect", "--type", "container", "-f", format, name])
        .success()
        .stdout
        .trim()
        .to_string()
}

#[test]
fn issue13_cp_clone_makes_the_container_as_its_original_was_made() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let env_file = env.dir.join("env");
    std::fs::write(&env_file, "B=from-file\n").unwrap();
    env.hutch(&[
        "create",
        "--name",
        "c",
        "-e",
        "A=1",
        "--env-file",
        env_file.to_str().unwrap(),
        "--user",
        "app",
        "-w",
        "/tmp",
        "-v",
        "shared:/v",
        &img,
        "sh",
        "-c",
        "echo $A $B; id -u; pwd; test -d /v && echo has-v",
    ])
    .success();
    // The env file is gone: the clone has the lines read at creation.
    std::fs::remove_file(&env_file).unwrap();
    let first = expect_id(&env.hutch(&["container", "clone", "c"]).success());
    expect_id(&env.hutch(&["container", "clone", "c"]).success());
    env.hutch(&["container", "clone", "c", "named"]).success();
    env.hutch(&["container", "clone", "--name", "flagged", "c"])
        .success();
    for name in ["c-clone", "c-clone1", "named", "flagged"] {
        assert_eq!(inspect(&env, name, "{{.Name}}"), name);
    }
    assert_eq!(inspect(&env, "c-clone", "{{.Id}}"), first);
    // Each clone does what the original does: its environment, user,
    // working directory and volume.
    for name in ["c", "c-clone"] {
        env.hutch(&["start", "-a", name])
            .success()
            .stdout_is("1 from-file\n1000\n/tmp\nhas-v");
    }
    // A name that is taken is refused, as create refuses it.
    env.hutch(&["container", "clone", "c", "named"]).code(125);
    // Another image, and a pod.
    let other = image("layers");
    env.pull(&other);
    env.hutch(&["container", "clone", "c", "imaged", &other])
        .success();
    assert_eq!(inspect(&env, "imaged", "{{.ImageName}}"), other);
    env.hutch(&["pod", "create", "--name", "p"]).success();
    env.hutch(&["container", "clone", "--pod", "p", "c", "podded"])
        .success();
    let pod_id = env
        .hutch(&["pod", "inspect", "-f", "{{.Id}}", "p"])
        .success()
        .stdout
        .trim()
        .to_string();
    assert_eq!(inspect(&env, "podded", "{{.Pod}}"), pod_id);
    // A clone of a clone works the same way.
    env.hutch(&["container", "clone", "c-clone", "grandchild"])
        .success();
    env.hutch(&["start", "-a", "grandchild"])
        .success()
        .stdout_is("1 from-file\n1000\n/tmp\nhas-v");
    env.hutch(&["pod", "rm", "-f", "p"]).success();
}

/// This build machine has a hybrid cgroup layout (see cgroups.rs), where
/// limit flags are refused; a clone's limits replacing its original's are
/// checked in the cgroup v2 guest tier (tests/vm/guest-cgroups.sh,
/// `clone_limits`).
#[test]
fn issue13_cp_clone_refuses_limits_the_host_cannot_honour_before_creating() {
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("reading mountinfo");
    assert!(
        !mounts
            .lines()
            .any(|l| l.contains(" /sys/fs/cgroup ") && l.contains(" - cgroup2 ")),
        "this test expects a cgroup v1 or hybrid host; cgroup v2 is tested in the guest tier"
    );
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["create", "--name", "c", &img, "true"])
        .success();
    for flags in [
        &["--memory", "64m"][..],
        &["--cpus", "1"],
        &["--cpu-shares", "512"],
        &["--blkio-weight", "300"],
    ] {
        let mut args = vec!["container", "clone"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&["c", "d"]);
        env.hutch(&args)
            .tool_error(&["resource limits need cgroup v2", "v1"]);
        env.hutch(&["container", "exists", "d"]).code(1);
    }
    // A bad value is named before the host is asked.
    env.hutch(&["container", "clone", "--memory", "lots", "c", "d"])
        .code(125)
        .stderr_has("invalid --memory \"lots\"");
    env.hutch(&["container", "exists", "d"]).code(1);
}

#[test]
fn issue13_cp_clone_destroys_and_runs_as_asked() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch_closing(&["run", "-d", "--name", "o", &img, "sleep", "1000"])
        .success();
    env.hutch(&["container", "clone", "--force", "o", "x"])
        .code(125)
        .stderr_has("cannot set --force without --destroy");
    // A running original is not destroyed without --force, and then no
    // clone is made either.
    env.hutch(&["container", "clone", "--destroy", "o", "x"])
        .code(125)
        .stderr_has("running");
    env.hutch(&["container", "exists", "x"]).code(1);
    env.hutch_closing(&[
        "container",
        "clone",
        "--destroy",
        "--force",
        "--run",
        "o",
        "x",
    ])
    .success();
    env.hutch(&["container", "exists", "o"]).code(1);
    wait_for_status(&env, "x", "running");
    env.hutch(&["exec", "x", "true"]).success();
    // A stopped original goes with --destroy alone; the clone stays created.
    env.hutch(&["stop", "-t", "0", "x"]).success();
    env.hutch(&["container", "clone", "--destroy", "x", "y"])
        .success();
    env.hutch(&["container", "exists", "x"]).code(1);
    assert_eq!(inspect(&env, "y", "{{.State.Status}}"), "created");
    env.hutch(&["container", "clone", "nosuch"])
        .code(125)
        .stderr_has("no such container");
}
