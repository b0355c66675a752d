//! `system connection`: the service destinations of the user's
//! containers.conf (`[engine] active_service` and
//! `[engine.service_destinations.NAME]` with `uri` and `identity`), which
//! Podman's remote client reads. With `hutch system service` they point
//! `podman --remote` (and other clients of the file) at hutch. hutch's own
//! commands run locally and do not use them. Nothing here prints.

use std::path::{Path, PathBuf};

use super::Engine;

/// One destination, as `system connection list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Connection {
    /// Its name.
    pub name: String,
    /// `unix:///path`, `tcp://host:port` or `ssh://user@host:port/path`.
    #[serde(rename = "URI")]
    pub uri: String,
    /// The SSH identity file, or "".
    pub identity: String,
    /// Always false: hutch makes no machines.
    pub is_machine: bool,
    /// Whether it is the `active_service`.
    pub default: bool,
}

/// What `system connection add` records.
#[derive(Debug, Clone, Default)]
pub struct NewConnection {
    /// The name.
    pub name: String,
    /// `unix:///path`, `tcp://host:port`, `ssh://[user@]host[:port][/path]`
    /// or `[user@]host`.
    pub destination: String,
    /// `--identity`.
    pub identity: Option<PathBuf>,
    /// `--port` for an SSH destination without one.
    pub port: Option<u16>,
    /// `--socket-path` on the remote host.
    pub socket_path: Option<String>,
    /// `--default`.
    pub is_default: bool,
}

/// Errors of reading and editing the destinations.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0:?} destination is not defined. See \"hutch system connection add ...\" to create a connection")]
    NotDefined(String),
    #[error("invalid destination {destination:?}: {why}")]
    Destination { destination: String, why: String },
    #[error("ssh destination {0:?}: hutch does not log in to other hosts to find the service's socket; give --socket-path")]
    NeedsSocketPath(String),
}

impl crate::error::Diagnose for ConnError {
    fn hint(&self) -> Option<String> {
        match self {
            ConnError::NotDefined(_) => {
                Some("`hutch system connection list` shows the defined ones".into())
            }
            ConnError::Destination { .. } => Some(
                "use unix:///absolute/path, tcp://host:port or ssh://[user@]host[:port]/path"
                    .into(),
            ),
            ConnError::Parse { .. } => Some("fix the file (see containers.conf(5))".into()),
            _ => None,
        }
    }
}

impl Engine {
    /// The destinations defined, sorted by name.
    pub fn connections(&self) -> Result<Vec<Connection>, ConnError> {
        let path = self.paths().containers_conf();
        let doc = read(&path)?;
        Ok(list(&doc))
    }

    /// Records a destination (replacing one of the same name); the first
    /// one, or one added with `is_default`, becomes the default.
    pub fn add_connection(&self, new: &NewConnection) -> Result<(), ConnError> {
        let uri = destination_uri(new)?;
        let identity = new.identity.as_ref().map(|p| {
            std::path::absolute(p)
                .unwrap_or_else(|_| p.clone())
                .to_string_lossy()
                .into_owned()
        });
        self.edit(|doc| {
            let engine = table(doc, "engine");
            let dests = table(engine, "service_destinations");
            let mut entry = toml::Table::new();
            entry.insert("uri".into(), toml::Value::String(uri.clone()));
            if let Some(i) = &identity {
                entry.insert("identity".into(), toml::Value::String(i.clone()));
            }
            dests.insert(new.name.clone(), toml::Value::Table(entry));
            let has_active = engine
                .get("active_service")
                .and_then(toml::Value::as_str)
                .is_some_and(|a| !a.is_empty());
            if new.is_default || !has_active {
                engine.insert(
                    "active_service".into(),
                    toml::Value::String(new.name.clone()),
                );
            }
            Ok(())
        })
    }

    /// Makes `name` the default destination.
    pub fn set_default_connection(&self, name: &str) -> Result<(), ConnError> {
        self.edit(|doc| {
            let engine = table(doc, "engine");
            if !table(engine, "service_destinations").contains_key(name) {
                return Err(ConnError::NotDefined(name.to_string()));
            }
            engine.insert("active_service".into(), toml::Value::String(name.into()));
            Ok(())
        })
    }

    /// Renames destination `from` to `to`, keeping it the default if it
    /// was.
    pub fn rename_connection(&self, from: &str, to: &str) -> Result<(), ConnError> {
        self.edit(|doc| {
            let engine = table(doc, "engine");
            let dests = table(engine, "service_destinations");
            let entry = dests
                .remove(from)
                .ok_or_else(|| ConnError::NotDefined(from.to_string()))?;
            dests.insert(to.to_string(), entry);
            if engine.get("active_service").and_then(toml::Value::as_str) == Some(from) {
                engine.insert("active_service".into(), toml::Value::String(to.into()));
            }
            Ok(())
        })
    }

    /// Removes destination `name` (nothing when it is not defined, as
    /// Podman does), or every one with `all`.
    pub fn remove_connection(&self, name: Option<&str>, all: bool) -> Result<(), ConnError> {
        self.edit(|doc| {
            let engine = table(doc, "engine");
            if all {
                engine.remove("service_destinations");
                engine.remove("active_service");
                return Ok(());
            }
            let Some(name) = name else { return Ok(()) };
            table(engine, "service_destinations").remove(name);
            if engine.get("active_service").and_then(toml::Value::as_str) == Some(name) {
                engine.remove("active_service");
            }
            if table(engine, "service_destinations").is_empty() {
                engine.remove("service_destinations");
            }
            Ok(())
        })
    }

    /// Reads the file, applies `change` and writes it back atomically,
    /// under a lock beside it so that concurrent edits all land.
    fn edit(
        &self,
        change: impl FnOnce(&mut toml::Table) -> Result<(), ConnError>,
    ) -> Result<(), ConnError> {
        let path = self.paths().containers_conf();
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let write_err = |source| ConnError::Write {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(write_err)?;
        let _guard = crate::storage::lock_exclusive(&dir.join(".containers.conf.lock"))
            .map_err(write_err)?;
        let mut doc = read(&path)?;
        change(&mut doc)?;
        let text = toml::to_string_pretty(&doc).map_err(|e| ConnError::Parse {
            path: path.clone(),
            message: e.to_string(),
        })?;
        crate::storage::atomic::write_file(&path, text.as_bytes(), 0o644).map_err(write_err)
    }
}

/// The file's table; empty when it does not exist.
fn read(path: &Path) -> Result<toml::Table, ConnError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(toml::Table::new()),
        Err(source) => {
            return Err(ConnError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    text.parse::<toml::Table>().map_err(|e| ConnError::Parse {
        path: path.to_path_buf(),
        message: e.message().to_string(),
    })
}

/// The sub-table `key` of `t`, made (or made a table) if need be.
fn table<'a>(t: &'a mut toml::Table, key: &str) -> &'a mut toml::Table {
    let v = t
        .entry(key.to_string())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !v.is_table() {
        *v = toml::Value::Table(toml::Table::new());
    }
    v.as_table_mut().expect("made a table above")
}

/// The destinations of `doc`, sorted by name.
fn list(doc: &toml::Table) -> Vec<Connection> {
    let engine = doc.get("engine").and_then(toml::Value::as_table);
    let active = engine
        .and_then(|e| e.get("active_service"))
        .and_then(toml::Value::as_str)
        .unwrap_or("");
    let dests = engine
        .and_then(|e| e.get("service_destinations"))
        .and_then(toml::Value::as_table);
    let mut out: Vec<Connection> = dests
        .into_iter()
        .flatten()
        .map(|(name, d)| {
            let field = |k: &str| {
                d.get(k)
                    .and_then(toml::Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            Connection {
                name: name.clone(),
                uri: field("uri"),
                identity: field("identity"),
                is_machine: false,
                default: name == active,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The URI recorded for `new`'s destination: `unix://` with an absolute
/// path, `tcp://host:port`, or `ssh://user@host:port/socket`, which needs
/// `--socket-path` (Podman would log in to ask the host).
fn destination_uri(new: &NewConnection) -> Result<String, ConnError> {
    let d = new.destination.as_str();
    let bad = |why: &str| ConnError::Destination {
        destination: d.to_string(),
        why: why.to_string(),
    };
    if let Some(path) = d.strip_prefix("unix://") {
        if !path.starts_with('/') {
            return Err(bad("a unix socket's path must be absolute"));
        }
        return Ok(d.to_string());
    }
    if let Some(rest) = d.strip_prefix("tcp://") {
        let (host, port) = rest
            .trim_end_matches('/')
            .rsplit_once(':')
            .ok_or_else(|| bad("tcp needs host:port"))?;
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad("tcp needs host:port"));
        }
        return Ok(d.trim_end_matches('/').to_string());
    }
    let rest = match d.split_once("://") {
        Some(("ssh", rest)) => rest,
        Some((scheme, _)) => return Err(bad(&format!("unknown scheme {scheme:?}"))),
        None => d,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i..])),
        None => (rest, None),
    };
    if authority.is_empty() || authority.ends_with('@') {
        return Err(bad("an ssh destination needs a host"));
    }
    let (user_host, port) = match authority.rsplit_once(':') {
        Some((uh, p)) => (
            uh,
            p.parse::<u16>()
                .map_err(|_| bad("the ssh port is not a number"))?,
        ),
        None => (authority, new.port.unwrap_or(22)),
    };
    let socket = match (new.socket_path.as_deref(), path) {
        (Some(s), _) => s.to_string(),
        (None, Some(p)) if p.len() > 1 => p.to_string(),
        _ => return Err(ConnError::NeedsSocketPath(d.to_string())),
    };
    let user_host = match user_host.contains('@') {
        true => user_host.to_string(),
        false => format!("{}@{user_host}", whoami()),
    };
    Ok(format!("ssh://{user_host}:{port}{socket}"))
}

/// The name of the calling user, for an ssh destination without one.
fn whoami() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| "root".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(d: &str, socket: Option<&str>, port: Option<u16>) -> Result<String, ConnError> {
        destination_uri(&NewConnection {
            name: "x".into(),
            destination: d.into(),
            socket_path: socket.map(str::to_string),
            port,
            ..Default::default()
        })
    }

    #[test]
    fn destinations_become_uris() {
        assert_eq!(
            uri("unix:///run/h.sock", None, None).unwrap(),
            "unix:///run/h.sock"
        );
        assert!(uri("unix://rel/h.sock", None, None).is_err());
        assert_eq!(
            uri("tcp://127.0.0.1:8080", None, None).unwrap(),
            "tcp://127.0.0.1:8080"
        );
        assert!(uri("tcp://127.0.0.1", None, None).is_err());
        assert!(uri("http://x", None, None).is_err());
        assert_eq!(
            uri("ssh://me@host:2222/run/p.sock", None, None).unwrap(),
            "ssh://me@host:2222/run/p.sock"
        );
        assert_eq!(
            uri("me@host", Some("/run/p.sock"), Some(2200)).unwrap(),
            "ssh://me@host:2200/run/p.sock"
        );
        assert!(matches!(
            uri("me@host", None, None),
            Err(ConnError::NeedsSocketPath(_))
        ));
    }

    #[test]
    fn list_reads_podmans_layout() {
        let doc: toml::Table = r#"
[engine]
active_service = "b"
[engine.service_destinations.b]
uri = "tcp://h:1"
[engine.service_destinations.a]
uri = "unix:///s"
identity = "/k"
"#
        .parse()
        .unwrap();
        let l = list(&doc);
        assert_eq!(l.len(), 2);
        assert_eq!(
            (l[0].name.as_str(), l[0].identity.as_str(), l[0].default),
            ("a", "/k", false)
        );
        assert_eq!(
            (l[1].name.as_str(), l[1].uri.as_str(), l[1].default),
            ("b", "tcp://h:1", true)
        );
    }
}
