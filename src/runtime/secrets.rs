//! A container's `--secret`s as planned (#14): the files bound read-only
//! from the copies the engine made in the container's directory when it
//! created the container, and the variables the engine fills in at every
//! start. This module holds the plan's data and turns the files into
//! mounts; `binds` mounts them and gives them their owner.

use std::path::Path;

use super::volumes::{Kind, Mount, Volumes};

/// The directory, in the container's directory, holding the copies.
pub const DIR: &str = "secrets";

/// One `--secret` of a container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Secret {
    /// The secret's name when the container was created.
    pub name: String,
    /// Its id.
    pub id: String,
    /// Where it goes.
    pub target: Target,
}

/// What a secret becomes in the container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Target {
    /// `type=mount`: the copy `DIR/file` bound read-only on `path` (an
    /// absolute, normalized path), owned by `uid`:`gid`; `mode` as given
    /// (the copy has its permission bits).
    Mount {
        file: String,
        path: String,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    /// `type=env`: the variable `var`, set at every start from the secret
    /// `source` names then (a secret removed since stops the start, as in
    /// Podman).
    Env { var: String, source: String },
}

/// The read-only binds of `secrets`' files, whose copies are in the
/// container directory `dir`.
pub fn mounts(secrets: &[Secret], dir: &Path) -> Volumes {
    let mounts = secrets
        .iter()
        .filter_map(|s| match &s.target {
            Target::Mount {
                file,
                path,
                uid,
                gid,
                ..
            } => {
                let host = dir.join(DIR).join(file);
                Some(Mount {
                    kind: Kind::Bind,
                    source: host.display().to_string(),
                    destination: path.clone(),
                    read_only: true,
                    nosuid: true,
                    nodev: true,
                    noexec: true,
                    owner: Some((*uid, *gid)),
                    host_path: Some(host),
                    ..Mount::default()
                })
            }
            Target::Env { .. } => None,
        })
        .collect();
    Volumes { mounts }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_files_become_read_only_binds_from_the_container_directory() {
        let secrets = [
            Secret {
                name: "a".into(),
                id: "1".into(),
                target: Target::Mount {
                    file: "0".into(),
                    path: "/run/secrets/a".into(),
                    uid: 5,
                    gid: 6,
                    mode: 0o400,
                },
            },
            Secret {
                name: "b".into(),
                id: "2".into(),
                target: Target::Env {
                    var: "B".into(),
                    source: "b".into(),
                },
            },
        ];
        let v = mounts(&secrets, Path::new("/store/containers/x"));
        assert_eq!(v.mounts.len(), 1);
        let m = &v.mounts[0];
        assert_eq!(
            m.host_path.as_deref(),
            Some(Path::new("/store/containers/x/secrets/0"))
        );
        assert_eq!(m.destination, "/run/secrets/a");
        assert!(m.read_only && m.nosuid && m.nodev && m.noexec);
        assert_eq!(m.owner, Some((5, 6)));
    }
}
