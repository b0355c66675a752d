//! The OCI/Docker JSON seccomp profile: parsing it into a checked model and
//! choosing the rules that apply to a container's capabilities, the
//! architecture and the running kernel.

use serde::Deserialize;
use thiserror::Error;

use crate::runtime::security;

/// EPERM, the errno of `SCMP_ACT_ERRNO` without `errnoRet`.
const EPERM: u32 = 1;

/// A profile that cannot be used.
#[derive(Debug, Error)]
pub enum ProfileError {
    /// Not JSON, or not shaped like a profile.
    #[error("invalid JSON")]
    Json(#[source] serde_json::Error),
    /// An action we do not know or cannot carry out.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    /// An argument comparison we do not know.
    #[error("unknown comparison {0:?}")]
    UnknownOp(String),
    /// An argument index past the six a syscall has.
    #[error("argument index {0} is out of range 0-5")]
    ArgIndex(u32),
    /// A syscall rule without a name.
    #[error("a syscall rule has no names")]
    NoNames,
}

/// What a filter does with a syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Let it run.
    Allow,
    /// Fail it with this errno.
    Errno(u32),
    /// Kill the thread.
    KillThread,
    /// Kill the whole process.
    KillProcess,
    /// Send SIGSYS.
    Trap,
    /// Let it run and log it.
    Log,
    /// Hand it to a ptrace tracer with this message.
    Trace(u32),
}

/// How an argument is compared (`SCMP_CMP_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `!=`.
    NotEqual,
    /// `<`.
    Less,
    /// `<=`.
    LessOrEqual,
    /// `==`.
    Equal,
    /// `>=`.
    GreaterOrEqual,
    /// `>`.
    Greater,
    /// `(arg & mask) == datum`, the mask in `value`, the datum in `value_two`.
    MaskedEqual,
}

/// One argument condition of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arg {
    /// Argument number, 0-5.
    pub index: u32,
    /// The value compared against (the mask for `MaskedEqual`).
    pub value: u64,
    /// The datum for `MaskedEqual`.
    pub value_two: u64,
    /// The comparison.
    pub op: Op,
}

/// When a rule applies (`includes`) or does not (`excludes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Condition {
    /// Capabilities (numbers) that must all be present (includes) or any of
    /// which rules the rule out (excludes).
    pub caps: Vec<u32>,
    /// Architectures, as Docker names them (`amd64`, `arm64`…).
    pub arches: Vec<String>,
    /// The oldest kernel (`4.8`) the rule needs.
    pub min_kernel: Option<(u32, u32)>,
}

/// One entry of `syscalls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The syscalls it covers.
    pub names: Vec<String>,
    /// What to do with them.
    pub action: Action,
    /// Conditions on their arguments, all of which must hold.
    pub args: Vec<Arg>,
    /// When the rule applies.
    pub includes: Condition,
    /// When it does not.
    pub excludes: Condition,
}

/// A checked profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// What happens to syscalls no rule matches.
    pub default_action: Action,
    /// Architectures the filter covers (`SCMP_ARCH_*`), the native one added
    /// when compiling.
    pub architectures: Vec<String>,
    /// The rules, in order.
    pub rules: Vec<Rule>,
}

/// Where the filter will run: the facts `includes`/`excludes` test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The container's capabilities (bit N = capability N).
    pub caps: u64,
    /// The native architecture's names (`amd64`, `x86_64`).
    pub arch_names: Vec<String>,
    /// The native architecture's `SCMP_ARCH_*` name.
    pub scmp_arch: String,
    /// The running kernel's major and minor version.
    pub kernel: (u32, u32),
}

impl Target {
    /// The target for a container with `caps` on this host, whose kernel
    /// release (`uname -r`) is `release`.
    pub fn native(caps: u64, release: &str) -> Target {
        let (names, scmp): (&[&str], &str) = match std::env::consts::ARCH {
            "x86_64" => (&["amd64", "x86_64"], "SCMP_ARCH_X86_64"),
            "aarch64" => (&["arm64", "aarch64"], "SCMP_ARCH_AARCH64"),
            "x86" => (&["386", "x86"], "SCMP_ARCH_X86"),
            "arm" => (&["arm"], "SCMP_ARCH_ARM"),
            "riscv64" => (&["riscv64"], "SCMP_ARCH_RISCV64"),
            "s390x" => (&["s390x"], "SCMP_ARCH_S390X"),
            "powerpc64" => (&["ppc64le"], "SCMP_ARCH_PPC64LE"),
            other => (&[], other),
        };
        Target {
            caps,
            arch_names: names.iter().map(|s| s.to_string()).collect(),
            scmp_arch: scmp.to_string(),
            kernel: parse_kernel(release).unwrap_or((0, 0)),
        }
    }
}

/// `major.minor` of a kernel release such as `6.1.0-13-amd64`.
pub fn parse_kernel(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().unwrap_or("0").parse().unwrap_or(0);
    Some((major, minor))
}

// The JSON as written; checked into the model above.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProfile {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u32>,
    #[serde(default)]
    architectures: Vec<String>,
    #[serde(default)]
    arch_map: Vec<RawArchMap>,
    #[serde(default)]
    syscalls: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArchMap {
    architecture: String,
    #[serde(default)]
    sub_architectures: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRule {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u32>,
    #[serde(default)]
    args: Option<Vec<RawArg>>,
    #[serde(default)]
    includes: RawCondition,
    #[serde(default)]
    excludes: RawCondition,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawArg {
    index: u32,
    #[serde(default)]
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawCondition {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

/// Parses and checks the JSON profile `text`, keeping the architectures
/// that apply to `scmp_arch` (the native `SCMP_ARCH_*`).
pub fn parse_profile(text: &str, scmp_arch: &str) -> Result<Profile, ProfileError> {
    let raw: RawProfile = serde_json::from_str(text).map_err(ProfileError::Json)?;
    let default_action = parse_action(&raw.default_action, raw.default_errno_ret)?;
    let mut architectures = raw.architectures;
    for map in &raw.arch_map {
        if map.architecture == scmp_arch {
            architectures.push(map.architecture.clone());
            architectures.extend(map.sub_architectures.iter().cloned());
        }
    }
    let rules = raw
        .syscalls
        .into_iter()
        .map(check_rule)
        .collect::<Result<_, _>>()?;
    Ok(Profile {
        default_action,
        architectures,
        rules,
    })
}

fn check_rule(raw: RawRule) -> Result<Rule, ProfileError> {
    let mut names = raw.names;
    names.extend(raw.name);
    if names.is_empty() {
        return Err(ProfileError::NoNames);
    }
    let args = raw
        .args
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            if a.index > 5 {
                return Err(ProfileError::ArgIndex(a.index));
            }
            Ok(Arg {
                index: a.index,
                value: a.value,
                value_two: a.value_two,
                op: parse_op(&a.op)?,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(Rule {
        names,
        action: parse_action(&raw.action, raw.errno_ret)?,
        args,
        includes: check_condition(raw.includes),
        excludes: check_condition(raw.excludes),
    })
}

/// A condition's capabilities by number; names the kernel table lacks
/// cannot be held, so they are dropped (an include of one never matches).
fn check_condition(raw: RawCondition) -> Condition {
    Condition {
        caps: raw
            .caps
            .iter()
            .map(|c| security::cap_number(c).unwrap_or(u32::MAX))
            .collect(),
        arches: raw.arches,
        min_kernel: raw.min_kernel.as_deref().and_then(parse_kernel),
    }
}

/// An `SCMP_ACT_*` name with its optional errno or trace message.
fn parse_action(name: &str, ret: Option<u32>) -> Result<Action, ProfileError> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(ret.unwrap_or(EPERM)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        "SCMP_ACT_TRACE" => Action::Trace(ret.unwrap_or(EPERM)),
        other => return Err(ProfileError::UnknownAction(other.to_string())),
    })
}

/// An `SCMP_CMP_*` name.
fn parse_op(name: &str) -> Result<Op, ProfileError> {
    Ok(match name {
        "SCMP_CMP_NE" => Op::NotEqual,
        "SCMP_CMP_LT" => Op::Less,
        "SCMP_CMP_LE" => Op::LessOrEqual,
        "SCMP_CMP_EQ" => Op::Equal,
        "SCMP_CMP_GE" => Op::GreaterOrEqual,
        "SCMP_CMP_GT" => Op::Greater,
        "SCMP_CMP_MASKED_EQ" => Op::MaskedEqual,
        other => return Err(ProfileError::UnknownOp(other.to_string())),
    })
}

impl Rule {
    /// Whether the rule applies on `target`: every included capability
    /// held, no excluded one; the architecture listed in `includes` (when
    /// it lists any) and not in `excludes`; the kernel new enough.
    pub fn applies_to(&self, target: &Target) -> bool {
        let has = |cap: &u32| *cap < 64 && target.caps & (1 << cap) != 0;
        let is_native = |a: &String| target.arch_names.contains(a);
        let inc = &self.includes;
        let exc = &self.excludes;
        inc.caps.iter().all(has)
            && (inc.arches.is_empty() || inc.arches.iter().any(is_native))
            && inc.min_kernel.is_none_or(|k| target.kernel >= k)
            && !exc.caps.iter().any(has)
            && !exc.arches.iter().any(is_native)
            && exc.min_kernel.is_none_or(|k| target.kernel < k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(caps: u64) -> Target {
        Target {
            caps,
            arch_names: vec!["amd64".into()],
            scmp_arch: "SCMP_ARCH_X86_64".into(),
            kernel: (6, 1),
        }
    }

    #[test]
    fn actions_parse_with_their_errno() {
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
                {"names":["a"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
                {"names":["b"],"action":"SCMP_ACT_ERRNO"},
                {"name":"c","action":"SCMP_ACT_KILL"},
                {"names":["d"],"action":"SCMP_ACT_KILL_PROCESS"},
                {"names":["e"],"action":"SCMP_ACT_TRAP"},
                {"names":["f"],"action":"SCMP_ACT_LOG"},
                {"names":["g"],"action":"SCMP_ACT_TRACE","errnoRet":7},
                {"names":["h"],"action":"SCMP_ACT_ALLOW"}]}"#,
            "SCMP_ARCH_X86_64",
        )
        .unwrap();
        assert_eq!(p.default_action, Action::Errno(38));
        let actions: Vec<Action> = p.rules.iter().map(|r| r.action).collect();
        assert_eq!(
            actions,
            [
                Action::Errno(13),
                Action::Errno(1),
                Action::KillThread,
                Action::KillProcess,
                Action::Trap,
                Action::Log,
                Action::Trace(7),
                Action::Allow
            ]
        );
        assert_eq!(p.rules[2].names, ["c"]);
    }

    #[test]
    fn ops_parse_and_bad_ones_are_errors() {
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["clone"],
                "action":"SCMP_ACT_ERRNO","args":[
                {"index":0,"value":7,"op":"SCMP_CMP_NE"},
                {"index":1,"value":7,"op":"SCMP_CMP_LT"},
                {"index":2,"value":7,"op":"SCMP_CMP_LE"},
                {"index":3,"value":7,"op":"SCMP_CMP_EQ"},
                {"index":4,"value":7,"op":"SCMP_CMP_GE"},
                {"index":5,"value":7,"op":"SCMP_CMP_GT"},
                {"index":0,"value":255,"valueTwo":3,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
            "SCMP_ARCH_X86_64",
        )
        .unwrap();
        let args = &p.rules[0].args;
        assert_eq!(args.len(), 7);
        assert_eq!(
            args[6],
            Arg {
                index: 0,
                value: 255,
                value_two: 3,
                op: Op::MaskedEqual
            }
        );
        for (bad, want) in [
            (
                r#"{"defaultAction":"SCMP_ACT_NOPE"}"#,
                "unknown action \"SCMP_ACT_NOPE\"",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"op":"SCMP_CMP_SIMILAR"}]}]}"#,
                "unknown comparison \"SCMP_CMP_SIMILAR\"",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["x"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"op":"SCMP_CMP_EQ"}]}]}"#,
                "argument index 6 is out of range 0-5",
            ),
            (
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"action":"SCMP_ACT_ERRNO"}]}"#,
                "a syscall rule has no names",
            ),
            (r#"{"defaultAction": "#, "invalid JSON"),
        ] {
            let e = parse_profile(bad, "SCMP_ARCH_X86_64").unwrap_err();
            assert_eq!(e.to_string(), want, "{bad}");
        }
    }

    #[test]
    fn arch_map_adds_the_native_entry_only() {
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X32"],"archMap":[
                {"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86"]},
                {"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}]}"#,
            "SCMP_ARCH_X86_64",
        )
        .unwrap();
        assert_eq!(
            p.architectures,
            ["SCMP_ARCH_X32", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
        );
    }

    #[test]
    fn includes_and_excludes_test_caps_arch_and_kernel() {
        let p = parse_profile(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["mount"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN"]}},
                {"names":["clone"],"action":"SCMP_ACT_ALLOW","excludes":{"caps":["CAP_SYS_ADMIN"]}},
                {"names":["both"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_ADMIN","CAP_CHOWN"]}},
                {"names":["s390"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["s390x"]}},
                {"names":["notarm"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["arm64"]}},
                {"names":["new"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"6.2"}},
                {"names":["old"],"action":"SCMP_ACT_ALLOW","includes":{"minKernel":"4.8"}},
                {"names":["fly"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_FLY"]}}]}"#,
            "SCMP_ARCH_X86_64",
        )
        .unwrap();
        let admin = 1 << security::cap_number("SYS_ADMIN").unwrap();
        let applying = |caps| -> Vec<&str> {
            p.rules
                .iter()
                .filter(|r| r.applies_to(&target(caps)))
                .map(|r| r.names[0].as_str())
                .collect()
        };
        assert_eq!(applying(0), ["clone", "notarm", "old"]);
        assert_eq!(applying(admin), ["mount", "notarm", "old"]);
        assert_eq!(applying(admin | 1), ["mount", "both", "notarm", "old"]);
        assert_eq!(applying(u64::MAX), ["mount", "both", "notarm", "old"]);
    }

    #[test]
    fn kernel_releases_parse() {
        assert_eq!(parse_kernel("6.1.0-13-amd64"), Some((6, 1)));
        assert_eq!(parse_kernel("4.8"), Some((4, 8)));
        assert_eq!(parse_kernel("5"), Some((5, 0)));
        assert_eq!(parse_kernel("x"), None);
    }
}
