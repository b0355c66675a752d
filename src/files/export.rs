//! `export`: a container's whole root filesystem as one tar stream, read
//! as root in the container's user namespace (ownership as the container
//! sees it), without descending into `/proc`, `/sys` or `/dev` of a
//! running container.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::AsFd;
use std::path::Path;

use super::archive::{self, Options};
use super::enter::{self, Root};
use super::Error;
use super::Layout;
use crate::userns;

/// See `files::export`.
pub fn export(layout: Layout, out: &mut dyn Write) -> Result<(), Error> {
    let root = Root::of(layout, Path::new(crate::runtime::PROC), false)?;
    let (rx, tx) = userns::pipe().map_err(Error::Pipe)?;
    let helper = enter::spawn_in_root(
        &root,
        "archiving the container's files",
        &[rx.as_fd()],
        move |croot| {
            let opts = Options {
                one_file_system: true,
                ..Options::default()
            };
            let w = BufWriter::with_capacity(1 << 16, File::from(tx));
            let mut w =
                archive::write_tree(w, croot, None, None, opts).map_err(|e| e.to_string())?;
            w.flush().map_err(|e| format!("sending the archive: {e}"))
        },
    )?;
    let copied = io::copy(&mut File::from(rx), out).and_then(|_| out.flush());
    helper.wait()?;
    copied.map_err(Error::Stream)
}
