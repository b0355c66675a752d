//! A container as plain data, computed without I/O before the first fork.
//!
//! The rules follow how Docker applies an image config to `run` flags, so
//! images behave the same under hutch.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::logread::LogConfig;
use crate::image::RuntimeConfig;
use crate::net::NetworkPlan;
use crate::runtime::plan::{set_entries, EnvList, DEFAULT_PATH, DEFAULT_USER};
use crate::runtime::security::Security;
use crate::runtime::volumes::Volumes;
use crate::runtime::Plan;
use crate::storage::ContainerDirs;
use crate::userns::IdMaps;

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
    /// What else shapes the environment.
    pub env_options: EnvOptions,
    /// `--rm`: remove the container when it exits.
    pub remove: bool,
    /// `--log-driver` and `--log-opt`, already checked.
    pub log: LogConfig,
    /// Capabilities, no_new_privs, masked paths, read-only root.
    pub security: Security,
    /// Cgroup placement and limits.
    pub cgroups: crate::cgroup::Options,
    /// Resource limits, OOM score adjustment and `--init`.
    pub hardening: crate::runtime::hardening::Hardening,
    /// Network mode, published ports, DNS and hosts entries.
    pub network: NetworkPlan,
    /// The labels: the image's, with `--label`'s over them.
    pub labels: BTreeMap<String, String>,
    /// `--annotation`.
    pub annotations: BTreeMap<String, String>,
    /// Pid files and the other management flags, checked.
    pub manage: crate::runtime::plan::Management,
    /// `--stop-signal`, checked: instead of the image's StopSignal.
    pub manage_stop_signal: Option<String>,
    /// `--umask`, `--tz`, `--shm-size` and `--sysctl`, checked.
    pub tuning: crate::runtime::tuning::Tuning,
}

/// The environment flags besides `-e` and `--env-file` (#13).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct EnvOptions {
    /// `--unsetenv`: drop these from the image's and the default
    /// variables (not from `-e`).
    pub unset: Vec<String>,
    /// `--unsetenv-all`: none of the image's or the default variables.
    pub is_unset_all: bool,
    /// `--env-host`: every variable of hutch's environment, under `-e`.
    pub is_host: bool,
    /// The host's variables for `is_host`, filled in by the engine.
    pub host_vars: Vec<(String, String)>,
    /// `--hpc`: the host's variables whose names start with one of these
    /// (the MPI launcher's and Slurm's), under `-e`.
    pub host_prefixes: Vec<String>,
    /// `--env-merge NAME=VALUE`: a new value for a variable the image or
    /// the defaults set, `$NAME` and `${NAME}` in it expanded.
    pub merge: Vec<String>,
    /// `--http-proxy` (default true): the host's proxy variables, under
    /// the image's.
    pub is_proxied: bool,
}

impl EnvOptions {
    /// Takes the host's variables the options pass on from `vars` (the
    /// host's environment): every one with `--env-host`, else those whose
    /// names start with one of `host_prefixes`.
    pub fn fill_host_vars(&mut self, vars: impl Iterator<Item = (String, String)>) {
        let prefixes = &self.host_prefixes;
        if self.is_host {
            self.host_vars = vars.collect();
        } else if !prefixes.is_empty() {
            self.host_vars = vars
                .filter(|(n, _)| prefixes.iter().any(|p| n.starts_with(p.as_str())))
                .collect();
        }
    }
}

impl Default for EnvOptions {
    fn default() -> EnvOptions {
        EnvOptions {
            unset: Vec::new(),
            is_unset_all: false,
            is_host: false,
            host_vars: Vec::new(),
            host_prefixes: Vec::new(),
            merge: Vec::new(),
            is_proxied: true,
        }
    }
}

/// The proxy variables `--http-proxy` copies from the host, as Podman.
const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "https_proxy",
    "ftp_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "FTP_PROXY",
    "NO_PROXY",
];

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
            version: crate::runtime::plan::SPEC_VERSION,
            id,
            dirs,
            lowers,
            rootfs: None,
            maps,
            hostname: process.hostname,
            args: process.args,
            env: process.env,
            cwd: process.cwd,
            may_create_workdir: opts.workdir.is_none(),
            user: process.user,
            tty: opts.tty,
            interactive: opts.interactive,
            auto_remove: opts.remove,
            stop_signal: opts
                .manage_stop_signal
                .clone()
                .or_else(|| Some(config.stop_signal.clone()).filter(|s| !s.is_empty())),
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
            origin: Default::default(),
            root_entry: None,
            labels: opts.labels.clone(),
            annotations: opts.annotations.clone(),
            manage: opts.manage.clone(),
            tuning: opts.tuning.clone(),
            secrets: Vec::new(),
            request: None,
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
/// An `--entrypoint` that is a JSON array of strings is that argv, as in
/// Podman (`'["/bin/echo","x"]'`).
fn plan_args(config: &RuntimeConfig, opts: &RunOptions) -> Result<Vec<String>, super::Error> {
    let (entrypoint, image_cmd) = match &opts.entrypoint {
        Some(e) if e.is_empty() => (Vec::new(), Vec::new()),
        // Podman keeps the image's cmd only for an empty JSON entrypoint.
        Some(e) => match entrypoint_words(e) {
            argv if argv.is_empty() => (argv, config.cmd.clone()),
            argv => (argv, Vec::new()),
        },
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

/// The words of an `--entrypoint`: none when empty, a JSON array's
/// strings, else the one word.
pub(super) fn entrypoint_words(e: &str) -> Vec<String> {
    match e.is_empty() {
        true => Vec::new(),
        false => serde_json::from_str(e).unwrap_or_else(|_| vec![e.to_string()]),
    }
}

/// As Podman builds it: the image's Env over the defaults (and the host's
/// proxy variables), `--env-merge`d and `--unsetenv`'d; then the host's
/// variables with `--env-host`, env-file lines and `-e` (later wins); then
/// HOSTNAME unless set.
fn plan_env(
    config: &RuntimeConfig,
    opts: &RunOptions,
    hostname: &str,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>, super::Error> {
    let o = &opts.env_options;
    let mut env = EnvList::default();
    if !o.is_unset_all {
        for entry in &config.env {
            // The image's entries always carry `=`; a bare name there means nothing.
            if let Some((name, value)) = entry.split_once('=') {
                env.set(name, value);
            }
        }
        env.set_default("PATH", DEFAULT_PATH);
        // Podman sets TERM with or without -t; shells and curses programs
        // expect one.
        env.set_default("TERM", "xterm");
        // Podman's value: scripts written for Podman test for it, and
        // systemd's detection accepts any (docs/compat.md).
        env.set_default("container", "podman");
        if o.is_proxied {
            for name in PROXY_VARS {
                if let Some(value) = host_env(name) {
                    env.set_default(name, &value);
                }
            }
        }
        for m in &o.merge {
            merge_entry(&mut env, m)?;
        }
        for name in &o.unset {
            env.remove(name);
        }
    }
    for (name, value) in &o.host_vars {
        env.set(name, value);
    }
    set_entries(&mut env, opts.env_files.iter().chain(&opts.env), host_env)?;
    env.set_default("HOSTNAME", hostname);
    Ok(env.into_entries())
}

/// `--env-merge NAME=VALUE`: sets NAME to VALUE with the current
/// variables expanded in it, when NAME is set at all (Podman ignores the
/// others).
fn merge_entry(env: &mut EnvList, entry: &str) -> Result<(), super::Error> {
    let Some((name, value)) = entry.split_once('=').filter(|(n, _)| !n.is_empty()) else {
        return Err(crate::runtime::Error::InvalidEnv(entry.to_string()).into());
    };
    if env.get(name).is_some() {
        let expanded = expand_vars(value, &|n| env.get(n).map(str::to_string));
        env.set(name, &expanded);
    }
    Ok(())
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-WORD}` and `${NAME:+WORD}` in
/// `text` with `lookup` (unset: empty), as a Dockerfile word is; `\$`
/// is a literal `$`.
fn expand_vars(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'$') => out.push(chars.next().unwrap_or('$')),
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                let mut inner = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    inner.push(c);
                }
                out.push_str(&expand_braced(&inner, lookup));
            }
            '$' if chars
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_') =>
            {
                let mut name = String::new();
                while let Some(c) = chars
                    .peek()
                    .filter(|c| c.is_ascii_alphanumeric() || **c == '_')
                {
                    name.push(*c);
                    chars.next();
                }
                out.push_str(&lookup(&name).unwrap_or_default());
            }
            c => out.push(c),
        }
    }
    out
}

/// The value of `${INNER}`: `NAME`, `NAME:-WORD` or `NAME:+WORD`.
fn expand_braced(inner: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    if let Some((name, word)) = inner.split_once(":-") {
        return lookup(name)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| word.to_string());
    }
    if let Some((name, word)) = inner.split_once(":+") {
        return match lookup(name).filter(|v| !v.is_empty()) {
            Some(_) => word.to_string(),
            None => String::new(),
        };
    }
    lookup(inner).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::Error;
    use crate::error::Diagnose;

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
            // issue #13 item 4: the JSON form.
            Case {
                entrypoint: &["/ep"],
                cmd: &["a"],
                flag: Some(r#"["/bin/echo","x"]"#),
                command: &["y"],
                want: &["/bin/echo", "x", "y"],
            },
            Case {
                entrypoint: &["/ep"],
                cmd: &["a"],
                flag: Some("[]"),
                command: &[],
                want: &["a"],
            },
            Case {
                entrypoint: &["/ep"],
                cmd: &["a"],
                flag: Some("[not json"),
                command: &[],
                want: &["[not json"],
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
                "TERM=xterm",
                "container=podman",
                "C=flag",
                "FROM_HOST=host value",
                "D=x=y",
                "HOSTNAME=0123456789ab",
            ])
        );
    }

    #[test]
    fn env_defaults_path_and_lets_flags_override_defaults() {
        let opts = RunOptions {
            env: strings(&["HOSTNAME=mine", "container=other", "TERM=vt100"]),
            hostname: Some("box".into()),
            ..RunOptions::default()
        };
        let got = process(&image(&[], &["sh"]), &opts).unwrap().env;
        assert_eq!(
            got,
            strings(&[
                &format!("PATH={DEFAULT_PATH}"),
                "TERM=vt100",
                "container=other",
                "HOSTNAME=mine",
            ])
        );
        // Without -t too, as in Podman; the image's TERM wins.
        let got = process(&image(&[], &["sh"]), &RunOptions::default())
            .unwrap()
            .env;
        assert!(got.contains(&"TERM=xterm".to_string()), "{got:?}");
        let mut config = image(&[], &["sh"]);
        config.env = strings(&["TERM=dumb"]);
        let got = process(&config, &RunOptions::default()).unwrap().env;
        assert_eq!(got.iter().filter(|e| e.starts_with("TERM=")).count(), 1);
        assert!(got.contains(&"TERM=dumb".to_string()), "{got:?}");
    }

    #[test]
    fn env_flags_unset_merge_and_copy_as_podman_does() {
        // issue #13 item 3, each compared with Podman 4.3.
        let mut config = image(&[], &["sh"]);
        config.env = strings(&["PATH=/img/bin", "A=image", "B=image"]);
        let host = |name: &str| match name {
            "http_proxy" => Some("http://p:1".to_string()),
            "NO_PROXY" => Some("x".to_string()),
            _ => None,
        };
        let env = |o: EnvOptions, e: &[&str]| {
            let opts = RunOptions {
                env: strings(e),
                env_options: o,
                ..RunOptions::default()
            };
            plan_process(ID, &config, &opts, &host).unwrap().env
        };
        // --http-proxy (the default) copies the host's proxy variables.
        assert_eq!(
            env(EnvOptions::default(), &[]),
            strings(&[
                "PATH=/img/bin",
                "A=image",
                "B=image",
                "TERM=xterm",
                "container=podman",
                "http_proxy=http://p:1",
                "NO_PROXY=x",
                "HOSTNAME=0123456789ab",
            ])
        );
        let no_proxy = EnvOptions {
            is_proxied: false,
            ..EnvOptions::default()
        };
        // --unsetenv drops the image's and the defaults, not -e's.
        let got = env(
            EnvOptions {
                unset: strings(&["A", "TERM", "C"]),
                ..no_proxy.clone()
            },
            &["C=flag"],
        );
        assert_eq!(
            got,
            strings(&[
                "PATH=/img/bin",
                "B=image",
                "container=podman",
                "C=flag",
                "HOSTNAME=0123456789ab"
            ])
        );
        // --unsetenv-all: only -e, --env-host and HOSTNAME.
        let got = env(
            EnvOptions {
                is_unset_all: true,
                host_vars: vec![("H".into(), "host".into())],
                ..EnvOptions::default()
            },
            &["C=flag", "H=flag"],
        );
        assert_eq!(got, strings(&["H=flag", "C=flag", "HOSTNAME=0123456789ab"]));
        // --env-merge changes only what is set, expanding the old value.
        let got = env(
            EnvOptions {
                merge: strings(&["PATH=${PATH}:/extra", "X=${NOPE}y", "B=$A-${B}"]),
                ..no_proxy
            },
            &[],
        );
        assert!(got.contains(&"PATH=/img/bin:/extra".to_string()), "{got:?}");
        assert!(got.contains(&"B=image-image".to_string()), "{got:?}");
        assert!(!got.iter().any(|e| e.starts_with("X=")), "{got:?}");
    }

    #[test]
    fn expand_vars_reads_dockerfile_words() {
        let lookup = |n: &str| match n {
            "A" => Some("a".to_string()),
            "E" => Some(String::new()),
            _ => None,
        };
        let cases = [
            ("$A", "a"),
            ("${A}b", "ab"),
            ("x$A_y", "x"),
            ("${NOPE:-d}", "d"),
            ("${E:-d}", "d"),
            ("${A:-d}", "a"),
            ("${A:+set}", "set"),
            ("${NOPE:+set}", ""),
            ("\\$A", "$A"),
            ("$", "$"),
            ("a=b", "a=b"),
        ];
        for (text, want) in cases {
            assert_eq!(expand_vars(text, &lookup), want, "{text}");
        }
    }

    #[test]
    fn hpc_prefixes_take_only_the_launchers_variables() {
        let host = || {
            [
                ("OMPI_X", "1"),
                ("PMIX_Y", "2"),
                ("HOME", "/h"),
                ("SLURM_JOB_ID", "7"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
        };
        let mut o = EnvOptions {
            host_prefixes: vec!["OMPI_".into(), "PMIX_".into(), "SLURM_".into()],
            ..EnvOptions::default()
        };
        o.fill_host_vars(host());
        let names: Vec<&str> = o.host_vars.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["OMPI_X", "PMIX_Y", "SLURM_JOB_ID"]);
        o.is_host = true;
        o.fill_host_vars(host());
        assert_eq!(o.host_vars.len(), 4);
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
                    Err(Error::Runtime(crate::runtime::Error::InvalidEnv(_)))
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
}
