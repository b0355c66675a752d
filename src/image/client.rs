//! A client for one repository at one registry, speaking the OCI
//! Distribution API v2: the `/v2/` ping, anonymous bearer tokens, manifests
//! and blobs, with retries for transient failures.
//!
//! The blocking reqwest client runs its own runtime thread; dropping the
//! `RegistryClient` (and every response it returned) joins it.

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderMap, ACCEPT, CONTENT_RANGE, CONTENT_TYPE, RANGE, WWW_AUTHENTICATE};
use reqwest::StatusCode;
use serde::Deserialize;

use super::auth::{parse_challenges, Challenge, TokenResponse};
use super::registries::Endpoint;
use super::Error;
use crate::storage::Digest;

/// How often a transient failure is retried.
pub const RETRIES: u32 = 3;
/// The first retry's delay; each further retry doubles it.
const BACKOFF: Duration = Duration::from_millis(300);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long any single read or write may stall.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the HTTPS attempt at an insecure registry may take before
/// plain HTTP is tried: a plain-HTTP server may sit silently on a TLS hello.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most of an error body that is read.
const MAX_ERROR_BODY: u64 = 64 << 10;
/// The largest token response accepted; real ones are a few KiB.
const MAX_TOKEN_BODY: u64 = 64 << 10;

/// A manifest as the registry sent it, verified against its digest.
#[derive(Debug)]
pub struct FetchedManifest {
    /// The raw bytes.
    pub body: Vec<u8>,
    /// The Content-Type header.
    pub content_type: Option<String>,
    /// The digest of `body`.
    pub digest: Digest,
}

/// A connected client for one repository.
pub struct RegistryClient {
    http: Client,
    /// `scheme://host[:port]`.
    base: String,
    /// `host[:port]`, for messages.
    host: String,
    repository: String,
    token: Mutex<Option<String>>,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
struct ErrorEntry {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// What a request fetches, which decides how a 404 reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Manifest,
    Blob,
}

impl RegistryClient {
    /// Connects to `ep`: pings `/v2/` over HTTPS (without certificate checks
    /// when `is_insecure`), falling back to plain HTTP when insecure, and
    /// gets an anonymous token if the registry asks for one.
    pub fn connect(ep: &Endpoint, is_insecure: bool) -> Result<RegistryClient, Error> {
        let http = Client::builder()
            .user_agent(concat!("hutch/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(IO_TIMEOUT)
            .danger_accept_invalid_certs(is_insecure)
            .build()
            .map_err(Error::HttpClient)?;
        let schemes: &[&str] = if is_insecure {
            &["https", "http"]
        } else {
            &["https"]
        };
        let mut client = RegistryClient {
            http,
            base: String::new(),
            host: ep.host.clone(),
            repository: ep.repository.clone(),
            token: Mutex::new(None),
        };
        for (i, scheme) in schemes.iter().enumerate() {
            client.base = format!("{scheme}://{}", ep.host);
            let has_fallback = i + 1 < schemes.len();
            let ping = if has_fallback {
                client.ping(0, Some(PROBE_TIMEOUT))
            } else {
                client.ping(RETRIES, None)
            };
            match ping {
                Ok(()) => return Ok(client),
                Err(e @ Error::Request { .. }) if has_fallback => {
                    log::debug!(
                        "{} over {scheme} failed, trying the next scheme: {e}",
                        ep.host
                    );
                }
                Err(e) => return Err(e),
            }
        }
        unreachable!("the last scheme returns from the loop")
    }

    /// `GET /v2/`: 200 needs no auth; 401 carries the challenge to answer.
    fn ping(&self, retries: u32, timeout: Option<Duration>) -> Result<(), Error> {
        let url = format!("{}/v2/", self.base);
        let resp = self.send_raw(&url, "application/json", 0, retries, timeout)?;
        match resp.status() {
            StatusCode::UNAUTHORIZED => {
                let challenges = challenges(resp.headers());
                drop(resp);
                self.authenticate(&challenges)
            }
            // Some registries do not implement the ping; the real requests
            // will say what is wrong.
            _ => Ok(()),
        }
    }

    /// Answers a 401: fetches an anonymous bearer token for pulling.
    fn authenticate(&self, challenges: &[Challenge]) -> Result<(), Error> {
        let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") else {
            return if challenges.iter().any(|c| c.scheme == "basic") {
                Err(Error::NeedsCredentials(self.host.clone()))
            } else {
                Err(Error::BadChallenge(self.host.clone()))
            };
        };
        let realm = bearer
            .param("realm")
            .ok_or_else(|| Error::BadChallenge(self.host.clone()))?;
        let mut url = reqwest::Url::parse(realm).map_err(|_| Error::BadRealm(realm.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(Error::BadRealm(realm.to_string()));
        }
        let scope = format!("repository:{}:pull", self.repository);
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = bearer.param("service") {
                q.append_pair("service", s);
            }
            q.append_pair("scope", bearer.param("scope").unwrap_or(&scope));
        }
        let mut attempt = 0;
        let resp = loop {
            match self.http.get(url.clone()).send() {
                Ok(r) if is_retryable_status(r.status()) && attempt < RETRIES => {}
                Ok(r) => break r,
                Err(e) if is_transient(&e) && attempt < RETRIES => {}
                Err(e) => {
                    return Err(Error::TokenRequest {
                        realm: realm.to_string(),
                        source: e.without_url(),
                    })
                }
            }
            backoff(attempt);
            attempt += 1;
        };
        if !resp.status().is_success() {
            return Err(Error::TokenStatus {
                realm: realm.to_string(),
                status: resp.status().as_u16(),
            });
        }
        let (_, body) = read_limited(resp, "token response", MAX_TOKEN_BODY, realm)?;
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|source| Error::TokenParse {
                realm: realm.to_string(),
                source,
            })?;
        let token = token
            .into_token()
            .ok_or_else(|| Error::TokenMissing(realm.to_string()))?;
        *self.token.lock().unwrap_or_else(|p| p.into_inner()) = Some(token);
        Ok(())
    }

    /// Sends a GET, retrying transport failures; any HTTP status is returned.
    fn send_raw(
        &self,
        url: &str,
        accept: &str,
        from: u64,
        retries: u32,
        timeout: Option<Duration>,
    ) -> Result<Response, Error> {
        let mut attempt = 0;
        loop {
            let mut req = self.http.get(url).header(ACCEPT, accept);
            if let Some(t) = timeout {
                req = req.timeout(t);
            }
            if from > 0 {
                req = req.header(RANGE, format!("bytes={from}-"));
            }
            if let Some(t) = self
                .token
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_deref()
            {
                req = req.bearer_auth(t);
            }
            match req.send() {
                Ok(r) if is_retryable_status(r.status()) && attempt < retries => {
                    log::debug!("GET {url}: status {}, retrying", r.status());
                }
                Ok(r) => return Ok(r),
                Err(e) if is_transient(&e) && attempt < retries => {
                    log::debug!("GET {url}: {e}, retrying");
                }
                Err(e) => {
                    return Err(Error::Request {
                        url: url.to_string(),
                        source: e.without_url(),
                    })
                }
            }
            backoff(attempt);
            attempt += 1;
        }
    }

    /// Sends a GET and turns failure statuses into errors, answering one
    /// 401 with a fresh token.
    fn send(&self, url: &str, accept: &str, from: u64, kind: Kind) -> Result<Response, Error> {
        let mut has_reauthenticated = false;
        loop {
            let resp = self.send_raw(url, accept, from, RETRIES, None)?;
            let status = resp.status();
            if status.is_success() {
                return Ok(resp);
            }
            if status == StatusCode::UNAUTHORIZED && !has_reauthenticated {
                let ch = challenges(resp.headers());
                if ch.iter().any(|c| c.scheme == "bearer") {
                    drop(resp);
                    self.authenticate(&ch)?;
                    has_reauthenticated = true;
                    continue;
                }
            }
            return Err(status_error(url, resp, kind));
        }
    }

    /// Fetches manifest `reference` (tag or digest) and verifies its digest
    /// against the reference when it is one, and against the
    /// Docker-Content-Digest header when the registry sends it.
    pub fn manifest(&self, reference: &str) -> Result<FetchedManifest, Error> {
        let url = format!("{}/v2/{}/manifests/{reference}", self.base, self.repository);
        let accept = super::manifest::ACCEPT.join(", ");
        let mut attempt = 0;
        let (resp, body) = loop {
            let resp = self.send(&url, &accept, 0, Kind::Manifest)?;
            match read_limited(resp, "manifest", super::manifest::MAX_MANIFEST_SIZE, &url) {
                Ok(ok) => break ok,
                Err(e @ Error::ReadBody { .. }) if attempt < RETRIES => {
                    log::debug!("{e}, retrying");
                }
                Err(e) => return Err(e),
            }
            backoff(attempt);
            attempt += 1;
        };
        let digest = Digest::of(&body);
        if let Ok(expected) = reference.parse::<Digest>() {
            if expected != digest {
                return Err(Error::DigestMismatch {
                    expected: expected.to_string(),
                    actual: digest,
                });
            }
        }
        if let Some(h) = header(&resp, "docker-content-digest") {
            // Only sha256 can be checked; other algorithms are left alone.
            if h.starts_with("sha256:") && h != digest.to_string() {
                return Err(Error::DigestMismatch {
                    expected: h,
                    actual: digest,
                });
            }
        }
        Ok(FetchedManifest {
            body,
            content_type: header(&resp, CONTENT_TYPE.as_str()),
            digest,
        })
    }

    /// Starts downloading blob `digest` from byte `from` on; the caller
    /// reads and verifies it. A registry may ignore the range and answer
    /// 200 with the whole blob; a 206 is checked to start at `from`.
    pub fn blob(&self, digest: &Digest, from: u64) -> Result<Response, Error> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base, self.repository);
        let resp = self.send(&url, "*/*", from, Kind::Blob)?;
        if resp.status() == StatusCode::PARTIAL_CONTENT {
            let range = header(&resp, CONTENT_RANGE.as_str()).unwrap_or_default();
            if from == 0 || !range.starts_with(&format!("bytes {from}-")) {
                return Err(Error::BadRange(range));
            }
        }
        Ok(resp)
    }
}

/// Reads at most `limit` bytes of `resp` (a `what`); more is an error, found from the
/// Content-Length before reading or else after `limit + 1` bytes, so a
/// huge body is never buffered.
fn read_limited(
    resp: Response,
    what: &'static str,
    limit: u64,
    url: &str,
) -> Result<(Response, Vec<u8>), Error> {
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(Error::TooLarge { what, limit });
    }
    let mut body = Vec::new();
    let mut resp = resp;
    (&mut resp)
        .take(limit + 1)
        .read_to_end(&mut body)
        .map_err(|source| Error::ReadBody {
            url: url.to_string(),
            source,
        })?;
    if body.len() as u64 > limit {
        return Err(Error::TooLarge { what, limit });
    }
    Ok((resp, body))
}

fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_string())
}

fn challenges(headers: &HeaderMap) -> Vec<Challenge> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_challenges)
        .collect()
}

/// Whether a transport error may go away on retry: not when TLS failed
/// (rustls reports its errors as `InvalidData`), which retrying only delays.
pub fn is_transient(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                return false;
            }
        }
        cur = err.source();
    }
    e.is_connect() || e.is_timeout() || e.is_body() || e.is_request()
}

fn is_retryable_status(s: StatusCode) -> bool {
    s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS
}

/// Sleeps before retry number `attempt + 1`.
pub fn backoff(attempt: u32) {
    std::thread::sleep(BACKOFF * 2u32.pow(attempt.min(4)));
}

/// Turns a failure response into the error its status and body describe.
fn status_error(url: &str, resp: Response, kind: Kind) -> Error {
    let status = resp.status();
    let mut body = Vec::new();
    let _ = resp.take(MAX_ERROR_BODY).read_to_end(&mut body);
    let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let first = parsed.as_ref().and_then(|b| b.errors.first());
    let code = first.map(|e| e.code.as_str()).unwrap_or("");
    match (code, status, kind) {
        ("MANIFEST_UNKNOWN", ..) | ("", StatusCode::NOT_FOUND, Kind::Manifest) => {
            Error::ManifestUnknown
        }
        ("NAME_UNKNOWN", ..) => Error::NameUnknown,
        ("BLOB_UNKNOWN", ..) | ("", StatusCode::NOT_FOUND, Kind::Blob) => Error::BlobUnknown,
        ("UNAUTHORIZED", ..) | (_, StatusCode::UNAUTHORIZED, _) => Error::Unauthorized,
        ("DENIED", ..) | (_, StatusCode::FORBIDDEN, _) => Error::Denied,
        ("TOOMANYREQUESTS", ..) | (_, StatusCode::TOO_MANY_REQUESTS, _) => Error::TooManyRequests,
        _ => Error::Status {
            url: url.to_string(),
            status: status.as_u16(),
            message: first
                .map(|e| format!("{}: {}", e.code.to_lowercase(), e.message))
                .unwrap_or_default(),
        },
    }
}
