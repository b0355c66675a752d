//! Issue #13 (Podman's CLI contract): `container runlabel`, which runs the
//! command an image's label describes, as Podman 4.3 does.

use crate::common::{hutch_bin, image, Env};

/// Builds `localhost/rl:1` from the busybox fixture with the labels of
/// the tests.
fn labelled_image(env: &Env) {
    let ctx = env.dir.join("rl");
    std::fs::create_dir_all(&ctx).unwrap();
    let file = format!(
        "FROM {}\n\
         LABEL INSTALL=\"podman run --rm --name NAME -e IMAGE=IMAGE -e P=\\${{PWD}} \\${{OPT1}} IMAGE env\"\n\
         LABEL QUOTED=\"sh -c 'exit 3'\"\n\
         LABEL DETACH=\"hutch run -d --name NAME IMAGE sleep 1000\"\n\
         LABEL BAD=\"/nonexist/prog a\"\n",
        image("busybox")
    );
    std::fs::write(ctx.join("Containerfile"), file).unwrap();
    env.hutch(&["build", "-q", "-t", "localhost/rl:1", ctx.to_str().unwrap()])
        .success();
}

#[test]
fn issue13_runlabel_displays_runs_and_replaces() {
    let mut env = Env::new();
    labelled_image(&env);
    let home = env.home.to_string_lossy().into_owned();
    // --display: the placeholders replaced, $PWD expanded, an empty $OPT1
    // dropped, the extra words appended; the first word as hutch was called.
    let shown = env
        .hutch(&[
            "container",
            "runlabel",
            "--display",
            "INSTALL",
            "rl:1",
            "extra",
        ])
        .success();
    let want = format!(
        "command: {} run --rm --name rl -e IMAGE=localhost/rl:1 -e P={home} localhost/rl:1 env extra",
        hutch_bin().display()
    );
    assert_eq!(shown.stdout.trim(), want);
    // Run: `podman` is this hutch, the environment and --name reach it, and
    // a $OPT1 that is one word becomes several.
    env.set_env("OPT1", "-e X=1 --label a=b");
    let r = env
        .hutch(&["container", "runlabel", "-n", "mine", "INSTALL", "rl:1"])
        .success();
    for line in [
        "IMAGE=localhost/rl:1".to_string(),
        format!("P={home}"),
        "X=1".into(),
    ] {
        assert!(
            r.stdout.lines().any(|l| l == line),
            "{line} in {}",
            r.stdout
        );
    }
    // A quoted word stays one word (Podman splits it again: see compat.md).
    env.hutch(&["container", "runlabel", "QUOTED", "rl:1"])
        .tool_error(&["`sh -c exit 3` failed: exit status 3"]);
    // --replace removes the container the command's --name names.
    env.hutch(&["container", "runlabel", "DETACH", "rl:1"])
        .success();
    // The nested hutch says the name is taken; runlabel says it failed.
    env.hutch(&["container", "runlabel", "DETACH", "rl:1"])
        .code(125)
        .stderr_has("is already used by container")
        .stderr_has("failed: exit status 125");
    let before = env
        .hutch(&["inspect", "--format", "{{.Id}}", "rl"])
        .success();
    env.hutch(&["container", "runlabel", "--replace", "DETACH", "rl:1"])
        .success();
    let after = env
        .hutch(&["inspect", "--format", "{{.Id}}", "rl"])
        .success();
    assert_ne!(
        before.stdout, after.stdout,
        "--replace made a new container"
    );
    env.hutch(&["rm", "-f", "-t", "0", "rl"]).success();
}

#[test]
fn issue13_runlabel_errors_as_podman() {
    let env = Env::new();
    labelled_image(&env);
    env.hutch(&["container", "runlabel", "NOPE", "rl:1"])
        .tool_error(&["cannot find the value of label: NOPE in image: rl:1"]);
    env.hutch(&["container", "runlabel", "BAD", "rl:1"])
        .tool_error(&["stat /nonexist/prog: no such file or directory"]);
    // A missing image is pulled first; one that is nowhere is the pull's
    // error.
    env.hutch(&[
        "container",
        "runlabel",
        "--display",
        "INSTALL",
        "localhost/nosuch:1",
    ])
    .tool_error(&["nosuch"]);
    let r = env
        .hutch(&[
            "container",
            "runlabel",
            "-q",
            "--display",
            "INSTALL",
            &image("busybox"),
        ])
        .tool_error(&["cannot find the value of label: INSTALL"]);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}
