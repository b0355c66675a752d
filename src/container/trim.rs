//! Shrinking an idle monitor: after start-up it gives freed heap back to
//! the kernel and drops its resident pages of hutch's own program text and
//! constants, which the idle loop does not need and which fault back in
//! from the binary when it runs again.
//!
//! Only read-only private mappings of the hutch binary without a single
//! copied-on-write page are dropped, never writable or RELRO data: those
//! hold relocations and state that exist nowhere else.

use std::path::Path;

use crate::sys::mem;

/// What trimming released, for `--log-level=debug`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// Whether malloc_trim returned memory.
    pub is_heap_trimmed: bool,
    /// Bytes of clean read-only mappings whose resident pages were dropped.
    pub text_bytes: usize,
}

/// Releases what the monitor no longer needs once the container runs;
/// `exe` is the running binary (`/proc/self/exe`). Best effort: a failure
/// only leaves the memory resident.
pub fn release_idle_memory(exe: &Path) -> Trimmed {
    let is_heap_trimmed = mem::trim_heap();
    let text_bytes = std::fs::read_link(exe)
        .ok()
        .and_then(|file| mem::drop_clean_file_pages(&file).ok())
        .unwrap_or(0);
    Trimmed {
        is_heap_trimmed,
        text_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releasing_the_test_binary_text_keeps_it_running() {
        let t = release_idle_memory(Path::new("/proc/self/exe"));
        assert!(t.text_bytes > 0, "{t:?}");
        // Code after the drop faults its pages back in.
        assert_eq!(format!("{}", 6 * 7), "42");
    }
}
