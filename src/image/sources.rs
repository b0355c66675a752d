//! Where blobs came from: the registries and repositories a blob was pulled
//! from or pushed to, so that a later push to another repository of the
//! same registry can ask for a cross-repository mount instead of uploading.
//!
//! One small JSON file per blob at `ROOT/blob-sources/HEX.json`, replaced
//! atomically (`storage::atomic`). These are hints: a lost or stale entry only costs an
//! upload, so readers ignore files they cannot parse.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::storage::Digest;

/// How many places are remembered per blob (the newest win).
const MAX_SOURCES: usize = 16;

/// One place a blob is known to be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `host[:port]` of the registry.
    pub registry: String,
    /// The repository path there.
    pub repository: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    sources: Vec<Source>,
}

fn path(root: &Path, digest: &Digest) -> PathBuf {
    root.join("blob-sources")
        .join(format!("{}.json", digest.hex()))
}

/// The places blob `digest` is known to be, newest first.
pub fn read(root: &Path, digest: &Digest) -> Vec<Source> {
    std::fs::read(path(root, digest))
        .ok()
        .and_then(|raw| serde_json::from_slice::<File>(&raw).ok())
        .map(|f| f.sources)
        .unwrap_or_default()
}

/// Records that blob `digest` is at `source`.
pub fn record(root: &Path, digest: &Digest, source: &Source) -> std::io::Result<()> {
    let mut sources = read(root, digest);
    if sources.first() == Some(source) {
        return Ok(());
    }
    sources.retain(|s| s != source);
    sources.insert(0, source.clone());
    sources.truncate(MAX_SOURCES);
    std::fs::create_dir_all(root.join("blob-sources"))?;
    crate::storage::atomic::write_json(&path(root, digest), &File { sources }, 0o644)
}

/// Another repository of `registry` that holds blob `digest`, if known.
pub fn mount_source(
    root: &Path,
    digest: &Digest,
    registry: &str,
    repository: &str,
) -> Option<String> {
    read(root, digest)
        .into_iter()
        .find(|s| s.registry == registry && s.repository != repository)
        .map(|s| s.repository)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(r: &str, p: &str) -> Source {
        Source {
            registry: r.into(),
            repository: p.into(),
        }
    }

    #[test]
    fn records_newest_first_and_finds_mount_sources_on_the_same_registry() {
        let t = tempfile::tempdir().unwrap();
        let d = Digest::of(b"x");
        assert!(read(t.path(), &d).is_empty());
        record(t.path(), &d, &src("a:1", "one")).unwrap();
        record(t.path(), &d, &src("b:2", "two")).unwrap();
        record(t.path(), &d, &src("a:1", "one")).unwrap();
        assert_eq!(read(t.path(), &d), [src("a:1", "one"), src("b:2", "two")]);
        assert_eq!(
            mount_source(t.path(), &d, "a:1", "new").as_deref(),
            Some("one")
        );
        assert_eq!(mount_source(t.path(), &d, "a:1", "one"), None);
        assert_eq!(mount_source(t.path(), &d, "c:3", "new"), None);
        std::fs::write(path(t.path(), &d), "garbage").unwrap();
        assert!(read(t.path(), &d).is_empty());
    }
}
