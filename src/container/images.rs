//! The engine's image operations: pull, push, list and filter, remove,
//! tag and untag, history, save and load, import, export and prune.
//!
//! Each is an `impl Engine` method that opens the store and reads the id
//! maps through the engine; front ends only build the request and format
//! the result. Nothing here prints.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Engine, Error};
use crate::image::archive::{self, Format, LayerChoice, SaveItem};
use crate::image::import::{self, ImportOptions};
use crate::image::{self, PullOptions, PushOptions, Reporter};

pub use crate::image::archive::Loaded;
pub use crate::storage::{Digest, ImageRecord, Removed};

/// One parsed `images --filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageFilter {
    /// `reference=PATTERN`, `*` matching any run of characters.
    Reference(String),
    /// `dangling=true|false`: without names or not.
    Dangling(bool),
    /// `before=IMAGE`: added before it.
    Before(String),
    /// `since=IMAGE`: added after it.
    Since(String),
    /// `label=KEY` or `label=KEY=VALUE`.
    Label(String, Option<String>),
    /// `label!=KEY` or `label!=KEY=VALUE`: without such a label.
    NotLabel(String, Option<String>),
    /// `until=TIME`: created before it (nanoseconds since the epoch).
    Until(i64),
}

/// Where an archive or a tarball is read from.
pub enum Input<'a> {
    /// A file the engine opens.
    File(&'a Path),
    /// An open stream, such as standard input.
    Reader(&'a mut dyn Read),
}

/// What `import` makes of a tarball besides its layer.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// `--change` instructions for the image config.
    pub changes: Vec<String>,
    /// `-m`: the history entry's comment.
    pub message: Option<String>,
    /// The name to give the image, as the user typed it.
    pub name: Option<String>,
    /// The platform to record instead of the host's.
    pub platform: Option<crate::image::Platform>,
}

/// One row of an image's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryStep {
    /// The image id on the newest step, else `<missing>`.
    pub id: String,
    /// When the step ran, RFC 3339 (empty when unknown).
    pub created: String,
    /// The instruction that made it.
    pub created_by: String,
    /// The size of the layer it made (0 for an empty layer).
    pub size: u64,
    /// The step's comment.
    pub comment: String,
    /// The image's names on the newest step.
    pub tags: Vec<String>,
}

/// What `image prune` removed: each image's id and size.
pub type PrunedImages = Vec<(Digest, u64)>;

impl Engine {
    /// Pulls `name` (short or qualified) and returns the stored image.
    pub fn pull(
        &self,
        name: &str,
        opts: &PullOptions,
        reporter: &dyn Reporter,
    ) -> Result<ImageRecord, Error> {
        image::check_authfile(opts.authfile.as_deref())?;
        let maps = self.user_maps()?;
        let store = self.store()?;
        let rec = image::pull(self.paths(), store, name, opts, maps, reporter)?;
        super::events::on_image(super::events::Status::Pull, rec.id.hex(), name);
        Ok(rec)
    }

    /// Pushes stored image `name` to `destination` (default: its own
    /// name); returns the manifest digest, also written to `digestfile`.
    pub fn push(
        &self,
        name: &str,
        destination: Option<&str>,
        opts: &PushOptions,
        reporter: &dyn Reporter,
        digestfile: Option<&Path>,
    ) -> Result<Digest, Error> {
        image::check_authfile(opts.authfile.as_deref())?;
        let store = self.store()?;
        let pushed = image::push(self.paths(), store, name, destination, opts, reporter)?;
        let id = self.find_image(name).map(|i| i.id.hex().to_string());
        super::events::on_image(
            super::events::Status::Push,
            &id.unwrap_or_default(),
            destination.unwrap_or(name),
        );
        if let Some(path) = digestfile {
            std::fs::write(path, pushed.digest.to_string()).map_err(|source| {
                Error::WriteDigestFile {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
        }
        Ok(pushed.digest)
    }

    /// The stored image `name` names: an id or id prefix, a qualified name,
    /// or a short name through the search registries.
    pub fn find_image(&self, name: &str) -> Result<ImageRecord, Error> {
        let store = self.store()?;
        find(self, store, name)
    }

    /// The stored images, newest first, that pass the filters.
    pub fn list_images(&self, filters: &[ImageFilter]) -> Result<Vec<ImageRecord>, Error> {
        let store = self.store()?;
        let all = store.list_images().map_err(Error::Store)?;
        self.filter_stored(store, filters, &all)
    }

    /// The names each stored image has had, newest first, by image id
    /// (`images --history`).
    pub fn image_name_history(
        &self,
    ) -> Result<std::collections::HashMap<String, Vec<String>>, Error> {
        self.store()?.name_history().map_err(Error::Store)
    }

    /// Those of the stored `images` that pass the filters.
    fn filter_stored(
        &self,
        store: &crate::storage::Store,
        filters: &[ImageFilter],
        images: &[ImageRecord],
    ) -> Result<Vec<ImageRecord>, Error> {
        filter_images(filters, images, &|name| {
            image::find_local(self.paths(), store, name)
                .ok()
                .flatten()
                .map(|r| r.id)
        })
    }

    /// How many containers each image (by id, hex) is used by.
    pub fn image_users(&self) -> Result<std::collections::HashMap<String, usize>, Error> {
        let mut out = std::collections::HashMap::new();
        for c in self.store()?.list_containers().map_err(Error::Store)? {
            *out.entry(c.record.image_id.hex().to_string()).or_default() += 1;
        }
        Ok(out)
    }

    /// The intermediate images: unnamed ones that another image was built
    /// on (`build`'s steps), which `images` leaves out without `--all`,
    /// as Podman does.
    pub fn intermediate_images(&self) -> Result<std::collections::HashSet<Digest>, Error> {
        let store = self.store()?;
        let all = store.list_images().map_err(Error::Store)?;
        Ok(intermediates(&all))
    }

    /// The damaged image records, each as the error that names the image
    /// and what is wrong with it (`images` flags them and lists the rest).
    pub fn damaged_images(&self) -> Result<Vec<Error>, Error> {
        let store = self.store()?;
        Ok(store
            .damaged_images()
            .map_err(Error::Store)?
            .into_iter()
            .map(Error::Store)
            .collect())
    }

    /// Removes each image (a name only untags while others remain); with
    /// `force`, also the containers that use it. In order, as Podman prints
    /// them: an `Untagged` per name that goes and, when the image goes, a
    /// `Deleted` after its names; a failure does not stop the others.
    pub fn remove_images(
        &self,
        names: &[String],
        force: bool,
    ) -> Result<Vec<Result<Removed, Error>>, Error> {
        let store = self.store()?;
        let maps = self.user_maps()?;
        let ids = super::events::image_ids(store);
        let removed = names.iter().map(|name| -> Result<Vec<Removed>, Error> {
            let found = match image::lookup_local(self.paths(), store, name) {
                // A damaged record is removed by the name or id it
                // was found by.
                Err(image::Error::FindImage {
                    name: matched,
                    source: crate::storage::Error::ImageDamaged { id, .. },
                }) => {
                    if force {
                        if let Ok(id) = id.parse() {
                            self.remove_containers_of(&id)?;
                        }
                    }
                    return store
                        .remove_image(&matched, force, maps)
                        .map(|r| vec![r])
                        .map_err(Error::Store);
                }
                other => other?,
            };
            // The names that go with the image when it goes.
            let names_before = found
                .as_ref()
                .map(|f| f.image.names.clone())
                .unwrap_or_default();
            let with_names = |r: Removed| match r {
                Removed::Deleted(id) => names_before
                    .iter()
                    .cloned()
                    .map(Removed::Untagged)
                    .chain(std::iter::once(Removed::Deleted(id)))
                    .collect(),
                other => vec![other],
            };
            // A name resolves to the stored full name it matched; ids
            // stay ids.
            let target = match &found {
                Some(image::Found {
                    name: Some(full), ..
                }) => full.clone(),
                Some(f) => f.image.id.to_string(),
                None => name.clone(),
            };
            let Some(f) = found.as_ref().filter(|_| force) else {
                return store
                    .remove_image(&target, force, maps)
                    .map(with_names)
                    .map_err(Error::Store);
            };
            // The store refuses while any container uses the image: one
            // created since the containers were removed is removed too,
            // and the image tried again.
            let mut tries = 0;
            loop {
                self.remove_containers_of(&f.image.id)?;
                match store.remove_image(&target, force, maps) {
                    Err(crate::storage::Error::ImageInUse { .. }) if tries < 10 => tries += 1,
                    other => return other.map(with_names).map_err(Error::Store),
                }
            }
        });
        let results: Vec<Result<Removed, Error>> = removed
            .flat_map(|r| match r {
                Ok(list) => list.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            })
            .collect();
        results
            .iter()
            .flatten()
            .for_each(|r| super::events::on_image_removed(&ids, r));
        Ok(results)
    }

    /// With `rmi --force`: removes the containers that use image `id`,
    /// stopping running ones first (the store alone would only drop their
    /// records).
    fn remove_containers_of(&self, id: &Digest) -> Result<(), Error> {
        let store = self.store()?;
        let maps = self.user_maps()?;
        for info in store.list_containers().map_err(Error::Store)? {
            if &info.record.image_id == id {
                match super::remove(store, &info.record.id, true, maps, &self.exits_dir()) {
                    Ok(()) | Err(Error::NoSuchContainer(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Adds `names` (qualified as `localhost/NAME:latest` when bare) to
    /// image `name`.
    pub fn tag_image(&self, name: &str, names: &[String]) -> Result<(), Error> {
        let store = self.store()?;
        let rec = find_unresolved(self, store, name)?;
        let names = names
            .iter()
            .map(|n| import::qualify_name(n))
            .collect::<Result<Vec<_>, _>>()?;
        for n in &names {
            store.add_name(&rec.id, n).map_err(Error::Store)?;
            super::events::on_image(super::events::Status::Tag, rec.id.hex(), n);
        }
        Ok(())
    }

    /// Removes `names` (all of them when empty) from image `name`; the
    /// image stays.
    pub fn untag_image(&self, name: &str, names: &[String]) -> Result<(), Error> {
        let store = self.store()?;
        let rec = find_unresolved(self, store, name)?;
        let names = if names.is_empty() {
            rec.names.clone()
        } else {
            let mut out = Vec::new();
            for n in names {
                // As given, else qualified the way `tag` qualified it, else
                // through the search registries.
                let q = import::qualify_name(n)?;
                let hit = [n.clone(), q]
                    .into_iter()
                    .find(|c| rec.names.contains(c))
                    .or_else(|| {
                        image::lookup_local(self.paths(), store, n)
                            .ok()
                            .flatten()
                            .filter(|f| f.image.id == rec.id)
                            .and_then(|f| f.name)
                    });
                match hit {
                    Some(h) => out.push(h),
                    None => {
                        return Err(Error::NotAName {
                            name: n.clone(),
                            image: rec.id.short().to_string(),
                        })
                    }
                }
            }
            out
        };
        for n in &names {
            store.remove_name(&rec.id, n).map_err(Error::Store)?;
            super::events::on_image(super::events::Status::Untag, rec.id.hex(), n);
        }
        Ok(())
    }

    /// The build steps of image `name`, newest first.
    pub fn image_history(&self, name: &str) -> Result<Vec<HistoryStep>, Error> {
        let img = self.find_image(name)?;
        let sizes = self.layer_sizes(&img)?;
        Ok(history_steps(&img, &sizes))
    }

    /// The uncompressed size of each of `img`'s layers, bottom first.
    pub fn layer_sizes(&self, img: &ImageRecord) -> Result<Vec<u64>, Error> {
        let store = self.store()?;
        store.layer_sizes(&img.layers).map_err(Error::Store)
    }

    /// The images `names` stand for, each with the name the user meant
    /// (none for an id), ready for `save_images`.
    pub fn images_to_save(&self, names: &[String]) -> Result<Vec<SaveItem>, Error> {
        let store = self.store()?;
        let mut items = Vec::new();
        for arg in names {
            let not_known =
                || Error::Store(crate::storage::Error::ImageNotKnown { name: arg.clone() });
            let found = image::lookup_local(self.paths(), store, arg)?.ok_or_else(not_known)?;
            // A manifest list is saved as its image for this host.
            let found = image::resolve_list(store, found)?.ok_or_else(not_known)?;
            items.push(SaveItem {
                // The name the user meant (none for an id).
                names: found.name.into_iter().collect(),
                image: found.image,
            });
        }
        Ok(items)
    }

    /// Writes `items` as an archive of `format` to `out`, or for an OCI
    /// directory into `dir`.
    pub fn save_images(
        &self,
        items: &[SaveItem],
        format: Format,
        is_multi: bool,
        layers: LayerChoice,
        out: &mut dyn Write,
        dir: Option<&Path>,
    ) -> Result<(), Error> {
        let store = self.store()?;
        archive::save(store, items, format, is_multi, layers, out, dir).map_err(Error::from)?;
        super::events::on_saved(items, dir);
        Ok(())
    }

    /// Loads every image of the archive and returns what it recorded.
    pub fn load_images(&self, input: Input<'_>) -> Result<Vec<Loaded>, Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        let source = super::events::input_name(&input);
        let loaded = match input {
            Input::File(path) => archive::load(store, &mut open(path)?, maps)?,
            Input::Reader(r) => archive::load(store, r, maps)?,
        };
        super::events::on_image(super::events::Status::Load, "", &source);
        Ok(loaded)
    }

    /// Imports a root filesystem tarball as a one-layer image and returns
    /// its id.
    pub fn import_image(&self, input: Input<'_>, req: ImportRequest) -> Result<Digest, Error> {
        let mut config = serde_json::Map::new();
        crate::files::apply_changes(&mut config, &req.changes)?;
        let opts = ImportOptions {
            name: req.name.as_deref().map(import::qualify_name).transpose()?,
            config,
            message: req.message,
            created: super::now_rfc3339(),
            platform: req.platform,
        };
        let maps = self.user_maps()?;
        let store = self.store()?;
        let source = super::events::input_name(&input);
        let id = match input {
            Input::File(path) => import::import(store, &mut open(path)?, opts, maps)?,
            Input::Reader(r) => import::import(store, r, opts, maps)?,
        };
        super::events::on_image(super::events::Status::Import, id.hex(), &source);
        Ok(id)
    }

    /// Writes container `name`'s filesystem as a tar to `out`.
    pub fn export_container(&self, name: &str, out: &mut dyn Write) -> Result<(), Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        super::files::export(store, name, out, maps)
    }

    /// Removes the images no container uses that pass `filters` (as
    /// `images --filter` reads them): those without names, or with `all`
    /// every one. A failure goes to `on_error` and the others go on.
    pub fn prune_images(
        &self,
        all: bool,
        filters: &[ImageFilter],
        on_error: &mut dyn FnMut(Error),
    ) -> Result<PrunedImages, Error> {
        let maps = self.user_maps()?;
        let store = self.store()?;
        let ids = super::events::image_ids(store);
        let used: std::collections::HashSet<Digest> = store
            .list_containers()
            .map_err(Error::Store)?
            .into_iter()
            .map(|c| c.record.image_id)
            .collect();
        let images = store.list_images().map_err(Error::Store)?;
        let passing: std::collections::HashSet<Digest> = self
            .filter_stored(store, filters, &images)?
            .into_iter()
            .map(|i| i.id)
            .collect();
        let mut removed = Vec::new();
        for img in images {
            if used.contains(&img.id)
                || (!all && !img.names.is_empty())
                || !passing.contains(&img.id)
            {
                continue;
            }
            // Name by name: the last one removes the image, and a container
            // created meanwhile still makes it refuse.
            let targets = if img.names.is_empty() {
                vec![img.id.to_string()]
            } else {
                img.names.clone()
            };
            for t in targets {
                let result = store.remove_image(&t, false, maps);
                if let Ok(r) = &result {
                    super::events::on_image_removed(&ids, r);
                }
                match result {
                    Ok(Removed::Deleted(id)) => removed.push((id, img.size)),
                    Ok(Removed::Untagged(_)) => {}
                    Err(crate::storage::Error::ImageInUse { .. })
                    | Err(crate::storage::Error::ImageNotKnown { .. }) => break,
                    Err(e) => {
                        on_error(Error::Store(e));
                        break;
                    }
                }
            }
        }
        // The build cache's entries of removed images are misses now.
        if let Err(e) = store.prune_build_cache() {
            on_error(Error::Store(e));
        }
        Ok(removed)
    }
}

/// The stored image `name` names, or `ImageNotKnown`.
fn find(engine: &Engine, store: &crate::storage::Store, name: &str) -> Result<ImageRecord, Error> {
    image::find_local(engine.paths(), store, name)?.ok_or_else(|| {
        Error::Store(crate::storage::Error::ImageNotKnown {
            name: name.to_string(),
        })
    })
}

/// Like `find`, but a manifest list stays the list (`tag`, `untag`).
fn find_unresolved(
    engine: &Engine,
    store: &crate::storage::Store,
    name: &str,
) -> Result<ImageRecord, Error> {
    match image::lookup_local(engine.paths(), store, name)? {
        Some(f) => Ok(f.image),
        None => Err(Error::Store(crate::storage::Error::ImageNotKnown {
            name: name.to_string(),
        })),
    }
}

/// Opens an archive or tarball the user named.
fn open(path: &Path) -> Result<File, Error> {
    File::open(path).map_err(|source| Error::OpenInput {
        path: PathBuf::from(path),
        source,
    })
}

/// The steps of `img`, newest first: each history entry, those that made a
/// layer paired with the layers in order (the image id on the newest).
/// `sizes` are the layers' uncompressed sizes, bottom first.
fn history_steps(img: &ImageRecord, sizes: &[u64]) -> Vec<HistoryStep> {
    let config: Value = serde_json::from_slice(&img.config).unwrap_or(Value::Null);
    let history = config["history"].as_array().cloned().unwrap_or_default();
    let mut layers = sizes.iter().copied();
    let mut out = Vec::new();
    for h in &history {
        let is_empty = h["empty_layer"].as_bool().unwrap_or(false);
        let size = if is_empty {
            0
        } else {
            layers.next().unwrap_or(0)
        };
        out.push(HistoryStep {
            id: "<missing>".into(),
            created: h["created"].as_str().unwrap_or_default().to_string(),
            created_by: h["created_by"].as_str().unwrap_or_default().to_string(),
            size,
            comment: h["comment"].as_str().unwrap_or_default().to_string(),
            tags: Vec::new(),
        });
    }
    // Layers the history does not describe.
    for size in layers {
        out.push(HistoryStep {
            id: "<missing>".into(),
            created: String::new(),
            created_by: String::new(),
            size,
            comment: String::new(),
            tags: Vec::new(),
        });
    }
    out.reverse();
    if let Some(top) = out.first_mut() {
        top.id = img.id.hex().to_string();
        top.tags = img.names.clone();
    }
    out
}

/// The `config.Labels` of an image.
pub fn image_labels(img: &ImageRecord) -> Value {
    serde_json::from_slice::<Value>(&img.config)
        .ok()
        .map(|c| c["config"]["Labels"].clone())
        .filter(Value::is_object)
        .unwrap_or(Value::Null)
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(at) => rest = &rest[at + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Whether a name matches a reference pattern: the full name, the name
/// without its registry, or either without the tag.
fn reference_matches(pattern: &str, name: &str) -> bool {
    let short = name.split_once('/').map_or(name, |(_, rest)| rest);
    let untagged = |n: &str| -> String {
        let slash = n.rfind('/').map_or(0, |i| i + 1);
        match n[slash..].rfind(':') {
            Some(i) => n[..slash + i].to_string(),
            None => n.to_string(),
        }
    };
    [
        name.to_string(),
        short.to_string(),
        untagged(name),
        untagged(short),
    ]
    .iter()
    .any(|c| glob(pattern, c))
}

/// The images (newest first) that pass the filters: one of each key's
/// values, for every key given (Podman's libimage ORs a key's values and
/// ANDs the keys); `resolve` finds the id of an image named in
/// before=/since=.
fn filter_images(
    filters: &[ImageFilter],
    images: &[ImageRecord],
    resolve: &dyn Fn(&str) -> Option<Digest>,
) -> Result<Vec<ImageRecord>, Error> {
    use std::collections::HashMap;
    use std::mem::discriminant;
    let position = |name: &str| -> Result<usize, Error> {
        let id = resolve(name).ok_or_else(|| Error::FilterImageUnknown(name.to_string()))?;
        Ok(images.iter().position(|i| i.id == id).unwrap_or(0))
    };
    let label = |k: &str, v: &Option<String>, labels: &BTreeMap<String, String>| match v {
        Some(v) => super::labels::matches_one(&format!("{k}={v}"), labels),
        None => super::labels::matches_one(k, labels),
    };
    let mut out = Vec::new();
    for (pos, img) in images.iter().enumerate() {
        let labels = image_label_map(img);
        let mut passed = HashMap::new();
        for f in filters {
            let ok = match f {
                ImageFilter::Reference(p) => img.names.iter().any(|n| reference_matches(p, n)),
                ImageFilter::Dangling(want) => img.names.is_empty() == *want,
                // Newest first: older images come later in the list.
                ImageFilter::Before(name) => pos > position(name)?,
                ImageFilter::Since(name) => pos < position(name)?,
                ImageFilter::Label(k, v) => label(k, v, &labels),
                ImageFilter::NotLabel(k, v) => !label(k, v, &labels),
                ImageFilter::Until(t) => {
                    super::prune::created_nanos(img.created.as_deref().unwrap_or_default()) < *t
                }
            };
            *passed.entry(discriminant(f)).or_insert(false) |= ok;
        }
        if passed.values().any(|ok| !ok) {
            continue;
        }
        // As in Podman, a matched image is listed with all its names.
        out.push(img.clone());
    }
    Ok(out)
}

/// The image's labels whose values are strings.
fn image_label_map(img: &ImageRecord) -> BTreeMap<String, String> {
    match image_labels(img) {
        Value::Object(m) => m
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// The unnamed images of `images` that another one extends: its layers
/// begin with theirs and its history is longer.
pub fn intermediates(images: &[ImageRecord]) -> std::collections::HashSet<Digest> {
    let history = |i: &ImageRecord| {
        serde_json::from_slice::<serde_json::Value>(&i.config)
            .ok()
            .and_then(|c| c["history"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    let sizes: Vec<usize> = images.iter().map(history).collect();
    let diff_ids =
        |i: &ImageRecord| -> Vec<Digest> { i.layers.iter().map(|l| l.diff_id.clone()).collect() };
    let mut out = std::collections::HashSet::new();
    for (a, img) in images.iter().enumerate() {
        if !img.names.is_empty() {
            continue;
        }
        let mine = diff_ids(img);
        let is_parent = images.iter().enumerate().any(|(b, other)| {
            let theirs = diff_ids(other);
            b != a
                && theirs.starts_with(&mine)
                && (theirs.len() > mine.len() || sizes[b] > sizes[a])
        });
        if is_parent {
            out.insert(img.id.clone());
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::storage::{Compression, LayerRef};
    use serde_json::json;

    /// An image named `r/x:1` with `history` in its config and `layers`
    /// layers of 100, 200, … bytes; front ends' tests use it too.
    pub(crate) fn image(history: Value, layers: usize) -> ImageRecord {
        let config = json!({"history": history}).to_string().into_bytes();
        ImageRecord {
            id: Digest::of(&config),
            names: vec!["r/x:1".into()],
            manifest_digest: Digest::of(b"m"),
            layers: (0..layers)
                .map(|i| LayerRef {
                    diff_id: Digest::of(format!("d{i}").as_bytes()),
                    blob: Digest::of(format!("b{i}").as_bytes()),
                    compression: Compression::Gzip,
                    size: 100 * (i as u64 + 1),
                })
                .collect(),
            config,
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            created: None,
            size: 0,
        }
    }

    #[test]
    fn history_steps_pair_history_with_layers_newest_first() {
        let img = image(
            json!([
                {"created_by": "add base"},
                {"created_by": "set cmd", "empty_layer": true},
                {"created_by": "add app", "comment": "c"}
            ]),
            2,
        );
        let sizes: Vec<u64> = img.layers.iter().map(|l| l.size).collect();
        let s = history_steps(&img, &sizes);
        let by: Vec<&str> = s.iter().map(|s| s.created_by.as_str()).collect();
        assert_eq!(by, vec!["add app", "set cmd", "add base"]);
        let sizes: Vec<u64> = s.iter().map(|s| s.size).collect();
        assert_eq!(sizes, vec![200, 0, 100]);
        assert_eq!(s[0].id, img.id.hex());
        assert_eq!(s[1].id, "<missing>");
    }

    #[test]
    fn glob_matches_stars() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*box", "busybox"));
        assert!(glob("b*y*x", "busybox"));
        assert!(!glob("busy", "busybox"));
        assert!(glob("busybox", "busybox"));
    }

    #[test]
    fn references_match_short_and_untagged_names() {
        let n = "127.0.0.1:5000/busybox:latest";
        assert!(reference_matches("busybox", n));
        assert!(reference_matches("busybox:latest", n));
        assert!(reference_matches("127.0.0.1:5000/busybox", n));
        assert!(reference_matches("*box*", n));
        assert!(!reference_matches("alpine", n));
    }

    #[test]
    fn filter_images_keeps_every_name_of_a_matched_image() {
        let mut img = image(json!([]), 0);
        img.names = vec!["r/a:1".into(), "r/b:1".into()];
        let out = filter_images(
            &[ImageFilter::Reference("a".into())],
            std::slice::from_ref(&img),
            &|_| None,
        )
        .unwrap();
        assert_eq!(out[0].names, vec!["r/a:1", "r/b:1"]);
        assert!(filter_images(&[ImageFilter::Before("x".into())], &[img], &|_| None).is_err());
    }

    /// An image with `labels` in its config, created at `created`.
    fn labelled(name: &str, labels: Value, created: &str) -> ImageRecord {
        let config = json!({"config": {"Labels": labels}})
            .to_string()
            .into_bytes();
        ImageRecord {
            id: Digest::of(&config),
            names: vec![name.to_string()],
            config,
            created: Some(created.to_string()),
            ..image(json!([]), 0)
        }
    }

    #[test]
    fn filter_values_of_one_key_are_ored_and_keys_anded() {
        // As Podman 4.3's `images --filter` and `image prune --filter`.
        let imgs = [
            labelled("r/a:1", json!({"a": "1"}), "2020-01-01T00:00:00Z"),
            labelled(
                "r/ab:1",
                json!({"a": "2", "b": "1"}),
                "2024-01-01T00:00:00Z",
            ),
            labelled("r/none:1", json!(null), "2024-01-01T00:00:00Z"),
        ];
        let names = |filters: &[ImageFilter]| -> Vec<String> {
            filter_images(filters, &imgs, &|_| None)
                .unwrap()
                .into_iter()
                .map(|i| i.names[0].clone())
                .collect()
        };
        let label = |k: &str, v: Option<&str>| ImageFilter::Label(k.into(), v.map(Into::into));
        assert_eq!(
            names(&[label("a", None), label("b", None)]),
            ["r/a:1", "r/ab:1"]
        );
        assert_eq!(
            names(&[label("a", Some("1")), label("a", Some("2"))]),
            ["r/a:1", "r/ab:1"]
        );
        assert_eq!(names(&[label("a", Some(""))]), ["r/a:1", "r/ab:1"]);
        assert_eq!(names(&[label("*", None)]), ["r/a:1", "r/ab:1"]);
        let not = |k: &str| ImageFilter::NotLabel(k.into(), None);
        assert_eq!(names(&[not("a"), not("b")]), ["r/a:1", "r/none:1"]);
        let until = ImageFilter::Until(super::super::prune::created_nanos("2022-01-01T00:00:00Z"));
        assert_eq!(names(std::slice::from_ref(&until)), ["r/a:1"]);
        assert_eq!(names(&[until, label("b", None)]), Vec::<String>::new());
    }
}
