//! Man-page coverage: every subcommand has a page in `man/`, and every long
//! flag it accepts is documented there as an option item.
//!
//! The command tree is read from the built binary's `--help` output rather
//! than from the clap types, so this test sees exactly what users see and
//! needs neither root nor network. A page documents a flag when the flag
//! appears in the tag line of a `.TP` item (the OPTIONS and GLOBAL OPTIONS
//! lists); a mention in prose or in EXAMPLES does not count.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Sections every page must have, in the order `man-pages(7)` suggests.
const REQUIRED_SECTIONS: [&str; 8] = [
    "NAME",
    "SYNOPSIS",
    "DESCRIPTION",
    "OPTIONS",
    "EXIT STATUS",
    "FILES",
    "EXAMPLES",
    "SEE ALSO",
];

mod help;

use help::{command_tree, flags_in, long_flags, subcommands, HelpedCommand};

fn man_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("man")
}

/// Roff source reduced to plain text per line: `\-` becomes `-`, font
/// escapes (`\fB`, `\fI`, `\fR`, `\fP`) and `\&` disappear.
fn plain(roff_line: &str) -> String {
    let mut s = roff_line.replace("\\-", "-").replace("\\&", "");
    for esc in ["\\fB", "\\fI", "\\fR", "\\fP"] {
        s = s.replace(esc, "");
    }
    s
}

/// What a man page says about itself, for the checks.
struct Page {
    /// The first argument of `.TH`.
    title: String,
    /// `.SH` headings, unquoted.
    sections: Vec<String>,
    /// Flags named in `.TP` tag lines.
    documented_flags: BTreeSet<String>,
}

fn parse_page(roff: &str) -> Page {
    let mut title = String::new();
    let mut sections = Vec::new();
    let mut documented_flags = BTreeSet::new();
    let mut next_is_tag = false;
    for line in roff.lines() {
        if next_is_tag {
            next_is_tag = false;
            documented_flags.extend(flags_in(&plain(line)));
            continue;
        }
        if line == ".TP" || line.starts_with(".TP ") {
            next_is_tag = true;
        } else if let Some(rest) = line.strip_prefix(".TH ") {
            title = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .trim_matches('"')
                .to_string();
        } else if let Some(rest) = line.strip_prefix(".SH ") {
            sections.push(rest.trim().trim_matches('"').to_string());
        }
    }
    Page {
        title,
        sections,
        documented_flags,
    }
}

/// Everything wrong with `roff` as the page for a command whose help is
/// `help` and whose page file is `page_name`; empty when it is fine.
fn page_problems(page_name: &str, help: &str, roff: &str) -> Vec<String> {
    let page = parse_page(roff);
    let mut problems = Vec::new();
    let stem = page_name.trim_end_matches(".1").to_uppercase();
    if page.title != stem {
        problems.push(format!(".TH title is {:?}, expected {stem:?}", page.title));
    }
    for s in REQUIRED_SECTIONS {
        if !page.sections.iter().any(|have| have == s) {
            problems.push(format!("missing section {s}"));
        }
    }
    for flag in long_flags(help) {
        if !page.documented_flags.contains(&flag) {
            problems.push(format!("--{flag} is not documented in a .TP item"));
        }
    }
    problems
}

/// The page at `path` as (file name, roff), following one `.so
/// man1/OTHER.1` request (an alias's page that is another command's, as
/// man(1) does) to the page it names.
fn read_page(path: &Path) -> Result<(String, String), String> {
    let roff = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let Some(target) = roff.trim_end().strip_prefix(".so ") else {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        return Ok((name.into_owned(), roff));
    };
    let name = target.strip_prefix("man1/").unwrap_or(target).to_string();
    let other = man_dir().join(&name);
    let roff = std::fs::read_to_string(&other).map_err(|e| {
        format!(
            "{} sources {target}: cannot read {}: {e}",
            path.display(),
            other.display()
        )
    })?;
    Ok((name, roff))
}

#[test]
fn every_subcommand_and_long_flag_has_a_man_page_entry() {
    let tree = command_tree();
    assert!(
        tree.len() > 1,
        "found no subcommands in `hutch --help`:\n{}",
        tree[0].help
    );
    let mut failures = Vec::new();
    for cmd in &tree {
        let path = man_dir().join(cmd.page_name());
        let problems = match read_page(&path) {
            Ok((name, roff)) => page_problems(&name, &cmd.help, &roff),
            Err(e) => vec![e],
        };
        if !problems.is_empty() {
            failures.push(format!(
                "`{}` ({}):\n  - {}\n`{} --help` printed:\n{}",
                cmd.display(),
                path.display(),
                problems.join("\n  - "),
                cmd.display(),
                cmd.help
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_man_page_belongs_to_a_subcommand() {
    let expected: BTreeSet<String> = command_tree()
        .iter()
        .map(HelpedCommand::page_name)
        .collect();
    let mut stale = Vec::new();
    let dir = man_dir();
    let entries =
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let name = entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .file_name()
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".1") && !expected.contains(&name) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "man pages without a subcommand: {stale:?}; subcommand pages: {expected:?}"
    );
}

// The checks above must be able to fail; these feed them known-bad input.

const SAMPLE_HELP: &str = "\
Frobnicate things

Usage: hutch frob [OPTIONS] <THING>

Options:
  -a, --alpha <VALUE>             First flag, whose description is long enough
                                  to wrap onto a line that says --not-a-flag
      --beta-gamma[=<BOOL>]       Second flag [possible values: true, false]
  -h, --help                      Print help
";

const SAMPLE_PAGE: &str = r#".TH HUTCH-FROB 1
.SH NAME
hutch\-frob \- frobnicate things
.SH SYNOPSIS
.SH DESCRIPTION
Mentions \fB\-\-beta\-gamma\fR in prose only.
.SH OPTIONS
.TP
\fB\-a\fR, \fB\-\-alpha\fR=\fIVALUE\fR
First flag.
.TP
\fB\-\-help\fR
Print help.
.SH "EXIT STATUS"
.SH FILES
.SH EXAMPLES
.SH "SEE ALSO"
"#;

#[test]
fn long_flags_ignores_wrapped_descriptions() {
    let flags: Vec<String> = long_flags(SAMPLE_HELP).into_iter().collect();
    assert_eq!(flags, ["alpha", "beta-gamma", "help"]);
}

#[test]
fn subcommands_skip_help_and_aliases() {
    let help = "Commands:\n  ls       List images [alias: list]\n  rm       Remove\n  help     Print this message\n\nOptions:\n";
    assert_eq!(subcommands(help), ["ls", "rm"]);
}

#[test]
fn flag_mentioned_only_in_prose_is_reported() {
    let problems = page_problems("hutch-frob.1", SAMPLE_HELP, SAMPLE_PAGE);
    assert_eq!(problems, ["--beta-gamma is not documented in a .TP item"]);
}

#[test]
fn longer_flag_does_not_document_a_shorter_one() {
    let page = SAMPLE_PAGE.replace(r"\fB\-\-alpha\fR", r"\fB\-\-alphabet\fR");
    let problems = page_problems("hutch-frob.1", SAMPLE_HELP, &page);
    assert!(
        problems.contains(&"--alpha is not documented in a .TP item".to_string()),
        "{problems:?}"
    );
}

#[test]
fn missing_section_and_wrong_title_are_reported() {
    let page = SAMPLE_PAGE
        .replace(".SH FILES\n", "")
        .replace("HUTCH-FROB", "HUTCH-FROBS");
    let problems = page_problems("hutch-frob.1", "Options:\n", &page);
    assert_eq!(
        problems,
        [
            ".TH title is \"HUTCH-FROBS\", expected \"HUTCH-FROB\"",
            "missing section FILES"
        ]
    );
}
