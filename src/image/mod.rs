//! Images: references, registries.conf, the registry client and pulling.
//!
//! Owns turning a user's image name into a fully qualified reference,
//! talking the Distribution API v2 to registries (token auth, manifest
//! negotiation, platform selection, verified blob downloads) and handing
//! verified blobs to `storage`. It must not unpack layers itself or run
//! anything in a container.

pub mod archive;
mod auth;
mod certs;
mod client;
mod config;
pub mod containerfile;
pub mod credentials;
mod download;
pub mod import;
mod list;
mod list_fetch;
mod list_push;
mod local;
mod login;
mod manifest;
mod platform;
pub mod policy;
mod pull;
mod push;
mod reference;
mod registries;
mod remote;
mod search;
mod sources;
pub mod squashfs;

pub use config::{ImageHealthcheck, RuntimeConfig};
pub use download::{download, DownloadError};
pub use list::{
    is_list_config, list_config, parse_instance_digest, Annotate, Entry, InspectList, ManifestList,
};
pub use list_fetch::{remote_entries, remote_inspect, store_entry, STORE_TRANSPORT};
pub use list_push::{push_list, ListPushOptions};
pub use local::{lookup_local, resolve_list, Found};
pub use login::{
    check_login, login, logout, registry_key, stored_login, LoginOptions, LogoutTarget,
};
pub use platform::Platform;
pub use push::{parse_compression, push, ManifestFormat, PushOptions};
pub use reference::Reference;
pub use remote::{qualified, remote_digest};
pub use search::{search, SearchFilter, SearchOptions, SearchResult};

use std::path::PathBuf;

use crate::paths::Paths;
use crate::storage::{Digest, ImageRecord, Store};
use crate::userns::IdMaps;

use reference::{ImageName, DOCKER_HUB};
use registries::Registries;

/// How long `pull` waits for the HTTP client's threads to end before it
/// forks.
const THREAD_EXIT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// What went wrong with an image.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid image config")]
    Config(#[source] serde_json::Error),
    #[error("invalid platform {0:?}: expected os/arch[/variant]")]
    Platform(String),
    #[error("invalid image reference {input:?}: {reason}")]
    Reference { input: String, reason: &'static str },
    #[error("reading {path}")]
    ReadRegistriesConf {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing {path}")]
    ParseRegistriesConf {
        path: PathBuf,
        #[source]
        source: registries::TomlError,
    },
    #[error("{path}: [[registry]] table {index} has neither location nor prefix")]
    RegistriesConfEntry { path: PathBuf, index: usize },
    #[error("registry {prefix} is blocked in {path}")]
    Blocked { prefix: String, path: PathBuf },
    #[error(transparent)]
    Policy(policy::Error),
    #[error("pulling {reference}")]
    Pull {
        reference: String,
        #[source]
        source: Box<Error>,
    },
    #[error("pulling {name:?}: not found in any search registry: {tried}")]
    ShortName { name: String, tried: String },
    #[error("registry credentials")]
    Credentials(#[source] credentials::Error),
    #[error("preparing the credentials directory")]
    AuthDir(#[source] crate::paths::Error),
    #[error("registry certificates")]
    Certs(#[source] certs::Error),
    #[error("pushing {reference}")]
    Push {
        reference: String,
        #[source]
        source: Box<Error>,
    },
    #[error("no local image {0:?}")]
    NoSuchImage(String),
    #[error("checking the authfile {path}")]
    AuthFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0:?} names no registry to push to")]
    NoDestination(String),
    #[error("cannot push to a digest reference {0:?}")]
    PushDigest(String),
    #[error("the docker manifest format cannot carry zstd layers")]
    DockerZstd,
    #[error("recompressing layer {digest}")]
    Recompress {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("storing the recompressed layer")]
    StoreRecompressed(#[source] crate::storage::Error),
    #[error("opening blob {digest}")]
    OpenBlob {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error("not logged in to {0}")]
    NotLoggedIn(String),
    #[error("no registries found in registries.conf, a registry must be provided")]
    NoDefaultRegistry,
    #[error("logging in to {registry}")]
    Login {
        registry: String,
        #[source]
        source: Box<Error>,
    },
    #[error("unknown {what} {value:?}")]
    BadChoice { what: &'static str, value: String },
    #[error("{what} larger than {limit} bytes")]
    TooLarge { what: &'static str, limit: u64 },
    #[error("digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: String, actual: Digest },
    #[error("layer {digest}")]
    Layer {
        digest: Digest,
        #[source]
        source: Box<Error>,
    },
    #[error("config {digest}")]
    ConfigBlob {
        digest: Digest,
        #[source]
        source: Box<Error>,
    },
    #[error("unexpected Content-Range {0:?}")]
    BadRange(String),
    #[error("reading the blob")]
    ReadBlob(#[source] std::io::Error),
    #[error("body truncated at {got} of {expected} bytes")]
    Truncated { expected: u64, got: u64 },
    #[error("body longer than the expected {expected} bytes")]
    Oversized { expected: u64 },
    #[error("locking the blob")]
    LockBlob(#[source] crate::storage::Error),
    #[error("creating the blob")]
    CreateBlob(#[source] crate::storage::Error),
    #[error("writing the blob")]
    WriteBlob(#[source] std::io::Error),
    #[error("storing the blob")]
    CommitBlob(#[source] crate::storage::Error),
    #[error("reading the stored blob")]
    ReadStoredBlob(#[source] crate::storage::Error),
    #[error("looking up {name}")]
    FindImage {
        name: String,
        #[source]
        source: crate::storage::Error,
    },
    #[error("listing images")]
    ListImages(#[source] crate::storage::Error),
    #[error("unpacking layers")]
    Unpack(#[source] crate::storage::Error),
    #[error("recording the image")]
    PutImage(#[source] crate::storage::Error),
    #[error("{0}")]
    SearchFilter(String),
    #[error("{0}")]
    ListUsage(String),
    #[error("reading the manifest list")]
    ListDocument(#[source] serde_json::Error),
    #[error("reading {image}")]
    ListImage {
        image: String,
        #[source]
        source: Box<Error>,
    },
    #[error("{0:?} is not a fully qualified image reference")]
    NotQualified(String),
    #[error("checking {reference} at its registry")]
    CheckRemote {
        reference: String,
        #[source]
        source: Box<Error>,
    },
    #[error("{0}: image is not a manifest list")]
    NotAList(String),
    #[error("the manifest is not UTF-8 JSON")]
    ListManifestText,
    #[error("image {digest} of the list")]
    Instance {
        digest: Digest,
        #[source]
        source: Box<Error>,
    },
    #[error("the store no longer holds the blobs of {digest} (added from image {image})")]
    InstanceBlobsGone { digest: Digest, image: String },
    #[error("no instance matching digest {digest:?} found in manifest list {list}")]
    NoListEntry { list: String, digest: String },
    #[error("creating manifest list {name}: the name is already in use by image {id}")]
    ListNameInUse { name: String, id: String },
    #[error("listing the tags of {name}")]
    ListTags {
        name: String,
        #[source]
        source: Box<Error>,
    },
    #[error("--all-tags cannot pull the digest reference {0:?}")]
    AllTagsDigest(String),
    #[error("searching {registry}")]
    Search {
        registry: String,
        #[source]
        source: Box<Error>,
    },
    #[error("searching: {0}")]
    SearchAll(String),
    #[error("invalid answer from the registry")]
    SearchAnswer(#[source] serde_json::Error),
    #[error("reference {0:?} must be a docker reference")]
    NotDockerReference(String),
    #[error("{0} threads still running after the downloads")]
    ThreadsLeft(usize),
    /// The registry's answer (HTTP, authentication, status codes).
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A manifest, index or config that this hutch cannot use.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// What went wrong talking to a registry: the transport, authentication
/// and the status codes of the Distribution API.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("creating the HTTP client")]
    HttpClient(#[source] reqwest::Error),
    #[error("requesting {url}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("reading the response from {url}")]
    ReadBody {
        url: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unexpected HTTP status {status} from {url}{}", if message.is_empty() { String::new() } else { format!(" ({message})") })]
    Status {
        url: String,
        status: u16,
        message: String,
    },
    #[error("manifest unknown")]
    ManifestUnknown,
    #[error("repository name unknown")]
    NameUnknown,
    #[error("blob unknown")]
    BlobUnknown,
    #[error("authentication required")]
    Unauthorized,
    #[error("access denied")]
    Denied,
    #[error("too many requests")]
    TooManyRequests,
    #[error("registry {0} requires credentials")]
    NeedsCredentials(String),
    #[error("registry {0} sent an unusable authentication challenge")]
    BadChallenge(String),
    #[error("invalid token realm {0:?}")]
    BadRealm(String),
    #[error("requesting a token from {realm}")]
    TokenRequest {
        realm: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("token request to {realm} failed with HTTP status {status}")]
    TokenStatus { realm: String, status: u16 },
    #[error("invalid token response from {realm}")]
    TokenParse {
        realm: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("token response from {0} has no token")]
    TokenMissing(String),
    #[error("{0}: unauthorized: the registry refused the user name or password")]
    BadCredentials(String),
    #[error("loading certificate {path}")]
    BadCert {
        path: PathBuf,
        #[source]
        source: reqwest::Error,
    },
    #[error("invalid upload location {0:?} from the registry")]
    BadLocation(String),
}

/// A manifest, index or image config that cannot be used: its format, its
/// media types, or what it describes.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("invalid manifest")]
    ParseManifest(#[source] serde_json::Error),
    #[error("docker schema 1 manifests are not supported")]
    Schema1,
    #[error("unsupported manifest type {0:?}")]
    ManifestMediaType(String),
    #[error("an index points at another index")]
    NestedIndex,
    #[error("no image for platform {wanted} (available: {available})")]
    NoPlatform { wanted: String, available: String },
    #[error("invalid descriptor digest {0:?}")]
    DescriptorDigest(String),
    #[error("invalid diff_id {0:?} in the image config")]
    DiffId(String),
    #[error("not a container image: config type {0:?}")]
    ConfigMediaType(String),
    #[error("unsupported layer type {0:?}")]
    LayerMediaType(String),
    #[error("non-distributable layer type {0:?} cannot be pulled")]
    NonDistributable(String),
    #[error("manifest lists {layers} layers but the config lists {diff_ids} diff_ids")]
    LayerCount { layers: usize, diff_ids: usize },
}

impl Error {
    /// Whether retrying the same request may succeed.
    fn is_transient(&self) -> bool {
        match self {
            Error::Registry(RegistryError::ReadBody { .. })
            | Error::ReadBlob(_)
            | Error::Truncated { .. } => true,
            Error::Registry(RegistryError::Request { source, .. }) => client::is_transient(source),
            _ => false,
        }
    }
}

/// Whether the failure `e` (or one of its causes) is a registry that
/// could not be reached or answered with a transient error, so that
/// trying the whole pull again later may succeed (`build --retry`).
pub fn is_retryable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<reqwest::Error>() {
            return client::is_transient(r);
        }
        if err.downcast_ref::<Error>().is_some_and(Error::is_transient) {
            return true;
        }
        cur = err.source();
    }
    false
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        let s = |t: &str| Some(t.to_string());
        match self {
            Error::Pull { source, .. } | Error::Layer { source, .. } | Error::ConfigBlob { source, .. } => {
                source.hint()
            }
            Error::Registry(e) => e.hint(),
            Error::Manifest(e) => e.hint(),
            Error::Policy(e) => e.hint(),
            Error::ShortName { .. } => s("use a fully qualified name (registry/repository:tag), or check unqualified-search-registries in registries.conf"),
            Error::Push { source, .. } | Error::Login { source, .. } | Error::Search { source, .. }
            | Error::ListTags { source, .. }
            | Error::Instance { source, .. }
            | Error::ListImage { source, .. }
            | Error::CheckRemote { source, .. } => source.hint(),
            Error::NotQualified(_) => s("create the container from registry/repository:tag for the registry policy, or use io.containers.autoupdate=local"),
            Error::NotAList(_) => s("`hutch manifest create` makes a list; `hutch images` shows which names are lists"),
            Error::InstanceBlobsGone { .. } => s("pull the image again, or add it to the list from its registry"),
            Error::NoSuchImage(_) => s("`hutch images` lists the local images"),
            Error::AuthDir(e) => e.hint(),
            Error::AuthFile { .. } => s("name an existing file, or create it with hutch login --authfile PATH REGISTRY"),
            Error::NoDestination(_) => s("name the destination: hutch push IMAGE REGISTRY/REPOSITORY[:TAG]"),
            Error::DockerZstd => s("use --compression-format gzip, or --format oci"),
            Error::DigestMismatch { .. } | Error::Truncated { .. } | Error::Oversized { .. } => {
                s("the registry sent corrupt data; retry or check the registry")
            }
            Error::Blocked { .. } => s("remove blocked = true from that registry's table to allow pulls"),
            Error::ParseRegistriesConf { .. } | Error::RegistriesConfEntry { .. } => {
                s("fix the file (see containers-registries.conf(5)) or point CONTAINERS_REGISTRIES_CONF elsewhere")
            }
            Error::LockBlob(e)
            | Error::CreateBlob(e)
            | Error::CommitBlob(e)
            | Error::ReadStoredBlob(e)
            | Error::FindImage { source: e, .. }
            | Error::ListImages(e)
            | Error::Unpack(e)
            | Error::PutImage(e) => e.hint(),
            _ => None,
        }
    }
}

impl crate::error::Diagnose for RegistryError {
    fn hint(&self) -> Option<String> {
        let s = |t: &str| Some(t.to_string());
        match self {
            RegistryError::Request { source, .. } if is_certificate_error(source) => s("trust the registry's CA: put it in ~/.config/containers/certs.d/HOST:PORT/ca.crt or pass --cert-dir DIR; --tls-verify=false skips the check"),
            RegistryError::Request { .. } => s("check that the registry is reachable; for a plain-HTTP registry set insecure = true in its [[registry]] table in registries.conf, or pass --tls-verify=false"),
            RegistryError::ManifestUnknown | RegistryError::NameUnknown => s("check the image name and tag"),
            RegistryError::Unauthorized | RegistryError::Denied => {
                s("the repository may not exist, or it needs credentials: log in with hutch login REGISTRY")
            }
            RegistryError::NeedsCredentials(host) => Some(format!("log in first: hutch login {host}")),
            RegistryError::BadCredentials(host) => Some(format!("check the user name and password, then run hutch login {host} again")),
            RegistryError::BadCert { .. } => s("the file must hold PEM certificates (a client .cert needs its PEM .key beside it)"),
            RegistryError::TooManyRequests => s("the registry is limiting requests; wait and retry"),
            _ => None,
        }
    }
}

impl crate::error::Diagnose for ManifestError {
    fn hint(&self) -> Option<String> {
        let s = |t: &str| Some(t.to_string());
        match self {
            ManifestError::NoPlatform { .. } => {
                s("choose one of the available platforms with --platform")
            }
            ManifestError::Schema1 => {
                s("the image uses an obsolete format; push it again with a current tool")
            }
            _ => None,
        }
    }
}

/// Whether a transport error is a rejected server certificate.
fn is_certificate_error(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.to_string().contains("certificate") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// When `run` pulls, as `--pull` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum PullPolicy {
    /// Always pull.
    Always,
    /// Pull only if no local image matches (the default).
    #[default]
    Missing,
    /// Never pull; fail if no local image matches.
    Never,
}

/// How to pull.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// The platform to select from an index.
    pub platform: Platform,
    /// Suppress progress output.
    pub quiet: bool,
    /// `Some(false)` allows plain HTTP and unverified TLS for every registry.
    pub tls_verify: Option<bool>,
    /// `--authfile`: the only credential file to read.
    pub authfile: Option<std::path::PathBuf>,
    /// `--cert-dir`: the TLS files for every registry.
    pub cert_dir: Option<std::path::PathBuf>,
    /// `--creds`: used instead of stored credentials.
    pub credentials: Option<credentials::Credentials>,
}

/// A progress or notice line for the user; `cli` decides where it goes.
pub trait Reporter: Sync {
    /// A line such as `Trying to pull REG/busybox:latest...`.
    fn notice(&self, line: &str);
    /// A layer of a pull (its blob's short digest and size in bytes)
    /// reached `step`, for front ends that show each layer, as Docker's
    /// API does; the CLI's lines say enough.
    fn layer(&self, _short_digest: &str, _size: u64, _step: LayerStep) {}
}

/// How far a pull has brought one layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerStep {
    /// Its blob is in the store (downloaded by this pull or before).
    Fetched,
    /// It is unpacked, and the image stored.
    Unpacked,
}

/// Checks that an `--authfile` given for a pull or push exists, before
/// anything else is done (as Podman does); `login` creates it instead.
/// The registry `login` and `logout` use when none is named, as Podman
/// does: the first of registries.conf's unqualified-search-registries.
pub fn default_registry(paths: &Paths) -> Result<String, Error> {
    registries::Registries::load(&paths.registries_conf_candidates())?
        .configured_search()
        .first()
        .cloned()
        .ok_or(Error::NoDefaultRegistry)
}

pub fn check_authfile(path: Option<&std::path::Path>) -> Result<(), Error> {
    match path.map(std::fs::metadata) {
        Some(Err(source)) => Err(Error::AuthFile {
            path: path.unwrap_or(std::path::Path::new("")).to_path_buf(),
            source,
        }),
        _ => Ok(()),
    }
}

/// Pulls `name` (short or qualified) and records it in `store`; returns the
/// stored image. Short names go through the search registries in order.
/// Network work finishes and the HTTP client is dropped before layers are
/// unpacked in a user namespace with `maps`.
pub fn pull(
    paths: &Paths,
    store: &Store,
    name: &str,
    opts: &PullOptions,
    maps: &IdMaps,
    reporter: &dyn Reporter,
) -> Result<ImageRecord, Error> {
    let regs = Registries::load(&paths.registries_conf_candidates())?;
    let policy = policy::Policy::load(&paths.policy_candidates()).map_err(Error::Policy)?;
    let parsed = ImageName::parse(name)?;
    let outcome = if parsed.is_short() {
        fetch_short(
            paths,
            &regs,
            policy.as_ref(),
            store,
            name,
            &parsed,
            opts,
            reporter,
        )?
    } else {
        let r = parsed.qualify(DOCKER_HUB);
        reporter.notice(&format!("Trying to pull {r}..."));
        allowed(policy.as_ref(), &r)
            .and_then(|()| pull::fetch(&regs, &access(paths, opts), &paths.root, store, &r, opts))
            .map_err(|e| e.while_pulling(&r))?
    };
    let mut rec = match outcome {
        pull::Outcome::Unchanged(rec) => return Ok(rec),
        pull::Outcome::Fetched(rec) => rec,
    };
    for layer in &rec.layers {
        reporter.layer(layer.blob.short(), layer.size, LayerStep::Fetched);
    }
    wait_single_threaded()?;
    store
        .unpack_layers(&rec.layers, maps)
        .map_err(|e| Error::Pull {
            reference: rec
                .names
                .first()
                .cloned()
                .unwrap_or_else(|| name.to_string()),
            source: Box::new(Error::Unpack(e)),
        })?;
    store.put_image(&rec).map_err(Error::PutImage)?;
    for layer in &rec.layers {
        reporter.layer(layer.blob.short(), layer.size, LayerStep::Unpacked);
    }
    // The store may know the image under more names than this pull added.
    if let Ok(Some(stored)) = store.find_image(&rec.id.to_string()) {
        rec = stored;
    }
    Ok(rec)
}

/// Every tag of the repository `name` names, as `registry/repository:tag`
/// names to pull (`pull --all-tags`; a tag in `name` is ignored, as
/// Podman ignores it). A short name is tried at each search registry in
/// turn until one lists it.
pub fn all_tags(paths: &Paths, name: &str, opts: &PullOptions) -> Result<Vec<String>, Error> {
    let regs = Registries::load(&paths.registries_conf_candidates())?;
    let parsed = ImageName::parse(name)?;
    if parsed.digest.is_some() {
        return Err(Error::AllTagsDigest(name.to_string()));
    }
    let registries = match parsed.is_short() {
        true => regs.search_registries(),
        false => vec![DOCKER_HUB.to_string()],
    };
    let mut failure = None;
    for registry in registries {
        let r = parsed.qualify(&registry);
        let listed = regs.endpoint(&r).and_then(|ep| {
            let conn = access(paths, opts).options(&ep, opts.tls_verify)?;
            let client = client::RegistryClient::connect(&ep, &conn)?;
            search::repository_tags(&client, &ep.repository)
        });
        match listed {
            Ok(tags) => return Ok(tags.iter().map(|t| format!("{}:{t}", r.name())).collect()),
            Err(e) => {
                failure = Some(Error::ListTags {
                    name: r.name(),
                    source: Box::new(e),
                })
            }
        }
    }
    Err(failure.unwrap_or_else(|| Error::NoSuchImage(name.to_string())))
}

/// Where pulls look for credentials and TLS files: the user's credential
/// files and certs.d directories.
fn access(paths: &Paths, opts: &PullOptions) -> client::Access {
    client::Access {
        auth_files: login::auth_files(paths, opts.authfile.as_ref()),
        certs_dirs: paths.certs_dirs(),
        cert_dir: opts.cert_dir.clone(),
        credentials: opts.credentials.clone(),
    }
}

/// Tries a short name at each search registry in order.
#[allow(clippy::too_many_arguments)]
fn fetch_short(
    paths: &Paths,
    regs: &Registries,
    policy: Option<&policy::Policy>,
    store: &Store,
    name: &str,
    parsed: &ImageName,
    opts: &PullOptions,
    reporter: &dyn Reporter,
) -> Result<pull::Outcome, Error> {
    let mut failures = Vec::new();
    for registry in regs.search_registries() {
        let r = parsed.qualify(&registry);
        reporter.notice(&format!("Trying to pull {r}..."));
        let fetched = allowed(policy, &r)
            .and_then(|()| pull::fetch(regs, &access(paths, opts), &paths.root, store, &r, opts));
        match fetched {
            Ok(outcome) => {
                reporter.notice(&format!("Resolved {name:?} to {r}"));
                return Ok(outcome);
            }
            Err(e) => {
                log::debug!("pulling {r}: {}", chain_text(&e));
                failures.push((r, e));
            }
        }
    }
    if failures.len() == 1 {
        let (r, e) = failures.remove(0);
        return Err(e.while_pulling(&r));
    }
    let tried = failures
        .iter()
        .map(|(r, e)| format!("{r} ({})", chain_text(e)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::ShortName {
        name: name.to_string(),
        tried,
    })
}

/// Refuses a pull of `r` that the signature policy does not allow
/// unsigned; without a policy file every pull is allowed.
fn allowed(policy: Option<&policy::Policy>, r: &Reference) -> Result<(), Error> {
    match policy {
        Some(p) => p.check(r).map_err(Error::Policy),
        None => Ok(()),
    }
}

impl Error {
    fn while_pulling(self, r: &Reference) -> Error {
        Error::Pull {
            reference: r.to_string(),
            source: Box::new(self),
        }
    }
}

/// An error and its sources joined by `: `, for folding several failures
/// into one message.
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

/// Waits until the HTTP client's threads have ended: the kernel may still
/// count a thread for a moment after it was joined.
fn wait_single_threaded() -> Result<(), Error> {
    let deadline = std::time::Instant::now() + THREAD_EXIT_WAIT;
    loop {
        match crate::sys::process::thread_count() {
            None | Some(1) => return Ok(()),
            Some(n) if std::time::Instant::now() >= deadline => return Err(Error::ThreadsLeft(n)),
            Some(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
        }
    }
}

/// Finds a local image for `name` as Podman does (see `local`): an id, the
/// name's candidates (`localhost/`, the search registries, Docker Hub), an
/// id prefix, then a repository-suffix match; a manifest list stands for
/// its stored image for the host's platform.
pub fn find_local(paths: &Paths, store: &Store, name: &str) -> Result<Option<ImageRecord>, Error> {
    match lookup_local(paths, store, name)? {
        Some(f) => Ok(resolve_list(store, f)?.map(|f| f.image)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Diagnose;

    #[test]
    fn pull_errors_render_image_then_cause() {
        let r = ImageName::parse("127.0.0.1:5000/nope")
            .unwrap()
            .qualify(DOCKER_HUB);
        let e = Error::from(RegistryError::ManifestUnknown).while_pulling(&r);
        assert_eq!(
            chain_text(&e),
            "pulling 127.0.0.1:5000/nope:latest: manifest unknown"
        );
        assert_eq!(e.hint().as_deref(), Some("check the image name and tag"));
    }
}
