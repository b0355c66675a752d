//! Issue #15: contexts that are not a directory (`build -` with a
//! Containerfile or a tar, a git repository served by a local
//! `git daemon`, the URL of a tarball served by a listener in the test,
//! `--build-context NAME=URL`), `ADD` of xz and bzip2 archives, and
//! `RUN --mount from=` a stage or an image; the RUN containers' flags.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{current_user, image, require_tool, run_command, Env, Run, TIMEOUT};
use crate::issue15_build::{build, context};

/// A tar archive of `files` (name, contents; a name ending in `/` is a
/// directory).
fn tar_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        if name.ends_with('/') {
            h.set_entry_type(tar::EntryType::Directory);
            h.set_mode(0o755);
        } else {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_mode(0o644);
        }
        h.set_size(data.len() as u64);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(1_700_000_000);
        // Names are set raw so that a hostile `../` one stays as written.
        h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_cksum();
        b.append(&h, data.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

fn bzip2(data: &[u8]) -> Vec<u8> {
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    bz.write_all(data).unwrap();
    bz.finish().unwrap()
}

/// `xz` of `data`, by the xz command.
fn xz(data: &[u8]) -> Vec<u8> {
    let tool = require_tool("xz");
    let mut child = Command::new(tool)
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("running xz");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "xz failed");
    out.stdout
}

/// `hutch ARGS` with `input` on standard input.
fn with_stdin(env: &Env, args: &[&str], input: &[u8]) -> Run {
    let file = env.dir.join(format!("stdin-{}", input.len()));
    std::fs::write(&file, input).unwrap();
    let mut c = env.command(args);
    c.stdin(Stdio::from(std::fs::File::open(&file).unwrap()));
    run_command(c, env.describe(args), TIMEOUT)
}

/// An environment whose `TMPDIR` is a directory of its own, to see that
/// fetched contexts are removed.
fn env_with_tmp() -> (Env, PathBuf) {
    let mut env = Env::new();
    let tmp = env.dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    env.set_env("TMPDIR", &tmp.to_string_lossy());
    (env, tmp)
}

fn assert_empty(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    assert!(
        left.is_empty(),
        "left behind in {}: {left:?}",
        dir.display()
    );
}

fn cat(env: &Env, img: &str, path: &str) -> String {
    let r = env.hutch(&["run", "--rm", img, "cat", path]).success();
    r.stdout.trim_end().to_string()
}

#[test]
fn issue15_remote_stdin_is_a_containerfile_or_a_tar_context() {
    // issue #15 item 1: `build -` as Podman 4.3: a tar (plain, gzip, xz,
    // bzip2) is the context, anything else the Containerfile.
    let (env, tmp) = env_with_tmp();
    let file = format!("FROM {}\nRUN echo from-stdin > /x\n", image("busybox"));
    with_stdin(&env, &["build", "-q", "-t", "s1", "-"], file.as_bytes()).success();
    assert_eq!(cat(&env, "s1", "/x"), "from-stdin");
    let cf = format!("FROM {}\nCOPY a.txt /a.txt\n", image("busybox"));
    let tar = tar_of(&[("Containerfile", &cf), ("a.txt", "in-tar")]);
    for (name, bytes) in [
        ("plain", tar.clone()),
        ("gz", gzip(&tar)),
        ("xz", xz(&tar)),
        ("bz2", bzip2(&tar)),
    ] {
        let tag = format!("t-{name}");
        with_stdin(&env, &["build", "-q", "-t", &tag, "-"], &bytes).success();
        assert_eq!(cat(&env, &tag, "/a.txt"), "in-tar", "{name}");
    }
    // -f names a file of the context that came on standard input.
    let tar = tar_of(&[("sub/", ""), ("sub/Cf", &cf), ("a.txt", "by-f")]);
    with_stdin(
        &env,
        &["build", "-q", "-f", "sub/Cf", "-t", "t-f", "-"],
        &tar,
    )
    .success();
    assert_eq!(cat(&env, "t-f", "/a.txt"), "by-f");
    assert_empty(&tmp);
    // An archive that reaches out of the context is refused, and nothing
    // is written beside it.
    let victim = env.dir.join("victim");
    let tar = tar_of(&[("Containerfile", &cf), ("../../../victim", "owned")]);
    with_stdin(&env, &["build", "-t", "evil", "-"], &tar)
        .error_exit(125, &["unpacking the build context from standard input"]);
    assert!(!victim.exists());
    assert_empty(&tmp);
    with_stdin(&env, &["build", "-f", "-", "-"], b"FROM x\n").error_exit(125, &["standard input"]);
}

/// A `git daemon` serving `base` on 127.0.0.1, killed when dropped.
struct GitDaemon {
    child: Child,
    port: u16,
}

impl Drop for GitDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn git(dir: &Path, args: &[&str]) {
    let tool = require_tool("git");
    let out = Command::new(tool)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A bare repository `repo.git` under `base`: `main` has a Containerfile
/// at the top and one in `sub/`; the tag `v1` an older `sub/`.
fn make_repo(env: &Env, base: &Path) {
    let work = env.dir.join("work");
    let files = |marker: &str| {
        context(
            env,
            "work",
            &[
                (
                    "Containerfile",
                    "FROM {REG}/busybox\nCOPY top.txt /top.txt\n",
                ),
                ("top.txt", "top"),
                (
                    "sub/Containerfile",
                    "FROM {REG}/busybox\nCOPY s.txt /s.txt\n",
                ),
                ("sub/s.txt", marker),
            ],
        );
    };
    files("v1");
    git(&work, &["init", "-q"]);
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "one"]);
    git(&work, &["tag", "v1"]);
    files("main");
    git(&work, &["commit", "-q", "-am", "two"]);
    std::fs::create_dir_all(base).unwrap();
    git(
        base,
        &["clone", "-q", "--bare", &work.to_string_lossy(), "repo.git"],
    );
}

fn git_daemon(base: &Path) -> GitDaemon {
    let port = free_port();
    let child = Command::new(require_tool("git"))
        .args([
            "daemon",
            "--reuseaddr",
            "--export-all",
            "--listen=127.0.0.1",
        ])
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", base.display()))
        .arg(base)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting git daemon");
    let d = GitDaemon { child, port };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return d;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("git daemon did not listen on {port}");
}

#[test]
fn issue15_remote_git_repositories_are_cloned() {
    // issue #15 item 2: git:// with Docker's #REF:SUBDIR fragment.
    let (mut env, tmp) = env_with_tmp();
    let base = env.dir.join("git");
    make_repo(&env, &base);
    let d = git_daemon(&base);
    let url = format!("git://127.0.0.1:{}/repo.git", d.port);
    build(&env, Path::new(&url), &["-q", "-t", "g1"]).success();
    assert_eq!(cat(&env, "g1", "/top.txt"), "top");
    let sub = format!("{url}#main:sub");
    build(&env, Path::new(&sub), &["-q", "-t", "g2"]).success();
    assert_eq!(cat(&env, "g2", "/s.txt"), "main");
    let tag = format!("{url}#v1:sub");
    build(&env, Path::new(&tag), &["-q", "-t", "g3"]).success();
    assert_eq!(cat(&env, "g3", "/s.txt"), "v1");
    assert_empty(&tmp);
    // Clear failures, exit 125.
    let bad_ref = format!("{url}#nosuch");
    build(&env, Path::new(&bad_ref), &[]).error_exit(125, &["cloning", "git fetch failed"]);
    let out = format!("{url}#main:../..");
    build(&env, Path::new(&out), &[]).error_exit(125, &["\"../..\"", "leads out"]);
    let missing = format!("git://127.0.0.1:{}/nosuch.git", d.port);
    build(&env, Path::new(&missing), &[]).error_exit(125, &["cloning", "nosuch.git"]);
    assert_empty(&tmp);
    // Without git.
    let bin = env.dir.join("bin-without-git");
    std::fs::create_dir_all(&bin).unwrap();
    for e in std::fs::read_dir("/usr/bin").unwrap().flatten() {
        if e.file_name() != "git" {
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(e.file_name()));
        }
    }
    env.set_env("PATH", &format!("{}:/usr/sbin:/sbin", bin.display()));
    build(&env, Path::new(&url), &[]).error_exit(125, &["git command is not installed"]);
}

/// Serves `routes` (path, status, body) over HTTP/1.0 on 127.0.0.1 from
/// a thread, for as long as the test runs.
fn http_server(routes: Vec<(String, u16, Vec<u8>)>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req);
            let path = text.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, body) = routes
                .iter()
                .find(|(p, _, _)| *p == path)
                .map(|(_, st, b)| (*st, b.clone()))
                .unwrap_or((404, b"not found".to_vec()));
            let head = format!(
                "HTTP/1.0 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes());
            let _ = s.write_all(&body);
        }
    });
    port
}

#[test]
fn issue15_remote_tarball_urls_are_downloaded() {
    // issue #15 item 2: an http(s) URL is downloaded; a tar is the
    // context, anything else the Containerfile; --build-context NAME=URL.
    let (mut env, tmp) = env_with_tmp();
    for k in [
        "http_proxy",
        "HTTP_PROXY",
        "https_proxy",
        "HTTPS_PROXY",
        "all_proxy",
        "ALL_PROXY",
    ] {
        env.unset_env(k);
    }
    let cf = format!(
        "FROM {}\nCOPY a.txt /a.txt\nCOPY --from=extra o.txt /o.txt\n",
        image("busybox")
    );
    let port = http_server(vec![
        (
            "/ctx.tar.gz".into(),
            200,
            gzip(&tar_of(&[("Containerfile", &cf), ("a.txt", "downloaded")])),
        ),
        ("/other.tar".into(), 200, tar_of(&[("o.txt", "other")])),
        (
            "/Containerfile".into(),
            200,
            format!("FROM {}\nRUN echo plain > /p\n", image("busybox")).into_bytes(),
        ),
    ]);
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let named = format!("extra={}", url("/other.tar"));
    build(
        &env,
        Path::new(&url("/ctx.tar.gz")),
        &["-q", "-t", "h1", "--build-context", &named],
    )
    .success();
    assert_eq!(cat(&env, "h1", "/a.txt"), "downloaded");
    assert_eq!(cat(&env, "h1", "/o.txt"), "other");
    build(&env, Path::new(&url("/Containerfile")), &["-q", "-t", "h2"]).success();
    assert_eq!(cat(&env, "h2", "/p"), "plain");
    build(&env, Path::new(&url("/missing.tar")), &[])
        .error_exit(125, &["downloading the build context", "404"]);
    assert_empty(&tmp);
}

#[test]
fn issue15_remote_add_unpacks_xz_and_bzip2_archives() {
    // issue #15 item 3: ADD of local xz and bzip2 archives unpacks them.
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nADD a.tar.xz /x/\nADD b.tar.bz2 /b/\nRUN cat /x/in-xz /b/in-bz2\n",
        )],
    );
    std::fs::write(ctx.join("a.tar.xz"), xz(&tar_of(&[("in-xz", "xz-data\n")]))).unwrap();
    std::fs::write(
        ctx.join("b.tar.bz2"),
        bzip2(&tar_of(&[("in-bz2", "bz2-data\n")])),
    )
    .unwrap();
    let r = build(&env, &ctx, &[]).success();
    assert!(r.stdout.contains("xz-data\nbz2-data"), "{}", r.stdout);
}

#[test]
fn issue15_remote_run_mounts_from_stages_and_images() {
    // issue #15 item 4: RUN --mount=type=bind|cache,from=STAGE_OR_IMAGE
    // mounts that root, read-only unless rw; type=ssh stays refused.
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Containerfile",
            "FROM {REG}/busybox AS builder\n\
             RUN mkdir -p /out && echo built > /out/f\n\
             FROM {REG}/busybox\n\
             RUN --mount=type=bind,from=builder,source=/out,target=/m cat /m/f > /f1; touch /m/x 2>/dev/null || echo read-only > /ro\n\
             RUN --mount=type=bind,from=builder,source=/out,target=/m,rw touch /m/x && echo written > /rw\n\
             RUN --mount=type=cache,from=builder,source=/out,target=/c cp /c/f /f2 && touch /c/y\n\
             RUN --mount=type=bind,from={REG}/config,source=/etc/passwd,target=/p head -1 /p > /f3\n\
             RUN --mount=type=bind,from=builder,target=/root-of-builder cat /root-of-builder/out/f > /f4\n\
             RUN cat /f1 /ro /rw /f2 /f3 /f4; ls /m /c /p /root-of-builder 2>/dev/null | wc -l\n",
        )],
    );
    let r = build(&env, &ctx, &["-t", "mf"]).success();
    let want = "built\nread-only\nwritten\nbuilt\nroot:x:0:0:root:/root:/bin/sh\nbuilt\n0";
    if !r.stdout.contains(want) {
        r.fail(&format!("expected {want:?}"));
    }
    // The copies do not change the cache key: a rebuild is all cached.
    let r = build(&env, &ctx, &["-t", "mf"]).success();
    assert_eq!(r.stdout.matches("Using cache").count(), 7, "{}", r.stdout);
    let ssh = context(
        &env,
        "ssh",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nRUN --mount=type=ssh true\n",
        )],
    );
    build(&env, &ssh, &[]).error_exit(125, &["type=ssh", "SSH agent"]);
}

#[test]
fn issue15_run_flags_reach_every_run_container() {
    // issue #15 "What to build": --network, --cap-drop/--cap-add,
    // --security-opt, --ulimit and --memory/--cpus are what every RUN
    // container gets.
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\n\
             RUN echo interfaces $(grep -c : /proc/net/dev); grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; ulimit -n\n",
        )],
    );
    let r = build(
        &env,
        &ctx,
        &[
            "--no-cache",
            "--network",
            "none",
            "--cap-drop",
            "all",
            "--cap-add",
            "CHOWN",
            "--security-opt",
            "no-new-privileges",
            "--ulimit",
            "nofile=123:123",
        ],
    )
    .success();
    for want in [
        "interfaces 1\n",
        "CapEff:\t0000000000000001",
        "NoNewPrivs:\t1",
        "\n123\n",
    ] {
        if !r.stdout.contains(want) {
            r.fail(&format!("expected {want:?} from the RUN"));
        }
    }
    // Limits where cgroups allow them; elsewhere a refusal with the reason.
    let limits = context(
        &env,
        "limits",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nRUN cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max\n",
        )],
    );
    let r = build(
        &env,
        &limits,
        &["--no-cache", "--memory", "64m", "--cpus", "0.5"],
    );
    if r.code == Some(0) {
        assert!(r.stdout.contains("67108864\n50000 100000"), "{}", r.stdout);
    } else {
        r.error_exit(125, &["cgroup"]);
    }
}

#[test]
fn issue15_a_huge_ignored_file_in_the_context_is_never_read() {
    // issue #15 "Hostile input": a huge context costs only what the
    // Containerfile copies; an excluded 64 GiB file is not read at all.
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[
            (
                "Containerfile",
                "FROM {REG}/busybox\nCOPY . /ctx/\nRUN ls /ctx\n",
            ),
            (".containerignore", "huge.img\n"),
            ("small.txt", "small"),
        ],
    );
    let huge = std::fs::File::create(ctx.join("huge.img")).unwrap();
    huge.set_len(64 << 30).unwrap();
    let start = std::time::Instant::now();
    let r = build(&env, &ctx, &["--no-cache"]).success();
    assert!(
        r.stdout.contains("Containerfile\nsmall.txt\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("huge.img"), "{}", r.stdout);
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "the build took {:?}",
        start.elapsed()
    );
}

#[test]
fn issue15_pull_policies_and_userns_reach_the_build() {
    // issue #15 "What to build": --pull=always|missing|never|newer and
    // --userns for the RUN containers.
    let env = Env::new();
    let ctx = context(
        &env,
        "ctx",
        &[("Containerfile", "FROM {REG}/busybox\nRUN id -u\n")],
    );
    let first = build(&env, &ctx, &["--no-cache"]).success();
    assert!(first.stderr.contains("Trying to pull"), "{first}");
    assert!(first.stdout.contains("\n0\n"), "{first}");
    // missing (the default) and never use the local image.
    for args in [&["--no-cache"][..], &["--no-cache", "--pull=never"][..]] {
        let r = build(&env, &ctx, args).success();
        assert!(!r.stderr.contains("Trying to pull"), "{args:?}: {r}");
    }
    // always and newer ask the registry again.
    for policy in ["--pull=always", "--pull=newer", "--pull"] {
        let r = build(&env, &ctx, &["--no-cache", policy]).success();
        assert!(r.stderr.contains("Trying to pull"), "{policy}: {r}");
    }
    // --userns=keep-id: RUN runs as the invoking user's id.
    let (_, uid, _) = current_user();
    let r = build(&env, &ctx, &["--no-cache", "--userns", "keep-id"]).success();
    assert!(r.stdout.contains(&format!("\n{uid}\n")), "{r}");
}
