//! The parser of Go's `text/template` (text/template/parse/parse.go): the
//! tree of text, actions, `if`/`range`/`with` with their `else` branches,
//! `break`/`continue`, `define`/`template`/`block`, and the pipelines,
//! commands and operands inside actions.

use std::collections::HashMap;
use std::fmt;

use super::lex::{lex, Item, Kind};
pub(super) use super::literal::Number;
use super::literal::{parse_char, parse_number, unquote};

/// A list of nodes, run in order.
pub(super) type List = Vec<Node>;

/// One node of the tree.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Text(String),
    /// `{{pipeline}}`: printed unless it declares variables.
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Break,
    Continue,
    /// `{{template "name" pipeline}}` (and the call half of `block`), at
    /// the offset of the name.
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
}

/// The shared shape of `if`, `range` and `with`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Branch {
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

/// `$x := cmd | cmd | ...`
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Pipe {
    pub pos: usize,
    /// The declared (or assigned) variables, with their `$`.
    pub decl: Vec<String>,
    pub is_assign: bool,
    pub cmds: Vec<Command>,
}

/// A function call or a single operand.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Command {
    pub pos: usize,
    pub args: Vec<Operand>,
}

/// An operand with its byte offset in the template.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Operand {
    pub pos: usize,
    pub term: Term,
}

/// What an operand is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Term {
    /// `.A.B`
    Field(Vec<String>),
    Dot,
    /// `$x.A.B` (the name keeps its `$`).
    Variable(String, Vec<String>),
    /// A function name.
    Ident(String),
    /// `(pipeline).A.B`
    Chain(Box<Operand>, Vec<String>),
    /// `(pipeline)`
    Pipe(Box<Pipe>),
    /// A string constant: its value and its quoted text.
    Str(String, String),
    Number(Number),
    Bool(bool),
    Nil,
}

/// The parsed template: the main list and the named ones.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Tree {
    pub root: List,
    pub defs: HashMap<String, List>,
}

/// A parse error at a byte offset of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ParseError {
    pub pos: usize,
    pub msg: String,
}

type Result<T> = std::result::Result<T, ParseError>;

/// What reading one text-or-action produced.
enum Parsed {
    Node(Node),
    End,
    Else,
}

/// Parses `text`; `is_func` says which function names exist.
pub(super) fn parse(text: &str, is_func: &dyn Fn(&str) -> bool) -> Result<Tree> {
    let mut p = Parser {
        items: lex(text),
        i: 0,
        seen: 0,
        is_func,
        vars: vec!["$".into()],
        range_depth: 0,
        defs: HashMap::new(),
    };
    let root = p.parse_top()?;
    Ok(Tree { root, defs: p.defs })
}

struct Parser<'a> {
    items: Vec<Item>,
    i: usize,
    /// The furthest token read, whose line Go's errors report.
    seen: usize,
    is_func: &'a dyn Fn(&str) -> bool,
    vars: Vec<String>,
    range_depth: usize,
    defs: HashMap<String, List>,
}

impl Parser<'_> {
    fn peek(&mut self) -> Item {
        let i = self.i.min(self.items.len() - 1);
        self.seen = self.seen.max(i);
        self.items[i].clone()
    }

    fn next(&mut self) -> Item {
        let it = self.peek();
        self.i += 1;
        it
    }

    fn backup(&mut self) {
        self.i -= 1;
    }

    fn next_non_space(&mut self) -> Item {
        loop {
            let it = self.next();
            if it.kind != Kind::Space {
                return it;
            }
        }
    }

    /// Skips spaces and returns the next token without consuming it.
    fn peek_non_space(&mut self) -> Item {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn fail<T>(&self, msg: String) -> Result<T> {
        Err(ParseError {
            pos: self.items[self.seen].pos,
            msg,
        })
    }

    fn unexpected<T>(&self, it: &Item, context: &str) -> Result<T> {
        if it.kind == Kind::Error {
            return self.fail(it.val.clone());
        }
        self.fail(format!("unexpected {it} in {context}"))
    }

    fn expect(&mut self, kind: Kind, context: &str) -> Result<Item> {
        let it = self.next_non_space();
        if it.kind != kind {
            return self.unexpected(&it, context);
        }
        Ok(it)
    }

    fn parse_top(&mut self) -> Result<List> {
        let mut root = Vec::new();
        while self.peek().kind != Kind::Eof {
            if self.peek().kind == Kind::LeftDelim {
                let at = self.i;
                self.next();
                if self.next_non_space().kind == Kind::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.i = at;
            }
            match self.text_or_action()? {
                Parsed::Node(n) => root.push(n),
                Parsed::End => return self.fail("unexpected {{end}}".into()),
                Parsed::Else => return self.fail("unexpected {{else}}".into()),
            }
        }
        Ok(root)
    }

    /// `{{define "name"}} ... {{end}}`, after `define`.
    fn parse_definition(&mut self) -> Result<()> {
        let context = "define clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        self.expect(Kind::RightDelim, context)?;
        let list = self.in_new_scope(|p| p.item_list())?;
        if !matches!(list.1, Parsed::End) {
            return self.fail(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.defs.insert(name, list.0);
        Ok(())
    }

    /// Runs `f` with the variables and range depth a new template starts with.
    fn in_new_scope<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T>) -> Result<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let depth = std::mem::replace(&mut self.range_depth, 0);
        let out = f(self);
        self.vars = vars;
        self.range_depth = depth;
        out
    }

    fn template_name(&self, it: &Item, context: &str) -> Result<String> {
        match it.kind {
            Kind::Str | Kind::RawStr => self.unquote(&it.val),
            _ => self.unexpected(it, context),
        }
    }

    fn item_list(&mut self) -> Result<(List, Parsed)> {
        let mut list = Vec::new();
        while self.peek_non_space().kind != Kind::Eof {
            match self.text_or_action()? {
                Parsed::Node(n) => list.push(n),
                end => return Ok((list, end)),
            }
        }
        self.fail("unexpected EOF".into())
    }

    fn text_or_action(&mut self) -> Result<Parsed> {
        let it = self.next_non_space();
        match it.kind {
            Kind::Text => Ok(Parsed::Node(Node::Text(it.val))),
            Kind::LeftDelim => self.action(),
            _ => self.unexpected(&it, "input"),
        }
    }

    fn action(&mut self) -> Result<Parsed> {
        let it = self.next_non_space();
        let node = match it.kind {
            Kind::Block => self.block_control()?,
            Kind::Break | Kind::Continue => self.loop_control(&it)?,
            Kind::Else => {
                if self.peek_non_space().kind != Kind::If {
                    self.expect(Kind::RightDelim, "else")?;
                }
                return Ok(Parsed::Else);
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Parsed::End);
            }
            Kind::If => Node::If(self.control(true, "if")?),
            Kind::Range => Node::Range(self.control(false, "range")?),
            Kind::Template => self.template_control()?,
            Kind::With => Node::With(self.control(false, "with")?),
            _ => {
                self.backup();
                Node::Action(self.pipeline("command", Kind::RightDelim)?)
            }
        };
        Ok(Parsed::Node(node))
    }

    fn loop_control(&mut self, it: &Item) -> Result<Node> {
        let word = if it.kind == Kind::Break {
            "break"
        } else {
            "continue"
        };
        let end = self.next_non_space();
        if end.kind != Kind::RightDelim {
            return self.unexpected(&end, &format!("{{{{{word}}}}}"));
        }
        if self.range_depth == 0 {
            return self.fail(format!("{{{{{word}}}}} outside {{{{range}}}}"));
        }
        Ok(if it.kind == Kind::Break {
            Node::Break
        } else {
            Node::Continue
        })
    }

    /// `if`, `range` or `with`: the pipeline, the list, an optional `else`
    /// (or, for `if`, `else if`), then `end`.
    fn control(&mut self, allow_else_if: bool, context: &str) -> Result<Branch> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let is_range = context == "range";
        self.range_depth += usize::from(is_range);
        let (list, next) = self.item_list()?;
        self.range_depth -= usize::from(is_range);
        let mut else_list = None;
        if let Parsed::Else = next {
            if allow_else_if && self.peek().kind == Kind::If {
                self.next();
                else_list = Some(vec![Node::If(self.control(true, "if")?)]);
            } else {
                let (list, end) = self.item_list()?;
                if !matches!(end, Parsed::End) {
                    return self.fail("expected end; found {{else}}".into());
                }
                else_list = Some(list);
            }
        }
        self.vars.truncate(mark);
        Ok(Branch {
            pipe,
            list,
            else_list,
        })
    }

    fn template_control(&mut self) -> Result<Node> {
        let context = "template clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        let pipe = if self.next_non_space().kind == Kind::RightDelim {
            None
        } else {
            self.backup();
            Some(self.pipeline(context, Kind::RightDelim)?)
        };
        Ok(Node::Template {
            pos: it.pos,
            name,
            pipe,
        })
    }

    /// `{{block "name" pipeline}} ... {{end}}`: defines `name` and calls it.
    fn block_control(&mut self) -> Result<Node> {
        let context = "block clause";
        let it = self.next_non_space();
        let name = self.template_name(&it, context)?;
        let pipe = self.pipeline(context, Kind::RightDelim)?;
        let (list, end) = self.in_new_scope(|p| p.item_list())?;
        if !matches!(end, Parsed::End) {
            return self.fail(format!("unexpected {{{{else}}}} in {context}"));
        }
        self.defs.insert(name.clone(), list);
        Ok(Node::Template {
            pos: it.pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Kind) -> Result<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            decl: Vec::new(),
            is_assign: false,
            cmds: Vec::new(),
        };
        self.declarations(&mut pipe, context)?;
        loop {
            let it = self.next_non_space();
            match it.kind {
                k if k == end => {
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Kind::Bool
                | Kind::CharConst
                | Kind::Dot
                | Kind::Field
                | Kind::Ident
                | Kind::Number
                | Kind::Nil
                | Kind::RawStr
                | Kind::Str
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&it, context),
            }
        }
    }

    /// `$x :=`, `$x =` or (in `range`) `$i, $v :=` at the start of a pipeline.
    fn declarations(&mut self, pipe: &mut Pipe, context: &str) -> Result<()> {
        loop {
            let v = self.peek_non_space();
            if v.kind != Kind::Variable {
                return Ok(());
            }
            let at = self.i;
            self.next();
            let next = self.peek_non_space();
            match next.kind {
                Kind::Assign | Kind::Declare => {
                    pipe.is_assign = next.kind == Kind::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    return Ok(());
                }
                Kind::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.clone());
                    self.vars.push(v.val);
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().kind {
                            Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                            _ => return self.fail("range can only initialize variables".into()),
                        }
                    }
                    return self.fail(format!("too many declarations in {context}"));
                }
                _ => {
                    self.i = at;
                    return Ok(());
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Result<()> {
        if pipe.cmds.is_empty() {
            return self.fail(format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if matches!(
                c.args[0].term,
                Term::Bool(_) | Term::Dot | Term::Nil | Term::Number(_) | Term::Str(..)
            ) {
                return self.fail(format!(
                    "non executable command in pipeline stage {}",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command> {
        let pos = self.peek_non_space().pos;
        let mut args = Vec::new();
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let it = self.next();
            match it.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => self.backup(),
                Kind::Pipe => {}
                _ => return self.unexpected(&it, "operand"),
            }
            break;
        }
        if args.is_empty() {
            return self.fail("empty command".into());
        }
        Ok(Command { pos, args })
    }

    fn operand(&mut self) -> Result<Option<Operand>> {
        let Some(op) = self.term()? else {
            return Ok(None);
        };
        if self.peek().kind != Kind::Field {
            return Ok(Some(op));
        }
        let pos = self.peek().pos;
        let mut fields = Vec::new();
        while self.peek().kind == Kind::Field {
            fields.push(self.next().val[1..].to_string());
        }
        let term = match op.term {
            Term::Field(mut f) => {
                f.extend(fields);
                Term::Field(f)
            }
            Term::Variable(name, mut f) => {
                f.extend(fields);
                Term::Variable(name, f)
            }
            Term::Bool(_) | Term::Str(..) | Term::Number(_) | Term::Nil | Term::Dot => {
                let text = op.to_string();
                return self.fail(format!(
                    "unexpected . after term {}",
                    super::fmt::quote(&text, false)
                ));
            }
            _ => Term::Chain(Box::new(op), fields),
        };
        Ok(Some(Operand { pos, term }))
    }

    fn term(&mut self) -> Result<Option<Operand>> {
        let it = self.next_non_space();
        let term = match it.kind {
            Kind::Ident => {
                if !(self.is_func)(&it.val) {
                    return self.fail(format!("function {:?} not defined", it.val));
                }
                Term::Ident(it.val.clone())
            }
            Kind::Dot => Term::Dot,
            Kind::Nil => Term::Nil,
            Kind::Variable => {
                if !self.vars.contains(&it.val) {
                    return self.fail(format!("undefined variable {:?}", it.val));
                }
                Term::Variable(it.val.clone(), Vec::new())
            }
            Kind::Field => Term::Field(vec![it.val[1..].to_string()]),
            Kind::Bool => Term::Bool(it.val == "true"),
            Kind::CharConst | Kind::Number => Term::Number(self.number(&it)?),
            Kind::LeftParen => Term::Pipe(Box::new(
                self.pipeline("parenthesized pipeline", Kind::RightParen)?,
            )),
            Kind::Str | Kind::RawStr => Term::Str(self.unquote(&it.val)?, it.val.clone()),
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some(Operand { pos: it.pos, term }))
    }

    fn unquote(&self, quoted: &str) -> Result<String> {
        unquote(quoted).map_or_else(|| self.fail("invalid syntax".into()), Ok)
    }

    fn number(&self, it: &Item) -> Result<Number> {
        if it.kind == Kind::CharConst {
            return parse_char(&it.val).map_or_else(
                || self.fail(format!("malformed character constant: {}", it.val)),
                Ok,
            );
        }
        parse_number(&it.val).map_or_else(|e| self.fail(e), Ok)
    }
}

impl fmt::Display for Operand {
    /// As Go's node `String` methods print operands in error messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields = |f: &mut fmt::Formatter<'_>, fs: &[String]| {
            fs.iter().try_for_each(|x| write!(f, ".{x}"))
        };
        match &self.term {
            Term::Field(fs) => fields(f, fs),
            Term::Dot => f.write_str("."),
            Term::Variable(name, fs) => {
                f.write_str(name)?;
                fields(f, fs)
            }
            Term::Ident(name) => f.write_str(name),
            Term::Chain(op, fs) => {
                if matches!(op.term, Term::Pipe(_)) {
                    write!(f, "({op})")?;
                } else {
                    write!(f, "{op}")?;
                }
                fields(f, fs)
            }
            Term::Pipe(p) => write!(f, "{p}"),
            Term::Str(_, quoted) => f.write_str(quoted),
            Term::Number(n) => f.write_str(&n.text),
            Term::Bool(b) => write!(f, "{b}"),
            Term::Nil => f.write_str("nil"),
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if matches!(a.term, Term::Pipe(_)) {
                write!(f, "({a})")?;
            } else {
                write!(f, "{a}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn funcs(name: &str) -> bool {
        matches!(name, "printf" | "len" | "eq")
    }

    fn err(text: &str) -> String {
        parse(text, &funcs).unwrap_err().msg
    }

    #[test]
    fn parses_control_structures() {
        let t = parse(
            "{{if .A}}a{{else if .B}}b{{else}}c{{end}}{{range $i, $v := .L}}{{$v}}{{end}}",
            &funcs,
        )
        .unwrap();
        assert_eq!(t.root.len(), 2);
        let Node::If(b) = &t.root[0] else {
            panic!("not an if")
        };
        assert!(matches!(&b.else_list.as_ref().unwrap()[0], Node::If(_)));
        let Node::Range(r) = &t.root[1] else {
            panic!("not a range")
        };
        assert_eq!(r.pipe.decl, ["$i", "$v"]);
        let t = parse("{{define \"x\"}}X{{end}}{{template \"x\" .}}", &funcs).unwrap();
        assert_eq!(t.defs["x"], [Node::Text("X".into())]);
    }

    #[test]
    fn prints_operands_as_go_does() {
        let t = parse("{{printf \"%d\" (len .A.B) $.C | eq 1}}", &funcs).unwrap();
        let Node::Action(p) = &t.root[0] else {
            panic!("not an action")
        };
        assert_eq!(p.to_string(), "printf \"%d\" (len .A.B) $.C | eq 1");
    }

    #[test]
    fn reports_parse_errors_as_go_does() {
        assert_eq!(err("{{nope}}"), "function \"nope\" not defined");
        assert_eq!(err("{{$x}}"), "undefined variable \"$x\"");
        assert_eq!(err("{{if}}{{end}}"), "missing value for if");
        assert_eq!(err("{{range .}}"), "unexpected EOF");
        assert_eq!(err("{{end}}"), "unexpected {{end}}");
        assert_eq!(err("{{else}}"), "unexpected {{else}}");
        assert_eq!(
            err("{{.A | 3}}"),
            "non executable command in pipeline stage 2"
        );
        assert_eq!(err("{{break}}"), "{{break}} outside {{range}}");
        assert_eq!(err("{{\"a\".B}}"), "unexpected . after term \"\\\"a\\\"\"");
        assert_eq!(err("{{{.A}}"), "unexpected \"{\" in command");
        assert_eq!(err("{{.A {}}"), "unexpected \"{\" in operand");
        assert_eq!(err("{{.A"), "unclosed action");
        assert_eq!(err("{{\"\\q\"}}"), "invalid syntax");
    }
}
