//! `hutch rmi` / `hutch image rm`.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;
use crate::storage::{Removed, Store};
use crate::{image, userns};

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Images to remove, by name or id
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Remove even if a container uses the image
    #[arg(short, long)]
    pub force: bool,
}

/// Removes each image; keeps going after a failure and reports the first.
pub fn run(engine: &Engine, args: RmiArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let store = Store::open(&paths.root)?;
    let maps = userns::current_user_maps(paths.etc())?;
    let mut first_err = None;
    for name in &args.images {
        let res = image::find_local(paths, &store, name)
            .map_err(Error::from)
            .and_then(|found| {
                // A short name resolves to the stored full name; ids stay ids.
                let target = match &found {
                    Some(rec) if !is_id_like(name, rec) => rec
                        .names
                        .iter()
                        .find(|n| n.ends_with(name.as_str()) || n.contains(name.as_str()))
                        .cloned()
                        .unwrap_or_else(|| name.clone()),
                    _ => name.clone(),
                };
                if let (true, Some(rec)) = (args.force, &found) {
                    remove_containers_of(&store, &rec.id, &maps)?;
                }
                Ok(store.remove_image(&target, args.force, &maps)?)
            });
        match res {
            Ok(Removed::Untagged(n)) => println!("Untagged: {n}"),
            Ok(Removed::Deleted(id)) => println!("Deleted: {}", id.hex()),
            Err(e) => {
                if first_err.is_some() {
                    super::report_error(&e);
                } else {
                    first_err = Some(e);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(0),
    }
}

fn is_id_like(name: &str, rec: &crate::storage::ImageRecord) -> bool {
    let n = name.strip_prefix("sha256:").unwrap_or(name);
    n.len() >= 3 && rec.id.hex().starts_with(n)
}

/// With `--force`: removes the containers that use image `id`, stopping
/// running ones first (the store alone would only drop their records).
fn remove_containers_of(
    store: &Store,
    id: &crate::storage::Digest,
    maps: &userns::IdMaps,
) -> Result<(), Error> {
    for info in store.list_containers()? {
        if &info.record.image_id == id {
            match crate::container::remove(store, &info.record.id, true, maps) {
                Ok(()) | Err(crate::container::Error::NoSuchContainer(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}
