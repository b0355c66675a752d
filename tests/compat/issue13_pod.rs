//! Issue #13: the `pod` commands next to Podman's: the same exit codes and
//! output for argument errors, missing pods, the pod's status through its
//! life, `pod ps` flags and filters, and `pod logs`. Pod and container ids
//! differ between the tools and are replaced by `ID`; Podman counts its
//! infra container among a pod's containers and hutch has none (see
//! docs/compat.md), so counts are not compared.

use std::time::Duration;

use super::{as_is, podman, same, setup, sorted_lines, Cleanup};
use crate::common::{wait_for, Env};

/// Removes both tools' pods when dropped (declare it after `Cleanup`).
struct PodCleanup<'a>(&'a Env);

impl Drop for PodCleanup<'_> {
    fn drop(&mut self) {
        let _ = podman(self.0, &["pod", "rm", "-a", "-f", "-t", "0"]);
        let _ = self.0.hutch(&["pod", "rm", "-a", "-f", "-t", "0"]);
    }
}

/// The output with every 64- and 12-hex-digit id replaced by `ID`.
fn ids(s: &str) -> String {
    let words: Vec<String> = s
        .trim_end()
        .split('\n')
        .map(|line| {
            line.split(' ')
                .map(|w| {
                    let is_id = (w.len() == 64 || w.len() == 12)
                        && w.chars().all(|c| c.is_ascii_hexdigit());
                    if is_id {
                        "ID".to_string()
                    } else {
                        w.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    words.join("\n")
}

#[test]
fn issue13_pod_argument_errors_exit_as_podmans() {
    let (env, _) = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    same(&env, &["pod", "create", "--name", "p"], |_| String::new());
    for (args, code) in [
        (&["pod", "start"][..], 125),
        (&["pod", "start", "-a", "p"], 125),
        (&["pod", "start", "-a", "-l"], 125),
        (&["pod", "start", "-l", "p"], 125),
        (&["pod", "start", "--pod-id-file", "/nonexistent", "p"], 125),
        (&["pod", "start", "--pod-id-file", "/nonexistent"], 125),
        (&["pod", "stop", "nosuch", "p"], 125),
        (&["pod", "stop", "-i", "nosuch"], 0),
        (&["pod", "kill"], 125),
        (&["pod", "kill", "-s", "BOGUS", "p"], 125),
        (&["pod", "kill", "nosuch"], 125),
        (&["pod", "pause"], 125),
        (&["pod", "restart", "nosuch"], 125),
        (&["pod", "rm", "nosuch"], 1),
        (&["pod", "rm", "nosuch", "p"], 1),
        (&["pod", "rm", "-i", "nosuch"], 0),
        (&["pod", "rm", "-f", "nosuch"], 0),
        (&["pod", "rm", "-t", "3", "p"], 125),
        (&["pod", "exists", "nosuch"], 1),
        (&["pod", "exists", "p"], 0),
        (&["pod", "inspect"], 125),
        (&["pod", "inspect", "nosuch"], 125),
        (&["pod", "logs"], 125),
        (&["pod", "logs", "p", "p"], 125),
        (&["pod", "logs", "nosuch"], 125),
        (&["pod", "logs", "-c", "nosuch", "p"], 125),
        (&["pod", "top"], 125),
        (&["pod", "top", "nosuch"], 125),
        (&["pod", "prune", "x"], 125),
        (&["pod", "ps", "-q", "--format", "{{.Name}}"], 125),
        (&["pod", "ps", "--filter", "bogus=1"], 125),
        (&["pod", "ps", "--filter", "status=bogus"], 125),
        (&["pod", "ps", "--sort", "bogus"], 125),
        (&["pod", "create", "--exit-policy", "bogus"], 125),
        (&["pod", "create", "--share", "bogus"], 125),
        (&["pod", "create", "--replace"], 125),
        (&["pod", "create", "--label-file", "/nonexistent"], 125),
        (&["pod", "create", "--infra=false", "-p", "8080:80"], 125),
        (&["pod", "create", "--infra=false", "--no-hosts"], 125),
        (&["pod", "create", "p"], 125),
    ] {
        let (_, h) = same(&env, args, as_is);
        h.code(code);
    }
    // The pod that was asked for with a missing one was left alone.
    let (_, h) = same(
        &env,
        &["pod", "ps", "--format", "{{.Name}} {{.Status}}"],
        as_is,
    );
    h.stdout_is("p Created");
}

#[test]
fn issue13_pod_messages_are_podmans() {
    let (env, _) = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    for (args, message) in [
        (
            &["pod", "start"][..],
            "you must provide at least one name or id",
        ),
        (
            &["pod", "start", "-a", "x"],
            "no arguments are needed with --all",
        ),
        (
            &["pod", "kill", "nosuch"],
            "no pod with name or ID nosuch found: no such pod",
        ),
        (
            &["pod", "rm", "-t", "1", "x"],
            "--force option must be specified to use the --time option",
        ),
        (
            &["pod", "create", "--exit-policy", "bogus"],
            "invalid pod exit policy: \"bogus\"",
        ),
        (
            &["pod", "create", "--share", "bogus"],
            "invalid kernel namespace to share: bogus",
        ),
        (
            &["pod", "create", "--replace"],
            "cannot replace pod without --name being set",
        ),
        (
            &["pod", "logs"],
            "specify at least one pod name or ID to log",
        ),
        (
            &["pod", "top"],
            "you must provide the name or id of a running pod",
        ),
    ] {
        let p = podman(&env, args);
        if !p.stderr.contains(message) {
            p.fail(&format!(
                "podman should say {message:?}: is the oracle another version?"
            ));
        }
        env.hutch(args).stderr_has(message);
    }
}

/// `same`, and the output (after `normalize`) must be `want`.
#[track_caller]
fn same_is(env: &Env, args: &[&str], normalize: fn(&str) -> String, want: &str) {
    let (_, h) = same(env, args, normalize);
    if normalize(&h.stdout) != want {
        h.fail(&format!("both should print {want:?}"));
    }
}

#[test]
fn issue13_pod_status_follows_podmans_through_a_pods_life() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    let status = ["pod", "ps", "--format", "{{.Name}} {{.Status}}"];
    same_is(&env, &["pod", "create", "--name", "life"], ids, "ID");
    same_is(&env, &status, as_is, "life Created");
    same_is(&env, &["pod", "start", "life"], ids, "ID");
    same_is(&env, &status, as_is, "life Running");
    // A member ignores SIGTERM (pid 1 without a handler); the infra ends.
    same(
        &env,
        &[
            "run", "-d", "--pod", "life", "--name", "m", &img, "sleep", "600",
        ],
        |_| String::new(),
    );
    same_is(&env, &status, as_is, "life Running");
    same_is(&env, &["pod", "kill", "-s", "TERM", "life"], ids, "ID");
    same_is(&env, &status, as_is, "life Degraded");
    same_is(&env, &["pod", "stop", "-t", "0", "life"], ids, "ID");
    same_is(&env, &status, as_is, "life Exited");
    same_is(&env, &["pod", "restart", "life"], ids, "ID");
    same_is(&env, &status, as_is, "life Running");
    same_is(&env, &["pod", "kill", "life"], ids, "ID");
    // Podman records the exits a moment after its kill returns.
    wait_for(
        "podman's pod to show Exited",
        Duration::from_secs(20),
        || {
            let p = podman(&env, &status);
            match p.stdout.trim() {
                "life Exited" => Ok(()),
                other => Err(format!("podman shows {other:?}")),
            }
        },
    );
    env.hutch(&status).success().stdout_is("life Exited");
    same_is(
        &env,
        &[
            "pod",
            "inspect",
            "life",
            "--format",
            "{{.Name}} {{.State}} {{.ExitPolicy}}",
        ],
        as_is,
        "life Exited continue",
    );
    // An exited pod is pruned with its container.
    same_is(&env, &["pod", "prune", "-f"], ids, "ID");
    same_is(&env, &["ps", "-a", "-q"], as_is, "");
}

#[test]
fn issue13_pod_ps_flags_and_filters_match_podman() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    same(
        &env,
        &["pod", "create", "--label", "tier=web", "alpha"],
        ids,
    );
    same(&env, &["pod", "create", "--label", "tier=db", "beta"], ids);
    same(&env, &["pod", "start", "beta"], ids);
    same(
        &env,
        &["create", "--pod", "alpha", "--name", "a1", &img, "true"],
        |_| String::new(),
    );
    let fmt = "{{.Name}} {{.Status}} {{.Labels}}";
    for args in [
        &["pod", "ps", "--format", fmt][..],
        &["pod", "ps", "--sort", "name", "--format", fmt],
        &["pod", "ps", "--filter", "name=alp", "--format", fmt],
        &["pod", "ps", "--filter", "label=tier=db", "--format", fmt],
        &["pod", "ps", "--filter", "label=tier", "--format", fmt],
        &["pod", "ps", "--filter", "status=running", "--format", fmt],
        &[
            "pod",
            "ps",
            "--filter",
            "status=created",
            "--filter",
            "name=beta",
            "--format",
            fmt,
        ],
        &[
            "pod",
            "ps",
            "--filter",
            "ctr-status=created",
            "--format",
            fmt,
        ],
        &["pod", "ps", "--latest", "--format", fmt],
        &["pod", "ps", "--noheading", "--format", "table {{.Name}}"],
    ] {
        let (_, h) = same(&env, args, sorted_lines_if_unsorted(args));
        h.success();
    }
    // The ids -q prints are full and newest first.
    let (p, h) = same(&env, &["pod", "ps", "-q"], ids);
    if p.stdout.lines().any(|l| l.len() != 64) || h.stdout.lines().count() != 2 {
        h.fail("pod ps -q should print two full ids");
    }
}

/// `sorted_lines` for the listings whose order is each tool's own (both
/// sort by creation time, but the two pods may share a second).
fn sorted_lines_if_unsorted(args: &[&str]) -> fn(&str) -> String {
    if args.contains(&"--sort") {
        as_is
    } else {
        sorted_lines
    }
}

#[test]
fn issue13_pod_logs_prefix_lines_as_podmans() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let _pods = PodCleanup(&env);
    same(&env, &["pod", "create", "--name", "talk"], ids);
    for (name, word) in [("one", "hello"), ("two", "world")] {
        same(
            &env,
            &[
                "run", "-d", "--pod", "talk", "--name", name, &img, "echo", word,
            ],
            |_| String::new(),
        );
        same_is(&env, &["wait", name], as_is, "0");
    }
    same_is(
        &env,
        &["pod", "logs", "-n", "talk"],
        sorted_lines,
        "one hello\ntwo world",
    );
    same_is(&env, &["pod", "logs", "-c", "two", "talk"], as_is, "world");
    // Without -n, each line starts with the container's short id.
    same_is(
        &env,
        &["pod", "logs", "--tail", "1", "talk"],
        |s| sorted_lines(&ids(s)),
        "ID hello\nID world",
    );
}
