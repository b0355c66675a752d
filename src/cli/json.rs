//! JSON as Podman prints it for `search`, `manifest inspect` and the
//! other commands whose Go code indents with four spaces.

use serde::Serialize;

/// `value` as pretty JSON indented by four spaces, without a final newline.
pub fn to_string_4<T: Serialize>(value: &T) -> String {
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    // Serialising plain values built by the CLI cannot fail.
    if value.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// Whether a `--format` asks for JSON: `json` or `{{json .}}`.
pub fn is_json_format(format: &str) -> bool {
    let squeezed: String = format.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed == "json" || squeezed == "{{json.}}"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_space_indent_and_json_formats() {
        let v = serde_json::json!({"a": [1]});
        assert_eq!(to_string_4(&v), "{\n    \"a\": [\n        1\n    ]\n}");
        assert!(is_json_format("json"));
        assert!(is_json_format("{{ json . }}"));
        assert!(!is_json_format("{{json .Name}}"));
    }
}
