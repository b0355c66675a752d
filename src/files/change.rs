//! `commit --change`: Dockerfile instructions applied to an image config.
//!
//! Pure logic. Supported: `CMD`, `ENTRYPOINT` (JSON or shell form),
//! `ENV`, `LABEL` (`K=V …`, or the legacy `K V`), `WORKDIR`, `USER`,
//! `EXPOSE`. Values follow Dockerfile quoting: double or single quotes
//! and backslash escapes.

use serde_json::{Map, Value};

/// Why an instruction is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("unknown instruction {0:?}")]
    Unknown(String),
    #[error("{0} needs an argument")]
    MissingArgument(&'static str),
    #[error("unterminated quote")]
    UnterminatedQuote,
    #[error("{0} expects NAME=VALUE")]
    NotAssignment(&'static str),
    #[error("invalid port {0:?}")]
    InvalidPort(String),
    #[error("invalid volume {0:?}: use absolute paths, as VOLUME /data or VOLUME [\"/data\"]")]
    InvalidVolume(String),
}

/// One parsed instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instruction {
    /// `Cmd`.
    Cmd(Vec<String>),
    /// `Entrypoint`.
    Entrypoint(Vec<String>),
    /// `Env` entries, `NAME=VALUE`.
    Env(Vec<(String, String)>),
    /// `Labels`.
    Label(Vec<(String, String)>),
    /// `WorkingDir`.
    Workdir(String),
    /// `User`.
    User(String),
    /// `ExposedPorts` keys, `PORT/PROTO`.
    Expose(Vec<String>),
    /// `Volumes` keys: absolute paths.
    Volume(Vec<String>),
}

/// Parses one `--change` value.
pub fn parse(change: &str) -> Result<Instruction, ChangeError> {
    let change = change.trim();
    let (word, rest) = match change.split_once(char::is_whitespace) {
        Some((w, r)) => (w, r.trim()),
        None => (change, ""),
    };
    let upper = word.to_ascii_uppercase();
    let need = |name: &'static str| {
        if rest.is_empty() {
            Err(ChangeError::MissingArgument(name))
        } else {
            Ok(())
        }
    };
    match upper.as_str() {
        "CMD" => {
            need("CMD")?;
            Ok(Instruction::Cmd(command_form(rest)))
        }
        "ENTRYPOINT" => {
            need("ENTRYPOINT")?;
            Ok(Instruction::Entrypoint(command_form(rest)))
        }
        "ENV" => {
            need("ENV")?;
            Ok(Instruction::Env(pairs(rest, "ENV")?))
        }
        "LABEL" => {
            need("LABEL")?;
            Ok(Instruction::Label(pairs(rest, "LABEL")?))
        }
        "WORKDIR" => {
            need("WORKDIR")?;
            Ok(Instruction::Workdir(single(rest)?))
        }
        "USER" => {
            need("USER")?;
            Ok(Instruction::User(single(rest)?))
        }
        "EXPOSE" => {
            need("EXPOSE")?;
            let ports = words(rest)?
                .into_iter()
                .map(|p| port(&p))
                .collect::<Result<_, _>>()?;
            Ok(Instruction::Expose(ports))
        }
        "VOLUME" => {
            need("VOLUME")?;
            let paths = if rest.starts_with('[') {
                serde_json::from_str::<Vec<String>>(rest)
                    .map_err(|_| ChangeError::InvalidVolume(rest.to_string()))?
            } else {
                words(rest)?
            };
            match paths.iter().find(|p| !p.starts_with('/')) {
                Some(p) => Err(ChangeError::InvalidVolume(p.clone())),
                None => Ok(Instruction::Volume(paths)),
            }
        }
        _ => Err(ChangeError::Unknown(word.to_string())),
    }
}

/// The exec form (a JSON array of strings) or else the shell form, which
/// runs through `/bin/sh -c`, as Dockerfile CMD and ENTRYPOINT do.
fn command_form(rest: &str) -> Vec<String> {
    if rest.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Vec<String>>(rest) {
            return v;
        }
    }
    vec!["/bin/sh".into(), "-c".into(), rest.to_string()]
}

/// A single value, quotes removed.
fn single(rest: &str) -> Result<String, ChangeError> {
    Ok(words(rest)?.join(" "))
}

/// `K=V K2="v 2"`, or the legacy `K the rest` with one pair.
fn pairs(rest: &str, name: &'static str) -> Result<Vec<(String, String)>, ChangeError> {
    let first = rest.split_whitespace().next().unwrap_or_default();
    if !first.contains('=') {
        let (k, v) = rest
            .split_once(char::is_whitespace)
            .ok_or(ChangeError::NotAssignment(name))?;
        return Ok(vec![(k.to_string(), single(v.trim())?)]);
    }
    words(rest)?
        .into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(ChangeError::NotAssignment(name)),
        })
        .collect()
}

/// `80`, `80/tcp`, `53/udp` → `PORT/PROTO`.
fn port(p: &str) -> Result<String, ChangeError> {
    let (num, proto) = p.split_once('/').unwrap_or((p, "tcp"));
    let proto = proto.to_ascii_lowercase();
    let is_range = num
        .split('-')
        .all(|n| !n.is_empty() && n.parse::<u16>().is_ok());
    if !is_range || !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(ChangeError::InvalidPort(p.to_string()));
    }
    Ok(format!("{num}/{proto}"))
}

/// Splits on unquoted whitespace, removing quotes and backslash escapes.
fn words(s: &str) -> Result<Vec<String>, ChangeError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                has_word = true;
                loop {
                    match chars.next() {
                        None => return Err(ChangeError::UnterminatedQuote),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e) => cur.push(e),
                            None => return Err(ChangeError::UnterminatedQuote),
                        },
                        Some(o) => cur.push(o),
                    }
                }
            }
            '\'' => {
                has_word = true;
                loop {
                    match chars.next() {
                        None => return Err(ChangeError::UnterminatedQuote),
                        Some('\'') => break,
                        Some(o) => cur.push(o),
                    }
                }
            }
            '\\' => {
                has_word = true;
                if let Some(e) = chars.next() {
                    cur.push(e);
                }
            }
            c if c.is_whitespace() => {
                if has_word {
                    out.push(std::mem::take(&mut cur));
                    has_word = false;
                }
            }
            c => {
                has_word = true;
                cur.push(c);
            }
        }
    }
    if has_word {
        out.push(cur);
    }
    Ok(out)
}

/// Applies `ins` to the `config` object of an image config.
pub fn apply(config: &mut Map<String, Value>, ins: &Instruction) {
    let strings = |v: &[String]| Value::Array(v.iter().cloned().map(Value::String).collect());
    match ins {
        Instruction::Cmd(v) => {
            config.insert("Cmd".into(), strings(v));
        }
        Instruction::Entrypoint(v) => {
            config.insert("Entrypoint".into(), strings(v));
        }
        Instruction::Env(pairs) => {
            let mut env: Vec<String> = match config.get("Env") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|e| e.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            };
            for (k, v) in pairs {
                let entry = format!("{k}={v}");
                let prefix = format!("{k}=");
                match env.iter_mut().find(|e| e.starts_with(&prefix) || *e == k) {
                    Some(e) => *e = entry,
                    None => env.push(entry),
                }
            }
            config.insert("Env".into(), strings(&env));
        }
        Instruction::Label(pairs) => {
            let labels = object(config, "Labels");
            for (k, v) in pairs {
                labels.insert(k.clone(), Value::String(v.clone()));
            }
        }
        Instruction::Workdir(w) => {
            config.insert("WorkingDir".into(), Value::String(w.clone()));
        }
        Instruction::User(u) => {
            config.insert("User".into(), Value::String(u.clone()));
        }
        Instruction::Expose(ports) => {
            let exposed = object(config, "ExposedPorts");
            for p in ports {
                exposed.insert(p.clone(), Value::Object(Map::new()));
            }
        }
        Instruction::Volume(paths) => {
            let volumes = object(config, "Volumes");
            for p in paths {
                volumes.insert(p.clone(), Value::Object(Map::new()));
            }
        }
    }
}

/// The object under `key`, made (or replacing a non-object) if needed.
fn object<'a>(config: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = config
        .entry(key.to_string())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(m) => m,
        _ => unreachable!("replaced by an object just above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_exec_and_shell_forms() {
        assert_eq!(
            parse(r#"CMD ["cat","/data.txt"]"#),
            Ok(Instruction::Cmd(s(&["cat", "/data.txt"])))
        );
        assert_eq!(
            parse("entrypoint echo hi there"),
            Ok(Instruction::Entrypoint(s(&[
                "/bin/sh",
                "-c",
                "echo hi there"
            ])))
        );
        // Not a JSON array of strings: the shell form, as Docker does.
        assert_eq!(
            parse("CMD [1, 2]"),
            Ok(Instruction::Cmd(s(&["/bin/sh", "-c", "[1, 2]"])))
        );
    }

    #[test]
    fn parses_env_and_label_forms() {
        assert_eq!(
            parse(r#"ENV A=1 B="two words" C=a\ b"#),
            Ok(Instruction::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "a b".into()),
            ]))
        );
        assert_eq!(
            parse("ENV PATHLIKE /usr/bin:/bin"),
            Ok(Instruction::Env(vec![(
                "PATHLIKE".into(),
                "/usr/bin:/bin".into()
            )]))
        );
        assert_eq!(
            parse("LABEL 'com.example.x'='y z'"),
            Ok(Instruction::Label(vec![(
                "com.example.x".into(),
                "y z".into()
            )]))
        );
    }

    #[test]
    fn parses_workdir_user_expose() {
        assert_eq!(
            parse("WORKDIR /srv"),
            Ok(Instruction::Workdir("/srv".into()))
        );
        assert_eq!(
            parse("USER 1000:1000"),
            Ok(Instruction::User("1000:1000".into()))
        );
        assert_eq!(
            parse("EXPOSE 80 53/UDP 8000-8010"),
            Ok(Instruction::Expose(s(&[
                "80/tcp",
                "53/udp",
                "8000-8010/tcp"
            ])))
        );
    }

    #[test]
    fn parses_and_applies_volumes() {
        assert_eq!(
            parse("VOLUME /data /cache"),
            Ok(Instruction::Volume(s(&["/data", "/cache"])))
        );
        assert_eq!(
            parse(r#"VOLUME ["/data"]"#),
            Ok(Instruction::Volume(s(&["/data"])))
        );
        assert_eq!(
            parse("VOLUME data"),
            Err(ChangeError::InvalidVolume("data".into()))
        );
        let mut config = Map::new();
        apply(&mut config, &parse("VOLUME /data").unwrap());
        assert_eq!(config["Volumes"], serde_json::json!({"/data": {}}));
    }

    #[test]
    fn refuses_bad_changes() {
        assert_eq!(parse("RUN make"), Err(ChangeError::Unknown("RUN".into())));
        assert_eq!(parse("CMD"), Err(ChangeError::MissingArgument("CMD")));
        assert_eq!(parse("ENV A"), Err(ChangeError::NotAssignment("ENV")));
        assert_eq!(parse(r#"ENV A="x"#), Err(ChangeError::UnterminatedQuote));
        assert_eq!(
            parse("EXPOSE http"),
            Err(ChangeError::InvalidPort("http".into()))
        );
        assert_eq!(parse("ENV =1"), Err(ChangeError::NotAssignment("ENV")));
    }

    #[test]
    fn applies_to_a_config() {
        let mut c = json!({"Env": ["PATH=/bin", "A=old"], "Cmd": ["sh"]})
            .as_object()
            .unwrap()
            .clone();
        for ch in [
            "ENV A=new B=2",
            r#"CMD ["cat","/f"]"#,
            "LABEL x=1",
            "EXPOSE 80",
            "WORKDIR /w",
            "USER nobody",
        ] {
            apply(&mut c, &parse(ch).unwrap());
        }
        assert_eq!(
            Value::Object(c),
            json!({
                "Env": ["PATH=/bin", "A=new", "B=2"],
                "Cmd": ["cat", "/f"],
                "Labels": {"x": "1"},
                "ExposedPorts": {"80/tcp": {}},
                "WorkingDir": "/w",
                "User": "nobody",
            })
        );
    }
}
