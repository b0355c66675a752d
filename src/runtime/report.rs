//! How a child in the container's namespaces tells hutch why it failed:
//! the typed `Failure` of `sys::child`, sent over its report pipe (end of
//! file without a message = exec worked), and the error the user sees for
//! each kind.

pub use crate::sys::child::{Failure, Kind};

use nix::errno::Errno;

use super::Error;

/// The error the user sees for `failure`.
pub fn into_error(failure: Failure) -> Error {
    let Failure { kind, errno, text } = failure;
    let source = (errno != 0).then(|| std::io::Error::from_raw_os_error(errno));
    match kind {
        Kind::Setup => Error::Setup { step: text, source },
        Kind::Panicked => Error::Setup {
            step: "container init panicked".into(),
            source: None,
        },
        Kind::NotFound => Error::NotFound(text),
        Kind::CannotInvoke => Error::CannotInvoke {
            path: text,
            reason: Errno::from_raw(errno).desc().to_lowercase(),
        },
        Kind::UnknownUser => Error::UnknownUser(text),
        Kind::UnknownGroup => Error::UnknownGroup(text),
        Kind::UnmappedUser => Error::UnmappedUser(text),
        Kind::BadWorkdir => Error::BadWorkdir(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Diagnose;

    #[test]
    fn failures_map_to_exit_codes() {
        let cases = [
            (Kind::Setup, 125),
            (Kind::Panicked, 125),
            (Kind::NotFound, 127),
            (Kind::CannotInvoke, 126),
            (Kind::UnknownUser, 126),
            (Kind::UnknownGroup, 126),
            (Kind::UnmappedUser, 125),
            (Kind::BadWorkdir, 126),
        ];
        for (kind, code) in cases {
            let f = Failure {
                kind,
                errno: libc::EACCES,
                text: "x".into(),
            };
            assert_eq!(into_error(f).exit_code(), code, "{kind:?}");
        }
    }

    #[test]
    fn cannot_invoke_names_the_errno() {
        let f = Failure {
            kind: Kind::CannotInvoke,
            errno: libc::EACCES,
            text: "/bin/x".into(),
        };
        assert_eq!(
            into_error(f).to_string(),
            "cannot invoke \"/bin/x\": permission denied"
        );
    }
}
