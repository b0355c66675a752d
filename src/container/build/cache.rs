//! The layer cache's keys: a step is found again when it runs on the same
//! parent image with the same instruction, the same `ARG` values in scope
//! and the same inputs (the digest of the files a `COPY` or `ADD`
//! gathered, the here-documents of a `RUN`). The entries live in the
//! store (`Store::build_cache_get`/`put`); the images they name are
//! ordinary unnamed images.

use sha2::Digest as _;

use super::exec::{Build, Current};
use crate::storage::Digest;

/// The version of the key's layout: a change makes every old entry miss.
const KEY_VERSION: &str = "hutch build cache 1";

impl Build<'_> {
    /// The cache key of the step `text` on `cur` with `inputs`; `None`
    /// with `--layers=false`, which neither uses nor fills the cache.
    pub fn cache_key(&self, cur: &Current, text: &str, inputs: &[String]) -> Option<Digest> {
        if !self.req.layers {
            return None;
        }
        let parent = match &cur.id {
            Some(id) => id.to_string(),
            None => format!("scratch {}", Digest::of(cur.config.to_string().as_bytes())),
        };
        Some(key(
            &parent,
            text,
            &cur.arg_values(),
            inputs,
            self.req.is_docker,
        ))
    }
}

/// Hashes the parts of a key, each length-prefixed so that no two
/// different lists of parts hash alike.
fn key(
    parent: &str,
    text: &str,
    args: &[(String, String)],
    inputs: &[String],
    is_docker: bool,
) -> Digest {
    let mut h = sha2::Sha256::new();
    let mut part = |p: &str| {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    };
    part(KEY_VERSION);
    part(parent);
    part(text);
    part(if is_docker { "docker" } else { "oci" });
    for (k, v) in args {
        part(&format!("{k}={v}"));
    }
    part("--");
    for i in inputs {
        part(i);
    }
    Digest::from_sha256(h.finalize().as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_change_with_every_part() {
        let base = key("p", "RUN x", &[], &[], false);
        assert_eq!(base, key("p", "RUN x", &[], &[], false));
        let args = [("A".to_string(), "1".to_string())];
        for other in [
            key("q", "RUN x", &[], &[], false),
            key("p", "RUN y", &[], &[], false),
            key("p", "RUN x", &args, &[], false),
            key("p", "RUN x", &[], &["sha256:1".into()], false),
            key("p", "RUN x", &[], &[], true),
            key("p", "RUN x", &[], &["".into()], false),
        ] {
            assert_ne!(base, other);
        }
    }
}
