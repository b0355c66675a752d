//! Issue #13 (Podman's CLI contract): the `run` and `create` flags hutch
//! lacked, each compared with what Podman 4.3 does.

use crate::common::{image, Env};

/// An image with labels `img=1` and `shared=image`, committed from the
/// busybox fixture.
fn labelled_image(env: &Env) -> String {
    let name = "localhost/labelled:1";
    env.hutch(&["create", "--name", "base", &image("busybox"), "true"])
        .success();
    env.hutch(&[
        "commit",
        "-q",
        "-c",
        "LABEL img=1 shared=image",
        "base",
        name,
    ])
    .success();
    env.hutch(&["rm", "base"]).success();
    name.to_string()
}

#[test]
fn issue13_run_labels_merge_over_the_images_and_ps_filters_them() {
    // issue #13 item 1: --label, --label-file and --annotation are stored,
    // shown by inspect and ps, and `ps --filter label=` ANDs as Podman's.
    let env = Env::new();
    let img = labelled_image(&env);
    let file = env.dir.join("labels");
    std::fs::write(&file, "# comment\n\nf1=file\n  sp= x y \nshared=file\n").unwrap();
    let file = file.to_str().unwrap();
    env.hutch(&[
        "create",
        "--name",
        "lab",
        "--label-file",
        file,
        "-l",
        "f1=flag",
        "--label",
        "shared=ctr",
        "-l",
        "bare",
        "--annotation",
        "note=a=b",
        &img,
        "true",
    ])
    .success();
    env.hutch(&["create", "--name", "plain", &image("busybox"), "true"])
        .success();
    let r = env
        .hutch(&["inspect", "lab", "--format", "{{json .Config.Labels}}"])
        .success();
    let labels: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let want = serde_json::json!({
        "bare": "", "f1": "flag", "img": "1", "shared": "ctr", "sp": " x y "
    });
    if labels != want {
        r.fail(&format!("expected labels {want}"));
    }
    env.hutch(&["inspect", "lab", "--format", "{{json .Config.Annotations}}"])
        .success()
        .stdout_is(r#"{"note":"a=b"}"#);
    env.hutch(&["inspect", "plain", "--format", "{{json .Config.Labels}}"])
        .success()
        .stdout_is("null");
    env.hutch(&[
        "ps",
        "-a",
        "--filter",
        "name=lab",
        "--format",
        "{{.Labels}}",
    ])
    .success()
    .stdout_is("map[bare: f1:flag img:1 shared:ctr sp: x y ]");
    let ps = |filters: &[&str]| {
        let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
        for f in filters {
            args.extend(["--filter", f]);
        }
        env.hutch(&args).success().stdout.trim().to_string()
    };
    assert_eq!(ps(&["label=img"]), "lab");
    assert_eq!(ps(&["label=img=1", "label=bare"]), "lab");
    assert_eq!(ps(&["label=shared="]), "lab");
    assert_eq!(ps(&["label=img", "label=zz"]), "");
    assert_eq!(ps(&["label=f1=file"]), "");
    let json = env
        .hutch(&["ps", "-a", "--filter", "name=plain", "--format", "json"])
        .success()
        .json();
    assert_eq!(json[0]["Labels"], serde_json::Value::Null);
}

#[test]
fn issue13_run_bad_labels_fail_before_anything_is_created() {
    // issue #13 item 1: Podman exits 125 for these.
    let env = Env::new();
    let img = image("busybox");
    for bad in [
        &["-l", "=v"][..],
        &["--annotation", "novalue"],
        &["--label-file", "/nonexistent/labels"],
    ] {
        let mut args = vec!["create"];
        args.extend(bad);
        args.extend([img.as_str(), "true"]);
        env.hutch(&args).tool_error(&[]);
    }
    let file = env.dir.join("spaced");
    std::fs::write(&file, "a b=1\n").unwrap();
    env.hutch(&[
        "create",
        "--label-file",
        file.to_str().unwrap(),
        &img,
        "true",
    ])
    .tool_error(&["white space"]);
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
}

/// The text of `path`, failing `r` when it cannot be read.
fn read(r: &crate::common::Run, path: &std::path::Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| r.fail(&format!("reading {}: {e}", path.display())))
}

#[test]
fn issue13_run_cidfile_pidfile_and_conmon_pidfile_are_written_as_podman_does() {
    // issue #13 item 2: the id (no newline) in --cidfile, which must not
    // exist (Podman: exit 125, nothing created); the container's and its
    // monitor's pids in --pidfile and --conmon-pidfile, left in place.
    let env = Env::new();
    let img = image("busybox");
    let cid = env.dir.join("c.cid");
    let pid = env.dir.join("c.pid");
    let mon = env.dir.join("m.pid");
    let path = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let r = env
        .hutch(&[
            "run",
            "-d",
            "--name",
            "ids",
            "--cidfile",
            &path(&cid),
            "--pidfile",
            &path(&pid),
            "--conmon-pidfile",
            &path(&mon),
            &img,
            "sleep",
            "1000",
        ])
        .success();
    let id = r.stdout.trim().to_string();
    assert_eq!(read(&r, &cid), id);
    let r = env
        .hutch(&[
            "inspect",
            "ids",
            "--format",
            "{{.State.Pid}} {{.State.ConmonPid}} {{.PidFile}} {{.ConmonPidFile}}",
        ])
        .success();
    let want = format!(
        "{} {} {} {}",
        read(&r, &pid),
        read(&r, &mon),
        path(&pid),
        path(&mon)
    );
    let r = r.stdout_is(&want);
    // The monitor is hutch, re-executed.
    let exe = std::fs::read_link(format!("/proc/{}/exe", read(&r, &mon)))
        .unwrap_or_else(|e| r.fail(&format!("the monitor's exe: {e}")));
    if !exe.to_string_lossy().contains("hutch") {
        r.fail(&format!("--conmon-pidfile names {exe:?}, not hutch"));
    }
    env.hutch(&["rm", "-f", "ids"]).success();
    assert!(cid.exists() && pid.exists(), "the files stay, as in Podman");

    env.hutch(&["create", "--cidfile", &path(&cid), &img, "true"])
        .tool_error(&["container id file", "exists"]);
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");

    // In the foreground hutch itself is the monitor.
    let fg = env.dir.join("fg.cid");
    let r = env
        .hutch(&[
            "run",
            "--rm",
            "--cidfile",
            &path(&fg),
            "--conmon-pidfile",
            &path(&mon),
            &img,
            "true",
        ])
        .success();
    assert_eq!(read(&r, &fg).len(), 64);
}
