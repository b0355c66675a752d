//! Secrets (`hutch secret …`): named pieces of data, shorter than 512000
//! bytes, that containers receive as a file or an environment variable
//! (`run --secret`, see `secret_use`), kept as Podman's file driver keeps
//! them.
//!
//! Owns `ROOT/secrets/` (0700): the records in `secrets.json` and the data
//! of each secret in `filedriver/ID` (or `PATH/ID` with `--driver-opts
//! path=PATH`), both files 0600 and replaced atomically
//! (`storage::atomic`), so a reader without the lock sees a whole list.
//! Every change happens under the exclusive flock of `secrets.lock`, so
//! concurrent `secret create` of one name makes one secret. It must not
//! print.

use std::collections::BTreeMap;
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::{Engine, Error as EngineError};

/// Data must be shorter than this many bytes (Podman's limit).
pub const MAX_SIZE: usize = 512_000;

/// The one driver hutch has, and Podman's default.
pub const FILE_DRIVER: &str = "file";

/// The driver option naming the directory that holds the data.
pub const PATH_OPTION: &str = "path";

/// Secret ids are this many hex characters, as Podman's.
const ID_LEN: usize = 25;

/// Names are at most this long.
const MAX_NAME: usize = 64;

/// The records, in `ROOT/secrets`.
const RECORDS_FILE: &str = "secrets.json";

/// The lock every change takes, in `ROOT/secrets`.
const LOCK_FILE: &str = "secrets.lock";

/// The default data directory, in `ROOT/secrets` (Podman's name).
const DATA_DIR: &str = "filedriver";

/// What went wrong with a secret; the texts are Podman's.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A name outside Podman's rule (a path separator or `..` included).
    #[error("only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]: {0}: invalid secret name")]
    InvalidName(String),
    /// Empty data, or 512000 bytes or more.
    #[error("secret data must be larger than 0 and less than 512000 bytes")]
    DataSize,
    /// `secret create` of a name a secret has.
    #[error("{0}: secret name in use")]
    NameInUse(String),
    /// No secret has this name, id or id prefix.
    #[error("no secret with name or id {0:?}: no such secret")]
    NoSuchSecret(String),
    /// An id prefix several secrets share.
    #[error("more than one result secret with prefix {0}: secret is ambiguous")]
    Ambiguous(String),
    /// `--driver` other than file.
    #[error("secret driver {0:?} is not supported: hutch keeps secrets with the file driver only")]
    UnsupportedDriver(String),
    /// A `--secret` of `run` or `create` that does not parse.
    #[error("{0}: parsing secret")]
    Parse(String),
    /// `--driver-opts path=` that is not absolute.
    #[error("invalid driver option path={0:?}: the path must be absolute")]
    RelativePath(String),
    /// Taking the secrets lock.
    #[error("locking {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    /// Creating or replacing a secret's files.
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading the records or a secret's data.
    #[error("reading {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Records that do not parse.
    #[error("parsing the secret records {path}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Whether the secret asked for does not exist.
    pub fn is_missing(&self) -> bool {
        matches!(self, Error::NoSuchSecret(_))
    }
}

/// One secret's record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SecretRecord {
    /// 25 hex characters.
    pub id: String,
    /// Its name.
    pub name: String,
    /// When it was made: RFC 3339 in UTC with the nanoseconds Go prints.
    pub created: String,
    /// The driver (`file`).
    pub driver: String,
    /// `--driver-opts`; `path` only when the user named one.
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    /// `--label`s.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// The records file.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Records {
    #[serde(default)]
    secrets: Vec<SecretRecord>,
}

/// A secret to make (`secret create`), its flags parsed.
#[derive(Debug, Clone, Default)]
pub struct NewSecret {
    /// Its name.
    pub name: String,
    /// The data.
    pub data: Vec<u8>,
    /// `--driver` (file).
    pub driver: String,
    /// `--driver-opts` pairs.
    pub options: BTreeMap<String, String>,
    /// `--label` pairs.
    pub labels: BTreeMap<String, String>,
}

/// `ROOT/secrets`.
fn secrets_dir(root: &Path) -> PathBuf {
    root.join("secrets")
}

/// The directory holding `rec`'s data.
fn data_dir(root: &Path, rec: &SecretRecord) -> PathBuf {
    match rec.options.get(PATH_OPTION) {
        Some(p) => PathBuf::from(p),
        None => secrets_dir(root).join(DATA_DIR),
    }
}

/// Checks `name` against Podman's rule: 64 of `[a-zA-Z0-9_.-]`, starting
/// with a letter or digit and ending with neither `-` nor `.`.
pub fn check_name(name: &str) -> Result<(), Error> {
    let bytes = name.as_bytes();
    let is_valid = !bytes.is_empty()
        && bytes.len() <= MAX_NAME
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !name.ends_with('-')
        && !name.ends_with('.');
    if is_valid {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_string()))
    }
}

/// The exclusive lock on the secrets; released on drop.
struct SecretsLock {
    _file: Flock<File>,
}

/// Makes `dir` (and its parents) 0700 where missing.
fn make_private_dir(dir: &Path) -> Result<(), Error> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| Error::Write {
            path: dir.to_path_buf(),
            source,
        })
}

/// Blocks until the secrets lock is ours.
fn lock(root: &Path) -> Result<SecretsLock, Error> {
    let dir = secrets_dir(root);
    make_private_dir(&dir)?;
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
    let file = Flock::lock(file, FlockArg::LockExclusive)
        .map_err(|(_, source)| Error::Lock { path, source })?;
    Ok(SecretsLock { _file: file })
}

/// Every secret's record, as last written.
fn load(root: &Path) -> Result<Vec<SecretRecord>, Error> {
    let path = secrets_dir(root).join(RECORDS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(Error::Read { path, source }),
    };
    let records: Records =
        serde_json::from_slice(&bytes).map_err(|source| Error::Corrupt { path, source })?;
    Ok(records.secrets)
}

/// Replaces the records with `secrets`. Call under `lock`.
fn save(root: &Path, secrets: Vec<SecretRecord>) -> Result<(), Error> {
    let path = secrets_dir(root).join(RECORDS_FILE);
    let bytes =
        serde_json::to_vec_pretty(&Records { secrets }).map_err(|source| Error::Corrupt {
            path: path.clone(),
            source,
        })?;
    crate::storage::atomic::write_file(&path, &bytes, 0o600)
        .map_err(|source| Error::Write { path, source })
}

/// The secret `name_or_id` names in `list`, in Podman's order: a full id,
/// a name, then a unique id prefix.
pub fn find<'a>(list: &'a [SecretRecord], name_or_id: &str) -> Result<&'a SecretRecord, Error> {
    if let Some(s) = list.iter().find(|s| s.id == name_or_id) {
        return Ok(s);
    }
    if let Some(s) = list.iter().find(|s| s.name == name_or_id) {
        return Ok(s);
    }
    let missing = || Error::NoSuchSecret(name_or_id.to_string());
    if name_or_id.is_empty() || name_or_id.len() > ID_LEN {
        return Err(missing());
    }
    let mut prefixed = list.iter().filter(|s| s.id.starts_with(name_or_id));
    match (prefixed.next(), prefixed.next()) {
        (Some(s), None) => Ok(s),
        (Some(_), Some(_)) => Err(Error::Ambiguous(name_or_id.to_string())),
        (None, _) => Err(missing()),
    }
}

/// Checks `new` as Podman does (name, then size, then driver), then
/// records it under a fresh id, which it returns.
pub fn create(root: &Path, new: NewSecret) -> Result<String, Error> {
    check_name(&new.name)?;
    if new.data.is_empty() || new.data.len() >= MAX_SIZE {
        return Err(Error::DataSize);
    }
    if new.driver != FILE_DRIVER {
        return Err(Error::UnsupportedDriver(new.driver));
    }
    if let Some(p) = new.options.get(PATH_OPTION) {
        if !Path::new(p).is_absolute() {
            return Err(Error::RelativePath(p.clone()));
        }
    }
    let _lock = lock(root)?;
    let mut list = load(root)?;
    if list.iter().any(|s| s.name == new.name) {
        return Err(Error::NameInUse(new.name));
    }
    let id = loop {
        let id = super::create::new_id()[..ID_LEN].to_string();
        // Ids are random: one an existing secret has is drawn again.
        if !list.iter().any(|s| s.id == id) {
            break id;
        }
    };
    let record = SecretRecord {
        id: id.clone(),
        name: new.name,
        created: go_nanos(&crate::runtime::clock::now_rfc3339_nanos()),
        driver: new.driver,
        options: new.options,
        labels: new.labels,
    };
    let dir = data_dir(root, &record);
    make_private_dir(&dir)?;
    let data_path = dir.join(&id);
    crate::storage::atomic::write_file(&data_path, &new.data, 0o600).map_err(|source| {
        Error::Write {
            path: data_path.clone(),
            source,
        }
    })?;
    list.push(record);
    if let Err(e) = save(root, list) {
        let _ = std::fs::remove_file(&data_path);
        return Err(e);
    }
    Ok(id)
}

/// Removes the secret `name_or_id` names, record first, and returns its
/// id. The name is checked first, as Podman does.
pub fn remove(root: &Path, name_or_id: &str) -> Result<String, Error> {
    check_name(name_or_id)?;
    let _lock = lock(root)?;
    let mut list = load(root)?;
    let found = find(&list, name_or_id)?.clone();
    list.retain(|s| s.id != found.id);
    save(root, list)?;
    let path = data_dir(root, &found).join(&found.id);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::Write { path, source: e }),
        _ => Ok(found.id),
    }
}

/// The secret `name_or_id` names and its data, read under the lock so
/// that a removal cannot come between them.
pub fn lookup_data(root: &Path, name_or_id: &str) -> Result<(SecretRecord, Vec<u8>), Error> {
    let _lock = lock(root)?;
    let list = load(root)?;
    let found = find(&list, name_or_id)?.clone();
    let data = read_data(&data_dir(root, &found).join(&found.id))?;
    Ok((found, data))
}

/// Reads a data file, refusing a symlink in its place and reading no
/// more than the largest secret.
fn read_data(path: &Path) -> Result<Vec<u8>, Error> {
    let failed = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(failed)?;
    let mut data = Vec::new();
    file.take(MAX_SIZE as u64)
        .read_to_end(&mut data)
        .map_err(failed)?;
    Ok(data)
}

/// RFC 3339 `text` with its fraction as Go's RFC3339Nano writes it:
/// trailing zeros, and a dot left alone, dropped.
fn go_nanos(text: &str) -> String {
    let Some(body) = text.strip_suffix('Z') else {
        return text.to_string();
    };
    match body.split_once('.') {
        Some((whole, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                format!("{whole}Z")
            } else {
                format!("{whole}.{frac}Z")
            }
        }
        None => text.to_string(),
    }
}

/// `rec` as Podman shows it: the data directory among the options.
fn shown(root: &Path, mut rec: SecretRecord) -> SecretRecord {
    if !rec.options.contains_key(PATH_OPTION) {
        let dir = data_dir(root, &rec).display().to_string();
        rec.options.insert(PATH_OPTION.into(), dir);
    }
    rec
}

impl Engine {
    /// Records a new secret and returns its id (`secret create`).
    pub fn create_secret(&self, new: NewSecret) -> Result<String, EngineError> {
        // Opening the store first keeps its root private.
        self.store()?;
        Ok(create(&self.paths().root, new)?)
    }

    /// Every secret, by id, as Podman shows them.
    pub fn secrets(&self) -> Result<Vec<SecretRecord>, EngineError> {
        self.store()?;
        let root = &self.paths().root;
        let mut list = load(root)?;
        list.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(list.into_iter().map(|r| shown(root, r)).collect())
    }

    /// The secret `name_or_id` names (a name, an id or a unique prefix).
    pub fn secret(&self, name_or_id: &str) -> Result<SecretRecord, EngineError> {
        self.store()?;
        let root = &self.paths().root;
        let list = load(root)?;
        Ok(shown(root, find(&list, name_or_id)?.clone()))
    }

    /// Whether `name_or_id` names a secret (`secret exists`).
    pub fn secret_exists(&self, name_or_id: &str) -> Result<bool, EngineError> {
        match self.secret(name_or_id) {
            Ok(_) => Ok(true),
            Err(EngineError::Secret(e)) if e.is_missing() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes a secret and returns its id (`secret rm`). Containers
    /// that mount it keep their copy; those that take it as a variable
    /// cannot start until a secret of that name exists again, as in
    /// Podman.
    pub fn remove_secret(&self, name_or_id: &str) -> Result<String, EngineError> {
        self.store()?;
        Ok(remove(&self.paths().root, name_or_id)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, data: &[u8]) -> NewSecret {
        NewSecret {
            name: name.into(),
            data: data.to_vec(),
            driver: FILE_DRIVER.into(),
            ..NewSecret::default()
        }
    }

    #[test]
    fn names_follow_podmans_rule() {
        for ok in ["a", "a_", "1", "a.b-c_d", &"x".repeat(64)] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a/b",
            "..",
            "../x",
            "_a",
            "a-",
            "a.",
            "a b",
            ".a",
            &"x".repeat(65),
        ] {
            assert!(
                matches!(check_name(bad), Err(Error::InvalidName(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn secrets_are_found_by_id_name_and_unique_prefix() {
        let rec = |id: &str, name: &str| SecretRecord {
            id: id.into(),
            name: name.into(),
            created: String::new(),
            driver: FILE_DRIVER.into(),
            options: BTreeMap::new(),
            labels: BTreeMap::new(),
        };
        let list = [rec("abc1", "one"), rec("abd2", "abc1x"), rec("ff", "abd2")];
        assert_eq!(find(&list, "abc1").unwrap().name, "one");
        // A full id wins over a name.
        assert_eq!(find(&list, "abd2").unwrap().name, "abc1x");
        assert_eq!(find(&list, "abc1x").unwrap().id, "abd2");
        assert_eq!(find(&list, "f").unwrap().name, "abd2");
        assert!(matches!(find(&list, "ab"), Err(Error::Ambiguous(_))));
        assert!(matches!(find(&list, "zz"), Err(Error::NoSuchSecret(_))));
        assert!(matches!(find(&list, ""), Err(Error::NoSuchSecret(_))));
    }

    #[test]
    fn a_secret_is_stored_private_and_removed_with_its_data() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let id = create(root, new("pw", b"hunter2")).unwrap();
        assert_eq!(id.len(), ID_LEN);
        let data = root.join("secrets/filedriver").join(&id);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o600);
        assert_eq!(mode(&root.join("secrets/filedriver")), 0o700);
        assert_eq!(mode(&root.join("secrets/secrets.json")), 0o600);
        assert_eq!(mode(&root.join("secrets/secrets.lock")), 0o600);
        let (rec, bytes) = lookup_data(root, "pw").unwrap();
        assert_eq!(
            (rec.id.as_str(), bytes.as_slice()),
            (id.as_str(), &b"hunter2"[..])
        );
        assert!(matches!(
            create(root, new("pw", b"x")),
            Err(Error::NameInUse(n)) if n == "pw"
        ));
        assert_eq!(remove(root, &id[..6]).unwrap(), id);
        assert!(!data.exists());
        assert!(matches!(remove(root, "pw"), Err(Error::NoSuchSecret(_))));
    }

    #[test]
    fn data_must_be_between_one_and_511999_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            create(tmp.path(), new("e", b"")),
            Err(Error::DataSize)
        ));
        assert!(matches!(
            create(tmp.path(), new("big", &vec![0; MAX_SIZE])),
            Err(Error::DataSize)
        ));
        assert!(create(tmp.path(), new("max", &vec![0; MAX_SIZE - 1])).is_ok());
    }

    #[test]
    fn go_trims_the_fraction() {
        assert_eq!(
            go_nanos("2026-12-05T09:32:14.260569220Z"),
            "2026-12-05T09:32:14.26056922Z"
        );
        assert_eq!(
            go_nanos("2026-12-05T09:32:14.000000000Z"),
            "2026-12-05T09:32:14Z"
        );
    }
}
