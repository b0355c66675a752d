//! Reading a docker-archive or oci-archive into the store.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::os::unix::fs::FileExt;

use serde_json::{json, Value};
use sha2::Digest as _;

use super::{blob_member, Error, DOCKER_MANIFEST_FILE, OCI_INDEX_FILE, OCI_LAYOUT, REF_NAME};
use crate::image::manifest::{
    check_config_media_type, descriptor_digest, layer_compression, parse_manifest, select_platform,
    ImageConfig, Manifest, DOCKER_MANIFEST, MAX_CONFIG_SIZE, MAX_MANIFEST_SIZE,
};
use crate::image::reference::{ImageName, DOCKER_HUB};
use crate::image::Platform;
use crate::storage::{Compression, Digest, ImageRecord, LayerRef, Store};
use crate::userns::IdMaps;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// An image `load` recorded.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Its id (config digest).
    pub id: Digest,
    /// The names it was recorded under.
    pub names: Vec<String>,
}

/// The archive, spooled to an unnamed temp file, and where each member is.
struct Archive {
    file: File,
    len: u64,
    members: HashMap<String, (u64, u64)>,
}

/// Reads a member by offset, without moving any shared file position.
struct MemberReader<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for MemberReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// `./a/b` and `a/b` are the same member.
fn normalize(name: &str) -> String {
    let mut n = name;
    while let Some(rest) = n.strip_prefix("./") {
        n = rest;
    }
    n.trim_start_matches('/').to_string()
}

impl Archive {
    /// Copies `input` (decompressing gzip or zstd) into a temp file of the
    /// store and indexes its regular members.
    fn spool(store: &Store, input: &mut dyn Read) -> Result<Archive, Error> {
        let mut file = store.temp_file().map_err(|e| Error::Temp(Box::new(e)))?;
        let mut buffered = BufReader::with_capacity(1 << 16, input);
        let head = buffered.fill_buf().map_err(Error::ReadArchive)?.to_vec();
        let mut reader: Box<dyn Read + '_> = if head.starts_with(&GZIP_MAGIC) {
            Box::new(flate2::read::MultiGzDecoder::new(buffered))
        } else if head.starts_with(&ZSTD_MAGIC) {
            Box::new(
                zstd::stream::read::Decoder::with_buffer(buffered).map_err(Error::ReadArchive)?,
            )
        } else {
            Box::new(buffered)
        };
        let len = io::copy(&mut reader, &mut file).map_err(Error::ReadArchive)?;
        file.flush().map_err(Error::ReadArchive)?;
        let mut members = HashMap::new();
        file.seek(io::SeekFrom::Start(0))
            .map_err(Error::ReadArchive)?;
        {
            let mut tar = tar::Archive::new(&file);
            let entries = tar.entries_with_seek();
            let entries = match entries {
                Ok(e) => e,
                Err(e) => return Err(Error::ReadArchive(e)),
            };
            for entry in entries {
                let entry = entry.map_err(Error::ReadArchive)?;
                let kind = entry.header().entry_type();
                if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                    continue;
                }
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                let name = normalize(&name);
                let start = entry.raw_file_position();
                let size = entry.size();
                if start.saturating_add(size) > len {
                    return Err(Error::TruncatedMember { member: name, size });
                }
                members.insert(name, (start, size));
            }
        }
        Ok(Archive { file, len, members })
    }

    fn has(&self, name: &str) -> bool {
        self.members.contains_key(name)
    }

    fn open(&self, name: &str) -> Result<(MemberReader<'_>, u64), Error> {
        let (start, size) = *self.members.get(name).ok_or_else(|| Error::MissingMember {
            member: name.to_string(),
        })?;
        debug_assert!(start + size <= self.len);
        Ok((
            MemberReader {
                file: &self.file,
                pos: start,
                end: start + size,
            },
            size,
        ))
    }

    /// A small member (JSON) read whole, refused above `limit` bytes.
    fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, Error> {
        let (mut r, size) = self.open(name)?;
        if size > limit {
            return Err(Error::MemberTooLarge {
                member: name.to_string(),
                size,
            });
        }
        let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        r.read_to_end(&mut buf)
            .map_err(|source| Error::ReadMember {
                member: name.to_string(),
                source,
            })?;
        Ok(buf)
    }

    /// The blob `d` of an OCI layout, checked against its digest.
    fn read_blob_checked(&self, d: &Digest, limit: u64) -> Result<Vec<u8>, Error> {
        let member = blob_member(d);
        let bytes = self.read_small(&member, limit)?;
        check_digest(&member, d, &bytes)?;
        Ok(bytes)
    }
}

fn check_digest(member: &str, expected: &Digest, bytes: &[u8]) -> Result<(), Error> {
    let actual = Digest::of(bytes);
    if &actual != expected {
        return Err(Error::DigestMismatch {
            member: member.to_string(),
            expected: expected.clone(),
            actual,
        });
    }
    Ok(())
}

fn parse_json(member: &str, bytes: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice(bytes).map_err(|source| Error::ParseMember {
        member: member.to_string(),
        source,
    })
}

fn invalid(member: &str) -> impl Fn(crate::image::Error) -> Error + '_ {
    move |e| Error::Invalid {
        member: member.to_string(),
        source: Box::new(e),
    }
}

fn bad(member: &str, reason: impl Into<String>) -> Error {
    Error::BadEntry {
        member: member.to_string(),
        reason: reason.into(),
    }
}

/// One image found in the archive, before anything is stored.
struct Pending {
    config: Vec<u8>,
    manifest: Vec<u8>,
    /// Each layer and the member that holds its blob.
    layers: Vec<(LayerRef, String)>,
    names: Vec<String>,
}

/// Reads the archive from `input` and records each image in it; returns
/// them in archive order. Images before a failing one stay loaded; the
/// failing one leaves nothing behind. The caller must be single-threaded
/// (layers are unpacked in a user namespace with `maps`).
pub fn load(store: &Store, input: &mut dyn Read, maps: &IdMaps) -> Result<Vec<Loaded>, Error> {
    let archive = Archive::spool(store, input)?;
    let pending = if archive.has(OCI_INDEX_FILE) && archive.has(OCI_LAYOUT) {
        read_oci(&archive)?
    } else if archive.has(DOCKER_MANIFEST_FILE) {
        read_docker(&archive)?
    } else {
        return Err(Error::UnknownFormat);
    };
    let mut loaded = Vec::new();
    for p in pending {
        loaded.push(commit(store, &archive, p, maps)?);
    }
    Ok(loaded)
}

/// A name from an archive as a full name; `None` for what is not an image
/// name (an OCI ref name may be a bare tag).
fn full_name(name: &str, is_oci: bool) -> Option<String> {
    if is_oci && !name.contains(['/', ':']) {
        return None;
    }
    let parsed = ImageName::parse(name).ok()?;
    if parsed.digest.is_some() {
        return None;
    }
    parsed.qualify(DOCKER_HUB).tagged_name()
}

fn read_oci(a: &Archive) -> Result<Vec<Pending>, Error> {
    let index = parse_json(
        OCI_INDEX_FILE,
        &a.read_small(OCI_INDEX_FILE, MAX_MANIFEST_SIZE)?,
    )?;
    let entries = index["manifests"]
        .as_array()
        .ok_or_else(|| bad(OCI_INDEX_FILE, "no manifests list"))?;
    // Several names may point at one manifest.
    let mut order: Vec<(Digest, String, Vec<String>)> = Vec::new();
    for e in entries {
        let digest: Digest = e["digest"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| bad(OCI_INDEX_FILE, format!("invalid digest in {e}")))?;
        let media_type = e["mediaType"].as_str().unwrap_or_default().to_string();
        // Docker writes a bare tag as the ref name and the full name for
        // containerd: take the first that is a whole image name.
        let name = [REF_NAME, super::CONTAINERD_NAME]
            .iter()
            .filter_map(|k| e["annotations"][*k].as_str())
            .find_map(|n| full_name(n, true));
        match order.iter_mut().find(|(d, ..)| *d == digest) {
            Some((_, _, names)) => names.extend(name),
            None => order.push((digest, media_type, name.into_iter().collect())),
        }
    }
    let mut out = Vec::new();
    for (digest, media_type, names) in order {
        let member = blob_member(&digest);
        let body = a.read_blob_checked(&digest, MAX_MANIFEST_SIZE)?;
        let (body, manifest) = match parse_manifest(
            Some(&media_type)
                .filter(|m| !m.is_empty())
                .map(String::as_str),
            &body,
        )
        .map_err(invalid(&member))?
        {
            Manifest::Image(m) => (body, m),
            Manifest::Index(idx) => {
                let chosen = select_platform(&idx, &Platform::host()).map_err(invalid(&member))?;
                let d = descriptor_digest(chosen).map_err(invalid(&member))?;
                let inner_member = blob_member(&d);
                let inner = a.read_blob_checked(&d, MAX_MANIFEST_SIZE)?;
                match parse_manifest(
                    Some(&chosen.media_type)
                        .filter(|m| !m.is_empty())
                        .map(String::as_str),
                    &inner,
                )
                .map_err(invalid(&inner_member))?
                {
                    Manifest::Image(m) => (inner, m),
                    Manifest::Index(_) => {
                        return Err(invalid(&inner_member)(
                            crate::image::ManifestError::NestedIndex.into(),
                        ))
                    }
                }
            }
        };
        let config_digest = descriptor_digest(&manifest.config).map_err(invalid(&member))?;
        check_config_media_type(&manifest.config.media_type).map_err(invalid(&member))?;
        let config = a.read_blob_checked(&config_digest, MAX_CONFIG_SIZE)?;
        let parsed = ImageConfig::parse(&config).map_err(invalid(&blob_member(&config_digest)))?;
        if parsed.diff_ids.len() != manifest.layers.len() {
            return Err(invalid(&member)(
                crate::image::ManifestError::LayerCount {
                    layers: manifest.layers.len(),
                    diff_ids: parsed.diff_ids.len(),
                }
                .into(),
            ));
        }
        let mut layers = Vec::new();
        for (d, diff_id) in manifest.layers.iter().zip(&parsed.diff_ids) {
            let blob = descriptor_digest(d).map_err(invalid(&member))?;
            let compression = layer_compression(&d.media_type).map_err(invalid(&member))?;
            let layer_member = blob_member(&blob);
            let (_, size) = a.open(&layer_member)?;
            layers.push((
                LayerRef {
                    diff_id: diff_id.clone(),
                    blob,
                    compression,
                    size,
                },
                layer_member,
            ));
        }
        out.push(Pending {
            config,
            manifest: body,
            layers,
            names,
        });
    }
    Ok(out)
}

/// The digest a member's name spells (`HEX.json`, `HEX.tar`,
/// `blobs/sha256/HEX`), if it spells one.
fn digest_in_name(member: &str) -> Option<Digest> {
    let base = member.rsplit('/').next()?;
    let hex = base
        .strip_suffix(".json")
        .or_else(|| base.strip_suffix(".tar"))
        .unwrap_or(base);
    format!("sha256:{hex}")
        .parse()
        .ok()
        .filter(|_| hex.len() == 64)
}

fn read_docker(a: &Archive) -> Result<Vec<Pending>, Error> {
    let m = parse_json(
        DOCKER_MANIFEST_FILE,
        &a.read_small(DOCKER_MANIFEST_FILE, MAX_MANIFEST_SIZE)?,
    )?;
    let entries = m
        .as_array()
        .ok_or_else(|| bad(DOCKER_MANIFEST_FILE, "not a list of images"))?;
    let mut out = Vec::new();
    for e in entries {
        let config_member = e["Config"]
            .as_str()
            .map(normalize)
            .ok_or_else(|| bad(DOCKER_MANIFEST_FILE, "an image without Config"))?;
        let config = a.read_small(&config_member, MAX_CONFIG_SIZE)?;
        let id = Digest::of(&config);
        // A config named by its digest must have that digest.
        if let Some(named) = digest_in_name(&config_member) {
            check_digest(&config_member, &named, &config)?;
        }
        let parsed = ImageConfig::parse(&config).map_err(invalid(&config_member))?;
        let layer_members: Vec<String> = e["Layers"]
            .as_array()
            .map(|l| l.iter().filter_map(|x| x.as_str()).map(normalize).collect())
            .unwrap_or_default();
        if layer_members.len() != parsed.diff_ids.len() {
            return Err(invalid(DOCKER_MANIFEST_FILE)(
                crate::image::ManifestError::LayerCount {
                    layers: layer_members.len(),
                    diff_ids: parsed.diff_ids.len(),
                }
                .into(),
            ));
        }
        let mut layers = Vec::new();
        for (member, diff_id) in layer_members.into_iter().zip(&parsed.diff_ids) {
            let (mut r, size) = a.open(&member)?;
            let mut head = [0u8; 4];
            let n = read_up_to(&mut r, &mut head).map_err(|source| Error::ReadMember {
                member: member.clone(),
                source,
            })?;
            let compression = if head[..n].starts_with(&GZIP_MAGIC) {
                Compression::Gzip
            } else if head[..n] == ZSTD_MAGIC {
                Compression::Zstd
            } else {
                Compression::None
            };
            // A plain tar's digest is its diff_id; a compressed one's is
            // learned by hashing it.
            let blob = match compression {
                Compression::None => diff_id.clone(),
                _ => hash_member(a, &member)?,
            };
            layers.push((
                LayerRef {
                    diff_id: diff_id.clone(),
                    blob,
                    compression,
                    size,
                },
                member,
            ));
        }
        let names: Vec<String> = e["RepoTags"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|x| x.as_str())
                    .filter_map(|n| full_name(n, false))
                    .collect()
            })
            .unwrap_or_default();
        let manifest = docker_manifest(&id, config.len(), &layers);
        out.push(Pending {
            config,
            manifest,
            layers,
            names,
        });
    }
    Ok(out)
}

fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn hash_member(a: &Archive, member: &str) -> Result<Digest, Error> {
    let (mut r, _) = a.open(member)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf).map_err(|source| Error::ReadMember {
            member: member.to_string(),
            source,
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(Digest::from_sha256(hasher.finalize().as_slice()))
}

/// The Docker schema 2 manifest recorded for an image from a
/// docker-archive (which carries none).
fn docker_manifest(id: &Digest, config_size: usize, layers: &[(LayerRef, String)]) -> Vec<u8> {
    let layers: Vec<Value> = layers
        .iter()
        .map(|(l, _)| {
            let media_type = match l.compression {
                Compression::None => DOCKER_LAYER_TAR,
                Compression::Gzip => DOCKER_LAYER_GZIP,
                Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
            };
            json!({"mediaType": media_type, "size": l.size, "digest": l.blob.to_string()})
        })
        .collect();
    json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": config_size, "digest": id.to_string()},
        "layers": layers,
    })
    .to_string()
    .into_bytes()
}

/// Stores one image's blobs (each verified), unpacks its layers and
/// records it; on failure removes what it added.
fn commit(store: &Store, a: &Archive, p: Pending, maps: &IdMaps) -> Result<Loaded, Error> {
    let id = Digest::of(&p.config);
    let mut added: Vec<Digest> = Vec::new();
    let result = store_all(store, a, &p, &mut added, maps);
    if result.is_err() {
        let layers: Vec<Digest> = p.layers.iter().map(|(l, _)| l.diff_id.clone()).collect();
        // Best effort: the error that stopped the load is the one to report.
        if let Err(e) = store.discard_unused(&layers, &added, maps) {
            log::warn!("cleaning up after a failed load: {e}");
        }
    }
    result?;
    Ok(Loaded { id, names: p.names })
}

fn store_all(
    store: &Store,
    a: &Archive,
    p: &Pending,
    added: &mut Vec<Digest>,
    maps: &IdMaps,
) -> Result<(), Error> {
    let id = Digest::of(&p.config);
    for (l, member) in &p.layers {
        let store_err = |source| Error::StoreMember {
            member: member.clone(),
            source: Box::new(source),
        };
        let _guard = store.lock_blob(&l.blob).map_err(store_err)?;
        if store.has_blob(&l.blob) {
            continue;
        }
        let (mut r, _) = a.open(member)?;
        let mut w = store.blob_writer(&l.blob).map_err(store_err)?;
        io::copy(&mut r, &mut w).map_err(|source| Error::ReadMember {
            member: member.clone(),
            source,
        })?;
        match w.commit() {
            Ok(()) => added.push(l.blob.clone()),
            Err(crate::storage::Error::DigestMismatch { expected, actual }) => {
                return Err(Error::DigestMismatch {
                    member: member.clone(),
                    expected,
                    actual,
                })
            }
            Err(e) => return Err(store_err(e)),
        }
    }
    for bytes in [&p.config, &p.manifest] {
        let d = Digest::of(bytes);
        let had = store.has_blob(&d);
        store
            .put_blob_bytes(bytes)
            .map_err(|source| Error::StoreMember {
                member: blob_member(&d),
                source: Box::new(source),
            })?;
        if !had {
            added.push(d);
        }
    }
    let layers: Vec<LayerRef> = p.layers.iter().map(|(l, _)| l.clone()).collect();
    store.unpack_layers(&layers, maps).map_err(|source| {
        // Name the member that holds the refused layer.
        let member = source.refused_layer().and_then(|layer| {
            p.layers
                .iter()
                .find(|(l, _)| &l.diff_id == layer)
                .map(|(_, m)| m.clone())
        });
        Error::Unpack {
            id: id.clone(),
            member: member.unwrap_or_else(|| "(layers)".into()),
            source: Box::new(source),
        }
    })?;
    let parsed = ImageConfig::parse(&p.config).map_err(invalid("config"))?;
    let record = ImageRecord {
        id: id.clone(),
        names: p.names.clone(),
        manifest_digest: Digest::of(&p.manifest),
        config: p.config.clone(),
        // Computed by `Store::put_image`.
        size: 0,
        layers,
        os: parsed.os,
        architecture: parsed.architecture,
        variant: parsed.variant,
        created: parsed.created,
    };
    store.put_image(&record).map_err(|source| Error::Record {
        id,
        source: Box::new(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_normalised() {
        assert_eq!(normalize("./manifest.json"), "manifest.json");
        assert_eq!(normalize("blobs/sha256/ab"), "blobs/sha256/ab");
        assert_eq!(normalize("/index.json"), "index.json");
    }

    #[test]
    fn names_become_full_names() {
        assert_eq!(
            full_name("busybox:latest", false).as_deref(),
            Some("docker.io/library/busybox:latest")
        );
        assert_eq!(
            full_name("127.0.0.1:5000/busybox:1", true).as_deref(),
            Some("127.0.0.1:5000/busybox:1")
        );
        assert_eq!(full_name("latest", true), None);
    }

    #[test]
    fn digests_are_read_from_member_names() {
        let hex = "a".repeat(64);
        let d: Digest = format!("sha256:{hex}").parse().unwrap();
        assert_eq!(digest_in_name(&format!("{hex}.json")), Some(d.clone()));
        assert_eq!(digest_in_name(&format!("blobs/sha256/{hex}")), Some(d));
        assert_eq!(digest_in_name("abc/layer.tar"), None);
    }
}
