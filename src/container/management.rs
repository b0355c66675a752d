//! The flags of `run` and `create` about managing a container rather
//! than running its process (#13): `--cidfile`, `--pidfile`,
//! `--conmon-pidfile`, `--stop-signal`, `--stop-timeout`, `--timeout` and
//! `--sig-proxy`, `--init-ctr`, checked before anything is pulled and
//! turned into the spec's `Management`; `--replace` and `--rmi`, done
//! around the run.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::create::{ManageRequest, Progress};
use super::{Engine, Error, Plan};
use crate::runtime::plan::{InitContainer, Management};

/// Checks `req` and plans what the spec keeps of it: a `--cidfile` that
/// exists is refused as Podman refuses it, unless `--replace` is given
/// (then it is removed first, as Podman 4.4 and later do, which Quadlet's
/// services rely on), and the pid files' paths are made absolute, since
/// the monitor writes them from elsewhere.
pub fn plan(req: &ManageRequest) -> Result<Management, Error> {
    if let Some(path) = &req.cidfile {
        if std::fs::symlink_metadata(path).is_ok() {
            if !req.replace {
                return Err(Error::CidfileExists(path.clone()));
            }
            std::fs::remove_file(path).map_err(|source| Error::WriteIdFile {
                path: path.clone(),
                source,
            })?;
        }
    }
    if let Some(sig) = &req.stop_signal {
        super::parse_signal(sig)?;
    }
    Ok(Management {
        pidfile: req.pidfile.as_deref().map(absolute).transpose()?,
        monitor_pidfile: req.monitor_pidfile.as_deref().map(absolute).transpose()?,
        stop_timeout: req.stop_timeout,
        timeout: req.timeout.filter(|&t| t > 0),
        is_unproxied: req.sig_proxy == Some(false),
        requires: Vec::new(),
        is_ready_sent: false,
        is_ready_when_healthy: false,
        is_notify_relayed: false,
        init_ctr: match req.init_ctr.as_deref() {
            None => None,
            Some("always") => Some(InitContainer::Always),
            Some("once") => Some(InitContainer::Once),
            Some(other) => return Err(Error::InitCtrValue(other.to_string())),
        },
        health: None,
    })
}

impl Engine {
    /// `--replace`: stops the container called `name`, if there is one,
    /// as `stop` does (its stop signal, SIGKILL after its stop timeout),
    /// and removes it.
    pub(super) fn replace(&self, name: &str) -> Result<(), Error> {
        let store = self.store()?;
        // Only a container with that name: not one whose id it prefixes.
        let found = store.find_container(name).map_err(Error::Store)?;
        let Some(info) = found.filter(|i| i.record.name == name) else {
            return Ok(());
        };
        let id = info.record.id;
        let exits = self.exits_dir();
        match super::stop_within(store, &id, None, &exits) {
            Ok(()) | Err(Error::NoSuchContainer(_)) => {}
            Err(e) => return Err(e),
        }
        match super::remove(store, &id, true, self.user_maps()?, &exits) {
            Ok(()) | Err(Error::NoSuchContainer(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `--requires`: the full ids of the containers `names` name, each of
    /// which must exist, as Podman checks them.
    pub(super) fn requirement_ids(&self, names: &[String]) -> Result<Vec<String>, Error> {
        let mut ids = Vec::new();
        for name in names {
            let id = self.container_id(name).map_err(|e| match e {
                Error::NoSuchContainer(_) => Error::RequirementMissing(name.clone()),
                e => e,
            })?;
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// Starts the containers `plan` requires (`--requires`) that are not
    /// running, theirs first, as Podman does before starting it.
    pub(super) fn start_requirements(&self, plan: &Plan) -> Result<(), Error> {
        let mut seen = vec![plan.id.clone()];
        self.start_required(&plan.manage.requires, &mut seen)
    }

    /// Starts `ids` and, before each, what it requires; `seen` breaks
    /// cycles.
    fn start_required(&self, ids: &[String], seen: &mut Vec<String>) -> Result<(), Error> {
        for id in ids {
            if seen.contains(id) {
                continue;
            }
            seen.push(id.clone());
            let info = self
                .container(id)
                .map_err(|_| Error::RequirementMissing(id.clone()))?;
            if let Ok(p) = super::load_spec(&info) {
                self.start_required(&p.manage.requires, seen)?;
            }
            if !self.is_running(id)? {
                self.start_alone(id)?;
            }
        }
        Ok(())
    }

    /// The full ids of the containers that require container `id`
    /// (`--requires`), as their specs say.
    pub fn dependents(&self, id: &str) -> Result<Vec<String>, Error> {
        // Only the specs that require some container: an indexed read.
        let list = self
            .store()?
            .list_requiring_containers()
            .map_err(Error::Store)?;
        Ok(list
            .into_iter()
            .filter(|info| {
                super::load_spec(info).is_ok_and(|p| p.manage.requires.iter().any(|r| r == id))
            })
            .map(|info| info.record.id)
            .collect())
    }

    /// The full id of container `name` after those of every container
    /// that requires it, theirs before them: the order `rm --depend`
    /// removes them in, as Podman does.
    pub fn with_dependents(&self, name: &str) -> Result<Vec<String>, Error> {
        let id = self.container_id(name)?;
        let mut out = Vec::new();
        self.collect_dependents(&id, &mut out)?;
        Ok(out)
    }

    fn collect_dependents(&self, id: &str, out: &mut Vec<String>) -> Result<(), Error> {
        if out.iter().any(|o| o == id) {
            return Ok(());
        }
        for d in self.dependents(id)? {
            self.collect_dependents(&d, out)?;
        }
        out.push(id.to_string());
        Ok(())
    }

    /// `--rmi`: removes `image` after a foreground run, as Podman 4.3
    /// does (by the name given; only its name goes while it has others),
    /// unless a container still uses it; a failure is reported, not
    /// returned, since the container's exit code is what `run` returns.
    pub(super) fn remove_image_after(&self, image: &str, progress: &dyn Progress) {
        let results = match self.remove_images(&[image.to_string()], false) {
            Ok(r) => r,
            Err(e) => vec![Err(e)],
        };
        for e in results.into_iter().filter_map(Result::err) {
            progress.cleanup_failed(&e);
        }
    }
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

    #[test]
    fn replace_removes_an_existing_cidfile() {
        // issue #16: Quadlet's services restart with the cidfile left behind.
        let dir = tempfile::tempdir().unwrap();
        let cid = dir.path().join("cid");
        std::fs::write(&cid, "old").unwrap();
        let req = ManageRequest {
            cidfile: Some(cid.clone()),
            replace: true,
            ..ManageRequest::default()
        };
        plan(&req).unwrap();
        assert!(!cid.exists());
        write_cidfile(&cid, "new").unwrap();
    }
}
