//! The `hutch-enter` helper (issue #19): the small program that joins a
//! running container for `exec`.
//!
//! Whatever program enters the container must run from a sealed
//! in-memory copy (CVE-2019-5736: a process of the container could open
//! `/proc/PID/exe` of the entering process and write the binary through it
//! later). Sealing the whole hutch binary (about 21 MB) cost most of
//! `exec`'s time, so hutch seals this helper instead (a few hundred KB,
//! found beside the hutch binary): hutch computes everything before the
//! fork, its forked child writes nothing but execs the sealed helper with
//! the fds it needs, and the helper reads the plan (the `Join` of `join`,
//! without its fds) from an inherited memfd and runs `join::start`, the
//! same code as before, in its own image.
//!
//! The plan's wire format is private to one build of hutch and its
//! helper: little-endian integers, strings and byte strings as a u32
//! length and bytes, options as a 0/1 byte, lists as a u32 count.

use std::ffi::CString;
use std::io::{Read, Seek, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;

use super::exec::Process;
use super::hardening::{Hardening, Ulimit};
use super::join::{self, Join};
use super::report::Failure;
use super::Error;
use crate::sys::child::{Never, Reporter};
use crate::sys::pty::Winsize;
use crate::sys::seccomp::Program;
use crate::userns::{IdMap, IdMaps};

/// The helper's file name, beside the hutch binary.
pub const HELPER: &str = "hutch-enter";

/// Set by a hutch running from a sealed copy of itself (the REST service)
/// to where its binary is on disk: there `/proc/self/exe` names the memfd,
/// not the directory the helper is in, and so it does in the monitors the
/// copy spawns (through `/proc/self/exe`), which inherit the variable.
const ENV_ORIGINAL_EXE: &str = "_HUTCH_ORIGINAL_EXE";

/// Records, for this process and those it spawns, that the hutch binary
/// is at `path` on disk (see `ENV_ORIGINAL_EXE`).
pub fn remember_original_exe(path: &std::ffi::OsStr) {
    std::env::set_var(ENV_ORIGINAL_EXE, path);
}

/// The helper beside the running hutch binary, as `proc`'s `self/exe`
/// names it, or as `ENV_ORIGINAL_EXE` does when that is a memfd.
pub fn helper_path(proc: &Path) -> Result<PathBuf, Error> {
    helper_path_with(proc, std::env::var_os(ENV_ORIGINAL_EXE))
}

/// `helper_path` with the value of `ENV_ORIGINAL_EXE`.
fn helper_path_with(proc: &Path, original: Option<std::ffi::OsString>) -> Result<PathBuf, Error> {
    let exe = std::fs::read_link(proc.join("self/exe")).map_err(|e| Error::Setup {
        step: "finding the hutch binary".into(),
        source: Some(e),
    })?;
    let is_memfd = exe.to_string_lossy().starts_with("/memfd:");
    let exe = match original {
        Some(original) if is_memfd => PathBuf::from(original),
        _ => exe,
    };
    let dir = exe.parent().unwrap_or(Path::new("/"));
    Ok(dir.join(HELPER))
}

/// A sealed in-memory copy of the helper at `path`, made before the fork.
pub fn seal_helper(path: &Path) -> Result<OwnedFd, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::MissingHelper {
        path: path.to_path_buf(),
        source: e,
    })?;
    crate::sys::reexec::sealed_copy(file.as_fd(), HELPER).map_err(|e| Error::Setup {
        step: format!("copying {} into a sealed memfd", path.display()),
        source: Some(e),
    })
}

/// The fds of a `Join`, by number: those the forked child keeps open
/// across the exec of the helper.
struct Fds {
    namespaces: Vec<(i32, RawFd)>,
    pty_socket: Option<RawFd>,
    null: Option<RawFd>,
    outputs: Option<(RawFd, RawFd)>,
    cgroup_gate: Option<RawFd>,
}

impl Fds {
    fn of(join: &Join<'_>) -> Fds {
        Fds {
            namespaces: join
                .namespaces
                .iter()
                .map(|(k, fd)| (k.bits(), fd.as_raw_fd()))
                .collect(),
            pty_socket: join.pty_socket.as_ref().map(AsRawFd::as_raw_fd),
            null: join.null.as_ref().map(AsRawFd::as_raw_fd),
            outputs: join
                .outputs
                .as_ref()
                .map(|(o, e)| (o.as_raw_fd(), e.as_raw_fd())),
            cgroup_gate: join.cgroup_gate.as_ref().map(AsRawFd::as_raw_fd),
        }
    }

    #[cfg(test)]
    fn all(&self) -> Vec<RawFd> {
        let mut v: Vec<RawFd> = self.namespaces.iter().map(|(_, fd)| *fd).collect();
        v.extend(self.pty_socket);
        v.extend(self.null);
        v.extend(self.outputs.iter().flat_map(|(o, e)| [*o, *e]));
        v.extend(self.cgroup_gate);
        v
    }
}

/// Writes the plan of `join` into a new close-on-exec memfd, read from
/// its start; made in the parent before the fork.
pub fn write_plan(join: &Join<'_>) -> Result<OwnedFd, Error> {
    let failed = |e: std::io::Error| Error::Setup {
        step: "writing the exec plan for hutch-enter".into(),
        source: Some(e),
    };
    let bytes = encode(join);
    let fd =
        nix::sys::memfd::memfd_create(c"hutch-enter-plan", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(|e| failed(e.into()))?;
    let mut file = std::fs::File::from(fd);
    file.write_all(&bytes).map_err(failed)?;
    file.rewind().map_err(failed)?;
    Ok(OwnedFd::from(file))
}

/// In the forked child: keeps the join's fds, the plan and the report
/// pipe open across exec and executes the sealed helper; returns only on
/// failure. `join` stays owned here until the exec closes what it must.
pub fn exec_helper(
    helper: BorrowedFd<'_>,
    plan: BorrowedFd<'_>,
    join: &Join<'_>,
    reporter: &Reporter,
) -> Result<Never, Failure> {
    let kept = [plan, reporter.as_fd()]
        .into_iter()
        .chain(join.namespaces.iter().map(|(_, f)| f.as_fd()))
        .chain(join.pty_socket.iter().map(AsFd::as_fd))
        .chain(join.null.iter().map(AsFd::as_fd))
        .chain(
            join.outputs
                .iter()
                .flat_map(|(o, e)| [o.as_fd(), e.as_fd()]),
        )
        .chain(join.cgroup_gate.iter().map(AsFd::as_fd));
    for fd in kept {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .map_err(|e| Failure::step("keeping an fd for hutch-enter", e))?;
    }
    let arg = |s: String| CString::new(s).unwrap_or_default();
    let args = [
        arg(HELPER.into()),
        arg(reporter.as_fd().as_raw_fd().to_string()),
        arg(plan.as_raw_fd().to_string()),
    ];
    let e = crate::sys::reexec::exec_fd(helper, &args, &[]);
    Err(Failure::step("executing the sealed hutch-enter", e))
}

/// The helper's `main`: `hutch-enter REPORT-FD PLAN-FD`. Reads the plan,
/// then joins and hands over exactly as `join::start` does in hutch.
/// Never returns.
// Reached only from the hutch-enter binary (src/enter.rs), which compiles
// this module too; in hutch it, and the joining it leads to, is unused.
#[allow(dead_code)]
pub fn run_helper(args: &[String]) -> ! {
    let fd_arg = |i: usize| args.get(i).and_then(|a| a.parse::<RawFd>().ok());
    let Some(report) = fd_arg(1).and_then(|fd| crate::sys::process::take_inherited_fd(fd).ok())
    else {
        // Not started by hutch: nothing to report to.
        crate::sys::process::exit_now(crate::sys::child::EXIT_FAILED)
    };
    crate::sys::child::run_inherited(report, |reporter| {
        let plan = fd_arg(2)
            .ok_or_else(|| Failure::text("hutch-enter: no plan fd"))
            .and_then(|fd| {
                crate::sys::process::take_inherited_fd(fd)
                    .map_err(|e| Failure::io("taking the exec plan", &e))
            })?;
        let mut bytes = Vec::new();
        std::fs::File::from(plan)
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::io("reading the exec plan", &e))?;
        let decoded = decode(&bytes).ok_or_else(|| Failure::text("the exec plan is malformed"))?;
        let take = |fd: RawFd| {
            crate::sys::process::take_inherited_fd(fd)
                .map_err(|e| Failure::io("taking an fd of the exec plan", &e))
        };
        let take_opt = |fd: Option<RawFd>| fd.map(take).transpose();
        let Decoded {
            process,
            maps,
            seccomp,
            winsize,
            fds,
        } = decoded;
        let mut namespaces = Vec::with_capacity(fds.namespaces.len());
        for (bits, fd) in &fds.namespaces {
            namespaces.push((CloneFlags::from_bits_retain(*bits), take(*fd)?));
        }
        let outputs = match fds.outputs {
            Some((o, e)) => Some((take(o)?, take(e)?)),
            None => None,
        };
        let seccomp = match seccomp {
            Some(b) => Some(
                Program::from_bytes(&b)
                    .ok_or_else(|| Failure::text("the exec plan's seccomp filter is malformed"))?,
            ),
            None => None,
        };
        join::start(
            Join {
                namespaces,
                process: &process,
                maps: &maps,
                pty_socket: take_opt(fds.pty_socket)?,
                null: take_opt(fds.null)?,
                outputs,
                winsize,
                seccomp: seccomp.as_ref(),
                cgroup_gate: take_opt(fds.cgroup_gate)?,
            },
            reporter,
        )
    })
}

// ---------------------------------------------------------------------------
// The wire format

/// A decoded plan: the `Join` without its fds, and their numbers.
struct Decoded {
    process: Process,
    maps: IdMaps,
    seccomp: Option<Vec<u8>>,
    winsize: Option<Winsize>,
    fds: Fds,
}

#[derive(Default)]
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).unwrap_or(u32::MAX));
    }
    fn bytes(&mut self, b: &[u8]) {
        self.len(b.len());
        self.0.extend_from_slice(b);
    }
    fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    fn strs(&mut self, v: &[String]) {
        self.len(v.len());
        v.iter().for_each(|s| self.str(s));
    }
    fn opt<T>(&mut self, v: Option<T>, f: impl FnOnce(&mut Self, T)) {
        self.bool(v.is_some());
        if let Some(v) = v {
            f(self, v);
        }
    }
    fn maps(&mut self, v: &[IdMap]) {
        self.len(v.len());
        for m in v {
            self.u32(m.container);
            self.u32(m.host);
            self.u32(m.size);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i32(&mut self) -> Option<i32> {
        Some(i32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn len(&mut self) -> Option<usize> {
        usize::try_from(self.u32()?).ok()
    }
    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = self.len()?;
        self.take(n).map(<[u8]>::to_vec)
    }
    fn str(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }
    fn strs(&mut self) -> Option<Vec<String>> {
        let n = self.len()?;
        (0..n).map(|_| self.str()).collect()
    }
    fn opt<T>(&mut self, f: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.bool()? {
            f(self).map(Some)
        } else {
            Some(None)
        }
    }
    fn maps(&mut self) -> Option<Vec<IdMap>> {
        let n = self.len()?;
        (0..n)
            .map(|_| {
                Some(IdMap {
                    container: self.u32()?,
                    host: self.u32()?,
                    size: self.u32()?,
                })
            })
            .collect()
    }
}

/// The plan of `join` as bytes. The deadline of `--timeout` stays with
/// hutch, which enforces it.
fn encode(join: &Join<'_>) -> Vec<u8> {
    let mut w = Writer::default();
    let p = join.process;
    w.strs(&p.args);
    w.strs(&p.env);
    w.str(&p.cwd);
    w.str(&p.user);
    w.bool(p.tty);
    w.bool(p.interactive);
    w.bool(p.detach);
    w.u64(p.caps);
    w.bool(p.no_new_privileges);
    w.len(p.hardening.ulimits.len());
    for u in &p.hardening.ulimits {
        w.str(&u.name);
        w.u64(u.soft);
        w.u64(u.hard);
    }
    w.opt(p.hardening.oom_score_adj, Writer::i32);
    w.bool(p.hardening.init);
    w.u32(p.preserve_fds);
    w.maps(&join.maps.uids);
    w.maps(&join.maps.gids);
    w.opt(join.maps.fallback_reason.as_deref(), Writer::str);
    w.opt(join.seccomp.map(Program::to_bytes), |w, b| w.bytes(&b));
    w.opt(join.winsize, |w, ws| {
        for v in [ws.ws_row, ws.ws_col, ws.ws_xpixel, ws.ws_ypixel] {
            w.u32(u32::from(v));
        }
    });
    let fds = Fds::of(join);
    w.len(fds.namespaces.len());
    for (bits, fd) in &fds.namespaces {
        w.i32(*bits);
        w.i32(*fd);
    }
    w.opt(fds.pty_socket, Writer::i32);
    w.opt(fds.null, Writer::i32);
    w.opt(fds.outputs, |w, (o, e)| {
        w.i32(o);
        w.i32(e);
    });
    w.opt(fds.cgroup_gate, Writer::i32);
    w.0
}

/// Reads what `encode` wrote; `None` when it is malformed or has bytes
/// left over.
fn decode(bytes: &[u8]) -> Option<Decoded> {
    let mut r = Reader(bytes);
    let mut process = Process {
        args: r.strs()?,
        env: r.strs()?,
        cwd: r.str()?,
        user: r.str()?,
        tty: r.bool()?,
        interactive: r.bool()?,
        detach: r.bool()?,
        caps: r.u64()?,
        no_new_privileges: r.bool()?,
        hardening: Hardening::default(),
        preserve_fds: 0,
        deadline: None,
    };
    let n = r.len()?;
    for _ in 0..n {
        process.hardening.ulimits.push(Ulimit {
            name: r.str()?,
            soft: r.u64()?,
            hard: r.u64()?,
        });
    }
    process.hardening.oom_score_adj = r.opt(Reader::i32)?;
    process.hardening.init = r.bool()?;
    process.preserve_fds = r.u32()?;
    let maps = IdMaps {
        uids: r.maps()?,
        gids: r.maps()?,
        fallback_reason: r.opt(Reader::str)?,
    };
    let seccomp = r.opt(Reader::bytes)?;
    let winsize = r.opt(|r| {
        let mut v = [0u16; 4];
        for x in &mut v {
            *x = u16::try_from(r.u32()?).ok()?;
        }
        Some(Winsize {
            ws_row: v[0],
            ws_col: v[1],
            ws_xpixel: v[2],
            ws_ypixel: v[3],
        })
    })?;
    let n = r.len()?;
    let namespaces = (0..n)
        .map(|_| Some((r.i32()?, r.i32()?)))
        .collect::<Option<Vec<_>>>()?;
    let fds = Fds {
        namespaces,
        pty_socket: r.opt(Reader::i32)?,
        null: r.opt(Reader::i32)?,
        outputs: r.opt(|r| Some((r.i32()?, r.i32()?)))?,
        cgroup_gate: r.opt(Reader::i32)?,
    };
    r.0.is_empty().then_some(Decoded {
        process,
        maps,
        seccomp,
        winsize,
        fds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process() -> Process {
        Process {
            args: vec!["sh".into(), "-c".into(), "echo ü".into()],
            env: vec!["PATH=/bin".into(), "A=b=c".into()],
            cwd: "/work".into(),
            user: "1000:wheel".into(),
            tty: true,
            interactive: false,
            detach: false,
            caps: 0x00a8_05fb,
            no_new_privileges: true,
            hardening: Hardening {
                ulimits: vec![Ulimit {
                    name: "nofile".into(),
                    soft: 100,
                    hard: u64::MAX,
                }],
                oom_score_adj: Some(-5),
                init: false,
            },
            preserve_fds: 2,
            deadline: None,
        }
    }

    fn maps() -> IdMaps {
        IdMaps {
            uids: vec![
                IdMap {
                    container: 0,
                    host: 1001,
                    size: 1,
                },
                IdMap {
                    container: 1,
                    host: 100_000,
                    size: 65536,
                },
            ],
            gids: vec![IdMap {
                container: 0,
                host: 1001,
                size: 1,
            }],
            fallback_reason: Some("no range".into()),
        }
    }

    fn fd() -> OwnedFd {
        OwnedFd::from(std::fs::File::open("/dev/null").unwrap())
    }

    #[test]
    fn a_plan_reads_back_as_written_but_the_deadline() {
        let (process, maps) = (process(), maps());
        let program = Program::from_bytes(&[6, 0, 0, 0, 0, 0, 0xff, 0x7f]).unwrap();
        let ws = Winsize {
            ws_row: 24,
            ws_col: 80,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let join = Join {
            namespaces: vec![
                (CloneFlags::CLONE_NEWUSER, fd()),
                (CloneFlags::CLONE_NEWNS, fd()),
            ],
            process: &process,
            maps: &maps,
            pty_socket: Some(fd()),
            null: None,
            outputs: Some((fd(), fd())),
            winsize: Some(ws),
            seccomp: Some(&program),
            cgroup_gate: Some(fd()),
        };
        let d = decode(&encode(&join)).expect("decodes");
        assert_eq!(d.process, process);
        assert_eq!(d.maps, maps);
        assert_eq!(d.seccomp, Some(program.to_bytes()));
        let w = d.winsize.unwrap();
        assert_eq!((w.ws_row, w.ws_col), (24, 80));
        let want = Fds::of(&join);
        assert_eq!(d.fds.all(), want.all());
        assert_eq!(
            d.fds.namespaces[0].0,
            CloneFlags::CLONE_NEWUSER.bits(),
            "the user namespace stays first"
        );
        assert_eq!(d.fds.null, None);
    }

    #[test]
    fn truncated_or_padded_plans_are_refused() {
        let (process, maps) = (process(), maps());
        let join = Join {
            namespaces: vec![],
            process: &process,
            maps: &maps,
            pty_socket: None,
            null: None,
            outputs: None,
            winsize: None,
            seccomp: None,
            cgroup_gate: None,
        };
        let bytes = encode(&join);
        assert!(decode(&bytes).is_some());
        for n in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(decode(&bytes[..n]).is_none(), "{n} bytes");
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(decode(&padded).is_none());
    }

    #[test]
    fn the_helper_is_found_beside_the_binary_or_its_original() {
        let proc = tempfile::tempdir().unwrap();
        std::fs::create_dir(proc.path().join("self")).unwrap();
        let exe = proc.path().join("self/exe");
        std::os::unix::fs::symlink("/opt/x/bin/hutch", &exe).unwrap();
        let original = || Some("/usr/local/bin/hutch".into());
        for recorded in [None, original()] {
            assert_eq!(
                helper_path_with(proc.path(), recorded).unwrap(),
                Path::new("/opt/x/bin/hutch-enter")
            );
        }
        // A sealed copy: the recorded original, never "/".
        std::fs::remove_file(&exe).unwrap();
        std::os::unix::fs::symlink("/memfd:hutch (deleted)", &exe).unwrap();
        assert_eq!(
            helper_path_with(proc.path(), original()).unwrap(),
            Path::new("/usr/local/bin/hutch-enter")
        );
    }
}
