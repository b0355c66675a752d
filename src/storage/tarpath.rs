//! Normalising archive paths: pure logic, no I/O.
//!
//! Entry names are hostile. They are normalised lexically (empty and `.`
//! components dropped, `..` applied) and rejected, never clamped, when
//! they are absolute or climb out of the layer. Lexical checks are only the
//! first line: every path is still resolved beneath the layer's directory
//! fd, which catches escapes through symlinks.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Why an archive path is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("absolute path")]
    Absolute,
    #[error("path escapes the layer")]
    Escapes,
}

/// Normalises an entry name; `None` is the layer root itself (`./`).
pub fn normalize(name: &[u8]) -> Result<Option<PathBuf>, PathError> {
    if name.first() == Some(&b'/') {
        return Err(PathError::Absolute);
    }
    components(name)
}

/// Normalises a hard link target. Some archivers write targets with a
/// leading `/`, meaning the archive root, so that is accepted here; `..`
/// still may not climb out.
pub fn normalize_link_target(name: &[u8]) -> Result<Option<PathBuf>, PathError> {
    let trimmed = name
        .iter()
        .position(|&b| b != b'/')
        .map_or(&name[name.len()..], |i| &name[i..]);
    components(trimmed)
}

fn components(name: &[u8]) -> Result<Option<PathBuf>, PathError> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop().ok_or(PathError::Escapes)?;
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts.iter().map(|p| OsStr::from_bytes(p)).collect()))
}

/// What an entry's last component says about overlay whiteouts (OCI image
/// spec, layer.md "Whiteouts").
#[derive(Debug, PartialEq, Eq)]
pub enum Whiteout<'a> {
    /// An ordinary name.
    None,
    /// `.wh..wh..opq`: the parent directory hides the layers below.
    Opaque,
    /// `.wh.NAME`: NAME is deleted.
    Remove(&'a [u8]),
    /// `.wh.` with no usable name after it.
    Invalid,
}

/// Classifies a file name (one component).
pub fn whiteout(leaf: &[u8]) -> Whiteout<'_> {
    match leaf.strip_prefix(b".wh.") {
        None => Whiteout::None,
        Some(b".wh..opq") => Whiteout::Opaque,
        Some(b"" | b"." | b"..") => Whiteout::Invalid,
        Some(name) => Whiteout::Remove(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> Result<Option<String>, PathError> {
        normalize(s.as_bytes()).map(|p| p.map(|p| p.to_string_lossy().into_owned()))
    }

    #[test]
    fn normalize_strips_dot_prefixes_and_slashes() {
        assert_eq!(norm("./bin/sh"), Ok(Some("bin/sh".into())));
        assert_eq!(norm("bin//./sh/"), Ok(Some("bin/sh".into())));
        assert_eq!(norm("a/b/../c"), Ok(Some("a/c".into())));
        assert_eq!(norm("./"), Ok(None));
        assert_eq!(norm("."), Ok(None));
    }

    #[test]
    fn normalize_rejects_absolute_and_escaping_names() {
        assert_eq!(norm("/abs/x"), Err(PathError::Absolute));
        assert_eq!(norm("../../victim/x"), Err(PathError::Escapes));
        assert_eq!(norm("a/../../x"), Err(PathError::Escapes));
        assert_eq!(norm("./.."), Err(PathError::Escapes));
    }

    #[test]
    fn link_targets_may_start_at_the_archive_root() {
        let t = normalize_link_target(b"/bin/busybox").unwrap().unwrap();
        assert_eq!(t, PathBuf::from("bin/busybox"));
        assert_eq!(normalize_link_target(b"/../etc"), Err(PathError::Escapes));
    }

    #[test]
    fn whiteout_names_are_classified() {
        assert_eq!(whiteout(b"sh"), Whiteout::None);
        assert_eq!(whiteout(b".wh..wh..opq"), Whiteout::Opaque);
        assert_eq!(whiteout(b".wh.sh"), Whiteout::Remove(b"sh"));
        assert_eq!(whiteout(b".wh."), Whiteout::Invalid);
        assert_eq!(whiteout(b".wh.."), Whiteout::Invalid);
    }
}
