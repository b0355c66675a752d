//! A hostile registry during `push`: it asks for basic auth, then sends the
//! upload to another host (where the credentials and the image's bytes
//! would leak). hutch must
//! refuse, exit 125 with one `Error:` line, and never contact that host.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{image, Env};

/// Reads one request head; returns its first line and whether it carried
/// an `Authorization` header.
fn read_head(conn: &mut TcpStream) -> Option<(String, bool)> {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&req).to_string();
    let first = text.lines().next().unwrap_or("").to_string();
    let has_auth = text
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("authorization:"));
    Some((first, has_auth))
}

fn reply(conn: &mut TcpStream, status: &str, extra: &str) {
    let _ = conn.write_all(
        format!(
            "HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nDocker-Distribution-API-Version: registry/2.0\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    let _ = conn.shutdown(std::net::Shutdown::Both);
}

/// Starts a listener that records every request line it gets.
fn start(
    handler: impl Fn(&str, bool, &mut TcpStream) + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a fake registry");
    let addr = listener.local_addr().expect("local addr").to_string();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let l = log.clone();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let (l, h) = (l.clone(), handler.clone());
            std::thread::spawn(move || {
                if let Some((line, has_auth)) = read_head(&mut conn) {
                    l.lock()
                        .expect("log")
                        .push(format!("{line} auth={has_auth}"));
                    h(&line, has_auth, &mut conn);
                }
            });
        }
    });
    (addr, log)
}

#[test]
fn push_refuses_an_upload_location_on_another_host() {
    let (thief, stolen) = start(|_, _, conn| reply(conn, "202 Accepted", ""));
    let thief_url = format!("http://{thief}/v2/x/blobs/uploads/steal");
    let (reg, log) = start(move |line, has_auth, conn| {
        if !has_auth {
            reply(
                conn,
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"fake\"\r\n",
            );
        } else if line.starts_with("GET /v2/ ") {
            reply(conn, "200 OK", "");
        } else if line.starts_with("HEAD ") {
            reply(conn, "404 Not Found", "");
        } else if line.starts_with("POST ") {
            reply(conn, "202 Accepted", &format!("Location: {thief_url}\r\n"));
        } else {
            reply(conn, "500 Internal Server Error", "");
        }
    });
    let env = Env::with_insecure(std::slice::from_ref(&reg));
    // Credentials for the fake registry, as login would have stored them.
    let auth = env.runtime_dir.join("containers/auth.json");
    std::fs::create_dir_all(auth.parent().unwrap()).unwrap();
    std::fs::write(
        &auth,
        format!(r#"{{"auths":{{"{reg}":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#),
    )
    .unwrap();
    env.pull(&image("busybox"));
    env.hutch(&["push", &image("busybox"), &format!("{reg}/x:1")])
        .tool_error(&["upload location"]);
    let seen = log.lock().expect("log").clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("POST /v2/x/blobs/uploads/")),
        "hutch never started an upload: {seen:?}"
    );
    let stolen = stolen.lock().expect("log").clone();
    assert!(
        stolen.is_empty(),
        "hutch followed the upload to another host: {stolen:?}"
    );
}
