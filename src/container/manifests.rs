//! The engine's manifest-list operations (`manifest create`, `add`,
//! `annotate`, `remove`, `exists`, `inspect`, `rm`, `push`).
//!
//! A list is an image record (see `image::list`): its names are image
//! names, `images` lists it, and a change stores a new list document
//! under the list's blob lock, so concurrent changes of one list do not
//! lose each other. Nothing here prints.

use std::path::Path;

use super::{Engine, Error};
use crate::image::import::qualify_name;
use crate::image::{
    self, is_list_config, list_config, parse_instance_digest, Annotate, Entry, InspectList,
    ListPushOptions, ManifestList, PullOptions, Reporter, STORE_TRANSPORT,
};
use crate::storage::{Digest, ImageRecord, Store};

/// A removed list: the names it had and its id.
pub type RemovedList = (Vec<String>, Digest);

/// A list the user named: its record and the name it was found by.
struct Named {
    rec: ImageRecord,
    name: String,
}

impl Engine {
    /// Makes list `name` (`localhost/NAME:latest` for a bare name) of the
    /// `images`; with `is_amend` a list already named so gets them
    /// instead. Returns the list's id.
    pub fn create_manifest_list(
        &self,
        name: &str,
        images: &[String],
        is_all: bool,
        is_amend: bool,
        access: &PullOptions,
    ) -> Result<Digest, Error> {
        let store = self.store()?;
        let qualified = qualify_name(name)?;
        let existing = store
            .find_image(&qualified)
            .map_err(Error::Store)?
            .filter(|r| r.names.contains(&qualified));
        if let Some(rec) = existing {
            if is_amend && is_list_config(&rec.config) {
                return self.add_to_manifest_list(
                    &qualified,
                    images,
                    is_all,
                    &Annotate::default(),
                    access,
                );
            }
            return Err(image::Error::ListNameInUse {
                name: qualified,
                id: rec.id.hex().to_string(),
            }
            .into());
        }
        // Every image is resolved before the list exists: a failure
        // leaves nothing behind.
        let mut list = ManifestList::default();
        for entry in self.entries_for(store, images, is_all, access)? {
            list.add(entry);
        }
        let created = super::now_rfc3339();
        let config = list_config(&created, &super::volumes::random_name());
        let id = store.put_blob_bytes(&config).map_err(Error::Store)?;
        let manifest_digest = store
            .put_blob_bytes(&list.to_bytes())
            .map_err(Error::Store)?;
        store
            .put_image(&ImageRecord {
                id: id.clone(),
                names: vec![qualified],
                manifest_digest,
                config,
                layers: Vec::new(),
                os: String::new(),
                architecture: String::new(),
                variant: None,
                created: Some(created),
                size: 0,
            })
            .map_err(Error::Store)?;
        Ok(id)
    }

    /// Adds the `images` to list `list`; `annotate` applies to the first
    /// entry each image adds (with `is_all`, Podman annotates only that
    /// one of an index's images). Returns the list's id.
    pub fn add_to_manifest_list(
        &self,
        list: &str,
        images: &[String],
        is_all: bool,
        annotate: &Annotate,
        access: &PullOptions,
    ) -> Result<Digest, Error> {
        let store = self.store()?;
        let named = self.find_list(store, list)?;
        let mut entries = Vec::new();
        for image in images {
            let mut added = self.entries_for(store, std::slice::from_ref(image), is_all, access)?;
            if let Some(first) = added.first_mut() {
                annotate.apply(first);
            }
            entries.extend(added);
        }
        self.change_list(store, &named, &mut |l| {
            for e in entries.clone() {
                l.add(e);
            }
            Ok(())
        })
    }

    /// Sets `annotate`'s fields on the entry of `list` with `digest`.
    pub fn annotate_manifest_list(
        &self,
        list: &str,
        digest: &str,
        annotate: &Annotate,
    ) -> Result<Digest, Error> {
        let store = self.store()?;
        let named = self.find_list(store, list)?;
        let d = parse_instance_digest(digest)?;
        self.change_list(store, &named, &mut |l| match l.entry_mut(&d) {
            Some(e) => {
                annotate.apply(e);
                Ok(())
            }
            None => Err(no_entry(&named.name, digest)),
        })
    }

    /// Removes the entry with `digest` from `list`.
    pub fn remove_from_manifest_list(&self, list: &str, digest: &str) -> Result<Digest, Error> {
        let store = self.store()?;
        let named = self.find_list(store, list)?;
        let d = parse_instance_digest(digest)?;
        self.change_list(store, &named, &mut |l| match l.remove(&d) {
            true => Ok(()),
            false => Err(no_entry(&named.name, digest)),
        })
    }

    /// Whether `name` is a local list: `Ok(false)` when nothing has the
    /// name, an error when an image that is not a list has it.
    pub fn manifest_list_exists(&self, name: &str) -> Result<bool, Error> {
        let store = self.store()?;
        match self.find_list(store, name) {
            Ok(_) => Ok(true),
            Err(e) if e.is_missing() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `manifest inspect`: the local list `name`, else (nothing local has
    /// the name, or an image that is not a list) the list at the registry.
    pub fn inspect_manifest_list(
        &self,
        name: &str,
        access: &PullOptions,
    ) -> Result<InspectList, Error> {
        let store = self.store()?;
        match self.find_list(store, name) {
            Ok(named) => Ok(load_list(store, &named.rec)?.inspect()),
            Err(Error::Image(e)) if matches!(*e, image::Error::NotAList(_)) => {
                Ok(image::remote_inspect(self.paths(), name, access)?)
            }
            Err(Error::Store(crate::storage::Error::ImageNotKnown { .. })) => {
                Ok(image::remote_inspect(self.paths(), name, access)?)
            }
            Err(e) => Err(e),
        }
    }

    /// Removes each list in `names` (not the images it lists); for each,
    /// the names it had and its id, or why it was not removed.
    pub fn remove_manifest_lists(
        &self,
        names: &[String],
    ) -> Result<Vec<Result<RemovedList, Error>>, Error> {
        let store = self.store()?;
        let maps = self.user_maps()?;
        Ok(names
            .iter()
            .map(|name| {
                let named = self.find_list(store, name)?;
                // No container can use a list, so nothing is forced away.
                store
                    .remove_image(&named.rec.id.to_string(), true, maps)
                    .map_err(Error::Store)?;
                Ok((named.rec.names, named.rec.id))
            })
            .collect())
    }

    /// Pushes list `list` to `destination`, writes the index digest to
    /// `digestfile`, and with `is_rm` removes the list afterwards.
    pub fn push_manifest_list(
        &self,
        list: &str,
        destination: &str,
        opts: &ListPushOptions,
        reporter: &dyn Reporter,
        digestfile: Option<&Path>,
        is_rm: bool,
    ) -> Result<Digest, Error> {
        image::check_authfile(opts.push.authfile.as_deref())?;
        let store = self.store()?;
        let named = self.find_list(store, list)?;
        let doc = load_list(store, &named.rec)?;
        let digest = image::push_list(self.paths(), store, &doc, destination, opts, reporter)?;
        if let Some(path) = digestfile {
            std::fs::write(path, digest.to_string()).map_err(|source| Error::WriteDigestFile {
                path: path.to_path_buf(),
                source,
            })?;
        }
        if is_rm {
            self.remove_manifest_lists(std::slice::from_ref(&named.rec.id.to_string()))?
                .remove(0)?;
        }
        Ok(digest)
    }

    /// The local list `name` names.
    fn find_list(&self, store: &Store, name: &str) -> Result<Named, Error> {
        let found = image::lookup_local(self.paths(), store, name)?.ok_or_else(|| {
            Error::Store(crate::storage::Error::ImageNotKnown {
                name: name.to_string(),
            })
        })?;
        let shown = found.name.clone().unwrap_or_else(|| name.to_string());
        if !is_list_config(&found.image.config) {
            return Err(image::Error::NotAList(shown).into());
        }
        Ok(Named {
            rec: found.image,
            name: shown,
        })
    }

    /// The entries `images` stand for: a `containers-storage:` name is a
    /// local image, anything else is fetched from its registry.
    fn entries_for(
        &self,
        store: &Store,
        images: &[String],
        is_all: bool,
        access: &PullOptions,
    ) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::new();
        for name in images {
            match name.strip_prefix(STORE_TRANSPORT) {
                Some(local) => {
                    let rec = image::find_local(self.paths(), store, local)?.ok_or_else(|| {
                        Error::Store(crate::storage::Error::ImageNotKnown {
                            name: local.to_string(),
                        })
                    })?;
                    out.push(image::store_entry(store, &rec)?);
                }
                None => out.extend(image::remote_entries(self.paths(), name, is_all, access)?),
            }
        }
        Ok(out)
    }

    /// Applies `change` to the list under its lock and stores the result;
    /// returns the list's id.
    fn change_list(
        &self,
        store: &Store,
        named: &Named,
        change: &mut dyn FnMut(&mut ManifestList) -> Result<(), Error>,
    ) -> Result<Digest, Error> {
        let _lock = store.lock_blob(&named.rec.id).map_err(Error::Store)?;
        // Read again under the lock: another change may have landed.
        let rec = store
            .find_image(&named.rec.id.to_string())
            .map_err(Error::Store)?
            .ok_or_else(|| {
                Error::Store(crate::storage::Error::ImageNotKnown {
                    name: named.name.clone(),
                })
            })?;
        let mut list = load_list(store, &rec)?;
        change(&mut list)?;
        let digest = store
            .put_blob_bytes(&list.to_bytes())
            .map_err(Error::Store)?;
        store
            .set_image_manifest(&rec.id, &digest)
            .map_err(Error::Store)?;
        // The document it replaced goes, unless another list is the same.
        let maps = self.user_maps()?;
        store
            .discard_unused(&[], std::slice::from_ref(&rec.manifest_digest), maps)
            .map_err(Error::Store)?;
        Ok(rec.id)
    }
}

/// The document of list record `rec`.
fn load_list(store: &Store, rec: &ImageRecord) -> Result<ManifestList, Error> {
    let raw = store
        .read_blob(&rec.manifest_digest)
        .map_err(Error::Store)?;
    Ok(ManifestList::from_bytes(&raw)?)
}

fn no_entry(list: &str, digest: &str) -> Error {
    image::Error::NoListEntry {
        list: list.to_string(),
        digest: digest.to_string(),
    }
    .into()
}
