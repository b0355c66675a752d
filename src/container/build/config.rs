//! The image config a build changes step by step: the OCI config JSON of
//! the stage's current image, edited by the config instructions (`ENV`,
//! `LABEL`, `WORKDIR`, ...) with Docker's rules, and the history entries
//! each step appends, worded as Podman's. Pure: no I/O.

use serde_json::{json, Map, Value};

/// The config of an empty image (`FROM scratch`) for this platform.
pub fn scratch(os: &str, architecture: &str, variant: Option<&str>) -> Value {
    let mut v = json!({
        "architecture": architecture,
        "os": os,
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    });
    if let Some(var) = variant {
        v["variant"] = json!(var);
    }
    v
}

/// The inner `config` object, made when missing.
pub fn inner(config: &mut Value) -> &mut Map<String, Value> {
    if !config.is_object() {
        *config = json!({});
    }
    let root = config.as_object_mut().expect("made an object above");
    let inner = root.entry("config").or_insert_with(|| json!({}));
    if !inner.is_object() {
        *inner = json!({});
    }
    inner.as_object_mut().expect("made an object above")
}

/// A string field of the inner config.
pub fn text(config: &Value, key: &str) -> Option<String> {
    config["config"][key].as_str().map(str::to_string)
}

/// A string-array field of the inner config (`Cmd`, `Entrypoint`, `Shell`).
pub fn strings(config: &Value, key: &str) -> Option<Vec<String>> {
    config["config"][key].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

/// `Env` as (name, value) pairs, in order.
pub fn env(config: &Value) -> Vec<(String, String)> {
    strings(config, "Env")
        .unwrap_or_default()
        .into_iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e, String::new()),
        })
        .collect()
}

/// Sets `name` in `Env`: at the end, an earlier entry of the name
/// removed (Podman's order).
pub fn set_env(config: &mut Value, name: &str, value: &str) {
    let mut vars = env(config);
    vars.retain(|(k, _)| k != name);
    vars.push((name.to_string(), value.to_string()));
    let list: Vec<Value> = vars
        .iter()
        .map(|(k, v)| json!(format!("{k}={v}")))
        .collect();
    inner(config).insert("Env".into(), Value::Array(list));
}

/// Adds entries to a map field of the inner config (`Labels`,
/// `ExposedPorts`, `Volumes`).
pub fn add_to_map(config: &mut Value, key: &str, entries: &[(String, Value)]) {
    let field = inner(config).entry(key).or_insert_with(|| json!({}));
    if !field.is_object() {
        *field = json!({});
    }
    if let Some(map) = field.as_object_mut() {
        for (k, v) in entries {
            map.insert(k.clone(), v.clone());
        }
    }
}

/// Sets a field of the inner config.
pub fn set(config: &mut Value, key: &str, value: Value) {
    inner(config).insert(key.into(), value);
}

/// `WORKDIR dir`: relative to the current one.
pub fn workdir(current: Option<&str>, dir: &str) -> String {
    if dir.starts_with('/') {
        return clean_path(dir);
    }
    let base = current.filter(|c| !c.is_empty()).unwrap_or("/");
    clean_path(&format!("{base}/{dir}"))
}

/// An absolute path with `.`, `..` and doubled slashes resolved.
pub fn clean_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            p => out.push(p),
        }
    }
    format!("/{}", out.join("/"))
}

/// `EXPOSE` words as `ExposedPorts` keys (`80` is `80/tcp`).
pub fn exposed(words: &[String]) -> Result<Vec<String>, String> {
    words
        .iter()
        .map(|w| {
            let (port, proto) = w.split_once('/').unwrap_or((w, "tcp"));
            let proto = proto.to_ascii_lowercase();
            let is_port = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
            let is_range = match port.split_once('-') {
                Some((a, b)) => is_port(a) && is_port(b),
                None => is_port(port),
            };
            if !is_range || !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
                return Err(format!("invalid port {w:?}: use PORT[/tcp|udp|sctp]"));
            }
            Ok(format!("{port}/{proto}"))
        })
        .collect()
}

/// A Go duration (`30s`, `1m30s`, `500ms`) in nanoseconds, as
/// `HEALTHCHECK`'s options take it.
pub fn duration_ns(text: &str) -> Option<i64> {
    let mut total: f64 = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[u..];
        total += value * unit;
    }
    Some(total as i64)
}

/// One history entry, as Podman writes them: `created_by` the step,
/// `comment` the image it was built on (`FROM base`), `empty_layer` for a
/// step that added no layer.
pub fn push_history(
    config: &mut Value,
    created: &str,
    created_by: &str,
    comment: &str,
    is_empty: bool,
) {
    if !config.is_object() {
        *config = json!({});
    }
    let root = config.as_object_mut().expect("made an object above");
    let hist = root.entry("history").or_insert_with(|| json!([]));
    if !hist.is_array() {
        *hist = json!([]);
    }
    let mut entry = Map::new();
    entry.insert("created".into(), json!(created));
    entry.insert("created_by".into(), json!(created_by));
    if !comment.is_empty() {
        entry.insert("comment".into(), json!(comment));
    }
    if is_empty {
        entry.insert("empty_layer".into(), json!(true));
    }
    if let Some(h) = hist.as_array_mut() {
        h.push(Value::Object(entry));
    }
    root.insert("created".into(), json!(created));
}

/// Appends a layer's diff_id to `rootfs`.
pub fn push_diff_id(config: &mut Value, diff_id: &str) {
    if !config.is_object() {
        *config = json!({});
    }
    let root = config.as_object_mut().expect("made an object above");
    let rootfs = root
        .entry("rootfs")
        .or_insert_with(|| json!({"type": "layers", "diff_ids": []}));
    if !rootfs.is_object() {
        *rootfs = json!({"type": "layers", "diff_ids": []});
    }
    if let Some(r) = rootfs.as_object_mut() {
        let ids = r.entry("diff_ids").or_insert_with(|| json!([]));
        if let Some(a) = ids.as_array_mut() {
            a.push(json!(diff_id));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_is_appended_replacing_its_old_entry() {
        let mut c = json!({"config": {"Env": ["PATH=/bin", "A=1"]}});
        set_env(&mut c, "A", "2");
        set_env(&mut c, "B", "x=y");
        assert_eq!(c["config"]["Env"], json!(["PATH=/bin", "A=2", "B=x=y"]));
        set_env(&mut c, "PATH", "/x");
        assert_eq!(c["config"]["Env"], json!(["A=2", "B=x=y", "PATH=/x"]));
        assert_eq!(env(&c)[1], ("B".to_string(), "x=y".to_string()));
        let mut empty = json!({});
        set_env(&mut empty, "K", "v");
        assert_eq!(empty["config"]["Env"], json!(["K=v"]));
    }

    #[test]
    fn workdirs_resolve_against_the_current_one() {
        assert_eq!(workdir(None, "app"), "/app");
        assert_eq!(workdir(Some("/a"), "b/../c"), "/a/c");
        assert_eq!(workdir(Some("/a"), "/x//y/"), "/x/y");
        assert_eq!(workdir(Some(""), "."), "/");
    }

    #[test]
    fn exposed_ports_default_to_tcp() {
        let words: Vec<String> = ["80", "443/UDP", "8000-8002/tcp"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            exposed(&words).unwrap(),
            ["80/tcp", "443/udp", "8000-8002/tcp"]
        );
        assert!(exposed(&["http".to_string()]).is_err());
        assert!(exposed(&["80/icmp".to_string()]).is_err());
    }

    #[test]
    fn durations_are_go_durations() {
        assert_eq!(duration_ns("5s"), Some(5_000_000_000));
        assert_eq!(duration_ns("1m30s"), Some(90_000_000_000));
        assert_eq!(duration_ns("250ms"), Some(250_000_000));
        assert_eq!(duration_ns("1.5h"), Some(5_400_000_000_000));
        assert_eq!(duration_ns("5"), None);
        assert_eq!(duration_ns(""), None);
    }

    #[test]
    fn history_and_rootfs_grow() {
        let mut c = scratch("linux", "amd64", None);
        push_history(
            &mut c,
            "t",
            "/bin/sh -c #(nop) ENV A=1",
            "FROM scratch",
            true,
        );
        push_diff_id(&mut c, "sha256:aa");
        assert_eq!(c["history"][0]["empty_layer"], json!(true));
        assert_eq!(c["history"][0]["comment"], json!("FROM scratch"));
        assert_eq!(c["rootfs"]["diff_ids"], json!(["sha256:aa"]));
        assert_eq!(c["created"], json!("t"));
    }
}
