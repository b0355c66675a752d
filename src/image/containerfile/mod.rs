//! Containerfiles (Dockerfiles) as typed stages and instructions (issue
//! #15). Pure: text in, a `Containerfile` out, with the line of every
//! instruction for error messages; variables are expanded later, by the
//! builder, with the `ENV`s and `ARG`s in scope at each step (`words`).
//! `ignore` reads `.containerignore`/`.dockerignore` patterns.
//!
//! Running the steps is the engine's (`container::build`): this module
//! never touches the store or a container.

pub mod ignore;
mod lex;
pub mod words;

pub use lex::Heredoc;

/// What is wrong with a Containerfile, with its line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("line {line}: unknown instruction {word}")]
    UnknownInstruction { line: usize, word: String },
    #[error("line {line}: {instruction} {why}")]
    Invalid {
        line: usize,
        instruction: String,
        why: String,
    },
    #[error("line {line}: unknown flag --{flag} for {instruction}")]
    UnknownFlag {
        line: usize,
        instruction: String,
        flag: String,
    },
    #[error("line {line}: invalid parser directive: {why}")]
    Directive { line: usize, why: String },
    #[error("line {line}: here-document {name} has no line {name} to end it")]
    HeredocUnterminated { line: usize, name: String },
    #[error("no FROM: a Containerfile starts with FROM (only ARGs may come before it)")]
    NoFrom,
    #[error("line {line}: {instruction} before the first FROM")]
    BeforeFrom { line: usize, instruction: String },
    #[error("stage name {0:?} is used twice")]
    DuplicateStage(String),
    #[error("unterminated {0} in a word")]
    Unterminated(char),
    #[error("bad substitution: {0:?}")]
    BadSubstitution(String),
    #[error("{name}: {message}")]
    Required { name: String, message: String },
}

/// A command: a shell line (`RUN make`) or an argv (`RUN ["make"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Shell(String),
    Exec(Vec<String>),
}

/// `--flag=value` options of an instruction, in order.
pub type Flags = Vec<(String, String)>;

/// One instruction of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Its line in the Containerfile (1-based).
    pub line: usize,
    /// As written (keyword upper case, continuations joined): what
    /// `STEP n/m:` prints and what the layer cache keys on.
    pub text: String,
    pub kind: Kind,
}

/// The instructions, with their arguments as written (unexpanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Run {
        flags: Flags,
        command: Command,
        heredocs: Vec<Heredoc>,
    },
    /// `COPY` (`is_add` false) or `ADD`: sources and destination, still
    /// to be expanded (the last word is the destination).
    Copy {
        is_add: bool,
        flags: Flags,
        words: Vec<String>,
        heredocs: Vec<Heredoc>,
    },
    /// `ENV`, `LABEL`: key and value pairs, unexpanded.
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    /// `ARG NAME[=DEFAULT]`, several per line.
    Arg(Vec<(String, Option<String>)>),
    Workdir(String),
    User(String),
    Cmd(Command),
    Entrypoint(Command),
    Expose(String),
    Volume(Vec<String>),
    /// `HEALTHCHECK NONE` (`None`) or its options and command.
    Healthcheck(Option<(Flags, Command)>),
    Shell(Vec<String>),
    StopSignal(String),
    /// `ONBUILD INSTRUCTION`: recorded in the image, run by its children.
    Onbuild(String),
    Maintainer(String),
}

/// `FROM [--platform=P] IMAGE [AS NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct From {
    pub line: usize,
    pub text: String,
    /// The image (unexpanded), `scratch`, or an earlier stage's name.
    pub image: String,
    pub platform: Option<String>,
}

/// A stage: its `FROM`, name and instructions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub from: From,
    /// `AS NAME`, lower case.
    pub name: Option<String>,
    pub instructions: Vec<Instruction>,
}

/// A parsed Containerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    /// The escape character (`# escape=`).
    pub escape: char,
    /// `ARG`s before the first `FROM`, usable in `FROM` lines.
    pub global_args: Vec<(String, Option<String>)>,
    pub stages: Vec<Stage>,
}

/// The flags each instruction takes.
fn known_flags(keyword: &str) -> &'static [&'static str] {
    match keyword {
        "RUN" => &["mount", "network", "security"],
        "COPY" => &["from", "chown", "chmod", "link", "parents", "exclude"],
        "ADD" => &[
            "chown",
            "chmod",
            "checksum",
            "keep-git-dir",
            "link",
            "exclude",
        ],
        "FROM" => &["platform"],
        "HEALTHCHECK" => &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
        _ => &[],
    }
}

/// Parses `text`.
pub fn parse(text: &str) -> Result<Containerfile, Error> {
    let lexed = lex::lex(text)?;
    let escape = lexed.escape;
    let mut global_args = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for raw in lexed.instructions {
        let text = match raw.rest.is_empty() {
            true => raw.keyword.clone(),
            false => format!("{} {}", raw.keyword, raw.rest),
        };
        let invalid = |why: &str| Error::Invalid {
            line: raw.line,
            instruction: raw.keyword.clone(),
            why: why.to_string(),
        };
        if raw.keyword == "FROM" {
            let (flags, rest) = take_flags(&raw)?;
            let words = words::split_raw(rest, escape);
            let (image, name) = match words.as_slice() {
                [image] => (image.clone(), None),
                [image, as_, name] if as_.eq_ignore_ascii_case("as") => {
                    (image.clone(), Some(name.to_ascii_lowercase()))
                }
                _ => return Err(invalid("takes IMAGE [AS NAME]")),
            };
            if let Some(n) = &name {
                if stages.iter().any(|s| s.name.as_ref() == Some(n)) {
                    return Err(Error::DuplicateStage(n.clone()));
                }
            }
            stages.push(Stage {
                from: From {
                    line: raw.line,
                    text,
                    image,
                    platform: flag(&flags, "platform"),
                },
                name,
                instructions: Vec::new(),
            });
            continue;
        }
        let kind = instruction(&raw, escape)?;
        match stages.last_mut() {
            Some(stage) => stage.instructions.push(Instruction {
                line: raw.line,
                text,
                kind,
            }),
            None => match kind {
                Kind::Arg(args) => global_args.extend(args),
                _ => {
                    return Err(Error::BeforeFrom {
                        line: raw.line,
                        instruction: raw.keyword,
                    })
                }
            },
        }
    }
    if stages.is_empty() {
        return Err(Error::NoFrom);
    }
    Ok(Containerfile {
        escape,
        global_args,
        stages,
    })
}

/// The value of flag `name`, the last one given.
pub fn flag(flags: &Flags, name: &str) -> Option<String> {
    flags
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// The leading `--flag[=value]` words of `raw`, checked against the
/// instruction's flags, and the text after them.
fn take_flags(raw: &lex::Raw) -> Result<(Flags, &str), Error> {
    let known = known_flags(&raw.keyword);
    let mut flags = Vec::new();
    let mut rest = raw.rest.as_str();
    while let Some(after) = rest.strip_prefix("--") {
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let word = &after[..end];
        let (name, value) = word.split_once('=').unwrap_or((word, "true"));
        if !known.contains(&name) {
            return Err(Error::UnknownFlag {
                line: raw.line,
                instruction: raw.keyword.clone(),
                flag: name.to_string(),
            });
        }
        // Expanded by the builder, with the variables in scope.
        flags.push((name.to_string(), value.to_string()));
        rest = after[end..].trim_start();
    }
    Ok((flags, rest))
}

/// A command in exec form (a JSON array of strings) or shell form.
fn command(rest: &str) -> Command {
    let t = rest.trim();
    if t.starts_with('[') {
        if let Ok(argv) = serde_json::from_str::<Vec<String>>(t) {
            return Command::Exec(argv);
        }
    }
    Command::Shell(t.to_string())
}

/// `KEY=VALUE ...` pairs, or the old `KEY VALUE` form (one pair, the value
/// the rest of the line), unexpanded.
fn pairs(raw: &lex::Raw, escape: char) -> Result<Vec<(String, String)>, Error> {
    let invalid = |why: &str| Error::Invalid {
        line: raw.line,
        instruction: raw.keyword.clone(),
        why: why.to_string(),
    };
    let words = words::split_raw(&raw.rest, escape);
    let Some(first) = words.first() else {
        return Err(invalid("needs KEY=VALUE"));
    };
    if !first.contains('=') {
        let key = first.clone();
        let value = raw.rest[raw.rest.find(first.as_str()).unwrap_or(0) + first.len()..].trim();
        if value.is_empty() && raw.keyword == "ENV" {
            return Err(invalid("needs a value: ENV KEY=VALUE or ENV KEY VALUE"));
        }
        return Ok(vec![(key, value.to_string())]);
    }
    words
        .iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(invalid(&format!("expects KEY=VALUE, not {w:?}"))),
        })
        .collect()
}

fn instruction(raw: &lex::Raw, escape: char) -> Result<Kind, Error> {
    let invalid = |why: &str| Error::Invalid {
        line: raw.line,
        instruction: raw.keyword.clone(),
        why: why.to_string(),
    };
    let needs_argument = |what: &str| match raw.rest.is_empty() {
        true => Err(invalid(&format!("needs {what}"))),
        false => Ok(()),
    };
    Ok(match raw.keyword.as_str() {
        "RUN" => {
            let (flags, rest) = take_flags(raw)?;
            if rest.is_empty() {
                return Err(invalid("needs a command"));
            }
            Kind::Run {
                flags,
                command: command(rest),
                heredocs: raw.heredocs.clone(),
            }
        }
        "COPY" | "ADD" => {
            let (flags, rest) = take_flags(raw)?;
            let words = match command(rest) {
                Command::Exec(w) => w,
                Command::Shell(s) => words::split_raw(&s, escape),
            };
            if words.len() + raw.heredocs.len() < 2 {
                return Err(invalid("needs a source and a destination"));
            }
            Kind::Copy {
                is_add: raw.keyword == "ADD",
                flags,
                words,
                heredocs: raw.heredocs.clone(),
            }
        }
        "ENV" => Kind::Env(pairs(raw, escape)?),
        "LABEL" => Kind::Label(pairs(raw, escape)?),
        "ARG" => {
            needs_argument("a name")?;
            let args = words::split_raw(&raw.rest, escape)
                .into_iter()
                .map(|w| match w.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (w, None),
                })
                .collect();
            Kind::Arg(args)
        }
        "WORKDIR" => {
            needs_argument("a directory")?;
            Kind::Workdir(raw.rest.clone())
        }
        "USER" => {
            needs_argument("a user")?;
            Kind::User(raw.rest.clone())
        }
        "CMD" => Kind::Cmd(command(&raw.rest)),
        "ENTRYPOINT" => Kind::Entrypoint(command(&raw.rest)),
        "EXPOSE" => {
            needs_argument("a port")?;
            Kind::Expose(raw.rest.clone())
        }
        "VOLUME" => {
            needs_argument("a path")?;
            Kind::Volume(match command(&raw.rest) {
                Command::Exec(w) => w,
                Command::Shell(s) => words::split_raw(&s, escape),
            })
        }
        "HEALTHCHECK" => {
            if raw.rest.eq_ignore_ascii_case("none") {
                Kind::Healthcheck(None)
            } else {
                let (flags, rest) = take_flags(raw)?;
                let Some(cmd) = rest
                    .get(..3)
                    .filter(|w| w.eq_ignore_ascii_case("cmd"))
                    .map(|_| rest[3..].trim())
                else {
                    return Err(invalid("takes NONE or [OPTIONS] CMD COMMAND"));
                };
                if cmd.is_empty() {
                    return Err(invalid("needs a command after CMD"));
                }
                Kind::Healthcheck(Some((flags, command(cmd))))
            }
        }
        "SHELL" => match command(&raw.rest) {
            Command::Exec(w) if !w.is_empty() => Kind::Shell(w),
            _ => return Err(invalid("takes a JSON array, such as [\"/bin/sh\", \"-c\"]")),
        },
        "STOPSIGNAL" => {
            needs_argument("a signal")?;
            Kind::StopSignal(raw.rest.clone())
        }
        "ONBUILD" => {
            let word = raw.rest.split_whitespace().next().unwrap_or_default();
            match word.to_ascii_uppercase().as_str() {
                "" => return Err(invalid("needs an instruction")),
                "ONBUILD" | "FROM" | "MAINTAINER" => {
                    return Err(invalid(&format!("cannot trigger {word}")))
                }
                _ => Kind::Onbuild(raw.rest.clone()),
            }
        }
        "MAINTAINER" => Kind::Maintainer(raw.rest.clone()),
        _ => {
            return Err(Error::UnknownInstruction {
                line: raw.line,
                word: raw.keyword.clone(),
            })
        }
    })
}

#[cfg(test)]
mod tests;
