//! `docker cp`: `HEAD`, `GET` and `PUT /containers/{id}/archive?path=`,
//! through the engine's `cp` (`Engine::copy` with a tar stream on one
//! side, `Engine::stat_path`), so every path is resolved beneath the
//! container's root by a helper inside it. The path's facts travel in
//! `X-Docker-Container-Path-Stat`, base64 of Docker's JSON.

use base64::Engine as _;
use serde_json::json;

use super::docker::{Ctx, Failure, Reply};
use super::http::{self, Request};
use crate::container;
use crate::container::access::PathStat;
use crate::error::render_chain;
use crate::files::{CopyOptions, Location};

/// The header carrying the path's facts.
const STAT_HEADER: &str = "X-Docker-Container-Path-Stat";

/// Go's `os.FileMode` of `st_mode` (Docker's clients read it so).
fn go_mode(mode: u32) -> u32 {
    let mut m = mode & 0o777;
    m |= match mode & 0o170000 {
        0o040000 => 1 << 31,
        0o120000 => 1 << 27,
        0o010000 => 1 << 25,
        0o140000 => 1 << 24,
        0o060000 => 1 << 26,
        0o020000 => (1 << 26) | (1 << 21),
        _ => 0,
    };
    for (bit, go) in [(0o4000, 1 << 23), (0o2000, 1 << 22), (0o1000, 1 << 20)] {
        if mode & bit != 0 {
            m |= go;
        }
    }
    m
}

/// The header's value for `st`.
fn stat_header(st: &PathStat) -> String {
    let v = json!({
        "name": st.name,
        "size": st.size,
        "mode": go_mode(st.mode),
        "mtime": st.mtime,
        "linkTarget": st.link_target,
    });
    base64::engine::general_purpose::STANDARD.encode(v.to_string())
}

/// The `path` parameter, or 400.
fn path_of(req: &Request) -> Result<&str, Failure> {
    req.param("path")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| Failure::new(400, "missing path parameter"))
}

/// The facts of `path` in container `name`, or 404 as Docker words it.
fn stat(ctx: &Ctx<'_>, name: &str, path: &str) -> Result<PathStat, Failure> {
    ctx.engine.stat_path(name, path)?.ok_or_else(|| {
        Failure::new(
            404,
            format!("Could not find the file {path} in container {name}"),
        )
    })
}

/// `HEAD /containers/{id}/archive?path=`: the facts only.
pub fn head(ctx: &mut Ctx<'_>, name: &str, req: &Request) -> Result<Reply, Failure> {
    let st = stat(ctx, name, path_of(req)?)?;
    let common = ctx.common(false);
    let value = stat_header(&st);
    http::write_head(
        &mut ctx.conn,
        &common,
        200,
        None,
        Some(0),
        &[(STAT_HEADER, &value)],
    )
    .map_err(|e| Failure::new(500, e.to_string()))?;
    Ok(Reply::Written)
}

/// `GET /containers/{id}/archive?path=`: the facts, then the tar.
pub fn get(ctx: &mut Ctx<'_>, name: &str, req: &Request) -> Result<Reply, Failure> {
    let path = path_of(req)?;
    let st = stat(ctx, name, path)?;
    let common = ctx.common(true);
    let value = stat_header(&st);
    http::write_head(
        &mut ctx.conn,
        &common,
        200,
        Some("application/x-tar"),
        None,
        &[(STAT_HEADER, &value)],
    )
    .map_err(|e| Failure::new(500, e.to_string()))?;
    let src = Location::Container {
        name: name.to_string(),
        path: path.to_string(),
    };
    let mut out = ctx
        .conn
        .try_clone()
        .map_err(|e| Failure::new(500, e.to_string()))?;
    // The head is sent: a failure can only cut the stream short.
    if let Err(e) = ctx.engine.copy(
        &src,
        &Location::Stdio,
        CopyOptions::default(),
        &mut std::io::empty(),
        &mut out,
    ) {
        log::debug!("archive of {name}:{path} ended: {}", render_chain(&e));
    }
    Ok(Reply::Streamed)
}

/// `PUT /containers/{id}/archive?path=&noOverwriteDirNonDir=&copyUIDGID=`:
/// the body, a tar, unpacked below the directory `path`; an entry that
/// would land outside it is refused (400) and nothing of it is written.
pub fn put(ctx: &mut Ctx<'_>, name: &str, req: &Request) -> Result<Reply, Failure> {
    let path = path_of(req)?;
    let st = stat(ctx, name, path)?;
    if st.mode & 0o170000 != 0o040000 {
        return Err(Failure::new(400, format!("{path} is not a directory")));
    }
    let opts = CopyOptions {
        // Without copyUIDGID the files belong to the container's user.
        is_archive: !req.flag("copyUIDGID"),
        overwrite: !req.flag("noOverwriteDirNonDir"),
    };
    let dst = Location::Container {
        name: name.to_string(),
        path: path.to_string(),
    };
    let mut body = req.body.as_slice();
    ctx.engine
        .copy(
            &Location::Stdio,
            &dst,
            opts,
            &mut body,
            &mut std::io::sink(),
        )
        .map_err(|e| match e {
            container::Error::Files(_) => Failure::new(400, render_chain(&e)),
            e => Failure::from(e),
        })?;
    Ok(Reply::Empty(200))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_go_file_modes() {
        assert_eq!(go_mode(0o100644), 0o644);
        assert_eq!(go_mode(0o040755), (1 << 31) | 0o755);
        assert_eq!(go_mode(0o120777), (1 << 27) | 0o777);
        assert_eq!(go_mode(0o041777), (1 << 31) | (1 << 20) | 0o777);
        assert_eq!(go_mode(0o104755), (1 << 23) | 0o755);
    }

    #[test]
    fn the_stat_header_is_base64_json() {
        let st = PathStat {
            name: "f".into(),
            size: 3,
            mode: 0o100600,
            mtime: "2026-12-06T00:00:00Z".into(),
            link_target: String::new(),
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(stat_header(&st))
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(v["name"], "f");
        assert_eq!(v["size"], 3);
        assert_eq!(v["mode"], 0o600);
        assert_eq!(v["linkTarget"], "");
    }
}
