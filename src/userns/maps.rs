//! Planning id maps: pure data, no I/O.

/// One line of a uid_map or gid_map: `size` ids from `container` on map to
/// `host` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdMap {
    /// First id inside the namespace.
    pub container: u32,
    /// First id outside.
    pub host: u32,
    /// How many ids.
    pub size: u32,
}

/// The uid and gid maps of a container.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdMaps {
    /// uid_map lines.
    pub uids: Vec<IdMap>,
    /// gid_map lines.
    pub gids: Vec<IdMap>,
    /// Set when only the user's own id could be mapped, saying why.
    pub fallback_reason: Option<String>,
}

/// The kernel accepts at most this many lines per map (user_namespaces(7)).
pub(super) const MAX_LINES: usize = 340;

impl IdMaps {
    /// Maps container 0 to the user and container 1.. to the subordinate
    /// ranges, in order; with no uid or no gid range, maps only the user.
    pub fn plan(
        uid: u32,
        gid: u32,
        uid_ranges: &[(u32, u32)],
        gid_ranges: &[(u32, u32)],
    ) -> IdMaps {
        let reason = match (uid_ranges.is_empty(), gid_ranges.is_empty()) {
            (true, true) => Some("no range in /etc/subuid and /etc/subgid"),
            (true, false) => Some("no range in /etc/subuid"),
            (false, true) => Some("no range in /etc/subgid"),
            (false, false) => None,
        };
        if let Some(reason) = reason {
            return IdMaps {
                uids: vec![IdMap {
                    container: 0,
                    host: uid,
                    size: 1,
                }],
                gids: vec![IdMap {
                    container: 0,
                    host: gid,
                    size: 1,
                }],
                fallback_reason: Some(reason.to_string()),
            };
        }
        IdMaps {
            uids: stack(uid, uid_ranges),
            gids: stack(gid, gid_ranges),
            fallback_reason: None,
        }
    }

    /// Whether only one id is mapped.
    pub fn is_single(&self) -> bool {
        self.fallback_reason.is_some()
    }

    /// The host uid that container uid `id` maps to, if mapped.
    pub fn host_uid(&self, id: u32) -> Option<u32> {
        lookup(&self.uids, id)
    }

    /// The host gid that container gid `id` maps to, if mapped.
    pub fn host_gid(&self, id: u32) -> Option<u32> {
        lookup(&self.gids, id)
    }

    /// These maps with the user (`uid`, `gid`) as root and every other host
    /// range after it: a namespace whose root may remove both what a
    /// container's ids own and the user's own directories holding it
    /// (under `--userns=nomap` or `--uidmap` the container's maps leave the
    /// user out). The same maps when the user is root in them already.
    pub fn with_user_as_root(&self, uid: u32, gid: u32) -> IdMaps {
        if self.host_uid(0) == Some(uid) && self.host_gid(0) == Some(gid) {
            return self.clone();
        }
        let others = |maps: &[IdMap], own: u32| -> Vec<(u32, u32)> {
            maps.iter()
                .filter(|m| m.host != own)
                .map(|m| (m.host, m.size))
                .collect()
        };
        IdMaps {
            uids: stack(uid, &others(&self.uids, uid)),
            gids: stack(gid, &others(&self.gids, gid)),
            fallback_reason: self.fallback_reason.clone(),
        }
    }
}

fn lookup(map: &[IdMap], id: u32) -> Option<u32> {
    map.iter()
        .find(|m| id >= m.container && u64::from(id) < u64::from(m.container) + u64::from(m.size))
        .map(|m| m.host + (id - m.container))
}

fn stack(own: u32, ranges: &[(u32, u32)]) -> Vec<IdMap> {
    let mut out = vec![IdMap {
        container: 0,
        host: own,
        size: 1,
    }];
    let mut next: u32 = 1;
    for &(start, count) in ranges {
        if out.len() == MAX_LINES {
            break;
        }
        // A range that contains the user's own id would map it twice.
        if own >= start && u64::from(own) < u64::from(start) + u64::from(count) {
            continue;
        }
        let Some(after) = next.checked_add(count) else {
            break;
        };
        out.push(IdMap {
            container: next,
            host: start,
            size: count,
        });
        next = after;
    }
    out
}

/// Renders map lines as the kernel's uid_map format.
pub fn map_lines(map: &[IdMap]) -> String {
    map.iter()
        .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_maps_put_the_user_back_as_root() {
        let m = |container, host, size| IdMap {
            container,
            host,
            size,
        };
        let nomap = IdMaps {
            uids: vec![m(0, 100000, 65536)],
            gids: vec![m(0, 200000, 65536)],
            fallback_reason: None,
        };
        let got = nomap.with_user_as_root(1000, 1001);
        assert_eq!(got.uids, vec![m(0, 1000, 1), m(1, 100000, 65536)]);
        assert_eq!(got.gids, vec![m(0, 1001, 1), m(1, 200000, 65536)]);
        // keep-id maps the user at its own id: it moves to root.
        let keep_id = IdMaps {
            uids: vec![m(0, 100000, 1000), m(1000, 1000, 1), m(1001, 101000, 64536)],
            gids: vec![m(0, 1001, 1)],
            fallback_reason: None,
        };
        let got = keep_id.with_user_as_root(1000, 1001);
        assert_eq!(
            got.uids,
            vec![m(0, 1000, 1), m(1, 100000, 1000), m(1001, 101000, 64536)]
        );
        assert_eq!(got.gids, vec![m(0, 1001, 1)]);
        let default = IdMaps::plan(1000, 1001, &[(100000, 65536)], &[(200000, 65536)]);
        assert_eq!(default.with_user_as_root(1000, 1001), default);
    }

    #[test]
    fn plan_maps_user_to_root_and_range_above() {
        let m = IdMaps::plan(1000, 1000, &[(100000, 65536)], &[(100000, 65536)]);
        assert_eq!(
            m.uids,
            vec![
                IdMap {
                    container: 0,
                    host: 1000,
                    size: 1
                },
                IdMap {
                    container: 1,
                    host: 100000,
                    size: 65536
                }
            ]
        );
        assert!(!m.is_single());
        assert_eq!(m.host_uid(0), Some(1000));
        assert_eq!(m.host_uid(1234), Some(101233));
        assert_eq!(m.host_uid(65537), None);
    }

    #[test]
    fn plan_falls_back_to_single_id_without_range() {
        let m = IdMaps::plan(1001, 1002, &[], &[(5, 5)]);
        assert!(m.is_single());
        assert_eq!(
            m.fallback_reason.as_deref(),
            Some("no range in /etc/subuid")
        );
        assert_eq!(
            m.gids,
            vec![IdMap {
                container: 0,
                host: 1002,
                size: 1
            }]
        );
    }

    #[test]
    fn plan_stacks_several_ranges() {
        let m = IdMaps::plan(1000, 1000, &[(100000, 10), (200000, 5)], &[(100000, 10)]);
        assert_eq!(
            m.uids[2],
            IdMap {
                container: 11,
                host: 200000,
                size: 5
            }
        );
        assert_eq!(map_lines(&m.uids[..1]), "0 1000 1\n");
    }
}
