//! What `build` does around the steps: the C preprocessor of a `*.in`
//! Containerfile, whole-pull retries, the final image's `--timestamp`,
//! `--identity-label` and `--os-feature`/`--os-version`, and after it,
//! `--manifest` and `--output`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::exec::Build;
use super::{config, BuildRequest, Error, Output, StepError};
use crate::storage::{Digest, LayerRef};

/// The label `--identity-label` adds, as Buildah names it.
const IDENTITY_LABEL: &str = "io.buildah.version";

/// The text of Containerfile `path` run through `cpp`, as Buildah does
/// for a name ending in `.in`: no predefined macros, traditional mode (so
/// that `#` comments and quotes pass), `#include "x"` found beside it.
pub(super) fn preprocess(path: &Path, flags: &[String]) -> Result<String, Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let out = Command::new("cpp")
        .args(["-E", "-iquote"])
        .arg(dir)
        .args(["-traditional", "-undef"])
        .args(flags)
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Cpp {
            path: path.to_path_buf(),
            source,
        })?;
    if !out.status.success() {
        return Err(Error::CppFailed {
            path: path.to_path_buf(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    // cpp's line markers (`# 1 "file"`) would read as comments anyway;
    // dropped so that errors count the lines as written.
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter(|l| !l.starts_with("# "))
        .map(|l| format!("{l}\n"))
        .collect())
}

/// RFC 3339 of `secs` since the epoch.
fn rfc3339(secs: i64) -> String {
    crate::runtime::clock::format_rfc3339(secs.max(0) as u64, None)
}

/// `--os-feature` applied to the config's `os.features`: `NAME` added
/// once, `NAME-` removed.
fn os_features(config: &mut Value, given: &[String]) {
    let mut features: Vec<String> = config["os.features"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for f in given {
        match f.strip_suffix('-') {
            Some(gone) => features.retain(|x| x != gone),
            None if !features.contains(f) => features.push(f.clone()),
            None => {}
        }
    }
    if let Some(root) = config.as_object_mut() {
        match features.is_empty() {
            true => root.remove("os.features"),
            false => root.insert("os.features".into(), json!(features)),
        };
    }
}

/// Whether the request changes the final image beyond the last step's.
pub(super) fn changes_image(req: &BuildRequest) -> bool {
    req.timestamp.is_some()
        || req.identity_label
        || !req.os_features.is_empty()
        || req.os_version.is_some()
}

impl Build<'_> {
    /// The config edits of `--identity-label`, `--os-feature`,
    /// `--os-version` and `--timestamp` (which also rewrites the layers
    /// this build added, from `base` up, with its time).
    pub(super) fn finish_config(
        &self,
        config: &mut Value,
        layers: &mut [LayerRef],
        base: (usize, usize),
    ) -> Result<(), StepError> {
        let req = self.req;
        if req.identity_label {
            let version = format!("hutch-{}", env!("CARGO_PKG_VERSION"));
            config::add_to_map(config, "Labels", &[(IDENTITY_LABEL.into(), json!(version))]);
        }
        os_features(config, &req.os_features);
        if let Some(v) = &req.os_version {
            config["os.version"] = json!(v);
        }
        let Some(secs) = req.timestamp else {
            return Ok(());
        };
        let created = rfc3339(secs);
        config["created"] = json!(created);
        if let Some(history) = config["history"].as_array_mut() {
            for h in history.iter_mut().skip(base.1) {
                h["created"] = json!(created);
            }
        }
        let maps = self.engine.user_maps()?;
        let mtime = secs.max(0) as u64;
        let mut diff_ids = Vec::new();
        for (i, layer) in layers.iter_mut().enumerate() {
            if i >= base.0 {
                *layer = crate::files::retime_layer(self.store, layer, mtime, maps)?;
            }
            diff_ids.push(json!(layer.diff_id.to_string()));
        }
        config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
        Ok(())
    }

    /// The local image `name` as `pull` finds it, tried again `--retry`
    /// times, `--retry-delay` apart, while the registry cannot be reached.
    pub(super) fn pull_with_retries(
        &self,
        name: &str,
    ) -> Result<crate::storage::ImageRecord, StepError> {
        let mut attempt = 0;
        loop {
            match self.pull(name) {
                Err(StepError::Engine(e))
                    if attempt < self.req.retry
                        && crate::image::is_retryable(
                            &*e as &(dyn std::error::Error + 'static),
                        ) =>
                {
                    attempt += 1;
                    self.progress.warn(&format!(
                        "failed, retrying in {:?} ... ({attempt}/{}). Error: {}",
                        self.req.retry_delay,
                        self.req.retry,
                        crate::error::render_chain(&*e)
                    ));
                    std::thread::sleep(self.req.retry_delay);
                }
                other => return other,
            }
        }
    }

    /// `--manifest` and `--output` for the final image `id`.
    pub(super) fn deliver(&self, id: &Digest) -> Result<(), Error> {
        if let Some(list) = &self.req.manifest {
            self.add_to_list(list, id).map_err(|e| Error::Manifest {
                list: list.clone(),
                source: Box::new(e),
            })?;
        }
        if let Some(out) = &self.req.output {
            self.write_output(out, id)?;
        }
        Ok(())
    }

    fn add_to_list(&self, list: &str, id: &Digest) -> Result<(), super::super::Error> {
        let access = crate::image::PullOptions {
            platform: crate::image::Platform::host(),
            quiet: true,
            tls_verify: None,
            authfile: None,
            cert_dir: None,
            credentials: None,
        };
        let image = [format!("{}{}", crate::image::STORE_TRANSPORT, id.hex())];
        self.engine
            .create_manifest_list(list, &image, false, true, &access)?;
        Ok(())
    }

    fn write_output(&self, out: &Output, id: &Digest) -> Result<(), Error> {
        let path = match out {
            Output::Dir(p) | Output::Tar(p) => p.clone(),
        };
        let failed = |e: StepError| Error::Finish(Box::new(e));
        let io_err = |source| Error::Output {
            path: path.clone(),
            source,
        };
        let c = self.file_container(id).map_err(failed)?;
        let layout = self.layout(&c).map_err(failed)?;
        match out {
            Output::Tar(p) => {
                let file = std::fs::File::create(p).map_err(io_err)?;
                let mut w = std::io::BufWriter::new(file);
                crate::files::export(layout, &mut w).map_err(|e| failed(e.into()))?;
                w.flush().map_err(io_err)?;
            }
            Output::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(io_err)?;
                let mut tmp = self.store.temp_file().map_err(|e| failed(e.into()))?;
                {
                    let mut w = std::io::BufWriter::new(&mut tmp);
                    crate::files::export(layout, &mut w).map_err(|e| failed(e.into()))?;
                    w.flush().map_err(io_err)?;
                }
                std::io::Seek::rewind(&mut tmp).map_err(io_err)?;
                unpack_into(&mut tmp, dir).map_err(io_err)?;
            }
        }
        Ok(())
    }
}

/// Unpacks the tar `input` below `dir` as the user: owners are not kept,
/// device nodes are left out, and nothing lands outside `dir` (the tar
/// crate refuses `..` and writes through no symlink it unpacked).
fn unpack_into(input: &mut std::fs::File, dir: &PathBuf) -> std::io::Result<()> {
    let mut a = tar::Archive::new(std::io::BufReader::new(input));
    a.set_preserve_permissions(true);
    a.set_preserve_ownerships(false);
    a.set_unpack_xattrs(false);
    a.set_overwrite(true);
    for entry in a.entries()? {
        let mut entry = entry?;
        let ty = entry.header().entry_type();
        if ty.is_character_special() || ty.is_block_special() {
            continue;
        }
        entry.unpack_in(dir)?;
    }
    Ok(())
}
