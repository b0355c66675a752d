//! One image's and one container's further paths: `images/{name}/history`,
//! `images/{name}/tag`, `containers/{id}/changes`, `containers/{id}/export`
//! and `containers/{id}/top`, through the engine functions that `hutch
//! history`, `tag`, `diff`, `export` and `top` call.

use serde_json::{json, Value};

use super::docker::{Ctx, Failure, Reply};
use super::http::Request;
use super::objects;
use crate::container::Engine;
use crate::error::render_chain;

/// `GET /images/{name}/history`: the newest step first, as Docker's.
pub fn history(engine: &Engine, name: &str) -> Result<Reply, Failure> {
    if engine.inspect_image(name)?.is_none() {
        return Err(Failure::new(404, format!("No such image: {name}")));
    }
    let steps: Vec<Value> = engine
        .image_history(name)?
        .iter()
        .map(|s| {
            let id = match s.id.as_str() {
                "<missing>" => s.id.clone(),
                hex => format!("sha256:{hex}"),
            };
            json!({
                "Id": id,
                "Created": objects::unix_secs(Some(&s.created)),
                "CreatedBy": s.created_by,
                "Tags": if s.tags.is_empty() { Value::Null } else { json!(s.tags) },
                "Size": s.size,
                "Comment": s.comment,
            })
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(steps)))
}

/// `POST /images/{name}/tag?repo=&tag=`: one more name (tag `latest`
/// when none is given), 201 as dockerd answers.
pub fn tag(engine: &Engine, name: &str, req: &Request) -> Result<Reply, Failure> {
    let repo = req.param("repo").filter(|r| !r.is_empty());
    let repo =
        repo.ok_or_else(|| Failure::new(400, "repository name must have at least one component"))?;
    let tag = req
        .param("tag")
        .filter(|t| !t.is_empty())
        .unwrap_or("latest");
    if engine.inspect_image(name)?.is_none() {
        return Err(Failure::new(404, format!("No such image: {name}")));
    }
    engine
        .tag_image(name, &[format!("{repo}:{tag}")])
        .map_err(|e| match Failure::from(e) {
            f if f.status == 500 => Failure::new(400, f.message),
            f => f,
        })?;
    Ok(Reply::Empty(201))
}

/// `GET /containers/{id}/changes`: the files added (1), changed (0) and
/// deleted (2) in its writable layer.
pub fn changes(engine: &Engine, id: &str) -> Result<Reply, Failure> {
    let list: Vec<Value> = engine
        .diff(id)?
        .iter()
        .map(|c| {
            let kind = match c.kind.letter() {
                'A' => 1,
                'D' => 2,
                _ => 0,
            };
            json!({ "Path": c.path.to_string_lossy(), "Kind": kind })
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(list)))
}

/// `GET /containers/{id}/export`: its root filesystem as a tar stream.
pub fn export(ctx: &mut Ctx<'_>, id: &str) -> Result<Reply, Failure> {
    ctx.engine.container_id(id)?;
    ctx.write_stream_head("application/x-tar", &[])?;
    let mut out = ctx
        .conn
        .try_clone()
        .map_err(|e| Failure::new(500, e.to_string()))?;
    // The head is sent: a failure can only cut the stream short.
    if let Err(e) = ctx.engine.export_container(id, &mut out) {
        log::debug!("export of {id} ended: {}", render_chain(&e));
    }
    Ok(Reply::Streamed)
}

/// `GET /containers/{id}/top`: the running container's processes in
/// Podman's default columns (`ps_args` is not read).
pub fn top(engine: &Engine, id: &str) -> Result<Reply, Failure> {
    let processes = engine.list_processes(id).map_err(|e| match e {
        crate::container::top::Error::Container(c) => Failure::from(c),
        other => Failure::new(500, render_chain(&other)),
    })?;
    let rows: Vec<Value> = processes
        .iter()
        .map(|p| {
            let elapsed = p.elapsed.as_secs_f64();
            let pcpu = if elapsed > 0.0 {
                p.cpu.as_secs_f64() / elapsed * 100.0
            } else {
                0.0
            };
            json!([
                p.user,
                p.pid.to_string(),
                p.ppid.to_string(),
                format!("{pcpu:.3}"),
                seconds_text(p.elapsed.as_secs()),
                p.tty,
                seconds_text(p.cpu.as_secs()),
                p.args,
            ])
        })
        .collect();
    Ok(Reply::Json(
        200,
        json!({
            "Titles": ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"],
            "Processes": rows,
        }),
    ))
}

/// Whole seconds as Go writes a duration: `0s`, `42s`, `3m5s`, `1h0m2s`.
fn seconds_text(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_read_like_go_durations() {
        assert_eq!(seconds_text(0), "0s");
        assert_eq!(seconds_text(42), "42s");
        assert_eq!(seconds_text(185), "3m5s");
        assert_eq!(seconds_text(3602), "1h0m2s");
    }
}
