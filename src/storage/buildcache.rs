//! The layer cache of `build` (issue #15): which image a build step made,
//! by the step's cache key (the parent image, the instruction and its
//! inputs, hashed by the builder). One small file per key,
//! `ROOT/build-cache/KEY`, holding the image id; written atomically, so
//! builds racing on one key each leave a whole entry, and the last one
//! wins. The images themselves are ordinary unnamed image records:
//! `image prune` removes them, and an entry whose image is gone is a miss
//! (and is dropped by `prune_build_cache`).

use std::path::PathBuf;

use super::{atomic, Digest, Error, Store};

impl Store {
    fn build_cache_path(&self, key: &Digest) -> PathBuf {
        self.root.join("build-cache").join(key.hex())
    }

    /// The image a build step with cache `key` made, if one is recorded
    /// and the image is still in the store.
    pub fn build_cache_get(&self, key: &Digest) -> Result<Option<Digest>, Error> {
        let path = self.build_cache_path(key);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::ReadCache { path, source }),
        };
        let Ok(id) = text.trim().parse::<Digest>() else {
            return Ok(None);
        };
        match self.find_image(&id.to_string()) {
            Ok(Some(rec)) if rec.id == id => Ok(Some(id)),
            Ok(_) | Err(Error::ImageDamaged { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records that the build step with cache `key` made `image`.
    pub fn build_cache_put(&self, key: &Digest, image: &Digest) -> Result<(), Error> {
        let path = self.build_cache_path(key);
        let dir = self.root.join("build-cache");
        std::fs::create_dir_all(&dir).map_err(|source| Error::CreateDir {
            path: dir.clone(),
            source,
        })?;
        atomic::write_file(&path, image.to_string().as_bytes(), 0o600)
            .map_err(|source| Error::WriteCache { path, source })
    }

    /// Removes the cache entries whose image is gone (after a prune).
    pub fn prune_build_cache(&self) -> Result<(), Error> {
        let dir = self.root.join("build-cache");
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(Error::ReadCache { path: dir, source }),
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(key) = name
                .to_str()
                .and_then(|n| format!("sha256:{n}").parse::<Digest>().ok())
            else {
                continue;
            };
            if self.build_cache_get(&key)?.is_none() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_without_its_image_is_a_miss() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = Digest::of(b"step");
        assert_eq!(store.build_cache_get(&key).unwrap(), None);
        store.build_cache_put(&key, &Digest::of(b"gone")).unwrap();
        assert_eq!(store.build_cache_get(&key).unwrap(), None);
        store.prune_build_cache().unwrap();
        assert!(!dir.path().join("build-cache").join(key.hex()).exists());
    }
}
