//! Podman's words when a command lacks its arguments (`podman stop` says
//! `you must provide at least one name or id`, `podman tag x` says
//! `requires at least 2 arg(s), only received 1`), in place of clap's
//! usage text, so that scripts matching them see the same line.

use clap::Command;

/// By command path (as hutch's tree names it): Podman's message, with
/// `{n}` for the number of arguments given.
const MESSAGES: &[(&str, &str)] = &[
    (
        "attach",
        "\"hutch attach\" requires a name, id, or the \"--latest\" flag",
    ),
    ("commit", "accepts between 1 and 2 arg(s), received {n}"),
    (
        "container attach",
        "\"hutch container attach\" requires a name, id, or the \"--latest\" flag",
    ),
    (
        "container clone",
        "accepts between 1 and 3 arg(s), received {n}",
    ),
    (
        "container commit",
        "accepts between 1 and 2 arg(s), received {n}",
    ),
    ("container cp", "accepts 2 arg(s), received {n}"),
    (
        "container create",
        "requires at least 1 arg(s), only received {n}",
    ),
    (
        "container diff",
        "\"hutch container diff\" requires a name, id, or the \"--latest\" flag",
    ),
    (
        "container exec",
        "exec requires the name or ID of a container or the --latest flag",
    ),
    ("container exists", "accepts 1 arg(s), received {n}"),
    ("container export", "accepts 1 arg(s), received {n}"),
    ("container inspect", "no names or ids specified"),
    ("container kill", "you must provide at least one name or id"),
    (
        "container logs",
        "specify at least one container name or ID to log",
    ),
    (
        "container pause",
        "you must provide at least one name or id",
    ),
    (
        "container port",
        "you must supply a running container name or id",
    ),
    ("container rename", "accepts 2 arg(s), received {n}"),
    (
        "container restart",
        "you must provide at least one name or id",
    ),
    ("container rm", "you must provide at least one name or id"),
    (
        "container run",
        "requires at least 1 arg(s), only received {n}",
    ),
    ("container start", "start requires at least one argument"),
    ("container stop", "you must provide at least one name or id"),
    (
        "container top",
        "you must provide the name or id of a running container",
    ),
    (
        "container unmount",
        "you must provide at least one name or id",
    ),
    (
        "container unpause",
        "you must provide at least one name or id",
    ),
    ("container update", "accepts 1 arg(s), received {n}"),
    (
        "container wait",
        "\"hutch container wait\" requires a name, id, or the \"--latest\" flag",
    ),
    ("cp", "accepts 2 arg(s), received {n}"),
    ("create", "requires at least 1 arg(s), only received {n}"),
    (
        "diff",
        "\"hutch diff\" requires a name, id, or the \"--latest\" flag",
    ),
    (
        "exec",
        "exec requires the name or ID of a container or the --latest flag",
    ),
    ("export", "accepts 1 arg(s), received {n}"),
    ("healthcheck run", "accepts 1 arg(s), received {n}"),
    ("history", "accepts 1 arg(s), received {n}"),
    ("image exists", "accepts 1 arg(s), received {n}"),
    ("image history", "accepts 1 arg(s), received {n}"),
    (
        "image import",
        "accepts between 1 and 2 arg(s), received {n}",
    ),
    ("image inspect", "no names or ids specified"),
    (
        "image pull",
        "requires at least 1 arg(s), only received {n}",
    ),
    ("image push", "accepts between 1 and 2 arg(s), received {n}"),
    ("image rm", "image name or ID must be specified"),
    ("image save", "need at least 1 argument"),
    ("image search", "accepts 1 arg(s), received {n}"),
    ("image tag", "requires at least 2 arg(s), only received {n}"),
    ("image tree", "accepts 1 arg(s), received {n}"),
    ("image unmount", "image name or ID must be specified"),
    (
        "image untag",
        "requires at least 1 arg(s), only received {n}",
    ),
    ("import", "accepts between 1 and 2 arg(s), received {n}"),
    ("inspect", "no names or ids specified"),
    ("kill", "you must provide at least one name or id"),
    ("logs", "specify at least one container name or ID to log"),
    (
        "manifest add",
        "requires at least 2 arg(s), only received {n}",
    ),
    ("manifest annotate", "accepts 2 arg(s), received {n}"),
    (
        "manifest create",
        "requires at least 1 arg(s), only received {n}",
    ),
    ("manifest exists", "accepts 1 arg(s), received {n}"),
    ("manifest inspect", "accepts 1 arg(s), received {n}"),
    ("manifest push", "accepts 2 arg(s), received {n}"),
    ("manifest remove", "accepts 2 arg(s), received {n}"),
    (
        "manifest rm",
        "requires at least 1 arg(s), only received {n}",
    ),
    ("network connect", "accepts 2 arg(s), received {n}"),
    ("network disconnect", "accepts 2 arg(s), received {n}"),
    ("network exists", "accepts 1 arg(s), received {n}"),
    (
        "network inspect",
        "requires at least 1 arg(s), only received {n}",
    ),
    (
        "network rm",
        "requires at least 1 arg(s), only received {n}",
    ),
    ("pause", "you must provide at least one name or id"),
    ("pod exists", "accepts 1 arg(s), received {n}"),
    ("port", "you must supply a running container name or id"),
    ("pull", "requires at least 1 arg(s), only received {n}"),
    ("push", "accepts between 1 and 2 arg(s), received {n}"),
    ("rename", "accepts 2 arg(s), received {n}"),
    ("restart", "you must provide at least one name or id"),
    ("rm", "you must provide at least one name or id"),
    ("rmi", "image name or ID must be specified"),
    ("run", "requires at least 1 arg(s), only received {n}"),
    ("save", "need at least 1 argument"),
    ("search", "accepts 1 arg(s), received {n}"),
    ("secret create", "accepts 2 arg(s), received {n}"),
    ("secret exists", "accepts 1 arg(s), received {n}"),
    (
        "secret inspect",
        "requires at least 1 arg(s), only received {n}",
    ),
    ("start", "start requires at least one argument"),
    ("stop", "you must provide at least one name or id"),
    ("tag", "requires at least 2 arg(s), only received {n}"),
    (
        "top",
        "you must provide the name or id of a running container",
    ),
    ("unmount", "you must provide at least one name or id"),
    ("unpause", "you must provide at least one name or id"),
    ("untag", "requires at least 1 arg(s), only received {n}"),
    ("update", "accepts 1 arg(s), received {n}"),
    ("volume exists", "accepts 1 arg(s), received {n}"),
    ("volume export", "accepts 1 arg(s), received {n}"),
    ("volume import", "accepts 2 arg(s), received {n}"),
    (
        "volume inspect",
        "provide one or more volume names or use --all",
    ),
    ("volume rm", "choose either one or more volumes or all"),
    (
        "wait",
        "\"hutch wait\" requires a name, id, or the \"--latest\" flag",
    ),
];

/// Podman's message for `args` (program name first), which clap found
/// short of a required argument, if the command has one.
pub fn missing_message(root: &Command, args: &[std::ffi::OsString]) -> Option<String> {
    let mut cmd = root;
    let mut path: Vec<String> = Vec::new();
    let mut given = 0;
    let mut i = 1;
    while i < args.len() {
        let tok = args[i].to_str()?;
        i += 1;
        if tok == "--" {
            given += args.len() - i;
            break;
        }
        if let Some(long) = tok.strip_prefix("--") {
            let name = long.split('=').next().unwrap_or(long);
            let arg = cmd.get_arguments().find(|a| a.get_long() == Some(name));
            if arg.is_some_and(super::parse::takes_separate_value) && !long.contains('=') {
                i += 1;
            }
            continue;
        }
        if let Some(shorts) = tok.strip_prefix('-').filter(|s| !s.is_empty()) {
            // A value-taking short flag last in the cluster takes the next word.
            let last = shorts.chars().last();
            let arg = cmd.get_arguments().find(|a| a.get_short() == last);
            if shorts.len() == 1 && arg.is_some_and(super::parse::takes_separate_value) {
                i += 1;
            }
            continue;
        }
        match cmd.find_subcommand(tok) {
            Some(sub) if given == 0 => {
                path.push(sub.get_name().to_string());
                cmd = sub;
            }
            _ => given += 1,
        }
    }
    let key = path.join(" ");
    MESSAGES
        .iter()
        .find(|(p, _)| *p == key)
        .map(|(_, m)| m.replace("{n}", &given.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn message(line: &str) -> Option<String> {
        let args: Vec<std::ffi::OsString> = line.split_whitespace().map(Into::into).collect();
        missing_message(&super::super::Cli::command(), &args)
    }

    #[test]
    fn podmans_words_follow_the_command_and_the_count() {
        assert_eq!(
            message("hutch stop").as_deref(),
            Some("you must provide at least one name or id")
        );
        assert_eq!(
            message("hutch --root /x tag").as_deref(),
            Some("requires at least 2 arg(s), only received 0")
        );
        assert_eq!(
            message("hutch image tag x").as_deref(),
            Some("requires at least 2 arg(s), only received 1")
        );
        assert_eq!(
            message("hutch container attach").as_deref(),
            Some("\"hutch container attach\" requires a name, id, or the \"--latest\" flag")
        );
        assert_eq!(message("hutch ps"), None);
    }

    #[test]
    fn every_path_in_the_table_is_a_command() {
        let root = super::super::Cli::command();
        for (path, _) in MESSAGES {
            let mut cmd = &root;
            for word in path.split(' ') {
                cmd = cmd
                    .find_subcommand(word)
                    .unwrap_or_else(|| panic!("{path}: no such command"));
            }
        }
    }
}
