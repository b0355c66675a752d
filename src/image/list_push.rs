//! `manifest push`: a local manifest list to a registry, the index last.
//!
//! With `--all` (the default) each instance goes first: the blobs its
//! manifest names that the destination lacks are uploaded from the store,
//! or, when the store does not hold them, fetched from the registry the
//! instance was added from into an unnamed temporary file (verified) and
//! uploaded from there; then its manifest is put by digest, as it was
//! added (so the index's digests stay true). `--format` to another
//! manifest type or `--compression-format` rebuild an instance's manifest
//! as `push` builds one, from blobs fetched into the store (named by no
//! image, so `system prune` takes them), and the index then names the
//! new digests.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use indicatif::ProgressBar;
use sha2::{Digest as _, Sha256};

use super::client::{Access, RegistryClient};
use super::list::{Entry, ManifestList, Source};
use super::list_fetch::registry_reference;
use super::manifest::{
    descriptor_digest, layer_compression, parse_manifest, ImageManifest, Manifest, DOCKER_MANIFEST,
};
use super::push::{self, ManifestFormat, PushOptions};
use super::registries::Registries;
use super::{Error, ManifestError, Reporter};
use crate::paths::Paths;
use crate::storage::{Digest, ImageRecord, LayerRef, Store};

/// How to push a list.
#[derive(Debug, Clone, Default)]
pub struct ListPushOptions {
    /// Access, compression and quietness, as for `push`.
    pub push: PushOptions,
    /// `--format`, when given: the list's type, and the instances'.
    pub format: Option<ManifestFormat>,
    /// `--all`: push the instances too.
    pub is_all: bool,
}

/// Pushes `list` to `destination`; returns the digest of the index put.
pub fn push_list(
    paths: &Paths,
    store: &Store,
    list: &ManifestList,
    destination: &str,
    opts: &ListPushOptions,
    reporter: &dyn Reporter,
) -> Result<Digest, Error> {
    let r = registry_reference(destination)?;
    if r.digest.is_some() {
        return Err(Error::PushDigest(destination.to_string()));
    }
    let wrap = |e: Error| Error::Push {
        reference: r.to_string(),
        source: Box::new(e),
    };
    let regs = Registries::load(&paths.registries_conf_candidates())?;
    let ep = regs.endpoint(&r).map_err(wrap)?;
    let access = Access {
        auth_files: super::login::auth_files(paths, opts.push.authfile.as_ref()),
        certs_dirs: paths.certs_dirs(),
        cert_dir: opts.push.cert_dir.clone(),
        credentials: opts.push.credentials.clone(),
    };
    let mut conn = access.options(&ep, opts.push.tls_verify).map_err(wrap)?;
    conn.is_push = true;
    let client = RegistryClient::connect(&ep, &conn).map_err(wrap)?;
    let mut pushed = list.clone();
    let say = |line: &str| {
        if !opts.push.quiet {
            reporter.notice(line);
        }
    };
    if opts.is_all {
        let n = pushed.entries.len();
        say(&format!("Copying {n} of {n} images in list"));
        for (i, e) in pushed.entries.iter_mut().enumerate() {
            say(&format!("Copying image {} ({}/{n})", e.digest, i + 1));
            push_entry(paths, store, &client, e, opts, reporter).map_err(|err| {
                wrap(Error::Instance {
                    digest: e.digest.clone(),
                    source: Box::new(err),
                })
            })?;
        }
    }
    let (media_type, index) = pushed.index(opts.format == Some(ManifestFormat::Docker));
    let tag = r.tag.clone().unwrap_or_else(|| "latest".to_string());
    say("Writing manifest list to image destination");
    client
        .put_manifest(&tag, media_type, &index)
        .map_err(wrap)?;
    Ok(Digest::of(&index))
}

/// Gets instance `e` into the destination `client` is connected to; a
/// rebuilt manifest updates `e`.
fn push_entry(
    paths: &Paths,
    store: &Store,
    client: &RegistryClient,
    e: &mut Entry,
    opts: &ListPushOptions,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    let manifest = match parse_manifest(Some(&e.media_type), e.manifest.as_bytes())? {
        Manifest::Image(m) => m,
        Manifest::Index(_) => return Err(ManifestError::NestedIndex.into()),
    };
    let is_docker = e.media_type == DOCKER_MANIFEST;
    let is_rebuilt = opts.push.compression.is_some()
        || opts
            .format
            .is_some_and(|f| (f == ManifestFormat::Docker) != is_docker);
    if is_rebuilt {
        return rebuild_entry(paths, store, client, e, &manifest, opts, reporter);
    }
    let config = (descriptor_digest(&manifest.config)?, manifest.config.size);
    let mut blobs = Vec::new();
    for d in &manifest.layers {
        blobs.push((descriptor_digest(d)?, d.size));
    }
    blobs.push(config);
    let mut missing = Vec::new();
    for (d, size) in &blobs {
        if !client.has_blob(d)? {
            missing.push((d.clone(), *size));
        } else if !opts.push.quiet {
            reporter.notice(&format!(
                "Copying blob {} skipped: already exists",
                d.short()
            ));
        }
    }
    let multi = push::progress(opts.push.quiet);
    let mut source: Option<RegistryClient> = None;
    for (d, size) in &missing {
        let how = if store.has_blob(d) {
            push::push_blob(client, store, d, *size, None, &multi)?
        } else {
            let from = match source.take() {
                Some(c) => c,
                None => connect_source(paths, e, &opts.push)?,
            };
            let file = fetch_to_temp(&from, store, d, *size)?;
            source = Some(from);
            let open = || {
                file.try_clone().map_err(|source| Error::OpenBlob {
                    digest: d.clone(),
                    source,
                })
            };
            push::push_blob_from(client, d, *size, None, &multi, &open)?
        };
        if !opts.push.quiet {
            reporter.notice(&format!("Copying blob {} {how}", d.short()));
        }
    }
    client.put_manifest(&e.digest.to_string(), &e.media_type, e.manifest.as_bytes())
}

/// Pushes `e` with its manifest rebuilt in the format and compression
/// asked for, and points `e` at the new manifest.
fn rebuild_entry(
    paths: &Paths,
    store: &Store,
    client: &RegistryClient,
    e: &mut Entry,
    manifest: &ImageManifest,
    opts: &ListPushOptions,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
    fetch_into_store(paths, store, e, manifest, &opts.push)?;
    let config_digest = descriptor_digest(&manifest.config)?;
    let config = store
        .read_blob(&config_digest)
        .map_err(Error::ReadStoredBlob)?;
    let mut layers = Vec::new();
    for d in &manifest.layers {
        let blob = descriptor_digest(d)?;
        layers.push(LayerRef {
            // Not read when pushing: the blob stands in.
            diff_id: blob.clone(),
            compression: layer_compression(&d.media_type)?,
            blob,
            size: d.size,
        });
    }
    let rec = ImageRecord {
        id: config_digest,
        names: Vec::new(),
        manifest_digest: e.digest.clone(),
        config,
        layers,
        os: e.platform.os.clone(),
        architecture: e.platform.architecture.clone(),
        variant: e.platform.variant.clone(),
        created: None,
        size: 0,
    };
    let push_opts = PushOptions {
        format: opts.format.unwrap_or(if e.media_type == DOCKER_MANIFEST {
            ManifestFormat::Docker
        } else {
            ManifestFormat::Oci
        }),
        ..opts.push.clone()
    };
    if push_opts.format == ManifestFormat::Docker
        && push_opts.compression == Some(crate::storage::Compression::Zstd)
    {
        return Err(Error::DockerZstd);
    }
    let blobs = push::prepare_layers(paths, store, &rec, &push_opts)?;
    let (media_type, body) =
        push::upload_image(store, client, &rec, &blobs, &[], None, &push_opts, reporter)?;
    let digest = Digest::of(&body);
    client.put_manifest(&digest.to_string(), media_type, &body)?;
    e.media_type = media_type.to_string();
    e.size = body.len() as u64;
    e.digest = digest;
    e.manifest = String::from_utf8(body).map_err(|_| Error::ListManifestText)?;
    Ok(())
}

/// Makes sure the store holds every blob `manifest` names, fetching what
/// it lacks from the registry `e` was added from. The blobs fetched are
/// named by no image, so a later sweep takes them.
fn fetch_into_store(
    paths: &Paths,
    store: &Store,
    e: &Entry,
    manifest: &ImageManifest,
    opts: &PushOptions,
) -> Result<(), Error> {
    let mut layers = Vec::new();
    for d in &manifest.layers {
        let blob = descriptor_digest(d)?;
        if !store.has_blob(&blob) {
            layers.push(LayerRef {
                diff_id: blob.clone(),
                compression: layer_compression(&d.media_type)?,
                blob,
                size: d.size,
            });
        }
    }
    let config = descriptor_digest(&manifest.config)?;
    if layers.is_empty() && store.has_blob(&config) {
        return Ok(());
    }
    let source = connect_source(paths, e, opts)?;
    super::pull::fetch_config(&source, store, manifest)?;
    super::pull::download_layers(&source, store, &layers, opts.quiet)?;
    Ok(())
}

/// A client for the registry entry `e` was added from; the store's
/// entries have none (their blobs must be in the store).
fn connect_source(paths: &Paths, e: &Entry, opts: &PushOptions) -> Result<RegistryClient, Error> {
    let reference = match &e.source {
        Source::Registry(r) => r,
        Source::Store(id) => {
            return Err(Error::InstanceBlobsGone {
                digest: e.digest.clone(),
                image: id.clone(),
            })
        }
    };
    let r = registry_reference(reference)?;
    let regs = Registries::load(&paths.registries_conf_candidates())?;
    let ep = regs.endpoint(&r)?;
    // The source is reached as registries.conf and the stored
    // credentials say: --tls-verify and --creds are the destination's.
    let access = Access {
        auth_files: super::login::auth_files(paths, opts.authfile.as_ref()),
        certs_dirs: paths.certs_dirs(),
        cert_dir: opts.cert_dir.clone(),
        credentials: None,
    };
    RegistryClient::connect(&ep, &access.options(&ep, None)?)
}

/// Downloads blob `d` from `source` into an unnamed temporary file of
/// the store and verifies it.
fn fetch_to_temp(
    source: &RegistryClient,
    store: &Store,
    d: &Digest,
    size: u64,
) -> Result<File, Error> {
    let mut file = store.temp_file().map_err(Error::CreateBlob)?;
    super::pull::download_to(source, d, size, &mut file, &ProgressBar::hidden())?;
    file.seek(SeekFrom::Start(0)).map_err(Error::ReadBlob)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::ReadBlob(e)),
        }
    }
    let actual = Digest::from_sha256(hasher.finalize().as_slice());
    if &actual != d {
        return Err(Error::DigestMismatch {
            expected: d.to_string(),
            actual,
        });
    }
    Ok(file)
}
