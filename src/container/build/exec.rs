//! Running a build: the stages the target needs, in order, each from its
//! `FROM` through its instructions; every step ends as an unnamed image
//! (found again by its cache key), and the last one becomes the result.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::stages::{self, Base};
use super::{
    config, BuildEvent, BuildProgress, BuildRequest, ContainerfileSource, Error, StepError,
};
use crate::container::engine::Engine;
use crate::container::CreateRequest;
use crate::image::containerfile::ignore::Ignore;
use crate::image::containerfile::{self, words, Containerfile, Instruction, Kind};
use crate::image::Platform;
use crate::storage::{Digest, ImageRecord, LayerRef, Store};

/// The image a stage has so far.
#[derive(Debug, Clone)]
pub(super) struct Current {
    /// Its whole config.
    pub config: Value,
    /// Its layers, bottom first.
    pub layers: Vec<LayerRef>,
    /// Its image, once committed (`FROM scratch` has none).
    pub id: Option<Digest>,
    /// What the next history entry's comment names (`FROM base`).
    pub parent: String,
    /// The stage's `ARG`s: name and value (`None`: declared, unset).
    pub args: Vec<(String, Option<String>)>,
}

impl Current {
    /// Looks a variable up for expansion: `ENV` first, then `ARG`s.
    pub fn lookup(&self, name: &str) -> Option<String> {
        if let Some((_, v)) = config::env(&self.config)
            .into_iter()
            .find(|(k, _)| k == name)
        {
            return Some(v);
        }
        self.args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    }

    /// The `ARG`s with values, in order, the last of a name winning.
    pub fn arg_values(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (k, v) in &self.args {
            out.retain(|(o, _)| o != k);
            if let Some(v) = v {
                out.push((k.clone(), v.clone()));
            }
        }
        out
    }

    /// The shell of shell-form commands (`SHELL`, else `/bin/sh -c`).
    pub fn shell(&self) -> Vec<String> {
        config::strings(&self.config, "Shell")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()])
    }
}

/// A build in progress.
pub(super) struct Build<'a> {
    pub engine: &'a Engine,
    pub store: &'a Store,
    pub req: &'a BuildRequest,
    pub progress: &'a dyn BuildProgress,
    pub cf: Containerfile,
    /// How errors name the Containerfile.
    pub file_name: String,
    pub globals: Vec<(String, String)>,
    pub host: Platform,
    pub ignore: Ignore,
    /// The image each built stage ended with.
    pub built: Vec<Option<Digest>>,
    /// The stages counted in `[i/N]`: up to the target.
    pub stage_count: usize,
    /// The `--build-arg`s some `ARG` used.
    pub used_args: std::cell::RefCell<BTreeSet<String>>,
    /// The stage being built.
    pub current_stage: usize,
    /// How many layers and history entries the target stage's base had
    /// (what `--squash` keeps).
    pub target_base: (usize, usize),
}

impl Engine {
    /// Builds an image from `req` (`hutch build`) and returns its id.
    /// Must be called single-threaded (`RUN` starts containers).
    pub fn build(
        &self,
        req: &BuildRequest,
        progress: &dyn BuildProgress,
    ) -> Result<Digest, super::super::Error> {
        let host = Platform::host();
        if let Some(p) = &req.platform {
            let want = Platform::parse(p)?;
            if !want.is_met_by(&host) {
                return Err(boxed(Error::Platform {
                    want: p.clone(),
                    host: host.to_string(),
                }));
            }
        }
        crate::image::check_authfile(req.registry.authfile.as_deref())?;
        // A fetched context's directory lives as long as the build.
        let prepared = super::context::prepare(req).map_err(boxed)?;
        let req = match &prepared {
            Some((r, _)) => r,
            None => req,
        };
        let (file_name, text) = read_containerfile(req).map_err(boxed)?;
        let cf = containerfile::parse(&text).map_err(|source| {
            boxed(Error::Parse {
                file: file_name.clone(),
                source,
            })
        })?;
        let ignore = read_ignore(req).map_err(boxed)?;
        let platform = stages::platform_args(&host.os, &host.architecture, host.variant.as_deref());
        let globals = stages::global_args(&cf, &req.build_args, &platform).map_err(|source| {
            boxed(Error::Parse {
                file: file_name.clone(),
                source,
            })
        })?;
        let target = stages::target_index(&cf, req.target.as_deref())
            .ok_or_else(|| boxed(Error::UnknownTarget(req.target.clone().unwrap_or_default())))?;
        let mut needed = stages::needed(&cf, target, &globals).map_err(|source| {
            boxed(Error::Parse {
                file: file_name.clone(),
                source,
            })
        })?;
        if req.all_stages {
            needed.iter_mut().for_each(|n| *n = true);
        }
        let store = self.store()?;
        let mut b = Build {
            engine: self,
            store,
            req,
            progress,
            built: vec![None; cf.stages.len()],
            stage_count: target + 1,
            cf,
            file_name,
            globals,
            host,
            ignore,
            used_args: Default::default(),
            current_stage: 0,
            target_base: (0, 0),
        };
        for (i, is_needed) in needed.iter().enumerate().take(target + 1) {
            if *is_needed {
                let id = b.build_stage(i, i == target).map_err(boxed)?;
                b.built[i] = Some(id);
            }
        }
        b.warn_unused_args();
        let last = b.built[target].clone().expect("the target stage was built");
        let id = b.finish(last).map_err(boxed)?;
        b.deliver(&id).map_err(boxed)?;
        let name = req.tags.first().map_or(id.hex(), String::as_str);
        super::super::events::on_image(super::super::events::Status::Build, id.hex(), name);
        Ok(id)
    }
}

fn boxed(e: Error) -> super::super::Error {
    super::super::Error::Build(Box::new(e))
}

/// The Containerfile's name for errors and its text.
fn read_containerfile(req: &BuildRequest) -> Result<(String, String), Error> {
    let path = match &req.file {
        Some(ContainerfileSource::Text { name, text }) => return Ok((name.clone(), text.clone())),
        Some(ContainerfileSource::Path(p)) => p.clone(),
        None => {
            std::fs::metadata(&req.context).map_err(|source| Error::Context {
                path: req.context.clone(),
                source,
            })?;
            ["Containerfile", "Dockerfile"]
                .iter()
                .map(|n| req.context.join(n))
                .find(|p| p.is_file())
                .ok_or_else(|| Error::NoFile(req.context.clone()))?
        }
    };
    // Buildah runs a `*.in` Containerfile through the C preprocessor.
    let text = match path.extension().is_some_and(|e| e == "in") {
        true => super::finish::preprocess(&path, &req.cpp_flags)?,
        false => std::fs::read_to_string(&path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        })?,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    Ok((name, text))
}

/// The context's ignore patterns: `--ignorefile`, else `.containerignore`,
/// else `.dockerignore`.
fn read_ignore(req: &BuildRequest) -> Result<Ignore, Error> {
    let meta = std::fs::metadata(&req.context).map_err(|source| Error::Context {
        path: req.context.clone(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Context {
            path: req.context.clone(),
            source: std::io::Error::from_raw_os_error(libc::ENOTDIR),
        });
    }
    let candidates = match &req.ignore_file {
        Some(p) => vec![p.clone()],
        None => vec![
            req.context.join(".containerignore"),
            req.context.join(".dockerignore"),
        ],
    };
    for path in candidates {
        match std::fs::read_to_string(&path) {
            Ok(text) => return Ok(Ignore::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && req.ignore_file.is_none() => {}
            Err(source) => return Err(Error::ReadFile { path, source }),
        }
    }
    Ok(Ignore::default())
}

impl Build<'_> {
    /// The `[i/N]` of stage `index`, when there are several.
    fn stage_tag(&self, index: usize) -> Option<(usize, usize)> {
        (self.stage_count > 1).then_some((index + 1, self.stage_count))
    }

    /// The error of a failed step.
    pub fn step_error(&self, text: &str, line: usize, e: StepError) -> Error {
        Error::Step {
            step: text.to_string(),
            file: self.file_name.clone(),
            line,
            source: Box::new(e),
        }
    }

    /// Runs stage `index` and returns the image it ends with.
    fn build_stage(&mut self, index: usize, is_final: bool) -> Result<Digest, Error> {
        self.current_stage = index;
        let stage = self.cf.stages[index].clone();
        let count = stage.instructions.len() + 1;
        let from_err =
            |b: &Build<'_>, e: StepError| b.step_error(&stage.from.text, stage.from.line, e);
        let base = match (&self.req.from, index) {
            (Some(image), 0) => Base::Image(image.clone()),
            _ => stages::base_of(&self.cf, index, &self.globals)
                .map_err(|e| from_err(self, e.into()))?,
        };
        let alias = stage
            .name
            .as_ref()
            .map(|n| format!(" AS {n}"))
            .unwrap_or_default();
        let text = match &base {
            Base::Stage(j) => format!("FROM {}", self.built_id(*j).hex()),
            Base::Image(name) => format!("FROM {name}{alias}"),
            Base::Scratch => format!("FROM scratch{alias}"),
        };
        self.progress.event(BuildEvent::Step {
            stage: self.stage_tag(index),
            index: 1,
            count,
            text: &text,
        });
        let mut cur = self
            .start(&stage.from, &base)
            .map_err(|e| from_err(self, e))?;
        if is_final {
            let history = cur.config["history"].as_array().map_or(0, Vec::len);
            self.target_base = (cur.layers.len(), history);
        }
        if let Some(triggers) = config::strings(&cur.config, "OnBuild").filter(|t| !t.is_empty()) {
            self.run_triggers(&mut cur, &triggers)
                .map_err(|e| from_err(self, e))?;
        }
        for (i, ins) in stage.instructions.iter().enumerate() {
            self.progress.event(BuildEvent::Step {
                stage: self.stage_tag(index),
                index: i + 2,
                count,
                text: &ins.text,
            });
            let is_last = i + 1 == stage.instructions.len();
            self.step(&mut cur, ins)
                .map_err(|e| self.step_error(&ins.text, ins.line, e))?;
            let id = cur.id.clone().expect("a step commits its image");
            if self.req.layers && !(is_final && is_last) {
                self.progress.event(BuildEvent::Committed(&id));
            }
        }
        match cur.id {
            Some(id) => Ok(id),
            // `FROM scratch` and nothing else: an empty image.
            None => self
                .commit(&mut cur, None, "", None)
                .map_err(|e| self.step_error(&stage.from.text, stage.from.line, e)),
        }
    }

    /// The image stage `index` ended with.
    fn built_id(&self, index: usize) -> Digest {
        self.built[index]
            .clone()
            .expect("stages are built before the stages that use them")
    }

    /// The image a stage starts from.
    fn start(&self, from: &containerfile::From, base: &Base) -> Result<Current, StepError> {
        if let Some(p) = &from.platform {
            let lookup = |n: &str| {
                self.globals
                    .iter()
                    .rev()
                    .find(|(k, _)| k == n)
                    .map(|(_, v)| v.clone())
            };
            let p = words::expand(p, self.cf.escape, &lookup)?;
            let want = Platform::parse(&p).map_err(|e| StepError::Engine(Box::new(e.into())))?;
            if !want.is_met_by(&self.host) {
                return Err(StepError::Invalid(format!(
                    "--platform={p}: hutch builds only for this host's platform, {}",
                    self.host
                )));
            }
        }
        let (rec, parent) = match base {
            Base::Scratch => {
                let h = &self.host;
                return Ok(Current {
                    config: config::scratch(&h.os, &h.architecture, h.variant.as_deref()),
                    layers: Vec::new(),
                    id: None,
                    parent: "scratch".into(),
                    args: Vec::new(),
                });
            }
            Base::Stage(j) => {
                let id = self.built_id(*j);
                (self.load(&id)?, id.short().to_string())
            }
            Base::Image(name) => (self.pull_with_retries(name)?, name.clone()),
        };
        let config = serde_json::from_slice(&rec.config).unwrap_or_else(|_| json!({}));
        Ok(Current {
            config,
            layers: rec.layers,
            id: Some(rec.id),
            parent,
            args: Vec::new(),
        })
    }

    /// The local image `name`, or the one pulled for it as `--pull` says;
    /// with `--pull=newer` the local one when the pull fails.
    pub fn pull(&self, name: &str) -> Result<ImageRecord, StepError> {
        let mut req = CreateRequest {
            image: name.to_string(),
            pull: self.req.pull,
            registry: self.req.registry.clone(),
            quiet: self.req.quiet,
            ..CreateRequest::default()
        };
        let maps = self.engine.user_maps()?;
        let pulled = self.engine.image_for(self.store, &req, maps, self.progress);
        match pulled {
            Err(e) if self.req.pull_newer => {
                req.pull = crate::image::PullPolicy::Never;
                self.engine
                    .image_for(self.store, &req, maps, self.progress)
                    .map_err(|_| e.into())
            }
            other => Ok(other?),
        }
    }

    /// The record of image `id`.
    pub fn load(&self, id: &Digest) -> Result<ImageRecord, StepError> {
        self.store.find_image(&id.to_string())?.ok_or_else(|| {
            StepError::Invalid(format!("image {} vanished during the build", id.short()))
        })
    }

    /// Runs a base image's `ONBUILD` triggers, then drops them (they are
    /// not inherited further).
    fn run_triggers(&mut self, cur: &mut Current, triggers: &[String]) -> Result<(), StepError> {
        let text = format!("FROM scratch\n{}\n", triggers.join("\n"));
        let parsed = containerfile::parse(&text)?;
        let mut cleared = cur.config.clone();
        config::inner(&mut cleared).remove("OnBuild");
        cur.config = cleared;
        for ins in &parsed.stages[0].instructions {
            self.step(cur, ins)?;
        }
        Ok(())
    }

    /// Expands `text` with the variables in scope at this step.
    pub fn expand(&self, cur: &Current, text: &str) -> Result<String, StepError> {
        Ok(words::expand(text, self.cf.escape, &|n| cur.lookup(n))?)
    }

    /// Expands `text` into words with the variables in scope.
    pub fn expand_words(&self, cur: &Current, text: &str) -> Result<Vec<String>, StepError> {
        Ok(words::expand_words(text, self.cf.escape, &|n| {
            cur.lookup(n)
        })?)
    }

    /// Runs one instruction on `cur`, leaving the image it made there.
    fn step(&mut self, cur: &mut Current, ins: &Instruction) -> Result<(), StepError> {
        match &ins.kind {
            Kind::Run {
                flags,
                command,
                heredocs,
            } => self.run(cur, ins, flags, command, heredocs),
            Kind::Copy {
                is_add,
                flags,
                words,
                heredocs,
            } => self.copy(cur, ins, *is_add, flags, words, heredocs),
            Kind::Arg(args) => {
                for (name, default) in args {
                    let given = self.req.build_args.iter().rev().find(|(k, _)| k == name);
                    let value = match given {
                        Some((_, v)) => {
                            self.used_args.borrow_mut().insert(name.clone());
                            Some(v.clone())
                        }
                        None => match default {
                            Some(d) => Some(self.expand(cur, d)?),
                            // A global or predefined one of that name.
                            None => self
                                .globals
                                .iter()
                                .rev()
                                .find(|(k, _)| k == name)
                                .map(|(_, v)| v.clone()),
                        },
                    };
                    cur.args.push((name.clone(), value));
                }
                let names: Vec<&str> = args.iter().map(|(n, _)| n.as_str()).collect();
                self.config_step(cur, ins, &format!("ARG {}", names.join(" ")), |_| Ok(()))
            }
            _ => self.config_instruction(cur, ins),
        }
    }

    /// A step that only changes the config: `edit` changes it, the step is
    /// committed (or found in the cache) with history `created_by`.
    pub fn config_step(
        &mut self,
        cur: &mut Current,
        ins: &Instruction,
        shown: &str,
        edit: impl FnOnce(&mut Value) -> Result<(), StepError>,
    ) -> Result<(), StepError> {
        let key = self.cache_key(cur, &ins.text, &[]);
        if self.use_cache(cur, key.as_ref())? {
            return Ok(());
        }
        let mut config = cur.config.clone();
        edit(&mut config)?;
        cur.config = config;
        let created_by = format!("/bin/sh -c #(nop) {shown}");
        self.commit(cur, None, &created_by, key.as_ref())?;
        Ok(())
    }

    /// Commits `cur` (with `layer` added) as a new image, records it under
    /// cache `key`, and returns its id.
    pub fn commit(
        &self,
        cur: &mut Current,
        layer: Option<LayerRef>,
        created_by: &str,
        key: Option<&Digest>,
    ) -> Result<Digest, StepError> {
        let created = crate::runtime::clock::now_rfc3339();
        let comment = format!("FROM {}", cur.parent);
        if let Some(l) = &layer {
            config::push_diff_id(&mut cur.config, &l.diff_id.to_string());
        }
        if !created_by.is_empty() {
            config::push_history(
                &mut cur.config,
                &created,
                created_by,
                &comment,
                layer.is_none(),
            );
        } else {
            cur.config["created"] = json!(created);
        }
        cur.layers.extend(layer);
        let id = crate::files::put_built_image(
            self.store,
            crate::files::BuiltImage {
                layers: cur.layers.clone(),
                config: &cur.config,
                is_docker: self.req.is_docker,
                annotations: &[],
                names: Vec::new(),
            },
        )?;
        if let Some(k) = key {
            self.store.build_cache_put(k, &id)?;
        }
        cur.parent = id.short().to_string();
        cur.id = Some(id.clone());
        Ok(id)
    }

    /// On a cache hit for `key`: `cur` becomes the cached image, and
    /// `true`.
    pub fn use_cache(&self, cur: &mut Current, key: Option<&Digest>) -> Result<bool, StepError> {
        let Some(key) = key.filter(|_| !self.req.no_cache) else {
            return Ok(false);
        };
        let Some(id) = self.store.build_cache_get(key)? else {
            return Ok(false);
        };
        let rec = self.load(&id)?;
        if let Some(ttl) = self.req.cache_ttl {
            let created = rec.created.as_deref();
            let born = created.and_then(crate::container::logread::parse_timestamp);
            let now =
                crate::container::logread::parse_timestamp(&crate::runtime::clock::now_rfc3339());
            let is_fresh = matches!((born, now), (Some(b), Some(n)) if i128::from(n - b) < ttl.as_nanos() as i128);
            if !is_fresh {
                return Ok(false);
            }
        }
        self.progress.event(BuildEvent::UsingCache(&id));
        cur.config = serde_json::from_slice(&rec.config).unwrap_or_else(|_| json!({}));
        cur.layers = rec.layers;
        cur.parent = id.short().to_string();
        cur.id = Some(id);
        Ok(true)
    }

    /// Warns of `--build-arg`s no `ARG` used, as Podman does.
    fn warn_unused_args(&self) {
        let used = self.used_args.borrow();
        let unused: Vec<&str> = self
            .req
            .build_args
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| {
                !used.contains(*k)
                    && !self.cf.global_args.iter().any(|(g, _)| g == k)
                    && !stages::PROXY_ARGS.contains(k)
            })
            .collect();
        if !unused.is_empty() {
            self.progress.warn(&format!(
                "one or more build args were not consumed: [{}]",
                unused.join(" ")
            ));
        }
    }

    /// `--squash` (the layers above the target's base) or `--squash-all`
    /// (every layer) as one layer, `config` changed to match.
    fn squash(&self, rec: &ImageRecord, config: &mut Value) -> Result<Vec<LayerRef>, StepError> {
        let (base, base_history) = match self.req.squash_all {
            true => (0, 0),
            false => self.target_base,
        };
        let base = base.min(rec.layers.len());
        if rec.layers.len() - base <= 1 && !self.req.squash_all {
            return Ok(rec.layers.clone());
        }
        let mut layers = rec.layers[..base].to_vec();
        if rec.layers.len() > base {
            let maps = self.engine.user_maps()?;
            let merged =
                crate::files::squash_layers(self.store, &rec.layers[base..], base > 0, maps)?;
            layers.push(merged);
        }
        let ids: Vec<Value> = layers
            .iter()
            .map(|l| json!(l.diff_id.to_string()))
            .collect();
        config["rootfs"] = json!({"type": "layers", "diff_ids": ids});
        let mut history: Vec<Value> = config["history"]
            .as_array()
            .map(|h| h.iter().take(base_history).cloned().collect())
            .unwrap_or_default();
        if self.req.squash_all {
            history.clear();
        }
        let created = crate::runtime::clock::now_rfc3339();
        let how = match self.req.squash_all {
            true => "squash-all",
            false => "squash",
        };
        history.push(json!({"created": created, "created_by": format!("hutch build --{how}")}));
        config["history"] = json!(history);
        Ok(layers)
    }

    /// The final image: the target's last image with `--label`s,
    /// `--annotation`s and squashing applied, then named.
    fn finish(&self, last: Digest) -> Result<Digest, Error> {
        let tag = self.stage_tag(self.stage_count - 1);
        let first = self.req.tags.first().map(String::as_str);
        self.progress.event(BuildEvent::Committing {
            stage: tag,
            name: first,
        });
        let id = self
            .finish_image(last)
            .map_err(|e| Error::Finish(Box::new(e)))?;
        self.progress.event(BuildEvent::Committed(&id));
        for t in &self.req.tags {
            let name = crate::files::normalize_name(t)
                .ok_or_else(|| Error::Flag(format!("invalid tag {t:?}")))?;
            self.store
                .add_name(&id, &name)
                .map_err(|e| Error::Finish(Box::new(e.into())))?;
            self.progress.event(BuildEvent::Tagged(&name));
        }
        Ok(id)
    }

    fn finish_image(&self, last: Digest) -> Result<Digest, StepError> {
        let req = self.req;
        let is_plain = req.labels.is_empty()
            && req.annotations.is_empty()
            && req.env.is_empty()
            && req.unsetenv.is_empty()
            && !req.omit_history
            && !req.squash
            && !req.squash_all
            && !super::finish::changes_image(req);
        if is_plain {
            return Ok(last);
        }
        let rec = self.load(&last)?;
        let mut config: Value = serde_json::from_slice(&rec.config).unwrap_or_else(|_| json!({}));
        let labels: Vec<(String, Value)> = req
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        if !labels.is_empty() {
            config::add_to_map(&mut config, "Labels", &labels);
        }
        for (k, v) in &req.env {
            config::set_env(&mut config, k, v);
        }
        if !req.unsetenv.is_empty() {
            let kept: Vec<Value> = config::env(&config)
                .into_iter()
                .filter(|(k, _)| !req.unsetenv.contains(k))
                .map(|(k, v)| json!(format!("{k}={v}")))
                .collect();
            config::set(&mut config, "Env", Value::Array(kept));
        }
        config["created"] = json!(crate::runtime::clock::now_rfc3339());
        let mut layers = rec.layers.clone();
        if req.squash || req.squash_all {
            layers = self.squash(&rec, &mut config)?;
        }
        let base = match req.squash_all {
            true => (0, 0),
            false => self.target_base,
        };
        self.finish_config(&mut config, &mut layers, base)?;
        if req.omit_history {
            if let Some(root) = config.as_object_mut() {
                root.remove("history");
            }
        }
        Ok(crate::files::put_built_image(
            self.store,
            crate::files::BuiltImage {
                layers,
                config: &config,
                is_docker: req.is_docker,
                annotations: &req.annotations,
                names: Vec::new(),
            },
        )?)
    }
}
