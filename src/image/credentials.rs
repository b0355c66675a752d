//! Registry credentials in the `auth.json` format Podman and Docker share
//! (containers-auth.json(5)): `{"auths": {"HOST[:PORT]": {"auth":
//! base64(user:password)}}}`.
//!
//! `login` writes one file, atomically and with mode 0600; lookups read
//! the files `Paths::auth_sources` lists, in Podman's order, Docker's
//! legacy `~/.dockercfg` (registries at the top level) among them. Keys
//! other tools write (`https://host/v1/`, extra fields) are read and kept.
//! This module does no network work.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::paths::AuthSource;

/// The key Docker uses for Docker Hub.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// What went wrong with a credentials file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {path}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: the top level is not a JSON object")]
    NotObject { path: PathBuf },
    #[error("{path}: the entry for {registry} has an invalid auth value")]
    BadEntry { path: PathBuf, registry: String },
    #[error("creating directory {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A user name and password for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password or token.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never let a password reach a debug log.
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// One credentials file, as JSON (so that unknown fields survive a rewrite).
#[derive(Debug, Clone)]
pub struct AuthFile {
    /// Where it lives.
    pub path: PathBuf,
    doc: Map<String, Value>,
    /// Docker's legacy layout: the registries are the top level.
    is_legacy: bool,
}

impl AuthFile {
    /// Reads `path`; a missing file reads as empty.
    pub fn load(path: &Path) -> Result<AuthFile, Error> {
        let doc = match std::fs::read(path) {
            Ok(raw) if raw.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(raw) => match serde_json::from_slice::<Value>(&raw) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(Error::NotObject {
                        path: path.to_path_buf(),
                    })
                }
                Err(source) => {
                    return Err(Error::Parse {
                        path: path.to_path_buf(),
                        source,
                    })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(source) => {
                return Err(Error::Read {
                    path: path.to_path_buf(),
                    source,
                })
            }
        };
        Ok(AuthFile {
            path: path.to_path_buf(),
            doc,
            is_legacy: false,
        })
    }

    /// Reads the credentials file `source` describes (read only: `login`
    /// writes the current layout).
    pub fn load_source(source: &AuthSource) -> Result<AuthFile, Error> {
        let mut f = AuthFile::load(&source.path)?;
        f.is_legacy = source.is_legacy;
        Ok(f)
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        if self.is_legacy {
            return Some(&self.doc);
        }
        self.doc.get("auths").and_then(Value::as_object)
    }

    /// The credentials stored for `registry` (`host[:port]`), if any.
    pub fn get(&self, registry: &str) -> Result<Option<Credentials>, Error> {
        let Some(auths) = self.auths() else {
            return Ok(None);
        };
        let Some((key, entry)) = auths.iter().find(|(k, _)| normalize_key(k) == registry) else {
            return Ok(None);
        };
        let bad = || Error::BadEntry {
            path: self.path.clone(),
            registry: key.clone(),
        };
        let Some(auth) = entry.get("auth").and_then(Value::as_str) else {
            // An entry without `auth` (a credential helper's marker) has
            // nothing hutch can use.
            return Ok(None);
        };
        if auth.is_empty() {
            return Ok(None);
        }
        decode_auth(auth).map(Some).ok_or_else(bad)
    }

    /// Stores `creds` for `registry`, replacing any entry under an
    /// equivalent key.
    pub fn set(&mut self, registry: &str, creds: &Credentials) {
        self.remove(registry);
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        if let Value::Object(m) = auths {
            let mut entry = Map::new();
            entry.insert("auth".into(), Value::String(encode_auth(creds)));
            m.insert(registry.to_string(), Value::Object(entry));
        }
    }

    /// Removes every entry for `registry`; says whether there was one.
    pub fn remove(&mut self, registry: &str) -> bool {
        let Some(Value::Object(m)) = self.doc.get_mut("auths") else {
            return false;
        };
        let before = m.len();
        m.retain(|k, _| normalize_key(k) != registry);
        m.len() != before
    }

    /// Removes every entry; says whether there was one.
    pub fn clear(&mut self) -> bool {
        match self.doc.get_mut("auths") {
            Some(Value::Object(m)) if !m.is_empty() => {
                m.clear();
                true
            }
            _ => false,
        }
    }

    /// Writes the file atomically (a private temp file renamed over it),
    /// creating its directory with mode 0700 if needed.
    pub fn save(&self) -> Result<(), Error> {
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| Error::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "auth.json".into());
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let write = |tmp: &Path| -> std::io::Result<()> {
            let _ = std::fs::remove_file(tmp);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(tmp)?;
            let mut text = serde_json::to_vec_pretty(&Value::Object(self.doc.clone()))
                .map_err(std::io::Error::other)?;
            text.push(b'\n');
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(tmp, &self.path)
        };
        write(&tmp).map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            Error::Write {
                path: self.path.clone(),
                source,
            }
        })
    }
}

/// Finds credentials for `registry` in `files`, first match wins.
pub fn lookup(files: &[AuthSource], registry: &str) -> Result<Option<Credentials>, Error> {
    for f in files {
        if let Some(c) = AuthFile::load_source(f)?.get(registry)? {
            log::debug!("credentials for {registry} from {}", f.path.display());
            return Ok(Some(c));
        }
    }
    Ok(None)
}

/// The `host[:port]` an auth.json key names: `https://host/v1/` and
/// `host/namespace` keys count for `host`; Docker's Hub key for
/// `docker.io`.
pub fn normalize_key(key: &str) -> String {
    if key == DOCKER_HUB_KEY {
        return "docker.io".into();
    }
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = rest.split('/').next().unwrap_or(rest);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        h => h.to_string(),
    }
}

/// `base64(user:password)`.
pub fn encode_auth(c: &Credentials) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", c.username, c.password))
}

fn decode_auth(auth: &str) -> Option<Credentials> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some(Credentials {
        username: user.to_string(),
        password: pass.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn src(p: &Path) -> AuthSource {
        AuthSource {
            path: p.to_path_buf(),
            is_legacy: false,
        }
    }

    fn creds(u: &str, p: &str) -> Credentials {
        Credentials {
            username: u.into(),
            password: p.into(),
        }
    }

    #[test]
    fn writes_podman_format_with_mode_0600_and_reads_it_back() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("containers/auth.json");
        let mut f = AuthFile::load(&path).unwrap();
        f.set("127.0.0.1:5001", &creds("me", "p:ss"));
        f.save().unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["auths"]["127.0.0.1:5001"]["auth"], "bWU6cDpzcw==");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let got = lookup(&[src(&path)], "127.0.0.1:5001").unwrap();
        assert_eq!(got, Some(creds("me", "p:ss")));
        assert_eq!(lookup(&[src(&path)], "127.0.0.1:5002").unwrap(), None);
    }

    #[test]
    fn keeps_foreign_fields_and_matches_docker_style_keys() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"https://reg.example:443/v1/":{"auth":"YTpi"}},"credsStore":"x"}"#,
        )
        .unwrap();
        let f = AuthFile::load(&path).unwrap();
        assert_eq!(f.get("docker.io").unwrap(), Some(creds("u", "p")));
        assert_eq!(f.get("reg.example:443").unwrap(), Some(creds("a", "b")));
        let mut f = f;
        assert!(f.remove("docker.io"));
        assert!(!f.remove("docker.io"));
        f.save().unwrap();
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(doc["credsStore"], "x");
        assert!(doc["auths"].get("https://index.docker.io/v1/").is_none());
    }

    #[test]
    fn lookup_prefers_the_first_file_and_rejects_garbage() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a.json");
        let b = t.path().join("b.json");
        std::fs::write(&b, r#"{"auths":{"r:1":{"auth":"YjpC"}}}"#).unwrap();
        assert_eq!(
            lookup(&[src(&a), src(&b)], "r:1").unwrap(),
            Some(creds("b", "B"))
        );
        std::fs::write(&a, r#"{"auths":{"r:1":{"auth":"YTpB"}}}"#).unwrap();
        assert_eq!(
            lookup(&[src(&a), src(&b)], "r:1").unwrap(),
            Some(creds("a", "A"))
        );
        std::fs::write(&a, r#"{"auths":{"r:1":{"auth":"!!"}}}"#).unwrap();
        assert!(matches!(
            lookup(&[src(&a)], "r:1"),
            Err(Error::BadEntry { .. })
        ));
        std::fs::write(&a, "[1]").unwrap();
        assert!(matches!(AuthFile::load(&a), Err(Error::NotObject { .. })));
    }

    #[test]
    fn debug_output_hides_the_password() {
        let text = format!("{:?}", creds("me", "secret"));
        assert!(text.contains("me") && !text.contains("secret"), "{text}");
    }

    #[test]
    fn reads_dockers_legacy_layout() {
        // issue #20 item 14: ~/.dockercfg holds registries at the top level.
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join(".dockercfg");
        std::fs::write(&path, r#"{"https://r:1/v1/":{"auth":"YTpi","email":"x"}}"#).unwrap();
        let legacy = AuthSource {
            path: path.clone(),
            is_legacy: true,
        };
        assert_eq!(lookup(&[legacy], "r:1").unwrap(), Some(creds("a", "b")));
        assert_eq!(lookup(&[src(&path)], "r:1").unwrap(), None);
    }
}
