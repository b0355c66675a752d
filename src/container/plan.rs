//! A container as plain data, computed without I/O before the first fork.
//!
//! The rules follow how Docker applies an image config to `run` flags, so
//! images behave the same under hutch.

use std::path::PathBuf;

use super::logread::{LogConfig, LogDriver};
use super::security::Security;
use super::volumes::Volumes;
use crate::image::RuntimeConfig;
use crate::net::NetworkPlan;
use crate::storage::ContainerDirs;
use crate::userns::IdMaps;

/// `PATH` when neither the image nor the user sets one (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The user a container runs as when neither `-u` nor the image says: uid 0,
/// numeric so that images without /etc/passwd still work.
pub const DEFAULT_USER: &str = "0";

/// How many characters of the container id make the default host name.
const SHORT_ID_LEN: usize = 12;

/// What the user asked for on the `run` command line.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Command and arguments after the image name.
    pub command: Vec<String>,
    /// `--entrypoint`: `Some("")` clears the image's entrypoint.
    pub entrypoint: Option<String>,
    /// `-e`, in order (`NAME=VALUE`, or `NAME` to copy from the host).
    pub env: Vec<String>,
    /// Lines of each `--env-file`, already read, in order.
    pub env_files: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u user[:group]`.
    pub user: Option<String>,
    /// `--hostname`.
    pub hostname: Option<String>,
    /// `-i`.
    pub interactive: bool,
    /// `-t`.
    pub tty: bool,
    /// `--rm`: remove the container when it exits.
    pub remove: bool,
    /// `--log-driver` and `--log-opt`, already checked.
    pub log: LogConfig,
    /// Capabilities, no_new_privs, masked paths, read-only root.
    pub security: Security,
    /// Cgroup placement and limits.
    pub cgroups: crate::cgroup::Options,
    /// Resource limits, OOM score adjustment and `--init`.
    pub hardening: super::hardening::Hardening,
    /// Network mode, published ports, DNS and hosts entries.
    pub network: NetworkPlan,
}

/// Everything needed to start one container; stored as JSON (the
/// container's spec) so that a detached monitor can start it later.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    /// Container id (64 hex).
    pub id: String,
    /// The container's directories in the store.
    pub dirs: ContainerDirs,
    /// Unpacked layer directories, top first (overlay lowerdir order).
    pub lowers: Vec<PathBuf>,
    /// uid/gid maps.
    pub maps: IdMaps,
    /// Host name inside the container.
    pub hostname: String,
    /// argv of the process.
    pub args: Vec<String>,
    /// Environment of the process, `NAME=VALUE`.
    pub env: Vec<String>,
    /// Working directory inside the container.
    pub cwd: String,
    /// `user[:group]` to resolve against the container's /etc/passwd and /etc/group.
    pub user: String,
    /// Allocate a pseudo-terminal.
    pub tty: bool,
    /// Keep stdin open (else the process gets /dev/null).
    pub interactive: bool,
    /// Remove the container when it exits (`--rm`).
    #[serde(default)]
    pub auto_remove: bool,
    /// The image's StopSignal (`SIGTERM`, `15`…), if it sets one.
    #[serde(default)]
    pub stop_signal: Option<String>,
    /// Where the container's output goes (`--log-driver`).
    #[serde(default)]
    pub log_driver: LogDriver,
    /// Rotate the log once it would grow past this many bytes (`--log-opt max-size`).
    #[serde(default)]
    pub log_max_size: Option<u64>,
    /// The log file, when `--log-opt path` moved it out of the container directory.
    #[serde(default)]
    pub log_path: Option<PathBuf>,
    /// How the process is confined; plans stored before #6 get the defaults.
    #[serde(default)]
    pub security: Security,
    /// Where the container's cgroup goes and its resource limits.
    #[serde(default)]
    pub cgroups: crate::cgroup::Options,
    /// Resource limits, OOM score adjustment and `--init` (#6); plans
    /// stored before them get none.
    #[serde(default)]
    pub hardening: super::hardening::Hardening,
    /// Bind mounts, volumes and tmpfs mounts (#7); none in older plans.
    #[serde(default)]
    pub volumes: Volumes,
    /// keep-id user, --group-add and --device (#7).
    #[serde(default)]
    pub identity: super::identity::Identity,
    /// How the container is connected; plans stored before #4 get
    /// loopback only, as they had.
    #[serde(default)]
    pub network: NetworkPlan,
    /// The pod whose namespaces the container joins (its id), if any.
    #[serde(default)]
    pub pod: Option<String>,
}

impl Plan {
    /// Builds the plan for running `config`'s image with `opts`.
    pub fn new(
        id: String,
        dirs: ContainerDirs,
        lowers: Vec<PathBuf>,
        maps: IdMaps,
        config: &RuntimeConfig,
        opts: &RunOptions,
    ) -> Result<Plan, super::Error> {
        let process = plan_process(&id, config, opts, &|name| std::env::var(name).ok())?;
        Ok(Plan {
            id,
            dirs,
            lowers,
            maps,
            hostname: process.hostname,
            args: process.args,
            env: process.env,
            cwd: process.cwd,
            user: process.user,
            tty: opts.tty,
            interactive: opts.interactive,
            auto_remove: opts.remove,
            stop_signal: Some(config.stop_signal.clone()).filter(|s| !s.is_empty()),
            log_driver: opts.log.driver,
            log_max_size: opts.log.max_size,
            log_path: opts.log.path.clone(),
            security: opts.security.clone(),
            cgroups: opts.cgroups.clone(),
            hardening: opts.hardening.clone(),
            volumes: Volumes::default(),
            identity: Default::default(),
            network: opts.network.clone(),
            pod: None,
        })
    }
}

/// The process part of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    hostname: String,
    args: Vec<String>,
    env: Vec<String>,
    cwd: String,
    user: String,
}

/// Computes the process part of a plan; `host_env` looks up the host's
/// variables for `-e NAME`, so tests need not touch the real environment.
fn plan_process(
    id: &str,
    config: &RuntimeConfig,
    opts: &RunOptions,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Process, super::Error> {
    let args = plan_args(config, opts)?;
    let hostname = match &opts.hostname {
        Some(h) => h.clone(),
        None => id.chars().take(SHORT_ID_LEN).collect(),
    };
    let env = plan_env(config, opts, &hostname, host_env)?;
    let cwd = match &opts.workdir {
        Some(w) if !w.starts_with('/') => return Err(super::Error::RelativeWorkdir(w.clone())),
        Some(w) => w.clone(),
        // Docker resolves a relative image WorkingDir against `/`.
        None if !config.working_dir.is_empty() && !config.working_dir.starts_with('/') => {
            format!("/{}", config.working_dir)
        }
        None if !config.working_dir.is_empty() => config.working_dir.clone(),
        None => "/".to_string(),
    };
    let user = match &opts.user {
        Some(u) if !u.is_empty() => u.clone(),
        _ if !config.user.is_empty() => config.user.clone(),
        _ => DEFAULT_USER.to_string(),
    };
    Ok(Process {
        hostname,
        args,
        env,
        cwd,
        user,
    })
}

/// argv = entrypoint + cmd, where `--entrypoint` replaces the image's
/// entrypoint and drops its cmd, and command-line args replace the cmd.
fn plan_args(config: &RuntimeConfig, opts: &RunOptions) -> Result<Vec<String>, super::Error> {
    let (entrypoint, image_cmd) = match &opts.entrypoint {
        Some(e) if e.is_empty() => (Vec::new(), Vec::new()),
        Some(e) => (vec![e.clone()], Vec::new()),
        None => (config.entrypoint.clone(), config.cmd.clone()),
    };
    let cmd = if opts.command.is_empty() {
        image_cmd
    } else {
        opts.command.clone()
    };
    let args: Vec<String> = entrypoint.into_iter().chain(cmd).collect();
    if args.is_empty() {
        return Err(super::Error::NoCommand);
    }
    Ok(args)
}

/// Image Env, then env-file lines, then `-e` (later wins), then defaults
/// for what is still unset.
fn plan_env(
    config: &RuntimeConfig,
    opts: &RunOptions,
    hostname: &str,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, super::Error> {
    let mut env = EnvList::default();
    for entry in &config.env {
        // The image's entries always carry `=`; a bare name there means nothing.
        if let Some((name, value)) = entry.split_once('=') {
            env.set(name, value);
        }
    }
    set_entries(&mut env, opts.env_files.iter().chain(&opts.env), host_env)?;
    env.set_default("PATH", DEFAULT_PATH);
    env.set_default("HOSTNAME", hostname);
    if opts.tty {
        env.set_default("TERM", "xterm");
    }
    env.set_default("container", "hutch");
    Ok(env.into_entries())
}

/// The environment of a process started in a running container whose
/// process has `base`: then `env_files` lines and `-e` entries (later
/// wins), and `TERM` with a tty when still unset.
pub fn exec_env(
    base: &[String],
    env_files: &[String],
    entries: &[String],
    tty: bool,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, super::Error> {
    let mut env = EnvList::default();
    for entry in base {
        if let Some((name, value)) = entry.split_once('=') {
            env.set(name, value);
        }
    }
    set_entries(&mut env, env_files.iter().chain(entries), host_env)?;
    if tty {
        env.set_default("TERM", "xterm");
    }
    Ok(env.into_entries())
}

/// Sets `-e` style `entries` (`NAME=VALUE`, or `NAME` to copy it from
/// `host_env` when set there) in `env`.
fn set_entries<'a>(
    env: &mut EnvList,
    entries: impl IntoIterator<Item = &'a String>,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), super::Error> {
    for entry in entries {
        match entry.split_once('=') {
            Some(("", _)) => return Err(super::Error::InvalidEnv(entry.clone())),
            Some((name, value)) => env.set(name, value),
            None if entry.is_empty() => return Err(super::Error::InvalidEnv(entry.clone())),
            None => {
                if let Some(value) = host_env(entry) {
                    env.set(entry, &value);
                }
            }
        }
    }
    Ok(())
}

/// An ordered environment where setting a name again replaces its value in place.
#[derive(Default)]
struct EnvList(Vec<(String, String)>);

impl EnvList {
    fn set(&mut self, name: &str, value: &str) {
        match self.0.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.0.push((name.to_string(), value.to_string())),
        }
    }

    fn set_default(&mut self, name: &str, value: &str) {
        if !self.0.iter().any(|(n, _)| n == name) {
            self.0.push((name.to_string(), value.to_string()));
        }
    }

    fn into_entries(self) -> Vec<String> {
        self.0
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::Error;

    const ID: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn image(entrypoint: &[&str], cmd: &[&str]) -> RuntimeConfig {
        RuntimeConfig {
            entrypoint: entrypoint.iter().map(|s| s.to_string()).collect(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            ..RuntimeConfig::default()
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn no_host_env(_: &str) -> Option<String> {
        None
    }

    fn process(config: &RuntimeConfig, opts: &RunOptions) -> Result<Process, Error> {
        plan_process(ID, config, opts, &no_host_env)
    }

    #[test]
    fn args_follow_docker_entrypoint_and_cmd_rules() {
        struct Case {
            entrypoint: &'static [&'static str],
            cmd: &'static [&'static str],
            flag: Option<&'static str>,
            command: &'static [&'static str],
            want: &'static [&'static str],
        }
        let cases = [
            Case {
                entrypoint: &[],
                cmd: &["sh"],
                flag: None,
                command: &[],
                want: &["sh"],
            },
            Case {
                entrypoint: &[],
                cmd: &["sh"],
                flag: None,
                command: &["echo", "hi"],
                want: &["echo", "hi"],
            },
            Case {
                entrypoint: &["/ep", "-x"],
                cmd: &["a"],
                flag: None,
                command: &[],
                want: &["/ep", "-x", "a"],
            },
            Case {
                entrypoint: &["/ep"],
                cmd: &["a"],
                flag: None,
                command: &["b", "c"],
                want: &["/ep", "b", "c"],
            },
            Case {
                entrypoint: &["/ep"],
                cmd: &["a"],
                flag: Some("/other"),
                command: &[],
                want: &["/other"],
            },
            Case {
                entrypoint: &["/ep"],
                cmd: &["a"],
                flag: Some("/other"),
                command: &["b"],
                want: &["/other", "b"],
            },
            Case {
                entrypoint: &["/ep"],
                cmd: &["a"],
                flag: Some(""),
                command: &["ls"],
                want: &["ls"],
            },
        ];
        for c in cases {
            let opts = RunOptions {
                entrypoint: c.flag.map(String::from),
                command: strings(c.command),
                ..RunOptions::default()
            };
            let got = process(&image(c.entrypoint, c.cmd), &opts).unwrap().args;
            assert_eq!(
                got,
                strings(c.want),
                "entrypoint {:?} cmd {:?} flag {:?} command {:?}",
                c.entrypoint,
                c.cmd,
                c.flag,
                c.command
            );
        }
    }

    #[test]
    fn plan_fails_without_any_command() {
        let opts = RunOptions {
            entrypoint: Some(String::new()),
            ..RunOptions::default()
        };
        assert!(matches!(
            process(&image(&["/ep"], &["a"]), &opts),
            Err(Error::NoCommand)
        ));
        assert!(matches!(
            process(&image(&[], &[]), &RunOptions::default()),
            Err(Error::NoCommand)
        ));
    }

    #[test]
    fn env_layers_image_files_flags_and_defaults() {
        let mut config = image(&[], &["sh"]);
        config.env = strings(&["PATH=/img/bin", "A=image", "B=image"]);
        let opts = RunOptions {
            env_files: strings(&["B=file", "C=file"]),
            env: strings(&["C=flag", "FROM_HOST", "MISSING", "D=x=y"]),
            tty: true,
            ..RunOptions::default()
        };
        let host = |name: &str| (name == "FROM_HOST").then(|| "host value".to_string());
        let got = plan_process(ID, &config, &opts, &host).unwrap().env;
        assert_eq!(
            got,
            strings(&[
                "PATH=/img/bin",
                "A=image",
                "B=file",
                "C=flag",
                "FROM_HOST=host value",
                "D=x=y",
                "HOSTNAME=0123456789ab",
                "TERM=xterm",
                "container=hutch",
            ])
        );
    }

    #[test]
    fn env_defaults_path_and_lets_flags_override_defaults() {
        let opts = RunOptions {
            env: strings(&["HOSTNAME=mine", "container=other"]),
            hostname: Some("box".into()),
            ..RunOptions::default()
        };
        let got = process(&image(&[], &["sh"]), &opts).unwrap().env;
        assert_eq!(
            got,
            strings(&[
                "HOSTNAME=mine",
                "container=other",
                &format!("PATH={DEFAULT_PATH}")
            ])
        );
    }

    #[test]
    fn exec_env_layers_files_and_flags_over_the_container_env() {
        let base = strings(&["PATH=/bin", "A=run", "B=run", "HOSTNAME=box"]);
        let host = |name: &str| (name == "FROM_HOST").then(|| "h".to_string());
        let got = exec_env(
            &base,
            &strings(&["B=file", "C=file"]),
            &strings(&["C=flag", "A=flag", "FROM_HOST", "MISSING"]),
            true,
            &host,
        )
        .unwrap();
        assert_eq!(
            got,
            strings(&[
                "PATH=/bin",
                "A=flag",
                "B=file",
                "HOSTNAME=box",
                "C=flag",
                "FROM_HOST=h",
                "TERM=xterm",
            ])
        );
        let with_term = strings(&["TERM=vt100"]);
        assert_eq!(
            exec_env(&with_term, &[], &[], true, &no_host_env).unwrap(),
            with_term
        );
        assert_eq!(
            exec_env(&base, &[], &[], false, &no_host_env).unwrap(),
            base
        );
        assert!(matches!(
            exec_env(&base, &[], &strings(&["=x"]), false, &no_host_env),
            Err(Error::InvalidEnv(_))
        ));
    }

    #[test]
    fn env_rejects_empty_names() {
        for bad in ["=x", ""] {
            let opts = RunOptions {
                env: strings(&[bad]),
                ..RunOptions::default()
            };
            assert!(
                matches!(
                    process(&image(&[], &["sh"]), &opts),
                    Err(Error::InvalidEnv(_))
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hostname_defaults_to_short_id() {
        let p = process(&image(&[], &["sh"]), &RunOptions::default()).unwrap();
        assert_eq!(p.hostname, "0123456789ab");
        let opts = RunOptions {
            hostname: Some("box".into()),
            ..RunOptions::default()
        };
        assert_eq!(
            process(&image(&[], &["sh"]), &opts).unwrap().hostname,
            "box"
        );
    }

    #[test]
    fn workdir_prefers_flag_then_image_then_root() {
        let mut config = image(&[], &["sh"]);
        assert_eq!(process(&config, &RunOptions::default()).unwrap().cwd, "/");
        config.working_dir = "/srv".into();
        assert_eq!(
            process(&config, &RunOptions::default()).unwrap().cwd,
            "/srv"
        );
        let opts = RunOptions {
            workdir: Some("/tmp/x".into()),
            ..RunOptions::default()
        };
        assert_eq!(process(&config, &opts).unwrap().cwd, "/tmp/x");
        config.working_dir = "app".into();
        assert_eq!(
            process(&config, &RunOptions::default()).unwrap().cwd,
            "/app"
        );
    }

    #[test]
    fn workdir_flag_must_be_absolute() {
        let opts = RunOptions {
            workdir: Some("rel".into()),
            ..RunOptions::default()
        };
        let err = process(&image(&[], &["sh"]), &opts).unwrap_err();
        assert!(matches!(err, Error::RelativeWorkdir(ref w) if w == "rel"));
        assert_eq!(err.exit_code(), crate::error::EXIT_TOOL);
    }

    #[test]
    fn user_prefers_flag_then_image_then_root() {
        let mut config = image(&[], &["sh"]);
        assert_eq!(
            process(&config, &RunOptions::default()).unwrap().user,
            DEFAULT_USER
        );
        config.user = "nobody".into();
        assert_eq!(
            process(&config, &RunOptions::default()).unwrap().user,
            "nobody"
        );
        let opts = RunOptions {
            user: Some("1000:1000".into()),
            ..RunOptions::default()
        };
        assert_eq!(process(&config, &opts).unwrap().user, "1000:1000");
    }

    #[test]
    fn specs_from_before_log_options_parse_with_the_default_driver() {
        let old = serde_json::json!({
            "id": ID,
            "dirs": {"dir": "/s/c", "upper": "/s/c/upper", "work": "/s/c/work", "merged": "/s/c/merged"},
            "lowers": [],
            "maps": {"uids": [], "gids": [], "fallback_reason": null},
            "hostname": "h",
            "args": ["sh"],
            "env": [],
            "cwd": "/",
            "user": "0",
            "tty": false,
            "interactive": false
        });
        let plan: Plan = serde_json::from_value(old).unwrap();
        assert_eq!(plan.log_driver, LogDriver::K8sFile);
        assert_eq!(plan.log_max_size, None);
        assert_eq!(plan.log_path, None);
    }
}
