//! The store locations a user's containers-storage.conf(5) chooses, so
//! that where an administrator or the user put Podman's store (a node-local
//! disk, a scratch filesystem) is where hutch keeps its own. hutch's store
//! is not Podman's, so it goes into a `hutch` directory below the chosen
//! place rather than mixing with Podman's files there.
//!
//! As Podman does for a rootless user: the file `CONTAINERS_STORAGE_CONF`
//! names, else `$XDG_CONFIG_HOME/containers/storage.conf` if it exists
//! (its `graphroot` and `runroot`), else the system's
//! `/etc/containers/storage.conf` (its `rootless_storage_path`, with
//! `$HOME`, `$UID` and `$USER` replaced).

use std::path::{Path, PathBuf};

/// The environment variable naming the storage.conf to read instead.
pub const ENV_STORAGE_CONF: &str = "CONTAINERS_STORAGE_CONF";

/// The locations read from storage.conf, hutch's directory below each.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Chosen {
    /// The store: `GRAPHROOT/hutch`.
    pub root: Option<PathBuf>,
    /// The run directory: `RUNROOT/hutch`.
    pub runroot: Option<PathBuf>,
    /// The file they came from.
    pub file: Option<PathBuf>,
}

/// The user's facts the paths may name.
pub struct Who<'a> {
    pub home: &'a Path,
    pub uid: u32,
    pub user: &'a str,
}

#[derive(serde::Deserialize, Default)]
struct Raw {
    #[serde(default)]
    storage: RawStorage,
}

#[derive(serde::Deserialize, Default)]
struct RawStorage {
    graphroot: Option<String>,
    runroot: Option<String>,
    rootless_storage_path: Option<String>,
}

/// What storage.conf chooses for the user `who`: `explicit` is
/// `CONTAINERS_STORAGE_CONF`, `config_home` the user's config directory,
/// `etc` the system's. A file that does not parse is reported through
/// `warn` and chooses nothing.
pub fn read(
    explicit: Option<&Path>,
    config_home: &Path,
    etc: &Path,
    who: &Who<'_>,
    warn: &mut dyn FnMut(String),
) -> Chosen {
    let user_file = config_home.join("containers/storage.conf");
    let (file, is_users) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None if user_file.is_file() => (user_file, true),
        None => (etc.join("containers/storage.conf"), false),
    };
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Chosen::default();
    };
    let raw: Raw = match toml::from_str(&text) {
        Ok(r) => r,
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default();
            warn(format!(
                "{} does not parse ({first}): its store locations are not used",
                file.display()
            ));
            return Chosen::default();
        }
    };
    let s = raw.storage;
    // A user's own file chooses with graphroot; the system's names the
    // rootless users' store with rootless_storage_path (its graphroot and
    // runroot are root's).
    let graph = match is_users {
        true => s.graphroot.or(s.rootless_storage_path),
        false => s.rootless_storage_path,
    };
    let run = s.runroot.filter(|_| is_users);
    let place = |v: Option<String>| {
        v.map(|v| expand(&v, who))
            .filter(|p| p.is_absolute())
            .map(|p| p.join("hutch"))
    };
    let chosen = Chosen {
        root: place(graph),
        runroot: place(run),
        file: None,
    };
    match chosen.root.is_some() || chosen.runroot.is_some() {
        true => Chosen {
            file: Some(file),
            ..chosen
        },
        false => Chosen::default(),
    }
}

/// `value` with `$HOME`, `$UID` and `$USER` (and their `${...}` forms)
/// replaced, as containers/storage does for rootless paths.
fn expand(value: &str, who: &Who<'_>) -> PathBuf {
    let home = who.home.to_string_lossy();
    let uid = who.uid.to_string();
    let mut out = value.to_string();
    for (name, with) in [("HOME", home.as_ref()), ("UID", &uid), ("USER", who.user)] {
        out = out
            .replace(&format!("${{{name}}}"), with)
            .replace(&format!("${name}"), with);
    }
    PathBuf::from(out)
}

/// What the user's containers-storage.conf chooses ;
/// a file that does not parse is warned about and chooses nothing.
pub fn for_user(config_home: &Path, home: &Path, uid: u32) -> Chosen {
    let explicit = std::env::var_os(ENV_STORAGE_CONF)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let user = std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
                .ok()
                .flatten()
                .map(|u| u.name)
        });
    let who = Who {
        home,
        uid,
        user: user.as_deref().unwrap_or_default(),
    };
    read(
        explicit.as_deref(),
        config_home,
        Path::new("/etc"),
        &who,
        &mut |w| log::warn!("{w}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(user: Option<&str>, system: Option<&str>) -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config");
        let etc = dir.path().join("etc");
        for (base, text) in [(&config, user), (&etc, system)] {
            std::fs::create_dir_all(base.join("containers")).unwrap();
            if let Some(t) = text {
                std::fs::write(base.join("containers/storage.conf"), t).unwrap();
            }
        }
        (dir, config, etc)
    }

    fn who() -> Who<'static> {
        Who {
            home: Path::new("/home/ann"),
            uid: 1001,
            user: "ann",
        }
    }

    fn read_quiet(explicit: Option<&Path>, config: &Path, etc: &Path) -> (Chosen, Vec<String>) {
        let mut warned = Vec::new();
        let c = read(explicit, config, etc, &who(), &mut |w| warned.push(w));
        (c, warned)
    }

    #[test]
    fn the_users_file_chooses_with_graphroot_and_runroot() {
        let user = "[storage]\ndriver = \"overlay\"\ngraphroot = \"/scratch/$USER/store\"\nrunroot = \"/run/user/$UID/containers\"\n";
        let system = "[storage]\nrootless_storage_path = \"/local/$USER\"\n";
        let (_d, config, etc) = setup(Some(user), Some(system));
        let (c, warned) = read_quiet(None, &config, &etc);
        assert_eq!(c.root, Some(PathBuf::from("/scratch/ann/store/hutch")));
        assert_eq!(
            c.runroot,
            Some(PathBuf::from("/run/user/1001/containers/hutch"))
        );
        assert_eq!(c.file, Some(config.join("containers/storage.conf")));
        assert!(warned.is_empty());
    }

    #[test]
    fn without_a_users_file_the_systems_rootless_path_is_used() {
        let system = "[storage]\ngraphroot = \"/var/lib/containers/storage\"\nrunroot = \"/run/containers/storage\"\nrootless_storage_path = \"${HOME}/../local/$UID\"\n";
        let (_d, config, etc) = setup(None, Some(system));
        let (c, _) = read_quiet(None, &config, &etc);
        assert_eq!(c.root, Some(PathBuf::from("/home/ann/../local/1001/hutch")));
        // root's run directory is not the user's.
        assert_eq!(c.runroot, None);
        let (_d, config, etc) = setup(None, Some("[storage]\ngraphroot = \"/var/lib/x\"\n"));
        assert_eq!(read_quiet(None, &config, &etc).0, Chosen::default());
        let (_d, config, etc) = setup(None, None);
        assert_eq!(read_quiet(None, &config, &etc).0, Chosen::default());
    }

    #[test]
    fn the_named_file_wins_and_bad_files_or_relative_paths_choose_nothing() {
        let (d, config, etc) = setup(Some("[storage]\ngraphroot = \"/a\"\n"), None);
        let named = d.path().join("named.conf");
        std::fs::write(&named, "[storage]\ngraphroot = \"/b\"\n").unwrap();
        let (c, _) = read_quiet(Some(&named), &config, &etc);
        assert_eq!(c.root, Some(PathBuf::from("/b/hutch")));
        std::fs::write(&named, "[storage\ngraphroot = ").unwrap();
        let (c, warned) = read_quiet(Some(&named), &config, &etc);
        assert_eq!(c, Chosen::default());
        assert!(warned[0].contains("does not parse"), "{warned:?}");
        std::fs::write(&named, "[storage]\ngraphroot = \"relative/dir\"\n").unwrap();
        assert_eq!(read_quiet(Some(&named), &config, &etc).0, Chosen::default());
    }
}
