//! Parsing /etc/subuid and /etc/subgid (subuid(5)).

/// One `name:start:count` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// A user name or a numeric uid.
    pub owner: String,
    /// First subordinate id.
    pub start: u32,
    /// Number of ids.
    pub count: u32,
}

/// Parses the file's text; malformed lines and comments are ignored.
pub fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut parts = line.split(':');
            let owner = parts.next()?.to_string();
            let start = parts.next()?.trim().parse().ok()?;
            let count: u32 = parts.next()?.trim().parse().ok()?;
            if parts.next().is_some() || owner.is_empty() || count == 0 {
                return None;
            }
            Some(Entry {
                owner,
                start,
                count,
            })
        })
        .collect()
}

/// The `(start, count)` ranges that belong to the user, by name or uid.
pub fn ranges_for(entries: &[Entry], name: Option<&str>, uid: u32) -> Vec<(u32, u32)> {
    let uid = uid.to_string();
    entries
        .iter()
        .filter(|e| Some(e.owner.as_str()) == name || e.owner == uid)
        .map(|e| (e.start, e.count))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_skips_comments_and_malformed_lines() {
        let e = parse("# c\nalice:100000:65536\nbad\nbob:x:1\n1001:200000:10\ncarol:5:0\n");
        assert_eq!(
            e,
            vec![
                Entry {
                    owner: "alice".into(),
                    start: 100000,
                    count: 65536
                },
                Entry {
                    owner: "1001".into(),
                    start: 200000,
                    count: 10
                },
            ]
        );
    }

    #[test]
    fn ranges_match_name_or_uid() {
        let e = parse("alice:100000:65536\n1001:200000:10\nbob:300000:5\n");
        assert_eq!(
            ranges_for(&e, Some("alice"), 1001),
            vec![(100000, 65536), (200000, 10)]
        );
        assert_eq!(ranges_for(&e, Some("zed"), 7), vec![]);
    }
}
