//! Restart policies (`--restart`) and the back-off between restarts.
//!
//! Pure logic: the monitor asks `should_restart` after each exit and sleeps
//! what `Backoff` says before starting the container again.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// The first pause before a restart.
const BACKOFF_START: Duration = Duration::from_millis(100);

/// The longest pause: a crash loop costs at most one start per this.
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// A run at least this long ends a crash loop: the next pause starts over.
const BACKOFF_RESET_AFTER: Duration = Duration::from_secs(10);

/// When the monitor starts an exited container again (Podman's policies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum RestartPolicy {
    /// Never.
    #[default]
    No,
    /// After a non-zero exit, at most `max_retries` times if given.
    OnFailure { max_retries: Option<u32> },
    /// After any exit the user did not cause.
    Always,
    /// As `Always`; the two differ only once something restarts containers
    /// at boot, which hutch does not do.
    UnlessStopped,
}

/// A `--restart` value that is not a policy.
#[derive(Debug, thiserror::Error)]
#[error("invalid restart policy {0:?}: use no, on-failure[:N], always or unless-stopped")]
pub struct InvalidPolicy(pub String);

impl FromStr for RestartPolicy {
    type Err = InvalidPolicy;

    fn from_str(s: &str) -> Result<RestartPolicy, InvalidPolicy> {
        let invalid = || InvalidPolicy(s.to_string());
        let (name, count) = match s.split_once(':') {
            Some((name, count)) => (name, Some(count)),
            None => (s, None),
        };
        match (name, count) {
            ("" | "no", None) => Ok(RestartPolicy::No),
            ("always", None) => Ok(RestartPolicy::Always),
            ("unless-stopped", None) => Ok(RestartPolicy::UnlessStopped),
            ("on-failure", None) => Ok(RestartPolicy::OnFailure { max_retries: None }),
            ("on-failure", Some(n)) => {
                let n = n.parse::<u32>().map_err(|_| invalid())?;
                Ok(RestartPolicy::OnFailure {
                    max_retries: Some(n),
                })
            }
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for RestartPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestartPolicy::No => f.write_str("no"),
            RestartPolicy::OnFailure { max_retries: None } => f.write_str("on-failure"),
            RestartPolicy::OnFailure {
                max_retries: Some(n),
            } => write!(f, "on-failure:{n}"),
            RestartPolicy::Always => f.write_str("always"),
            RestartPolicy::UnlessStopped => f.write_str("unless-stopped"),
        }
    }
}

impl RestartPolicy {
    /// Reads a recorded policy; `None` or anything unreadable means `no`.
    pub fn from_record(policy: Option<&str>) -> RestartPolicy {
        policy.and_then(|p| p.parse().ok()).unwrap_or_default()
    }

    /// Whether a container that exited with `code`, after `restarts`
    /// restarts so far, is started again; never when the user stopped it.
    pub fn should_restart(&self, code: i32, restarts: u32, is_stopped_by_user: bool) -> bool {
        if is_stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::OnFailure { max_retries } => {
                code != 0 && max_retries.is_none_or(|max| restarts < max)
            }
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
        }
    }
}

/// The pause before each restart: 100 ms, doubling up to 5 s, and back to
/// 100 ms after a run long enough not to be part of a crash loop.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            next: BACKOFF_START,
        }
    }
}

impl Backoff {
    /// The pause before restarting a container that ran for `ran_for`.
    pub fn pause(&mut self, ran_for: Duration) -> Duration {
        if ran_for >= BACKOFF_RESET_AFTER {
            self.next = BACKOFF_START;
        }
        let pause = self.next;
        self.next = (self.next * 2).min(BACKOFF_MAX);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_as_podman_writes_them() {
        let cases = [
            ("no", RestartPolicy::No),
            ("", RestartPolicy::No),
            ("always", RestartPolicy::Always),
            ("unless-stopped", RestartPolicy::UnlessStopped),
            ("on-failure", RestartPolicy::OnFailure { max_retries: None }),
            (
                "on-failure:3",
                RestartPolicy::OnFailure {
                    max_retries: Some(3),
                },
            ),
        ];
        for (text, want) in cases {
            assert_eq!(text.parse::<RestartPolicy>().unwrap(), want, "{text:?}");
        }
        for bad in [
            "sometimes",
            "always:3",
            "on-failure:",
            "on-failure:-1",
            "no:1",
        ] {
            let err = bad.parse::<RestartPolicy>().unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "invalid restart policy {bad:?}: use no, on-failure[:N], always or unless-stopped"
                )
            );
        }
    }

    #[test]
    fn policies_print_back_to_what_parses() {
        for text in [
            "no",
            "on-failure",
            "on-failure:5",
            "always",
            "unless-stopped",
        ] {
            assert_eq!(text.parse::<RestartPolicy>().unwrap().to_string(), text);
        }
        assert_eq!(RestartPolicy::from_record(None), RestartPolicy::No);
        assert_eq!(RestartPolicy::from_record(Some("bogus")), RestartPolicy::No);
        assert_eq!(
            RestartPolicy::from_record(Some("always")),
            RestartPolicy::Always
        );
    }

    #[test]
    fn on_failure_restarts_failures_up_to_its_limit() {
        let p = RestartPolicy::OnFailure {
            max_retries: Some(3),
        };
        assert!(p.should_restart(1, 0, false));
        assert!(p.should_restart(137, 2, false));
        assert!(!p.should_restart(1, 3, false));
        assert!(!p.should_restart(0, 0, false));
        assert!(!p.should_restart(1, 0, true));
        let unlimited = RestartPolicy::OnFailure { max_retries: None };
        assert!(unlimited.should_restart(1, 1000, false));
        let never = RestartPolicy::OnFailure {
            max_retries: Some(0),
        };
        assert!(!never.should_restart(1, 0, false));
    }

    #[test]
    fn always_restarts_unless_the_user_stopped_it() {
        for p in [RestartPolicy::Always, RestartPolicy::UnlessStopped] {
            assert!(p.should_restart(0, 50, false));
            assert!(p.should_restart(1, 0, false));
            assert!(!p.should_restart(143, 0, true));
        }
        assert!(!RestartPolicy::No.should_restart(1, 0, false));
    }

    #[test]
    fn backoff_doubles_to_its_cap_and_resets_after_a_long_run() {
        let mut b = Backoff::default();
        let short = Duration::from_millis(10);
        let pauses: Vec<u128> = (0..8).map(|_| b.pause(short).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(b.pause(Duration::from_secs(60)), Duration::from_millis(100));
        assert_eq!(b.pause(short), Duration::from_millis(200));
    }
}
