//! Image references: `[registry/]repository[:tag][@digest]`, after the
//! grammar of the distribution project's `reference` package.
//!
//! A name without a registry component is a short name; it becomes a
//! `Reference` only once a registry is chosen for it (`ImageName::qualify`).

use std::fmt;

use crate::storage::Digest;

use super::Error;

/// The registry that short names go to when no search registry is configured.
pub const DOCKER_HUB: &str = "docker.io";

/// The longest repository path the grammar allows.
const MAX_NAME_LEN: usize = 255;

/// The longest tag the grammar allows.
const MAX_TAG_LEN: usize = 128;

/// A fully qualified image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`, e.g. `docker.io` or `127.0.0.1:5000`.
    pub registry: String,
    /// e.g. `library/busybox`.
    pub repository: String,
    /// The tag; `latest` when neither tag nor digest was given.
    pub tag: Option<String>,
    /// `sha256:HEX`, if given.
    pub digest: Option<Digest>,
}

/// A parsed image name that may still lack a registry (a short name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageName {
    /// `host[:port]` when the name gave one.
    pub registry: Option<String>,
    /// The repository path as given (no `library/` added yet).
    pub repository: String,
    /// The tag, if given.
    pub tag: Option<String>,
    /// The digest, if given.
    pub digest: Option<Digest>,
}

impl ImageName {
    /// Parses `[registry/]repository[:tag][@digest]`.
    pub fn parse(input: &str) -> Result<ImageName, Error> {
        let bad = |reason: &'static str| Error::Reference {
            input: input.to_string(),
            reason,
        };
        if input.is_empty() {
            return Err(bad("empty name"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, d)) => (
                rest,
                Some(d.parse::<Digest>().map_err(|_| bad("invalid digest"))?),
            ),
            None => (input, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (path, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !is_tag(t) {
                return Err(bad("invalid tag"));
            }
        }
        let (registry, repository) = match path.split_once('/') {
            Some((first, repo)) if first.contains(['.', ':']) || first == "localhost" => {
                if !is_domain(first) {
                    return Err(bad("invalid registry"));
                }
                (Some(first), repo)
            }
            _ => (None, path),
        };
        if repository.is_empty() {
            return Err(bad("empty repository"));
        }
        if repository.len() > MAX_NAME_LEN {
            return Err(bad("repository name too long"));
        }
        if !repository.split('/').all(is_path_component) {
            if repository.bytes().any(|b| b.is_ascii_uppercase()) {
                return Err(bad("repository name must be lowercase"));
            }
            return Err(bad("invalid repository name"));
        }
        Ok(ImageName {
            registry: registry.map(String::from),
            repository: repository.to_string(),
            tag: tag.map(String::from),
            digest,
        })
    }

    /// Whether the name lacks a registry.
    pub fn is_short(&self) -> bool {
        self.registry.is_none()
    }

    /// The reference this name denotes at its own registry, or at
    /// `registry` for a short name; Docker Hub names are normalised.
    pub fn qualify(&self, registry: &str) -> Reference {
        let registry = self.registry.as_deref().unwrap_or(registry);
        let registry = match registry {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
            r => r,
        };
        let repository = if registry == DOCKER_HUB && !self.repository.contains('/') {
            format!("library/{}", self.repository)
        } else {
            self.repository.clone()
        };
        let tag = match (&self.tag, &self.digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.clone(),
        };
        Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest: self.digest.clone(),
        }
    }
}

impl Reference {
    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// What to ask the registry's manifest endpoint for: the digest when
    /// given, else the tag.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }

    /// `registry/repository:tag` when the reference has a tag.
    pub fn tagged_name(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{t}", self.name()))
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `[\w][\w.-]{0,127}`.
fn is_tag(s: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_TAG_LEN
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`.
fn is_path_component(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = s.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// `host[:port]`: dot-separated labels of `[a-zA-Z0-9-]` not starting or
/// ending with `-`, or a bracketed IPv6 address.
fn is_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else {
            return false;
        };
        if v6.is_empty() || !v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    if s.starts_with('[') {
        return true;
    }
    !host.is_empty()
        && host.split('.').all(|label| {
            let b = label.as_bytes();
            !b.is_empty()
                && b[0] != b'-'
                && b[b.len() - 1] != b'-'
                && b.iter().all(|&c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parse_and_qualify_produce_expected_references() {
        let cases: &[(&str, &str, bool)] = &[
            ("busybox", "docker.io/library/busybox:latest", true),
            ("busybox:1.36", "docker.io/library/busybox:1.36", true),
            ("user/app", "docker.io/user/app:latest", true),
            (
                "docker.io/busybox",
                "docker.io/library/busybox:latest",
                false,
            ),
            (
                "index.docker.io/busybox:x",
                "docker.io/library/busybox:x",
                false,
            ),
            (
                "127.0.0.1:5000/busybox",
                "127.0.0.1:5000/busybox:latest",
                false,
            ),
            (
                "127.0.0.1:5000/busybox:v1",
                "127.0.0.1:5000/busybox:v1",
                false,
            ),
            ("localhost/app", "localhost/app:latest", false),
            (
                "localhost:5000/a/b/c:T_1.x-y",
                "localhost:5000/a/b/c:T_1.x-y",
                false,
            ),
            ("quay.io/a__b/c-d.e", "quay.io/a__b/c-d.e:latest", false),
            ("[::1]:5000/img", "[::1]:5000/img:latest", false),
            ("a---b", "docker.io/library/a---b:latest", true),
        ];
        for (input, want, short) in cases {
            let n = ImageName::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.is_short(), *short, "{input}");
            assert_eq!(n.qualify(DOCKER_HUB).to_string(), *want, "{input}");
        }
    }

    #[test]
    fn digests_replace_the_default_tag() {
        let r = ImageName::parse(&format!("127.0.0.1:5000/busybox@{D}"))
            .unwrap()
            .qualify("x");
        assert_eq!(r.tag, None);
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/busybox@{D}"));
        assert_eq!(r.manifest_ref(), D);
        let r = ImageName::parse(&format!("busybox:1@{D}"))
            .unwrap()
            .qualify("reg.example");
        assert_eq!(r.to_string(), format!("reg.example/busybox:1@{D}"));
        assert_eq!(r.tagged_name().as_deref(), Some("reg.example/busybox:1"));
    }

    #[test]
    fn short_names_take_the_given_registry() {
        let n = ImageName::parse("busybox").unwrap();
        let r = n.qualify("127.0.0.1:5000");
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "busybox");
        assert_eq!(r.name(), "127.0.0.1:5000/busybox");
    }

    #[test]
    fn parse_rejects_invalid_names() {
        let cases: &[&str] = &[
            "",
            "Busybox",
            "busybox:",
            "busybox:-x",
            "busybox@sha256:abc",
            "busybox@",
            "-busybox",
            "busybox-",
            "bu..sybox",
            "bu___sybox",
            "a//b",
            "/busybox",
            "busybox/",
            "reg:abc/busybox",
            "-reg.io/busybox",
            "127.0.0.1:5000/",
            "busy box",
            "busybox:../x",
        ];
        for input in cases {
            let e = ImageName::parse(input).expect_err(input);
            assert!(
                e.to_string().contains(&format!("{input:?}")),
                "{input}: {e}"
            );
        }
        let long_tag = format!("busybox:{}", "a".repeat(129));
        assert!(ImageName::parse(&long_tag).is_err());
        let long_name = "a".repeat(256);
        assert!(ImageName::parse(&long_name).is_err());
    }

    #[test]
    fn uppercase_repository_gets_its_own_reason() {
        let e = ImageName::parse("quay.io/Foo").unwrap_err();
        assert!(e.to_string().contains("lowercase"), "{e}");
    }
}
