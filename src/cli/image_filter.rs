//! `--filter` for `images`: reference=, dangling=, before=, since=, label=,
//! parsed into the engine's filters.

use crate::container::images::ImageFilter as Filter;
use crate::error::Error;

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

#[cfg(test)]
mod tests {
    use super::*;

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
