//! A container as plain data, computed without I/O before the first fork.
//!
//! The rules follow how Docker applies an image config to `run` flags, so
//! images behave the same under hutch.

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
            version: crate::runtime::plan::SPEC_VERSION,
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
            origin: Default::default(),
            root_entry: None,
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
    // Podman sets TERM with or without -t; shells and curses programs
    // expect one.
    env.set_default("TERM", "xterm");
    // Podman's value: scripts written for Podman test for it, and
    // systemd's detection accepts any (docs/compat.md).
    env.set_default("container", "podman");
    Ok(env.into_entries())
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
                "container=podman",
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
                "HOSTNAME=mine",
                "container=other",
                "TERM=vt100",
                &format!("PATH={DEFAULT_PATH}")
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
