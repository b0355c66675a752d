//! `volume export` and `volume import`: a volume's files as a tar stream.
//!
//! A volume's files belong to the ids its containers ran as, so both
//! directions happen in a helper that is root in a user namespace with the
//! user's id maps. The data directory is opened by this process (it lies
//! in the user's own store) and handed to the helper as an fd; the helper
//! archives beneath it, or unpacks beneath it with the copy rules (names
//! and links resolved beneath the fd, nothing written outside it).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use super::archive::{self, Options};
use super::{enter, stream, Error};
use crate::error::render_chain;
use crate::storage::commit::{unpack_copy, CopyRules, Owner};
use crate::sys::fs::{openat2, Resolve};
use crate::userns::{self, IdMaps};

/// Opens the data directory `data` of a volume.
fn open_data(data: &Path) -> Result<OwnedFd, Error> {
    openat2(
        nix::fcntl::AT_FDCWD,
        data,
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        Resolve::NO_SYMLINKS,
    )
    .map_err(|source| Error::OpenHost {
        path: data.to_path_buf(),
        source,
    })
}

/// See `files::export_volume`.
pub fn export_volume(data: &Path, maps: &IdMaps, out: &mut dyn Write) -> Result<(), Error> {
    let dir = open_data(data)?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let helper = enter::spawn_in_userns(maps, "archiving the volume", &[rx.as_fd()], move || {
        let opts = Options {
            is_literal: true,
            ..Options::default()
        };
        let w = BufWriter::with_capacity(1 << 16, File::from(tx));
        let mut w =
            archive::write_tree(w, dir.as_fd(), None, None, opts).map_err(|e| e.to_string())?;
        w.flush().map_err(|e| format!("sending the archive: {e}"))
    })?;
    let copied = io::copy(&mut File::from(rx), out).and_then(|_| out.flush());
    helper.wait()?;
    copied.map_err(Error::Stream)
}

/// See `files::import_volume`.
pub fn import_volume(data: &Path, maps: &IdMaps, input: &mut dyn Read) -> Result<(), Error> {
    let mut tar = stream::open_tar(input)?;
    let dir = open_data(data)?;
    let (data_r, data_w) = userns::pipe().map_err(Error::Pipe)?;
    let helper = enter::spawn_in_userns(
        maps,
        "extracting into the volume",
        &[data_w.as_fd()],
        move || {
            // The archive's owners, as Podman keeps them; what is there is
            // replaced, directories by files and the reverse included.
            let rules = CopyRules {
                owner: Owner::Archive,
                overwrite: true,
            };
            let mut r = BufReader::with_capacity(1 << 16, File::from(data_r));
            unpack_copy(&mut r, dir.as_fd(), rules).map_err(|e| render_chain(&e))?;
            let _ = io::copy(&mut r, &mut io::sink());
            Ok(())
        },
    )?;
    let mut pipe = File::from(data_w);
    let sent = io::copy(&mut tar, &mut pipe);
    drop(pipe);
    let waited = helper.wait();
    match (sent, waited) {
        (Ok(_), r) => r,
        // A broken pipe only echoes the helper's own failure.
        (Err(e), Err(h)) if e.kind() == io::ErrorKind::BrokenPipe => Err(h),
        (Err(e), _) => Err(Error::ReadInput(e)),
    }
}
