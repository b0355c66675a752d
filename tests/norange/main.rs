//! Tests for a user without an /etc/subuid range (hutch-norange under
//! `sudo tests/run.sh`): hutch falls back to a single-id map and says so
//! in exactly one `Warning:` line.

#[path = "../common/mod.rs"]
mod common;
mod userns;
mod volumes;

use common::{current_user, image, subid_range, Env};

/// Fails unless the current user really has no subordinate ids.
fn assert_no_range() -> u32 {
    let (name, uid, _) = current_user();
    if let Some(r) = subid_range("/etc/subuid") {
        panic!("user {name} has the /etc/subuid range {r:?}: tests/norange must run as a user without one (sudo tests/run.sh runs them as hutch-norange)");
    }
    uid
}

#[test]
fn run_without_range_maps_only_root_and_warns_once() {
    let uid = assert_no_range();
    let env = Env::new();
    let r = env
        .hutch(&[
            "run",
            "--rm",
            &image("busybox"),
            "cat",
            "/proc/self/uid_map",
        ])
        .success();
    let map: Vec<Vec<u64>> = r
        .stdout
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .collect();
    if map != vec![vec![0, u64::from(uid), 1]] {
        r.fail(&format!("expected the single-id map 0 {uid} 1"));
    }
    let warnings = r.stderr_lines("Warning:");
    if warnings.len() != 1 {
        r.fail(&format!(
            "expected exactly one Warning: line, got {}",
            warnings.len()
        ));
    }
    if r.stderr.lines().any(|l| l.starts_with("Error:")) {
        r.fail("a successful run must not print Error:");
    }
}

#[test]
fn run_without_range_keeps_exit_codes() {
    assert_no_range();
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["run", "--rm", &img, "echo", "hello"])
        .success()
        .stdout_is("hello");
    env.hutch(&["run", "--rm", &img, "sh", "-c", "exit 7"])
        .code(7);
    env.hutch(&["run", "--rm", &img, "no-such-command"])
        .code(127);
    env.hutch(&["run", "--rm", &img, "id", "-u"])
        .success()
        .stdout_is("0");
}

#[test]
fn info_without_range_shows_the_single_id_map() {
    let uid = assert_no_range();
    let env = Env::new();
    let r = env.hutch(&["info", "--format", "json"]).success();
    let v = r.json();
    let want = serde_json::json!([{"container_id": 0, "host_id": uid, "size": 1}]);
    if v["host"]["idMappings"]["uidmap"] != want {
        r.fail(&format!("expected host.idMappings.uidmap {want}"));
    }
    if v["host"]["idMappings"]["singleIdFallback"].is_null() {
        r.fail("expected host.idMappings.singleIdFallback to give the reason");
    }
}

#[test]
fn pull_without_range_warns_once_and_lists_the_image() {
    assert_no_range();
    let env = Env::new();
    let r = env.hutch(&["pull", &image("busybox")]).success();
    if r.stderr_lines("Warning:").len() != 1 {
        r.fail("expected exactly one Warning: line");
    }
    env.hutch(&["images"]).success().stdout_has("/busybox");
}

#[test]
fn issue18_doctor_without_range_fails_subuid_with_the_fix_and_run_still_works() {
    // issue #18 (doctor): no range is a fail naming the usermod that adds
    // one, but run works through the single-id fallback, so doctor exits 0
    // and the helpers it does not need are not failures.
    assert_no_range();
    let (name, _, _) = current_user();
    let env = Env::new();
    let r = env.hutch(&["doctor"]).success();
    for (check, flag) in [("subuid", "--add-subuids"), ("subgid", "--add-subgids")] {
        let line = r
            .stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| r.fail(&format!("no {check} line")));
        let want_fix = format!("; fix: sudo usermod {flag} ");
        if !line.starts_with("fail ")
            || !line.contains("single-id fallback")
            || !line.contains(&want_fix)
            || !line.ends_with(&format!(" {name}"))
        {
            r.fail(&format!(
                "expected `fail {check} ... single-id fallback{want_fix}START-END {name}`, got {line:?}"
            ));
        }
    }
    let unshare = r
        .stdout
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("unshare"))
        .unwrap_or_else(|| r.fail("no unshare line"));
    if !unshare.starts_with("ok ") || !unshare.contains("your own id only works") {
        r.fail(&format!(
            "expected the unshare check ok with the own id, got {unshare:?}"
        ));
    }
    env.hutch(&["run", "--rm", &image("busybox"), "echo", "fallback"])
        .success()
        .stdout_is("fallback");
}
