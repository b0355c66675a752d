//! `COPY` and `ADD`: the sources are gathered into one tar (from the
//! context with `.containerignore` applied, from another stage or image
//! with `--from`, or here-documents), its digest keys the cache, and on a
//! miss it is put below the destination in a container of the stage's
//! image, whose changes become the layer (on an empty `FROM scratch`
//! stage the tar itself is the layer). Docker's naming rules: a
//! directory gives its contents, a destination ending in `/` (or several
//! sources) is a directory, a single file may be renamed.

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::Digest as _;

use super::config;
use super::exec::{Build, Current};
use super::stages;
use super::{NamedContext, StepError};
use crate::files::build::{self as gather, Exclude, Sources};
use crate::image::containerfile::{self, ignore, Heredoc, Instruction};
use crate::storage::Digest;

/// What a `COPY` or `ADD` does (see `copy_spec`).
struct CopySpec {
    /// `COPY` or `ADD`, for messages.
    what: &'static str,
    chown: Option<String>,
    chmod: Option<u32>,
    /// The source paths (not here-documents), expanded.
    paths: Vec<String>,
    origin: Origin,
    /// The destination as written (expanded) and made absolute.
    dest_word: String,
    dest: String,
    /// How many sources.
    count: usize,
    /// Whether the destination is a directory to copy into.
    is_dir_dest: bool,
    is_add: bool,
}

/// Where the sources came from.
enum Origin {
    Context,
    /// A `--build-context NAME=DIR`.
    Dir(PathBuf),
    Image(Digest),
    Heredocs(Vec<(String, Vec<u8>)>),
}

/// A writer that hashes what it writes on.
struct Hashing<W: Write> {
    inner: W,
    hasher: sha2::Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl Build<'_> {
    /// What a `COPY` or `ADD` copies, from where, to where.
    fn copy_spec(
        &self,
        cur: &Current,
        is_add: bool,
        flags: &containerfile::Flags,
        words: &[String],
        heredocs: &[Heredoc],
    ) -> Result<CopySpec, StepError> {
        let what = if is_add { "ADD" } else { "COPY" };
        for (name, _) in flags {
            let is_known =
                matches!(name.as_str(), "chown" | "chmod" | "link") || (name == "from" && !is_add);
            if !is_known {
                return Err(StepError::Invalid(format!(
                    "{what} --{name}: hutch's builder does not support it"
                )));
            }
        }
        let chown = match containerfile::flag(flags, "chown") {
            Some(c) => Some(self.expand(cur, &c)?),
            None => None,
        };
        let chmod = match containerfile::flag(flags, "chmod") {
            Some(m) => {
                let m = self.expand(cur, &m)?;
                Some(
                    u32::from_str_radix(&m, 8)
                        .ok()
                        .filter(|m| *m <= 0o7777)
                        .ok_or_else(|| {
                            StepError::Invalid(format!(
                                "{what} --chmod={m}: use octal permission bits such as 0755"
                            ))
                        })?,
                )
            }
            None => None,
        };
        let mut expanded = Vec::new();
        for w in words {
            expanded.push(self.expand(cur, w)?);
        }
        let dest_word = expanded.pop().unwrap_or_default();
        let mut docs = Vec::new();
        let mut paths = Vec::new();
        for w in expanded {
            match w
                .strip_prefix("<<")
                .map(|n| n.trim_start_matches('-').trim_matches(['"', '\'']))
            {
                Some(name) => {
                    let Some(h) = heredocs.iter().find(|h| h.name == name) else {
                        return Err(StepError::Invalid(format!(
                            "{what}: no here-document {name}"
                        )));
                    };
                    let text = match h.expands {
                        true => self.expand(cur, &h.content)?,
                        false => h.content.clone(),
                    };
                    docs.push((h.name.clone(), text.into_bytes()));
                }
                None => paths.push(w),
            }
        }
        if is_add {
            if let Some(url) = paths.iter().find(|p| is_url(p)) {
                return Err(StepError::AddUrl(url.clone()));
            }
        }
        let origin = match (containerfile::flag(flags, "from"), docs.is_empty()) {
            (Some(_), false) => {
                return Err(StepError::Invalid(format!(
                    "{what} --from cannot copy here-documents"
                )))
            }
            (Some(f), true) => self.source_of(cur, &f)?,
            (None, false) if paths.is_empty() => Origin::Heredocs(docs),
            (None, false) => {
                return Err(StepError::Invalid(format!(
                    "{what}: here-documents and files cannot be mixed in one instruction"
                )))
            }
            (None, true) => Origin::Context,
        };
        let workdir = config::text(&cur.config, "WorkingDir");
        let dest = config::workdir(workdir.as_deref(), &dest_word);
        let count = match &origin {
            Origin::Heredocs(d) => d.len(),
            _ => paths.len(),
        };
        let is_dir_dest = dest_word.ends_with('/')
            || dest_word.ends_with("/.")
            || dest_word == "."
            || count > 1
            || paths.iter().any(|p| p.contains(['*', '?', '[']));
        Ok(CopySpec {
            what,
            chown,
            chmod,
            paths,
            origin,
            dest_word,
            dest,
            count,
            is_dir_dest,
            is_add,
        })
    }

    /// `COPY` (`is_add` false) or `ADD`.
    pub fn copy(
        &mut self,
        cur: &mut Current,
        ins: &Instruction,
        is_add: bool,
        flags: &containerfile::Flags,
        words: &[String],
        heredocs: &[Heredoc],
    ) -> Result<(), StepError> {
        let CopySpec {
            what,
            chown,
            chmod,
            paths,
            origin,
            dest_word,
            dest,
            count,
            is_dir_dest,
            is_add,
        } = self.copy_spec(cur, is_add, flags, words, heredocs)?;
        let sources = Sources {
            paths: paths.clone(),
            expand_archives: is_add,
            owner: match origin {
                Origin::Image(_) => None,
                _ => Some((0, 0)),
            },
            mode: chmod,
        };
        // 1. Gather the sources into a temp file, hashed.
        let mut tmp = self.store.temp_file()?;
        let mut source_is_dir = false;
        let digest = {
            let mut out = Hashing {
                inner: std::io::BufWriter::with_capacity(1 << 16, &mut tmp),
                hasher: sha2::Sha256::new(),
            };
            match &origin {
                Origin::Context | Origin::Dir(_) => {
                    // The ignore file is the main context's only.
                    let (ctx, ignore) = match &origin {
                        Origin::Dir(d) => (d, None),
                        _ => (&self.req.context, Some(&self.ignore)),
                    };
                    let is_excluded =
                        |p: &Path| ignore.is_some_and(|i| i.is_excluded(&p.to_string_lossy()));
                    let exclude = Exclude {
                        is_excluded: &is_excluded,
                        has_exceptions: ignore.is_some_and(|i| i.has_exceptions()),
                    };
                    gather::gather_host(ctx, &sources, ignore::glob_match, &exclude, &mut out)?;
                    if !is_dir_dest {
                        // An archive ADD unpacks goes into the destination.
                        source_is_dir = gather::kind_in_host(ctx, &paths[0])? == Some(true)
                            || (is_add && gather::is_archive_in_host(ctx, &paths[0])?);
                    }
                }
                Origin::Image(id) => {
                    let c = self.file_container(id)?;
                    gather::gather_container(
                        self.layout(&c)?,
                        &sources,
                        ignore::glob_match,
                        &mut out,
                    )?;
                    if !is_dir_dest {
                        let path = config::workdir(None, &paths[0]);
                        source_is_dir = gather::kind_in(self.layout(&c)?, &path)? == Some(true);
                    }
                }
                Origin::Heredocs(docs) => gather::write_files(docs, chmod, &mut out)?,
            }
            out.flush().map_err(StepError::Temp)?;
            Digest::from_sha256(out.hasher.finalize().as_slice())
        };
        let kind = match (&origin, count, source_is_dir) {
            (_, n, _) if n > 1 => "multi",
            (_, _, true) => "dir",
            _ => "file",
        };
        let created_by = format!(
            "/bin/sh -c #(nop) {what} {kind}:{} in {dest_word} ",
            digest.hex()
        );
        let mut inputs = vec![digest.to_string(), chown.clone().unwrap_or_default()];
        if let Origin::Image(id) = &origin {
            inputs.push(id.to_string());
        }
        let key = self.cache_key(cur, &ins.text, &inputs);
        if self.use_cache(cur, key.as_ref())? {
            return Ok(());
        }
        // 2. Put it below the destination.
        let layer = self.put(
            cur,
            &mut tmp,
            &dest,
            is_dir_dest || source_is_dir,
            chown.as_deref(),
        )?;
        self.commit(cur, Some(layer), &created_by, key.as_ref())?;
        Ok(())
    }

    /// What `COPY --from=NAME` reads: an earlier stage, else a
    /// `--build-context` of that name, else an image (pulled as `--pull`
    /// says).
    fn source_of(&self, cur: &Current, from: &str) -> Result<Origin, StepError> {
        let name = self.expand(cur, from)?;
        let is_stage = stages::stage_named(&self.cf, &name, self.current_stage).is_some();
        match self.named_context(&name).filter(|_| !is_stage) {
            Some(NamedContext::Dir(d)) => Ok(Origin::Dir(d.clone())),
            Some(NamedContext::Image(image)) => {
                Ok(Origin::Image(self.pull_with_retries(image)?.id))
            }
            // `context::prepare` made every remote context a directory.
            Some(NamedContext::Remote(url)) => Err(StepError::Invalid(format!(
                "the build context {url} was not fetched"
            ))),
            None => Ok(Origin::Image(self.source_image(cur, from)?)),
        }
    }

    /// The `--build-context` named `name`.
    pub fn named_context(&self, name: &str) -> Option<&NamedContext> {
        self.req
            .contexts
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
    }

    /// The image `COPY --from=NAME` reads: an earlier stage, else an
    /// image (pulled as `--pull` says).
    pub(super) fn source_image(&self, cur: &Current, from: &str) -> Result<Digest, StepError> {
        let from = self.expand(cur, from)?;
        if let Some(i) = stages::stage_named(&self.cf, &from, self.current_stage) {
            if let Some(id) = &self.built[i] {
                return Ok(id.clone());
            }
        }
        Ok(self.pull_with_retries(&from)?.id)
    }

    /// Puts the tar in `tmp` below `dest` of `cur`'s image and returns the
    /// layer that makes: into `dest` when `is_dir` (or it is a directory
    /// there), else as the file `dest`.
    fn put(
        &self,
        cur: &Current,
        tmp: &mut File,
        dest: &str,
        is_dir: bool,
        chown: Option<&str>,
    ) -> Result<crate::storage::LayerRef, StepError> {
        tmp.seek(SeekFrom::Start(0)).map_err(StepError::Temp)?;
        let dest_path = PathBuf::from(dest);
        let leaf = dest_path.file_name().map(OsStr::to_os_string);
        let parent = dest_path
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "/".into());
        let Some(image) = &cur.id else {
            // An empty image: the tar, placed, is the layer.
            let owner = match chown {
                Some(c) => Some(numeric_owner(c)?),
                None => None,
            };
            let (dir, rename) = match is_dir || leaf.is_none() {
                true => (dest.to_string(), None),
                false => (parent, leaf),
            };
            let mut placed = self.store.temp_file()?;
            let prefix = Path::new(dir.trim_start_matches('/'));
            gather::retarget(tmp, &mut placed, prefix, rename.as_deref(), owner)?;
            let maps = self.engine.user_maps()?;
            return Ok(crate::files::layer_from_tar(self.store, &mut placed, maps)?);
        };
        let c = self.file_container(image)?;
        let into_dest =
            is_dir || leaf.is_none() || gather::kind_in(self.layout(&c)?, dest)? == Some(true);
        if into_dest {
            gather::put_tree(self.layout(&c)?, dest, tmp, chown)?;
        } else {
            let mut placed = self.store.temp_file()?;
            gather::retarget(tmp, &mut placed, Path::new(""), leaf.as_deref(), None)?;
            placed.seek(SeekFrom::Start(0)).map_err(StepError::Temp)?;
            gather::put_tree(self.layout(&c)?, &parent, &mut placed, chown)?;
        }
        Ok(crate::files::layer_from_upper(
            self.store,
            &self.layout(&c)?,
            &[],
        )?)
    }
}

/// Whether an `ADD` source is a URL (or a git repository).
fn is_url(source: &str) -> bool {
    ["http://", "https://", "git://", "git@", "ssh://"]
        .iter()
        .any(|p| source.starts_with(p))
}

/// `--chown=UID[:GID]` where no `/etc/passwd` can name users (an empty
/// image).
fn numeric_owner(spec: &str) -> Result<(u32, u32), StepError> {
    let (u, g) = spec.split_once(':').unwrap_or((spec, spec));
    match (u.parse(), g.parse()) {
        (Ok(u), Ok(g)) => Ok((u, g)),
        _ => Err(StepError::Invalid(format!(
            "--chown={spec}: an empty image has no /etc/passwd to look names up in; use numbers"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_numeric_owners() {
        assert!(is_url("https://example.com/x.tar"));
        assert!(!is_url("dir/http:x"));
        assert_eq!(numeric_owner("10").unwrap(), (10, 10));
        assert_eq!(numeric_owner("10:20").unwrap(), (10, 20));
        assert!(numeric_owner("app").is_err());
    }
}
