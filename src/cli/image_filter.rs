//! `--filter` for `images` and `image prune`: reference=, dangling=,
//! before=, since=, label=, label!=, until=, parsed into the engine's
//! filters.

use crate::container::images::ImageFilter as Filter;
use crate::error::Error;

/// Parses `KEY=VALUE` filters.
pub fn parse(raw: &[String]) -> Result<Vec<Filter>, Error> {
    parse_at(raw, super::ps::now_nanos())
}

/// `parse`, an `until` duration counted back from `now` (nanoseconds).
fn parse_at(raw: &[String], now: i64) -> Result<Vec<Filter>, Error> {
    let filters = raw
        .iter()
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
                "label!" => match v.split_once('=') {
                    Some((k, v)) => Filter::NotLabel(k.to_string(), Some(v.to_string())),
                    None => Filter::NotLabel(v.to_string(), None),
                },
                "until" => Filter::Until(
                    crate::container::logread::parse_time_arg(v, now).ok_or_else(|| {
                        Error::Usage(format!(
                            "invalid --filter {f:?}: expected an RFC 3339 time, a duration such as 10m, or Unix seconds"
                        ))
                    })?,
                ),
                _ => {
                    return Err(Error::Usage(format!(
                    "unknown --filter key {k:?}: use reference, dangling, before, since, label, label! or until"
                )))
                }
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    check_dangling(&filters)?;
    Ok(filters)
}

/// Refuses `dangling=true` with `dangling=false` (as Podman does; `image
/// prune` without `--all` adds `dangling=true` itself).
pub fn check_dangling(filters: &[Filter]) -> Result<(), Error> {
    let has = |want| filters.contains(&Filter::Dangling(want));
    match has(true) && has(false) {
        true => Err(Error::Usage(
            "specifying \"dangling\" filter more than once with different values is not supported"
                .into(),
        )),
        false => Ok(()),
    }
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

    #[test]
    fn until_and_negated_labels_parse_and_dangling_may_not_contradict() {
        let now = 1_000 * 1_000_000_000;
        let f = parse_at(&["until=10s".into(), "label!=a".into()], now).unwrap();
        assert_eq!(
            f,
            vec![
                Filter::Until(990 * 1_000_000_000),
                Filter::NotLabel("a".into(), None)
            ]
        );
        assert!(parse_at(&["until=soon".into()], now).is_err());
        let both = ["dangling=true".into(), "dangling=false".into()];
        let err = parse_at(&both, now).unwrap_err();
        assert!(err.to_string().contains("more than once"), "{err}");
        assert!(parse_at(&["dangling=true".into(), "dangling=1".into()], now).is_ok());
    }
}
