//! Image archives: `save` writes stored images as a docker-archive (what
//! `docker save` writes), an oci-archive (an OCI image layout in a tar) or
//! an OCI layout directory; `load` reads either archive kind back.
//!
//! Loading never unpacks the outer tar: members are found by name in an
//! index of the (spooled, seekable) archive and read by offset, so member
//! names cannot point anywhere. Every blob is verified against its digest
//! as it is stored, layers go through the store's hostile-safe unpacking,
//! and each image is recorded only once all of it is in place; a failed
//! image leaves no record, no blob and no layer of its own behind. It must
//! not print.

mod read;
mod write;

pub use read::{load, Loaded};
pub use write::{save, Format, LayerChoice, SaveItem};

use crate::storage::Digest;

/// Member names inside archives.
const OCI_LAYOUT: &str = "oci-layout";
const OCI_INDEX_FILE: &str = "index.json";
const DOCKER_MANIFEST_FILE: &str = "manifest.json";
/// The annotation naming an image in an OCI index (image-spec annotations.md).
const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation containerd reads for the full name.
const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// The member that holds blob `d` in an OCI layout.
fn blob_member(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm(), d.hex())
}

/// What went wrong saving or loading an archive.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("writing {member}")]
    Write {
        member: String,
        #[source]
        source: std::io::Error,
    },
    #[error("creating {path}")]
    CreateOutput {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading blob {digest} from the store")]
    ReadBlob {
        digest: Digest,
        #[source]
        source: Box<crate::storage::Error>,
    },
    #[error("decompressing layer {digest}")]
    Decompress {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("a docker-archive holds one image unless --multi-image-archive is given")]
    SeveralImages,
    #[error("preparing a temporary file")]
    Temp(#[source] Box<crate::storage::Error>),
    #[error("reading the archive")]
    ReadArchive(#[source] std::io::Error),
    #[error("not an image archive: no {OCI_INDEX_FILE} with {OCI_LAYOUT} (oci-archive) and no {DOCKER_MANIFEST_FILE} (docker-archive)")]
    UnknownFormat,
    #[error("member {member:?} is missing")]
    MissingMember { member: String },
    #[error("member {member:?} is truncated: {size} bytes announced, the archive ends first")]
    TruncatedMember { member: String, size: u64 },
    #[error("member {member:?} is too large ({size} bytes)")]
    MemberTooLarge { member: String, size: u64 },
    #[error("reading member {member:?}")]
    ReadMember {
        member: String,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing member {member:?}")]
    ParseMember {
        member: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("member {member:?}")]
    Invalid {
        member: String,
        #[source]
        source: Box<super::Error>,
    },
    #[error("member {member:?} does not match its digest: expected {expected}, got {actual}")]
    DigestMismatch {
        member: String,
        expected: Digest,
        actual: Digest,
    },
    #[error("member {member:?}: {reason}")]
    BadEntry { member: String, reason: String },
    #[error("storing member {member:?}")]
    StoreMember {
        member: String,
        #[source]
        source: Box<crate::storage::Error>,
    },
    #[error("image {}: member {member:?}", id.short())]
    Unpack {
        id: Digest,
        member: String,
        #[source]
        source: Box<crate::storage::Error>,
    },
    #[error("recording image {}", id.short())]
    Record {
        id: Digest,
        #[source]
        source: Box<crate::storage::Error>,
    },
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::SeveralImages => Some(
                "add --multi-image-archive (-m), or save as --format oci-archive".into(),
            ),
            Error::UnknownFormat => Some(
                "load reads archives written by `hutch save`, `podman save`, `docker save` or `skopeo copy` (docker-archive or oci-archive, optionally gzip-compressed)"
                    .into(),
            ),
            Error::TruncatedMember { .. }
            | Error::DigestMismatch { .. }
            | Error::MissingMember { .. }
            | Error::ReadArchive(_) => {
                Some("the archive is damaged or incomplete; write it again".into())
            }
            Error::Unpack { .. } => {
                Some("the archive holds a layer hutch refuses; the store is unchanged".into())
            }
            _ => None,
        }
    }
}
