//! `hutch events`: prints the events of containers, images, volumes and
//! pods, as Podman's text lines, as JSON or through a Go template; by
//! default follows the log for new ones until interrupted.

use std::io::Write;

use clap::{ArgAction, Args};

use super::ioerr::IoError;
use super::template::Template;
use crate::container::events::{Event, EventQuery};
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Show only matching events (container=, event=, image=, label=, pod=, type=, volume=)
    #[arg(short, long = "filter", value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Print each event through a Go template, or as JSON (json)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Do not truncate ids (the default; --no-trunc=false shows 12 characters)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub no_trunc: bool,
    /// Show events created after this time (RFC 3339, Unix seconds, or a duration ago such as 10m)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Wait for new events (the default); --stream=false prints the logged ones and exits
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    pub stream: bool,
    /// Show events created before this time (a duration is from now: --until 10s streams for 10 seconds)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    pub until: Option<String>,
}

/// How each event is printed.
enum Output {
    Text { is_truncated: bool },
    Json,
    Template(Template),
}

impl Output {
    fn line(&self, e: &Event) -> Result<String, Error> {
        Ok(match self {
            Output::Text { is_truncated } => format!("{}\n", e.to_text(*is_truncated)),
            Output::Json => format!("{}\n", e.to_json()),
            Output::Template(t) => t.render(&e.to_template_value())?,
        })
    }
}

/// Prints the events the flags ask for.
pub fn run(engine: &Engine, args: EventsArgs) -> Result<i32, Error> {
    let output = match args.format.as_deref() {
        None => Output::Text {
            is_truncated: !args.no_trunc,
        },
        Some(f) if super::json::is_json_format(f) => Output::Json,
        Some(f) => Output::Template(Template::parse_one("events", f)?),
    };
    let query = EventQuery {
        filters: args.filter,
        since: args.since,
        until: args.until,
        is_streaming: args.stream,
    };
    let stdout = std::io::stdout();
    let mut failure: Option<Error> = None;
    let mut lost: Option<std::io::Error> = None;
    engine.events(&query, &mut |e| {
        let line = match output.line(e) {
            Ok(l) => l,
            Err(err) => {
                failure = Some(err);
                return false;
            }
        };
        let mut out = stdout.lock();
        match out.write_all(line.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => true,
            Err(err) => {
                lost = Some(err);
                false
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    match lost {
        // The reader went away (`| head`): nothing more to do.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        Some(e) => Err(IoError::WriteStdout(e).into()),
        None => Ok(0),
    }
}
