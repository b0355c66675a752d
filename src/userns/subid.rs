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

/// The entries of other owners (by name and uid) whose ranges overlap one
/// of `own` (`doctor`: two users sharing subordinate ids can reach each
/// other's files).
pub fn overlaps(entries: &[Entry], name: Option<&str>, uid: u32, own: &[(u32, u32)]) -> Vec<Entry> {
    let uid = uid.to_string();
    let end = |start: u32, count: u32| u64::from(start) + u64::from(count);
    entries
        .iter()
        .filter(|e| Some(e.owner.as_str()) != name && e.owner != uid)
        .filter(|e| {
            own.iter().any(|&(s, c)| {
                u64::from(e.start) < end(s, c) && u64::from(s) < end(e.start, e.count)
            })
        })
        .cloned()
        .collect()
}

/// The first start at or above 100000 (past a taken range, the next
/// multiple of `count`) whose `count` ids no entry holds: a range to
/// suggest to an administrator.
pub fn free_start(entries: &[Entry], count: u32) -> u32 {
    let count = u64::from(count.max(1));
    let mut start = 100_000u64;
    loop {
        let clash = entries.iter().find(|e| {
            let (s, n) = (u64::from(e.start), u64::from(e.count));
            s < start + count && start < s + n
        });
        match clash {
            None => return u32::try_from(start).unwrap_or(u32::MAX),
            Some(e) => {
                let after = u64::from(e.start) + u64::from(e.count);
                start = after.div_ceil(count) * count;
                if start + count > u64::from(u32::MAX) {
                    return u32::MAX;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlaps_name_other_owners_only() {
        let e = parse("alice:100000:65536\nbob:150000:65536\ncarol:300000:10\n1001:100000:5\n");
        let own = ranges_for(&e, Some("alice"), 1001);
        let o = overlaps(&e, Some("alice"), 1001, &own);
        assert_eq!(o.len(), 1);
        assert_eq!(o[0].owner, "bob");
        assert!(overlaps(&e, Some("carol"), 7, &[(300000, 10)]).is_empty());
    }

    #[test]
    fn free_start_skips_taken_ranges() {
        assert_eq!(free_start(&[], 65536), 100000);
        let e = parse("a:100000:65536\nb:165536:65536\n");
        assert_eq!(free_start(&e, 65536), 262144);
    }

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
