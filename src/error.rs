//! Exit codes and the rendering of errors for the user.
//!
//! Owns the mapping from error to exit code (125 hutch failed, 126 the
//! command cannot be invoked, 127 it was not found) and the one-line
//! `Error:` text plus optional `Hint:`. Printing itself happens in `cli`.

use std::error::Error as StdError;

/// hutch itself failed.
pub const EXIT_TOOL: i32 = 125;
/// The container command exists but cannot be invoked.
pub const EXIT_CANNOT_INVOKE: i32 = 126;
/// The container command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// Any failure a command can end with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command-line input that clap could not catch.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Image(#[from] crate::image::Error),
    #[error(transparent)]
    Storage(#[from] crate::storage::Error),
    #[error(transparent)]
    Container(#[from] crate::container::Error),
    #[error(transparent)]
    Userns(#[from] crate::userns::Error),
    #[error(transparent)]
    Logs(#[from] crate::container::logread::Error),
    #[error(transparent)]
    Paths(#[from] crate::paths::Error),
    #[error(transparent)]
    Top(#[from] crate::container::top::Error),
    #[error(transparent)]
    Fs(#[from] crate::files::Error),
    #[error(transparent)]
    Attach(crate::container::attach::Error),
    #[error(transparent)]
    Archive(Box<crate::image::archive::Error>),
    #[error(transparent)]
    Import(#[from] crate::image::import::Error),
    #[error(transparent)]
    ImageMount(#[from] crate::container::imagemount::Error),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroup::Error),
    #[error(transparent)]
    Device(#[from] crate::runtime::devices::DeviceError),
}

impl From<crate::image::archive::Error> for Error {
    fn from(e: crate::image::archive::Error) -> Error {
        Error::Archive(Box::new(e))
    }
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Container(e) => e.exit_code(),
            Error::Top(e) => e.exit_code(),
            _ => EXIT_TOOL,
        }
    }

    /// An optional line telling the user what to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage(_) => None,
            Error::Image(e) => e.hint(),
            Error::Storage(e) => e.hint(),
            Error::Container(e) => e.hint(),
            Error::Userns(e) => e.hint(),
            Error::Logs(_) => None,
            Error::Paths(e) => e.hint(),
            Error::Top(e) => e.hint(),
            Error::Fs(e) => e.hint(),
            Error::Attach(_) => None,
            Error::Archive(e) => e.hint(),
            Error::Import(e) => e.hint(),
            Error::ImageMount(e) => e.hint(),
            Error::Cgroup(e) => e.hint(),
            Error::Device(e) => e.hint(),
        }
    }
}

/// Joins an error and its sources with `: `, outermost first, skipping a
/// source whose text the previous message already ends with.
pub fn render_chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !text.is_empty() && !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = e.source();
    }
    out.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer step")]
    struct Outer {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn render_chain_joins_outermost_first() {
        let e = Outer {
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such thing"),
        };
        assert_eq!(render_chain(&e), "outer step: no such thing");
    }
}
