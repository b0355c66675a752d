//! Content digests (`sha256:HEX`), as in the OCI image spec's descriptor section.

use std::fmt;
use std::str::FromStr;

/// A validated `algorithm:hex` digest. Only sha256 is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    hex: String,
}

/// Why a string is not a digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid digest {0:?}: expected sha256: and 64 lowercase hex characters")]
pub struct InvalidDigest(pub String);

impl Digest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Digest {
        use sha2::Digest as _;
        Digest::from_sha256(sha2::Sha256::digest(data).as_slice())
    }

    /// Wraps a finished sha256 hash.
    pub fn from_sha256(bytes: &[u8]) -> Digest {
        Digest {
            hex: hex::encode(bytes),
        }
    }

    /// The image id a container without an image records (`--rootfs`,
    /// issue #18): all zeros, which no config hashes to and no image row
    /// holds.
    pub fn no_image() -> Digest {
        Digest {
            hex: "0".repeat(64),
        }
    }

    /// Whether this is `no_image`.
    pub fn is_no_image(&self) -> bool {
        self.hex.bytes().all(|b| b == b'0')
    }

    /// `sha256`.
    pub fn algorithm(&self) -> &'static str {
        "sha256"
    }

    /// The 64 hex characters.
    pub fn hex(&self) -> &str {
        &self.hex
    }

    /// The first 12 hex characters, as image ids are shown.
    pub fn short(&self) -> &str {
        &self.hex[..12]
    }
}

impl FromStr for Digest {
    type Err = InvalidDigest;
    fn from_str(s: &str) -> Result<Digest, InvalidDigest> {
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| InvalidDigest(s.to_string()))?;
        if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Digest {
                hex: hex.to_string(),
            })
        } else {
            Err(InvalidDigest(s.to_string()))
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_sha256() {
        let d: Digest = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
            .parse()
            .unwrap();
        assert_eq!(d, Digest::of(b""));
        assert_eq!(d.short(), "e3b0c44298fc");
        assert_eq!(d.to_string().len(), 71);
    }

    #[test]
    fn rejects_other_forms() {
        for s in ["sha512:00", "sha256:ABC", "e3b0", "sha256:../../etc/passwd"] {
            assert!(s.parse::<Digest>().is_err(), "{s}");
        }
    }
}
