//! `generate spec`: a container's or a pod's creation spec as the JSON of
//! Podman's spec generator (the body its libpod API takes to create one),
//! written from the request hutch recorded at create (containers) or the
//! pod's record (pods). Only fields with a value are written, under
//! Podman's JSON names.

use serde_json::{json, Map, Value};

use crate::container::volumes::{self, Kind};
use crate::container::{
    parse_publish, CreateRequest, Engine, NetworkMode as Mode, PortMapping, Protocol, RestartPolicy,
};

/// What `generate spec` failed at.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not find a pod or container with the id {0}")]
    NotFound(String),
    #[error("reading {what} {name}")]
    Read {
        what: &'static str,
        name: String,
        #[source]
        source: Box<crate::container::Error>,
    },
}

impl crate::error::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        match self {
            Error::NotFound(_) => Some("`hutch ps -a` and `hutch pod ps` list them".into()),
            _ => None,
        }
    }
}

/// The spec of the container or pod `name`; with `rename` its name gets
/// `-clone` appended, as Podman's `--name` (the default) does.
pub fn generate(engine: &Engine, name: &str, rename: bool) -> Result<Value, Error> {
    let read = |what| {
        move |e: crate::container::Error| Error::Read {
            what,
            name: name.to_string(),
            source: Box::new(e),
        }
    };
    if let Ok((record, req)) = engine.recorded_request(name) {
        let mut spec = container_spec(&req, record.image_id.hex());
        let own = record.name.clone();
        spec.insert("name".into(), json!(new_name(&own, rename)));
        return Ok(Value::Object(spec));
    }
    if engine.pod_exists(name).map_err(read("pod"))? {
        let state = engine.pod(name).map_err(read("pod"))?;
        let p = &state.pod;
        let mut spec = Map::new();
        spec.insert("name".into(), json!(new_name(&p.name, rename)));
        put(&mut spec, "hostname", p.hostname.as_ref().map(|h| json!(h)));
        if !p.labels.is_empty() {
            spec.insert("labels".into(), json!(p.labels));
        }
        spec.insert("netns".into(), json!({ "nsmode": nsmode(&p.network.mode) }));
        put(&mut spec, "portmappings", ports(&p.network.ports));
        put(&mut spec, "dns_server", strings(&p.network.dns));
        put(&mut spec, "dns_search", strings(&p.network.dns_search));
        put(&mut spec, "dns_option", strings(&p.network.dns_options));
        if !p.shared.is_empty() {
            spec.insert("shared_namespaces".into(), json!(p.shared));
        }
        if !p.create_command.is_empty() {
            spec.insert("pod_create_command".into(), json!(p.create_command));
        }
        return Ok(Value::Object(spec));
    }
    Err(Error::NotFound(name.to_string()))
}

fn new_name(name: &str, rename: bool) -> String {
    match rename {
        true => format!("{name}-clone"),
        false => name.to_string(),
    }
}

/// Inserts `v` under `key` when it is something.
fn put(spec: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        spec.insert(key.to_string(), v);
    }
}

fn strings(v: &[String]) -> Option<Value> {
    (!v.is_empty()).then(|| json!(v))
}

/// `KEY=VALUE` words as a map (a bare `KEY` maps to "").
fn key_values(v: &[String]) -> Option<Value> {
    let map: Map<String, Value> = v
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), json!(v)),
            None => (kv.clone(), json!("")),
        })
        .collect();
    (!map.is_empty()).then_some(Value::Object(map))
}

fn nsmode(mode: &Mode) -> &'static str {
    match mode {
        Mode::None => "none",
        Mode::Host => "host",
        Mode::Pasta(_) => "pasta",
        Mode::Slirp4netns(_) => "slirp4netns",
        Mode::Bridge(_) => "bridge",
    }
}

fn ports(maps: &[PortMapping]) -> Option<Value> {
    let list: Vec<Value> = maps
        .iter()
        .map(|m| {
            json!({
                "host_ip": m.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                "container_port": m.container_port,
                "host_port": m.host_port,
                "range": 1,
                "protocol": match m.proto { Protocol::Tcp => "tcp", Protocol::Udp => "udp" },
            })
        })
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

/// The spec fields of a recorded create request.
fn container_spec(req: &CreateRequest, image_id: &str) -> Map<String, Value> {
    let mut spec = Map::new();
    let p = &req.process;
    put(&mut spec, "hostname", p.hostname.as_ref().map(|h| json!(h)));
    if let Some(e) = &p.entrypoint {
        // A JSON array is the exec form, as `--entrypoint` takes it.
        let words = serde_json::from_str::<Vec<String>>(e).unwrap_or_else(|_| vec![e.clone()]);
        spec.insert("entrypoint".into(), json!(words));
    }
    put(&mut spec, "command", strings(&p.command));
    put(&mut spec, "env", key_values(&p.env));
    put(&mut spec, "labels", key_values(&req.metadata.labels));
    put(
        &mut spec,
        "annotations",
        key_values(&req.metadata.annotations),
    );
    put(&mut spec, "work_dir", p.workdir.as_ref().map(|w| json!(w)));
    put(&mut spec, "user", p.user.as_ref().map(|u| json!(u)));
    if p.tty {
        spec.insert("terminal".into(), json!(true));
    }
    if p.interactive {
        spec.insert("stdin".into(), json!(true));
    }
    if req.remove {
        spec.insert("remove".into(), json!(true));
    }
    match req.restart {
        RestartPolicy::No => {}
        RestartPolicy::OnFailure { max_retries } => {
            spec.insert("restart_policy".into(), json!("on-failure"));
            put(&mut spec, "restart_tries", max_retries.map(|n| json!(n)));
        }
        RestartPolicy::Always => {
            spec.insert("restart_policy".into(), json!("always"));
        }
        RestartPolicy::UnlessStopped => {
            spec.insert("restart_policy".into(), json!("unless-stopped"));
        }
    }
    put(
        &mut spec,
        "stop_signal",
        req.manage
            .stop_signal
            .as_deref()
            .and_then(|s| crate::container::parse_signal(s).ok())
            .map(|s| json!(s as i32)),
    );
    put(
        &mut spec,
        "stop_timeout",
        req.manage.stop_timeout.map(|t| json!(t)),
    );
    spec.insert("image".into(), json!(image_id));
    let (mounts, volumes) = mounts(req);
    put(
        &mut spec,
        "mounts",
        (!mounts.is_empty()).then(|| json!(mounts)),
    );
    put(
        &mut spec,
        "volumes",
        (!volumes.is_empty()).then(|| json!(volumes)),
    );
    put(&mut spec, "cap_add", strings(&req.security.cap_add));
    put(&mut spec, "cap_drop", strings(&req.security.cap_drop));
    if req.security.privileged {
        spec.insert("privileged".into(), json!(true));
    }
    if req.security.read_only {
        spec.insert("read_only_filesystem".into(), json!(true));
    }
    let net = &req.network;
    let mode = match net.network.as_deref() {
        None | Some("") => None,
        Some(m) => Some(m.split(':').next().unwrap_or(m).to_string()),
    };
    put(&mut spec, "netns", mode.map(|m| json!({ "nsmode": m })));
    let published: Vec<PortMapping> = net
        .publish
        .iter()
        .filter_map(|p| parse_publish(p).ok())
        .flatten()
        .collect();
    put(&mut spec, "portmappings", ports(&published));
    if net.publish_all {
        spec.insert("publish_image_ports".into(), json!(true));
    }
    put(&mut spec, "dns_server", strings(&net.dns));
    put(&mut spec, "dns_search", strings(&net.dns_search));
    put(&mut spec, "dns_option", strings(&net.dns_options));
    put(&mut spec, "hostadd", strings(&net.add_hosts));
    put(&mut spec, "pod", req.pod.as_ref().map(|p| json!(p)));
    if !req.create_command.is_empty() {
        spec.insert("containerCreateCommand".into(), json!(req.create_command));
    }
    spec
}

/// `-v`, `--mount` and `--tmpfs`, read by the engine's own parsers, as
/// Podman's `mounts` (binds and tmpfs) and `volumes` (named volumes).
/// The request was checked at create, so a spec that no longer parses is
/// left out rather than failing the whole output.
fn mounts(req: &CreateRequest) -> (Vec<Value>, Vec<Value>) {
    let parsed = req
        .mounts
        .volume
        .iter()
        .map(|v| volumes::parse_volume(v))
        .chain(req.mounts.mount.iter().map(|m| volumes::parse_mount(m)))
        .chain(req.mounts.tmpfs.iter().map(|t| volumes::parse_tmpfs(t)))
        .filter_map(Result::ok);
    let mut mounts = Vec::new();
    let mut named = Vec::new();
    for m in parsed {
        let mut options: Vec<&str> = Vec::new();
        if m.read_only {
            options.push("ro");
        }
        match m.kind {
            Kind::Bind => {
                options.push("rbind");
                mounts.push(json!({ "destination": m.destination, "type": "bind", "source": m.source, "options": options }));
            }
            Kind::Tmpfs => {
                options.extend(m.tmpfs_data.split(',').filter(|o| !o.is_empty()));
                mounts.push(json!({ "destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": options }));
            }
            Kind::Volume => {
                named.push(json!({ "Name": m.source, "Dest": m.destination, "Options": options }));
            }
            Kind::Image | Kind::Devpts => {}
        }
    }
    (mounts, named)
}
