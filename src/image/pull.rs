//! Fetching one image: manifest, platform selection, config and layers into
//! the store's blobs, in parallel, with progress bars.
//!
//! Everything here runs while the HTTP client (and its runtime thread)
//! exists; `fetch` drops the client before it returns so that the caller can
//! fork to unpack.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use reqwest::StatusCode;

use std::path::Path;

use super::client::{backoff, Access, RegistryClient, RETRIES};
use super::manifest::{
    check_config_media_type, descriptor_digest, layer_compression, parse_manifest, select_platform,
    ImageConfig, ImageManifest, Manifest, MAX_CONFIG_SIZE,
};
use super::reference::Reference;
use super::registries::Registries;
use super::sources::{self, Source};
use super::ManifestError;
use super::{Error, PullOptions};
use crate::storage::{BlobWriter, Digest, ImageRecord, LayerRef, Store};

/// How many layers download at once.
const PARALLEL_DOWNLOADS: usize = 3;
/// Read buffer for blob bodies.
const CHUNK: usize = 256 << 10;

/// What fetching found.
pub enum Outcome {
    /// The image is stored under this name already, with the same manifest.
    Unchanged(ImageRecord),
    /// All blobs are stored; the layers still need unpacking and the record
    /// storing.
    Fetched(ImageRecord),
}

/// Fetches `r` into `store`'s blobs (at `root`), with the credentials and
/// TLS files `access` finds; records where the blobs came from; returns
/// with the HTTP client dropped.
pub fn fetch(
    regs: &Registries,
    access: &Access,
    root: &Path,
    store: &Store,
    r: &Reference,
    opts: &PullOptions,
) -> Result<Outcome, Error> {
    let ep = regs.endpoint(r)?;
    let client = RegistryClient::connect(&ep, &access.options(&ep, opts.tls_verify)?)?;
    let outcome = fetch_with(&client, store, r, opts);
    drop(client);
    if let Ok(Outcome::Fetched(rec) | Outcome::Unchanged(rec)) = &outcome {
        let here = Source {
            registry: ep.host.clone(),
            repository: ep.repository.clone(),
        };
        for blob in rec.layers.iter().map(|l| &l.blob).chain([&rec.id]) {
            if let Err(e) = sources::record(root, blob, &here) {
                log::debug!("recording where {blob} came from: {e}");
            }
        }
    }
    outcome
}

fn fetch_with(
    client: &RegistryClient,
    store: &Store,
    r: &Reference,
    opts: &PullOptions,
) -> Result<Outcome, Error> {
    let top = client.manifest(&r.manifest_ref())?;
    let (manifest_digest, manifest, manifest_body) =
        match parse_manifest(top.content_type.as_deref(), &top.body)? {
            Manifest::Image(m) => (top.digest, m, top.body),
            Manifest::Index(index) => {
                let chosen = select_platform(&index, &opts.platform)?;
                let digest = descriptor_digest(chosen)?;
                if let Some(rec) = unchanged(store, r, &digest)? {
                    return Ok(Outcome::Unchanged(rec));
                }
                let m = client.manifest(&digest.to_string())?;
                match parse_manifest(m.content_type.as_deref(), &m.body)? {
                    Manifest::Image(parsed) => (digest, parsed, m.body),
                    Manifest::Index(_) => return Err(ManifestError::NestedIndex.into()),
                }
            }
        };
    if let Some(rec) = unchanged(store, r, &manifest_digest)? {
        return Ok(Outcome::Unchanged(rec));
    }
    let (config_digest, config) = fetch_config(client, store, &manifest)?;
    let parsed = ImageConfig::parse(&config)?;
    if parsed.os != opts.platform.os || parsed.architecture != opts.platform.architecture {
        log::warn!(
            "image platform {}/{} does not match the requested {}",
            parsed.os,
            parsed.architecture,
            opts.platform
        );
    }
    let layers = layer_refs(&manifest, &parsed)?;
    download_layers(client, store, &layers, opts.quiet)?;
    // Kept so that `save` writes the very manifest the registry served.
    store
        .put_blob_bytes(&manifest_body)
        .map_err(Error::CommitBlob)?;
    Ok(Outcome::Fetched(ImageRecord {
        id: config_digest,
        names: r
            .digest
            .is_none()
            .then(|| r.tagged_name())
            .flatten()
            .into_iter()
            .collect(),
        manifest_digest,
        config,
        // Computed by `Store::put_image`.
        size: 0,
        layers,
        os: parsed.os,
        architecture: parsed.architecture,
        variant: parsed.variant,
        created: parsed.created,
    }))
}

/// The stored image `r` names, when pulled by tag, its platform manifest
/// is still `digest` and its layers are all on disk.
fn unchanged(store: &Store, r: &Reference, digest: &Digest) -> Result<Option<ImageRecord>, Error> {
    if r.digest.is_some() {
        return Ok(None);
    }
    let Some(name) = r.tagged_name() else {
        return Ok(None);
    };
    let found = match store.find_image(&name) {
        // A damaged record is replaced by pulling the image again.
        Err(crate::storage::Error::ImageDamaged { .. }) => return Ok(None),
        other => other.map_err(|source| Error::FindImage {
            name: name.clone(),
            source,
        })?,
    };
    // An image whose unpacked layers are gone from the store is pulled
    // again, which restores them (its blobs are fetched only if missing).
    let Some(rec) = found.filter(|rec| rec.manifest_digest == *digest) else {
        return Ok(None);
    };
    for l in &rec.layers {
        let is_present = store
            .is_layer_present(&l.diff_id)
            .map_err(|source| Error::FindImage {
                name: name.clone(),
                source,
            })?;
        if !is_present {
            return Ok(None);
        }
    }
    Ok(Some(rec))
}

/// Pairs each layer descriptor with its diff_id and compression.
fn layer_refs(manifest: &ImageManifest, config: &ImageConfig) -> Result<Vec<LayerRef>, Error> {
    if manifest.layers.len() != config.diff_ids.len() {
        return Err(ManifestError::LayerCount {
            layers: manifest.layers.len(),
            diff_ids: config.diff_ids.len(),
        }
        .into());
    }
    manifest
        .layers
        .iter()
        .zip(&config.diff_ids)
        .map(|(d, diff_id)| {
            let blob = descriptor_digest(d)?;
            let compression = layer_compression(&d.media_type).map_err(|e| Error::Layer {
                digest: blob.clone(),
                source: Box::new(e),
            })?;
            Ok(LayerRef {
                diff_id: diff_id.clone(),
                blob,
                compression,
                size: d.size,
            })
        })
        .collect()
}

/// Gets the config blob, from the store when present, else from the
/// registry (verified, then stored).
pub(super) fn fetch_config(
    client: &RegistryClient,
    store: &Store,
    manifest: &ImageManifest,
) -> Result<(Digest, Vec<u8>), Error> {
    let digest = descriptor_digest(&manifest.config)?;
    let wrap = |e: Error| Error::ConfigBlob {
        digest: digest.clone(),
        source: Box::new(e),
    };
    check_config_media_type(&manifest.config.media_type).map_err(wrap)?;
    if manifest.config.size > MAX_CONFIG_SIZE {
        return Err(wrap(Error::TooLarge {
            what: "declared size",
            limit: MAX_CONFIG_SIZE,
        }));
    }
    let _lock = store
        .lock_blob(&digest)
        .map_err(|e| wrap(Error::LockBlob(e)))?;
    if store.has_blob(&digest) {
        let raw = store
            .read_blob(&digest)
            .map_err(|e| wrap(Error::ReadStoredBlob(e)))?;
        // A stored blob that was overwritten is fetched again.
        if Digest::of(&raw) == digest {
            return Ok((digest, raw));
        }
        log::debug!("stored config blob {digest} does not match its digest: fetching it again");
    }
    let mut raw = Vec::new();
    download_to(
        client,
        &digest,
        manifest.config.size,
        &mut raw,
        &ProgressBar::hidden(),
    )
    .map_err(wrap)?;
    let actual = Digest::of(&raw);
    if actual != digest {
        return Err(wrap(Error::DigestMismatch {
            expected: digest.to_string(),
            actual,
        }));
    }
    let mut w = store
        .blob_writer(&digest)
        .map_err(|e| wrap(Error::CreateBlob(e)))?;
    w.write_all(&raw).map_err(|e| wrap(Error::WriteBlob(e)))?;
    w.commit().map_err(|e| wrap(Error::CommitBlob(e)))?;
    Ok((digest, raw))
}

/// Downloads every layer blob the store lacks, up to
/// `PARALLEL_DOWNLOADS` at a time.
///
/// Locks are taken in digest order (so two pulls sharing blobs cannot
/// deadlock) and held until every download ends; a blob another process
/// stored meanwhile is skipped. Only `BlobWriter`s cross threads.
pub(super) fn download_layers(
    client: &RegistryClient,
    store: &Store,
    layers: &[LayerRef],
    quiet: bool,
) -> Result<(), Error> {
    let unique: BTreeMap<&Digest, &LayerRef> = layers.iter().map(|l| (&l.blob, l)).collect();
    let multi = MultiProgress::with_draw_target(if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let mut locks = Vec::new();
    let mut jobs: Vec<(&LayerRef, Mutex<Option<BlobWriter>>, ProgressBar)> = Vec::new();
    for (digest, layer) in &unique {
        let wrap = |e: Error| Error::Layer {
            digest: (*digest).clone(),
            source: Box::new(e),
        };
        locks.push(
            store
                .lock_blob(digest)
                .map_err(|e| wrap(Error::LockBlob(e)))?,
        );
        if store.has_blob(digest) {
            continue;
        }
        let writer = store
            .blob_writer(digest)
            .map_err(|e| wrap(Error::CreateBlob(e)))?;
        let bar = multi.add(progress_bar(layer));
        jobs.push((layer, Mutex::new(Some(writer)), bar));
    }
    // Bottom layers first, as the manifest lists them.
    jobs.sort_by_key(|(l, ..)| layers.iter().position(|x| x.blob == l.blob));
    let next = AtomicUsize::new(0);
    let has_failed = AtomicBool::new(false);
    let results: Vec<Mutex<Option<Result<(), Error>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let work = || loop {
        if has_failed.load(Ordering::SeqCst) {
            break;
        }
        let i = next.fetch_add(1, Ordering::SeqCst);
        let Some((layer, writer, bar)) = jobs.get(i) else {
            break;
        };
        let writer = writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        let result = match writer {
            Some(w) => download_layer(client, layer, w, bar),
            None => Ok(()),
        }
        .map_err(|e| Error::Layer {
            digest: layer.blob.clone(),
            source: Box::new(e),
        });
        if result.is_err() {
            has_failed.store(true, Ordering::SeqCst);
            bar.finish_and_clear();
        }
        *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(result);
    };
    std::thread::scope(|s| {
        for n in 1..PARALLEL_DOWNLOADS.min(jobs.len()) {
            let spawned = std::thread::Builder::new()
                .name(format!("hutch-pull-{n}"))
                .spawn_scoped(s, work);
            if let Err(e) = spawned {
                log::debug!("starting download thread {n}: {e}; continuing with fewer");
                break;
            }
        }
        work();
    });
    drop(locks);
    for r in results {
        if let Some(Err(e)) = r.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
    }
    Ok(())
}

fn progress_bar(layer: &LayerRef) -> ProgressBar {
    let style =
        ProgressStyle::with_template("Copying blob {prefix} {wide_bar} {bytes}/{total_bytes}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(layer.size)
        .with_style(style)
        .with_prefix(layer.blob.short().to_string())
}

/// Streams one layer into `writer`, resuming after transient failures,
/// then verifies and stores it.
fn download_layer(
    client: &RegistryClient,
    layer: &LayerRef,
    mut writer: BlobWriter,
    bar: &ProgressBar,
) -> Result<(), Error> {
    download_to(client, &layer.blob, layer.size, &mut writer, bar)?;
    writer.commit().map_err(Error::CommitBlob)?;
    // Cleared rather than left behind: what follows on stderr or a shared
    // terminal (the image id, an error) then starts on a fresh line.
    bar.finish_and_clear();
    Ok(())
}

/// Writes exactly `size` bytes of blob `digest` to `out`. A transient
/// failure re-requests the rest (a `Range` request, or the whole blob with
/// the part already written skipped) up to `RETRIES` times.
pub(super) fn download_to(
    client: &RegistryClient,
    digest: &Digest,
    size: u64,
    out: &mut dyn Write,
    bar: &ProgressBar,
) -> Result<(), Error> {
    let mut written = 0u64;
    let mut attempt = 0;
    loop {
        match download_from(client, digest, size, written, out, bar) {
            Ok(()) => return Ok(()),
            Err((n, e)) if e.is_transient() && attempt < RETRIES => {
                log::debug!("blob {digest}: {e}; resuming at byte {}", written + n);
                written += n;
            }
            Err((_, e)) => return Err(e),
        }
        backoff(attempt);
        attempt += 1;
    }
}

/// One attempt of `download_to`, starting at byte `offset`; on failure
/// also says how many new bytes were written.
// The error path is the rare one and is not hot: no need to box it.
#[allow(clippy::result_large_err)]
fn download_from(
    client: &RegistryClient,
    digest: &Digest,
    size: u64,
    offset: u64,
    out: &mut dyn Write,
    bar: &ProgressBar,
) -> Result<(), (u64, Error)> {
    let fail = |e: Error| (0, e);
    let resp = client.blob(digest, offset).map_err(fail)?;
    let mut skip = match resp.status() {
        StatusCode::PARTIAL_CONTENT => 0,
        _ => offset,
    };
    let mut body = resp.take(size - offset + skip + 1);
    let mut buf = vec![0u8; CHUNK];
    let mut new = 0u64;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(source) => return Err((new, Error::ReadBlob(source))),
        };
        let mut chunk = &buf[..n];
        if skip > 0 {
            let s = skip.min(chunk.len() as u64);
            skip -= s;
            chunk = &chunk[s as usize..];
        }
        if offset + new + chunk.len() as u64 > size {
            return Err((new, Error::Oversized { expected: size }));
        }
        out.write_all(chunk)
            .map_err(|e| (new, Error::WriteBlob(e)))?;
        new += chunk.len() as u64;
        bar.inc(chunk.len() as u64);
    }
    if offset + new < size {
        return Err((
            new,
            Error::Truncated {
                expected: size,
                got: offset + new,
            },
        ));
    }
    Ok(())
}
