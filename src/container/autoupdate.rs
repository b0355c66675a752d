//! `auto-update` (issue #16): running containers labelled
//! `io.containers.autoupdate=registry|local` whose image has a newer
//! version get it through a restart of the systemd unit that runs them,
//! and their old image back when that restart fails.
//!
//! The unit is the `PODMAN_SYSTEMD_UNIT` label the CLI records at create
//! from the variable the units of `generate systemd --new` and Quadlet
//! set; such units make a new container from the image's name at each
//! start, so moving the name to another image is all an update needs.
//! Each container goes through `drive`'s steps (check, update, restart,
//! roll back), which take their side effects from a `Steps`, so that the
//! sequence is tested without a registry or systemd. Nothing here prints;
//! one container's failure does not stop the others.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::Engine;
use crate::image::{self, Platform, PullOptions};
use crate::storage::{ContainerStatus, Digest};

/// The label that holds a container's policy.
pub const POLICY_LABEL: &str = "io.containers.autoupdate";
/// The label that names the credentials file for its image.
pub const AUTHFILE_LABEL: &str = "io.containers.autoupdate.authfile";
/// How long a unit's restart job may take before it counts as failed;
/// systemd ends a start after its own TimeoutStartSec= well before this.
const RESTART_LIMIT: Duration = Duration::from_secs(600);
/// How long a restarted unit must stay active after its job: a container
/// whose command fails at once ends its unit a moment after it started.
const SETTLE: Duration = Duration::from_secs(1);

/// What went wrong auto-updating one container.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("auto-updating container {id}: invalid auto-update policy {value:?}: valid policies are \"disabled\", \"registry\", \"image\" and \"local\"")]
    Policy { id: String, value: String },
    #[error(
        "auto-updating container {id}: no {} label found",
        crate::paths::ENV_SYSTEMD_UNIT
    )]
    NoUnit { id: String },
    #[error("invalid auto-update configuration for unit {unit}: {count} containers to auto-update (only 1 supported)")]
    SeveralInUnit { unit: String, count: usize },
    #[error("checking image updates for container {id}")]
    Check {
        id: String,
        #[source]
        source: Box<super::Error>,
    },
    #[error("updating image for container {id}")]
    Update {
        id: String,
        #[source]
        source: Box<super::Error>,
    },
    #[error("restarting unit {unit} for container {id}")]
    Restart {
        unit: String,
        id: String,
        #[source]
        source: Box<Error>,
    },
    #[error("rolling back image for container {id}")]
    RollBack {
        id: String,
        #[source]
        source: Box<super::Error>,
    },
    #[error("restarting unit {unit} for container {id} during rollback")]
    RestartRollback {
        unit: String,
        id: String,
        #[source]
        source: Box<Error>,
    },
    #[error("no systemd user manager to restart units: no DBUS_SESSION_BUS_ADDRESS and no bus in XDG_RUNTIME_DIR")]
    NoBus,
    #[error("its job ended {job_result:?} and the unit is {active_state:?}")]
    UnitFailed {
        job_result: String,
        active_state: String,
    },
    #[error(transparent)]
    Systemd(crate::cgroup::Error),
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Policy { .. } => Some(format!(
                "set the {POLICY_LABEL} label to registry or local when creating the container"
            )),
            Error::NoUnit { .. } => Some(
                "run the container from a unit of `hutch generate systemd --new` or a Quadlet file"
                    .into(),
            ),
            Error::Check { source, .. }
            | Error::Update { source, .. }
            | Error::RollBack { source, .. } => source.hint(),
            Error::Restart { source, unit, .. } | Error::RestartRollback { source, unit, .. } => {
                source.hint().or_else(|| {
                    Some(format!(
                        "`systemctl --user status {unit}` and `journalctl --user -u {unit}` say why"
                    ))
                })
            }
            Error::NoBus => Some(
                "run it in a login session with a systemd user manager, or check with --dry-run"
                    .into(),
            ),
            Error::Systemd(e) => e.hint(),
            _ => None,
        }
    }
}

/// An auto-update policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The registry has another manifest under the image's name.
    Registry,
    /// The image's name names another local image.
    Local,
}

impl Policy {
    /// The policy as Podman reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::Registry => "registry",
            Policy::Local => "local",
        }
    }
}

/// The label's value as a policy: `None` for none (`disabled` or empty).
fn parse_policy(id: &str, value: &str) -> Result<Option<Policy>, Error> {
    match value {
        "" | "disabled" => Ok(None),
        // `image` is the old name of `registry`.
        "registry" | "image" => Ok(Some(Policy::Registry)),
        "local" => Ok(Some(Policy::Local)),
        _ => Err(Error::Policy {
            id: id.to_string(),
            value: value.to_string(),
        }),
    }
}

/// What became of a container, as Podman's UPDATED column says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updated {
    /// Updated and restarted.
    True,
    /// Its image is current.
    False,
    /// `--dry-run`: a newer image is there.
    Pending,
    /// The new image failed to start; the old one runs again.
    RolledBack,
    /// A step failed; the error says which.
    Failed,
}

impl Updated {
    /// The column's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Updated::True => "true",
            Updated::False => "false",
            Updated::Pending => "pending",
            Updated::RolledBack => "rolled back",
            Updated::Failed => "failed",
        }
    }
}

/// What `auto-update` is asked to do.
#[derive(Debug, Clone, Default)]
pub struct AutoUpdateRequest {
    /// `--authfile`: credentials, unless a container's label names others.
    pub authfile: Option<PathBuf>,
    /// `--dry-run`: check only.
    pub is_dry_run: bool,
    /// `--rollback`: restore the old image when the restart fails.
    pub is_rollback: bool,
}

/// One container's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReport {
    /// The systemd unit running it.
    pub unit: String,
    /// Its full id.
    pub container_id: String,
    /// Its name.
    pub container_name: String,
    /// The image name it was created from.
    pub image: String,
    /// Its policy.
    pub policy: Policy,
    /// What became of it.
    pub updated: Updated,
}

/// The rows, by unit, and the errors met on the way.
#[derive(Debug, Default)]
pub struct AutoUpdated {
    /// One per container that was looked at.
    pub reports: Vec<UpdateReport>,
    /// What failed, in order.
    pub errors: Vec<Error>,
}

/// A container to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Task {
    unit: String,
    id: String,
    name: String,
    policy: Policy,
    /// The name it was created from (`RawImageName`).
    image: String,
    /// The image it runs.
    image_id: Digest,
    /// `--authfile`, or its label's.
    authfile: Option<PathBuf>,
}

/// The task for a container, if it takes part: it runs, and its policy
/// label names a policy. The unit must be known.
fn task_of(
    id: &str,
    name: &str,
    labels: &BTreeMap<String, String>,
    image: &str,
    image_id: &Digest,
    authfile: Option<&PathBuf>,
) -> Result<Option<Task>, Error> {
    let Some(value) = labels.get(POLICY_LABEL) else {
        return Ok(None);
    };
    let Some(policy) = parse_policy(id, value)? else {
        return Ok(None);
    };
    let unit = labels
        .get(crate::paths::ENV_SYSTEMD_UNIT)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Error::NoUnit { id: id.to_string() })?;
    Ok(Some(Task {
        unit: unit.clone(),
        id: id.to_string(),
        name: name.to_string(),
        policy,
        image: image.to_string(),
        image_id: image_id.clone(),
        authfile: labels
            .get(AUTHFILE_LABEL)
            .map(PathBuf::from)
            .or_else(|| authfile.cloned()),
    }))
}

/// Groups tasks by unit; a unit with several is refused, as Podman
/// refuses it (it cannot tell which container failed the restart).
fn by_unit(tasks: Vec<Task>) -> (Vec<Task>, Vec<Error>) {
    let mut units: BTreeMap<String, Vec<Task>> = BTreeMap::new();
    for t in tasks {
        units.entry(t.unit.clone()).or_default().push(t);
    }
    let mut single = Vec::new();
    let mut errors = Vec::new();
    for (unit, mut tasks) in units {
        match tasks.len() {
            1 => single.append(&mut tasks),
            count => errors.push(Error::SeveralInUnit { unit, count }),
        }
    }
    (single, errors)
}

/// The side effects of one container's update.
trait Steps {
    /// When the image's name now stands for another image: that name,
    /// fully qualified, for the rollback.
    fn newer(&mut self, t: &Task) -> Result<Option<String>, super::Error>;
    /// Makes the name stand for the new image (a pull, for `registry`).
    fn update(&mut self, t: &Task) -> Result<(), super::Error>;
    /// Restarts the unit and waits for it.
    fn restart(&mut self, unit: &str) -> Result<(), Error>;
    /// Gives `name` back to the container's image.
    fn roll_back(&mut self, t: &Task, name: &str) -> Result<(), super::Error>;
}

/// Takes a container through check, update, restart and, when the
/// restart fails and `is_rollback`, rollback: what became of it, and why
/// when that is a failure.
fn drive(
    t: &Task,
    steps: &mut dyn Steps,
    is_dry_run: bool,
    is_rollback: bool,
) -> (Updated, Option<Error>) {
    let id = || t.id.clone();
    let name = match steps.newer(t) {
        Ok(Some(name)) => name,
        Ok(None) => return (Updated::False, None),
        Err(e) => {
            let source = Box::new(e);
            return (Updated::Failed, Some(Error::Check { id: id(), source }));
        }
    };
    if is_dry_run {
        return (Updated::Pending, None);
    }
    if let Err(e) = steps.update(t) {
        let source = Box::new(e);
        return (Updated::Failed, Some(Error::Update { id: id(), source }));
    }
    let restarted = match steps.restart(&t.unit) {
        Ok(()) => return (Updated::True, None),
        Err(e) => Error::Restart {
            unit: t.unit.clone(),
            id: id(),
            source: Box::new(e),
        },
    };
    if !is_rollback {
        return (Updated::Failed, Some(restarted));
    }
    if let Err(e) = steps.roll_back(t, &name) {
        let source = Box::new(e);
        return (Updated::Failed, Some(Error::RollBack { id: id(), source }));
    }
    match steps.restart(&t.unit) {
        // Podman reports the rollback without the failed restart's error.
        Ok(()) => (Updated::RolledBack, None),
        Err(e) => (
            Updated::Failed,
            Some(Error::RestartRollback {
                unit: t.unit.clone(),
                id: id(),
                source: Box::new(e),
            }),
        ),
    }
}

/// Whether a restart worked: its job is `done` and the unit `active`.
fn check_restart(r: &crate::cgroup::Restarted) -> Result<(), Error> {
    if r.job_result == "done" && r.active_state == "active" {
        return Ok(());
    }
    Err(Error::UnitFailed {
        job_result: r.job_result.clone(),
        active_state: r.active_state.clone(),
    })
}

/// The steps against the store, the registry and the user's manager.
struct Live<'a> {
    engine: &'a Engine,
}

impl Live<'_> {
    /// How to reach the image's registry: as it was pulled for.
    fn pull_options(&self, t: &Task) -> Result<PullOptions, super::Error> {
        let rec = self.engine.find_image(&t.image_id.to_string())?;
        Ok(PullOptions {
            platform: Platform::host().with_parts(
                Some(&rec.os),
                Some(&rec.architecture),
                rec.variant.as_deref(),
            ),
            quiet: true,
            tls_verify: None,
            authfile: t.authfile.clone(),
            cert_dir: None,
            credentials: None,
        })
    }
}

impl Steps for Live<'_> {
    fn newer(&mut self, t: &Task) -> Result<Option<String>, super::Error> {
        match t.policy {
            Policy::Registry => {
                let r = image::qualified(&t.image)?;
                let opts = self.pull_options(t)?;
                let have = self.engine.find_image(&t.image_id.to_string())?;
                let remote = image::remote_digest(self.engine.paths(), &r, &opts)?;
                Ok((remote != have.manifest_digest).then(|| r.tagged_name().unwrap_or_default()))
            }
            Policy::Local => {
                let store = self.engine.store()?;
                let found = image::lookup_local(self.engine.paths(), store, &t.image)?.ok_or_else(
                    || {
                        super::Error::Store(crate::storage::Error::ImageNotKnown {
                            name: t.image.clone(),
                        })
                    },
                )?;
                Ok((found.image.id != t.image_id).then(|| found.name.unwrap_or(t.image.clone())))
            }
        }
    }

    fn update(&mut self, t: &Task) -> Result<(), super::Error> {
        match t.policy {
            Policy::Registry => {
                let r = image::qualified(&t.image)?;
                let name = r.tagged_name().unwrap_or_else(|| r.to_string());
                let opts = self.pull_options(t)?;
                self.engine.pull(&name, &opts, &Quiet).map(|_| ())
            }
            // The name stands for the new image already.
            Policy::Local => Ok(()),
        }
    }

    fn restart(&mut self, unit: &str) -> Result<(), Error> {
        let bus = crate::paths::session_bus().ok_or(Error::NoBus)?;
        let r = crate::cgroup::restart_unit(&bus, unit, RESTART_LIMIT, SETTLE)
            .map_err(Error::Systemd)?;
        check_restart(&r)
    }

    fn roll_back(&mut self, t: &Task, name: &str) -> Result<(), super::Error> {
        self.engine
            .tag_image(&t.image_id.to_string(), &[name.to_string()])
    }
}

/// Pulls without progress lines, as Podman's auto-update pulls.
struct Quiet;

impl image::Reporter for Quiet {
    fn notice(&self, _line: &str) {}
}

impl Engine {
    /// Auto-updates the running containers that have a policy, each in
    /// its own unit, in the units' order.
    pub fn auto_update(&self, req: &AutoUpdateRequest) -> Result<AutoUpdated, super::Error> {
        let store = self.store()?;
        let mut out = AutoUpdated::default();
        let mut tasks = Vec::new();
        for info in store.list_containers().map_err(super::Error::Store)? {
            let Some(info) = self.observe(info)? else {
                continue;
            };
            if info.state.status != ContainerStatus::Running {
                continue;
            }
            let labels = super::query::labels_of(&info);
            let r = &info.record;
            match task_of(
                &r.id,
                &r.name,
                &labels,
                &r.image_name,
                &r.image_id,
                req.authfile.as_ref(),
            ) {
                Ok(Some(t)) => tasks.push(t),
                Ok(None) => {}
                Err(e) => out.errors.push(e),
            }
        }
        let (tasks, refused) = by_unit(tasks);
        out.errors.extend(refused);
        let mut steps = Live { engine: self };
        for t in tasks {
            let (updated, error) = drive(&t, &mut steps, req.is_dry_run, req.is_rollback);
            out.errors.extend(error);
            out.reports.push(UpdateReport {
                unit: t.unit,
                container_id: t.id,
                container_name: t.name,
                image: t.image,
                policy: t.policy,
                updated,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(n: u8) -> Digest {
        Digest::of(&[n])
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn task(unit: &str) -> Task {
        Task {
            unit: unit.into(),
            id: format!("id-{unit}"),
            name: "web".into(),
            policy: Policy::Registry,
            image: "reg.example/app:latest".into(),
            image_id: digest(1),
            authfile: None,
        }
    }

    #[test]
    fn policies_come_from_the_label_and_need_a_unit() {
        let d = digest(1);
        let of = |l: &[(&str, &str)]| task_of("c1", "web", &labels(l), "reg/app", &d, None);
        assert_eq!(of(&[]).expect("no label"), None);
        assert_eq!(of(&[(POLICY_LABEL, "disabled")]).expect("disabled"), None);
        assert_eq!(of(&[(POLICY_LABEL, "")]).expect("empty"), None);
        assert!(matches!(of(&[(POLICY_LABEL, "local")]), Err(Error::NoUnit { id }) if id == "c1"));
        assert!(matches!(
            of(&[(POLICY_LABEL, "nightly"), ("PODMAN_SYSTEMD_UNIT", "a.service")]),
            Err(Error::Policy { value, .. }) if value == "nightly"
        ));
        let t = of(&[
            (POLICY_LABEL, "image"),
            ("PODMAN_SYSTEMD_UNIT", "a.service"),
        ])
        .expect("image")
        .expect("a task");
        assert_eq!((t.policy, t.unit.as_str()), (Policy::Registry, "a.service"));
        let t = of(&[
            (POLICY_LABEL, "local"),
            ("PODMAN_SYSTEMD_UNIT", "b.service"),
        ])
        .expect("local")
        .expect("a task");
        assert_eq!(t.policy.as_str(), "local");
    }

    #[test]
    fn the_authfile_label_wins_over_the_flag() {
        let d = digest(1);
        let flag = PathBuf::from("/flag.json");
        let base = [
            (POLICY_LABEL, "registry"),
            ("PODMAN_SYSTEMD_UNIT", "a.service"),
        ];
        let t = task_of("c", "n", &labels(&base), "r/a", &d, Some(&flag)).expect("ok");
        assert_eq!(t.expect("task").authfile, Some(flag.clone()));
        let mut with = base.to_vec();
        with.push((AUTHFILE_LABEL, "/label.json"));
        let t = task_of("c", "n", &labels(&with), "r/a", &d, Some(&flag)).expect("ok");
        assert_eq!(
            t.expect("task").authfile,
            Some(PathBuf::from("/label.json"))
        );
    }

    #[test]
    fn a_unit_with_two_containers_is_refused_and_the_rest_sorted() {
        let (single, errors) = by_unit(vec![task("b"), task("x"), task("a"), task("x")]);
        let units: Vec<&str> = single.iter().map(|t| t.unit.as_str()).collect();
        assert_eq!(units, ["a", "b"]);
        assert!(matches!(&errors[..], [Error::SeveralInUnit { unit, count: 2 }] if unit == "x"));
    }

    /// Scripted steps: whether an update is there, and how each restart
    /// goes in turn; records what was called.
    struct Script {
        newer: Option<Result<bool, ()>>,
        is_update_ok: bool,
        restarts: Vec<bool>,
        is_roll_back_ok: bool,
        calls: Vec<String>,
    }

    fn script(newer: Result<bool, ()>, restarts: &[bool]) -> Script {
        Script {
            newer: Some(newer),
            is_update_ok: true,
            restarts: restarts.to_vec(),
            is_roll_back_ok: true,
            calls: Vec::new(),
        }
    }

    impl Steps for Script {
        fn newer(&mut self, _: &Task) -> Result<Option<String>, super::super::Error> {
            self.calls.push("check".into());
            match self.newer.take().expect("checked once") {
                Ok(true) => Ok(Some("reg.example/app:latest".into())),
                Ok(false) => Ok(None),
                Err(()) => Err(super::super::Error::NoLatest),
            }
        }
        fn update(&mut self, _: &Task) -> Result<(), super::super::Error> {
            self.calls.push("update".into());
            match self.is_update_ok {
                true => Ok(()),
                false => Err(super::super::Error::NoLatest),
            }
        }
        fn restart(&mut self, unit: &str) -> Result<(), Error> {
            self.calls.push(format!("restart {unit}"));
            match self.restarts.remove(0) {
                true => Ok(()),
                false => Err(Error::UnitFailed {
                    job_result: "failed".into(),
                    active_state: "failed".into(),
                }),
            }
        }
        fn roll_back(&mut self, _: &Task, name: &str) -> Result<(), super::super::Error> {
            self.calls.push(format!("roll back {name}"));
            match self.is_roll_back_ok {
                true => Ok(()),
                false => Err(super::super::Error::NoLatest),
            }
        }
    }

    fn run(s: &mut Script, is_dry_run: bool, is_rollback: bool) -> (Updated, Option<String>) {
        let (u, e) = drive(&task("a.service"), s, is_dry_run, is_rollback);
        (u, e.map(|e| e.to_string()))
    }

    #[test]
    fn current_images_and_dry_runs_touch_nothing() {
        let mut s = script(Ok(false), &[]);
        assert_eq!(run(&mut s, false, true), (Updated::False, None));
        assert_eq!(s.calls, ["check"]);
        let mut s = script(Ok(true), &[]);
        assert_eq!(run(&mut s, true, true), (Updated::Pending, None));
        assert_eq!(s.calls, ["check"]);
        let mut s = script(Err(()), &[]);
        let (u, e) = run(&mut s, true, true);
        assert_eq!(u, Updated::Failed);
        assert_eq!(
            e.as_deref(),
            Some("checking image updates for container id-a.service")
        );
    }

    #[test]
    fn an_update_restarts_the_unit_once() {
        let mut s = script(Ok(true), &[true]);
        assert_eq!(run(&mut s, false, true), (Updated::True, None));
        assert_eq!(s.calls, ["check", "update", "restart a.service"]);
        let mut s = script(Ok(true), &[]);
        s.is_update_ok = false;
        let (u, e) = run(&mut s, false, true);
        assert_eq!(
            (u, e.as_deref()),
            (
                Updated::Failed,
                Some("updating image for container id-a.service")
            )
        );
        assert_eq!(s.calls, ["check", "update"]);
    }

    #[test]
    fn a_failed_restart_rolls_back_and_restarts_again() {
        let mut s = script(Ok(true), &[false, true]);
        assert_eq!(run(&mut s, false, true), (Updated::RolledBack, None));
        assert_eq!(
            s.calls,
            [
                "check",
                "update",
                "restart a.service",
                "roll back reg.example/app:latest",
                "restart a.service"
            ]
        );
    }

    #[test]
    fn without_rollback_or_when_it_fails_the_update_failed() {
        let mut s = script(Ok(true), &[false]);
        let (u, e) = run(&mut s, false, false);
        assert_eq!(u, Updated::Failed);
        assert_eq!(
            e.as_deref(),
            Some("restarting unit a.service for container id-a.service")
        );
        assert_eq!(s.calls.len(), 3);

        let mut s = script(Ok(true), &[false]);
        s.is_roll_back_ok = false;
        let (u, e) = run(&mut s, false, true);
        assert_eq!(
            (u, e.as_deref()),
            (
                Updated::Failed,
                Some("rolling back image for container id-a.service")
            )
        );

        let mut s = script(Ok(true), &[false, false]);
        let (u, e) = run(&mut s, false, true);
        assert_eq!(u, Updated::Failed);
        assert_eq!(
            e.as_deref(),
            Some("restarting unit a.service for container id-a.service during rollback")
        );
    }

    #[test]
    fn a_restart_counts_when_its_job_is_done_and_the_unit_active() {
        let r = |job: &str, state: &str| crate::cgroup::Restarted {
            job_result: job.into(),
            active_state: state.into(),
        };
        assert!(check_restart(&r("done", "active")).is_ok());
        for (job, state) in [
            ("failed", "failed"),
            ("done", "failed"),
            ("done", "activating"),
            ("timeout", "inactive"),
        ] {
            let e = check_restart(&r(job, state)).expect_err("a failure");
            assert_eq!(
                e.to_string(),
                format!("its job ended {job:?} and the unit is {state:?}")
            );
        }
    }

    #[test]
    fn the_column_says_what_podman_says() {
        let all = [
            Updated::True,
            Updated::False,
            Updated::Pending,
            Updated::RolledBack,
            Updated::Failed,
        ];
        let words: Vec<&str> = all.iter().map(|u| u.as_str()).collect();
        assert_eq!(words, ["true", "false", "pending", "rolled back", "failed"]);
    }
}
