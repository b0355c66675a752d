//! Per-registry TLS material from `certs.d` directories
//! (containers-certs.d(5)): `*.crt` files are CAs trusted in addition to
//! the system roots, a `NAME.cert` with its `NAME.key` is a client
//! certificate. Only reads files; the client builds TLS from them.

use std::path::{Path, PathBuf};

/// What went wrong reading a certificate directory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("listing {path}")]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("client certificate {cert} has no key file {key}")]
    MissingKey { cert: PathBuf, key: PathBuf },
}

/// The CAs and client certificate to use for one registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM CA certificates (each file may hold several), with their paths.
    pub cas: Vec<(PathBuf, Vec<u8>)>,
    /// A PEM client certificate chain followed by its private key.
    pub identity: Option<(PathBuf, Vec<u8>)>,
}

/// Reads the material for `host` (`host[:port]`): from `cert_dir` itself
/// when given (as `--cert-dir` says), else from `DIR/HOST/` of each of
/// `certs_dirs` that exists. Missing directories are no error.
pub fn load(
    certs_dirs: &[PathBuf],
    cert_dir: Option<&Path>,
    host: &str,
) -> Result<TlsFiles, Error> {
    let dirs: Vec<PathBuf> = match cert_dir {
        Some(d) => vec![d.to_path_buf()],
        None => certs_dirs.iter().map(|d| d.join(host)).collect(),
    };
    let mut out = TlsFiles::default();
    for dir in dirs {
        read_dir_into(&dir, &mut out)?;
    }
    Ok(out)
}

fn read_dir_into(dir: &Path, out: &mut TlsFiles) -> Result<(), Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::List {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    let read = |p: &Path| {
        std::fs::read(p).map_err(|source| Error::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    for path in names {
        match path.extension().and_then(|e| e.to_str()) {
            Some("crt") => out.cas.push((path.clone(), read(&path)?)),
            Some("cert") if out.identity.is_none() => {
                let key = path.with_extension("key");
                if !key.is_file() {
                    return Err(Error::MissingKey { cert: path, key });
                }
                let mut pem = read(&path)?;
                pem.push(b'\n');
                pem.extend(read(&key)?);
                out.identity = Some((path, pem));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cas_and_client_pairs_of_the_host_directory() {
        let t = tempfile::tempdir().unwrap();
        let user = t.path().join("user");
        let sys = t.path().join("sys");
        std::fs::create_dir_all(user.join("reg:5000")).unwrap();
        std::fs::create_dir_all(sys.join("reg:5000")).unwrap();
        std::fs::write(user.join("reg:5000/ca.crt"), "CA1").unwrap();
        std::fs::write(user.join("reg:5000/client.cert"), "C").unwrap();
        std::fs::write(user.join("reg:5000/client.key"), "K").unwrap();
        std::fs::write(user.join("reg:5000/notes.txt"), "x").unwrap();
        std::fs::write(sys.join("reg:5000/other.crt"), "CA2").unwrap();
        let got = load(&[user.clone(), sys.clone()], None, "reg:5000").unwrap();
        let cas: Vec<&[u8]> = got.cas.iter().map(|(_, b)| b.as_slice()).collect();
        assert_eq!(cas, [b"CA1".as_slice(), b"CA2".as_slice()]);
        assert_eq!(got.identity.unwrap().1, b"C\nK");
        assert_eq!(
            load(std::slice::from_ref(&user), None, "other:1").unwrap(),
            TlsFiles::default()
        );
        // --cert-dir names the directory itself.
        let only = load(
            std::slice::from_ref(&user),
            Some(&sys.join("reg:5000")),
            "x",
        )
        .unwrap();
        assert_eq!(only.cas.len(), 1);
        std::fs::remove_file(user.join("reg:5000/client.key")).unwrap();
        assert!(matches!(
            load(&[user], None, "reg:5000"),
            Err(Error::MissingKey { .. })
        ));
    }
}
