//! Running a command as root in a new user namespace with the user's maps
//! (`hutch unshare`), and reporting how it ended.

use std::ffi::CString;
use std::io::Write;
use std::os::fd::AsFd;

use nix::errno::Errno;
use nix::sched::CloneFlags;
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::WaitStatus;

use super::{become_root, pipe, wait_for_maps, write_id_maps, Error, IdMaps};
use crate::sys::child::{spawn, Failure, Kind};

/// How the command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code (128+N for signal N).
    Exited(i32),
    /// No such command; the name.
    NotFound(String),
    /// It exists but exec refused it; the name and errno.
    CannotInvoke(String, Errno),
}

/// Signals the terminal sends to the whole process group: while the
/// command runs, they are the command's to handle, not ours.
const FORWARDED: [Signal; 3] = [Signal::SIGINT, Signal::SIGQUIT, Signal::SIGTSTP];

/// execv of `args[0]`, searched in PATH when it has no `/`; returns only
/// on failure. Unlike execvp(3), a PATH directory we may not search does
/// not turn "not found" into EACCES: only a file that exists does.
fn exec_searching(args: &[CString]) -> Errno {
    let prog = args[0].as_bytes();
    if prog.contains(&b'/') {
        let Err(e) = nix::unistd::execv(&args[0], args);
        return e;
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let mut found = Errno::ENOENT;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let mut candidate = dir.as_bytes().to_vec();
        candidate.push(b'/');
        candidate.extend_from_slice(prog);
        let Ok(c) = CString::new(candidate) else {
            continue;
        };
        let Err(e) = nix::unistd::execv(&c, args);
        if e != Errno::ENOENT && e != Errno::ENOTDIR && nix::sys::stat::stat(c.as_c_str()).is_ok() {
            found = e;
        }
    }
    found
}

/// Runs `argv` (searched in PATH) with `env` added to the environment, as
/// root in new user and mount namespaces with `maps`, and waits for it.
/// The caller must be single-threaded.
pub fn run_command(
    maps: &IdMaps,
    argv: &[String],
    env: &[(String, String)],
) -> Result<Outcome, Error> {
    let args: Vec<CString> = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| Error::Child("the command line contains a NUL byte".into()))?;
    let (go_r, go_w) = pipe()?;
    let mut child = spawn(
        CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS,
        &[go_w.as_fd()],
        |_| {
            wait_for_maps(go_r)
                .and_then(|()| become_root())
                .map_err(Failure::text)?;
            for (k, v) in env {
                std::env::set_var(k, v);
            }
            let e = exec_searching(&args);
            let kind = match e {
                Errno::ENOENT | Errno::ENOTDIR => Kind::NotFound,
                _ => Kind::CannotInvoke,
            };
            Err(Failure {
                kind,
                errno: e as i32,
                text: argv[0].clone(),
            })
        },
    )
    .map_err(Error::Clone)?;
    let mut block = SigSet::empty();
    for s in FORWARDED {
        block.add(s);
    }
    let mut old = SigSet::empty();
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old));
    let mapped = write_id_maps(child.pid(), maps);
    let mut go = std::fs::File::from(go_w);
    if mapped.is_ok() {
        let _ = go.write_all(b"1");
    }
    drop(go);
    let failure = child.read_failure();
    let status = child.wait().map_err(Error::Wait)?;
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    mapped?;
    let name = argv[0].clone();
    match failure {
        Ok(Some(f)) if f.kind == Kind::NotFound => return Ok(Outcome::NotFound(name)),
        Ok(Some(f)) if f.kind == Kind::CannotInvoke => {
            return Ok(Outcome::CannotInvoke(name, Errno::from_raw(f.errno)))
        }
        // A failed setup step exits 125, as the command itself might:
        // both read as that exit code.
        _ => {}
    }
    match status {
        WaitStatus::Exited(_, code) => Ok(Outcome::Exited(code)),
        WaitStatus::Signaled(_, sig, _) => Ok(Outcome::Exited(128 + sig as i32)),
        other => Err(Error::Child(format!("command ended with {other:?}"))),
    }
}
