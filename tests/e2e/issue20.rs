//! Issue #20 (defects found running real images): images whose layers hold
//! device nodes (item 1).

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::common::{image, list_dir, Env, Run};

/// The single unpacked layer directory of the store (the test pulled one
/// one-layer image into a fresh store).
fn only_layer(env: &Env, r: &Run) -> PathBuf {
    let layers = list_dir(&env.store().join("layers"));
    if layers.len() != 1 {
        r.fail(&format!("expected one unpacked layer, found {layers:?}"));
    }
    env.store().join("layers").join(&layers[0])
}

/// Whether `p` exists at all (a dangling link or device node counts).
fn exists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

#[test]
fn issue20_pull_skips_device_nodes_and_the_image_works() {
    // issue #20 item 1: a debootstrap-style /dev (char and block nodes, a
    // FIFO) used to fail the pull; now the nodes are skipped, the rest is
    // unpacked and run, diff, commit and save work.
    let env = Env::new();
    let img = image("devices");
    let r = env.hutch(&["pull", "-q", &img]).success();
    let layer = only_layer(&env, &r);
    for node in ["dev/null", "dev/full", "dev/loop0"] {
        if exists(&layer.join(node)) {
            r.fail(&format!("the device node {node} was created in the layer"));
        }
    }
    let fifo = std::fs::symlink_metadata(layer.join("dev/somefifo"))
        .unwrap_or_else(|e| r.fail(&format!("the FIFO dev/somefifo is missing: {e}")));
    assert!(fifo.file_type().is_fifo(), "dev/somefifo is not a FIFO");
    assert_eq!(
        std::fs::read_to_string(layer.join("etc/devices-marker")).unwrap(),
        "devices\n"
    );

    // The container's /dev is the usual fresh one: hutch's nodes, not the
    // layer's entries.
    let script = "test -c /dev/null && test -c /dev/full && test ! -e /dev/loop0 \
                  && test ! -e /dev/somefifo && echo fresh; \
                  echo x > /dev/full 2>/dev/null || echo full-is-full; \
                  touch /tmp/made-here";
    env.hutch(&["run", "--name", "dv", &img, "sh", "-c", script])
        .success()
        .stdout_is("fresh\nfull-is-full");
    let d = env.hutch(&["diff", "dv"]).success();
    if d.stdout.lines().any(|l| l.contains("/dev")) {
        d.fail("diff lists /dev entries");
    }
    if !d.stdout.lines().any(|l| l == "A /tmp/made-here") {
        d.fail("diff lacks the container's own change");
    }
    env.hutch(&["commit", "-q", "dv", "devices-committed"])
        .success();
    env.hutch(&[
        "run",
        "--rm",
        "devices-committed",
        "cat",
        "/etc/devices-marker",
    ])
    .success()
    .stdout_is("devices");
    let archive = env.dir.join("devices.tar");
    let archive_arg = archive.to_str().unwrap();
    env.hutch(&["save", "-o", archive_arg, "devices-committed"])
        .success();
    env.hutch(&["rm", "dv"]).success();
    env.hutch(&["rmi", "devices-committed", &img]).success();

    // The saved archive still carries the device nodes in the original
    // layer: `load` skips them the same way.
    env.hutch(&["load", "-i", archive_arg])
        .success()
        .stdout_has("localhost/devices-committed:latest");
    env.hutch(&[
        "run",
        "--rm",
        "devices-committed",
        "sh",
        "-c",
        "test -c /dev/null && test ! -e /dev/loop0 && ls /tmp",
    ])
    .success()
    .stdout_is("made-here");
}

/// A tar stream with `name` as a character device (1, 3) beside a file.
fn rootfs_with_devices() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dir = tar::Header::new_ustar();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o755);
    dir.set_size(0);
    b.append_data(&mut dir, "dev/", std::io::empty()).unwrap();
    for (name, kind, major, minor) in [
        ("dev/null", tar::EntryType::Char, 1, 3),
        ("dev/sda", tar::EntryType::Block, 8, 0),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(kind);
        h.set_mode(0o666);
        h.set_size(0);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        b.append_data(&mut h, name, std::io::empty()).unwrap();
    }
    let mut f = tar::Header::new_ustar();
    f.set_entry_type(tar::EntryType::Regular);
    f.set_mode(0o644);
    f.set_size(6);
    b.append_data(&mut f, "hello", &b"hello\n"[..]).unwrap();
    b.into_inner().unwrap()
}

#[test]
fn issue20_import_skips_device_nodes() {
    // issue #20 item 1: `import` of a root filesystem with device nodes.
    let env = Env::new();
    let tarball = env.dir.join("rootfs.tar");
    std::fs::write(&tarball, rootfs_with_devices()).unwrap();
    let r = env
        .hutch(&["import", tarball.to_str().unwrap(), "with-devices"])
        .success();
    let layer = only_layer(&env, &r);
    assert_eq!(
        std::fs::read_to_string(layer.join("hello")).unwrap(),
        "hello\n"
    );
    for node in ["dev/null", "dev/sda"] {
        if exists(&layer.join(node)) {
            r.fail(&format!("the device node {node} was created in the layer"));
        }
    }
    assert!(layer.join("dev").is_dir(), "dev/ itself is kept");
}
