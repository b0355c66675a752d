//! Planning a container's extra mounts from `-v/--volume`, `--mount`,
//! `--tmpfs`, `--volumes-from` and the image's `VOLUME`s.
//!
//! Parsing is pure and follows Docker's and Podman's syntax; `resolve`
//! then fixes what the plan needs from the host (a bind source resolved to
//! the path the user named, named and anonymous volumes created in the
//! store) before the first fork. Mounting is `binds`'s job.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

pub use crate::runtime::volumes::{Kind, Mount, Propagation, Volumes};
use crate::storage::{self, Store, VolumeRecord, LOCAL_DRIVER};

/// What went wrong while planning the mounts.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid {flag} {spec:?}: {reason}")]
    Syntax {
        flag: &'static str,
        spec: String,
        reason: String,
    },
    #[error("two mounts target {destination}")]
    DuplicateDestination { destination: String },
    #[error("bind source {path}")]
    BindSource {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--mount type=image: no image {image:?} in local storage")]
    ImageUnknown { image: String },
    #[error("--volumes-from {container:?}: container not known")]
    VolumesFromUnknown { container: String },
    #[error("--volumes-from {container:?}: reading its mounts")]
    VolumesFromSpec {
        container: String,
        #[source]
        source: Box<super::Error>,
    },
    #[error("volume {name:?}")]
    Store {
        name: String,
        #[source]
        source: storage::Error,
    },
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::Syntax { .. } => Some(
                "use SOURCE:DESTINATION[:OPTIONS] with a SOURCE path (absolute, or relative starting with `.`) or a volume name"
                    .into(),
            ),
            Error::ImageUnknown { image } => Some(format!("pull it first: hutch pull {image}")),
            Error::BindSource { .. } => {
                Some("create the host path first; a bind source must exist".into())
            }
            Error::Store { source, .. } => source.hint(),
            Error::VolumesFromSpec { source, .. } => source.hint(),
            _ => None,
        }
    }
}
/// The mount flags of `run` and `create`, as given.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct VolumeRequest {
    /// `-v/--volume`.
    pub volume: Vec<String>,
    /// `--mount`.
    pub mount: Vec<String>,
    /// `--tmpfs`.
    pub tmpfs: Vec<String>,
    /// `--volumes-from`.
    pub volumes_from: Vec<String>,
}

fn syntax(flag: &'static str, spec: &str, reason: impl Into<String>) -> Error {
    Error::Syntax {
        flag,
        spec: spec.to_string(),
        reason: reason.into(),
    }
}

/// Normalizes an absolute container path: no `.`, `..` clamped at `/`, no
/// trailing slash. `None` when it is relative or `/` itself.
fn clean_destination(path: &str) -> Option<String> {
    if !path.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => parts.push(n.to_str()?),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("/{}", parts.join("/")))
}

fn destination(flag: &'static str, spec: &str, path: &str) -> Result<String, Error> {
    clean_destination(path).ok_or_else(|| {
        syntax(
            flag,
            spec,
            format!("destination {path:?} must be an absolute path other than /"),
        )
    })
}

/// Applies one `-v`-style option to `m`; false when it is unknown.
fn apply_option(m: &mut Mount, opt: &str) -> bool {
    match opt {
        "ro" | "readonly" => m.read_only = true,
        "rw" => m.read_only = false,
        "z" | "Z" => m.relabel = Some(opt.to_string()),
        "nosuid" => m.nosuid = true,
        "suid" => m.nosuid = false,
        "nodev" => m.nodev = true,
        "dev" => m.nodev = false,
        "noexec" => m.noexec = true,
        "exec" => m.noexec = false,
        "U" => m.chown = true,
        "O" => m.overlay = true,
        "idmap" => m.idmap = true,
        "nocopy" => m.no_copy = true,
        "copy" => m.no_copy = false,
        // Binds are recursive already.
        "bind" | "rbind" => {}
        _ => match Propagation::parse(opt) {
            Some(p) => m.propagation = p,
            None => return false,
        },
    }
    true
}

/// Parses `-v SRC:DST[:OPTS]` or `-v DST` (an anonymous volume).
pub fn parse_volume(spec: &str) -> Result<Mount, Error> {
    const FLAG: &str = "--volume";
    let parts: Vec<&str> = spec.split(':').collect();
    let (source, dest, opts) = match parts.as_slice() {
        [dest] => ("", *dest, ""),
        [source, dest] => (*source, *dest, ""),
        [source, dest, opts] => (*source, *dest, *opts),
        _ => return Err(syntax(FLAG, spec, "too many ':'")),
    };
    let mut m = Mount {
        destination: destination(FLAG, spec, dest)?,
        ..Mount::default()
    };
    if source.is_empty() {
        if parts.len() > 1 {
            return Err(syntax(FLAG, spec, "empty source"));
        }
        m.kind = Kind::Volume;
    } else if is_path(source) {
        // As in Podman: a source starting with `/` or `.` is a host path
        // (`./data`, `../x`, `.`), resolved against the current directory
        // by `resolve`; anything else names a volume.
        m.kind = Kind::Bind;
        m.source = source.to_string();
    } else if storage::is_valid_volume_name(source) {
        m.kind = Kind::Volume;
        m.source = source.to_string();
    } else {
        return Err(syntax(
            FLAG,
            spec,
            format!("source {source:?} is neither a path nor a volume name"),
        ));
    }
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        if !apply_option(&mut m, opt) {
            return Err(syntax(FLAG, spec, format!("unknown option {opt:?}")));
        }
    }
    check(FLAG, spec, &m)?;
    Ok(m)
}

/// Whether a `-v` source names a host path rather than a volume: it
/// starts with `/` or `.` (volume names start with a letter or digit).
fn is_path(source: &str) -> bool {
    source.starts_with('/') || source.starts_with('.')
}

/// `source` as an absolute path: a relative one joined to `cwd`, then `.`
/// and `..` applied lexically (symlinks are left to the caller), as
/// Podman's `filepath.Abs` does.
fn absolute(source: &Path, cwd: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in cwd.join(source).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Rejects option combinations that mean nothing.
fn check(flag: &'static str, spec: &str, m: &Mount) -> Result<(), Error> {
    if m.overlay && m.kind != Kind::Bind {
        return Err(syntax(flag, spec, "O applies to host paths only"));
    }
    if m.overlay && (m.chown || m.idmap) {
        return Err(syntax(flag, spec, "O cannot be combined with U or idmap"));
    }
    if matches!(m.kind, Kind::Tmpfs | Kind::Image | Kind::Devpts)
        && (m.chown || m.overlay || m.idmap)
    {
        return Err(syntax(
            flag,
            spec,
            "U, O and idmap apply to binds and volumes only",
        ));
    }
    Ok(())
}

/// `true`/`false` (or nothing) of a boolean `--mount` key.
fn parse_bool(
    flag: &'static str,
    spec: &str,
    key: &str,
    value: Option<&str>,
) -> Result<bool, Error> {
    match value {
        None | Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(v) => Err(syntax(
            flag,
            spec,
            format!("{key}={v}: expected true or false"),
        )),
    }
}

/// Parses `--mount type=…,source=…,target=…,…` with Docker's keys.
pub fn parse_mount(spec: &str) -> Result<Mount, Error> {
    const FLAG: &str = "--mount";
    let mut m = Mount::default();
    let mut kind: Option<&str> = None;
    let mut target: Option<&str> = None;
    let mut tmpfs: Vec<String> = Vec::new();
    for field in spec.split(',').filter(|f| !f.is_empty()) {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field, None),
        };
        let need = || value.ok_or_else(|| syntax(FLAG, spec, format!("{key} needs a value")));
        match key {
            "type" => kind = Some(need()?),
            "source" | "src" => m.source = need()?.to_string(),
            "target" | "destination" | "dst" => target = Some(need()?),
            "readonly" | "ro" => m.read_only = parse_bool(FLAG, spec, key, value)?,
            "rw" => m.read_only = !parse_bool(FLAG, spec, key, value)?,
            "bind-propagation" => {
                m.propagation = Propagation::parse(need()?).ok_or_else(|| {
                    syntax(
                        FLAG,
                        spec,
                        format!("unknown propagation {:?}", value.unwrap_or("")),
                    )
                })?
            }
            "bind-nonrecursive" => {
                return Err(syntax(FLAG, spec, "bind-nonrecursive is not supported"))
            }
            "relabel" => {
                m.relabel = match need()? {
                    "shared" => Some("z".into()),
                    "private" => Some("Z".into()),
                    v => return Err(syntax(FLAG, spec, format!("unknown relabel {v:?}"))),
                }
            }
            "tmpfs-size" => tmpfs.push(format!("size={}", need()?)),
            "tmpfs-mode" => tmpfs.push(format!("mode={}", need()?)),
            "volume-opt" => {
                let (k, v) = need()?
                    .split_once('=')
                    .ok_or_else(|| syntax(FLAG, spec, "volume-opt needs KEY=VALUE"))?;
                m.volume_options.insert(k.to_string(), v.to_string());
            }
            "volume-nocopy" => m.no_copy = parse_bool(FLAG, spec, key, value)?,
            "U" | "chown" => m.chown = parse_bool(FLAG, spec, key, value)?,
            "idmap" => m.idmap = parse_bool(FLAG, spec, key, value)?,
            "nosuid" | "nodev" | "noexec" | "suid" | "dev" | "exec" if value.is_none() => {
                apply_option(&mut m, key);
            }
            _ => return Err(syntax(FLAG, spec, format!("unknown key {key:?}"))),
        }
    }
    let target = target.ok_or_else(|| syntax(FLAG, spec, "target is required"))?;
    m.destination = destination(FLAG, spec, target)?;
    m.kind = match kind {
        Some("bind") => Kind::Bind,
        Some("volume") => Kind::Volume,
        Some("tmpfs") => Kind::Tmpfs,
        Some("image") => Kind::Image,
        Some("devpts") => Kind::Devpts,
        Some(other) => {
            return Err(syntax(
                FLAG,
                spec,
                format!(
                    "type {other:?} is not supported: use bind, volume, tmpfs, image or devpts"
                ),
            ))
        }
        None => Kind::Volume,
    };
    match m.kind {
        // A relative bind source is a path, resolved like `-v ./x`'s.
        Kind::Bind if m.source.is_empty() => {
            return Err(syntax(FLAG, spec, "a bind mount needs source=PATH"))
        }
        Kind::Volume if !m.source.is_empty() && !storage::is_valid_volume_name(&m.source) => {
            return Err(syntax(
                FLAG,
                spec,
                format!("invalid volume name {:?}", m.source),
            ))
        }
        Kind::Tmpfs if !m.source.is_empty() => {
            return Err(syntax(FLAG, spec, "a tmpfs takes no source"))
        }
        Kind::Devpts if !m.source.is_empty() => {
            return Err(syntax(FLAG, spec, "a devpts takes no source"))
        }
        Kind::Image if m.source.is_empty() => {
            return Err(syntax(FLAG, spec, "an image mount needs source=IMAGE"))
        }
        Kind::Image
            if spec.split(',').any(|f| {
                f == "rw" || f == "rw=true" || f == "readonly=false" || f == "ro=false"
            }) =>
        {
            return Err(syntax(FLAG, spec, "image mounts are read-only"))
        }
        Kind::Image | Kind::Devpts if !tmpfs.is_empty() => {
            return Err(syntax(
                FLAG,
                spec,
                "tmpfs-size and tmpfs-mode need type=tmpfs",
            ))
        }
        Kind::Image => m.read_only = true,
        Kind::Devpts => {
            m.nosuid = true;
            m.noexec = true;
        }
        Kind::Tmpfs => {
            m.nosuid = true;
            m.nodev = true;
            m.tmpfs_data = tmpfs.join(",");
        }
        _ if !tmpfs.is_empty() => {
            return Err(syntax(
                FLAG,
                spec,
                "tmpfs-size and tmpfs-mode need type=tmpfs",
            ))
        }
        _ => {}
    }
    check(FLAG, spec, &m)?;
    Ok(m)
}

/// tmpfs data options passed to the kernel as given.
const TMPFS_DATA_KEYS: [&str; 6] = ["size", "mode", "uid", "gid", "nr_inodes", "nr_blocks"];

/// Parses `--tmpfs DST[:OPTIONS]`: `size=`, `mode=`, `uid=`, `gid=`,
/// `nr_inodes=` and the mount flags. Podman's default is
/// `rw,noexec,nosuid,nodev`.
pub fn parse_tmpfs(spec: &str) -> Result<Mount, Error> {
    const FLAG: &str = "--tmpfs";
    let (dest, opts) = spec.split_once(':').unwrap_or((spec, ""));
    let mut m = Mount {
        kind: Kind::Tmpfs,
        destination: destination(FLAG, spec, dest)?,
        nosuid: true,
        nodev: true,
        noexec: true,
        ..Mount::default()
    };
    let mut data = Vec::new();
    for opt in opts.split(',').filter(|o| !o.is_empty()) {
        match opt.split_once('=') {
            Some((k, v)) if TMPFS_DATA_KEYS.contains(&k) && !v.is_empty() => {
                data.push(opt.to_string())
            }
            Some(_) => return Err(syntax(FLAG, spec, format!("unknown option {opt:?}"))),
            None => {
                let is_flag = matches!(
                    opt,
                    "ro" | "rw" | "nosuid" | "suid" | "nodev" | "dev" | "noexec" | "exec"
                );
                if !is_flag || !apply_option(&mut m, opt) {
                    return Err(syntax(FLAG, spec, format!("unknown option {opt:?}")));
                }
            }
        }
    }
    m.tmpfs_data = data.join(",");
    Ok(m)
}

/// Splits `--volumes-from CTR[:ro|rw]` into the container and whether its
/// mounts become read-only (`None`: as they are).
pub fn parse_volumes_from(spec: &str) -> Result<(String, Option<bool>), Error> {
    const FLAG: &str = "--volumes-from";
    let (name, mode) = match spec.split_once(':') {
        Some((n, "ro")) => (n, Some(true)),
        Some((n, "rw")) => (n, Some(false)),
        Some((_, other)) => {
            return Err(syntax(
                FLAG,
                spec,
                format!("unknown mode {other:?}: use ro or rw"),
            ))
        }
        None => (spec, None),
    };
    if name.is_empty() {
        return Err(syntax(FLAG, spec, "empty container name"));
    }
    Ok((name.to_string(), mode))
}

/// Combines the mounts: `inherited` (from `--volumes-from`), anonymous
/// volumes for the image's `VOLUME`s, then the user's flags, where a
/// later source for a destination replaces an earlier one but the user's
/// own flags may not name one destination twice. Sorted so that parents
/// mount before what is mounted inside them.
pub fn combine(
    inherited: Vec<Mount>,
    image_volumes: &[String],
    own: Vec<Mount>,
) -> Result<Vec<Mount>, Error> {
    let mut own_dests: Vec<&str> = Vec::new();
    for m in &own {
        if own_dests.contains(&m.destination.as_str()) {
            return Err(Error::DuplicateDestination {
                destination: m.destination.clone(),
            });
        }
        own_dests.push(&m.destination);
    }
    let mut out: Vec<Mount> = Vec::new();
    let put = |m: Mount, out: &mut Vec<Mount>| {
        out.retain(|o| o.destination != m.destination);
        out.push(m);
    };
    for m in inherited {
        put(m, &mut out);
    }
    for v in image_volumes {
        if let Some(dest) = clean_destination(v) {
            if !out.iter().any(|o| o.destination == dest) {
                put(
                    Mount {
                        kind: Kind::Volume,
                        destination: dest,
                        ..Mount::default()
                    },
                    &mut out,
                );
            }
        }
    }
    for m in own {
        put(m, &mut out);
    }
    out.sort_by_key(|m| m.destination.matches('/').count());
    Ok(out)
}

/// Resolves the planned `mounts` of container `id` against the host and
/// the store: a relative bind source is made absolute against the current
/// directory, then a bind source becomes the path it names now (a symlink
/// is followed once, here, as Docker does; the init then opens that path
/// refusing any symlink, so a later swap cannot redirect the mount);
/// volumes are created when missing (anonymous ones get a random name) and
/// linked to the container; `remove_with` ties anonymous ones to its
/// removal (`--rm`); `created` is the time stamp for new volumes.
pub fn resolve(
    store: &Store,
    id: &str,
    mut mounts: Vec<Mount>,
    remove_with: bool,
    created: &str,
) -> Result<Volumes, Error> {
    let mut names = Vec::new();
    for m in &mut mounts {
        match m.kind {
            Kind::Bind => {
                let mut given = PathBuf::from(&m.source);
                if given.is_relative() {
                    let cwd = std::env::current_dir().map_err(|source| Error::BindSource {
                        path: given.clone(),
                        source,
                    })?;
                    given = absolute(&given, &cwd);
                    m.source = given.to_string_lossy().into_owned();
                }
                let path = std::fs::canonicalize(&given).map_err(|source| Error::BindSource {
                    path: given.clone(),
                    source,
                })?;
                m.host_path = Some(path);
            }
            Kind::Volume => {
                let is_anonymous = m.source.is_empty();
                if is_anonymous {
                    m.source = random_name();
                }
                let record = VolumeRecord {
                    name: m.source.clone(),
                    driver: LOCAL_DRIVER.into(),
                    labels: BTreeMap::new(),
                    options: m.volume_options.clone(),
                    created: created.to_string(),
                    is_anonymous,
                };
                let store_err = |source| Error::Store {
                    name: m.source.clone(),
                    source,
                };
                store.create_volume(&record, true).map_err(store_err)?;
                let info = store
                    .find_volume(&m.source)
                    .map_err(store_err)?
                    .ok_or_else(|| Error::Store {
                        name: m.source.clone(),
                        source: storage::VolumeError::NotKnown {
                            name: m.source.clone(),
                        }
                        .into(),
                    })?;
                if info.record.options.get("type").map(String::as_str) == Some("tmpfs") {
                    m.is_tmpfs_volume = true;
                    m.tmpfs_data = info.record.options.get("o").cloned().unwrap_or_default();
                }
                m.host_path = Some(info.mountpoint);
                names.push(m.source.clone());
            }
            Kind::Tmpfs | Kind::Devpts => {}
            // Resolved by the caller, which knows how image names resolve.
            Kind::Image if !m.layers.is_empty() => {}
            Kind::Image => {
                return Err(Error::ImageUnknown {
                    image: m.source.clone(),
                })
            }
        }
    }
    if !names.is_empty() {
        let copy_up = store
            .use_volumes(id, &names, remove_with)
            .map_err(|source| Error::Store {
                name: names.join(", "),
                source,
            })?;
        for m in &mut mounts {
            m.copy_up = m.kind == Kind::Volume
                && !m.no_copy
                && !m.is_tmpfs_volume
                && copy_up.contains(&m.source);
        }
    }
    Ok(Volumes { mounts })
}

/// The mounts container `name` has, for `--volumes-from`, made read-only
/// or writable as asked; tmpfs mounts are not shared.
pub fn mounts_from(store: &Store, spec: &str) -> Result<Vec<Mount>, Error> {
    let (name, read_only) = parse_volumes_from(spec)?;
    let info = store
        .find_container(&name)
        .map_err(|source| Error::Store {
            name: name.clone(),
            source,
        })?
        .ok_or_else(|| Error::VolumesFromUnknown {
            container: name.clone(),
        })?;
    let plan = match super::load_spec(&info) {
        Ok(plan) => plan,
        // Run in the foreground only: no spec, no mounts to share.
        Err(super::Error::SpecMissing(_)) => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::VolumesFromSpec {
                container: name.clone(),
                source: Box::new(e),
            })
        }
    };
    Ok(plan
        .volumes
        .mounts
        .into_iter()
        .filter(|m| matches!(m.kind, Kind::Bind | Kind::Volume))
        .map(|mut m| {
            if let Some(ro) = read_only {
                m.read_only = ro;
            }
            // The source container filled them already.
            m.no_copy = true;
            m.copy_up = false;
            m
        })
        .collect())
}

/// A random 64-hex name for an anonymous volume.
pub(super) fn random_name() -> String {
    let mut buf = [0u8; 32];
    if std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
        .is_err()
    {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        return storage::Digest::of(format!("{t}-{}", std::process::id()).as_bytes())
            .hex()
            .to_string();
    }
    hex::encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_flag_parses_binds_names_and_anonymous_volumes() {
        let m = parse_volume("/home/u/work:/work:ro,z,rslave,nosuid,U").unwrap();
        assert_eq!(m.kind, Kind::Bind);
        assert_eq!(m.source, "/home/u/work");
        assert_eq!(m.destination, "/work");
        assert!(m.read_only && m.nosuid && m.chown);
        assert_eq!(m.propagation, Propagation::RSlave);
        assert_eq!(m.relabel.as_deref(), Some("z"));
        assert_eq!(m.mode(), "z,U");

        let m = parse_volume("data:/var/lib/x/").unwrap();
        assert_eq!((m.kind, m.source.as_str()), (Kind::Volume, "data"));
        assert_eq!(m.destination, "/var/lib/x");
        assert!(!m.read_only);
        assert_eq!(m.propagation, Propagation::RPrivate);

        let m = parse_volume("/cache").unwrap();
        assert_eq!((m.kind, m.source.as_str()), (Kind::Volume, ""));

        let m = parse_volume("/src:/src:O").unwrap();
        assert!(m.overlay);
    }

    #[test]
    fn volume_flag_takes_sources_starting_with_a_dot_as_paths() {
        // Podman: `/` or `.` first is a path, anything else a volume name.
        for (spec, source) in [
            ("./work:/w", "./work"),
            ("../up:/w", "../up"),
            (".:/w", "."),
            (".hidden:/w", ".hidden"),
        ] {
            let m = parse_volume(spec).unwrap();
            assert_eq!((m.kind, m.source.as_str()), (Kind::Bind, source), "{spec}");
        }
        let cwd = Path::new("/home/u/proj");
        assert_eq!(
            absolute(Path::new("./data"), cwd),
            Path::new("/home/u/proj/data")
        );
        assert_eq!(
            absolute(Path::new("../x/./y"), cwd),
            Path::new("/home/u/x/y")
        );
        assert_eq!(absolute(Path::new("."), cwd), Path::new("/home/u/proj"));
        assert_eq!(absolute(Path::new("../../../.."), cwd), Path::new("/"));
    }

    #[test]
    fn volume_flag_rejects_other_relative_sources_and_bad_options() {
        for bad in [
            "work/sub:/work",
            "/a:relative",
            "/a:/",
            "/a:/b:bogus",
            "/a:/b:ro:x",
            ":/b",
            "data:/b:O",
            "/a:/b:O,U",
        ] {
            let err = parse_volume(bad).unwrap_err();
            assert!(matches!(err, Error::Syntax { .. }), "{bad}: {err}");
            assert!(err.to_string().starts_with("invalid --volume"), "{err}");
        }
    }

    #[test]
    fn mount_flag_takes_dockers_keys() {
        let m = parse_mount("type=bind,src=/h,dst=/c,readonly,bind-propagation=rshared").unwrap();
        assert_eq!(
            (m.kind, m.source.as_str(), m.destination.as_str()),
            (Kind::Bind, "/h", "/c")
        );
        assert!(m.read_only);
        assert_eq!(m.propagation, Propagation::RShared);

        let m = parse_mount("type=volume,source=v,target=/data,volume-opt=type=tmpfs,ro=false")
            .unwrap();
        assert_eq!((m.kind, m.source.as_str()), (Kind::Volume, "v"));
        assert!(!m.read_only);
        assert_eq!(
            m.volume_options.get("type").map(String::as_str),
            Some("tmpfs")
        );

        let m =
            parse_mount("type=tmpfs,destination=/scratch,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(m.kind, Kind::Tmpfs);
        assert_eq!(m.tmpfs_data, "size=1m,mode=1770");

        // A relative bind source is a path, as in Podman.
        let m = parse_mount("type=bind,src=rel,dst=/c").unwrap();
        assert_eq!((m.kind, m.source.as_str()), (Kind::Bind, "rel"));

        for bad in [
            "type=bind,dst=/c",
            "type=bind,src=/h",
            "type=image,dst=/c",
            "type=image,src=x,dst=/c,rw",
            "type=devpts,src=x,dst=/c",
            "type=tmpfs,src=/x,dst=/c",
            "type=bind,src=/h,dst=/c,tmpfs-size=1m",
            "type=bind,src=/h,dst=/c,bogus=1",
            "type=bind,src=/h,dst=/c,readonly=maybe",
        ] {
            assert!(parse_mount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tmpfs_flag_defaults_and_options() {
        let m = parse_tmpfs("/run/x").unwrap();
        assert!(m.nosuid && m.nodev && m.noexec && !m.read_only);
        assert_eq!(m.tmpfs_data, "");
        let m = parse_tmpfs("/t:size=64k,mode=700,exec,ro").unwrap();
        assert_eq!(m.tmpfs_data, "size=64k,mode=700");
        assert!(!m.noexec && m.read_only);
        for bad in ["rel", "/t:bogus", "/t:U", "/t:size="] {
            assert!(parse_tmpfs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn volumes_from_modes() {
        assert_eq!(parse_volumes_from("web").unwrap(), ("web".into(), None));
        assert_eq!(
            parse_volumes_from("web:ro").unwrap(),
            ("web".into(), Some(true))
        );
        assert_eq!(
            parse_volumes_from("web:rw").unwrap(),
            ("web".into(), Some(false))
        );
        assert!(parse_volumes_from("web:x").is_err());
        assert!(parse_volumes_from(":ro").is_err());
    }

    #[test]
    fn combine_orders_parents_first_and_lets_flags_replace_image_volumes() {
        let own = vec![
            parse_volume("/h/a:/data/sub").unwrap(),
            parse_volume("named:/data").unwrap(),
        ];
        let inherited = vec![parse_volume("old:/shared").unwrap()];
        let got = combine(inherited, &["/data".into(), "/cache/".into()], own).unwrap();
        let dests: Vec<(&str, &str)> = got
            .iter()
            .map(|m| (m.destination.as_str(), m.source.as_str()))
            .collect();
        assert_eq!(
            dests,
            [
                ("/shared", "old"),
                ("/cache", ""),
                ("/data", "named"),
                ("/data/sub", "/h/a")
            ]
        );
        let dup = vec![parse_volume("a:/x").unwrap(), parse_tmpfs("/x").unwrap()];
        assert!(matches!(
            combine(Vec::new(), &[], dup),
            Err(Error::DuplicateDestination { .. })
        ));
    }

    #[test]
    fn resolve_follows_a_symlinked_source_and_creates_volumes_once() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::open(&tmp.path().join("store")).unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, tmp.path().join("link")).unwrap();
        let id = "a".repeat(64);
        store
            .create_test_container(&storage::ContainerRecord {
                id: id.clone(),
                name: "c".into(),
                image_id: storage::Digest::of(b"x"),
                image_name: "busybox".into(),
                created: "2024-01-01T00:00:00Z".into(),
            })
            .unwrap();
        let link = format!("{}:/x", tmp.path().join("link").display());
        let mounts = vec![
            parse_volume(&link).unwrap(),
            parse_volume("data:/d").unwrap(),
            parse_volume("/anon").unwrap(),
        ];
        let v = resolve(&store, &id, mounts, true, "now").unwrap();
        assert_eq!(
            v.mounts[0].host_path.as_deref(),
            Some(real.canonicalize().unwrap().as_path())
        );
        assert_eq!(v.mounts[1].host_path, Some(store.volume_path("data")));
        assert!(v.mounts[1].copy_up);
        assert_eq!(v.mounts[2].source.len(), 64);
        assert_eq!(
            store.anonymous_volumes_of(&id).unwrap(),
            vec![v.mounts[2].source.clone()]
        );
        let missing = vec![parse_volume("/no/such/dir:/x").unwrap()];
        assert!(matches!(
            resolve(&store, &id, missing, false, "now"),
            Err(Error::BindSource { .. })
        ));
    }
}
