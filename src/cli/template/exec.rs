//! Running a parsed template (text/template/exec.go): walking the tree,
//! evaluating pipelines, fields, variables and function calls, and the
//! error each step gives, named after the node being evaluated.

use super::fmt::sprint;
use super::funcs::{self, Func, Ty};
use super::parse::{Branch, Command, List, Node, Number, Operand, Pipe, Term, Tree};
use super::value::Val;

/// How deep `{{template}}` calls may nest.
const MAX_DEPTH: usize = 1000;

/// An execution error: the node being evaluated (offset and text) and what
/// went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ExecError {
    pub pos: usize,
    pub context: String,
    pub msg: String,
}

type Result<T> = std::result::Result<T, ExecError>;

/// The node errors are reported at (Go's `state.at`).
#[derive(Clone, Copy)]
enum At<'t> {
    Start,
    Pipe(&'t Pipe),
    Cmd(&'t Command),
    Op(&'t Operand),
    Template(usize, &'t str, Option<&'t Pipe>),
}

/// What a list's walk ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Break,
    Continue,
}

/// Runs `tree` with `dot` as `.` and `$`, returning the output.
pub(super) fn execute(tree: &Tree, dot: &Val) -> Result<String> {
    let mut s = State {
        tree,
        vars: vec![("$".into(), dot.clone())],
        at: At::Start,
        out: String::new(),
        depth: 0,
    };
    s.walk(dot, &tree.root)?;
    Ok(s.out)
}

struct State<'t> {
    tree: &'t Tree,
    vars: Vec<(String, Val)>,
    at: At<'t>,
    out: String,
    depth: usize,
}

impl<'t> State<'t> {
    fn fail<T>(&self, msg: String) -> Result<T> {
        let (pos, context) = match self.at {
            At::Start => (0, String::new()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Op(o) => (o.pos, o.to_string()),
            At::Template(pos, name, None) => (pos, format!("{{{{template {name:?}}}}}")),
            At::Template(pos, name, Some(p)) => (pos, format!("{{{{template {name:?} {p}}}}}")),
        };
        Err(ExecError { pos, context, msg })
    }

    fn walk(&mut self, dot: &Val, list: &'t List) -> Result<Flow> {
        for node in list {
            let flow = match node {
                Node::Text(t) => {
                    self.out.push_str(t);
                    Flow::Normal
                }
                Node::Action(pipe) => {
                    let v = self.eval_pipeline(dot, pipe)?;
                    if pipe.decl.is_empty() {
                        self.print(&v);
                    }
                    Flow::Normal
                }
                Node::If(b) => self.walk_if_or_with(dot, b, false)?,
                Node::With(b) => self.walk_if_or_with(dot, b, true)?,
                Node::Range(b) => self.walk_range(dot, b)?,
                Node::Break => Flow::Break,
                Node::Continue => Flow::Continue,
                Node::Template { pos, name, pipe } => {
                    self.at = At::Template(*pos, name, pipe.as_ref());
                    self.walk_template(dot, name, pipe.as_ref())?
                }
            };
            if flow != Flow::Normal {
                return Ok(flow);
            }
        }
        Ok(Flow::Normal)
    }

    /// Prints a value as an action does: a nil one as `<no value>`.
    fn print(&mut self, v: &Val) {
        match v {
            Val::Nil => self.out.push_str("<no value>"),
            Val::Str(s) => self.out.push_str(s),
            v => self.out.push_str(&sprint(std::slice::from_ref(v))),
        }
    }

    fn walk_if_or_with(&mut self, dot: &Val, b: &'t Branch, is_with: bool) -> Result<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let flow = if v.is_true() {
            self.walk(if is_with { &v } else { dot }, &b.list)?
        } else if let Some(list) = &b.else_list {
            self.walk(dot, list)?
        } else {
            Flow::Normal
        };
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn walk_range(&mut self, dot: &Val, b: &'t Branch) -> Result<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let items: Vec<(Val, Val)> = match &v {
            Val::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, e)| (Val::Int(i as i64), e.clone()))
                .collect(),
            // Go cannot range over a struct; an object taken for one here
            // may be a map with field-like keys, so its keys are ranged.
            Val::Obj(o) => o
                .fields
                .iter()
                .map(|(k, e)| (Val::str(k), e.clone()))
                .collect(),
            Val::Nil => Vec::new(),
            other => {
                return self.fail(format!(
                    "range can't iterate over {}",
                    sprint(std::slice::from_ref(other))
                ))
            }
        };
        let top = self.vars.len();
        for (key, elem) in &items {
            if !b.pipe.decl.is_empty() {
                self.vars[top - 1].1 = elem.clone();
            }
            if b.pipe.decl.len() > 1 {
                self.vars[top - 2].1 = key.clone();
            }
            let flow = self.walk(elem, &b.list)?;
            self.vars.truncate(top);
            if flow == Flow::Break {
                break;
            }
        }
        if items.is_empty() {
            if let Some(list) = &b.else_list {
                let flow = self.walk(dot, list)?;
                self.vars.truncate(mark);
                return Ok(flow);
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn walk_template(&mut self, dot: &Val, name: &str, pipe: Option<&'t Pipe>) -> Result<Flow> {
        let Some(list) = self.tree.defs.get(name) else {
            return self.fail(format!("template {name:?} not defined"));
        };
        if self.depth == MAX_DEPTH {
            return self.fail(format!("exceeded maximum template depth ({MAX_DEPTH})"));
        }
        let new_dot = match pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Val::Nil,
        };
        let vars = std::mem::replace(&mut self.vars, vec![("$".into(), new_dot.clone())]);
        self.depth += 1;
        let out = self.walk(&new_dot, list);
        self.depth -= 1;
        self.vars = vars;
        out.map(|_| Flow::Normal)
    }

    fn eval_pipeline(&mut self, dot: &Val, pipe: &'t Pipe) -> Result<Val> {
        self.at = At::Pipe(pipe);
        let mut value = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Val::Nil);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(var, value.clone())?;
            } else {
                self.vars.push((var.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn set_var(&mut self, name: &str, value: Val) -> Result<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            Some(slot) => {
                slot.1 = value;
                Ok(())
            }
            None => self.fail(format!("undefined variable: {name}")),
        }
    }

    fn var_value(&self, name: &str) -> Result<Val> {
        match self.vars.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => self.fail(format!("undefined variable: {name}")),
        }
    }

    /// Evaluates one command; `fin` is the previous command's result, its
    /// last argument.
    fn eval_command(&mut self, dot: &Val, cmd: &'t Command, fin: Option<Val>) -> Result<Val> {
        let first = &cmd.args[0];
        let args = &cmd.args;
        match &first.term {
            Term::Field(f) => return self.eval_field_node(dot, first, f, args, fin),
            Term::Chain(inner, f) => return self.eval_chain(dot, first, inner, f, args, fin),
            Term::Ident(name) => {
                self.at = At::Op(first);
                return self.eval_call(dot, name, At::Cmd(cmd), &args[1..], fin);
            }
            Term::Pipe(p) => {
                self.not_a_function(args, fin.as_ref())?;
                return self.eval_pipeline(dot, p);
            }
            Term::Variable(name, f) => return self.eval_variable(first, name, f, args, fin),
            _ => {}
        }
        self.at = At::Op(first);
        self.not_a_function(args, fin.as_ref())?;
        match &first.term {
            Term::Bool(b) => Ok(Val::Bool(*b)),
            Term::Dot => Ok(dot.clone()),
            Term::Number(n) => self.ideal_constant(n),
            Term::Str(s, _) => Ok(Val::str(s)),
            _ => self.fail("nil is not a command".into()),
        }
    }

    fn not_a_function(&self, args: &[Operand], fin: Option<&Val>) -> Result<()> {
        if args.len() > 1 || fin.is_some() {
            return self.fail(format!("can't give argument to non-function {}", args[0]));
        }
        Ok(())
    }

    fn ideal_constant(&self, n: &Number) -> Result<Val> {
        let is_hex_int = n.text.contains("0x") && !n.text.contains(['p', 'P']);
        if let Some(f) = n.float {
            if !n.is_char && !is_hex_int && n.text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Ok(Val::Float(f));
            }
        }
        match (n.int, n.uint) {
            (Some(i), _) => Ok(Val::Int(i)),
            (None, Some(_)) => self.fail(format!("{} overflows int", n.text)),
            (None, None) => Ok(Val::Float(n.float.unwrap_or(0.0))),
        }
    }

    fn eval_field_node(
        &mut self,
        dot: &Val,
        op: &'t Operand,
        fields: &[String],
        args: &[Operand],
        fin: Option<Val>,
    ) -> Result<Val> {
        self.at = At::Op(op);
        self.eval_field_chain(dot.clone(), fields, args, fin.as_ref())
    }

    fn eval_chain(
        &mut self,
        dot: &Val,
        op: &'t Operand,
        inner: &'t Operand,
        fields: &[String],
        args: &[Operand],
        fin: Option<Val>,
    ) -> Result<Val> {
        self.at = At::Op(op);
        if inner.term == Term::Nil {
            return self.fail(format!("indirection through explicit nil in {op}"));
        }
        let receiver = self.eval_arg(dot, Ty::Any, inner)?;
        self.eval_field_chain(receiver, fields, args, fin.as_ref())
    }

    fn eval_variable(
        &mut self,
        op: &'t Operand,
        name: &str,
        fields: &[String],
        args: &[Operand],
        fin: Option<Val>,
    ) -> Result<Val> {
        self.at = At::Op(op);
        let value = self.var_value(name)?;
        if fields.is_empty() {
            self.not_a_function(args, fin.as_ref())?;
            return Ok(value);
        }
        self.eval_field_chain(value, fields, args, fin.as_ref())
    }

    fn eval_field_chain(
        &mut self,
        mut receiver: Val,
        fields: &[String],
        args: &[Operand],
        fin: Option<&Val>,
    ) -> Result<Val> {
        let has_args = args.len() > 1 || fin.is_some();
        for (i, name) in fields.iter().enumerate() {
            let is_last = i + 1 == fields.len();
            receiver = self.eval_field(&receiver, name, is_last && has_args)?;
        }
        Ok(receiver)
    }

    /// `.name` of `receiver`: a struct's unknown field is an error, a
    /// map's missing key and anything below nil are nil.
    fn eval_field(&self, receiver: &Val, name: &str, has_args: bool) -> Result<Val> {
        match receiver {
            Val::Nil => Ok(Val::Nil),
            Val::Obj(o) => match (o.fields.get(name), o.is_struct, has_args) {
                (Some(_), true, true) => self.fail(format!(
                    "{name} has arguments but cannot be invoked as function"
                )),
                (_, false, true) => self.fail(format!("{name} is not a method but has arguments")),
                (Some(v), _, _) => Ok(v.clone()),
                (None, false, _) => Ok(Val::Nil),
                (None, true, _) => self.fail(format!(
                    "can't evaluate field {name} in type {}",
                    receiver.type_name()
                )),
            },
            other => self.fail(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            )),
        }
    }

    /// Calls the function `name` with `args` (and `fin`, the piped value);
    /// a failure of the call itself is reported at `node`.
    fn eval_call(
        &mut self,
        dot: &Val,
        name: &str,
        node: At<'t>,
        args: &'t [Operand],
        fin: Option<Val>,
    ) -> Result<Val> {
        let Some(f) = funcs::lookup(name) else {
            return self.fail(format!("{name:?} is not a defined function"));
        };
        let n_in = args.len() + usize::from(fin.is_some());
        if f.variadic.is_some() && n_in < f.fixed.len() {
            return self.fail(format!(
                "wrong number of args for {name}: want at least {} got {}",
                f.fixed.len(),
                args.len()
            ));
        }
        if f.variadic.is_none() && n_in != f.fixed.len() {
            return self.fail(format!(
                "wrong number of args for {name}: want {} got {n_in}",
                f.fixed.len()
            ));
        }
        if name == "and" || name == "or" {
            return self.eval_and_or(dot, name == "or", args, fin);
        }
        let mut argv = Vec::with_capacity(n_in);
        for (i, a) in args.iter().enumerate() {
            argv.push(self.eval_arg(dot, param(f, i), a)?);
        }
        if let Some(v) = fin {
            argv.push(self.validate_type(v, param(f, n_in - 1))?);
        }
        match (f.call)(&argv) {
            Ok(v) => Ok(v),
            Err(e) => {
                self.at = node;
                self.fail(format!("error calling {name}: {e}"))
            }
        }
    }

    /// `and` and `or` stop at the first argument that decides the result.
    fn eval_and_or(
        &mut self,
        dot: &Val,
        is_or: bool,
        args: &'t [Operand],
        fin: Option<Val>,
    ) -> Result<Val> {
        let mut v = Val::Nil;
        for a in args {
            v = self.eval_arg(dot, Ty::Any, a)?;
            if v.is_true() == is_or {
                return Ok(v);
            }
        }
        Ok(fin.unwrap_or(v))
    }

    /// Evaluates an argument for a parameter of type `ty`.
    fn eval_arg(&mut self, dot: &Val, ty: Ty, op: &'t Operand) -> Result<Val> {
        self.at = At::Op(op);
        let v = match &op.term {
            Term::Dot => dot.clone(),
            Term::Nil if matches!(ty, Ty::Any | Ty::StrList) => Val::Nil,
            Term::Nil => return self.fail(format!("cannot assign nil to {ty}")),
            Term::Field(f) => self.eval_field_node(dot, op, f, std::slice::from_ref(op), None)?,
            Term::Variable(name, f) => self.eval_variable(op, name, f, &[], None)?,
            Term::Pipe(p) => self.eval_pipeline(dot, p)?,
            Term::Ident(name) => self.eval_call(dot, name, At::Op(op), &[], None)?,
            Term::Chain(inner, f) => self.eval_chain(dot, op, inner, f, &[], None)?,
            Term::Str(s, _) if matches!(ty, Ty::Any | Ty::Str) => return Ok(Val::str(s)),
            Term::Number(n) if ty == Ty::Any => return self.ideal_constant(n),
            Term::Number(n) if ty == Ty::Int && n.int.is_some() => {
                return Ok(Val::Int(n.int.unwrap_or(0)))
            }
            Term::Bool(b) if ty == Ty::Any => return Ok(Val::Bool(*b)),
            _ if ty == Ty::Str => return self.fail(format!("expected string; found {op}")),
            _ if ty == Ty::Int => return self.fail(format!("expected integer; found {op}")),
            _ => return self.fail(format!("can't handle {op} for arg of type {ty}")),
        };
        self.validate_type(v, ty)
    }

    /// Checks a computed value against a parameter type.
    fn validate_type(&self, v: Val, ty: Ty) -> Result<Val> {
        let ok = match (&v, ty) {
            (_, Ty::Any) | (Val::Str(_), Ty::Str) | (Val::Nil, Ty::StrList) => true,
            (Val::Int(_), Ty::Int) => true,
            (Val::Uint(u), Ty::Int) => i64::try_from(*u).is_ok(),
            (Val::List(l), Ty::StrList) => l.iter().all(|i| matches!(i, Val::Str(_))),
            (Val::Nil, _) => return self.fail(format!("invalid value; expected {ty}")),
            _ => false,
        };
        if !ok {
            return self.fail(format!(
                "wrong type for value; expected {ty}; got {}",
                v.type_name()
            ));
        }
        Ok(v)
    }
}

/// The type of parameter `i` of `f`.
fn param(f: &Func, i: usize) -> Ty {
    f.fixed.get(i).copied().or(f.variadic).unwrap_or(Ty::Any)
}
