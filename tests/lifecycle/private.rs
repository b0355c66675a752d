//! #21: the store and the run directory are private to their user (item
//! 1), containers whose root is a subordinate id still work in them, and
//! no wait on a lock is unbounded.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::common::{current_user, image, set_mode, Env};
use super::{setup, Cleanup};

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

/// `dir` and what is directly below it that other users may reach, with
/// their modes: nothing, in a private directory.
fn open_to_others(dir: &Path) -> Vec<String> {
    let mut open = Vec::new();
    let paths = std::iter::once(dir.to_path_buf()).chain(
        std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path()),
    );
    for p in paths {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let m = meta.permissions().mode() & 0o7777;
        if !meta.file_type().is_symlink() && m & 0o077 != 0 {
            open.push(format!("{} {m:o}", p.display()));
        }
    }
    open
}

#[test]
fn issue21_store_and_run_dir_are_private_after_first_use() {
    // issue #21 item 1: the store root, the run directory and everything
    // directly below them are 0700 directories and 0600 files, so no
    // other user may read a container's files, volumes or `-e` values.
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["run", "--rm", "-v", "issue21-v:/data", &img, "true"])
        .success();
    env.hutch_closing(&["run", "-d", "--name", "d", &img, "sleep", "60"])
        .success();
    env.hutch(&["rm", "-f", "d"]).success();
    let run_dir = env.runtime_dir.join("hutch");
    for dir in [env.store(), run_dir] {
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        assert_eq!(open_to_others(&dir), Vec::<String>::new());
    }
    // What hutch made itself is never reported as repaired.
    env.hutch(&["images"]).success().stderr_empty();
}

#[test]
fn issue21_an_opened_up_store_and_run_dir_are_repaired_with_a_warning() {
    // issue #21 item 1: a store made by an older hutch (0755, 0644 files)
    // or opened up by hand is made private again, and the warning names
    // what was repaired.
    let env = setup();
    let img = image("busybox");
    env.hutch(&["run", "--rm", &img, "true"]).success();
    let store = env.store();
    for (p, m) in [
        (store.clone(), 0o755),
        (store.join("layers"), 0o755),
        (store.join("locks"), 0o755),
        (store.join("db.sqlite"), 0o644),
    ] {
        chmod(&p, m);
    }
    env.hutch(&["images"])
        .success()
        .stderr_has(&format!(
            "Warning: the store {} was open to other users: made private",
            store.display()
        ))
        .stderr_has("layers")
        .stderr_has("locks")
        .stderr_has("db.sqlite");
    assert_eq!(open_to_others(&store), Vec::<String>::new());
    assert_eq!(mode(&store.join("db.sqlite")), 0o600);
    env.hutch(&["images"]).success().stderr_empty();

    let run_dir = env.runtime_dir.join("hutch");
    let marker = run_dir.join("cgroup-warning");
    std::fs::write(&marker, b"").unwrap();
    chmod(&run_dir, 0o755);
    chmod(&marker, 0o644);
    env.hutch(&["run", "--rm", &img, "true"])
        .success()
        .stderr_has(&format!(
            "Warning: the run directory {} was open to other users: made private",
            run_dir.display()
        ))
        .stderr_has("cgroup-warning");
    assert_eq!(open_to_others(&run_dir), Vec::<String>::new());
    env.hutch(&["run", "--rm", &img, "true"])
        .success()
        .stderr_empty();
}

/// Runs nomap and `--uidmap` containers in `env`, whose store lies in a
/// 0700 HOME, and checks that each starts on `rootfs` (the type of its
/// `/` in /proc/mounts), writes to its upper directory and a named volume,
/// reads a bind from that HOME, runs `exec`, gives a file to `cp` once
/// stopped, and is removed with its volume.
fn check_private_containers(env: &Env, rootfs: &str) {
    let img = image("busybox");
    let shared = env.home.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::write(shared.join("f"), "from the host\n").unwrap();
    set_mode(&env.home, 0o700);
    assert_eq!(mode(&env.store()), 0o700);
    let (_, uid, _) = current_user();
    let bind = format!("{}:/shared:ro", shared.display());
    let modes: [&[&str]; 2] = [&["--userns=nomap"], &["--uidmap", "0:1:1000"]];
    for (i, mode_flags) in modes.iter().enumerate() {
        let name = format!("private-{i}");
        let volume = format!("issue21-{i}");
        let data = format!("{volume}:/data");
        let mut args = vec!["run", "-d", "--name", &name];
        args.extend_from_slice(mode_flags);
        args.extend_from_slice(&["-v", &data, "-v", &bind, &img, "sleep", "300"]);
        env.hutch_closing(&args).success();
        let r = env
            .hutch(&[
                "exec",
                &name,
                "sh",
                "-c",
                "echo up > /in-upper && echo vol > /data/v && cat /shared/f \
                 && head -n1 /proc/self/uid_map && grep ' / ' /proc/mounts",
            ])
            .success()
            .stdout_has("from the host\n")
            .stdout_has(&format!(" / {rootfs} "));
        // The container's root is a subordinate id, not the user.
        let host_root = r.stdout.lines().nth(1).unwrap_or_default();
        if host_root.split_whitespace().nth(1) == Some(uid.to_string().as_str()) {
            r.fail("the container's root is the user: not a nomap or --uidmap container");
        }
        env.hutch(&["diff", &name])
            .success()
            .stdout_has("A /in-upper");
        env.hutch(&["kill", &name]).success();
        let out = env.home.join(format!("out-{i}"));
        env.hutch(&["cp", &format!("{name}:/in-upper"), &out.to_string_lossy()])
            .success();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "up\n");
        env.hutch(&["rm", &name]).success();
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(mode_flags);
        args.extend_from_slice(&["-v", &data, &img, "cat", "/data/v"]);
        env.hutch(&args).success().stdout_is("vol\n");
        env.hutch(&["volume", "rm", &volume]).success();
    }
    assert_eq!(open_to_others(&env.store()), Vec::<String>::new());
    assert!(env.store_entries("containers").is_empty());
}

#[test]
fn issue21_nomap_and_uidmap_containers_work_in_a_private_store_and_home() {
    // issue #21 item 1: the store root is 0700 and so is HOME (as Debian's
    // adduser makes it); a container root that is a subordinate id gets
    // what it needs from them as fds its init opened as the user.
    let env = setup();
    let _cleanup = Cleanup(&env);
    check_private_containers(&env, "overlay");
}

#[test]
fn issue21_nomap_and_uidmap_containers_work_with_fuse_overlayfs_in_a_private_store() {
    // issue #21 item 1: the same with fuse-overlayfs (HUTCH_OVERLAY=fuse),
    // which gets its directories at plain paths in its own mount namespace.
    super::common::require_tool("fuse-overlayfs");
    let mut env = setup();
    env.set_env("HUTCH_OVERLAY", "fuse");
    let _cleanup = Cleanup(&env);
    check_private_containers(&env, "fuse.fuse-overlayfs");
    // A container directory an older hutch made under umask 077: the
    // container's root must still reach its upper directory through it.
    let img = image("busybox");
    let r = env
        .hutch(&["create", "--userns=nomap", &img, "touch", "/x"])
        .success();
    let id = r.stdout.trim().to_string();
    chmod(&env.store().join("containers").join(&id), 0o700);
    env.hutch(&["start", "-a", &id]).success();
    env.hutch(&["rm", &id]).success();
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
