//! `POST /build`: the body is the context as a tar archive (plain or
//! compressed), built by `Engine::build` as `hutch build -` builds one;
//! the steps go back as Docker's `{"stream": ...}` lines, the image id as
//! an `aux` object, an error as `errorDetail`. The output of `RUN` steps
//! is not sent (it has no way back from the step's container to this
//! connection yet; docs/compat.md).

use std::sync::Arc;

use serde_json::json;

use super::docker::{Ctx, Failure, Reply};
use super::http::Request;
use super::stream::JsonLines;
use crate::container::build::{
    BuildEvent, BuildProgress, BuildRequest, ContainerfileSource, RemoteContext,
};
use crate::container::{self, PullPolicy};
use crate::error::render_chain;

/// Sends a build's events as JSON lines, one chunk each.
struct Stream {
    lines: JsonLines,
    is_quiet: bool,
}

impl Stream {
    fn line(&self, text: String) {
        if !self.is_quiet {
            self.lines.send(&json!({ "stream": text }));
        }
    }
}

impl crate::image::Reporter for Stream {
    fn notice(&self, line: &str) {
        self.line(format!("{}\n", line.trim_end()));
    }
}

impl container::Progress for Stream {
    fn warn(&self, line: &str) {
        self.line(format!("Warning: {}\n", line.trim_end()));
    }

    fn cleanup_failed(&self, error: &container::Error) {
        self.warn(&render_chain(error));
    }
}

impl BuildProgress for Stream {
    fn event(&self, event: BuildEvent<'_>) {
        match event {
            BuildEvent::Step {
                index, count, text, ..
            } => self.line(format!("Step {index}/{count} : {text}\n")),
            BuildEvent::UsingCache(_) => self.line(" ---> Using cache\n".into()),
            BuildEvent::Committing { .. } => {}
            BuildEvent::Committed(d) => self.line(format!(" ---> {}\n", short(d.hex()))),
            BuildEvent::Tagged(name) => self.line(format!("Successfully tagged {name}\n")),
        }
    }
}

fn short(hex: &str) -> &str {
    &hex[..hex.len().min(12)]
}

/// A JSON object of strings in query parameter `key` (`buildargs`,
/// `labels`) as pairs.
fn pairs(req: &Request, key: &str) -> Result<Vec<(String, String)>, Failure> {
    let Some(text) = req.param(key).filter(|t| !t.is_empty()) else {
        return Ok(Vec::new());
    };
    let map: std::collections::BTreeMap<String, Option<String>> =
        serde_json::from_str(text).map_err(|e| Failure::new(400, format!("invalid {key}: {e}")))?;
    Ok(map
        .into_iter()
        .map(|(k, v)| (k, v.unwrap_or_default()))
        .collect())
}

/// The build request of `POST /build`'s query and body.
fn request(req: &Request) -> Result<BuildRequest, Failure> {
    if let Some(r) = req.param("remote").filter(|r| !r.is_empty()) {
        return Err(Failure::new(
            400,
            format!("remote contexts ({r}) are not served: send the context as the body"),
        ));
    }
    let mut build = BuildRequest {
        remote: Some(RemoteContext::Stdin(Arc::new(req.body.clone()))),
        tags: req
            .query
            .iter()
            .filter(|(k, v)| k == "t" && !v.is_empty())
            .map(|(_, v)| v.clone())
            .collect(),
        build_args: pairs(req, "buildargs")?,
        labels: pairs(req, "labels")?,
        target: req
            .param("target")
            .filter(|t| !t.is_empty())
            .map(Into::into),
        no_cache: req.flag("nocache"),
        pull: match req.flag("pull") {
            true => PullPolicy::Always,
            false => PullPolicy::Missing,
        },
        layers: true,
        quiet: req.flag("q"),
        // Docker's builder writes Docker's image format.
        is_docker: true,
        platform: req
            .param("platform")
            .filter(|p| !p.is_empty())
            .map(Into::into),
        retry_delay: std::time::Duration::from_secs(2),
        ..BuildRequest::default()
    };
    // A Containerfile named by the client is a file of the context.
    if let Some(f) = req
        .param("dockerfile")
        .filter(|f| !f.is_empty() && *f != "Dockerfile")
    {
        build.file = Some(ContainerfileSource::Path(f.into()));
    }
    if let Some(n) = req
        .param("networkmode")
        .filter(|n| !n.is_empty() && *n != "default")
    {
        build.run.network.network = Some(n.into());
    }
    // RUN's output has no way to the client: only stdin is attached.
    build.run.tuning.attach = vec!["stdin".into()];
    Ok(build)
}

/// `POST /build?t=&dockerfile=&buildargs=&labels=&target=&nocache=&pull=&q=`.
pub fn build(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, Failure> {
    let build = request(req)?;
    let stream = Stream {
        lines: JsonLines::open(ctx)?,
        is_quiet: build.quiet,
    };
    match ctx.engine.build(&build, &stream) {
        Ok(id) => {
            stream
                .lines
                .send(&json!({ "aux": { "ID": id.to_string() } }));
            stream.line(format!("Successfully built {}\n", short(id.hex())));
        }
        Err(e) => stream.lines.fail(&render_chain(&e)),
    }
    stream.lines.finish();
    Ok(Reply::Streamed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(query: &[(&str, &str)]) -> Request {
        Request {
            method: "POST".into(),
            path: "/build".into(),
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: Vec::new(),
            body: b"tar".to_vec(),
            is_closing: false,
        }
    }

    #[test]
    fn the_query_becomes_the_build_request() {
        let b = request(&req(&[
            ("t", "a:1"),
            ("t", "b"),
            ("buildargs", r#"{"X":"1","Y":null}"#),
            ("labels", r#"{"l":"v"}"#),
            ("dockerfile", "sub/Other"),
            ("nocache", "1"),
            ("pull", "true"),
        ]))
        .unwrap();
        assert_eq!(b.tags, ["a:1", "b"]);
        assert_eq!(
            b.build_args,
            [("X".into(), "1".into()), ("Y".into(), String::new())]
        );
        assert_eq!(b.labels, [("l".to_string(), "v".to_string())]);
        assert!(
            matches!(b.file, Some(ContainerfileSource::Path(ref p)) if p.as_os_str() == "sub/Other")
        );
        assert!(b.no_cache && b.layers && b.is_docker);
        assert_eq!(b.pull, PullPolicy::Always);
        assert!(matches!(b.remote, Some(RemoteContext::Stdin(ref t)) if t.as_slice() == b"tar"));
        // The default name is looked up in the context as `hutch build` does.
        assert!(request(&req(&[("dockerfile", "Dockerfile")]))
            .unwrap()
            .file
            .is_none());
        assert_eq!(
            request(&req(&[("remote", "git://x")])).unwrap_err().status,
            400
        );
        assert_eq!(
            request(&req(&[("buildargs", "[")])).unwrap_err().status,
            400
        );
    }
}
