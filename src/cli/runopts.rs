//! The flags of `run` and `create` that describe and manage the
//! container rather than its process: labels, annotations (#13).
//! Flattened into `RunArgs`; the engine parses and checks them.

use clap::Args;

use crate::container::MetadataRequest;

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
