//! End-to-end tests of seccomp (issue #6): the default profile, custom
//! OCI/Docker JSON profiles, `seccomp=unconfined`, `--privileged`, the
//! compiled-filter cache, and `exec` into a confined container.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::common::{image, list_dir, Env, Run};
use super::{run_d, run_rm as run, setup, Cleanup};

/// The value of `field` in the /proc/PID/status the command printed.
#[track_caller]
fn status_field(r: &Run, field: &str) -> String {
    let prefix = format!("{field}:");
    match r.stdout.lines().find_map(|l| l.strip_prefix(&prefix)) {
        Some(v) => v.trim().to_string(),
        None => r.fail(&format!("no {field} line in the status")),
    }
}

/// Asserts the status the command printed has `Seccomp: want`.
#[track_caller]
fn assert_seccomp(r: &Run, want: &str) {
    let got = status_field(r, "Seccomp");
    if got != want {
        r.fail(&format!("Seccomp is {got}, want {want}"));
    }
}

const STATUS: [&str; 2] = ["cat", "/proc/self/status"];

/// Writes `json` as a profile file in the test's directory.
fn write_profile(env: &Env, name: &str, json: &str) -> PathBuf {
    let path = env.dir.join(name);
    std::fs::write(&path, json).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// The compiled filters cached in the environment's run directory.
fn cached_filters(env: &Env) -> Vec<PathBuf> {
    let dir = env.runtime_dir.join("hutch/seccomp");
    list_dir(&dir)
        .into_iter()
        .filter(|n| n.ends_with(".bpf"))
        .map(|n| dir.join(n))
        .collect()
}

fn inode(p: &Path) -> u64 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("stat {}: {e}", p.display()))
        .ino()
}

#[test]
fn run_confines_with_the_default_filter_and_caches_it() {
    let env = setup();
    let r = run(&env, &[], &STATUS).success();
    assert_seccomp(&r, "2");
    let cached = cached_filters(&env);
    if cached.len() != 1 {
        r.fail(&format!(
            "expected one cached filter after the first run, found {cached:?}"
        ));
    }
    let before = inode(&cached[0]);
    let r = run(&env, &[], &STATUS).success();
    assert_seccomp(&r, "2");
    let again = cached_filters(&env);
    if again != cached || inode(&again[0]) != before {
        r.fail("the second run compiled the filter again instead of using the cache");
    }
}

#[test]
fn run_unconfined_and_privileged_have_no_filter() {
    let env = setup();
    let r = run(&env, &["--security-opt", "seccomp=unconfined"], &STATUS).success();
    assert_seccomp(&r, "0");
    let r = run(&env, &["--privileged"], &STATUS).success();
    assert_seccomp(&r, "0");
}

#[test]
fn run_filter_is_installed_before_the_user_switch_without_no_new_privs() {
    // A non-root user has no CAP_SYS_ADMIN left, so a filter present
    // without no_new_privs proves it went in before the switch.
    let env = setup();
    let r = run(&env, &["-u", "1000:1000"], &STATUS).success();
    assert_seccomp(&r, "2");
    if status_field(&r, "NoNewPrivs") != "0" {
        r.fail("no_new_privs should stay unset by default");
    }
    let r = run(&env, &["--security-opt", "no-new-privileges"], &STATUS).success();
    assert_seccomp(&r, "2");
    if status_field(&r, "NoNewPrivs") != "1" {
        r.fail("no-new-privileges should set no_new_privs");
    }
}

#[test]
fn default_filter_refuses_new_namespaces_unless_sys_admin() {
    let env = setup();
    // The filter refuses a new user namespace, which needs no capability.
    run(&env, &[], &["busybox", "unshare", "-U", "true"])
        .code(1)
        .stderr_has("Operation not permitted");
    // Without the filter only the kernel's capability checks remain: a user
    // namespace is allowed, a mount namespace needs CAP_SYS_ADMIN.
    let unconfined = ["--security-opt", "seccomp=unconfined"];
    run(&env, &unconfined, &["busybox", "unshare", "-U", "true"]).success();
    run(&env, &unconfined, &["busybox", "unshare", "-m", "true"])
        .code(1)
        .stderr_has("Operation not permitted");
    // With CAP_SYS_ADMIN the default profile allows namespaces and mounts.
    run(
        &env,
        &["--cap-add", "SYS_ADMIN"],
        &["busybox", "unshare", "-m", "true"],
    )
    .success();
    run(
        &env,
        &["--privileged"],
        &["busybox", "unshare", "-U", "true"],
    )
    .success();
}

#[test]
fn default_filter_keeps_a_normal_userland_working() {
    let env = setup();
    let script = "set -e; mkdir -p /tmp/a/b; echo hi > /tmp/a/b/f; cat /tmp/a/b/f; \
                  ln -s f /tmp/a/b/l; chmod 600 /tmp/a/b/f; chown 1:1 /tmp/a/b/f; \
                  ls /tmp/a/b | wc -l; rm -r /tmp/a; (sleep 0 & wait); echo x | grep -c x; \
                  date +%Y >/dev/null; id -u; ps >/dev/null; echo done";
    run(&env, &[], &["sh", "-c", script])
        .success()
        .stdout_is("hi\n2\n1\n0\ndone\n");
}

#[test]
fn custom_profile_denies_mkdir_with_its_errno() {
    let env = setup();
    let profile = write_profile(
        &env,
        "nomkdir.json",
        r#"{
  "defaultAction": "SCMP_ACT_ALLOW",
  "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
  "syscalls": [
    {"names": ["mkdir", "mkdirat", "not_a_syscall_anywhere"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
    {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_MODULE"]}}
  ]
}"#,
    );
    let opt = format!("seccomp={}", profile.display());
    run(&env, &["--security-opt", &opt], &["mkdir", "/tmp/x"])
        .code(1)
        .stderr_has("Permission denied");
    run(
        &env,
        &["--security-opt", &opt],
        &["sh", "-c", "touch /tmp/f && chmod 600 /tmp/f && echo ok"],
    )
    .success()
    .stdout_is("ok\n");
    // The profile is read when the container is created: removing the
    // file afterwards does not matter to a detached start.
    let _clean = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&[
        "create",
        "--name",
        "later",
        "--security-opt",
        &opt,
        &img,
        "mkdir",
        "/tmp/y",
    ])
    .success();
    std::fs::remove_file(&profile).unwrap();
    env.hutch(&["start", "later"]).success();
    let r = env.hutch(&["wait", "later"]).success();
    if r.stdout.trim() != "1" {
        r.fail("mkdir in the started container should have failed with exit 1");
    }
}

#[test]
fn invalid_profiles_fail_with_one_line_naming_the_file() {
    let env = setup();
    let cases = [
        ("notjson.json", "{ this is not json", "invalid JSON"),
        (
            "badaction.json",
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_MAYBE"}]}"#,
            "unknown action \"SCMP_ACT_MAYBE\"",
        ),
        (
            "badop.json",
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_ABOUT"}]}]}"#,
            "unknown comparison \"SCMP_CMP_ABOUT\"",
        ),
    ];
    for (name, json, problem) in cases {
        let path = write_profile(&env, name, json);
        let opt = format!("seccomp={}", path.display());
        let path = path.display().to_string();
        run(&env, &["--security-opt", &opt], &["true"]).tool_error(&[&path, problem]);
    }
    let missing = env.dir.join("missing.json").display().to_string();
    let opt = format!("seccomp={missing}");
    run(&env, &["--security-opt", &opt], &["true"])
        .tool_error(&[&missing, "No such file or directory"]);
    // Nothing was created for the refused runs.
    let r = env.hutch(&["ps", "-a", "-q"]).success();
    if !r.stdout.trim().is_empty() {
        r.fail("a refused profile should leave no container behind");
    }
}

#[test]
fn exec_and_detached_containers_get_the_containers_filter() {
    let env = setup();
    let _clean = Cleanup(&env);
    run_d(&env, "conf", &["sleep", "1000"]);
    let r = env
        .hutch(&["exec", "conf", "cat", "/proc/1/status"])
        .success();
    assert_seccomp(&r, "2");
    let r = env
        .hutch(&["exec", "conf", "cat", "/proc/self/status"])
        .success();
    assert_seccomp(&r, "2");
    env.hutch(&["exec", "conf", "busybox", "unshare", "-U", "true"])
        .code(1)
        .stderr_has("Operation not permitted");

    let img = image("busybox");
    env.hutch_closing(&[
        "run",
        "-d",
        "--name",
        "free",
        "--security-opt",
        "seccomp=unconfined",
        &img,
        "sleep",
        "1000",
    ])
    .success();
    let r = env
        .hutch(&["exec", "free", "cat", "/proc/self/status"])
        .success();
    assert_seccomp(&r, "0");
}

/// A Python program that makes raw syscalls and prints `NAME RESULT ERRNO`
/// for each; run with the host's python3 and libraries bound read-only
/// into the container, since busybox has no applet for these calls.
const SYSCALLS: &str = r#"
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
calls = [
    ("keyctl", 250, (0, -3, 1)),        # KEYCTL_GET_KEYRING_ID, session, create
    ("add_key", 248, (b"user", b"k", b"v", 1, -3)),
    ("unshare_user", 272, (0x10000000,)),  # CLONE_NEWUSER
    ("clone3", 435, (0, 0)),
    ("kexec_load", 246, (0, 0, 0, 0)),
]
for name, nr, args in calls:
    ctypes.set_errno(0)
    r = libc.syscall(nr, *args)
    print(name, r, ctypes.get_errno() if r < 0 else 0)
"#;

/// Runs `SYSCALLS` in a container with `flags`; (name → (result, errno)).
#[track_caller]
fn raw_syscalls(env: &Env, flags: &[&str]) -> std::collections::BTreeMap<String, (i64, i32)> {
    assert!(
        Path::new("/usr/bin/python3").exists(),
        "this test needs the host's /usr/bin/python3 (Debian package python3)"
    );
    let mut all = vec![
        "-v",
        "/usr:/usr:ro",
        "-v",
        "/lib:/lib:ro",
        "-v",
        "/lib64:/lib64:ro",
    ];
    all.extend_from_slice(flags);
    let r = run(env, &all, &["/usr/bin/python3", "-c", SYSCALLS]).success();
    r.stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let parse = |s: &str| {
                s.parse::<i64>()
                    .unwrap_or_else(|_| r.fail(&format!("bad line {l:?}")))
            };
            (f[0].to_string(), (parse(f[1]), parse(f[2]) as i32))
        })
        .collect()
}

#[test]
fn default_profile_denies_keyrings_new_user_namespaces_and_kexec() {
    const EPERM: i32 = 1;
    const ENOSYS: i32 = 38;
    let env = setup();
    let got = raw_syscalls(&env, &[]);
    for name in ["keyctl", "add_key", "unshare_user", "kexec_load"] {
        assert_eq!(
            got[name],
            (-1, EPERM),
            "{name} in a default container: {got:?}"
        );
    }
    // clone3 answers "not implemented", so libc falls back to clone.
    assert_eq!(got["clone3"], (-1, ENOSYS), "clone3: {got:?}");
    // Unconfined, the kernel itself answers: the keyring calls work and
    // only capabilities stand in the way of the rest.
    let free = raw_syscalls(&env, &["--security-opt", "seccomp=unconfined"]);
    assert!(free["keyctl"].0 > 0, "keyctl unconfined: {free:?}");
    assert!(free["add_key"].0 > 0, "add_key unconfined: {free:?}");
    assert_ne!(free["clone3"].1, ENOSYS, "clone3 unconfined: {free:?}");
}
