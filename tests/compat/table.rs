//! The differential table (issue #13): tests/compat/table.txt lists
//! invocations, run in order through Podman and through hutch as the same
//! user in the same fresh environment, and compared as each row says.
//!
//! The file's format: `## NAME` starts a scenario (a fresh environment
//! with the busybox fixture in both stores; both tools' containers are
//! removed at its end); every other non-blank line that is not a `#`
//! comment is `MODE ARGS...`. ARGS are split at blanks, except inside
//! single quotes; `$IMG` is the fixture's reference. MODE says what must
//! match besides the exit code:
//!
//! - `code`: nothing else;
//! - `out`: standard output, trailing blanks aside;
//! - `sorted`: the lines of standard output, in any order;
//! - `count`: the number of non-blank lines of standard output;
//! - `err`: the `Error:` line of standard error;
//! - `json`: standard output is JSON on both sides, with as many elements
//!   at the top.
//!
//! Every failing row is reported, not only the first.

use super::{podman, setup, Cleanup};

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    line: usize,
    mode: String,
    args: Vec<String>,
}

/// A scenario: its name and rows.
#[derive(Debug, Clone, PartialEq)]
struct Scenario {
    name: String,
    rows: Vec<Row>,
}

/// Splits `text` at blanks, keeping single-quoted parts whole.
fn words(text: &str) -> Result<Vec<String>, String> {
    let (mut out, mut cur, mut quoted, mut has_word) = (Vec::new(), String::new(), false, false);
    for c in text.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                has_word = true;
            }
            c if c.is_whitespace() && !quoted => {
                if has_word {
                    out.push(std::mem::take(&mut cur));
                    has_word = false;
                }
            }
            c => {
                cur.push(c);
                has_word = true;
            }
        }
    }
    if quoted {
        return Err(format!("unclosed quote in {text:?}"));
    }
    if has_word {
        out.push(cur);
    }
    Ok(out)
}

/// Parses the table file.
fn parse(text: &str) -> Result<Vec<Scenario>, String> {
    let mut out: Vec<Scenario> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix("## ") {
            out.push(Scenario {
                name: name.to_string(),
                rows: Vec::new(),
            });
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut w = words(line).map_err(|e| format!("line {}: {e}", n + 1))?;
        let mode = w.remove(0);
        if !["code", "out", "sorted", "count", "err", "json"].contains(&mode.as_str()) {
            return Err(format!("line {}: unknown mode {mode:?}", n + 1));
        }
        let Some(scenario) = out.last_mut() else {
            return Err(format!(
                "line {}: a row before the first ## scenario",
                n + 1
            ));
        };
        scenario.rows.push(Row {
            line: n + 1,
            mode,
            args: w,
        });
    }
    Ok(out)
}

/// What a row compares of one run, besides the exit code.
fn compared(mode: &str, r: &super::common::Run) -> Result<String, String> {
    Ok(match mode {
        "out" => r.stdout.trim_end().to_string(),
        "sorted" => {
            let mut lines: Vec<&str> = r.stdout.lines().collect();
            lines.sort_unstable();
            lines.join("\n")
        }
        "count" => r
            .stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
            .to_string(),
        "err" => r.stderr_lines("Error:").join("\n"),
        "json" => {
            let v: serde_json::Value = serde_json::from_str(&r.stdout)
                .map_err(|e| format!("not JSON ({e}): {:?}", r.stdout))?;
            match v {
                serde_json::Value::Array(a) => format!("array of {}", a.len()),
                serde_json::Value::Object(o) => format!("object of {}", o.len()),
                other => format!("{other}"),
            }
        }
        _ => String::new(),
    })
}

fn table_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/compat/table.txt")
}

/// Runs `scenario` in a fresh environment; returns a line per row whose
/// runs differ.
fn run_scenario(scenario: &Scenario) -> Vec<String> {
    let started = std::time::Instant::now();
    let (env, img) = setup();
    let _cleanup = Cleanup(&env);
    let mut failures = Vec::new();
    for row in &scenario.rows {
        let args: Vec<String> = row.args.iter().map(|a| a.replace("$IMG", &img)).collect();
        let mut p = podman(&env, &args);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let h = env.hutch(&refs);
        let (mut pc, hc) = (compared(&row.mode, &p), compared(&row.mode, &h));
        // Podman 4.3 under load now and then loses a `run --rm`'s output
        // (exit 0, nothing printed): such a row, which leaves nothing
        // behind, is asked of Podman once more before it counts.
        let is_lost = args.first().is_some_and(|a| a == "run")
            && args.iter().any(|a| a == "--rm")
            && p.code == Some(0)
            && p.stdout.is_empty()
            && !h.stdout.is_empty();
        if (p.code != h.code || pc != hc) && is_lost {
            eprintln!(
                "compat table: table.txt:{}: podman printed nothing, asked again",
                row.line
            );
            p = podman(&env, &args);
            pc = compared(&row.mode, &p);
        }
        if p.code != h.code || pc != hc {
            failures.push(format!(
                "table.txt:{} [{}] {} `{}`: podman exited {:?} ({pc:?}), hutch {:?} ({hc:?})\n  podman stderr: {}\n  hutch stderr: {}",
                row.line,
                scenario.name,
                row.mode,
                args.join(" "),
                p.code,
                h.code,
                p.stderr.trim(),
                h.stderr.trim()
            ));
        }
    }
    eprintln!(
        "compat table: [{}] {} rows in {:.1?}",
        scenario.name,
        scenario.rows.len(),
        started.elapsed()
    );
    failures
}

#[test]
fn compat_table_of_invocations_matches_podman() {
    let text = std::fs::read_to_string(table_path()).expect("reading tests/compat/table.txt");
    let scenarios = parse(&text).unwrap_or_else(|e| panic!("tests/compat/table.txt: {e}"));
    let total: usize = scenarios.iter().map(|s| s.rows.len()).sum();
    assert!(
        total >= 300,
        "the table has {total} rows; issue #13 asks for 300"
    );
    // Scenarios are independent (each has its own environment), and a
    // Podman command spends most of its time waiting: four run at a time.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(scenario) = scenarios.get(i) else {
                    break;
                };
                let found = run_scenario(scenario);
                failures
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(found);
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    eprintln!(
        "compat table: {total} invocations, {} differ",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn table_words_keep_single_quotes_whole() {
    assert_eq!(
        words("out run --rm $IMG sh -c 'echo a  b' ''").unwrap(),
        ["out", "run", "--rm", "$IMG", "sh", "-c", "echo a  b", ""]
    );
    assert!(words("out 'open").is_err());
}

#[test]
fn table_rows_need_a_scenario_and_a_known_mode() {
    assert!(parse("code ps\n").is_err());
    assert!(parse("## a\nbogus ps\n").is_err());
    let s = parse("## a\n# note\ncode ps -a\n\n## b\nout images -q\n").unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].rows[0].args, ["ps", "-a"]);
    assert_eq!(s[1].rows[0].line, 6);
}
