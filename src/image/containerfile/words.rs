//! Words of a Containerfile instruction as the builder reads them: split
//! at blanks outside quotes, quotes and escapes removed, and `$VAR`,
//! `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:+alt}`,
//! `${VAR+alt}`, `${VAR:?message}` and `${VAR?message}` replaced from the
//! variables in scope (Docker's and Podman's rules: single quotes keep
//! everything, double quotes keep blanks and expand variables).

use super::Error;

/// Looks a variable up: `None` when it is not set.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `text` as one word, expanded (blanks kept).
pub fn expand(text: &str, escape: char, vars: Lookup) -> Result<String, Error> {
    let mut w = Walker::new(text, escape, vars);
    w.word(false)
}

/// `text` split into words at blanks outside quotes, each expanded.
pub fn expand_words(text: &str, escape: char, vars: Lookup) -> Result<Vec<String>, Error> {
    let mut w = Walker::new(text, escape, vars);
    let mut out = Vec::new();
    loop {
        w.skip_blanks();
        if w.at_end() {
            return Ok(out);
        }
        out.push(w.word(true)?);
    }
}

/// `text` split at blanks outside quotes, without expansion or quote
/// removal (for `KEY=VALUE` lists, whose keys must be found first).
pub fn split_raw(text: &str, escape: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, c) if c.is_whitespace() => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                continue;
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), _) => {}
            (_, c) if c == escape => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

struct Walker<'a> {
    chars: Vec<char>,
    at: usize,
    escape: char,
    vars: Lookup<'a>,
}

impl<'a> Walker<'a> {
    fn new(text: &str, escape: char, vars: Lookup<'a>) -> Walker<'a> {
        Walker {
            chars: text.chars().collect(),
            at: 0,
            escape,
            vars,
        }
    }

    fn at_end(&self) -> bool {
        self.at >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.at += 1;
        }
    }

    /// One word, up to an unquoted blank when `stop_at_blank`, else to the
    /// end.
    fn word(&mut self, stop_at_blank: bool) -> Result<String, Error> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if stop_at_blank && c.is_whitespace() {
                break;
            }
            self.at += 1;
            match c {
                '\'' => self.single_quoted(&mut out)?,
                '"' => self.double_quoted(&mut out)?,
                '$' => out.push_str(&self.variable()?),
                c if c == self.escape => match self.next() {
                    Some(n) => out.push(n),
                    None => out.push(c),
                },
                c => out.push(c),
            }
        }
        Ok(out)
    }

    fn single_quoted(&mut self, out: &mut String) -> Result<(), Error> {
        loop {
            match self.next() {
                Some('\'') => return Ok(()),
                Some(c) => out.push(c),
                None => return Err(Error::Unterminated('\'')),
            }
        }
    }

    fn double_quoted(&mut self, out: &mut String) -> Result<(), Error> {
        loop {
            match self.next() {
                Some('"') => return Ok(()),
                Some('$') => out.push_str(&self.variable()?),
                Some(c) if c == self.escape => match self.peek() {
                    Some(n) if n == '"' || n == '$' || n == self.escape => {
                        self.at += 1;
                        out.push(n);
                    }
                    _ => out.push(c),
                },
                Some(c) => out.push(c),
                None => return Err(Error::Unterminated('"')),
            }
        }
    }

    /// After a `$`: the variable's value, or `$` itself when no name
    /// follows.
    fn variable(&mut self) -> Result<String, Error> {
        match self.peek() {
            Some('{') => {
                self.at += 1;
                self.braced()
            }
            Some(c) if c == '_' || c.is_ascii_alphabetic() => {
                let name = self.name();
                Ok((self.vars)(&name).unwrap_or_default())
            }
            _ => Ok("$".to_string()),
        }
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| *c == '_' || c.is_ascii_alphanumeric())
        {
            name.push(c);
            self.at += 1;
        }
        name
    }

    /// After `${`: the name, an optional modifier and its word, `}`.
    fn braced(&mut self) -> Result<String, Error> {
        let name = self.name();
        if name.is_empty() {
            return Err(Error::BadSubstitution(self.rest()));
        }
        let value = (self.vars)(&name);
        let colon = self.peek() == Some(':');
        if colon {
            self.at += 1;
        }
        let op = match self.next() {
            Some('}') if !colon => return Ok(value.unwrap_or_default()),
            Some(op @ ('-' | '+' | '?')) => op,
            _ => return Err(Error::BadSubstitution(name)),
        };
        let word = self.modifier_word()?;
        // With the colon an empty value counts as unset.
        let is_set = match colon {
            true => value.as_deref().is_some_and(|v| !v.is_empty()),
            false => value.is_some(),
        };
        Ok(match (op, is_set) {
            ('-', true) => value.unwrap_or_default(),
            ('-', false) => word,
            ('+', true) => word,
            ('+', false) => String::new(),
            (_, true) => value.unwrap_or_default(),
            (_, false) => {
                let message = match word.is_empty() {
                    true => "is not set".to_string(),
                    false => word,
                };
                return Err(Error::Required { name, message });
            }
        })
    }

    /// The word of a `${VAR:-word}`, itself expanded, up to its `}`.
    fn modifier_word(&mut self) -> Result<String, Error> {
        let mut out = String::new();
        loop {
            match self.next() {
                Some('}') => return Ok(out),
                Some('$') => out.push_str(&self.variable()?),
                Some('\'') => self.single_quoted(&mut out)?,
                Some('"') => self.double_quoted(&mut out)?,
                Some(c) if c == self.escape => {
                    if let Some(n) = self.next() {
                        out.push(n);
                    }
                }
                Some(c) => out.push(c),
                None => return Err(Error::Unterminated('}')),
            }
        }
    }

    fn rest(&self) -> String {
        self.chars[self.at.min(self.chars.len())..].iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        match name {
            "A" => Some("x".into()),
            "SP" => Some("a b".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn ex(text: &str) -> String {
        expand(text, '\\', &vars).unwrap()
    }

    #[test]
    fn variables_expand_in_every_form() {
        assert_eq!(ex("$A/${A}/$NOPE/${NOPE}"), "x/x//");
        assert_eq!(ex("${NOPE:-d} ${EMPTY:-d} ${EMPTY-d} ${A:-d}"), "d d  x");
        assert_eq!(ex("${NOPE:+a} ${EMPTY:+a} ${EMPTY+a} ${A:+a}"), "  a a");
        assert_eq!(ex("${NOPE:-$A-1}"), "x-1");
        assert_eq!(ex("$ 5$ a$1"), "$ 5$ a$1");
        assert_eq!(ex("$A_B ${A}_B"), " x_B");
    }

    #[test]
    fn quotes_and_escapes_follow_the_builder() {
        assert_eq!(ex("'$A' \"$A\" \\$A"), "$A x $A");
        assert_eq!(ex("\"a\\\"b\\n\""), "a\"b\\n");
        assert_eq!(ex("a\\ b"), "a b");
        assert_eq!(ex("`$A`"), "`x`");
        assert_eq!(expand("a`$A", '`', &vars).unwrap(), "a$A");
    }

    #[test]
    fn words_split_at_blanks_outside_quotes() {
        let w = expand_words("  a \"b c\" 'd e'  $SP f\\ g ", '\\', &vars).unwrap();
        assert_eq!(w, vec!["a", "b c", "d e", "a b", "f g"]);
        assert_eq!(
            split_raw("A=1 B=\"x y\" C='z w' D=a\\ b", '\\'),
            vec!["A=1", "B=\"x y\"", "C='z w'", "D=a\\ b"]
        );
    }

    #[test]
    fn bad_substitutions_are_errors() {
        assert!(matches!(
            expand("${A", '\\', &vars),
            Err(Error::BadSubstitution(_) | Error::Unterminated(_))
        ));
        assert!(matches!(
            expand("${}", '\\', &vars),
            Err(Error::BadSubstitution(_))
        ));
        assert!(matches!(
            expand("'abc", '\\', &vars),
            Err(Error::Unterminated('\''))
        ));
        match expand("${NOPE:?must be set}", '\\', &vars) {
            Err(Error::Required { name, message }) => {
                assert_eq!((name.as_str(), message.as_str()), ("NOPE", "must be set"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(ex("${A:?x}"), "x");
    }
}
