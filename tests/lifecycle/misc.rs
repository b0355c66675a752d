//! End-to-end tests of `top`, `rename`, `container prune`, `ps --filter`
//! and `--size`, and the `container` command group (issue #8).

use std::collections::BTreeSet;

use super::common::{image, wait_for, Env, Run};
use super::{run_d, setup, wait_for_status, Cleanup, SETTLE};

/// The default columns of `top`, as Podman prints them.
const TOP_COLUMNS: [&str; 8] = [
    "USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND",
];

/// Runs `cmd` in the foreground in a busybox container named `name`,
/// which must exit with `code`.
#[track_caller]
fn run_fg(env: &Env, name: &str, cmd: &[&str], code: i32) {
    let img = image("busybox");
    let mut args = vec!["run", "--name", name, img.as_str()];
    args.extend_from_slice(cmd);
    env.hutch(&args).code(code);
}

/// The set of names `args` (a `ps` command with `--format {{.Names}}`)
/// prints, which must succeed.
#[track_caller]
fn names(env: &Env, args: &[&str]) -> BTreeSet<String> {
    env.hutch(args)
        .success()
        .stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .collect()
}

fn set(v: &[&str]) -> BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The rows of a `top` table, split on whitespace, the header first. Only
/// the last column (COMMAND) may hold spaces, so each row is cut into at
/// most `columns` cells.
fn top_rows(r: &Run, columns: usize) -> Vec<Vec<String>> {
    r.stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cells = Vec::new();
            let mut rest = l.trim_start();
            while cells.len() + 1 < columns && !rest.is_empty() {
                let end = rest.find(' ').unwrap_or(rest.len());
                cells.push(rest[..end].to_string());
                rest = rest[end..].trim_start();
            }
            cells.push(rest.trim_end().to_string());
            cells
        })
        .collect()
}

#[test]
fn top_lists_the_containers_processes_as_it_sees_them() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_d(&env, "web", &["sleep", "1000"]);
    let r = env.hutch(&["top", "web"]).success();
    let rows = top_rows(&r, TOP_COLUMNS.len());
    if rows.first().map(|h| h.join(" ")) != Some(TOP_COLUMNS.join(" ")) {
        r.fail(&format!("expected the header {TOP_COLUMNS:?}"));
    }
    let Some(row) = rows.iter().skip(1).find(|row| row[1] == "1") else {
        r.fail("expected a row with PID 1");
    };
    if row[0] != "root" || row[2] != "0" || row[5] != "?" || row[7] != "sleep 1000" {
        r.fail("expected PID 1 to be root's `sleep 1000`, parent 0, no tty");
    }
    if row[3].parse::<f64>().is_err() || !row[4].ends_with('s') || !row[6].ends_with('s') {
        r.fail("expected %CPU as a number, ELAPSED and TIME as durations");
    }

    // Descriptors choose the columns; the container group runs the same.
    for args in [
        &["top", "web", "pid", "args"][..],
        &["container", "top", "web", "pid,args"][..],
    ] {
        let r = env.hutch(args).success();
        let rows = top_rows(&r, 2);
        if rows.len() != 2 || rows[0] != ["PID", "COMMAND"] || rows[1] != ["1", "sleep 1000"] {
            r.fail("expected exactly the columns PID and COMMAND and one row `1 sleep 1000`");
        }
    }
    env.hutch(&["top", "web", "rss"])
        .tool_error(&["unknown format descriptor \"rss\""]);
    env.hutch(&["top", "nope"])
        .tool_error(&["no container with name or ID \"nope\" found: no such container"]);

    env.hutch(&["stop", "-t", "0", "web"]).success();
    env.hutch(&["top", "web"])
        .tool_error(&["container web is not running"]);
}

#[test]
fn rename_moves_the_name_of_a_running_container_and_refuses_a_taken_one() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let id = run_d(&env, "web", &["sleep", "1000"]);
    run_d(&env, "db", &["sleep", "1000"]);
    env.hutch(&["rename", "web", "web2"])
        .success()
        .stdout_is("");
    let fmt = ["ps", "--format", "{{.Names}}"];
    assert_eq!(names(&env, &fmt), set(&["web2", "db"]));
    wait_for_status(&env, "web2", "running");
    env.hutch(&["inspect", "-f", "{{.Id}}", "web2"])
        .success()
        .stdout_is(&id);

    env.hutch(&["rename", "web2", "db"])
        .tool_error(&["container name \"db\" is already used"]);
    env.hutch(&["rename", "web2", "bad/name"])
        .tool_error(&["invalid container name \"bad/name\""]);
    env.hutch(&["rename", "web", "x"])
        .tool_error(&["no container with name or ID \"web\" found: no such container"]);
    assert_eq!(names(&env, &fmt), set(&["web2", "db"]));

    // By id prefix, through the group; the old name is free again.
    env.hutch(&["container", "rename", &id[..12], "web"])
        .success();
    assert_eq!(names(&env, &fmt), set(&["web", "db"]));
}

#[test]
fn container_prune_removes_only_containers_that_are_not_running() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let keep = run_d(&env, "keep", &["sleep", "1000"]);
    run_fg(&env, "gone1", &["true"], 0);
    run_fg(&env, "gone2", &["sh", "-c", "exit 3"], 3);
    let all = ["ps", "-a", "--format", "{{.Names}}"];
    let ids = ["ps", "-a", "-q", "--no-trunc", "--filter", "status=exited"];
    let exited = names(&env, &ids);
    assert_eq!(exited.len(), 2);

    // Without -f and with stdin at its end the answer is no.
    env.hutch(&["container", "prune"])
        .success()
        .stdout_has("Are you sure you want to continue? [y/N]");
    assert_eq!(names(&env, &all), set(&["keep", "gone1", "gone2"]));

    let r = env.hutch(&["container", "prune", "-f"]).success();
    let removed: BTreeSet<String> = r.stdout.lines().map(str::to_string).collect();
    if removed != exited {
        r.fail(&format!("expected the removed ids {exited:?}"));
    }
    assert_eq!(names(&env, &all), set(&["keep"]));
    let running = env.hutch(&["ps", "-q", "--no-trunc"]).success();
    if running.stdout.trim() != keep {
        running.fail("expected keep to be still running");
    }
    for id in &exited {
        if env.store().join("containers").join(id).exists() {
            panic!("container directory {id} is still in the store after prune");
        }
    }
    env.hutch(&["container", "prune", "-f"])
        .success()
        .stdout_is("");
}

#[test]
fn ps_filters_or_values_of_one_key_and_and_different_keys() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let web = run_d(&env, "web", &["sleep", "1000"]);
    run_fg(&env, "ok", &["true"], 0);
    run_fg(&env, "bad", &["sh", "-c", "exit 3"], 3);
    let ps = |filters: &[&str]| {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        names(&env, &args)
    };
    assert_eq!(ps(&["status=exited"]), set(&["ok", "bad"]));
    assert_eq!(ps(&["status=running"]), set(&["web"]));
    assert_eq!(ps(&["status=running", "status=exited"]).len(), 3);
    assert_eq!(ps(&["name=we"]), set(&["web"]));
    assert_eq!(ps(&["name=o", "name=a"]), set(&["ok", "bad"]));
    assert_eq!(ps(&["status=exited", "name=b"]), set(&["bad"]));
    assert_eq!(ps(&["exited=3"]), set(&["bad"]));
    assert_eq!(ps(&["exited=0"]), set(&["ok"]));
    assert_eq!(ps(&[&format!("id={}", &web[..8])]), set(&["web"]));
    assert_eq!(ps(&["ancestor=busybox"]).len(), 3);
    assert_eq!(ps(&[&format!("ancestor={}", image("busybox"))]).len(), 3);
    assert_eq!(ps(&["ancestor=alpine"]), set(&[]));
    // A status filter shows exited containers without -a, as in Docker.
    assert_eq!(
        names(
            &env,
            &["ps", "--filter", "status=exited", "--format", "{{.Names}}"]
        ),
        set(&["ok", "bad"])
    );
    // label= is a filter since issue #13; Podman 4.3 has no label!=.
    env.hutch(&["ps", "--filter", "label!=a"])
        .tool_error(&["invalid filter \"label!=a\""]);
    env.hutch(&["ps", "--filter", "status=paused"])
        .tool_error(&["invalid filter \"status=paused\""]);

    // The group's ls (and its aliases) is ps. Listings made a moment apart
    // may differ in their times, so compare until two agree.
    for alias in ["ls", "list", "ps"] {
        wait_for(
            &format!("`container {alias} -a` to equal `ps -a`"),
            SETTLE,
            || {
                let a = env.hutch(&["container", alias, "-a"]).success();
                let b = env.hutch(&["ps", "-a"]).success();
                if a.stdout == b.stdout && a.stdout.lines().count() == 4 {
                    Ok(())
                } else {
                    Err(format!("{a}\n{b}"))
                }
            },
        );
    }
}

#[test]
fn ps_size_shows_the_writable_layer() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run_fg(
        &env,
        "sized",
        &[
            "sh",
            "-c",
            "head -c 5000 /dev/zero > /data; mkdir /hidden; \
             head -c 7000 /dev/zero > /hidden/f; \
             chown -R 1000:1000 /hidden; chmod 700 /hidden",
        ],
        0,
    );
    let r = env.hutch(&["ps", "-a", "-s"]).success();
    let header = r.stdout.lines().next().unwrap_or_default();
    if !header.split_whitespace().eq([
        "CONTAINER",
        "ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
        "SIZE",
    ]) {
        r.fail("expected the ps columns followed by SIZE");
    }
    if !r.stdout.contains(" (virtual ") {
        r.fail("expected a SIZE cell such as `12 kB (virtual 1.2 MB)`");
    }

    // /hidden is readable only by a subordinate uid: it is measured from
    // the user namespace, so both files count.
    let r = env.hutch(&["ps", "-a", "-s", "--format", "json"]).success();
    let v = r.json();
    let rw = v[0]["Size"]["rwSize"].as_u64().unwrap_or(0);
    let root_fs = v[0]["Size"]["rootFsSize"].as_u64().unwrap_or(0);
    if !(12_000..100_000).contains(&rw) || root_fs <= rw {
        r.fail("expected rwSize to count both files (12000 bytes and a little) and rootFsSize to add the image");
    }
    let r = env.hutch(&["ps", "-a", "--format", "json"]).success();
    if r.json()[0].get("Size").is_some() {
        r.fail("expected no Size without --size");
    }
}

#[test]
fn container_group_runs_the_lifecycle_commands() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let id = env
        .hutch(&[
            "container",
            "create",
            "--name",
            "grp",
            &img,
            "sleep",
            "1000",
        ])
        .success()
        .stdout
        .trim()
        .to_string();
    if id.len() != 64 {
        env.hutch(&["ps", "-a"])
            .fail("expected `container create` to print a 64-hex id");
    }
    env.hutch(&["container", "start", "grp"])
        .success()
        .stdout_is("grp\n");
    wait_for_status(&env, "grp", "running");
    env.hutch(&["container", "exec", "grp", "sh", "-c", "echo made > /made"])
        .success();
    env.hutch(&["container", "diff", "grp"])
        .success()
        .stdout_has("A /made");
    env.hutch(&["container", "exec", "grp", "cat", "/made"])
        .success()
        .stdout_is("made\n");
    env.hutch(&["container", "rm", "-f", "grp"]).success();
}
