//! The journald backend: events sent to the systemd journal with its
//! native protocol (one datagram of `KEY=value` fields on
//! `/run/systemd/journal/socket`, systemd-journald.service(8)), with the
//! fields Podman's journald backend gives them (`PODMAN_EVENT`,
//! `PODMAN_TYPE`, `PODMAN_TIME`, `PODMAN_ID`, `PODMAN_NAME`,
//! `PODMAN_IMAGE`, `PODMAN_EXIT_CODE`, `PODMAN_POD_ID`, `PODMAN_LABELS`,
//! ...), so tools reading Podman's events read hutch's; only
//! `SYSLOG_IDENTIFIER` is `hutch`, so the two do not mix. Read back with
//! `journalctl -o json`, as the user sees the journal.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::query::Matcher;
use super::{Error, Event, Kind};

/// The `SYSLOG_IDENTIFIER` of hutch's events.
const IDENTIFIER: &str = "hutch";

/// How long a followed journal is waited on at most between two looks at
/// the clock (for `--until`).
const WAIT_MS: u16 = 1000;

/// The journal fields of `e`, as Podman's journald backend writes them.
fn fields(e: &Event) -> Vec<(&'static str, String)> {
    let mut f = vec![
        ("MESSAGE", e.to_text(false)),
        ("PRIORITY", "6".to_string()),
        ("SYSLOG_IDENTIFIER", IDENTIFIER.to_string()),
        ("PODMAN_EVENT", e.status.clone()),
        ("PODMAN_TYPE", e.kind.name().to_string()),
        ("PODMAN_TIME", super::go_rfc3339(e.time)),
    ];
    match e.kind {
        Kind::Image => {
            f.push(("PODMAN_NAME", e.name.clone()));
            f.push(("PODMAN_ID", e.id.clone()));
        }
        Kind::Container | Kind::Pod => {
            f.push(("PODMAN_IMAGE", e.image.clone()));
            f.push(("PODMAN_NAME", e.name.clone()));
            f.push(("PODMAN_ID", e.id.clone()));
            if let Some(code) = e.exit_code {
                f.push(("PODMAN_EXIT_CODE", code.to_string()));
            }
            if !e.pod_id.is_empty() {
                f.push(("PODMAN_POD_ID", e.pod_id.clone()));
            }
            if let Some(labels) = e.attributes.as_ref().filter(|a| !a.is_empty()) {
                let json = serde_json::to_string(labels).unwrap_or_default();
                f.push(("PODMAN_LABELS", json));
            }
            if !e.health_status.is_empty() {
                f.push(("PODMAN_HEALTH_STATUS", e.health_status.clone()));
            }
        }
        Kind::Network => {
            f.push(("PODMAN_ID", e.id.clone()));
            f.push(("PODMAN_NETWORK_NAME", e.network.clone()));
        }
        Kind::Volume | Kind::System | Kind::Machine => {
            f.push(("PODMAN_NAME", e.name.clone()));
        }
    }
    f
}

/// The datagram of `fields` in the native protocol: `KEY=value\n`, or,
/// for a value with a newline, `KEY\n`, its length as 64-bit little
/// endian, the value and `\n`.
fn encode(fields: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in fields {
        out.extend_from_slice(key.as_bytes());
        if value.contains('\n') {
            out.push(b'\n');
            out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        } else {
            out.push(b'=');
        }
        out.extend_from_slice(value.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Sends `e` to the journal listening on `socket`.
pub(super) fn send(e: &Event, socket: &Path) -> std::io::Result<()> {
    let datagram = encode(&fields(e));
    UnixDatagram::unbound()?.send_to(&datagram, socket)?;
    Ok(())
}

/// The event a `journalctl -o json` entry holds; `None` when it holds
/// none (not hutch's, or damaged).
fn from_entry(entry: &serde_json::Value) -> Option<Event> {
    let field = |k: &str| entry.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let kind: Kind =
        serde_json::from_value(serde_json::Value::String(field("PODMAN_TYPE")?)).ok()?;
    let time = crate::container::logread::parse_timestamp(&field("PODMAN_TIME")?)?;
    let status = field("PODMAN_EVENT")?;
    let labels: Option<BTreeMap<String, String>> =
        field("PODMAN_LABELS").and_then(|l| serde_json::from_str(&l).ok());
    let is_container = matches!(kind, Kind::Container | Kind::Pod);
    Some(Event {
        exit_code: field("PODMAN_EXIT_CODE").and_then(|c| c.parse().ok()),
        id: field("PODMAN_ID").unwrap_or_default(),
        image: field("PODMAN_IMAGE").unwrap_or_default(),
        name: field("PODMAN_NAME").unwrap_or_default(),
        network: field("PODMAN_NETWORK_NAME").unwrap_or_default(),
        status,
        time,
        kind,
        health_status: field("PODMAN_HEALTH_STATUS").unwrap_or_default(),
        pod_id: field("PODMAN_POD_ID").unwrap_or_default(),
        attributes: match (is_container, labels) {
            (true, l) => Some(l.unwrap_or_default()),
            (false, _) => None,
        },
    })
}

/// Reads this user's hutch events from the journal through `journalctl`
/// (which reads every journal file the user may), following it when
/// `is_streaming` until `matcher.until`.
pub(super) fn read(
    matcher: &Matcher,
    is_streaming: bool,
    is_from_start: bool,
    each: &mut dyn FnMut(&Event) -> bool,
) -> Result<(), Error> {
    let socket = crate::paths::JOURNAL_SOCKET;
    if !Path::new(socket).exists() {
        return Err(Error::NoJournal {
            socket: socket.to_string(),
        });
    }
    let mut cmd = Command::new("journalctl");
    cmd.args(["--no-pager", "--output=json", "--all"])
        .arg(format!("_UID={}", nix::unistd::getuid()))
        .arg(format!("SYSLOG_IDENTIFIER={IDENTIFIER}"));
    if is_streaming {
        cmd.arg("--follow");
        cmd.arg(if is_from_start {
            "--lines=all"
        } else {
            "--lines=0"
        });
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(Error::Journalctl)?;
    let mut out = child.stdout.take().ok_or_else(|| {
        Error::Journalctl(std::io::Error::other("journalctl gave no output pipe"))
    })?;
    let result = relay(&mut out, matcher, each);
    let _ = child.kill();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(Error::Journalctl)?;
    let is_stopped_early = matches!(result, Ok(false));
    if !status.success() && !is_stopped_early {
        return Err(Error::JournalctlFailed {
            status: status.to_string(),
            stderr: stderr.trim().to_string(),
        });
    }
    result.map(|_| ())
}

/// Hands the events of journalctl's output `out` to `each`; `Ok(false)`
/// when it stopped before the output ended (`each` said so, or
/// `matcher.until` passed).
fn relay(
    out: &mut std::process::ChildStdout,
    matcher: &Matcher,
    each: &mut dyn FnMut(&Event) -> bool,
) -> Result<bool, Error> {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if matcher.until.is_some_and(|u| super::now_nanos() >= u) {
            return Ok(false);
        }
        let mut fds = [PollFd::new(out.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(WAIT_MS)) {
            Ok(0) | Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(Error::Journalctl(e.into())),
        }
        let n = match out.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Journalctl(e)),
        };
        if n == 0 {
            return Ok(true);
        }
        pending.extend_from_slice(&buf[..n]);
        while let Some(i) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            let Ok(entry) = serde_json::from_slice::<serde_json::Value>(&line) else {
                continue;
            };
            if let Some(event) = from_entry(&entry) {
                if matcher.matches(&event) && !each(&event) {
                    return Ok(false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::events::Status;

    #[test]
    fn fields_are_podmans_and_newlines_use_the_binary_form() {
        let mut e = Event::new(Kind::Container, Status::Died);
        e.id = "abc".into();
        e.name = "web".into();
        e.image = "img:latest".into();
        e.exit_code = Some(3);
        e.time = 1_796_463_151_000_000_000;
        e.attributes = Some(BTreeMap::from([("k".into(), "v".into())]));
        let f: BTreeMap<&str, String> = fields(&e).into_iter().collect();
        assert_eq!(f["PODMAN_EVENT"], "died");
        assert_eq!(f["PODMAN_TYPE"], "container");
        assert_eq!(f["PODMAN_EXIT_CODE"], "3");
        assert_eq!(f["PODMAN_LABELS"], "{\"k\":\"v\"}");
        assert_eq!(f["PODMAN_TIME"], "2026-12-05T09:32:31Z");
        assert_eq!(f["SYSLOG_IDENTIFIER"], "hutch");
        let wire = encode(&[("A", "x".into()), ("B", "1\n2".into())]);
        let mut want = b"A=x\nB\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"1\n2\n");
        assert_eq!(wire, want);
        // What journalctl gives back is the same event.
        let entry: serde_json::Value =
            serde_json::to_value(fields(&e).into_iter().collect::<BTreeMap<&str, String>>())
                .unwrap();
        assert_eq!(from_entry(&entry), Some(e));
    }

    #[test]
    fn a_datagram_reaches_a_listening_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut e = Event::new(Kind::Volume, Status::Create);
        e.name = "v1".into();
        send(&e, &path).unwrap();
        let mut buf = vec![0u8; 4096];
        let n = server.recv(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        assert!(text.contains("PODMAN_NAME=v1\n"), "{text}");
        assert!(text.contains("PODMAN_TYPE=volume\n"), "{text}");
    }
}
