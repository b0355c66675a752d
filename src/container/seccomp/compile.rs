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
    export(&ctx)
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
