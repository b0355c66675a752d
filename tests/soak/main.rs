//! The soak tier (issue #21): hutch killed at random moments, many
//! invocations at once, and a store on a full filesystem. After each
//! trial `system check` must find the store clean (or `--repair` must make
//! it clean), and no process, mount or temporary file of the trial may be
//! left.
//!
//! The test process is a child subreaper, so every process a trial starts
//! (monitors and network helpers included, which leave their parents)
//! stays its descendant and can be counted. The tests take turns (one
//! lock): what they count is all of the test's descendants.
//!
//! Bounded: about 110 kill trials, 50 concurrent operations and one full
//! disk; a few minutes on two cores. The counts are printed at the end of
//! each test (run with `--nocapture` to see them; tests/run.sh does).

#[path = "../common/mod.rs"]
mod common;
mod concurrent;
mod disk;
mod kills;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use common::{image, Env};

/// One test at a time: each counts all of the process's descendants.
static SERIAL: Mutex<()> = Mutex::new(());

/// Takes the turn and makes this process a subreaper.
fn turn() -> MutexGuard<'static, ()> {
    let guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    nix::sys::prctl::set_child_subreaper(true).expect("becoming a child subreaper");
    guard
}

/// A small xorshift generator: the seed is printed, so a failing run can
/// be repeated with HUTCH_SOAK_SEED.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::env::var("HUTCH_SOAK_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
                    | 1
            });
        eprintln!("soak: seed {seed} (HUTCH_SOAK_SEED={seed} repeats it)");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A duration in [0, max].
    fn upto(&mut self, max: Duration) -> Duration {
        let ms = max.as_millis() as u64;
        Duration::from_millis(self.next() % (ms + 1))
    }
}

/// pid → (parent, state, command line) of every process.
fn processes() -> BTreeMap<i32, (i32, char, String)> {
    let mut out = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return out;
    };
    for e in entries.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "PID (COMM) STATE PPID ..."; COMM may hold spaces and parens.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let mut rest = stat[close + 1..].split_whitespace();
        let state = rest.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = rest.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let cmdline = std::fs::read(e.path().join("cmdline"))
            .map(|b| {
                String::from_utf8_lossy(&b)
                    .replace('\0', " ")
                    .trim()
                    .to_string()
            })
            .unwrap_or_default();
        let cmdline = if cmdline.is_empty() {
            stat[..=close].to_string()
        } else {
            cmdline
        };
        out.insert(pid, (ppid, state, cmdline));
    }
    out
}

/// Reaps every exited child (orphans reparented to this subreaper). Only
/// called when the test has no `Child` of its own left to wait for.
fn reap() {
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(_) => break,
            Ok(_) => {}
        }
    }
}

/// The live descendants of this process, as "pid cmdline".
fn descendants() -> Vec<String> {
    let all = processes();
    let me = std::process::id() as i32;
    let mut found = Vec::new();
    let mut frontier = vec![me];
    let mut seen = BTreeSet::new();
    while let Some(p) = frontier.pop() {
        for (pid, (ppid, state, cmd)) in &all {
            if *ppid == p && seen.insert(*pid) {
                frontier.push(*pid);
                if *state != 'Z' {
                    found.push(format!("{pid} {cmd}"));
                }
            }
        }
    }
    found
}

/// Files under `dir` (not following links) whose name looks like a
/// temporary file of hutch's atomic writes (`.NAME.PID-N.tmp`), skipping
/// the contents of layers, container file systems and volume data.
fn temp_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if is_dir {
            let skip = [
                "upper",
                "work",
                "merged",
                "_data",
                "layers",
                "layers-shifted",
                "blobs",
            ];
            if !skip.contains(&name.as_str()) {
                temp_files(&path, out);
            }
        } else if name.starts_with('.') && name.ends_with(".tmp") {
            out.push(path);
        }
    }
}

/// What a trial may leave: nothing. Removes the containers, waits for
/// their processes to go, runs `system check` (and `--repair` if it
/// found something), and fails on any process, mount or temporary file
/// left. Returns whether a repair was needed.
fn assert_clean(env: &Env, trial: &str) -> bool {
    env.hutch(&["rm", "-a", "-f"]).success();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        reap();
        let left = descendants();
        if left.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            panic!(
                "{trial}: processes left after rm -a -f:\n{}",
                left.join("\n")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let check = env.hutch(&["system", "check", "--max", "0"]);
    let repaired = match check.code {
        Some(0) => false,
        Some(1) => {
            let fixed = env.hutch(&["system", "check", "--repair", "--max", "0"]);
            let again = env.hutch(&["system", "check", "--max", "0"]);
            if again.code != Some(0) {
                panic!("{trial}: system check --repair did not make the store clean:\n{check}\n{fixed}\n{again}");
            }
            eprintln!("{trial}: repaired:\n{}", check.stdout.trim_end());
            true
        }
        _ => check.fail(&format!("{trial}: system check failed")),
    };
    let (store, runroot) = roots(env);
    let tmp: Vec<String> = common::list_dir(&store.join("tmp"));
    if !tmp.is_empty() {
        panic!(
            "{trial}: temporary entries left in {}: {tmp:?}",
            store.join("tmp").display()
        );
    }
    let trash: Vec<String> = common::list_dir(&store.join("volumes"))
        .into_iter()
        .filter(|n| n.starts_with(".trash"))
        .collect();
    if !trash.is_empty() {
        panic!("{trial}: volume trash left: {trash:?}");
    }
    let mut temps = Vec::new();
    temp_files(&store, &mut temps);
    temp_files(&runroot, &mut temps);
    if !temps.is_empty() {
        panic!("{trial}: temporary files left: {temps:?}");
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let base = env.dir.to_string_lossy().into_owned();
    if let Some(m) = mounts.lines().find(|l| l.contains(&base)) {
        panic!("{trial}: a mount is left: {m}");
    }
    repaired
}

/// The store and run directories `info` reports.
fn roots(env: &Env) -> (PathBuf, PathBuf) {
    let r = env.hutch(&["info", "--format", "json"]).success();
    let v = r.json();
    match (
        v["store"]["graphRoot"].as_str(),
        v["store"]["runRoot"].as_str(),
    ) {
        (Some(root), Some(run)) => (PathBuf::from(root), PathBuf::from(run)),
        _ => r.fail("expected store.graphRoot and store.runRoot"),
    }
}

/// A fresh environment with the fixture images the trials use.
fn setup() -> Env {
    let env = Env::new();
    for i in ["busybox", "layers"] {
        env.pull(&image(i)).success();
    }
    env
}
