//! `build --squash` and `--squash-all`: several layers merged into one.
//!
//! The layers' tars are read twice from their blobs. The first pass works
//! out which entry of which layer is still visible at the end: a later
//! entry replaces an earlier one of the same name, a whiteout removes the
//! name and everything below it, an opaque marker everything below its
//! directory. The second pass writes those entries in their order. The
//! whiteouts are kept when layers stay below the merged one (they must
//! still hide the files there), and dropped when nothing is below.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use super::archive::{self, Options, TreeWriter};
use super::Error;
use crate::storage::{Compression, LayerRef, Store};
use crate::userns::IdMaps;

/// Merges `layers` (bottom first) into one layer, stored and unpacked;
/// `has_below`: other layers stay below it.
pub fn squash_layers(
    store: &Store,
    layers: &[LayerRef],
    has_below: bool,
    maps: &IdMaps,
) -> Result<LayerRef, Error> {
    let mut visible: BTreeMap<PathBuf, (usize, usize)> = BTreeMap::new();
    // Hard links: where each is, and the path it links to.
    let mut links: Vec<(PathBuf, (usize, usize), PathBuf)> = Vec::new();
    for (k, layer) in layers.iter().enumerate() {
        let mut a = tar::Archive::new(open_layer(store, layer)?);
        for (e, entry) in a.entries().map_err(Error::ReadInput)?.enumerate() {
            let entry = entry.map_err(Error::ReadInput)?;
            let path = clean(&entry.path().map_err(Error::ReadInput)?);
            let Some(name) = path.file_name().map(|n| n.as_encoded_bytes().to_vec()) else {
                continue;
            };
            let dir = path.parent().unwrap_or(Path::new("")).to_path_buf();
            if name == archive::OPAQUE_MARKER.as_bytes() {
                remove_below(&mut visible, &dir, false);
            } else if let Some(gone) = name.strip_prefix(archive::WHITEOUT_PREFIX) {
                let gone =
                    dir.join(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(gone));
                remove_below(&mut visible, &gone, true);
            } else if entry.header().entry_type() != tar::EntryType::Directory {
                // A non-directory replaces a directory and what was in it.
                remove_below(&mut visible, &path, false);
            }
            if entry.header().entry_type() == tar::EntryType::Link {
                if let Ok(Some(target)) = entry.link_name() {
                    links.push((path.clone(), (k, e), clean(&target)));
                }
            }
            let is_marker = name.starts_with(archive::WHITEOUT_PREFIX);
            if !is_marker || has_below {
                visible.insert(path, (k, e));
            }
        }
    }
    // A hard link whose file went, or is written only after it, would
    // not unpack: it is dropped.
    for (path, at, target) in links {
        let is_linkable = visible.get(&target).is_some_and(|t| *t < at);
        if visible.get(&path) == Some(&at) && !is_linkable {
            visible.remove(&path);
        }
    }
    let kept: HashSet<(usize, usize)> = visible.into_values().collect();
    let mut tmp = store.temp_file()?;
    {
        let opts = Options {
            is_upper: true,
            ..Options::default()
        };
        let out = std::io::BufWriter::with_capacity(1 << 16, &mut tmp);
        let mut w = TreeWriter::new(out, opts);
        for (k, layer) in layers.iter().enumerate() {
            let keep = |e: usize| kept.contains(&(k, e));
            w.add_archive_entries(open_layer(store, layer)?, &keep)
                .map_err(|e| Error::Gather(e.to_string()))?;
        }
        let mut out = w.finish().map_err(|e| Error::Gather(e.to_string()))?;
        std::io::Write::flush(&mut out).map_err(Error::Stream)?;
    }
    super::commit::layer_from_tar(store, &mut tmp, maps)
}

/// Layer `layer` written again with every entry's modification time
/// `mtime` (`build --timestamp`), stored and unpacked.
pub fn retime_layer(
    store: &Store,
    layer: &LayerRef,
    mtime: u64,
    maps: &IdMaps,
) -> Result<LayerRef, Error> {
    let mut tmp = store.temp_file()?;
    {
        let opts = Options {
            is_upper: true,
            mtime: Some(mtime),
            ..Options::default()
        };
        let out = std::io::BufWriter::with_capacity(1 << 16, &mut tmp);
        let mut w = TreeWriter::new(out, opts);
        w.add_archive_entries(open_layer(store, layer)?, &|_| true)
            .map_err(|e| Error::Gather(e.to_string()))?;
        let mut out = w.finish().map_err(|e| Error::Gather(e.to_string()))?;
        std::io::Write::flush(&mut out).map_err(Error::Stream)?;
    }
    super::commit::layer_from_tar(store, &mut tmp, maps)
}

/// The tar of a stored layer, decompressed.
fn open_layer(store: &Store, layer: &LayerRef) -> Result<Box<dyn Read>, Error> {
    let path = store.blob_path(&layer.blob);
    let file = File::open(&path).map_err(|source| Error::OpenHost { path, source })?;
    let raw = BufReader::with_capacity(1 << 16, file);
    Ok(match layer.compression {
        Compression::None => Box::new(raw),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(raw)),
        Compression::Zstd => {
            Box::new(zstd::stream::read::Decoder::new(raw).map_err(Error::ReadInput)?)
        }
    })
}

/// An archive name without `./`, `/` and a trailing slash.
fn clean(p: &Path) -> PathBuf {
    p.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// Forgets what is below `path` (and `path` itself when `itself`).
fn remove_below(visible: &mut BTreeMap<PathBuf, (usize, usize)>, path: &Path, itself: bool) {
    if itself {
        visible.remove(path);
    }
    let below: Vec<PathBuf> = visible
        .range(path.to_path_buf()..)
        .map(|(k, _)| k)
        .take_while(|k| k.starts_with(path))
        .filter(|k| k.as_path() != path)
        .cloned()
        .collect();
    for k in below {
        visible.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgetting_a_directory_forgets_what_is_below_it() {
        let mut v = BTreeMap::new();
        for (i, p) in ["a", "a/b", "a/b/c", "ab", "z"].iter().enumerate() {
            v.insert(PathBuf::from(p), (0, i));
        }
        remove_below(&mut v, Path::new("a"), false);
        let left: Vec<&Path> = v.keys().map(PathBuf::as_path).collect();
        assert_eq!(left, [Path::new("a"), Path::new("ab"), Path::new("z")]);
        remove_below(&mut v, Path::new("a"), true);
        assert_eq!(v.len(), 2);
    }
}
