//! The subset of Go templates that `--format` takes, as in Podman.
//!
//! Text with `\t` and `\n` escapes, fields `{{.Name}}` or dotted paths
//! `{{.State.Status}}`, the whole object `{{.}}`, `{{json .Path}}`, and a
//! leading `table` that asks for a header row. Values are JSON; rendering is
//! pure so it can be tested without a store.

use serde_json::Value;

/// Go's tabwriter settings Podman uses for tables: minimum cell width and
/// padding after each cell.
const MIN_WIDTH: usize = 12;
const PADDING: usize = 2;

/// What is wrong with a template.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `{{` without `}}`.
    #[error("unclosed action in template {template:?}")]
    Unclosed { template: String },
    /// An action this subset does not know.
    #[error("unsupported action {{{{{action}}}}} in template")]
    BadAction { action: String },
    /// A field the object does not have.
    #[error("unknown field {field:?} in template")]
    UnknownField { field: String },
}

impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        crate::error::Error::Usage(format!("invalid --format: {e}"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A path of keys below the object (empty for `.`).
    Field {
        path: Vec<String>,
        is_json: bool,
    },
}

/// A parsed `--format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Whether it started with `table` (print a header row first).
    pub is_table: bool,
    parts: Vec<Part>,
}

impl Template {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Template, Error> {
        let (is_table, mut rest) = match text.strip_prefix("table") {
            Some(r) if r.is_empty() || r.starts_with(char::is_whitespace) => {
                (true, r.trim_start_matches([' ']))
            }
            _ => (false, text),
        };
        let mut parts = Vec::new();
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(unescape(&rest[..open])));
            }
            let after = &rest[open + 2..];
            let close = after.find("}}").ok_or_else(|| Error::Unclosed {
                template: text.to_string(),
            })?;
            parts.push(parse_action(after[..close].trim())?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(unescape(rest)));
        }
        Ok(Template { is_table, parts })
    }

    /// The field paths the template uses, in order.
    pub fn fields(&self) -> impl Iterator<Item = &[String]> {
        self.parts.iter().filter_map(|p| match p {
            Part::Field { path, .. } => Some(path.as_slice()),
            Part::Text(_) => None,
        })
    }

    /// Checks that every field's first key is one of `keys`.
    pub fn check_fields(&self, keys: &[&str]) -> Result<(), Error> {
        for path in self.fields() {
            if let Some(first) = path.first() {
                if !keys.contains(&first.as_str()) {
                    return Err(Error::UnknownField {
                        field: first.clone(),
                    });
                }
            }
        }
        Ok(())
    }

    /// The header row: the template with each field replaced by `name(path)`.
    pub fn header(&self, name: &dyn Fn(&[String]) -> String) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Field { path, .. } => name(path),
            })
            .collect()
    }

    /// Renders the template for every object, one line each; a `table`
    /// template gets the header row `name` makes and aligned columns.
    pub fn render_all(
        &self,
        values: &[Value],
        name: &dyn Fn(&[String]) -> String,
    ) -> Result<String, Error> {
        let mut lines = Vec::with_capacity(values.len() + 1);
        if self.is_table {
            lines.push(self.header(name));
        }
        for v in values {
            lines.push(self.render(v)?);
        }
        if self.is_table {
            return Ok(align(&lines));
        }
        Ok(lines.iter().map(|l| format!("{l}\n")).collect())
    }

    /// Renders the template for one object.
    pub fn render(&self, value: &Value) -> Result<String, Error> {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Text(t) => out.push_str(t),
                Part::Field { path, is_json } => {
                    let v = lookup(value, path)?;
                    if *is_json {
                        out.push_str(&serde_json::to_string(v).unwrap_or_default());
                    } else {
                        write_value(&mut out, v);
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Replaces the `\t` and `\n` escapes users type in shell-quoted templates.
fn unescape(text: &str) -> String {
    text.replace("\\t", "\t").replace("\\n", "\n")
}

fn parse_action(action: &str) -> Result<Part, Error> {
    let bad = || Error::BadAction {
        action: action.to_string(),
    };
    let (is_json, expr) = match action.strip_prefix("json") {
        Some(r) if r.starts_with(char::is_whitespace) => (true, r.trim()),
        _ => (false, action),
    };
    let path = expr.strip_prefix('.').ok_or_else(bad)?;
    if path.is_empty() {
        return Ok(Part::Field {
            path: Vec::new(),
            is_json,
        });
    }
    let path: Vec<String> = path.split('.').map(String::from).collect();
    let is_name = |k: &String| {
        k.chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_alphanumeric() || c == '_')
    };
    if !path.iter().all(is_name) {
        return Err(bad());
    }
    Ok(Part::Field { path, is_json })
}

/// Follows `path` into `value`. An unknown key of an object is an error; a
/// key below `null` is `null`, as Go renders a field of a nil value.
fn lookup<'a>(value: &'a Value, path: &[String]) -> Result<&'a Value, Error> {
    let mut cur = value;
    for (i, key) in path.iter().enumerate() {
        cur = match cur {
            Value::Null => return Ok(&Value::Null),
            Value::Object(map) => map.get(key).ok_or_else(|| Error::UnknownField {
                field: path[..=i].join("."),
            })?,
            _ => {
                return Err(Error::UnknownField {
                    field: path[..=i].join("."),
                })
            }
        };
    }
    Ok(cur)
}

/// Writes a value as Go's `fmt` prints it: arrays as `[a b]`, objects as
/// `map[k:v]`, null as `<no value>`.
fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<no value>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push_str("map[");
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, item);
            }
            out.push(']');
        }
    }
}

/// Aligns tab-separated cells into columns as Podman's tables do: each
/// cell but a line's last is padded to its column's widest cell plus two
/// spaces, and to at least twelve characters.
pub fn align(lines: &[String]) -> String {
    let rows: Vec<Vec<&str>> = lines.iter().map(|l| l.split('\t').collect()).collect();
    let mut widths: Vec<usize> = Vec::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            let w = cell.chars().count();
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(w);
        }
    }
    let mut out = String::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                let width = (widths[i] + PADDING).max(MIN_WIDTH);
                let pad = width - cell.chars().count();
                out.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj() -> Value {
        json!({
            "ID": "0123456789ab",
            "Names": "web",
            "ExitCode": 137,
            "Running": false,
            "Ports": [],
            "State": { "Status": "exited", "Pid": 0 },
            "Env": ["A=1", "B=2"],
            "Config": null,
        })
    }

    fn render(t: &str) -> Result<String, Error> {
        Template::parse(t)?.render(&obj())
    }

    #[test]
    fn render_substitutes_fields_and_escapes() {
        assert_eq!(
            render("{{.ID}} {{ .Names }}\\t{{.ExitCode}}\\n").unwrap(),
            "0123456789ab web\t137\n"
        );
        assert_eq!(
            render("{{.State.Status}}/{{.State.Pid}}").unwrap(),
            "exited/0"
        );
        assert_eq!(render("{{.Running}} {{.Ports}}").unwrap(), "false []");
        assert_eq!(render("{{.Env}}").unwrap(), "[A=1 B=2]");
        assert_eq!(render("{{.State}}").unwrap(), "map[Pid:0 Status:exited]");
        assert_eq!(render("{{json .Env}}").unwrap(), r#"["A=1","B=2"]"#);
        assert_eq!(render("{{.Config.Cmd}}").unwrap(), "<no value>");
        assert_eq!(render("plain").unwrap(), "plain");
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = render("{{.Nope}}").unwrap_err();
        assert_eq!(e.to_string(), "unknown field \"Nope\" in template");
        let e = render("{{.State.Nope}}").unwrap_err();
        assert_eq!(e.to_string(), "unknown field \"State.Nope\" in template");
        let e = render("{{.Names.First}}").unwrap_err();
        assert!(matches!(e, Error::UnknownField { .. }));
        let t = Template::parse("{{.ID}} {{.Bad}}").unwrap();
        let e = t.check_fields(&["ID"]).unwrap_err();
        assert_eq!(e.to_string(), "unknown field \"Bad\" in template");
        t.check_fields(&["ID", "Bad"]).unwrap();
    }

    #[test]
    fn malformed_templates_are_refused() {
        assert!(matches!(
            Template::parse("{{.ID"),
            Err(Error::Unclosed { .. })
        ));
        for t in ["{{ID}}", "{{.a b}}", "{{range .X}}", "{{.A..B}}"] {
            assert!(
                matches!(Template::parse(t), Err(Error::BadAction { .. })),
                "{t}"
            );
        }
        assert_eq!(
            Template::parse("{{ID}}").unwrap_err().to_string(),
            "unsupported action {{ID}} in template"
        );
    }

    #[test]
    fn table_prefix_asks_for_a_header() {
        let t = Template::parse("table {{.ID}}\\t{{.Names}}").unwrap();
        assert!(t.is_table);
        assert_eq!(t.header(&|p| p.join(".").to_uppercase()), "ID\tNAMES");
        assert_eq!(t.render(&obj()).unwrap(), "0123456789ab\tweb");
        let t = Template::parse("tablet {{.ID}}").unwrap();
        assert!(!t.is_table);
        assert_eq!(
            t.fields().collect::<Vec<_>>(),
            [["ID".to_string()].as_slice()]
        );
    }

    #[test]
    fn align_pads_columns_like_podman() {
        let lines = [
            "CONTAINER ID\tIMAGE\tNAMES".to_string(),
            "0123456789ab\tlocalhost/busybox:latest\tweb".to_string(),
        ];
        assert_eq!(
            align(&lines),
            "CONTAINER ID  IMAGE                     NAMES\n\
             0123456789ab  localhost/busybox:latest  web\n"
        );
        assert_eq!(align(&["a\tb".to_string()]), "a           b\n");
        assert_eq!(align(&["no tabs".to_string()]), "no tabs\n");
    }
}
