//! Issue #18: hutch under Slurm and MPI, as the unprivileged test user, on
//! the single-node cluster tests/run.sh starts (tests/lib/env.sh
//! `ensure_slurm`) and with the host's Open MPI: `srun -n 4`, an 8-task
//! `sbatch --array` sharing one store, `scancel` of a running step, and
//! `mpirun -np 4 hutch run --hpc` with an allreduce.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::common::{
    hutch_bin, image, require_tool, require_vars, run_command, wait_for, Env, Run,
};

/// How long a Slurm or MPI command may take.
const LONG: Duration = Duration::from_secs(300);

/// Runs `tool args` (a Slurm or MPI command, found on PATH) with the
/// test's environment, in its home directory.
fn tool(env: &Env, tool: &str, args: &[&str]) -> Run {
    run_command(tool_command(env, tool, args), describe(tool, args), LONG)
}

fn tool_command(env: &Env, tool: &str, args: &[&str]) -> Command {
    let mut c = Command::new(require_tool(tool));
    c.args(args)
        .env_clear()
        .envs(env.vars())
        .current_dir(&env.home);
    c
}

fn describe(tool: &str, args: &[&str]) -> String {
    format!("{tool} {}", args.join(" "))
}

/// The hutch binary as a string, for command lines.
fn hutch() -> String {
    hutch_bin().display().to_string()
}

/// Pids of the processes whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(marker) {
                found.push(format!(
                    "{name}: {}",
                    String::from_utf8_lossy(&cmd).replace('\0', " ")
                ));
            }
        }
    }
    found
}

#[test]
fn issue18_hpc_srun_four_tasks_each_run_a_container_with_a_job_run_directory() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img).success();
    let h = hutch();
    let out = tool(
        &env,
        "srun",
        &[
            "--overcommit",
            "-n",
            "4",
            &h,
            "run",
            "--rm",
            &img,
            "hostname",
        ],
    )
    .success();
    let names: Vec<&str> = out.stdout.lines().collect();
    if names.len() != 4 || names.iter().any(|n| n.len() != 12) {
        out.fail("expected 4 lines, each a container's host name (its short id)");
    }
    // Inside a job the run directory is the job's own, private one, and
    // that of an ended job (no process holds it) goes.
    let ended = Path::new("/tmp")
        .join(format!("hutch-{}", nix_uid()))
        .join("slurm-999999999");
    std::fs::create_dir_all(ended.join("exits")).unwrap();
    let info = tool(&env, "srun", &["-n", "1", &h, "info", "--format", "json"]).success();
    assert!(
        !ended.exists(),
        "the run directory of an ended job, {}, is left",
        ended.display()
    );
    let json = info.json();
    let store = &json["store"];
    let uid = nix_uid();
    let runroot = store["runRoot"].as_str().unwrap_or_default();
    if store["runRootSource"] != "slurm"
        || !runroot.starts_with(&format!("/tmp/hutch-{uid}/slurm-"))
    {
        info.fail("expected the run directory /tmp/hutch-UID/slurm-JOBID (source slurm)");
    }
}

/// The test user's uid, from /proc.
fn nix_uid() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|u| u.parse().ok())
        .unwrap()
}

#[test]
fn issue18_hpc_sbatch_array_of_eight_containers_share_the_store() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img).success();
    let out = env.dir.join("results");
    std::fs::create_dir(&out).unwrap();
    let script = env.dir.join("job.sh");
    // Each task runs its own container, which writes its result into the
    // bound directory; SLURM_ARRAY_TASK_ID comes in through --hpc.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexec {} run --rm --hpc -v {}:/out {img} sh -c 'echo $((SLURM_ARRAY_TASK_ID * 7)) > /out/r-$SLURM_ARRAY_TASK_ID'\n",
            hutch(),
            out.display()
        ),
    )
    .unwrap();
    let log = env.dir.join("slurm-%a.log");
    let run = tool(
        &env,
        "sbatch",
        &[
            "--wait",
            "--array=0-7",
            "-o",
            log.to_str().unwrap(),
            script.to_str().unwrap(),
        ],
    );
    let logs: String = (0..8)
        .map(|i| {
            let p = env.dir.join(format!("slurm-{i}.log"));
            format!(
                "--- task {i} ---\n{}",
                std::fs::read_to_string(p).unwrap_or_default()
            )
        })
        .collect();
    if run.code != Some(0) {
        run.fail(&format!("the array job failed\n{logs}"));
    }
    for i in 0..8u32 {
        let got = std::fs::read_to_string(out.join(format!("r-{i}"))).unwrap_or_default();
        assert_eq!(got.trim(), (i * 7).to_string(), "task {i}'s result\n{logs}");
    }
    // Nothing is left in the store: every --rm container was removed.
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
}

#[test]
fn issue18_hpc_scancel_of_a_running_step_leaves_nothing_behind() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img).success();
    // A number no other process has in its command line.
    let marker = (7_000_000 + std::process::id()).to_string();
    let name = format!("scancel-{marker}");
    let job = format!("hutch-{name}");
    let h = hutch();
    let mut step = tool_command(
        &env,
        "srun",
        &[
            "-J", &job, "-n", "1", &h, "run", "--rm", "--name", &name, &img, "sleep", &marker,
        ],
    );
    step.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = step.spawn().expect("starting srun");
    let started = std::time::Instant::now();
    loop {
        let ps = env.hutch(&["ps", "--format", "{{.Names}} {{.Status}}"]);
        if ps
            .stdout
            .lines()
            .any(|l| l.starts_with(&name) && l.contains("Up"))
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) || child.try_wait().ok().flatten().is_some()
        {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collecting srun's output");
            panic!(
                "the container {name} did not start under srun\n{ps}\n--- srun stderr ---\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let id = tool(&env, "squeue", &["-h", "-n", &job, "-o", "%i"]).success();
    let id = id.stdout.trim().to_string();
    assert!(!id.is_empty(), "squeue shows no job {job}");
    tool(&env, "scancel", &[&id]).success();
    // srun ends once the step's processes are gone (SIGTERM, then SIGKILL
    // after KillWait).
    wait_for(
        "srun to end after scancel",
        Duration::from_secs(60),
        || match child.try_wait() {
            Ok(Some(_)) => Ok(()),
            other => Err(format!("{other:?}")),
        },
    );
    wait_for(
        "the cancelled step's processes to be gone",
        Duration::from_secs(20),
        || {
            let p = processes_with(&marker);
            if p.is_empty() {
                Ok(())
            } else {
                Err(p.join("\n"))
            }
        },
    );
    // No mount of the container is left in the host's namespace.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let store = env.store().display().to_string();
    assert!(
        !mounts.contains(&store),
        "mounts of the store are left:\n{mounts}"
    );
    // The --rm container is gone (or shown as exited) and the next run works.
    let ps = env
        .hutch(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .success();
    if ps
        .stdout
        .lines()
        .any(|l| l.starts_with(&name) && l.contains("Up"))
    {
        ps.fail("the cancelled container still shows as running");
    }
    tool(
        &env,
        "srun",
        &["-n", "1", &h, "run", "--rm", "--name", &name, &img, "true"],
    )
    .success();
}

#[test]
fn issue18_hpc_mpirun_four_ranks_in_containers_allreduce() {
    require_vars(&["HUTCH_TEST_MPI_CONTEXT"]);
    let context = std::env::var("HUTCH_TEST_MPI_CONTEXT").unwrap();
    let env = Env::new();
    // The program and the host's MPI libraries on the busybox fixture.
    let file = env.dir.join("Containerfile");
    std::fs::write(&file, format!("FROM {}\nCOPY root/ /\n", image("busybox"))).unwrap();
    env.hutch_timeout(
        &[
            "build",
            "-q",
            "-t",
            "localhost/mpi",
            "-f",
            file.to_str().unwrap(),
            &context,
        ],
        LONG,
    )
    .success();
    assert!(Path::new(&context).join("root/allreduce").is_file());
    let h = hutch();
    let run = tool(
        &env,
        "mpirun",
        &[
            "-np",
            "4",
            "--oversubscribe",
            &h,
            "run",
            "--rm",
            "--hpc",
            "localhost/mpi",
            "/allreduce",
        ],
    )
    .success();
    let mut ranks: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("rank "))
        .collect();
    ranks.sort_unstable();
    if ranks != ["rank 0 of 4", "rank 1 of 4", "rank 2 of 4", "rank 3 of 4"] {
        run.fail("expected four ranks of 4 to report");
    }
    if !run.stdout.lines().any(|l| l == "sum 6") {
        run.fail("expected the allreduce of the ranks 0+1+2+3 to be 6");
    }
}

#[test]
fn issue18_hpc_a_killed_foreground_run_takes_its_container_with_it() {
    // What Slurm's process-group tracking does to a step: SIGKILL to hutch
    // alone. The container dies with it (its init has hutch as parent
    // death signal source, and its mounts live in its own namespace), and
    // the next command clears the --rm container's record.
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img).success();
    let marker = (8_000_000 + std::process::id()).to_string();
    let name = format!("killed-{marker}");
    let pending = env.spawn(&[
        "run", "--rm", "--hpc", "--name", &name, &img, "sleep", &marker,
    ]);
    wait_for("the container to run", Duration::from_secs(60), || {
        let ps = env.hutch(&["ps", "--format", "{{.Names}} {{.Status}}"]);
        if ps
            .stdout
            .lines()
            .any(|l| l.starts_with(&name) && l.contains("Up"))
        {
            Ok(())
        } else {
            Err(ps.to_string())
        }
    });
    let pid = i32::try_from(pending.id()).unwrap();
    // As slurmstepd kills a step tracked by its process group.
    Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("running kill");
    let run = pending.wait();
    assert_eq!(run.signal, Some(9), "hutch was not killed\n{run}");
    wait_for(
        "the killed run's container to be gone",
        Duration::from_secs(20),
        || {
            let p = processes_with(&marker);
            if p.is_empty() {
                Ok(())
            } else {
                Err(p.join("\n"))
            }
        },
    );
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let store = env.store().display().to_string();
    assert!(
        !mounts.contains(&store),
        "mounts of the store are left:\n{mounts}"
    );
    // The sleep's command line goes first; its exit (the namespaces'
    // teardown) ends a moment later, and the first `ps` after that
    // removes the record.
    wait_for(
        "ps -a to clear the killed --rm container",
        Duration::from_secs(10),
        || {
            let ps = env.hutch(&["ps", "-a", "-q"]).success();
            if ps.stdout.is_empty() {
                Ok(())
            } else {
                Err(ps.to_string())
            }
        },
    );
    env.hutch(&["run", "--rm", "--hpc", "--name", &name, &img, "true"])
        .success();
}

#[test]
fn issue18_hpc_gives_the_host_parts_and_explicit_flags_override_them() {
    let mut env = Env::new();
    env.set_env("OMPI_MCA_hutch_test", "passed");
    env.set_env("HUTCH_NOT_PASSED", "leaked");
    let img = image("busybox");
    env.pull(&img).success();
    let uid = nix_uid();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    // A file in the host's /tmp (TMPDIR lies below it here) is seen inside.
    let probe = env.dir.join("probe");
    std::fs::write(&probe, "from the host\n").unwrap();
    let script = format!(
        "id -u; hostname; echo ${{OMPI_MCA_hutch_test:-none}} ${{HUTCH_NOT_PASSED:-none}}; cat {}; \
         readlink /proc/self/ns/pid; cat /proc/self/cgroup | head -n 1",
        probe.display()
    );
    let run = env
        .hutch(&["run", "--rm", "--hpc", &img, "sh", "-c", &script])
        .success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let host_pidns = std::fs::read_link("/proc/self/ns/pid")
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let own_cgroup = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    if lines.len() < 6
        || lines[0] != uid.to_string()
        || lines[1] != host.trim()
        || lines[2] != "passed none"
        || lines[3] != "from the host"
        || lines[4] != host_pidns
        || own_cgroup.lines().next() != Some(lines[5])
    {
        run.fail(&format!(
            "expected uid {uid}, the host name {}, OMPI_* alone passed, the host's /tmp, the host's pid namespace {host_pidns} and the caller's cgroup",
            host.trim()
        ));
    }
    // Explicit flags win over their part of --hpc, before or after it.
    let run = env
        .hutch(&[
            "run",
            "--rm",
            "--uts",
            "private",
            "--hpc",
            "--userns",
            "host",
            "-e",
            "OMPI_MCA_hutch_test=flag",
            &img,
            "sh",
            "-c",
            "hostname; id -u; echo $OMPI_MCA_hutch_test",
        ])
        .success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    if lines.len() != 3 || lines[0] == host.trim() || lines[1] != "0" || lines[2] != "flag" {
        run.fail("expected a private host name, uid 0 and -e's value");
    }
}
