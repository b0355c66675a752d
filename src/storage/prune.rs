//! Cleaning up what no image uses: layers and blobs left by an image
//! that failed to load, and the whole store for `system reset`.

use std::path::PathBuf;

use super::remove::remove_tree;
use super::{lock, Digest, Error, Store};
use crate::userns::IdMaps;

impl Store {
    /// Deletes those of `layers` (diff_ids) and `blobs` that no recorded
    /// image uses: records first, then files, each under its lock. The
    /// caller must be single-threaded (removal may enter the user namespace).
    pub fn discard_unused(
        &self,
        layers: &[Digest],
        blobs: &[Digest],
        maps: &IdMaps,
    ) -> Result<(), Error> {
        let _session = self.write_session()?;
        // Every digest a record names, damaged records included.
        let used = self.named_digests()?;
        let layers_dir = self.root.join("layers");
        for diff_id in layers {
            if used.contains(diff_id.hex()) {
                continue;
            }
            let _guard = lock::lock(&self.root, &format!("layer-{}", diff_id.hex()))?;
            self.db()
                .execute(
                    "DELETE FROM layers WHERE diff_id = ?1",
                    [diff_id.to_string()],
                )
                .map_err(Error::RecordLayers)?;
            if let Some(trash) = self.move_aside(&layers_dir, diff_id.hex())? {
                remove_tree(&trash, maps)?;
            }
        }
        for blob in blobs {
            if used.contains(blob.hex()) {
                continue;
            }
            let _guard = self.lock_blob(blob)?;
            let path = self.blob_path(blob);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::RemoveDir { path, source }),
            }
        }
        Ok(())
    }

    /// The store's root directory (for `system df` and `system reset`).
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }
}

/// Removes the whole store at `root` and the run directory `runroot`,
/// entering the user namespace for files owned by subordinate ids. The
/// caller must be single-threaded and must not hold the store open.
pub fn wipe(root: &std::path::Path, runroot: &std::path::Path, maps: &IdMaps) -> Result<(), Error> {
    for dir in [root, runroot] {
        let dir: PathBuf = dir.to_path_buf();
        remove_tree(&dir, maps)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn discard_unused_removes_only_unrecorded_blobs() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let d = Digest::of(b"orphan");
        let mut w = store.blob_writer(&d).unwrap();
        w.write_all(b"orphan").unwrap();
        w.commit().unwrap();
        let maps = IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        );
        store
            .discard_unused(&[], std::slice::from_ref(&d), &maps)
            .unwrap();
        assert!(!store.has_blob(&d));
    }
}
