//! Issue #16: `generate systemd` next to Podman's. The units must be the
//! same line for line once the differences docs/compat.md lists are
//! evened out: the binary's path, `Description=`/`Documentation=`
//! naming hutch, the run directory, and the pid file of an existing
//! container.

use super::common::{hutch_bin, require_tool, Run};
use super::{podman, setup, Cleanup};

/// The unit text with what differs on purpose replaced by placeholders.
fn even_out(text: &str, exe: &str) -> String {
    text.lines()
        .map(|l| {
            let l = l
                .replace(exe, "EXE")
                .replace("Description=Podman ", "Description=TOOL ")
                .replace("Description=hutch ", "Description=TOOL ")
                .replace("man:podman-generate-systemd(1)", "MAN")
                .replace("man:hutch-generate-systemd(1)", "MAN")
                .replace(
                    "RequiresMountsFor=%t/containers",
                    "RequiresMountsFor=%t/RUN",
                )
                .replace("RequiresMountsFor=%t/hutch", "RequiresMountsFor=%t/RUN");
            if l.starts_with("RequiresMountsFor=/") {
                "RequiresMountsFor=RUNROOT".to_string()
            } else if l.starts_with("PIDFile=/") {
                "PIDFile=PIDFILE".to_string()
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The units of the output, sorted: Podman prints a pod's in the order
/// of a Go map, by chance.
fn units_of(text: &str) -> String {
    let mut units: Vec<String> = Vec::new();
    for line in text.lines() {
        if line.starts_with("# ") && line.ends_with(".service") || units.is_empty() {
            units.push(String::new());
        }
        let last = units.last_mut().expect("one unit at least");
        last.push_str(line);
        last.push('\n');
    }
    units.sort();
    units.concat()
}

/// Resolved path of a binary, as the units name it.
fn resolved(path: std::path::PathBuf) -> String {
    std::fs::canonicalize(&path)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Runs `generate systemd ARGS` through both and compares the units.
#[track_caller]
fn same_units(env: &super::common::Env, args: &[&str]) -> (Run, Run) {
    let mut argv = vec!["generate", "systemd"];
    argv.extend_from_slice(args);
    let p = podman(env, &argv);
    let h = env.hutch(&argv);
    if p.code != h.code {
        h.fail(&format!(
            "exit {:?}, podman's {:?}\npodman's run:\n{p}",
            h.code, p.code
        ));
    }
    let po = units_of(&even_out(&p.stdout, &resolved(require_tool("podman"))));
    let ho = units_of(&even_out(&h.stdout, &resolved(hutch_bin())));
    if po != ho {
        let diff: Vec<String> = po
            .lines()
            .zip(ho.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("podman: {a}\nhutch:  {b}"))
            .collect();
        h.fail(&format!(
            "the units differ from Podman's ({} vs {} lines):\n{}\npodman's run:\n{p}",
            po.lines().count(),
            ho.lines().count(),
            diff.join("\n")
        ));
    }
    (p, h)
}

/// Issue #16 item 1: `--new` units, a template, a unit of the existing
/// container, a pod's units and the errors, as Podman writes them.
#[test]
fn compat_issue16_gensys_units_match_podmans() {
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let create = [
        "create",
        "--name",
        "gw",
        "-p",
        "8080:80",
        "--restart",
        "on-failure:3",
        "-e",
        "A=1 2",
        &img,
        "sh",
        "-c",
        "echo $HOME",
    ];
    podman(&env, &create).success();
    env.hutch(&create).success();
    same_units(&env, &["--new", "--no-header", "--name", "gw"]);
    same_units(
        &env,
        &["--no-header", "--name", "--stop-timeout", "7", "gw"],
    );
    same_units(
        &env,
        &[
            "--template",
            "--no-header",
            "--name",
            "--wants",
            "a.service",
            "--after",
            "b.service",
            "--requires",
            "c.service",
            "-e",
            "X=$y",
            "--restart-policy",
            "always",
            "--start-timeout",
            "11",
            "--container-prefix",
            "c",
            "--separator",
            "_",
            "gw",
        ],
    );
    let pod = ["pod", "create", "--name", "gp", "-p", "8081:80"];
    podman(&env, &pod).success();
    env.hutch(&pod).success();
    let member = [
        "create", "--pod", "gp", "--name", "gm", &img, "sleep", "100",
    ];
    podman(&env, &member).success();
    env.hutch(&member).success();
    same_units(&env, &["--new", "--no-header", "--name", "gp"]);
    let (p, h) = same_units(&env, &["--files", "--name", "--new", "gm"]);
    assert_eq!(p.stdout, h.stdout);
    for args in [
        &["nosuch"][..],
        &["--restart-policy", "bogus", "gw"][..],
        &["--template", "gp"][..],
    ] {
        let (p, h) = same_units(&env, args);
        assert_eq!(
            p.stderr_lines("Error:"),
            h.stderr_lines("Error:"),
            "{args:?}\npodman's run:\n{p}\nhutch's run:\n{h}"
        );
    }
    let _ = podman(&env, &["pod", "rm", "-f", "gp"]);
    let _ = env.hutch(&["pod", "rm", "-f", "gp"]);
}
