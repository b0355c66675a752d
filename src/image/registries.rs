//! registries.conf (version 2, containers-registries.conf(5)): search
//! registries for short names, and per-registry `insecure`, `blocked` and
//! `location` rewrites.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::reference::{Reference, DOCKER_HUB};
use super::Error;

/// Where Docker Hub's API actually lives.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// The parsed configuration; empty when no file exists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registries {
    /// The file it came from, if any.
    pub path: Option<PathBuf>,
    /// `unqualified-search-registries`, in order.
    search: Vec<String>,
    /// `[[registry]]` tables.
    entries: Vec<Entry>,
}

/// One `[[registry]]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// What names it applies to: `host[:port][/path]` or `*.domain`.
    prefix: String,
    /// Where such names are pulled from.
    location: String,
    /// Plain HTTP and unverified TLS are allowed.
    is_insecure: bool,
    /// Pulling is refused.
    is_blocked: bool,
}

/// Where and how to contact a registry for one reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host[:port]` to connect to.
    pub host: String,
    /// The repository path at that host.
    pub repository: String,
    /// Whether plain HTTP and unverified TLS are allowed.
    pub is_insecure: bool,
}

/// A TOML syntax or type error on one line, as `line L, column C: message`
/// (the toml crate's own text spans several lines).
#[derive(Debug, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TomlError {
    line: usize,
    column: usize,
    message: String,
}

impl TomlError {
    fn new(text: &str, e: &toml::de::Error) -> TomlError {
        let at = e.span().map_or(0, |s| s.start).min(text.len());
        let before = &text.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        TomlError {
            line,
            column,
            message: e.message().trim().replace('\n', " "),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawConf {
    #[serde(default)]
    unqualified_search_registries: Vec<String>,
    #[serde(default)]
    registry: Vec<RawEntry>,
}

#[derive(Deserialize)]
struct RawEntry {
    location: Option<String>,
    prefix: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
}

impl Registries {
    /// Reads the first of `candidates` that exists; none existing is fine.
    pub fn load(candidates: &[PathBuf]) -> Result<Registries, Error> {
        for path in candidates {
            match std::fs::read_to_string(path) {
                Ok(text) => return Registries::parse(&text, path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(Error::ReadRegistriesConf {
                        path: path.clone(),
                        source,
                    })
                }
            }
        }
        Ok(Registries::default())
    }

    /// Parses the text of the file at `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Registries, Error> {
        let raw: RawConf = toml::from_str(text).map_err(|e| Error::ParseRegistriesConf {
            path: path.to_path_buf(),
            source: TomlError::new(text, &e),
        })?;
        let mut entries = Vec::new();
        for (i, e) in raw.registry.into_iter().enumerate() {
            let location = e.location.map(|l| l.trim_end_matches('/').to_string());
            let prefix = e.prefix.map(|p| p.trim_end_matches('/').to_string());
            let (prefix, location) = match (prefix, location) {
                (Some(p), Some(l)) => (p, l),
                (None, Some(l)) if !l.is_empty() => (l.clone(), l),
                (Some(p), None) if p.starts_with("*.") => (p, String::new()),
                _ => {
                    return Err(Error::RegistriesConfEntry {
                        path: path.to_path_buf(),
                        index: i + 1,
                    })
                }
            };
            entries.push(Entry {
                prefix,
                location,
                is_insecure: e.insecure,
                is_blocked: e.blocked,
            });
        }
        Ok(Registries {
            path: Some(path.to_path_buf()),
            search: raw.unqualified_search_registries,
            entries,
        })
    }

    /// The registries a short name is tried at, in order (Docker Hub when
    /// none is configured).
    pub fn search_registries(&self) -> Vec<String> {
        if self.search.is_empty() {
            vec![DOCKER_HUB.to_string()]
        } else {
            self.search.clone()
        }
    }

    /// The search registries registries.conf names (none by default).
    pub fn configured_search(&self) -> &[String] {
        &self.search
    }

    /// The entry whose prefix matches `name` (`registry/repository`) with
    /// the longest prefix; wildcard prefixes match on the host only.
    fn lookup(&self, name: &str) -> Option<&Entry> {
        let host = name.split('/').next().unwrap_or(name);
        self.entries
            .iter()
            .filter(|e| match e.prefix.strip_prefix('*') {
                Some(suffix) => host.ends_with(suffix),
                None => {
                    name == e.prefix
                        || (name.starts_with(&e.prefix) && name[e.prefix.len()..].starts_with('/'))
                }
            })
            .max_by_key(|e| e.prefix.len())
    }

    /// Where to pull `r` from, applying `location` rewrites; fails when its
    /// registry is blocked.
    pub fn endpoint(&self, r: &Reference) -> Result<Endpoint, Error> {
        let name = r.name();
        let (rewritten, is_insecure) = match self.lookup(&name) {
            Some(e) if e.is_blocked => {
                return Err(Error::Blocked {
                    prefix: e.prefix.clone(),
                    path: self.path.clone().unwrap_or_default(),
                })
            }
            Some(e) if !e.location.is_empty() && !e.prefix.starts_with('*') => (
                format!("{}{}", e.location, &name[e.prefix.len()..]),
                e.is_insecure,
            ),
            Some(e) => (name.clone(), e.is_insecure),
            None => (name.clone(), false),
        };
        let (host, repository) = rewritten
            .split_once('/')
            .map(|(h, p)| (h.to_string(), p.to_string()))
            .unwrap_or((rewritten.clone(), String::new()));
        let host = if host == DOCKER_HUB {
            DOCKER_HUB_API.to_string()
        } else {
            host
        };
        Ok(Endpoint {
            host,
            repository,
            is_insecure,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::reference::ImageName;

    fn conf(text: &str) -> Registries {
        Registries::parse(text, Path::new("/test/registries.conf")).unwrap()
    }

    fn endpoint(r: &Registries, name: &str) -> Result<Endpoint, Error> {
        r.endpoint(&ImageName::parse(name).unwrap().qualify(DOCKER_HUB))
    }

    #[test]
    fn empty_config_sends_short_names_to_docker_hub() {
        let r = conf("");
        assert_eq!(r.search_registries(), vec!["docker.io"]);
        let e = endpoint(&r, "busybox").unwrap();
        assert_eq!(e.host, "registry-1.docker.io");
        assert_eq!(e.repository, "library/busybox");
        assert!(!e.is_insecure);
    }

    #[test]
    fn search_registries_keep_their_order() {
        let r = conf(r#"unqualified-search-registries = ["127.0.0.1:5000", "quay.io"]"#);
        assert_eq!(r.search_registries(), vec!["127.0.0.1:5000", "quay.io"]);
    }

    #[test]
    fn insecure_uses_longest_prefix_match() {
        let r = conf(
            r#"
            [[registry]]
            location = "127.0.0.1:5000"
            insecure = true

            [[registry]]
            location = "127.0.0.1:5000/secure"
            insecure = false

            [[registry]]
            prefix = "*.internal.example"
            insecure = true
            "#,
        );
        let cases = [
            ("127.0.0.1:5000/busybox", true),
            ("127.0.0.1:5000/secure/app", false),
            ("127.0.0.1:5000/secureapp", true),
            ("127.0.0.1:50000/busybox", false),
            ("reg.internal.example/app", true),
            ("quay.io/app", false),
        ];
        for (name, insecure) in cases {
            assert_eq!(endpoint(&r, name).unwrap().is_insecure, insecure, "{name}");
        }
    }

    #[test]
    fn location_rewrites_the_prefix() {
        let r = conf(
            r#"
            [[registry]]
            prefix = "example.com/foo"
            location = "mirror.local:5000/bar"
            "#,
        );
        let e = endpoint(&r, "example.com/foo/app:1").unwrap();
        assert_eq!(e.host, "mirror.local:5000");
        assert_eq!(e.repository, "bar/app");
    }

    #[test]
    fn blocked_registries_are_refused() {
        let r = conf("[[registry]]\nlocation = \"evil.example\"\nblocked = true\n");
        let e = endpoint(&r, "evil.example/app").unwrap_err();
        assert!(matches!(e, Error::Blocked { .. }), "{e}");
    }

    #[test]
    fn malformed_files_name_their_path() {
        for text in [
            "unqualified-search-registries = \"x\"",
            "[[registry]]\ninsecure = true\n",
            "==",
        ] {
            let e = Registries::parse(text, Path::new("/test/registries.conf")).unwrap_err();
            assert!(e.to_string().contains("/test/registries.conf"), "{e}");
        }
    }

    #[test]
    fn toml_errors_are_one_line_with_position() {
        let e = Registries::parse("a = 1\n[[registry]\n", Path::new("/r.conf")).unwrap_err();
        let Error::ParseRegistriesConf { source, .. } = e else {
            panic!("{e}")
        };
        let text = source.to_string();
        assert!(text.starts_with("line 2, column "), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }

    #[test]
    fn load_takes_the_first_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.conf");
        let present = dir.path().join("present.conf");
        std::fs::write(
            &present,
            "unqualified-search-registries = [\"a.example\"]\n",
        )
        .unwrap();
        let r = Registries::load(&[missing.clone(), present.clone()]).unwrap();
        assert_eq!(r.search_registries(), vec!["a.example"]);
        assert_eq!(r.path, Some(present));
        assert_eq!(Registries::load(&[missing]).unwrap(), Registries::default());
    }
}
