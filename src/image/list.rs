//! Manifest lists (`manifest create/add/annotate/remove/inspect/push`):
//! the document a local list is, and what is made of it.
//!
//! A list is stored as an image record whose config is a small identity
//! document (`is_list_config` tells it apart; it never changes, so the
//! list keeps its id) and whose manifest blob is this module's
//! `ManifestList`: the entries of the index to push, each with its raw
//! manifest and the reference it was added from (to fetch its blobs at
//! push time). Changing a list stores a new document and points the
//! record at it. Nothing here talks to a registry or the store.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::manifest::{DOCKER_LIST, OCI_INDEX};
use super::Error;
use crate::storage::Digest;

/// The `mediaType` a list's identity config carries; no image config has
/// one.
const LIST_CONFIG_TYPE: &str = "application/vnd.hutch.manifest-list.v1+json";

/// Where an instance came from, as `manifest add` was given it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "reference", rename_all = "kebab-case")]
pub enum Source {
    /// A registry: `registry/repository@digest`.
    Registry(String),
    /// The local store: the image's id.
    Store(String),
}

/// An instance's platform, with the OCI and Docker fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryPlatform {
    /// GOARCH.
    pub architecture: String,
    /// GOOS.
    pub os: String,
    /// `os.version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// `os.features`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Docker's `features`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

/// One instance of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The manifest's media type.
    pub media_type: String,
    /// The manifest's digest.
    #[serde(with = "digest_text")]
    pub digest: Digest,
    /// The manifest's size.
    pub size: u64,
    /// The platform it is for.
    pub platform: EntryPlatform,
    /// Its annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Where it came from.
    pub source: Source,
    /// The manifest itself (JSON text), pushed as it is.
    pub manifest: String,
}

/// Digests as their `sha256:HEX` text in the stored document.
mod digest_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::storage::Digest;

    pub fn serialize<S: Serializer>(d: &Digest, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A local manifest list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestList {
    /// The instances, in the order they were added.
    pub entries: Vec<Entry>,
}

/// What `--arch`, `--os`, ... and `--annotation` set on an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Annotate {
    /// `--arch`.
    pub arch: Option<String>,
    /// `--os`.
    pub os: Option<String>,
    /// `--os-version`.
    pub os_version: Option<String>,
    /// `--os-features`.
    pub os_features: Vec<String>,
    /// `--variant`.
    pub variant: Option<String>,
    /// `--features`.
    pub features: Vec<String>,
    /// `--annotation KEY=VALUE`, already split.
    pub annotations: Vec<(String, String)>,
}

impl Annotate {
    /// Splits `--annotation` values at their first `=`; one without is
    /// refused as Podman refuses it.
    pub fn parse_annotations(values: &[String]) -> Result<Vec<(String, String)>, Error> {
        values
            .iter()
            .map(|v| match v.split_once('=') {
                Some((k, val)) => Ok((k.to_string(), val.to_string())),
                None => Err(Error::ListUsage(format!(
                    "no value given for annotation {v:?}"
                ))),
            })
            .collect()
    }

    /// Sets what is given on `e`.
    pub fn apply(&self, e: &mut Entry) {
        let p = &mut e.platform;
        if let Some(a) = &self.arch {
            p.architecture = a.clone();
        }
        if let Some(o) = &self.os {
            p.os = o.clone();
        }
        if let Some(v) = &self.os_version {
            p.os_version = Some(v.clone());
        }
        if !self.os_features.is_empty() {
            p.os_features = self.os_features.clone();
        }
        if let Some(v) = &self.variant {
            p.variant = Some(v.clone());
        }
        if !self.features.is_empty() {
            p.features = self.features.clone();
        }
        for (k, v) in &self.annotations {
            e.annotations.insert(k.clone(), v.clone());
        }
    }
}

/// The identity config of a new list made at `created` (RFC 3339);
/// `nonce` keeps two lists made at once apart.
pub fn list_config(created: &str, nonce: &str) -> Vec<u8> {
    json!({"mediaType": LIST_CONFIG_TYPE, "created": created, "nonce": nonce})
        .to_string()
        .into_bytes()
}

/// Whether an image record's `config` is a list's identity config.
pub fn is_list_config(config: &[u8]) -> bool {
    serde_json::from_slice::<Value>(config)
        .is_ok_and(|v| v["mediaType"].as_str() == Some(LIST_CONFIG_TYPE))
}

/// Parses a digest the user gave for an instance, with Podman's words.
pub fn parse_instance_digest(s: &str) -> Result<Digest, Error> {
    s.parse().map_err(|_| {
        Error::ListUsage(format!(
            "invalid image digest {s:?}: invalid checksum digest format"
        ))
    })
}

impl ManifestList {
    /// Reads a stored list document.
    pub fn from_bytes(raw: &[u8]) -> Result<ManifestList, Error> {
        serde_json::from_slice(raw).map_err(Error::ListDocument)
    }

    /// The document to store.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising these plain types cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Adds `e`, replacing an entry with the same digest in place.
    pub fn add(&mut self, e: Entry) {
        match self.entries.iter_mut().find(|x| x.digest == e.digest) {
            Some(old) => *old = e,
            None => self.entries.push(e),
        }
    }

    /// The entry with `digest`.
    pub fn entry_mut(&mut self, digest: &Digest) -> Option<&mut Entry> {
        self.entries.iter_mut().find(|e| &e.digest == digest)
    }

    /// Removes the entry with `digest`; whether there was one.
    pub fn remove(&mut self, digest: &Digest) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| &e.digest != digest);
        self.entries.len() != before
    }

    /// The index to push: an OCI index, or with `is_docker` a Docker
    /// manifest list (which carries no annotations); compact JSON.
    pub fn index(&self, is_docker: bool) -> (&'static str, Vec<u8>) {
        let media_type = if is_docker { DOCKER_LIST } else { OCI_INDEX };
        let manifests: Vec<Value> = self
            .entries
            .iter()
            .map(|e| {
                let mut d = json!({
                    "mediaType": e.media_type,
                    "digest": e.digest.to_string(),
                    "size": e.size,
                    "platform": platform_json(&e.platform, is_docker),
                });
                if !is_docker && !e.annotations.is_empty() {
                    d["annotations"] = json!(e.annotations);
                }
                d
            })
            .collect();
        let doc = json!({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests});
        (media_type, doc.to_string().into_bytes())
    }

    /// What `manifest inspect` prints, in Podman 4.3's shape: a Docker
    /// manifest list with each entry's annotations (`manifests` is `null`
    /// when empty), as an ordered JSON value.
    pub fn inspect(&self) -> InspectList {
        InspectList {
            schema_version: 2,
            media_type: DOCKER_LIST.to_string(),
            manifests: (!self.entries.is_empty()).then(|| {
                self.entries
                    .iter()
                    .map(|e| InspectEntry {
                        media_type: e.media_type.clone(),
                        size: e.size,
                        digest: e.digest.to_string(),
                        platform: InspectPlatform::from(&e.platform),
                        annotations: e.annotations.clone(),
                    })
                    .collect()
            }),
        }
    }
}

/// `manifest inspect`'s document, fields in Podman's order.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InspectList {
    /// Always 2.
    pub schema_version: u32,
    /// Docker's manifest list type.
    pub media_type: String,
    /// The entries, `null` for none.
    pub manifests: Option<Vec<InspectEntry>>,
}

/// One entry of `InspectList`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct InspectEntry {
    /// The manifest's media type.
    pub media_type: String,
    /// Its size.
    pub size: u64,
    /// Its digest.
    pub digest: String,
    /// Its platform.
    pub platform: InspectPlatform,
    /// Its annotations, if any.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// A platform as Docker's schema 2 list spells it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InspectPlatform {
    /// GOARCH.
    pub architecture: String,
    /// GOOS.
    pub os: String,
    /// `os.version`.
    #[serde(rename = "os.version", skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    /// `os.features`.
    #[serde(rename = "os.features", skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    /// CPU variant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// `features`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

impl From<&EntryPlatform> for InspectPlatform {
    fn from(p: &EntryPlatform) -> InspectPlatform {
        InspectPlatform {
            architecture: p.architecture.clone(),
            os: p.os.clone(),
            os_version: p.os_version.clone(),
            os_features: p.os_features.clone(),
            variant: p.variant.clone(),
            features: p.features.clone(),
        }
    }
}

/// A platform as an index entry carries it (`features` only in Docker's
/// lists).
fn platform_json(p: &EntryPlatform, is_docker: bool) -> Value {
    let mut v = json!({"architecture": p.architecture, "os": p.os});
    if let Some(ver) = &p.os_version {
        v["os.version"] = json!(ver);
    }
    if !p.os_features.is_empty() {
        v["os.features"] = json!(p.os_features);
    }
    if let Some(var) = &p.variant {
        v["variant"] = json!(var);
    }
    if is_docker && !p.features.is_empty() {
        v["features"] = json!(p.features);
    }
    v
}

/// The platform of an index entry as a registry sent it.
pub fn platform_of_descriptor(d: &Value) -> EntryPlatform {
    let p = &d["platform"];
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(String::from);
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    EntryPlatform {
        architecture: text(&p["architecture"]).unwrap_or_default(),
        os: text(&p["os"]).unwrap_or_default(),
        os_version: text(&p["os.version"]),
        os_features: list(&p["os.features"]),
        variant: text(&p["variant"]),
        features: list(&p["features"]),
    }
}

/// The platform an image config names.
pub fn platform_of_config(config: &[u8]) -> EntryPlatform {
    let c: Value = serde_json::from_slice(config).unwrap_or_default();
    let text = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(String::from);
    EntryPlatform {
        architecture: text(&c["architecture"]).unwrap_or_default(),
        os: text(&c["os"]).unwrap_or_default(),
        os_version: text(&c["os.version"]),
        os_features: c["os.features"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        variant: text(&c["variant"]),
        features: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u8, arch: &str) -> Entry {
        let manifest = format!("{{\"n\":{n}}}");
        Entry {
            media_type: super::super::manifest::OCI_MANIFEST.into(),
            digest: Digest::of(manifest.as_bytes()),
            size: manifest.len() as u64,
            platform: EntryPlatform {
                architecture: arch.into(),
                os: "linux".into(),
                ..EntryPlatform::default()
            },
            annotations: BTreeMap::new(),
            source: Source::Registry(format!("r/x@{}", Digest::of(manifest.as_bytes()))),
            manifest,
        }
    }

    #[test]
    fn list_configs_are_told_apart_from_image_configs() {
        assert!(is_list_config(&list_config("2026-01-01T00:00:00Z", "ab")));
        assert!(!is_list_config(
            br#"{"os":"linux","rootfs":{"diff_ids":[]}}"#
        ));
        assert!(!is_list_config(b"not json"));
        assert_ne!(list_config("t", "a"), list_config("t", "b"));
    }

    #[test]
    fn add_replaces_by_digest_and_remove_says_whether_it_found_one() {
        let mut l = ManifestList::default();
        l.add(entry(1, "amd64"));
        l.add(entry(2, "arm64"));
        let mut again = entry(1, "amd64");
        again.platform.variant = Some("v2".into());
        l.add(again);
        assert_eq!(l.entries.len(), 2);
        assert_eq!(l.entries[0].platform.variant.as_deref(), Some("v2"));
        let d = l.entries[1].digest.clone();
        assert!(l.remove(&d));
        assert!(!l.remove(&d));
        let back = ManifestList::from_bytes(&l.to_bytes()).unwrap();
        assert_eq!(back, l);
    }

    #[test]
    fn annotate_sets_only_what_is_given() {
        let mut e = entry(1, "amd64");
        let a = Annotate {
            arch: Some("arm".into()),
            variant: Some("v7".into()),
            os_features: vec!["w".into()],
            annotations: Annotate::parse_annotations(&["k=v=w".into()]).unwrap(),
            ..Annotate::default()
        };
        a.apply(&mut e);
        assert_eq!(e.platform.architecture, "arm");
        assert_eq!(e.platform.os, "linux");
        assert_eq!(e.annotations["k"], "v=w");
        assert_eq!(
            Annotate::parse_annotations(&["novalue".into()])
                .unwrap_err()
                .to_string(),
            "no value given for annotation \"novalue\""
        );
    }

    #[test]
    fn index_and_inspect_have_the_registry_and_podman_shapes() {
        let mut l = ManifestList::default();
        assert_eq!(
            serde_json::to_value(l.inspect()).unwrap(),
            json!({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": null})
        );
        let mut e = entry(1, "arm64");
        e.platform.variant = Some("v8".into());
        e.platform.os_version = Some("1.2".into());
        e.annotations.insert("a".into(), "b".into());
        l.add(e.clone());
        let (mt, body) = l.index(false);
        assert_eq!(mt, OCI_INDEX);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["manifests"][0]["annotations"]["a"], "b");
        assert_eq!(v["manifests"][0]["platform"]["os.version"], "1.2");
        let (mt, body) = l.index(true);
        assert_eq!(mt, DOCKER_LIST);
        let v: Value = serde_json::from_slice(&body).unwrap();
        assert!(v["manifests"][0].get("annotations").is_none());
        let shown = serde_json::to_string(&l.inspect()).unwrap();
        assert_eq!(
            shown,
            format!(
                "{{\"schemaVersion\":2,\"mediaType\":\"{DOCKER_LIST}\",\"manifests\":[{{\"mediaType\":\"{}\",\"size\":{},\"digest\":\"{}\",\"platform\":{{\"architecture\":\"arm64\",\"os\":\"linux\",\"os.version\":\"1.2\",\"variant\":\"v8\"}},\"annotations\":{{\"a\":\"b\"}}}}]}}",
                e.media_type, e.size, e.digest
            )
        );
    }

    #[test]
    fn platforms_come_from_descriptors_and_configs() {
        let d = json!({"platform": {"architecture": "arm64", "os": "linux", "variant": "v8", "os.features": ["x"]}});
        let p = platform_of_descriptor(&d);
        assert_eq!(p.variant.as_deref(), Some("v8"));
        assert_eq!(p.os_features, vec!["x".to_string()]);
        let p = platform_of_config(br#"{"architecture":"amd64","os":"linux","variant":""}"#);
        assert_eq!((p.architecture.as_str(), p.variant), ("amd64", None));
        assert!(parse_instance_digest("busybox").is_err());
    }
}
