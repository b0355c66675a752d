//! Failures of the CLI's own input and output: answers and passwords read
//! from standard input, and the streams `save` and `export` write.

use std::io;
use std::path::PathBuf;

/// What went wrong reading the user's input or writing a command's output.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// Reading an answer or a password.
    #[error("reading {what} from standard input")]
    ReadStdin {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// Opening a file to read a stream from (`volume import`).
    #[error("opening {path}")]
    OpenInput {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Reading a file opened with `OpenInput` (`secret create`).
    #[error("reading {path}")]
    ReadInput {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Writing a stream to standard output.
    #[error("writing standard output")]
    WriteStdout(#[source] io::Error),
    /// Creating the temporary file beside `--output`.
    #[error("creating {path}")]
    CreateOutput {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Writing the temporary file beside `--output`.
    #[error("writing {path}")]
    WriteOutput {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Moving the finished file to `--output`.
    #[error("renaming {from} to {to}")]
    RenameOutput {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl crate::error::Diagnose for IoError {
    fn hint(&self) -> Option<String> {
        match self {
            IoError::WriteOutput { source, .. } | IoError::WriteStdout(source)
                if source.raw_os_error() == Some(libc::ENOSPC) =>
            {
                Some("the file system is full: free space or write elsewhere".into())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{render_chain, Diagnose, Error};

    #[test]
    fn read_failures_name_what_was_read_and_why() {
        let e = Error::from(IoError::ReadStdin {
            what: "the answer",
            source: io::Error::from_raw_os_error(libc::EIO),
        });
        assert!(
            render_chain(&e).starts_with("reading the answer from standard input: "),
            "{}",
            render_chain(&e)
        );
        assert_eq!(e.exit_code(), crate::error::EXIT_TOOL);
    }

    #[test]
    fn a_full_disk_gets_a_hint() {
        let full = IoError::WriteOutput {
            path: "/x".into(),
            source: io::Error::from_raw_os_error(libc::ENOSPC),
        };
        assert!(full.hint().is_some());
        assert!(
            IoError::WriteStdout(io::Error::from_raw_os_error(libc::EPIPE))
                .hint()
                .is_none()
        );
    }
}
