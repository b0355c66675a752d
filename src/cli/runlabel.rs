//! `hutch container runlabel LABEL IMAGE [ARG…]`: runs the command an
//! image's label describes, on the host, as Podman does.
//!
//! The label is split into words as a shell would (quotes, backslashes);
//! its first word, when it is `podman`, `docker` or `hutch` (by base name),
//! becomes this hutch binary. The words `IMAGE`, `$IMAGE`, `NAME`, `$NAME`,
//! `IMAGE=IMAGE`, `NAME=NAME` (and the `=$…` forms) are replaced by the
//! image's name and the container name; `$OPT1`…`$OPT3` and `$PWD` are
//! expanded in every word, and other `$VAR`s become empty, as in Podman. A
//! word that is only `$OPT1` (or `${OPT1}`) becomes the words of its value,
//! so one variable can add several options.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;

use super::registry::{CredsArgs, RegistryArgs};
use super::StderrReporter;
use crate::container::Engine;
use crate::error::Error;
use crate::image::Platform;

#[derive(Debug, Args)]
pub struct RunlabelArgs {
    /// The label holding the command
    #[arg(value_name = "LABEL")]
    pub label: String,
    /// The image to read it from (pulled when missing)
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Words added to the end of the command
    #[arg(
        value_name = "ARG",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub args: Vec<String>,
    /// Print the command instead of running it
    #[arg(long)]
    pub display: bool,
    /// The container name NAME stands for (default: the image's base name)
    #[arg(short, long, value_name = "NAME")]
    pub name: Option<String>,
    /// Print nothing while pulling, and give the command no input or output
    #[arg(short, long)]
    pub quiet: bool,
    /// Remove a container that has the command's --name first
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub access: RegistryArgs,
    #[command(flatten)]
    pub creds: CredsArgs,
}

/// Runs (or with `--display` prints) the command of the image's label.
pub fn run(engine: &Engine, args: RunlabelArgs) -> Result<i32, Error> {
    let image = match engine.inspect_image(&args.image)? {
        Some(found) => found,
        None => {
            let mut opts = args.access.pull_options(Platform::host(), args.quiet);
            opts.credentials = args.creds.credentials()?;
            let reporter = StderrReporter { quiet: args.quiet };
            engine.pull(&args.image, &opts, &reporter)?;
            engine
                .inspect_image(&args.image)?
                .ok_or_else(|| Error::Usage(format!("{}: image not known", args.image)))?
        }
    };
    let value = image["Config"]["Labels"][&args.label]
        .as_str()
        .or_else(|| image["Labels"][&args.label].as_str())
        .ok_or_else(|| {
            Error::Usage(format!(
                "cannot find the value of label: {} in image: {}",
                args.label, args.image
            ))
        })?;
    let image_name = image["RepoTags"][0]
        .as_str()
        .or_else(|| image["Id"].as_str())
        .unwrap_or(&args.image)
        .to_string();
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| base_name(&image_name).to_string());
    let cwd = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lookup = |var: &str| match var {
        "OPT1" | "OPT2" | "OPT3" => std::env::var(var).unwrap_or_default(),
        "PWD" => cwd.clone(),
        _ => String::new(),
    };
    let mut words = split_words(value)
        .map_err(|e| Error::Usage(format!("label {} of {}: {e}", args.label, args.image)))?;
    words.extend(args.args.iter().cloned());
    let command = substitute(&words, &image_name, &name, &lookup);
    let Some((first, rest)) = command.split_first() else {
        return Err(Error::Usage(format!(
            "label {} of {} holds no command",
            args.label, args.image
        )));
    };
    let program = program(first)?;
    if args.display {
        let shown = std::env::args().next().unwrap_or_else(|| "hutch".into());
        println!(
            "command: {}",
            [vec![shown], rest.to_vec()].concat().join(" ")
        );
        return Ok(0);
    }
    if args.replace {
        replace(engine, rest)?;
    }
    let mut child = Command::new(&program);
    child.args(rest).env("PODMAN_RUNLABEL_NESTED", "1");
    if args.quiet {
        child
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    }
    let shown = format!("{} {}", program.display(), rest.join(" "));
    let status = child
        .status()
        .map_err(|e| Error::Usage(format!("`{shown}`: {e}")))?;
    match status.code() {
        Some(0) => Ok(0),
        Some(code) => Err(Error::Usage(format!(
            "`{shown}` failed: exit status {code}"
        ))),
        None => Err(Error::Usage(format!("`{shown}` failed: {status}"))),
    }
}

/// With `--replace`: removes the container the command's `--name` names,
/// if there is one.
fn replace(engine: &Engine, words: &[String]) -> Result<(), Error> {
    let name = words
        .iter()
        .enumerate()
        .find_map(|(i, w)| match w.as_str() {
            "--name" => words.get(i + 1).cloned(),
            _ => w.strip_prefix("--name=").map(str::to_string),
        });
    let Some(name) = name else {
        return Ok(());
    };
    match engine.container_id(&name) {
        Ok(_) => engine.remove(&name, true, false).map_err(Error::from),
        Err(e) if e.is_missing() => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The program to run for the label's first word: this binary for
/// `podman`, `docker` and `hutch`; a path must exist.
fn program(first: &str) -> Result<PathBuf, Error> {
    let base = Path::new(first)
        .file_name()
        .map(|b| b.to_string_lossy().into_owned())
        .unwrap_or_default();
    if matches!(base.as_str(), "podman" | "docker" | "hutch") {
        return std::env::current_exe()
            .map_err(|e| Error::Usage(format!("finding hutch's own binary: {e}")));
    }
    if first.contains('/') {
        let path =
            std::path::absolute(first).map_err(|e| Error::Usage(format!("stat {first}: {e}")))?;
        if let Err(e) = std::fs::metadata(&path) {
            let e = match e.kind() {
                std::io::ErrorKind::NotFound => "no such file or directory".to_string(),
                _ => e.to_string(),
            };
            return Err(Error::Usage(format!("stat {first}: {e}")));
        }
        return Ok(path);
    }
    Ok(PathBuf::from(first))
}

/// `registry/repo:tag` → `repo`'s last part, as Podman names the container.
fn base_name(image: &str) -> &str {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.split(':').next().unwrap_or(last)
}

/// Replaces the placeholder words and expands variables (see the module
/// comment).
fn substitute(
    words: &[String],
    image: &str,
    name: &str,
    lookup: &dyn Fn(&str) -> String,
) -> Vec<String> {
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            let exact = match w.as_str() {
                "IMAGE" | "$IMAGE" => Some(image.to_string()),
                "IMAGE=IMAGE" | "IMAGE=$IMAGE" => Some(format!("IMAGE={image}")),
                "NAME" | "$NAME" => Some(name.to_string()),
                "NAME=NAME" | "NAME=$NAME" => Some(format!("NAME={name}")),
                "$GLOBAL_OPTS" => Some(String::new()),
                _ => None,
            };
            if let Some(v) = exact {
                if !v.is_empty() {
                    out.push(v);
                }
                continue;
            }
        }
        if let Some(var) = sole_variable(w) {
            // A word that is one variable becomes its value's words.
            out.extend(split_words(&lookup(var)).unwrap_or_default());
            continue;
        }
        out.push(expand(w, lookup));
    }
    out
}

/// `VAR` when `word` is exactly `$VAR` or `${VAR}`.
fn sole_variable(word: &str) -> Option<&str> {
    let rest = word.strip_prefix('$')?;
    let var = match rest.strip_prefix('{') {
        Some(inner) => inner.strip_suffix('}')?,
        None => rest,
    };
    let ok = !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some(var)
}

/// Expands `$VAR` and `${VAR}` in `word`.
fn expand(word: &str, lookup: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (var, next) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) => (&inner[..end], &inner[end + 1..]),
                None => ("", after),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        if var.is_empty() {
            out.push('$');
        } else {
            out.push_str(&lookup(var));
        }
        rest = next;
    }
    out.push_str(rest);
    out
}

/// Splits `text` into words as a POSIX shell does: blanks separate,
/// single quotes keep everything, double quotes keep all but `\"`, `\\`,
/// `\$`, `` \` ``, and a backslash outside quotes keeps the next character.
fn split_words(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("unterminated double quote".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("a backslash ends the text".into()),
            },
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn words_split_as_a_shell_splits_them() {
        assert_eq!(
            split_words(r#"sh -c 'exit 3' "a \"b\" $c" d\ e"#).unwrap(),
            words(&["sh", "-c", "exit 3", "a \"b\" $c", "d e"])
        );
        assert_eq!(split_words("a '' b").unwrap(), words(&["a", "", "b"]));
        assert!(split_words("a 'b").is_err());
    }

    #[test]
    fn placeholders_and_variables_are_replaced() {
        let lookup = |v: &str| match v {
            "OPT1" => "-v /a:/b".to_string(),
            "PWD" => "/here".to_string(),
            _ => String::new(),
        };
        let got = substitute(
            &words(&[
                "podman",
                "run",
                "--name",
                "NAME",
                "-e",
                "IMAGE=IMAGE",
                "-e",
                "D=${PWD}/x",
                "$OPT1",
                "${OPT2}",
                "-e",
                "H=$HOME",
                "IMAGE",
                "echo",
                "$NAME",
            ]),
            "localhost/app:1",
            "app",
            &lookup,
        );
        assert_eq!(
            got,
            words(&[
                "podman",
                "run",
                "--name",
                "app",
                "-e",
                "IMAGE=localhost/app:1",
                "-e",
                "D=/here/x",
                "-v",
                "/a:/b",
                "-e",
                "H=",
                "localhost/app:1",
                "echo",
                "app",
            ])
        );
    }

    #[test]
    fn the_container_name_is_the_image_base_name() {
        assert_eq!(base_name("localhost/rl:1"), "rl");
        assert_eq!(base_name("quay.io/a/b@sha256:00"), "b");
        assert_eq!(base_name("busybox"), "busybox");
    }

    #[test]
    fn podman_docker_and_hutch_mean_this_binary() {
        let me = std::env::current_exe().unwrap();
        for w in ["podman", "/usr/bin/podman", "docker", "hutch"] {
            assert_eq!(program(w).unwrap(), me, "{w}");
        }
        assert_eq!(program("sh").unwrap(), PathBuf::from("sh"));
        let e = program("/nonexist/prog").unwrap_err();
        assert_eq!(
            e.to_string(),
            "stat /nonexist/prog: no such file or directory"
        );
    }
}
