//! The shape of `src/`, read from the source text: which top-level modules
//! use which, and how long files and functions are. Needs neither root, nor
//! network, nor a built binary.
//!
//! Every `.rs` file belongs to a top-level module: `src/X.rs` and `src/X/…`
//! to `X`, `src/main.rs` to `main`. Each `crate::Y` path in it, in a `use`
//! (grouped or not) or inline, is an edge X -> Y; in `main.rs` so is a bare
//! `Y::` path to a module it declares. Comments (doc comments included) and
//! string and char literals are blanked before scanning, so prose and quoted
//! text do not count. [`ALLOWED`] is the one statement of which edges may
//! exist; docs/architecture.md mirrors it, so change both together.
//!
//! STYLE.md asks for files split past about 800 lines; this holds every file
//! to 800 lines and every function to 150, not counting test code
//! (`*_tests.rs`, `*_fuzz.rs` and `#[cfg(test)] mod` blocks).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level modules each top-level module may use; it must stay
/// acyclic. docs/architecture.md mirrors this table.
const ALLOWED: &[(&str, &[&str])] = &[
    ("main", &["cli", "error"]),
    // The hutch-enter helper's root (src/enter.rs): only the runtime's entry.
    ("enter", &["runtime"]),
    (
        "cli",
        &[
            "api",
            "container",
            "image",
            "files",
            "quadlet",
            "error",
            "paths",
        ],
    ),
    ("api", &["container", "image", "files", "error", "paths"]),
    (
        "container",
        &[
            "runtime", "files", "image", "storage", "userns", "net", "cgroup", "sys", "error",
            "paths",
        ],
    ),
    (
        "files",
        &["runtime", "storage", "userns", "sys", "error", "paths"],
    ),
    (
        "runtime",
        &[
            "storage", "userns", "net", "cgroup", "sys", "error", "paths",
        ],
    ),
    ("image", &["storage", "userns", "sys", "error", "paths"]),
    ("storage", &["userns", "sys", "error", "paths"]),
    ("userns", &["sys", "error", "paths"]),
    ("net", &["sys", "error", "paths"]),
    ("cgroup", &["sys", "error", "paths"]),
    ("sys", &[]),
    ("error", &[]),
    ("paths", &["error"]),
    ("quadlet", &["error", "paths"]),
];

/// The most lines a file of `src/` may have, test code not counted.
const MAX_FILE_LINES: usize = 800;

/// The most lines a function may span, from `fn` to its closing brace.
const MAX_FN_LINES: usize = 150;

/// One use of module `to` from a file of module `from`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    path: String,
    line: usize,
    from: String,
    to: String,
}

/// A word or a single punctuation character of blanked source, with its
/// 1-based line.
#[derive(Debug)]
struct Token {
    text: String,
    line: usize,
}

/// A function item: its name and the lines of `fn` and of its closing brace.
#[derive(Debug, PartialEq)]
struct Function {
    name: String,
    line: usize,
    end: usize,
}

// ---------------------------------------------------------------------------
// Scanner

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn is_ident(s: &str) -> bool {
    s.starts_with(|c: char| c.is_alphabetic() || c == '_')
}

/// Pushes `chars[from..to]` onto `out` as spaces, keeping newlines.
fn blank(chars: &[char], from: usize, to: usize, out: &mut String) {
    for &c in &chars[from..to.min(chars.len())] {
        out.push(if c == '\n' { '\n' } else { ' ' });
    }
}

/// The index just past the quoted string starting at `chars[start] == '"'`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// The index just past the raw string whose opening `#`s start at `start`
/// (just after the `r`), or `None` when no `"` follows them (a raw
/// identifier such as `r#type`).
fn skip_raw_string(chars: &[char], start: usize) -> Option<usize> {
    let hashes = chars[start..].iter().take_while(|&&c| c == '#').count();
    if chars.get(start + hashes) != Some(&'"') {
        return None;
    }
    let mut i = start + hashes + 1;
    while i < chars.len() {
        let closes = chars
            .get(i + 1..i + 1 + hashes)
            .is_some_and(|h| h.iter().all(|&c| c == '#'));
        if chars[i] == '"' && closes {
            return Some(i + 1 + hashes);
        }
        i += 1;
    }
    Some(chars.len())
}

/// The index just past the char literal starting at `chars[start] == '\''`,
/// or `None` when it is a lifetime or a label.
fn skip_char(chars: &[char], start: usize) -> Option<usize> {
    match chars.get(start + 1) {
        Some('\\') => {
            // '\n', '\'', '\u{1F600}': the closing quote comes after the
            // escaped character.
            let mut i = start + 3;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            Some(i + 1)
        }
        Some(_) if chars.get(start + 2) == Some(&'\'') => Some(start + 3),
        _ => None,
    }
}

/// The source with comments (nested block comments and doc comments too)
/// and string, byte-string, raw-string and char literals replaced by spaces.
/// Newlines stay, so line numbers still match the file.
fn blank_non_code(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            let end = chars[i..]
                .iter()
                .position(|&c| c == '\n')
                .map_or(chars.len(), |n| i + n);
            blank(&chars, i, end, &mut out);
            i = end;
        } else if c == '/' && next == Some('*') {
            // Block comments nest in Rust.
            let start = i;
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            blank(&chars, start, i, &mut out);
        } else if c == '"' {
            let end = skip_string(&chars, i);
            blank(&chars, i, end, &mut out);
            i = end;
        } else if c == '\'' {
            match skip_char(&chars, i) {
                Some(end) => {
                    blank(&chars, i, end, &mut out);
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else if is_ident_char(c) && !c.is_numeric() && (i == 0 || !is_ident_char(chars[i - 1])) {
            let start = i;
            while i < chars.len() && is_ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let literal_end = match (word.as_str(), chars.get(i)) {
                ("r" | "br" | "cr", Some('"' | '#')) => skip_raw_string(&chars, i),
                ("b" | "c", Some('"')) => Some(skip_string(&chars, i)),
                ("b", Some('\'')) => skip_char(&chars, i),
                _ => None,
            };
            match literal_end {
                Some(end) => {
                    blank(&chars, start, end, &mut out);
                    i = end;
                }
                None => out.push_str(&word),
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Splits blanked source into words (identifiers, keywords, numbers) and
/// single punctuation characters.
fn tokens(code: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut line = 1;
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        } else if is_ident_char(c) {
            let mut text = String::from(c);
            while let Some(&n) = chars.peek().filter(|&&n| is_ident_char(n)) {
                text.push(n);
                chars.next();
            }
            out.push(Token { text, line });
        } else if !c.is_whitespace() {
            out.push(Token {
                text: c.to_string(),
                line,
            });
        }
    }
    out
}

fn text_at(toks: &[Token], i: usize) -> &str {
    toks.get(i).map_or("", |t| t.text.as_str())
}

/// The index of the token closing the bracket opened at `toks[open]`.
fn matching_close(toks: &[Token], open: usize) -> usize {
    let (o, c) = match text_at(toks, open) {
        "(" => ("(", ")"),
        "[" => ("[", "]"),
        _ => ("{", "}"),
    };
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(open) {
        if t.text == o {
            depth += 1;
        } else if t.text == c {
            depth -= 1;
            if depth == 0 {
                return i;
            }
        }
    }
    toks.len().saturating_sub(1)
}

/// The top-level modules `src` uses, with the line of each use, leaving out
/// `module` itself. In the crate root (`is_root`), bare paths to the
/// modules it declares count too.
fn uses_in(module: &str, is_root: bool, src: &str) -> Vec<(String, usize)> {
    let toks = tokens(&blank_non_code(src));
    let is_path_sep = |i: usize| text_at(&toks, i) == ":" && text_at(&toks, i + 1) == ":";
    let declared: BTreeSet<&str> = if is_root {
        (0..toks.len())
            .filter(|&i| text_at(&toks, i) == "mod" && text_at(&toks, i + 2) == ";")
            .map(|i| text_at(&toks, i + 1))
            .collect()
    } else {
        BTreeSet::new()
    };
    let mut found = Vec::new();
    for i in 0..toks.len() {
        let word = text_at(&toks, i);
        if word == "crate" && is_path_sep(i + 1) {
            let first = i + 3;
            if text_at(&toks, first) == "{" {
                // `crate::{a, b::{c, d}, e}`: the first word of each item at
                // the outer level.
                let close = matching_close(&toks, first);
                let mut depth = 0;
                let mut is_item_start = true;
                for t in &toks[first..close] {
                    match t.text.as_str() {
                        "{" => depth += 1,
                        "}" => depth -= 1,
                        "," if depth == 1 => is_item_start = true,
                        w if depth == 1 && is_item_start => {
                            is_item_start = false;
                            if is_ident(w) && w != "self" {
                                found.push((w.to_string(), t.line));
                            }
                        }
                        _ => {}
                    }
                }
            } else if let Some(t) = toks.get(first) {
                if is_ident(&t.text) && t.text != "self" && t.text != "super" {
                    found.push((t.text.clone(), t.line));
                }
            }
        } else if declared.contains(word) && is_path_sep(i + 1) && !(i >= 2 && is_path_sep(i - 2)) {
            found.push((word.to_string(), toks[i].line));
        }
    }
    found.retain(|(to, _)| to != module);
    found.dedup();
    found
}

/// The lines of each `#[cfg(test)] mod NAME { … }` block, as (first, last),
/// the first being the attribute's line.
fn test_blocks(toks: &[Token]) -> Vec<(usize, usize)> {
    const CFG_TEST: [&str; 7] = ["#", "[", "cfg", "(", "test", ")", "]"];
    let mut blocks = Vec::new();
    for i in 0..toks.len() {
        if !CFG_TEST
            .iter()
            .enumerate()
            .all(|(k, w)| text_at(toks, i + k) == *w)
        {
            continue;
        }
        let mut j = i + CFG_TEST.len();
        loop {
            match text_at(toks, j) {
                "#" if text_at(toks, j + 1) == "[" => j = matching_close(toks, j + 1) + 1,
                "pub" if text_at(toks, j + 1) == "(" => j = matching_close(toks, j + 1) + 1,
                "pub" => j += 1,
                _ => break,
            }
        }
        if text_at(toks, j) == "mod" && text_at(toks, j + 2) == "{" {
            blocks.push((toks[i].line, toks[matching_close(toks, j + 2)].line));
        }
    }
    blocks
}

/// Whether `line` lies in one of `blocks`.
fn is_in_blocks(blocks: &[(usize, usize)], line: usize) -> bool {
    blocks.iter().any(|&(a, b)| (a..=b).contains(&line))
}

/// The lines of `src` that count against the file limit: all of them but
/// those of `#[cfg(test)] mod` blocks.
fn counted_lines(src: &str) -> usize {
    let toks = tokens(&blank_non_code(src));
    let blocks = test_blocks(&toks);
    let total = src.lines().count();
    let test_lines = (1..=total).filter(|&l| is_in_blocks(&blocks, l)).count();
    total - test_lines
}

/// Every function with a body in `src`, outside `#[cfg(test)] mod` blocks.
fn functions(src: &str) -> Vec<Function> {
    let toks = tokens(&blank_non_code(src));
    let blocks = test_blocks(&toks);
    let mut found = Vec::new();
    for i in 0..toks.len() {
        if toks[i].text != "fn" || !is_ident(text_at(&toks, i + 1)) {
            continue;
        }
        if is_in_blocks(&blocks, toks[i].line) {
            continue;
        }
        // The body is the first `{` outside parentheses and brackets; a `;`
        // there first means a declaration without one.
        let mut depth = 0i32;
        let mut j = i + 2;
        while j < toks.len() {
            match toks[j].text.as_str() {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                ";" if depth == 0 => break,
                "{" if depth == 0 => {
                    found.push(Function {
                        name: toks[i + 1].text.clone(),
                        line: toks[i].line,
                        end: toks[matching_close(&toks, j)].line,
                    });
                    break;
                }
                _ => {}
            }
            j += 1;
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Graphs

/// Every cycle a depth-first search meets, one per back edge, each as the
/// path that starts and ends at the same module.
fn find_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
        cycles: &mut Vec<Vec<String>>,
    ) {
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(at) = path.iter().position(|n| n == next) {
                let mut cycle = path[at..].to_vec();
                cycle.push(next.clone());
                cycles.push(cycle);
            } else if !done.contains(next) {
                visit(next, graph, done, path, cycles);
            }
        }
        path.pop();
        done.insert(node.to_string());
    }
    let mut done = BTreeSet::new();
    let mut cycles = Vec::new();
    for node in graph.keys() {
        if !done.contains(node) {
            visit(node, graph, &mut done, &mut Vec::new(), &mut cycles);
        }
    }
    cycles
}

fn allowed_graph() -> BTreeMap<String, BTreeSet<String>> {
    ALLOWED
        .iter()
        .map(|(m, uses)| (m.to_string(), uses.iter().map(|u| u.to_string()).collect()))
        .collect()
}

fn allowed_uses(module: &str) -> Option<&'static [&'static str]> {
    ALLOWED.iter().find(|(m, _)| *m == module).map(|(_, u)| *u)
}

// ---------------------------------------------------------------------------
// The source tree

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `src/`, as (path from the crate root with `/`,
/// text), sorted by path.
fn source_files() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    let root = src_dir();
    let mut paths = Vec::new();
    walk(&root, &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            let rel = p.strip_prefix(&root).expect("walked from src/");
            let rel: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            (format!("src/{}", rel.join("/")), text)
        })
        .collect()
}

/// The top-level module of `src/…` path `path`.
fn module_of(path: &str) -> String {
    let rest = path.strip_prefix("src/").unwrap_or(path);
    let first = rest.split('/').next().unwrap_or(rest);
    first.strip_suffix(".rs").unwrap_or(first).to_string()
}

/// Whether a file holds only test code, by its name.
fn is_test_file(path: &str) -> bool {
    path.ends_with("_tests.rs") || path.ends_with("_fuzz.rs")
}

/// Every edge of the source tree, sorted by file and line.
fn source_edges() -> Vec<Edge> {
    let mut edges = Vec::new();
    for (path, text) in source_files() {
        let from = module_of(&path);
        for (to, line) in uses_in(&from, path == "src/main.rs", &text) {
            edges.push(Edge {
                path: path.clone(),
                line,
                from: from.clone(),
                to,
            });
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

fn describe_uses(module: &str, uses: &[&str]) -> String {
    if uses.is_empty() {
        format!("{module} may use nothing")
    } else {
        format!("{module} may use {}", uses.join(", "))
    }
}

// ---------------------------------------------------------------------------
// The checks

#[test]
fn allowed_table_is_acyclic_and_names_only_its_own_modules() {
    let names: BTreeSet<&str> = ALLOWED.iter().map(|(m, _)| *m).collect();
    assert_eq!(
        names.len(),
        ALLOWED.len(),
        "a module has two rows in ALLOWED"
    );
    let unknown: Vec<String> = ALLOWED
        .iter()
        .flat_map(|(m, uses)| uses.iter().map(move |u| (m, u)))
        .filter(|(_, u)| !names.contains(*u))
        .map(|(m, u)| format!("{m} -> {u}"))
        .collect();
    assert!(
        unknown.is_empty(),
        "ALLOWED names modules that have no row of their own: {}",
        unknown.join(", ")
    );
    let cycles = find_cycles(&allowed_graph());
    assert!(
        cycles.is_empty(),
        "the ALLOWED table has cycles; dependencies must flow one way:\n{}",
        cycles
            .iter()
            .map(|c| format!("  {}", c.join(" -> ")))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_module_is_in_the_allowed_table() {
    let mut problems = BTreeSet::new();
    for (path, _) in source_files() {
        let module = module_of(&path);
        if allowed_uses(&module).is_none() {
            problems.insert(format!(
                "{path}: top-level module {module} is not in ALLOWED: add a row to tests/graph.rs saying which modules it may use (and mirror it in docs/architecture.md)"
            ));
        }
    }
    for e in source_edges() {
        if allowed_uses(&e.to).is_none() {
            problems.insert(format!(
                "{}:{}: crate::{} is not a module in ALLOWED: add a row to tests/graph.rs (and docs/architecture.md) if it is a new top-level module",
                e.path, e.line, e.to
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "unknown top-level modules:\n{}",
        problems.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_edge_is_allowed() {
    let mut bad = Vec::new();
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in source_edges() {
        let why = match allowed_uses(&e.from) {
            Some(uses) if uses.contains(&e.to.as_str()) => continue,
            Some(uses) => format!("not allowed; {}", describe_uses(&e.from, uses)),
            None => format!("{} is not in ALLOWED", e.from),
        };
        bad.push(format!(
            "{}:{}: {} -> {} ({why})",
            e.path, e.line, e.from, e.to
        ));
        *counts.entry((e.from, e.to)).or_default() += 1;
    }
    let summary: Vec<String> = counts
        .iter()
        .map(|((from, to), n)| format!("  {from} -> {to}: {n}"))
        .collect();
    assert!(
        bad.is_empty(),
        "{} uses break the module graph (ALLOWED in tests/graph.rs; docs/architecture.md mirrors it).\nBy edge:\n{}\nEach use:\n{}",
        bad.len(),
        summary.join("\n"),
        bad.join("\n")
    );
}

#[test]
fn module_graph_is_acyclic() {
    let edges = source_edges();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &edges {
        graph
            .entry(e.from.clone())
            .or_default()
            .insert(e.to.clone());
    }
    let first_use = |from: &str, to: &str| {
        edges
            .iter()
            .find(|e| e.from == from && e.to == to)
            .map_or(String::new(), |e| format!("{}:{}", e.path, e.line))
    };
    let cycles: Vec<String> = find_cycles(&graph)
        .iter()
        .map(|c| {
            let steps: Vec<String> = c
                .windows(2)
                .map(|w| format!("{} -> {} at {}", w[0], w[1], first_use(&w[0], &w[1])))
                .collect();
            format!("  {}\n    {}", c.join(" -> "), steps.join("\n    "))
        })
        .collect();
    assert!(
        cycles.is_empty(),
        "the modules of src/ use each other in cycles:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn no_file_is_over_800_lines() {
    let mut long = Vec::new();
    for (path, text) in source_files() {
        if is_test_file(&path) {
            continue;
        }
        let n = counted_lines(&text);
        if n > MAX_FILE_LINES {
            long.push(format!("{path}: {n} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "files over {MAX_FILE_LINES} lines (not counting #[cfg(test)] mod blocks); split them:\n{}",
        long.join("\n")
    );
}

#[test]
fn no_function_is_over_150_lines() {
    let mut long = Vec::new();
    for (path, text) in source_files() {
        if is_test_file(&path) {
            continue;
        }
        for f in functions(&text) {
            let n = f.end - f.line + 1;
            if n > MAX_FN_LINES {
                long.push(format!("{path}:{}: fn {} is {n} lines", f.line, f.name));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines (from `fn` to the closing brace); split them:\n{}",
        long.join("\n")
    );
}

// ---------------------------------------------------------------------------
// The scanner on small inputs

fn targets(module: &str, src: &str) -> Vec<String> {
    uses_in(module, false, src)
        .into_iter()
        .map(|(to, _)| to)
        .collect()
}

#[test]
fn scanner_reads_plain_and_grouped_use() {
    let src = "use crate::storage::Store;\nuse crate::{image, userns};\nuse crate::net::{a, b};\n";
    assert_eq!(targets("cli", src), ["storage", "image", "userns", "net"]);
}

#[test]
fn scanner_reads_only_the_outer_level_of_nested_braces() {
    let src = "use crate::{\n    storage::{lock::Lock, Store},\n    error::{Error, Hint as _},\n    sys,\n    self,\n};\n";
    assert_eq!(
        uses_in("cli", false, src),
        [
            ("storage".to_string(), 2),
            ("error".to_string(), 3),
            ("sys".to_string(), 4)
        ]
    );
}

#[test]
fn scanner_reads_inline_paths() {
    let src = "fn f() -> Result<(), crate::error::Error> {\n    let s = crate::storage::Store::open(&p)?;\n    crate::\n        net::up()\n}\n";
    assert_eq!(
        uses_in("image", false, src),
        [
            ("error".to_string(), 1),
            ("storage".to_string(), 2),
            ("net".to_string(), 4)
        ]
    );
}

#[test]
fn scanner_leaves_out_the_module_itself_and_visibility() {
    let src = "pub(crate) fn f() { crate::storage::x(); super::y(); }\n";
    assert!(targets("storage", src).is_empty());
}

#[test]
fn scanner_ignores_comments() {
    let src = "//! Owns crate::net.\n/// See [`crate::image::Ref`].\n// crate::cgroup\n/* crate::sys /* nested crate::paths */ crate::userns */\nfn f() {}\n";
    assert!(targets("cli", src).is_empty(), "{:?}", targets("cli", src));
}

#[test]
fn scanner_ignores_strings_and_chars() {
    let src = r#"fn f() {
    let a = "crate::net";
    let b = "escaped \" crate::image";
    let c = b"crate::sys";
    let q = '"';
    let s: &'static str = "x";
    let _ = crate::storage::open();
}
"#;
    assert_eq!(uses_in("cli", false, src), [("storage".to_string(), 7)]);
}

#[test]
fn scanner_ignores_raw_strings() {
    let src = "fn f() {\n    let a = r#\"crate::net \"quoted\" crate::sys\"#;\n    let b = br\"crate::image\";\n    let r#type = crate::userns::x();\n}\n";
    assert_eq!(uses_in("cli", false, src), [("userns".to_string(), 4)]);
}

#[test]
fn scanner_reads_bare_paths_in_the_crate_root() {
    let src = "mod cli;\nmod error;\nmod storage;\nfn main() {\n    let code = cli::main();\n    std::process::exit(error::code(code));\n}\n";
    assert_eq!(
        uses_in("main", true, src),
        [("cli".to_string(), 5), ("error".to_string(), 6)]
    );
    assert!(uses_in("cli", false, src).is_empty());
}

#[test]
fn cycle_in_a_made_up_table_is_found() {
    let graph = |rows: &[(&str, &[&str])]| -> BTreeMap<String, BTreeSet<String>> {
        rows.iter()
            .map(|(m, u)| (m.to_string(), u.iter().map(|s| s.to_string()).collect()))
            .collect()
    };
    let cyclic = graph(&[("a", &["b"]), ("b", &["c", "d"]), ("c", &["a"]), ("d", &[])]);
    assert_eq!(find_cycles(&cyclic), [["a", "b", "c", "a"]]);
    let acyclic = graph(&[("a", &["b", "c"]), ("b", &["c"]), ("c", &[])]);
    assert!(find_cycles(&acyclic).is_empty());
    assert!(find_cycles(&allowed_graph()).is_empty());
}

#[test]
fn functions_are_measured_from_fn_to_closing_brace() {
    let src = "trait T {\n    fn declared(&self);\n}\nfn short() -> [u8; 2] {\n    let c = '{';\n    let s = \"}}\";\n    [0, 1]\n}\n\n#[cfg(test)]\nmod tests {\n    fn helper() {\n    }\n}\n";
    assert_eq!(
        functions(src),
        [Function {
            name: "short".into(),
            line: 4,
            end: 8
        }]
    );
    assert_eq!(counted_lines(src), 9);
}
