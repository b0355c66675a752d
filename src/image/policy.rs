//! The signature policy, `policy.json` (containers-policy.json(5)): which
//! images may be pulled. hutch reads the user's file, else the system's,
//! applies its `docker` transport scopes and defaults at every pull, and
//! edits it for `image trust set`. hutch verifies no signatures, so a
//! scope that requires them (`signedBy`, `sigstoreSigned`) refuses the
//! pull, as Podman refuses an image that carries no signature.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::reference::Reference;

/// Errors of reading, applying and editing the policy.
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
    #[error("{path}: {what} is not what containers-policy.json(5) describes")]
    Shape { path: PathBuf, what: String },
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid choice: {0} (choose from 'accept', 'reject', 'signedBy', 'sigstoreSigned')")]
    Type(String),
    #[error("at least one public key must be defined for type '{0}'")]
    NoKey(String),
    #[error("public key {path}")]
    Key {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Source image rejected: Running image docker://{reference} is rejected by policy.")]
    Rejected { reference: String },
    #[error("Source image rejected: a signature is required for {scope} (policy {path}), and hutch verifies no signatures")]
    SignatureRequired {
        reference: String,
        scope: String,
        path: PathBuf,
    },
}

impl crate::error::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::Rejected { .. } => Some(
                "`hutch image trust show` lists the policy; `hutch image trust set --type accept SCOPE` allows a registry or repository".into(),
            ),
            Error::SignatureRequired { .. } => Some(
                "verify the image with skopeo or cosign, then allow its scope with `hutch image trust set --type accept SCOPE`".into(),
            ),
            Error::Parse { .. } | Error::Shape { .. } => {
                Some("fix the file (see containers-policy.json(5)), or remove the user's copy to use the system's".into())
            }
            _ => None,
        }
    }
}

/// A policy file and what it holds.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Where it was read from (or will be written).
    pub path: PathBuf,
    /// The document, kept whole so that an edit keeps what hutch does
    /// not know.
    pub doc: Value,
}

/// What the policy says about one pull.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed: `insecureAcceptAnything`, or no policy file at all.
    Accept,
    /// `reject` for this scope.
    Reject,
    /// A signature is required for `scope` ("" for the default).
    Signed { scope: String },
}

/// One row of `image trust show`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TrustRow {
    /// `all` for the default, `repository` for a `docker` scope, else the
    /// transport's name.
    pub transport: String,
    /// The scope; `* (default)` for the default in JSON.
    pub name: String,
    /// The scope as a repository name (`default` for the default).
    pub repo_name: String,
    /// `accept`, `reject`, `signed`, `sigstoreSigned` or the type as
    /// written.
    #[serde(rename = "type")]
    pub kind: String,
}

impl Policy {
    /// The first of `candidates` that exists (the user's file, then the
    /// system's); `None` when none does.
    pub fn load(candidates: &[PathBuf]) -> Result<Option<Policy>, Error> {
        for path in candidates {
            match std::fs::read(path) {
                Ok(bytes) => return Self::parse(path, &bytes).map(Some),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => {
                    return Err(Error::Read {
                        path: path.clone(),
                        source,
                    })
                }
            }
        }
        Ok(None)
    }

    /// Parses `bytes` read from `path`, checking the shape hutch relies on.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Policy, Error> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|source| Error::Parse {
            path: path.to_path_buf(),
            source,
        })?;
        let shape = |what: &str| Error::Shape {
            path: path.to_path_buf(),
            what: what.to_string(),
        };
        let obj = doc.as_object().ok_or_else(|| shape("the document"))?;
        if let Some(d) = obj.get("default") {
            requirements(d).ok_or_else(|| shape("\"default\""))?;
        }
        if let Some(t) = obj.get("transports") {
            let t = t.as_object().ok_or_else(|| shape("\"transports\""))?;
            for (name, scopes) in t {
                let scopes = scopes
                    .as_object()
                    .ok_or_else(|| shape(&format!("transport {name:?}")))?;
                for (scope, reqs) in scopes {
                    requirements(reqs).ok_or_else(|| shape(&format!("scope {scope:?}")))?;
                }
            }
        }
        Ok(Policy {
            path: path.to_path_buf(),
            doc,
        })
    }

    /// What the policy says about pulling `r` from a registry: the
    /// requirements of the most specific matching `docker` scope, else the
    /// transport's `""` scope, else the default. Every requirement must
    /// hold, so one `reject` rejects.
    pub fn verdict(&self, r: &Reference) -> Verdict {
        let docker = self.doc.get("transports").and_then(|t| t.get("docker"));
        let (scope, reqs) = match docker.and_then(|d| most_specific(d, r)) {
            Some((scope, reqs)) => (scope, reqs),
            None => match docker.and_then(|d| d.get("")) {
                Some(reqs) => (String::new(), reqs),
                None => match self.doc.get("default") {
                    Some(reqs) => (String::new(), reqs),
                    // containers/image rejects a policy without a default.
                    None => return Verdict::Reject,
                },
            },
        };
        let reqs = requirements(reqs).unwrap_or_default();
        if reqs.is_empty() {
            return Verdict::Reject;
        }
        let mut verdict = Verdict::Accept;
        for req in reqs {
            match req.get("type").and_then(Value::as_str) {
                Some("insecureAcceptAnything") => {}
                Some("signedBy" | "sigstoreSigned") => {
                    verdict = Verdict::Signed {
                        scope: scope.clone(),
                    }
                }
                _ => return Verdict::Reject,
            }
        }
        verdict
    }

    /// Refuses the pull of `r` unless the policy allows it unsigned.
    pub fn check(&self, r: &Reference) -> Result<(), Error> {
        match self.verdict(r) {
            Verdict::Accept => Ok(()),
            Verdict::Reject => Err(Error::Rejected {
                reference: r.to_string(),
            }),
            Verdict::Signed { scope } => Err(Error::SignatureRequired {
                reference: r.to_string(),
                scope: if scope.is_empty() {
                    "every image (the default)".into()
                } else {
                    scope
                },
                path: self.path.clone(),
            }),
        }
    }

    /// The rows of `image trust show`: the default first, then each
    /// transport's scopes in the file's (sorted) order.
    pub fn rows(&self) -> Vec<TrustRow> {
        let mut rows = Vec::new();
        if let Some(d) = self.doc.get("default") {
            rows.push(TrustRow {
                transport: "all".into(),
                name: "* (default)".into(),
                repo_name: "default".into(),
                kind: kind_of(d),
            });
        }
        let transports = self.doc.get("transports").and_then(Value::as_object);
        for (transport, scopes) in transports.into_iter().flatten() {
            let shown = match transport.as_str() {
                "docker" => "repository",
                other => other,
            };
            for (scope, reqs) in scopes.as_object().into_iter().flatten() {
                rows.push(TrustRow {
                    transport: shown.to_string(),
                    name: scope.clone(),
                    repo_name: scope.clone(),
                    kind: kind_of(reqs),
                });
            }
        }
        rows
    }

    /// Sets the requirement of `scope` (`default` for the default) to
    /// `kind` (`accept`, `reject`, `signedBy`, `sigstoreSigned`) with the
    /// public `keys` (absolute paths of existing files) the signed kinds
    /// need, as `podman image trust set` does.
    pub fn set(&mut self, scope: &str, kind: &str, keys: &[PathBuf]) -> Result<(), Error> {
        let reqs = requirement_list(kind, keys)?;
        let obj = match self.doc.as_object_mut() {
            Some(o) => o,
            None => {
                self.doc = Value::Object(Map::new());
                self.doc.as_object_mut().expect("just made an object")
            }
        };
        if scope == "default" {
            obj.insert("default".into(), reqs);
            return Ok(());
        }
        let transports = obj
            .entry("transports")
            .or_insert_with(|| Value::Object(Map::new()));
        if !transports.is_object() {
            *transports = Value::Object(Map::new());
        }
        let docker = transports
            .as_object_mut()
            .expect("made an object above")
            .entry("docker")
            .or_insert_with(|| Value::Object(Map::new()));
        if !docker.is_object() {
            *docker = Value::Object(Map::new());
        }
        docker
            .as_object_mut()
            .expect("made an object above")
            .insert(scope.to_string(), reqs);
        Ok(())
    }

    /// Writes the policy to `path` atomically (mode 0644), creating its
    /// directory.
    pub fn write_to(&self, path: &Path) -> Result<(), Error> {
        let err = |source| Error::Write {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let mut text = serde_json::to_string_pretty(&self.doc).expect("a JSON value serialises");
        text.push('\n');
        crate::storage::atomic::write_file(path, text.as_bytes(), 0o644).map_err(err)
    }
}

/// The requirement objects of a scope, or None when `v` is not a list of
/// objects with a `type`.
fn requirements(v: &Value) -> Option<Vec<&Map<String, Value>>> {
    v.as_array()?
        .iter()
        .map(|r| {
            r.as_object()
                .filter(|o| o.get("type").is_some_and(Value::is_string))
        })
        .collect()
}

/// The requirements `image trust set` writes for `kind`.
fn requirement_list(kind: &str, keys: &[PathBuf]) -> Result<Value, Error> {
    match kind {
        "accept" => Ok(json!([{ "type": "insecureAcceptAnything" }])),
        "reject" => Ok(json!([{ "type": "reject" }])),
        "signedBy" | "sigstoreSigned" => {
            if keys.is_empty() {
                return Err(Error::NoKey(kind.to_string()));
            }
            let mut list = Vec::new();
            for key in keys {
                let path = std::path::absolute(key).map_err(|source| Error::Key {
                    path: key.clone(),
                    source,
                })?;
                std::fs::metadata(&path).map_err(|source| Error::Key {
                    path: path.clone(),
                    source,
                })?;
                let path = path.to_string_lossy().into_owned();
                list.push(match kind {
                    "signedBy" => {
                        json!({ "type": "signedBy", "keyType": "GPGKeys", "keyPath": path })
                    }
                    _ => json!({ "type": "sigstoreSigned", "keyPath": path }),
                });
            }
            Ok(Value::Array(list))
        }
        other => Err(Error::Type(other.to_string())),
    }
}

/// The type `trust show` prints for a scope's requirements.
fn kind_of(reqs: &Value) -> String {
    let first = reqs
        .as_array()
        .and_then(|a| a.first())
        .and_then(|r| r.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match first {
        "insecureAcceptAnything" => "accept",
        "signedBy" => "signed",
        other => other,
    }
    .to_string()
}

/// The most specific scope of the `docker` transport that matches `r`,
/// per containers-policy.json(5): the reference with its tag or digest,
/// the repository, each enclosing namespace, the host, then wildcard
/// domains `*.example.com` from the narrowest.
fn most_specific<'a>(docker: &'a Value, r: &Reference) -> Option<(String, &'a Value)> {
    let scopes = docker.as_object()?;
    let repo = r.name();
    let mut candidates = Vec::new();
    if let Some(d) = &r.digest {
        candidates.push(format!("{repo}@{d}"));
    } else if let Some(t) = &r.tag {
        candidates.push(format!("{repo}:{t}"));
    }
    let mut path = repo.as_str();
    loop {
        candidates.push(path.to_string());
        match path.rfind('/') {
            Some(i) => path = &path[..i],
            None => break,
        }
    }
    // Wildcards match subdomains of the host without its port.
    let host = r.registry.split(':').next().unwrap_or("");
    let mut rest = host;
    while let Some(i) = rest.find('.') {
        rest = &rest[i + 1..];
        candidates.push(format!("*.{rest}"));
    }
    candidates
        .into_iter()
        .find_map(|c| scopes.get(&c).map(|v| (c, v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(s: &str) -> Reference {
        super::super::reference::ImageName::parse(s)
            .unwrap()
            .qualify("docker.io")
    }

    fn policy(text: &str) -> Policy {
        Policy::parse(Path::new("/p.json"), text.as_bytes()).unwrap()
    }

    #[test]
    fn the_most_specific_scope_wins() {
        let p = policy(
            r#"{"default":[{"type":"reject"}],"transports":{"docker":{
                "127.0.0.1:5000":[{"type":"insecureAcceptAnything"}],
                "127.0.0.1:5000/team":[{"type":"reject"}],
                "127.0.0.1:5000/team/app":[{"type":"insecureAcceptAnything"}],
                "127.0.0.1:5000/team/app:bad":[{"type":"reject"}],
                "*.example.com":[{"type":"insecureAcceptAnything"}],
                "quay.io":[{"type":"signedBy","keyType":"GPGKeys","keyPath":"/k"}]}}}"#,
        );
        let cases = [
            ("127.0.0.1:5000/busybox", Verdict::Accept),
            ("127.0.0.1:5000/team/other", Verdict::Reject),
            ("127.0.0.1:5000/team/app", Verdict::Accept),
            ("127.0.0.1:5000/team/app:bad", Verdict::Reject),
            ("reg.example.com/x", Verdict::Accept),
            ("a.b.example.com:443/x", Verdict::Accept),
            ("example.com/x", Verdict::Reject),
            ("busybox", Verdict::Reject),
            (
                "quay.io/x/y",
                Verdict::Signed {
                    scope: "quay.io".into(),
                },
            ),
        ];
        for (name, want) in cases {
            assert_eq!(p.verdict(&reference(name)), want, "{name}");
        }
    }

    #[test]
    fn transport_default_precedes_the_global_default() {
        let p = policy(
            r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"":[{"type":"reject"}]}}}"#,
        );
        assert_eq!(p.verdict(&reference("busybox")), Verdict::Reject);
        let p = policy(r#"{"default":[{"type":"insecureAcceptAnything"}]}"#);
        assert_eq!(p.verdict(&reference("busybox")), Verdict::Accept);
        // An empty requirement list and a missing default reject.
        assert_eq!(
            policy(r#"{"default":[]}"#).verdict(&reference("a")),
            Verdict::Reject
        );
        assert_eq!(policy("{}").verdict(&reference("a")), Verdict::Reject);
    }

    #[test]
    fn set_edits_and_keeps_the_rest() {
        let mut p = policy(
            r#"{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker-daemon":{"":[{"type":"insecureAcceptAnything"}]}}}"#,
        );
        p.set("docker.io", "reject", &[]).unwrap();
        p.set("default", "reject", &[]).unwrap();
        assert!(matches!(p.set("x", "bogus", &[]), Err(Error::Type(_))));
        assert!(matches!(p.set("x", "signedBy", &[]), Err(Error::NoKey(_))));
        assert!(matches!(
            p.set("x", "signedBy", &[PathBuf::from("/nonexistent/key.gpg")]),
            Err(Error::Key { .. })
        ));
        let rows = p.rows();
        let shown: Vec<_> = rows
            .iter()
            .map(|r| (r.transport.as_str(), r.name.as_str(), r.kind.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("all", "* (default)", "reject"),
                ("repository", "docker.io", "reject"),
                ("docker-daemon", "", "accept"),
            ]
        );
    }

    #[test]
    fn malformed_policies_are_refused_by_name() {
        for text in [
            "[]",
            r#"{"default":{}}"#,
            r#"{"transports":{"docker":[]}}"#,
            r#"{"transports":{"docker":{"x":[{"kind":1}]}}}"#,
        ] {
            assert!(
                matches!(
                    Policy::parse(Path::new("/p"), text.as_bytes()),
                    Err(Error::Shape { .. })
                ),
                "{text}"
            );
        }
    }
}
