//! Replacing this process's command line, the argv that
//! `/proc/PID/cmdline` and `ps` show, without exec.
//!
//! The kernel reads the command line from the memory between the `mm`'s
//! `arg_start` and `arg_end`. `prctl(PR_SET_MM, PR_SET_MM_MAP)` points
//! them at new memory and, unlike the single-field `PR_SET_MM_ARG_*`
//! options, needs no capability in the initial user namespace
//! (prctl(2), kernel/sys.c `prctl_set_mm_map`); it exists when the kernel
//! has `CONFIG_CHECKPOINT_RESTORE`. Without it the old area is
//! overwritten in place, cut to its length.

use std::io;

/// `struct prctl_mm_map` of `<linux/prctl.h>`.
#[repr(C)]
struct PrctlMmMap {
    start_code: u64,
    end_code: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    brk: u64,
    start_stack: u64,
    arg_start: u64,
    arg_end: u64,
    env_start: u64,
    env_end: u64,
    auxv: *mut u64,
    auxv_size: u32,
    exe_fd: u32,
}

/// The memory layout `PR_SET_MM_MAP` must be given back unchanged, as
/// `/proc/self/stat` shows it (proc(5), fields 26–28 and 45–51).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MmLayout {
    start_code: u64,
    end_code: u64,
    start_stack: u64,
    start_data: u64,
    end_data: u64,
    start_brk: u64,
    arg_start: u64,
    arg_end: u64,
    env_start: u64,
    env_end: u64,
}

/// Reads the layout from the text of `/proc/self/stat`.
fn parse_layout(stat: &str) -> Option<MmLayout> {
    // The command name (field 2) may hold spaces and parentheses: the
    // last `)` ends it, and field 3 is the first word after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let words: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| -> Option<u64> { words.get(n.checked_sub(3)?)?.parse().ok() };
    Some(MmLayout {
        start_code: field(26)?,
        end_code: field(27)?,
        start_stack: field(28)?,
        start_data: field(45)?,
        end_data: field(46)?,
        start_brk: field(47)?,
        arg_start: field(48)?,
        arg_end: field(49)?,
        env_start: field(50)?,
        env_end: field(51)?,
    })
}

/// `args` as the kernel keeps argv: each one followed by a NUL.
fn encode(args: &[&str]) -> Vec<u8> {
    let mut buf = Vec::new();
    for a in args {
        buf.extend_from_slice(a.as_bytes());
        buf.push(0);
    }
    buf
}

/// `new` fitted into an area of `len` bytes: cut so that a NUL still
/// ends it, the rest zeroed.
fn fit(new: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let n = new.len().min(len.saturating_sub(1));
    out[..n].copy_from_slice(&new[..n]);
    out
}

/// Makes `args` this process's command line. `proc` is the procfs of
/// the process's own pid namespace. Allocates, so call it from a process
/// that may (not between fork and exec of a multi-threaded one).
pub fn set_cmdline(args: &[&str], proc: &std::path::Path) -> io::Result<()> {
    let stat = std::fs::read_to_string(proc.join("self/stat"))?;
    let layout = parse_layout(&stat).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "no memory layout in /proc/self/stat",
        )
    })?;
    // Leaked: the kernel reads the command line from it for as long as
    // the process lives.
    let new: &'static [u8] = Box::leak(encode(args).into_boxed_slice());
    // No allocation from here to the prctl: it would move the break.
    // SAFETY: brk(0) changes nothing and returns the current break.
    let brk = unsafe { libc::syscall(libc::SYS_brk, 0) } as u64;
    let map = PrctlMmMap {
        start_code: layout.start_code,
        end_code: layout.end_code,
        start_data: layout.start_data,
        end_data: layout.end_data,
        start_brk: layout.start_brk,
        brk,
        start_stack: layout.start_stack,
        arg_start: new.as_ptr() as u64,
        arg_end: new.as_ptr() as u64 + new.len() as u64,
        env_start: layout.env_start,
        env_end: layout.env_end,
        auxv: std::ptr::null_mut(),
        auxv_size: 0,
        // u32::MAX (-1): keep /proc/PID/exe.
        exe_fd: u32::MAX,
    };
    // SAFETY: the kernel reads exactly size_of::<PrctlMmMap>() bytes of
    // `map`, a live `#[repr(C)]` copy of `struct prctl_mm_map`; every
    // address in it is the kernel's own value read above or the current
    // break, except the argument area, which now is `new`, leaked so that
    // it stays valid for the life of the process. No auxv is passed.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_MM,
            libc::PR_SET_MM_MAP as libc::c_ulong,
            &map as *const PrctlMmMap as libc::c_ulong,
            std::mem::size_of::<PrctlMmMap>() as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    overwrite_in_place(&layout, new)
}

/// The fallback: writes `new` over the original argument area, cut to
/// its length.
fn overwrite_in_place(layout: &MmLayout, new: &[u8]) -> io::Result<()> {
    let len = layout
        .arg_end
        .checked_sub(layout.arg_start)
        .filter(|n| *n > 0)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no argument area"))?;
    let bytes = fit(new, len as usize);
    // SAFETY: arg_start..arg_end is this process's own argument area, on
    // the stack the kernel mapped writable when the binary was exec'd; it
    // stays mapped for the life of the process. No Rust reference points
    // into it (std reads it only in `env::args`, through raw pointers),
    // and this process is single-threaded here, so nothing reads it while
    // it changes.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), layout.arg_start as *mut u8, bytes.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layout_is_read_after_the_last_parenthesis() {
        // proc(5) fields 1..=52; field N holds N * 10 from field 4 on.
        let mut fields: Vec<String> = vec!["42".into(), "(a) b (c)".into(), "S".into()];
        fields.extend((4..=52).map(|n| (n * 10).to_string()));
        let l = parse_layout(&fields.join(" ")).unwrap();
        assert_eq!((l.start_code, l.end_code, l.start_stack), (260, 270, 280));
        assert_eq!((l.start_data, l.end_data, l.start_brk), (450, 460, 470));
        assert_eq!((l.arg_start, l.arg_end), (480, 490));
        assert_eq!((l.env_start, l.env_end), (500, 510));
        assert_eq!(parse_layout("42 (x) S 1 2"), None);
        assert_eq!(parse_layout("no parenthesis"), None);
    }

    #[test]
    fn args_are_nul_terminated_and_cut_to_fit() {
        let new = encode(&["/run/hutch-init", "--", "sleep", "9"]);
        assert_eq!(new, b"/run/hutch-init\0--\0sleep\x009\0");
        assert_eq!(fit(&new, 40).len(), 40);
        assert_eq!(&fit(&new, 40)[..new.len()], &new[..]);
        assert!(fit(&new, 40)[new.len()..].iter().all(|b| *b == 0));
        assert_eq!(fit(&new, 8), b"/run/hu\0");
    }

    #[test]
    fn the_kernel_struct_has_its_size() {
        assert_eq!(std::mem::size_of::<PrctlMmMap>(), 104);
    }
}
