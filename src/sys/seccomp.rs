//! Installing a compiled seccomp filter: prctl(PR_SET_SECCOMP,
//! SECCOMP_MODE_FILTER) with a classic BPF program (seccomp(2)).

use std::io;

/// The most instructions the kernel accepts in one program (BPF_MAXINSNS).
const MAX_INSTRUCTIONS: usize = 4096;

/// The size of one `struct sock_filter`: u16 code, u8 jt, u8 jf, u32 k.
const INSTRUCTION_SIZE: usize = 8;

/// A classic BPF program ready to install, built in the parent so that the
/// child only makes the syscall.
pub struct Program(Vec<libc::sock_filter>);

impl Program {
    /// Decodes `bytes` (native-endian `struct sock_filter`s, as libseccomp
    /// exports them); `None` when the length is not a whole, non-empty
    /// program the kernel could take.
    pub fn from_bytes(bytes: &[u8]) -> Option<Program> {
        if bytes.is_empty()
            || bytes.len() % INSTRUCTION_SIZE != 0
            || bytes.len() / INSTRUCTION_SIZE > MAX_INSTRUCTIONS
        {
            return None;
        }
        let insns = bytes
            .chunks_exact(INSTRUCTION_SIZE)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Some(Program(insns))
    }

    /// Encodes the program as `from_bytes` reads it (native-endian
    /// `struct sock_filter`s), to hand it to another process.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * INSTRUCTION_SIZE);
        for insn in &self.0 {
            out.extend_from_slice(&insn.code.to_ne_bytes());
            out.push(insn.jt);
            out.push(insn.jf);
            out.extend_from_slice(&insn.k.to_ne_bytes());
        }
        out
    }

    /// The number of instructions.
    pub fn instruction_count(&self) -> usize {
        self.0.len()
    }
}

/// Installs `program` as a seccomp filter on the calling thread. Needs
/// CAP_SYS_ADMIN in the current user namespace or no_new_privs.
pub fn install_filter(program: &Program) -> io::Result<()> {
    let prog = libc::sock_fprog {
        // `from_bytes` caps the length at BPF_MAXINSNS, which fits in u16.
        len: program.0.len() as libc::c_ushort,
        filter: program.0.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: `prog` points at `program`'s instructions, which outlive the
    // call; the kernel copies the program and does not write through it.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_SECCOMP,
            libc::SECCOMP_MODE_FILTER as libc::c_ulong,
            &prog as *const libc::sock_fprog,
            0,
            0,
        )
    };
    if ret == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_must_be_whole_instructions() {
        assert!(Program::from_bytes(&[]).is_none());
        assert!(Program::from_bytes(&[0; 7]).is_none());
        assert!(Program::from_bytes(&[0; 8 * 4097]).is_none());
        let p = Program::from_bytes(&[0; 16]).unwrap();
        assert_eq!(p.instruction_count(), 2);
    }
}
