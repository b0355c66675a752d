//! Regression tests of issue #21 ("Reliability and local security"):
//! item 4, a container that fills the disk holding the store leaves every
//! reading command, `stop`, `kill` and `rm -f` working and its exit code
//! known; item 6, `--rm` is applied when the foreground `run` or the
//! detached monitor is killed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use super::common::{image, list_dir, wait_for, Env, Run};
use super::{
    expect_id, inspect_field, is_alive, kill_leftover_monitors, lists, proc_stat, ps_names_status,
    setup, wait_for_status, Cleanup, SETTLE,
};

/// The variable naming the small filesystem tests/run.sh mounts.
const SMALL_FS_VAR: &str = "HUTCH_TEST_SMALL_FS";

/// At most this much may be free on the small filesystem for it to count
/// as full (a few pages SQLite's index gives back and takes again).
const FULL_SLACK: u64 = 256 * 1024;

/// At least this much must be free again once the container filling the
/// disk is removed.
const FREED: u64 = 40 * 1024 * 1024;

/// The small filesystem (a tmpfs the test user owns) from
/// `HUTCH_TEST_SMALL_FS`; fails the test naming the variable without it.
fn small_fs() -> PathBuf {
    match std::env::var_os(SMALL_FS_VAR) {
        Some(v) if !v.is_empty() && Path::new(&v).is_dir() => PathBuf::from(v),
        v => panic!(
            "{SMALL_FS_VAR} ({v:?}) must name a directory: a small filesystem (a 64 MiB tmpfs) \
             the test user owns, for the full-disk tests; `sudo ./tests/run.sh` mounts one \
             (tests/lib/env.sh mount_small_fs)"
        ),
    }
}

/// Bytes free to the user on the filesystem holding `path`.
fn free_bytes(path: &Path) -> u64 {
    let st = nix::sys::statvfs::statvfs(path)
        .unwrap_or_else(|e| panic!("statvfs {}: {e}", path.display()));
    st.blocks_available() * st.fragment_size()
}

/// A store and run directory on the small filesystem, used through every
/// command's `--root` and `--runroot`; emptied (containers removed, the
/// store reset) when dropped, so the filesystem is free for what follows.
struct SmallStore<'a> {
    env: &'a Env,
    dir: PathBuf,
    root: PathBuf,
}

impl<'a> SmallStore<'a> {
    fn new(env: &'a Env) -> SmallStore<'a> {
        let fs = small_fs();
        let dir = fs.join(format!("issue21-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let root = dir.join("store");
        SmallStore { env, dir, root }
    }

    fn args<'b>(&'b self, args: &[&'b str]) -> Vec<String> {
        let mut all = vec![
            "--root".to_string(),
            self.root.display().to_string(),
            "--runroot".to_string(),
            self.dir.join("run").display().to_string(),
        ];
        all.extend(args.iter().map(|a| a.to_string()));
        all
    }

    fn hutch(&self, args: &[&str]) -> Run {
        self.env.hutch(&self.args(args))
    }

    fn free(&self) -> u64 {
        free_bytes(&self.dir)
    }

    /// Fails unless the filesystem is (still) full.
    #[track_caller]
    fn assert_full(&self, when: &str) {
        let free = self.free();
        assert!(
            free <= FULL_SLACK,
            "the small filesystem should be full {when}, but {free} bytes are free"
        );
    }

    /// Waits until the filesystem is full.
    fn wait_full(&self, what: &str) {
        wait_for(&format!("{what} to fill the disk"), SETTLE, || {
            match self.free() {
                n if n <= FULL_SLACK => Ok(()),
                n => Err(format!("{n} bytes free")),
            }
        });
    }

    /// Asserts `ps -a` shows `name` with a status starting with `status`.
    #[track_caller]
    fn assert_status(&self, name: &str, status: &str) {
        let r = self
            .hutch(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
            .success();
        if !r
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("{name} {status}")))
        {
            r.fail(&format!("expected ps -a to show {name} as {status:?}"));
        }
    }
}

impl Drop for SmallStore<'_> {
    fn drop(&mut self) {
        let limit = Duration::from_secs(60);
        let _ = self
            .env
            .hutch_timeout(&self.args(&["rm", "-a", "-f"]), limit);
        kill_leftover_monitors(&self.root);
        let _ = self
            .env
            .hutch_timeout(&self.args(&["system", "reset", "--force"]), limit);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `run -d --name NAME [FLAGS] busybox sh -c SCRIPT` in the small store;
/// returns the id.
#[track_caller]
fn run_d(s: &SmallStore, name: &str, flags: &[&str], script: &str) -> String {
    let img = image("busybox");
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.extend([img.as_str(), "sh", "-c", script]);
    expect_id(&s.hutch(&args).success())
}

/// What a container runs to fill the disk: `dd` until ENOSPC.
const FILL: &str = "dd if=/dev/zero of=/fill bs=1M 2>/dev/null";

/// issue #21 item 4: on a disk that a container filled, the reading
/// commands work, `kill`, `stop` and `rm -f` work without first writing
/// new state, the exit code of a container that ends meanwhile (detached
/// or in the foreground, also with `--rm`) is the real one in `ps -a`,
/// `inspect` and `wait`, and `rm -f` gives the space back for a new `run`.
#[test]
fn issue21_a_full_disk_leaves_readers_rm_stop_kill_and_exit_codes_working() {
    let env = Env::new();
    let s = SmallStore::new(&env);
    let img = image("busybox");
    s.hutch(&["pull", &img]).success();

    // Detached: two idle containers, then one that fills the disk.
    run_d(&s, "a", &[], "sleep 1000");
    run_d(&s, "b", &[], "sleep 1000");
    run_d(&s, "c", &[], &format!("{FILL}; sleep 1000"));
    s.wait_full("container c");

    for args in [
        &["ps"][..],
        &["ps", "-a"],
        &["inspect", "c"],
        &["logs", "c"],
        &["system", "df"],
        &["images"],
        &["volume", "ls"],
    ] {
        s.hutch(args).success();
    }
    let r = s
        .hutch(&["ps", "--format", "{{.Names}} {{.State}}"])
        .success();
    for name in ["a", "b", "c"] {
        if !r
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("{name} Up ")))
        {
            r.fail(&format!("expected {name} to be listed running"));
        }
    }
    s.hutch(&["images", "--format", "{{.Repository}}"])
        .success()
        .stdout_has("busybox");
    s.assert_full("after the reading commands");

    s.hutch(&["kill", "a"]).success();
    s.assert_status("a", "Exited (137)");
    s.hutch(&["stop", "-t", "1", "b"]).success();
    assert_eq!(
        s.hutch(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "b"
        ])
        .success()
        .stdout
        .trim(),
        "exited 137"
    );
    s.hutch(&["wait", "b"]).success().stdout_is("137");
    s.assert_full("after kill and stop");

    // The running container that holds the data goes, and the space with it.
    s.hutch(&["rm", "-f", "c"]).success();
    assert!(s.free() > FREED, "rm -f c should free its data");
    let r = s
        .hutch(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .success();
    if lists(&r, "c") {
        r.fail("c was removed");
    }
    s.assert_status("a", "Exited (137)");
    s.assert_status("b", "Exited (137)");
    s.hutch(&["rm", "a", "b"]).success();

    // In the foreground: hutch exits with the container's code.
    let fill3 = format!("{FILL}; exit 3");
    s.hutch(&["run", "--name", "fg", &img, "sh", "-c", &fill3])
        .code(3);
    s.assert_full("after the foreground run");
    s.assert_status("fg", "Exited (3)");
    assert_eq!(
        s.hutch(&[
            "inspect",
            "-f",
            "{{.State.Status}} {{.State.ExitCode}}",
            "fg"
        ])
        .success()
        .stdout
        .trim(),
        "exited 3"
    );
    s.hutch(&["wait", "fg"]).success().stdout_is("3");
    s.hutch(&["rm", "fg"]).success();
    assert!(s.free() > FREED, "rm fg should free its data");

    // `--rm`, in the foreground and detached: removed, and the code kept.
    let fill4 = format!("{FILL}; exit 4");
    s.hutch(&["run", "--rm", "--name", "fgrm", &img, "sh", "-c", &fill4])
        .code(4);
    assert!(s.free() > FREED, "run --rm should free its data");
    run_d(&s, "drm", &["--rm"], &format!("sleep 1; {FILL}; exit 5"));
    s.hutch(&["wait", "drm"]).success().stdout_is("5");
    wait_for("the monitor to remove drm", SETTLE, || {
        let r = s.hutch(&["ps", "-a", "--format", "{{.Names}}"]).success();
        match r.stdout.trim().is_empty() {
            true => Ok(()),
            false => Err(r.to_string()),
        }
    });
    assert!(s.free() > FREED, "the removal of drm should free its data");

    s.hutch(&["run", "--rm", &img, "echo", "space again"])
        .success()
        .stdout_is("space again");
    assert!(
        list_dir(&s.root.join("containers")).is_empty(),
        "no container directory may be left"
    );
}

/// The pid of container `id`'s init and its start time, while it runs.
#[track_caller]
fn init_of(env: &Env, name: &str) -> (i32, String) {
    let pid: i32 = inspect_field(env, name, "{{.State.Pid}}")
        .parse()
        .expect("inspect prints a numeric pid");
    let stat = proc_stat(pid).unwrap_or_else(|| panic!("container process {pid} should exist"));
    (pid, stat[19].clone())
}

/// SIGKILLs `pid` (the foreground hutch or a monitor), then waits until
/// the container's init `(pid, start)` has died with it.
fn kill_and_wait(pid: i32, init: &(i32, String)) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap_or_else(|e| panic!("kill -9 {pid}: {e}"));
    wait_for(
        "the container to die with its monitor",
        SETTLE,
        || match is_alive(init.0, &init.1) {
            true => Err(format!("{:?}", proc_stat(init.0))),
            false => Ok(()),
        },
    );
}

/// issue #21 item 6: a `--rm` container whose foreground `run` or
/// detached monitor was SIGKILLed is removed by the next command that
/// sees it, record and directory, also when several commands see it at
/// once; a container without `--rm` stays, listed as exited.
#[test]
fn issue21_rm_is_applied_when_the_foreground_run_or_the_monitor_is_killed() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let containers = env.store().join("containers");

    // The foreground run.
    let mut fg = env
        .command(&["run", "--rm", "--name", "fgk", &img, "sleep", "1000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting hutch run");
    wait_for_status(&env, "fgk", "running");
    let fg_id = inspect_field(&env, "fgk", "{{.Id}}");
    let init = init_of(&env, "fgk");
    kill_and_wait(fg.id() as i32, &init);
    let _ = fg.wait();
    let r = ps_names_status(&env);
    if lists(&r, "fgk") {
        r.fail("the --rm container of the killed foreground run must be removed");
    }
    assert!(
        !containers.join(&fg_id).exists(),
        "the directory of fgk must be removed"
    );

    // The detached monitors, of a --rm container and of one without.
    let rm_id = expect_id(
        &env.hutch_closing(&["run", "-d", "--rm", "--name", "drm", &img, "sleep", "1000"])
            .success(),
    );
    let keep_id = expect_id(
        &env.hutch_closing(&["run", "-d", "--name", "keep", &img, "sleep", "1000"])
            .success(),
    );
    for name in ["drm", "keep"] {
        let init = init_of(&env, name);
        let monitor: i32 = proc_stat(init.0).expect("the init runs")[1]
            .parse()
            .expect("ppid is numeric");
        kill_and_wait(monitor, &init);
    }
    // Several commands see it at once: one removes it, none fails.
    let seers: Vec<_> = (0..6)
        .map(|i| match i % 3 {
            0 => env.spawn(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]),
            1 => env.spawn(&["container", "list", "-a", "--format", "{{.Names}}"]),
            _ => env.spawn(&["inspect", "-f", "{{.State.Status}}", "keep"]),
        })
        .collect();
    for seer in seers {
        let r = seer.wait().success();
        if lists(&r, "drm") {
            r.fail("the --rm container of the killed monitor must not be listed");
        }
    }
    assert!(
        !containers.join(&rm_id).exists(),
        "the directory of drm must be removed"
    );
    let r = ps_names_status(&env);
    if !r.stdout.lines().any(|l| l.starts_with("keep Exited (")) {
        r.fail("keep, without --rm, must stay listed as exited");
    }
    assert!(
        containers.join(&keep_id).is_dir(),
        "keep's directory must stay"
    );
    env.hutch(&["rm", "keep"]).success();
}
