//! Fifty hutch invocations at once on one store: runs, creates, pulls,
//! volumes, tags, removals of one image, commits of one container and
//! listings. Each must do its job, or (for the removals racing each other)
//! fail with one clear error line; never a panic or a raw SQLite error.

use super::common::{image, Env, Run};
use super::{assert_clean, setup, turn};

/// What an operation must end in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    Success,
    /// Exactly one of the group succeeds; the others fail cleanly.
    OneOf,
}

fn ops(env: &Env) -> Vec<(Vec<String>, Expect)> {
    let _ = env;
    let busybox = image("busybox");
    let layers = image("layers");
    let config = image("config");
    let s = |a: &[&str]| a.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut out = Vec::new();
    for i in 0..10 {
        let echo = format!("echo run{i}");
        out.push((
            s(&["run", "--rm", &busybox, "sh", "-c", &echo]),
            Expect::Success,
        ));
    }
    for i in 0..6 {
        let name = format!("c{i}");
        out.push((
            s(&["create", "--name", &name, &busybox, "true"]),
            Expect::Success,
        ));
        let vol = format!("v{i}");
        out.push((s(&["volume", "create", &vol]), Expect::Success));
        out.push((s(&["pull", &layers]), Expect::Success));
    }
    for _ in 0..3 {
        for l in [&["images"][..], &["ps", "-a"][..], &["volume", "ls"][..]] {
            out.push((s(l), Expect::Success));
        }
    }
    for i in 0..5 {
        let tag = format!("localhost/t:{i}");
        out.push((s(&["tag", &busybox, &tag]), Expect::Success));
    }
    for _ in 0..4 {
        out.push((s(&["rmi", &config]), Expect::OneOf));
    }
    for i in 0..4 {
        let tag = format!("localhost/snap:{i}");
        out.push((s(&["commit", "base", &tag]), Expect::Success));
    }
    out
}

/// A failure must be one `Error:` line (and maybe a `Hint:`), exit 125 or
/// Podman's 1 for a missing image.
fn is_clean_failure(r: &Run) -> bool {
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let shaped = lines.first().is_some_and(|l| l.starts_with("Error: "))
        && lines.iter().skip(1).all(|l| l.starts_with("Hint: "));
    let raw = ["panicked", "database is locked", "SQLITE", "(os error"];
    shaped && !raw.iter().any(|w| r.stderr.contains(w)) && matches!(r.code, Some(1) | Some(125))
}

#[test]
fn soak_fifty_concurrent_operations() {
    let _turn = turn();
    let env = setup();
    env.pull(&image("config")).success();
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "base",
        &image("busybox"),
        "sh",
        "-c",
        "echo base > /mark; sleep 120",
    ])
    .success();
    let ops = ops(&env);
    assert_eq!(ops.len(), 50, "the mix should hold 50 operations");
    let pending: Vec<_> = ops.iter().map(|(args, _)| env.spawn(args)).collect();
    let runs: Vec<Run> = pending.into_iter().map(|p| p.wait()).collect();
    let (mut ok, mut refused, mut one_of) = (0, 0, 0);
    for ((args, expect), r) in ops.iter().zip(&runs) {
        match (expect, r.code) {
            (_, Some(0)) => {
                ok += 1;
                if *expect == Expect::OneOf {
                    one_of += 1;
                }
            }
            (Expect::OneOf, _) if is_clean_failure(r) => refused += 1,
            _ => r.fail(&format!("{args:?} should have succeeded")),
        }
    }
    assert_eq!(one_of, 1, "exactly one of the racing rmi should succeed");
    // Each did its job.
    for (i, r) in runs.iter().take(10).enumerate() {
        assert_eq!(r.stdout.trim(), format!("run{i}"), "run {i}: {r}");
    }
    let names = env
        .hutch(&["ps", "-a", "--format", "{{.Names}}"])
        .success()
        .stdout;
    for i in 0..6 {
        assert!(
            names.lines().any(|n| n == format!("c{i}")),
            "c{i} missing: {names}"
        );
    }
    let vols = env.hutch(&["volume", "ls", "-q"]).success().stdout;
    for i in 0..6 {
        assert!(
            vols.lines().any(|n| n == format!("v{i}")),
            "v{i} missing: {vols}"
        );
    }
    for i in 0..4 {
        let tag = format!("localhost/snap:{i}");
        env.hutch(&["run", "--rm", &tag, "cat", "/mark"])
            .success()
            .stdout_is("base\n");
    }
    for i in 0..5 {
        env.hutch(&["image", "inspect", &format!("localhost/t:{i}")])
            .success();
    }
    env.hutch(&["run", "--rm", &image("layers"), "cat", "/data/layer3"])
        .success()
        .stdout_is("three\n");
    assert_clean(&env, "after 50 concurrent operations");
    eprintln!("soak concurrent: 50 operations, {ok} succeeded, {refused} refused cleanly (racing rmi of one image)");
}
