//! Images, complete (issue #3, second half): `save`/`load` round trips in
//! both archive formats, interoperability with skopeo, `export`/`import`,
//! `tag`/`untag`, `images --filter/--format`, `rmi -f`, `image prune`,
//! `history`, `image tree`, `image mount`, and `system df/prune/reset`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};

use super::common::{image, require_tool, run_command, Env, Run, TIMEOUT};
use super::{setup, Cleanup};

/// `id digest name` per stored name, sorted: what must survive a round trip.
fn inventory(env: &Env, with_digest: bool) -> Vec<String> {
    let f = if with_digest {
        "{{.Id}} {{.Digest}} {{.Repository}}:{{.Tag}}"
    } else {
        "{{.Id}} {{.Repository}}:{{.Tag}}"
    };
    let r = env.hutch(&["images", "--format", f]).success();
    let mut v: Vec<String> = r.stdout.lines().map(String::from).collect();
    v.sort();
    v
}

/// `env` with busybox and layers pulled.
fn two_images() -> Env {
    let env = setup();
    env.pull(&image("layers"));
    env
}

/// Runs `skopeo ARGS` as the test user in `env`, which must succeed.
#[track_caller]
fn skopeo(env: &Env, args: &[&str]) -> Run {
    let bin = require_tool("skopeo");
    let mut c = Command::new(&bin);
    c.args(args)
        .env_clear()
        .envs(env.vars())
        .current_dir(&env.dir)
        .stdin(Stdio::null());
    let what = format!("command: {} {}", bin.display(), args.join(" "));
    run_command(c, what, TIMEOUT).success()
}

/// The config digest and config of the one image in the OCI layout `dir`.
fn layout_config(dir: &Path) -> (String, serde_json::Value) {
    let read = |p: &Path| -> serde_json::Value {
        let b = std::fs::read(p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
        serde_json::from_slice(&b).unwrap_or_else(|e| panic!("parsing {}: {e}", p.display()))
    };
    let blob = |d: &str| {
        dir.join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let index = read(&dir.join("index.json"));
    let m = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let manifest = read(&blob(&m));
    let c = manifest["config"]["digest"].as_str().unwrap().to_string();
    let config = read(&blob(&c));
    (c, config)
}

#[test]
fn save_and_load_keep_ids_names_and_digests_in_both_formats() {
    let src = two_images();
    let bb = image("busybox");
    let layers = image("layers");
    let before = inventory(&src, true);
    assert_eq!(before.len(), 2, "{before:?}");
    let oci = src.dir.join("two-oci.tar");
    let docker = src.dir.join("two-docker.tar");
    src.hutch(&[
        "save",
        "--format",
        "oci-archive",
        "-o",
        oci.to_str().unwrap(),
        &bb,
        &layers,
    ])
    .success()
    .stderr_empty();
    // A docker-archive holds one image unless -m says otherwise.
    src.hutch(&["save", "-o", docker.to_str().unwrap(), &bb, &layers])
        .tool_error(&["one image"]);
    assert!(!docker.exists(), "a failed save left {}", docker.display());
    src.hutch(&["save", "-m", "-o", docker.to_str().unwrap(), &bb, &layers])
        .success();

    // oci-archive: ids, manifest digests and names all survive.
    let a = Env::new();
    let r = a.hutch(&["load", "-i", oci.to_str().unwrap()]).success();
    assert_eq!(
        r.stdout.lines().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            format!("Loaded image: {bb}:latest").as_str(),
            format!("Loaded image: {layers}:latest").as_str()
        ]),
        "{r}"
    );
    assert_eq!(inventory(&a, true), before);
    a.hutch(&["run", "--rm", &bb, "echo", "from oci"])
        .success()
        .stdout_is("from oci");

    // docker-archive: ids and names survive (it carries no manifest).
    let b = Env::new();
    b.hutch(&["load", "-i", docker.to_str().unwrap()]).success();
    assert_eq!(inventory(&b, false), inventory(&src, false));
    b.hutch(&["run", "--rm", &layers, "echo", "from docker"])
        .success()
        .stdout_is("from docker");
    assert!(
        b.store_entries("tmp").is_empty(),
        "load left temp files: {:?}",
        b.store_entries("tmp")
    );
}

#[test]
fn load_reads_a_gzipped_archive_from_standard_input() {
    let src = setup();
    let bb = image("busybox");
    let tar = src.dir.join("bb.tar");
    src.hutch(&["save", "-o", tar.to_str().unwrap(), &bb])
        .success();
    let raw = std::fs::read(&tar).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let gz_path = src.dir.join("bb.tar.gz");
    std::fs::write(&gz_path, gz.finish().unwrap()).unwrap();

    let dst = Env::new();
    let mut c = dst.command(&["load"]);
    c.stdin(std::fs::File::open(&gz_path).unwrap());
    run_command(c, dst.describe(&["load", "<", "bb.tar.gz"]), TIMEOUT)
        .success()
        .stdout_is(&format!("Loaded image: {bb}:latest"));
    assert_eq!(inventory(&dst, false), inventory(&src, false));
}

#[test]
fn archives_interoperate_with_skopeo() {
    let env = setup();
    let bb = image("busybox");
    let id = env
        .hutch(&["images", "--no-trunc", "--format", "{{.ID}}"])
        .success()
        .stdout
        .trim()
        .to_string();
    let want = env.hutch(&["image", "inspect", &bb]).success().json()[0].clone();
    // hutch writes, skopeo reads.
    for (format, transport) in [
        ("docker-archive", "docker-archive"),
        ("oci-archive", "oci-archive"),
    ] {
        let f = env.dir.join(format!("hutch-{format}.tar"));
        env.hutch(&["save", "--format", format, "-o", f.to_str().unwrap(), &bb])
            .success();
        let out = env.dir.join(format!("skopeo-{format}"));
        skopeo(
            &env,
            &[
                "copy",
                "-q",
                &format!("{transport}:{}", f.display()),
                &format!("oci:{}:x", out.display()),
            ],
        );
        let (digest, config) = layout_config(&out);
        if format == "oci-archive" {
            assert_eq!(digest, id, "skopeo read the oci-archive as another image");
        }
        // skopeo converts a docker-archive's config to OCI (re-serialising
        // it), so there the content is compared.
        assert_eq!(
            config["rootfs"]["diff_ids"], want["RootFS"]["Layers"],
            "{format}"
        );
        assert_eq!(config["config"]["Cmd"], want["Config"]["Cmd"], "{format}");
    }
    // skopeo writes, hutch reads and runs.
    for transport in ["docker-archive", "oci-archive"] {
        let f = env.dir.join(format!("skopeo-made-{transport}.tar"));
        skopeo(
            &env,
            &[
                "copy",
                "-q",
                "--src-tls-verify=false",
                &format!("docker://{bb}:latest"),
                &format!("{transport}:{}:{bb}:latest", f.display()),
            ],
        );
        let fresh = Env::new();
        fresh
            .hutch(&["load", "-i", f.to_str().unwrap()])
            .success()
            .stdout_is(&format!("Loaded image: {bb}:latest"));
        fresh
            .hutch(&["images", "--no-trunc", "--format", "{{.ID}}"])
            .success()
            .stdout_is(&id);
        fresh
            .hutch(&["run", "--rm", &bb, "echo", "loaded"])
            .success()
            .stdout_is("loaded");
    }
}

/// `path mode uid gid type` of every file a container of `img` sees on its
/// root filesystem, without /proc, /sys and /dev contents, and without
/// the files hutch bind-mounts per container.
fn tree_of(env: &Env, img: &str) -> BTreeSet<String> {
    let r = env
        .hutch(&[
            "run",
            "--rm",
            img,
            "sh",
            "-c",
            "find / -xdev | sort | while read -r f; do stat -c '%n %a %u %g %F' \"$f\"; done",
        ])
        .success();
    r.stdout
        .lines()
        .filter(|l| {
            let p = l.split(' ').next().unwrap_or_default();
            !["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"].contains(&p)
        })
        .map(String::from)
        .collect()
}

#[test]
fn export_then_import_gives_the_containers_tree() {
    let env = setup();
    let _c = Cleanup(&env);
    let bb = image("busybox");
    env.hutch(&[
        "run",
        "--name",
        "w",
        &bb,
        "sh",
        "-c",
        "echo data > /data.txt; rm /bin/true; mkdir -p /srv/a; chmod 700 /srv/a; \
         chown 1000:1000 /srv/a; ln -s /etc /evil",
    ])
    .success();
    let out = env.dir.join("w.tar");
    env.hutch(&["export", "-o", out.to_str().unwrap(), "w"])
        .success()
        .stdout_is("");
    let id = env
        .hutch(&[
            "import",
            "-c",
            r#"CMD ["cat","/data.txt"]"#,
            "-m",
            "from w",
            out.to_str().unwrap(),
            "snap",
        ])
        .success()
        .stdout
        .trim()
        .to_string();
    assert_eq!(id.len(), 64, "import printed {id:?}");
    env.hutch(&["run", "--rm", "snap"])
        .success()
        .stdout_is("data");
    // The container's tree, seen through a commit of it, equals the import's.
    env.hutch(&["commit", "w", "committed"]).success();
    let want = tree_of(&env, "committed");
    let got = tree_of(&env, "snap");
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "imported tree differs from the container's:\nmissing: {missing:?}\nextra: {extra:?}"
    );
    assert!(got.contains("/srv/a 700 1000 1000 directory"), "{got:?}");
    assert!(got.contains("/evil 777 0 0 symbolic link"), "{got:?}");
    assert!(!got.iter().any(|l| l.starts_with("/bin/true ")), "{got:?}");
    env.hutch(&["history", "--format", "{{.CreatedBy}}|{{.Comment}}", "snap"])
        .success()
        .stdout_is("hutch import|from w");
}

#[test]
fn tag_untag_and_image_listing_filters() {
    let env = two_images();
    let bb = image("busybox");
    env.hutch(&["tag", &bb, "mybox:1", "other"])
        .success()
        .stdout_is("");
    // As in Podman, the image a reference matches is listed under all
    // its names.
    let r = env
        .hutch(&[
            "images",
            "--format",
            "{{.Repository}}:{{.Tag}}",
            "--filter",
            "reference=localhost/*",
        ])
        .success();
    let mut names: Vec<&str> = r.stdout.lines().collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            format!("{bb}:latest").as_str(),
            "localhost/mybox:1",
            "localhost/other:latest"
        ],
        "{r}"
    );
    let bb_id = env
        .hutch(&["images", "-q", "--filter", "reference=busybox"])
        .success()
        .stdout
        .trim()
        .to_string();
    env.hutch(&["images", "-q", "--filter", "reference=other"])
        .success()
        .stdout_is(&bb_id);
    env.hutch(&["untag", &bb, "mybox:1"]).success();
    env.hutch(&["untag", &bb, "nope:1"]).code(125);
    // Without names the image stays, dangling.
    env.hutch(&["untag", &image("layers")]).success();
    env.hutch(&[
        "images",
        "--filter",
        "dangling=true",
        "--format",
        "{{.Repository}} {{.Tag}} {{.Dangling}}",
    ])
    .success()
    .stdout_is("<none> <none> true");
    env.hutch(&[
        "images",
        "--format",
        "table {{.Repository}}\t{{.Tag}}",
        "-f",
        "dangling=false",
    ])
    .success()
    .stdout_has("REPOSITORY")
    .stdout_has("localhost/other");
    env.hutch(&["images", "--filter", "colour=red"])
        .tool_error(&["colour"]);
    // image prune removes only the dangling one without -a.
    let pruned = env.hutch(&["image", "prune", "-f"]).success();
    assert_eq!(pruned.stdout.lines().count(), 1, "{pruned}");
    env.hutch(&["images", "-q"]).success().stdout_is(&bb_id);
    // -a removes every image no container uses.
    env.hutch(&["image", "prune", "-a", "-f"]).success();
    env.hutch(&["images", "-q"]).success().stdout_is("");
}

#[test]
fn rmi_refuses_an_image_in_use_unless_forced_which_removes_its_containers() {
    let env = setup();
    let _c = Cleanup(&env);
    let bb = image("busybox");
    super::run_d(&env, "user1", &["sleep", "1000"]);
    env.hutch(&["rmi", &bb])
        .error_exit(2, &["used by container"]);
    env.hutch(&["image", "prune", "-a", "-f"])
        .success()
        .stdout_is("");
    env.hutch(&["rmi", "-f", &bb]).success();
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
    env.hutch(&["images", "-q"]).success().stdout_is("");
}

#[test]
fn history_and_tree_describe_the_layers() {
    let env = two_images();
    let layers = image("layers");
    let tree = env.hutch(&["image", "tree", &layers]).success();
    let lines: Vec<&str> = tree.stdout.lines().collect();
    assert_eq!(lines.get(3), Some(&"Image Layers"), "{tree}");
    let layer_lines = lines
        .iter()
        .filter(|l| l.contains("ID: ") && l.contains("Size: "))
        .count();
    assert_eq!(layer_lines, 3, "{tree}");
    assert!(
        lines
            .last()
            .unwrap()
            .contains(&format!("Top Layer of: [{layers}:latest]")),
        "{tree}"
    );
    let h = env
        .hutch(&["history", "-q", "--no-trunc", &layers])
        .success();
    let first = h.stdout.lines().next().unwrap_or_default().to_string();
    let id = env
        .hutch(&[
            "images",
            "--no-trunc",
            "--format",
            "{{.Id}}",
            "-f",
            "reference=layers",
        ])
        .success()
        .stdout
        .trim()
        .to_string();
    assert_eq!(first, id, "{h}");
    env.hutch(&["image", "history", "--format", "json", &layers])
        .success()
        .json();
}

#[test]
fn image_mount_needs_the_user_namespace_and_mounts_read_only_inside_it() {
    let env = setup();
    let bb = image("busybox");
    env.hutch(&["image", "mount", &bb])
        .tool_error(&["user namespace"])
        .stderr_has("Hint: ");
    let script = format!(
        "set -e; p=$(\"$HUTCH\" image mount {bb}); cat \"$p/etc/group\" | head -1; \
         if touch \"$p/x\" 2>/dev/null; then echo writable; fi; \"$HUTCH\" image unmount {bb} >/dev/null; \
         test ! -e \"$p/etc/group\" && echo unmounted"
    );
    let mut c = Command::new(require_tool("unshare"));
    c.args([
        "--map-auto",
        "--map-root-user",
        "--mount",
        "sh",
        "-c",
        &script,
    ])
    .env_clear()
    .envs(env.vars())
    .env("HUTCH", super::common::hutch_bin())
    .stdin(Stdio::null());
    run_command(c, format!("unshare ... sh -c {script}"), TIMEOUT)
        .success()
        .stdout_is("root:x:0:\nunmounted");
    // hutch's own unshare, as with `podman unshare`.
    let hutch_sh = script.replace(
        "\"$HUTCH\"",
        &super::common::hutch_bin().display().to_string(),
    );
    env.hutch(&["unshare", "sh", "-c", &hutch_sh])
        .success()
        .stdout_is("root:x:0:\nunmounted");
}

/// issue #13: `mount` gives a container's root filesystem, read-write,
/// under `hutch unshare`; writes there are the container's; `mount`
/// lists it; outside a user namespace it is refused, as by Podman.
#[test]
fn issue13_mount_gives_a_container_root_under_unshare() {
    let env = setup();
    let bb = image("busybox");
    env.hutch(&["create", "--name", "m1", &bb, "true"])
        .success();
    env.hutch(&["mount", "m1"])
        .tool_error(&["user namespace"])
        .stderr_has("Hint: ");
    let h = super::common::hutch_bin().display().to_string();
    let script = format!(
        "set -e; p=$({h} mount m1); head -1 \"$p/etc/group\"; echo hi > \"$p/new\"; \
         {h} mount --no-trunc | grep -c \"$p\"; {h} container unmount m1; \
         test ! -e \"$p/new\" && echo unmounted; {h} mount | wc -l"
    );
    env.hutch(&["unshare", "sh", "-c", &script])
        .success()
        .stdout_is("root:x:0:\n1\nm1\nunmounted\n0");
    env.hutch(&["diff", "m1"]).success().stdout_has("A /new");
    env.hutch(&["rm", "m1"]).success();
}

/// issue #13: `image mount` without arguments lists what is mounted in
/// this namespace (`--format json` too), `--all` mounts every image,
/// `image unmount --all` and `--force` unmount them; `mount --format
/// json` lists mounted containers.
#[test]
fn issue13_image_mount_lists_all_and_json_under_unshare() {
    let env = setup();
    let bb = image("busybox");
    env.pull(&bb);
    env.hutch(&["create", "--name", "mj", &bb, "true"])
        .success();
    let h = super::common::hutch_bin().display().to_string();
    let script = format!(
        "set -e; {h} image mount | wc -l; {h} image mount --all >/dev/null; \
         {h} image mount | grep -c '/merged$'; \
         {h} image mount --format json | grep -c '\"mountpoint\"'; \
         {h} image unmount --all >/dev/null; {h} image mount | wc -l; \
         {h} image mount {bb} >/dev/null; {h} image unmount --force {bb} | wc -c; \
         {h} image mount --format json; \
         {h} mount mj >/dev/null; {h} mount --format json | grep -c '\"mj\"'"
    );
    let r = env.hutch(&["unshare", "sh", "-c", &script]).success();
    let lines: Vec<&str> = r.stdout.lines().collect();
    // 0 mounted, then every image (one row per name), JSON of them, none
    // after `--all`, a 64-digit id and its newline, an empty JSON list,
    // the container in `mount --format json`.
    let images = env
        .hutch(&["images", "-q"])
        .success()
        .stdout
        .lines()
        .count();
    let want = [
        "0".to_string(),
        images.to_string(),
        images.to_string(),
        "0".to_string(),
        "65".to_string(),
        "[]".to_string(),
        "1".to_string(),
    ];
    assert_eq!(lines, want, "{r}");
    env.hutch(&["rm", "mj"]).success();
}

#[test]
fn system_df_prune_and_reset() {
    let env = two_images();
    let _c = Cleanup(&env);
    env.hutch(&[
        "run",
        "--name",
        "done",
        &image("busybox"),
        "sh",
        "-c",
        "echo 12345678 > /f",
    ])
    .success();
    let df = env.hutch(&["system", "df"]).success();
    let row = |kind: &str| -> Vec<String> {
        df.stdout
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| df.fail(&format!("no {kind} row")))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    assert_eq!(
        row("Images")[1..3],
        ["2".to_string(), "1".to_string()],
        "{df}"
    );
    assert_eq!(
        row("Containers")[1..3],
        ["1".to_string(), "0".to_string()],
        "{df}"
    );
    // Answering no keeps everything.
    env.hutch(&["system", "prune"])
        .success()
        .stdout_has("Are you sure");
    assert_eq!(
        env.hutch(&["ps", "-a", "-q"])
            .success()
            .stdout
            .lines()
            .count(),
        1
    );
    let p = env.hutch(&["system", "prune", "-f"]).success();
    assert!(p.stdout.contains("Deleted Containers"), "{p}");
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
    assert_eq!(
        env.hutch(&["images", "-q"])
            .success()
            .stdout
            .lines()
            .count(),
        2
    );
    // reset wipes the store, subordinate-owned layer files included.
    env.hutch(&["system", "reset", "-f"]).success();
    assert!(
        !env.store().exists(),
        "store {} still exists",
        env.store().display()
    );
    env.hutch(&["images", "-q"]).success().stdout_is("");
}

#[test]
fn system_prune_with_volumes_removes_only_unused_volumes() {
    let env = setup();
    let _c = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["volume", "create", "kept"]).success();
    env.hutch(&["volume", "create", "loose"]).success();
    env.hutch(&["run", "--name", "user", "-v", "kept:/k", &img, "true"])
        .success();
    // Without --volumes no volume goes; the stopped container does.
    env.hutch(&["system", "prune", "-f"]).success();
    let names = |env: &Env| -> Vec<String> {
        let mut v: Vec<String> = env
            .hutch(&["volume", "ls", "-q"])
            .success()
            .stdout
            .lines()
            .map(String::from)
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(&env), ["kept", "loose"]);
    // A running container keeps its volume through --volumes.
    env.hutch(&[
        "run", "-d", "--name", "busy", "-v", "kept:/k", &img, "sleep", "1000",
    ])
    .success();
    let p = env.hutch(&["system", "prune", "-f", "--volumes"]).success();
    assert!(p.stdout.contains("Deleted Volumes\nloose\n"), "{p}");
    assert_eq!(names(&env), ["kept"]);
}
