//! The instructions that only change the image config: `ENV`,
//! `LABEL`, `WORKDIR`, `USER`, `CMD`, `ENTRYPOINT`, `EXPOSE`, `VOLUME`,
//! `STOPSIGNAL`, `SHELL`, `ONBUILD`, `MAINTAINER` and `HEALTHCHECK`, with
//! Docker's rules (variables expanded where Docker expands them, an
//! `ENTRYPOINT` dropping the inherited `CMD`). Each is one step: an image
//! whose history entry is an empty layer.

use serde_json::{json, Value};

use super::config;
use super::exec::{Build, Current};
use super::StepError;
use crate::image::containerfile::{self, Command, Instruction, Kind};

impl Build<'_> {
    /// The config instructions.
    pub fn config_instruction(
        &mut self,
        cur: &mut Current,
        ins: &Instruction,
    ) -> Result<(), StepError> {
        let shell = cur.shell();
        let as_argv = |c: &Command| match c {
            Command::Exec(argv) => argv.clone(),
            Command::Shell(s) => shell.iter().cloned().chain([s.clone()]).collect(),
        };
        let text = ins.text.clone();
        match &ins.kind {
            Kind::Env(pairs) => {
                let mut expanded = Vec::new();
                let mut scope = cur.clone();
                for (k, v) in pairs {
                    let v = self.expand(&scope, v)?;
                    config::set_env(&mut scope.config, k, &v);
                    expanded.push((k.clone(), v));
                }
                let shown = expanded
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                self.config_step(cur, ins, &format!("ENV {shown}"), |c| {
                    for (k, v) in &expanded {
                        config::set_env(c, k, v);
                    }
                    Ok(())
                })
            }
            Kind::Label(pairs) => {
                let mut expanded = Vec::new();
                for (k, v) in pairs {
                    expanded.push((self.expand(cur, k)?, json!(self.expand(cur, v)?)));
                }
                self.config_step(cur, ins, &text, |c| {
                    config::add_to_map(c, "Labels", &expanded);
                    Ok(())
                })
            }
            Kind::Workdir(dir) => {
                let dir = self.expand(cur, dir)?;
                let now = config::text(&cur.config, "WorkingDir");
                let dir = config::workdir(now.as_deref(), &dir);
                self.config_step(cur, ins, &format!("WORKDIR {dir}"), |c| {
                    config::set(c, "WorkingDir", json!(dir));
                    Ok(())
                })
            }
            Kind::User(user) => {
                let user = self.expand(cur, user)?;
                self.config_step(cur, ins, &format!("USER {user}"), |c| {
                    config::set(c, "User", json!(user));
                    Ok(())
                })
            }
            Kind::Cmd(c) => {
                let argv = as_argv(c);
                self.config_step(cur, ins, &text, |c| {
                    config::set(c, "Cmd", json!(argv));
                    Ok(())
                })
            }
            Kind::Entrypoint(c) => {
                let argv = as_argv(c);
                self.config_step(cur, ins, &text, |c| {
                    config::set(c, "Entrypoint", json!(argv));
                    // Docker's rule: an ENTRYPOINT drops the inherited CMD.
                    config::inner(c).remove("Cmd");
                    Ok(())
                })
            }
            Kind::Expose(ports) => {
                let words = self.expand_words(cur, ports)?;
                let ports = config::exposed(&words).map_err(StepError::Invalid)?;
                let entries: Vec<(String, Value)> =
                    ports.into_iter().map(|p| (p, json!({}))).collect();
                self.config_step(cur, ins, &text, |c| {
                    config::add_to_map(c, "ExposedPorts", &entries);
                    Ok(())
                })
            }
            Kind::Volume(paths) => {
                let mut entries = Vec::new();
                for p in paths {
                    let p = self.expand(cur, p)?;
                    if p.is_empty() {
                        return Err(StepError::Invalid("VOLUME needs a path".into()));
                    }
                    entries.push((p, json!({})));
                }
                self.config_step(cur, ins, &text, |c| {
                    config::add_to_map(c, "Volumes", &entries);
                    Ok(())
                })
            }
            Kind::StopSignal(sig) => {
                let sig = self.expand(cur, sig)?;
                crate::container::parse_signal(&sig)
                    .map_err(|_| StepError::Invalid(format!("STOPSIGNAL {sig:?}: not a signal")))?;
                self.config_step(cur, ins, &format!("STOPSIGNAL {sig}"), |c| {
                    config::set(c, "StopSignal", json!(sig));
                    Ok(())
                })
            }
            Kind::Shell(argv) => {
                let argv = argv.clone();
                self.config_step(cur, ins, &text, |c| {
                    config::set(c, "Shell", json!(argv));
                    Ok(())
                })
            }
            Kind::Onbuild(trigger) => {
                let trigger = trigger.clone();
                self.config_step(cur, ins, &text, |c| {
                    let mut list = config::strings(c, "OnBuild").unwrap_or_default();
                    list.push(trigger);
                    config::set(c, "OnBuild", json!(list));
                    Ok(())
                })
            }
            Kind::Maintainer(who) => {
                let who = self.expand(cur, who)?;
                self.config_step(cur, ins, &text, |c| {
                    c["author"] = json!(who);
                    Ok(())
                })
            }
            Kind::Healthcheck(check) => {
                let value = healthcheck(check.as_ref(), &shell)?;
                self.config_step(cur, ins, &text, |c| {
                    config::set(c, "Healthcheck", value);
                    Ok(())
                })
            }
            Kind::Run { .. } | Kind::Copy { .. } | Kind::Arg(_) => {
                unreachable!("handled by step")
            }
        }
    }
}

/// The `Healthcheck` of a `HEALTHCHECK`, as Docker records it.
fn healthcheck(
    check: Option<&(containerfile::Flags, Command)>,
    shell: &[String],
) -> Result<Value, StepError> {
    let _ = shell;
    let Some((flags, command)) = check else {
        return Ok(json!({"Test": ["NONE"]}));
    };
    let test: Vec<String> = match command {
        Command::Exec(argv) => ["CMD".to_string()]
            .into_iter()
            .chain(argv.clone())
            .collect(),
        Command::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
    };
    let mut v = json!({ "Test": test });
    for (flag, key) in [
        ("interval", "Interval"),
        ("timeout", "Timeout"),
        ("start-period", "StartPeriod"),
        ("start-interval", "StartInterval"),
    ] {
        if let Some(text) = containerfile::flag(flags, flag) {
            let ns = config::duration_ns(&text).ok_or_else(|| {
                StepError::Invalid(format!(
                    "HEALTHCHECK --{flag}={text}: not a duration such as 30s"
                ))
            })?;
            v[key] = json!(ns);
        }
    }
    if let Some(r) = containerfile::flag(flags, "retries") {
        let n: u64 = r
            .parse()
            .map_err(|_| StepError::Invalid(format!("HEALTHCHECK --retries={r}: not a number")))?;
        v["Retries"] = json!(n);
    }
    Ok(v)
}
