//! `cp`, `diff` and `commit` (issue #8): on running and stopped containers,
//! including a `cp` onto symlinks that point out of the container, which
//! must land inside it and leave the host's victim untouched.

use std::path::Path;

use super::common::Env;
use super::{run_d, setup, wait_for_log_line, wait_for_status, Cleanup};

/// The command of the container the tests change: it writes a file,
/// deletes one, plants symlinks that point out of the container, and says
/// when it is done.
const WRITER: &str = "echo data > /data.txt; rm /bin/true; ln -s /etc /evil; \
                      ln -s ../../.. /evil2; echo ready; sleep 1000";

/// Starts the writer container `name` and waits until it has changed its files.
fn start_writer(env: &Env, name: &str) {
    run_d(env, name, &["sh", "-c", WRITER]);
    wait_for_log_line(env, name, "ready");
}

/// `diff NAME`'s lines, which must succeed.
#[track_caller]
fn diff_lines(env: &Env, name: &str) -> Vec<String> {
    let r = env.hutch(&["diff", name]).success().stderr_empty();
    let lines: Vec<String> = r.stdout.lines().map(String::from).collect();
    let mut sorted = lines.clone();
    sorted.sort_by(|a, b| a[2..].cmp(&b[2..]));
    if sorted != lines {
        r.fail("expected diff's lines sorted by path");
    }
    lines
}

#[track_caller]
fn assert_has(lines: &[String], want: &[&str]) {
    for w in want {
        assert!(
            lines.iter().any(|l| l == w),
            "expected a line {w:?} in diff output:\n{}",
            lines.join("\n")
        );
    }
}

/// A victim directory beside the test's files, with one file.
fn victim(env: &Env) -> std::path::PathBuf {
    let v = env.dir.join("victim");
    std::fs::create_dir_all(&v).unwrap();
    std::fs::write(v.join("x"), b"precious").unwrap();
    v
}

#[track_caller]
fn assert_victim_untouched(v: &Path) {
    let names = super::common::list_dir(v);
    assert_eq!(names, vec!["x".to_string()], "victim directory changed");
    assert_eq!(std::fs::read(v.join("x")).unwrap(), b"precious");
}

/// Runs the cp, diff and commit checks on container `w` (running or not).
fn check_cp_diff_commit(env: &Env, tag: &str) {
    let host = env.dir.join(format!("host-{tag}"));
    std::fs::create_dir_all(&host).unwrap();
    let host_s = host.to_str().unwrap();

    assert_has(
        &diff_lines(env, "w"),
        &["C /bin", "D /bin/true", "A /data.txt", "A /evil"],
    );

    // Out of the container, into a directory.
    env.hutch(&["cp", "w:/data.txt", &format!("{host_s}/")])
        .success();
    assert_eq!(std::fs::read(host.join("data.txt")).unwrap(), b"data\n");

    // Into the container, then diff sees it.
    std::fs::write(host.join("file"), b"hello\n").unwrap();
    env.hutch(&["cp", &format!("{host_s}/file"), "w:/tmp/"])
        .success();
    assert_has(&diff_lines(env, "w"), &["C /tmp", "A /tmp/file"]);

    // A directory tree, out and back in under a new name.
    std::fs::create_dir_all(host.join("d/sub")).unwrap();
    std::fs::write(host.join("d/sub/f"), b"1").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", host.join("d/l")).unwrap();
    env.hutch(&["cp", &format!("{host_s}/d"), "w:/copied"])
        .success();
    env.hutch(&["cp", "w:/copied", &format!("{host_s}/back")])
        .success();
    assert_eq!(std::fs::read(host.join("back/sub/f")).unwrap(), b"1");
    assert_eq!(
        std::fs::read_link(host.join("back/l")).unwrap(),
        Path::new("/etc/passwd")
    );

    // Symlinks that point out of the container resolve inside it.
    let v = victim(env);
    let name = format!("cp-{tag}");
    std::fs::write(host.join("x"), b"evil").unwrap();
    for (dst, lands) in [
        (format!("w:/evil/{name}"), format!("/etc/{name}")),
        (format!("w:/evil2/tmp/{name}"), format!("/tmp/{name}")),
    ] {
        env.hutch(&["cp", &format!("{host_s}/x"), &dst]).success();
        let back = host.join("landed");
        env.hutch(&["cp", &format!("w:{lands}"), back.to_str().unwrap()])
            .success();
        assert_eq!(std::fs::read(&back).unwrap(), b"evil", "{dst}");
        std::fs::remove_file(&back).unwrap();
    }
    // The victim's path does not exist in the container: refused there.
    env.hutch(&[
        "cp",
        &format!("{host_s}/x"),
        &format!("w:/evil2{}/x", v.display()),
    ])
    .code(125);
    assert!(!Path::new("/etc").join(&name).exists(), "host /etc written");
    assert_victim_untouched(&v);

    // Commit: the file is in the image, the deleted one absent, CMD set.
    let snap = format!("snap-{tag}");
    let r = env.hutch(&["commit", "w", &snap]).success();
    let id = r.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "commit prints the image id:\n{r}");
    env.hutch(&["run", "--rm", &snap, "cat", "/data.txt"])
        .success()
        .stdout_is("data");
    env.hutch(&[
        "run",
        "--rm",
        &format!("localhost/{snap}:latest"),
        "ls",
        "/bin/true",
    ])
    .code(1);
    env.hutch(&[
        "commit",
        "-c",
        r#"CMD ["cat","/data.txt"]"#,
        "-c",
        "ENV MARK=1",
        "-m",
        "snapshot",
        "-a",
        "tester",
        "w",
        &format!("{snap}-cmd"),
    ])
    .success();
    env.hutch(&["run", "--rm", &format!("{snap}-cmd")])
        .success()
        .stdout_is("data");
    env.hutch(&[
        "run",
        "--rm",
        &format!("{snap}-cmd"),
        "sh",
        "-c",
        "echo $MARK",
    ])
    .success()
    .stdout_is("1");
}

#[test]
fn cp_diff_and_commit_work_on_a_running_container() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_writer(&env, "w");
    check_cp_diff_commit(&env, "running");
}

#[test]
fn cp_diff_and_commit_work_on_a_stopped_container() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    start_writer(&env, "w");
    env.hutch(&["stop", "-t", "1", "w"]).success();
    wait_for_status(&env, "w", "exited");
    check_cp_diff_commit(&env, "stopped");
}

#[test]
fn cp_and_commit_refuse_bad_arguments() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "w", &["sleep", "1000"]);
    let host = env.dir.join("h");
    std::fs::create_dir_all(host.join("d")).unwrap();
    let host_s = host.to_str().unwrap();
    env.hutch(&["cp", &format!("{host_s}/a"), &format!("{host_s}/b")])
        .tool_error(&["CONTAINER:PATH"]);
    env.hutch(&["cp", "nosuch:/x", host_s])
        .tool_error(&["nosuch"]);
    env.hutch(&["cp", "w:/nonexistent", host_s])
        .tool_error(&["/nonexistent"]);
    env.hutch(&["cp", &format!("{host_s}/d"), "w:/bin/sh"])
        .tool_error(&["onto file"]);
    env.hutch(&["commit", "-c", "RUN make", "w", "x"])
        .tool_error(&["RUN"]);
    env.hutch(&["commit", "w", "Bad"]).tool_error(&["Bad"]);
}
