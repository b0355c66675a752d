//! `import`: a root filesystem tarball becomes a one-layer image.
//!
//! The tarball (plain, gzip or zstd) is spooled into an unnamed temp file
//! of the store while hashed; the plain tar is stored as the layer blob
//! (its digest is the diff_id) and unpacked with the layer rules like any
//! pulled layer, so hostile names are refused. It must not print.

use std::io::{self, BufRead, BufReader, Read, Write};

use serde_json::{json, Map, Value};
use sha2::Digest as _;

use super::reference::{ImageName, DOCKER_HUB};
use super::Platform;
use crate::storage::{Compression, Digest, ImageRecord, LayerRef, Store};
use crate::userns::IdMaps;

/// What went wrong importing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("preparing a temporary file")]
    Temp(#[source] crate::storage::Error),
    #[error("reading the tarball")]
    Read(#[source] io::Error),
    #[error("storing the layer")]
    StoreLayer(#[source] crate::storage::Error),
    #[error("unpacking the tarball")]
    Unpack(#[source] crate::storage::Error),
    #[error("storing the image config")]
    StoreConfig(#[source] crate::storage::Error),
    #[error("recording the image")]
    Record(#[source] crate::storage::Error),
    #[error("invalid image name {0:?}")]
    Name(String),
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Unpack(e) => e.hint(),
            Error::Name(_) => Some("use NAME[:TAG] in lowercase, e.g. myimage:1".into()),
            _ => None,
        }
    }
}

/// What `import` records besides the layer.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The name to give the image, already qualified (`qualify_name`).
    pub name: Option<String>,
    /// The image config's `config` object (`--change` already applied).
    pub config: Map<String, Value>,
    /// `-m`: the history entry's comment.
    pub message: Option<String>,
    /// When it was made, RFC 3339.
    pub created: String,
    /// `--os`/`--arch`/`--variant`: the platform to record instead of
    /// the host's.
    pub platform: Option<Platform>,
}

/// Qualifies a name as Podman does for local images: no registry means
/// `localhost/`, no tag means `:latest`.
pub fn qualify_name(name: &str) -> Result<String, Error> {
    let parsed = ImageName::parse(name).map_err(|_| Error::Name(name.to_string()))?;
    if parsed.digest.is_some() {
        return Err(Error::Name(name.to_string()));
    }
    let registry = if parsed.is_short() {
        "localhost"
    } else {
        DOCKER_HUB
    };
    parsed
        .qualify(registry)
        .tagged_name()
        .ok_or_else(|| Error::Name(name.to_string()))
}

/// Imports the tarball read from `input` as a one-layer image and returns
/// its id. The caller must be single-threaded (the layer is unpacked in a
/// user namespace with `maps`).
pub fn import(
    store: &Store,
    input: &mut dyn Read,
    opts: ImportOptions,
    maps: &IdMaps,
) -> Result<Digest, Error> {
    let mut tmp = store.temp_file().map_err(Error::Temp)?;
    let mut buffered = BufReader::with_capacity(1 << 16, input);
    let head = buffered.fill_buf().map_err(Error::Read)?.to_vec();
    let mut reader: Box<dyn Read + '_> = if head.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::MultiGzDecoder::new(buffered))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Box::new(zstd::stream::read::Decoder::with_buffer(buffered).map_err(Error::Read)?)
    } else {
        Box::new(buffered)
    };
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Read(e)),
        };
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(Error::Read)?;
    }
    let diff_id = Digest::from_sha256(hasher.finalize().as_slice());
    let (blob, size) = store.put_blob_file(&mut tmp).map_err(Error::StoreLayer)?;
    drop(tmp);
    let layer = LayerRef {
        diff_id: diff_id.clone(),
        blob,
        compression: Compression::None,
        size,
    };
    if let Err(e) = store.unpack_layers(std::slice::from_ref(&layer), maps) {
        let _ = store.discard_unused(&[], std::slice::from_ref(&layer.blob), maps);
        return Err(Error::Unpack(e));
    }
    let platform = opts.platform.clone().unwrap_or_else(Platform::host);
    let mut history = json!({"created": opts.created, "created_by": "hutch import"});
    if let Some(m) = &opts.message {
        history["comment"] = json!(m);
    }
    let mut config = json!({
        "created": opts.created,
        "architecture": platform.architecture,
        "os": platform.os,
        "config": Value::Object(opts.config),
        "rootfs": {"type": "layers", "diff_ids": [diff_id.to_string()]},
        "history": [history],
    });
    if let Some(v) = &platform.variant {
        config["variant"] = json!(v);
    }
    let config_bytes = config.to_string().into_bytes();
    let id = store
        .put_blob_bytes(&config_bytes)
        .map_err(Error::StoreConfig)?;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": super::manifest::OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": id.to_string(), "size": config_bytes.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer.blob.to_string(), "size": size}],
    });
    let manifest_digest = store
        .put_blob_bytes(manifest.to_string().as_bytes())
        .map_err(Error::StoreConfig)?;
    let record = ImageRecord {
        id: id.clone(),
        names: opts.name.into_iter().collect(),
        manifest_digest,
        config: config_bytes,
        // Computed by `Store::put_image`.
        size: 0,
        layers: vec![layer],
        os: platform.os.clone(),
        architecture: platform.architecture.clone(),
        variant: platform.variant.clone(),
        created: Some(opts.created),
    };
    store.put_image(&record).map_err(Error::Record)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_qualified_like_podman() {
        assert_eq!(qualify_name("snap").unwrap(), "localhost/snap:latest");
        assert_eq!(qualify_name("me/snap:v1").unwrap(), "localhost/me/snap:v1");
        assert_eq!(
            qualify_name("127.0.0.1:5000/a:t").unwrap(),
            "127.0.0.1:5000/a:t"
        );
        assert!(qualify_name("Snap").is_err());
        assert!(qualify_name("a@sha256:00").is_err());
    }
}
