//! A Containerfile's text as instructions: parser directives at the top
//! (`# escape=`, `# syntax=`), comments and blank lines dropped, lines
//! continued with the escape character joined, and the here-documents of
//! `RUN`, `COPY` and `ADD` (`<<EOF`, `<<-EOF`, `<<"EOF"`) read from the
//! lines after their instruction.

use super::Error;

/// One instruction as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raw {
    /// The line it starts on (1-based).
    pub line: usize,
    /// The instruction word, upper case (`RUN`).
    pub keyword: String,
    /// What follows the word, continuations joined, trimmed.
    pub rest: String,
    /// Its here-documents, in order.
    pub heredocs: Vec<Heredoc>,
}

/// A here-document of an instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    /// Its delimiter word (`EOF`), which also names the file `COPY` makes.
    pub name: String,
    /// Its lines, each ending in a newline.
    pub content: String,
    /// False when the delimiter was quoted: no variables are expanded.
    pub expands: bool,
}

/// The directives and instructions of `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lexed {
    /// `# escape=`: `\` (the default) or `` ` ``.
    pub escape: char,
    /// `# syntax=`, if given (recorded, not acted on).
    pub syntax: Option<String>,
    pub instructions: Vec<Raw>,
}

/// Splits `text` into instructions.
pub fn lex(text: &str) -> Result<Lexed, Error> {
    let lines: Vec<&str> = text.lines().collect();
    let (escape, syntax, first) = directives(&lines)?;
    let mut out = Vec::new();
    let mut i = first;
    while i < lines.len() {
        let line = lines[i];
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        // Join continued lines; comment lines inside are dropped.
        let mut joined = String::new();
        let mut text = line.to_string();
        loop {
            match continued(&text, escape) {
                Some(head) => {
                    joined.push_str(head);
                    i += 1;
                    // Comments and blank lines between continued lines.
                    while i < lines.len() && {
                        let t = lines[i].trim_start();
                        t.starts_with('#') || t.is_empty()
                    } {
                        i += 1;
                    }
                    match lines.get(i) {
                        Some(next) => text = next.to_string(),
                        None => break,
                    }
                }
                None => {
                    joined.push_str(&text);
                    i += 1;
                    break;
                }
            }
        }
        let joined = joined.trim();
        let (word, rest) = match joined.find(char::is_whitespace) {
            Some(n) => (&joined[..n], joined[n..].trim()),
            None => (joined, ""),
        };
        let keyword = word.to_ascii_uppercase();
        let mut heredocs = Vec::new();
        if matches!(keyword.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, strip_tabs, expands) in heredoc_markers(rest) {
                let mut content = String::new();
                loop {
                    let Some(l) = lines.get(i) else {
                        return Err(Error::HeredocUnterminated {
                            line: start + 1,
                            name,
                        });
                    };
                    i += 1;
                    let l = match strip_tabs {
                        true => l.trim_start_matches('\t'),
                        false => l,
                    };
                    if l == name {
                        break;
                    }
                    content.push_str(l);
                    content.push('\n');
                }
                heredocs.push(Heredoc {
                    name,
                    content,
                    expands,
                });
            }
        }
        out.push(Raw {
            line: start + 1,
            keyword,
            rest: rest.to_string(),
            heredocs,
        });
    }
    Ok(Lexed {
        escape,
        syntax,
        instructions: out,
    })
}

/// The head of `line` without its trailing escape character when the
/// line is continued.
fn continued(line: &str, escape: char) -> Option<&str> {
    let t = line.trim_end();
    t.strip_suffix(escape)
}

/// The parser directives at the top of the file: the escape character,
/// the syntax, and the index of the first line after them.
fn directives(lines: &[&str]) -> Result<(char, Option<String>, usize), Error> {
    let mut escape = '\\';
    let mut syntax = None;
    let mut seen = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(body) = line.trim().strip_prefix('#') else {
            return Ok((escape, syntax, i));
        };
        let Some((key, value)) = body.split_once('=') else {
            return Ok((escape, syntax, i));
        };
        let key = key.trim().to_ascii_lowercase();
        let value = value.trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Ok((escape, syntax, i));
        }
        if seen.contains(&key) {
            return Err(Error::Directive {
                line: i + 1,
                why: format!("{key} given twice"),
            });
        }
        match key.as_str() {
            "escape" => {
                escape = match value {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(Error::Directive {
                            line: i + 1,
                            why: format!("escape must be \\ or `, not {value:?}"),
                        })
                    }
                };
            }
            "syntax" => syntax = Some(value.to_string()),
            // Other directives (`check`) are comments to this builder.
            _ => return Ok((escape, syntax, i)),
        }
        seen.push(key);
    }
    Ok((escape, syntax, lines.len()))
}

/// The here-documents `rest` opens: (delimiter, strip leading tabs,
/// expands variables).
fn heredoc_markers(rest: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let b = rest.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i + 1 < b.len() {
        match (quote, b[i]) {
            (None, q @ (b'\'' | b'"')) => {
                // A quoted `<<` is no here-document; a quote right after
                // `<<` is handled below.
                quote = Some(q);
                i += 1;
                continue;
            }
            (Some(q), c) if c == q => {
                quote = None;
                i += 1;
                continue;
            }
            (Some(_), _) => {
                i += 1;
                continue;
            }
            _ => {}
        }
        if b[i] == b'<' && b[i + 1] == b'<' && (i + 2 >= b.len() || b[i + 2] != b'<') {
            let mut j = i + 2;
            let strip_tabs = b.get(j) == Some(&b'-');
            if strip_tabs {
                j += 1;
            }
            let quoted = match b.get(j) {
                Some(&q @ (b'\'' | b'"')) => {
                    j += 1;
                    Some(q)
                }
                _ => None,
            };
            let start = j;
            while j < b.len()
                && (b[j].is_ascii_alphanumeric() || b[j] == b'_' || b[j] == b'-' || b[j] == b'.')
            {
                j += 1;
            }
            let name = &rest[start..j];
            let closed = match quoted {
                Some(q) => b.get(j) == Some(&q),
                None => true,
            };
            if !name.is_empty() && closed {
                out.push((name.to_string(), strip_tabs, quoted.is_none()));
                i = j + usize::from(quoted.is_some());
                continue;
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuations_comments_and_directives() {
        let text = "# syntax=docker/dockerfile:1\n# escape=`\n\nFROM a\n# note\nRUN echo 1 `\n  # inside\n  && echo 2\nrun  x\n";
        let l = lex(text).unwrap();
        assert_eq!(l.escape, '`');
        assert_eq!(l.syntax.as_deref(), Some("docker/dockerfile:1"));
        let words: Vec<(usize, &str, &str)> = l
            .instructions
            .iter()
            .map(|r| (r.line, r.keyword.as_str(), r.rest.as_str()))
            .collect();
        assert_eq!(
            words,
            vec![
                (4, "FROM", "a"),
                (6, "RUN", "echo 1   && echo 2"),
                (9, "RUN", "x")
            ]
        );
    }

    #[test]
    fn a_directive_after_an_instruction_is_a_comment() {
        let l = lex("FROM a\n# escape=`\nRUN b \\\n c\n").unwrap();
        assert_eq!(l.escape, '\\');
        assert_eq!(l.instructions[1].rest, "b  c");
        assert!(matches!(
            lex("# escape=x\nFROM a"),
            Err(Error::Directive { line: 1, .. })
        ));
    }

    #[test]
    fn heredocs_are_read_after_their_instruction() {
        let text = "FROM a\nRUN <<EOF\necho hi\n  x\nEOF\nCOPY <<-one <<'two' /dst/\n\tone line\n\tone\n$X\ntwo\nRUN echo '<<NO'\n";
        let l = lex(text).unwrap();
        let run = &l.instructions[1];
        assert_eq!(run.heredocs.len(), 1);
        assert_eq!(run.heredocs[0].content, "echo hi\n  x\n");
        let copy = &l.instructions[2];
        assert_eq!(
            copy.heredocs,
            vec![
                Heredoc {
                    name: "one".into(),
                    content: "one line\n".into(),
                    expands: true
                },
                Heredoc {
                    name: "two".into(),
                    content: "$X\n".into(),
                    expands: false
                },
            ]
        );
        assert!(l.instructions[3].heredocs.is_empty());
        assert!(matches!(
            lex("FROM a\nRUN <<EOF\nno end\n"),
            Err(Error::HeredocUnterminated { line: 2, .. })
        ));
    }
}
