//! systemd unit files as text: the parser (sections, `Key=Value` lines,
//! comments, backslash continuations) keeping each entry's line number,
//! the writer, and systemd's value syntax (booleans, quoted words,
//! command lines), following systemd.syntax(7).

use std::fmt::Write as _;

/// One `Key=Value` line, or a comment kept for the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `Key=Value`, with the line it started on (0 for added ones).
    Entry {
        key: String,
        value: String,
        line: usize,
    },
    /// A comment line, written back as it was.
    Comment(String),
}

/// A `[Name]` section and its lines in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The name between the brackets.
    pub name: String,
    /// The line of the header.
    pub line: usize,
    /// Its entries and comments.
    pub lines: Vec<Line>,
}

/// A parsed unit file: its sections in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFile {
    /// Comments before the first section.
    pub head: Vec<String>,
    /// The sections, in order (a name may repeat; lookups see them all).
    pub sections: Vec<Section>,
}

/// Why a unit file's text does not parse: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {what}")]
pub struct SyntaxError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong there.
    pub what: String,
}

impl UnitFile {
    /// Parses unit file text.
    pub fn parse(text: &str) -> Result<UnitFile, SyntaxError> {
        let mut unit = UnitFile::default();
        let mut pending: Option<(usize, String)> = None;
        for (i, raw) in text.lines().enumerate() {
            let number = i + 1;
            let trimmed = raw.trim();
            if let Some((start, mut acc)) = pending.take() {
                // Comments inside a continuation are skipped (systemd.syntax(7)).
                if trimmed.starts_with('#') || trimmed.starts_with(';') {
                    pending = Some((start, acc));
                    continue;
                }
                match trimmed.strip_suffix('\\') {
                    Some(part) => {
                        acc.push_str(part);
                        acc.push(' ');
                        pending = Some((start, acc));
                    }
                    None => {
                        acc.push_str(trimmed);
                        unit.add_line(start, &acc)?;
                    }
                }
                continue;
            }
            if trimmed.is_empty() {
                continue;
            }
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                match unit.sections.last_mut() {
                    Some(s) => s.lines.push(Line::Comment(trimmed.to_string())),
                    None => unit.head.push(trimmed.to_string()),
                }
                continue;
            }
            if let Some(rest) = trimmed.strip_prefix('[') {
                let Some(name) = rest.strip_suffix(']') else {
                    return Err(SyntaxError {
                        line: number,
                        what: format!("section header {trimmed:?} lacks its closing bracket"),
                    });
                };
                unit.sections.push(Section {
                    name: name.to_string(),
                    line: number,
                    lines: Vec::new(),
                });
                continue;
            }
            match trimmed.strip_suffix('\\') {
                Some(part) => pending = Some((number, format!("{part} "))),
                None => unit.add_line(number, trimmed)?,
            }
        }
        if let Some((start, acc)) = pending {
            unit.add_line(start, acc.trim_end())?;
        }
        Ok(unit)
    }

    fn add_line(&mut self, line: usize, text: &str) -> Result<(), SyntaxError> {
        let Some((key, value)) = text.split_once('=') else {
            return Err(SyntaxError {
                line,
                what: format!("{text:?} is neither a section, a comment nor KEY=VALUE"),
            });
        };
        let Some(section) = self.sections.last_mut() else {
            return Err(SyntaxError {
                line,
                what: format!("key {:?} comes before any section", key.trim()),
            });
        };
        section.lines.push(Line::Entry {
            key: key.trim().to_string(),
            value: value.trim().to_string(),
            line,
        });
        Ok(())
    }

    /// Whether a section `name` exists.
    #[cfg(test)]
    pub fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|s| s.name == name)
    }

    /// Every entry of section `name`: key, value, line.
    pub fn entries<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (&'a str, &'a str, usize)> {
        self.sections
            .iter()
            .filter(move |s| s.name == name)
            .flat_map(|s| s.lines.iter())
            .filter_map(|l| match l {
                Line::Entry { key, value, line } => Some((key.as_str(), value.as_str(), *line)),
                Line::Comment(_) => None,
            })
    }

    /// Every value of `key` in section `name`, in order; an empty value
    /// resets the list, as systemd's list settings do.
    pub fn all(&self, name: &str, key: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v, _) in self.entries(name) {
            if k == key {
                if v.is_empty() {
                    out.clear();
                } else {
                    out.push(v.to_string());
                }
            }
        }
        out
    }

    /// The last value of `key` in section `name`.
    pub fn last(&self, name: &str, key: &str) -> Option<String> {
        self.entries(name)
            .filter(|(k, _, _)| *k == key)
            .last()
            .map(|(_, v, _)| v.to_string())
    }

    /// The last non-empty value of `key`.
    pub fn get(&self, name: &str, key: &str) -> Option<String> {
        self.last(name, key).filter(|v| !v.is_empty())
    }

    /// Whether `key` is set in section `name`.
    pub fn has(&self, name: &str, key: &str) -> bool {
        self.entries(name).any(|(k, _, _)| k == key)
    }

    /// Every value of `key`, each split into words (systemd quoting).
    pub fn all_words(&self, name: &str, key: &str) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for v in self.all(name, key) {
            out.extend(split_words(&v)?);
        }
        Ok(out)
    }

    /// Appends `key=value` to the last section `name`, creating it at the
    /// end when missing.
    pub fn add(&mut self, name: &str, key: &str, value: &str) {
        let index = match self.sections.iter().rposition(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.sections.push(Section {
                    name: name.to_string(),
                    line: 0,
                    lines: Vec::new(),
                });
                self.sections.len() - 1
            }
        };
        self.sections[index].lines.push(Line::Entry {
            key: key.to_string(),
            value: value.to_string(),
            line: 0,
        });
    }

    /// Sets `key` to the one value `value`: earlier values are removed.
    pub fn set(&mut self, name: &str, key: &str, value: &str) {
        self.unset(name, key);
        self.add(name, key, value);
    }

    /// Removes every `key` of section `name`.
    pub fn unset(&mut self, name: &str, key: &str) {
        for s in self.sections.iter_mut().filter(|s| s.name == name) {
            s.lines
                .retain(|l| !matches!(l, Line::Entry { key: k, .. } if k == key));
        }
    }

    /// Renames every section `from` to `to`.
    pub fn rename_section(&mut self, from: &str, to: &str) {
        for s in self.sections.iter_mut().filter(|s| s.name == from) {
            s.name = to.to_string();
        }
    }

    /// The unit file's text.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.head {
            let _ = writeln!(out, "{c}");
        }
        for (i, s) in self.sections.iter().enumerate() {
            if i > 0 || !self.head.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "[{}]", s.name);
            for l in &s.lines {
                match l {
                    Line::Entry { key, value, .. } => {
                        let _ = writeln!(out, "{key}={value}");
                    }
                    Line::Comment(c) => {
                        let _ = writeln!(out, "{c}");
                    }
                }
            }
        }
        out
    }
}

/// systemd's boolean (systemd.syntax(7)): 1, yes, y, true, t, on and 0,
/// no, n, false, f, off, in any case.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// Splits `value` into words as systemd splits a command line: blanks
/// separate words, double or single quotes group them, backslash escapes.
pub fn split_words(value: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(words);
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if c.is_whitespace() => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => match chars.next() {
                    Some('n') => word.push('\n'),
                    Some('t') => word.push('\t'),
                    Some(other) => word.push(other),
                    None => return Err(format!("{value:?} ends in a lone backslash")),
                },
                (_, c) => word.push(c),
            }
        }
        if let Some(q) = quote {
            return Err(format!("{value:?} has an unclosed {q} quote"));
        }
        words.push(word);
    }
}

/// One word of a command line as systemd reads it back: quoted when it
/// holds blanks, quotes or backslashes, so `split_words` returns it.
pub fn quote_word(word: &str) -> String {
    let plain = !word.is_empty()
        && !word
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | ';'));
    if plain {
        return word.to_string();
    }
    let mut out = String::from("\"");
    for c in word.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A command line for `Exec*=`, its words quoted as needed.
pub fn command_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| quote_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sections_comments_and_continuations() {
        let text = "# head\n[Unit]\nDescription=web  \n\n[Container]\n; note\nImage=busybox\nExec=sh -c \\\n  # skipped\n  'echo hi'\nPublishPort=8080:80\n";
        let u = UnitFile::parse(text).unwrap();
        assert_eq!(u.head, vec!["# head"]);
        assert_eq!(u.get("Unit", "Description").as_deref(), Some("web"));
        assert_eq!(
            u.get("Container", "Exec").as_deref(),
            Some("sh -c  'echo hi'")
        );
        let lines: Vec<usize> = u.entries("Container").map(|e| e.2).collect();
        assert_eq!(lines, vec![7, 8, 11]);
        assert_eq!(
            u.all_words("Container", "Exec").unwrap(),
            vec!["sh", "-c", "echo hi"]
        );
    }

    #[test]
    fn rejects_lines_that_are_not_entries() {
        let e = UnitFile::parse("[Unit]\nnonsense\n").unwrap_err();
        assert_eq!(e.line, 2);
        let e = UnitFile::parse("Image=x\n").unwrap_err();
        assert!(e.what.contains("before any section"), "{e}");
        assert!(UnitFile::parse("[Unit\n").is_err());
    }

    #[test]
    fn empty_values_reset_lists() {
        let u = UnitFile::parse("[C]\nA=1\nA=2\nA=\nA=3\n").unwrap();
        assert_eq!(u.all("C", "A"), vec!["3"]);
    }

    #[test]
    fn words_split_and_quote_round_trip() {
        assert_eq!(
            split_words(r#"a "b c" 'd "e"' f\ g"#).unwrap(),
            vec!["a", "b c", "d \"e\"", "f g"]
        );
        assert!(split_words("\"open").is_err());
        for w in [
            "plain",
            "two words",
            "q\"uote",
            "back\\slash",
            "",
            "%t/%N.cid",
        ] {
            assert_eq!(split_words(&quote_word(w)).unwrap(), vec![w.to_string()]);
        }
        assert_eq!(quote_word("%t/%N.cid"), "%t/%N.cid");
    }

    #[test]
    fn set_add_and_write_keep_order() {
        let mut u = UnitFile::parse("[Unit]\nA=1\n[Service]\nType=simple\nX=1\n").unwrap();
        u.set("Service", "Type", "notify");
        u.add("Install", "WantedBy", "default.target");
        u.rename_section("Unit", "X-Unit");
        assert_eq!(
            u.to_text(),
            "[X-Unit]\nA=1\n\n[Service]\nX=1\nType=notify\n\n[Install]\nWantedBy=default.target\n"
        );
        assert_eq!(parse_bool("YES"), Some(true));
        assert_eq!(parse_bool("off"), Some(false));
        assert_eq!(parse_bool("maybe"), None);
    }
}
