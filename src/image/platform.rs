//! Platforms (`os/arch[/variant]`) and the host's own.

use std::fmt;

/// An OCI platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`.
    pub os: String,
    /// GOARCH spelling: `amd64`, `arm64`, `arm`, ...
    pub architecture: String,
    /// `v7`, `v8`, ... if any.
    pub variant: Option<String>,
}

impl Platform {
    /// The platform of the running host, in GOARCH spelling.
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "arm" => ("arm", Some("v7")),
            "x86" => ("386", None),
            "powerpc64" if cfg!(target_endian = "little") => ("ppc64le", None),
            "riscv64" => ("riscv64", None),
            "s390x" => ("s390x", None),
            other => (other, None),
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant: variant.map(String::from),
        }
    }

    /// Parses `os/arch[/variant]`.
    pub fn parse(s: &str) -> Result<Platform, super::Error> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || super::Error::Platform(s.to_string());
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() && !variant.is_empty() => {
                Ok(Platform {
                    os: os.to_string(),
                    architecture: arch.to_string(),
                    variant: Some(variant.to_string()),
                })
            }
            _ => Err(bad()),
        }
    }
}

impl Platform {
    /// This platform with what `--os`, `--arch` and `--variant` give put
    /// in; a new architecture drops the old variant unless one is given.
    pub fn with_parts(
        mut self,
        os: Option<&str>,
        arch: Option<&str>,
        variant: Option<&str>,
    ) -> Platform {
        if let Some(os) = os {
            self.os = os.to_string();
        }
        if let Some(arch) = arch {
            self.architecture = arch.to_string();
            self.variant = None;
        }
        if let Some(v) = variant {
            self.variant = Some(v.to_string());
        }
        self
    }

    /// Whether an image built for `have` serves a request for this
    /// platform: same OS and architecture (in GOARCH spelling, so
    /// `x86_64` is `amd64`), and the same variant when one is asked for
    /// (an arm64 image without one is `v8`).
    pub fn is_met_by(&self, have: &Platform) -> bool {
        let arch = |a: &str| -> String {
            match a {
                "x86_64" | "x86-64" => "amd64".into(),
                "aarch64" => "arm64".into(),
                other => other.to_string(),
            }
        };
        let (want_arch, have_arch) = (arch(&self.architecture), arch(&have.architecture));
        let variant = |v: Option<&str>, arch: &str| match (v, arch) {
            (None, "arm64") => Some("v8".to_string()),
            (v, _) => v.map(String::from),
        };
        self.os == have.os
            && want_arch == have_arch
            && (self.variant.is_none()
                || variant(self.variant.as_deref(), &want_arch)
                    == variant(have.variant.as_deref(), &have_arch))
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_two_or_three_parts() {
        assert_eq!(
            Platform::parse("linux/arm64").unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().variant.as_deref(),
            Some("v7")
        );
        assert!(Platform::parse("linux").is_err());
        assert!(Platform::parse("x/y/z/w").is_err());
        assert!(Platform::parse("linux//v7").is_err());
    }

    #[test]
    fn parts_replace_and_a_new_arch_drops_the_variant() {
        let p = Platform::parse("linux/arm64/v8").unwrap();
        assert_eq!(
            p.clone().with_parts(None, Some("amd64"), None).to_string(),
            "linux/amd64"
        );
        assert_eq!(
            p.clone()
                .with_parts(Some("freebsd"), Some("arm"), Some("v7"))
                .to_string(),
            "freebsd/arm/v7"
        );
        assert_eq!(p.with_parts(None, None, None).to_string(), "linux/arm64/v8");
    }

    #[test]
    fn a_platform_is_met_by_the_same_os_arch_and_asked_variant() {
        let p = |s: &str| Platform::parse(s).unwrap();
        assert!(p("linux/amd64").is_met_by(&p("linux/amd64")));
        assert!(p("linux/x86_64").is_met_by(&p("linux/amd64")));
        assert!(!p("linux/arm64").is_met_by(&p("linux/amd64")));
        assert!(!p("windows/amd64").is_met_by(&p("linux/amd64")));
        assert!(p("linux/arm64").is_met_by(&p("linux/arm64/v8")));
        assert!(p("linux/arm64/v8").is_met_by(&p("linux/arm64")));
        assert!(p("linux/arm/v7").is_met_by(&p("linux/arm/v7")));
        assert!(!p("linux/arm/v7").is_met_by(&p("linux/arm/v6")));
        assert!(p("linux/arm").is_met_by(&p("linux/arm/v6")));
    }
}
