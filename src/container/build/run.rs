//! `RUN`: the command runs in a container the engine creates from the
//! stage's current image (its env, working directory and user, the
//! stage's `ARG`s added to the env), with the build's `--network`,
//! security, limits and volumes; its output goes to the builder's output.
//! Its changes then become a layer and the container is removed.
//! `RUN --mount` adds secrets, tmpfs, bind mounts of the context and
//! cache volumes to that container, whose mount points stay out of the
//! layer.

use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::exec::{Build, Current};
use super::StepError;
use crate::container::CreateRequest;
use crate::files::build as gather;
use crate::files::Layout;
use crate::image::containerfile::{self, Command, Heredoc, Instruction};
use crate::storage::Digest;

/// A container a step made, removed when dropped.
pub(super) struct StepContainer<'a> {
    build: &'a Build<'a>,
    pub id: String,
    maps: crate::userns::IdMaps,
}

impl Drop for StepContainer<'_> {
    fn drop(&mut self) {
        self.build
            .engine
            .discard(&self.id, &self.maps, self.build.progress);
    }
}

impl<'a> Build<'a> {
    /// A container of image `image` that is never started: for its files
    /// (`COPY`, `ADD`, `COPY --from`).
    pub fn file_container(&'a self, image: &Digest) -> Result<StepContainer<'a>, StepError> {
        let req = CreateRequest {
            image: image.hex().to_string(),
            pull: crate::image::PullPolicy::Never,
            quiet: true,
            process: crate::container::ProcessRequest {
                command: vec!["/".into()],
                entrypoint: Some(String::new()),
                ..Default::default()
            },
            network: crate::container::NetworkRequest {
                network: Some("none".into()),
                ..Default::default()
            },
            ..CreateRequest::default()
        };
        let (c, plan) = self.create(&req)?;
        drop(plan);
        Ok(c)
    }

    /// Creates a container from `req`; on a spec that cannot be made it is
    /// removed again.
    fn create(
        &'a self,
        req: &CreateRequest,
    ) -> Result<(StepContainer<'a>, crate::container::Plan), StepError> {
        let created = self.engine.create_planned(req, false, self.progress)?;
        let c = StepContainer {
            build: self,
            id: created.id,
            maps: created.maps,
        };
        let plan = created.plan?;
        Ok((c, plan))
    }

    /// Where a step container's files are.
    pub fn layout(&self, c: &StepContainer<'_>) -> Result<Layout, StepError> {
        let maps = self.engine.user_maps()?;
        Ok(crate::container::files::layout_of(self.store, &c.id, maps)?)
    }

    /// `RUN`.
    pub fn run(
        &mut self,
        cur: &mut Current,
        ins: &Instruction,
        flags: &containerfile::Flags,
        command: &Command,
        heredocs: &[Heredoc],
    ) -> Result<(), StepError> {
        let mut mounts = Mounts::default();
        for (name, value) in flags {
            match name.as_str() {
                "mount" => self.add_mount(cur, &mut mounts, value)?,
                "network" => {
                    let v = self.expand(cur, value)?;
                    match v.as_str() {
                        "default" => {}
                        "none" | "host" => mounts.network = Some(v),
                        _ => {
                            return Err(StepError::Invalid(format!(
                                "RUN --network={v}: use default, none or host"
                            )))
                        }
                    }
                }
                _ => {
                    return Err(StepError::Invalid(format!(
                        "RUN --{name}: hutch's builder does not support it"
                    )))
                }
            }
        }
        let argv = match command {
            Command::Exec(argv) => argv.clone(),
            Command::Shell(s) => {
                let mut argv = cur.shell();
                argv.push(script(s, heredocs));
                argv
            }
        };
        let args = cur.arg_values();
        let env_names: Vec<String> = super::config::env(&cur.config)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let env: Vec<String> = args
            .iter()
            .filter(|(k, _)| !env_names.contains(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let shown = match args.is_empty() {
            true => argv.join(" "),
            false => {
                let pairs: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("|{} {} {}", args.len(), pairs.join(" "), argv.join(" "))
            }
        };
        let inputs: Vec<String> = heredocs.iter().map(|h| h.content.clone()).collect();
        // A copy's temporary path differs every time: its image keys it.
        let keyed: Vec<&String> = mounts
            .volume
            .iter()
            .filter(|v| {
                !mounts
                    .copies
                    .iter()
                    .any(|c| v.starts_with(&*c.path().to_string_lossy()))
            })
            .collect();
        let mut key_text = vec![
            ins.text.clone(),
            format!("{keyed:?}"),
            mounts.copied.join(" "),
        ];
        key_text.extend(inputs);
        let key = self.cache_key(cur, &shown, &key_text);
        if self.use_cache(cur, key.as_ref())? {
            return Ok(());
        }
        let layer = self.run_container(cur, argv, env, mounts)?;
        self.commit(cur, Some(layer), &shown, key.as_ref())?;
        Ok(())
    }

    /// Runs `argv` in a container of `cur` and returns its changes as a
    /// layer.
    fn run_container(
        &self,
        cur: &Current,
        argv: Vec<String>,
        env: Vec<String>,
        mounts: Mounts,
    ) -> Result<crate::storage::LayerRef, StepError> {
        let Some(image) = &cur.id else {
            return Err(StepError::Invalid(
                "RUN needs files to run: the stage is FROM scratch with nothing added yet".into(),
            ));
        };
        let mut req = self.req.run.clone();
        req.image = image.hex().to_string();
        req.pull = crate::image::PullPolicy::Never;
        req.quiet = true;
        req.name = None;
        req.remove = false;
        req.process.command = argv;
        req.process.entrypoint = Some(String::new());
        req.process.env.extend(env);
        req.mounts.volume.extend(mounts.volume.iter().cloned());
        req.mounts.tmpfs.extend(mounts.tmpfs);
        if let Some(n) = mounts.network {
            req.network.network = Some(n);
        }
        if self.req.quiet {
            // Only stdin attached: the command's output goes nowhere.
            req.tuning.attach = vec!["stdin".into()];
        }
        // The -v destinations are mount points too.
        let mut targets = mounts.targets;
        targets.extend(req.mounts.volume.iter().filter_map(|v| {
            let dst = v.split(':').nth(1)?;
            dst.starts_with('/').then(|| PathBuf::from(dst))
        }));
        let (c, plan) = self.create(&req)?;
        let code = crate::container::run(&plan, self.store);
        // Its network helper, killed at the exit, is waited for here:
        // the build runs on, and would collect zombies.
        crate::net::reap_stopped(true);
        let code = code?;
        if code != 0 {
            return Err(StepError::Exit(code));
        }
        let layout = self.layout(&c)?;
        Ok(crate::files::layer_from_upper(
            self.store, &layout, &targets,
        )?)
    }

    /// Adds one `RUN --mount=...` to `mounts`.
    fn add_mount(&self, cur: &Current, mounts: &mut Mounts, spec: &str) -> Result<(), StepError> {
        let spec = self.expand(cur, spec)?;
        let mut kind = "bind".to_string();
        let mut opts: Vec<(String, String)> = Vec::new();
        for part in spec.split(',') {
            let (k, v) = part.split_once('=').unwrap_or((part, "true"));
            match k {
                "type" => kind = v.to_string(),
                "target" | "dst" | "destination" => opts.push(("target".into(), v.into())),
                "source" | "src" => opts.push(("source".into(), v.into())),
                _ => opts.push((k.to_string(), v.to_string())),
            }
        }
        let get = |k: &str| {
            opts.iter()
                .rev()
                .find(|(o, _)| o == k)
                .map(|(_, v)| v.clone())
        };
        let bad = |why: &str| StepError::Invalid(format!("RUN --mount={spec}: {why}"));
        let workdir = super::config::text(&cur.config, "WorkingDir");
        let target = |t: String| super::config::workdir(workdir.as_deref(), &t);
        match kind.as_str() {
            "secret" => {
                let id = get("id")
                    .or_else(|| {
                        get("target").and_then(|t| t.rsplit('/').next().map(str::to_string))
                    })
                    .ok_or_else(|| bad("a secret needs id="))?;
                let dst = target(get("target").unwrap_or_else(|| format!("/run/secrets/{id}")));
                match self.req.secrets.iter().find(|s| s.id == id) {
                    Some(s) => {
                        let src = std::fs::canonicalize(&s.src).map_err(|e| {
                            bad(&format!("the secret's file {}: {e}", s.src.display()))
                        })?;
                        mounts.volume.push(format!("{}:{dst}:ro", src.display()));
                        mounts.targets.push(PathBuf::from(dst));
                    }
                    None if get("required").as_deref() == Some("true") => {
                        return Err(bad(&format!("no --secret id={id} was given")))
                    }
                    None => {}
                }
            }
            "tmpfs" => {
                let dst = target(get("target").ok_or_else(|| bad("a tmpfs needs target="))?);
                mounts.tmpfs.push(dst.clone());
                mounts.targets.push(PathBuf::from(dst));
            }
            "bind" => {
                let dst = target(get("target").ok_or_else(|| bad("a bind mount needs target="))?);
                let rel = get("source").unwrap_or_default();
                let src = match get("from") {
                    None => context_path(&self.req.context, &rel).map_err(|why| bad(&why))?,
                    Some(f) => self
                        .source_path(cur, &f, &rel, mounts)
                        .map_err(|e| bad(&crate::error::render_chain(&e)))?,
                };
                let is_rw = matches!(get("rw").or(get("readwrite")).as_deref(), Some("true"));
                let mode = if is_rw { "rw" } else { "ro" };
                mounts
                    .volume
                    .push(format!("{}:{dst}:{mode}", src.display()));
                mounts.targets.push(PathBuf::from(dst));
            }
            "cache" => {
                let dst = target(get("target").ok_or_else(|| bad("a cache needs target="))?);
                let is_ro = matches!(get("ro").or(get("readonly")).as_deref(), Some("true"));
                let mode = if is_ro { "ro" } else { "rw" };
                match get("from") {
                    // Buildah's rule: the path of that stage or image is
                    // the cache, writable, and what is written is dropped.
                    Some(f) => {
                        let rel = get("source").unwrap_or_default();
                        let src = self
                            .source_path(cur, &f, &rel, mounts)
                            .map_err(|e| bad(&crate::error::render_chain(&e)))?;
                        mounts
                            .volume
                            .push(format!("{}:{dst}:{mode}", src.display()));
                    }
                    None => {
                        let id = get("id").unwrap_or_else(|| dst.clone());
                        let name = format!(
                            "hutch-build-cache-{}",
                            &Digest::of(id.as_bytes()).hex()[..16]
                        );
                        mounts.volume.push(format!("{name}:{dst}:{mode}"));
                    }
                }
                mounts.targets.push(PathBuf::from(dst));
            }
            "ssh" => {
                return Err(bad(
                    "hutch does not forward an SSH agent into builds (--ssh is refused too): pass a key with --secret and type=secret instead",
                ))
            }
            other => return Err(bad(&format!("unknown mount type {other:?}"))),
        }
        Ok(())
    }
}

impl Build<'_> {
    /// The host path a `RUN --mount from=NAME,source=REL` mounts: `REL` in
    /// the `--build-context` directory `NAME`, else in a copy of the
    /// files of the stage or image `NAME` (a `--build-context` image
    /// included), made in a private temporary directory that `mounts`
    /// keeps until the step ends.
    fn source_path(
        &self,
        cur: &Current,
        from: &str,
        rel: &str,
        mounts: &mut Mounts,
    ) -> Result<PathBuf, StepError> {
        let name = self.expand(cur, from)?;
        let is_stage = super::stages::stage_named(&self.cf, &name, self.current_stage).is_some();
        let image = match self.named_context(&name).filter(|_| !is_stage) {
            Some(super::NamedContext::Dir(d)) => {
                return context_path(d, rel).map_err(StepError::Invalid)
            }
            Some(super::NamedContext::Image(image)) => self.pull_with_retries(image)?.id,
            Some(super::NamedContext::Remote(url)) => {
                return Err(StepError::Invalid(format!(
                    "the build context {url} was not fetched"
                )))
            }
            None => self.source_image(cur, &name)?,
        };
        let path = super::config::workdir(None, rel);
        let c = self.file_container(&image)?;
        let Some(is_dir) = gather::kind_in(self.layout(&c)?, &path)? else {
            return Err(StepError::Invalid(format!("{path} is not in {name}")));
        };
        let sources = gather::Sources {
            paths: vec![path.clone()],
            expand_archives: false,
            owner: None,
            mode: None,
        };
        let mut tmp = self.store.temp_file()?;
        {
            let mut w = std::io::BufWriter::with_capacity(1 << 16, &mut tmp);
            gather::gather_container(
                self.layout(&c)?,
                &sources,
                crate::image::containerfile::ignore::glob_match,
                &mut w,
            )?;
            w.flush().map_err(StepError::Temp)?;
        }
        tmp.seek(SeekFrom::Start(0)).map_err(StepError::Temp)?;
        let dir = super::context::temp_dir().map_err(StepError::Temp)?;
        crate::files::unpack_context(&mut std::io::BufReader::new(tmp), dir.path())?;
        let root = dir.path().to_path_buf();
        mounts.copies.push(dir);
        mounts.copied.push(format!("{image}:{path}"));
        match is_dir {
            true => Ok(root),
            false => Ok(root.join(Path::new(&path).file_name().unwrap_or_default())),
        }
    }
}

/// `rel` in the context directory `context` as a host path without
/// symlinks, checked not to leave the context.
fn context_path(context: &std::path::Path, rel: &str) -> Result<PathBuf, String> {
    let ctx = std::fs::canonicalize(context)
        .map_err(|e| format!("the context {}: {e}", context.display()))?;
    let full = std::fs::canonicalize(ctx.join(rel.trim_start_matches('/')))
        .map_err(|e| format!("{rel}: {e}"))?;
    if !full.starts_with(&ctx) {
        return Err(format!("{rel}: it leads out of the build context"));
    }
    Ok(full)
}

/// What `RUN --mount` and `--network` add to a `RUN` container.
#[derive(Debug, Default)]
struct Mounts {
    volume: Vec<String>,
    tmpfs: Vec<String>,
    /// The mount points, left out of the layer.
    targets: Vec<PathBuf>,
    network: Option<String>,
    /// Copies of stages' files that `from=` mounts; removed when the
    /// step ends.
    copies: Vec<super::context::Fetched>,
    /// What each copy was made from (`IMAGE:PATH`), for the cache key.
    copied: Vec<String>,
}

/// The shell script of a shell-form `RUN` with here-documents: the shell
/// reads them after the command; `RUN <<EOF` alone runs the document.
fn script(command: &str, heredocs: &[Heredoc]) -> String {
    if heredocs.is_empty() {
        return command.to_string();
    }
    let only_markers = command.split_whitespace().all(|w| w.starts_with("<<"));
    if only_markers && heredocs.len() == 1 {
        return heredocs[0].content.clone();
    }
    let mut s = format!("{command}\n");
    for h in heredocs {
        s.push_str(&h.content);
        s.push_str(&h.name);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(name: &str, content: &str) -> Heredoc {
        Heredoc {
            name: name.into(),
            content: content.into(),
            expands: true,
        }
    }

    #[test]
    fn heredocs_become_the_script_or_follow_the_command() {
        assert_eq!(script("echo hi", &[]), "echo hi");
        assert_eq!(script("<<EOF", &[doc("EOF", "a\nb\n")]), "a\nb\n");
        assert_eq!(
            script("cat <<EOF > /x", &[doc("EOF", "a\n")]),
            "cat <<EOF > /x\na\nEOF\n"
        );
    }
}
