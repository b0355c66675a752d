//! A client for one repository at one registry, speaking the OCI
//! Distribution API v2: the `/v2/` ping, basic auth and bearer tokens (with
//! or without credentials), extra trusted CAs and client certificates,
//! manifests and blobs both ways, with retries for transient failures.
//!
//! The blocking reqwest client runs its own runtime thread; dropping the
//! `RegistryClient` (and every response it returned) joins it.

use std::io::Read;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use reqwest::header::{
    HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, LOCATION, RANGE,
    WWW_AUTHENTICATE,
};
use reqwest::{Method, StatusCode};
use serde::Deserialize;

use super::auth::{parse_challenges, Challenge, TokenResponse};
use super::certs::TlsFiles;
use super::credentials::{encode_auth, Credentials};
use super::registries::Endpoint;
use super::Error;
use super::RegistryError;
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

/// How to connect: transport security, credentials and what access to ask
/// for.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Allow plain HTTP and unverified TLS.
    pub is_insecure: bool,
    /// Extra CAs and a client certificate.
    pub tls: TlsFiles,
    /// Credentials for basic auth or the token endpoint.
    pub credentials: Option<Credentials>,
    /// Ask for `pull,push` on the repository instead of `pull`.
    pub is_push: bool,
    /// Other repositories of the registry to ask `pull` access to (the
    /// sources of cross-repository mounts).
    pub mount_sources: Vec<String>,
    /// Ask for the registry's catalog (`search`) rather than a repository.
    pub is_catalog: bool,
}

/// Where credentials and TLS material are looked up, for any registry.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Credential files, first match wins (`Paths::auth_sources`).
    pub auth_files: Vec<crate::paths::AuthSource>,
    /// `certs.d` directories holding `HOST:PORT/` subdirectories.
    pub certs_dirs: Vec<std::path::PathBuf>,
    /// `--cert-dir`: one directory used for every registry instead.
    pub cert_dir: Option<std::path::PathBuf>,
    /// `--creds`: used instead of any stored credentials.
    pub credentials: Option<Credentials>,
}

impl Access {
    /// The options to reach `ep`: insecure when `tls_verify` is
    /// `Some(false)` or registries.conf says so (unless `Some(true)`), with
    /// the credentials and TLS files found for its host.
    pub fn options(
        &self,
        ep: &Endpoint,
        tls_verify: Option<bool>,
    ) -> Result<ConnectOptions, Error> {
        let is_insecure = match tls_verify {
            Some(verify) => !verify,
            None => ep.is_insecure,
        };
        // Docker Hub's API host is not the name its credentials are kept under.
        let key = match ep.host.as_str() {
            "registry-1.docker.io" => "docker.io",
            h => h,
        };
        let credentials = match &self.credentials {
            Some(c) => Some(c.clone()),
            None => {
                super::credentials::lookup(&self.auth_files, key).map_err(Error::Credentials)?
            }
        };
        let tls = super::certs::load(&self.certs_dirs, self.cert_dir.as_deref(), &ep.host)
            .map_err(Error::Certs)?;
        Ok(ConnectOptions {
            is_insecure,
            tls,
            credentials,
            ..ConnectOptions::default()
        })
    }
}

/// The `Authorization` a request carries.
#[derive(Clone)]
enum Auth {
    None,
    Bearer(String),
    Basic(String),
}

/// What a mount request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mounted {
    /// The registry linked the blob from the other repository.
    Yes,
    /// The registry opened an ordinary upload instead, at this URL.
    Upload(String),
}

/// A connected client for one repository.
pub struct RegistryClient {
    http: Client,
    /// `scheme://host[:port]`.
    pub(super) base: String,
    /// `host[:port]`, for messages.
    host: String,
    pub(super) repository: String,
    auth: Mutex<Auth>,
    opts: ConnectOptions,
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
pub(super) enum Kind {
    Manifest,
    Blob,
    /// Another API endpoint (the catalog, a tag list, v1 search).
    Api,
}

impl RegistryClient {
    /// Connects to `ep`: pings `/v2/` over HTTPS (without certificate checks
    /// when insecure), falling back to plain HTTP when insecure, and answers
    /// the registry's challenge with the credentials, if any.
    pub fn connect(ep: &Endpoint, opts: &ConnectOptions) -> Result<RegistryClient, Error> {
        let mut builder = Client::builder()
            .user_agent(concat!("hutch/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(IO_TIMEOUT)
            .danger_accept_invalid_certs(opts.is_insecure);
        for (path, pem) in &opts.tls.cas {
            let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|source| {
                RegistryError::BadCert {
                    path: path.clone(),
                    source,
                }
            })?;
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        if let Some((path, pem)) = &opts.tls.identity {
            let id = reqwest::Identity::from_pem(pem).map_err(|source| RegistryError::BadCert {
                path: path.clone(),
                source,
            })?;
            builder = builder.identity(id);
        }
        let http = builder.build().map_err(RegistryError::HttpClient)?;
        let schemes: &[&str] = if opts.is_insecure {
            &["https", "http"]
        } else {
            &["https"]
        };
        let mut client = RegistryClient {
            http,
            base: String::new(),
            host: ep.host.clone(),
            repository: ep.repository.clone(),
            auth: Mutex::new(Auth::None),
            opts: opts.clone(),
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
                Err(e @ Error::Registry(RegistryError::Request { .. })) if has_fallback => {
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
    /// With credentials, a basic-auth answer is checked by a second ping.
    fn ping(&self, retries: u32, timeout: Option<Duration>) -> Result<(), Error> {
        let url = format!("{}/v2/", self.base);
        let resp = self.send_raw(&url, "application/json", 0, retries, timeout)?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            // Some registries do not implement the ping; the real requests
            // will say what is wrong.
            return Ok(());
        }
        let challenges = challenges(resp.headers());
        drop(resp);
        self.authenticate(&challenges)?;
        if matches!(self.current_auth(), Auth::Basic(_)) {
            let resp = self.send_raw(&url, "application/json", 0, retries, timeout)?;
            if resp.status() == StatusCode::UNAUTHORIZED {
                return Err(RegistryError::BadCredentials(self.host.clone()).into());
            }
        }
        Ok(())
    }

    fn current_auth(&self) -> Auth {
        self.auth.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_auth(&self, a: Auth) {
        *self.auth.lock().unwrap_or_else(|p| p.into_inner()) = a;
    }

    /// The token scopes this client needs.
    fn scopes(&self) -> Vec<String> {
        if self.repository.is_empty() {
            // A login check or a search: no repository to ask access to.
            return match self.opts.is_catalog {
                true => vec!["registry:catalog:*".to_string()],
                false => Vec::new(),
            };
        }
        let actions = if self.opts.is_push {
            "pull,push"
        } else {
            "pull"
        };
        let mut out = vec![format!("repository:{}:{actions}", self.repository)];
        for other in &self.opts.mount_sources {
            if *other != self.repository {
                out.push(format!("repository:{other}:pull"));
            }
        }
        out
    }

    /// Answers a 401: basic auth with the credentials, or a bearer token
    /// from the challenge's realm (with the credentials when there are some).
    fn authenticate(&self, challenges: &[Challenge]) -> Result<(), Error> {
        let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") else {
            return if challenges.iter().any(|c| c.scheme == "basic") {
                match &self.opts.credentials {
                    Some(c) => {
                        self.set_auth(Auth::Basic(encode_auth(c)));
                        Ok(())
                    }
                    None => Err(RegistryError::NeedsCredentials(self.host.clone()).into()),
                }
            } else {
                Err(RegistryError::BadChallenge(self.host.clone()).into())
            };
        };
        let realm = bearer
            .param("realm")
            .ok_or_else(|| RegistryError::BadChallenge(self.host.clone()))?;
        let mut url =
            reqwest::Url::parse(realm).map_err(|_| RegistryError::BadRealm(realm.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(RegistryError::BadRealm(realm.to_string()).into());
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = bearer.param("service") {
                q.append_pair("service", s);
            }
            for scope in self.scopes() {
                q.append_pair("scope", &scope);
            }
            if let Some(extra) = bearer.param("scope") {
                if !self.scopes().iter().any(|s| s == extra) {
                    q.append_pair("scope", extra);
                }
            }
        }
        let mut attempt = 0;
        let resp = loop {
            let mut req = self.http.get(url.clone());
            if let Some(c) = &self.opts.credentials {
                req = req.basic_auth(&c.username, Some(&c.password));
            }
            match req.send() {
                Ok(r) if is_retryable_status(r.status()) && attempt < RETRIES => {}
                Ok(r) => break r,
                Err(e) if is_transient(&e) && attempt < RETRIES => {}
                Err(e) => {
                    return Err(RegistryError::TokenRequest {
                        realm: realm.to_string(),
                        source: e.without_url(),
                    }
                    .into())
                }
            }
            backoff(attempt);
            attempt += 1;
        };
        if resp.status() == StatusCode::UNAUTHORIZED && self.opts.credentials.is_some() {
            return Err(RegistryError::BadCredentials(self.host.clone()).into());
        }
        if !resp.status().is_success() {
            return Err(RegistryError::TokenStatus {
                realm: realm.to_string(),
                status: resp.status().as_u16(),
            }
            .into());
        }
        let (_, body) = read_limited(resp, "token response", MAX_TOKEN_BODY, realm)?;
        let token: TokenResponse =
            serde_json::from_slice(&body).map_err(|source| RegistryError::TokenParse {
                realm: realm.to_string(),
                source,
            })?;
        let token = token
            .into_token()
            .ok_or_else(|| RegistryError::TokenMissing(realm.to_string()))?;
        self.set_auth(Auth::Bearer(token));
        Ok(())
    }

    /// Adds the current `Authorization` header to `req`.
    fn authorize(&self, req: RequestBuilder) -> RequestBuilder {
        match self.current_auth() {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Basic(b) => req.header(AUTHORIZATION, format!("Basic {b}")),
        }
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
            req = self.authorize(req);
            match req.send() {
                Ok(r) if is_retryable_status(r.status()) && attempt < retries => {
                    log::debug!("GET {url}: status {}, retrying", r.status());
                }
                Ok(r) => return Ok(r),
                Err(e) if is_transient(&e) && attempt < retries => {
                    log::debug!("GET {url}: {e}, retrying");
                }
                Err(e) => {
                    return Err(RegistryError::Request {
                        url: url.to_string(),
                        source: e.without_url(),
                    }
                    .into())
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

    /// Sends any request built by `build` (called again for each attempt),
    /// retrying transport failures and server errors, and answering one
    /// bearer 401 with a fresh token. Returns whatever status came back.
    pub(super) fn send_with(
        &self,
        method: Method,
        url: &str,
        build: &dyn Fn(RequestBuilder) -> Result<RequestBuilder, Error>,
    ) -> Result<Response, Error> {
        let mut has_reauthenticated = false;
        let mut attempt = 0;
        loop {
            let req = build(self.authorize(self.http.request(method.clone(), url)))?;
            match req.send() {
                Ok(r) if r.status() == StatusCode::UNAUTHORIZED && !has_reauthenticated => {
                    let ch = challenges(r.headers());
                    if !ch.iter().any(|c| c.scheme == "bearer") {
                        return Ok(r);
                    }
                    drop(r);
                    self.authenticate(&ch)?;
                    has_reauthenticated = true;
                    continue;
                }
                Ok(r) if is_retryable_status(r.status()) && attempt < RETRIES => {
                    log::debug!("{method} {url}: status {}, retrying", r.status());
                }
                Ok(r) => return Ok(r),
                Err(e) if is_transient(&e) && attempt < RETRIES => {
                    log::debug!("{method} {url}: {e}, retrying");
                }
                Err(e) => {
                    return Err(RegistryError::Request {
                        url: url.to_string(),
                        source: e.without_url(),
                    }
                    .into())
                }
            }
            backoff(attempt);
            attempt += 1;
        }
    }

    /// `HEAD` blob `digest`: whether the repository has it.
    pub fn has_blob(&self, digest: &Digest) -> Result<bool, Error> {
        let url = format!("{}/v2/{}/blobs/{digest}", self.base, self.repository);
        let resp = self.send_with(Method::HEAD, &url, &Ok)?;
        match resp.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(status_error(&url, resp, Kind::Blob)),
        }
    }

    /// Asks the registry to link blob `digest` from repository `from`
    /// (`POST .../blobs/uploads/?mount=D&from=R`).
    pub fn mount_blob(&self, digest: &Digest, from: &str) -> Result<Mounted, Error> {
        let mut url = reqwest::Url::parse(&format!(
            "{}/v2/{}/blobs/uploads/",
            self.base, self.repository
        ))
        .map_err(|_| RegistryError::BadLocation(self.base.clone()))?;
        url.query_pairs_mut()
            .append_pair("mount", &digest.to_string())
            .append_pair("from", from);
        let url = url.to_string();
        let resp = self.send_with(Method::POST, &url, &|r| Ok(r.header(CONTENT_LENGTH, "0")))?;
        match resp.status() {
            StatusCode::CREATED => Ok(Mounted::Yes),
            StatusCode::ACCEPTED => Ok(Mounted::Upload(self.location(&resp)?)),
            _ => Err(status_error(&url, resp, Kind::Blob)),
        }
    }

    /// Opens an upload session; returns its URL.
    pub fn start_upload(&self) -> Result<String, Error> {
        let url = format!("{}/v2/{}/blobs/uploads/", self.base, self.repository);
        let resp = self.send_with(Method::POST, &url, &|r| Ok(r.header(CONTENT_LENGTH, "0")))?;
        match resp.status() {
            StatusCode::ACCEPTED => self.location(&resp),
            _ => Err(status_error(&url, resp, Kind::Blob)),
        }
    }

    /// Finishes upload `location` in one request: `PUT ?digest=D` with the
    /// whole blob, which `body` makes (once per attempt).
    pub fn put_upload(
        &self,
        location: &str,
        digest: &Digest,
        size: u64,
        body: &dyn Fn() -> Result<Body, Error>,
    ) -> Result<(), Error> {
        let url = with_digest(location, digest)?;
        let resp = self.send_with(Method::PUT, &url, &|r| {
            Ok(r.header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, size.to_string())
                .body(body()?))
        })?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(status_error(&url, resp, Kind::Blob)),
        }
    }

    /// Uploads in two steps, for registries that refuse a monolithic PUT:
    /// one `PATCH` with all the bytes, then a `PUT ?digest=D` without body.
    pub fn patch_upload(
        &self,
        location: &str,
        digest: &Digest,
        size: u64,
        body: &dyn Fn() -> Result<Body, Error>,
    ) -> Result<(), Error> {
        let resp = self.send_with(Method::PATCH, location, &|r| {
            let r = r
                .header(CONTENT_TYPE, "application/octet-stream")
                .header(CONTENT_LENGTH, size.to_string());
            let r = if size > 0 {
                r.header(CONTENT_RANGE, format!("0-{}", size - 1))
            } else {
                r
            };
            Ok(r.body(body()?))
        })?;
        if resp.status() != StatusCode::ACCEPTED {
            return Err(status_error(location, resp, Kind::Blob));
        }
        let next = self.location(&resp)?;
        let url = with_digest(&next, digest)?;
        let resp = self.send_with(Method::PUT, &url, &|r| Ok(r.header(CONTENT_LENGTH, "0")))?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            _ => Err(status_error(&url, resp, Kind::Blob)),
        }
    }

    /// `PUT` manifest `body` of type `media_type` under `reference`.
    pub fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<(), Error> {
        let url = format!("{}/v2/{}/manifests/{reference}", self.base, self.repository);
        let resp = self.send_with(Method::PUT, &url, &|r| {
            Ok(r.header(CONTENT_TYPE, media_type).body(body.to_vec()))
        })?;
        match resp.status() {
            s if s.is_success() => Ok(()),
            _ => Err(status_error(&url, resp, Kind::Manifest)),
        }
    }

    /// The absolute URL in a response's `Location` header.
    fn location(&self, resp: &Response) -> Result<String, Error> {
        let loc = header(resp, LOCATION.as_str())
            .ok_or_else(|| RegistryError::BadLocation(String::new()))?;
        let base =
            reqwest::Url::parse(&self.base).map_err(|_| RegistryError::BadLocation(loc.clone()))?;
        let url = base
            .join(&loc)
            .map_err(|_| RegistryError::BadLocation(loc.clone()))?;
        if url.origin() != base.origin() {
            // Uploads must not carry credentials to another host.
            return Err(RegistryError::BadLocation(loc).into());
        }
        Ok(url.to_string())
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
                Err(e @ Error::Registry(RegistryError::ReadBody { .. })) if attempt < RETRIES => {
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

    /// `GET` `path` (absolute, with its query) as a JSON document of at
    /// most `limit` bytes: the body and the `Link` header (pagination).
    pub fn get_json(&self, path: &str, limit: u64) -> Result<(Vec<u8>, Option<String>), Error> {
        let url = format!("{}{path}", self.base);
        let resp = self.send(&url, "application/json", 0, Kind::Api)?;
        let link = header(&resp, "link");
        let (_, body) = read_limited(resp, "response", limit, &url)?;
        Ok((body, link))
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

/// `location` with `digest=D` added to its query.
fn with_digest(location: &str, digest: &Digest) -> Result<String, Error> {
    let mut url = reqwest::Url::parse(location)
        .map_err(|_| RegistryError::BadLocation(location.to_string()))?;
    url.query_pairs_mut()
        .append_pair("digest", &digest.to_string());
    Ok(url.to_string())
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
        .map_err(|source| RegistryError::ReadBody {
            url: url.to_string(),
            source,
        })?;
    if body.len() as u64 > limit {
        return Err(Error::TooLarge { what, limit });
    }
    Ok((resp, body))
}

pub(super) fn header(resp: &Response, name: &str) -> Option<String> {
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
pub(super) fn status_error(url: &str, resp: Response, kind: Kind) -> Error {
    registry_status_error(url, resp, kind).into()
}

/// The registry error for an unsuccessful response: the Distribution
/// API's error code when the body has one, else the HTTP status.
fn registry_status_error(url: &str, resp: Response, kind: Kind) -> RegistryError {
    let status = resp.status();
    let mut body = Vec::new();
    let _ = resp.take(MAX_ERROR_BODY).read_to_end(&mut body);
    let parsed: Option<ErrorBody> = serde_json::from_slice(&body).ok();
    let first = parsed.as_ref().and_then(|b| b.errors.first());
    let code = first.map(|e| e.code.as_str()).unwrap_or("");
    match (code, status, kind) {
        ("MANIFEST_UNKNOWN", ..) | ("", StatusCode::NOT_FOUND, Kind::Manifest) => {
            RegistryError::ManifestUnknown
        }
        ("NAME_UNKNOWN", ..) => RegistryError::NameUnknown,
        ("BLOB_UNKNOWN", ..) | ("", StatusCode::NOT_FOUND, Kind::Blob) => {
            RegistryError::BlobUnknown
        }
        ("UNAUTHORIZED", ..) | (_, StatusCode::UNAUTHORIZED, _) => RegistryError::Unauthorized,
        ("DENIED", ..) | (_, StatusCode::FORBIDDEN, _) => RegistryError::Denied,
        ("TOOMANYREQUESTS", ..) | (_, StatusCode::TOO_MANY_REQUESTS, _) => {
            RegistryError::TooManyRequests
        }
        _ => RegistryError::Status {
            url: url.to_string(),
            status: status.as_u16(),
            message: first
                .map(|e| format!("{}: {}", e.code.to_lowercase(), e.message))
                .unwrap_or_default(),
        },
    }
}
