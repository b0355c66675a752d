//! `--label`, `--label-file` and `--annotation` of `run` and `create`:
//! parsed before anything is pulled, merged over the image's labels as
//! Podman does, and stored in the container's spec for `inspect` and
//! `ps --filter label=`.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// Why the labels or annotations cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `--label-file` that cannot be read.
    #[error("reading --label-file {path}")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A label with an empty key (`=v`).
    #[error("invalid label format: {0:?}")]
    Format(String),
    /// A `--label-file` key with white space in it, as Podman refuses it.
    #[error("name {0:?} has white spaces, poorly formatted name")]
    Whitespace(String),
    /// An `--annotation` without `=` or with an empty key.
    #[error("annotations must be formatted KEY=VALUE: {0:?}")]
    Annotation(String),
}

/// A container's own labels and annotations, as the user gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// `--label-file` lines, then `-l` (later wins).
    pub labels: BTreeMap<String, String>,
    /// `--annotation` (later wins).
    pub annotations: BTreeMap<String, String>,
}

/// Parses the label files (read in order), then `labels` (`KEY=VALUE`, or
/// `KEY` for an empty value) and `annotations` (`KEY=VALUE`); later
/// entries win. A file line without `=` takes the value of that host
/// variable, and is skipped when it is unset, as Podman reads them.
pub fn parse(
    label_files: &[PathBuf],
    labels: &[String],
    annotations: &[String],
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Metadata, Error> {
    let mut out = Metadata::default();
    for path in label_files {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
            path: path.clone(),
            source,
        })?;
        read_file_lines(&text, &mut out.labels, host_env)?;
    }
    for l in labels {
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        if k.is_empty() {
            return Err(Error::Format(l.clone()));
        }
        out.labels.insert(k.to_string(), v.to_string());
    }
    for a in annotations {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                out.annotations.insert(k.to_string(), v.to_string());
            }
            _ => return Err(Error::Annotation(a.clone())),
        }
    }
    Ok(out)
}

/// Adds a label file's `KEY=VALUE` lines to `labels`: leading white
/// space is dropped, blank lines and `#` comments skipped.
fn read_file_lines(
    text: &str,
    labels: &mut BTreeMap<String, String>,
    host_env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Error> {
    for line in text.lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (line, None),
        };
        if key.is_empty() {
            return Err(Error::Format(line.to_string()));
        }
        if key.contains(char::is_whitespace) {
            return Err(Error::Whitespace(key.to_string()));
        }
        if let Some(v) = value.or_else(|| host_env(key)) {
            labels.insert(key.to_string(), v);
        }
    }
    Ok(())
}

/// The container's labels: the image's, with its own over them.
pub fn merge(
    image: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut out = image.clone();
    out.extend(own.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

/// Whether `labels` pass every `--filter label=` value (see
/// `matches_one`), as Podman ANDs them.
pub fn matches_all(filters: &[String], labels: &BTreeMap<String, String>) -> bool {
    filters.iter().all(|f| matches_one(f, labels))
}

/// Whether `labels` pass one `--filter label=` value: `KEY`, or
/// `KEY=VALUE` (an empty VALUE matches any); a KEY with a `*` matches
/// every label key containing what it matches (Podman's
/// `MatchLabelFilters`, whose pattern is `*KEY*`).
pub fn matches_one(filter: &str, labels: &BTreeMap<String, String>) -> bool {
    let (key, want) = filter.split_once('=').unwrap_or((filter, ""));
    let is_pattern = key.contains('*');
    let pattern = format!("*{key}*");
    labels.iter().any(|(k, have)| {
        let is_key = k == key || (is_pattern && super::images::glob(&pattern, k));
        is_key && (want.is_empty() || have == want)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn map(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn labels_take_files_then_flags_and_annotations_need_a_value() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("labels");
        std::fs::write(
            &file,
            "# comment\n\nf1=a\nunset\nfrom_host\nshared=file\n  sp= x y \n",
        )
        .unwrap();
        let host = |k: &str| (k == "from_host").then(|| "h".to_string());
        let got = parse(
            &[file],
            &strings(&["f1=flag", "bare", "c=x=y"]),
            &strings(&["a=1", "a=2", "b="]),
            &host,
        )
        .unwrap();
        assert_eq!(
            got.labels,
            map(&[
                ("f1", "flag"),
                ("from_host", "h"),
                ("shared", "file"),
                ("sp", " x y "),
                ("bare", ""),
                ("c", "x=y"),
            ])
        );
        assert_eq!(got.annotations, map(&[("a", "2"), ("b", "")]));
    }

    #[test]
    fn bad_labels_and_annotations_are_refused() {
        let none: &[PathBuf] = &[];
        assert!(matches!(
            parse(none, &strings(&["=v"]), &[], &no_env),
            Err(Error::Format(l)) if l == "=v"
        ));
        for bad in ["x", "=y"] {
            assert!(matches!(
                parse(none, &[], &strings(&[bad]), &no_env),
                Err(Error::Annotation(_))
            ));
        }
        let mut labels = BTreeMap::new();
        assert!(matches!(
            read_file_lines("a b=1\n", &mut labels, &no_env),
            Err(Error::Whitespace(k)) if k == "a b"
        ));
        let missing = [PathBuf::from("/nonexistent/labels")];
        assert!(matches!(
            parse(&missing, &[], &[], &no_env),
            Err(Error::ReadFile { .. })
        ));
    }

    #[test]
    fn own_labels_override_the_images() {
        let image = map(&[("img", "1"), ("shared", "image")]);
        let own = map(&[("shared", "ctr"), ("c", "1")]);
        assert_eq!(
            merge(&image, &own),
            map(&[("c", "1"), ("img", "1"), ("shared", "ctr")])
        );
    }

    #[test]
    fn label_filters_are_anded_and_an_empty_value_matches_any() {
        let labels = map(&[("a", "1"), ("b", "")]);
        let yes = |f: &[&str]| matches_all(&strings(f), &labels);
        assert!(yes(&[]));
        assert!(yes(&["a"]));
        assert!(yes(&["a="]));
        assert!(yes(&["a=1", "b"]));
        assert!(!yes(&["a=2"]));
        assert!(!yes(&["a", "zz"]));
        assert!(!yes(&["a=1", "a=2"]));
        assert!(!yes(&["a=*"]));
    }
}
