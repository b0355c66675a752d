//! Side-by-side tests with Podman, the oracle: the same command through
//! `podman` and through `hutch`, as the same unprivileged user with the same
//! HOME, XDG directories and registries.conf, must end with the same exit
//! code and print the same output (or leave the same files). A difference
//! hutch keeps on purpose is listed in docs/compat.md with its reason and
//! is not compared here.
//!
//! Podman (Debian's, with runc, configured by tests/lib/env.sh) is a
//! prerequisite: without it every test fails and names it.

mod cli;
#[path = "../common/mod.rs"]
mod common;
mod etc;
mod files;
mod issue13_conn;
mod issue13_img;
mod issue13_ipv6;
mod issue13_pod;
mod issue15_build;
mod issue16_gensys;
mod lifecycle;
mod table;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{image, require_tool, run_command, Env, Run};

/// How long one podman command may take (a first pull included).
const PODMAN_LIMIT: Duration = Duration::from_secs(120);

/// Runs podman with `args` in `env` (no stdin).
fn podman<S: AsRef<str>>(env: &Env, args: &[S]) -> Run {
    let bin = require_tool("podman");
    let mut c = Command::new(&bin);
    c.args(args.iter().map(AsRef::as_ref))
        .env_clear()
        .envs(env.vars())
        .current_dir(&env.home)
        .stdin(Stdio::null());
    let shown: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    run_command(
        c,
        format!("command: podman {}", shown.join(" ")),
        PODMAN_LIMIT,
    )
}

/// Runs `args` through podman and then hutch; both must exit alike and
/// print the same stdout (after `normalize`). Returns (podman, hutch).
#[track_caller]
fn same(env: &Env, args: &[&str], normalize: fn(&str) -> String) -> (Run, Run) {
    let p = podman(env, args);
    let h = env.hutch(args);
    if p.code != h.code {
        h.fail(&format!(
            "hutch exited {:?} where podman exited {:?}\npodman's run:\n{p}",
            h.code, p.code
        ));
    }
    let (po, ho) = (normalize(&p.stdout), normalize(&h.stdout));
    if po != ho {
        h.fail(&format!(
            "hutch printed {ho:?} where podman printed {po:?}\npodman's run:\n{p}"
        ));
    }
    (p, h)
}

/// Output as printed, without trailing blank space.
fn as_is(s: &str) -> String {
    s.trim_end().to_string()
}

/// The lines of the output in sorted order, for output whose order
/// Podman leaves to chance (`diff` walks the tree; hutch sorts by path).
fn sorted_lines(s: &str) -> String {
    let mut lines: Vec<&str> = s.lines().collect();
    lines.sort_unstable();
    lines.join("\n")
}

/// `run --rm FLAGS IMAGE CMD…` as arguments, for `same`.
fn run_rm<'a>(img: &'a str, flags: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["run", "--rm"];
    args.extend_from_slice(flags);
    args.push(img);
    args.extend_from_slice(cmd);
    args
}

/// A fresh environment with the busybox fixture in both stores.
fn setup() -> (Env, String) {
    let env = Env::new();
    let img = image("busybox");
    podman(&env, &["pull", "-q", &img]).success();
    env.pull(&img);
    (env, img)
}

/// Removes both tools' containers when dropped.
struct Cleanup<'a>(&'a Env);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = podman(self.0, &["rm", "-a", "-f", "-t", "0"]);
        let _ = self.0.hutch(&["rm", "-a", "-f"]);
    }
}
