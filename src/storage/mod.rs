//! The content store: blobs by digest, unpacked layers, container
//! directories and the metadata database.
//!
//! Owns everything under the store root (`Paths::root`) and the files
//! hutch keeps in the run directory: atomic writes (`atomic`: temp file,
//! fsync, rename, fsync the directory) for every small file there, locks
//! between concurrent hutch processes, and layer unpacking beneath a
//! directory fd. It must not talk to registries or
//! decide how a container runs.
//!
//! Layout:
//! ```text
//! ROOT/db.sqlite                  images, names, layers, containers
//! ROOT/blobs/sha256/HEX           verified blobs (manifests, configs, layers)
//! ROOT/layers/HEX/                one unpacked layer, keyed by its diff_id
//! ROOT/layers/.trash.UNIQUE.HEX   a layer moved aside for removal
//! ROOT/layers-shifted/KEY/HEX/    a layer's copy for another id mapping
//! ROOT/containers/ID/{upper,work,merged,...}
//! ROOT/tmp/                       in-progress downloads and unpacks, and
//!                                 the markers of write sessions (`debris`)
//! ROOT/locks/                     lock files
//! ROOT/events/events.log{,.1}      the event log and its previous file
//! ROOT/volumes/NAME/_data          named volumes
//! ```
//!
//! What interrupted commands leave (temporary entries, blobs and layers
//! no image names, trash) is debris: `debris` finds and sweeps it.

pub mod atomic;
mod blobs;
mod buildcache;
mod check;
pub mod commit;
mod containers;
mod db;
mod debris;
mod digest;
mod entry;
pub mod events;
pub mod fstype;
mod full;
mod images;
mod imagesize;
mod layers;
mod lists;
mod lock;
mod private;
mod prune;
mod remove;
mod rename;
mod rootentry;
mod shift;
mod size;
mod state;
mod tags;
mod tarpath;
mod unpack;
mod volumepath;
mod volumes;

pub use blobs::BlobWriter;
pub use check::{CheckOptions, Fix, Problem};
pub use debris::{Debris, Session as WriteSession};
pub use digest::Digest;
pub use full::is_disk_full;
pub use lock::{exclusive as lock_exclusive, LockGuard};
pub use prune::wipe;
pub use rename::is_valid_container_name;
pub use rootentry::RootEntry;
pub use state::RestartSettings;
pub use volumes::{is_valid_volume_name, VolumeError, VolumeInfo, VolumeRecord, LOCAL_DRIVER};

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

const DIGEST_HINT: &str = "the registry sent corrupt data; retry or check the registry";
const FULL_HINT: &str = "the disk holding the store is full: remove containers (hutch rm -f) or images, or run hutch system prune, to free space";

/// What to do about a lost or damaged database.
const DB_HINT: &str = "restore the file from a backup, or run `hutch system reset` to start over (it removes every image, container and volume of this store)";

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("opening the metadata database {path}")]
    OpenDb {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("initializing the metadata database {path}")]
    InitDb {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// The database file is gone while the store holds images,
    /// containers or volumes.
    #[error("the metadata database {path} is missing, but the store holds layers, containers or volumes")]
    DbMissing { path: PathBuf },
    /// The database is empty while the store holds images, containers or
    /// volumes.
    #[error(
        "the metadata database {path} is empty, but the store holds layers, containers or volumes"
    )]
    DbEmpty { path: PathBuf },
    /// The database file is not a database, or its pages are corrupt.
    #[error("the metadata database {path} is damaged")]
    DbDamaged {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("metadata database {path} has schema version {found}, newer than the {known} this hutch knows")]
    DbTooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("listing images")]
    ListImages(#[source] rusqlite::Error),
    #[error("looking up image {name:?}")]
    FindImage {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("recording image {id}")]
    SaveImage {
        id: Digest,
        #[source]
        source: rusqlite::Error,
    },
    #[error("removing image {name:?}")]
    DeleteImage {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    /// An image record does not hold together (see `images::Damage`).
    #[error("image {}{} is damaged", short_id(id), names_note(names))]
    ImageDamaged {
        id: String,
        names: Vec<String>,
        #[source]
        source: images::Damage,
    },
    /// Reading a directory while looking for debris.
    #[error("listing {path}")]
    ListDebris {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recording unpacked layers")]
    RecordLayers(#[source] rusqlite::Error),
    #[error("looking up layers")]
    FindLayers(#[source] rusqlite::Error),
    #[error("recording container {name:?}")]
    SaveContainer {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("removing the record of container {id}")]
    DeleteContainer {
        id: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("reading the build cache entry {path}")]
    ReadCache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing the build cache entry {path}")]
    WriteCache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("creating {path}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("appending to the event log {path}")]
    WriteEvent {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rotating the event log {path}")]
    RotateEvents {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading the event log {path}")]
    ReadEvents {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("giving {path} the mode and times of the image's root")]
    SetRoot {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("creating temporary file {path}")]
    CreateTemp {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("writing blob {digest}")]
    WriteBlob {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("blob digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("moving blob {digest} into place")]
    CommitBlob {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("reading blob {digest}")]
    ReadBlob {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("locking {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The store root is not a directory.
    #[error("the store {path} is not a directory")]
    RootNotDir { path: PathBuf },
    /// The store root belongs to someone else.
    #[error("the store {path} belongs to uid {owner}, not to uid {uid}")]
    RootForeign { path: PathBuf, owner: u32, uid: u32 },
    /// Making the store private.
    #[error("making {path} private to its user")]
    Secure {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Another process held a lock longer than the wait allows.
    #[error("waited {}s for the lock {path}, held by {}", waited.as_secs(), holder.as_ref().map_or_else(|| "another process".to_string(), |h| h.to_string()))]
    LockTimeout {
        path: PathBuf,
        waited: std::time::Duration,
        holder: Option<lock::Holder>,
    },
    #[error("layer blob {digest} is not in the store")]
    BlobMissing { digest: Digest },
    #[error("layer {layer} is not unpacked")]
    LayerNotUnpacked { layer: Digest },
    #[error("preparing to unpack layer {layer}")]
    PrepareUnpack {
        layer: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("layer {layer}")]
    Unpack {
        layer: Digest,
        /// Whether the layer's content did not match its digest.
        is_corrupt: bool,
        #[source]
        source: ChildError,
    },
    /// A layer failed to unpack into a store on a network filesystem,
    /// whose server refuses what a user namespace may do on local disk
    /// (ownership changes to subordinate ids under NFS's root_squash and
    /// AUTH_SYS, issue #18); the cause names the failing operation.
    #[error("store {root} on {fs}")]
    UnpackOnNetworkFs {
        root: PathBuf,
        fs: &'static str,
        #[source]
        source: Box<Error>,
    },
    #[error("{step}")]
    EnterUserns {
        step: &'static str,
        #[source]
        source: crate::userns::Error,
    },
    #[error("moving layer {layer} into place")]
    InstallLayer {
        layer: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: image not known")]
    ImageNotKnown { name: String },
    #[error("image id prefix {prefix:?} matches {count} images")]
    AmbiguousId { prefix: String, count: usize },
    #[error("image {} has several names ({})", id.short(), names.join(", "))]
    ImageHasNames { id: Digest, names: Vec<String> },
    #[error("image {} is used by container {}", id.short(), &container[..container.len().min(12)])]
    ImageInUse { id: Digest, container: String },
    #[error("invalid container id {id:?}: expected 64 hex characters")]
    InvalidContainerId { id: String },
    #[error("container name {name:?} is already used by container {}", &id[..id.len().min(12)])]
    ContainerNameInUse { name: String, id: String },
    #[error("image {id} was removed while the container was being created")]
    ImageGone { id: Digest },
    #[error("container {id:?} not known")]
    ContainerNotKnown { id: String },
    #[error("looking up container {name:?}")]
    FindContainer {
        name: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("container id prefix {prefix:?} matches {count} containers")]
    AmbiguousContainerId { prefix: String, count: usize },
    #[error("listing containers")]
    ListContainers(#[source] rusqlite::Error),
    #[error("recording the state of container {id}")]
    SaveContainerState {
        id: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("removing {path}")]
    RemoveDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("copying the image's layers for the container's id mapping")]
    ShiftLayer {
        #[source]
        source: crate::userns::Error,
    },
    #[error("removing {path} as root in the user namespace")]
    RemoveDirInUserns {
        path: PathBuf,
        #[source]
        source: crate::userns::Error,
    },
    /// Creating, finding, linking or removing a volume.
    #[error(transparent)]
    Volume(#[from] VolumeError),
    /// `--volumepath`.
    #[error(transparent)]
    VolumePath(#[from] volumepath::VolumePathError),
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        if full::is_disk_full(self) {
            return Some(FULL_HINT.into());
        }
        if self.is_db_damage() {
            return Some(DB_HINT.into());
        }
        match self {
            Error::ImageDamaged { id, .. } => Some(format!(
                "remove it with `hutch rmi {}`, or pull it again",
                short_id(id)
            )),
            Error::DigestMismatch { .. }
            | Error::Unpack {
                is_corrupt: true, ..
            } => Some(DIGEST_HINT.into()),
            Error::UnpackOnNetworkFs { fs, .. } => Some(format!(
                "a server of {fs} checks file owners itself and refuses the subordinate ids of image files; keep the store on this node: hutch --root {local} (or leave --root, HUTCH_ROOT and storage.conf's graphroot unset: then a default store on {fs} moves there by itself)",
                local = crate::paths::local_store_dir(nix::unistd::getuid().as_raw()).display()
            )),
            Error::DbTooNew { .. } => Some("upgrade hutch, or use another --root".into()),
            Error::RootForeign { .. } | Error::RootNotDir { .. } => {
                Some("use a store of your own with --root DIR".into())
            }
            Error::LockTimeout {
                holder: Some(h), ..
            } => Some(format!(
                "if process {} is stuck, stop it; {} sets how many seconds to wait",
                h.pid,
                crate::paths::ENV_LOCK_TIMEOUT
            )),
            Error::AmbiguousId { .. } => Some("give more characters of the image id".into()),
            Error::AmbiguousContainerId { .. } => {
                Some("give more characters of the container id, or its name".into())
            }
            Error::ImageNotKnown { .. } => Some("`hutch images` lists the local images".into()),
            Error::ImageHasNames { .. } => {
                Some("remove the names one by one, or use --force to remove them all".into())
            }
            Error::ImageInUse { .. } => Some(
                "remove the container first, or use --force to remove it with the image".into(),
            ),
            Error::Volume(e) => e.hint(),
            Error::ImageGone { .. } => {
                Some("pull the image again (or let `run` pull it), then retry".into())
            }
            Error::ContainerNameInUse { .. } => {
                Some("choose another name, or remove that container first".into())
            }
            Error::EnterUserns { source, .. }
            | Error::RemoveDirInUserns { source, .. }
            | Error::ShiftLayer { source } => source.hint(),
            _ => None,
        }
    }
}

impl Error {
    /// Whether the database is missing, empty or damaged: this error or
    /// one of its causes says so (SQLite's `SQLITE_CORRUPT` or
    /// `SQLITE_NOTADB` on any query).
    pub fn is_db_damage(&self) -> bool {
        if matches!(
            self,
            Error::DbMissing { .. } | Error::DbEmpty { .. } | Error::DbDamaged { .. }
        ) {
            return true;
        }
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(e) = cur {
            if e.downcast_ref::<rusqlite::Error>()
                .is_some_and(db::is_damage)
            {
                return true;
            }
            cur = e.source();
        }
        false
    }
}

/// ` (NAME, NAME)` after an image id, or nothing for an image without names.
fn names_note(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!(" ({})", names.join(", "))
    }
}

/// The first 12 hex digits of an image id as stored (`sha256:HEX`).
fn short_id(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

/// The error text a namespace child reported, carried as a source.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ChildError(pub String);

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

/// One layer of an image: its blob and the digest of its uncompressed tar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    /// The digest of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: Digest,
    /// The digest of the blob as stored in the registry.
    pub blob: Digest,
    /// How the blob is compressed.
    pub compression: Compression,
    /// The blob's size in bytes.
    pub size: u64,
}

/// An image as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRecord {
    /// The image id: the digest of its config blob.
    pub id: Digest,
    /// Fully qualified names (`registry/repo:tag`) pointing at it.
    pub names: Vec<String>,
    /// The digest of the platform manifest it was pulled from.
    pub manifest_digest: Digest,
    /// The raw image config JSON (also stored as a blob under `id`).
    pub config: Vec<u8>,
    /// Layers, bottom first.
    pub layers: Vec<LayerRef>,
    /// `os` from the config.
    pub os: String,
    /// `architecture` from the config.
    pub architecture: String,
    /// `variant` from the config, if any.
    pub variant: Option<String>,
    /// `created` from the config (RFC 3339), if any.
    pub created: Option<String>,
    /// The unpacked size, as Podman counts it: the layers' uncompressed
    /// sizes plus the config and manifest. `Store::put_image` computes it;
    /// what a caller sets is not read.
    pub size: u64,
}

/// A container as the store records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerRecord {
    /// 64 hex characters.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// The image it was created from.
    pub image_id: Digest,
    /// The name the user gave for the image.
    pub image_name: String,
    /// Creation time, RFC 3339.
    pub created: String,
}

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContainerStatus {
    /// Recorded, never started (or being set up).
    #[default]
    Created,
    /// Checked and prepared by `init`, not started yet.
    Initialized,
    /// Its process runs (as far as the record knows; see `container::observe`).
    Running,
    /// Its process ended; `exit_code` says how.
    Exited,
}

/// A container's recorded state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerState {
    /// Created, initialized, running or exited.
    pub status: ContainerStatus,
    /// The container's pid 1, as the host sees it.
    pub pid: Option<i32>,
    /// `starttime` of `pid` from /proc/PID/stat, so a reused pid is not mistaken for it.
    pub pid_start: Option<u64>,
    /// The process that waits for the container (the monitor, or the foreground hutch).
    pub monitor_pid: Option<i32>,
    /// `starttime` of `monitor_pid`.
    pub monitor_start: Option<u64>,
    /// When the process started, RFC 3339.
    pub started_at: Option<String>,
    /// When it ended, RFC 3339.
    pub finished_at: Option<String>,
    /// Its exit code (128+N for signal N).
    pub exit_code: Option<i32>,
    /// Why it ended when not on its own (e.g. `monitor died`).
    pub exit_reason: Option<String>,
    /// How often its restart policy has started it again since the user
    /// last started it.
    pub restart_count: u32,
}

/// A container with its state and the spec to start it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// What it is.
    pub record: ContainerRecord,
    /// Where it is in its life.
    pub state: ContainerState,
    /// How to start it: the serialised plan (JSON), once planned.
    pub spec: Option<String>,
}

/// The directories of one container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ContainerDirs {
    /// `ROOT/containers/ID`.
    pub dir: PathBuf,
    /// Overlay upper directory.
    pub upper: PathBuf,
    /// Overlay work directory.
    pub work: PathBuf,
    /// Where the root filesystem is mounted.
    pub merged: PathBuf,
}

/// An open store.
pub struct Store {
    root: PathBuf,
    // A mutex rather than a bare connection so that `Store` is `Sync`
    // (callers may share it between download threads).
    db: Mutex<rusqlite::Connection>,
    /// What `open` made private.
    repaired: Vec<PathBuf>,
    /// This process's write session (see `debris`).
    writes: debris::Writes,
    /// Where the volumes are (`ROOT/volumes`, or `--volumepath`).
    volumes: PathBuf,
}

impl Store {
    /// Makes the store's root and directories at `root` private (0700),
    /// as `open` does, without opening its database: for the overlay
    /// probes of `info` and `doctor`, which work below `ROOT/tmp` and
    /// would otherwise make the first directories with the user's umask.
    pub fn make_dirs(root: &Path) -> Result<(), Error> {
        private::secure(root, nix::unistd::getuid().as_raw()).map(drop)
    }

    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store, Error> {
        let repaired = private::secure(root, nix::unistd::getuid().as_raw())?;
        let conn = db::open(root)?;
        Ok(Store {
            root: root.to_path_buf(),
            db: Mutex::new(conn),
            repaired,
            writes: debris::Writes::default(),
            volumes: root.join("volumes"),
        })
    }

    /// The paths whose modes `open` took group and other access away from
    /// (a store made by an older hutch, or opened up by hand).
    pub fn repaired(&self) -> &[PathBuf] {
        &self.repaired
    }

    /// The database connection; a panic elsewhere cannot leave it
    /// half-updated (transactions roll back on drop), so poisoning is ignored.
    fn db(&self) -> MutexGuard<'_, rusqlite::Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where the unpacked layer with `diff_id` lives once unpacked.
    pub fn layer_path(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(diff_id.hex())
    }
}

impl Error {
    /// The layer that failed to unpack, when that is what went wrong.
    pub fn refused_layer(&self) -> Option<&Digest> {
        match self {
            Error::Unpack { layer, .. } => Some(layer),
            Error::UnpackOnNetworkFs { source, .. } => source.refused_layer(),
            _ => None,
        }
    }

    /// Whether the image, container or volume asked for does not exist
    /// (Podman's "no such …", exit 1 for the removal commands).
    pub fn is_missing(&self) -> bool {
        matches!(
            self,
            Error::ImageNotKnown { .. }
                | Error::ContainerNotKnown { .. }
                | Error::Volume(VolumeError::NotKnown { .. })
        )
    }

    /// Whether it is in use by a container (Podman's exit 2 for the
    /// removal commands).
    pub fn is_in_use(&self) -> bool {
        matches!(
            self,
            Error::ImageInUse { .. } | Error::Volume(VolumeError::InUse { .. })
        )
    }
}

/// What `remove_image` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// Only this name was removed; the image stays under other names.
    Untagged(String),
    /// The image with this id is gone.
    Deleted(Digest),
}
