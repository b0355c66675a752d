//! `hutch manifest`: manifest lists (image indexes), made locally from
//! images at registries or in the store, and pushed with their images.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::json::to_string_4;
use super::registry::{CredsArgs, RegistryArgs};
use super::StderrReporter;
use crate::container::Engine;
use crate::error::Error;
use crate::image::{
    self, Annotate, ListPushOptions, ManifestFormat, Platform, PullOptions, PushOptions,
};

#[derive(Debug, Subcommand)]
pub enum ManifestCommand {
    /// Create a manifest list, optionally of images
    Create(CreateArgs),
    /// Add images to a manifest list
    Add(AddArgs),
    /// Set the platform and annotations of an image in a manifest list
    Annotate(AnnotateArgs),
    /// Show a manifest list, local or at a registry
    Inspect(InspectArgs),
    /// Exit 0 when a manifest list exists, 1 when it does not
    Exists(ExistsArgs),
    /// Remove an image from a manifest list
    Remove(RemoveArgs),
    /// Remove manifest lists (not the images they list)
    Rm(RmArgs),
    /// Push a manifest list and its images to a registry
    Push(PushArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Name of the new list (`localhost/NAME:latest` for a bare name)
    #[arg(value_name = "LIST")]
    pub list: String,
    /// Images to put in it, from their registries (containers-storage:NAME for a local one)
    #[arg(value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Add every image of an image that is itself a list, not only the host's
    #[arg(long)]
    pub all: bool,
    /// Add to the list of that name if there is one
    #[arg(short, long)]
    pub amend: bool,
    /// Require HTTPS and verify certificates (false allows plain HTTP)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
}

/// The platform and annotation flags of `add` and `annotate`.
#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// Set an annotation on the image's entry (KEY=VALUE); may be repeated
    #[arg(long, value_name = "KEY=VALUE")]
    pub annotation: Vec<String>,
    /// Set the architecture of the image's entry
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Set the CPU features of the image's entry (comma-separated)
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    pub features: Vec<String>,
    /// Set the operating system of the image's entry
    #[arg(long, value_name = "OS")]
    pub os: Option<String>,
    /// Set the operating system version of the image's entry
    #[arg(long, value_name = "VERSION")]
    pub os_version: Option<String>,
    /// Set the architecture variant of the image's entry
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<String>,
}

impl PlatformArgs {
    fn annotate(&self, os_features: &[String]) -> Result<Annotate, Error> {
        Ok(Annotate {
            arch: self.arch.clone(),
            os: self.os.clone(),
            os_version: self.os_version.clone(),
            os_features: os_features.to_vec(),
            variant: self.variant.clone(),
            features: self.features.clone(),
            annotations: Annotate::parse_annotations(&self.annotation)?,
        })
    }
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The list
    #[arg(value_name = "LIST")]
    pub list: String,
    /// Images to add, from their registries (containers-storage:NAME for a local one)
    #[arg(value_name = "IMAGE", required = true)]
    pub images: Vec<String>,
    /// Add every image of an image that is itself a list, not only the host's
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub platform: PlatformArgs,
    #[command(flatten)]
    pub access: RegistryArgs,
    #[command(flatten)]
    pub creds: CredsArgs,
}

#[derive(Debug, Args)]
pub struct AnnotateArgs {
    /// The list
    #[arg(value_name = "LIST")]
    pub list: String,
    /// The digest of the image's entry
    #[arg(value_name = "DIGEST")]
    pub digest: String,
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// Set the operating system features of the image's entry (comma-separated)
    #[arg(long, value_name = "FEATURES", value_delimiter = ',')]
    pub os_features: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A local list, or a list at a registry
    #[arg(value_name = "IMAGE")]
    pub image: String,
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    /// The list
    #[arg(value_name = "LIST")]
    pub list: String,
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The list
    #[arg(value_name = "LIST")]
    pub list: String,
    /// The digest of the image's entry
    #[arg(value_name = "DIGEST")]
    pub digest: String,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Lists to remove
    #[arg(value_name = "LIST", required = true)]
    pub lists: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The list
    #[arg(value_name = "LIST")]
    pub list: String,
    /// Where to push it: registry/repository[:tag]
    #[arg(value_name = "DESTINATION")]
    pub destination: String,
    /// Push the list's images too (--all=false pushes only the list)
    #[arg(long, default_value = "true")]
    pub all: bool,
    /// Manifest type of the list and its images: oci or v2s2 (default: as they are)
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Compress layers with gzip or zstd (default: keep each layer's compression)
    #[arg(long, value_name = "FORMAT")]
    pub compression_format: Option<String>,
    /// Write the digest of the pushed list to this file
    #[arg(long, value_name = "PATH")]
    pub digestfile: Option<PathBuf>,
    /// Print no progress
    #[arg(short, long)]
    pub quiet: bool,
    /// Push no signatures (hutch's images carry none)
    #[arg(long)]
    pub remove_signatures: bool,
    /// Remove the local list after a successful push
    #[arg(long)]
    pub rm: bool,
    #[command(flatten)]
    pub access: RegistryArgs,
    #[command(flatten)]
    pub creds: CredsArgs,
}

/// Runs a `manifest` command.
pub fn run(engine: &Engine, cmd: ManifestCommand) -> Result<i32, Error> {
    let print_id = |id: crate::container::images::Digest| {
        println!("{}", id.hex());
        0
    };
    match cmd {
        ManifestCommand::Create(a) => {
            let access = RegistryArgs {
                tls_verify: a.tls_verify,
                ..RegistryArgs::default()
            }
            .pull_options(Platform::host(), true);
            let id = engine.create_manifest_list(&a.list, &a.images, a.all, a.amend, &access)?;
            Ok(print_id(id))
        }
        ManifestCommand::Add(a) => {
            image::check_authfile(a.access.authfile.as_deref())?;
            let mut access = a.access.pull_options(Platform::host(), true);
            access.credentials = a.creds.credentials()?;
            let annotate = a.platform.annotate(&[])?;
            let id = engine.add_to_manifest_list(&a.list, &a.images, a.all, &annotate, &access)?;
            Ok(print_id(id))
        }
        ManifestCommand::Annotate(a) => {
            let annotate = a.platform.annotate(&a.os_features)?;
            Ok(print_id(
                engine.annotate_manifest_list(&a.list, &a.digest, &annotate)?,
            ))
        }
        ManifestCommand::Inspect(a) => {
            let access: PullOptions = RegistryArgs::default().pull_options(Platform::host(), true);
            let list = engine.inspect_manifest_list(&a.image, &access)?;
            println!("{}", to_string_4(&list));
            Ok(0)
        }
        ManifestCommand::Exists(a) => Ok(i32::from(!engine.manifest_list_exists(&a.list)?)),
        ManifestCommand::Remove(a) => Ok(print_id(
            engine.remove_from_manifest_list(&a.list, &a.digest)?,
        )),
        ManifestCommand::Rm(a) => rm(engine, &a.lists),
        ManifestCommand::Push(a) => push(engine, a),
    }
}

/// Removes the lists: their names as `Untagged:` lines, then their ids
/// as `Deleted:` lines, as Podman prints them; exits 1 when one was
/// missing, 125 for other failures.
fn rm(engine: &Engine, lists: &[String]) -> Result<i32, Error> {
    let mut code = 0;
    let mut deleted = Vec::new();
    for res in engine.remove_manifest_lists(lists)? {
        match res {
            Ok((names, id)) => {
                for n in names {
                    println!("Untagged: {n}");
                }
                deleted.push(id);
            }
            Err(e) => super::report_removal(e, &mut code),
        }
    }
    for id in deleted {
        println!("Deleted: {}", id.hex());
    }
    Ok(code)
}

/// Pushes the list as the flags say.
fn push(engine: &Engine, a: PushArgs) -> Result<i32, Error> {
    // hutch's images carry no signatures to remove.
    let _ = a.remove_signatures;
    let format = a.format.as_deref().map(ManifestFormat::parse).transpose()?;
    let push = a.access.push_options(PushOptions {
        compression: a
            .compression_format
            .as_deref()
            .map(image::parse_compression)
            .transpose()?,
        quiet: a.quiet,
        credentials: a.creds.credentials()?,
        ..PushOptions::default()
    });
    let opts = ListPushOptions {
        push,
        format,
        is_all: a.all,
    };
    let reporter = StderrReporter { quiet: a.quiet };
    engine.push_manifest_list(
        &a.list,
        &a.destination,
        &opts,
        &reporter,
        a.digestfile.as_deref(),
        a.rm,
    )?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(subcommand)]
        cmd: ManifestCommand,
    }

    #[test]
    fn features_split_at_commas_and_annotations_need_values() {
        let c = Cmd::try_parse_from([
            "x",
            "annotate",
            "--features",
            "a,b",
            "--os-features",
            "w",
            "--annotation",
            "k=v",
            "l",
            "sha256:x",
        ])
        .unwrap();
        let ManifestCommand::Annotate(a) = c.cmd else {
            panic!("not annotate")
        };
        let an = a.platform.annotate(&a.os_features).unwrap();
        assert_eq!(an.features, vec!["a", "b"]);
        assert_eq!(an.os_features, vec!["w"]);
        assert_eq!(an.annotations, vec![("k".to_string(), "v".to_string())]);
        let c = Cmd::try_parse_from(["x", "add", "--annotation", "bad", "l", "i"]).unwrap();
        let ManifestCommand::Add(a) = c.cmd else {
            panic!("not add")
        };
        assert!(a.platform.annotate(&[]).is_err());
    }
}
