//! How the command line is read, and `rm`'s exit codes, next to Podman
//! (issue #13).

use super::{as_is, same, setup, sorted_lines, Cleanup};

/// Stderr's `Error:` line, which scripts match.
fn error_line(r: &super::common::Run) -> String {
    r.stderr_lines("Error:").join("\n")
}

#[test]
fn compat_command_line_rules_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    for args in [
        // Everything after the image is the command's, dashes included.
        vec!["run", "--rm", "--entrypoint", "sh", &img, "-c", "echo hi"],
        vec!["run", "--rm", &img, "echo", "--name", "-e", "x"],
        // The last of a repeated flag wins; booleans take =false.
        vec![
            "run",
            "--rm",
            "--hostname",
            "a",
            "--hostname",
            "b",
            &img,
            "hostname",
        ],
        vec![
            "run",
            "--rm=true",
            "-e",
            "A=1",
            "-e",
            "A=2",
            &img,
            "sh",
            "-c",
            "echo $A",
        ],
        vec![
            "run",
            "--rm",
            "-i=false",
            "-t=false",
            &img,
            "sh",
            "-c",
            "[ -t 0 ] || echo notty",
        ],
        vec!["run", "--rm", "--privileged=false", &img, "true"],
    ] {
        same(&env, &args, as_is);
    }
    // An unknown flag before the image, and a bad boolean: 125 both.
    for args in [
        vec!["run", "--rm", "--bogus", &img, "true"],
        vec!["run", "--rm=maybe", &img, "true"],
    ] {
        let (_, h) = same(&env, &args, as_is);
        h.code(125);
    }
}

#[test]
fn compat_rm_exit_codes_and_ignore_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    // The last --name wins.
    for n in ["a", "b"] {
        let args = ["create", "--name", "x", "--name", n, &img, "true"];
        same(&env, &args, |_| String::new());
    }
    // A missing name: exit 1 with Podman's words, and nothing removed.
    let (p, h) = same(&env, &["rm", "a", "nosuch", "b"], as_is);
    let h = h.code(1);
    assert_eq!(error_line(&h), error_line(&p), "the Error: lines differ");
    same(&env, &["ps", "-a", "--format", "{{.Names}}"], sorted_lines);
    // -i and -f ignore it.
    for flags in [&["-i"][..], &["-f"][..], &["--ignore", "--force"][..]] {
        let mut args = vec!["rm"];
        args.extend_from_slice(flags);
        args.push("nosuch");
        let (_, h) = same(&env, &args, as_is);
        h.code(0);
    }
    // A running container: exit 2 without -f; -f -t 0 kills it at once.
    same(
        &env,
        &["run", "-d", "--name", "r", &img, "sleep", "100"],
        |_| String::new(),
    );
    let (_, h) = same(&env, &["rm", "r"], as_is);
    h.code(2);
    let (_, h) = same(&env, &["rm", "-f", "-t", "0", "r", "a", "b"], sorted_lines);
    h.code(0);
    same(&env, &["ps", "-a", "--format", "{{.Names}}"], as_is);
}

#[test]
fn compat_rmi_and_volume_rm_exit_codes_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    // Missing: exit 1, Podman's words; --ignore: 0.
    for args in [&["rmi", "nosuch"][..], &["volume", "rm", "nosuch"][..]] {
        let (p, h) = same(&env, args, as_is);
        let h = h.code(1);
        assert_eq!(error_line(&h), error_line(&p), "the Error: lines differ");
    }
    let (_, h) = same(&env, &["rmi", "-i", "nosuch"], as_is);
    h.code(0);
    // In use: exit 2.
    same(&env, &["volume", "create", "vv"], as_is);
    same(
        &env,
        &["create", "--name", "u", "-v", "vv:/d", &img, "true"],
        |_| String::new(),
    );
    let (_, h) = same(&env, &["volume", "rm", "vv"], |_| String::new());
    h.code(2);
    let (_, h) = same(&env, &["rmi", &img], |_| String::new());
    h.code(2);
    same(&env, &["rm", "u"], as_is);
    same(&env, &["volume", "rm", "vv"], as_is);
}

#[test]
fn compat_every_format_json_is_one_json_document() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    same(&env, &["volume", "create", "j1"], as_is);
    same(&env, &["create", "--name", "jc", &img, "true"], |_| {
        String::new()
    });
    for args in [
        &["volume", "ls", "--format", "json"][..],
        &["images", "--format", "json"][..],
        &["ps", "-a", "--format", "json"][..],
        &["history", "--format", "json", &img][..],
        &["volume", "inspect", "j1"][..],
        &["inspect", "jc"][..],
    ] {
        let (p, h) = same(&env, args, |_| String::new());
        let parse = |r: &super::common::Run| -> serde_json::Value {
            serde_json::from_str(&r.stdout)
                .unwrap_or_else(|e| r.fail(&format!("{args:?} printed no JSON document: {e}")))
        };
        let (pj, hj) = (parse(&p), parse(&h));
        let len = |v: &serde_json::Value| v.as_array().map(Vec::len);
        assert_eq!(
            len(&hj),
            len(&pj),
            "{args:?}: hutch and podman list different counts"
        );
    }
    same(&env, &["rm", "jc"], as_is);
}

#[test]
fn compat_images_takes_a_name_to_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let repo = |s: &str| {
        s.lines()
            .map(|l| l.split(':').next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    for name in [img.as_str(), "busybox", "nosuchimage"] {
        let (_, h) = same(&env, &["images", "--format", "{{.Repository}}", name], repo);
        h.code(0);
    }
}

#[test]
fn compat_all_ignore_and_cidfile_of_stop_kill_start_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let count = line_count;
    same(&env, &["create", "--name", "c1", &img, "true"], |_| {
        String::new()
    });
    same(
        &env,
        &["run", "-d", "--name", "r1", &img, "sleep", "100"],
        |_| String::new(),
    );
    // kill --all signals the running one only; stop --all prints all.
    let (_, h) = same(&env, &["kill", "--all", "-s", "CONT"], count);
    assert_eq!(count(&h.stdout), "1", "{h}");
    let (_, h) = same(&env, &["stop", "-t", "0", "--all"], count);
    assert_eq!(count(&h.stdout), "2", "{h}");
    // -i leaves out what does not exist, silently.
    let (_, h) = same(&env, &["stop", "-i", "nosuch", "c1"], as_is);
    h.stdout_is("c1");
    let (_, h) = same(&env, &["stop", "nosuch"], as_is);
    h.code(125);
    // --cidfile names a container by the id in a file.
    let id = env
        .hutch(&["inspect", "--format", "{{.Id}}", "c1"])
        .success()
        .stdout;
    let file = env.home.join("cid");
    std::fs::write(&file, id.trim()).unwrap();
    let r = env
        .hutch(&["stop", "--cidfile", &file.to_string_lossy()])
        .success();
    assert_eq!(r.stdout.trim(), id.trim(), "{r}");
    same(&env, &["rm", "-a", "-f"], count);
}

#[test]
fn compat_log_levels_match() {
    let (env, _) = setup();
    let _cleanup = Cleanup(&env);
    for level in ["trace", "warning", "fatal", "panic", "error"] {
        let (_, h) = same(&env, &["--log-level", level, "volume", "ls", "-q"], as_is);
        h.code(0);
    }
    let (p, h) = same(&env, &["--log-level", "bogus", "volume", "ls"], as_is);
    let h = h.code(1);
    assert_eq!(h.stderr.trim(), p.stderr.trim(), "the messages differ");
}

#[test]
fn compat_remaining_lifecycle_flags_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let count = line_count;
    for n in ["s1", "s2"] {
        same(&env, &["create", "--name", n, &img, "sleep", "100"], |_| {
            String::new()
        });
    }
    // start --all starts what is not running; restart --all restarts all.
    let (_, h) = same(&env, &["start", "--all"], count);
    assert_eq!(count(&h.stdout), "2", "{h}");
    let (_, h) = same(&env, &["restart", "-t", "0", "--all"], count);
    assert_eq!(count(&h.stdout), "2", "{h}");
    // kill and rm --cidfile (hutch alone: the ids are its own), rm --depend.
    let id = |n: &str| {
        env.hutch(&["inspect", "--format", "{{.Id}}", n])
            .success()
            .stdout
    };
    let file = env.home.join("cid");
    std::fs::write(&file, id("s1").trim()).unwrap();
    let file = file.to_string_lossy().into_owned();
    let r = env.hutch(&["kill", "--cidfile", &file]).success();
    assert_eq!(r.stdout.trim(), id("s1").trim(), "{r}");
    env.hutch(&["wait", "s1"]).success();
    env.hutch(&["rm", "--cidfile", &file]).success();
    // The same end state on Podman's side.
    super::podman(&env, &["rm", "-f", "-t", "0", "s1"]);
    let id_s2 = id("s2");
    let (_, h) = same(&env, &["rm", "-f", "-t", "0", "--depend", "s2"], count);
    assert_eq!(h.stdout.trim(), id_s2.trim(), "{h}");
    // rmi -a removes every image: an `Untagged:` line per name, then
    // `Deleted:` with the id (the same on both sides).
    let (_, h) = same(&env, &["rmi", "-a"], sorted_lines);
    h.code(0).stdout_has("Untagged: ").stdout_has("Deleted: ");
    same(&env, &["images", "-q"], as_is);
}

/// The number of non-blank lines, for output that holds ids.
fn line_count(s: &str) -> String {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .count()
        .to_string()
}

#[test]
fn compat_latest_filter_and_exists_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    // With no container, --latest fails: 125, but 1 for rm (missing).
    for (args, code) in [(&["stop", "-l"][..], 125), (&["rm", "-l"][..], 1)] {
        let (p, h) = same(&env, args, as_is);
        let h = h.code(code);
        assert_eq!(error_line(&h), error_line(&p), "the Error: lines differ");
    }
    // exists: 0 or 1, nothing printed.
    for (args, code) in [
        (vec!["container", "exists", "nosuch"], 1),
        (vec!["image", "exists", "nosuch"], 1),
        (vec!["image", "exists", &img], 0),
    ] {
        let (_, h) = same(&env, &args, as_is);
        h.code(code).stdout_is("");
    }
    for n in ["l1", "l2"] {
        same(&env, &["create", "--name", n, &img, "sleep", "100"], |_| {
            String::new()
        });
    }
    same(&env, &["container", "exists", "l1"], as_is);
    // --latest is the container created last.
    let (_, h) = same(&env, &["inspect", "-l", "--format", "{{.Name}}"], as_is);
    h.stdout_is("l2");
    let (_, h) = same(&env, &["start", "-l"], line_count);
    h.code(0);
    same(&env, &["ps", "--format", "{{.Names}}"], as_is);
    same(&env, &["port", "-l"], as_is);
    // Misuse: Podman's words, 125.
    for args in [
        &["stop", "-l", "l1"][..],
        &["stop", "-a", "-l"][..],
        &["stop", "--filter", "name=l1", "l2"][..],
    ] {
        let (p, h) = same(&env, args, as_is);
        let h = h.code(125);
        assert_eq!(error_line(&h), error_line(&p), "the Error: lines differ");
    }
    // --filter selects by ps's keys.
    let (_, h) = same(
        &env,
        &["stop", "-t", "0", "--filter", "name=l2"],
        line_count,
    );
    assert_eq!(line_count(&h.stdout), "1", "{h}");
    same(&env, &["ps", "--format", "{{.Names}}"], as_is);
    let (_, h) = same(&env, &["rm", "-f", "-l"], line_count);
    assert_eq!(line_count(&h.stdout), "1", "{h}");
    same(&env, &["ps", "-a", "--format", "{{.Names}}"], as_is);
}

#[test]
fn compat_diff_json_inspect_size_and_logs_color_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let script = "echo hi && mkdir /x && touch /x/y && rm /bin/ls";
    for n in ["d1", "d2"] {
        let (_, h) = same(&env, &["run", "--name", n, &img, "sh", "-c", script], as_is);
        h.stdout_is("hi");
    }
    // Podman's keys and five-space indentation; an empty list left out.
    // The order within a list is the walk's, which Podman leaves to chance.
    let lists_sorted = |s: &str| -> String {
        let mut v: serde_json::Value = serde_json::from_str(s).expect("diff prints JSON");
        for list in v.as_object_mut().expect("an object").values_mut() {
            if let Some(items) = list.as_array_mut() {
                items.sort_by_key(|i| i.to_string());
            }
        }
        v.to_string()
    };
    let (_, h) = same(&env, &["diff", "--format", "json", "d1"], lists_sorted);
    h.stdout_has("{\n     \"changed\": [\n          \"/")
        .stdout_has("\n     \"added\": [\n          \"/x\",");
    let (p, h) = same(&env, &["diff", "--format", "yaml", "d1"], as_is);
    let h = h.code(125);
    assert_eq!(error_line(&h), error_line(&p), "the Error: lines differ");
    // --size adds the sizes; without it they are not there.
    let keys = |s: &str| -> String {
        let v: serde_json::Value = serde_json::from_str(s).expect("inspect prints JSON");
        let o = v[0].as_object().expect("an object");
        format!(
            "{} {}",
            o.contains_key("SizeRw"),
            o.contains_key("SizeRootFs")
        )
    };
    let (_, h) = same(&env, &["inspect", "--size", "d1"], keys);
    assert_eq!(keys(&h.stdout), "true true", "{h}");
    same(&env, &["inspect", "d1"], keys);
    // --color gives each container's lines a colour of its own.
    for n in ["c1", "c2"] {
        same(
            &env,
            &["run", "-d", "--name", n, &img, "echo", "hi"],
            |_| String::new(),
        );
        same(&env, &["wait", n], as_is);
    }
    // Podman reads the two logs at once, so which comes first is chance:
    // the lines are compared as a set.
    let (_, h) = same(
        &env,
        &["logs", "--color", "--names", "c1", "c2"],
        sorted_lines,
    );
    h.stdout_has("\x1b[37mc1 hi\x1b[0m");
}

#[test]
fn compat_listing_sort_and_noheading_match() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    for n in ["zz1", "aa2"] {
        same(&env, &["create", "--name", n, &img, "true"], |_| {
            String::new()
        });
        // Created a second apart, so the order by creation is certain.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    for args in [
        // Podman lists oldest first by default.
        &["ps", "-a", "--format", "{{.Names}}"][..],
        &["ps", "-a", "--sort", "names", "--format", "{{.Names}}"][..],
        &["ps", "-a", "--sort", "runningfor", "--format", "{{.Names}}"][..],
        &["ps", "-a", "--noheading", "--format", "table {{.Names}}"][..],
        &["images", "--noheading", "--format", "table {{.Repository}}"][..],
        &["volume", "ls", "--noheading"][..],
    ] {
        same(&env, args, as_is);
    }
    // Podman lists the keys in Go's map order, which varies from run to
    // run: the sentence before the list is compared.
    let (p, h) = same(&env, &["images", "--sort", "bogus"], as_is);
    let h = h.code(125);
    let before_list = |r: &super::common::Run| {
        let line = error_line(r);
        line.split(" Choose from:")
            .next()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(before_list(&h), before_list(&p), "the Error: lines differ");
    h.stderr_has("Choose from: created, id, repository, size, tag");
    // --ns shows the namespace columns; a stopped container has none.
    let (_, h) = same(&env, &["ps", "-a", "--ns", "--noheading"], line_count);
    assert_eq!(line_count(&h.stdout), "2", "{h}");
}
