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
