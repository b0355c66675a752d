//! `--volumepath`: where a store keeps its volumes' data. As in Podman,
//! it is a property of the store: recorded (in `ROOT/volumepath`) by the
//! first command that names one for a store without volumes, and a
//! different path later is refused with Podman's words. A command that
//! names none uses the recorded path (the monitor and other helpers run
//! without the flag); without a record it is `ROOT/volumes`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Error, Store};

/// The file below the store root that records the volume path.
const RECORD: &str = "volumepath";

/// What went wrong choosing the volume directory.
#[derive(Debug, thiserror::Error)]
pub enum VolumePathError {
    /// Another path than the store's (Podman's words).
    #[error("database volume path {recorded:?} does not match our volume path {requested:?}: database configuration mismatch")]
    Mismatch {
        recorded: PathBuf,
        requested: PathBuf,
    },
    /// Not absolute: every hutch process must find the same directory.
    #[error("--volumepath {0:?}: the path must be absolute")]
    Relative(PathBuf),
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("recording the volume path in {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("creating the volume directory {path}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("counting the volumes")]
    Count(#[source] rusqlite::Error),
}

impl Store {
    /// Where volumes' directories are (`NAME/_data` below it).
    pub(super) fn volumes_dir(&self) -> PathBuf {
        self.volumes.clone()
    }

    /// Whether the volumes live outside the store root (`--volumepath`),
    /// so that removing the root does not remove them.
    pub fn volumes_outside_root(&self) -> Option<PathBuf> {
        (!self.volumes.starts_with(&self.root)).then(|| self.volumes.clone())
    }

    /// Chooses the volume directory for `requested` (`--volumepath`, or
    /// `None`), as the module says.
    pub fn use_volume_path(&mut self, requested: Option<&Path>) -> Result<(), Error> {
        let record = self.root.join(RECORD);
        let recorded = match std::fs::read_to_string(&record) {
            Ok(text) => Some(PathBuf::from(text.trim_end_matches('\n'))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(VolumePathError::Read {
                    path: record,
                    source,
                }
                .into())
            }
        };
        let default = self.root.join("volumes");
        let current = recorded.clone().unwrap_or(default);
        let Some(requested) = requested.filter(|r| *r != current) else {
            self.volumes = current;
            return Ok(());
        };
        if !requested.is_absolute() {
            return Err(VolumePathError::Relative(requested.to_path_buf()).into());
        }
        let count: i64 = self
            .db()
            .query_row("SELECT COUNT(*) FROM volumes", [], |r| r.get(0))
            .map_err(VolumePathError::Count)?;
        if recorded.is_some() || count > 0 {
            return Err(VolumePathError::Mismatch {
                recorded: current,
                requested: requested.to_path_buf(),
            }
            .into());
        }
        let create = |source| VolumePathError::Create {
            path: requested.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(requested).map_err(create)?;
        std::fs::set_permissions(requested, std::fs::Permissions::from_mode(0o700))
            .map_err(create)?;
        let text = format!("{}\n", requested.display());
        super::atomic::write_file(&record, text.as_bytes(), 0o600).map_err(|source| {
            VolumePathError::Write {
                path: record.clone(),
                source,
            }
        })?;
        self.volumes = requested.to_path_buf();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_path_named_is_recorded_and_another_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let vols = dir.path().join("vols");
        let mut store = Store::open(&root).unwrap();
        store.use_volume_path(None).unwrap();
        assert_eq!(store.volumes_dir(), root.join("volumes"));
        assert!(store.use_volume_path(Some(Path::new("rel"))).is_err());
        store.use_volume_path(Some(&vols)).unwrap();
        assert_eq!(store.volume_path("v"), vols.join("v/_data"));
        assert_eq!(store.volumes_outside_root(), Some(vols.clone()));
        let mut again = Store::open(&root).unwrap();
        again.use_volume_path(None).unwrap();
        assert_eq!(again.volumes_dir(), vols);
        let other = dir.path().join("other");
        let err = again.use_volume_path(Some(&other)).unwrap_err();
        assert!(err.to_string().contains("database configuration mismatch"));
        again.use_volume_path(Some(&vols)).unwrap();
    }
}
