//! `--passwd`, `--passwd-entry` and `--hostuser` (#13): the /etc/passwd
//! and /etc/group lines Podman adds for users the image lacks, computed
//! when the container is created. Init adds each line whose id the
//! image's files do not have yet (`runtime::identity`).

use crate::runtime::identity::ExtraUser;

/// Podman's default `--passwd-entry`.
const DEFAULT_ENTRY: &str = "$USERNAME:*:$UID:$GID:$NAME:$HOME:/bin/sh";

/// The GECOS field Podman gives the user it adds.
const CONTAINER_USER: &str = "container user";

/// What the passwd flags ask for.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct PasswdRequest {
    /// `--passwd` (`None`: true): add an entry for a numeric user the
    /// image lacks.
    pub is_added: Option<bool>,
    /// `--passwd-entry`: the template of that entry.
    pub entry: Option<String>,
    /// `--hostuser`: host users (names or uids) to add.
    pub hostusers: Vec<String>,
}

/// Why a passwd flag cannot apply.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--hostuser` names no user of the host.
    #[error("user: unknown user {0}")]
    UnknownHostUser(String),
}

/// The users to add for a container running as `user` (`-u` or the
/// image's) in `workdir`, in Podman's order: each `--hostuser` from
/// `host_passwd` (the host's /etc/passwd text) with `workdir` as its home,
/// then with `--passwd` an entry from the template for a numeric uid (and
/// a group line for a numeric gid); init leaves out those whose ids the
/// image has.
pub fn plan_users(
    req: &PasswdRequest,
    user: &str,
    workdir: &str,
    host_passwd: &str,
) -> Result<Vec<ExtraUser>, Error> {
    let mut out = Vec::new();
    for name in &req.hostusers {
        let fields = host_passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() >= 7 && (f[0] == name || f[2] == name))
            .ok_or_else(|| Error::UnknownHostUser(name.clone()))?;
        let (Ok(uid), Ok(gid)) = (fields[2].parse::<u32>(), fields[3].parse::<u32>()) else {
            return Err(Error::UnknownHostUser(name.clone()));
        };
        out.push(ExtraUser {
            uid,
            passwd_line: format!(
                "{}:*:{uid}:{gid}:{}:{workdir}:/bin/sh",
                fields[0], fields[4]
            ),
            group: None,
        });
    }
    if req.is_added != Some(false) {
        if let Some(u) = numeric_user(user, workdir, req.entry.as_deref()) {
            out.push(u);
        }
    }
    Ok(out)
}

/// The entry for `user` when its uid (and gid, if given) are numbers.
fn numeric_user(user: &str, workdir: &str, template: Option<&str>) -> Option<ExtraUser> {
    let (uid_text, gid_text) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let uid: u32 = uid_text.parse().ok()?;
    let gid: u32 = match gid_text {
        Some(g) => g.parse().ok()?,
        None => 0,
    };
    let line = template
        .unwrap_or(DEFAULT_ENTRY)
        .replace("$USERNAME", uid_text)
        .replace("$UID", uid_text)
        .replace("$GID", &gid.to_string())
        .replace("$NAME", CONTAINER_USER)
        .replace("$HOME", workdir);
    Some(ExtraUser {
        uid,
        passwd_line: line,
        group: gid_text.map(|_| (gid, format!("{gid}:x:{gid}:{uid_text}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "root:x:0:0:root:/root:/bin/bash\nme:x:1001:1001:Me:/home/me:/bin/bash\n";

    fn lines(users: &[ExtraUser]) -> Vec<String> {
        users.iter().map(|u| u.passwd_line.clone()).collect()
    }

    #[test]
    fn a_numeric_user_gets_podmans_entry_and_a_group_line_for_its_gid() {
        let req = PasswdRequest::default();
        let u = plan_users(&req, "4242:4343", "/tmp", "").unwrap();
        assert_eq!(lines(&u), ["4242:*:4242:4343:container user:/tmp:/bin/sh"]);
        assert_eq!(u[0].uid, 4242);
        assert_eq!(u[0].group, Some((4343, "4343:x:4343:4242".into())));
        let u = plan_users(&req, "4242", "/", "").unwrap();
        assert_eq!(lines(&u), ["4242:*:4242:0:container user:/:/bin/sh"]);
        assert_eq!(u[0].group, None);
        for named in ["app", "", "4242:wheel"] {
            assert!(
                plan_users(&req, named, "/", "").unwrap().is_empty(),
                "{named}"
            );
        }
        let off = PasswdRequest {
            is_added: Some(false),
            ..PasswdRequest::default()
        };
        assert!(plan_users(&off, "4242", "/", "").unwrap().is_empty());
    }

    #[test]
    fn the_entry_template_and_host_users_are_podmans() {
        let req = PasswdRequest {
            entry: Some("u$USERNAME:x:$UID:$GID:$NAME:$HOME:/bin/sh".into()),
            hostusers: vec!["me".into(), "0".into()],
            ..PasswdRequest::default()
        };
        let u = plan_users(&req, "4242", "/w", HOST).unwrap();
        assert_eq!(
            lines(&u),
            [
                "me:*:1001:1001:Me:/w:/bin/sh",
                "root:*:0:0:root:/w:/bin/sh",
                "u4242:x:4242:0:container user:/w:/bin/sh",
            ]
        );
        let bad = PasswdRequest {
            hostusers: vec!["nobody-here".into()],
            ..PasswdRequest::default()
        };
        assert!(matches!(
            plan_users(&bad, "", "/", HOST),
            Err(Error::UnknownHostUser(n)) if n == "nobody-here"
        ));
    }
}
