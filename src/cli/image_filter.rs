//! `--filter` for `images`: reference=, dangling=, before=, since=, label=.

use serde_json::Value;

use crate::error::Error;
use crate::storage::{Digest, ImageRecord};

/// One parsed `--filter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// `reference=PATTERN`, `*` matching any run of characters.
    Reference(String),
    /// `dangling=true|false`: without names or not.
    Dangling(bool),
    /// `before=IMAGE`: added before it.
    Before(String),
    /// `since=IMAGE`: added after it.
    Since(String),
    /// `label=KEY` or `label=KEY=VALUE`.
    Label(String, Option<String>),
}

/// Parses `KEY=VALUE` filters.
pub fn parse(raw: &[String]) -> Result<Vec<Filter>, Error> {
    raw.iter()
        .map(|f| {
            let (k, v) = f.split_once('=').ok_or_else(|| {
                Error::Usage(format!("invalid --filter {f:?}: expected KEY=VALUE"))
            })?;
            Ok(match k {
                "reference" => Filter::Reference(v.to_string()),
                "dangling" => match v {
                    "true" | "1" => Filter::Dangling(true),
                    "false" | "0" => Filter::Dangling(false),
                    _ => {
                        return Err(Error::Usage(format!(
                            "invalid --filter {f:?}: dangling takes true or false"
                        )))
                    }
                },
                "before" => Filter::Before(v.to_string()),
                "since" => Filter::Since(v.to_string()),
                "label" => match v.split_once('=') {
                    Some((k, v)) => Filter::Label(k.to_string(), Some(v.to_string())),
                    None => Filter::Label(v.to_string(), None),
                },
                _ => {
                    return Err(Error::Usage(format!(
                    "unknown --filter key {k:?}: use reference, dangling, before, since or label"
                )))
                }
            })
        })
        .collect()
}

/// The `config.Labels` of an image.
pub fn labels(img: &ImageRecord) -> Value {
    serde_json::from_slice::<Value>(&img.config)
        .ok()
        .map(|c| c["config"]["Labels"].clone())
        .filter(Value::is_object)
        .unwrap_or(Value::Null)
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let mut rest = text;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(at) => rest = &rest[at + p.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Whether a name matches a reference pattern: the full name, the name
/// without its registry, or either without the tag.
fn reference_matches(pattern: &str, name: &str) -> bool {
    let short = name.split_once('/').map_or(name, |(_, rest)| rest);
    let untagged = |n: &str| -> String {
        let slash = n.rfind('/').map_or(0, |i| i + 1);
        match n[slash..].rfind(':') {
            Some(i) => n[..slash + i].to_string(),
            None => n.to_string(),
        }
    };
    [
        name.to_string(),
        short.to_string(),
        untagged(name),
        untagged(short),
    ]
    .iter()
    .any(|c| glob(pattern, c))
}

/// The images (newest first) that pass every filter; `resolve` finds the
/// id of an image named in before=/since=.
pub fn apply(
    filters: &[Filter],
    images: &[ImageRecord],
    resolve: &dyn Fn(&str) -> Option<Digest>,
) -> Result<Vec<ImageRecord>, Error> {
    let position = |name: &str| -> Result<usize, Error> {
        let id = resolve(name)
            .ok_or_else(|| Error::Usage(format!("--filter: image {name:?} not known")))?;
        Ok(images.iter().position(|i| i.id == id).unwrap_or(0))
    };
    let mut out = Vec::new();
    'next: for (pos, img) in images.iter().enumerate() {
        for f in filters {
            let ok = match f {
                Filter::Reference(p) => img.names.iter().any(|n| reference_matches(p, n)),
                Filter::Dangling(want) => img.names.is_empty() == *want,
                // Newest first: older images come later in the list.
                Filter::Before(name) => pos > position(name)?,
                Filter::Since(name) => pos < position(name)?,
                Filter::Label(k, v) => {
                    let l = labels(img);
                    match (l.get(k), v) {
                        (Some(_), None) => true,
                        (Some(got), Some(want)) => got.as_str() == Some(want.as_str()),
                        (None, _) => false,
                    }
                }
            };
            if !ok {
                continue 'next;
            }
        }
        let mut img = img.clone();
        // As Docker does, a reference filter shows only the names it matched.
        for f in filters {
            if let Filter::Reference(p) = f {
                img.names.retain(|n| reference_matches(p, n));
            }
        }
        out.push(img);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_stars() {
        assert!(glob("busy*", "busybox"));
        assert!(glob("*box", "busybox"));
        assert!(glob("b*y*x", "busybox"));
        assert!(!glob("busy", "busybox"));
        assert!(glob("busybox", "busybox"));
    }

    #[test]
    fn references_match_short_and_untagged_names() {
        let n = "127.0.0.1:5000/busybox:latest";
        assert!(reference_matches("busybox", n));
        assert!(reference_matches("busybox:latest", n));
        assert!(reference_matches("127.0.0.1:5000/busybox", n));
        assert!(reference_matches("*box*", n));
        assert!(!reference_matches("alpine", n));
    }

    #[test]
    fn filters_parse_or_explain() {
        let f = parse(&["dangling=true".into(), "label=a=b".into()]).unwrap();
        assert_eq!(
            f,
            vec![
                Filter::Dangling(true),
                Filter::Label("a".into(), Some("b".into()))
            ]
        );
        assert!(parse(&["nope=1".into()]).is_err());
        assert!(parse(&["dangling=maybe".into()]).is_err());
    }
}
