//! The extra mounts of a container as plain data: what `-v`, `--mount`,
//! `--tmpfs`, `--volumes-from` and the image's `VOLUME`s became once the
//! engine planned them (see `container::volumes`). `binds` mounts them.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// What is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Kind {
    /// A host path.
    #[default]
    Bind,
    /// A named or anonymous volume from the store.
    Volume,
    /// A fresh tmpfs.
    Tmpfs,
    /// A local image's root filesystem, read-only.
    Image,
    /// A new devpts instance.
    Devpts,
}

impl Kind {
    /// Docker's name for it (`Type` in `inspect`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bind => "bind",
            Kind::Volume => "volume",
            Kind::Tmpfs => "tmpfs",
            Kind::Image => "image",
            Kind::Devpts => "devpts",
        }
    }
}

/// Mount propagation (mount_namespaces(7)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Propagation {
    /// `rprivate`: nothing propagates either way (the default).
    #[default]
    RPrivate,
    /// `private`.
    Private,
    /// `rslave`: host mounts below the source appear inside.
    RSlave,
    /// `slave`.
    Slave,
    /// `rshared`: both ways (within what the user namespace allows).
    RShared,
    /// `shared`.
    Shared,
}

impl Propagation {
    pub fn parse(s: &str) -> Option<Propagation> {
        Some(match s {
            "rprivate" => Propagation::RPrivate,
            "private" => Propagation::Private,
            "rslave" => Propagation::RSlave,
            "slave" => Propagation::Slave,
            "rshared" => Propagation::RShared,
            "shared" => Propagation::Shared,
            _ => return None,
        })
    }

    /// The option's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::RPrivate => "rprivate",
            Propagation::Private => "private",
            Propagation::RSlave => "rslave",
            Propagation::Slave => "slave",
            Propagation::RShared => "rshared",
            Propagation::Shared => "shared",
        }
    }
}

/// One extra mount of a container.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Mount {
    /// Bind, volume or tmpfs.
    pub kind: Kind,
    /// Bind: the host path (absolute; resolved by `resolve`). Volume: its
    /// name (empty for a new anonymous one until `resolve`). Tmpfs: empty.
    pub source: String,
    /// Absolute path inside the container, normalized.
    pub destination: String,
    /// `ro`.
    pub read_only: bool,
    /// Propagation of a bind or volume mount.
    pub propagation: Propagation,
    /// `nosuid`.
    pub nosuid: bool,
    /// `nodev`.
    pub nodev: bool,
    /// `noexec`.
    pub noexec: bool,
    /// `U`: chown the source to the container's user.
    pub chown: bool,
    /// `O`: an overlay over the source whose changes are discarded.
    pub overlay: bool,
    /// `idmap`: an idmapped mount.
    pub idmap: bool,
    /// `z` or `Z`, kept for `inspect` (no SELinux relabelling here).
    pub relabel: Option<String>,
    /// `nocopy`: do not fill a new volume from the image.
    pub no_copy: bool,
    /// Tmpfs (or tmpfs volume) mount data: `size=…,mode=…`.
    pub tmpfs_data: String,
    /// A volume whose driver options ask for a tmpfs (`--opt type=tmpfs`).
    pub is_tmpfs_volume: bool,
    /// `volume-opt` pairs for a volume `--mount` creates.
    pub volume_options: BTreeMap<String, String>,
    /// The host directory mounted (bind: the resolved source; volume: its
    /// `_data`); set by `resolve`.
    pub host_path: Option<PathBuf>,
    /// Fill the (new, empty) volume from the image's directory first.
    pub copy_up: bool,
    /// Image: its unpacked layers, top first; set by `resolve`.
    pub layers: Vec<PathBuf>,
    /// A file given to this `uid`:`gid` of the container before it is
    /// bound (`--secret`'s `uid=`/`gid=`).
    pub owner: Option<(u32, u32)>,
}

impl Mount {
    /// Docker's `Mode` string for `inspect`: the options as given.
    pub fn mode(&self) -> String {
        let mut opts: Vec<&str> = Vec::new();
        if let Some(z) = &self.relabel {
            opts.push(z);
        }
        if self.chown {
            opts.push("U");
        }
        if self.overlay {
            opts.push("O");
        }
        if self.idmap {
            opts.push("idmap");
        }
        opts.join(",")
    }
}

/// The mounts of a plan, in mount order (parents before children).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Volumes {
    /// Every extra mount.
    pub mounts: Vec<Mount>,
}

impl Volumes {
    /// Whether the absolute container path `path` is a mount's
    /// destination or lies beneath one.
    pub fn holds(&self, path: &str) -> bool {
        let path = std::path::Path::new(path);
        self.mounts
            .iter()
            .any(|m| path.starts_with(std::path::Path::new(&m.destination)))
    }
}
