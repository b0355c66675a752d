//! Seccomp: which profile confines a container, compiling it to BPF with
//! libseccomp, and caching the compiled program in the run directory.
//!
//! Runs in the parent, before the clone: the child only installs the
//! `Program` it is handed (`sys::seccomp`). It must not print, and it never
//! compiles in a forked child.

mod cache;
mod compile;
mod profile;

use std::borrow::Cow;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use compile::CompileError;
pub use profile::ProfileError;

use crate::sys::seccomp::Program;
use profile::Target;

/// The built-in profile: an allowlist in the OCI/Docker JSON format.
pub const DEFAULT_PROFILE: &str = include_str!("default.json");

/// The largest profile file we read; Docker's default profile is 20 KiB.
const MAX_PROFILE_SIZE: u64 = 1 << 20;

/// The directory under the run directory that holds compiled filters.
const CACHE_DIR: &str = "seccomp";

/// A seccomp profile that cannot be read, compiled or cached.
#[derive(Debug, Error)]
pub enum Error {
    /// `--security-opt seccomp=PATH` names a file we cannot read.
    #[error("reading seccomp profile {path}")]
    ReadProfile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `seccomp=PATH` names a directory, FIFO or device.
    #[error("seccomp profile {path} is not a regular file")]
    NotAFile { path: PathBuf },
    /// `seccomp=PATH` names a file larger than any real profile.
    #[error("seccomp profile {path} is larger than 1 MiB")]
    ProfileTooLarge { path: PathBuf },
    /// The profile is not a valid profile.
    #[error("{what}")]
    Profile {
        what: String,
        #[source]
        source: ProfileError,
    },
    /// libseccomp refused the profile.
    #[error("compiling {what}")]
    Compile {
        what: String,
        #[source]
        source: CompileError,
    },
    /// The compiled filter could not be cached.
    #[error("caching the seccomp filter in {path}")]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A filter the kernel cannot take (more than BPF_MAXINSNS instructions).
    #[error("{what} compiles to a filter the kernel cannot load")]
    TooLarge { what: String },
}

impl crate::error::Diagnose for Error {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            Error::ReadProfile { .. }
            | Error::NotAFile { .. }
            | Error::ProfileTooLarge { .. }
            | Error::Profile { .. } => Some(
                "give the path of a JSON seccomp profile in the OCI/Docker format, or --security-opt seccomp=unconfined".into(),
            ),
            Error::Cache { .. } => Some("check that the run directory is writable (--runroot)".into()),
            Error::Compile { .. } | Error::TooLarge { .. } => None,
        }
    }
}

/// Where a container's seccomp profile comes from.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The built-in profile, `DEFAULT_PROFILE`.
    #[default]
    Default,
    /// No filter (`seccomp=unconfined`, `--privileged`).
    Unconfined,
    /// `seccomp=PATH` as given, not read yet; `resolve` reads it.
    File(PathBuf),
    /// A profile read from `path` when the container was created.
    Inline {
        /// The file it came from, for messages.
        path: PathBuf,
        /// Its JSON text.
        json: String,
    },
}

/// A container's seccomp plan; part of its stored `Security`.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Seccomp {
    /// The profile.
    pub source: Source,
    /// Where compiled filters are cached (`RUNROOT/seccomp`); without one
    /// every start compiles.
    pub cache_dir: Option<PathBuf>,
}

impl Seccomp {
    /// What the profile is called in messages.
    fn describe(&self) -> String {
        match &self.source {
            Source::File(path) | Source::Inline { path, .. } => {
                format!("seccomp profile {}", path.display())
            }
            _ => "the built-in seccomp profile".to_string(),
        }
    }
}

/// Completes `seccomp` when a container is created: reads a profile file
/// into the plan (so later starts do not depend on it), sets the cache
/// under `runroot`, and compiles the filter for `caps`, which checks the
/// profile and warms the cache.
pub fn resolve(seccomp: &mut Seccomp, caps: u64, runroot: &Path) -> Result<(), Error> {
    if let Source::File(path) = &seccomp.source {
        seccomp.source = Source::Inline {
            path: path.clone(),
            json: read_profile(path)?,
        };
    }
    seccomp.cache_dir = Some(runroot.join(CACHE_DIR));
    program(seccomp, caps).map(drop)
}

/// Reads the profile file `path`: a regular file of at most
/// `MAX_PROFILE_SIZE` bytes (opened without blocking, so a FIFO or device
/// cannot hang or flood us).
fn read_profile(path: &Path) -> Result<String, Error> {
    let read_err = |source| Error::ReadProfile {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(read_err)?;
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(Error::NotAFile {
            path: path.to_path_buf(),
        });
    }
    let mut json = String::new();
    file.take(MAX_PROFILE_SIZE + 1)
        .read_to_string(&mut json)
        .map_err(read_err)?;
    if json.len() as u64 > MAX_PROFILE_SIZE {
        return Err(Error::ProfileTooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(json)
}

/// The filter to install for a container with `caps`, from the cache or
/// freshly compiled (and then cached); `None` when unconfined.
pub fn program(seccomp: &Seccomp, caps: u64) -> Result<Option<Program>, Error> {
    let json = match &seccomp.source {
        Source::Unconfined => return Ok(None),
        Source::Default => Cow::Borrowed(DEFAULT_PROFILE),
        Source::Inline { json, .. } => Cow::Borrowed(json.as_str()),
        // Only `resolve` sees a file; read it now if it did not run.
        Source::File(path) => Cow::Owned(read_profile(path)?),
    };
    let json = json.as_ref();
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let target = Target::native(caps, &release);
    let what = seccomp.describe();
    let build = || -> Result<Vec<u8>, Error> {
        let profile =
            profile::parse_profile(json, &target.scmp_arch).map_err(|source| Error::Profile {
                what: what.clone(),
                source,
            })?;
        compile::compile(&profile, &target).map_err(|source| Error::Compile {
            what: what.clone(),
            source,
        })
    };
    let bytes = match &seccomp.cache_dir {
        Some(dir) => {
            let key = cache::key(json, &target, &release, env!("CARGO_PKG_VERSION"));
            cache::get_or_build(dir, &key, build)?
        }
        None => build()?,
    };
    Program::from_bytes(&bytes)
        .map(Some)
        .ok_or(Error::TooLarge { what })
}

/// Installs `program` on the calling process: the last privileged step of
/// a container's init or an exec (see `init`).
pub fn install(program: &Program) -> std::io::Result<()> {
    crate::sys::seccomp::install_filter(program)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::security;

    #[test]
    fn default_profile_compiles_for_default_and_all_caps() {
        for caps in [security::default_caps(), security::ALL_CAPS, 0] {
            let seccomp = Seccomp::default();
            let p = program(&seccomp, caps).unwrap().unwrap();
            assert!(
                p.instruction_count() > 100,
                "{} instructions",
                p.instruction_count()
            );
        }
    }

    #[test]
    fn default_profile_differs_with_sys_admin() {
        let a = program(&Seccomp::default(), security::default_caps())
            .unwrap()
            .unwrap();
        let b = program(&Seccomp::default(), security::ALL_CAPS)
            .unwrap()
            .unwrap();
        assert_ne!(a.instruction_count(), b.instruction_count());
    }

    #[test]
    fn unconfined_has_no_program() {
        let seccomp = Seccomp {
            source: Source::Unconfined,
            cache_dir: None,
        };
        assert!(program(&seccomp, 0).unwrap().is_none());
    }

    #[test]
    fn resolve_reads_the_file_and_names_it_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        std::fs::write(
            &good,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat","no_such_call"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
        )
        .unwrap();
        let unresolved = Seccomp {
            source: Source::File(good.clone()),
            cache_dir: None,
        };
        assert!(program(&unresolved, 0).unwrap().is_some());
        let mut seccomp = unresolved.clone();
        resolve(&mut seccomp, 0, dir.path()).unwrap();
        assert!(matches!(&seccomp.source, Source::Inline { path, .. } if *path == good));
        assert_eq!(seccomp.cache_dir, Some(dir.path().join("seccomp")));
        assert_eq!(
            std::fs::read_dir(dir.path().join("seccomp"))
                .unwrap()
                .count(),
            1
        );

        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"defaultAction":"SCMP_ACT_SOMETIMES"}"#).unwrap();
        let mut seccomp = Seccomp {
            source: Source::File(bad.clone()),
            cache_dir: None,
        };
        let e = resolve(&mut seccomp, 0, dir.path()).unwrap_err();
        assert_eq!(e.to_string(), format!("seccomp profile {}", bad.display()));
        assert!(matches!(e, Error::Profile { .. }));

        let mut seccomp = Seccomp {
            source: Source::File(dir.path().join("missing.json")),
            cache_dir: None,
        };
        let e = resolve(&mut seccomp, 0, dir.path()).unwrap_err();
        assert!(matches!(e, Error::ReadProfile { .. }), "{e:?}");

        for (path, want) in [
            ("/dev/zero", "is not a regular file"),
            ("/", "is not a regular file"),
        ] {
            let mut seccomp = Seccomp {
                source: Source::File(path.into()),
                cache_dir: None,
            };
            let e = resolve(&mut seccomp, 0, dir.path()).unwrap_err();
            assert_eq!(e.to_string(), format!("seccomp profile {path} {want}"));
        }
        let big = dir.path().join("big.json");
        std::fs::write(&big, vec![b' '; (MAX_PROFILE_SIZE + 1) as usize]).unwrap();
        let mut seccomp = Seccomp {
            source: Source::File(big.clone()),
            cache_dir: None,
        };
        let e = resolve(&mut seccomp, 0, dir.path()).unwrap_err();
        assert!(matches!(e, Error::ProfileTooLarge { .. }), "{e:?}");
    }
}
