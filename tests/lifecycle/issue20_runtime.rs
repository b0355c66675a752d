//! Regressions of issue #20 (defects found running real images and
//! workflows), items 5, 7, 8, 13, 15, 17 and 18: what a container sees of
//! itself (/etc/hosts, /run/.containerenv, TERM, the mode of `/`, its
//! groups, pid 1's command line), relative bind sources, and `diff` and
//! `commit` leaving out hutch's own mount points. The expected strings
//! are what Podman 4.3.1 prints for the same images and flags, run
//! rootless on the test host.

use std::io::Read;
use std::path::Path;

use super::common::{image, run_command, Env, Run, TIMEOUT};
use super::{expect_id, run_d, run_rm, setup, Cleanup};

/// The `./` entry's (and every test entry's) mtime.
const MTIME: u64 = 1_700_000_000;

/// /etc/group of the imported test image: `app` is a member of two
/// groups, root of one.
const GROUP: &str =
    "root:x:0:\nwheel:x:10:root,app\nstaff:x:50:app\nnobody:x:65534:\napp:x:1000:\n";

/// Appends one entry with everything spelled out to `b`.
fn entry(
    b: &mut tar::Builder<Vec<u8>>,
    path: &str,
    kind: tar::EntryType,
    mode: u32,
    owner: (u64, u64),
    data: &[u8],
) {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(owner.0);
    h.set_gid(owner.1);
    h.set_mtime(MTIME);
    h.set_size(data.len() as u64);
    h.set_path(path).expect("a short tar path");
    h.set_cksum();
    b.append(&h, data).expect("appending a tar entry");
}

/// Imports a busybox image named `name` whose `./` entry has `mode` and
/// `owner`. It has every path hutch mounts onto (/proc, /sys, /dev, /run
/// and the /etc files), so starting a container creates nothing in `/`
/// and `/` keeps the entry's mtime too.
fn import_image(env: &Env, name: &str, mode: u32, owner: (u64, u64)) {
    use tar::EntryType::{Directory, Regular, Symlink};
    let busybox = std::fs::read("/bin/busybox")
        .expect("reading /bin/busybox (package busybox-static; tests/run.sh installs it)");
    let mut b = tar::Builder::new(Vec::new());
    entry(&mut b, "./", Directory, mode, owner, b"");
    for d in ["bin", "etc", "proc", "sys", "dev", "run", "home"] {
        entry(&mut b, &format!("./{d}/"), Directory, 0o755, (0, 0), b"");
    }
    entry(&mut b, "./tmp/", Directory, 0o1777, (0, 0), b"");
    entry(&mut b, "./bin/busybox", Regular, 0o755, (0, 0), &busybox);
    for applet in ["sh", "id", "stat", "cat", "sleep", "true", "echo"] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(Symlink);
        h.set_mode(0o777);
        h.set_mtime(MTIME);
        h.set_size(0);
        b.append_link(&mut h, format!("./bin/{applet}"), "busybox")
            .expect("appending a symlink");
    }
    let passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n\
                  nobody:x:65534:65534:nobody:/:/bin/false\n";
    entry(
        &mut b,
        "./etc/passwd",
        Regular,
        0o644,
        (0, 0),
        passwd.as_bytes(),
    );
    entry(
        &mut b,
        "./etc/group",
        Regular,
        0o644,
        (0, 0),
        GROUP.as_bytes(),
    );
    for f in ["hosts", "hostname", "resolv.conf"] {
        entry(&mut b, &format!("./etc/{f}"), Regular, 0o644, (0, 0), b"");
    }
    let tar = env.dir.join(format!("{name}.tar"));
    std::fs::write(&tar, b.into_inner().expect("finishing the tar")).unwrap();
    env.hutch(&["import", tar.to_str().unwrap(), name])
        .success();
}

/// `run --rm FLAGS IMAGE CMD…` with an image name.
#[track_caller]
fn run_image(env: &Env, flags: &[&str], img: &str, cmd: &[&str]) -> Run {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.push(img);
    args.extend_from_slice(cmd);
    env.hutch(&args)
}

// --- item 5: /etc/hosts ------------------------------------------------------

#[test]
fn issue20_etc_hosts_lists_container_name() {
    let env = setup();
    let _c = Cleanup(&env);
    // The issue's command: services look themselves up by name.
    let r = run_rm(&env, &["--name", "web"], &["grep", "web", "/etc/hosts"]).success();
    if !r.stdout.lines().any(|l| l.ends_with(" web")) {
        r.fail("expected the container's own line to end with its name");
    }
    // Podman 4.3 with --network none: `127.0.0.1\t<host name> <name>`.
    run_rm(
        &env,
        &["--name", "web", "--hostname", "box", "--network", "none"],
        &["cat", "/etc/hosts"],
    )
    .success()
    .stdout_has("127.0.0.1\tbox web\n");
    // A renamed container is found by its new name at its next start.
    env.hutch(&[
        "create",
        "--name",
        "old",
        "--network",
        "none",
        "--hostname",
        "box",
        &image("busybox"),
        "cat",
        "/etc/hosts",
    ])
    .success();
    env.hutch(&["rename", "old", "new"]).success();
    env.hutch(&["start", "new"]).success();
    env.hutch(&["wait", "new"]).success().stdout_is("0");
    env.hutch(&["logs", "new"])
        .success()
        .stdout_has("127.0.0.1\tbox new\n");
}

// --- item 7: /run/.containerenv, container and TERM ------------------------------

#[test]
fn issue20_containerenv_and_term_are_set() {
    let env = setup();
    let _c = Cleanup(&env);
    let bb = image("busybox");
    let id = run_d(&env, "ce", &["sleep", "1000"]);
    let image_id = env
        .hutch(&["inspect", "-f", "{{.Image}}", "ce"])
        .success()
        .stdout
        .trim()
        .to_string();
    // Podman's format (filled in by Podman only with --privileged).
    let r = env
        .hutch(&["exec", "ce", "cat", "/run/.containerenv"])
        .success();
    let want =
        format!("name=\"ce\"\nid=\"{id}\"\nimage=\"{bb}\"\nimageid=\"{image_id}\"\nrootless=1\n");
    if !r.stdout.starts_with("engine=\"hutch-") || !r.stdout.ends_with(&want) {
        r.fail(&format!("expected engine=\"hutch-…\" then\n{want}"));
    }
    // Podman sets TERM=xterm without -t too, and container=podman.
    for r in [
        run_rm(&env, &[], &["env"]).success(),
        env.hutch(&["exec", "ce", "env"]).success(),
    ] {
        for want in ["TERM=xterm", "container=podman"] {
            if !r.stdout.lines().any(|l| l == want) {
                r.fail(&format!("expected {want} in the environment"));
            }
        }
    }
    // The user's TERM wins.
    let r = run_rm(&env, &["-e", "TERM=vt100"], &["env"]).success();
    let terms: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("TERM="))
        .collect();
    if terms != ["TERM=vt100"] {
        r.fail("expected only the given TERM");
    }
    // A read-only root's /run tmpfs still shows the file.
    run_rm(
        &env,
        &["--read-only", "--name", "ro"],
        &["cat", "/run/.containerenv"],
    )
    .success()
    .stdout_has("name=\"ro\"\n");
}

// --- item 8: the mode, owner and times of `/` ----------------------------------------

#[test]
fn issue20_root_dir_keeps_the_image_root_entry() {
    let env = setup();
    let _c = Cleanup(&env);
    // No layer has a `./` entry: containers/storage's default, 0555 (Podman
    // 4.3 shows 555 for such an image).
    run_rm(&env, &[], &["stat", "-c", "%a %u %g", "/"])
        .success()
        .stdout_is("555 0 0\n");
    // The `./` entry's mode and mtime (Podman: 751 for this image).
    import_image(&env, "root751", 0o751, (0, 0));
    let stat = ["stat", "-c", "%a %u %g %Y", "/"];
    run_image(&env, &[], "root751", &stat)
        .success()
        .stdout_is(&format!("751 0 0 {MTIME}\n"));
    // Its owner too, as Podman's overlay driver gives the container's
    // upper directory the owner of the layer's root.
    import_image(&env, "root700", 0o700, (1000, 1000));
    run_image(&env, &[], "root700", &stat)
        .success()
        .stdout_is(&format!("700 1000 1000 {MTIME}\n"));
    // The topmost layer with a `./` entry counts: a commit's layer has
    // none, so the image below still decides.
    env.hutch(&[
        "run",
        "--name",
        "c",
        "root751",
        "sh",
        "-c",
        "echo x > /tmp/x",
    ])
    .success();
    env.hutch(&["commit", "c", "root751b"]).success();
    run_image(&env, &[], "root751b", &["stat", "-c", "%a", "/"])
        .success()
        .stdout_is("751\n");
}

// --- item 13: relative bind sources --------------------------------------------------

#[test]
fn issue20_relative_bind_sources_resolve_against_the_current_directory() {
    let env = setup();
    let _c = Cleanup(&env);
    let bb = image("busybox");
    std::fs::create_dir_all(env.home.join("data")).unwrap();
    std::fs::create_dir_all(env.home.join("sub")).unwrap();
    std::fs::write(env.home.join("data/f"), b"from the host\n").unwrap();
    // Podman: a source starting with `/` or `.` is a path; --mount's src
    // is always one. `env.command` runs in env.home.
    let cases: [(&str, &[&str]); 4] = [
        ("", &["-v", "./data:/d"]),
        ("sub", &["-v", "../data:/d:ro"]),
        ("sub", &["--mount", "type=bind,src=../data,dst=/d"]),
        ("", &["--mount", "type=bind,source=data,target=/d"]),
    ];
    for (dir, flags) in cases {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(flags);
        args.extend_from_slice(&[bb.as_str(), "cat", "/d/f"]);
        let mut c = env.command(&args);
        c.current_dir(env.home.join(dir));
        run_command(c, format!("(in ~/{dir}) {}", env.describe(&args)), TIMEOUT)
            .success()
            .stdout_is("from the host\n");
    }
    // The stored source is absolute.
    env.hutch(&["create", "--name", "rel", "-v", "./data:/d", &bb, "true"])
        .success();
    let r = env.hutch(&["inspect", "rel"]).success();
    let home = env.home.canonicalize().unwrap();
    let source = &r.json()[0]["Mounts"][0]["Source"];
    if source.as_str() != Some(home.join("data").to_str().unwrap()) {
        r.fail("expected the bind source as an absolute path");
    }
    // A bare name is a volume, as in Podman; `data/` is neither.
    run_rm(&env, &["-v", "data:/d"], &["ls", "-A", "/d"])
        .success()
        .stdout_is("");
    env.hutch(&["volume", "ls", "-q"])
        .success()
        .stdout_has("data");
    run_rm(&env, &["-v", "data/:/d"], &["true"])
        .code(125)
        .stderr_has("neither a path nor a volume name");
}

// --- item 15: supplementary groups ---------------------------------------------------

#[test]
fn issue20_user_groups_follow_podman() {
    let env = setup();
    let _c = Cleanup(&env);
    // The busybox fixture's /etc/group names no members; Podman 4.3 adds
    // the primary gid whenever a user is given.
    let cases: [(&[&str], &str); 5] = [
        (
            &["-u", "1000:1000", "--group-add", "65534"],
            "uid=1000(app) gid=1000(app) groups=1000(app),65534(nobody)\n",
        ),
        (
            &["-u", "1000"],
            "uid=1000(app) gid=1000(app) groups=1000(app)\n",
        ),
        (&["-u", "0"], "uid=0(root) gid=0(root) groups=0(root)\n"),
        (&[], "uid=0(root) gid=0(root)\n"),
        (
            &["--group-add", "65534"],
            "uid=0(root) gid=0(root) groups=65534(nobody)\n",
        ),
    ];
    for (flags, want) in cases {
        run_rm(&env, flags, &["id"]).success().stdout_is(want);
    }
    // The image's USER counts as given.
    run_image(&env, &["--entrypoint", "id"], &image("config"), &[])
        .success()
        .stdout_is("uid=1000(app) gid=1000(app) groups=1000(app)\n");
    // Member groups come from /etc/group unless the spec names a group.
    import_image(&env, "groups", 0o555, (0, 0));
    let cases: [(&[&str], &str); 4] = [
        (
            &["-u", "app"],
            "uid=1000(app) gid=1000(app) groups=10(wheel),50(staff),1000(app)\n",
        ),
        (
            &["-u", "1000"],
            "uid=1000(app) gid=1000(app) groups=10(wheel),50(staff),1000(app)\n",
        ),
        (
            &["-u", "app:app"],
            "uid=1000(app) gid=1000(app) groups=1000(app)\n",
        ),
        (&[], "uid=0(root) gid=0(root) groups=10(wheel)\n"),
    ];
    for (flags, want) in cases {
        run_image(&env, flags, "groups", &["id"])
            .success()
            .stdout_is(want);
    }
    // exec as Podman's: member groups, no primary gid, none with a group.
    env.hutch(&["run", "-d", "--name", "g", "groups", "sleep", "1000"])
        .success();
    env.hutch(&["exec", "-u", "app", "g", "id"])
        .success()
        .stdout_is("uid=1000(app) gid=1000(app) groups=10(wheel),50(staff)\n");
    env.hutch(&["exec", "-u", "1000:1000", "g", "id"])
        .success()
        .stdout_is("uid=1000(app) gid=1000(app)\n");
}

// --- item 17: diff and commit ------------------------------------------------------------

/// The entry names of the last layer of docker-archive `tar`.
fn top_layer_entries(tar: &Path) -> Vec<String> {
    let mut manifest = String::new();
    let mut layers: Vec<(String, Vec<u8>)> = Vec::new();
    let mut a = tar::Archive::new(std::fs::File::open(tar).unwrap());
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        if name == "manifest.json" {
            manifest = String::from_utf8(data).unwrap();
        } else {
            layers.push((name, data));
        }
    }
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let top = m[0]["Layers"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap();
    let (_, data) = layers.iter().find(|(n, _)| n == top).unwrap();
    let mut layer = tar::Archive::new(data.as_slice());
    layer
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn issue20_diff_and_commit_leave_out_hutchs_mount_points() {
    let env = setup();
    let _c = Cleanup(&env);
    let bb = image("busybox");
    // The busybox fixture has no /run and no /etc files: hutch creates
    // them to mount onto. Podman 4.3 prints exactly these three lines
    // (its /etc changed as hutch's does, by the files made to mount onto).
    env.hutch(&["run", "--name", "d", &bb, "sh", "-c", "echo x > /tmp/x"])
        .success();
    env.hutch(&["diff", "d"])
        .success()
        .stdout_is("C /etc\nC /tmp\nA /tmp/x\n");
    env.hutch(&["commit", "d", "snap"]).success();
    let tar = env.dir.join("snap.tar");
    env.hutch(&["save", "-o", tar.to_str().unwrap(), "snap"])
        .success();
    let entries = top_layer_entries(&tar);
    assert!(entries.iter().any(|e| e == "tmp/x"), "{entries:?}");
    for own in ["hosts", "hostname", "resolv.conf", "run", ".containerenv"] {
        assert!(
            !entries
                .iter()
                .any(|e| e.trim_end_matches('/').ends_with(own)),
            "the committed layer holds hutch's mount point {own}: {entries:?}"
        );
    }
    // A running container's diff is the same.
    run_d(&env, "r", &["sh", "-c", "echo x > /tmp/x; sleep 1000"]);
    super::wait_for("the file in r", super::SETTLE, || {
        let r = env.hutch(&["diff", "r"]);
        if r.stdout == "C /etc\nC /tmp\nA /tmp/x\n" {
            Ok(())
        } else {
            Err(r.to_string())
        }
    });
}

// --- item 18: --init's command line --------------------------------------------------------

#[test]
fn issue20_init_shows_as_a_small_init() {
    let env = setup();
    let _c = Cleanup(&env);
    // Podman 4.3: `/run/podman-init -- CMD…`, not the host's command line.
    run_rm(&env, &["--init"], &["cat", "/proc/1/cmdline"])
        .success()
        .stdout_is("/run/hutch-init\0--\0cat\0/proc/1/cmdline\0");
    // Detached, pid 1 would otherwise show the monitor's command line.
    let bb = image("busybox");
    let r = env
        .hutch_closing(&["run", "-d", "--init", "--name", "i", &bb, "sleep", "1000"])
        .success();
    expect_id(&r);
    env.hutch(&["exec", "i", "cat", "/proc/1/cmdline"])
        .success()
        .stdout_is("/run/hutch-init\0--\0sleep\x001000\0");
}
