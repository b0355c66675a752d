//! A container fills the small filesystem that holds the store: reading
//! commands and `system check` keep working, `stop` records the real exit
//! code, `rm -f` frees the space, and the store is clean afterwards.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::common::{image, Env};
use super::{assert_clean, turn};

const SMALL_FS_VAR: &str = "HUTCH_TEST_SMALL_FS";

/// The small filesystem tests/run.sh mounts; fails naming the variable
/// without it.
fn small_fs() -> PathBuf {
    match std::env::var_os(SMALL_FS_VAR) {
        Some(v) if !v.is_empty() && Path::new(&v).is_dir() => PathBuf::from(v),
        v => panic!(
            "{SMALL_FS_VAR} ({v:?}) must name a directory: a small filesystem (a 64 MiB tmpfs) \
             the test user owns; `sudo ./tests/run.sh` mounts one (tests/lib/env.sh mount_small_fs)"
        ),
    }
}

fn free_bytes(path: &Path) -> u64 {
    let st = nix::sys::statvfs::statvfs(path)
        .unwrap_or_else(|e| panic!("statvfs {}: {e}", path.display()));
    st.blocks_available() * st.fragment_size()
}

#[test]
fn soak_a_container_that_fills_the_store_leaves_it_clean() {
    let _turn = turn();
    let mut env = Env::new();
    let dir = small_fs().join(format!("soak-{}", std::process::id()));
    let (root, run) = (dir.join("root"), dir.join("run"));
    env.set_env("HUTCH_ROOT", &root.to_string_lossy());
    env.set_env("HUTCH_RUNROOT", &run.to_string_lossy());
    let busybox = image("busybox");
    env.pull(&busybox).success();
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "filler",
        &busybox,
        "sh",
        "-c",
        "cat /dev/zero > /fill; sleep 300",
    ])
    .success();
    let deadline = Instant::now() + Duration::from_secs(60);
    while free_bytes(&dir) > 512 * 1024 {
        if Instant::now() > deadline {
            panic!(
                "the container did not fill {} ({} bytes free)",
                dir.display(),
                free_bytes(&dir)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for args in [
        &["ps", "-a"][..],
        &["inspect", "filler"][..],
        &["logs", "filler"][..],
        &["images"][..],
        &["volume", "ls"][..],
        &["system", "df"][..],
    ] {
        env.hutch(args).success();
    }
    env.hutch(&["system", "check", "--quick"])
        .success()
        .stdout_is("No problems found\n");
    env.hutch(&["stop", "-t", "1", "filler"]).success();
    env.hutch(&["inspect", "--format", "{{.State.ExitCode}}", "filler"])
        .success()
        .stdout_is("137\n");
    env.hutch(&["rm", "-f", "filler"]).success();
    let free = free_bytes(&dir);
    assert!(
        free > 40 * 1024 * 1024,
        "rm -f should free the space ({free} bytes free)"
    );
    env.hutch(&["run", "--rm", &busybox, "echo", "ok"])
        .success()
        .stdout_is("ok\n");
    let repaired = assert_clean(&env, "after the full disk");
    assert!(!repaired, "the full disk should leave nothing to repair");
    env.hutch(&["system", "reset", "-f"]).success();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("soak disk: the store filled, read commands and check worked, exit code 137 kept, space freed");
}
