//! Log drivers and log rotation (issue #8, second increment):
//! `--log-driver none|passthrough`, `--log-opt max-size` rotating
//! `ctr.log` to `ctr.log.1`, and `logs` (plain, `--tail`, `-f`) reading
//! across the rotation.

use super::common::{image, list_dir, Env};
use super::{setup, Cleanup, WAIT_LIMIT};

/// A shell loop printing `line NNN` padded to 100 bytes, `count` times,
/// sleeping `pause` seconds between lines.
fn printer(count: usize, pause: &str) -> String {
    format!(
        "i=0; while [ $i -lt {count} ]; do i=$((i+1)); printf 'line %03d %091d\\n' $i 0; sleep {pause}; done"
    )
}

/// The `line NNN` prefixes of printed lines, which must all be well formed.
fn numbers(out: &str) -> Vec<String> {
    out.lines()
        .map(|l| {
            assert_eq!(l.len(), 100, "unexpected line {l:?}");
            l[..8].to_string()
        })
        .collect()
}

fn expected(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range.map(|i| format!("line {i:03}")).collect()
}

/// The names of the container's log files (`ctr.log*`).
fn log_files(env: &Env, id: &str) -> Vec<String> {
    let mut names: Vec<String> = list_dir(&env.store().join("containers").join(id))
        .into_iter()
        .filter(|n| n.starts_with("ctr.log"))
        .collect();
    names.sort();
    names
}

#[test]
fn max_size_rotates_the_log_and_logs_reads_both_files_in_order() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let script = printer(100, "0");
    let r = env
        .hutch(&[
            "run",
            "-d",
            "--name",
            "rot",
            "--log-opt",
            "max-size=2k",
            &img,
            "sh",
            "-c",
            &script,
        ])
        .success();
    let id = r.stdout.trim().to_string();
    env.hutch_timeout(&["wait", "rot"], WAIT_LIMIT)
        .success()
        .stdout_is("0\n");
    let files = log_files(&env, &id);
    if files != ["ctr.log", "ctr.log.1"] {
        r.fail(&format!(
            "expected exactly ctr.log and ctr.log.1 in the container directory, found {files:?}"
        ));
    }
    let all = env.hutch(&["logs", "rot"]).success();
    let got = numbers(&all.stdout);
    // Two files of at most 2 KiB hold the last dozen or so lines, in order.
    if got.len() < 10 || got.len() > 30 || got != expected(101 - got.len()..=100) {
        all.fail("expected the last lines up to line 100, consecutive and in order");
    }
    let tail = env.hutch(&["logs", "--tail", "5", "rot"]).success();
    if numbers(&tail.stdout) != expected(96..=100) {
        tail.fail("expected lines 96 to 100");
    }
    // More than the current file holds comes from the rotated one too.
    let n = got.len() - 2;
    let tail = env
        .hutch(&["logs", "--tail", &n.to_string(), "rot"])
        .success();
    if numbers(&tail.stdout) != expected(101 - n..=100) {
        tail.fail(&format!("expected the last {n} lines"));
    }
}

#[test]
fn logs_follow_keeps_printing_across_rotations() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    // About 14 records fit in 2 KiB: four or more rotations over ~6 s.
    let script = printer(60, "0.1");
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "rf",
        "--log-opt",
        "max-size=2k",
        &img,
        "sh",
        "-c",
        &script,
    ])
    .success();
    let r = env.spawn(&["logs", "-f", "rf"]).wait().success();
    if numbers(&r.stdout) != expected(1..=60) {
        r.fail("expected logs -f to print lines 1 to 60 in order and end with the container");
    }
}

#[test]
fn log_driver_none_writes_no_log_and_logs_refuses() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let r = env
        .hutch(&[
            "run",
            "-d",
            "--name",
            "none",
            "--log-driver",
            "none",
            &img,
            "echo",
            "hidden",
        ])
        .success();
    let id = r.stdout.trim().to_string();
    env.hutch_timeout(&["wait", "none"], WAIT_LIMIT)
        .success()
        .stdout_is("0\n");
    if !log_files(&env, &id).is_empty() {
        r.fail("expected no ctr.log with --log-driver none");
    }
    env.hutch(&["logs", "none"])
        .code(125)
        .stderr_has("container none has no logs: it uses the none log driver");
    env.hutch(&["inspect", "-f", "{{.HostConfig.LogConfig.Type}}", "none"])
        .success()
        .stdout_is("none\n");
    // #12: the log driver joins the resource fields instead of replacing them.
    env.hutch(&[
        "inspect",
        "-f",
        "{{.HostConfig.Cgroups}} {{.HostConfig.PidsLimit}} {{.HostConfig.LogConfig.Type}}",
        "none",
    ])
    .success()
    .stdout_is("enabled 0 none\n");
}

#[test]
fn passthrough_is_refused_detached_and_works_in_the_foreground() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["run", "-d", "--log-driver=passthrough", &img, "true"])
        .code(125)
        .stderr_has("log driver passthrough needs a foreground run");
    env.hutch(&[
        "run",
        "--rm",
        "--log-driver",
        "passthrough",
        &img,
        "echo",
        "through",
    ])
    .success()
    .stdout_is("through\n");
}

#[test]
fn unknown_log_drivers_and_options_are_refused() {
    let env = setup();
    let img = image("busybox");
    let cases: [(&[&str], &str); 4] = [
        (
            &["--log-driver", "journald"],
            "log driver journald is not supported yet",
        ),
        (&["--log-driver", "syslog"], "unknown log driver \"syslog\""),
        (&["--log-opt", "tag=x"], "unknown --log-opt \"tag\""),
        (
            &["--log-opt", "max-size=lots"],
            "invalid --log-opt max-size \"lots\"",
        ),
    ];
    for (flags, message) in cases {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend([img.as_str(), "true"]);
        env.hutch(&args).code(125).stderr_has(message);
    }
    // Nothing was created for the refused runs.
    let r = env.hutch(&["ps", "-a", "-q"]).success();
    if !r.stdout.trim().is_empty() {
        r.fail("expected no containers after refused runs");
    }
}

/// Issue #13: a foreground `run` logs what it shows, as Podman's does;
/// `-a` leaves a stream out of what is shown, not out of the log; with
/// `--log-driver none` nothing is logged; a `--rm` run leaves nothing.
#[test]
fn issue13_foreground_run_logs_what_it_shows() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let script = "echo out; echo err >&2; printf partial";
    let r = env
        .hutch(&["run", "--name", "fg", &img, "sh", "-c", script])
        .success()
        .stdout_is("out\npartial");
    // Its stderr on ours (after any warning of hutch's own).
    if !r.stderr.lines().any(|l| l == "err") {
        r.fail("expected the container's stderr on hutch's stderr");
    }
    let logs = env
        .hutch(&["logs", "fg"])
        .success()
        .stdout_is("out\npartial");
    if !logs.stderr.lines().any(|l| l == "err") {
        logs.fail("expected the logged stderr line on stderr");
    }
    env.hutch(&["logs", "--tail", "1", "fg"])
        .success()
        .stdout_is("partial");
    let r = env
        .hutch(&[
            "run", "--name", "some", "-a", "stdout", &img, "sh", "-c", script,
        ])
        .success()
        .stdout_is("out\npartial");
    if r.stderr.lines().any(|l| l == "err") {
        r.fail("-a stdout must not show the container's stderr");
    }
    env.hutch(&["logs", "some"])
        .success()
        .stdout_is("out\npartial")
        .stderr_has("err");
    let r = env
        .hutch(&["run", "--name", "tty", "-t", &img, "echo", "on-a-pty"])
        .success();
    r.stdout_has("on-a-pty");
    env.hutch(&["logs", "tty"])
        .success()
        .stdout_has("on-a-pty\r");
    env.hutch(&[
        "run",
        "--name",
        "quiet",
        "--log-driver",
        "none",
        &img,
        "echo",
        "x",
    ])
    .success()
    .stdout_is("x");
    env.hutch(&["logs", "quiet"])
        .code(125)
        .stderr_has("none log driver");
    // A big output arrives whole, in order, on both sides.
    let r = env
        .hutch(&["run", "--name", "big", &img, "sh", "-c", "seq 1 20000"])
        .success();
    let want: String = (1..=20000).map(|i| format!("{i}\n")).collect();
    if r.stdout != want {
        r.fail("expected 1 to 20000 in order on stdout");
    }
    if env.hutch(&["logs", "big"]).success().stdout != want {
        r.fail("expected 1 to 20000 in order in the log");
    }
}
