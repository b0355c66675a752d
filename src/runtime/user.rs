//! Resolving `user[:group]` against a container's /etc/passwd and /etc/group
//! (pure: the caller reads the files).
//!
//! Follows Docker and Podman: names or numbers; a numeric user that passwd
//! does not know still runs (gid 0, HOME `/`); without an explicit group
//! the supplementary groups are the groups whose member list names the
//! user, with one (`user:group`) there are none (Podman looks them up only
//! when the spec has no group).

/// Who the container's process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecUser {
    /// uid inside the container.
    pub uid: u32,
    /// Primary gid inside the container.
    pub gid: u32,
    /// Supplementary gids.
    pub groups: Vec<u32>,
    /// Home directory from passwd, `/` when unknown.
    pub home: String,
    /// Keep the caller's supplementary groups instead of setting `groups`.
    pub keep_groups: bool,
}

/// Why a user spec did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The user name is not in passwd.
    User(String),
    /// The group name is not in group.
    Group(String),
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

struct GroupEntry<'a> {
    name: &'a str,
    gid: u32,
    members: Vec<&'a str>,
}

/// Parses passwd(5) lines, skipping malformed ones.
fn parse_passwd(text: &str) -> Vec<PasswdEntry<'_>> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0].is_empty() {
                return None;
            }
            Some(PasswdEntry {
                name: f[0],
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5],
            })
        })
        .collect()
}

/// Parses group(5) lines, skipping malformed ones.
fn parse_group(text: &str) -> Vec<GroupEntry<'_>> {
    text.lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 4 || f[0].is_empty() {
                return None;
            }
            Some(GroupEntry {
                name: f[0],
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .collect(),
            })
        })
        .collect()
}

/// Resolves `spec` (`user`, `uid`, `user:group`, `uid:gid`, …) against the
/// text of passwd and group (empty when the file is missing).
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<ExecUser, Unresolved> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let users = parse_passwd(passwd);
    let groups = parse_group(group);
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => users.iter().find(|e| e.uid == uid),
        Err(_) if user_part.is_empty() => users.iter().find(|e| e.uid == 0),
        Err(_) => match users.iter().find(|e| e.name == user_part) {
            Some(e) => Some(e),
            None => return Err(Unresolved::User(user_part.to_string())),
        },
    };
    let uid = match (user_part.parse::<u32>(), entry) {
        (Ok(uid), _) => uid,
        (Err(_), Some(e)) => e.uid,
        (Err(_), None) => 0,
    };
    let gid = match group_part {
        Some(g) if !g.is_empty() => match g.parse::<u32>() {
            Ok(gid) => gid,
            Err(_) => match groups.iter().find(|e| e.name == g) {
                Some(e) => e.gid,
                None => return Err(Unresolved::Group(g.to_string())),
            },
        },
        _ => entry.map_or(0, |e| e.gid),
    };
    let is_group_given = group_part.is_some_and(|g| !g.is_empty());
    let mut supplementary = Vec::new();
    if let Some(e) = entry.filter(|_| !is_group_given) {
        for g in &groups {
            if g.members.contains(&e.name) && g.gid != gid && !supplementary.contains(&g.gid) {
                supplementary.push(g.gid);
            }
        }
    }
    let home = match entry {
        Some(e) if !e.home.is_empty() => e.home.to_string(),
        _ => "/".to_string(),
    };
    Ok(ExecUser {
        uid,
        gid,
        groups: supplementary,
        home,
        keep_groups: false,
    })
}

/// Puts the user's primary gid among its supplementary groups, as Podman
/// does when the user was given (`-u` or the image's USER): `id` then
/// lists it under `groups=`.
pub fn add_primary_group(user: &mut ExecUser) {
    if !user.groups.contains(&user.gid) {
        user.groups.insert(0, user.gid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\n\
        daemon:x:1:1:daemon:/usr/sbin:/bin/false\n\
        broken line\n\
        app:x:1000:1000:App:/home/app:/bin/sh\n\
        nohome:x:1001:100:::/bin/sh\n";
    const GROUP: &str = "root:x:0:\n\
        wheel:x:10:root,app\n\
        users:x:100:app\n\
        app:x:1000:\n\
        audio:x:29: app , daemon\n";

    fn user(uid: u32, gid: u32, groups: &[u32], home: &str) -> ExecUser {
        ExecUser {
            uid,
            gid,
            groups: groups.to_vec(),
            home: home.to_string(),
            keep_groups: false,
        }
    }

    #[test]
    fn resolves_names_numbers_and_groups() {
        let cases: &[(&str, ExecUser)] = &[
            ("root", user(0, 0, &[10], "/root")),
            ("0", user(0, 0, &[10], "/root")),
            ("app", user(1000, 1000, &[10, 100, 29], "/home/app")),
            ("1000", user(1000, 1000, &[10, 100, 29], "/home/app")),
            // An explicit group: no lookup of the user's groups (Podman).
            ("app:users", user(1000, 100, &[], "/home/app")),
            ("app:5", user(1000, 5, &[], "/home/app")),
            ("1000:1000", user(1000, 1000, &[], "/home/app")),
            ("4242", user(4242, 0, &[], "/")),
            ("4242:4243", user(4242, 4243, &[], "/")),
            ("nohome", user(1001, 100, &[], "/")),
            ("daemon:", user(1, 1, &[29], "/usr/sbin")),
        ];
        for (spec, want) in cases {
            assert_eq!(&resolve(spec, PASSWD, GROUP).unwrap(), want, "{spec}");
        }
    }

    #[test]
    fn the_primary_group_joins_the_supplementary_ones_once() {
        let mut u = resolve("app", PASSWD, GROUP).unwrap();
        add_primary_group(&mut u);
        assert_eq!(u.groups, [1000, 10, 100, 29]);
        add_primary_group(&mut u);
        assert_eq!(u.groups, [1000, 10, 100, 29]);
        let mut u = resolve("1000:1000", PASSWD, GROUP).unwrap();
        add_primary_group(&mut u);
        assert_eq!(u.groups, [1000]);
    }

    #[test]
    fn unknown_names_fail() {
        assert_eq!(
            resolve("ghost", PASSWD, GROUP),
            Err(Unresolved::User("ghost".into()))
        );
        assert_eq!(
            resolve("app:ghosts", PASSWD, GROUP),
            Err(Unresolved::Group("ghosts".into()))
        );
    }

    #[test]
    fn numeric_ids_work_without_files() {
        assert_eq!(resolve("0", "", ""), Ok(user(0, 0, &[], "/")));
        // The default user (no -u, no USER).
        assert_eq!(resolve("", "", ""), Ok(user(0, 0, &[], "/")));
        assert_eq!(resolve("", PASSWD, GROUP), Ok(user(0, 0, &[10], "/root")));
        assert_eq!(resolve("7:8", "", ""), Ok(user(7, 8, &[], "/")));
        assert_eq!(
            resolve("root", "", ""),
            Err(Unresolved::User("root".into()))
        );
    }
}
