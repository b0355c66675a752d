//! User-namespace modes (`--userns`, `--uidmap`, `--gidmap`): pure planning.
//!
//! Every mode is first expressed against the *intermediate* id space that
//! the default mode gives the container: id 0 is the user, ids 1..=N the
//! subordinate ranges stacked in order (as Podman's rootless namespace).
//! Composing such a map with the default one gives the host map that
//! newuidmap/newgidmap write. The intermediate map also says how the ids of
//! files unpacked under the default mode must change to look the same under
//! the new mode (see `storage::shift`).

use super::maps::{IdMap, IdMaps, MAX_LINES};

/// The `--userns` mode a container asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `""` or `host`: the user is root, the subordinate ids follow (Podman's
    /// rootless default, the namespace of `hutch unshare`).
    Host,
    /// `keep-id[:uid=U,gid=G]`: the user keeps their own ids (or U and G)
    /// inside; the subordinate ids fill the rest around them.
    KeepId {
        /// Container uid of the user (default: the user's own).
        uid: Option<u32>,
        /// Container gid of the user (default: the user's own).
        gid: Option<u32>,
    },
    /// `nomap`: only the subordinate ids, the user is not mapped.
    NoMap,
    /// `auto`: like `nomap` (hutch does not split the range per container).
    Auto,
}

/// Why a mode or map could not be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModeError {
    #[error("invalid --userns {0:?}: use host, keep-id[:uid=UID,gid=GID], nomap or auto")]
    UnknownMode(String),
    #[error("invalid --userns option {0:?}: keep-id takes uid=UID and gid=GID")]
    KeepIdOption(String),
    #[error("invalid {flag} {value:?}: use CONTAINER:HOST:SIZE with numbers and SIZE above 0")]
    MapSyntax { flag: &'static str, value: String },
    #[error("invalid {flag}: host ids {first}..{last} are outside the {available} ids the user has (the user and /etc/subuid or /etc/subgid)")]
    MapHostRange {
        flag: &'static str,
        first: u64,
        last: u64,
        available: u64,
    },
    #[error("invalid {flag}: {what} ids overlap")]
    MapOverlap {
        flag: &'static str,
        what: &'static str,
    },
    #[error("invalid {flag}: more than {MAX_LINES} lines")]
    MapTooLong { flag: &'static str },
    #[error("--userns cannot be combined with --uidmap or --gidmap")]
    ModeWithMaps,
    #[error("--userns={0} needs a range in /etc/subuid and /etc/subgid")]
    NeedsRange(&'static str),
    #[error("--userns=keep-id: container id {0} is outside the mapped range")]
    KeepIdOutside(u32),
}

impl crate::error::Diagnose for ModeError {
    /// What the user can do about it.
    fn hint(&self) -> Option<String> {
        match self {
            ModeError::NeedsRange(_) => Some(
                "ask the administrator for a range (usermod --add-subuids/--add-subgids), or run without --userns".into(),
            ),
            ModeError::MapHostRange { .. } => Some(
                "HOST counts from 0 = your own id, then your subordinate ids in order, as in hutch unshare cat /proc/self/uid_map".into(),
            ),
            _ => None,
        }
    }
}

/// Parses a `--userns` value.
pub fn parse_mode(text: &str) -> Result<Mode, ModeError> {
    let (name, opts) = match text.split_once(':') {
        Some((n, o)) => (n, Some(o)),
        None => (text, None),
    };
    match (name, opts) {
        ("" | "host", None) => Ok(Mode::Host),
        ("nomap", None) => Ok(Mode::NoMap),
        ("auto", _) => Ok(Mode::Auto),
        ("keep-id", opts) => {
            let (mut uid, mut gid) = (None, None);
            for opt in opts.unwrap_or("").split(',').filter(|o| !o.is_empty()) {
                let bad = || ModeError::KeepIdOption(opt.to_string());
                match opt.split_once('=') {
                    Some(("uid", v)) => uid = Some(v.parse().map_err(|_| bad())?),
                    Some(("gid", v)) => gid = Some(v.parse().map_err(|_| bad())?),
                    _ => return Err(bad()),
                }
            }
            Ok(Mode::KeepId { uid, gid })
        }
        _ => Err(ModeError::UnknownMode(text.to_string())),
    }
}

/// Parses `--uidmap`/`--gidmap` values: `CONTAINER:HOST:SIZE`, several
/// per value joined by `,` allowed.
pub fn parse_maps(flag: &'static str, values: &[String]) -> Result<Vec<IdMap>, ModeError> {
    let mut out = Vec::new();
    for value in values {
        for item in value.split(',').filter(|s| !s.is_empty()) {
            let bad = || ModeError::MapSyntax {
                flag,
                value: item.to_string(),
            };
            let nums: Vec<u32> = item
                .split(':')
                .map(|n| n.trim().parse::<u32>())
                .collect::<Result<_, _>>()
                .map_err(|_| bad())?;
            let [container, host, size] = nums[..] else {
                return Err(bad());
            };
            if size == 0 {
                return Err(bad());
            }
            out.push(IdMap {
                container,
                host,
                size,
            });
        }
    }
    Ok(out)
}

/// The maps of a non-default mode: the host maps to write, and the same
/// maps against the intermediate id space (what `storage::shift` needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Maps for newuidmap/newgidmap.
    pub host: IdMaps,
    /// uid map whose `host` column counts intermediate ids.
    pub inter_uids: Vec<IdMap>,
    /// gid map whose `host` column counts intermediate ids.
    pub inter_gids: Vec<IdMap>,
}

/// What was asked for: a mode, or explicit maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `--userns`, when given.
    pub mode: Option<Mode>,
    /// `--uidmap` lines (intermediate host ids).
    pub uidmap: Vec<IdMap>,
    /// `--gidmap` lines (intermediate host ids).
    pub gidmap: Vec<IdMap>,
}

impl Request {
    /// Whether the default maps apply unchanged.
    pub fn is_default(&self) -> bool {
        matches!(self.mode, None | Some(Mode::Host))
            && self.uidmap.is_empty()
            && self.gidmap.is_empty()
    }
}

/// Plans `req` for a user with uid `uid` and gid `gid` whose default maps
/// are `default`; `None` when the default maps apply unchanged.
pub fn plan(
    req: &Request,
    uid: u32,
    gid: u32,
    default: &IdMaps,
) -> Result<Option<Planned>, ModeError> {
    if req.is_default() {
        return Ok(None);
    }
    if req.mode.is_some() && !(req.uidmap.is_empty() && req.gidmap.is_empty()) {
        return Err(ModeError::ModeWithMaps);
    }
    let uid_count = inter_size(&default.uids);
    let gid_count = inter_size(&default.gids);
    let (inter_uids, inter_gids) = match &req.mode {
        Some(mode) => {
            let name = match mode {
                Mode::KeepId { .. } => "keep-id",
                Mode::NoMap => "nomap",
                Mode::Auto => "auto",
                Mode::Host => "host",
            };
            if default.is_single() {
                return Err(ModeError::NeedsRange(name));
            }
            match mode {
                Mode::KeepId { uid: u, gid: g } => (
                    keep_id(u.unwrap_or(uid), uid_count)?,
                    keep_id(g.unwrap_or(gid), gid_count)?,
                ),
                _ => (subordinate_only(uid_count), subordinate_only(gid_count)),
            }
        }
        None => {
            // Podman: a lone --uidmap also serves as the gid map, and back.
            let uids = if req.uidmap.is_empty() {
                &req.gidmap
            } else {
                &req.uidmap
            };
            let gids = if req.gidmap.is_empty() {
                &req.uidmap
            } else {
                &req.gidmap
            };
            check_map("--uidmap", uids, uid_count)?;
            check_map("--gidmap", gids, gid_count)?;
            (uids.clone(), gids.clone())
        }
    };
    let host = IdMaps {
        uids: compose(&inter_uids, &default.uids),
        gids: compose(&inter_gids, &default.gids),
        fallback_reason: None,
    };
    if host.uids.len() > MAX_LINES {
        return Err(ModeError::MapTooLong { flag: "--uidmap" });
    }
    if host.gids.len() > MAX_LINES {
        return Err(ModeError::MapTooLong { flag: "--gidmap" });
    }
    Ok(Some(Planned {
        host,
        inter_uids,
        inter_gids,
    }))
}

/// How many intermediate ids the default map offers (the user plus the
/// subordinate ids).
fn inter_size(default: &[IdMap]) -> u64 {
    default.iter().map(|m| u64::from(m.size)).sum()
}

/// Container 0..id-1 → intermediate 1..id, id → 0 (the user), id+1.. →
/// the rest, as Podman's keep-id.
fn keep_id(id: u32, count: u64) -> Result<Vec<IdMap>, ModeError> {
    let subs = count.saturating_sub(1);
    if subs == 0 {
        return Err(ModeError::NeedsRange("keep-id"));
    }
    let mut out = Vec::new();
    let below = u64::from(id).min(subs);
    if below > 0 {
        out.push(IdMap {
            container: 0,
            host: 1,
            size: below as u32,
        });
    }
    out.push(IdMap {
        container: id,
        host: 0,
        size: 1,
    });
    let rest = subs - below;
    if rest > 0 {
        let Some(next) = id.checked_add(1) else {
            return Err(ModeError::KeepIdOutside(id));
        };
        let size = rest.min(u64::from(u32::MAX - next)) as u32;
        if size > 0 {
            out.push(IdMap {
                container: next,
                host: (below + 1) as u32,
                size,
            });
        }
    }
    Ok(out)
}

/// Container 0.. → intermediate 1..: the user's own id stays unmapped.
fn subordinate_only(count: u64) -> Vec<IdMap> {
    vec![IdMap {
        container: 0,
        host: 1,
        size: count.saturating_sub(1) as u32,
    }]
}

/// Checks explicit map lines against the `count` intermediate ids.
fn check_map(flag: &'static str, map: &[IdMap], count: u64) -> Result<(), ModeError> {
    if map.len() > MAX_LINES {
        return Err(ModeError::MapTooLong { flag });
    }
    for (i, m) in map.iter().enumerate() {
        let last = u64::from(m.host) + u64::from(m.size) - 1;
        if last >= count {
            return Err(ModeError::MapHostRange {
                flag,
                first: u64::from(m.host),
                last,
                available: count,
            });
        }
        if u64::from(m.container) + u64::from(m.size) > u64::from(u32::MAX) + 1 {
            return Err(ModeError::MapSyntax {
                flag,
                value: format!("{}:{}:{}", m.container, m.host, m.size),
            });
        }
        for o in &map[..i] {
            if overlaps(m.container, m.size, o.container, o.size) {
                return Err(ModeError::MapOverlap {
                    flag,
                    what: "container",
                });
            }
            if overlaps(m.host, m.size, o.host, o.size) {
                return Err(ModeError::MapOverlap { flag, what: "host" });
            }
        }
    }
    Ok(())
}

fn overlaps(a: u32, a_size: u32, b: u32, b_size: u32) -> bool {
    let (a, b) = (u64::from(a), u64::from(b));
    a < b + u64::from(b_size) && b < a + u64::from(a_size)
}

/// Rewrites `inter` (host column = intermediate ids) into host ids through
/// `default` (container column = intermediate ids), splitting lines where
/// the default map's ranges end.
fn compose(inter: &[IdMap], default: &[IdMap]) -> Vec<IdMap> {
    let mut out = Vec::new();
    for m in inter {
        let (mut c, mut i, mut left) =
            (u64::from(m.container), u64::from(m.host), u64::from(m.size));
        while left > 0 {
            let Some(d) = default.iter().find(|d| {
                i >= u64::from(d.container) && i < u64::from(d.container) + u64::from(d.size)
            }) else {
                break;
            };
            let in_d = u64::from(d.container) + u64::from(d.size) - i;
            let n = left.min(in_d);
            out.push(IdMap {
                container: c as u32,
                host: (u64::from(d.host) + (i - u64::from(d.container))) as u32,
                size: n as u32,
            });
            c += n;
            i += n;
            left -= n;
        }
    }
    out
}

/// Maps `id` through `map` (container column to host column).
pub fn map_id(map: &[IdMap], id: u32) -> Option<u32> {
    map.iter()
        .find(|m| id >= m.container && u64::from(id) < u64::from(m.container) + u64::from(m.size))
        .map(|m| m.host + (id - m.container))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(container: u32, host: u32, size: u32) -> IdMap {
        IdMap {
            container,
            host,
            size,
        }
    }

    fn default() -> IdMaps {
        IdMaps::plan(1001, 1001, &[(100000, 65536)], &[(100000, 65536)])
    }

    fn req(mode: Option<Mode>, uidmap: &[IdMap], gidmap: &[IdMap]) -> Request {
        Request {
            mode,
            uidmap: uidmap.to_vec(),
            gidmap: gidmap.to_vec(),
        }
    }

    #[test]
    fn parses_modes() {
        assert_eq!(parse_mode(""), Ok(Mode::Host));
        assert_eq!(parse_mode("host"), Ok(Mode::Host));
        assert_eq!(parse_mode("nomap"), Ok(Mode::NoMap));
        assert_eq!(parse_mode("auto"), Ok(Mode::Auto));
        assert_eq!(
            parse_mode("keep-id"),
            Ok(Mode::KeepId {
                uid: None,
                gid: None
            })
        );
        assert_eq!(
            parse_mode("keep-id:uid=200,gid=210"),
            Ok(Mode::KeepId {
                uid: Some(200),
                gid: Some(210)
            })
        );
        assert!(matches!(
            parse_mode("keep-id:size=3"),
            Err(ModeError::KeepIdOption(_))
        ));
        assert!(matches!(
            parse_mode("private"),
            Err(ModeError::UnknownMode(_))
        ));
    }

    #[test]
    fn keep_id_puts_the_user_at_its_own_uid() {
        let p = plan(
            &req(
                Some(Mode::KeepId {
                    uid: None,
                    gid: None,
                }),
                &[],
                &[],
            ),
            1001,
            1001,
            &default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            p.host.uids,
            vec![m(0, 100000, 1001), m(1001, 1001, 1), m(1002, 101001, 64535)]
        );
        assert_eq!(
            p.inter_uids,
            vec![m(0, 1, 1001), m(1001, 0, 1), m(1002, 1002, 64535)]
        );
        assert_eq!(p.host.host_uid(0), Some(100000));
        assert_eq!(p.host.host_uid(1001), Some(1001));
        assert!(!p.host.is_single());
    }

    #[test]
    fn keep_id_takes_uid_and_gid_options() {
        let p = plan(
            &req(
                Some(Mode::KeepId {
                    uid: Some(200),
                    gid: Some(210),
                }),
                &[],
                &[],
            ),
            1001,
            1001,
            &default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(p.host.host_uid(200), Some(1001));
        assert_eq!(p.host.host_gid(210), Some(1001));
        assert_eq!(p.host.host_uid(199), Some(100199));
        assert_eq!(p.host.host_uid(201), Some(100200));
    }

    #[test]
    fn nomap_leaves_the_user_out() {
        let p = plan(&req(Some(Mode::NoMap), &[], &[]), 1001, 1001, &default())
            .unwrap()
            .unwrap();
        assert_eq!(p.host.uids, vec![m(0, 100000, 65536)]);
        assert_eq!(p.host.host_uid(0), Some(100000));
    }

    #[test]
    fn host_and_empty_are_the_default() {
        assert_eq!(
            plan(&req(Some(Mode::Host), &[], &[]), 1001, 1001, &default()),
            Ok(None)
        );
        assert_eq!(plan(&req(None, &[], &[]), 1001, 1001, &default()), Ok(None));
    }

    #[test]
    fn explicit_maps_index_the_user_then_the_range() {
        let uidmap = parse_maps("--uidmap", &["0:1:1000".to_string()]).unwrap();
        let p = plan(&req(None, &uidmap, &[]), 1001, 1001, &default())
            .unwrap()
            .unwrap();
        assert_eq!(p.host.uids, vec![m(0, 100000, 1000)]);
        assert_eq!(p.host.gids, p.host.uids);
        let both = parse_maps("--uidmap", &["0:0:1,1:1:10".to_string()]).unwrap();
        let p = plan(&req(None, &both, &[]), 1001, 1001, &default())
            .unwrap()
            .unwrap();
        assert_eq!(p.host.uids, vec![m(0, 1001, 1), m(1, 100000, 10)]);
    }

    #[test]
    fn explicit_maps_that_span_ranges_are_split() {
        let d = IdMaps::plan(1001, 1001, &[(100000, 10), (200000, 10)], &[(100000, 20)]);
        let p = plan(&req(None, &[m(0, 5, 10)], &[]), 1001, 1001, &d)
            .unwrap()
            .unwrap();
        assert_eq!(p.host.uids, vec![m(0, 100004, 6), m(6, 200000, 4)]);
    }

    #[test]
    fn invalid_maps_are_refused() {
        for bad in ["0:1", "a:1:1", "0:1:0", "0:1:1:1"] {
            assert!(
                matches!(
                    parse_maps("--uidmap", &[bad.to_string()]),
                    Err(ModeError::MapSyntax { .. })
                ),
                "{bad}"
            );
        }
        let d = default();
        let cases = [
            vec![m(0, 0, 70000)],
            vec![m(0, 1, 10), m(5, 100, 10)],
            vec![m(0, 1, 10), m(100, 5, 10)],
        ];
        for map in cases {
            assert!(
                plan(&req(None, &map, &[]), 1001, 1001, &d).is_err(),
                "{map:?}"
            );
        }
        assert_eq!(
            plan(&req(Some(Mode::NoMap), &[m(0, 1, 1)], &[]), 1001, 1001, &d),
            Err(ModeError::ModeWithMaps)
        );
    }

    #[test]
    fn modes_need_a_range() {
        let single = IdMaps::plan(1002, 1002, &[], &[]);
        assert_eq!(
            plan(
                &req(
                    Some(Mode::KeepId {
                        uid: None,
                        gid: None
                    }),
                    &[],
                    &[]
                ),
                1002,
                1002,
                &single
            ),
            Err(ModeError::NeedsRange("keep-id"))
        );
    }
}
