//! HTTP/1.1 on one connection: requests parsed with httparse, bodies by
//! `Content-Length` or chunked, responses written whole or streamed until
//! the connection closes (RFC 9112). Nothing here knows the Docker API.

use std::io::{Read, Write};

use serde_json::{json, Value};

/// The largest request head accepted (Docker's clients send a few hundred
/// bytes).
const MAX_HEAD: usize = 64 * 1024;

/// The largest request body accepted: create bodies are small JSON.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// The most headers a request may have.
const MAX_HEADERS: usize = 64;

/// One parsed request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, percent-decoded, without the query.
    pub path: String,
    /// The query's pairs, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names (lowercase) and values.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
    /// Whether the client asked to close the connection after this one.
    pub is_closing: bool,
}

impl Request {
    /// The first value of query parameter `key`.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Query parameter `key` as Docker's booleans read (`1`, `true`, `True`).
    pub fn flag(&self, key: &str) -> bool {
        self.param(key)
            .is_some_and(|v| matches!(v, "1" | "true" | "True" | "TRUE"))
    }

    /// The first value of header `name` (lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A request that cannot be read; answered with 400 and the connection
/// closed.
#[derive(Debug, thiserror::Error)]
pub enum BadRequest {
    /// The head does not parse.
    #[error("malformed HTTP request: {0}")]
    Head(String),
    /// The head or body is larger than accepted.
    #[error("request too large")]
    TooLarge,
    /// A chunked body that does not parse.
    #[error("malformed chunked body")]
    Chunk,
    /// The connection ended inside the request.
    #[error("connection closed inside the request")]
    Truncated,
}

/// Reads requests from a connection, keeping what was read past one.
pub struct Reader {
    buf: Vec<u8>,
}

impl Default for Reader {
    fn default() -> Reader {
        Reader::new()
    }
}

impl Reader {
    /// A reader with nothing buffered.
    pub fn new() -> Reader {
        Reader { buf: Vec::new() }
    }

    /// What was read past the last request (the start of a hijacked
    /// stream), taken.
    pub fn take_rest(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Puts back bytes that follow the last request.
    pub fn push(&mut self, data: Vec<u8>) {
        let mut data = data;
        data.extend_from_slice(&self.buf);
        self.buf = data;
    }

    /// The next request; `Ok(None)` when the connection ended between
    /// requests; an I/O error as `Err(None)`.
    pub fn next(&mut self, conn: &mut impl Read) -> Result<Option<Request>, Option<BadRequest>> {
        let (mut req, head_len) = loop {
            if !self.buf.is_empty() {
                match parse_head(&self.buf).map_err(Some)? {
                    Some(parsed) => break parsed,
                    None if self.buf.len() > MAX_HEAD => return Err(Some(BadRequest::TooLarge)),
                    None => {}
                }
            }
            if !self.fill(conn).map_err(|_| None)? {
                return match self.buf.is_empty() {
                    true => Ok(None),
                    false => Err(Some(BadRequest::Truncated)),
                };
            }
        };
        self.buf.drain(..head_len);
        let is_chunked = req
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if is_chunked {
            req.body = self.read_chunked(conn)?;
        } else if let Some(len) = req.header("content-length") {
            let len: usize = len
                .trim()
                .parse()
                .map_err(|_| Some(BadRequest::Head("invalid Content-Length".into())))?;
            if len > MAX_BODY {
                return Err(Some(BadRequest::TooLarge));
            }
            while self.buf.len() < len {
                if !self.fill(conn).map_err(|_| None)? {
                    return Err(Some(BadRequest::Truncated));
                }
            }
            req.body = self.buf.drain(..len).collect();
        }
        Ok(Some(req))
    }

    /// Reads more; false at end of file.
    fn fill(&mut self, conn: &mut impl Read) -> std::io::Result<bool> {
        let mut chunk = [0u8; 16384];
        loop {
            match conn.read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(true);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    fn read_chunked(&mut self, conn: &mut impl Read) -> Result<Vec<u8>, Option<BadRequest>> {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                if self.buf.len() > MAX_HEAD {
                    return Err(Some(BadRequest::Chunk));
                }
                if !self.fill(conn).map_err(|_| None)? {
                    return Err(Some(BadRequest::Truncated));
                }
            };
            let line = String::from_utf8_lossy(&self.buf[..line_end]).into_owned();
            let size_text = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16).map_err(|_| Some(BadRequest::Chunk))?;
            self.buf.drain(..line_end + 2);
            if body.len() + size > MAX_BODY {
                return Err(Some(BadRequest::TooLarge));
            }
            // The chunk and its CRLF (for the last chunk: the empty trailer).
            while self.buf.len() < size + 2 {
                if !self.fill(conn).map_err(|_| None)? {
                    return Err(Some(BadRequest::Truncated));
                }
            }
            body.extend_from_slice(&self.buf[..size]);
            self.buf.drain(..size + 2);
            if size == 0 {
                return Ok(body);
            }
        }
    }
}

/// Parses a request head from `buf`: the request and the head's length,
/// `None` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(Request, usize)>, BadRequest> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(BadRequest::Head(e.to_string())),
    };
    let target = parsed.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_ascii_lowercase(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let connection = headers
        .iter()
        .find(|(k, _)| k == "connection")
        .map(|(_, v)| v.to_ascii_lowercase());
    let is_http10 = parsed.version == Some(0);
    let is_closing = match connection.as_deref() {
        Some(c) if c.contains("close") => true,
        Some(c) if c.contains("keep-alive") => false,
        _ => is_http10,
    };
    Ok(Some((
        Request {
            method: parsed.method.unwrap_or("GET").to_string(),
            path: decode(path, false),
            query: parse_query(query),
            headers,
            body: Vec::new(),
            is_closing,
        },
        len,
    )))
}

/// A query string's pairs, percent-decoded (`+` is a space).
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k, true), decode(v, true))
        })
        .collect()
}

/// Percent-decodes `s`; in a query, `+` is a space.
fn decode(s: &str, is_query: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        // Two hex digits: at most 255.
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' if is_query => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The reason phrase of `status`.
fn reason(status: u16) -> &'static str {
    match status {
        101 => "UPGRADED",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        _ => "Unknown",
    }
}

/// The headers every response carries.
pub struct Common {
    /// `--cors`: the `Access-Control-Allow-Origin` value.
    pub cors: Option<String>,
    /// Whether the connection closes after this response.
    pub is_closing: bool,
}

/// Writes a response head; `length` is the body's, `None` for a body that
/// ends when the connection closes.
pub fn write_head(
    conn: &mut impl Write,
    common: &Common,
    status: u16,
    content_type: Option<&str>,
    length: Option<usize>,
    extra: &[(&str, &str)],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    head.push_str("Api-Version: 1.41\r\nDocker-Experimental: false\r\nOstype: linux\r\n");
    // Podman's client reads the libpod API version from every ping.
    head.push_str(&format!(
        "Libpod-Api-Version: {}\r\n",
        super::libpod::API_VERSION
    ));
    head.push_str(&format!(
        "Server: hutch/{} (linux)\r\n",
        env!("CARGO_PKG_VERSION")
    ));
    if let Some(origin) = &common.cors {
        head.push_str(&format!("Access-Control-Allow-Origin: {origin}\r\n"));
    }
    if let Some(t) = content_type {
        head.push_str(&format!("Content-Type: {t}\r\n"));
    }
    if let Some(n) = length {
        head.push_str(&format!("Content-Length: {n}\r\n"));
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if common.is_closing || length.is_none() && status != 101 {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    conn.flush()
}

/// Writes one chunk of a `Transfer-Encoding: chunked` body (nothing for
/// empty `data`: an empty chunk ends the body).
pub fn write_chunk(conn: &mut impl Write, data: &[u8]) -> std::io::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    conn.write_all(&out)?;
    conn.flush()
}

/// Ends a chunked body: the last, empty chunk and no trailer.
pub fn end_chunks(conn: &mut impl Write) -> std::io::Result<()> {
    conn.write_all(b"0\r\n\r\n")?;
    conn.flush()
}

/// Writes a whole response with `body`.
pub fn respond(
    conn: &mut impl Write,
    common: &Common,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let has_body = status != 204 && status != 304;
    let length = if has_body { body.len() } else { 0 };
    let content_type = has_body.then_some(content_type);
    write_head(conn, common, status, content_type, Some(length), &[])?;
    if has_body {
        conn.write_all(body)?;
    }
    conn.flush()
}

/// Writes a JSON response.
pub fn respond_json(
    conn: &mut impl Write,
    common: &Common,
    status: u16,
    value: &Value,
) -> std::io::Result<()> {
    let mut body = serde_json::to_vec(value).unwrap_or_default();
    body.push(b'\n');
    respond(conn, common, status, "application/json", &body)
}

/// Writes Docker's error body, `{"message": "…"}`.
pub fn respond_error(
    conn: &mut impl Write,
    common: &Common,
    status: u16,
    message: &str,
) -> std::io::Result<()> {
    respond_json(conn, common, status, &json!({ "message": message }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &[u8]) -> Vec<Result<Option<Request>, Option<String>>> {
        let mut reader = Reader::new();
        let mut conn = input;
        let mut out = Vec::new();
        loop {
            let r = reader.next(&mut conn);
            let is_end = !matches!(r, Ok(Some(_)));
            out.push(r.map_err(|e| e.map(|b| b.to_string())));
            if is_end {
                return out;
            }
        }
    }

    #[test]
    fn keep_alive_requests_are_read_one_after_another() {
        let wire = b"GET /v1.41/containers/json?all=1&filters=%7B%22a%22%3A1%7D HTTP/1.1\r\nHost: x\r\n\r\n\
POST /containers/create?name=web HTTP/1.1\r\nContent-Length: 4\r\nContent-Type: application/json\r\n\r\n{}\r\n";
        let got = read_all(wire);
        assert_eq!(got.len(), 3);
        let first = got[0].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(first.method, "GET");
        assert_eq!(first.path, "/v1.41/containers/json");
        assert_eq!(first.param("all"), Some("1"));
        assert!(first.flag("all"));
        assert_eq!(first.param("filters"), Some("{\"a\":1}"));
        assert!(!first.is_closing);
        let second = got[1].as_ref().unwrap().as_ref().unwrap();
        assert_eq!(second.body, b"{}\r\n");
        assert_eq!(second.header("content-type"), Some("application/json"));
        assert!(matches!(got[2], Ok(None)));
    }

    #[test]
    fn chunks_are_framed_and_ended() {
        let mut out = Vec::new();
        write_chunk(&mut out, b"{\"a\":1}\n").unwrap();
        write_chunk(&mut out, b"").unwrap();
        end_chunks(&mut out).unwrap();
        assert_eq!(out, b"8\r\n{\"a\":1}\n\r\n0\r\n\r\n");
    }

    #[test]
    fn chunked_bodies_are_joined() {
        let wire =
            b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n";
        let got = read_all(wire);
        assert_eq!(got[0].as_ref().unwrap().as_ref().unwrap().body, b"abcde");
    }

    #[test]
    fn garbage_and_truncation_are_bad_requests() {
        let got = read_all(b"NOT HTTP AT ALL\r\n\r\n");
        assert!(matches!(&got[0], Err(Some(m)) if m.starts_with("malformed HTTP request")));
        let got = read_all(b"POST /x HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
        assert!(matches!(&got[0], Err(Some(m)) if m.contains("closed inside")));
        let got = read_all(b"POST /x HTTP/1.1\r\nContent-Length: nope\r\n\r\n");
        assert!(matches!(&got[0], Err(Some(m)) if m.contains("Content-Length")));
    }

    #[test]
    fn close_is_honoured() {
        let got = read_all(b"GET /_ping HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(got[0].as_ref().unwrap().as_ref().unwrap().is_closing);
        let got = read_all(b"GET /_ping HTTP/1.0\r\n\r\n");
        assert!(got[0].as_ref().unwrap().as_ref().unwrap().is_closing);
    }

    #[test]
    fn percent_decoding_keeps_bad_escapes() {
        assert_eq!(decode("a%2Fb%zz%4", false), "a/b%zz%4");
        assert_eq!(decode("a+b", true), "a b");
        assert_eq!(decode("a+b", false), "a+b");
    }

    #[test]
    fn responses_carry_length_and_api_version() {
        let mut out = Vec::new();
        let common = Common {
            cors: None,
            is_closing: false,
        };
        respond_error(&mut out, &common, 404, "No such container: x").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
        assert!(text.contains("Api-Version: 1.41\r\n"));
        assert!(text.contains("Libpod-Api-Version: 4.3.1\r\n"), "{text}");
        assert!(text.contains("Content-Length: 35\r\n"), "{text}");
        assert!(text.ends_with("{\"message\":\"No such container: x\"}\n"));
    }
}
