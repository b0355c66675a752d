//! The systemd user manager over D-Bus: starting a container's scope, a
//! pod's slice with its limits, and restarting a unit (`auto-update`).
//!
//! zbus runs on a current-thread tokio runtime that lives only for the call
//! and is dropped with its connection afterwards, so no thread outlives it:
//! the monitor clones again for restarts, which needs a single thread.

use std::future::poll_fn;
use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use super::pod::Property;
use super::Error;

const DESTINATION: &str = "org.freedesktop.systemd1";
const PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// A tokio runtime on the calling thread, for one call.
fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(Error::Runtime)
}

/// A connection to the user manager's bus at `bus`.
async fn connect(bus: &str) -> zbus::Result<zbus::Connection> {
    zbus::connection::Builder::address(bus)?.build().await
}

/// Moves `pids` into the cgroup `sub` (`/container`) of running unit
/// `unit` (`AttachProcessesToUnit`); the manager asks the system manager
/// when the processes come from outside its own tree, such as a login
/// session.
pub fn attach_processes(bus: &str, unit: &str, sub: &str, pids: &[u32]) -> Result<(), Error> {
    let fail = |source| Error::AttachToScope {
        unit: unit.to_string(),
        source: Box::new(source),
    };
    runtime()?.block_on(async {
        let conn = connect(bus).await.map_err(fail)?;
        conn.call_method(
            Some(DESTINATION),
            PATH,
            Some(MANAGER),
            "AttachProcessesToUnit",
            &(unit, sub, pids.to_vec()),
        )
        .await
        .map_err(fail)?;
        Ok(())
    })
}

/// Starts transient scope `unit` with `pids` in it and `Delegate=yes`,
/// under `slice` when given. Returns once systemd accepted the job.
pub fn start_scope(bus: &str, unit: &str, pids: &[u32], slice: Option<&str>) -> Result<(), Error> {
    let runtime = runtime()?;
    let fail = |source| Error::StartScope {
        unit: unit.to_string(),
        source: Box::new(source),
    };
    runtime.block_on(async {
        let conn = connect(bus).await.map_err(fail)?;
        let description = format!("hutch container {}", unit.trim_end_matches(".scope"));
        let mut props: Vec<(&str, Value<'_>)> = vec![
            ("Description", Value::from(description.as_str())),
            ("PIDs", Value::from(pids.to_vec())),
            ("Delegate", Value::from(true)),
            ("CollectMode", Value::from("inactive-or-failed")),
            // An OOM kill ends the container, not the scope: hutch still
            // has to read the count, and systemd's default would stop the
            // unit and trim its cgroups first.
            ("OOMPolicy", Value::from("continue")),
        ];
        if let Some(s) = slice {
            props.push(("Slice", Value::from(s)));
        }
        let aux: Vec<(&str, Vec<(&str, Value<'_>)>)> = Vec::new();
        let reply = conn
            .call_method(
                Some(DESTINATION),
                PATH,
                Some(MANAGER),
                "StartTransientUnit",
                &(unit, "fail", props, aux),
            )
            .await
            .map_err(fail)?;
        let _job: OwnedObjectPath = reply.body().deserialize().map_err(fail)?;
        Ok(())
    })
}

/// systemd's error for a unit that exists already.
const UNIT_EXISTS: &str = "org.freedesktop.systemd1.UnitExists";
/// systemd's error for a unit it does not know.
const NO_SUCH_UNIT: &str = "org.freedesktop.systemd1.NoSuchUnit";

/// The D-Bus error name of `e`, if it is a method error.
fn error_name(e: &zbus::Error) -> Option<&str> {
    match e {
        zbus::Error::MethodError(name, _, _) => Some(name.as_str()),
        _ => None,
    }
}

/// `p` as the variant systemd reads.
fn value(p: &Property) -> Value<'_> {
    match p {
        Property::Number(n) => Value::from(*n),
        Property::Mask(bytes) => Value::from(bytes.clone()),
        Property::Devices(list) => Value::from(list.clone()),
    }
}

/// Starts transient slice `unit` with `limits`, or, when it exists (a
/// member of the pod started before), sets them on it again: a slice
/// systemd made without them (for a scope naming it) gets them too.
pub fn ensure_slice(bus: &str, unit: &str, limits: &[(&str, Property)]) -> Result<(), Error> {
    let fail = |source| Error::StartSlice {
        unit: unit.to_string(),
        source: Box::new(source),
    };
    runtime()?.block_on(async {
        let conn = connect(bus).await.map_err(fail)?;
        let description = format!("hutch pod {}", unit.trim_end_matches(".slice"));
        let mut props: Vec<(&str, Value<'_>)> =
            vec![("Description", Value::from(description.as_str()))];
        props.extend(limits.iter().map(|(name, p)| (*name, value(p))));
        let aux: Vec<(&str, Vec<(&str, Value<'_>)>)> = Vec::new();
        let started = conn
            .call_method(
                Some(DESTINATION),
                PATH,
                Some(MANAGER),
                "StartTransientUnit",
                &(unit, "fail", &props, aux),
            )
            .await;
        match started {
            Ok(_) => Ok(()),
            Err(e) if error_name(&e) == Some(UNIT_EXISTS) => {
                let limits: Vec<(&str, Value<'_>)> = props.into_iter().skip(1).collect();
                conn.call_method(
                    Some(DESTINATION),
                    PATH,
                    Some(MANAGER),
                    "SetUnitProperties",
                    &(unit, true, limits),
                )
                .await
                .map_err(fail)?;
                Ok(())
            }
            Err(e) => Err(fail(e)),
        }
    })
}

/// Stops unit `unit` (a pod's slice), which need not exist.
pub fn stop_unit(bus: &str, unit: &str) -> Result<(), Error> {
    let fail = |source| Error::StopUnit {
        unit: unit.to_string(),
        source: Box::new(source),
    };
    runtime()?.block_on(async {
        let conn = connect(bus).await.map_err(fail)?;
        let stopped = conn
            .call_method(
                Some(DESTINATION),
                PATH,
                Some(MANAGER),
                "StopUnit",
                &(unit, "replace"),
            )
            .await;
        match stopped {
            Ok(_) => Ok(()),
            Err(e) if error_name(&e) == Some(NO_SUCH_UNIT) => Ok(()),
            Err(e) => Err(fail(e)),
        }
    })
}

/// How a unit's restart went: its job's result and the unit's state after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restarted {
    /// The job's result from `JobRemoved`: `done`, `failed`, `timeout`,
    /// `canceled`, `dependency` or `skipped`.
    pub job_result: String,
    /// The unit's `ActiveState` once the job ended, and again `settle`
    /// later when it was `active` then.
    pub active_state: String,
}

/// Restarts unit `unit` (`RestartUnit`, mode `replace`) and waits at most
/// `limit` for its job to end (`JobRemoved`); a unit `active` then is
/// looked at again after `settle`, so that a service whose process
/// failed right after it reported ready counts as failed.
pub fn restart_unit(
    bus: &str,
    unit: &str,
    limit: Duration,
    settle: Duration,
) -> Result<Restarted, Error> {
    let fail = |source| Error::RestartUnit {
        unit: unit.to_string(),
        source: Box::new(source),
    };
    runtime()?.block_on(async {
        let conn = connect(bus).await.map_err(fail)?;
        // The manager sends job signals only while a client subscribes;
        // the stream exists before the job, so its end cannot be missed.
        conn.call_method(Some(DESTINATION), PATH, Some(MANAGER), "Subscribe", &())
            .await
            .map_err(fail)?;
        let rule = zbus::MatchRule::builder()
            .msg_type(zbus::message::Type::Signal)
            .interface(MANAGER)
            .and_then(|b| b.member("JobRemoved"))
            .and_then(|b| b.path(PATH))
            .map_err(fail)?
            .build();
        let mut signals = zbus::MessageStream::for_match_rule(rule, &conn, Some(256))
            .await
            .map_err(fail)?;
        let reply = conn
            .call_method(
                Some(DESTINATION),
                PATH,
                Some(MANAGER),
                "RestartUnit",
                &(unit, "replace"),
            )
            .await
            .map_err(fail)?;
        let job: OwnedObjectPath = reply.body().deserialize().map_err(fail)?;
        let waited = tokio::time::timeout(limit, async {
            loop {
                let next = poll_fn(|cx| Pin::new(&mut signals).poll_next(cx)).await;
                let Some(message) = next else {
                    return Err(zbus::Error::InputOutput(std::sync::Arc::new(
                        std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
                    )));
                };
                let body = message?.body();
                let (_id, path, _unit, result): (u32, OwnedObjectPath, String, String) =
                    body.deserialize()?;
                if path == job {
                    return Ok(result);
                }
            }
        })
        .await;
        let job_result = match waited {
            Ok(result) => result.map_err(fail)?,
            Err(_) => {
                return Err(Error::RestartTimeout {
                    unit: unit.to_string(),
                    seconds: limit.as_secs(),
                })
            }
        };
        let mut active_state = read_active_state(&conn, unit).await.map_err(fail)?;
        if job_result == "done" && active_state == "active" && !settle.is_zero() {
            tokio::time::sleep(settle).await;
            active_state = read_active_state(&conn, unit).await.map_err(fail)?;
        }
        let _ = conn
            .call_method(Some(DESTINATION), PATH, Some(MANAGER), "Unsubscribe", &())
            .await;
        Ok(Restarted {
            job_result,
            active_state,
        })
    })
}

/// Unit `unit`'s `ActiveState` (`active`, `failed`, `activating`, ...).
async fn read_active_state(conn: &zbus::Connection, unit: &str) -> zbus::Result<String> {
    let reply = conn
        .call_method(Some(DESTINATION), PATH, Some(MANAGER), "GetUnit", &(unit,))
        .await?;
    let path: OwnedObjectPath = reply.body().deserialize()?;
    let reply = conn
        .call_method(
            Some(DESTINATION),
            path.as_str(),
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.freedesktop.systemd1.Unit", "ActiveState"),
        )
        .await?;
    let value: OwnedValue = reply.body().deserialize()?;
    String::try_from(value).map_err(zbus::Error::Variant)
}
