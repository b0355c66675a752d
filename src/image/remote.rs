//! What an image name stands for at its registry now, without pulling it:
//! the platform manifest's digest, for `auto-update`'s registry policy.
//!
//! A `HEAD` of the tag answers when the registry sends the digest of a
//! single image's manifest; otherwise (a list, or a static file server
//! without the header) the manifest is fetched, verified and, for a list,
//! the host platform's entry picked as `pull` picks it.

use super::client::RegistryClient;
use super::list_fetch::connect;
use super::manifest::{
    descriptor_digest, parse_manifest, select_platform, Manifest, DOCKER_MANIFEST, OCI_MANIFEST,
};
use super::reference::{ImageName, Reference, DOCKER_HUB};
use super::{Error, PullOptions};
use crate::paths::Paths;
use crate::storage::Digest;

impl RegistryClient {
    /// `HEAD` manifest `reference`: the `Docker-Content-Digest` and
    /// `Content-Type` the registry answers with, either `None` when it
    /// sends none (a static file server) or the digest is not sha256.
    pub fn head_manifest(
        &self,
        reference: &str,
    ) -> Result<(Option<Digest>, Option<String>), Error> {
        let url = format!("{}/v2/{}/manifests/{reference}", self.base, self.repository);
        let accept = super::manifest::ACCEPT.join(", ");
        let resp = self.send_with(reqwest::Method::HEAD, &url, &|r| {
            Ok(r.header(reqwest::header::ACCEPT, &accept))
        })?;
        if !resp.status().is_success() {
            return Err(super::client::status_error(
                &url,
                resp,
                super::client::Kind::Manifest,
            ));
        }
        let digest = super::client::header(&resp, "docker-content-digest")
            .filter(|h| h.starts_with("sha256:"))
            .and_then(|h| h.parse::<Digest>().ok());
        Ok((
            digest,
            super::client::header(&resp, reqwest::header::CONTENT_TYPE.as_str()),
        ))
    }
}

/// `name` as `registry/repository:tag`, refused unless it names its
/// registry: a short name could mean another image at every search
/// registry, so the registry policy does not guess.
pub fn qualified(name: &str) -> Result<Reference, Error> {
    let parsed = ImageName::parse(name)?;
    if parsed.is_short() {
        return Err(Error::NotQualified(name.to_string()));
    }
    Ok(parsed.qualify(DOCKER_HUB))
}

/// The digest of the manifest `r` names at its registry for
/// `opts.platform` (the platform's entry when the tag names a list).
pub fn remote_digest(paths: &Paths, r: &Reference, opts: &PullOptions) -> Result<Digest, Error> {
    let checked = connect(paths, r, opts).and_then(|client| {
        let digest = platform_digest(&client, r, opts);
        drop(client);
        digest
    });
    checked.map_err(|e| Error::CheckRemote {
        reference: r.to_string(),
        source: Box::new(e),
    })
}

/// The `HEAD` answer when it names a single image, else the fetched
/// manifest's.
fn platform_digest(
    client: &RegistryClient,
    r: &Reference,
    opts: &PullOptions,
) -> Result<Digest, Error> {
    let tag = r.manifest_ref();
    match client.head_manifest(&tag) {
        Ok((Some(digest), Some(kind))) if is_single_image(&kind) => return Ok(digest),
        Ok(_) => {}
        // Some servers refuse HEAD; the GET below reports what is wrong.
        Err(e) => log::debug!("HEAD of {r}: {e}; fetching the manifest"),
    }
    let top = client.manifest(&tag)?;
    match parse_manifest(top.content_type.as_deref(), &top.body)? {
        Manifest::Image(_) => Ok(top.digest),
        Manifest::Index(index) => descriptor_digest(select_platform(&index, &opts.platform)?),
    }
}

/// Whether a `Content-Type` names a single image's manifest.
fn is_single_image(content_type: &str) -> bool {
    let kind = content_type.split(';').next().unwrap_or_default().trim();
    kind == OCI_MANIFEST || kind == DOCKER_MANIFEST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_with_a_registry_are_qualified() {
        let r = qualified("localhost:5000/app").expect("qualified");
        assert_eq!(
            r.tagged_name().as_deref(),
            Some("localhost:5000/app:latest")
        );
        let r = qualified("docker.io/busybox:1").expect("qualified");
        assert_eq!(
            r.tagged_name().as_deref(),
            Some("docker.io/library/busybox:1")
        );
        assert!(matches!(qualified("busybox"), Err(Error::NotQualified(n)) if n == "busybox"));
    }

    #[test]
    fn lists_and_unknown_types_are_fetched() {
        assert!(is_single_image(OCI_MANIFEST));
        assert!(is_single_image(&format!(
            "{DOCKER_MANIFEST}; charset=utf-8"
        )));
        assert!(!is_single_image(super::super::manifest::OCI_INDEX));
        assert!(!is_single_image("application/octet-stream"));
    }
}
