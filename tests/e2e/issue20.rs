//! Issue #20 (defects found running real images): images whose layers hold
//! device nodes (item 1), short names of images stored under `docker.io/`
//! (item 6), credentials where Podman keeps them (item 14) and image sizes
//! as Podman shows them (item 16).

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::common::{current_user, image, list_dir, registry, set_mode, Env, Run};

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

/// `archive` (a docker-archive) rewritten so that its one image is tagged
/// `tags`, as another tool would have saved it.
fn retag_docker_archive(archive: &Path, tags: &[&str]) {
    let mut input = tar::Archive::new(std::fs::File::open(archive).unwrap());
    let mut out = tar::Builder::new(Vec::new());
    for e in input.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        e.read_to_end(&mut data).unwrap();
        if name == "manifest.json" {
            let mut m: serde_json::Value = serde_json::from_slice(&data).unwrap();
            m[0]["RepoTags"] = serde_json::json!(tags);
            data = m.to_string().into_bytes();
        }
        let mut h = e.header().clone();
        h.set_size(data.len() as u64);
        h.set_cksum();
        out.append_data(&mut h, &name, &data[..]).unwrap();
    }
    std::fs::write(archive, out.into_inner().unwrap()).unwrap();
}

#[test]
fn issue20_short_names_find_images_loaded_under_docker_io() {
    // issue #20 item 6: `load` stores `hold/sk:v1` as docker.io/hold/sk:v1;
    // the short name must find it before anything is pulled (the test
    // registry, the only search registry, has no hold/sk).
    let env = Env::new();
    let bb = image("busybox");
    env.pull(&bb).success();
    let archive = env.dir.join("sk.tar");
    let archive_arg = archive.to_str().unwrap();
    env.hutch(&["save", "-o", archive_arg, &bb]).success();
    retag_docker_archive(&archive, &["hold/sk:v1", "single:v2"]);
    env.hutch(&["rmi", &bb]).success();
    env.hutch(&["load", "-i", archive_arg])
        .success()
        .stdout_has("docker.io/hold/sk:v1");
    let id = env
        .hutch(&[
            "image",
            "inspect",
            "--format",
            "{{.Id}}",
            "docker.io/hold/sk:v1",
        ])
        .success()
        .stdout
        .trim()
        .to_string();
    for name in ["hold/sk:v1", "sk:v1", "single:v2", "docker.io/single:v2"] {
        env.hutch(&["image", "inspect", "--format", "{{.Id}}", name])
            .success()
            .stdout_is(&id);
    }
    let r = env
        .hutch(&["run", "--rm", "hold/sk:v1", "echo", "found"])
        .success()
        .stdout_is("found");
    if r.stderr.contains("Trying to pull") {
        r.fail("run tried the registries for a local image");
    }
    env.hutch(&["create", "--name", "c", "sk:v1", "true"])
        .success();
    env.hutch(&["history", "-q", "hold/sk:v1"])
        .success()
        .stdout_has(&id[..12]);
    env.hutch(&["tag", "hold/sk:v1", "again:v3"]).success();
    let saved = env.dir.join("again.tar");
    env.hutch(&["save", "-o", saved.to_str().unwrap(), "sk:v1"])
        .success();
    // rmi of a short name removes the name it matched, not another one.
    env.hutch(&["rm", "c"]).success();
    env.hutch(&["rmi", "hold/sk:v1"])
        .success()
        .stdout_is("Untagged: docker.io/hold/sk:v1");
    env.hutch(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .success()
        .stdout_is("docker.io/library/single:v2\nlocalhost/again:v3");
    // Not a suffix at a `/`: no match, and the registry is asked.
    env.hutch(&["image", "inspect", "ingle:v2"]).code(125);
}

#[test]
fn issue20_localhost_comes_before_the_search_registries() {
    // issue #20 item 6: Podman tries localhost/NAME first.
    let env = Env::new();
    env.pull(&image("busybox")).success();
    env.pull(&image("config")).success();
    env.hutch(&["tag", &image("busybox"), "both:1"]).success();
    env.hutch(&["tag", &image("config"), &format!("{}/both:1", registry())])
        .success();
    let want = env
        .hutch(&["image", "inspect", "--format", "{{.Id}}", &image("busybox")])
        .success()
        .stdout;
    env.hutch(&["image", "inspect", "--format", "{{.Id}}", "both:1"])
        .success()
        .stdout_is(want.trim());
}

/// Credentials for the plain test registry, as auth.json holds them
/// (that registry takes any, but lookups only need to find them).
fn auth_json_for(user: &str) -> String {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:secret"));
    format!(
        "{{\"auths\":{{\"{}\":{{\"auth\":\"{auth}\"}}}}}}",
        registry()
    )
}

/// Writes `text` to `path` as `login` would: private directories, mode 0600.
fn write_private(path: &Path, text: &str) {
    let dir = path.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    set_mode(dir, 0o700);
    std::fs::write(path, text).unwrap();
    set_mode(path, 0o600);
}

#[test]
fn issue20_credentials_are_found_where_podman_keeps_them_without_xdg_runtime_dir() {
    // issue #20 item 14: without XDG_RUNTIME_DIR, Podman keeps credentials
    // in $TMPDIR/podman-run-UID/containers/auth.json (when /run/user/UID is
    // not the user's); hutch must read and write that file.
    let (_, uid, _) = current_user();
    let run_user = PathBuf::from(format!("/run/user/{uid}"));
    assert!(
        !run_user.exists(),
        "this test needs a host without {} (Podman would use it instead of $TMPDIR)",
        run_user.display()
    );
    let mut env = Env::new();
    let tmp = env.dir.join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    env.unset_env("XDG_RUNTIME_DIR");
    env.set_env("TMPDIR", tmp.to_str().unwrap());
    env.set_env("HUTCH_RUNROOT", env.dir.join("runroot").to_str().unwrap());
    let podman_file = tmp.join(format!("podman-run-{uid}/containers/auth.json"));
    write_private(&podman_file, &auth_json_for("from-podman"));
    env.hutch(&["login", "--get-login", &registry()])
        .success()
        .stdout_is("from-podman");

    // login writes there too, creating Podman's directory privately.
    std::fs::remove_dir_all(tmp.join(format!("podman-run-{uid}"))).unwrap();
    env.hutch(&["login", "-u", "from-hutch", "-p", "pw", &registry()])
        .success();
    let dir = tmp.join(format!("podman-run-{uid}"));
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "{} mode", dir.display());
    let text = std::fs::read_to_string(&podman_file)
        .unwrap_or_else(|e| panic!("login did not write {}: {e}", podman_file.display()));
    assert!(text.contains(&registry()), "{text}");
    env.hutch(&["login", "--get-login", &registry()])
        .success()
        .stdout_is("from-hutch");
}

#[test]
fn issue20_credentials_are_read_in_podmans_order() {
    // issue #20 item 14: after the runtime auth.json (or $REGISTRY_AUTH_FILE)
    // come ~/.config/containers/auth.json, $DOCKER_CONFIG/config.json (else
    // ~/.docker/config.json) and ~/.dockercfg.
    let mut env = Env::new();
    let get = |env: &Env| env.hutch(&["login", "--get-login", &registry()]);
    get(&env).code(125);
    let legacy = env.home.join(".dockercfg");
    let legacy_text = auth_json_for("legacy");
    let inner = &legacy_text["{\"auths\":".len()..legacy_text.len() - 1];
    write_private(&legacy, inner);
    get(&env).success().stdout_is("legacy");
    write_private(
        &env.home.join(".docker/config.json"),
        &auth_json_for("docker"),
    );
    get(&env).success().stdout_is("docker");
    let docker_config = env.dir.join("docker-config");
    write_private(
        &docker_config.join("config.json"),
        &auth_json_for("docker-config"),
    );
    env.set_env("DOCKER_CONFIG", docker_config.to_str().unwrap());
    get(&env).success().stdout_is("docker-config");
    write_private(
        &env.config_home.join("containers/auth.json"),
        &auth_json_for("config-home"),
    );
    get(&env).success().stdout_is("config-home");
    let named = env.dir.join("named.json");
    write_private(&named, &auth_json_for("named"));
    env.set_env("REGISTRY_AUTH_FILE", named.to_str().unwrap());
    get(&env).success().stdout_is("named");
    write_private(
        &env.runtime_dir.join("containers/auth.json"),
        &auth_json_for("runtime"),
    );
    get(&env).success().stdout_is("named");
}

/// The size Podman shows for a stored image: its layers' uncompressed
/// sizes, its config, and its manifest twice.
fn podman_size(env: &Env, name: &str) -> u64 {
    let v = env.hutch(&["image", "inspect", name]).success().json();
    let img = &v[0];
    let blob = |d: &str| {
        env.store()
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(img["Digest"].as_str().unwrap())).unwrap())
            .unwrap();
    let mut total = manifest["config"]["size"].as_u64().unwrap();
    total += 2 * std::fs::metadata(blob(img["Digest"].as_str().unwrap()))
        .unwrap()
        .len();
    for l in manifest["layers"].as_array().unwrap() {
        let gz = std::fs::File::open(blob(l["digest"].as_str().unwrap())).unwrap();
        total +=
            std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut std::io::sink()).unwrap();
    }
    total
}

/// `n` bytes as Podman prints sizes between 1 and 10 MB.
fn megabytes(n: u64) -> String {
    let mb = n as f64 / 1e6;
    assert!((1.0..10.0).contains(&mb), "{n} bytes is outside 1..10 MB");
    let s = format!("{mb:.2}");
    format!("{} MB", s.trim_end_matches('0').trim_end_matches('.'))
}

#[test]
fn issue20_images_show_the_unpacked_size() {
    // issue #20 item 16: `images` showed the compressed size of pulled
    // images; Podman shows the unpacked one.
    let env = Env::new();
    let bb = image("busybox");
    env.pull(&bb).success();
    let want = podman_size(&env, &bb);
    env.hutch(&["image", "inspect", "--format", "{{.Size}}", &bb])
        .success()
        .stdout_is(&want.to_string());
    env.hutch(&["images", "--format", "{{.Size}}"])
        .success()
        .stdout_is(&megabytes(want));
    let v = env.hutch(&["images", "--format", "json"]).success().json();
    assert_eq!(v[0]["Size"].as_u64(), Some(want), "{v}");
}

#[test]
fn issue20_sizes_of_a_store_from_an_older_hutch_are_recomputed() {
    // issue #20 item 16: a store written before schema 5 holds compressed
    // sizes and no layer sizes; the first read computes and records them.
    let env = Env::new();
    let bb = image("busybox");
    env.pull(&bb).success();
    let want = podman_size(&env, &bb);
    let db_path = env.store().join("db.sqlite");
    {
        let db = rusqlite::Connection::open(&db_path).unwrap();
        db.execute_batch(
            "UPDATE images SET size = 1088000;
             ALTER TABLE layers DROP COLUMN unpacked_size;
             PRAGMA user_version = 4;",
        )
        .unwrap();
    }
    env.hutch(&["images", "--format", "{{.Size}}"])
        .success()
        .stdout_is(&megabytes(want));
    let db = rusqlite::Connection::open(&db_path).unwrap();
    let (size, unpacked): (i64, Option<i64>) = db
        .query_row(
            "SELECT images.size, (SELECT unpacked_size FROM layers) FROM images",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(size, want as i64, "the image's size was not recorded");
    assert!(
        unpacked.is_some_and(|n| n > 1_000_000),
        "layer size {unpacked:?}"
    );
}
