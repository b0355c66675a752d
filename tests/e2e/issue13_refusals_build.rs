//! Issue #13: `build` flags hutch refused and now honours, compared with
//! Podman 4.3: `--timestamp`, `--identity-label`, `--os-feature`,
//! `--os-version`, `--output`, `--manifest`, `--logfile`/`--logsplit`,
//! `--cpp-flag` with `*.in` Containerfiles, `--build-context`,
//! `--cache-ttl`, `--retry`/`--retry-delay`, `--creds` and
//! `--disable-compression`.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use super::issue15_build::{build, context, inspect};
use crate::common::{Env, Run};
use crate::push::{auth_registry, ca_dir, login, password, repo, trusting_env, user};

/// Every file of the tar at `path`, by name.
fn tar_files(path: &Path) -> HashMap<String, (u64, Vec<u8>)> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut a = tar::Archive::new(f);
    let mut out = HashMap::new();
    for e in a.entries().expect("a tar") {
        let mut e = e.expect("a tar entry");
        let name = e.path().expect("a name").to_string_lossy().into_owned();
        let mtime = e.header().mtime().expect("an mtime");
        let mut data = Vec::new();
        e.read_to_end(&mut data).expect("reading the entry");
        out.insert(name.trim_start_matches("./").to_string(), (mtime, data));
    }
    out
}

/// The config of image `name`, from a `save` archive.
fn saved_config(env: &Env, name: &str) -> serde_json::Value {
    let out = env
        .dir
        .join(format!("{}.tar", name.replace([':', '/'], "_")));
    env.hutch(&["save", "-o", out.to_str().unwrap(), name])
        .success();
    let files = tar_files(&out);
    let manifest: serde_json::Value =
        serde_json::from_slice(&files["manifest.json"].1).expect("manifest.json");
    let config = manifest[0]["Config"].as_str().expect("a Config entry");
    serde_json::from_slice(&files[config].1).expect("the config")
}

fn ok(r: Run) -> String {
    r.success().stdout.lines().last().unwrap_or("").to_string()
}

#[test]
fn issue13_refusals_build_timestamp_is_reproducible_and_sets_os_fields() {
    // issue #13: --timestamp sets the created times and the new layer's
    // file times, so two builds give the same id; --identity-label,
    // --os-feature and --os-version write what Podman writes.
    let env = Env::new();
    let ctx = context(
        &env,
        "ts",
        &[
            ("Containerfile", "FROM {REG}/busybox\nCOPY a /a\n"),
            ("a", "hi\n"),
        ],
    );
    let args = [
        "-q",
        "--no-cache",
        "--timestamp",
        "10",
        "--os-feature",
        "f1",
        "--os-feature",
        "f2",
        "--os-feature",
        "f2-",
        "--os-version",
        "10.1",
        "-t",
        "ts1",
    ];
    let first = ok(build(&env, &ctx, &args));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = ok(build(&env, &ctx, &args));
    assert_eq!(first, second, "--timestamp builds differ");
    let img = inspect(&env, "ts1");
    assert_eq!(img["Created"], "1970-01-01T00:00:10Z", "{img}");
    let config = saved_config(&env, "ts1");
    assert_eq!(config["os.version"], "10.1", "{config}");
    assert_eq!(config["os.features"], serde_json::json!(["f1"]), "{config}");
    let history = config["history"].as_array().expect("history");
    assert_eq!(history.last().unwrap()["created"], "1970-01-01T00:00:10Z");
    assert!(config["config"]["Labels"]["io.buildah.version"].is_null());
    // The file the build added carries the time; the base's keep theirs.
    let out = env.dir.join("ts.tar");
    let dest = format!("type=tar,dest={}", out.display());
    build(&env, &ctx, &["-q", "--timestamp", "10", "--output", &dest]).success();
    let files = tar_files(&out);
    assert_eq!(files["a"], (10, b"hi\n".to_vec()));
    assert_ne!(files["bin/busybox"].0, 10);
    build(&env, &ctx, &["-q", "--identity-label", "-t", "id1"]).success();
    let labels = &inspect(&env, "id1")["Labels"];
    assert!(
        labels["io.buildah.version"]
            .as_str()
            .is_some_and(|v| v.starts_with("hutch-")),
        "{labels}"
    );
    // Accepted as in Podman, whose default it is.
    build(&env, &ctx, &["-q", "--disable-compression", "-D=false"]).success();
}

#[test]
fn issue13_refusals_build_output_manifest_and_logfile() {
    // issue #13: --output writes the final stage's files, --manifest adds
    // the image to a list (made when missing), --logfile takes
    // everything the build prints, --logsplit adds _OS_ARCH.
    let env = Env::new();
    let ctx = context(
        &env,
        "out",
        &[
            (
                "Containerfile",
                "FROM {REG}/busybox\nRUN echo made > /made\n",
            ),
            ("unused", "x"),
        ],
    );
    let dir = env.dir.join("outdir");
    let id = ok(build(
        &env,
        &ctx,
        &["-q", "--output", dir.to_str().unwrap()],
    ));
    assert_eq!(std::fs::read_to_string(dir.join("made")).unwrap(), "made\n");
    assert!(dir.join("bin/busybox").is_file());
    let local = env.dir.join("local");
    let spec = format!("type=local,dest={}", local.display());
    build(&env, &ctx, &["-q", "--output", &spec]).success();
    assert!(local.join("made").is_file());
    build(&env, &ctx, &["--output", "type=tar,dest=-"]).error_exit(125, &["--output"]);
    build(&env, &ctx, &["-q", "--manifest", "ml"]).success();
    build(&env, &ctx, &["-q", "--manifest", "ml"]).success();
    let list = env.hutch(&["manifest", "inspect", "ml"]).success().json();
    let entries = list["manifests"].as_array().expect("manifests");
    assert_eq!(entries.len(), 1, "{list}");
    let log = env.dir.join("build.log");
    let r = build(
        &env,
        &ctx,
        &["--logfile", log.to_str().unwrap(), "-t", "logged"],
    )
    .success();
    assert_eq!(r.stdout, "", "stdout should be in the log file");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("STEP 2/2: RUN echo made > /made"), "{text}");
    assert!(text.trim_end().ends_with(&id), "{text}");
    build(
        &env,
        &ctx,
        &[
            "-q",
            "--logfile",
            log.to_str().unwrap(),
            "--logsplit",
            "--platform",
            "linux/amd64",
        ],
    )
    .success();
    let split = env.dir.join("build.log_linux_amd64");
    assert!(std::fs::read_to_string(&split).unwrap().contains(&id));
}

#[test]
fn issue13_refusals_build_cpp_contexts_and_cache_ttl() {
    // issue #13: a Containerfile.in goes through cpp with --cpp-flag;
    // --build-context NAME=DIR serves COPY --from and RUN --mount from=;
    // --cache-ttl=0 uses no cache.
    let env = Env::new();
    let ctx = context(
        &env,
        "cpp",
        &[
            (
                "Containerfile.in",
                "#include \"base.h\"\n#ifdef EXTRA\nRUN echo extra > /extra\n#endif\n",
            ),
            ("base.h", "FROM {REG}/busybox\n"),
        ],
    );
    let file = ctx.join("Containerfile.in");
    let f = file.to_str().unwrap();
    build(
        &env,
        &ctx,
        &["-q", "-f", f, "--cpp-flag", "-DEXTRA", "-t", "cpp1"],
    )
    .success();
    env.hutch(&["run", "--rm", "cpp1", "cat", "/extra"])
        .success()
        .stdout_is("extra");
    build(&env, &ctx, &["-q", "-f", f, "-t", "cpp2"]).success();
    env.hutch(&["run", "--rm", "cpp2", "ls", "/extra"]).code(1);
    let other = context(&env, "other", &[("o", "other\n")]);
    let ctx = context(
        &env,
        "bc",
        &[(
            "Containerfile",
            "FROM {REG}/busybox\nCOPY --from=extra o /o\nRUN --mount=type=bind,from=extra,source=o,target=/m cp /m /m2\n",
        )],
    );
    let named = format!("extra={}", other.display());
    build(&env, &ctx, &["-q", "--build-context", &named, "-t", "bc"]).success();
    env.hutch(&["run", "--rm", "bc", "cat", "/o", "/m2"])
        .success()
        .stdout_is("other\nother");
    let r = build(&env, &ctx, &["--build-context", &named]).success();
    assert!(r.stdout.contains("Using cache"), "{}", r.stdout);
    let r = build(&env, &ctx, &["--build-context", &named, "--cache-ttl", "0"]).success();
    assert!(!r.stdout.contains("Using cache"), "{}", r.stdout);
    let r = build(
        &env,
        &ctx,
        &["--build-context", &named, "--cache-ttl", "1h"],
    )
    .success();
    assert!(r.stdout.contains("Using cache"), "{}", r.stdout);
    // Older than the TTL: built again (the ages are compared in one unit).
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let r = build(
        &env,
        &ctx,
        &["--build-context", &named, "--cache-ttl", "1s"],
    )
    .success();
    assert!(!r.stdout.contains("Using cache"), "{}", r.stdout);
    build(&env, &ctx, &["--build-context", "extra=oci-layout://x"])
        .error_exit(125, &["--build-context"]);
}

#[test]
fn issue13_refusals_build_retry_and_creds() {
    // issue #13: --retry pulls a base image again --retry-delay apart
    // while the registry cannot be reached; --creds logs the pull in.
    let env = Env::new();
    let ctx = context(
        &env,
        "retry",
        &[("Containerfile", "FROM 127.0.0.1:1/nothing\n")],
    );
    let r = build(
        &env,
        &ctx,
        &["--retry", "2", "--retry-delay", "1s", "--tls-verify=false"],
    )
    .error_exit(125, &["Connection refused"]);
    assert_eq!(
        r.stderr.matches("retrying in 1s").count(),
        2,
        "{}",
        r.stderr
    );
    let pusher = trusting_env();
    let name = repo("buildcreds");
    let base = format!("{}/{name}:t1", auth_registry());
    pusher.pull(&crate::common::image("busybox"));
    login(&pusher);
    pusher
        .hutch(&["push", "-q", &crate::common::image("busybox"), &base])
        .success();
    let ctx = context(
        &env,
        "creds",
        &[("Containerfile", &format!("FROM {base}\nRUN true\n"))],
    );
    let ca = ca_dir();
    let ca = ca.to_str().unwrap();
    build(&env, &ctx, &["-q", "--cert-dir", ca]).error_exit(125, &["credentials"]);
    let creds = format!("{}:{}", user(), password());
    build(&env, &ctx, &["-q", "--cert-dir", ca, "--creds", &creds]).success();
}
