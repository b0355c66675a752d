//! `hutch init` / `container init` and `container cleanup`.

use clap::Args;

use super::pick::{Latest, Pick, Which};
use crate::container::Engine;
use crate::error::{Error, EXIT_TOOL};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER", required_unless_present_any = ["all", "latest"])]
    pub containers: Vec<String>,
    /// Initialize every container that is not running or initialized already
    #[arg(short, long, conflicts_with = "containers")]
    pub all: bool,
    #[command(flatten)]
    pub latest: Latest,
}

#[derive(Debug, Args)]
pub struct CleanupArgs {
    /// Containers, by name or id
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
    /// Clean up every container that is not running
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub latest: Latest,
    /// Clean up the given exec session instead of the container (hutch keeps no record of exec sessions, so none is found)
    #[arg(long, value_name = "SESSION")]
    pub exec: Option<String>,
    /// After cleanup, remove the container
    #[arg(long)]
    pub rm: bool,
    /// After cleanup, remove the container's image by the name it was created from (fails while a container uses it)
    #[arg(long)]
    pub rmi: bool,
}

/// `init`: prints each container as named (`--all`, `--latest`: by full
/// id); with `--all`, those running or initialized already are skipped
/// without error, as in Podman.
pub fn init(engine: &Engine, args: InitArgs) -> Result<i32, Error> {
    let names = Pick {
        names: args.containers,
        all: args.all.then_some(Which::Every),
        latest: args.latest.latest,
        ..Pick::default()
    }
    .resolve(engine)?;
    let mut code = 0;
    for name in &names {
        match engine.init_container(name) {
            Ok(_) => println!("{name}"),
            Err(crate::container::Error::AlreadyInitialized(_)) if args.all => println!("{name}"),
            Err(e) if names.len() == 1 => return Err(e.into()),
            Err(e) => {
                super::report_error(&e.into());
                code = EXIT_TOOL;
            }
        }
    }
    Ok(code)
}

/// `container cleanup`.
pub fn cleanup(engine: &Engine, args: CleanupArgs) -> Result<i32, Error> {
    let usage = |m: &str| Err(Error::Usage(m.to_string()));
    if args.exec.is_some() && (args.all || args.rm || args.rmi) {
        return usage("exec and all options conflict");
    }
    if args.all && !args.containers.is_empty() {
        return usage("no arguments are needed with --all");
    }
    if !args.all && !args.latest.latest && args.containers.is_empty() {
        return usage("you must provide at least one name or id");
    }
    let names = Pick {
        names: args.containers,
        all: args.all.then_some(Which::NotRunning),
        latest: args.latest.latest,
        ..Pick::default()
    }
    .resolve(engine)?;
    let mut code = 0;
    for name in &names {
        match cleanup_one(engine, name, &args.exec, args.rm, args.rmi) {
            Ok(()) => println!("{name}"),
            Err(e) if names.len() == 1 => return Err(e),
            Err(e) => {
                super::report_error(&e);
                code = EXIT_TOOL;
            }
        }
    }
    Ok(code)
}

fn cleanup_one(
    engine: &Engine,
    name: &str,
    exec: &Option<String>,
    is_removed: bool,
    is_image_removed: bool,
) -> Result<(), Error> {
    if let Some(session) = exec {
        // hutch runs `exec` in the foreground and records no sessions.
        let id = engine.container_id(name)?;
        return Err(Error::Usage(format!(
            "container {id} has no exec session with ID {session}: no such exec session"
        )));
    }
    let image = match is_image_removed {
        true => Some(engine.container(name)?.record.image_name),
        false => None,
    };
    let id = engine.cleanup_container(name)?;
    if is_removed {
        engine.remove(&id, false, false)?;
    }
    if let Some(image) = image {
        for removed in engine.remove_images(&[image], false)? {
            removed?;
        }
    }
    Ok(())
}
