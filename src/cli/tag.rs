//! `hutch tag` and `hutch untag` (also under `image`): add and remove
//! names of a stored image.

use clap::Args;

use crate::container::Engine;
use crate::error::Error;
use crate::image::{self, import::qualify_name};
use crate::paths::Paths;
use crate::storage::{ImageRecord, Store};

#[derive(Debug, Args)]
pub struct TagArgs {
    /// The image, by name or id
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// New names (`localhost/NAME:latest` for a bare name)
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UntagArgs {
    /// The image, by name or id
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Names to remove (all of the image's names when none is given)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
}

fn find(paths: &Paths, store: &Store, name: &str) -> Result<ImageRecord, Error> {
    Ok(image::find_local(paths, store, name)?.ok_or_else(|| {
        crate::storage::Error::ImageNotKnown {
            name: name.to_string(),
        }
    })?)
}

/// Adds the names.
pub fn tag(engine: &Engine, args: TagArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let store = Store::open(&paths.root)?;
    let rec = find(paths, &store, &args.image)?;
    let names = args
        .names
        .iter()
        .map(|n| qualify_name(n))
        .collect::<Result<Vec<_>, _>>()?;
    for n in &names {
        store.add_name(&rec.id, n)?;
    }
    Ok(0)
}

/// Removes the names (all of them without arguments); the image stays.
pub fn untag(engine: &Engine, args: UntagArgs) -> Result<i32, Error> {
    let paths = engine.paths();
    let store = Store::open(&paths.root)?;
    let rec = find(paths, &store, &args.image)?;
    let names = if args.names.is_empty() {
        rec.names.clone()
    } else {
        let mut out = Vec::new();
        for n in &args.names {
            // As given, else qualified the way `tag` qualified it, else
            // through the search registries.
            let q = qualify_name(n)?;
            let hit = [n.clone(), q]
                .into_iter()
                .find(|c| rec.names.contains(c))
                .or_else(|| {
                    image::find_local(paths, &store, n)
                        .ok()
                        .flatten()
                        .filter(|r| r.id == rec.id)
                        .and_then(|r| r.names.iter().find(|x| x.ends_with(n.as_str())).cloned())
                });
            match hit {
                Some(h) => out.push(h),
                None => {
                    return Err(Error::Usage(format!(
                        "{n:?} is not a name of image {}",
                        rec.id.short()
                    )))
                }
            }
        }
        out
    };
    for n in &names {
        store.remove_name(&rec.id, n)?;
    }
    Ok(0)
}
