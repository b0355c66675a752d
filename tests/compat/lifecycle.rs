//! Container and pod lifecycle next to Podman.

use super::{as_is, run_rm, same, setup, sorted_lines, Cleanup};

#[test]
fn compat_pod_create_refuses_a_name_given_twice() {
    let (env, _) = setup();
    let _cleanup = Cleanup(&env);
    let (_, h) = same(&env, &["pod", "create", "--name", "a", "b"], as_is);
    h.code(125);
}

#[test]
fn compat_run_exit_codes_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    for (cmd, code) in [
        (vec!["sh", "-c", "exit 3"], 3),
        (vec!["nosuchcommand"], 127),
        (vec!["/etc/passwd"], 126),
    ] {
        let (_, h) = same(&env, &run_rm(&img, &[], &cmd), as_is);
        h.code(code);
    }
}

#[test]
fn compat_wait_on_a_created_container_returns_at_once() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    same(&env, &["create", "--name", "w", &img, "true"], |_| {
        String::new()
    });
    let (_, h) = same(&env, &["wait", "w"], as_is);
    h.stdout_is("0");
}

#[test]
fn compat_kill_then_rm_never_races() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    for round in 0..3 {
        let name = format!("k{round}");
        same(
            &env,
            &["run", "-d", "--name", &name, &img, "sleep", "100"],
            |_| String::new(),
        );
        same(&env, &["kill", &name], as_is);
        same(&env, &["rm", &name], as_is);
    }
}

#[test]
fn compat_relative_bind_source_and_diff() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    // Both run from the test's HOME, where ./data is.
    std::fs::create_dir_all(env.home.join("data")).unwrap();
    std::fs::write(env.home.join("data/f"), "relative\n").unwrap();
    let (_, h) = same(
        &env,
        &run_rm(&img, &["-v", "./data:/d"], &["cat", "/d/f"]),
        as_is,
    );
    h.stdout_is("relative");
    // A container's diff lists only what it changed.
    same(
        &env,
        &["run", "--name", "d", &img, "sh", "-c", "echo x > /tmp/x"],
        as_is,
    );
    let (_, h) = same(&env, &["diff", "d"], sorted_lines);
    h.stdout_has("A /tmp/x");
}
