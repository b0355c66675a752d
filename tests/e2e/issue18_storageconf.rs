//! Issue #18: the store locations of the user's containers-storage.conf
//! are honoured: `graphroot` and `runroot` (with `$USER`, `$UID` and
//! `$HOME` replaced) hold hutch's own `hutch` directory, `--root` and
//! `HUTCH_ROOT` still win, `CONTAINERS_STORAGE_CONF` names another file,
//! and a file that does not parse is said and passed over.

use crate::common::{image, Env};

fn info(env: &Env, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend([
        "info",
        "--format",
        "{{.Store.GraphRoot}} {{.Store.RunRoot}} {{.Store.RunRootSource}}",
    ]);
    env.hutch(&all).success().stdout.trim().to_string()
}

#[test]
fn issue18_storage_conf_graphroot_and_runroot_are_honoured() {
    let env = Env::new();
    let scratch = env.dir.join("scratch");
    let conf_dir = env.config_home.join("containers");
    std::fs::create_dir_all(&conf_dir).unwrap();
    let uid = std::fs::metadata("/proc/self").map(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid()
    });
    let uid = uid.unwrap();
    std::fs::write(
        conf_dir.join("storage.conf"),
        format!(
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}/$UID/store\"\nrunroot = \"{}/run-$UID\"\n",
            scratch.display(),
            scratch.display()
        ),
    )
    .unwrap();
    let root = scratch.join(format!("{uid}/store/hutch"));
    let run = scratch.join(format!("run-{uid}/hutch"));
    assert_eq!(
        info(&env, &[]),
        format!("{} {} storage.conf", root.display(), run.display())
    );
    // Images and containers land there, not in the default store.
    let img = image("busybox");
    env.pull(&img);
    env.hutch(&["run", "--rm", &img, "true"]).success();
    assert!(root.join("images").is_dir() || std::fs::read_dir(&root).unwrap().count() > 0);
    assert!(!env.store().exists(), "the default store was made too");
    env.hutch(&["images", "--format", "{{.Repository}}"])
        .success()
        .stdout_has("busybox");
    // --root and HUTCH_ROOT still choose.
    let mine = env.dir.join("mine");
    let got = info(&env, &["--root", mine.to_str().unwrap()]);
    assert!(got.starts_with(&format!("{} ", mine.display())), "{got}");
    // CONTAINERS_STORAGE_CONF names the file to read instead.
    let other = env.dir.join("other.conf");
    let wanted = env.dir.join("other");
    std::fs::write(
        &other,
        format!("[storage]\ngraphroot = \"{}-$USER\"\n", wanted.display()),
    )
    .unwrap();
    let mut env2 = Env::new();
    env2.set_env("CONTAINERS_STORAGE_CONF", other.to_str().unwrap());
    let got = info(&env2, &[]);
    let prefix = format!("{}-", wanted.display());
    assert!(got.starts_with(&prefix) && got.contains("/hutch "), "{got}");
    // A file that does not parse: one warning, and the default store.
    std::fs::write(&other, "[storage\ngraphroot = ").unwrap();
    let r = env2
        .hutch(&["info", "--format", "{{.Store.GraphRoot}}"])
        .success();
    assert_eq!(r.stdout.trim(), env2.store().display().to_string());
    if !r.stderr.contains("does not parse") {
        r.fail("expected a warning naming the file that does not parse");
    }
}
