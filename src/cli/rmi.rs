//! `hutch rmi` / `hutch image rm`.

use clap::Args;

use crate::container::images::Removed;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Images to remove, by name or id
    #[arg(value_name = "IMAGE", required_unless_present = "all")]
    pub images: Vec<String>,
    /// Remove even if a container uses the image (the container goes too)
    #[arg(short, long)]
    pub force: bool,
    /// Remove every image
    #[arg(short, long)]
    pub all: bool,
    /// Ignore images that do not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Keep dangling parent images (hutch's images have no parent images, so nothing changes)
    #[arg(long)]
    pub no_prune: bool,
}

/// Removes each image, going on after a failure; exits as Podman does:
/// 1 when an image does not exist, 2 when one is in use, 125 otherwise.
pub fn run(engine: &Engine, args: RmiArgs) -> Result<i32, Error> {
    // Podman prunes the untagged parents a removed image leaves dangling;
    // hutch records no parent images, so there is never one to keep.
    let _ = args.no_prune;
    let names = if args.all {
        engine
            .list_images(&[])?
            .into_iter()
            .map(|i| i.id.to_string())
            .collect()
    } else {
        args.images
    };
    let mut code = 0;
    for res in engine.remove_images(&names, args.force)? {
        match res {
            Ok(Removed::Untagged(n)) => println!("Untagged: {n}"),
            Ok(Removed::Deleted(id)) => println!("Deleted: {}", id.hex()),
            Err(e) if args.ignore && e.is_missing() => {}
            Err(e) => super::report_removal(e, &mut code),
        }
    }
    Ok(code)
}
