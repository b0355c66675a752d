//! `image save --format squashfs IMAGE -o FILE` (issue #18): one
//! compressed, read-only file holding the image's flattened root and its
//! config, for `run ./FILE` and `--rootfs FILE` (see `image::squashfs` for
//! the layout and `files::squashfs` for the writing).
//!
//! The file is written beside its destination under a temporary name and
//! renamed into place once whole, so a rank reading it on a shared
//! filesystem never sees half of one. The overlay's scratch directories
//! are made under `ROOT/image-mounts/` and removed afterwards.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::container::{Engine, Error};
use crate::image::archive::SaveItem;
use crate::image::squashfs;
use crate::storage::ContainerDirs;

/// Removes the overlay's scratch directories when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes a temporary output file unless it was renamed into place.
struct Partial(Option<PathBuf>);

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

impl Engine {
    /// Writes `item` as a squashfs file at `out`. Must be called
    /// single-threaded (the writer runs in a forked helper).
    pub fn save_squashfs(&self, item: &SaveItem, out: &Path) -> Result<(), Error> {
        let maps = self.user_maps()?.clone();
        let store = self.store()?;
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::from(crate::container::rootfs::Error::Save { path, source })
        };
        let out = std::path::absolute(out).map_err(io(out))?;
        let parent = out.parent().unwrap_or(Path::new("/"));
        let name = out.file_name().map(|n| n.to_string_lossy().into_owned());
        let tmp = parent.join(format!(
            ".{}.hutch-{}",
            name.unwrap_or_default(),
            std::process::id()
        ));
        let mut partial = Partial(Some(tmp.clone()));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(io(&tmp))?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let scratch = Scratch(
            ensure_dir(&store.root().join("image-mounts"))?
                .join(format!("save-{}-{nanos}", std::process::id())),
        );
        ensure_dir(&scratch.0)?;
        let dirs = ContainerDirs {
            dir: scratch.0.to_path_buf(),
            upper: scratch.0.join("upper"),
            work: scratch.0.join("work"),
            merged: scratch.0.join("merged"),
        };
        for d in [&dirs.upper, &dirs.work, &dirs.merged] {
            std::fs::create_dir(d).map_err(io(d))?;
        }
        let lowers = item
            .image
            .layers
            .iter()
            .rev()
            .map(|l| store.layer_path(&l.diff_id))
            .collect();
        let written = crate::files::squashfs::write_squashfs(lowers, dirs.clone(), maps, &tmp);
        // overlayfs leaves work/work mode 0; let the removal in.
        let inner = dirs.work.join("work");
        let _ = std::fs::set_permissions(&inner, std::fs::Permissions::from_mode(0o700));
        drop(scratch);
        written?;
        let mut file = OpenOptions::new()
            .append(true)
            .open(&tmp)
            .map_err(io(&tmp))?;
        squashfs::append_config(&mut file, &out, &item.image.config)
            .map_err(crate::container::rootfs::Error::from)?;
        drop(file);
        std::fs::rename(&tmp, &out).map_err(io(&out))?;
        partial.0 = None;
        if let Ok(dir) = File::open(parent) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// Makes `dir` if missing (0700, as everything under the store root).
fn ensure_dir(dir: &Path) -> Result<&Path, Error> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
            Err(Error::from(crate::container::rootfs::Error::Save {
                path: dir.to_path_buf(),
                source: e,
            }))
        }
        _ => Ok(dir),
    }
}
