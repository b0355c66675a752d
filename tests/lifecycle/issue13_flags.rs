//! Issue #13: flags of the container commands whose effect only shows
//! over time or on the host: `ps --watch` repaints until stopped,
//! `volume rm --force --time` stops a volume's users with their stop
//! signal first, `start --sig-proxy` and `--detach-keys` are taken.

use std::time::Duration;

use super::common::{image, Env};
use super::{setup, Cleanup, WAIT_LIMIT};

/// `run -d` of busybox with `script`; the container's name.
fn run_d(env: &Env, name: &str, flags: &[&str], script: &str) {
    let img = image("busybox");
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[img.as_str(), "sh", "-c", script]);
    env.hutch(&args).success();
}

#[test]
fn issue13_flags_ps_watch_repaints_until_stopped() {
    let env = setup();
    let _c = Cleanup(&env);
    run_d(&env, "w1", &[], "sleep 100");
    let p = env.spawn(&["ps", "--watch", "1", "--format", "{{.Names}}"]);
    std::thread::sleep(Duration::from_millis(2500));
    let pid = nix::unistd::Pid::from_raw(p.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("signalling ps");
    let r = p.wait();
    // Each look clears the screen and lists the container again.
    let looks = r.stdout.matches("\x1b[2J\x1b[H").count();
    let names = r.stdout.lines().filter(|l| l.ends_with("w1")).count();
    if looks < 2 || names != looks {
        r.fail("expected at least two screens, each listing w1");
    }
    // 0 looks once, as in Podman.
    env.hutch(&["ps", "--watch", "0", "--format", "{{.Names}}"])
        .success()
        .stdout_is("w1");
}

#[test]
fn issue13_flags_volume_rm_time_stops_users_before_removing() {
    let env = setup();
    let _c = Cleanup(&env);
    let out = env.home.join("signals");
    std::fs::create_dir_all(&out).expect("creating the signal directory");
    let bind = format!("{}:/out", out.display());
    for (name, vol) in [("graceful", "v1"), ("killed", "v2")] {
        env.hutch(&["volume", "create", vol]).success();
        let script = format!(
            "trap 'echo term > /out/{name}; exit 0' TERM; echo ready > /out/{name}.up; \
             while true; do sleep 0.1; done"
        );
        run_d(
            &env,
            name,
            &["-v", &format!("{vol}:/v"), "-v", &bind],
            &script,
        );
        super::common::wait_for(&format!("{name} to start"), WAIT_LIMIT, || {
            match out.join(format!("{name}.up")).exists() {
                true => Ok(()),
                false => Err("not yet".to_string()),
            }
        });
    }
    // With a grace period the user gets its stop signal and ends itself.
    env.hutch_timeout(
        &["volume", "rm", "--force", "--time", "10", "v1"],
        WAIT_LIMIT,
    )
    .success()
    .stdout_is("v1");
    // Without one it is killed at once: its trap never runs.
    env.hutch_timeout(&["volume", "rm", "--force", "v2"], WAIT_LIMIT)
        .success()
        .stdout_is("v2");
    let read = |n: &str| std::fs::read_to_string(out.join(n)).unwrap_or_default();
    assert_eq!(
        read("graceful").trim(),
        "term",
        "--time gives SIGTERM first"
    );
    assert_eq!(read("killed"), "", "without --time the user is killed");
    let r = env.hutch(&["ps", "-a", "--format", "{{.Names}}"]).success();
    if !r.stdout.trim().is_empty() {
        r.fail("volume rm --force removes the containers that use it");
    }
}
