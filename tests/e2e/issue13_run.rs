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

/// `inspect NAME --format FORMAT`, trimmed.
fn inspect(env: &Env, name: &str, format: &str) -> String {
    env.hutch(&["inspect", name, "--format", format])
        .success()
        .stdout
        .trim()
        .to_string()
}

#[test]
fn issue13_run_replace_removes_the_container_of_that_name_first() {
    // issue #13 item 3: Podman refuses --replace without --name (125),
    // else stops and removes the old container before creating.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["create", "--replace", &img, "true"])
        .tool_error(&["cannot replace container without --name"]);
    let old = env
        .hutch(&["run", "-d", "--name", "r", &img, "sleep", "1000"])
        .success()
        .stdout
        .trim()
        .to_string();
    // No such container yet under this name: --replace just creates.
    env.hutch(&["create", "--replace", "--name", "other", &img, "true"])
        .success();
    let new = env
        .hutch(&[
            "run",
            "-d",
            "--replace",
            "--name",
            "r",
            &img,
            "sleep",
            "1000",
        ])
        .success()
        .stdout
        .trim()
        .to_string();
    assert_ne!(old, new);
    env.hutch(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Names}}"])
        .success()
        .stdout_has(&format!("{new} r"));
    env.hutch(&["inspect", &old]).code(125);
    env.hutch(&["rm", "-f", "r", "other"]).success();
}

#[test]
fn issue13_run_timeout_kills_the_container_with_podmans_exit_code() {
    // issue #13 item 3: Podman's --timeout kills the container; its
    // foreground run exits 255 and the recorded exit code is -1.
    let env = Env::new();
    let img = image("busybox");
    let started = std::time::Instant::now();
    env.hutch(&["run", "--rm", "--timeout", "1", &img, "sleep", "60"])
        .code(255);
    assert!(
        started.elapsed().as_secs() < 30,
        "the timeout did not kill it"
    );
    env.hutch(&["run", "--rm", "--timeout", "30", &img, "true"])
        .success();
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "t",
        "--timeout",
        "1",
        &img,
        "sleep",
        "60",
    ])
    .success();
    env.hutch(&["wait", "t"]).success().stdout_is("-1");
    assert_eq!(
        inspect(&env, "t", "{{.State.ExitCode}} {{.Config.Timeout}}"),
        "-1 1"
    );
}

#[test]
fn issue13_run_stop_signal_and_stop_timeout_are_what_stop_uses() {
    // issue #13 item 3: stop sends --stop-signal and waits --stop-timeout
    // seconds when not given -t; inspect shows them as Podman does.
    let env = Env::new();
    let img = image("busybox");
    let script = "trap 'echo got-usr1' USR1; echo ready; while :; do sleep 0.1; done";
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "s",
        "--stop-signal",
        "USR1",
        "--stop-timeout",
        "1",
        &img,
        "sh",
        "-c",
        script,
    ])
    .success();
    assert_eq!(
        inspect(&env, "s", "{{.Config.StopSignal}} {{.Config.StopTimeout}}"),
        "10 1"
    );
    crate::common::wait_for(
        "the container's ready line",
        std::time::Duration::from_secs(20),
        || {
            let r = env.hutch(&["logs", "s"]);
            match r.stdout.contains("ready") {
                true => Ok(()),
                false => Err(r.to_string()),
            }
        },
    );
    let started = std::time::Instant::now();
    env.hutch(&["stop", "s"]).success();
    // The trap kept it running: SIGKILL after 1 s, not Podman's default 10.
    assert!(
        started.elapsed().as_secs() < 8,
        "stop waited {:?}",
        started.elapsed()
    );
    assert_eq!(inspect(&env, "s", "{{.State.ExitCode}}"), "137");
    env.hutch(&["logs", "s"]).success().stdout_has("got-usr1");
    env.hutch(&["create", "--name", "d", &img, "true"])
        .success();
    assert_eq!(
        inspect(&env, "d", "{{.Config.StopSignal}} {{.Config.StopTimeout}}"),
        "15 10"
    );
    env.hutch(&["create", "--stop-signal", "NOPE", &img, "true"])
        .tool_error(&["invalid signal"]);
}

#[test]
fn issue13_run_rmi_removes_the_image_after_a_foreground_run() {
    // issue #13 item 3: --rmi is run's alone (Podman's create does not
    // take it); the image goes unless a container still uses it, which
    // is reported without changing the exit code.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["create", "--name", "base", &img, "true"])
        .success();
    env.hutch(&["commit", "-q", "base", "localhost/gone:1"])
        .success();
    env.hutch(&["commit", "-q", "base", "localhost/kept:1"])
        .success();
    env.hutch(&["create", "--rmi", "localhost/gone:1", "true"])
        .code(125);
    env.hutch(&[
        "run",
        "--rm",
        "--rmi",
        "localhost/gone:1",
        "sh",
        "-c",
        "exit 3",
    ])
    .code(3);
    let names = || {
        env.hutch(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
            .success()
            .stdout
    };
    assert!(!names().contains("localhost/gone:1"), "{}", names());
    env.hutch(&["create", "--name", "user", "localhost/kept:1", "true"])
        .success();
    let r = env
        .hutch(&["run", "--rm", "--rmi", "localhost/kept:1", "true"])
        .success();
    if r.stderr_lines("Error:").is_empty() {
        r.fail("expected an Error: line for the image in use");
    }
    assert!(names().contains("localhost/kept:1"), "{}", names());
}

#[test]
fn issue13_run_sig_proxy_false_keeps_signals_from_the_container() {
    // issue #13 item 3: by default a signal to the foreground hutch goes
    // to the container (its trap runs); --sig-proxy=false keeps it away.
    let env = Env::new();
    let img = image("busybox");
    let script = "trap 'echo got-term; exit 3' TERM; echo ready; sleep 3 & wait; echo done";
    for (flag, code, out) in [
        ("--sig-proxy=true", 3, "got-term"),
        ("--sig-proxy=false", 0, "done"),
    ] {
        let p = env.spawn(&["run", "--rm", flag, &img, "sh", "-c", script]);
        // Give the container time to set its trap.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &p.id().to_string()])
            .status()
            .expect("running kill");
        assert!(killed.success(), "kill -TERM failed");
        p.wait().code(code).stdout_has(out);
    }
}

#[test]
fn issue13_run_workdir_must_exist_and_entrypoint_takes_json() {
    // issue #13 item 4: Podman exits 126 for a -w directory the image
    // lacks (its words), creates the image's WorkingDir and one a mount
    // holds; --entrypoint takes a JSON array.
    let env = Env::new();
    let img = image("busybox");
    let r = env
        .hutch(&["run", "--rm", "-w", "/does/not/exist", &img, "pwd"])
        .error_exit(
            126,
            &["workdir \"/does/not/exist\" does not exist on container"],
        );
    assert_eq!(r.stdout, "");
    env.hutch(&["run", "--rm", "-w", "/etc/passwd", &img, "pwd"])
        .error_exit(126, &["exists on container", "but is not a directory"]);
    env.hutch(&["run", "--rm", "-w", "/etc", &img, "pwd"])
        .success()
        .stdout_is("/etc");
    env.hutch(&[
        "run",
        "--rm",
        "--tmpfs",
        "/scratch",
        "-w",
        "/scratch/new",
        &img,
        "pwd",
    ])
    .success()
    .stdout_is("/scratch/new");
    // The config fixture's WorkingDir /work is not in its layer.
    env.hutch(&["run", "--rm", "--entrypoint", "pwd", &image("config")])
        .success()
        .stdout_is("/work");
    env.hutch(&[
        "run",
        "--rm",
        "--entrypoint",
        r#"["/bin/echo","x"]"#,
        &img,
        "y",
    ])
    .success()
    .stdout_is("x y");
    env.hutch(&["run", "--rm", "--entrypoint", "[]", &img, "echo", "z"])
        .success()
        .stdout_is("z");
}

#[test]
fn issue13_run_env_flags_shape_the_environment_as_podman_does() {
    // issue #13 item 3: each case compared with Podman 4.3.
    let mut env = Env::new();
    // ftp_proxy: hutch's own registry client would use an http_proxy.
    env.set_env("ftp_proxy", "ftp://proxy:1");
    env.set_env("FROM_HOST", "host");
    let img = image("busybox");
    let run_env = |flags: &[&str]| {
        let mut args = vec!["run", "--rm"];
        args.extend(flags);
        args.extend([img.as_str(), "env"]);
        let r = env.hutch(&args).success();
        let mut lines: Vec<String> = r.stdout.lines().map(String::from).collect();
        lines.retain(|l| !l.starts_with("HOSTNAME=") && !l.starts_with("HOME="));
        lines.sort();
        lines.join(" ")
    };
    let path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    // --http-proxy is on by default.
    assert_eq!(
        run_env(&[]),
        format!("{path} TERM=xterm container=podman ftp_proxy=ftp://proxy:1")
    );
    assert_eq!(
        run_env(&[
            "--http-proxy=false",
            "--unsetenv",
            "TERM",
            "--unsetenv",
            "A",
            "-e",
            "A=1"
        ]),
        format!("A=1 {path} container=podman")
    );
    assert_eq!(run_env(&["--unsetenv-all", "-e", "A=1"]), "A=1");
    assert_eq!(
        run_env(&[
            "--http-proxy=false",
            "--env-merge",
            "PATH=${PATH}:/extra",
            "--env-merge",
            "NOPE=x"
        ]),
        format!("{path}:/extra TERM=xterm container=podman")
    );
    let host = run_env(&["--env-host", "-e", "FROM_HOST=flag"]);
    assert!(host.contains("FROM_HOST=flag"), "{host}");
    assert!(host.contains("XDG_RUNTIME_DIR="), "{host}");
}

#[test]
fn issue13_run_tz_umask_shm_size_sysctl_and_expose_apply() {
    // issue #13 item 3: Podman's checks (exit 125) and effects.
    let env = Env::new();
    let img = image("busybox");
    let sh = |flags: &[&str], script: &str| {
        let mut args = vec!["run", "--rm"];
        args.extend(flags);
        args.extend([img.as_str(), "sh", "-c", script]);
        env.hutch(&args)
    };
    sh(&["--tz", "Asia/Tokyo"], "date +%Z; echo \"TZ=$TZ\"")
        .success()
        .stdout_is("JST\nTZ=");
    sh(&["--tz", "Bogus/Zone"], "true").tool_error(&["Bogus/Zone"]);
    sh(
        &["--umask", "0077"],
        "umask; touch /tmp/f; stat -c %a /tmp/f",
    )
    .success()
    .stdout_is("0077\n600");
    sh(&[], "umask").success().stdout_is("0022");
    sh(&["--umask", "99999"], "true").tool_error(&["umask"]);
    sh(
        &["--shm-size", "1m"],
        "df -k /dev/shm | tail -1 | awk '{print $2}'",
    )
    .success()
    .stdout_is("1024");
    sh(&["--shm-size", "1x"], "true").tool_error(&["--shm-size"]);
    sh(
        &[
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--sysctl",
            "kernel.msgmax=12345",
        ],
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax",
    )
    .success()
    .stdout_is("1\n12345");
    sh(&["--sysctl", "kernel.pid_max=100000"], "true")
        .tool_error(&["sysctl 'kernel.pid_max' is not allowed"]);
    sh(
        &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
        "true",
    )
    .tool_error(&["Network Namespace set to host"]);
    env.hutch(&[
        "create",
        "--name",
        "x",
        "--expose",
        "8080",
        "--expose",
        "9000-9001/udp",
        "--tz",
        "local",
        "--umask",
        "027",
        &img,
        "true",
    ])
    .success();
    assert_eq!(
        inspect(
            &env,
            "x",
            "{{json .NetworkSettings.Ports}} {{.Config.Timezone}} {{.Config.Umask}}"
        ),
        r#"{"8080/tcp":null,"9000/udp":null,"9001/udp":null} local 0027"#
    );
    env.hutch(&["create", "--expose", "80:80", &img, "true"])
        .tool_error(&["invalid range format for --expose"]);
}

#[test]
fn issue13_run_personality_platform_parts_and_image_volume_modes() {
    // issue #13 item 3: Podman's checks (exit 125) and their effects.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&[
        "run",
        "--rm",
        "--personality",
        "LINUX32",
        &img,
        "uname",
        "-m",
    ])
    .success()
    .stdout_is(if cfg!(target_arch = "x86_64") {
        "i686"
    } else {
        "armv8l"
    });
    env.hutch(&["run", "--rm", "--personality", "FOO", &img, "true"])
        .tool_error(&["--personality"]);
    env.hutch(&[
        "run",
        "--rm",
        "--platform",
        "linux/amd64",
        "--arch",
        "amd64",
        &img,
        "true",
    ])
    .tool_error(&["--platform option can not be specified with --arch or --os"]);
    let arch = if cfg!(target_arch = "x86_64") {
        "amd64"
    } else {
        "arm64"
    };
    env.hutch(&[
        "run",
        "--rm",
        "--os",
        "linux",
        "--arch",
        arch,
        "--disable-content-trust",
        &img,
        "true",
    ])
    .success();
    env.hutch(&["run", "--rm", "--memory-swappiness", "101", &img, "true"])
        .tool_error(&["memory swappiness"]);
    // The volume fixture declares VOLUME /data over a seeded file.
    let vol = image("volume");
    let data = |mode: &str| {
        let flag = format!("--image-volume={mode}");
        let r = env
            .hutch(&[
                "run",
                "--rm",
                &flag,
                &vol,
                "sh",
                "-c",
                "ls /data; grep -c ' /data ' /proc/mounts; true",
            ])
            .success();
        r.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    assert_eq!(data("bind"), "seed 1");
    assert_eq!(data("tmpfs"), "1");
    assert_eq!(data("ignore"), "seed 0");
    env.hutch(&["run", "--rm", "--image-volume", "x", &vol, "true"])
        .tool_error(&["image volume mode"]);
}

#[test]
fn issue13_run_requires_starts_the_required_containers_first() {
    // issue #13 item 3: as in Podman, a missing requirement is refused
    // and starting the container starts what it requires.
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&["create", "--requires", "nope", &img, "true"])
        .tool_error(&["nope", "cannot be used as a dependency"]);
    env.hutch(&["create", "--name", "a", &img, "sleep", "1000"])
        .success();
    env.hutch(&[
        "create",
        "--name",
        "b",
        "--requires",
        "a",
        &img,
        "sleep",
        "1000",
    ])
    .success();
    env.hutch(&["start", "b"]).success();
    env.hutch(&["ps", "--format", "{{.Names}}"])
        .success()
        .stdout_has("a");
    env.hutch(&["stop", "-t", "0", "a", "b"]).success();
    env.hutch(&["run", "--rm", "--requires", "a", &img, "true"])
        .success();
    env.hutch(&["ps", "--format", "{{.Names}}"])
        .success()
        .stdout_is("a");
    // Podman refuses to remove a required container, even with -f, and
    // removes its dependents first with --depend.
    env.hutch(&["rm", "-f", "a"])
        .tool_error(&["has dependent containers which must be removed before it"]);
    env.hutch(&["create", "--name", "c", "--requires", "b", &img, "true"])
        .success();
    let want: Vec<String> = ["c", "b", "a"]
        .iter()
        .map(|n| inspect(&env, n, "{{.Id}}"))
        .collect();
    env.hutch(&["rm", "-f", "--depend", "a"])
        .success()
        .stdout_is(&want.join("\n"));
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
}

#[test]
fn issue13_run_pod_id_file_names_the_pod() {
    // issue #13 item 3: --pod-id-file as Podman reads it.
    let env = Env::new();
    let img = image("busybox");
    let id = env
        .hutch(&["pod", "create", "--name", "p"])
        .success()
        .stdout;
    let file = env.dir.join("pod.id");
    std::fs::write(&file, &id).unwrap();
    let file = file.to_str().unwrap();
    env.hutch(&["create", "--name", "m", "--pod-id-file", file, &img, "true"])
        .success();
    assert_eq!(inspect(&env, "m", "{{.Pod}}"), id.trim());
    env.hutch(&["create", "--pod", "p", "--pod-id-file", file, &img, "true"])
        .tool_error(&["cannot specify both --pod and --pod-id-file"]);
    env.hutch(&["create", "--pod-id-file", "/nonexistent", &img, "true"])
        .tool_error(&["pod ID file"]);
    env.hutch(&["rm", "m"]).success();
    env.hutch(&["pod", "rm", "-f", "p"]).success();
}

#[test]
fn issue13_run_passwd_hostuser_and_passwd_entry_add_users_as_podman_does() {
    // issue #13 item 3: the lines Podman 4.3 writes, compared with it.
    let env = Env::new();
    let img = image("busybox");
    let (me, uid, gid) = crate::common::current_user();
    let r = env
        .hutch(&[
            "run",
            "--rm",
            "-w",
            "/tmp",
            "--hostuser",
            &me,
            "-u",
            "4242:4343",
            &img,
            "sh",
            "-c",
            "tail -2 /etc/passwd; tail -1 /etc/group; echo $HOME; id -un",
        ])
        .success();
    let host_line = std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&format!("{me}:")))
        .map(|l| l.split(':').nth(4).unwrap_or_default().to_string())
        .unwrap();
    r.stdout_is(&format!(
        "{me}:*:{uid}:{gid}:{host_line}:/tmp:/bin/sh\n\
         4242:*:4242:4343:container user:/tmp:/bin/sh\n\
         4343:x:4343:4242\n/tmp\n4242"
    ));
    // The fixture's app user (1000) is there already.
    env.hutch(&["run", "--rm", "-u", "1000", &img, "id", "-un"])
        .success()
        .stdout_is("app");
    env.hutch(&[
        "run",
        "--rm",
        "--passwd=false",
        "-u",
        "4242",
        &img,
        "id",
        "-un",
    ])
    .code(1);
    env.hutch(&[
        "run",
        "--rm",
        "-u",
        "4242",
        "--passwd-entry",
        "u$USERNAME:x:$UID:$GID:$NAME:$HOME:/bin/sh",
        &img,
        "id",
        "-un",
    ])
    .success()
    .stdout_is("u4242");
    env.hutch(&[
        "run",
        "--rm",
        "--hostuser",
        "no-such-user-here",
        &img,
        "true",
    ])
    .error_exit(126, &["unknown user no-such-user-here"]);
    env.hutch(&["create", "--passwd=false", &img, "true"])
        .code(125);
}

#[test]
fn issue13_run_preserve_fds_attach_and_chrootdirs() {
    // issue #13 item 3: as Podman does them (its checks exit 125).
    let env = Env::new();
    let img = image("busybox");
    let secret = env.dir.join("secret");
    std::fs::write(&secret, "passed\n").unwrap();
    let c = env.command(&[
        "run",
        "--rm",
        "--preserve-fds",
        "1",
        &img,
        "cat",
        "/proc/self/fd/3",
    ]);
    // fd 3 of hutch, as a shell redirect gives it.
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg(format!("exec \"$0\" \"$@\" 3<{}", secret.display()))
        .arg(c.get_program())
        .args(c.get_args())
        .env_clear()
        .envs(c.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(&env.home);
    let r = crate::common::run_command(
        sh,
        "hutch run --preserve-fds 1 … 3<secret".into(),
        crate::common::TIMEOUT,
    );
    r.success().stdout_is("passed");
    env.hutch(&["run", "--rm", "--preserve-fds", "2", &img, "true"])
        .tool_error(&["file descriptor 3 is not available"]);
    // Nothing but stdio without the flag.
    env.hutch(&["run", "--rm", &img, "sh", "-c", "ls /proc/self/fd | wc -l"])
        .success()
        .stdout_is("4");
    let both = "echo out; echo err >&2";
    let r = env
        .hutch(&["run", "--rm", "-a", "stdout", &img, "sh", "-c", both])
        .success();
    assert_eq!((r.stdout.trim(), r.stderr_lines("err")), ("out", vec![]));
    let r = env
        .hutch(&["run", "--rm", "-a", "stderr", &img, "sh", "-c", both])
        .success();
    assert_eq!((r.stdout.trim(), r.stderr_lines("err")), ("", vec!["err"]));
    env.hutch(&["run", "--rm", "-a", "foo", &img, "true"])
        .tool_error(&["invalid stream \"foo\" for --attach"]);
    env.hutch(&[
        "run",
        "--rm",
        "--chrootdirs",
        "/srv/jail",
        &img,
        "sh",
        "-c",
        "cat /srv/jail/etc/hosts",
    ])
    .success()
    .stdout_has("127.0.0.1");
    env.hutch(&["run", "--rm", "--detach-keys", "bogus-keys", &img, "true"])
        .code(125);
}

#[test]
fn issue13_run_uts_pid_ipc_and_cgroupns_modes() {
    // issue #13 item 3: host and private as in Podman; joining another
    // container's namespace is refused with the reason (exit 125).
    let env = Env::new();
    let img = image("busybox");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    env.hutch(&[
        "run",
        "--rm",
        "--uts",
        "host",
        &img,
        "sh",
        "-c",
        "hostname; cat /etc/hostname; echo $HOSTNAME",
    ])
    .success()
    .stdout_is(&format!("{0}\n{0}\n{0}", host.trim()));
    env.hutch(&["run", "--rm", "--uts", "host", "-h", "x", &img, "true"])
        .tool_error(&["cannot set hostname when running in the host UTS namespace"]);
    // Our own pid, as the host sees it, is in the host's /proc.
    let me = std::process::id().to_string();
    let script = format!("test -d /proc/{me} && echo host || echo own; echo $$");
    let r = env
        .hutch(&["run", "--rm", "--pid", "host", &img, "sh", "-c", &script])
        .success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "host", "{r}");
    assert_ne!(lines[1], "1", "{r}");
    env.hutch(&["run", "--rm", "--pid", "private", &img, "sh", "-c", &script])
        .success()
        .stdout_is("own\n1");
    let ipc_ns = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    let ipc_ns = ipc_ns.to_str().unwrap();
    env.hutch(&[
        "run",
        "--rm",
        "--ipc",
        "host",
        &img,
        "readlink",
        "/proc/self/ns/ipc",
    ])
    .success()
    .stdout_is(ipc_ns);
    let r = env
        .hutch(&["run", "--rm", &img, "readlink", "/proc/self/ns/ipc"])
        .success();
    assert_ne!(r.stdout.trim(), ipc_ns);
    env.hutch(&[
        "run", "--rm", "--ipc", "none", &img, "test", "-e", "/dev/shm",
    ])
    .code(1);
    let cg = std::fs::read_link("/proc/self/ns/cgroup").unwrap();
    let cg = cg.to_str().unwrap();
    env.hutch(&[
        "run",
        "--rm",
        "--cgroupns",
        "host",
        &img,
        "readlink",
        "/proc/self/ns/cgroup",
    ])
    .success()
    .stdout_is(cg);
    let r = env
        .hutch(&[
            "run",
            "--rm",
            "--cgroupns",
            "private",
            &img,
            "readlink",
            "/proc/self/ns/cgroup",
        ])
        .success();
    assert_ne!(r.stdout.trim(), cg);
    for flag in ["--uts", "--pid", "--ipc", "--cgroupns"] {
        env.hutch(&["run", "--rm", flag, "container:other", &img, "true"])
            .tool_error(&[flag, "pod"]);
    }
    // exec joins what it can: the host's namespaces are ours already.
    env.hutch(&[
        "run", "-d", "--name", "h", "--uts", "host", "--pid", "host", &img, "sleep", "1000",
    ])
    .success();
    env.hutch(&["exec", "h", "hostname"])
        .success()
        .stdout_is(host.trim());
    env.hutch(&["rm", "-f", "h"]).success();
}

#[test]
fn issue13_run_systemd_init_path_seccomp_policy_and_sdnotify() {
    // issue #13 item 3: as Podman does them; bad values exit 125.
    let mut env = Env::new();
    let img = image("busybox");
    let tmpfs_lines = "grep -E ' (/run|/run/lock|/tmp|/var/log/journal) ' /proc/mounts | \
                       cut -d' ' -f2,3 | sort | tr '\\n' ' '";
    env.hutch(&[
        "run",
        "--rm",
        "--systemd",
        "always",
        &img,
        "sh",
        "-c",
        tmpfs_lines,
    ])
    .success()
    .stdout_is("/run tmpfs /run/lock tmpfs /tmp tmpfs /var/log/journal tmpfs");
    env.hutch(&[
        "run",
        "--rm",
        &img,
        "sh",
        "-c",
        &format!("{tmpfs_lines}; true"),
    ])
    .success()
    .stdout_is("");
    env.hutch(&["run", "--rm", "--systemd", "maybe", &img, "true"])
        .tool_error(&["--systemd"]);
    // --init-path: an init started as `INIT -- COMMAND`.
    let init = env.dir.join("init");
    std::fs::write(
        &init,
        "#!/bin/sh\n[ \"$1\" = -- ] && shift\necho \"pid $$\"\nexec \"$@\"\n",
    )
    .unwrap();
    crate::common::set_mode(&init, 0o755);
    let init_arg = init.to_str().unwrap();
    env.hutch(&[
        "run",
        "--rm",
        "--init",
        "--init-path",
        init_arg,
        &img,
        "echo",
        "hi",
    ])
    .success()
    .stdout_is("pid 1\nhi");
    // --seccomp-policy=image takes the profile from the image's label.
    env.hutch(&["run", "--rm", "--seccomp-policy", "image", &img, "true"])
        .tool_error(&["no seccomp policy defined by image"]);
    env.hutch(&["create", "--name", "base", &img, "true"])
        .success();
    let profile = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let label = format!("LABEL io.containers.seccomp.profile='{profile}'");
    env.hutch(&["commit", "-q", "-c", &label, "base", "localhost/profiled:1"])
        .success();
    env.hutch(&[
        "run",
        "--rm",
        "--seccomp-policy",
        "image",
        "localhost/profiled:1",
        "mkdir",
        "/x",
    ])
    .code(1);
    env.hutch(&["run", "--rm", "localhost/profiled:1", "mkdir", "/x"])
        .success();
    env.hutch(&["run", "--rm", "--seccomp-policy", "foo", &img, "true"])
        .tool_error(&["--seccomp-policy"]);
    // --sdnotify: conmon sends READY=1; container binds the socket in.
    let sock_path = env.dir.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    env.set_env("NOTIFY_SOCKET", sock_path.to_str().unwrap());
    env.hutch(&["run", "--rm", "--sdnotify", "conmon", &img, "true"])
        .success();
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("no READY=1 on NOTIFY_SOCKET");
    let got = String::from_utf8_lossy(&buf[..n]).to_string();
    // MAINPID first, then READY=1, as Podman sends them (issue #16).
    assert!(
        got.starts_with("MAINPID=") && got.ends_with("\nREADY=1\n"),
        "{got:?}"
    );
    env.hutch(&[
        "run",
        "--rm",
        &img,
        "sh",
        "-c",
        "echo $NOTIFY_SOCKET; test -S /run/notify/notify.sock && echo socket",
    ])
    .success()
    .stdout_is("/run/notify/notify.sock\nsocket");
    env.hutch(&[
        "run",
        "--rm",
        "--sdnotify",
        "ignore",
        &img,
        "sh",
        "-c",
        "echo ${NOTIFY_SOCKET:-none}",
    ])
    .success()
    .stdout_is("none");
}

#[test]
fn issue13_run_subuidname_takes_only_the_users_own_ranges() {
    // issue #13 item 3: newuidmap grants only the caller's ranges.
    let env = Env::new();
    let img = image("busybox");
    let (me, uid, _) = crate::common::current_user();
    let uid = uid.to_string();
    let r = env
        .hutch(&[
            "run",
            "--rm",
            "--subuidname",
            &me,
            "--subgidname",
            &uid,
            &img,
            "cat",
            "/proc/self/uid_map",
        ])
        .success();
    let plain = env
        .hutch(&["run", "--rm", &img, "cat", "/proc/self/uid_map"])
        .success();
    assert_eq!(r.stdout, plain.stdout);
    env.hutch(&["run", "--rm", "--subuidname", "root", &img, "true"])
        .tool_error(&["--subuidname root", "your own name or uid"]);
}
