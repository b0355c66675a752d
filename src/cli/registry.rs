//! The registry access flags, declared once: `--authfile`, `--cert-dir`
//! and `--tls-verify`, flattened into `pull`, `push` and `login`.
//!
//! A command whose help says more about a flag rewrites it with
//! `mut_arg` (`login` writes the credentials file, `pull` reads only it).

use std::path::PathBuf;

use clap::Args;

use crate::image::credentials::Credentials;
use crate::image::{LoginOptions, Platform, PullOptions, PushOptions};

/// How to reach a registry: TLS and credentials.
#[derive(Debug, Clone, Default, Args)]
pub struct RegistryArgs {
    /// Require HTTPS and verify certificates (false allows plain HTTP)
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub tls_verify: Option<bool>,
    /// Directory with the registry's CA (*.crt) and client certificate (*.cert, *.key)
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Credentials file to read instead of ${XDG_RUNTIME_DIR}/containers/auth.json
    #[arg(long, value_name = "PATH", env = "REGISTRY_AUTH_FILE")]
    pub authfile: Option<PathBuf>,
}

impl RegistryArgs {
    /// The options for pulling for `platform`.
    pub fn pull_options(&self, platform: Platform, quiet: bool) -> PullOptions {
        PullOptions {
            platform,
            quiet,
            tls_verify: self.tls_verify,
            authfile: self.authfile.clone(),
            cert_dir: self.cert_dir.clone(),
        }
    }

    /// The options for pushing; `base` says the format, compression and
    /// quietness.
    pub fn push_options(&self, base: PushOptions) -> PushOptions {
        PushOptions {
            tls_verify: self.tls_verify,
            cert_dir: self.cert_dir.clone(),
            authfile: self.authfile.clone(),
            ..base
        }
    }

    /// The options for logging in with `credentials`.
    pub fn login_options(&self, credentials: Credentials) -> LoginOptions {
        LoginOptions {
            credentials: Some(credentials),
            tls_verify: self.tls_verify,
            cert_dir: self.cert_dir.clone(),
            authfile: self.authfile.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cmd {
        #[command(flatten)]
        registry: RegistryArgs,
    }

    #[test]
    fn tls_verify_without_a_value_means_true() {
        let c = Cmd::try_parse_from(["x", "--tls-verify"]).unwrap();
        assert_eq!(c.registry.tls_verify, Some(true));
        let c = Cmd::try_parse_from(["x", "--tls-verify=false", "--cert-dir", "/d"]).unwrap();
        assert_eq!(c.registry.tls_verify, Some(false));
        let opts = c.registry.pull_options(Platform::host(), true);
        assert_eq!(opts.cert_dir.as_deref(), Some(std::path::Path::new("/d")));
        assert!(Cmd::try_parse_from(["x", "--tls-verify", "false"]).is_err());
    }
}
