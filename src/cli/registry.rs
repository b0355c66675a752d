//! The registry access flags, declared once: `--authfile`, `--cert-dir`
//! and `--tls-verify`, flattened into `pull`, `push` and `login`, and
//! `--creds` for the commands that take it.
//!
//! A command whose help says more about a flag rewrites it with
//! `mut_arg` (`login` writes the credentials file, `pull` reads only it).

use std::path::PathBuf;

use clap::Args;

use std::io::IsTerminal;

use crate::error::Error;
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

/// `--creds`: credentials given on the command line.
#[derive(Debug, Clone, Default, Args)]
pub struct CredsArgs {
    /// Use USERNAME[:PASSWORD] for the registry instead of stored credentials (a missing part is asked for)
    #[arg(long, value_name = "USERNAME[:PASSWORD]")]
    pub creds: Option<String>,
}

impl CredsArgs {
    /// The credentials `--creds` gives, asking on the terminal for a
    /// missing user name or password as Podman does.
    pub fn credentials(&self) -> Result<Option<Credentials>, Error> {
        let Some(creds) = &self.creds else {
            return Ok(None);
        };
        let (user, password) = split_creds(creds);
        let ask = |question: &str, is_echoed: bool, what: &str| -> Result<String, Error> {
            if !std::io::stdin().is_terminal() {
                return Err(Error::Usage(format!(
                    "--creds: no {what} (give USERNAME:PASSWORD; standard input is not a terminal)"
                )));
            }
            super::login::prompt(question, is_echoed)
        };
        let username = match user {
            Some(u) => u,
            None => ask("Username: ", true, "user name")?,
        };
        let password = match password {
            Some(p) => p,
            None => ask("Password: ", false, "password")?,
        };
        if username.is_empty() {
            return Err(Error::Usage(
                "--creds: the user name must not be empty".into(),
            ));
        }
        Ok(Some(Credentials { username, password }))
    }
}

/// `USER[:PASSWORD]` as Podman splits it: the parts given, an empty one
/// as missing.
fn split_creds(creds: &str) -> (Option<String>, Option<String>) {
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match creds.split_once(':') {
        Some((u, p)) => (some(u), some(p)),
        None => (some(creds), None),
    }
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
            credentials: None,
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
    fn creds_split_at_the_first_colon() {
        let s = |a: &str, b: &str| (Some(a.to_string()), Some(b.to_string()));
        assert_eq!(split_creds("u:p:q"), s("u", "p:q"));
        assert_eq!(split_creds("u"), (Some("u".into()), None));
        assert_eq!(split_creds(":p"), (None, Some("p".into())));
        let c = CredsArgs {
            creds: Some("me:pw".into()),
        };
        let got = c.credentials().unwrap().unwrap();
        assert_eq!((got.username.as_str(), got.password.as_str()), ("me", "pw"));
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
