//! The libpod API's container paths (`/libpod/containers/…`), what
//! `podman --remote` 4.3 calls for `run`, `ps`, `logs`, `rm`, `start`,
//! `stop`, `kill`, `wait`, `exec` and `inspect`: the create body through
//! `libpod_specgen` into `Engine::create`, the streams (`attach`, `logs`)
//! shared with Docker's paths in `stream`, and libpod's shapes for the
//! answers (`ListContainer`, the bare exit code of `wait`, `RmReport`).

use std::time::Duration;

use serde_json::{json, Value};

use super::docker::{self, Ctx, Failure, Reply, Warnings};
use super::http::Request;
use super::{exec, libpod_specgen, stream};
use crate::container::query::{ContainerStatus, Listed};
use crate::container::{self, load_spec, state_name, Engine, WaitCondition};

/// How often `wait` looks at the container.
const WAIT_INTERVAL: Duration = Duration::from_millis(100);

/// Go's zero time in Unix seconds: libpod's `ExitedAt` and `StartedAt`
/// for a container that has not exited or started.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// Answers `/libpod/containers/…`; `segs` are the segments after
/// `containers`.
pub fn route(ctx: &mut Ctx<'_>, req: &Request, segs: &[&str]) -> Result<Reply, Failure> {
    let engine = ctx.engine;
    match (req.method.as_str(), segs) {
        ("GET", ["json"]) => list(engine, req),
        ("POST", ["create"]) => create(engine, req),
        ("GET", [id, "json"]) => match engine.inspect_container(id)? {
            Some(v) => Ok(Reply::Json(200, v)),
            None => Err(no_such_container(id)),
        },
        ("GET", [id, "exists"]) => {
            engine.container_id(id).map_err(container_failure)?;
            Ok(Reply::Empty(204))
        }
        ("POST", [id, "start"]) => docker::start(engine, id).map_err(named(id)),
        ("POST", [id, "stop"]) => docker::stop(engine, id, req).map_err(named(id)),
        ("POST", [id, "kill"]) => docker::kill(engine, id, req).map_err(named(id)),
        ("POST", [id, "restart"]) => {
            let t = req
                .param("t")
                .and_then(|t| t.parse().ok())
                .map(Duration::from_secs);
            engine.restart(id, t).map_err(container_failure)?;
            Ok(Reply::Empty(204))
        }
        ("POST", [id, op @ ("pause" | "unpause")]) => {
            engine
                .pause(id, *op == "pause")
                .map_err(container_failure)?;
            Ok(Reply::Empty(204))
        }
        ("POST", [id, "rename"]) => {
            let name = req.param("name").filter(|n| !n.is_empty());
            let name = name.ok_or_else(|| Failure::new(400, "missing name parameter"))?;
            engine.rename(id, name).map_err(container_failure)?;
            Ok(Reply::Empty(204))
        }
        ("POST", [id, "resize"]) => {
            // The size of a hijacked tty is not passed on (compat.md).
            engine.container_id(id).map_err(container_failure)?;
            Ok(Reply::Json(200, json!({})))
        }
        ("POST", [id, "wait"]) => wait(engine, id, req),
        ("GET", [id, "logs"]) => stream::logs(ctx, id, req, true).map_err(named(id)),
        ("POST", [id, "attach"]) => stream::attach(ctx, id, req).map_err(named(id)),
        ("POST", [id, "exec"]) => exec::create(ctx, id, req).map_err(named(id)),
        ("DELETE", [id]) => remove(engine, id, req),
        _ => Err(Failure::new(
            404,
            format!(
                "{} {}: not served by hutch (see docs/compat.md)",
                req.method, req.path
            ),
        )),
    }
}

/// libpod's words for a container that does not exist.
fn no_such_container(name: &str) -> Failure {
    Failure::new(
        404,
        format!("no container with name or ID \"{name}\" found: no such container"),
    )
}

/// An engine error about container `name`, in libpod's words when it is
/// missing.
fn container_failure(e: container::Error) -> Failure {
    match e {
        container::Error::NoSuchContainer(name) => no_such_container(&name),
        e => Failure::from(e),
    }
}

/// Turns a 404 of Docker's handlers into libpod's words for `name`.
fn named(name: &str) -> impl Fn(Failure) -> Failure + '_ {
    move |f| match f.status {
        404 => no_such_container(name),
        _ => f,
    }
}

/// `POST /libpod/containers/create` with a `SpecGenerator` body:
/// `{"Id", "Warnings"}`.
fn create(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let create = libpod_specgen::container_request(&req.body)
        .map_err(|e| Failure::new(400, e.to_string()))?;
    let image = create.image.clone();
    let warnings = Warnings::default();
    let id = engine.create(&create, &warnings).map_err(|e| match e {
        container::Error::ImageNotLocal(_) => super::libpod::no_such_image(&image),
        e => Failure::from(e),
    })?;
    let warnings = warnings.0.into_inner().unwrap_or_default();
    Ok(Reply::Json(201, json!({ "Id": id, "Warnings": warnings })))
}

/// `GET /libpod/containers/json`: libpod's `ListContainer` objects.
fn list(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let mut list_req = docker::list_request(req)?;
    list_req.with_ports = true;
    let pods = engine.pod_names()?;
    let list: Vec<Value> = engine
        .list_containers(&list_req)?
        .iter()
        .map(|l| entry(l, &pods))
        .collect();
    Ok(Reply::Json(200, Value::Array(list)))
}

/// Unix seconds of an RFC 3339 time, Go's zero time for none.
fn unix_secs(t: Option<&str>) -> i64 {
    t.and_then(container::logread::parse_timestamp)
        .map_or(GO_ZERO_TIME, |n| n.div_euclid(1_000_000_000))
}

/// One container as libpod lists it; its client computes the status text
/// from `State`, `StartedAt`, `ExitedAt` and `ExitCode`.
fn entry(listed: &Listed, pods: &std::collections::BTreeMap<String, String>) -> Value {
    let info = &listed.info;
    let rec = &info.record;
    let st = &info.state;
    let plan = load_spec(info).ok();
    let labels = plan
        .as_ref()
        .map(|p| p.labels.clone())
        .filter(|l| !l.is_empty());
    let pod = plan
        .as_ref()
        .and_then(|p| p.pod.clone())
        .unwrap_or_default();
    let ports: Vec<Value> = listed
        .ports
        .iter()
        .map(|p| {
            json!({
                "host_ip": p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                "container_port": p.container_port,
                "host_port": p.host_port,
                "range": 1,
                "protocol": p.proto.name(),
            })
        })
        .collect();
    let pid = match st.status {
        ContainerStatus::Running => st.pid.unwrap_or(0),
        _ => 0,
    };
    json!({
        "AutoRemove": plan.as_ref().is_some_and(|p| p.auto_remove),
        "Command": plan.as_ref().map(|p| p.args.clone()).unwrap_or_default(),
        "Created": rec.created,
        "CreatedAt": "",
        "Exited": st.status == ContainerStatus::Exited,
        "ExitedAt": unix_secs(st.finished_at.as_deref()),
        "ExitCode": st.exit_code.unwrap_or(0),
        "Id": rec.id,
        "Image": rec.image_name,
        "ImageID": rec.image_id.hex(),
        "IsInfra": false,
        "Labels": labels,
        "Mounts": [],
        "Names": [rec.name],
        "Namespaces": {},
        "Networks": [],
        "Pid": pid,
        "PodName": pods.get(&pod).cloned().unwrap_or_default(),
        "Pod": pod,
        "Ports": if ports.is_empty() { Value::Null } else { json!(ports) },
        "Size": null,
        "StartedAt": unix_secs(st.started_at.as_deref()),
        "State": state_name(st.status),
        "Status": "",
    })
}

/// `POST /libpod/containers/{id}/wait?condition=…`: the exit code alone
/// once a condition is met (`stopped`, also `exited`, by default), also
/// for a container that removed itself meanwhile (`run --rm`), as long
/// as its id is given.
fn wait(engine: &Engine, name: &str, req: &Request) -> Result<Reply, Failure> {
    let mut conditions = Vec::new();
    for (_, c) in req.query.iter().filter(|(k, _)| k == "condition") {
        let c: WaitCondition = c
            .parse()
            .map_err(|_| Failure::new(400, format!("invalid condition {c:?}")))?;
        conditions.push(c);
    }
    if conditions.is_empty() {
        conditions.push(WaitCondition::Stopped);
    }
    let id = match engine.container_id(name) {
        Ok(id) => id,
        // Gone already: the exit code it left counts (`wait_for`).
        Err(e) if e.is_missing() && is_full_id(name) => name.to_string(),
        Err(e) => return Err(container_failure(e)),
    };
    let code = engine
        .wait_for(&id, name, &conditions, WAIT_INTERVAL)
        .map_err(container_failure)?;
    Ok(Reply::Json(200, json!(code.unwrap_or(-1))))
}

fn is_full_id(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `DELETE /libpod/containers/{id}?force&volumes&ignore`: libpod's
/// `RmReport` list.
fn remove(engine: &Engine, name: &str, req: &Request) -> Result<Reply, Failure> {
    let id = match engine.container_id(name) {
        Ok(id) => id,
        Err(e) if e.is_missing() && req.flag("ignore") => {
            return Ok(Reply::Json(200, json!([])));
        }
        Err(e) => return Err(container_failure(e)),
    };
    engine
        .remove(&id, req.flag("force"), req.flag("volumes"))
        .map_err(container_failure)?;
    Ok(Reply::Json(200, json!([{ "Id": id, "RawInput": name }])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_without_a_value_are_gos_zero_time() {
        assert_eq!(unix_secs(None), GO_ZERO_TIME);
        assert_eq!(unix_secs(Some("2026-12-06T03:52:10Z")), 1_796_529_130);
        assert!(is_full_id(&"a".repeat(64)));
        assert!(!is_full_id("web"));
    }
}
