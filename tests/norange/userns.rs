//! User-namespace modes and `unshare` for a user without a range (#7).

use super::assert_no_range;
use super::common::{image, Env};

#[test]
fn keep_id_without_range_fails_before_anything_starts() {
    assert_no_range();
    let env = Env::new();
    env.hutch(&["run", "--rm", "--userns=keep-id", &image("busybox"), "true"])
        .tool_error(&["--userns=keep-id", "/etc/subuid"])
        .stderr_has("Hint:");
    let ps = env.hutch(&["ps", "-a", "-q"]).success();
    assert_eq!(ps.stdout, "", "no container may be left behind");
}

#[test]
fn unshare_without_range_maps_only_the_user_and_warns() {
    let uid = assert_no_range();
    let env = Env::new();
    let r = env
        .hutch(&["unshare", "cat", "/proc/self/uid_map"])
        .success();
    let rows: Vec<Vec<u64>> = r
        .stdout
        .lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .collect();
    assert_eq!(rows, vec![vec![0, u64::from(uid), 1]], "{r}");
    if r.stderr_lines("Warning:").len() != 1 {
        r.fail("expected exactly one Warning: line");
    }
    env.hutch(&["unshare", "sh", "-c", "exit 9"]).code(9);
}
