//! `cp` and a container's mounts (issue #20 item 9): a file copied to a
//! path under a bind mount or a volume lands in the mount's source, whether
//! the container runs, has stopped or was only created, and a relative
//! container path starts at the container's working directory, as with
//! Podman.

use super::common::{image, Env};
use super::{setup, wait_for_status, Cleanup};

/// Creates (or with `is_started`, runs detached) container `c` with the
/// host directory `bind` on `/data`, the volume `vol` on `/vol` and
/// `/data` as its working directory.
fn make(env: &Env, bind: &std::path::Path, is_started: bool) {
    let img = image("busybox");
    let spec = format!("{}:/data", bind.display());
    let mut args = vec!["create"];
    if is_started {
        args = vec!["run", "-d"];
    }
    args.extend_from_slice(&[
        "--name", "c", "-v", &spec, "-v", "vol:/vol", "-w", "/data", &img, "sleep", "1000",
    ]);
    env.hutch_closing(&args).success();
}

/// Copies in and out through the mounts of `c` and checks where the files
/// landed: in the bind source on the host, in the volume, and not in the
/// container's own tree.
fn check_copies(env: &Env, bind: &std::path::Path, tag: &str) {
    let host = env.dir.join(format!("host-{tag}"));
    std::fs::create_dir_all(&host).unwrap();
    let file = host.join("f");
    std::fs::write(&file, format!("{tag}\n")).unwrap();
    let file_s = file.to_str().unwrap();

    env.hutch(&["cp", file_s, "c:/data/abs"]).success();
    assert_eq!(
        std::fs::read_to_string(bind.join("abs")).unwrap(),
        format!("{tag}\n"),
        "cp to /data/abs must write into the bind mount's source"
    );
    // A relative path starts at the working directory, /data.
    env.hutch(&["cp", file_s, "c:rel"]).success();
    assert_eq!(
        std::fs::read_to_string(bind.join("rel")).unwrap(),
        format!("{tag}\n"),
        "cp to a relative path must land in the working directory"
    );
    env.hutch(&["cp", file_s, "c:/vol/v"]).success();

    let out = host.join("out");
    env.hutch(&["cp", "c:rel", out.to_str().unwrap()]).success();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), format!("{tag}\n"));
    let vout = host.join("vout");
    env.hutch(&["cp", "c:/vol/v", vout.to_str().unwrap()])
        .success();
    assert_eq!(std::fs::read_to_string(&vout).unwrap(), format!("{tag}\n"));
}

#[test]
fn issue20_cp_reaches_the_mounts_of_a_created_container() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let bind = env.dir.join("bind");
    std::fs::create_dir_all(&bind).unwrap();
    make(&env, &bind, false);
    check_copies(&env, &bind, "created");
    // Started afterwards, the container sees what was copied into its
    // volume and bind mount.
    env.hutch(&["start", "c"]).success();
    env.hutch(&["exec", "c", "cat", "/vol/v", "rel"])
        .success()
        .stdout_is("created\ncreated");
}

#[test]
fn issue20_cp_reaches_the_mounts_of_running_and_stopped_containers() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let bind = env.dir.join("bind");
    std::fs::create_dir_all(&bind).unwrap();
    make(&env, &bind, true);
    check_copies(&env, &bind, "running");
    env.hutch(&["stop", "-t", "0", "c"]).success();
    wait_for_status(&env, "c", "exited");
    check_copies(&env, &bind, "stopped");
    // The stopped container's own tree got none of it: its /vol holds
    // only what went into the volume, as seen by a second container.
    let img = image("busybox");
    env.hutch(&["run", "--rm", "-v", "vol:/v", &img, "cat", "/v/v"])
        .success()
        .stdout_is("stopped");
}
