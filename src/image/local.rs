//! Finding a stored image by what the user typed, in Podman's order
//! (containers/common `libimage.Runtime.LookupImage`):
//!
//! 1. a full id (`sha256:HEX` or 64 hex digits);
//! 2. the name's candidates: for a short name `localhost/NAME`, then NAME
//!    at each unqualified-search registry, then Docker Hub's normalisation
//!    (`docker.io/NAME`, `docker.io/library/NAME` for a single component);
//!    a qualified name as given (Docker Hub names normalised);
//! 3. an id prefix;
//! 4. for a short name, any stored name whose repository path ends in
//!    NAME's at a `/` with the same tag (`hold/sk:v1` finds
//!    `quay.io/hold/sk:v1`).
//!
//! No step talks to a registry: this is what runs before any pull.
//!
//! A manifest list found so stands, for `find_local` (what `run`,
//! `inspect`, `history`, `save` and `push` use), for the stored image of
//! its entry for the host's platform, as Podman 4.3's lookup resolves a
//! list; `lookup_local` leaves it a list (`rmi`, `tag`, `untag`).

use super::list::{is_list_config, ManifestList};
use super::manifest::{descriptor_digest, parse_manifest, select_platform, Manifest, OCI_INDEX};
use super::reference::{ImageName, Reference, DOCKER_HUB};
use super::registries::Registries;
use super::Error;
use super::Platform;
use crate::paths::Paths;
use crate::storage::{ImageRecord, Store};

/// A stored image and the stored name the lookup matched (`None` when it
/// was found by its id).
#[derive(Debug, Clone)]
pub struct Found {
    /// The image.
    pub image: ImageRecord,
    /// The full name (`registry/repository:tag`) that matched, if any.
    pub name: Option<String>,
}

/// Finds the stored image `name` stands for; see the module's steps.
pub fn lookup_local(paths: &Paths, store: &Store, name: &str) -> Result<Option<Found>, Error> {
    let by_id = |n: &str| -> Result<Option<Found>, Error> {
        let image = store.find_image(n).map_err(|source| Error::FindImage {
            name: n.to_string(),
            source,
        })?;
        // A name that happens to be hex is a name first: find_image tries
        // names before ids, so only an id match counts here.
        Ok(image
            .filter(|i| {
                i.id.hex()
                    .starts_with(n.strip_prefix("sha256:").unwrap_or(n))
            })
            .map(|image| Found { image, name: None }))
    };
    if is_full_id(name) {
        if let Some(found) = by_id(name)? {
            return Ok(Some(found));
        }
    }
    let parsed = match ImageName::parse(name) {
        Ok(p) => p,
        Err(_) if looks_like_id(name) => return by_id(name),
        Err(e) => return Err(e),
    };
    let regs = if parsed.is_short() {
        Registries::load(&paths.registries_conf_candidates())?.search_registries()
    } else {
        Vec::new()
    };
    for r in candidates(&parsed, &regs) {
        if let Some(found) = find_reference(store, &r)? {
            return Ok(Some(found));
        }
    }
    if looks_like_id(name) {
        if let Some(found) = by_id(name)? {
            return Ok(Some(found));
        }
    }
    if !parsed.is_short() {
        return Ok(None);
    }
    let all = store.list_images().map_err(Error::ListImages)?;
    Ok(all.into_iter().find_map(|image| {
        let name = image
            .names
            .iter()
            .find(|n| matches_suffix(&parsed, n, &image))
            .cloned()?;
        Some(Found {
            image,
            name: Some(name),
        })
    }))
}

/// `found` itself, or for a manifest list the stored image of its entry
/// for the host's platform (`None` when that image is not stored).
pub fn resolve_list(store: &Store, found: Found) -> Result<Option<Found>, Error> {
    if !is_list_config(&found.image.config) {
        return Ok(Some(found));
    }
    let raw = store
        .read_blob(&found.image.manifest_digest)
        .map_err(Error::ReadStoredBlob)?;
    let (_, index) = ManifestList::from_bytes(&raw)?.index(false);
    let Manifest::Index(index) = parse_manifest(Some(OCI_INDEX), &index)? else {
        return Ok(None);
    };
    let Ok(chosen) = select_platform(&index, &Platform::host()) else {
        return Ok(None);
    };
    let digest = descriptor_digest(chosen)?;
    let all = store.list_images().map_err(Error::ListImages)?;
    Ok(all
        .into_iter()
        .find(|i| i.manifest_digest == digest && !is_list_config(&i.config))
        .map(|image| Found { image, name: None }))
}

/// The references a name is tried as, in order, without duplicates:
/// for a short name `localhost/`, each of `search` (the search
/// registries), then Docker Hub; a qualified name only as itself.
fn candidates(parsed: &ImageName, search: &[String]) -> Vec<Reference> {
    let mut out: Vec<Reference> = Vec::new();
    let registries = std::iter::once("localhost")
        .chain(search.iter().map(String::as_str))
        .chain(std::iter::once(DOCKER_HUB));
    for reg in registries {
        let r = parsed.qualify(reg);
        if !out.contains(&r) {
            out.push(r);
        }
        if !parsed.is_short() {
            break;
        }
    }
    out
}

/// The stored image `r` names: by tag, or (for a digest) an image pulled
/// from that manifest.
fn find_reference(store: &Store, r: &Reference) -> Result<Option<Found>, Error> {
    match &r.digest {
        None => {
            let name = r.to_string();
            let image = store.find_image(&name).map_err(|source| Error::FindImage {
                name: name.clone(),
                source,
            })?;
            // find_image also takes ids: only a name match counts here.
            Ok(image
                .filter(|i| i.names.contains(&name))
                .map(|image| Found {
                    image,
                    name: Some(name),
                }))
        }
        Some(d) => {
            let all = store.list_images().map_err(Error::ListImages)?;
            Ok(all
                .into_iter()
                .find(|i| i.manifest_digest == *d)
                .map(|image| {
                    let name = image
                        .names
                        .iter()
                        .find(|n| n.starts_with(&format!("{}:", r.name())))
                        .cloned();
                    Found { image, name }
                }))
        }
    }
}

/// Whether the stored `name` of `image` ends in the short name `short`'s
/// repository path at a `/`, with its tag (`latest` when none was given);
/// for a digest, whether `image` came from that manifest.
fn matches_suffix(short: &ImageName, name: &str, image: &ImageRecord) -> bool {
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[slash..].rfind(':') {
        Some(i) => (&name[..slash + i], &name[slash + i + 1..]),
        None => (name, ""),
    };
    let is_path_match = path
        .strip_suffix(short.repository.as_str())
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('/'));
    if !is_path_match {
        return false;
    }
    match (&short.digest, &short.tag) {
        (Some(d), _) => image.manifest_digest == *d,
        (None, Some(t)) => tag == t,
        (None, None) => tag == "latest",
    }
}

/// Whether `s` is a whole image id: `sha256:` and 64 hex digits, or the
/// 64 hex digits alone.
fn is_full_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    hex.len() == 64 && is_lower_hex(hex)
}

/// Whether `s` could be an image id or id prefix.
fn looks_like_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    (3..=64).contains(&hex.len()) && is_lower_hex(hex)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Digest;

    fn image(names: &[&str]) -> ImageRecord {
        ImageRecord {
            id: Digest::of(b"config"),
            names: names.iter().map(|n| n.to_string()).collect(),
            manifest_digest: Digest::of(b"manifest"),
            config: b"{}".to_vec(),
            layers: Vec::new(),
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            created: None,
            size: 0,
        }
    }

    #[test]
    fn short_names_try_localhost_then_search_registries_then_docker_hub() {
        let p = ImageName::parse("hold/sk:v1").unwrap();
        let got: Vec<String> = candidates(&p, &["127.0.0.1:5000".into(), "quay.io".into()])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "localhost/hold/sk:v1",
                "127.0.0.1:5000/hold/sk:v1",
                "quay.io/hold/sk:v1",
                "docker.io/hold/sk:v1"
            ]
        );
        let p = ImageName::parse("busybox").unwrap();
        let got: Vec<String> = candidates(&p, &["docker.io".into()])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            got,
            [
                "localhost/busybox:latest",
                "docker.io/library/busybox:latest"
            ]
        );
    }

    #[test]
    fn qualified_names_are_only_themselves_normalised() {
        let p = ImageName::parse("docker.io/busybox:1").unwrap();
        let got: Vec<String> = candidates(&p, &["quay.io".into()])
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(got, ["docker.io/library/busybox:1"]);
    }

    #[test]
    fn repository_suffixes_match_at_a_slash_with_the_tag() {
        let img = image(&[]);
        let m =
            |short: &str, name: &str| matches_suffix(&ImageName::parse(short).unwrap(), name, &img);
        assert!(m("hold/sk:v1", "quay.io/hold/sk:v1"));
        assert!(m("sk:v1", "quay.io/hold/sk:v1"));
        assert!(m("sk", "quay.io/hold/sk:latest"));
        assert!(!m("sk", "quay.io/hold/sk:v1"));
        assert!(!m("k:v1", "quay.io/hold/sk:v1"));
        assert!(!m("hold/sk:v2", "quay.io/hold/sk:v1"));
        assert!(!m("other/sk:v1", "quay.io/hold/sk:v1"));
        assert!(m("hold/sk:v1", "127.0.0.1:5000/hold/sk:v1"));
        let d = format!("sk@{}", Digest::of(b"manifest"));
        assert!(m(&d, "quay.io/hold/sk:v3"));
        let d = format!("sk@{}", Digest::of(b"other"));
        assert!(!m(&d, "quay.io/hold/sk:v3"));
    }

    #[test]
    fn ids_are_told_from_names() {
        for (s, prefix, full) in [
            ("abc", true, false),
            ("sha256:0123456789abcdef", true, false),
            (&"a".repeat(64), true, true),
            (&format!("sha256:{}", "0".repeat(64)), true, true),
            ("ab", false, false),
            ("busybox", false, false),
            ("ABC123", false, false),
            (&"a".repeat(65), false, false),
        ] {
            assert_eq!(looks_like_id(s), prefix, "{s}");
            assert_eq!(is_full_id(s), full, "{s}");
        }
    }
}
