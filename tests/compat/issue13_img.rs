//! Issue #13, the image commands side by side with Podman: `search`,
//! `manifest` and `history --human`.

use super::common::{image, registry, Env};
use super::{as_is, podman, same};

/// `search` against the plain registry's catalog prints what Podman
/// prints, in every output form, and fails where Podman fails.
#[test]
fn issue13_img_search_matches_podman() {
    let env = Env::new();
    let reg = registry();
    let term = format!("{reg}/zst");
    let repo = format!("{reg}/zstd");
    for args in [
        &["search", &term][..],
        &["search", "zst"][..],
        &["image", "search", "zst"][..],
        &["search", "--compatible", "zst"][..],
        &["search", "--format", "json", "zst"][..],
        &[
            "search",
            "--format",
            "{{.Name}} {{.Index}} {{.Stars}}",
            "zst",
        ][..],
        &["search", "--format", "table {{.Name}}\t{{.Stars}}", "zst"][..],
        &["search", "--filter", "stars=1", "zst"][..],
        &["search", "--filter", "is-official=false", "zst"][..],
        &["search", "--limit", "-1", "zst"][..],
        &["search", "--no-trunc", "zst"][..],
        &["search", "no-repository-has-this-name"][..],
        &["search", "--list-tags", &repo][..],
        &["search", "--list-tags", "--format", "json", &repo][..],
    ] {
        same(&env, args, as_is);
    }
    for args in [
        &["search", "--filter", "foo=bar", "zst"][..],
        &["search", "--list-tags", "--filter", "stars=0", &repo][..],
        &[
            "search",
            "--list-tags",
            &format!("{reg}/no-such-repository"),
        ][..],
    ] {
        same(&env, args, |_| String::new());
    }
}

/// `manifest` makes, changes, shows and removes a list as Podman does:
/// the same `inspect` documents, exit codes and removal lines.
#[test]
fn issue13_img_manifest_matches_podman() {
    let env = Env::new();
    let ids = |_: &str| String::new();
    same(&env, &["manifest", "create", "localhost/cl:1"], ids);
    same(&env, &["manifest", "inspect", "localhost/cl:1"], as_is);
    same(
        &env,
        &["manifest", "add", "localhost/cl:1", &image("busybox")],
        ids,
    );
    same(
        &env,
        &[
            "manifest",
            "add",
            "--all",
            "--annotation",
            "k=v",
            "localhost/cl:1",
            &image("multi"),
        ],
        ids,
    );
    let (_, h) = same(&env, &["manifest", "inspect", "localhost/cl:1"], as_is);
    let v: serde_json::Value = serde_json::from_str(&h.stdout).unwrap();
    let digest = v["manifests"][1]["digest"].as_str().unwrap().to_string();
    same(
        &env,
        &[
            "manifest",
            "annotate",
            "--arch",
            "arm",
            "--variant",
            "v7",
            "--os-version",
            "1",
            "localhost/cl:1",
            &digest,
        ],
        ids,
    );
    same(&env, &["manifest", "inspect", "localhost/cl:1"], as_is);
    same(
        &env,
        &[
            "manifest",
            "annotate",
            "--annotation",
            "novalue",
            "localhost/cl:1",
            &digest,
        ],
        ids,
    );
    same(
        &env,
        &["manifest", "annotate", "localhost/cl:1", "busybox"],
        ids,
    );
    same(
        &env,
        &["manifest", "remove", "localhost/cl:1", &digest],
        ids,
    );
    same(
        &env,
        &["manifest", "remove", "localhost/cl:1", &digest],
        ids,
    );
    same(&env, &["manifest", "inspect", "localhost/cl:1"], as_is);
    same(&env, &["manifest", "exists", "localhost/cl:1"], as_is);
    same(&env, &["manifest", "exists", "no-such-list"], as_is);
    same(&env, &["manifest", "create", "localhost/cl:1"], ids);
    same(&env, &["manifest", "inspect", &image("multi")], as_is);
    same(&env, &["manifest", "inspect", &image("busybox")], ids);
    let untagged = |s: &str| {
        s.lines()
            .filter(|l| l.starts_with("Untagged:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    same(&env, &["manifest", "rm", "localhost/cl:1"], untagged);
    same(&env, &["manifest", "rm", "localhost/cl:1"], as_is);
    // Podman resolves a list's name to its image for this host where an
    // image is meant; without that image stored, nothing is found.
    same(
        &env,
        &["manifest", "create", "localhost/cl:2", &image("multi")],
        ids,
    );
    same(&env, &["image", "exists", "localhost/cl:2"], as_is);
    podman(&env, &["pull", "-q", &image("multi")]).success();
    env.pull(&image("multi"));
    same(&env, &["image", "exists", "localhost/cl:2"], as_is);
    same(
        &env,
        &[
            "image",
            "inspect",
            "--format",
            "{{.Architecture}}",
            "localhost/cl:2",
        ],
        as_is,
    );
}

/// `history --human=false` prints the times as Podman does; sizes stay
/// human-readable in both.
#[test]
fn issue13_img_history_human_matches_podman() {
    let (env, img) = super::setup();
    same(&env, &["history", "--human=false", &img], as_is);
    same(
        &env,
        &[
            "history",
            "-H=false",
            "--format",
            "{{.Created}}|{{.Size}}",
            &img,
        ],
        as_is,
    );
    same(&env, &["history", "--format", "{{.Created}}", &img], as_is);
}
