//! Hostile tars on `cp -` (issue #13 item 1): a stream whose entries climb
//! out (`../`), are absolute, write through a symlink they plant, or hard
//! link to a file outside must be refused with exit 125 and leave the
//! victim directory beside the store byte-identical. The container is
//! stopped, so its overlay is mounted by hutch's own helper, whose mount
//! namespace still holds the host's files.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::common::{image, run_command, Env, Run};
use super::{snapshot, RawTar};

/// Runs hutch with `args` and `bytes` (written to a file) as standard input.
pub(super) fn hutch_in(env: &Env, args: &[&str], bytes: &[u8], name: &str) -> Run {
    let path = env.dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    let mut c = env.command(args);
    c.stdin(Stdio::from(std::fs::File::open(&path).unwrap()));
    run_command(c, env.describe(args), super::common::TIMEOUT)
}

/// A victim directory with one file, beside the store.
pub(super) fn victim(env: &Env) -> PathBuf {
    let victim = env.dir.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("f"), b"precious").unwrap();
    victim
}

/// The hostile tars, by what they try, aimed at `victim`.
pub(super) fn hostile_tars(victim: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let v = victim.display().to_string();
    let up = "../".repeat(8);
    vec![
        (
            "dotdot",
            RawTar::default()
                .file(&format!("{up}{}/x", v.trim_start_matches('/')), b"evil")
                .finish(),
        ),
        (
            "absolute",
            RawTar::default().file(&format!("{v}/x"), b"evil").finish(),
        ),
        (
            "symlink write-through",
            RawTar::default()
                .symlink("l", &v)
                .file("l/x", b"evil")
                .finish(),
        ),
        (
            "relative symlink write-through",
            RawTar::default()
                .symlink("up", &up)
                .file(&format!("up{v}/x"), b"evil")
                .finish(),
        ),
        (
            "hard link out",
            RawTar::default()
                .hardlink("h", &format!("{up}{}/f", v.trim_start_matches('/')))
                .finish(),
        ),
    ]
}

#[test]
fn issue13_cp_stdin_refuses_hostile_tars_and_leaves_the_victim() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    let victim = victim(&env);
    let v = victim.display().to_string();
    env.hutch(&[
        "run",
        "--name",
        "w",
        &img,
        "sh",
        "-c",
        &format!("ln -s '{v}' /abs; mkdir /in"),
    ])
    .success();
    let before = snapshot(&victim);
    for (what, tar) in hostile_tars(&victim) {
        for overwrite in [false, true] {
            let mut args = vec!["cp"];
            if overwrite {
                args.push("--overwrite");
            }
            args.extend(["-", "w:/in"]);
            let r = hutch_in(&env, &args, &tar, "hostile.tar");
            if r.code != Some(125) {
                r.fail(&format!("{what}: a hostile tar must be refused with 125"));
            }
            assert_eq!(snapshot(&victim), before, "{what}: the victim changed");
        }
    }
    // A destination that is a symlink to the host resolves in the
    // container, where the victim's path does not exist.
    let honest = RawTar::default().file("x", b"evil").finish();
    hutch_in(&env, &["cp", "-", "w:/abs"], &honest, "honest.tar")
        .code(125)
        .stderr_has("destination must be a directory");
    assert_eq!(snapshot(&victim), before, "the victim changed");
    // The container is still sound.
    hutch_in(&env, &["cp", "-", "w:/in"], &honest, "honest.tar").success();
    env.hutch(&["cp", "w:/in/x", "-"])
        .success()
        .stdout_has("evil");
}

#[test]
fn issue13_cp_volume_import_refuses_hostile_tars_and_leaves_the_victim() {
    let env = Env::new();
    let victim = victim(&env);
    env.hutch(&["volume", "create", "v"]).success();
    let before = snapshot(&victim);
    for (what, tar) in hostile_tars(&victim) {
        let r = hutch_in(&env, &["volume", "import", "v", "-"], &tar, "hostile.tar");
        if r.code != Some(125) {
            r.fail(&format!("{what}: a hostile tar must be refused with 125"));
        }
        assert_eq!(snapshot(&victim), before, "{what}: the victim changed");
        let file = env.dir.join("hostile-file.tar");
        std::fs::write(&file, &tar).unwrap();
        env.hutch(&["volume", "import", "v", file.to_str().unwrap()])
            .code(125);
        assert_eq!(snapshot(&victim), before, "{what}: the victim changed");
    }
    // The volume still lists and exports.
    env.hutch(&["volume", "ls"]).success().stdout_has("v");
    env.hutch(&["volume", "export", "v"]).success();
}
