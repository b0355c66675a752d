//! `GET /events`: the engine's event log (the one `hutch events` reads) as
//! Docker's event messages, one JSON object per chunk.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::docker::{parse_filters, Ctx, Failure, Reply};
use super::http::{self, Request};
use crate::container::events::{Event, EventQuery};
use crate::error::render_chain;

/// Docker's action for a status the engine records (`died` is Docker's
/// `die`).
fn action(status: &str) -> &str {
    match status {
        "died" => "die",
        "exec_died" => "exec_die",
        s => s,
    }
}

/// One event as dockerd writes it: `Type`, `Action`, `Actor` (the id and
/// its attributes: the name, the image and a container's labels),
/// `time` and `timeNano`, and the older `status`, `id` and `from`.
pub fn docker_event(e: &Event) -> Value {
    let mut attributes: BTreeMap<String, String> = e.attributes.clone().unwrap_or_default();
    if !e.name.is_empty() {
        attributes.insert("name".into(), e.name.clone());
    }
    if !e.image.is_empty() {
        attributes.insert("image".into(), e.image.clone());
    }
    if let Some(code) = e.exit_code {
        attributes.insert("exitCode".into(), code.to_string());
    }
    if !e.network.is_empty() {
        attributes.insert("container".into(), e.id.clone());
        attributes.insert("name".into(), e.network.clone());
    }
    let id = if e.id.is_empty() { &e.name } else { &e.id };
    let mut v = json!({
        "Type": e.kind.name(),
        "Action": action(&e.status),
        "Actor": { "ID": id, "Attributes": attributes },
        "scope": "local",
        "time": e.time.div_euclid(1_000_000_000),
        "timeNano": e.time,
    });
    if e.kind == crate::container::events::Kind::Container {
        v["status"] = action(&e.status).into();
        v["id"] = id.as_str().into();
        v["from"] = e.image.as_str().into();
    }
    v
}

/// `GET /events?since=&until=&filters=`: the logged events from `since`
/// (else only new ones), then new ones until `until` (else until the
/// client leaves). Filters: `container`, `event`, `image`, `label`,
/// `type`, `volume`, as `hutch events --filter`.
pub fn events(ctx: &mut Ctx<'_>, req: &Request) -> Result<Reply, Failure> {
    let mut filters = Vec::new();
    if let Some(f) = req.param("filters").filter(|f| !f.is_empty()) {
        for (key, values) in parse_filters(f)? {
            if !matches!(
                key.as_str(),
                "container" | "event" | "image" | "label" | "type" | "volume"
            ) {
                return Err(Failure::new(400, format!("invalid filter '{key}'")));
            }
            filters.extend(values.into_iter().map(|v| format!("{key}={v}")));
        }
    }
    let param = |k: &str| req.param(k).filter(|v| !v.is_empty()).map(str::to_string);
    let query = EventQuery {
        filters,
        since: param("since"),
        until: param("until"),
        is_streaming: true,
    };
    ctx.write_stream_head("application/json", &[("Transfer-Encoding", "chunked")])?;
    watch_for_hangup(&ctx.conn);
    let mut conn = ctx
        .conn
        .try_clone()
        .map_err(|e| Failure::new(500, e.to_string()))?;
    let sent = ctx.engine.events(&query, &mut |e| {
        http::write_chunk(&mut conn, format!("{}\n", docker_event(e)).as_bytes()).is_ok()
    });
    match sent {
        Ok(()) => {
            let _ = http::end_chunks(&mut conn);
        }
        // The head is sent: an error can only end the stream.
        Err(e) => log::debug!("events ended: {}", render_chain(&e)),
    }
    Ok(Reply::Streamed)
}

/// Ends this connection's process when the client hangs up: the engine
/// calls back only on an event, and a quiet log would keep the process
/// waiting for ever. A thread is fine here: this process never clones
/// again (it serves only this stream).
fn watch_for_hangup(conn: &std::fs::File) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let Ok(conn) = conn.try_clone() else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("hutch-events-hangup".into())
        .spawn(move || loop {
            let mut fds = [PollFd::new(conn.as_fd(), PollFlags::POLLIN)];
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                continue;
            }
            let ready = fds[0].revents().unwrap_or(PollFlags::empty());
            let mut byte = [0u8; 1];
            let peeked = nix::sys::socket::recv(
                std::os::fd::AsRawFd::as_raw_fd(&conn),
                &mut byte,
                nix::sys::socket::MsgFlags::MSG_PEEK | nix::sys::socket::MsgFlags::MSG_DONTWAIT,
            );
            let is_gone = ready.intersects(PollFlags::POLLHUP | PollFlags::POLLERR)
                || match peeked {
                    Ok(0) => true,
                    Ok(_) | Err(nix::errno::Errno::EAGAIN) => false,
                    Err(_) => true,
                };
            if is_gone {
                std::process::exit(0);
            }
            // Bytes sent after the request: not an end; look again later.
            std::thread::sleep(std::time::Duration::from_millis(200));
        });
    if let Err(e) = spawned {
        log::debug!("no hang-up watcher for the event stream: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::events::{Kind, Status};

    #[test]
    fn events_take_dockers_shape() {
        let mut e = Event::new(Kind::Container, Status::Died);
        e.id = "abc".into();
        e.name = "web".into();
        e.image = "busybox".into();
        e.exit_code = Some(3);
        e.time = 1_700_000_000_123_456_789;
        e.attributes = Some([("team".to_string(), "a".to_string())].into());
        let v = docker_event(&e);
        assert_eq!(v["Type"], "container");
        assert_eq!(v["Action"], "die");
        assert_eq!(v["status"], "die");
        assert_eq!(v["Actor"]["ID"], "abc");
        assert_eq!(v["Actor"]["Attributes"]["name"], "web");
        assert_eq!(v["Actor"]["Attributes"]["team"], "a");
        assert_eq!(v["Actor"]["Attributes"]["exitCode"], "3");
        assert_eq!(v["from"], "busybox");
        assert_eq!(v["time"], 1_700_000_000);
        assert_eq!(v["timeNano"], 1_700_000_000_123_456_789i64);
        let v = docker_event(&Event::new(Kind::Image, Status::Pull));
        assert!(v.get("status").is_none(), "{v}");
    }
}
