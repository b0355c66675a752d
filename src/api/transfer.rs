//! Images in and out of the service: `images/{name}/push` and `auth`
//! (with the `X-Registry-Auth` credentials Docker's clients send),
//! `images/search`, `images/get` and `images/{name}/get` (a
//! `docker save` archive) and `images/load`, through the engine and image
//! functions that `hutch push`, `login`, `search`, `save` and `load` call.

use base64::Engine as _;
use serde_json::{json, Value};

use super::docker::{Ctx, Failure, Reply};
use super::http::Request;
use super::stream::JsonLines;
use crate::container::images::Input;
use crate::error::render_chain;
use crate::image::credentials::Credentials;
use crate::image::{archive, LoginOptions, PushOptions, SearchOptions};

/// The credentials of an `X-Registry-Auth` header: base64 (URL-safe or
/// standard, padded or not) of `{"username","password",...}`. An empty
/// object, or no header, is none.
pub fn registry_auth(req: &Request) -> Result<Option<Credentials>, Failure> {
    let Some(raw) = req.header("x-registry-auth").map(str::trim) else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Ok(None);
    }
    let text = raw.trim_end_matches('=');
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|e| Failure::new(400, format!("invalid X-Registry-Auth header: {e}")))?;
    let v: Value = serde_json::from_slice(&bytes)
        .map_err(|e| Failure::new(400, format!("invalid X-Registry-Auth header: {e}")))?;
    Ok(credentials_of(&v))
}

/// `username` and `password` of an auth object; none when both are empty.
fn credentials_of(v: &Value) -> Option<Credentials> {
    let field = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let (username, password) = (field("username"), field("password"));
    (!username.is_empty() || !password.is_empty()).then_some(Credentials { username, password })
}

/// `POST /auth`: checks the credentials against the registry, without
/// storing them (Docker's clients keep their own), 401 when refused.
pub fn auth(ctx: &Ctx<'_>, req: &Request) -> Result<Reply, Failure> {
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|e| Failure::new(400, format!("invalid JSON body: {e}")))?;
    let server = body
        .get("serveraddress")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let server = match server {
        Some(s) => s,
        None => crate::image::default_registry(ctx.engine.paths())
            .map_err(|e| Failure::new(400, render_chain(&e)))?,
    };
    let opts = LoginOptions {
        credentials: credentials_of(&body),
        ..LoginOptions::default()
    };
    match crate::image::check_login(ctx.engine.paths(), &server, &opts) {
        Ok(_) => Ok(Reply::Json(
            200,
            json!({ "Status": "Login Succeeded", "IdentityToken": "" }),
        )),
        Err(e) => Err(Failure::new(401, render_chain(&e))),
    }
}

/// `GET /images/search?term=&limit=&filters=`: Docker's result objects.
pub fn search(ctx: &Ctx<'_>, req: &Request) -> Result<Reply, Failure> {
    let term = req
        .param("term")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::new(400, "a search term (term=) is needed"))?;
    let mut opts = SearchOptions {
        limit: req.param("limit").and_then(|l| l.parse().ok()).unwrap_or(0),
        ..SearchOptions::default()
    };
    if let Some(f) = req.param("filters").filter(|f| !f.is_empty()) {
        let parsed = super::docker::parse_filters(f)?;
        let words: Vec<String> = parsed
            .iter()
            .flat_map(|(k, vs)| vs.iter().map(move |v| format!("{k}={v}")))
            .collect();
        opts.filter = crate::image::SearchFilter::parse(&words)
            .map_err(|e| Failure::new(400, render_chain(&e)))?;
    }
    let found = crate::image::search(ctx.engine.paths(), term, &opts)
        .map_err(|e| Failure::new(500, render_chain(&e)))?;
    let list: Vec<Value> = found
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "description": r.description,
                "star_count": r.stars,
                "is_official": r.is_official,
                "is_automated": r.is_automated,
            })
        })
        .collect();
    Ok(Reply::Json(200, Value::Array(list)))
}

/// `GET /images/{name}/get` and `GET /images/get?names=A&names=B`: the
/// images as one `docker save` archive.
pub fn get(ctx: &mut Ctx<'_>, names: Vec<String>) -> Result<Reply, Failure> {
    if names.is_empty() {
        return Err(Failure::new(400, "no image named (names=)"));
    }
    let items = ctx.engine.images_to_save(&names)?;
    ctx.write_stream_head("application/x-tar", &[])?;
    let mut out = ctx
        .conn
        .try_clone()
        .map_err(|e| Failure::new(500, e.to_string()))?;
    let choice = archive::LayerChoice {
        is_uncompressed: false,
        is_compressed: false,
    };
    // The head is sent: a failure can only cut the archive short, which
    // the client sees as a truncated tar.
    if let Err(e) = ctx.engine.save_images(
        &items,
        archive::Format::DockerArchive,
        names.len() > 1,
        choice,
        &mut out,
        None,
    ) {
        log::debug!("saving {names:?} ended: {}", render_chain(&e));
    }
    Ok(Reply::Streamed)
}

/// `POST /images/load`: a `docker save` or OCI archive in the body; the
/// names loaded as `{"stream": "Loaded image: NAME\n"}` lines.
pub fn load(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, Failure> {
    let mut body: &[u8] = &req.body;
    let loaded = ctx
        .engine
        .load_images(Input::Reader(&mut body))
        .map_err(|e| Failure::new(400, render_chain(&e)))?;
    let mut text = String::new();
    for l in &loaded {
        let line = match l.names.is_empty() {
            true => format!("Loaded image ID: {}\n", l.id),
            false => l
                .names
                .iter()
                .map(|n| format!("Loaded image: {n}\n"))
                .collect(),
        };
        text.push_str(&json!({ "stream": line }).to_string());
        text.push('\n');
    }
    ctx.write_stream_head("application/json", &[])?;
    let _ = std::io::Write::write_all(&mut ctx.conn, text.as_bytes());
    Ok(Reply::Streamed)
}

/// Sends a push's notices as Docker's `status` lines.
struct PushProgress(JsonLines);

impl crate::image::Reporter for PushProgress {
    fn notice(&self, line: &str) {
        self.0
            .send(&json!({ "status": line.trim_end(), "progressDetail": {} }));
    }
}

/// `POST /images/{name}/push?tag=`: pushes to the registry the name says,
/// with the `X-Registry-Auth` credentials if any; progress as JSON
/// lines, the digest in an `aux` object, an error as `errorDetail`.
pub fn push(ctx: &mut Ctx<'_>, name: &str, req: &Request) -> Result<Reply, Failure> {
    let credentials = registry_auth(req)?;
    let full = match req.param("tag").filter(|t| !t.is_empty()) {
        Some(t) => format!("{name}:{t}"),
        None => name.to_string(),
    };
    if ctx.engine.inspect_image(&full)?.is_none() {
        return Err(Failure::new(404, format!("No such image: {full}")));
    }
    let opts = PushOptions {
        format: crate::image::ManifestFormat::default(),
        compression: None,
        tls_verify: None,
        cert_dir: None,
        authfile: None,
        credentials,
        quiet: false,
    };
    let progress = PushProgress(JsonLines::open(ctx)?);
    let lines = &progress.0;
    let repo = full.rsplit_once(':').filter(|(_, t)| !t.contains('/'));
    let (repo, tag) = repo.unwrap_or((full.as_str(), "latest"));
    lines.send(&json!({ "status": format!("The push refers to repository [{repo}]") }));
    match ctx.engine.push(&full, None, &opts, &progress, None) {
        Ok(digest) => {
            lines.send(&json!({ "status": format!("{tag}: digest: {digest}") }));
            lines.send(&json!({
                "progressDetail": {},
                "aux": { "Tag": tag, "Digest": digest.to_string() },
            }));
        }
        Err(e) => lines.fail(&render_chain(&e)),
    }
    lines.finish();
    Ok(Reply::Streamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(auth: Option<&str>) -> Request {
        Request {
            method: "POST".into(),
            path: "/images/x/push".into(),
            query: Vec::new(),
            headers: auth
                .map(|a| vec![("x-registry-auth".to_string(), a.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
            is_closing: false,
        }
    }

    #[test]
    fn registry_auth_reads_both_base64_alphabets() {
        let json = r#"{"username":"u?>","password":"p~~","serveraddress":"r"}"#;
        for engine in [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::STANDARD,
        ] {
            let header = engine.encode(json);
            let c = registry_auth(&request(Some(&header))).unwrap().unwrap();
            assert_eq!((c.username.as_str(), c.password.as_str()), ("u?>", "p~~"));
        }
    }

    #[test]
    fn registry_auth_without_credentials_is_none_and_garbage_is_400() {
        assert!(registry_auth(&request(None)).unwrap().is_none());
        let empty = base64::engine::general_purpose::URL_SAFE.encode("{}");
        assert!(registry_auth(&request(Some(&empty))).unwrap().is_none());
        let bad = registry_auth(&request(Some("%%%"))).unwrap_err();
        assert_eq!(bad.status, 400);
    }
}
