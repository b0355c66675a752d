//! Regression tests of issue #21 ("Reliability and local security"):
//! item 5, killed `pull`, `commit` and `rmi` leave no helper behind and
//! no debris the next command does not sweep; item 7, a lost, emptied or
//! damaged database is refused with a clear error and `system reset`
//! still works; item 10, a damaged image record is flagged while the rest
//! are listed, and a pull replaces it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::common::{image, list_dir, registry, wait_for, Env, Run};
use super::{setup, Cleanup, SETTLE};

/// How long a killed command's helpers may take to die with it: they get
/// SIGKILL when it exits (PR_SET_PDEATHSIG), so this is generous.
const HELPER_GRACE: Duration = Duration::from_secs(2);

/// A shell script that fills /big with many small files (so unpacking and
/// removing take a while) and 48 MB of incompressible data, and writes
/// /marker.
const BIG_TREE: &str = "mkdir -p /big && i=0 && while [ $i -lt 120 ]; do \
       mkdir /big/d$i && j=0 && while [ $j -lt 200 ]; do echo $i.$j > /big/d$i/f$j; j=$((j+1)); done; \
       i=$((i+1)); done && head -c 48000000 /dev/urandom > /big/blob && echo marker > /marker";

/// When to kill a command.
#[derive(Debug, Clone, Copy)]
enum KillAt {
    /// This long after it started.
    After(Duration),
    /// Once the store's `tmp/` holds an entry whose name starts so.
    TmpEntry(&'static str),
    /// Once the store's `layers/` holds an entry whose name starts so.
    LayersEntry(&'static str),
}

/// Runs hutch with `args` and SIGKILLs it at `at`; returns whether it was
/// still running when killed.
fn kill_at(env: &Env, args: &[&str], at: KillAt) -> bool {
    let mut child = env
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting hutch");
    let started = Instant::now();
    let has_entry = |dir: &Path, prefix: &str| list_dir(dir).iter().any(|n| n.starts_with(prefix));
    loop {
        if child.try_wait().expect("polling hutch").is_some() {
            return false;
        }
        let is_due = match at {
            KillAt::After(d) => started.elapsed() >= d,
            KillAt::TmpEntry(p) => has_entry(&env.store().join("tmp"), p),
            KillAt::LayersEntry(p) => has_entry(&env.store().join("layers"), p),
        };
        if is_due {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("hutch {args:?} never reached {at:?}");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    true
}

/// The pids of hutch processes (a killed command's forked helpers share
/// its command line) whose arguments include every one of `args`.
fn hutch_processes(args: &[&str]) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in list_dir(Path::new("/proc")) {
        let Ok(pid) = entry.parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let argv: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let is_hutch = argv.first().is_some_and(|a| a.ends_with("hutch"));
        if is_hutch && args.iter().all(|a| argv.iter().any(|x| x == a)) {
            out.push(pid);
        }
    }
    out
}

/// Fails unless no process of the killed command `args` is left.
fn expect_no_helpers(args: &[&str], what: &str) {
    let deadline = Instant::now() + HELPER_GRACE;
    loop {
        let left = hutch_processes(args);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            for pid in &left {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(*pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            panic!("{what}: processes of the killed `hutch {args:?}` still run: {left:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Debris row of `system df`: (total, size as printed).
fn df_debris(env: &Env) -> (usize, String) {
    let df = env.hutch(&["system", "df"]).success();
    let row: Vec<String> = df
        .stdout
        .lines()
        .find(|l| l.starts_with("Debris"))
        .unwrap_or_else(|| df.fail("no Debris row in `system df`"))
        .split_whitespace()
        .map(String::from)
        .collect();
    let total = row[1]
        .parse()
        .unwrap_or_else(|_| df.fail("the Debris row's TOTAL is not a number"));
    (total, row[3].clone())
}

/// The diff_ids (hex) of every listed image's layers.
fn layers_in_use(env: &Env) -> BTreeSet<String> {
    let ids = env.hutch(&["images", "-q", "--no-trunc"]).success();
    let mut out = BTreeSet::new();
    for id in ids.stdout.lines().filter(|l| !l.is_empty()) {
        let r = env.hutch(&["image", "inspect", id]).success();
        for l in r.json()[0]["RootFS"]["Layers"]
            .as_array()
            .unwrap_or_else(|| r.fail("no RootFS.Layers"))
        {
            let d = l.as_str().unwrap_or_default();
            out.insert(d.trim_start_matches("sha256:").to_string());
        }
    }
    out
}

/// Fails unless the store holds no temporary entry, no trash and no layer
/// that no image uses.
fn expect_clean(env: &Env, what: &str) {
    let tmp = env.store_entries("tmp");
    assert!(tmp.is_empty(), "{what}: tmp/ still holds {tmp:?}");
    let used = layers_in_use(env);
    for name in env.store_entries("layers") {
        assert!(
            used.contains(&name),
            "{what}: layers/{name} is no image's layer (images use {used:?})"
        );
    }
    let (total, size) = df_debris(env);
    assert_eq!(
        total, 0,
        "{what}: `system df` still counts {size} of debris"
    );
}

/// Makes a container named `name` with `BIG_TREE` in its writable layer.
fn big_container(env: &Env, name: &str) {
    env.hutch_timeout(
        &[
            "run",
            "--name",
            name,
            &image("busybox"),
            "sh",
            "-c",
            BIG_TREE,
        ],
        Duration::from_secs(300),
    )
    .success();
}

/// issue #21 item 5: a `pull` killed while it downloads, while its helper
/// unpacks, or at fixed moments leaves no helper running; `system df`
/// counts what it left, the next command sweeps it (no temporary entry, no
/// layer without an image), and a pull afterwards gives a working image.
#[test]
fn issue21_killed_pulls_leave_no_helper_and_their_debris_is_swept() {
    let src = setup();
    let _c = Cleanup(&src);
    big_container(&src, "big");
    let local = "localhost/issue21-big:1";
    src.hutch_timeout(&["commit", "-q", "big", local], Duration::from_secs(300))
        .success();
    let remote = format!("{}/issue21/big-{}:1", registry(), std::process::id());
    src.hutch_timeout(&["push", "-q", local, &remote], Duration::from_secs(300))
        .success();

    let env = Env::new();
    let args = ["pull", remote.as_str()];
    let mut saw_debris = false;
    for at in [
        KillAt::TmpEntry("blob-"),
        KillAt::TmpEntry("layer-"),
        KillAt::After(Duration::from_millis(150)),
        KillAt::After(Duration::from_millis(400)),
        KillAt::After(Duration::from_millis(900)),
        KillAt::After(Duration::from_millis(1600)),
        KillAt::TmpEntry("layer-"),
    ] {
        let what = format!("`pull` killed at {at:?}");
        // Start from no image: a finished pull would have nothing to do.
        let _ = env.hutch(&["rmi", "-f", &remote]);
        expect_clean(&env, &format!("before {what}"));
        if !kill_at(&env, &args, at) {
            continue;
        }
        expect_no_helpers(&args, &what);
        let (total, _) = df_debris(&env);
        saw_debris |= total > 0;
        if matches!(at, KillAt::TmpEntry(_)) {
            assert!(total > 0, "{what}: `system df` shows no debris");
        }
        // The next command sweeps.
        env.hutch(&["images"]).success();
        expect_clean(&env, &format!("after {what}"));
    }
    assert!(
        saw_debris,
        "no killed pull left debris for `system df` to show"
    );
    env.hutch_timeout(&["pull", "-q", &remote], Duration::from_secs(300))
        .success();
    env.hutch(&["run", "--rm", &remote, "cat", "/marker"])
        .success()
        .stdout_is("marker");
    expect_clean(&env, "after the last pull");
}

/// issue #21 item 5: `commit` killed while it stores or unpacks its layer,
/// and `rmi` killed while it removes a big layer, leave no helper running
/// and only debris the next command sweeps; an image that survives runs.
#[test]
fn issue21_killed_commits_and_rmis_leave_only_debris_the_next_command_sweeps() {
    let env = setup();
    let _c = Cleanup(&env);
    big_container(&env, "big");
    let trials = [
        KillAt::TmpEntry("blob-"),
        KillAt::TmpEntry("layer-"),
        KillAt::After(Duration::from_millis(300)),
        KillAt::After(Duration::from_millis(1200)),
    ];
    for (i, at) in trials.into_iter().enumerate() {
        let name = format!("localhost/issue21-commit:{i}");
        let args = ["commit", "-q", "big", name.as_str()];
        let what = format!("`commit` killed at {at:?}");
        if !kill_at(&env, &args, at) {
            continue;
        }
        expect_no_helpers(&args, &what);
        if matches!(at, KillAt::TmpEntry(_)) {
            let (total, _) = df_debris(&env);
            assert!(total > 0, "{what}: `system df` shows no debris");
        }
        env.hutch(&["ps", "-a"]).success();
        expect_clean(&env, &format!("after {what}"));
        if env.hutch(&["image", "inspect", &name]).code == Some(0) {
            env.hutch(&["run", "--rm", &name, "cat", "/marker"])
                .success()
                .stdout_is("marker");
        }
    }
    env.hutch(&["rm", "big"]).success();
    for (i, at) in [
        KillAt::LayersEntry(".trash."),
        KillAt::After(Duration::from_millis(30)),
        KillAt::After(Duration::from_millis(120)),
        KillAt::LayersEntry(".trash."),
    ]
    .into_iter()
    .enumerate()
    {
        let victim = format!("localhost/issue21-victim:{i}");
        big_container(&env, "victim");
        env.hutch_timeout(
            &["commit", "-q", "victim", &victim],
            Duration::from_secs(300),
        )
        .success();
        env.hutch(&["rm", "victim"]).success();
        let args = ["rmi", victim.as_str()];
        let what = format!("`rmi` killed at {at:?}");
        if kill_at(&env, &args, at) {
            expect_no_helpers(&args, &what);
            if matches!(at, KillAt::LayersEntry(_)) {
                let (total, _) = df_debris(&env);
                assert!(total > 0, "{what}: `system df` shows no trash");
            }
        }
        env.hutch(&["images"]).success();
        expect_clean(&env, &format!("after {what}"));
        if env.hutch(&["image", "inspect", &victim]).code == Some(0) {
            env.hutch(&["run", "--rm", &victim, "cat", "/marker"])
                .success()
                .stdout_is("marker");
        }
    }
}

/// Fails unless `r` is hutch's refusal of a lost or damaged database:
/// exit 125, one `Error:` line naming the database and what is wrong, and
/// a hint naming `hutch system reset`.
#[track_caller]
fn expect_db_refused(r: Run, what: &str) {
    let r = r.code(125);
    let errors = r.stderr_lines("Error:");
    if errors.len() != 1 || !errors[0].contains(what) {
        r.fail(&format!("expected one Error: line saying {what:?}"));
    }
    r.stderr_has("hutch system reset");
}

/// issue #21 item 7: with `db.sqlite` emptied, deleted or damaged over a
/// store that holds images, containers and a volume, commands refuse with
/// a clear error instead of showing an empty store, `volume create` does
/// not adopt old data, and `system reset -f` still removes everything,
/// the running container included. A new store initializes silently.
#[test]
fn issue21_a_lost_or_damaged_database_is_refused_and_reset_still_works() {
    let fresh = Env::new();
    fresh
        .hutch(&["images", "-q"])
        .success()
        .stdout_is("")
        .stderr_empty();
    fresh.hutch(&["ps", "-a", "-q"]).success().stdout_is("");

    let env = setup();
    let _c = Cleanup(&env);
    env.hutch(&["volume", "create", "data"]).success();
    super::run_rm(
        &env,
        &["-v", "data:/data"],
        &["sh", "-c", "echo old > /data/f"],
    )
    .success();
    let id = super::run_d(&env, "sleeper", &["sleep", "1000"]);
    let pid: i32 = env
        .hutch(&["inspect", "--format", "{{.State.Pid}}", &id])
        .success()
        .stdout
        .trim()
        .parse()
        .expect("a pid");
    let db = env.store().join("db.sqlite");

    // Damaged pages: everything past the first page is overwritten, once
    // the write-ahead log is checkpointed into the file.
    sql(&env, "PRAGMA wal_checkpoint(TRUNCATE)");
    let mut bytes = std::fs::read(&db).expect("reading the database");
    if bytes.len() < 8192 {
        panic!("the database is only {} bytes", bytes.len());
    }
    for b in bytes[4096..].iter_mut() {
        *b = 0x5a;
    }
    std::fs::write(&db, &bytes).expect("damaging the database");
    for wal in ["db.sqlite-wal", "db.sqlite-shm"] {
        let _ = std::fs::remove_file(env.store().join(wal));
    }
    for cmd in [&["images"][..], &["ps", "-a"], &["volume", "ls"]] {
        let r = env.hutch(cmd);
        let r = r.code(125);
        r.stderr_has("Error:").stderr_has("hutch system reset");
    }
    env.hutch(&["system", "reset", "-f"]).success();
    assert!(
        !env.store().exists(),
        "reset left {}",
        env.store().display()
    );
    wait_for("the container to die with the reset", SETTLE, || {
        if Path::new(&format!("/proc/{pid}")).exists() {
            Err(format!("process {pid} still runs"))
        } else {
            Ok(())
        }
    });

    // Emptied, then deleted, over a store with an image and a volume.
    env.pull(&image("busybox"));
    env.hutch(&["volume", "create", "data"]).success();
    super::run_rm(
        &env,
        &["-v", "data:/data"],
        &["sh", "-c", "echo old > /data/f"],
    )
    .success();
    let db = env.store().join("db.sqlite");
    // Truncated as a full disk or a careless copy leaves it; its
    // write-ahead log stays.
    std::fs::write(&db, b"").expect("emptying the database");
    expect_db_refused(env.hutch(&["images"]), "is empty");
    expect_db_refused(env.hutch(&["ps"]), "is empty");
    expect_db_refused(env.hutch(&["volume", "create", "data"]), "is empty");
    for f in ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"] {
        let _ = std::fs::remove_file(env.store().join(f));
    }
    expect_db_refused(env.hutch(&["images"]), "is missing");
    expect_db_refused(env.hutch(&["volume", "create", "data"]), "is missing");
    assert!(!db.exists(), "a refused command created {}", db.display());
    env.hutch(&["system", "reset", "-f"]).success();
    assert!(
        !env.store().exists(),
        "reset left {}",
        env.store().display()
    );
    env.hutch(&["images", "-q"])
        .success()
        .stdout_is("")
        .stderr_empty();
    env.hutch(&["volume", "create", "data"]).success();
    super::run_rm(&env, &["-v", "data:/data"], &["ls", "-A", "/data"])
        .success()
        .stdout_is("");
}

/// Runs a python3 sqlite3 statement on the store's database.
fn sql(env: &Env, statement: &str) {
    let db = env.store().join("db.sqlite");
    let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute(sys.argv[2]).fetchall()\nc.commit()\nc.close()\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&db)
        .arg(statement)
        .output()
        .expect("running python3 (install python3)");
    assert!(
        out.status.success(),
        "python3 sqlite3 {statement:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// issue #21 item 10: a damaged image record (its layer list, its config,
/// or its config blob) no longer fails `images` for the whole store: the
/// others are listed, the bad one is named in a warning, `pull` replaces
/// it and `rmi` removes it.
#[test]
fn issue21_a_damaged_image_record_is_flagged_and_replaced_by_a_pull() {
    let env = setup();
    let _c = Cleanup(&env);
    let bb = image("busybox");
    let other = image("config");
    env.pull(&other);
    let r = env.hutch(&["image", "inspect", &bb]).success();
    let hex = r.json()[0]["Id"]
        .as_str()
        .unwrap_or_else(|| r.fail("no Id"))
        .trim_start_matches("sha256:")
        .to_string();
    let id = format!("sha256:{hex}");
    let short = &hex[..12];
    let expect_flagged = |why: &str| {
        for args in [
            &["images"][..],
            &["images", "--format", "json"],
            &["image", "ls", "-a"],
        ] {
            let r = env.hutch(args).success();
            let warnings = r.stderr_lines("Warning:");
            if warnings.len() != 1 || !warnings[0].contains(short) || !warnings[0].contains(why) {
                r.fail(&format!(
                    "expected one warning naming image {short} and {why:?}"
                ));
            }
            if r.stdout.contains(short) || !r.stdout.contains("config") {
                r.fail("the damaged image should be left out and the other listed");
            }
        }
        let r = env.hutch(&["images", "--format", "json"]).success();
        assert_eq!(r.json().as_array().map(Vec::len), Some(1), "{r}");
    };
    let expect_whole = || {
        env.hutch(&["images"]).success().stderr_empty();
        env.hutch(&["run", "--rm", &bb, "echo", "whole"])
            .success()
            .stdout_is("whole");
    };

    sql(
        &env,
        &format!("UPDATE images SET layers = 'garbage' WHERE id = '{id}'"),
    );
    expect_flagged("layer list");
    env.hutch(&["run", "--rm", &bb, "true"])
        .code(125)
        .stderr_has("is damaged");
    env.pull(&bb);
    expect_whole();

    std::fs::write(
        env.store().join("blobs/sha256").join(&hex),
        b"{\"overwritten\":1}",
    )
    .expect("overwriting the config blob");
    expect_flagged("config blob");
    env.pull(&bb);
    expect_whole();

    sql(
        &env,
        &format!("UPDATE images SET config = X'7b7b7b' WHERE id = '{id}'"),
    );
    expect_flagged("config");
    let r = env.hutch(&["rmi", &bb]).success();
    assert!(r.stdout.contains(&hex), "{r}");
    env.hutch(&["images"]).success().stderr_empty();
    env.pull(&bb);
    expect_whole();
}
