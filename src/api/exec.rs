//! Exec sessions: `POST /containers/{id}/exec` records one, `POST
//! /exec/{id}/start` runs it through the engine's exec (hijacked like
//! `attach`: Docker's frames without a tty, raw bytes with one),
//! `/exec/{id}/resize` and `GET /exec/{id}/json`. The records live in the
//! run directory (`container::exec_session`), since every connection is
//! its own process.

use std::io::Write;
use std::os::fd::AsFd;

use serde_json::{json, Value};

use super::docker::{Ctx, Failure, Reply};
use super::http::Request;
use super::stream::write_output;
use crate::container::attach::Kind;
use crate::container::exec_session::{self, ExecSession, SessionConfig, Sink};
use crate::error::render_chain;

impl From<exec_session::Error> for Failure {
    fn from(e: exec_session::Error) -> Failure {
        match e {
            exec_session::Error::Container(e) => Failure::from(e),
            exec_session::Error::NoSuchSession(_) => Failure::new(404, render_chain(&e)),
            exec_session::Error::AlreadyStarted(_) => Failure::new(409, render_chain(&e)),
            exec_session::Error::Record { .. } => Failure::new(500, render_chain(&e)),
        }
    }
}

/// The create body's fields hutch reads (Docker's `ExecConfig`).
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct CreateBody {
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    tty: bool,
    cmd: Option<Vec<String>>,
    env: Option<Vec<String>>,
    user: String,
    working_dir: String,
    privileged: bool,
}

/// The start body (`ExecStartConfig`).
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct StartBody {
    detach: bool,
}

/// A JSON body, or the defaults for an empty one.
pub(super) fn parse<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> Result<T, Failure> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| Failure::new(400, format!("invalid JSON body: {e}")))
}

/// `POST /containers/{id}/exec`.
pub fn create(ctx: &Ctx<'_>, name: &str, req: &Request) -> Result<Reply, Failure> {
    let body: CreateBody = parse(&req.body)?;
    let command = body.cmd.unwrap_or_default();
    if command.is_empty() {
        return Err(Failure::new(400, "No exec command specified"));
    }
    // A bare name (no `=`) would copy the service's own variable.
    let env = body
        .env
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.contains('='))
        .collect();
    let config = SessionConfig {
        command,
        env,
        user: body.user,
        workdir: body.working_dir,
        tty: body.tty,
        attach_stdin: body.attach_stdin,
        attach_stdout: body.attach_stdout,
        attach_stderr: body.attach_stderr,
        privileged: body.privileged,
    };
    let engine = ctx.engine;
    // Docker's words for a container that is not running.
    let id = engine.container_id(name)?;
    if !engine.is_running(&id)? {
        return Err(Failure::new(409, format!("Container {id} is not running")));
    }
    let session = engine.create_exec_session(name, config)?;
    Ok(Reply::Json(201, json!({ "Id": session })))
}

/// Docker's frames of the command's output, on the connection.
struct Frames {
    conn: std::fs::File,
    streams: (bool, bool),
}

impl Sink for Frames {
    fn take(&mut self, is_stderr: bool, data: &[u8]) {
        let (kind, wanted) = match is_stderr {
            true => (Kind::Stderr, self.streams.1),
            false => (Kind::Stdout, self.streams.0),
        };
        if wanted {
            write_output(&mut self.conn, false, kind, data);
        }
    }

    fn finish(&mut self) {}
}

/// `POST /exec/{id}/start`: detached, 200 once it runs; else the
/// connection carries the command's input and output until it exits,
/// and its exit code is in the record (`GET /exec/{id}/json`).
pub fn start(ctx: &mut Ctx<'_>, id: &str, req: &Request) -> Result<Reply, Failure> {
    let body: StartBody = parse(&req.body)?;
    let engine = ctx.engine;
    let session = engine.exec_session(id)?;
    if session.is_started {
        return Err(exec_session::Error::AlreadyStarted(id.to_string()).into());
    }
    if body.detach {
        engine.start_exec_session(id, true, None)?;
        return Ok(Reply::Empty(200));
    }
    let c = &session.config;
    super::stream::hijack_head(ctx, req, true, c.tty)?;
    let failed = |e: std::io::Error| Failure::new(500, e.to_string());
    // The command reads the client's input from our stdin, which it
    // inherits; with a tty the relay copies the pty to our stdout.
    if c.attach_stdin {
        nix::unistd::dup2_stdin(ctx.conn.as_fd()).map_err(|e| failed(e.into()))?;
    }
    let mut frames = Frames {
        conn: ctx.conn.try_clone().map_err(failed)?,
        streams: (c.attach_stdout, c.attach_stderr),
    };
    let sink = match c.tty {
        true => {
            nix::unistd::dup2_stdout(ctx.conn.as_fd()).map_err(|e| failed(e.into()))?;
            None
        }
        false => Some(&mut frames as &mut dyn Sink),
    };
    if let Err(e) = engine.start_exec_session(id, false, sink) {
        // The stream is the answer: the error goes where stderr would.
        let line = format!("Error: {}\n", render_chain(&e));
        write_output(&mut ctx.conn, c.tty, Kind::Stderr, line.as_bytes());
    }
    let _ = ctx.conn.flush();
    Ok(Reply::Streamed)
}

/// `POST /exec/{id}/resize`: accepted, not passed on (as a container's).
pub fn resize(ctx: &Ctx<'_>, id: &str) -> Result<Reply, Failure> {
    ctx.engine.exec_session(id)?;
    Ok(Reply::Empty(201))
}

/// `GET /exec/{id}/json`.
pub fn inspect(ctx: &Ctx<'_>, id: &str) -> Result<Reply, Failure> {
    Ok(Reply::Json(
        200,
        session_json(&ctx.engine.exec_session(id)?),
    ))
}

/// Docker's `ExecInspect` of a session.
fn session_json(s: &ExecSession) -> Value {
    let c = &s.config;
    let (entrypoint, arguments) = match c.command.split_first() {
        Some((first, rest)) => (first.clone(), rest.to_vec()),
        None => (String::new(), Vec::new()),
    };
    json!({
        "ID": s.id,
        "ContainerID": s.container,
        "Running": s.is_running,
        "ExitCode": s.exit_code,
        "Pid": s.pid.unwrap_or(0),
        "OpenStdin": c.attach_stdin,
        "OpenStdout": c.attach_stdout,
        "OpenStderr": c.attach_stderr,
        "CanRemove": false,
        "DetachKeys": "",
        "ProcessConfig": {
            "tty": c.tty,
            "entrypoint": entrypoint,
            "arguments": arguments,
            "privileged": c.privileged,
            "user": c.user,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_splits_the_command_as_docker_does() {
        let s = ExecSession {
            id: "e1".into(),
            container: "c1".into(),
            config: SessionConfig {
                command: vec!["sh".into(), "-c".into(), "exit 3".into()],
                ..SessionConfig::default()
            },
            is_started: true,
            exit_code: Some(3),
            ..ExecSession::default()
        };
        let v = session_json(&s);
        assert_eq!(v["ProcessConfig"]["entrypoint"], "sh");
        assert_eq!(v["ProcessConfig"]["arguments"], json!(["-c", "exit 3"]));
        assert_eq!(v["ExitCode"], 3);
        assert_eq!(v["Running"], false);
        assert_eq!(v["Pid"], 0);
    }

    #[test]
    fn create_bodies_parse_docker_fields() {
        let b: CreateBody = parse(
            br#"{"AttachStdout":true,"Tty":true,"Cmd":["echo","hi"],"Env":["A=1"],"WorkingDir":"/tmp","User":"1:1","Privileged":true}"#,
        )
        .unwrap();
        assert!(b.attach_stdout && b.tty && b.privileged && !b.attach_stdin);
        assert_eq!(b.cmd.unwrap(), ["echo", "hi"]);
        assert_eq!(b.working_dir, "/tmp");
        assert!(parse::<CreateBody>(b"[").is_err());
        assert!(!parse::<StartBody>(b"").unwrap().detach);
    }
}
