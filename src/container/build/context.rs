//! Contexts that are not a directory on the host (`build -`, a git
//! repository, the URL of a tarball, and `--build-context NAME=URL`),
//! made into one for the build, as Buildah's `TempDirForURL` does: a
//! private (0700) temporary directory under `$TMPDIR` (else `/var/tmp`),
//! removed when the build ends. Which URL is cloned and which is
//! downloaded follows Buildah: `git://`, `git@` and a URL whose path ends
//! in `.git` are git repositories (Docker's `#REF:SUBDIR` fragment picks
//! the branch, tag or commit and the directory); `github.com/USER/REPO`
//! is GitHub's tarball of `master`; any other `http(s)://` URL is
//! downloaded, and a tar (plain or compressed) is unpacked while anything
//! else becomes the `Dockerfile` of an empty context. Standard input is
//! read the same way. Archives are unpacked with the copy rules (nothing
//! written outside the directory, links resolved beneath it, no device
//! nodes); a clone runs the `git` command, shallow.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use super::{BuildRequest, ContainerfileSource, Error, NamedContext, RemoteContext};

/// How much a downloaded context may hold (compressed), as Podman's
/// unlimited download would not: a larger one is refused.
const DOWNLOAD_LIMIT: u64 = 8 << 30;

/// A context made for the build; its directory is removed when dropped.
#[derive(Debug)]
pub(super) struct Fetched {
    root: PathBuf,
}

impl Fetched {
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.root
    }
}

impl Drop for Fetched {
    fn drop(&mut self) {
        remove_tree(&self.root);
    }
}

/// Where a remote context comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Remote {
    /// A git repository: its URL, the ref to check out and the directory
    /// in it that is the context.
    Git {
        url: String,
        reference: Option<String>,
        subdir: Option<String>,
    },
    /// A file to download: a tar that is the context (its directory
    /// `subdir`), or a Containerfile.
    Download { url: String, subdir: Option<String> },
}

/// Whether the `CONTEXT` argument (or a `--build-context` value) names
/// a remote context rather than a directory.
pub fn is_remote(context: &str) -> bool {
    ["http://", "https://", "git://", "git@", "github.com/"]
        .iter()
        .any(|p| context.starts_with(p))
}

/// How a remote context is fetched (see the module's comment).
fn classify(text: &str) -> Remote {
    let (url, fragment) = match text.split_once('#') {
        Some((u, f)) => (u, Some(f)),
        None => (text, None),
    };
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split(['?'])
        .next()
        .unwrap_or("");
    let is_git = url.starts_with("git://") || url.starts_with("git@") || path.ends_with(".git");
    if is_git {
        let (reference, subdir) = match fragment {
            Some(f) => {
                let (r, s) = f.split_once(':').unwrap_or((f, ""));
                (
                    Some(r.to_string()).filter(|r| !r.is_empty()),
                    Some(s.to_string()).filter(|s| !s.is_empty()),
                )
            }
            None => (None, None),
        };
        return Remote::Git {
            url: url.to_string(),
            reference,
            subdir,
        };
    }
    if let Some(repo) = text.strip_prefix("github.com/") {
        let base = repo.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        return Remote::Download {
            url: format!("https://{text}/archive/master.tar.gz"),
            subdir: Some(format!("{base}-master")),
        };
    }
    Remote::Download {
        url: text.to_string(),
        subdir: None,
    }
}

/// Makes every remote context of `req` a directory: returns the request
/// with those directories in its place, and what removes them.
pub(super) fn prepare(req: &BuildRequest) -> Result<Option<(BuildRequest, Vec<Fetched>)>, Error> {
    let is_named_remote = req
        .contexts
        .iter()
        .any(|(_, c)| matches!(c, NamedContext::Remote(_)));
    if req.remote.is_none() && !is_named_remote {
        return Ok(None);
    }
    let mut out = BuildRequest {
        remote: None,
        ..req.clone()
    };
    let mut fetched = Vec::new();
    if let Some(remote) = &req.remote {
        let (f, dir) = match remote {
            RemoteContext::Stdin(bytes) => fetch_stdin(bytes)?,
            RemoteContext::Url(url) => fetch(url)?,
        };
        fetched.push(f);
        // A relative -f names a file of the fetched context, as in Podman.
        if let Some(ContainerfileSource::Path(p)) = &out.file {
            let inside = dir.join(p);
            if p.is_relative() && !p.exists() && inside.exists() {
                out.file = Some(ContainerfileSource::Path(inside));
            }
        }
        out.context = dir;
    }
    for (_, c) in out.contexts.iter_mut() {
        if let NamedContext::Remote(url) = c {
            let (f, dir) = fetch(url)?;
            fetched.push(f);
            *c = NamedContext::Dir(dir);
        }
    }
    Ok(Some((out, fetched)))
}

/// Where temporary directories go: `$TMPDIR`, else `/var/tmp`.
fn temp_base() -> PathBuf {
    std::env::var_os("TMPDIR")
        .filter(|t| !t.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp"))
}

/// A new private (0700) temporary directory, removed when dropped.
pub(super) fn temp_dir() -> std::io::Result<Fetched> {
    let root = nix::unistd::mkdtemp(&temp_base().join("hutch-build-XXXXXX"))?;
    Ok(Fetched { root })
}

/// A private temporary directory for a context.
fn temp_root() -> Result<Fetched, Error> {
    temp_dir().map_err(|source| Error::TempContext {
        path: temp_base(),
        source,
    })
}

/// `build -`: a tar is the context, anything else its Containerfile.
fn fetch_stdin(bytes: &Arc<Vec<u8>>) -> Result<(Fetched, PathBuf), Error> {
    let f = temp_root()?;
    let dir = f.root.join("context");
    make_dir(&dir)?;
    unpack_or_containerfile(&mut &bytes[..], &dir, "standard input")?;
    Ok((f, dir))
}

/// A git repository or a download.
fn fetch(text: &str) -> Result<(Fetched, PathBuf), Error> {
    let f = temp_root()?;
    let dir = f.root.join("context");
    make_dir(&dir)?;
    let sub = match classify(text) {
        Remote::Git {
            url,
            reference,
            subdir,
        } => {
            clone(&url, reference.as_deref(), &dir)?;
            subdir
        }
        Remote::Download { url, subdir } => {
            let path = f.root.join("download");
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(|source| Error::TempContext {
                    path: path.clone(),
                    source,
                })?;
            crate::image::download(&url, &mut file, DOWNLOAD_LIMIT).map_err(|source| {
                Error::Download {
                    url: url.clone(),
                    source,
                }
            })?;
            file.seek(SeekFrom::Start(0))
                .map_err(|source| Error::TempContext {
                    path: path.clone(),
                    source,
                })?;
            unpack_or_containerfile(&mut std::io::BufReader::new(file), &dir, &url)?;
            subdir
        }
    };
    let dir = match sub {
        Some(s) => subdir(&dir, &s)?,
        None => dir,
    };
    Ok((f, dir))
}

/// Unpacks the tar in `input` into `dir`, or, when it is no tar, writes
/// it as `dir/Dockerfile` (Buildah's rule).
fn unpack_or_containerfile(
    input: &mut dyn std::io::Read,
    dir: &Path,
    what: &str,
) -> Result<(), Error> {
    let mut head = Vec::new();
    input
        .take(1 << 20)
        .read_to_end(&mut head)
        .map_err(|source| Error::ReadContext {
            what: what.to_string(),
            source,
        })?;
    let mut whole = std::io::Cursor::new(head).chain(input);
    match crate::files::unpack_context(&mut whole, dir) {
        Ok(()) => Ok(()),
        Err(crate::files::Error::NotATar) => {
            // `whole` was read only as far as its first block: read it
            // again from the start.
            let (mut head, rest) = whole.into_inner();
            head.set_position(0);
            let mut text = Vec::new();
            head.chain(rest)
                .read_to_end(&mut text)
                .map_err(|source| Error::ReadContext {
                    what: what.to_string(),
                    source,
                })?;
            let path = dir.join("Dockerfile");
            std::fs::write(&path, text).map_err(|source| Error::TempContext { path, source })
        }
        Err(source) => Err(Error::UnpackContext {
            what: what.to_string(),
            source,
        }),
    }
}

/// `git clone`, shallow, of `reference` (the default branch when `None`)
/// of `url` into the empty directory `dir`, with its submodules.
fn clone(url: &str, reference: Option<&str>, dir: &Path) -> Result<(), Error> {
    let fetch_ref = reference.unwrap_or("HEAD");
    // git reads options after its operands too: a ref such as
    // `--upload-pack=CMD` must stay a ref.
    if fetch_ref.starts_with('-') {
        return Err(Error::Git {
            url: url.to_string(),
            step: "fetch".into(),
            message: format!("{fetch_ref:?} is not a branch, tag or commit"),
        });
    }
    let steps: [&[&str]; 4] = [
        &["init", "-q"],
        &["remote", "add", "--", "origin", url],
        &["fetch", "-q", "--depth=1", "--", "origin", fetch_ref],
        &["checkout", "-q", "FETCH_HEAD"],
    ];
    for args in steps {
        git(url, dir, args)?;
    }
    if dir.join(".gitmodules").exists() {
        git(
            url,
            dir,
            &[
                "submodule",
                "update",
                "-q",
                "--init",
                "--recursive",
                "--depth=1",
            ],
        )?;
    }
    Ok(())
}

/// Runs `git ARGS` in `dir`; its error output is the error's.
fn git(url: &str, dir: &Path, args: &[&str]) -> Result<(), Error> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        // Never ask for a password on a terminal the build does not own.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => Error::GitMissing {
                url: url.to_string(),
            },
            _ => Error::TempContext {
                path: PathBuf::from("git"),
                source,
            },
        })?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let message = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::Git {
            url: url.to_string(),
            step: args[0].to_string(),
            message,
        });
    }
    Ok(())
}

/// The directory `sub` of the fetched context `dir`, checked not to lead
/// out of it.
fn subdir(dir: &Path, sub: &str) -> Result<PathBuf, Error> {
    let bad = |why: String| Error::ContextSubdir {
        subdir: sub.to_string(),
        why,
    };
    let base = std::fs::canonicalize(dir).map_err(|e| bad(e.to_string()))?;
    let full = std::fs::canonicalize(base.join(sub.trim_start_matches('/')))
        .map_err(|e| bad(e.to_string()))?;
    if !full.starts_with(&base) {
        return Err(bad("it leads out of the context".into()));
    }
    if !full.is_dir() {
        return Err(bad("it is not a directory".into()));
    }
    Ok(full)
}

fn make_dir(dir: &Path) -> Result<(), Error> {
    std::fs::create_dir(dir).map_err(|source| Error::TempContext {
        path: dir.to_path_buf(),
        source,
    })
}

/// Removes `root` and everything below it, first giving the owner
/// access to directories an archive made unwritable or unreadable.
fn remove_tree(root: &Path) {
    fn open_up(dir: &Path) {
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                open_up(&e.path());
            }
        }
    }
    if std::fs::remove_dir_all(root).is_err() {
        open_up(root);
        let _ = std::fs::remove_dir_all(root);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_cloned_or_downloaded_as_buildah_decides() {
        assert!(is_remote("git://h/r.git"));
        assert!(is_remote("https://h/x.tar.gz"));
        assert!(is_remote("git@github.com:u/r.git"));
        assert!(is_remote("github.com/u/r"));
        assert!(!is_remote("./dir"));
        assert!(!is_remote("dir/http://x"));
        let git = |url: &str, r: Option<&str>, s: Option<&str>| Remote::Git {
            url: url.into(),
            reference: r.map(Into::into),
            subdir: s.map(Into::into),
        };
        assert_eq!(classify("git://h/r"), git("git://h/r", None, None));
        assert_eq!(
            classify("https://h/r.git#v1:sub/dir"),
            git("https://h/r.git", Some("v1"), Some("sub/dir"))
        );
        assert_eq!(
            classify("git@h:u/r.git#:docs"),
            git("git@h:u/r.git", None, Some("docs"))
        );
        assert_eq!(
            classify("http://h/r.git?x=1#main"),
            git("http://h/r.git?x=1", Some("main"), None)
        );
        assert_eq!(
            classify("https://h/ctx.tar.gz"),
            Remote::Download {
                url: "https://h/ctx.tar.gz".into(),
                subdir: None
            }
        );
        assert_eq!(
            classify("github.com/u/app"),
            Remote::Download {
                url: "https://github.com/u/app/archive/master.tar.gz".into(),
                subdir: Some("app-master".into())
            }
        );
    }

    #[test]
    fn a_ref_that_looks_like_an_option_is_refused_before_git_runs() {
        let d = tempfile::tempdir().unwrap();
        let e = clone("git://h/r.git", Some("--upload-pack=touch x"), d.path()).unwrap_err();
        assert!(e.to_string().contains("is not a branch"), "{e}");
        assert!(!d.path().join(".git").exists());
    }

    #[test]
    fn a_subdirectory_may_not_lead_out() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("ctx/sub")).unwrap();
        std::os::unix::fs::symlink("/etc", d.path().join("ctx/out")).unwrap();
        let ctx = d.path().join("ctx");
        assert!(subdir(&ctx, "sub").unwrap().ends_with("ctx/sub"));
        assert!(subdir(&ctx, "../").is_err());
        assert!(subdir(&ctx, "out").is_err());
        assert!(subdir(&ctx, "missing").is_err());
    }
}
