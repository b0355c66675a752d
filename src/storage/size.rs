//! Measuring a container's writable layer (its overlay upper directory)
//! for `ps --size`.
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
}
