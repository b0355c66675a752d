//! The cache of compiled filters: `RUNROOT/seccomp/<key>.bpf`, where the
//! key is a digest of everything the program depends on, written
//! atomically (`storage::atomic`) so readers never see half a file.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::profile::Target;
use super::Error;

/// Changes whenever the compiler's output for the same inputs would, so
/// development builds of one version do not share stale entries.
const COMPILER_REVISION: &str = "libseccomp-optimize-2+enosys-stub";

/// The cache key of `profile` (its JSON text) compiled for `target` on
/// kernel `release` by hutch `version`: hex SHA-256.
pub fn key(profile: &str, target: &Target, release: &str, version: &str) -> String {
    let mut h = Sha256::new();
    for part in [
        COMPILER_REVISION,
        version,
        &target.scmp_arch,
        release,
        &format!("{:016x}", target.caps),
        profile,
    ] {
        h.update(part.len().to_le_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The program cached under `key` in `dir`, or, when there is none (or it
/// is unreadable), the one `build` makes, which is then cached.
pub fn get_or_build(
    dir: &Path,
    key: &str,
    build: impl FnOnce() -> Result<Vec<u8>, Error>,
) -> Result<Vec<u8>, Error> {
    let path = dir.join(format!("{key}.bpf"));
    if let Ok(bytes) = std::fs::read(&path) {
        if crate::sys::seccomp::Program::from_bytes(&bytes).is_some() {
            return Ok(bytes);
        }
    }
    let bytes = build()?;
    let cache_err = |source| Error::Cache {
        path: path.clone(),
        source,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(cache_err)?;
    crate::storage::atomic::write_file(&path, &bytes, 0o600).map_err(cache_err)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(caps: u64) -> Target {
        Target::native(caps, "6.1.0")
    }

    #[test]
    fn key_changes_with_every_input() {
        let base = key("{}", &target(1), "6.1.0", "0.1.0");
        assert_eq!(base.len(), 64);
        assert_eq!(base, key("{}", &target(1), "6.1.0", "0.1.0"));
        assert_ne!(base, key("{ }", &target(1), "6.1.0", "0.1.0"));
        assert_ne!(base, key("{}", &target(3), "6.1.0", "0.1.0"));
        assert_ne!(base, key("{}", &target(1), "6.2.0", "0.1.0"));
        assert_ne!(base, key("{}", &target(1), "6.1.0", "0.1.1"));
    }

    #[test]
    fn miss_builds_and_caches_then_hit_reads_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("seccomp");
        let program = vec![6u8, 0, 0, 0, 0, 0, 0xff, 0x7f];
        let got = get_or_build(&cache, "k", || Ok(program.clone())).unwrap();
        assert_eq!(got, program);
        assert_eq!(std::fs::read(cache.join("k.bpf")).unwrap(), program);
        let names: Vec<_> = std::fs::read_dir(&cache).unwrap().collect();
        assert_eq!(names.len(), 1, "no temp file is left behind");

        let hit = get_or_build(&cache, "k", || panic!("a hit must not compile")).unwrap();
        assert_eq!(hit, program);
    }

    #[test]
    fn corrupt_cache_entry_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("k.bpf"), b"short").unwrap();
        let program = vec![0u8; 16];
        let got = get_or_build(dir.path(), "k", || Ok(program.clone())).unwrap();
        assert_eq!(got, program);
        assert_eq!(std::fs::read(dir.path().join("k.bpf")).unwrap(), program);
    }
}
