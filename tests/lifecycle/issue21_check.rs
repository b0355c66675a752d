//! Regression test of issue #21's `system check [--repair] [--force]
//! [--quick]`: it finds each kind of damage, repairs what is safe, leaves
//! what a container uses unless forced, and keeps what is healthy.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

use super::common::{image, list_dir, Env};
use super::{run_d, run_rm, setup, Cleanup};

fn layer_dirs(env: &Env) -> BTreeSet<String> {
    env.store_entries("layers").into_iter().collect()
}

/// Asserts `stdout` has a line holding every one of `parts`.
#[track_caller]
fn has_line(out: &str, parts: &[&str], why: &str) {
    if !out.lines().any(|l| parts.iter().all(|p| l.contains(p))) {
        panic!("{why}: no line of system check has {parts:?}:\n{out}");
    }
}

#[test]
fn issue21_system_check_finds_damage_and_repairs_what_is_safe() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let store = env.store();
    let before = layer_dirs(&env);
    let (layers_img, config_img) = (image("layers"), image("config"));
    env.pull(&layers_img).success();
    env.pull(&config_img).success();
    let keeper = run_d(&env, "keeper", &["sleep", "300"]);
    env.hutch(&["create", "--name", "stuck", &layers_img, "true"])
        .success();
    for v in ["v1", "v2"] {
        env.hutch(&["volume", "create", v]).success();
    }
    for flags in [&[][..], &["--quick"][..]] {
        let mut args = vec!["system", "check"];
        args.extend_from_slice(flags);
        env.hutch(&args).success().stdout_is("No problems found\n");
    }

    // The damage: a layer of `layers` moved away (a container uses that
    // image), the configuration blob of `config` changed, directories
    // nothing records, and a volume's data directory gone.
    let own = layer_dirs(&env)
        .difference(&before)
        .next()
        .cloned()
        .expect("the layers image should add layer directories");
    let moved = store.parent().unwrap().join("moved-layer");
    std::fs::rename(store.join("layers").join(&own), &moved).expect("moving a layer away");
    let config_id = env
        .hutch(&["image", "inspect", "--format", "{{.Id}}", &config_img])
        .success()
        .stdout
        .trim()
        .trim_start_matches("sha256:")
        .to_string();
    let blob = store.join("blobs/sha256").join(&config_id);
    std::fs::set_permissions(&blob, std::fs::Permissions::from_mode(0o644)).expect("chmod blob");
    std::fs::OpenOptions::new()
        .append(true)
        .open(&blob)
        .and_then(|mut f| f.write_all(b" "))
        .expect("changing a blob");
    let orphan = "0badc0de".repeat(8);
    std::fs::create_dir_all(store.join("containers").join(&orphan).join("upper"))
        .expect("planting a container directory");
    std::fs::create_dir_all(store.join("volumes/ghost/_data")).expect("planting a volume");
    std::fs::write(store.join("volumes/ghost/_data/f"), "x").expect("planting a file");
    let stray = "5ca1ab1e".repeat(8);
    std::fs::create_dir_all(store.join("layers").join(&stray).join("etc"))
        .expect("planting a layer directory");
    std::fs::remove_dir(store.join("volumes/v2/_data")).expect("removing v2's data");

    let found = env.hutch(&["system", "check"]).code(1);
    let out = &found.stdout;
    has_line(
        out,
        &["image", "/layers", "layer", "missing"],
        "the moved layer",
    );
    has_line(
        out,
        &["image", "/config", "does not match its digest"],
        "the changed blob",
    );
    has_line(
        out,
        &["container", &orphan[..12], "no record"],
        "the container dir",
    );
    has_line(out, &["volume ghost", "no record"], "the volume dir");
    has_line(out, &["volume v2", "missing"], "v2's data");
    has_line(out, &["debris", &stray, "unused layer"], "the layer dir");
    has_line(out, &["6 problems found"], "the count");
    // --quick does not hash blobs.
    let quick = env.hutch(&["system", "check", "--quick"]).code(1);
    if quick.stdout.contains("/config") {
        quick.fail("--quick should not hash blobs");
    }

    // --repair leaves the image a container uses.
    let repaired = env.hutch(&["system", "check", "--repair"]).code(1);
    let out = &repaired.stdout;
    has_line(
        out,
        &["/layers", "not repaired", "--force"],
        "the used image",
    );
    has_line(out, &["/config", "(repaired)"], "the unused image");
    has_line(out, &["volume v2", "(repaired)"], "v2");
    has_line(out, &["6 problems found, 5 repaired"], "the count");
    let forced = env
        .hutch(&["system", "check", "--repair", "--force"])
        .code(0);
    has_line(
        &forced.stdout,
        &["/layers", "(repaired)"],
        "the forced image",
    );
    env.hutch(&["system", "check"])
        .success()
        .stdout_is("No problems found\n");

    // What was healthy is still there and works.
    let ps = env.hutch(&["ps", "-a", "--format", "{{.Names}}"]).success();
    assert_eq!(ps.stdout.trim(), "keeper", "only keeper should remain");
    assert!(env
        .hutch(&["ps", "-q", "--no-trunc"])
        .success()
        .stdout
        .contains(&keeper));
    let images = env
        .hutch(&["images", "--format", "{{.Repository}}"])
        .success();
    assert_eq!(
        images.stdout.trim(),
        image("busybox"),
        "only busybox should remain"
    );
    run_rm(
        &env,
        &["-v", "v2:/d"],
        &["sh", "-c", "echo ok > /d/f && cat /d/f"],
    )
    .stdout_is("ok\n");
    let left = list_dir(&store.join("containers"));
    assert!(
        !left.contains(&orphan),
        "the orphan container dir stayed: {left:?}"
    );
    let vols = list_dir(&store.join("volumes"));
    assert!(
        !vols.iter().any(|v| v.contains("ghost")),
        "ghost stayed: {vols:?}"
    );
    assert!(
        !layer_dirs(&env).contains(&stray),
        "the stray layer dir stayed"
    );
}
