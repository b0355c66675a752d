//! Podman's libpod API (`/v4.x.x/libpod/…`, also unversioned), what
//! `podman --remote` 4.3 calls: the ping, images (list, exists, inspect,
//! pull with Podman's progress lines, remove) and pods (create, list,
//! inspect, exists, start, stop, remove) here, containers in
//! `libpod_containers`. Errors are libpod's `{"cause", "message",
//! "response"}`.

use std::sync::Mutex;

use serde_json::{json, Value};

use super::docker::{Ctx, Failure, Reply};
use super::http::{self, Request};
use super::{exec, libpod_containers, libpod_specgen, objects};
use crate::container::pod_ops::PodState;
use crate::container::{self, Engine};
use crate::error::render_chain;

/// The libpod API version hutch answers as (Podman's client refuses a
/// server whose major version differs from its own).
pub const API_VERSION: &str = "4.3.1";

/// Answers a libpod request; `segs` are the path's segments after
/// `libpod`.
pub fn route(ctx: &mut Ctx<'_>, req: &Request, segs: &[&str]) -> Reply {
    handle(ctx, req, segs).unwrap_or_else(error_reply)
}

/// libpod's error body: the whole message, its last part as the cause,
/// and the status again.
pub fn error_reply(f: Failure) -> Reply {
    let cause = f
        .message
        .rsplit(": ")
        .next()
        .unwrap_or(&f.message)
        .to_string();
    Reply::Json(
        f.status,
        json!({ "cause": cause, "message": f.message, "response": f.status }),
    )
}

fn handle(ctx: &mut Ctx<'_>, req: &Request, segs: &[&str]) -> Result<Reply, Failure> {
    let engine = ctx.engine;
    match (req.method.as_str(), segs) {
        ("GET" | "HEAD", ["_ping"]) => Ok(Reply::Text(200, "OK")),
        ("GET", ["version"]) => {
            let mut v = super::docker::version();
            v["ApiVersion"] = json!(API_VERSION);
            v["MinAPIVersion"] = json!("4.0.0");
            Ok(Reply::Json(200, v))
        }
        (_, ["containers", ..]) => libpod_containers::route(ctx, req, &segs[1..]),
        // Docker's exec sessions, whose objects libpod's client reads too.
        ("POST", ["exec", id, "start"]) => exec::start(ctx, id, req),
        ("POST", ["exec", id, "resize"]) => exec::resize(ctx, id),
        ("GET", ["exec", id, "json"]) => exec::inspect(ctx, id),
        ("GET", ["images", "json"]) => list_images(engine),
        ("POST", ["images", "pull"]) => pull(ctx, req),
        ("DELETE", ["images", "remove"]) => {
            let names: Vec<String> = req
                .query
                .iter()
                .filter(|(k, _)| k == "images")
                .map(|(_, v)| v.clone())
                .collect();
            remove_images(engine, &names, req.flag("force"))
        }
        ("GET", ["images", name @ .., "exists"]) if !name.is_empty() => {
            engine.find_image(&name.join("/")).map_err(image_failure)?;
            Ok(Reply::Empty(204))
        }
        ("GET", ["images", name @ .., "json"]) if !name.is_empty() => {
            let name = name.join("/");
            match engine.inspect_image(&name)? {
                Some(v) => Ok(Reply::Json(200, v)),
                None => Err(no_such_image(&name)),
            }
        }
        ("DELETE", ["images", name @ ..]) if !name.is_empty() => {
            remove_images(engine, &[name.join("/")], req.flag("force"))
        }
        ("POST", ["pods", "create"]) => {
            let pod = libpod_specgen::pod_request(&req.body)
                .map_err(|e| Failure::new(400, e.to_string()))?;
            let id = engine.create_pod(&pod)?;
            Ok(Reply::Json(201, json!({ "Id": id })))
        }
        ("GET", ["pods", "json"]) => {
            let list: Vec<Value> = engine.pods()?.iter().map(pod_entry).collect();
            Ok(Reply::Json(200, Value::Array(list)))
        }
        ("GET", ["pods", name, "json"]) => Ok(Reply::Json(
            200,
            pod_object(&engine.pod(name).map_err(pod_failure)?),
        )),
        ("GET", ["pods", name, "exists"]) => match engine.pod_exists(name)? {
            true => Ok(Reply::Empty(204)),
            false => Err(no_such_pod(name)),
        },
        ("POST", ["pods", name, op @ ("start" | "stop")]) => pod_start_stop(engine, name, op, req),
        ("DELETE", ["pods", name]) => {
            let timeout = req
                .param("timeout")
                .and_then(|t| t.parse().ok())
                .map(std::time::Duration::from_secs);
            let id = engine
                .remove_pod(name, req.flag("force"), timeout)
                .map_err(pod_failure)?;
            Ok(Reply::Json(200, json!({ "Err": null, "Id": id })))
        }
        _ => Err(Failure::new(
            404,
            format!(
                "{} {}: not served by hutch (see docs/compat.md)",
                req.method, req.path
            ),
        )),
    }
}

pub(super) fn no_such_image(name: &str) -> Failure {
    Failure::new(404, format!("{name}: image not known"))
}

fn no_such_pod(name: &str) -> Failure {
    Failure::new(
        404,
        format!("no pod with name or ID {name} found: no such pod"),
    )
}

/// An engine error about an image, with 404 for one that is not stored.
fn image_failure(e: container::Error) -> Failure {
    let f = Failure::from(e);
    match f.status {
        500 if f.message.contains("not known") || f.message.contains("no such image") => {
            Failure::new(404, f.message)
        }
        _ => f,
    }
}

/// An engine error about a pod, with 404 for one that does not exist.
fn pod_failure(e: container::Error) -> Failure {
    let is_missing = matches!(
        &e,
        container::Error::Pod(container::pod::Error::NoSuchPod(_))
    );
    let f = Failure::from(e);
    match is_missing {
        true => Failure::new(404, f.message),
        false => f,
    }
}

fn list_images(engine: &Engine) -> Result<Reply, Failure> {
    let users = engine.image_users()?;
    let list: Vec<Value> = engine
        .list_images(&[])?
        .iter()
        .map(|img| {
            let mut v = objects::image_entry(img, users.get(img.id.hex()).copied().unwrap_or(0));
            // libpod's ids are bare hex, unnamed images have no tags, and
            // it adds the names and digest.
            v["Id"] = json!(img.id.hex());
            if img.names.is_empty() {
                v["RepoTags"] = json!([]);
            }
            v["Names"] = json!(img.names);
            v["Digest"] = json!(img.manifest_digest.to_string());
            v["Dangling"] = json!(img.names.is_empty());
            v["SharedSize"] = json!(0);
            v
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(list)))
}

/// libpod's `ImageRemoveReport`: every image in it, a failure counted in
/// `Errors` and the exit code rather than ending the answer.
fn remove_images(engine: &Engine, names: &[String], force: bool) -> Result<Reply, Failure> {
    if names.is_empty() {
        return Err(Failure::new(400, "no images to remove given"));
    }
    let (mut deleted, mut untagged, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    let mut status = 200;
    for result in engine.remove_images(names, force).map_err(image_failure)? {
        match result {
            Ok(container::images::Removed::Untagged(n)) => untagged.push(n),
            Ok(container::images::Removed::Deleted(d)) => deleted.push(d.hex().to_string()),
            Err(e) => {
                let f = image_failure(e);
                status = f.status;
                errors.push(f.message);
            }
        }
    }
    // One image that failed alone is the answer's status, as libpod's.
    if deleted.is_empty() && untagged.is_empty() && !errors.is_empty() {
        return Err(Failure::new(status, errors.join("; ")));
    }
    let code = if errors.is_empty() { 0 } else { 1 };
    Ok(Reply::Json(
        200,
        json!({ "Deleted": deleted, "Untagged": untagged, "ExitCode": code,
                "Errors": if errors.is_empty() { Value::Null } else { json!(errors) } }),
    ))
}

/// Sends a pull's progress as libpod's JSON lines: each of the engine's
/// notices and a `Copying blob` per fetched layer as `{"stream": …}`.
struct PullLines {
    conn: Mutex<std::fs::File>,
    is_quiet: bool,
}

impl PullLines {
    fn send(&self, v: &Value) {
        if let Ok(mut conn) = self.conn.lock() {
            let _ = http::write_chunk(&mut *conn, format!("{v}\n").as_bytes());
        }
    }

    fn stream(&self, line: &str) {
        if !self.is_quiet {
            self.send(&json!({ "stream": format!("{}\n", line.trim_end()) }));
        }
    }
}

impl crate::image::Reporter for PullLines {
    fn notice(&self, line: &str) {
        self.stream(line);
    }

    fn layer(&self, id: &str, _size: u64, step: crate::image::LayerStep) {
        if step == crate::image::LayerStep::Fetched {
            self.stream(&format!("Copying blob {id}"));
        }
    }
}

/// `POST /libpod/images/pull?reference=&policy=&quiet=`: the progress
/// as `{"stream"}` lines, then `{"images": [ID], "id": ID}`, or
/// `{"error"}`. With `policy=missing` (the client's default for `run`) a
/// stored image is not pulled again.
fn pull(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, Failure> {
    let Some(reference) = req.param("reference").filter(|r| !r.is_empty()) else {
        return Err(Failure::new(400, "no reference given"));
    };
    let policy = req.param("policy").unwrap_or("always");
    if !matches!(policy, "" | "always" | "missing" | "never" | "newer") {
        return Err(Failure::new(
            400,
            format!("unsupported pull policy {policy:?}"),
        ));
    }
    let engine = ctx.engine;
    let stored = match policy {
        "missing" | "never" => engine.find_image(reference).ok(),
        _ => None,
    };
    if stored.is_none() && policy == "never" {
        return Err(no_such_image(reference));
    }
    let platform = match req.param("os").filter(|o| !o.is_empty()) {
        Some(os) => {
            let arch = req.param("arch").filter(|a| !a.is_empty());
            let text = match (arch, req.param("variant").filter(|v| !v.is_empty())) {
                (Some(a), Some(v)) => format!("{os}/{a}/{v}"),
                (Some(a), None) => format!("{os}/{a}"),
                (None, _) => os.to_string(),
            };
            crate::image::Platform::parse(&text).map_err(|e| Failure::new(400, render_chain(&e)))?
        }
        None => crate::image::Platform::host(),
    };
    ctx.write_stream_head("application/json", &[("Transfer-Encoding", "chunked")])?;
    let conn = ctx
        .conn
        .try_clone()
        .map_err(|e| Failure::new(500, e.to_string()))?;
    let lines = PullLines {
        conn: Mutex::new(conn),
        is_quiet: req.flag("quiet"),
    };
    let result = match stored {
        Some(rec) => Ok(rec),
        None => {
            let opts = crate::image::PullOptions {
                platform,
                quiet: false,
                tls_verify: None,
                authfile: None,
                cert_dir: None,
                credentials: None,
            };
            engine.pull(reference, &opts, &lines)
        }
    };
    match result {
        Ok(rec) => {
            let id = rec.id.hex().to_string();
            lines.send(&json!({ "images": [id], "id": id }));
        }
        Err(e) => lines.send(&json!({ "error": render_chain(&e) })),
    }
    if let Ok(mut conn) = lines.conn.lock() {
        let _ = http::end_chunks(&mut *conn);
    }
    Ok(Reply::Streamed)
}

/// A pod's members as libpod lists them.
fn members(s: &PodState, state_key: &str, name_key: &str) -> Vec<Value> {
    s.members
        .iter()
        .map(|(m, st)| json!({ "Id": m.record.id, name_key: m.record.name, state_key: st.name() }))
        .collect()
}

/// One entry of `GET /libpod/pods/json` (libpod's `ListPodsReport`; a
/// hutch pod's infra is a process, not a container, so `InfraId` is
/// empty).
fn pod_entry(s: &PodState) -> Value {
    let p = &s.pod;
    json!({
        "Cgroup": p.cgroup.parent.clone().unwrap_or_default(),
        "Containers": members(s, "Status", "Names"),
        "Created": p.created,
        "Id": p.id,
        "InfraId": "",
        "Name": p.name,
        "Namespace": "",
        "Networks": [],
        "Status": s.status.name(),
        "Labels": p.labels,
    })
}

/// `GET /libpod/pods/{name}/json`: the fields of libpod's
/// `InspectPodData` that a pod record has.
fn pod_object(s: &PodState) -> Value {
    let p = &s.pod;
    json!({
        "Id": p.id,
        "Name": p.name,
        "Created": p.created,
        "CreateCommand": p.create_command,
        "ExitPolicy": p.exit_policy.name(),
        "State": s.status.name(),
        "Hostname": p.hostname.clone().unwrap_or_default(),
        "Labels": p.labels,
        "CreateCgroup": p.member_cgroup().is_some(),
        "CgroupParent": p.cgroup.parent.clone().unwrap_or_default(),
        "CreateInfra": p.has_infra,
        "InfraContainerID": "",
        "SharedNamespaces": p.shared,
        "NumContainers": s.members.len(),
        "Containers": members(s, "State", "Name"),
    })
}

/// `POST /libpod/pods/{name}/start|stop`: libpod's `PodStartReport` /
/// `PodStopReport`, the members that failed in `Errs`.
/// A `timeout` below 0 (the client's "not given") is Podman's default, 10.
fn pod_start_stop(engine: &Engine, name: &str, op: &str, req: &Request) -> Result<Reply, Failure> {
    let secs = req
        .param("timeout")
        .and_then(|t| t.parse::<u64>().ok())
        .unwrap_or(10);
    let outcome = match op {
        "start" => engine.start_pod(name),
        _ => engine.stop_pod(name, std::time::Duration::from_secs(secs)),
    }
    .map_err(pod_failure)?;
    let errs: Vec<String> = outcome.failures.iter().map(|e| render_chain(e)).collect();
    let status = if errs.is_empty() { 200 } else { 409 };
    Ok(Reply::Json(
        status,
        json!({ "Errs": errs, "Id": outcome.id }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_have_libpods_cause_message_and_response() {
        let f = Failure::new(
            404,
            "no container with name or ID \"x\" found: no such container",
        );
        let Reply::Json(status, v) = error_reply(f) else {
            panic!("not a JSON reply");
        };
        assert_eq!(status, 404);
        assert_eq!(v["cause"], "no such container");
        assert_eq!(v["response"], 404);
        assert_eq!(
            v["message"],
            "no container with name or ID \"x\" found: no such container"
        );
    }
}
