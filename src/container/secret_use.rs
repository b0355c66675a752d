//! `run --secret` and `create --secret` (#14): the flag read with Podman's
//! rules, the secrets looked up when the container is created (a missing
//! one stops the creation), the data of each `type=mount` secret copied
//! into the container's directory (so a later `secret rm` leaves the
//! container its copy, as in Podman), and each `type=env` secret read
//! from the store at every start (so one removed since stops the start,
//! as in Podman). It must not print.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::secrets::{self, Error, SecretRecord};
use super::{Engine, Error as EngineError, Plan};
use crate::runtime::secrets::{Secret, Target, DIR};

/// Where a secret's file goes when no absolute target is given.
const SECRETS_DIR: &str = "/run/secrets";

/// A mounted secret's mode when none is given (Podman's).
const DEFAULT_MODE: u32 = 0o444;

/// One `--secret`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SecretRequest {
    /// The secret: a name, an id or an id prefix, as given.
    source: String,
    /// What it becomes.
    kind: Kind,
}

/// What a `--secret` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    /// A file at `path` (absolute, normalized).
    Mount {
        path: String,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    /// The variable `var`.
    Env { var: String },
}

/// A `--secret` with the secret it names, and its data for a file.
pub(super) struct Resolved {
    request: SecretRequest,
    record: SecretRecord,
    data: Vec<u8>,
}

/// Parses `--secret SOURCE[,type=mount|env][,target=T][,uid=U][,gid=G][,mode=M]`
/// (also `source=SOURCE`) as Podman 4.3 does, with its words.
pub(super) fn parse(spec: &str) -> Result<SecretRequest, Error> {
    let parts: Vec<&str> = spec.split(',').collect();
    if parts.len() == 1 {
        return Ok(SecretRequest {
            source: spec.to_string(),
            kind: Kind::Mount {
                path: mount_path(spec, "")?,
                uid: 0,
                gid: 0,
                mode: DEFAULT_MODE,
            },
        });
    }
    let mut options = &parts[..];
    let mut source = "";
    if !parts[0].contains('=') {
        source = parts[0];
        options = &parts[1..];
    }
    let (mut kind, mut target) = (None, "");
    let (mut uid, mut gid, mut mode) = (0, 0, DEFAULT_MODE);
    let mut is_mount_only = false;
    for opt in options {
        let Some((key, value)) = opt.split_once('=') else {
            return Err(Error::Parse(format!(
                "option {opt} must be in form option=value"
            )));
        };
        match key {
            "source" => source = value,
            "type" if kind.is_some() => {
                return Err(Error::Parse("cannot set more than one secret type".into()))
            }
            "type" if value == "mount" || value == "env" => kind = Some(value),
            "type" => return Err(Error::Parse(format!("type {value} is invalid"))),
            "target" => target = value,
            "mode" => {
                is_mount_only = true;
                mode = go_uint(value, 8).ok_or_else(|| invalid("mode", value))?;
            }
            "uid" | "UID" => {
                is_mount_only = true;
                uid = go_uint(value, 10).ok_or_else(|| invalid("UID", value))?;
            }
            "gid" | "GID" => {
                is_mount_only = true;
                gid = go_uint(value, 10).ok_or_else(|| invalid("GID", value))?;
            }
            _ => return Err(Error::Parse(format!("option {opt} invalid"))),
        }
    }
    if source.is_empty() {
        return Err(Error::Parse(format!("no source found {spec}")));
    }
    let kind = if kind == Some("env") {
        if is_mount_only {
            return Err(Error::Parse(
                "UID, GID, Mode options cannot be set with secret type env".into(),
            ));
        }
        let var = if target.is_empty() { source } else { target };
        Kind::Env { var: var.into() }
    } else {
        Kind::Mount {
            path: mount_path(source, target)?,
            uid,
            gid,
            mode,
        }
    };
    Ok(SecretRequest {
        source: source.into(),
        kind,
    })
}

fn invalid(what: &str, value: &str) -> Error {
    Error::Parse(format!("{what} {value} invalid"))
}

/// Go's `strconv.ParseUint(text, radix, 32)`: digits only, no sign.
fn go_uint(text: &str, radix: u32) -> Option<u32> {
    if text.is_empty() || !text.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u32::from_str_radix(text, radix).ok()
}

/// Where a mounted secret goes: `target` made absolute below
/// `/run/secrets` when it is relative (or `/run/secrets/SOURCE` when it is
/// empty), `.` and `..` resolved as Podman's path cleaning does. The path
/// is resolved beneath the container's root when mounted.
fn mount_path(source: &str, target: &str) -> Result<String, Error> {
    let joined = match target {
        "" => format!("{SECRETS_DIR}/{source}"),
        t if t.starts_with('/') => t.to_string(),
        t => format!("{SECRETS_DIR}/{t}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        // A file cannot be mounted on the container's root.
        return Err(Error::Parse(format!("target {target} invalid")));
    }
    Ok(format!("/{}", parts.join("/")))
}

/// Parses every `--secret` of `specs`, then looks each up in the store
/// under `root` (with the data of those mounted), so that a typo fails
/// before anything is recorded.
pub(super) fn resolve(root: &Path, specs: &[String]) -> Result<Vec<Resolved>, EngineError> {
    let requests = specs
        .iter()
        .map(|s| parse(s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(requests.len());
    for request in requests {
        let (record, data) = secrets::lookup_data(root, &request.source)?;
        let data = match request.kind {
            Kind::Mount { .. } => data,
            Kind::Env { .. } => Vec::new(),
        };
        out.push(Resolved {
            request,
            record,
            data,
        });
    }
    Ok(out)
}

/// Writes the copies of the mounted secrets of `resolved` into the
/// container directory `dir` (`secrets/N`, the directory 0700, each copy
/// with its mode's permission bits) and returns the plan's secrets and the
/// paths of the copies.
pub(super) fn install(
    dir: &Path,
    resolved: Vec<Resolved>,
) -> Result<(Vec<Secret>, Vec<PathBuf>), EngineError> {
    let mut planned = Vec::with_capacity(resolved.len());
    let mut copies = Vec::new();
    let copy_dir = dir.join(DIR);
    for (n, r) in resolved.into_iter().enumerate() {
        let target = match r.request.kind {
            Kind::Env { var } => Target::Env {
                var,
                source: r.request.source,
            },
            Kind::Mount {
                path,
                uid,
                gid,
                mode,
            } => {
                if copies.is_empty() {
                    make_dir(&copy_dir)?;
                }
                let file = n.to_string();
                let copy = copy_dir.join(&file);
                // Go's chmod keeps only the permission bits of the mode.
                crate::storage::atomic::write_file(&copy, &r.data, mode & 0o777).map_err(
                    |source| Error::Write {
                        path: copy.clone(),
                        source,
                    },
                )?;
                copies.push(copy);
                Target::Mount {
                    file,
                    path,
                    uid,
                    gid,
                    mode,
                }
            }
        };
        planned.push(Secret {
            name: r.record.name,
            id: r.record.id,
            target,
        });
    }
    Ok((planned, copies))
}

/// Puts the `resolved` secrets into `plan` (see `install`); where the
/// user is not mapped in the container (`--userns=nomap`), the copies go
/// to the container's root, `owner`, which gives each its owner at start.
pub(super) fn plan(
    store: &crate::storage::Store,
    plan: &mut Plan,
    resolved: Vec<Resolved>,
    owner: Option<(u32, u32)>,
    maps: &crate::userns::IdMaps,
) -> Result<(), EngineError> {
    let (secrets, copies) = install(&plan.dirs.dir, resolved)?;
    plan.secrets = secrets;
    match owner {
        Some((uid, gid)) if !copies.is_empty() => store
            .give_volume_dirs(copies, maps, uid, gid)
            .map_err(EngineError::Store),
        _ => Ok(()),
    }
}

fn make_dir(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(path)
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// Sets `plan`'s `type=env` secrets from the store under `root`, as each
/// start does: a secret its source no longer names fails.
pub fn add_env(root: &Path, plan: &mut Plan) -> Result<(), EngineError> {
    set_env(root, plan, false)
}

/// Sets those of `plan`'s `type=env` secrets the store under `root` still
/// has, for a process `exec` adds to a running container.
pub(super) fn add_env_found(root: &Path, plan: &mut Plan) -> Result<(), EngineError> {
    set_env(root, plan, true)
}

fn set_env(root: &Path, plan: &mut Plan, is_lenient: bool) -> Result<(), EngineError> {
    for s in &plan.secrets {
        let Target::Env { var, source } = &s.target else {
            continue;
        };
        let data = match secrets::lookup_data(root, source) {
            Ok((_, data)) => data,
            Err(e) if is_lenient && e.is_missing() => continue,
            Err(e) => return Err(e.into()),
        };
        let prefix = format!("{var}=");
        plan.env.retain(|e| !e.starts_with(&prefix));
        plan.env
            .push(format!("{prefix}{}", String::from_utf8_lossy(&data)));
    }
    Ok(())
}

/// Podman's `Config.Secrets` of `plan`: the mounted secrets, `None` when
/// there are none (Podman leaves the field out).
pub(super) fn inspect_json(plan: &Plan) -> Option<Value> {
    let list: Vec<Value> = plan
        .secrets
        .iter()
        .filter_map(|s| match &s.target {
            Target::Mount { uid, gid, mode, .. } => Some(json!({
                "Name": s.name,
                "ID": s.id,
                "UID": uid,
                "GID": gid,
                "Mode": mode,
            })),
            Target::Env { .. } => None,
        })
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

impl Engine {
    /// Looks up the `--secret`s of a request (see `resolve`).
    pub(super) fn resolve_secrets(&self, specs: &[String]) -> Result<Vec<Resolved>, EngineError> {
        if specs.is_empty() {
            return Ok(Vec::new());
        }
        self.store()?;
        resolve(&self.paths().root, specs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(path: &str, uid: u32, gid: u32, mode: u32) -> Kind {
        Kind::Mount {
            path: path.into(),
            uid,
            gid,
            mode,
        }
    }

    fn parsed(spec: &str) -> (String, Kind) {
        let r = parse(spec).unwrap_or_else(|e| panic!("{spec}: {e}"));
        (r.source, r.kind)
    }

    fn error(spec: &str) -> String {
        parse(spec).unwrap_err().to_string()
    }

    #[test]
    fn specs_read_as_podmans() {
        let cases = [
            ("s1", "s1", mount("/run/secrets/s1", 0, 0, 0o444)),
            ("s1,type=mount", "s1", mount("/run/secrets/s1", 0, 0, 0o444)),
            (
                "s1,target=/etc/x,uid=5,gid=6,mode=0400",
                "s1",
                mount("/etc/x", 5, 6, 0o400),
            ),
            (
                "s1,target=rel/y",
                "s1",
                mount("/run/secrets/rel/y", 0, 0, 0o444),
            ),
            (
                "s1,target=/run/secrets/../../etc/passwd",
                "s1",
                mount("/etc/passwd", 0, 0, 0o444),
            ),
            (
                "s1,target=../../etc/evil",
                "s1",
                mount("/etc/evil", 0, 0, 0o444),
            ),
            ("s1,target=", "s1", mount("/run/secrets/s1", 0, 0, 0o444)),
            (
                "s1,mode=17777",
                "s1",
                mount("/run/secrets/s1", 0, 0, 0o17777),
            ),
            (
                "s1,UID=4294967295",
                "s1",
                mount("/run/secrets/s1", 4294967295, 0, 0o444),
            ),
            ("type=env,source=s1", "s1", Kind::Env { var: "s1".into() }),
            (
                "s1,type=env,target=FOO",
                "s1",
                Kind::Env { var: "FOO".into() },
            ),
            ("s1,type=env,target=", "s1", Kind::Env { var: "s1".into() }),
            ("s1,source=x", "x", mount("/run/secrets/x", 0, 0, 0o444)),
        ];
        for (spec, source, kind) in cases {
            assert_eq!(parsed(spec), (source.to_string(), kind), "{spec}");
        }
    }

    #[test]
    fn bad_specs_get_podmans_words() {
        let cases = [
            ("s1,type=bogus", "type bogus is invalid: parsing secret"),
            (
                "s1,type=env,uid=5",
                "UID, GID, Mode options cannot be set with secret type env: parsing secret",
            ),
            ("s1,mode=abc", "mode abc invalid: parsing secret"),
            ("s1,mode=0999", "mode 0999 invalid: parsing secret"),
            ("s1,uid=-1", "UID -1 invalid: parsing secret"),
            ("s1,uid=+1", "UID +1 invalid: parsing secret"),
            (
                "s1,gid=4294967296",
                "GID 4294967296 invalid: parsing secret",
            ),
            ("s1,foo=bar", "option foo=bar invalid: parsing secret"),
            ("s1,src=x", "option src=x invalid: parsing secret"),
            (",type=env", "no source found ,type=env: parsing secret"),
            (
                "s1,,",
                "option  must be in form option=value: parsing secret",
            ),
            (
                "s1,type=env,type=mount",
                "cannot set more than one secret type: parsing secret",
            ),
            ("s1,target=/", "target / invalid: parsing secret"),
        ];
        for (spec, want) in cases {
            assert_eq!(error(spec), want, "{spec}");
        }
    }

    #[test]
    fn env_secrets_are_read_at_each_start_and_mounts_are_copied() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("store");
        let new = |name: &str, data: &[u8]| secrets::NewSecret {
            name: name.into(),
            data: data.to_vec(),
            driver: secrets::FILE_DRIVER.into(),
            ..Default::default()
        };
        secrets::create(&root, new("pw", b"one")).unwrap();
        let specs = ["pw,type=env,target=PW".to_string(), "pw,mode=0440".into()];
        let resolved = resolve(&root, &specs).unwrap();
        let dir = tmp.path().join("ctr");
        std::fs::create_dir(&dir).unwrap();
        let (planned, copies) = install(&dir, resolved).unwrap();
        assert_eq!(copies, [dir.join("secrets/1")]);
        assert_eq!(std::fs::read(&copies[0]).unwrap(), b"one");
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&copies[0]), 0o440);
        assert_eq!(mode(&dir.join("secrets")), 0o700);
        let mut plan: Plan = serde_json::from_value(json!({
            "id": "c", "dirs": {"dir": "/c", "upper": "/c/u", "work": "/c/w", "merged": "/c/m"},
            "lowers": [], "maps": {"uids": [], "gids": [], "fallback_reason": null},
            "hostname": "h", "args": ["sh"], "env": ["PW=old"], "cwd": "/", "user": "",
            "tty": false, "interactive": false
        }))
        .unwrap();
        plan.secrets = planned;
        let inspected = inspect_json(&plan).unwrap();
        assert_eq!(inspected[0]["Mode"], 0o440);
        assert_eq!(inspected.as_array().unwrap().len(), 1);
        let mut started = plan.clone();
        add_env(&root, &mut started).unwrap();
        assert_eq!(started.env, ["PW=one"]);
        // Removed and made again with another value: the next start reads it.
        secrets::remove(&root, "pw").unwrap();
        let mut started = plan.clone();
        assert!(add_env(&root, &mut started).is_err());
        add_env_found(&root, &mut started).unwrap();
        assert_eq!(started.env, ["PW=old"]);
        secrets::create(&root, new("pw", b"two")).unwrap();
        add_env(&root, &mut started).unwrap();
        assert_eq!(started.env, ["PW=two"]);
    }
}
