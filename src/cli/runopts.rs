//! The flags of `run` and `create` that describe and manage the
//! container rather than its process: labels, annotations, id and pid
//! files (#13).
//! Flattened into `RunArgs`; the engine parses and checks them.

use clap::Args;

use std::path::PathBuf;

use crate::container::{CreateRequest, ManageRequest, MetadataRequest};

/// `--label`, `--label-file` and `--annotation`.
#[derive(Debug, Args)]
pub struct MetaArgs {
    /// Set a label on the container (KEY=VALUE, or KEY for an empty value; repeatable)
    #[arg(short = 'l', long = "label", value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Read labels from a file of KEY=VALUE lines (repeatable)
    #[arg(long, value_name = "FILE")]
    pub label_file: Vec<std::path::PathBuf>,
    /// Add an annotation to the container (KEY=VALUE; repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
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
