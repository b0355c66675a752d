//! How the container's init tells the parent why setup failed: one small
//! message over a close-on-exec pipe (EOF without a message = exec worked).
//!
//! Wire format: kind (1 byte), errno (4 bytes, little endian), UTF-8 text.
//! One write of less than PIPE_BUF bytes, so it arrives whole.

use nix::errno::Errno;

use super::Error;

/// Longest text sent, keeping the whole message under PIPE_BUF (4096).
const MAX_TEXT: usize = 3072;

/// What kind of failure the child reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A setup step failed; text names the step.
    Setup = 0,
    /// The command was not found; text is the command.
    NotFound = 1,
    /// The command cannot be invoked; text is the path.
    CannotInvoke = 2,
    /// The user name is unknown; text is the name.
    UnknownUser = 3,
    /// The group name is unknown; text is the name.
    UnknownGroup = 4,
    /// The user resolved to an id the maps lack; text is the user spec.
    UnmappedUser = 5,
}

/// A failure in the child, as sent over the pipe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What failed.
    pub kind: Kind,
    /// The errno behind it, 0 when none.
    pub errno: i32,
    /// The step, command, path or name.
    pub text: String,
}

impl Failure {
    /// A failed setup step with its errno.
    pub fn step(text: impl Into<String>, errno: Errno) -> Failure {
        Failure {
            kind: Kind::Setup,
            errno: errno as i32,
            text: text.into(),
        }
    }

    /// A failed setup step from an io error.
    pub fn io(text: impl Into<String>, e: &std::io::Error) -> Failure {
        Failure {
            kind: Kind::Setup,
            errno: e.raw_os_error().unwrap_or(0),
            text: text.into(),
        }
    }

    /// Encodes the message for the pipe.
    pub fn encode(&self) -> Vec<u8> {
        let mut text = self.text.as_str();
        if text.len() > MAX_TEXT {
            let mut end = MAX_TEXT;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text = &text[..end];
        }
        let mut out = Vec::with_capacity(5 + text.len());
        out.push(self.kind as u8);
        out.extend_from_slice(&self.errno.to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// Decodes a message read from the pipe; `None` when it is malformed.
    pub fn decode(buf: &[u8]) -> Option<Failure> {
        let (&kind, rest) = buf.split_first()?;
        let kind = match kind {
            0 => Kind::Setup,
            1 => Kind::NotFound,
            2 => Kind::CannotInvoke,
            3 => Kind::UnknownUser,
            4 => Kind::UnknownGroup,
            5 => Kind::UnmappedUser,
            _ => return None,
        };
        let errno = i32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
        let text = String::from_utf8_lossy(&rest[4..]).into_owned();
        Some(Failure { kind, errno, text })
    }

    /// The error the user sees for this failure.
    pub fn into_error(self) -> Error {
        let source = (self.errno != 0).then(|| std::io::Error::from_raw_os_error(self.errno));
        match self.kind {
            Kind::Setup => Error::Setup {
                step: self.text,
                source,
            },
            Kind::NotFound => Error::NotFound(self.text),
            Kind::CannotInvoke => Error::CannotInvoke {
                path: self.text,
                reason: Errno::from_raw(self.errno).desc().to_lowercase(),
            },
            Kind::UnknownUser => Error::UnknownUser(self.text),
            Kind::UnknownGroup => Error::UnknownGroup(self.text),
            Kind::UnmappedUser => Error::UnmappedUser(self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Diagnose;

    #[test]
    fn failures_round_trip() {
        let f = Failure::step("mounting /proc", Errno::EPERM);
        assert_eq!(Failure::decode(&f.encode()), Some(f));
        let long = Failure {
            kind: Kind::NotFound,
            errno: 0,
            text: "é".repeat(4000),
        };
        let back = Failure::decode(&long.encode()).unwrap();
        assert!(back.encode().len() < 4096);
        assert_eq!(back.kind, Kind::NotFound);
        assert_eq!(Failure::decode(&[9, 0, 0, 0, 0]), None);
        assert_eq!(Failure::decode(&[0, 1]), None);
    }

    #[test]
    fn failures_map_to_exit_codes() {
        let cases = [
            (Kind::Setup, 125),
            (Kind::NotFound, 127),
            (Kind::CannotInvoke, 126),
            (Kind::UnknownUser, 126),
            (Kind::UnknownGroup, 126),
            (Kind::UnmappedUser, 125),
        ];
        for (kind, code) in cases {
            let f = Failure {
                kind,
                errno: libc::EACCES,
                text: "x".into(),
            };
            assert_eq!(f.into_error().exit_code(), code, "{kind:?}");
        }
    }
}
