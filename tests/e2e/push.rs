//! login, logout and push against the second test registry (TLS with a
//! throwaway CA, htpasswd basic auth, access log on) that tests/run.sh
//! starts, and push to the plain-HTTP one. Uploads and mounts are counted
//! from the registry's access log (issue #3).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use crate::common::{
    image, registry, require_tool, require_vars, run_command, termios_key, Env, Pty, Run,
};

/// Variable `name`, one of `common::SUITE_VARS`; its absence ends the run
/// with the harness's message.
fn var(name: &str) -> String {
    require_vars(&[name]);
    std::env::var(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The TLS+auth registry's `host:port`.
pub(crate) fn auth_registry() -> String {
    var("HUTCH_TEST_AUTH_REGISTRY")
}

pub(crate) fn user() -> String {
    var("HUTCH_TEST_AUTH_USER")
}

pub(crate) fn password() -> String {
    var("HUTCH_TEST_AUTH_PASSWORD")
}

/// The directory holding only the registry's CA certificate (`ca.crt`).
pub(crate) fn ca_dir() -> PathBuf {
    let ca = PathBuf::from(var("HUTCH_TEST_AUTH_CA"));
    assert!(ca.is_file(), "the test CA {} is missing", ca.display());
    ca.parent()
        .expect("the CA file has a directory")
        .to_path_buf()
}

/// The registry's access log, one request per line.
pub(crate) fn access_log() -> String {
    let p = var("HUTCH_TEST_AUTH_LOG");
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading the registry log {p}: {e}"))
}

/// A repository name no other test (or earlier run) uses.
pub(crate) fn repo(what: &str) -> String {
    format!("hutch-{what}-{}", std::process::id())
}

/// A fresh environment that trusts the test CA through certs.d.
pub(crate) fn trusting_env() -> Env {
    let env = Env::new();
    let dir = env
        .config_home
        .join("containers/certs.d")
        .join(auth_registry());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(ca_dir().join("ca.crt"), dir.join("ca.crt")).unwrap();
    env
}

/// Podman's credentials file in `env`.
pub(crate) fn auth_json(env: &Env) -> PathBuf {
    env.runtime_dir.join("containers/auth.json")
}

/// Runs hutch with `input` on stdin.
pub(crate) fn hutch_stdin(env: &Env, args: &[&str], input: &str) -> Run {
    let path = env.dir.join("stdin");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(input.as_bytes()))
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    let mut c = env.command(args);
    c.stdin(Stdio::from(std::fs::File::open(&path).unwrap()));
    run_command(c, env.describe(args), crate::common::TIMEOUT)
}

pub(crate) fn login(env: &Env) -> Run {
    hutch_stdin(
        env,
        &["login", "-u", &user(), "--password-stdin", &auth_registry()],
        &format!("{}\n", password()),
    )
    .success()
    .stdout_is("Login Succeeded!")
}

/// Access-log lines about `repo` whose request matches `pred`, waiting up
/// to five seconds for the manifest PUT of `tag` to be logged (the registry
/// writes the line after answering).
fn log_lines(repo: &str, tag: &str, pred: impl Fn(&str) -> bool) -> Vec<String> {
    let manifest = format!("\"PUT /v2/{repo}/manifests/{tag} ");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let log = access_log();
        if log.contains(&manifest) || std::time::Instant::now() > deadline {
            assert!(
                log.contains(&manifest),
                "the registry log has no {manifest:?}:\n{log}"
            );
            return log
                .lines()
                .filter(|l| l.contains(&format!(" /v2/{repo}/")) && pred(l))
                .map(str::to_string)
                .collect();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether an access-log line is a blob upload that carries bytes.
fn is_upload(line: &str) -> bool {
    (line.contains("\"PATCH /v2/") || line.contains("\"PUT /v2/"))
        && line.contains("/blobs/uploads/")
}

pub(crate) fn skopeo_inspect(env: &Env, reference: &str, raw: bool) -> serde_json::Value {
    require_tool("skopeo");
    let creds = format!("{}:{}", user(), password());
    let ca = ca_dir();
    let target = format!("docker://{reference}");
    let mut args = vec![
        "inspect",
        "--cert-dir",
        ca.to_str().unwrap(),
        "--creds",
        &creds,
    ];
    if raw {
        args.push("--raw");
    }
    args.push(&target);
    let mut c = std::process::Command::new("skopeo");
    c.args(&args).env_clear().envs(env.vars());
    let r = run_command(
        c,
        format!("skopeo {}", args.join(" ")),
        crate::common::TIMEOUT,
    )
    .success();
    r.json()
}

#[test]
fn login_push_rmi_pull_round_trip_through_tls_and_auth() {
    let env = trusting_env();
    login(&env);
    let file = auth_json(&env);
    let mode = std::fs::metadata(&file)
        .unwrap_or_else(|e| panic!("login wrote no {}: {e}", file.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "auth.json mode");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(
        doc["auths"][auth_registry()]["auth"].is_string(),
        "auth.json lacks the registry: {doc}"
    );
    env.hutch(&["login", "--get-login", &auth_registry()])
        .success()
        .stdout_is(&user());

    let id = env.pull(&image("busybox")).stdout.trim().to_string();
    let dest = format!("{}/{}/busybox:1", auth_registry(), repo("rt"));
    let digestfile = env.dir.join("digest");
    env.hutch(&[
        "push",
        "-q",
        "--digestfile",
        digestfile.to_str().unwrap(),
        &image("busybox"),
        &dest,
    ])
    .success()
    .stdout_is("");
    let digest = std::fs::read_to_string(&digestfile).unwrap();
    assert!(digest.starts_with("sha256:"), "digest file: {digest:?}");

    // An independent tool reads what was pushed.
    let info = skopeo_inspect(&env, &dest, false);
    assert_eq!(info["Digest"], digest.trim(), "skopeo inspect: {info}");

    env.hutch(&["rmi", &image("busybox")]).success();
    env.hutch(&["images", "-q"]).success().stdout_is("");
    let again = env.hutch(&["pull", "-q", &dest]).success();
    assert_eq!(again.stdout.trim(), id, "the pulled image id");
    env.hutch(&["run", "--rm", &dest, "echo", "round trip"])
        .success()
        .stdout_is("round trip");
}

#[test]
fn login_with_a_wrong_password_exits_125_and_writes_nothing() {
    let env = trusting_env();
    let wrong = |env: &Env| {
        env.hutch(&[
            "login",
            "-u",
            &user(),
            "-p",
            "not-the-password",
            &auth_registry(),
        ])
        .tool_error(&["unauthorized", &auth_registry()])
    };
    wrong(&env);
    assert!(
        !auth_json(&env).exists(),
        "a failed login wrote {}",
        auth_json(&env).display()
    );
    login(&env);
    let before = std::fs::read(auth_json(&env)).unwrap();
    wrong(&env);
    assert_eq!(
        std::fs::read(auth_json(&env)).unwrap(),
        before,
        "a failed login changed auth.json"
    );
    // The password is never echoed in the error.
    let r = env.hutch(&["login", "-u", "nobody", "-p", "s3cr3t-x", &auth_registry()]);
    assert!(!r.stderr.contains("s3cr3t-x"), "{r}");
}

#[test]
fn logout_removes_the_entry_and_push_then_needs_credentials() {
    let env = trusting_env();
    login(&env);
    env.hutch(&["logout", &auth_registry()])
        .success()
        .stdout_is(&format!(
            "Removed login credentials for {}",
            auth_registry()
        ));
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(auth_json(&env)).unwrap()).unwrap();
    assert!(
        doc["auths"].get(auth_registry()).is_none(),
        "logout left the entry: {doc}"
    );
    env.hutch(&["login", "--get-login", &auth_registry()])
        .tool_error(&["not logged in"]);
    env.hutch(&["logout", &auth_registry()])
        .tool_error(&["not logged in", &auth_registry()]);
    env.pull(&image("busybox"));
    let dest = format!("{}/{}/busybox:1", auth_registry(), repo("nocreds"));
    env.hutch(&["push", &image("busybox"), &dest])
        .tool_error(&["requires credentials"])
        .stderr_has("hutch login");
}

#[test]
fn push_skips_existing_layers_and_mounts_into_a_new_repository() {
    let env = trusting_env();
    login(&env);
    env.pull(&image("layers"));
    let a = repo("dedup-a");
    let b = repo("dedup-b");
    let reg = auth_registry();
    env.hutch(&["push", &image("layers"), &format!("{reg}/{a}:1")])
        .success();
    let first = log_lines(&a, "1", is_upload);
    assert!(!first.is_empty(), "the first push uploaded nothing");

    // Same repository again: every blob is already there.
    let r = env
        .hutch(&["push", &image("layers"), &format!("{reg}/{a}:2")])
        .success();
    let second = log_lines(&a, "2", is_upload);
    assert_eq!(
        second.len(),
        first.len(),
        "the second push to {a} uploaded again:\n{}",
        second.join("\n")
    );
    assert!(r.stderr.contains("skipped: already exists"), "{r}");

    // A new repository of the same registry: blobs are mounted from the first.
    let r = env
        .hutch(&["push", &image("layers"), &format!("{reg}/{b}:1")])
        .success();
    let uploads = log_lines(&b, "1", is_upload);
    assert!(
        uploads.is_empty(),
        "pushing to {b} uploaded blobs instead of mounting them:\n{}",
        uploads.join("\n")
    );
    let mounts = log_lines(&b, "1", |l| {
        l.contains("mount=") && l.contains(&format!("from={a}")) && l.contains("\" 201 ")
    });
    assert!(
        !mounts.is_empty(),
        "no mount of {b} from {a} in the log:\n{}",
        access_log()
    );
    assert!(r.stderr.contains("mounted"), "{r}");
    // And the mounted image is complete.
    let fresh = trusting_env();
    login(&fresh);
    fresh
        .hutch(&["run", "--rm", &format!("{reg}/{b}:1"), "true"])
        .success();
}

#[test]
fn tls_needs_the_registry_ca_unless_given_or_verification_is_off() {
    let env = Env::new();
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = vec!["login".into(), "-u".into(), user(), "-p".into(), password()];
        v.extend(extra.iter().map(|s| s.to_string()));
        v.push(auth_registry());
        v
    };
    env.hutch(&args(&[]))
        .tool_error(&["certificate"])
        .stderr_has("certs.d");
    assert!(!auth_json(&env).exists());
    let cert_dir = format!("--cert-dir={}", ca_dir().display());
    env.hutch(&args(&[&cert_dir])).success();
    env.hutch(&args(&["--tls-verify=false"])).success();
}

#[test]
fn push_converts_manifest_format_and_layer_compression() {
    let env = trusting_env();
    login(&env);
    env.pull(&image("busybox"));
    let reg = auth_registry();
    let docker = format!("{reg}/{}:1", repo("docker"));
    env.hutch(&["push", "--format", "docker", &image("busybox"), &docker])
        .success();
    let m = skopeo_inspect(&env, &docker, true);
    assert_eq!(
        m["mediaType"], "application/vnd.docker.distribution.manifest.v2+json",
        "{m}"
    );
    assert_eq!(
        m["layers"][0]["mediaType"], "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "{m}"
    );

    let zstd = format!("{reg}/{}:1", repo("zstd"));
    env.hutch(&[
        "push",
        "--compression-format",
        "zstd",
        &image("busybox"),
        &zstd,
    ])
    .success();
    let m = skopeo_inspect(&env, &zstd, true);
    assert_eq!(
        m["mediaType"], "application/vnd.oci.image.manifest.v1+json",
        "{m}"
    );
    assert_eq!(
        m["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+zstd",
        "{m}"
    );
    let fresh = trusting_env();
    login(&fresh);
    fresh
        .hutch(&["run", "--rm", &zstd, "echo", "zstd ok"])
        .success()
        .stdout_is("zstd ok");

    env.hutch(&[
        "push",
        "--format",
        "docker",
        "--compression-format",
        "zstd",
        &image("busybox"),
        &format!("{reg}/{}:1", repo("refused")),
    ])
    .tool_error(&["zstd"]);
}

#[test]
fn push_to_the_plain_http_registry_round_trips() {
    let env = Env::new();
    env.pull(&image("busybox"));
    let dest = format!("{}/{}/bb:1", registry(), repo("plain"));
    env.hutch(&["push", &image("busybox"), &dest]).success();
    let fresh = Env::new();
    fresh
        .hutch(&["run", "--rm", &dest, "echo", "plain"])
        .success()
        .stdout_is("plain");
}

#[test]
fn login_prompts_on_a_terminal_without_echoing_the_password() {
    let env = trusting_env();
    let pty = Pty::open(24, 80);
    let before = termios_key(&pty.slave);
    let mut c = env.command(&["login", &auth_registry()]);
    let fd = |f: &std::os::fd::OwnedFd| Stdio::from(f.try_clone().expect("dup pty slave"));
    c.stdin(fd(&pty.slave))
        .stdout(fd(&pty.slave))
        .stderr(fd(&pty.slave));
    let mut child = c.spawn().expect("starting hutch login");
    let what = env.describe(&["login", &auth_registry()]);
    pty.converse(
        &mut child,
        &what,
        &[
            ("", "Username: "),
            (&format!("{}\n", user()), "Password: "),
            (&format!("{}\n", password()), "Login Succeeded!"),
        ],
    );
    let status = pty.wait_exit(&mut child, &what);
    assert!(status.success(), "{what}\n{status}: {:?}", pty.text());
    assert!(
        !pty.text().contains(&password()),
        "the password was echoed: {:?}",
        pty.text()
    );
    assert_eq!(termios_key(&pty.slave), before, "terminal settings changed");
    env.hutch(&["login", "--get-login", &auth_registry()])
        .success()
        .stdout_is(&user());
}

#[test]
fn pull_reads_credentials_and_certificates_from_the_files_it_is_given() {
    // Push an image with the default files, then pull it in an
    // environment that knows neither the CA nor the login.
    let pusher = trusting_env();
    login(&pusher);
    pusher.pull(&image("busybox"));
    let dest = format!("{}/{}/busybox:1", auth_registry(), repo("pullfiles"));
    pusher
        .hutch(&["push", "-q", &image("busybox"), &dest])
        .success();

    let env = Env::new();
    env.hutch(&["pull", "-q", &dest])
        .tool_error(&["certificate"]);
    let cert_dir = format!("--cert-dir={}", ca_dir().display());
    env.hutch(&["pull", "-q", &cert_dir, &dest])
        .tool_error(&["requires credentials"]);
    let authfile = format!("--authfile={}", auth_json(&pusher).display());
    env.hutch(&["pull", "-q", &cert_dir, &authfile, &dest])
        .success();
    env.hutch(&["images", "--format", "{{.Repository}}"])
        .success()
        .stdout_has(&repo("pullfiles"));
}

#[test]
fn run_pulls_with_the_credentials_and_certificates_it_is_given() {
    // #12: `run` and `create` share pull's registry flags.
    let pusher = trusting_env();
    login(&pusher);
    pusher.pull(&image("busybox"));
    let dest = format!("{}/{}/busybox:1", auth_registry(), repo("runfiles"));
    pusher
        .hutch(&["push", "-q", &image("busybox"), &dest])
        .success();

    let env = Env::new();
    let cert_dir = format!("--cert-dir={}", ca_dir().display());
    env.hutch(&["run", "--rm", "-q", &cert_dir, &dest, "true"])
        .tool_error(&["requires credentials"]);
    let authfile = format!("--authfile={}", auth_json(&pusher).display());
    env.hutch(&["create", "-q", &cert_dir, &authfile, "--name", "c", &dest])
        .success();
    env.hutch(&[
        "run",
        "--rm",
        "-q",
        "--pull=always",
        &cert_dir,
        &authfile,
        &dest,
        "echo",
        "ran",
    ])
    .success()
    .stdout_is("ran");
}

#[test]
fn a_missing_authfile_fails_pull_push_run_and_create_before_anything_else() {
    // As Podman checks it: at once, even when nothing would be pulled.
    let env = Env::new();
    let img = image("busybox");
    env.pull(&img);
    let missing = "--authfile=/nonexistent/auth.json";
    for args in [
        vec!["pull", "-q", missing, img.as_str()],
        vec!["run", "--rm", missing, img.as_str(), "true"],
        vec!["create", missing, img.as_str(), "true"],
    ] {
        env.hutch(&args)
            .tool_error(&["checking the authfile", "/nonexistent/auth.json"])
            .stderr_has("Hint: name an existing file");
    }
    let dest = format!("{}/{}/busybox:1", auth_registry(), repo("noauthfile"));
    env.hutch(&["push", "-q", missing, &img, &dest])
        .tool_error(&["checking the authfile"]);
    env.hutch(&["ps", "-a", "-q"]).success().stdout_is("");
}
