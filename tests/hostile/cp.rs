//! Hostile `cp` (issue #8): a container plants symlinks that point at a
//! victim directory on the host (absolutely, through `../../..`, through
//! /proc magic links). Copying into or out of the container must never
//! write through them onto the host: a write either lands inside the
//! container or fails with exit 125, and the victim stays byte-identical.
//! The containers are stopped first, so the overlay is mounted by hutch's
//! own helper, whose mount namespace still holds the host's files.

use std::path::Path;

use super::common::{image, Env};
use super::snapshot;

/// A stopped busybox container `w` whose command planted the symlinks
/// `links(VICTIM)` gives (`(target, name)` pairs), and a victim directory
/// with one file.
fn scene(links: impl Fn(&str) -> Vec<(String, String)>) -> (Env, std::path::PathBuf) {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    let victim = env.dir.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("f"), b"precious").unwrap();
    let mut script = String::from("true; ");
    for (target, name) in links(&victim.display().to_string()) {
        script.push_str(&format!("ln -s '{target}' '{name}'; "));
    }
    env.hutch(&["run", "--name", "w", &img, "sh", "-c", &script])
        .success();
    (env, victim)
}

fn host_file(env: &Env, name: &str) -> String {
    let p = env.dir.join(name);
    std::fs::write(&p, b"evil").unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn cp_into_symlinks_to_the_host_never_writes_the_victim() {
    let (env, victim) = scene(|v| {
        vec![
            (v.to_string(), "/abs".into()),
            ("../../../../../../../..".into(), "/up".into()),
            (format!("{v}/f"), "/file".into()),
        ]
    });
    let v = victim.display().to_string();
    let before = snapshot(&victim);
    let x = host_file(&env, "x");
    // Resolved in the container, where the victim's path does not exist.
    for dst in [
        "w:/abs/x".to_string(),
        format!("w:/up{v}/x"),
        "w:/proc/self/root/x".to_string(),
    ] {
        env.hutch(&["cp", &x, &dst]).code(125);
    }
    // A symlink to a file is replaced inside the container, not followed.
    env.hutch(&["cp", &x, "w:/file"]).success();
    assert_eq!(snapshot(&victim), before, "victim changed");
    let back = env.dir.join("back");
    env.hutch(&["cp", "w:/file", back.to_str().unwrap()])
        .success();
    assert_eq!(std::fs::read(&back).unwrap(), b"evil");
    env.hutch(&["images"]).success();
}

#[test]
fn cp_out_of_symlinks_copies_the_links_not_the_host_files() {
    let (env, victim) = scene(|v| {
        vec![
            (v.to_string(), "/tmp/abs".into()),
            ("../../../../../..".into(), "/tmp/up".into()),
        ]
    });
    let v = victim.display().to_string();
    let before = snapshot(&victim);
    let out = env.dir.join("out");
    env.hutch(&["cp", "w:/tmp", out.to_str().unwrap()])
        .success();
    assert_eq!(std::fs::read_link(out.join("abs")).unwrap(), Path::new(&v));
    // A path through the symlink resolves in the container, where the
    // victim does not exist.
    env.hutch(&["cp", "w:/tmp/abs/f", out.to_str().unwrap()])
        .code(125);
    env.hutch(&["cp", &format!("w:/tmp/up{v}/f"), out.to_str().unwrap()])
        .code(125);
    assert!(!out.join("f").exists(), "the victim's file was copied out");
    assert_eq!(snapshot(&victim), before, "victim changed");
}

#[test]
fn cp_through_symlinks_to_root_and_dotdot_stays_in_the_container() {
    let (env, victim) = scene(|v| {
        vec![
            ("/".into(), "/rootlink".into()),
            ("..".into(), "/tmp/dotdot".into()),
            (v.to_string(), "/tmp/abs".into()),
        ]
    });
    let before = snapshot(&victim);
    let x = host_file(&env, "x");
    // Into: `/` and `..` are the container's, so the copies land there.
    env.hutch(&["cp", &x, "w:/rootlink/from-rootlink"])
        .success();
    env.hutch(&["cp", &x, "w:/tmp/dotdot/from-dotdot"])
        .success();
    // A directory copied onto a symlink to a host path: the link resolves
    // in the container, where that path does not exist.
    let dir = env.dir.join("d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("f"), b"evil").unwrap();
    let r = env.hutch(&["cp", dir.to_str().unwrap(), "w:/tmp/abs"]);
    let is_created_inside = r.code == Some(0);
    if !is_created_inside {
        r.tool_error(&[]);
    }
    assert_eq!(snapshot(&victim), before, "victim changed");
    // Out: the copies are found at the container's root.
    let out = env.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    for name in ["from-rootlink", "from-dotdot"] {
        let dst = out.join(name);
        env.hutch(&["cp", &format!("w:/{name}"), dst.to_str().unwrap()])
            .success();
        assert_eq!(std::fs::read(&dst).unwrap(), b"evil", "{name}");
    }
    // Out through the links: the container's files, never the host's.
    let through = out.join("through");
    env.hutch(&["cp", "w:/rootlink/from-rootlink", through.to_str().unwrap()])
        .success();
    assert_eq!(std::fs::read(&through).unwrap(), b"evil");
    let link = out.join("rootlink");
    env.hutch(&["cp", "w:/rootlink", link.to_str().unwrap()])
        .success();
    assert_eq!(std::fs::read_link(&link).unwrap(), Path::new("/"));
    // Through both links to the victim's path: only what the copy above
    // made inside the container is there, never the host's file.
    let r = env.hutch(&["cp", "w:/tmp/dotdot/tmp/abs/f", out.to_str().unwrap()]);
    if is_created_inside {
        r.success();
        assert_eq!(std::fs::read(out.join("f")).unwrap(), b"evil");
    } else {
        r.code(125);
        assert!(!out.join("f").exists(), "the victim's file was copied out");
    }
    assert_eq!(snapshot(&victim), before, "victim changed");
}
