//! Registries during `push` that hutch must handle with care: one asks for
//! basic auth and then sends the upload to another host (where the
//! credentials and the image's bytes would leak); one hands out bearer
//! tokens only for the credentials and checks the scopes asked for.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::{image, Env};

/// One request as the fake registries see it.
struct Request {
    /// `METHOD TARGET HTTP/1.1`.
    line: String,
    /// The `Authorization` header, if any.
    auth: Option<String>,
}

/// Reads one request (head and a `Content-Length` body).
fn read_request(conn: &mut TcpStream) -> Option<Request> {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&req[..end]).to_string();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut have = req.len() - end;
    while have < length {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => have += n,
        }
    }
    Some(Request {
        line: head.lines().next().unwrap_or("").to_string(),
        auth: header("authorization"),
    })
}

fn reply(conn: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ = conn.write_all(
        format!(
            "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nDocker-Distribution-API-Version: registry/2.0\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let _ = conn.flush();
    let _ = conn.shutdown(std::net::Shutdown::Write);
}

type Log = Arc<Mutex<Vec<String>>>;

/// Serves `listener` with `handler`, recording each request line with its
/// `Authorization` header.
fn serve(
    listener: TcpListener,
    handler: impl Fn(&Request, &mut TcpStream) + Send + Sync + 'static,
) -> Log {
    let log: Log = Arc::default();
    let l = log.clone();
    let handler = Arc::new(handler);
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let (l, h) = (l.clone(), handler.clone());
            std::thread::spawn(move || {
                if let Some(req) = read_request(&mut conn) {
                    l.lock().expect("log").push(format!(
                        "{} auth={}",
                        req.line,
                        req.auth.as_deref().unwrap_or("-")
                    ));
                    h(&req, &mut conn);
                }
            });
        }
    });
    log
}

fn bind() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a fake registry on 127.0.0.1:0");
    let addr = l.local_addr().expect("local addr").to_string();
    (l, addr)
}

/// An environment that trusts `reg` over plain HTTP and holds credentials
/// `user:secret` for it, as login would have stored them.
fn env_with_credentials(reg: &str) -> Env {
    let env = Env::with_insecure(&[reg.to_string()]);
    let auth = env.runtime_dir.join("containers/auth.json");
    std::fs::create_dir_all(auth.parent().expect("a parent")).expect("creating containers/");
    std::fs::write(
        &auth,
        format!(r#"{{"auths":{{"{reg}":{{"auth":"dXNlcjpzZWNyZXQ="}}}}}}"#),
    )
    .expect("writing auth.json");
    env.pull(&image("busybox"));
    env
}

#[test]
fn push_refuses_an_upload_location_on_another_host() {
    let (thief_listener, thief) = bind();
    let stolen = serve(thief_listener, |_, conn| {
        reply(conn, "202 Accepted", "", "")
    });
    let thief_url = format!("http://{thief}/v2/x/blobs/uploads/steal");
    let (listener, reg) = bind();
    let log = serve(listener, move |req, conn| {
        if req.auth.is_none() {
            reply(
                conn,
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"fake\"\r\n",
                "",
            );
        } else if req.line.starts_with("GET /v2/ ") {
            reply(conn, "200 OK", "", "");
        } else if req.line.starts_with("HEAD ") {
            reply(conn, "404 Not Found", "", "");
        } else if req.line.starts_with("POST ") {
            reply(
                conn,
                "202 Accepted",
                &format!("Location: {thief_url}\r\n"),
                "",
            );
        } else {
            reply(conn, "500 Internal Server Error", "", "");
        }
    });
    let env = env_with_credentials(&reg);
    env.hutch(&["push", &image("busybox"), &format!("{reg}/x:1")])
        .tool_error(&["upload location"]);
    let seen = log.lock().expect("log").clone();
    assert!(
        seen.iter()
            .any(|l| l.starts_with("POST /v2/x/blobs/uploads/") && l.contains("auth=Basic ")),
        "hutch never started an authenticated upload: {seen:?}"
    );
    let stolen = stolen.lock().expect("log").clone();
    assert!(
        stolen.is_empty(),
        "hutch followed the upload to another host: {stolen:?}"
    );
}

#[test]
fn push_asks_the_token_service_for_pull_push_scope_with_the_credentials() {
    let (listener, reg) = bind();
    let realm = format!("http://{reg}/token");
    let log = serve(listener, move |req, conn| {
        let is_bearer = req.auth.as_deref() == Some("Bearer tok-1");
        if req.line.starts_with("GET /token?") {
            // Tokens only for the stored credentials (user:secret).
            if req.auth.as_deref() == Some("Basic dXNlcjpzZWNyZXQ=") {
                reply(
                    conn,
                    "200 OK",
                    "Content-Type: application/json\r\n",
                    r#"{"token":"tok-1"}"#,
                );
            } else {
                reply(conn, "401 Unauthorized", "", "");
            }
        } else if !is_bearer {
            reply(
                conn,
                "401 Unauthorized",
                &format!("WWW-Authenticate: Bearer realm=\"{realm}\",service=\"fake\"\r\n"),
                "",
            );
        } else if req.line.starts_with("HEAD ") {
            // Every blob is already there: nothing to upload.
            reply(conn, "200 OK", "", "");
        } else if req.line.starts_with("PUT /v2/team/app/manifests/1 ") {
            reply(conn, "201 Created", "", "");
        } else {
            reply(conn, "200 OK", "", "");
        }
    });
    let env = env_with_credentials(&reg);
    let r = env
        .hutch(&["push", &image("busybox"), &format!("{reg}/team/app:1")])
        .success();
    let seen = log.lock().expect("log").clone();
    let token_requests: Vec<&String> = seen
        .iter()
        .filter(|l| l.starts_with("GET /token?"))
        .collect();
    assert!(
        !token_requests.is_empty(),
        "no token request: {seen:?}\n{r}"
    );
    for t in &token_requests {
        assert!(
            t.contains("scope=repository%3Ateam%2Fapp%3Apull%2Cpush") && t.contains("service=fake"),
            "token request without the push scope: {t}"
        );
        assert!(
            t.contains("auth=Basic "),
            "token request without credentials: {t}"
        );
    }
    assert!(
        seen.iter()
            .any(|l| l.starts_with("PUT /v2/team/app/manifests/1 ")
                && l.contains("auth=Bearer tok-1")),
        "the manifest was not written with the token: {seen:?}"
    );
    assert!(
        !seen.iter().any(|l| l.contains("/blobs/uploads/")),
        "hutch uploaded blobs the registry has: {seen:?}"
    );
}
