//! End-to-end tests of capabilities, no-new-privileges, masked and
//! read-only paths and the read-only root (issue #6).

use super::common::Run;
use super::{run_d, run_rm as run, setup, Cleanup};

/// Podman's rootless default capabilities, by number (capability.h):
/// CHOWN 0, DAC_OVERRIDE 1, FOWNER 3, FSETID 4, KILL 5, SETGID 6,
/// SETUID 7, SETPCAP 8, NET_BIND_SERVICE 10, SYS_CHROOT 18, SETFCAP 31.
const DEFAULT_CAPS: [u32; 11] = [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 31];

/// CAP_SYS_ADMIN's number.
const CAP_SYS_ADMIN: u32 = 21;

fn mask(caps: &[u32]) -> u64 {
    caps.iter().fold(0, |m, c| m | 1 << c)
}

/// Every capability the kernel knows.
fn full_mask() -> u64 {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("reading /proc/sys/kernel/cap_last_cap")
        .trim()
        .parse()
        .expect("parsing cap_last_cap");
    (1u64 << (last + 1)) - 1
}

/// The value of `field` (`CapEff`, `NoNewPrivs`…) in a /proc/PID/status.
#[track_caller]
fn status_field(r: &Run, field: &str) -> u64 {
    let prefix = format!("{field}:");
    let Some(v) = r
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::trim)
    else {
        r.fail(&format!("no {field} line in /proc/self/status"));
    };
    let radix = if field.starts_with("Cap") { 16 } else { 10 };
    match u64::from_str_radix(v, radix) {
        Ok(n) => n,
        Err(_) => r.fail(&format!("{field} is not a number")),
    }
}

/// Asserts the bounding, effective and permitted sets are `want` and the
/// inheritable and ambient sets empty.
#[track_caller]
fn assert_caps(r: &Run, want: u64) {
    for field in ["CapBnd", "CapEff", "CapPrm"] {
        let got = status_field(r, field);
        if got != want {
            r.fail(&format!("{field} is {got:#018x}, want {want:#018x}"));
        }
    }
    for field in ["CapInh", "CapAmb"] {
        if status_field(r, field) != 0 {
            r.fail(&format!("{field} is not empty"));
        }
    }
}

const STATUS: [&str; 2] = ["cat", "/proc/self/status"];

#[test]
fn run_keeps_exactly_the_default_capabilities() {
    let env = setup();
    let r = run(&env, &[], &STATUS).success();
    assert_caps(&r, mask(&DEFAULT_CAPS));
}

#[test]
fn run_cap_flags_change_the_set() {
    let env = setup();
    let r = run(&env, &["--cap-drop", "all"], &STATUS).success();
    assert_caps(&r, 0);
    let r = run(&env, &["--cap-add", "SYS_ADMIN"], &STATUS).success();
    assert_caps(&r, mask(&DEFAULT_CAPS) | 1 << CAP_SYS_ADMIN);
    let r = run(&env, &["--cap-drop", "cap_chown"], &STATUS).success();
    assert_caps(&r, mask(&DEFAULT_CAPS) & !1);
    let r = run(&env, &["--privileged"], &STATUS).success();
    assert_caps(&r, full_mask());
}

#[test]
fn run_cap_drop_chown_makes_chown_fail() {
    let env = setup();
    run(&env, &[], &["busybox", "chown", "5", "/tmp"]).success();
    run(
        &env,
        &["--cap-drop", "CHOWN"],
        &["busybox", "chown", "5", "/tmp"],
    )
    .code(1)
    .stderr_has("Operation not permitted");
}

#[test]
fn run_refuses_an_unknown_capability() {
    let env = setup();
    run(&env, &["--cap-add", "FLY"], &["true"])
        .code(125)
        .stderr_has("unknown capability \"FLY\"");
}

#[test]
fn run_no_new_privileges_sets_the_flag() {
    let env = setup();
    let r = run(&env, &[], &STATUS).success();
    assert_eq!(status_field(&r, "NoNewPrivs"), 0, "default NoNewPrivs");
    for opt in ["no-new-privileges", "no-new-privileges=true"] {
        let r = run(&env, &["--security-opt", opt], &STATUS).success();
        assert_eq!(status_field(&r, "NoNewPrivs"), 1, "{opt}");
    }
    let r = run(
        &env,
        &["--security-opt", "no-new-privileges=false"],
        &STATUS,
    )
    .success();
    assert_eq!(status_field(&r, "NoNewPrivs"), 0);
}

#[test]
fn run_masks_kernel_paths_and_freezes_proc_sys() {
    let env = setup();
    run(
        &env,
        &[],
        &[
            "sh",
            "-c",
            "cat /proc/kcore /proc/keys 2>/dev/null | busybox wc -c",
        ],
    )
    .success()
    .stdout_is("0\n");
    run(
        &env,
        &[],
        &["sh", "-c", "echo x > /proc/sys/kernel/hostname"],
    )
    .code(1)
    .stderr_has("Read-only file system");
    run(&env, &[], &["ls", "/sys/firmware"])
        .success()
        .stdout_is("");
}

/// Whether `/proc/self/mountinfo` as printed by `r` has a mount on `path`.
fn has_mount_on(r: &Run, path: &str) -> bool {
    r.stdout.lines().any(|l| l.split(' ').nth(4) == Some(path))
}

#[test]
fn run_unmask_and_privileged_lift_the_masks() {
    let env = setup();
    let mountinfo = ["cat", "/proc/self/mountinfo"];
    let r = run(&env, &[], &mountinfo).success();
    assert!(has_mount_on(&r, "/proc/keys"), "default masks /proc/keys");
    let r = run(&env, &["--privileged"], &mountinfo).success();
    assert!(
        !has_mount_on(&r, "/proc/keys"),
        "--privileged masks nothing"
    );
    assert!(!has_mount_on(&r, "/proc/sys"));
    let r = run(&env, &["--security-opt", "unmask=/proc/keys"], &mountinfo).success();
    assert!(!has_mount_on(&r, "/proc/keys"));
    assert!(has_mount_on(&r, "/proc/timer_list"));
    let r = run(&env, &["--security-opt", "unmask=ALL"], &mountinfo).success();
    assert!(!has_mount_on(&r, "/proc/timer_list"));
    let r = run(
        &env,
        &["--security-opt", "mask=/etc/hostname:/nope"],
        &mountinfo,
    )
    .success();
    let r2 = run(&env, &["--security-opt", "mask=/etc"], &["ls", "/etc"]).success();
    assert!(has_mount_on(&r, "/etc/hostname"), "mask= adds a path");
    assert_eq!(r2.stdout, "", "a masked directory is empty");
}

#[test]
fn run_read_only_root_keeps_scratch_dirs_writable() {
    let env = setup();
    run(&env, &["--read-only"], &["touch", "/x"])
        .code(1)
        .stderr_has("Read-only file system");
    run(
        &env,
        &["--read-only"],
        &["touch", "/tmp/x", "/run/x", "/var/tmp/x"],
    )
    .success();
    run(
        &env,
        &["--read-only", "--read-only-tmpfs=false"],
        &["touch", "/tmp/x"],
    )
    .code(1)
    .stderr_has("Read-only file system");
    run(&env, &[], &["touch", "/x"]).success();
}

#[test]
fn run_read_only_keeps_volumes_below_the_scratch_dirs() {
    // A volume below /run or /tmp lands on the --read-only tmpfs instead
    // of being hidden by it (found by issue #16's kube Secret test).
    let env = setup();
    let host = env.dir.join("creds");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("token"), "s3cret").unwrap();
    let bind = format!("{}:/run/creds:ro", host.display());
    let bind_tmp = format!("{}:/tmp/in", host.display());
    let r = run(
        &env,
        &["--read-only", "-v", &bind, "-v", &bind_tmp],
        &[
            "sh",
            "-c",
            "cat /run/creds/token /tmp/in/token; touch /run/x /tmp/y",
        ],
    )
    .success();
    assert_eq!(r.stdout, "s3crets3cret");
}

#[test]
fn exec_takes_the_container_caps_and_its_own_flags() {
    let env = setup();
    let _clean = Cleanup(&env);
    run_d(&env, "capx", &["sleep", "1000"]);
    let r = env
        .hutch(&["exec", "capx", "cat", "/proc/self/status"])
        .success();
    assert_caps(&r, mask(&DEFAULT_CAPS));
    let r = env
        .hutch(&["exec", "--privileged", "capx", "cat", "/proc/self/status"])
        .success();
    assert_caps(&r, full_mask());
    let r = env
        .hutch(&[
            "exec",
            "--cap-drop",
            "all",
            "--cap-add",
            "kill",
            "capx",
            "cat",
            "/proc/self/status",
        ])
        .success();
    assert_caps(&r, 1 << 5);
}
