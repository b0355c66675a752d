//! Podman's commands and flags that hutch knows but cannot honour (issue
//! #13). Each is accepted by the parser, hidden from `--help`, and refused
//! with one line saying why (exit status 125), never silently ignored.
//! docs/compat.md lists the same names and reasons; tests/parity.rs holds
//! the two together and counts what is implemented.

use clap::builder::TypedValueParser;
use clap::{Arg, ArgAction, ArgMatches, Command};

/// One refused command or flag.
pub struct Refusal {
    /// The commands it applies to, as words after `hutch` (`""` for the
    /// global flags, `"container checkpoint"`).
    pub commands: &'static [&'static str],
    /// The long flag without dashes, or `""` when the command itself is
    /// refused.
    pub flag: &'static str,
    /// Whether the flag takes a value as Podman's does (`--hooks-dir DIR`)
    /// rather than being a boolean (`--syslog`).
    pub takes_value: bool,
    /// Why hutch refuses it, in a few words.
    pub reason: &'static str,
}

/// A refused name met on the command line: what the user wrote and why
/// hutch cannot do it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct Refused {
    /// `--syslog`, or `container checkpoint`.
    pub name: String,
    /// The table's reason.
    pub reason: &'static str,
}

const REMOTE: &str = "hutch has no remote mode: it runs containers itself, without a service";

/// Why a pod's infra takes no image, command or name.
const INFRA_PROCESS: &str = "a hutch pod's infra is a process of hutch's own holding the pod's namespaces, not a container: it has no image, command or name";

/// Why per-device IO weights are refused.
pub const DEVICE_WEIGHT: &str = "cgroup v2 takes per-device IO weights only where root enabled the kernel's IO cost model or BFQ for the device: use --blkio-weight";
const KUBE_BUILD: &str = "kube play does not build images: build them with `hutch build -t NAME DIR` and name them in the YAML";
const SIGN: &str = "hutch does not sign images: push, then sign with skopeo (copy --sign-by) or cosign (sign --key)";

/// The refusals, by command.
pub const TABLE: &[Refusal] = &[
    Refusal {
        commands: &[""],
        flag: "remote",
        takes_value: false,
        reason: REMOTE,
    },
    Refusal {
        commands: &[""],
        flag: "url",
        takes_value: true,
        reason: REMOTE,
    },
    Refusal {
        commands: &[""],
        flag: "connection",
        takes_value: true,
        reason: REMOTE,
    },
    Refusal {
        commands: &[""],
        flag: "identity",
        takes_value: true,
        reason: REMOTE,
    },
    Refusal {
        commands: &[""],
        flag: "ssh",
        takes_value: true,
        reason: "hutch has no remote mode (it runs containers itself, without a service) and forwards no SSH agent into builds",
    },
    Refusal {
        commands: &[""],
        flag: "runtime",
        takes_value: true,
        reason: "hutch runs containers itself, without an OCI runtime",
    },
    Refusal {
        commands: &[""],
        flag: "runtime-flag",
        takes_value: true,
        reason: "hutch runs containers itself, without an OCI runtime",
    },
    Refusal {
        commands: &[""],
        flag: "conmon",
        takes_value: true,
        reason: "hutch monitors containers itself, without conmon",
    },
    Refusal {
        commands: &[""],
        flag: "storage-opt",
        takes_value: true,
        reason: "hutch's overlay store takes no options",
    },
    Refusal {
        commands: &[""],
        flag: "hooks-dir",
        takes_value: true,
        reason: "hutch does not run OCI hooks",
    },
    Refusal {
        commands: &[""],
        flag: "namespace",
        takes_value: true,
        reason: "hutch has no libpod namespaces (deprecated in Podman)",
    },
    Refusal {
        commands: &["system migrate"],
        flag: "new-runtime",
        takes_value: true,
        reason: "hutch runs containers itself, without an OCI runtime",
    },
    Refusal {
        commands: &["container checkpoint", "container restore"],
        flag: "",
        takes_value: false,
        reason: "checkpoints need CRIU running as root: a rootless container cannot be checkpointed (Podman refuses too)",
    },
    Refusal {
        commands: &["image sign"],
        flag: "",
        takes_value: false,
        reason: "hutch neither signs images nor verifies signatures",
    },
    Refusal {
        commands: &["push", "image push", "manifest push"],
        flag: "sign-by",
        takes_value: true,
        reason: SIGN,
    },
    Refusal {
        commands: &["push", "image push", "manifest push"],
        flag: "sign-by-sigstore-private-key",
        takes_value: true,
        reason: SIGN,
    },
    Refusal {
        commands: &["push", "image push", "manifest push"],
        flag: "sign-passphrase-file",
        takes_value: true,
        reason: SIGN,
    },
    Refusal {
        commands: &["image scp"],
        flag: "",
        takes_value: false,
        reason: "hutch does not reach other hosts or users: use hutch save | ssh HOST hutch load",
    },
    Refusal {
        commands: &["pod create"],
        flag: "infra-image",
        takes_value: true,
        reason: INFRA_PROCESS,
    },
    Refusal {
        commands: &["pod create", "pod clone"],
        flag: "infra-command",
        takes_value: true,
        reason: INFRA_PROCESS,
    },
    Refusal {
        commands: &["pod create", "pod clone"],
        flag: "infra-name",
        takes_value: true,
        reason: INFRA_PROCESS,
    },
    Refusal {
        commands: &["pod create", "pod clone"],
        flag: "blkio-weight-device",
        takes_value: true,
        reason: DEVICE_WEIGHT,
    },
    Refusal {
        commands: BUILD,
        flag: "all-platforms",
        takes_value: false,
        reason: HOST_PLATFORM,
    },
    Refusal {
        commands: BUILD,
        flag: "cache-from",
        takes_value: true,
        reason: LOCAL_CACHE,
    },
    Refusal {
        commands: BUILD,
        flag: "cache-to",
        takes_value: true,
        reason: LOCAL_CACHE,
    },
    Refusal {
        commands: BUILD,
        flag: "decryption-key",
        takes_value: true,
        reason: "hutch does not decrypt image layers",
    },
    Refusal {
        commands: BUILD,
        flag: "sign-by",
        takes_value: true,
        reason: "hutch neither signs images nor verifies signatures",
    },
    Refusal {
        commands: &["kube play", "play kube"],
        flag: "build",
        takes_value: false,
        reason: KUBE_BUILD,
    },
    Refusal {
        commands: &["kube play", "play kube"],
        flag: "context-dir",
        takes_value: true,
        reason: KUBE_BUILD,
    },
];

/// The build commands.
const BUILD: &[&str] = &["build", "image build"];

const HOST_PLATFORM: &str = "hutch builds only for this host's platform";

const LOCAL_CACHE: &str = "hutch keeps its build cache in the local store only";

/// `root` with every refused command and flag of `table` added, hidden.
pub fn attach(root: Command, table: &'static [Refusal]) -> Command {
    let mut root = root;
    for r in table {
        for path in r.commands {
            let words: Vec<&'static str> = path.split_whitespace().collect();
            root = attach_one(root, &words, r);
        }
    }
    root
}

fn attach_one(cmd: Command, words: &[&'static str], r: &'static Refusal) -> Command {
    match words.split_first() {
        Some((first, rest)) => {
            if cmd.find_subcommand(first).is_some() {
                let rest = rest.to_vec();
                return cmd.mut_subcommand(*first, |sub| attach_one(sub, &rest, r));
            }
            if rest.is_empty() && r.flag.is_empty() {
                return cmd.subcommand(refused_command(first));
            }
            // A path the tree lacks: nothing to refuse here (tests/parity.rs
            // finds it missing).
            cmd
        }
        None if r.flag.is_empty() => cmd,
        None => {
            let global = words.is_empty() && cmd.get_name() == "hutch";
            cmd.arg(refused_flag(r, global))
        }
    }
}

/// A hidden command that takes any arguments; `check` refuses it.
fn refused_command(name: &'static str) -> Command {
    Command::new(name).hide(true).disable_help_flag(true).arg(
        Arg::new("refused-args")
            .num_args(0..)
            .trailing_var_arg(true)
            .allow_hyphen_values(true),
    )
}

/// A hidden flag whose value parser refuses it as soon as it is read, so
/// the reason wins over any later complaint (a missing IMAGE).
fn refused_flag(r: &'static Refusal, global: bool) -> Arg {
    let name = format!("--{}", r.flag);
    let (reason, is_bool) = (r.reason, !r.takes_value);
    let parser = clap::builder::StringValueParser::new().try_map(move |v| {
        // `--remote=false` asks for what hutch does anyway.
        if is_bool && matches!(v.as_str(), "false" | "0" | "f" | "F" | "FALSE" | "False") {
            return Ok(v);
        }
        Err(Refused {
            name: name.clone(),
            reason,
        })
    });
    let arg = Arg::new(r.flag)
        .long(r.flag)
        .hide(true)
        .global(global)
        .action(ArgAction::Set)
        .value_parser(parser);
    if r.takes_value {
        arg.num_args(1).allow_hyphen_values(true)
    } else {
        arg.num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
    }
}

/// The refused command `matches` reached, if any.
pub fn check(root: &Command, matches: &ArgMatches) -> Result<(), Refused> {
    let (mut cmd, mut m, mut words) = (root, matches, Vec::new());
    while let Some((name, sub_m)) = m.subcommand() {
        let Some(sub) = cmd.find_subcommand(name) else {
            break;
        };
        words.push(name);
        if sub.get_arguments().any(|a| a.get_id() == "refused-args") {
            let path = words.join(" ");
            let reason = TABLE
                .iter()
                .find(|r| r.flag.is_empty() && r.commands.contains(&path.as_str()))
                .map_or("not supported", |r| r.reason);
            return Err(Refused { name: path, reason });
        }
        (cmd, m) = (sub, sub_m);
    }
    Ok(())
}

/// The refusal behind a parse error, if that is what it is.
pub fn refusal_of(e: &clap::Error) -> Option<&Refused> {
    std::error::Error::source(e).and_then(|s| s.downcast_ref::<Refused>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refused_command_path_exists_above_its_name() {
        let root = super::super::parse::podman_rules(
            <super::super::Cli as clap::CommandFactory>::command(),
        );
        for r in TABLE {
            for path in r.commands {
                let words: Vec<&str> = path.split_whitespace().collect();
                let parent = if r.flag.is_empty() {
                    &words[..words.len().saturating_sub(1)]
                } else {
                    &words[..]
                };
                let mut cmd = &root;
                for w in parent {
                    cmd = cmd
                        .find_subcommand(w)
                        .unwrap_or_else(|| panic!("{path:?} for --{}: no command {w:?}", r.flag));
                }
            }
        }
    }
}
