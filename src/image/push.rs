//! Pushing one stored image to a registry: layers (each checked with
//! `HEAD` first, mounted from another repository of the same registry when
//! it is known to be there, else uploaded), then the config, then a
//! manifest in the OCI or Docker format.
//!
//! Layers keep their stored compression unless `--compression-format`
//! asks for another: then the layer is decompressed and compressed again
//! into a new blob with a new digest (the config's diff_ids do not change).
//! Uncompressed layers are gzipped, as registries expect compressed layers.

use std::fs::File;
use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::blocking::Body;

use super::client::{Access, Mounted, RegistryClient};
use super::manifest::{DOCKER_MANIFEST, OCI_MANIFEST};
use super::reference::{ImageName, Reference, DOCKER_HUB};
use super::registries::Registries;
use super::sources::{self, Source};
use super::RegistryError;
use super::{find_local, Error, Reporter};
use crate::paths::Paths;
use crate::storage::{Compression, Digest, ImageRecord, Store};

const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// zstd's default level, as containers/image uses it.
const ZSTD_LEVEL: i32 = 3;

/// The manifest format to push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ManifestFormat {
    /// OCI image manifest (the default).
    #[default]
    Oci,
    /// Docker schema 2 manifest.
    Docker,
}

impl ManifestFormat {
    /// Parses `oci`, `docker` or `v2s2`.
    pub fn parse(s: &str) -> Result<ManifestFormat, Error> {
        match s {
            "oci" => Ok(ManifestFormat::Oci),
            "docker" | "v2s2" => Ok(ManifestFormat::Docker),
            _ => Err(Error::BadChoice {
                what: "manifest format",
                value: s.to_string(),
            }),
        }
    }
}

/// Parses a `--compression-format` value: `gzip` or `zstd`.
pub fn parse_compression(s: &str) -> Result<Compression, Error> {
    match s {
        "gzip" => Ok(Compression::Gzip),
        "zstd" => Ok(Compression::Zstd),
        _ => Err(Error::BadChoice {
            what: "compression format",
            value: s.to_string(),
        }),
    }
}

/// How to push.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// The manifest format.
    pub format: ManifestFormat,
    /// Recompress layers to this; `None` keeps their compression.
    pub compression: Option<Compression>,
    /// `Some(false)` allows plain HTTP and unverified TLS.
    pub tls_verify: Option<bool>,
    /// `--cert-dir`.
    pub cert_dir: Option<PathBuf>,
    /// `--authfile`.
    pub authfile: Option<PathBuf>,
    /// `--creds`: used instead of stored credentials.
    pub credentials: Option<super::credentials::Credentials>,
    /// No progress output.
    pub quiet: bool,
}

/// What was pushed.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// The digest of the manifest written.
    pub digest: Digest,
}

/// One layer as it is pushed.
pub(super) struct Blob {
    digest: Digest,
    size: u64,
    media_type: &'static str,
}

/// Pushes stored image `image` to `destination` (default: the image's own
/// name). Nothing forks here; the HTTP client is dropped before returning.
pub fn push(
    paths: &Paths,
    store: &Store,
    image: &str,
    destination: Option<&str>,
    opts: &PushOptions,
    reporter: &dyn Reporter,
) -> Result<Pushed, Error> {
    let rec =
        find_local(paths, store, image)?.ok_or_else(|| Error::NoSuchImage(image.to_string()))?;
    let r = destination_ref(image, destination, &rec)?;
    push_to(paths, store, &rec, &r, opts, reporter).map_err(|e| Error::Push {
        reference: r.to_string(),
        source: Box::new(e),
    })
}

/// The reference to push to: `destination` (a `docker://` prefix is
/// allowed), else the stored name the user meant by `image`.
fn destination_ref(
    image: &str,
    destination: Option<&str>,
    rec: &ImageRecord,
) -> Result<Reference, Error> {
    let name = match destination {
        Some(d) => d.strip_prefix("docker://").unwrap_or(d).to_string(),
        None => {
            let input = image.strip_prefix("docker://").unwrap_or(image);
            let wanted = |n: &String| {
                n == input
                    || n.ends_with(&format!("/{input}"))
                    || n.ends_with(&format!("/{input}:latest"))
            };
            match rec.names.iter().find(|n| wanted(n)).or(rec.names.first()) {
                Some(n) => n.clone(),
                None => return Err(Error::NoDestination(image.to_string())),
            }
        }
    };
    let parsed = ImageName::parse(&name)?;
    if parsed.digest.is_some() {
        return Err(Error::PushDigest(name));
    }
    Ok(parsed.qualify(DOCKER_HUB))
}

fn push_to(
    paths: &Paths,
    store: &Store,
    rec: &ImageRecord,
    r: &Reference,
    opts: &PushOptions,
    reporter: &dyn Reporter,
) -> Result<Pushed, Error> {
    if opts.format == ManifestFormat::Docker && opts.compression == Some(Compression::Zstd) {
        return Err(Error::DockerZstd);
    }
    let regs = Registries::load(&paths.registries_conf_candidates())?;
    let ep = regs.endpoint(r)?;
    let layers = prepare_layers(paths, store, rec, opts)?;
    let access = Access {
        auth_files: super::login::auth_files(paths, opts.authfile.as_ref()),
        certs_dirs: paths.certs_dirs(),
        cert_dir: opts.cert_dir.clone(),
        credentials: opts.credentials.clone(),
    };
    let mut conn = access.options(&ep, opts.tls_verify)?;
    conn.is_push = true;
    let mounts: Vec<Option<String>> = layers
        .iter()
        .map(|l| sources::mount_source(&paths.root, &l.digest, &ep.host, &ep.repository))
        .collect();
    let config_mount = sources::mount_source(&paths.root, &rec.id, &ep.host, &ep.repository);
    conn.mount_sources = mounts
        .iter()
        .chain([&config_mount])
        .flatten()
        .cloned()
        .collect();
    conn.mount_sources.sort();
    conn.mount_sources.dedup();
    let client = RegistryClient::connect(&ep, &conn)?;
    if !opts.quiet {
        reporter.notice(&format!("Pushing {r}"));
    }
    let (media_type, manifest) = upload_image(
        store,
        &client,
        rec,
        &layers,
        &mounts,
        config_mount.as_deref(),
        opts,
        reporter,
    )?;
    let tag = r.tag.clone().unwrap_or_else(|| "latest".to_string());
    client.put_manifest(&tag, media_type, &manifest)?;
    drop(client);
    if !opts.quiet {
        reporter.notice("Writing manifest to image destination");
    }
    let here = Source {
        registry: ep.host.clone(),
        repository: ep.repository.clone(),
    };
    for d in layers.iter().map(|l| &l.digest).chain([&rec.id]) {
        if let Err(e) = sources::record(&paths.root, d, &here) {
            log::debug!("recording where {d} is: {e}");
        }
    }
    Ok(Pushed {
        digest: Digest::of(&manifest),
    })
}

/// The progress bars of a push: hidden when quiet or not on a terminal.
pub(super) fn progress(quiet: bool) -> MultiProgress {
    MultiProgress::with_draw_target(if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    })
}

/// Gets `rec`'s `layers` (as `prepare_layers` made them) and its config
/// into `client`'s repository, each skipped when there, mounted from its
/// entry of `mounts` (or `config_mount`) when possible, else uploaded;
/// returns the manifest to put for them (its media type and bytes).
#[allow(clippy::too_many_arguments)]
pub(super) fn upload_image(
    store: &Store,
    client: &RegistryClient,
    rec: &ImageRecord,
    layers: &[Blob],
    mounts: &[Option<String>],
    config_mount: Option<&str>,
    opts: &PushOptions,
    reporter: &dyn Reporter,
) -> Result<(&'static str, Vec<u8>), Error> {
    let multi = progress(opts.quiet);
    let no_mount = None;
    for (i, layer) in layers.iter().enumerate() {
        let mount = mounts.get(i).unwrap_or(&no_mount);
        let how = push_blob(
            client,
            store,
            &layer.digest,
            layer.size,
            mount.as_deref(),
            &multi,
        )
        .map_err(|e| Error::Layer {
            digest: layer.digest.clone(),
            source: Box::new(e),
        })?;
        if !opts.quiet {
            reporter.notice(&format!("Copying blob {} {how}", layer.digest.short()));
        }
    }
    let config_digest = rec.id.clone();
    let how = push_config(client, &config_digest, &rec.config, config_mount).map_err(|e| {
        Error::ConfigBlob {
            digest: config_digest.clone(),
            source: Box::new(e),
        }
    })?;
    if !opts.quiet {
        reporter.notice(&format!("Copying config {} {how}", config_digest.short()));
    }
    Ok(build_manifest(
        opts.format,
        &config_digest,
        rec.config.len() as u64,
        layers,
    ))
}

/// The layer blobs to push, recompressing where `opts` asks for it.
pub(super) fn prepare_layers(
    paths: &Paths,
    store: &Store,
    rec: &ImageRecord,
    opts: &PushOptions,
) -> Result<Vec<Blob>, Error> {
    rec.layers
        .iter()
        .map(|l| {
            let target = match (opts.compression, l.compression) {
                (Some(c), _) => c,
                (None, Compression::None) => Compression::Gzip,
                (None, c) => c,
            };
            if target == Compression::Zstd && opts.format == ManifestFormat::Docker {
                return Err(Error::Layer {
                    digest: l.blob.clone(),
                    source: Box::new(Error::DockerZstd),
                });
            }
            let (digest, size) = if target == l.compression {
                (l.blob.clone(), l.size)
            } else {
                recompress(paths, store, &l.blob, l.compression, target)?
            };
            Ok(Blob {
                digest,
                size,
                media_type: layer_media_type(opts.format, target),
            })
        })
        .collect()
}

fn layer_media_type(format: ManifestFormat, c: Compression) -> &'static str {
    match (format, c) {
        (ManifestFormat::Oci, Compression::None) => OCI_LAYER,
        (ManifestFormat::Oci, Compression::Gzip) => OCI_LAYER_GZIP,
        (ManifestFormat::Oci, Compression::Zstd) => OCI_LAYER_ZSTD,
        (ManifestFormat::Docker, Compression::None) => DOCKER_LAYER,
        // Refused before this is asked; gzip is the only Docker choice.
        (ManifestFormat::Docker, _) => DOCKER_LAYER_GZIP,
    }
}

/// Decompresses stored blob `blob` and compresses it as `to` into a new
/// stored blob; returns its digest and size. gzip output carries no file
/// name or time, so the same layer always gives the same blob.
fn recompress(
    paths: &Paths,
    store: &Store,
    blob: &Digest,
    from: Compression,
    to: Compression,
) -> Result<(Digest, u64), Error> {
    let wrap = |source| Error::Recompress {
        digest: blob.clone(),
        source,
    };
    let input = File::open(store.blob_path(blob)).map_err(wrap)?;
    let mut reader: Box<dyn Read> = match from {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::read::GzDecoder::new(input)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(input).map_err(wrap)?),
    };
    let mut out = temp_file(&paths.root.join("tmp")).map_err(wrap)?;
    match to {
        Compression::None => {
            std::io::copy(&mut reader, &mut out).map_err(wrap)?;
        }
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(&mut out, flate2::Compression::default());
            std::io::copy(&mut reader, &mut enc).map_err(wrap)?;
            enc.finish().map_err(wrap)?;
        }
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(&mut out, ZSTD_LEVEL).map_err(wrap)?;
            std::io::copy(&mut reader, &mut enc).map_err(wrap)?;
            enc.finish().map_err(wrap)?;
        }
    }
    out.flush().map_err(wrap)?;
    store
        .put_blob_file(&mut out)
        .map_err(Error::StoreRecompressed)
}

/// An unnamed read-write file in `dir` (created, then unlinked at once).
fn temp_file(dir: &Path) -> std::io::Result<File> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!(
        "push-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    std::fs::remove_file(&path)?;
    Ok(f)
}

/// Gets stored blob `digest` into the repository: skipped when present,
/// mounted from `mount_from` when the registry agrees, else uploaded.
/// Says which it was.
pub(super) fn push_blob(
    client: &RegistryClient,
    store: &Store,
    digest: &Digest,
    size: u64,
    mount_from: Option<&str>,
    multi: &MultiProgress,
) -> Result<&'static str, Error> {
    let path = store.blob_path(digest);
    let open = || {
        File::open(&path).map_err(|source| Error::OpenBlob {
            digest: digest.clone(),
            source,
        })
    };
    push_blob_from(client, digest, size, mount_from, multi, &open)
}

/// Like `push_blob`, with the bytes from the file `open` gives (opened,
/// or cloned, once per attempt; read from its start).
pub(super) fn push_blob_from(
    client: &RegistryClient,
    digest: &Digest,
    size: u64,
    mount_from: Option<&str>,
    multi: &MultiProgress,
    open: &dyn Fn() -> Result<File, Error>,
) -> Result<&'static str, Error> {
    if client.has_blob(digest)? {
        return Ok("skipped: already exists");
    }
    let location = match mount_from {
        Some(from) => match client.mount_blob(digest, from)? {
            Mounted::Yes => return Ok("mounted"),
            Mounted::Upload(loc) => loc,
        },
        None => client.start_upload()?,
    };
    let bar = multi.add(progress_bar(digest, size));
    let body = || -> Result<Body, Error> {
        let mut f = open()?;
        f.seek(SeekFrom::Start(0))
            .map_err(|source| Error::OpenBlob {
                digest: digest.clone(),
                source,
            })?;
        bar.set_position(0);
        Ok(Body::sized(bar.wrap_read(f), size))
    };
    let result = match client.put_upload(&location, digest, size, &body) {
        Err(
            e @ Error::Registry(RegistryError::Status {
                status: 400 | 404 | 405 | 416,
                ..
            }),
        ) => {
            // Some registries only take chunks: start over with a PATCH.
            log::debug!("monolithic upload of {digest} refused ({e}); trying PATCH");
            let loc = client.start_upload()?;
            client.patch_upload(&loc, digest, size, &body)
        }
        other => other,
    };
    bar.finish_and_clear();
    result.map(|()| "done")
}

fn push_config(
    client: &RegistryClient,
    digest: &Digest,
    config: &[u8],
    mount_from: Option<&str>,
) -> Result<&'static str, Error> {
    if client.has_blob(digest)? {
        return Ok("skipped: already exists");
    }
    let loc = match mount_from {
        Some(from) => match client.mount_blob(digest, from)? {
            Mounted::Yes => return Ok("mounted"),
            Mounted::Upload(loc) => loc,
        },
        None => client.start_upload()?,
    };
    let body = || -> Result<Body, Error> { Ok(Body::from(config.to_vec())) };
    client.put_upload(&loc, digest, config.len() as u64, &body)?;
    Ok("done")
}

fn progress_bar(digest: &Digest, size: u64) -> ProgressBar {
    let style =
        ProgressStyle::with_template("Copying blob {prefix} {wide_bar} {bytes}/{total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(size)
        .with_style(style)
        .with_prefix(digest.short().to_string())
}

/// The manifest bytes and their media type.
fn build_manifest(
    format: ManifestFormat,
    config: &Digest,
    config_size: u64,
    layers: &[Blob],
) -> (&'static str, Vec<u8>) {
    let (media_type, config_type) = match format {
        ManifestFormat::Oci => (OCI_MANIFEST, OCI_CONFIG),
        ManifestFormat::Docker => (DOCKER_MANIFEST, DOCKER_CONFIG),
    };
    let doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {
            "mediaType": config_type,
            "digest": config.to_string(),
            "size": config_size,
        },
        "layers": layers.iter().map(|l| serde_json::json!({
            "mediaType": l.media_type,
            "digest": l.digest.to_string(),
            "size": l.size,
        })).collect::<Vec<_>>(),
    });
    // Serialising a Value built here cannot fail.
    let body = serde_json::to_vec(&doc).unwrap_or_default();
    (media_type, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::manifest::{parse_manifest, Manifest};

    #[test]
    fn manifests_parse_back_in_both_formats() {
        let layers = [Blob {
            digest: Digest::of(b"l"),
            size: 1,
            media_type: layer_media_type(ManifestFormat::Docker, Compression::Gzip),
        }];
        for format in [ManifestFormat::Oci, ManifestFormat::Docker] {
            let (mt, body) = build_manifest(format, &Digest::of(b"c"), 1, &layers);
            match parse_manifest(Some(mt), &body).unwrap() {
                Manifest::Image(m) => {
                    assert_eq!(m.layers.len(), 1);
                    assert_eq!(m.config.digest, Digest::of(b"c").to_string());
                }
                Manifest::Index(_) => panic!("an index from {format:?}"),
            }
        }
    }

    #[test]
    fn choices_parse_and_refuse_unknown_values() {
        assert_eq!(
            ManifestFormat::parse("docker").unwrap(),
            ManifestFormat::Docker
        );
        assert_eq!(ManifestFormat::parse("oci").unwrap(), ManifestFormat::Oci);
        assert!(ManifestFormat::parse("v1").is_err());
        assert_eq!(parse_compression("zstd").unwrap(), Compression::Zstd);
        assert!(parse_compression("xz").is_err());
        assert_eq!(
            layer_media_type(ManifestFormat::Oci, Compression::Zstd),
            OCI_LAYER_ZSTD
        );
    }

    #[test]
    fn destination_defaults_to_the_matching_stored_name() {
        let rec = ImageRecord {
            id: Digest::of(b"c"),
            names: vec![
                "127.0.0.1:5000/other:latest".into(),
                "127.0.0.1:5000/busybox:latest".into(),
            ],
            manifest_digest: Digest::of(b"m"),
            config: Vec::new(),
            layers: Vec::new(),
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            created: None,
            size: 0,
        };
        let r = destination_ref("busybox", None, &rec).unwrap();
        assert_eq!(r.to_string(), "127.0.0.1:5000/busybox:latest");
        let r = destination_ref("busybox", Some("docker://h:1/x/y:t"), &rec).unwrap();
        assert_eq!(r.to_string(), "h:1/x/y:t");
        assert!(destination_ref(
            "x",
            Some("h:1/x@sha256:0000000000000000000000000000000000000000000000000000000000000000"),
            &rec
        )
        .is_err());
    }
}
