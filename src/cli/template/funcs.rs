//! The functions a template can call: Go's builtins (`and`, `or`, `not`,
//! `len`, `index`, `slice`, `print`, `printf`, `println`, `html`, `js`,
//! `urlquery`, `call`, and the comparisons `eq`, `ne`, `lt`, `le`, `gt`,
//! `ge`) and the ones Podman 4.3 adds (containers/common pkg/report:
//! `join`, `json`, `lower`, `pad`, `split`, `title`, `truncate`, `upper`).

use std::cmp::Ordering;
use std::rc::Rc;

use super::fmt::{format_float, sprint, sprintf, sprintln};
use super::value::Val;

/// The type a parameter takes, as far as templates check it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ty {
    Any,
    Str,
    Int,
    StrList,
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ty::Any => "interface {}",
            Ty::Str => "string",
            Ty::Int => "int",
            Ty::StrList => "[]string",
        })
    }
}

/// A function: its fixed parameters, the type of its variadic ones, and
/// its body, which returns Go's error text on failure.
pub(super) struct Func {
    pub name: &'static str,
    pub fixed: &'static [Ty],
    pub variadic: Option<Ty>,
    pub call: fn(&[Val]) -> Result<Val, String>,
}

const fn func(
    name: &'static str,
    fixed: &'static [Ty],
    variadic: Option<Ty>,
    call: fn(&[Val]) -> Result<Val, String>,
) -> Func {
    Func {
        name,
        fixed,
        variadic,
        call,
    }
}

use Ty::{Any, Int, Str, StrList};

static FUNCS: &[Func] = &[
    func("and", &[Any], Some(Any), |a| Ok(a[0].clone())),
    func("or", &[Any], Some(Any), |a| Ok(a[0].clone())),
    func("not", &[Any], None, |a| Ok(Val::Bool(!a[0].is_true()))),
    func("len", &[Any], None, length),
    func("index", &[Any], Some(Any), index),
    func("slice", &[Any], Some(Any), slice),
    func("print", &[], Some(Any), |a| Ok(Val::str(&sprint(a)))),
    func("println", &[], Some(Any), |a| Ok(Val::str(&sprintln(a)))),
    func("printf", &[Str], Some(Any), |a| {
        Ok(Val::str(&sprintf(a[0].as_str().unwrap_or(""), &a[1..])))
    }),
    func("html", &[], Some(Any), |a| {
        Ok(Val::str(&html(&eval_args(a))))
    }),
    func("js", &[], Some(Any), |a| Ok(Val::str(&js(&eval_args(a))))),
    func("urlquery", &[], Some(Any), |a| {
        Ok(Val::str(&urlquery(&eval_args(a))))
    }),
    func("call", &[Any], Some(Any), |a| match &a[0] {
        Val::Nil => Err("call of nil".into()),
        v => Err(format!("non-function of type {}", v.type_name())),
    }),
    func("eq", &[Any], Some(Any), eq),
    func("ne", &[Any, Any], None, |a| {
        Ok(Val::Bool(!is_eq(&a[0], &a[1])?))
    }),
    func("lt", &[Any, Any], None, |a| cmp(a, |o| o == Ordering::Less)),
    func("le", &[Any, Any], None, |a| {
        cmp(a, |o| o != Ordering::Greater)
    }),
    func("gt", &[Any, Any], None, |a| {
        cmp(a, |o| o == Ordering::Greater)
    }),
    func("ge", &[Any, Any], None, |a| cmp(a, |o| o != Ordering::Less)),
    func("join", &[StrList, Str], None, |a| {
        Ok(Val::str(&strings(&a[0]).join(a[1].as_str().unwrap_or(""))))
    }),
    func("json", &[Any], None, |a| Ok(Val::str(&to_json(&a[0])))),
    func("lower", &[Str], None, |a| {
        Ok(Val::str(&a[0].as_str().unwrap_or("").to_lowercase()))
    }),
    func("upper", &[Str], None, |a| {
        Ok(Val::str(&a[0].as_str().unwrap_or("").to_uppercase()))
    }),
    func("title", &[Str], None, |a| {
        Ok(Val::str(&title(a[0].as_str().unwrap_or(""))))
    }),
    func("pad", &[Str, Int, Int], None, pad),
    func("split", &[Str, Str], None, split),
    func("truncate", &[Str, Int], None, truncate),
];

/// The function called `name`.
pub(super) fn lookup(name: &str) -> Option<&'static Func> {
    FUNCS.iter().find(|f| f.name == name)
}

/// The strings of a `[]string` argument (nil is empty).
fn strings(v: &Val) -> Vec<&str> {
    match v {
        Val::List(items) => items.iter().filter_map(Val::as_str).collect(),
        _ => Vec::new(),
    }
}

fn length(a: &[Val]) -> Result<Val, String> {
    let n = match &a[0] {
        Val::Nil => 0,
        Val::Str(s) => s.len(),
        Val::List(l) => l.len(),
        Val::Obj(o) => o.fields.len(),
        v => return Err(format!("len of type {}", v.type_name())),
    };
    Ok(Val::Int(n as i64))
}

/// An index into something of length `cap` (Go's `indexArg`).
fn index_arg(index: &Val, cap: usize) -> Result<usize, String> {
    let x = match index {
        Val::Int(i) => *i,
        Val::Uint(u) => i64::try_from(*u).unwrap_or(i64::MAX),
        Val::Nil => return Err("cannot index slice/array with nil".into()),
        v => {
            return Err(format!(
                "cannot index slice/array with type {}",
                v.type_name()
            ))
        }
    };
    match usize::try_from(x) {
        Ok(i) if i <= cap => Ok(i),
        _ => Err(format!("index out of range: {x}")),
    }
}

fn index(a: &[Val]) -> Result<Val, String> {
    let mut item = a[0].clone();
    if a.len() > 1 && matches!(item, Val::Nil) && !matches!(a[1], Val::Str(_)) {
        return Err("index of untyped nil".into());
    }
    for i in &a[1..] {
        item = match &item {
            Val::List(l) => {
                let x = index_arg(i, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or_else(|| format!("index out of range: {x}"))?
            }
            Val::Str(s) => {
                let x = index_arg(i, s.len())?;
                let b = s
                    .as_bytes()
                    .get(x)
                    .ok_or_else(|| format!("index out of range: {x}"))?;
                Val::Int(i64::from(*b))
            }
            Val::Obj(o) => {
                let Val::Str(key) = i else {
                    return Err(format!(
                        "value has type {}; should be string",
                        i.type_name()
                    ));
                };
                match o.fields.get(&**key) {
                    Some(v) => v.clone(),
                    None if o.fields.values().all(|v| matches!(v, Val::Str(_))) => Val::str(""),
                    None => Val::Nil,
                }
            }
            // A nil map: the zero value, here the empty string of a label map.
            Val::Nil if matches!(i, Val::Str(_)) => Val::str(""),
            Val::Nil => return Err("index of untyped nil".into()),
            v => return Err(format!("can't index item of type {}", v.type_name())),
        };
    }
    Ok(item)
}

fn slice(a: &[Val]) -> Result<Val, String> {
    let idx = &a[1..];
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match &a[0] {
        Val::Nil => return Err("slice of untyped nil".into()),
        Val::Str(_) if idx.len() == 3 => return Err("cannot 3-index slice a string".into()),
        Val::Str(s) => s.len(),
        Val::List(l) => l.len(),
        v => return Err(format!("can't slice item of type {}", v.type_name())),
    };
    let mut bounds = [0, len, len];
    for (n, i) in idx.iter().enumerate() {
        bounds[n] = index_arg(i, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    let (lo, hi) = (bounds[0], bounds[1]);
    Ok(match &a[0] {
        Val::Str(s) => Val::str(&String::from_utf8_lossy(&s.as_bytes()[lo..hi])),
        Val::List(l) => Val::List(Rc::new(l[lo..hi].to_vec())),
        _ => Val::Nil,
    })
}

/// A comparable scalar (Go's `basicKind`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Basic<'a> {
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(&'a str),
}

fn basic(v: &Val) -> Option<Basic<'_>> {
    Some(match v {
        Val::Bool(b) => Basic::Bool(*b),
        Val::Int(i) => Basic::Int(*i),
        Val::Uint(u) => Basic::Uint(*u),
        Val::Float(f) => Basic::Float(*f),
        Val::Str(s) => Basic::Str(s),
        _ => return None,
    })
}

const BAD_COMPARISON: &str = "incompatible types for comparison";
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

/// Orders two scalars of comparable kinds (ints and uints mix, as in Go).
fn order(a: Basic<'_>, b: Basic<'_>) -> Result<Option<Ordering>, String> {
    Ok(match (a, b) {
        (Basic::Bool(x), Basic::Bool(y)) => x.partial_cmp(&y),
        (Basic::Int(x), Basic::Int(y)) => x.partial_cmp(&y),
        (Basic::Uint(x), Basic::Uint(y)) => x.partial_cmp(&y),
        (Basic::Int(x), Basic::Uint(y)) => Some(i128::from(x).cmp(&i128::from(y))),
        (Basic::Uint(x), Basic::Int(y)) => Some(i128::from(x).cmp(&i128::from(y))),
        (Basic::Float(x), Basic::Float(y)) => x.partial_cmp(&y),
        (Basic::Str(x), Basic::Str(y)) => x.partial_cmp(y),
        _ => return Err(BAD_COMPARISON.into()),
    })
}

fn is_eq(a: &Val, b: &Val) -> Result<bool, String> {
    match (basic(a), basic(b)) {
        (Some(x), Some(y)) => Ok(order(x, y)? == Some(Ordering::Equal)),
        _ if matches!(a, Val::Nil) || matches!(b, Val::Nil) => {
            Ok(matches!((a, b), (Val::Nil, Val::Nil)))
        }
        (None, None) => Err(format!(
            "non-comparable type {}: {}",
            sprint(std::slice::from_ref(b)),
            b.type_name()
        )),
        _ => Err(BAD_COMPARISON.into()),
    }
}

fn eq(a: &[Val]) -> Result<Val, String> {
    if a.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    for b in &a[1..] {
        if is_eq(&a[0], b)? {
            return Ok(Val::Bool(true));
        }
    }
    Ok(Val::Bool(false))
}

fn cmp(a: &[Val], want: fn(Ordering) -> bool) -> Result<Val, String> {
    let (Some(x), Some(y)) = (basic(&a[0]), basic(&a[1])) else {
        return Err(BAD_COMPARISON_TYPE.into());
    };
    if matches!(x, Basic::Bool(_)) && matches!(y, Basic::Bool(_)) {
        return Err(BAD_COMPARISON_TYPE.into());
    }
    Ok(Val::Bool(order(x, y)?.is_some_and(want)))
}

/// The text of the arguments of `html`, `js` and `urlquery`.
fn eval_args(a: &[Val]) -> String {
    if let [Val::Str(s)] = a {
        return s.to_string();
    }
    let printable: Vec<Val> = a
        .iter()
        .map(|v| match v {
            Val::Nil => Val::str("<no value>"),
            v => v.clone(),
        })
        .collect();
    sprint(&printable)
}

fn html(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn js(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if !c.is_ascii() && c.is_control() => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

fn urlquery(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let is_separator = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else {
            !c.is_alphanumeric() && c.is_whitespace()
        }
    };
    let mut prev = ' ';
    let mut out = String::new();
    for c in s.chars() {
        if is_separator(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn int_arg(v: &Val) -> i64 {
    v.as_int().unwrap_or(0)
}

fn pad(a: &[Val]) -> Result<Val, String> {
    let s = a[0].as_str().unwrap_or("");
    let (pre, post) = (int_arg(&a[1]), int_arg(&a[2]));
    if s.is_empty() {
        return Ok(Val::str(""));
    }
    if pre < 0 || post < 0 {
        return Err("strings: negative Repeat count".into());
    }
    let spaces = |n: i64| " ".repeat(n as usize);
    Ok(Val::str(&format!("{}{s}{}", spaces(pre), spaces(post))))
}

fn split(a: &[Val]) -> Result<Val, String> {
    let s = a[0].as_str().unwrap_or("");
    let sep = a[1].as_str().unwrap_or("");
    if sep.is_empty() {
        return Ok(Val::strings(s.chars().map(String::from)));
    }
    Ok(Val::strings(s.split(sep)))
}

fn truncate(a: &[Val]) -> Result<Val, String> {
    let s = a[0].as_str().unwrap_or("");
    let n = int_arg(&a[1]);
    let Ok(mut n) = usize::try_from(n) else {
        return Err(format!("runtime error: slice bounds out of range [:{n}]"));
    };
    if s.len() < n {
        return Ok(Val::str(s));
    }
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    Ok(Val::str(&s[..n]))
}

/// Go's `json.Marshal` without HTML escaping, as Podman's `json` calls it.
pub(super) fn to_json(v: &Val) -> String {
    let mut out = String::new();
    write_json(&mut out, v);
    out
}

fn write_json(out: &mut String, v: &Val) {
    match v {
        Val::Nil => out.push_str("null"),
        Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Val::Int(i) => out.push_str(&i.to_string()),
        Val::Uint(u) => out.push_str(&u.to_string()),
        Val::Float(f) => out.push_str(&json_float(*f)),
        Val::Str(s) => write_json_string(out, s),
        Val::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Val::Obj(o) => {
            out.push('{');
            for (i, (k, item)) in o.fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(out, k);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

/// Go's float encoding: `%f` form, or `%e` form (with a short exponent)
/// below 1e-6 and from 1e21.
fn json_float(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = format_float(f, 'e', None);
        let (m, e) = s.split_once('e').unwrap_or((&s, "+0"));
        let (sign, digits) = e.split_at(1);
        let digits = digits.trim_start_matches('0');
        return format!("{m}e{sign}{}", if digits.is_empty() { "0" } else { digits });
    }
    format_float(f, 'f', None)
}

fn write_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(name: &str, args: &[Val]) -> Result<Val, String> {
        (lookup(name).unwrap().call)(args)
    }

    fn s(x: &str) -> Val {
        Val::str(x)
    }

    #[test]
    fn comparisons_follow_go() {
        let t = Val::Bool(true);
        assert_eq!(
            call("eq", &[Val::Int(1), Val::Int(2), Val::Int(1)]),
            Ok(t.clone())
        );
        assert_eq!(call("eq", &[Val::Int(1), Val::Uint(1)]), Ok(t.clone()));
        assert_eq!(call("eq", &[s("a"), Val::Nil]), Ok(Val::Bool(false)));
        assert_eq!(
            call("eq", &[Val::Int(1), Val::Float(1.0)]),
            Err(BAD_COMPARISON.into())
        );
        assert_eq!(
            call("eq", &[Val::Int(1)]),
            Err("missing argument for comparison".into())
        );
        assert_eq!(
            call("lt", &[Val::Bool(true), Val::Bool(false)]),
            Err(BAD_COMPARISON_TYPE.into())
        );
        assert_eq!(call("ge", &[s("b"), s("a")]), Ok(t.clone()));
        assert_eq!(call("le", &[Val::Int(-1), Val::Uint(0)]), Ok(t));
        let list = Val::strings(["a"]);
        assert_eq!(
            call("eq", &[list.clone(), list]),
            Err("non-comparable type [a]: []string".into())
        );
    }

    #[test]
    fn index_and_slice_follow_go() {
        let list = Val::strings(["a", "b"]);
        assert_eq!(call("index", &[list.clone(), Val::Int(1)]), Ok(s("b")));
        assert_eq!(
            call("index", &[list.clone(), Val::Int(2)]),
            Err("index out of range: 2".into())
        );
        assert_eq!(call("index", &[s("abc"), Val::Int(1)]), Ok(Val::Int(98)));
        let labels = Val::from_json(&json!({"a": "x"}), false);
        assert_eq!(call("index", &[labels.clone(), s("a")]), Ok(s("x")));
        assert_eq!(call("index", &[labels.clone(), s("b")]), Ok(s("")));
        assert_eq!(
            call("index", &[labels, Val::Int(1)]),
            Err("value has type int; should be string".into())
        );
        assert_eq!(call("index", &[Val::Nil, s("k")]), Ok(s("")));
        assert_eq!(
            call("slice", &[s("abcdef"), Val::Int(1), Val::Int(3)]),
            Ok(s("bc"))
        );
        assert_eq!(call("slice", &[list, Val::Int(1)]), Ok(Val::strings(["b"])));
        assert_eq!(
            call("slice", &[s("abc"), Val::Int(2), Val::Int(1)]),
            Err("invalid slice index: 2 > 1".into())
        );
        assert_eq!(call("len", &[s("héllo")]), Ok(Val::Int(6)));
        assert_eq!(call("len", &[Val::Int(3)]), Err("len of type int".into()));
    }

    #[test]
    fn podman_functions_follow_containers_common() {
        assert_eq!(
            call("title", &[s("hello wor-ld foo_bar o'neil")]),
            Ok(s("Hello Wor-Ld Foo_bar O'Neil"))
        );
        assert_eq!(
            call("split", &[s("abc"), s("")]),
            Ok(Val::strings(["a", "b", "c"]))
        );
        assert_eq!(
            call("split", &[s(",a,"), s(",")]),
            Ok(Val::strings(["", "a", ""]))
        );
        assert_eq!(call("truncate", &[s("abcdef"), Val::Int(3)]), Ok(s("abc")));
        assert_eq!(call("truncate", &[s("ab"), Val::Int(3)]), Ok(s("ab")));
        assert_eq!(
            call("pad", &[s("x"), Val::Int(2), Val::Int(3)]),
            Ok(s("  x   "))
        );
        assert_eq!(call("pad", &[s(""), Val::Int(2), Val::Int(3)]), Ok(s("")));
        assert_eq!(
            call("join", &[Val::strings(["a", "b"]), s("+")]),
            Ok(s("a+b"))
        );
        assert_eq!(call("html", &[s("<a&b>")]), Ok(s("&lt;a&amp;b&gt;")));
        assert_eq!(call("urlquery", &[s("a b&c")]), Ok(s("a+b%26c")));
        assert_eq!(call("js", &[s("a'b")]), Ok(s("a\\'b")));
    }

    #[test]
    fn json_is_gos_encoding() {
        assert_eq!(to_json(&s("a<b>&\u{2028}\u{1}")), "\"a<b>&\\u2028\\u0001\"");
        assert_eq!(to_json(&Val::Float(1.5)), "1.5");
        assert_eq!(to_json(&Val::Float(1.0)), "1");
        assert_eq!(to_json(&Val::Float(1e21)), "1e+21");
        assert_eq!(to_json(&Val::Float(1e-7)), "1e-7");
        let v = Val::from_json(&json!({"b": [1, null], "a": {"x": true}}), true);
        assert_eq!(to_json(&v), r#"{"a":{"x":true},"b":[1,null]}"#);
    }
}
