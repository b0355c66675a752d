//! The last steps before exec, shared by the container's init and `exec`:
//! stdio onto the pty or /dev/null, argv and environment, signal and fd
//! hygiene, the parent death signal, and execve of a program resolved
//! beneath the container's root.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};

use super::mounts;
use super::report::{Failure, Kind};
use crate::sys::child::EXIT_FAILED;
use crate::sys::fs::{openat2, Resolve};
use crate::sys::process::{close_on_exec_from, exit_now, reset_signal_dispositions};
use crate::sys::pty::{self, Winsize};

/// A process to exec: argv, environment and the PATH to search.
pub struct Command {
    args: Vec<CString>,
    env: Vec<CString>,
    path_var: String,
}

/// Builds the `Command` for `args` with `env`, adding `HOME=home` when the
/// environment has no HOME.
pub fn prepare_command(args: &[String], env: &[String], home: &str) -> Result<Command, Failure> {
    let mut env = env.to_vec();
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={home}"));
    }
    let path_var = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(super::plan::DEFAULT_PATH)
        .to_string();
    Ok(Command {
        args: cstrings(args, "the command line")?,
        env: cstrings(&env, "the environment")?,
        path_var,
    })
}

/// Restores default signal handling (the parent blocked the signals it
/// forwards, and the mask survives exec), then makes every fd but stdio
/// (and the `preserved` ones after them, `--preserve-fds`, which the user
/// passed to hutch) close-on-exec: no fd of hutch or the host leaks into
/// the container (CVE-2024-21626 class). They are marked rather than closed, so no owner
/// still on the stack is left naming a closed fd; `--init`'s init, which
/// never execs, closes them (see `initproc`).
pub fn reset_for_exec(preserved: u32) -> Result<(), Failure> {
    reset_signal_dispositions();
    sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None)
        .map_err(|e| Failure::step("resetting the signal mask", e))?;
    close_on_exec_from(3 + preserved).map_err(|e| Failure::io("closing inherited fds", &e))
}

/// Sets the parent death signal to SIGKILL; must come after the last
/// credential change, which clears it. If the parent is already gone the
/// signal never comes, but then no one reads the error pipe `err` either:
/// poll reports POLLERR on a pipe without readers, and we exit.
pub fn die_with_parent(err: BorrowedFd<'_>) -> Result<(), Failure> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(|e| Failure::step("setting the parent death signal", e))?;
    if is_parent_gone(err) {
        exit_now(EXIT_FAILED);
    }
    Ok(())
}

/// Whether the read end of the error pipe `err` is closed: the parent,
/// the only reader, has exited.
fn is_parent_gone(err: BorrowedFd<'_>) -> bool {
    let mut fds = [nix::poll::PollFd::new(err, nix::poll::PollFlags::POLLOUT)];
    matches!(nix::poll::poll(&mut fds, nix::poll::PollTimeout::ZERO), Ok(n) if n > 0)
        && fds[0]
            .revents()
            .is_some_and(|r| r.contains(nix::poll::PollFlags::POLLERR))
}

/// Opens a pty in the container's devpts beneath `root`, sends its master
/// to the parent and returns the slave.
pub fn open_pty(
    root: BorrowedFd<'_>,
    sock: &OwnedFd,
    winsize: Option<&Winsize>,
) -> Result<OwnedFd, Failure> {
    let master = mounts::open_ptmx(root)?;
    pty::unlock(master.as_fd()).map_err(|e| Failure::io("unlocking the pty", &e))?;
    let slave = pty::open_peer(master.as_fd(), libc::O_RDWR | libc::O_NOCTTY)
        .map_err(|e| Failure::io("opening the pty slave", &e))?;
    if let Some(ws) = winsize {
        // Before exec, so the first `stty size` already sees it.
        pty::set_window_size(slave.as_fd(), ws)
            .map_err(|e| Failure::io("setting the pty size", &e))?;
    }
    super::pty::send_master(sock.as_fd(), master.as_fd())
        .map_err(|e| Failure::io("sending the pty to hutch", &e))?;
    Ok(slave)
}

/// Duplicates `fd` onto stdio fd `target` (0, 1 or 2).
pub fn dup_onto(fd: BorrowedFd<'_>, target: i32) -> Result<(), Failure> {
    let ret = match target {
        0 => nix::unistd::dup2_stdin(fd),
        1 => nix::unistd::dup2_stdout(fd),
        _ => nix::unistd::dup2_stderr(fd),
    };
    ret.map_err(|e| Failure::step(format!("setting up fd {target}"), e))
}

fn cstrings(v: &[String], what: &str) -> Result<Vec<CString>, Failure> {
    v.iter()
        .map(|s| CString::new(s.as_bytes()))
        .collect::<Result<_, _>>()
        .map_err(|_| Failure::step(format!("{what} contains a NUL byte"), Errno::EINVAL))
}

/// execve like execvp(3): a name without `/` is searched in the command's
/// PATH. Every candidate is resolved beneath `/` (the container's root)
/// with /proc magic links refused, so neither `/proc/self/exe` nor a
/// link to it can make the kernel run the process's own executable (the
/// hutch binary before this exec, CVE-2019-5736 class); an ELF file is
/// then executed through the very fd that was checked. Returns only on
/// failure: not found (127) or cannot invoke (126).
pub fn exec(command: &Command) -> Failure {
    let Command {
        args,
        env,
        path_var,
    } = command;
    let root = match nix::fcntl::open(
        "/",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => return Failure::step("opening / to resolve the command", e),
    };
    let prog = args[0].to_string_lossy().into_owned();
    if prog.contains('/') {
        let e = exec_in_root(root.as_fd(), &absolute(&prog), args, env);
        return exec_failure(&prog, e);
    }
    let mut denied = None;
    for dir in path_var.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = format!("{dir}/{prog}");
        let e = exec_in_root(root.as_fd(), &absolute(&candidate), args, env);
        match e {
            Errno::ENOENT | Errno::ENOTDIR => continue,
            // Like execvp: remember, keep looking, and report it if nothing runs.
            Errno::EACCES => {
                denied.get_or_insert((candidate, e));
            }
            _ => return exec_failure(&candidate, e),
        }
    }
    match denied {
        Some((path, e)) => exec_failure(&path, e),
        None => Failure {
            kind: Kind::NotFound,
            errno: 0,
            text: prog,
        },
    }
}

/// `path` made absolute against the working directory (already checked
/// to lie inside the root).
fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    match nix::unistd::getcwd() {
        Ok(cwd) => format!("{}/{path}", cwd.display()),
        Err(_) => format!("/{path}"),
    }
}

/// How many `#!` interpreters deep the kernel follows (binfmt_script).
const MAX_INTERPRETER_DEPTH: usize = 5;

/// Resolves the absolute `path` beneath `root` without magic links and
/// executes it: an ELF file through its fd, a script by path once every
/// interpreter of its `#!` chain resolved the same way (the kernel
/// resolves those itself, so each is checked first). Returns the errno of
/// the failure.
fn exec_in_root(root: BorrowedFd<'_>, path: &str, args: &[CString], env: &[CString]) -> Errno {
    let fd = match open_program(root, path) {
        Ok(fd) => fd,
        Err(e) => return e,
    };
    match check_interpreters(root, path, 0) {
        Ok(false) => crate::sys::reexec::exec_fd(fd.as_fd(), args, env),
        Ok(true) => {
            let Ok(c) = CString::new(path) else {
                return Errno::EINVAL;
            };
            let Err(e) = nix::unistd::execve(&c, args, env);
            e
        }
        Err(e) => e,
    }
}

/// Opens `path` (absolute in the container) beneath `root` for exec.
fn open_program(root: BorrowedFd<'_>, path: &str) -> Result<OwnedFd, Errno> {
    let rel = path.trim_start_matches('/');
    openat2(
        root,
        Path::new(if rel.is_empty() { "." } else { rel }),
        libc::O_PATH,
        0,
        Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
    )
    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
}

/// Whether `path` is a `#!` script; each interpreter on its chain must
/// resolve beneath `root` without magic links (ELOOP otherwise). A file
/// we may not read is left to the kernel, which then decides as usual.
fn check_interpreters(root: BorrowedFd<'_>, path: &str, depth: usize) -> Result<bool, Errno> {
    let rel = path.trim_start_matches('/');
    let Ok(fd) = openat2(
        root,
        Path::new(rel),
        libc::O_RDONLY,
        0,
        Resolve::IN_ROOT | Resolve::NO_MAGICLINKS,
    ) else {
        return Ok(false);
    };
    let mut head = [0u8; 256];
    let n = nix::unistd::read(&fd, &mut head).unwrap_or(0);
    let Some(interpreter) = shebang_interpreter(&head[..n]) else {
        return Ok(false);
    };
    if depth >= MAX_INTERPRETER_DEPTH {
        return Err(Errno::ELOOP);
    }
    let interpreter = absolute(&interpreter);
    match open_program(root, &interpreter) {
        Ok(_) => {
            check_interpreters(root, &interpreter, depth + 1)?;
            Ok(true)
        }
        Err(Errno::ELOOP) => Err(Errno::ELOOP),
        // Missing and the like: the kernel reports it when it tries.
        Err(_) => Ok(true),
    }
}

/// The interpreter path of a `#!` line at the start of `head`.
fn shebang_interpreter(head: &[u8]) -> Option<String> {
    let rest = head.strip_prefix(b"#!")?;
    let line = rest.split(|b| *b == b'\n').next()?;
    let text = String::from_utf8_lossy(line);
    let name = text.split([' ', '\t']).find(|w| !w.is_empty())?;
    Some(name.to_string())
}

fn exec_failure(path: &str, e: Errno) -> Failure {
    if e == Errno::ENOENT || e == Errno::ENOTDIR {
        return Failure {
            kind: Kind::NotFound,
            errno: 0,
            text: path.to_string(),
        };
    }
    // execve says EACCES for a directory; name the real reason.
    let errno = if e == Errno::EACCES && Path::new(path).is_dir() {
        Errno::EISDIR
    } else {
        e
    };
    Failure {
        kind: Kind::CannotInvoke,
        errno: errno as i32,
        text: path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebang_interpreters_are_read_like_the_kernel_does() {
        let cases: [(&[u8], Option<&str>); 5] = [
            (b"#!/bin/sh\necho", Some("/bin/sh")),
            (b"#! /proc/self/exe -x\n", Some("/proc/self/exe")),
            (b"#!\t/usr/bin/env python3", Some("/usr/bin/env")),
            (b"\x7fELF...", None),
            (b"#!\n", None),
        ];
        for (head, want) in cases {
            assert_eq!(shebang_interpreter(head).as_deref(), want, "{head:?}");
        }
    }
}
