//! Podman's command-line rules on top of clap's (issue #13): a repeated
//! single-value flag takes its last value, and every boolean flag also
//! takes `--flag=true|false` (and `-f=false`), as Go's flag parsing does.
//! Applied to the whole command tree once, before parsing.

use clap::builder::{ArgAction, TypedValueParser};
use clap::{Arg, ArgMatches, Command, CommandFactory, FromArgMatches};

use super::refused::{self, Refused};
use super::Cli;

/// Why a command line did not parse.
#[derive(Debug)]
pub enum ParseError {
    /// clap's own error (or `--help`/`--version`, which it reports so).
    Clap(clap::Error),
    /// A command or flag hutch knows from Podman but refuses.
    Refused(Refused),
    /// A command without its arguments, in Podman's words.
    Missing(String),
}

/// Parses `args` (with the program name first) by Podman's rules. The
/// refused names are added to the tree only when the command line does
/// not parse without them, so that a good command line pays nothing for
/// them.
pub fn parse_from<I, T>(args: I) -> Result<Cli, ParseError>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    match parse_podman(args.clone()) {
        Err(ParseError::Clap(e)) if e.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
            match super::arity::missing_message(&Cli::command(), &args) {
                Some(m) => Err(ParseError::Missing(m)),
                None => Err(ParseError::Clap(e)),
            }
        }
        other => other,
    }
}

/// `parse_from` before Podman's words for missing arguments.
fn parse_podman(args: Vec<std::ffi::OsString>) -> Result<Cli, ParseError> {
    use clap::error::ErrorKind;
    // A refused flag before `run`'s IMAGE would otherwise be taken for
    // the image: a command line naming one is parsed with them at once.
    if names_refused_flag(&args) {
        let with_refusals = refused::attach(podman_rules(Cli::command()), refused::TABLE);
        return parse_with(with_refusals, args);
    }
    match parse_with(podman_rules(Cli::command()), args.clone()) {
        Err(ParseError::Clap(e))
            if !matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let with_refusals = refused::attach(podman_rules(Cli::command()), refused::TABLE);
            match parse_with(with_refusals, args) {
                // Not a refused name: clap's first word on it stands.
                Err(ParseError::Clap(_)) => Err(ParseError::Clap(e)),
                other => other,
            }
        }
        other => other,
    }
}

/// Whether a `--NAME` in `args` (before `--`) is a refused flag's name.
fn names_refused_flag(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .take_while(|a| *a != "--")
        .filter_map(|a| a.strip_prefix("--"))
        .map(|a| a.split('=').next().unwrap_or(a))
        .any(|name| refused::TABLE.iter().any(|r| r.flag == name))
}

/// Parses `args` against the tree `cmd`.
fn parse_with(mut cmd: Command, args: Vec<std::ffi::OsString>) -> Result<Cli, ParseError> {
    let args = spell_out_short_bools(&cmd, args);
    let mut matches: ArgMatches =
        cmd.try_get_matches_from_mut(args)
            .map_err(|e| match refused::refusal_of(&e) {
                Some(r) => ParseError::Refused(r.clone()),
                None => ParseError::Clap(e),
            })?;
    refused::check(&cmd, &matches).map_err(ParseError::Refused)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| ParseError::Clap(e.format(&mut cmd)))
}

/// Rewrites `-x=VALUE`, for a boolean flag `x`, as `--long=VALUE` (clap
/// reads `=VALUE` after a short flag only for flags that take values);
/// follows the subcommands and stops at the first positional argument of
/// a command whose trailing arguments belong to the container
/// (`run IMAGE ...`, `exec CONTAINER ...`), or at `--`.
fn spell_out_short_bools(
    root: &Command,
    mut args: Vec<std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let mut cmd = root;
    let mut i = 1;
    while i < args.len() {
        let Some(tok) = args[i].to_str().map(str::to_string) else {
            i += 1;
            continue;
        };
        if tok == "--" {
            break;
        }
        if let Some(long) = tok.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            let takes_value = cmd
                .get_arguments()
                .find(|a| a.get_long() == Some(name))
                .is_some_and(takes_separate_value);
            i += if takes_value && !long.contains('=') {
                2
            } else {
                1
            };
            continue;
        }
        if let Some(shorts) = tok.strip_prefix('-').filter(|s| !s.is_empty()) {
            i += short_cluster(cmd, shorts, &mut args[i]);
            continue;
        }
        // A positional: a subcommand's name, or an argument.
        if let Some(sub) = cmd.find_subcommand(&tok) {
            cmd = sub;
            i += 1;
            continue;
        }
        if cmd.get_positionals().any(|a| a.is_trailing_var_arg_set()) {
            break;
        }
        i += 1;
    }
    args
}

/// Handles the short cluster `-SHORTS` at `tok`: rewrites a boolean's
/// `-x=VALUE`; returns how many tokens it spans (2 when its last flag
/// takes the next token as its value).
fn short_cluster(cmd: &Command, shorts: &str, tok: &mut std::ffi::OsString) -> usize {
    for (n, c) in shorts.char_indices() {
        let Some(arg) = cmd.get_arguments().find(|a| a.get_short() == Some(c)) else {
            return 1;
        };
        let rest = &shorts[n + c.len_utf8()..];
        if let Some(value) = rest.strip_prefix('=') {
            // Only the one-flag form `-x=VALUE`; `-ax=false` stays as is.
            let is_bool = matches!(arg.get_action(), ArgAction::Set) && arg.is_require_equals_set();
            if let (0, true, Some(long)) = (n, is_bool, arg.get_long()) {
                *tok = format!("--{long}={value}").into();
            }
            return 1;
        }
        if takes_separate_value(arg) {
            return if rest.is_empty() { 2 } else { 1 };
        }
    }
    1
}

/// Whether `a` takes a value as the next token (not a boolean's optional
/// `=VALUE`).
pub(super) fn takes_separate_value(a: &Arg) -> bool {
    !a.is_require_equals_set()
        && matches!(a.get_action(), ArgAction::Set | ArgAction::Append)
        && a.get_num_args().is_none_or(|r| r.takes_values())
}

/// `cmd` and its subcommands, with Podman's rules.
pub fn podman_rules(cmd: Command) -> Command {
    let bools: Vec<String> = cmd
        .get_arguments()
        .filter(|a| matches!(a.get_action(), ArgAction::SetTrue))
        .map(|a| a.get_id().to_string())
        .collect();
    let mut cmd = cmd.args_override_self(true);
    for id in bools {
        cmd = cmd.mut_arg(id, valued_bool);
    }
    cmd.mut_subcommands(podman_rules)
}

/// A `SetTrue` flag made to take an optional `=VALUE` as well; a default
/// it declares (`--read-only-tmpfs` is true) is kept.
fn valued_bool(a: Arg) -> Arg {
    let a = if a.get_default_values().is_empty() {
        a.default_value("false")
    } else {
        a
    };
    a.action(ArgAction::Set)
        .num_args(0..=1)
        .require_equals(true)
        .default_missing_value("true")
        .hide_default_value(true)
        .value_name("BOOL")
        .value_parser(clap::builder::StringValueParser::new().try_map(parse_go_bool))
}

/// Go's `strconv.ParseBool`: what Podman accepts after `--flag=`.
fn parse_go_bool(s: String) -> Result<bool, String> {
    match s.as_str() {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid boolean value {s:?}: use true or false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, ParseError> {
        parse_from(std::iter::once("hutch").chain(args.iter().copied()))
    }

    #[test]
    fn go_booleans_read_as_go_does() {
        assert_eq!(parse_go_bool("true".into()), Ok(true));
        assert_eq!(parse_go_bool("F".into()), Ok(false));
        assert!(parse_go_bool("yes".into()).is_err());
    }

    #[test]
    fn every_command_parses_with_the_rules() {
        // Building the tree checks clap's own consistency rules.
        podman_rules(Cli::command()).debug_assert();
    }

    #[test]
    fn short_flags_group_and_booleans_take_values() {
        for ok in [
            &["run", "-it", "img"][..],
            &["run", "--rm=true", "img"][..],
            &["run", "--rm=false", "-i=false", "img"][..],
            &["run", "--name", "a", "--name", "b", "img"][..],
            &["rm", "-f", "-a"][..],
            &["rm", "-fa"][..],
        ] {
            if let Err(e) = parse(ok) {
                panic!("{ok:?} should parse: {e:?}");
            }
        }
        assert!(parse(&["run", "--rm=maybe", "img"]).is_err());
    }

    #[test]
    fn a_declared_default_is_kept() {
        for (args, want) in [
            (&["run", "--read-only", "img"][..], true),
            (&["run", "--read-only-tmpfs=false", "img"][..], false),
            (&["run", "--read-only-tmpfs", "img"][..], true),
        ] {
            let cli = parse(args).unwrap();
            let super::super::Command::Run(r) = cli.command else {
                panic!("not run")
            };
            assert_eq!(r.security.read_only_tmpfs, want, "{args:?}");
        }
    }
}
