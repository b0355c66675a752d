//! `hutch doctor`: one line per check of what rootless containers need.

use clap::Args;
use serde_json::Value;

use super::template::Template;
use crate::container::doctor::Check;
use crate::container::Engine;
use crate::error::Error;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Output format: json (an array of {name, status, found, fix}) or a Go template such as '{{.Name}} {{.Status}}'
    #[arg(short, long, value_name = "FORMAT")]
    pub format: Option<String>,
}

/// Runs the checks and prints them; exits 1 when one that `run` cannot
/// do without failed, else 0 (warnings allowed).
pub fn run(engine: &Engine, args: DoctorArgs) -> Result<i32, Error> {
    let template = match args.format.as_deref() {
        None | Some("json") => None,
        Some(f) => Some(Template::parse_as("doctor", f)?),
    };
    let checks = engine.doctor();
    let code = i32::from(checks.iter().any(Check::is_blocking));
    match (args.format.as_deref(), template) {
        (Some("json"), _) => {
            let rows: Vec<Value> = checks.iter().map(json_row).collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).unwrap_or_default()
            );
        }
        (_, Some(t)) => {
            let rows: Vec<Value> = checks.iter().map(template_row).collect();
            print!("{}", t.render_all(&rows, &|p| p.join(".").to_uppercase())?);
        }
        _ => {
            let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
            for c in &checks {
                println!("{}", line(c, width));
            }
        }
    }
    Ok(code)
}

/// `STATUS NAME FOUND`, then `; fix: FIX` for a warning or failure.
fn line(c: &Check, width: usize) -> String {
    let mut s = format!("{:<4}  {:<width$}  {}", c.status.as_str(), c.name, c.found);
    if !c.fix.is_empty() {
        s.push_str("; fix: ");
        s.push_str(&c.fix);
    }
    s
}

fn json_row(c: &Check) -> Value {
    serde_json::json!({
        "name": c.name,
        "status": c.status.as_str(),
        "found": c.found,
        "fix": c.fix,
    })
}

/// The object a template sees: Go's field names.
fn template_row(c: &Check) -> Value {
    serde_json::json!({
        "Name": c.name,
        "Status": c.status.as_str(),
        "Found": c.found,
        "Fix": c.fix,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::container::doctor::Status;

    #[test]
    fn a_line_names_the_fix_only_when_there_is_one() {
        let mut c = Check {
            name: "cgroups",
            status: Status::Ok,
            found: "v2".into(),
            fix: String::new(),
            is_needed: false,
        };
        assert_eq!(line(&c, 8), "ok    cgroups   v2");
        c.status = Status::Warn;
        c.fix = "boot with x".into();
        assert_eq!(line(&c, 7), "warn  cgroups  v2; fix: boot with x");
    }
}
