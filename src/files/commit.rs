//! `commit`: a container's upper directory becomes a new layer on top of
//! its image (with `--squash`, its whole root file system becomes the
//! image's only layer).
//!
//! A helper that is root in the container's id maps archives the upper
//! directory (whiteouts as `.wh.NAME`, opaque directories with
//! `.wh..wh..opq`, ownership as the container sees it); this process hashes
//! the tar (the diff_id), gzips it into a temp file, stores it as a blob,
//! unpacks it like a pulled layer, and records a new config and manifest.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use serde_json::{json, Map, Value};
use sha2::Digest as _;

use super::archive::{self, Options};
use super::{change, Error, Layout};
use crate::storage::{Compression, Digest, ImageRecord, LayerRef, Store};
use crate::sys::fs::{openat2, Resolve};
use crate::userns::{self};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";

/// What `commit` should record besides the layer.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// The name to give the image (`IMAGE[:TAG]`), if any.
    pub image: Option<String>,
    /// `--change` instructions, in order.
    pub changes: Vec<String>,
    /// `-m`: the history entry's comment.
    pub message: Option<String>,
    /// `-a`: the image's author.
    pub author: Option<String>,
    /// `--format docker`: a Docker schema 2 manifest instead of OCI's.
    pub is_docker: bool,
    /// `--include-volumes`: the container's volumes become the image's.
    pub include_volumes: bool,
    /// `--squash`: one layer holding the whole root file system.
    pub squash: bool,
}

/// See `files::commit`.
pub fn commit(store: &Store, plan: &Layout, opts: &CommitOptions) -> Result<Digest, Error> {
    let instructions = opts
        .changes
        .iter()
        .map(|c| {
            change::parse(c).map_err(|source| Error::InvalidChange {
                change: c.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let names = match &opts.image {
        Some(n) => vec![normalize_name(n).ok_or_else(|| Error::InvalidImageName(n.clone()))?],
        None => Vec::new(),
    };
    let info = &plan.info;
    let image = store
        .find_image(&info.record.image_id.to_string())?
        .ok_or_else(|| Error::ImageMissing(info.record.image_id.clone()))?;
    if opts.is_docker
        && !opts.squash
        && image
            .layers
            .iter()
            .any(|l| l.compression == Compression::Zstd)
    {
        return Err(Error::DockerZstd);
    }

    // 1. Archive the changes (or everything) in a helper, compress here.
    let mut tmp = store.temp_file()?;
    let diff_id = if opts.squash {
        squash_layer(plan, &mut tmp)?
    } else {
        upper_layer(plan, &mut tmp, &[])?
    };

    // 2. Store the blob and unpack it like any pulled layer.
    let (blob, size) = store.put_blob_file(&mut tmp)?;
    drop(tmp);
    let layer = LayerRef {
        diff_id: diff_id.clone(),
        blob,
        compression: Compression::Gzip,
        size,
    };
    store.unpack_layers(std::slice::from_ref(&layer), &plan.maps)?;

    // 3. Config, manifest, record.
    let created = crate::runtime::clock::now_rfc3339();
    let mut config: Value =
        serde_json::from_slice(&image.config).map_err(|source| Error::ConfigCorrupt {
            id: image.id.clone(),
            source,
        })?;
    let base = image.names.first().map(String::as_str);
    let message = match (opts.squash, &opts.message, base) {
        (true, None, Some(b)) => Some(format!("FROM {b}")),
        (_, m, _) => m.clone(),
    };
    if opts.squash {
        // The one layer replaces the image's, and its history with them.
        config["rootfs"] = json!({"type": "layers", "diff_ids": []});
        config["history"] = json!([]);
    }
    let history = HistoryEntry {
        created: &created,
        author: opts.author.as_deref(),
        comment: message.as_deref(),
    };
    edit_config(&mut config, &instructions, &diff_id, &history).ok_or_else(|| {
        Error::ConfigCorrupt {
            id: image.id.clone(),
            source: serde::de::Error::custom("not a JSON object"),
        }
    })?;
    if opts.include_volumes {
        add_volumes(&mut config, &plan.volumes);
    }
    let config_bytes = serde_json::to_vec(&config).map_err(|source| Error::ConfigCorrupt {
        id: image.id.clone(),
        source,
    })?;
    let id = store.put_blob_bytes(&config_bytes)?;
    let mut layers = if opts.squash {
        Vec::new()
    } else {
        image.layers.clone()
    };
    layers.push(layer);
    let manifest = manifest(&id, config_bytes.len(), &layers, opts.is_docker);
    let manifest_digest = store.put_blob_bytes(manifest.to_string().as_bytes())?;
    let record = ImageRecord {
        id: id.clone(),
        names,
        manifest_digest,
        config: config_bytes,
        // Computed by `Store::put_image`.
        size: 0,
        layers,
        os: image.os.clone(),
        architecture: image.architecture.clone(),
        variant: image.variant.clone(),
        created: Some(created),
    };
    store.put_image(&record)?;
    Ok(id)
}

/// Archives container `layout`'s upper directory as a new layer (`build`'s
/// RUN, COPY and ADD steps): stored as a blob and unpacked like a pulled
/// one. Must be called single-threaded.
pub fn layer_from_upper(
    store: &Store,
    layout: &Layout,
    mount_targets: &[std::path::PathBuf],
) -> Result<LayerRef, Error> {
    let mut tmp = store.temp_file()?;
    let diff_id = upper_layer(layout, &mut tmp, mount_targets)?;
    store_layer(store, diff_id, &mut tmp, &layout.maps)
}

/// Stores the plain tar `tar` (read from its start) as a gzipped layer
/// and unpacks it with `maps` (`build`'s COPY onto an empty image).
pub fn layer_from_tar(
    store: &Store,
    tar: &mut File,
    maps: &userns::IdMaps,
) -> Result<LayerRef, Error> {
    std::io::Seek::seek(tar, std::io::SeekFrom::Start(0)).map_err(Error::Stream)?;
    let mut tmp = store.temp_file()?;
    let diff_id = compress(tar.try_clone().map_err(Error::Stream)?, &mut tmp)?;
    store_layer(store, diff_id, &mut tmp, maps)
}

/// Stores the gzipped layer in `tmp` as a blob and unpacks it.
fn store_layer(
    store: &Store,
    diff_id: Digest,
    tmp: &mut File,
    maps: &userns::IdMaps,
) -> Result<LayerRef, Error> {
    let (blob, size) = store.put_blob_file(tmp)?;
    let layer = LayerRef {
        diff_id,
        blob,
        compression: Compression::Gzip,
        size,
    };
    store.unpack_layers(std::slice::from_ref(&layer), maps)?;
    Ok(layer)
}

/// An image `build` made: its layers (all unpacked), its whole config,
/// and how its manifest is written.
pub struct BuiltImage<'a> {
    /// The layers, bottom first.
    pub layers: Vec<LayerRef>,
    /// The image config, `rootfs` and `history` included.
    pub config: &'a Value,
    /// A Docker schema 2 manifest instead of OCI's.
    pub is_docker: bool,
    /// `--annotation`s, recorded in the manifest.
    pub annotations: &'a [(String, String)],
    /// Names to give it (already normalised).
    pub names: Vec<String>,
}

/// Records `image` (config and manifest blobs, the image record) and
/// returns its id.
pub fn put_built_image(store: &Store, image: BuiltImage<'_>) -> Result<Digest, Error> {
    if image.is_docker
        && image
            .layers
            .iter()
            .any(|l| l.compression == Compression::Zstd)
    {
        return Err(Error::DockerZstd);
    }
    let config_bytes = serde_json::to_vec(image.config).map_err(|source| Error::ConfigCorrupt {
        id: Digest::of(b""),
        source,
    })?;
    let id = store.put_blob_bytes(&config_bytes)?;
    let mut manifest = manifest(&id, config_bytes.len(), &image.layers, image.is_docker);
    if !image.annotations.is_empty() {
        let map: Map<String, Value> = image
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        manifest["annotations"] = Value::Object(map);
    }
    let manifest_digest = store.put_blob_bytes(manifest.to_string().as_bytes())?;
    let text = |key: &str| image.config[key].as_str().map(str::to_string);
    let record = ImageRecord {
        id: id.clone(),
        names: image.names,
        manifest_digest,
        config: config_bytes,
        size: 0,
        layers: image.layers,
        os: text("os").unwrap_or_else(|| "linux".into()),
        architecture: text("architecture").unwrap_or_default(),
        variant: text("variant"),
        created: text("created"),
    };
    store.put_image(&record)?;
    Ok(id)
}

/// Archives the upper directory in a helper that is root in the
/// container's id maps and gzips it into `tmp`; returns the diff_id.
/// `mount_targets` are a build step's mount points, left out.
fn upper_layer(
    plan: &Layout,
    tmp: &mut File,
    mount_targets: &[std::path::PathBuf],
) -> Result<Digest, Error> {
    let targets = mount_targets.to_vec();
    let upper = open_dir(&plan.dirs.upper)?;
    let lowers = plan
        .lowers
        .iter()
        .map(|l| open_dir(l))
        .collect::<Result<Vec<_>, _>>()?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let helper = super::enter::spawn_in_userns(
        &plan.maps,
        "archiving the container's changes",
        &[rx.as_fd()],
        move || {
            let opts = Options {
                is_upper: true,
                keep_xattrs: true,
                ..Options::default()
            };
            // hutch's own mount points do not go into the image.
            let mut own = super::mountpoints::own_entries(upper.as_fd(), &lowers)
                .map_err(|e| format!("reading the upper directory: {e}"))?;
            own.extend(
                super::mountpoints::step_targets(upper.as_fd(), &lowers, &targets)
                    .map_err(|e| format!("reading the upper directory: {e}"))?,
            );
            let skip = own
                .into_iter()
                .filter_map(|p| p.strip_prefix("/").ok().map(Path::to_path_buf))
                .collect();
            let out = std::io::BufWriter::with_capacity(1 << 16, File::from(tx));
            archive::write_tree_skipping(out, upper.as_fd(), None, None, opts, skip)
                .and_then(|mut w| {
                    w.flush().map_err(|source| archive::WalkError {
                        path: Default::default(),
                        source,
                    })
                })
                .map_err(|e| e.to_string())
        },
    )?;
    let compressed = compress(File::from(rx), tmp);
    helper.wait()?;
    compressed
}

/// Archives the container's whole root file system (as `export` does:
/// its volumes and bind mounts left out) and gzips it into `tmp`;
/// returns the diff_id.
fn squash_layer(plan: &Layout, tmp: &mut File) -> Result<Digest, Error> {
    let mut w = HashingGz {
        hasher: sha2::Sha256::new(),
        gz: flate2::write::GzEncoder::new(
            std::io::BufWriter::with_capacity(1 << 16, tmp),
            flate2::Compression::default(),
        ),
    };
    super::export::export(plan.clone(), &mut w)?;
    let HashingGz { hasher, gz } = w;
    gz.finish()
        .and_then(|mut w| w.flush())
        .map_err(Error::Compress)?;
    Ok(Digest::from_sha256(hasher.finalize().as_slice()))
}

/// A writer that hashes the tar it is given and gzips it on.
struct HashingGz<W: Write> {
    hasher: sha2::Sha256,
    gz: flate2::write::GzEncoder<W>,
}

impl<W: Write> Write for HashingGz<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.gz.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.gz.flush()
    }
}

/// `--include-volumes`: each volume the container mounts becomes a
/// `Volumes` entry of the image config, as Podman records named volumes.
fn add_volumes(config: &mut Value, volumes: &crate::runtime::volumes::Volumes) {
    let dests: Vec<&str> = volumes
        .mounts
        .iter()
        .filter(|m| m.kind == crate::runtime::volumes::Kind::Volume)
        .map(|m| m.destination.as_str())
        .collect();
    if dests.is_empty() {
        return;
    }
    let Some(inner) = config.get_mut("config").and_then(Value::as_object_mut) else {
        return;
    };
    let vols = inner.entry("Volumes").or_insert_with(|| json!({}));
    if !vols.is_object() {
        *vols = json!({});
    }
    if let Some(v) = vols.as_object_mut() {
        for d in dests {
            v.insert(d.to_string(), json!({}));
        }
    }
}

/// Opens a store directory of the container (`O_PATH`) for the helper.
fn open_dir(path: &Path) -> Result<OwnedFd, Error> {
    openat2(
        nix::fcntl::AT_FDCWD,
        path,
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        Resolve::NO_SYMLINKS,
    )
    .map_err(|source| Error::OpenHost {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads the tar from `tar`, gzips it into `out`, and returns its
/// digest (the layer's diff_id).
fn compress(mut tar: File, out: &mut File) -> Result<Digest, Error> {
    let mut hasher = sha2::Sha256::new();
    let mut gz = flate2::write::GzEncoder::new(
        std::io::BufWriter::with_capacity(1 << 16, out),
        flate2::Compression::default(),
    );
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match tar.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Stream(e)),
        };
        hasher.update(&buf[..n]);
        gz.write_all(&buf[..n]).map_err(Error::Compress)?;
    }
    gz.finish()
        .and_then(|mut w| w.flush())
        .map_err(Error::Compress)?;
    Ok(Digest::from_sha256(hasher.finalize().as_slice()))
}

/// The history entry `commit` appends.
pub struct HistoryEntry<'a> {
    /// RFC 3339.
    pub created: &'a str,
    /// `-a`.
    pub author: Option<&'a str>,
    /// `-m`.
    pub comment: Option<&'a str>,
}

/// Applies the changes, appends the diff_id and the history entry, and
/// sets `created` (and `author`); `None` when the config is not an object.
pub fn edit_config(
    config: &mut Value,
    changes: &[change::Instruction],
    diff_id: &Digest,
    history: &HistoryEntry<'_>,
) -> Option<()> {
    let root = config.as_object_mut()?;
    let inner = root
        .entry("config")
        .or_insert_with(|| Value::Object(Map::new()));
    if !inner.is_object() {
        *inner = Value::Object(Map::new());
    }
    let inner = inner.as_object_mut()?;
    for c in changes {
        change::apply(inner, c);
    }
    let rootfs = root
        .entry("rootfs")
        .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
    let diff_ids = rootfs
        .as_object_mut()?
        .entry("diff_ids")
        .or_insert_with(|| json!([]));
    diff_ids.as_array_mut()?.push(json!(diff_id.to_string()));
    let mut entry = Map::new();
    entry.insert("created".into(), json!(history.created));
    entry.insert("created_by".into(), json!("hutch commit"));
    if let Some(a) = history.author {
        entry.insert("author".into(), json!(a));
    }
    if let Some(c) = history.comment {
        entry.insert("comment".into(), json!(c));
    }
    let hist = root.entry("history").or_insert_with(|| json!([]));
    if !hist.is_array() {
        *hist = json!([]);
    }
    hist.as_array_mut()?.push(Value::Object(entry));
    root.insert("created".into(), json!(history.created));
    if let Some(a) = history.author {
        root.insert("author".into(), json!(a));
    }
    Some(())
}

/// An OCI (or with `is_docker` a Docker schema 2) image manifest for
/// config `id` and `layers` (a Docker one has no zstd layers: refused
/// before).
fn manifest(id: &Digest, config_size: usize, layers: &[LayerRef], is_docker: bool) -> Value {
    let layers: Vec<Value> = layers
        .iter()
        .map(|l| {
            let media_type = match (is_docker, l.compression) {
                (false, Compression::None) => "application/vnd.oci.image.layer.v1.tar",
                (false, Compression::Gzip) => "application/vnd.oci.image.layer.v1.tar+gzip",
                (false, Compression::Zstd) => "application/vnd.oci.image.layer.v1.tar+zstd",
                (true, Compression::None) => "application/vnd.docker.image.rootfs.diff.tar",
                (true, _) => "application/vnd.docker.image.rootfs.diff.tar.gzip",
            };
            json!({"mediaType": media_type, "digest": l.blob.to_string(), "size": l.size})
        })
        .collect();
    let (media_type, config_type) = match is_docker {
        true => (DOCKER_MANIFEST, DOCKER_CONFIG),
        false => (OCI_MANIFEST, OCI_CONFIG),
    };
    json!({
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": id.to_string(), "size": config_size},
        "layers": layers,
    })
}

/// Qualifies an image name as Podman does for commit: a name without a
/// registry goes under `localhost/`, one without a tag gets `:latest`.
/// `None` for a name that is not a valid reference or carries a digest.
pub fn normalize_name(name: &str) -> Option<String> {
    if name.is_empty() || name.contains('@') {
        return None;
    }
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    let (path, tag) = match name[last_slash..].rfind(':') {
        Some(i) => (&name[..last_slash + i], Some(&name[last_slash + i + 1..])),
        None => (name, None),
    };
    if let Some(t) = tag {
        let is_tag = !t.is_empty()
            && t.len() <= 128
            && !t.starts_with(['.', '-'])
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !is_tag {
            return None;
        }
    }
    let (registry, repo) = match path.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest),
        _ => ("localhost", path),
    };
    let is_component = |c: &str| {
        !c.is_empty()
            && c.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            && c.as_bytes()[0].is_ascii_alphanumeric()
    };
    let is_registry = registry
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
    if !is_registry || !repo.split('/').all(is_component) {
        return None;
    }
    Some(format!("{registry}/{repo}:{}", tag.unwrap_or("latest")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_like_podman() {
        for (given, want) in [
            ("snap", Some("localhost/snap:latest")),
            ("snap:v1", Some("localhost/snap:v1")),
            ("me/snap", Some("localhost/me/snap:latest")),
            ("localhost/snap", Some("localhost/snap:latest")),
            ("127.0.0.1:5000/a/b:t", Some("127.0.0.1:5000/a/b:t")),
            ("Snap", None),
            ("snap@sha256:00", None),
            ("snap:", None),
            ("a//b", None),
            ("", None),
        ] {
            assert_eq!(normalize_name(given).as_deref(), want, "{given}");
        }
    }

    #[test]
    fn edit_config_appends_layer_and_history() {
        let mut c = json!({
            "architecture": "amd64",
            "config": {"Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:aa"]},
            "history": [{"created_by": "base"}],
        });
        let d = Digest::of(b"layer");
        let changes = vec![change::parse(r#"CMD ["cat","/data.txt"]"#).unwrap()];
        let h = HistoryEntry {
            created: "2024-01-01T00:00:00Z",
            author: Some("me"),
            comment: Some("snapshot"),
        };
        edit_config(&mut c, &changes, &d, &h).unwrap();
        assert_eq!(c["config"]["Cmd"], json!(["cat", "/data.txt"]));
        assert_eq!(c["rootfs"]["diff_ids"][1], json!(d.to_string()));
        assert_eq!(c["history"][1]["comment"], json!("snapshot"));
        assert_eq!(c["history"][1]["author"], json!("me"));
        assert_eq!(c["author"], json!("me"));
        assert_eq!(c["created"], json!("2024-01-01T00:00:00Z"));
        assert!(edit_config(&mut json!([]), &[], &d, &h).is_none());
    }
}
