//! The flags of `run` and `create` about managing a container rather
//! than running its process (#13): `--cidfile`, `--pidfile` and
//! `--conmon-pidfile`, checked before anything is pulled and turned into
//! the spec's `Management`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::create::ManageRequest;
use super::Error;
use crate::runtime::plan::Management;

/// Checks `req` and plans what the spec keeps of it: a `--cidfile` that
/// exists is refused as Podman refuses it, and the pid files' paths are
/// made absolute, since the monitor writes them from elsewhere.
pub fn plan(req: &ManageRequest) -> Result<Management, Error> {
    if let Some(path) = &req.cidfile {
        if std::fs::symlink_metadata(path).is_ok() {
            return Err(Error::CidfileExists(path.clone()));
        }
    }
    Ok(Management {
        pidfile: req.pidfile.as_deref().map(absolute).transpose()?,
        monitor_pidfile: req.monitor_pidfile.as_deref().map(absolute).transpose()?,
    })
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    std::path::absolute(path).map_err(|source| Error::WriteIdFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes the new container's `id` to `path`, which must not exist (one
/// made since the check is not overwritten).
pub fn write_cidfile(path: &Path, id: &str) -> Result<(), Error> {
    let fail = |source| Error::WriteIdFile {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => Error::CidfileExists(path.to_path_buf()),
            _ => fail(e),
        })?;
    file.write_all(id.as_bytes()).map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_cidfile_is_refused_and_a_new_one_holds_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let cid = dir.path().join("cid");
        let req = ManageRequest {
            cidfile: Some(cid.clone()),
            pidfile: Some("rel/pid".into()),
            ..ManageRequest::default()
        };
        let m = plan(&req).unwrap();
        assert!(m.pidfile.as_ref().unwrap().is_absolute());
        assert!(m.pidfile.unwrap().ends_with("rel/pid"));
        write_cidfile(&cid, "abc").unwrap();
        assert_eq!(std::fs::read_to_string(&cid).unwrap(), "abc");
        assert!(matches!(plan(&req), Err(Error::CidfileExists(_))));
        assert!(matches!(
            write_cidfile(&cid, "def"),
            Err(Error::CidfileExists(_))
        ));
        assert!(matches!(
            write_cidfile(&dir.path().join("no/such"), "x"),
            Err(Error::WriteIdFile { .. })
        ));
    }
}
