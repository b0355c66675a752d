//! Manifests, indexes and image configs as the OCI image spec
//! (manifest.md, image-index.md, config.md) and Docker's schema 2 define
//! them; platform selection and layer media types.

use serde::Deserialize;

use super::ManifestError;
use super::{Error, Platform};
use crate::storage::{Compression, Digest};

/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 1 manifest (unsigned).
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1 manifest (signed).
const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// What the manifest endpoint is asked for, most preferred first.
pub const ACCEPT: &[&str] = &[OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST];

/// The largest manifest or index accepted, as containers/image limits it.
pub const MAX_MANIFEST_SIZE: u64 = 4 << 20;
/// The largest image config accepted.
pub const MAX_CONFIG_SIZE: u64 = 8 << 20;

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// A content descriptor.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// What the content is.
    #[serde(default)]
    pub media_type: String,
    /// Its digest (validated when used).
    pub digest: String,
    /// Its size in bytes.
    pub size: u64,
    /// For index entries: the platform the manifest is for.
    #[serde(default)]
    pub platform: Option<DescriptorPlatform>,
}

/// The `platform` of an index entry.
#[derive(Debug, Clone, Deserialize)]
pub struct DescriptorPlatform {
    /// GOARCH.
    #[serde(default)]
    pub architecture: String,
    /// GOOS.
    #[serde(default)]
    pub os: String,
    /// CPU variant.
    #[serde(default)]
    pub variant: Option<String>,
}

impl DescriptorPlatform {
    fn display(&self) -> String {
        match self.variant.as_deref().filter(|v| !v.is_empty()) {
            Some(v) => format!("{}/{}/{v}", self.os, self.architecture),
            None => format!("{}/{}", self.os, self.architecture),
        }
    }
}

/// An image index or manifest list.
#[derive(Debug, Clone, Deserialize)]
pub struct Index {
    /// One entry per platform (and attestations).
    pub manifests: Vec<Descriptor>,
}

/// A single-platform image manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct ImageManifest {
    /// The config blob.
    pub config: Descriptor,
    /// Layer blobs, bottom first.
    pub layers: Vec<Descriptor>,
}

/// A manifest as fetched.
#[derive(Debug, Clone)]
pub enum Manifest {
    /// A multi-platform index.
    Index(Index),
    /// A single-platform manifest.
    Image(ImageManifest),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    schema_version: Option<u32>,
    media_type: Option<String>,
    manifests: Option<serde_json::Value>,
    config: Option<serde_json::Value>,
}

/// Parses a manifest body; `content_type` is the response's Content-Type,
/// used unless it is generic (then the body's `mediaType` decides).
pub fn parse_manifest(content_type: Option<&str>, body: &[u8]) -> Result<Manifest, Error> {
    let probe: Probe = serde_json::from_slice(body).map_err(ManifestError::ParseManifest)?;
    let header = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|c| {
            ![
                "",
                "application/json",
                "text/plain",
                "application/octet-stream",
            ]
            .contains(&c.as_str())
        });
    let media_type = header.or(probe.media_type.clone()).unwrap_or_else(|| {
        if probe.schema_version == Some(1) {
            DOCKER_SCHEMA1.to_string()
        } else if probe.manifests.is_some() {
            OCI_INDEX.to_string()
        } else if probe.config.is_some() {
            OCI_MANIFEST.to_string()
        } else {
            String::new()
        }
    });
    match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => Ok(Manifest::Index(
            serde_json::from_slice(body).map_err(ManifestError::ParseManifest)?,
        )),
        OCI_MANIFEST | DOCKER_MANIFEST => Ok(Manifest::Image(
            serde_json::from_slice(body).map_err(ManifestError::ParseManifest)?,
        )),
        DOCKER_SCHEMA1 | DOCKER_SCHEMA1_SIGNED => Err(ManifestError::Schema1.into()),
        _ if probe.schema_version == Some(1) => Err(ManifestError::Schema1.into()),
        other => Err(ManifestError::ManifestMediaType(other.to_string()).into()),
    }
}

/// Picks the manifest for `wanted` from `index`: same os and architecture,
/// then the exact variant, else an entry without a variant (for arm64,
/// `v8` and no variant are the same).
pub fn select_platform<'a>(index: &'a Index, wanted: &Platform) -> Result<&'a Descriptor, Error> {
    let normalise = |arch: &str, v: Option<&str>| -> Option<String> {
        let v = v.filter(|v| !v.is_empty());
        match (arch, v) {
            ("arm64", Some("v8")) => None,
            (_, v) => v.map(String::from),
        }
    };
    let want_variant = normalise(&wanted.architecture, wanted.variant.as_deref());
    let candidates: Vec<(&Descriptor, Option<String>)> = index
        .manifests
        .iter()
        .filter_map(|d| {
            let p = d.platform.as_ref()?;
            (p.os == wanted.os && p.architecture == wanted.architecture)
                .then(|| (d, normalise(&p.architecture, p.variant.as_deref())))
        })
        .collect();
    let exact = candidates.iter().find(|(_, v)| *v == want_variant);
    let without = candidates.iter().find(|(_, v)| v.is_none());
    if let Some((d, _)) = exact.or(without) {
        return Ok(d);
    }
    let mut available: Vec<String> = index
        .manifests
        .iter()
        .filter_map(|d| d.platform.as_ref())
        .filter(|p| p.os != "unknown" && !p.os.is_empty())
        .map(DescriptorPlatform::display)
        .collect();
    available.dedup();
    Err(ManifestError::NoPlatform {
        wanted: wanted.to_string(),
        available: available.join(", "),
    }
    .into())
}

/// How a layer with `media_type` is compressed; refuses non-distributable
/// ("foreign") layers and anything that is not a tar.
pub fn layer_compression(media_type: &str) -> Result<Compression, Error> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => Ok(Compression::None),
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip" => Ok(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar+zstd" => Ok(Compression::Zstd),
        m if m.contains("nondistributable") || m.contains("foreign") => {
            Err(ManifestError::NonDistributable(m.to_string()).into())
        }
        m => Err(ManifestError::LayerMediaType(m.to_string()).into()),
    }
}

/// Checks that a config descriptor names an image config.
pub fn check_config_media_type(media_type: &str) -> Result<(), Error> {
    match media_type {
        OCI_CONFIG | DOCKER_CONFIG | "" => Ok(()),
        other => Err(ManifestError::ConfigMediaType(other.to_string()).into()),
    }
}

/// The parts of an image config `pull` records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageConfig {
    /// `os`.
    pub os: String,
    /// `architecture`.
    pub architecture: String,
    /// `variant`.
    pub variant: Option<String>,
    /// `created`.
    pub created: Option<String>,
    /// `rootfs.diff_ids`, bottom first.
    pub diff_ids: Vec<Digest>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    variant: Option<String>,
    created: Option<String>,
    rootfs: RawRootfs,
}

#[derive(Deserialize)]
struct RawRootfs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

impl ImageConfig {
    /// Parses a raw config blob.
    pub fn parse(raw: &[u8]) -> Result<ImageConfig, Error> {
        let c: RawConfig = serde_json::from_slice(raw).map_err(Error::Config)?;
        let diff_ids = c
            .rootfs
            .diff_ids
            .iter()
            .map(|d| {
                d.parse::<Digest>()
                    .map_err(|_| ManifestError::DiffId(d.clone()))
            })
            .collect::<Result<_, _>>()?;
        Ok(ImageConfig {
            os: c.os,
            architecture: c.architecture,
            variant: c.variant.filter(|v| !v.is_empty()),
            created: c.created,
            diff_ids,
        })
    }
}

/// Validates a descriptor's digest.
pub fn descriptor_digest(d: &Descriptor) -> Result<Digest, Error> {
    d.digest
        .parse()
        .map_err(|_| ManifestError::DescriptorDigest(d.digest.clone()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> String {
        format!("sha256:{}", hex::encode([n; 32]))
    }

    fn index(platforms: &[&str]) -> Index {
        let manifests: Vec<serde_json::Value> = platforms
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let parts: Vec<&str> = p.split('/').collect();
                let mut plat = serde_json::json!({"os": parts[0], "architecture": parts[1]});
                if let Some(v) = parts.get(2) {
                    plat["variant"] = serde_json::json!(v);
                }
                serde_json::json!({"mediaType": OCI_MANIFEST, "digest": digest(i as u8), "size": 100, "platform": plat})
            })
            .collect();
        let body = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests})).unwrap();
        match parse_manifest(Some(OCI_INDEX), &body).unwrap() {
            Manifest::Index(i) => i,
            Manifest::Image(_) => panic!("not an index"),
        }
    }

    #[test]
    fn select_platform_prefers_exact_variant_then_none() {
        let idx = index(&[
            "linux/amd64",
            "linux/arm/v6",
            "linux/arm/v7",
            "linux/arm64/v8",
            "unknown/unknown",
        ]);
        let cases: &[(&str, Option<u8>)] = &[
            ("linux/amd64", Some(0)),
            ("linux/arm/v7", Some(2)),
            ("linux/arm/v6", Some(1)),
            ("linux/arm64", Some(3)),
            ("linux/arm64/v8", Some(3)),
            ("linux/arm/v5", None),
            ("linux/s390x", None),
            ("windows/amd64", None),
        ];
        for (want, expect) in cases {
            let got = select_platform(&idx, &Platform::parse(want).unwrap());
            match expect {
                Some(i) => assert_eq!(got.unwrap().digest, digest(*i), "{want}"),
                None => {
                    let e = got.unwrap_err().to_string();
                    assert!(
                        e.contains("linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8"),
                        "{e}"
                    );
                    assert!(!e.contains("unknown"), "{e}");
                }
            }
        }
    }

    #[test]
    fn select_platform_falls_back_to_entry_without_variant() {
        let idx = index(&["linux/arm", "linux/arm64"]);
        let got = select_platform(&idx, &Platform::parse("linux/arm/v7").unwrap()).unwrap();
        assert_eq!(got.digest, digest(0));
        let idx = index(&["linux/arm64/v8"]);
        let got = select_platform(&idx, &Platform::parse("linux/arm64").unwrap()).unwrap();
        assert_eq!(got.digest, digest(0));
    }

    #[test]
    fn parse_manifest_uses_header_then_body_media_type() {
        let m = format!(
            r#"{{"schemaVersion":2,"config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{}","size":1}},"layers":[]}}"#,
            digest(1)
        );
        assert!(matches!(
            parse_manifest(Some(DOCKER_MANIFEST), m.as_bytes()),
            Ok(Manifest::Image(_))
        ));
        assert!(matches!(
            parse_manifest(Some("application/json; charset=utf-8"), m.as_bytes()),
            Ok(Manifest::Image(_))
        ));
        assert!(matches!(
            parse_manifest(None, br#"{"manifests":[]}"#),
            Ok(Manifest::Index(_))
        ));
        assert!(matches!(
            parse_manifest(
                Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
                br#"{"schemaVersion":1}"#
            ),
            Err(Error::Manifest(ManifestError::Schema1))
        ));
        assert!(matches!(
            parse_manifest(None, br#"{"schemaVersion":1,"fsLayers":[]}"#),
            Err(Error::Manifest(ManifestError::Schema1))
        ));
        assert!(matches!(
            parse_manifest(Some("application/vnd.example+json"), br#"{}"#),
            Err(Error::Manifest(ManifestError::ManifestMediaType(_)))
        ));
        assert!(matches!(
            parse_manifest(None, b"not json"),
            Err(Error::Manifest(ManifestError::ParseManifest(_)))
        ));
    }

    #[test]
    fn layer_media_types_map_to_compression() {
        let cases: &[(&str, Option<Compression>)] = &[
            (
                "application/vnd.oci.image.layer.v1.tar",
                Some(Compression::None),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.oci.image.layer.v1.tar+zstd",
                Some(Compression::Zstd),
            ),
            (
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
                Some(Compression::Gzip),
            ),
            (
                "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                None,
            ),
            (
                "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
                None,
            ),
            ("application/vnd.example.wasm", None),
        ];
        for (m, want) in cases {
            match (layer_compression(m), want) {
                (Ok(c), Some(w)) => assert_eq!(c, *w, "{m}"),
                (Err(Error::Manifest(ManifestError::NonDistributable(_))), None)
                    if m.contains("foreign") || m.contains("nondistributable") => {}
                (Err(Error::Manifest(ManifestError::LayerMediaType(_))), None) => {}
                (got, _) => panic!("{m}: {got:?}"),
            }
        }
    }

    #[test]
    fn image_config_reads_platform_and_diff_ids() {
        let raw = format!(
            r#"{{"architecture":"arm","os":"linux","variant":"v7","created":"2024-01-01T00:00:00Z","rootfs":{{"type":"layers","diff_ids":["{}"]}}}}"#,
            digest(7)
        );
        let c = ImageConfig::parse(raw.as_bytes()).unwrap();
        assert_eq!(c.variant.as_deref(), Some("v7"));
        assert_eq!(c.diff_ids.len(), 1);
        assert!(ImageConfig::parse(br#"{"rootfs":{"diff_ids":["sha256:xyz"]}}"#).is_err());
        assert!(ImageConfig::parse(br#"{"os":"linux"}"#).is_err());
    }
}
