//! #21: the store's database and locks are private to their user, and no
//! wait on a lock is unbounded.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::common::{image, Env};
use super::Cleanup;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o7777
}

fn chmod(p: &Path, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

#[test]
fn a_new_stores_database_and_locks_are_private_to_its_user() {
    let env = Env::new();
    env.pull(&image("busybox"));
    let store = env.store();
    assert_eq!(mode(&store.join("locks")), 0o700);
    for name in ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"] {
        let p = store.join(name);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{}", p.display());
        }
    }
    for e in std::fs::read_dir(store.join("locks")).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

#[test]
fn an_opened_up_database_is_made_private_again_with_one_warning() {
    let env = Env::new();
    env.hutch(&["images"]).success();
    let store = env.store();
    chmod(&store.join("locks"), 0o755);
    chmod(&store.join("db.sqlite"), 0o644);
    env.hutch(&["images"])
        .success()
        .stderr_has("Warning: the database and locks of the store")
        .stderr_has("made them private");
    assert_eq!(mode(&store.join("locks")), 0o700);
    assert_eq!(mode(&store.join("db.sqlite")), 0o600);
    env.hutch(&["images"]).success().stderr_empty();
}

#[test]
fn a_held_lock_fails_after_the_wait_naming_the_lock_and_its_holder() {
    let mut env = Env::new();
    // Every wait on a store lock gives up after a second in this test.
    env.set_env("HUTCH_LOCK_TIMEOUT", "1");
    let _cleanup = Cleanup(&env);
    env.hutch(&["create", "--name", "c", &image("busybox"), "true"])
        .success();
    let lock = env.store().join("locks/container-start.lock");
    // Another process of the same user holds the lock that `start` takes
    // (`-o`: the sleeping child does not inherit it, so killing flock
    // frees it).
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .expect("running flock (util-linux)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string("/proc/locks")
        .unwrap_or_default()
        .contains(&format!(" {} ", holder.id()))
    {
        assert!(Instant::now() < deadline, "flock never took the lock");
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = Instant::now();
    let r = env.hutch(&["start", "c"]);
    let waited = started.elapsed();
    let _ = holder.kill();
    let _ = holder.wait();
    r.tool_error(&[
        "container-start.lock",
        &format!("process {}", holder.id()),
        "flock",
    ]);
    assert!(
        waited >= Duration::from_secs(1) && waited < Duration::from_secs(15),
        "waited {waited:?}"
    );
    // Free again, the lock is taken at once.
    env.hutch(&["start", "c"]).success();
}
