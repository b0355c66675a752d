//! hutch SIGKILLed at a random moment of `pull`, `run --rm`, `run -d`,
//! `rm -f`, `commit`, `rmi`, `volume rm` and `load`; the delays are scaled
//! to each command's own duration, measured first.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::common::{image, Env};
use super::{assert_clean, setup, turn, Rng};

#[derive(Clone, Copy, Debug)]
enum Kind {
    Pull,
    RunRm,
    RunDetached,
    RmForce,
    Commit,
    Rmi,
    VolumeRm,
    Load,
}

const KINDS: [Kind; 8] = [
    Kind::Pull,
    Kind::RunRm,
    Kind::RunDetached,
    Kind::RmForce,
    Kind::Commit,
    Kind::Rmi,
    Kind::VolumeRm,
    Kind::Load,
];

/// Trials per kind: 112 in all.
const TRIALS: usize = 14;

impl Kind {
    /// Brings the store to the state the command needs (whatever the last
    /// trial left) and returns the command.
    fn prepare(self, env: &Env, archive: &str) -> Vec<String> {
        let busybox = image("busybox");
        let layers = image("layers");
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        match self {
            Kind::Pull => {
                let _ = env.hutch(&["rmi", "-f", &layers]);
                v(&["pull", &layers])
            }
            Kind::RunRm => v(&[
                "run",
                "--rm",
                &busybox,
                "sh",
                "-c",
                "echo x > /f; sleep 0.3",
            ]),
            Kind::RunDetached => v(&["run", "-d", &busybox, "sleep", "30"]),
            Kind::RmForce => {
                env.hutch(&["run", "-d", "--name", "victim", &busybox, "sleep", "60"])
                    .success();
                v(&["rm", "-f", "victim"])
            }
            Kind::Commit => {
                let _ = env.hutch(&["rmi", "-f", "localhost/snap"]);
                env.hutch(&[
                    "run",
                    "-d",
                    "--name",
                    "base",
                    &busybox,
                    "sh",
                    "-c",
                    "head -c 3000000 /dev/urandom > /blob; seq 1 500 | xargs touch; sleep 60",
                ])
                .success();
                env.hutch(&[
                    "exec",
                    "base",
                    "sh",
                    "-c",
                    "while [ ! -f /500 ]; do sleep 0.05; done",
                ])
                .success();
                v(&["commit", "base", "localhost/snap"])
            }
            Kind::Rmi => {
                env.pull(&layers).success();
                v(&["rmi", &layers])
            }
            Kind::VolumeRm => {
                let _ = env.hutch(&["volume", "rm", "-f", "vol"]);
                env.hutch(&["volume", "create", "vol"]).success();
                env.hutch(&[
                    "run",
                    "--rm",
                    "-v",
                    "vol:/d",
                    &busybox,
                    "sh",
                    "-c",
                    "mkdir /d/t && cd /d/t && seq 1 2000 | xargs touch",
                ])
                .success();
                v(&["volume", "rm", "vol"])
            }
            Kind::Load => {
                let _ = env.hutch(&["rmi", "-f", &layers]);
                v(&["load", "-i", archive])
            }
        }
    }
}

/// Runs `args`, killing it with SIGKILL after `delay` if it is still
/// running; returns whether it was killed.
fn run_and_kill(env: &Env, args: &[String], delay: Duration) -> bool {
    let mut child = env
        .command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting hutch");
    let end = Instant::now() + delay;
    while Instant::now() < end {
        if child.try_wait().expect("polling hutch").is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = child.try_wait().expect("polling hutch").is_none();
    let _ = child.kill();
    let _ = child.wait();
    killed
}

#[test]
fn soak_random_kills_leave_a_clean_store() {
    let _turn = turn();
    let env = setup();
    let mut rng = Rng::new();
    let archive = env.dir.join("layers.tar");
    let archive = archive.to_string_lossy().into_owned();
    env.hutch(&["save", "-o", &archive, &image("layers")])
        .success();
    let (mut trials, mut killed, mut repaired) = (0, 0, 0);
    let mut lines = Vec::new();
    for kind in KINDS {
        // The command's own duration, from one undisturbed run.
        let args = kind.prepare(&env, &archive);
        let started = Instant::now();
        env.hutch(&args).success();
        let took = started.elapsed();
        assert_clean(&env, &format!("{kind:?} baseline"));
        let (mut k, mut r) = (0, 0);
        for i in 0..TRIALS {
            let args = kind.prepare(&env, &archive);
            let delay = rng.upto(took + took / 5);
            let what = format!("{kind:?} trial {i} (killed after {delay:?} of ~{took:?})");
            if run_and_kill(&env, &args, delay) {
                k += 1;
            }
            if assert_clean(&env, &what) {
                r += 1;
            }
        }
        trials += TRIALS;
        killed += k;
        repaired += r;
        lines.push(format!(
            "  {kind:?}: {TRIALS} trials, {k} killed mid-way, {r} needed --repair (command ~{} ms)",
            took.as_millis()
        ));
    }
    eprintln!(
        "soak kills: {trials} trials, {killed} killed mid-way, {repaired} needed --repair\n{}",
        lines.join("\n")
    );
    // Everything that survived still works.
    env.hutch(&["run", "--rm", &image("busybox"), "true"])
        .success();
    env.pull(&image("layers")).success();
    env.hutch(&["run", "--rm", &image("layers"), "cat", "/data/layer3"])
        .success()
        .stdout_is("three\n");
}
