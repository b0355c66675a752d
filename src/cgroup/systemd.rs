//! The systemd user manager over D-Bus: starting a container's scope.
//!
//! zbus runs on a current-thread tokio runtime that lives only for the call
//! and is dropped with its connection afterwards, so no thread outlives it:
//! the monitor clones again for restarts, which needs a single thread.

use zbus::zvariant::{OwnedObjectPath, Value};

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
        let conn = zbus::connection::Builder::address(bus)
            .map_err(fail)?
            .build()
            .await
            .map_err(fail)?;
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
        let conn = zbus::connection::Builder::address(bus)
            .map_err(fail)?
            .build()
            .await
            .map_err(fail)?;
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
