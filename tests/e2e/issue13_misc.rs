//! Issue #13 (Podman's CLI contract): the smaller names hutch lacked
//! (exec's fd and detach flags, the prunes' filters, image diff, history
//! and tree options, volume mount, push's signing flags), each compared
//! with what Podman 4.3 does.

use crate::common::{image, Env, Run};

/// Runs hutch with `args` under `sh -c` with fd 3 open on `file`, as a
/// shell redirect gives it.
fn hutch_with_fd3(env: &Env, args: &[&str], file: &std::path::Path) -> Run {
    let c = env.command(args);
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("exec \"$0\" \"$@\" 3<{}", file.display()))
        .arg(c.get_program())
        .args(c.get_args())
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(&env.home);
    crate::common::run_command(
        sh,
        format!("hutch {} 3<{}", args.join(" "), file.display()),
        crate::common::TIMEOUT,
    )
}

#[test]
fn issue13_misc_exec_preserve_fds_and_detach_keys() {
    // issue #13 item 1: `exec --preserve-fds` passes fds 3.. on, checked
    // open first with Podman's message; `--detach-keys` is checked.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["run", "-d", "--name", "ex", &img, "sleep", "1000"])
        .success();
    let secret = env.dir.join("secret");
    std::fs::write(&secret, "passed\n").unwrap();
    let cat3 = [
        "exec",
        "--preserve-fds",
        "1",
        "ex",
        "cat",
        "/proc/self/fd/3",
    ];
    hutch_with_fd3(&env, &cat3, &secret)
        .success()
        .stdout_is("passed");
    let cat3 = [
        "container",
        "exec",
        "--preserve-fds=1",
        "ex",
        "cat",
        "/proc/self/fd/3",
    ];
    hutch_with_fd3(&env, &cat3, &secret)
        .success()
        .stdout_is("passed");
    // Detached, the command gets it too.
    let keep = "cat /proc/self/fd/3 > /kept";
    hutch_with_fd3(
        &env,
        &["exec", "-d", "--preserve-fds", "1", "ex", "sh", "-c", keep],
        &secret,
    )
    .success();
    crate::common::wait_for(
        "the detached exec to write /kept",
        std::time::Duration::from_secs(20),
        || {
            let r = env.hutch(&["exec", "ex", "cat", "/kept"]);
            match r.stdout.trim() {
                "passed" => Ok(()),
                _ => Err(format!("{}{}", r.stdout, r.stderr)),
            }
        },
    );
    // An fd that is not open is Podman's error, before anything runs.
    hutch_with_fd3(
        &env,
        &["exec", "--preserve-fds", "2", "ex", "true"],
        &secret,
    )
    .tool_error(&["file descriptor 4 is not available"]);
    env.hutch(&["exec", "--preserve-fds", "1", "ex", "true"])
        .tool_error(&["file descriptor 3 is not available"]);
    // Without the flag nothing but stdio reaches the command.
    hutch_with_fd3(
        &env,
        &["exec", "ex", "sh", "-c", "ls /proc/self/fd | wc -l"],
        &secret,
    )
    .success()
    .stdout_is("4");
    env.hutch(&["exec", "--detach-keys", "ctrl-a,x", "ex", "echo", "hi"])
        .success()
        .stdout_is("hi");
    env.hutch(&["exec", "--detach-keys=", "ex", "true"])
        .success();
    env.hutch(&["container", "exec", "--detach-keys", "bogus", "ex", "true"])
        .tool_error(&["invalid detach keys \"bogus\""]);
    env.hutch(&["rm", "-f", "-t0", "ex"]).success();
}

/// The names `ps -a` lists, sorted.
fn container_names(env: &Env) -> Vec<String> {
    let r = env.hutch(&["ps", "-a", "--format", "{{.Names}}"]).success();
    let mut names: Vec<String> = r.stdout.lines().map(str::to_string).collect();
    names.sort();
    names
}

#[test]
fn issue13_misc_container_prune_filters_as_podman() {
    // issue #13 item 2: `container prune --filter` with label=, label!=
    // and until=, each case checked against Podman 4.3.
    let env = Env::new();
    let img = image("busybox");
    let make = || {
        env.hutch(&["rm", "-fa", "-t0"]).success();
        for (name, labels) in [("a", &["x=1", "y=2"][..]), ("b", &["x=2"]), ("c", &[])] {
            let mut args = vec!["create", "--name", name];
            for l in labels {
                args.extend(["-l", l]);
            }
            args.extend([img.as_str(), "true"]);
            env.hutch(&args).success();
        }
        // Running: never pruned, whatever the filters say.
        env.hutch(&[
            "run", "-d", "--name", "r", "-l", "x=1", &img, "sleep", "100",
        ])
        .success();
    };
    for (filters, left) in [
        (&["label=x", "label=y"][..], &["b", "c", "r"][..]),
        (&["label=x=1", "label=x=2"], &["a", "b", "c", "r"]),
        (&["label=x="], &["c", "r"]),
        (&["label=x*"], &["c", "r"]),
        (&["label!=x=2"], &["b", "r"]),
        (&["label!=x", "label!=y"], &["a", "r"]),
        (&["label=x", "label!=y"], &["a", "c", "r"]),
        (&["until=1h"], &["a", "b", "c", "r"]),
        (&["until=-1h"], &["r"]),
    ] {
        make();
        let mut args = vec!["container", "prune", "-f"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        let r = env.hutch(&args).success();
        assert_eq!(
            container_names(&env),
            left,
            "after {args:?} (printed {:?})",
            r.stdout
        );
    }
    // Bad filters are Podman's errors, and nothing is removed.
    make();
    for (filter, error) in [
        (&["nope=1"][..], "nope is an invalid filter"),
        (
            &["label"],
            "filter input must be in the form of filter=value: label is invalid",
        ),
        (
            &["until=1h", "until=2h"],
            "specify exactly one timestamp for until",
        ),
        (
            &["until=abc"],
            "failed to parse value as time or duration: \"abc\"",
        ),
        (&["until="], "failed to parse value as time or duration"),
        (&["until=99999999999999999999"], "failed to parse value"),
        (&["dangling=true"], "dangling is an invalid filter"),
    ] {
        let mut args = vec!["container", "prune", "-f"];
        for f in filter {
            args.extend(["--filter", f]);
        }
        env.hutch(&args).tool_error(&[error]);
    }
    assert_eq!(container_names(&env), ["a", "b", "c", "r"]);
    env.hutch(&["rm", "-fa", "-t0"]).success();
}

/// Images for the prune tests, by short name: `la` (label a=1), `lb`
/// (a=2, b=1), dangling `dl` (label d=1) and `dn` (none), committed from
/// a container of busybox that `keep` holds in use, and the fixture
/// `config`, old and unused. Returns (short name, id) pairs.
fn prune_images(env: &Env) -> Vec<(&'static str, String)> {
    env.hutch(&["rm", "-fa", "-t0"]).success();
    let busybox = image("busybox");
    env.hutch(&["create", "--name", "keep", &busybox, "true"])
        .success();
    let id = |r: Run| r.stdout.trim().trim_start_matches("sha256:").to_string();
    let mut out = vec![
        (
            "busybox",
            id(env
                .hutch(&["image", "inspect", "--format", "{{.Id}}", &busybox])
                .success()),
        ),
        ("config", id(env.pull(&image("config")))),
    ];
    for (name, changes, target) in [
        ("la", &["LABEL a=1"][..], Some("localhost/la:1")),
        ("lb", &["LABEL a=2", "LABEL b=1"], Some("localhost/lb:1")),
        ("dl", &["LABEL d=1"], None),
        ("dn", &["ENV DN=1"], None),
    ] {
        let mut args = vec!["commit", "-q"];
        for c in changes {
            args.extend(["-c", c]);
        }
        args.push("keep");
        args.extend(target);
        out.push((name, id(env.hutch(&args).success())));
    }
    out
}

/// The short names of the images still stored.
fn images_left(env: &Env, known: &[(&'static str, String)]) -> Vec<&'static str> {
    let r = env.hutch(&["images", "-q", "--no-trunc"]).success();
    let ids: Vec<String> = r
        .stdout
        .lines()
        .map(|l| l.trim_start_matches("sha256:").to_string())
        .collect();
    let mut names: Vec<&'static str> = known
        .iter()
        .filter(|(_, id)| ids.contains(id))
        .map(|(n, _)| *n)
        .collect();
    names.sort();
    names
}

#[test]
fn issue13_misc_image_prune_filters_as_podman() {
    // issue #13 item 2: `image prune --filter` takes images --filter's
    // keys; a key's values are ORed, keys ANDed, as Podman 4.3's do.
    let env = Env::new();
    for (args, left) in [
        (&[][..], &["busybox", "config", "la", "lb"][..]),
        (
            &["--filter", "label=d"],
            &["busybox", "config", "dn", "la", "lb"],
        ),
        (
            &["-a", "--filter", "label=a=1"],
            &["busybox", "config", "dl", "dn", "lb"],
        ),
        (
            &["-a", "--filter", "label=a", "--filter", "label=b"],
            &["busybox", "config", "dl", "dn"],
        ),
        (&["-a", "--filter", "label!=a"], &["busybox", "la", "lb"]),
        (
            &["-a", "--filter", "label!=a", "--filter", "label!=b"],
            &["busybox", "lb"],
        ),
        (
            &["-a", "--filter", "dangling=false"],
            &["busybox", "dl", "dn"],
        ),
        (
            &["-a", "--filter", "until=1h"],
            &["busybox", "dl", "dn", "la", "lb"],
        ),
        (
            &["-a", "--filter", "reference=localhost/la"],
            &["busybox", "config", "dl", "dn", "lb"],
        ),
        (
            &["-a", "--filter", "label=a", "--filter", "dangling=false"],
            &["busybox", "config", "dl", "dn"],
        ),
    ] {
        let known = prune_images(&env);
        let mut full = vec!["image", "prune", "-f"];
        full.extend(args);
        env.hutch(&full).success();
        assert_eq!(images_left(&env, &known), left, "after {full:?}");
    }
    // Without --all only dangling images go, so dangling=false contradicts.
    let known = prune_images(&env);
    for (args, error) in [
        (
            &["--filter", "dangling=false"][..],
            "specifying \"dangling\" filter more than once",
        ),
        (
            &["-a", "--filter", "bogus=1"],
            "unknown --filter key \"bogus\"",
        ),
        (
            &["-a", "--filter", "until=tomorrow"],
            "invalid --filter \"until=tomorrow\"",
        ),
        (&["-a", "--filter", "label"], "expected KEY=VALUE"),
    ] {
        let mut full = vec!["image", "prune", "-f"];
        full.extend(args);
        env.hutch(&full).tool_error(&[error]);
    }
    assert_eq!(
        images_left(&env, &known),
        ["busybox", "config", "dl", "dn", "la", "lb"]
    );
    // `images --filter` reads them the same way (the images earlier
    // rounds left without a name aside).
    let r = env
        .hutch(&[
            "images",
            "--filter",
            "label=a",
            "--filter",
            "label=d",
            "-q",
            "--no-trunc",
        ])
        .success();
    let mut shown: Vec<&str> = known
        .iter()
        .filter(|(_, id)| r.stdout.contains(id.as_str()))
        .map(|(n, _)| *n)
        .collect();
    shown.sort();
    assert_eq!(shown, ["dl", "la", "lb"], "{}", r.stdout);
    env.hutch(&["rm", "-fa", "-t0"]).success();
}

#[test]
fn issue13_misc_image_prune_external_sweeps_what_no_record_owns() {
    // issue #13 item 2: `image prune --external` also removes container
    // storage hutch has no record of and the debris of interrupted
    // commands (layers no image names), as `system check --repair` does.
    let env = Env::new();
    env.pull(&image("busybox"));
    let store = env.store();
    let orphan = store.join("containers").join("e".repeat(64));
    let layer = store.join("layers").join("f".repeat(64));
    for dir in [&orphan, &layer] {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("data/file"), "left behind").unwrap();
    }
    // A victim beside the store is never touched.
    let victim = env.dir.join("victim");
    std::fs::write(&victim, "keep").unwrap();
    env.hutch(&["image", "prune", "-f"]).success().stdout_is("");
    assert!(
        orphan.exists() && layer.exists(),
        "a plain prune keeps them"
    );
    env.hutch(&["image", "prune", "-f", "--external"])
        .success()
        .stdout_is("");
    assert!(!orphan.exists(), "{} was not removed", orphan.display());
    assert!(!layer.exists(), "{} was not removed", layer.display());
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    env.hutch(&["run", "--rm", &image("busybox"), "true"])
        .success();
    env.hutch(&["system", "check"]).success();
}

#[test]
fn issue13_misc_system_and_volume_prune_filters_as_podman() {
    // issue #13 item 2: `system prune --filter` applies the filters to
    // containers (label values ANDed), images (ORed) and, with --volumes,
    // volumes (ORed), as Podman 4.3; one that cannot apply to all of them
    // is refused before anything is removed.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["create", "--name", "ca", "-l", "a=1", &img, "true"])
        .success();
    env.hutch(&[
        "create", "--name", "cab", "-l", "a=1", "-l", "b=1", &img, "true",
    ])
    .success();
    env.hutch(&["commit", "-q", "-c", "LABEL b=1", "ca"])
        .success();
    let dangling = || {
        env.hutch(&["images", "-q", "--filter", "dangling=true"])
            .success()
            .stdout
    };
    assert_eq!(dangling().lines().count(), 1);
    for v in [&["-l", "a=1", "va"][..], &["-l", "b=1", "vb"], &["v0"]] {
        let mut args = vec!["volume", "create"];
        args.extend(v);
        env.hutch(&args).success();
    }
    let volumes = || {
        let r = env.hutch(&["volume", "ls", "-q"]).success();
        let mut v: Vec<String> = r.stdout.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    for (args, error) in [
        (
            &["--filter", "dangling=true"][..],
            "dangling is an invalid filter",
        ),
        (
            &["--volumes", "--filter", "label!=a"],
            "\"label!\" is an invalid volume filter",
        ),
        (
            &["--filter", "until=1h", "--filter", "until=2h"],
            "specify exactly one timestamp",
        ),
    ] {
        let mut full = vec!["system", "prune", "-f"];
        full.extend(args);
        env.hutch(&full).tool_error(&[error]);
    }
    assert_eq!(container_names(&env), ["ca", "cab"]);
    assert_eq!(volumes(), ["v0", "va", "vb"]);
    // Containers need both labels; the dangling image needs one of them.
    let r = env
        .hutch(&[
            "system", "prune", "-f", "--filter", "label=a", "--filter", "label=b",
        ])
        .success();
    assert_eq!(container_names(&env), ["ca"], "{}", r.stdout);
    assert_eq!(
        dangling(),
        "",
        "the dangling image (label b) goes: {}",
        r.stdout
    );
    assert_eq!(volumes(), ["v0", "va", "vb"], "volumes only with --volumes");
    env.hutch(&["system", "prune", "-f", "--volumes", "--filter", "label=a"])
        .success()
        .stdout_has("Deleted Containers")
        .stdout_has("va");
    assert_eq!(container_names(&env), Vec::<String>::new());
    assert_eq!(volumes(), ["v0", "vb"]);
    // volume prune: values ORed, until honoured.
    env.hutch(&["volume", "create", "-l", "c=1", "vc"])
        .success();
    env.hutch(&["volume", "prune", "-f", "--filter", "until=1h"])
        .success()
        .stdout_is("");
    env.hutch(&[
        "volume", "prune", "-f", "--filter", "label=b", "--filter", "label=c",
    ])
    .success();
    assert_eq!(volumes(), ["v0"]);
    env.hutch(&["volume", "prune", "-f", "--filter", "nope=1"])
        .tool_error(&["\"nope\" is an invalid volume filter"]);
}

#[test]
fn issue13_misc_image_diff_against_parent_and_another_image() {
    // issue #13 item 3: `image diff IMAGE [IMAGE]`, Podman's A/C/D lines
    // (sorted by path) and its JSON; compared with Podman 4.3's output.
    let env = Env::new();
    let img = image("busybox");
    let script = "echo x > /newfile; rm /bin/ls; mkdir -p /tmp/d; echo y > /tmp/d/f; \
                  echo z >> /etc/passwd; ln -s / /escape; ln -s /etc /bin/etclink";
    env.hutch(&["run", "--name", "d1", &img, "sh", "-c", script])
        .success();
    env.hutch(&["commit", "-q", "d1", "localhost/d1:1"])
        .success();
    let against_parent = "C /bin\nD /bin/ls\nA /bin/etclink\nC /etc\nC /etc/passwd\nA /escape\nA /newfile\nC /tmp\nA /tmp/d\nA /tmp/d/f";
    let sorted = |s: &str| {
        let mut l: Vec<String> = s.lines().map(str::to_string).collect();
        l.sort_by(|a, b| a[2..].cmp(&b[2..]));
        l.join("\n")
    };
    env.hutch(&["image", "diff", "localhost/d1:1"])
        .success()
        .stdout_is(&sorted(against_parent));
    // Against busybox itself: the same, as d1's parent is busybox; the
    // symlinks to / and /etc are entries, never followed.
    env.hutch(&["image", "diff", "localhost/d1:1", &img])
        .success()
        .stdout_is(&sorted(against_parent));
    // The other way round: what d1 added is deleted (its own line only).
    let reverse = "C /bin\nA /bin/ls\nD /bin/etclink\nC /etc\nC /etc/passwd\nD /escape\nD /newfile\nC /tmp\nD /tmp/d";
    env.hutch(&["image", "diff", &img, "localhost/d1:1"])
        .success()
        .stdout_is(&sorted(reverse));
    env.hutch(&["image", "diff", &img, &img])
        .success()
        .stdout_is("");
    // One layer: everything is added.
    let r = env.hutch(&["image", "diff", &img]).success();
    if !r.stdout.lines().all(|l| l.starts_with("A /")) || !r.stdout.contains("A /bin/ls") {
        r.fail("busybox's only layer should list every path as added");
    }
    let r = env
        .hutch(&["image", "diff", "--format", "json", "localhost/d1:1"])
        .success();
    let v = r.json();
    assert_eq!(v["deleted"], serde_json::json!(["/bin/ls"]), "{v:#}");
    assert_eq!(
        v["changed"],
        serde_json::json!(["/bin", "/etc", "/etc/passwd", "/tmp"])
    );
    assert_eq!(v["added"].as_array().map(Vec::len), Some(5), "{v:#}");
    env.hutch(&["image", "diff", "--format", "yaml", &img])
        .tool_error(&["only supported value for '--format' is 'json'"]);
    env.hutch(&["image", "diff", "nosuch"])
        .tool_error(&["nosuch"]);
    env.hutch(&["image", "diff", &img, "nosuch"])
        .tool_error(&["nosuch"]);
    env.hutch(&["image", "diff"]).code(125);
    env.hutch(&["image", "diff", "a", "b", "c"]).code(125);
}

#[test]
fn issue13_misc_push_signing_flags_are_refused_with_a_way_out() {
    // issue #13 item 8: hutch does not sign; the flags are refused with the
    // reason and what to use instead, before anything is pushed.
    let env = Env::new();
    let img = image("busybox");
    let key = env.dir.join("key");
    std::fs::write(&key, "not a key").unwrap();
    let key = key.to_str().unwrap();
    for args in [
        &["push", "--sign-by", "me@example.com", &img][..],
        &["image", "push", "--sign-by-sigstore-private-key", key, &img],
        &["push", "--sign-passphrase-file", key, &img, "localhost/x:1"],
        &[
            "manifest",
            "push",
            "--sign-by",
            "me@example.com",
            "list",
            "dest",
        ],
        &[
            "manifest",
            "push",
            "--sign-passphrase-file=/etc/passwd",
            "list",
            "dest",
        ],
    ] {
        env.hutch(args)
            .tool_error(&["hutch does not sign images", "skopeo", "cosign"])
            .stdout_is("");
    }
    assert!(
        env.store_entries("blobs/sha256").is_empty(),
        "nothing was pulled or pushed"
    );
}

#[test]
fn issue13_misc_images_history_shows_every_name_an_image_had() {
    // issue #13 item 4: `images --history` (and `image list --history`)
    // adds Podman's HISTORY column: names newest first, kept after untag
    // or after they move to another image.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["create", "--name", "c", &img, "true"])
        .success();
    env.hutch(&["commit", "-q", "-c", "LABEL a=1", "c", "localhost/la:1"])
        .success();
    env.hutch(&["commit", "-q", "-c", "LABEL b=1", "c", "localhost/lb:1"])
        .success();
    env.hutch(&[
        "tag",
        "localhost/la:1",
        "localhost/la:2",
        "localhost/other:x",
    ])
    .success();
    // Without names the first image still shows what it was called.
    env.hutch(&["untag", "localhost/la:2"]).success();
    env.hutch(&["tag", "localhost/lb:1", "localhost/other:x"])
        .success();
    let r = env
        .hutch(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}} [{{.History}}]",
        ])
        .success();
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            format!("{img}:latest [{img}:latest]"),
            "<none>:<none> [localhost/other:x, localhost/la:2, localhost/la:1]".to_string(),
            "localhost/lb:1 [localhost/other:x, localhost/lb:1]".to_string(),
            "localhost/other:x [localhost/other:x, localhost/lb:1]".to_string(),
        ],
        "{}",
        r.stdout
    );
    for args in [
        &["images", "--history"][..],
        &["image", "list", "--history"],
    ] {
        let r = env.hutch(args).success();
        let header = r.stdout.lines().next().unwrap_or_default();
        assert!(header.ends_with("SIZE        HISTORY"), "{}", r.stdout);
        let none = r.stdout.lines().find(|l| l.starts_with("<none>"));
        assert!(
            none.is_some_and(|l| l.ends_with("localhost/other:x, localhost/la:2, localhost/la:1")),
            "{}",
            r.stdout
        );
    }
    let r = env.hutch(&["images", "--format", "json"]).success();
    let v = r.json();
    let lb = v
        .as_array()
        .and_then(|a| a.iter().find(|i| i["Names"].to_string().contains("lb:1")))
        .unwrap_or_else(|| r.fail("no lb image in the JSON"));
    assert_eq!(
        lb["History"],
        serde_json::json!(["localhost/other:x", "localhost/lb:1"])
    );
    // Without --history there is no such column.
    let r = env.hutch(&["images"]).success();
    assert!(!r.stdout.contains("HISTORY"), "{}", r.stdout);
}

#[test]
fn issue13_misc_image_tree_whatrequires_walks_the_images_built_on_it() {
    // issue #13 item 5: `image tree --whatrequires` lists the image's top
    // layer and the layers built on it, branching where a layer has
    // siblings, as Podman's layer tree; every layer that is an image's
    // top is marked with that image's names.
    let env = Env::new();
    let img = image("busybox");
    let base = format!("{img}:latest");
    let commit = |from: &str, script: &str, name: &str| {
        env.hutch(&["rm", "-f", "w"]).success();
        env.hutch(&["run", "--name", "w", from, "sh", "-c", script])
            .success();
        env.hutch(&["commit", "-q", "w", name]).success();
    };
    commit(&img, "echo 1 > /one", "localhost/d1:1");
    commit("localhost/d1:1", "echo 2 > /two", "localhost/d2:1");
    commit(&img, "echo 3 > /three", "localhost/d3:1");
    env.hutch(&["rm", "-f", "w"]).success();
    let shape = |r: &Run| -> Vec<String> {
        r.stdout
            .lines()
            .skip(4)
            .map(|l| {
                let (draw, rest) = l.split_once("ID: ").unwrap_or((l, ""));
                let top = rest.split_once(" Top Layer of: ").map_or("", |(_, t)| t);
                format!("{draw}{top}")
            })
            .collect()
    };
    let r = env
        .hutch(&["image", "tree", "--whatrequires", &img])
        .success();
    assert_eq!(
        shape(&r),
        [
            format!("├── [{base}]"),
            "├── [localhost/d1:1]".to_string(),
            "│   └── [localhost/d2:1]".to_string(),
            "└── [localhost/d3:1]".to_string(),
        ],
        "{}",
        r.stdout
    );
    let r = env
        .hutch(&["image", "tree", "--whatrequires", "localhost/d1:1"])
        .success();
    // d1's layer has a sibling (d3's), so it is a branch, as in Podman.
    assert_eq!(
        shape(&r),
        ["└── [localhost/d1:1]", "    └── [localhost/d2:1]"],
        "{}",
        r.stdout
    );
    // Without the flag: the image's own layers, bottom first, each marked.
    let r = env.hutch(&["image", "tree", "localhost/d2:1"]).success();
    assert_eq!(
        shape(&r),
        [
            format!("├── [{base}]"),
            "├── [localhost/d1:1]".to_string(),
            "└── [localhost/d2:1]".to_string(),
        ],
        "{}",
        r.stdout
    );
    env.hutch(&["image", "tree", "--whatrequires", "nosuch"])
        .tool_error(&["nosuch"]);
}

#[test]
fn issue13_misc_volume_mount_under_unshare_gives_the_volumes_files() {
    // issue #13 item 6: `volume mount` prints the volume's _data (a tmpfs
    // volume gets its tmpfs there), `volume unmount` undoes it; both only
    // under `hutch unshare`, as Podman needs `podman unshare`.
    let env = Env::new();
    env.hutch(&["volume", "create", "local"]).success();
    env.hutch(&[
        "volume",
        "create",
        "-o",
        "type=tmpfs",
        "-o",
        "o=size=1m",
        "scratch",
    ])
    .success();
    let data = |name: &str| env.store().join("volumes").join(name).join("_data");
    for args in [
        &["volume", "mount", "local"][..],
        &["volume", "unmount", "local"],
    ] {
        env.hutch(args)
            .tool_error(&["user namespace"])
            .stderr_has("Hint: ")
            .stdout_is("");
    }
    let h = crate::common::hutch_bin().display().to_string();
    let script = format!(
        "set -e; {h} volume mount local; echo kept > \"$({h} volume mount local)/f\"; \
         p=$({h} volume mount scratch); {h} volume mount scratch; \
         grep -c \" $p \" /proc/self/mountinfo; echo gone > \"$p/g\"; \
         {h} volume unmount scratch; {h} volume unmount local; \
         grep -c \" $p \" /proc/self/mountinfo || true; test ! -e \"$p/g\" && echo unmounted; \
         {h} volume mount nosuch 2>&1 || echo \"exit $?\""
    );
    let local = data("local").display().to_string();
    let scratch = data("scratch").display().to_string();
    env.hutch(&["unshare", "sh", "-c", &script])
        .success()
        .stdout_is(&format!(
            "{local}\n{scratch}\n1\nscratch\nlocal\n0\nunmounted\n\
             Error: no volume with name \"nosuch\" found: no such volume\n\
             Hint: `hutch volume ls` lists the volumes\nexit 125"
        ));
    // The local volume's file is there for containers; the tmpfs's went.
    assert_eq!(
        std::fs::read_to_string(data("local").join("f")).unwrap(),
        "kept\n"
    );
    env.hutch(&[
        "run",
        "--rm",
        "-v",
        "local:/v",
        &image("busybox"),
        "cat",
        "/v/f",
    ])
    .success()
    .stdout_is("kept");
    assert!(!data("scratch").join("g").exists());
    env.hutch(&["volume", "mount"]).code(125);
    env.hutch(&["volume", "mount", "a", "b"]).code(125);
}

#[test]
fn issue13_misc_unshare_rootless_netns_false_keeps_the_hosts_network() {
    // issue #13 item 7: `--rootless-netns=false` is plain `unshare`: a
    // user namespace of its own, the host's network namespace (the
    // lifecycle tier tests `--rootless-netns` in the network holder's).
    let env = Env::new();
    let host = std::fs::read_link("/proc/self/ns/net").unwrap();
    env.hutch(&[
        "unshare",
        "--rootless-netns=false",
        "sh",
        "-c",
        "readlink /proc/self/ns/net; id -u",
    ])
    .success()
    .stdout_is(&format!("{}\n0", host.display()));
}

#[test]
fn issue13_misc_closed_stdout_ends_quietly() {
    // `hutch … | head -1`: output to a pipe nobody reads any more ends the
    // command with 141 (killed by SIGPIPE, as Podman is) and no panic.
    let env = Env::new();
    env.pull(&image("busybox")).success();
    for args in [&["images"][..], &["info"], &["version"]] {
        let (read, write) = nix::unistd::pipe().unwrap();
        drop(read);
        let mut c = env.command(args);
        c.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::from(write))
            .stderr(std::process::Stdio::piped());
        let out = c.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
