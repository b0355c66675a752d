//! Exit codes, the `Diagnose` trait and the rendering of errors for the
//! user.
//!
//! A leaf: every module's error type implements `Diagnose` (its exit code
//! and an optional hint), and `Error`, what a command ends with, holds any
//! of them behind the trait, so this module names no other. The one-line
//! `Error:` text plus optional `Hint:` is rendered here; printing itself
//! happens in `cli`.

use std::error::Error as StdError;
use std::fmt;

/// hutch itself failed.
pub const EXIT_TOOL: i32 = 125;
/// The container command exists but cannot be invoked.
pub const EXIT_CANNOT_INVOKE: i32 = 126;
/// The container command was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// What a front end needs to know about an error besides its text.
pub trait Diagnose: StdError + Send + Sync + 'static {
    /// The process exit code for this error (125 unless it says otherwise).
    fn exit_code(&self) -> i32 {
        EXIT_TOOL
    }

    /// An optional line telling the user what to do about it.
    fn hint(&self) -> Option<String> {
        None
    }
}

/// Any failure a command can end with.
#[derive(Debug)]
pub enum Error {
    /// Bad command-line input that clap could not catch.
    Usage(String),
    /// A failure of one of hutch's modules.
    Failed(Box<dyn Diagnose>),
    /// An error that exits with another code than its own, where Podman
    /// does (`rm` of a missing container exits 1, of a running one 2).
    Coded(i32, Box<Error>),
}

impl<E: Diagnose> From<E> for Error {
    fn from(e: E) -> Error {
        Error::Failed(Box::new(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => f.write_str(m),
            // Transparent: the module's error speaks for itself.
            Error::Failed(e) => fmt::Display::fmt(e, f),
            Error::Coded(_, e) => fmt::Display::fmt(e, f),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Usage(_) => None,
            Error::Failed(e) => e.source(),
            Error::Coded(_, e) => e.source(),
        }
    }
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => EXIT_TOOL,
            Error::Failed(e) => e.exit_code(),
            Error::Coded(code, _) => *code,
        }
    }

    /// An optional line telling the user what to do about it.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage(_) => None,
            Error::Failed(e) => e.hint(),
            Error::Coded(_, e) => e.hint(),
        }
    }

    /// This error, exiting with `code`.
    pub fn with_code(self, code: i32) -> Error {
        Error::Coded(code, Box::new(self))
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

    impl Diagnose for Outer {
        fn exit_code(&self) -> i32 {
            EXIT_NOT_FOUND
        }

        fn hint(&self) -> Option<String> {
            Some("look elsewhere".into())
        }
    }

    fn outer() -> Outer {
        Outer {
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such thing"),
        }
    }

    #[test]
    fn render_chain_joins_outermost_first() {
        assert_eq!(render_chain(&outer()), "outer step: no such thing");
    }

    #[test]
    fn a_wrapped_error_keeps_its_text_sources_code_and_hint() {
        let e = Error::from(outer());
        assert_eq!(render_chain(&e), "outer step: no such thing");
        assert_eq!(e.exit_code(), EXIT_NOT_FOUND);
        assert_eq!(e.hint().as_deref(), Some("look elsewhere"));
    }

    #[test]
    fn usage_errors_exit_125_without_a_hint() {
        let e = Error::Usage("bad flag".into());
        assert_eq!(render_chain(&e), "bad flag");
        assert_eq!(e.exit_code(), EXIT_TOOL);
        assert_eq!(e.hint(), None);
    }
}
