//! `.containerignore` and `.dockerignore`: which paths of a build context
//! the builder leaves out. One pattern per line (`#` comments and blank
//! lines aside), matched against the path relative to the context:
//! `*`, `?` and `[...]` within a path element, `**` for any number of
//! elements, a leading `!` for an exception. The last pattern that matches
//! a path, or one of the directories above it, decides.

/// The patterns of one ignore file, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    elements: Vec<String>,
    is_exception: bool,
}

impl Ignore {
    /// Reads the patterns of an ignore file.
    pub fn parse(text: &str) -> Ignore {
        let mut patterns = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (is_exception, body) = match line.strip_prefix('!') {
                Some(b) => (true, b.trim()),
                None => (false, line),
            };
            let elements = clean(body);
            if elements.is_empty() {
                continue;
            }
            patterns.push(Pattern {
                elements,
                is_exception,
            });
        }
        Ignore { patterns }
    }

    /// Whether some exception could bring back a path under a directory
    /// the patterns leave out (then the builder must still look inside).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.is_exception)
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out.
    pub fn is_excluded(&self, path: &str) -> bool {
        let elements = clean(path);
        if elements.is_empty() {
            return false;
        }
        let mut excluded = false;
        for p in &self.patterns {
            // The path itself, or a directory above it.
            let hit = (1..=elements.len()).any(|n| matches(&p.elements, &elements[..n]));
            if hit {
                excluded = !p.is_exception;
            }
        }
        excluded
    }
}

/// A path's elements without `.`, empty ones and leading `/`, with `..`
/// applied (and dropped above the top).
fn clean(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in path.split('/') {
        match e {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            e => out.push(e.to_string()),
        }
    }
    out
}

/// Whether pattern elements match path elements, `**` taking any number.
fn matches(pattern: &[String], path: &[String]) -> bool {
    match pattern.split_first() {
        None => path.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=path.len()).any(|skip| matches(rest, &path[skip..]))
        }
        Some((first, rest)) => match path.split_first() {
            Some((name, path_rest)) => {
                glob(first.as_bytes(), name.as_bytes()) && matches(rest, path_rest)
            }
            None => false,
        },
    }
}

/// Whether the path element `name` matches the glob element `pattern`
/// (`*`, `?`, `[a-z]`, `[^a]`, `\x`): `COPY`'s source globs.
pub fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    glob(pattern, name)
}

/// Shell-style matching of one element: `*`, `?`, `[a-z]`, `[^a]`, `\x`.
fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|n| glob(rest, &s[n..])),
        Some((b'?', rest)) => !s.is_empty() && glob(rest, &s[1..]),
        Some((b'[', rest)) => {
            let Some((&c, s_rest)) = s.split_first() else {
                return false;
            };
            match class(rest, c) {
                Some((hit, after)) => hit && glob(after, s_rest),
                // No closing bracket: a literal `[`.
                None => c == b'[' && glob(rest, s_rest),
            }
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            s.first() == rest.first() && glob(&rest[1..], &s[1..])
        }
        Some((&c, rest)) => s.first() == Some(&c) && glob(rest, &s[1..]),
    }
}

/// After a `[`: whether `c` is in the class, and the pattern after `]`.
fn class(p: &[u8], c: u8) -> Option<(bool, &[u8])> {
    let (negated, mut i) = match p.first() {
        Some(b'^' | b'!') => (true, 1),
        _ => (false, 0),
    };
    let mut hit = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == b']' && !first {
            return Some((hit != negated, &p[i + 1..]));
        }
        first = false;
        let lo = match p[i] {
            b'\\' if i + 1 < p.len() => {
                i += 1;
                p[i]
            }
            b => b,
        };
        if i + 2 < p.len() && p[i + 1] == b'-' && p[i + 2] != b']' {
            let hi = p[i + 2];
            hit |= (lo..=hi).contains(&c);
            i += 3;
        } else {
            hit |= lo == c;
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_exclude_paths_and_what_is_under_them() {
        let i = Ignore::parse("# c\n\n*.md\n/build\nsrc/**/*.o\n!README.md\ntmp?\n[a-c]x\n");
        for path in [
            "x.md",
            "build",
            "build/deep/f",
            "src/a.o",
            "src/a/b/c.o",
            "tmp1",
            "bx",
        ] {
            assert!(i.is_excluded(path), "{path} should be left out");
        }
        for path in ["README.md", "docs/x.md", "src/a.c", "tmp12", "dx", "buildx"] {
            assert!(!i.is_excluded(path), "{path} should be kept");
        }
    }

    #[test]
    fn the_last_matching_pattern_wins() {
        let i = Ignore::parse("docs\n!docs/keep\ndocs/keep/secret\n");
        assert!(i.is_excluded("docs/a"));
        assert!(!i.is_excluded("docs/keep/b"));
        assert!(i.is_excluded("docs/keep/secret"));
        assert!(i.has_exceptions());
        let all = Ignore::parse("**\n!only\n");
        assert!(all.is_excluded("a/b"));
        assert!(!all.is_excluded("only"));
    }

    #[test]
    fn globs_handle_classes_and_escapes() {
        assert!(glob(b"[^a]b", b"cb"));
        assert!(!glob(b"[!a]b", b"ab"));
        assert!(glob(b"a\\*", b"a*"));
        assert!(!glob(b"a\\*", b"ab"));
        assert!(glob(b"[]]", b"]"));
        assert!(glob(b"[", b"["));
        assert!(Ignore::parse("./a/../b").is_excluded("b"));
    }
}
