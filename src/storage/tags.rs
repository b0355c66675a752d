//! Names of stored images: adding (`tag`) and removing (`untag`) them
//! without touching the image, its layers or its blobs, and the names each
//! image has had (kept by the database's triggers, see `db`).

use std::collections::HashMap;

use rusqlite::{params, TransactionBehavior};

use super::{Digest, Error, Store};

impl Store {
    /// Points `name` at image `id` (moving it from any other image, which
    /// may then be left without a name).
    pub fn add_name(&self, id: &Digest, name: &str) -> Result<(), Error> {
        let err = |source| Error::SaveImage {
            id: id.clone(),
            source,
        };
        let mut db = self.db();
        let tx = db
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let known: bool = tx
            .prepare_cached("SELECT 1 FROM images WHERE id = ?1")
            .and_then(|mut st| st.exists([id.to_string()]))
            .map_err(err)?;
        if !known {
            return Err(Error::ImageNotKnown {
                name: id.to_string(),
            });
        }
        tx.execute(
            "INSERT INTO names (name, image_id) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id",
            params![name, id.to_string()],
        )
        .map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Removes `name` from image `id`; whether it was there. The image
    /// stays, even without names.
    pub fn remove_name(&self, id: &Digest, name: &str) -> Result<bool, Error> {
        let err = |source| Error::DeleteImage {
            name: name.to_string(),
            source,
        };
        let n = self
            .db()
            .execute(
                "DELETE FROM names WHERE name = ?1 AND image_id = ?2",
                params![name, id.to_string()],
            )
            .map_err(err)?;
        Ok(n > 0)
    }

    /// The names every image has had, newest first, by image id
    /// (`sha256:HEX`); names removed since, or moved to another image,
    /// included.
    pub fn name_history(&self) -> Result<HashMap<String, Vec<String>>, Error> {
        let rows: Vec<(String, String)> = self
            .db()
            .prepare_cached("SELECT image_id, name FROM name_history ORDER BY seq DESC")
            .and_then(|mut st| {
                st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<_>>()
            })
            .map_err(Error::ListImages)?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (id, name) in rows {
            out.entry(id).or_default().push(name);
        }
        Ok(out)
    }
}
