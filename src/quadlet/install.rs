//! The files of `hutch quadlet install|rm|sync|list` and of the user
//! generator: Quadlet files copied into the user's directory, the
//! generated services written into a unit directory (each starting with
//! [`GENERATED_MARK`], so that only hutch's own are ever replaced or
//! removed), the `[Install]` links beside them, and `systemctl --user
//! daemon-reload`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{discover, generate, Error, Generated, Outcome, Source, GENERATED_MARK};

/// Where Quadlet files are read and services written.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The directories searched, first wins.
    pub dirs: Vec<PathBuf>,
    /// The user's own Quadlet directory (`install` copies there).
    pub user_dir: PathBuf,
    /// Where the services go (`~/.config/systemd/user`, or a generator's
    /// output directory).
    pub unit_dir: PathBuf,
}

/// What a `sync` changed, and the files it could not translate.
#[derive(Debug, Default)]
pub struct Report {
    /// The services written, by file name.
    pub written: Vec<String>,
    /// The generated services removed because their Quadlet file is gone.
    pub removed: Vec<String>,
    /// The Quadlet files that failed; their services are not written.
    pub errors: Vec<Error>,
}

/// One Quadlet file as `quadlet list` shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The file's name (`web.container`).
    pub name: String,
    /// The service's name (`web.service`), empty when it does not translate.
    pub service: String,
    /// Where the file is.
    pub path: PathBuf,
    /// `installed`, `outdated`, `not installed`, or the error.
    pub status: String,
}

/// Every Quadlet file of `layout` translated, with the read errors.
pub fn generate_all(layout: &Layout, hutch: &str) -> Outcome {
    let (sources, mut errors) = discover(&layout.dirs);
    let mut outcome = generate(&sources, hutch);
    errors.append(&mut outcome.errors);
    outcome.errors = errors;
    outcome
}

/// The path a translation error is about, if any.
pub fn error_path(e: &Error) -> Option<&Path> {
    match e {
        Error::Read { path, .. }
        | Error::Syntax { path, .. }
        | Error::UnknownKey { path, .. }
        | Error::RejectedKey { path, .. }
        | Error::Invalid { path, .. } => Some(path),
        _ => None,
    }
}

/// Copies `files` into the user's Quadlet directory and syncs. Each file
/// must translate (together with the ones installed already) before any is
/// copied; one of the same name is replaced only with `replace`.
pub fn install(
    layout: &Layout,
    files: &[PathBuf],
    replace: bool,
    hutch: &str,
) -> Result<Report, Error> {
    let mut new = Vec::new();
    let mut assets = Vec::new();
    for f in files {
        let source = Source::read(f)?;
        assets.extend(assets_of(&source, &layout.user_dir, replace)?);
        let target = layout.user_dir.join(&source.name);
        if target.exists() && !replace {
            return Err(Error::Invalid {
                path: target,
                what: "already installed (use --replace to overwrite it)".into(),
            });
        }
        let unit = layout.unit_dir.join(source.service_name());
        if unit.exists() && !is_generated(&unit) {
            return Err(Error::NotOurs { path: unit });
        }
        new.push(source);
    }
    // Translate the set as it will be, the new files in the user's place.
    let (mut sources, _) = discover(&layout.dirs);
    sources.retain(|s| !new.iter().any(|n| n.name == s.name));
    sources.extend(new.iter().cloned());
    let outcome = generate(&sources, hutch);
    if let Some(e) = outcome
        .errors
        .into_iter()
        .find(|e| error_path(e).is_some_and(|p| new.iter().any(|n| n.path == p)))
    {
        return Err(e);
    }
    std::fs::create_dir_all(&layout.user_dir).map_err(|source| Error::Write {
        path: layout.user_dir.clone(),
        source,
    })?;
    for n in &new {
        let text = std::fs::read(&n.path).map_err(|source| Error::Read {
            path: n.path.clone(),
            source,
        })?;
        write_atomic(&layout.user_dir.join(&n.name), &text)?;
    }
    for (from, to) in &assets {
        let text = std::fs::read(from).map_err(|source| Error::Read {
            path: from.clone(),
            source,
        })?;
        if let Some(dir) = to.parent() {
            std::fs::create_dir_all(dir).map_err(|source| Error::Write {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        write_atomic(to, &text)?;
    }
    sync(layout, hutch)
}

/// The files a `.kube` file names by a relative path (`Yaml=`,
/// `ConfigMap=`), which the unit reads beside the installed file: each as
/// (where it is now, where it goes in `user_dir`). A path that leaves the
/// directory, a file that is missing, and one installed already with
/// other content (unless `replace`) are errors naming the key.
fn assets_of(
    source: &Source,
    user_dir: &Path,
    replace: bool,
) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
    if source.kind != super::Kind::Kube {
        return Ok(Vec::new());
    }
    let dir = source.path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for key in ["Yaml", "ConfigMap"] {
        for value in source.unit.all("Kube", key) {
            if value.is_empty() || value.starts_with('/') || value.starts_with('%') {
                continue;
            }
            let invalid = |what: String| Error::Invalid {
                path: source.path.clone(),
                what: format!("{key}={value}: {what}"),
            };
            let rel = Path::new(&value);
            if rel
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return Err(invalid(
                    "a relative path must stay below the file's directory (or give an absolute path)"
                        .into(),
                ));
            }
            let from = dir.join(rel);
            if !from.is_file() {
                return Err(invalid(format!("{} is not a file", from.display())));
            }
            let to = user_dir.join(rel);
            let same = std::fs::read(&to).ok() == std::fs::read(&from).ok();
            if to.exists() && !same && !replace {
                return Err(Error::Invalid {
                    path: to,
                    what: format!("already installed with other content, needed by {key}= of {} (use --replace to overwrite it)", source.name),
                });
            }
            out.push((from, to));
        }
    }
    Ok(out)
}

/// Removes the named Quadlet files (`web.container`, or their service
/// `web.service` or `web`) from the user's directory, then syncs.
pub fn remove(layout: &Layout, names: &[String], hutch: &str) -> Result<Report, Error> {
    let (sources, _) = discover(&layout.dirs);
    let mut doomed = Vec::new();
    for name in names {
        let found =
            sources
                .iter()
                .find(|s| matches(s, name))
                .ok_or_else(|| Error::NotInstalled {
                    name: name.clone(),
                    dir: layout.user_dir.clone(),
                })?;
        if found.path.parent() != Some(layout.user_dir.as_path()) {
            return Err(Error::NotUsers {
                name: name.clone(),
                path: found.path.clone(),
            });
        }
        doomed.push(found.path.clone());
    }
    for path in doomed {
        std::fs::remove_file(&path).map_err(|source| Error::Remove { path, source })?;
    }
    sync(layout, hutch)
}

/// Whether `name` names `source`: its file name, its service, or the
/// service without `.service`.
fn matches(source: &Source, name: &str) -> bool {
    let service = source.service_name();
    source.name == name || service == name || service.strip_suffix(".service") == Some(name)
}

/// Regenerates every service into the unit directory: writes the current
/// ones, removes generated ones whose file is gone, and remakes the
/// `[Install]` links. A file that fails keeps no service.
pub fn sync(layout: &Layout, hutch: &str) -> Result<Report, Error> {
    let outcome = generate_all(layout, hutch);
    let old = generated_in(&layout.unit_dir);
    let mut report = Report {
        errors: outcome.errors,
        ..Report::default()
    };
    let mut units = Vec::new();
    for unit in outcome.units {
        let target = layout.unit_dir.join(&unit.service);
        if target.exists() && !old.contains(&unit.service) {
            report.errors.push(Error::NotOurs { path: target });
        } else {
            units.push(unit);
        }
    }
    let keep: BTreeSet<String> = units.iter().map(|u| u.service.clone()).collect();
    let all: BTreeSet<String> = old.union(&keep).cloned().collect();
    remove_links(&layout.unit_dir, &all)?;
    for stale in old.difference(&keep) {
        let path = layout.unit_dir.join(stale);
        std::fs::remove_file(&path).map_err(|source| Error::Remove { path, source })?;
        report.removed.push(stale.clone());
    }
    write_units(&layout.unit_dir, &units)?;
    report.written = units.into_iter().map(|u| u.service).collect();
    Ok(report)
}

/// Writes `units` and their `[Install]` links into `dir` (the generator's
/// output, or the user's unit directory).
pub fn write_units(dir: &Path, units: &[Generated]) -> Result<(), Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    for unit in units {
        write_atomic(&dir.join(&unit.service), unit.text.as_bytes())?;
        for link_dir in &unit.links {
            let d = dir.join(link_dir);
            std::fs::create_dir_all(&d).map_err(|source| Error::Write {
                path: d.clone(),
                source,
            })?;
            let link = d.join(&unit.service);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(Path::new("..").join(&unit.service), &link).map_err(
                |source| Error::Write {
                    path: link.clone(),
                    source,
                },
            )?;
        }
    }
    Ok(())
}

/// The services in `dir` that hutch generated (their first line is the mark).
fn generated_in(dir: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeSet::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| is_generated(&e.path()))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Whether the file at `path` starts with [`GENERATED_MARK`].
fn is_generated(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .map(|t| t.lines().next() == Some(GENERATED_MARK))
        .unwrap_or(false)
}

/// Removes the links in `dir`'s `.wants`, `.requires` and `.upholds`
/// directories that point at one of `names` beside them.
fn remove_links(dir: &Path, names: &BTreeSet<String>) -> Result<(), Error> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let is_link_dir = [".wants", ".requires", ".upholds"]
            .iter()
            .any(|s| name.ends_with(s));
        if !is_link_dir || !e.path().is_dir() {
            continue;
        }
        let Ok(links) = std::fs::read_dir(e.path()) else {
            continue;
        };
        for l in links.flatten() {
            let Ok(target) = std::fs::read_link(l.path()) else {
                continue;
            };
            let ours = target.parent() == Some(Path::new("..")) || target.parent() == Some(dir);
            let named = target
                .file_name()
                .is_some_and(|n| names.contains(&*n.to_string_lossy()));
            if ours && named {
                let path = l.path();
                std::fs::remove_file(&path).map_err(|source| Error::Remove { path, source })?;
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file beside it.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            Error::Write {
                path: path.to_path_buf(),
                source,
            }
        })
}

/// Every Quadlet file with its service and whether that is installed in
/// the unit directory and current.
pub fn list(layout: &Layout, hutch: &str) -> Vec<Entry> {
    let (sources, read_errors) = discover(&layout.dirs);
    let outcome = generate(&sources, hutch);
    let mut entries: Vec<Entry> = sources
        .iter()
        .map(|s| {
            let path = layout.unit_dir.join(s.service_name());
            let status = match outcome.units.iter().find(|u| u.source == s.path) {
                Some(u) => match std::fs::read_to_string(&path) {
                    Ok(t) if t == u.text => "installed".to_string(),
                    Ok(_) if is_generated(&path) => "outdated".to_string(),
                    Ok(_) => "not ours".to_string(),
                    Err(_) => "not installed".to_string(),
                },
                None => outcome
                    .errors
                    .iter()
                    .find(|e| error_path(e) == Some(s.path.as_path()))
                    .map(|e| format!("error: {}", crate::error::render_chain(e)))
                    .unwrap_or_else(|| "error".into()),
            };
            Entry {
                name: s.name.clone(),
                service: s.service_name(),
                path: s.path.clone(),
                status,
            }
        })
        .collect();
    for e in read_errors {
        if let Some(p) = error_path(&e) {
            entries.push(Entry {
                name: p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                service: String::new(),
                path: p.to_path_buf(),
                status: format!("error: {}", crate::error::render_chain(&e)),
            });
        }
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// The generated service for `name` (a file name, a service name, or the
/// service without `.service`), or the error its file gave.
pub fn print(layout: &Layout, name: &str, hutch: &str) -> Result<Generated, Error> {
    let (sources, _) = discover(&layout.dirs);
    let Some(source) = sources.iter().find(|s| matches(s, name)) else {
        return Err(Error::NotFound {
            name: name.to_string(),
        });
    };
    let outcome = generate(&sources, hutch);
    if let Some(u) = outcome.units.into_iter().find(|u| u.source == source.path) {
        return Ok(u);
    }
    Err(outcome
        .errors
        .into_iter()
        .find(|e| error_path(e) == Some(source.path.as_path()))
        .unwrap_or(Error::NotFound {
            name: name.to_string(),
        }))
}

/// Runs `systemctl --user daemon-reload`, so the user manager reads the
/// units again.
pub fn reload() -> Result<(), Error> {
    let out = std::process::Command::new("systemctl")
        .args(["--user", "daemon-reload"])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|source| Error::ReloadSpawn { source })?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::ReloadFailed {
        status: out.status.to_string(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}
