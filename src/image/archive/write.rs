//! Writing stored images as a docker-archive, an oci-archive, an OCI
//! layout directory or a docker-dir (containers/image's `dir:` layout
//! with a Docker schema 2 manifest).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::Digest as _;

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
    /// containers/image's `dir:` layout, Docker schema 2 manifest.
    DockerDir,
}

/// How `save` writes layers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerChoice {
    /// `--uncompressed`: OCI layouts get plain tar layers.
    pub is_uncompressed: bool,
    /// `--compress`: a docker-dir gets gzip layers even for plain ones.
    pub is_compressed: bool,
}

/// What a docker-dir's `version` file says.
const DIR_VERSION: &str = "Directory Transport Version: 1.1\n";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

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
/// directory `dir` for `OciDir` and `DockerDir`. A docker-archive with
/// more than one image needs `is_multi`; a docker-dir holds one image.
pub fn save<W: Write>(
    store: &Store,
    items: &[SaveItem],
    format: Format,
    is_multi: bool,
    layers: LayerChoice,
    out: W,
    dir: Option<&Path>,
) -> Result<(), Error> {
    let ids: HashSet<&Digest> = items.iter().map(|i| &i.image.id).collect();
    match format {
        Format::DockerDir => {
            if ids.len() > 1 {
                return Err(Error::SeveralImages);
            }
            let dir = dir.unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateOutput {
                path: dir.to_path_buf(),
                source,
            })?;
            let mut sink: Sink<W> = Sink::Dir(dir.to_path_buf());
            match items.first() {
                Some(item) => write_docker_dir(store, &item.image, layers.is_compressed, &mut sink),
                None => Ok(()),
            }
        }
        Format::DockerArchive => {
            if ids.len() > 1 && !is_multi {
                return Err(Error::SeveralImages);
            }
            let mut sink = Sink::Tar(tar::Builder::new(out));
            write_docker(store, items, &mut sink)?;
            sink.finish()
        }
        Format::OciArchive => {
            let mut sink = Sink::Tar(tar::Builder::new(out));
            write_oci(store, items, layers.is_uncompressed, &mut sink)?;
            sink.finish()
        }
        Format::OciDir => {
            let dir = dir.unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir).map_err(|source| Error::CreateOutput {
                path: dir.to_path_buf(),
                source,
            })?;
            let mut sink: Sink<W> = Sink::Dir(dir.to_path_buf());
            write_oci(store, items, layers.is_uncompressed, &mut sink)?;
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

fn write_oci<W: Write>(
    store: &Store,
    items: &[SaveItem],
    is_uncompressed: bool,
    sink: &mut Sink<W>,
) -> Result<(), Error> {
    sink.add_bytes(OCI_LAYOUT, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    sink.add_dir("blobs/")?;
    sink.add_dir("blobs/sha256/")?;
    let mut written: HashSet<Digest> = HashSet::new();
    let mut entries = Vec::new();
    let mut plain_sizes: std::collections::HashMap<Digest, u64> = Default::default();
    for item in items {
        let img = &item.image;
        let is_plain = is_uncompressed
            && img
                .layers
                .iter()
                .any(|l| l.compression != Compression::None);
        if is_plain {
            // The layers as plain tars, named by their diff_ids.
            for l in &img.layers {
                if written.insert(l.diff_id.clone()) {
                    let size = write_plain_layer(store, l, &blob_member(&l.diff_id), sink)?;
                    plain_sizes.insert(l.diff_id.clone(), size);
                }
            }
        }
        let manifest = match is_plain {
            true => plain_manifest(img, &plain_sizes).to_string().into_bytes(),
            false => manifest_of(store, img)?,
        };
        let manifest_digest = Digest::of(&manifest);
        let media_type = serde_json::from_slice::<Value>(&manifest)
            .ok()
            .and_then(|v| v["mediaType"].as_str().map(String::from))
            .unwrap_or_else(|| OCI_MANIFEST.to_string());
        for l in img.layers.iter().filter(|_| !is_plain) {
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

/// An OCI manifest for `img` with its layers as plain tars (`sizes` by
/// diff_id), for `save --uncompressed`.
fn plain_manifest(img: &ImageRecord, sizes: &std::collections::HashMap<Digest, u64>) -> Value {
    let layers: Vec<Value> = img
        .layers
        .iter()
        .map(|l| {
            json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": l.diff_id.to_string(),
                "size": sizes.get(&l.diff_id).copied().unwrap_or_default(),
            })
        })
        .collect();
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": img.id.to_string(), "size": img.config.len()},
        "layers": layers,
    })
}

/// Writes `img` as a docker-dir into `sink` (a directory): the config and
/// each layer under its digest's hex, `manifest.json` (Docker schema 2)
/// and `version`. Layers keep their gzip, or stay plain unless
/// `is_compressed`; zstd layers, which that format cannot name, are
/// gzipped.
fn write_docker_dir<W: Write>(
    store: &Store,
    img: &ImageRecord,
    is_compressed: bool,
    sink: &mut Sink<W>,
) -> Result<(), Error> {
    sink.add_bytes(img.id.hex(), &img.config)?;
    let mut layers = Vec::new();
    for l in &img.layers {
        let (digest, size, media_type) = match (l.compression, is_compressed) {
            (Compression::Gzip, _) | (Compression::None, false) => {
                let (mut f, len) = open_blob(store, &l.blob)?;
                sink.add(l.blob.hex(), len, &mut f)?;
                let media_type = match l.compression {
                    Compression::None => DOCKER_LAYER,
                    _ => DOCKER_LAYER_GZIP,
                };
                (l.blob.clone(), len, media_type)
            }
            _ => {
                let (mut f, digest, len) = gzip_layer(store, l)?;
                sink.add(digest.hex(), len, &mut f)?;
                (digest, len, DOCKER_LAYER_GZIP)
            }
        };
        layers.push(json!({"mediaType": media_type, "size": size, "digest": digest.to_string()}));
    }
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": img.config.len(), "digest": img.id.to_string()},
        "layers": layers,
    });
    sink.add_bytes(DOCKER_MANIFEST_FILE, manifest.to_string().as_bytes())?;
    sink.add_bytes("version", DIR_VERSION.as_bytes())
}

/// Layer `l` gzipped into a temporary file: the file (at its start), the
/// digest and size of the gzip stream.
fn gzip_layer(store: &Store, l: &LayerRef) -> Result<(File, Digest, u64), Error> {
    let err = |source| Error::Decompress {
        digest: l.blob.clone(),
        source,
    };
    let mut reader = plain_reader(store, l)?;
    let mut tmp = store.temp_file().map_err(|e| Error::Temp(Box::new(e)))?;
    let mut hashing = Hashing {
        inner: &mut tmp,
        hasher: sha2::Sha256::new(),
        len: 0,
    };
    let mut gz = flate2::write::GzEncoder::new(&mut hashing, flate2::Compression::default());
    io::copy(&mut reader, &mut gz).map_err(err)?;
    gz.finish().map_err(err)?;
    let (digest, len) = (
        Digest::from_sha256(hashing.hasher.finalize().as_slice()),
        hashing.len,
    );
    tmp.seek(SeekFrom::Start(0)).map_err(err)?;
    Ok((tmp, digest, len))
}

/// A writer that counts and hashes what passes through it.
struct Hashing<W: Write> {
    inner: W,
    hasher: sha2::Sha256,
    len: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Layer `l`'s tar, decompressed as it is read.
fn plain_reader(store: &Store, l: &LayerRef) -> Result<Box<dyn Read>, Error> {
    let (f, _) = open_blob(store, &l.blob)?;
    Ok(match l.compression {
        Compression::None => Box::new(f),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(f))),
        Compression::Zstd => {
            Box::new(
                zstd::stream::read::Decoder::new(f).map_err(|source| Error::Decompress {
                    digest: l.blob.clone(),
                    source,
                })?,
            )
        }
    })
}

/// Writes layer `l` as a plain tar (docker-archive layers are not
/// compressed; the diff_id is the digest of exactly these bytes); returns
/// its size.
fn write_plain_layer<W: Write>(
    store: &Store,
    l: &LayerRef,
    member: &str,
    sink: &mut Sink<W>,
) -> Result<u64, Error> {
    if l.compression == Compression::None {
        let (mut f, len) = open_blob(store, &l.blob)?;
        sink.add(member, len, &mut f)?;
        return Ok(len);
    }
    let mut reader = plain_reader(store, l)?;
    // The tar header needs the size first: decompress into a temp file.
    let mut tmp = store.temp_file().map_err(|e| Error::Temp(Box::new(e)))?;
    let decompress_err = |source| Error::Decompress {
        digest: l.blob.clone(),
        source,
    };
    let size = io::copy(&mut reader, &mut tmp).map_err(decompress_err)?;
    tmp.seek(SeekFrom::Start(0)).map_err(decompress_err)?;
    sink.add(member, size, &mut tmp)?;
    Ok(size)
}
