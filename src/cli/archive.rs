//! `hutch save` and `hutch load` (also `image save`/`image load`): images
//! to and from docker-archive and oci-archive files (and, for `save`, OCI
//! layout and docker-dir directories).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::container::images::Input;
use crate::container::Engine;
use crate::error::Error;
use crate::image::archive::{Format, LayerChoice};

/// `--format` values of `save`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SaveFormat {
    /// What `docker save` writes
    DockerArchive,
    /// An OCI image layout in a tar
    OciArchive,
    /// An OCI image layout directory
    OciDir,
    /// A directory with a Docker schema 2 manifest and the blobs (Podman's dir: layout)
    DockerDir,
    /// One squashfs file with the flattened root and the config, for `run ./FILE.sqfs`
    Squashfs,
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
    /// With docker-dir: gzip plain layers too (default: keep each layer's compression)
    #[arg(long)]
    pub compress: bool,
    /// With oci-archive or oci-dir: write the layers as plain tars
    #[arg(long)]
    pub uncompressed: bool,
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

/// Writes the images to the archive.
pub fn save(engine: &Engine, args: SaveArgs) -> Result<i32, Error> {
    let _ = args.quiet;
    if args.compress && args.format != SaveFormat::DockerDir {
        // Podman's words and check.
        return Err(Error::Usage(
            "--compress can only be set when --format is 'docker-dir'".into(),
        ));
    }
    let layers = LayerChoice {
        is_uncompressed: args.uncompressed,
        is_compressed: args.compress,
    };
    let items = engine.images_to_save(&args.images)?;
    let format = match args.format {
        SaveFormat::DockerArchive => Format::DockerArchive,
        SaveFormat::OciArchive => Format::OciArchive,
        SaveFormat::OciDir => Format::OciDir,
        SaveFormat::DockerDir => Format::DockerDir,
        SaveFormat::Squashfs => return save_squashfs(engine, &items, args.output.as_deref()),
    };
    if matches!(format, Format::OciDir | Format::DockerDir) {
        let dir = args
            .output
            .ok_or_else(|| Error::Usage("a directory format needs --output DIRECTORY".into()))?;
        engine.save_images(
            &items,
            format,
            args.multi_image_archive,
            layers,
            &mut std::io::sink(),
            Some(&dir),
        )?;
        return Ok(0);
    }
    super::output::write_to(args.output.as_deref(), "an archive", |out| {
        engine.save_images(&items, format, args.multi_image_archive, layers, out, None)?;
        Ok(())
    })?;
    Ok(0)
}

/// `--format squashfs`: one image, to a file.
fn save_squashfs(
    engine: &Engine,
    items: &[crate::image::archive::SaveItem],
    output: Option<&std::path::Path>,
) -> Result<i32, Error> {
    let [item] = items else {
        return Err(Error::Usage(
            "--format squashfs saves one image to one file".into(),
        ));
    };
    let out = output.ok_or_else(|| {
        Error::Usage(
            "--format squashfs needs --output FILE (a squashfs file is written in place)".into(),
        )
    })?;
    engine.save_squashfs(item, out)?;
    Ok(0)
}

/// Loads every image in the archive and prints what it loaded.
pub fn load(engine: &Engine, args: LoadArgs) -> Result<i32, Error> {
    let loaded = match &args.input {
        Some(path) => engine.load_images(Input::File(path))?,
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::Usage(
                    "no archive given: use --input FILE or pipe the archive to standard input"
                        .into(),
                ));
            }
            engine.load_images(Input::Reader(&mut stdin.lock()))?
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
