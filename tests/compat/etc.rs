//! What a process finds in its container next to Podman (issue #20 items
//! 5, 7, 8 and 15): the container's name in /etc/hosts, the container
//! markers and TERM, the mode of `/`, and supplementary groups.

use super::{as_is, run_rm, same, setup, Cleanup};

#[test]
fn compat_etc_hosts_names_the_container() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    // Without a network both put the host name and the name on 127.0.0.1.
    let flags = ["--network", "none", "--name", "web", "--hostname", "box"];
    let (_, h) = same(
        &env,
        &run_rm(&img, &flags, &["grep", "-w", "web", "/etc/hosts"]),
        as_is,
    );
    h.stdout_has("box web");
}

#[test]
fn compat_container_markers_and_term() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let script =
        "test -f /run/.containerenv && echo containerenv; echo \"$container\"; echo \"$TERM\"";
    let (_, h) = same(&env, &run_rm(&img, &[], &["sh", "-c", script]), as_is);
    h.stdout_is("containerenv\npodman\nxterm");
    // The image's or the user's TERM wins.
    let (_, h) = same(
        &env,
        &run_rm(&img, &["-e", "TERM=vt100"], &["sh", "-c", "echo $TERM"]),
        as_is,
    );
    h.stdout_is("vt100");
}

#[test]
fn compat_root_directory_mode() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    same(&env, &run_rm(&img, &[], &["stat", "-c", "%a", "/"]), as_is);
}

#[test]
fn compat_supplementary_groups() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    for flags in [
        vec!["-u", "1000:1000", "--group-add", "65534"],
        vec!["-u", "app"],
        vec!["-u", "1000"],
        vec!["-u", "0"],
        vec![],
    ] {
        same(&env, &run_rm(&img, &flags, &["id"]), as_is);
    }
}
