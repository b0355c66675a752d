//! End-to-end tests of user-namespace modes, --device, --group-add and
//! `hutch unshare` (issue #7, ownership half). They run as the test user,
//! who needs an /etc/subuid range and a supplementary group
//! (tests/lib/env.sh `ensure_users`).

use std::os::unix::fs::MetadataExt;

use super::common::{current_user, image, subid_range};
use super::run_rm as run;
use super::setup;

/// The first subordinate uid and gid; fails when the user has no range.
fn sub_starts() -> (u64, u64) {
    let u = subid_range("/etc/subuid").expect("the test user needs a range in /etc/subuid");
    let g = subid_range("/etc/subgid").expect("the test user needs a range in /etc/subgid");
    (u.0, g.0)
}

/// Rows of a uid_map/gid_map text as (container, host, size).
fn map_rows(text: &str) -> Vec<(u64, u64, u64)> {
    text.lines()
        .map(|l| {
            let n: Vec<u64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
            (n[0], n[1], n[2])
        })
        .collect()
}

#[test]
fn keep_id_runs_as_the_user_with_its_name_and_home() {
    let env = setup();
    let (name, uid, gid) = current_user();
    let r = run(
        &env,
        &["--userns=keep-id"],
        &[
            "sh",
            "-c",
            "id -u; id -g; id -un; echo $HOME; cat /proc/self/uid_map",
        ],
    )
    .success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    if lines.len() < 4 {
        r.fail("expected id -u, id -g, id -un, HOME and the uid map");
    }
    assert_eq!(lines[0], uid.to_string(), "id -u");
    assert_eq!(lines[1], gid.to_string(), "id -g");
    assert_eq!(lines[2], name, "id -un");
    assert!(
        !lines[3].is_empty() && lines[3] != "/",
        "HOME is {:?}",
        lines[3]
    );
    let (sub_uid, _) = sub_starts();
    let rows = map_rows(&lines[4..].join("\n"));
    let u = u64::from(uid);
    assert_eq!(
        rows,
        vec![(0, sub_uid, u), (u, u, 1), (u + 1, sub_uid + u, 65536 - u)],
        "keep-id uid_map"
    );
}

#[test]
fn keep_id_leaves_the_image_usable_and_owned_by_root() {
    let env = setup();
    // Twice: the second start reuses the shifted layer copies.
    for _ in 0..2 {
        let r = run(
            &env,
            &["--userns=keep-id"],
            &["sh", "-c", "stat -c '%u:%g' /bin/sh /etc /; cat /etc/hostname >/dev/null && head -1 /etc/passwd"],
        )
        .success();
        let want = "0:0\n0:0\n0:0\nroot:";
        if !r.stdout.starts_with(want) {
            r.fail("image files must stay owned by root, /etc readable");
        }
    }
    // -u still wins over the keep-id default user.
    run(&env, &["--userns=keep-id", "-u", "0"], &["id", "-u"])
        .success()
        .stdout_is("0\n");
    // keep-id:uid=,gid= puts the user at other ids.
    run(
        &env,
        &["--userns=keep-id:uid=200,gid=210"],
        &[
            "sh",
            "-c",
            "id -u; id -g; cat /proc/self/uid_map | grep ' 1$'",
        ],
    )
    .success()
    .stdout_has("200\n210\n");
}

#[test]
fn keep_id_files_written_by_the_user_belong_to_the_user_on_the_host() {
    let env = setup();
    let (_, uid, _) = current_user();
    let name = "keepid-owner";
    let img = image("busybox");
    env.hutch(&[
        "run",
        "--name",
        name,
        "--userns=keep-id",
        &img,
        "sh",
        "-c",
        "echo hi > /tmp/mine",
    ])
    .success();
    let upper = env.store().join("containers");
    let file = std::fs::read_dir(&upper)
        .expect("reading the containers dir")
        .filter_map(Result::ok)
        .map(|e| e.path().join("upper/tmp/mine"))
        .find(|p| p.exists())
        .expect("the container's upper dir holds /tmp/mine");
    assert_eq!(
        std::fs::metadata(&file).unwrap().uid(),
        uid,
        "owner of {file:?}"
    );
    env.hutch(&["rm", name]).success();
}

#[test]
fn uidmap_and_nomap_show_in_the_maps() {
    let env = setup();
    let (sub_uid, sub_gid) = sub_starts();
    let r = run(
        &env,
        &["--uidmap", "0:1:1000"],
        &[
            "sh",
            "-c",
            "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; stat -c %u /bin/sh",
        ],
    )
    .success();
    let (u, rest) = r
        .stdout
        .split_once("--\n")
        .unwrap_or_else(|| r.fail("no separator"));
    assert_eq!(map_rows(u), vec![(0, sub_uid, 1000)]);
    let g: Vec<&str> = rest.lines().collect();
    assert_eq!(map_rows(g[0]), vec![(0, sub_gid, 1000)]);
    assert_eq!(g[1], "0", "/bin/sh owner under --uidmap");

    let r = run(
        &env,
        &["--userns=nomap"],
        &["sh", "-c", "cat /proc/self/uid_map; id -u; touch /x"],
    )
    .success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(map_rows(lines[0]), vec![(0, sub_uid, 65536)]);
    assert_eq!(lines[1], "0");
}

#[test]
fn invalid_maps_and_modes_fail_before_anything_starts() {
    let env = setup();
    run(&env, &["--uidmap", "0:1"], &["true"]).tool_error(&["--uidmap", "0:1"]);
    run(&env, &["--uidmap", "0:0:70000"], &["true"]).tool_error(&["outside"]);
    run(
        &env,
        &["--uidmap", "0:1:10", "--uidmap", "5:100:10"],
        &["true"],
    )
    .tool_error(&["overlap"]);
    run(&env, &["--userns=private"], &["true"]).tool_error(&["--userns"]);
    run(&env, &["--userns=nomap", "--uidmap", "0:1:1"], &["true"]).tool_error(&["--uidmap"]);
    let ps = env.hutch(&["ps", "-a", "-q"]).success();
    assert_eq!(ps.stdout, "", "no container may be left behind");
}

#[test]
fn device_is_bound_where_asked() {
    let env = setup();
    run(
        &env,
        &["--device", "/dev/zero:/dev/myzero"],
        &["sh", "-c", "head -c 3 /dev/myzero | od -An -tx1"],
    )
    .success()
    .stdout_has("00 00 00");
    run(
        &env,
        &["--device", "/dev/fuse", "--device", "/dev/net/tun:rw"],
        &[
            "sh",
            "-c",
            "test -c /dev/fuse && test -c /dev/net/tun && echo ok",
        ],
    )
    .success()
    .stdout_is("ok\n");
}

#[test]
fn device_the_user_cannot_open_fails_clearly() {
    let env = setup();
    // /dev/kmsg is readable by root only (0600 or 0644 with root writes);
    // ask for write access, which the test user never has.
    run(&env, &["--device", "/dev/kmsg:/dev/kmsg:w"], &["true"])
        .tool_error(&["--device /dev/kmsg", "cannot open"])
        .stderr_has("Hint:");
    run(&env, &["--device", "/etc/hostname"], &["true"]).tool_error(&["not a device"]);
    run(&env, &["--device", "zero"], &["true"]).tool_error(&["invalid --device"]);
}

#[test]
fn group_add_keep_groups_keeps_supplementary_groups_as_overflow() {
    let env = setup();
    let (_, _, gid) = current_user();
    let mine = nix::unistd::getgroups().expect("getgroups");
    if !mine.iter().any(|g| g.as_raw() != gid) {
        panic!("the test user needs a supplementary group besides its own (tests/lib/env.sh ensure_users adds hutch-extra)");
    }
    let r = run(&env, &["--group-add", "keep-groups"], &["id", "-G"]).success();
    let groups: Vec<&str> = r.stdout.split_whitespace().collect();
    if !groups.contains(&"65534") {
        r.fail("the unmapped supplementary group should show as 65534");
    }
    let r = run(&env, &[], &["id", "-G"]).success();
    if r.stdout.split_whitespace().any(|g| g == "65534") {
        r.fail("without keep-groups no unmapped group should stay");
    }
    run(
        &env,
        &["--group-add", "10", "--group-add", "20"],
        &["id", "-G"],
    )
    .success()
    .stdout_has("10 20");
    run(
        &env,
        &["--group-add", "keep-groups", "--group-add", "10"],
        &["true"],
    )
    .tool_error(&["keep-groups"]);
}

#[test]
fn unshare_returns_the_command_exit_code() {
    let env = setup();
    env.hutch(&["unshare", "id", "-u"])
        .success()
        .stdout_is("0\n");
    env.hutch(&["unshare", "sh", "-c", "exit 7"]).code(7);
    env.hutch(&["unshare", "no-such-command-here"])
        .code(127)
        .stderr_has("no-such-command-here");
    let (sub_uid, _) = sub_starts();
    let (_, uid, _) = current_user();
    let r = env
        .hutch(&["unshare", "cat", "/proc/self/uid_map"])
        .success();
    assert_eq!(
        map_rows(&r.stdout),
        vec![(0, u64::from(uid), 1), (1, sub_uid, 65536)]
    );
}

#[test]
fn unshare_rm_removes_a_tree_owned_by_subordinate_ids() {
    let env = setup();
    let (sub_uid, _) = sub_starts();
    let d = env.home.join("d");
    env.hutch(&[
        "unshare",
        "sh",
        "-c",
        "mkdir -p d/x && echo data > d/x/f && chown -R 1000:1000 d",
    ])
    .success();
    let owner = std::fs::metadata(d.join("x")).expect("d/x exists").uid();
    assert_eq!(
        u64::from(owner),
        sub_uid + 999,
        "host owner of container uid 1000"
    );
    let plain = std::process::Command::new("rm")
        .args(["-rf"])
        .arg(&d)
        .output()
        .expect("running rm");
    assert!(
        !plain.status.success(),
        "plain rm -rf must fail on subordinate-owned files"
    );
    assert!(
        d.join("x/f").exists(),
        "plain rm must not have removed d/x/f"
    );
    env.hutch(&["unshare", "rm", "-rf", "d"]).success();
    assert!(!d.exists(), "hutch unshare rm -rf d left {d:?}");
}

#[test]
fn keep_id_never_writes_through_a_passwd_symlink_out_of_the_root() {
    let env = setup();
    let victim = env.home.join("victim");
    std::fs::write(&victim, "victim\n").unwrap();
    let victim_s = victim.to_string_lossy().into_owned();
    let name = "keepid-symlink";
    // The first start adds the entry, then swaps /etc/passwd for an
    // absolute symlink to the victim's host path.
    env.hutch(&[
        "create",
        "--name",
        name,
        "--userns=keep-id",
        "-u",
        "0",
        &image("busybox"),
        "sh",
        "-c",
        &format!("rm /etc/passwd && ln -s {victim_s} /etc/passwd"),
    ])
    .success();
    env.hutch(&["start", "-a", name]).success();
    // The second start resolves the link inside the root.
    env.hutch(&["start", "-a", name]).success();
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "victim\n",
        "the victim outside the root was written"
    );
    env.hutch(&["rm", name]).success();
}
