//! Compiling a checked profile to classic BPF with libseccomp, which knows
//! every architecture's syscall numbers and how to check the audit arch.

use std::io::{Read, Seek};
use std::str::FromStr;

use libseccomp::error::SeccompError;
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use thiserror::Error;

use super::profile::{Action, Arg, Op, Profile, Target};

/// A step of compiling that libseccomp refused.
#[derive(Debug, Error)]
pub enum CompileError {
    /// An `SCMP_ARCH_*` name libseccomp does not know.
    #[error("unknown architecture {0:?}")]
    UnknownArch(String),
    /// An errno or trace value out of range.
    #[error("action value {0} is out of range")]
    ActionValue(u32),
    /// Creating the filter or adding an architecture.
    #[error("creating the filter")]
    Context(#[source] SeccompError),
    /// Adding the rule for one syscall.
    #[error("adding the rule for {name}")]
    AddRule {
        name: String,
        #[source]
        source: SeccompError,
    },
    /// Exporting the BPF program.
    #[error("exporting the filter")]
    Export(#[source] SeccompError),
    /// Reading the exported program back.
    #[error("reading the exported filter")]
    ReadBack(#[source] std::io::Error),
}

/// Compiles the rules of `profile` that apply on `target` to BPF
/// instructions (native-endian `struct sock_filter`s). Syscall names
/// unknown here are skipped, as Docker does, so one profile serves kernels
/// and architectures of different ages.
pub fn compile(profile: &Profile, target: &Target) -> Result<Vec<u8>, CompileError> {
    let default = scmp_action(profile.default_action)?;
    let mut ctx = ScmpFilterContext::new(default).map_err(CompileError::Context)?;
    // A binary tree over syscall numbers instead of a linear list: the
    // container pays for the filter on every syscall.
    ctx.set_ctl_optimize(2).map_err(CompileError::Context)?;
    for name in &profile.architectures {
        let arch = ScmpArch::from_str(name).map_err(|_| CompileError::UnknownArch(name.clone()))?;
        let is_present = ctx.is_arch_present(arch).map_err(CompileError::Context)?;
        if !is_present {
            ctx.add_arch(arch).map_err(CompileError::Context)?;
        }
    }
    for rule in profile.rules.iter().filter(|r| r.applies_to(target)) {
        // libseccomp refuses rules that do what the default does anyway.
        if rule.action == profile.default_action {
            continue;
        }
        let action = scmp_action(rule.action)?;
        for name in &rule.names {
            let Ok(syscall) = ScmpSyscall::from_name(name) else {
                continue;
            };
            add_rule(&mut ctx, action, syscall, &rule.args).map_err(|source| {
                CompileError::AddRule {
                    name: name.clone(),
                    source,
                }
            })?;
        }
    }
    let program = export(&ctx)?;
    // Syscalls newer than anything the profile names (and than this
    // libseccomp knows) would get the default errno; libc falls back to
    // older calls only on ENOSYS (fchmodat2, clone3…), so say that, as
    // runc and crun do.
    let newest = profile
        .rules
        .iter()
        .flat_map(|r| &r.names)
        .filter_map(|n| ScmpSyscall::from_name(n).ok())
        .map(|s| s.as_raw_syscall())
        .max();
    match (profile.default_action, newest, native_audit_arch()) {
        (Action::Errno(_), Some(newest), Some(arch)) if newest >= 0 => {
            Ok(prepend_enosys_stub(&program, arch, newest as u32))
        }
        _ => Ok(program),
    }
}

/// `AUDIT_ARCH_*` of the native architecture, where the ENOSYS stub
/// knows how its syscall numbers look.
fn native_audit_arch() -> Option<u32> {
    match std::env::consts::ARCH {
        "x86_64" => Some(0xc000_003e),
        "aarch64" => Some(0xc000_00b7),
        _ => None,
    }
}

/// Bit 30 of a syscall number marks the x32 ABI on x86_64; those numbers
/// are left to libseccomp's program.
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// `SECCOMP_RET_ERRNO | ENOSYS`.
const RET_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;

/// One classic BPF instruction as the kernel reads it.
fn insn(code: u16, jt: u8, jf: u8, k: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..2].copy_from_slice(&code.to_ne_bytes());
    b[2] = jt;
    b[3] = jf;
    b[4..].copy_from_slice(&k.to_ne_bytes());
    b
}

/// Puts in front of `program` a check that fails native syscalls numbered
/// above `newest` with ENOSYS; everything else jumps to `program`, which
/// loads what it needs itself.
fn prepend_enosys_stub(program: &[u8], arch: u32, newest: u32) -> Vec<u8> {
    const LD_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
    const JEQ: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    const JGE: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
    const JGT: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
    const RET: u16 = 0x06; // BPF_RET | BPF_K
                           // struct seccomp_data: nr at offset 0, arch at 4.
    let stub = [
        insn(LD_ABS, 0, 0, 4),
        insn(JEQ, 0, 4, arch),
        insn(LD_ABS, 0, 0, 0),
        insn(JGE, 2, 0, X32_SYSCALL_BIT),
        insn(JGT, 0, 1, newest),
        insn(RET, 0, 0, RET_ENOSYS),
    ];
    let mut out = stub.concat();
    out.extend_from_slice(program);
    out
}

/// Adds one rule; several conditions on the same argument cannot be
/// ANDed by libseccomp, so those become one rule each (any may match), as
/// runc does.
fn add_rule(
    ctx: &mut ScmpFilterContext,
    action: ScmpAction,
    syscall: ScmpSyscall,
    args: &[Arg],
) -> Result<(), SeccompError> {
    let conds: Vec<ScmpArgCompare> = args.iter().map(scmp_compare).collect();
    let is_repeated = args
        .iter()
        .enumerate()
        .any(|(i, a)| args[..i].iter().any(|b| b.index == a.index));
    if conds.is_empty() {
        ctx.add_rule(action, syscall)?;
    } else if is_repeated {
        for cond in conds {
            ctx.add_rule_conditional(action, syscall, &[cond])?;
        }
    } else {
        ctx.add_rule_conditional(action, syscall, &conds)?;
    }
    Ok(())
}

fn scmp_compare(arg: &Arg) -> ScmpArgCompare {
    let op = match arg.op {
        Op::NotEqual => ScmpCompareOp::NotEqual,
        Op::Less => ScmpCompareOp::Less,
        Op::LessOrEqual => ScmpCompareOp::LessOrEqual,
        Op::Equal => ScmpCompareOp::Equal,
        Op::GreaterOrEqual => ScmpCompareOp::GreaterEqual,
        Op::Greater => ScmpCompareOp::Greater,
        Op::MaskedEqual => ScmpCompareOp::MaskedEqual(arg.value),
    };
    let datum = match arg.op {
        Op::MaskedEqual => arg.value_two,
        _ => arg.value,
    };
    ScmpArgCompare::new(arg.index, op, datum)
}

fn scmp_action(action: Action) -> Result<ScmpAction, CompileError> {
    Ok(match action {
        Action::Allow => ScmpAction::Allow,
        Action::Errno(n) => {
            ScmpAction::Errno(i32::try_from(n).map_err(|_| CompileError::ActionValue(n))?)
        }
        Action::KillThread => ScmpAction::KillThread,
        Action::KillProcess => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Log => ScmpAction::Log,
        Action::Trace(n) => {
            ScmpAction::Trace(u16::try_from(n).map_err(|_| CompileError::ActionValue(n))?)
        }
    })
}

/// The filter's BPF, exported through a memfd (libseccomp 2.5 writes only
/// to an fd).
fn export(ctx: &ScmpFilterContext) -> Result<Vec<u8>, CompileError> {
    let fd =
        nix::sys::memfd::memfd_create(c"hutch-seccomp", nix::sys::memfd::MFdFlags::MFD_CLOEXEC)
            .map_err(|e| CompileError::ReadBack(e.into()))?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file).map_err(CompileError::Export)?;
    let mut bytes = Vec::new();
    file.rewind().map_err(CompileError::ReadBack)?;
    file.read_to_end(&mut bytes)
        .map_err(CompileError::ReadBack)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::super::profile::parse_profile;
    use super::*;

    fn target() -> Target {
        Target::native(0, "6.1")
    }

    #[test]
    fn unknown_syscalls_are_skipped() {
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["no_such_call","mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}"#,
            &target().scmp_arch,
        )
        .unwrap();
        let with = compile(&p, &target()).unwrap();
        let p2 =
            parse_profile(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#, &target().scmp_arch).unwrap();
        let without = compile(&p2, &target()).unwrap();
        assert!(with.len() > without.len());
    }

    #[test]
    fn errno_default_gets_an_enosys_stub_for_newer_syscalls() {
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read","openat2"],"action":"SCMP_ACT_ALLOW"}]}"#,
            &target().scmp_arch,
        )
        .unwrap();
        let bytes = compile(&p, &target()).unwrap();
        let Some(arch) = native_audit_arch() else {
            return;
        };
        let openat2 = ScmpSyscall::from_name("openat2").unwrap().as_raw_syscall() as u32;
        assert_eq!(&bytes[..8], &insn(0x20, 0, 0, 4));
        assert_eq!(&bytes[8..16], &insn(0x15, 0, 4, arch));
        assert_eq!(&bytes[32..40], &insn(0x25, 0, 1, openat2));
        assert_eq!(&bytes[40..48], &insn(0x06, 0, 0, 0x0005_0000 | 38));
        // An allowing default needs no stub.
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["openat2"],"action":"SCMP_ACT_ERRNO"}]}"#,
            &target().scmp_arch,
        )
        .unwrap();
        let bytes = compile(&p, &target()).unwrap();
        assert_ne!(&bytes[8..16], &insn(0x15, 0, 4, arch));
    }

    #[test]
    fn unknown_architecture_is_an_error() {
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_VAX"]}"#,
            &target().scmp_arch,
        )
        .unwrap();
        let e = compile(&p, &target()).unwrap_err();
        assert_eq!(e.to_string(), "unknown architecture \"SCMP_ARCH_VAX\"");
    }

    #[test]
    fn repeated_argument_conditions_compile() {
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["personality"],"action":"SCMP_ACT_ALLOW","args":[
                {"index":0,"value":0,"op":"SCMP_CMP_EQ"},{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}"#,
            &target().scmp_arch,
        )
        .unwrap();
        assert!(!compile(&p, &target()).unwrap().is_empty());
    }
}
