//! Go templates for `--format`, as Podman runs them: the whole
//! `text/template` language (text, fields, pipelines, `if`/`else`,
//! `range`, `with`, variables, `define`/`template`/`block`, trim markers,
//! comments, Go's builtin functions and `fmt` verbs) plus the functions and
//! the `table` directive Podman's containers/common adds.
//!
//! Values are JSON: an object is a Go struct (an unknown field is an
//! error) or a map (a missing key is `<no value>`), see `value`. The
//! module only renders text; it reads no files and prints nothing.

mod exec;
mod fmt;
mod funcs;
mod lex;
mod literal;
mod parse;
mod table;
mod value;

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value;

use parse::{Node, Operand, Pipe, Term, Tree};
pub use table::{align, field_header};
use value::{Obj, Val};

/// What is wrong with a template, worded as Go's `text/template` does.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The template does not parse.
    #[error("template: {name}:{line}: {msg}")]
    Parse {
        name: String,
        line: usize,
        msg: String,
    },
    /// Running it failed at the node `node`, at `line:col`.
    #[error("template: {name}:{line}:{col}: executing {name:?} at <{node}>: {msg}")]
    Exec {
        name: String,
        line: usize,
        col: usize,
        node: String,
        msg: String,
    },
}

impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        crate::error::Error::Usage(e.to_string())
    }
}

/// A parsed `--format` template.
#[derive(Debug, Clone)]
pub struct Template {
    /// Whether it started with `table ` (a header row and aligned columns).
    pub is_table: bool,
    name: String,
    /// The source as parsed (Podman's form of the user's text), and its tree.
    source: String,
    tree: Tree,
}

impl Template {
    /// Parses `text` as Podman's formatter does for a list of objects:
    /// `\t` and `\n` typed as escapes become tab and newline, a newline is
    /// added at the end, and the text runs once per object (in
    /// `{{range .}}`, unless it ranges over `.` itself). After `table `,
    /// spaces outside and inside actions become tabs. If that does not
    /// parse, the text as given is tried, as Podman does. Errors name the
    /// template `name`, as Podman names it after the command (`images`).
    pub fn parse_as(name: &str, text: &str) -> Result<Template, Error> {
        let is_table = text.starts_with("table ");
        let (normal, raw) = if is_table {
            (
                format!("{{{{range .}}}}{}{{{{end -}}}}", normalize(text)),
                format!("{{{{range .}}}}{text}{{{{end -}}}}"),
            )
        } else {
            (enforce_range(&normalize(text)), enforce_range(text))
        };
        let (source, tree) = parse_either(name, normal, raw)?;
        Ok(Template {
            is_table,
            name: name.into(),
            source,
            tree,
        })
    }

    /// Parses `text` for [`Template::render`], which runs it once over a
    /// single object, as `info` and `version` do (no `{{range}}` around
    /// it, so `{{define}}` works at its top); errors name it `name`.
    pub fn parse_one(name: &str, text: &str) -> Result<Template, Error> {
        let (source, tree) = parse_either(name, normalize(text), text.to_string())?;
        Ok(Template {
            is_table: false,
            name: name.into(),
            source,
            tree,
        })
    }

    /// Checks that every field the template reads from an object is one
    /// of `keys`, before there is any object to run it on.
    pub fn check_fields(&self, keys: &[&str]) -> Result<(), Error> {
        let mut found = Vec::new();
        row_fields(&self.tree.root, false, &mut found);
        for op in found {
            if let Term::Field(path) = &op.term {
                if !keys.contains(&path[0].as_str()) {
                    return Err(self.exec_error(
                        &self.source,
                        exec::ExecError {
                            pos: op.pos,
                            context: op.to_string(),
                            msg: format!("can't evaluate field {} in type struct", path[0]),
                        },
                    ));
                }
            }
        }
        Ok(())
    }

    /// Renders the template over `values` as Podman's listing commands do;
    /// a `table` template first renders a header row, from an object
    /// mapping each field to its title `name(&[field])`, and aligns the
    /// columns.
    pub fn render_all(
        &self,
        values: &[Value],
        name: &dyn Fn(&[String]) -> String,
    ) -> Result<String, Error> {
        let mut out = String::new();
        if self.is_table {
            out.push_str(&self.run(&self.header_row(values, name))?);
        }
        out.push_str(&self.run(&rows(values))?);
        Ok(if self.is_table {
            table::tabwrite(&out)
        } else {
            out
        })
    }

    /// Renders the template over `values` as `inspect` does: no header,
    /// and columns aligned only for a `table` template.
    pub fn render_inspect(&self, values: &[Value]) -> Result<String, Error> {
        let out = self.run(&rows(values))?;
        Ok(if self.is_table {
            table::tabwrite(&out)
        } else {
            out
        })
    }

    /// Renders a template from [`Template::parse_one`] once over `value`.
    pub fn render(&self, value: &Value) -> Result<String, Error> {
        self.run(&Val::from_json(value, true))
    }

    fn run(&self, data: &Val) -> Result<String, Error> {
        exec::execute(&self.tree, data).map_err(|e| self.exec_error(&self.source, e))
    }

    /// The one-object list a `table` header is rendered from: a map (so
    /// an unknown field is `<no value>`, as in Podman) from each field of
    /// the objects, and each field the template reads, to its title.
    fn header_row(&self, values: &[Value], name: &dyn Fn(&[String]) -> String) -> Val {
        // Each key once: the objects share most of theirs, and each key
        // below looks through all of them (ps -a at 5,000 containers).
        let mut keys: Vec<String> = values
            .iter()
            .filter_map(Value::as_object)
            .flat_map(|o| o.keys())
            .collect::<std::collections::BTreeSet<&String>>()
            .into_iter()
            .cloned()
            .collect();
        let mut found = Vec::new();
        row_fields(&self.tree.root, false, &mut found);
        keys.extend(found.iter().filter_map(|op| match &op.term {
            Term::Field(path) if values.is_empty() => Some(path[0].clone()),
            _ => None,
        }));
        let fields: BTreeMap<String, Val> = keys
            .into_iter()
            .map(|k| {
                // A field holding a struct (`.Namespaces.Cgroup`) gets an
                // object of titles, one per field below it; one holding a
                // map (`.Labels.foo`) a title, as in Podman.
                let inner = values
                    .iter()
                    .filter_map(|v| v.get(&k).and_then(Value::as_object))
                    .find(|o| value::looks_like_struct(o));
                let title = match inner {
                    Some(o) if !o.is_empty() => Val::Obj(Rc::new(Obj {
                        fields: o
                            .keys()
                            .map(|k2| (k2.clone(), Val::str(&name(&[k.clone(), k2.clone()]))))
                            .collect(),
                        is_struct: false,
                    })),
                    _ => Val::str(&name(std::slice::from_ref(&k))),
                };
                (k, title)
            })
            .collect();
        let header = Val::Obj(Rc::new(Obj {
            fields,
            is_struct: false,
        }));
        Val::List(Rc::new(vec![header]))
    }

    fn exec_error(&self, source: &str, e: exec::ExecError) -> Error {
        let (line, col) = line_col(source, e.pos);
        Error::Exec {
            name: self.name.clone(),
            line,
            col,
            node: e.context,
            msg: e.msg,
        }
    }
}

/// The objects as the list a template ranges over; each is a struct.
fn rows(values: &[Value]) -> Val {
    Val::List(Rc::new(
        values.iter().map(|v| Val::from_json(v, true)).collect(),
    ))
}

/// Parses `normal`, or `raw` when `normal` does not parse.
fn parse_either(name: &str, normal: String, raw: String) -> Result<(String, Tree), Error> {
    let is_func = |f: &str| funcs::lookup(f).is_some();
    match parse::parse(&normal, &is_func) {
        Ok(tree) => Ok((normal, tree)),
        Err(_) => match parse::parse(&raw, &is_func) {
            Ok(tree) => Ok((raw, tree)),
            Err(e) => Err(Error::Parse {
                name: name.to_string(),
                line: line_col(&raw, e.pos).0,
                msg: e.msg,
            }),
        },
    }
}

/// The 1-based line and 0-based byte column of `pos`, as Go reports them.
fn line_col(source: &str, pos: usize) -> (usize, usize) {
    let before = &source[..pos.min(source.len())];
    let line = 1 + before.matches('\n').count();
    let col = before.rfind('\n').map_or(pos, |i| pos - i - 1);
    (line, col)
}

/// Podman's `NormalizeFormat`: escapes typed in the shell become tab and
/// newline (after `table `, spaces become tabs and the word goes), and
/// the text ends in a newline.
fn normalize(text: &str) -> String {
    let mut out = if text.starts_with("table ") {
        table_replace(text)
    } else {
        text.replace("\\t", "\t").replace("\\n", "\n")
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Go's `strings.NewReplacer("table ", "", `\t`, "\t", " ", "\t", `\n`, "\n")`.
fn table_replace(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        let (put, skip) = if rest.starts_with("table ") {
            ("", 6)
        } else if rest.starts_with("\\t") || rest.starts_with(' ') {
            ("\t", if c == ' ' { 1 } else { 2 })
        } else if rest.starts_with("\\n") {
            ("\n", 2)
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        out.push_str(put);
        rest = &rest[skip..];
    }
    out
}

/// Podman's `EnforceRange`: wraps the text in `{{range .}}...{{end -}}`
/// unless it has `{{range .}}...{{end}}` of its own.
fn enforce_range(text: &str) -> String {
    let skip_ws = |s: &str| {
        s.trim_start_matches([' ', '\t', '\n', '\r', '\x0c'])
            .to_string()
    };
    let action = |s: &str, words: &[&str]| -> bool {
        let mut rest = skip_ws(s);
        for w in words {
            match rest.strip_prefix(w) {
                Some(r) => rest = skip_ws(r),
                None if *w == "-" => {}
                None => return false,
            }
        }
        true
    };
    let opens: Vec<usize> = text.match_indices("{{").map(|(i, _)| i).collect();
    let has_range = opens.iter().enumerate().any(|(n, &i)| {
        action(&text[i + 2..], &["range", ".", "}}"])
            && opens[n + 1..]
                .iter()
                .any(|&j| action(&text[j + 2..], &["end", "-", "}}"]))
    });
    if has_range {
        text.to_string()
    } else {
        format!("{{{{range .}}}}{text}{{{{end -}}}}")
    }
}

/// Collects the field operands evaluated with an object of the list as
/// dot: inside `{{range .}}` at the top, outside nested `range`/`with`
/// bodies (which move dot) and `template` calls.
fn row_fields<'t>(list: &'t [Node], is_row: bool, out: &mut Vec<&'t Operand>) {
    for node in list {
        match node {
            Node::Action(p) if is_row => pipe_fields(p, out),
            Node::If(b) => {
                if is_row {
                    pipe_fields(&b.pipe, out);
                }
                row_fields(&b.list, is_row, out);
                row_fields(b.else_list.as_deref().unwrap_or_default(), is_row, out);
            }
            Node::Range(b) if !is_row && is_plain_dot(&b.pipe) => row_fields(&b.list, true, out),
            Node::Range(b) | Node::With(b) if is_row => {
                pipe_fields(&b.pipe, out);
                row_fields(b.else_list.as_deref().unwrap_or_default(), true, out);
            }
            _ => {}
        }
    }
}

/// Whether a pipeline is just `.` (with or without variables).
fn is_plain_dot(p: &Pipe) -> bool {
    matches!(p.cmds.as_slice(), [c] if matches!(c.args.as_slice(), [a] if a.term == Term::Dot))
}

fn pipe_fields<'t>(p: &'t Pipe, out: &mut Vec<&'t Operand>) {
    for c in &p.cmds {
        for a in &c.args {
            operand_fields(a, out);
        }
    }
}

fn operand_fields<'t>(op: &'t Operand, out: &mut Vec<&'t Operand>) {
    match &op.term {
        Term::Field(_) => out.push(op),
        Term::Pipe(p) => pipe_fields(p, out),
        Term::Chain(inner, _) => operand_fields(inner, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // The expected outputs and errors below were obtained by running
    // Podman 4.3.1 (Go 1.19) as the oracle, as the user hutch-test:
    //   INSPECT: podman image inspect localhost/gotmpl:1 --format TEMPLATE
    //   VERSION: podman version --format TEMPLATE
    //   IMAGES:  podman images --filter reference=localhost/gotmpl:1 --format TEMPLATE
    // where localhost/gotmpl:1 was made with `podman import` with
    // ENV A=1, ENV B=two words, three labels, CMD and WORKDIR /w. The JSON
    // objects below are what those commands' Go values hold. Error texts
    // drop Podman's "Error: " (and inspect's "inspecting object: printing
    // inspect output: ") prefix; Go type names (`in type T`, `got T`) are
    // compared only where hutch's JSON has the same type.

    fn inspect_object() -> Value {
        json!({
            "Digest": "sha256:fe741d4795b8c02c5354a517149e8076407db2fa62138ea20977bcb9dbb8c834",
            "RepoTags": ["localhost/gotmpl:1"],
            "Comment": "imported from tarball",
            "Config": {
                "Env": ["A=1", "B=two words"],
                "Cmd": ["sh", "-c", "echo hi"],
                "WorkingDir": "/w",
                "Labels": {"Upper": "U", "alpha": "first", "zeta": "last"},
            },
            "Architecture": "amd64",
            "Os": "linux",
            "Size": 11486,
            "GraphDriver": {"Name": "vfs", "Data": null},
            "RootFS": {
                "Type": "layers",
                "Layers": ["sha256:64ad543fdc79d995cd57e247e7fd6df9d5d0bf594dfffe4a1c367eda0792d1b8"],
            },
            "Labels": {"Upper": "U", "alpha": "first", "zeta": "last"},
            "Annotations": {},
        })
    }

    fn version_object() -> Value {
        json!({"Client": {
            "APIVersion": "4.3.1", "Version": "4.3.1", "GoVersion": "go1.19.8",
            "GitCommit": "", "BuiltTime": "Thu Jan  1 00:00:00 1970", "Built": 0,
            "OsArch": "linux/amd64", "Os": "linux",
        }})
    }

    fn images_object() -> Value {
        json!({
            "ID": "35ebfaf02296",
            "Repository": "localhost/gotmpl",
            "Tag": "1",
            "Names": ["localhost/gotmpl:1"],
            "Dangling": false,
            "Labels": {"Upper": "U", "alpha": "first", "zeta": "last"},
        })
    }

    /// Drops the Go type names hutch's JSON cannot reproduce.
    fn without_go_types(msg: &str) -> String {
        let mut out = msg.to_string();
        for marker in [" in type ", "; got "] {
            if let Some(i) = out.find(marker) {
                out.truncate(i + marker.len());
            }
        }
        out
    }

    fn check(table: &[(&str, Result<&str, &str>)], run: &dyn Fn(&str) -> Result<String, Error>) {
        for (template, want) in table {
            let got = run(template);
            match (want, &got) {
                (Ok(w), Ok(g)) => assert_eq!(g, w, "template {template:?}"),
                (Err(w), Err(e)) => assert_eq!(
                    without_go_types(&e.to_string()),
                    without_go_types(w),
                    "template {template:?}"
                ),
                _ => panic!("template {template:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn inspect_templates_match_podman() {
        let objects = [inspect_object()];
        check(INSPECT, &|t| {
            Template::parse_as("inspect", t).and_then(|t| t.render_inspect(&objects))
        });
    }

    #[test]
    fn single_object_templates_match_podman() {
        let object = version_object();
        check(VERSION, &|t| {
            Template::parse_one("version", t).and_then(|t| t.render(&object))
        });
    }

    #[test]
    fn listing_templates_and_tables_match_podman() {
        let objects = [images_object()];
        let header = |p: &[String]| match p[0].as_str() {
            "ID" => "IMAGE ID".to_string(),
            other => field_header(other),
        };
        check(IMAGES, &|t| {
            Template::parse_as("images", t).and_then(|t| t.render_all(&objects, &header))
        });
    }

    #[test]
    fn check_fields_names_the_unknown_field_before_running() {
        let t = Template::parse_as(
            "format",
            "{{.ID}} {{with .State}}{{.Inner}}{{end}} {{.Nope.X}}",
        )
        .unwrap();
        assert_eq!(
            t.check_fields(&["ID", "State"]).unwrap_err().to_string(),
            "template: format:1:59: executing \"format\" at <.Nope.X>: can't evaluate field Nope in type struct"
        );
        t.check_fields(&["ID", "State", "Nope"]).unwrap();
    }

    #[test]
    fn table_header_titles_fields_below_an_object() {
        let t = Template::parse_as("ps", "table {{.Names}}\\t{{.Namespaces.IPC}}").unwrap();
        let rows = [serde_json::json!({"Names": "c", "Namespaces": {"IPC": "4026"}})];
        let out = t
            .render_all(&rows, &|p| p.join("-").to_uppercase())
            .unwrap();
        assert_eq!(out, "NAMES       NAMESPACES-IPC\nc           4026\n");
    }

    #[test]
    fn table_header_uses_the_titles_without_objects() {
        let t = Template::parse_as("format", "table {{.ID}}\\t{{.Names}}").unwrap();
        assert!(t.is_table);
        let out = t.render_all(&[], &|p| p[0].to_uppercase()).unwrap();
        assert_eq!(out, "ID          NAMES\n");
        assert!(
            !Template::parse_as("format", "tablet {{.ID}}")
                .unwrap()
                .is_table
        );
    }

    const INSPECT: &[(&str, Result<&str, &str>)] = &[
        ("{{.Os}}", Ok("linux\n")),
        ("{{.RepoTags}} {{.Config.Env}} {{.Config.Cmd}} {{.Config.Labels}} {{.Labels}} {{.Size}} {{.Annotations}}", Ok("[localhost/gotmpl:1] [A=1 B=two words] [sh -c echo hi] map[Upper:U alpha:first zeta:last] map[Upper:U alpha:first zeta:last] 11486 map[]\n")),
        ("{{.Os}}\\t{{.Architecture}}\\n", Ok("linux\tamd64\n")),
        ("{{.Os}}\t{{.Architecture}}", Ok("linux\tamd64\n")),
        ("{{range .Config.Env}}[{{.}}]{{end}}", Ok("[A=1][B=two words]\n")),
        ("{{range $k, $v := .Labels}}{{$k}}={{$v}},{{end}}", Ok("Upper=U,alpha=first,zeta=last,\n")),
        ("{{range $v := .Labels}}{{$v}};{{end}}", Ok("U;first;last;\n")),
        ("{{range $i, $e := .Config.Env}}{{if $i}}, {{end}}{{$e}}{{end}}", Ok("A=1, B=two words\n")),
        ("{{range .RepoTags}}{{.}}{{else}}none{{end}} {{range .GraphDriver.Data}}x{{else}}nodata{{end}}", Ok("localhost/gotmpl:1 nodata\n")),
        ("{{range $i, $e := .Config.Cmd}}{{if eq $i 1}}{{continue}}{{end}}{{if eq $i 2}}{{break}}{{end}}{{$e}}{{end}}", Ok("sh\n")),
        ("{{if .Labels.alpha}}has alpha{{end}} {{if .Labels.nope}}yes{{else}}no{{end}}", Ok("has alpha no\n")),
        ("{{if eq .Os \"windows\"}}win{{else if eq .Os \"linux\"}}lin{{else}}other{{end}}", Ok("lin\n")),
        ("{{with .Config}}{{.WorkingDir}} {{len .Env}}{{end}}", Ok("/w 2\n")),
        ("{{with .Config.Labels}}{{.zeta}}{{end}}{{with .Comment}} {{.}}{{end}}{{with .Annotations}}x{{else}} none{{end}}", Ok("last imported from tarball none\n")),
        ("{{$t := .Os}}{{range .Config.Env}}{{$t}}:{{.}} {{end}}", Ok("linux:A=1 linux:B=two words \n")),
        ("{{$x := 1}}{{$x = 2}}{{$x}} {{len $}}", Ok("2 1\n")),
        ("{{index .Labels \"alpha\"}}|{{index .Labels \"missing\"}}|{{index .Config.Env 1}}|{{index .RepoTags 0}}", Ok("first||B=two words|localhost/gotmpl:1\n")),
        ("{{json .Labels}} {{json .Config.Env}} {{json .Size}} {{json .Os}}", Ok("{\"Upper\":\"U\",\"alpha\":\"first\",\"zeta\":\"last\"} [\"A=1\",\"B=two words\"] 11486 \"linux\"\n")),
        ("{{.Os | printf \"%-8s|\"}}{{printf \"%10d|\" .Size}}{{printf \"%x\" .Size}}", Ok("linux   |     11486|2cde\n")),
        ("{{len .Config.Env}} {{len .Labels}} {{len .Os}} {{slice .Config.Env 1}} {{slice .Os 0 3}}", Ok("2 3 5 [B=two words] lin\n")),
        ("{{join .RepoTags \",\"}} {{join .Config.Env \" \"}} {{.Os | upper}} {{upper .Os | lower}} {{title .Comment}}", Ok("localhost/gotmpl:1 A=1 B=two words LINUX linux Imported From Tarball\n")),
        ("{{truncate .Comment 8}} {{.Os | truncate 3}} [{{pad .Os 2 1}}] {{split .Comment \" \"}} {{pad .Labels.nope 1 1}}|", Err("template: inspect:1:52: executing \"inspect\" at <3>: expected string; found 3")),
        ("{{truncate .Comment 8}} [{{pad .Os 2 1}}] {{split .Comment \" \"}} {{.Comment | split \" \" | len}}", Ok("imported [  linux ] [imported from tarball] 1\n")),
        ("{{pad .Labels.nope 1 1}}", Err("template: inspect:1:24: executing \"inspect\" at <.Labels.nope>: invalid value; expected string")),
        ("{{eq .Os \"linux\"}} {{ne .Size 11486}} {{gt .Size 100}} {{eq .Size 11486}} {{lt .Size 1}} {{le .Os \"m\"}}", Ok("true false true true false true\n")),
        ("{{if and .Labels (eq .Os \"linux\")}}ok{{end}} {{or .Labels.nope .Os}} {{not .Annotations}}", Ok("ok linux true\n")),
        ("{{.Labels.Upper}} {{.Labels.alpha}} {{.Config.Labels.nope}} {{.RootFS.Layers}} {{.RootFS.Type}} {{.GraphDriver.Name}}", Ok("U first <no value> [sha256:64ad543fdc79d995cd57e247e7fd6df9d5d0bf594dfffe4a1c367eda0792d1b8] layers vfs\n")),
        ("{{printf \"%s\" .Labels}} {{printf \"%v\" .Config.Env}} {{printf \"%q\" .Labels}} {{printf \"%q\" .RepoTags}}", Ok("map[Upper:U alpha:first zeta:last] [A=1 B=two words] map[\"Upper\":\"U\" \"alpha\":\"first\" \"zeta\":\"last\"] [\"localhost/gotmpl:1\"]\n")),
        ("{{range .Config.Env -}}   {{.}}   {{- end}}", Ok("A=1B=two words\n")),
        ("{{- /* a comment */ -}} {{.Os -}} {{\"|\"}}", Ok("linux|\n")),
        ("{{define \"tag\"}}<{{.}}>{{end}}{{range .RepoTags}}{{template \"tag\" .}}{{end}}", Err("template: inspect:1: unexpected <define> in command")),
        ("{{printf \"%s\\n\" .Os}}", Ok("linux\n")),
        ("x\\ny{{.Os}}\\n{{.Nope}}", Err("template: inspect:3:2: executing \"inspect\" at <.Nope>: can't evaluate field Nope in type interface {}")),
        ("{{.Nope}}", Err("template: inspect:1:13: executing \"inspect\" at <.Nope>: can't evaluate field Nope in type interface {}")),
        ("{{.Config.Nope}}", Err("template: inspect:1:20: executing \"inspect\" at <.Config.Nope>: can't evaluate field Nope in type *v1.ImageConfig")),
        ("{{.Os.Nope}}", Err("template: inspect:1:16: executing \"inspect\" at <.Os.Nope>: can't evaluate field Nope in type string")),
        ("{{.RepoTags.X}}", Err("template: inspect:1:22: executing \"inspect\" at <.RepoTags.X>: can't evaluate field X in type []string")),
        ("{{range .Os}}{{end}}", Err("template: inspect:1:19: executing \"inspect\" at <.Os>: range can't iterate over linux")),
        ("{{upper .Size}}", Err("template: inspect:1:19: executing \"inspect\" at <.Size>: wrong type for value; expected string; got int64")),
        ("{{.Size | upper}}", Err("template: inspect:1:21: executing \"inspect\" at <upper>: wrong type for value; expected string; got int64")),
        ("{{join .Size \",\"}}", Err("template: inspect:1:18: executing \"inspect\" at <.Size>: wrong type for value; expected []string; got int64")),
        ("{{.Os 1}}", Err("template: inspect:1:13: executing \"inspect\" at <.Os>: Os has arguments but cannot be invoked as function")),
        ("{{\"x\" | .Os}}", Err("template: inspect:1:19: executing \"inspect\" at <.Os>: Os has arguments but cannot be invoked as function")),
        ("{{index .Labels 1}}", Err("template: inspect:1:13: executing \"inspect\" at <index .Labels 1>: error calling index: value has type int; should be string")),
        ("{{index .RepoTags 5}}", Err("template: inspect:1:13: executing \"inspect\" at <index .RepoTags 5>: error calling index: index out of range: 5")),
        ("{{truncate .Os \"a\"}}", Err("template: inspect:1:26: executing \"inspect\" at <\"a\">: expected integer; found \"a\"")),
        ("{{truncate .Os}}", Err("template: inspect:1:13: executing \"inspect\" at <truncate>: wrong number of args for truncate: want 2 got 1")),
        ("{{printf}}", Err("template: inspect:1:13: executing \"inspect\" at <printf>: wrong number of args for printf: want at least 1 got 0")),
        ("{{range .Config.Env}}{{$.Os}} {{end}}", Err("template: inspect:1:35: executing \"inspect\" at <$.Os>: can't evaluate field Os in type []interface {}")),
        ("{{range $i, $v := .Config.Env}}{{end}}{{$i}}", Err("template: inspect:1: undefined variable \"$i\"")),
        ("{{nope .Os}}", Err("template: inspect:1: function \"nope\" not defined")),
        ("{{.Os}} {{{{.Os}}", Err("template: inspect:1: unexpected \"{\" in command")),
        ("{{if}}x{{end}}", Err("template: inspect:1: missing value for if")),
        ("{{range .Config.Env}}", Err("template: inspect:1: unexpected EOF")),
        ("{{end}}", Err("template: inspect:1: unexpected {{end}}")),
        ("{{eq .Config.Env .Config.Env}}", Err("template: inspect:1:13: executing \"inspect\" at <eq .Config.Env .Config.Env>: error calling eq: non-comparable type [A=1 B=two words]: []string")),
        ("{{lt .Size 1.5}}", Err("template: inspect:1:13: executing \"inspect\" at <lt .Size 1.5>: error calling lt: incompatible types for comparison")),
        ("{{template \"missing\"}}", Err("template: inspect:1:22: executing \"inspect\" at <{{template \"missing\"}}>: template \"missing\" not defined")),
        ("table {{.Os}} {{.Architecture}}", Ok("linux       amd64\n")),
    ];

    const VERSION: &[(&str, Result<&str, &str>)] = &[
        ("{{printf \"%05s|%-5s|%5.1s|%q|%x|% x|%#x|%X\" \"ab\" \"cd\" \"ef\" \"a\\tb\" \"hi\" \"hi\" \"hi\" \"hi\"}}", Ok("000ab|cd   |    e|\"a\\tb\"|6869|68 69|0x6869|6869\n")),
        ("{{printf \"%d|%5d|%-5d|%05d|%+d|%x|%#o|%b|%c|%q|%U\" 42 42 42 -42 42 255 8 5 65 65 65}}", Ok("42|   42|42   |-0042|+42|ff|010|101|A|'A'|U+0041\n")),
        ("{{printf \"%v|%g|%f|%.2f|%e|%8.3f|%v|%v|%v\" 1.5 1.5 1.5 1.5 1.5 3.14159 1e6 123456.0 0.00001}}", Ok("1.5|1.5|1.500000|1.50|1.500000e+00|   3.142|1e+06|123456|1e-05\n")),
        ("{{printf \"%s|%d|%t\" 1 \"x\" 2}} {{printf \"%s %s\" \"a\"}} {{printf \"%s\" \"a\" \"b\" 3}} {{printf \"%v %s %d\" nil nil nil}}", Ok("%!s(int=1)|%!d(string=x)|%!t(int=2) a %!s(MISSING) a%!(EXTRA string=b, int=3) <nil> %!s(<nil>) %!d(<nil>)\n")),
        ("{{printf \"%T %T %T %T\" 1 1.5 \"s\" true}} {{printf \"%[2]s %[1]s\" \"a\" \"b\"}} {{printf \"%*d|%-*d|%.*f\" 4 7 3 1 2 3.14159}}", Ok("int float64 string bool b a    7|1  |3.14\n")),
        ("{{print 1 2 \"a\" \"b\" 3 true false}}|{{println 1 \"a\" 2}}|", Ok("1 2ab3 true false|1 a 2\n|\n")),
        ("{{eq 1 2 3 1}} {{eq \"a\" \"a\"}} {{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt \"b\" \"a\"}} {{ge 1 2}} {{eq 1.5 1.5}}", Ok("true true true true true true false true\n")),
        ("{{and 1 0 2}} {{or 0 \"\" \"x\"}} {{not 0}} {{and 1 2}} {{or 0 \"\"}}|", Ok("0 x true 2 |\n")),
        ("{{len \"héllo\"}} {{index \"abc\" 1}} {{slice \"abcdef\" 1 3}} {{slice \"abc\" 1}}", Ok("6 98 bc bc\n")),
        ("{{upper \"aé\"}} {{lower \"ABC\"}} {{title \"hello wor-ld foo_bar o'neil\"}} {{join (split \"a,b,c\" \",\") \"+\"}} {{truncate \"abcdef\" 3}} {{truncate \"ab\" 3}}|{{pad \"x\" 2 3}}|{{pad \"\" 2 3}}|", Ok("AÉ abc Hello Wor-Ld Foo_bar O'Neil a+b+c abc ab|  x   ||\n")),
        ("{{json \"a<b>&\\u2028\"}} {{json 1.5}} {{json 1.0}} {{json nil}} {{json (split \"a,b\" \",\")}} {{json .Client.Version}}", Ok("\"a<b>&\\u2028\" 1.5 1 null [\"a\",\"b\"] \"4.3.1\"\n")),
        ("{{split \"abc\" \"\"}} {{split \"\" \",\"}} {{len (split \"\" \",\")}} {{split \",a,\" \",\"}}", Ok("[a b c] [] 1 [ a ]\n")),
        ("{{- \"a\" -}} {{/* comment */}} {{- /* c2 */ -}} b {{- 3}}", Ok("ab3\n")),
        ("{{range $i, $v := split \"x,y\" \",\"}}{{$i}}={{$v}};{{end}} {{range $v := split \"x,y\" \",\"}}{{$v}}{{end}} {{range split \"\" \"\"}}no{{else}}empty{{end}}", Ok("0=x;1=y; xy empty\n")),
        ("{{$x := 1}}{{if eq $x 1}}one{{else if eq $x 2}}two{{else}}other{{end}} {{$x = 2}}{{$x}} {{with $y := \"w\"}}{{$y}}{{.}}{{end}} {{with \"\"}}a{{else}}b{{end}}", Ok("one 2 ww b\n")),
        ("{{define \"x\"}}[{{.}}]{{end}}{{template \"x\" \"hi\"}} {{block \"y\" 5}}<{{.}}>{{end}}", Ok("[hi] <5>\n")),
        ("{{`raw\\n`}} {{'a'}} {{0x10}} {{1_000}} {{-5}} {{+5}} {{1e3}} {{0.5}} {{true}} {{\"\\u00e9\\x41\"}} {{010}}", Ok("raw\n 97 16 1000 -5 5 1000 0.5 true éA 8\n")),
        ("{{\"a\" | printf \"%s-%s\" \"b\"}} {{3 | printf \"%d\"}} {{(split \"a,b\" \",\") | len}} {{(.Client).Version}} {{index (split \"a,b\" \",\") 1}}", Ok("b-a 3 2 4.3.1 b\n")),
        ("{{.Client.Version | upper | printf \"%q\"}} {{html \"<a&b>\"}} {{urlquery \"a b&c\"}} {{js \"a'b\"}} {{print nil}}", Ok("\"4.3.1\" &lt;a&amp;b&gt; a+b%26c a\\'b <nil>\n")),
        ("{{printf \"%!\" }}|{{printf \"%z\" 1}}|{{printf \"%\" }}|{{printf \"100%%\"}}|{{printf \"%d %d\" 1}}|{{printf \"%.0d|%6.2f|%-8.3e|%G|%E|%+.1f|% d|%x\" 0 3.14159 1234.5678 1e-7 1e21 2.55 5 -255}}", Ok("%!!(MISSING)|%!z(int=1)|%!(NOVERB)|100%|1 %!d(MISSING)||  3.14|1.235e+03|1E-07|1.000000E+21|+2.5| 5|-ff\n")),
        ("{{printf \"%v\" (split \"a,b\" \",\")}} {{printf \"%q\" (split \"a,b\" \",\")}} {{printf \"%5s\" (split \"a,b\" \",\")}} {{printf \"%d\" (split \"a\" \",\")}}", Ok("[a b] [\"a\" \"b\"] [    a     b] [%!d(string=a)]\n")),
        ("{{printf \"%v %v %v %v %v\" 1e20 1e21 123456789.0 0.0001 100000.0}} {{printf \"%.3g|%g|%.10g|%g\" 3.14159 100000000.0 1.0 0.000012345}}", Ok("1e+20 1e+21 1.23456789e+08 0.0001 100000 3.14|1e+08|1|1.2345e-05\n")),
        ("{{printf \"%#v %#v %+d %x %X %o %O %#b\" \"s\" 42 0 \"é\" 3054 8 8 5}}", Ok("\"s\" 42 +0 c3a9 BEE 10 0o10 0b101\n")),
        ("{{eq 1 1.0}}", Err("template: version:1:2: executing \"version\" at <eq 1 1.0>: error calling eq: incompatible types for comparison")),
        ("{{eq 1 \"a\"}}", Err("template: version:1:2: executing \"version\" at <eq 1 \"a\">: error calling eq: incompatible types for comparison")),
        ("{{lt true false}}", Err("template: version:1:2: executing \"version\" at <lt true false>: error calling lt: invalid type for comparison")),
        ("{{and}}", Err("template: version:1:2: executing \"version\" at <and>: wrong number of args for and: want at least 1 got 0")),
        ("{{len 3}}", Err("template: version:1:2: executing \"version\" at <len 3>: error calling len: len of type int")),
        ("{{slice \"abc\" 2 1}}", Err("template: version:1:2: executing \"version\" at <slice \"abc\" 2 1>: error calling slice: invalid slice index: 2 > 1")),
        ("{{index (split \"a,b\" \",\") 5}}", Err("template: version:1:2: executing \"version\" at <index (split \"a,b\" \",\") 5>: error calling index: index out of range: 5")),
        ("{{nil}}", Err("template: version:1:2: executing \"version\" at <nil>: nil is not a command")),
        ("{{3 | 4}}", Err("template: version:1: non executable command in pipeline stage 2")),
        ("{{\"unterminated}}", Err("template: version:1: unterminated quoted string")),
        ("{{truncate \"abc\" -1}}", Err("template: version:1:2: executing \"version\" at <truncate \"abc\" -1>: error calling truncate: runtime error: slice bounds out of range [:-1]")),
        ("{{range 5}}{{end}}", Err("template: version:1:8: executing \"version\" at <5>: range can't iterate over 5")),
    ];

    const IMAGES: &[(&str, Result<&str, &str>)] = &[
        ("{{.ID}} {{.Repository}}:{{.Tag}}", Ok("35ebfaf02296 localhost/gotmpl:1\n")),
        ("{{.ID | upper}}", Ok("35EBFAF02296\n")),
        ("table {{.ID}}\\t{{.Repository}}", Ok("IMAGE ID      REPOSITORY\n35ebfaf02296  localhost/gotmpl\n")),
        ("table {{.ID}} {{.Repository}} {{.Tag}}", Ok("IMAGE ID      REPOSITORY        TAG\n35ebfaf02296  localhost/gotmpl  1\n")),
        ("table {{.ID | upper}}\\t{{truncate .Repository 9}}", Ok("IMAGE ID      REPOSITOR\n35EBFAF02296  localhost\n")),
        ("table {{.Repository}}\\t{{.Nope}}", Err("template: images:1:29: executing \"images\" at <.Nope>: can't evaluate field Nope in type images.imageReporter")),
        ("table {{.Repository}}\\t{{.Labels.foo}}", Err("template: images:1:36: executing \"images\" at <.Labels.foo>: can't evaluate field foo in type string")),
        ("table {{.ID}} {{printf \"%s x\" .Tag}}", Ok("IMAGE ID      TAG         x\n35ebfaf02296  1           x\n")),
        ("{{range .}}{{.Repository}} {{end}}", Ok("localhost/gotmpl \n")),
        ("{{.Repository}}\t{{.Tag}}", Ok("localhost/gotmpl\t1\n")),
        ("{{json .Names}} {{.Dangling}} {{.Labels}}", Ok("[\"localhost/gotmpl:1\"] false map[Upper:U alpha:first zeta:last]\n")),
    ];
}
