//! Issue #16, `auto-update`: which containers take part (the policy
//! label, the `PODMAN_SYSTEMD_UNIT` label recorded at create), what
//! `--dry-run` finds after a new image is pushed to the test registry or
//! tagged locally, its table, JSON and template output, and the rollback
//! when the unit cannot be restarted (here there is no systemd user
//! manager); as the unprivileged user. systemd restarting the units runs
//! in the guest tier (tests/vm/guest-cgroups.sh, autoupdate_*).

use std::process::Stdio;
use std::time::Duration;

use crate::common::{image, registry, run_command, Env, Run};

/// A repository name no other test (or earlier run) uses.
fn repo(what: &str) -> String {
    format!(
        "{}/hutch-autoupd-{what}-{}:latest",
        registry(),
        std::process::id()
    )
}

/// Runs hutch as a unit's `ExecStart=` does: with `PODMAN_SYSTEMD_UNIT`.
fn in_unit(env: &Env, unit: &str, args: &[&str]) -> Run {
    let mut c = env.command(args);
    c.env("PODMAN_SYSTEMD_UNIT", unit).stdin(Stdio::null());
    let what = format!("PODMAN_SYSTEMD_UNIT={unit} {}", env.describe(args));
    run_command(c, what, Duration::from_secs(120))
}

/// The id of image `name`.
fn image_id(env: &Env, name: &str) -> String {
    let r = env
        .hutch(&["image", "inspect", "--format", "{{.Id}}", name])
        .success();
    r.stdout.trim().to_string()
}

/// The id of container `name`.
fn container_id(env: &Env, name: &str) -> String {
    let r = env
        .hutch(&["inspect", "--format", "{{.Id}}", name])
        .success();
    r.stdout.trim().to_string()
}

/// Registry and local policies: nothing pending at first; after a new
/// image is pushed under the registry container's name and another one
/// tagged under the local container's, `--dry-run` says `pending` for
/// both and pulls nothing. Containers without a policy, stopped ones and
/// `disabled` are left out.
#[test]
fn issue16_autoupdate_dry_run_finds_pushed_and_tagged_images() {
    let mut env = Env::new();
    env.unset_env("DBUS_SESSION_BUS_ADDRESS");
    env.pull(&image("busybox"));
    env.pull(&image("layers"));
    let remote = repo("reg");
    let local = repo("loc");
    env.hutch(&["push", "-q", &image("busybox"), &remote])
        .success();
    env.hutch(&["pull", "-q", &remote]).success();
    env.hutch(&["tag", &image("busybox"), &local]).success();
    let old = image_id(&env, &remote);

    in_unit(
        &env,
        "web.service",
        &[
            "run",
            "-d",
            "--name",
            "web",
            "--label",
            "io.containers.autoupdate=registry",
            &remote,
            "sleep",
            "600",
        ],
    )
    .success();
    in_unit(
        &env,
        "loc.service",
        &[
            "run",
            "-d",
            "--name",
            "loc",
            "--label",
            "io.containers.autoupdate=local",
            &local,
            "sleep",
            "600",
        ],
    )
    .success();
    in_unit(
        &env,
        "off.service",
        &[
            "run",
            "-d",
            "--name",
            "off",
            "--label",
            "io.containers.autoupdate=disabled",
            &remote,
            "sleep",
            "600",
        ],
    )
    .success();
    env.hutch(&["run", "-d", "--name", "plain", &remote, "sleep", "600"])
        .success();
    in_unit(
        &env,
        "stopped.service",
        &[
            "create",
            "--name",
            "stopped",
            "--label",
            "io.containers.autoupdate=registry",
            &remote,
        ],
    )
    .success();

    // The unit is recorded as Podman records it; only where it was set.
    let label = |name: &str| {
        let r = env.hutch(&[
            "inspect",
            "--format",
            "{{index .Config.Labels \"PODMAN_SYSTEMD_UNIT\"}}",
            name,
        ]);
        r.success().stdout.trim().to_string()
    };
    assert_eq!(label("web"), "web.service");
    assert_eq!(label("plain"), "");

    let web = container_id(&env, "web");
    let loc = container_id(&env, "loc");
    // The table's columns, white space squeezed.
    let table = |updated_web: &str, updated_loc: &str| {
        vec![
            "UNIT CONTAINER IMAGE POLICY UPDATED".to_string(),
            format!(
                "loc.service {} (loc) {local} local {updated_loc}",
                &loc[..12]
            ),
            format!(
                "web.service {} (web) {remote} registry {updated_web}",
                &web[..12]
            ),
        ]
    };
    let squeezed = |r: &Run| -> Vec<String> {
        r.stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };
    let r = env.hutch(&["auto-update", "--dry-run"]).success();
    assert_eq!(squeezed(&r), table("false", "false"), "{}", r.stdout);
    // Podman's table: columns two spaces apart.
    assert!(
        r.stdout.starts_with("UNIT         CONTAINER"),
        "{}",
        r.stdout
    );

    // A new image under the same tag at the registry, another image
    // under the local container's name.
    env.hutch(&["push", "-q", &image("layers"), &remote])
        .success();
    env.hutch(&["tag", &image("layers"), &local]).success();
    let r = env.hutch(&["auto-update", "--dry-run"]).success();
    assert_eq!(squeezed(&r), table("pending", "pending"), "{}", r.stdout);
    assert_eq!(
        image_id(&env, &remote),
        old,
        "--dry-run pulled the new image"
    );

    let r = env
        .hutch(&[
            "auto-update",
            "--dry-run",
            "--format",
            "{{.Unit}} {{.ContainerName}} {{.Policy}} {{.Updated}}",
        ])
        .success();
    assert_eq!(
        r.stdout,
        "loc.service loc local pending\nweb.service web registry pending\n"
    );
    let r = env
        .hutch(&["auto-update", "--dry-run", "--format", "json"])
        .success();
    let rows = r.json();
    let rows = rows.as_array().expect("a JSON array");
    assert_eq!(rows.len(), 2, "{}", r.stdout);
    assert_eq!(rows[1]["Unit"], "web.service");
    assert_eq!(rows[1]["ContainerID"], web.as_str());
    assert_eq!(
        rows[1]["Container"],
        format!("{} (web)", &web[..12]).as_str()
    );
    assert_eq!(rows[1]["Image"], remote.as_str());
    assert_eq!(rows[1]["Policy"], "registry");
    assert_eq!(rows[1]["Updated"], "pending");

    env.hutch(&[
        "rm", "-f", "-t", "0", "web", "loc", "off", "plain", "stopped",
    ])
    .success();
}

/// Without a systemd user manager the restart fails: the new image was
/// pulled, its name goes back to the old image (the rollback), and the
/// restart after it fails too, so the row says `failed` and the status is
/// 125. `--rollback=false` leaves the new image under the name.
#[test]
fn issue16_autoupdate_rolls_back_the_name_when_the_restart_fails() {
    let mut env = Env::new();
    env.unset_env("DBUS_SESSION_BUS_ADDRESS");
    env.pull(&image("busybox"));
    env.pull(&image("layers"));
    let remote = repo("roll");
    env.hutch(&["push", "-q", &image("busybox"), &remote])
        .success();
    in_unit(
        &env,
        "roll.service",
        &[
            "run",
            "-d",
            "--name",
            "roll",
            "--label",
            "io.containers.autoupdate=image",
            &remote,
            "sleep",
            "600",
        ],
    )
    .success();
    let old = image_id(&env, &remote);
    env.hutch(&["push", "-q", &image("layers"), &remote])
        .success();

    let r = env.hutch(&["auto-update", "--format", "{{.Unit}} {{.Updated}}"]);
    let r = r.error_exit(
        125,
        &[
            "restarting unit roll.service for container",
            "during rollback",
            "no systemd user manager",
        ],
    );
    assert_eq!(r.stdout, "roll.service failed\n");
    assert_eq!(
        image_id(&env, &remote),
        old,
        "the rollback left the new image under the name"
    );
    // The new image was pulled: it is still there, without the name.
    let new = image_id(&env, &image("layers"));
    let r = env
        .hutch(&["images", "--format", "{{.ID}}", "--no-trunc"])
        .success();
    assert!(
        r.stdout.contains(new.trim_start_matches("sha256:")),
        "{}",
        r.stdout
    );

    let r = env.hutch(&[
        "auto-update",
        "--rollback=false",
        "--format",
        "{{.Updated}}",
    ]);
    let r = r.error_exit(125, &["restarting unit roll.service for container"]);
    assert_eq!(r.stdout, "failed\n");
    assert!(!r.stderr.contains("during rollback"), "{}", r.stderr);
    assert_ne!(
        image_id(&env, &remote),
        old,
        "--rollback=false gave the name back"
    );

    env.hutch(&["rm", "-f", "-t", "0", "roll"]).success();
}

/// A policy without a unit, an unknown policy, and a short name under the
/// registry policy are each reported (exit 125) while the other
/// containers are still listed.
#[test]
fn issue16_autoupdate_reports_misconfigured_containers() {
    let mut env = Env::new();
    env.unset_env("DBUS_SESSION_BUS_ADDRESS");
    env.pull(&image("busybox"));
    env.pull(&image("layers"));
    let remote = repo("bad");
    env.hutch(&["push", "-q", &image("busybox"), &remote])
        .success();
    env.hutch(&[
        "run",
        "-d",
        "--name",
        "nounit",
        "--label",
        "io.containers.autoupdate=registry",
        &remote,
        "sleep",
        "600",
    ])
    .success();
    in_unit(
        &env,
        "odd.service",
        &[
            "run",
            "-d",
            "--name",
            "odd",
            "--label",
            "io.containers.autoupdate=nightly",
            &remote,
            "sleep",
            "600",
        ],
    )
    .success();
    in_unit(
        &env,
        "short.service",
        &[
            "run",
            "-d",
            "--name",
            "short",
            "--label",
            "io.containers.autoupdate=registry",
            "busybox",
            "sleep",
            "600",
        ],
    )
    .success();
    in_unit(
        &env,
        "good.service",
        &[
            "run",
            "-d",
            "--name",
            "good",
            "--label",
            "io.containers.autoupdate=registry",
            &remote,
            "sleep",
            "600",
        ],
    )
    .success();

    let r = env.hutch(&[
        "auto-update",
        "--dry-run",
        "--format",
        "{{.Unit}} {{.Updated}}",
    ]);
    let r = r.code(125);
    assert_eq!(r.stdout, "good.service false\nshort.service failed\n");
    let nounit = container_id(&env, "nounit");
    let odd = container_id(&env, "odd");
    let short = container_id(&env, "short");
    for want in [
        format!("Error: auto-updating container {nounit}: no PODMAN_SYSTEMD_UNIT label found"),
        format!("Error: auto-updating container {odd}: invalid auto-update policy \"nightly\""),
        format!("Error: checking image updates for container {short}: \"busybox\" is not a fully qualified image reference"),
    ] {
        assert!(r.stderr.contains(&want), "missing {want:?} in:\n{}", r.stderr);
    }

    env.hutch(&["rm", "-f", "-t", "0", "nounit", "odd", "short", "good"])
        .success();
}
