//! The content store: blobs by digest, unpacked layers, container
//! directories and the metadata database.
//!
//! Owns everything under the store root (`Paths::root`): atomic writes
//! (temp + rename), locks between concurrent hutch processes, and layer
//! unpacking beneath a directory fd. It must not talk to registries or
//! decide how a container runs.
//!
//! Layout:
//! ```text
//! ROOT/db.sqlite                  images, names, layers, containers
//! ROOT/blobs/sha256/HEX           verified blobs (manifests, configs, layers)
//! ROOT/layers/HEX/                one unpacked layer, keyed by its diff_id
//! ROOT/containers/ID/{upper,work,merged,...}
//! ROOT/tmp/                       in-progress downloads and unpacks
//! ROOT/locks/                     lock files
//! ```

mod digest;

pub use digest::Digest;

use std::path::{Path, PathBuf};

use crate::userns::IdMaps;

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Todo(&'static str),
}

impl Error {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        None
    }
}

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
    /// Sum of the layer blob sizes.
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

/// The directories of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store, Error> {
        Ok(Store {
            root: root.to_path_buf(),
        })
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with digest `d` lives once stored.
    pub fn blob_path(&self, d: &Digest) -> PathBuf {
        self.root.join("blobs").join(d.algorithm()).join(d.hex())
    }

    /// Whether the verified blob `d` is present.
    pub fn has_blob(&self, d: &Digest) -> bool {
        self.blob_path(d).is_file()
    }

    /// Starts writing blob `expected`: bytes go to a temp file and are
    /// hashed as they arrive; `BlobWriter::commit` verifies and renames into
    /// place. Dropping the writer without commit removes the temp file.
    pub fn blob_writer(&self, expected: &Digest) -> Result<BlobWriter, Error> {
        let _ = expected;
        Err(Error::Todo("blob_writer"))
    }

    /// Takes an exclusive lock named after `d` (held until the guard drops),
    /// so that concurrent pulls download each blob once.
    pub fn lock_blob(&self, d: &Digest) -> Result<LockGuard, Error> {
        let _ = d;
        Err(Error::Todo("lock_blob"))
    }

    /// Reads a whole (small) blob: manifests and configs.
    pub fn read_blob(&self, d: &Digest) -> Result<Vec<u8>, Error> {
        let _ = d;
        Err(Error::Todo("read_blob"))
    }

    /// Where the unpacked layer with `diff_id` lives once unpacked.
    pub fn layer_path(&self, diff_id: &Digest) -> PathBuf {
        self.root.join("layers").join(diff_id.hex())
    }

    /// Unpacks every layer in `layers` that is not present yet, in a child
    /// process that is root in a user namespace with `maps` (so image
    /// ownership lands on the mapped ids). Verifies each diff_id, writes
    /// atomically and locks per layer. The caller must be single-threaded.
    pub fn unpack_layers(&self, layers: &[LayerRef], maps: &IdMaps) -> Result<(), Error> {
        let _ = (layers, maps);
        Err(Error::Todo("unpack_layers"))
    }

    /// Records `image` and points each of its names at it (a name moves
    /// from whatever image had it before).
    pub fn put_image(&self, image: &ImageRecord) -> Result<(), Error> {
        let _ = image;
        Err(Error::Todo("put_image"))
    }

    /// Finds an image by full name, by id (`sha256:HEX` or `HEX`) or by an
    /// unambiguous id prefix of at least 3 hex characters.
    pub fn find_image(&self, name_or_id: &str) -> Result<Option<ImageRecord>, Error> {
        let _ = name_or_id;
        Err(Error::Todo("find_image"))
    }

    /// All images, newest first.
    pub fn list_images(&self) -> Result<Vec<ImageRecord>, Error> {
        Err(Error::Todo("list_images"))
    }

    /// Removes a name; when `name_or_id` is an id, or the last name of an
    /// image goes, removes the image and the layers and blobs no other image
    /// uses. Refuses while a container uses the image unless `force`.
    pub fn remove_image(
        &self,
        name_or_id: &str,
        force: bool,
        maps: &IdMaps,
    ) -> Result<Removed, Error> {
        let _ = (name_or_id, force, maps);
        Err(Error::Todo("remove_image"))
    }

    /// Records a container and creates its directories; fails if the name
    /// is taken.
    pub fn create_container(&self, c: &ContainerRecord) -> Result<ContainerDirs, Error> {
        let _ = c;
        Err(Error::Todo("create_container"))
    }

    /// Removes a container's record and directories (entering the user
    /// namespace when files owned by subordinate ids are in the way).
    pub fn remove_container(&self, id: &str, maps: &IdMaps) -> Result<(), Error> {
        let _ = (id, maps);
        Err(Error::Todo("remove_container"))
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

/// A blob being written; see `Store::blob_writer`.
pub struct BlobWriter {
    _private: (),
}

impl std::io::Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl BlobWriter {
    /// Verifies the digest of everything written and moves the blob into
    /// place; on mismatch removes it and fails.
    pub fn commit(self) -> Result<(), Error> {
        Err(Error::Todo("commit"))
    }
}

/// An exclusive lock; released on drop.
pub struct LockGuard {
    _file: std::fs::File,
}
