//! Image and layer sizes as Podman reports them (issue #20 item 16).
//!
//! A layer's size is its uncompressed tar's, recorded when it is unpacked
//! (`layers.unpacked_size`). Layers unpacked by an older hutch have none:
//! their blob is decompressed and counted once, when a size is first
//! needed, and the result recorded. An image's size adds its metadata the
//! way containers/storage's `ImageSize` does: the config, and the manifest
//! twice (Podman keeps it under the keys `manifest` and
//! `manifest-DIGEST`), so `images` and `inspect` show Podman's numbers.

use std::fs::File;
use std::io::{self, BufReader, Read};

use rusqlite::{params, OptionalExtension};

use super::{Compression, Digest, Error, ImageRecord, LayerRef, Store};

impl Store {
    /// The uncompressed size of each of `layers`, in order: as recorded
    /// when it was unpacked, else measured from its blob now (and
    /// recorded), else (no blob to measure) the blob's size.
    pub fn layer_sizes(&self, layers: &[LayerRef]) -> Result<Vec<u64>, Error> {
        let mut out = Vec::with_capacity(layers.len());
        for l in layers {
            let recorded: Option<i64> = self
                .db()
                .prepare_cached("SELECT unpacked_size FROM layers WHERE diff_id = ?1")
                .and_then(|mut st| {
                    st.query_row([l.diff_id.to_string()], |r| r.get(0))
                        .optional()
                })
                .map_err(Error::FindLayers)?
                .flatten();
            let size = match recorded.and_then(|n| u64::try_from(n).ok()) {
                Some(n) => n,
                None => self.measure_layer(l),
            };
            out.push(size);
        }
        Ok(out)
    }

    /// The size Podman shows for an image with `layers`, a config of
    /// `config_len` bytes and the manifest `manifest`.
    pub(super) fn image_size(
        &self,
        layers: &[LayerRef],
        config_len: usize,
        manifest: &Digest,
    ) -> Result<u64, Error> {
        let layers: u64 = self.layer_sizes(layers)?.iter().sum();
        let manifest_len = std::fs::metadata(self.blob_path(manifest)).map_or(0, |m| m.len());
        Ok(layers + config_len as u64 + 2 * manifest_len)
    }

    /// Computes and records the size of `rec`, whose row an older hutch
    /// wrote (it held the compressed size). Failing to record it only
    /// means computing it again next time.
    pub(super) fn refresh_image_size(&self, rec: &mut ImageRecord) -> Result<(), Error> {
        rec.size = self.image_size(&rec.layers, rec.config.len(), &rec.manifest_digest)?;
        let updated = self.db().execute(
            "UPDATE images SET size = ?2 WHERE id = ?1",
            params![
                rec.id.to_string(),
                i64::try_from(rec.size).unwrap_or(i64::MAX)
            ],
        );
        if let Err(e) = updated {
            log::debug!("recording the size of image {}: {e}", rec.id);
        }
        Ok(())
    }

    /// Measures layer `l` from its blob and records the result; without a
    /// readable blob, its compressed size stands in (not recorded).
    fn measure_layer(&self, l: &LayerRef) -> u64 {
        let measured =
            File::open(self.blob_path(&l.blob)).and_then(|f| uncompressed_len(f, l.compression));
        match measured {
            Ok(n) => {
                let updated = self.db().execute(
                    "UPDATE layers SET unpacked_size = ?2 WHERE diff_id = ?1",
                    params![l.diff_id.to_string(), i64::try_from(n).unwrap_or(i64::MAX)],
                );
                if let Err(e) = updated {
                    log::debug!("recording the size of layer {}: {e}", l.diff_id);
                }
                n
            }
            Err(e) => {
                log::debug!("measuring layer {} from its blob: {e}", l.diff_id);
                l.size
            }
        }
    }
}

/// The length of `blob` once decompressed.
fn uncompressed_len(blob: File, compression: Compression) -> io::Result<u64> {
    let buffered = BufReader::with_capacity(1 << 16, blob);
    let mut reader: Box<dyn Read> = match compression {
        Compression::None => Box::new(buffered),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    };
    io::copy(&mut reader, &mut io::sink())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn uncompressed_len_counts_each_compression() {
        let data = vec![7u8; 100_000];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&data).unwrap();
        let blobs = [
            (Compression::None, data.clone()),
            (Compression::Gzip, gz.finish().unwrap()),
            (Compression::Zstd, zstd::encode_all(&data[..], 3).unwrap()),
        ];
        let dir = tempfile::tempdir().unwrap();
        for (c, bytes) in blobs {
            let p = dir.path().join("blob");
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(
                uncompressed_len(File::open(&p).unwrap(), c).unwrap(),
                100_000,
                "{c:?}"
            );
        }
    }
}
