//! The attach socket's wire format: frames of a 1-byte kind, a 4-byte
//! big-endian length and the payload; window sizes; detach key sequences.

use super::{Error, MAX_FRAME};
use crate::sys::pty::Winsize;

// --- frames ------------------------------------------------------------------

/// The kinds of frame on an attach socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Client → monitor: bytes for the container's stdin.
    Stdin = 0,
    /// Monitor → client: the container's stdout (or its pty).
    Stdout = 1,
    /// Monitor → client: the container's stderr.
    Stderr = 2,
    /// Client → monitor: close the container's stdin.
    CloseStdin = 3,
    /// Client → monitor: the window size (rows, columns; u16 big-endian).
    Resize = 4,
    /// Client → monitor, first: payload `1` asks for this run's early
    /// output, `0` not.
    Replay = 5,
    /// Monitor → client, in answer to `Replay` and before the early output:
    /// the monitor serves this connection. A connection that ends without
    /// it reached a monitor that was already leaving; the output is in the
    /// log instead.
    Hello = 6,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            0 => Kind::Stdin,
            1 => Kind::Stdout,
            2 => Kind::Stderr,
            3 => Kind::CloseStdin,
            4 => Kind::Resize,
            5 => Kind::Replay,
            6 => Kind::Hello,
            _ => return None,
        })
    }
}

/// Appends one frame of `kind` carrying `payload` to `out`.
pub fn encode(kind: Kind, payload: &[u8], out: &mut Vec<u8>) {
    out.push(kind as u8);
    // Callers never pass more than MAX_FRAME, far below u32::MAX.
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
}

/// Reassembles frames from a byte stream.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

/// A frame the peer sent that breaks the protocol.
#[derive(Debug, PartialEq, Eq)]
pub struct BadFrame;

impl Decoder {
    /// Adds bytes read from the peer.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete frame, `Ok(None)` until one is.
    pub fn next_frame(&mut self) -> Result<Option<(Kind, Vec<u8>)>, BadFrame> {
        if self.buf.len() < 5 {
            return Ok(None);
        }
        let kind = Kind::from_byte(self.buf[0]).ok_or(BadFrame)?;
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if len > MAX_FRAME {
            return Err(BadFrame);
        }
        if self.buf.len() < 5 + len {
            return Ok(None);
        }
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Ok(Some((kind, payload)))
    }
}

pub(super) fn encode_winsize(ws: &Winsize) -> [u8; 4] {
    let r = ws.ws_row.to_be_bytes();
    let c = ws.ws_col.to_be_bytes();
    [r[0], r[1], c[0], c[1]]
}

pub(super) fn decode_winsize(p: &[u8]) -> Option<Winsize> {
    let [r0, r1, c0, c1] = <[u8; 4]>::try_from(p).ok()?;
    Some(Winsize {
        ws_row: u16::from_be_bytes([r0, r1]),
        ws_col: u16::from_be_bytes([c0, c1]),
        ws_xpixel: 0,
        ws_ypixel: 0,
    })
}

// --- detach keys ----------------------------------------------------------------

/// The default detach sequence, as in Podman.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

/// Parses Podman's detach-key syntax (`ctrl-<key>` or single characters,
/// separated by commas) into bytes; an empty string disables detaching.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>, Error> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || Error::InvalidDetachKeys(s.to_string());
    s.split(',')
        .map(|key| {
            if let Some(rest) = key.strip_prefix("ctrl-") {
                let [c] = rest.as_bytes() else {
                    return Err(bad());
                };
                match c.to_ascii_lowercase() {
                    c @ b'a'..=b'z' => Ok(c - b'a' + 1),
                    b'@' => Ok(0),
                    c @ (b'[' | b'\\' | b']' | b'^' | b'_') => Ok(c - b'@'),
                    _ => Err(bad()),
                }
            } else {
                match key.as_bytes() {
                    [c] if c.is_ascii() => Ok(*c),
                    _ => Err(bad()),
                }
            }
        })
        .collect()
}

/// Watches typed bytes for the detach sequence, holding back a partial
/// match until it completes or fails.
#[derive(Debug)]
pub struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    /// A matcher for `keys` (empty: never detaches).
    pub fn new(keys: Vec<u8>) -> DetachMatcher {
        DetachMatcher { keys, matched: 0 }
    }

    /// Feeds typed bytes; appends those to pass on to `out` and returns
    /// true once the whole sequence was typed.
    pub fn feed(&mut self, data: &[u8], out: &mut Vec<u8>) -> bool {
        for &b in data {
            if self.keys.is_empty() {
                out.push(b);
                continue;
            }
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return true;
                }
                continue;
            }
            // The held-back prefix was input after all.
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    return true;
                }
            } else {
                out.push(b);
            }
        }
        false
    }
}
