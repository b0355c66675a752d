//! `login` and `logout`: credentials are checked against the registry
//! (`GET /v2/`, then basic auth or a bearer token with them) before they
//! are saved, and removed again on logout.

use std::path::PathBuf;

use super::client::{Access, RegistryClient};
use super::credentials::{self, normalize_key, AuthFile, Credentials};
use super::reference::Reference;
use super::registries::Registries;
use super::Error;
use super::RegistryError;
use crate::paths::{AuthSource, Paths};

/// How to log in.
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    /// The credentials to check and save.
    pub credentials: Option<Credentials>,
    /// `Some(false)` allows plain HTTP and unverified TLS.
    pub tls_verify: Option<bool>,
    /// `--cert-dir`.
    pub cert_dir: Option<PathBuf>,
    /// `--authfile`: the file to write (and read) instead of the default.
    pub authfile: Option<PathBuf>,
}

/// Which credentials `logout` removes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutTarget {
    /// Those of one registry.
    One(String),
    /// All of them.
    All,
}

/// What a user typed for a registry (`https://host:port/v1/`,
/// `docker://host`, `host`) as the `host[:port]` key credentials are kept
/// under.
pub fn registry_key(input: &str) -> String {
    let s = input.trim();
    let s = s.strip_prefix("docker://").unwrap_or(s);
    normalize_key(s)
}

/// The credential files to read for a command with `authfile`.
pub fn auth_files(paths: &Paths, authfile: Option<&PathBuf>) -> Vec<AuthSource> {
    paths.auth_sources(authfile.map(PathBuf::as_path))
}

/// The user name stored for `registry` (`login --get-login`).
pub fn stored_login(
    paths: &Paths,
    registry: &str,
    authfile: Option<&PathBuf>,
) -> Result<Option<String>, Error> {
    let key = registry_key(registry);
    Ok(credentials::lookup(&auth_files(paths, authfile), &key)
        .map_err(Error::Credentials)?
        .map(|c| c.username))
}

/// Checks `opts.credentials` against `registry` and saves them; returns the
/// file written.
pub fn login(paths: &Paths, registry: &str, opts: &LoginOptions) -> Result<PathBuf, Error> {
    let (key, creds) = check_login(paths, registry, opts)?;
    let path = paths
        .login_auth_file(opts.authfile.as_deref())
        .map_err(Error::AuthDir)?;
    let mut file = AuthFile::load(&path).map_err(Error::Credentials)?;
    file.set(&key, &creds);
    file.save().map_err(Error::Credentials)?;
    Ok(path)
}

/// Checks `opts.credentials` against `registry` without saving them (the
/// REST API's `auth`: Docker's clients keep their own); returns the
/// registry's key and the credentials.
pub fn check_login(
    paths: &Paths,
    registry: &str,
    opts: &LoginOptions,
) -> Result<(String, Credentials), Error> {
    let key = registry_key(registry);
    if key.is_empty() {
        return Err(Error::NoDestination(registry.to_string()));
    }
    let creds = opts
        .credentials
        .clone()
        .ok_or_else(|| RegistryError::NeedsCredentials(key.clone()))?;
    let regs = Registries::load(&paths.registries_conf_candidates())?;
    let r = Reference {
        registry: key.clone(),
        repository: String::new(),
        tag: None,
        digest: None,
    };
    let ep = regs.endpoint(&r)?;
    let access = Access {
        auth_files: Vec::new(),
        certs_dirs: paths.certs_dirs(),
        cert_dir: opts.cert_dir.clone(),
        credentials: None,
    };
    let mut conn = access.options(&ep, opts.tls_verify)?;
    conn.credentials = Some(creds.clone());
    let client = RegistryClient::connect(&ep, &conn).map_err(|e| e.while_logging_in(&key))?;
    drop(client);
    Ok((key, creds))
}

/// Removes stored credentials; fails when there were none to remove.
pub fn logout(
    paths: &Paths,
    target: &LogoutTarget,
    authfile: Option<&PathBuf>,
) -> Result<PathBuf, Error> {
    let path = authfile.cloned().unwrap_or_else(|| paths.auth_file());
    let mut file = AuthFile::load(&path).map_err(Error::Credentials)?;
    match target {
        LogoutTarget::All => {
            file.clear();
        }
        LogoutTarget::One(registry) => {
            let key = registry_key(registry);
            if !file.remove(&key) {
                return Err(Error::NotLoggedIn(key));
            }
        }
    }
    file.save().map_err(Error::Credentials)?;
    Ok(path)
}

impl Error {
    fn while_logging_in(self, registry: &str) -> Error {
        match self {
            // Already names the registry and says "unauthorized".
            e @ Error::Registry(RegistryError::BadCredentials(_)) => e,
            e => Error::Login {
                registry: registry.to_string(),
                source: Box::new(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_key_accepts_urls_and_transports() {
        for (input, want) in [
            ("127.0.0.1:5001", "127.0.0.1:5001"),
            ("https://127.0.0.1:5001/v1/", "127.0.0.1:5001"),
            ("docker://quay.io", "quay.io"),
            ("index.docker.io", "docker.io"),
            ("quay.io/some/repo", "quay.io"),
        ] {
            assert_eq!(registry_key(input), want, "{input}");
        }
    }
}
