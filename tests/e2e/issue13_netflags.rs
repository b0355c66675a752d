//! Issue #13 (Podman's CLI contract): the global `--network-cmd-path`
//! (the slirp4netns binary) and `--network-config-dir` (where network
//! definitions are kept).

use std::os::unix::fs::PermissionsExt;

use crate::common::{image, require_tool, Env};

#[test]
fn issue13_netflags_network_cmd_path_runs_that_slirp4netns() {
    let env = Env::new();
    let real = require_tool("slirp4netns");
    let log = env.dir.join("called");
    let wrapper = env.dir.join("my-slirp");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\nexec {} \"$@\"\n",
            log.display(),
            real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let img = image("busybox");
    let w = wrapper.to_str().unwrap();
    env.hutch(&[
        "--network-cmd-path",
        w,
        "run",
        "--rm",
        "--network",
        "slirp4netns",
        &img,
        "ip",
        "-4",
        "addr",
        "show",
        "tap0",
    ])
    .success()
    .stdout_has("inet 10.0.2.100/24");
    let called = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        called.contains("--configure"),
        "the wrapper ran: {called:?}"
    );
    // Recorded with the container: a later start runs it again without
    // the flag.
    env.hutch(&[
        "--network-cmd-path",
        w,
        "create",
        "--name",
        "again",
        "--network",
        "slirp4netns",
        &img,
        "true",
    ])
    .success();
    std::fs::remove_file(&log).unwrap();
    env.hutch(&["start", "-a", "again"]).success();
    assert!(log.exists(), "the recorded slirp4netns ran at start");
    env.hutch(&["rm", "again"]).success();
    let missing = env.dir.join("nope");
    env.hutch(&[
        "--network-cmd-path",
        missing.to_str().unwrap(),
        "run",
        "--rm",
        "--network",
        "slirp4netns",
        &img,
        "true",
    ])
    .tool_error(&["--network-cmd-path", "no such file"]);
}

#[test]
fn issue13_netflags_network_config_dir_is_recorded_with_the_store() {
    let env = Env::new();
    let dir = env.dir.join("netdefs");
    let d = dir.to_str().unwrap();
    env.hutch(&["--network-config-dir", d, "network", "create", "kept"])
        .success()
        .stdout_is("kept");
    assert!(dir.join("kept.json").is_file(), "the definition is in {d}");
    // Later commands find it without the flag.
    env.hutch(&["network", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout_is("podman\nkept");
    // Another directory while networks are defined is refused; a relative
    // one always.
    let other = env.dir.join("other");
    env.hutch(&[
        "--network-config-dir",
        other.to_str().unwrap(),
        "network",
        "ls",
    ])
    .tool_error(&["database configuration mismatch", d]);
    env.hutch(&["--network-config-dir", "rel", "network", "ls"])
        .tool_error(&["must be absolute"]);
    env.hutch(&["network", "rm", "kept"]).success();
    env.hutch(&[
        "--network-config-dir",
        other.to_str().unwrap(),
        "network",
        "ls",
        "-q",
    ])
    .success()
    .stdout_is("podman");
}
