//! The values a template works on: JSON turned into the kinds Go's
//! templates see (nil, bool, int, uint, float, string, slice, and an object
//! that is either a struct or a map).

use std::collections::BTreeMap;
use std::rc::Rc;

use serde_json::Value;

/// A value during execution.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Val {
    /// JSON null, a missing map key, a nil interface.
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(Rc<str>),
    List(Rc<Vec<Val>>),
    Obj(Rc<Obj>),
}

/// A JSON object: a Go struct (an unknown field is an error) or a Go map
/// (a missing key is `<no value>`).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Obj {
    pub fields: BTreeMap<String, Val>,
    pub is_struct: bool,
}

impl Val {
    /// A string value.
    pub fn str(s: &str) -> Val {
        Val::Str(Rc::from(s))
    }

    /// A list of strings.
    pub fn strings<S: AsRef<str>>(items: impl IntoIterator<Item = S>) -> Val {
        Val::List(Rc::new(
            items.into_iter().map(|s| Val::str(s.as_ref())).collect(),
        ))
    }

    /// Converts JSON; a top object is a struct when `is_struct`, nested
    /// objects are structs when [`looks_like_struct`] says so.
    pub fn from_json(v: &Value, is_struct: bool) -> Val {
        match v {
            Value::Null => Val::Nil,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Val::Int(i)
                } else if let Some(u) = n.as_u64() {
                    Val::Uint(u)
                } else {
                    Val::Float(n.as_f64().unwrap_or(0.0))
                }
            }
            Value::String(s) => Val::str(s),
            Value::Array(items) => Val::List(Rc::new(
                items.iter().map(|i| Val::from_json(i, false)).collect(),
            )),
            Value::Object(map) => Val::Obj(Rc::new(Obj {
                is_struct: is_struct || looks_like_struct(map),
                fields: map
                    .iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v, false)))
                    .collect(),
            })),
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a signed integer, if it is an integer that fits.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Val::Int(i) => Some(*i),
            Val::Uint(u) => i64::try_from(*u).ok(),
            _ => None,
        }
    }

    /// The Go type name used in messages and by `%T`.
    pub fn type_name(&self) -> String {
        match self {
            Val::Nil => "<nil>".into(),
            Val::Bool(_) => "bool".into(),
            Val::Int(_) => "int".into(),
            Val::Uint(_) => "uint64".into(),
            Val::Float(_) => "float64".into(),
            Val::Str(_) => "string".into(),
            Val::List(items) if items.iter().all(|i| matches!(i, Val::Str(_))) => "[]string".into(),
            Val::List(_) => "[]interface {}".into(),
            Val::Obj(o) if o.is_struct => "struct".into(),
            Val::Obj(o) if o.fields.values().all(|v| matches!(v, Val::Str(_))) => {
                "map[string]string".into()
            }
            Val::Obj(_) => "map[string]interface {}".into(),
        }
    }

    /// Go's `isTrue`: empty and zero values are false, structs are true.
    pub fn is_true(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Uint(u) => *u != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::List(l) => !l.is_empty(),
            Val::Obj(o) => o.is_struct || !o.fields.is_empty(),
        }
    }
}

/// Whether a nested JSON object stands for a Go struct rather than a map:
/// its keys all look like exported Go field names (`Status`, `GraphRoot`),
/// which label keys and port keys (`com.example.x`, `80/tcp`) do not.
pub(super) fn looks_like_struct(map: &serde_json::Map<String, Value>) -> bool {
    !map.is_empty()
        && map.keys().all(|k| {
            k.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_structs_or_maps() {
        let v = Val::from_json(
            &json!({"State": {"Status": "up", "Pid": 1}, "Store": {"GraphRoot": "/s"},
                    "Labels": {"a.b": "c", "Upper": "U"}, "Ports": {"80/tcp": 1}}),
            true,
        );
        let Val::Obj(o) = v else {
            panic!("not an object")
        };
        assert!(o.is_struct);
        let kind = |k: &str| match &o.fields[k] {
            Val::Obj(o) => o.is_struct,
            _ => panic!("not an object"),
        };
        assert!(kind("State"));
        assert!(kind("Store"));
        assert!(!kind("Labels"));
        assert!(!kind("Ports"));
    }

    #[test]
    fn truth_and_type_names_follow_go() {
        assert!(!Val::from_json(&json!([]), false).is_true());
        assert!(!Val::from_json(&json!({}), false).is_true());
        assert!(Val::from_json(&json!(0.5), false).is_true());
        assert!(!Val::Nil.is_true());
        assert_eq!(Val::from_json(&json!(["a"]), false).type_name(), "[]string");
        assert_eq!(
            Val::from_json(&json!([1]), false).type_name(),
            "[]interface {}"
        );
        assert_eq!(
            Val::from_json(&json!(u64::MAX), false).type_name(),
            "uint64"
        );
    }
}
