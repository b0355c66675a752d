//! Manifest lists in the store: a list is an image record without layers
//! whose manifest blob is the list's document (see `image::list`);
//! changing the list stores a new document and points the record at it,
//! so the record's id, names and creation time stay.

use rusqlite::params;

use super::{Digest, Error, Store};

impl Store {
    /// Points image `id`'s record at manifest blob `manifest`, which must
    /// be stored, and recomputes its size; the blob it named before is
    /// left for the debris sweep.
    pub fn set_image_manifest(&self, id: &Digest, manifest: &Digest) -> Result<(), Error> {
        let err = |source| Error::SaveImage {
            id: id.clone(),
            source,
        };
        let config_len: Option<i64> = self
            .db()
            .query_row(
                "SELECT length(config) FROM images WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .map_or_else(
                |e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(None),
                    e => Err(err(e)),
                },
                |n| Ok(Some(n)),
            )?;
        let Some(config_len) = config_len else {
            return Err(Error::ImageNotKnown {
                name: id.to_string(),
            });
        };
        let size = self.image_size(&[], usize::try_from(config_len).unwrap_or(0), manifest)?;
        self.db()
            .execute(
                "UPDATE images SET manifest_digest = ?2, size = ?3 WHERE id = ?1",
                params![
                    id.to_string(),
                    manifest.to_string(),
                    i64::try_from(size).unwrap_or(i64::MAX)
                ],
            )
            .map_err(err)?;
        // The new document is named by the record now.
        self.end_kept_session();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::ImageRecord;

    #[test]
    fn a_record_moves_to_its_new_manifest_and_keeps_its_id() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let config = br#"{"mediaType":"list"}"#.to_vec();
        let id = store.put_blob_bytes(&config).unwrap();
        let first = store.put_blob_bytes(b"{\"entries\":[]}").unwrap();
        store
            .put_image(&ImageRecord {
                id: id.clone(),
                names: vec!["localhost/l:latest".into()],
                manifest_digest: first,
                config,
                layers: Vec::new(),
                os: String::new(),
                architecture: String::new(),
                variant: None,
                created: None,
                size: 0,
            })
            .unwrap();
        let second = store.put_blob_bytes(b"{\"entries\":[{\"a\":1}]}").unwrap();
        store.set_image_manifest(&id, &second).unwrap();
        let rec = store.find_image("localhost/l:latest").unwrap().unwrap();
        assert_eq!((rec.id, rec.manifest_digest), (id, second));
        let missing = Digest::of(b"nothing");
        assert!(matches!(
            store.set_image_manifest(&missing, &missing),
            Err(Error::ImageNotKnown { .. })
        ));
    }
}
