//! Issue #13: the cgroup flags of Podman's `run`, `create`, `update` and
//! `container clone` (`--blkio-weight-device`, `--cgroup-conf`,
//! `--cpu-rt-period`, `--cpu-rt-runtime`, `--device-cgroup-rule`,
//! `--memory-swappiness`), the global `--cgroup-manager`, `stats --all`
//! and `system df --verbose`, on this hybrid host: parsing, checking,
//! recording and refusing. That the values land in cgroup v2 files is
//! checked in the guest tier (tests/vm/guest-cgroups.sh).

use super::common::image;
use super::{setup, Cleanup};

/// A block device node of this host (for `--blkio-weight-device`).
fn block_device() -> String {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .expect("reading /sys/block")
        .filter_map(|e| e.ok())
        .map(|e| format!("/dev/{}", e.file_name().to_string_lossy()))
        .collect();
    names.sort();
    use std::os::unix::fs::FileTypeExt;
    names
        .into_iter()
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.file_type().is_block_device()))
        .expect("this test needs a block device node under /dev (none of /sys/block has one)")
}

/// `run`, `create`, `container run` and `container create` with `flags`.
fn creating(flags: &[&str], img: &str) -> Vec<Vec<String>> {
    [
        &["run", "--rm"][..],
        &["create"],
        &["container", "run", "--rm"],
        &["container", "create"],
    ]
    .iter()
    .map(|cmd| {
        let mut args: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
        args.extend(flags.iter().map(|s| s.to_string()));
        args.extend([img.to_string(), "true".to_string()]);
        args
    })
    .collect()
}

#[test]
fn issue13_cg_limit_flags_are_checked_then_need_cgroup_v2() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let dev = block_device();
    let bad = [
        ("--blkio-weight-device", "bad", "DEVICE:WEIGHT"),
        ("--blkio-weight-device", "sda:100", "under /dev"),
        ("--blkio-weight-device", &format!("{dev}:5"), "10 to 1000"),
        (
            "--blkio-weight-device",
            "/dev/null:100",
            "not a block device",
        ),
        ("--cgroup-conf", "bad", "KEY=VALUE"),
        ("--cgroup-conf", "../memory.max=1", "interface file"),
        ("--cgroup-conf", "memory.max/x=1", "interface file"),
        ("--cgroup-conf", "cgroup.procs=1", "interface file"),
        ("--cgroup-conf", "bogus.max=1", "interface file"),
        ("--device-cgroup-rule", "bad", "TYPE MAJOR:MINOR ACCESS"),
        ("--device-cgroup-rule", "x 1:3 rwm", "type"),
        ("--device-cgroup-rule", "c a:3 rwm", "numbers"),
        ("--device-cgroup-rule", "c 1:3 rwx", "access"),
    ];
    for (flag, value, why) in bad {
        for args in creating(&[flag, value], &img) {
            env.hutch(&args).tool_error(&[flag, value, why]);
        }
    }
    // Valid ones are limits: this host (cgroup v1 or hybrid) cannot apply
    // them, as with every limit flag.
    let weight = format!("{dev}:300");
    for flags in [
        &["--blkio-weight-device", weight.as_str()][..],
        &["--cgroup-conf", "memory.high=1073741824"],
    ] {
        for args in creating(flags, &img) {
            env.hutch(&args)
                .tool_error(&["resource limits need cgroup v2"]);
        }
    }
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
}

#[test]
fn issue13_cg_realtime_flags_and_device_rules_are_accepted_without_effect() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let r = env
        .hutch(&[
            "create",
            "--name",
            "rt",
            "--cpu-rt-period",
            "1000000",
            "--cpu-rt-runtime",
            "950000",
            "--device-cgroup-rule",
            "c 1:3 rwm",
            "--device-cgroup-rule",
            "a *:* m",
            &img,
            "true",
        ])
        .success();
    for want in [
        "Warning: --cpu-rt-period has no effect",
        "Warning: --cpu-rt-runtime has no effect",
        "Warning: --device-cgroup-rule has no effect",
    ] {
        if !r.stderr.lines().any(|l| l.starts_with(want)) {
            r.fail(&format!("expected a line starting {want:?}"));
        }
    }
    env.hutch(&[
        "inspect",
        "--format",
        "{{.HostConfig.CpuRealtimePeriod}} {{.HostConfig.CpuRealtimeRuntime}}",
        "rt",
    ])
    .success()
    .stdout_is("0 0");
    // -1 (and 0) ask for nothing, as in Podman: no warning.
    for args in creating(&["--cpu-rt-runtime", "-1", "--cpu-rt-period", "0"], &img) {
        let r = env.hutch(&args).success();
        if r.stderr_lines("Warning:")
            .iter()
            .any(|l| l.contains("cpu-rt"))
        {
            r.fail("expected no realtime warning for -1 and 0");
        }
    }
    for args in creating(&["--cpu-rt-period", "1000"], &img) {
        env.hutch(&args)
            .success()
            .stderr_has("--cpu-rt-period has no effect");
    }
}

#[test]
fn issue13_cg_update_and_clone_take_the_new_flags() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    let dev = block_device();
    let id = env
        .hutch(&["create", "--name", "up", &img, "true"])
        .success()
        .stdout
        .trim()
        .to_string();
    for cmd in [&["update"][..], &["container", "update"]] {
        let run = |flags: &[&str]| {
            let mut args: Vec<&str> = cmd.to_vec();
            args.extend_from_slice(flags);
            args.push("up");
            env.hutch(&args)
        };
        run(&["--memory-swappiness", "50"])
            .success()
            .stdout_is(&id)
            .stderr_has("--memory-swappiness has no effect");
        run(&["--memory-swappiness", "101"]).tool_error(&["swappiness", "0-100"]);
        run(&["--memory-swappiness", "-1"]).success().stderr_empty();
        run(&["--cpu-rt-period", "1000"])
            .success()
            .stdout_is(&id)
            .stderr_has("--cpu-rt-period has no effect");
        run(&["--cpu-rt-runtime", "900"])
            .success()
            .stderr_has("--cpu-rt-runtime has no effect");
        run(&["--blkio-weight-device", "bad"]).tool_error(&["--blkio-weight-device"]);
    }
    // A stopped container's update is recorded for its next start.
    let weight = format!("{dev}:300");
    env.hutch(&["update", "--blkio-weight-device", &weight, "up"])
        .success();
    env.hutch(&[
        "inspect",
        "--format",
        "{{json .HostConfig.BlkioWeightDevice}}",
        "up",
    ])
    .success()
    .stdout_is(&format!("[{{\"Path\":\"{dev}\",\"Weight\":300}}]"));
    env.hutch(&[
        "container",
        "clone",
        "--memory-swappiness",
        "20",
        "--cpu-rt-period",
        "1000",
        "--cpu-rt-runtime",
        "500",
        "up",
        "up2",
    ])
    .success()
    .stderr_has("--memory-swappiness has no effect")
    .stderr_has("--cpu-rt-period has no effect")
    .stderr_has("--cpu-rt-runtime has no effect");
    env.hutch(&[
        "inspect",
        "--format",
        "{{json .HostConfig.BlkioWeightDevice}}",
        "up2",
    ])
    .success()
    .stdout_is(&format!("[{{\"Path\":\"{dev}\",\"Weight\":300}}]"));
    env.hutch(&[
        "container",
        "clone",
        "--memory-swappiness",
        "200",
        "up",
        "up3",
    ])
    .tool_error(&["swappiness"]);
    env.hutch(&[
        "container",
        "clone",
        "--blkio-weight-device",
        "x",
        "up",
        "up3",
    ])
    .tool_error(&["--blkio-weight-device"]);
    env.hutch(&["container", "exists", "up3"]).code(1);
}

#[test]
fn issue13_cg_cgroup_manager_is_a_global_flag() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    for args in [
        &["--cgroup-manager", "bogus", "ps"][..],
        &["ps", "--cgroup-manager=bogus"],
        &["--cgroup-manager", "bogus", "info"],
    ] {
        env.hutch(args)
            .tool_error(&["--cgroup-manager", "bogus", "systemd or cgroupfs"]);
    }
    env.hutch(&[
        "--cgroup-manager",
        "cgroupfs",
        "create",
        "--name",
        "m1",
        &img,
        "true",
    ])
    .success();
    env.hutch(&[
        "create",
        "--cgroup-manager=systemd",
        "--name",
        "m2",
        &img,
        "true",
    ])
    .success();
    env.hutch(&["create", "--name", "m3", &img, "true"])
        .success();
    env.hutch(&[
        "inspect",
        "--format",
        "{{.Name}}={{.HostConfig.CgroupManager}}",
        "m1",
        "m2",
        "m3",
    ])
    .success()
    .stdout_is("m1=cgroupfs\nm2=systemd\nm3=");
    env.hutch(&["--cgroup-manager", "cgroupfs", "info"])
        .success();
}

#[test]
fn issue13_cg_stats_all_lists_containers_not_running() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["create", "--name", "st", &img, "true"])
        .success();
    let format =
        "{{.Name}} {{.CPUPerc}} {{.MemUsage}} {{.MemPerc}} {{.NetIO}} {{.BlockIO}} {{.PIDs}}";
    for cmd in [&["stats"][..], &["container", "stats"]] {
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend_from_slice(&["--no-stream", "--interval", "1", "--format", format]);
        // Without --all only running containers, and none runs.
        env.hutch(&args).success().stdout_is("");
        for all in ["--all", "-a"] {
            let mut with_all = args.clone();
            with_all.push(all);
            env.hutch(&with_all)
                .success()
                .stdout_is("st 0.00% 0B / 0B 0.00% 0B / 0B 0B / 0B 0");
        }
        let mut named = cmd.to_vec();
        named.extend_from_slice(&["--all", "--no-stream", "st"]);
        env.hutch(&named)
            .tool_error(&["--all, --latest and containers cannot be used together"]);
        let mut latest = cmd.to_vec();
        latest.extend_from_slice(&["--all", "--latest", "--no-stream"]);
        env.hutch(&latest).tool_error(&["cannot be used together"]);
    }
}

#[test]
fn issue13_cg_system_df_verbose_lists_each_object() {
    let env = setup();
    let _cleanup = Cleanup(&env);
    let img = image("busybox");
    env.hutch(&["volume", "create", "vv"]).success();
    env.hutch(&[
        "create", "--name", "d1", "-v", "vv:/data", &img, "sh", "-c", "echo hi",
    ])
    .success();
    env.hutch(&["run", "--name", "d2", &img, "sh", "-c", "echo 123456 > /f"])
        .success();
    let image_id = env
        .hutch(&["images", "--format", "{{.ID}}", &img])
        .success()
        .stdout
        .trim()
        .to_string();
    // The fixture's name, stored with its tag (`latest` when it has none).
    let slash = img.rfind('/').map_or(0, |i| i + 1);
    let (repo, tag) = match img[slash..].rfind(':') {
        Some(i) => (&img[..slash + i], &img[slash + i + 1..]),
        None => (img.as_str(), "latest"),
    };
    for args in [
        &["system", "df", "--verbose"][..],
        &["system", "df", "-v"],
        // --format changes nothing with --verbose, as in Podman.
        &["system", "df", "-v", "--format", "json"],
    ] {
        let r = env.hutch(args).success();
        let lines: Vec<&str> = r.stdout.lines().collect();
        let cells = |l: &str| -> Vec<String> {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(String::from)
                .collect()
        };
        let section = |title: &str| -> usize {
            lines
                .iter()
                .position(|l| *l == title)
                .unwrap_or_else(|| r.fail(&format!("no line {title:?}")))
        };
        let images = section("Images space usage:");
        let containers = section("Containers space usage:");
        let volumes = section("Local Volumes space usage:");
        if images != 0 || lines.get(1) != Some(&"") {
            r.fail("expected the images title, then an empty line, first");
        }
        let want_header = |at: usize, want: &[&str]| {
            if cells(lines[at]) != want {
                r.fail(&format!("line {at} is not the header {want:?}"));
            }
        };
        want_header(
            2,
            &[
                "REPOSITORY",
                "TAG",
                "IMAGE ID",
                "CREATED",
                "SIZE",
                "SHARED SIZE",
                "UNIQUE SIZE",
                "CONTAINERS",
            ],
        );
        let image_row = cells(lines[3]);
        if image_row[..3] != [repo, tag, image_id.as_str()]
            || image_row[5] != "0B"
            || image_row[4] != image_row[6]
            || image_row[7] != "2"
        {
            r.fail("the image row is not the fixture's, unshared, used by two containers");
        }
        if !lines[containers - 1].is_empty() || !lines[containers + 1].is_empty() {
            r.fail("expected empty lines around the containers title");
        }
        want_header(
            containers + 2,
            &[
                "CONTAINER ID",
                "IMAGE",
                "COMMAND",
                "LOCAL VOLUMES",
                "SIZE",
                "CREATED",
                "STATUS",
                "NAMES",
            ],
        );
        let rows: Vec<Vec<String>> = lines[containers + 3..volumes - 1]
            .iter()
            .map(|l| cells(l))
            .collect();
        let row = |name: &str| {
            rows.iter()
                .find(|c| c.last().map(String::as_str) == Some(name))
                .unwrap_or_else(|| r.fail(&format!("no container row for {name}")))
        };
        let (d1, d2) = (row("d1"), row("d2"));
        if d1[1] != image_id || d1[2] != "sh -c echo hi" || d1[3] != "1" || d1[6] != "created" {
            r.fail("the row of d1 is wrong");
        }
        if d2[2] != "sh -c echo 123456 > /f" || d2[3] != "0" || d2[4] != "7B" || d2[6] != "exited" {
            r.fail("the row of d2 is wrong");
        }
        want_header(volumes + 2, &["VOLUME NAME", "LINKS", "SIZE"]);
        if cells(lines[volumes + 3]) != ["vv", "1", "0B"] || lines.len() != volumes + 4 {
            r.fail("expected one volume row: vv 1 0B");
        }
    }
    let summary = env.hutch(&["system", "df"]).success();
    let volumes = summary
        .stdout
        .lines()
        .find(|l| l.starts_with("Local Volumes"))
        .unwrap_or_else(|| summary.fail("no Local Volumes row"));
    if volumes.split_whitespace().collect::<Vec<_>>()
        != ["Local", "Volumes", "1", "1", "0B", "0B", "(0%)"]
    {
        summary.fail("the Local Volumes row does not count vv");
    }
}
