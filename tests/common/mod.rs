//! Test harness shared by the integration test binaries: finds the hutch
//! binary and the test registry, gives each test a fresh HOME with XDG
//! directories and a registries.conf, runs hutch with a timeout and turns
//! every failed expectation into a message with the command, environment,
//! stdout and stderr.
//!
//! Nothing here skips: a missing prerequisite fails the test and names it,
//! and a missing variable of tests/run.sh ends the whole suite with one
//! message naming every such variable (`require_vars`).
#![allow(dead_code)]

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one hutch invocation may take before the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// A variable tests/run.sh sets for the integration suites.
pub struct SuiteVar {
    pub name: &'static str,
    /// What it holds, for the message when it is missing.
    pub what: &'static str,
    /// A value to show in the example command line.
    pub example: &'static str,
    /// The suites that read it; empty means all of them.
    pub suites: &'static [&'static str],
}

/// Every variable the integration suites read, as tests/run.sh sets them.
pub const SUITE_VARS: &[SuiteVar] = &[
    SuiteVar {
        name: "HUTCH_BIN",
        what: "the hutch binary under test",
        example: "$PWD/target/debug/hutch",
        suites: &[],
    },
    SuiteVar {
        name: "HUTCH_TEST_REGISTRY",
        what: "host:port of the plain-HTTP registry holding the fixture images",
        example: "127.0.0.1:5000",
        suites: &[],
    },
    SuiteVar {
        name: "HUTCH_TEST_AUTH_REGISTRY",
        what: "host:port of the TLS registry with basic auth",
        example: "127.0.0.1:5443",
        suites: &["e2e"],
    },
    SuiteVar {
        name: "HUTCH_TEST_AUTH_USER",
        what: "its user",
        example: "USER",
        suites: &["e2e"],
    },
    SuiteVar {
        name: "HUTCH_TEST_AUTH_PASSWORD",
        what: "its password",
        example: "PASSWORD",
        suites: &["e2e"],
    },
    SuiteVar {
        name: "HUTCH_TEST_AUTH_CA",
        what: "the CA certificate (ca.crt) it serves with",
        example: "/path/to/ca.crt",
        suites: &["e2e"],
    },
    SuiteVar {
        name: "HUTCH_TEST_AUTH_LOG",
        what: "its access log",
        example: "/path/to/registry.log",
        suites: &["e2e"],
    },
    SuiteVar {
        name: "HUTCH_TEST_SMALL_FS",
        what: "a small filesystem (64 MiB tmpfs) the test user owns, for full-disk tests",
        example: "/path/to/small-tmpfs",
        suites: &["lifecycle", "soak"],
    },
    SuiteVar {
        name: "HUTCH_TEST_MPI_CONTEXT",
        what:
            "the MPI test program and the host's MPI libraries (tests/lib/env.sh build_mpi_context)",
        example: "/path/to/mpi",
        suites: &["e2e"],
    },
    SuiteVar {
        name: "HUTCH_TEST_DOCKER_PY",
        what: "a python with docker-py 7 (tests/lib/env.sh ensure_docker_py)",
        example: "/path/to/venv/bin/python3",
        suites: &["e2e"],
    },
];

/// The suite this copy of the harness is compiled into (`e2e`, `lifecycle`…).
const SUITE: &str = env!("CARGO_CRATE_NAME");

/// What is wrong with variable `name`, or `None` when it is usable.
fn var_problem(name: &str) -> Option<String> {
    match std::env::var_os(name) {
        None => Some("not set".into()),
        Some(v) if v.is_empty() => Some("empty".into()),
        Some(v) if name == "HUTCH_BIN" && !Path::new(&v).is_file() => {
            Some(format!("{} is not a file", Path::new(&v).display()))
        }
        Some(_) => None,
    }
}

/// Ends the test binary with status 2 unless every variable in `names` is
/// usable. The one message names every unusable variable this suite reads
/// (not only `names`) and how to set them; it is written straight to stderr
/// because the test harness would swallow a captured `eprintln!` when the
/// process exits. A missing prerequisite fails the run: nothing skips.
pub fn require_vars(names: &[&str]) {
    if names.iter().all(|n| var_problem(n).is_none()) {
        return;
    }
    static REPORT: std::sync::Once = std::sync::Once::new();
    // Other tests calling in meanwhile wait here until the process exits.
    REPORT.call_once(|| {
        let suite_vars: Vec<&SuiteVar> = SUITE_VARS
            .iter()
            .filter(|v| v.suites.is_empty() || v.suites.contains(&SUITE))
            .collect();
        let width = suite_vars.iter().map(|v| v.name.len()).max().unwrap_or(0);
        let mut msg = format!(
            "\ntests/{SUITE} cannot run: it needs variables that tests/run.sh sets\n"
        );
        let mut example = String::new();
        for v in &suite_vars {
            if let Some(problem) = var_problem(v.name) {
                msg.push_str(&format!(
                    "  {:width$}  {}: {problem}\n",
                    v.name, v.what
                ));
                example.push_str(&format!("{}={} ", v.name, v.example));
            }
        }
        msg.push_str(&format!(
            "Run the suites with `sudo ./tests/run.sh` (it installs packages, creates the test users and starts the registries), \
             or against registries you started yourself set the variables, for example:\n  \
             {example}cargo test --test {SUITE}\n"
        ));
        let _ = std::io::stderr().write_all(msg.as_bytes());
        std::process::exit(2);
    });
}

/// The hutch binary under test, from `HUTCH_BIN`.
pub fn hutch_bin() -> PathBuf {
    require_vars(&["HUTCH_BIN"]);
    PathBuf::from(std::env::var_os("HUTCH_BIN").expect("require_vars checked HUTCH_BIN"))
}

/// The test registry's `host:port`, from `HUTCH_TEST_REGISTRY`.
pub fn registry() -> String {
    require_vars(&["HUTCH_TEST_REGISTRY"]);
    std::env::var("HUTCH_TEST_REGISTRY").expect("require_vars checked HUTCH_TEST_REGISTRY")
}

/// A fully qualified fixture image name: `REG/name`.
pub fn image(name: &str) -> String {
    format!("{}/{name}", registry())
}

/// Fails unless `tool` is on PATH; returns its path.
pub fn require_tool(tool: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(tool);
        if p.is_file() {
            return p;
        }
    }
    panic!("required tool {tool:?} is not on PATH ({}); install it (tests/run.sh installs every package the suite needs)", path.to_string_lossy());
}

/// The current user's name, uid and gid.
pub fn current_user() -> (String, u32, u32) {
    let uid = nix::unistd::getuid();
    let name = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string());
    (name, uid.as_raw(), nix::unistd::getgid().as_raw())
}

/// The current user's first range in `file` (/etc/subuid or /etc/subgid),
/// matched by name or by numeric id, as (start, count).
pub fn subid_range(file: &str) -> Option<(u64, u64)> {
    let (name, uid, _) = current_user();
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.trim().split(':').collect();
        if f.len() == 3 && (f[0] == name || f[0] == uid.to_string()) {
            Some((f[1].parse().ok()?, f[2].parse().ok()?))
        } else {
            None
        }
    })
}

/// How the warning of a host without cgroup v2 begins; hutch prints it on
/// the first `run` or `create` after boot (per run directory).
pub const CGROUP_WARNING: &str = "Warning: this host has cgroup";

/// One test's private world: HOME, XDG directories and registries.conf.
pub struct Env {
    pub dir: PathBuf,
    pub home: PathBuf,
    pub config_home: PathBuf,
    pub data_home: PathBuf,
    pub runtime_dir: PathBuf,
    extra_env: Vec<(String, String)>,
    unset_env: Vec<String>,
}

impl Env {
    /// A fresh environment whose registries.conf searches and trusts the
    /// test registry.
    pub fn new() -> Env {
        Env::with_insecure(&[])
    }

    /// Like `new`, and also trusts the plain-HTTP registries in `extra`.
    pub fn with_insecure(extra: &[String]) -> Env {
        let base = std::env::temp_dir();
        let dir = tempfile::Builder::new()
            .prefix("hutch-test-")
            .tempdir_in(&base)
            .unwrap_or_else(|e| panic!("creating a temp dir in {}: {e}", base.display()))
            .keep();
        let home = dir.join("home");
        let config_home = home.join(".config");
        let data_home = home.join(".local/share");
        let runtime_dir = dir.join("run");
        for d in [&config_home.join("containers"), &data_home, &runtime_dir] {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("creating {}: {e}", d.display()));
        }
        set_mode(&runtime_dir, 0o700);
        let reg = registry();
        let mut conf = format!("unqualified-search-registries = [\"{reg}\"]\n");
        for r in std::iter::once(&reg).chain(extra) {
            conf.push_str(&format!(
                "\n[[registry]]\nlocation = \"{r}\"\ninsecure = true\n"
            ));
        }
        let conf_path = config_home.join("containers/registries.conf");
        std::fs::write(&conf_path, conf)
            .unwrap_or_else(|e| panic!("writing {}: {e}", conf_path.display()));
        Env {
            dir,
            home,
            config_home,
            data_home,
            runtime_dir,
            extra_env: Vec::new(),
            unset_env: Vec::new(),
        }
    }

    /// The store hutch uses by default in this environment.
    pub fn store(&self) -> PathBuf {
        self.data_home.join("hutch")
    }

    /// Adds an environment variable to every command.
    pub fn set_env(&mut self, k: &str, v: &str) {
        self.extra_env.push((k.into(), v.into()));
    }

    /// Leaves an environment variable out of every command, including one
    /// the harness would set (such as `XDG_RUNTIME_DIR`).
    pub fn unset_env(&mut self, k: &str) {
        self.unset_env.push(k.into());
    }

    /// The environment hutch runs with.
    pub fn vars(&self) -> Vec<(String, OsString)> {
        let mut v: Vec<(String, OsString)> = vec![
            ("HOME".into(), self.home.clone().into()),
            ("XDG_CONFIG_HOME".into(), self.config_home.clone().into()),
            ("XDG_DATA_HOME".into(), self.data_home.clone().into()),
            ("XDG_RUNTIME_DIR".into(), self.runtime_dir.clone().into()),
            (
                "PATH".into(),
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            ),
            ("LANG".into(), "C.UTF-8".into()),
            ("TMPDIR".into(), std::env::temp_dir().into()),
        ];
        if let Some(u) = std::env::var_os("USER").or_else(|| Some(current_user().0.into())) {
            v.push(("USER".into(), u));
        }
        for (k, val) in &self.extra_env {
            v.push((k.clone(), val.into()));
        }
        v.retain(|(k, _)| !self.unset_env.contains(k));
        v
    }

    /// A `Command` for hutch with this environment (and nothing else).
    pub fn command<S: AsRef<str>>(&self, args: &[S]) -> Command {
        let mut c = Command::new(hutch_bin());
        c.args(args.iter().map(AsRef::as_ref));
        c.env_clear();
        c.envs(self.vars());
        c.current_dir(&self.home);
        c
    }

    /// Runs hutch with `args`, no stdin, and the default timeout.
    pub fn hutch<S: AsRef<str>>(&self, args: &[S]) -> Run {
        self.hutch_timeout(args, TIMEOUT)
    }

    /// Runs hutch with `args` and a timeout.
    pub fn hutch_timeout<S: AsRef<str>>(&self, args: &[S], timeout: Duration) -> Run {
        let mut c = self.command(args);
        c.stdin(Stdio::null());
        run_command(c, self.describe(args), timeout)
    }

    /// Starts hutch with `args` without waiting (stdin null, output piped).
    pub fn spawn<S: AsRef<str>>(&self, args: &[S]) -> Pending {
        let mut c = self.command(args);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", hutch_bin().display()));
        Pending {
            child,
            what: self.describe(args),
            started: Instant::now(),
        }
    }

    /// The command line and environment, for failure messages.
    pub fn describe<S: AsRef<str>>(&self, args: &[S]) -> String {
        let env: Vec<String> = self
            .vars()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.to_string_lossy()))
            .collect();
        format!(
            "command: {} {}\nenv: {}",
            hutch_bin().display(),
            args.iter()
                .map(|a| shell_quote(a.as_ref()))
                .collect::<Vec<_>>()
                .join(" "),
            env.join(" ")
        )
    }

    /// Runs hutch like `hutch`, and also fails the test if its stdout or
    /// stderr is still open `PIPE_GRACE` after it exited: a process it left
    /// behind (a detached container's monitor) must not hold the caller's
    /// terminal or pipes.
    pub fn hutch_closing<S: AsRef<str>>(&self, args: &[S]) -> Run {
        let mut c = self.command(args);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let what = self.describe(args);
        let child = c
            .spawn()
            .unwrap_or_else(|e| panic!("starting command failed: {e}\n{what}"));
        finish_closing(child, what, TIMEOUT)
    }

    /// Pulls `img`, failing the test if the pull fails.
    pub fn pull(&self, img: &str) -> Run {
        self.hutch(&["pull", img]).success()
    }

    /// Directory names under the store's `sub` directory (empty if absent).
    pub fn store_entries(&self, sub: &str) -> Vec<String> {
        list_dir(&self.store().join(sub))
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        // Layers hold files owned by subordinate ids that the test user
        // cannot remove directly; retry inside a user namespace mapping
        // them. tests/run.sh also removes its whole temp tree as root.
        if std::fs::remove_dir_all(&self.dir).is_err() && self.dir.exists() {
            let _ = Command::new("unshare")
                .args(["--map-auto", "--map-root-user", "rm", "-rf"])
                .arg(&self.dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// Sorted entry names of `dir` (empty if it does not exist).
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    };
    v.sort();
    v
}

/// Sets a path's permission bits.
pub fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", p.display()));
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A hutch process started with `Env::spawn`.
pub struct Pending {
    child: Child,
    what: String,
    started: Instant,
}

impl Pending {
    /// Its process id, for signalling it.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it (with the default timeout) and collects its output.
    pub fn wait(self) -> Run {
        finish(
            self.child,
            self.what,
            TIMEOUT.saturating_sub(self.started.elapsed()),
        )
    }
}

/// Runs `c` with piped output and a timeout.
pub fn run_command(mut c: Command, what: String, timeout: Duration) -> Run {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = c
        .spawn()
        .unwrap_or_else(|e| panic!("starting command failed: {e}\n{what}"));
    finish(child, what, timeout)
}

fn finish(mut child: Child, what: String, timeout: Duration) -> Run {
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("waiting for a killed child");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for the command: {e}\n{what}"),
        }
    };
    // A container process that outlives hutch could keep the pipes open;
    // after a timeout do not wait for it.
    let (stdout, stderr) = if timed_out {
        (
            Vec::new(),
            b"(output not collected after the timeout)".to_vec(),
        )
    } else {
        (
            t_out.join().unwrap_or_default(),
            t_err.join().unwrap_or_default(),
        )
    };
    use std::os::unix::process::ExitStatusExt;
    Run {
        what,
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// How long a finished command's stdout and stderr may stay open.
pub const PIPE_GRACE: Duration = Duration::from_secs(5);

/// Like `finish`, but never blocks on pipes that a leftover process holds:
/// fails the test naming the pipe instead.
fn finish_closing(mut child: Child, what: String, timeout: Duration) -> Run {
    let reader = |mut pipe: Box<dyn Read + Send>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = pipe.read_to_end(&mut b);
            let _ = tx.send(b);
        });
        rx
    };
    let rx_out = reader(Box::new(child.stdout.take().expect("stdout is piped")));
    let rx_err = reader(Box::new(child.stderr.take().expect("stderr is piped")));
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("waiting for a killed child");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for the command: {e}\n{what}"),
        }
    };
    let grace = Instant::now() + PIPE_GRACE;
    let stdout = rx_out.recv_timeout(grace.saturating_duration_since(Instant::now()));
    let stderr = rx_err.recv_timeout(grace.saturating_duration_since(Instant::now()));
    use std::os::unix::process::ExitStatusExt;
    let run = Run {
        what,
        code: status.code(),
        signal: status.signal(),
        timed_out,
        stdout: String::from_utf8_lossy(stdout.as_deref().unwrap_or(b"(still open)")).into_owned(),
        stderr: String::from_utf8_lossy(stderr.as_deref().unwrap_or(b"(still open)")).into_owned(),
    };
    if !timed_out && (stdout.is_err() || stderr.is_err()) {
        run.fail(&format!(
            "the command exited but its stdout or stderr was still open {}s later: a process it started kept them",
            PIPE_GRACE.as_secs()
        ));
    }
    run
}

/// Calls `probe` every 100 ms until it returns `Ok`, and fails the test
/// after `timeout` with `what` and the last `Err` (which should say what
/// was seen, e.g. a `Run`).
#[track_caller]
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl FnMut() -> Result<T, String>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match probe() {
            Ok(v) => return v,
            Err(last) if Instant::now() >= deadline => panic!(
                "timed out after {}s waiting for {what}; last seen:\n{last}",
                timeout.as_secs_f32()
            ),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// A finished command and everything needed to explain a failure.
pub struct Run {
    pub what: String,
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.what)?;
        match (self.timed_out, self.code, self.signal) {
            (true, _, _) => writeln!(f, "exit: killed after the {}s timeout", TIMEOUT.as_secs())?,
            (_, Some(c), _) => writeln!(f, "exit: {c}")?,
            (_, None, s) => writeln!(f, "exit: killed by signal {}", s.unwrap_or(0))?,
        }
        writeln!(f, "--- stdout ---\n{}", self.stdout.trim_end())?;
        write!(
            f,
            "--- stderr ---\n{}\n--------------",
            self.stderr.trim_end()
        )
    }
}

impl Run {
    /// Fails the test with `why` and everything about this run.
    #[track_caller]
    pub fn fail(&self, why: &str) -> ! {
        panic!("{why}\n{self}")
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn code(self, want: i32) -> Run {
        if self.code != Some(want) {
            self.fail(&format!("expected exit code {want}"));
        }
        self
    }

    /// Asserts exit code 0.
    #[track_caller]
    pub fn success(self) -> Run {
        self.code(0)
    }

    /// Asserts stdout equals `want` (compared after trimming the end).
    #[track_caller]
    pub fn stdout_is(self, want: &str) -> Run {
        if self.stdout.trim_end() != want.trim_end() {
            self.fail(&format!("expected stdout {want:?}"));
        }
        self
    }

    /// Asserts stdout contains `want`.
    #[track_caller]
    pub fn stdout_has(self, want: &str) -> Run {
        if !self.stdout.contains(want) {
            self.fail(&format!("expected stdout to contain {want:?}"));
        }
        self
    }

    /// Asserts stderr contains `want`.
    #[track_caller]
    pub fn stderr_has(self, want: &str) -> Run {
        if !self.stderr.contains(want) {
            self.fail(&format!("expected stderr to contain {want:?}"));
        }
        self
    }

    /// Asserts stderr is empty but for the once-per-boot cgroup warning
    /// (tests/lifecycle/cgroups.rs checks that one).
    #[track_caller]
    pub fn stderr_empty(self) -> Run {
        if self
            .stderr
            .lines()
            .any(|l| !l.trim().is_empty() && !l.starts_with(CGROUP_WARNING))
        {
            self.fail("expected nothing on stderr");
        }
        self
    }

    /// Lines of stderr starting with `prefix`, but for the once-per-boot
    /// cgroup warning.
    pub fn stderr_lines(&self, prefix: &str) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with(prefix) && !l.starts_with(CGROUP_WARNING))
            .collect()
    }

    /// Asserts a hutch failure: exit 125 and exactly one `Error:` line that
    /// contains each of `parts`.
    #[track_caller]
    pub fn tool_error(self, parts: &[&str]) -> Run {
        self.error_exit(125, parts)
    }

    /// Asserts exit code `code` and exactly one `Error:` line on stderr
    /// that mentions every one of `parts` (Podman's 1 for something
    /// missing, 2 for something in use, …).
    #[track_caller]
    pub fn error_exit(self, code: i32, parts: &[&str]) -> Run {
        let me = self.code(code);
        let errs = me.stderr_lines("Error:");
        if errs.len() != 1 {
            me.fail(&format!(
                "expected exactly one \"Error:\" line, got {}",
                errs.len()
            ));
        }
        for p in parts {
            if !errs[0].contains(p) {
                me.fail(&format!("expected the Error: line to mention {p:?}"));
            }
        }
        me
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| self.fail(&format!("stdout is not JSON: {e}")))
    }
}

/// What a table row expects on stdout.
#[derive(Clone, Copy, Debug)]
pub enum Out {
    /// Exactly this (end trimmed).
    Is(&'static str),
    /// Contains this.
    Has(&'static str),
    /// Anything.
    Any,
}

/// One row of a command table: args (with `{REG}` replaced by the
/// registry), expected exit code and stdout.
pub struct Case {
    pub args: &'static [&'static str],
    pub code: i32,
    pub out: Out,
}

/// Runs every row in `env`, then fails once listing every row that did not
/// match, each with its full run.
#[track_caller]
pub fn check_table(env: &Env, cases: &[Case]) {
    let reg = registry();
    let mut failures = Vec::new();
    for c in cases {
        let args: Vec<String> = c.args.iter().map(|a| a.replace("{REG}", &reg)).collect();
        let r = env.hutch(&args);
        let out_ok = match c.out {
            Out::Is(s) => r.stdout.trim_end() == s.trim_end(),
            Out::Has(s) => r.stdout.contains(s),
            Out::Any => true,
        };
        if r.code != Some(c.code) || !out_ok {
            failures.push(format!(
                "expected exit {} and stdout {:?}\n{r}",
                c.code, c.out
            ));
        }
    }
    if !failures.is_empty() {
        panic!(
            "{} of {} rows failed:\n\n{}",
            failures.len(),
            cases.len(),
            failures.join("\n\n")
        );
    }
}

/// A pseudo-terminal whose output a thread collects.
pub struct Pty {
    /// The master side, for writing keystrokes.
    pub master: std::fs::File,
    /// The slave side, for the program's stdio.
    pub slave: std::os::fd::OwnedFd,
    output: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Pty {
    /// Opens a pty of `rows` x `cols` and starts collecting its output.
    pub fn open(rows: u16, cols: u16) -> Pty {
        let ws = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let p = nix::pty::openpty(Some(&ws), None).expect("openpty");
        let master = std::fs::File::from(p.master);
        let mut reader = master.try_clone().expect("dup pty master");
        let output = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = output.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("pty buffer")
                    .extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master,
            slave: p.slave,
            output,
        }
    }

    /// Everything the program wrote so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("pty buffer")).into_owned()
    }

    /// Waits until the output after byte `from` contains `want`.
    pub fn wait_for(&self, from: usize, want: &str, timeout: Duration) -> Result<usize, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let t = self.text();
            if t.len() >= from && t[from..].contains(want) {
                return Ok(t.len());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no {want:?} within {}s; terminal output so far:\n{t:?}",
                    timeout.as_secs()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The terminal settings of `fd`, as text to compare before and after.
pub fn termios_key(fd: &std::os::fd::OwnedFd) -> String {
    let t = nix::sys::termios::tcgetattr(fd).expect("tcgetattr");
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        t.input_flags, t.output_flags, t.control_flags, t.local_flags, t.control_chars
    )
}

impl Pty {
    /// Types each input (an empty one types nothing) and waits up to 60 s
    /// for its expected output; kills `child` and fails, naming `what`, on
    /// a miss.
    pub fn converse(&self, child: &mut Child, what: &str, steps: &[(&str, &str)]) {
        let mut master = self.master.try_clone().expect("dup pty master");
        let mut at = 0;
        for (input, want) in steps {
            if !input.is_empty() {
                master
                    .write_all(input.as_bytes())
                    .expect("writing to the pty");
            }
            match self.wait_for(at, want, Duration::from_secs(60)) {
                Ok(n) => at = n,
                Err(e) => {
                    let _ = child.kill();
                    panic!("{what}\nafter typing {input:?}: {e}");
                }
            }
        }
    }

    /// Waits up to 30 s for `child` to exit; kills it and fails, naming
    /// `what`, when it does not.
    pub fn wait_exit(&self, child: &mut Child, what: &str) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(s) = child.try_wait().expect("waiting for hutch") {
                return s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "{what}\nhutch did not exit after `exit 3`; terminal output:\n{:?}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
