//! `hutch save` and `hutch load` (also `image save`/`image load`): images
//! to and from docker-archive and oci-archive files.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::container::Engine;
use crate::error::Error;
use crate::image::archive::{self, Format, SaveItem};
use crate::storage::{ImageRecord, Store};
use crate::{image, userns};

/// `--format` values of `save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SaveFormat {
    /// What `docker save` writes
    DockerArchive,
    /// An OCI image layout in a tar
    OciArchive,
    /// An OCI image layout directory
    OciDir,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Write to this file (or directory for oci-dir) instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Archive format
    #[arg(
        long,
        value_enum,
        default_value = "docker-archive",
        value_name = "FORMAT"
    )]
    pub format: SaveFormat,
    /// Allow several images in one docker-archive
    #[arg(short, long)]
    pub multi_image_archive: bool,
    /// Print nothing (accepted for compatibility; save prints nothing anyway)
    #[arg(short, long)]
    pub quiet: bool,
    /// Images to save, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// Read the archive from this file instead of standard input
    #[arg(short, long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print nothing but errors
    #[arg(short, long)]
    pub quiet: bool,
}

/// The name of `rec` the user meant by `arg`: none for an id, else the
/// stored full name `arg` resolved to.
fn names_for(arg: &str, rec: &ImageRecord) -> Vec<String> {
    let hex = arg.strip_prefix("sha256:").unwrap_or(arg);
    if hex.len() >= 3 && rec.id.hex().starts_with(hex) {
        return Vec::new();
    }
    let with_tag = if arg.rsplit('/').next().is_some_and(|l| l.contains(':')) {
        arg.to_string()
    } else {
        format!("{arg}:latest")
    };
    let found = rec
        .names
        .iter()
        .find(|n| *n == arg || n.ends_with(&format!("/{with_tag}")) || **n == with_tag);
    found.or(rec.names.first()).cloned().into_iter().collect()
}

/// Writes the images to the archive.
pub fn save(engine: &Engine, args: SaveArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let _ = args.quiet;
    let store = Store::open(&paths.root)?;
    let mut items = Vec::new();
    for arg in &args.images {
        let rec = image::find_local(paths, &store, arg)?
            .ok_or_else(|| crate::storage::Error::ImageNotKnown { name: arg.clone() })?;
        items.push(SaveItem {
            names: names_for(arg, &rec),
            image: rec,
        });
    }
    let format = match args.format {
        SaveFormat::DockerArchive => Format::DockerArchive,
        SaveFormat::OciArchive => Format::OciArchive,
        SaveFormat::OciDir => Format::OciDir,
    };
    if format == Format::OciDir {
        let dir = args
            .output
            .ok_or_else(|| Error::Usage("--format oci-dir needs --output DIRECTORY".into()))?;
        archive::save(
            &store,
            &items,
            format,
            args.multi_image_archive,
            std::io::sink(),
            Some(&dir),
        )?;
        return Ok(0);
    }
    super::output::write_to(args.output.as_deref(), "an archive", |out| {
        archive::save(&store, &items, format, args.multi_image_archive, out, None)?;
        Ok(())
    })?;
    Ok(0)
}

/// Loads every image in the archive and prints what it loaded.
pub fn load(engine: &Engine, args: LoadArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let maps = userns::current_user_maps(paths.etc())?;
    let store = Store::open(&paths.root)?;
    let loaded = match &args.input {
        Some(path) => {
            let mut f = File::open(path)
                .map_err(|e| Error::Usage(format!("opening {}: {e}", path.display())))?;
            archive::load(&store, &mut f, &maps)?
        }
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::Usage(
                    "no archive given: use --input FILE or pipe the archive to standard input"
                        .into(),
                ));
            }
            archive::load(&store, &mut stdin.lock(), &maps)?
        }
    };
    if !args.quiet {
        let mut out = std::io::stdout().lock();
        for l in &loaded {
            if l.names.is_empty() {
                let _ = writeln!(out, "Loaded image: {}", l.id);
            }
            for n in &l.names {
                let _ = writeln!(out, "Loaded image: {n}");
            }
        }
    }
    Ok(0)
}
