//! Giving memory back to the kernel: malloc_trim(3) and dropping the
//! resident pages of clean read-only file mappings (madvise(2)).

use std::io;
use std::path::Path;

/// One line of /proc/PID/maps (proc(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address.
    pub start: usize,
    /// One past the last address.
    pub end: usize,
    /// The permission field, such as `r-xp`.
    pub perms: String,
    /// The inode of the mapped file; 0 for anonymous memory.
    pub inode: u64,
    /// The mapped file, or a pseudo name such as `[heap]`; empty when anonymous.
    pub path: String,
    /// Its `Anonymous:` size in kB from smaps (copy-on-write copies of the
    /// file's pages, such as relocated RELRO data); `None` from maps.
    pub anonymous_kb: Option<u64>,
}

impl Mapping {
    /// Whether this is a private, read-only file mapping none of whose
    /// pages was ever copied on write (smaps says `Anonymous: 0 kB`): its
    /// pages are all the file's, so dropping them loses nothing. RELRO
    /// data, written by the dynamic loader before it was made read-only,
    /// has anonymous pages and is never clean.
    pub fn is_clean_read_only_file(&self) -> bool {
        let p = self.perms.as_bytes();
        p.len() == 4
            && p[0] == b'r'
            && p[1] == b'-'
            && p[3] == b'p'
            && self.inode != 0
            && self.path.starts_with('/')
            && self.anonymous_kb == Some(0)
    }
}

/// Parses the text of /proc/PID/smaps (or maps): each mapping's header
/// line with its `Anonymous:` size; malformed lines are skipped.
pub fn parse_smaps(text: &str) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("Anonymous:") {
            if let Some(m) = out.last_mut() {
                m.anonymous_kb = rest.trim().trim_end_matches("kB").trim().parse().ok();
            }
        } else if let Some(m) = parse_maps_line(line) {
            out.push(m);
        }
    }
    out
}

fn parse_maps_line(line: &str) -> Option<Mapping> {
    // address perms offset dev inode [path]; the path may contain spaces.
    let mut fields = line.splitn(6, ' ');
    let (start, end) = fields.next()?.split_once('-')?;
    let perms = fields.next()?.to_string();
    let _offset = fields.next()?;
    let _dev = fields.next()?;
    let inode = fields.next()?.parse().ok()?;
    let path = fields.next().unwrap_or("").trim_start().to_string();
    Some(Mapping {
        start: usize::from_str_radix(start, 16).ok()?,
        end: usize::from_str_radix(end, 16).ok()?,
        perms,
        inode,
        path,
        anonymous_kb: None,
    })
}

/// Returns freed heap memory to the kernel (glibc `malloc_trim(0)`);
/// whether any was released.
pub fn trim_heap() -> bool {
    // SAFETY: malloc_trim only walks and shrinks glibc's own arenas under
    // their locks; it touches no memory the program holds.
    unsafe { libc::malloc_trim(0) != 0 }
}

/// Drops this process's resident pages of every clean read-only private
/// mapping of `file` (its name in /proc/self/maps): program text and
/// constants, never writable or RELRO data. Returns how many bytes of
/// mappings were advised; the pages fault back in from the file on use.
pub fn drop_clean_file_pages(file: &Path) -> io::Result<usize> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let ranges: Vec<(usize, usize)> = parse_smaps(&smaps)
        .into_iter()
        .filter(|m| m.is_clean_read_only_file() && Path::new(&m.path) == file)
        .map(|m| (m.start, m.end - m.start))
        .collect();
    drop(smaps);
    // Nothing but these calls between here and the return: every page of
    // code run after the first call faults back in.
    let mut advised = 0;
    for &(start, len) in &ranges {
        // SAFETY: the range is exactly one mapping that /proc/self/smaps,
        // read just now in this process, shows as private, read-only,
        // file-backed and without a single copied-on-write page: every
        // resident page is an unmodified page of the file, and
        // MADV_DONTNEED only unmaps them; the next access faults the same
        // bytes back in. Nothing can remap or write it meanwhile: it is
        // read-only and the callers are single-threaded.
        let ret = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
        if ret != 0 {
            return Err(io::Error::last_os_error());
        }
        advised += len;
    }
    Ok(advised)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0c8a00000-55d0c8b00000 r--p 00000000 08:01 1234 /usr/bin/hutch
55d0c8b00000-55d0c9000000 r-xp 00100000 08:01 1234 /usr/bin/hutch
55d0c9000000-55d0c9100000 r--p 00600000 08:01 1234 /usr/bin/hutch
55d0c9100000-55d0c9101000 rw-p 00700000 08:01 1234 /usr/bin/hutch
55d0ca000000-55d0ca021000 rw-p 00000000 00:00 0                          [heap]
7f0000000000-7f0000001000 r-xp 00000000 08:01 99   /tmp/a file with spaces
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
garbage
";

    #[test]
    fn map_lines_give_ranges_perms_inodes_and_paths() {
        let maps = parse_smaps(MAPS);
        assert_eq!(maps.len(), 7);
        assert_eq!(maps[1].start, 0x55d0c8b00000);
        assert_eq!(maps[1].end, 0x55d0c9000000);
        assert_eq!(maps[1].perms, "r-xp");
        assert_eq!(maps[1].inode, 1234);
        assert_eq!(maps[1].path, "/usr/bin/hutch");
        assert_eq!(maps[4].path, "[heap]");
        assert_eq!(maps[5].path, "/tmp/a file with spaces");
    }

    #[test]
    fn smaps_gives_anonymous_sizes_and_only_untouched_mappings_are_clean() {
        let smaps = "\
55d0c8a00000-55d0c8b00000 r--p 00000000 08:01 1234 /usr/bin/hutch
Size:               1024 kB
Anonymous:             0 kB
55d0c8b00000-55d0c9000000 r-xp 00100000 08:01 1234 /usr/bin/hutch
Anonymous:             0 kB
VmFlags: rd ex mr mw me
55d0c9000000-55d0c9100000 r--p 00600000 08:01 1234 /usr/bin/hutch
Anonymous:           140 kB
55d0c9100000-55d0c9101000 rw-p 00700000 08:01 1234 /usr/bin/hutch
Anonymous:             4 kB
55d0ca000000-55d0ca021000 rw-p 00000000 00:00 0                          [heap]
Anonymous:           132 kB
";
        let maps = parse_smaps(smaps);
        assert_eq!(maps.len(), 5);
        let anon: Vec<Option<u64>> = maps.iter().map(|m| m.anonymous_kb).collect();
        assert_eq!(anon, [Some(0), Some(0), Some(140), Some(4), Some(132)]);
        let clean: Vec<&str> = maps
            .iter()
            .filter(|m| m.is_clean_read_only_file())
            .map(|m| m.perms.as_str())
            .collect();
        // Constants and text; not RELRO (copied on write), data or heap.
        assert_eq!(clean, ["r--p", "r-xp"]);
        // Without smaps nothing is known to be clean.
        assert!(!parse_smaps(MAPS)
            .iter()
            .any(Mapping::is_clean_read_only_file));
    }
}
