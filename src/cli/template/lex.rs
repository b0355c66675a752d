//! The lexer of Go's `text/template` (text/template/parse/lex.go): text,
//! `{{`/`}}` with the trim markers `{{- ` and ` -}}`, comments, and the
//! tokens inside an action.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    LeftDelim,
    RightDelim,
    Space,
    /// `.Name` (the value keeps the dot).
    Field,
    /// A lone `.`.
    Dot,
    /// `$name` or `$`.
    Variable,
    Ident,
    Bool,
    Nil,
    /// A quoted string, still quoted.
    Str,
    /// A back-quoted string, still quoted.
    RawStr,
    /// A character constant `'a'`, still quoted.
    CharConst,
    Number,
    Pipe,
    LeftParen,
    RightParen,
    /// `:=`
    Declare,
    /// `=`
    Assign,
    /// Another printable ASCII character, such as `,`.
    Char,
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
    Eof,
    /// A lexing error; the value is the message.
    Error,
}

/// One token: its kind, its text and its byte offset in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Item {
    pub kind: Kind,
    pub val: String,
    pub pos: usize,
}

impl Item {
    /// Whether Go counts this kind as a keyword (printed as `<word>`).
    fn is_keyword(&self) -> bool {
        matches!(
            self.kind,
            Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Range
                | Kind::Template
                | Kind::With
                | Kind::Dot
                | Kind::Nil
        )
    }
}

impl std::fmt::Display for Item {
    /// As Go's `item.String` prints a token in "unexpected" errors.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            Kind::Eof => f.write_str("EOF"),
            Kind::Error => f.write_str(&self.val),
            _ if self.is_keyword() => write!(f, "<{}>", self.val),
            _ if self.val.chars().count() > 10 => {
                let head: String = self.val.chars().take(10).collect();
                write!(f, "{}...", super::fmt::quote(&head, false))
            }
            _ => f.write_str(&super::fmt::quote(&self.val, false)),
        }
    }
}

const LEFT: &str = "{{";
const RIGHT: &str = "}}";
const LEFT_COMMENT: &str = "/*";
const RIGHT_COMMENT: &str = "*/";

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphabetic() || c.is_numeric()
}

/// `- ` right after `{{`.
fn has_left_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space(b[1] as char)
}

/// ` -` right before `}}`.
fn has_right_trim(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && is_space(b[0] as char) && b[1] == b'-'
}

/// Splits `input` into tokens; the last is `Eof` or `Error`.
pub(super) fn lex(input: &str) -> Vec<Item> {
    let mut l = Lexer {
        input,
        start: 0,
        pos: 0,
        paren_depth: 0,
        items: Vec::new(),
    };
    l.run();
    l.items
}

struct Lexer<'a> {
    input: &'a str,
    start: usize,
    pos: usize,
    paren_depth: usize,
    items: Vec<Item>,
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.input[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn accept(&mut self, set: &str) -> bool {
        match self.peek() {
            Some(c) if set.contains(c) => {
                self.pos += c.len_utf8();
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, set: &str) {
        while self.accept(set) {}
    }

    fn emit(&mut self, kind: Kind) {
        self.items.push(Item {
            kind,
            val: self.input[self.start..self.pos].to_string(),
            pos: self.start,
        });
        self.start = self.pos;
    }

    fn ignore(&mut self) {
        self.start = self.pos;
    }

    /// Records an error; lexing stops.
    fn fail(&mut self, msg: String) -> bool {
        self.items.push(Item {
            kind: Kind::Error,
            val: msg,
            pos: self.start,
        });
        false
    }

    fn run(&mut self) {
        loop {
            let Some(x) = self.rest().find(LEFT) else {
                self.pos = self.input.len();
                if self.pos > self.start {
                    self.emit(Kind::Text);
                }
                self.emit(Kind::Eof);
                return;
            };
            let at = self.pos + x;
            let mut end = at;
            if has_left_trim(&self.input[at + LEFT.len()..]) {
                end = self.start + self.input[self.start..at].trim_end_matches(is_space).len();
            }
            self.pos = end;
            if self.pos > self.start {
                self.emit(Kind::Text);
            }
            self.pos = at;
            self.ignore();
            if !self.lex_left_delim() {
                return;
            }
        }
    }

    /// At `{{`: a comment, or an action up to and including `}}`.
    fn lex_left_delim(&mut self) -> bool {
        self.pos += LEFT.len();
        let marker = if has_left_trim(self.rest()) { 2 } else { 0 };
        if self.rest()[marker..].starts_with(LEFT_COMMENT) {
            self.pos += marker;
            self.ignore();
            return self.lex_comment();
        }
        self.emit(Kind::LeftDelim);
        self.pos += marker;
        self.ignore();
        self.paren_depth = 0;
        self.lex_inside_action()
    }

    fn lex_comment(&mut self) -> bool {
        self.pos += LEFT_COMMENT.len();
        let Some(x) = self.rest().find(RIGHT_COMMENT) else {
            return self.fail("unclosed comment".into());
        };
        self.pos += x + RIGHT_COMMENT.len();
        let Some(trim) = self.at_right_delim() else {
            return self.fail("comment ends before closing delimiter".into());
        };
        self.finish_right_delim(trim, false);
        true
    }

    /// `Some(trim)` when the input is at `}}` or ` -}}`.
    fn at_right_delim(&self) -> Option<bool> {
        let rest = self.rest();
        if has_right_trim(rest) && rest[2..].starts_with(RIGHT) {
            return Some(true);
        }
        rest.starts_with(RIGHT).then_some(false)
    }

    /// Consumes the closing delimiter (emitting it when `emit`), and the
    /// spaces after it when it had a trim marker.
    fn finish_right_delim(&mut self, trim: bool, emit: bool) {
        if trim {
            self.pos += 2;
            self.ignore();
        }
        self.pos += RIGHT.len();
        if emit {
            self.emit(Kind::RightDelim);
        }
        if trim {
            self.pos += self.rest().len() - self.rest().trim_start_matches(is_space).len();
        }
        self.ignore();
    }

    fn lex_inside_action(&mut self) -> bool {
        loop {
            if let Some(trim) = self.at_right_delim() {
                if self.paren_depth == 0 {
                    self.finish_right_delim(trim, true);
                    return true;
                }
                return self.fail("unclosed left paren".into());
            }
            let ok = match self.next() {
                None => self.fail("unclosed action".into()),
                Some(c) if is_space(c) => {
                    self.pos -= c.len_utf8();
                    self.lex_space();
                    true
                }
                Some(c) => self.lex_action_char(c),
            };
            if !ok {
                return false;
            }
        }
    }

    fn lex_action_char(&mut self, c: char) -> bool {
        match c {
            '=' => self.emit(Kind::Assign),
            ':' => {
                if self.next() != Some('=') {
                    return self.fail("expected :=".into());
                }
                self.emit(Kind::Declare);
            }
            '|' => self.emit(Kind::Pipe),
            '"' => return self.lex_quote('"', Kind::Str, "unterminated quoted string"),
            '\'' => {
                return self.lex_quote('\'', Kind::CharConst, "unterminated character constant")
            }
            '`' => {
                let Some(x) = self.rest().find('`') else {
                    return self.fail("unterminated raw quoted string".into());
                };
                self.pos += x + 1;
                self.emit(Kind::RawStr);
            }
            '$' => return self.lex_field_or_variable(Kind::Variable),
            '.' if !self.peek().is_some_and(|d| d.is_ascii_digit()) => {
                return self.lex_field_or_variable(Kind::Field)
            }
            '.' | '+' | '-' | '0'..='9' => {
                self.pos -= 1;
                return self.lex_number();
            }
            c if is_alnum(c) => {
                self.pos -= c.len_utf8();
                return self.lex_identifier();
            }
            '(' => {
                self.emit(Kind::LeftParen);
                self.paren_depth += 1;
            }
            ')' => {
                if self.paren_depth == 0 {
                    return self.fail("unexpected right paren".into());
                }
                self.paren_depth -= 1;
                self.emit(Kind::RightParen);
            }
            c if c.is_ascii() && !c.is_ascii_control() => self.emit(Kind::Char),
            c => {
                return self.fail(format!(
                    "unrecognized character in action: {}",
                    unicode_name(c)
                ))
            }
        }
        true
    }

    /// A run of spaces, stopping before the space of a ` -}}` marker.
    fn lex_space(&mut self) {
        let mut n = 0;
        while self.peek().is_some_and(is_space) {
            self.next();
            n += 1;
        }
        let before = self.pos - 1;
        if has_right_trim(&self.input[before..]) && self.input[before + 2..].starts_with(RIGHT) {
            self.pos = before;
            if n == 1 {
                return;
            }
        }
        self.emit(Kind::Space);
    }

    fn lex_quote(&mut self, quote: char, kind: Kind, unterminated: &str) -> bool {
        loop {
            match self.next() {
                Some('\\') => match self.next() {
                    None | Some('\n') => return self.fail(unterminated.into()),
                    Some(_) => {}
                },
                None | Some('\n') => return self.fail(unterminated.into()),
                Some(c) if c == quote => break,
                Some(_) => {}
            }
        }
        self.emit(kind);
        true
    }

    fn lex_field_or_variable(&mut self, kind: Kind) -> bool {
        if self.at_terminator() {
            self.emit(if kind == Kind::Variable {
                Kind::Variable
            } else {
                Kind::Dot
            });
            return true;
        }
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
        if !self.at_terminator() {
            return self.bad_character();
        }
        self.emit(kind);
        true
    }

    fn bad_character(&mut self) -> bool {
        let c = self.peek().unwrap_or('\0');
        self.fail(format!("bad character {}", unicode_name(c)))
    }

    fn at_terminator(&self) -> bool {
        match self.peek() {
            None => true,
            Some(c) if is_space(c) => true,
            Some('.' | ',' | '|' | ':' | ')' | '(') => true,
            Some(_) => self.rest().starts_with(RIGHT),
        }
    }

    fn lex_identifier(&mut self) -> bool {
        while self.peek().is_some_and(is_alnum) {
            self.next();
        }
        if !self.at_terminator() {
            return self.bad_character();
        }
        let kind = match &self.input[self.start..self.pos] {
            "block" => Kind::Block,
            "break" => Kind::Break,
            "continue" => Kind::Continue,
            "define" => Kind::Define,
            "else" => Kind::Else,
            "end" => Kind::End,
            "if" => Kind::If,
            "range" => Kind::Range,
            "template" => Kind::Template,
            "with" => Kind::With,
            "nil" => Kind::Nil,
            "true" | "false" => Kind::Bool,
            _ => Kind::Ident,
        };
        self.emit(kind);
        true
    }

    fn lex_number(&mut self) -> bool {
        if !self.scan_number() || matches!(self.peek(), Some('+' | '-')) {
            let text = self.input[self.start..self.pos].to_string();
            return self.fail(format!(
                "bad number syntax: {}",
                super::fmt::quote(&text, false)
            ));
        }
        self.emit(Kind::Number);
        true
    }

    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if self.peek().is_some_and(is_alnum) {
            self.next();
            return false;
        }
        true
    }
}

/// A character as Go's `%#U` prints it: `U+0041 'A'`.
pub(super) fn unicode_name(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("U+{:04X} '{c}'", c as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<(Kind, String)> {
        lex(s).into_iter().map(|i| (i.kind, i.val)).collect()
    }

    #[test]
    fn lexes_text_fields_and_trim_markers() {
        use Kind::*;
        assert_eq!(
            kinds("a {{- .A.b | f 1 -}} z"),
            [
                (Text, "a".into()),
                (LeftDelim, "{{".into()),
                (Field, ".A".into()),
                (Field, ".b".into()),
                (Space, " ".into()),
                (Pipe, "|".into()),
                (Space, " ".into()),
                (Ident, "f".into()),
                (Space, " ".into()),
                (Number, "1".into()),
                (RightDelim, "}}".into()),
                (Text, "z".into()),
                (Eof, "".into()),
            ]
        );
        assert_eq!(
            kinds("x {{- /* c */ -}} y"),
            [(Text, "x".into()), (Text, "y".into()), (Eof, "".into())]
        );
        assert_eq!(
            kinds("{{$v := `r` \"s\\\"\" 'c' -3 nil true}}")
                .iter()
                .map(|(k, _)| *k)
                .filter(|k| *k != Space)
                .collect::<Vec<_>>(),
            [
                LeftDelim, Variable, Declare, RawStr, Str, CharConst, Number, Nil, Bool,
                RightDelim, Eof
            ]
        );
    }

    #[test]
    fn reports_errors_as_go_does() {
        let last = |s: &str| lex(s).pop().unwrap();
        assert_eq!(last("{{.A").val, "unclosed action");
        assert_eq!(last("{{\"x}}").val, "unterminated quoted string");
        assert_eq!(last("{{/* x").val, "unclosed comment");
        assert_eq!(
            last("{{/* x */ y}}").val,
            "comment ends before closing delimiter"
        );
        assert_eq!(last("{{(.A}}").val, "unclosed left paren");
        assert_eq!(last("{{.A)}}").val, "unexpected right paren");
        assert_eq!(last("{{3x}}").val, "bad number syntax: \"3x\"");
        assert_eq!(last("{{.A#}}").val, "bad character U+0023 '#'");
        assert_eq!(last("{{.A}}").kind, Kind::Eof);
    }
}
