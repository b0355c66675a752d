//! `system check`: the store's own check (`storage::Store::check`) plus
//! what only the engine can read (container specs), and the repairs, each
//! done through the same function its command uses.

use std::time::Duration;

use super::{Engine, Error, PROC};
use crate::storage::{CheckOptions, Fix, Problem};

/// What `system check` was asked.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// Skip the slow checks (blob hashes, the database's full check).
    pub quick: bool,
    /// Repair what is safe to repair.
    pub repair: bool,
    /// With `repair`: also remove containers of damaged or missing images.
    pub force: bool,
    /// Debris younger than this is left out (0: all of it).
    pub max_age: Duration,
}

impl Default for CheckRequest {
    fn default() -> Self {
        CheckRequest {
            quick: false,
            repair: false,
            force: false,
            max_age: Duration::ZERO,
        }
    }
}

/// One problem found, and what became of it.
#[derive(Debug)]
pub struct Finding {
    /// `database`, `image`, `layer`, `container` or `volume`.
    pub area: &'static str,
    /// What it is about.
    pub object: String,
    /// What is wrong.
    pub detail: String,
    /// `None` without `--repair`; else whether the repair worked, or why
    /// it was not tried.
    pub repair: Option<Result<(), String>>,
}

/// What `system check` found.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// How many problems remain (found and not repaired).
    pub fn remaining(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| !matches!(f.repair, Some(Ok(()))))
            .count()
    }
}

impl Engine {
    /// Checks the store; with `req.repair`, repairs what it safely can.
    /// Must be called single-threaded (removals may enter the user
    /// namespace).
    pub fn check_system(&self, req: &CheckRequest) -> Result<CheckReport, Error> {
        let store = self.store()?;
        let opts = CheckOptions { quick: req.quick };
        let mut problems = store.check(&opts).map_err(Error::Store)?;
        if problems.iter().all(|p| p.area != "database") {
            problems.extend(self.spec_problems()?);
            problems.extend(self.debris_problems(req.max_age)?);
        }
        let mut report = CheckReport::default();
        let mut swept = Vec::new();
        for p in problems {
            let repair = req.repair.then(|| self.repair(&p, req, &mut swept));
            report.findings.push(Finding {
                area: p.area,
                object: p.object,
                detail: p.detail,
                repair,
            });
        }
        Ok(report)
    }

    /// Containers whose recorded spec cannot be read.
    fn spec_problems(&self) -> Result<Vec<Problem>, Error> {
        let store = self.store()?;
        let mut out = Vec::new();
        for info in store.list_containers().map_err(Error::Store)? {
            if info.spec.is_none() {
                // Being created: the spec comes at the end.
                continue;
            }
            if let Err(e) = super::load_spec(&info) {
                let id = info.record.id.clone();
                out.push(Problem {
                    area: "container",
                    object: format!("{} ({})", &id[..id.len().min(12)], info.record.name),
                    detail: format!("its start spec is damaged ({e})"),
                    fix: Fix::RemoveContainer { id },
                });
            }
        }
        Ok(out)
    }

    /// What interrupted commands left (none while a write session is
    /// alive: what it holds is not debris yet), older than `max_age`.
    fn debris_problems(&self, max_age: Duration) -> Result<Vec<Problem>, Error> {
        let store = self.store()?;
        let maps = self.user_maps()?;
        let found = store.list_debris(maps).map_err(Error::Store)?;
        let root = &self.paths().root;
        let is_old = |p: &std::path::Path| {
            std::fs::symlink_metadata(p)
                .and_then(|m| m.modified())
                .map_or(true, |t| t.elapsed().unwrap_or_default() >= max_age)
        };
        let mut problems: Vec<Problem> = found
            .unwrap_or_default()
            .into_iter()
            .filter(|d| is_old(&d.path))
            .map(|d| Problem {
                area: "debris",
                object: d
                    .path
                    .strip_prefix(root)
                    .unwrap_or(&d.path)
                    .display()
                    .to_string(),
                detail: format!(
                    "{} left by an interrupted command ({} bytes)",
                    d.kind.name(),
                    d.size
                ),
                fix: Fix::SweepDebris,
            })
            .collect();
        // Exit codes whose writer was killed mid-write, in the run directory.
        let exits = self.exits_dir();
        if let Ok(entries) = std::fs::read_dir(&exits) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if crate::storage::atomic::is_stale_temp(&name, std::path::Path::new(PROC)) {
                    problems.push(Problem {
                        area: "debris",
                        object: e.path().display().to_string(),
                        detail: "temporary file of an exit code left by an interrupted command"
                            .into(),
                        fix: Fix::SweepDebris,
                    });
                }
            }
        }
        Ok(problems)
    }

    /// Repairs `p`; `swept` remembers the sweeps already done.
    fn repair(
        &self,
        p: &Problem,
        req: &CheckRequest,
        swept: &mut Vec<&'static str>,
    ) -> Result<(), String> {
        let store = self.store().map_err(|e| e.to_string())?;
        let maps = self.user_maps().map_err(|e| e.to_string())?;
        let store_err = |e: crate::storage::Error| e.to_string();
        let mut once = |what: &'static str| {
            let first = !swept.contains(&what);
            swept.push(what);
            first
        };
        match &p.fix {
            Fix::None => Err("hutch cannot repair this; `hutch system reset` starts over".into()),
            Fix::RemoveImage { id, users } => {
                if !users.is_empty() && !req.force {
                    return Err(format!(
                        "container {} uses it; --force removes the container too",
                        &users[0][..users[0].len().min(12)]
                    ));
                }
                for c in users {
                    self.remove_for_repair(c)?;
                }
                store
                    .remove_image(id.hex(), true, maps)
                    .map(|_| ())
                    .map_err(store_err)
            }
            Fix::RemoveContainer { id } => {
                if !req.force {
                    return Err("--force removes the container".into());
                }
                self.remove_for_repair(id)
            }
            Fix::ForgetContainer { id } => store.forget_container(id).map_err(store_err),
            Fix::SweepContainerDirs => {
                if once("containers") {
                    store
                        .remove_orphan_container_dirs(maps)
                        .map(|_| ())
                        .map_err(store_err)?;
                }
                Ok(())
            }
            Fix::SweepDebris => {
                if once("debris") {
                    super::wait::prune_exit_codes(&self.exits_dir(), std::time::SystemTime::now());
                    match store.sweep_debris(maps, false).map_err(store_err)? {
                        Some(_) => {}
                        None => return Err("a pull or commit is under way; try again".into()),
                    }
                }
                Ok(())
            }
            Fix::RemakeVolumeDir { name } => store.remake_volume_dir(name).map_err(store_err),
            Fix::SweepVolumeDirs => {
                if once("volumes") {
                    store.sweep_volume_dirs(maps).map_err(store_err)?;
                }
                Ok(())
            }
        }
    }

    /// Removes container `id` as `rm -f` does (stopping it first).
    fn remove_for_repair(&self, id: &str) -> Result<(), String> {
        let store = self.store().map_err(|e| e.to_string())?;
        let maps = self.user_maps().map_err(|e| e.to_string())?;
        let proc = std::path::Path::new(PROC);
        match super::lifecycle::remove(store, id, true, maps, &self.exits_dir(), proc) {
            Ok(()) | Err(Error::NoSuchContainer(_)) => Ok(()),
            Err(e) => Err(e.to_string()),
        }
    }
}
