//! `hutch doctor`: what rootless containers need from this host, each
//! checked for real where it can be (a user namespace is made, overlays
//! are mounted on the store), with what was found and the exact fix.
//!
//! The checks of identity and storage are here; those of the session,
//! cgroups, devices, network and clock are in `doctor_host`. Nothing here
//! prints: the front end formats the checks. Must be called
//! single-threaded (the probes fork).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use nix::sched::CloneFlags;

use super::{doctor_host, Engine};
use crate::storage::fstype;
use crate::userns::{self, IdMaps, SubidReport};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It works.
    Ok,
    /// It works, or is worked around, with a limitation.
    Warn,
    /// It does not work.
    Fail,
}

impl Status {
    /// The word `doctor` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The check's short name (`subuid`, `overlay`, ...).
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found.
    pub found: String,
    /// The command or setting that fixes a warning or failure; empty when
    /// it is ok.
    pub fix: String,
    /// Whether `run` cannot work while this fails (no fallback exists).
    pub is_needed: bool,
}

impl Check {
    pub(super) fn ok(name: &'static str, found: impl Into<String>) -> Check {
        Check {
            name,
            status: Status::Ok,
            found: found.into(),
            fix: String::new(),
            is_needed: false,
        }
    }

    pub(super) fn warn(
        name: &'static str,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            name,
            status: Status::Warn,
            found: found.into(),
            fix: fix.into(),
            is_needed: false,
        }
    }

    /// A failure; `is_needed` when `run` has no way around it.
    pub(super) fn fail(
        name: &'static str,
        found: impl Into<String>,
        fix: impl Into<String>,
        is_needed: bool,
    ) -> Check {
        Check {
            name,
            status: Status::Fail,
            found: found.into(),
            fix: fix.into(),
            is_needed,
        }
    }

    /// Whether this failure keeps `run` from working.
    pub fn is_blocking(&self) -> bool {
        self.status == Status::Fail && self.is_needed
    }
}

/// The ids subordinate ranges should at least give: `nobody` (65534) and
/// the ids below it that images use.
const FULL_RANGE: u64 = 65536;
/// Below this, the store is about to fill.
const LOW_SPACE: u64 = 1 << 30;
/// Below this, pulling or running anything fails.
const NO_SPACE: u64 = 100 << 20;

impl Engine {
    /// Checks this host for rootless containers (`hutch doctor`), in
    /// order. Must be called single-threaded.
    pub fn doctor(&self) -> Vec<Check> {
        let uid = nix::unistd::getuid().as_raw();
        let name = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|u| u.name);
        let who = name.clone().unwrap_or_else(|| uid.to_string());
        let etc = self.paths().etc().to_path_buf();
        let mut out = Vec::new();
        let reports: Vec<_> = ["subuid", "subgid"]
            .into_iter()
            .map(|file| userns::subid_report(&etc, file, name.as_deref(), uid))
            .collect();
        for (file, report) in [("subuid", &reports[0]), ("subgid", &reports[1])] {
            out.push(match report {
                Ok(r) => subid_check(file, r, &who),
                Err(e) => Check::fail(
                    if file == "subuid" { "subuid" } else { "subgid" },
                    crate::error::render_chain(e),
                    format!("sudo chmod 0644 {}", etc.join(file).display()),
                    false,
                ),
            });
        }
        let has_ranges = reports
            .iter()
            .all(|r| r.as_ref().is_ok_and(|r| !r.ranges.is_empty()));
        let path_var = std::env::var("PATH").unwrap_or_default();
        for (helper, cap) in [("newuidmap", CAP_SETUID), ("newgidmap", CAP_SETGID)] {
            out.push(helper_check(helper, cap, &path_var, has_ranges));
        }
        out.extend(doctor_host::userns_checks(Path::new("/proc/sys")));
        let maps = self.user_maps().ok().cloned();
        out.push(unshare_check(maps.as_ref()));
        out.extend(doctor_host::session_checks(self.paths(), &who));
        out.extend(doctor_host::cgroup_checks(Path::new(super::PROC)));
        let (store, is_kernel_ok) = self.store_checks(maps.as_ref());
        out.extend(store);
        out.extend(doctor_host::device_checks(Path::new("/dev"), is_kernel_ok));
        out.extend(doctor_host::network_checks(&path_var, Path::new("/dev")));
        out.push(doctor_host::clock_check(std::time::SystemTime::now()));
        out.push(doctor_host::timezone_check(
            &etc,
            Path::new("/usr/share/zoneinfo"),
        ));
        out
    }

    /// The store's filesystem, its free space and the overlays mounted
    /// on it; and whether kernel overlayfs worked there.
    fn store_checks(&self, maps: Option<&IdMaps>) -> (Vec<Check>, bool) {
        let root = &self.paths().root;
        let mut out = Vec::new();
        // Made first, as `info` makes it: the probes need it, and its
        // filesystem is then the store's own.
        let made = crate::storage::Store::make_dirs(root);
        match fstype::filesystem_of(root) {
            Ok(fs) => {
                out.push(match self.store_moved_from() {
                    Some((from, from_fs)) => Check::warn(
                        "store-fs",
                        format!(
                            "{} on {}: kept on this node, as {} is on {from_fs} (a network filesystem)",
                            fs.kind.name,
                            fs.path.display(),
                            from.display()
                        ),
                        format!(
                            "none needed; to keep the store elsewhere: hutch --root DIR (or export {}=DIR)",
                            crate::paths::ENV_ROOT
                        ),
                    ),
                    None => filesystem_check(root, &fs),
                });
                out.push(space_check(root, &fs));
            }
            Err(e) => out.push(Check::fail(
                "store-fs",
                format!("statfs of {}: {e}", root.display()),
                "give hutch a store it can reach with --root DIR",
                true,
            )),
        }
        let Some(maps) = maps else {
            out.push(Check::fail(
                "overlay",
                "not tried: the user's id maps cannot be read",
                "fix the subuid check first",
                true,
            ));
            return (out, false);
        };
        if let Err(e) = made {
            out.push(Check::fail(
                "overlay",
                format!("not tried: {}", crate::error::render_chain(&e)),
                "give hutch a store it can write with --root DIR",
                true,
            ));
            return (out, false);
        }
        out.push(owner_check(root, maps));
        let probe = crate::runtime::probe_each_overlay(root, maps);
        let is_kernel_ok = probe.kernel.is_ok();
        out.extend(overlay_checks(probe, root));
        (out, is_kernel_ok)
    }
}

/// The subuid or subgid check from its report.
fn subid_check(file: &str, r: &SubidReport, who: &str) -> Check {
    let name = if file == "subuid" { "subuid" } else { "subgid" };
    let flag = if file == "subuid" {
        "--add-subuids"
    } else {
        "--add-subgids"
    };
    let start = u64::from(r.free_start);
    let add = format!(
        "sudo usermod {flag} {start}-{} {who}",
        start + FULL_RANGE - 1
    );
    if r.ranges.is_empty() {
        return Check::fail(
            name,
            format!(
                "no range for {who} in {}: containers map only your own id (single-id fallback)",
                r.path.display()
            ),
            add,
            false,
        );
    }
    let shown: Vec<String> = r
        .ranges
        .iter()
        .map(|&(s, c)| format!("{s}-{} ({c} ids)", u64::from(s) + u64::from(c) - 1))
        .collect();
    let total: u64 = r.ranges.iter().map(|&(_, c)| u64::from(c)).sum();
    if !r.overlaps.is_empty() {
        let others: Vec<String> = r
            .overlaps
            .iter()
            .map(|(o, s, c)| format!("{o}'s {s}-{}", u64::from(*s) + u64::from(*c) - 1))
            .collect();
        return Check::warn(
            name,
            format!(
                "{who}: {}, overlapping {}: those users can reach each other's container files",
                shown.join(", "),
                others.join(", ")
            ),
            format!(
                "edit {} so that no two users' ranges overlap (a free one: {start}-{})",
                r.path.display(),
                start + FULL_RANGE - 1
            ),
        );
    }
    if total < FULL_RANGE {
        return Check::warn(
            name,
            format!(
                "{who}: {} in all {total} ids: images owning higher ids fail to unpack",
                shown.join(", ")
            ),
            add,
        );
    }
    Check::ok(name, format!("{who}: {}", shown.join(", ")))
}

/// `CAP_SETUID`'s bit (capability.h).
const CAP_SETUID: u32 = 7;
/// `CAP_SETGID`'s bit.
const CAP_SETGID: u32 = 6;

/// Whether a `security.capability` value (`vfs_cap_data`, capability.h)
/// grants capability `cap` (< 32) permitted.
pub(super) fn has_file_cap(xattr: &[u8], cap: u32) -> bool {
    xattr
        .get(4..8)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .is_some_and(|permitted| permitted & (1 << cap) != 0)
}

/// What may make `newuidmap` or `newgidmap` privileged: owned by root and
/// setuid, or a file capability; `None` when neither.
pub(super) fn helper_privilege(
    owner: u32,
    mode: u32,
    xattr: Option<&[u8]>,
    cap: u32,
) -> Option<&'static str> {
    if owner == 0 && mode & 0o4000 != 0 {
        Some("setuid root")
    } else if xattr.is_some_and(|x| has_file_cap(x, cap)) {
        Some("with file capabilities")
    } else {
        None
    }
}

/// The check of `newuidmap` or `newgidmap`; needed when the user has
/// ranges (without them hutch writes a single-id map itself).
fn helper_check(helper: &'static str, cap: u32, path_var: &str, has_ranges: bool) -> Check {
    let found = path_var
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(helper))
        .find(|p| p.is_file());
    let unused = if has_ranges {
        ""
    } else {
        " (unused while you have no subordinate range)"
    };
    let Some(path) = found else {
        let found = format!("{helper} is not on PATH{unused}");
        let fix = "sudo apt-get install uidmap (Fedora: sudo dnf install shadow-utils)";
        return if has_ranges {
            Check::fail(helper, found, fix, true)
        } else {
            Check::warn(helper, found, fix)
        };
    };
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => return Check::fail(helper, format!("{}: {e}", path.display()), "", has_ranges),
    };
    let xattr = crate::sys::xattr::lget(&path, b"security.capability")
        .ok()
        .flatten();
    match helper_privilege(meta.uid(), meta.permissions().mode(), xattr.as_deref(), cap) {
        Some(how) => Check::ok(helper, format!("{} {how}", path.display())),
        None => {
            let cap_name = if cap == CAP_SETUID {
                "cap_setuid"
            } else {
                "cap_setgid"
            };
            let found = format!(
                "{} is neither setuid root nor has {cap_name}: it cannot write your id maps{unused}",
                path.display()
            );
            let fix = format!(
                "sudo chmod u+s {p} (or: sudo setcap {cap_name}+ep {p})",
                p = path.display()
            );
            if has_ranges {
                Check::fail(helper, found, fix, true)
            } else {
                Check::warn(helper, found, fix)
            }
        }
    }
}

/// Makes a user namespace with the user's maps (through the helpers),
/// and on failure one with only the user's id, to tell the two apart.
fn unshare_check(maps: Option<&IdMaps>) -> Check {
    use crate::error::Diagnose;
    let try_maps = |m: &IdMaps| userns::run_as_root(m, CloneFlags::empty(), || Ok(()));
    let Some(maps) = maps else {
        return Check::fail(
            "unshare",
            "not tried: the user's id maps cannot be read",
            "fix the subuid check first",
            true,
        );
    };
    let err = match try_maps(maps) {
        Ok(()) if maps.is_single() => {
            return Check::ok("unshare", "a user namespace with your own id only works")
        }
        Ok(()) => {
            return Check::ok(
                "unshare",
                "a user namespace with your subordinate ids works",
            )
        }
        Err(e) => e,
    };
    let text = crate::error::render_chain(&err);
    let fix = err.hint().unwrap_or_default();
    if maps.is_single() {
        return Check::fail("unshare", format!("a user namespace: {text}"), fix, true);
    }
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let single = IdMaps::plan(uid, gid, &[], &[]);
    let found = match try_maps(&single) {
        Ok(()) => format!(
            "with your subordinate ids: {text}; with your own id only it works (not what run uses while you have a range)"
        ),
        Err(e) => format!(
            "with your subordinate ids: {text}; with your own id only: {}",
            crate::error::render_chain(&e)
        ),
    };
    Check::fail("unshare", found, fix, true)
}

/// The store's filesystem type.
fn filesystem_check(root: &Path, fs: &fstype::FsInfo) -> Check {
    let at = format!("{} on {}", fs.kind.name, fs.path.display());
    let local = local_store_hint();
    if fs.kind.is_network {
        return Check::warn(
            "store-fs",
            format!("{at}: a network filesystem, where overlay mounts, xattrs and locks misbehave"),
            format!(
                "keep the store on local disk: hutch --root {local} (or export HUTCH_ROOT={local})"
            ),
        );
    }
    match fs.kind.name {
        "overlay" => Check::warn(
            "store-fs",
            format!("{at}: overlay on overlay (hutch runs inside a container?); kernel overlayfs cannot use it as upper layer"),
            format!("mount a volume or local directory for the store: hutch --root {local}"),
        ),
        "tmpfs" | "ramfs" => Check::ok("store-fs", format!("{at} (emptied at reboot)")),
        "unknown" => Check::ok(
            "store-fs",
            format!("{at} (magic {:#x}) for {}", fs.kind.magic, root.display()),
        ),
        _ => Check::ok("store-fs", at),
    }
}

/// Whether a file in the store can be given to a subordinate id, as
/// unpacking an image's files owned by users other than root does: a
/// chown as root of the user namespace. A network filesystem's server
/// checks owners itself (NFS with AUTH_SYS sees only the user's own id)
/// and refuses it (issue #18).
fn owner_check(root: &Path, maps: &IdMaps) -> Check {
    if maps.is_single() {
        return Check::ok(
            "store-owners",
            "not needed: with your own id only, every image file is yours",
        );
    }
    let probe = root
        .join("tmp")
        .join(format!("owner-probe-{}", std::process::id()));
    let tried = userns::run_as_root(maps, CloneFlags::empty(), || {
        std::fs::write(&probe, b"").map_err(|e| format!("creating {}: {e}", probe.display()))?;
        let id = (nix::unistd::Uid::from_raw(1), nix::unistd::Gid::from_raw(1));
        let chowned = nix::unistd::chown(&probe, Some(id.0), Some(id.1)).map_err(|e| {
            format!(
                "chown of {} to a subordinate id (1:1 in the user namespace): {e}",
                probe.display()
            )
        });
        let _ = std::fs::remove_file(&probe);
        chowned
    });
    match tried {
        Ok(()) => Check::ok(
            "store-owners",
            format!("files in {} take your subordinate ids", root.display()),
        ),
        Err(e) => {
            let local = local_store_hint();
            Check::fail(
                "store-owners",
                format!(
                    "{}: image files that belong to users other than root cannot be unpacked there",
                    crate::error::render_chain(&e)
                ),
                format!(
                    "keep the store on local disk: hutch --root {local} (or export HUTCH_ROOT={local})"
                ),
                true,
            )
        }
    }
}

/// A directory on local disk to suggest for the store.
fn local_store_hint() -> String {
    format!("/var/tmp/hutch-{}", nix::unistd::getuid())
}

/// Free space on the store's filesystem.
fn space_check(root: &Path, fs: &fstype::FsInfo) -> Check {
    let gib = |b: u64| format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30));
    let found = format!(
        "{} free of {} on {}",
        gib(fs.available),
        gib(fs.size),
        fs.path.display()
    );
    let fix = format!(
        "hutch system prune --all, or a store on a larger filesystem: hutch --root DIR (now {})",
        root.display()
    );
    if fs.available < NO_SPACE {
        Check::fail("store-space", found, fix, true)
    } else if fs.available < LOW_SPACE {
        Check::warn("store-space", found, fix)
    } else {
        Check::ok("store-space", found)
    }
}

/// The kernel overlay and fuse-overlayfs lines from the probe.
fn overlay_checks(probe: crate::runtime::OverlayProbe, root: &Path) -> Vec<Check> {
    let where_ = format!("on {}", root.display());
    let fuse_fix = "sudo apt-get install fuse-overlayfs, and let users open /dev/fuse (sudo chmod 0666 /dev/fuse)";
    match (probe.kernel, probe.fuse) {
        (Ok(()), fuse) => vec![
            Check::ok(
                "overlay",
                format!("kernel overlayfs with userxattr mounts {where_}"),
            ),
            match fuse {
                Ok(()) => Check::ok("fuse-overlayfs", format!("mounts {where_}")),
                Err(e) => Check::warn(
                    "fuse-overlayfs",
                    format!("{e} (not needed while kernel overlayfs works)"),
                    fuse_fix,
                ),
            },
        ],
        (Err(k), Ok(())) => vec![
            Check::warn(
                "overlay",
                format!("kernel overlayfs {where_}: {k}; fuse-overlayfs is used instead (slower)"),
                "a kernel >= 5.11 mounts overlayfs with userxattr in a user namespace; keep the store on a local filesystem (ext4, xfs, btrfs, tmpfs)",
            ),
            Check::ok("fuse-overlayfs", format!("mounts {where_}")),
        ],
        (Err(k), Err(f)) => vec![
            Check::fail(
                "overlay",
                format!("kernel overlayfs {where_}: {k}"),
                "a kernel >= 5.11 mounts overlayfs with userxattr in a user namespace; keep the store on a local filesystem (hutch --root DIR)",
                true,
            ),
            Check::fail("fuse-overlayfs", format!("{where_}: {f}"), fuse_fix, true),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn report(ranges: &[(u32, u32)], overlaps: &[(&str, u32, u32)]) -> SubidReport {
        SubidReport {
            path: PathBuf::from("/etc/subuid"),
            ranges: ranges.to_vec(),
            overlaps: overlaps
                .iter()
                .map(|(o, s, c)| ((*o).to_string(), *s, *c))
                .collect(),
            free_start: 231072,
        }
    }

    #[test]
    fn subid_check_fails_without_range_and_names_the_usermod() {
        let c = subid_check("subuid", &report(&[], &[]), "ann");
        assert_eq!(c.status, Status::Fail);
        assert!(!c.is_blocking(), "the single-id fallback keeps run working");
        assert_eq!(c.fix, "sudo usermod --add-subuids 231072-296607 ann");
        let g = subid_check("subgid", &report(&[], &[]), "ann");
        assert!(g.fix.starts_with("sudo usermod --add-subgids "));
    }

    #[test]
    fn subid_check_warns_on_overlap_and_short_ranges() {
        let c = subid_check(
            "subuid",
            &report(&[(100000, 65536)], &[("bob", 150000, 65536)]),
            "ann",
        );
        assert_eq!(c.status, Status::Warn);
        assert!(c.found.contains("bob's 150000-215535"), "{}", c.found);
        let short = subid_check("subuid", &report(&[(100000, 1000)], &[]), "ann");
        assert_eq!(short.status, Status::Warn);
        let ok = subid_check("subuid", &report(&[(100000, 65536)], &[]), "ann");
        assert_eq!(
            (ok.status, ok.found.as_str()),
            (Status::Ok, "ann: 100000-165535 (65536 ids)")
        );
    }

    #[test]
    fn helpers_are_privileged_by_setuid_or_file_caps() {
        assert_eq!(
            helper_privilege(0, 0o104755, None, CAP_SETUID),
            Some("setuid root")
        );
        assert_eq!(helper_privilege(1000, 0o104755, None, CAP_SETUID), None);
        assert_eq!(helper_privilege(0, 0o100755, None, CAP_SETUID), None);
        // vfs_cap_data v2: magic, then permitted (low word) with bit 7.
        let caps = [
            0, 0, 0, 2, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            helper_privilege(0, 0o100755, Some(&caps), CAP_SETUID),
            Some("with file capabilities")
        );
        assert_eq!(helper_privilege(0, 0o100755, Some(&caps), CAP_SETGID), None);
    }

    #[test]
    fn network_stores_warn_and_name_a_local_one() {
        let fs = fstype::FsInfo {
            path: PathBuf::from("/home/ann"),
            kind: fstype::kind_of(0x6969),
            available: 5 << 30,
            size: 10 << 30,
        };
        let c = filesystem_check(Path::new("/home/ann/.local/share/hutch"), &fs);
        assert_eq!(c.status, Status::Warn);
        assert!(c.found.starts_with("nfs on /home/ann"), "{}", c.found);
        assert!(c.fix.contains("--root /var/tmp/hutch-"), "{}", c.fix);
        let low = fstype::FsInfo {
            available: 10 << 20,
            ..fs
        };
        assert!(space_check(Path::new("/x"), &low).is_blocking());
    }

    #[test]
    fn overlay_lines_follow_what_mounted() {
        use crate::runtime::OverlayProbe;
        let both = overlay_checks(
            OverlayProbe {
                kernel: Ok(()),
                fuse: Err("opening /dev/fuse: EACCES".into()),
            },
            Path::new("/s"),
        );
        assert_eq!((both[0].status, both[1].status), (Status::Ok, Status::Warn));
        assert!(both[1].fix.contains("chmod 0666 /dev/fuse"));
        let none = overlay_checks(
            OverlayProbe {
                kernel: Err("a".into()),
                fuse: Err("b".into()),
            },
            Path::new("/s"),
        );
        assert!(none.iter().all(Check::is_blocking));
    }
}
