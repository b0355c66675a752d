//! Regression test of issue #21 item 8: `rmi` racing `create`, and `rmi
//! -f` racing `run -d`, never leave a container without its image or a
//! container directory without its record.

use std::collections::BTreeSet;
use std::time::Duration;

use super::common::{image, list_dir, Env};
use super::{setup, Cleanup};

/// The ids `ps -a` lists.
fn listed(env: &Env) -> BTreeSet<String> {
    env.hutch(&["ps", "-a", "-q", "--no-trunc"])
        .success()
        .stdout
        .lines()
        .map(str::to_string)
        .collect()
}

/// The store is consistent: every container directory has a record and
/// every listed container starts (its image's layers are all there).
fn check_consistent(env: &Env, trial: &str) {
    let dirs: BTreeSet<String> = list_dir(&env.store().join("containers"))
        .into_iter()
        .collect();
    let ids = listed(env);
    assert_eq!(
        dirs, ids,
        "{trial}: container directories and records differ"
    );
    for id in &ids {
        env.hutch(&["rm", "-f", id]).success();
    }
}

/// Starts `first`, waits `delay`, starts `second`; returns both runs in
/// that order.
fn race(
    env: &Env,
    first: &[&str],
    second: &[&str],
    delay: Duration,
) -> (super::common::Run, super::common::Run) {
    let a = env.spawn(first);
    std::thread::sleep(delay);
    let b = env.spawn(second);
    (a.wait(), b.wait())
}

/// issue #21 item 8: the image lookup of `create` and its insert are one
/// transaction with respect to `rmi`; exactly one of the two wins.
#[test]
fn issue21_rmi_racing_create_never_leaves_a_container_without_its_image() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let create = ["create", "--pull=never", img.as_str(), "true"];
    let rmi = ["rmi", img.as_str()];
    let (mut created, mut removed) = (0, 0);
    for trial in 0..60u64 {
        env.pull(&img).success();
        let delay = Duration::from_millis((trial % 12) * 4);
        let (c, r) = if trial % 2 == 0 {
            race(&env, &create, &rmi, delay)
        } else {
            let (r, c) = race(&env, &rmi, &create, delay);
            (c, r)
        };
        let what = format!("trial {trial}\n{c}\n{r}");
        match (c.code == Some(0), r.code == Some(0)) {
            (true, false) => {
                created += 1;
                let id = c.stdout.trim();
                env.hutch(&["start", "-a", id]).success();
            }
            (false, true) => {
                removed += 1;
                if c.code != Some(125) {
                    panic!("create lost the race but did not exit 125: {what}");
                }
            }
            _ => panic!("exactly one of create and rmi should succeed: {what}"),
        }
        check_consistent(&env, &what);
    }
    eprintln!("create won {created}, rmi won {removed} of 60");
}

/// issue #21 item 8: `rmi -f` racing `run -d` removes the new container
/// as well (or the run fails cleanly): no directory without a record, and
/// no container left of the removed image.
#[test]
fn issue21_rmi_force_racing_run_detached_leaves_no_orphan() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let run = ["run", "-d", "--pull=never", img.as_str(), "sleep", "60"];
    let rmi = ["rmi", "-f", img.as_str()];
    for trial in 0..12u64 {
        env.pull(&img).success();
        let delay = Duration::from_millis((trial % 6) * 15);
        let (d, r) = race(&env, &run, &rmi, delay);
        let what = format!("trial {trial}\n{d}\n{r}");
        if r.code != Some(0) {
            panic!("rmi -f should succeed: {what}");
        }
        let images = env.hutch(&["images", "-q"]).success();
        if !images.stdout.trim().is_empty() {
            panic!("rmi -f left the image: {what}\n{images}");
        }
        let ids = listed(&env);
        if !ids.is_empty() {
            panic!("a container of the removed image remains ({ids:?}): {what}");
        }
        check_consistent(&env, &what);
    }
}
