//! Issue #18: single-file squashfs images (`image save --format squashfs`,
//! `run ./app.sqfs`) and `--rootfs DIR|DIR:O|FILE.sqfs`, as the
//! unprivileged test user. The network filesystem of the issue cannot be
//! had on this host; a read-only directory holds the file instead.

use std::path::{Path, PathBuf};

use crate::common::{image, list_dir, set_mode, Env};

/// An image with a config that shows in its output: busybox's files,
/// imported with `CMD`, `ENV`, `WORKDIR` and `USER`.
fn configured_image(env: &Env) -> String {
    env.pull(&image("busybox")).success();
    env.hutch(&["create", "--name", "src", &image("busybox")])
        .success();
    let tar = env.dir.join("bb.tar");
    env.hutch(&["export", "-o", tar.to_str().unwrap(), "src"])
        .success();
    env.hutch(&[
        "import",
        "--change",
        r#"CMD ["sh", "-c", "echo $FOO $(pwd) $(id -u)"]"#,
        "--change",
        "ENV FOO=bar",
        "--change",
        "WORKDIR /etc",
        "--change",
        "USER 1:1",
        tar.to_str().unwrap(),
        "localhost/sq",
    ])
    .success();
    "localhost/sq".into()
}

/// Saves `img` as a squashfs file in a directory made read-only after.
fn save_read_only(env: &Env, img: &str) -> PathBuf {
    let dir = env.dir.join("ro");
    std::fs::create_dir(&dir).unwrap();
    let file = dir.join("app.sqfs");
    env.hutch(&[
        "image",
        "save",
        "--format",
        "squashfs",
        img,
        "-o",
        file.to_str().unwrap(),
    ])
    .success();
    set_mode(&file, 0o444);
    set_mode(&dir, 0o555);
    file
}

#[test]
fn issue18_sqfs_save_then_run_from_a_read_only_directory_with_the_image_config() {
    let env = Env::new();
    let img = configured_image(&env);
    let file = save_read_only(&env, &img);
    let mut head = [0u8; 4];
    std::io::Read::read_exact(&mut std::fs::File::open(&file).unwrap(), &mut head).unwrap();
    assert_eq!(&head, b"hsqs", "a squashfs file");
    // No leftovers beside it, no scratch left in the store.
    assert_eq!(list_dir(&env.dir.join("ro")), ["app.sqfs"]);
    assert!(env.store_entries("image-mounts").is_empty());
    let layers = env.store_entries("layers");
    let images = env.hutch(&["images", "-q"]).success().stdout;
    // The image's Cmd, Env, WorkingDir and User.
    env.hutch(&["run", "--rm", file.to_str().unwrap()])
        .success()
        .stdout_is("bar /etc 1\n");
    // From the file's directory, by a relative path, with a command.
    let mut c = env.command(&["run", "--rm", "./app.sqfs", "cat", "/bin/busybox"]);
    c.current_dir(env.dir.join("ro"));
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.len() > 100_000, "busybox read back whole");
    // Writes go to the container's own upper directory.
    let mut c = env.command(&[
        "run",
        "--rm",
        "./app.sqfs",
        "sh",
        "-c",
        "echo x > /tmp/f; cat /tmp/f",
    ]);
    c.current_dir(env.dir.join("ro"));
    let out = c.output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "x\n");
    // Nothing unpacked, no image recorded.
    assert_eq!(env.store_entries("layers"), layers);
    env.hutch(&["images", "-q"]).success().stdout_is(&images);
}

#[test]
fn issue18_sqfs_32_concurrent_runs_of_one_file_complete() {
    let env = Env::new();
    env.pull(&image("busybox")).success();
    let file = save_read_only(&env, &image("busybox"));
    let f = file.to_str().unwrap().to_string();
    let runs: Vec<_> = (0..32)
        .map(|i| {
            let n = i.to_string();
            env.spawn(&["run", "--rm", f.as_str(), "echo", n.as_str()])
        })
        .collect();
    for (i, run) in runs.into_iter().enumerate() {
        run.wait().success().stdout_is(&format!("{i}\n"));
    }
    env.hutch(&["ps", "-aq"]).success().stdout_is("");
}

/// busybox's files unpacked as the test user into `dir`.
fn unpacked_root(env: &Env, dir: &Path) {
    env.pull(&image("busybox")).success();
    env.hutch(&["create", "--name", "src", &image("busybox")])
        .success();
    std::fs::create_dir(dir).unwrap();
    let tar = env.dir.join("root.tar");
    env.hutch(&["export", "-o", tar.to_str().unwrap(), "src"])
        .success();
    let ok = std::process::Command::new("tar")
        .args(["-xf", tar.to_str().unwrap(), "-C", dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn issue18_rootfs_dir_is_written_in_place_and_dir_o_is_not() {
    let env = Env::new();
    let dir = env.dir.join("root");
    unpacked_root(&env, &dir);
    let d = dir.to_str().unwrap();
    env.hutch(&[
        "run",
        "--rm",
        "--rootfs",
        d,
        "sh",
        "-c",
        "echo in > /written",
    ])
    .success();
    assert_eq!(
        std::fs::read_to_string(dir.join("written")).unwrap(),
        "in\n"
    );
    let over = format!("{d}:O");
    env.hutch(&[
        "run",
        "--rm",
        "--rootfs",
        &over,
        "sh",
        "-c",
        "echo o > /over; cat /over",
    ])
    .success()
    .stdout_is("o\n");
    assert!(
        !dir.join("over").exists(),
        "DIR:O keeps the directory as it was"
    );
    // A container with no image: ps, inspect, start, commit refused, rm.
    env.hutch(&["create", "--name", "r", "--rootfs", &over, "echo", "hi"])
        .success();
    env.hutch(&["ps", "-a", "--format", "{{.Names}} {{.Image}}"])
        .success()
        .stdout_has(&format!("r {over}"));
    env.hutch(&["inspect", "r"]).success();
    env.hutch(&["start", "-a", "r"]).success().stdout_is("hi\n");
    env.hutch(&["commit", "r", "localhost/nope"])
        .error_exit(125, &["container r has no image", "commit needs one"]);
    env.hutch(&["rm", "r"]).success();
    env.hutch(&["system", "check"]).success();
}

#[test]
fn issue18_hostile_truncated_sqfs_is_refused_with_its_sizes() {
    let env = Env::new();
    env.pull(&image("busybox")).success();
    let file = env.dir.join("app.sqfs");
    env.hutch(&[
        "image",
        "save",
        "--format",
        "squashfs",
        &image("busybox"),
        "-o",
        file.to_str().unwrap(),
    ])
    .success();
    let len = std::fs::metadata(&file).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
    f.set_len(len / 2).unwrap();
    env.hutch(&["run", "--rm", file.to_str().unwrap(), "true"])
        .error_exit(125, &["is truncated", "superblock counts"]);
    let script = env.dir.join("not.sqfs");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    env.hutch(&["run", "--rm", "--rootfs", script.to_str().unwrap(), "true"])
        .error_exit(125, &["is not a squashfs file"]);
    env.hutch(&["ps", "-aq"]).success().stdout_is("");
}

#[test]
fn issue18_hostile_links_out_of_a_root_write_nothing_outside() {
    let env = Env::new();
    let victim = env.dir.join("victim");
    std::fs::create_dir(&victim).unwrap();
    std::fs::write(victim.join("keep"), "mine\n").unwrap();
    let v = victim.to_str().unwrap();
    // A directory root whose /etc and /out lead out by `..` and by an
    // absolute name, and a squashfs file made from it.
    let dir = env.dir.join("root");
    unpacked_root(&env, &dir);
    std::fs::remove_dir_all(dir.join("etc")).unwrap();
    let ups = "../".repeat(12);
    std::os::unix::fs::symlink(
        format!("{ups}{}", v.trim_start_matches('/')),
        dir.join("etc"),
    )
    .unwrap();
    std::os::unix::fs::symlink(victim.join("keep"), dir.join("out")).unwrap();
    let file = env.dir.join("links.sqfs");
    let made = std::process::Command::new("mksquashfs")
        .arg(&dir)
        .arg(&file)
        .args(["-noappend", "-quiet", "-no-progress"])
        .status()
        .unwrap();
    assert!(made.success());
    let write = "echo pwned > /out; echo pwned > /etc/x; true";
    for root in [format!("{}:O", dir.display()), file.display().to_string()] {
        let r = env.hutch(&["run", "--rm", "--rootfs", &root, "sh", "-c", write]);
        // Either the container runs inside its own root or hutch refuses
        // to set it up; either way nothing reaches the victim.
        assert!(matches!(r.code, Some(0) | Some(125)), "{}", r.stderr);
        assert_eq!(list_dir(&victim), ["keep"], "{root}: {}", r.stderr);
        assert_eq!(
            std::fs::read_to_string(victim.join("keep")).unwrap(),
            "mine\n"
        );
    }
    let r = env.hutch(&[
        "run",
        "--rm",
        "--rootfs",
        dir.to_str().unwrap(),
        "sh",
        "-c",
        write,
    ]);
    assert!(matches!(r.code, Some(0) | Some(125)), "{}", r.stderr);
    assert_eq!(list_dir(&victim), ["keep"], "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(victim.join("keep")).unwrap(),
        "mine\n"
    );
}
