//! Issue #13 (Podman's CLI contract), the image commands: `search`,
//! `manifest`, and the pull, push, login, rmi, import, save, history and
//! commit flags, against the test registries, with Podman 4.3's output and
//! exit codes.

use crate::common::{check_table, image, registry, Case, Env, Out};
use crate::push::{auth_registry, ca_dir, login, password, repo, trusting_env, user};

/// Issue #13 item 1: `search` of a registry without /v1/search matches the
/// term against its catalog and prints Podman's table, formats and
/// filters; `--list-tags` lists the repository's tags.
#[test]
fn issue13_img_search_matches_the_catalog_as_podman_does() {
    let env = Env::new();
    let reg = registry();
    let table = format!("NAME{}DESCRIPTION\n{reg}/zstd  ", " ".repeat(reg.len() + 3));
    env.hutch(&["search", &format!("{reg}/zst")])
        .success()
        .stdout_is(&table);
    // A term without a registry goes to the search registries.
    env.hutch(&["search", "zst"]).success().stdout_is(&table);
    env.hutch(&["image", "search", "zst"])
        .success()
        .stdout_is(&table);
    let json = env
        .hutch(&["search", "--format", "json", "zst"])
        .success()
        .json();
    assert_eq!(
        json,
        serde_json::json!([{"Index": reg, "Name": format!("{reg}/zstd"), "Description": "",
            "Stars": 0, "Official": "", "Automated": "", "Tag": ""}])
    );
    check_table(
        &env,
        &[
            Case {
                args: &[
                    "search",
                    "--format",
                    "{{.Name}}|{{.Index}}|{{.Stars}}",
                    "zst",
                ],
                code: 0,
                out: Out::Has("/zstd|127.0.0.1"),
            },
            Case {
                args: &["search", "--filter", "stars=1", "zst"],
                code: 0,
                out: Out::Is(""),
            },
            Case {
                args: &["search", "--filter", "is-official", "zst"],
                code: 0,
                out: Out::Is(""),
            },
            Case {
                args: &[
                    "search",
                    "--filter",
                    "is-automated=false",
                    "--format",
                    "{{.Name}}",
                    "zst",
                ],
                code: 0,
                out: Out::Has("/zstd"),
            },
            Case {
                args: &["search", "--limit", "-1", "zst"],
                code: 0,
                out: Out::Is(""),
            },
            Case {
                args: &["search", "--format", "{{.Name}}", "--limit", "1", "{REG}/"],
                code: 0,
                out: Out::Has("/"),
            },
            Case {
                args: &["search", "no-repository-has-this-name"],
                code: 0,
                out: Out::Is(""),
            },
            Case {
                args: &["search", "--filter", "foo=bar", "zst"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["search", "--filter", "stars=x", "zst"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["search", "--list-tags", "--filter", "stars=0", "{REG}/zstd"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["search", "--list-tags", "{REG}/no-such-repository"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["search", "--authfile", "/nonexistent/auth.json", "zst"],
                code: 125,
                out: Out::Is(""),
            },
        ],
    );
    let limited = env
        .hutch(&[
            "search",
            "--format",
            "{{.Name}}",
            "--limit",
            "2",
            &format!("{reg}/"),
        ])
        .success();
    assert_eq!(limited.stdout.lines().count(), 2, "{limited}");
    env.hutch(&["search", "--compatible", "zst"])
        .success()
        .stdout_is(&format!(
            "NAME{}DESCRIPTION  STARS       OFFICIAL    AUTOMATED\n{reg}/zstd               0",
            " ".repeat(reg.len() + 3)
        ));
    env.hutch(&["search", "--list-tags", &format!("{reg}/zstd")])
        .success()
        .stdout_is(&format!(
            "NAME{}TAG\n{reg}/zstd  latest",
            " ".repeat(reg.len() + 3)
        ));
    let tags = env
        .hutch(&[
            "search",
            "--list-tags",
            "--format",
            "json",
            &format!("{reg}/zstd"),
        ])
        .success()
        .json();
    assert_eq!(
        tags,
        serde_json::json!([{"Name": format!("{reg}/zstd"), "Tags": ["latest"]}])
    );
    env.hutch(&["search", "--filter", "foo=bar", "zst"])
        .tool_error(&["invalid filter type \"foo=bar\""]);
}

/// Issue #13 item 1: `search` at the TLS registry with basic auth takes
/// `--creds`, `--cert-dir`, `--tls-verify` and stored credentials; without
/// credentials it fails with 125.
#[test]
fn issue13_img_search_uses_credentials_and_certificates() {
    let env = trusting_env();
    let name = repo("search");
    let creds = format!("{}:{}", user(), password());
    let dest = format!("{}/{name}:t1", auth_registry());
    env.pull(&image("busybox"));
    login(&env);
    env.hutch(&["push", "-q", &image("busybox"), &dest])
        .success();
    let want = format!("{}/{name}", auth_registry());
    let plain = Env::new();
    let ca = ca_dir();
    plain
        .hutch(&[
            "search",
            "--format",
            "{{.Name}}",
            &format!("{}/{name}", auth_registry()),
        ])
        .tool_error(&["searching"]);
    plain
        .hutch(&[
            "search",
            "--cert-dir",
            ca.to_str().unwrap(),
            &format!("{}/{name}", auth_registry()),
        ])
        .tool_error(&["requires credentials"]);
    plain
        .hutch(&[
            "search",
            "--format",
            "{{.Name}}",
            "--cert-dir",
            ca.to_str().unwrap(),
            "--creds",
            &creds,
            &format!("{}/{name}", auth_registry()),
        ])
        .success()
        .stdout_is(&want);
    plain
        .hutch(&[
            "search",
            "--tls-verify=false",
            "--creds",
            &creds,
            "--list-tags",
            &format!("{}/{name}", auth_registry()),
        ])
        .success()
        .stdout_has(&format!("{want}  t1"));
    env.hutch(&[
        "search",
        "--format",
        "{{.Name}}",
        &format!("{}/{name}", auth_registry()),
    ])
    .success()
    .stdout_is(&want);
}

/// Issue #13 item 3: `push --creds` and `pull --creds` reach the TLS
/// registry with basic auth without a login; wrong credentials fail with
/// 125; `login --verbose` names the file it wrote; `push --compress`,
/// `--remove-signatures` and `--disable-content-trust` are accepted.
#[test]
fn issue13_img_creds_push_and_pull_without_login() {
    let env = Env::new();
    let ca = ca_dir();
    let ca = ca.to_str().unwrap();
    let creds = format!("{}:{}", user(), password());
    let dest = format!("{}/{}:c1", auth_registry(), repo("creds"));
    let id = env.pull(&image("busybox")).stdout.trim().to_string();
    env.hutch(&[
        "push",
        "-q",
        "--cert-dir",
        ca,
        "--creds",
        "nobody:wrong",
        &image("busybox"),
        &dest,
    ])
    .tool_error(&["unauthorized"]);
    env.hutch(&["push", "-q", "--cert-dir", ca, &image("busybox"), &dest])
        .tool_error(&["requires credentials"]);
    env.hutch(&[
        "push",
        "-q",
        "--compress",
        "--remove-signatures",
        "--disable-content-trust",
        "--cert-dir",
        ca,
        "--creds",
        &creds,
        &image("busybox"),
        &dest,
    ])
    .success()
    .stdout_is("");
    let other = Env::new();
    other
        .hutch(&["pull", "-q", "--cert-dir", ca, &dest])
        .tool_error(&["requires credentials"]);
    other
        .hutch(&[
            "pull",
            "-q",
            "--disable-content-trust",
            "--cert-dir",
            ca,
            "--creds",
            &creds,
            &dest,
        ])
        .success()
        .stdout_is(&id);
    // --creds is not stored anywhere.
    assert!(
        !other.runtime_dir.join("containers/auth.json").exists(),
        "pull --creds wrote credentials"
    );
    let t = trusting_env();
    let authfile = t.dir.join("auth.json");
    let login = crate::push::hutch_stdin(
        &t,
        &[
            "login",
            "-v",
            "--authfile",
            authfile.to_str().unwrap(),
            "-u",
            &user(),
            "--password-stdin",
            &auth_registry(),
        ],
        &format!("{}\n", password()),
    );
    login
        .success()
        .stdout_is(&format!("Used:  {}\nLogin Succeeded!", authfile.display()));
}

/// Issue #13 item 3: `pull --arch/--os/--variant` choose from an index as
/// `--platform` does, and conflict with it as in Podman; `pull --all-tags`
/// pulls every tag of the repository and prints each id.
#[test]
fn issue13_img_pull_chooses_platform_parts_and_all_tags() {
    let env = Env::new();
    env.hutch(&["pull", "-q", "--arch", "arm64", &image("multi")])
        .success();
    env.hutch(&[
        "image",
        "inspect",
        "--format",
        "{{.Architecture}}",
        &image("multi"),
    ])
    .success()
    .stdout_is("arm64");
    env.hutch(&[
        "pull",
        "-q",
        "--arch",
        "arm64",
        "--variant",
        "v8",
        "--os",
        "linux",
        &image("multi"),
    ])
    .success();
    env.hutch(&["pull", "-q", "--arch", "s390x", &image("multi")])
        .tool_error(&["s390x"]);
    env.hutch(&["pull", "-q", "--os", "windows", &image("multi")])
        .tool_error(&["windows"]);
    env.hutch(&[
        "pull",
        "-q",
        "--platform",
        "linux/arm64",
        "--arch",
        "amd64",
        &image("multi"),
    ])
    .tool_error(&["--platform option can not be specified with --arch or --os"]);

    let name = format!("{}/{}", registry(), repo("alltags"));
    let id = env.pull(&image("busybox")).stdout.trim().to_string();
    for tag in ["one", "two"] {
        env.hutch(&["push", "-q", &image("busybox"), &format!("{name}:{tag}")])
            .success();
    }
    let fresh = Env::new();
    fresh
        .hutch(&["pull", "-q", "--all-tags", &name])
        .success()
        .stdout_is(&format!("{id}\n{id}"));
    fresh
        .hutch(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .success()
        .stdout_is(&format!("{name}:one\n{name}:two"));
    fresh
        .hutch(&[
            "pull",
            "-q",
            "-a",
            &format!("{}/no-such-repository", registry()),
        ])
        .tool_error(&["no-such-repository"]);
}

/// Issue #13 item 3: `history` shows ages by default (`--human`, as in
/// Podman) and the time itself with `--human=false` (or `-H=false`).
#[test]
fn issue13_img_history_human_shows_ages_or_times() {
    let env = Env::new();
    env.pull(&image("busybox"));
    let aged = env
        .hutch(&["history", "--format", "{{.Created}}", &image("busybox")])
        .success();
    assert!(
        aged.stdout.trim().ends_with(" years ago"),
        "expected an age in years: {aged}"
    );
    for flag in ["--human=false", "-H=false"] {
        env.hutch(&[
            "history",
            flag,
            "--format",
            "{{.Created}}",
            &image("busybox"),
        ])
        .success()
        .stdout_is("2023-11-14T22:13:20Z");
    }
    env.hutch(&["image", "history", "--human=false", &image("busybox")])
        .success()
        .stdout_has("  2023-11-14T22:13:20Z  tests/fixtures/build.py  ");
}

/// Issue #13 item 3: `import --arch/--os/--variant` record the platform
/// given instead of the host's; `rmi --no-prune` removes as `rmi` does
/// (hutch has no parent images to keep).
#[test]
fn issue13_img_import_platform_and_rmi_no_prune() {
    let env = Env::new();
    let dir = env.dir.join("rootfs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f"), "hi\n").unwrap();
    let tar = env.dir.join("rootfs.tar");
    let status = std::process::Command::new("tar")
        .args([
            "-C",
            dir.to_str().unwrap(),
            "-cf",
            tar.to_str().unwrap(),
            "f",
        ])
        .status()
        .unwrap();
    assert!(status.success(), "tar failed");
    let tar = tar.to_str().unwrap();
    env.hutch(&[
        "import",
        "-q",
        "--arch",
        "arm",
        "--variant",
        "v7",
        "--os",
        "freebsd",
        tar,
        "imp:1",
    ])
    .success();
    env.hutch(&[
        "image",
        "inspect",
        "--format",
        "{{.Os}}/{{.Architecture}}/{{.Variant}}",
        "imp:1",
    ])
    .success()
    .stdout_is("freebsd/arm/v7");
    env.hutch(&["image", "import", "-q", "--arch", "s390x", tar, "imp:2"])
        .success();
    env.hutch(&[
        "image",
        "inspect",
        "--format",
        "{{.Os}}/{{.Architecture}}",
        "imp:2",
    ])
    .success()
    .stdout_is("linux/s390x");
    env.hutch(&["rmi", "--no-prune", "imp:1"])
        .success()
        .stdout_has("Deleted: ");
    env.hutch(&["image", "rm", "--no-prune", "imp:2"]).success();
    env.hutch(&["rmi", "--no-prune", "imp:2"])
        .error_exit(1, &["imp:2"]);
}

const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The `sha256:` digest of `name`'s manifest at the plain registry.
fn manifest_digest(env: &Env, name: &str) -> String {
    let id = env.pull(name).stdout.trim().to_string();
    let v = env.hutch(&["image", "inspect", &id]).success().json();
    v[0]["Digest"]
        .as_str()
        .unwrap_or_else(|| panic!("no Digest in inspect of {name}: {v}"))
        .to_string()
}

/// Issue #13 item 2: `manifest create/add/annotate/inspect/exists/remove/rm`
/// keep a local list as Podman 4.3 does: an image record with the list's
/// name, Podman's inspect shape, ids printed, and Podman's exit codes.
#[test]
fn issue13_img_manifest_lists_are_made_changed_and_removed_locally() {
    let env = Env::new();
    let created = env.hutch(&["manifest", "create", "ml:1"]).success();
    let id = created.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{created}");
    assert_eq!(
        env.hutch(&["manifest", "inspect", "ml:1"]).success().json(),
        serde_json::json!({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": null})
    );
    env.hutch(&[
        "manifest",
        "add",
        "--arch",
        "arm64",
        "--variant",
        "v8",
        "--os-version",
        "1.2",
        "--annotation",
        "a=b",
        "ml:1",
        &image("busybox"),
    ])
    .success()
    .stdout_is(&id);
    env.hutch(&[
        "manifest",
        "add",
        "--all",
        "localhost/ml:1",
        &format!("docker://{}", image("multi")),
    ])
    .success()
    .stdout_is(&id);
    let v = env.hutch(&["manifest", "inspect", "ml:1"]).success().json();
    let m = v["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("no manifests: {v}"));
    assert_eq!(m.len(), 3, "{v}");
    assert_eq!(
        m[0]["platform"],
        serde_json::json!({"architecture": "arm64", "os": "linux", "os.version": "1.2", "variant": "v8"})
    );
    assert_eq!(m[0]["annotations"], serde_json::json!({"a": "b"}));
    assert_eq!(m[1]["platform"]["architecture"], "amd64", "{v}");
    assert_eq!(
        m[2]["platform"],
        serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
    );
    let busybox = m[0]["digest"].as_str().unwrap().to_string();
    assert_eq!(busybox, manifest_digest(&env, &image("busybox")));

    env.hutch(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .success()
        .stdout_has("localhost/ml:1");
    check_table(
        &env,
        &[
            Case {
                args: &["manifest", "exists", "ml:1"],
                code: 0,
                out: Out::Is(""),
            },
            Case {
                args: &["manifest", "exists", "no-such-list"],
                code: 1,
                out: Out::Is(""),
            },
            Case {
                args: &["manifest", "exists", "{REG}/busybox"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["manifest", "annotate", "ml:1", "busybox"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &[
                    "manifest",
                    "remove",
                    "no-such-list",
                    "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                ],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["manifest", "create", "ml:1"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["manifest", "create", "bad//name"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["manifest", "create", "c2", "{REG}/no-such-repository"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["manifest", "rm", "{REG}/busybox"],
                code: 125,
                out: Out::Is(""),
            },
        ],
    );
    // A failed create leaves no list behind.
    env.hutch(&["manifest", "exists", "c2"]).code(1);
    env.hutch(&[
        "manifest",
        "annotate",
        "--annotation",
        "novalue",
        "ml:1",
        &busybox,
    ])
    .tool_error(&["no value given for annotation \"novalue\""]);
    env.hutch(&[
        "manifest",
        "annotate",
        "--os-features",
        "w1,w2",
        "--annotation",
        "k=v",
        "--arch",
        "arm",
        "--variant",
        "v7",
        "ml:1",
        &busybox,
    ])
    .success()
    .stdout_is(&id);
    let v = env.hutch(&["manifest", "inspect", "ml:1"]).success().json();
    assert_eq!(
        v["manifests"][0]["platform"],
        serde_json::json!({"architecture": "arm", "os": "linux", "os.version": "1.2",
            "os.features": ["w1", "w2"], "variant": "v7"})
    );
    assert_eq!(
        v["manifests"][0]["annotations"],
        serde_json::json!({"a": "b", "k": "v"})
    );
    env.hutch(&["manifest", "remove", "ml:1", &busybox])
        .success()
        .stdout_is(&id);
    env.hutch(&["manifest", "remove", "ml:1", &busybox])
        .tool_error(&["no instance matching digest"]);
    let v = env.hutch(&["manifest", "inspect", "ml:1"]).success().json();
    assert_eq!(v["manifests"].as_array().map(Vec::len), Some(2), "{v}");
    // The documents the changes replaced are gone, not left as debris.
    env.hutch(&["system", "check"])
        .success()
        .stdout_is("No problems found");
    env.hutch(&["manifest", "create", "--amend", "ml:1", &image("zstd")])
        .success()
        .stdout_is(&id);
    env.hutch(&["manifest", "rm", "ml:1", "no-such-list"])
        .error_exit(1, &["no-such-list"])
        .stdout_is(&format!("Untagged: localhost/ml:1\nDeleted: {id}"));
    env.hutch(&["manifest", "exists", "ml:1"]).code(1);
    // The images it listed stay.
    env.hutch(&["image", "exists", &image("busybox")]).success();
}

/// Issue #13 item 2: where an image is meant, a list's name stands for
/// its stored image for this host (Podman 4.3's lookup); `tag` and `rmi`
/// work on the list itself; `manifest inspect` of a name no local list
/// has reads the registry's list, and refuses a single image.
#[test]
fn issue13_img_manifest_list_names_resolve_and_remote_lists_inspect() {
    let env = Env::new();
    env.hutch(&["manifest", "create", "l2", &image("multi")])
        .success();
    // Its host image is not stored yet.
    env.hutch(&["image", "exists", "l2"]).code(1);
    let multi = env.pull(&image("multi")).stdout.trim().to_string();
    env.hutch(&["image", "inspect", "--format", "{{.Id}}", "l2"])
        .success()
        .stdout_is(&multi);
    env.hutch(&["run", "--rm", "l2", "cat", "/arch"])
        .success()
        .stdout_is(crate::host_arch());
    env.hutch(&["tag", "l2", "l2b"]).success();
    env.hutch(&["manifest", "exists", "l2b"]).success();
    env.hutch(&["rmi", "l2b", "l2"]).success();
    env.hutch(&["manifest", "exists", "l2"]).code(1);
    env.hutch(&["image", "exists", &image("multi")]).success();

    let v = env
        .hutch(&["manifest", "inspect", &image("multi")])
        .success()
        .json();
    assert_eq!(v["mediaType"], DOCKER_LIST, "{v}");
    let m = v["manifests"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(m.len(), 2, "{v}");
    assert_eq!(
        m[1]["platform"],
        serde_json::json!({"architecture": "arm64", "os": "linux", "variant": "v8"})
    );
    env.hutch(&["manifest", "inspect", &image("busybox")])
        .tool_error(&["not a manifest list"]);
    env.hutch(&[
        "manifest",
        "inspect",
        &format!("{}/no-such-repository", registry()),
    ])
    .tool_error(&["no-such-repository"]);
}

/// Issue #13 item 2: `manifest push` pushes the images of the list (from
/// the store, or fetched from where they were added) and then the index,
/// with `--creds`, `--cert-dir`, `--digestfile`, `--format v2s2`,
/// `--all=false`, `--rm` and `-q`; what it pushed pulls by platform.
#[test]
fn issue13_img_manifest_push_sends_images_and_index() {
    let env = Env::new();
    let ca = ca_dir();
    let ca = ca.to_str().unwrap();
    let creds = format!("{}:{}", user(), password());
    let dest = format!("{}/{}", auth_registry(), repo("mlist"));
    // A local-only image, added from the store.
    let dir = env.dir.join("rootfs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("local"), "only here\n").unwrap();
    let tar = env.dir.join("rootfs.tar");
    assert!(std::process::Command::new("tar")
        .args([
            "-C",
            dir.to_str().unwrap(),
            "-cf",
            tar.to_str().unwrap(),
            "local"
        ])
        .status()
        .unwrap()
        .success());
    env.hutch(&[
        "import",
        "-q",
        "--arch",
        "s390x",
        tar.to_str().unwrap(),
        "onlyhere:1",
    ])
    .success();
    env.hutch(&["manifest", "create", "pl", &image("busybox")])
        .success();
    env.hutch(&["manifest", "add", "--all", "pl", &image("multi")])
        .success();
    env.hutch(&["manifest", "add", "pl", "containers-storage:onlyhere:1"])
        .success();
    let digestfile = env.dir.join("digest");
    env.hutch(&[
        "manifest",
        "push",
        "--cert-dir",
        ca,
        "--creds",
        &creds,
        "--digestfile",
        digestfile.to_str().unwrap(),
        "pl",
        &format!("{dest}:1"),
    ])
    .success()
    .stdout_is("");
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    let raw = crate::push::skopeo_inspect(&env, &format!("{dest}:1"), true);
    assert_eq!(raw["mediaType"], OCI_INDEX, "{raw}");
    let m = raw["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("{raw}"));
    assert_eq!(m.len(), 4, "{raw}");
    assert_eq!(m[3]["platform"]["architecture"], "s390x", "{raw}");
    let info = crate::push::skopeo_inspect(&env, &format!("{dest}:1"), false);
    assert!(info["Digest"].is_string(), "{info}");
    assert!(digest.starts_with("sha256:"), "{digest}");

    let other = Env::new();
    other
        .hutch(&[
            "pull",
            "-q",
            "--cert-dir",
            ca,
            "--creds",
            &creds,
            "--arch",
            "arm64",
            &format!("{dest}:1"),
        ])
        .success();
    other
        .hutch(&[
            "image",
            "inspect",
            "--format",
            "{{.Architecture}}",
            &format!("{dest}:1"),
        ])
        .success()
        .stdout_is("arm64");
    other
        .hutch(&[
            "pull",
            "-q",
            "--cert-dir",
            ca,
            "--creds",
            &creds,
            "--arch",
            "s390x",
            &format!("{dest}:1"),
        ])
        .success();

    env.hutch(&[
        "manifest",
        "push",
        "-q",
        "--all=false",
        "--cert-dir",
        ca,
        "--creds",
        &creds,
        "pl",
        &format!("{dest}:2"),
    ])
    .success()
    .stdout_is("");
    // Blobs fetched from where the images came from went through
    // temporary files, not into the store.
    env.hutch(&["system", "check"])
        .success()
        .stdout_is("No problems found");
    env.hutch(&[
        "manifest",
        "push",
        "-q",
        "--format",
        "v2s2",
        "--rm",
        "--remove-signatures",
        "--cert-dir",
        ca,
        "--creds",
        &creds,
        "pl",
        &format!("{dest}:3"),
    ])
    .success()
    .stdout_is("");
    let raw = crate::push::skopeo_inspect(&env, &format!("{dest}:3"), true);
    assert_eq!(raw["mediaType"], DOCKER_LIST, "{raw}");
    for e in raw["manifests"].as_array().unwrap() {
        assert_eq!(
            e["mediaType"], "application/vnd.docker.distribution.manifest.v2+json",
            "{raw}"
        );
    }
    env.hutch(&["manifest", "exists", "pl"]).code(1);
    env.hutch(&[
        "manifest",
        "push",
        "--cert-dir",
        ca,
        "--creds",
        &creds,
        "pl",
        &format!("{dest}:4"),
    ])
    .tool_error(&["pl"]);
}

/// Issue #13 item 3: `commit --format docker` stores a Docker schema 2
/// manifest, `--iidfile` writes the id, `--include-volumes` records the
/// container's volumes, `--squash` makes one layer of the whole file
/// system; a format Podman does not know is refused.
#[test]
fn issue13_img_commit_format_iidfile_volumes_and_squash() {
    let env = Env::new();
    env.hutch(&[
        "run",
        "--name",
        "c",
        "-v",
        "vol1:/data",
        &image("busybox"),
        "sh",
        "-c",
        "echo x > /f",
    ])
    .success();
    let iidfile = env.dir.join("iid");
    let id = env
        .hutch(&[
            "commit",
            "-q",
            "--iidfile",
            iidfile.to_str().unwrap(),
            "--format",
            "docker",
            "--include-volumes",
            "c",
            "cimg",
        ])
        .success()
        .stdout
        .trim()
        .to_string();
    assert_eq!(std::fs::read_to_string(&iidfile).unwrap(), id);
    let v = env.hutch(&["image", "inspect", "cimg"]).success().json();
    assert_eq!(
        v[0]["Config"]["Volumes"],
        serde_json::json!({"/data": {}}),
        "{v}"
    );
    let dir = env.dir.join("cimg-layout");
    env.hutch(&[
        "save",
        "--format",
        "oci-dir",
        "-o",
        dir.to_str().unwrap(),
        "cimg",
    ])
    .success();
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    assert_eq!(
        index["manifests"][0]["mediaType"], "application/vnd.docker.distribution.manifest.v2+json",
        "{index}"
    );
    env.hutch(&["commit", "-q", "c", "plain"]).success();
    let v = env.hutch(&["image", "inspect", "plain"]).success().json();
    assert!(v[0]["Config"]["Volumes"].is_null(), "{v}");

    env.hutch(&["commit", "-q", "--squash", "c", "csq"])
        .success();
    let v = env.hutch(&["image", "inspect", "csq"]).success().json();
    assert_eq!(
        v[0]["RootFS"]["Layers"].as_array().map(Vec::len),
        Some(1),
        "{v}"
    );
    env.hutch(&["run", "--rm", "csq", "cat", "/f"])
        .success()
        .stdout_is("x");
    env.hutch(&["history", "--format", "{{.Comment}}", "csq"])
        .success()
        .stdout_is(&format!("FROM {}:latest", image("busybox")));
    env.hutch(&["commit", "--format", "v2s2", "c", "x"])
        .tool_error(&["unrecognized image format \"v2s2\""]);
    env.hutch(&["run", "--name", "z", &image("zstd"), "true"])
        .success();
    env.hutch(&["commit", "--format", "docker", "z", "zimg"])
        .tool_error(&["zstd"]);
}

/// Issue #13 item 3: `save --uncompressed` writes an OCI layout's layers
/// as plain tars; `--format docker-dir` writes Podman's dir: layout, and
/// `--compress` (only for it, as Podman checks) gzips plain layers.
#[test]
fn issue13_img_save_uncompressed_compress_and_docker_dir() {
    let env = Env::new();
    env.pull(&image("busybox"));
    let oci = env.dir.join("oci");
    env.hutch(&[
        "save",
        "--uncompressed",
        "--format",
        "oci-dir",
        "-o",
        oci.to_str().unwrap(),
        &image("busybox"),
    ])
    .success();
    let read = |p: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_slice(
            &std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .unwrap()
    };
    let index = read(oci.join("index.json"));
    let digest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let manifest = read(oci.join("blobs/sha256").join(&digest["sha256:".len()..]));
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"], "application/vnd.oci.image.layer.v1.tar",
        "{manifest}"
    );
    let v = env
        .hutch(&["image", "inspect", &image("busybox")])
        .success()
        .json();
    assert_eq!(layer["digest"], v[0]["RootFS"]["Layers"][0], "{manifest}");
    // The layout loads back.
    let other = Env::new();
    let archive = env.dir.join("oci.tar");
    env.hutch(&[
        "save",
        "--uncompressed",
        "--format",
        "oci-archive",
        "-o",
        archive.to_str().unwrap(),
        &image("busybox"),
    ])
    .success();
    other
        .hutch(&["load", "-q", "-i", archive.to_str().unwrap()])
        .success();
    other
        .hutch(&["run", "--rm", &image("busybox"), "true"])
        .success();

    env.hutch(&[
        "save",
        "--compress",
        "-o",
        env.dir.join("a.tar").to_str().unwrap(),
        &image("busybox"),
    ])
    .tool_error(&["--compress can only be set when --format is 'docker-dir'"]);
    let dd = env.dir.join("dd");
    env.hutch(&[
        "save",
        "--format",
        "docker-dir",
        "--compress",
        "-o",
        dd.to_str().unwrap(),
        &image("busybox"),
    ])
    .success();
    assert_eq!(
        std::fs::read_to_string(dd.join("version")).unwrap(),
        "Directory Transport Version: 1.1\n"
    );
    let m = read(dd.join("manifest.json"));
    assert_eq!(
        m["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let blob = m["layers"][0]["digest"].as_str().unwrap();
    assert!(dd.join(&blob["sha256:".len()..]).is_file(), "{m}");
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    // An independent tool reads it.
    crate::common::require_tool("skopeo");
    let out = std::process::Command::new("skopeo")
        .args(["inspect", &format!("dir:{}", dd.display())])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skopeo inspect dir: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue #13: `login` and `logout` without a registry use the first
/// search registry of registries.conf, as Podman's do; without one they
/// say so in Podman's words.
#[test]
fn issue13_img_login_and_logout_default_to_the_first_search_registry() {
    let env = Env::new();
    env.hutch(&["logout"])
        .tool_error(&[&format!("not logged in to {}", registry())]);
    env.hutch(&["login", "--get-login"])
        .tool_error(&[&format!("not logged in to {}", registry())]);
    let conf = env.config_home.join("containers/registries.conf");
    std::fs::write(&conf, "").expect("emptying registries.conf");
    for cmd in ["login", "logout"] {
        env.hutch(&[cmd])
            .tool_error(&["no registries found in registries.conf, a registry must be provided"]);
    }
}
