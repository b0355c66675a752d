//! Which containers a command acts on, as Podman reads it: the names
//! given, `--latest` (the container created last), `--all`, `--filter`
//! and `--cidfile`.

use std::path::PathBuf;

use clap::Args;

use crate::container::{self, Engine};
use crate::error::Error;

/// `-l/--latest`, flattened into every command that takes containers.
#[derive(Debug, Default, Args)]
pub struct Latest {
    /// Act on the container created last instead of naming one
    #[arg(short = 'l', long)]
    pub latest: bool,
}

/// Which containers `--all` means for a command.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Which {
    Every,
    Running,
    NotRunning,
}

/// What a command was told about its containers.
#[derive(Debug, Default)]
pub struct Pick<'a> {
    /// Names or ids given as arguments.
    pub names: Vec<String>,
    /// `--cidfile` files to read ids from.
    pub cidfiles: &'a [PathBuf],
    /// `--all`, as the command means it.
    pub all: Option<Which>,
    /// `--latest`.
    pub latest: bool,
    /// `--filter` values (ps's keys).
    pub filters: &'a [String],
    /// `--ignore`: a missing cidfile is left out.
    pub ignore: bool,
}

impl Pick<'_> {
    /// The containers: with `--all` or `--filter`, those they mean (by
    /// full id, as Podman prints them); with `--latest`, the last created;
    /// else the names given and the ids in the cidfiles.
    pub fn resolve(self, engine: &Engine) -> Result<Vec<String>, Error> {
        let usage = |m: &str| Err(Error::Usage(m.to_string()));
        if self.latest && !self.names.is_empty() {
            return usage("--latest and containers cannot be used together");
        }
        if self.latest && self.all.is_some() {
            return usage("--all and --latest cannot be used together");
        }
        if !self.filters.is_empty() && !self.names.is_empty() {
            return usage("--filter takes no arguments");
        }
        if self.latest {
            return Ok(vec![engine.latest_container()?]);
        }
        if self.all.is_some() || !self.filters.is_empty() {
            return list(engine, self.all.unwrap_or(Which::Every), self.filters);
        }
        let mut names = self.names;
        for file in self.cidfiles {
            match std::fs::read_to_string(file) {
                Ok(id) => names.push(id.trim().to_string()),
                Err(e) if self.ignore && e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Usage(format!(
                        "reading the container id from {}: {e}",
                        file.display()
                    )))
                }
            }
        }
        Ok(names)
    }
}

/// The full ids of the containers `which` and `filters` select.
fn list(engine: &Engine, which: Which, filters: &[String]) -> Result<Vec<String>, Error> {
    let req = container::query::ListRequest {
        is_all: true,
        filters: super::ps::parse_filters(filters)?,
        ..Default::default()
    };
    let running = |l: &container::query::Listed| {
        l.info.state.status == container::query::ContainerStatus::Running
    };
    Ok(engine
        .list_containers(&req)?
        .into_iter()
        .filter(|l| match which {
            Which::Every => true,
            Which::Running => running(l),
            Which::NotRunning => !running(l),
        })
        .map(|l| l.info.record.id)
        .collect())
}

/// The one container of a single-container command: the one named, or
/// with `--latest` the last created. `rest` holds the positional
/// arguments after CONTAINER for commands that have them (`top -l pid`,
/// `port -l 80`, `exec -l ls`): with `--latest` the first positional is
/// the first of them.
pub fn one(
    engine: &Engine,
    given: Option<String>,
    latest: bool,
    rest: Option<&mut Vec<String>>,
) -> Result<String, Error> {
    match (given, latest, rest) {
        (Some(name), false, _) => Ok(name),
        (Some(first), true, Some(rest)) => {
            rest.insert(0, first);
            Ok(engine.latest_container()?)
        }
        (Some(_), true, None) => Err(Error::Usage(
            "--latest and containers cannot be used together".into(),
        )),
        (None, true, _) => Ok(engine.latest_container()?),
        (None, false, _) => Err(Error::Usage(
            "a container is needed: name one, or use --latest".into(),
        )),
    }
}
