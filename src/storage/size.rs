//! Measuring a container's writable layer (its overlay upper directory)
//! for `ps --size`, and volumes for `system df`.
//!
//! The tree is read as the user first; a directory a subordinate id made
//! unreadable is measured again by a child that is root in the user
//! namespace, which sends the total back over a pipe.

use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use nix::sched::CloneFlags;

use super::{Error, Store};
use crate::userns::{self, IdMaps};

/// The step named when measuring in the user namespace fails.
const STEP: &str = "measuring the container's writable layer";

impl Store {
    /// The bytes in container `id`'s writable layer: the sizes of its
    /// files, each hard-linked file once. The caller must be
    /// single-threaded (the fallback forks).
    pub fn container_upper_size(&self, id: &str, maps: &IdMaps) -> Result<u64, Error> {
        let upper = self.container_dirs(id).upper;
        match tree_size(&upper) {
            Ok(n) => Ok(n),
            Err(_) => size_in_userns(&upper, maps),
        }
    }
}

impl Store {
    /// The bytes of the files of each of the volumes `names`, in order
    /// (0 for what cannot be measured). The caller must be
    /// single-threaded (the fallback forks).
    pub fn volume_sizes(&self, names: &[String], maps: &IdMaps) -> Vec<u64> {
        let paths: Vec<std::path::PathBuf> = names.iter().map(|n| self.volume_path(n)).collect();
        sizes_of(&paths, maps)
    }
}

/// The sizes of everything below `root` that is not a directory, without
/// following symlinks; entries that vanish meanwhile count as nothing.
fn tree_size(root: &Path) -> std::io::Result<u64> {
    let mut total = 0u64;
    let mut seen = HashSet::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) if e.kind() == ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            if meta.is_dir() {
                todo.push(entry.path());
            } else if meta.nlink() < 2 || seen.insert((meta.dev(), meta.ino())) {
                total = total.saturating_add(meta.len());
            }
        }
    }
    Ok(total)
}

/// The most paths `sizes_of` measures in the user namespace: their sizes
/// (8 bytes each) must fit the pipe's buffer, as the child writes them all
/// before the parent reads.
const MAX_MEASURED_IN_USERNS: usize = 4096;

/// The size of each of `paths`, in order: a file's length, or the files
/// of a directory tree (as `tree_size` counts them). Those a subordinate
/// id made unreadable are measured by one child that is root in the user
/// namespace; what cannot be measured counts as 0 (sizes only inform).
/// The caller must be single-threaded.
pub(super) fn sizes_of(paths: &[std::path::PathBuf], maps: &IdMaps) -> Vec<u64> {
    let mut out = vec![0u64; paths.len()];
    let mut refused = Vec::new();
    for (i, p) in paths.iter().enumerate() {
        match size_of(p) {
            Ok(n) => out[i] = n,
            Err(_) if refused.len() < MAX_MEASURED_IN_USERNS => refused.push(i),
            Err(_) => {}
        }
    }
    if refused.is_empty() {
        return out;
    }
    let Ok((read, write)) = userns::pipe() else {
        return out;
    };
    let targets: Vec<std::path::PathBuf> = refused.iter().map(|&i| paths[i].clone()).collect();
    let measured = userns::run_as_root(maps, CloneFlags::empty(), move || {
        let bytes: Vec<u8> = targets
            .iter()
            .flat_map(|p| size_of(p).unwrap_or(0).to_le_bytes())
            .collect();
        std::fs::File::from(write)
            .write_all(&bytes)
            .map_err(|e| e.to_string())
    });
    if let Err(e) = measured {
        log::debug!("measuring in the user namespace: {e}");
        return out;
    }
    let mut bytes = Vec::new();
    let _ = std::fs::File::from(read).read_to_end(&mut bytes);
    for (&i, chunk) in refused.iter().zip(bytes.chunks_exact(8)) {
        out[i] = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
    }
    out
}

/// A file's length, or a directory tree's files; a missing path is 0.
fn size_of(path: &Path) -> std::io::Result<u64> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => tree_size(path),
        Ok(m) => Ok(m.len()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

fn size_in_userns(upper: &Path, maps: &IdMaps) -> Result<u64, Error> {
    let err = |source| Error::EnterUserns { step: STEP, source };
    let (read, write) = userns::pipe().map_err(err)?;
    let target = upper.to_path_buf();
    userns::run_as_root(maps, CloneFlags::empty(), move || {
        let n = tree_size(&target).map_err(|e| e.to_string())?;
        // Far below PIPE_BUF: the write cannot block.
        std::fs::File::from(write)
            .write_all(n.to_string().as_bytes())
            .map_err(|e| e.to_string())
    })
    .map_err(err)?;
    let mut text = String::new();
    let _ = std::fs::File::from(read).read_to_string(&mut text);
    text.trim()
        .parse()
        .map_err(|_| err(userns::Error::Child(format!("unexpected size {text:?}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_size_counts_files_and_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("top"), [0u8; 10]).unwrap();
        std::fs::write(root.join("a/b/deep"), [0u8; 100]).unwrap();
        std::fs::hard_link(root.join("a/b/deep"), root.join("a/link")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", root.join("a/sym")).unwrap();
        let sym_len = std::fs::symlink_metadata(root.join("a/sym")).unwrap().len();
        assert_eq!(tree_size(root).unwrap(), 110 + sym_len);
        assert_eq!(tree_size(&root.join("missing")).unwrap(), 0);
    }

    #[test]
    fn sizes_of_measures_files_trees_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("t/u")).unwrap();
        std::fs::write(root.join("t/u/f"), [0u8; 7]).unwrap();
        std::fs::write(root.join("file"), [0u8; 5]).unwrap();
        let maps = IdMaps::plan(
            nix::unistd::getuid().as_raw(),
            nix::unistd::getgid().as_raw(),
            &[],
            &[],
        );
        let paths = [root.join("t"), root.join("file"), root.join("none")];
        assert_eq!(sizes_of(&paths, &maps), vec![7, 5, 0]);
    }
}
