//! The command tree of the built binary as users see it: read from
//! `hutch ... --help` rather than from the clap types. Shared by the
//! man-page test and the Podman parity test.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::process::Command;

/// One command of the tree, as `--help` describes it.
pub struct HelpedCommand {
    /// Subcommand words after `hutch` (empty for `hutch` itself).
    pub words: Vec<String>,
    /// The raw `--help` output, shown when a check fails.
    pub help: String,
}

impl HelpedCommand {
    /// The man page's file name: `hutch.1`, `hutch-run.1`, `hutch-image-ls.1`.
    pub fn page_name(&self) -> String {
        let mut name = String::from("hutch");
        for w in &self.words {
            name.push('-');
            name.push_str(w);
        }
        name.push_str(".1");
        name
    }

    /// The command line as a user would type it.
    pub fn display(&self) -> String {
        let mut s = String::from("hutch");
        for w in &self.words {
            s.push(' ');
            s.push_str(w);
        }
        s
    }
}

/// Runs `hutch WORDS... --help` and returns its stdout; panics with the
/// command, stdout and stderr when it does not succeed.
pub fn run_help(words: &[String]) -> String {
    let bin = env!("CARGO_BIN_EXE_hutch");
    let mut cmd = Command::new(bin);
    cmd.args(words).arg("--help");
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "command failed: {cmd:?}\nstatus: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
    stdout
}

/// Walks the command tree from `hutch --help` down, depth first.
pub fn command_tree() -> Vec<HelpedCommand> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::<String>::new()];
    while let Some(words) = todo.pop() {
        let help = run_help(&words);
        for sub in subcommands(&help).into_iter().rev() {
            let mut child = words.clone();
            child.push(sub);
            todo.push(child);
        }
        out.push(HelpedCommand { words, help });
    }
    out
}

/// The indented lines of a help section such as `Commands:` or `Options:`,
/// up to the next unindented line. Blank lines are skipped: clap's long
/// help format (used once any flag has a long description) separates
/// entries with them.
pub fn help_section<'a>(help: &'a str, header: &str) -> Vec<&'a str> {
    help.lines()
        .skip_while(|l| l.trim_end() != header)
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' '))
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// Subcommand names listed under `Commands:`, without clap's `help`.
pub fn subcommands(help: &str) -> Vec<String> {
    help_section(help, "Commands:")
        .into_iter()
        // Entries are indented by two spaces; wrapped descriptions by more.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(String::from)
        .collect()
}

/// Long flags (`--name`, without the dashes) listed under `Options:`.
pub fn long_flags(help: &str) -> BTreeSet<String> {
    help_section(help, "Options:")
        .into_iter()
        // Entries start with `-x, --long` (2 spaces) or `--long` (6 spaces);
        // wrapped descriptions are indented further and never start a flag.
        .filter(|l| {
            let body = l.trim_start();
            l.len() - body.len() <= 6 && body.starts_with('-')
        })
        .filter_map(|l| flags_in(l).into_iter().next())
        .collect()
}

/// Every `--name` token in `text`, names only.
pub fn flags_in(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("--") {
        let after = &rest[i + 2..];
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric() && c != '-');
        let len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(after.len());
        if before_ok && len > 0 && after.as_bytes()[0].is_ascii_alphanumeric() {
            out.push(after[..len].to_string());
        }
        rest = &after[len..];
    }
    out
}

/// The visible aliases of each subcommand listed under `Commands:`
/// (`ls  List containers [aliases: list, ps]`), by subcommand name.
pub fn aliases(help: &str) -> Vec<(String, Vec<String>)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in help_section(help, "Commands:") {
        if line.starts_with("   ") {
            // A wrapped description continues the previous entry.
            if let Some(last) = entries.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some(name) = line.split_whitespace().next() {
            entries.push((name.to_string(), line.to_string()));
        }
    }
    entries
        .into_iter()
        .map(|(name, text)| {
            let list = text
                .split_once("[alias")
                .and_then(|(_, rest)| rest.split_once(':'))
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(list, _)| list.split(',').map(|a| a.trim().to_string()).collect())
                .unwrap_or_default();
            (name, list)
        })
        .collect()
}
