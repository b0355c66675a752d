//! Reaching into a container through the engine: `exec`, `attach`, its
//! log, and its files (`cp`, `diff`, `commit`).
//!
//! Each operation opens the store (and reads the user's id maps) through
//! the `Engine`, so no front end holds either.

use std::path::PathBuf;

use super::attach::{self, Options, Outcome};
use super::exec::ExecOptions;
use super::logread::LogDriver;
use super::{Engine, Error};
pub use crate::files::PathStat;
use crate::files::{Change, CommitOptions, CopyOptions, Location};
use crate::storage::Digest;

pub use crate::runtime::security::parse_caps;

/// The hidden TCP forwarder of a slirp4netns container: enters the
/// namespaces of `pid`, forwards `HOSTADDR:HOSTPORT=CONTAINERPORT` each,
/// tells `report` its one status line and returns its exit code.
pub fn run_port_forwarder(pid: i32, forwards: &[String], report: &mut dyn FnMut(&str)) -> i32 {
    crate::net::run_forwarder(pid, forwards, report)
}

/// Where a container's log is, and in which format.
#[derive(Debug, Clone)]
pub struct LogSource {
    /// The container's full id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its log driver: only `k8s-file` logs can be read back.
    pub driver: LogDriver,
    /// The log file.
    pub path: PathBuf,
}

impl Engine {
    /// Runs a command in a running container and returns its exit code (0
    /// at once when detached).
    pub fn exec(&self, opts: &ExecOptions) -> Result<i32, Error> {
        self.exec_with(opts, Default::default())
    }

    /// `exec` with its output sent where `io` says (the REST API's exec
    /// sessions).
    pub fn exec_with(
        &self,
        opts: &ExecOptions,
        io: super::exec::ExecIo<'_, '_>,
    ) -> Result<i32, Error> {
        let store = self.store()?;
        super::events::on_running(store, &opts.container, super::events::Status::Exec);
        let code = super::exec::exec(store, opts, io)?;
        if !opts.detach {
            super::events::on_container_exit(
                store,
                &opts.container,
                super::events::Status::ExecDied,
                code,
            );
        }
        Ok(code)
    }

    /// Attaches to running container `name` through its monitor until it
    /// exits or the user detaches.
    pub fn attach(&self, name: &str, opts: &Options) -> Result<Outcome, attach::Error> {
        if let Ok(store) = self.store() {
            super::events::on_running(store, name, super::events::Status::Attach);
        }
        attach::attach(self.store()?, name, &self.paths().runroot, opts)
    }

    /// `attach` with other ends than our stdio (the REST API's hijacked
    /// stream).
    pub fn attach_with(
        &self,
        name: &str,
        opts: &Options,
        ends: &mut attach::Ends<'_>,
    ) -> Result<Outcome, attach::Error> {
        if let Ok(store) = self.store() {
            super::events::on_running(store, name, super::events::Status::Attach);
        }
        attach::attach_with(self.store()?, name, &self.paths().runroot, opts, ends)
    }

    /// The log of container `name` (name, id or id prefix), as its plan
    /// configures it.
    pub fn log_source(&self, name: &str) -> Result<LogSource, Error> {
        let store = self.store()?;
        let info = store
            .find_container(name)
            .map_err(Error::Store)?
            .ok_or_else(|| Error::NoSuchContainer(name.to_string()))?;
        let (driver, path) = super::logread::log_of(store, &info);
        Ok(LogSource {
            name: info.record.name,
            id: info.record.id,
            driver,
            path,
        })
    }

    /// The default log file of container `id`, where a started monitor
    /// writes its output.
    pub fn default_log_path(&self, id: &str) -> Result<PathBuf, Error> {
        Ok(self.store()?.container_log_path(id))
    }

    /// Copies between the host, a tar stream (`-`: read from `input`,
    /// written to `output`) and containers (`cp`). Must be called
    /// single-threaded.
    pub fn copy(
        &self,
        src: &Location,
        dst: &Location,
        opts: CopyOptions,
        input: &mut dyn std::io::Read,
        output: &mut dyn std::io::Write,
    ) -> Result<(), Error> {
        let maps = self.user_maps()?;
        super::files::copy(self.store()?, src, dst, opts, maps, input, output)
    }

    /// What `lstat` says of `path` in container `name`; `None` when it
    /// does not exist. Must be called single-threaded.
    pub fn stat_path(&self, name: &str, path: &str) -> Result<Option<PathStat>, Error> {
        let maps = self.user_maps()?;
        super::files::stat_path(self.store()?, name, path, maps)
    }

    /// What container `name` changed compared with its image, sorted by
    /// path. Must be called single-threaded.
    pub fn diff(&self, name: &str) -> Result<Vec<Change>, Error> {
        let maps = self.user_maps()?;
        super::files::diff(self.store()?, name, maps)
    }

    /// What image `first`'s files change against image `second`, or
    /// without it against its own layers below the top one (`image
    /// diff`), sorted by path. Must be called single-threaded.
    pub fn image_diff(&self, first: &str, second: Option<&str>) -> Result<Vec<Change>, Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        let layers = |name: &str| -> Result<Vec<std::path::PathBuf>, Error> {
            let img = self.find_image(name)?;
            Ok(img
                .layers
                .iter()
                .rev()
                .map(|l| store.layer_path(&l.diff_id))
                .collect())
        };
        let first = layers(first)?;
        let second = second.map(layers).transpose()?;
        Ok(crate::files::image_diff(&first, second.as_deref(), maps)?)
    }

    /// Commits container `name`'s changes as a new image and returns its
    /// id. Must be called single-threaded.
    pub fn commit(&self, name: &str, opts: &CommitOptions) -> Result<Digest, Error> {
        let maps = self.user_maps()?;
        let id = super::files::commit(self.store()?, name, opts, maps)?;
        super::events::on_container(self.store()?, name, super::events::Status::Commit);
        Ok(id)
    }
}
