//! Writing stored images as a docker-archive, an oci-archive or an OCI
//! layout directory.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::{
    blob_member, Error, CONTAINERD_NAME, DOCKER_MANIFEST_FILE, OCI_INDEX_FILE, OCI_LAYOUT, REF_NAME,
};
use crate::image::manifest::{OCI_INDEX, OCI_MANIFEST};
use crate::storage::{Compression, Digest, ImageRecord, LayerRef, Store};

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// The archive kinds `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save`'s layout: manifest.json, config JSON, plain layer tars.
    DockerArchive,
    /// An OCI image layout in a tar, layer blobs as stored.
    OciArchive,
    /// An OCI image layout as a directory.
    OciDir,
}

/// One image to save and the names to give it in the archive.
#[derive(Debug, Clone)]
pub struct SaveItem {
    /// The stored image.
    pub image: ImageRecord,
    /// Full names (`registry/repo:tag`); empty for an image saved by id.
    pub names: Vec<String>,
}

/// Where members go: a tar stream or a directory.
enum Sink<W: Write> {
    Tar(tar::Builder<W>),
    Dir(PathBuf),
}

impl<W: Write> Sink<W> {
    fn add(&mut self, member: &str, size: u64, data: &mut dyn Read) -> Result<(), Error> {
        let err = |source| Error::Write {
            member: member.to_string(),
            source,
        };
        match self {
            Sink::Tar(b) => {
                // Fixed metadata, so the same images give the same archive.
                let mut h = tar::Header::new_ustar();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_mtime(0);
                h.set_uid(0);
                h.set_gid(0);
                h.set_size(size);
                b.append_data(&mut h, member, data.take(size)).map_err(err)
            }
            Sink::Dir(root) => {
                // Member names are made here from digests, never taken
                // from an image.
                let path = root.join(member);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(err)?;
                }
                let mut f = File::create(&path).map_err(err)?;
                let n = io::copy(&mut data.take(size), &mut f).map_err(err)?;
                if n != size {
                    return Err(err(io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(())
            }
        }
    }

    /// A directory entry. Readers that create missing parents themselves
    /// may try to give them an owner (containers/image, unprivileged, fails
    /// there), so the layout's directories are written explicitly.
    fn add_dir(&mut self, member: &str) -> Result<(), Error> {
        let err = |source| Error::Write {
            member: member.to_string(),
            source,
        };
        match self {
            Sink::Tar(b) => {
                let mut h = tar::Header::new_ustar();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_mtime(0);
                h.set_uid(0);
                h.set_gid(0);
                h.set_size(0);
                b.append_data(&mut h, member, io::empty()).map_err(err)
            }
            Sink::Dir(root) => std::fs::create_dir_all(root.join(member)).map_err(err),
        }
    }

    fn add_bytes(&mut self, member: &str, bytes: &[u8]) -> Result<(), Error> {
        self.add(member, bytes.len() as u64, &mut &bytes[..])
    }

    fn finish(self) -> Result<(), Error> {
        match self {
            Sink::Tar(b) => b
                .into_inner()
                .and_then(|mut w| w.flush())
                .map_err(|source| Error::Write {
                    member: "the end of the archive".into(),
                    source,
                }),
            Sink::Dir(_) => Ok(()),
        }
    }
}

/// Writes `items` in `format`: to `out` for the archive formats, into
/// directory `dir` for `OciDir`. A docker-archive with more than one
/// image needs `is_multi`.
pub fn save<W: Write>(
    store: &Store,
    items: &[SaveItem],
    format: Format,
    is_multi: bool,
    out: W,
    dir: Option<&Path>,
) -> Result<(), Error> {
    match format {
        Format::DockerArchive => {
            let ids: HashSet<&Digest> = items.iter().map(|i| &i.image.id).collect();
            if ids.len() > 1 && !is_multi {
                return Err(Error::SeveralImages);
            }
            let mut sink = Sink::Tar(tar::Builder::new(out));
            write_docker(store, items, &mut sink)?;
            sink.finish()
        }
        Format::OciArchive => {
            let mut sink = Sink::Tar(tar::Builder::new(out));
            write_oci(store, items, &mut sink)?;
            sink.finish()
        }
        Format::OciDir => {
            let dir = dir.unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateOutput {
                path: dir.to_path_buf(),
                source,
            })?;
            let mut sink: Sink<W> = Sink::Dir(dir.to_path_buf());
            write_oci(store, items, &mut sink)?;
            sink.finish()
        }
    }
}

fn read_blob(store: &Store, d: &Digest) -> Result<Vec<u8>, Error> {
    store.read_blob(d).map_err(|source| Error::ReadBlob {
        digest: d.clone(),
        source: Box::new(source),
    })
}

fn open_blob(store: &Store, d: &Digest) -> Result<(File, u64), Error> {
    let path = store.blob_path(d);
    let f = File::open(&path).map_err(|e| Error::ReadBlob {
        digest: d.clone(),
        source: Box::new(crate::storage::Error::ReadBlob {
            digest: d.clone(),
            source: e,
        }),
    })?;
    let len = f
        .metadata()
        .map_err(|e| Error::ReadBlob {
            digest: d.clone(),
            source: Box::new(crate::storage::Error::ReadBlob {
                digest: d.clone(),
                source: e,
            }),
        })?
        .len();
    Ok((f, len))
}

/// The image's manifest: the stored one (as pulled, so its digest stays),
/// else one made from the record.
pub(super) fn manifest_of(store: &Store, img: &ImageRecord) -> Result<Vec<u8>, Error> {
    if store.has_blob(&img.manifest_digest) {
        return read_blob(store, &img.manifest_digest);
    }
    Ok(made_manifest(img).to_string().into_bytes())
}

/// An OCI manifest for a record whose manifest blob is not stored.
fn made_manifest(img: &ImageRecord) -> Value {
    let layers: Vec<Value> = img
        .layers
        .iter()
        .map(|l| json!({"mediaType": oci_layer_type(l), "digest": l.blob.to_string(), "size": l.size}))
        .collect();
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": img.id.to_string(), "size": img.config.len()},
        "layers": layers,
    })
}

fn oci_layer_type(l: &LayerRef) -> &'static str {
    match l.compression {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

fn write_oci<W: Write>(store: &Store, items: &[SaveItem], sink: &mut Sink<W>) -> Result<(), Error> {
    sink.add_bytes(OCI_LAYOUT, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    sink.add_dir("blobs/")?;
    sink.add_dir("blobs/sha256/")?;
    let mut written: HashSet<Digest> = HashSet::new();
    let mut entries = Vec::new();
    for item in items {
        let img = &item.image;
        let manifest = manifest_of(store, img)?;
        let manifest_digest = Digest::of(&manifest);
        let media_type = serde_json::from_slice::<Value>(&manifest)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(String::from))
            .unwrap_or_else(|| OCI_MANIFEST.to_string());
        for l in &img.layers {
            if written.insert(l.blob.clone()) {
                let (mut f, len) = open_blob(store, &l.blob)?;
                sink.add(&blob_member(&l.blob), len, &mut f)?;
            }
        }
        if written.insert(img.id.clone()) {
            sink.add_bytes(&blob_member(&img.id), &img.config)?;
        }
        if written.insert(manifest_digest.clone()) {
            sink.add_bytes(&blob_member(&manifest_digest), &manifest)?;
        }
        let descriptor = |name: Option<&str>| {
            let mut d = json!({
                "mediaType": media_type,
                "digest": manifest_digest.to_string(),
                "size": manifest.len(),
            });
            if let Some(n) = name {
                d["annotations"] = json!({REF_NAME: n, CONTAINERD_NAME: n});
            }
            d
        };
        if item.names.is_empty() {
            entries.push(descriptor(None));
        }
        for n in &item.names {
            entries.push(descriptor(Some(n)));
        }
    }
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
    sink.add_bytes(OCI_INDEX_FILE, index.to_string().as_bytes())
}

fn write_docker<W: Write>(
    store: &Store,
    items: &[SaveItem],
    sink: &mut Sink<W>,
) -> Result<(), Error> {
    let mut written: HashSet<String> = HashSet::new();
    let mut manifest = Vec::new();
    // One entry per image, its names merged.
    let mut order: Vec<&Digest> = Vec::new();
    for item in items {
        if !order.contains(&&item.image.id) {
            order.push(&item.image.id);
        }
    }
    for id in order {
        let mine: Vec<&SaveItem> = items.iter().filter(|i| &i.image.id == id).collect();
        let img = &mine[0].image;
        let mut tags: Vec<&str> = Vec::new();
        for i in &mine {
            for n in &i.names {
                if !tags.contains(&n.as_str()) {
                    tags.push(n);
                }
            }
        }
        let config_member = format!("{}.json", img.id.hex());
        if written.insert(config_member.clone()) {
            sink.add_bytes(&config_member, &img.config)?;
        }
        let mut layers = Vec::new();
        for l in &img.layers {
            let member = format!("{}.tar", l.diff_id.hex());
            if written.insert(member.clone()) {
                write_plain_layer(store, l, &member, sink)?;
            }
            layers.push(member);
        }
        manifest.push(json!({
            "Config": config_member,
            "RepoTags": if tags.is_empty() { Value::Null } else { json!(tags) },
            "Layers": layers,
        }));
    }
    sink.add_bytes(
        DOCKER_MANIFEST_FILE,
        Value::Array(manifest).to_string().as_bytes(),
    )
}

/// Writes layer `l` as a plain tar (docker-archive layers are not
/// compressed; the diff_id is the digest of exactly these bytes).
fn write_plain_layer<W: Write>(
    store: &Store,
    l: &LayerRef,
    member: &str,
    sink: &mut Sink<W>,
) -> Result<(), Error> {
    let (f, len) = open_blob(store, &l.blob)?;
    let mut reader: Box<dyn Read> = match l.compression {
        Compression::None => {
            let mut f = f;
            return sink.add(member, len, &mut f);
        }
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(f))),
        Compression::Zstd => {
            Box::new(
                zstd::stream::read::Decoder::new(f).map_err(|source| Error::Decompress {
                    digest: l.blob.clone(),
                    source,
                })?,
            )
        }
    };
    // The tar header needs the size first: decompress into a temp file.
    let mut tmp = store.temp_file().map_err(|e| Error::Temp(Box::new(e)))?;
    let decompress_err = |source| Error::Decompress {
        digest: l.blob.clone(),
        source,
    };
    let size = io::copy(&mut reader, &mut tmp).map_err(decompress_err)?;
    tmp.seek(SeekFrom::Start(0)).map_err(decompress_err)?;
    sink.add(member, size, &mut tmp)
}
