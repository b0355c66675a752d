//! Container and pod lifecycle next to Podman.

use super::{as_is, run_rm, same, setup, Cleanup};

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
