//! Hostile build contexts (issue #15): a Containerfile that reaches out
//! of its context (`COPY ../`, a symlink leading out, a directory symlink
//! on the way, a bind mount of `../`), or an archive `ADD` unpacks whose
//! entries climb out, must fail with exit 125 and one `Error:` line, read
//! nothing outside the context and leave the victim beside it as it was.
//! A symlink inside a copied directory is copied as a symlink, never
//! followed. Two builds racing on one store both finish and the store
//! still checks clean.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::common::{image, Env, Run};
use super::issue13_cp::{hostile_tars, victim};
use super::snapshot;

/// A context `name` with a Containerfile of `body` after a busybox FROM.
fn context(env: &Env, name: &str, body: &str) -> PathBuf {
    let dir = env.dir.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Containerfile"),
        format!("FROM {}\n{body}", image("busybox")),
    )
    .unwrap();
    dir
}

fn build(env: &Env, ctx: &Path, args: &[&str]) -> Run {
    let mut all = vec!["build".to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    all.push(ctx.to_string_lossy().into_owned());
    env.hutch(&all)
}

#[test]
fn issue15_sources_outside_the_context_are_refused_and_nothing_is_read() {
    let env = Env::new();
    let victim = victim(&env);
    let before = snapshot(&victim);
    let v = victim.display().to_string();
    let ctx = context(&env, "ctx", "");
    symlink(format!("{v}/f"), ctx.join("abs-link")).unwrap();
    symlink("../victim/f", ctx.join("rel-link")).unwrap();
    symlink("../victim", ctx.join("dir-link")).unwrap();
    for (body, source) in [
        ("COPY ../victim/f /x\n", "../victim/f"),
        ("COPY sub/../../victim/f /x\n", "sub/../../victim/f"),
        ("COPY abs-link /x\n", "abs-link"),
        ("COPY rel-link /x\n", "rel-link"),
        ("COPY dir-link/f /x\n", "dir-link/f"),
        ("COPY dir-link /x/\n", "dir-link"),
        ("ADD ../victim /x/\n", "../victim"),
        ("COPY *-link /x/\n", "-link"),
        (
            "RUN --mount=type=bind,source=../victim,target=/v cat /v/f\n",
            "leads out of the build context",
        ),
    ] {
        std::fs::write(
            ctx.join("Containerfile"),
            format!("FROM {}\n{body}", image("busybox")),
        )
        .unwrap();
        let r = build(&env, &ctx, &[]);
        r.tool_error(&[source, "leads out of the build context"]);
        assert_eq!(snapshot(&victim), before, "{body}: the victim changed");
    }
    // Absolute sources are in the context, as in Docker: /etc/passwd is
    // CONTEXT/etc/passwd.
    std::fs::write(
        ctx.join("Containerfile"),
        format!("FROM {}\nCOPY /etc/passwd /x\n", image("busybox")),
    )
    .unwrap();
    build(&env, &ctx, &[]).tool_error(&[
        "/etc/passwd",
        "no such file or directory in the build context",
    ]);
}

#[test]
fn issue15_symlinks_inside_a_copied_directory_stay_symlinks() {
    let env = Env::new();
    let victim = victim(&env);
    let v = victim.display().to_string();
    let ctx = context(&env, "ctx", "COPY tree /tree/\n");
    std::fs::create_dir_all(ctx.join("tree")).unwrap();
    symlink(format!("{v}/f"), ctx.join("tree/out")).unwrap();
    symlink("../../victim/f", ctx.join("tree/up")).unwrap();
    build(&env, &ctx, &["-t", "links"]).success();
    let script =
        "readlink /tree/out; readlink /tree/up; cat /tree/out /tree/up 2>/dev/null || echo not-followed";
    env.hutch(&["run", "--rm", "links", "sh", "-c", script])
        .success()
        .stdout_is(&format!("{v}/f\n../../victim/f\nnot-followed"));
}

#[test]
fn issue15_hostile_archives_for_add_leave_the_victim_alone() {
    let env = Env::new();
    let victim = victim(&env);
    let before = snapshot(&victim);
    let ctx = context(
        &env,
        "ctx",
        "ADD evil.tar /unpacked/\nRUN ls -R /unpacked\n",
    );
    for (what, tar) in hostile_tars(&victim) {
        std::fs::write(ctx.join("evil.tar"), &tar).unwrap();
        let r = build(&env, &ctx, &["--no-cache"]);
        if r.code != Some(0) && r.code != Some(125) {
            r.fail(&format!("{what}: expected success or 125"));
        }
        if r.code == Some(125) && r.stderr_lines("Error:").len() != 1 {
            r.fail(&format!("{what}: expected one Error: line"));
        }
        assert_eq!(snapshot(&victim), before, "{what}: the victim changed");
    }
    // The store still lists and checks clean.
    env.hutch(&["images"]).success();
    env.hutch(&["system", "check"]).success();
}

#[test]
fn issue15_concurrent_builds_share_the_store_and_the_cache() {
    let env = Env::new();
    env.pull(&image("busybox"));
    let ctx = context(
        &env,
        "ctx",
        "RUN echo one > /one\nCOPY Containerfile /cf\nRUN echo two > /two\n",
    );
    let args = |tag: &str| {
        vec![
            "build".to_string(),
            "-q".into(),
            "-t".into(),
            tag.into(),
            ctx.to_string_lossy().into_owned(),
        ]
    };
    let pending: Vec<_> = ["race:a", "race:b", "race:c"]
        .iter()
        .map(|t| env.spawn(&args(t)))
        .collect();
    for p in pending {
        p.wait().success();
    }
    for t in ["race:a", "race:b", "race:c"] {
        env.hutch(&["run", "--rm", t, "cat", "/one", "/two"])
            .success()
            .stdout_is("one\ntwo");
    }
    // A rebuild is served from the cache the racers filled.
    let r = build(&env, &ctx, &["-t", "race:d"]).success();
    if r.stdout.matches("--> Using cache").count() != 3 {
        r.fail("expected all 3 steps from the cache");
    }
    env.hutch(&["system", "check"]).success();
}
