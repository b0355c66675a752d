//! Where `save` and `export` write a stream: a file named by `--output`,
//! written beside it and renamed into place so a failure leaves no half
//! file under the name, or standard output, which must not be a terminal;
//! and how a listing is printed with or without its header row.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::Path;

use super::ioerr::IoError;
use crate::error::Error;

/// Runs `write` on the output: `path`, or standard output when `None`.
/// `what` names the stream for the terminal refusal ("an archive").
pub fn write_to(
    path: Option<&Path>,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> Result<(), Error>,
) -> Result<(), Error> {
    let Some(path) = path else {
        let stdout = std::io::stdout();
        if stdout.is_terminal() {
            return Err(Error::Usage(format!(
                "refusing to write {what} to a terminal: use --output FILE or redirect standard output"
            )));
        }
        let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
        write(&mut out)?;
        return out.flush().map_err(|e| IoError::WriteStdout(e).into());
    };
    let tmp = path.with_file_name(format!(
        ".{}.hutch-tmp",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let file = File::create(&tmp).map_err(|source| IoError::CreateOutput {
        path: tmp.clone(),
        source,
    })?;
    let mut out = BufWriter::with_capacity(1 << 16, file);
    // The last buffered bytes count too: a full disk at the final flush
    // must not rename a short file into place.
    let written = write(&mut out).and_then(|()| {
        out.flush().map_err(|source| {
            IoError::WriteOutput {
                path: tmp.clone(),
                source,
            }
            .into()
        })
    });
    drop(out);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|source| {
        IoError::RenameOutput {
            from: tmp.clone(),
            to: path.to_path_buf(),
            source,
        }
        .into()
    })
}
/// Renders `values` through `format` (default `default`) as a listing
/// command does, with the column titles of `titles` (field path, title)
/// and the usual ones for the rest, and prints it; `noheading` leaves a
/// table's header row out.
pub fn print_rows(
    values: &[serde_json::Value],
    format: Option<String>,
    default: &str,
    titles: &[(&str, &str)],
    noheading: bool,
) -> Result<(), Error> {
    let format = format.unwrap_or_else(|| default.to_string());
    let template = super::template::Template::parse_as("ls", &format)?;
    let text = template.render_all(values, &|path| {
        let path = path.join(".");
        match titles.iter().find(|(p, _)| *p == path) {
            Some((_, title)) => title.to_string(),
            None => super::template::field_header(&path),
        }
    })?;
    print_listing(&text, noheading && template.is_table);
    Ok(())
}

/// Prints a rendered listing; with `skip_header` (`--noheading` on a
/// table) without its first line.
pub fn print_listing(text: &str, skip_header: bool) {
    match text.split_once('\n') {
        Some((_, rows)) if skip_header => print!("{rows}"),
        _ => print!("{text}"),
    }
}
