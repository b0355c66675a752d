//! Exec sessions (the REST API's `exec` and `exec/{id}/*`, issue #17):
//! `create` records what to run, `start` runs it through the engine's
//! `exec` (the one `hutch exec` uses), and the record says whether it
//! runs, its pid and its exit code.
//!
//! Each API connection is its own process, so a session lives in the run
//! directory: one JSON file per session below its container's directory
//! (`RUNROOT/exec-sessions/CONTAINER/SESSION.json`), replaced atomically
//! at every change. Nothing here prints.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::exec::{ExecIo, ExecOptions};
use super::{Engine, PROC};
pub use crate::runtime::outputs::Sink;
use crate::storage::atomic;

/// The directory under the run directory holding the sessions.
const SESSIONS_DIR: &str = "exec-sessions";

/// What went wrong with an exec session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No session has this id.
    #[error("no such exec instance: {0}")]
    NoSuchSession(String),
    /// `start` of a session that already ran or runs.
    #[error("exec session {0} has already been started")]
    AlreadyStarted(String),
    /// Reading or writing a session's record.
    #[error("recording exec session in {path}")]
    Record {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The container or the exec itself.
    #[error(transparent)]
    Container(#[from] super::Error),
}

impl crate::error::Diagnose for Error {
    fn exit_code(&self) -> i32 {
        match self {
            Error::Container(e) => e.exit_code(),
            _ => crate::error::EXIT_TOOL,
        }
    }

    fn hint(&self) -> Option<String> {
        match self {
            Error::Container(e) => e.hint(),
            _ => None,
        }
    }
}

/// What a session runs: the exec's options as the API gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionConfig {
    /// Command and arguments.
    pub command: Vec<String>,
    /// `NAME=VALUE` variables.
    pub env: Vec<String>,
    /// `user[:group]`, empty for the container's.
    pub user: String,
    /// The working directory, empty for the container's.
    pub workdir: String,
    /// A pseudo-terminal.
    pub tty: bool,
    /// Whether the command reads the client's input.
    pub attach_stdin: bool,
    /// Whether the client wants stdout.
    pub attach_stdout: bool,
    /// Whether the client wants stderr.
    pub attach_stderr: bool,
    /// Every capability.
    pub privileged: bool,
}

/// One session's record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecSession {
    /// Its id, 64 hex digits.
    pub id: String,
    /// The container's full id.
    pub container: String,
    /// What it runs.
    pub config: SessionConfig,
    /// Whether `start` was called.
    pub is_started: bool,
    /// Whether the command runs now (checked against its pid on reading).
    pub is_running: bool,
    /// The command's pid as the host sees it, once started.
    pub pid: Option<i32>,
    /// Its exit code, once it ended in the foreground.
    pub exit_code: Option<i32>,
}

impl Engine {
    /// Records a session running `config` in running container `name`;
    /// returns its id.
    pub fn create_exec_session(&self, name: &str, config: SessionConfig) -> Result<String, Error> {
        let id = self.container_id(name)?;
        if !self.is_running(&id)? {
            return Err(super::Error::NotRunning(name.to_string()).into());
        }
        if config.command.is_empty() {
            return Err(super::Error::NoCommand.into());
        }
        let session = ExecSession {
            id: super::volumes::random_name(),
            container: id,
            config,
            ..ExecSession::default()
        };
        self.write_session(&session)?;
        Ok(session.id)
    }

    /// Session `id`, its `is_running` as it is now.
    pub fn exec_session(&self, id: &str) -> Result<ExecSession, Error> {
        let runroot = self.runroot().map_err(super::Error::from)?;
        let path = find_session(&runroot.join(SESSIONS_DIR), id)
            .ok_or_else(|| Error::NoSuchSession(id.to_string()))?;
        let text = std::fs::read(&path).map_err(|source| Error::Record {
            path: path.clone(),
            source,
        })?;
        let mut session: ExecSession =
            serde_json::from_slice(&text).map_err(|e| Error::Record {
                path,
                source: e.into(),
            })?;
        if session.is_running {
            session.is_running = session.pid.is_some_and(|p| is_alive(Path::new(PROC), p));
        }
        Ok(session)
    }

    /// Runs session `id` and returns its exit code (0 at once when
    /// `is_detached`); without a tty its output goes to `sink`, else to
    /// our stdio. Must be called single-threaded.
    pub fn start_exec_session(
        &self,
        id: &str,
        is_detached: bool,
        sink: Option<&mut dyn Sink>,
    ) -> Result<i32, Error> {
        let mut session = self.exec_session(id)?;
        if session.is_started {
            return Err(Error::AlreadyStarted(id.to_string()));
        }
        session.is_started = true;
        self.write_session(&session)?;
        let c = &session.config;
        let opts = ExecOptions {
            container: session.container.clone(),
            command: c.command.clone(),
            env: c.env.clone(),
            user: Some(c.user.clone()).filter(|u| !u.is_empty()),
            workdir: Some(c.workdir.clone()).filter(|w| !w.is_empty()),
            interactive: c.attach_stdin,
            tty: c.tty,
            detach: is_detached,
            privileged: c.privileged,
            ..ExecOptions::default()
        };
        let mut started = None;
        let mut on_started = |pid: i32| {
            started = Some(pid);
            let running = ExecSession {
                is_running: true,
                pid: Some(pid),
                ..session.clone()
            };
            // A record that cannot be written leaves the command running;
            // its end is recorded below all the same.
            if let Err(e) = self.write_session(&running) {
                log::debug!("{e}");
            }
        };
        let io = ExecIo {
            sink,
            on_started: Some(&mut on_started),
        };
        let result = self.exec_with(&opts, io);
        session.pid = started;
        session.is_running = is_detached && result.is_ok();
        session.exit_code = match (&result, is_detached) {
            (Ok(code), false) => Some(*code),
            (Ok(_), true) => None,
            (Err(e), _) => Some(crate::error::Diagnose::exit_code(e)),
        };
        self.write_session(&session)?;
        Ok(result?)
    }

    /// Replaces `session`'s record.
    fn write_session(&self, session: &ExecSession) -> Result<(), Error> {
        let runroot = self.runroot().map_err(super::Error::from)?;
        let dir = runroot.join(SESSIONS_DIR).join(&session.container);
        let path = dir.join(format!("{}.json", session.id));
        let failed = |source| Error::Record {
            path: path.clone(),
            source,
        };
        // Private, as everything in the run directory is.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(&dir)
            .map_err(failed)?;
        atomic::write_json(&path, session, 0o600).map_err(failed)
    }
}

/// Whether process `pid` exists and is no zombie (a detached command
/// whose connection's process left may wait unreaped a while).
fn is_alive(proc: &Path, pid: i32) -> bool {
    let stat = std::fs::read_to_string(proc.join(pid.to_string()).join("stat"));
    let state = stat.ok().and_then(|s| {
        let (_, rest) = s.rsplit_once(')')?;
        rest.trim_start().chars().next()
    });
    state.is_some_and(|c| !matches!(c, 'Z' | 'X'))
}

/// The record of session `id` below `dir` (one directory per container),
/// if any; an id that is not plain hex names none.
fn find_session(dir: &Path, id: &str) -> Option<PathBuf> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path().join(format!("{id}.json")))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_found_below_their_container() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path().join("c1");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(c.join("ab12.json"), "{}").unwrap();
        assert_eq!(find_session(dir.path(), "ab12"), Some(c.join("ab12.json")));
        assert_eq!(find_session(dir.path(), "ab13"), None);
        for hostile in ["", "../c1/ab12", "ab12/..", "c1"] {
            assert_eq!(find_session(dir.path(), hostile), None, "{hostile}");
        }
    }

    #[test]
    fn zombies_are_not_running() {
        let dir = tempfile::tempdir().unwrap();
        for (pid, stat) in [(1, "1 (a b) S 0"), (2, "2 (z) Z 1"), (3, "3 ((x)) R 1")] {
            let d = dir.path().join(pid.to_string());
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("stat"), stat).unwrap();
        }
        assert!(is_alive(dir.path(), 1));
        assert!(!is_alive(dir.path(), 2));
        assert!(is_alive(dir.path(), 3));
        assert!(!is_alive(dir.path(), 4));
    }

    #[test]
    fn records_round_trip() {
        let s = ExecSession {
            id: "ab".into(),
            container: "c".into(),
            config: SessionConfig {
                command: vec!["echo".into(), "hi".into()],
                tty: true,
                ..SessionConfig::default()
            },
            is_started: true,
            is_running: false,
            pid: Some(42),
            exit_code: Some(3),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<ExecSession>(&text).unwrap(), s);
    }
}
