//! Telling processes apart by pid and start time, from `/proc/PID/stat`.
//!
//! A pid alone may be reused; the pair (pid, starttime) names one process
//! for the life of the system.

use std::path::Path;

/// The start time (field 22 of `/proc/PID/stat`, clock ticks after boot)
/// of process `pid` under the proc root `proc`, or `None` when it is gone.
pub fn start_time(proc: &Path, pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(proc.join(pid.to_string()).join("stat")).ok()?;
    parse_start_time(&stat)
}

/// Whether process `pid` still is the one that started at `start`. A zombie
/// counts as gone: it has finished, only its parent has not reaped it.
pub fn is_alive(proc: &Path, pid: i32, start: u64) -> bool {
    let Ok(stat) = std::fs::read_to_string(proc.join(pid.to_string()).join("stat")) else {
        return false;
    };
    parse_start_time(&stat) == Some(start) && parse_state(&stat) != Some('Z')
}

/// How a process treats signals, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalDisposition {
    /// Signals with a handler (`SigCgt`), bit N-1 for signal N.
    pub caught: u64,
    /// Signals ignored (`SigIgn`).
    pub ignored: u64,
    /// Whether it is the init (pid 1) of its innermost pid namespace
    /// (`NSpid`), which the kernel spares every signal it does not catch
    /// except SIGKILL and SIGSTOP (pid_namespaces(7)).
    pub is_namespace_init: bool,
}

/// The signal disposition of process `pid` under the proc root `proc`, or
/// `None` when it is gone.
pub fn signal_disposition(proc: &Path, pid: i32) -> Option<SignalDisposition> {
    let status = std::fs::read_to_string(proc.join(pid.to_string()).join("status")).ok()?;
    parse_signal_disposition(&status)
}

fn parse_signal_disposition(status: &str) -> Option<SignalDisposition> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(str::trim)
    };
    let mask = |name: &str| u64::from_str_radix(field(name)?, 16).ok();
    Some(SignalDisposition {
        caught: mask("SigCgt")?,
        ignored: mask("SigIgn")?,
        is_namespace_init: field("NSpid")
            .and_then(|ids| ids.split_whitespace().last())
            .is_some_and(|innermost| innermost == "1"),
    })
}

/// Field 22 of a stat line. The command (field 2) is in parentheses and
/// may itself contain spaces and `)`, so fields are counted after the last `)`.
fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After `)` come field 3 (state) onwards; field 22 is the 20th of them.
    rest.split_whitespace().nth(19)?.parse().ok()
}

fn parse_state(stat: &str) -> Option<char> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().next()?.chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (we ird) cmd) S 1 4242 4242 0 -1 4194560 120 0 0 0 0 0 0 0 20 0 1 0 987654 1234 56 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";

    #[test]
    fn start_time_is_field_22_after_the_command() {
        assert_eq!(parse_start_time(STAT), Some(987_654));
        assert_eq!(parse_state(STAT), Some('S'));
        assert_eq!(parse_start_time("garbage"), None);
    }

    #[test]
    fn signal_dispositions_are_read_from_status() {
        let status = "Name:\tsh\nNSpid:\t4242\t1\nSigQ:\t0/63\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000004\nSigCgt:\t0000000000014002\n";
        let d = parse_signal_disposition(status).unwrap();
        assert_eq!(d.caught, 0x14002);
        assert_eq!(d.ignored, 0x4);
        assert!(d.is_namespace_init);
        let not_init = status.replace("4242\t1", "4242\t7");
        assert!(
            !parse_signal_disposition(&not_init)
                .unwrap()
                .is_namespace_init
        );
        assert_eq!(parse_signal_disposition("Name:\tsh\n"), None);
    }

    #[test]
    fn processes_are_read_from_the_given_proc_root() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("4242")).unwrap();
        std::fs::write(tmp.path().join("4242/stat"), STAT).unwrap();
        assert_eq!(start_time(tmp.path(), 4242), Some(987_654));
        assert!(is_alive(tmp.path(), 4242, 987_654));
        assert!(!is_alive(tmp.path(), 4242, 1));
        assert!(!is_alive(tmp.path(), 4243, 987_654));
        let zombie = STAT.replace(") S ", ") Z ");
        std::fs::write(tmp.path().join("4242/stat"), zombie).unwrap();
        assert!(!is_alive(tmp.path(), 4242, 987_654));
    }
}
