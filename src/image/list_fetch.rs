//! Where a manifest list's entries come from: a registry (`manifest add
//! IMAGE`, the default, as Podman reads a name as `docker://NAME`) or the
//! local store (`containers-storage:NAME`); and `manifest inspect` of a
//! list at a registry.
//!
//! Only manifests and, for a single image, its config (for its platform)
//! are fetched here; layers are fetched when the list is pushed.

use indicatif::ProgressBar;
use serde_json::Value;

use super::client::{Access, RegistryClient};
use super::list::{
    platform_of_config, platform_of_descriptor, Entry, EntryPlatform, InspectEntry, InspectList,
    InspectPlatform, Source,
};
use super::manifest::{
    descriptor_digest, parse_manifest, select_platform, Manifest, DOCKER_LIST, MAX_CONFIG_SIZE,
    OCI_INDEX, OCI_MANIFEST,
};
use super::reference::{ImageName, Reference, DOCKER_HUB};
use super::registries::Registries;
use super::{Error, ManifestError, Platform, PullOptions};
use crate::paths::Paths;
use crate::storage::{Digest, ImageRecord, Store};

/// The transport prefix of a local image.
pub const STORE_TRANSPORT: &str = "containers-storage:";

/// The reference `name` (`[docker://]NAME`) stands for at its registry:
/// a short name is Docker Hub's, as in Podman's docker transport.
pub fn registry_reference(name: &str) -> Result<Reference, Error> {
    let name = name.strip_prefix("docker://").unwrap_or(name);
    Ok(ImageName::parse(name)?.qualify(DOCKER_HUB))
}

/// A client for `r`'s repository with `opts`' access.
pub(super) fn connect(
    paths: &Paths,
    r: &Reference,
    opts: &PullOptions,
) -> Result<RegistryClient, Error> {
    let regs = Registries::load(&paths.registries_conf_candidates())?;
    let ep = regs.endpoint(r)?;
    let access = Access {
        auth_files: super::login::auth_files(paths, opts.authfile.as_ref()),
        certs_dirs: paths.certs_dirs(),
        cert_dir: opts.cert_dir.clone(),
        credentials: opts.credentials.clone(),
    };
    RegistryClient::connect(&ep, &access.options(&ep, opts.tls_verify)?)
}

/// The media type of a fetched manifest: the header's unless generic,
/// else the body's, else by its shape.
fn media_type_of(content_type: Option<&str>, body: &[u8]) -> String {
    let header = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
        .filter(|c| c.starts_with("application/vnd."));
    header.unwrap_or_else(|| {
        let v: Value = serde_json::from_slice(body).unwrap_or_default();
        match v["mediaType"].as_str() {
            Some(m) => m.to_string(),
            None if v.get("manifests").is_some() => OCI_INDEX.to_string(),
            None => OCI_MANIFEST.to_string(),
        }
    })
}

/// The entries `manifest add` adds for remote `name`: the image it
/// names, or for an index the host's instance (every instance with
/// `is_all`).
pub fn remote_entries(
    paths: &Paths,
    name: &str,
    is_all: bool,
    opts: &PullOptions,
) -> Result<Vec<Entry>, Error> {
    let r = registry_reference(name)?;
    fetch_entries(paths, &r, is_all, opts).map_err(|e| Error::ListImage {
        image: r.to_string(),
        source: Box::new(e),
    })
}

fn fetch_entries(
    paths: &Paths,
    r: &Reference,
    is_all: bool,
    opts: &PullOptions,
) -> Result<Vec<Entry>, Error> {
    let client = connect(paths, r, opts)?;
    let top = client.manifest(&r.manifest_ref())?;
    let source = |d: &Digest| Source::Registry(format!("{}@{d}", r.name()));
    let entries = match parse_manifest(top.content_type.as_deref(), &top.body)? {
        Manifest::Image(m) => {
            let digest = descriptor_digest(&m.config)?;
            let config = read_config(&client, &digest, m.config.size)?;
            vec![entry(
                &top.body,
                top.content_type.as_deref(),
                top.digest.clone(),
                platform_of_config(&config),
                source(&top.digest),
            )?]
        }
        Manifest::Index(index) => {
            let raw: Value =
                serde_json::from_slice(&top.body).map_err(ManifestError::ParseManifest)?;
            let descriptors = raw["manifests"].as_array().cloned().unwrap_or_default();
            let chosen: Vec<Value> = if is_all {
                descriptors
            } else {
                let d = select_platform(&index, &Platform::host())?;
                descriptors
                    .into_iter()
                    .filter(|v| v["digest"].as_str() == Some(d.digest.as_str()))
                    .take(1)
                    .collect()
            };
            let mut out = Vec::new();
            for d in &chosen {
                let digest: Digest = d["digest"]
                    .as_str()
                    .unwrap_or_default()
                    .parse()
                    .map_err(|_| ManifestError::DescriptorDigest(d["digest"].to_string()))?;
                let m = client.manifest(&digest.to_string())?;
                if let Manifest::Index(_) = parse_manifest(m.content_type.as_deref(), &m.body)? {
                    return Err(ManifestError::NestedIndex.into());
                }
                out.push(entry(
                    &m.body,
                    m.content_type.as_deref(),
                    digest.clone(),
                    platform_of_descriptor(d),
                    source(&digest),
                )?);
            }
            out
        }
    };
    drop(client);
    Ok(entries)
}

fn entry(
    body: &[u8],
    content_type: Option<&str>,
    digest: Digest,
    platform: EntryPlatform,
    source: Source,
) -> Result<Entry, Error> {
    let manifest = String::from_utf8(body.to_vec()).map_err(|_| Error::ListManifestText)?;
    Ok(Entry {
        media_type: media_type_of(content_type, body),
        size: body.len() as u64,
        digest,
        platform,
        annotations: Default::default(),
        source,
        manifest,
    })
}

/// Downloads and verifies config blob `digest`.
fn read_config(client: &RegistryClient, digest: &Digest, size: u64) -> Result<Vec<u8>, Error> {
    if size > MAX_CONFIG_SIZE {
        return Err(Error::TooLarge {
            what: "declared config size",
            limit: MAX_CONFIG_SIZE,
        });
    }
    let mut raw = Vec::new();
    super::pull::download_to(client, digest, size, &mut raw, &ProgressBar::hidden())?;
    let actual = Digest::of(&raw);
    if &actual != digest {
        return Err(Error::DigestMismatch {
            expected: digest.to_string(),
            actual,
        });
    }
    Ok(raw)
}

/// The entry for stored image `rec`: its stored manifest, its platform.
pub fn store_entry(store: &Store, rec: &ImageRecord) -> Result<Entry, Error> {
    let body = store
        .read_blob(&rec.manifest_digest)
        .map_err(Error::ReadStoredBlob)?;
    entry(
        &body,
        None,
        rec.manifest_digest.clone(),
        EntryPlatform {
            architecture: rec.architecture.clone(),
            os: rec.os.clone(),
            variant: rec.variant.clone(),
            ..platform_of_config(&rec.config)
        },
        Source::Store(rec.id.to_string()),
    )
}

/// `manifest inspect` of `name` at its registry: the list it names, in
/// Podman's shape; a single image is refused as Podman refuses it.
pub fn remote_inspect(paths: &Paths, name: &str, opts: &PullOptions) -> Result<InspectList, Error> {
    let r = registry_reference(name)?;
    let client = connect(paths, &r, opts)?;
    let top = client
        .manifest(&r.manifest_ref())
        .map_err(|e| Error::ListImage {
            image: r.to_string(),
            source: Box::new(e),
        })?;
    drop(client);
    if let Manifest::Image(_) = parse_manifest(top.content_type.as_deref(), &top.body)? {
        return Err(Error::NotAList(r.to_string()));
    }
    let raw: Value = serde_json::from_slice(&top.body).map_err(ManifestError::ParseManifest)?;
    let manifests: Vec<InspectEntry> = raw["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| InspectEntry {
            media_type: d["mediaType"].as_str().unwrap_or_default().to_string(),
            size: d["size"].as_u64().unwrap_or_default(),
            digest: d["digest"].as_str().unwrap_or_default().to_string(),
            platform: InspectPlatform::from(&platform_of_descriptor(d)),
            annotations: d["annotations"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    Ok(InspectList {
        schema_version: 2,
        media_type: DOCKER_LIST.to_string(),
        manifests: (!manifests.is_empty()).then_some(manifests),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_go_to_their_registry_or_docker_hub() {
        assert_eq!(
            registry_reference("docker://127.0.0.1:5000/a:1")
                .unwrap()
                .to_string(),
            "127.0.0.1:5000/a:1"
        );
        assert_eq!(
            registry_reference("busybox").unwrap().to_string(),
            "docker.io/library/busybox:latest"
        );
    }

    #[test]
    fn media_types_come_from_the_header_then_the_body() {
        assert_eq!(
            media_type_of(Some("application/vnd.x+json; charset=utf-8"), b"{}"),
            "application/vnd.x+json"
        );
        assert_eq!(
            media_type_of(Some("application/json"), br#"{"mediaType":"m"}"#),
            "m"
        );
        assert_eq!(media_type_of(None, br#"{"config":{}}"#), OCI_MANIFEST);
    }
}
