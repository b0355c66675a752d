//! `hutch build` and `hutch image build`: the flags become one
//! `BuildRequest` (what every `RUN` container gets is a `CreateRequest`
//! inside it), `Engine::build` does the rest, and its events are printed
//! as Podman prints them: `STEP n/m: ...`, `--> ID`, `COMMIT NAME`,
//! `Successfully tagged NAME`, then the full id.

use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;

use super::registry::{CredsArgs, RegistryArgs};
use super::StderrReporter;
use crate::container::build::{
    is_remote, BuildEvent, BuildProgress, BuildRequest, ContainerfileSource, CreateRequest,
    NamedContext, Output, PullPolicy, RegistryOptions, RemoteContext, Secret,
};
use crate::container::{Engine, NetworkRequest};
use crate::error::Error;

#[derive(Debug, Args)]
pub struct BuildArgs {
    /// Name (and tag) for the built image; may be given several times
    #[arg(short, long = "tag", value_name = "NAME")]
    pub tag: Vec<String>,
    /// The Containerfile (`-` reads it from standard input; default: Containerfile or Dockerfile in the context)
    #[arg(short, long, value_name = "PATH")]
    pub file: Vec<PathBuf>,
    /// Set a build argument (NAME=VALUE, or NAME to take its value from the environment)
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_arg: Vec<String>,
    /// Build only up to this stage (by its AS name)
    #[arg(long, value_name = "STAGE")]
    pub target: Option<String>,
    /// Do not use cached images for the steps (they are still cached for later builds)
    #[arg(long)]
    pub no_cache: bool,
    /// When to pull base images: always, missing, never, newer (bare --pull: always)
    #[arg(long, value_name = "POLICY", num_args = 0..=1, default_missing_value = "always", require_equals = true)]
    pub pull: Option<String>,
    /// Pull base images always (Podman's older spelling of --pull=always)
    #[arg(long, hide = true)]
    pub pull_always: bool,
    /// Never pull base images (Podman's older spelling of --pull=never)
    #[arg(long, hide = true)]
    pub pull_never: bool,
    /// Cache the image of every step for later builds (default true)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub layers: Option<bool>,
    /// Print only the image id: no steps and no output of RUN commands
    #[arg(short, long)]
    pub quiet: bool,
    /// Write the image id to this file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<PathBuf>,
    /// Add a label to the image (NAME=VALUE)
    #[arg(long, value_name = "NAME=VALUE")]
    pub label: Vec<String>,
    /// Add an annotation to the image's manifest (NAME=VALUE)
    #[arg(long, value_name = "NAME=VALUE")]
    pub annotation: Vec<String>,
    /// Set an environment variable in the image (NAME=VALUE, or NAME from the environment)
    #[arg(long, value_name = "NAME=VALUE")]
    pub env: Vec<String>,
    /// Remove an environment variable from the image
    #[arg(long, value_name = "NAME")]
    pub unsetenv: Vec<String>,
    /// Format of the image's manifest and config: oci (default) or docker
    #[arg(long, value_name = "FORMAT", env = "BUILDAH_FORMAT")]
    pub format: Option<String>,
    /// Make the layers the build added one layer
    #[arg(long)]
    pub squash: bool,
    /// Make the whole image one layer
    #[arg(long)]
    pub squash_all: bool,
    /// Leave the build's history out of the image
    #[arg(long)]
    pub omit_history: bool,
    /// Build for this platform (only the host's: os/arch[/variant])
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Option<String>,
    /// Build for this architecture (only the host's)
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Build for this operating system (only linux)
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Build for this architecture variant (only the host's)
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
    /// Replace the image of the first FROM
    #[arg(long, value_name = "IMAGE")]
    pub from: Option<String>,
    /// Ignore-file to read instead of .containerignore or .dockerignore in the context
    #[arg(long, value_name = "PATH")]
    pub ignorefile: Option<PathBuf>,
    /// Build every stage up to the target, needed or not, with false (default true)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub skip_unused_stages: Option<bool>,
    /// A file RUN --mount=type=secret,id=ID can see (id=ID,src=PATH)
    #[arg(long, value_name = "id=ID,src=PATH")]
    pub secret: Vec<String>,
    /// Network of RUN containers: the default, none, host, pasta or slirp4netns
    #[arg(long, visible_alias = "net", value_name = "MODE")]
    pub network: Option<String>,
    /// Add a host-to-IP mapping to /etc/hosts of RUN containers (HOST:IP)
    #[arg(long, value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// DNS servers of RUN containers
    #[arg(long, value_name = "IP")]
    pub dns: Vec<String>,
    /// DNS options of RUN containers
    #[arg(long, value_name = "OPTION")]
    pub dns_option: Vec<String>,
    /// DNS search domains of RUN containers
    #[arg(long, value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// Do not write /etc/hosts for RUN containers
    #[arg(long)]
    pub no_hosts: bool,
    /// Add a capability to RUN containers
    #[arg(long, value_name = "CAP", value_delimiter = ',')]
    pub cap_add: Vec<String>,
    /// Drop a capability from RUN containers
    #[arg(long, value_name = "CAP", value_delimiter = ',')]
    pub cap_drop: Vec<String>,
    /// Security options of RUN containers (seccomp=, no-new-privileges, ...)
    #[arg(long, value_name = "OPTION")]
    pub security_opt: Vec<String>,
    /// Resource limits of RUN containers (NAME=SOFT[:HARD])
    #[arg(long, value_name = "NAME=SOFT[:HARD]", value_delimiter = ',')]
    pub ulimit: Vec<String>,
    /// Bind mount or volume for RUN containers (SRC:DST[:OPTIONS])
    #[arg(short, long, value_name = "SRC:DST[:OPTIONS]")]
    pub volume: Vec<String>,
    /// User namespace of RUN containers (as run --userns)
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// UID map of RUN containers' user namespace (CONTAINER_UID:FROM_UID:AMOUNT, as run --uidmap)
    #[arg(long, value_name = "CONTAINER_UID:FROM_UID:AMOUNT")]
    pub userns_uid_map: Vec<String>,
    /// GID map of RUN containers' user namespace (as run --gidmap)
    #[arg(long, value_name = "CONTAINER_GID:FROM_GID:AMOUNT")]
    pub userns_gid_map: Vec<String>,
    /// Map RUN containers' uids with this name's /etc/subuid ranges (as run --subuidname)
    #[arg(long, value_name = "NAME")]
    pub userns_uid_map_user: Option<String>,
    /// Map RUN containers' gids with this name's /etc/subgid ranges (as run --subgidname)
    #[arg(long, value_name = "NAME")]
    pub userns_gid_map_group: Option<String>,
    /// Devices for RUN containers
    #[arg(long, value_name = "DEVICE")]
    pub device: Vec<String>,
    /// Memory limit of RUN containers
    #[arg(short, long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Memory plus swap limit of RUN containers
    #[arg(long, value_name = "SIZE")]
    pub memory_swap: Option<String>,
    /// CPUs RUN containers may use (as run --cpus)
    #[arg(long, value_name = "NUMBER")]
    pub cpus: Option<String>,
    /// CPU shares of RUN containers
    #[arg(short = 'c', long, value_name = "SHARES")]
    pub cpu_shares: Option<u64>,
    /// CPU CFS period of RUN containers
    #[arg(long, value_name = "MICROSECONDS")]
    pub cpu_period: Option<u64>,
    /// CPU CFS quota of RUN containers
    #[arg(long, value_name = "MICROSECONDS")]
    pub cpu_quota: Option<i64>,
    /// CPUs RUN containers may use (0-3, 0,1)
    #[arg(long, value_name = "CPUS")]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes RUN containers may use
    #[arg(long, value_name = "NODES")]
    pub cpuset_mems: Option<String>,
    /// Parent cgroup of RUN containers
    #[arg(long, value_name = "PATH")]
    pub cgroup_parent: Option<String>,
    /// Size of /dev/shm in RUN containers
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Cgroup namespace of RUN containers: private or host
    #[arg(long, value_name = "MODE")]
    pub cgroupns: Option<String>,
    /// IPC namespace of RUN containers: private or host
    #[arg(long, value_name = "MODE")]
    pub ipc: Option<String>,
    /// PID namespace of RUN containers: private or host
    #[arg(long, value_name = "MODE")]
    pub pid: Option<String>,
    /// UTS namespace of RUN containers: private or host
    #[arg(long, value_name = "MODE")]
    pub uts: Option<String>,
    /// Give RUN containers the host's proxy variables (default true)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub http_proxy: Option<bool>,
    /// Give RUN commands the standard input
    #[arg(long)]
    pub stdin: bool,
    /// How RUN is isolated: oci or rootless (hutch's containers either way)
    #[arg(long, value_name = "TYPE", env = "BUILDAH_ISOLATION")]
    pub isolation: Option<String>,
    /// Stages built at once (hutch builds one at a time)
    #[arg(long, value_name = "N")]
    pub jobs: Option<u32>,
    /// Remove the step containers after a successful build (hutch always removes them)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub rm: Option<bool>,
    /// Remove the step containers after a failed build too (hutch always removes them)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub force_rm: Option<bool>,
    /// A legacy option without effect (as in Podman)
    #[arg(long)]
    pub compress: bool,
    /// Accepted for Docker compatibility; does nothing (as in Podman)
    #[arg(long)]
    pub disable_content_trust: bool,
    /// Set the image's created time, its history's and the times of the files in the layers the build adds to SECONDS since the epoch (for reproducible images)
    #[arg(long, value_name = "SECONDS")]
    pub timestamp: Option<i64>,
    /// Pull a base image again up to this many times when the registry cannot be reached (default 0: the registry client's own retries only)
    #[arg(long, value_name = "N")]
    pub retry: Option<u32>,
    /// Wait this long between --retry pulls (a duration such as 2s; default 2s)
    #[arg(long, value_name = "DURATION")]
    pub retry_delay: Option<String>,
    /// Write everything the build prints, the image id included, to this file instead of standard output and error
    #[arg(long, value_name = "FILE")]
    pub logfile: Option<PathBuf>,
    /// With --logfile: write to FILE_OS_ARCH, OS and ARCH as --platform, --os and --arch give them (empty when not given)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub logsplit: Option<bool>,
    #[command(flatten)]
    pub creds: CredsArgs,
    /// Keep built layers uncompressed where they are stored (default true in Podman; hutch's store keeps them gzip-compressed either way, and a push sends them compressed)
    #[arg(short = 'D', long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub disable_compression: Option<bool>,
    /// Add the label io.buildah.version (with hutch's version) to the image (default false)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub identity_label: Option<bool>,
    /// Add a required OS feature to the image's config (os.features); FEATURE- removes one
    #[arg(long, value_name = "FEATURE")]
    pub os_feature: Vec<String>,
    /// Set the required OS version in the image's config (os.version)
    #[arg(long, value_name = "VERSION")]
    pub os_version: Option<String>,
    /// Pass this flag to the C preprocessor, which reads Containerfiles whose name ends in .in
    #[arg(long, value_name = "FLAG", allow_hyphen_values = true)]
    pub cpp_flag: Vec<String>,
    /// Use cached step images only when they are younger than this (a duration such as 10m; 0 means --no-cache)
    #[arg(long, value_name = "DURATION")]
    pub cache_ttl: Option<String>,
    /// Add the image to this manifest list, made when it does not exist
    #[arg(long, value_name = "LIST")]
    pub manifest: Option<String>,
    /// Also write the final stage's files out: type=local,dest=DIR, type=tar,dest=FILE (- for standard output), or a directory
    #[arg(short, long, value_name = "OUTPUT")]
    pub output: Option<String>,
    /// Name another context for COPY --from=NAME and RUN --mount from=NAME: NAME=DIR, NAME=docker-image://IMAGE, NAME=container-image://IMAGE, or NAME=URL (a git repository or a tarball)
    #[arg(long, value_name = "NAME=VALUE")]
    pub build_context: Vec<String>,
    #[command(flatten)]
    pub access: RegistryArgs,
    /// The build context: a directory, - (a tar or a Containerfile on standard input), a git repository (git://, git@, ….git, with #REF:SUBDIR) or the URL of a tarball
    #[arg(value_name = "CONTEXT")]
    pub context: Option<PathBuf>,
}

/// Splits `NAME=VALUE`; a bare `NAME` takes its value from `lookup`
/// (left out when unset).
fn pairs(
    flag: &str,
    values: &[String],
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    for v in values {
        match v.split_once('=') {
            Some(("", _)) => return Err(Error::Usage(format!("{flag} {v:?}: the name is empty"))),
            Some((k, val)) => out.push((k.to_string(), val.to_string())),
            None => {
                if let Some(val) = lookup(v) {
                    out.push((v.clone(), val));
                }
            }
        }
    }
    Ok(out)
}

/// `--secret id=ID,src=PATH` (also `source=`, and `type=file`).
fn secret(spec: &str) -> Result<Secret, Error> {
    let (mut id, mut src) = (None, None);
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("id", v)) => id = Some(v.to_string()),
            Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
            Some(("type", "file")) => {}
            _ => {
                return Err(Error::Usage(format!(
                    "--secret {spec:?}: use id=ID,src=PATH (secrets from the environment are not supported)"
                )))
            }
        }
    }
    match (id, src) {
        (Some(id), Some(src)) => Ok(Secret { id, src }),
        _ => Err(Error::Usage(format!(
            "--secret {spec:?}: use id=ID,src=PATH"
        ))),
    }
}

/// A Go duration (`2s`, `1m30s`) of `flag`.
fn duration(flag: &str, text: &str) -> Result<std::time::Duration, Error> {
    let ns = crate::container::health::parse_duration(text)
        .map_err(|why| Error::Usage(format!("{flag} {text:?}: {why}")))?;
    u64::try_from(ns)
        .map(std::time::Duration::from_nanos)
        .map_err(|_| Error::Usage(format!("{flag} {text:?}: must not be negative")))
}

/// `--output`: `type=local,dest=DIR`, `type=tar,dest=FILE`, or a bare
/// directory.
fn output(spec: &str) -> Result<Output, Error> {
    if !spec.contains('=') {
        return Ok(Output::Dir(PathBuf::from(spec)));
    }
    let (mut kind, mut dest) = (None, None);
    for part in spec.split(',') {
        match part.split_once('=') {
            Some(("type", v)) => kind = Some(v.to_string()),
            Some(("dest", v)) => dest = Some(PathBuf::from(v)),
            _ => {
                return Err(Error::Usage(format!(
                    "--output {spec:?}: unknown part {part:?}: use type=local|tar,dest=PATH"
                )))
            }
        }
    }
    let dest = dest.ok_or_else(|| Error::Usage(format!("--output {spec:?}: no dest=")))?;
    if dest.as_os_str() == "-" {
        return Err(Error::Usage(format!(
            "--output {spec:?}: the build prints its steps on standard output: give a file"
        )));
    }
    match kind.as_deref() {
        Some("local") => Ok(Output::Dir(dest)),
        Some("tar") => Ok(Output::Tar(dest)),
        other => Err(Error::Usage(format!(
            "--output {spec:?}: type {:?}: use local or tar",
            other.unwrap_or("")
        ))),
    }
}

/// `--build-context NAME=VALUE`: a directory, or an image by
/// `docker-image://` or `container-image://`.
fn named_context(spec: &str) -> Result<(String, NamedContext), Error> {
    let Some((name, value)) = spec
        .split_once('=')
        .filter(|(n, v)| !n.is_empty() && !v.is_empty())
    else {
        return Err(Error::Usage(format!(
            "--build-context {spec:?}: use NAME=DIR or NAME=docker-image://IMAGE"
        )));
    };
    let ctx = match value
        .strip_prefix("docker-image://")
        .or_else(|| value.strip_prefix("container-image://"))
    {
        Some(image) => NamedContext::Image(image.to_string()),
        None if is_remote(value) => NamedContext::Remote(value.to_string()),
        None if value.contains("://") => {
            return Err(Error::Usage(format!(
                "--build-context {spec:?}: use a directory, docker-image://, container-image://, a git repository or an http(s) URL"
            )))
        }
        None => NamedContext::Dir(PathBuf::from(value)),
    };
    Ok((name.to_string(), ctx))
}

impl BuildArgs {
    fn pull(&self) -> Result<(PullPolicy, bool), Error> {
        if self.pull_always {
            return Ok((PullPolicy::Always, false));
        }
        if self.pull_never {
            return Ok((PullPolicy::Never, false));
        }
        Ok(
            match self.pull.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None | Some("missing") | Some("ifmissing") | Some("false") => {
                    (PullPolicy::Missing, false)
                }
                Some("always") | Some("true") => (PullPolicy::Always, false),
                Some("never") => (PullPolicy::Never, false),
                Some("newer") | Some("ifnewer") => (PullPolicy::Always, true),
                Some(other) => {
                    return Err(Error::Usage(format!(
                        "invalid --pull {other:?}: use always, missing, never or newer"
                    )))
                }
            },
        )
    }

    fn platform(&self) -> Result<Option<String>, Error> {
        if self.platform.is_some() && (self.arch.is_some() || self.os.is_some()) {
            return Err(Error::Usage(
                "--platform option can not be specified with --arch or --os".into(),
            ));
        }
        if self.platform.is_some() {
            return Ok(self.platform.clone());
        }
        if self.arch.is_none() && self.os.is_none() && self.variant.is_none() {
            return Ok(None);
        }
        let host = crate::image::Platform::host();
        let p = host.with_parts(
            self.os.as_deref(),
            self.arch.as_deref(),
            self.variant.as_deref(),
        );
        Ok(Some(p.to_string()))
    }

    /// `--logfile`, with `--logsplit`'s `_OS_ARCH` added (as Podman
    /// does, empty parts for what --platform, --os and --arch leave out).
    fn log_path(&self) -> Result<Option<PathBuf>, Error> {
        let Some(file) = &self.logfile else {
            return Ok(None);
        };
        if self.logsplit != Some(true) {
            return Ok(Some(file.clone()));
        }
        let mut parts = self.platform.as_deref().unwrap_or("").split('/');
        let os = self.os.as_deref().or(parts.next()).unwrap_or("");
        let arch = self.arch.as_deref().or(parts.next()).unwrap_or("");
        let mut name = file.clone().into_os_string();
        name.push(format!("_{os}_{arch}"));
        Ok(Some(PathBuf::from(name)))
    }

    /// The request, with `stdin` read for `-f -`.
    fn request(&self, stdin: &mut dyn Read) -> Result<BuildRequest, Error> {
        let given = self.context.clone().unwrap_or_else(|| PathBuf::from("."));
        let shown = given.to_string_lossy().into_owned();
        let is_stdin_file = self.file.iter().any(|f| f.as_os_str() == "-");
        let (context, remote) = if shown == "-" {
            if is_stdin_file {
                return Err(Error::Usage(
                    "build - and -f - both read standard input: give one of them".into(),
                ));
            }
            let mut bytes = Vec::new();
            stdin.read_to_end(&mut bytes).map_err(|e| {
                Error::Usage(format!(
                    "build -: reading the context from standard input: {e}"
                ))
            })?;
            (PathBuf::new(), Some(RemoteContext::Stdin(Arc::new(bytes))))
        } else if is_remote(&shown) {
            (PathBuf::new(), Some(RemoteContext::Url(shown)))
        } else {
            (given, None)
        };
        let file = match self.file.as_slice() {
            [] => None,
            [f] if f.as_os_str() == "-" => {
                let mut text = String::new();
                stdin.read_to_string(&mut text).map_err(|e| {
                    Error::Usage(format!(
                        "-f -: reading the Containerfile from standard input: {e}"
                    ))
                })?;
                Some(ContainerfileSource::Text {
                    name: "stdin".into(),
                    text,
                })
            }
            [f] => Some(ContainerfileSource::Path(f.clone())),
            _ => {
                return Err(Error::Usage(
                    "-f given several times: hutch builds from one Containerfile".into(),
                ))
            }
        };
        let env_lookup = |k: &str| std::env::var(k).ok();
        let is_docker = match self.format.as_deref() {
            None | Some("oci") => false,
            Some("docker") => true,
            Some(other) => {
                return Err(Error::Usage(format!(
                    "unrecognized image format {other:?}: use oci or docker"
                )))
            }
        };
        if self.squash && self.squash_all {
            return Err(Error::Usage(
                "--squash and --squash-all cannot be used together".into(),
            ));
        }
        match self.isolation.as_deref() {
            None | Some("oci") | Some("rootless") | Some("default") => {}
            Some(other) => {
                return Err(Error::Usage(format!(
                    "--isolation {other:?}: hutch runs RUN steps in its own rootless containers; use oci or rootless"
                )))
            }
        }
        let (pull, pull_newer) = self.pull()?;
        // --cache-ttl=0 means no cache at all, as in Buildah.
        let no_cache = self.no_cache
            || self
                .cache_ttl
                .as_deref()
                .is_some_and(|t| duration("--cache-ttl", t).is_ok_and(|d| d.is_zero()));
        let secrets = self
            .secret
            .iter()
            .map(|s| secret(s))
            .collect::<Result<_, _>>()?;
        Ok(BuildRequest {
            context,
            remote,
            file,
            ignore_file: self.ignorefile.clone(),
            tags: self.tag.clone(),
            build_args: pairs("--build-arg", &self.build_arg, &env_lookup)?,
            target: self.target.clone(),
            no_cache,
            pull,
            pull_newer,
            layers: self.layers.unwrap_or(true),
            quiet: self.quiet,
            labels: pairs("--label", &self.label, &|_| Some(String::new()))?,
            annotations: pairs("--annotation", &self.annotation, &|_| Some(String::new()))?,
            env: pairs("--env", &self.env, &env_lookup)?,
            unsetenv: self.unsetenv.clone(),
            is_docker,
            squash: self.squash,
            squash_all: self.squash_all,
            omit_history: self.omit_history,
            platform: self.platform()?,
            from: self.from.clone(),
            all_stages: self.skip_unused_stages == Some(false),
            registry: RegistryOptions {
                tls_verify: self.access.tls_verify,
                cert_dir: self.access.cert_dir.clone(),
                authfile: self.access.authfile.clone(),
                credentials: self.creds.credentials()?,
            },
            secrets,
            timestamp: self.timestamp,
            retry: self.retry.unwrap_or(0),
            retry_delay: duration("--retry-delay", self.retry_delay.as_deref().unwrap_or("2s"))?,
            identity_label: self.identity_label.unwrap_or(false),
            os_features: self.os_feature.clone(),
            os_version: self.os_version.clone(),
            cpp_flags: self.cpp_flag.clone(),
            cache_ttl: match &self.cache_ttl {
                Some(t) => Some(duration("--cache-ttl", t)?),
                None => None,
            },
            manifest: self.manifest.clone(),
            output: self.output.as_deref().map(output).transpose()?,
            contexts: self
                .build_context
                .iter()
                .map(|c| named_context(c))
                .collect::<Result<_, _>>()?,
            run: self.run_request(),
        })
    }

    /// What every RUN container gets.
    fn run_request(&self) -> CreateRequest {
        let mut req = CreateRequest {
            network: NetworkRequest {
                network: self.network.clone(),
                dns: self.dns.clone(),
                dns_search: self.dns_search.clone(),
                dns_options: self.dns_option.clone(),
                add_hosts: self.add_host.clone(),
                no_hosts: self.no_hosts,
                ..NetworkRequest::default()
            },
            ..CreateRequest::default()
        };
        req.security.cap_add = self.cap_add.clone();
        req.security.cap_drop = self.cap_drop.clone();
        req.security.security_opt = self.security_opt.clone();
        req.hardening.ulimit = self.ulimit.clone();
        req.mounts.volume = self.volume.clone();
        req.userns.mode = self.userns.clone();
        req.userns.device = self.device.clone();
        req.userns.uidmap = self.userns_uid_map.clone();
        req.userns.gidmap = self.userns_gid_map.clone();
        req.tuning.subid_names = (
            self.userns_uid_map_user.clone(),
            self.userns_gid_map_group.clone(),
        );
        let l = &mut req.cgroups.limits;
        l.memory = self.memory.clone();
        l.memory_swap = self.memory_swap.clone();
        l.cpus = self.cpus.clone();
        l.cpu_shares = self.cpu_shares;
        l.cpu_period = self.cpu_period;
        l.cpu_quota = self.cpu_quota;
        l.cpuset_cpus = self.cpuset_cpus.clone();
        l.cpuset_mems = self.cpuset_mems.clone();
        req.cgroups.parent = self.cgroup_parent.clone();
        req.tuning.shm_size = self.shm_size.clone();
        req.tuning.namespaces.cgroup = self.cgroupns.clone();
        req.tuning.namespaces.ipc = self.ipc.clone();
        req.tuning.namespaces.pid = self.pid.clone();
        req.tuning.namespaces.uts = self.uts.clone();
        req.process.env_options.is_proxied = self.http_proxy.unwrap_or(true);
        req.process.interactive = self.stdin;
        req
    }
}

/// Prints a build's events on stdout as Podman does, and its pull
/// notices and warnings on stderr.
struct Printer {
    quiet: bool,
    pull: StderrReporter,
}

impl crate::image::Reporter for Printer {
    fn notice(&self, line: &str) {
        crate::image::Reporter::notice(&self.pull, line);
    }
}

impl crate::container::Progress for Printer {
    fn warn(&self, line: &str) {
        crate::container::Progress::warn(&self.pull, line);
    }

    fn cleanup_failed(&self, error: &crate::container::Error) {
        self.pull.cleanup_failed(error);
    }
}

impl BuildProgress for Printer {
    fn event(&self, event: BuildEvent<'_>) {
        if self.quiet {
            return;
        }
        let prefix = |stage: Option<(usize, usize)>| match stage {
            Some((i, n)) => format!("[{i}/{n}] "),
            None => String::new(),
        };
        match event {
            BuildEvent::Step {
                stage,
                index,
                count,
                text,
            } => println!("{}STEP {index}/{count}: {text}", prefix(stage)),
            BuildEvent::UsingCache(id) => println!("--> Using cache {}", id.hex()),
            BuildEvent::Committing { stage, name } => match name {
                Some(n) => println!("{}COMMIT {n}", prefix(stage)),
                None => println!("{}COMMIT", prefix(stage)),
            },
            BuildEvent::Committed(id) => println!("--> {}", &id.hex()[..11]),
            BuildEvent::Tagged(name) => println!("Successfully tagged {name}"),
        }
    }
}

/// Builds the image and prints its id.
pub fn run(engine: &Engine, args: BuildArgs) -> Result<i32, Error> {
    let _ = (
        args.jobs,
        args.rm,
        args.force_rm,
        args.compress,
        args.disable_content_trust,
    );
    if let Some(path) = args.log_path()? {
        crate::container::system::send_output_to(&path).map_err(|source| {
            super::ioerr::IoError::WriteOutput {
                path: path.clone(),
                source,
            }
        })?;
    }
    let _ = args.disable_compression;
    let req = args.request(&mut std::io::stdin())?;
    let printer = Printer {
        quiet: args.quiet,
        pull: StderrReporter { quiet: args.quiet },
    };
    let id = engine.build(&req, &printer)?;
    if let Some(path) = &args.iidfile {
        std::fs::write(path, id.to_string()).map_err(|source| {
            super::ioerr::IoError::WriteOutput {
                path: path.clone(),
                source,
            }
        })?;
    }
    println!("{}", id.hex());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_args_take_bare_names_from_the_environment() {
        let lookup = |k: &str| (k == "SET").then(|| "v".to_string());
        let given = [
            "A=1".to_string(),
            "SET".into(),
            "UNSET".into(),
            "B=x=y".into(),
        ];
        assert_eq!(
            pairs("--build-arg", &given, &lookup).unwrap(),
            [
                ("A".to_string(), "1".to_string()),
                ("SET".into(), "v".into()),
                ("B".into(), "x=y".into())
            ]
        );
        assert!(pairs("--build-arg", &["=x".to_string()], &lookup).is_err());
    }

    #[test]
    fn outputs_contexts_and_durations_parse_as_podman_reads_them() {
        assert_eq!(output("out").unwrap(), Output::Dir("out".into()));
        assert_eq!(
            output("type=local,dest=/o").unwrap(),
            Output::Dir("/o".into())
        );
        assert_eq!(
            output("type=tar,dest=x.tar").unwrap(),
            Output::Tar("x.tar".into())
        );
        assert!(output("type=tar,dest=-").is_err());
        assert!(output("type=registry,dest=x").is_err());
        assert!(output("type=tar").is_err());
        assert_eq!(
            named_context("a=dir").unwrap(),
            ("a".to_string(), NamedContext::Dir("dir".into()))
        );
        assert_eq!(
            named_context("b=docker-image://busybox:1").unwrap(),
            ("b".to_string(), NamedContext::Image("busybox:1".into()))
        );
        assert_eq!(
            named_context("c=https://x/y.tar").unwrap(),
            (
                "c".to_string(),
                NamedContext::Remote("https://x/y.tar".into())
            )
        );
        assert!(named_context("d=oci-layout://x").is_err());
        assert!(named_context("=dir").is_err());
        assert_eq!(
            duration("--retry-delay", "1m30s").unwrap(),
            std::time::Duration::from_secs(90)
        );
        assert!(duration("--cache-ttl", "-1s").is_err());
        assert!(duration("--cache-ttl", "soon").is_err());
    }

    #[test]
    fn secrets_need_an_id_and_a_file() {
        assert_eq!(
            secret("id=tok,src=/tmp/t").unwrap(),
            Secret {
                id: "tok".into(),
                src: "/tmp/t".into()
            }
        );
        assert!(secret("id=tok").is_err());
        assert!(secret("id=tok,env=X").is_err());
    }
}
