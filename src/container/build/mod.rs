//! `build` (issue #15): an image from a Containerfile, on hutch's own
//! store and runtime. A front end fills a `BuildRequest` and calls
//! `Engine::build`; the engine parses the Containerfile
//! (`image::containerfile`), picks the stages the target needs
//! (`stages`), and runs each instruction: `RUN` in a container made by
//! the engine's own create function from the stage's current image
//! (`run`), `COPY`/`ADD` by gathering their sources into a tar and
//! putting it below the destination in such a container (`copy`), the
//! config instructions by editing the image config (`config`). After each
//! step the container's changes become a layer and the result an unnamed
//! image, found again by its cache key on the next build (`cache`).
//!
//! It must not print: what happens is reported as `BuildEvent`s, which
//! the CLI prints as Podman does.

mod cache;
mod config;
mod context;
mod copy;
mod exec;
mod finish;
mod instructions;
mod run;
mod stages;

use std::path::PathBuf;

use crate::image::containerfile;
use crate::storage::Digest;

pub use super::create::{CreateRequest, PullPolicy, RegistryOptions};
pub use context::is_remote;

use std::time::Duration;

/// Where the Containerfile comes from.
#[derive(Debug, Clone)]
pub enum ContainerfileSource {
    /// `-f PATH` (relative to the current directory).
    Path(PathBuf),
    /// `-f -`: read by the front end; `name` is how errors call it.
    Text { name: String, text: String },
}

/// A context that is not a directory on the host, made into one for the
/// build (see `context`).
#[derive(Debug, Clone)]
pub enum RemoteContext {
    /// `build -`: what standard input held, a tar archive (plain or
    /// compressed) that is the context, or else the Containerfile of an
    /// empty one.
    Stdin(std::sync::Arc<Vec<u8>>),
    /// A git repository (`git://`, `git@`, `….git`, with `#REF:SUBDIR`)
    /// or the URL of a tarball.
    Url(String),
}

/// A `--secret id=ID,src=PATH`: a file `RUN --mount=type=secret` sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    /// The id a mount names.
    pub id: String,
    /// The file on the host.
    pub src: PathBuf,
}

/// Everything a build needs, as one typed request; every field has the
/// meaning of the `podman build` flag it is named after.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// The context directory.
    pub context: PathBuf,
    /// A context to fetch instead of `context`: standard input or a URL.
    pub remote: Option<RemoteContext>,
    /// `-f`; `Containerfile`, else `Dockerfile`, in the context when
    /// `None`.
    pub file: Option<ContainerfileSource>,
    /// `--ignorefile`; `.containerignore`, else `.dockerignore`, in the
    /// context when `None`.
    pub ignore_file: Option<PathBuf>,
    /// `-t`, as given.
    pub tags: Vec<String>,
    /// `--build-arg NAME=VALUE`.
    pub build_args: Vec<(String, String)>,
    /// `--target`.
    pub target: Option<String>,
    /// `--no-cache`.
    pub no_cache: bool,
    /// `--pull`.
    pub pull: PullPolicy,
    /// `--pull=newer`: pull, but keep the local image when the registry
    /// cannot be reached.
    pub pull_newer: bool,
    /// `--layers` (default true): cache each step's image.
    pub layers: bool,
    /// `-q`: no step lines and no output of `RUN`.
    pub quiet: bool,
    /// `--label NAME=VALUE`, added to the final image.
    pub labels: Vec<(String, String)>,
    /// `--annotation NAME=VALUE`, recorded in the final image's manifest.
    pub annotations: Vec<(String, String)>,
    /// `--env NAME=VALUE`, set in the final image.
    pub env: Vec<(String, String)>,
    /// `--unsetenv NAME`, removed from the final image.
    pub unsetenv: Vec<String>,
    /// `--omit-history`: the final image has no history.
    pub omit_history: bool,
    /// `--from`: replaces the image of the first `FROM`.
    pub from: Option<String>,
    /// `--skip-unused-stages=false`: every stage up to the target.
    pub all_stages: bool,
    /// `--format docker`.
    pub is_docker: bool,
    /// `--squash`: the new layers become one.
    pub squash: bool,
    /// `--squash-all`: the whole image becomes one layer.
    pub squash_all: bool,
    /// `--platform`: only the host's is built.
    pub platform: Option<String>,
    /// `--authfile`, `--cert-dir`, `--tls-verify` for pulls.
    pub registry: RegistryOptions,
    /// `--secret`.
    pub secrets: Vec<Secret>,
    /// `--timestamp`: the created times of the image and its new history
    /// entries, and the times of the files in the layers the build adds,
    /// in seconds since the epoch.
    pub timestamp: Option<i64>,
    /// `--retry`: how often a base image's pull is tried again when the
    /// registry cannot be reached.
    pub retry: u32,
    /// `--retry-delay`: the wait before each of those.
    pub retry_delay: Duration,
    /// `--identity-label`: add `io.buildah.version`.
    pub identity_label: bool,
    /// `--os-feature`: added to `os.features` (`NAME-` removes).
    pub os_features: Vec<String>,
    /// `--os-version`: the config's `os.version`.
    pub os_version: Option<String>,
    /// `--cpp-flag`: for the C preprocessor of a `*.in` Containerfile.
    pub cpp_flags: Vec<String>,
    /// `--cache-ttl`: cached step images older than this are not used.
    pub cache_ttl: Option<Duration>,
    /// `--manifest`: the list the image is added to.
    pub manifest: Option<String>,
    /// `--output`: where the final stage's files are written too.
    pub output: Option<Output>,
    /// `--build-context NAME=…`.
    pub contexts: Vec<(String, NamedContext)>,
    /// What every `RUN` container gets from the command line:
    /// `--network`, `--cap-add`, `--security-opt`, `--ulimit`, `-v`,
    /// `--userns`, `--memory`, `--cpus` and friends.
    pub run: CreateRequest,
}

/// A `--build-context` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedContext {
    /// A directory, read as the main context is.
    Dir(PathBuf),
    /// `docker-image://IMAGE` or `container-image://IMAGE`: an image,
    /// pulled as `--pull` says.
    Image(String),
    /// A git repository or the URL of a tarball, fetched as the main
    /// context's.
    Remote(String),
}

/// A `--output` destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// `type=local,dest=DIR`, or a bare directory: the files unpacked there.
    Dir(PathBuf),
    /// `type=tar,dest=FILE`: the files as one tar.
    Tar(PathBuf),
}

/// What a build reports as it goes; the CLI prints each as Podman does.
#[derive(Debug, Clone, Copy)]
pub enum BuildEvent<'a> {
    /// A step starts: `[stage/stages] STEP n/m: TEXT`.
    Step {
        /// (1-based index, count) when the build has several stages.
        stage: Option<(usize, usize)>,
        index: usize,
        count: usize,
        text: &'a str,
    },
    /// The step's image was found in the cache.
    UsingCache(&'a Digest),
    /// The final image is being committed: `[stage] COMMIT NAME`.
    Committing {
        stage: Option<(usize, usize)>,
        name: Option<&'a str>,
    },
    /// A step's (or the final) image: `--> ID`.
    Committed(&'a Digest),
    /// The final image got a name.
    Tagged(&'a str),
}

/// Where a build reports: pull notices and warnings as every engine
/// operation does, and its own events.
pub trait BuildProgress: super::Progress {
    /// One event of the build.
    fn event(&self, event: BuildEvent<'_>);
}

/// What went wrong building.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Containerfile could not be read.
    #[error("reading {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No Containerfile in the context.
    #[error("no Containerfile or Dockerfile in the context directory {0}")]
    NoFile(PathBuf),
    /// The context is not a directory.
    #[error("the build context {path} is not a directory")]
    Context {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Making the temporary directory of a fetched context.
    #[error("preparing the build context in {path}")]
    TempContext {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading standard input or a download.
    #[error("reading the build context from {what}")]
    ReadContext {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// Unpacking a context's archive.
    #[error("unpacking the build context from {what}")]
    UnpackContext {
        what: String,
        #[source]
        source: crate::files::Error,
    },
    /// Downloading a context.
    #[error("downloading the build context")]
    Download {
        url: String,
        #[source]
        source: crate::image::DownloadError,
    },
    /// No `git` to clone a repository with.
    #[error("cloning {url}: the git command is not installed")]
    GitMissing { url: String },
    /// A git step failed.
    #[error("cloning {url}: git {step} failed: {message}")]
    Git {
        url: String,
        step: String,
        message: String,
    },
    /// The `#REF:SUBDIR` directory of a fetched context.
    #[error("the context directory {subdir:?}: {why}")]
    ContextSubdir { subdir: String, why: String },
    /// The Containerfile does not parse.
    #[error("parsing {file}")]
    Parse {
        file: String,
        #[source]
        source: containerfile::Error,
    },
    /// `--target` names no stage.
    #[error("the target stage {0:?} is not in the Containerfile")]
    UnknownTarget(String),
    /// `--platform` other than the host's.
    #[error("--platform {want}: hutch builds only for this host's platform, {host}")]
    Platform { want: String, host: String },
    /// A flag's value that cannot be used.
    #[error("{0}")]
    Flag(String),
    /// Running the C preprocessor on a `*.in` Containerfile.
    #[error("running cpp on {path}")]
    Cpp {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The C preprocessor failed.
    #[error("cpp {path}: {message}")]
    CppFailed { path: PathBuf, message: String },
    /// `--output`.
    #[error("writing the build's output to {path}")]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `--manifest`: adding the image to the list.
    #[error("adding the image to manifest list {list}")]
    Manifest {
        list: String,
        #[source]
        source: Box<super::Error>,
    },
    /// A step failed.
    #[error("building at STEP \"{step}\" ({file} line {line})")]
    Step {
        step: String,
        file: String,
        line: usize,
        #[source]
        source: Box<StepError>,
    },
    /// Finishing the image (squashing, tagging).
    #[error("committing the image")]
    Finish(#[source] Box<StepError>),
}

/// Why a step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The `RUN` command failed.
    #[error("exit status {0}")]
    Exit(i32),
    /// Creating, running or reading a container or an image.
    #[error(transparent)]
    Engine(Box<super::Error>),
    /// Copying files, committing a layer.
    #[error(transparent)]
    Files(crate::files::Error),
    /// The store.
    #[error(transparent)]
    Store(crate::storage::Error),
    /// Variables that do not expand.
    #[error(transparent)]
    Syntax(containerfile::Error),
    /// `ADD` of a URL.
    #[error("ADD {0}: hutch does not download files while building")]
    AddUrl(String),
    /// An instruction hutch's builder cannot do, or a bad argument.
    #[error("{0}")]
    Invalid(String),
    /// Writing the temporary archive of a step's sources.
    #[error("writing the sources' archive")]
    Temp(#[source] std::io::Error),
}

impl From<super::Error> for StepError {
    fn from(e: super::Error) -> StepError {
        StepError::Engine(Box::new(e))
    }
}

impl From<crate::files::Error> for StepError {
    fn from(e: crate::files::Error) -> StepError {
        StepError::Files(e)
    }
}

impl From<crate::storage::Error> for StepError {
    fn from(e: crate::storage::Error) -> StepError {
        StepError::Store(e)
    }
}

impl From<containerfile::Error> for StepError {
    fn from(e: containerfile::Error) -> StepError {
        StepError::Syntax(e)
    }
}

impl crate::error::Diagnose for Error {
    fn hint(&self) -> Option<String> {
        let step = match self {
            Error::Step { source, .. } | Error::Finish(source) => source,
            Error::NoFile(_) => {
                return Some("name the file with -f, or add a Containerfile to the context".into())
            }
            Error::Platform { .. } => {
                return Some("drop --platform, or build on a host of that platform".into())
            }
            Error::GitMissing { .. } => {
                return Some("install git (apt-get install git), or clone the repository and build from its directory".into())
            }
            Error::Git { .. } => {
                return Some("check the URL and the #REF:SUBDIR fragment (a branch, tag or commit the server offers)".into())
            }
            _ => return None,
        };
        match &**step {
            StepError::Engine(e) => e.hint(),
            StepError::Files(e) => e.hint(),
            StepError::Store(e) => e.hint(),
            StepError::AddUrl(_) => Some(
                "download it first (curl -LO URL) and ADD or COPY the file from the context".into(),
            ),
            _ => None,
        }
    }
}
