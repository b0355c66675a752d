//! Hostile images at run time (issue #6): an image whose /etc/passwd,
//! /etc/group, /etc/hosts, /etc/hostname or /etc/resolv.conf is a symlink
//! to a host file, and a container that keeps swapping its /etc for a
//! symlink to a victim while it is restarted. Whatever hutch reads or
//! bind-mounts is resolved inside the container's root: each run is
//! refused or confined, and the victim files are never read into the
//! result nor changed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::common::Env;
use super::{snapshot, Attack, RawTar, Serve};

/// Tools the images' busybox provides.
const APPLETS: [&str; 10] = [
    "sh", "cat", "id", "ln", "mv", "rm", "sleep", "usleep", "true", "mkdir",
];

/// A layer with a static busybox in /bin, /etc and /tmp, and then
/// whatever `extra` adds.
fn busybox_layer(extra: impl FnOnce(&mut RawTar)) -> Vec<u8> {
    busybox_layer_with(true, extra)
}

/// Like `busybox_layer`, with or without /etc.
fn busybox_layer_with(has_etc: bool, extra: impl FnOnce(&mut RawTar)) -> Vec<u8> {
    let busybox = std::fs::read("/bin/busybox")
        .expect("reading /bin/busybox (package busybox-static; tests/run.sh installs it)");
    let mut t = RawTar::default();
    t.dir("bin").entry("bin/busybox", b'0', 0o755, "", &busybox);
    for a in APPLETS {
        t.symlink(&format!("bin/{a}"), "busybox");
    }
    if has_etc {
        t.dir("etc");
    }
    t.dir("tmp");
    extra(&mut t);
    t.finish()
}

/// A victim directory holding `files` (name, contents) beside the store.
fn victim(env: &Env, files: &[(&str, &str)]) -> PathBuf {
    let v = env.dir.join("victim-etc");
    std::fs::create_dir_all(&v).expect("creating the victim dir");
    for (name, text) in files {
        std::fs::write(v.join(name), text).expect("writing a victim file");
    }
    v
}

/// `../` enough times to climb from /etc to / on any host path.
fn climb(to: &Path) -> String {
    format!("../../../../../../../../..{}", to.display())
}

/// Publishes `layer` as `repo` and pulls it; returns the image name.
fn pull(a: &Attack, repo: &str, layer: &[u8]) -> String {
    a.reg.publish(repo, layer, Serve::Honest);
    let img = format!("{}/{repo}", a.reg.addr);
    a.env.hutch(&["pull", "--tls-verify=false", &img]).success();
    img
}

#[test]
fn run_user_name_never_reads_a_passwd_symlinked_to_the_host() {
    let a = Attack::new();
    let v = victim(
        &a.env,
        &[
            ("passwd", "evil:x:4242:4242::/:/bin/sh\n"),
            ("group", "evilgrp:x:4242:\n"),
        ],
    );
    let before = snapshot(&v);
    let layer = busybox_layer(|t| {
        t.symlink("etc/passwd", &v.join("passwd").to_string_lossy())
            .symlink("etc/group", &climb(&v.join("group")));
    });
    let img = pull(&a, "passwdlink", &layer);
    // Inside the root the links dangle, so `evil` is unknown: exit 126 as
    // in Podman, and one error line.
    for (spec, name) in [("evil", "evil"), ("0:evilgrp", "evilgrp")] {
        let r = a
            .env
            .hutch(&["run", "--rm", "-u", spec, &img, "id"])
            .code(126);
        let errs = r.stderr_lines("Error:");
        if errs.len() != 1 || !errs[0].contains(name) || r.stdout.contains("4242") {
            r.fail(&format!(
                "expected one Error: line naming {name:?} and no host ids"
            ));
        }
    }
    // Numeric ids need no files; reading the links from inside finds
    // nothing either.
    let r = a.env.hutch(&[
        "run",
        "--rm",
        "-u",
        "0",
        &img,
        "sh",
        "-c",
        "id -u; cat /etc/passwd /etc/group",
    ]);
    if r.code != Some(1) || r.stdout.trim() != "0" || r.stdout.contains("evil") {
        r.fail("expected uid 0 and unreadable links (exit 1 from cat)");
    }
    assert_eq!(snapshot(&v), before, "victim changed");
}

#[test]
fn etc_files_symlinked_to_the_host_stay_inside_the_root() {
    let a = Attack::new();
    let v = victim(
        &a.env,
        &[
            ("hosts", "victim hosts\n"),
            ("hostname", "victim-hostname\n"),
            ("resolv.conf", "victim resolv\n"),
        ],
    );
    let before = snapshot(&v);
    let layer = busybox_layer(|t| {
        t.symlink("etc/hosts", &v.join("hosts").to_string_lossy())
            .symlink("etc/hostname", &climb(&v.join("hostname")))
            .symlink("etc/resolv.conf", &v.join("resolv.conf").to_string_lossy());
    });
    let img = pull(&a, "etclinks", &layer);
    let r = a.env.hutch(&[
        "run",
        "--rm",
        "--hostname",
        "inside",
        &img,
        "cat",
        "/etc/hosts",
        "/etc/hostname",
        "/etc/resolv.conf",
    ]);
    match r.code {
        Some(0) => {
            if r.stdout.contains("victim") || !r.stdout.contains("inside") {
                r.fail("expected hutch's own files, not the victim's");
            }
        }
        _ => {
            r.tool_error(&["/etc/"]);
        }
    }
    assert_eq!(snapshot(&v), before, "victim changed");
}

#[test]
fn swapping_etc_for_a_symlink_during_restarts_never_reaches_the_victim() {
    let a = Attack::new();
    let v = victim(
        &a.env,
        &[
            ("hosts", "victim hosts\n"),
            ("hostname", "victim-hostname\n"),
            ("resolv.conf", "victim resolv\n"),
            ("passwd", "evil:x:0:0::/:/bin/sh\n"),
        ],
    );
    let before = snapshot(&v);
    // Without /etc in the image, hutch makes it in the container's upper
    // directory, where (unlike a directory of the image) overlayfs lets the
    // container rename it. It holds the mount points of hosts, hostname
    // and resolv.conf, so it is what a container can swap: mostly a real
    // directory, briefly a symlink (absolute or climbing) to the victim.
    let img = pull(&a, "swapper", &busybox_layer_with(false, |_| {}));
    let script = format!(
        "while :; do \
           mv /etc /etc.real && ln -s '{abs}' /etc && echo swapped && usleep 300; \
           rm -f /etc; mv /etc.real /etc; usleep 3000; \
           mv /etc /etc.real && ln -s '{rel}' /etc && usleep 300; \
           rm -f /etc; mv /etc.real /etc; usleep 3000; \
         done",
        abs = v.display(),
        rel = climb(&v)
    );
    // A swapper that has swapped at least once (so the race is real).
    let start_swapper = || {
        a.env
            .hutch(&["run", "-d", "--name", "swap", &img, "sh", "-c", &script])
            .success();
        super::common::wait_for(
            "the container swapping /etc",
            Duration::from_secs(20),
            || {
                let logs = a.env.hutch(&["logs", "swap"]).success();
                if logs.stdout.contains("swapped") {
                    Ok(())
                } else {
                    Err(logs.to_string())
                }
            },
        );
    };
    start_swapper();
    let started = Instant::now();
    let (mut ok, mut refused) = (0, 0);
    while started.elapsed() < Duration::from_secs(10) {
        let r = a.env.hutch(&["restart", "-t", "0", "swap"]);
        match r.code {
            Some(0) => ok += 1,
            Some(125) => {
                // Killed while /etc was a symlink: the start was refused.
                // A fresh container keeps the race going.
                r.tool_error(&[]);
                refused += 1;
                a.env.hutch(&["rm", "-f", "swap"]).success();
                start_swapper();
            }
            _ => r.fail("restart must succeed or fail with exit 125"),
        }
        assert_eq!(snapshot(&v), before, "victim changed during restart {ok}");
    }
    eprintln!("restarts in 10 s: {ok} succeeded, {refused} refused");
    a.env.hutch(&["rm", "-f", "swap"]).success();
    assert!(
        ok >= 1,
        "no restart succeeded in 10 s ({refused} refused): the race never ran"
    );
    assert_eq!(snapshot(&v), before, "victim changed");
}
