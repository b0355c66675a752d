//! End-to-end tests of bind mounts, named and anonymous volumes, tmpfs
//! mounts and the `volume` commands (issue #7).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::common::{current_user, image, list_dir, set_mode, subid_range, Env, Run};
use super::{run_d, setup, Cleanup};

/// `run --rm FLAGS IMAGE CMD…`.
#[track_caller]
fn run_in(env: &Env, img: &str, flags: &[&str], cmd: &[&str]) -> Run {
    let img = image(img);
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.push(img.as_str());
    args.extend_from_slice(cmd);
    env.hutch(&args)
}

#[track_caller]
fn run(env: &Env, flags: &[&str], cmd: &[&str]) -> Run {
    run_in(env, "busybox", flags, cmd)
}

/// A host directory `name` in the test's dir with a file `hello`.
fn work_dir(env: &Env, name: &str) -> PathBuf {
    let dir = env.dir.join(name);
    std::fs::create_dir_all(&dir).expect("creating the work dir");
    set_mode(&dir, 0o755);
    std::fs::write(dir.join("hello"), "hello from the host\n").expect("writing hello");
    dir
}

fn volume_names(env: &Env) -> Vec<String> {
    env.hutch(&["volume", "ls", "-q"])
        .success()
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// The host uid the container's `uid` maps to (root is the user).
fn host_uid(uid: u32) -> u64 {
    if uid == 0 {
        return u64::from(current_user().1);
    }
    let (start, _) = subid_range("/etc/subuid")
        .expect("the test user needs an /etc/subuid range (run tests/run.sh as root)");
    start + u64::from(uid) - 1
}

#[test]
fn bind_mount_shows_host_files_and_root_writes_belong_to_the_user() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let work = work_dir(&env, "work");
    let spec = format!("{}:/work", work.display());
    run(
        &env,
        &["-v", &spec],
        &["sh", "-c", "cat /work/hello && echo made > /work/new"],
    )
    .success()
    .stdout_is("hello from the host");
    let m = std::fs::metadata(work.join("new")).expect("the file made inside");
    assert_eq!(
        u64::from(m.uid()),
        host_uid(0),
        "a file container root creates belongs to the user on the host"
    );
    assert_eq!(
        std::fs::read_to_string(work.join("new")).unwrap_or_default(),
        "made\n"
    );

    // A symlink naming the directory is followed once, as Docker does.
    let link = env.dir.join("work-link");
    std::os::unix::fs::symlink(&work, &link).expect("creating a symlink");
    let spec = format!("{}:/w", link.display());
    run(&env, &["-v", &spec], &["cat", "/w/hello"])
        .success()
        .stdout_is("hello from the host");

    // A single file binds too; --mount says the same with Docker's keys.
    let file = format!(
        "type=bind,source={},target=/etc/greeting,readonly",
        work.join("hello").display()
    );
    run(&env, &["--mount", &file], &["cat", "/etc/greeting"])
        .success()
        .stdout_is("hello from the host");
}

#[test]
fn read_only_binds_refuse_writes_and_bad_specs_are_usage_errors() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let work = work_dir(&env, "work");
    let spec = format!("{}:/work:ro", work.display());
    let r = run(&env, &["-v", &spec], &["sh", "-c", "echo x > /work/hello"]);
    if r.code != Some(1) || !r.stderr.contains("Read-only file system") {
        r.fail("expected the write to fail with a read-only error (exit 1)");
    }
    assert_eq!(
        std::fs::read_to_string(work.join("hello")).unwrap_or_default(),
        "hello from the host\n"
    );
    // `./x` is a path relative to the current directory (issue #20 item
    // 13); `x/y` is neither a path nor a volume name, as in Podman.
    run(&env, &["-v", "work/sub:/work"], &["true"]).tool_error(&["--volume", "work/sub"]);
    run(&env, &["-v", "/nonexistent-dir:/x"], &["true"]).tool_error(&["/nonexistent-dir"]);
    run(&env, &["-v", "/tmp:/x:bogus"], &["true"]).tool_error(&["unknown option"]);
    run(&env, &["--mount", "type=bind,target=/x"], &["true"]).tool_error(&["--mount"]);
}

#[test]
fn chown_option_gives_the_tree_to_the_container_user() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let work = work_dir(&env, "work");
    std::fs::create_dir(work.join("sub")).expect("mkdir sub");
    let spec = format!("{}:/work:U", work.display());
    run(
        &env,
        &["-u", "1000", "-v", &spec],
        &[
            "sh",
            "-c",
            "touch /work/by1000 /work/sub/too && stat -c %u /work/by1000 /work/hello",
        ],
    )
    .success()
    .stdout_is("1000\n1000");
    let want = host_uid(1000);
    for f in ["", "hello", "by1000", "sub", "sub/too"] {
        let m = std::fs::symlink_metadata(work.join(f)).expect("stat");
        assert_eq!(
            u64::from(m.uid()),
            want,
            "{f:?} should belong to the uid container uid 1000 maps to"
        );
    }
    // Back to root (the user) so the test can clean up.
    let spec = format!("{}:/work:U", work.display());
    run(&env, &["-v", &spec], &["true"]).success();
    assert_eq!(
        u64::from(std::fs::metadata(work.join("by1000")).expect("stat").uid()),
        host_uid(0)
    );
}

#[test]
fn overlay_option_discards_changes_and_tmpfs_mounts_are_fresh() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let work = work_dir(&env, "work");
    let spec = format!("{}:/work:O", work.display());
    run(
        &env,
        &["-v", &spec],
        &["sh", "-c", "echo changed > /work/hello && cat /work/hello"],
    )
    .success()
    .stdout_is("changed");
    assert_eq!(
        std::fs::read_to_string(work.join("hello")).unwrap_or_default(),
        "hello from the host\n",
        "O must leave the source untouched"
    );

    // A volume with type=tmpfs is a fresh tmpfs on every mount.
    env.hutch(&[
        "volume",
        "create",
        "--opt",
        "type=tmpfs",
        "--opt",
        "o=size=128k",
        "tv",
    ])
    .success();
    run(&env, &["-v", "tv:/t"], &["sh", "-c", "echo x > /t/f"]).success();
    let r = run(
        &env,
        &["-v", "tv:/t"],
        &["sh", "-c", "grep ' /t ' /proc/mounts; ls /t"],
    )
    .success();
    if !(r.stdout.starts_with("tmpfs /t tmpfs")
        && r.stdout.contains("size=128k")
        && r.stdout.lines().count() == 1)
    {
        r.fail("expected an empty 128k tmpfs on /t");
    }
    env.hutch(&["volume", "create", "--opt", "type=nfs", "bad"])
        .tool_error(&["nfs"]);

    let r = run(
        &env,
        &["--tmpfs", "/scratch:size=64k,mode=1777"],
        &[
            "sh",
            "-c",
            "grep ' /scratch ' /proc/mounts; stat -c %a /scratch",
        ],
    )
    .success();
    if !(r.stdout.contains("tmpfs /scratch tmpfs")
        && r.stdout.contains("size=64k")
        && r.stdout.contains("noexec")
        && r.stdout.lines().last() == Some("1777"))
    {
        r.fail("expected a noexec tmpfs of 64k with mode 1777 on /scratch");
    }
}

#[test]
fn named_volume_keeps_data_and_is_shared_by_running_containers() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    run(
        &env,
        &["-v", "data:/data"],
        &["sh", "-c", "echo kept > /data/f"],
    )
    .success();
    run(&env, &["-v", "data:/data"], &["cat", "/data/f"])
        .success()
        .stdout_is("kept");
    assert_eq!(volume_names(&env), ["data"]);

    let img = image("busybox");
    for name in ["one", "two"] {
        let r = env
            .hutch_closing(&[
                "run",
                "-d",
                "--name",
                name,
                "-v",
                "shared:/s",
                &img,
                "sleep",
                "1000",
            ])
            .success();
        assert_eq!(r.stdout.trim().len(), 64, "{r}");
    }
    env.hutch(&["exec", "one", "sh", "-c", "echo from-one > /s/msg"])
        .success();
    env.hutch(&["exec", "two", "cat", "/s/msg"])
        .success()
        .stdout_is("from-one");

    // In use: refused, with the users named.
    env.hutch(&["volume", "rm", "shared"])
        .error_exit(2, &["shared", "one", "two"]);
    env.hutch(&["volume", "create", "unused"])
        .success()
        .stdout_is("unused");
    // Prune takes only the unused ones.
    env.hutch(&["volume", "prune", "-f"])
        .success()
        .stdout_is("data\nunused");
    assert_eq!(volume_names(&env), ["shared"]);
    env.hutch(&["volume", "exists", "shared"]).success();
    env.hutch(&["volume", "exists", "unused"]).code(1);

    let r = env.hutch(&["volume", "inspect", "shared"]).success();
    let v = r.json();
    let mp = v[0]["Mountpoint"].as_str().unwrap_or_default().to_string();
    if v[0]["Name"] != "shared" || !mp.ends_with("volumes/shared/_data") {
        r.fail("expected Name shared and a Mountpoint under volumes/shared/_data");
    }
    assert_eq!(
        std::fs::read_to_string(Path::new(&mp).join("msg")).unwrap_or_default(),
        "from-one\n"
    );

    let r = env
        .hutch(&["inspect", "-f", "{{json .Mounts}}", "one"])
        .success();
    let mounts = r.json();
    let want = serde_json::json!([{
        "Type": "volume",
        "Name": "shared",
        "Source": mp,
        "Destination": "/s",
        "Driver": "local",
        "Mode": "",
        "RW": true,
        "Propagation": "rprivate",
    }]);
    if mounts != want {
        r.fail(&format!("expected Mounts {want}"));
    }

    // -f removes the users with the volume.
    env.hutch(&["volume", "rm", "-f", "shared"])
        .success()
        .stdout_is("shared");
    assert!(volume_names(&env).is_empty());
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
}

#[test]
fn volumes_from_shares_mounts_read_only_on_request() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let work = work_dir(&env, "work");
    let bind = format!("{}:/w", work.display());
    run_d(&env, "src", &["sleep", "1000"]);
    let img = image("busybox");
    env.hutch_closing(&[
        "run",
        "-d",
        "--name",
        "owner",
        "-v",
        "vf:/v",
        "-v",
        &bind,
        &img,
        "sh",
        "-c",
        "echo in-vf > /v/f; sleep 1000",
    ])
    .success();
    super::common::wait_for("the volume file", Duration::from_secs(20), || {
        let r = run(
            &env,
            &["--volumes-from", "owner"],
            &["cat", "/v/f", "/w/hello"],
        );
        if r.code == Some(0) {
            Ok(r)
        } else {
            Err(r.to_string())
        }
    })
    .stdout_is("in-vf\nhello from the host");
    let r = run(&env, &["--volumes-from", "owner:ro"], &["touch", "/v/x"]);
    if r.code != Some(1) || !r.stderr.contains("Read-only file system") {
        r.fail("expected --volumes-from owner:ro to mount read-only");
    }
}

#[test]
fn copy_up_fills_a_new_volume_from_the_image_with_its_owners() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    env.pull(&image("layers"));
    run_in(
        &env,
        "layers",
        &["-v", "fresh:/data"],
        &["sh", "-c", "cat /data/keep && stat -c %u:%g:%a /data/owned && readlink /data/link && rm /data/keep"],
    )
    .success()
    .stdout_is("keep\n1234:5678:640\nkeep");
    let data = env.store().join("volumes/fresh/_data");
    let m = std::fs::metadata(data.join("owned")).expect("owned in the volume");
    assert_eq!(u64::from(m.uid()), host_uid(1234));
    // Only a new volume is filled: the removed file stays removed.
    run_in(
        &env,
        "layers",
        &["-v", "fresh:/data"],
        &["ls", "/data/keep"],
    )
    .code(1);
    // nocopy leaves a new volume empty.
    run_in(
        &env,
        "layers",
        &["-v", "empty:/data:nocopy"],
        &["ls", "-A", "/data"],
    )
    .success()
    .stdout_is("");
}

#[test]
fn anonymous_image_volumes_go_with_rm_and_rm_v() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    env.pull(&image("volume"));
    run_in(
        &env,
        "volume",
        &[],
        &["sh", "-c", "cat /data/seed; stat -c %u /data"],
    )
    .success()
    .stdout_is("seeded\n1000");
    assert!(
        volume_names(&env).is_empty(),
        "--rm must remove the anonymous volume"
    );

    let img = image("volume");
    env.hutch(&["run", "--name", "keep", &img, "true"])
        .success();
    let names = volume_names(&env);
    assert_eq!(names.len(), 1, "one anonymous volume: {names:?}");
    assert_eq!(names[0].len(), 64);
    env.hutch(&["rm", "-v", "keep"]).success();
    assert!(volume_names(&env).is_empty(), "rm -v must remove it");

    // Plain -v DEST is anonymous too; rm without -v keeps it, like Docker.
    env.hutch(&[
        "run",
        "--name",
        "plain",
        "-v",
        "/cache",
        &image("busybox"),
        "true",
    ])
    .success();
    env.hutch(&["rm", "plain"]).success();
    assert_eq!(volume_names(&env).len(), 1);
}

#[test]
fn concurrent_runs_create_a_new_volume_once() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let runs: Vec<Run> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|i| {
                let env = &env;
                s.spawn(move || {
                    let line = format!("echo {i} >> /x/log");
                    run(env, &["-v", "racy:/x"], &["sh", "-c", &line])
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    for r in runs {
        r.success();
    }
    assert_eq!(volume_names(&env), ["racy"]);
    let log =
        std::fs::read_to_string(env.store().join("volumes/racy/_data/log")).unwrap_or_default();
    assert_eq!(
        log.lines().count(),
        4,
        "all four wrote into one volume: {log:?}"
    );
}

#[test]
fn bind_source_swapped_for_a_symlink_never_exposes_the_victim() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let victim = env.dir.join("victim");
    std::fs::create_dir(&victim).expect("mkdir victim");
    std::fs::write(victim.join("VICTIM-SECRET"), "secret").expect("write secret");
    let src = work_dir(&env, "src");
    let parked = env.dir.join("src.real");
    let img = image("busybox");
    let spec = format!("{}:/x", src.display());
    env.hutch(&["create", "--name", "swap", "-v", &spec, &img, "ls", "/x"])
        .success();

    let stop = AtomicBool::new(false);
    let mut seen_victim = Vec::new();
    let mut wrong = Vec::new();
    let mut ok = 0;
    let swaps = std::thread::scope(|s| {
        let swapper = s.spawn(|| {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                // src is the real directory, then briefly a link to the victim.
                let _ = std::fs::rename(&src, &parked);
                let _ = std::os::unix::fs::symlink(&victim, &src);
                std::thread::sleep(Duration::from_micros(200));
                let _ = std::fs::remove_file(&src);
                let _ = std::fs::rename(&parked, &src);
                std::thread::sleep(Duration::from_micros(200));
                swaps += 1;
            }
            swaps
        });
        // Nothing in this loop may panic: the swapper must be stopped first.
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut starts = 0;
        while Instant::now() < deadline && starts < 60 {
            let r = env.hutch_timeout(&["start", "-a", "swap"], Duration::from_secs(30));
            if r.stdout.contains("VICTIM-SECRET") {
                seen_victim.push(r.to_string());
            } else if r.code == Some(0) && r.stdout.trim() == "hello" {
                ok += 1;
            } else if r.code != Some(125) {
                // A failed start must be a tool error; a good one lists the source.
                wrong.push(r.to_string());
            }
            starts += 1;
        }
        stop.store(true, Ordering::Relaxed);
        swapper.join().expect("swapper")
    });
    assert!(swaps > 0, "the swapper never ran");
    assert!(
        wrong.is_empty(),
        "starts must list exactly the source or fail with 125:\n{}",
        wrong.join("\n")
    );
    assert!(
        seen_victim.is_empty(),
        "the victim was mounted:\n{}",
        seen_victim.join("\n")
    );
    // Put the source back and check the container still works.
    if std::fs::symlink_metadata(&src).is_ok_and(|m| m.file_type().is_symlink()) {
        let _ = std::fs::remove_file(&src);
    }
    if parked.exists() {
        let _ = std::fs::rename(&parked, &src);
    }
    env.hutch(&["start", "-a", "swap"])
        .success()
        .stdout_is("hello");
    assert_eq!(list_dir(&victim), ["VICTIM-SECRET"]);
    assert!(ok > 0, "no start succeeded while the source was swapped");
}

#[test]
fn idmap_option_mounts_or_fails_with_a_clear_error() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let work = work_dir(&env, "work");
    let spec = format!("{}:/work:idmap", work.display());
    let r = run(&env, &["-v", &spec], &["cat", "/work/hello"]);
    // Kernels allow idmapped mounts only for filesystems mounted in a user
    // namespace the container owns; for host paths that is a clear error.
    if r.code == Some(0) {
        r.stdout_is("hello from the host");
    } else {
        r.tool_error(&["idmapping /work", "drop idmap or use U"]);
    }
}

#[test]
fn mount_type_image_shows_another_image_read_only_and_devpts_is_new() {
    let env = setup();
    let layers = image("layers");
    env.pull(&layers);
    let img = image("busybox");
    // Three layers: whiteouts and opaque directories apply as in a root.
    let spec = format!("type=image,source={layers},target=/other");
    env.hutch(&[
        "run", "--rm", "--mount", &spec, &img, "sh", "-c",
        "ls /other/data | sort | tr '\\n' ' '; cat /other/data/modify; ls /other/data/opq; touch /other/x 2>&1 && echo WROTE; exit 0",
    ])
    .success()
    .stdout_has("keep layer3 link modify")
    .stdout_has("v2\nnew\n")
    .stdout_has("Read-only file system");
    let r = env
        .hutch(&[
            "run",
            "--rm",
            "--mount",
            &spec,
            &img,
            "sh",
            "-c",
            "ls /other/data",
        ])
        .success();
    if r.stdout.contains("gone") || r.stdout.contains("WROTE") {
        r.fail("whited-out files showed, or the image mount was writable");
    }
    env.hutch(&[
        "run",
        "--rm",
        "--mount",
        "type=image,source=nosuch/image,target=/o",
        &img,
        "true",
    ])
    .tool_error(&["no image", "nosuch/image"])
    .stderr_has("hutch pull");
    env.hutch(&[
        "run",
        "--rm",
        "--mount",
        &format!("{spec},rw"),
        &img,
        "true",
    ])
    .tool_error(&["read-only"]);
    env.hutch(&[
        "run",
        "--rm",
        "--mount",
        "type=devpts,target=/dev/pts2",
        &img,
        "sh",
        "-c",
        "grep ' /dev/pts2 ' /proc/mounts",
    ])
    .success()
    .stdout_has("devpts /dev/pts2 devpts");
}
