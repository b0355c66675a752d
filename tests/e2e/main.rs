//! End-to-end tests: the real hutch binary, run as an unprivileged user with
//! an /etc/subuid range, against the local registry holding the fixture
//! images of tests/fixtures/build.py.

#[path = "../common/mod.rs"]
mod common;
mod issue13_img;
mod issue13_misc;
mod issue13_netflags;
mod issue13_refusals;
mod issue13_refusals_build;
mod issue13_run;
mod issue13_runlabel;
mod issue13_spec;
mod issue13_tmpl;
mod issue13_trust;
mod issue14_events;
mod issue14_health;
mod issue14_secrets;
mod issue15_build;
mod issue15_copy;
mod issue15_remote;
mod issue16_autoupdate;
mod issue16_gensys;
mod issue16_quadlet;
mod issue17_api;
mod issue17_api2;
mod issue17_api3;
mod issue17_api4;
mod issue17_compose;
mod issue17_docker_py;
mod issue17_podman_remote;
mod issue18_cdi;
mod issue18_doctor;
mod issue18_hpc;
mod issue18_sqfs;
mod issue18_storageconf;
mod issue20;
mod push;

use std::collections::BTreeSet;

use common::{
    check_table, current_user, image, registry, require_tool, subid_range, termios_key, Case, Env,
    Out, Pty,
};

/// The host architecture as OCI names it.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

#[test]
fn run_exit_codes_follow_the_command() {
    let env = Env::new();
    check_table(
        &env,
        &[
            Case {
                args: &["run", "--rm", "{REG}/busybox", "echo", "hello"],
                code: 0,
                out: Out::Is("hello"),
            },
            Case {
                args: &["run", "--rm", "{REG}/busybox", "true"],
                code: 0,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--rm", "{REG}/busybox", "false"],
                code: 1,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--rm", "{REG}/busybox", "sh", "-c", "exit 7"],
                code: 7,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--rm", "{REG}/busybox", "no-such-command"],
                code: 127,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--rm", "{REG}/busybox", "/bin/no-such-file"],
                code: 127,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--rm", "{REG}/busybox", "/bin/notexec"],
                code: 126,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--rm", "{REG}/busybox", "echo", "-la", "--rm"],
                code: 0,
                out: Out::Is("-la --rm"),
            },
        ],
    );
}

#[test]
fn run_echo_hello_prints_only_hello() {
    let env = Env::new();
    env.pull(&image("busybox"));
    env.hutch(&["run", "--rm", &image("busybox"), "echo", "hello"])
        .success()
        .stdout_is("hello")
        .stderr_empty();
}

#[test]
fn run_exits_125_naming_image_and_registry_for_unknown_image() {
    let env = Env::new();
    let r = env.hutch(&["run", "--rm", &image("nope"), "true"]);
    r.tool_error(&["nope", &registry()]);
}

#[test]
fn run_with_pull_never_exits_125_for_missing_image() {
    let env = Env::new();
    env.hutch(&["run", "--rm", "--pull=never", &image("busybox"), "true"])
        .tool_error(&["busybox"]);
    env.pull(&image("busybox"));
    env.hutch(&[
        "run",
        "--rm",
        "--pull=never",
        &image("busybox"),
        "echo",
        "local",
    ])
    .success()
    .stdout_is("local");
}

#[test]
fn run_resolves_short_names_through_search_registries() {
    let env = Env::new();
    env.hutch(&["run", "--rm", "busybox", "echo", "short"])
        .success()
        .stdout_is("short");
    env.hutch(&["images"])
        .success()
        .stdout_has(&format!("{}/busybox", registry()));
}

fn parse_map(text: &str) -> Vec<Vec<u64>> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .collect()
}

#[test]
fn run_maps_root_to_user_and_the_subordinate_range() {
    let (name, uid, gid) = current_user();
    let (ustart, ucount) = subid_range("/etc/subuid")
        .unwrap_or_else(|| panic!("user {name} has no range in /etc/subuid: tests/e2e must run as a user with one (sudo tests/run.sh uses hutch-test)"));
    let (gstart, gcount) = subid_range("/etc/subgid").unwrap_or_else(|| {
        panic!("user {name} has no range in /etc/subgid: tests/e2e must run as a user with one")
    });
    let env = Env::new();
    let r = env
        .hutch(&[
            "run",
            "--rm",
            &image("busybox"),
            "cat",
            "/proc/self/uid_map",
        ])
        .success();
    let want = vec![vec![0, u64::from(uid), 1], vec![1, ustart, ucount]];
    if parse_map(&r.stdout) != want {
        r.fail(&format!("expected uid_map {want:?}"));
    }
    if !r.stderr_lines("Warning:").is_empty() {
        r.fail("a user with a range must not get a Warning: line");
    }
    let r = env
        .hutch(&[
            "run",
            "--rm",
            &image("busybox"),
            "cat",
            "/proc/self/gid_map",
        ])
        .success();
    let want = vec![vec![0, u64::from(gid), 1], vec![1, gstart, gcount]];
    if parse_map(&r.stdout) != want {
        r.fail(&format!("expected gid_map {want:?}"));
    }
}

/// The merged /data tree of the `layers` fixture, checked against Podman.
const LAYERS_TREE: &str = "\
.|directory|755|0:0
./fifo|fifo|644|0:0
./hard|regular file|644|0:0
./keep|regular file|644|0:0
./layer3|regular file|644|0:0
./link|symbolic link|777|0:0
./modify|regular file|644|0:0
./opq|directory|755|0:0
./opq/new|regular file|644|0:0
./orig|regular file|644|0:0
./owned|regular file|640|1234:5678
./suid|regular file|4755|0:0
--
keep
v2
new
three
keep
orig
keep";

#[test]
fn layers_merge_with_whiteouts_opaque_dirs_links_and_ownership() {
    let env = Env::new();
    let script = r#"cd /data && find . | sort | while read f; do stat -c '%n|%F|%a|%u:%g' "$f"; done
echo --; cat keep modify opq/new layer3 link orig; readlink link
[ "$(stat -c %i hard)" = "$(stat -c %i orig)" ] || echo "hard and orig are different inodes"
[ "$(stat -c %h orig)" = 2 ] || echo "orig does not have 2 links""#;
    env.hutch(&["run", "--rm", &image("layers"), "sh", "-c", script])
        .success()
        .stdout_is(LAYERS_TREE);
}

#[test]
fn layers_in_the_store_are_owned_by_mapped_ids() {
    let env = Env::new();
    let (ustart, _) =
        subid_range("/etc/subuid").expect("tests/e2e needs a user with an /etc/subuid range");
    let (gstart, _) =
        subid_range("/etc/subgid").expect("tests/e2e needs a user with an /etc/subgid range");
    env.pull(&image("layers"));
    use std::os::unix::fs::MetadataExt;
    let mut found = Vec::new();
    for l in env.store_entries("layers") {
        let p = env.store().join("layers").join(&l).join("data/owned");
        if let Ok(m) = std::fs::symlink_metadata(&p) {
            found.push((m.uid(), m.gid()));
        }
    }
    // Container id N > 0 is host id start + N - 1.
    let want = (ustart as u32 + 1233, gstart as u32 + 5677);
    assert_eq!(found, vec![want], "data/owned (1234:5678 in the image) in $XDG_DATA_HOME/hutch/layers/*/ should be owned by the mapped host ids");
}

#[test]
fn rm_container_leaves_nothing_for_the_next_run() {
    let env = Env::new();
    let img = image("busybox");
    env.hutch(&[
        "run",
        "--rm",
        &img,
        "sh",
        "-c",
        "echo x > /tmp/marker && echo y > /root/marker && cat /tmp/marker",
    ])
    .success()
    .stdout_is("x");
    env.hutch(&["run", "--rm", &img, "sh", "-c", "ls -A /tmp /root"])
        .success()
        .stdout_is("/root:\n\n/tmp:");
    let left = env.store_entries("containers");
    assert!(
        left.is_empty(),
        "--rm left containers in the store: {left:?}"
    );
}

#[test]
fn run_command_is_pid_1_with_its_own_hostname() {
    let env = Env::new();
    let img = image("busybox");
    let r = env
        .hutch(&["run", "--rm", &img, "ps", "-o", "pid,args"])
        .success();
    let pids: Vec<&str> = r
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    if !r.stdout.lines().any(|l| l.trim_start().starts_with("1 ps")) || pids.len() != 1 {
        r.fail("expected ps to see exactly one process, itself as pid 1");
    }
    let host = nix::unistd::gethostname()
        .expect("gethostname")
        .to_string_lossy()
        .into_owned();
    let r = env.hutch(&["run", "--rm", &img, "hostname"]).success();
    if r.stdout.trim().is_empty() || r.stdout.trim() == host {
        r.fail(&format!(
            "expected a hostname different from the host's {host:?}"
        ));
    }
    env.hutch(&["run", "--rm", "--hostname", "box", &img, "hostname"])
        .success()
        .stdout_is("box");
    env.hutch(&["run", "--rm", "-h", "box2", &img, "hostname"])
        .success()
        .stdout_is("box2");
}

#[test]
fn run_with_name_can_reuse_the_name_after_rm() {
    let env = Env::new();
    let img = image("busybox");
    for _ in 0..2 {
        env.hutch(&["run", "--rm", "--name", "named", &img, "echo", "ok"])
            .success()
            .stdout_is("ok");
    }
}

#[test]
fn run_applies_image_config_and_overrides() {
    let mut env = Env::new();
    env.set_env("FROMHOST", "host value");
    check_table(
        &env,
        &[
            Case {
                args: &["run", "--rm", "{REG}/config"],
                code: 0,
                out: Out::Is("hello from config 1000:1000 /work"),
            },
            Case {
                args: &["run", "--rm", "-e", "GREETING=override", "{REG}/config"],
                code: 0,
                out: Out::Is("override 1000:1000 /work"),
            },
            Case {
                args: &["run", "--rm", "--env", "GREETING=long", "{REG}/config"],
                code: 0,
                out: Out::Is("long 1000:1000 /work"),
            },
            Case {
                args: &[
                    "run",
                    "--rm",
                    "-e",
                    "FROMHOST",
                    "{REG}/config",
                    "echo $FROMHOST",
                ],
                code: 0,
                out: Out::Is("host value"),
            },
            Case {
                args: &["run", "--rm", "-w", "/tmp", "{REG}/config"],
                code: 0,
                out: Out::Is("hello from config 1000:1000 /tmp"),
            },
            // A -w directory must exist, as in Podman (issue #13 item 4).
            Case {
                args: &["run", "--rm", "--workdir", "/new/dir", "{REG}/config"],
                code: 126,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--rm", "-u", "0:0", "{REG}/config"],
                code: 0,
                out: Out::Is("hello from config 0:0 /work"),
            },
            Case {
                args: &["run", "--rm", "--user", "root", "{REG}/config"],
                code: 0,
                out: Out::Is("hello from config 0:0 /work"),
            },
            Case {
                args: &["run", "--rm", "-u", "1234:5678", "{REG}/config"],
                code: 0,
                out: Out::Is("hello from config 1234:5678 /work"),
            },
            Case {
                args: &["run", "--rm", "{REG}/config", "echo $SECOND"],
                code: 0,
                out: Out::Is("two"),
            },
            Case {
                args: &["run", "--rm", "{REG}/config", "echo $PATH"],
                code: 0,
                out: Out::Is("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
            },
            Case {
                args: &["run", "--rm", "{REG}/config", "echo \"[$EMPTY]\""],
                code: 0,
                out: Out::Is("[]"),
            },
            Case {
                args: &[
                    "run",
                    "--rm",
                    "--entrypoint",
                    "/bin/echo",
                    "{REG}/config",
                    "hi",
                ],
                code: 0,
                out: Out::Is("hi"),
            },
            Case {
                args: &["run", "--rm", "--entrypoint", "/bin/pwd", "{REG}/config"],
                code: 0,
                out: Out::Is("/work"),
            },
        ],
    );
}

#[test]
fn run_reads_env_files() {
    let env = Env::new();
    let file = env.dir.join("vars.env");
    std::fs::write(&file, "# a comment\n\nGREETING=from file\nOTHER=x y\n")
        .expect("writing env file");
    let file = file.to_string_lossy().into_owned();
    env.hutch(&[
        "run",
        "--rm",
        "--env-file",
        &file,
        &image("config"),
        "echo $GREETING/$OTHER",
    ])
    .success()
    .stdout_is("from file/x y");
    env.hutch(&[
        "run",
        "--rm",
        "--env-file",
        &file,
        "-e",
        "GREETING=flag",
        &image("config"),
        "echo $GREETING",
    ])
    .success()
    .stdout_is("flag");
}

#[test]
fn run_unpacks_zstd_layers() {
    let env = Env::new();
    env.hutch(&["run", "--rm", &image("zstd"), "cat", "/zstd-marker"])
        .success()
        .stdout_is("zstd layer");
}

fn inspect(env: &Env, img: &str) -> serde_json::Value {
    let r = env.hutch(&["image", "inspect", img]).success();
    let v = r.json();
    match v.as_array() {
        Some(a) if a.len() == 1 => a[0].clone(),
        _ => r.fail("expected a JSON array with one object"),
    }
}

/// Contents of every `arch` marker file in the store's layers.
fn arch_markers(env: &Env) -> Vec<String> {
    env.store_entries("layers")
        .iter()
        .filter_map(|l| {
            std::fs::read_to_string(env.store().join("layers").join(l).join("arch")).ok()
        })
        .map(|s| s.trim().to_string())
        .collect()
}

#[test]
fn pull_platform_selects_the_matching_index_entry() {
    let other = if host_arch() == "arm64" {
        "amd64"
    } else {
        "arm64"
    };
    let img = image("multi");

    let env = Env::new();
    env.hutch(&["pull", "--platform", &format!("linux/{other}"), &img])
        .success();
    let v = inspect(&env, &img);
    assert_eq!(
        v["Architecture"], other,
        "--platform linux/{other} stored the wrong image: {v:#}"
    );
    assert_eq!(
        arch_markers(&env),
        vec![other.to_string()],
        "the store holds the wrong layer"
    );

    let env = Env::new();
    env.pull(&img);
    let v = inspect(&env, &img);
    assert_eq!(
        v["Architecture"],
        host_arch(),
        "a plain pull stored the wrong image: {v:#}"
    );
    assert_eq!(
        arch_markers(&env),
        vec![host_arch().to_string()],
        "the store holds the wrong layer"
    );
    env.hutch(&["run", "--rm", &img, "cat", "/arch"])
        .success()
        .stdout_is(host_arch());
}

#[test]
fn concurrent_pulls_store_each_layer_once() {
    let env = Env::new();
    let img = image("layers");
    let pending: Vec<_> = (0..4).map(|_| env.spawn(&["pull", &img])).collect();
    let runs: Vec<_> = pending.into_iter().map(|p| p.wait()).collect();
    let ids: BTreeSet<String> = runs
        .into_iter()
        .map(|r| r.success().stdout.trim().to_string())
        .collect();
    assert_eq!(
        ids.len(),
        1,
        "concurrent pulls printed different image ids: {ids:?}"
    );

    let v = inspect(&env, &img);
    let diff_ids: BTreeSet<String> = v["RootFS"]["Layers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str())
                .map(|d| d.trim_start_matches("sha256:").to_string())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(diff_ids.len(), 3, "inspect should list 3 layers: {v:#}");
    let layers: BTreeSet<String> = env.store_entries("layers").into_iter().collect();
    assert_eq!(
        layers, diff_ids,
        "$XDG_DATA_HOME/hutch/layers should hold exactly one directory per layer"
    );

    let r = env.hutch(&["images"]).success();
    let rows = r.stdout.lines().filter(|l| l.contains("/layers")).count();
    if rows != 1 {
        r.fail("expected the image listed exactly once");
    }
    env.hutch(&["run", "--rm", &img, "cat", "/data/layer3"])
        .success()
        .stdout_is("three");
}

#[test]
fn images_rmi_and_inspect_manage_the_store() {
    let env = Env::new();
    let reg = registry();
    env.hutch(&["images"])
        .success()
        .stdout_is("REPOSITORY  TAG         IMAGE ID    CREATED     SIZE");
    let id = env.pull(&image("busybox")).stdout.trim().to_string();
    assert!(
        id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "pull should print the 64-hex image id, got {id:?}"
    );
    env.pull(&image("config"));

    let r = env.hutch(&["images"]).success();
    for name in ["busybox", "config"] {
        if !r
            .stdout
            .lines()
            .any(|l| l.starts_with(&format!("{reg}/{name} ")) && l.contains("latest"))
        {
            r.fail(&format!("expected a row for {reg}/{name} latest"));
        }
    }
    let r = env.hutch(&["images", "-q", "--no-trunc"]).success();
    if !r
        .stdout
        .lines()
        .any(|l| l.trim_start_matches("sha256:") == id)
    {
        r.fail("images -q --no-trunc should list the pulled id");
    }
    let r = env.hutch(&["images", "--format", "json"]).success();
    if r.json().as_array().map(Vec::len) != Some(2) {
        r.fail("expected 2 images in JSON");
    }

    let v = inspect(&env, &image("busybox"));
    assert_eq!(v["Id"], id, "inspect Id: {v:#}");
    assert_eq!(v["Os"], "linux");
    assert_eq!(v["Architecture"], host_arch());
    assert_eq!(
        v["Config"]["Cmd"],
        serde_json::json!(["sh"]),
        "inspect Config: {v:#}"
    );
    let v = inspect(&env, &image("config"));
    assert_eq!(v["Config"]["User"], "app");
    assert_eq!(v["Config"]["WorkingDir"], "/work");
    // By id prefix and by short name.
    env.hutch(&["image", "inspect", &id[..12]]).success();
    env.hutch(&["image", "inspect", "busybox"]).success();

    env.hutch(&["rmi", &image("busybox")]).success();
    let r = env.hutch(&["images"]).success();
    if r.stdout.contains("/busybox") || !r.stdout.contains("/config") {
        r.fail("after rmi busybox, images should list config only");
    }
    env.hutch(&["image", "inspect", &image("busybox")])
        .code(125);
    env.hutch(&["rmi", &image("busybox")])
        .error_exit(1, &["busybox", "image not known"]);
    env.hutch(&["rmi", "-i", &image("busybox")]).success();
    env.hutch(&["image", "rm", &image("config")]).success();
    env.hutch(&["images", "-q"]).success().stdout_is("");
    let left = env.store_entries("layers");
    assert!(
        left.is_empty(),
        "rmi of the last image should remove its layers, left: {left:?}"
    );
}

#[test]
fn version_and_info_describe_hutch_and_the_host() {
    let env = Env::new();
    let (_, uid, _) = current_user();
    let (ustart, ucount) =
        subid_range("/etc/subuid").expect("tests/e2e needs a user with an /etc/subuid range");
    let version = env!("CARGO_PKG_VERSION");
    env.hutch(&["version"]).success().stdout_has(version);
    env.hutch(&["--version"]).success().stdout_has(version);
    let r = env.hutch(&["version", "--format", "json"]).success();
    if r.json()["Client"]["Version"] != version {
        r.fail("version --format json should carry Client.Version");
    }
    let r = env.hutch(&["info", "--format", "json"]).success();
    let v = r.json();
    let want = serde_json::json!([
        {"container_id": 0, "host_id": uid, "size": 1},
        {"container_id": 1, "host_id": ustart, "size": ucount},
    ]);
    if v["host"]["idMappings"]["uidmap"] != want {
        r.fail(&format!("expected host.idMappings.uidmap {want}"));
    }
    let r = env.hutch(&["info"]).success();
    if !r.stdout.contains("idMappings") || !r.stdout.contains(&ustart.to_string()) {
        r.fail("info should show the id maps");
    }
}

#[test]
fn usage_errors_exit_125() {
    let env = Env::new();
    check_table(
        &env,
        &[
            Case {
                args: &["no-such-subcommand"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["run"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--pull=sometimes", "{REG}/busybox"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["run", "--rm", "--name", "bad/name", "{REG}/busybox", "true"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["pull", "UPPER/Case:bad tag"],
                code: 125,
                out: Out::Is(""),
            },
            Case {
                args: &["help"],
                code: 0,
                out: Out::Has("run"),
            },
        ],
    );
}

#[test]
fn run_it_gives_a_shell_on_a_terminal_and_restores_it() {
    let setsid = require_tool("setsid");
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    let pty = Pty::open(33, 97);
    let before = termios_key(&pty.slave);

    let args = ["run", "-it", "--rm", img.as_str(), "sh"];
    let mut c = std::process::Command::new(setsid);
    c.arg("-w").arg("-c").arg(common::hutch_bin()).args(args);
    c.env_clear()
        .envs(env.vars())
        .env("TERM", "xterm")
        .current_dir(&env.home);
    let fd =
        |f: &std::os::fd::OwnedFd| std::process::Stdio::from(f.try_clone().expect("dup pty slave"));
    c.stdin(fd(&pty.slave))
        .stdout(fd(&pty.slave))
        .stderr(fd(&pty.slave));
    let mut child = c.spawn().expect("starting setsid hutch run -it");
    drop(c);

    let what = format!(
        "{}\n(under a 33x97 pseudo-terminal via setsid -w -c)",
        env.describe(&args)
    );
    pty.converse(
        &mut child,
        &what,
        &[("", "# "), ("stty size\n", "33 97"), ("exit 3\n", "exit 3")],
    );
    let status = pty.wait_exit(&mut child, &what);
    assert_eq!(
        status.code(),
        Some(3),
        "{what}\n`exit 3` should end hutch with 3; terminal output:\n{:?}",
        pty.text()
    );
    let after = termios_key(&pty.slave);
    assert_eq!(
        before, after,
        "{what}\nterminal settings differ after hutch exited"
    );
}

/// Issue #21 item 11: `--platform` of `run`/`create` is checked and honoured
/// for a local image, not silently ignored.
#[test]
fn issue21_run_platform_is_checked_and_pulls_another_platform() {
    let other = if host_arch() == "arm64" {
        "amd64"
    } else {
        "arm64"
    };
    let img = image("multi");
    let env = Env::new();
    env.pull(&img);
    // Malformed values fail before anything runs, local image or not.
    for bad in ["x/y/z/w", "linux", "linux//v7"] {
        env.hutch(&["run", "--rm", "--platform", bad, &img, "true"])
            .tool_error(&["invalid platform", bad]);
    }
    // The local image is the host's: with --pull=never another platform
    // is refused, naming both.
    let want = format!("linux/{other}");
    env.hutch(&["create", "--pull=never", "--platform", &want, &img, "true"])
        .tool_error(&[&format!("linux/{}", host_arch()), &want, "--pull=never"]);
    assert_eq!(inspect(&env, &img)["Architecture"], host_arch());
    // Otherwise the other platform's image is pulled, as Podman does.
    env.hutch(&["create", "--name", "c", "--platform", &want, &img, "true"])
        .success();
    assert_eq!(
        inspect(&env, &img)["Architecture"],
        other,
        "create --platform {want} did not pull the {other} image"
    );
    // The host's platform matches the stored image again only after a pull.
    env.hutch(&[
        "create",
        "--platform",
        &format!("linux/{}", host_arch()),
        &img,
        "true",
    ])
    .success();
    env.hutch(&["run", "--rm", &img, "cat", "/arch"])
        .success()
        .stdout_is(host_arch());
}

/// Issue #21 item 9: a layer gone from the store is named when a container
/// starts, and `pull` puts it back instead of calling the image up to date.
#[test]
fn issue21_a_missing_layer_is_named_and_pull_restores_it() {
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    let layers = env.store().join("layers");
    let names = common::list_dir(&layers);
    assert_eq!(names.len(), 1, "busybox has one layer: {names:?}");
    std::fs::remove_dir_all(layers.join(&names[0])).expect("removing the layer");
    env.hutch(&["run", "--rm", &img, "true"])
        .tool_error(&[
            &format!("layer sha256:{}", names[0]),
            "missing from the store",
        ])
        .stderr_has("hutch pull");
    env.pull(&img);
    assert!(
        layers.join(&names[0]).is_dir(),
        "pull did not restore the layer"
    );
    // The restored layer's files are there (/etc/hostname would be
    // hutch's own mount).
    env.hutch(&["run", "--rm", &img, "ls", "/home"])
        .success()
        .stdout_is("app");
}

/// issue #13: Podman's global flags hutch cannot honour are refused with
/// one line saying why (exit 125), never ignored; `--storage-driver
/// overlay` is what hutch does anyway.
#[test]
fn refused_global_flags_say_why() {
    let env = Env::new();
    for (args, why) in [
        (&["--remote", "ps"][..], "no remote mode"),
        (&["ps", "--url", "unix:///x"][..], "no remote mode"),
        (&["--connection", "c", "images"][..], "no remote mode"),
        (&["--runtime", "crun", "ps"][..], "without an OCI runtime"),
        (
            &["ps", "--runtime-flag", "debug"][..],
            "without an OCI runtime",
        ),
        (&["--storage-driver", "vfs", "images"][..], "overlay only"),
        (
            &["--storage-opt", "overlay.mount_program=/x", "images"][..],
            "takes no options",
        ),
    ] {
        env.hutch(args).tool_error(&[why]);
    }
    env.hutch(&["--storage-driver", "overlay", "images", "-q"])
        .success();
    // A refused boolean given false asks for what hutch does anyway.
    env.hutch(&["--remote=false", "images", "-q"]).success();
}
