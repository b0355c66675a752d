//! The answers that stream: `wait` (head at once, body at the exit),
//! `logs` and `attach` (Docker's multiplexed frames unless the container
//! has a tty), and pulls (progress as JSON lines). Each ends its
//! connection, so its body is delimited by the close.

use std::io::Write;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use serde_json::json;

use super::docker::{Ctx, Failure, Reply};
use super::http::{self, Request};
use crate::container::attach::{self, Ends, Kind};
use crate::container::logread::{Record, RotatingLog, Stream};
use crate::container::query::ContainerStatus;
use crate::container::{self, load_spec, Engine, WaitCondition};
use crate::error::render_chain;

/// How often a waiting handler looks at the container again.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// How often `logs --follow` reads the log again.
const FOLLOW_INTERVAL: Duration = Duration::from_millis(100);

/// Whether the client closed the connection (or it broke) within `wait`.
/// `is_half_open`: the client may shut down its sending side and still
/// read (a hijacked stream without stdin), so end of input is not its end.
fn is_client_gone(ctx: &Ctx<'_>, wait: Duration, is_half_open: bool) -> bool {
    use std::os::fd::AsRawFd;
    let mut fds = [PollFd::new(ctx.conn.as_fd(), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
    let ready = match poll(&mut fds, timeout) {
        Ok(n) if n > 0 => fds[0].revents().unwrap_or(PollFlags::empty()),
        _ => return false,
    };
    if ready.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
        return true;
    }
    let mut byte = [0u8; 1];
    let flags = nix::sys::socket::MsgFlags::MSG_PEEK | nix::sys::socket::MsgFlags::MSG_DONTWAIT;
    match nix::sys::socket::recv(ctx.conn.as_raw_fd(), &mut byte, flags) {
        Ok(0) if !is_half_open => true,
        // Input sent ahead (a client's stdin): not gone; wait the interval.
        Ok(_) | Err(nix::errno::Errno::EAGAIN) => {
            std::thread::sleep(wait);
            false
        }
        Err(_) => true,
    }
}

/// A container's state as a waiting handler needs it: `None` once gone.
fn look(engine: &Engine, id: &str) -> Option<(ContainerStatus, Option<String>)> {
    engine
        .container(id)
        .ok()
        .map(|i| (i.state.status, i.state.started_at.clone()))
}

/// Waits until container `id` has started a run after `since` (its start
/// time then), is gone, or the client left (false).
fn wait_for_run(ctx: &Ctx<'_>, id: &str, since: &Option<String>, is_half_open: bool) -> bool {
    loop {
        match look(ctx.engine, id) {
            None => return true,
            Some((ContainerStatus::Running, _)) => return true,
            Some((_, started)) if started.is_some() && &started != since => return true,
            Some(_) => {}
        }
        if is_client_gone(ctx, POLL_INTERVAL, is_half_open) {
            return false;
        }
    }
}

/// `POST /containers/{id}/wait?condition=not-running|next-exit|removed`.
pub fn wait(ctx: &mut Ctx<'_>, name: &str, req: &Request) -> Result<Reply, Failure> {
    let condition = req.param("condition").unwrap_or("not-running");
    if !matches!(condition, "" | "not-running" | "next-exit" | "removed") {
        return Err(Failure::new(
            400,
            format!("invalid condition: {condition:?}"),
        ));
    }
    let engine = ctx.engine;
    let id = engine.container_id(name)?;
    let info = engine.container(&id)?;
    let common = ctx.common(true);
    // Docker's clients start the container once the head is here.
    http::write_head(
        &mut ctx.conn,
        &common,
        200,
        Some("application/json"),
        None,
        &[],
    )
    .map_err(|e| Failure::new(500, e.to_string()))?;
    let is_running = info.state.status == ContainerStatus::Running;
    // A container not running yet: its next run's exit is the one.
    let is_next_wanted = matches!(condition, "next-exit" | "removed");
    if is_next_wanted && !is_running && !wait_for_run(ctx, &id, &info.state.started_at, false) {
        return Ok(Reply::Streamed);
    }
    // A client that left ends the wait: its process would otherwise stay
    // until the container stops.
    while engine.is_running(&id).unwrap_or(false) {
        if is_client_gone(ctx, POLL_INTERVAL, false) {
            return Ok(Reply::Streamed);
        }
    }
    let stopped = [WaitCondition::Stopped];
    let (code, error) = match engine.wait_for(&id, name, &stopped, POLL_INTERVAL) {
        Ok(code) => (code.unwrap_or(0), None),
        Err(e) => (-1, Some(render_chain(&e))),
    };
    if condition == "removed" {
        while look(engine, &id).is_some() {
            if is_client_gone(ctx, POLL_INTERVAL, false) {
                return Ok(Reply::Streamed);
            }
        }
    }
    let body = json!({
        "StatusCode": code,
        "Error": error.map(|m| json!({ "Message": m })),
    });
    let _ = writeln!(ctx.conn, "{body}");
    Ok(Reply::Streamed)
}

/// Writes output for a client: raw with a tty, else in Docker's frames
/// (stream byte, three zero bytes, big-endian length, payload).
pub(super) fn write_output(conn: &mut impl Write, is_tty: bool, kind: Kind, data: &[u8]) -> bool {
    if data.is_empty() {
        return true;
    }
    if !is_tty {
        let stream = match kind {
            Kind::Stderr => 2u8,
            _ => 1u8,
        };
        let mut head = [stream, 0, 0, 0, 0, 0, 0, 0];
        // Records and monitor frames are far below 4 GiB.
        head[4..].copy_from_slice(&(data.len() as u32).to_be_bytes());
        if conn.write_all(&head).is_err() {
            return false;
        }
    }
    conn.write_all(data).is_ok()
}

/// The content type of a container's output stream.
/// The head of a hijacked stream (attach, exec start): `101 Switching
/// Protocols` when the client asked to upgrade, else 200, with the raw or
/// multiplexed stream type for a tty or not.
pub(super) fn hijack_head(
    ctx: &mut Ctx<'_>,
    req: &Request,
    is_closing: bool,
    is_tty: bool,
) -> Result<(), Failure> {
    let common = ctx.common(is_closing);
    let is_upgrade = req.header("upgrade").is_some();
    let (status, extra): (u16, &[(&str, &str)]) = match is_upgrade {
        true => (101, &[("Connection", "Upgrade"), ("Upgrade", "tcp")]),
        false => (200, &[]),
    };
    http::write_head(
        &mut ctx.conn,
        &common,
        status,
        Some(raw_type(is_tty)),
        None,
        extra,
    )
    .map_err(|e| Failure::new(500, e.to_string()))
}

pub(super) fn raw_type(is_tty: bool) -> &'static str {
    match is_tty {
        true => "application/vnd.docker.raw-stream",
        false => "application/vnd.docker.multiplexed-stream",
    }
}

/// One log record as the client asked for it; false when it is gone.
fn send_record(
    conn: &mut impl Write,
    rec: &Record,
    is_tty: bool,
    streams: (bool, bool),
    is_timestamped: bool,
) -> bool {
    let (kind, wanted) = match rec.stream {
        Stream::Stdout => (Kind::Stdout, streams.0),
        Stream::Stderr => (Kind::Stderr, streams.1),
    };
    if !wanted {
        return true;
    }
    let mut data = Vec::with_capacity(rec.content.len() + 40);
    if is_timestamped {
        data.extend_from_slice(rec.timestamp.as_bytes());
        data.push(b' ');
    }
    data.extend_from_slice(&rec.content);
    if !rec.is_partial {
        data.push(b'\n');
    }
    write_output(conn, is_tty, kind, &data)
}

/// `GET /containers/{id}/logs?stdout&stderr&follow&tail&timestamps`.
/// libpod's (`is_always_framed`) frames the output with a tty too, and
/// takes `tail=-1` for all.
pub fn logs(
    ctx: &mut Ctx<'_>,
    name: &str,
    req: &Request,
    is_always_framed: bool,
) -> Result<Reply, Failure> {
    let engine = ctx.engine;
    let source = engine.log_source(name)?;
    let info = engine.container(&source.id)?;
    let is_tty = !is_always_framed && load_spec(&info).is_ok_and(|p| p.tty);
    let streams = (req.flag("stdout"), req.flag("stderr"));
    let tail = match req.param("tail") {
        None | Some("" | "all") => None,
        Some(n) if is_always_framed && n.starts_with('-') => None,
        Some(n) => Some(
            n.parse::<usize>()
                .map_err(|_| Failure::new(400, format!("invalid tail: {n:?}")))?,
        ),
    };
    let is_following = req.flag("follow");
    let is_timestamped = req.flag("timestamps");
    let mut reader = RotatingLog::open(&source.path).map_err(container::Error::from)?;
    if let (Some(r), Some(n)) = (reader.as_mut(), tail) {
        r.seek_tail(n).map_err(container::Error::from)?;
    }
    ctx.write_stream_head(raw_type(is_tty), &[])?;
    loop {
        if reader.is_none() {
            reader = RotatingLog::open(&source.path).ok().flatten();
        }
        if let Some(r) = reader.as_mut() {
            loop {
                let Ok((records, is_at_end)) = r.read_chunk() else {
                    return Ok(Reply::Streamed);
                };
                for rec in &records {
                    if !send_record(&mut ctx.conn, rec, is_tty, streams, is_timestamped) {
                        return Ok(Reply::Streamed);
                    }
                }
                if is_at_end {
                    break;
                }
            }
        }
        let is_running = engine.is_running(&source.id).unwrap_or(false);
        if !is_following || !is_running {
            if let Some(rec) = reader.as_mut().and_then(RotatingLog::finish) {
                send_record(&mut ctx.conn, &rec, is_tty, streams, is_timestamped);
            }
            return Ok(Reply::Streamed);
        }
        if let Some(r) = reader.as_mut() {
            let _ = r.follow_rotation();
        }
        if is_client_gone(ctx, FOLLOW_INTERVAL, false) {
            return Ok(Reply::Streamed);
        }
    }
}

/// `POST /containers/{id}/attach?stream&stdin&stdout&stderr`: the
/// connection is hijacked (`101`, `Upgrade: tcp`) and carries the
/// container's output, and its input with `stdin=1` on a container made
/// with `OpenStdin`. Docker's clients attach before they start the
/// container: the handler waits for the run, then connects to its
/// monitor asking for the output written before it connected; a run that
/// ended before that has its output in the log, read from where it stood
/// when the attach came in.
pub fn attach(ctx: &mut Ctx<'_>, name: &str, req: &Request) -> Result<Reply, Failure> {
    let engine = ctx.engine;
    let id = engine.container_id(name)?;
    let info = engine.container(&id)?;
    let plan = load_spec(&info)?;
    let is_tty = plan.tty;
    let streams = (req.flag("stdout"), req.flag("stderr"));
    let log_path = engine.default_log_path(&id)?;
    let mut log =
        container::logread::LogReader::open_or_create(&log_path).map_err(container::Error::from)?;
    log.seek_tail(0, true).map_err(container::Error::from)?;
    hijack_head(ctx, req, false, is_tty)?;
    let since = info.state.started_at.clone();
    if info.state.status != ContainerStatus::Running && !wait_for_run(ctx, &id, &since, true) {
        return Ok(Reply::Streamed);
    }
    let opts = attach::Options {
        detach_keys: Vec::new(),
        is_stdin_sent: req.flag("stdin") && plan.interactive,
        is_stdin_closed_at_eof: true,
        is_sig_proxied: false,
        is_replayed: true,
    };
    let mut out = ctx
        .conn
        .try_clone()
        .map_err(|e| Failure::new(500, e.to_string()))?;
    let mut output = |kind: Kind, data: &[u8]| {
        let wanted = match kind {
            Kind::Stderr => streams.1,
            _ => streams.0,
        };
        if wanted {
            write_output(&mut out, is_tty, kind, data);
        }
    };
    let input = ctx
        .conn
        .try_clone()
        .map_err(|e| Failure::new(500, e.to_string()))?;
    let mut ends = Ends {
        input: input.as_fd(),
        output: &mut output,
        is_terminal: false,
    };
    match engine.attach_with(&id, &opts, &mut ends) {
        // Ended, or ended and removed (`--rm`): the log opened above
        // still holds its output.
        Err(attach::Error::Container(e))
            if matches!(*e, container::Error::NotRunning(_)) || e.is_missing() => {}
        // The stream is the answer: an error can only end it.
        other => {
            log::debug!(
                "attach to {id} ended: {:?}",
                other.map_err(|e| render_chain(&e))
            );
            return Ok(Reply::Streamed);
        }
    }
    log::debug!("{id} ended before the attach connected: sending its log");
    // The run ended before we connected: its output is in the log.
    let _ = engine.wait_started(&id);
    while let Ok((records, is_at_end)) = log.read_chunk() {
        for rec in &records {
            send_record(&mut ctx.conn, rec, is_tty, streams, false);
        }
        if is_at_end {
            break;
        }
    }
    if let Some(rec) = log.finish() {
        send_record(&mut ctx.conn, &rec, is_tty, streams, false);
    }
    Ok(Reply::Streamed)
}

/// A chunked stream of JSON lines, one chunk each, as dockerd sends a
/// pull's, push's or build's progress; `Sync`, since the engine reports
/// through `&self`.
pub struct JsonLines(std::sync::Mutex<std::fs::File>);

impl JsonLines {
    /// Sends the head of a chunked `application/json` answer.
    pub fn open(ctx: &mut Ctx<'_>) -> Result<JsonLines, Failure> {
        ctx.write_stream_head("application/json", &[("Transfer-Encoding", "chunked")])?;
        let conn = ctx
            .conn
            .try_clone()
            .map_err(|e| Failure::new(500, e.to_string()))?;
        Ok(JsonLines(std::sync::Mutex::new(conn)))
    }

    /// Sends `v` as one line in a chunk of its own.
    pub fn send(&self, v: &serde_json::Value) {
        if let Ok(mut conn) = self.0.lock() {
            let _ = http::write_chunk(&mut *conn, format!("{v}\n").as_bytes());
        }
    }

    /// Sends the error line Docker's clients read as the operation's failure.
    pub fn fail(&self, message: &str) {
        self.send(&json!({ "errorDetail": { "message": message }, "error": message }));
    }

    /// Ends the chunked body.
    pub fn finish(&self) {
        if let Ok(mut conn) = self.0.lock() {
            let _ = http::end_chunks(&mut *conn);
        }
    }
}

/// Sends a pull's progress as Docker's JSON messages: per layer
/// `Pulling fs layer`, `Downloading`, `Download complete`, `Extracting`
/// and `Pull complete`, each with `id` (the blob's short digest) and
/// `progressDetail`. Layers are reported when the engine has fetched them
/// all, and again when they are unpacked, not byte by byte.
struct PullProgress {
    lines: JsonLines,
    /// Whether any layer was fetched (else the image was up to date).
    has_fetched: std::sync::atomic::AtomicBool,
}

impl PullProgress {
    fn send(&self, v: &serde_json::Value) {
        self.lines.send(v);
    }
}

impl crate::image::Reporter for PullProgress {
    fn notice(&self, line: &str) {
        // `Trying to pull…` is hutch's; Docker's stream has no such line.
        log::debug!("{}", line.trim_end());
    }

    fn layer(&self, id: &str, size: u64, step: crate::image::LayerStep) {
        use crate::image::LayerStep;
        let done = json!({ "current": size, "total": size });
        let bar = format!("[==================================================>]  {size}B/{size}B");
        let lines: Vec<(&str, serde_json::Value, Option<&str>)> = match step {
            LayerStep::Fetched => {
                self.has_fetched
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                vec![
                    ("Pulling fs layer", json!({}), None),
                    ("Downloading", done, Some(&bar)),
                    ("Download complete", json!({}), None),
                ]
            }
            LayerStep::Unpacked => vec![
                ("Extracting", done, Some(&bar)),
                ("Pull complete", json!({}), None),
            ],
        };
        for (status, detail, progress) in lines {
            let mut v = json!({ "status": status, "progressDetail": detail, "id": id });
            if let Some(p) = progress {
                v["progress"] = p.into();
            }
            self.send(&v);
        }
    }
}

/// `POST /images/create?fromImage=NAME&tag=TAG`: a pull, its progress
/// as JSON lines and an error as an `errorDetail` line.
pub fn pull(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, Failure> {
    let Some(image) = req.param("fromImage").filter(|i| !i.is_empty()) else {
        return Err(Failure::new(
            501,
            "only pulls (fromImage) are served; importing (fromSrc) is not yet",
        ));
    };
    let name = match req.param("tag").unwrap_or("") {
        "" => image.to_string(),
        t if t.contains(':') => format!("{image}@{t}"),
        t => format!("{image}:{t}"),
    };
    let platform = match req.param("platform").filter(|p| !p.is_empty()) {
        Some(p) => {
            crate::image::Platform::parse(p).map_err(|e| Failure::new(400, render_chain(&e)))?
        }
        None => crate::image::Platform::host(),
    };
    let opts = crate::image::PullOptions {
        platform,
        quiet: false,
        tls_verify: None,
        authfile: None,
        cert_dir: None,
        credentials: super::transfer::registry_auth(req)?,
    };
    let progress = PullProgress {
        lines: JsonLines::open(ctx)?,
        has_fetched: false.into(),
    };
    progress.send(&json!({ "status": format!("Pulling from {image}"), "id": req.param("tag").unwrap_or("latest") }));
    let started = Instant::now();
    match ctx.engine.pull(&name, &opts, &progress) {
        Ok(rec) => {
            log::debug!("pulled {name} in {:?}", started.elapsed());
            progress.send(&json!({ "status": format!("Digest: {}", rec.manifest_digest) }));
            let outcome = if progress
                .has_fetched
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                "Downloaded newer image for"
            } else {
                "Image is up to date for"
            };
            progress.send(&json!({ "status": format!("Status: {outcome} {name}") }));
        }
        Err(e) => progress.lines.fail(&render_chain(&e)),
    }
    progress.lines.finish();
    Ok(Reply::Streamed)
}
