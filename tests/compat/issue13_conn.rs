//! Issue #13: `system connection` keeps its destinations where Podman does,
//! so each tool sees what the other wrote, and both answer alike.

use crate::common::Env;
use crate::{podman, same};

fn keep(s: &str) -> String {
    s.to_string()
}

#[test]
fn issue13_conn_podman_reads_what_hutch_writes_and_back() {
    let env = Env::new();
    let key = env.dir.join("id_test");
    std::fs::write(&key, "key").unwrap();
    let key = key.to_str().unwrap();
    env.hutch(&[
        "system",
        "connection",
        "add",
        "t1",
        "unix:///tmp/hutch-x.sock",
    ])
    .success();
    env.hutch(&[
        "system",
        "connection",
        "add",
        "--default",
        "t2",
        "tcp://127.0.0.1:9999",
    ])
    .success();
    env.hutch(&[
        "system",
        "connection",
        "add",
        "--socket-path",
        "/run/p.sock",
        "--identity",
        key,
        "t3",
        "ssh://me@host:2222",
    ])
    .success();
    // Podman lists hutch's destinations exactly as hutch does.
    same(&env, &["system", "connection", "list"], keep);
    same(
        &env,
        &["system", "connection", "list", "--format", "json"],
        keep,
    );
    same(
        &env,
        &[
            "system",
            "connection",
            "ls",
            "--format",
            "{{.Name}}={{.URI}} {{.Default}}",
        ],
        keep,
    );
    // And hutch lists what Podman adds.
    podman(
        &env,
        &["system", "connection", "add", "t4", "unix:///tmp/p4.sock"],
    )
    .success();
    env.hutch(&[
        "system",
        "connection",
        "list",
        "--format",
        "{{.Name}} {{.URI}}",
    ])
    .stdout_has("t4 unix:///tmp/p4.sock");
    // Edits by hutch, seen by Podman; errors alike.
    env.hutch(&["system", "connection", "rename", "t2", "t9"])
        .success();
    env.hutch(&["system", "connection", "default", "t1"])
        .success();
    env.hutch(&["system", "connection", "rm", "t3"]).success();
    same(&env, &["system", "connection", "list"], keep);
    same(&env, &["system", "connection", "rm", "nosuch"], keep);
    let (_, h) = same(&env, &["system", "connection", "default", "nosuch"], keep);
    h.error_exit(125, &["\"nosuch\" destination is not defined"]);
    same(
        &env,
        &["system", "connection", "rename", "nosuch", "x"],
        keep,
    );
    env.hutch(&["system", "connection", "remove", "--all"])
        .success();
    same(&env, &["system", "connection", "list"], keep);
}

#[test]
fn issue13_conn_refuses_what_it_cannot_record() {
    let env = Env::new();
    for (dest, part) in [
        ("unix://rel/x.sock", "must be absolute"),
        ("http://x", "unknown scheme"),
        ("tcp://hostonly", "host:port"),
        ("me@host", "--socket-path"),
    ] {
        env.hutch(&["system", "connection", "add", "x", dest])
            .error_exit(125, &[part]);
    }
    env.hutch(&["system", "connection", "list", "-q"])
        .success()
        .stdout_is("");
}
