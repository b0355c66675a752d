//! Giving memory back to the kernel: malloc_trim(3) and dropping the
//! resident pages of read-only executable file mappings (madvise(2)).

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
}

impl Mapping {
    /// Whether this is private, read-only, executable and backed by a file:
    /// its pages can only ever hold the file's bytes, so dropping them
    /// loses nothing (they fault back in from the file).
    pub fn is_file_text(&self) -> bool {
        self.perms == "r-xp" && self.inode != 0 && self.path.starts_with('/')
    }
}

/// Parses the text of /proc/PID/maps; malformed lines are skipped.
pub fn parse_maps(text: &str) -> Vec<Mapping> {
    text.lines().filter_map(parse_maps_line).collect()
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
    })
}

/// Returns freed heap memory to the kernel (glibc `malloc_trim(0)`);
/// whether any was released.
pub fn trim_heap() -> bool {
    // SAFETY: malloc_trim only walks and shrinks glibc's own arenas under
    // their locks; it touches no memory the program holds.
    unsafe { libc::malloc_trim(0) != 0 }
}

/// Drops this process's resident pages of every private read-only
/// executable mapping of `file` (as /proc/self/maps names it); returns
/// how many bytes of mappings were advised. They fault back in on use.
pub fn drop_text_pages(file: &Path) -> io::Result<usize> {
    let maps = std::fs::read_to_string("/proc/self/maps")?;
    let mut advised = 0;
    for m in parse_maps(&maps) {
        if !m.is_file_text() || Path::new(&m.path) != file {
            continue;
        }
        let len = m.end - m.start;
        // SAFETY: the range is exactly one mapping that /proc/self/maps,
        // read just now in this process, shows as private, read-only,
        // executable and file-backed. Nothing can have written to it, so
        // MADV_DONTNEED only unmaps clean copies of the file's pages,
        // which the next access faults back in unchanged. No other thread
        // can remap it meanwhile: the callers are single-threaded.
        let ret = unsafe { libc::madvise(m.start as *mut libc::c_void, len, libc::MADV_DONTNEED) };
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
    fn parse_maps_reads_ranges_perms_inodes_and_paths() {
        let maps = parse_maps(MAPS);
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
    fn only_private_read_only_executable_file_mappings_are_text() {
        let text: Vec<String> = parse_maps(MAPS)
            .into_iter()
            .filter(Mapping::is_file_text)
            .map(|m| format!("{:x} {}", m.start, m.path))
            .collect();
        assert_eq!(
            text,
            [
                "55d0c8b00000 /usr/bin/hutch",
                "7f0000000000 /tmp/a file with spaces"
            ]
        );
    }
}
