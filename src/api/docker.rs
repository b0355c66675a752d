//! One connection of the Docker Engine API v1.41: the requests read in
//! turn (keep-alive), routed to the engine, answered with Docker's JSON
//! and status codes. Streams (`logs`, `attach`, `wait`, pulls) are in
//! `stream`.

use std::fs::File;
use std::time::Duration;

use serde_json::{json, Value};

use super::http::{self, Common, Reader, Request};
use super::objects::{self, Counts};
use super::{
    archive, build, convert, events, exec, image, libpod, network, prune, stats, stream, transfer,
    Error,
};
use crate::container::query::{ContainerStatus, ListRequest};
use crate::container::volume_ops::NewVolume;
use crate::container::{self, parse_signal, Engine, Progress};
use crate::error::render_chain;

/// An answer other than success: Docker's status code and message.
#[derive(Debug)]
pub struct Failure {
    /// 400, 404, 409, 500…
    pub status: u16,
    /// The `message` of the JSON body.
    pub message: String,
}

impl Failure {
    /// A failure with `status`.
    pub fn new(status: u16, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }
}

impl From<container::Error> for Failure {
    fn from(e: container::Error) -> Failure {
        let status = status_of(&e);
        Failure::new(status, render_chain(&e))
    }
}

/// Docker's status code for an engine error: 404 for what does not
/// exist, 409 for what is in use or in the wrong state, 400 for a request
/// the engine refuses, else 500.
fn status_of(e: &container::Error) -> u16 {
    use container::Error as E;
    if e.is_missing() {
        return 404;
    }
    if e.is_in_use() {
        return 409;
    }
    match e {
        E::ImageNotLocal(_) => 404,
        E::Image(i) if matches!(**i, crate::image::Error::NoSuchImage(_)) => 404,
        E::NotRunning(_) | E::IsRunning(_) => 409,
        E::Store(s) if s.to_string().contains("in use") => 409,
        E::RemoveRestarted(_)
        | E::InvalidName(_)
        | E::Security(_)
        | E::Hardening(_)
        | E::NetworkRequest(_)
        | E::NoHostsWithAddHost
        | E::InvalidGroupAdd(_)
        | E::Labels(_)
        | E::Tuning(_)
        | E::InvalidExpose(_) => 400,
        _ => 500,
    }
}

/// What a handler answers.
pub enum Reply {
    /// A JSON body.
    Json(u16, Value),
    /// No body (204, 304).
    Empty(u16),
    /// A plain-text body.
    Text(u16, &'static str),
    /// The handler wrote its response itself and the connection ends.
    Streamed,
    /// The handler wrote a whole response itself (a `HEAD` with extra
    /// headers) and the connection goes on.
    Written,
}

/// Where a handler writes and what it serves from.
pub struct Ctx<'a> {
    /// The engine, opened with the service's global options.
    pub engine: &'a Engine,
    /// The connection.
    pub conn: File,
    /// What every response carries.
    pub cors: Option<String>,
    /// Bytes read past the request (a hijacked stream's first input).
    pub rest: Vec<u8>,
}

impl Ctx<'_> {
    /// Writes the head of a 200 response streamed until the connection
    /// closes: `content_type` and the `extra` headers.
    pub fn write_stream_head(
        &mut self,
        content_type: &str,
        extra: &[(&str, &str)],
    ) -> Result<(), Failure> {
        let common = self.common(true);
        http::write_head(
            &mut self.conn,
            &common,
            200,
            Some(content_type),
            None,
            extra,
        )
        .map_err(|e| Failure::new(500, e.to_string()))
    }

    /// The common headers, for a response after which the connection
    /// stays open unless `is_closing`.
    pub fn common(&self, is_closing: bool) -> Common {
        Common {
            cors: self.cors.clone(),
            is_closing,
        }
    }
}

/// Serves the connection passed on standard input until the client
/// closes it, a stream ends it, or a request cannot be read (answered
/// with 400).
pub fn serve_connection(engine: &Engine, cors: Option<String>) -> Result<(), Error> {
    // `exec` runs from a sealed copy of hutch; become one now, while the
    // connection is still our standard input, not mid-request.
    container::system::ensure_sealed().map_err(Error::Seal)?;
    let fd = container::system::take_stdin().map_err(Error::Connection)?;
    let mut ctx = Ctx {
        engine,
        conn: File::from(fd),
        cors,
        rest: Vec::new(),
    };
    let mut reader = Reader::new();
    loop {
        let req = match reader.next(&mut ctx.conn) {
            Ok(Some(req)) => req,
            Ok(None) | Err(None) => return Ok(()),
            Err(Some(bad)) => {
                let common = ctx.common(true);
                let _ = http::respond_error(&mut ctx.conn, &common, 400, &bad.to_string());
                return Ok(());
            }
        };
        log::debug!("{} {}", req.method, req.path);
        trace(&req);
        let is_closing = req.is_closing;
        ctx.rest = reader.take_rest();
        let reply = route(&mut ctx, &req)
            .unwrap_or_else(|f| Reply::Json(f.status, json!({ "message": f.message })));
        let common = ctx.common(is_closing);
        let written = match reply {
            // A HEAD answer has no body, or the client would read it as
            // the next response on a kept-alive connection.
            Reply::Json(status, _) if req.method == "HEAD" => {
                http::respond(&mut ctx.conn, &common, status, "application/json", b"")
            }
            Reply::Json(status, v) => http::respond_json(&mut ctx.conn, &common, status, &v),
            Reply::Empty(status) => http::respond(&mut ctx.conn, &common, status, "", b""),
            Reply::Text(status, t) => {
                let body = if req.method == "HEAD" { "" } else { t };
                http::respond(
                    &mut ctx.conn,
                    &common,
                    status,
                    "text/plain; charset=utf-8",
                    body.as_bytes(),
                )
            }
            Reply::Streamed => return Ok(()),
            Reply::Written => Ok(()),
        };
        if written.is_err() || is_closing {
            return Ok(());
        }
        // What was read past this request belongs to the next.
        reader.push(std::mem::take(&mut ctx.rest));
    }
}

/// Appends the request line to the file `HUTCH_API_TRACE` names, if any;
/// a file that cannot be written is ignored (the trace is a debugging aid).
fn trace(req: &Request) {
    use std::io::Write;
    let Some(path) = std::env::var_os(crate::paths::ENV_API_TRACE) else {
        return;
    };
    let query: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let line = format!("{} {}?{}\n", req.method, req.path, query.join("&"));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = f.write_all(line.as_bytes());
    }
}

/// The path's segments after an optional `/vX.Y` prefix.
fn segments(path: &str) -> Vec<&str> {
    let mut segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let is_version = |s: &str| {
        s.strip_prefix('v').is_some_and(|v| {
            v.split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
    };
    if segs.first().is_some_and(|s| is_version(s)) {
        segs.remove(0);
    }
    segs
}

/// Finds the handler of a request.
fn route(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, Failure> {
    let segs = segments(&req.path);
    let method = req.method.as_str();
    let engine = ctx.engine;
    if let ["libpod", rest @ ..] = segs.as_slice() {
        return Ok(libpod::route(ctx, req, rest));
    }
    match (method, segs.as_slice()) {
        ("GET" | "HEAD", ["_ping"]) => Ok(Reply::Text(200, "OK")),
        ("GET", ["version"]) => Ok(Reply::Json(200, version())),
        ("GET", ["info"]) => info(engine).map(|v| Reply::Json(200, v)),
        ("GET", ["containers", "json"]) => list_containers(engine, req),
        ("POST", ["containers", "prune"]) => prune::containers(engine, req),
        ("GET", ["containers", id, "changes"]) => image::changes(engine, id),
        ("GET", ["containers", id, "export"]) => image::export(ctx, id),
        ("GET", ["containers", id, "top"]) => image::top(engine, id),
        ("GET", ["system", "df"]) => prune::df(engine),
        ("GET", ["events"]) => events::events(ctx, req),
        ("POST", ["containers", "create"]) => create(engine, req),
        ("GET", ["containers", id, "json"]) => match engine.inspect_container(id)? {
            Some(v) => Ok(Reply::Json(200, objects::docker_container(v))),
            None => Err(no_such_container(id)),
        },
        ("POST", ["containers", id, "start"]) => start(engine, id),
        ("POST", ["containers", id, "stop"]) => stop(engine, id, req),
        ("POST", ["containers", id, "restart"]) => {
            let t = req
                .param("t")
                .and_then(|t| t.parse().ok())
                .map(Duration::from_secs);
            engine.restart(id, t)?;
            Ok(Reply::Empty(204))
        }
        ("POST", ["containers", id, "kill"]) => kill(engine, id, req),
        ("POST", ["containers", id, "rename"]) => {
            let name = req.param("name").filter(|n| !n.is_empty());
            let name = name.ok_or_else(|| Failure::new(400, "missing name parameter"))?;
            engine.rename(id, name)?;
            Ok(Reply::Empty(204))
        }
        ("POST", ["containers", id, op @ ("pause" | "unpause")]) => {
            engine.pause(id, *op == "pause")?;
            Ok(Reply::Empty(204))
        }
        ("POST", ["containers", id, "resize"]) => {
            // The size of a hijacked tty is not passed on yet (compat.md).
            engine.container_id(id)?;
            Ok(Reply::Text(200, ""))
        }
        ("POST", ["containers", id, "wait"]) => stream::wait(ctx, id, req),
        ("GET", ["containers", id, "logs"]) => stream::logs(ctx, id, req, false),
        ("POST", ["containers", id, "attach"]) => stream::attach(ctx, id, req),
        ("POST", ["containers", id, "exec"]) => exec::create(ctx, id, req),
        ("HEAD", ["containers", id, "archive"]) => archive::head(ctx, id, req),
        ("GET", ["containers", id, "archive"]) => archive::get(ctx, id, req),
        ("PUT", ["containers", id, "archive"]) => archive::put(ctx, id, req),
        ("POST", ["exec", id, "start"]) => exec::start(ctx, id, req),
        ("POST", ["exec", id, "resize"]) => exec::resize(ctx, id),
        ("GET", ["exec", id, "json"]) => exec::inspect(ctx, id),
        ("DELETE", ["containers", id]) => {
            engine.remove(id, req.flag("force"), req.flag("v"))?;
            Ok(Reply::Empty(204))
        }
        ("GET", ["images", "json"]) => list_images(engine),
        ("GET", ["images", "search"]) => transfer::search(ctx, req),
        ("GET", ["images", "get"]) => {
            let names = req.query.iter().filter(|(k, _)| k == "names");
            transfer::get(ctx, names.map(|(_, v)| v.clone()).collect())
        }
        ("POST", ["images", "load"]) => transfer::load(ctx, req),
        ("GET", ["images", name @ .., "get"]) if !name.is_empty() => {
            transfer::get(ctx, vec![name.join("/")])
        }
        ("POST", ["images", name @ .., "push"]) if !name.is_empty() => {
            transfer::push(ctx, &name.join("/"), req)
        }
        ("POST", ["auth"]) => transfer::auth(ctx, req),
        ("POST", ["build"]) => build::build(ctx, req),
        ("GET", ["containers", id, "stats"]) => stats::stats(ctx, id, req),
        ("POST", ["images", "create"]) => stream::pull(ctx, req),
        ("POST", ["images", "prune"]) => prune::images(engine, req),
        ("GET", ["images", name @ .., "history"]) if !name.is_empty() => {
            image::history(engine, &name.join("/"))
        }
        ("POST", ["images", name @ .., "tag"]) if !name.is_empty() => {
            image::tag(engine, &name.join("/"), req)
        }
        ("GET", ["images", name @ .., "json"]) if !name.is_empty() => {
            let name = name.join("/");
            match engine.inspect_image(&name)? {
                Some(v) => Ok(Reply::Json(200, objects::docker_image(v))),
                None => Err(Failure::new(404, format!("No such image: {name}"))),
            }
        }
        ("DELETE", ["images", name @ ..]) if !name.is_empty() => {
            remove_image(engine, &name.join("/"), req.flag("force"))
        }
        ("GET", ["networks"]) => network::list(engine, req),
        ("POST", ["networks", "create"]) => network::create(engine, req),
        ("POST", ["networks", "prune"]) => network::prune(engine, req),
        ("GET", ["networks", name]) => network::inspect(engine, name),
        ("DELETE", ["networks", name]) => network::remove(engine, name),
        ("POST", ["networks", name, "connect"]) => network::connect(engine, name, req, true),
        ("POST", ["networks", name, "disconnect"]) => network::connect(engine, name, req, false),
        ("GET", ["volumes"]) => {
            let list: Vec<Value> = engine.volumes()?.iter().map(objects::volume).collect();
            Ok(Reply::Json(200, json!({ "Volumes": list, "Warnings": [] })))
        }
        ("POST", ["volumes", "create"]) => create_volume(engine, req),
        ("GET", ["volumes", name]) => Ok(Reply::Json(200, objects::volume(&engine.volume(name)?))),
        ("DELETE", ["volumes", name]) => {
            engine.remove_volume(name, req.flag("force"), None)?;
            Ok(Reply::Empty(204))
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

fn no_such_container(id: &str) -> Failure {
    Failure::new(404, format!("No such container: {id}"))
}

pub(super) fn version() -> Value {
    let uts = nix::sys::utsname::uname().ok();
    let machine = uts.as_ref().map_or(String::new(), |u| {
        u.machine().to_string_lossy().into_owned()
    });
    let kernel = uts.as_ref().map_or(String::new(), |u| {
        u.release().to_string_lossy().into_owned()
    });
    objects::version(objects::go_arch(&machine), &kernel)
}

fn info(engine: &Engine) -> Result<Value, Failure> {
    let listed = engine.list_containers(&ListRequest {
        is_all: true,
        ..ListRequest::default()
    })?;
    let running = listed
        .iter()
        .filter(|l| l.info.state.status == ContainerStatus::Running)
        .count();
    let counts = Counts {
        total: listed.len(),
        running,
        paused: 0,
        stopped: listed.len() - running,
        images: engine.list_images(&[])?.len(),
    };
    let host = engine.host_info()?;
    let uts = nix::sys::utsname::uname().ok();
    let name = uts.as_ref().map_or(String::new(), |u| {
        u.nodename().to_string_lossy().into_owned()
    });
    let os = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "linux".into());
    let ncpu = std::thread::available_parallelism().map_or(1, |n| n.get());
    let fields = [
        ("Name", json!(name)),
        ("Architecture", json!(host.arch)),
        ("KernelVersion", json!(host.kernel)),
        ("OperatingSystem", json!(os)),
        ("NCPU", json!(ncpu)),
        ("CgroupDriver", json!(host.cgroup_manager)),
        (
            "CgroupVersion",
            json!(host.cgroup_version.trim_start_matches('v')),
        ),
        ("DockerRootDir", json!(engine.paths().root)),
    ];
    Ok(objects::info(&counts, &fields.into_iter().collect()))
}

fn list_containers(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let list_req = list_request(req)?;
    let now = now_secs();
    let listed = engine.list_containers(&list_req)?;
    let list: Vec<Value> = listed
        .iter()
        .map(|l| objects::container_entry(l, now))
        .collect();
    Ok(Reply::Json(200, Value::Array(list)))
}

/// The engine's listing request for `containers/json` (Docker's and
/// libpod's): `all`, `limit` and the `filters` both serve.
pub(super) fn list_request(req: &Request) -> Result<ListRequest, Failure> {
    let filters: std::collections::BTreeMap<String, Vec<String>> = match req.param("filters") {
        Some(f) if !f.is_empty() => parse_filters(f)?,
        _ => Default::default(),
    };
    let mut list_req = ListRequest {
        is_all: req.flag("all"),
        // libpod's client sends `last=-1` for no limit.
        limit: req
            .param("limit")
            .or(req.param("last"))
            .and_then(|l| l.parse().ok())
            .filter(|l: &usize| *l > 0),
        with_ports: true,
        ..ListRequest::default()
    };
    for (key, values) in filters {
        match key.as_str() {
            "id" => list_req
                .filters
                .ids
                .extend(values.into_iter().map(|v| v.to_lowercase())),
            "name" => list_req.filters.names.extend(values),
            "label" => list_req.filters.labels.extend(values),
            "ancestor" => list_req.filters.ancestors.extend(values),
            "status" => {
                for v in values {
                    list_req.filters.statuses.push(match v.as_str() {
                        "created" => ContainerStatus::Created,
                        "running" => ContainerStatus::Running,
                        "exited" => ContainerStatus::Exited,
                        other => {
                            return Err(Failure::new(
                                400,
                                format!("invalid filter 'status={other}'"),
                            ))
                        }
                    });
                }
            }
            other => return Err(Failure::new(400, format!("invalid filter '{other}'"))),
        }
    }
    Ok(list_req)
}

/// Docker's `filters` parameter: `{"key": ["v"]}` or the older
/// `{"key": {"v": true}}`.
pub(super) fn parse_filters(
    f: &str,
) -> Result<std::collections::BTreeMap<String, Vec<String>>, Failure> {
    let v: Value =
        serde_json::from_str(f).map_err(|e| Failure::new(400, format!("invalid filters: {e}")))?;
    let Value::Object(map) = v else {
        return Err(Failure::new(400, "invalid filters: not an object"));
    };
    Ok(map
        .into_iter()
        .map(|(k, v)| {
            let values = match v {
                Value::Array(a) => a
                    .into_iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                Value::Object(o) => o
                    .into_iter()
                    .filter(|(_, b)| b == &json!(true))
                    .map(|(k, _)| k)
                    .collect(),
                _ => Vec::new(),
            };
            (k, values)
        })
        .collect())
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Collects the engine's warnings for the create response.
#[derive(Default)]
pub(super) struct Warnings(pub(super) std::sync::Mutex<Vec<String>>);

impl crate::image::Reporter for Warnings {
    fn notice(&self, _line: &str) {}
}

impl Progress for Warnings {
    fn warn(&self, line: &str) {
        if let Ok(mut w) = self.0.lock() {
            w.push(line.to_string());
        }
    }

    fn cleanup_failed(&self, error: &container::Error) {
        self.warn(&render_chain(error));
    }
}

fn create(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    let create = convert::create_request(&req.body, req.param("name"))
        .map_err(|e| Failure::new(400, e.to_string()))?;
    let image = create.image.clone();
    let warnings = Warnings::default();
    let id = engine.create(&create, &warnings).map_err(|e| match e {
        // Docker's words, which its clients read as "pull it first".
        container::Error::ImageNotLocal(_) => Failure::new(404, format!("No such image: {image}")),
        e => Failure::from(e),
    })?;
    let warnings = warnings.0.into_inner().unwrap_or_default();
    Ok(Reply::Json(201, json!({ "Id": id, "Warnings": warnings })))
}

pub(super) fn start(engine: &Engine, id: &str) -> Result<Reply, Failure> {
    if engine.is_running(&engine.container_id(id)?)? {
        return Ok(Reply::Empty(304));
    }
    engine.start(id)?;
    Ok(Reply::Empty(204))
}

pub(super) fn stop(engine: &Engine, id: &str, req: &Request) -> Result<Reply, Failure> {
    if !engine.is_running(&engine.container_id(id)?)? {
        return Ok(Reply::Empty(304));
    }
    // Docker's `t`, libpod's `timeout`.
    let t = req
        .param("t")
        .or(req.param("timeout"))
        .and_then(|t| t.parse().ok())
        .map(Duration::from_secs);
    engine.stop(id, t)?;
    Ok(Reply::Empty(204))
}

pub(super) fn kill(engine: &Engine, id: &str, req: &Request) -> Result<Reply, Failure> {
    let full = engine.container_id(id)?;
    let sig = parse_signal(
        req.param("signal")
            .filter(|s| !s.is_empty())
            .unwrap_or("KILL"),
    )
    .map_err(|e| Failure::new(400, render_chain(&e)))?;
    if !engine.is_running(&full)? {
        return Err(Failure::new(409, format!("Container {id} is not running")));
    }
    engine.kill(id, sig)?;
    Ok(Reply::Empty(204))
}

fn list_images(engine: &Engine) -> Result<Reply, Failure> {
    let users = engine.image_users()?;
    let list: Vec<Value> = engine
        .list_images(&[])?
        .iter()
        .map(|img| objects::image_entry(img, users.get(img.id.hex()).copied().unwrap_or(0)))
        .collect();
    Ok(Reply::Json(200, Value::Array(list)))
}

fn remove_image(engine: &Engine, name: &str, force: bool) -> Result<Reply, Failure> {
    let mut out = Vec::new();
    for result in engine.remove_images(&[name.to_string()], force)? {
        match result? {
            container::images::Removed::Untagged(n) => out.push(json!({ "Untagged": n })),
            container::images::Removed::Deleted(d) => out.push(json!({ "Deleted": d.to_string() })),
        }
    }
    Ok(Reply::Json(200, Value::Array(out)))
}

fn create_volume(engine: &Engine, req: &Request) -> Result<Reply, Failure> {
    #[derive(serde::Deserialize, Default)]
    #[serde(rename_all = "PascalCase", default)]
    struct Body {
        name: String,
        driver: String,
        driver_opts: Option<std::collections::BTreeMap<String, String>>,
        labels: Option<std::collections::BTreeMap<String, String>>,
    }
    let body: Body = match req.body.iter().all(u8::is_ascii_whitespace) {
        true => Body::default(),
        false => serde_json::from_slice(&req.body)
            .map_err(|e| Failure::new(400, format!("invalid JSON body: {e}")))?,
    };
    if !matches!(body.driver.as_str(), "" | "local") {
        return Err(Failure::new(
            400,
            format!(
                "volume driver {:?} is not supported: use local",
                body.driver
            ),
        ));
    }
    // Docker answers an existing name with that volume.
    let name = engine.create_volume(NewVolume {
        name: Some(body.name).filter(|n| !n.is_empty()),
        labels: body.labels.unwrap_or_default(),
        options: body.driver_opts.unwrap_or_default(),
        is_existing_ok: true,
    })?;
    Ok(Reply::Json(201, objects::volume(&engine.volume(&name)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_prefixes_are_dropped() {
        assert_eq!(segments("/v1.41/containers/json"), ["containers", "json"]);
        assert_eq!(segments("/_ping"), ["_ping"]);
        assert_eq!(
            segments("/v1.41/images/localhost:5000/busybox/json"),
            ["images", "localhost:5000", "busybox", "json"]
        );
        assert_eq!(segments("/volumes/v1"), ["volumes", "v1"]);
        assert_eq!(segments("/v4.3.1/libpod/_ping"), ["libpod", "_ping"]);
        assert_eq!(segments("/libpod/pods/json"), ["libpod", "pods", "json"]);
    }

    #[test]
    fn filters_take_both_shapes() {
        let f = parse_filters(r#"{"status":["exited"],"label":{"a=b":true}}"#).unwrap();
        assert_eq!(f["status"], ["exited"]);
        assert_eq!(f["label"], ["a=b"]);
        assert!(parse_filters("[").is_err());
    }
}
