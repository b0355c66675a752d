//! Issue #18 (`hutch doctor`): on this host, as a user with a subordinate
//! range, every check gives its line; a needed check that fails makes the
//! exit status 1; `--format json` and Go templates.

use std::path::Path;

use crate::common::{current_user, set_mode, subid_range, Env, Run};

/// The checks, in the order `doctor` prints them.
const NAMES: &[&str] = &[
    "subuid",
    "subgid",
    "newuidmap",
    "newgidmap",
    "userns",
    "unshare",
    "runtime-dir",
    "run-dir",
    "linger",
    "cgroups",
    "systemd-user",
    "controllers",
    "store-fs",
    "store-space",
    "store-owners",
    "overlay",
    "fuse-overlayfs",
    "fuse-device",
    "network",
    "tun-device",
    "clock",
    "timezone",
];

/// The line of check `name`: (status, the rest after the name).
fn line_of<'a>(r: &'a Run, name: &str) -> (&'a str, &'a str) {
    r.stdout
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            let status = w.next()?;
            (w.next()? == name).then(|| (status, l.split_once(name).map_or("", |(_, t)| t.trim())))
        })
        .unwrap_or_else(|| r.fail(&format!("no line for the check {name}")))
}

fn expect(r: &Run, name: &str, status: &str, has: &[&str]) {
    let (s, rest) = line_of(r, name);
    if s != status {
        r.fail(&format!("{name}: expected {status}, got {s}: {rest}"));
    }
    for h in has {
        if !rest.contains(h) {
            r.fail(&format!("{name}: expected {h:?} in {rest:?}"));
        }
    }
}

#[test]
fn issue18_doctor_reports_this_host_line_by_line() {
    // issue #18 (doctor), on this host: a user with ranges, setuid
    // helpers, kernel overlayfs, pasta; cgroup v1 (hybrid) here.
    let env = Env::new();
    let r = env.hutch(&["doctor"]).success();
    let names: Vec<&str> = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap_or(""))
        .collect();
    if names != NAMES {
        r.fail(&format!("expected the checks {NAMES:?}"));
    }
    for l in r.stdout.lines() {
        let status = l.split_whitespace().next().unwrap_or("");
        match status {
            "ok" if l.contains("; fix: ") => r.fail(&format!("an ok line with a fix: {l}")),
            "ok" => {}
            "warn" | "fail" if !l.contains("; fix: ") => {
                r.fail(&format!("a {status} line without its fix: {l}"))
            }
            "warn" | "fail" => {}
            _ => r.fail(&format!("a line with status {status:?}: {l}")),
        }
    }
    let (name, _, _) = current_user();
    let (start, count) =
        subid_range("/etc/subuid").unwrap_or_else(|| panic!("{name} needs an /etc/subuid range"));
    let range = format!("{name}: {start}-{} ({count} ids)", start + count - 1);
    expect(&r, "subuid", "ok", &[&range]);
    expect(&r, "newuidmap", "ok", &["setuid root"]);
    expect(&r, "unshare", "ok", &["subordinate ids works"]);
    let runtime = env.runtime_dir.display().to_string();
    expect(&r, "runtime-dir", "ok", &[&runtime, "0700"]);
    expect(
        &r,
        "overlay",
        "ok",
        &["userxattr", &env.store().display().to_string()],
    );
    expect(&r, "fuse-device", "ok", &["/dev/fuse"]);
    expect(&r, "network", "ok", &["pasta at "]);
    // A local store takes the subordinate ids (a store on NFS does not:
    // the guest tier's check).
    expect(
        &r,
        "store-owners",
        "ok",
        &[&env.store().display().to_string(), "subordinate ids"],
    );
    if Path::new("/sys/fs/cgroup/unified").is_dir() {
        expect(
            &r,
            "cgroups",
            "warn",
            &[
                "v1 (hybrid)",
                "fix: boot with systemd.unified_cgroup_hierarchy=1",
            ],
        );
        expect(&r, "controllers", "warn", &["/sys/fs/cgroup/unified"]);
    } else {
        expect(&r, "cgroups", "ok", &["v2"]);
    }
}

#[test]
fn issue18_doctor_json_and_templates_carry_the_same_checks() {
    // issue #18 (doctor): --format json is an array of {name, status,
    // found, fix}; a Go template runs once per check.
    let env = Env::new();
    let r = env.hutch(&["doctor", "--format", "json"]).success();
    let v = r.json();
    let rows = v
        .as_array()
        .unwrap_or_else(|| r.fail("expected a JSON array"));
    let mut pairs = Vec::new();
    for row in rows {
        let obj = row
            .as_object()
            .unwrap_or_else(|| r.fail("expected objects"));
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort_unstable();
        if keys != ["fix", "found", "name", "status"] {
            r.fail(&format!(
                "expected the keys fix, found, name, status; got {keys:?}"
            ));
        }
        let status = obj["status"].as_str().unwrap_or_default();
        if (status == "ok") != obj["fix"].as_str().is_some_and(str::is_empty) {
            r.fail(&format!("the fix must be empty exactly when ok: {row}"));
        }
        pairs.push(format!(
            "{}={status}",
            obj["name"].as_str().unwrap_or_default()
        ));
    }
    let names: Vec<&str> = pairs.iter().map(|p| p.split('=').next().unwrap()).collect();
    if names != NAMES {
        r.fail(&format!("expected the checks {NAMES:?}"));
    }
    let t = env
        .hutch(&["doctor", "--format", "{{.Name}}={{.Status}}"])
        .success();
    if t.stdout.lines().collect::<Vec<_>>() != pairs {
        t.fail(&format!("expected the template's lines {pairs:?}"));
    }
    env.hutch(&["doctor", "--format", "table {{.Name}} {{.Status}}"])
        .success()
        .stdout_has("NAME");
}

#[test]
fn issue18_doctor_exits_1_when_run_cannot_work_and_names_the_fix() {
    // issue #18 (doctor): a store that cannot be created fails the overlay
    // check, which run needs: exit 1. A runtime directory open to others
    // is a warning with the chmod that fixes it: exit 0.
    let mut env = Env::new();
    let blocker = env.dir.join("a-file");
    std::fs::write(&blocker, "").unwrap();
    let root = blocker.join("store");
    let r = env
        .hutch(&["--root", root.to_str().unwrap(), "doctor"])
        .code(1);
    expect(&r, "overlay", "fail", &["not tried: creating", "fix: "]);
    set_mode(&env.runtime_dir, 0o755);
    let runtime = env.runtime_dir.display().to_string();
    let runroot = env.dir.join("runroot");
    env.set_env("HUTCH_RUNROOT", runroot.to_str().unwrap());
    let r = env.hutch(&["doctor"]).success();
    expect(
        &r,
        "runtime-dir",
        "warn",
        &["mode 0755", &format!("fix: chmod 0700 {runtime}")],
    );
}
