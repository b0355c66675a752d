//! The flags of `run` and `create` that describe and manage the
//! container rather than its process (labels, annotations, id and pid
//! files, stop and timeouts) and that shape its environment (#13).
//! Flattened into `RunArgs`; the engine parses and checks them.

use clap::Args;

use std::path::PathBuf;

use crate::container::{CreateRequest, EnvOptions, ManageRequest, MetadataRequest, TuningRequest};

/// `--label`, `--label-file` and `--annotation`.
#[derive(Debug, Args)]
pub struct MetaArgs {
    /// Set a label on the container (KEY=VALUE, or KEY for an empty value; repeatable)
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Read labels from a file of KEY=VALUE lines (repeatable)
    #[arg(long, value_name = "FILE", value_delimiter = ',')]
    pub label_file: Vec<std::path::PathBuf>,
    /// Add an annotation to the container (KEY=VALUE; repeatable, or comma-separated)
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub annotation: Vec<String>,
}

impl MetaArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> MetadataRequest {
        MetadataRequest {
            labels: self.label.clone(),
            label_files: self.label_file.clone(),
            annotations: self.annotation.clone(),
        }
    }
}

/// `--cidfile`, `--pidfile`, `--conmon-pidfile` and the other flags about
/// managing the container.
#[derive(Debug, Args)]
pub struct ManageArgs {
    /// Write the container's id to FILE (which must not exist)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<PathBuf>,
    /// Write the container's pid to FILE at every start
    #[arg(long, value_name = "FILE")]
    pub pidfile: Option<PathBuf>,
    /// Write the pid of the container's monitor (what conmon is to Podman) to FILE at every start
    #[arg(long, value_name = "FILE")]
    pub conmon_pidfile: Option<PathBuf>,
    /// Remove a container of the same --name first (stopping it as stop does)
    #[arg(long)]
    pub replace: bool,
    /// Kill the container after SECONDS (0: never); its exit code is then -1 (255 in the foreground)
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Signal that stop sends first (default: the image's StopSignal, else SIGTERM)
    #[arg(long, value_name = "SIGNAL")]
    pub stop_signal: Option<String>,
    /// Seconds stop waits after the stop signal before SIGKILL, unless told (default 10)
    #[arg(long, value_name = "SECONDS")]
    pub stop_timeout: Option<u64>,
}

/// The flags only `run` takes, not `create` (as in Podman 4.3).
#[derive(Debug, Args)]
pub struct RunOnlyArgs {
    /// After a foreground run, remove the image unless another container uses it
    #[arg(long)]
    pub rmi: bool,
    /// Pass the signals hutch receives on to the container (default true)
    #[arg(long, action = clap::ArgAction::SetTrue, default_value = "true")]
    pub sig_proxy: bool,
}

impl RunOnlyArgs {
    /// Adds these flags to `create`'s request.
    pub fn apply(&self, req: &mut CreateRequest) {
        req.manage.remove_image = self.rmi;
        req.manage.sig_proxy = Some(self.sig_proxy);
    }
}

impl ManageArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> ManageRequest {
        ManageRequest {
            cidfile: self.cidfile.clone(),
            pidfile: self.pidfile.clone(),
            monitor_pidfile: self.conmon_pidfile.clone(),
            replace: self.replace,
            remove_image: false,
            timeout: self.timeout,
            stop_signal: self.stop_signal.clone(),
            stop_timeout: self.stop_timeout,
            sig_proxy: None,
        }
    }
}

/// The environment flags besides `-e` and `--env-file`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Do not set this variable from the image or the defaults (repeatable)
    #[arg(long, value_name = "NAME")]
    pub unsetenv: Vec<String>,
    /// Set none of the image's or the default variables (-e still applies)
    #[arg(long)]
    pub unsetenv_all: bool,
    /// Pass every variable of hutch's environment to the container (under -e)
    #[arg(long)]
    pub env_host: bool,
    /// Give a variable the image or the defaults set a new value, expanding $NAME in it (NAME=VALUE; repeatable)
    #[arg(long, value_name = "NAME=VALUE")]
    pub env_merge: Vec<String>,
    /// Pass hutch's proxy variables (http_proxy, https_proxy, ftp_proxy, no_proxy and their upper-case forms) to the container (default true)
    #[arg(long, action = clap::ArgAction::SetTrue, default_value = "true")]
    pub http_proxy: bool,
}

impl EnvArgs {
    /// The engine's options for these flags.
    pub fn options(&self) -> EnvOptions {
        EnvOptions {
            unset: self.unsetenv.clone(),
            is_unset_all: self.unsetenv_all,
            is_host: self.env_host,
            host_vars: Vec::new(),
            merge: self.env_merge.clone(),
            is_proxied: self.http_proxy,
        }
    }
}

/// `--umask`, `--tz`, `--shm-size` and `--sysctl`.
#[derive(Debug, Args)]
pub struct TuningArgs {
    /// The container process's umask, in octal (default 0022)
    #[arg(long, value_name = "MASK")]
    pub umask: Option<String>,
    /// Time zone of the container: local (the host's) or a zone name such as Asia/Tokyo
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
    /// Size of /dev/shm: a number with unit b, k, m or g (default 64m; 0: no limit)
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Set a sysctl of the container's own namespaces: net.*, fs.mqueue.*, kernel.msg*, kernel.sem, kernel.shm* (KEY=VALUE; repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_delimiter = ',')]
    pub sysctl: Vec<String>,
}

impl TuningArgs {
    /// The engine's request for these flags.
    pub fn request(&self) -> TuningRequest {
        TuningRequest {
            umask: self.umask.clone(),
            timezone: self.tz.clone(),
            shm_size: self.shm_size.clone(),
            sysctls: self.sysctl.clone(),
        }
    }
}
