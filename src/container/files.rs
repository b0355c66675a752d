//! The engine's side of `cp`, `diff`, `commit` and `export`: finding the
//! container and where its files are, then handing the work to `files`.

use std::io::{Read, Write};
use std::path::Path;

use super::{lifecycle, Error, PROC};
use crate::files::{self, Change, CommitOptions, CopyOptions, Layout, Location};
use crate::storage::{Digest, Store};
use crate::userns::IdMaps;

/// Finds container `name` and its layout: from its start spec, or, for a
/// container run in the foreground (no spec), from its image's layers and
/// `maps`.
pub(super) fn layout_of(store: &Store, name: &str, maps: &IdMaps) -> Result<Layout, Error> {
    let info = lifecycle::find(store, name, Path::new(PROC), None)?;
    if info.spec.is_some() {
        let plan = super::load_spec(&info)?;
        let is_running = info.state.status == crate::storage::ContainerStatus::Running;
        if let Some(rootfs) = plan.rootfs.as_ref().filter(|_| !is_running) {
            let what = "reaching a stopped container's files";
            return Err(super::rootfs::refuse(&info.record.name, rootfs, what).into());
        }
        return Ok(Layout {
            info,
            lowers: plan.lowers,
            dirs: plan.dirs,
            maps: plan.maps,
            has_init: plan.hardening.init,
            volumes: plan.volumes,
            workdir: plan.cwd,
            user: plan.user,
        });
    }
    let image = store
        .find_image(&info.record.image_id.to_string())
        .map_err(Error::Store)?
        .ok_or_else(|| files::Error::ImageMissing(info.record.image_id.clone()))?;
    let lowers = image
        .layers
        .iter()
        .rev()
        .map(|l| store.layer_path(&l.diff_id))
        .collect();
    Ok(Layout {
        dirs: store.container_dirs(&info.record.id),
        lowers,
        maps: maps.clone(),
        info,
        has_init: false,
        volumes: Default::default(),
        workdir: image_workdir(&image.config),
        user: image_user(&image.config),
    })
}

/// The user an image's config names (empty: root).
fn image_user(config: &[u8]) -> String {
    let config: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
    config["config"]["User"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The working directory an image's config names (`/` when none).
fn image_workdir(config: &[u8]) -> String {
    let config: serde_json::Value = serde_json::from_slice(config).unwrap_or_default();
    match config["config"]["WorkingDir"].as_str() {
        Some(dir) if dir.starts_with('/') => dir.to_string(),
        // Docker resolves a relative WorkingDir against `/`.
        Some(dir) if !dir.is_empty() => format!("/{dir}"),
        _ => "/".to_string(),
    }
}

/// Copies between the host, a tar stream (`-`: read from `input`,
/// written to `output`) and containers (`hutch cp`); `maps` serve
/// containers without a start spec. Must be called single-threaded.
pub fn copy(
    store: &Store,
    src: &Location,
    dst: &Location,
    opts: CopyOptions,
    maps: &IdMaps,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<(), Error> {
    let layout = |name: &str| layout_of(store, name, maps);
    match (src, dst) {
        (Location::Host(s), Location::Container { name, path }) => {
            Ok(files::copy_in(layout(name)?, s, path, opts)?)
        }
        (Location::Container { name, path }, Location::Host(d)) => {
            Ok(files::copy_out(layout(name)?, path, d, opts)?)
        }
        (Location::Stdio, Location::Container { name, path }) => {
            Ok(files::copy_from_stream(layout(name)?, input, path, opts)?)
        }
        (Location::Container { name, path }, Location::Stdio) => {
            Ok(files::copy_to_stream(layout(name)?, path, output)?)
        }
        (
            Location::Container { name, path },
            Location::Container {
                name: to,
                path: dst_path,
            },
        ) => {
            let from = layout(name)?;
            let to = layout(to)?;
            Ok(files::copy_between(from, path, to, dst_path, opts)?)
        }
        _ => Err(files::Error::NoContainerSide.into()),
    }
}

/// What `lstat` says of `path` in container `name` (Docker's archive
/// endpoints); `None` when it does not exist. Must be called
/// single-threaded.
pub fn stat_path(
    store: &Store,
    name: &str,
    path: &str,
    maps: &IdMaps,
) -> Result<Option<files::PathStat>, Error> {
    Ok(files::stat_path(layout_of(store, name, maps)?, path)?)
}

/// Lists what container `name` changed compared with its image, sorted by
/// path; `maps` serve containers without a start spec. Must be called
/// single-threaded.
pub fn diff(store: &Store, name: &str, maps: &IdMaps) -> Result<Vec<Change>, Error> {
    Ok(files::diff(&layout_of(store, name, maps)?)?)
}

/// Commits container `name`'s changes as a new image and returns its id;
/// `maps` serve containers without a start spec. Must be called
/// single-threaded.
pub fn commit(
    store: &Store,
    name: &str,
    opts: &CommitOptions,
    maps: &IdMaps,
) -> Result<Digest, Error> {
    let info = lifecycle::find(store, name, Path::new(PROC), None)?;
    if info.spec.is_some() {
        if let Some(rootfs) = super::load_spec(&info)?.rootfs {
            // The image would lack the files below the container's own.
            return Err(super::rootfs::refuse(&info.record.name, &rootfs, "commit").into());
        }
    }
    Ok(files::commit(store, &layout_of(store, name, maps)?, opts)?)
}

/// Writes container `name`'s root filesystem to `out` as a tar (`hutch
/// export`); `maps` serve containers without a start spec. Must be called
/// single-threaded.
pub fn export(
    store: &Store,
    name: &str,
    out: &mut dyn std::io::Write,
    maps: &IdMaps,
) -> Result<(), Error> {
    Ok(files::export(layout_of(store, name, maps)?, out)?)
}
